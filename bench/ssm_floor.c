/* ssm_floor.c -- the floor of a Caduceus or DNA-xLSTM forward on this machine: the time its GEMMs alone
 * take at the SGEMM rate the CPU backend reaches on the model's own shapes, plus the time of its
 * elementwise recurrence work at the rate this CPU runs a register-resident selective-scan update
 * (h ← exp(Δ·a)·h + Δ·b·u; y += c·h, the exponential as a vector polynomial: no memory traffic).
 *
 *   ssm_floor caduceus D N_LAYER L THREADS [ps]       (d_state 16, d_conv 4, expand 2, bidirectional)
 *   ssm_floor xlstm D N_LAYER L THREADS [CHUNK]       (mLSTM blocks, 4 heads, proj_factor 2, bidirectional)
 *
 * Counts per token (docs/models.md §4.4–4.5, §5.6–5.7, §5.11), E = 2·D (Caduceus), Ei = the mLSTM inner
 * width, DH = Ei / 4:
 *   Caduceus, per layer: GEMM 2·D·2E (in_proj, shared) + 2·E·D (out_proj) + per direction 2·E·(R+2N)
 *     (x_proj) + 2·R·E (dt_proj); elementwise per direction E·(N + 4) updates (N states, plus the conv +
 *     SiLU, softplus and gate counted as 4 more); PS doubles everything (both halves run the mixer).
 *   DNA-xLSTM, per block and direction: GEMM 2·D·2Ei + 2·Ei·D + the cell's four chunk GEMMs per head
 *     (QKᵀ and EV over the chunk, Q·C and the Kᵀ·V state update: 4·c·DH + 4·DH²); elementwise 4·c/2
 *     decay exponentials per head (the lower triangle of the chunk) counted as updates.
 * The head and the norms are left out (< 2 % of either).  Prints one line of key=value pairs: the floor in
 * wall seconds (rates measured in wall time) and in CPU seconds (rates per CPU-second: what to compare with
 * the forward's user + system time when other jobs load the machine). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "util.h"

static double cpu_now(void)   /* CPU seconds of the process: robust when other jobs share the machine */
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------- the update rate */

/* One block of 16 states × VL channels stepped `steps` times: exp2 by a degree-6 polynomial with the
 * exponent added to the float's bits, the state FMA and the output FMA, as the scan does per state. */
