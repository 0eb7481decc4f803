/* test_embed.c -- `hyenadna embed` and the pieces under it (src/embed.c, src/regions.c, src/bamseq.c):
 * pooled embeddings against the fixture hidden states, regions/windows/reads against the library forward
 * run on the same subsequences, the Caduceus-PS conjoining on a synthetic RC-equivariant model, and the
 * agreement of the TSV, BED and safetensors outputs. */
#include "testutil.h"
#include "backend.h"
#include "bamseq.h"
#include "embed.h"
#include "model.h"
#include "regions.h"
#include "seqio.h"
#include "tokenizer.h"

#include <htslib/kstring.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

#define TINY TESTDATA("hyenadna-tiny")
#define REL_BAR 1e-4
#define D 128

/* ------------------------------------------------------------------ helpers */

typedef struct {
    char name[256], chrom[256];
    long start, end;
    char strand;
    int n;
    float *v;
} row_t;

typedef struct {
    row_t *r;
    int n;
    int width;
} table_t;

static void table_free(table_t *t)
{
    for (int i = 0; i < t->n; i++) free(t->r[i].v);
    free(t->r);
    memset(t, 0, sizeof *t);
}

/* parse a TSV (bed = 0) or BED (bed = 1) output of embed; the header line is checked */
static table_t parse_text(const char *path, int bed)
{
    table_t t = {0};
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "gzip -dcf '%s'", path);
    FILE *fp = popen(cmd, "r");
    cr_assert_not_null(fp);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0;
    while ((n = getline(&line, &cap, fp)) > 0) {
        if (line[n - 1] == '\n') line[--n] = 0;
        lineno++;
        if (lineno == 1) {
            const char *want = bed ? "#chrom\tstart\tend\tname\tscore\tstrand\tdim0" : "#name\tchrom\tstart\tend\tstrand\tdim0";
            cr_assert(!strncmp(line, want, strlen(want)), "%s: header '%.60s'", path, line);
            int tabs = 0;
            for (char *p = line; *p; p++) tabs += *p == '\t';
            t.width = tabs - (bed ? 5 : 4);
            continue;
        }
        t.r = realloc(t.r, (size_t)(t.n + 1) * sizeof *t.r);
        row_t *r = &t.r[t.n++];
        memset(r, 0, sizeof *r);
        r->v = malloc((size_t)t.width * sizeof(float));
        char *save = NULL, *f[6];
        int nf = bed ? 6 : 5;
        f[0] = strtok_r(line, "\t", &save);
        for (int i = 1; i < nf; i++) f[i] = strtok_r(NULL, "\t", &save);
        for (int i = 0; i < nf; i++) cr_assert_not_null(f[i], "%s line %d: too few columns", path, lineno);
        if (bed) {
            snprintf(r->chrom, sizeof r->chrom, "%s", f[0]);
            r->start = atol(f[1]);
            r->end = atol(f[2]);
            snprintf(r->name, sizeof r->name, "%s", f[3]);
            cr_assert_str_eq(f[4], "0");
            r->strand = f[5][0];
        } else {
            snprintf(r->name, sizeof r->name, "%s", f[0]);
            snprintf(r->chrom, sizeof r->chrom, "%s", f[1]);
            r->start = atol(f[2]);
            r->end = atol(f[3]);
            r->strand = f[4][0];
        }
        for (int i = 0; i < t.width; i++) {
            char *tok = strtok_r(NULL, "\t", &save);
            cr_assert_not_null(tok, "%s line %d: %d values, expected %d", path, lineno, i, t.width);
            r->v[i] = strtof(tok, NULL);
        }
        cr_assert_null(strtok_r(NULL, "\t", &save), "%s line %d: extra columns", path, lineno);
        r->n = t.width;
    }
    free(line);
    cr_assert_eq(pclose(fp), 0, "reading %s", path);
    cr_assert_geq(lineno, 1, "%s has no header line", path);
    return t;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

#define EMBED "'" HD_BUILDDIR "/hyenadna' embed --verbosity 1 -m '" TINY "' "

typedef struct { char *name; char *seq; size_t len; } fa_rec;

static int read_fasta(const char *path, fa_rec **out)
{
    hd_fasta *fa = hd_fasta_open(path);
    cr_assert_not_null(fa, "%s", hd_error());
    hd_seqrec rec;
    int n = 0;
    fa_rec *v = NULL;
    while (hd_fasta_next(fa, &rec) > 0) {
        v = realloc(v, (size_t)(n + 1) * sizeof *v);
        v[n].name = strdup(rec.name);
        v[n].seq = strdup(rec.seq);
        v[n].len = rec.len;
        n++;
    }
    hd_fasta_close(fa);
    *out = v;
    return n;
}

static hd_model *M;
static hd_backend *BE;

static void setup(void)
{
    M = hd_model_open(TINY);
    cr_assert_not_null(M, "%s", hd_error());
    BE = hd_backend_cpu_new(2);
    cr_assert_not_null(BE);
}

static void teardown(void)
{
    hd_backend_free(BE);
    hd_model_close(M);
}

/* the hidden state [n, D] of bases seq[0..n) straight through hd_model_forward */
static float *lib_hidden(const char *seq, size_t n, int layer)
{
    int32_t *ids = malloc(n * sizeof *ids);
    cr_assert_eq(hd_tokenize(seq, n, HD_SPECIAL_NONE, ids, "test"), (long)n);
    float *h = malloc(n * D * sizeof(float));
    hd_fwd f = {.hidden = h, .layer = layer};
    cr_assert_eq(hd_model_forward(M, BE, ids, n, &f), 0, "%s", hd_error());
    free(ids);
    return h;
}

