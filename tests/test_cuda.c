/* test_cuda.c -- the CUDA backend against the CPU backend (built only when the CUDA backend is).
 *
 * Every GPU op is run on fresh random inputs next to the CPU op of the same name and compared with a
 * tolerance per op (relative Frobenius error and max abs error), as ggml's test-backend-ops does; then
 * the hyenadna-tiny and evo2-tiny fixtures run through the GPU backend at the fixtures' bars.  Without a visible GPU
 * the GPU tests are skipped (cr_skip_test, with the reason) and this program exits 77, which automake
 * reports as SKIP; the backend-selection tests run either way. */
#include "config.h"
#include "testutil.h"
#include "backend.h"
#include "hyena.h"
#include "model.h"
#include "seqio.h"
#include "tokenizer.h"

#define TINY TESTDATA("hyenadna-tiny")
#define REL_BAR 1e-4
#define ABS_BAR 1e-3

static hd_backend *CPU, *GPU;

static void teardown(void)
{
    hd_backend_free(GPU);
    hd_backend_free(CPU);
    GPU = CPU = NULL;
}

/* start of every GPU test: skip without a device, else a CPU and a GPU backend */
#define NEED_GPU()                                                                                            \
    do {                                                                                                      \
        if (hd_cuda_device_count() <= 0)                                                                      \
            cr_skip_test("no CUDA device visible (run bench/gpu-check.sh on a machine with a GPU)");          \
        CPU = hd_backend_cpu_new(2);                                                                          \
        GPU = hd_backend_new("cuda", 0);                                                                      \
        cr_assert_not_null(CPU);                                                                              \
        cr_assert_not_null(GPU, "%s", hd_error());                                                            \
        cr_assert_str_eq(GPU->name, "cuda");                                                                  \
    } while (0)

/* ---------------------------------------------------------------- helpers */

static uint64_t rng_state = 88172645463325252ull;

static float frand(float lo, float hi)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return lo + (hi - lo) * (float)((rng_state >> 11) * (1.0 / 9007199254740992.0));
}

static float *rnd(size_t n, float lo, float hi)
{
    float *v = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++) v[i] = frand(lo, hi);
    return v;
}

static float *copy(const float *h, size_t n)
{
    float *v = malloc((n ? n : 1) * sizeof(float));
    memcpy(v, h, n * sizeof(float));
    return v;
}

/* a device copy of host data */
static float *dev(const float *h, size_t n)
{
    float *d = GPU->alloc(GPU, (n ? n : 1) * sizeof(float), "a test buffer");
    cr_assert_not_null(d, "%s", hd_error());
    GPU->upload(GPU, d, h, n * sizeof(float));
    return d;
}

/* download a device buffer into a fresh host array, then free the device buffer */
static float *back(float *d, size_t n)
{
    float *h = malloc((n ? n : 1) * sizeof(float));
    GPU->download(GPU, h, d, n * sizeof(float));
    GPU->free(GPU, d);
    return h;
}

static void close_enough(const char *what, const float *gpu, const float *cpu, size_t n, double rel_tol, double abs_tol)
{
    double mx, rel = rel_frob(gpu, cpu, n, &mx);
    cr_assert(rel <= rel_tol && mx <= abs_tol, "%s: GPU vs CPU rel_F %.3g (tolerance %.1g), max_abs %.3g (tolerance %.1g)",
              what, rel, rel_tol, mx, abs_tol);
}

/* ---------------------------------------------------------------- dense */

/* per precision: relative tolerance of a GEMM with K ≤ 300 against the fp32 CPU result */
static const struct { const char *name; double rel; } PRECS[] = {{"fp32", 1e-5}, {"tf32", 4e-3}, {"bf16", 3e-2}};

/* runs without a GPU: the backend opens cuBLAS and cuFFT with dlopen, so their names and symbols must
 * resolve on any machine with the toolkit (CI compiles and links the CUDA code) */
Test(cuda_libs, cublas_and_cufft_load)
{
    cr_assert_eq(hd_cuda_libs_load(), 0, "%s", hd_error());
}

Test(cuda_ops, linear, .fini = teardown)
{
    NEED_GPU();
    size_t M = 300, K = 70, N = 130, ldx = K + 3, ldy = N + 5;
    for (size_t p = 0; p < 3; p++) {
        cr_assert_eq(hd_backend_set_precision(GPU, PRECS[p].name), 0, "%s", hd_error());
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            float *X = rnd(M * ldx, -1, 1), *W = rnd(N * K, -1, 1), *b = with_bias ? rnd(N, -1, 1) : NULL;
            float *Y = rnd(M * ldy, -1, 1), *Yg = copy(Y, M * ldy);   /* the padding columns must survive */
            CPU->linear(CPU, X, M, K, ldx, W, b, N, Y, ldy);
            float *dX = dev(X, M * ldx), *dW = dev(W, N * K), *db = b ? dev(b, N) : NULL, *dY = dev(Yg, M * ldy);
            GPU->linear(GPU, dX, M, K, ldx, dW, db, N, dY, ldy);
            float *got = back(dY, M * ldy);
            char what[64];
            snprintf(what, sizeof what, "linear %s bias=%d", PRECS[p].name, with_bias);
            close_enough(what, got, Y, M * ldy, PRECS[p].rel, 50 * PRECS[p].rel);
            GPU->free(GPU, dX); GPU->free(GPU, dW); GPU->free(GPU, db);
            free(X); free(W); free(b); free(Y); free(Yg); free(got);
        }
    }
}

