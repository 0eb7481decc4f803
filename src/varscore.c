/* varscore.c -- variant scoring: windows, log-likelihoods, the parallel job runner and the batch planner
 * (see varscore.h). */
#include "varscore.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "model.h"
#include "tokenizer.h"
#include "util.h"
#include "workers.h"

/* ================================================================ 1. pure functions */

hd_vs_win hd_vs_window(size_t p, size_t reflen, size_t altlen, size_t W, size_t n)
{
    size_t dp = reflen > altlen ? reflen - altlen : 0;   /* d⁺ < n: the REF allele lies in the contig */
    hd_vs_win w;
    w.L = W < n - dp ? W : n - dp;
    size_t a = p > w.L / 2 ? p - w.L / 2 : 0, b = n - w.L - dp;
    w.s = a < b ? a : b;
    return w;
}

size_t hd_vs_window_start(size_t p, size_t W, size_t clen)
{
    return clen ? hd_vs_window(p, 1, 1, W, clen).s : 0;
}

size_t hd_vs_ref_window(const uint8_t *ref, size_t clen, size_t s, size_t W, int32_t *out)
{
    size_t n = s < clen ? clen - s : 0;
    if (n > W) n = W;
    for (size_t i = 0; i < n; i++) out[i] = ref[s + i];
    return n;
}

size_t hd_vs_alt_window(const uint8_t *ref, size_t clen, size_t s, size_t p, size_t reflen, const int32_t *alt,
                        size_t altlen, size_t W, int32_t *out)
{
    size_t n = 0;
    for (size_t i = s; i < p && n < W; i++) out[n++] = ref[i];
    for (size_t i = 0; i < altlen && n < W; i++) out[n++] = alt[i];
    for (size_t i = p + reflen; i < clen && n < W; i++) out[n++] = ref[i];
    return n;
}

/* the maximum of a row of logits and the log of Σ exp(row − max): log p(a) = row[a] − max − that */
static void row_lse(const float *row, int nl, double *mx_out, double *ls_out)
{
    double mx = row[0];
    for (int i = 1; i < nl; i++)
        if (row[i] > mx) mx = row[i];
    double s = 0;
    for (int i = 0; i < nl; i++) s += exp((double)row[i] - mx);
    *mx_out = mx, *ls_out = log(s);
}

double hd_vs_logprob(const float *row, int nl, int a)
{
    double mx, ls;
    row_lse(row, nl, &mx, &ls);
    return (double)row[a] - mx - ls;
}

double hd_vs_loglik(const float *logits, size_t L, int nl, const int32_t *x)
{
    double ll = 0;
    for (size_t t = 1; t < L; t++) ll += hd_vs_logprob(logits + (t - 1) * (size_t)nl, nl, x[t]);
    return ll;
}

void hd_vs_meanpool(const float *h, size_t L, size_t D, float *out)
{
    for (size_t d = 0; d < D; d++) {
        double s = 0;
        for (size_t t = 0; t < L; t++) s += h[t * D + d];
        out[d] = L ? (float)(s / (double)L) : 0.0f;
    }
}

double hd_vs_cosdist(const float *a, const float *b, size_t n)
{
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    if (aa <= 0 || bb <= 0) return 0;
    return 1.0 - ab / (sqrt(aa) * sqrt(bb));
}

long hd_vs_allele_ids(const char *allele, int32_t *out, size_t cap)
{
    size_t n = 0;
    int other = 0;
    for (const char *c = allele; *c; c++) {
        int id = hd_base_id((unsigned char)*c);
        if (id < HD_TOK_A || id > HD_TOK_N) return -1;
        if (id == HD_TOK_N) other = 1;   /* N or an IUPAC code */
        if (n < cap) out[n] = id;
        n++;
    }
    if (!n) return -1;
    return other ? -2 : (long)n;
}

int hd_vs_stretches_build(hd_vs_stretches *r, const char *seq, size_t n)
{
    r->n = 0;
    for (size_t i = 0; i < n;) {
        char c = seq[i];
        if (c == 'A' || c == 'C' || c == 'G' || c == 'T') { i++; continue; }
        size_t b = i;
        int only_n = 1;
        for (; i < n && !strchr("ACGT", seq[i]); i++) only_n &= seq[i] == 'N';
        if (r->n == r->m) {
            size_t m = r->m ? 2 * r->m : 64;
            hd_vs_stretch *v = realloc(r->v, m * sizeof *v);
            if (!v) { hd_set_oom("the non-ACGT stretches of a contig"); return -1; }
            r->v = v, r->m = m;
        }
        r->v[r->n++] = (hd_vs_stretch){b, i, only_n};
    }
    return 0;
}

void hd_vs_stretches_free(hd_vs_stretches *r)
{
    free(r->v);
    memset(r, 0, sizeof *r);
}

