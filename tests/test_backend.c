/* test_backend.c -- the CPU backend's ops against direct (naive, double-precision) computations on
 * fresh random inputs, with a tolerance per op. */
#include "testutil.h"
#include "backend.h"

static hd_backend *BE;
static void setup(void) { BE = hd_backend_cpu_new(2); }
static void teardown(void) { hd_backend_free(BE); }

static uint64_t rng = 88172645463325252ULL;
static float frand(void)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (float)((rng >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}
static float *rvec(size_t n) { float *v = malloc((n ? n : 1) * sizeof *v); for (size_t i = 0; i < n; i++) v[i] = frand(); return v; }

static void expect_close(const float *got, const double *want, size_t n, double tol, const char *what)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) { double d = got[i] - want[i]; num += d * d; den += want[i] * want[i]; }
    double rel = den > 0 ? sqrt(num / den) : sqrt(num);
    cr_assert(rel <= tol, "%s: rel error %.3g > %.3g", what, rel, tol);
}

Test(backend, linear_variants, .init = setup, .fini = teardown)
{
    size_t Ms[] = {1, 7, 300, 600}, K = 37, N = 23;
    for (size_t mi = 0; mi < 4; mi++) {
        size_t M = Ms[mi], ldx = K + 3;
        float *X = rvec(M * ldx), *W = rvec(N * K), *b = rvec(N), *Y = rvec(M * (N + 1)), *Yt = rvec(N * (M + 2));
        float *Xt = rvec(K * (M + 5));
        double *want = malloc(M * N * sizeof *want), *want2 = malloc(M * N * sizeof *want2);
        float *g = malloc(M * N * sizeof *g);
        for (size_t m = 0; m < M; m++)
            for (size_t n = 0; n < N; n++) {
                double s = b[n], s2 = b[n];
                for (size_t k = 0; k < K; k++) { s += (double)X[m * ldx + k] * W[n * K + k]; s2 += (double)Xt[k * (M + 5) + m] * W[n * K + k]; }
                want[m * N + n] = s;
                want2[m * N + n] = s2;
            }
        BE->linear(BE, X, M, K, ldx, W, b, N, Y, N + 1);
        for (size_t m = 0; m < M; m++) for (size_t n = 0; n < N; n++) g[m * N + n] = Y[m * (N + 1) + n];
        expect_close(g, want, M * N, 1e-6, "linear");
        BE->linear_cm_out(BE, X, M, K, ldx, W, b, N, Yt, M + 2);
        for (size_t m = 0; m < M; m++) for (size_t n = 0; n < N; n++) g[m * N + n] = Yt[n * (M + 2) + m];
        expect_close(g, want, M * N, 1e-6, "linear_cm_out");
        BE->linear_cm_in(BE, Xt, M, K, M + 5, W, b, N, Y, N + 1);
        for (size_t m = 0; m < M; m++) for (size_t n = 0; n < N; n++) g[m * N + n] = Y[m * (N + 1) + n];
        expect_close(g, want2, M * N, 1e-6, "linear_cm_in");
        free(X); free(W); free(b); free(Y); free(Yt); free(Xt); free(want); free(want2); free(g);
    }
}

Test(backend, norms_and_activations, .init = setup, .fini = teardown)
{
    size_t M = 50, D = 33;
    float *X = rvec(M * D), *g = rvec(D), *bt = rvec(D), *Y = malloc(M * D * sizeof *Y);
    double *want = malloc(M * D * sizeof *want);
    for (size_t m = 0; m < M; m++) {
        double mu = 0, var = 0, ss = 0;
        for (size_t d = 0; d < D; d++) mu += X[m * D + d];
        mu /= D;
        for (size_t d = 0; d < D; d++) { var += (X[m * D + d] - mu) * (X[m * D + d] - mu); ss += (double)X[m * D + d] * X[m * D + d]; }
        var /= D;
        for (size_t d = 0; d < D; d++) want[m * D + d] = (X[m * D + d] - mu) / sqrt(var + 1e-5) * g[d] + bt[d];
    }
    BE->layernorm(BE, X, M, D, g, bt, 1e-5f, Y);
    expect_close(Y, want, M * D, 1e-6, "layernorm");
    for (size_t m = 0; m < M; m++) {
        double ss = 0;
        for (size_t d = 0; d < D; d++) ss += (double)X[m * D + d] * X[m * D + d];
        for (size_t d = 0; d < D; d++) want[m * D + d] = X[m * D + d] / sqrt(ss / D + 1e-5) * g[d];
    }
    BE->rmsnorm(BE, X, M, D, g, 1e-5f, Y);
    expect_close(Y, want, M * D, 1e-6, "rmsnorm");
    for (size_t i = 0; i < M * D; i++) {
        double a = X[i] * 4;
        Y[i] = (float)a;
        want[i] = 0.5 * a * (1 + tanh(sqrt(2 / M_PI) * (a + 0.044715 * a * a * a)));
    }
    BE->gelu_tanh(BE, Y, M * D);
    expect_close(Y, want, M * D, 1e-6, "gelu_tanh");
    free(X); free(g); free(bt); free(Y); free(want);
}

