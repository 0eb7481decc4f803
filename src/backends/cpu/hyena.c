/* hyena.c -- fused CPU steps of the HyenaDNA blocks (docs/models.md §3.4): the mixer's input (LayerNorm,
 * in_proj, short filter, gating), its output (gating, out_proj, residual) and the MLP residual.
 *
 * The plain ops run each stage over a whole chunk of 2,048 positions before the next starts, so every
 * intermediate (an [8 MB] MLP hidden chunk, the in_proj output) goes out to memory and back, and every
 * stage is its own parallel region.  Here each thread takes one block of HD_GEMM_BLOCK positions through
 * all the stages while it is in cache.  The blocks are the same as the plain ops' GEMM blocks and each
 * stage computes what the plain op computes, in the same order, so the results are the same, and they do
 * not depend on the thread count. */
#include "backends/cpu/cpu.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* The short filter of one channel with K = 3 taps (the HyenaDNA short_filter), past the sequence start
 * (from output 2 − hist on): y[t] = b + w0·p[t] + w1·p[t+1] + w2·p[t+2] with p at the first output's oldest
 * input, in the order hd_cpu_causal_conv_row sums; with g: g[t] = y_v[t]·y[t] where y_v is the filter of q
 * (weights wv, bias bv) */
HD_CLONES static void conv3(const float *p, const float *w, float b, float *y, size_t n)
{
    float w0 = w[0], w1 = w[1], w2 = w[2];
    #pragma omp simd
    for (size_t t = 0; t < n; t++) {
        float s = b;
        s += w0 * p[t];
        s += w1 * p[t + 1];
        s += w2 * p[t + 2];
        y[t] = s;
    }
}

HD_CLONES static void conv3_gate(const float *p, const float *w, float b, const float *q, const float *wv, float bv,
                                 float *g, size_t n)
{
    float w0 = w[0], w1 = w[1], w2 = w[2], v0 = wv[0], v1 = wv[1], v2 = wv[2];
    #pragma omp simd
    for (size_t t = 0; t < n; t++) {
        float x = b, v = bv;
        x += w0 * p[t];
        x += w1 * p[t + 1];
        x += w2 * p[t + 2];
        v += v0 * q[t];
        v += v1 * q[t + 1];
        v += v2 * q[t + 2];
        g[t] = v * x;
    }
}

/* per-thread scratch of a fused op; a failed allocation sets *fail and leaves the op undone */
static float *scratch(size_t n, int *fail)
{
    float *p = malloc(n * sizeof(float));
    if (!p) {
        #pragma omp atomic write
        *fail = 1;
    }
    return p;
}

typedef float v16f __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));

/* p[c, i] = T[c, ids[i]] for i < n: rows of the table of in_proj outputs per token, channel-major.  With 16
 * tokens (HyenaDNA's padded vocabulary) a table row is one vector and 16 positions are one permutation of
 * it (vpermps). */
HD_CLONES static void gather_cm(const int32_t *ids, size_t n, const float *T, size_t V, size_t C3, float *p)
{
#if defined(__GNUC__) && !defined(__clang__)   /* __builtin_shuffle with a variable index is GCC's */
    if (V == 16) {
        size_t n16 = n / 16 * 16;
        for (size_t c = 0; c < C3; c++) {
            v16f t;
            memcpy(&t, T + c * V, sizeof t);
            float *pc = p + c * n;
            for (size_t i = 0; i < n16; i += 16) {
                v16i id;
                memcpy(&id, ids + i, sizeof id);
                v16f v = __builtin_shuffle(t, id);
                memcpy(pc + i, &v, sizeof v);
            }
            for (size_t i = n16; i < n; i++) pc[i] = T[c * V + (size_t)ids[i]];
        }
        return;
    }
#endif
    for (size_t c = 0; c < C3; c++) {
        const float *t = T + c * V;
        float *pc = p + c * n;
        #pragma omp simd
        for (size_t i = 0; i < n; i++) pc[i] = t[ids[i]];
    }
}

