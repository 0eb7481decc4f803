/* classify_run.c -- the classifier of `hyenadna classify`: features (pooled embeddings or k-mer
 * frequencies), building from training records (the prompts of the context method, or a fitted head),
 * prediction, and the K-fold cross-validation loop (see classify.h). */
#include "classify.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "tokenizer.h"
#include "util.h"
#include "workers.h"

int hd_clf_dim(const hd_clf *c)
{
    return c->method == HD_CLF_KMER ? 1 << (2 * c->kmer) : hd_embed_width(c->m, c->rc);
}

/* prefix the last error with "FILE: record NAME: " */
static void blame(const char *file, const char *name)
{
    char *e = hd_sprintf("%s: record '%s': %s", file, name, hd_error());
    if (e) hd_set_error(hd_error_kind(), "%s", e);
    free(e);
}

/* prefix the last error with "FILE: " */
static void blame_file(const char *file)
{
    char *e = hd_sprintf("%s: %s", file, hd_error());
    if (e) hd_set_error(hd_error_kind(), "%s", e);
    free(e);
}

/* the features of one sequence, on backend be; query: a query (cut into windows by --window), else a
 * training example (never cut) */
static int features_on(hd_clf *c, hd_backend *be, const char *seq, size_t len, const char *name, const char *file,
                       int query, float *out)
{
    if (c->method == HD_CLF_KMER) {
        hd_kmer_features(seq, len, c->kmer, c->rc, out);
        return 0;
    }
    if (c->m->max_len > 0 && len > (size_t)c->m->max_len) {
        if (query)
            hd_set_error(HD_EINPUT, "%s: record '%s': %zu bases exceed the model's maximum length of %ld (use --window)",
                         file, name, len, c->m->max_len);
        else
            hd_set_error(HD_EINPUT, "%s: record '%s': %zu bases exceed the model's maximum length of %ld; training "
                         "examples are not cut into windows (--window cuts the queries): cut it into examples of at "
                         "most %ld bases", file, name, len, c->m->max_len, c->m->max_len);
        return -1;
    }
    int32_t *ids = malloc((len ? len : 1) * sizeof *ids);
    if (!ids) { hd_set_oom(NULL); return -1; }
    int r = -1;
    if (hd_model_tokenize(c->m, seq, len, HD_SPECIAL_NONE, ids, name) < 0) blame_file(file);
    else if (hd_embed_ids(c->m, be, ids, len, c->pool, c->rc, out)) blame(file, name);
    else r = 0;
    free(ids);
    return r;
}

int hd_clf_features(hd_clf *c, const char *seq, size_t len, const char *name, const char *file, float *out)
{
    return features_on(c, c->be, seq, len, name, file, 1, out);
}

/* the class scores and probabilities of one sequence, on backend be; the predicted class or -1 */
static int predict_on(hd_clf *c, hd_backend *be, const char *seq, size_t len, const char *name, const char *file,
                      const float *cached, double *scores, double *probs)
{
    int C = c->C, best = 0;
    if (c->method == HD_CLF_CONTEXT) {
        int32_t *ids = malloc((len ? len : 1) * sizeof *ids);
        if (!ids) { hd_set_oom(NULL); return -1; }
        if (hd_model_tokenize(c->m, seq, len, HD_SPECIAL_NONE, ids, name) < 0) {
            blame_file(file);
            free(ids);
            return -1;
        }
        int r = hd_ctx_scores(c->m, be, (const int32_t *const *)c->prompts, c->plen, C, ids, len, scores, NULL);
        free(ids);
        if (r) {
            blame(file, name);
            return -1;
        }
        for (int k = 1; k < C; k++)
            if (scores[k] > scores[best]) best = k;
        hd_softmax(scores, C, probs);
        return best;
    }
    if (c->method == HD_CLF_KMER && !hd_kmer_countable(seq, len, c->kmer)) {
        /* no k-mer: all-zero frequencies would give the intercept's class as if it were a call */
        for (int k = 0; k < C; k++) scores[k] = probs[k] = NAN;
        return HD_CLF_UNSCORED;
    }
    float *x = NULL;
    if (!cached) {
        x = malloc((size_t)c->dim * sizeof *x);
        if (!x) { hd_set_oom(NULL); return -1; }
        if (features_on(c, be, seq, len, name, file, 1, x)) { free(x); return -1; }
        cached = x;
    }
    best = hd_head_predict(c->head, cached, scores);
    free(x);
    if (best < 0) return -1;
    if (c->method == HD_CLF_LOGISTIC || c->method == HD_CLF_KMER) hd_softmax(scores, C, probs);
    else
        for (int k = 0; k < C; k++) probs[k] = NAN;
    return best;
}