static void mean_rows(const float *h, size_t n, int w, float *out)
{
    for (int c = 0; c < w; c++) {
        double s = 0;
        for (size_t t = 0; t < n; t++) s += h[t * w + c];
        out[c] = (float)(s / n);
    }
}

static float *lib_mean(const char *seq, size_t n)
{
    float *h = lib_hidden(seq, n, -1), *m = malloc(D * sizeof(float));
    mean_rows(h, n, D, m);
    free(h);
    return m;
}

static void assert_close(const float *got, const float *want, size_t n, double bar, const char *what)
{
    double mx, rel = rel_frob(got, want, n, &mx);
    cr_assert(rel <= bar, "%s: rel_F %.3g (max_abs %.3g) above %.1g", what, rel, mx, bar);
}

static char *revcomp_str(const char *s, size_t n)
{
    char *r = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        char c = s[n - 1 - i], u = c & ~0x20;
        r[i] = u == 'A' ? 'T' : u == 'C' ? 'G' : u == 'G' ? 'C' : u == 'T' ? 'A' : 'N';
    }
    r[n] = 0;
    return r;
}

/* ------------------------------------------------------------------ pooling primitives */

Test(embed, pool_and_conjoin_primitives)
{
    /* x [3, 2] */
    const float x[6] = {1, -4, 3, 2, -5, 0.5f};
    float o[6];
    hd_pool_rows(x, 3, 2, 0, HD_POOL_MEAN, o);
    cr_assert_float_eq(o[0], -1.0f / 3, 1e-7);
    cr_assert_float_eq(o[1], -0.5f, 1e-7);
    hd_pool_rows(x, 3, 2, 0, HD_POOL_LAST, o);
    cr_assert(o[0] == -5 && o[1] == 0.5f);
    hd_pool_rows(x, 3, 2, 1, HD_POOL_LAST, o);
    cr_assert(o[0] == 1 && o[1] == -4);
    hd_pool_rows(x, 3, 2, 0, HD_POOL_MAX, o);
    cr_assert(o[0] == 3 && o[1] == 2);
    /* conjoin, per base: r is stored in the reverse strand's order */
    const float r[6] = {10, 20, 30, 40, 50, 60};
    cr_assert_eq(hd_conjoin(x, r, 3, 2, HD_POOL_NONE, o), 0);
    cr_assert(o[0] == (1 + 50) / 2.f && o[1] == (-4 + 60) / 2.f && o[4] == (-5 + 10) / 2.f && o[5] == (0.5f + 20) / 2.f);
    /* pooled: each strand in its own order, "last" of the reverse strand is its last row */
    cr_assert_eq(hd_conjoin(x, r, 3, 2, HD_POOL_LAST, o), 0);
    cr_assert(o[0] == (-5 + 50) / 2.f && o[1] == (0.5f + 60) / 2.f);
    /* PS split: f2[t, c] = h[L-1-t, 2D-1-c] (docs/models.md §4.8) */
    const float h[3 * 4] = {0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23};
    float f1[6], f2[6];
    hd_ps_split(h, 3, 2, f1, f2);
    const float e1[6] = {0, 1, 10, 11, 20, 21}, e2[6] = {23, 22, 13, 12, 3, 2};
    for (int i = 0; i < 6; i++) cr_assert(f1[i] == e1[i] && f2[i] == e2[i], "split %d: %g %g", i, f1[i], f2[i]);
    hd_pool p;
    cr_assert_eq(hd_pool_parse("max", &p), 0);
    cr_assert_eq(p, HD_POOL_MAX);
    cr_assert_neq(hd_pool_parse("median", &p), 0);
}

