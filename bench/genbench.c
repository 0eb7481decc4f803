/* genbench.c -- cached decoding against naive re-forwarding, for bench/bench_generate.sh.
 *
 *   genbench -m MODEL [-p PROMPT[,PROMPT...]] [-n NEW] [-k NAIVE] [-@ THREADS] [-s SEED]
 *
 * For each prompt length P (random A/C/G/T): the prefill of P tokens and NEW decoding steps (greedy
 * tokens fed back), timed; then the naive way, a full forward over the prefix for every new token, timed on
 * NAIVE prefixes spread evenly over P .. P+NEW−1 and extrapolated to NEW tokens (labelled so).  One TSV row
 * per prompt:
 *   model family d_model layers prompt new prefill_s decode_s ms_per_token cpu_ms_per_token ms_first100
 *   ms_last100 tokens_per_s naive_forwards naive_ms_per_token naive_total_s(extrapolated) speedup_per_token
 *   speedup_total
 * Times are wall seconds but cpu_ms_per_token (the process's CPU time per decoding step, all threads: the
 * robust figure on a shared machine).  speedup_per_token = naive ms per token / cached ms per token;
 * speedup_total = the naive time for NEW tokens / (prefill + decoding).  An untimed prefill first lets
 * FFTW plan its transforms (measured once per size, then read from the wisdom cache). */
#include "backend.h"
#include "model.h"
#include "rng.h"
#include "util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "genbench: %s: %s\n", what, hd_error());
    exit(2);
}

static int argmax_acgt(const float *l)
{
    int b = 7;
    for (int i = 8; i <= 10; i++)
        if (l[i] > l[b]) b = i;
    return b;
}

int main(int argc, char **argv)
{
    const char *model = NULL, *prompts = "1000,8000,32000";
    long N = 1000, K = 5, threads = 0;
    uint64_t seed = 1;
    int c;
    while ((c = getopt(argc, argv, "m:p:n:k:@:s:h")) >= 0) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'p': prompts = optarg; break;
        case 'n': N = atol(optarg); break;
        case 'k': K = atol(optarg); break;
        case '@': threads = atol(optarg); break;
        case 's': seed = strtoull(optarg, NULL, 10); break;
        default:
            fprintf(stderr, "Usage: genbench -m MODEL [-p PROMPT[,PROMPT...]] [-n NEW] [-k NAIVE] [-@ THREADS] [-s SEED]\n");
            return c == 'h' ? 0 : 1;
        }
    }
    if (!model || N < 2 || K < 1) {
        fprintf(stderr, "Usage: genbench -m MODEL [-p PROMPT[,PROMPT...]] [-n NEW >= 2] [-k NAIVE >= 1] [-@ THREADS]\n");
        return 1;
    }
    hd_model *m = hd_model_open(model);
    if (!m) die(model);
    hd_backend *be = hd_backend_cpu_new((int)threads);
    if (!be) die("backend");
    size_t V = (size_t)m->n_logits;
    printf("model\tfamily\td_model\tlayers\tprompt\tnew\tprefill_s\tdecode_s\tms_per_token\tcpu_ms_per_token\tms_first100\tms_last100\t"
           "tokens_per_s\tnaive_forwards\tnaive_ms_per_token\tnaive_total_s(extrapolated)\tspeedup_per_token\tspeedup_total\n");
    char *list = strdup(prompts), *save = NULL;
    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        size_t P = (size_t)atol(tok), L = P + (size_t)N;
        if (!P || (m->max_len > 0 && L - 1 > (size_t)m->max_len)) {
            fprintf(stderr, "genbench: prompt %zu + %ld new tokens exceed the model's maximum length %ld: skipped\n", P, N,
                    m->max_len);
            continue;
        }
        int32_t *ids = malloc(L * sizeof *ids);
        float *lg = malloc(V * sizeof(float)), *full = malloc(L * V * sizeof(float));
        double *st = malloc((size_t)N * sizeof(double));
        if (!ids || !lg || !full || !st) { fprintf(stderr, "genbench: out of memory\n"); return 2; }
        hd_rng r;
        hd_rng_init(&r, seed);
        for (size_t i = 0; i < P; i++) ids[i] = 7 + (int32_t)hd_rng_below(&r, 4);
        /* cached: prefill, then N−1 steps (the N-th token is drawn from the last logits) */
        hd_decoder *d = hd_decoder_new(m, be, L - 1);
        if (!d || hd_decoder_prefill(d, ids, P, lg)) die("warm-up prefill");
        hd_decoder_free(d);
        if (!(d = hd_decoder_new(m, be, L - 1))) die("decoder");
        double t0 = hd_now();
        if (hd_decoder_prefill(d, ids, P, lg)) die("prefill");
        double t1 = hd_now(), c1 = cpu_now();
        for (long i = 0; i < N; i++) {
            ids[P + (size_t)i] = argmax_acgt(lg);
            double a = hd_now();
            if (i + 1 < N && hd_decoder_step(d, ids[P + (size_t)i], lg)) die("step");
            st[i] = hd_now() - a;
        }
        double t2 = hd_now(), c2 = cpu_now();
        hd_decoder_free(d);
        long steps = N - 1, w = steps < 100 ? steps : 100;
        double first = 0, last = 0;
        for (long i = 0; i < w; i++) first += st[i], last += st[steps - 1 - i];
        /* naive: a full forward per token, on K prefixes spread over P .. P+N−1 */
        double tn = 0;
        for (long j = 0; j < K; j++) {
            size_t Lj = P + (size_t)(K > 1 ? j * (N - 1) / (K - 1) : 0);
            hd_fwd f = {.logits = full, .layer = -1};
            double a = hd_now();
            if (hd_model_forward(m, be, ids, Lj, &f)) die("forward");
            tn += hd_now() - a;
        }
        double naive_tok = tn / (double)K, cached_tok = (t2 - t1) / (double)steps;
        printf("%s\t%s\t%d\t%d\t%zu\t%ld\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.1f\t%ld\t%.2f\t%.2f\t%.1f\t%.1f\n", model,
               hd_family_name(m->family), m->d_model, m->n_layer, P, N, t1 - t0, t2 - t1, 1e3 * cached_tok,
               1e3 * (c2 - c1) / (double)steps,
               1e3 * first / (double)w, 1e3 * last / (double)w, 1.0 / cached_tok, K, 1e3 * naive_tok,
               naive_tok * (double)N, naive_tok / cached_tok, naive_tok * (double)N / (t2 - t0));
        fflush(stdout);
        free(ids); free(lg); free(full); free(st);
    }
    free(list);
    hd_backend_free(be);
    hd_model_close(m);
    return 0;
}
