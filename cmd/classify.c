/* classify.c -- `hyenadna classify`: in-context and few-shot classification of sequences and windows. */
#include "config.h"
#include "common.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bed.h"
#include "classify.h"
#include "input.h"
#include "output.h"
#include "workers.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: hyenadna classify [options] [-m MODEL] --train LABELLED QUERY\n"
            "       hyenadna classify [options] [-m MODEL] --train LABELLED -f REF.fa -r REGION --window INT\n"
            "       hyenadna classify [options] [-m MODEL] --head HEAD.safetensors QUERY\n"
            "       hyenadna classify [options] [-m MODEL] --train LABELLED --cv INT\n"
            "\n"
            "Classify sequences (FASTA records, BED intervals, or windows of records or of a region) by\n"
            "in-context learning (a causal model reads labelled examples before the query), by few-shot\n"
            "heads on the frozen model's pooled embeddings, or by a k-mer baseline.\n"
            "\n"
            "Training options:\n"
            "  -t, --train FILE       labelled examples: FASTA with label=NAME in the header description,\n"
            "                         TSV 'label<TAB>sequence', or BED 'chrom start end label' (with -f)\n"
            "      --method STR       context, centroid, knn, logistic or kmer\n"
            "                         [context for causal models, else logistic]\n"
            "      --shots INT        examples per class, chosen with the seed, 0 = all [0]\n"
            "      --seed INT         seed of the example choice, prompt order and folds [1]\n"
            "      --pool STR         pooling of the final hidden states: mean, last or max [mean]\n"
            "      --rc               average the embedding (or k-mer vector) with the reverse complement's\n"
            "  -k, --neighbours INT   neighbours of knn [5]\n"
            "      --kmer INT         k of the kmer baseline (1..8) [4]\n"
            "      --l2 FLOAT         L2 penalty of logistic and kmer (on standardised features) [0.01]\n"
            "      --max-iter INT     L-BFGS iterations of logistic and kmer [500]\n"
            "      --cv INT           K-fold cross-validation (stratified, seeded) on the training set\n"
            "                         instead of classifying a query\n"
            "      --save-head FILE   save the fitted centroid, knn, logistic or kmer head (safetensors)\n"
            "      --head FILE        classify with a saved head (no training set)\n"
            "Input options:\n"
            "  -f, --fasta-ref FILE   indexed reference FASTA for BED inputs and -r\n"
            "  -r, --region REG       classify windows of the region chr[:beg-end] of the reference\n"
            "      --window INT       cut the queries into windows of INT bases [whole records]\n"
            "      --stride INT       step between windows [the window]\n"
            "      --bed              QUERY is BED (also told by a .bed/.bed.gz name) [FASTA]\n"
            "Output options:\n"
            "  -o, --output FILE      TSV (records) or BED9 (intervals and windows) [standard output]\n"
            "      --metrics FILE     write accuracy, MCC, per-class precision/recall and the confusion\n"
            "                         matrix as JSON when the queries carry labels\n");
    hd_common_usage(fp);
}

/* one colour per label (itemRgb) */
static const char *COLOURS[] = {"31,119,180", "255,127,14", "44,160,44", "214,39,40", "148,103,189",
                                "140,86,75",  "227,119,194", "127,127,127", "188,189,34", "23,190,207"};

/* ------------------------------------------------------------------ output */

static double bed_score(int best, const double *scores, const double *probs)
{
    double v = isnan(probs[best]) ? scores[best] : probs[best];
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    return floor(1000 * v + 0.5);
}

typedef struct {
    hd_outfile *o;
    int bed, truth, probs;
    int names;   /* BED queries whose 4th column is a name, not a true label: a last column 'name' */
} writer;

static int write_header(writer *w, const hd_clf *c)
{
    int e = 0;
    if (w->bed) {
        e |= hd_out_printf(w->o, "track name=\"hyenadna_classify\" description=\"hyenadna classify (%s)\" itemRgb=\"On\"\n",
                           hd_clf_method_name(c->method)) < 0;
        e |= hd_out_printf(w->o, "#chrom\tstart\tend\tlabel\tscore\tstrand\tthickStart\tthickEnd\titemRgb") < 0;
    } else {
        e |= hd_out_printf(w->o, "#name\tlabel") < 0;
    }
    for (int k = 0; k < c->C; k++) e |= hd_out_printf(w->o, "\tscore_%s", c->classes[k]) < 0;
    if (w->probs)
        for (int k = 0; k < c->C; k++) e |= hd_out_printf(w->o, "\tprob_%s", c->classes[k]) < 0;
    if (w->truth) e |= hd_out_printf(w->o, "\ttrue_label") < 0;
    if (w->names) e |= hd_out_printf(w->o, "\tname") < 0;
    e |= hd_out_printf(w->o, "\n") < 0;
    return e ? -1 : 0;
}

