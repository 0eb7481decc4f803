/* mamba.c -- CPU ops of the Mamba (Caduceus) blocks: SiLU, gating, flips and the selective
 * scan (docs/models.md §4.4).
 *
 * The scan is the hot loop (L·E·N exponentials per direction and layer).  It works on blocks of
 * SCAN_CB channels whose state is stored state-major, h[n][c], so that every update is a plain loop over
 * the SCAN_CB channels of a block for each state n: the compiler vectorises it (no intrinsics), and
 * exp/log come from the polynomial versions below, which vectorise too (libm's expf does not without
 * -ffast-math).  OpenMP threads take whole channel blocks; the block layout does not depend on the
 * thread count, so results are bit-identical for any number of threads. */
/* Let the vectoriser if-convert the clamps and selects below: without it GCC keeps branches, since a
 * float comparison may raise an FP exception (nothing here inspects the FP exception flags). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include "backends/cpu/cpu.h"
#include "util.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_CB 8        /* channels per block (vector lanes) */
#define SCAN_TC 64       /* time steps per batch of precomputed Δ */

/* e^x for float, vectorisable: x = k·ln2 + r, |r| ≤ ln2/2, e^r by its Taylor polynomial to r^7
 * (truncation < 1e-8 relative), 2^k built in the exponent bits.  Arguments are clamped to
 * [−87, 88], so tiny results are ≈ 1e-38 instead of 0. */
static inline float v_exp(float x)
{
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    float kf = x * 1.44269504088896341f + 12582912.0f;   /* 1.5·2^23: round to the nearest integer */
    kf -= 12582912.0f;
    float r = x - kf * 0.693145751953125f;
    r = r - kf * 1.428606765330187045e-06f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits = ((int32_t)kf + 127) << 23;
    float s;
    memcpy(&s, &bits, sizeof s);
    return p * s;
}

/* log(1 + y) for y in [0, 1]: 2·atanh(s), s = y/(2 + y) ≤ 1/3, series to s^17 (relative error < 1e-9,
 * no cancellation for small y). */
static inline float v_log1p01(float y)
{
    float s = y / (2.0f + y), s2 = s * s;
    float p = 1.0f / 17.0f;
    p = p * s2 + 1.0f / 15.0f;
    p = p * s2 + 1.0f / 13.0f;
    p = p * s2 + 1.0f / 11.0f;
    p = p * s2 + 1.0f / 9.0f;
    p = p * s2 + 1.0f / 7.0f;
    p = p * s2 + 1.0f / 5.0f;
    p = p * s2 + 1.0f / 3.0f;
    p = p * s2 + 1.0f;
    return 2.0f * s * p;
}

/* softplus with PyTorch's threshold 20: v above 20, else log(1 + e^v) = max(v, 0) + log1p(e^−|v|) */
static inline float v_softplus(float v)
{
    float a = v < 0 ? -v : v;
    float sp = (v > 0 ? v : 0.0f) + v_log1p01(v_exp(-a));
    return v > 20.0f ? v : sp;
}

static inline float v_silu(float x) { return x / (1.0f + v_exp(-x)); }

static void cpu_silu(hd_backend *be, float *x, size_t n)
{
    #pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i0 = 0; i0 < n; i0 += 4096) {
        size_t i1 = n - i0 < 4096 ? n : i0 + 4096;
        #pragma omp simd
        for (size_t i = i0; i < i1; i++) x[i] = v_silu(x[i]);
    }
}

static void cpu_mul_silu_cm(hd_backend *be, float *y, size_t ldy, const float *z, size_t ldz, size_t C, size_t T)
{
    #pragma omp parallel for schedule(static) if (C * T > 32768)
    for (size_t c = 0; c < C; c++) {
        float *yc = y + c * ldy;
        const float *zc = z + c * ldz;
        #pragma omp simd
        for (size_t t = 0; t < T; t++) yc[t] *= v_silu(zc[t]);
    }
}

static void cpu_flip_cm(hd_backend *be, const float *src, size_t lds, float *dst, size_t ldd, size_t C, size_t T)
{
    if (C == 1) {
        #pragma omp parallel for schedule(static) if (T > 262144)
        for (size_t t = 0; t < T; t++) dst[t] = src[T - 1 - t];
        return;
    }
    #pragma omp parallel for schedule(static) if (C * T > 32768)
    for (size_t c = 0; c < C; c++) {
        const float *s = src + c * lds;
        float *d = dst + c * ldd;
        for (size_t t = 0; t < T; t++) d[t] = s[T - 1 - t];
    }
}

