/* test_cuda.c -- the CUDA backend against the CPU backend (built only when the CUDA backend is).
 *
 * Every op of the table in tests/backend_ops.h runs on the GPU next to the CPU on the same fresh random
 * inputs, compared with a tolerance per op (relative Frobenius error and max abs error; the projections in
 * each precision), as llama.cpp's test-backend-ops does; then the FFT batching, the allocator, and the
 * hyenadna-tiny and evo2-tiny fixtures (forward and cached decoding) through the GPU backend at the fixtures'
 * bars; then the argument patterns of the model options (grouped-query attention's head stride 0, BF16 weights
 * over several conversion panels) and their fixtures (hyenadna-order3, hyenadna-variant, evo2-gqa, evo2-variant)
 * on the GPU.  Without a visible GPU the GPU tests are skipped (cr_skip_test, with the reason) and this program
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

/* ---------------------------------------------------------------- argument patterns of the model options */

/* Evo 2's grouped-query attention as src/evo2.c (attend) calls it: one call per key/value head over its G query
 * heads, the key and value head strides 0 (every query head of the group reads the same key/value head;
 * docs/models.md §6.6).  Head sizes that are not a multiple of the kernel's 32 lanes, the largest it takes (256), a
 * decoding step (M = 1 at position 299) and queries after cached keys (pos0 > 0, as the forward's later chunks);
 * the whole output buffer is compared, the padding between strided rows included. */
static void gqa_case(size_t NKV, size_t G, size_t DH, size_t M, size_t pos0)
{
    size_t NH = NKV * G, Lk = pos0 + M, ldq = NH * DH + 3, ldkv = NKV * DH + 5, ldo = NH * DH + 2;
    float *q = rnd(M * ldq, -2, 2), *k = rnd(Lk * ldkv, -2, 2), *v = rnd(Lk * ldkv, -2, 2), *o = rnd(M * ldo, -1, 1);
    float *dq = dev(q, M * ldq), *dk = dev(k, Lk * ldkv), *dv = dev(v, Lk * ldkv), *dO = dev(o, M * ldo);
    float scale = (float)(1.0 / sqrt((double)DH));
    for (size_t g = 0; g < NKV; g++) {
        cr_assert_eq(CPU->attention(CPU, q + g * G * DH, ldq, DH, k + g * DH, ldkv, 0, v + g * DH, ldkv, 0, M, Lk, G, DH,
                                    pos0, scale, o + g * G * DH, ldo, DH), 0, "%s", hd_error());
        cr_assert_eq(GPU->attention(GPU, dq + g * G * DH, ldq, DH, dk + g * DH, ldkv, 0, dv + g * DH, ldkv, 0, M, Lk, G, DH,
                                    pos0, scale, dO + g * G * DH, ldo, DH), 0, "%s", hd_error());
    }
    cr_assert_eq(hd_backend_check(GPU), 0, "%s", hd_error());
    float *got = back(dO, M * ldo);
    char what[128];
    snprintf(what, sizeof what, "grouped-query attention NKV=%zu G=%zu DH=%zu M=%zu pos0=%zu", NKV, G, DH, M, pos0);
    close_enough(what, got, o, M * ldo, 1e-5, 1e-4);
    GPU->free(GPU, dq); GPU->free(GPU, dk); GPU->free(GPU, dv);
    free(got); free(q); free(k); free(v); free(o);
}

Test(cuda_ops, attention_grouped_query, .fini = teardown)
{
    NEED_GPU();
    gqa_case(2, 2, 8, 150, 37);    /* evo2-gqa's heads, queries after 37 cached keys */
    gqa_case(2, 4, 40, 70, 0);     /* DH 40: the second lane group of 32 partly idle */
    gqa_case(3, 2, 12, 1, 299);    /* one decoding step */
    gqa_case(1, 4, 256, 33, 64);   /* one key/value head for every query head; the largest head size */
    gqa_case(4, 1, 20, 65, 3);     /* groups of one query head */
    /* a head size beyond the kernel's: an error naming it, not a wrong result */
    size_t DH = 264, n = 2 * DH;
    float *h = rnd(n, -1, 1), *d = dev(h, n);
    hd_clear_error();
    cr_assert_eq(GPU->attention(GPU, d, DH, DH, d, DH, 0, d, DH, 0, 1, 1, 1, DH, 0, 1.0f, d + DH, DH, DH), -1);
    cr_assert(strstr(hd_error(), "264"), "%s", hd_error());
    GPU->free(GPU, d);
    free(h);
}

/* linear_ex with BF16 weights over more rows than the GPU converts to float32 per GEMM (4,096): the second panel
 * starts at row 4,096 of W, column 4,096 of a row-major Y, row 4,096 of a channel-major one (Evo 2's unembedding,
 * 512 rows in the released models, and the MLP's l1/l2, 11,264 rows in 7B), in the four layouts, with and without
 * accumulation and bias */
