/* evo2.c -- the CPU ops of the Evo 2 family (docs/models.md §6): GEMMs on BF16 weights converted
 * panel by panel, the RMSNorm with eps outside the root, GPT-NeoX rotary embeddings, tiled causal attention
 * with an online softmax, the modal (HCL) filter and recurrence, and the row shift of the decoding caches.
 *
 * Every op splits its work into tasks whose boundaries do not depend on the thread count (fixed panels of
 * weight rows and blocks of positions for the GEMMs, (head, query tile) pairs for attention, channels for the
 * modal ops); each output element is computed by one task in a fixed order, so results are bit-identical for
 * any thread count.  Products of activations run in float (single-threaded OpenBLAS per task, as in
 * cpu.c); norms, angles and the modal recurrence run in double. */
#include "backends/cpu/cpu.h"
#include "util.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LIN_PANEL 256    /* weight rows converted at a time */
#define LIN_BLOCK 256    /* positions per GEMM */
#define ATT_TQ 64        /* queries per attention tile */
#define ATT_TK 128       /* keys per attention tile */
#define MODAL_RESYNC 4096   /* the modal filter's running powers are recomputed exactly every so many steps */

static const uint16_t *cpu_weights_bf16(hd_backend *be, const uint16_t *host, size_t n) { return host; }

/* ---------------------------------------------------------------- GEMMs on BF16 or F32 weights */

static void bf16_rows_to_f32(const uint16_t *w, size_t n, float *out)
{
    #pragma omp simd
    for (size_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)w[i] << 16;
        memcpy(&out[i], &u, 4);
    }
}

/* Y[positions m0 … m0+mb, outputs n0 … n0+pn] += X·Wᵀ by single-threaded SGEMM, BF16 weights converted
 * into panel (rows one at a time when there is none) */
static void sgemm_task(const float *X, size_t m0, size_t mb, size_t K, size_t ldx, const void *W, int wbf16, size_t n0,
                       size_t pn, float *Y, size_t ldy, int xcm, int ycm, float *panel)
{
    const float *Xb = xcm ? X + m0 : X + m0 * ldx;
    size_t step = wbf16 && !panel ? 1 : pn;
    for (size_t r0 = n0; r0 < n0 + pn; r0 += step) {
        size_t rn = step;
        float row[wbf16 && !panel ? K : 1];
        const float *Wp;
        if (wbf16) {
            Wp = panel ? panel : row;
            bf16_rows_to_f32((const uint16_t *)W + r0 * K, rn * K, (float *)Wp);
        } else Wp = (const float *)W + r0 * K;
        if (ycm)   /* Yt[n, m] += Wp[n, :]·x_m */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, xcm ? CblasNoTrans : CblasTrans, (int)rn, (int)mb, (int)K, 1.0f, Wp,
                        (int)K, Xb, (int)ldx, 1.0f, Y + r0 * ldy + m0, (int)ldy);
        else       /* Y[m, n] += x_m·Wp[n, :] */
            cblas_sgemm(CblasRowMajor, xcm ? CblasTrans : CblasNoTrans, CblasTrans, (int)mb, (int)rn, (int)K, 1.0f, Xb,
                        (int)ldx, Wp, (int)K, 1.0f, Y + m0 * ldy + r0, (int)ldy);
    }
}

/* Y's block of a task set to zero (the tasks of a zero-start product that do not start from zero themselves) */
static void zero_block(float *Yb, size_t ldy, int ycm, size_t mb, size_t pn)
{
    for (size_t r = 0; r < (ycm ? pn : mb); r++) memset(Yb + r * ldy, 0, (ycm ? mb : pn) * sizeof(float));
}

/* --precision bf16 (docs/models.md §6.9): each panel of LIN_PANEL weight rows packed once for the bf16 kernel
 * (AMX tiles where present, else VDPBF16PS; bf16.c) — stored BF16 weights as they are, float32 weights
 * rounded to nearest even — and run against the positions, rounded to bf16, with fp32 sums.  For AMX the
 * positions are packed once, for all panels.  A few positions (cached decoding) take the weights unpacked
 * (hd_cpu_bf16_gemv).  The panels are the tasks; when there are too few for the
 * threads, blocks of positions too (the panel then packed once per task).  The kernels' sums do not depend on
 * the tasks, so neither do the results.  A task without memory for its panel runs in fp32.  The packed
 * positions are the backend's (hd_cpu_xpack; same_x: the previous call's, HD_LIN_SAME_X), the panels each
 * thread's scratch; zero: Y was not set and the AMX products start from zero (a task on another kernel zeroes
 * its block first). */
