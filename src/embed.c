/* embed.c -- pooling, reverse-complement conjoining, the embedder and the embedding writers. */
#include "embed.h"

#include <htslib/khash.h>
#include <htslib/kstring.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "safetensors.h"
#include "tokenizer.h"
#include "util.h"
#include "workers.h"

/* ------------------------------------------------------------------ pooling */

static const char *const pool_names[] = {"mean", "last", "max", "none"};

int hd_pool_parse(const char *s, hd_pool *out)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, pool_names[i])) { *out = (hd_pool)i; return 0; }
    return -1;
}

const char *hd_pool_name(hd_pool p) { return (unsigned)p < 4 ? pool_names[p] : "?"; }

void hd_pool_rows(const float *x, size_t L, int D, int reverse, hd_pool pool, float *out)
{
    size_t d = (size_t)D;
    switch (pool) {
    case HD_POOL_NONE:
        if (!reverse) memcpy(out, x, L * d * sizeof *out);
        else
            for (size_t t = 0; t < L; t++) memcpy(out + t * d, x + (L - 1 - t) * d, d * sizeof *out);
        return;
    case HD_POOL_LAST:
        memcpy(out, x + (reverse ? 0 : L - 1) * d, d * sizeof *out);
        return;
    case HD_POOL_MAX:
        memcpy(out, x, d * sizeof *out);
        for (size_t t = 1; t < L; t++)
            for (size_t c = 0; c < d; c++)
                if (x[t * d + c] > out[c] || isnan(x[t * d + c])) out[c] = x[t * d + c];
        return;
    case HD_POOL_MEAN:
    default: {
        /* double accumulation in a fixed order: deterministic and independent of the thread count */
        double *acc = calloc(d, sizeof *acc);
        if (!acc) {   /* tiny; fall back to float accumulation rather than fail */
            memset(out, 0, d * sizeof *out);
            for (size_t t = 0; t < L; t++)
                for (size_t c = 0; c < d; c++) out[c] += x[t * d + c];
            for (size_t c = 0; c < d; c++) out[c] /= (float)L;
            return;
        }
        for (size_t t = 0; t < L; t++)
            for (size_t c = 0; c < d; c++) acc[c] += x[t * d + c];
        for (size_t c = 0; c < d; c++) out[c] = (float)(acc[c] / (double)L);
        free(acc);
        return;
    }
    }
}

int hd_conjoin(const float *f, const float *r, size_t L, int D, hd_pool pool, float *out)
{
    size_t d = (size_t)D;
    if (pool == HD_POOL_NONE) {
        for (size_t t = 0; t < L; t++)
            for (size_t c = 0; c < d; c++) out[t * d + c] = 0.5f * (f[t * d + c] + r[(L - 1 - t) * d + c]);
        return 0;
    }
    float *tmp = malloc(d * sizeof *tmp);
    if (!tmp) { hd_set_oom(NULL); return -1; }
    hd_pool_rows(f, L, D, 0, pool, out);
    hd_pool_rows(r, L, D, 0, pool, tmp);
    for (size_t c = 0; c < d; c++) out[c] = 0.5f * (out[c] + tmp[c]);
    free(tmp);
    return 0;
}

void hd_ps_split(const float *h, size_t L, int D, float *f1, float *f2)
{
    size_t d = (size_t)D, w = 2 * d;
    for (size_t t = 0; t < L; t++) {
        memcpy(f1 + t * d, h + t * w, d * sizeof *f1);
        const float *src = h + (L - 1 - t) * w;   /* flipped in length ... */
        for (size_t c = 0; c < d; c++) f2[t * d + c] = src[w - 1 - c];   /* ... and in channel */
    }
}

/* ------------------------------------------------------------------ the embedder */

/* one worker's buffers (positions: cap) */
typedef struct {
    size_t cap;
    int32_t *ids, *ids_rc;
    float *h, *h_rc, *f1, *f2;
} emb_slot;

struct hd_embedder {
    hd_model *m;
    hd_backend *be;
    hd_workers *wk;      /* a batch runs its sequences side by side (workers.h) */
    hd_embed_opts o;
    int ps;              /* conjoin the halves of an RC-equivariant model */
    int width;
    emb_slot *slot;      /* one per worker */
    int nslot;
};

/* a sub-module output copied into the hidden-state buffer */
static void tap_to_hidden(void *ud, int tap, const float *x, size_t L, int width)
{
    memcpy(ud, x, L * (size_t)width * sizeof(float));
}

