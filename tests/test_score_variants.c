/* test_score_variants.c -- variant scoring (src/varscore.c) and `hyenadna score-variants`, checked against
 * values computed here independently from the library's forward pass on hand-built windows
 * (tests/data/hyenadna-tiny, lambda-phage DNA from its input.fa). */
#include "testutil.h"
#include "backend.h"
#include "model.h"
#include "seqio.h"
#include "tokenizer.h"
#include "varscore.h"

#include <ctype.h>
#include <unistd.h>

#define TINY TESTDATA("hyenadna-tiny")
#define REL 1e-4

static hd_model *M;
static hd_backend *BE;
static char *CTG_A, *CTG_C;       /* seq6 (1024 bp); seq5+seq6+seq7+seq8 */
static size_t LEN_A, LEN_C;
static uint8_t *IDS_A, *IDS_C;

static char *cat(char *a, const char *b, size_t nb, size_t *len)
{
    a = realloc(a, *len + nb + 1);
    memcpy(a + *len, b, nb);
    *len += nb;
    a[*len] = 0;
    return a;
}

static void setup(void)
{
    M = hd_model_open(TINY);
    cr_assert_not_null(M, "%s", hd_error());
    BE = hd_backend_cpu_new(1);
    cr_assert_not_null(BE);
    hd_fasta *fa = hd_fasta_open(TINY "/input.fa");
    cr_assert_not_null(fa);
    hd_seqrec r;
    LEN_A = LEN_C = 0;
    CTG_A = CTG_C = NULL;
    while (hd_fasta_next(fa, &r) > 0) {
        if (!strcmp(r.name, "seq6")) CTG_A = cat(CTG_A, r.seq, r.len, &LEN_A);
        if (!strcmp(r.name, "seq5") || !strcmp(r.name, "seq6") || !strcmp(r.name, "seq7") || !strcmp(r.name, "seq8"))
            CTG_C = cat(CTG_C, r.seq, r.len, &LEN_C);
    }
    hd_fasta_close(fa);
    cr_assert_eq(LEN_A, 1024);
    for (size_t i = 0; i < LEN_C; i++) CTG_C[i] = (char)toupper((unsigned char)CTG_C[i]);
    IDS_A = malloc(LEN_A);
    IDS_C = malloc(LEN_C);
    hd_vs_seq_ids(CTG_A, LEN_A, IDS_A);
    hd_vs_seq_ids(CTG_C, LEN_C, IDS_C);
}

static void teardown(void)
{
    free(CTG_A); free(CTG_C); free(IDS_A); free(IDS_C);
    hd_backend_free(BE);
    hd_model_close(M);
}

/* ---------------------------------------------------------------- independent reference computations */

static int32_t *tok(const char *s, size_t n)
{
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    cr_assert_eq(hd_tokenize(s, n, HD_SPECIAL_NONE, ids, "test"), (long)n);
    return ids;
}

static void revcomp_str(char *s, size_t n)
{
    for (size_t i = 0; i < n / 2; i++) { char t = s[i]; s[i] = s[n - 1 - i]; s[n - 1 - i] = t; }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        s[i] = c == 'A' ? 'T' : c == 'T' ? 'A' : c == 'C' ? 'G' : c == 'G' ? 'C' : c;
    }
}

/* logits [n, 16] and hidden [n, 128] of a token array */
static void fwd(const int32_t *ids, size_t n, float **logits, float **hidden)
{
    *logits = malloc(n * 16 * sizeof(float));
    if (hidden) *hidden = malloc(n * 128 * sizeof(float));
    hd_fwd f = {.logits = *logits, .hidden = hidden ? *hidden : NULL, .layer = -1};
    cr_assert_eq(hd_model_forward(M, BE, ids, n, &f), 0, "%s", hd_error());
}

static double lsm(const float *row, int a)
{
    double mx = -INFINITY, z = 0;
    for (int i = 0; i < 16; i++) mx = row[i] > mx ? row[i] : mx;
    for (int i = 0; i < 16; i++) z += exp(row[i] - mx);
    return row[a] - mx - log(z);
}

/* ll of a base string: Σ_{t≥1} log softmax(logits[t−1])[x_t]; optional mean-pooled hidden state */
static double ll_str(const char *s, size_t n, float *pool)
{
    int32_t *ids = tok(s, n);
    float *lg, *hid;
    fwd(ids, n, &lg, pool ? &hid : NULL);
    double ll = 0;
    for (size_t t = 1; t < n; t++) ll += lsm(lg + (t - 1) * 16, ids[t]);
    if (pool) {
        for (int d = 0; d < 128; d++) {
            double acc = 0;
            for (size_t t = 0; t < n; t++) acc += hid[t * 128 + d];
            pool[d] = (float)(acc / n);
        }
        free(hid);
    }
    free(lg);
    free(ids);
    return ll;
}

/* REF and ALT windows built with plain string operations, by the rule of the man page (WINDOWS):
 * Lw = min(W, len − d⁺), s = min(max(0, p − ⌊Lw/2⌋), len − Lw − d⁺), d = len(REF) − len(ALT) */
static long wstart(long p, long W, long len)
{
    long s = p - W / 2;
    if (s > len - W) s = len - W;
    if (s < 0) s = 0;
    return s;
}

static void windows_str(const char *ctg, size_t len, size_t p, const char *ref, const char *alt, size_t W,
                        char **rw, size_t *nr, char **aw, size_t *na)
{
    long d = (long)strlen(ref) - (long)strlen(alt), dp = d > 0 ? d : 0;
    long Lw = (long)W < (long)len - dp ? (long)W : (long)len - dp;
    long s = (long)p - Lw / 2;
    if (s < 0) s = 0;
    if (s > (long)len - Lw - dp) s = (long)len - Lw - dp;
    *nr = (size_t)Lw;
    *rw = strndup(ctg + s, *nr);
    size_t cap = (p - s) + strlen(alt) + len + 1;
    char *a = malloc(cap);
    size_t k = 0;
    memcpy(a + k, ctg + s, p - s); k += p - s;
    memcpy(a + k, alt, strlen(alt)); k += strlen(alt);
    memcpy(a + k, ctg + p + strlen(ref), len - p - strlen(ref)); k += len - p - strlen(ref);
    cr_assert_geq(k, (size_t)Lw, "the ALT window has its Lw bases");
    k = (size_t)Lw;
    a[k] = 0;
    *aw = a;
    *na = k;
}

static double cosd(const float *a, const float *b)
{
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < 128; i++) ab += (double)a[i] * b[i], aa += (double)a[i] * a[i], bb += (double)b[i] * b[i];
    return 1 - ab / sqrt(aa * bb);
}

