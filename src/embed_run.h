/* embed_run.h -- the run of `hyenadna embed`: sequence units (FASTA records, regions of an indexed
 * reference, reads) cut into windows, grouped into batches of similar length, embedded and written in
 * input order; and the row count of a whole run, which `--shard I/N` needs before it embeds its block.
 *
 * Rows are numbered 0.. in output order over the whole run.  A unit of len bases gives:
 *   - with windows asked (window, stride): the windows of regions.h (hd_window_count) over the unit;
 *   - else, when longer than the model's maximum length: windows of that length, end to end (a warning
 *     for the first 5 such units), or an error with no_split;
 *   - else one row.
 * Window names: chr:beg-end on the reference (records and regions), QNAME:beg-end in read coordinates
 * (reads, which keep their alignment span).  A region of strand '-' (a minus-strand BED interval, read as
 * its reverse complement) is cut along that strand: its first window ends at the region's end, and
 * windows are named chr:beg-end(-) with their reference coordinates. */
#ifndef HD_EMBED_RUN_H
#define HD_EMBED_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "bamseq.h"
#include "embed.h"
#include "regions.h"
#include "seqio.h"

typedef struct {
    long window, stride;     /* 0: no windows asked */
    int no_split;            /* a unit longer than max_len is an error instead of windows of max_len */
    long max_len;            /* the model's, 0 = none */
    const char *input;       /* the input, for messages */
    const char *kind;        /* "record", "region" or "read", for messages */
} hd_embed_windows;

/* The rows of a unit of len bases. */
uint64_t hd_embed_unit_rows(const hd_embed_windows *w, int64_t len);

/* The rows of a whole run (the first pass of --shard): over the regions of fai when regs is not NULL
 * and the input is FASTA, else over the units of the input read again (with the same regions and read
 * filter for an alignment file; FASTA records skipped by the rules of seqio.h are skipped silently
 * here).  -1 with an error. */
int hd_embed_count_rows(const char *in, const char *reference, const hd_regions *regs, int regions_of_fai,
                        const hd_read_filter *rf, const hd_embed_windows *w, uint64_t *total);

typedef struct hd_embed_run hd_embed_run;

/* max_n sequences or max_bases bases per batch, whichever comes first. */
hd_embed_run *hd_embed_run_new(hd_embedder *emb, hd_emb_writer *w, hd_pool pool, size_t max_n, size_t max_bases,
                               const hd_embed_windows *wo);
void hd_embed_run_free(hd_embed_run *r);

/* --shard: only the rows [lo, hi) are embedded and written; last = this is shard N of N. */
void hd_embed_run_set_shard(hd_embed_run *r, uint64_t lo, uint64_t hi, int last);
/* Is the run past its block (the rest belongs to later shards, nothing more to read)? */
int hd_embed_run_done(const hd_embed_run *r);
/* A unit that the caller has not read yet (a region: its bases may be NULL, its length set): 1 when it lies
 * outside the block (counted, the names of its rows before the block kept for their suffixes, skipped), 0 when
 * it must be read and added, -1 out of memory. */
int hd_embed_run_skip(hd_embed_run *r, const hd_sequnit *u, int is_read);

/* Queue one unit (its bases are copied); batches run when full.  is_read: window names in read
 * coordinates.  -1 with an error naming the unit. */
int hd_embed_run_add(hd_embed_run *r, const hd_sequnit *u, int is_read);
/* Run the last batch. */
int hd_embed_run_flush(hd_embed_run *r);

/* Sequences and bases embedded so far; units split into windows of the maximum length. */
uint64_t hd_embed_run_sequences(const hd_embed_run *r);
uint64_t hd_embed_run_bases(const hd_embed_run *r);
long hd_embed_run_n_split(const hd_embed_run *r);

/* Called after every batch (progress). */
void hd_embed_run_on_batch(hd_embed_run *r, void (*fn)(void *ud, uint64_t sequences, uint64_t bases), void *ud);

/* A skip hook for the FASTA reader (seqio.h) of a sharded run: the warning about a skipped record is
 * given by the one shard holding the row after it, as if the record were a row of its own. */
void hd_embed_run_skip_hook(void *run, hd_fasta *f, const hd_seqrec *rec, int why);

#endif