/* the forward pass of the embedder's representation into h */
static int embed_forward(hd_embedder *e, hd_backend *be, const int32_t *ids, size_t n, float *h)
{
    hd_fwd f = {.hidden = e->o.has_tap ? NULL : h, .layer = e->o.has_tap ? -1 : e->o.layer};
    if (e->o.has_tap) {
        f.taps = &e->o.tap;
        f.n_taps = 1;
        f.on_tap = tap_to_hidden;
        f.ud = h;
    }
    return hd_model_forward(e->m, be, ids, n, &f);
}

hd_embedder *hd_embedder_new(hd_model *m, hd_backend *be, const hd_embed_opts *o)
{
    if (o->layer >= m->n_layer || o->layer < -1) {
        hd_set_error(HD_EINPUT, "layer %d does not exist: the model has %d layers (0..%d)", o->layer, m->n_layer,
                     m->n_layer - 1);
        return NULL;
    }
    hd_embedder *e = calloc(1, sizeof *e);
    if (!e) { hd_set_oom(NULL); return NULL; }
    e->m = m;
    e->be = be;
    e->o = *o;
    e->ps = o->rc && m->rc_equivariant;
    if (e->ps && m->d_hidden % 2) {
        hd_set_error(HD_EMODEL, "%s: an RC-equivariant model with an odd hidden width (%d)", m->location, m->d_hidden);
        free(e);
        return NULL;
    }
    e->width = e->ps ? m->d_hidden / 2 : m->d_hidden;
    if (!(e->wk = hd_workers_new(m, be, 0))) { free(e); return NULL; }
    e->nslot = hd_workers_count(e->wk);
    if (!(e->slot = calloc((size_t)e->nslot, sizeof *e->slot))) {
        hd_workers_free(e->wk);
        free(e);
        hd_set_oom(NULL);
        return NULL;
    }
    return e;
}

static void slot_free(emb_slot *s)
{
    free(s->ids); free(s->ids_rc);
    hd_free(s->h); hd_free(s->h_rc); hd_free(s->f1); hd_free(s->f2);
    memset(s, 0, sizeof *s);
}

void hd_embedder_free(hd_embedder *e)
{
    if (!e) return;
    for (int i = 0; i < e->nslot; i++) slot_free(&e->slot[i]);
    free(e->slot);
    hd_workers_free(e->wk);
    free(e);
}

int hd_embedder_width(const hd_embedder *e) { return e->width; }

int hd_embed_width(const hd_model *m, int rc) { return rc && m->rc_equivariant ? m->d_hidden / 2 : m->d_hidden; }

int hd_embed_ids(hd_model *m, hd_backend *be, const int32_t *ids, size_t L, hd_pool p, int rc, float *out)
{
    if (!L) { hd_set_error(HD_EINPUT, "empty sequence"); return -1; }
    if (p == HD_POOL_NONE) { hd_set_error(HD_EINPUT, "hd_embed_ids pools: --pool none is not a pooling"); return -1; }
    size_t D = (size_t)m->d_hidden, n;
    if (hd_mul(L, D, &n)) { hd_set_error(HD_EINPUT, "sequence too long"); return -1; }
    int ps = rc && m->rc_equivariant, two = rc && !ps;
    float *h = hd_alloc(n * sizeof *h, "the hidden states");
    float *h2 = rc ? hd_alloc(n * sizeof *h2, "the hidden states") : NULL;
    int32_t *rids = two ? malloc(L * sizeof *rids) : NULL;
    int ret = -1;
    if (two && !rids) hd_set_oom(NULL);
    if (!h || (rc && !h2) || (two && !rids)) goto done;
    hd_fwd f = {.hidden = h, .layer = -1};
    if (hd_model_forward(m, be, ids, L, &f)) goto done;
    if (!rc) {
        hd_pool_rows(h, L, (int)D, 0, p, out);
    } else if (ps) {
        /* f1 = h[:, 0:D/2] and f2 = RC(h[:, D/2:D]) (docs/models.md §4.8), written over h2 */
        float *f1 = h2, *f2 = h2 + L * (D / 2);
        hd_ps_split(h, L, (int)(D / 2), f1, f2);
        if (hd_conjoin(f1, f2, L, (int)(D / 2), p, out)) goto done;
    } else {
        memcpy(rids, ids, L * sizeof *rids);
        hd_ids_revcomp(rids, L);
        hd_fwd g = {.hidden = h2, .layer = -1};
        if (hd_model_forward(m, be, rids, L, &g)) goto done;
        if (hd_conjoin(h, h2, L, (int)D, p, out)) goto done;
    }
    ret = 0;
done:
    hd_free(h);
    hd_free(h2);
    free(rids);
    return ret;
}

