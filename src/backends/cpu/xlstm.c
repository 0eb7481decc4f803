/* xlstm.c -- the CPU ops of the DNA-xLSTM family (docs/models.md §5): flips, group norms, the
 * row-major causal convolution, headwise projections, RoPE, the mLSTM cell in its three forms, the sLSTM
 * cell and the gated FFN activation.
 *
 * Every op splits its work over rows or heads only, and each output element is computed by one thread in
 * a fixed order, so results do not depend on the thread count.  Gate arithmetic (cumulative log forget
 * gates, stabilisers, exponentials) runs in double; products of activations run in float (OpenBLAS,
 * single-threaded per call, as in cpu.c). */
#include "backends/cpu/cpu.h"
#include "util.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static inline double logsigmoid(double x) { return (x < 0 ? x : 0.0) - log1p(exp(-fabs(x))); }
static inline float silu_f(float x) { return (float)((double)x / (1.0 + exp(-(double)x))); }

/* ---------------------------------------------------------------- position-wise */

static void cpu_flip(hd_backend *be, const float *X, size_t ldx, float *Y, size_t ldy, size_t M, size_t C,
                     int rev_rows, int rev_cols, int accumulate)
{
    #pragma omp parallel for schedule(static) if (M * C > 65536)
    for (size_t t = 0; t < M; t++) {
        const float *x = X + (rev_rows ? M - 1 - t : t) * ldx;
        float *y = Y + t * ldy;
        if (rev_cols) {
            if (accumulate) for (size_t c = 0; c < C; c++) y[c] += x[C - 1 - c];
            else for (size_t c = 0; c < C; c++) y[c] = x[C - 1 - c];
        } else {
            if (accumulate) for (size_t c = 0; c < C; c++) y[c] += x[c];
            else memcpy(y, x, C * sizeof(float));
        }
    }
}

static void cpu_groupnorm(hd_backend *be, const float *X, size_t M, size_t G, size_t DG, const float *gamma, float eps,
                          float *Y)
{
    size_t W = G * DG;
    #pragma omp parallel for schedule(static) if (M * W > 32768)
    for (size_t m = 0; m < M; m++)
        for (size_t g = 0; g < G; g++) {
            const float *x = X + m * W + g * DG, *w = gamma + g * DG;
            float *y = Y + m * W + g * DG;
            double s = 0, ss = 0;
            for (size_t d = 0; d < DG; d++) s += x[d];
            double mean = s / (double)DG;
            for (size_t d = 0; d < DG; d++) { double t = x[d] - mean; ss += t * t; }
            float rstd = (float)(1.0 / sqrt(ss / (double)DG + eps)), mu = (float)mean;
            for (size_t d = 0; d < DG; d++) y[d] = (x[d] - mu) * rstd * w[d];
        }
}

static void cpu_conv_rows(hd_backend *be, const float *X, size_t ldx, size_t M, size_t C, const float *w, size_t K,
                          size_t right, const float *b, int silu, float *Y, size_t ldy)
{
    size_t left = K - 1 - right;
    #pragma omp parallel for schedule(static) if (M * C * K > 65536)
    for (size_t t = 0; t < M; t++) {
        float *y = Y + t * ldy;
        for (size_t c = 0; c < C; c++) y[c] = b ? b[c] : 0.0f;
        for (size_t j = 0; j < K; j++) {
            /* input row t − left + j */
            if (t + j < left || t + j - left >= M) continue;
            const float *x = X + (t + j - left) * ldx;
            for (size_t c = 0; c < C; c++) y[c] += w[c * K + j] * x[c];
        }
        if (silu)
            for (size_t c = 0; c < C; c++) y[c] = silu_f(y[c]);
    }
}

