/* generate.c -- `hyenadna generate`: continue every FASTA record with bases sampled from a causal model,
 * through the model's cached decoder (one batched forward over the prompt, then one step per base). */
#include "config.h"
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "output.h"
#include "sampler.h"
#include "seqio.h"
#include "tokenizer.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: hyenadna generate [options] [-m MODEL] <prompts.fa>|-\n"
            "\n"
            "Continue every FASTA record (the prompt) with N bases sampled from a causal model (HyenaDNA,\n"
            "a unidirectional DNA-xLSTM): one FASTA record per prompt, named after it (NAME_s1 ... NAME_sK\n"
            "with --num-samples K), holding the new bases, 60 per line.  Sampling is over A, C, G and T\n"
            "only.  The same --seed gives the same output for any --threads.\n"
            "\n"
            "Output options:\n"
            "  -o, --output FILE      write FASTA to FILE (.gz: BGZF) [standard output]\n"
            "  -n, --num-bases INT    new bases per prompt [100]\n"
            "      --num-samples INT  samples per prompt [1]\n"
            "      --with-prompt      write the prompt, then the new bases\n"
            "Input options:\n"
            "      --truncate-prompt  drop the start of a prompt that, with the new bases, exceeds the model's\n"
            "                         maximum length [a prompt longer than it is an error]\n"
            "Sampling options:\n"
            "      --temperature FLOAT  divide the logits by FLOAT; 0 is greedy (the most likely base) [1]\n"
            "      --top-k INT        sample among the INT most likely bases, 1..4 [4: off]\n"
            "      --top-p FLOAT      sample among the fewest most likely bases holding FLOAT of the\n"
            "                         probability, (0, 1] [1: off]\n"
            "      --seed INT         seed of the random numbers, 0..18446744073709551615 [random, printed\n"
            "                         on stderr]\n");
    hd_common_usage(fp);
}

static int parse_seed(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || errno || *s == '-' || *s == '+') {
        hd_errorf("option --seed: '%s' is not an integer in 0..18446744073709551615", s);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

/* a seed from the system's entropy (else the clock and the process id) */
static uint64_t random_seed(void)
{
    uint64_t s = 0;
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd >= 0) {
        if (read(fd, &s, sizeof s) != (ssize_t)sizeof s) s = 0;
        close(fd);
    }
    if (!s) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        s = (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
    }
    return s;
}

typedef struct {
    hd_model *m;
    hd_backend *be;
    hd_outfile *o;
    const char *in;          /* the prompts' file */
    hd_sampling smp;
    uint64_t seed;
    long n;                  /* new bases per prompt */
    long samples;
    int with_prompt, truncate, progress;
    int32_t acgt[4];         /* token ids of A, C, G, T */
    char desc[1024];         /* the header description */
    float *logits, *logits0; /* [n_logits]: the current step's, the prompt's last */
    char *bases;             /* [n] */
    double t_prefill, t_steps;
    size_t n_steps;
} gen;

static void show_progress(const char *name, long done, long total, double *last, int final)
{
    double now = hd_now();
    if (!final && now - *last < 0.25) return;
    *last = now;
    fprintf(stderr, "\rhyenadna generate: %s: %ld/%ld bases%s", name, done, total, final ? "\n" : "");
    fflush(stderr);
}

/* write bases[0..n) after `col` bases already on the line, 60 per line; returns the new column */
static int put_bases(hd_outfile *o, const char *s, size_t n, size_t *col)
{
    while (n) {
        size_t k = 60 - *col < n ? 60 - *col : n;
        if (hd_out_write(o, s, k) < 0) return -1;
        s += k, n -= k, *col += k;
        if (*col == 60) {
            if (hd_out_write(o, "\n", 1) < 0) return -1;
            *col = 0;
        }
    }
    return 0;
}

/* the decoder of a prompt: prefilled with ids [P] for cap tokens, the last prompt position's logits in
 * g->logits0; NULL after printing the error (its exit status in *status) */
