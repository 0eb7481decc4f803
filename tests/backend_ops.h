/* backend_ops.h -- one table of every op of hd_backend (in the spirit of llama.cpp's test-backend-ops).
 *
 * A row makes fresh random inputs for each of its cases, computes the expected outputs with a plain
 * scalar implementation written here from the op's contract in backend.h (double precision, no
 * blocking, no vectors), and calls the op.  op_check_row() then compares a backend either with that
 * reference (tests/test_backend_ops.c: the CPU) or with another backend on the same inputs
 * (tests/test_cuda.c: the GPU against the CPU; tests/test_backend_ops.c: the CPU on 1 thread against
 * the CPU on 4, bit for bit).  Every buffer is compared whole, so padding between strided rows must
 * come back untouched.
 *
 * Adding ops (a new family): write make/call/ref for each op and append a row to OP_ROWS; the ops a
 * family lists in hd_family_ops.needs must all have a row (test_backend_ops checks it).
 * HD_OPS_VERBOSE=1 prints every comparison's errors (to choose a new row's tolerances). */
#ifndef HD_TEST_BACKEND_OPS_H
#define HD_TEST_BACKEND_OPS_H

#include "testutil.h"
#include "backend.h"

#include <criterion/parameterized.h>

#define OPB 12   /* buffers per case */

/* One case of a row: its buffers (host data) and parameters. */
typedef struct {
    int variant;
    float *h[OPB];
    size_t n[OPB];
    char role[OPB];         /* 'i' input, 'o' output, 'x' read and written, '-' absent (the op gets NULL) */
    int nb;
    int32_t *ids;           /* host-memory token ids (embed) */
    size_t nids;
    size_t P[12];           /* shapes, strides, flags */
    float f[2];             /* eps, shift */
    char desc[96];
} opcase;

typedef struct {
    const char *name;                   /* the row, for messages */
    hd_op ops[4];                       /* the ops the row exercises (a backend runs it when it has them all) */
    int variants;
    void (*make)(opcase *c);            /* variant c->variant: shapes and random inputs */
    int (*call)(hd_backend *be, const opcase *c, float **p);   /* the op(s) on backend buffers p: 0 or -1 */
    void (*ref)(const opcase *c, double **w);   /* expected 'o'/'x' buffers (w[i] starts as the inputs) */
    double rel, abs;                    /* tolerance against the scalar reference (0: exact) */
    double rel_dev, abs_dev;            /* tolerance of another backend against the CPU in fp32 (0: exact) */
    int gemm;                           /* projections: compared in every precision the backend offers */
    void (*check)(hd_backend *be, hd_backend *other);   /* instead of make/call/ref (other may be NULL) */
} op_row;

/* ---------------------------------------------------------------- inputs */

static uint64_t op_rng;
static void op_seed(const char *name, int variant)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *s = name; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    op_rng = (h ^ (uint64_t)(variant + 1) * 0x9E3779B97F4A7C15ull) | 1;
}
static float op_rand(float lo, float hi)
{
    op_rng ^= op_rng << 13; op_rng ^= op_rng >> 7; op_rng ^= op_rng << 17;
    return lo + (hi - lo) * (float)((op_rng >> 11) * (1.0 / 9007199254740992.0));
}
/* a buffer of n values uniform in [lo, hi) (role '-': absent) */
static int ob(opcase *c, char role, size_t n, float lo, float hi)
{
    int i = c->nb++;
    cr_assert_lt(i, OPB);
    c->role[i] = role;
    c->n[i] = role == '-' ? 0 : n;
    c->h[i] = malloc((c->n[i] ? c->n[i] : 1) * sizeof(float));
    for (size_t k = 0; k < c->n[i]; k++) c->h[i][k] = op_rand(lo, hi);
    return i;
}
static void op_case_free(opcase *c)
{
    for (int i = 0; i < c->nb; i++) free(c->h[i]);
    free(c->ids);
}
static double sigm(double x) { return 1.0 / (1.0 + exp(-x)); }
static double logsig(double x) { return x < 0 ? x - log1p(exp(x)) : -log1p(exp(-x)); }

/* ---------------------------------------------------------------- dense */

/* cases: (M, K, N) × bias */
static const size_t LIN[][3] = {{1, 37, 23}, {7, 37, 23}, {300, 70, 130}, {600, 37, 23}};
enum { LX, LW, LB, LY };
static void make_lin(opcase *c, int cm_in, int cm_out)
{
    size_t M = LIN[c->variant / 2][0], K = LIN[c->variant / 2][1], N = LIN[c->variant / 2][2];
    int bias = c->variant % 2;
    size_t ldx = cm_in ? M + 9 : K + 3, ldy = cm_out ? M + 7 : N + 5;
    c->P[0] = M, c->P[1] = K, c->P[2] = N, c->P[3] = ldx, c->P[4] = ldy;
    ob(c, 'i', cm_in ? K * ldx : M * ldx, -1, 1);
    ob(c, 'i', N * K, -1, 1);
    ob(c, bias ? 'i' : '-', N, -1, 1);
    ob(c, 'o', cm_out ? N * ldy : M * ldy, -1, 1);
    snprintf(c->desc, sizeof c->desc, "M=%zu K=%zu N=%zu bias=%d", M, K, N, bias);
}
static void make_linear(opcase *c) { make_lin(c, 0, 0); }
static void make_linear_cm_out(opcase *c) { make_lin(c, 0, 1); }
static void make_linear_cm_in(opcase *c) { make_lin(c, 1, 0); }
static int call_linear(hd_backend *be, const opcase *c, float **p)
{
    be->linear(be, p[LX], c->P[0], c->P[1], c->P[3], p[LW], p[LB], c->P[2], p[LY], c->P[4]);
    return 0;
}
static int call_linear_cm_out(hd_backend *be, const opcase *c, float **p)
{
    be->linear_cm_out(be, p[LX], c->P[0], c->P[1], c->P[3], p[LW], p[LB], c->P[2], p[LY], c->P[4]);
    return 0;
}
static int call_linear_cm_in(hd_backend *be, const opcase *c, float **p)
{
    be->linear_cm_in(be, p[LX], c->P[0], c->P[1], c->P[3], p[LW], p[LB], c->P[2], p[LY], c->P[4]);
    return 0;
}
static void ref_lin(const opcase *c, double **w, int cm_in, int cm_out)
{
    size_t M = c->P[0], K = c->P[1], N = c->P[2], ldx = c->P[3], ldy = c->P[4];
    const float *X = c->h[LX], *W = c->h[LW], *b = c->n[LB] ? c->h[LB] : NULL;
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++) {
            double s = b ? b[n] : 0;
            for (size_t k = 0; k < K; k++) s += (double)(cm_in ? X[k * ldx + m] : X[m * ldx + k]) * W[n * K + k];
            w[LY][cm_out ? n * ldy + m : m * ldy + n] = s;
        }
}
static void ref_linear(const opcase *c, double **w) { ref_lin(c, w, 0, 0); }
static void ref_linear_cm_out(const opcase *c, double **w) { ref_lin(c, w, 0, 1); }
static void ref_linear_cm_in(const opcase *c, double **w) { ref_lin(c, w, 1, 0); }

/* ---------------------------------------------------------------- position-wise */

/* cases: D × (beta, out of place | no beta, in place) */
static const size_t NORM_D[] = {1, 5, 128, 300, 1030};
enum { NX, NG, NB, NY };
static void make_norm(opcase *c)
{
    size_t M = 37, D = NORM_D[c->variant / 2];
    int inplace = c->variant % 2;
    c->P[0] = M, c->P[1] = D, c->P[2] = inplace;
    c->f[0] = inplace ? 1e-6f : 1e-5f;
    ob(c, inplace ? 'x' : 'i', M * D, -3, 5);
    ob(c, 'i', D, 0.5f, 1.5f);
    ob(c, inplace ? '-' : 'i', D, -0.5f, 0.5f);
    ob(c, inplace ? '-' : 'o', M * D, -1, 1);
    snprintf(c->desc, sizeof c->desc, "M=%zu D=%zu %s", M, D, inplace ? "in place, no beta" : "beta");
}
static int call_layernorm(hd_backend *be, const opcase *c, float **p)
{
    be->layernorm(be, p[NX], c->P[0], c->P[1], p[NG], p[NB], c->f[0], c->P[2] ? p[NX] : p[NY]);
    return 0;
}
static int call_rmsnorm(hd_backend *be, const opcase *c, float **p)
{
    be->rmsnorm(be, p[NX], c->P[0], c->P[1], p[NG], c->f[0], c->P[2] ? p[NX] : p[NY]);
    return 0;
}
static void ref_norm(const opcase *c, double **w, int rms)
{
    size_t M = c->P[0], D = c->P[1];
    const float *X = c->h[NX], *g = c->h[NG], *b = c->n[NB] ? c->h[NB] : NULL;
    double *Y = c->P[2] ? w[NX] : w[NY];
    for (size_t m = 0; m < M; m++) {
        const float *x = X + m * D;
        double mu = 0, var = 0, ss = 0;
        for (size_t d = 0; d < D; d++) mu += x[d], ss += (double)x[d] * x[d];
        mu /= (double)D;
        for (size_t d = 0; d < D; d++) var += (x[d] - mu) * (x[d] - mu);
        var /= (double)D;
        for (size_t d = 0; d < D; d++)
            Y[m * D + d] = rms ? x[d] / sqrt(ss / (double)D + c->f[0]) * g[d]
                               : (x[d] - mu) / sqrt(var + c->f[0]) * g[d] + (b ? b[d] : 0);
    }
}
static void ref_layernorm(const opcase *c, double **w) { ref_norm(c, w, 0); }
static void ref_rmsnorm(const opcase *c, double **w) { ref_norm(c, w, 1); }

/* elementwise ops over n values: gelu_tanh, add */
static void make_elementwise(opcase *c)
{
    size_t n = c->variant ? 100003 : 1000;
    c->P[0] = n;
    ob(c, 'x', n, -6, 6);
    ob(c, 'i', n, -1, 1);
    snprintf(c->desc, sizeof c->desc, "n=%zu", n);
}
static int call_gelu_tanh(hd_backend *be, const opcase *c, float **p) { be->gelu_tanh(be, p[0], c->P[0]); return 0; }
static void ref_gelu_tanh(const opcase *c, double **w)
{
    for (size_t i = 0; i < c->P[0]; i++) {
        double a = c->h[0][i];
        w[0][i] = 0.5 * a * (1 + tanh(sqrt(2 / M_PI) * (a + 0.044715 * a * a * a)));
    }
}
static int call_add(hd_backend *be, const opcase *c, float **p) { be->add(be, p[0], p[1], c->P[0]); return 0; }
static void ref_add(const opcase *c, double **w)
{
    for (size_t i = 0; i < c->P[0]; i++) w[0][i] = (double)c->h[0][i] + c->h[1][i];
}

/* cases: small, large, arguments up to ~8,000 (the vectorised sine), some past 65,536 (libm's) */
static void make_sin_freq(opcase *c)
{
    static const float range[] = {1, 1, 700, 7000};
    size_t M = c->variant == 1 ? 1000 : 13, H = 64;
    c->P[0] = M, c->P[1] = H;
    ob(c, 'x', M * H, -range[c->variant], range[c->variant]);
    ob(c, 'i', H, 8, 12);
    snprintf(c->desc, sizeof c->desc, "M=%zu H=%zu", M, H);
}
static int call_sin_freq(hd_backend *be, const opcase *c, float **p)
{
    be->sin_freq(be, p[0], c->P[0], c->P[1], p[1]);
    return 0;
}
static void ref_sin_freq(const opcase *c, double **w)
{
    for (size_t m = 0; m < c->P[0]; m++)
        for (size_t h = 0; h < c->P[1]; h++) {
            float a = c->h[1][h] * c->h[0][m * c->P[1] + h];   /* the fp32 argument */
            w[0][m * c->P[1] + h] = sin((double)a);
        }
}

static void make_modulate_cm(opcase *c)
{
    size_t C = c->variant ? 130 : 33, T = c->variant ? 300 : 257, ldk = T + 3;
    c->P[0] = C, c->P[1] = T, c->P[2] = ldk;
    c->f[1] = 0.05f;
    ob(c, 'x', C * ldk, -1, 1);
    int t = ob(c, 'i', T, 0, 1);
    for (size_t i = 0; i < T; i++) c->h[t][i] = (float)i / (float)(T - 1);
    ob(c, 'i', C, -15, -3);
    snprintf(c->desc, sizeof c->desc, "C=%zu T=%zu", C, T);
}
static int call_modulate_cm(hd_backend *be, const opcase *c, float **p)
{
    be->modulate_cm(be, p[0], c->P[0], c->P[1], c->P[2], p[1], p[2], c->f[1]);
    return 0;
}
static void ref_modulate_cm(const opcase *c, double **w)
{
    for (size_t ch = 0; ch < c->P[0]; ch++)
        for (size_t i = 0; i < c->P[1]; i++)
            w[0][ch * c->P[2] + i] = c->h[0][ch * c->P[2] + i] * (exp(-(double)c->h[1][i] * fabs(c->h[2][ch])) + c->f[1]);
}

/* ---------------------------------------------------------------- per channel over time */

