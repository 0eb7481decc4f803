/* test_workers.c -- many short sequences side by side (src/workers.h): the runner's order of failures and
 * its routing of long jobs, and bit-identical results for any thread count and batch size through every
 * path built on it (the embedder, the variant engine, classify's batches) on every fixture family and the
 * bundled default model. */
#include "testutil.h"
#include "backend.h"
#include "classify.h"
#include "embed.h"
#include "model.h"
#include "tokenizer.h"
#include "varscore.h"
#include "workers.h"

#define DEFMODEL HD_SRCDATADIR "/models/default"

static const char *const MODELS[] = {DEFMODEL, TESTDATA("hyenadna-tiny"), TESTDATA("caduceus-ph"),
                                     TESTDATA("caduceus-ps"), TESTDATA("xlstm-mlstm"), TESTDATA("xlstm-slstm"),
                                     TESTDATA("evo2-tiny")};
#define N_MODELS (sizeof MODELS / sizeof *MODELS)

/* ------------------------------------------------------------------ the runner */

typedef struct {
    hd_backend *main;
    int ran[64], slot_busy[64];
    hd_backend *on[64];
    int fail_a, fail_b;
    int overlap;   /* two jobs met on one slot */
} fake;

static int fake_job(void *ud, size_t i, hd_backend *be, int slot)
{
    fake *f = ud;
    int busy;
    #pragma omp atomic capture
    busy = f->slot_busy[slot]++;
    if (busy) {
        #pragma omp atomic write
        f->overlap = 1;
    }
    volatile double x = 0;
    for (int k = 0; k < 20000 * (int)(i % 5 + 1); k++) x += k;   /* uneven jobs */
    f->ran[i] = 1;
    f->on[i] = be;
    #pragma omp atomic update
    f->slot_busy[slot]--;
    if ((int)i == f->fail_a || (int)i == f->fail_b) {
        hd_set_error(HD_EINPUT, "job %zu failed", i);
        return -1;
    }
    return 0;
}

Test(workers, reports_the_first_failure_in_order)
{
    hd_backend *be = hd_backend_cpu_new(4);
    cr_assert_not_null(be);
    hd_workers *w = hd_workers_new(NULL, be, 4);
    cr_assert_not_null(w, "%s", hd_error());
    cr_assert_eq(hd_workers_count(w), 4);
    for (int rep = 0; rep < 5; rep++) {
        fake f = {.main = be, .fail_a = 27, .fail_b = 13};
        size_t failed = 99;
        cr_assert_eq(hd_workers_run(w, 40, NULL, fake_job, &f, &failed), -1);
        cr_assert_eq(failed, 13);
        cr_assert_str_eq(hd_error(), "job 13 failed");
        cr_assert_eq(hd_error_kind(), HD_EINPUT);
        for (int i = 0; i < 13; i++) cr_assert(f.ran[i], "job %d before the failure did not run", i);
        cr_assert_not(f.overlap, "two jobs ran on one slot at once");
    }
    fake ok = {.main = be, .fail_a = -1, .fail_b = -1};
    cr_assert_eq(hd_workers_run(w, 40, NULL, fake_job, &ok, NULL), 0, "%s", hd_error());
    for (int i = 0; i < 40; i++) {
        cr_assert(ok.ran[i]);
        cr_assert_neq(ok.on[i], be, "short job %d ran on the caller's backend", i);
    }
    hd_workers_free(w);
    hd_backend_free(be);
}

