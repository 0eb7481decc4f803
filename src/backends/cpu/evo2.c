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
#include "backends/cpu/vecmath.h"
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
 * positions are packed once, for all panels.  A call of a few positions (cached decoding) takes the weights
 * unpacked (hd_cpu_bf16_gemv).  The panels are the tasks; when there are too few for the
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
            if (zero && !(Xp && Wp)) zero_block(Yb, ldy, ycm, mb, pn);
            /* the call's M, not the block's: a last block of a few positions (2+ threads split positions, 1 does
             * not) takes the packed kernel too, whose sums do not depend on the blocks; the gemv's would */
            if (M <= HD_CPU_BF16_GEMV_M) {   /* decoding: the weights as they are, no packing */
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

/* one row: Σx² in double, in 8 lanes added in a fixed order (one serial chain of 4,096 adds was 2 % of the 7B
 * forward), the scaling in double too (compiled per instruction set: 8 doubles a vector with AVX-512) */
HD_CLONES static void rmsnorm_row(const float *x, size_t D, const float *g, float eps, float *y)
{
    double l[8] = {0}, ss = 0;
    size_t d8 = D / 8 * 8;
    for (size_t d = 0; d < d8; d += 8)
        for (int j = 0; j < 8; j++) l[j] += (double)x[d + j] * x[d + j];
    for (size_t d = d8; d < D; d++) ss += (double)x[d] * x[d];
    ss += ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
    double r = 1.0 / (sqrt(ss / (double)D) + (double)eps);
    #pragma omp simd
    for (size_t d = 0; d < D; d++) y[d] = (float)((double)g[d] * ((double)x[d] * r));
}

static void cpu_rmsnorm_eps_out(hd_backend *be, const float *X, size_t M, size_t D, const float *g, float eps, float *Y)
{
    #pragma omp parallel for schedule(static) if (M * D > 32768)
    for (size_t m = 0; m < M; m++) rmsnorm_row(X + m * D, D, g, eps, Y + m * D);
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

/* One tile's online-softmax step: S [tq, ATT_TK] holds the scores of keys k0 … k0+tk−1 for queries of which the
 * first sees the keys < lim0 + 1, the next one more, and so on; on return S holds their exponentials (the
 * vectorised exp of vecmath.h) relative to the new running maximum (0 for keys a query does not see), mx and lsum
 * the running maximum and sum, and corr[i] the factor the query's accumulated output must be multiplied by (1
 * when the tile holds no key the query sees). */
HD_CLONES static void softmax_tile(float *S, size_t tq, size_t tk, size_t k0, size_t lim0, float *mx, float *lsum,
                                   float *corr)
{
    for (size_t i = 0; i < tq; i++) {
        float *s = S + i * ATT_TK, m_new = mx[i];
        size_t lim = lim0 + i + 1;   /* keys < lim are visible to this query */
        size_t nv = lim <= k0 ? 0 : lim - k0 < tk ? lim - k0 : tk;
        #pragma omp simd reduction(max : m_new)
        for (size_t j = 0; j < nv; j++) m_new = s[j] > m_new ? s[j] : m_new;
        if (!nv) { for (size_t j = 0; j < tk; j++) s[j] = 0; corr[i] = 1; continue; }
        float c = hd_expf(mx[i] - m_new), sum = 0;
        #pragma omp simd reduction(+ : sum)
        for (size_t j = 0; j < nv; j++) { s[j] = hd_expf(s[j] - m_new); sum += s[j]; }
        for (size_t j = nv; j < tk; j++) s[j] = 0;
        lsum[i] = lsum[i] * c + sum;
        mx[i] = m_new;
        corr[i] = c;
    }
}

/* float32: tasks of (head, ATT_TQ queries), each walking the keys it sees in tiles of ATT_TK, both products by
 * single-threaded SGEMM */
static int attention_f32(const float *Q, size_t ldq, size_t hsq, const float *K, size_t ldk, size_t hsk, const float *V,
                         size_t ldv, size_t hsv, size_t M, size_t NH, size_t DH, size_t pos0, float scale, float *O,
                         size_t ldo, size_t hso)
{
    size_t nq = (M + ATT_TQ - 1) / ATT_TQ, ntask = nq * NH;
    int failed = 0;
    #pragma omp parallel if (ntask > 1 && M * (pos0 + M) * DH > 65536)
    {
        float *S = malloc(ATT_TQ * ATT_TK * sizeof(float)), *acc = malloc(ATT_TQ * DH * sizeof(float));
        float *mx = malloc(3 * ATT_TQ * sizeof(float)), *lsum = mx ? mx + ATT_TQ : NULL, *corr = mx ? mx + 2 * ATT_TQ : NULL;
        int ok = S && acc && mx;
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
                softmax_tile(S, tq, tk, k0, pos0 + q0, mx, lsum, corr);
                for (size_t i = 0; i < tq; i++)
                    if (corr[i] != 1.0f)
                        for (size_t d = 0; d < DH; d++) acc[i * DH + d] *= corr[i];
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)tq, (int)DH, (int)tk, 1.0f, S, (int)ATT_TK,
                            Vh + k0 * ldv, (int)ldv, 1.0f, acc, (int)DH);
            }
            for (size_t i = 0; i < tq; i++) {
                float *o = O + (q0 + i) * ldo + h * hso, r = 1.0f / lsum[i];
                for (size_t d = 0; d < DH; d++) o[d] = acc[i * DH + d] * r;
            }
        }
        free(S); free(acc); free(mx);
    }
    return failed ? -1 : 0;
}

