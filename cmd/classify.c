/* classify.c -- `hyenadna classify`: in-context and few-shot classification of sequences and windows. */
#include "config.h"
#include "common.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "../src/classify.h"
#include "../src/output.h"
#include "../src/tokenizer.h"

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

typedef struct {
    hd_clf_method method;
    hd_model *m;
    hd_backend *be;
    hd_pool pool;
    int rc, kmer;
    hd_fit_opts fit;
    int C;
    char **classes;
    /* context: one joined prompt per class */
    int32_t **prompts;
    size_t *plen;
    /* the other methods */
    hd_head *head;
    int dim;
    const char *what;   /* the file the sequences come from, for messages */
} clf;

static int feature_dim(const clf *c)
{
    return c->method == HD_CLF_KMER ? 1 << (2 * c->kmer) : hd_embed_width(c->m, c->rc);
}

/* features of one sequence */
static int features(clf *c, const char *seq, size_t len, const char *name, const char *file, float *out)
{
    if (c->method == HD_CLF_KMER) {
        hd_kmer_features(seq, len, c->kmer, c->rc, out);
        return 0;
    }
    if (c->m->max_len > 0 && len > (size_t)c->m->max_len) {
        hd_set_error(HD_EINPUT, "%s: record %s: %zu bases exceed the model's maximum length of %ld (use --window)",
                     file, name, len, c->m->max_len);
        return -1;
    }
    int32_t *ids = malloc((len ? len : 1) * sizeof *ids);
    if (!ids) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    int r = -1;
    if (hd_model_tokenize(c->m, seq, len, HD_SPECIAL_NONE, ids, name) < 0) {
        hd_set_error(HD_EINPUT, "%s: %s", file, hd_error());
    } else if (hd_embed_ids(c->m, c->be, ids, len, c->pool, c->rc, out)) {
        char *e = hd_sprintf("%s: record %s: %s", file, name, hd_error());
        hd_set_error(hd_error_kind(), "%s", e ? e : "?");
        free(e);
    } else {
        r = 0;
    }
    free(ids);
    return r;
}

static void clf_clear(clf *c)
{
    if (c->prompts)
        for (int k = 0; k < c->C; k++) free(c->prompts[k]);
    free(c->prompts);
    free(c->plen);
    c->prompts = NULL;
    c->plen = NULL;
    hd_head_free(c->head);
    c->head = NULL;
}

/* Build the classifier from the records idx[0..n) of the training set (their embeddings are cached
 * in feat[i] when non-NULL). */