static void cpu_headwise(hd_backend *be, const float *X, size_t ldx, size_t M, size_t H, size_t DI, size_t DO,
                         const float *W, const float *b, float *Y, size_t ldy)
{
    #pragma omp parallel for schedule(static) if (M * H * DI * DO > 65536)
    for (size_t m = 0; m < M; m++) {
        const float *x = X + m * ldx;
        float *y = Y + m * ldy;
        for (size_t h = 0; h < H; h++) {
            const float *xh = x + h * DI, *wh = W + h * DO * DI;
            for (size_t o = 0; o < DO; o++) {
                const float *wo = wh + o * DI;
                float s = 0.0f;
                for (size_t d = 0; d < DI; d++) s += wo[d] * xh[d];
                y[h * DO + o] = s + (b ? b[h * DO + o] : 0.0f);
            }
        }
    }
}

static void cpu_rope(hd_backend *be, float *X, size_t ldx, size_t M, size_t H, size_t DH, const float *cs,
                     const float *sn)
{
    size_t P = DH / 2;
    #pragma omp parallel for schedule(static) if (M * H * DH > 65536)
    for (size_t m = 0; m < M; m++) {
        float *x = X + m * ldx;
        const float *c = cs + m * P, *s = sn + m * P;
        for (size_t h = 0; h < H; h++)
            for (size_t j = 0; j < P; j++) {
                float *p = x + h * DH + 2 * j, a = p[0], bb = p[1];
                p[0] = a * c[j] - bb * s[j];
                p[1] = a * s[j] + bb * c[j];
            }
    }
}

static void cpu_mlstm_gate(hd_backend *be, float *H, size_t ldh, const float *Xc, size_t ldx, const float *skip,
                           const float *Z, size_t ldz, size_t M, size_t C)
{
    #pragma omp parallel for schedule(static) if (M * C > 32768)
    for (size_t m = 0; m < M; m++) {
        float *h = H + m * ldh;
        const float *xc = Xc + m * ldx, *z = Z + m * ldz;
        for (size_t c = 0; c < C; c++) h[c] = (h[c] + skip[c] * xc[c]) * silu_f(z[c]);
    }
}

static void cpu_gelu_erf_mul(hd_backend *be, const float *G, size_t M, size_t U, float *Y)
{
    #pragma omp parallel for schedule(static) if (M * U > 32768)
    for (size_t m = 0; m < M; m++) {
        const float *g = G + m * 2 * U, *u = g + U;
        float *y = Y + m * U;
        for (size_t i = 0; i < U; i++) {
            double a = g[i];
            y[i] = (float)(0.5 * a * (1.0 + erf(a * M_SQRT1_2))) * u[i];
        }
    }
}

/* ---------------------------------------------------------------- mLSTM cell (§5.7) */

typedef struct {
    const float *q, *k, *v, *ig, *fg;
    size_t ld, ldg, L, DH;
    float *H;
    size_t ldh;
} mlstm_head;

/* One step of the recurrent stabilised form: C = f·C + i·k vᵀ, n = f·n + i·k with q scaled by 1/√DH
 * instead of k (the same products); state C [DH, DH], n [DH], *m; h̃ → h [DH].  Scratch qs [DH].
 * f32_m: the new stabiliser is rounded to float before it scales anything, so that a state kept in
 * float (mlstm_step) stays consistent with its m. */
static void mlstm_recur_step(const float *q, const float *k, const float *v, double igt, double fgt, size_t DH,
                             float *C, float *n, double *m, float *qs, float *h, int f32_m)
{
    double sc = 1.0 / sqrt((double)DH), lf = logsigmoid(fgt);
    double mn = lf + *m > igt ? lf + *m : igt;
    if (f32_m) mn = (float)mn;
    float fa = (float)exp(lf + *m - mn), ia = (float)exp(igt - mn);
    *m = mn;
    for (size_t d = 0; d < DH; d++) {
        float kd = ia * k[d], *Cd = C + d * DH;
        for (size_t e = 0; e < DH; e++) Cd[e] = fa * Cd[e] + kd * v[e];
        n[d] = fa * n[d] + kd;
        qs[d] = (float)(q[d] * sc);
    }
    double qn = 0.0;
    for (size_t e = 0; e < DH; e++) h[e] = 0.0f;
    for (size_t d = 0; d < DH; d++) {
        const float *Cd = C + d * DH;
        float qd = qs[d];
        for (size_t e = 0; e < DH; e++) h[e] += qd * Cd[e];
        qn += (double)qd * n[d];
    }
    double floor_ = exp(-mn), den = (fabs(qn) > floor_ ? fabs(qn) : floor_) + 1e-6;
    for (size_t e = 0; e < DH; e++) h[e] = (float)(h[e] / den);
}