Test(embed, windows_and_regions)
{
    int64_t b, e;
    /* len 10, w 4, s 3: [0,4) [3,7) [6,10); the last one fits exactly, no extra window */
    cr_assert_eq(hd_window_count(10, 4, 3), 3);
    hd_window_get(10, 4, 3, 2, &b, &e);
    cr_assert(b == 6 && e == 10);
    /* len 11: [0,4) [3,7) [6,10) and a last window flush with the end [7,11) */
    cr_assert_eq(hd_window_count(11, 4, 3), 4);
    hd_window_get(11, 4, 3, 3, &b, &e);
    cr_assert(b == 7 && e == 11, "%ld %ld", (long)b, (long)e);
    /* shorter than the window: one window */
    cr_assert_eq(hd_window_count(3, 4, 2), 1);
    hd_window_get(3, 4, 2, 0, &b, &e);
    cr_assert(b == 0 && e == 3);
    /* stride larger than the window */
    cr_assert_eq(hd_window_count(20, 4, 10), 3);   /* [0,4) [10,14) [16,20) */
    hd_window_get(20, 4, 10, 2, &b, &e);
    cr_assert(b == 16 && e == 20);

    char *d = tmp_dir();
    char fa[600];
    snprintf(fa, sizeof fa, "%s/g.fa", d);
    FILE *fp = fopen(fa, "w");
    fprintf(fp, ">a\nACGTACGTAC\n>b:c\nGGGG\n");
    fclose(fp);
    faidx_t *fai = hd_faidx_open(fa);
    cr_assert_not_null(fai, "%s", hd_error());
    hd_contigs *dict = hd_contigs_from_fai(fai, fa);
    hd_regions rs = {0};
    cr_assert_eq(hd_regions_parse(&rs, "a:2-5,a,{b:c}:4", dict), 0, "%s", hd_error());
    cr_assert_eq(rs.n, 3);
    cr_assert(rs.v[0].beg == 1 && rs.v[0].end == 5);
    cr_assert(rs.v[1].beg == 0 && rs.v[1].end == 10);
    cr_assert(!strcmp(rs.v[2].chrom, "b:c") && rs.v[2].beg == 3 && rs.v[2].end == 4);
    char *s = hd_region_str("b:c", 3, 4);
    cr_assert_str_eq(s, "{b:c}:4-4");
    free(s);
    char *seq = hd_faidx_fetch(fai, fa, "a", 1, 5);
    cr_assert_str_eq(seq, "CGTA");
    free(seq);
    cr_assert_neq(hd_regions_parse(&rs, "a:5-11", dict), 0);
    cr_assert(strstr(hd_error(), "a:5-11") && strstr(hd_error(), "10 bases"), "%s", hd_error());
    cr_assert_neq(hd_regions_parse(&rs, "zz:1-2", dict), 0);
    cr_assert(strstr(hd_error(), "'zz'"), "%s", hd_error());
    /* region files: BED is 0-based half-open, others 1-based inclusive */
    char bed[640], txt[640];
    snprintf(bed, sizeof bed, "%s/r.bed", d);
    snprintf(txt, sizeof txt, "%s/r.txt", d);
    fp = fopen(bed, "w");
    fprintf(fp, "track name=x\n# comment\na\t0\t1\nb:c\t3\t4\n");
    fclose(fp);
    fp = fopen(txt, "w");
    fprintf(fp, "a\t1\t1\n");
    fclose(fp);
    hd_regions_free(&rs);
    cr_assert_eq(hd_regions_read(&rs, bed, dict), 0, "%s", hd_error());
    cr_assert_eq(hd_regions_read(&rs, txt, dict), 0, "%s", hd_error());
    cr_assert_eq(rs.n, 3);
    cr_assert(rs.v[0].beg == 0 && rs.v[0].end == 1 && rs.v[1].beg == 3 && rs.v[1].end == 4);
    cr_assert(rs.v[2].beg == 0 && rs.v[2].end == 1);
    fp = fopen(bed, "w");
    fprintf(fp, "a\t5\t11\n");
    fclose(fp);
    cr_assert_neq(hd_regions_read(&rs, bed, dict), 0);
    cr_assert(strstr(hd_error(), "line 1"), "%s", hd_error());
    hd_regions_free(&rs);
    hd_contigs_free(dict);
    fai_destroy(fai);
    rm_rf(d);
    free(d);
}

/* ------------------------------------------------------------------ against the fixture */

/* library embedder: mean/last/max/none of every record = the pooled expected hidden states */
Test(embed, embedder_matches_fixture, .init = setup, .fini = teardown)
{
    hd_st *exp = hd_st_open(TINY "/expected.safetensors");
    cr_assert_not_null(exp);
    fa_rec *r;
    int n = read_fasta(TINY "/input.fa", &r);
    cr_assert_eq(n, 8);
    for (int p = HD_POOL_MEAN; p <= HD_POOL_NONE; p++) {
        hd_embed_opts o = {.pool = (hd_pool)p, .rc = 0, .layer = -1};
        hd_embedder *e = hd_embedder_new(M, BE, &o);
        cr_assert_not_null(e, "%s", hd_error());
        cr_assert_eq(hd_embedder_width(e), D);
        for (int i = 0; i < n; i++) {
            char key[300];
            snprintf(key, sizeof key, "hidden.%s", r[i].name);
            size_t ne;
            float *h = st_f32(exp, key, &ne);
            size_t L = r[i].len;
            cr_assert_eq(ne, L * D);
            float *want = malloc(L * D * sizeof(float)), *got = malloc(L * D * sizeof(float));
            if (p == HD_POOL_MEAN) mean_rows(h, L, D, want);
            else if (p == HD_POOL_LAST) memcpy(want, h + (L - 1) * D, D * sizeof(float));
            else if (p == HD_POOL_MAX) {
                memcpy(want, h, D * sizeof(float));
                for (size_t t = 1; t < L; t++)
                    for (int c = 0; c < D; c++) want[c] = fmaxf(want[c], h[t * D + c]);
            } else memcpy(want, h, L * D * sizeof(float));
            cr_assert_eq(hd_embedder_run(e, r[i].seq, L, r[i].name, got), 0, "%s", hd_error());
            snprintf(key, sizeof key, "%s %s", hd_pool_name((hd_pool)p), r[i].name);
            assert_close(got, want, p == HD_POOL_NONE ? L * D : D, REL_BAR, key);
            free(h); free(want); free(got);
        }
        hd_embedder_free(e);
    }
    /* --layer: the residual stream after block K, pooled */
    for (int k = 0; k < 2; k++) {
        hd_embed_opts o = {.pool = HD_POOL_MEAN, .rc = 0, .layer = k};
        hd_embedder *e = hd_embedder_new(M, BE, &o);
        char key[64];
        snprintf(key, sizeof key, "residual.layer%d.seq5", k);
        float *h = st_f32(exp, key, NULL), want[D], got[D];
        mean_rows(h, r[4].len, D, want);
        cr_assert_eq(hd_embedder_run(e, r[4].seq, r[4].len, "seq5", got), 0, "%s", hd_error());
        assert_close(got, want, D, REL_BAR, key);
        free(h);
        hd_embedder_free(e);
    }
    hd_embed_opts bad = {.pool = HD_POOL_MEAN, .layer = 2};
    cr_assert_null(hd_embedder_new(M, BE, &bad));
    cr_assert(strstr(hd_error(), "layer 2"), "%s", hd_error());
    for (int i = 0; i < n; i++) { free(r[i].name); free(r[i].seq); }
    free(r);
    hd_st_close(exp);
}

