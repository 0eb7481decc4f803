/* bf16_rate.c -- the projection GEMM rate of the CPU backend in each kernel it has: fp32 (OpenBLAS SGEMM),
 * bf16 on VDPBF16PS (AVX512_BF16) and bf16 on AMX tiles (docs/models.md §3.6, §6.9), through the backend's ops
 * as the forwards call them: Evo 2's linear_ex on stored BF16 weights for the 7B shapes, linear on float32
 * weights for the HyenaDNA default-model shapes.  GFLOP/s per second of wall time and per CPU-second.
 *
 * usage: bf16_rate [threads] [M_evo2] [reps]      (defaults 1, 1024, 3) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    int threads = argc > 1 ? atoi(argv[1]) : 1, reps = argc > 3 ? atoi(argv[3]) : 3;
    size_t Me = argc > 2 ? strtoul(argv[2], 0, 10) : 1024;
    struct { const char *name; size_t M, K, N; int evo2; } sh[] = {
        {"evo2-7b Wqkv/projections", Me, 4096, 3 * 4096, 1}, {"evo2-7b mlp l1+l2", Me, 4096, 2 * 11264, 1},
        {"evo2-7b out/dense", Me, 4096, 4096, 1},            {"evo2-7b mlp l3", Me, 11264, 4096, 1},
        {"hyenadna in_proj", 1026, 128, 384, 0},              {"hyenadna mlp fc1", 1026, 128, 512, 0},
        {"hyenadna mlp fc2", 1026, 512, 128, 0},
    };
    static const char *kinds[] = {"fp32", "bf16-vdpbf16ps", "bf16-amx"};
    printf("shape\tM\tK\tN\tkernel\tgflops\tgflops_per_cpu_s\n");
    for (size_t s = 0; s < sizeof sh / sizeof *sh; s++) {
        size_t M = sh[s].M, K = sh[s].K, N = sh[s].N;
        float *X = malloc(M * K * sizeof(float)), *Y = malloc(M * N * sizeof(float)), *Wf = NULL;
        uint16_t *Wb = NULL;
        if (sh[s].evo2) Wb = malloc(N * K * sizeof *Wb);
        else Wf = malloc(N * K * sizeof *Wf);
        if (!X || !Y || (!Wb && !Wf)) { fprintf(stderr, "bf16_rate: out of memory\n"); return 1; }
        for (size_t i = 0; i < M * K; i++) X[i] = (float)((i * 7919) % 13) * 0.05f - 0.3f;
        for (size_t i = 0; i < N * K; i++) {
            if (Wb) Wb[i] = (uint16_t)(0x3c00 + (i * 31) % 64 + ((i & 1) << 15));
            else Wf[i] = (float)((i * 104729) % 11) * 0.01f - 0.05f;
        }
        for (int k = 0; k < 3; k++) {
            if (k == 1) setenv("HYENADNA_CPU_AMX", "0", 1);
            else unsetenv("HYENADNA_CPU_AMX");
            hd_backend *be = hd_backend_cpu_new(threads);
            if (k && hd_backend_set_precision(be, "bf16")) { hd_backend_free(be); continue; }
            if (k == 2 && !strstr(hd_backend_device(be), "AMX")) { hd_backend_free(be); continue; }
            double secs = 0, cpus = 0;
            for (int r = 0; r <= reps; r++) {   /* the first is a warm-up */
                double t = hd_now(), c = cpu_now();
                if (Wb) be->linear_ex(be, X, M, K, K, Wb, 1, NULL, N, Y, N, 0);
                else be->linear(be, X, M, K, K, Wf, NULL, N, Y, N);
                if (r) secs += hd_now() - t, cpus += cpu_now() - c;
            }
            double fl = 2.0 * M * N * K * reps;
            printf("%s\t%zu\t%zu\t%zu\t%s\t%.1f\t%.1f\n", sh[s].name, M, K, N, kinds[k], fl / secs / 1e9, fl / cpus / 1e9);
            fflush(stdout);
            hd_backend_free(be);
        }
        free(X), free(Y), free(Wf), free(Wb);
    }
    return 0;
}
