/* test_backend.c -- choosing a backend and asking it what it can do: the capabilities of the CPU backend,
 * precisions, the family op tables (hd_backend_supports/hd_backend_for, with a backend that lacks an op)
 * and the CUDA architecture rule.  The ops themselves: tests/test_backend_ops.c. */
#include "testutil.h"
#include "backend.h"
#include "model.h"

/* the processor's own word, independent of the backend's check */
static int hd_cpu_has_flag(const char *flag)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[8192];
    int has = 0;
    while (f && !has && fgets(line, sizeof line, f))
        if (!strncmp(line, "flags", 5) && strstr(line, flag)) has = 1;
    if (f) fclose(f);
    return has;
}
static int hd_cpu_has_avx512_bf16(void) { return hd_cpu_has_flag(" avx512_bf16"); }

Test(backend, cpu_capabilities)
{
    hd_backend *be = hd_backend_cpu_new(2);
    cr_assert_not_null(be);
    cr_assert_eq(be->host_memory, 1);
    cr_assert_eq(be->chunk, 2048);
    cr_assert_eq(be->precisions, HD_PREC_FP32 | (hd_cpu_has_avx512_bf16() ? HD_PREC_BF16 : 0));
    cr_assert_str_eq(hd_backend_device(be), "cpu (2 threads)");
    cr_assert_eq(be->note[0], 0);
    cr_assert_null(be->sync, "the CPU ops are synchronous");
    cr_assert_eq(hd_backend_check(be), 0);
    cr_assert_not_null(be->spawn);
    hd_backend *w = be->spawn(be, 1);
    cr_assert_not_null(w);
    cr_assert_str_eq(hd_backend_device(w), "cpu (1 thread)");
    hd_backend_free(w);
    hd_backend_free(be);
}

Test(backend, precisions)
{
    cr_assert_eq(hd_precision_parse("fp32"), HD_PREC_FP32);
    cr_assert_eq(hd_precision_parse("tf32"), HD_PREC_TF32);
    cr_assert_eq(hd_precision_parse("bf16"), HD_PREC_BF16);
    cr_assert_eq(hd_precision_parse("fp16"), 0);
    hd_backend *be = hd_backend_cpu_new(1);
    cr_assert_eq(hd_backend_set_precision(be, "fp32"), 0);
    hd_clear_error();
    cr_assert_neq(hd_backend_set_precision(be, "tf32"), 0);
    cr_assert_eq(hd_error_kind(), HD_EINPUT);
    cr_assert(strstr(hd_error(), "CUDA"), "%s", hd_error());
    cr_assert_neq(hd_backend_set_precision(be, "fp64"), 0);
    cr_assert_eq(hd_error_kind(), HD_EINPUT);
    cr_assert(strstr(hd_error(), "fp64"), "%s", hd_error());
    /* bf16: on a processor with AVX512_BF16, and kept by the workers spawned from the backend; refused elsewhere */
    hd_clear_error();
    if (hd_cpu_has_avx512_bf16()) {
        /* AMX where the processor has it (the kernel then shows amx_bf16), VDPBF16PS elsewhere */
        const char *off = getenv("HYENADNA_CPU_AMX");
        const char *dev = hd_cpu_has_flag(" amx_bf16") && !(off && !strcmp(off, "0")) ? "cpu (1 thread, bf16 projections, AMX)"
                                                                                       : "cpu (1 thread, bf16 projections)";
        cr_assert_eq(hd_backend_set_precision(be, "bf16"), 0, "%s", hd_error());
        cr_assert_str_eq(hd_backend_device(be), dev);
        hd_backend *w = be->spawn(be, 1);
        cr_assert_str_eq(hd_backend_device(w), dev);
        hd_backend_free(w);
        cr_assert_eq(hd_backend_set_precision(be, "fp32"), 0);
        cr_assert_str_eq(hd_backend_device(be), "cpu (1 thread)");
    } else {
        cr_assert_neq(hd_backend_set_precision(be, "bf16"), 0);
        cr_assert(strstr(hd_error(), "AVX512_BF16"), "%s", hd_error());
    }
    hd_backend_free(be);
}