int hd_vs_stretches_check(const hd_vs_stretches *r, size_t beg, size_t end)
{
    size_t lo = 0, hi = r->n;   /* the first run ending after beg */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->v[mid].end <= beg) lo = mid + 1;
        else hi = mid;
    }
    int k = HD_VS_SPAN_ACGT;
    for (size_t i = lo; i < r->n && r->v[i].beg < end; i++) {
        if (!r->v[i].only_n) return HD_VS_SPAN_OTHER;
        k = HD_VS_SPAN_N;
    }
    return k;
}

int hd_vs_model_has_n(const hd_model *m)
{
    return m && hd_model_base_token(m, HD_TOK_N) < m->vocab_size;
}

int hd_vs_check_ref(const char *seq, size_t len, int64_t pos, const char *refal)
{
    size_t rl = strlen(refal);
    if (!rl) return -2;
    if (pos < 0 || (uint64_t)pos >= len || rl > len - (size_t)pos) return -1;
    for (size_t i = 0; i < rl; i++) {
        char a = refal[i];
        if (a >= 'a' && a <= 'z') a -= 32;
        if (a != seq[(size_t)pos + i]) return 0;
    }
    return 1;
}

void hd_vs_seq_ids(const char *seq, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        int id = hd_base_id((unsigned char)seq[i]);
        out[i] = (uint8_t)(id >= HD_TOK_A && id <= HD_TOK_N ? id : HD_TOK_N);
    }
}

/* ================================================================ 2. job runner */

void hd_vs_job_free(hd_vs_job *j)
{
    free(j->ids);
    free(j->q);
    free(j->pool);
    memset(j, 0, sizeof *j);
}

struct hd_vs_engine {
    hd_model *m;
    hd_workers *wk;       /* windows run side by side, one per worker (workers.h) */
    size_t forwards;
    float **logits, **hidden;   /* per worker: the outputs of its window, grown on demand */
    size_t *caplog, *caphid;    /* per worker: the positions they hold */
};

hd_vs_engine *hd_vs_engine_new(hd_model *m, hd_backend *be, int nworkers)
{
    hd_vs_engine *e = calloc(1, sizeof *e);
    if (!e) { hd_set_error(HD_EMODEL, "out of memory"); return NULL; }
    e->m = m;
    if (!(e->wk = hd_workers_new(m, be, nworkers > 1 ? nworkers : 1))) { free(e); return NULL; }
    size_t nw = (size_t)hd_workers_count(e->wk);
    e->logits = calloc(nw, sizeof *e->logits);
    e->hidden = calloc(nw, sizeof *e->hidden);
    e->caplog = calloc(nw, sizeof *e->caplog);
    e->caphid = calloc(nw, sizeof *e->caphid);
    if (!e->logits || !e->hidden || !e->caplog || !e->caphid) { hd_vs_engine_free(e); hd_set_error(HD_EMODEL, "out of memory"); return NULL; }
    return e;
}

void hd_vs_engine_free(hd_vs_engine *e)
{
    if (!e) return;
    int nw = e->wk ? hd_workers_count(e->wk) : 0;
    for (int i = 0; i < nw && e->logits && e->hidden; i++) {
        hd_free(e->logits[i]);
        hd_free(e->hidden[i]);
    }
    free(e->logits);
    free(e->hidden);
    free(e->caplog);
    free(e->caphid);
    hd_workers_free(e->wk);
    free(e);
}

int hd_vs_engine_workers(const hd_vs_engine *e) { return hd_workers_count(e->wk); }
size_t hd_vs_engine_forwards(const hd_vs_engine *e) { return e->forwards; }