Test(cuda_ops, linear_cm_out, .fini = teardown)
{
    NEED_GPU();
    size_t M = 257, K = 64, N = 96, ldx = K + 1, ldy = M + 7;
    for (size_t p = 0; p < 3; p++) {
        cr_assert_eq(hd_backend_set_precision(GPU, PRECS[p].name), 0, "%s", hd_error());
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            float *X = rnd(M * ldx, -1, 1), *W = rnd(N * K, -1, 1), *b = with_bias ? rnd(N, -1, 1) : NULL;
            float *Y = rnd(N * ldy, -1, 1), *Yg = copy(Y, N * ldy);
            CPU->linear_cm_out(CPU, X, M, K, ldx, W, b, N, Y, ldy);
            float *dX = dev(X, M * ldx), *dW = dev(W, N * K), *db = b ? dev(b, N) : NULL, *dY = dev(Yg, N * ldy);
            GPU->linear_cm_out(GPU, dX, M, K, ldx, dW, db, N, dY, ldy);
            float *got = back(dY, N * ldy);
            char what[64];
            snprintf(what, sizeof what, "linear_cm_out %s bias=%d", PRECS[p].name, with_bias);
            close_enough(what, got, Y, N * ldy, PRECS[p].rel, 50 * PRECS[p].rel);
            GPU->free(GPU, dX); GPU->free(GPU, dW); GPU->free(GPU, db);
            free(X); free(W); free(b); free(Y); free(Yg); free(got);
        }
    }
}

Test(cuda_ops, linear_cm_in, .fini = teardown)
{
    NEED_GPU();
    size_t M = 211, K = 128, N = 128, ldx = M + 9, ldy = N + 2;
    for (size_t p = 0; p < 3; p++) {
        cr_assert_eq(hd_backend_set_precision(GPU, PRECS[p].name), 0, "%s", hd_error());
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            float *Xt = rnd(K * ldx, -1, 1), *W = rnd(N * K, -1, 1), *b = with_bias ? rnd(N, -1, 1) : NULL;
            float *Y = rnd(M * ldy, -1, 1), *Yg = copy(Y, M * ldy);
            CPU->linear_cm_in(CPU, Xt, M, K, ldx, W, b, N, Y, ldy);
            float *dX = dev(Xt, K * ldx), *dW = dev(W, N * K), *db = b ? dev(b, N) : NULL, *dY = dev(Yg, M * ldy);
            GPU->linear_cm_in(GPU, dX, M, K, ldx, dW, db, N, dY, ldy);
            float *got = back(dY, M * ldy);
            char what[64];
            snprintf(what, sizeof what, "linear_cm_in %s bias=%d", PRECS[p].name, with_bias);
            close_enough(what, got, Y, M * ldy, PRECS[p].rel, 50 * PRECS[p].rel);
            GPU->free(GPU, dX); GPU->free(GPU, dW); GPU->free(GPU, db);
            free(Xt); free(W); free(b); free(Y); free(Yg); free(got);
        }
    }
}

Test(cuda_ops, precision_names, .fini = teardown)
{
    NEED_GPU();
    cr_assert_eq(hd_backend_set_precision(GPU, "tf32"), 0);
    cr_assert_eq(hd_backend_set_precision(GPU, "fp32"), 0);
    cr_assert_neq(hd_backend_set_precision(GPU, "fp16"), 0);
    cr_assert(strstr(hd_error(), "fp16"), "%s", hd_error());
}

/* ---------------------------------------------------------------- position-wise */

Test(cuda_ops, layernorm_and_rmsnorm, .fini = teardown)
{
    NEED_GPU();
    size_t Ds[] = {1, 5, 128, 300, 1030};
    for (size_t i = 0; i < sizeof Ds / sizeof *Ds; i++) {
        size_t M = 37, D = Ds[i], n = M * D;
        float *X = rnd(n, -3, 5), *g = rnd(D, 0.5f, 1.5f), *bt = rnd(D, -0.5f, 0.5f);
        float *Y = malloc(n * sizeof(float));
        float *dX = dev(X, n), *dg = dev(g, D), *db = dev(bt, D), *dY = dev(X, n);
        char what[64];
        /* with beta, out of place */
        CPU->layernorm(CPU, X, M, D, g, bt, 1e-5f, Y);
        GPU->layernorm(GPU, dX, M, D, dg, db, 1e-5f, dY);
        float *got = malloc(n * sizeof(float));
        GPU->download(GPU, got, dY, n * sizeof(float));
        snprintf(what, sizeof what, "layernorm D=%zu", D);
        close_enough(what, got, Y, n, 1e-5, 1e-4);
        /* no beta, in place */
        float *Xc = copy(X, n);
        CPU->layernorm(CPU, Xc, M, D, g, NULL, 1e-6f, Xc);
        GPU->upload(GPU, dY, X, n * sizeof(float));
        GPU->layernorm(GPU, dY, M, D, dg, NULL, 1e-6f, dY);
        GPU->download(GPU, got, dY, n * sizeof(float));
        snprintf(what, sizeof what, "layernorm in place D=%zu", D);
        close_enough(what, got, Xc, n, 1e-5, 1e-4);
        /* rmsnorm */
        CPU->rmsnorm(CPU, X, M, D, g, 1e-5f, Y);
        GPU->rmsnorm(GPU, dX, M, D, dg, 1e-5f, dY);
        GPU->download(GPU, got, dY, n * sizeof(float));
        snprintf(what, sizeof what, "rmsnorm D=%zu", D);
        close_enough(what, got, Y, n, 1e-5, 1e-4);
        GPU->free(GPU, dX); GPU->free(GPU, dg); GPU->free(GPU, db); GPU->free(GPU, dY);
        free(X); free(g); free(bt); free(Y); free(got); free(Xc);
    }
}