Test(backend, causal_conv_with_history, .init = setup, .fini = teardown)
{
    size_t C = 5, T = 40, K = 4;
    for (size_t hist = 0; hist <= 5; hist++) {
        size_t ldx = hist + T + 1;
        float *x = rvec(C * ldx), *w = rvec(C * K), *b = rvec(C), *y = malloc(C * T * sizeof *y);
        double *want = malloc(C * T * sizeof *want);
        for (size_t c = 0; c < C; c++)
            for (size_t t = 0; t < T; t++) {
                double s = b[c];
                for (size_t j = 0; j < K; j++) {
                    long ip = (long)hist + (long)t - (long)(K - 1) + (long)j;
                    if (ip >= 0) s += (double)w[c * K + j] * x[c * ldx + ip];
                }
                want[c * T + t] = s;
            }
        BE->causal_conv(BE, x, C, T, ldx, hist, w, K, b, y, T);
        expect_close(y, want, C * T, 1e-6, "causal_conv");
        free(x); free(w); free(b); free(y); free(want);
    }
}

Test(backend, fft_convolution_is_linear_convolution, .init = setup, .fini = teardown)
{
    size_t Ls[] = {1, 2, 7, 100, 1000, 4097};
    for (size_t li = 0; li < 6; li++) {
        size_t L = Ls[li], C = 3, N = BE->fft_size(BE, L);
        cr_assert_geq(N, 2 * L - 1, "fft size %zu for L %zu", N, L);
        float *u = rvec(C * L), *k = rvec(C * L), *db = rvec(C), *u2 = malloc(C * L * sizeof *u2);
        double *want = malloc(C * L * sizeof *want);
        for (size_t c = 0; c < C; c++)
            for (size_t t = 0; t < L; t++) {
                double s = (double)db[c] * u[c * L + t];
                for (size_t tau = 0; tau <= t; tau++) s += (double)k[c * L + tau] * u[c * L + t - tau];
                want[c * L + t] = s;
            }
        memcpy(u2, u, C * L * sizeof *u);
        cr_assert_eq(BE->fftconv(BE, u2, C, L, L, NULL, k, L, L, db), 0);
        expect_close(u2, want, C * L, 1e-5, "fftconv (filter transformed on the fly)");
        /* cached spectra made from more taps than L give the same result */
        hd_spectra *s = BE->spectra_new(BE, k, C, L, L, N);
        memcpy(u2, u, C * L * sizeof *u);
        cr_assert_eq(BE->fftconv(BE, u2, C, L, L, s, NULL, 0, 0, db), 0);
        expect_close(u2, want, C * L, 1e-5, "fftconv (cached spectra)");
        BE->spectra_free(BE, s);
        free(u); free(k); free(db); free(u2); free(want);
    }
}

/* the built-architecture rule the CUDA backend applies when it opens a device (no GPU needed) */
Test(backend, cuda_arch_rule)
{
    const char *built = "sm_80 sm_90 compute_90";   /* configure's default NVCCFLAGS */
    static const struct { int major, minor, runs; } cases[] = {
        {8, 0, 1}, {8, 6, 1}, {8, 9, 1},   /* the sm_80 binary on any 8.x with x ≥ 0 */
        {9, 0, 1}, {10, 0, 1}, {12, 0, 1}, /* sm_90, then the compute_90 PTX compiled at load */
        {7, 5, 0}, {7, 0, 0}, {6, 1, 0},   /* older than every image */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        cr_assert_eq(hd_cuda_arch_runs(built, cases[i].major, cases[i].minor), cases[i].runs, "cc %d.%d", cases[i].major,
                     cases[i].minor);
    cr_assert_eq(hd_cuda_arch_runs("sm_80", 9, 0), 0, "a binary does not run on a later major");
    cr_assert_eq(hd_cuda_arch_runs("sm_86", 8, 0), 0, "nor on an earlier minor");
    cr_assert_eq(hd_cuda_arch_runs("compute_80", 8, 6), 1);
    cr_assert_eq(hd_cuda_arch_runs("sm_90a", 9, 0), 1);
    cr_assert_eq(hd_cuda_arch_runs("sm_90a compute_90a", 10, 0), 0, "arch-specific code runs on that device only");
    cr_assert_eq(hd_cuda_arch_runs("", 7, 5), -1, "unknown: not refused");
    cr_assert_eq(hd_cuda_arch_runs("native", 7, 5), -1);
}