Test(workers, long_and_lone_jobs_run_on_the_callers_backend)
{
    hd_backend *be = hd_backend_cpu_new(3);
    hd_workers *w = hd_workers_new(NULL, be, 0);
    cr_assert_eq(hd_workers_count(w), 3, "one worker per thread of the backend");
    size_t len[10];
    for (int i = 0; i < 10; i++) len[i] = i == 2 || i == 7 ? HD_WORKERS_LONG : 150;
    fake f = {.main = be, .fail_a = -1, .fail_b = -1};
    cr_assert_eq(hd_workers_run(w, 10, len, fake_job, &f, NULL), 0);
    for (int i = 0; i < 10; i++) {
        cr_assert(f.ran[i]);
        if (len[i] >= HD_WORKERS_LONG) cr_assert_eq(f.on[i], be, "long job %d", i);
        else cr_assert_neq(f.on[i], be, "short job %d", i);
    }
    /* a long job failing after a short one: the short one (earlier in order) is reported */
    fake g = {.main = be, .fail_a = 7, .fail_b = 4};
    size_t failed;
    cr_assert_eq(hd_workers_run(w, 10, len, fake_job, &g, &failed), -1);
    cr_assert_eq(failed, 4);
    fake h = {.main = be, .fail_a = 2, .fail_b = 9};
    cr_assert_eq(hd_workers_run(w, 10, len, fake_job, &h, &failed), -1);
    cr_assert_eq(failed, 2);
    cr_assert(h.ran[0] && h.ran[1], "the short jobs before a failing long one ran");
    /* a lone job runs on the caller's backend, with all its threads */
    fake one = {.main = be, .fail_a = -1, .fail_b = -1};
    cr_assert_eq(hd_workers_run(w, 1, NULL, fake_job, &one, NULL), 0);
    cr_assert_eq(one.on[0], be);
    hd_workers_free(w);
    /* one thread: no workers of its own */
    hd_backend *b1 = hd_backend_cpu_new(1);
    w = hd_workers_new(NULL, b1, 0);
    cr_assert_eq(hd_workers_count(w), 1);
    fake s = {.main = b1, .fail_a = -1, .fail_b = -1};
    cr_assert_eq(hd_workers_run(w, 5, NULL, fake_job, &s, NULL), 0);
    for (int i = 0; i < 5; i++) cr_assert_eq(s.on[i], b1);
    hd_workers_free(w);
    hd_backend_free(b1);
    hd_backend_free(be);
}

/* ------------------------------------------------------------------ sequences */

#define NSEQ 19
static const size_t LENS[NSEQ] = {150, 1, 2, 3, 17, 64, 150, 151, 200, 256, 255, 100, 150, 33, 128, 129, 5, 150, 97};

/* NSEQ random sequences of A, C, G, T (a few N) of the lengths above */
static char **make_seqs(void)
{
    char **s = malloc(NSEQ * sizeof *s);
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < NSEQ; i++) {
        s[i] = malloc(LENS[i] + 1);
        for (size_t k = 0; k < LENS[i]; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            s[i][k] = x % 97 == 0 ? 'N' : "ACGT"[x % 4];
        }
        s[i][LENS[i]] = 0;
    }
    return s;
}

static void free_seqs(char **s)
{
    for (int i = 0; i < NSEQ; i++) free(s[i]);
    free(s);
}

/* ------------------------------------------------------------------ the embedder */

/* every sequence embedded alone on a one-thread backend: the reference */
static float **embed_alone(hd_model *m, char **seqs, const hd_embed_opts *o, int *width)
{
    hd_backend *be = hd_backend_cpu_new(1);
    hd_embedder *e = hd_embedder_new(m, be, o);
    cr_assert_not_null(e, "%s", hd_error());
    *width = hd_embedder_width(e);
    float **out = malloc(NSEQ * sizeof *out);
    for (int i = 0; i < NSEQ; i++) {
        size_t rows = o->pool == HD_POOL_NONE ? LENS[i] : 1;
        out[i] = malloc(rows * (size_t)*width * sizeof(float));
        cr_assert_eq(hd_embedder_run(e, seqs[i], LENS[i], "s", out[i]), 0, "%s: %s", m->location, hd_error());
    }
    hd_embedder_free(e);
    hd_backend_free(be);
    return out;
}

static void check_embedder(const char *path, hd_embed_opts o)
{
    hd_model *m = hd_model_open(path);
    cr_assert_not_null(m, "%s", hd_error());
    char **seqs = make_seqs();
    int width;
    float **want = embed_alone(m, seqs, &o, &width);
    /* (threads, batch size) */
    static const int runs[][2] = {{1, NSEQ}, {2, 3}, {4, 1}, {4, NSEQ}};
    for (int ri = 0; ri < 4; ri++) {
        int threads = runs[ri][0], batch = runs[ri][1];
        hd_backend *be = hd_backend_cpu_new(threads);
        hd_embedder *e = hd_embedder_new(m, be, &o);
        cr_assert_not_null(e, "%s", hd_error());
        {
            float *got[NSEQ];
            hd_embed_job jobs[NSEQ];
            for (int i = 0; i < NSEQ; i++) {
                size_t rows = o.pool == HD_POOL_NONE ? LENS[i] : 1;
                got[i] = malloc(rows * (size_t)width * sizeof(float));
                jobs[i] = (hd_embed_job){seqs[i], LENS[i], "s", got[i]};
            }
            for (int i0 = 0; i0 < NSEQ; i0 += batch) {
                size_t n = NSEQ - i0 < batch ? (size_t)(NSEQ - i0) : (size_t)batch;
                cr_assert_eq(hd_embedder_run_batch(e, jobs + i0, n), 0, "%s: %s", path, hd_error());
            }
            for (int i = 0; i < NSEQ; i++) {
                size_t rows = o.pool == HD_POOL_NONE ? LENS[i] : 1;
                cr_assert(!memcmp(got[i], want[i], rows * (size_t)width * sizeof(float)),
                          "%s (pool %s, rc %d): sequence %d of %zu bases differs with %d threads, batches of %d",
                          path, hd_pool_name(o.pool), o.rc, i, LENS[i], threads, batch);
                free(got[i]);
            }
        }
        hd_embedder_free(e);
        hd_backend_free(be);
    }
    for (int i = 0; i < NSEQ; i++) free(want[i]);
    free(want);
    free_seqs(seqs);
    hd_model_close(m);
}

