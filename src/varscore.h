/* varscore.h -- variant scoring with DNA language models (`hyenadna score-variants`).
 *
 * Three layers, each usable on its own:
 *   1. pure functions: the REF/ALT windows around a variant, the causal log-likelihood of a window from
 *      its logits, log-probability differences, mean pooling and cosine distance;
 *   2. a job runner (hd_vs_engine): token windows in, ll / pooled embedding / logit-row queries out, run
 *      in parallel over windows (one single-threaded CPU backend per worker) or on one backend;
 *   3. a batch planner (hd_vs_batch): alleles in (contig, position, REF, ALT), the distinct windows and
 *      reference chunks they need are built once (a window shared by several alleles is run once), run,
 *      and the scores read back per allele.
 *
 * Coordinates are 0-based.  Token ids are those of tokenizer.h (A=7 C=8 G=9 T=10 N=11, [MASK]=3). */
#ifndef HD_VARSCORE_H
#define HD_VARSCORE_H

#include <stddef.h>
#include <stdint.h>

struct hd_model;
struct hd_backend;

/* ---------------------------------------------------------------- 1. pure functions */

/* The windows of one allele (man hyenadna-score-variants, WINDOWS).  With n the contig length, p the 0-based
 * position of the first REF base, d = reflen − altlen and d⁺ = max(d, 0):
 *     Lw = min(W, n − d⁺),   s = min(max(0, p − ⌊Lw/2⌋), n − Lw − d⁺);
 * the REF window is ref[s, s + Lw) and the ALT window ref[s, p) + ALT + ref[p + reflen, n) cut to Lw bases,
 * so both hold exactly Lw bases, and a deletion near a contig end (or on a contig shorter than W) is scored
 * on windows of equal length.  Away from contig ends s = p − ⌊W/2⌋ and Lw = W.  Each ALT of a multi-allelic
 * record has its own window.  Requires reflen, altlen ≥ 1 and p + reflen ≤ n. */
typedef struct {
    size_t s;   /* start of both windows on the contig */
    size_t L;   /* Lw: the length of both windows */
} hd_vs_win;
hd_vs_win hd_vs_window(size_t p, size_t reflen, size_t altlen, size_t W, size_t n);

/* The window start of an SNV or an insertion (d⁺ = 0): hd_vs_window(p, 1, 1, W, clen).s. */
size_t hd_vs_window_start(size_t p, size_t W, size_t clen);

/* REF window: ref[s, s + n) with n = min(W, clen − s); returns n (ids written to out, room for W).  With the
 * s and W = Lw of hd_vs_window it is exactly Lw long. */
size_t hd_vs_ref_window(const uint8_t *ref, size_t clen, size_t s, size_t W, int32_t *out);

/* ALT window: ref[s, p) + alt + ref[p + reflen, clen), cut to W tokens; returns its length (Lw with the s and
 * W = Lw of hd_vs_window).  Requires s ≤ p and p + reflen ≤ clen. */
size_t hd_vs_alt_window(const uint8_t *ref, size_t clen, size_t s, size_t p, size_t reflen, const int32_t *alt,
                        size_t altlen, size_t W, int32_t *out);

/* log softmax(row)[a] over all nl entries of the row (double precision). */
double hd_vs_logprob(const float *row, int nl, int a);
/* ll(x) = Σ_{t=1}^{L−1} log softmax(logits[t−1])[x[t]]  (position 0 is not scored). */
double hd_vs_loglik(const float *logits, size_t L, int nl, const int32_t *x);
/* out[d] = mean over the L rows of h[L, D]. */
void hd_vs_meanpool(const float *h, size_t L, size_t D, float *out);
/* 1 − a·b / (‖a‖‖b‖); 0 when either vector is zero. */
double hd_vs_cosdist(const float *a, const float *b, size_t n);

/* Token ids of the bases of an allele (A C G T, any case).  -1 when the allele is not bases (symbolic <...>,
 * '*', breakends, '.', empty); -2 when it holds a base other than A, C, G or T (N or an IUPAC code): such an
 * allele gets no score (out is then not filled). */
long hd_vs_allele_ids(const char *allele, int32_t *out, size_t cap);

/* The stretches of a contig that are not A, C, G or T (maximal runs of other characters; the contig is
 * upper-case), sorted, each marked when it holds nothing but N.  The planner checks the bases a score reads
 * against them. */