/* The bf16 path's softmax step and output update, 16 lanes of AVX-512 (that path runs only where AVX512_BF16,
 * hence AVX-512F, is present): softmax_tile's work with the reductions over a row in vectors, the scale folded
 * into the exp's argument, and the keys tk … tkf−1 of the packed tile (no query's here) zeroed too.  With Ap
 * (AMX) the probabilities go straight into the A tiles of P·V, rounded to bf16 pairs as hd_cpu_bf16_pack_x16
 * would pack them from S (kst steps of 32 keys; rows tq … up to a multiple of 32 zero), and S is left as it was:
 * the same bits without writing and re-reading the floats. */
#if defined(__x86_64__) && defined(__GNUC__)
#define ATT512 __attribute__((target("avx512f,avx512bf16")))
ATT512 static inline __mmask16 lanes(size_t n) { return (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u); }

ATT512 static void softmax_tile16(float *S, size_t tq, size_t tk, size_t tkf, size_t k0, size_t lim0, float sc, float *mx,
                                  float *lsum, float *corr, uint32_t *Ap, size_t kst)
{
    const __m512 vsc = _mm512_set1_ps(sc), ninf = _mm512_set1_ps(-INFINITY);
    for (size_t i = 0; i < tq; i++) {
        float *s = S + i * ATT_TK;
        uint32_t *a = Ap ? Ap + (i / 16) * kst * 256 + (i % 16) * 16 : NULL;   /* row i of the tiles of its 16 */
        size_t lim = lim0 + i + 1;
        size_t nv = lim <= k0 ? 0 : lim - k0 < tk ? lim - k0 : tk;
        if (!nv) {
            if (a)
                for (size_t t = 0; t < kst; t++) _mm512_store_si512(a + t * 256, _mm512_setzero_si512());
            else
                for (size_t j = 0; j < tkf; j += 16) _mm512_mask_storeu_ps(s + j, lanes(tkf - j), _mm512_setzero_ps());
            corr[i] = 1;
            continue;
        }
        __m512 vm = ninf;
        for (size_t j = 0; j < nv; j += 16)
            vm = _mm512_max_ps(vm, _mm512_mask_mul_ps(ninf, lanes(nv - j), _mm512_maskz_loadu_ps(lanes(nv - j), s + j), vsc));
        float m = _mm512_reduce_max_ps(vm), m_new = m > mx[i] ? m : mx[i];
        float c = hd_expf(mx[i] - m_new);
        __m512 vn = _mm512_set1_ps(-m_new), sum = _mm512_setzero_ps();
        if (a) {
            for (size_t j = 0; j < 32 * kst; j += 32) {   /* 32 keys: one row of one tile */
                __mmask16 v0 = lanes(nv > j ? nv - j : 0), v1 = lanes(nv > j + 16 ? nv - j - 16 : 0);
                __m512 e0 = _mm512_maskz_mov_ps(v0, hd_expf16(_mm512_fmadd_ps(_mm512_maskz_loadu_ps(v0, s + j), vsc, vn)));
                __m512 e1 = _mm512_maskz_mov_ps(v1, hd_expf16(_mm512_fmadd_ps(_mm512_maskz_loadu_ps(v1, s + j + 16), vsc, vn)));
                _mm512_store_si512(a + (j / 32) * 256, (__m512i)_mm512_cvtne2ps_pbh(e1, e0));
                sum = _mm512_add_ps(_mm512_add_ps(sum, e0), e1);
            }
        } else {
            for (size_t j = 0; j < tkf; j += 16) {
                __mmask16 vis = lanes(nv > j ? nv - j : 0);
                __m512 e = _mm512_maskz_mov_ps(vis, hd_expf16(_mm512_fmadd_ps(_mm512_maskz_loadu_ps(vis, s + j), vsc, vn)));
                _mm512_mask_storeu_ps(s + j, lanes(tkf - j), e);
                sum = _mm512_add_ps(sum, e);
            }
        }
        lsum[i] = lsum[i] * c + _mm512_reduce_add_ps(sum);
        mx[i] = m_new;
        corr[i] = c;
    }
    if (Ap)   /* the rows past tq of the last pair of 16 */
        for (size_t i = tq; i < (tq + 31) / 32 * 32; i++)
            for (size_t t = 0; t < kst; t++) _mm512_store_si512(Ap + (i / 16) * kst * 256 + t * 256 + (i % 16) * 16, _mm512_setzero_si512());
}

