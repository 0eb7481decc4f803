/* test_cuda.c -- the CUDA backend against the CPU backend (built only when the CUDA backend is).
 *
 * Every op of the table in tests/backend_ops.h runs on the GPU next to the CPU on the same fresh random
 * inputs, compared with a tolerance per op (relative Frobenius error and max abs error; the projections in
 * each precision), as llama.cpp's test-backend-ops does; then the FFT batching, the allocator, and the
 * hyenadna-tiny and evo2-tiny fixtures (forward and cached decoding) through the GPU backend at the fixtures'
 * bars.  Without a visible GPU the GPU tests are skipped (cr_skip_test, with the reason) and this program
 * exits 77, which automake reports as SKIP; the backend-selection tests run either way. */
#include "backend_ops.h"
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

/* ---------------------------------------------------------------- every op against the CPU */

ParameterizedTestParameters(cuda_ops, against_cpu) { return op_all_rows(); }

ParameterizedTest(size_t *row, cuda_ops, against_cpu, .fini = teardown)
{
    NEED_GPU();
    const op_row *r = &OP_ROWS[*row];
    if (!op_row_runs_on(r, GPU))
        cr_skip_test("%s: not implemented by the CUDA backend (the families that need it run on the CPU)", r->name);
    op_check_row(r, GPU, CPU, 0);
}

/* runs without a GPU: the backend opens cuBLAS and cuFFT with dlopen, so their names and symbols must
 * resolve on any machine with the toolkit (CI compiles and links the CUDA code) */
Test(cuda_libs, cublas_and_cufft_load)
{
    cr_assert_eq(hd_cuda_libs_load(), 0, "%s", hd_error());
}

Test(cuda_ops, precision_names, .fini = teardown)
{
    NEED_GPU();
    cr_assert_eq(hd_backend_set_precision(GPU, "tf32"), 0);
    cr_assert_eq(hd_backend_set_precision(GPU, "fp32"), 0);
    cr_assert_neq(hd_backend_set_precision(GPU, "fp16"), 0);
    cr_assert(strstr(hd_error(), "fp16"), "%s", hd_error());
}

/* ---------------------------------------------------------------- FFT batches and long transforms */

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
    cr_assert(hd_backend_supports(GPU, hd_hyena_ops.needs));
    cr_assert(!hd_backend_supports(GPU, hd_caduceus_ops.needs));
    cr_assert(hd_backend_supports(GPU, hd_evo2_ops.needs));
    hd_clear_error();
    cr_assert_null(hd_backend_for(GPU, hd_caduceus_ops.needs, "caduceus"), "explicit --device cuda does not fall back");
    cr_assert(strstr(hd_error(), "--device cpu"), "%s", hd_error());
    hd_backend *be = hd_backend_new("auto", 0);
    cr_assert_not_null(be);
    hd_backend *fb = hd_backend_for(be, hd_xlstm_ops.needs, "xlstm");
    cr_assert_not_null(fb);
    cr_assert_str_eq(fb->name, "cpu");
    cr_assert_eq(hd_backend_for(be, hd_hyena_ops.needs, "hyenadna"), be);
    hd_backend_free(be);
}

/* ---------------------------------------------------------------- the evo2-tiny fixture */

/* the evo2-tiny fixture through the GPU: forward entries and cached decoding at the fixture's bars */
Test(cuda_evo2, fixture_parity, .fini = teardown)
{
    NEED_GPU();
    cr_assert(hd_backend_supports(GPU, hd_evo2_ops.needs));
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
    cr_assert(hd_backend_supports(be, hd_hyena_ops.needs));
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

/* A device the kernels were not built for (pretended with HYENADNA_CUDA_ARCHS naming another
 * architecture): refused when the backend opens it; auto takes the CPU with a note. */
Test(cuda_select, unbuilt_architecture_refused)
{
    if (hd_cuda_device_count() <= 0) cr_skip_test("no CUDA device visible");
    setenv("HYENADNA_CUDA_ARCHS", "sm_50", 1);
    hd_clear_error();
    hd_backend *be = hd_backend_new("cuda", 0);
    cr_assert_null(be, "a GPU outside the built architectures is refused");
    cr_assert_eq(hd_error_kind(), HD_EMODEL);
    cr_assert(strstr(hd_error(), "compute capability") && strstr(hd_error(), "sm_50"), "%s", hd_error());
    be = hd_backend_new("auto", 0);
    cr_assert_not_null(be, "%s", hd_error());
    cr_assert(be->host_memory, "auto falls back to the CPU");
    cr_assert(strstr(be->note, "compute capability"), "the note says why: '%s'", be->note);
    hd_backend_free(be);
    unsetenv("HYENADNA_CUDA_ARCHS");
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
