/* bf16.c -- the CPU backend's projections in bf16 (--precision bf16): inputs rounded to bfloat16 (round to
 * nearest even), products accumulated in fp32.  Two kernels read the same packed weights: the AMX tile kernel
 * of amx.c (TDPBF16PS, where the processor has AMX-BF16 and the kernel permits it) and, elsewhere, the
 * AVX512_BF16 dot-product kernel here (VDPBF16PS).
 *
 * Debian's OpenBLAS is built without its bfloat16 kernels (cblas_sbgemm is declared in cblas.h but not exported by
 * libopenblas.so), so the kernels are here.  The weights are converted and packed once per op call (hd_cpu_w_init in
 * cpu.c; Evo 2's stored BF16 weights panel by panel, without rounding, in evo2.c), an input block once per GEMM block;
 * this kernel takes 8 positions × 32 outputs at a time, one pair of k per instruction step.  Up to HD_CPU_BF16_GEMV_M
 * positions (Evo 2's cached decoding) skip the packing: each weight row is read once, as stored, by hd_cpu_bf16_gemv.
 * Every output is one fp32 sum over k in a fixed order, so the results do not depend on the thread count
 * (docs/models.md §3.6 gives the error this precision brings). */
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

/* ---------------------------------------------------------------- the packed layout */

size_t hd_cpu_bf16_khp(size_t K) { return ((K + 1) / 2 + 15) / 16 * 16; }
size_t hd_cpu_bf16_nblk(size_t N) { return (N + 31) / 32 * 2; }
size_t hd_cpu_bf16_packed_len(size_t N, size_t K) { return hd_cpu_bf16_nblk(N) * hd_cpu_bf16_khp(K) * NV; }