Test(cuda_ops, linear_ex_bf16_panels, .fini = teardown)
{
    NEED_GPU();
    size_t K = 24, N = 4096 + 37;
    uint16_t *w = malloc(N * K * sizeof *w);
    for (size_t i = 0; i < N * K; i++) w[i] = op_bf16(frand(-1, 1));
    const uint16_t *dw = GPU->weights_bf16(GPU, w, N * K);
    cr_assert_not_null(dw, "%s", hd_error());
    float *b = rnd(N, -1, 1), *db = dev(b, N);
    size_t Ms[] = {1, 5};
    for (size_t mi = 0; mi < 2; mi++)
        for (int flags = 0; flags < 8; flags++) {
            size_t M = Ms[mi];
            int xcm = flags & HD_LIN_X_CM, ycm = flags & HD_LIN_Y_CM, bias = (flags + (int)mi) % 2;
            size_t ldx = xcm ? M + 3 : K + 3, ldy = ycm ? M + 2 : N + 4;
            size_t nx = xcm ? K * ldx : M * ldx, ny = ycm ? N * ldy : M * ldy;
            float *x = rnd(nx, -1, 1), *y = rnd(ny, -1, 1), *dx = dev(x, nx), *dy = dev(y, ny);
            CPU->linear_ex(CPU, x, M, K, ldx, w, 1, bias ? b : NULL, N, y, ldy, flags);
            GPU->linear_ex(GPU, dx, M, K, ldx, dw, 1, bias ? db : NULL, N, dy, ldy, flags);
            cr_assert_eq(hd_backend_check(GPU), 0, "%s", hd_error());
            float *got = back(dy, ny);
            char what[96];
            snprintf(what, sizeof what, "linear_ex bf16 M=%zu K=%zu N=%zu flags=%d bias=%d", M, K, N, flags, bias);
            close_enough(what, got, y, ny, 1e-5, 5e-4);
            GPU->free(GPU, dx);
            free(got); free(x); free(y);
        }
    GPU->free(GPU, db);
    free(b); free(w);
}

/* the spectra cache never holds anything: every long convolution transforms its filter on the fly */
static size_t no_spectra_cache(hd_backend *be, size_t C, size_t N)
{
    (void)be, (void)C, (void)N;
    return HD_SPECTRA_CACHE_BUDGET;
}

/* A HyenaDNA option fixture (hidden and logits of every record, the character tokenizer) through be */
static void hyena_fixture_on(hd_backend *be, const char *dir)
{
    char path[512];
    hd_model *m = hd_model_open(dir);
    cr_assert_not_null(m, "%s", hd_error());
    snprintf(path, sizeof path, "%s/expected.safetensors", dir);
    hd_st *exp = hd_st_open(path);
    snprintf(path, sizeof path, "%s/input.fa", dir);
    hd_fasta *fa = hd_fasta_open(path);
    cr_assert(exp && fa, "%s: %s", dir, hd_error());
    size_t D = (size_t)m->d_hidden, V = (size_t)m->n_logits;
    hd_seqrec rec;
    int nrec = 0;
    while (hd_fasta_next(fa, &rec) > 0) {
        size_t L = rec.len;
        int32_t *ids = checked_tokens(exp, &rec);
        float *hidden = malloc(L * D * sizeof(float)), *logits = malloc(L * V * sizeof(float));
        hd_fwd f = {.hidden = hidden, .logits = logits, .layer = -1};
        cr_assert_eq(hd_model_forward(m, be, ids, L, &f), 0, "%s: %s", dir, hd_error());
        char key[256];
        snprintf(key, sizeof key, "hidden.%s", rec.name);
        check(exp, key, hidden, key, L * D);
        snprintf(key, sizeof key, "logits.%s", rec.name);
        check(exp, key, logits, key, L * V);
        free(hidden); free(logits); free(ids);
        nrec++;
    }
    cr_assert_gt(nrec, 0);
    hd_fasta_close(fa);
    hd_st_close(exp);
    hd_model_close(m);
}

/* The HyenaDNA option fixtures on the GPU at their bars: hyena_order 3 (docs/models.md §3.4.4: in_proj to 4·D
 * channels, the short filter over 3·D gate channels at once, two long filters from one filter MLP, two long
 * convolutions with a gating step between them) and hyenadna-variant (filter_order 16, d_model 24, one inner
 * filter layer); then on a GPU backend without a spectra cache and with chunks of 16 positions (filters made on
 * the fly for every convolution; the short filter's two-position halo across chunks) */
Test(cuda_hyena, option_fixtures, .fini = teardown)
{
    NEED_GPU();
    const char *dirs[] = {TESTDATA("hyenadna-order3"), TESTDATA("hyenadna-variant")};
    for (int i = 0; i < 2; i++) hyena_fixture_on(GPU, dirs[i]);
    hd_backend *plain = hd_backend_new("cuda", 0);
    cr_assert_not_null(plain, "%s", hd_error());
    plain->spectra_bytes = no_spectra_cache;
    plain->chunk = 16;
    for (int i = 0; i < 2; i++) hyena_fixture_on(plain, dirs[i]);
    hd_backend_free(plain);
}

