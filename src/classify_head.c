/* classify_head.c -- the fitted heads of classify: centroid, k nearest neighbours and multinomial
 * logistic regression (L-BFGS), their predictions, their safetensors form, and the model identity a head
 * is tied to (see classify.h). */
#define _GNU_SOURCE
#include "classify.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "safetensors.h"
#include "util.h"

/* ================================================================== heads */

int hd_clf_method_parse(const char *s, hd_clf_method *out)
{
    static const char *names[] = {"context", "centroid", "knn", "logistic", "kmer"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(s, names[i])) { *out = (hd_clf_method)i; return 0; }
    return -1;
}

const char *hd_clf_method_name(hd_clf_method m)
{
    static const char *names[] = {"context", "centroid", "knn", "logistic", "kmer"};
    return (unsigned)m < 5 ? names[m] : "?";
}

void hd_head_free(hd_head *h)
{
    if (!h) return;
    for (int c = 0; c < h->n_classes; c++) free(h->classes ? h->classes[c] : NULL);
    free(h->classes);
    free(h->centroids);
    free(h->X);
    free(h->y);
    free(h->mu);
    free(h->sd);
    free(h->W);
    free(h->b);
    free(h->model_id);
    free(h->model_path);
    free(h);
}

static hd_head *head_new(hd_clf_method method, int D, int C, char *const *classes)
{
    hd_head *h = calloc(1, sizeof *h);
    if (!h) goto oom;
    h->method = method;
    h->dim = D;
    h->n_classes = C;
    h->kmer = 0;
    if (!(h->classes = calloc((size_t)C, sizeof *h->classes))) goto oom;
    for (int c = 0; c < C; c++)
        if (!(h->classes[c] = hd_strdup(classes[c]))) goto oom;
    return h;
oom:
    hd_head_free(h);
    hd_set_oom(NULL);
    return NULL;
}

static void softmax_inplace(double *p, int n)
{
    double mx = p[0], s = 0;
    for (int i = 1; i < n; i++) mx = fmax(mx, p[i]);
    for (int i = 0; i < n; i++) s += (p[i] = exp(p[i] - mx));
    for (int i = 0; i < n; i++) p[i] /= s;
}

void hd_softmax(const double *s, int n, double *p)
{
    if (p != s) memcpy(p, s, (size_t)n * sizeof *p);
    softmax_inplace(p, n);
}

double hd_logistic_objective(const double *W, const double *b, const double *Z, const int *y, size_t n, int D, int C,
                             double l2, double *gW, double *gb)
{
    double f = 0, *p = malloc((size_t)C * sizeof *p);
    if (!p) { hd_set_oom(NULL); return NAN; }
    if (gW) memset(gW, 0, (size_t)C * D * sizeof *gW);
    if (gb) memset(gb, 0, (size_t)C * sizeof *gb);
    for (size_t i = 0; i < n; i++) {
        const double *z = Z + i * (size_t)D;
        for (int c = 0; c < C; c++) {
            double a = b[c];
            const double *w = W + (size_t)c * D;
            for (int d = 0; d < D; d++) a += w[d] * z[d];
            p[c] = a;
        }
        double mx = p[0], se = 0;
        for (int c = 1; c < C; c++) mx = fmax(mx, p[c]);
        for (int c = 0; c < C; c++) se += exp(p[c] - mx);
        f -= p[y[i]] - mx - log(se);
        if (gW) {
            for (int c = 0; c < C; c++) {
                double g = exp(p[c] - mx) / se - (c == y[i]);
                double *gw = gW + (size_t)c * D;
                for (int d = 0; d < D; d++) gw[d] += g * z[d];
                gb[c] += g;
            }
        }
    }
    double reg = 0;
    for (size_t j = 0; j < (size_t)C * D; j++) reg += W[j] * W[j];
    f = f / (double)n + 0.5 * l2 * reg;
    if (gW) {
        for (size_t j = 0; j < (size_t)C * D; j++) gW[j] = gW[j] / (double)n + l2 * W[j];
        for (int c = 0; c < C; c++) gb[c] /= (double)n;
    }
    free(p);
    return f;
}