/* dst row c = column c of src: a 16×16 transpose of 32-bit values (row strides in elements) */
BF16_TARGET void hd_cpu_tr16(const uint32_t *src, size_t lds, uint32_t *dst, size_t ldd)
{
    __m512i r[16], t[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_si512(src + (size_t)i * lds);
    for (int i = 0; i < 16; i += 2) {   /* 2×2 blocks of 32 bits */
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {   /* 4×4 blocks: 64-bit halves */
        r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int i = 0; i < 16; i += 8)     /* 128-bit lanes across 8 rows */
        for (int j = 0; j < 4; j++) {
            t[i + j] = _mm512_shuffle_i32x4(r[i + j], r[i + j + 4], 0x88);
            t[i + j + 4] = _mm512_shuffle_i32x4(r[i + j], r[i + j + 4], 0xdd);
        }
    for (int j = 0; j < 8; j++) {       /* and across 16 */
        r[j] = _mm512_shuffle_i32x4(t[j], t[j + 8], 0x88);
        r[j + 8] = _mm512_shuffle_i32x4(t[j], t[j + 8], 0xdd);
    }
    for (int i = 0; i < 16; i++) _mm512_storeu_si512(dst + (size_t)i * ldd, r[i]);
}

/* 32 values of row-major fp32 (n ≤ 32 of them, zero past n) as 16 bf16 pairs, rounded to nearest even */
BF16_TARGET static inline __m512i pairs_f32(const float *x, size_t n)
{
    __mmask16 lo = (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u), hi = (__mmask16)(n >= 32 ? 0xffffu : n <= 16 ? 0u : (1u << (n - 16)) - 1u);
    return (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, x + 16), _mm512_maskz_loadu_ps(lo, x));
}

/* 32 stored bf16 values (n ≤ 32, zero past n) as 16 pairs, as they are */
BF16_TARGET static inline __m512i pairs_bf16(const uint16_t *x, size_t n)
{
    return _mm512_maskz_loadu_epi16(n >= 32 ? ~(__mmask32)0 : ((__mmask32)1 << n) - 1u, x);
}

/* W [N, K] (row stride K; fp32, or bf16 kept as stored) as both kernels read it: blocks of 16 outputs (their
 * number even), each [khp pairs][16 outputs] of (k even | k odd) bf16 pairs, zero past N and K; khp = ⌈K/2⌉
 * rounded up to 16, so that every 16 pairs of a block are one AMX tile of B (rows k-pairs, 16 outputs × 2).
 * rows: instead each 16 pairs of a block as [16 outputs][16 pairs], an AMX tile of A (amx.c's channel-major
 * output). */
BF16_TARGET static void pack(const void *W, int wbf16, size_t N, size_t K, uint32_t *dst, int rows)
{
    size_t khp = hd_cpu_bf16_khp(K), nblk = hd_cpu_bf16_nblk(N), ks = khp / 16;
    /* each weight row read along k (16 steps of 32 k at a time) into stage[s][i], then each 16×16 transposed */
    uint32_t stage[16 * 256] __attribute__((aligned(64)));
    /* stored BF16 in whole tiles (16 rows inside N, 32 k inside K) straight from W: each step's 16 rows of
     * 64 bytes are one 16×16 transpose of their 32-bit pairs, without the staging copy (9.6 against 7.1 GB/s
     * from a mapped 7B checkpoint, one core) */
    int direct = wbf16 && !rows && K % 2 == 0 && ((uintptr_t)W & 3) == 0;
    for (size_t jb = 0; jb < nblk; jb++)
        for (size_t s0 = 0; s0 < ks; s0 += 16) {
            size_t ns = ks - s0 < 16 ? ks - s0 : 16;
            uint32_t *out = dst + (jb * khp + 16 * s0) * NV;
            if (direct && (jb + 1) * NV <= N && 32 * (s0 + ns) <= K) {
                const uint16_t *w0 = (const uint16_t *)W + jb * NV * K + 32 * s0;
                for (size_t s = 0; s < ns; s++) hd_cpu_tr16((const uint32_t *)(const void *)(w0 + 32 * s), K / 2, out + s * 256, NV);
                continue;
            }
            for (size_t i = 0; i < 16; i++) {   /* row i: output 16·jb + i */
                size_t n = jb * NV + i;
                for (size_t s = 0; s < ns; s++) {
                    size_t k0 = 32 * (s0 + s), nk = K > k0 ? (K - k0 < 32 ? K - k0 : 32) : 0;
                    __m512i v = _mm512_setzero_si512();
                    if (n < N && nk)
                        v = wbf16 ? pairs_bf16((const uint16_t *)W + n * K + k0, nk) : pairs_f32((const float *)W + n * K + k0, nk);
                    _mm512_store_si512((rows ? out : stage) + s * 256 + i * 16, v);
                }
            }
            if (!rows)
                for (size_t s = 0; s < ns; s++) hd_cpu_tr16(stage + s * 256, 16, out + s * 256, NV);
        }
}

void hd_cpu_bf16_pack(const void *W, int wbf16, size_t N, size_t K, uint32_t *dst) { pack(W, wbf16, N, K, dst, 0); }
void hd_cpu_bf16_pack_rows(const void *W, int wbf16, size_t N, size_t K, uint32_t *dst) { pack(W, wbf16, N, K, dst, 1); }

uint32_t *hd_cpu_bf16_pack_w(const float *W, size_t N, size_t K, int rows)
{
    size_t n_p = hd_cpu_bf16_packed_len(N, K);
    uint32_t *p = aligned_alloc(64, (n_p ? n_p : 16) * sizeof *p);
    if (p) pack(W, 0, N, K, p, rows);
    return p;
}

/* Positions m0 … m0+15 of X (M in all) as the AMX kernel reads an input: for each of the ks steps of 32 k, a
 * tile of 16 rows (positions, zero past M) × 16 pairs (zero past K), 64 bytes a row, an A tile; with vnni the
 * transpose, 16 rows (pairs) × 16 positions, a B tile (for channel-major output).  xt: X channel-major. */
BF16_TARGET void hd_cpu_bf16_pack_x16(int xt, int vnni, size_t m0, size_t M, size_t K, const float *X, size_t ldx,
                                      size_t ks, uint32_t *dst)
{
    size_t nm = M > m0 ? (M - m0 < 16 ? M - m0 : 16) : 0;
    __mmask16 mm = (__mmask16)(nm >= 16 ? 0xffffu : (1u << nm) - 1u);
    uint32_t tmp[16 * 16] __attribute__((aligned(64)));
    for (size_t s = 0; s < ks; s++) {
        size_t k0 = 32 * s, nk = K > k0 ? (K - k0 < 32 ? K - k0 : 32) : 0;
        uint32_t *t = dst + s * 256, *w = xt == vnni ? t : tmp;   /* rows of positions, or columns */
        if (!xt) {
            for (size_t r = 0; r < 16; r++)
                _mm512_store_si512(w + r * 16, r < nm && nk ? pairs_f32(X + (m0 + r) * ldx + k0, nk) : _mm512_setzero_si512());
        } else {
            for (size_t c = 0; c < 16; c++) {   /* column c: pair k0/2 + c of the 16 positions */
                size_t k = k0 + 2 * c;
                __m256i lo = k < K ? (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mm, X + k * ldx + m0)) : _mm256_setzero_si256();
                __m256i hi = k + 1 < K ? (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mm, X + (k + 1) * ldx + m0)) : _mm256_setzero_si256();
                _mm512_store_si512(w + c * 16, _mm512_or_si512(_mm512_cvtepu16_epi32(lo), _mm512_slli_epi32(_mm512_cvtepu16_epi32(hi), 16)));
            }
        }
        if (w != t) hd_cpu_tr16(w, 16, t, 16);
    }
}

/* ---------------------------------------------------------------- a few positions: no packing */