/* acc[i] = acc[i]·corr[i] + Ot[i] for tq rows of DH */
ATT512 static void acc_update(float *acc, const float *Ot, const float *corr, size_t tq, size_t DH)
{
    for (size_t i = 0; i < tq; i++) {
        float *a = acc + i * DH;
        const float *o = Ot + i * DH;
        __m512 c = _mm512_set1_ps(corr[i]);
        for (size_t d = 0; d < DH; d += 16) {
            __mmask16 k = lanes(DH - d);
            _mm512_mask_storeu_ps(a + d, k, _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, a + d), c, _mm512_maskz_loadu_ps(k, o + d)));
        }
    }
}
/* --precision bf16 (docs/models.md §6.9): the score and value products on the bf16 kernels (AMX tiles where
 * present, else VDPBF16PS), queries, keys, probabilities and values rounded to bf16, fp32 sums; the softmax in
 * float as above.  One task per head: its keys and values are packed once, ATT_SEG keys at a time (keys as the
 * B tiles of Q·Kᵀ, values as those of P·V, one ATT_TK tile each), its queries once (as A tiles, AMX), and every
 * query tile then walks the key tiles it sees with its running maximum, sum and output kept across segments.
 * The sums do not depend on the thread count. */
#define ATT_SEG 4096
static int attention_bf16(int amx, const float *Q, size_t ldq, size_t hsq, const float *K, size_t ldk, size_t hsk,
                          const float *V, size_t ldv, size_t hsv, size_t M, size_t NH, size_t DH, size_t pos0,
                          float scale, float *O, size_t ldo, size_t hso)
{
    size_t Lk = pos0 + M, ksd = hd_cpu_bf16_khp(DH) / 16, ksk = hd_cpu_bf16_khp(ATT_TK) / 16;
    size_t nbd = hd_cpu_bf16_nblk(DH), seg = Lk < ATT_SEG ? Lk : ATT_SEG;
    size_t kt_len = nbd * ksk * 256;                       /* one key tile's packed values */
    size_t nkt = (seg + ATT_TK - 1) / ATT_TK;               /* key tiles per segment */
    size_t bk_len = nkt * (ATT_TK / 16) * ksd * 256;        /* a segment's packed keys */
    int failed = 0;
    #pragma omp parallel if (NH > 1 && M * Lk * DH > 65536)
    {
        float *S = malloc(ATT_TQ * ATT_TK * sizeof(float)), *Ot = malloc(ATT_TQ * DH * sizeof(float));
        float *acc = malloc(M * DH * sizeof(float)), *st = malloc((2 * M + ATT_TQ) * sizeof(float));
        uint32_t *Bk = aligned_alloc(64, bk_len * sizeof(uint32_t)), *Bv = aligned_alloc(64, nkt * kt_len * sizeof(uint32_t));
        uint32_t *Aq = amx ? aligned_alloc(64, hd_cpu_amx_x_len(M, DH) * sizeof(uint32_t)) : NULL;
        uint32_t *Ap = amx ? aligned_alloc(64, hd_cpu_amx_x_len(ATT_TQ, ATT_TK) * sizeof(uint32_t)) : NULL;
        int ok = S && Ot && acc && st && Bk && Bv && (!amx || (Aq && Ap));
        if (!ok) {
            #pragma omp atomic write
            failed = 1;
        }
        #pragma omp for schedule(dynamic, 1)
        for (size_t h = 0; h < NH; h++) {
            if (!ok) continue;
            const float *Qh = Q + h * hsq, *Kh = K + h * hsk, *Vh = V + h * hsv;
            float *mx = st, *lsum = st + M, *corr = st + 2 * M;
            for (size_t i = 0; i < M; i++) { mx[i] = -INFINITY; lsum[i] = 0; }
            memset(acc, 0, M * DH * sizeof(float));
            if (amx)
                for (size_t i = 0; i < (M + 31) / 32 * 2; i++)
                    hd_cpu_bf16_pack_x16(0, 0, 16 * i, M, DH, Qh, ldq, ksd, Aq + i * ksd * 256);
            for (size_t s0 = 0; s0 < Lk && ok; s0 += ATT_SEG) {
                size_t s1 = Lk - s0 < ATT_SEG ? Lk : s0 + ATT_SEG;
                for (size_t k0 = s0; k0 < s1; k0 += ATT_TK) {
                    size_t tkf = s1 - k0 < ATT_TK ? s1 - k0 : ATT_TK, t = (k0 - s0) / ATT_TK;
                    for (size_t j = 0; j < ATT_TK / 16; j++)   /* keys: blocks of 16 as B tiles over d */
                        hd_cpu_bf16_pack_x16(0, 1, k0 + 16 * j, s1, DH, Kh, ldk, ksd, Bk + (t * (ATT_TK / 16) + j) * ksd * 256);
                    size_t kst = hd_cpu_bf16_khp(tkf) / 16;
                    for (size_t j = 0; j < nbd; j++)   /* values: Vᵀ, blocks of 16 d as B tiles over the tile's keys */
                        hd_cpu_bf16_pack_x16(1, 1, 16 * j, DH, tkf, Vh + k0 * ldv, ldv, kst, Bv + t * kt_len + j * kst * 256);
                }
                for (size_t q0 = 0; q0 < M && ok; q0 += ATT_TQ) {
                    size_t tq = M - q0 < ATT_TQ ? M - q0 : ATT_TQ, kend = pos0 + q0 + tq;
                    for (size_t k0 = s0; k0 < s1 && k0 < kend; k0 += ATT_TK) {
                        size_t tkf = s1 - k0 < ATT_TK ? s1 - k0 : ATT_TK, t = (k0 - s0) / ATT_TK;
                        size_t kst = hd_cpu_bf16_khp(tkf) / 16;
                        const uint32_t *bk = Bk + t * (ATT_TK / 16) * ksd * 256, *bv = Bv + t * kt_len;
                        int bad;
                        if (amx) bad = hd_cpu_amx_gemm_packed(Aq + q0 / 16 * ksd * 256, tq, tkf, DH, bk, 0, 1, S, ATT_TK);
                        else {
                            for (size_t i = 0; i < tq; i++) memset(S + i * ATT_TK, 0, tkf * sizeof(float));
                            bad = hd_cpu_bf16_gemm(0, 0, tq, tkf, DH, Qh + q0 * ldq, ldq, bk, S, ATT_TK);
                        }
                        size_t tk = kend - k0 < tkf ? kend - k0 : tkf;
                        softmax_tile16(S, tq, tk, tkf, k0, pos0 + q0, scale, mx + q0, lsum + q0, corr, amx ? Ap : NULL, kst);
                        if (amx) {
                            bad |= hd_cpu_amx_gemm_packed(Ap, tq, DH, tkf, bv, 0, 1, Ot, DH);
                        } else {
                            memset(Ot, 0, tq * DH * sizeof(float));
                            bad |= hd_cpu_bf16_gemm(0, 0, tq, DH, tkf, S, ATT_TK, bv, Ot, DH);
                        }
                        if (bad) {   /* out of memory in a kernel */
                            #pragma omp atomic write
                            failed = 1;
                            ok = 0;
                            break;
                        }
                        acc_update(acc + q0 * DH, Ot, corr, tq, DH);
                    }
                }
            }
            for (size_t i = 0; i < M; i++) {
                float *o = O + i * ldo + h * hso, r = 1.0f / lsum[i];
                for (size_t d = 0; d < DH; d++) o[d] = acc[i * DH + d] * r;
            }
        }
        free(S); free(Ot); free(acc); free(st); free(Bk); free(Bv); free(Aq); free(Ap);
    }
    return failed ? -1 : 0;
}

