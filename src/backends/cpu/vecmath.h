/* vecmath.h -- elementary functions written so that loops calling them vectorise (glibc's libm calls
 * do not, without -ffast-math).  Accuracy within a few ulp of libm over the whole float range. */
#ifndef HD_VECMATH_H
#define HD_VECMATH_H

#include <stdint.h>
#include <string.h>

/* exp(x): Cody–Waite range reduction x = n·ln2 + r, |r| ≤ ln2/2, then a degree-6 polynomial
 * (Cephes expf coefficients), scaled by 2^n through the exponent bits.  Overflow gives +inf,
 * underflow 0.  The constants are shared with hd_expf16 below. */
#define HD_EXP_HI 88.3762626647950f
#define HD_EXP_LO -87.3365447504021f
#define HD_EXP_LOG2E 1.44269504088896341f
#define HD_EXP_LN2_HI 0.693359375f
#define HD_EXP_LN2_LO 2.12194440e-4f   /* added: ln 2 = HD_EXP_LN2_HI − HD_EXP_LN2_LO */
#define HD_EXP_P0 1.9875691500e-4f
#define HD_EXP_P1 1.3981999507e-3f
#define HD_EXP_P2 8.3334519073e-3f
#define HD_EXP_P3 4.1665795894e-2f
#define HD_EXP_P4 1.6666665459e-1f
#define HD_EXP_P5 5.0000001201e-1f

static inline float hd_expf(float x)
{
    const float hi = HD_EXP_HI, lo = HD_EXP_LO;
    x = x > hi ? hi : x;
    float xc = x < lo ? lo : x;
    /* n = round(x / ln 2) by the 1.5·2^23 trick (floorf is a library call before SSE4.1) */
    float n = (xc * HD_EXP_LOG2E + 12582912.0f) - 12582912.0f;
    float r = xc - n * HD_EXP_LN2_HI;
    r = r + n * HD_EXP_LN2_LO;
    float p = HD_EXP_P0;
    p = p * r + HD_EXP_P1;
    p = p * r + HD_EXP_P2;
    p = p * r + HD_EXP_P3;
    p = p * r + HD_EXP_P4;
    p = p * r + HD_EXP_P5;
    p = p * r * r + r + 1.0f;
    int32_t e = ((int32_t)n + 127) << 23;
    float s;
    memcpy(&s, &e, 4);
    float y = p * s;
    y = x >= hi ? __builtin_inff() : y;
    return x < lo ? 0.0f : y;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* hd_expf's steps on 16 lanes of AVX-512, for code written with its intrinsics (the caller's function must have
 * the avx512f target) */
__attribute__((target("avx512f"))) static inline __m512 hd_expf16(__m512 x)
{
    const __m512 hi = _mm512_set1_ps(HD_EXP_HI), lo = _mm512_set1_ps(HD_EXP_LO);
    __m512 xc = _mm512_max_ps(_mm512_min_ps(x, hi), lo);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(HD_EXP_LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(HD_EXP_LN2_HI), xc);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(HD_EXP_LN2_LO), r);
    __m512 p = _mm512_set1_ps(HD_EXP_P0);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(HD_EXP_P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(HD_EXP_P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(HD_EXP_P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(HD_EXP_P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(HD_EXP_P5));
    p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    __m512 y = _mm512_mul_ps(p, _mm512_castsi512_ps(e));
    y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, hi, _CMP_GE_OQ), y, _mm512_set1_ps(__builtin_inff()));
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, lo, _CMP_NLT_UQ), y);
}
#endif

/* sin(x) for |x| ≤ 65536 (callers check the range): x = j·π/2 + r, |r| ≤ π/4, with π/2 in three parts
 * (Cody–Waite; the first two exact in j·part for |j| < 2^16), then the Cephes sinf/cosf polynomials on r,
 * chosen and signed by j mod 4: within 1e-7 of sin() for |x| up to ~8,000 (the sin_freq row of
 * tests/backend_ops.h). */
static inline float hd_sinf(float x)
{
    float jf = (x * 0.636619772367581343f + 12582912.0f) - 12582912.0f;
    float r = x - jf * 1.5703125f;
    r = r - jf * 4.837512969970703125e-4f;
    r = r - jf * 7.54978995489188216e-8f;
    int32_t j = (int32_t)jf;
    float r2 = r * r;
    float s = ((-1.9515295891e-4f * r2 + 8.3321608736e-3f) * r2 - 1.6666654611e-1f) * r2 * r + r;
    float c = ((2.443315711809948e-5f * r2 - 1.388731625493765e-3f) * r2 + 4.166664568298827e-2f) * r2 * r2 - 0.5f * r2 + 1.0f;
    float v = (j & 1) ? c : s;
    return (j & 2) ? -v : v;
}

static inline float hd_sigmoidf(float x) { return 1.0f / (1.0f + hd_expf(-x)); }
static inline float hd_siluf(float x) { return x / (1.0f + hd_expf(-x)); }

#endif