/* Y (+)= X·Wᵀ for M ≤ HD_CPU_BF16_GEMV_M positions straight from W [N, K] (fp32 rounded to nearest even, or
 * wbf16 stored BF16 as they are): each weight row read once for all positions, 32 k per VDPBF16PS into 16
 * lanes, the lanes summed at the end (a fixed order).  For cached decoding, where packing the weights would
 * cost more than the products.  xt / yt: X / Y channel-major.  0, or -1 when out of memory (Y untouched). */
BF16_TARGET int hd_cpu_bf16_gemv(int xt, int yt, size_t M, size_t N, size_t K, const float *X, size_t ldx, const void *W,
                                 int wbf16, float *Y, size_t ldy)
{
    size_t ks = (K + 31) / 32;
    if (M > HD_CPU_BF16_GEMV_M) return -1;
    __m512i *xv = aligned_alloc(64, (M && ks ? M * ks : 1) * sizeof *xv);   /* the positions as bf16 pairs */
    if (!xv) return -1;
    for (size_t m = 0; m < M; m++)
        for (size_t s = 0; s < ks; s++) {
            size_t k0 = 32 * s, nk = K - k0 < 32 ? K - k0 : 32;
            if (!xt) xv[m * ks + s] = pairs_f32(X + m * ldx + k0, nk);
            else {
                float t[32] = {0};
                for (size_t j = 0; j < nk; j++) t[j] = X[(k0 + j) * ldx + m];
                xv[m * ks + s] = pairs_f32(t, 32);
            }
        }
    for (size_t n = 0; n < N; n++) {
        __m512 acc[HD_CPU_BF16_GEMV_M];
        for (size_t m = 0; m < M; m++) acc[m] = _mm512_setzero_ps();
        for (size_t s = 0; s < ks; s++) {
            size_t k0 = 32 * s, nk = K - k0 < 32 ? K - k0 : 32;
            __m512bh w = (__m512bh)(wbf16 ? pairs_bf16((const uint16_t *)W + n * K + k0, nk)
                                          : pairs_f32((const float *)W + n * K + k0, nk));
            for (size_t m = 0; m < M; m++) acc[m] = _mm512_dpbf16_ps(acc[m], (__m512bh)xv[m * ks + s], w);
        }
        for (size_t m = 0; m < M; m++) *(yt ? &Y[n * ldy + m] : &Y[m * ldy + n]) += _mm512_reduce_add_ps(acc[m]);
    }
    free(xv);
    return 0;
}

/* ---------------------------------------------------------------- the VDPBF16PS kernel */

/* rows m0 … m0+7 of the packed input against nv (1 or 2) blocks of 16 outputs from output block jb; the sums
 * added into Y (yt: channel-major) */
BF16_TARGET static inline __attribute__((always_inline)) void tile(const uint32_t *A, size_t Kh, const uint32_t *B,
                                                                   size_t bs, size_t jb, int nv, size_t m0, size_t M,
                                                                   size_t N, int yt, float *Y, size_t ldy)
{
    __m512 acc[MR][2];   /* 16 registers: the loops over r are unrolled */
    #pragma GCC unroll 8
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    const uint32_t *b0 = B + jb * bs, *b1 = b0 + bs, *a = A + m0 * Kh;
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

BF16_TARGET static void kernel(const uint32_t *A, size_t Kh, const uint32_t *B, size_t bs, size_t M, size_t N, int yt,
                               float *Y, size_t ldy)
{
    size_t NB = (N + NV - 1) / NV, jb = 0;
    for (; jb + 2 <= NB; jb += 2)   /* 32 outputs' weights stay in L1 while the block's positions pass */
        for (size_t m0 = 0; m0 < M; m0 += MR) tile(A, Kh, B, bs, jb, 2, m0, M, N, yt, Y, ldy);
    if (jb < NB)
        for (size_t m0 = 0; m0 < M; m0 += MR) tile(A, Kh, B, bs, jb, 1, m0, M, N, yt, Y, ldy);
}

BF16_TARGET int hd_cpu_bf16_gemm(int xt, int yt, size_t M, size_t N, size_t K, const float *X, size_t ldx,
                                 const uint32_t *Wp, float *Y, size_t ldy)
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
        if (!xt) {   /* 16 pairs at a time */
            for (size_t kh = 0; kh < Kh; kh += 16) {
                size_t nk = K - 2 * kh < 32 ? K - 2 * kh : 32, np = (nk + 1) / 2;
                _mm512_mask_storeu_epi32(a + kh, (__mmask16)(np >= 16 ? 0xffffu : (1u << np) - 1u), pairs_f32(X + m * ldx + 2 * kh, nk));
            }
            continue;
        }
        for (size_t kh = 0; kh < Kh; kh++) {
            size_t k = 2 * kh;
            float lo = X[k * ldx + m], hi = k + 1 >= K ? 0.0f : X[(k + 1) * ldx + m];
            a[kh] = bf16(lo) | bf16(hi) << 16;
        }
    }
    kernel(A, Kh, Wp, hd_cpu_bf16_khp(K) * NV, M, N, yt, Y, ldy);
    free(A);
    return 0;
}