/* --rc on a model that is not RC-equivariant: average of the forward and reverse-complement runs */
Test(embed, rc_average, .init = setup, .fini = teardown)
{
    fa_rec *r;
    int n = read_fasta(TINY "/input.fa", &r);
    for (int p = HD_POOL_MEAN; p <= HD_POOL_NONE; p++) {
        hd_embed_opts o = {.pool = (hd_pool)p, .rc = 1, .layer = -1};
        hd_embedder *e = hd_embedder_new(M, BE, &o);
        for (int i = 3; i < n; i += 2) {
            size_t L = r[i].len;
            char *rcs = revcomp_str(r[i].seq, L);
            float *hf = lib_hidden(r[i].seq, L, -1), *hr = lib_hidden(rcs, L, -1);
            float *want = malloc(L * D * sizeof(float)), *got = malloc(L * D * sizeof(float));
            if (p == HD_POOL_NONE) {
                for (size_t t = 0; t < L; t++)
                    for (int c = 0; c < D; c++) want[t * D + c] = 0.5f * (hf[t * D + c] + hr[(L - 1 - t) * D + c]);
            } else if (p == HD_POOL_MEAN) {
                float a[D], b[D];
                mean_rows(hf, L, D, a);
                mean_rows(hr, L, D, b);
                for (int c = 0; c < D; c++) want[c] = 0.5f * (a[c] + b[c]);
            } else if (p == HD_POOL_LAST) {
                for (int c = 0; c < D; c++) want[c] = 0.5f * (hf[(L - 1) * D + c] + hr[(L - 1) * D + c]);
            } else {
                for (int c = 0; c < D; c++) {
                    float a = hf[c], b = hr[c];
                    for (size_t t = 1; t < L; t++) { a = fmaxf(a, hf[t * D + c]); b = fmaxf(b, hr[t * D + c]); }
                    want[c] = 0.5f * (a + b);
                }
            }
            cr_assert_eq(hd_embedder_run(e, r[i].seq, L, r[i].name, got), 0, "%s", hd_error());
            char what[128];
            snprintf(what, sizeof what, "--rc %s %s", hd_pool_name((hd_pool)p), r[i].name);
            assert_close(got, want, p == HD_POOL_NONE ? L * D : D, 1e-6, what);
            free(rcs); free(hf); free(hr); free(want); free(got);
        }
        hd_embedder_free(e);
    }
    for (int i = 0; i < n; i++) { free(r[i].name); free(r[i].seq); }
    free(r);
}

/* ------------------------------------------------------------------ a synthetic RC-equivariant model */

/* a(x, t, c): a position- and context-dependent feature of the forward strand */
static float feat(const int32_t *ids, size_t L, size_t t, int c)
{
    float prev = t > 0 ? (float)ids[t - 1] : 0.f;
    (void)L;
    return sinf(0.37f * (float)ids[t] * (float)(c + 1) + 0.11f * (float)t + 0.29f * prev * (float)c);
}

enum { PSD = 3 };

/* out[t, c] = a(x, t, c) and out[t, 2D-1-c] = a(RC x, L-1-t, c): exactly RC-equivariant,
 * out(RC x) = RC(out(x)) over all 2D channels, as Caduceus-PS (docs/models.md §4.8) */
static int fake_forward(hd_model *m, hd_backend *be, const int32_t *ids, size_t L, hd_fwd *f)
{
    (void)m; (void)be;
    int32_t *rc = malloc(L * sizeof *rc);
    memcpy(rc, ids, L * sizeof *rc);
    hd_ids_revcomp(rc, L);
    for (size_t t = 0; t < L; t++)
        for (int c = 0; c < PSD; c++) {
            f->hidden[t * 2 * PSD + c] = feat(ids, L, t, c);
            f->hidden[t * 2 * PSD + 2 * PSD - 1 - c] = feat(rc, L, L - 1 - t, c);
        }
    free(rc);
    return 0;
}

static const hd_family_ops fake_ops = {.name = "fake-ps", .forward = fake_forward};