/* Recurrent stabilised form over the whole sequence.  Scratch: C [DH, DH], n [DH], qs [DH]. */
static int mlstm_recurrent(const mlstm_head *a)
{
    size_t DH = a->DH;
    float *C = calloc(DH * DH + 2 * DH, sizeof(float));
    if (!C) return -1;
    float *n = C + DH * DH, *qs = n + DH;
    double m = 0.0;
    for (size_t t = 0; t < a->L; t++)
        mlstm_recur_step(a->q + t * a->ld, a->k + t * a->ld, a->v + t * a->ld, a->ig[t * a->ldg], a->fg[t * a->ldg], DH,
                         C, n, &m, qs, a->H + t * a->ldh, 0);
    free(C);
    return 0;
}

/* Parallel stabilised form, one row of the L×L decay matrix at a time (scratch O(L)).  bidir: no causal
 * mask; key s > t decays by the forget gates of positions t..s−1 (F[s−1] − F[t−1], §5.7). */
static int mlstm_parallel(const mlstm_head *a, int bidir)
{
    size_t L = a->L, DH = a->DH;
    double *F = malloc((L + 1) * sizeof(double));
    float *S = malloc((L ? L : 1) * sizeof(float)), *qs = malloc(DH * sizeof(float));
    if (!F || !S || !qs) { free(F); free(S); free(qs); return -1; }
    double sc = 1.0 / sqrt((double)DH), acc = 0.0;
    for (size_t t = 0; t < L; t++) { acc += logsigmoid(a->fg[t * a->ldg]); F[t] = acc; }
    for (size_t t = 0; t < L; t++) {
        const float *q = a->q + t * a->ld;
        for (size_t d = 0; d < DH; d++) qs[d] = (float)(q[d] * sc);
        /* S[s] = q_t·k_s / √DH, s ≤ t (bidir: s < L) */
        size_t n = bidir ? L : t + 1;
        double Fb = t ? F[t - 1] : 0.0;   /* bidir: log decay of key s > t is F[s−1] − Fb */
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)DH, 1.0f, a->k, (int)a->ld, qs, 1, 0.0f, S, 1);
        double mx = -INFINITY;
        for (size_t s = 0; s < n; s++) {
            double ld = (s <= t ? F[t] - F[s] : F[s - 1] - Fb) + a->ig[s * a->ldg];
            if (ld > mx) mx = ld;
        }
        double sum = 0.0;
        for (size_t s = 0; s < n; s++) {
            float w = (float)(S[s] * exp((s <= t ? F[t] - F[s] : F[s - 1] - Fb) + a->ig[s * a->ldg] - mx));
            S[s] = w;
            sum += w;
        }
        double floor_ = exp(-mx), den = (fabs(sum) > floor_ ? fabs(sum) : floor_) + 1e-6;
        float *h = a->H + t * a->ldh;
        cblas_sgemv(CblasRowMajor, CblasTrans, (int)n, (int)DH, (float)(1.0 / den), a->v, (int)a->ld, S, 1, 0.0f,
                    h, 1);
    }
    free(F); free(S); free(qs);
    return 0;
}

/* Chunkwise form (chunkwise_simple): exact in-chunk attention with the stabiliser max(rowmax, m + F_t),
 * the inter-chunk state (C, n, m) carried from chunk to chunk starting at 0.  C and n hold unscaled k;
 * q is scaled by 1/√DH. */