static int clf_build(clf *c, const hd_lset *tr, const size_t *idx, size_t n, int shots, uint64_t seed,
                     float **feat, const char *file)
{
    if (!idx) n = tr->n;
    size_t *pick = malloc((n ? n : 1) * sizeof *pick), *counts = calloc((size_t)c->C, sizeof *counts);
    if (!pick || !counts) { free(pick); free(counts); hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    size_t np = hd_pick_shots(tr, idx, n, shots, seed, pick, counts);
    for (int k = 0; k < c->C; k++) {
        if (!counts[k]) {
            hd_set_error(HD_EINPUT, "%s: class '%s' has no training examples", file, c->classes[k]);
            free(pick); free(counts);
            return -1;
        }
        if (shots > 0 && counts[k] < (size_t)shots)
            hd_warnf("class '%s' has %zu examples, fewer than --shots %d", c->classes[k], counts[k], shots);
    }
    int ret = -1;
    if (c->method == HD_CLF_CONTEXT) {
        c->prompts = calloc((size_t)c->C, sizeof *c->prompts);
        c->plen = calloc((size_t)c->C, sizeof *c->plen);
        if (!c->prompts || !c->plen) { hd_set_error(HD_EMODEL, "out of memory"); goto done; }
        size_t off = 0;
        for (int k = 0; k < c->C; k++) {
            size_t tot = 0, K = counts[k];
            for (size_t j = 0; j < K; j++) tot += tr->v[pick[off + j]].len + 1;
            const int32_t **ex = malloc(K * sizeof *ex);
            size_t *len = malloc(K * sizeof *len);
            int32_t **toks = calloc(K, sizeof *toks);
            c->prompts[k] = malloc(tot * sizeof(int32_t));
            int bad = !ex || !len || !toks || !c->prompts[k];
            if (bad) hd_set_error(HD_EMODEL, "out of memory");
            for (size_t j = 0; j < K && !bad; j++) {
                const hd_lseq *r = &tr->v[pick[off + j]];
                toks[j] = malloc(r->len * sizeof(int32_t));
                if (!toks[j] || hd_model_tokenize(c->m, r->seq, r->len, HD_SPECIAL_NONE, toks[j], r->name) < 0) {
                    if (toks[j]) hd_set_error(HD_EINPUT, "%s: %s", file, hd_error());
                    else hd_set_error(HD_EMODEL, "out of memory");
                    bad = 1;
                }
                ex[j] = toks[j];
                len[j] = r->len;
            }
            if (!bad) c->plen[k] = hd_ctx_join(ex, len, (int)K, 0, c->prompts[k]);
            /* byte-token models (Evo 2) separate the examples with their end-of-document id 0 */
            for (size_t t = 0; !bad && c->m->tokenizer == HD_TOKENIZER_BYTES && t < c->plen[k]; t++)
                if (c->prompts[k][t] == HD_TOK_SEP) c->prompts[k][t] = 0;
            for (size_t j = 0; j < K && toks; j++) free(toks[j]);
            free(toks); free(ex); free(len);
            if (bad) goto done;
            off += K;
            if (c->m->max_len > 0 && c->plen[k] >= (size_t)c->m->max_len)
                hd_infof("class '%s': prompt of %zu tokens is trimmed to fit %ld tokens with each query", c->classes[k],
                         c->plen[k], c->m->max_len);
        }
        ret = 0;
        goto done;
    }
    int D = feature_dim(c);
    size_t nD;
    if (hd_mul(np, (size_t)D, &nD)) { hd_set_error(HD_EINPUT, "training set too large"); goto done; }
    float *X = hd_alloc((nD ? nD : 1) * sizeof *X, "the training features");
    int *y = malloc((np ? np : 1) * sizeof *y);
    if (!X || !y) { hd_free(X); free(y); hd_set_error(HD_EMODEL, "out of memory"); goto done; }
    for (size_t j = 0; j < np; j++) {
        size_t i = pick[j];
        const hd_lseq *r = &tr->v[i];
        y[j] = r->label;
        if (feat && feat[i]) { memcpy(X + j * D, feat[i], D * sizeof *X); continue; }
        if (features(c, r->seq, r->len, r->name, file, X + j * D)) { hd_free(X); free(y); goto done; }
        if (feat && (feat[i] = malloc(D * sizeof(float)))) memcpy(feat[i], X + j * D, D * sizeof(float));
    }
    c->head = hd_head_fit(c->method, X, y, np, D, c->C, c->classes, &c->fit);
    hd_free(X);
    free(y);
    if (!c->head) goto done;
    c->head->pool = c->pool;
    c->head->rc = c->rc;
    c->head->kmer = c->method == HD_CLF_KMER ? c->kmer : 0;
    ret = 0;
done:
    free(pick);
    free(counts);
    return ret;
}

/* Scores [C] and probabilities [C] (NaN when the method has none) of one sequence; the prediction. */
static int clf_predict(clf *c, const char *seq, size_t len, const char *name, const char *file, const float *cached,
                       double *scores, double *probs)
{
    int C = c->C, best = 0;
    if (c->method == HD_CLF_CONTEXT) {
        int32_t *ids = malloc((len ? len : 1) * sizeof *ids);
        if (!ids) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
        if (hd_model_tokenize(c->m, seq, len, HD_SPECIAL_NONE, ids, name) < 0) {
            hd_set_error(HD_EINPUT, "%s: %s", file, hd_error());
            free(ids);
            return -1;
        }
        int r = hd_ctx_scores(c->m, c->be, (const int32_t *const *)c->prompts, c->plen, C, ids, len, scores, NULL);
        free(ids);
        if (r) {
            char *e = hd_sprintf("%s: record %s: %s", file, name, hd_error());
            hd_set_error(hd_error_kind(), "%s", e ? e : "?");
            free(e);
            return -1;
        }
        for (int k = 1; k < C; k++)
            if (scores[k] > scores[best]) best = k;
        hd_softmax(scores, C, probs);
        return best;
    }
    float *x = NULL;
    if (!cached) {
        x = malloc((size_t)c->dim * sizeof *x);
        if (!x) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
        if (features(c, seq, len, name, file, x)) { free(x); return -1; }
        cached = x;
    }
    best = hd_head_predict(c->head, cached, scores);
    free(x);
    if (c->method == HD_CLF_LOGISTIC || c->method == HD_CLF_KMER) hd_softmax(scores, C, probs);
    else
        for (int k = 0; k < C; k++) probs[k] = NAN;
    return best;
}

static double bed_score(const clf *c, int best, const double *scores, const double *probs)
{
    double v = isnan(probs[best]) ? scores[best] : probs[best];
    (void)c;
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    return floor(1000 * v + 0.5);
}

typedef struct {
    hd_outfile *o;
    int bed, truth, probs;
} writer;

static int write_header(writer *w, const clf *c)
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
    e |= hd_out_printf(w->o, "\n") < 0;
    return e ? -1 : 0;
}