/* One block of `cb` ≤ SCAN_CB channels starting at e0; lanes beyond cb are padding (A = Δ = u = 0). */
static inline void scan_block(size_t e0, size_t cb, const size_t N, size_t T, const float *u, size_t ldu,
                              const float *dt, size_t lddt, const float *dt_bias, const float *A,
                              const float *B, const float *C, size_t ldbc, const float *Dskip,
                              float *state, float *y, size_t ldy, int flags)
{
    float h[N * SCAN_CB], At[N * SCAN_CB], Dv[SCAN_CB];
    float dl[SCAN_TC][SCAN_CB], du[SCAN_TC][SCAN_CB], ul[SCAN_TC][SCAN_CB], yl[SCAN_TC][SCAN_CB];
    for (size_t n = 0; n < N; n++)
        for (size_t c = 0; c < SCAN_CB; c++) {
            At[n * SCAN_CB + c] = c < cb ? A[(e0 + c) * N + n] : 0.0f;
            h[n * SCAN_CB + c] = c < cb && !(flags & HD_SCAN_FRESH) ? state[(e0 + c) * N + n] : 0.0f;
        }
    for (size_t c = 0; c < SCAN_CB; c++) Dv[c] = c < cb ? Dskip[e0 + c] : 0.0f;
    for (size_t t0 = 0; t0 < T; t0 += SCAN_TC) {
        size_t tn = T - t0 < SCAN_TC ? T - t0 : SCAN_TC;
        for (size_t c = 0; c < SCAN_CB; c++) {
            if (c >= cb) {
                for (size_t t = 0; t < tn; t++) dl[t][c] = du[t][c] = ul[t][c] = 0.0f;
                continue;
            }
            const float *dtc = dt + (e0 + c) * lddt + t0, *uc = u + (e0 + c) * ldu + t0;
            float bias = dt_bias ? dt_bias[e0 + c] : 0.0f;
            float dv[SCAN_TC];
            #pragma omp simd
            for (size_t t = 0; t < tn; t++) dv[t] = v_softplus(dtc[t] + bias);
            for (size_t t = 0; t < tn; t++) {
                dl[t][c] = dv[t];
                ul[t][c] = uc[t];
                du[t][c] = dv[t] * uc[t];
            }
        }
        for (size_t t = 0; t < tn; t++) {
            const float *Bt = B + (t0 + t) * ldbc, *Ct = C + (t0 + t) * ldbc;
            float acc[SCAN_CB];
            for (size_t c = 0; c < SCAN_CB; c++) acc[c] = 0.0f;
            for (size_t n = 0; n < N; n++) {
                float *hn = h + n * SCAN_CB;
                const float *An = At + n * SCAN_CB;
                float b = Bt[n], cc = Ct[n];
                #pragma omp simd
                for (size_t c = 0; c < SCAN_CB; c++) {
                    float v = v_exp(dl[t][c] * An[c]) * hn[c] + du[t][c] * b;
                    hn[c] = v;
                    acc[c] += cc * v;
                }
            }
            #pragma omp simd
            for (size_t c = 0; c < SCAN_CB; c++) yl[t][c] = acc[c] + Dv[c] * ul[t][c];
        }
        for (size_t c = 0; c < cb; c++) {
            float *yc = y + (e0 + c) * ldy;
            if (flags & HD_SCAN_REVERSE_Y) {
                float *yr = yc + (T - 1 - t0);
                if (flags & HD_SCAN_ACCUMULATE)
                    for (size_t t = 0; t < tn; t++) yr[-(ptrdiff_t)t] += yl[t][c];
                else
                    for (size_t t = 0; t < tn; t++) yr[-(ptrdiff_t)t] = yl[t][c];
            } else if (flags & HD_SCAN_ACCUMULATE) {
                for (size_t t = 0; t < tn; t++) yc[t0 + t] += yl[t][c];
            } else {
                for (size_t t = 0; t < tn; t++) yc[t0 + t] = yl[t][c];
            }
        }
    }
    for (size_t n = 0; n < N; n++)
        for (size_t c = 0; c < cb; c++) state[(e0 + c) * N + n] = h[n * SCAN_CB + c];
}

static void cpu_selective_scan(hd_backend *be, size_t E, size_t N, size_t T, const float *u, size_t ldu,
                               const float *dt, size_t lddt, const float *dt_bias, const float *A,
                               const float *B, const float *C, size_t ldbc, const float *Dskip,
                               float *state, float *y, size_t ldy, int flags)
{
    size_t nb = (E + SCAN_CB - 1) / SCAN_CB;
    if (!T) {
        if (flags & HD_SCAN_FRESH) memset(state, 0, E * N * sizeof(float));
        return;
    }
    #pragma omp parallel for schedule(dynamic, 1) if (nb > 1 && T * N > 256)
    for (size_t b = 0; b < nb; b++) {
        size_t e0 = b * SCAN_CB, cb = E - e0 < SCAN_CB ? E - e0 : SCAN_CB;
        if (N == 16)   /* the released models: a constant trip count unrolls the state loop */
            scan_block(e0, cb, 16, T, u, ldu, dt, lddt, dt_bias, A, B, C, ldbc, Dskip, state, y, ldy, flags);
        else
            scan_block(e0, cb, N, T, u, ldu, dt, lddt, dt_bias, A, B, C, ldbc, Dskip, state, y, ldy, flags);
    }
}

void hd_backend_cpu_mamba_init(hd_backend *be)
{
    be->silu = cpu_silu;
    be->mul_silu_cm = cpu_mul_silu_cm;
    be->flip_cm = cpu_flip_cm;
    be->selective_scan = cpu_selective_scan;
}