Test(cuda_ops, gelu_add_sin, .fini = teardown)
{
    NEED_GPU();
    size_t n = 100003;
    float *x = rnd(n, -6, 6), *dx = dev(x, n);
    CPU->gelu_tanh(CPU, x, n);
    GPU->gelu_tanh(GPU, dx, n);
    float *got = back(dx, n);
    close_enough("gelu_tanh", got, x, n, 1e-6, 1e-5);
    free(got);

    float *y = rnd(n, -1, 1), *dy = dev(y, n);
    dx = dev(x, n);
    CPU->add(CPU, y, x, n);
    GPU->add(GPU, dy, dx, n);
    got = back(dy, n);
    close_enough("add", got, y, n, 1e-7, 1e-6);
    GPU->free(GPU, dx);
    free(got); free(x); free(y);

    size_t M = 1000, H = 64;
    float *a = rnd(M * H, -1, 1), *freq = rnd(H, 8, 12), *da = dev(a, M * H), *df = dev(freq, H);
    CPU->sin_freq(CPU, a, M, H, freq);
    GPU->sin_freq(GPU, da, M, H, df);
    got = back(da, M * H);
    close_enough("sin_freq", got, a, M * H, 1e-6, 1e-5);
    GPU->free(GPU, df);
    free(got); free(a); free(freq);
}

Test(cuda_ops, modulate_cm, .fini = teardown)
{
    NEED_GPU();
    size_t C = 33, T = 257, ldk = 260;
    float *k = rnd(C * ldk, -1, 1), *t = malloc(T * sizeof(float)), *delta = rnd(C, -15, -3);
    for (size_t i = 0; i < T; i++) t[i] = (float)i / (float)(T - 1);
    float *dk = dev(k, C * ldk), *dt = dev(t, T), *dd = dev(delta, C);
    CPU->modulate_cm(CPU, k, C, T, ldk, t, delta, 0.05f);
    GPU->modulate_cm(GPU, dk, C, T, ldk, dt, dd, 0.05f);
    float *got = back(dk, C * ldk);
    close_enough("modulate_cm", got, k, C * ldk, 1e-6, 1e-5);
    GPU->free(GPU, dt); GPU->free(GPU, dd);
    free(got); free(k); free(t); free(delta);
}

/* ---------------------------------------------------------------- per channel */

Test(cuda_ops, causal_conv, .fini = teardown)
{
    NEED_GPU();
    size_t C = 40, T = 100, ldy = T + 4;
    size_t hists[] = {0, 1, 2}, Ks[] = {1, 3, 4};
    for (size_t h = 0; h < 3; h++)
        for (size_t kk = 0; kk < 3; kk++)
            for (int with_bias = 0; with_bias < 2; with_bias++) {
                size_t hist = hists[h], K = Ks[kk], ldx = T + hist + 3;
                float *x = rnd(C * ldx, -2, 2), *w = rnd(C * K, -1, 1), *b = with_bias ? rnd(C, -1, 1) : NULL;
                float *y = rnd(C * ldy, -1, 1), *yg = copy(y, C * ldy);
                CPU->causal_conv(CPU, x, C, T, ldx, hist, w, K, b, y, ldy);
                float *dx = dev(x, C * ldx), *dw = dev(w, C * K), *db = b ? dev(b, C) : NULL, *dy = dev(yg, C * ldy);
                GPU->causal_conv(GPU, dx, C, T, ldx, hist, dw, K, db, dy, ldy);
                float *got = back(dy, C * ldy);
                char what[80];
                snprintf(what, sizeof what, "causal_conv hist=%zu K=%zu bias=%d", hist, K, with_bias);
                close_enough(what, got, y, C * ldy, 1e-6, 1e-5);
                GPU->free(GPU, dx); GPU->free(GPU, dw); GPU->free(GPU, db);
                free(x); free(w); free(b); free(y); free(yg); free(got);
            }
}

Test(cuda_ops, mul_cm, .fini = teardown)
{
    NEED_GPU();
    size_t C = 17, T = 333, lda = 340, ldb = 335, ldy = 350;
    float *a = rnd(C * lda, -2, 2), *b = rnd(C * ldb, -2, 2), *y = rnd(C * ldy, -1, 1), *yg = copy(y, C * ldy);
    float *da = dev(a, C * lda), *db = dev(b, C * ldb), *dy = dev(yg, C * ldy);
    CPU->mul_cm(CPU, a, lda, b, ldb, y, ldy, C, T);
    GPU->mul_cm(GPU, da, lda, db, ldb, dy, ldy, C, T);
    float *got = back(dy, C * ldy);
    close_enough("mul_cm", got, y, C * ldy, 1e-7, 1e-6);
    free(got);
    /* y aliasing a */
    CPU->mul_cm(CPU, a, lda, b, ldb, a, lda, C, T);
    GPU->mul_cm(GPU, da, lda, db, ldb, da, lda, C, T);
    got = back(da, C * lda);
    close_enough("mul_cm in place", got, a, C * lda, 1e-7, 1e-6);
    GPU->free(GPU, db);
    free(got); free(a); free(b); free(y); free(yg);
}

/* ---------------------------------------------------------------- FFT */

Test(cuda_ops, fft_size_rule, .fini = teardown)
{
    NEED_GPU();
    for (size_t L = 0; L < 5000; L++) cr_assert_eq(GPU->fft_size(GPU, L), CPU->fft_size(CPU, L), "L=%zu", L);
    size_t big[] = {32768, 160000, 160002, 450002, 1000000, 1000002, 1048576};
    for (size_t i = 0; i < sizeof big / sizeof *big; i++)
        cr_assert_eq(GPU->fft_size(GPU, big[i]), CPU->fft_size(CPU, big[i]), "L=%zu", big[i]);
}

/* one fftconv case: C channels of length L (row stride ldu); filter taps Lk (row stride ldk);
 * with_spec: through spectra_new with (N+1)/2 taps as the model does */