static int write_row(writer *w, const clf *c, const char *name, const char *chrom, int64_t beg, int64_t end, int best,
                     const double *scores, const double *probs, const char *truth)
{
    int e = 0;
    if (w->bed)
        e |= hd_out_printf(w->o, "%s\t%lld\t%lld\t%s\t%.0f\t.\t%lld\t%lld\t%s", chrom, (long long)beg, (long long)end,
                           c->classes[best], bed_score(c, best, scores, probs), (long long)beg, (long long)end,
                           COLOURS[best % 10]) < 0;
    else
        e |= hd_out_printf(w->o, "%s\t%s", name, c->classes[best]) < 0;
    for (int k = 0; k < c->C; k++) e |= hd_out_printf(w->o, "\t%.6g", scores[k]) < 0;
    if (w->probs)
        for (int k = 0; k < c->C; k++) e |= hd_out_printf(w->o, "\t%.6g", probs[k]) < 0;
    if (w->truth) e |= hd_out_printf(w->o, "\t%s", truth) < 0;
    e |= hd_out_printf(w->o, "\n") < 0;
    if (e) hd_set_error(HD_EINPUT, "error writing to '%s'", hd_out_path(w->o));
    return e ? -1 : 0;
}

static int report_metrics(const clf *c, const int *truth, const int *pred, size_t n, const char *path)
{
    hd_metrics mt;
    if (hd_metrics_compute(truth, pred, n, c->C, &mt)) return -1;
    if (hd_verbosity >= 2) {
        fprintf(stderr, "hyenadna classify: %s: accuracy %.4f (%ld/%ld), MCC %.4f\n", hd_clf_method_name(c->method),
                mt.accuracy, mt.correct, mt.n, mt.mcc);
        for (int k = 0; k < c->C; k++)
            fprintf(stderr, "hyenadna classify:   %-20s precision %.4f recall %.4f\n", c->classes[k], mt.precision[k],
                    mt.recall[k]);
    }
    int ret = 0;
    if (path) {
        char *js = hd_metrics_json(&mt, c->classes, hd_clf_method_name(c->method));
        hd_outfile *o = js ? hd_out_open(path, 0) : NULL;
        if (!o || hd_out_printf(o, "%s\n", js) < 0 || hd_out_close(o)) {
            if (o) hd_out_abort(o);
            if (!js) hd_set_error(HD_EMODEL, "out of memory");
            ret = -1;
        }
        free(js);
    }
    hd_metrics_free(&mt);
    return ret;
}

/* is the query file BED? (a .bed name, or -f given and the first character not '>') */
static int query_is_bed(const char *path, int ref_given)
{
    if (hd_has_suffix(path, ".bed") || hd_has_suffix(path, ".bed.gz") || hd_has_suffix(path, ".bed.bgz")) return 1;
    if (!ref_given || !strcmp(path, "-")) return 0;
    gzFile g = gzopen(path, "rb");
    if (!g) return 0;
    int ch;
    while ((ch = gzgetc(g)) == ' ' || ch == '\n' || ch == '\r' || ch == '\t') {}
    gzclose(g);
    return ch >= 0 && ch != '>';
}