Test(embed, ps_conjoin_on_an_equivariant_model)
{
    hd_model m;
    memset(&m, 0, sizeof m);
    hd_backend *be = hd_backend_cpu_new(1);
    m.family = HD_FAM_CADUCEUS;
    m.ops = &fake_ops;
    m.location = "fake";
    m.n_layer = 1;
    m.n_logits = 16;
    m.d_hidden = 2 * PSD;
    m.rc_equivariant = 1;
    const char *seq = "ACGGTCANTTGCAAGT";
    size_t L = strlen(seq);
    char *rcs = revcomp_str(seq, L);
    int32_t *ids = malloc(L * sizeof *ids), *rids = malloc(L * sizeof *rids);
    hd_tokenize(seq, L, HD_SPECIAL_NONE, ids, "s");
    hd_tokenize(rcs, L, HD_SPECIAL_NONE, rids, "s");
    float *h = malloc(L * 2 * PSD * sizeof(float)), *hr = malloc(L * 2 * PSD * sizeof(float));
    hd_fwd f = {.hidden = h, .layer = -1}, fr = {.hidden = hr, .layer = -1};
    cr_assert_eq(hd_model_forward(&m, be, ids, L, &f), 0);
    cr_assert_eq(hd_model_forward(&m, be, rids, L, &fr), 0);
    /* the fake is equivariant */
    for (size_t t = 0; t < L; t++)
        for (int c = 0; c < 2 * PSD; c++)
            cr_assert_float_eq(hr[t * 2 * PSD + c], h[(L - 1 - t) * 2 * PSD + 2 * PSD - 1 - c], 1e-6);
    for (int p = HD_POOL_MEAN; p <= HD_POOL_NONE; p++) {
        hd_embed_opts o = {.pool = (hd_pool)p, .rc = 1, .layer = -1};
        hd_embedder *e = hd_embedder_new(&m, be, &o);
        cr_assert_not_null(e);
        cr_assert_eq(hd_embedder_width(e), PSD, "the conjoined width is d_hidden / 2");
        float *a = malloc(L * PSD * sizeof(float)), *b = malloc(L * PSD * sizeof(float));
        float *want = malloc(L * PSD * sizeof(float));
        cr_assert_eq(hd_embedder_run(e, seq, L, "s", a), 0, "%s", hd_error());
        cr_assert_eq(hd_embedder_run(e, rcs, L, "s_rc", b), 0, "%s", hd_error());
        /* the same as the PH-style average of the first halves of the two strands' runs */
        if (p == HD_POOL_NONE) {
            for (size_t t = 0; t < L; t++)
                for (int c = 0; c < PSD; c++)
                    want[t * PSD + c] = 0.5f * (h[t * 2 * PSD + c] + hr[(L - 1 - t) * 2 * PSD + c]);
        } else {
            float *f1 = malloc(L * PSD * sizeof(float)), *f2 = malloc(L * PSD * sizeof(float));
            for (size_t t = 0; t < L; t++) {
                memcpy(f1 + t * PSD, h + t * 2 * PSD, PSD * sizeof(float));
                memcpy(f2 + t * PSD, hr + t * 2 * PSD, PSD * sizeof(float));
            }
            float x[PSD], y[PSD];
            hd_pool_rows(f1, L, PSD, 0, (hd_pool)p, x);
            hd_pool_rows(f2, L, PSD, 0, (hd_pool)p, y);
            for (int c = 0; c < PSD; c++) want[c] = 0.5f * (x[c] + y[c]);
            free(f1); free(f2);
        }
        size_t nn = p == HD_POOL_NONE ? L * PSD : PSD;
        for (size_t i = 0; i < nn; i++) cr_assert_float_eq(a[i], want[i], 1e-6, "%s [%zu]", hd_pool_name((hd_pool)p), i);
        /* and RC-invariant: a sequence and its reverse complement embed alike (per base: mirrored) */
        for (size_t i = 0; i < nn; i++) {
            size_t j = p == HD_POOL_NONE ? (L - 1 - i / PSD) * PSD + i % PSD : i;
            cr_assert_float_eq(a[i], b[j], 1e-6, "invariance %s [%zu]", hd_pool_name((hd_pool)p), i);
        }
        free(a); free(b); free(want);
        hd_embedder_free(e);
    }
    /* without --rc the whole 2D hidden state is kept */
    hd_embed_opts o = {.pool = HD_POOL_MEAN, .rc = 0, .layer = -1};
    hd_embedder *e = hd_embedder_new(&m, be, &o);
    cr_assert_eq(hd_embedder_width(e), 2 * PSD);
    hd_embedder_free(e);
    free(rcs); free(ids); free(rids); free(h); free(hr);
    hd_backend_free(be);
}

/* ------------------------------------------------------------------ end to end through the binary */