static void fftconv_case(size_t C, size_t L, size_t Lk, int with_spec, int with_dbias)
{
    size_t ldu = L + 5, ldk = Lk + 2, N = CPU->fft_size(CPU, L);
    float *u = rnd(C * ldu, -1, 1), *k = rnd(C * ldk, -1, 1), *dbias = with_dbias ? rnd(C, -1, 1) : NULL;
    for (size_t c = 0; c < C; c++)   /* decaying filters, as the modulated ones */
        for (size_t i = 0; i < Lk; i++) k[c * ldk + i] *= expf(-3.0f * (float)i / (float)(Lk ? Lk : 1));
    float *du = dev(u, C * ldu), *dk = dev(k, C * ldk), *dd = dbias ? dev(dbias, C) : NULL;
    hd_spectra *sc = NULL, *sg = NULL;
    if (with_spec) {
        sc = CPU->spectra_new(CPU, k, C, Lk, ldk, N);
        sg = GPU->spectra_new(GPU, dk, C, Lk, ldk, N);
        cr_assert_not_null(sc, "%s", hd_error());
        cr_assert_not_null(sg, "%s", hd_error());
    }
    cr_assert_eq(CPU->fftconv(CPU, u, C, L, ldu, sc, k, Lk, ldk, dbias), 0, "%s", hd_error());
    cr_assert_eq(GPU->fftconv(GPU, du, C, L, ldu, sg, dk, Lk, ldk, dd), 0, "%s", hd_error());
    float *got = back(du, C * ldu);
    char what[96];
    snprintf(what, sizeof what, "fftconv C=%zu L=%zu Lk=%zu spec=%d dbias=%d", C, L, Lk, with_spec, with_dbias);
    close_enough(what, got, u, C * ldu, 2e-5, 1e-3);
    if (with_spec) {
        CPU->spectra_free(CPU, sc);
        GPU->spectra_free(GPU, sg);
    }
    GPU->free(GPU, dk); GPU->free(GPU, dd);
    free(got); free(u); free(k); free(dbias);
}

Test(cuda_ops, fftconv, .fini = teardown)
{
    NEED_GPU();
    size_t Ls[] = {1, 2, 3, 17, 255, 1000, 4099};
    for (size_t i = 0; i < sizeof Ls / sizeof *Ls; i++) {
        size_t L = Ls[i];
        fftconv_case(24, L, L, 0, 1);
        fftconv_case(24, L, L + 7, 0, 0);                  /* more taps than L: only L used */
        if (L > 2) fftconv_case(24, L, L / 2, 0, 1);       /* fewer taps than L */
        size_t N = CPU->fft_size(CPU, L);
        fftconv_case(24, L, (N + 1) / 2, 1, 1);            /* cached spectra */
    }
}

Test(cuda_ops, fftconv_several_batches, .fini = teardown)
{
    /* L 1000 → FFT size 2000 = 2^4·5^3, 1001 complex values (8008 bytes) per channel: batches of 5
     * channels, so 23 channels make 5 batches, the last partial, with and without cached spectra */
    setenv("HYENADNA_CUDA_FFT_BATCH", "40140", 1);
    NEED_GPU();
    cr_assert_eq(CPU->fft_size(CPU, 1000), 2000);
    fftconv_case(23, 1000, 1000, 0, 1);
    fftconv_case(23, 1000, 1000, 1, 1);
    unsetenv("HYENADNA_CUDA_FFT_BATCH");
}

Test(cuda_ops, fftconv_long, .fini = teardown)
{
    NEED_GPU();
    fftconv_case(8, 160000, 160000, 0, 1);
    fftconv_case(4, 1000002, 1000002, 1, 1);   /* FFT size near 2^21, the 1M model's */
}

Test(cuda_ops, embed, .fini = teardown)
{
    NEED_GPU();
    size_t rows = 16, D = 200, n = 3001;
    float *table = rnd(rows * D, -1, 1), *want = malloc(n * D * sizeof(float));
    int32_t *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++) ids[i] = (int32_t)(frand(0, 1) * (float)rows) % (int32_t)rows;
    CPU->embed(CPU, ids, n, table, D, want);
    const float *dt = GPU->weights(GPU, table, rows * D);
    cr_assert_not_null(dt, "%s", hd_error());
    float *dout = GPU->alloc(GPU, n * D * sizeof(float), "out");
    GPU->embed(GPU, ids, n, dt, D, dout);
    float *got = back(dout, n * D);
    cr_assert_eq(memcmp(got, want, n * D * sizeof(float)), 0, "embed is an exact copy of the rows");
    free(table); free(want); free(ids); free(got);
}

/* ---------------------------------------------------------------- memory */

Test(cuda_ops, allocator_and_weight_cache, .fini = teardown)
{
    NEED_GPU();
    void *a = GPU->alloc(GPU, 1000000, "a");
    cr_assert_not_null(a, "%s", hd_error());
    GPU->free(GPU, a);
    void *b = GPU->alloc(GPU, 999000, "b");
    cr_assert_eq(a, b, "a freed block of the same size class is reused");
    void *c = GPU->alloc(GPU, 1000000, "c");
    cr_assert_neq(b, c);
    GPU->free(GPU, b);
    GPU->free(GPU, c);
    GPU->free(GPU, NULL);

    size_t n = 5000;
    float *w = rnd(n, -1, 1);
    const float *d1 = GPU->weights(GPU, w, n), *d2 = GPU->weights(GPU, w, n);
    cr_assert_not_null(d1, "%s", hd_error());
    cr_assert_eq(d1, d2, "weights are uploaded once");
    float *got = malloc(n * sizeof(float));
    GPU->download(GPU, got, d1, n * sizeof(float));
    cr_assert_eq(memcmp(got, w, n * sizeof(float)), 0);
    /* a different tensor at the same host address is uploaded anew */
    for (size_t i = 0; i < n; i++) w[i] += 1.0f;
    const float *d3 = GPU->weights(GPU, w, n);
    cr_assert_neq(d3, d1);
    GPU->download(GPU, got, d3, n * sizeof(float));
    cr_assert_eq(memcmp(got, w, n * sizeof(float)), 0);
    free(got);
    free(w);
}