/* cases: hist {0, 1, 2, 5} × K {1, 3, 4} × bias, then one large case */
static void make_causal_conv(opcase *c)
{
    static const size_t hs[] = {0, 1, 2, 5}, ks[] = {1, 3, 4};
    int big = c->variant == 24, v = big ? 5 : c->variant;
    size_t C = big ? 300 : 40, T = big ? 200 : 100, hist = hs[v / 6], K = ks[(v / 2) % 3];
    int bias = big || v % 2;
    size_t ldx = T + hist + 3, ldy = T + 4;
    c->P[0] = C, c->P[1] = T, c->P[2] = ldx, c->P[3] = hist, c->P[4] = K, c->P[5] = ldy;
    ob(c, 'i', C * ldx, -2, 2);
    ob(c, 'i', C * K, -1, 1);
    ob(c, bias ? 'i' : '-', C, -1, 1);
    ob(c, 'o', C * ldy, -1, 1);
    snprintf(c->desc, sizeof c->desc, "C=%zu T=%zu hist=%zu K=%zu bias=%d", C, T, hist, K, bias);
}
static int call_causal_conv(hd_backend *be, const opcase *c, float **p)
{
    be->causal_conv(be, p[0], c->P[0], c->P[1], c->P[2], c->P[3], p[1], c->P[4], p[2], p[3], c->P[5]);
    return 0;
}
static void ref_causal_conv(const opcase *c, double **w)
{
    size_t C = c->P[0], T = c->P[1], ldx = c->P[2], hist = c->P[3], K = c->P[4], ldy = c->P[5];
    for (size_t ch = 0; ch < C; ch++)
        for (size_t t = 0; t < T; t++) {
            double s = c->n[2] ? c->h[2][ch] : 0;
            for (size_t j = 0; j < K; j++) {
                long i = (long)hist + (long)t - (long)(K - 1) + (long)j;
                if (i >= 0) s += (double)c->h[1][ch * K + j] * c->h[0][ch * ldx + (size_t)i];
            }
            w[3][ch * ldy + t] = s;
        }
}

/* cases: y apart, y = a (in place), large */
static void make_mul_cm(opcase *c)
{
    int big = c->variant == 2;
    size_t C = big ? 120 : 17, T = big ? 300 : 333, lda = T + 7, ldb = T + 2, ldy = T + 17;
    c->P[0] = C, c->P[1] = T, c->P[2] = lda, c->P[3] = ldb, c->P[4] = ldy, c->P[5] = c->variant == 1;
    ob(c, c->P[5] ? 'x' : 'i', C * lda, -2, 2);
    ob(c, 'i', C * ldb, -2, 2);
    ob(c, c->P[5] ? '-' : 'o', C * ldy, -1, 1);
    snprintf(c->desc, sizeof c->desc, "C=%zu T=%zu%s", C, T, c->P[5] ? " in place" : "");
}
static int call_mul_cm(hd_backend *be, const opcase *c, float **p)
{
    if (c->P[5]) be->mul_cm(be, p[0], c->P[2], p[1], c->P[3], p[0], c->P[2], c->P[0], c->P[1]);
    else be->mul_cm(be, p[0], c->P[2], p[1], c->P[3], p[2], c->P[4], c->P[0], c->P[1]);
    return 0;
}
static void ref_mul_cm(const opcase *c, double **w)
{
    for (size_t ch = 0; ch < c->P[0]; ch++)
        for (size_t t = 0; t < c->P[1]; t++) {
            double v = (double)c->h[0][ch * c->P[2] + t] * c->h[1][ch * c->P[3] + t];
            if (c->P[5]) w[0][ch * c->P[2] + t] = v;
            else w[2][ch * c->P[4] + t] = v;
        }
}

/* ---------------------------------------------------------------- long convolution (FFT) */

/* cases: L × {taps L, L + 7 (only L used), L/2, spectra of (N+1)/2 taps}; dbias on the odd kinds */
static const size_t FFT_L[] = {1, 2, 3, 17, 255, 1000, 4099};
enum { FU, FK, FD };
static void make_fft(opcase *c, int spectra_only)
{
    int v = spectra_only ? c->variant * 4 + 3 : c->variant;
    size_t L = FFT_L[v / 4], kind = (size_t)v % 4, C = L > 1000 ? 6 : 24;
    size_t Lk = kind == 1 ? L + 7 : kind == 2 ? (L > 2 ? L / 2 : L) : L;
    c->P[0] = C, c->P[1] = L, c->P[2] = L + 5, c->P[4] = kind == 3;
    if (kind == 3) Lk = 2 * L;   /* room for the (N+1)/2 ≤ 2L − 1 taps call_fftconv takes, as the model does */
    c->P[3] = Lk, c->P[5] = Lk + 2;
    ob(c, 'x', C * c->P[2], -1, 1);
    int k = ob(c, 'i', C * c->P[5], -1, 1);
    for (size_t ch = 0; ch < C; ch++)   /* decaying filters, as the modulated ones */
        for (size_t i = 0; i < Lk; i++) c->h[k][ch * c->P[5] + i] *= expf(-3.0f * (float)i / (float)Lk);
    ob(c, kind % 2 ? '-' : 'i', C, -1, 1);
    snprintf(c->desc, sizeof c->desc, "C=%zu L=%zu taps=%zu%s dbias=%d", C, L, Lk, kind == 3 ? " (spectra of (N+1)/2)" : "",
             kind % 2 == 0);
}
static void make_fftconv(opcase *c) { make_fft(c, 0); }
static void make_spectra(opcase *c) { make_fft(c, 1); }
static int call_fftconv(hd_backend *be, const opcase *c, float **p)
{
    size_t C = c->P[0], L = c->P[1], ldu = c->P[2], Lk = c->P[3], ldk = c->P[5];
    if (!c->P[4]) return be->fftconv(be, p[FU], C, L, ldu, NULL, p[FK], Lk, ldk, p[FD]);
    size_t N = be->fft_size(be, L), taps = (N + 1) / 2 < Lk ? (N + 1) / 2 : Lk;
    hd_spectra *s = be->spectra_new(be, p[FK], C, taps, ldk, N);
    if (!s) return -1;
    int rc = be->fftconv(be, p[FU], C, L, ldu, s, NULL, 0, 0, p[FD]);
    be->spectra_free(be, s);
    return rc;
}
static void ref_fftconv(const opcase *c, double **w)
{
    size_t C = c->P[0], L = c->P[1], ldu = c->P[2], taps = c->P[3] < L ? c->P[3] : L, ldk = c->P[5];
    for (size_t ch = 0; ch < C; ch++)
        for (size_t t = 0; t < L; t++) {
            const float *u = c->h[FU] + ch * ldu, *k = c->h[FK] + ch * ldk;
            double s = c->n[FD] ? (double)c->h[FD][ch] * u[t] : 0;
            for (size_t tau = 0; tau <= t && tau < taps; tau++) s += (double)k[tau] * u[t - tau];
            w[FU][ch * ldu + t] = s;
        }
}

/* fft_size: N ≥ 2L − 1; another backend picks the same N (cached spectra are keyed by N) */
static void check_fft_size(hd_backend *be, hd_backend *other)
{
    static const size_t big[] = {32768, 160000, 160002, 450002, 1000000, 1000002, 1048576};
    for (size_t L = 0; L < 5000 + sizeof big / sizeof *big; L++) {
        size_t l = L < 5000 ? L : big[L - 5000], N = be->fft_size(be, l);
        cr_expect_geq(N, l ? 2 * l - 1 : 1, "fft_size(%zu) = %zu < 2L - 1", l, N);
        if (other) cr_expect_eq(N, other->fft_size(other, l), "fft_size(%zu): %zu here, %zu on %s", l, N,
                                other->fft_size(other, l), other->name);
    }
}
/* spectra_bytes: at least the N/2 + 1 complex values of each channel */
static void check_spectra_bytes(hd_backend *be, hd_backend *other)
{
    static const size_t Ns[] = {2, 64, 2000, 324000};
    for (size_t i = 0; i < sizeof Ns / sizeof *Ns; i++)
        for (size_t C = 1; C <= 256; C *= 16)
            cr_expect_geq(be->spectra_bytes(be, C, Ns[i]), C * (Ns[i] / 2 + 1) * 2 * sizeof(float), "spectra_bytes(%zu, %zu)",
                          C, Ns[i]);
}

/* ---------------------------------------------------------------- lookup and memory */

static void make_embed(opcase *c)
{
    size_t rows = 16, D = c->variant ? 200 : 7, n = c->variant ? 3001 : 5;
    c->P[0] = rows, c->P[1] = D;
    ob(c, 'i', rows * D, -1, 1);
    ob(c, 'o', n * D, -1, 1);
    c->nids = n;
    c->ids = malloc(n * sizeof *c->ids);
    for (size_t i = 0; i < n; i++) c->ids[i] = (int32_t)(op_rand(0, 1) * (float)rows) % (int32_t)rows;
    snprintf(c->desc, sizeof c->desc, "rows=%zu D=%zu n=%zu", rows, D, n);
}
static int call_embed(hd_backend *be, const opcase *c, float **p)
{
    be->embed(be, c->ids, c->nids, p[0], c->P[1], p[1]);
    return 0;
}
static void ref_embed(const opcase *c, double **w)
{
    size_t D = c->P[1];
    for (size_t i = 0; i < c->nids; i++)
        for (size_t d = 0; d < D; d++) w[1][i * D + d] = c->h[0][(size_t)c->ids[i] * D + d];
}

/* alloc, upload, download, weights and free: exact round trips */
static void check_memory(hd_backend *be, hd_backend *other)
{
    size_t n = 70001;
    float *h = malloc(n * sizeof *h), *got = malloc(n * sizeof *got);
    for (size_t i = 0; i < n; i++) h[i] = op_rand(-1e3f, 1e3f);
    float *d = be->alloc(be, n * sizeof *d, "a test buffer");
    cr_assert_not_null(d, "%s", hd_error());
    be->upload(be, d, h, n * sizeof *h);
    be->download(be, got, d, n * sizeof *got);
    cr_expect_eq(memcmp(got, h, n * sizeof *h), 0, "upload then download");
    be->free(be, d);
    be->free(be, NULL);
    const float *wt = be->weights(be, h, n);
    cr_assert_not_null(wt, "%s", hd_error());
    memset(got, 0, n * sizeof *got);
    be->download(be, got, wt, n * sizeof *got);
    cr_expect_eq(memcmp(got, h, n * sizeof *h), 0, "weights hold the host values");
    cr_expect_eq(be->weights(be, h, n), wt, "the same weights twice: the same copy");
    cr_expect_eq(hd_backend_check(be), 0, "%s", hd_error());
    free(h);
    free(got);
}

/* ---------------------------------------------------------------- DNA-xLSTM */

/* cases: rev_rows × rev_cols × accumulate, then large */
static void make_flip(opcase *c)
{
    int big = c->variant == 8, v = big ? 7 : c->variant;
    size_t M = big ? 300 : 50, C = big ? 300 : 33, ldx = C + 3, ldy = C + 5;
    c->P[0] = M, c->P[1] = C, c->P[2] = ldx, c->P[3] = ldy, c->P[4] = v & 1, c->P[5] = (v >> 1) & 1, c->P[6] = v >> 2;
    ob(c, 'i', M * ldx, -1, 1);
    ob(c, 'o', M * ldy, -1, 1);
    snprintf(c->desc, sizeof c->desc, "M=%zu C=%zu rows=%zu cols=%zu acc=%zu", M, C, c->P[4], c->P[5], c->P[6]);
}
static int call_flip(hd_backend *be, const opcase *c, float **p)
{
    be->flip(be, p[0], c->P[2], p[1], c->P[3], c->P[0], c->P[1], (int)c->P[4], (int)c->P[5], (int)c->P[6]);
    return 0;
}
static void ref_flip(const opcase *c, double **w)
{
    size_t M = c->P[0], C = c->P[1];
    for (size_t t = 0; t < M; t++)
        for (size_t ch = 0; ch < C; ch++) {
            double x = c->h[0][(c->P[4] ? M - 1 - t : t) * c->P[2] + (c->P[5] ? C - 1 - ch : ch)];
            double *y = &w[1][t * c->P[3] + ch];
            *y = c->P[6] ? *y + x : x;
        }
}

/* cases: (G, DG) × (out of place | in place), then large */
static void make_groupnorm(opcase *c)
{
    static const size_t g[][2] = {{1, 16}, {2, 33}, {4, 16}};
    int big = c->variant == 6, v = big ? 0 : c->variant;
    size_t M = big ? 300 : 37, G = big ? 4 : g[v / 2][0], DG = big ? 32 : g[v / 2][1];
    int inplace = v % 2;
    c->P[0] = M, c->P[1] = G, c->P[2] = DG, c->P[3] = inplace;
    c->f[0] = 1e-5f;
    ob(c, inplace ? 'x' : 'i', M * G * DG, -3, 5);
    ob(c, 'i', G * DG, 0.5f, 1.5f);
    ob(c, inplace ? '-' : 'o', M * G * DG, -1, 1);
    snprintf(c->desc, sizeof c->desc, "M=%zu G=%zu DG=%zu%s", M, G, DG, inplace ? " in place" : "");
}
static int call_groupnorm(hd_backend *be, const opcase *c, float **p)
{
    be->groupnorm(be, p[0], c->P[0], c->P[1], c->P[2], p[1], c->f[0], c->P[3] ? p[0] : p[2]);
    return 0;
}
static void ref_groupnorm(const opcase *c, double **w)
{
    size_t M = c->P[0], G = c->P[1], DG = c->P[2];
    double *Y = c->P[3] ? w[0] : w[2];
    for (size_t m = 0; m < M; m++)
        for (size_t gi = 0; gi < G; gi++) {
            const float *x = c->h[0] + m * G * DG + gi * DG;
            double mu = 0, var = 0;
            for (size_t d = 0; d < DG; d++) mu += x[d];
            mu /= (double)DG;
            for (size_t d = 0; d < DG; d++) var += (x[d] - mu) * (x[d] - mu);
            var /= (double)DG;
            for (size_t d = 0; d < DG; d++)
                Y[m * G * DG + gi * DG + d] = (x[d] - mu) / sqrt(var + c->f[0]) * c->h[1][gi * DG + d];
        }
}