static hd_decoder *prefill(gen *g, const hd_seqrec *rec, const int32_t *ids, size_t P, size_t cap, int *status)
{
    double t0 = hd_now();
    hd_decoder *d = hd_decoder_new(g->m, g->be, cap);
    if (!d || hd_decoder_prefill(d, ids, P, g->logits0)) {
        hd_errorf("record %s: %s", rec->name, hd_error());
        *status = hd_error_kind() == HD_EMODEL ? EXIT_MODEL : EXIT_INPUT;
        hd_decoder_free(d);
        return NULL;
    }
    g->t_prefill += hd_now() - t0;
    return d;
}

/* Sample `sample` of a prompt: n bases → g->bases, from decoder d (prefilled, consumed).  0, or the exit
 * status. */
static int sample_one(gen *g, const hd_seqrec *rec, hd_decoder *d, long n, long sample)
{
    hd_rng r;
    hd_rng_stream(&r, g->seed, (uint64_t)rec->index, (uint64_t)sample);
    double t1 = hd_now(), last = 0;
    memcpy(g->logits, g->logits0, (size_t)g->m->n_logits * sizeof(float));
    for (long i = 0; i < n; i++) {
        int b = hd_sample_base(g->logits, g->acgt, &g->smp, &r);
        g->bases[i] = "ACGT"[b];
        if (g->progress) show_progress(rec->name, i + 1, n, &last, 0);
        if (i + 1 < n && hd_decoder_step(d, g->acgt[b], g->logits)) {
            hd_errorf("record %s: %s", rec->name, hd_error());
            return hd_error_kind() == HD_EMODEL ? EXIT_MODEL : EXIT_INPUT;
        }
    }
    if (g->progress) show_progress(rec->name, n, n, &last, 1);
    g->t_steps += hd_now() - t1;
    g->n_steps += n > 1 ? (size_t)n - 1 : 0;
    return 0;
}

/* every sample of a prompt, written as it is done: one prefill, forked for each sample when the family's
 * decoder can fork, else repeated */
static int generate_samples(gen *g, const hd_seqrec *rec, const int32_t *ids, size_t P, long n)
{
    size_t cap = P + (size_t)n - 1;   /* the last base is drawn, never fed */
    int status = 0;
    hd_decoder *d0 = prefill(g, rec, ids, P, cap, &status), *d = NULL;
    if (!d0) return status;
    for (long k = 0; k < g->samples && !status; k++) {
        if (k + 1 == g->samples) d = d0, d0 = NULL;   /* the last sample consumes the prefilled decoder */
        else if (d0->fork) {
            if (!(d = hd_decoder_fork(d0))) { status = hd_fail(); break; }
        } else if (!(d = prefill(g, rec, ids, P, cap, &status))) break;
        if ((status = sample_one(g, rec, d, n, k))) break;
        hd_decoder_free(d);
        d = NULL;
        size_t col = 0;
        int w = g->samples > 1 ? hd_out_printf(g->o, ">%s_s%ld %s\n", rec->name, k + 1, g->desc)
                               : hd_out_printf(g->o, ">%s %s\n", rec->name, g->desc);
        if (w < 0 || (g->with_prompt && put_bases(g->o, rec->seq, rec->len, &col)) ||
            put_bases(g->o, g->bases, (size_t)n, &col) || (col && hd_out_write(g->o, "\n", 1) < 0))
            status = hd_fail();
    }
    hd_decoder_free(d);
    hd_decoder_free(d0);
    return status;
}

