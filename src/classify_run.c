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

int hd_clf_features(hd_clf *c, const char *seq, size_t len, const char *name, const char *file, float *out)
{
    if (c->method == HD_CLF_KMER) {
        hd_kmer_features(seq, len, c->kmer, c->rc, out);
        return 0;
    }
    if (c->m->max_len > 0 && len > (size_t)c->m->max_len) {
        hd_set_error(HD_EINPUT, "%s: record '%s': %zu bases exceed the model's maximum length of %ld (use --window)",
                     file, name, len, c->m->max_len);
        return -1;
    }
    int32_t *ids = malloc((len ? len : 1) * sizeof *ids);
    if (!ids) { hd_set_oom(NULL); return -1; }
    int r = -1;
    if (hd_model_tokenize(c->m, seq, len, HD_SPECIAL_NONE, ids, name) < 0) blame_file(file);
    else if (hd_embed_ids(c->m, c->be, ids, len, c->pool, c->rc, out)) blame(file, name);
    else r = 0;
    free(ids);
    return r;
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
    for (size_t j = 0; j < np; j++) {
        size_t i = pick[j];
        const hd_lseq *r = &tr->v[i];
        y[j] = r->label;
        if (feat && feat[i]) { memcpy(X + j * D, feat[i], D * sizeof *X); continue; }
        if (hd_clf_features(c, r->seq, r->len, r->name, file, X + j * D)) { hd_free(X); free(y); return -1; }
        if (feat && (feat[i] = malloc(D * sizeof(float)))) memcpy(feat[i], X + j * D, D * sizeof(float));
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
    int C = c->C, best = 0;
    if (c->method == HD_CLF_CONTEXT) {
        int32_t *ids = malloc((len ? len : 1) * sizeof *ids);
        if (!ids) { hd_set_oom(NULL); return -1; }
        if (hd_model_tokenize(c->m, seq, len, HD_SPECIAL_NONE, ids, name) < 0) {
            blame_file(file);
            free(ids);
            return -1;
        }
        int r = hd_ctx_scores(c->m, c->be, (const int32_t *const *)c->prompts, c->plen, C, ids, len, scores, NULL);
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
    float *x = NULL;
    if (!cached) {
        x = malloc((size_t)c->dim * sizeof *x);
        if (!x) { hd_set_oom(NULL); return -1; }
        if (hd_clf_features(c, seq, len, name, file, x)) { free(x); return -1; }
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

int hd_clf_cv(hd_clf *c, const hd_lset *tr, int k, int shots, uint64_t seed, const char *file, int *pred, double *S,
              double *P)
{
    int ret = -1, C = c->C;
    int *fold = malloc((tr->n ? tr->n : 1) * sizeof *fold);
    size_t *idx = malloc((tr->n ? tr->n : 1) * sizeof *idx);
    float **feat = c->method == HD_CLF_CONTEXT ? NULL : calloc(tr->n ? tr->n : 1, sizeof *feat);
    if (!fold || !idx || (c->method != HD_CLF_CONTEXT && !feat)) { hd_set_oom(NULL); goto done; }
    if (hd_stratified_folds(tr, k, seed, fold)) {
        char *e = hd_sprintf("%s: option --cv: %s", file, hd_error());
        if (e) hd_set_error(HD_EINPUT, "%s", e);
        free(e);
        goto done;
    }
    for (int f = 0; f < k; f++) {
        size_t n = 0;
        for (size_t i = 0; i < tr->n; i++)
            if (fold[i] != f) idx[n++] = i;
        if (hd_clf_build(c, tr, idx, n, shots, seed + (uint64_t)f, feat, file)) goto done;
        for (size_t i = 0; i < tr->n; i++) {
            if (fold[i] != f) continue;
            const hd_lseq *r = &tr->v[i];
            int b = hd_clf_predict(c, r->seq, r->len, r->name, file, feat ? feat[i] : NULL, S + i * C, P + i * C);
            if (b < 0) goto done;
            pred[i] = b;
        }
        hd_clf_clear(c);
    }
    ret = 0;
done:
    hd_clf_clear(c);
    if (feat)
        for (size_t i = 0; i < tr->n; i++) free(feat[i]);
    free(feat);
    free(fold);
    free(idx);
    return ret;
}