static int mlstm_chunkwise(const mlstm_head *a, size_t cs)
{
    size_t DH = a->DH, L = a->L;
    if (cs > L) cs = L;
    if (!cs) return 0;
    size_t nf = DH * DH + DH + 5 * cs * DH + cs * cs;
    float *C = calloc(nf, sizeof(float));
    double *F = malloc(cs * 3 * sizeof(double));
    if (!C || !F) { free(C); free(F); return -1; }
    float *n = C + DH * DH, *Q = n + DH, *K = Q + cs * DH, *V = K + cs * DH, *Hn = V + cs * DH, *Hi = Hn + cs * DH;
    float *E = Hi + cs * DH;
    double *stab = F + cs, *ig = stab + cs;
    double m = 0.0, sc = 1.0 / sqrt((double)DH);
    for (size_t c0 = 0; c0 < L; c0 += cs) {
        size_t nb = L - c0 < cs ? L - c0 : cs;
        double acc = 0.0;
        for (size_t t = 0; t < nb; t++) {
            size_t p = c0 + t;
            acc += logsigmoid(a->fg[p * a->ldg]);
            F[t] = acc;
            ig[t] = a->ig[p * a->ldg];
            const float *q = a->q + p * a->ld, *k = a->k + p * a->ld, *v = a->v + p * a->ld;
            for (size_t d = 0; d < DH; d++) Q[t * DH + d] = (float)(q[d] * sc);
            memcpy(K + t * DH, k, DH * sizeof(float));
            memcpy(V + t * DH, v, DH * sizeof(float));
        }
        /* E = Q Kᵀ, then decayed and stabilised in place (lower triangle) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)nb, (int)DH, 1.0f, Q, (int)DH, K, (int)DH,
                    0.0f, E, (int)nb);
        for (size_t t = 0; t < nb; t++) {
            double mx = m + F[t];
            for (size_t s = 0; s <= t; s++) {
                double ld = F[t] - F[s] + ig[s];
                if (ld > mx) mx = ld;
            }
            stab[t] = mx;
            float *e = E + t * nb;
            for (size_t s = 0; s <= t; s++) e[s] = (float)(e[s] * exp(F[t] - F[s] + ig[s] - mx));
            for (size_t s = t + 1; s < nb; s++) e[s] = 0.0f;
        }
        /* intra-chunk numerator Hi = E V and the inter-chunk term Hn = Q C */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nb, (int)DH, (int)nb, 1.0f, E, (int)nb, V, (int)DH,
                    0.0f, Hi, (int)DH);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nb, (int)DH, (int)DH, 1.0f, Q, (int)DH, C, (int)DH,
                    0.0f, Hn, (int)DH);
        for (size_t t = 0; t < nb; t++) {
            double w = exp(m + F[t] - stab[t]), se = 0.0, qn = 0.0;
            const float *e = E + t * nb, *qt = Q + t * DH;
            for (size_t s = 0; s <= t; s++) se += e[s];
            for (size_t d = 0; d < DH; d++) qn += (double)qt[d] * n[d];
            double tot = se + w * qn, floor_ = exp(-stab[t]);
            double den = (fabs(tot) > floor_ ? fabs(tot) : floor_) + 1e-6;
            float *h = a->H + (c0 + t) * a->ldh;
            for (size_t e2 = 0; e2 < DH; e2++) h[e2] = (float)((Hi[t * DH + e2] + w * Hn[t * DH + e2]) / den);
        }
        /* state update to the end of the chunk */
        double G = F[nb - 1], mloc = -INFINITY;
        for (size_t s = 0; s < nb; s++) {
            double as = ig[s] - F[s] + G;
            if (as > mloc) mloc = as;
        }
        double mn = G + m > mloc ? G + m : mloc;
        float old = (float)exp(G + m - mn);
        for (size_t s = 0; s < nb; s++) {
            float w = (float)exp(ig[s] - F[s] + G - mn);
            for (size_t d = 0; d < DH; d++) K[s * DH + d] *= w;
        }
        for (size_t d = 0; d < DH; d++) {
            float s2 = 0.0f;
            for (size_t s = 0; s < nb; s++) s2 += K[s * DH + d];
            n[d] = old * n[d] + s2;
        }
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)DH, (int)DH, (int)nb, 1.0f, K, (int)DH, V, (int)DH,
                    old, C, (int)DH);
        m = mn;
    }
    free(C);
    free(F);
    return 0;
}

