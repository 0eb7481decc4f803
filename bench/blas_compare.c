/* blas_compare.c -- single-threaded SGEMM rate (GFLOP per CPU-second) of whichever CBLAS it is linked with, on
 * the HyenaDNA small-32k projection shapes in blocks of 256 positions (the CPU backend's GEMM blocks).
 *   gcc -O2 bench/blas_compare.c -o /tmp/ob -lopenblas && OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=SKYLAKEX /tmp/ob
 *   gcc -O2 bench/blas_compare.c -o /tmp/blis -lblis && BLIS_NUM_THREADS=1 /tmp/blis        (libblis-dev) */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void)
{
    const int M = 256;
    const struct { int K, N; } shapes[] = {{256, 768}, {256, 256}, {256, 1024}, {1024, 256}};
    float *X = malloc(sizeof(float) * M * 1024), *W = malloc(sizeof(float) * 1024 * 1024),
          *Y = calloc((size_t)M * 1024, sizeof(float));
    if (!X || !W || !Y) return 1;
    for (int i = 0; i < M * 1024; i++) X[i] = (float)(i % 7) * 0.1f;
    for (int i = 0; i < 1024 * 1024; i++) W[i] = (float)(i % 5) * 0.01f;
    double flops = 0, secs = 0;
    for (int rep = 0; rep < 40; rep++)   /* the first is a warm-up */
        for (int s = 0; s < 4; s++) {
            int K = shapes[s].K, N = shapes[s].N;
            double t0 = cpu_now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, X, K, W, K, 1.0f, Y, N);
            if (rep) secs += cpu_now() - t0, flops += 2.0 * M * N * K;
        }
    printf("%.1f GFLOP per CPU-second\n", flops / secs * 1e-9);
    free(X), free(W), free(Y);
    return 0;
}