/* ---------------------------------------------------------------- the HyenaDNA fixture on the GPU */

static void check(hd_st *exp, const char *what, const float *got, const char *name, size_t n_expect)
{
    size_t n;
    float *e = st_f32(exp, name, &n);
    cr_assert_eq(n, n_expect, "%s: size %zu, expected %zu", what, n_expect, n);
    double mx, rel = rel_frob(got, e, n, &mx);
    cr_assert(rel <= REL_BAR && mx <= ABS_BAR, "%s (GPU): rel_F %.3g max_abs %.3g", what, rel, mx);
    free(e);
}

typedef struct { float *resid[8]; } resid_cap;

static void capture(void *ud, int layer, const float *r, size_t L, int w)
{
    resid_cap *c = ud;
    c->resid[layer] = malloc(L * w * sizeof(float));
    memcpy(c->resid[layer], r, L * w * sizeof(float));
}

static void fixture_on(hd_backend *be)
{
    hd_model *m = hd_model_open(TINY);
    cr_assert_not_null(m, "%s", hd_error());
    hd_st *exp = hd_st_open(TINY "/expected.safetensors");
    cr_assert_not_null(exp, "%s", hd_error());
    hd_fasta *fa = hd_fasta_open(TINY "/input.fa");
    cr_assert_not_null(fa);
    hd_seqrec rec;
    int nrec = 0;
    size_t D = 128;
    while (hd_fasta_next(fa, &rec) > 0) {
        size_t L = rec.len;
        int32_t *ids = malloc(L * sizeof *ids);
        cr_assert_eq(hd_tokenize(rec.seq, L, HD_SPECIAL_NONE, ids, rec.name), (long)L);
        float *hidden = malloc(L * D * sizeof(float)), *logits = malloc(L * 16 * sizeof(float));
        resid_cap cap = {{0}};
        hd_fwd f = {.hidden = hidden, .logits = logits, .layer = -1, .on_block = capture, .ud = &cap};
        cr_assert_eq(hd_model_forward(m, be, ids, L, &f), 0, "%s", hd_error());
        char key[256];
        snprintf(key, sizeof key, "hidden.%s", rec.name);
        check(exp, key, hidden, key, L * D);
        snprintf(key, sizeof key, "logits.%s", rec.name);
        check(exp, key, logits, key, L * 16);
        for (int k = 0; k < 2; k++) {
            snprintf(key, sizeof key, "residual.layer%d.%s", k, rec.name);
            if (hd_st_find(exp, key)) check(exp, key, cap.resid[k], key, L * D);
            free(cap.resid[k]);
        }
        free(hidden); free(logits); free(ids);
        nrec++;
    }
    hd_fasta_close(fa);
    cr_assert_eq(nrec, 8);
    /* the long filters */
    float *k = malloc(255 * D * sizeof(float));
    for (int layer = 0; layer < 2; layer++) {
        char key[64];
        snprintf(key, sizeof key, "filter.layer%d", layer);
        cr_assert_eq(hd_hyena_filter(m, be, layer, 255, k), 0, "%s", hd_error());
        check(exp, key, k, key, 255 * D);
    }
    free(k);
    hd_st_close(exp);
    hd_model_close(m);
}

Test(cuda_hyena, fixture_parity, .fini = teardown)
{
    NEED_GPU();
    fixture_on(GPU);
    fixture_on(GPU);   /* again: cached weights, spectra and FFT plans */
}

Test(cuda_hyena, fixture_parity_auto, .fini = teardown)
{
    NEED_GPU();
    hd_backend *be = hd_backend_new("auto", 0);
    cr_assert_not_null(be);
    cr_assert_str_eq(be->name, "cuda", "auto picks the GPU when one is visible");
    fixture_on(be);
    hd_backend_free(be);
}

Test(cuda_hyena, prefix_consistency_and_cpu_agreement, .fini = teardown)
{
    NEED_GPU();
    hd_model *m = hd_model_open(TINY);
    cr_assert_not_null(m, "%s", hd_error());
    size_t Lmax = 1026, D = 128;
    int32_t *ids = malloc(Lmax * sizeof *ids);
    srand(11);
    for (size_t i = 0; i < Lmax; i++) ids[i] = 7 + rand() % 5;
    float *g = malloc(Lmax * D * sizeof(float)), *c = malloc(Lmax * D * sizeof(float));
    float *pre = malloc(Lmax * D * sizeof(float));
    hd_fwd fg = {.hidden = g, .layer = -1}, fc = {.hidden = c, .layer = -1};
    cr_assert_eq(hd_model_forward(m, GPU, ids, Lmax, &fg), 0, "%s", hd_error());
    cr_assert_eq(hd_model_forward(m, CPU, ids, Lmax, &fc), 0, "%s", hd_error());
    close_enough("hidden at L=1026", g, c, Lmax * D, 1e-5, 1e-4);
    size_t ks[] = {1, 2, 300, 513, 1025};
    for (size_t j = 0; j < sizeof ks / sizeof *ks; j++) {
        hd_fwd fp = {.hidden = pre, .layer = -1};
        cr_assert_eq(hd_model_forward(m, GPU, ids, ks[j], &fp), 0, "%s", hd_error());
        double rel = rel_frob(pre, g, ks[j] * D, NULL);
        cr_assert(rel < 1e-5, "GPU prefix %zu differs: rel %.3g", ks[j], rel);
    }
    /* tf32 and bf16 stay near fp32 on this small model (a sanity bar, not an accuracy claim) */
    const char *pr[] = {"tf32", "bf16"};
    double bars[] = {2e-2, 1e-1};
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(hd_backend_set_precision(GPU, pr[i]), 0, "%s", hd_error());
        hd_fwd fp = {.hidden = pre, .layer = -1};
        cr_assert_eq(hd_model_forward(m, GPU, ids, Lmax, &fp), 0, "%s", hd_error());
        double rel = rel_frob(pre, c, Lmax * D, NULL);
        cr_assert(rel < bars[i], "%s hidden vs fp32 CPU: rel %.3g", pr[i], rel);
    }
    free(ids); free(g); free(c); free(pre);
    hd_model_close(m);
}

