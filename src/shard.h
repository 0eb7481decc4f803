/* shard.h -- `--shard I/N`: split a run into N independent workers whose outputs, concatenated in shard
 * order, are exactly the output of the single run.  The items (records, windows, variants) are numbered
 * 0..T-1 in output order and shard I (1-based) takes the contiguous block [lo, hi):
 *     lo = (I-1)·(T / N) + min(I-1, T mod N),   hi = lo + T / N + (I-1 < T mod N ? 1 : 0)
 * so the blocks cover 0..T-1 in order, without overlap, and their sizes differ by at most one. */
#ifndef HD_SHARD_H
#define HD_SHARD_H

#include <stdint.h>

typedef struct {
    long i, n;   /* shard i of n, 1-based; n = 0: not sharded (one worker takes everything) */
} hd_shard;

/* Parse "I/N" (1 <= I <= N <= 1000000, decimal, nothing else).  -1 with hd_error on failure. */
int hd_shard_parse(const char *s, hd_shard *out);

/* The block [*lo, *hi) of items of shard s among total items; [0, total) when s->n == 0. */
void hd_shard_range(const hd_shard *s, uint64_t total, uint64_t *lo, uint64_t *hi);

/* The items of a run, counted in a first pass (the embed rows are counted by embed_run.h):
 * the records of a VCF/BCF file (data lines of a text VCF, records of a BCF).  -1 with an error. */
int hd_shard_count_vcf(const char *path, uint64_t *n);

#endif