/* L-BFGS (memory 10) with a backtracking Armijo line search over theta = [W | b]. */
static int fit_logistic(hd_head *h, const double *Z, const int *y, size_t n, const hd_fit_opts *o)
{
    int D = h->dim, C = h->n_classes, M = 10;
    size_t P = (size_t)C * D + C;
    double *x = calloc(P, sizeof *x), *g = calloc(P, sizeof *g), *xn = calloc(P, sizeof *xn),
           *gn = calloc(P, sizeof *gn), *dir = calloc(P, sizeof *dir), *S = calloc((size_t)M * P, sizeof *S),
           *Y = calloc((size_t)M * P, sizeof *Y), rho[10], alpha[10];
    int ret = -1;
    if (!x || !g || !xn || !gn || !dir || !S || !Y) { hd_set_oom(NULL); goto done; }
    size_t nW = (size_t)C * D;
    double f = hd_logistic_objective(x, x + nW, Z, y, n, D, C, o->l2, g, g + nW);
    if (isnan(f)) goto done;   /* out of memory */
    int m = 0, head = 0;
    for (int it = 0; it < o->max_iter; it++) {
        double gmax = 0;
        for (size_t j = 0; j < P; j++) gmax = fmax(gmax, fabs(g[j]));
        if (gmax < o->tol) break;
        /* two-loop recursion: dir = −H·g */
        for (size_t j = 0; j < P; j++) dir[j] = -g[j];
        for (int k = 0; k < m; k++) {
            int i = (head - 1 - k + M) % M;
            double a = 0;
            for (size_t j = 0; j < P; j++) a += S[i * P + j] * dir[j];
            alpha[i] = a * rho[i];
            for (size_t j = 0; j < P; j++) dir[j] -= alpha[i] * Y[i * P + j];
        }
        if (m) {
            int i = (head - 1 + M) % M;
            double sy = 0, yy = 0;
            for (size_t j = 0; j < P; j++) { sy += S[i * P + j] * Y[i * P + j]; yy += Y[i * P + j] * Y[i * P + j]; }
            for (size_t j = 0; j < P; j++) dir[j] *= sy / yy;
        } else {
            double gn2 = 0;
            for (size_t j = 0; j < P; j++) gn2 += g[j] * g[j];
            for (size_t j = 0; j < P; j++) dir[j] /= fmax(1.0, sqrt(gn2));
        }
        for (int k = m - 1; k >= 0; k--) {
            int i = (head - 1 - k + M) % M;
            double bb = 0;
            for (size_t j = 0; j < P; j++) bb += Y[i * P + j] * dir[j];
            bb *= rho[i];
            for (size_t j = 0; j < P; j++) dir[j] += S[i * P + j] * (alpha[i] - bb);
        }
        double gd = 0;
        for (size_t j = 0; j < P; j++) gd += g[j] * dir[j];
        if (gd >= 0) {   /* not a descent direction: restart from the gradient */
            m = 0;
            gd = 0;
            for (size_t j = 0; j < P; j++) { dir[j] = -g[j]; gd -= g[j] * g[j]; }
        }
        double step = 1, fn = f;
        int ok = 0;
        for (int ls = 0; ls < 40; ls++) {
            for (size_t j = 0; j < P; j++) xn[j] = x[j] + step * dir[j];
            fn = hd_logistic_objective(xn, xn + nW, Z, y, n, D, C, o->l2, gn, gn + nW);
            if (fn <= f + 1e-4 * step * gd) { ok = 1; break; }
            step *= 0.5;
        }
        if (!ok) break;   /* no further decrease possible at this precision */
        double sy = 0;
        for (size_t j = 0; j < P; j++) {
            S[head * P + j] = xn[j] - x[j];
            Y[head * P + j] = gn[j] - g[j];
            sy += S[head * P + j] * Y[head * P + j];
        }
        if (sy > 1e-12) {
            rho[head] = 1.0 / sy;
            head = (head + 1) % M;
            if (m < M) m++;
        }
        memcpy(x, xn, P * sizeof *x);
        memcpy(g, gn, P * sizeof *g);
        f = fn;
    }
    /* the head keeps float32-representable parameters, so that a saved head predicts identically */
    for (size_t j = 0; j < nW; j++) h->W[j] = (float)x[j];
    for (int c = 0; c < C; c++) h->b[c] = (float)x[nW + c];
    ret = 0;
done:
    free(x); free(g); free(xn); free(gn); free(dir); free(S); free(Y);
    return ret;
}

