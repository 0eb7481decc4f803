/* classify.h -- few-shot and in-context classification of DNA sequences (hyenadna classify).
 *
 * The pieces are pure functions over plain arrays so that each can be tested without the command:
 *   classify_input.c     labelled sets and query sources (on the readers seqio.h, bed.h, regions.h)
 *   classify_sample.c    a seeded PRNG, the examples per class, stratified folds
 *   classify_features.c  k-mer features, the in-context scorer of causal models
 *   classify_head.c      centroid / k-nearest-neighbour / logistic-regression heads, their safetensors form
 *   classify_metrics.c   classification metrics
 *   classify_run.c       the classifier (features + head or prompts) and the cross-validation loop
 * Pooled embeddings come from embed.h. */
#ifndef HD_CLASSIFY_H
#define HD_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

#include "embed.h"
#include "rng.h"

struct hd_model;
struct hd_backend;

/* ------------------------------------------------------------------ labelled sequences */
typedef struct {
    char *name;      /* record name (FASTA), "chrom:beg-end" (BED, 1-based) or "lineN" (TSV) */
    char *seq;       /* bases as read (NUL-terminated) */
    size_t len;
    int label;       /* index into hd_lset.classes; -1 when unlabelled */
    char *chrom;     /* BED/windows: the interval (0-based half-open); NULL otherwise */
    int64_t beg, end;
} hd_lseq;

typedef struct {
    hd_lseq *v;
    size_t n, cap;
    char **classes;  /* in order of first appearance */
    int n_classes;
} hd_lset;

void hd_lset_free(hd_lset *s);
/* Add a record; label NULL = unlabelled.  The strings are copied.  0 or -1 (out of memory). */
int hd_lset_add(hd_lset *s, const char *name, const char *seq, size_t len, const char *label,
                const char *chrom, int64_t beg, int64_t end);
int hd_lset_class(const hd_lset *s, const char *label);       /* index, -1 when absent */
int hd_lset_class_add(hd_lset *s, const char *label);         /* index (added when new), -1 OOM */

/* The value of `label=NAME` in a FASTA header description (whitespace-separated words); the value
 * is copied into buf (size n).  1 found, 0 absent, -1 present but empty or too long, -2 given twice with
 * different values (label=a label=b; the same value twice is one label). */
int hd_header_label(const char *comment, char *buf, size_t n);

/* Read a labelled training file ("-" = standard input): FASTA whose header descriptions hold
 * label=NAME, a TSV of `label<TAB>sequence` lines, or a BED of `chrom start end label` (needs `ref`, an
 * indexed FASTA).  The format is told by the first line that is neither empty nor a comment ('#',
 * "track", "browser"): '>' FASTA, four or more tab-separated fields with integer 2nd and 3rd BED, else
 * TSV.  FASTA records follow the rules of seqio.h (empty records and repeated names skipped with a
 * warning), BED lines those of bed.h and regions.h.  Every record must carry a label; at least two
 * classes are needed, each non-empty.  -1 with an error naming the file and the record or line. */
int hd_read_labelled(const char *path, const char *ref, hd_lset *out);

/* Check that a labelled set has >= 2 classes, each with at least one record (what = file name). */
int hd_lset_check_classes(const hd_lset *s, const char *what);

/* ------------------------------------------------------------------ shots and folds */
/* Pick up to `shots` examples of each class (0 = all), in a seeded shuffled order.  out receives the
 * indices class by class (class 0's shots first), counts[c] how many of class c; returns the total.
 * idx has room for s->n entries. */
size_t hd_pick_shots(const hd_lset *s, const size_t *subset, size_t n_subset, int shots, uint64_t seed,
                     size_t *out, size_t *counts);
/* Stratified K-fold: fold[i] in [0, k) for every record of s (seeded shuffle within each class, then
 * round-robin).  -1 when a class has fewer than k records (error names the class). */
int hd_stratified_folds(const hd_lset *s, int k, uint64_t seed, int *fold);

/* ------------------------------------------------------------------ features */
/* k-mer frequencies: counts of the 4^k k-mers of A/C/G/T (case-insensitive; k-mers with any other
 * character skipped) divided by their total; rc = 1 averages with the reverse complement's vector.
 * out has 4^k entries.  Returns the number of k-mers counted. */