/* every record, TSV = BED = safetensors = the mean of the expected hidden states */
Test(embed, cli_records_all_formats)
{
    char *d = tmp_dir();
    cr_assert_eq(sh(EMBED "-o '%s/e.tsv' '%s/input.fa'", d, TINY), 0);
    cr_assert_eq(sh(EMBED "-o '%s/e.bed.gz' '%s/input.fa'", d, TINY), 0);
    cr_assert_eq(sh(EMBED "-o '%s/e.safetensors' '%s/input.fa'", d, TINY), 0);
    char p[700];
    snprintf(p, sizeof p, "%s/e.tsv", d);
    table_t t = parse_text(p, 0);
    snprintf(p, sizeof p, "%s/e.bed.gz", d);
    table_t b = parse_text(p, 1);
    snprintf(p, sizeof p, "%s/e.safetensors", d);
    hd_st *st = hd_st_open(p);
    cr_assert_not_null(st, "%s", hd_error());
    hd_st *exp = hd_st_open(TINY "/expected.safetensors");
    fa_rec *r;
    int n = read_fasta(TINY "/input.fa", &r);
    cr_assert_eq(t.n, n);
    cr_assert_eq(b.n, n);
    cr_assert_eq(t.width, D);
    cr_assert_eq(hd_st_count(st), n);
    cr_assert_str_eq(hd_st_meta(st, "pooling"), "mean");
    cr_assert_str_eq(hd_st_meta(st, "family"), "hyenadna");
    for (int i = 0; i < n; i++) {
        cr_assert_str_eq(t.r[i].name, r[i].name);
        cr_assert_str_eq(t.r[i].chrom, r[i].name);
        cr_assert(t.r[i].start == 0 && t.r[i].end == (long)r[i].len && t.r[i].strand == '+');
        cr_assert_str_eq(b.r[i].name, r[i].name);
        cr_assert(b.r[i].start == 0 && b.r[i].end == (long)r[i].len && b.r[i].strand == '+');
        char key[300];
        snprintf(key, sizeof key, "hidden.%s", r[i].name);
        float *h = st_f32(exp, key, NULL), want[D];
        mean_rows(h, r[i].len, D, want);
        assert_close(t.r[i].v, want, D, REL_BAR, key);
        snprintf(key, sizeof key, "embedding.%s", r[i].name);
        size_t ne;
        float *sv = st_f32(st, key, &ne);
        cr_assert_eq(ne, D);
        assert_close(sv, want, D, REL_BAR, key);
        /* the formats agree: %.9g round-trips float32 exactly */
        for (int c = 0; c < D; c++) {
            cr_assert(t.r[i].v[c] == sv[c], "%s dim %d: TSV %.9g, safetensors %.9g", r[i].name, c, t.r[i].v[c], sv[c]);
            cr_assert(b.r[i].v[c] == sv[c], "%s dim %d: BED %.9g, safetensors %.9g", r[i].name, c, b.r[i].v[c], sv[c]);
        }
        snprintf(key, sizeof key, "coords.%s", r[i].name);
        char want_c[300];
        snprintf(want_c, sizeof want_c, "%s\t0\t%zu\t+", r[i].name, r[i].len);
        cr_assert_str_eq(hd_st_meta(st, key), want_c);
        free(h); free(sv);
    }
    /* --pool none: [L, D] per record = the expected hidden states */
    cr_assert_eq(sh(EMBED "--pool none -o '%s/n.safetensors' '%s/input.fa'", d, TINY), 0);
    snprintf(p, sizeof p, "%s/n.safetensors", d);
    hd_st *sn = hd_st_open(p);
    cr_assert_not_null(sn);
    const hd_tensor_info *ti = hd_st_find(sn, "embedding.seq6");
    cr_assert(ti && ti->ndim == 2 && ti->shape[0] == 1024 && ti->shape[1] == D);
    size_t ne;
    float *g = st_f32(sn, "embedding.seq6", &ne), *h = st_f32(exp, "hidden.seq6", NULL);
    assert_close(g, h, ne, REL_BAR, "--pool none seq6");
    free(g); free(h);
    hd_st_close(sn);
    for (int i = 0; i < n; i++) { free(r[i].name); free(r[i].seq); }
    free(r);
    table_free(&t);
    table_free(&b);
    hd_st_close(st);
    hd_st_close(exp);
    rm_rf(d);
    free(d);
}