/* cases: K {1, 4} × bias × silu (K 4 with bias: non-causal, 2 taps after the position), then large; then
 * K 3 and 6 non-causal with M < K (every row reaches both ends) */
static void make_conv_rows(opcase *c)
{
    int big = c->variant == 8, v = big ? 7 : c->variant, tiny = c->variant > 8;
    size_t M = big ? 300 : tiny ? 2 : 60, C = big ? 64 : 20, K = tiny ? 3 * (size_t)(c->variant - 8) : v & 4 ? 4 : 1;
    size_t ldx = 2 * C, ldy = C + 2, right = tiny ? K / 2 : (v & 6) == 6 ? 2 : 0;
    c->P[0] = M, c->P[1] = C, c->P[2] = K, c->P[3] = ldx, c->P[4] = ldy, c->P[5] = v & 1, c->P[6] = right;
    ob(c, 'i', M * ldx, -2, 2);
    ob(c, 'i', C * K, -1, 1);
    ob(c, v & 2 ? 'i' : '-', C, -1, 1);
    ob(c, 'o', M * ldy, -1, 1);
    snprintf(c->desc, sizeof c->desc, "M=%zu C=%zu K=%zu right=%zu bias=%d silu=%d", M, C, K, right, (v & 2) != 0, v & 1);
}
static int call_conv_rows(hd_backend *be, const opcase *c, float **p)
{
    be->conv_rows(be, p[0], c->P[3], c->P[0], c->P[1], p[1], c->P[2], c->P[6], p[2], (int)c->P[5], p[3], c->P[4]);
    return 0;
}
static void ref_conv_rows(const opcase *c, double **w)
{
    size_t M = c->P[0], C = c->P[1], K = c->P[2];
    long left = (long)(K - 1 - c->P[6]);
    for (size_t t = 0; t < M; t++)
        for (size_t ch = 0; ch < C; ch++) {
            double s = c->n[2] ? c->h[2][ch] : 0;
            for (size_t j = 0; j < K; j++) {
                long r = (long)t - left + (long)j;
                if (r >= 0 && r < (long)M) s += (double)c->h[1][ch * K + j] * c->h[0][(size_t)r * c->P[3] + ch];
            }
            w[3][t * c->P[4] + ch] = c->P[5] ? s * sigm(s) : s;
        }
}

/* cases: (H, DI, DO) × bias, then large */
static void make_headwise(opcase *c)
{
    static const size_t hw[][3] = {{4, 8, 8}, {3, 6, 10}, {1, 5, 3}};
    int big = c->variant == 6, v = big ? 1 : c->variant;
    size_t M = big ? 300 : 40, H = big ? 8 : hw[v / 2][0], DI = big ? 8 : hw[v / 2][1], DO = big ? 8 : hw[v / 2][2];
    size_t ldx = H * DI + 5, ldy = H * DO + 3;
    c->P[0] = M, c->P[1] = H, c->P[2] = DI, c->P[3] = DO, c->P[4] = ldx, c->P[5] = ldy;
    ob(c, 'i', M * ldx, -1, 1);
    ob(c, 'i', H * DO * DI, -1, 1);
    ob(c, v % 2 ? 'i' : '-', H * DO, -1, 1);
    ob(c, 'o', M * ldy, -1, 1);
    snprintf(c->desc, sizeof c->desc, "M=%zu H=%zu DI=%zu DO=%zu bias=%d", M, H, DI, DO, v % 2);
}
static int call_headwise(hd_backend *be, const opcase *c, float **p)
{
    be->headwise(be, p[0], c->P[4], c->P[0], c->P[1], c->P[2], c->P[3], p[1], p[2], p[3], c->P[5]);
    return 0;
}
static void ref_headwise(const opcase *c, double **w)
{
    size_t M = c->P[0], H = c->P[1], DI = c->P[2], DO = c->P[3];
    for (size_t m = 0; m < M; m++)
        for (size_t h = 0; h < H; h++)
            for (size_t o = 0; o < DO; o++) {
                double s = c->n[2] ? c->h[2][h * DO + o] : 0;
                for (size_t d = 0; d < DI; d++) s += (double)c->h[1][(h * DO + o) * DI + d] * c->h[0][m * c->P[4] + h * DI + d];
                w[3][m * c->P[5] + h * DO + o] = s;
            }
}

static void make_rope(opcase *c)
{
    int big = c->variant == 1;
    size_t M = big ? 400 : 40, H = big ? 4 : 3, DH = big ? 64 : 8, ldx = H * DH + 4, P = DH / 2;
    c->P[0] = M, c->P[1] = H, c->P[2] = DH, c->P[3] = ldx;
    ob(c, 'x', M * ldx, -1, 1);
    int cs = ob(c, 'i', M * P, 0, 0), sn = ob(c, 'i', M * P, 0, 0);
    for (size_t i = 0; i < M * P; i++) {
        float a = op_rand(-3.2f, 3.2f);
        c->h[cs][i] = cosf(a), c->h[sn][i] = sinf(a);
    }
    snprintf(c->desc, sizeof c->desc, "M=%zu H=%zu DH=%zu", M, H, DH);
}
static int call_rope(hd_backend *be, const opcase *c, float **p)
{
    be->rope(be, p[0], c->P[3], c->P[0], c->P[1], c->P[2], p[1], p[2]);
    return 0;
}
static void ref_rope(const opcase *c, double **w)
{
    size_t M = c->P[0], H = c->P[1], DH = c->P[2], P = DH / 2;
    for (size_t m = 0; m < M; m++)
        for (size_t h = 0; h < H; h++)
            for (size_t j = 0; j < P; j++) {
                size_t i = m * c->P[3] + h * DH + 2 * j;
                double a = c->h[0][i], b = c->h[0][i + 1], cs = c->h[1][m * P + j], sn = c->h[2][m * P + j];
                w[0][i] = a * cs - b * sn;
                w[0][i + 1] = a * sn + b * cs;
            }
}

/* cases: L {1, 17, 100} × form {parallel, chunkwise 16, chunkwise 7, recurrent}, then large.
 * Input gates are drawn ≥ 0, where every form's stabiliser is the parallel one (§5.7), so that the three
 * forms answer the same reference. */
enum { MQKV, MIG, MFG, MH };
static void make_mlstm_cell(opcase *c)
{
    static const size_t Ls[] = {1, 17, 100};
    int big = c->variant == 12, v = big ? 1 : c->variant;
    size_t L = big ? 300 : Ls[v / 4], NH = 2, DH = big ? 16 : 8, ldqkv = 3 * NH * DH, ldg = NH + 1, ldh = NH * DH + 3;
    int form = v % 4 == 0 ? HD_MLSTM_PARALLEL : v % 4 == 3 ? HD_MLSTM_RECURRENT : HD_MLSTM_CHUNKWISE;
    size_t chunk = v % 4 == 1 ? 16 : 7;
    c->P[0] = L, c->P[1] = NH, c->P[2] = DH, c->P[3] = ldqkv, c->P[4] = ldg, c->P[5] = ldh, c->P[6] = (size_t)form;
    c->P[7] = chunk;
    ob(c, 'i', L * ldqkv, -1, 1);
    ob(c, 'i', L * ldg, 0, 3);
    ob(c, 'i', L * ldg, -2, 4);
    ob(c, 'o', L * ldh, -1, 1);
    static const char *forms[] = {"parallel", "chunkwise", "recurrent"};
    snprintf(c->desc, sizeof c->desc, "L=%zu NH=%zu DH=%zu %s%s", L, NH, DH, forms[form],
             form == HD_MLSTM_CHUNKWISE ? (chunk == 16 ? "/16" : "/7") : "");
}
static int call_mlstm_cell(hd_backend *be, const opcase *c, float **p)
{
    size_t NH = c->P[1], DH = c->P[2];
    return be->mlstm_cell(be, p[MQKV], p[MQKV] + NH * DH, p[MQKV] + 2 * NH * DH, c->P[3], p[MIG], p[MFG], c->P[4], c->P[0],
                          NH, DH, (int)c->P[6], c->P[7], p[MH], c->P[5]);
}
/* h_t = Σ_{s≤t} w_ts v_s / (max(|Σ_s w_ts|, e^{−m_t}) + 1e-6), w_ts = (q_t·k_s/√DH)·e^{D_ts − m_t},
 * D_ts = F_t − F_s + i_s, F_t = Σ_{r≤t} log σ(f_r), m_t = max_s D_ts */
static void ref_mlstm_cell(const opcase *c, double **w)
{
    size_t L = c->P[0], NH = c->P[1], DH = c->P[2], ld = c->P[3], ldg = c->P[4], ldh = c->P[5];
    double *F = malloc(L * sizeof *F), *Dts = malloc(L * sizeof *Dts), *ws = malloc(L * sizeof *ws);
    for (size_t h = 0; h < NH; h++) {
        const float *q = c->h[MQKV] + h * DH, *k = q + NH * DH, *v = q + 2 * NH * DH;
        const float *ig = c->h[MIG] + h, *fg = c->h[MFG] + h;
        double acc = 0;
        for (size_t t = 0; t < L; t++) F[t] = acc += logsig(fg[t * ldg]);
        for (size_t t = 0; t < L; t++) {
            double m = -INFINITY, sum = 0;
            for (size_t s = 0; s <= t; s++) {
                Dts[s] = F[t] - F[s] + ig[s * ldg];
                if (Dts[s] > m) m = Dts[s];
            }
            for (size_t s = 0; s <= t; s++) {
                double qk = 0;
                for (size_t d = 0; d < DH; d++) qk += (double)q[t * ld + d] * k[s * ld + d];
                ws[s] = qk / sqrt((double)DH) * exp(Dts[s] - m);
                sum += ws[s];
            }
            double den = (fabs(sum) > exp(-m) ? fabs(sum) : exp(-m)) + 1e-6;
            for (size_t e = 0; e < DH; e++) {
                double hv = 0;
                for (size_t s = 0; s <= t; s++) hv += ws[s] * v[s * ld + e];
                w[MH][t * ldh + h * DH + e] = hv / den;
            }
        }
    }
    free(F); free(Dts); free(ws);
}

static void make_mlstm_gate(opcase *c)
{
    int big = c->variant == 1;
    size_t M = big ? 300 : 40, C = big ? 128 : 24, ldh = C + 1, ldx = C + 2, ldz = 2 * C;
    c->P[0] = M, c->P[1] = C, c->P[2] = ldh, c->P[3] = ldx, c->P[4] = ldz;
    ob(c, 'x', M * ldh, -2, 2);
    ob(c, 'i', M * ldx, -2, 2);
    ob(c, 'i', C, -1, 1);
    ob(c, 'i', M * ldz, -4, 4);
    snprintf(c->desc, sizeof c->desc, "M=%zu C=%zu", M, C);
}
static int call_mlstm_gate(hd_backend *be, const opcase *c, float **p)
{
    be->mlstm_gate(be, p[0], c->P[2], p[1], c->P[3], p[2], p[3], c->P[4], c->P[0], c->P[1]);
    return 0;
}
static void ref_mlstm_gate(const opcase *c, double **w)
{
    for (size_t m = 0; m < c->P[0]; m++)
        for (size_t ch = 0; ch < c->P[1]; ch++) {
            double z = c->h[3][m * c->P[4] + ch];
            w[0][m * c->P[2] + ch] = ((double)c->h[0][m * c->P[2] + ch] + (double)c->h[2][ch] * c->h[1][m * c->P[3] + ch]) * z * sigm(z);
        }
}

/* cases: L {1, 20} × rev_heads, then large */
enum { SWX, SR, SB, SY };
static void make_slstm_cell(opcase *c)
{
    int big = c->variant == 4, v = big ? 2 : c->variant;
    size_t L = big ? 300 : v / 2 ? 20 : 1, NH = 2, DH = big ? 16 : 8, D = NH * DH, ldw = 4 * D + 3, ldy = D + 2;
    c->P[0] = L, c->P[1] = NH, c->P[2] = DH, c->P[3] = ldw, c->P[4] = ldy, c->P[5] = v % 2;
    ob(c, 'i', L * ldw, -2, 2);
    ob(c, 'i', NH * DH * 4 * DH, -0.3f, 0.3f);
    ob(c, 'i', NH * 4 * DH, -1, 1);
    ob(c, 'o', L * ldy, -1, 1);
    snprintf(c->desc, sizeof c->desc, "L=%zu NH=%zu DH=%zu rev_heads=%zu", L, NH, DH, c->P[5]);
}
static int call_slstm_cell(hd_backend *be, const opcase *c, float **p)
{
    return be->slstm_cell(be, p[SWX], c->P[3], p[SR], p[SB], c->P[0], c->P[1], c->P[2], (int)c->P[5], p[SY], c->P[4]);
}
/* per head, states from 0: [i, f, z, o] = Wx_t + b + R·y_{t−1}; m_t = max(i, m + log σ(f)) (i at t = 0);
 * c = e^{m+log σ(f)−m_t}·c + e^{i−m_t}·tanh z; n likewise with 1; y = σ(o)·c/n */
