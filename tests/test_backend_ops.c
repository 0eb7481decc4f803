/* test_backend_ops.c -- every op of the CPU backend against the scalar reference of tests/backend_ops.h,
 * one test per row of the table (fresh random inputs, a tolerance per op); the same table on 1 and 4
 * threads, bit for bit; and every op a model family needs (hd_family_ops.needs, .decode_needs) has a row.  The GPU runs
 * the same table against the CPU in tests/test_cuda.c. */
#include "backend_ops.h"
#include "backends/cpu/cpu.h"
#include "model.h"

ParameterizedTestParameters(backend_ops, cpu_against_reference) { return op_all_rows(); }

ParameterizedTest(size_t *row, backend_ops, cpu_against_reference)
{
    const op_row *r = &OP_ROWS[*row];
    hd_backend *be = hd_backend_cpu_new(2);
    cr_assert_not_null(be);
    cr_assert(op_row_runs_on(r, be), "the CPU backend lacks an op of row %s", r->name);
    op_check_row(r, be, NULL, 0);
    hd_backend_free(be);
}

/* Bit-identical results for any thread count: each case on 1 thread, then on 4 (the large cases pass the
 * ops' thresholds for splitting work over threads).  The thread count is process-wide (OpenMP), so each
 * backend is made just before it runs. */
ParameterizedTestParameters(backend_ops, cpu_threads_bit_identical) { return op_all_rows(); }

ParameterizedTest(size_t *row, backend_ops, cpu_threads_bit_identical)
{
    const op_row *r = &OP_ROWS[*row];
    if (r->check) cr_skip_test("%s: no numerical output", r->name);
    for (int v = 0; v < r->variants; v++) {
        opcase c;
        op_case_make(r, v, &c);
        float *one[OPB] = {0}, *four[OPB] = {0};
        hd_backend *be = hd_backend_cpu_new(1);
        op_run_on(r, &c, be, one);
        hd_backend_free(be);
        be = hd_backend_cpu_new(4);
        op_run_on(r, &c, be, four);
        hd_backend_free(be);
        for (int i = 0; i < c.nb; i++)
            if (one[i]) {
                cr_expect_eq(memcmp(one[i], four[i], c.n[i] * sizeof(float)), 0, "%s (%s), buffer %d: 1 and 4 threads differ",
                             r->name, c.desc, i);
                free(one[i]);
                free(four[i]);
            }
        op_case_free(&c);
    }
}

/* The hand-vectorised ops (backends/cpu/mamba.c, xlstm.c) have kernels for AVX-512, AVX2 and portable C:
 * each instruction set this CPU has, forced through HYENADNA_CPU_ISA, against the scalar reference. */
Test(backend_ops, cpu_every_instruction_set)
{
    static const char *rows[] = {"conv_silu_rows", "selective_scan"};
    static const char *isas[] = {"generic", "avx2", "avx512"};
    for (size_t k = 0; k < sizeof isas / sizeof *isas; k++) {
        setenv("HYENADNA_CPU_ISA", isas[k], 1);
        hd_backend *be = hd_backend_cpu_new(2);
        for (size_t i = 0; i < N_OP_ROWS; i++)
            for (size_t j = 0; j < sizeof rows / sizeof *rows; j++)
                if (!strcmp(OP_ROWS[i].name, rows[j])) op_check_row(&OP_ROWS[i], be, NULL, 0);
        hd_backend_free(be);
    }
    unsetenv("HYENADNA_CPU_ISA");
}

/* fftconv's partitioned convolution (the CPU's path for transforms too large for cache, backends/cpu/cpu.c
 * part_conv), forced on with small blocks: against the direct sum in double, for lengths a whole number of
 * blocks, one over, short of the filter and with fewer taps than positions; 1 and 3 threads bit for bit; and a
 * wrong block sum (the products' index i ≤ j) would miss whole blocks of the output. */