hd_head *hd_head_fit(hd_clf_method method, const float *X, const int *y, size_t n, int D, int C, char *const *classes,
                     const hd_fit_opts *o)
{
    if (!n || D <= 0 || C < 2) { hd_set_error(HD_EINPUT, "nothing to fit: %zu examples, %d classes", n, C); return NULL; }
    for (int c = 0; c < C; c++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) k += y[i] == c;
        if (!k) { hd_set_error(HD_EINPUT, "class '%s' has no training examples", classes[c]); return NULL; }
    }
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= C) { hd_set_error(HD_EINPUT, "label %d of example %zu out of range", y[i], i); return NULL; }
    hd_head *h = head_new(method, D, C, classes);
    if (!h) return NULL;
    size_t CD = (size_t)C * D, nD;
    if (hd_mul(n, (size_t)D, &nD)) { hd_set_error(HD_EINPUT, "training set too large"); goto fail; }
    if (method == HD_CLF_CENTROID) {
        double *acc = calloc(CD, sizeof *acc);
        long *cnt = calloc((size_t)C, sizeof *cnt);
        if (!acc || !cnt || !(h->centroids = malloc(CD * sizeof(float)))) {
            free(acc); free(cnt);
            hd_set_oom(NULL);
            goto fail;
        }
        for (size_t i = 0; i < n; i++) {
            cnt[y[i]]++;
            for (int d = 0; d < D; d++) acc[(size_t)y[i] * D + d] += X[i * (size_t)D + d];
        }
        for (size_t j = 0; j < CD; j++) h->centroids[j] = cnt[j / D] ? (float)(acc[j] / (double)cnt[j / D]) : 0.0f;
        free(acc);
        free(cnt);
    } else if (method == HD_CLF_KNN) {
        h->X = malloc(nD * sizeof *h->X);
        h->y = malloc(n * sizeof *h->y);
        if (!h->X || !h->y) { hd_set_oom(NULL); goto fail; }
        memcpy(h->X, X, nD * sizeof *h->X);
        memcpy(h->y, y, n * sizeof *h->y);
        h->n = n;
        h->k = o->knn_k > 0 ? o->knn_k : 1;
    } else if (method == HD_CLF_LOGISTIC || method == HD_CLF_KMER) {
        h->mu = calloc((size_t)D, sizeof *h->mu);
        h->sd = calloc((size_t)D, sizeof *h->sd);
        h->W = calloc(CD, sizeof *h->W);
        h->b = calloc((size_t)C, sizeof *h->b);
        double *Z = malloc(nD * sizeof *Z);
        if (!h->mu || !h->sd || !h->W || !h->b || !Z) { free(Z); hd_set_oom(NULL); goto fail; }
        for (int d = 0; d < D; d++) {
            double s = 0, s2 = 0;
            for (size_t i = 0; i < n; i++) s += X[i * (size_t)D + d];
            double mu = s / (double)n;
            for (size_t i = 0; i < n; i++) { double v = X[i * (size_t)D + d] - mu; s2 += v * v; }
            double sd = sqrt(s2 / (double)n);
            h->mu[d] = (float)mu;
            h->sd[d] = sd > 1e-9 ? (float)sd : 1.0f;
        }
        for (size_t i = 0; i < n; i++)
            for (int d = 0; d < D; d++) Z[i * D + d] = (X[i * (size_t)D + d] - h->mu[d]) / h->sd[d];
        int r = fit_logistic(h, Z, y, n, o);
        free(Z);
        if (r) goto fail;
    } else {
        hd_set_error(HD_EINPUT, "method %s has no fitted head", hd_clf_method_name(method));
        goto fail;
    }
    return h;
