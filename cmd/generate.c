/* generate.c -- `hyenadna generate`: continue every FASTA record with bases sampled from a causal model,
 * through the model's cached decoder (one batched forward over the prompt, then one step per base). */
#include "config.h"
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "input.h"
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
            "Evo 2, a unidirectional DNA-xLSTM): one FASTA record per prompt, named after it (NAME_s1 ... NAME_sK\n"
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
            "      --keep-case        Evo 2 (byte tokens): feed soft-masked lower-case prompt bases as they are\n"
            "                         [upper-case them, as for every model]\n"
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

#define GEN_BUF 4096   /* new bases buffered before they are written */

/* the options */
typedef struct {
    hd_common_opts co;
    const char *out, *in;
    hd_sampling smp;
    uint64_t seed;
    int seed_set, with_prompt, truncate, keep_case;
    long n;                  /* new bases per prompt */
    long samples;
} args;

/* a run */
typedef struct {
    const args *a;
    hd_model *m;
    hd_backend *be;
    hd_outfile *o;
    int32_t acgt[4];         /* token ids of A, C, G, T */
    char desc[1024];         /* the header description */
    float *logits, *logits0; /* [n_logits]: the current step's, the prompt's last */
    char *bases;             /* [GEN_BUF]: new bases on their way to the output */
    hd_progress pg;
    uint64_t prompts, made;  /* prompts done, bases generated (for the progress line) */
    int status;              /* of an empty prompt met by the reader's skip hook */
    double t_prefill, t_steps;
    size_t n_steps;
} gen;

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
        hd_errorf("record '%s' of %s: %s", rec->name, hd_input_name(g->a->in), hd_error());
        *status = hd_exit_status(hd_error_kind());
        hd_decoder_free(d);
        return NULL;
    }
    g->t_prefill += hd_now() - t0;
    return d;
}

/* Sample `sample` of a prompt: n bases from decoder d (prefilled, consumed), written after `col` bases already
 * on the line as they are drawn, GEN_BUF at a time, so that a model without a maximum length (an sLSTM stack)
 * needs no memory for -n.  0, or the exit status. */