/* regions, BED regions at the record edges and windows = the library forward of those subsequences */
Test(embed, cli_regions_and_windows, .init = setup, .fini = teardown)
{
    char *d = tmp_dir();
    fa_rec *r;
    int n = read_fasta(TINY "/input.fa", &r);
    cr_assert_eq(sh("cp '%s/input.fa' '%s/g.fa'", TINY, d), 0);
    FILE *fp;
    char p[700];
    /* BED: the first base, the last base, a whole record, a one-base record */
    snprintf(p, sizeof p, "%s/r.bed", d);
    fp = fopen(p, "w");
    fprintf(fp, "seq6\t0\t1\nseq6\t1023\t1024\nseq5\t0\t255\nseq1\t0\t1\nseq8\t10\t70\n");
    fclose(fp);
    cr_assert_eq(sh(EMBED "-r seq6:1-100,seq7:91-100 -r seq4 -R '%s/r.bed' -o '%s/r.tsv' '%s/g.fa'", d, d, d), 0);
    snprintf(p, sizeof p, "%s/r.tsv", d);
    table_t t = parse_text(p, 0);
    struct { const char *name, *chrom; long b, e; } want[] = {
        {"seq6:1-100", "seq6", 0, 100}, {"seq7:91-100", "seq7", 90, 100}, {"seq4:1-17", "seq4", 0, 17},
        {"seq6:1-1", "seq6", 0, 1}, {"seq6:1024-1024", "seq6", 1023, 1024}, {"seq5:1-255", "seq5", 0, 255},
        {"seq1:1-1", "seq1", 0, 1}, {"seq8:11-70", "seq8", 10, 70}};
    int nw = (int)(sizeof want / sizeof *want);
    cr_assert_eq(t.n, nw);
    for (int i = 0; i < nw; i++) {
        cr_assert_str_eq(t.r[i].name, want[i].name);
        cr_assert_str_eq(t.r[i].chrom, want[i].chrom);
        cr_assert(t.r[i].start == want[i].b && t.r[i].end == want[i].e, "%s: %ld-%ld", want[i].name, t.r[i].start, t.r[i].end);
        int k = -1;
        for (int j = 0; j < n; j++) if (!strcmp(r[j].name, want[i].chrom)) k = j;
        float *m = lib_mean(r[k].seq + want[i].b, (size_t)(want[i].e - want[i].b));
        assert_close(t.r[i].v, m, D, REL_BAR, want[i].name);
        free(m);
    }
    table_free(&t);
    /* windows over a record: 400 wide, stride 300, the last one flush with the end */
    cr_assert_eq(sh(EMBED "-w 400 -s 300 -o '%s/w.tsv' -r seq6 -r seq5:101-255 '%s/g.fa'", d, d), 0);
    snprintf(p, sizeof p, "%s/w.tsv", d);
    t = parse_text(p, 0);
    long wb[] = {0, 300, 600, 624, 100}, we[] = {400, 700, 1000, 1024, 255};
    const char *wc[] = {"seq6", "seq6", "seq6", "seq6", "seq5"};
    cr_assert_eq(t.n, 5);
    for (int i = 0; i < 5; i++) {
        cr_assert(t.r[i].start == wb[i] && t.r[i].end == we[i], "window %d: %ld-%ld", i, t.r[i].start, t.r[i].end);
        char nm[64];
        snprintf(nm, sizeof nm, "%s:%ld-%ld", wc[i], wb[i] + 1, we[i]);
        cr_assert_str_eq(t.r[i].name, nm);
        const char *s = r[!strcmp(wc[i], "seq6") ? 5 : 4].seq;
        float *m = lib_mean(s + wb[i], (size_t)(we[i] - wb[i]));
        assert_close(t.r[i].v, m, D, REL_BAR, nm);
        free(m);
    }
    table_free(&t);
    /* a record longer than the model's maximum length: windows of max_len, flush last */
    snprintf(p, sizeof p, "%s/long.fa", d);
    fp = fopen(p, "w");
    fprintf(fp, ">long\n%s%s\n", r[5].seq, r[4].seq);   /* 1024 + 255 = 1279 bases */
    fclose(fp);
    char both[1300];
    snprintf(both, sizeof both, "%s%s", r[5].seq, r[4].seq);
    cr_assert_eq(sh(EMBED "--verbosity 2 -o '%s/l.tsv' '%s/long.fa' 2>'%s/err'", d, d, d), 0);
    snprintf(p, sizeof p, "%s/l.tsv", d);
    t = parse_text(p, 0);
    cr_assert_eq(t.n, 2);
    cr_assert(t.r[0].start == 0 && t.r[0].end == 1026 && t.r[1].start == 1279 - 1026 && t.r[1].end == 1279);
    for (int i = 0; i < 2; i++) {
        float *m = lib_mean(both + t.r[i].start, (size_t)(t.r[i].end - t.r[i].start));
        assert_close(t.r[i].v, m, D, REL_BAR, t.r[i].name);
        free(m);
    }
    table_free(&t);
    cr_assert_eq(sh("grep -q 'maximum length of 1026' '%s/err'", d), 0, "no warning about the split");
    cr_assert_eq(sh(EMBED "--no-split -o '%s/l2.tsv' '%s/long.fa' 2>'%s/err'", d, d, d), 1);
    cr_assert_eq(sh("grep -q \"record 'long'\" '%s/err' && grep -q 1279 '%s/err'", d, d), 0);
    cr_assert_neq(sh("test -e '%s/l2.tsv'", d), 0, "partial output left behind");
    for (int i = 0; i < n; i++) { free(r[i].name); free(r[i].seq); }
    free(r);
    rm_rf(d);
    free(d);
}

