/* test_classify.c -- the pieces of `hyenadna classify`: parsers, PRNG, features, in-context scores
 * (checked against hand-built token sequences run through hd_model_forward), heads, metrics. */
#include "testutil.h"
#include "backend.h"
#include "classify.h"
#include "model.h"
#include "seqio.h"
#include "tokenizer.h"

#include <jansson.h>

#define TINY TESTDATA("hyenadna-tiny")

/* ------------------------------------------------------------------ helpers */

static char *fixture_seq(const char *name, size_t *len)
{
    hd_fasta *fa = hd_fasta_open(TINY "/input.fa");
    cr_assert_not_null(fa);
    hd_seqrec rec;
    char *s = NULL;
    while (hd_fasta_next(fa, &rec) > 0)
        if (!strcmp(rec.name, name)) {
            s = strndup(rec.seq, rec.len);
            *len = rec.len;
        }
    hd_fasta_close(fa);
    cr_assert_not_null(s, "record %s not in input.fa", name);
    return s;
}

static int32_t *tok(const char *s, size_t n)
{
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    cr_assert_eq(hd_tokenize(s, n, HD_SPECIAL_NONE, ids, "t"), (long)n, "%s", hd_error());
    return ids;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    cr_assert_not_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void revcomp(const char *s, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[n - 1 - i];
        out[i] = c == 'A' ? 'T' : c == 'C' ? 'G' : c == 'G' ? 'C' : c == 'T' ? 'A' : 'N';
    }
    out[n] = 0;
}

/* the test's own next-token log-likelihood: mean of log p(ids[t] | row t−1) for t in [from, L) */
static double ref_mean_ll(const float *lg, int nl, const int32_t *ids, size_t from, size_t L)
{
    double s = 0;
    size_t n = 0;
    for (size_t t = from; t < L; t++, n++) {
        const float *row = lg + (t - 1) * nl;
        double z = 0;
        for (int j = 0; j < nl; j++) z += exp((double)row[j]);
        s += log(exp((double)row[ids[t]]) / z);
    }
    return n ? s / n : 0;
}

/* ------------------------------------------------------------------ PRNG, shots, folds */

Test(classify, rng_deterministic_and_uniform)
{
    hd_rng a, b;
    hd_rng_init(&a, 42);
    hd_rng_init(&b, 42);
    for (int i = 0; i < 100; i++) cr_assert_eq(hd_rng_next(&a), hd_rng_next(&b));
    hd_rng_init(&b, 43);
    cr_assert_neq(hd_rng_next(&a), hd_rng_next(&b));
    long cnt[5] = {0};
    for (int i = 0; i < 50000; i++) {
        uint64_t v = hd_rng_below(&a, 5);
        cr_assert_lt(v, 5);
        cnt[v]++;
    }
    for (int k = 0; k < 5; k++) cr_assert(cnt[k] > 9500 && cnt[k] < 10500, "bucket %d: %ld", k, cnt[k]);
    size_t v[20], seen[20] = {0};
    for (size_t i = 0; i < 20; i++) v[i] = i;
    hd_shuffle_idx(&a, v, 20);
    int moved = 0;
    for (size_t i = 0; i < 20; i++) { seen[v[i]]++; moved += v[i] != i; }
    for (size_t i = 0; i < 20; i++) cr_assert_eq(seen[i], 1, "not a permutation");
    cr_assert_gt(moved, 0);
}

Test(classify, shots_and_folds)
{
    hd_lset s = {0};
    /* 7 A and 5 B, interleaved */
    const char *lab[] = {"A", "B", "A", "B", "A", "B", "A", "B", "A", "B", "A", "A"};
    for (int i = 0; i < 12; i++) {
        char nm[16];
        snprintf(nm, sizeof nm, "r%d", i);
        cr_assert_eq(hd_lset_add(&s, nm, "ACGT", 4, lab[i], NULL, 0, 0), 0);
    }
    cr_assert_eq(s.n_classes, 2);
    size_t out[12], counts[2], out2[12], counts2[2];
    size_t n = hd_pick_shots(&s, NULL, 0, 3, 7, out, counts);
    cr_assert_eq(n, 6);
    cr_assert_eq(counts[0], 3);
    cr_assert_eq(counts[1], 3);
    for (size_t j = 0; j < 3; j++) cr_assert_eq(s.v[out[j]].label, 0);
    for (size_t j = 3; j < 6; j++) cr_assert_eq(s.v[out[j]].label, 1);
    cr_assert_eq(hd_pick_shots(&s, NULL, 0, 3, 7, out2, counts2), 6);
    for (size_t j = 0; j < 6; j++) cr_assert_eq(out[j], out2[j], "same seed, same shots");
    /* all, from a subset */
    size_t sub[4] = {0, 1, 2, 11};
    n = hd_pick_shots(&s, sub, 4, 0, 7, out, counts);
    cr_assert_eq(n, 4);
    cr_assert_eq(counts[0], 3);
    cr_assert_eq(counts[1], 1);
    cr_assert_eq(out[3], 1);
    /* stratified folds */
    int fold[12], fold2[12];
    cr_assert_eq(hd_stratified_folds(&s, 3, 5, fold), 0);
    cr_assert_eq(hd_stratified_folds(&s, 3, 5, fold2), 0);
    for (int k = 0; k < 3; k++) {
        int na = 0, nb = 0;
        for (int i = 0; i < 12; i++) {
            cr_assert_eq(fold[i], fold2[i]);
            if (fold[i] == k) { na += s.v[i].label == 0; nb += s.v[i].label == 1; }
        }
        cr_assert(na >= 2 && na <= 3, "fold %d has %d of A", k, na);
        cr_assert(nb >= 1 && nb <= 2, "fold %d has %d of B", k, nb);
    }
    cr_assert_eq(hd_stratified_folds(&s, 6, 5, fold), -1, "class B has 5 < 6 records");
    cr_assert(strstr(hd_error(), "'B'"), "%s", hd_error());
    hd_lset_free(&s);
}

/* ------------------------------------------------------------------ parsers */

Test(classify, header_label)
{
    char b[64];
    cr_assert_eq(hd_header_label("NC_1:1-10 label=coding x=1", b, sizeof b), 1);
    cr_assert_str_eq(b, "coding");
    cr_assert_eq(hd_header_label("mylabel=no", b, sizeof b), 0);
    cr_assert_eq(hd_header_label("", b, sizeof b), 0);
    cr_assert_eq(hd_header_label("label= x", b, sizeof b), -1);
    /* a second label= with another value is ambiguous (the first one was taken); the same value is one label */
    cr_assert_eq(hd_header_label("label=a label=b", b, sizeof b), -2);
    cr_assert_eq(hd_header_label("label=a x=1 label=a", b, sizeof b), 1);
    cr_assert_str_eq(b, "a");
}