/* expected window-mode LLR (and EDIST), forward strand or averaged with the reverse complement */
static double expect_window(const char *ctg, size_t len, size_t p, const char *ref, const char *alt, size_t W, int rc,
                            double *edist)
{
    char *rw, *aw;
    size_t nr, na;
    windows_str(ctg, len, p, ref, alt, W, &rw, &nr, &aw, &na);
    float pr[128], pa[128];
    double l = ll_str(aw, na, pa) - ll_str(rw, nr, pr), d = cosd(pr, pa);
    if (rc) {
        revcomp_str(rw, nr);
        revcomp_str(aw, na);
        l = (l + ll_str(aw, na, pa) - ll_str(rw, nr, pr)) / 2;
        d = (d + cosd(pr, pa)) / 2;
    }
    free(rw);
    free(aw);
    if (edist) *edist = d;
    return l;
}

/* The binary may run other BLAS kernels than this test process (it selects OpenBLAS's AVX kernels at
 * start-up, cmd/main.c), so a score from the CLI is compared with an absolute floor of 1e-4 nats: the
 * LLR is a difference of two sums over the whole window, whose float32 rounding does not shrink with it. */
static void assert_close_cli(double got, double want, const char *what)
{
    double tol = 1e-4 * fmax(fabs(want), 1.0);
    cr_assert(fabs(got - want) <= tol, "%s: got %.9g, expected %.9g (|diff| %.3g > %.3g)", what, got, want,
              fabs(got - want), tol);
}

static void assert_close(double got, double want, const char *what)
{
    double tol = REL * fmax(fabs(want), 1e-3);
    cr_assert(fabs(got - want) <= tol, "%s: got %.9g, expected %.9g (|diff| %.3g > %.3g)", what, got, want,
              fabs(got - want), tol);
}

/* ---------------------------------------------------------------- pure functions */

Test(varscore, window_geometry)
{
    struct { size_t p, W, len, s; } c[] = {
        {0, 1024, 5000, 0}, {100, 1024, 5000, 0}, {512, 1024, 5000, 0}, {513, 1024, 5000, 1},
        {4999, 1024, 5000, 3976}, {4500, 1024, 5000, 3976}, {10, 1024, 300, 0}, {299, 1024, 300, 0},
        {50, 11, 100, 45}, {99, 11, 100, 89}, {0, 1, 10, 0}, {9, 1, 10, 9}};
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        cr_assert_eq(hd_vs_window_start(c[i].p, c[i].W, c[i].len), c[i].s, "p=%zu W=%zu len=%zu", c[i].p, c[i].W, c[i].len);
        cr_assert_eq((long)c[i].s, wstart((long)c[i].p, (long)c[i].W, (long)c[i].len));
    }
}

/* The window rule of issue 19 (man hyenadna-score-variants, WINDOWS), values worked out by hand:
 * Lw = min(W, n − d⁺), s = min(max(0, p − ⌊Lw/2⌋), n − Lw − d⁺). */
Test(varscore, window_rule)
{
    struct { size_t p, rl, al, W, n, s, L; } c[] = {
        {2500, 1, 1, 1024, 5000, 1988, 1024},     /* SNV mid-contig */
        {2500, 51, 1, 1024, 5000, 1988, 1024},    /* 50-bp deletion mid-contig: nothing changes */
        {4889, 51, 1, 1024, 5000, 3926, 1024},    /* the same deletion 60 bases before the end */
        {10, 189, 1, 1024, 215, 0, 27},           /* 188-bp deletion on a 215-bp contig */
        {299, 1, 5, 1024, 300, 0, 300},           /* insertion at the end of a contig shorter than W */
        {985, 11, 1, 100, 1000, 890, 100},        /* deletion reaching the last 5 bases */
        {0, 5, 1, 100, 1000, 0, 100},             /* deletion at the first base */
        {50, 1, 1, 11, 100, 45, 11},              /* odd W */
        {99, 1, 1, 11, 100, 89, 11},              /* SNV at the last base */
        {0, 10, 1, 1024, 10, 0, 1},               /* a deletion of all but one base of the contig */
        {3, 4, 2, 4, 7, 1, 4},                    /* d = 2: Lw = min(4, 5), s = min(3 − 2, 7 − 4 − 2) */
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        hd_vs_win w = hd_vs_window(c[i].p, c[i].rl, c[i].al, c[i].W, c[i].n);
        cr_assert(w.s == c[i].s && w.L == c[i].L, "case %zu: p=%zu REF %zu ALT %zu W=%zu n=%zu: s=%zu Lw=%zu, expected %zu %zu",
                  i, c[i].p, c[i].rl, c[i].al, c[i].W, c[i].n, w.s, w.L, c[i].s, c[i].L);
        /* both windows hold exactly Lw bases */
        uint8_t *ref = malloc(c[i].n);
        memset(ref, HD_TOK_A, c[i].n);
        int32_t *out = malloc((c[i].W + 1) * sizeof *out), alt[8] = {HD_TOK_C, HD_TOK_C, HD_TOK_C, HD_TOK_C, HD_TOK_C};
        cr_assert_eq(hd_vs_ref_window(ref, c[i].n, w.s, w.L, out), w.L, "case %zu REF window", i);
        cr_assert_eq(hd_vs_alt_window(ref, c[i].n, w.s, c[i].p, c[i].rl, alt, c[i].al, w.L, out), w.L, "case %zu ALT window", i);
        free(ref);
        free(out);
    }
}

Test(varscore, windows_match_string_construction, .init = setup, .fini = teardown)
{
    struct { size_t p; const char *alt; size_t rl; size_t W; } v[] = {
        {700, "G", 1, 101}, {700, "GTTTA", 1, 101}, {700, "G", 5, 101}, {0, "T", 1, 64}, {LEN_C - 1, "T", 1, 64},
        {LEN_C - 3, "A", 3, 64}, {10, "ACGTACGTACGTACGTACGTACGTACGTACGTACGTACGTACGTACGTACGTACGTACGTACGTACGTACGT", 1, 64}};
    int32_t *w = malloc(4096 * sizeof *w), alt[128];
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        char ref[16];
        memcpy(ref, CTG_C + v[i].p, v[i].rl);
        ref[v[i].rl] = 0;
        char *rw, *aw;
        size_t nr, na;
        windows_str(CTG_C, LEN_C, v[i].p, ref, v[i].alt, v[i].W, &rw, &nr, &aw, &na);
        hd_vs_win win = hd_vs_window(v[i].p, v[i].rl, strlen(v[i].alt), v[i].W, LEN_C);
        size_t s = win.s;
        cr_assert_eq(win.L, nr, "Lw of %zu", i);
        cr_assert_eq(hd_vs_ref_window(IDS_C, LEN_C, s, win.L, w), nr);
        int32_t *e = tok(rw, nr);
        cr_assert_arr_eq(w, e, nr * sizeof *w, "REF window %zu", i);
        free(e);
        long n = hd_vs_allele_ids(v[i].alt, alt, 128);
        cr_assert_eq(n, (long)strlen(v[i].alt));
        cr_assert_eq(hd_vs_alt_window(IDS_C, LEN_C, s, v[i].p, v[i].rl, alt, (size_t)n, win.L, w), na, "ALT window %zu", i);
        e = tok(aw, na);
        cr_assert_arr_eq(w, e, na * sizeof *w, "ALT window %zu", i);
        free(e);
        free(rw);
        free(aw);
    }
    free(w);
    cr_assert_eq(hd_vs_allele_ids("<DEL>", alt, 8), -1);
    cr_assert_eq(hd_vs_allele_ids("*", alt, 8), -1);
    cr_assert_eq(hd_vs_allele_ids("A]chr2:5]", alt, 16), -1);
    cr_assert_eq(hd_vs_allele_ids("acgt", alt, 8), 4);
    cr_assert_eq(alt[0], HD_TOK_A);
    cr_assert_eq(alt[3], HD_TOK_T);
    /* N and IUPAC codes are bases, but not scored (issue 19 item 2) */
    cr_assert_eq(hd_vs_allele_ids("acgtn", alt, 8), -2);
    cr_assert_eq(hd_vs_allele_ids("R", alt, 8), -2);
    cr_assert_eq(hd_vs_allele_ids("NN", alt, 8), -2);
}