static void ref_slstm_cell(const opcase *c, double **w)
{
    size_t L = c->P[0], NH = c->P[1], DH = c->P[2], D = NH * DH, ldw = c->P[3], ldy = c->P[4];
    double *y = calloc(DH, sizeof *y), *yn = calloc(DH, sizeof *yn), *cs = calloc(DH, sizeof *cs);
    double *ns = calloc(DH, sizeof *ns), *ms = calloc(DH, sizeof *ms), raw[4];
    for (size_t h = 0; h < NH; h++) {
        const float *R = c->h[SR] + h * DH * 4 * DH, *b = c->h[SB] + h * 4 * DH;
        size_t slot = c->P[5] ? NH - 1 - h : h;
        for (size_t j = 0; j < DH; j++) y[j] = cs[j] = ns[j] = ms[j] = 0;
        for (size_t t = 0; t < L; t++) {
            for (size_t j = 0; j < DH; j++) {
                for (size_t g = 0; g < 4; g++) {
                    raw[g] = (double)c->h[SWX][t * ldw + g * D + h * DH + j] + b[g * DH + j];
                    for (size_t d = 0; d < DH; d++) raw[g] += y[d] * R[d * 4 * DH + g * DH + j];
                }
                double lfm = ms[j] + logsig(raw[1]), mn = t == 0 || raw[0] > lfm ? raw[0] : lfm;
                double ia = exp(raw[0] - mn), fa = exp(lfm - mn);
                cs[j] = fa * cs[j] + ia * tanh(raw[2]);
                ns[j] = fa * ns[j] + ia;
                ms[j] = mn;
                yn[j] = sigm(raw[3]) * cs[j] / ns[j];
                w[SY][t * ldy + slot * DH + j] = yn[j];
            }
            memcpy(y, yn, DH * sizeof *y);
        }
    }
    free(y); free(yn); free(cs); free(ns); free(ms);
}

static void make_gelu_erf_mul(opcase *c)
{
    size_t M = c->variant ? 200 : 30, U = c->variant ? 200 : 20;
    c->P[0] = M, c->P[1] = U;
    ob(c, 'i', M * 2 * U, -4, 4);
    ob(c, 'o', M * U, -1, 1);
    snprintf(c->desc, sizeof c->desc, "M=%zu U=%zu", M, U);
}
static int call_gelu_erf_mul(hd_backend *be, const opcase *c, float **p)
{
    be->gelu_erf_mul(be, p[0], c->P[0], c->P[1], p[1]);
    return 0;
}
static void ref_gelu_erf_mul(const opcase *c, double **w)
{
    size_t M = c->P[0], U = c->P[1];
    for (size_t m = 0; m < M; m++)
        for (size_t u = 0; u < U; u++) {
            double a = c->h[0][m * 2 * U + u];
            w[1][m * U + u] = 0.5 * a * (1 + erf(a / sqrt(2.0))) * c->h[0][m * 2 * U + U + u];
        }
}

/* ---------------------------------------------------------------- Mamba */

/* cases: direction × history (none, part, all K−1 rows) at K = 4 with and without bias, K = 1, fewer rows than
 * taps, then large (over the threshold for threads).  Rows beyond the history on either side are NaN: the op
 * must not read them. */
static void make_conv_silu_rows(opcase *c)
{
    static const size_t cs[][5] = {/* C, T, K, hist, bias */
        {20, 1, 4, 0, 1}, {20, 9, 4, 2, 0}, {20, 9, 4, 3, 1}, {33, 50, 1, 0, 1}, {16, 2, 4, 1, 1}, {512, 300, 4, 3, 1}};
    const size_t *q = cs[c->variant / 2];
    size_t C = q[0], T = q[1], K = q[2], hist = q[3], pad = K, ldx = C + 3, ldy = C + 5;
    int back = c->variant % 2;
    c->P[0] = C, c->P[1] = T, c->P[2] = K, c->P[3] = hist, c->P[4] = (size_t)back, c->P[5] = ldx, c->P[6] = ldy;
    c->P[7] = pad;
    int x = ob(c, 'i', (T + 2 * pad) * ldx, -3, 3);
    for (size_t r = 0; r < T + 2 * pad; r++) {   /* readable: rows −hist … T−1 forward, 0 … T−1+hist backward */
        ptrdiff_t t = (ptrdiff_t)r - (ptrdiff_t)pad;
        int ok = back ? t >= 0 && t < (ptrdiff_t)(T + hist) : t >= -(ptrdiff_t)hist && t < (ptrdiff_t)T;
        if (!ok)
            for (size_t ch = 0; ch < ldx; ch++) c->h[x][r * ldx + ch] = NAN;
    }
    ob(c, 'i', C * K, -1, 1);
    ob(c, q[4] ? 'i' : '-', C, -1, 1);
    ob(c, 'o', T * ldy, -1, 1);
    snprintf(c->desc, sizeof c->desc, "C=%zu T=%zu K=%zu hist=%zu %s%s", C, T, K, hist, back ? "backward" : "forward",
             q[4] ? "" : " no bias");
}
static int call_conv_silu_rows(hd_backend *be, const opcase *c, float **p)
{
    be->conv_silu_rows(be, p[0] + c->P[7] * c->P[5], c->P[5], c->P[1], c->P[0], c->P[3], p[1], c->P[2], p[2],
                       (int)c->P[4], p[3], c->P[6]);
    return 0;
}
static void ref_conv_silu_rows(const opcase *c, double **w)
{
    size_t C = c->P[0], T = c->P[1], K = c->P[2], hist = c->P[3], ldx = c->P[5];
    int back = (int)c->P[4];
    const float *X = c->h[0] + c->P[7] * ldx;
    for (size_t t = 0; t < T; t++)
        for (size_t ch = 0; ch < C; ch++) {
            double a = c->n[2] ? c->h[2][ch] : 0;
            for (size_t j = 0; j < K; j++) {
                ptrdiff_t r = back ? (ptrdiff_t)(t + K - 1 - j) : (ptrdiff_t)t - (ptrdiff_t)(K - 1 - j);
                if (r >= -(ptrdiff_t)hist && r < (ptrdiff_t)(T + hist)) a += (double)c->h[1][j * C + ch] * X[r * (ptrdiff_t)ldx + (ptrdiff_t)ch];
            }
            w[3][t * c->P[6] + ch] = a * sigm(a);
        }
}

/* cases: C rows, one row (an [M, D] matrix reversed in both), large, one long row */
static void make_flip_cm(opcase *c)
{
    static const size_t ct[][2] = {{5, 100}, {1, 200}, {120, 300}, {1, 300000}};
    size_t C = ct[c->variant][0], T = ct[c->variant][1], lds = C > 1 ? T + 3 : 0, ldd = C > 1 ? T + 7 : 0;
    c->P[0] = C, c->P[1] = T, c->P[2] = lds, c->P[3] = ldd;
    ob(c, 'i', C > 1 ? C * lds : T, -1, 1);
    ob(c, 'o', C > 1 ? C * ldd : T, -1, 1);
    snprintf(c->desc, sizeof c->desc, "C=%zu T=%zu", C, T);
}
static int call_flip_cm(hd_backend *be, const opcase *c, float **p)
{
    be->flip_cm(be, p[0], c->P[2], p[1], c->P[3], c->P[0], c->P[1]);
    return 0;
}
static void ref_flip_cm(const opcase *c, double **w)
{
    for (size_t ch = 0; ch < c->P[0]; ch++)
        for (size_t t = 0; t < c->P[1]; t++) w[1][ch * c->P[3] + t] = c->h[0][ch * c->P[2] + c->P[1] - 1 - t];
}

/* cases: N {16, 5} × T {1, 70} × {fresh | carried state, dt_bias absent | backward, accumulated and gated |
 * fresh and gated}, then Δ around softplus's threshold 20, then large (over the threshold for threads).
 * E = 20 leaves a partial vector of channels at every vector width. */
enum { SU, SDT, SDB, SA, SBC, SDS, SZ, SST, SYY };
static void make_selective_scan(opcase *c)
{
    int thr = c->variant == 16, big = c->variant == 17, v = thr ? 3 : big ? 14 : c->variant;
    size_t E = big ? 72 : 20, N = v / 8 ? 5 : 16, T = big ? 300 : (v / 4) % 2 ? 70 : 1, mode = (size_t)v % 4;
    if (big) N = 16;
    int flags = mode == 0 || mode == 3 ? HD_SCAN_FRESH : mode == 1 ? 0 : HD_SCAN_BACKWARD | HD_SCAN_ACCUMULATE;
    size_t ldu = E + 2, lddt = E + 3, ldbc = 2 * N + 3, ldz = 2 * E + 1, ldy = E + 4;
    c->P[0] = E, c->P[1] = N, c->P[2] = T, c->P[3] = ldu, c->P[4] = lddt, c->P[5] = ldbc, c->P[6] = ldy;
    c->P[7] = (size_t)flags, c->P[8] = ldz;
    ob(c, 'i', T * ldu, -1, 1);
    ob(c, 'i', T * lddt, thr ? 15 : -3, thr ? 25 : 1);
    ob(c, mode == 1 ? '-' : 'i', E, -0.5f, 0.5f);
    ob(c, 'i', E * N, -4, -0.5f);
    ob(c, 'i', T * ldbc, -1, 1);
    ob(c, 'i', E, -1, 1);
    ob(c, mode >= 2 ? 'i' : '-', T * ldz, -4, 4);
    ob(c, 'x', E * N, -1, 1);
    ob(c, mode == 2 ? 'x' : 'o', T * ldy, -1, 1);
    snprintf(c->desc, sizeof c->desc, "E=%zu N=%zu T=%zu flags=%d%s%s", E, N, T, flags, mode >= 2 ? " gated" : "",
             thr ? " dt near 20" : "");
}
static int call_selective_scan(hd_backend *be, const opcase *c, float **p)
{
    size_t N = c->P[1];
    be->selective_scan(be, c->P[0], N, c->P[2], p[SU], c->P[3], p[SDT], c->P[4], p[SDB], p[SA], p[SBC] + 1, p[SBC] + 1 + N,
                       c->P[5], p[SDS], p[SZ], c->P[8], p[SST], p[SYY], c->P[6], (int)c->P[7]);
    return 0;
}
static void ref_selective_scan(const opcase *c, double **w)
{
    size_t E = c->P[0], N = c->P[1], T = c->P[2], ldu = c->P[3], lddt = c->P[4], ldbc = c->P[5], ldy = c->P[6];
    int flags = (int)c->P[7];
    for (size_t e = 0; e < E; e++) {
        double *h = w[SST] + e * N;
        if (flags & HD_SCAN_FRESH)
            for (size_t n = 0; n < N; n++) h[n] = 0;
        for (size_t i = 0; i < T; i++) {
            size_t t = flags & HD_SCAN_BACKWARD ? T - 1 - i : i;
            double x = (double)c->h[SDT][t * lddt + e] + (c->n[SDB] ? c->h[SDB][e] : 0);
            double dl = x > 20 ? x : log1p(exp(x)), u = c->h[SU][t * ldu + e], y = 0;
            for (size_t n = 0; n < N; n++) {
                const float *B = c->h[SBC] + t * ldbc + 1, *C = B + N;
                h[n] = exp(dl * c->h[SA][e * N + n]) * h[n] + dl * B[n] * u;
                y += C[n] * h[n];
            }
            y += c->h[SDS][e] * u;
            double *yo = &w[SYY][t * ldy + e];
            *yo = flags & HD_SCAN_ACCUMULATE ? *yo + y : y;
            if (c->n[SZ]) {
                double z = c->h[SZ][t * c->P[8] + e];
                *yo *= z * sigm(z);
            }
        }
    }
}

/* ---------------------------------------------------------------- Evo 2 */

/* a BF16 value of x (its upper 16 bits) and back */
static uint16_t op_bf16(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    return (uint16_t)(u >> 16);
}
static double op_bf16_val(uint16_t b)
{
    uint32_t u = (uint32_t)b << 16;
    float x;
    memcpy(&x, &u, 4);
    return x;
}

/* weights_bf16: the backend copy holds the host bits, and the same matrix twice is the same copy */
static void check_weights_bf16(hd_backend *be, hd_backend *other)
{
    size_t n = 70001;
    uint16_t *h = malloc(n * sizeof *h), *got = calloc(n, sizeof *got);
    for (size_t i = 0; i < n; i++) h[i] = op_bf16(op_rand(-1e3f, 1e3f));
    const uint16_t *wt = be->weights_bf16(be, h, n);
    cr_assert_not_null(wt, "%s", hd_error());
    be->download(be, got, wt, n * sizeof *got);
    cr_expect_eq(memcmp(got, h, n * sizeof *h), 0, "weights_bf16 hold the host bits");
    cr_expect_eq(be->weights_bf16(be, h, n), wt, "the same BF16 weights twice: the same copy");
    cr_expect_eq(hd_backend_check(be), 0, "%s", hd_error());
    free(h);
    free(got);
}

