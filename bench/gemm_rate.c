/* gemm_rate.c -- the SGEMM rate of the CPU backend on the projection shapes of a HyenaDNA forward, and
 * the time the GEMMs of a whole forward would take at that rate.
 * usage: gemm_rate D F N_LAYER L [threads]      (e.g. 256 1024 8 1000000 2) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "backend.h"
#include "util.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc < 5) { fprintf(stderr, "usage: gemm_rate D F N_LAYER L [threads]\n"); return 1; }
    size_t D = strtoul(argv[1], 0, 10), F = strtoul(argv[2], 0, 10), NL = strtoul(argv[3], 0, 10);
    double L = atof(argv[4]);
    hd_backend *be = hd_backend_cpu_new(argc > 5 ? atoi(argv[5]) : 0);
    size_t M = 2048;   /* the forward's chunk of positions */
    float *X = calloc(M * F, 4), *W = calloc(F * 3 * D, 4), *Y = calloc(M * 3 * D + M * F, 4);
    for (size_t i = 0; i < M * F; i++) X[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < F * 3 * D; i++) W[i] = (float)(i % 5) * 0.01f;
    struct { size_t K, N; } shapes[] = {{D, 3 * D}, {D, D}, {D, F}, {F, D}};
    double flops = 0, secs = 0, cpus = 0;
    for (int rep = 0; rep < 12; rep++)   /* the first is a warm-up */
        for (int s = 0; s < 4; s++) {
            double t = hd_now(), c = cpu_now();
            be->linear(be, X, M, shapes[s].K, shapes[s].K, W, NULL, shapes[s].N, Y, shapes[s].N);
            if (rep) { secs += hd_now() - t; cpus += cpu_now() - c; flops += 2.0 * M * shapes[s].K * shapes[s].N; }
        }
    double rate = flops / secs;
    /* dense FLOPs of a forward: in_proj, out_proj, MLP per layer, plus the filter MLP (5→64→64→64→D); block 0's
     * in_proj is a table lookup (docs/models.md §3.4.4), as hd_model_gemm_flops counts it */
    double per_tok = NL * (2.0 * D * 3 * D + 2.0 * D * D + 4.0 * D * F + 2.0 * (5 * 64 + 2 * 64 * 64 + 64 * D)) - 2.0 * D * 3 * D;
    /* CPU seconds are what the GEMMs cost whatever else runs on the machine */
    printf("sgemm_gflops=%.1f sgemm_gflops_per_cpu_s=%.1f forward_gemm_tflop=%.3f gemm_seconds=%.2f gemm_cpu_seconds=%.2f\n",
           rate / 1e9, flops / cpus / 1e9, per_tok * L / 1e12, per_tok * L / rate, per_tok * L / (flops / cpus));
    hd_backend_free(be);
    return 0;
}