typedef struct {
    size_t beg, end;
    int only_n;
} hd_vs_stretch;
typedef struct {
    hd_vs_stretch *v;
    size_t n, m;
} hd_vs_stretches;
/* Build from upper-case bases; 0, or -1 + hd_error (out of memory). */
int hd_vs_stretches_build(hd_vs_stretches *r, const char *seq, size_t n);
void hd_vs_stretches_free(hd_vs_stretches *r);
/* What [beg, end) holds: */
enum { HD_VS_SPAN_ACGT = 0, HD_VS_SPAN_N = 1, HD_VS_SPAN_OTHER = 2 };   /* only ACGT; ACGT and N; another code */
int hd_vs_stretches_check(const hd_vs_stretches *r, size_t beg, size_t end);

/* Whether the model has a token for N, so that N in a window is read as what it is (every family hyenadna
 * runs does: the character vocabulary of docs/models.md §2 has N = 11, Evo 2's bytes (§6.3) 'N'). */
int hd_vs_model_has_n(const struct hd_model *m);

/* ---------------------------------------------------------------- 2. job runner */

typedef struct {
    size_t row;      /* logits row read */
    int32_t a, b;    /* out = log p(a) − log p(b) at that row */
    double out;
} hd_vs_query;

typedef struct {
    int32_t *ids;          /* owned by the job (freed by hd_vs_job_free) */
    size_t L;
    int want_ll, want_pool;
    hd_vs_query *q;
    size_t nq, cap_q;
    /* results */
    double ll;
    float *pool;           /* [d_hidden] when want_pool */
    uint64_t hash;         /* content hash (for deduplication) */
} hd_vs_job;

void hd_vs_job_free(hd_vs_job *j);

typedef struct hd_vs_engine hd_vs_engine;

/* An engine over a model and a backend (both stay owned by the caller).  With a backend that can spawn
 * workers (the CPU: hd_backend.spawn) and nworkers > 1, windows run side by side on nworkers private
 * single-threaded backends (workers.h; windows of HD_WORKERS_LONG tokens or more on `be` with all its
 * threads); otherwise they run one after another on `be`.  The results are the same bits either way.
 * NULL + hd_error on failure. */
hd_vs_engine *hd_vs_engine_new(struct hd_model *m, struct hd_backend *be, int nworkers);
void hd_vs_engine_free(hd_vs_engine *e);
int hd_vs_engine_workers(const hd_vs_engine *e);
/* Run n jobs; 0 on success, -1 + hd_error (naming the length of the first failing window) otherwise. */
int hd_vs_run(hd_vs_engine *e, hd_vs_job *jobs, size_t n);
size_t hd_vs_engine_forwards(const hd_vs_engine *e);   /* forward passes run so far */

/* ---------------------------------------------------------------- 3. batch planner */

typedef enum {
    HD_VS_WINDOW = 0,   /* causal: ll(ALT window) − ll(REF window) */
    HD_VS_PREFIX,       /* causal: log p(ALT | prefix) − log p(REF | prefix), one pass per reference chunk */
    HD_VS_MASKED,       /* masked LM: variant base(s) replaced by [MASK], log p(ALT) − log p(REF) there */
    HD_VS_UNMASKED      /* masked LM read without masking, one pass per reference chunk */
} hd_vs_mode;

const char *hd_vs_mode_name(hd_vs_mode m);
int hd_vs_mode_parse(const char *s, hd_vs_mode *out);   /* 0 ok, -1 unknown */

typedef struct {
    hd_vs_mode mode;
    size_t window;     /* W */
    size_t chunk;      /* reference chunk length for prefix/unmasked modes */
    size_t overlap;    /* overlap of consecutive chunks */
    int rc;            /* average over the forward strand and the reverse complement */
    int edist;         /* compute the embedding cosine distance */
    int llr_mean;      /* --llr mean: each window's log-likelihood divided by its scored positions */
    int n_token;       /* the model has an N token: N in the bases a score reads is allowed */
    int prefix_only;   /* prefix mode: an SNV without a prefix gets no LLR (HD_VS_NO_PREFIX) instead of the
                          window-mode score */
} hd_vs_opts;

/* A reference contig as token ids (uppercase, unknown characters → N).  ids may hold the whole contig
 * (off = 0, n = 0) or only the bases [off, off + n): then every allele added must lie in the part that
 * hd_vs_span() says it needs. */
