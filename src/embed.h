/* embed.h -- sequence embeddings: pooling, reverse-complement conjoining, an embedder running any model
 * family through hd_model_forward, and the TSV / BED / safetensors writers of `hyenadna embed`. */
#ifndef HD_EMBED_H
#define HD_EMBED_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "model.h"

typedef enum { HD_POOL_MEAN = 0, HD_POOL_LAST, HD_POOL_MAX, HD_POOL_NONE } hd_pool;

int hd_pool_parse(const char *s, hd_pool *out);   /* "mean", "last", "max", "none"; -1 otherwise */
const char *hd_pool_name(hd_pool p);

/* Pool the L rows of x [L, D] into out [D]: mean, last row, or per-channel max (HD_POOL_NONE copies
 * all L rows).  reverse = 1 walks the rows from the end, so "last" is row 0. */
void hd_pool_rows(const float *x, size_t L, int D, int reverse, hd_pool pool, float *out);

/* Average a forward-strand view f [L, D] with a reverse-strand view r [L, D] stored in the reverse
 * strand's own order (row t of r is forward position L-1-t):
 *   pooled:        out [D]    = (pool(f) + pool(r)) / 2, each pooled in its own reading order
 *                               (so "last" is the last base read on each strand);
 *   HD_POOL_NONE:  out [L, D] = (f[t] + r[L-1-t]) / 2, r flipped back along the sequence first. */
int hd_conjoin(const float *f, const float *r, size_t L, int D, hd_pool pool, float *out);   /* -1: out of memory */

/* Caduceus-PS (docs/models.md §4.8, "RC-invariant downstream features"): the hidden state h [L, 2D] of an
 * RC-equivariant model splits into f1 = h[:, 0:D] and f2 = RC(h[:, D:2D]), the second half flipped in
 * length and in channel: f2[t, c] = h[L-1-t, 2D-1-c].  f2 is the reverse strand's view in that strand's
 * own order, ready for hd_conjoin (which averages f1 and f2). */
void hd_ps_split(const float *h, size_t L, int D, float *f1, float *f2);

/* Width of a pooled embedding of model m: d_hidden, or d_hidden / 2 for an RC-equivariant model with rc. */
int hd_embed_width(const hd_model *m, int rc);
/* The pooled final hidden state of one sequence of token ids, conjoined with its reverse complement when
 * rc (as the embedder does: a second run averaged with hd_conjoin, or the two halves of an RC-equivariant
 * model's own output).  out [hd_embed_width(m, rc)].  -1 with hd_error on failure. */
int hd_embed_ids(hd_model *m, hd_backend *be, const int32_t *ids, size_t L, hd_pool p, int rc, float *out);

/* ---- the embedder ---- */
typedef struct {
    hd_pool pool;
    int rc;        /* also embed the reverse complement and average (PS models: conjoin the halves) */
    int layer;     /* -1: final norm output; K: the residual stream after block K */
    int has_tap;   /* embed a family sub-module output instead (hd_model_parse_layer), e.g. Evo 2's blocks.K.mlp.l3 */
    int tap;
} hd_embed_opts;

typedef struct hd_embedder hd_embedder;

hd_embedder *hd_embedder_new(hd_model *m, hd_backend *be, const hd_embed_opts *o);
void hd_embedder_free(hd_embedder *e);
/* Width of the vectors: m->d_hidden, or d_hidden / 2 for an RC-equivariant model with rc set. */
int hd_embedder_width(const hd_embedder *e);
/* Embed the bases seq[0..n) (n >= 1): out receives width floats, or n·width with HD_POOL_NONE.
 * Errors (bad base, model failure) name `name` and the 1-based position. */
int hd_embedder_run(hd_embedder *e, const char *seq, size_t n, const char *name, float *out);

/* A batch: its sequences run side by side, one per worker (workers.h: each worker a single-threaded backend;
 * sequences of HD_WORKERS_LONG bases or more run one at a time on all threads), longest first; outputs land
 * in each job's `out`, the same bits for any thread count and batch, so the caller writes them in input
 * order.  Fails with the error of the first failing job in that order (hd_error names the job). */
typedef struct {
    const char *seq;
    size_t len;
    const char *name;
    float *out;
} hd_embed_job;
int hd_embedder_run_batch(hd_embedder *e, hd_embed_job *jobs, size_t n);

/* ---- output ---- */
typedef enum { HD_EMB_TSV = 0, HD_EMB_BED, HD_EMB_SAFETENSORS } hd_emb_fmt;

int hd_emb_fmt_parse(const char *s, hd_emb_fmt *out);       /* "tsv", "bed", "safetensors" */
/* From the file name: .tsv, .tsv.gz, .txt, .bed, .bed.gz, .safetensors; -1 when the suffix says nothing. */
int hd_emb_fmt_from_name(const char *path, hd_emb_fmt *out);
const char *hd_emb_fmt_name(hd_emb_fmt f);

typedef struct hd_emb_writer hd_emb_writer;

/* Open an output ("-" = stdout; text formats ending in .gz are BGZF).  The text formats write their
 * header line at once, so an empty input still gives a file with a header. */
hd_emb_writer *hd_emb_writer_open(const char *path, hd_emb_fmt fmt, int width, hd_pool pool);
/* Metadata for the safetensors __metadata__ (ignored by the text formats). */
int hd_emb_writer_meta(hd_emb_writer *w, const char *key, const char *value);
/* One embedding: `rows` vectors of width floats (rows = 1 when pooled).  Coordinates are 0-based
 * half-open; strand '+', '-' or '.'.  A name met before gets a suffix _2, _3, ... (counted). */
int hd_emb_writer_add(hd_emb_writer *w, const char *name, const char *chrom, int64_t start, int64_t end,
                      char strand, const float *v, size_t rows);
/* A row of the whole run that another shard writes (--shard, before this shard's block): its name takes its
 * place among the names met, suffix included, so that the names of the rows written are those of the single
 * run; nothing is written or counted.  -1 out of memory. */
int hd_emb_writer_reserve(hd_emb_writer *w, const char *name);
long hd_emb_writer_count(const hd_emb_writer *w);
long hd_emb_writer_renamed(const hd_emb_writer *w);
int hd_emb_writer_close(hd_emb_writer *w);   /* 0 on success; nothing left under the name otherwise */
void hd_emb_writer_abort(hd_emb_writer *w);

#endif