/* cases: (M, K, N) {(7, 37, 23), (300, 70, 300)} × flags {0..7} × BF16 weights × bias, then one position
 * (decoding) against 600 weight rows (three panels) with flags 0 and HD_LIN_Y_CM | HD_LIN_ACC.  BF16 weights
 * travel as the bits of a float buffer of ⌈N·K/2⌉ values. */
enum { EX, EW, EB, EY };
static void make_linear_ex(opcase *c)
{
    static const size_t sz[][3] = {{7, 37, 23}, {300, 70, 300}, {1, 64, 600}};
    int s = c->variant < 64 ? c->variant / 32 : 2, v = c->variant % 32, bias = v % 2, bf16 = (v / 2) % 2;
    int flags = v / 4;
    if (s == 2) flags = v / 2 ? HD_LIN_Y_CM | HD_LIN_ACC : 0, bias = 1, bf16 = v % 2;
    size_t M = sz[s][0], K = sz[s][1], N = sz[s][2];
    size_t ldx = (flags & HD_LIN_X_CM ? M : K) + 3, ldy = (flags & HD_LIN_Y_CM ? M : N) + 5;
    c->P[0] = M, c->P[1] = K, c->P[2] = N, c->P[3] = ldx, c->P[4] = ldy, c->P[5] = (size_t)bf16, c->P[6] = (size_t)flags;
    ob(c, 'i', (flags & HD_LIN_X_CM ? K : M) * ldx, -1, 1);
    int w = ob(c, 'i', bf16 ? (N * K + 1) / 2 : N * K, -1, 1);
    if (bf16) {
        uint16_t *wb = (uint16_t *)(void *)c->h[w];
        for (size_t i = 0; i < N * K; i++) wb[i] = op_bf16(op_rand(-1, 1));
    }
    ob(c, bias ? 'i' : '-', N, -1, 1);
    ob(c, flags & HD_LIN_ACC ? 'x' : 'o', (flags & HD_LIN_Y_CM ? N : M) * ldy, -1, 1);
    snprintf(c->desc, sizeof c->desc, "M=%zu K=%zu N=%zu flags=%d bf16=%d bias=%d", M, K, N, flags, bf16, bias);
}
static int call_linear_ex(hd_backend *be, const opcase *c, float **p)
{
    be->linear_ex(be, p[EX], c->P[0], c->P[1], c->P[3], p[EW], (int)c->P[5], p[EB], c->P[2], p[EY], c->P[4], (int)c->P[6]);
    return 0;
}
static void ref_linear_ex(const opcase *c, double **w)
{
    size_t M = c->P[0], K = c->P[1], N = c->P[2], ldx = c->P[3], ldy = c->P[4];
    int flags = (int)c->P[6], xcm = flags & HD_LIN_X_CM, ycm = flags & HD_LIN_Y_CM;
    const float *X = c->h[EX], *b = c->n[EB] ? c->h[EB] : NULL;
    const uint16_t *Wb = (const uint16_t *)(const void *)c->h[EW];
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++) {
            double s = b ? b[n] : 0;
            for (size_t k = 0; k < K; k++)
                s += (double)(xcm ? X[k * ldx + m] : X[m * ldx + k]) * (c->P[5] ? op_bf16_val(Wb[n * K + k]) : c->h[EW][n * K + k]);
            double *y = &w[EY][ycm ? n * ldy + m : m * ldy + n];
            *y = flags & HD_LIN_ACC ? *y + s : s;
        }
}

/* cases: D {1, 5, 128, 300, 1030} × (eps 0.25 out of place | eps 1e-6 in place): eps large enough that
 * adding it outside the root (§6.4) and inside differ */
static void make_rmsnorm_eps_out(opcase *c)
{
    size_t M = 37, D = NORM_D[c->variant / 2];
    int inplace = c->variant % 2;
    c->P[0] = M, c->P[1] = D, c->P[2] = inplace;
    c->f[0] = inplace ? 1e-6f : 0.25f;
    ob(c, inplace ? 'x' : 'i', M * D, -3, 5);
    ob(c, 'i', D, 0.5f, 1.5f);
    ob(c, inplace ? '-' : 'o', M * D, -1, 1);
    snprintf(c->desc, sizeof c->desc, "M=%zu D=%zu eps=%g%s", M, D, c->f[0], inplace ? " in place" : "");
}
static int call_rmsnorm_eps_out(hd_backend *be, const opcase *c, float **p)
{
    be->rmsnorm_eps_out(be, p[0], c->P[0], c->P[1], p[1], c->f[0], c->P[2] ? p[0] : p[2]);
    return 0;
}
static void ref_rmsnorm_eps_out(const opcase *c, double **w)
{
    size_t M = c->P[0], D = c->P[1];
    double *Y = c->P[2] ? w[0] : w[2];
    for (size_t m = 0; m < M; m++) {
        const float *x = c->h[0] + m * D;
        double ss = 0;
        for (size_t d = 0; d < D; d++) ss += (double)x[d] * x[d];
        for (size_t d = 0; d < D; d++) Y[m * D + d] = c->h[1][d] * (x[d] / (sqrt(ss / (double)D) + c->f[0]));
    }
}

/* cases: (M, NH, DH, head stride, pos0, scale): heads packed, heads 3·DH apart (the Wqkv rows) at a late
 * position with a scaled position (one decoding step), many rows, an odd DH (its last value untouched) */
static void make_rope_neox(opcase *c)
{
    static const size_t cs[][5] = {{40, 3, 8, 8, 0}, {1, 4, 16, 48, 1000}, {300, 4, 64, 64, 7}, {20, 2, 9, 9, 3}};
    static const float scale[] = {1, 128, 1, 4};
    size_t M = cs[c->variant][0], NH = cs[c->variant][1], DH = cs[c->variant][2], hs = cs[c->variant][3];
    size_t ldx = NH * hs + 4;
    c->P[0] = M, c->P[1] = NH, c->P[2] = DH, c->P[3] = hs, c->P[4] = cs[c->variant][4], c->P[5] = ldx;
    c->f[0] = scale[c->variant];
    ob(c, 'x', M * ldx, -1, 1);
    int f = ob(c, 'i', DH / 2, 0, 1);
    for (size_t i = 0; i < DH / 2; i++) c->h[f][i] = powf(10000.0f, -2.0f * (float)i / (float)DH);
    snprintf(c->desc, sizeof c->desc, "M=%zu NH=%zu DH=%zu hs=%zu pos0=%zu scale=%g", M, NH, DH, hs, c->P[4], c->f[0]);
}
static int call_rope_neox(hd_backend *be, const opcase *c, float **p)
{
    be->rope_neox(be, p[0], c->P[5], c->P[3], c->P[0], c->P[1], c->P[2], c->P[4], p[1], c->f[0]);
    return 0;
}
static void ref_rope_neox(const opcase *c, double **w)
{
    size_t M = c->P[0], NH = c->P[1], DH = c->P[2], hs = c->P[3], half = DH / 2;
    for (size_t m = 0; m < M; m++)
        for (size_t h = 0; h < NH; h++)
            for (size_t i = 0; i < half; i++) {
                size_t at = m * c->P[5] + h * hs + i;
                double ang = (double)(c->P[4] + m) / c->f[0] * c->h[1][i], a = c->h[0][at], b = c->h[0][at + half];
                w[0][at] = a * cos(ang) - b * sin(ang);
                w[0][at + half] = b * cos(ang) + a * sin(ang);
            }
}

/* cases: (NH, DH, M, pos0, head gap): queries after 37 cached keys over several tiles, one decoding step
 * at position 299, a prefill from 0, heads apart in strided rows (as in the Wqkv rows), and queries after
 * 4,100 keys (the CPU's bf16 path packs keys 4,096 at a time: a query tile sees two such segments) */
enum { AQ, AK, AV, AO };
static void make_attention(opcase *c)
{
    static const size_t cs[][5] = {{4, 16, 150, 37, 0}, {2, 8, 1, 299, 0}, {3, 32, 70, 0, 0}, {2, 16, 90, 5, 16},
                                   {1, 16, 70, 4100, 0}};
    size_t NH = cs[c->variant][0], DH = cs[c->variant][1], M = cs[c->variant][2], pos0 = cs[c->variant][3];
    size_t hs = DH + cs[c->variant][4], Lk = pos0 + M + (c->variant == 2 ? 3 : 0), ld = NH * hs + 3, ldo = NH * DH + 2;
    c->P[0] = NH, c->P[1] = DH, c->P[2] = M, c->P[3] = pos0, c->P[4] = hs, c->P[5] = Lk, c->P[6] = ld, c->P[7] = ldo;
    c->f[0] = c->variant == 0 ? 0.25f : (float)(1.0 / sqrt((double)DH));
    ob(c, 'i', M * ld, -2, 2);
    ob(c, 'i', Lk * ld, -2, 2);
    ob(c, 'i', Lk * ld, -2, 2);
    ob(c, 'o', M * ldo, -1, 1);
    snprintf(c->desc, sizeof c->desc, "NH=%zu DH=%zu M=%zu Lk=%zu pos0=%zu hs=%zu", NH, DH, M, Lk, pos0, hs);
}
static int call_attention(hd_backend *be, const opcase *c, float **p)
{
    size_t hs = c->P[4], ld = c->P[6];
    return be->attention(be, p[AQ], ld, hs, p[AK], ld, hs, p[AV], ld, hs, c->P[2], c->P[5], c->P[0], c->P[1], c->P[3],
                         c->f[0], p[AO], c->P[7], c->P[1]);
}
static void ref_attention(const opcase *c, double **w)
{
    size_t NH = c->P[0], DH = c->P[1], M = c->P[2], pos0 = c->P[3], hs = c->P[4], Lk = c->P[5], ld = c->P[6];
    double *s = malloc(Lk * sizeof *s);
    for (size_t m = 0; m < M; m++)
        for (size_t h = 0; h < NH; h++) {
            const float *q = c->h[AQ] + m * ld + h * hs;
            size_t nk = pos0 + m + 1;
            double mx = -INFINITY, sum = 0;
            for (size_t j = 0; j < nk; j++) {
                double d = 0;
                for (size_t e = 0; e < DH; e++) d += (double)q[e] * c->h[AK][j * ld + h * hs + e];
                s[j] = c->f[0] * d;
                if (s[j] > mx) mx = s[j];
            }
            for (size_t j = 0; j < nk; j++) sum += s[j] = exp(s[j] - mx);
            for (size_t e = 0; e < DH; e++) {
                double o = 0;
                for (size_t j = 0; j < nk; j++) o += s[j] * c->h[AV][j * ld + h * hs + e];
                w[AO][m * c->P[7] + h * DH + e] = o / sum;
            }
        }
    free(s);
}

/* cases: (C, S, T, channels per group, first channel): one group per channel, groups of 4 channels from
 * channel 4, past the exact resynchronisation of the running powers (T > 4096) */
static const size_t MODAL[][5] = {{20, 16, 300, 1, 0}, {24, 8, 100, 4, 4}, {3, 4, 5000, 1, 2}};
enum { MR, MLP, MK };
static void make_modal_filter(opcase *c)
{
    size_t C = MODAL[c->variant][0], S = MODAL[c->variant][1], T = MODAL[c->variant][2], cpg = MODAL[c->variant][3];
    size_t c0 = MODAL[c->variant][4], G = (c0 + C + cpg - 1) / cpg, ldk = T + 3;
    c->P[0] = C, c->P[1] = S, c->P[2] = T, c->P[3] = cpg, c->P[4] = c0, c->P[5] = ldk;
    ob(c, 'i', G * S, -1, 1);
    ob(c, 'i', G * S, -0.5f, -1e-3f);
    ob(c, 'o', C * ldk, -1, 1);
    snprintf(c->desc, sizeof c->desc, "C=%zu S=%zu T=%zu cpg=%zu c0=%zu", C, S, T, cpg, c0);
}
static int call_modal_filter(hd_backend *be, const opcase *c, float **p)
{
    be->modal_filter(be, p[MR], p[MLP], c->P[1], c->P[3], c->P[4], c->P[0], c->P[2], p[MK], c->P[5]);
    return 0;
}
static void ref_modal_filter(const opcase *c, double **w)
{
    size_t C = c->P[0], S = c->P[1], T = c->P[2];
    for (size_t ch = 0; ch < C; ch++) {
        size_t g = (c->P[4] + ch) / c->P[3];
        for (size_t t = 0; t < T; t++) {
            double v = 0;
            for (size_t s = 0; s < S; s++) v += (double)c->h[MR][g * S + s] * exp((double)c->h[MLP][g * S + s] * (double)t);
            w[MK][ch * c->P[5] + t] = v;
        }
    }
}

/* cases: T {1, 300} × y (with D | without) or the state alone, on a carried random state, then groups of 4
 * channels.  The state is double on the backend: call_modal_scan takes it from the float buffer (a copy in
 * double), runs the op and puts it back rounded to float for the comparison. */
