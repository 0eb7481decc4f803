/* regions.h -- genomic regions and sliding windows: `chr:beg-end` lists, region files (BED or 1-based),
 * the sequence dictionary they are checked against (a FASTA index or a SAM header), and the windows
 * enumerated over a span.
 *
 * Coordinates are 0-based half-open in memory.  Region strings are 1-based inclusive as in samtools
 * (`chr`, `chr:beg`, `chr:beg-end`, `{chr:with:colons}:beg-end`); region files named .bed/.bed.gz are
 * 0-based half-open, other region files tab-separated `chr beg end` 1-based inclusive (as samtools reads them). */
#ifndef HD_REGIONS_H
#define HD_REGIONS_H

#include <htslib/faidx.h>
#include <htslib/sam.h>
#include <stddef.h>
#include <stdint.h>

typedef struct { char *chrom; int64_t beg, end; } hd_region;   /* [beg, end), 0-based */
typedef struct { hd_region *v; size_t n, m; } hd_regions;

/* A sequence dictionary: names and lengths, with lookup by name. */
typedef struct hd_contigs hd_contigs;
hd_contigs *hd_contigs_from_fai(const faidx_t *fai, const char *source);
hd_contigs *hd_contigs_from_sam(const sam_hdr_t *h, const char *source);
void hd_contigs_free(hd_contigs *c);
int hd_contigs_n(const hd_contigs *c);
int hd_contigs_id(const hd_contigs *c, const char *name);     /* -1 when absent */
const char *hd_contigs_name(const hd_contigs *c, int id);
int64_t hd_contigs_len(const hd_contigs *c, int id);

/* Open a FASTA index, building the .fai (and .gzi for bgzip) when absent.  NULL + hd_error naming the
 * file (a plain-gzip FASTA cannot be indexed: bgzip it). */
faidx_t *hd_faidx_open(const char *path);
/* Fetch [beg, end) of a contig (malloc'd, NUL-terminated); NULL + hd_error. */
char *hd_faidx_fetch(const faidx_t *fai, const char *path, const char *chrom, int64_t beg, int64_t end);

/* Append the regions of a comma-separated list (1-based inclusive).  Every region is checked against
 * the dictionary: an unknown contig or a region reaching outside its contig is an error naming it. */
int hd_regions_parse(hd_regions *rs, const char *spec, const hd_contigs *dict);
/* Append the regions of a file (plain, gzip or bgzip; '#', "track" and "browser" lines skipped). */
int hd_regions_read(hd_regions *rs, const char *path, const hd_contigs *dict);
void hd_regions_free(hd_regions *rs);

/* "chr:beg-end" in samtools form (1-based inclusive; braces around names holding a colon). */
char *hd_region_str(const char *chrom, int64_t beg, int64_t end);

/* Sliding windows of width w, step s over [0, len): starts 0, s, 2s, ... while the window fits, then a
 * last window flush with the end when the regular ones stop short of it.  len <= w gives one window
 * [0, len).  w, s >= 1. */
size_t hd_window_count(int64_t len, int64_t w, int64_t s);
void hd_window_get(int64_t len, int64_t w, int64_t s, size_t i, int64_t *beg, int64_t *end);

#endif