Test(backend, auto_without_a_gpu_is_the_cpu)
{
    if (hd_cuda_device_count() > 0) cr_skip_test("a CUDA device is visible (tests/test_cuda.c covers auto there)");
    hd_backend *be = hd_backend_new("auto", 1);
    cr_assert_not_null(be, "%s", hd_error());
    cr_assert(be->host_memory);
    cr_assert_eq(be->note[0], 0, "no GPU, nothing to note: %s", be->note);
    hd_backend_free(be);
}

/* The family tables decide where a model runs: a backend without the Mamba scan cannot run Caduceus;
 * explicit, that is an error; chosen by "auto", the CPU takes over, with the same results. */
Test(backend, family_tables_route_the_models)
{
    for (int f = HD_FAM_UNKNOWN + 1; hd_family_ops_of((hd_family)f); f++) {
        hd_backend *cpu = hd_backend_cpu_new(1);
        cr_assert(hd_backend_supports(cpu, hd_family_ops_of((hd_family)f)->needs), "the CPU runs %s",
                  hd_family_name((hd_family)f));
        hd_backend_free(cpu);
    }
    hd_backend *be = hd_backend_cpu_new(2);
    be->selective_scan = NULL;
    cr_assert(hd_backend_supports(be, hd_hyena_ops.needs));
    cr_assert(hd_backend_supports(be, hd_xlstm_ops.needs));
    cr_assert(!hd_backend_supports(be, hd_caduceus_ops.needs));
    cr_assert_str_eq(hd_backend_missing(be, hd_caduceus_ops.needs), "selective_scan");
    cr_assert_null(hd_backend_missing(be, NULL), "the memory ops alone");
    be->download = NULL;
    cr_assert_str_eq(hd_backend_missing(be, hd_hyena_ops.needs), "download", "every family needs the memory ops");
    hd_backend_free(be);

    hd_model *m = hd_model_open(TESTDATA("caduceus-ph"));
    cr_assert_not_null(m, "%s", hd_error());
    int32_t ids[40];
    for (int i = 0; i < 40; i++) ids[i] = 7 + (i * 7) % 4;
    size_t W = (size_t)m->d_hidden;
    float *want = malloc(40 * W * sizeof(float)), *got = malloc(40 * W * sizeof(float));
    hd_backend *cpu = hd_backend_cpu_new(2);
    hd_fwd f = {.hidden = want, .layer = -1};
    cr_assert_eq(hd_model_forward(m, cpu, ids, 40, &f), 0, "%s", hd_error());
    hd_backend_free(cpu);

    be = hd_backend_cpu_new(2);
    be->selective_scan = NULL;
    hd_clear_error();
    f.hidden = got;
    cr_assert_neq(hd_model_forward(m, be, ids, 40, &f), 0, "an explicit backend without the scan cannot run Caduceus");
    cr_assert_eq(hd_error_kind(), HD_EMODEL);
    cr_assert(strstr(hd_error(), "caduceus") && strstr(hd_error(), "--device cpu"), "%s", hd_error());
    be->automatic = 1;   /* as chosen by --device auto */
    cr_assert_eq(hd_model_forward(m, be, ids, 40, &f), 0, "%s", hd_error());
    cr_assert_not_null(be->fallback, "auto fell back to a CPU backend");
    cr_assert_eq(hd_backend_for(be, hd_caduceus_ops.needs, "caduceus"), be->fallback, "one fallback, kept");
    cr_assert_eq(hd_backend_for(be, hd_hyena_ops.needs, "hyenadna"), be);
    cr_assert_eq(memcmp(got, want, 40 * W * sizeof(float)), 0, "the fallback computes what the CPU does");
    hd_backend_free(be);
    hd_model_close(m);
    free(want);
    free(got);
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