Test(cuda_hyena, uncovered_family_falls_back_only_under_auto, .fini = teardown)
{
    NEED_GPU();
    cr_assert(hd_backend_supports(GPU, HD_FAM_HYENA));
    cr_assert(!hd_backend_supports(GPU, HD_FAM_CADUCEUS));
    cr_assert(hd_backend_supports(GPU, HD_FAM_EVO2));
    hd_clear_error();
    cr_assert_null(hd_backend_for(GPU, HD_FAM_CADUCEUS), "explicit --device cuda does not fall back");
    cr_assert(strstr(hd_error(), "--device cpu"), "%s", hd_error());
    hd_backend *be = hd_backend_new("auto", 0);
    cr_assert_not_null(be);
    hd_backend *fb = hd_backend_for(be, HD_FAM_XLSTM);
    cr_assert_not_null(fb);
    cr_assert_str_eq(fb->name, "cpu");
    cr_assert_eq(hd_backend_for(be, HD_FAM_HYENA), be);
    hd_backend_free(be);
}

/* ---------------------------------------------------------------- Evo 2 ops and the evo2-tiny fixture */

static uint16_t *rnd_bf16(size_t n)
{
    uint16_t *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        float f = frand(-1, 1);
        uint32_t u;
        memcpy(&u, &f, 4);
        v[i] = (uint16_t)(u >> 16);
    }
    return v;
}

static void *dev_bytes(const void *h, size_t bytes)
{
    void *d = GPU->alloc(GPU, bytes ? bytes : 1, "a test buffer");
    cr_assert_not_null(d, "%s", hd_error());
    GPU->upload(GPU, d, h, bytes);
    return d;
}

Test(cuda_evo2, linear_ex_layouts, .fini = teardown)
{
    NEED_GPU();
    size_t M = 133, K = 96, N = 70;
    for (int flags = 0; flags < 8; flags++)
        for (int wbf16 = 0; wbf16 < 2; wbf16++)
            for (int with_bias = 0; with_bias < 2; with_bias++) {
                int xcm = flags & HD_LIN_X_CM, ycm = flags & HD_LIN_Y_CM;
                size_t ldx = (xcm ? M : K) + 3, ldy = (ycm ? M : N) + 5, nx = (xcm ? K : M) * ldx, ny = (ycm ? N : M) * ldy;
                float *X = rnd(nx, -1, 1), *Wf = rnd(N * K, -1, 1), *b = with_bias ? rnd(N, -1, 1) : NULL;
                uint16_t *Wb = rnd_bf16(N * K);
                const void *W = wbf16 ? (const void *)Wb : (const void *)Wf;
                float *Y = rnd(ny, -1, 1), *Yg = copy(Y, ny);
                CPU->linear_ex(CPU, X, M, K, ldx, W, wbf16, b, N, Y, ldy, flags);
                float *dX = dev(X, nx), *db = b ? dev(b, N) : NULL, *dY = dev(Yg, ny);
                void *dW = dev_bytes(W, N * K * (wbf16 ? 2 : 4));
                GPU->linear_ex(GPU, dX, M, K, ldx, dW, wbf16, db, N, dY, ldy, flags);
                float *got = back(dY, ny);
                char what[96];
                snprintf(what, sizeof what, "linear_ex flags=%d bf16=%d bias=%d", flags, wbf16, with_bias);
                close_enough(what, got, Y, ny, 1e-5, 1e-4);
                GPU->free(GPU, dX); GPU->free(GPU, dW); GPU->free(GPU, db);
                free(X); free(Wf); free(Wb); free(b); free(Y); free(Yg); free(got);
            }
    /* the device copy of a BF16 weight is cached per host pointer */
    uint16_t *w = rnd_bf16(1000);
    const uint16_t *a = GPU->weights_bf16(GPU, w, 1000), *b2 = GPU->weights_bf16(GPU, w, 1000);
    cr_assert_not_null(a, "%s", hd_error());
    cr_assert_eq(a, b2);
    free(w);
}

Test(cuda_evo2, norm_rope_act, .fini = teardown)
{
    NEED_GPU();
    size_t M = 77, D = 96, NH = 3, DH = 32, ld = NH * DH + 4;
    float *X = rnd(M * D, -2, 2), *g = rnd(D, 0.5f, 1.5f), *Y = malloc(M * D * sizeof(float));
    CPU->rmsnorm_eps_out(CPU, X, M, D, g, 1e-6f, Y);
    float *dX = dev(X, M * D), *dg = dev(g, D);
    GPU->rmsnorm_eps_out(GPU, dX, M, D, dg, 1e-6f, dX);
    float *got = back(dX, M * D);
    close_enough("rmsnorm_eps_out", got, Y, M * D, 1e-6, 1e-5);
    free(got); free(X); free(Y); GPU->free(GPU, dg); free(g);
    float *R = rnd(M * ld, -1, 1), *inv = rnd(DH / 2, 1e-4f, 1.0f), *Rg = copy(R, M * ld);
    CPU->rope_neox(CPU, R, ld, DH, M, NH, DH, 1000, inv, 128.0);
    float *dR = dev(Rg, M * ld), *dinv = dev(inv, DH / 2);
    GPU->rope_neox(GPU, dR, ld, DH, M, NH, DH, 1000, dinv, 128.0);
    got = back(dR, M * ld);
    close_enough("rope_neox", got, R, M * ld, 1e-6, 1e-5);
    free(got); free(R); free(Rg); free(inv); GPU->free(GPU, dinv);
    for (int act = 0; act < 3; act++) {
        size_t U = 50;
        float *A = rnd(M * 2 * U, -3, 3), *Ag = copy(A, M * 2 * U);
        CPU->gated_act(CPU, A, 2 * U, A + U, 2 * U, M, U, act);
        float *dA = dev(Ag, M * 2 * U);
        GPU->gated_act(GPU, dA, 2 * U, dA + U, 2 * U, M, U, act);
        got = back(dA, M * 2 * U);
        close_enough("gated_act", got, A, M * 2 * U, 1e-6, 1e-5);
        free(got); free(A); free(Ag);
    }
}

