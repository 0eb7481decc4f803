/* regions.h -- regions and windows over an indexed reference, one module for every subcommand: the
 * indexed FASTA (open, fetch), its sequence dictionary (or a SAM header's), `chr:beg-end` region strings
 * and lists, region files (read by bed.h), and the sliding windows cut from a sequence.
 *
 * The rules (documented in hyenadna(1), INPUT FILES):
 *   - Coordinates are 0-based half-open in memory.  Region strings are 1-based inclusive as in samtools
 *     (`chr`, `chr:beg`, `chr:beg-end`, `{chr:with:colons}:beg-end`; `chr` and `chr:beg` reach to the end
 *     of the sequence); region files named .bed/.bed.gz are BED (0-based half-open), other region files
 *     tab-separated `chr beg end` 1-based inclusive.
 *   - Every region is checked against the sequence dictionary: an unknown sequence, an empty region or
 *     one reaching past the end of its sequence is an error naming it (nothing is clipped silently).
 *   - The reference is a plain or bgzip-compressed FASTA file (not standard input); its .fai (and .gzi)
 *     is made next to it when absent.  A gzip-compressed FASTA cannot be indexed: bgzip it.
 *   - Windows of width w and step s over a sequence of length len: starts 0, s, 2s, ... while the window
 *     fits, then one last window flush with the end when the regular ones stop short of it; a sequence
 *     of len <= w is one window [0, len). */
#ifndef HD_REGIONS_H
#define HD_REGIONS_H

#include <htslib/faidx.h>
#include <htslib/sam.h>
#include <stddef.h>
#include <stdint.h>

/* [beg, end), 0-based; strand '-' for a BED interval on the minus strand (bed.h), else '+', '.' or 0 */
typedef struct { char *chrom; int64_t beg, end; char strand; } hd_region;
typedef struct { hd_region *v; size_t n, m; } hd_regions;

/* A sequence dictionary: names and lengths, with lookup by name. */
typedef struct hd_contigs hd_contigs;
hd_contigs *hd_contigs_from_fai(const faidx_t *fai, const char *source);
hd_contigs *hd_contigs_from_sam(const sam_hdr_t *h, const char *source);
/* From names and lengths (a bigWig's chromosome list, ...); source names them in messages. */
hd_contigs *hd_contigs_from_list(int n, const char *const *name, const int64_t *len, const char *source);
void hd_contigs_free(hd_contigs *c);
int hd_contigs_n(const hd_contigs *c);
int hd_contigs_id(const hd_contigs *c, const char *name);     /* -1 when absent */
const char *hd_contigs_name(const hd_contigs *c, int id);
int64_t hd_contigs_len(const hd_contigs *c, int id);

/* Is [beg, end) a region of sequence chrom of the dictionary?  Its id, or -1 with an HD_EINPUT error
 * "region WHAT: ..." (unknown sequence, empty or reversed, reaching past the end). */
int hd_contigs_check(const hd_contigs *c, const char *chrom, int64_t beg, int64_t end, const char *what);

/* Open a FASTA index, building the .fai (and .gzi for bgzip) when absent.  NULL + hd_error naming the
 * file (a plain-gzip FASTA cannot be indexed: bgzip it). */
faidx_t *hd_faidx_open(const char *path);
/* Fetch [beg, end) of a contig (malloc'd, NUL-terminated); NULL + hd_error. */
char *hd_faidx_fetch(const faidx_t *fai, const char *path, const char *chrom, int64_t beg, int64_t end);
/* The same on a strand, as bedtools getfasta -s: strand '-' gives the reverse complement of the bases
 * (tokenizer.h: hd_bases_revcomp, IUPAC codes and case kept); '+', '.' or 0 the bases as stored.  The one
 * reading of a BED interval's bases for embed -R and classify's BED files. */
char *hd_faidx_fetch_strand(const faidx_t *fai, const char *path, const char *chrom, int64_t beg, int64_t end,
                            char strand);

/* Append the regions of a comma-separated list (1-based inclusive).  Every region is checked against
 * the dictionary: an unknown contig or a region reaching outside its contig is an error naming it. */
int hd_regions_parse(hd_regions *rs, const char *spec, const hd_contigs *dict);
/* One region string (as above; thousands separators allowed, "chr1:1,000-2,000"): out->chrom is malloc'd. */
int hd_region_parse(const char *spec, const hd_contigs *dict, hd_region *out);
/* Append the regions of a file (bed.h: plain, gzip or bgzip; '#', "track" and "browser" lines skipped;
 * BED when named .bed/.bed.gz, with its strand column, else 1-based `chr beg end`). */
int hd_regions_read(hd_regions *rs, const char *path, const hd_contigs *dict);
void hd_regions_free(hd_regions *rs);
/* Sort the regions in the dictionary's order of their contigs (every one must be in it: parsed or read
 * against it), then by start, and merge overlapping or adjacent ones (a merged region keeps the strand of
 * its first). */
void hd_regions_merge(hd_regions *rs, const hd_contigs *dict);
/* The merging alone, of regions sorted already (each contig's together, by start, in any order of contigs). */
void hd_regions_merge_sorted(hd_regions *rs);


/* "chr:beg-end" in samtools form (1-based inclusive; braces around names holding a colon). */
char *hd_region_str(const char *chrom, int64_t beg, int64_t end);
/* The same followed by "(-)" for strand '-' (as bedtools getfasta -s names a minus-strand interval), so that
 * an interval and its reverse complement are named apart. */
char *hd_region_str_strand(const char *chrom, int64_t beg, int64_t end, char strand);

/* Sliding windows of width w, step s over [0, len) (the rule above); w, s >= 1.  The count, and the i-th
 * window [*beg, *end). */
size_t hd_window_count(int64_t len, int64_t w, int64_t s);
void hd_window_get(int64_t len, int64_t w, int64_t s, size_t i, int64_t *beg, int64_t *end);

#endif
