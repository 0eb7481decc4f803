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
