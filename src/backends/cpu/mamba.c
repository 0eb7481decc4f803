/* mamba.c -- CPU ops of the Mamba (Caduceus) blocks: the x branch's convolution + SiLU, the selective
 * scan with its gate, and the flips of the reverse-complement half (docs/models.md §4.4).
 *
 * Everything here works on row-major [T, channels] buffers with vectors across channels: each vector lane
 * is one channel, the scan state of a block of channels is held state-major (one vector per state n), and
 * the L·E·N exponentials of the scan are evaluated by a polynomial in vector registers
 * (backends/cpu/mamba_simd.h).  The kernels exist for AVX-512, AVX2 + FMA and portable C (GCC vector
 * extensions), picked once per backend (hd_cpu_isa).  OpenMP threads take whole blocks of channels, whose
 * layout depends on the instruction set only, so results are bit-identical for any number of threads. */
#include "backends/cpu/cpu.h"
#include "util.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- kernels, once per instruction set */

/* Portable C: 4 lanes of GCC vector extensions (SSE2 on a baseline x86-64, NEON on ARM). */
typedef float gvf __attribute__((vector_size(16)));
typedef int32_t gvi __attribute__((vector_size(16)));
static inline gvf g_load(const float *p) { gvf v; memcpy(&v, p, sizeof v); return v; }
static inline gvf g_loadn(const float *p, size_t n) { gvf v = {0}; memcpy(&v, p, n * sizeof(float)); return v; }
static inline void g_store(float *p, gvf v) { memcpy(p, &v, sizeof v); }
static inline void g_storen(float *p, gvf v, size_t n) { memcpy(p, &v, n * sizeof(float)); }
static inline gvf g_sel(gvi m, gvf x, gvf y) { return (gvf)((m & (gvi)x) | (~m & (gvi)y)); }
static inline gvf g_set1(float x) { return (gvf){x, x, x, x}; }
#define SIMD_ATTR
#define SFX(name) name##_generic
#define VL 4
#define vf gvf
#define V_LOAD(p) g_load(p)
#define V_LOADN(p, n) g_loadn(p, n)
#define V_STORE(p, v) g_store(p, v)
#define V_STOREN(p, v, n) g_storen(p, v, n)
#define V_SET1(x) g_set1(x)
#define V_ADD(a, b) ((a) + (b))
#define V_SUB(a, b) ((a) - (b))
#define V_MUL(a, b) ((a) * (b))
#define V_DIV(a, b) ((a) / (b))
#define V_FMA(a, b, c) ((a) * (b) + (c))
#define V_MAX(a, b) g_sel((a) > (b), a, b)
#define V_MIN(a, b) g_sel((a) < (b), a, b)
#define V_ABS(a) ((gvf)((gvi)(a) & 0x7fffffff))
/* the 1.5·2^23 trick: exact for |a| < 2^22 (the only caller clamps to [−125, 127]) */
#define V_ROUND(a) (((a) + g_set1(12582912.0f)) - g_set1(12582912.0f))
#define V_SCALE2(p, k) ((gvf)((gvi)(p) + (__builtin_convertvector(k, gvi) << 23)))
#define V_SELGT(a, b, x, y) g_sel((a) > (b), x, y)
#include "backends/cpu/mamba_simd.h"   /* (it undefines the macros above) */

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define HD_MAMBA_X86 1
#include <immintrin.h>

/* AVX2 + FMA: 8 lanes */
#define SIMD_ATTR __attribute__((target("avx2,fma")))
#define SFX(name) name##_avx2
#define VL 8
#define vf __m256
SIMD_ATTR static inline __m256i avx2_mask(size_t n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
#define V_LOAD(p) _mm256_loadu_ps(p)
#define V_LOADN(p, n) _mm256_maskload_ps(p, avx2_mask(n))
#define V_STORE(p, v) _mm256_storeu_ps(p, v)
#define V_STOREN(p, v, n) _mm256_maskstore_ps(p, avx2_mask(n), v)
#define V_SET1(x) _mm256_set1_ps(x)
#define V_ADD _mm256_add_ps
#define V_SUB _mm256_sub_ps
#define V_MUL _mm256_mul_ps
#define V_DIV _mm256_div_ps
#define V_FMA _mm256_fmadd_ps
#define V_MAX _mm256_max_ps
#define V_MIN _mm256_min_ps
#define V_ABS(a) _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a)
#define V_ROUND(a) _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define V_SCALE2(p, k) \
    _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p), _mm256_slli_epi32(_mm256_cvtps_epi32(k), 23)))
#define V_SELGT(a, b, x, y) _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_GT_OQ))
#include "backends/cpu/mamba_simd.h"   /* (it undefines the macros above) */