static void part_case(size_t C, size_t L, size_t Lk, size_t block)
{
    size_t ld = L + 3;
    float *u = malloc(C * ld * sizeof *u), *k = malloc(C * Lk * sizeof *k), *db = malloc(C * sizeof *db);
    float *y1 = malloc(C * ld * sizeof *y1), *y3 = malloc(C * ld * sizeof *y3);
    uint64_t st = 12345 + L + Lk + block;
    for (size_t i = 0; i < C * ld; i++) u[i] = (float)(((st = st * 6364136223846793005ULL + 1442695040888963407ULL) >> 40) / 16777216.0) - 0.5f;
    for (size_t i = 0; i < C * Lk; i++) k[i] = (float)(((st = st * 6364136223846793005ULL + 1442695040888963407ULL) >> 40) / 16777216.0) - 0.5f;
    for (size_t c = 0; c < C; c++) db[c] = 0.25f * (float)c - 0.5f;
    float *out[2] = {y1, y3};
    int threads[2] = {1, 3};
    for (int r = 0; r < 2; r++) {
        memcpy(out[r], u, C * ld * sizeof *u);
        hd_backend *be = hd_backend_cpu_new(threads[r]);
        cr_assert_not_null(be);
        hd_cpu_fftconv_partition(be, 0, block);
        cr_assert_eq(be->fftconv(be, out[r], C, L, ld, NULL, k, Lk, Lk, db), 0, "%s", hd_error());
        hd_backend_free(be);
    }
    double num = 0, den = 0;
    for (size_t c = 0; c < C; c++)
        for (size_t t = 0; t < L; t++) {
            double s = (double)db[c] * u[c * ld + t];
            for (size_t j = 0; j <= t && j < Lk; j++) s += (double)k[c * Lk + j] * u[c * ld + t - j];
            num += (y1[c * ld + t] - s) * (y1[c * ld + t] - s);
            den += s * s;
        }
    cr_expect_lt(sqrt(num / den), 1e-6, "partitioned fftconv C=%zu L=%zu Lk=%zu block %zu: rel_F %.3g", C, L, Lk, block,
                 sqrt(num / den));
    cr_expect_eq(memcmp(y1, y3, C * ld * sizeof *y1), 0, "partitioned fftconv L=%zu: 1 and 3 threads differ", L);
    for (size_t c = 0; c < C; c++)   /* the row stride's spare columns untouched */
        for (size_t t = L; t < ld; t++) cr_expect_eq(y1[c * ld + t], u[c * ld + t]);
    free(u), free(k), free(db), free(y1), free(y3);
}

Test(backend_ops, cpu_fftconv_partitioned)
{
    part_case(5, 1024, 1024, 64);   /* 16 blocks */
    part_case(3, 1000, 2000, 64);   /* a partial last block; more taps than positions */
    part_case(4, 257, 257, 128);    /* 3 blocks, the last of one position */
    part_case(2, 700, 150, 100);    /* fewer taps than one block's worth of blocks; M = 200 */
    part_case(3, 90, 90, 100);      /* one block: the plain path */
}