static int sample_one(gen *g, const hd_seqrec *rec, hd_decoder *d, long n, long sample, size_t *col)
{
    hd_rng r;
    hd_rng_stream(&r, g->a->seed, (uint64_t)rec->index, (uint64_t)sample);
    double t1 = hd_now();
    memcpy(g->logits, g->logits0, (size_t)g->m->n_logits * sizeof(float));
    size_t nb = 0;
    for (long i = 0; i < n; i++) {
        int b = hd_sample_base(g->logits, g->acgt, &g->a->smp, &r);
        g->bases[nb++] = "ACGT"[b];
        if ((nb == GEN_BUF || i + 1 == n) && put_bases(g->o, g->bases, nb, col)) return hd_fail();
        if (nb == GEN_BUF) nb = 0;
        hd_progress_update(&g->pg, g->prompts, ++g->made);
        if (i + 1 < n && hd_decoder_step(d, g->acgt[b], g->logits)) {
            hd_errorf("record '%s' of %s: %s", rec->name, hd_input_name(g->a->in), hd_error());
            return hd_exit_status(hd_error_kind());
        }
    }
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
    long samples = g->a->samples;
    for (long k = 0; k < samples && !status; k++) {
        if (k + 1 == samples) d = d0, d0 = NULL;   /* the last sample consumes the prefilled decoder */
        else if (d0->fork) {
            if (!(d = hd_decoder_fork(d0))) { status = hd_fail(); break; }
        } else if (!(d = prefill(g, rec, ids, P, cap, &status))) break;
        size_t col = 0;
        int w = samples > 1 ? hd_out_printf(g->o, ">%s_s%ld %s\n", rec->name, k + 1, g->desc)
                               : hd_out_printf(g->o, ">%s %s\n", rec->name, g->desc);
        if (w < 0 || (g->a->with_prompt && put_bases(g->o, rec->seq, rec->len, &col))) { status = hd_fail(); break; }
        if ((status = sample_one(g, rec, d, n, k, &col))) break;
        hd_decoder_free(d);
        d = NULL;
        if (col && hd_out_write(g->o, "\n", 1) < 0) status = hd_fail();
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
    if (hd_model_tokenize(m, rec->seq, L, HD_SPECIAL_NONE, ids + bos, rec->name) < 0) {
        hd_errorf("%s: %s", hd_input_name(g->a->in), hd_error());
        status = EXIT_INPUT;
        goto out;
    }
    if (bos) ids[0] = m->bos_id;
    size_t P = L + bos, skip = 0;
    if (!P) {
        hd_errorf("record '%s' of %s: empty prompt: %s models have no start token, so a prompt needs at least one "
                  "base", rec->name, hd_input_name(g->a->in), hd_family_name(m->family));
        status = EXIT_INPUT;
        goto out;
    }
    long n = g->a->n;
    size_t maxl = m->max_len > 0 ? (size_t)m->max_len : 0;
    if (maxl && g->a->truncate && P + (size_t)n - 1 > maxl) {
        /* keep the last bases: as many as leave room for the n new ones, at least one */
        size_t room = (size_t)n - 1 < maxl ? maxl - ((size_t)n - 1) : 1;
        if (room < bos + 1) room = bos + 1;
        if (P > room) {
            skip = P - room;
            memmove(ids + bos, ids + bos + skip, (room - bos) * sizeof *ids);
            P = room;
            hd_infof("record '%s' of %s: prompt truncated to its last %zu bases", rec->name, hd_input_name(g->a->in),
                     P - bos);
        }
    }
    if (maxl && P > maxl) {
        hd_errorf("record '%s' of %s: the prompt of %zu bases exceeds the model's maximum length of %zu tokens "
                  "(--truncate-prompt keeps its last bases)", rec->name, hd_input_name(g->a->in), L, maxl);
        status = EXIT_INPUT;
        goto out;
    }
    if (maxl && P + (size_t)n - 1 > maxl) {
        long fit = (long)(maxl - P + 1);
        hd_warnf("record '%s' of %s: generation stops at the model's maximum length of %zu tokens: %ld of %ld new "
                 "bases", rec->name, hd_input_name(g->a->in), maxl, fit, n);
        n = fit;
    }
    if (!(status = generate_samples(g, rec, ids, P, n))) hd_progress_update(&g->pg, ++g->prompts, g->made);
out:
    free(ids);
    return status;
}

/* The reader skips empty records: an empty prompt is generated from here (the start token alone), or is
 * an error for families without one; other skips are warned about as usual. */
static void on_skip(void *ud, hd_fasta *f, const hd_seqrec *rec, int why)
{
    gen *g = ud;
    if (why != HD_SKIP_EMPTY) hd_fasta_skip_warn(f, rec, why);
    else if (!g->status) g->status = generate_record(g, rec);
}

/* 0 parsed, 1 --help printed, -1 usage error (printed) */
static int parse_args(int argc, char **argv, args *a)
{
    enum { OPT_TEMP = OPT_COMMON_END, OPT_TOPK, OPT_TOPP, OPT_SEED, OPT_SAMPLES, OPT_WITH_PROMPT, OPT_TRUNCATE,
           OPT_KEEPCASE };
    static const struct option lo[] = {
        HD_COMMON_LONGOPTS,
        {"output", required_argument, NULL, 'o'}, {"num-bases", required_argument, NULL, 'n'},
        {"temperature", required_argument, NULL, OPT_TEMP}, {"top-k", required_argument, NULL, OPT_TOPK},
        {"top-p", required_argument, NULL, OPT_TOPP}, {"seed", required_argument, NULL, OPT_SEED},
        {"num-samples", required_argument, NULL, OPT_SAMPLES}, {"with-prompt", no_argument, NULL, OPT_WITH_PROMPT},
        {"truncate-prompt", no_argument, NULL, OPT_TRUNCATE}, {"keep-case", no_argument, NULL, OPT_KEEPCASE},
        {NULL, 0, NULL, 0}};
    *a = (args){.out = "-", .n = 100, .samples = 1, .smp = {1.0, 0, 1.0}};
    int c;
    long v;
    while ((c = getopt_long(argc, argv, "m:c:o:n:@:h", lo, NULL)) >= 0) {
        int r = hd_common_opt(&a->co, c, optarg);
        if (r < 0) return -1;
        if (r) continue;
        switch (c) {
        case 'o': a->out = optarg; break;
        case 'n':
            if (hd_parse_long("--num-bases", optarg, 1, 1L << 40, &a->n)) return -1;
            break;
        case OPT_SAMPLES:
            if (hd_parse_long("--num-samples", optarg, 1, 1L << 30, &a->samples)) return -1;
            break;
        case OPT_TEMP:
            if (hd_parse_double("--temperature", optarg, 0, 1e6, &a->smp.temperature)) return -1;
            break;
        case OPT_TOPK:
            if (hd_parse_long("--top-k", optarg, 1, 4, &v)) return -1;
            a->smp.top_k = (int)v;
            break;
        case OPT_TOPP:
            if (hd_parse_double_in("--top-p", optarg, 0, 1, 1, &a->smp.top_p)) return -1;
            break;
        case OPT_SEED:
            if (parse_seed(optarg, &a->seed)) return -1;
            a->seed_set = 1;
            break;
        case OPT_WITH_PROMPT: a->with_prompt = 1; break;
        case OPT_TRUNCATE: a->truncate = 1; break;
        case OPT_KEEPCASE: a->keep_case = 1; break;
        case 'h':
        case OPT_HELP: usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (!(a->in = hd_input_arg(argc, argv, "FASTA prompts; '-' for standard input", usage))) return -1;
    if ((hd_has_suffix(a->out, ".gz") || hd_has_suffix(a->out, ".bgz")) && hd_refuse_tty_output(a->out, "compressed")) return -1;
    if (!a->seed_set) a->seed = random_seed();   /* printed by main_generate once the run can start */
    return 0;
}

/* the model (causal), the backend, the buffers; an exit status */
static int setup(gen *g)
{
    const args *a = g->a;
    if (!(g->m = hd_open_model(a->co.model))) return hd_exit_status(hd_error_kind());
    hd_model *m = g->m;
    if (!m->causal) {
        hd_errorf("%s is a masked or non-causal %s model, variant %s: generate needs a causal (next-base) model "
                  "(HyenaDNA, Evo 2, a unidirectional DNA-xLSTM with causal convolutions)", m->location,
                  hd_family_name(m->family), m->variant);
        return EXIT_INPUT;
    }
    if (a->keep_case) hd_keep_case(m);
    for (int b = 0; b < 4; b++) g->acgt[b] = hd_model_base_token(m, HD_TOK_A + b);
    snprintf(g->desc, sizeof g->desc, "model=%s temperature=%g top_k=%d top_p=%g seed=%llu", m->location,
             a->smp.temperature, a->smp.top_k ? a->smp.top_k : 4, a->smp.top_p, (unsigned long long)a->seed);
    for (char *p = g->desc; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
    if (!(g->be = hd_open_backend(&a->co))) return hd_exit_status(hd_error_kind());
    /* the new bases are written as they come, GEN_BUF at a time: -n asks for no memory */
    size_t nb = (size_t)a->n < GEN_BUF ? (size_t)a->n : GEN_BUF;
    if (!(g->logits = hd_alloc((size_t)m->n_logits * sizeof(float), "the logits")) ||
        !(g->logits0 = hd_alloc((size_t)m->n_logits * sizeof(float), "the logits")) ||
        !(g->bases = hd_alloc(nb, "the new bases")))
        return hd_fail();
    return EXIT_OK;
}

int main_generate(int argc, char **argv)
{
    args a;
    int r = parse_args(argc, argv, &a);
    if (r) return r > 0 ? EXIT_OK : EXIT_INPUT;

    gen g = {.a = &a};
    hd_fasta *fa = NULL;
    int status = setup(&g);
    if (status) goto done;
    if (!(fa = hd_fasta_open(a.in))) { status = hd_fail(); goto done; }
    hd_fasta_set_skip_hook(fa, on_skip, &g);
    if (!(g.o = hd_out_open(a.out, 1))) { status = hd_fail(); goto done; }
    /* the random seed of a run that samples, once it can run (not for a refused model, input or output) */
    if (!a.seed_set && a.smp.temperature > 0 && a.smp.top_k != 1 && hd_verbosity >= 2)
        fprintf(stderr, "hyenadna generate: random seed %llu (--seed %llu repeats this run)\n",
                (unsigned long long)a.seed, (unsigned long long)a.seed);
    hd_seqrec rec;
    hd_progress_start(&g.pg, a.co.progress, "prompts", 0);
    while ((r = hd_fasta_next(fa, &rec)) > 0 && !g.status)
        if ((status = generate_record(&g, &rec))) goto done;
    hd_progress_end(&g.pg);
    if (g.status) { status = g.status; goto done; }
    if (r < 0) { status = hd_fail(); goto done; }
    if (hd_out_close(g.o)) { g.o = NULL; status = hd_fail(); goto done; }
    g.o = NULL;
    hd_infof("%" PRIu64 " prompts; prefill %.3f s; %zu decoding steps in %.3f s (%.1f bases/s)", g.prompts, g.t_prefill,
             g.n_steps, g.t_steps, g.t_steps > 0 ? (double)g.n_steps / g.t_steps : 0.0);
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