static int run_one(hd_model *m, hd_backend *be, hd_vs_job *j, float *logits, float *hidden)
{
    int want_logits = j->want_ll || j->nq;
    hd_fwd f = {.hidden = j->want_pool ? hidden : NULL, .logits = want_logits ? logits : NULL, .layer = -1};
    if (!j->want_ll && !j->want_pool && j->nq) {   /* only the queries' rows: a prefix chunk's later part */
        f.from = j->q[0].row;
        for (size_t i = 1; i < j->nq; i++)
            if (j->q[i].row < f.from) f.from = j->q[i].row;
    }
    /* the windows hold the ids of tokenizer.h; a model with another vocabulary (Evo 2's bytes) gets its own */
    const int32_t *ids = j->ids;
    int32_t *mapped = NULL;
    if (m->tokenizer != HD_TOKENIZER_CHAR) {
        if (!(mapped = malloc((j->L ? j->L : 1) * sizeof *mapped))) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
        for (size_t i = 0; i < j->L; i++) mapped[i] = hd_model_base_token(m, j->ids[i]);
        ids = mapped;
    }
    int rc = hd_model_forward(m, be, ids, j->L, &f);
    int nl = m->n_logits;
    if (!rc && j->want_ll) j->ll = hd_vs_loglik(logits, j->L, nl, ids);
    free(mapped);
    if (rc) return -1;
    size_t last = SIZE_MAX;   /* the row whose normaliser mx, ls holds (a base's SNVs share one) */
    double mx = 0, ls = 0;
    for (size_t i = 0; i < j->nq; i++) {
        const float *row = logits + j->q[i].row * (size_t)nl;
        if (j->q[i].row != last) row_lse(row, nl, &mx, &ls), last = j->q[i].row;
        /* hd_vs_logprob(row, nl, a) − hd_vs_logprob(row, nl, b), the same operations */
        j->q[i].out = ((double)row[hd_model_base_token(m, j->q[i].a)] - mx - ls) -
                      ((double)row[hd_model_base_token(m, j->q[i].b)] - mx - ls);
    }
    if (j->want_pool) {
        if (!j->pool && !(j->pool = malloc((size_t)m->d_hidden * sizeof(float)))) {
            hd_set_error(HD_EMODEL, "out of memory");
            return -1;
        }
        hd_vs_meanpool(hidden, j->L, (size_t)m->d_hidden, j->pool);
    }
    return 0;
}

/* buf (holding *cap positions of w floats) grown to L positions; 0 or -1 */
static int grow(float **buf, size_t *cap, size_t L, size_t w, const char *what)
{
    size_t bytes;
    if (L <= *cap) return 0;
    hd_free(*buf);
    *buf = NULL;
    *cap = 0;
    if (hd_mul(L, w * sizeof(float), &bytes)) { hd_set_oom(what); return -1; }
    if (!(*buf = hd_alloc(bytes, what))) return -1;
    *cap = L;
    return 0;
}

/* one window on worker `slot`, whose output buffers grow to the window's length */
static int run_job(void *ud, size_t i, hd_backend *be, int slot)
{
    hd_vs_engine *e = ((void **)ud)[0];
    hd_vs_job *j = (hd_vs_job *)((void **)ud)[1] + i;
    hd_model *m = e->m;
    size_t L = j->L ? j->L : 1;
    if (grow(&e->logits[slot], &e->caplog[slot], L, (size_t)m->n_logits, "the logits of a window") ||
        (j->want_pool && grow(&e->hidden[slot], &e->caphid[slot], L, (size_t)m->d_hidden, "the hidden states of a window"))) {
        hd_set_error(HD_EMODEL, "window of %zu tokens: %s", j->L, hd_error());
        return -1;
    }
    if (run_one(m, be, j, e->logits[slot], e->hidden[slot])) {
        char *msg = hd_strdup(hd_error());
        int kind = hd_error_kind();
        hd_set_error(kind, "window of %zu tokens: %s", j->L, msg ? msg : "forward pass failed");
        free(msg);
        return -1;
    }
    return 0;
}

int hd_vs_run(hd_vs_engine *e, hd_vs_job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < jobs[i].nq; k++)
            if (jobs[i].q[k].row >= jobs[i].L) {
                hd_set_error(HD_EINPUT, "internal error: query row %zu outside a window of %zu", jobs[i].q[k].row,
                             jobs[i].L);
                return -1;
            }
    size_t *len = malloc((n ? n : 1) * sizeof *len);
    if (!len) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    for (size_t i = 0; i < n; i++) len[i] = jobs[i].L;
    void *ud[2] = {e, jobs};
    int rc = hd_workers_run(e->wk, n, len, run_job, ud, NULL);
    free(len);
    if (rc) return -1;
    e->forwards += n;
    return 0;
}

/* ================================================================ 3. batch planner */

const char *hd_vs_mode_name(hd_vs_mode m)
{
    static const char *names[] = {"window", "prefix", "masked", "unmasked"};
    return m <= HD_VS_UNMASKED ? names[m] : "?";
}

int hd_vs_mode_parse(const char *s, hd_vs_mode *out)
{
    for (int i = 0; i <= HD_VS_UNMASKED; i++)
        if (!strcmp(s, hd_vs_mode_name((hd_vs_mode)i))) { *out = (hd_vs_mode)i; return 0; }
    return -1;
}

/* How an allele's LLR is computed. */
enum { LLR_NONE = 0, LLR_WINDOW, LLR_QUERY };

typedef struct {
    int status;
    int llr_kind;
    int nstrand;            /* 1, or 2 with rc */
    long ref_job[2], alt_job[2];      /* LLR_WINDOW */
    long q_job[2];                    /* LLR_QUERY: job and its query range */
    size_t q0[2], nq[2];
    long pref_job[2], palt_job[2];    /* EDIST (-1: not computed) */
} allele;