fail:
    hd_head_free(h);
    return NULL;
}

static double cosine(const float *a, const float *b, int D)
{
    double ab = 0, aa = 0, bb = 0;
    for (int d = 0; d < D; d++) {
        ab += (double)a[d] * b[d];
        aa += (double)a[d] * a[d];
        bb += (double)b[d] * b[d];
    }
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0.0;
}

int hd_head_predict(const hd_head *h, const float *x, double *scores)
{
    int C = h->n_classes, D = h->dim, best = 0;
    if (h->method == HD_CLF_CENTROID) {
        for (int c = 0; c < C; c++) scores[c] = cosine(x, h->centroids + (size_t)c * D, D);
    } else if (h->method == HD_CLF_KNN) {
        size_t k = (size_t)h->k < h->n ? (size_t)h->k : h->n;
        double *sim = malloc((h->n ? h->n : 1) * sizeof *sim), *sumsim = calloc((size_t)C, sizeof *sumsim);
        char *taken = calloc(h->n ? h->n : 1, 1);
        if (!sim || !sumsim || !taken) {
            free(sim); free(sumsim); free(taken);
            hd_set_oom(NULL);
            return -1;
        }
        for (size_t i = 0; i < h->n; i++) sim[i] = cosine(x, h->X + i * (size_t)D, D);
        for (int c = 0; c < C; c++) scores[c] = 0;
        for (size_t j = 0; j < k; j++) {
            /* the most similar vector not taken yet; ties go to the earlier training vector */
            size_t bi = SIZE_MAX;
            for (size_t i = 0; i < h->n; i++)
                if (!taken[i] && (bi == SIZE_MAX || sim[i] > sim[bi])) bi = i;
            taken[bi] = 1;
            scores[h->y[bi]] += 1.0 / (double)k;
            sumsim[h->y[bi]] += sim[bi];
        }
        for (int c = 1; c < C; c++)
            if (scores[c] > scores[best] || (scores[c] == scores[best] && sumsim[c] > sumsim[best])) best = c;
        free(sim);
        free(sumsim);
        free(taken);
        return best;
    } else {
        for (int c = 0; c < C; c++) {
            double a = h->b[c];
            const double *w = h->W + (size_t)c * D;
            for (int d = 0; d < D; d++) a += w[d] * ((x[d] - h->mu[d]) / h->sd[d]);
            scores[c] = a;
        }
    }
    for (int c = 1; c < C; c++)
        if (scores[c] > scores[best]) best = c;
    return best;
}

/* ---- save / load */

static float *to_f32(const double *v, size_t n)
{
    float *f = malloc((n ? n : 1) * sizeof *f);
    if (f)
        for (size_t i = 0; i < n; i++) f[i] = (float)v[i];
    return f;
}