/* ... and at the default threshold and block (150,000 positions: 5 blocks of 2^15) against one transform */
Test(backend_ops, cpu_fftconv_partitioned_default)
{
    size_t C = 2, L = 150000;
    float *u = malloc(C * L * sizeof *u), *k = malloc(C * L * sizeof *k), *y = malloc(C * L * sizeof *y);
    uint64_t st = 99;
    for (size_t i = 0; i < C * L; i++) {
        u[i] = (float)(((st = st * 6364136223846793005ULL + 1442695040888963407ULL) >> 40) / 16777216.0) - 0.5f;
        k[i] = ((float)(((st = st * 6364136223846793005ULL + 1442695040888963407ULL) >> 40) / 16777216.0) - 0.5f) /
               (1.0f + (float)(i % L));
    }
    memcpy(y, u, C * L * sizeof *u);
    setenv("HYENADNA_FFT_PLANNER", "estimate", 1);   /* measured plans would take seconds on an empty wisdom cache */
    hd_backend *be = hd_backend_cpu_new(2);
    cr_assert_eq(be->fftconv(be, y, C, L, L, NULL, k, L, L, NULL), 0, "%s", hd_error());
    hd_cpu_fftconv_partition(be, SIZE_MAX, 0);   /* one transform of 300,000 points */
    cr_assert_eq(be->fftconv(be, u, C, L, L, NULL, k, L, L, NULL), 0, "%s", hd_error());
    hd_backend_free(be);
    unsetenv("HYENADNA_FFT_PLANNER");
    double num = 0, den = 0;
    for (size_t i = 0; i < C * L; i++) num += (double)(y[i] - u[i]) * (y[i] - u[i]), den += (double)u[i] * u[i];
    cr_expect_lt(sqrt(num / den), 1e-6, "partitioned against one transform: rel_F %.3g", sqrt(num / den));
    cr_expect_gt(num, 0.0, "the default path was not the partitioned one (bit-identical to one transform)");
    free(u), free(k), free(y);
}

/* the harness itself: a backend compared with a copy of itself agrees bit for bit, through the same
 * alloc/upload/download path the GPU comparison takes */
Test(backend_ops, harness_backend_against_backend)
{
    hd_backend *a = hd_backend_cpu_new(2), *b = hd_backend_cpu_new(2);
    int cases = 0;
    for (size_t i = 0; i < N_OP_ROWS; i++) cases += op_check_row(&OP_ROWS[i], a, b, 1);
    cr_assert_gt(cases, 100);
    hd_backend_free(a);
    hd_backend_free(b);
}

/* a wrong op is caught: the reference comparison of a backend whose add is a subtraction fails */
static void bad_add(hd_backend *be, float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] -= x[i];
}
Test(backend_ops, a_wrong_op_fails)
{
    hd_backend *be = hd_backend_cpu_new(1);
    be->add = bad_add;
    const op_row *r = NULL;
    for (size_t i = 0; i < N_OP_ROWS; i++)
        if (!strcmp(OP_ROWS[i].name, "add")) r = &OP_ROWS[i];
    cr_assert_not_null(r);
    opcase c;
    op_case_make(r, 0, &c);
    double *want = malloc(c.n[0] * sizeof *want);
    for (size_t k = 0; k < c.n[0]; k++) want[k] = c.h[0][k];
    double *w[OPB] = {want};
    r->ref(&c, w);
    float *got[OPB] = {0};
    op_run_on(r, &c, be, got);
    double mx;
    float *wf = malloc(c.n[0] * sizeof *wf);
    for (size_t k = 0; k < c.n[0]; k++) wf[k] = (float)want[k];
    cr_assert_gt(rel_frob(got[0], wf, c.n[0], &mx), r->rel, "the comparison would not see a wrong add");
    free(got[0]); free(wf); free(want);
    op_case_free(&c);
    hd_backend_free(be);
}

/* every op a family calls has a row, and the CPU has every op of every row */
Test(backend_ops, every_family_op_has_a_row)
{
    int nfam = 0;
    for (int f = HD_FAM_UNKNOWN + 1; hd_family_ops_of((hd_family)f); f++, nfam++) {
        const hd_family_ops *fo = hd_family_ops_of((hd_family)f);
        cr_assert_not_null(fo->needs, "family %s has no table of the ops it needs", fo->name);
        for (int t = 0; t < 2; t++)   /* the forward's ops, then the decoder's own */
            for (const hd_op *op = t ? fo->decode_needs : fo->needs; op && op->name; op++) {
                int found = 0;
                for (size_t i = 0; i < N_OP_ROWS && !found; i++)
                    for (int k = 0; k < 4 && OP_ROWS[i].ops[k].name; k++)
                        if (OP_ROWS[i].ops[k].offset == op->offset) found = 1;
                cr_expect(found, "op %s of family %s has no row in tests/backend_ops.h", op->name, fo->name);
            }
    }
    cr_assert_geq(nfam, 3);
    hd_backend *be = hd_backend_cpu_new(1);
    for (size_t i = 0; i < N_OP_ROWS; i++) cr_expect(op_row_runs_on(&OP_ROWS[i], be), "the CPU lacks row %s", OP_ROWS[i].name);
    hd_backend_free(be);
}

