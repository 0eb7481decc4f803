/* vecmath.h -- elementary functions written so that loops calling them vectorise (glibc's libm calls
 * do not, without -ffast-math).  Accuracy within a few ulp of libm over the whole float range. */
#ifndef HD_VECMATH_H
#define HD_VECMATH_H

#include <stdint.h>
#include <string.h>

/* exp(x): Cody–Waite range reduction x = n·ln2 + r, |r| ≤ ln2/2, then a degree-6 polynomial
 * (Cephes expf coefficients), scaled by 2^n through the exponent bits.  Overflow gives +inf,
 * underflow 0. */
static inline float hd_expf(float x)
{
    const float hi = 88.3762626647950f, lo = -87.3365447504021f;
    x = x > hi ? hi : x;
    float xc = x < lo ? lo : x;
    /* n = round(x / ln 2) by the 1.5·2^23 trick (floorf is a library call before SSE4.1) */
    float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = xc - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t e = ((int32_t)n + 127) << 23;
    float s;
    memcpy(&s, &e, 4);
    float y = p * s;
    y = x >= hi ? __builtin_inff() : y;
    return x < lo ? 0.0f : y;
}

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