int hd_head_save(const hd_head *h, const char *path)
{
    hd_stw *w = hd_stw_open(path);
    if (!w) return -1;
    int C = h->n_classes, D = h->dim, e = 0;
    char buf[64];
    json_t *cls = json_array();
    for (int c = 0; c < C; c++) json_array_append_new(cls, json_string(h->classes[c]));
    char *cj = json_dumps(cls, JSON_COMPACT);
    json_decref(cls);
    e |= !cj || hd_stw_meta(w, "hyenadna_head", "1") || hd_stw_meta(w, "method", hd_clf_method_name(h->method)) ||
         hd_stw_meta(w, "classes", cj);
    free(cj);
    snprintf(buf, sizeof buf, "%d", D);
    e |= hd_stw_meta(w, "dim", buf);
    if (h->method == HD_CLF_KMER) {
        snprintf(buf, sizeof buf, "%d", h->kmer);
        e |= hd_stw_meta(w, "features", "kmer") || hd_stw_meta(w, "kmer", buf);
    } else {
        e |= hd_stw_meta(w, "features", "model") || hd_stw_meta(w, "pool", hd_pool_name(h->pool)) ||
             hd_stw_meta(w, "model_id", h->model_id ? h->model_id : "") ||
             hd_stw_meta(w, "model_path", h->model_path ? h->model_path : "");
    }
    e |= hd_stw_meta(w, "rc", h->rc ? "1" : "0");
    int64_t sCD[2] = {C, D}, sC[1] = {C}, sD[1] = {D};
    if (h->method == HD_CLF_CENTROID) {
        e |= hd_stw_add(w, "centroids", HD_F32, 2, sCD, h->centroids);
    } else if (h->method == HD_CLF_KNN) {
        snprintf(buf, sizeof buf, "%d", h->k);
        int64_t sX[2] = {(int64_t)h->n, D}, sy[1] = {(int64_t)h->n};
        e |= hd_stw_meta(w, "k", buf) || hd_stw_add(w, "X", HD_F32, 2, sX, h->X) ||
             hd_stw_add(w, "y", HD_I32, 1, sy, h->y);
    } else {
        float *W = to_f32(h->W, (size_t)C * D), *b = to_f32(h->b, C), *mu = to_f32(h->mu, D), *sd = to_f32(h->sd, D);
        e |= !W || !b || !mu || !sd || hd_stw_add(w, "weight", HD_F32, 2, sCD, W) ||
             hd_stw_add(w, "bias", HD_F32, 1, sC, b) || hd_stw_add(w, "feature_mean", HD_F32, 1, sD, mu) ||
             hd_stw_add(w, "feature_sd", HD_F32, 1, sD, sd);
        free(W); free(b); free(mu); free(sd);
    }
    if (e) {
        hd_stw_abort(w);
        return -1;
    }
    return hd_stw_close(w);
}

/* a tensor of the head file with the given shape, copied to float32 (NULL + error otherwise) */
static float *head_tensor(hd_st *st, const char *path, const char *name, int64_t d0, int64_t d1)
{
    const hd_tensor_info *t = hd_st_find(st, name);
    int ok = t && (d1 ? t->ndim == 2 && t->shape[0] == d0 && t->shape[1] == d1 : t->ndim == 1 && t->shape[0] == d0);
    if (!ok) {
        hd_set_error(HD_EINPUT, "%s: tensor '%s' missing or not of shape [%lld%s%lld]", path, name, (long long)d0,
                     d1 ? ", " : "", d1 ? (long long)d1 : 0LL);
        return NULL;
    }
    float *v = malloc((t->numel ? t->numel : 1) * sizeof *v);
    if (!v) { hd_set_oom(NULL); return NULL; }
    if (hd_tensor_to_f32(t, v)) { free(v); hd_set_error(HD_EINPUT, "%s: cannot read tensor '%s'", path, name); return NULL; }
    return v;
}

static double *f32_to_f64(float *f, size_t n)
{
    double *d = f ? malloc((n ? n : 1) * sizeof *d) : NULL;
    if (f && !d) hd_set_oom(NULL);
    if (d)
        for (size_t i = 0; i < n; i++) d[i] = f[i];
    free(f);
    return d;
}

/* the metadata value `key` of a head as an integer in [lo, hi]: 0, or -1 with an error naming the file */
static int meta_long(hd_st *st, const char *path, const char *key, long lo, long hi, long *out)
{
    const char *v = hd_st_meta(st, key);
    char *end = NULL;
    errno = 0;
    long x = v && *v ? strtol(v, &end, 10) : 0;
    if (!v || !*v || *end || errno || x < lo || x > hi) {
        hd_set_error(HD_EINPUT, "%s: head metadata '%s' is %s%s%s, not an integer in [%ld, %ld]", path, key,
                     v ? "'" : "missing", v ? v : "", v ? "'" : "", lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

/* the values of a head's tensor must be finite (and, for feature_sd, positive): a damaged head file would
 * give NaN or infinite scores, and every query the first class */
static int head_values_ok(const char *path, const char *name, const float *v, size_t n, int positive)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]) || (positive && !(v[i] > 0))) {
            hd_set_error(HD_EINPUT, "%s: tensor '%s' holds %g at index %zu (%s): a damaged head file", path, name,
                         (double)v[i], i, positive ? "the standard deviations must be finite and positive"
                                                   : "the values must be finite");
            return -1;
        }
    return 0;
}