static int cpu_mlstm_cell(hd_backend *be, const float *q, const float *k, const float *v, size_t ldqkv,
                          const float *ig, const float *fg, size_t ldg, size_t L, size_t NH, size_t DH, int form,
                          size_t chunk, float *H, size_t ldh)
{
    int fail = 0;
    #pragma omp parallel for schedule(dynamic, 1) if (NH > 1 && L * DH > 4096)
    for (size_t h = 0; h < NH; h++) {
        FTZ_BEGIN;
        mlstm_head a = {q + h * DH, k + h * DH, v + h * DH, ig + h, fg + h, ldqkv, ldg, L, DH, H + h * DH, ldh};
        int r = form == HD_MLSTM_PARALLEL || form == HD_MLSTM_PARALLEL_BIDIR ? mlstm_parallel(&a, form == HD_MLSTM_PARALLEL_BIDIR)
                : form == HD_MLSTM_RECURRENT ? mlstm_recurrent(&a)
                                             : mlstm_chunkwise(&a, chunk ? chunk : 64);
        FTZ_END;
        if (r) {
            #pragma omp atomic write
            fail = 1;
        }
    }
    if (fail) { hd_set_error(HD_EMODEL, "out of memory for the mLSTM cell scratch (L = %zu)", L); return -1; }
    return 0;
}

/* ---------------------------------------------------------------- sLSTM cell (§5.8) */

/* One head h over L positions from the state c, n, m (double) and y (float) [DH] each, left at the last
 * position; fresh: the state is the start (all zero), where the first position sets m = ĩ and has no
 * recurrent input.  Output of head h to slot `slot` of Y.  Scratch raw [4·DH]. */
static void slstm_head(const float *Wx, size_t ldw, const float *R, const float *b, size_t L, size_t NH, size_t DH,
                       size_t h, size_t slot, int fresh, double *c, double *n, double *m, float *y, float *raw,
                       float *Y, size_t ldy)
{
    size_t D = NH * DH;
    const float *Rh = R + h * DH * 4 * DH, *bh = b + h * 4 * DH;
    for (size_t t = 0; t < L; t++) {
        const float *wx = Wx + t * ldw;
        int first = t == 0 && fresh;
        for (size_t g = 0; g < 4; g++)
            for (size_t j = 0; j < DH; j++) raw[g * DH + j] = wx[g * D + h * DH + j] + bh[g * DH + j];
        if (!first)
            for (size_t d = 0; d < DH; d++) {
                const float *Rd = Rh + d * 4 * DH;
                float yd = y[d];
                for (size_t gj = 0; gj < 4 * DH; gj++) raw[gj] += yd * Rd[gj];
            }
        float *out = Y + t * ldy + slot * DH;
        for (size_t j = 0; j < DH; j++) {
            double ir = raw[j], fr = raw[DH + j], zr = raw[2 * DH + j], orw = raw[3 * DH + j];
            double lfm = m[j] + logsigmoid(fr);
            double mn = first ? ir : (ir > lfm ? ir : lfm);
            double ia = exp(ir - mn), fa = exp(lfm - mn);
            c[j] = fa * c[j] + ia * tanh(zr);
            n[j] = fa * n[j] + ia;
            m[j] = mn;
            double og = 1.0 / (1.0 + exp(-orw));
            y[j] = (float)(og * c[j] / n[j]);
            out[j] = y[j];
        }
    }
}