size_t hd_kmer_features(const char *seq, size_t n, int k, int rc, float *out);
/* Has seq a k-mer of A, C, G, T (one that hd_kmer_features counts)? */
int hd_kmer_countable(const char *seq, size_t n, int k);
/* The kmer method's training set: the records of s without a k-mer of A, C, G, T (all N, shorter than k) are
 * removed, each named in a warning (the first 5, then their count), as such queries are not scored: an
 * all-zero vector is no example of its class.  -1 with an HD_EINPUT error naming file and the class when a
 * class is left without examples. */
int hd_lset_drop_kmerless(hd_lset *s, int k, const char *file);

/* Pooling and pooled embeddings (hd_pool, hd_pool_parse, hd_embed_ids, hd_embed_width) come from embed.h. */

/* ------------------------------------------------------------------ in-context scoring */
/* Join examples with [SEP] after each (e1 [SEP] e2 [SEP] ... en [SEP]) and keep the last `max_tokens`
 * tokens (0 = no limit).  out has room for the full length; returns the prompt length. */
size_t hd_ctx_join(const int32_t *const *ex, const size_t *len, int n, size_t max_tokens, int32_t *out);

/* Log-likelihood convention: the log-softmax over all n_logits columns of logits row t−1 scores
 * token t.  Mean over the query tokens q[0..nq) following a prompt of np >= 1 tokens (q[0] is
 * scored from the prompt's last row); with np == 0, positions 1..nq−1 are scored (0 when nq < 2).
 * Runs one forward pass of np + nq tokens.  -1 with hd_error on failure. */
int hd_ctx_mean_ll(struct hd_model *m, struct hd_backend *be, const int32_t *prompt, size_t np,
                   const int32_t *q, size_t nq, double *mean_ll);

/* Mean log-softmax of ids[t] under logits row t−1 for t in [from, L) (logits [L, nl]). */
double hd_mean_next_ll(const float *logits, size_t nl, const int32_t *ids, size_t from, size_t L);

/* ------------------------------------------------------------------ heads */
typedef enum { HD_CLF_CONTEXT = 0, HD_CLF_CENTROID, HD_CLF_KNN, HD_CLF_LOGISTIC, HD_CLF_KMER } hd_clf_method;
/* The prediction of a sequence that kmer cannot score: it has no k-mer of A, C, G, T (all N, or shorter
 * than k), so its features carry no information; its scores and probabilities are NaN (hyenadna-classify(1)). */
#define HD_CLF_UNSCORED (-2)
int hd_clf_method_parse(const char *s, hd_clf_method *out);
const char *hd_clf_method_name(hd_clf_method m);

typedef struct {
    hd_clf_method method;        /* CENTROID, KNN, LOGISTIC or KMER (logistic on k-mers) */
    int n_classes, dim;
    char **classes;
    /* centroid: class means [C, D] */
    float *centroids;
    /* knn: the training vectors [n, D] and labels */
    float *X;
    int *y;
    size_t n;
    int k;
    /* logistic: standardisation and the fitted weights W [C, D], b [C] */
    double *mu, *sd, *W, *b;
    /* the features: pooling and model identity, or k-mer size */
    hd_pool pool;
    int rc, kmer;
    char *model_id, *model_path;
} hd_head;

void hd_head_free(hd_head *h);

/* Fit a head on n feature vectors X [n, D] with labels y in [0, C).  classes are copied.
 * centroid: per-class means; knn: keeps the vectors (k neighbours); logistic/kmer: multinomial
 * logistic regression with L2 penalty l2 (on W, not b) on standardised features, fitted by L-BFGS
 * (max_iter iterations, stop when the gradient's max-norm < tol). */
typedef struct { double l2; int max_iter; double tol; int knn_k; } hd_fit_opts;
hd_head *hd_head_fit(hd_clf_method method, const float *X, const int *y, size_t n, int D, int C,
                     char *const *classes, const hd_fit_opts *o);