Test(classify, read_fasta_tsv_bed)
{
    char *d = tmp_dir(), p[4200], ref[4200];
    hd_lset s = {0};
    snprintf(p, sizeof p, "%s/a.fa", d);
    write_file(p, ">r1 src label=up\nACGT\nacgn\n>r2 label=down\nTTTT\n>r3 label=up\nGG\n");
    cr_assert_eq(hd_read_labelled(p, NULL, &s), 0, "%s", hd_error());
    cr_assert_eq(s.n, 3);
    cr_assert_eq(s.n_classes, 2);
    cr_assert_str_eq(s.classes[0], "up");
    cr_assert_str_eq(s.v[0].seq, "ACGTacgn");
    cr_assert_eq(s.v[0].len, 8);
    cr_assert_eq(s.v[1].label, 1);
    cr_assert_eq(s.v[2].label, 0);
    hd_lset_free(&s);

    snprintf(p, sizeof p, "%s/a.tsv", d);
    write_file(p, "label\tsequence\n# comment\nx\tACGT\r\ny\tCCCC\n\nx\tAAAA\n");
    cr_assert_eq(hd_read_labelled(p, NULL, &s), 0, "%s", hd_error());
    cr_assert_eq(s.n, 3);
    cr_assert_str_eq(s.v[0].seq, "ACGT");
    cr_assert_str_eq(s.v[1].name, "line4");
    hd_lset_free(&s);
    /* trailing tabs and spaces (a spreadsheet's export) end the line; a third field with text is an error
     * naming the file and line */
    write_file(p, "label\tsequence\t\nx\tACGT\t\ny\tCCCC \t\r\n");
    cr_assert_eq(hd_read_labelled(p, NULL, &s), 0, "%s", hd_error());
    cr_assert_eq(s.n, 2);
    cr_assert_str_eq(s.v[1].seq, "CCCC");
    hd_lset_free(&s);
    write_file(p, "x\tACGT\ny\tCCCC\tz\n");
    cr_assert_eq(hd_read_labelled(p, NULL, &s), -1);
    cr_assert(strstr(hd_error(), p) && strstr(hd_error(), "line 2"), "%s", hd_error());
    hd_lset_free(&s);

    /* BED on a reference made of fixture records */
    size_t n4, n5;
    char *s4 = fixture_seq("seq4", &n4), *s5 = fixture_seq("seq5", &n5);
    snprintf(ref, sizeof ref, "%s/ref.fa", d);
    FILE *fp = fopen(ref, "w");
    fprintf(fp, ">c4\n%s\n>c5\n%s\n", s4, s5);
    fclose(fp);
    snprintf(p, sizeof p, "%s/a.bed", d);
    write_file(p, "track name=x\nc4\t0\t10\tA\nc5\t100\t150\tB\tignored\n");
    cr_assert_eq(hd_read_labelled(p, NULL, &s), -1, "BED needs -f");
    cr_assert(strstr(hd_error(), "-f"), "%s", hd_error());
    hd_lset_free(&s);
    cr_assert_eq(hd_read_labelled(p, ref, &s), 0, "%s", hd_error());
    cr_assert_eq(s.n, 2);
    cr_assert_eq(s.v[1].len, 50);
    cr_assert(!strncmp(s.v[1].seq, s5 + 100, 50));
    cr_assert_str_eq(s.v[1].name, "c5:101-150");
    cr_assert_str_eq(s.v[1].chrom, "c5");
    cr_assert_eq(s.v[1].beg, 100);
    hd_lset_free(&s);
    /* an interval given again (with its label or another) is skipped: the first line is used */
    write_file(p, "c4\t0\t10\tA\nc5\t100\t150\tB\nc4\t0\t10\tB\nc4\t0\t11\tB\nc5\t100\t150\tB\n");
    cr_assert_eq(hd_read_labelled(p, ref, &s), 0, "%s", hd_error());
    cr_assert_eq(s.n, 3);
    cr_assert_str_eq(s.v[0].name, "c4:1-10");
    cr_assert_eq(s.v[0].label, 0);
    cr_assert_str_eq(s.v[2].name, "c4:1-11");
    hd_lset_free(&s);
    write_file(p, "c4\t0\t10\tA\nc5\t100\t300\tB\n");
    cr_assert_eq(hd_read_labelled(p, ref, &s), -1, "past the end");
    cr_assert(strstr(hd_error(), "line 2"), "%s", hd_error());
    hd_lset_free(&s);
    free(s4);
    free(s5);
    rm_rf(d);
    free(d);
}

Test(classify, bad_labels_are_clear_errors)
{
    char *d = tmp_dir(), p[4200];
    hd_lset s = {0};
    snprintf(p, sizeof p, "%s/one.fa", d);
    write_file(p, ">r1 label=a\nACGT\n>r2 label=a\nACGT\n");
    cr_assert_eq(hd_read_labelled(p, NULL, &s), -1);
    cr_assert(strstr(hd_error(), p) && strstr(hd_error(), "only one class"), "%s", hd_error());
    hd_lset_free(&s);

    snprintf(p, sizeof p, "%s/missing.fa", d);
    write_file(p, ">r1 label=a\nACGT\n>r2 no label here\nACGT\n>r3 label=b\nAC\n");
    cr_assert_eq(hd_read_labelled(p, NULL, &s), -1);
    cr_assert(strstr(hd_error(), p) && strstr(hd_error(), "record 'r2'") && strstr(hd_error(), "label="), "%s",
              hd_error());
    hd_lset_free(&s);

    snprintf(p, sizeof p, "%s/empty.fa", d);
    write_file(p, ">r1 label=a\nACGT\n>r2 label=\nACGT\n");
    cr_assert_eq(hd_read_labelled(p, NULL, &s), -1);
    cr_assert(strstr(hd_error(), p) && strstr(hd_error(), "record 'r2'"), "%s", hd_error());
    hd_lset_free(&s);

    snprintf(p, sizeof p, "%s/empty.tsv", d);
    write_file(p, "a\tACGT\n\tACGT\n");
    cr_assert_eq(hd_read_labelled(p, NULL, &s), -1);
    cr_assert(strstr(hd_error(), p) && strstr(hd_error(), "line 2") && strstr(hd_error(), "empty label"), "%s",
              hd_error());
    hd_lset_free(&s);

    /* 'label<TAB>' with no sequence (trailing blanks or not): an empty sequence, not one field */
    write_file(p, "a\tACGT\nb\t\nb\tCC\n");
    cr_assert_eq(hd_read_labelled(p, NULL, &s), -1);
    cr_assert(strstr(hd_error(), p) && strstr(hd_error(), "line 2: empty sequence (label 'b')"), "%s", hd_error());
    hd_lset_free(&s);
    write_file(p, "a\tACGT\nb\t \t\nb\tCC\n");
    cr_assert_eq(hd_read_labelled(p, NULL, &s), -1);
    cr_assert(strstr(hd_error(), "line 2: empty sequence (label 'b')"), "%s", hd_error());
    hd_lset_free(&s);

    snprintf(p, sizeof p, "%s/badbase.tsv", d);
    write_file(p, "a\tACGT\nb\tACXT\n");
    cr_assert_eq(hd_read_labelled(p, NULL, &s), -1);
    cr_assert(strstr(hd_error(), "line 2") && strstr(hd_error(), "position 3"), "%s", hd_error());
    hd_lset_free(&s);

    /* a class left empty (after selecting records) is named */
    cr_assert_eq(hd_lset_add(&s, "x", "ACGT", 4, "a", NULL, 0, 0), 0);
    cr_assert_eq(hd_lset_class_add(&s, "ghost"), 1);
    cr_assert_eq(hd_lset_check_classes(&s, "set.fa"), -1);
    cr_assert(strstr(hd_error(), "set.fa") && strstr(hd_error(), "'ghost'"), "%s", hd_error());
    hd_lset_free(&s);
    rm_rf(d);
    free(d);
}