/* An Evo 2 option fixture through the GPU (chunk: positions per chunk, 0 for the backend's): hidden and logits of
 * every record (the logits stored may be the last rows), then the cached decode from the stored prefix */
static void evo2_fixture_on(const char *dir, size_t chunk)
{
    char path[512], cfg[512];
    snprintf(path, sizeof path, "%s/model.pt", dir);
    snprintf(cfg, sizeof cfg, "%s/config.yml", dir);
    hd_model *m = hd_model_open_with(path, cfg);
    cr_assert_not_null(m, "%s", hd_error());
    m->keep_case = 1;
    snprintf(path, sizeof path, "%s/expected.safetensors", dir);
    hd_st *exp = hd_st_open(path);
    snprintf(path, sizeof path, "%s/input.fa", dir);
    hd_fasta *fa = hd_fasta_open(path);
    cr_assert(exp && fa, "%s: %s", dir, hd_error());
    size_t H = (size_t)m->d_hidden, V = (size_t)m->n_logits, saved = GPU->chunk, n;
    if (chunk) GPU->chunk = chunk;
    hd_seqrec rec;
    int nrec = 0, ndec = 0;
    char key[256];
    while (hd_fasta_next(fa, &rec) > 0) {
        size_t L = rec.len;
        int32_t *ids = malloc(L * sizeof *ids);
        cr_assert_eq(hd_model_tokenize(m, rec.seq, L, 0, ids, rec.name), (long)L, "%s", hd_error());
        float *hidden = malloc(L * H * sizeof(float)), *logits = malloc(L * V * sizeof(float));
        hd_fwd f = {.hidden = hidden, .logits = logits, .layer = -1};
        cr_assert_eq(hd_model_forward(m, GPU, ids, L, &f), 0, "%s: %s", dir, hd_error());
        snprintf(key, sizeof key, "hidden.%s", rec.name);
        check(exp, key, hidden, key, L * H);
        snprintf(key, sizeof key, "logits.%s", rec.name);
        const hd_tensor_info *t = hd_st_find(exp, key);
        cr_assert(t && t->ndim == 2 && (size_t)t->shape[1] == V && (size_t)t->shape[0] <= L, "%s", key);
        size_t rows = (size_t)t->shape[0];   /* the last rows of the record */
        check(exp, key, logits + (L - rows) * V, key, rows * V);
        snprintf(key, sizeof key, "decode.%s.prefix", rec.name);
        if (!chunk && hd_st_find(exp, key)) {
            float *pf = st_f32(exp, key, &n);
            size_t P = (size_t)pf[0], steps = L - P;
            free(pf);
            hd_decoder *d = hd_decoder_new(m, GPU, L);
            cr_assert_not_null(d, "%s", hd_error());
            cr_assert_eq(d->be, GPU, "Evo 2 decodes on the GPU");
            float *dl = malloc((steps + 1) * V * sizeof(float));
            cr_assert_eq(hd_decoder_prefill(d, ids, P, dl), 0, "%s", hd_error());
            snprintf(key, sizeof key, "decode.%s.prefill_last_logits", rec.name);
            check(exp, key, dl, key, V);
            for (size_t j = 0; j < steps; j++) cr_assert_eq(hd_decoder_step(d, ids[P + j], dl + j * V), 0, "%s", hd_error());
            snprintf(key, sizeof key, "decode.%s.logits", rec.name);
            check(exp, key, dl, key, steps * V);
            hd_decoder_free(d);
            free(dl);
            ndec++;
        }
        free(hidden); free(logits); free(ids);
        nrec++;
    }
    GPU->chunk = saved;
    cr_assert_gt(nrec, 0);
    cr_assert(chunk || ndec > 0, "%s: a decoding record", dir);
    hd_fasta_close(fa);
    hd_st_close(exp);
    hd_model_close(m);
}

/* The Evo 2 option fixtures on the GPU at their bars: evo2-gqa (grouped-query attention: attention calls with key
 * and value head stride 0, a KV cache of 2 of 4 heads) and evo2-variant (column_split_hyena's interleaved rows:
 * the short filters read every third row; num_filters 12 of H 24; head size 12); the forward again in chunks of 50
 * positions (queries of later chunks against the keys so far, pos0 > 0), and the cached decode on the GPU */
Test(cuda_evo2, option_fixtures, .fini = teardown)
{
    NEED_GPU();
    const char *dirs[] = {TESTDATA("evo2-gqa"), TESTDATA("evo2-variant")};
    for (int i = 0; i < 2; i++) {
        evo2_fixture_on(dirs[i], 0);
        evo2_fixture_on(dirs[i], 50);
    }
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
