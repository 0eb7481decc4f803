/* bf16.c -- the CPU backend's projections in bf16 (--precision bf16): inputs rounded to bfloat16 (round to
 * nearest even), products accumulated in fp32 by the AVX512_BF16 dot-product instruction (VDPBF16PS).
 *
 * Debian's OpenBLAS is built without its bfloat16 kernels (cblas_sbgemm is declared in cblas.h but not
 * exported by libopenblas.so), so the kernel is here.  The weights are converted and packed once per op call
 * (hd_cpu_w_init in cpu.c), an input block once per GEMM block; the kernel takes 8 positions × 32 outputs at
 * a time, one pair of k per instruction step.  Every output is one fp32 sum over k in a fixed order, so the
 * results do not depend on the thread count (docs/models.md §3.6 gives the error this precision brings). */
#include "backends/cpu/cpu.h"

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define MR 8    /* positions per kernel step */
#define NV 16   /* outputs per vector */

int hd_cpu_bf16_supported(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
}

/* fp32 → bf16, round to nearest even (a NaN stays a NaN) */
static inline uint32_t bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (u >> 16) | 0x40u;
    return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}

/* W [N, K] as the kernel reads it: blocks of 16 outputs, each [⌈K/2⌉ pairs][16 outputs] of (k even | k odd)
 * bf16 pairs, zero past N and K.  NULL when out of memory. */
uint32_t *hd_cpu_bf16_pack_w(const float *W, size_t N, size_t K)
{
    size_t Kh = (K + 1) / 2, NB = (N + NV - 1) / NV, n_p = NB * Kh * NV;
    uint32_t *p = calloc(n_p ? n_p : 1, sizeof *p);
    if (!p) return NULL;
    for (size_t n = 0; n < N; n++) {
        uint32_t *q = p + (n / NV) * Kh * NV + n % NV;
        const float *w = W + n * K;
        for (size_t kh = 0; kh < Kh; kh++)
            q[kh * NV] = bf16(w[2 * kh]) | (2 * kh + 1 < K ? bf16(w[2 * kh + 1]) << 16 : 0u);
    }
    return p;
}

/* rows m0 … m0+7 of the packed input against nv (1 or 2) blocks of 16 outputs from output block jb; the sums
 * added into Y (yt: channel-major) */
BF16_TARGET static inline __attribute__((always_inline)) void tile(const uint32_t *A, size_t Kh, const uint32_t *B,
                                                                   size_t jb, int nv, size_t m0, size_t M, size_t N,
                                                                   int yt, float *Y, size_t ldy)
{
    __m512 acc[MR][2];   /* 16 registers: the loops over r are unrolled */
    #pragma GCC unroll 8
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    const uint32_t *b0 = B + jb * Kh * NV, *b1 = b0 + Kh * NV, *a = A + m0 * Kh;
    for (size_t kh = 0; kh < Kh; kh++) {
        __m512bh w0 = (__m512bh)_mm512_loadu_si512(b0 + kh * NV), w1 = w0;
        if (nv == 2) w1 = (__m512bh)_mm512_loadu_si512(b1 + kh * NV);
        #pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
            __m512bh x = (__m512bh)_mm512_set1_epi32((int)a[r * Kh + kh]);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], x, w0);
            if (nv == 2) acc[r][1] = _mm512_dpbf16_ps(acc[r][1], x, w1);
        }
    }
    #pragma GCC unroll 8
    for (int r = 0; r < MR; r++)
        for (int v = 0; v < nv; v++) {
            if (m0 + (size_t)r >= M) break;
            size_t n0 = (jb + (size_t)v) * NV, cnt = N - n0 < NV ? N - n0 : NV;
            if (!yt) {
                __mmask16 k = (__mmask16)((1u << cnt) - 1u);
                float *y = Y + (m0 + (size_t)r) * ldy + n0;
                _mm512_mask_storeu_ps(y, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, y), acc[r][v]));
            } else {
                float t[NV];
                _mm512_storeu_ps(t, acc[r][v]);
                for (size_t j = 0; j < cnt; j++) Y[(n0 + j) * ldy + m0 + (size_t)r] += t[j];
            }
        }
}

BF16_TARGET static void kernel(const uint32_t *A, size_t Kh, const uint32_t *B, size_t M, size_t N, int yt, float *Y,
                               size_t ldy)
{
    size_t NB = (N + NV - 1) / NV, jb = 0;
    for (; jb + 2 <= NB; jb += 2)   /* 32 outputs' weights stay in L1 while the block's positions pass */
        for (size_t m0 = 0; m0 < M; m0 += MR) tile(A, Kh, B, jb, 2, m0, M, N, yt, Y, ldy);
    if (jb < NB)
        for (size_t m0 = 0; m0 < M; m0 += MR) tile(A, Kh, B, jb, 1, m0, M, N, yt, Y, ldy);
}

int hd_cpu_bf16_gemm(int xt, int yt, size_t M, size_t N, size_t K, const float *X, size_t ldx, const uint32_t *Wp,
                     float *Y, size_t ldy)
{
    size_t Kh = (K + 1) / 2, Mp = (M + MR - 1) / MR * MR, n_a = Mp * Kh;
    uint32_t *A = malloc((n_a ? n_a : 1) * sizeof *A);
    if (!A) return -1;
    for (size_t m = 0; m < Mp; m++) {
        uint32_t *a = A + m * Kh;
        if (m >= M) {
            memset(a, 0, Kh * sizeof *a);
            continue;
        }
        for (size_t kh = 0; kh < Kh; kh++) {
            size_t k = 2 * kh;
            float lo = xt ? X[k * ldx + m] : X[m * ldx + k];
            float hi = k + 1 >= K ? 0.0f : xt ? X[(k + 1) * ldx + m] : X[m * ldx + k + 1];
            a[kh] = bf16(lo) | bf16(hi) << 16;
        }
    }
    kernel(A, Kh, Wp, M, N, yt, Y, ldy);
    free(A);
    return 0;
}