Test(classify, query_windows)
{
    char *d = tmp_dir(), p[4200];
    snprintf(p, sizeof p, "%s/q.fa", d);
    write_file(p, ">a label=x\nAAAACCCCGGG\n>b\nACG\n");
    hd_qspec sp = {.path = p, .window = 4, .stride = 3};
    hd_qreader *q = hd_qreader_open(&sp);
    cr_assert_not_null(q, "%s", hd_error());
    cr_assert_eq(hd_qreader_regional(q), 1);
    hd_query r;
    /* a (11 bp): 0, 3, 6 and the tail window 7..11; b (3 bp): the whole record */
    int64_t want[][2] = {{0, 4}, {3, 7}, {6, 10}, {7, 11}, {0, 3}};
    const char *chrom[] = {"a", "a", "a", "a", "b"};
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(hd_qreader_next(q, &r), 1, "window %d: %s", i, hd_error());
        cr_assert_eq(r.beg, want[i][0], "window %d beg %lld", i, (long long)r.beg);
        cr_assert_eq(r.end, want[i][1]);
        cr_assert_eq((int64_t)r.len, want[i][1] - want[i][0]);
        cr_assert_str_eq(r.chrom, chrom[i]);
        if (i < 4) cr_assert_str_eq(r.label, "x");
        else cr_assert_null(r.label);
    }
    cr_assert(!strncmp(r.seq, "ACG", 3));
    cr_assert_eq(hd_qreader_next(q, &r), 0);
    hd_qreader_close(q);

    /* region of a reference, stride = window */
    hd_qspec sp2 = {.ref = p, .region = "a:2-9", .window = 4};
    q = hd_qreader_open(&sp2);
    cr_assert_not_null(q, "%s", hd_error());
    cr_assert_eq(hd_qreader_next(q, &r), 1, "%s", hd_error());
    cr_assert_eq(r.beg, 1);
    cr_assert_str_eq(r.name, "a:2-5");
    cr_assert(!strncmp(r.seq, "AAAC", 4));
    cr_assert_eq(hd_qreader_next(q, &r), 1);
    cr_assert_eq(r.beg, 5);
    cr_assert(!strncmp(r.seq, "CCCG", 4));
    cr_assert_eq(hd_qreader_next(q, &r), 0);
    hd_qreader_close(q);
    rm_rf(d);
    free(d);
}

/* ------------------------------------------------------------------ features */

Test(classify, kmer_features)
{
    float f[16];
    cr_assert_eq(hd_kmer_features("AAAC", 4, 2, 0, f), 3);
    /* codes: A=0 C=1 G=2 T=3; AA = 0, AC = 1, GT = 11, TT = 15 */
    cr_assert_float_eq(f[0], 2.0f / 3, 1e-7);
    cr_assert_float_eq(f[1], 1.0f / 3, 1e-7);
    double tot = 0;
    for (int i = 0; i < 16; i++) tot += f[i];
    cr_assert_float_eq(tot, 1.0, 1e-6);
    hd_kmer_features("AAAC", 4, 2, 1, f);
    cr_assert_float_eq(f[0], 1.0f / 3, 1e-7);
    cr_assert_float_eq(f[15], 1.0f / 3, 1e-7);
    cr_assert_float_eq(f[1], 1.0f / 6, 1e-7);
    cr_assert_float_eq(f[11], 1.0f / 6, 1e-7);
    /* N breaks k-mers; lower case counts */
    cr_assert_eq(hd_kmer_features("acNgt", 5, 2, 0, f), 2);
    cr_assert_float_eq(f[1], 0.5f, 1e-7);
    cr_assert_float_eq(f[11], 0.5f, 1e-7);
}

Test(classify, pooling)
{
    float h[3 * 2] = {1, -1, 3, 5, 2, 0}, o[2];
    hd_pool_rows(h, 3, 2, 0, HD_POOL_MEAN, o);
    cr_assert_float_eq(o[0], 2.0f, 1e-6);
    cr_assert_float_eq(o[1], 4.0f / 3, 1e-6);
    hd_pool_rows(h, 3, 2, 0, HD_POOL_MAX, o);
    cr_assert_eq(o[0], 3.0f);
    cr_assert_eq(o[1], 5.0f);
    hd_pool_rows(h, 3, 2, 0, HD_POOL_LAST, o);
    cr_assert_eq(o[0], 2.0f);
    cr_assert_eq(o[1], 0.0f);
}

/* ------------------------------------------------------------------ in-context scores on the tiny model */

static hd_model *M;
static hd_backend *BE;

static void msetup(void)
{
    M = hd_model_open(TINY);
    cr_assert_not_null(M, "%s", hd_error());
    BE = hd_backend_cpu_new(2);
    cr_assert_not_null(BE);
}

static void mteardown(void)
{
    hd_backend_free(BE);
    hd_model_close(M);
}