Test(varscore, loglik_and_cosdist)
{
    float lg[3 * 16];
    for (int i = 0; i < 48; i++) lg[i] = (float)sin(i * 0.7) * 3;
    int32_t x[3] = {7, 9, 10};
    double want = 0;
    for (int t = 1; t < 3; t++) want += lsm(lg + (t - 1) * 16, x[t]);
    assert_close(hd_vs_loglik(lg, 3, 16, x), want, "ll");
    float a[3] = {1, 0, 0}, b[3] = {0, 2, 0}, c[3] = {2, 0, 0};
    assert_close(hd_vs_cosdist(a, b, 3), 1.0, "orthogonal");
    cr_assert(fabs(hd_vs_cosdist(a, c, 3)) < 1e-12);
}

/* ---------------------------------------------------------------- the batch planner on the tiny model */

typedef struct { size_t p; const char *ref, *alt; } var;

static void check_window_mode(size_t W, int rc, int nworkers)
{
    /* SNVs (middle, first and last base), insertion, deletions (one 2 bases before the contig end: one of the
     * last bases is HD_VS_SAME_WINDOW, see same_window_is_unscored), MNP */
    const var v[] = {{700, NULL, "G"}, {0, NULL, "T"}, {LEN_C - 1, NULL, "A"}, {900, NULL, "CTTAG"},
                     {1000, "4", NULL}, {LEN_C - 6, "4", NULL}, {300, "3", "GGG"}, {5, NULL, "ACGTTTTT"}};
    hd_vs_engine *e = hd_vs_engine_new(M, BE, nworkers);
    cr_assert_not_null(e);
    hd_vs_opts o = {.mode = HD_VS_WINDOW, .window = W, .rc = rc, .edist = 1};
    hd_vs_batch *b = hd_vs_batch_new(e, &o);
    hd_vs_contig c = {.id = 0, .name = "ctgC", .ids = IDS_C, .len = LEN_C};
    long h[16];
    char refs[16][16], alts[16][16];
    size_t n = sizeof v / sizeof *v;
    for (size_t i = 0; i < n; i++) {
        size_t rl = v[i].ref ? (size_t)atoi(v[i].ref) : 1;
        memcpy(refs[i], CTG_C + v[i].p, rl);
        refs[i][rl] = 0;
        if (v[i].alt) snprintf(alts[i], 16, "%s", v[i].alt);
        else snprintf(alts[i], 16, "%c", CTG_C[v[i].p]);   /* deletion: keep the anchor base */
        if (rl == 1 && strlen(alts[i]) == 1 && alts[i][0] == refs[i][0]) alts[i][0] = refs[i][0] == 'C' ? 'G' : 'C';
        int32_t ids[16];
        long na = hd_vs_allele_ids(alts[i], ids, 16);
        h[i] = hd_vs_batch_add(b, &c, v[i].p, rl, ids, (size_t)na);
        cr_assert_geq(h[i], 0, "%s", hd_error());
    }
    cr_assert_eq(hd_vs_batch_run(b), 0, "%s", hd_error());
    for (size_t i = 0; i < n; i++) {
        double llr, ed, want_ed;
        cr_assert_eq(hd_vs_batch_result(b, h[i], &llr, &ed), HD_VS_OK);
        double want = expect_window(CTG_C, LEN_C, v[i].p, refs[i], alts[i], W, rc, &want_ed);
        char what[128];
        snprintf(what, sizeof what, "W=%zu rc=%d %zu %s>%s LLR", W, rc, v[i].p + 1, refs[i], alts[i]);
        assert_close(llr, want, what);
        snprintf(what, sizeof what, "W=%zu rc=%d %zu %s>%s EDIST", W, rc, v[i].p + 1, refs[i], alts[i]);
        cr_assert(fabs(ed - want_ed) <= 1e-4 * fmax(want_ed, 1e-3) + 1e-7, "%s: %.9g vs %.9g", what, ed, want_ed);
    }
    hd_vs_batch_free(b);
    hd_vs_engine_free(e);
}

Test(varscore, window_llr_snv_indel, .init = setup, .fini = teardown) { check_window_mode(1024, 0, 1); }
Test(varscore, window_llr_small_window_edges, .init = setup, .fini = teardown) { check_window_mode(64, 0, 1); }
Test(varscore, window_llr_rc_parallel, .init = setup, .fini = teardown) { check_window_mode(200, 1, 2); }

/* An ALT whose window is its REF window scores nothing (HD_VS_SAME_WINDOW), not LLR 0 and EDIST 0: the
 * deletion of a contig's last bases, an insertion after its last base, a tandem duplication longer than
 * W/2 (in window mode, in prefix mode's window fallback and for EDIST in masked mode); a variant 2 bases
 * before the end and a shorter duplication are scored; an ALT equal to REF scores 0. */