static int reserve(const hd_embedder *e, emb_slot *s, size_t n)
{
    if (n <= s->cap) return 0;
    size_t dh = (size_t)e->m->d_hidden, bytes;
    if (hd_mul(n, dh * sizeof(float), &bytes)) {
        hd_set_error(HD_EMODEL, "a sequence of %zu bases is too long to embed", n);
        return -1;
    }
    slot_free(s);
    int need_rc = e->o.rc && !e->ps;
    s->ids = malloc(n * sizeof *s->ids);
    s->h = hd_alloc(bytes, "the hidden states");
    if (!s->ids || !s->h) goto oom;
    if (need_rc) {
        s->ids_rc = malloc(n * sizeof *s->ids_rc);
        s->h_rc = hd_alloc(bytes, "the reverse-complement hidden states");
        if (!s->ids_rc || !s->h_rc) goto oom;
    }
    if (e->ps) {
        s->f1 = hd_alloc(bytes / 2, "the conjoined hidden states");
        s->f2 = hd_alloc(bytes / 2, "the conjoined hidden states");
        if (!s->f1 || !s->f2) goto oom;
    }
    s->cap = n;
    return 0;
oom:
    if (!strstr(hd_error(), "memory")) hd_set_error(HD_EMODEL, "out of memory for a sequence of %zu bases", n);
    return -1;
}

/* one sequence on backend be with the buffers of slot s */
static int embed_one(hd_embedder *e, hd_backend *be, emb_slot *s, const char *seq, size_t n, const char *name,
                     float *out)
{
    if (n == 0) {
        hd_set_error(HD_EINPUT, "%s: empty sequence", name);
        return -1;
    }
    if (reserve(e, s, n)) return -1;
    if (hd_model_tokenize(e->m, seq, n, HD_SPECIAL_NONE, s->ids, name) < 0) return -1;
    if (embed_forward(e, be, s->ids, n, s->h)) {
        char *msg = hd_strdup(hd_error());
        int kind = hd_error_kind();
        hd_set_error(kind, "%s: %s", name, msg ? msg : "forward pass failed");
        free(msg);
        return -1;
    }
    int dh = e->m->d_hidden;
    if (e->ps) {
        hd_ps_split(s->h, n, dh / 2, s->f1, s->f2);
        if (hd_conjoin(s->f1, s->f2, n, dh / 2, e->o.pool, out)) return -1;
    } else if (e->o.rc) {
        memcpy(s->ids_rc, s->ids, n * sizeof *s->ids);
        hd_ids_revcomp(s->ids_rc, n);
        if (embed_forward(e, be, s->ids_rc, n, s->h_rc)) {
            char *msg = hd_strdup(hd_error());
            int kind = hd_error_kind();
            hd_set_error(kind, "%s (reverse complement): %s", name, msg ? msg : "forward pass failed");
            free(msg);
            return -1;
        }
        if (hd_conjoin(s->h, s->h_rc, n, dh, e->o.pool, out)) return -1;
    } else {
        hd_pool_rows(s->h, n, dh, 0, e->o.pool, out);
    }
    return 0;
}

int hd_embedder_run(hd_embedder *e, const char *seq, size_t n, const char *name, float *out)
{
    return embed_one(e, e->be, &e->slot[0], seq, n, name, out);
}

static const hd_embed_job *sort_jobs;
static int by_len_desc(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    size_t li = sort_jobs[i].len, lj = sort_jobs[j].len;
    if (li != lj) return li > lj ? -1 : 1;
    return i < j ? -1 : i > j;   /* stable */
}

typedef struct {
    hd_embedder *e;
    hd_embed_job *jobs;
    const size_t *order;
} batch_run;

static int batch_job(void *ud, size_t k, hd_backend *be, int slot)
{
    batch_run *b = ud;
    hd_embed_job *j = &b->jobs[b->order[k]];
    return embed_one(b->e, be, &b->e->slot[slot], j->seq, j->len, j->name, j->out);
}

