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

static inline float hd_sigmoidf(float x) { return 1.0f / (1.0f + hd_expf(-x)); }
static inline float hd_siluf(float x) { return x / (1.0f + hd_expf(-x)); }

#endif