Test(cuda_evo2, tiled_attention, .fini = teardown)
{
    NEED_GPU();
    /* queries at positions pos0.. over the cached keys, heads interleaved as in the stored Wqkv order */
    size_t NH = 4, DH = 16, M = 150, pos0 = 37, Lk = pos0 + M, ld = 3 * NH * DH;
    float *QKV = rnd(Lk * ld, -2, 2), *O = malloc(M * NH * DH * sizeof(float));
    const float *Q = QKV + pos0 * ld, *K = QKV + DH, *V = QKV + 2 * DH;
    cr_assert_eq(CPU->attention(CPU, Q, ld, 3 * DH, K, ld, 3 * DH, V, ld, 3 * DH, M, Lk, NH, DH, pos0, 0.25f, O, NH * DH, DH), 0);
    float *d = dev(QKV, Lk * ld), *dO = dev(O, M * NH * DH);
    cr_assert_eq(GPU->attention(GPU, d + pos0 * ld, ld, 3 * DH, d + DH, ld, 3 * DH, d + 2 * DH, ld, 3 * DH, M, Lk, NH, DH, pos0,
                                0.25f, dO, NH * DH, DH), 0, "%s", hd_error());
    float *got = back(dO, M * NH * DH);
    close_enough("attention", got, O, M * NH * DH, 1e-5, 1e-4);
    free(got); free(QKV); free(O); GPU->free(GPU, d);
}

Test(cuda_evo2, modal_and_caches, .fini = teardown)
{
    NEED_GPU();
    size_t C = 20, S = 16, T = 300;
    float *R = rnd(C * S, -1, 1), *lp = rnd(C * S, -0.5f, -1e-3f), *x = rnd(C * T, -1, 1), *D = rnd(C, -1, 1);
    float *k = malloc(C * T * sizeof(float)), *y = malloc(C * T * sizeof(float));
    CPU->modal_filter(CPU, R, lp, S, 1, 0, C, T, k, T);
    float *dR = dev(R, C * S), *dlp = dev(lp, C * S), *dk = GPU->alloc(GPU, C * T * sizeof(float), "k");
    GPU->modal_filter(GPU, dR, dlp, S, 1, 0, C, T, dk, T);
    float *got = back(dk, C * T);
    close_enough("modal_filter", got, k, C * T, 1e-6, 1e-5);
    free(got);
    double *st = calloc(C * S, sizeof(double)), *st2 = calloc(C * S, sizeof(double));
    CPU->modal_scan(CPU, x, T, C, T, R, lp, S, 1, 0, NULL, st, NULL, 0);
    float *dx = dev(x, C * T);
    double *dst = dev_bytes(st2, C * S * sizeof(double));
    GPU->modal_scan(GPU, dx, T, C, T, dR, dlp, S, 1, 0, NULL, dst, NULL, 0);
    GPU->download(GPU, st2, dst, C * S * sizeof(double));
    for (size_t i = 0; i < C * S; i++) cr_assert(fabs(st[i] - st2[i]) <= 1e-9 * (1 + fabs(st[i])), "modal state %zu", i);
    /* one more step with outputs */
    float *dD = dev(D, C), *dy = GPU->alloc(GPU, C * sizeof(float), "y");
    CPU->modal_scan(CPU, x, T, C, 1, R, lp, S, 1, 0, D, st, y, 1);
    GPU->modal_scan(GPU, dx, T, C, 1, dR, dlp, S, 1, 0, dD, dst, dy, 1);
    got = back(dy, C);
    close_enough("modal_scan step", got, y, C, 1e-6, 1e-5);
    free(got);
    /* the FIR window shift and the strided copy */
    float *w = rnd(C * 9, -1, 1), *wg = copy(w, C * 9);
    CPU->shift_left(CPU, w, C, 7, 9);
    float *dw = dev(wg, C * 9);
    GPU->shift_left(GPU, dw, C, 7, 9);
    got = back(dw, C * 9);
    close_enough("shift_left", got, w, C * 9, 0, 0);
    free(got);
    float *dst2 = dev(w, C * 9), *dsrc = dev(x, C * T);
    CPU->copy_cm(CPU, x + 5, T, w + 1, 9, C, 4);
    GPU->copy_cm(GPU, dsrc + 5, T, dst2 + 1, 9, C, 4);
    got = back(dst2, C * 9);
    close_enough("copy_cm", got, w, C * 9, 0, 0);
    free(got);
    free(R); free(lp); free(x); free(D); free(k); free(y); free(st); free(st2); free(w); free(wg);
    GPU->free(GPU, dR); GPU->free(GPU, dlp); GPU->free(GPU, dx); GPU->free(GPU, dst); GPU->free(GPU, dD); GPU->free(GPU, dy);
    GPU->free(GPU, dsrc);
}