Test(classify, context_scores_match_forward, .init = msetup, .fini = mteardown)
{
    size_t n4, n5, n6, n7;
    char *s4 = fixture_seq("seq4", &n4), *s5 = fixture_seq("seq5", &n5), *s6 = fixture_seq("seq6", &n6),
         *s7 = fixture_seq("seq7", &n7);
    cr_assert_eq(M->causal, 1);
    /* class 0: seq4 and seq5[0:60]; class 1: seq7 (with N) and seq5[100:140]; query seq6[200:290] */
    int32_t *a1 = tok(s4, n4), *a2 = tok(s5, 60), *b1 = tok(s7, n7), *b2 = tok(s5 + 100, 40), *q = tok(s6 + 200, 90);
    const int32_t *ea[2] = {a1, a2}, *eb[2] = {b1, b2};
    size_t la[2] = {n4, 60}, lb[2] = {n7, 40};
    int32_t pa[200], pb[200];
    size_t npa = hd_ctx_join(ea, la, 2, 0, pa), npb = hd_ctx_join(eb, lb, 2, 0, pb);
    cr_assert_eq(npa, n4 + 60 + 2);
    cr_assert_eq(pa[n4], HD_TOK_SEP);
    cr_assert_eq(pa[npa - 1], HD_TOK_SEP);
    cr_assert_eq(pb[n7 + 1], b2[0]);
    const int32_t *prompts[2] = {pa, pb};
    size_t plen[2] = {npa, npb};
    double sc[2], base;
    cr_assert_eq(hd_ctx_scores(M, BE, prompts, plen, 2, q, 90, sc, &base), 0, "%s", hd_error());

    /* independently: hand-built token sequences through the forward pass */
    size_t nl = (size_t)M->n_logits;
    float *lg = malloc(1100 * nl * sizeof *lg);
    hd_fwd f = {.logits = lg, .layer = -1};
    cr_assert_eq(hd_model_forward(M, BE, q, 90, &f), 0);
    double want_base = ref_mean_ll(lg, (int)nl, q, 1, 90);
    cr_assert_float_eq(base, want_base, 1e-9, "baseline %.12g vs %.12g", base, want_base);
    int32_t seq[1100];
    for (int c = 0; c < 2; c++) {
        size_t L = 0;
        const int32_t *const *ex = c ? eb : ea;
        const size_t *le = c ? lb : la;
        for (int j = 0; j < 2; j++) {
            memcpy(seq + L, ex[j], le[j] * sizeof *seq);
            L += le[j];
            seq[L++] = 1;   /* [SEP] */
        }
        size_t np = L;
        memcpy(seq + L, q, 90 * sizeof *seq);
        L += 90;
        cr_assert_eq(hd_model_forward(M, BE, seq, L, &f), 0);
        double want = ref_mean_ll(lg, (int)nl, seq, np, L) - want_base;
        cr_assert_float_eq(sc[c], want, 1e-9, "class %d: %.12g vs %.12g", c, sc[c], want);
    }
    cr_assert_neq(sc[0], sc[1]);

    /* trimming: a prompt of seq6 (1024) + [SEP] keeps its last max_len − nq tokens */
    int32_t *l6 = tok(s6, n6);
    const int32_t *el[1] = {l6};
    size_t ll[1] = {n6};
    int32_t *plong = malloc((n6 + 1) * sizeof *plong);
    size_t nlong = hd_ctx_join(el, ll, 1, 0, plong);
    cr_assert_eq(nlong, 1025);
    const int32_t *pr2[2] = {plong, pa};
    size_t pl2[2] = {nlong, npa};
    cr_assert_eq(hd_ctx_scores(M, BE, pr2, pl2, 2, q, 90, sc, &base), 0, "%s", hd_error());
    size_t keep = (size_t)M->max_len - 90;   /* 936 */
    memcpy(seq, l6 + (n6 - (keep - 1)), (keep - 1) * sizeof *seq);
    seq[keep - 1] = 1;
    memcpy(seq + keep, q, 90 * sizeof *seq);
    cr_assert_eq(hd_model_forward(M, BE, seq, keep + 90, &f), 0);
    double want = ref_mean_ll(lg, (int)nl, seq, keep, keep + 90) - want_base;
    cr_assert_float_eq(sc[0], want, 1e-9, "trimmed prompt: %.12g vs %.12g", sc[0], want);
    /* the join with a limit gives the same tail */
    int32_t *pt = malloc((n6 + 1) * sizeof *pt);
    cr_assert_eq(hd_ctx_join(el, ll, 1, keep, pt), keep);
    cr_assert_eq(memcmp(pt, seq, keep * sizeof *pt), 0);

    /* a query with no room for a prompt is an error */
    int32_t *qq = tok(s6, n6);
    int32_t big[1026];
    memcpy(big, qq, n6 * sizeof *big);
    big[1024] = big[1025] = 7;
    cr_assert_eq(hd_ctx_scores(M, BE, pr2, pl2, 2, big, 1026, sc, NULL), -1);
    cr_assert(strstr(hd_error(), "1026"), "%s", hd_error());

    free(pt); free(plong); free(l6); free(qq);
    free(lg); free(a1); free(a2); free(b1); free(b2); free(q);
    free(s4); free(s5); free(s6); free(s7);
}

/* ------------------------------------------------------------------ heads on fixture embeddings */

#define NW 12   /* windows per class */
#define WL 64

typedef struct {
    float X[2 * NW][128];
    int y[2 * NW];
    char seqs[2 * NW][WL + 1];
} emb_set;

/* windows of seq6 (class 0 "fwd") and their reverse complements (class 1 "rc"); the test's own
 * mean-pooled embeddings from hd_model_forward */
static void build_set(emb_set *E)
{
    size_t n6;
    char *s6 = fixture_seq("seq6", &n6);
    float *h = malloc(WL * 128 * sizeof *h);
    for (int i = 0; i < 2 * NW; i++) {
        const char *w = s6 + (size_t)(i % NW) * 80;
        if (i < NW) { memcpy(E->seqs[i], w, WL); E->seqs[i][WL] = 0; }
        else revcomp(w, WL, E->seqs[i]);
        E->y[i] = i >= NW;
        int32_t *ids = tok(E->seqs[i], WL);
        hd_fwd f = {.hidden = h, .layer = -1};
        cr_assert_eq(hd_model_forward(M, BE, ids, WL, &f), 0);
        for (int d = 0; d < 128; d++) {
            double s = 0;
            for (int t = 0; t < WL; t++) s += h[t * 128 + d];
            E->X[i][d] = (float)(s / WL);
        }
        /* the library's pooled embedding is the same */
        float e[128];
        cr_assert_eq(hd_embed_ids(M, BE, ids, WL, HD_POOL_MEAN, 0, e), 0);
        for (int d = 0; d < 128; d++) cr_assert_float_eq(e[d], E->X[i][d], 1e-6);
        free(ids);
    }
    free(h);
    free(s6);
}

