/* bench.c -- `hyenadna bench`: how fast a model runs on this machine, and how much memory it takes, at the
 * lengths a job will use (llama.cpp's llama-bench is the model).
 *
 * Every measurement runs in a child process forked for it: one that times SGEMM through the backend, then
 * one per length that runs the warm-up and the timed forwards, so that its peak resident set (ru_maxrss,
 * read by wait4) is the peak of that length alone.  The parent never computes (no BLAS or OpenMP threads
 * exist when it forks); it opens the model, collects the children's results through a pipe and writes the
 * table or the JSON document. */
#include "config.h"
#include "common.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "output.h"
#include "tokenizer.h"

#define MAX_LENGTHS 64
#define MAX_REPS 1000
#define SGEMM_MIN_SECONDS 0.3   /* time SGEMM for at least this long (after one warm-up call) */

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: hyenadna bench [options] [-m MODEL] [-L 1k,32k,...]\n"
            "\n"
            "Time the model's forward pass on random A/C/G/T input at each length: tokens per second, the\n"
            "peak memory, the machine's measured SGEMM rate, the time the forward's matrix products alone\n"
            "would take at that rate and the ratio to it, and the kernels in use.  One process per length.\n"
            "\n"
            "Input options:\n"
            "  -L, --lengths LIST     comma-separated lengths in tokens; suffixes k = 1,000, m = 1,000,000,\n"
            "                         ki = 1,024, mi = 1,048,576 (32ki = 32,768) [1k,32k,160k,1m, those within\n"
            "                         the model's maximum; the maximum itself when none is]; a length over\n"
            "                         the model's maximum is an error\n"
            "  -r, --repetitions INT  timed forwards per length [3]\n"
            "  -w, --warmup INT       untimed forwards first (FFT plans, filter caches) [1]\n"
            "      --seed INT         seed of the random input [1]\n"
            "Output options:\n"
            "  -o, --output FILE      write to FILE (atomically) [standard output]\n"
            "      --json             a JSON document instead of the table\n");
    hd_common_usage(fp);
}

typedef struct {
    hd_common_opts co;
    const char *out;
    int json, nlen, lengths_given;
    long reps, warmup, seed;
    size_t len[MAX_LENGTHS];
    char len_text[MAX_LENGTHS][32];
} args;

/* One length: digits with an optional fraction and a suffix k, m (decimal) or ki, mi (binary), giving a
 * whole number of tokens ≥ 1.  0 on success, -2 beyond 10^10 tokens, -1 not a length. */
static int parse_length(const char *s, size_t *out)
{
    size_t digits = strspn(s, "0123456789.");
    if (!digits || s[0] == '.' || !strchr("kKmM", s[digits]) ) return -1;   /* s[digits] may be the final 0 */
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end != s + digits) return -1;
    double mul = 1;
    if (!strcasecmp(end, "k")) mul = 1e3;
    else if (!strcasecmp(end, "m")) mul = 1e6;
    else if (!strcasecmp(end, "ki")) mul = 1024;
    else if (!strcasecmp(end, "mi")) mul = 1048576;
    else if (*end) return -1;
    v *= mul;
    if (v < 1 || v != floor(v)) return -1;
    if (v > 1e10) return -2;
    *out = (size_t)v;
    return 0;
}

static int parse_lengths(args *a, const char *list)
{
    a->nlen = 0;
    a->lengths_given = 1;
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char tok[32];
        snprintf(tok, sizeof tok, "%.*s", (int)(n < sizeof tok ? n : sizeof tok - 1), p);
        if (a->nlen == MAX_LENGTHS) {
            hd_errorf("option -L: at most %d lengths", MAX_LENGTHS);
            return -1;
        }
        int pr = n == 0 || n >= sizeof tok ? -1 : parse_length(tok, &a->len[a->nlen]);
        if (pr == -2) {
            hd_errorf("option -L: '%s' is out of range (at most 10,000,000,000 tokens)", tok);
            return -1;
        }
        if (pr) {
            hd_errorf("option -L: '%s' is not a length (a whole number of tokens ≥ 1, e.g. 1000, 1k, 32ki, 1m)", tok);
            return -1;
        }
        snprintf(a->len_text[a->nlen++], sizeof a->len_text[0], "%s", tok);
        if (!comma) break;
        p = comma + 1;
    }
    return 0;
}