Test(varscore, same_window_is_unscored, .init = setup, .fini = teardown)
{
    const size_t W = 64;
    hd_vs_engine *e = hd_vs_engine_new(M, BE, 1);
    hd_vs_opts os[] = {{.mode = HD_VS_WINDOW, .window = W, .edist = 1},
                       {.mode = HD_VS_WINDOW, .window = W, .edist = 1, .rc = 1},
                       {.mode = HD_VS_PREFIX, .window = W, .chunk = 256, .overlap = 32, .edist = 1},
                       {.mode = HD_VS_MASKED, .window = W, .edist = 1}};
    hd_vs_contig c = {.id = 0, .name = "ctgC", .ids = IDS_C, .len = LEN_C};
    size_t n = LEN_C;
    int32_t dup[1 + 40], ins[3], del_end = IDS_C[n - 4], del_near = IDS_C[n - 6], snv, same;
    for (int i = 0; i < 41; i++) dup[i] = IDS_C[700 + i];     /* 700 + its next 40 bases again */
    ins[0] = IDS_C[n - 1], ins[1] = HD_TOK_A, ins[2] = HD_TOK_C;
    snv = IDS_C[n - 1] == HD_TOK_A ? HD_TOK_C : HD_TOK_A;
    same = IDS_C[500];
    struct { size_t p, rl; const int32_t *alt; size_t al; int want; } v[] = {
        {n - 4, 4, &del_end, 1, HD_VS_SAME_WINDOW},      /* the last 3 bases deleted */
        {n - 1, 1, ins, 3, HD_VS_SAME_WINDOW},        /* AC inserted after the last base */
        {700, 1, dup, 41, HD_VS_SAME_WINDOW},         /* a 40-bp tandem duplication, W/2 = 32 */
        {700, 1, dup, 21, HD_VS_OK},                  /* a 20-bp one */
        {n - 6, 4, &del_near, 1, HD_VS_OK},               /* 3 bases deleted 2 before the end */
        {n - 1, 1, &snv, 1, HD_VS_OK},                /* an SNV at the last base */
        {500, 1, &same, 1, HD_VS_OK},                 /* ALT = REF: 0 */
    };
    for (size_t k = 0; k < sizeof os / sizeof *os; k++) {
        hd_vs_batch *b = hd_vs_batch_new(e, &os[k]);
        long h[8];
        for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
            h[i] = hd_vs_batch_add(b, &c, v[i].p, v[i].rl, v[i].alt, v[i].al);
            cr_assert_geq(h[i], 0, "%s", hd_error());
        }
        cr_assert_eq(hd_vs_batch_run(b), 0, "%s", hd_error());
        for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
            double llr, ed;
            int st = hd_vs_batch_result(b, h[i], &llr, &ed);
            int indel = v[i].rl != v[i].al, masked = os[k].mode == HD_VS_MASKED;
            if (v[i].want == HD_VS_SAME_WINDOW) {
                cr_assert_eq(st, HD_VS_SAME_WINDOW, "mode %zu variant %zu: status %d", k, i, st);
                cr_assert(isnan(llr) && isnan(ed), "mode %zu variant %zu: LLR %g EDIST %g, not missing", k, i, llr, ed);
            } else {
                cr_assert_eq(st, masked && indel ? HD_VS_NO_LLR_INDEL : HD_VS_OK, "mode %zu variant %zu: status %d", k, i, st);
                cr_assert(!isnan(ed), "mode %zu variant %zu: EDIST missing", k, i);
                if (i == 6) cr_assert(llr == 0 && fabs(ed) < 1e-12, "ALT = REF: LLR %g EDIST %g", llr, ed);
                else if (!(masked && indel)) cr_assert(llr != 0, "mode %zu variant %zu: LLR 0", k, i);
            }
        }
        hd_vs_batch_free(b);
    }
    hd_vs_engine_free(e);
}

/* A contig shorter than W (ctgA, 1024 bp, W = 1026): deletions are scored on REF and ALT windows of
 * Lw = 1024 − d bases; --llr mean divides each window by its Lw − 1 scored positions. */
Test(varscore, window_llr_short_contig, .init = setup, .fini = teardown)
{
    struct { size_t p, rl; const char *alt; } v[] = {{500, 101, NULL}, {990, 24, NULL}, {3, 1, "ACGTA"}, {700, 1, NULL}};
    size_t n = sizeof v / sizeof *v;
    hd_vs_engine *e = hd_vs_engine_new(M, BE, 1);
    hd_vs_batch *b[2];
    for (int mean = 0; mean < 2; mean++) {
        hd_vs_opts o = {.mode = HD_VS_WINDOW, .window = 1026, .edist = 1, .llr_mean = mean};
        b[mean] = hd_vs_batch_new(e, &o);
    }
    hd_vs_contig c = {.id = 0, .name = "ctgA", .ids = IDS_A, .len = LEN_A};
    char refs[8][128], alts[8][16];
    long h[2][8];
    for (size_t i = 0; i < n; i++) {
        memcpy(refs[i], CTG_A + v[i].p, v[i].rl);
        refs[i][v[i].rl] = 0;
        if (v[i].alt) snprintf(alts[i], 16, "%s", v[i].alt);
        else snprintf(alts[i], 16, "%c", v[i].rl > 1 ? CTG_A[v[i].p] : CTG_A[v[i].p] == 'A' ? 'C' : 'A');
        int32_t ids[16];
        long na = hd_vs_allele_ids(alts[i], ids, 16);
        for (int mean = 0; mean < 2; mean++) {
            h[mean][i] = hd_vs_batch_add(b[mean], &c, v[i].p, v[i].rl, ids, (size_t)na);
            cr_assert_geq(h[mean][i], 0, "%s", hd_error());
        }
    }
    for (int mean = 0; mean < 2; mean++) cr_assert_eq(hd_vs_batch_run(b[mean]), 0, "%s", hd_error());
    for (size_t i = 0; i < n; i++) {
        double llr, ed, want_ed, mllr;
        cr_assert_eq(hd_vs_batch_result(b[0], h[0][i], &llr, &ed), HD_VS_OK);
        double want = expect_window(CTG_A, LEN_A, v[i].p, refs[i], alts[i], 1026, 0, &want_ed);
        char what[256];
        snprintf(what, sizeof what, "ctgA:%zu %zu-base REF > %s", v[i].p + 1, v[i].rl, alts[i]);
        assert_close(llr, want, what);
        hd_vs_batch_result(b[1], h[1][i], &mllr, NULL);
        size_t d = v[i].rl > strlen(alts[i]) ? v[i].rl - strlen(alts[i]) : 0, Lw = LEN_A - d;
        assert_close(mllr * (double)(Lw - 1), want, "--llr mean times the Lw - 1 scored positions");
    }
    for (int mean = 0; mean < 2; mean++) hd_vs_batch_free(b[mean]);
    hd_vs_engine_free(e);
}

/* The non-ACGT stretches of a contig and the alleles whose windows read them (issue 19 item 2): N is read
 * as N by a model with an N token, any other code refuses the allele. */