typedef struct {
    int chunk;              /* 1: a reference chunk (compared by key), 0: compared by content */
    int contig, strand;
    size_t k, origin;       /* chunk k of the grid from origin */
} jkey;

/* Base i of contig c (which must be held). */
#define CID(c, i) ((c)->ids[(i) - (c)->off])

struct hd_vs_batch {
    hd_vs_engine *e;
    hd_vs_opts o;
    hd_vs_job *jobs;
    jkey *keys;
    size_t nj, capj;
    long *ht;              /* job index + 1, open addressing */
    size_t htcap;
    allele *al;
    size_t na, capa;
    size_t tokens;
    int32_t *w1, *w2;      /* scratch windows (W + 1 each) */
};

hd_vs_batch *hd_vs_batch_new(hd_vs_engine *e, const hd_vs_opts *o)
{
    hd_vs_batch *b = calloc(1, sizeof *b);
    if (!b) { hd_set_error(HD_EMODEL, "out of memory"); return NULL; }
    b->e = e, b->o = *o;
    if (b->o.window < 1) b->o.window = 1;
    if (b->o.chunk < 1) b->o.chunk = b->o.window;
    if (b->o.overlap >= b->o.chunk) b->o.overlap = b->o.chunk - 1;
    b->w1 = malloc((b->o.window + 1) * sizeof(int32_t));
    b->w2 = malloc((b->o.window + 1) * sizeof(int32_t));
    b->htcap = 1024;
    b->ht = calloc(b->htcap, sizeof *b->ht);
    if (!b->w1 || !b->w2 || !b->ht) { hd_vs_batch_free(b); hd_set_error(HD_EMODEL, "out of memory"); return NULL; }
    return b;
}

void hd_vs_batch_clear(hd_vs_batch *b)
{
    for (size_t i = 0; i < b->nj; i++) hd_vs_job_free(&b->jobs[i]);
    b->nj = 0;
    b->na = 0;
    b->tokens = 0;
    memset(b->ht, 0, b->htcap * sizeof *b->ht);
}

void hd_vs_batch_free(hd_vs_batch *b)
{
    if (!b) return;
    if (b->ht) hd_vs_batch_clear(b);
    free(b->jobs);
    free(b->keys);
    free(b->ht);
    free(b->al);
    free(b->w1);
    free(b->w2);
    free(b);
}

size_t hd_vs_batch_size(const hd_vs_batch *b) { return b->na; }
size_t hd_vs_batch_tokens(const hd_vs_batch *b) { return b->tokens; }

static uint64_t hash_ids(const int32_t *ids, size_t L)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)L;
    for (size_t i = 0; i < L; i++) {
        h ^= (uint64_t)(uint32_t)ids[i];
        h *= 1099511628211ULL;
    }
    return h | 1;   /* never 0 */
}

static uint64_t hash_key(const jkey *k)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    uint64_t v[4] = {(uint64_t)(uint32_t)k->contig, (uint64_t)k->k, (uint64_t)k->strand, (uint64_t)k->origin};
    for (int i = 0; i < 4; i++) {
        h ^= v[i] + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
        h *= 0xff51afd7ed558ccdULL;
    }
    return (h << 1) | 1;
}

static int ht_grow(hd_vs_batch *b)
{
    size_t cap = b->htcap * 2;
    long *ht = calloc(cap, sizeof *ht);
    if (!ht) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    for (size_t i = 0; i < b->htcap; i++) {
        if (!b->ht[i]) continue;
        size_t s = b->jobs[b->ht[i] - 1].hash & (cap - 1);
        while (ht[s]) s = (s + 1) & (cap - 1);
        ht[s] = b->ht[i];
    }
    free(b->ht);
    b->ht = ht;
    b->htcap = cap;
    return 0;
}

/* The job for this window (content ids[0..L), or the chunk `key` when key != NULL and ids == NULL:
 * then fill() builds its ids).  Flags are OR'ed into an existing job. */