/* The cell over L positions per head; state: NULL (start from zero, forget the end state) or the
 * c, n, m, y [DH] of every head (slstm_cell_state's layout), read and updated. */
static int slstm_run(const float *Wx, size_t ldw, const float *R, const float *b, size_t L, size_t NH, size_t DH,
                     int rev_heads, float *state, float *Y, size_t ldy)
{
    int fail = 0;
    #pragma omp parallel for schedule(dynamic, 1) if (NH > 1 && L * DH > 4096)
    for (size_t h = 0; h < NH; h++) {
        float *raw = malloc((4 * DH + DH) * sizeof(float));
        double *st = malloc(3 * DH * sizeof(double));
        if (!raw || !st) {
            free(raw); free(st);
            #pragma omp atomic write
            fail = 1;
            continue;
        }
        FTZ_BEGIN;
        float *y = raw + 4 * DH, *sh = state ? state + h * 4 * DH : NULL;
        double *c = st, *n = st + DH, *m = st + 2 * DH;
        int fresh = 1;
        for (size_t j = 0; j < DH; j++) {
            c[j] = sh ? sh[j] : 0.0;
            n[j] = sh ? sh[DH + j] : 0.0;
            m[j] = sh ? sh[2 * DH + j] : 0.0;
            y[j] = sh ? sh[3 * DH + j] : 0.0f;
            if (n[j] != 0.0) fresh = 0;
        }
        slstm_head(Wx, ldw, R, b, L, NH, DH, h, rev_heads ? NH - 1 - h : h, fresh, c, n, m, y, raw, Y, ldy);
        if (sh)   /* c and n are relative to exp(m): rescaled to the m stored in float */
            for (size_t j = 0; j < DH; j++) {
                float mf = (float)m[j];
                double sc = exp(m[j] - (double)mf);
                sh[j] = (float)(c[j] * sc);
                sh[DH + j] = (float)(n[j] * sc);
                sh[2 * DH + j] = mf;
                sh[3 * DH + j] = y[j];
            }
        FTZ_END;
        free(raw);
        free(st);
    }
    if (fail) { hd_set_error(HD_EMODEL, "out of memory for the sLSTM cell scratch"); return -1; }
    return 0;
}

static int cpu_slstm_cell(hd_backend *be, const float *Wx, size_t ldw, const float *R, const float *b, size_t L,
                          size_t NH, size_t DH, int rev_heads, float *Y, size_t ldy)
{
    return slstm_run(Wx, ldw, R, b, L, NH, DH, rev_heads, NULL, Y, ldy);
}

static int cpu_slstm_cell_state(hd_backend *be, const float *Wx, size_t ldw, const float *R, const float *b, size_t L,
                                size_t NH, size_t DH, float *state, float *Y, size_t ldy)
{
    return slstm_run(Wx, ldw, R, b, L, NH, DH, 0, state, Y, ldy);
}

/* ---------------------------------------------------------------- cached decoding of the mLSTM cell */

/* The state after L more positions in one step (the chunkwise inter-chunk update of §5.7 with the whole
 * span as one chunk): with F_s the cumulative log forget gate and G = F_{L−1}, a_s = ĩ_s − F_s + G,
 * m⁺ = max(G + m, max_s a_s), C⁺ = C·e^{G+m−m⁺} + Σ_s k_s v_sᵀ e^{a_s−m⁺}, n⁺ likewise with k_s.  The
 * sum runs in blocks of positions through GEMMs. */
