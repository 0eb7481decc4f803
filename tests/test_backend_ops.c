/* test_backend_ops.c -- every op of the CPU backend against the scalar reference of tests/backend_ops.h,
 * one test per row of the table (fresh random inputs, a tolerance per op); the same table on 1 and 4
 * threads, bit for bit; and every op a model family needs (hd_family_ops.needs, .decode_needs) has a row.  The GPU runs
 * the same table against the CPU in tests/test_cuda.c. */
#include "backend_ops.h"
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

/* --precision bf16 on the CPU (AVX512_BF16 only; skipped elsewhere): every projection row against the scalar
 * reference at rel_F 1e-2, max_abs 0.2 (measured: up to 3.6e-3 and 0.061, from rounding inputs and weights to
 * 8 significant bits), different from fp32 (the bf16 kernel ran), and bit-identical on 1 and 4 threads */
static const char *const BF16_ROWS[] = {"linear", "linear_cm_out", "linear_cm_in", "hyena_in", "hyena_out", "mlp_residual",
                                        "linear_ex"};

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