static double cosd(const float *a, const float *b, int D)
{
    double ab = 0, aa = 0, bb = 0;
    for (int d = 0; d < D; d++) { ab += a[d] * (double)b[d]; aa += a[d] * (double)a[d]; bb += b[d] * (double)b[d]; }
    return ab / sqrt(aa * bb);
}

static char *CLS[] = {"fwd", "rc"};

Test(classify, embed_rc_averages, .init = msetup, .fini = mteardown)
{
    size_t n5;
    char *s5 = fixture_seq("seq5", &n5), rc[64];
    int32_t *a = tok(s5, 50);
    revcomp(s5, 50, rc);
    int32_t *b = tok(rc, 50);
    float ea[128], eb[128], e[128], e2[128];
    cr_assert_eq(hd_embed_ids(M, BE, a, 50, HD_POOL_LAST, 0, ea), 0);
    cr_assert_eq(hd_embed_ids(M, BE, b, 50, HD_POOL_LAST, 0, eb), 0);
    cr_assert_eq(hd_embed_ids(M, BE, a, 50, HD_POOL_LAST, 1, e), 0);
    cr_assert_eq(hd_embed_ids(M, BE, b, 50, HD_POOL_LAST, 1, e2), 0);
    for (int d = 0; d < 128; d++) {
        cr_assert_float_eq(e[d], 0.5f * (ea[d] + eb[d]), 1e-6);
        cr_assert_float_eq(e[d], e2[d], 1e-6, "rc-averaged embedding is strand-symmetric");
    }
    free(a); free(b); free(s5);
}

Test(classify, centroid_and_knn_match_direct, .init = msetup, .fini = mteardown)
{
    emb_set *E = malloc(sizeof *E);
    build_set(E);
    /* train on the even windows, test on the odd ones */
    float Xtr[NW][128];
    int ytr[NW], n = 0;
    for (int i = 0; i < 2 * NW; i += 2) { memcpy(Xtr[n], E->X[i], sizeof Xtr[n]); ytr[n++] = E->y[i]; }
    hd_fit_opts o = {.l2 = 0.01, .max_iter = 200, .tol = 1e-6, .knn_k = 3};
    hd_head *hc = hd_head_fit(HD_CLF_CENTROID, &Xtr[0][0], ytr, (size_t)n, 128, 2, CLS, &o);
    hd_head *hk = hd_head_fit(HD_CLF_KNN, &Xtr[0][0], ytr, (size_t)n, 128, 2, CLS, &o);
    cr_assert_not_null(hc, "%s", hd_error());
    cr_assert_not_null(hk, "%s", hd_error());
    /* direct: class means and cosines */
    double cen[2][128] = {{0}};
    int cnt[2] = {0};
    for (int i = 0; i < n; i++) {
        cnt[ytr[i]]++;
        for (int d = 0; d < 128; d++) cen[ytr[i]][d] += Xtr[i][d];
    }
    float cf[2][128];
    for (int c = 0; c < 2; c++)
        for (int d = 0; d < 128; d++) cf[c][d] = (float)(cen[c][d] / cnt[c]);
    int agree = 0;
    for (int i = 1; i < 2 * NW; i += 2) {
        double sc[2], want[2];
        int p = hd_head_predict(hc, E->X[i], sc);
        for (int c = 0; c < 2; c++) {
            want[c] = cosd(E->X[i], cf[c], 128);
            cr_assert_float_eq(sc[c], want[c], 1e-9);
        }
        cr_assert_eq(p, want[1] > want[0]);
        agree += p == E->y[i];
        /* knn: the 3 most similar training vectors vote */
        double sim[NW];
        int used[NW] = {0}, votes[2] = {0};
        for (int j = 0; j < n; j++) sim[j] = cosd(E->X[i], Xtr[j], 128);
        for (int r = 0; r < 3; r++) {
            int b = -1;
            for (int j = 0; j < n; j++)
                if (!used[j] && (b < 0 || sim[j] > sim[b])) b = j;
            used[b] = 1;
            votes[ytr[b]]++;
        }
        p = hd_head_predict(hk, E->X[i], sc);
        cr_assert_float_eq(sc[0], votes[0] / 3.0, 1e-12);
        cr_assert_eq(p, votes[1] > votes[0]);
    }
    cr_log_info("centroid: %d/%d held-out windows right", agree, NW);
    hd_head_free(hc);
    hd_head_free(hk);
    free(E);
}

/* the test's own gradient of mean CE + l2/2·‖W‖² at the head's parameters */
static double grad_maxnorm(const hd_head *h, const float *X, const int *y, int n, double l2)
{
    int D = h->dim, C = h->n_classes;
    double *g = calloc((size_t)C * (D + 1), sizeof *g), p[8];
    for (int i = 0; i < n; i++) {
        double mx = -1e300, s = 0;
        for (int c = 0; c < C; c++) {
            p[c] = h->b[c];
            for (int d = 0; d < D; d++) p[c] += h->W[c * D + d] * ((X[i * D + d] - h->mu[d]) / h->sd[d]);
            mx = fmax(mx, p[c]);
        }
        for (int c = 0; c < C; c++) s += exp(p[c] - mx);
        for (int c = 0; c < C; c++) {
            double r = exp(p[c] - mx) / s - (c == y[i]);
            for (int d = 0; d < D; d++) g[c * (D + 1) + d] += r * ((X[i * D + d] - h->mu[d]) / h->sd[d]) / n;
            g[c * (D + 1) + D] += r / n;
        }
    }
    double mxg = 0;
    for (int c = 0; c < C; c++)
        for (int d = 0; d <= D; d++) {
            double v = g[c * (D + 1) + d] + (d < D ? l2 * h->W[c * D + d] : 0);
            mxg = fmax(mxg, fabs(v));
        }
    free(g);
    return mxg;
}

