/* classify_features.c -- the features and scores of classify: k-mer frequencies and the in-context
 * log-likelihood scores of causal models (see classify.h). */
#include "classify.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "tokenizer.h"
#include "util.h"

/* ================================================================== features */

static int base2(int c)
{
    switch (c) {
    case 'A': case 'a': return 0;
    case 'C': case 'c': return 1;
    case 'G': case 'g': return 2;
    case 'T': case 't': return 3;
    default: return -1;
    }
}

int hd_kmer_countable(const char *seq, size_t n, int k)
{
    int run = 0;
    for (size_t i = 0; i < n; i++)
        if (base2((unsigned char)seq[i]) < 0) run = 0;
        else if (++run >= k) return 1;
    return 0;
}

size_t hd_kmer_features(const char *seq, size_t n, int k, int rc, float *out)
{
    size_t dim = (size_t)1 << (2 * k), mask = dim - 1, code = 0, total = 0;
    double *cnt = calloc(dim, sizeof *cnt);
    int run = 0;
    for (size_t i = 0; i < n; i++) {
        int b = base2((unsigned char)seq[i]);
        if (b < 0) { run = 0; code = 0; continue; }
        code = ((code << 2) | (size_t)b) & mask;
        if (++run >= k) { cnt[code] += 1; total++; }
    }
    for (size_t i = 0; i < dim; i++) {
        double v = cnt[i];
        if (rc) {
            /* reverse complement of the k-mer code: complement (3 − b) each base, reverse the order */
            size_t x = i, y = 0;
            for (int j = 0; j < k; j++) { y = (y << 2) | (3 - (x & 3)); x >>= 2; }
            v = 0.5 * (cnt[i] + cnt[y]);
        }
        out[i] = total ? (float)(v / (double)total) : 0.0f;
    }
    free(cnt);
    return total;
}


/* ================================================================== in-context scoring */

size_t hd_ctx_join(const int32_t *const *ex, const size_t *len, int n, size_t max_tokens, int32_t *out)
{
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        memcpy(out + k, ex[i], len[i] * sizeof *out);
        k += len[i];
        out[k++] = HD_TOK_SEP;
    }
    if (max_tokens && k > max_tokens) {
        memmove(out, out + (k - max_tokens), max_tokens * sizeof *out);
        k = max_tokens;
    }
    return k;
}

double hd_mean_next_ll(const float *logits, size_t nl, const int32_t *ids, size_t from, size_t L)
{
    if (from < 1) from = 1;
    if (L <= from) return 0.0;
    double sum = 0;
    for (size_t t = from; t < L; t++) {
        const float *row = logits + (t - 1) * nl;
        double mx = row[0], se = 0;
        for (size_t j = 1; j < nl; j++) mx = fmax(mx, row[j]);
        for (size_t j = 0; j < nl; j++) se += exp((double)row[j] - mx);
        sum += (double)row[ids[t]] - mx - log(se);
    }
    return sum / (double)(L - from);
}

int hd_ctx_mean_ll(hd_model *m, hd_backend *be, const int32_t *prompt, size_t np, const int32_t *q, size_t nq,
                   double *mean_ll)
{
    size_t L = np + nq, nl = (size_t)m->n_logits;
    if (!nq) { hd_set_error(HD_EINPUT, "empty query"); return -1; }
    if (m->max_len > 0 && L > (size_t)m->max_len) {
        hd_set_error(HD_EINPUT, "prompt + query of %zu tokens exceed the model's maximum length of %ld", L, m->max_len);
        return -1;
    }
    int32_t *ids = malloc(L * sizeof *ids);
    float *lg = hd_alloc(L * nl * sizeof *lg, "the logits");
    int ret = -1;
    if (!ids || !lg) { if (!ids) hd_set_oom(NULL); goto done; }
    if (np) memcpy(ids, prompt, np * sizeof *ids);
    memcpy(ids + np, q, nq * sizeof *ids);
    hd_fwd f = {.logits = lg, .layer = -1};
    if (hd_model_forward(m, be, ids, L, &f)) goto done;
    for (size_t t = 0; t < L; t++)
        if (ids[t] < 0 || (size_t)ids[t] >= nl) { hd_set_error(HD_EINPUT, "token id %d out of range", ids[t]); goto done; }
    *mean_ll = hd_mean_next_ll(lg, nl, ids, np ? np : 1, L);
    ret = 0;
done:
    free(ids);
    hd_free(lg);
    return ret;
}
/* ================================================================== context scores */

int hd_ctx_scores(hd_model *m, hd_backend *be, const int32_t *const *prompts, const size_t *plen, int C,
                  const int32_t *q, size_t nq, double *scores, double *baseline)
{
    if (m->max_len > 0 && nq + 1 > (size_t)m->max_len) {
        hd_set_error(HD_EINPUT, "query of %zu bases leaves no room for a prompt within the model's maximum length "
                     "of %ld tokens", nq, m->max_len);
        return -1;
    }
    double base;
    if (hd_ctx_mean_ll(m, be, NULL, 0, q, nq, &base)) return -1;
    for (int c = 0; c < C; c++) {
        size_t np = plen[c];
        if (m->max_len > 0 && np > (size_t)m->max_len - nq) np = (size_t)m->max_len - nq;
        double ll;
        if (hd_ctx_mean_ll(m, be, prompts[c] + (plen[c] - np), np, q, nq, &ll)) return -1;
        scores[c] = ll - base;
    }
    if (baseline) *baseline = base;
    return 0;
}