Test(workers, embedder_bit_identical_every_family)
{
    for (size_t k = 0; k < N_MODELS; k++)
        check_embedder(MODELS[k], (hd_embed_opts){.pool = HD_POOL_MEAN, .layer = -1});
}

Test(workers, embedder_bit_identical_rc_layers_and_rows)
{
    check_embedder(DEFMODEL, (hd_embed_opts){.pool = HD_POOL_MEAN, .rc = 1, .layer = -1});
    check_embedder(TESTDATA("caduceus-ps"), (hd_embed_opts){.pool = HD_POOL_MAX, .rc = 1, .layer = -1});
    check_embedder(TESTDATA("xlstm-slstm"), (hd_embed_opts){.pool = HD_POOL_LAST, .layer = 0});
    check_embedder(DEFMODEL, (hd_embed_opts){.pool = HD_POOL_NONE, .layer = -1});
}

Test(workers, embedder_reports_the_first_bad_sequence)
{
    hd_model *m = hd_model_open(DEFMODEL);
    hd_backend *be = hd_backend_cpu_new(4);
    hd_embedder *e = hd_embedder_new(m, be, &(hd_embed_opts){.pool = HD_POOL_MEAN, .layer = -1});
    char **seqs = make_seqs();
    seqs[5][3] = 'X';    /* 64 bases */
    seqs[13][7] = 'X';   /* 33 bases: later in the longest-first order */
    float out[NSEQ][128];
    hd_embed_job jobs[NSEQ];
    char names[NSEQ][8];
    for (int i = 0; i < NSEQ; i++) {
        snprintf(names[i], sizeof names[i], "s%d", i);
        jobs[i] = (hd_embed_job){seqs[i], LENS[i], names[i], out[i]};
    }
    for (int rep = 0; rep < 3; rep++) {
        cr_assert_eq(hd_embedder_run_batch(e, jobs, NSEQ), -1);
        cr_assert(strstr(hd_error(), "s5"), "the first failing sequence is named: %s", hd_error());
    }
    free_seqs(seqs);
    hd_embedder_free(e);
    hd_backend_free(be);
    hd_model_close(m);
}

/* ------------------------------------------------------------------ the variant engine */

static void run_engine(hd_model *m, int threads, char **seqs, double *ll, float *pool)
{
    hd_backend *be = hd_backend_cpu_new(threads);
    hd_vs_engine *e = hd_vs_engine_new(m, be, threads);
    cr_assert_not_null(e, "%s", hd_error());
    cr_assert_eq(hd_vs_engine_workers(e), threads);
    hd_vs_job jobs[NSEQ];
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < NSEQ; i++) {
        jobs[i].ids = malloc(LENS[i] * sizeof(int32_t));
        cr_assert_eq(hd_tokenize(seqs[i], LENS[i], HD_SPECIAL_NONE, jobs[i].ids, "s"), (long)LENS[i]);
        jobs[i].L = LENS[i];
        jobs[i].want_ll = m->causal;
        jobs[i].want_pool = 1;
    }
    cr_assert_eq(hd_vs_run(e, jobs, NSEQ), 0, "%s: %s", m->location, hd_error());
    for (int i = 0; i < NSEQ; i++) {
        ll[i] = jobs[i].ll;
        memcpy(pool + i * (size_t)m->d_hidden, jobs[i].pool, (size_t)m->d_hidden * sizeof(float));
        hd_vs_job_free(&jobs[i]);
    }
    hd_vs_engine_free(e);
    hd_backend_free(be);
}