Test(classify, logistic_on_embeddings_is_optimal_and_deterministic, .init = msetup, .fini = mteardown)
{
    emb_set *E = malloc(sizeof *E);
    build_set(E);
    hd_fit_opts o = {.l2 = 0.05, .max_iter = 500, .tol = 1e-7, .knn_k = 1};
    hd_head *h = hd_head_fit(HD_CLF_LOGISTIC, &E->X[0][0], E->y, 2 * NW, 128, 2, CLS, &o);
    hd_head *h2 = hd_head_fit(HD_CLF_LOGISTIC, &E->X[0][0], E->y, 2 * NW, 128, 2, CLS, &o);
    cr_assert_not_null(h, "%s", hd_error());
    /* standardisation */
    for (int d = 0; d < 128; d += 17) {
        double s = 0;
        for (int i = 0; i < 2 * NW; i++) s += E->X[i][d];
        cr_assert_float_eq(h->mu[d], s / (2 * NW), 1e-6);
    }
    /* the fit is a stationary point of the objective (up to float32 rounding of the parameters) */
    double g = grad_maxnorm(h, &E->X[0][0], E->y, 2 * NW, o.l2);
    cr_assert_lt(g, 1e-4, "gradient max-norm %.3g at the fitted parameters", g);
    /* and the library's objective/gradient agree with the test's */
    for (int j = 0; j < 2 * 128; j++) cr_assert_eq(h->W[j], h2->W[j], "fits differ at %d", j);
    double sc[2];
    for (int i = 0; i < 2 * NW; i++) {
        int p = hd_head_predict(h, E->X[i], sc);
        double a[2];
        for (int c = 0; c < 2; c++) {
            a[c] = h->b[c];
            for (int d = 0; d < 128; d++) a[c] += h->W[c * 128 + d] * ((E->X[i][d] - h->mu[d]) / h->sd[d]);
            cr_assert_float_eq(sc[c], a[c], 1e-9);
        }
        cr_assert_eq(p, a[1] > a[0]);
        cr_assert_eq(p, E->y[i], "training window %d misclassified (separable in 128 dims)", i);
    }
    hd_head_free(h);
    hd_head_free(h2);
    free(E);
}

Test(classify, logistic_recovers_separable_toy)
{
    /* three classes around (4,0), (−2,3.5), (−2,−3.5) in 2-D plus a noise dimension */
    hd_rng r;
    hd_rng_init(&r, 3);
    const double cx[3] = {4, -2, -2}, cy[3] = {0, 3.5, -3.5};
    float X[300][3];
    int y[300];
    for (int i = 0; i < 300; i++) {
        int c = i % 3;
        double u = (double)(hd_rng_next(&r) >> 11) / 9007199254740992.0 - 0.5;
        double v = (double)(hd_rng_next(&r) >> 11) / 9007199254740992.0 - 0.5;
        double w = (double)(hd_rng_next(&r) >> 11) / 9007199254740992.0 - 0.5;
        X[i][0] = (float)(cx[c] + 2 * u);
        X[i][1] = (float)(cy[c] + 2 * v);
        X[i][2] = (float)(10 * w);
        y[i] = c;
    }
    char *names[] = {"a", "b", "c"};
    hd_fit_opts o = {.l2 = 1e-3, .max_iter = 500, .tol = 1e-8};
    hd_head *h = hd_head_fit(HD_CLF_LOGISTIC, &X[0][0], y, 200, 3, 3, names, &o);
    cr_assert_not_null(h, "%s", hd_error());
    double sc[3];
    for (int i = 0; i < 300; i++) cr_assert_eq(hd_head_predict(h, X[i], sc), y[i], "point %d (%s)", i, i < 200 ? "train" : "held out");
    /* the noise dimension gets small weights compared with the informative ones */
    double wn = 0, wi = 0;
    for (int c = 0; c < 3; c++) { wn += fabs(h->W[c * 3 + 2]); wi += fabs(h->W[c * 3]) + fabs(h->W[c * 3 + 1]); }
    cr_assert_lt(wn, 0.1 * wi, "noise weight %.3g vs informative %.3g", wn, wi);
    cr_assert_lt(grad_maxnorm(h, &X[0][0], y, 200, o.l2), 1e-4);
    /* library objective and gradient match the test's gradient norm at the optimum */
    hd_head_free(h);
}

Test(classify, saved_heads_reproduce_predictions, .init = msetup, .fini = mteardown)
{
    emb_set *E = malloc(sizeof *E);
    build_set(E);
    char *d = tmp_dir(), p[4200];
    hd_fit_opts o = {.l2 = 0.01, .max_iter = 300, .tol = 1e-6, .knn_k = 3};
    hd_clf_method ms[] = {HD_CLF_CENTROID, HD_CLF_KNN, HD_CLF_LOGISTIC};
    char *id = hd_model_identity(M);
    cr_assert_not_null(id, "%s", hd_error());
    for (int k = 0; k < 3; k++) {
        hd_head *h = hd_head_fit(ms[k], &E->X[0][0], E->y, NW, 128, 2, CLS, &o);   /* first NW: class fwd only? */
        cr_assert_null(h, "one class only must not fit");
        /* train on even windows of both classes */
        float Xtr[NW][128];
        int ytr[NW], n = 0;
        for (int i = 0; i < 2 * NW; i += 2) { memcpy(Xtr[n], E->X[i], sizeof Xtr[n]); ytr[n++] = E->y[i]; }
        h = hd_head_fit(ms[k], &Xtr[0][0], ytr, (size_t)n, 128, 2, CLS, &o);
        cr_assert_not_null(h, "%s", hd_error());
        h->pool = HD_POOL_LAST;
        h->rc = 1;
        h->model_id = strdup(id);
        h->model_path = strdup(TINY);
        snprintf(p, sizeof p, "%s/head%d.safetensors", d, k);
        cr_assert_eq(hd_head_save(h, p), 0, "%s", hd_error());
        hd_head *g = hd_head_load(p);
        cr_assert_not_null(g, "%s", hd_error());
        cr_assert_eq(g->method, ms[k]);
        cr_assert_eq(g->pool, HD_POOL_LAST);
        cr_assert_eq(g->rc, 1);
        cr_assert_str_eq(g->model_id, id);
        cr_assert_str_eq(g->classes[1], "rc");
        for (int i = 0; i < 2 * NW; i++) {
            double a[2], b[2];
            int pa = hd_head_predict(h, E->X[i], a), pb = hd_head_predict(g, E->X[i], b);
            cr_assert_eq(pa, pb);
            cr_assert_eq(a[0], b[0], "method %d window %d: %.17g vs %.17g", k, i, a[0], b[0]);
            cr_assert_eq(a[1], b[1]);
        }
        hd_head_free(h);
        hd_head_free(g);
    }
    /* not a head */
    cr_assert_null(hd_head_load(TINY "/model.safetensors"));
    cr_assert(strstr(hd_error(), "model.safetensors"), "%s", hd_error());
    /* the identity changes with the weights */
    hd_model *m2 = hd_model_open(TESTDATA("caduceus-ph"));
    cr_assert_not_null(m2);
    char *id2 = hd_model_identity(m2);
    cr_assert_str_neq(id, id2);
    free(id2);
    hd_model_close(m2);
    free(id);
    rm_rf(d);
    free(d);
    free(E);
}