#define HAVE_ATT_BF16 1
#endif   /* x86-64: the bf16 path (elsewhere the backend refuses bf16) */

static int cpu_attention(hd_backend *be, const float *Q, size_t ldq, size_t hsq, const float *K, size_t ldk, size_t hsk,
                         const float *V, size_t ldv, size_t hsv, size_t M, size_t Lk, size_t NH, size_t DH, size_t pos0,
                         float scale, float *O, size_t ldo, size_t hso)
{
    if (!M || !NH) return 0;
    if (Lk < pos0 + M) { hd_set_error(HD_EMODEL, "internal error: attention over %zu keys for queries up to %zu", Lk, pos0 + M); return -1; }
    int kind = hd_cpu_gemm_kind(be), rc;
    (void)kind;   /* (only the bf16 path, x86-64, reads it) */
#ifdef HAVE_ATT_BF16
    if (kind != HD_CPU_FP32 && M > HD_CPU_BF16_GEMV_M)
        rc = attention_bf16(kind == HD_CPU_AMX, Q, ldq, hsq, K, ldk, hsk, V, ldv, hsv, M, NH, DH, pos0, scale, O, ldo, hso);
    else
#endif
        rc = attention_f32(Q, ldq, hsq, K, ldk, hsk, V, ldv, hsv, M, NH, DH, pos0, scale, O, ldo, hso);
    if (rc) hd_set_error(HD_EMODEL, "out of memory for attention tiles");
    return rc;
}