static int generate_record(gen *g, const hd_seqrec *rec)
{
    hd_model *m = g->m;
    size_t L = rec->len, bos = m->bos_id >= 0;
    int32_t *ids = malloc((L + bos ? L + bos : 1) * sizeof *ids);
    if (!ids) { hd_errorf("out of memory"); return EXIT_MODEL; }
    int status = 0;
    if (hd_tokenize(rec->seq, L, HD_SPECIAL_NONE, ids + bos, rec->name) < 0) {
        hd_errorf("%s: %s", g->in, hd_error());
        status = EXIT_INPUT;
        goto out;
    }
    if (bos) ids[0] = m->bos_id;
    size_t P = L + bos, skip = 0;
    if (!P) {
        hd_errorf("record %s: empty prompt: %s models have no start token, so a prompt needs at least one base",
                  rec->name, hd_family_name(m->family));
        status = EXIT_INPUT;
        goto out;
    }
    long n = g->n;
    size_t maxl = m->max_len > 0 ? (size_t)m->max_len : 0;
    if (maxl && g->truncate && P + (size_t)n - 1 > maxl) {
        /* keep the last bases: as many as leave room for the n new ones, at least one */
        size_t room = (size_t)n - 1 < maxl ? maxl - ((size_t)n - 1) : 1;
        if (room < bos + 1) room = bos + 1;
        if (P > room) {
            skip = P - room;
            memmove(ids + bos, ids + bos + skip, (room - bos) * sizeof *ids);
            P = room;
            hd_infof("record %s: prompt truncated to its last %zu bases", rec->name, P - bos);
        }
    }
    if (maxl && P > maxl) {
        hd_errorf("record %s: the prompt of %zu bases exceeds the model's maximum length of %zu tokens "
                  "(--truncate-prompt keeps its last bases)", rec->name, L, maxl);
        status = EXIT_INPUT;
        goto out;
    }
    if (maxl && P + (size_t)n - 1 > maxl) {
        long fit = (long)(maxl - P + 1);
        hd_warnf("record %s: generation stops at the model's maximum length of %zu tokens: %ld of %ld new bases",
                 rec->name, maxl, fit, n);
        n = fit;
    }
    status = generate_samples(g, rec, ids, P, n);
out:
    free(ids);
    return status;
}