Test(classify, kmer_head_roundtrip)
{
    /* GC-rich vs AT-rich toy sequences through the kmer features */
    const char *seqs[] = {"GCGCGGCCGCGA", "CCGGCGCGTGCG", "GGCGCCGCGCAA", "ATATTAAATTTA", "TTATAATATCAT", "AATTATTAGATA"};
    int y[6] = {0, 0, 0, 1, 1, 1};
    float X[6][256];
    for (int i = 0; i < 6; i++) hd_kmer_features(seqs[i], strlen(seqs[i]), 4, 1, X[i]);
    char *names[] = {"gc", "at"};
    hd_fit_opts o = {.l2 = 0.01, .max_iter = 200, .tol = 1e-6};
    hd_head *h = hd_head_fit(HD_CLF_KMER, &X[0][0], y, 6, 256, 2, names, &o);
    cr_assert_not_null(h, "%s", hd_error());
    h->kmer = 4;
    h->rc = 1;
    char *d = tmp_dir(), p[4200];
    snprintf(p, sizeof p, "%s/k.safetensors", d);
    cr_assert_eq(hd_head_save(h, p), 0, "%s", hd_error());
    hd_head *g = hd_head_load(p);
    cr_assert_not_null(g, "%s", hd_error());
    cr_assert_eq(g->kmer, 4);
    float q[256];
    hd_kmer_features("GCGCCGGCATGC", 12, 4, 1, q);
    double a[2], b[2];
    cr_assert_eq(hd_head_predict(h, q, a), 0);
    cr_assert_eq(hd_head_predict(g, q, b), 0);
    cr_assert_eq(a[0], b[0]);
    hd_head_free(h);
    hd_head_free(g);
    rm_rf(d);
    free(d);
}

/* copy the safetensors file src to dst with the first `from` of its JSON header replaced by `to` (the header
 * re-padded to 8 bytes); the data after the header is kept */
static void edit_header(const char *src, const char *dst, const char *from, const char *to)
{
    FILE *fp = fopen(src, "rb");
    cr_assert_not_null(fp);
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    rewind(fp);
    unsigned char *b = malloc((size_t)sz);
    cr_assert_eq(fread(b, 1, (size_t)sz, fp), (size_t)sz);
    fclose(fp);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | b[i];
    char *hdr = strndup((char *)b + 8, n), *p = strstr(hdr, from);
    cr_assert_not_null(p, "'%s' not in the header %s", from, hdr);
    size_t nn = n - strlen(from) + strlen(to), pad = (8 - nn % 8) % 8;
    fp = fopen(dst, "wb");
    cr_assert_not_null(fp);
    uint64_t len = nn + pad;
    for (int i = 0; i < 8; i++) fputc((int)(len >> (8 * i) & 0xff), fp);
    fwrite(hdr, 1, (size_t)(p - hdr), fp);
    fputs(to, fp);
    fputs(p + strlen(from), fp);
    for (size_t i = 0; i < pad; i++) fputc(' ', fp);
    fwrite(b + 8 + n, 1, (size_t)sz - 8 - n, fp);
    fclose(fp);
    free(hdr);
    free(b);
}


/* head h saved as DIR/NAME.safetensors (a new name: a file read is never replaced by an output) is refused
 * when loaded, with an error holding `want` */
static void saved_head_refused(const hd_head *h, const char *dir, const char *name, const char *want)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, name);
    cr_assert_eq(hd_head_save(h, path), 0, "%s", hd_error());
    cr_assert_null(hd_head_load(path));
    cr_assert(strstr(hd_error(), want), "%s: %s", name, hd_error());
}
Test(classify, damaged_heads_are_refused_naming_the_fault)
{
    const char *seqs[] = {"GCGCGGCCGCGA", "CCGGCGCGTGCG", "ATATTAAATTTA", "TTATAATATCAT"};
    int y[4] = {0, 0, 1, 1};
    float X[4][16];
    for (int i = 0; i < 4; i++) hd_kmer_features(seqs[i], strlen(seqs[i]), 2, 0, X[i]);
    char *names[] = {"gc", "at"};
    hd_fit_opts o = {.l2 = 0.01, .max_iter = 200, .tol = 1e-6, .knn_k = 3};
    char *d = tmp_dir(), good[4200], bad[4200], knn[4200];
    snprintf(good, sizeof good, "%s/k.safetensors", d);
    snprintf(bad, sizeof bad, "%s/bad.safetensors", d);
    snprintf(knn, sizeof knn, "%s/knn.safetensors", d);
    hd_head *h = hd_head_fit(HD_CLF_KMER, &X[0][0], y, 4, 16, 2, names, &o);
    cr_assert_not_null(h, "%s", hd_error());
    h->kmer = 2;
    cr_assert_eq(hd_head_save(h, good), 0, "%s", hd_error());
    hd_head *g = hd_head_load(good);
    cr_assert_not_null(g, "%s", hd_error());
    hd_head_free(g);
    /* metadata edits: each refused with the file and the fault named */
    const struct { const char *from, *to, *want; } ed[] = {
        {"\"hyenadna_head\":\"1\"", "\"hyenadna_head\":\"2\"", "head format '2'"},
        {"\"dim\":\"16\"", "\"dim\":\"16x\"", "'dim' is '16x'"},
        {"\"kmer\":\"2\"", "\"kmer\":\"2.5\"", "'kmer' is '2.5'"},
        {"\"rc\":\"0\"", "\"rc\":\"no\"", "'rc' is 'no'"},
        {"[\\\"gc\\\",\\\"at\\\"]", "[\\\"gc\\\",\\\"gc\\\"]", "class 2 is named as an earlier one"},
        {"[\\\"gc\\\",\\\"at\\\"]", "[\\\"gc\\\",7]", "class 2 is not a string"},
        {"[\\\"gc\\\",\\\"at\\\"]", "[\\\"\\\",\\\"at\\\"]", "class 1 is empty"},
        {"\"method\":\"kmer\"", "\"method\":\"context\"", "head method 'context'"},
    };
    for (size_t i = 0; i < sizeof ed / sizeof *ed; i++) {
        edit_header(good, bad, ed[i].from, ed[i].to);
        cr_assert_null(hd_head_load(bad), "edit %zu (%s) was accepted", i, ed[i].to);
        cr_assert(strstr(hd_error(), bad) && strstr(hd_error(), ed[i].want), "edit %zu: %s", i, hd_error());
    }
    /* values: a zero standard deviation, a NaN weight (each saved under a new name: a file read is never
     * replaced by an output) */
    h->sd[3] = 0;
    saved_head_refused(h, d, "sd", "'feature_sd' holds 0 at index 3");
    h->sd[3] = 1;
    h->W[5] = NAN;
    saved_head_refused(h, d, "w", "'weight' holds nan at index 5");
    hd_head_free(h);
    /* a knn head: k malformed, vectors not finite */
    h = hd_head_fit(HD_CLF_KNN, &X[0][0], y, 4, 16, 2, names, &o);
    cr_assert_not_null(h, "%s", hd_error());
    h->model_id = strdup("0123456789abcdef:1");
    cr_assert_eq(hd_head_save(h, knn), 0, "%s", hd_error());
    cr_assert_not_null((g = hd_head_load(knn)), "%s", hd_error());
    cr_assert_eq(g->k, 3);
    hd_head_free(g);
    snprintf(bad, sizeof bad, "%s/knn-k.safetensors", d);
    edit_header(knn, bad, "\"k\":\"3\"", "\"k\":\"3 \"");
    cr_assert_null(hd_head_load(bad));
    cr_assert(strstr(hd_error(), "'k' is '3 '"), "%s", hd_error());
    snprintf(bad, sizeof bad, "%s/knn-id.safetensors", d);
    edit_header(knn, bad, "\"model_id\":\"0123456789abcdef:1\"", "\"model_id\":\"\"");
    cr_assert_null(hd_head_load(bad));
    cr_assert(strstr(hd_error(), "model identity missing"), "%s", hd_error());
    h->X[7] = INFINITY;
    saved_head_refused(h, d, "knn-x", "'X' holds inf at index 7");
    hd_head_free(h);
    rm_rf(d);
    free(d);
}