/* ------------------------------------------------------------------ batches: one sequence per worker */

typedef struct {
    hd_clf *c;
    const hd_clf_item *it;
    const char *file;
    float *const *out;        /* features */
    int *best;                /* predictions */
    double *scores, *probs;
} batch;

static int feature_job(void *ud, size_t i, hd_backend *be, int slot)
{
    batch *b = ud;
    const hd_clf_item *x = &b->it[i];
    (void)slot;
    return features_on(b->c, be, x->seq, x->len, x->name, b->file, 0, b->out[i]);
}

static int predict_job(void *ud, size_t i, hd_backend *be, int slot)
{
    batch *b = ud;
    const hd_clf_item *x = &b->it[i];
    size_t C = (size_t)b->c->C;
    (void)slot;
    b->best[i] = predict_on(b->c, be, x->seq, x->len, x->name, b->file, x->cached, b->scores + i * C, b->probs + i * C);
    return b->best[i] == -1 ? -1 : 0;
}

/* fn over the n items: side by side on the workers (the tokens of each forward decide which run on all
 * threads), or in turn on c->be */
static int run_batch(hd_clf *c, batch *b, size_t n, int (*fn)(void *, size_t, hd_backend *, int), size_t *failed)
{
    if (!c->wk || c->method == HD_CLF_KMER || n < 2) {
        for (size_t i = 0; i < n; i++)
            if (fn(b, i, c->be, 0)) {
                if (failed) *failed = i;
                return -1;
            }
        return 0;
    }
    size_t *len = malloc(n * sizeof *len), longest = 0;
    if (!len) { hd_set_oom(NULL); return -1; }
    if (fn == predict_job && c->method == HD_CLF_CONTEXT)
        for (int k = 0; k < c->C; k++) longest = c->plen[k] > longest ? c->plen[k] : longest;
    for (size_t i = 0; i < n; i++) {
        len[i] = b->it[i].len + longest;   /* context: the query with the longest prompt */
        if (c->m->max_len > 0 && len[i] > (size_t)c->m->max_len) len[i] = (size_t)c->m->max_len;
    }
    int r = hd_workers_run(c->wk, n, len, fn, b, failed);
    free(len);
    return r;
}

int hd_clf_features_batch(hd_clf *c, const hd_clf_item *it, size_t n, const char *file, float *const *out,
                          size_t *failed)
{
    batch b = {.c = c, .it = it, .file = file, .out = out};
    return run_batch(c, &b, n, feature_job, failed);
}

int hd_clf_predict_batch(hd_clf *c, const hd_clf_item *it, size_t n, const char *file, int *best, double *scores,
                         double *probs, size_t *failed)
{
    batch b = {.c = c, .it = it, .file = file, .best = best, .scores = scores, .probs = probs};
    return run_batch(c, &b, n, predict_job, failed);
}

void hd_clf_clear(hd_clf *c)
{
    if (c->prompts)
        for (int k = 0; k < c->C; k++) free(c->prompts[k]);
    free(c->prompts);
    free(c->plen);
    c->prompts = NULL;
    c->plen = NULL;
    hd_head_free(c->head);
    c->head = NULL;
}