int main_classify(int argc, char **argv)
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
    hd_common_opts co = {0};
    const char *train = NULL, *out = "-", *save = NULL, *headf = NULL, *ref = NULL, *region = NULL, *metrics = NULL;
    int c, method_set = 0, pool_set = 0, rc = 0, bed = 0;
    long shots = 0, seed = 1, knn = 5, kmer = 4, maxit = 500, cv = 0, window = 0, stride = 0;
    double l2 = 0.01;
    hd_clf_method method = HD_CLF_CONTEXT;
    hd_pool pool = HD_POOL_MEAN;
    int kmer_set = 0;
    while ((c = getopt_long(argc, argv, "m:c:o:@:ht:k:f:r:", lo, NULL)) >= 0) {
        int r = hd_common_opt(&co, c, optarg);
        if (r < 0) return EXIT_INPUT;
        if (r) continue;
        switch (c) {
        case 't': train = optarg; break;
        case 'o': out = optarg; break;
        case 'f': ref = optarg; break;
        case 'r': region = optarg; break;
        case OPT_METHOD:
            if (hd_clf_method_parse(optarg, &method)) {
                hd_errorf("option --method: '%s' is not one of context, centroid, knn, logistic, kmer", optarg);
                return EXIT_INPUT;
            }
            method_set = 1;
            break;
        case OPT_SHOTS: if (hd_parse_long("--shots", optarg, 0, 1L << 30, &shots)) return EXIT_INPUT; break;
        case OPT_SEED: if (hd_parse_long("--seed", optarg, 0, LONG_MAX, &seed)) return EXIT_INPUT; break;
        case OPT_POOL:
            if (hd_pool_parse(optarg, &pool)) {
                hd_errorf("option --pool: '%s' is not one of mean, last, max", optarg);
                return EXIT_INPUT;
            }
            pool_set = 1;
            break;
        case OPT_RC: rc = 1; break;
        case 'k': if (hd_parse_long("--neighbours", optarg, 1, 1L << 20, &knn)) return EXIT_INPUT; break;
        case OPT_KMER: if (hd_parse_long("--kmer", optarg, 1, 8, &kmer)) return EXIT_INPUT; kmer_set = 1; break;
        case OPT_L2: if (hd_parse_double("--l2", optarg, 0, 1e6, &l2)) return EXIT_INPUT; break;
        case OPT_MAXIT: if (hd_parse_long("--max-iter", optarg, 0, 1L << 24, &maxit)) return EXIT_INPUT; break;
        case OPT_CV: if (hd_parse_long("--cv", optarg, 2, 1000, &cv)) return EXIT_INPUT; break;
        case OPT_SAVE: save = optarg; break;
        case OPT_HEAD: headf = optarg; break;
        case OPT_WINDOW: if (hd_parse_long("--window", optarg, 1, 1L << 40, &window)) return EXIT_INPUT; break;
        case OPT_STRIDE: if (hd_parse_long("--stride", optarg, 1, 1L << 40, &stride)) return EXIT_INPUT; break;
        case OPT_BED: bed = 1; break;
        case OPT_METRICS: metrics = optarg; break;
        case 'h':
        case OPT_HELP: usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_INPUT;
        }
    }
    const char *query = optind < argc ? argv[optind++] : NULL;
    if (optind < argc) { hd_errorf("unexpected argument '%s'", argv[optind]); return EXIT_INPUT; }
    /* ---- combinations */
    if (!train == !headf) {
        hd_errorf("give either a labelled training set (--train) or a saved head (--head)");
        usage(stderr);
        return EXIT_INPUT;
    }
    if (cv && (!train || query || region)) {
        hd_errorf("option --cv: cross-validation uses --train only (no QUERY, -r or --head)");
        return EXIT_INPUT;
    }
    if (cv && save) { hd_errorf("option --save-head cannot be combined with --cv"); return EXIT_INPUT; }
    if (!cv && !query && !region) {
        hd_errorf("no QUERY given (a FASTA or BED file, or -r REGION with -f REF)");
        usage(stderr);
        return EXIT_INPUT;
    }
    if (region && !query && !ref) { hd_errorf("option -r: needs the reference FASTA (-f)"); return EXIT_INPUT; }
    if (stride && !window) { hd_errorf("option --stride needs --window"); return EXIT_INPUT; }

    int status = EXIT_OK;
    clf C = {0};
    hd_lset tr = {0};
    hd_qreader *qr = NULL;
    hd_outfile *o = NULL;
    float **feat = NULL;
    int *truth = NULL, *pred = NULL, *fold = NULL;
    size_t nq = 0, capq = 0;
    double *scores = NULL, *probs = NULL;
    hd_head *loaded = NULL;
    char *mid = NULL;

    if (headf) {
        if (!(loaded = hd_head_load(headf))) { status = hd_fail(); goto done; }
        if (method_set && method != loaded->method) {
            hd_errorf("option --method: %s does not match the head %s (%s)", hd_clf_method_name(method), headf,
                      hd_clf_method_name(loaded->method));
            status = EXIT_INPUT;
            goto done;
        }
        method = loaded->method;
        if ((pool_set && pool != loaded->pool && method != HD_CLF_KMER) || (rc && !loaded->rc) ||
            (kmer_set && kmer != loaded->kmer)) {
            char feat_s[32];
            if (method == HD_CLF_KMER) snprintf(feat_s, sizeof feat_s, "--kmer %d", loaded->kmer);
            else snprintf(feat_s, sizeof feat_s, "--pool %s", hd_pool_name(loaded->pool));
            hd_errorf("the head %s was made with %s%s: the options given ask for other features", headf, feat_s,
                      loaded->rc ? " --rc" : "");
            status = EXIT_INPUT;
            goto done;
        }
        pool = loaded->pool;
        rc = loaded->rc;
        kmer = loaded->kmer ? loaded->kmer : kmer;
    }
    if (save && method_set && method == HD_CLF_CONTEXT) {
        hd_errorf("option --save-head: the context method has no fitted head");
        status = EXIT_INPUT;
        goto done;
    }
    /* ---- the model (not needed by kmer) */
    if (!(method_set || headf) || method != HD_CLF_KMER) {
        if (!(C.m = hd_open_model(co.model))) { status = hd_error_kind() == HD_EMODEL ? EXIT_MODEL : EXIT_INPUT; goto done; }
        if (!method_set && !headf) method = C.m->causal ? HD_CLF_CONTEXT : HD_CLF_LOGISTIC;
        if (method == HD_CLF_CONTEXT && !C.m->causal) {
            hd_errorf("option --method: context needs a causal (next-token) model; %s is a %s masked LM", C.m->location,
                      hd_family_name(C.m->family));
            status = EXIT_INPUT;
            goto done;
        }
        if (save && method == HD_CLF_CONTEXT) {
            hd_errorf("option --save-head: the context method has no fitted head (use --method centroid, knn, "
                      "logistic or kmer)");
            status = EXIT_INPUT;
            goto done;
        }
        if (!(C.be = hd_open_backend(&co))) { status = hd_error_kind() == HD_EMODEL ? EXIT_MODEL : EXIT_INPUT; goto done; }
        if (method != HD_CLF_CONTEXT && method != HD_CLF_KMER) {
            if (!(mid = hd_model_identity(C.m))) { status = hd_fail(); goto done; }
            if (loaded && strcmp(mid, loaded->model_id)) {
                hd_errorf("the head %s was made for another model (%s, identity %s); %s has identity %s", headf,
                          loaded->model_path, loaded->model_id, C.m->location, mid);
                status = EXIT_INPUT;
                goto done;
            }
        }
    }
    if (method == HD_CLF_CONTEXT && rc) {
        hd_errorf("option --rc applies to centroid, knn, logistic and kmer, not to context");
        status = EXIT_INPUT;
        goto done;
    }
    C.method = method;
    C.pool = pool;
    C.rc = rc;
    C.kmer = (int)kmer;
    C.fit = (hd_fit_opts){.l2 = l2, .max_iter = (int)maxit, .tol = 1e-6, .knn_k = (int)knn};
    if (C.m || method == HD_CLF_KMER) C.dim = method == HD_CLF_CONTEXT ? 0 : feature_dim(&C);

    /* ---- the classifier */
    if (loaded) {
        if (loaded->dim != C.dim) {
            hd_errorf("the head %s has %d features; this model gives %d", headf, loaded->dim, C.dim);
            status = EXIT_INPUT;
            goto done;
        }
        C.head = loaded;
        loaded = NULL;
        C.C = C.head->n_classes;
        C.classes = C.head->classes;
    } else {
        if (hd_read_labelled(train, ref, &tr)) { status = hd_fail(); goto done; }
        C.C = tr.n_classes;
        C.classes = tr.classes;
        hd_infof("%s: %zu labelled records in %d classes", train, tr.n, tr.n_classes);
    }
    scores = malloc((size_t)C.C * sizeof *scores);
    probs = malloc((size_t)C.C * sizeof *probs);
    if (!scores || !probs) { hd_set_error(HD_EMODEL, "out of memory"); status = hd_fail(); goto done; }
    if (!(o = hd_out_open(out, 1))) { status = hd_fail(); goto done; }
    writer w = {o, 0, 0, method == HD_CLF_CONTEXT || method == HD_CLF_LOGISTIC || method == HD_CLF_KMER};

    if (cv) {
        /* ---- K-fold cross-validation on the training set */
        fold = malloc(tr.n * sizeof *fold);
        truth = malloc(tr.n * sizeof *truth);
        pred = malloc(tr.n * sizeof *pred);
        feat = method == HD_CLF_CONTEXT ? NULL : calloc(tr.n, sizeof *feat);
        size_t *idx = malloc(tr.n * sizeof *idx);
        double *S = malloc(tr.n * (size_t)C.C * sizeof *S), *P = malloc(tr.n * (size_t)C.C * sizeof *P);
        if (!fold || !truth || !pred || (method != HD_CLF_CONTEXT && !feat) || !idx || !S || !P) {
            free(idx); free(S); free(P);
            hd_set_error(HD_EMODEL, "out of memory");
            status = hd_fail();
            goto done;
        }
        if (hd_stratified_folds(&tr, (int)cv, (uint64_t)seed, fold)) {
            char *e = hd_sprintf("%s: option --cv: %s", train, hd_error());
            hd_errorf("%s", e ? e : "?");
            free(e);
            free(idx); free(S); free(P);
            status = EXIT_INPUT;
            goto done;
        }
        for (int f = 0; f < cv && !status; f++) {
            size_t n = 0;
            for (size_t i = 0; i < tr.n; i++)
                if (fold[i] != f) idx[n++] = i;
            if (clf_build(&C, &tr, idx, n, (int)shots, (uint64_t)seed + (uint64_t)f, feat, train)) { status = hd_fail(); break; }
            for (size_t i = 0; i < tr.n && !status; i++) {
                if (fold[i] != f) continue;
                const hd_lseq *r = &tr.v[i];
                const float *cached = feat ? feat[i] : NULL;
                int b = clf_predict(&C, r->seq, r->len, r->name, train, cached, S + i * C.C, P + i * C.C);
                if (b < 0) { status = hd_fail(); break; }
                pred[i] = b;
                truth[i] = r->label;
            }
            clf_clear(&C);
        }
        w.truth = 1;
        if (!status && write_header(&w, &C)) { status = hd_fail(); }
        for (size_t i = 0; i < tr.n && !status; i++)
            if (write_row(&w, &C, tr.v[i].name, NULL, 0, 0, pred[i], S + i * C.C, P + i * C.C,
                          tr.classes[tr.v[i].label]))
                status = hd_fail();
        free(idx); free(S); free(P);
        if (!status && report_metrics(&C, truth, pred, tr.n, metrics)) status = hd_fail();
        if (status) goto done;
        if (hd_out_close(o)) { o = NULL; status = hd_fail(); goto done; }
        o = NULL;
        goto done;
    }

    /* ---- fit on the whole training set (or use the loaded head) */
    if (!C.head && clf_build(&C, &tr, NULL, 0, (int)shots, (uint64_t)seed, NULL, train)) { status = hd_fail(); goto done; }
    if (save) {
        C.head->model_id = mid ? strdup(mid) : NULL;
        C.head->model_path = C.m ? strdup(C.m->location) : NULL;
        if (hd_head_save(C.head, save)) { status = hd_fail(); goto done; }
    }
    /* ---- queries */
    hd_qspec qs = {.path = query, .ref = ref, .region = region, .window = window, .stride = stride};
    qs.bed = !region && (bed || query_is_bed(query, ref != NULL));
    const char *qname = query ? query : ref;
    if (!(qr = hd_qreader_open(&qs))) { status = hd_fail(); goto done; }
    w.bed = hd_qreader_regional(qr);
    hd_query q;
    int r, first = 1, progress = co.progress || isatty(STDERR_FILENO);
    double t0 = hd_now();
    while ((r = hd_qreader_next(qr, &q)) > 0) {
        int tl = -1;
        if (first) {
            w.truth = q.label != NULL;
            if (write_header(&w, &C)) { status = hd_fail(); goto done; }
            first = 0;
        }
        if (w.truth) {
            if (!q.label) {
                hd_errorf("%s: query %s has no label while earlier queries have one", qname, q.name);
                status = EXIT_INPUT;
                goto done;
            }
            for (int k = 0; k < C.C; k++)
                if (!strcmp(C.classes[k], q.label)) tl = k;
            if (tl < 0) {
                hd_errorf("%s: query %s has the label '%s', which is not a class of the training set", qname, q.name,
                          q.label);
                status = EXIT_INPUT;
                goto done;
            }
        }
        int b = clf_predict(&C, q.seq, q.len, q.name, qname, NULL, scores, probs);
        if (b < 0) { status = hd_fail(); goto done; }
        if (write_row(&w, &C, q.name, q.chrom, q.beg, q.end, b, scores, probs, w.truth ? q.label : NULL)) {
            status = hd_fail();
            goto done;
        }
        if (nq == capq) {
            capq = capq ? 2 * capq : 1024;
            int *t2 = realloc(truth, capq * sizeof *t2), *p2 = t2 ? realloc(pred, capq * sizeof *p2) : NULL;
            if (t2) truth = t2;
            if (p2) pred = p2;
            if (!t2 || !p2) { hd_set_error(HD_EMODEL, "out of memory"); status = hd_fail(); goto done; }
        }
        truth[nq] = tl;
        pred[nq++] = b;
        if (progress && nq % 100 == 0 && hd_verbosity >= 2)
            fprintf(stderr, "\rhyenadna classify: %zu queries (%.1f/s)", nq, (double)nq / (hd_now() - t0 + 1e-9));
    }
    if (progress && nq >= 100 && hd_verbosity >= 2) fputc('\n', stderr);
    if (r < 0) { status = hd_fail(); goto done; }
    if (!nq) { hd_errorf("%s: no queries", qname); status = EXIT_INPUT; goto done; }
    if (w.truth && report_metrics(&C, truth, pred, nq, metrics)) { status = hd_fail(); goto done; }
    if (!w.truth && metrics) hd_warnf("option --metrics: the queries carry no labels; no metrics written");
    if (hd_out_close(o)) { o = NULL; status = hd_fail(); goto done; }
    o = NULL;
done:
    if (o) hd_out_abort(o);
    hd_qreader_close(qr);
    if (feat)
        for (size_t i = 0; i < tr.n; i++) free(feat[i]);
    free(feat);
    free(fold);
    free(truth);
    free(pred);
    free(scores);
    free(probs);
    free(mid);
    if (C.head && C.classes == C.head->classes) C.classes = NULL;
    clf_clear(&C);
    hd_head_free(loaded);
    hd_lset_free(&tr);
    hd_backend_free(C.be);
    hd_model_close(C.m);
    return status;
}
