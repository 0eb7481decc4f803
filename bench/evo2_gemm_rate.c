/* evo2_gemm_rate.c -- the GEMM rate of the CPU backend on the projection shapes of an Evo 2 forward (BF16
 * weights through linear_ex, chunks of 2,048 positions, as the forward runs them), and the time the dense
 * GEMMs of a whole forward of L tokens would take at that rate: the floor for a CPU implementation
 * (docs/models.md §6.10).  The attention score and value products (quadratic in L) are reported apart.
 *
 * usage: evo2_gemm_rate HIDDEN INNER N_LAYER N_ATTN L [threads [precision]]      (7B: 4096 11264 32 5 8192 2)
 * precision: fp32 (the default) or bf16 (the AMX or VDPBF16PS kernel, as --precision bf16 runs the forward) */
#include <stdint.h>
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
    if (argc < 6) { fprintf(stderr, "usage: evo2_gemm_rate HIDDEN INNER N_LAYER N_ATTN L [threads [precision]]\n"); return 1; }
    size_t H = strtoul(argv[1], 0, 10), I = strtoul(argv[2], 0, 10), NL = strtoul(argv[3], 0, 10), NA = strtoul(argv[4], 0, 10);
    double L = atof(argv[5]);
    hd_backend *be = hd_backend_cpu_new(argc > 6 ? atoi(argv[6]) : 0);
    if (argc > 7 && hd_backend_set_precision(be, argv[7])) { fprintf(stderr, "evo2_gemm_rate: %s\n", hd_error()); return 1; }
    size_t M = 2048, big = 3 * H > I ? 3 * H : I, kmax = H > I ? H : I;
    float *X = malloc(M * kmax * sizeof(float)), *Y = malloc(M * big * sizeof(float));
    uint16_t *W = malloc(big * kmax * sizeof(uint16_t));
    if (!X || !Y || !W) { fprintf(stderr, "evo2_gemm_rate: out of memory\n"); return 1; }
    for (size_t i = 0; i < M * kmax; i++) X[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < big * kmax; i++) W[i] = (uint16_t)(0x3c00 + i % 64);   /* BF16 values near 0.008 */
    /* projections 3H×H, out H×H, l1 and l2 I×H, l3 H×I */
    struct { size_t K, N, times; } sh[] = {{H, 3 * H, 1}, {H, H, 1}, {H, I, 2}, {I, H, 1}};
    double flops = 0, secs = 0, cpus = 0;
    for (int rep = 0; rep < 6; rep++)   /* the first is a warm-up */
        for (int s = 0; s < 4; s++) {
            double t = hd_now(), c = cpu_now();
            be->linear_ex(be, X, M, sh[s].K, sh[s].K, W, 1, NULL, sh[s].N, Y, sh[s].N, 0);
            if (rep) { secs += hd_now() - t; cpus += cpu_now() - c; flops += 2.0 * M * sh[s].K * sh[s].N; }
        }
    double rate = flops / secs, rate_cpu = flops / cpus;
    /* per token: every block 3H·H + H·H + 3·I·H multiply-adds (Hyena projections or Wqkv, out, MLP), plus the
     * tied unembedding 512·H */
    double per_tok = 2.0 * NL * (3.0 * H * H + H * H + 3.0 * I * H) + 2.0 * 512 * H;
    double attn = 2.0 * NA * 2.0 * H * (L * (L + 1) / 2) ;   /* q·k and p·v over the causal triangle */
    printf("gemm_gflops=%.1f gemm_gflops_per_cpu_s=%.1f forward_gemm_tflop=%.3f gemm_seconds=%.2f gemm_cpu_seconds=%.2f "
           "attention_tflop=%.3f\n",
           rate / 1e9, rate_cpu / 1e9, per_tok * L / 1e12, per_tok * L / rate, per_tok * L / rate_cpu, attn / 1e12);
    free(X); free(Y); free(W);
    hd_backend_free(be);
    return 0;
}