enum { SX, SR2, SLP, SD, SS, SY2 };
static void make_modal_scan(opcase *c)
{
    int grp = c->variant == 6, v = grp ? 5 : c->variant, with_y = v % 3 != 2, with_d = v % 3 == 0;
    size_t C = grp ? 24 : 20, S = grp ? 8 : 16, T = v / 3 ? 300 : 1, cpg = grp ? 4 : 1, c0 = grp ? 4 : 0;
    size_t G = (c0 + C + cpg - 1) / cpg, ldx = T + 3, ldy = T + 5;
    c->P[0] = C, c->P[1] = S, c->P[2] = T, c->P[3] = cpg, c->P[4] = c0, c->P[5] = ldx, c->P[6] = ldy;
    ob(c, 'i', C * ldx, -1, 1);
    ob(c, 'i', G * S, -1, 1);
    ob(c, 'i', G * S, -0.5f, -1e-3f);
    ob(c, with_d ? 'i' : '-', C, -1, 1);
    ob(c, 'x', C * S, -1, 1);
    ob(c, with_y ? 'o' : '-', C * ldy, -1, 1);
    snprintf(c->desc, sizeof c->desc, "C=%zu S=%zu T=%zu cpg=%zu c0=%zu y=%d D=%d", C, S, T, cpg, c0, with_y, with_d);
}
static int call_modal_scan(hd_backend *be, const opcase *c, float **p)
{
    size_t n = c->P[0] * c->P[1];
    double *hs = malloc(n * sizeof *hs);
    float *hf = malloc(n * sizeof *hf);
    double *st = be->alloc(be, n * sizeof *st, "a test state");
    if (!hs || !hf || !st) { free(hs); free(hf); be->free(be, st); return -1; }
    for (size_t i = 0; i < n; i++) hs[i] = c->h[SS][i];
    be->upload(be, st, hs, n * sizeof *hs);
    be->modal_scan(be, p[SX], c->P[5], c->P[0], c->P[2], p[SR2], p[SLP], c->P[1], c->P[3], c->P[4], p[SD], st, p[SY2], c->P[6]);
    be->download(be, hs, st, n * sizeof *hs);
    for (size_t i = 0; i < n; i++) hf[i] = (float)hs[i];
    be->upload(be, p[SS], hf, n * sizeof *hf);
    be->free(be, st);
    free(hs); free(hf);
    return 0;
}
static void ref_modal_scan(const opcase *c, double **w)
{
    size_t C = c->P[0], S = c->P[1], T = c->P[2];
    for (size_t ch = 0; ch < C; ch++) {
        size_t g = (c->P[4] + ch) / c->P[3];
        double *st = w[SS] + ch * S;
        for (size_t t = 0; t < T; t++) {
            double x = c->h[SX][ch * c->P[5] + t], y = 0;
            for (size_t s = 0; s < S; s++) {
                st[s] = exp((double)c->h[SLP][g * S + s]) * st[s] + x;
                y += (double)c->h[SR2][g * S + s] * st[s];
            }
            if (c->n[SY2]) w[SY2][ch * c->P[6] + t] = y + (c->n[SD] ? (double)c->h[SD][ch] * x : 0);
        }
    }
}

/* cases: (C, W, ld): a FIR window with padding, a window of one (nothing moves), many channels */
static void make_shift_left(opcase *c)
{
    static const size_t cs[][3] = {{20, 7, 9}, {5, 1, 1}, {300, 4, 4}};
    c->P[0] = cs[c->variant][0], c->P[1] = cs[c->variant][1], c->P[2] = cs[c->variant][2];
    ob(c, 'x', c->P[0] * c->P[2], -1, 1);
    snprintf(c->desc, sizeof c->desc, "C=%zu W=%zu ld=%zu", c->P[0], c->P[1], c->P[2]);
}
static int call_shift_left(hd_backend *be, const opcase *c, float **p)
{
    be->shift_left(be, p[0], c->P[0], c->P[1], c->P[2]);
    return 0;
}
static void ref_shift_left(const opcase *c, double **w)
{
    for (size_t ch = 0; ch < c->P[0]; ch++)
        for (size_t j = 0; j + 1 < c->P[1]; j++) w[0][ch * c->P[2] + j] = c->h[0][ch * c->P[2] + j + 1];
}

/* cases: (C, T, lds, ldd): a few columns of long rows into a window, one long row, many short rows */
static void make_copy_cm(opcase *c)
{
    static const size_t cs[][4] = {{20, 4, 300, 9}, {1, 1000, 1000, 1003}, {300, 5, 7, 5}};
    c->P[0] = cs[c->variant][0], c->P[1] = cs[c->variant][1], c->P[2] = cs[c->variant][2], c->P[3] = cs[c->variant][3];
    ob(c, 'i', c->P[0] * c->P[2], -1, 1);
    ob(c, 'o', c->P[0] * c->P[3], -1, 1);
    snprintf(c->desc, sizeof c->desc, "C=%zu T=%zu lds=%zu ldd=%zu", c->P[0], c->P[1], c->P[2], c->P[3]);
}
static int call_copy_cm(hd_backend *be, const opcase *c, float **p)
{
    be->copy_cm(be, p[0], c->P[2], p[1], c->P[3], c->P[0], c->P[1]);
    return 0;
}
static void ref_copy_cm(const opcase *c, double **w)
{
    for (size_t ch = 0; ch < c->P[0]; ch++)
        for (size_t t = 0; t < c->P[1]; t++) w[1][ch * c->P[3] + t] = c->h[0][ch * c->P[2] + t];
}

/* cases: act {identity, GELU (erf), SiLU} × (small, strided | large) */
static void make_gated_act(opcase *c)
{
    int big = c->variant / 3;
    size_t M = big ? 300 : 30, U = big ? 300 : 20, lda = big ? U : 2 * U + 3, ldb = big ? U : U + 1;
    c->P[0] = M, c->P[1] = U, c->P[2] = lda, c->P[3] = ldb, c->P[4] = (size_t)(c->variant % 3);
    ob(c, 'x', M * lda, -4, 4);
    ob(c, 'i', M * ldb, -2, 2);
    static const char *acts[] = {"identity", "gelu", "silu"};
    snprintf(c->desc, sizeof c->desc, "M=%zu U=%zu %s", M, U, acts[c->P[4]]);
}
static int call_gated_act(hd_backend *be, const opcase *c, float **p)
{
    be->gated_act(be, p[0], c->P[2], p[1], c->P[3], c->P[0], c->P[1], (int)c->P[4]);
    return 0;
}
static void ref_gated_act(const opcase *c, double **w)
{
    for (size_t m = 0; m < c->P[0]; m++)
        for (size_t u = 0; u < c->P[1]; u++) {
            double a = c->h[0][m * c->P[2] + u], b = c->h[1][m * c->P[3] + u];
            double g = c->P[4] == HD_ACT_GELU ? 0.5 * a * (1 + erf(a / sqrt(2.0))) : c->P[4] == HD_ACT_SILU ? a * sigm(a) : a;
            w[0][m * c->P[2] + u] = g * b;
        }
}

/* ---------------------------------------------------------------- HyenaDNA fused steps */

/* one LayerNorm row in double (the reference of the fused ops) */
static void ref_ln_row(const float *x, size_t D, const float *g, const float *b, double eps, double *y)
{
    double mu = 0, var = 0;
    for (size_t d = 0; d < D; d++) mu += x[d];
    mu /= (double)D;
    for (size_t d = 0; d < D; d++) var += (x[d] - mu) * (x[d] - mu);
    var /= (double)D;
    for (size_t d = 0; d < D; d++) y[d] = (x[d] - mu) / sqrt(var + eps) * g[d] + b[d];
}

/* cases: M across the block size and the halo (1, 2, 3, 255, 257, 600) × D {8, 24} (K = 3), then K 1 and 4 */
static const size_t FUSED_M[] = {1, 2, 3, 255, 257, 600};
enum { FI_HR, FI_HLW, FI_HLB, FI_HW, FI_HB, FI_HSW, FI_HSB, FI_HX0, FI_HG };
static void make_hyena_in(opcase *c)
{
    int extra = c->variant >= 12;
    size_t M = extra ? 300 : FUSED_M[c->variant % 6], D = extra ? 8 : c->variant / 6 ? 24 : 8;
    size_t K = extra ? (c->variant == 12 ? 1 : 4) : 3, ld = M + 5;
    c->P[0] = M, c->P[1] = D, c->P[2] = K, c->P[3] = ld;
    c->f[0] = 1e-5f;
    ob(c, 'i', M * D, -3, 3);
    ob(c, 'i', D, 0.5f, 1.5f);
    ob(c, 'i', D, -0.5f, 0.5f);
    ob(c, 'i', 3 * D * D, -0.5f, 0.5f);
    ob(c, 'i', 3 * D, -0.5f, 0.5f);
    ob(c, 'i', 3 * D * K, -1, 1);
    ob(c, 'i', 3 * D, -0.5f, 0.5f);
    ob(c, 'o', D * ld, -1, 1);
    ob(c, 'o', D * ld, -1, 1);
    snprintf(c->desc, sizeof c->desc, "M=%zu D=%zu K=%zu", M, D, K);
}
static int call_hyena_in(hd_backend *be, const opcase *c, float **p)
{
    return be->hyena_in(be, p[FI_HR], c->P[0], c->P[1], p[FI_HLW], p[FI_HLB], c->f[0], p[FI_HW], p[FI_HB], p[FI_HSW], c->P[2], p[FI_HSB],
                        p[FI_HX0], p[FI_HG], c->P[3]);
}
static void ref_hyena_in(const opcase *c, double **w)
{
    size_t M = c->P[0], D = c->P[1], K = c->P[2], ld = c->P[3];
    double *h = malloc(D * sizeof *h), *P = malloc(3 * D * M * sizeof *P), y[3];
    for (size_t m = 0; m < M; m++) {
        ref_ln_row(c->h[FI_HR] + m * D, D, c->h[FI_HLW], c->h[FI_HLB], c->f[0], h);
        for (size_t ch = 0; ch < 3 * D; ch++) {
            double s = c->h[FI_HB][ch];
            for (size_t d = 0; d < D; d++) s += h[d] * c->h[FI_HW][ch * D + d];
            P[ch * M + m] = s;
        }
    }
    for (size_t ch = 0; ch < D; ch++)
        for (size_t t = 0; t < M; t++) {
            for (int part = 0; part < 3; part++) {
                size_t cc = part * D + ch;
                double s = c->h[FI_HSB][cc];
                for (size_t j = 0; j < K; j++)
                    if (t + j >= K - 1) s += (double)c->h[FI_HSW][cc * K + j] * P[cc * M + t + j - (K - 1)];
                y[part] = s;
            }
            w[FI_HX0][ch * ld + t] = y[0];
            w[FI_HG][ch * ld + t] = y[2] * y[1];
        }
    free(h);
    free(P);
}

/* cases: M {1, 2, 3, 255, 257, 600} × D {8, 24} */
enum { FO_OY, FO_OX0, FO_OW, FO_OB, FO_OR };
static void make_hyena_out(opcase *c)
{
    size_t M = FUSED_M[c->variant % 6], D = c->variant / 6 ? 24 : 8, ld = M + 3;
    c->P[0] = M, c->P[1] = D, c->P[2] = ld;
    ob(c, 'i', D * ld, -2, 2);
    ob(c, 'i', D * ld, -2, 2);
    ob(c, 'i', D * D, -0.5f, 0.5f);
    ob(c, 'i', D, -0.5f, 0.5f);
    ob(c, 'x', M * D, -2, 2);
    snprintf(c->desc, sizeof c->desc, "M=%zu D=%zu", M, D);
}
static int call_hyena_out(hd_backend *be, const opcase *c, float **p)
{
    return be->hyena_out(be, p[FO_OY], p[FO_OX0], c->P[2], c->P[0], c->P[1], p[FO_OW], p[FO_OB], p[FO_OR]);
}
static void ref_hyena_out(const opcase *c, double **w)
{
    size_t M = c->P[0], D = c->P[1], ld = c->P[2];
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < D; n++) {
            double s = c->h[FO_OB][n];
            for (size_t ch = 0; ch < D; ch++)
                s += (double)c->h[FO_OY][ch * ld + m] * c->h[FO_OX0][ch * ld + m] * c->h[FO_OW][n * D + ch];
            w[FO_OR][m * D + n] = (double)c->h[FO_OR][m * D + n] + s;
        }
}

/* cases: M {1, 2, 3, 255, 257, 600} × (D, F) {(8, 32), (24, 40)} */
enum { FM_MR, FM_MLW, FM_MLB, FM_MW1, FM_MB1, FM_MW2, FM_MB2 };
static void make_mlp_residual(opcase *c)
{
    size_t M = FUSED_M[c->variant % 6], D = c->variant / 6 ? 24 : 8, F = c->variant / 6 ? 40 : 32;
    c->P[0] = M, c->P[1] = D, c->P[2] = F;
    c->f[0] = 1e-5f;
    ob(c, 'x', M * D, -3, 3);
    ob(c, 'i', D, 0.5f, 1.5f);
    ob(c, 'i', D, -0.5f, 0.5f);
    ob(c, 'i', F * D, -0.5f, 0.5f);
    ob(c, 'i', F, -0.5f, 0.5f);
    ob(c, 'i', D * F, -0.5f, 0.5f);
    ob(c, 'i', D, -0.5f, 0.5f);
    snprintf(c->desc, sizeof c->desc, "M=%zu D=%zu F=%zu", M, D, F);
}
static int call_mlp_residual(hd_backend *be, const opcase *c, float **p)
{
    return be->mlp_residual(be, p[FM_MR], c->P[0], c->P[1], p[FM_MLW], p[FM_MLB], c->f[0], p[FM_MW1], p[FM_MB1], c->P[2], p[FM_MW2], p[FM_MB2]);
}
static void ref_mlp_residual(const opcase *c, double **w)
{
    size_t M = c->P[0], D = c->P[1], F = c->P[2];
    double *h = malloc(D * sizeof *h), *u = malloc(F * sizeof *u);
    for (size_t m = 0; m < M; m++) {
        ref_ln_row(c->h[FM_MR] + m * D, D, c->h[FM_MLW], c->h[FM_MLB], c->f[0], h);
        for (size_t f = 0; f < F; f++) {
            double s = c->h[FM_MB1][f];
            for (size_t d = 0; d < D; d++) s += h[d] * c->h[FM_MW1][f * D + d];
            u[f] = 0.5 * s * (1 + tanh(sqrt(2 / M_PI) * (s + 0.044715 * s * s * s)));
        }
        for (size_t n = 0; n < D; n++) {
            double s = c->h[FM_MB2][n];
            for (size_t f = 0; f < F; f++) s += u[f] * c->h[FM_MW2][n * F + f];
            w[FM_MR][m * D + n] = (double)c->h[FM_MR][m * D + n] + s;
        }
    }
    free(h);
    free(u);
}