/* the evo2-tiny fixture through the GPU: forward entries and cached decoding at the fixture's bars */
Test(cuda_evo2, fixture_parity, .fini = teardown)
{
    NEED_GPU();
    cr_assert(hd_backend_supports(GPU, HD_FAM_EVO2));
    hd_model *m = hd_model_open(TESTDATA("evo2-tiny"));
    cr_assert_not_null(m, "%s", hd_error());
    m->keep_case = 1;
    hd_st *exp = hd_st_open(TESTDATA("evo2-tiny") "/expected.safetensors");
    hd_fasta *fa = hd_fasta_open(TESTDATA("evo2-tiny") "/input.fa");
    cr_assert(exp && fa);
    hd_seqrec rec;
    size_t H = 64, V = 512;
    int32_t *seq4 = NULL;
    while (hd_fasta_next(fa, &rec) > 0) {
        size_t L = rec.len;
        int32_t *ids = malloc(L * sizeof *ids);
        cr_assert_eq(hd_model_tokenize(m, rec.seq, L, 0, ids, rec.name), (long)L);
        float *hidden = malloc(L * H * sizeof(float)), *logits = malloc(L * V * sizeof(float));
        hd_fwd f = {.hidden = hidden, .logits = logits, .layer = -1};
        cr_assert_eq(hd_model_forward(m, GPU, ids, L, &f), 0, "%s", hd_error());
        char key[64];
        snprintf(key, sizeof key, "hidden.%s", rec.name);
        check(exp, key, hidden, key, L * H);
        snprintf(key, sizeof key, "logits.%s", rec.name);
        check(exp, key, logits, key, L * V);
        if (!strcmp(rec.name, "seq4")) seq4 = ids;
        else free(ids);
        free(hidden); free(logits);
    }
    cr_assert_not_null(seq4);
    hd_decoder *d = hd_decoder_new(m, GPU, 300);
    cr_assert_not_null(d, "%s", hd_error());
    float *last = malloc(V * sizeof(float)), *lg = malloc(100 * V * sizeof(float));
    cr_assert_eq(hd_decoder_prefill(d, seq4, 200, last), 0, "%s", hd_error());
    check(exp, "prefill", last, "decode.seq4.prefill_last_logits", V);
    for (size_t j = 0; j < 100; j++) cr_assert_eq(hd_decoder_step(d, seq4[200 + j], lg + j * V), 0, "%s", hd_error());
    check(exp, "decode", lg, "decode.seq4.logits", 100 * V);
    hd_decoder_free(d);
    free(last); free(lg); free(seq4);
    hd_fasta_close(fa);
    hd_st_close(exp);
    hd_model_close(m);
}

/* ---------------------------------------------------------------- selection (runs without a GPU too) */

Test(cuda_select, device_names)
{
    hd_clear_error();
    cr_assert_null(hd_backend_new("cuda:x", 0));
    cr_assert_eq(hd_error_kind(), HD_EINPUT);
    cr_assert(strstr(hd_error(), "cuda:x"), "%s", hd_error());
    cr_assert_null(hd_backend_new("gpu", 0));
    cr_assert_eq(hd_error_kind(), HD_EINPUT);
    cr_assert_null(hd_backend_new("cuda:99", 0));
    cr_assert_eq(hd_error_kind(), HD_EMODEL, "a device that does not exist is a resource error");
    cr_assert(strstr(hd_backends_compiled(), "cuda"));
    hd_backend *be = hd_backend_new("auto", 1);
    cr_assert_not_null(be, "auto never fails: %s", hd_error());
    cr_assert_str_eq(be->name, hd_cuda_device_count() > 0 ? "cuda" : "cpu");
    cr_assert(hd_backend_supports(be, HD_FAM_HYENA));
    hd_backend_free(be);
}

Test(cuda_select, explicit_cuda_without_device)
{
    if (hd_cuda_device_count() > 0) cr_skip_test("a CUDA device is visible: this case needs a machine without one");
    hd_clear_error();
    cr_assert_null(hd_backend_new("cuda", 0));
    cr_assert_eq(hd_error_kind(), HD_EMODEL);
    cr_assert(strstr(hd_error(), "no usable CUDA device"), "%s", hd_error());
    cr_assert_null(hd_backend_new("cuda:0", 0));
    cr_assert_eq(hd_error_kind(), HD_EMODEL);
}

Test(cuda_select, cpu_precision)
{
    hd_backend *be = hd_backend_cpu_new(1);
    cr_assert_eq(hd_backend_set_precision(be, "fp32"), 0);
    cr_assert_neq(hd_backend_set_precision(be, "tf32"), 0);
    cr_assert(strstr(hd_error(), "CUDA"), "%s", hd_error());
    cr_assert_neq(hd_backend_set_precision(be, "fp64"), 0);
    cr_assert_eq(hd_error_kind(), HD_EINPUT);
    cr_assert(hd_backend_supports(be, HD_FAM_CADUCEUS) && hd_backend_supports(be, HD_FAM_XLSTM));
    cr_assert_eq(hd_backend_for(be, HD_FAM_CADUCEUS), be);
    hd_backend_free(be);
}

/* Criterion's own main, except that a run without a GPU (every GPU test skipped) exits 77: automake
 * then reports SKIP instead of counting the skipped tests as a pass.  The device is probed only after
 * the tests ran (a CUDA context must not be created before Criterion starts the test processes). */
int main(int argc, char *argv[])
{
    struct criterion_test_set *tests = criterion_initialize();
    int result = 0, ran = 0;
    int h = criterion_handle_args(argc, argv, true);
    if (h > 0) {
        result = !criterion_run_all_tests(tests);
        ran = 1;
    } else if (h < 0) {
        result = 1;
    }
    criterion_finalize(tests);
    if (ran && result == 0 && hd_cuda_device_count() <= 0) {
        fprintf(stderr, "test_cuda: no CUDA device visible: the GPU tests were skipped (exit 77 = SKIP)\n");
        return 77;
    }
    return result;
}