/* Class scores of one vector: centroid cosine similarities, knn vote fractions (ties in the
 * prediction broken by the summed similarity), logistic linear scores (softmax = probabilities).
 * scores [C].  Returns the predicted class (-1: out of memory). */
int hd_head_predict(const hd_head *h, const float *x, double *scores);

/* Objective of the logistic fit (mean cross-entropy + l2/2·‖W‖²) and its gradient w.r.t. W, b
 * on standardised features Z [n, D] (for tests).  gW [C, D], gb [C] may be NULL. */
double hd_logistic_objective(const double *W, const double *b, const double *Z, const int *y, size_t n, int D,
                             int C, double l2, double *gW, double *gb);

/* Save / load a head (safetensors; metadata records method, classes, features, model identity). */
int hd_head_save(const hd_head *h, const char *path);
hd_head *hd_head_load(const char *path);

/* Identity of a model's weights: a 64-bit FNV-1a hash of the safetensors header and the file size,
 * as 16 hex digits + ":" + size.  NULL with hd_error. */
char *hd_model_identity(const struct hd_model *m);

/* ------------------------------------------------------------------ metrics */
typedef struct {
    int C;
    long *cm;        /* [C, C]: rows true, columns predicted */
    long n, correct;
    long unscored;   /* labelled records with no prediction (HD_CLF_UNSCORED), not in n */
    double accuracy, mcc;
    double *precision, *recall, *f1;   /* [C]; NaN when undefined (no predictions / no members) */
} hd_metrics;

int hd_metrics_compute(const int *truth, const int *pred, size_t n, int C, hd_metrics *out);
void hd_metrics_free(hd_metrics *m);
/* Gorodkin's multiclass MCC of a confusion matrix [C, C] (0 when the denominator is 0). */
double hd_mcc_multiclass(const long *cm, int C);
/* JSON document (jansson) of the metrics; returns a malloc'd string or NULL. */
char *hd_metrics_json(const hd_metrics *m, char *const *classes, const char *method);

/* softmax of n scores into p */
void hd_softmax(const double *s, int n, double *p);

/* ------------------------------------------------------------------ in-context class scores */
/* In-context class scores of one query q[0..nq): for class c the prompt is the last
 * min(plen[c], max_len − nq) tokens of prompts[c] (a hd_ctx_join result with no limit), and
 * scores[c] = hd_ctx_mean_ll(prompt, q) − hd_ctx_mean_ll(no prompt, q); *baseline gets the latter.
 * The query must leave room for at least one prompt token.  -1 with hd_error. */
int hd_ctx_scores(struct hd_model *m, struct hd_backend *be, const int32_t *const *prompts, const size_t *plen, int C,
                  const int32_t *q, size_t nq, double *scores, double *baseline);

/* ------------------------------------------------------------------ query sources */
/* Query sources: FASTA records, BED intervals of a reference, or a region of a reference, each
 * optionally cut into windows (window > 0: the windows of regions.h, hd_window_get: starts 0, stride,
 * 2·stride, ... while the window fits, plus one window ending at the end when the tail is not covered;
 * a sequence shorter than the window is one query).  The records, intervals and region follow the rules
 * of seqio.h, bed.h and regions.h. */
typedef struct {
    const char *path;     /* FASTA or BED query file (NULL: the region of ref) */
    const char *ref;      /* indexed reference FASTA for BED queries and regions */
    const char *region;   /* chr, chr:beg-end (1-based inclusive) */
    int bed;              /* path is BED */
    long window, stride;
} hd_qspec;

typedef struct {
    const char *name;     /* record name, or chrom:beg-end (1-based) for intervals and windows */
    const char *chrom;    /* NULL for whole FASTA records */
    int64_t beg, end;     /* 0-based half-open, on chrom */
    char strand;          /* a BED query's strand ('-': seq is the reverse complement, bed.h), else '.' */
    const char *seq;
    size_t len;
    const char *label;    /* true label (FASTA label=, BED 4th column) or NULL */
} hd_query;

/* Is a query file BED: named .bed/.bed.gz, or, when a reference is given, not starting with '>'? */
int hd_query_is_bed(const char *path, int ref_given);