/* ---------------------------------------------------------------- the modal filter and recurrence (§6.5) */

/* Eight channels c … c+n−1 (n ≤ 8) of the modal filter side by side, one vector lane each: every lane runs the
 * scalar recurrence below in its order (the sum over modes in mode order), so each channel's values do not
 * depend on its neighbours; lanes past n compute zeros.  Eight steps at a time: each mode's running power
 * feeds eight independent sums (one serial chain of 16 adds per step was the cost: 64 cycles of latency), and
 * the 8 × 8 block goes out one channel row at a time.  A running power below MODAL_TINY is set to zero: the
 * decaying modes otherwise pass through the subnormal doubles, each operation on them a microcode assist (at
 * 8,192 positions that made the filter 7× slower per position than at 1,024); terms that small cannot reach a
 * float32 filter value (or round one differently, short of a tie within 1e-280 of a rounding boundary). */
#define MODAL_TINY 1e-280
typedef double modal_v8 __attribute__((vector_size(64)));
typedef long long modal_m8 __attribute__((vector_size(64)));
/* x with its lanes of magnitude below MODAL_TINY set to +0 (the comparison's lanes are all ones or zero) */
#define MODAL_FLUSH(x) ((modal_v8)((modal_m8)(x) & ((modal_v8)((modal_m8)(x) & INT64_MAX) >= MODAL_TINY)))
HD_CLONES static void modal_filter8(const float *R, const float *logp, size_t S, size_t cpg, size_t c0, size_t c, size_t n,
                                    size_t T, float *k, size_t ldk, modal_v8 *p)
{
    modal_v8 *cur = p + S;
    for (size_t s = 0; s < S; s++)
        for (size_t l = 0; l < 8; l++) p[s][l] = l < n ? exp((double)logp[(c0 + c + l) / cpg * S + s]) : 0.0;
    for (size_t t0 = 0; t0 < T; t0 += 8) {   /* (MODAL_RESYNC is a multiple of 8) */
        if (t0 % MODAL_RESYNC == 0)   /* R·exp(λt) exactly, then running powers */
            for (size_t s = 0; s < S; s++) {
                for (size_t l = 0; l < 8; l++) {
                    size_t g = (c0 + c + l) / cpg;
                    cur[s][l] = l < n ? (double)R[g * S + s] * exp((double)logp[g * S + s] * (double)t0) : 0.0;
                }
                cur[s] = MODAL_FLUSH(cur[s]);
            }
        modal_v8 v[8] = {{0}};
        for (size_t s = 0; s < S; s++) {
            modal_v8 x = cur[s], q = p[s];
            for (int j = 0; j < 8; j++) {
                v[j] += x;
                x *= q;
            }
            cur[s] = MODAL_FLUSH(x);
        }
        size_t nt = T - t0 < 8 ? T - t0 : 8;
        for (size_t l = 0; l < n; l++) {
            float row[8];
            for (int j = 0; j < 8; j++) row[j] = (float)v[j][l];
            memcpy(k + (c + l) * ldk + t0, row, nt * sizeof(float));
        }
    }
}

static void cpu_modal_filter(hd_backend *be, const float *R, const float *logp, size_t S, size_t cpg, size_t c0, size_t C,
                             size_t T, float *k, size_t ldk)
{
    #pragma omp parallel if (C * T * S > 65536)
    {
        modal_v8 *p = aligned_alloc(64, 2 * (S ? S : 1) * sizeof(modal_v8));
        #pragma omp for schedule(static)
        for (size_t c = 0; c < C; c += 8)
            if (p) modal_filter8(R, logp, S, cpg, c0, c, C - c < 8 ? C - c : 8, T, k, ldk, p);
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
            hd_cpu_mul(a, b, a, U);
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
