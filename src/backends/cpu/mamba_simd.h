/* mamba_simd.h -- the vector kernels of the Mamba ops (backends/cpu/mamba.c), written once and included
 * there once per instruction set.  The includer defines
 *   SIMD_ATTR      the target attribute of every function here (e.g. target("avx512f"))
 *   SFX(name)      the name of this instance's copy of `name`
 *   VL, vf         lanes and vector type
 *   V_LOAD(p) V_LOADN(p, n) V_STORE(p, v) V_STOREN(p, v, n)   (…N: the first n < VL lanes, others 0 / kept)
 *   V_SET1(x) V_ADD V_SUB V_MUL V_DIV V_FMA(a, b, c) = a·b + c  V_MAX V_MIN V_ABS(a)
 *   V_ROUND(a)     to the nearest integer (ties to even)
 *   V_SCALE2(p, k) p·2^k for integral k in [−125, 127]
 *   V_SELGT(a, b, x, y)  a > b ? x : y, lane by lane
 * and this file undefines them all at its end.
 * Lanes run across channels: each lane holds one channel, so no lane ever depends on another and the
 * results do not depend on how the channels are grouped into vectors or threads. */

/* 2^t, |relative error| < 1e-7: t = k + r, |r| ≤ 1/2, a degree-6 minimax polynomial for 2^r (coefficients
 * fitted in relative error and rounded to float; max error 9.6e-8 evaluated in float), scaled by 2^k.
 * t is clamped to [−125, 127]: below, the true result is under 3e-38 and the clamped one no larger. */
SIMD_ATTR static inline vf SFX(v_exp2)(vf t)
{
    t = V_MIN(V_MAX(t, V_SET1(-125.0f)), V_SET1(127.0f));
    vf k = V_ROUND(t), r = V_SUB(t, k);
    vf p = V_FMA(V_SET1(1.5345810970757157e-4f), r, V_SET1(1.3399930903688073e-3f));
    p = V_FMA(p, r, V_SET1(9.618489071726799e-3f));
    p = V_FMA(p, r, V_SET1(5.550328642129898e-2f));
    p = V_FMA(p, r, V_SET1(2.4022646248340607e-1f));
    p = V_FMA(p, r, V_SET1(6.931471824645996e-1f));
    p = V_FMA(p, r, V_SET1(1.0f));
    return V_SCALE2(p, k);
}

/* e^x = 2^(x·log2 e) */
SIMD_ATTR static inline vf SFX(v_exp)(vf x) { return SFX(v_exp2)(V_MUL(x, V_SET1(1.44269504088896341f))); }

/* x·sigmoid(x) */
SIMD_ATTR static inline vf SFX(v_silu)(vf x)
{
    return V_DIV(x, V_ADD(V_SET1(1.0f), SFX(v_exp)(V_SUB(V_SET1(0.0f), x))));
}

/* softplus with PyTorch's threshold 20: v above 20, else max(v, 0) + log1p(e^−|v|); log1p(y) for y in
 * (0, 1] as 2·atanh(s), s = y/(2 + y) ≤ 1/3, by its series to s^17 (truncation < 1e-9). */
SIMD_ATTR static inline vf SFX(v_softplus)(vf v)
{
    vf y = SFX(v_exp)(V_SUB(V_SET1(0.0f), V_ABS(v)));
    vf s = V_DIV(y, V_ADD(V_SET1(2.0f), y)), s2 = V_MUL(s, s);
    vf p = V_FMA(V_SET1(1.0f / 17.0f), s2, V_SET1(1.0f / 15.0f));
    p = V_FMA(p, s2, V_SET1(1.0f / 13.0f));
    p = V_FMA(p, s2, V_SET1(1.0f / 11.0f));
    p = V_FMA(p, s2, V_SET1(1.0f / 9.0f));
    p = V_FMA(p, s2, V_SET1(1.0f / 7.0f));
    p = V_FMA(p, s2, V_SET1(1.0f / 5.0f));
    p = V_FMA(p, s2, V_SET1(1.0f / 3.0f));
    p = V_FMA(p, s2, V_SET1(1.0f));
    vf sp = V_FMA(V_ADD(s, s), p, V_MAX(v, V_SET1(0.0f)));
    return V_SELGT(v, V_SET1(20.0f), v, sp);
}