/* context: one prompt per class, the class's chosen examples joined with [SEP] */
static int build_prompts(hd_clf *c, const hd_lset *tr, const size_t *pick, const size_t *counts, const char *file)
{
    c->prompts = calloc((size_t)c->C, sizeof *c->prompts);
    c->plen = calloc((size_t)c->C, sizeof *c->plen);
    if (!c->prompts || !c->plen) { hd_set_oom(NULL); return -1; }
    size_t off = 0;
    for (int k = 0; k < c->C; k++) {
        size_t tot = 0, K = counts[k];
        for (size_t j = 0; j < K; j++) tot += tr->v[pick[off + j]].len + 1;
        const int32_t **ex = malloc(K * sizeof *ex);
        size_t *len = malloc(K * sizeof *len);
        int32_t **toks = calloc(K, sizeof *toks);
        c->prompts[k] = malloc(tot * sizeof(int32_t));
        int bad = !ex || !len || !toks || !c->prompts[k];
        if (bad) hd_set_oom(NULL);
        for (size_t j = 0; j < K && !bad; j++) {
            const hd_lseq *r = &tr->v[pick[off + j]];
            toks[j] = malloc((r->len ? r->len : 1) * sizeof(int32_t));
            if (!toks[j]) {
                hd_set_oom(NULL);
                bad = 1;
            } else if (hd_model_tokenize(c->m, r->seq, r->len, HD_SPECIAL_NONE, toks[j], r->name) < 0) {
                blame_file(file);
                bad = 1;
            }
            ex[j] = toks[j];
            len[j] = r->len;
        }
        if (!bad) c->plen[k] = hd_ctx_join(ex, len, (int)K, 0, c->prompts[k]);
        /* byte-token models (Evo 2) separate the examples with their end-of-document id 0 */
        for (size_t t = 0; !bad && c->m->tokenizer == HD_TOKENIZER_BYTES && t < c->plen[k]; t++)
            if (c->prompts[k][t] == HD_TOK_SEP) c->prompts[k][t] = 0;
        for (size_t j = 0; j < K && toks; j++) free(toks[j]);
        free(toks); free(ex); free(len);
        if (bad) return -1;
        off += K;
        if (c->m->max_len > 0 && c->plen[k] >= (size_t)c->m->max_len)
            hd_log(HD_LOG_INFO, "class '%s': prompt of %zu tokens is trimmed to fit %ld tokens with each query",
                   c->classes[k], c->plen[k], c->m->max_len);
    }
    return 0;
}

/* the other methods: the features of the chosen examples, then the head fitted on them */
static int build_head(hd_clf *c, const hd_lset *tr, const size_t *pick, size_t np, float **feat, const char *file)
{
    int D = hd_clf_dim(c);
    size_t nD;
    if (hd_mul(np, (size_t)D, &nD)) { hd_set_error(HD_EINPUT, "training set too large"); return -1; }
    float *X = hd_alloc((nD ? nD : 1) * sizeof *X, "the training features");
    int *y = malloc((np ? np : 1) * sizeof *y);
    if (!X || !y) {
        hd_free(X);
        free(y);
        if (X) hd_set_oom(NULL);
        return -1;
    }
    /* the features of the examples not cached yet, side by side */
    hd_clf_item *it = malloc((np ? np : 1) * sizeof *it);
    float **out = malloc((np ? np : 1) * sizeof *out);
    size_t nn = 0;
    int bad = !it || !out;
    for (size_t j = 0; j < np && !bad; j++) {
        size_t i = pick[j];
        const hd_lseq *r = &tr->v[i];
        y[j] = r->label;
        if (feat && feat[i]) memcpy(X + j * D, feat[i], D * sizeof *X);
        else {
            it[nn] = (hd_clf_item){r->seq, r->len, r->name, NULL};
            out[nn++] = X + j * D;
        }
    }
    if (bad) hd_set_oom(NULL);
    else if (hd_clf_features_batch(c, it, nn, file, out, NULL)) bad = 1;
    for (size_t j = 0; j < np && !bad && feat; j++) {
        size_t i = pick[j];
        if (!feat[i] && (feat[i] = malloc(D * sizeof(float)))) memcpy(feat[i], X + j * D, D * sizeof(float));
    }
    free(it);
    free(out);
    if (bad) { hd_free(X); free(y); return -1; }
    if (c->method == HD_CLF_KNN && (size_t)c->fit.knn_k > np && !c->knn_k_warned) {
        /* every example then votes (with -k at its count); say so once, not once per --cv fold */
        hd_log(HD_LOG_WARN, "%s: option -k: %d neighbours, but the training set has %zu examples; all of them vote",
               file, c->fit.knn_k, np);
        c->knn_k_warned = 1;
    }
    c->head = hd_head_fit(c->method, X, y, np, D, c->C, c->classes, &c->fit);
    hd_free(X);
    free(y);
    if (!c->head) return -1;
    c->head->pool = c->pool;
    c->head->rc = c->rc;
    c->head->kmer = c->method == HD_CLF_KMER ? c->kmer : 0;
    return 0;
}

