/* track.h -- per-base tracks of what a DNA language model thinks of a genome (`hyenadna track`).
 *
 * Two parts:
 *   1. the values of one base from the LLRs of its three SNVs (the model's distribution over A, C, G, T,
 *      which those three numbers determine): log2 p(ref), entropy, information content, logo heights;
 *   2. the writers of the outputs, each under a temporary name in the destination's folder until
 *      hd_tf_close() renames it into place: bigWig (libBigWig, zoom levels included), bgzipped bedGraph
 *      and the bgzipped SNV table, both tabix-indexed.
 *
 * Positions are 0-based; contigs are numbered by their place in the chromosome list given at open, and
 * values must come in increasing (contig, position) order. */
#ifndef HD_TRACK_H
#define HD_TRACK_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

/* ---------------------------------------------------------------- 1. values */

enum { HD_TRK_LOGP = 0, HD_TRK_ENTROPY, HD_TRK_IC, HD_TRK_A, HD_TRK_C, HD_TRK_G, HD_TRK_T, HD_TRK_N };

/* "logp", "entropy", "ic", "A", "C", "G", "T" (the name in PREFIX.NAME.bw). */
const char *hd_track_name(int t);

/* The values of a base whose reference base is ref (0..3 for A, C, G, T) from llr[b] = log p(b) − log p(ref)
 * (natural log; llr[ref] is ignored).  With q the distribution over A, C, G, T these define:
 *   out[LOGP] = log2 q(ref),  out[ENTROPY] = −Σ q log2 q (0..2),  out[IC] = 2 − entropy,
 *   out[A..T] = q(b) · IC (the letter heights of a sequence logo). */
void hd_track_values(int ref, const double llr[4], float out[HD_TRK_N]);

/* ---------------------------------------------------------------- 2. writers */

/* The chromosome list of a bigWig or a bedGraph: names and lengths, in output order. */
typedef struct {
    int n;
    const char *const *name;
    const int64_t *len;
} hd_chroms;

typedef enum { HD_TF_BIGWIG = 0, HD_TF_BEDGRAPH } hd_tf_format;

typedef struct hd_trackfile hd_trackfile;

/* A per-base track at `path`.  bigWig: every contig of `chroms` in its header (lengths < 2^32); one entry
 * per base with a value (span 1); zoom levels of 16·4^k bases and up, k the smallest that keeps the finest
 * level within 2^20 records (32 MiB) for the whole genome, made as the values come.  bedGraph: BGZF, a
 * first line "# <desc>", then one line `chrom beg end value` (%.6g) per base, tabix-indexed
 * (path + ".tbi").  NULL + hd_error naming the file. */
hd_trackfile *hd_tf_open(const char *path, hd_tf_format fmt, const hd_chroms *chroms, const char *desc);
/* The value at (contig, pos); NaN is a gap (nothing written). */
int hd_tf_put(hd_trackfile *t, int contig, int64_t pos, float v);
/* Finish the file (index, zoom levels) under its temporary name(s); 0 on success.  Nothing is renamed. */
int hd_tf_finish(hd_trackfile *t);
/* Rename the finished file (and its index) into place and free t; 0 on success. */
int hd_tf_commit(hd_trackfile *t);
/* Discard: nothing is left under the final name; frees t (NULL allowed). */
void hd_tf_abort(hd_trackfile *t);

/* A bgzipped text table indexed by tabix (path + ".tbi"; ".csi" when a row reaches beyond 2^29, which a .tbi
 * cannot hold: hd_index_min_shift, with a warning): `#` lines first, then rows grouped by contig and sorted by
 * position.  HD_TAB_BED: `chrom beg end ...`, 0-based half-open (bedGraph); HD_TAB_SNV: the
 * contig in column 1 and a 1-based position in column 2 (tabix -s1 -b2 -e2). */
typedef enum { HD_TAB_BED = 0, HD_TAB_SNV } hd_tab_kind;
typedef struct hd_tabfile hd_tabfile;
hd_tabfile *hd_tab_open(const char *path, hd_tab_kind kind);
int hd_tab_write(hd_tabfile *t, const char *s, size_t n);
/* A row written with hd_tab_write ends at `end` (0-based exclusive, = the 1-based position of an SNV row):
 * the index is a .tbi only when no row reaches beyond 2^29. */
void hd_tab_reach(hd_tabfile *t, int64_t end);
/* One line of a table (without its newline) copied with a newline, its end read from it (track --merge). */
int hd_tab_copy_row(hd_tabfile *t, const char *line, size_t n);
int hd_tab_finish(hd_tabfile *t);     /* close and index under temporary names */
int hd_tab_commit(hd_tabfile *t);     /* rename both into place, free t */
void hd_tab_abort(hd_tabfile *t);

/* Readers for `track --merge`: the chromosome list and the values of a bigWig, the lines of a bgzipped
 * table.  Each calls fn for every value / line in file order; a non-zero return from fn stops the walk
 * and is returned. */
typedef struct hd_bwread hd_bwread;
/* Is the bigWig file f (of `size` bytes) whole?  NULL when it is, else what is wrong: libBigWig follows the
 * header's offsets unchecked and crashes on a truncated file (used before every bwOpen of an input). */
const char *hd_bw_damage(FILE *f, uint64_t size);
hd_bwread *hd_bw_open(const char *path);
const hd_chroms *hd_bw_chroms(const hd_bwread *r);
int hd_bw_walk(hd_bwread *r, int (*fn)(void *ud, int contig, int64_t beg, int64_t end, float v), void *ud);
void hd_bw_close(hd_bwread *r);
int hd_tab_walk(const char *path, int (*fn)(void *ud, const char *line, size_t n), void *ud);

#endif