/* Load / store lanes of channels c0 … c0 + cb − 1 (cb = VL: whole vectors; the compiler folds the test
 * where cb is a constant). */
#define LD(p, cb) ((cb) == VL ? V_LOAD(p) : V_LOADN(p, cb))
#define ST(p, v, cb) do { if ((cb) == VL) V_STORE(p, v); else V_STOREN(p, v, cb); } while (0)
#ifndef SCAN_AHEAD
#define SCAN_AHEAD 24    /* steps ahead the scan prefetches its rows */
#endif

/* The scan of one block of cb ≤ VL channels (all pointers offset to the block's first channel):
 * positions in order (or from T−1 down with HD_SCAN_BACKWARD), one vector of channels per state n.
 * h: [N] vectors of state; As: scratch [N][VL] for A·log2 e, state-major. */
SIMD_ATTR static inline __attribute__((always_inline)) void
SFX(scan_rows)(const size_t cb, const size_t N, size_t T, const float *u, size_t ldu, const float *dt, size_t lddt,
               const float *dt_bias, const float *A, const float *B, const float *C, size_t ldbc, const float *Dskip,
               const float *z, size_t ldz, float *state, float *y, size_t ldy, int flags, vf *h, float *As)
{
    float tmp[VL];
    for (size_t n = 0; n < N; n++) {
        for (size_t c = 0; c < VL; c++) {
            /* A·log2 e: exp(Δ·A) = 2^(Δ·A·log2 e); padding lanes have A = 0 and a state of 0 */
            As[n * VL + c] = c < cb ? A[c * N + n] * 1.44269504088896341f : 0.0f;
            tmp[c] = c < cb && !(flags & HD_SCAN_FRESH) ? state[c * N + n] : 0.0f;
        }
        h[n] = V_LOAD(tmp);
    }
    vf bias = dt_bias ? LD(dt_bias, cb) : V_SET1(0.0f), Dv = LD(Dskip, cb);
    int back = flags & HD_SCAN_BACKWARD, acc_y = flags & HD_SCAN_ACCUMULATE;
    for (size_t i = 0; i < T; i++) {
        size_t t = back ? T - 1 - i : i;
        /* the rows are E floats apart: fetch those of a later step now (hardware prefetchers do not follow
         * strides across pages, and each step's dependency chains leave the core waiting on misses) */
        if (i + SCAN_AHEAD < T) {
            size_t ta = back ? t - SCAN_AHEAD : t + SCAN_AHEAD;
            __builtin_prefetch(dt + ta * lddt);
            __builtin_prefetch(u + ta * ldu);
            __builtin_prefetch(y + ta * ldy, 1);
            if (z) __builtin_prefetch(z + ta * ldz);
        }
        vf d = SFX(v_softplus)(V_ADD(LD(dt + t * lddt, cb), bias));
        vf uv = LD(u + t * ldu, cb), du = V_MUL(d, uv);
        const float *Bt = B + t * ldbc, *Ct = C + t * ldbc;
        vf acc[2] = {V_MUL(Dv, uv), V_SET1(0.0f)};
        #pragma GCC unroll 16
        for (size_t n = 0; n < N; n++) {
            vf e = SFX(v_exp2)(V_MUL(d, V_LOAD(As + n * VL)));
            h[n] = V_FMA(e, h[n], V_MUL(du, V_SET1(Bt[n])));
            acc[n & 1] = V_FMA(V_SET1(Ct[n]), h[n], acc[n & 1]);
        }
        vf yv = V_ADD(acc[0], acc[1]);
        float *yt = y + t * ldy;
        if (acc_y) yv = V_ADD(LD(yt, cb), yv);
        if (z) yv = V_MUL(yv, SFX(v_silu)(LD(z + t * ldz, cb)));
        ST(yt, yv, cb);
    }
    for (size_t n = 0; n < N; n++) {
        V_STORE(tmp, h[n]);
        for (size_t c = 0; c < cb; c++) state[c * N + n] = tmp[c];
    }
}