/* reads of a BAM made with samtools: one row per selected read, filters, region through the index */
Test(embed, cli_bam_reads, .init = setup, .fini = teardown)
{
    char *d = tmp_dir();
    fa_rec *r;
    int n = read_fasta(TINY "/input.fa", &r);
    const char *g = r[5].seq;   /* seq6, 1024 bases */
    char p[700];
    snprintf(p, sizeof p, "%s/r.sam", d);
    FILE *fp = fopen(p, "w");
    for (int i = 0; i < n; i++) fprintf(fp, "@SQ\tSN:%s\tLN:%zu\n", r[i].name, r[i].len);
    struct { const char *q; int flag, pos, mapq; } rd[] = {
        {"p1", 0, 10, 60},    {"m2", 16, 100, 30}, {"lowq", 0, 300, 5},     {"sec", 256, 400, 60},
        {"sup", 2048, 500, 60}, {"un", 4, -1, 0},  {"pair", 65, 700, 60},  {"pair", 129, 900, 60}};
    int nr = (int)(sizeof rd / sizeof *rd);
    for (int i = 0; i < nr; i++) {
        int pos = rd[i].pos < 0 ? 50 : rd[i].pos;
        if (rd[i].pos < 0)
            fprintf(fp, "%s\t%d\t*\t0\t0\t*\t*\t0\t0\t%.60s\t*\n", rd[i].q, rd[i].flag, g + pos);
        else
            fprintf(fp, "%s\t%d\tseq6\t%d\t%d\t60M\t*\t0\t0\t%.60s\t*\n", rd[i].q, rd[i].flag, pos + 1, rd[i].mapq, g + pos);
    }
    fclose(fp);
    cr_assert_eq(sh("cd '%s' && samtools view -b -o u.bam r.sam && samtools sort -o r.bam u.bam && samtools index r.bam", d), 0,
                 "samtools failed");
    /* default: mapped primary reads */
    cr_assert_eq(sh(EMBED "-o '%s/a.tsv' '%s/r.bam'", d, d), 0);
    snprintf(p, sizeof p, "%s/a.tsv", d);
    table_t t = parse_text(p, 0);
    const char *names[] = {"p1", "m2", "lowq", "pair/1", "pair/2"};
    long starts[] = {10, 100, 300, 700, 900};
    cr_assert_eq(t.n, 5);
    for (int i = 0; i < 5; i++) {
        cr_assert_str_eq(t.r[i].name, names[i]);
        cr_assert_str_eq(t.r[i].chrom, "seq6");
        cr_assert(t.r[i].start == starts[i] && t.r[i].end == starts[i] + 60);
        cr_assert_eq(t.r[i].strand, i == 1 ? '-' : '+');
        /* the read as sequenced: m2 (flag 16), stored on the reference strand, reverse-complemented back */
        char *rcs = i == 1 ? revcomp_str(g + starts[i], 60) : NULL;
        float *m = lib_mean(rcs ? rcs : g + starts[i], 60);
        assert_close(t.r[i].v, m, D, REL_BAR, names[i]);
        free(m);
        free(rcs);
    }
    table_free(&t);
    /* filters: MAPQ >= 10, plus unmapped, secondary and supplementary */
    cr_assert_eq(sh(EMBED "-q 10 --unmapped --secondary --supplementary -o '%s/b.tsv' '%s/r.bam'", d, d), 0);
    snprintf(p, sizeof p, "%s/b.tsv", d);
    t = parse_text(p, 0);
    const char *names2[] = {"p1", "m2", "sec", "sup", "pair/1", "pair/2", "un"};
    cr_assert_eq(t.n, 7);
    for (int i = 0; i < 7; i++) cr_assert_str_eq(t.r[i].name, names2[i]);
    cr_assert(!strcmp(t.r[6].chrom, "*") && t.r[6].start == 0 && t.r[6].end == 0);
    float *m = lib_mean(g + 50, 60);
    assert_close(t.r[6].v, m, D, REL_BAR, "unmapped read");
    free(m);
    table_free(&t);
    /* a region through the index (BAM from stdin cannot do that) */
    cr_assert_eq(sh(EMBED "-r seq6:360-760 --secondary -o '%s/c.tsv' '%s/r.bam'", d, d), 0);
    snprintf(p, sizeof p, "%s/c.tsv", d);
    t = parse_text(p, 0);
    cr_assert_eq(t.n, 3);
    cr_assert_str_eq(t.r[0].name, "lowq");
    cr_assert_str_eq(t.r[1].name, "sec");
    cr_assert_str_eq(t.r[2].name, "pair/1");
    table_free(&t);
    /* SAM on stdin gives the same as the BAM */
    cr_assert_eq(sh(EMBED "-o '%s/s.tsv' - < '%s/r.sam'", d, d), 0);
    cr_assert_eq(sh("cmp -s '%s/s.tsv' '%s/a.tsv'", d, d), 0, "SAM from stdin differs from the BAM");
    cr_assert_eq(sh(EMBED "-r seq6:1-10 -o '%s/x.tsv' - < '%s/r.bam' 2>/dev/null", d, d), 1);
    cr_assert_eq(sh(EMBED "-r seq9 -o '%s/x.tsv' '%s/r.bam' 2>'%s/err'", d, d, d), 1);
    cr_assert_eq(sh("grep -q seq9 '%s/err'", d), 0);
    for (int i = 0; i < n; i++) { free(r[i].name); free(r[i].seq); }
    free(r);
    rm_rf(d);
    free(d);
}

/* safetensors names are JSON strings, which must be UTF-8: a name that is not (a Latin-1 FASTA header) is an
 * error naming it, never a tensor dropped from the header or an "out of memory"; TSV takes any bytes */
Test(embed, names_not_utf8)
{
    size_t bad = 0;
    cr_assert(hd_utf8_valid("chr1_\xc3\xa9\xe2\x82\xac\xf0\x9f\xa7\xac", &bad), "2-, 3- and 4-byte sequences");
    cr_assert(!hd_utf8_valid("lat\xe9n", &bad) && bad == 3, "Latin-1");
    cr_assert(!hd_utf8_valid("ab\xc3", &bad) && bad == 2, "cut short at the end");
    cr_assert(!hd_utf8_valid("\xc0\xaf", &bad) && bad == 0, "overlong");
    cr_assert(!hd_utf8_valid("\xed\xa0\x80", &bad), "surrogate");
    cr_assert(!hd_utf8_valid("\xf4\x90\x80\x80", &bad), "past U+10FFFF");
    char *d = tmp_dir(), p[600];
    float v[4] = {1, 2, 3, 4};
    snprintf(p, sizeof p, "%s/w.safetensors", d);
    hd_emb_writer *w = hd_emb_writer_open(p, HD_EMB_SAFETENSORS, 4, HD_POOL_MEAN);
    cr_assert_not_null(w, "%s", hd_error());
    cr_assert_eq(hd_emb_writer_add(w, "ok\xc3\xa9", "ok\xc3\xa9", 0, 4, '+', v, 1), 0, "%s", hd_error());
    cr_assert_eq(hd_emb_writer_add(w, "lat\xe9n", "lat\xe9n", 0, 4, '+', v, 1), -1);
    cr_assert_eq(hd_error_kind(), HD_EINPUT);
    cr_assert(strstr(hd_error(), "lat\xe9n") && strstr(hd_error(), "UTF-8"), "%s", hd_error());
    hd_emb_writer_abort(w);
    cr_assert(access(p, F_OK) != 0);
    snprintf(p, sizeof p, "%s/w.tsv", d);
    w = hd_emb_writer_open(p, HD_EMB_TSV, 4, HD_POOL_MEAN);
    cr_assert_not_null(w, "%s", hd_error());
    cr_assert_eq(hd_emb_writer_add(w, "lat\xe9n", "lat\xe9n", 0, 4, '+', v, 1), 0, "%s", hd_error());
    cr_assert_eq(hd_emb_writer_close(w), 0, "%s", hd_error());
    rm_rf(d);
    free(d);
}