int main_generate(int argc, char **argv)
{
    enum { OPT_TEMP = OPT_COMMON_END, OPT_TOPK, OPT_TOPP, OPT_SEED, OPT_SAMPLES, OPT_WITH_PROMPT, OPT_TRUNCATE };
    static const struct option lo[] = {
        HD_COMMON_LONGOPTS,
        {"output", required_argument, NULL, 'o'}, {"num-bases", required_argument, NULL, 'n'},
        {"temperature", required_argument, NULL, OPT_TEMP}, {"top-k", required_argument, NULL, OPT_TOPK},
        {"top-p", required_argument, NULL, OPT_TOPP}, {"seed", required_argument, NULL, OPT_SEED},
        {"num-samples", required_argument, NULL, OPT_SAMPLES}, {"with-prompt", no_argument, NULL, OPT_WITH_PROMPT},
        {"truncate-prompt", no_argument, NULL, OPT_TRUNCATE}, {NULL, 0, NULL, 0}};
    hd_common_opts co = {0};
    const char *out = "-";
    gen g = {.n = 100, .samples = 1, .smp = {1.0, 0, 1.0}};
    int c, seed_set = 0;
    long v;
    while ((c = getopt_long(argc, argv, "m:o:n:@:h", lo, NULL)) >= 0) {
        int r = hd_common_opt(&co, c, optarg);
        if (r < 0) return EXIT_INPUT;
        if (r) continue;
        switch (c) {
        case 'o': out = optarg; break;
        case 'n':
            if (hd_parse_long("--num-bases", optarg, 1, 1L << 40, &g.n)) return EXIT_INPUT;
            break;
        case OPT_SAMPLES:
            if (hd_parse_long("--num-samples", optarg, 1, 1L << 30, &g.samples)) return EXIT_INPUT;
            break;
        case OPT_TEMP:
            if (hd_parse_double("--temperature", optarg, 0, 1e6, &g.smp.temperature)) return EXIT_INPUT;
            break;
        case OPT_TOPK:
            if (hd_parse_long("--top-k", optarg, 1, 4, &v)) return EXIT_INPUT;
            g.smp.top_k = (int)v;
            break;
        case OPT_TOPP:
            if (hd_parse_double("--top-p", optarg, 0, 1, &g.smp.top_p)) return EXIT_INPUT;
            if (g.smp.top_p <= 0) {
                hd_errorf("option --top-p: %g is out of range (0, 1]", g.smp.top_p);
                return EXIT_INPUT;
            }
            break;
        case OPT_SEED:
            if (parse_seed(optarg, &g.seed)) return EXIT_INPUT;
            seed_set = 1;
            break;
        case OPT_WITH_PROMPT: g.with_prompt = 1; break;
        case OPT_TRUNCATE: g.truncate = 1; break;
        case 'h':
        case OPT_HELP: usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_INPUT;
        }
    }
    const char *in;
    if (optind < argc) in = argv[optind++];
    else if (!isatty(STDIN_FILENO)) in = "-";
    else {
        hd_errorf("no prompt FASTA given");
        usage(stderr);
        return EXIT_INPUT;
    }
    if (optind < argc) {
        hd_errorf("unexpected argument '%s'", argv[optind]);
        return EXIT_INPUT;
    }
    if (hd_has_suffix(out, ".gz") && hd_refuse_tty_output(out, "compressed")) return EXIT_INPUT;
    if (!seed_set) {
        g.seed = random_seed();
        if (g.smp.temperature > 0 && g.smp.top_k != 1 && hd_verbosity >= 2)
            fprintf(stderr, "hyenadna generate: random seed %llu (--seed %llu repeats this run)\n",
                    (unsigned long long)g.seed, (unsigned long long)g.seed);
    }

    int status = EXIT_OK;
    hd_fasta *fa = NULL;
    if (!(g.m = hd_open_model(co.model))) return hd_error_kind() == HD_EMODEL ? EXIT_MODEL : EXIT_INPUT;
    if (!g.m->causal) {
        hd_errorf("%s is a masked %s model (%s): generate needs a causal (next-base) model such as HyenaDNA",
                  g.m->location, hd_family_name(g.m->family), g.m->variant);
        status = EXIT_INPUT;
        goto done;
    }
    if (hd_tokenize("ACGT", 4, HD_SPECIAL_NONE, g.acgt, "ACGT") != 4) { status = hd_fail(); goto done; }
    snprintf(g.desc, sizeof g.desc, "model=%s temperature=%g top_k=%d top_p=%g seed=%llu", g.m->location,
             g.smp.temperature, g.smp.top_k ? g.smp.top_k : 4, g.smp.top_p, (unsigned long long)g.seed);
    for (char *p = g.desc; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
    if (!(g.be = hd_open_backend(&co))) { status = hd_error_kind() == HD_EMODEL ? EXIT_MODEL : EXIT_INPUT; goto done; }
    if (!(g.logits = hd_alloc((size_t)g.m->n_logits * sizeof(float), "the logits")) ||
        !(g.logits0 = hd_alloc((size_t)g.m->n_logits * sizeof(float), "the logits")) ||
        !(g.bases = hd_alloc((size_t)g.n, "the new bases"))) {
        status = hd_fail();
        goto done;
    }
    g.progress = (co.progress || isatty(STDERR_FILENO)) && hd_verbosity >= 2;
    g.in = in;
    if (!(fa = hd_fasta_open(in))) { status = hd_fail(); goto done; }
    if (!(g.o = hd_out_open(out, 1))) { status = hd_fail(); goto done; }
    hd_seqrec rec;
    int r;
    long nrec = 0;
    while ((r = hd_fasta_next(fa, &rec)) > 0) {
        if ((status = generate_record(&g, &rec))) goto done;
        nrec++;
    }
    if (r < 0) { status = hd_fail(); goto done; }
    if (hd_out_close(g.o)) { g.o = NULL; status = hd_fail(); goto done; }
    g.o = NULL;
    hd_infof("%ld prompts; prefill %.3f s; %zu decoding steps in %.3f s (%.1f bases/s)", nrec, g.t_prefill, g.n_steps,
             g.t_steps, g.t_steps > 0 ? (double)g.n_steps / g.t_steps : 0.0);
done:
    if (g.o) hd_out_abort(g.o);
    hd_fasta_close(fa);
    hd_free(g.logits);
    hd_free(g.logits0);
    hd_free(g.bases);
    hd_backend_free(g.be);
    hd_model_close(g.m);
    return status;
}