static int write_row(writer *w, const hd_clf *c, const char *name, const char *chrom, int64_t beg, int64_t end,
                     char strand, int best, const double *scores, const double *probs, const char *truth)
{
    int e = 0, na = best < 0;   /* HD_CLF_UNSCORED: no call, NA */
    if (w->bed)
        e |= hd_out_printf(w->o, "%s\t%lld\t%lld\t%s\t%.0f\t%c\t%lld\t%lld\t%s", chrom, (long long)beg, (long long)end,
                           na ? "NA" : c->classes[best], na ? 0.0 : bed_score(best, scores, probs),
                           strand ? strand : '.', (long long)beg,
                           (long long)end, na ? "0,0,0" : COLOURS[best % 10]) < 0;
    else
        e |= hd_out_printf(w->o, "%s\t%s", name, na ? "NA" : c->classes[best]) < 0;
    for (int k = 0; k < c->C; k++) e |= (na ? hd_out_printf(w->o, "\tNA") : hd_out_printf(w->o, "\t%.6g", scores[k])) < 0;
    if (w->probs)
        for (int k = 0; k < c->C; k++)
            e |= (na ? hd_out_printf(w->o, "\tNA") : hd_out_printf(w->o, "\t%.6g", probs[k])) < 0;
    if (w->truth) e |= hd_out_printf(w->o, "\t%s", truth) < 0;
    if (w->names) e |= hd_out_printf(w->o, "\t%s", truth ? truth : ".") < 0;
    e |= hd_out_printf(w->o, "\n") < 0;
    return e ? -1 : 0;   /* hd_out_printf named the file and the reason */
}

/* the index of class name in c, -1 when it is not a class */
static int class_index(const hd_clf *c, const char *name)
{
    for (int k = 0; k < c->C; k++)
        if (!strcmp(c->classes[k], name)) return k;
    return -1;
}

/* one warning for the sequences kmer could not score (no k-mer of A, C, G, T), not one per sequence */
static void unscored_warning(const hd_clf *c, const int *pred, size_t n, const char *file)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += pred[i] == HD_CLF_UNSCORED;
    if (k)
        hd_warnf("%s: %zu of %zu sequences have no %d-mer of A, C, G, T (all N, or shorter than %d): not scored, "
                 "label and scores NA", file, k, n, c->kmer, c->kmer);
}

/* the summary on stderr and the --metrics JSON */
static int report_metrics(const hd_clf *c, const int *truth, const int *pred, size_t n, const char *path)
{
    hd_metrics mt;
    if (hd_metrics_compute(truth, pred, n, c->C, &mt)) return -1;
    if (hd_verbosity >= 2) {
        fprintf(stderr, "hyenadna classify: %s: accuracy %.4f (%ld/%ld), MCC %.4f", hd_clf_method_name(c->method),
                mt.accuracy, mt.correct, mt.n, mt.mcc);
        if (mt.unscored) fprintf(stderr, " (%ld unscored left out)", mt.unscored);
        fprintf(stderr, "\n");
        for (int k = 0; k < c->C; k++)
            fprintf(stderr, "hyenadna classify:   %-20s precision %.4f recall %.4f\n", c->classes[k], mt.precision[k],
                    mt.recall[k]);
    }
    int ret = 0;
    if (path) {
        char *js = hd_metrics_json(&mt, c->classes, hd_clf_method_name(c->method));
        hd_outfile *o = js ? hd_out_open(path, 0) : NULL;
        if (!js) hd_set_oom(NULL);
        if (!o || hd_out_printf(o, "%s\n", js) < 0 || hd_out_close(o)) {
            if (o) hd_out_abort(o);
            ret = -1;
        }
        free(js);
    }
    hd_metrics_free(&mt);
    return ret;
}

/* ------------------------------------------------------------------ parse and check */

typedef struct {
    hd_common_opts co;
    const char *train, *out, *save, *headf, *ref, *region, *metrics, *query;
    int method_set, pool_set, kmer_set, knn_set, rc, bed;
    int fit_set;           /* FIT_* bits: training options given (no effect with --head: a warning) */
    long shots, seed, knn, kmer, maxit, cv, window, stride;
    double l2;
    hd_clf_method method;
    hd_pool pool;
} args;

enum { FIT_SHOTS = 1, FIT_SEED = 2, FIT_L2 = 4, FIT_MAXIT = 8 };