/* hyena_in (ids NULL: p = LayerNorm(r)·Wᵀ + b) and hyena_in_tab (p from the table T [3D, V]) */
static int mixer_in(hd_backend *be, const float *r, const int32_t *ids, const float *T, size_t V, size_t M, size_t D,
                    const float *ln_w, const float *ln_b, float eps, const float *W, const float *b, const float *w,
                    size_t K, const float *bw, float *X0, float *G, size_t ld)
{
    const size_t B = HD_GEMM_BLOCK, halo = K - 1, C3 = 3 * D;
    int fail = 0;
    hd_cpu_w wp = {0};
    if (!ids) hd_cpu_w_init(be, &wp, W, C3, D, 1, M);
    #pragma omp parallel if (M > B)
    {
        float *hc = ids ? NULL : scratch((B + halo) * D, &fail), *pc = scratch(C3 * (B + halo), &fail),
              *x1 = scratch(B, &fail);
        #pragma omp for schedule(dynamic, 1)
        for (size_t m0 = 0; m0 < M; m0 += B) {
            if ((!ids && !hc) || !pc || !x1) continue;
            size_t n = M - m0 < B ? M - m0 : B, hs = m0 < halo ? m0 : halo, np = n + hs;
            /* p channel-major [3D, np] for the block and the halo before it: the table's rows, or the LayerNorm
             * then p = h·Wᵀ + b */
            if (ids) gather_cm(ids + m0 - hs, np, T, V, C3, pc);
            else {
                for (size_t i = 0; i < np; i++) hd_cpu_layernorm_row(r + (m0 - hs + i) * D, D, ln_w, ln_b, eps, hc + i * D);
                for (size_t c = 0; c < C3; c++) hd_cpu_fill(pc + c * np, b[c], np);
                hd_cpu_gemm(0, 1, np, C3, D, hc, D, &wp, pc, np);
            }
            /* short filter; x0 out, v·x1 into G */
            for (size_t c = 0; c < D; c++) {
                float *g = G + c * ld + m0, *x0 = X0 + c * ld + m0;
                const float *p0 = pc + c * np, *p1 = pc + (D + c) * np, *p2 = pc + (2 * D + c) * np;
                const float *w0 = w + c * K, *w1 = w + (D + c) * K, *w2 = w + (2 * D + c) * K;
                if (K == 3) {   /* the first 2 − hs outputs reach before the sequence: those alone the long way */
                    size_t h = hs < 2 ? (2 - hs < n ? 2 - hs : n) : 0;
                    if (h) {
                        hd_cpu_causal_conv_row(p0, h, hs, w0, K, bw[c], x0);
                        hd_cpu_causal_conv_row(p1, h, hs, w1, K, bw[D + c], x1);
                        hd_cpu_causal_conv_row(p2, h, hs, w2, K, bw[2 * D + c], g);
                        hd_cpu_mul(g, x1, g, h);
                    }
                    if (n > h) {   /* then hs + h = 2: p's first value is output h's tap 0 */
                        conv3(p0, w0, bw[c], x0 + h, n - h);
                        conv3_gate(p1, w1, bw[D + c], p2, w2, bw[2 * D + c], g + h, n - h);
                    }
                } else {
                    hd_cpu_causal_conv_row(p0, n, hs, w0, K, bw[c], x0);
                    hd_cpu_causal_conv_row(p1, n, hs, w1, K, bw[D + c], x1);
                    hd_cpu_causal_conv_row(p2, n, hs, w2, K, bw[2 * D + c], g);
                    hd_cpu_mul(g, x1, g, n);
                }
            }
        }
        free(hc);
        free(pc);
        free(x1);
    }
    hd_cpu_w_free(&wp);
    if (fail) { hd_set_error(HD_EMODEL, "out of memory for the mixer's scratch"); return -1; }
    return 0;
}

static int cpu_hyena_in(hd_backend *be, const float *r, size_t M, size_t D, const float *ln_w, const float *ln_b,
                         float eps, const float *W, const float *b, const float *w, size_t K, const float *bw, float *X0,
                         float *G, size_t ld)
{
    return mixer_in(be, r, NULL, NULL, 0, M, D, ln_w, ln_b, eps, W, b, w, K, bw, X0, G, ld);
}