#define UPDATE_LOOP(NAME, ATTR, BYTES)                                                                    \
    typedef float NAME##_v __attribute__((vector_size(BYTES)));                                          \
    typedef int32_t NAME##_i __attribute__((vector_size(BYTES)));                                        \
    ATTR static float NAME(size_t steps)                                                                  \
    {                                                                                                     \
        enum { VLN = BYTES / 4 };                                                                         \
        static const float cf[7] = {1.5345811e-4f, 1.3399931e-3f, 9.618489e-3f, 5.5503286e-2f,            \
                                    2.4022646e-1f, 6.931472e-1f, 1.0f};                                   \
        NAME##_v h[16], a[16], acc = {0}, d, du, one, big, lo, hi;                                    \
        for (int j = 0; j < VLN; j++) one[j] = 1, big[j] = 12582912.0f, lo[j] = -125, hi[j] = 127;                             \
        for (int n = 0; n < 16; n++)                                                                      \
            for (int j = 0; j < VLN; j++) h[n][j] = 0.0f, a[n][j] = -1.4427f * (float)(n + 1);           \
        for (int j = 0; j < VLN; j++) d[j] = 0.01f + 0.001f * (float)j, du[j] = 0.5f * d[j];             \
        for (size_t i = 0; i < steps; i++) {                                                              \
            float b = (float)(i & 7) * 0.125f, c = 1.0f - b;                                              \
            for (int n = 0; n < 16; n++) {                                                                \
                NAME##_v t = d * a[n];                                                                    \
                NAME##_i m = (NAME##_i)(t > lo);                  /* the clamp to [−125, 127] */        \
                t = (NAME##_v)((m & (NAME##_i)t) | (~m & (NAME##_i)lo));                                  \
                m = (NAME##_i)(t < hi);                                                                   \
                t = (NAME##_v)((m & (NAME##_i)t) | (~m & (NAME##_i)hi));                                  \
                NAME##_v k = (t + big) - big, r = t - k, p = r * cf[0] + cf[1];                           \
                for (int q = 2; q < 7; q++) p = p * r + cf[q];                                            \
                NAME##_v e = (NAME##_v)((NAME##_i)p + (__builtin_convertvector(k, NAME##_i) << 23));      \
                h[n] = e * h[n] + du * b;                                                                 \
                acc = h[n] * c + acc;                                                                     \
            }                                                                                             \
            d += one * 1e-7f;                                                                             \
        }                                                                                                 \
        float s = 0;                                                                                      \
        for (int j = 0; j < VLN; j++) s += acc[j];                                                        \
        return s;                                                                                         \
    }
UPDATE_LOOP(upd_sse, , 16)
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
UPDATE_LOOP(upd_avx2, __attribute__((target("avx2,fma"))), 32)
UPDATE_LOOP(upd_avx512, __attribute__((target("avx512f"))), 64)
#endif

/* state updates per second on `threads` threads (each thread its own block of channels); *per_cpu: per
 * CPU-second */
static double update_rate(int threads, const char **isa, double *per_cpu)
{
    float (*fn)(size_t) = upd_sse;
    int vl = 4;
    *isa = "sse/generic";
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) fn = upd_avx512, vl = 16, *isa = "avx512";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) fn = upd_avx2, vl = 8, *isa = "avx2";
#endif
    size_t steps = 1u << 18;
    volatile float sink = 0;
    double best = 0;
    *per_cpu = 0;
    for (int rep = 0; rep < 4; rep++) {   /* best of 4: the rate the core reaches, not the load on it */
        double t = hd_now(), c = cpu_now();
        #pragma omp parallel num_threads(threads)
        {
            float s = fn(steps);
            #pragma omp atomic
            sink += s;
        }
        double n = (double)threads * (double)steps * 16.0 * vl, r = n / (hd_now() - t), rc = n / (cpu_now() - c);
        if (r > best) best = r;
        if (rc > *per_cpu) *per_cpu = rc;
    }
    (void)sink;
    return best;
}

/* ---------------------------------------------------------------- the SGEMM rate */

/* FLOP/s of be->linear over shapes {K, N, times} at M rows, the mix weighted by how often each runs;
 * *per_cpu: FLOP per CPU-second */
static double gemm_rate(hd_backend *be, size_t M, const size_t (*shape)[3], size_t ns, double *per_cpu)
{
    size_t maxk = 0, maxn = 0;
    for (size_t s = 0; s < ns; s++) {
        if (shape[s][0] > maxk) maxk = shape[s][0];
        if (shape[s][1] > maxn) maxn = shape[s][1];
    }
    float *X = calloc(M * maxk, 4), *W = calloc(maxk * maxn, 4), *Y = calloc(M * maxn, 4);
    if (!X || !W || !Y) { fprintf(stderr, "ssm_floor: out of memory\n"); exit(2); }
    for (size_t i = 0; i < M * maxk; i++) X[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < maxk * maxn; i++) W[i] = (float)(i % 5) * 0.01f;
    double flops = 0, secs = 0, cpus = 0;
    for (int rep = 0; rep < 6; rep++)   /* the first is a warm-up */
        for (size_t s = 0; s < ns; s++)
            for (size_t k = 0; k < shape[s][2]; k++) {
                double t = hd_now(), c = cpu_now();
                be->linear(be, X, M, shape[s][0], shape[s][0], W, NULL, shape[s][1], Y, shape[s][1]);
                if (rep) secs += hd_now() - t, cpus += cpu_now() - c, flops += 2.0 * M * shape[s][0] * shape[s][1];
            }
    free(X), free(W), free(Y);
    *per_cpu = flops / cpus;
    return flops / secs;
}

int main(int argc, char **argv)
{
    if (argc < 6 || (strcmp(argv[1], "caduceus") && strcmp(argv[1], "xlstm"))) {
        fprintf(stderr, "usage: ssm_floor caduceus|xlstm D N_LAYER L THREADS [ps | CHUNK]\n");
        return 1;
    }
    int cad = !strcmp(argv[1], "caduceus");
    size_t D = strtoul(argv[2], 0, 10), NL = strtoul(argv[3], 0, 10);
    double L = atof(argv[4]);
    int threads = atoi(argv[5]);
    hd_backend *be = hd_backend_cpu_new(threads);
    if (!be) { fprintf(stderr, "ssm_floor: %s\n", hd_error()); return 2; }
    double gflop, upd;   /* per token, whole forward */
    double rate, rate_cpu, urate_cpu;
    if (cad) {
        int ps = argc > 6 && !strcmp(argv[6], "ps");
        size_t E = 2 * D, N = 16, R = (D + 15) / 16, W = R + 2 * N;
        size_t shp[][3] = {{D, 2 * E, 1}, {E, D, 1}, {E, W, 2}, {R, E, 2}};
        rate = gemm_rate(be, 2048, shp, 4, &rate_cpu);
        gflop = (double)NL * (2.0 * D * 2 * E + 2.0 * E * D + 2 * (2.0 * E * W + 2.0 * R * E)) * (ps ? 2 : 1);
        upd = (double)NL * 2 * E * (N + 4) * (ps ? 2 : 1);
    } else {
        size_t c = argc > 6 ? strtoul(argv[6], 0, 10) : 1024, Ei = (2 * D) / 64 * 64, NH = 4, DH = Ei / NH;
        if ((double)c > L) c = (size_t)L;
        size_t shp[][3] = {{D, 2 * Ei, 1}, {Ei, D, 1}};
        rate = gemm_rate(be, 2048, shp, 2, &rate_cpu);
        gflop = (double)NL * 2 * (2.0 * D * 2 * Ei + 2.0 * Ei * D + NH * (4.0 * c * DH + 4.0 * DH * DH));
        upd = (double)NL * 2 * NH * (c / 2.0);
    }
    const char *isa;
    double urate = update_rate(threads > 0 ? threads : 1, &isa, &urate_cpu);
    double tg = gflop * L / rate, tu = upd * L / urate, fc = gflop * L / rate_cpu + upd * L / urate_cpu;
    printf("sgemm_gflops=%.1f update_gups=%.2f isa=%s gemm_gflop=%.1f updates_g=%.2f gemm_s=%.6f scan_s=%.6f floor_s=%.6f "
           "floor_cpu_s=%.6f\n",
           rate / 1e9, urate / 1e9, isa, gflop * L / 1e9, upd * L / 1e9, tg, tu, tg + tu, fc);
    hd_backend_free(be);
    return 0;
}