static long get_job(hd_vs_batch *b, const int32_t *ids, size_t L, const jkey *key, const hd_vs_contig *c,
                    size_t cstart, int want_ll, int want_pool)
{
    uint64_t h = key ? hash_key(key) : hash_ids(ids, L);
    size_t s = h & (b->htcap - 1);
    while (b->ht[s]) {
        long j = b->ht[s] - 1;
        hd_vs_job *J = &b->jobs[j];
        const jkey *K = &b->keys[j];
        int same = J->hash == h && J->L == L &&
                   (key ? K->chunk && K->contig == key->contig && K->k == key->k && K->strand == key->strand &&
                               K->origin == key->origin
                        : !K->chunk && !memcmp(J->ids, ids, L * sizeof *ids));
        if (same) {
            J->want_ll |= want_ll;
            J->want_pool |= want_pool;
            return j;
        }
        s = (s + 1) & (b->htcap - 1);
    }
    if (b->nj == b->capj) {
        size_t cap = b->capj ? 2 * b->capj : 256;
        hd_vs_job *nj = realloc(b->jobs, cap * sizeof *nj);
        if (!nj) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
        b->jobs = nj;
        jkey *nk = realloc(b->keys, cap * sizeof *nk);
        if (!nk) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
        b->keys = nk;
        b->capj = cap;
    }
    hd_vs_job *J = &b->jobs[b->nj];
    memset(J, 0, sizeof *J);
    J->ids = malloc((L ? L : 1) * sizeof *J->ids);
    if (!J->ids) { hd_set_error(HD_EMODEL, "out of memory: a window of %zu tokens", L); return -1; }
    if (key) {
        for (size_t i = 0; i < L; i++) J->ids[i] = CID(c, cstart + i);
        if (key->strand) hd_ids_revcomp(J->ids, L);
        b->keys[b->nj] = *key;
    } else {
        memcpy(J->ids, ids, L * sizeof *ids);
        b->keys[b->nj] = (jkey){0, 0, 0, 0, 0};
    }
    J->L = L, J->hash = h, J->want_ll = want_ll, J->want_pool = want_pool;
    b->tokens += L;
    long j = (long)b->nj++;
    b->ht[s] = j + 1;
    if (2 * b->nj > b->htcap && ht_grow(b)) return -1;
    return j;
}

static long add_query(hd_vs_batch *b, long j, size_t row, int a, int bb)
{
    hd_vs_job *J = &b->jobs[j];
    if (J->nq == J->cap_q) {
        size_t cap = J->cap_q ? 2 * J->cap_q : 4;
        hd_vs_query *q = realloc(J->q, cap * sizeof *q);
        if (!q) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
        J->q = q, J->cap_q = cap;
    }
    J->q[J->nq] = (hd_vs_query){row, a, bb, 0};
    return (long)J->nq++;
}

/* REF and ALT windows (hd_vs_window) of strand st (1: reverse complemented) into b->w1 / b->w2; both are
 * w->L long. */
static void windows(hd_vs_batch *b, const hd_vs_contig *c, size_t p, size_t reflen, const int32_t *alt,
                    size_t altlen, const hd_vs_win *w, int st)
{
    const uint8_t *ref = &CID(c, w->s);   /* the window's bases, from s */
    size_t nr = hd_vs_ref_window(ref, c->len - w->s, 0, w->L, b->w1);
    size_t na = hd_vs_alt_window(ref, c->len - w->s, 0, p - w->s, reflen, alt, altlen, w->L, b->w2);
    if (st) {
        hd_ids_revcomp(b->w1, nr);
        hd_ids_revcomp(b->w2, na);
    }
}

/* The reference bases [lo, hi) the REF and ALT windows read (the ALT window reads past s + Lw after a
 * deletion). */
static void window_span(const hd_vs_win *w, size_t p, size_t reflen, size_t altlen, size_t *lo, size_t *hi)
{
    size_t e = w->s + w->L, head = p - w->s + altlen;   /* ALT window: ref[s, p) + ALT, then ref from p + reflen */
    if (head < w->L && p + reflen + (w->L - head) > e) e = p + reflen + (w->L - head);
    *lo = w->s, *hi = e;
}

/* ---- the chunk grid (varscore.h) */

void hd_vs_grid_init(hd_vs_grid *g, size_t origin, size_t len, size_t chunk, size_t overlap)
{
    if (origin > len) origin = len;
    size_t L = len - origin;
    g->origin = origin, g->len = len;
    g->C = chunk < L ? chunk : L;
    if (g->C < 1) g->C = 1;
    size_t O = overlap < g->C ? overlap : g->C - 1;
    g->stride = g->C - O;
    g->K = L <= g->C ? 1 : (L - g->C + g->stride - 1) / g->stride + 1;
}

void hd_vs_grid_chunk(const hd_vs_grid *g, size_t k, size_t *start, size_t *n)
{
    size_t cs = g->origin + k * g->stride;
    *start = cs;
    *n = cs < g->len ? (g->len - cs < g->C ? g->len - cs : g->C) : 0;
}

size_t hd_vs_grid_first(const hd_vs_grid *g, size_t p)
{
    size_t q = p > g->origin ? p - g->origin : 0;
    size_t k = q < g->C ? 0 : (q - g->C + 1 + g->stride - 1) / g->stride;
    size_t last = hd_vs_grid_last(g, p);
    return k > last ? last : k;
}

size_t hd_vs_grid_last(const hd_vs_grid *g, size_t p)
{
    size_t q = p > g->origin ? p - g->origin : 0, k = q / g->stride;
    return k > g->K - 1 ? g->K - 1 : k;
}