static int mlstm_state_head(const float *k, const float *v, size_t ld, const float *ig, const float *fg, size_t ldg,
                            size_t L, size_t DH, float *C, float *n, float *mp)
{
    enum { BLK = 256 };
    double *a = malloc((L ? L : 1) * sizeof(double));
    float *K = malloc((size_t)BLK * DH * sizeof(float));
    if (!a || !K) { free(a); free(K); return -1; }
    double F = 0.0, amax = -INFINITY;
    for (size_t s = 0; s < L; s++) {
        F += logsigmoid(fg[s * ldg]);
        a[s] = ig[s * ldg] - F;   /* + G below */
    }
    double G = F, m = *mp;
    for (size_t s = 0; s < L; s++) {
        a[s] += G;
        if (a[s] > amax) amax = a[s];
    }
    double mn = (float)(G + m > amax ? G + m : amax);   /* kept in float: every scale uses the stored value */
    float old = (float)exp(G + m - mn);
    for (size_t d = 0; d < DH * DH; d++) C[d] *= old;
    for (size_t d = 0; d < DH; d++) n[d] *= old;
    for (size_t s0 = 0; s0 < L; s0 += BLK) {
        size_t nb = L - s0 < BLK ? L - s0 : BLK;
        for (size_t s = 0; s < nb; s++) {
            float w = (float)exp(a[s0 + s] - mn);
            const float *ks = k + (s0 + s) * ld;
            for (size_t d = 0; d < DH; d++) K[s * DH + d] = w * ks[d];
        }
        for (size_t d = 0; d < DH; d++) {
            float s2 = 0.0f;
            for (size_t s = 0; s < nb; s++) s2 += K[s * DH + d];
            n[d] += s2;
        }
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)DH, (int)DH, (int)nb, 1.0f, K, (int)DH, v + s0 * ld,
                    (int)ld, 1.0f, C, (int)DH);
    }
    *mp = (float)mn;
    free(a);
    free(K);
    return 0;
}

static int cpu_mlstm_state(hd_backend *be, const float *k, const float *v, size_t ldkv, const float *ig, const float *fg,
                           size_t ldg, size_t L, size_t NH, size_t DH, float *state)
{
    int fail = 0;
    size_t per = DH * DH + DH + 1;
    #pragma omp parallel for schedule(dynamic, 1) if (NH > 1 && L * DH > 4096)
    for (size_t h = 0; h < NH; h++) {
        FTZ_BEGIN;
        float *S = state + h * per;
        int r = mlstm_state_head(k + h * DH, v + h * DH, ldkv, ig + h, fg + h, ldg, L, DH, S, S + DH * DH,
                                 S + DH * DH + DH);
        FTZ_END;
        if (r) {
            #pragma omp atomic write
            fail = 1;
        }
    }
    if (fail) { hd_set_error(HD_EMODEL, "out of memory for the mLSTM state scratch (L = %zu)", L); return -1; }
    return 0;
}

static int cpu_mlstm_step(hd_backend *be, const float *q, const float *k, const float *v, const float *ig,
                          const float *fg, size_t NH, size_t DH, float *state, float *H)
{
    size_t per = DH * DH + DH + 1;
    float *qs = malloc(DH * sizeof(float));
    if (!qs) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    FTZ_BEGIN;
    for (size_t h = 0; h < NH; h++) {
        float *S = state + h * per;
        double m = S[DH * DH + DH];
        mlstm_recur_step(q + h * DH, k + h * DH, v + h * DH, ig[h], fg[h], DH, S, S + DH * DH, &m, qs, H + h * DH, 1);
        S[DH * DH + DH] = (float)m;
    }
    FTZ_END;
    free(qs);
    return 0;
}

void hd_backend_cpu_xlstm_init(hd_backend *be)
{
    be->flip = cpu_flip;
    be->groupnorm = cpu_groupnorm;
    be->conv_rows = cpu_conv_rows;
    be->headwise = cpu_headwise;
    be->rope = cpu_rope;
    be->mlstm_cell = cpu_mlstm_cell;
    be->mlstm_gate = cpu_mlstm_gate;
    be->slstm_cell = cpu_slstm_cell;
    be->slstm_cell_state = cpu_slstm_cell_state;
    be->mlstm_state = cpu_mlstm_state;
    be->mlstm_step = cpu_mlstm_step;
    be->gelu_erf_mul = cpu_gelu_erf_mul;
}