static int cpu_hyena_in_tab(hd_backend *be, const int32_t *ids, size_t M, const float *T, size_t V, size_t D,
                             const float *w, size_t K, const float *bw, float *X0, float *G, size_t ld)
{
    return mixer_in(be, NULL, ids, T, V, M, D, NULL, NULL, 0, NULL, NULL, w, K, bw, X0, G, ld);
}

static int cpu_hyena_out(hd_backend *be, const float *Y, const float *X0, size_t ld, size_t M, size_t D, const float *W,
                          const float *b, float *r)
{
    const size_t B = HD_GEMM_BLOCK;
    int fail = 0;
    hd_cpu_w wp;
    hd_cpu_w_init(be, &wp, W, D, D, 0, M);
    #pragma omp parallel if (M > B)
    {
        float *z = scratch(D * B, &fail), *oc = scratch(B * D, &fail);
        #pragma omp for schedule(dynamic, 1)
        for (size_t m0 = 0; m0 < M; m0 += B) {
            if (!z || !oc) continue;
            size_t n = M - m0 < B ? M - m0 : B;
            for (size_t c = 0; c < D; c++) hd_cpu_mul(Y + c * ld + m0, X0 + c * ld + m0, z + c * n, n);
            for (size_t i = 0; i < n; i++) memcpy(oc + i * D, b, D * sizeof(float));
            hd_cpu_gemm(1, 0, n, D, D, z, n, &wp, oc, D);
            hd_cpu_add(r + m0 * D, oc, n * D);
        }
        free(z);
        free(oc);
    }
    hd_cpu_w_free(&wp);
    if (fail) { hd_set_error(HD_EMODEL, "out of memory for the mixer's scratch"); return -1; }
    return 0;
}

static int cpu_mlp_residual(hd_backend *be, float *r, size_t M, size_t D, const float *ln_w, const float *ln_b,
                             float eps, const float *W1, const float *b1, size_t F, const float *W2, const float *b2)
{
    const size_t B = HD_GEMM_BLOCK;
    int fail = 0;
    hd_cpu_w w1, w2;
    hd_cpu_w_init(be, &w1, W1, F, D, 0, M);
    hd_cpu_w_init(be, &w2, W2, D, F, 0, M);
    #pragma omp parallel if (M > B)
    {
        float *hc = scratch(B * D, &fail), *mc = scratch(B * F, &fail), *oc = scratch(B * D, &fail);
        #pragma omp for schedule(dynamic, 1)
        for (size_t m0 = 0; m0 < M; m0 += B) {
            if (!hc || !mc || !oc) continue;
            size_t n = M - m0 < B ? M - m0 : B;
            for (size_t i = 0; i < n; i++) hd_cpu_layernorm_row(r + (m0 + i) * D, D, ln_w, ln_b, eps, hc + i * D);
            for (size_t i = 0; i < n; i++) memcpy(mc + i * F, b1, F * sizeof(float));
            hd_cpu_gemm(0, 0, n, F, D, hc, D, &w1, mc, F);
            hd_cpu_gelu_tanh(mc, n * F);
            for (size_t i = 0; i < n; i++) memcpy(oc + i * D, b2, D * sizeof(float));
            hd_cpu_gemm(0, 0, n, D, F, mc, F, &w2, oc, D);
            hd_cpu_add(r + m0 * D, oc, n * D);
        }
        free(hc);
        free(mc);
        free(oc);
    }
    hd_cpu_w_free(&w1);
    hd_cpu_w_free(&w2);
    if (fail) { hd_set_error(HD_EMODEL, "out of memory for the MLP's scratch"); return -1; }
    return 0;
}

void hd_backend_cpu_hyena_init(hd_backend *be)
{
    be->hyena_in = cpu_hyena_in;
    be->hyena_in_tab = cpu_hyena_in_tab;
    be->hyena_out = cpu_hyena_out;
    be->mlp_residual = cpu_mlp_residual;
}