Test(varscore, nonacgt_windows)
{
    const char *seq = "ACGTNNNNACGTRACGTNACGTACGTACGTACGT";
    size_t len = strlen(seq);
    hd_vs_stretches st = {0};
    cr_assert_eq(hd_vs_stretches_build(&st, seq, len), 0);
    cr_assert_eq(st.n, 3);
    cr_assert(st.v[0].beg == 4 && st.v[0].end == 8 && st.v[0].only_n);
    cr_assert(st.v[1].beg == 12 && st.v[1].end == 13 && !st.v[1].only_n);
    cr_assert(st.v[2].beg == 17 && st.v[2].end == 18 && st.v[2].only_n);
    struct { size_t b, e; int want; } q[] = {{0, 4, HD_VS_SPAN_ACGT}, {0, 5, HD_VS_SPAN_N}, {3, 13, HD_VS_SPAN_OTHER},
                                             {13, 17, HD_VS_SPAN_ACGT}, {8, 12, HD_VS_SPAN_ACGT}, {16, 22, HD_VS_SPAN_N},
                                             {12, 13, HD_VS_SPAN_OTHER}, {18, 34, HD_VS_SPAN_ACGT}};
    for (size_t i = 0; i < sizeof q / sizeof *q; i++)
        cr_assert_eq(hd_vs_stretches_check(&st, q[i].b, q[i].e), q[i].want, "[%zu, %zu)", q[i].b, q[i].e);
    uint8_t *ids = malloc(len);
    hd_vs_seq_ids(seq, len, ids);
    hd_vs_contig c = {.id = 0, .name = "c", .ids = ids, .len = len, .stretches = &st};
    hd_vs_engine *e = hd_vs_engine_new(NULL, NULL, 1);
    for (int ntok = 0; ntok < 2; ntok++) {
        hd_vs_opts o = {.mode = HD_VS_WINDOW, .window = 6, .n_token = ntok};
        hd_vs_batch *b = hd_vs_batch_new(e, &o);
        int32_t alt = HD_TOK_A;
        long h1 = hd_vs_batch_add(b, &c, 2, 1, &alt, 1);    /* window [0, 6): N at 4, 5 */
        long h2 = hd_vs_batch_add(b, &c, 14, 1, &alt, 1);   /* window [11, 17): R at 12 */
        long h3 = hd_vs_batch_add(b, &c, 28, 1, &alt, 1);   /* window [25, 31): A C G T only */
        cr_assert(h1 >= 0 && h2 >= 0 && h3 >= 0);
        cr_assert_eq(hd_vs_batch_result(b, h1, NULL, NULL), ntok ? HD_VS_OK : HD_VS_NONACGT_WINDOW, "N, n_token %d", ntok);
        cr_assert_eq(hd_vs_batch_result(b, h2, NULL, NULL), HD_VS_NONACGT_WINDOW, "R");
        cr_assert_eq(hd_vs_batch_result(b, h3, NULL, NULL), HD_VS_OK);
        hd_vs_batch_free(b);
    }
    hd_vs_engine_free(e);
    free(ids);
    hd_vs_stretches_free(&st);
}

Test(varscore, shared_ref_window_and_multiallelic, .init = setup, .fini = teardown)
{
    hd_vs_engine *e = hd_vs_engine_new(M, BE, 1);
    hd_vs_opts o = {.mode = HD_VS_WINDOW, .window = 128, .edist = 0};
    hd_vs_batch *b = hd_vs_batch_new(e, &o);
    hd_vs_contig c = {.id = 0, .name = "ctgA", .ids = IDS_A, .len = LEN_A};
    const char *alts[3] = {"A", "C", "G"};
    long h[3];
    for (int i = 0; i < 3; i++) {
        int32_t id;
        hd_vs_allele_ids(alts[i], &id, 1);
        h[i] = hd_vs_batch_add(b, &c, 400, 1, &id, 1);
    }
    cr_assert_eq(hd_vs_batch_run(b), 0);
    /* one REF window + 3 ALT windows (one of which may equal REF when the ALT is the REF base) */
    size_t want_fw = CTG_A[400] == 'A' || CTG_A[400] == 'C' || CTG_A[400] == 'G' ? 3 : 4;
    cr_assert_eq(hd_vs_engine_forwards(e), want_fw, "forwards %zu", hd_vs_engine_forwards(e));
    double l[3];
    for (int i = 0; i < 3; i++) {
        hd_vs_batch_result(b, h[i], &l[i], NULL);
        char ref[2] = {CTG_A[400], 0};
        assert_close(l[i], expect_window(CTG_A, LEN_A, 400, ref, alts[i], 128, 0, NULL), alts[i]);
        if (alts[i][0] == CTG_A[400]) cr_assert_eq(l[i], 0.0);
    }
    cr_assert(l[0] != l[1] || l[1] != l[2], "distinct ALTs give distinct values");
    hd_vs_batch_free(b);
    hd_vs_engine_free(e);
}

/* prefix mode: log p(ALT | prefix) − log p(REF | prefix) from one pass over each reference chunk */
static void check_prefix(const char *ctg, const uint8_t *ids, size_t len, size_t chunk, size_t overlap, int rc)
{
    hd_vs_engine *e = hd_vs_engine_new(M, BE, 1);
    hd_vs_opts o = {.mode = HD_VS_PREFIX, .window = 256, .chunk = chunk, .overlap = overlap, .rc = rc};
    hd_vs_batch *b = hd_vs_batch_new(e, &o);
    hd_vs_contig c = {.id = 3, .name = "ctg", .ids = ids, .len = len};
    size_t ps[] = {1, 2, 17, 255, 256, 599, 600, 601, 700, 1000, len - 2};
    size_t n = sizeof ps / sizeof *ps;
    long h[32];
    char alt[32];
    for (size_t i = 0; i < n; i++) {
        alt[i] = ctg[ps[i]] == 'A' ? 'G' : 'A';
        int32_t id;
        hd_vs_allele_ids((char[]){alt[i], 0}, &id, 1);
        h[i] = hd_vs_batch_add(b, &c, ps[i], 1, &id, 1);
        cr_assert_geq(h[i], 0);
    }
    cr_assert_eq(hd_vs_batch_run(b), 0, "%s", hd_error());
    size_t stride = chunk - overlap, C = chunk < len ? chunk : len;
    for (size_t i = 0; i < n; i++) {
        size_t p = ps[i];
        double want = 0;
        for (int st = 0; st <= rc; st++) {
            /* forward: the first chunk holding p; reverse complement: the last chunk starting at or before p */
            size_t k = 0, cs, cl;
            if (!st) while (p >= k * stride + C) k++;
            else   /* chunk k+1 exists when chunk k ends before the contig does */
                while (k * stride + C < len && (k + 1) * stride <= p) k++;
            cs = k * stride;
            cl = len - cs < C ? len - cs : C;
            char *s = strndup(ctg + cs, cl);
            size_t row = p - cs - 1;
            char a = alt[i], r = ctg[p];
            if (st) {
                revcomp_str(s, cl);
                row = cl - 1 - (p - cs) - 1;
                char t[3] = {a, r, 0};
                revcomp_str(t, 2);
                a = t[1], r = t[0];
            }
            int32_t *x = tok(s, cl);
            float *lg;
            fwd(x, cl, &lg, NULL);
            int32_t ia = hd_base_id(a), ir = hd_base_id(r);
            want += lsm(lg + row * 16, ia) - lsm(lg + row * 16, ir);
            free(lg); free(x); free(s);
        }
        want /= rc + 1;
        double llr;
        hd_vs_batch_result(b, h[i], &llr, NULL);
        char what[64];
        snprintf(what, sizeof what, "prefix chunk=%zu rc=%d pos %zu", chunk, rc, p + 1);
        assert_close(llr, want, what);
    }
    hd_vs_batch_free(b);
    hd_vs_engine_free(e);
}