/* 0 parsed, 1 --help printed, -1 usage error (printed) */
static int parse_args(int argc, char **argv, args *a)
{
    enum { OPT_JSON = OPT_COMMON_END, OPT_SEED };
    static const struct option lo[] = {
        HD_COMMON_LONGOPTS,
        {"lengths", required_argument, NULL, 'L'}, {"repetitions", required_argument, NULL, 'r'},
        {"warmup", required_argument, NULL, 'w'}, {"seed", required_argument, NULL, OPT_SEED},
        {"output", required_argument, NULL, 'o'}, {"json", no_argument, NULL, OPT_JSON}, {NULL, 0, NULL, 0}};
    *a = (args){.out = "-", .reps = 3, .warmup = 1, .seed = 1};
    int c;
    while ((c = getopt_long(argc, argv, "m:c:o:@:L:r:w:h", lo, NULL)) >= 0) {
        int r = hd_common_opt(&a->co, c, optarg);
        if (r < 0) return -1;
        if (r) continue;
        switch (c) {
        case 'L': if (parse_lengths(a, optarg)) return -1; break;
        case 'r': if (hd_parse_long("-r", optarg, 1, MAX_REPS, &a->reps)) return -1; break;
        case 'w': if (hd_parse_long("-w", optarg, 0, 100, &a->warmup)) return -1; break;
        case OPT_SEED: if (hd_parse_long("--seed", optarg, 0, 0x7fffffff, &a->seed)) return -1; break;
        case 'o': a->out = optarg; break;
        case OPT_JSON: a->json = 1; break;
        case 'h':
        case OPT_HELP: usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) {
        hd_errorf("unexpected argument '%s' (the lengths go with -L)", argv[optind]);
        usage(stderr);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- the children */

/* CPU seconds of the process, every thread: what the work costs whatever else runs on the machine */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* What a child sends back: plain data, written once to the pipe. */
typedef struct {
    int status;                 /* exit status: 0 measured, else the error in err */
    int no_backend;             /* the error is the backend's: the device could not be opened */
    char err[1024];
    char device[256];           /* the backend that ran it */
    int threads;
    int cpu;                    /* 1: the CPU backend (the CPU kernels apply) */
    int prec_ignored;           /* --precision names one the backend cannot do (the CPU: fp32 only) */
    /* SGEMM child */
    double sgemm_flops, sgemm_s, sgemm_cpu_s;
    size_t shape[2][3];         /* M, K, N */
    /* length child */
    int nrep;
    double t[MAX_REPS], cpu_t[MAX_REPS];   /* wall and process CPU seconds of each timed forward */
    double device_mem;          /* memory_held after the runs, bytes; 0 on host memory */
} child_msg;

static void child_fail(child_msg *r)
{
    r->status = hd_exit_status(hd_error_kind());
    snprintf(r->err, sizeof r->err, "%s", hd_error());
}

/* The backend the model runs on (the CPU when --device auto and the GPU does not cover the family). */
static hd_backend *child_backend(const args *a, hd_model *m, hd_backend **owner, child_msg *r)
{
    hd_backend *be = hd_backend_new(a->co.device ? a->co.device : "auto", a->co.threads);
    const char *prec = a->co.precision ? a->co.precision : getenv("HYENADNA_PRECISION");
    hd_backend *rb = NULL;
    if (be && prec && *prec && hd_backend_set_precision(be, prec)) {
        hd_precision p = hd_precision_parse(prec);
        /* tf32 on the CPU: fp32 with a warning; bf16 on a CPU without AVX512_BF16: refused, as in hd_open_backend */
        if (!(hd_error_kind() == HD_EINPUT && p == HD_PREC_TF32 && !(be->precisions & p))) goto fail;
        hd_clear_error();
        r->prec_ignored = 1;
    }
    if (!be || !(rb = hd_backend_for(be, m->ops->needs, hd_family_name(m->family)))) goto fail;
    *owner = be;
    snprintf(r->device, sizeof r->device, "%s", hd_backend_device(rb));
    r->threads = rb->nthreads;
    r->cpu = !strcmp(rb->name, "cpu");
    return rb;
fail:
    child_fail(r);
    r->no_backend = 1;
    hd_backend_free(be);
    return NULL;
}

/* Fill n floats of backend memory with small values. */
static int fill(hd_backend *be, float *dst, size_t n, unsigned mod, float scale)
{
    float *h = hd_alloc(n * sizeof(float), "SGEMM operands");
    if (!h) return -1;
    for (size_t i = 0; i < n; i++) h[i] = (float)(i % mod) * scale;
    be->upload(be, dst, h, n * sizeof(float));
    hd_free(h);
    return 0;
}

/* SGEMM through the backend's linear op on two shapes like the model's projections: [M, D]·[4D, D]ᵀ and
 * [M, 4D]·[D, 4D]ᵀ with M = the backend's chunk of positions (D = d_model). */
static void child_sgemm(const args *a, hd_model *m, child_msg *r)
{
    hd_backend *owner = NULL, *be = child_backend(a, m, &owner, r);
    if (!be) return;
    size_t D = (size_t)m->d_model, M = be->chunk < 8192 ? be->chunk : 8192, F = 4 * D;
    size_t sh[2][3] = {{M, D, F}, {M, F, D}};
    memcpy(r->shape, sh, sizeof sh);
    float *X = be->alloc(be, M * F * sizeof(float), "SGEMM input");
    float *W = X ? be->alloc(be, F * D * sizeof(float), "SGEMM weights") : NULL;
    float *Y = W ? be->alloc(be, M * F * sizeof(float), "SGEMM output") : NULL;
    if (!Y || fill(be, X, M * F, 7, 0.1f) || fill(be, W, F * D, 5, 0.01f)) goto fail;
    double flops = 0, secs = 0, cpus = 0;
    for (int rep = 0; rep == 0 || secs < SGEMM_MIN_SECONDS; rep++) {   /* the first round is a warm-up */
        double t0 = hd_now(), c0 = cpu_now();
        for (int s = 0; s < 2; s++) be->linear(be, X, M, sh[s][1], sh[s][1], W, NULL, sh[s][2], Y, sh[s][2]);
        if (hd_backend_check(be)) goto fail;
        if (rep) {
            secs += hd_now() - t0;
            cpus += cpu_now() - c0;
            flops += 2.0 * M * D * F * 2;
        }
    }
    r->sgemm_flops = flops, r->sgemm_s = secs, r->sgemm_cpu_s = cpus;
    goto out;
fail:
    child_fail(r);
out:
    if (X) be->free(be, X);
    if (W) be->free(be, W);
    if (Y) be->free(be, Y);
    hd_backend_free(owner);
}

/* The warm-up and the timed forwards at length L: random bases (seeded), the final hidden state out. */
static void child_forward(const args *a, hd_model *m, size_t L, child_msg *r)
{
    hd_backend *owner = NULL, *be = child_backend(a, m, &owner, r);
    if (!be) return;
    int32_t *ids = hd_alloc(L * sizeof(int32_t), "the input tokens");
    float *hidden = ids ? hd_alloc(L * (size_t)m->d_hidden * sizeof(float), "the hidden states") : NULL;
    if (!hidden) goto fail;
    static const int base[4] = {HD_TOK_A, HD_TOK_C, HD_TOK_G, HD_TOK_T};
    int32_t tok[4];
    for (int b = 0; b < 4; b++) tok[b] = hd_model_base_token(m, base[b]);
    uint64_t s = (uint64_t)a->seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < L; i++) {   /* xorshift64 */
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        ids[i] = tok[s >> 62];
    }
    for (long i = 0; i < a->warmup + a->reps; i++) {
        hd_fwd f = {.hidden = hidden, .layer = -1};
        double t0 = hd_now(), c0 = cpu_now();
        if (hd_model_forward(m, be, ids, L, &f) || hd_backend_check(be)) goto fail;
        if (i >= a->warmup) {
            r->cpu_t[r->nrep] = cpu_now() - c0;
            r->t[r->nrep++] = hd_now() - t0;
        }
    }
    if (be->memory_held) r->device_mem = (double)be->memory_held(be);
    goto out;
fail:
    child_fail(r);
out:
    hd_free(ids);
    hd_free(hidden);
    hd_backend_free(owner);
}

/* Run one measurement (L = 0: SGEMM) in a child; its message and peak resident set (bytes).  0, or an exit
 * status with the error printed. */
static int run_child(const args *a, hd_model *m, size_t L, child_msg *r, double *maxrss)
{
    int fd[2];
    if (pipe(fd)) {
        hd_errorf("cannot create a pipe: %s", strerror(errno));
        return EXIT_MODEL;
    }
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        hd_errorf("cannot fork: %s", strerror(errno));
        close(fd[0]), close(fd[1]);
        return EXIT_MODEL;
    }
    if (pid == 0) {
        /* the measurement ends with the bench: a bench killed by a signal (Ctrl-C, a job's time limit sent to
         * its pid) leaves no child computing for minutes on a core nobody owns any more */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(3);
        close(fd[0]);
        child_msg *c = calloc(1, sizeof *c);
        if (!c) _exit(3);
        if (L) child_forward(a, m, L, c);
        else child_sgemm(a, m, c);
        const char *p = (const char *)c;
        for (size_t n = sizeof *c; n;) {
            ssize_t k = write(fd[1], p, n);
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0) _exit(3);
            p += k, n -= (size_t)k;
        }
        _exit(0);
    }
    close(fd[1]);
    memset(r, 0, sizeof *r);
    size_t got = 0;
    while (got < sizeof *r) {
        ssize_t k = read(fd[0], (char *)r + got, sizeof *r - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        got += (size_t)k;
    }
    close(fd[0]);
    int st;
    struct rusage ru;
    while (wait4(pid, &st, 0, &ru) < 0 && errno == EINTR) {}
    char what[64];
    if (L) snprintf(what, sizeof what, "the forward at length %zu", L);
    else snprintf(what, sizeof what, "the SGEMM measurement");
    if (got < sizeof *r) {
        if (WIFSIGNALED(st))
            hd_errorf("%s was killed by signal %d%s", what, WTERMSIG(st), WTERMSIG(st) == 9 ? " (out of memory?)" : "");
        else hd_errorf("%s ended without a result", what);
        return EXIT_MODEL;
    }
    if (r->status) {
        r->err[sizeof r->err - 1] = 0;
        if (r->no_backend) hd_errorf("%s", r->err);
        else hd_errorf("%s: %s", what, r->err);
        return r->status;
    }
    *maxrss = (double)ru.ru_maxrss * 1024;
    return 0;
}

/* ---------------------------------------------------------------- statistics and output */

typedef struct {
    size_t L;
    const char *text;
    double mean, sd, median, tps, rss, dev_mem, flops, gemm_s;
    child_msg msg;
} row;

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static void stats(row *w)
{
    int n = w->msg.nrep;
    double s = 0, ss = 0, v[MAX_REPS];
    for (int i = 0; i < n; i++) s += w->msg.t[i];
    w->mean = s / n;
    for (int i = 0; i < n; i++) ss += (w->msg.t[i] - w->mean) * (w->msg.t[i] - w->mean);
    w->sd = n > 1 ? sqrt(ss / (n - 1)) : 0;
    memcpy(v, w->msg.t, (size_t)n * sizeof *v);
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    w->median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    w->tps = w->L / w->mean;
}

static void human_bytes(double b, char *buf, size_t n)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (b >= 1024 && i < 4) b /= 1024, i++;
    snprintf(buf, n, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

static void human_count(double v, char *buf, size_t n)
{
    if (v >= 1e9) snprintf(buf, n, "%.2f G", v / 1e9);
    else if (v >= 1e6) snprintf(buf, n, "%.2f M", v / 1e6);
    else if (v >= 1e3) snprintf(buf, n, "%.1f k", v / 1e3);
    else snprintf(buf, n, "%.0f", v);
}

typedef struct {
    const char *model, *family;
    double params, sgemm_rate;
    const child_msg *sg;
    hd_cpu_kernels k;
} machine;

/* display width of UTF-8 text (code points) */
static size_t width(const char *s)
{
    size_t w = 0;
    for (; *s; s++) w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

#define NCOL 12

/* one row of cells, padded to the column widths; right-aligned columns are marked in right[] */
static int table_row(hd_outfile *o, char cell[][64], const size_t *w, const int *right)
{
    int rc = 0;
    for (int c = 0; c < NCOL; c++) {
        size_t pad = w[c] - width(cell[c]);
        rc |= hd_out_printf(o, "| %*s%s%*s ", right[c] ? (int)pad : 0, "", cell[c], right[c] ? 0 : (int)pad, "");
    }
    return rc | hd_out_printf(o, "|\n");
}

/* The model's short name: the last component of its location */
static const char *model_name(const char *loc, char *buf, size_t n)
{
    snprintf(buf, n, "%s", loc);
    size_t k = strlen(buf);
    while (k > 1 && buf[k - 1] == '/') buf[--k] = 0;
    const char *slash = strrchr(buf, '/');
    return slash && slash[1] ? slash + 1 : buf;
}

static int write_table(hd_outfile *o, const args *a, const machine *mc, const row *rows, int n)
{
    static const char *const head[NCOL] = {"model", "family", "params", "device", "threads", "length", "tokens/s",
                                           "forward (s)", "peak RSS", "GEMM GFLOP", "GEMM-only (s)", "× GEMM"};
    static const int right[NCOL] = {0, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1};
    char (*cell)[NCOL][64] = calloc((size_t)n + 2, sizeof *cell);
    if (!cell) {
        hd_set_error(HD_ERESOURCE, "out of memory");
        return -1;
    }
    size_t w[NCOL] = {0};
    char p[32], nm[4096];
    human_count(mc->params, p, sizeof p);
    const char *name = model_name(mc->model, nm, sizeof nm);
    for (int c = 0; c < NCOL; c++) snprintf(cell[0][c], 64, "%s", head[c]);
    for (int i = 0; i < n; i++) {
        const row *r = &rows[i];
        char(*x)[64] = cell[i + 2];
        snprintf(x[0], 64, "%s", name);
        snprintf(x[1], 64, "%s", mc->family);
        snprintf(x[2], 64, "%s", p);
        snprintf(x[3], 64, "%s", r->msg.device);
        snprintf(x[4], 64, "%d", r->msg.threads);
        snprintf(x[5], 64, "%zu", r->L);
        snprintf(x[6], 64, "%.1f", r->tps);
        snprintf(x[7], 64, "%.4f ± %.4f", r->mean, r->sd);
        human_bytes(r->rss, x[8], 64);
        snprintf(x[9], 64, "%.3f", r->flops / 1e9);
        if (r->gemm_s > 0) {
            snprintf(x[10], 64, "%.4f", r->gemm_s);
            snprintf(x[11], 64, "%.2f", r->mean / r->gemm_s);
        } else {
            snprintf(x[10], 64, "n/a");
            snprintf(x[11], 64, "n/a");
        }
    }
    for (int i = 0; i < n + 2; i++)
        for (int c = 0; c < NCOL; c++)
            if (i != 1 && width(cell[i][c]) > w[c]) w[c] = width(cell[i][c]);
    for (int c = 0; c < NCOL; c++) {   /* the markdown rule: ---: for right-aligned columns */
        size_t k = w[c] < 63 ? w[c] : 63;
        memset(cell[1][c], '-', k);
        if (right[c]) cell[1][c][k - 1] = ':';
    }
    int rc = 0;
    for (int i = 0; i < n + 2; i++) rc |= table_row(o, cell[i], w, right);
    free(cell);
    rc |= hd_out_printf(o, "\nrepetitions: %ld after %ld warm-up forward%s (mean ± sd); input: random A/C/G/T, seed %ld\n",
                        a->reps, a->warmup, a->warmup == 1 ? "" : "s", a->seed);
    rc |= hd_out_printf(o, "peak RSS: the process of each length (ru_maxrss: model pages touched, buffers, output)");
    if (n && rows[0].dev_mem > 0) {
        char dm[32];
        human_bytes(rows[n - 1].dev_mem, dm, sizeof dm);
        rc |= hd_out_printf(o, "; device memory held at the last length: %s", dm);
    }
    /* (SGEMM in fp32; the device string says which other precision the products ran in) */
    rc |= hd_out_printf(o, "\n%s: %.1f GFLOP/s on %s, shapes %zux%zux%zu and %zux%zux%zu (M×K×N)\n",
                        strstr(mc->sg->device, "bf16") ? "GEMM" : "SGEMM", mc->sgemm_rate / 1e9, mc->sg->device, mc->sg->shape[0][0], mc->sg->shape[0][1], mc->sg->shape[0][2], mc->sg->shape[1][0],
                        mc->sg->shape[1][1], mc->sg->shape[1][2]);
    if (mc->sg->cpu) {
        rc |= hd_out_printf(o, "BLAS: %s%s%s%s%s\n", mc->k.blas, mc->k.blas_core[0] ? ", core " : "", mc->k.blas_core,
                            mc->k.blas_config[0] ? "; " : "", mc->k.blas_config);
        rc |= hd_out_printf(o, "FFT: FFTW3 single precision, planner %s; wisdom %s%s\n", mc->k.fft_planner,
                            mc->k.fft_wisdom[0] ? mc->k.fft_wisdom : "none",
                            mc->k.fft_wisdom[0] ? (mc->k.fft_wisdom_present ? " (present)" : " (absent: made on first use)") : "");
    } else {
        rc |= hd_out_printf(o, "BLAS: cuBLAS; FFT: cuFFT\n");
    }
    return rc;
}

static int write_json(hd_outfile *o, const args *a, const machine *mc, const row *rows, int n, hd_model *m)
{
    json_t *root = json_object(), *res = json_array();
    json_object_set_new(root, "program", json_string("hyenadna bench"));
    json_object_set_new(root, "version", json_string(PACKAGE_VERSION));
    json_object_set_new(root, "model", json_pack("{s:s, s:s, s:I, s:i, s:i, s:I}", "location", mc->model, "family",
                                                 mc->family, "params", (json_int_t)mc->params, "d_model", m->d_model, "n_layer",
                                                 m->n_layer, "max_length", (json_int_t)m->max_len));
    json_object_set_new(root, "device", json_string(mc->sg->device));
    json_object_set_new(root, "threads", json_integer(mc->sg->threads));
    json_object_set_new(root, "repetitions", json_integer(a->reps));
    json_object_set_new(root, "warmup", json_integer(a->warmup));
    json_object_set_new(root, "seed", json_integer(a->seed));
    json_t *shapes = json_array();
    for (int s = 0; s < 2; s++)
        json_array_append_new(shapes, json_pack("[I, I, I]", (json_int_t)mc->sg->shape[s][0], (json_int_t)mc->sg->shape[s][1],
                                                (json_int_t)mc->sg->shape[s][2]));
    json_object_set_new(root, "sgemm", json_pack("{s:f, s:f, s:f, s:f, s:o}", "gflops", mc->sgemm_rate / 1e9, "flops",
                                                 mc->sg->sgemm_flops, "seconds", mc->sg->sgemm_s, "cpu_seconds",
                                                 mc->sg->sgemm_cpu_s, "shapes", shapes));
    if (mc->sg->cpu)
        json_object_set_new(root, "kernels",
                            json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:b}", "blas", mc->k.blas, "blas_core", mc->k.blas_core,
                                      "blas_config", mc->k.blas_config, "fft", "FFTW3 single precision", "fft_planner",
                                      mc->k.fft_planner, "fft_wisdom", mc->k.fft_wisdom[0] ? mc->k.fft_wisdom : NULL,
                                      "fft_wisdom_present", mc->k.fft_wisdom_present));
    else json_object_set_new(root, "kernels", json_pack("{s:s, s:s}", "blas", "cuBLAS", "fft", "cuFFT"));
    for (int i = 0; i < n; i++) {
        const row *w = &rows[i];
        json_t *t = json_array(), *cpu = json_array();
        for (int j = 0; j < w->msg.nrep; j++) {
            json_array_append_new(t, json_real(w->msg.t[j]));
            json_array_append_new(cpu, json_real(w->msg.cpu_t[j]));
        }
        json_t *r = json_pack("{s:s, s:I, s:o, s:f, s:f, s:f, s:f, s:f, s:f}", "length_text", w->text, "length",
                              (json_int_t)w->L, "seconds", t, "mean_s", w->mean, "sd_s", w->sd, "median_s", w->median,
                              "tokens_per_s", w->tps, "peak_rss_bytes", w->rss, "gemm_flops", w->flops);
        json_object_set_new(r, "cpu_seconds", cpu);
        json_object_set_new(r, "gemm_only_s", w->gemm_s > 0 ? json_real(w->gemm_s) : json_null());
        json_object_set_new(r, "ratio_to_gemm", w->gemm_s > 0 ? json_real(w->mean / w->gemm_s) : json_null());
        json_object_set_new(r, "device_memory_bytes", w->dev_mem > 0 ? json_real(w->dev_mem) : json_null());
        json_array_append_new(res, r);
    }
    json_object_set_new(root, "results", res);
    char *s = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    json_decref(root);
    if (!s) {
        hd_set_error(HD_ERESOURCE, "out of memory");
        return -1;
    }
    int rc = hd_out_printf(o, "%s\n", s);
    free(s);
    return rc;
}

/* ---------------------------------------------------------------- main */

int main_bench(int argc, char **argv)
{
    args a;
    int r = parse_args(argc, argv, &a);
    if (r) return r > 0 ? EXIT_OK : EXIT_INPUT;
    const char *prec = a.co.precision ? a.co.precision : getenv("HYENADNA_PRECISION");
    if (prec && *prec && !hd_precision_parse(prec)) {
        hd_errorf("%s: '%s' is not one of fp32, tf32, bf16", a.co.precision ? "option --precision" : "HYENADNA_PRECISION", prec);
        return EXIT_INPUT;
    }
    hd_model *m = hd_open_model(a.co.model);
    if (!m) return hd_exit_status(hd_error_kind());
    int status = EXIT_OK;
    row *rows = NULL;
    hd_outfile *o = NULL;

    /* the lengths: the given ones must fit the model; the defaults are those that fit, else the maximum */
    if (a.lengths_given) {
        for (int i = 0; i < a.nlen; i++)
            if (m->max_len > 0 && a.len[i] > (size_t)m->max_len) {
                hd_errorf("option -L: length %s (%zu tokens) exceeds the model's maximum length of %ld tokens", a.len_text[i],
                          a.len[i], m->max_len);
                status = EXIT_INPUT;
                goto out;
            }
    } else {
        static const char *const def[] = {"1k", "32k", "160k", "1m"};
        for (int i = 0; i < 4; i++) {
            size_t L;
            parse_length(def[i], &L);
            if (m->max_len > 0 && L > (size_t)m->max_len) continue;
            a.len[a.nlen] = L;
            snprintf(a.len_text[a.nlen++], sizeof a.len_text[0], "%s", def[i]);
        }
        if (!a.nlen) {
            a.len[0] = (size_t)m->max_len;
            snprintf(a.len_text[a.nlen++], sizeof a.len_text[0], "%ld", m->max_len);
        }
    }

    /* the output before the measurements: a FILE that cannot be created is found before a long bench runs
     * (the children write nothing to it: they end with _exit, and stdio is flushed before each fork) */
    if (!(o = hd_out_open(a.out, 1))) {
        status = hd_fail();
        goto out;
    }

    machine mc = {.model = hd_resolve_model(a.co.model), .family = hd_family_name(m->family),
                  .params = (double)hd_model_n_params(m)};
    if (!mc.model) mc.model = m->location;
    hd_cpu_kernels_get(&mc.k);
    if (!(rows = calloc((size_t)a.nlen + 1, sizeof *rows))) {
        hd_errorf("out of memory");
        status = EXIT_MODEL;
        goto out;
    }
    hd_progress pr;
    hd_progress_start(&pr, a.co.progress, "lengths", (uint64_t)a.nlen);
    double rss;
    child_msg *sg = &rows[a.nlen].msg;
    if ((status = run_child(&a, m, 0, sg, &rss))) goto out;
    mc.sg = sg;
    if (sg->prec_ignored) hd_warnf("precision %s ignored: the CPU backend computes in fp32", prec);
    mc.sgemm_rate = sg->sgemm_s > 0 ? sg->sgemm_flops / sg->sgemm_s : 0;
    hd_infof("SGEMM: %.1f GFLOP/s on %s", mc.sgemm_rate / 1e9, sg->device);
    uint64_t bases = 0;
    for (int i = 0; i < a.nlen; i++) {
        row *w = &rows[i];
        w->L = a.len[i], w->text = a.len_text[i];
        if ((status = run_child(&a, m, w->L, &w->msg, &w->rss))) goto out;
        stats(w);
        w->dev_mem = w->msg.device_mem;
        w->flops = hd_model_gemm_flops(m, w->L, 0);
        w->gemm_s = mc.sgemm_rate > 0 && w->flops > 0 ? w->flops / mc.sgemm_rate : 0;
        hd_infof("length %zu: %.1f tokens/s", w->L, w->tps);
        bases += (uint64_t)w->L * (uint64_t)(a.reps + a.warmup);
        hd_progress_update(&pr, (uint64_t)i + 1, bases);
    }
    hd_progress_end(&pr);

    if (a.json ? write_json(o, &a, &mc, rows, a.nlen, m) : write_table(o, &a, &mc, rows, a.nlen)) {
        status = hd_fail();
        goto out;
    }
    int closed = hd_out_close(o);
    o = NULL;
    if (closed) status = hd_fail();
out:
    if (status && o) hd_out_abort(o);
    free(rows);
    hd_model_close(m);
    return status;
}