/* scan_rows for a block: whole vectors with the 16 states of the released models in registers, else the
 * general case (hs: scratch of N vectors and As of N·VL floats) */
SIMD_ATTR static void SFX(scan_block)(size_t cb, size_t N, size_t T, const float *u, size_t ldu, const float *dt,
                                      size_t lddt, const float *dt_bias, const float *A, const float *B, const float *C,
                                      size_t ldbc, const float *Dskip, const float *z, size_t ldz, float *state,
                                      float *y, size_t ldy, int flags, float *hs, float *As)
{
    if (cb == VL && N == 16) {
        vf h[16];
        SFX(scan_rows)(VL, 16, T, u, ldu, dt, lddt, dt_bias, A, B, C, ldbc, Dskip, z, ldz, state, y, ldy, flags, h, As);
    } else if (cb == VL)
        SFX(scan_rows)(VL, N, T, u, ldu, dt, lddt, dt_bias, A, B, C, ldbc, Dskip, z, ldz, state, y, ldy, flags, (vf *)hs,
                       As);
    else
        SFX(scan_rows)(cb, N, T, u, ldu, dt, lddt, dt_bias, A, B, C, ldbc, Dskip, z, ldz, state, y, ldy, flags, (vf *)hs,
                       As);
}

/* conv_silu_rows over rows t0 … t1 − 1, every channel (wt [K, C] taps-major) */
SIMD_ATTR static void SFX(conv_rows)(const float *X, size_t ldx, size_t T, size_t C, size_t hist, const float *wt,
                                     size_t K, const float *b, int backward, float *Y, size_t ldy, size_t t0, size_t t1)
{
    ptrdiff_t step = backward ? -(ptrdiff_t)ldx : (ptrdiff_t)ldx;
    size_t full = C - C % VL;
    for (size_t t = t0; t < t1; t++) {
        /* tap j reads row t − (K−1) + j (forward) or t + (K−1) − j (backward); taps j < j0 fall outside */
        size_t reach = K - 1, room = backward ? T - 1 - t + hist : t + hist;
        size_t j0 = reach > room ? reach - room : 0;
        ptrdiff_t r0 = backward ? (ptrdiff_t)(t + reach - j0) : (ptrdiff_t)t - (ptrdiff_t)(reach - j0);
        const float *x0 = X + r0 * (ptrdiff_t)ldx;   /* tap j0's row */
        float *yt = Y + t * ldy;
        for (size_t c = 0; c < C; c += VL) {
            size_t cb = c < full ? VL : C - c;
            vf acc = b ? LD(b + c, cb) : V_SET1(0.0f);
            const float *x = x0 + c;
            for (size_t j = j0; j < K; j++, x += step) acc = V_FMA(LD(wt + j * C + c, cb), LD(x, cb), acc);
            ST(yt + c, SFX(v_silu)(acc), cb);
        }
    }
}

#undef LD
#undef ST
/* the includer's macros, so that the next instruction set can define them afresh */
#undef SIMD_ATTR
#undef SFX
#undef VL
#undef vf
#undef V_LOAD
#undef V_LOADN
#undef V_STORE
#undef V_STOREN
#undef V_SET1
#undef V_ADD
#undef V_SUB
#undef V_MUL
#undef V_DIV
#undef V_FMA
#undef V_MAX
#undef V_MIN
#undef V_ABS
#undef V_ROUND
#undef V_SCALE2
#undef V_SELGT