Test(varscore, prefix_single_chunk, .init = setup, .fini = teardown) { check_prefix(CTG_A, IDS_A, LEN_A, 1026, 512, 0); }
Test(varscore, prefix_chunks_overlap, .init = setup, .fini = teardown) { check_prefix(CTG_C, IDS_C, LEN_C, 600, 200, 0); }
Test(varscore, prefix_single_chunk_rc, .init = setup, .fini = teardown) { check_prefix(CTG_A, IDS_A, LEN_A, 1026, 512, 1); }

Test(varscore, prefix_falls_back_to_window, .init = setup, .fini = teardown)
{
    /* the first base has no prefix, an insertion is not an SNV: both are scored in window mode */
    hd_vs_engine *e = hd_vs_engine_new(M, BE, 1);
    hd_vs_opts o = {.mode = HD_VS_PREFIX, .window = 300, .chunk = 1026, .overlap = 150};
    hd_vs_batch *b = hd_vs_batch_new(e, &o);
    hd_vs_contig c = {.id = 0, .name = "ctgA", .ids = IDS_A, .len = LEN_A};
    int32_t a1[1] = {CTG_A[0] == 'A' ? HD_TOK_C : HD_TOK_A}, a2[3];
    hd_vs_allele_ids("TGA", a2, 3);
    a2[0] = IDS_A[500];
    long h1 = hd_vs_batch_add(b, &c, 0, 1, a1, 1), h2 = hd_vs_batch_add(b, &c, 500, 1, a2, 3);
    cr_assert_eq(hd_vs_batch_run(b), 0);
    double l1, l2;
    hd_vs_batch_result(b, h1, &l1, NULL);
    hd_vs_batch_result(b, h2, &l2, NULL);
    char ref1[2] = {CTG_A[0], 0}, alt1[2] = {hd_id_base(a1[0]), 0}, ref2[2] = {CTG_A[500], 0}, alt2[4] = {CTG_A[500], 'G', 'A', 0};
    assert_close(l1, expect_window(CTG_A, LEN_A, 0, ref1, alt1, 300, 0, NULL), "first base");
    assert_close(l2, expect_window(CTG_A, LEN_A, 500, ref2, alt2, 300, 0, NULL), "insertion");
    hd_vs_batch_free(b);
    hd_vs_engine_free(e);
}

/* masked mode, forced on the causal tiny model to check the arithmetic */
Test(varscore, masked_mode_arithmetic, .init = setup, .fini = teardown)
{
    for (int rc = 0; rc <= 1; rc++) {
        hd_vs_engine *e = hd_vs_engine_new(M, BE, 1);
        hd_vs_opts o = {.mode = HD_VS_MASKED, .window = 101, .rc = rc};
        hd_vs_batch *b = hd_vs_batch_new(e, &o);
        hd_vs_contig c = {.id = 0, .name = "ctgC", .ids = IDS_C, .len = LEN_C};
        size_t ps[] = {0, 30, 800, LEN_C - 1};
        for (size_t i = 0; i < 4; i++) {
            size_t p = ps[i];
            long h[2];
            char alts[2] = {CTG_C[p] == 'A' ? 'C' : 'A', CTG_C[p] == 'T' ? 'G' : 'T'};
            for (int k = 0; k < 2; k++) {
                int32_t id = hd_base_id(alts[k]);
                h[k] = hd_vs_batch_add(b, &c, p, 1, &id, 1);
            }
            cr_assert_eq(hd_vs_batch_run(b), 0);
            /* both ALTs read from one masked window */
            cr_assert_eq(hd_vs_engine_forwards(e), (size_t)(i + 1) * (rc + 1), "forwards %zu", hd_vs_engine_forwards(e));
            long s = wstart((long)p, 101, (long)LEN_C);
            size_t n = LEN_C - s < 101 ? LEN_C - s : 101;
            for (int k = 0; k < 2; k++) {
                double want = 0;
                for (int st = 0; st <= rc; st++) {
                    char *w = strndup(CTG_C + s, n);
                    size_t row = p - s;
                    char a = alts[k], r = CTG_C[p];
                    if (st) {
                        revcomp_str(w, n);
                        row = n - 1 - row;
                        a = a == 'A' ? 'T' : a == 'C' ? 'G' : a == 'G' ? 'C' : 'A';
                        r = r == 'A' ? 'T' : r == 'C' ? 'G' : r == 'G' ? 'C' : 'A';
                    }
                    int32_t *x = tok(w, n);
                    x[row] = HD_TOK_MASK;
                    float *lg;
                    fwd(x, n, &lg, NULL);
                    want += lsm(lg + row * 16, hd_base_id(a)) - lsm(lg + row * 16, hd_base_id(r));
                    free(lg); free(x); free(w);
                }
                double llr, ed;
                cr_assert_eq(hd_vs_batch_result(b, h[k], &llr, &ed), HD_VS_OK);
                cr_assert(isnan(ed), "no EDIST unless asked");
                assert_close(llr, want / (rc + 1), "masked");
            }
            hd_vs_batch_clear(b);
        }
        /* an indel gets no masked LLR */
        int32_t ins[2] = {IDS_C[50], HD_TOK_A};
        long hi = hd_vs_batch_add(b, &c, 50, 1, ins, 2);
        cr_assert_eq(hd_vs_batch_run(b), 0);
        double llr;
        cr_assert_eq(hd_vs_batch_result(b, hi, &llr, NULL), HD_VS_NO_LLR_INDEL);
        cr_assert(isnan(llr));
        hd_vs_batch_free(b);
        hd_vs_engine_free(e);
    }
}

/* masked mode, a multi-base substitution of 80 differing bases (an inversion written out, say): every one of
 * them is masked in one window and queried (the planner masked and scored the first 64 only) */