typedef struct hd_qreader hd_qreader;
hd_qreader *hd_qreader_open(const hd_qspec *spec);
int hd_qreader_next(hd_qreader *q, hd_query *out);   /* 1 one more, 0 end, -1 error */
int hd_qreader_regional(const hd_qreader *q);         /* 1 when queries are intervals (BED output) */
void hd_qreader_close(hd_qreader *q);

/* ------------------------------------------------------------------ the classifier */
/* One classifier: the method, its features (the model's pooled embeddings, or k-mer frequencies) and,
 * once built from training records, the prompts (context) or the fitted head (the other methods). */
typedef struct {
    hd_clf_method method;
    struct hd_model *m;        /* NULL for kmer */
    struct hd_backend *be;
    struct hd_workers *wk;     /* many sequences run side by side, one per worker (workers.h); NULL: in turn on be */
    hd_pool pool;
    int rc, kmer;
    hd_fit_opts fit;
    int knn_k_warned;          /* the -k above the training set's size warning was given */
    int C;
    char *const *classes;      /* borrowed: the training set's or the head's */
    int dim;                   /* feature width (hd_clf_dim); 0 for context */
    /* built */
    int32_t **prompts;         /* context: one joined prompt per class */
    size_t *plen;
    hd_head *head;             /* the other methods */
} hd_clf;

/* The feature width: 4^kmer for kmer, else the model's pooled embedding width. */
int hd_clf_dim(const hd_clf *c);
/* The features of one query sequence (out [dim]); errors name `file` and the record `name`. */
int hd_clf_features(hd_clf *c, const char *seq, size_t len, const char *name, const char *file, float *out);
/* Build from the records idx[0..n) of the training set (idx NULL: all), `shots` per class chosen with
 * the seed; feat (may be NULL) caches each record's features by record index across calls.  A class
 * with fewer examples than shots is a warning (hd_log); -1 with an error naming `file`. */
int hd_clf_build(hd_clf *c, const hd_lset *tr, const size_t *idx, size_t n, int shots, uint64_t seed, float **feat,
                 const char *file);
/* Scores [C] and probabilities [C] (NaN when the method has none) of one sequence (cached: its features,
 * or NULL to compute them); the predicted class, HD_CLF_UNSCORED (scores and probabilities NaN) for a kmer
 * sequence with no k-mer, -1 with an error. */
int hd_clf_predict(hd_clf *c, const char *seq, size_t len, const char *name, const char *file, const float *cached,
                   double *scores, double *probs);
/* A sequence of a batch: its bases, its name (for errors) and, for hd_clf_predict_batch, its cached features
 * (NULL: computed). */
typedef struct {
    const char *seq;
    size_t len;
    const char *name;
    const float *cached;
} hd_clf_item;
/* The features of n training sequences side by side on c->wk (out[i] [dim] each) — the same bits as
 * hd_clf_features; a sequence longer than the model is an error saying that training examples are not cut.
 * -1 with the error of the first failing item in order (*failed, when not NULL, gets its index). */
int hd_clf_features_batch(hd_clf *c, const hd_clf_item *it, size_t n, const char *file, float *const *out,
                          size_t *failed);
/* hd_clf_predict of n sequences side by side: best[i], scores[i·C..], probs[i·C..]; the same bits as one at a
 * time.  -1 with the error of the first failing item in order (*failed, when not NULL, gets its index). */
int hd_clf_predict_batch(hd_clf *c, const hd_clf_item *it, size_t n, const char *file, int *best, double *scores,
                         double *probs, size_t *failed);
/* Drop what hd_clf_build made (the next build starts afresh). */
void hd_clf_clear(hd_clf *c);

/* Stratified K-fold cross-validation on the training set: fold i trains on the other folds (seed + i for
 * the shots) and predicts the records of fold i: pred[r], scores S[r·C..] and probabilities P[r·C..] for
 * every record r.  Features are computed once per record, all of them first (side by side).  -1 with an
 * error naming `file`. */
int hd_clf_cv(hd_clf *c, const hd_lset *tr, int k, int shots, uint64_t seed, const char *file, int *pred, double *S,
              double *P);

#endif