/* The grid of contig c under the batch's options. */
static void grid_of(const hd_vs_batch *b, const hd_vs_contig *c, hd_vs_grid *g)
{
    hd_vs_grid_init(g, c->origin, c->len, b->o.chunk, b->o.overlap);
}

void hd_vs_span(const hd_vs_batch *b, const hd_vs_contig *c, size_t a, size_t e, size_t *lo, size_t *hi)
{
    size_t l = SIZE_MAX, h = 0;
    hd_vs_mode mode = b->o.mode;
    int chunks = mode == HD_VS_PREFIX || mode == HD_VS_UNMASKED;
    int windows = mode == HD_VS_WINDOW || mode == HD_VS_MASKED || b->o.edist || (mode == HD_VS_PREFIX && !b->o.prefix_only);
    if (chunks && e > c->origin) {
        hd_vs_grid g;
        grid_of(b, c, &g);
        size_t s0, n0, s1, n1;
        hd_vs_grid_chunk(&g, hd_vs_grid_first(&g, a > c->origin ? a : c->origin), &s0, &n0);
        hd_vs_grid_chunk(&g, hd_vs_grid_last(&g, e - 1), &s1, &n1);
        l = s0, h = s1 + n1;
    }
    if (windows) {
        size_t W = b->o.window, s0 = hd_vs_window_start(a, W, c->len), s1 = hd_vs_window_start(e - 1, W, c->len);
        size_t e1 = s1 + W < c->len ? s1 + W : c->len;
        if (s0 < l) l = s0;
        if (e1 > h) h = e1;
    }
    if (a < l) l = a;
    if (e > h) h = e;
    *lo = l, *hi = h;
}

/* The chunk of each strand that scores the variant in prefix/unmasked mode (kk[st]); 0 when there is none
 * (then prefix mode falls back to window mode, or has no LLR with prefix_only; unmasked mode has no LLR);
 * *no_prefix: an SNV without a prefix. */
static int choose_chunks(const hd_vs_batch *b, const hd_vs_contig *c, const hd_vs_grid *g, size_t p, size_t reflen,
                         int nstrand, size_t kk[2], int *no_prefix)
{
    hd_vs_mode mode = b->o.mode;
    *no_prefix = 0;
    if (p < c->origin) {
        *no_prefix = mode == HD_VS_PREFIX;
        return 0;
    }
    for (int st = 0; st < nstrand; st++) {
        size_t k, klo = hd_vs_grid_first(g, p), khi = hd_vs_grid_last(g, p), cs, len;
        if (mode == HD_VS_PREFIX) k = st ? khi : klo;
        else {   /* of the chunks holding the whole variant, the one that puts it furthest from both ends */
            size_t best = 0;
            int found = 0;
            k = klo;
            for (size_t q = klo; q <= khi; q++) {
                hd_vs_grid_chunk(g, q, &cs, &len);
                if (p + reflen > cs + len) continue;
                size_t l = p - cs, r = cs + len - (p + reflen), mn = l < r ? l : r;
                if (!found || mn > best) best = mn, k = q, found = 1;
            }
        }
        hd_vs_grid_chunk(g, k, &cs, &len);
        if (p < cs || p + reflen > cs + len) return 0;
        if (mode == HD_VS_PREFIX) {
            size_t rel = p - cs, j = st ? len - 1 - rel : rel;
            if (j < 1) { *no_prefix = 1; return 0; }
        }
        kk[st] = k;
    }
    return 1;
}

/* Is the ALT (alt[0..altlen)) the REF allele at p? */
static int same_allele(const hd_vs_contig *c, size_t p, size_t reflen, const int32_t *alt, size_t altlen)
{
    if (reflen != altlen) return 0;
    for (size_t i = 0; i < reflen; i++)
        if (CID(c, p + i) != alt[i]) return 0;
    return 1;
}

/* Do the bases [lo, hi) of c hold only what a score may read (A C G T, and N with an N token)? */
static int span_ok(const hd_vs_batch *b, const hd_vs_contig *c, size_t lo, size_t hi)
{
    if (!c->stretches) return 1;
    int k = hd_vs_stretches_check(c->stretches, lo, hi);
    return k == HD_VS_SPAN_ACGT || (k == HD_VS_SPAN_N && b->o.n_token);
}