/* ------------------------------------------------------------------ metrics */

Test(classify, metrics_hand_checked)
{
    /* rows true, columns predicted:  [2 1 1; 1 2 0; 0 0 3] */
    int truth[10] = {0, 0, 0, 0, 1, 1, 1, 2, 2, 2}, pred[10] = {0, 0, 1, 2, 1, 1, 0, 2, 2, 2};
    hd_metrics m;
    cr_assert_eq(hd_metrics_compute(truth, pred, 10, 3, &m), 0);
    long want[9] = {2, 1, 1, 1, 2, 0, 0, 0, 3};
    for (int i = 0; i < 9; i++) cr_assert_eq(m.cm[i], want[i], "cm[%d]", i);
    cr_assert_float_eq(m.accuracy, 0.7, 1e-12);
    /* Gorodkin: c = 7, s = 10, t = (4,3,3), p = (3,3,4): (70 − 33) / sqrt((100 − 34)(100 − 34)) = 37/66 */
    cr_assert_float_eq(m.mcc, 37.0 / 66.0, 1e-12);
    cr_assert_float_eq(m.precision[0], 2.0 / 3, 1e-12);
    cr_assert_float_eq(m.precision[2], 0.75, 1e-12);
    cr_assert_float_eq(m.recall[0], 0.5, 1e-12);
    cr_assert_float_eq(m.recall[2], 1.0, 1e-12);
    cr_assert_float_eq(m.f1[0], 2 * (2.0 / 3) * 0.5 / (2.0 / 3 + 0.5), 1e-12);
    char *names[] = {"a", "b", "c"};
    char *js = hd_metrics_json(&m, names, "kmer");
    json_error_t err;
    json_t *o = json_loads(js, 0, &err);
    cr_assert_not_null(o, "%s", err.text);
    cr_assert_float_eq(json_real_value(json_object_get(o, "mcc")), 37.0 / 66.0, 1e-9);
    json_t *mx = json_object_get(json_object_get(o, "confusion_matrix"), "matrix");
    cr_assert_eq(json_integer_value(json_array_get(json_array_get(mx, 0), 3 - 1)), 1);
    cr_assert_eq(json_integer_value(json_array_get(json_array_get(mx, 2), 2)), 3);
    cr_assert_float_eq(json_real_value(json_object_get(json_object_get(json_object_get(o, "per_class"), "b"), "recall")),
                       2.0 / 3, 1e-9);
    json_decref(o);
    free(js);
    hd_metrics_free(&m);

    /* binary: equals the usual MCC (TP 5, FN 2, FP 1, TN 4) */
    int t2[12] = {1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0}, p2[12] = {1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0};
    cr_assert_eq(hd_metrics_compute(t2, p2, 12, 2, &m), 0);
    double tp = 5, fn = 2, fp = 1, tn = 4;
    double mcc = (tp * tn - fp * fn) / sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn));
    cr_assert_float_eq(m.mcc, mcc, 1e-12);
    hd_metrics_free(&m);

    /* a class never predicted: precision undefined (NaN), MCC 0 for constant predictions */
    int p3[12] = {0};
    cr_assert_eq(hd_metrics_compute(t2, p3, 12, 2, &m), 0);
    cr_assert(isnan(m.precision[1]));
    cr_assert_eq(m.mcc, 0.0);
    /* F1 = 2TP/(2TP+FP+FN): class 1 (7 members, never predicted) 0, not undefined; class 0 2·5/(10+7) */
    cr_assert_eq(m.f1[1], 0.0);
    cr_assert_float_eq(m.f1[0], 10.0 / 17, 1e-12);
    hd_metrics_free(&m);

    /* a class neither present nor predicted: precision, recall and F1 undefined; one predicted but absent:
     * precision 0, recall undefined, F1 0 */
    int t4[4] = {0, 0, 1, 1}, p4[4] = {0, 2, 1, 1};
    cr_assert_eq(hd_metrics_compute(t4, p4, 4, 4, &m), 0);
    cr_assert_eq(m.precision[2], 0.0);
    cr_assert(isnan(m.recall[2]));
    cr_assert_eq(m.f1[2], 0.0);
    cr_assert(isnan(m.precision[3]) && isnan(m.recall[3]) && isnan(m.f1[3]));
    cr_assert_float_eq(m.f1[0], 2.0 / 3, 1e-12);
    cr_assert_eq(m.f1[1], 1.0);
    js = hd_metrics_json(&m, (char *[]){"a", "b", "c", "d"}, "knn");
    o = json_loads(js, 0, &err);
    cr_assert_not_null(o, "%s", err.text);
    json_t *pc = json_object_get(o, "per_class");
    cr_assert(json_is_real(json_object_get(json_object_get(pc, "c"), "f1")), "%s", js);
    cr_assert(json_is_null(json_object_get(json_object_get(pc, "d"), "f1")), "%s", js);
    json_decref(o);
    free(js);
    hd_metrics_free(&m);
}