/* 0 parsed, 1 --help printed, -1 usage error (printed) */
static int parse_args(int argc, char **argv, args *a)
{
    enum { OPT_METHOD = OPT_COMMON_END, OPT_SHOTS, OPT_SEED, OPT_POOL, OPT_RC, OPT_KMER, OPT_L2, OPT_MAXIT, OPT_CV,
           OPT_SAVE, OPT_HEAD, OPT_WINDOW, OPT_STRIDE, OPT_BED, OPT_METRICS };
    static const struct option lo[] = {
        HD_COMMON_LONGOPTS,
        {"train", required_argument, NULL, 't'}, {"method", required_argument, NULL, OPT_METHOD},
        {"shots", required_argument, NULL, OPT_SHOTS}, {"seed", required_argument, NULL, OPT_SEED},
        {"pool", required_argument, NULL, OPT_POOL}, {"rc", no_argument, NULL, OPT_RC},
        {"neighbours", required_argument, NULL, 'k'}, {"neighbors", required_argument, NULL, 'k'},
        {"kmer", required_argument, NULL, OPT_KMER}, {"l2", required_argument, NULL, OPT_L2},
        {"max-iter", required_argument, NULL, OPT_MAXIT}, {"cv", required_argument, NULL, OPT_CV},
        {"save-head", required_argument, NULL, OPT_SAVE}, {"head", required_argument, NULL, OPT_HEAD},
        {"fasta-ref", required_argument, NULL, 'f'}, {"region", required_argument, NULL, 'r'},
        {"window", required_argument, NULL, OPT_WINDOW}, {"stride", required_argument, NULL, OPT_STRIDE},
        {"bed", no_argument, NULL, OPT_BED}, {"output", required_argument, NULL, 'o'},
        {"metrics", required_argument, NULL, OPT_METRICS}, {NULL, 0, NULL, 0}};
    *a = (args){.out = "-", .seed = 1, .knn = 5, .kmer = 4, .maxit = 500, .l2 = 0.01, .method = HD_CLF_CONTEXT,
                .pool = HD_POOL_MEAN};
    int c;
    while ((c = getopt_long(argc, argv, "m:c:o:@:ht:k:f:r:", lo, NULL)) >= 0) {
        int r = hd_common_opt(&a->co, c, optarg);
        if (r < 0) return -1;
        if (r) continue;
        switch (c) {
        case 't': a->train = optarg; break;
        case 'o': a->out = optarg; break;
        case 'f': a->ref = optarg; break;
        case 'r': a->region = optarg; break;
        case OPT_METHOD:
            if (hd_clf_method_parse(optarg, &a->method)) {
                hd_errorf("option --method: '%s' is not one of context, centroid, knn, logistic, kmer", optarg);
                return -1;
            }
            a->method_set = 1;
            break;
        case OPT_SHOTS: if (hd_parse_long("--shots", optarg, 0, 1L << 30, &a->shots)) return -1; a->fit_set |= FIT_SHOTS; break;
        case OPT_SEED: if (hd_parse_long("--seed", optarg, 0, LONG_MAX, &a->seed)) return -1; a->fit_set |= FIT_SEED; break;
        case OPT_POOL:
            if (hd_pool_parse(optarg, &a->pool)) {
                hd_errorf("option --pool: '%s' is not one of mean, last, max", optarg);
                return -1;
            }
            a->pool_set = 1;
            break;
        case OPT_RC: a->rc = 1; break;
        case 'k': if (hd_parse_long("--neighbours", optarg, 1, 1L << 20, &a->knn)) return -1; a->knn_set = 1; break;
        case OPT_KMER: if (hd_parse_long("--kmer", optarg, 1, 8, &a->kmer)) return -1; a->kmer_set = 1; break;
        case OPT_L2: if (hd_parse_double("--l2", optarg, 0, 1e6, &a->l2)) return -1; a->fit_set |= FIT_L2; break;
        case OPT_MAXIT:
            if (hd_parse_long("--max-iter", optarg, 1, 1L << 24, &a->maxit)) return -1;
            a->fit_set |= FIT_MAXIT;
            break;
        case OPT_CV: if (hd_parse_long("--cv", optarg, 2, 1000, &a->cv)) return -1; break;
        case OPT_SAVE: a->save = optarg; break;
        case OPT_HEAD: a->headf = optarg; break;
        case OPT_WINDOW: if (hd_parse_long("--window", optarg, 1, 1L << 40, &a->window)) return -1; break;
        case OPT_STRIDE: if (hd_parse_long("--stride", optarg, 1, 1L << 40, &a->stride)) return -1; break;
        case OPT_BED: a->bed = 1; break;
        case OPT_METRICS: a->metrics = optarg; break;
        case 'h':
        case OPT_HELP: usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
    }
    a->query = optind < argc ? argv[optind++] : NULL;
    if (optind < argc) { hd_errorf("unexpected argument '%s'", argv[optind]); return -1; }
    return 0;
}

/* do two output names (non-NULL) write the same file: the same name, standard output twice, or two names of
 * one existing file */
static int same_output(const char *x, const char *y)
{
    struct stat sx, sy;
    if (!strcmp(x, y)) return 1;
    if (!strcmp(x, "-") || !strcmp(y, "-")) return 0;
    return stat(x, &sx) == 0 && stat(y, &sy) == 0 && sx.st_dev == sy.st_dev && sx.st_ino == sy.st_ino;
}

/* the combinations of options; -1 usage error (printed) */
static int check_args(const args *a)
{
    /* each output is renamed into place when complete: two of them under one name would leave only the last */
    const char *outs[3] = {a->out, a->metrics, a->save}, *opt[3] = {"-o", "--metrics", "--save-head"};
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++)
            if (outs[i] && outs[j] && same_output(outs[i], outs[j])) {
                hd_errorf("options %s and %s both write %s: give each its own file", opt[i], opt[j],
                          hd_output_name(outs[j]));
                return -1;
            }
    if (a->train && a->query && !strcmp(a->train, "-") && !strcmp(a->query, "-")) {
        hd_errorf("--train - and QUERY - both read standard input, which can be read once: give one of them as a file");
        return -1;
    }
    if (!a->train == !a->headf) {
        hd_errorf("give either a labelled training set (--train) or a saved head (--head)");
        usage(stderr);
        return -1;
    }
    if (a->cv && (!a->train || a->query || a->region || a->window || a->bed)) {
        hd_errorf("option --cv: cross-validation uses --train only (no QUERY, -r, --window, --bed or --head)");
        return -1;
    }
    if (a->cv && a->save) { hd_errorf("option --save-head cannot be combined with --cv"); return -1; }
    if (!a->cv && !a->query && !a->region) {
        hd_errorf("no QUERY given (a FASTA or BED file, or -r REGION with -f REF)");
        usage(stderr);
        return -1;
    }
    if (a->region && !a->query && !a->ref) { hd_errorf("option -r: needs the reference FASTA (-f)"); return -1; }
    if (a->stride && !a->window) { hd_errorf("option --stride needs --window"); return -1; }
    /* intervals and windows give BED9 rows, records TSV rows: an output named .bed must get BED */
    if (a->out && strcmp(a->out, "-") && hd_bed_named(a->out) &&
        (a->cv || !(a->region || a->window > 0 || a->bed || hd_query_is_bed(a->query, a->ref != NULL)))) {
        hd_errorf("option -o %s: %s give one TSV row per record (name, label, scores), not BED; name the output "
                  ".tsv, or classify intervals (a BED QUERY, -r REGION) or windows (--window) to get BED9 rows",
                  a->out, a->cv ? "the cross-validated training records" : "FASTA queries");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ the classifier */

typedef struct {
    hd_clf C;
    hd_lset tr;
    hd_head *loaded;
    char *mid;             /* identity of the model's weights (heads on embeddings) */
} state;

static void state_free(state *s)
{
    if (s->C.head && s->C.classes == s->C.head->classes) s->C.classes = NULL;
    hd_clf_clear(&s->C);
    hd_head_free(s->loaded);
    hd_lset_free(&s->tr);
    free(s->mid);
    hd_workers_free(s->C.wk);
    hd_backend_free(s->C.be);
    hd_model_close(s->C.m);
}

/* --head: load it and take its method and features (the options must agree); 0 or an exit status */
static int load_head(args *a, state *s)
{
    if (!(s->loaded = hd_head_load(a->headf))) return hd_fail();
    hd_head *h = s->loaded;
    if (a->method_set && a->method != h->method) {
        hd_errorf("option --method: %s does not match the head %s (%s)", hd_clf_method_name(a->method), a->headf,
                  hd_clf_method_name(h->method));
        return EXIT_INPUT;
    }
    a->method = h->method;
    /* the features the head was fitted on; options asking for others are refused, naming the mismatch */
    if (a->pool_set && a->pool != h->pool && a->method != HD_CLF_KMER) {
        hd_errorf("option --pool %s: the head %s was made with --pool %s", hd_pool_name(a->pool), a->headf,
                  hd_pool_name(h->pool));
        return EXIT_INPUT;
    }
    if (a->rc && !h->rc) {
        hd_errorf("option --rc: the head %s was made without --rc", a->headf);
        return EXIT_INPUT;
    }
    if (a->kmer_set && (a->method != HD_CLF_KMER || a->kmer != h->kmer)) {
        if (a->method != HD_CLF_KMER)
            hd_errorf("option --kmer %ld: the head %s is a %s head on the model's embeddings, not on k-mers", a->kmer,
                      a->headf, hd_clf_method_name(h->method));
        else
            hd_errorf("option --kmer %ld: the head %s was made with --kmer %d", a->kmer, a->headf, h->kmer);
        return EXIT_INPUT;
    }
    a->pool = h->pool;
    a->rc = h->rc;
    a->kmer = h->kmer ? h->kmer : a->kmer;
    /* a knn head keeps its training vectors: -k chooses how many of them vote (the head's k otherwise); more
     * than it holds: all of them vote, as with a training set, and a warning says so */
    if (h->method == HD_CLF_KNN && a->knn_set) {
        h->k = (int)a->knn;
        if ((size_t)a->knn > h->n)
            hd_warnf("%s: option -k: %ld neighbours, but the head holds %zu training examples; all of them vote",
                     a->headf, a->knn, h->n);
    }
    /* the options that choose the examples and fit a head do nothing to a saved one: say so rather than
     * let a run look as if they had been applied */
    kstring_t un = {0, 0, NULL};
    static const char *const fit_name[] = {"--shots", "--seed", "--l2", "--max-iter"};
    for (int i = 0; i < 4; i++)
        if (a->fit_set & (1 << i)) ksprintf(&un, "%s%s", un.l ? ", " : "", fit_name[i]);
    if (a->knn_set && h->method != HD_CLF_KNN) ksprintf(&un, "%s-k", un.l ? ", " : "");
    if (un.l)
        hd_warnf("option%s %s: no effect with the saved %s head %s (they choose the training examples and fit a head)",
                 strchr(un.s, ',') ? "s" : "", un.s, hd_clf_method_name(h->method), a->headf);
    free(un.s);
    return 0;
}

/* the model and backend (kmer needs neither), the default method; 0 or an exit status */
static int open_model(args *a, state *s)
{
    hd_clf *C = &s->C;
    if (!(C->m = hd_open_model(a->co.model))) return hd_exit_status(hd_error_kind());
    if (!a->method_set && !a->headf) a->method = C->m->causal ? HD_CLF_CONTEXT : HD_CLF_LOGISTIC;
    if (a->method == HD_CLF_CONTEXT && !C->m->causal) {
        hd_errorf("option --method: context needs a causal (next-token) model; %s is a %s masked LM", C->m->location,
                  hd_family_name(C->m->family));
        return EXIT_INPUT;
    }
    if (a->save && a->method == HD_CLF_CONTEXT) {
        hd_errorf("option --save-head: the context method has no fitted head (use --method centroid, knn, "
                  "logistic or kmer)");
        return EXIT_INPUT;
    }
    if (!(C->be = hd_open_backend(&a->co))) return hd_exit_status(hd_error_kind());
    if (!(C->wk = hd_workers_new(C->m, C->be, 0))) return hd_fail();
    if (a->method != HD_CLF_CONTEXT && a->method != HD_CLF_KMER) {
        if (!(s->mid = hd_model_identity(C->m))) return hd_fail();
        if (s->loaded && strcmp(s->mid, s->loaded->model_id)) {
            hd_errorf("the head %s was made for another model (%s, identity %s); %s has identity %s", a->headf,
                      s->loaded->model_path, s->loaded->model_id, C->m->location, s->mid);
            return EXIT_INPUT;
        }
    }
    return 0;
}

/* everything before the queries: head or training set, model, the classifier's settings */
static int setup(args *a, state *s)
{
    int st;
    if (a->headf && (st = load_head(a, s))) return st;
    if (a->save && a->method_set && a->method == HD_CLF_CONTEXT) {
        hd_errorf("option --save-head: the context method has no fitted head");
        return EXIT_INPUT;
    }
    if ((!(a->method_set || a->headf) || a->method != HD_CLF_KMER) && (st = open_model(a, s))) return st;
    if (a->method == HD_CLF_CONTEXT && a->rc) {
        hd_errorf("option --rc applies to centroid, knn, logistic and kmer, not to context");
        return EXIT_INPUT;
    }
    hd_clf *C = &s->C;
    C->method = a->method;
    C->pool = a->pool;
    C->rc = a->rc;
    C->kmer = (int)a->kmer;
    C->fit = (hd_fit_opts){.l2 = a->l2, .max_iter = (int)a->maxit, .tol = 1e-6, .knn_k = (int)a->knn};
    if (C->m || a->method == HD_CLF_KMER) C->dim = a->method == HD_CLF_CONTEXT ? 0 : hd_clf_dim(C);
    if (s->loaded) {
        if (s->loaded->dim != C->dim) {
            hd_errorf("the head %s has %d features; this model gives %d", a->headf, s->loaded->dim, C->dim);
            return EXIT_INPUT;
        }
        C->head = s->loaded;
        s->loaded = NULL;
        C->C = C->head->n_classes;
        C->classes = C->head->classes;
    } else {
        if (hd_read_labelled(a->train, a->ref, &s->tr)) return hd_fail();
        if (a->method == HD_CLF_KMER && hd_lset_drop_kmerless(&s->tr, C->kmer, hd_input_name(a->train)))
            return hd_fail();
        C->C = s->tr.n_classes;
        C->classes = s->tr.classes;
        hd_infof("%s: %zu labelled records in %d classes", a->train, s->tr.n, s->tr.n_classes);
    }
    return 0;
}

/* ------------------------------------------------------------------ run */

/* --cv: every training record predicted by the classifier built without its fold */
static int run_cv(const args *a, state *s, writer *w)
{
    hd_clf *C = &s->C;
    size_t n = s->tr.n;
    int *pred = malloc((n ? n : 1) * sizeof *pred), *truth = malloc((n ? n : 1) * sizeof *truth);
    double *S = malloc((n ? n : 1) * (size_t)C->C * sizeof *S), *P = malloc((n ? n : 1) * (size_t)C->C * sizeof *P);
    int status = EXIT_OK;
    if (!pred || !truth || !S || !P) {
        hd_set_oom(NULL);
        status = hd_fail();
    } else if (hd_clf_cv(C, &s->tr, (int)a->cv, (int)a->shots, (uint64_t)a->seed, a->train, pred, S, P)) {
        status = hd_fail();
    } else {
        w->truth = 1;
        if (write_header(w, C)) status = hd_fail();
        for (size_t i = 0; i < n && !status; i++) {
            truth[i] = s->tr.v[i].label;
            if (write_row(w, C, s->tr.v[i].name, NULL, 0, 0, '.', pred[i], S + i * C->C, P + i * C->C,
                          s->tr.classes[truth[i]]))
                status = hd_fail();
        }
        if (!status) unscored_warning(C, pred, n, a->train);
        if (!status && report_metrics(C, truth, pred, n, a->metrics)) status = hd_fail();
    }
    free(pred); free(truth); free(S); free(P);
    return status;
}

/* queries read ahead and classified side by side (hd_clf_predict_batch), then written in input order */
typedef struct {
    hd_clf_item *it;
    char **name, **chrom, **label;
    int64_t *beg, *end;
    char *strand;
    int *truth, *best;
    double *scores, *probs;
    size_t n, cap, bases, max_n, max_bases;
} qbatch;

static void qbatch_clear(qbatch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free((char *)b->it[i].seq);
        free(b->name[i]);
        free(b->chrom[i]);
        free(b->label[i]);
    }
    b->n = 0;
    b->bases = 0;
}

static void qbatch_free(qbatch *b)
{
    qbatch_clear(b);
    free(b->it); free(b->name); free(b->chrom); free(b->label); free(b->beg); free(b->end); free(b->strand);
    free(b->truth);
    free(b->best); free(b->scores); free(b->probs);
}

/* a copy of query q with its true label index tl; 0 or -1 (out of memory) */
static int qbatch_add(qbatch *b, const hd_query *q, int tl, int C)
{
    if (b->n == b->cap) {
        size_t m = b->cap ? 2 * b->cap : 64;
#define GROW(f, k) do { void *p_ = realloc(b->f, m * (k) * sizeof *b->f); if (!p_) goto oom; b->f = p_; } while (0)
        GROW(it, 1); GROW(name, 1); GROW(chrom, 1); GROW(label, 1); GROW(beg, 1); GROW(end, 1); GROW(strand, 1);
        GROW(truth, 1);
        GROW(best, 1); GROW(scores, (size_t)C); GROW(probs, (size_t)C);
#undef GROW
        b->cap = m;
    }
    size_t i = b->n;
    char *seq = malloc(q->len + 1);
    b->name[i] = hd_strdup(q->name);
    b->chrom[i] = q->chrom ? hd_strdup(q->chrom) : NULL;
    b->label[i] = q->label ? hd_strdup(q->label) : NULL;
    if (!seq || !b->name[i] || (q->chrom && !b->chrom[i]) || (q->label && !b->label[i])) {
        free(seq); free(b->name[i]); free(b->chrom[i]); free(b->label[i]);
        goto oom;
    }
    memcpy(seq, q->seq, q->len);
    seq[q->len] = 0;
    b->it[i] = (hd_clf_item){seq, q->len, b->name[i], NULL};
    b->beg[i] = q->beg;
    b->end[i] = q->end;
    b->strand[i] = q->strand;
    b->truth[i] = tl;
    b->n++;
    b->bases += q->len;
    return 0;
oom:
    hd_set_oom(NULL);
    return -1;
}

typedef struct {
    int *truth, *pred;
    size_t nq, capq;
    uint64_t bases;
} qtally;

/* classify the batch and write its rows in order (the rows before a failing query, then the failure) */
static int qbatch_run(qbatch *b, hd_clf *C, writer *w, const char *qname, qtally *t, hd_progress *pg)
{
    size_t failed = b->n;
    int rc = b->n ? hd_clf_predict_batch(C, b->it, b->n, qname, b->best, b->scores, b->probs, &failed) : 0;
    size_t nc = (size_t)C->C;
    for (size_t i = 0; i < b->n && i < failed; i++) {
        if (write_row(w, C, b->name[i], b->chrom[i], b->beg[i], b->end[i], b->strand[i], b->best[i], b->scores + i * nc,
                      b->probs + i * nc, w->truth || w->names ? b->label[i] : NULL))
            return -1;
        if (t->nq == t->capq) {
            size_t m = t->capq ? 2 * t->capq : 1024;
            int *t2 = realloc(t->truth, m * sizeof *t2);
            if (t2) t->truth = t2;
            int *p2 = t2 ? realloc(t->pred, m * sizeof *p2) : NULL;
            if (p2) t->pred = p2;
            if (!t2 || !p2) { hd_set_oom(NULL); return -1; }
            t->capq = m;
        }
        t->truth[t->nq] = b->truth[i];
        t->pred[t->nq++] = b->best[i];
        t->bases += b->it[i].len;
    }
    hd_progress_update(pg, t->nq, t->bases);
    qbatch_clear(b);
    return rc;
}

/* the queries: one row each; their true labels, when they carry them, for the metrics */
static int run_queries(const args *a, state *s, writer *w)
{
    hd_clf *C = &s->C;
    hd_qspec qs = {.path = a->query, .ref = a->ref, .region = a->region, .window = a->window, .stride = a->stride};
    qs.bed = !a->region && (a->bed || hd_query_is_bed(a->query, a->ref != NULL));
    const char *qname = a->query ? a->query : a->ref;
    /* a batch holds 16 queries per worker (at least 64) or 4 Mbases */
    int nw = C->wk ? hd_workers_count(C->wk) : 1;
    qbatch b = {.max_n = 16 * (size_t)nw > 64 ? 16 * (size_t)nw : 64, .max_bases = (size_t)1 << 22};
    qtally t = {0};
    hd_qreader *qr = NULL;
    hd_progress pg;
    hd_progress_start(&pg, a->co.progress, "queries", 0);
    int status = EXIT_OK, r = 0;
    size_t seen = 0;
    if (!(qr = hd_qreader_open(&qs))) { status = hd_fail(); goto done; }
    w->bed = hd_qreader_regional(qr);
    hd_query q;
    size_t n_classlike = 0;   /* names mode: later queries with a class in column 4 */
    while ((r = hd_qreader_next(qr, &q)) > 0) {
        int tl = -1;
        if (!seen++) {
            /* a BED query's 4th column is its true label when the first query's is a class of the training set
             * (a labelled BED), else the region's name (a peak file: BED6, narrowPeak): kept in a last column
             * 'name', never scored (hyenadna-classify(1), Queries) */
            w->names = qs.bed && q.label && class_index(C, q.label) < 0;
            w->truth = q.label != NULL && !w->names;
            if (w->names && a->metrics) {
                hd_errorf("option --metrics: %s: the 4th column of the first query '%s', '%s', is not a class of the "
                          "training set, so the 4th column holds names, not true labels: no metrics can be computed",
                          qname, q.name, q.label);
                status = EXIT_INPUT;
                goto done;
            }
            if (write_header(w, C)) { status = hd_fail(); goto done; }
        }
        if (w->names && q.label && class_index(C, q.label) >= 0 && !n_classlike++)
            hd_warnf("%s: query '%s' has the class '%s' in its 4th column, but the first query's 4th column is not a "
                     "class: the 4th column is read as names, and no query is scored against it", qname, q.name, q.label);
        if (w->truth) {
            const char *why = NULL;
            if (!q.label) why = "no label while earlier queries have one";
            if (q.label) tl = class_index(C, q.label);
            if (q.label && tl < 0) why = "a label that is not a class of the training set";
            if (why) {
                /* the queries before it are classified and written first, as when run one by one */
                if (qbatch_run(&b, C, w, qname, &t, &pg)) { status = hd_fail(); goto done; }
                if (!q.label) hd_errorf("%s: query '%s' has no label while earlier queries have one", qname, q.name);
                else if (qs.bed)
                    hd_errorf("%s: query '%s' has the label '%s' in its 4th column, which is not a class of the training "
                              "set (the first query's 4th column was a class, so the 4th column is the true label)",
                              qname, q.name, q.label);
                else hd_errorf("%s: query '%s' has the label '%s', which is not a class of the training set", qname,
                               q.name, q.label);
                status = EXIT_INPUT;
                goto done;
            }
        }
        if (qbatch_add(&b, &q, tl, C->C) ||
            ((b.n >= b.max_n || b.bases >= b.max_bases) && qbatch_run(&b, C, w, qname, &t, &pg))) {
            status = hd_fail();
            goto done;
        }
    }
    if (r < 0) {   /* the queries read before the failure are classified and written first */
        char *msg = hd_strdup(hd_error());
        int kind = hd_error_kind();
        if (!qbatch_run(&b, C, w, qname, &t, &pg)) hd_set_error(kind, "%s", msg ? msg : "read error");
        free(msg);
        hd_progress_end(&pg);
        status = hd_fail();
        goto done;
    }
    if (qbatch_run(&b, C, w, qname, &t, &pg)) { status = hd_fail(); goto done; }
    hd_progress_end(&pg);
    if (!t.nq) {   /* no queries: the header only, as every command does with an empty input */
        hd_infof("%s: no queries", qname);
        if (write_header(w, C)) { status = hd_fail(); goto done; }
    }
    if (n_classlike > 1) hd_warnf("%s: %zu queries in all have a class in their 4th column, read as a name", qname, n_classlike);
    unscored_warning(C, t.pred, t.nq, qname);
    if (w->truth && report_metrics(C, t.truth, t.pred, t.nq, a->metrics)) { status = hd_fail(); goto done; }
    if (!w->truth && a->metrics) hd_warnf("option --metrics: the queries carry no labels; no metrics written");
done:
    hd_qreader_close(qr);
    qbatch_free(&b);
    free(t.truth); free(t.pred);
    return status;
}

/* ------------------------------------------------------------------ main */

int main_classify(int argc, char **argv)
{
    args a;
    int r = parse_args(argc, argv, &a);
    if (r) return r > 0 ? EXIT_OK : EXIT_INPUT;
    if (check_args(&a)) return EXIT_INPUT;

    state s = {0};
    hd_outfile *o = NULL;
    int status = setup(&a, &s);
    if (status) goto done;
    if (!(o = hd_out_open(a.out, 1))) { status = hd_fail(); goto done; }
    writer w = {o, 0, 0, a.method == HD_CLF_CONTEXT || a.method == HD_CLF_LOGISTIC || a.method == HD_CLF_KMER, 0};
    if (a.cv) {
        status = run_cv(&a, &s, &w);
    } else {
        /* fit on the whole training set (or use the loaded head), save it, classify the queries */
        if (!s.C.head && hd_clf_build(&s.C, &s.tr, NULL, 0, (int)a.shots, (uint64_t)a.seed, NULL, a.train)) {
            status = hd_fail();
            goto done;
        }
        if (a.save) {   /* (a loaded head, saved again, gets this model's path) */
            if (s.mid) free(s.C.head->model_id), s.C.head->model_id = NULL;
            if (s.C.m) free(s.C.head->model_path), s.C.head->model_path = NULL;
            if ((s.mid && !(s.C.head->model_id = hd_strdup(s.mid))) ||
                (s.C.m && !(s.C.head->model_path = hd_strdup(s.C.m->location))) || hd_head_save(s.C.head, a.save)) {
                status = hd_fail();
                goto done;
            }
        }
        status = run_queries(&a, &s, &w);
    }
    if (!status) {
        status = hd_out_close(o) ? hd_fail() : EXIT_OK;
        o = NULL;
    }
done:
    if (o) hd_out_abort(o);
    state_free(&s);
    return status;
}