typedef struct {
    int id;               /* distinct per contig (keys the chunk cache) */
    const char *name;
    const uint8_t *ids;   /* bases [off, off + n) of the contig (n = 0: all len of them) */
    size_t len;           /* contig length */
    size_t off, n;
    size_t origin;        /* where the chunk grid starts (see hd_vs_grid; 0: the contig start) */
    const hd_vs_stretches *stretches;   /* its non-ACGT stretches; NULL: not checked */
} hd_vs_contig;

/* The reference chunks of prefix and unmasked modes.  Along a contig of length len, from `origin`, chunk k
 * covers [origin + k·(C − O), min(origin + k·(C − O) + C, len)): C = min(chunk, len − origin) and
 * O = min(overlap, C − 1), so the last chunk may be shorter.  Each base is read from one chunk: in prefix
 * mode the earliest chunk holding it (the most left context, at least O bases after the first chunk), on
 * the reverse strand the latest (the most right context); in unmasked mode the chunk that puts it furthest
 * from both ends.  Bases before origin belong to no chunk. */
typedef struct {
    size_t origin, len, C, stride, K;
} hd_vs_grid;

void hd_vs_grid_init(hd_vs_grid *g, size_t origin, size_t len, size_t chunk, size_t overlap);
void hd_vs_grid_chunk(const hd_vs_grid *g, size_t k, size_t *start, size_t *n);
/* The earliest and the latest chunk holding base p (origin ≤ p < len). */
size_t hd_vs_grid_first(const hd_vs_grid *g, size_t p);
size_t hd_vs_grid_last(const hd_vs_grid *g, size_t p);

/* Check a VCF REF allele against a contig (upper-case bases seq[0, len)) at 0-based position pos:
 * 1 it matches (case-insensitive), 0 it does not, -1 it reaches outside the contig (pos < 0 — POS 0 —,
 * pos ≥ len, or pos + strlen(refal) > len), -2 it is empty. */
int hd_vs_check_ref(const char *seq, size_t len, int64_t pos, const char *refal);

/* Convert bases to ids (the contig form): A C G T → 7..10, everything else → N (11). */
void hd_vs_seq_ids(const char *seq, size_t n, uint8_t *out);

typedef struct hd_vs_batch hd_vs_batch;

hd_vs_batch *hd_vs_batch_new(hd_vs_engine *e, const hd_vs_opts *o);
void hd_vs_batch_free(hd_vs_batch *b);

/* Why an allele gets no LLR (its EDIST may still be computed, except for HD_VS_NONACGT_WINDOW). */
enum {
    HD_VS_OK = 0,
    HD_VS_NO_LLR_INDEL = 1,     /* masked and unmasked modes: an indel */
    HD_VS_NO_PREFIX = 2,        /* prefix mode with prefix_only: an SNV without a prefix */
    HD_VS_NONACGT_WINDOW = 3,   /* the bases the score reads hold a code other than A C G T (or N without an N
                                 * token; contigs with stretches only): no score */
    HD_VS_SAME_WINDOW = 4       /* an ALT that differs from REF but whose window is the REF window (an insertion
                                 * after the contig's last base, a deletion of its last bases, an indel in a
                                 * repeat longer than the window): no score, not 0 */
};

/* The bases [*lo, *hi) of contig c the batch reads to score SNVs (or substitutions) at positions [a, e)
 * of it (a < e ≤ c->len): what an hd_vs_contig holding part of a contig must hold. */
void hd_vs_span(const hd_vs_batch *b, const hd_vs_contig *c, size_t a, size_t e, size_t *lo, size_t *hi);

/* Queue one allele: the variant's REF (reflen ids at p; the caller has checked them against the contig)
 * and one ALT (ids).  Returns a handle ≥ 0, or -1 + hd_error.  The bases its scores read are checked
 * against c->stretches first: an allele whose windows (or chunks) hold a code other than A, C, G, T (or N, with
 * an N token) is not run and its result is HD_VS_NONACGT_WINDOW. */
long hd_vs_batch_add(hd_vs_batch *b, const hd_vs_contig *c, size_t p, size_t reflen, const int32_t *alt,
                     size_t altlen);
size_t hd_vs_batch_size(const hd_vs_batch *b);        /* alleles queued */
size_t hd_vs_batch_tokens(const hd_vs_batch *b);      /* tokens held by its windows */
int hd_vs_batch_run(hd_vs_batch *b);
/* Scores of an allele after the run (NAN when not computed); returns HD_VS_OK or why llr is NAN. */
int hd_vs_batch_result(const hd_vs_batch *b, long h, double *llr, double *edist);
void hd_vs_batch_clear(hd_vs_batch *b);                /* forget every allele and window */

#endif