static void linear_bf16(hd_backend *be, const float *X, size_t M, size_t K, size_t ldx, const void *W, int wbf16,
                        size_t N, float *Y, size_t ldy, int xcm, int ycm, int same_x, int zero)
{
    int amx = hd_cpu_gemm_kind(be) == HD_CPU_AMX;
    size_t np = (N + LIN_PANEL - 1) / LIN_PANEL, nb = 1, nt = (size_t)(be->nthreads > 0 ? be->nthreads : 1);
    if (np < 2 * nt && M > LIN_BLOCK) nb = (M + LIN_BLOCK - 1) / LIN_BLOCK;
    size_t mstep = nb == 1 ? M : LIN_BLOCK, ntask = np * nb;
    /* channel-major out: positions as B tiles */
    const uint32_t *Xp = amx && M > HD_CPU_BF16_GEMV_M ? hd_cpu_xpack(be, xcm != 0, ycm != 0, M, K, X, ldx, same_x) : NULL;
    #pragma omp parallel if (ntask > 1 && M * N * K > (1u << 20))
    {
        uint32_t *Wp = M > HD_CPU_BF16_GEMV_M ? hd_cpu_scratch(HD_CPU_SCRATCH_PANEL, hd_cpu_bf16_packed_len(LIN_PANEL, K) * sizeof(uint32_t)) : NULL;
        #pragma omp for schedule(dynamic, 1)
        for (size_t task = 0; task < ntask; task++) {
            size_t p = task / nb, blk = task % nb;
            size_t n0 = p * LIN_PANEL, pn = N - n0 < LIN_PANEL ? N - n0 : LIN_PANEL;
            size_t m0 = blk * mstep, mb = M - m0 < mstep ? M - m0 : mstep;
            const float *Xb = xcm ? X + m0 : X + m0 * ldx;
            float *Yb = ycm ? Y + n0 * ldy + m0 : Y + m0 * ldy + n0;
            if (zero && !(Xp && Wp && mb > HD_CPU_BF16_GEMV_M)) zero_block(Yb, ldy, ycm, mb, pn);
            if (mb <= HD_CPU_BF16_GEMV_M) {   /* decoding: the weights as they are, no packing */
                const void *Wn = wbf16 ? (const void *)((const uint16_t *)W + n0 * K) : (const void *)((const float *)W + n0 * K);
                if (!hd_cpu_bf16_gemv(xcm != 0, ycm != 0, mb, pn, K, Xb, ldx, Wn, wbf16, Yb, ldy)) continue;
            } else if (Wp) {
                const void *Wn = wbf16 ? (const void *)((const uint16_t *)W + n0 * K) : (const void *)((const float *)W + n0 * K);
                const uint32_t *Xb16 = Xp ? Xp + m0 * hd_cpu_bf16_khp(K) : NULL;
                if (Xp && ycm) {   /* Yt = Wpanel·Xᵀ: the panel as A tiles, stored in place */
                    hd_cpu_bf16_pack_rows(Wn, wbf16, pn, K, Wp);
                    if (!hd_cpu_amx_gemm_packed(Wp, pn, mb, K, Xb16, 0, zero, Yb, ldy)) continue;
                } else {
                    hd_cpu_bf16_pack(Wn, wbf16, pn, K, Wp);
                    if (Xp ? !hd_cpu_amx_gemm_packed(Xb16, mb, pn, K, Wp, 0, zero, Yb, ldy)
                           : !(amx ? hd_cpu_amx_gemm : hd_cpu_bf16_gemm)(xcm != 0, ycm != 0, mb, pn, K, Xb, ldx, Wp, Yb, ldy))
                        continue;
                }
            }
            if (zero) zero_block(Yb, ldy, ycm, mb, pn);   /* (a kernel that failed left Y as it was) */
            float *panel = wbf16 ? hd_cpu_scratch(HD_CPU_SCRATCH_F32, LIN_PANEL * K * sizeof(float)) : NULL;
            sgemm_task(X, m0, mb, K, ldx, W, wbf16, n0, pn, Y, ldy, xcm, ycm, panel);
        }
    }
}