/* AVX-512F: 16 lanes; masked loads and stores for a last partial block, vscalefps for 2^k */
#define SIMD_ATTR __attribute__((target("avx512f")))
#define SFX(name) name##_avx512
#define VL 16
#define vf __m512
#define V_LOAD(p) _mm512_loadu_ps(p)
#define V_LOADN(p, n) _mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1), p)
#define V_STORE(p, v) _mm512_storeu_ps(p, v)
#define V_STOREN(p, v, n) _mm512_mask_storeu_ps(p, (__mmask16)((1u << (n)) - 1), v)
#define V_SET1(x) _mm512_set1_ps(x)
#define V_ADD _mm512_add_ps
#define V_SUB _mm512_sub_ps
#define V_MUL _mm512_mul_ps
#define V_DIV _mm512_div_ps
#define V_FMA _mm512_fmadd_ps
#define V_MAX _mm512_max_ps
#define V_MIN _mm512_min_ps
#define V_ABS(a) _mm512_abs_ps(a)
#define V_ROUND(a) _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define V_SCALE2(p, k) _mm512_scalef_ps(p, k)
#define V_SELGT(a, b, x, y) _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_GT_OQ), y, x)
#include "backends/cpu/mamba_simd.h"   /* (it undefines the macros above) */
#endif

/* ---------------------------------------------------------------- the ops */

typedef void scan_block_fn(size_t cb, size_t N, size_t T, const float *u, size_t ldu, const float *dt, size_t lddt,
                           const float *dt_bias, const float *A, const float *B, const float *C, size_t ldbc,
                           const float *Dskip, const float *z, size_t ldz, float *state, float *y, size_t ldy,
                           int flags, float *hs, float *As);
typedef void conv_rows_fn(const float *X, size_t ldx, size_t T, size_t C, size_t hist, const float *wt, size_t K,
                          const float *b, int backward, float *Y, size_t ldy, size_t t0, size_t t1);

static void scan_run(scan_block_fn *kern, size_t VL, size_t E, size_t N, size_t T, const float *u, size_t ldu,
                     const float *dt, size_t lddt, const float *dt_bias, const float *A, const float *B, const float *C,
                     size_t ldbc, const float *Dskip, const float *z, size_t ldz, float *state, float *y, size_t ldy,
                     int flags)
{
    size_t nb = (E + VL - 1) / VL;
    if (!T) {
        if (flags & HD_SCAN_FRESH) memset(state, 0, E * N * sizeof(float));
        return;
    }
    #pragma omp parallel if (nb > 1 && T * N > 256)
    {
        FTZ_BEGIN;
        float scratch[2 * N * VL] __attribute__((aligned(64)));
        #pragma omp for schedule(static)
        for (size_t b = 0; b < nb; b++) {
            size_t e0 = b * VL, cb = E - e0 < VL ? E - e0 : VL;
            kern(cb, N, T, u + e0, ldu, dt + e0, lddt, dt_bias ? dt_bias + e0 : NULL, A + e0 * N, B, C, ldbc, Dskip + e0,
                 z ? z + e0 : NULL, ldz, state + e0 * N, y + e0, ldy, flags, scratch, scratch + N * VL);
        }
        FTZ_END;
    }
}

/* rows in fixed blocks of 64 (row-major sweeps; the layout does not depend on the thread count) */
static void conv_run(conv_rows_fn *kern, const float *X, size_t ldx, size_t T, size_t C, size_t hist, const float *w,
                     size_t K, const float *b, int backward, float *Y, size_t ldy)
{
    size_t nb = (T + 63) / 64;
    if (!T || !K) return;
    #pragma omp parallel if (nb > 1 && T * C > 16384)
    {
        FTZ_BEGIN;
        #pragma omp for schedule(static)
        for (size_t i = 0; i < nb; i++)
            kern(X, ldx, T, C, hist, w, K, b, backward, Y, ldy, i * 64, T - i * 64 < 64 ? T : i * 64 + 64);
        FTZ_END;
    }
}

#define SCAN_OP(isa, lanes) \
    static void cpu_selective_scan_##isa(hd_backend *be, size_t E, size_t N, size_t T, const float *u, size_t ldu, \
                                         const float *dt, size_t lddt, const float *dt_bias, const float *A, \
                                         const float *B, const float *C, size_t ldbc, const float *Dskip, \
                                         const float *z, size_t ldz, float *state, float *y, size_t ldy, int flags) \
    { \
        scan_run(scan_block_##isa, lanes, E, N, T, u, ldu, dt, lddt, dt_bias, A, B, C, ldbc, Dskip, z, ldz, state, y, \
                 ldy, flags); \
    } \
    static void cpu_conv_silu_rows_##isa(hd_backend *be, const float *X, size_t ldx, size_t T, size_t C, size_t hist, \
                                         const float *w, size_t K, const float *b, int backward, float *Y, size_t ldy) \
    { \
        conv_run(conv_rows_##isa, X, ldx, T, C, hist, w, K, b, backward, Y, ldy); \
    }
SCAN_OP(generic, 4)
#ifdef HD_MAMBA_X86
SCAN_OP(avx2, 8)
SCAN_OP(avx512, 16)
#endif

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

void hd_backend_cpu_mamba_init(hd_backend *be)
{
    be->flip_cm = cpu_flip_cm;
    be->selective_scan = cpu_selective_scan_generic;
    be->conv_silu_rows = cpu_conv_silu_rows_generic;
#ifdef HD_MAMBA_X86
    switch (hd_cpu_isa()) {
    case HD_ISA_AVX512:
        be->selective_scan = cpu_selective_scan_avx512;
        be->conv_silu_rows = cpu_conv_silu_rows_avx512;
        break;
    case HD_ISA_AVX2:
        be->selective_scan = cpu_selective_scan_avx2;
        be->conv_silu_rows = cpu_conv_silu_rows_avx2;
        break;
    }
#endif
}