Test(varscore, masked_mode_long_substitution, .init = setup, .fini = teardown)
{
    const size_t W = 256, P = 600, K = 80;
    cr_assert(LEN_C > P + W);
    for (int rc = 0; rc <= 1; rc++) {
        hd_vs_engine *e = hd_vs_engine_new(M, BE, 1);
        hd_vs_opts o = {.mode = HD_VS_MASKED, .window = W, .rc = rc};
        hd_vs_batch *b = hd_vs_batch_new(e, &o);
        hd_vs_contig c = {.id = 0, .name = "ctgC", .ids = IDS_C, .len = LEN_C};
        char alt[80];
        int32_t ids[80];
        for (size_t i = 0; i < K; i++) {
            char r = CTG_C[P + i];
            alt[i] = r == 'A' ? 'C' : r == 'C' ? 'G' : r == 'G' ? 'T' : 'A';
            ids[i] = hd_base_id(alt[i]);
        }
        long h = hd_vs_batch_add(b, &c, P, K, ids, K);
        cr_assert_geq(h, 0, "%s", hd_error());
        cr_assert_eq(hd_vs_batch_run(b), 0);
        long s = wstart((long)P, (long)W, (long)LEN_C);
        cr_assert(P + K <= (size_t)s + W, "the substitution lies inside its window");
        double want = 0;
        for (int st = 0; st <= rc; st++) {
            char *w = strndup(CTG_C + s, W);
            if (st) revcomp_str(w, W);
            int32_t *x = tok(w, W);
            for (size_t i = 0; i < K; i++) x[st ? W - 1 - (P + i - s) : P + i - s] = HD_TOK_MASK;
            float *lg;
            fwd(x, W, &lg, NULL);
            for (size_t i = 0; i < K; i++) {
                size_t row = P + i - s;
                char a = alt[i], r = CTG_C[P + i];
                if (st) {
                    row = W - 1 - row;
                    a = a == 'A' ? 'T' : a == 'C' ? 'G' : a == 'G' ? 'C' : 'A';
                    r = r == 'A' ? 'T' : r == 'C' ? 'G' : r == 'G' ? 'C' : 'A';
                }
                want += lsm(lg + row * 16, hd_base_id(a)) - lsm(lg + row * 16, hd_base_id(r));
            }
            free(lg); free(x); free(w);
        }
        double llr;
        cr_assert_eq(hd_vs_batch_result(b, h, &llr, NULL), HD_VS_OK);
        assert_close(llr, want / (rc + 1), "80 masked bases");
        hd_vs_batch_free(b);
        hd_vs_engine_free(e);
    }
}

Test(varscore, unmasked_mode_reads_one_pass, .init = setup, .fini = teardown)
{
    hd_vs_engine *e = hd_vs_engine_new(M, BE, 1);
    hd_vs_opts o = {.mode = HD_VS_UNMASKED, .window = 128, .chunk = 1026, .overlap = 64};
    hd_vs_batch *b = hd_vs_batch_new(e, &o);
    hd_vs_contig c = {.id = 0, .name = "ctgA", .ids = IDS_A, .len = LEN_A};
    size_t ps[] = {0, 1, 333, 1023};
    long h[4];
    for (int i = 0; i < 4; i++) {
        int32_t id = CTG_A[ps[i]] == 'G' ? HD_TOK_T : HD_TOK_G;
        h[i] = hd_vs_batch_add(b, &c, ps[i], 1, &id, 1);
    }
    cr_assert_eq(hd_vs_batch_run(b), 0);
    cr_assert_eq(hd_vs_engine_forwards(e), 1, "every SNV read from one pass");
    int32_t *x = tok(CTG_A, LEN_A);
    float *lg;
    fwd(x, LEN_A, &lg, NULL);
    for (int i = 0; i < 4; i++) {
        double llr;
        hd_vs_batch_result(b, h[i], &llr, NULL);
        int a = CTG_A[ps[i]] == 'G' ? HD_TOK_T : HD_TOK_G;
        assert_close(llr, lsm(lg + ps[i] * 16, a) - lsm(lg + ps[i] * 16, x[ps[i]]), "unmasked");
    }
    free(lg); free(x);
    hd_vs_batch_free(b);
    hd_vs_engine_free(e);
}

/* A substitution that the earliest chunk holding its first base does not hold whole is read from a later
 * chunk, also when that chunk ends with it (the last bases of the contig): chunks of 100 with overlap 29
 * put [923, 1023) and [994, 1024) at the end of the 1,024-bp contig, and the MNV at 1022-1023 lies only in
 * the last one (it was left unscored, counted as an indel). */
Test(varscore, unmasked_mnv_at_contig_end_read_from_last_chunk, .init = setup, .fini = teardown)
{
    hd_vs_engine *e = hd_vs_engine_new(M, BE, 1);
    hd_vs_opts o = {.mode = HD_VS_UNMASKED, .window = 64, .chunk = 100, .overlap = 29};
    hd_vs_batch *b = hd_vs_batch_new(e, &o);
    hd_vs_contig c = {.id = 0, .name = "ctgA", .ids = IDS_A, .len = LEN_A};
    int32_t alt[2];
    for (int i = 0; i < 2; i++) alt[i] = CTG_A[1022 + i] == 'G' ? HD_TOK_T : HD_TOK_G;
    long h = hd_vs_batch_add(b, &c, 1022, 2, alt, 2);
    cr_assert_geq(h, 0, "%s", hd_error());
    cr_assert_eq(hd_vs_batch_run(b), 0);
    double llr;
    cr_assert_eq(hd_vs_batch_result(b, h, &llr, NULL), HD_VS_OK, "the MNV of the contig's last bases is scored");
    int32_t *x = tok(CTG_A + 994, 30);
    float *lg;
    fwd(x, 30, &lg, NULL);
    double want = 0;
    for (int i = 0; i < 2; i++) want += lsm(lg + (28 + i) * 16, alt[i]) - lsm(lg + (28 + i) * 16, x[28 + i]);
    assert_close(llr, want, "unmasked MNV in the last chunk");
    free(lg); free(x);
    hd_vs_batch_free(b);
    hd_vs_engine_free(e);
}

/* ---------------------------------------------------------------- the command line */

static char *DIR;

static void cli_setup(void)
{
    setup();
    DIR = tmp_dir();
    char p[4300];
    snprintf(p, sizeof p, "%s/ref.fa", DIR);
    FILE *f = fopen(p, "w");
    fprintf(f, ">ctgA\n");
    for (size_t i = 0; i < LEN_A; i += 60) fprintf(f, "%.*s\n", (int)(LEN_A - i < 60 ? LEN_A - i : 60), CTG_A + i);
    fprintf(f, ">ctgC\n");
    for (size_t i = 0; i < LEN_C; i += 70) fprintf(f, "%.*s\n", (int)(LEN_C - i < 70 ? LEN_C - i : 70), CTG_C + i);
    fclose(f);
}

static void cli_teardown(void)
{
    rm_rf(DIR);
    free(DIR);
    teardown();
}

static void run(const char *cmd)
{
    int rc = system(cmd);
    cr_assert_eq(rc, 0, "command failed (%d): %s", rc, cmd);
}

/* parse a score-variants TSV: chrom pos ref alt llr */
typedef struct { char chrom[32]; long pos; char ref[64], alt[64]; double llr, ed; } row_t;