static void cpu_linear_ex(hd_backend *be, const float *X, size_t M, size_t K, size_t ldx, const void *W, int wbf16,
                          const float *b, size_t N, float *Y, size_t ldy, int flags)
{
    if (!M || !N) return;
    int xcm = flags & HD_LIN_X_CM, ycm = flags & HD_LIN_Y_CM, acc = flags & HD_LIN_ACC;
    /* the bias (or zero) first; every GEMM then accumulates (beta = 1) — except that the AMX kernel starts a
     * product without bias from zero itself (the same sums: 0 + x is x) */
    int zero = !acc && !b && hd_cpu_gemm_kind(be) == HD_CPU_AMX && M > HD_CPU_BF16_GEMV_M;
    if (!zero && ycm) {
        #pragma omp parallel for schedule(static) if (M * N > 65536)
        for (size_t n = 0; n < N; n++) {
            float *y = Y + n * ldy, v = b ? b[n] : 0.0f;
            if (acc) { if (b) for (size_t m = 0; m < M; m++) y[m] += v; }
            else for (size_t m = 0; m < M; m++) y[m] = v;
        }
    } else if (!zero) {
        #pragma omp parallel for schedule(static) if (M * N > 65536)
        for (size_t m = 0; m < M; m++) {
            float *y = Y + m * ldy;
            if (acc) { if (b) for (size_t n = 0; n < N; n++) y[n] += b[n]; }
            else if (b) memcpy(y, b, N * sizeof(float));
            else memset(y, 0, N * sizeof(float));
        }
    }
    if (hd_cpu_gemm_kind(be) != HD_CPU_FP32) {
        linear_bf16(be, X, M, K, ldx, W, wbf16, N, Y, ldy, xcm, ycm, (flags & HD_LIN_SAME_X) != 0, zero);
        return;
    }
    size_t np = (N + LIN_PANEL - 1) / LIN_PANEL, nb = (M + LIN_BLOCK - 1) / LIN_BLOCK, ntask = np * nb;
    #pragma omp parallel if (ntask > 1 && M * N * K > (1u << 20))
    {
        float *panel = wbf16 ? hd_cpu_scratch(HD_CPU_SCRATCH_F32, LIN_PANEL * K * sizeof(float)) : NULL;
        #pragma omp for schedule(dynamic, 1)
        for (size_t task = 0; task < ntask; task++) {
            size_t p = task / nb, blk = task % nb;
            size_t n0 = p * LIN_PANEL, pn = N - n0 < LIN_PANEL ? N - n0 : LIN_PANEL;
            size_t m0 = blk * LIN_BLOCK, mb = M - m0 < LIN_BLOCK ? M - m0 : LIN_BLOCK;
            sgemm_task(X, m0, mb, K, ldx, W, wbf16, n0, pn, Y, ldy, xcm, ycm, panel);
        }
    }
}

/* ---------------------------------------------------------------- RMSNorm, eps outside the root (§6.4) */

static void cpu_rmsnorm_eps_out(hd_backend *be, const float *X, size_t M, size_t D, const float *g, float eps, float *Y)
{
    #pragma omp parallel for schedule(static) if (M * D > 32768)
    for (size_t m = 0; m < M; m++) {
        const float *x = X + m * D;
        float *y = Y + m * D;
        /* Σx² in double, in 8 lanes added in a fixed order (one serial chain of 4,096 adds was 2 % of the 7B
         * forward) */
        double l[8] = {0}, ss = 0;
        size_t d8 = D / 8 * 8;
        for (size_t d = 0; d < d8; d += 8)
            for (int j = 0; j < 8; j++) l[j] += (double)x[d + j] * x[d + j];
        for (size_t d = d8; d < D; d++) ss += (double)x[d] * x[d];
        ss += ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
        double r = 1.0 / (sqrt(ss / (double)D) + (double)eps);
        for (size_t d = 0; d < D; d++) y[d] = (float)((double)g[d] * ((double)x[d] * r));
    }
}

/* ---------------------------------------------------------------- rotary embedding (§6.6) */

static void cpu_rope_neox(hd_backend *be, float *X, size_t ldx, size_t hs, size_t M, size_t NH, size_t DH, size_t pos0,
                          const float *inv_freq, double scale)
{
    size_t half = DH / 2;
    #pragma omp parallel if (M * NH * DH > 32768)
    {
        double *cs = malloc(2 * (half ? half : 1) * sizeof(double));
        #pragma omp for schedule(static)
        for (size_t m = 0; m < M; m++) {
            if (!cs) continue;
            double t = (double)(pos0 + m) / scale;
            for (size_t i = 0; i < half; i++) {
                double a = t * (double)inv_freq[i];
                cs[2 * i] = cos(a);
                cs[2 * i + 1] = sin(a);
            }
            for (size_t h = 0; h < NH; h++) {
                float *x = X + m * ldx + h * hs;
                for (size_t i = 0; i < half; i++) {
                    double a = x[i], b = x[i + half], c = cs[2 * i], s = cs[2 * i + 1];
                    x[i] = (float)(a * c - b * s);
                    x[i + half] = (float)(b * c + a * s);
                }
            }
        }
        free(cs);
    }
}