/* ---------------------------------------------------------------- cached decoding (HyenaDNA, DNA-xLSTM) */

/* cases: (C, t, bias): a first position, short and long sums, and one large enough to split over threads */
static const size_t LCS[][3] = {{5, 0, 1}, {7, 13, 0}, {3, 100, 1}, {256, 400, 1}};
static void make_longconv_step(opcase *c)
{
    size_t C = LCS[c->variant][0], t = LCS[c->variant][1], ldu = t + 5, ldk = t + 3, ldy = 4;
    c->P[0] = C, c->P[1] = t, c->P[2] = ldu, c->P[3] = ldk, c->P[4] = ldy;
    ob(c, 'i', C * ldu, -1, 1);
    ob(c, 'i', C * ldk, -1, 1);
    ob(c, LCS[c->variant][2] ? 'i' : '-', C, -1, 1);
    ob(c, 'x', C * ldy, -1, 1);
    snprintf(c->desc, sizeof c->desc, "C=%zu t=%zu dbias=%zu", C, t, LCS[c->variant][2]);
}
static int call_longconv_step(hd_backend *be, const opcase *c, float **p)
{
    be->longconv_step(be, p[0], c->P[2], c->P[1], p[1], c->P[3], p[2], c->P[0], p[3], c->P[4]);
    return 0;
}
static void ref_longconv_step(const opcase *c, double **w)
{
    size_t C = c->P[0], t = c->P[1], ldu = c->P[2], ldk = c->P[3], ldy = c->P[4];
    for (size_t ch = 0; ch < C; ch++) {
        const float *u = c->h[0] + ch * ldu, *k = c->h[1] + ch * ldk;
        double s = c->n[2] ? (double)c->h[2][ch] * u[t] : 0;
        for (size_t j = 0; j <= t; j++) s += (double)k[j] * u[t - j];
        w[3][ch * ldy] += s;
    }
}

/* the mLSTM state (C [DH, DH], n [DH], m per head) after one recurrent step from `st`, in double */
static void ref_mlstm_advance(double *C, double *n, double *m, const float *k, const float *v, double ig, double fg, size_t DH)
{
    double lf = logsig(fg), mn = lf + *m > ig ? lf + *m : ig, fa = exp(lf + *m - mn), ia = exp(ig - mn);
    for (size_t d = 0; d < DH; d++) {
        for (size_t e = 0; e < DH; e++) C[d * DH + e] = fa * C[d * DH + e] + ia * k[d] * v[e];
        n[d] = fa * n[d] + ia * k[d];
    }
    *m = mn;
}

/* cases: L {1, 17, 300} × (from zero | from a state) */
enum { MSK, MSIG, MSFG, MSST };
static void make_mlstm_state(opcase *c)
{
    static const size_t Ls[] = {1, 17, 300};
    size_t L = Ls[c->variant / 2], NH = 2, DH = c->variant / 2 == 2 ? 16 : 8, ld = 2 * NH * DH + 1, ldg = NH + 1;
    size_t per = DH * DH + DH + 1;
    c->P[0] = L, c->P[1] = NH, c->P[2] = DH, c->P[3] = ld, c->P[4] = ldg, c->P[5] = c->variant % 2;
    ob(c, 'i', L * ld, -1, 1);
    ob(c, 'i', L * ldg, -2, 3);
    ob(c, 'i', L * ldg, -2, 4);
    int st = ob(c, 'x', NH * per, -1, 1);
    if (!c->P[5]) memset(c->h[st], 0, NH * per * sizeof(float));
    snprintf(c->desc, sizeof c->desc, "L=%zu NH=%zu DH=%zu %s", L, NH, DH, c->P[5] ? "from a state" : "from zero");
}
static int call_mlstm_state(hd_backend *be, const opcase *c, float **p)
{
    size_t NH = c->P[1], DH = c->P[2];
    return be->mlstm_state(be, p[MSK], p[MSK] + NH * DH, c->P[3], p[MSIG], p[MSFG], c->P[4], c->P[0], NH, DH, p[MSST]);
}
static void ref_mlstm_state(const opcase *c, double **w)
{
    size_t L = c->P[0], NH = c->P[1], DH = c->P[2], ld = c->P[3], ldg = c->P[4], per = DH * DH + DH + 1;
    for (size_t h = 0; h < NH; h++) {
        double *S = w[MSST] + h * per;
        for (size_t t = 0; t < L; t++) {
            const float *k = c->h[MSK] + t * ld + h * DH, *v = k + NH * DH;
            ref_mlstm_advance(S, S + DH * DH, S + DH * DH + DH, k, v, c->h[MSIG][t * ldg + h], c->h[MSFG][t * ldg + h], DH);
        }
    }
}

/* cases: (NH, DH) small and large, from a state */
enum { MPQ, MPK, MPV, MPIG, MPFG, MPST, MPH };
static void make_mlstm_step(opcase *c)
{
    size_t NH = c->variant ? 4 : 2, DH = c->variant ? 64 : 8, per = DH * DH + DH + 1;
    c->P[0] = NH, c->P[1] = DH;
    ob(c, 'i', NH * DH, -1, 1);
    ob(c, 'i', NH * DH, -1, 1);
    ob(c, 'i', NH * DH, -1, 1);
    ob(c, 'i', NH, -2, 3);
    ob(c, 'i', NH, -2, 4);
    ob(c, 'x', NH * per, -1, 1);
    ob(c, 'o', NH * DH, -1, 1);
    snprintf(c->desc, sizeof c->desc, "NH=%zu DH=%zu", NH, DH);
}
static int call_mlstm_step(hd_backend *be, const opcase *c, float **p)
{
    return be->mlstm_step(be, p[MPQ], p[MPK], p[MPV], p[MPIG], p[MPFG], c->P[0], c->P[1], p[MPST], p[MPH]);
}
static void ref_mlstm_step(const opcase *c, double **w)
{
    size_t NH = c->P[0], DH = c->P[1], per = DH * DH + DH + 1;
    for (size_t h = 0; h < NH; h++) {
        double *S = w[MPST] + h * per, *C = S, *n = S + DH * DH, qn = 0;
        const float *q = c->h[MPQ] + h * DH;
        ref_mlstm_advance(C, n, S + DH * DH + DH, c->h[MPK] + h * DH, c->h[MPV] + h * DH, c->h[MPIG][h], c->h[MPFG][h], DH);
        for (size_t d = 0; d < DH; d++) qn += q[d] / sqrt((double)DH) * n[d];
        double m = S[DH * DH + DH], den = (fabs(qn) > exp(-m) ? fabs(qn) : exp(-m)) + 1e-6;
        for (size_t e = 0; e < DH; e++) {
            double hv = 0;
            for (size_t d = 0; d < DH; d++) hv += q[d] / sqrt((double)DH) * C[d * DH + e];
            w[MPH][h * DH + e] = hv / den;
        }
    }
}

/* cases: L {1, 20} × (from zero | from a state), then large; the layout of slstm_cell, no head reversal */
enum { SSWX, SSR, SSB, SSST, SSY };
static void make_slstm_cell_state(opcase *c)
{
    int big = c->variant == 4, v = big ? 3 : c->variant;
    size_t L = big ? 300 : v / 2 ? 20 : 1, NH = 2, DH = big ? 16 : 8, D = NH * DH, ldw = 4 * D + 3, ldy = D + 2;
    c->P[0] = L, c->P[1] = NH, c->P[2] = DH, c->P[3] = ldw, c->P[4] = ldy, c->P[5] = v % 2;
    ob(c, 'i', L * ldw, -2, 2);
    ob(c, 'i', NH * DH * 4 * DH, -0.3f, 0.3f);
    ob(c, 'i', NH * 4 * DH, -1, 1);
    int st = ob(c, 'x', NH * 4 * DH, -1, 1);
    for (size_t h = 0; h < NH; h++)
        for (size_t j = 0; j < DH; j++) {
            float *sh = c->h[st] + h * 4 * DH;
            if (!c->P[5]) sh[j] = sh[DH + j] = sh[2 * DH + j] = sh[3 * DH + j] = 0;
            else sh[DH + j] = 0.5f + fabsf(sh[DH + j]);   /* n > 0 */
        }
    ob(c, 'o', L * ldy, -1, 1);
    snprintf(c->desc, sizeof c->desc, "L=%zu NH=%zu DH=%zu %s", L, NH, DH, c->P[5] ? "from a state" : "from zero");
}
static int call_slstm_cell_state(hd_backend *be, const opcase *c, float **p)
{
    return be->slstm_cell_state(be, p[SSWX], c->P[3], p[SSR], p[SSB], c->P[0], c->P[1], c->P[2], p[SSST], p[SSY], c->P[4]);
}
/* as ref_slstm_cell from the state (c, n, m, y per head; a state of zeros starts as slstm_cell does) */
static void ref_slstm_cell_state(const opcase *c, double **w)
{
    size_t L = c->P[0], NH = c->P[1], DH = c->P[2], D = NH * DH, ldw = c->P[3], ldy = c->P[4];
    double *yn = calloc(DH, sizeof *yn), raw[4];
    for (size_t h = 0; h < NH; h++) {
        const float *R = c->h[SSR] + h * DH * 4 * DH, *b = c->h[SSB] + h * 4 * DH;
        double *cs = w[SSST] + h * 4 * DH, *ns = cs + DH, *ms = ns + DH, *y = ms + DH;
        int fresh = 1;
        for (size_t j = 0; j < DH; j++) fresh &= ns[j] == 0;
        for (size_t t = 0; t < L; t++) {
            for (size_t j = 0; j < DH; j++) {
                for (size_t g = 0; g < 4; g++) {
                    raw[g] = (double)c->h[SSWX][t * ldw + g * D + h * DH + j] + b[g * DH + j];
                    for (size_t d = 0; d < DH; d++) raw[g] += y[d] * R[d * 4 * DH + g * DH + j];
                }
                double lfm = ms[j] + logsig(raw[1]), mn = (t == 0 && fresh) || raw[0] > lfm ? raw[0] : lfm;
                double ia = exp(raw[0] - mn), fa = exp(lfm - mn);
                cs[j] = fa * cs[j] + ia * tanh(raw[2]);
                ns[j] = fa * ns[j] + ia;
                ms[j] = mn;
                yn[j] = sigm(raw[3]) * cs[j] / ns[j];
                w[SSY][t * ldy + h * DH + j] = yn[j];
            }
            memcpy(y, yn, DH * sizeof *y);
        }
    }
    free(yn);
}

/* ---------------------------------------------------------------- the table */

#define OPS1(a) {HD_OP(a), HD_OPS_END}
#define OPS4(a, b, c, d) {HD_OP(a), HD_OP(b), HD_OP(c), HD_OP(d)}
/* ROW(op, variants, make, call, ref, rel, abs, rel_dev, abs_dev, gemm): a row of the op named op */
#define ROW(op, nv, mk, cl, rf, r, a, rd, ad, g) \
    {.name = #op, .ops = OPS1(op), .variants = nv, .make = mk, .call = cl, .ref = rf, .rel = r, .abs = a, .rel_dev = rd, \
     .abs_dev = ad, .gemm = g}