int hd_clf_build(hd_clf *c, const hd_lset *tr, const size_t *idx, size_t n, int shots, uint64_t seed, float **feat,
                 const char *file)
{
    if (!idx) n = tr->n;
    size_t *pick = malloc((n ? n : 1) * sizeof *pick), *counts = calloc((size_t)c->C, sizeof *counts);
    if (!pick || !counts) { free(pick); free(counts); hd_set_oom(NULL); return -1; }
    size_t np = hd_pick_shots(tr, idx, n, shots, seed, pick, counts);
    int ret = -1;
    for (int k = 0; k < c->C; k++) {
        if (!counts[k]) {
            hd_set_error(HD_EINPUT, "%s: class '%s' has no training examples", file, c->classes[k]);
            goto done;
        }
        if (shots > 0 && counts[k] < (size_t)shots)
            hd_log(HD_LOG_WARN, "class '%s' has %zu examples, fewer than --shots %d", c->classes[k], counts[k], shots);
    }
    ret = c->method == HD_CLF_CONTEXT ? build_prompts(c, tr, pick, counts, file) : build_head(c, tr, pick, np, feat, file);
done:
    free(pick);
    free(counts);
    return ret;
}

int hd_clf_predict(hd_clf *c, const char *seq, size_t len, const char *name, const char *file, const float *cached,
                   double *scores, double *probs)
{
    return predict_on(c, c->be, seq, len, name, file, cached, scores, probs);
}

int hd_clf_cv(hd_clf *c, const hd_lset *tr, int k, int shots, uint64_t seed, const char *file, int *pred, double *S,
              double *P)
{
    int ret = -1, C = c->C;
    int *fold = malloc((tr->n ? tr->n : 1) * sizeof *fold);
    size_t *idx = malloc((tr->n ? tr->n : 1) * sizeof *idx);
    float **feat = c->method == HD_CLF_CONTEXT ? NULL : calloc(tr->n ? tr->n : 1, sizeof *feat);
    hd_clf_item *it = NULL;
    int *best = NULL;
    double *Sf = NULL, *Pf = NULL;
    if (!fold || !idx || (c->method != HD_CLF_CONTEXT && !feat)) { hd_set_oom(NULL); goto done; }
    if (hd_stratified_folds(tr, k, seed, fold)) {
        char *e = hd_sprintf("%s: option --cv: %s", file, hd_error());
        if (e) hd_set_error(HD_EINPUT, "%s", e);
        free(e);
        goto done;
    }
    /* every record is predicted once, so every record's features are needed: all of them first, side by side */
    it = malloc((tr->n ? tr->n : 1) * sizeof *it);
    best = malloc((tr->n ? tr->n : 1) * sizeof *best);
    Sf = malloc((tr->n ? tr->n : 1) * (size_t)C * sizeof *Sf);
    Pf = malloc((tr->n ? tr->n : 1) * (size_t)C * sizeof *Pf);
    if (!it || !best || !Sf || !Pf) { hd_set_oom(NULL); goto done; }
    if (feat) {
        size_t D = (size_t)hd_clf_dim(c);
        for (size_t i = 0; i < tr->n; i++) {
            it[i] = (hd_clf_item){tr->v[i].seq, tr->v[i].len, tr->v[i].name, NULL};
            if (!(feat[i] = malloc(D * sizeof(float)))) { hd_set_oom(NULL); goto done; }
        }
        if (hd_clf_features_batch(c, it, tr->n, file, feat, NULL)) goto done;
    }
    for (int f = 0; f < k; f++) {
        size_t n = 0, nf = 0;
        for (size_t i = 0; i < tr->n; i++)
            if (fold[i] != f) idx[n++] = i;
        if (hd_clf_build(c, tr, idx, n, shots, seed + (uint64_t)f, feat, file)) goto done;
        for (size_t i = 0; i < tr->n; i++)
            if (fold[i] == f) it[nf++] = (hd_clf_item){tr->v[i].seq, tr->v[i].len, tr->v[i].name, feat ? feat[i] : NULL};
        if (hd_clf_predict_batch(c, it, nf, file, best, Sf, Pf, NULL)) goto done;
        for (size_t i = 0, j = 0; i < tr->n; i++) {
            if (fold[i] != f) continue;
            pred[i] = best[j];
            memcpy(S + i * C, Sf + j * C, (size_t)C * sizeof *S);
            memcpy(P + i * C, Pf + j * C, (size_t)C * sizeof *P);
            j++;
        }
        hd_clf_clear(c);
    }
    ret = 0;
done:
    hd_clf_clear(c);
    free(it);
    free(best);
    free(Sf);
    free(Pf);
    if (feat)
        for (size_t i = 0; i < tr->n; i++) free(feat[i]);
    free(feat);
    free(fold);
    free(idx);
    return ret;
}