Test(workers, variant_engine_bit_identical_every_family)
{
    char **seqs = make_seqs();
    for (size_t k = 0; k < N_MODELS; k++) {
        hd_model *m = hd_model_open(MODELS[k]);
        cr_assert_not_null(m, "%s", hd_error());
        size_t D = (size_t)m->d_hidden;
        double ll1[NSEQ], ll[NSEQ];
        float *p1 = malloc(NSEQ * D * sizeof(float)), *p = malloc(NSEQ * D * sizeof(float));
        run_engine(m, 1, seqs, ll1, p1);
        for (int t = 2; t <= 4; t += 2) {
            run_engine(m, t, seqs, ll, p);
            cr_assert(!memcmp(ll, ll1, sizeof ll), "%s: log-likelihoods differ with %d workers", MODELS[k], t);
            cr_assert(!memcmp(p, p1, NSEQ * D * sizeof(float)), "%s: pooled states differ with %d workers", MODELS[k], t);
        }
        free(p1);
        free(p);
        hd_model_close(m);
    }
    free_seqs(seqs);
}

/* ------------------------------------------------------------------ classify */

/* predictions of the NSEQ sequences by a classifier on `threads` threads, trained on 8 of them */
static void classify_all(hd_model *m, hd_clf_method method, int threads, int batched, char **seqs, int *best, double *S,
                         double *P)
{
    hd_lset tr = {0};
    for (int i = 0; i < 8; i++)
        cr_assert_eq(hd_lset_add(&tr, "t", seqs[i + 5], LENS[i + 5], i % 2 ? "b" : "a", NULL, 0, 0), 0);
    hd_clf c = {.method = method, .m = m, .be = hd_backend_cpu_new(threads), .pool = HD_POOL_MEAN,
                .fit = {.l2 = 0.01, .max_iter = 100, .tol = 1e-6, .knn_k = 3}, .C = tr.n_classes, .classes = tr.classes};
    c.wk = batched ? hd_workers_new(m, c.be, 0) : NULL;
    c.dim = method == HD_CLF_CONTEXT ? 0 : hd_clf_dim(&c);
    cr_assert_eq(hd_clf_build(&c, &tr, NULL, 0, 0, 1, NULL, "train"), 0, "%s", hd_error());
    if (batched) {
        hd_clf_item it[NSEQ];
        for (int i = 0; i < NSEQ; i++) it[i] = (hd_clf_item){seqs[i], LENS[i], "q", NULL};
        cr_assert_eq(hd_clf_predict_batch(&c, it, NSEQ, "q.fa", best, S, P, NULL), 0, "%s", hd_error());
    } else {
        for (int i = 0; i < NSEQ; i++) {
            best[i] = hd_clf_predict(&c, seqs[i], LENS[i], "q", "q.fa", NULL, S + 2 * i, P + 2 * i);
            cr_assert_geq(best[i], 0, "%s", hd_error());
        }
    }
    hd_clf_clear(&c);
    hd_workers_free(c.wk);
    hd_backend_free(c.be);
    hd_lset_free(&tr);
}

Test(workers, classify_batches_bit_identical)
{
    hd_model *m = hd_model_open(DEFMODEL);
    char **seqs = make_seqs();
    static const hd_clf_method methods[] = {HD_CLF_CONTEXT, HD_CLF_LOGISTIC, HD_CLF_KNN};
    for (int mi = 0; mi < 3; mi++) {
        int b1[NSEQ], b[NSEQ];
        double S1[2 * NSEQ], P1[2 * NSEQ], S[2 * NSEQ], P[2 * NSEQ];
        classify_all(m, methods[mi], 1, 0, seqs, b1, S1, P1);
        for (int t = 1; t <= 4; t *= 2) {
            classify_all(m, methods[mi], t, 1, seqs, b, S, P);
            cr_assert(!memcmp(b, b1, sizeof b) && !memcmp(S, S1, sizeof S),
                      "%s: scores differ with %d threads in a batch", hd_clf_method_name(methods[mi]), t);
            for (int i = 0; i < 2 * NSEQ; i++)
                cr_assert(!memcmp(&P[i], &P1[i], sizeof *P) || (isnan(P[i]) && isnan(P1[i])));
        }
    }
    free_seqs(seqs);
    hd_model_close(m);
}