hd_head *hd_head_load(const char *path)
{
    hd_st *st = hd_st_open(path);
    if (!st) {
        /* a head that is missing, truncated or not safetensors is bad input (exit status 1), as every other
         * fault of a head file and a missing query file are; the safetensors reader calls it a model error */
        char *e = hd_strdup(hd_error());
        if (e && !strstr(e, "out of memory")) hd_set_error(HD_EINPUT, "%s", e);
        free(e);
        return NULL;
    }
    hd_head *h = NULL;
    json_t *cls = NULL;
    const char *mk = hd_st_meta(st, "hyenadna_head"), *ms = hd_st_meta(st, "method"), *cs = hd_st_meta(st, "classes"),
               *ds = hd_st_meta(st, "dim");
    hd_clf_method method;
    if (!mk || !ms || !cs || !ds) {
        hd_set_error(HD_EINPUT, "%s: not a hyenadna classify head (metadata hyenadna_head/method/classes/dim missing)",
                     path);
        goto fail;
    }
    /* the format of hd_head_save is 1; a head of another format (a newer hyenadna) is not guessed at */
    if (strcmp(mk, "1")) {
        hd_set_error(HD_EINPUT, "%s: head format '%s'; this hyenadna reads heads of format 1 (save the head again "
                     "with this version)", path, mk);
        goto fail;
    }
    if (hd_clf_method_parse(ms, &method) || method == HD_CLF_CONTEXT) {
        hd_set_error(HD_EINPUT, "%s: head method '%s' is not one of centroid, knn, logistic, kmer", path, ms);
        goto fail;
    }
    long D;
    if (meta_long(st, path, "dim", 1, 1L << 24, &D)) goto fail;
    cls = json_loads(cs, 0, NULL);
    if (!json_is_array(cls) || json_array_size(cls) < 2 || json_array_size(cls) > 1000000) {
        hd_set_error(HD_EINPUT, "%s: head metadata 'classes' is not a JSON array of two or more class names", path);
        goto fail;
    }
    int C = (int)json_array_size(cls);
    char **names = calloc((size_t)C, sizeof *names);
    if (!names) { hd_set_oom(NULL); goto fail; }
    for (int c = 0; c < C; c++) {
        const char *s = json_string_value(json_array_get(cls, (size_t)c));
        int dup = 0;
        for (int j = 0; s && j < c; j++) dup |= !strcmp(s, names[j]);
        if (!s || !*s || dup) {
            hd_set_error(HD_EINPUT, "%s: head metadata 'classes': class %d is %s", path, c + 1,
                         !s ? "not a string" : !*s ? "empty" : "named as an earlier one");
            free(names);
            goto fail;
        }
        names[c] = (char *)s;
    }
    h = head_new(method, (int)D, C, names);
    free(names);
    if (!h) goto fail;
    const char *rc = hd_st_meta(st, "rc");
    if (rc && strcmp(rc, "0") && strcmp(rc, "1")) {
        hd_set_error(HD_EINPUT, "%s: head metadata 'rc' is '%s', not 0 or 1", path, rc);
        goto fail;
    }
    h->rc = rc && !strcmp(rc, "1");
    if (method == HD_CLF_KMER) {
        long k;
        if (meta_long(st, path, "kmer", 1, 12, &k)) goto fail;
        h->kmer = (int)k;
        if ((1L << (2 * h->kmer)) != D) {
            hd_set_error(HD_EINPUT, "%s: head metadata: k-mer size %d does not give dim %ld (4^k)", path, h->kmer, D);
            goto fail;
        }
    } else {
        const char *p = hd_st_meta(st, "pool"), *id = hd_st_meta(st, "model_id"), *mp = hd_st_meta(st, "model_path");
        if (!p || hd_pool_parse(p, &h->pool) || !id || !*id) {
            hd_set_error(HD_EINPUT, "%s: head metadata: %s", path,
                         !p ? "pooling missing" : hd_pool_parse(p, &h->pool) ? "pooling not one of mean, last, max"
                                                                               : "model identity missing");
            goto fail;
        }
        if (!(h->model_id = hd_strdup(id)) || !(h->model_path = hd_strdup(mp ? mp : ""))) goto fail;
    }
    if (method == HD_CLF_CENTROID) {
        if (!(h->centroids = head_tensor(st, path, "centroids", C, D)) ||
            head_values_ok(path, "centroids", h->centroids, (size_t)C * D, 0))
            goto fail;
    } else if (method == HD_CLF_KNN) {
        const hd_tensor_info *t = hd_st_find(st, "y");
        long k;
        if (!t || t->ndim != 1 || t->shape[0] < 1) {
            hd_set_error(HD_EINPUT, "%s: knn head without its labels (tensor 'y' of one or more values)", path);
            goto fail;
        }
        if (meta_long(st, path, "k", 1, 1L << 20, &k)) goto fail;
        h->n = (size_t)t->shape[0];
        h->k = (int)k;
        int64_t *yy = malloc((h->n ? h->n : 1) * sizeof *yy);
        h->y = malloc((h->n ? h->n : 1) * sizeof *h->y);
        if (!yy || !h->y) { free(yy); hd_set_oom(NULL); goto fail; }
        if (hd_tensor_to_i64(t, yy)) { free(yy); hd_set_error(HD_EINPUT, "%s: cannot read y", path); goto fail; }
        for (size_t i = 0; i < h->n; i++) {
            if (yy[i] < 0 || yy[i] >= C) { free(yy); hd_set_error(HD_EINPUT, "%s: label out of range in y", path); goto fail; }
            h->y[i] = (int)yy[i];
        }
        free(yy);
        if (!(h->X = head_tensor(st, path, "X", (int64_t)h->n, D)) ||
            head_values_ok(path, "X", h->X, h->n * (size_t)D, 0))
            goto fail;
    } else {
        static const char *tn[4] = {"weight", "bias", "feature_mean", "feature_sd"};
        double **dst[4] = {&h->W, &h->b, &h->mu, &h->sd};
        int64_t d0[4] = {C, C, D, D}, d1[4] = {D, 0, 0, 0};
        for (int i = 0; i < 4; i++) {
            size_t n = (size_t)d0[i] * (size_t)(d1[i] ? d1[i] : 1);
            float *v = head_tensor(st, path, tn[i], d0[i], d1[i]);
            if (!v || head_values_ok(path, tn[i], v, n, i == 3)) {
                free(v);
                goto fail;
            }
            if (!(*dst[i] = f32_to_f64(v, n))) goto fail;
        }
    }
    json_decref(cls);
    hd_st_close(st);
    return h;
fail:
    json_decref(cls);
    hd_head_free(h);
    hd_st_close(st);
    return NULL;
}

char *hd_model_identity(const hd_model *m)
{
    FILE *fp = fopen(m->weights_path, "rb");
    if (!fp) {
        hd_set_error(HD_EMODEL, "cannot open '%s': %s", m->weights_path, strerror(errno));
        return NULL;
    }
    /* FNV-1a over the header and 16 evenly spaced 64 KiB samples of the data */
    uint64_t hsh = 0xcbf29ce484222325ULL;
    unsigned char *buf = malloc(1 << 16);
    size_t size = hd_st_file_size(m->st);
    char *id = NULL;
    if (!buf) { hd_set_oom(NULL); goto done; }
    for (int i = 0; i < 17; i++) {
        size_t off = i == 0 ? 0 : (size_t)((double)size * (i - 1) / 16.0), k;
        if (fseeko(fp, (off_t)off, SEEK_SET)) break;
        k = fread(buf, 1, 1 << 16, fp);
        for (size_t j = 0; j < k; j++) hsh = (hsh ^ buf[j]) * 0x100000001b3ULL;
    }
    id = hd_sprintf("%016llx:%zu", (unsigned long long)hsh, size);
done:
    free(buf);
    fclose(fp);
    return id;
}