/* ---------------------------------------------------------------- tiled causal attention (§6.6) */

static int cpu_attention(hd_backend *be, const float *Q, size_t ldq, size_t hsq, const float *K, size_t ldk, size_t hsk,
                         const float *V, size_t ldv, size_t hsv, size_t M, size_t Lk, size_t NH, size_t DH, size_t pos0,
                         float scale, float *O, size_t ldo, size_t hso)
{
    if (!M || !NH) return 0;
    if (Lk < pos0 + M) { hd_set_error(HD_EMODEL, "internal error: attention over %zu keys for queries up to %zu", Lk, pos0 + M); return -1; }
    size_t nq = (M + ATT_TQ - 1) / ATT_TQ, ntask = nq * NH;
    int failed = 0;
    #pragma omp parallel if (ntask > 1 && M * Lk * DH > 65536)
    {
        float *S = malloc(ATT_TQ * ATT_TK * sizeof(float)), *acc = malloc(ATT_TQ * DH * sizeof(float));
        float *mx = malloc(ATT_TQ * sizeof(float)), *lsum = malloc(ATT_TQ * sizeof(float));
        int ok = S && acc && mx && lsum;
        if (!ok) {
            #pragma omp atomic write
            failed = 1;
        }
        #pragma omp for schedule(dynamic, 1)
        for (size_t task = 0; task < ntask; task++) {
            if (!ok) continue;
            size_t h = task / nq, q0 = (task % nq) * ATT_TQ, tq = M - q0 < ATT_TQ ? M - q0 : ATT_TQ;
            const float *Qh = Q + q0 * ldq + h * hsq, *Kh = K + h * hsk, *Vh = V + h * hsv;
            size_t kend = pos0 + q0 + tq;   /* keys [0, kend) are visible to some query of the tile */
            for (size_t i = 0; i < tq; i++) { mx[i] = -INFINITY; lsum[i] = 0; }
            memset(acc, 0, tq * DH * sizeof(float));
            for (size_t k0 = 0; k0 < kend; k0 += ATT_TK) {
                size_t tk = kend - k0 < ATT_TK ? kend - k0 : ATT_TK;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)tq, (int)tk, (int)DH, scale, Qh, (int)ldq,
                            Kh + k0 * ldk, (int)ldk, 0.0f, S, (int)ATT_TK);
                for (size_t i = 0; i < tq; i++) {
                    float *s = S + i * ATT_TK, m_new = mx[i];
                    size_t lim = pos0 + q0 + i + 1;   /* keys < lim are visible to this query */
                    size_t nv = lim <= k0 ? 0 : lim - k0 < tk ? lim - k0 : tk;
                    for (size_t j = 0; j < nv; j++) m_new = s[j] > m_new ? s[j] : m_new;
                    if (!nv) { for (size_t j = 0; j < tk; j++) s[j] = 0; continue; }
                    float corr = expf(mx[i] - m_new), sum = 0;
                    for (size_t j = 0; j < nv; j++) { s[j] = expf(s[j] - m_new); sum += s[j]; }
                    for (size_t j = nv; j < tk; j++) s[j] = 0;
                    lsum[i] = lsum[i] * corr + sum;
                    mx[i] = m_new;
                    float *a = acc + i * DH;
                    for (size_t d = 0; d < DH; d++) a[d] *= corr;
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)tq, (int)DH, (int)tk, 1.0f, S, (int)ATT_TK,
                            Vh + k0 * ldv, (int)ldv, 1.0f, acc, (int)DH);
            }
            for (size_t i = 0; i < tq; i++) {
                float *o = O + (q0 + i) * ldo + h * hso, r = 1.0f / lsum[i];
                for (size_t d = 0; d < DH; d++) o[d] = acc[i * DH + d] * r;
            }
        }
        free(S); free(acc); free(mx); free(lsum);
    }
    if (failed) { hd_set_error(HD_EMODEL, "out of memory for attention tiles"); return -1; }
    return 0;
}

/* ---------------------------------------------------------------- the modal filter and recurrence (§6.5) */