int hd_embedder_run_batch(hd_embedder *e, hd_embed_job *jobs, size_t n)
{
    if (!n) return 0;
    size_t *order = malloc(n * sizeof *order), *len = malloc(n * sizeof *len);
    if (!order || !len) { free(order); free(len); hd_set_oom(NULL); return -1; }
    for (size_t i = 0; i < n; i++) order[i] = i;
    sort_jobs = jobs;
    qsort(order, n, sizeof *order, by_len_desc);
    sort_jobs = NULL;
    for (size_t k = 0; k < n; k++) len[k] = jobs[order[k]].len;
    /* the longest first: each worker's buffers are sized once per batch, and the workers finish together */
    batch_run b = {e, jobs, order};
    int rc = hd_workers_run(e->wk, n, len, batch_job, &b, NULL);
    free(order);
    free(len);
    return rc;
}

/* ------------------------------------------------------------------ writers */

static const char *const fmt_names[] = {"tsv", "bed", "safetensors"};

int hd_emb_fmt_parse(const char *s, hd_emb_fmt *out)
{
    for (int i = 0; i < 3; i++)
        if (!strcasecmp(s, fmt_names[i])) { *out = (hd_emb_fmt)i; return 0; }
    return -1;
}

const char *hd_emb_fmt_name(hd_emb_fmt f) { return (unsigned)f < 3 ? fmt_names[f] : "?"; }

int hd_emb_fmt_from_name(const char *path, hd_emb_fmt *out)
{
    static const struct { const char *suf; hd_emb_fmt f; } tab[] = {
        {".tsv", HD_EMB_TSV}, {".tsv.gz", HD_EMB_TSV}, {".tsv.bgz", HD_EMB_TSV}, {".txt", HD_EMB_TSV},
        {".txt.gz", HD_EMB_TSV}, {".txt.bgz", HD_EMB_TSV}, {".bed", HD_EMB_BED}, {".bed.gz", HD_EMB_BED}, {".bed.bgz", HD_EMB_BED},
        {".safetensors", HD_EMB_SAFETENSORS}, {".st", HD_EMB_SAFETENSORS}};
    for (size_t i = 0; i < sizeof tab / sizeof *tab; i++)
        if (hd_has_suffix(path, tab[i].suf)) { *out = tab[i].f; return 0; }
    return -1;
}

KHASH_SET_INIT_STR(hd_names)

struct hd_emb_writer {
    hd_emb_fmt fmt;
    int width;
    hd_pool pool;
    hd_outfile *out;
    hd_stw *st;
    khash_t(hd_names) *names;
    kstring_t line;
    long n, renamed;
};

hd_emb_writer *hd_emb_writer_open(const char *path, hd_emb_fmt fmt, int width, hd_pool pool)
{
    hd_emb_writer *w = calloc(1, sizeof *w);
    if (!w) { hd_set_oom(NULL); return NULL; }
    w->fmt = fmt;
    w->width = width;
    w->pool = pool;
    w->names = kh_init(hd_names);
    if (!w->names) { free(w); hd_set_oom(NULL); return NULL; }
    if (fmt == HD_EMB_SAFETENSORS) {
        if (!(w->st = hd_stw_open(path))) goto fail;
        return w;
    }
    if (!(w->out = hd_out_open(path, 1))) goto fail;
    kstring_t *s = &w->line;
    s->l = 0;
    if (fmt == HD_EMB_TSV) ksprintf(s, "#name\tchrom\tstart\tend\tstrand");
    else ksprintf(s, "#chrom\tstart\tend\tname\tscore\tstrand");
    for (int d = 0; d < width; d++) ksprintf(s, "\tdim%d", d);
    kputc('\n', s);
    if (hd_out_write(w->out, s->s, s->l)) goto fail;
    return w;
fail:
    hd_emb_writer_abort(w);
    return NULL;
}

int hd_emb_writer_meta(hd_emb_writer *w, const char *key, const char *value)
{
    return w->st ? hd_stw_meta_text(w->st, key, value) : 0;
}