static int read_tsv(const char *path, row_t *rows, int cap)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    char line[1024];
    int n = 0;
    cr_assert_not_null(fgets(line, sizeof line, f));
    cr_assert_str_eq(line, "#chrom\tpos\tid\tref\talt\tllr\tedist\n");
    while (fgets(line, sizeof line, f) && n < cap) {
        char id[64], l[64], e[64];
        cr_assert_eq(sscanf(line, "%31s %ld %63s %63s %63s %63s %63s", rows[n].chrom, &rows[n].pos, id, rows[n].ref,
                            rows[n].alt, l, e), 7, "line: %s", line);
        rows[n].llr = strcmp(l, ".") ? atof(l) : NAN;
        rows[n].ed = strcmp(e, ".") ? atof(e) : NAN;
        n++;
    }
    fclose(f);
    return n;
}

Test(cli, window_tsv_matches_library, .init = cli_setup, .fini = cli_teardown)
{
    char p[4300], cmd[9000];
    snprintf(p, sizeof p, "%s/in.vcf", DIR);
    FILE *f = fopen(p, "w");
    fprintf(f, "##fileformat=VCFv4.2\n##contig=<ID=ctgA,length=%zu>\n##contig=<ID=ctgC,length=%zu>\n"
               "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n", LEN_A, LEN_C);
    /* SNV at the first and last base, a multi-allelic SNV, an insertion, a deletion */
    char a0 = CTG_A[0] == 'A' ? 'C' : 'A', a1 = CTG_C[LEN_C - 1] == 'T' ? 'G' : 'T';
    fprintf(f, "ctgA\t1\t.\t%c\t%c\t.\t.\t.\n", CTG_A[0], a0);
    fprintf(f, "ctgA\t600\tm\t%c\t%s\t.\t.\t.\n", CTG_A[599], CTG_A[599] == 'A' ? "C,G,T" : "A,G,T");
    fprintf(f, "ctgC\t700\t.\t%c\t%cTTG\t.\t.\t.\n", CTG_C[699], CTG_C[699]);
    fprintf(f, "ctgC\t900\t.\t%.6s\t%c\t.\t.\t.\n", CTG_C + 899, CTG_C[899]);
    fprintf(f, "ctgC\t%zu\t.\t%c\t%c\t.\t.\t.\n", LEN_C, CTG_C[LEN_C - 1], a1);
    fclose(f);
    snprintf(cmd, sizeof cmd, "'%s/hyenadna' score-variants -m '%s' -f '%s/ref.fa' --threads 2 -w 300 -o '%s/out.tsv' '%s' 2>/dev/null",
             HD_BUILDDIR, TINY, DIR, DIR, p);
    run(cmd);
    snprintf(p, sizeof p, "%s/out.tsv", DIR);
    row_t r[16];
    int n = read_tsv(p, r, 16);
    cr_assert_eq(n, 7, "one line per ALT: %d", n);
    for (int i = 0; i < n; i++) {
        const char *ctg = !strcmp(r[i].chrom, "ctgA") ? CTG_A : CTG_C;
        size_t len = ctg == CTG_A ? LEN_A : LEN_C;
        double ed, want = expect_window(ctg, len, (size_t)r[i].pos - 1, r[i].ref, r[i].alt, 300, 0, &ed);
        char what[256];
        snprintf(what, sizeof what, "%.31s:%ld %.63s>%.63s", r[i].chrom, r[i].pos, r[i].ref, r[i].alt);
        assert_close_cli(r[i].llr, want, what);
        cr_assert(fabs(r[i].ed - ed) <= 1e-4 * ed + 1e-9, "%s EDIST %.9g vs %.9g", what, r[i].ed, ed);
    }
    cr_assert(r[1].llr != r[2].llr && r[2].llr != r[3].llr, "multi-allelic: one distinct value per ALT");
}

Test(cli, prefix_matches_forward_logits, .init = cli_setup, .fini = cli_teardown)
{
    /* every SNV of positions 2..40 of ctgA in prefix mode == log-softmax differences of `forward --logits` */
    char cmd[9000], p[4300];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && head -n %zu ref.fa > a.fa && '%s/hyenadna' forward -m '%s' --logits --no-hidden -o a.st a.fa && "
             "'%s/hyenadna' score-variants -m '%s' -f a.fa --all-snvs -r ctgA:2-40 --score prefix -o snv.tsv 2>/dev/null",
             DIR, 1 + (LEN_A + 59) / 60, HD_BUILDDIR, TINY, HD_BUILDDIR, TINY);
    run(cmd);
    snprintf(p, sizeof p, "%s/a.st", DIR);
    hd_st *st = hd_st_open(p);
    cr_assert_not_null(st, "%s", hd_error());
    size_t nl;
    float *lg = st_f32(st, "logits.ctgA", &nl);
    cr_assert_eq(nl, LEN_A * 16);
    snprintf(p, sizeof p, "%s/snv.tsv", DIR);
    row_t r[200];
    int n = read_tsv(p, r, 200);
    cr_assert_eq(n, 39 * 3, "3 ALTs at 39 positions: %d", n);
    for (int i = 0; i < n; i++) {
        size_t t = (size_t)r[i].pos - 1;
        cr_assert_eq(r[i].ref[0], CTG_A[t]);
        const float *row = lg + (t - 1) * 16;
        double want = lsm(row, hd_base_id(r[i].alt[0])) - lsm(row, hd_base_id(r[i].ref[0]));
        char what[64];
        snprintf(what, sizeof what, "ctgA:%ld %s>%s", r[i].pos, r[i].ref, r[i].alt);
        assert_close(r[i].llr, want, what);
    }
    free(lg);
    hd_st_close(st);
}

/* fuzz finding (fuzz_vcf): a VCF POS of 0 gives pos −1, and the REF check computed p + reflen in size_t, which
 * wrapped to 0 and let the comparison read the byte before the contig.  hd_vs_check_ref takes the signed
 * position and bounds it first. */
Test(varscore, check_ref_bounds)
{
    const char *seq = "ACGTN";
    cr_assert_eq(hd_vs_check_ref(seq, 5, -1, "A"), -1);
    cr_assert_eq(hd_vs_check_ref(seq, 5, -1, "AC"), -1);
    cr_assert_eq(hd_vs_check_ref(seq, 5, 5, "A"), -1);
    cr_assert_eq(hd_vs_check_ref(seq, 5, 4, "NA"), -1);
    cr_assert_eq(hd_vs_check_ref(seq, 5, INT64_MAX, "A"), -1);
    cr_assert_eq(hd_vs_check_ref(seq, 5, 0, ""), -2);
    cr_assert_eq(hd_vs_check_ref(seq, 5, 0, "acgtn"), 1);
    cr_assert_eq(hd_vs_check_ref(seq, 5, 1, "CG"), 1);
    cr_assert_eq(hd_vs_check_ref(seq, 5, 1, "CA"), 0);
}
