/* gpubench.c -- time HyenaDNA forward passes on a backend, per sequence length and precision.
 *
 *   gpubench -m MODEL [-d DEVICE] [-L L1,L2,...] [-p fp32,tf32,bf16] [-r REPS] [-c CPU_REF_MAX_L] [-@ THREADS]
 *
 * For each length L: random token ids (seeded), then for each precision a fresh backend on DEVICE
 * (default cuda), one warm-up forward (weights uploaded, filter spectra and FFT plans made), then REPS
 * timed forwards, each producing the final hidden state [L, d_model] in host memory.  Printed: one
 * table row per (L, precision) with the warm-up time, the best and median timed forward, compute_s (one
 * more forward without any output: final norm skipped, nothing downloaded), tokens per second (best),
 * device memory held by the backend, and the relative Frobenius error of the hidden state
 * against the fp32 run on DEVICE and, for L ≤ CPU_REF_MAX_L, against a CPU fp32 forward. */
#define _GNU_SOURCE
#include "config.h"
#include "backend.h"
#include "model.h"
#include "util.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double rel_frob(const float *c, const float *e, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)c[i] - (double)e[i];
        num += d * d;
        den += (double)e[i] * e[i];
    }
    if (isnan(num)) return INFINITY;
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int finite_all(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

int main(int argc, char **argv)
{
    const char *model = NULL, *device = "cuda", *lens = "32768,160000,1000000", *precs = "fp32,tf32,bf16";
    long reps = 3, cpu_max = 32768, threads = 0;
    int c;
    while ((c = getopt(argc, argv, "m:d:L:p:r:c:@:h")) >= 0) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'd': device = optarg; break;
        case 'L': lens = optarg; break;
        case 'p': precs = optarg; break;
        case 'r': reps = atol(optarg); break;
        case 'c': cpu_max = atol(optarg); break;
        case '@': threads = atol(optarg); break;
        case 'h':
            printf("Usage: gpubench -m MODEL [-d DEVICE] [-L L1,L2,...] [-p fp32,tf32,bf16] [-r REPS] [-c CPU_REF_MAX_L] [-@ THREADS]\n");
            return 0;
        default: return 1;
        }
    }
    if (!model || reps < 1) {
        fprintf(stderr, "Usage: gpubench -m MODEL [-d DEVICE] [-L L1,L2,...] [-p fp32,tf32,bf16] [-r REPS] [-c CPU_REF_MAX_L]\n");
        return 1;
    }
    hd_model *m = hd_model_open(model);
    if (!m) { fprintf(stderr, "gpubench: %s\n", hd_error()); return 2; }
    size_t D = (size_t)m->d_hidden;
    int status = 0;
    printf("%-10s %9s %-5s %9s %9s %9s %9s %9s %9s %12s %12s\n", "backend", "L", "prec", "warmup_s", "best_s",
           "median_s", "compute_s", "ktok/s", "dev_MiB", "rel_vs_fp32", "rel_vs_cpu");
    char *lcopy = hd_strdup(lens), *lsave = NULL;
    for (char *tok = strtok_r(lcopy, ",", &lsave); tok; tok = strtok_r(NULL, ",", &lsave)) {
        size_t L = (size_t)atol(tok);
        if (!L || (m->max_len > 0 && L > (size_t)m->max_len)) {
            fprintf(stderr, "gpubench: length %s is not in 1..%ld\n", tok, m->max_len);
            status = 1;
            continue;
        }
        int32_t *ids = malloc(L * sizeof *ids);
        uint64_t s = 12345 + L;
        for (size_t i = 0; i < L; i++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            ids[i] = 7 + (int32_t)(s % 4);   /* A C G T */
        }
        float *h = hd_alloc(L * D * sizeof(float), "the hidden state");
        float *ref32 = NULL, *refcpu = NULL;
        if (!ids || !h) { fprintf(stderr, "gpubench: %s\n", hd_error()); return 2; }
        if ((long)L <= cpu_max) {   /* the CPU fp32 reference */
            hd_backend *cpu = hd_backend_cpu_new((int)threads);
            refcpu = hd_alloc(L * D * sizeof(float), "the CPU reference");
            hd_fwd f = {.hidden = refcpu, .layer = -1};
            double t0 = hd_now();
            if (!cpu || !refcpu || hd_model_forward(m, cpu, ids, L, &f)) {
                fprintf(stderr, "gpubench: CPU reference at L=%zu: %s\n", L, hd_error());
                hd_free(refcpu);
                refcpu = NULL;
                status = 1;
            } else {
                fprintf(stderr, "gpubench: CPU reference at L=%zu took %.2f s\n", L, hd_now() - t0);
            }
            hd_backend_free(cpu);
        }
        char *pcopy = hd_strdup(precs), *save = NULL;
        for (char *p = strtok_r(pcopy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
            hd_backend *be = hd_backend_new(device, (int)threads);
            if (!be) { fprintf(stderr, "gpubench: %s\n", hd_error()); return 2; }
            if (hd_backend_set_precision(be, p)) {
                fprintf(stderr, "gpubench: %s\n", hd_error());
                hd_backend_free(be);
                status = 1;
                continue;
            }
            hd_fwd f = {.hidden = h, .layer = -1};
            double t0 = hd_now();
            if (hd_model_forward(m, be, ids, L, &f)) {
                fprintf(stderr, "gpubench: L=%zu %s: %s\n", L, p, hd_error());
                hd_backend_free(be);
                status = 1;
                continue;
            }
            double warm = hd_now() - t0, *ts = malloc((size_t)reps * sizeof(double));
            int fail = 0;
            for (long r = 0; r < reps && !fail; r++) {
                t0 = hd_now();
                if (hd_model_forward(m, be, ids, L, &f)) {
                    fprintf(stderr, "gpubench: L=%zu %s: %s\n", L, p, hd_error());
                    fail = 1;
                }
                ts[r] = hd_now() - t0;
            }
            if (!fail && !finite_all(h, L * D)) {
                fprintf(stderr, "gpubench: L=%zu %s: non-finite values in the hidden state\n", L, p);
                fail = 1;
            }
            if (fail) {
                status = 1;
                free(ts);
                hd_backend_free(be);
                continue;
            }
            /* the same forward without any output (no final norm, nothing downloaded): the compute alone */
            hd_fwd f0 = {.layer = -1};
            t0 = hd_now();
            int rc0 = hd_model_forward(m, be, ids, L, &f0);
            if (!rc0) rc0 = hd_backend_check(be);   /* the queued work finished */
            double tc = rc0 ? NAN : hd_now() - t0;
            qsort(ts, (size_t)reps, sizeof *ts, cmp_double);
            double mib = be->memory_held ? (double)be->memory_held(be) / 1048576.0 : 0;
            if (!strcmp(p, "fp32") && !ref32) {
                ref32 = hd_alloc(L * D * sizeof(float), "the fp32 result");
                if (ref32) memcpy(ref32, h, L * D * sizeof(float));
            }
            char r32[32] = "-", rcpu[32] = "-";
            if (ref32) snprintf(r32, sizeof r32, "%.3g", rel_frob(h, ref32, L * D));
            if (refcpu) snprintf(rcpu, sizeof rcpu, "%.3g", rel_frob(h, refcpu, L * D));
            printf("%-10s %9zu %-5s %9.3f %9.3f %9.3f %9.3f %9.1f %9.0f %12s %12s\n", be->name, L, p, warm, ts[0],
                   ts[reps / 2], tc, (double)L / ts[0] / 1e3, mib, r32, rcpu);
            fflush(stdout);
            free(ts);
            hd_backend_free(be);
        }
        free(pcopy);
        hd_free(ref32);
        hd_free(refcpu);
        hd_free(h);
        free(ids);
    }
    free(lcopy);
    hd_model_close(m);
    return status;
}