static const op_row OP_ROWS[] = {
    /* memory and FFT sizes (every backend) */
    {.name = "memory", .ops = OPS4(alloc, upload, download, weights), .check = check_memory},
    {.name = "fft_size", .ops = OPS1(fft_size), .check = check_fft_size},
    {.name = "spectra_bytes", .ops = OPS1(spectra_bytes), .check = check_spectra_bytes},
    /* dense */
    ROW(linear, 8, make_linear, call_linear, ref_linear, 1e-6, 1e-4, 1e-5, 5e-4, 1),
    ROW(linear_cm_out, 8, make_linear_cm_out, call_linear_cm_out, ref_linear_cm_out, 1e-6, 1e-4, 1e-5, 5e-4, 1),
    ROW(linear_cm_in, 8, make_linear_cm_in, call_linear_cm_in, ref_linear_cm_in, 1e-6, 1e-4, 1e-5, 5e-4, 1),
    /* position-wise */
    ROW(layernorm, 10, make_norm, call_layernorm, ref_layernorm, 1e-6, 1e-5, 1e-5, 1e-4, 0),
    ROW(rmsnorm, 10, make_norm, call_rmsnorm, ref_rmsnorm, 1e-6, 1e-5, 1e-5, 1e-4, 0),
    ROW(gelu_tanh, 2, make_elementwise, call_gelu_tanh, ref_gelu_tanh, 1e-6, 1e-5, 1e-6, 1e-5, 0),
    ROW(add, 2, make_elementwise, call_add, ref_add, 1e-7, 1e-6, 1e-7, 1e-6, 0),
    ROW(sin_freq, 4, make_sin_freq, call_sin_freq, ref_sin_freq, 1e-6, 1e-5, 1e-6, 1e-5, 0),
    ROW(modulate_cm, 2, make_modulate_cm, call_modulate_cm, ref_modulate_cm, 1e-6, 1e-5, 1e-6, 1e-5, 0),
    /* per channel over time */
    ROW(causal_conv, 25, make_causal_conv, call_causal_conv, ref_causal_conv, 1e-6, 1e-5, 1e-6, 1e-5, 0),
    ROW(mul_cm, 3, make_mul_cm, call_mul_cm, ref_mul_cm, 1e-7, 1e-6, 1e-7, 1e-6, 0),
    /* long convolution: on-the-fly filters, then spectra_new → fftconv → spectra_free */
    {.name = "fftconv", .ops = OPS4(fftconv, fft_size, spectra_new, spectra_free), .variants = 28, .make = make_fftconv,
     .call = call_fftconv, .ref = ref_fftconv, .rel = 1e-5, .abs = 1e-4, .rel_dev = 2e-5, .abs_dev = 1e-3},
    {.name = "spectra_new", .ops = OPS4(spectra_new, spectra_free, fftconv, fft_size), .variants = 7, .make = make_spectra,
     .call = call_fftconv, .ref = ref_fftconv, .rel = 1e-5, .abs = 1e-4, .rel_dev = 2e-5, .abs_dev = 1e-3},
    /* lookup */
    ROW(embed, 2, make_embed, call_embed, ref_embed, 0, 0, 0, 0, 0),
    /* DNA-xLSTM */
    ROW(flip, 9, make_flip, call_flip, ref_flip, 1e-7, 1e-6, 0, 0, 0),
    ROW(groupnorm, 7, make_groupnorm, call_groupnorm, ref_groupnorm, 1e-6, 1e-5, 1e-5, 1e-4, 0),
    ROW(conv_rows, 11, make_conv_rows, call_conv_rows, ref_conv_rows, 1e-6, 1e-5, 1e-6, 1e-5, 0),
    ROW(headwise, 7, make_headwise, call_headwise, ref_headwise, 1e-6, 1e-5, 1e-5, 1e-4, 0),
    ROW(rope, 2, make_rope, call_rope, ref_rope, 1e-6, 1e-5, 1e-6, 1e-5, 0),
    ROW(mlstm_cell, 13, make_mlstm_cell, call_mlstm_cell, ref_mlstm_cell, 1e-5, 1e-4, 1e-5, 1e-4, 0),
    ROW(mlstm_gate, 2, make_mlstm_gate, call_mlstm_gate, ref_mlstm_gate, 1e-6, 1e-5, 1e-6, 1e-5, 0),
    ROW(slstm_cell, 5, make_slstm_cell, call_slstm_cell, ref_slstm_cell, 1e-6, 1e-5, 1e-5, 1e-4, 0),
    ROW(gelu_erf_mul, 2, make_gelu_erf_mul, call_gelu_erf_mul, ref_gelu_erf_mul, 1e-6, 1e-5, 1e-6, 1e-5, 0),
    /* Mamba */
    ROW(conv_silu_rows, 12, make_conv_silu_rows, call_conv_silu_rows, ref_conv_silu_rows, 1e-6, 1e-5, 1e-6, 1e-5, 0),
    ROW(flip_cm, 4, make_flip_cm, call_flip_cm, ref_flip_cm, 0, 0, 0, 0, 0),
    ROW(selective_scan, 18, make_selective_scan, call_selective_scan, ref_selective_scan, 1e-5, 1e-4, 1e-5, 1e-4, 0),
    /* Evo 2 */
    {.name = "weights_bf16", .ops = OPS1(weights_bf16), .check = check_weights_bf16},
    ROW(linear_ex, 68, make_linear_ex, call_linear_ex, ref_linear_ex, 1e-6, 1e-4, 1e-5, 5e-4, 1),
    ROW(rmsnorm_eps_out, 10, make_rmsnorm_eps_out, call_rmsnorm_eps_out, ref_rmsnorm_eps_out, 1e-6, 1e-5, 1e-6, 1e-5, 0),
    ROW(rope_neox, 4, make_rope_neox, call_rope_neox, ref_rope_neox, 1e-6, 1e-5, 1e-6, 1e-5, 0),
    ROW(attention, 5, make_attention, call_attention, ref_attention, 1e-5, 1e-4, 1e-5, 1e-4, 0),
    ROW(modal_filter, 3, make_modal_filter, call_modal_filter, ref_modal_filter, 1e-6, 1e-5, 1e-6, 1e-5, 0),
    ROW(modal_scan, 7, make_modal_scan, call_modal_scan, ref_modal_scan, 1e-6, 1e-5, 1e-6, 1e-4, 0),
    ROW(shift_left, 3, make_shift_left, call_shift_left, ref_shift_left, 0, 0, 0, 0, 0),
    ROW(copy_cm, 3, make_copy_cm, call_copy_cm, ref_copy_cm, 0, 0, 0, 0, 0),
    ROW(gated_act, 6, make_gated_act, call_gated_act, ref_gated_act, 1e-6, 1e-5, 1e-6, 1e-5, 0),
    /* HyenaDNA fused steps (optional ops: a backend without them runs the plain ops) */
    ROW(hyena_in, 14, make_hyena_in, call_hyena_in, ref_hyena_in, 1e-6, 5e-5, 1e-5, 5e-4, 1),
    ROW(hyena_out, 12, make_hyena_out, call_hyena_out, ref_hyena_out, 1e-6, 2e-5, 1e-5, 5e-4, 1),
    ROW(mlp_residual, 12, make_mlp_residual, call_mlp_residual, ref_mlp_residual, 1e-6, 2e-5, 1e-5, 5e-4, 1),
    /* cached decoding */
    ROW(longconv_step, 4, make_longconv_step, call_longconv_step, ref_longconv_step, 1e-6, 1e-5, 1e-6, 1e-5, 0),
    ROW(mlstm_state, 6, make_mlstm_state, call_mlstm_state, ref_mlstm_state, 1e-5, 1e-4, 1e-5, 1e-4, 0),
    ROW(mlstm_step, 2, make_mlstm_step, call_mlstm_step, ref_mlstm_step, 1e-5, 1e-4, 1e-5, 1e-4, 0),
    ROW(slstm_cell_state, 5, make_slstm_cell_state, call_slstm_cell_state, ref_slstm_cell_state, 1e-6, 1e-5, 1e-5, 1e-4, 0),
};
#define N_OP_ROWS (sizeof OP_ROWS / sizeof *OP_ROWS)

/* the rows as parameters: one parameterized test per row (ParameterizedTest(size_t *row, ...)) */
static struct criterion_test_params op_all_rows(void)
{
    static size_t rows[N_OP_ROWS];
    for (size_t i = 0; i < N_OP_ROWS; i++) rows[i] = i;
    return cr_make_param_array(size_t, rows, N_OP_ROWS);
}

/* ---------------------------------------------------------------- running a row */

/* Case v of row r: fresh inputs from the row's own seed. */
static void op_case_make(const op_row *r, int v, opcase *c)
{
    memset(c, 0, sizeof *c);
    c->variant = v;
    op_seed(r->name, v);
    r->make(c);
}

/* Whether be has every op of row r. */
static int op_row_runs_on(const op_row *r, const hd_backend *be)
{
    for (int i = 0; i < 4 && r->ops[i].name; i++)
        if (!hd_backend_has(be, r->ops[i])) return 0;
    return 1;
}

/* The case's buffers on be (alloc + upload), the op called, the 'o'/'x' buffers downloaded into out[i]
 * (fresh host arrays; NULL for the others). */
static void op_run_on(const op_row *r, const opcase *c, hd_backend *be, float **out)
{
    float *p[OPB] = {0};
    for (int i = 0; i < c->nb; i++) {
        out[i] = NULL;
        if (c->role[i] == '-') continue;
        p[i] = be->alloc(be, (c->n[i] ? c->n[i] : 1) * sizeof(float), "a test buffer");
        cr_assert_not_null(p[i], "%s: %s", r->name, hd_error());
        be->upload(be, p[i], c->h[i], c->n[i] * sizeof(float));
    }
    int rc = r->call(be, c, p);
    cr_assert_eq(rc, 0, "%s (%s) on %s: %s", r->name, c->desc, be->name, hd_error());
    cr_assert_eq(hd_backend_check(be), 0, "%s (%s) on %s: %s", r->name, c->desc, be->name, hd_error());
    for (int i = 0; i < c->nb; i++) {
        if (c->role[i] == 'o' || c->role[i] == 'x') {
            out[i] = malloc((c->n[i] ? c->n[i] : 1) * sizeof(float));
            be->download(be, out[i], p[i], c->n[i] * sizeof(float));
        }
        be->free(be, p[i]);
    }
}

/* got against want over n values: rel_F ≤ rel and max |d| ≤ abs; both 0: bit for bit */
static void op_compare(const op_row *r, const opcase *c, int buf, const float *got, const double *want, size_t n,
                       double rel, double abs, const char *against)
{
    double num = 0, den = 0, mx = 0;
    int same = 1;
    for (size_t i = 0; i < n; i++) {
        double d = (double)got[i] - want[i];
        if ((float)want[i] != got[i] && !(isnan(got[i]) && isnan(want[i]))) same = 0;
        num += d * d, den += want[i] * want[i];
        if (!(fabs(d) <= mx)) mx = isnan(d) ? INFINITY : fabs(d);
    }
    double rf = isnan(num) ? INFINITY : den > 0 ? sqrt(num / den) : sqrt(num);
    if (getenv("HD_OPS_VERBOSE"))   /* the measured errors, to set a new row's tolerances */
        fprintf(stderr, "%-14s %-44s buf %d vs %-22s rel_F %.2e  max_abs %.2e\n", r->name, c->desc, buf, against, rf, mx);
    if (rel == 0 && abs == 0)
        cr_expect(same, "%s (%s), buffer %d: differs from %s (bit for bit expected): rel_F %.3g, max_abs %.3g", r->name,
                  c->desc, buf, against, rf, mx);
    else
        cr_expect(rf <= rel && mx <= abs, "%s (%s), buffer %d, against %s: rel_F %.3g (tolerance %.1g), max_abs %.3g (tolerance %.1g)",
                  r->name, c->desc, buf, against, rf, rel, mx, abs);
}

/* Row r on backend be: against the scalar reference when other is NULL, else against backend other on
 * the same inputs (with the device tolerances; exact when exact is set).  Returns the cases run. */
static int op_check_row(const op_row *r, hd_backend *be, hd_backend *other, int exact)
{
    if (r->check) {
        r->check(be, other);
        return 1;
    }
    static const struct { hd_precision p; const char *name; double rel; } precs[] = {
        {HD_PREC_FP32, "fp32", 0}, {HD_PREC_TF32, "tf32", 4e-3}, {HD_PREC_BF16, "bf16", 3e-2}};
    for (int v = 0; v < r->variants; v++) {
        opcase c;
        op_case_make(r, v, &c);
        double *want[OPB] = {0};
        float *exp_f[OPB] = {0}, *got[OPB] = {0};
        if (!other) {
            for (int i = 0; i < c.nb; i++)
                if (c.role[i] == 'o' || c.role[i] == 'x') {
                    want[i] = malloc((c.n[i] ? c.n[i] : 1) * sizeof(double));
                    for (size_t k = 0; k < c.n[i]; k++) want[i][k] = c.h[i][k];
                }
            r->ref(&c, want);
        } else {
            op_run_on(r, &c, other, exp_f);
            for (int i = 0; i < c.nb; i++)
                if (exp_f[i]) {
                    want[i] = malloc((c.n[i] ? c.n[i] : 1) * sizeof(double));
                    for (size_t k = 0; k < c.n[i]; k++) want[i][k] = exp_f[i][k];
                }
        }
        int np = other && r->gemm && !exact ? 3 : 1;
        for (int pi = 0; pi < np; pi++) {
            if (np > 1) {
                if (!(be->precisions & precs[pi].p)) continue;
                cr_assert_eq(hd_backend_set_precision(be, precs[pi].name), 0, "%s", hd_error());
            }
            op_run_on(r, &c, be, got);
            char against[64];
            snprintf(against, sizeof against, "%s%s%s", other ? other->name : "the scalar reference",
                     np > 1 ? " in " : "", np > 1 ? precs[pi].name : "");
            double rel = exact ? 0 : other ? (pi ? precs[pi].rel : r->rel_dev) : r->rel;
            double abs = exact ? 0 : other ? (pi ? 50 * precs[pi].rel : r->abs_dev) : r->abs;
            for (int i = 0; i < c.nb; i++)
                if (got[i]) {
                    op_compare(r, &c, i, got[i], want[i], c.n[i], rel, abs, against);
                    free(got[i]);
                }
        }
        if (np > 1) cr_assert_eq(hd_backend_set_precision(be, "fp32"), 0);
        for (int i = 0; i < c.nb; i++) free(want[i]), free(exp_f[i]);
        op_case_free(&c);
    }
    return r->variants;
}

#endif