long hd_vs_batch_add(hd_vs_batch *b, const hd_vs_contig *c, size_t p, size_t reflen, const int32_t *alt,
                     size_t altlen)
{
    if (p + reflen > c->len || reflen == 0 || altlen == 0) {
        hd_set_error(HD_EINPUT, "%s:%zu: allele outside the contig (length %zu)", c->name, p + 1, c->len);
        return -1;
    }
    if (c->n) {   /* a part of the contig: it must hold what this allele reads */
        size_t lo, hi;
        hd_vs_span(b, c, p, p + reflen, &lo, &hi);
        if (lo < c->off || hi > c->off + c->n || reflen > altlen) {
            hd_set_error(HD_EINPUT, "internal error: %s:%zu is scored from bases %zu-%zu, outside the %zu-%zu held",
                         c->name, p + 1, lo + 1, hi, c->off + 1, c->off + c->n);
            return -1;
        }
    }
    if (b->na == b->capa) {
        size_t cap = b->capa ? 2 * b->capa : 256;
        allele *na = realloc(b->al, cap * sizeof *na);
        if (!na) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
        b->al = na, b->capa = cap;
    }
    allele *A = &b->al[b->na];
    memset(A, 0, sizeof *A);
    A->nstrand = b->o.rc ? 2 : 1;
    for (int st = 0; st < 2; st++) A->ref_job[st] = A->alt_job[st] = A->q_job[st] = A->pref_job[st] = A->palt_job[st] = -1;
    int snv = reflen == 1 && altlen == 1, subst = reflen == altlen;
    hd_vs_mode mode = b->o.mode;
    hd_vs_win w = hd_vs_window(p, reflen, altlen, b->o.window, c->len);

    /* 1. what is scored how: reference chunks (prefix, unmasked), windows, or no LLR */
    size_t kk[2] = {0, 0};
    int chunks = 0, no_prefix = 0;
    hd_vs_grid g;
    grid_of(b, c, &g);
    if (mode == HD_VS_PREFIX || mode == HD_VS_UNMASKED) {
        chunks = (mode == HD_VS_PREFIX ? snv : subst) && choose_chunks(b, c, &g, p, reflen, A->nstrand, kk, &no_prefix);
        if (!chunks && mode == HD_VS_PREFIX && no_prefix && b->o.prefix_only) {
            A->llr_kind = LLR_NONE;
            A->status = HD_VS_NO_PREFIX;
        } else if (!chunks && mode == HD_VS_PREFIX) {
            mode = HD_VS_WINDOW;   /* indels, MNPs, variants without a prefix: window mode */
        }
    }
    if ((mode == HD_VS_UNMASKED && !chunks) || (mode == HD_VS_MASKED && !subst)) {
        A->llr_kind = LLR_NONE;
        A->status = HD_VS_NO_LLR_INDEL;
    }
    int edist_windows = b->o.edist && mode != HD_VS_WINDOW;   /* EDIST on windows of their own */

    /* 2. the bases the scores read hold only A C G T (and N with an N token) */
    int ok = 1;
    for (int st = 0; chunks && st < A->nstrand; st++) {
        size_t cs, len;
        hd_vs_grid_chunk(&g, kk[st], &cs, &len);
        size_t lo = cs, hi = cs + len;   /* unmasked: the chunk; prefix: the prefix of the strand and the variant */
        if (mode == HD_VS_PREFIX) {
            if (st) lo = p;
            else hi = p + 1;
        }
        ok &= span_ok(b, c, lo, hi);
    }
    if (mode == HD_VS_WINDOW || edist_windows) {
        size_t lo, hi;
        window_span(&w, p, reflen, altlen, &lo, &hi);
        ok &= span_ok(b, c, lo, hi);
    } else if (mode == HD_VS_MASKED && subst) {
        ok &= span_ok(b, c, w.s, w.s + w.L);
    }
    if (!ok) {
        A->llr_kind = LLR_NONE;
        A->status = HD_VS_NONACGT_WINDOW;
        return (long)b->na++;
    }
    /* An ALT window equal to the REF window, for an ALT that is not the REF allele, would score 0 and EDIST 0
     * whatever the variant: the windows do not see it (docs: hyenadna-score-variants(1), UNSCORED RECORDS). */
    if ((mode == HD_VS_WINDOW || edist_windows) && !same_allele(c, p, reflen, alt, altlen)) {
        windows(b, c, p, reflen, alt, altlen, &w, 0);
        if (!memcmp(b->w1, b->w2, w.L * sizeof *b->w1)) {
            A->llr_kind = LLR_NONE;
            A->status = HD_VS_SAME_WINDOW;
            return (long)b->na++;
        }
    }

    /* 3. the forward passes */
    if (chunks) {
        A->llr_kind = LLR_QUERY;
        for (int st = 0; st < A->nstrand; st++) {
            size_t cs, len;
            hd_vs_grid_chunk(&g, kk[st], &cs, &len);
            jkey key = {1, c->id, st, kk[st], c->origin};
            long j = get_job(b, NULL, len, &key, c, cs, 0, 0);
            if (j < 0) return -1;
            A->q_job[st] = j;
            A->q0[st] = b->jobs[j].nq;
            for (size_t i = 0; i < reflen; i++) {
                int r = CID(c, p + i), a = alt[i];
                if (subst && reflen > 1 && r == a) continue;
                size_t rel = p + i - cs, row;
                if (mode == HD_VS_PREFIX) row = st ? len - 1 - rel - 1 : rel - 1;
                else row = st ? len - 1 - rel : rel;
                if (st) r = hd_id_complement(r), a = hd_id_complement(a);
                if (add_query(b, j, row, a, r) < 0) return -1;
            }
            A->nq[st] = b->jobs[j].nq - A->q0[st];
        }
    } else if (mode == HD_VS_WINDOW) {
        A->llr_kind = LLR_WINDOW;
        for (int st = 0; st < A->nstrand; st++) {
            windows(b, c, p, reflen, alt, altlen, &w, st);
            if ((A->ref_job[st] = get_job(b, b->w1, w.L, NULL, c, 0, 1, b->o.edist)) < 0) return -1;
            if ((A->alt_job[st] = get_job(b, b->w2, w.L, NULL, c, 0, 1, b->o.edist)) < 0) return -1;
            A->pref_job[st] = b->o.edist ? A->ref_job[st] : -1;
            A->palt_job[st] = b->o.edist ? A->alt_job[st] : -1;
        }
    } else if (mode == HD_VS_MASKED && subst) {
        A->llr_kind = LLR_QUERY;
        for (int st = 0; st < A->nstrand; st++) {
            size_t s = w.s, nr = hd_vs_ref_window(&CID(c, s), c->len - s, 0, w.L, b->w1);
            /* every differing base inside the window is masked, and queried below */
            for (size_t i = 0; i < reflen && p + i - s < nr; i++)
                if (reflen == 1 || CID(c, p + i) != alt[i]) b->w1[p + i - s] = HD_TOK_MASK;
            if (st) hd_ids_revcomp(b->w1, nr);
            long j = get_job(b, b->w1, nr, NULL, c, 0, 0, 0);
            if (j < 0) return -1;
            A->q_job[st] = j;
            A->q0[st] = b->jobs[j].nq;
            for (size_t i = 0; i < reflen && p + i - s < nr; i++) {
                if (reflen > 1 && CID(c, p + i) == alt[i]) continue;
                size_t rel = p + i - s;
                int r = CID(c, p + i), a = alt[i];
                if (st) r = hd_id_complement(r), a = hd_id_complement(a), rel = nr - 1 - rel;
                if (add_query(b, j, rel, a, r) < 0) return -1;
            }
            A->nq[st] = b->jobs[j].nq - A->q0[st];
        }
    }
    if (edist_windows) {
        for (int st = 0; st < A->nstrand; st++) {
            windows(b, c, p, reflen, alt, altlen, &w, st);
            if ((A->pref_job[st] = get_job(b, b->w1, w.L, NULL, c, 0, 0, 1)) < 0) return -1;
            if ((A->palt_job[st] = get_job(b, b->w2, w.L, NULL, c, 0, 0, 1)) < 0) return -1;
        }
    }
    return (long)b->na++;
}