/* the name to use: unique within the output */
static char *unique_name(hd_emb_writer *w, const char *name)
{
    char *nm = hd_strdup(name);
    int absent = 0;
    for (long k = 2; nm; k++) {
        kh_put(hd_names, w->names, nm, &absent);
        if (absent < 0) { free(nm); nm = NULL; break; }
        if (absent) break;
        free(nm);
        nm = hd_sprintf("%s_%ld", name, k);
    }
    if (!nm) { hd_set_oom(NULL); return NULL; }
    if (strcmp(nm, name)) w->renamed++;
    return nm;   /* owned by the set */
}

static void put_floats(kstring_t *s, const float *v, int n)
{
    char buf[48];
    for (int i = 0; i < n; i++) {
        int k = snprintf(buf + 1, sizeof buf - 1, "%.9g", (double)v[i]);
        buf[0] = '\t';
        kputsn(buf, k + 1, s);
    }
}

int hd_emb_writer_add(hd_emb_writer *w, const char *name, const char *chrom, int64_t start, int64_t end,
                      char strand, const float *v, size_t rows)
{
    size_t bad;
    if (w->st && (!hd_utf8_valid(name, &bad) || !hd_utf8_valid(chrom, &bad))) {
        /* safetensors names and metadata are JSON strings (src/safetensors.c): invalid UTF-8 cannot be one */
        hd_set_error(HD_EINPUT, "the name '%s' (sequence '%s') is not valid UTF-8 text, which safetensors tensor "
                     "names must be: rename it, or write TSV or BED", name, chrom);
        return -1;
    }
    const char *nm = unique_name(w, name);
    if (!nm) return -1;
    w->n++;
    if (w->st) {
        char *key = hd_sprintf("embedding.%s", nm);
        char *ck = hd_sprintf("coords.%s", nm);
        char *cv = hd_sprintf("%s\t%" PRId64 "\t%" PRId64 "\t%c", chrom, start, end, strand);
        int rc = -1;
        if (key && ck && cv) {
            int64_t shape[2] = {(int64_t)rows, w->width};
            if (w->pool == HD_POOL_NONE) rc = hd_stw_add(w->st, key, HD_F32, 2, shape, v);
            else rc = hd_stw_add(w->st, key, HD_F32, 1, shape + 1, v);
            if (!rc && hd_stw_meta(w->st, ck, cv)) {
                hd_set_error(HD_EMODEL, "cannot add the metadata %s to the safetensors header", ck);
                rc = -1;
            }
        } else hd_set_oom(NULL);
        free(key); free(ck); free(cv);
        return rc;
    }
    /* text: one line per row (pooled: one) */
    kstring_t *s = &w->line;
    for (size_t r = 0; r < rows; r++) {
        s->l = 0;
        if (w->fmt == HD_EMB_TSV)
            ksprintf(s, "%s\t%s\t%" PRId64 "\t%" PRId64 "\t%c", nm, chrom, start, end, strand);
        else
            ksprintf(s, "%s\t%" PRId64 "\t%" PRId64 "\t%s\t0\t%c", chrom, start, end, nm, strand);
        put_floats(s, v + r * (size_t)w->width, w->width);
        kputc('\n', s);
        if (!s->s) { hd_set_oom(NULL); return -1; }
        if (hd_out_write(w->out, s->s, s->l)) return -1;
    }
    return 0;
}

int hd_emb_writer_reserve(hd_emb_writer *w, const char *name)
{
    long renamed = w->renamed;   /* said by the shard that writes the row */
    const char *nm = unique_name(w, name);
    w->renamed = renamed;
    return nm ? 0 : -1;
}

long hd_emb_writer_count(const hd_emb_writer *w) { return w->n; }
long hd_emb_writer_renamed(const hd_emb_writer *w) { return w->renamed; }

static void free_names(hd_emb_writer *w)
{
    if (!w->names) return;
    for (khint_t k = kh_begin(w->names); k != kh_end(w->names); k++)
        if (kh_exist(w->names, k)) free((char *)kh_key(w->names, k));
    kh_destroy(hd_names, w->names);
    w->names = NULL;
}

int hd_emb_writer_close(hd_emb_writer *w)
{
    int rc = 0;
    if (w->st) rc = hd_stw_close(w->st);
    else if (w->out) rc = hd_out_close(w->out);
    free_names(w);
    free(w->line.s);
    free(w);
    return rc;
}

void hd_emb_writer_abort(hd_emb_writer *w)
{
    if (!w) return;
    if (w->st) hd_stw_abort(w->st);
    if (w->out) hd_out_abort(w->out);
    free_names(w);
    free(w->line.s);
    free(w);
}