static void cpu_modal_filter(hd_backend *be, const float *R, const float *logp, size_t S, size_t cpg, size_t c0, size_t C,
                             size_t T, float *k, size_t ldk)
{
    #pragma omp parallel if (C * T * S > 65536)
    {
        double *p = malloc(2 * (S ? S : 1) * sizeof(double)), *cur = p ? p + S : NULL;
        #pragma omp for schedule(static)
        for (size_t c = 0; c < C; c++) {
            if (!p) continue;
            size_t g = (c0 + c) / cpg;
            const float *r = R + g * S, *lp = logp + g * S;
            for (size_t s = 0; s < S; s++) p[s] = exp((double)lp[s]);
            float *kc = k + c * ldk;
            for (size_t t = 0; t < T; t++) {
                if (t % MODAL_RESYNC == 0)   /* R·exp(λt) exactly, then running powers */
                    for (size_t s = 0; s < S; s++) cur[s] = (double)r[s] * exp((double)lp[s] * (double)t);
                double v = 0;
                for (size_t s = 0; s < S; s++) { v += cur[s]; cur[s] *= p[s]; }
                kc[t] = (float)v;
            }
        }
        free(p);
    }
}

static void cpu_modal_scan(hd_backend *be, const float *x, size_t ldx, size_t C, size_t T, const float *R, const float *logp,
                           size_t S, size_t cpg, size_t c0, const float *D, double *state, float *y, size_t ldy)
{
    #pragma omp parallel if (C * T * S > 65536)
    {
        double *p = malloc((S ? S : 1) * sizeof(double));
        #pragma omp for schedule(static)
        for (size_t c = 0; c < C; c++) {
            if (!p) continue;
            size_t g = (c0 + c) / cpg;
            const float *r = R + g * S, *lp = logp + g * S, *xc = x + c * ldx;
            double *st = state + c * S;
            for (size_t s = 0; s < S; s++) p[s] = exp((double)lp[s]);
            for (size_t t = 0; t < T; t++) {
                double xv = xc[t], v = 0;
                for (size_t s = 0; s < S; s++) {
                    st[s] = p[s] * st[s] + xv;
                    v += (double)r[s] * st[s];
                }
                if (y) y[c * ldy + t] = (float)(v + (D ? (double)D[c] * xv : 0.0));
            }
        }
        free(p);
    }
}

static void cpu_shift_left(hd_backend *be, float *buf, size_t C, size_t W, size_t ld)
{
    if (W < 2) return;
    for (size_t c = 0; c < C; c++) memmove(buf + c * ld, buf + c * ld + 1, (W - 1) * sizeof(float));
}

static void cpu_copy_cm(hd_backend *be, const float *src, size_t lds, float *dst, size_t ldd, size_t C, size_t T)
{
    for (size_t c = 0; c < C; c++) memcpy(dst + c * ldd, src + c * lds, T * sizeof(float));
}

/* ---------------------------------------------------------------- the gated MLP product (§6.7) */

static void cpu_gated_act(hd_backend *be, float *A, size_t lda, const float *B, size_t ldb, size_t M, size_t U, int act)
{
    #pragma omp parallel for schedule(static) if (M * U > 65536)
    for (size_t m = 0; m < M; m++) {
        float *a = A + m * lda;
        const float *b = B + m * ldb;
        switch (act) {
        case HD_ACT_GELU:
            for (size_t u = 0; u < U; u++) {
                double x = a[u];
                a[u] = (float)(0.5 * x * (1.0 + erf(x * M_SQRT1_2)) * (double)b[u]);
            }
            break;
        case HD_ACT_SILU:
            for (size_t u = 0; u < U; u++) {
                double x = a[u];
                a[u] = (float)(x / (1.0 + exp(-x)) * (double)b[u]);
            }
            break;
        default:
            for (size_t u = 0; u < U; u++) a[u] *= b[u];
        }
    }
}

void hd_backend_cpu_evo2_init(hd_backend *be)
{
    be->copy_cm = cpu_copy_cm;
    be->gated_act = cpu_gated_act;
    be->weights_bf16 = cpu_weights_bf16;
    be->linear_ex = cpu_linear_ex;
    be->rmsnorm_eps_out = cpu_rmsnorm_eps_out;
    be->rope_neox = cpu_rope_neox;
    be->attention = cpu_attention;
    be->modal_filter = cpu_modal_filter;
    be->modal_scan = cpu_modal_scan;
    be->shift_left = cpu_shift_left;
}