int hd_vs_batch_run(hd_vs_batch *b)
{
    return hd_vs_run(b->e, b->jobs, b->nj);
}

int hd_vs_batch_result(const hd_vs_batch *b, long h, double *llr, double *edist)
{
    const allele *A = &b->al[h];
    double l = 0, d = 0;
    for (int st = 0; st < A->nstrand; st++) {
        if (A->llr_kind == LLR_WINDOW) {
            const hd_vs_job *ja = &b->jobs[A->alt_job[st]], *jr = &b->jobs[A->ref_job[st]];
            if (b->o.llr_mean)   /* ll sums over positions 1..L−1 */
                l += ja->ll / (double)(ja->L > 1 ? ja->L - 1 : 1) - jr->ll / (double)(jr->L > 1 ? jr->L - 1 : 1);
            else
                l += ja->ll - jr->ll;
        } else if (A->llr_kind == LLR_QUERY) {
            const hd_vs_job *J = &b->jobs[A->q_job[st]];
            double q = 0;
            for (size_t i = 0; i < A->nq[st]; i++) q += J->q[A->q0[st] + i].out;
            l += b->o.llr_mean && A->nq[st] ? q / (double)A->nq[st] : q;
        }
        if (A->pref_job[st] >= 0)
            d += hd_vs_cosdist(b->jobs[A->pref_job[st]].pool, b->jobs[A->palt_job[st]].pool,
                               (size_t)b->e->m->d_hidden);
    }
    if (llr) *llr = A->llr_kind == LLR_NONE ? NAN : l / A->nstrand;
    if (edist) *edist = A->pref_job[0] >= 0 ? d / A->nstrand : NAN;
    return A->status;
}