/* --precision bf16 on the CPU (AVX512_BF16 only; skipped elsewhere): every projection row, and attention (its score
 * and value products), against the scalar reference at rel_F 1e-2, max_abs 0.2 (measured: up to 3.6e-3 and 0.061,
 * from rounding inputs and weights to 8 significant bits), different from fp32 (the bf16 kernel ran), and
 * bit-identical on 1 and 4 threads */
static const char *const BF16_ROWS[] = {"linear", "linear_cm_out", "linear_cm_in", "hyena_in", "hyena_out", "mlp_residual",
                                        "linear_ex", "attention"};

ParameterizedTestParameters(backend_ops, cpu_bf16)
{
    static size_t rows[sizeof BF16_ROWS / sizeof *BF16_ROWS];
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) rows[i] = i;
    return cr_make_param_array(size_t, rows, sizeof rows / sizeof *rows);
}

ParameterizedTest(size_t *k, backend_ops, cpu_bf16)
{
    const op_row *r = NULL;
    for (size_t i = 0; i < N_OP_ROWS; i++)
        if (!strcmp(OP_ROWS[i].name, BF16_ROWS[*k])) r = &OP_ROWS[i];
    cr_assert_not_null(r, "no row %s", BF16_ROWS[*k]);
    hd_backend *probe = hd_backend_cpu_new(1);
    int has = !!(probe->precisions & HD_PREC_BF16);
    hd_backend_free(probe);
    if (!has) cr_skip_test("this processor lacks AVX512_BF16: the CPU backend refuses bf16");
    int differs = 0;
    for (int v = 0; v < r->variants; v++) {
        opcase c;
        op_case_make(r, v, &c);
        double *want[OPB] = {0};
        for (int i = 0; i < c.nb; i++)
            if (c.role[i] == 'o' || c.role[i] == 'x') {
                want[i] = malloc((c.n[i] ? c.n[i] : 1) * sizeof(double));
                for (size_t j = 0; j < c.n[i]; j++) want[i][j] = c.h[i][j];
            }
        r->ref(&c, want);
        float *fp32[OPB] = {0}, *one[OPB] = {0}, *four[OPB] = {0};
        hd_backend *be = hd_backend_cpu_new(1);
        op_run_on(r, &c, be, fp32);
        cr_assert_eq(hd_backend_set_precision(be, "bf16"), 0, "%s", hd_error());
        op_run_on(r, &c, be, one);
        hd_backend_free(be);
        be = hd_backend_cpu_new(4);
        cr_assert_eq(hd_backend_set_precision(be, "bf16"), 0, "%s", hd_error());
        op_run_on(r, &c, be, four);
        hd_backend_free(be);
        for (int i = 0; i < c.nb; i++)
            if (one[i]) {
                op_compare(r, &c, i, one[i], want[i], c.n[i], 1e-2, 0.2, "the scalar reference in bf16");
                cr_expect_eq(memcmp(one[i], four[i], c.n[i] * sizeof(float)), 0, "%s (%s), buffer %d: bf16 on 1 and 4 threads differ",
                             r->name, c.desc, i);
                differs |= memcmp(one[i], fp32[i], c.n[i] * sizeof(float)) != 0;
                free(one[i]), free(four[i]), free(fp32[i]), free(want[i]);
            }
        op_case_free(&c);
    }
    cr_expect(differs, "%s: bf16 gave the fp32 results (the bf16 kernel did not run)", r->name);
}
