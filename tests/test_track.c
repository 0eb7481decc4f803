/* test_track.c -- the pieces of `hyenadna track`: the values of a base from its LLRs (src/track.c) against
 * hand-computed distributions, the chunk grid of src/varscore.c against a brute-force search, a contig held
 * in part scoring exactly as the whole contig, and the bigWig / table writers read back. */
#include "testutil.h"
#include "backend.h"
#include "model.h"
#include "seqio.h"
#include "tokenizer.h"
#include "track.h"
#include "util.h"
#include "varscore.h"

#include <bigWig.h>
#include <bwValues.h>
#include <inttypes.h>
#include <zlib.h>
#include <htslib/bgzf.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

Test(track, values_of_a_known_distribution)
{
    /* p(A, C, G, T) ∝ (2, 1, 0.5, 0.5) with ref C: q = (1/2, 1/4, 1/8, 1/8) */
    double llr[4] = {log(2.0), 123.0 /* ignored: the reference */, log(0.5), log(0.5)};
    float v[HD_TRK_N];
    hd_track_values(1, llr, v);
    cr_assert_float_eq(v[HD_TRK_LOGP], -2.0f, 1e-6);
    cr_assert_float_eq(v[HD_TRK_ENTROPY], 1.75f, 1e-6);
    cr_assert_float_eq(v[HD_TRK_IC], 0.25f, 1e-6);
    float want[4] = {0.125f, 0.0625f, 0.03125f, 0.03125f};
    for (int b = 0; b < 4; b++) cr_assert_float_eq(v[HD_TRK_A + b], want[b], 1e-7, "logo height %d", b);
}

Test(track, values_at_the_extremes)
{
    float v[HD_TRK_N];
    double flat[4] = {0, 0, 0, 0};
    hd_track_values(3, flat, v);   /* uniform: 2 bits of entropy, nothing to draw */
    cr_assert_float_eq(v[HD_TRK_LOGP], -2.0f, 1e-6);
    cr_assert_float_eq(v[HD_TRK_ENTROPY], 2.0f, 1e-6);
    cr_assert_float_eq(v[HD_TRK_IC], 0.0f, 1e-6);
    double sure[4] = {0, -800, -800, -800};   /* ref A certain; exp underflows to 0 */
    hd_track_values(0, sure, v);
    cr_assert_float_eq(v[HD_TRK_LOGP], 0.0f, 1e-6);
    cr_assert_float_eq(v[HD_TRK_ENTROPY], 0.0f, 1e-6);
    cr_assert_float_eq(v[HD_TRK_A], 2.0f, 1e-6);
    double alt[4] = {0, 700, 0, 0};   /* an ALT overwhelmingly likelier: no overflow */
    hd_track_values(0, alt, v);
    cr_assert(isfinite(v[HD_TRK_LOGP]) && v[HD_TRK_LOGP] < -1000, "logp %g", v[HD_TRK_LOGP]);
    cr_assert_float_eq(v[HD_TRK_C], 2.0f, 1e-6);
}

/* hd_fmt_g6, the tables' number format, writes exactly what printf's %.6g writes: random magnitudes and bit
 * patterns, values next to the rounding ties of the sixth digit, the decade edges, specials */
Test(track, fmt_g6_equals_printf)
{
    char a[HD_G6_MAX], b[64];
    unsigned long long st = 88172645463325252ULL;
    for (long i = 0; i < 1500000; i++) {
        st ^= st << 13, st ^= st >> 7, st ^= st << 17;   /* xorshift64 */
        double u = (double)(st >> 11) / 9007199254740992.0, x;
        switch (i % 5) {
        case 0: x = (u - 0.5) * pow(10, (int)(st % 41) - 20); break;
        case 1:   /* (m + 1/2)·10^j and its neighbours: the ties of the sixth significant digit */
            x = (double)(100000 + st % 900000) + 0.5;
            x *= pow(10, (int)(st >> 40) % 31 - 20);
            if (st & 2) x = nextafter(x, st & 4 ? INFINITY : -INFINITY);
            break;
        case 2: x = (double)(st % 2000000) * pow(10, (int)((st >> 32) % 17) - 8); break;
        case 3: x = -(u * 30 - 15) * (u * 30 - 15) * (u * 30 - 15); break;
        default: memcpy(&x, &st, sizeof x);   /* any bit pattern: NaN, infinities, subnormals too */
        }
        int n = hd_fmt_g6(x, a);
        snprintf(b, sizeof b, "%.6g", x);
        cr_assert(!strcmp(a, b) && n == (int)strlen(b), "%.17g: %s, printf %s", x, a, b);
    }
    double sp[] = {0, -0.0, 1, -1, 0.5, 1e-5, 1e-4, 9.999995e-5, 99999.5, 999999.5, 9999995, 123456.5, 1e15, 1e-15,
                   999999, 1000000, 0.1, 1e100, -2.5e-300, NAN, INFINITY, -INFINITY, 5e-324, 1.7976931348623157e308};
    for (size_t i = 0; i < sizeof sp / sizeof *sp; i++) {
        hd_fmt_g6(sp[i], a);
        snprintf(b, sizeof b, "%.6g", sp[i]);
        cr_assert_str_eq(a, b, "%.17g", sp[i]);
    }
}

/* the grid: chunks tile [origin, len); first/last are the earliest/latest chunk holding p */
Test(track, chunk_grid_brute_force)
{
    size_t lens[] = {1, 2, 7, 100, 1026, 1027, 3001};
    for (size_t li = 0; li < sizeof lens / sizeof *lens; li++)
        for (size_t origin = 0; origin < lens[li]; origin += 1 + lens[li] / 3)
            for (size_t C = 1; C <= 40; C += 7)
                for (size_t O = 0; O < C + 2; O += 3) {
                    size_t len = lens[li];
                    hd_vs_grid g;
                    hd_vs_grid_init(&g, origin, len, C, O);
                    size_t cs, n;
                    hd_vs_grid_chunk(&g, g.K - 1, &cs, &n);
                    cr_assert_eq(cs + n, len, "last chunk ends at the contig end (len %zu C %zu O %zu)", len, C, O);
                    hd_vs_grid_chunk(&g, 0, &cs, &n);
                    cr_assert_eq(cs, origin);
                    for (size_t p = origin; p < len; p++) {
                        size_t lo = SIZE_MAX, hi = 0;
                        for (size_t k = 0; k < g.K; k++) {
                            hd_vs_grid_chunk(&g, k, &cs, &n);
                            cr_assert(n >= 1 && n <= C);
                            if (cs <= p && p < cs + n) {
                                if (k < lo) lo = k;
                                hi = k;
                            }
                        }
                        cr_assert_eq(hd_vs_grid_first(&g, p), lo, "first(%zu) len %zu origin %zu C %zu O %zu", p, len,
                                     origin, C, O);
                        cr_assert_eq(hd_vs_grid_last(&g, p), hi, "last(%zu)", p);
                    }
                }
}

/* The tiny model's input.fa end to end (seq5 + seq6 + seq7 + seq8: 1,459 bases) as one contig's token ids;
 * *len its length. */
static uint8_t *tiny_contig_ids(size_t *len)
{
    hd_fasta *fa = hd_fasta_open(TESTDATA("hyenadna-tiny") "/input.fa");
    cr_assert_not_null(fa, "%s", hd_error());
    hd_seqrec r;
    char *seq = NULL;
    size_t n = 0;
    while (hd_fasta_next(fa, &r) > 0) {
        seq = realloc(seq, n + r.len);
        memcpy(seq + n, r.seq, r.len);
        n += r.len;
    }
    hd_fasta_close(fa);
    uint8_t *ids = malloc(n);
    hd_vs_seq_ids(seq, n, ids);
    free(seq);
    *len = n;
    return ids;
}

/* a contig held in part (what hd_vs_span asks for) scores every SNV bit for bit as the whole contig */
static void check_partial(hd_vs_mode mode, int rc, size_t chunk, size_t overlap, size_t window, size_t origin)
{
    hd_model *m = hd_model_open(TESTDATA("hyenadna-tiny"));
    cr_assert_not_null(m, "%s", hd_error());
    hd_backend *be = hd_backend_cpu_new(1);
    size_t len;
    uint8_t *ids = tiny_contig_ids(&len);
    hd_vs_engine *e = hd_vs_engine_new(m, be, 1);
    hd_vs_opts o = {.mode = mode, .window = window, .chunk = chunk, .overlap = overlap, .rc = rc, .prefix_only = 1};
    hd_vs_batch *whole = hd_vs_batch_new(e, &o), *part = hd_vs_batch_new(e, &o);
    hd_vs_contig cw = {.id = 0, .name = "c", .ids = ids, .len = len, .origin = origin};
    size_t a = origin + 350, b = origin + 420, lo, hi;
    hd_vs_span(part, &cw, a, b, &lo, &hi);
    cr_assert(lo <= a && hi >= b && hi <= len);
    cr_assert(hi - lo < len, "the span [%zu, %zu) is smaller than the contig", lo, hi);
    hd_vs_contig cp = cw;
    cp.ids = ids + lo, cp.off = lo, cp.n = hi - lo;
    long hw[300], hp[300];
    size_t n = 0;
    for (size_t p = a; p < b; p++) {
        int32_t alt = ids[p] == HD_TOK_A ? HD_TOK_G : HD_TOK_A;
        hw[n] = hd_vs_batch_add(whole, &cw, p, 1, &alt, 1);
        hp[n] = hd_vs_batch_add(part, &cp, p, 1, &alt, 1);
        cr_assert(hw[n] >= 0 && hp[n] >= 0, "%s", hd_error());
        n++;
    }
    /* a base outside what the part holds is refused, not read out of bounds */
    int32_t alt = HD_TOK_A;
    cr_assert_lt(hd_vs_batch_add(part, &cp, hi + 400 < len ? hi + 400 : len - 1, 1, &alt, 1), 0);
    cr_assert_eq(hd_vs_batch_run(whole), 0, "%s", hd_error());
    cr_assert_eq(hd_vs_batch_run(part), 0, "%s", hd_error());
    for (size_t i = 0; i < n; i++) {
        double x, y;
        cr_assert_eq(hd_vs_batch_result(whole, hw[i], &x, NULL), HD_VS_OK);
        cr_assert_eq(hd_vs_batch_result(part, hp[i], &y, NULL), HD_VS_OK);
        cr_assert(x == y, "position %zu: %.17g (whole contig) vs %.17g (part)", a + i, x, y);
    }
    hd_vs_batch_free(whole);
    hd_vs_batch_free(part);
    hd_vs_engine_free(e);
    free(ids);
    hd_backend_free(be);
    hd_model_close(m);
}

Test(track, partial_contig_prefix) { check_partial(HD_VS_PREFIX, 0, 200, 50, 128, 0); }
Test(track, partial_contig_prefix_rc_origin) { check_partial(HD_VS_PREFIX, 1, 200, 50, 128, 111); }
Test(track, partial_contig_unmasked) { check_partial(HD_VS_UNMASKED, 0, 150, 60, 128, 30); }
Test(track, partial_contig_masked) { check_partial(HD_VS_MASKED, 1, 200, 50, 64, 0); }

/* prefix mode runs each chunk's forward only for the rows its queries read (hd_fwd.from): every SNV's LLR
 * equals, to the last bit, the one computed here from the logits of a full forward of its chunk (the earliest
 * holding the base; the latest, reverse complemented, with rc), for chunks of the model's length and shorter,
 * several overlaps, an origin inside the contig */
static void check_prefix_exact(size_t chunk, size_t overlap, int rc, size_t origin)
{
    hd_model *m = hd_model_open(TESTDATA("hyenadna-tiny"));
    cr_assert_not_null(m, "%s", hd_error());
    hd_backend *be = hd_backend_cpu_new(2);
    size_t len;
    uint8_t *ids = tiny_contig_ids(&len);
    hd_vs_engine *e = hd_vs_engine_new(m, be, 1);
    hd_vs_opts o = {.mode = HD_VS_PREFIX, .window = 64, .chunk = chunk, .overlap = overlap, .rc = rc, .prefix_only = 1};
    hd_vs_batch *b = hd_vs_batch_new(e, &o);
    hd_vs_contig c = {.id = 0, .name = "c", .ids = ids, .len = len, .origin = origin};
    long *h = malloc(len * sizeof *h);
    for (size_t p = 0; p < len; p++) {
        int32_t alt = ids[p] == HD_TOK_A ? HD_TOK_T : HD_TOK_A;
        cr_assert((h[p] = hd_vs_batch_add(b, &c, p, 1, &alt, 1)) >= 0, "%s", hd_error());
    }
    cr_assert_eq(hd_vs_batch_run(b), 0, "%s", hd_error());
    hd_vs_grid g;
    hd_vs_grid_init(&g, origin, len, chunk, overlap);
    size_t nl = (size_t)m->n_logits, nval = 0;
    float *lgs[2] = {malloc(g.C * nl * sizeof(float)), malloc(g.C * nl * sizeof(float))};
    size_t have[2] = {SIZE_MAX, SIZE_MAX};   /* the chunk whose logits lgs[st] hold */
    int32_t *w = malloc(g.C * sizeof *w);
    for (size_t p = 0; p < len; p++) {
        double got, sum = 0;
        int st_ok = p >= origin, status = hd_vs_batch_result(b, h[p], &got, NULL);
        for (int st = 0; st_ok && st < (rc ? 2 : 1); st++) {
            size_t k = st ? hd_vs_grid_last(&g, p) : hd_vs_grid_first(&g, p), cs, n;
            hd_vs_grid_chunk(&g, k, &cs, &n);
            size_t rel = p - cs, j = st ? n - 1 - rel : rel;
            if (j < 1) { st_ok = 0; break; }
            float *lg = lgs[st];
            if (have[st] != k) {   /* the chunks come in order: each is run once per strand */
                for (size_t i = 0; i < n; i++) w[i] = ids[cs + i];
                if (st) hd_ids_revcomp(w, n);
                hd_fwd f = {.logits = lg, .layer = -1};
                cr_assert_eq(hd_model_forward(m, be, w, n, &f), 0, "%s", hd_error());
                have[st] = k;
            }
            int ref = ids[p], alt = ref == HD_TOK_A ? HD_TOK_T : HD_TOK_A;
            if (st) ref = hd_id_complement(ref), alt = hd_id_complement(alt);
            const float *row = lg + (j - 1) * nl;
            sum += 0 + (hd_vs_logprob(row, (int)nl, alt) - hd_vs_logprob(row, (int)nl, ref));
        }
        if (!st_ok) {
            cr_assert_neq(status, HD_VS_OK, "base %zu has no prefix", p);
            continue;
        }
        cr_assert_eq(status, HD_VS_OK, "base %zu", p);
        double want = sum / (rc ? 2 : 1);
        cr_assert(got == want, "base %zu (C %zu O %zu rc %d origin %zu): %.17g, from the full forward %.17g", p, chunk,
                  overlap, rc, origin, got, want);
        nval++;
    }
    cr_assert_gt(nval, len - 10 - origin);
    free(lgs[0]); free(lgs[1]); free(w); free(h);
    hd_vs_batch_free(b);
    hd_vs_engine_free(e);
    free(ids);
    hd_backend_free(be);
    hd_model_close(m);
}

Test(track, prefix_rows_exact_default_chunking) { check_prefix_exact(1026, 513, 0, 0); }
Test(track, prefix_rows_exact_rc) { check_prefix_exact(1026, 513, 1, 37); }
Test(track, prefix_rows_exact_short_chunks) { check_prefix_exact(600, 100, 0, 0); }
Test(track, prefix_rows_exact_large_overlap_rc) { check_prefix_exact(900, 700, 1, 5); }

/* prefix_only: the first base of the grid and a base before the origin get no LLR */
Test(track, prefix_only_gaps)
{
    hd_model *m = hd_model_open(TESTDATA("hyenadna-tiny"));
    cr_assert_not_null(m);
    hd_backend *be = hd_backend_cpu_new(1);
    hd_vs_engine *e = hd_vs_engine_new(m, be, 1);
    uint8_t ids[300];
    for (int i = 0; i < 300; i++) ids[i] = (uint8_t)(HD_TOK_A + (i * 7 + i / 3) % 4);
    hd_vs_opts o = {.mode = HD_VS_PREFIX, .window = 64, .chunk = 100, .overlap = 0, .prefix_only = 1};
    hd_vs_batch *b = hd_vs_batch_new(e, &o);
    hd_vs_contig c = {.id = 0, .name = "c", .ids = ids, .len = 300, .origin = 10};
    int32_t alt = HD_TOK_N;
    long h0 = hd_vs_batch_add(b, &c, 10, 1, &alt, 1), h1 = hd_vs_batch_add(b, &c, 110, 1, &alt, 1),
         h2 = hd_vs_batch_add(b, &c, 5, 1, &alt, 1), h3 = hd_vs_batch_add(b, &c, 111, 1, &alt, 1);
    cr_assert_eq(hd_vs_batch_run(b), 0);
    double l;
    cr_assert_eq(hd_vs_batch_result(b, h0, &l, NULL), HD_VS_NO_PREFIX, "the grid's first base");
    cr_assert(isnan(l));
    cr_assert_eq(hd_vs_batch_result(b, h1, &l, NULL), HD_VS_NO_PREFIX, "a chunk's first base with O = 0");
    cr_assert_eq(hd_vs_batch_result(b, h2, &l, NULL), HD_VS_NO_PREFIX, "before the origin");
    cr_assert_eq(hd_vs_batch_result(b, h3, &l, NULL), HD_VS_OK);
    cr_assert(isfinite(l));
    hd_vs_batch_free(b);
    hd_vs_engine_free(e);
    hd_backend_free(be);
    hd_model_close(m);
}

/* writers: a bigWig with gaps read back value by value; a table indexed; nothing left on abort */
typedef struct { int n; int contig[16]; int64_t beg[16]; float v[16]; } got_t;
static int collect(void *ud, int contig, int64_t beg, int64_t end, float v)
{
    got_t *g = ud;
    cr_assert_eq(end, beg + 1);
    if (g->n < 16) g->contig[g->n] = contig, g->beg[g->n] = beg, g->v[g->n] = v;
    g->n++;
    return 0;
}

Test(track, bigwig_roundtrip)
{
    char *d = tmp_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/t.logp.bw", d);
    const char *names[] = {"a", "b"};
    int64_t lens[] = {10, 5};
    hd_chroms ch = {2, names, lens};
    hd_trackfile *t = hd_tf_open(path, HD_TF_BIGWIG, &ch, NULL);
    cr_assert_not_null(t, "%s", hd_error());
    struct stat sb;
    cr_assert_neq(stat(path, &sb), 0, "nothing under the final name before commit");
    float in[] = {-1.5f, NAN, -0.25f, -3.0f};
    for (int i = 0; i < 4; i++) cr_assert_eq(hd_tf_put(t, 0, 2 + i, in[i]), 0);
    cr_assert_eq(hd_tf_put(t, 1, 4, -7.0f), 0);
    cr_assert_neq(hd_tf_put(t, 0, 9, 1.0f), 0, "out of order refused");
    cr_assert_eq(hd_tf_finish(t), 0, "%s", hd_error());
    cr_assert_eq(hd_tf_commit(t), 0);
    hd_bwread *r = hd_bw_open(path);
    cr_assert_not_null(r, "%s", hd_error());
    const hd_chroms *rc = hd_bw_chroms(r);
    cr_assert_eq(rc->n, 2);
    cr_assert_str_eq(rc->name[1], "b");
    cr_assert_eq(rc->len[0], 10);
    got_t g = {0};
    cr_assert_eq(hd_bw_walk(r, collect, &g), 0);
    hd_bw_close(r);
    cr_assert_eq(g.n, 4);
    int64_t beg[] = {2, 4, 5, 4};
    float v[] = {-1.5f, -0.25f, -3.0f, -7.0f};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(g.beg[i], beg[i]);
        cr_assert_eq(g.v[i], v[i]);
        cr_assert_eq(g.contig[i], i < 3 ? 0 : 1);
    }
    /* aborted: no file, no temporary */
    snprintf(path, sizeof path, "%s/u.logp.bw", d);
    t = hd_tf_open(path, HD_TF_BIGWIG, &ch, NULL);
    hd_tf_put(t, 0, 1, 1.0f);
    hd_tf_abort(t);
    cr_assert_neq(stat(path, &sb), 0);
    snprintf(path, sizeof path, "%s/s.snv.tsv.gz", d);
    hd_tabfile *tab = hd_tab_open(path, HD_TAB_SNV);
    const char *rows = "#chrom\tpos\tref\talt\tllr\na\t3\tA\tC\t-1\na\t3\tA\tG\t-2\nb\t1\tT\tA\t0.5\n";
    cr_assert_eq(hd_tab_write(tab, rows, strlen(rows)), 0);
    cr_assert_eq(hd_tab_finish(tab), 0, "%s", hd_error());
    cr_assert_eq(hd_tab_commit(tab), 0);
    char tbi[600];
    snprintf(tbi, sizeof tbi, "%s.tbi", path);
    cr_assert_eq(stat(tbi, &sb), 0, "the index is there");
    BGZF *f = bgzf_open(path, "r");
    char buf[256];
    ssize_t n = bgzf_read(f, buf, sizeof buf);
    bgzf_close(f);
    cr_assert_eq(n, (ssize_t)strlen(rows));
    cr_assert(!memcmp(buf, rows, (size_t)n));
    rm_rf(d);
    free(d);
}

/* the values go in fixedStep sections, one per run of consecutive bases, through several buffers, with
 * scattered gaps too: every value reads back at its base, and every data block's range (the R-tree's leaves)
 * lies in its contig, in order (libBigWig 0.4.7 leaves a fixedStep block's end 6 bases too far) */
typedef struct { int64_t n, bad; const float *want[2]; } walk_t;
static int check_value(void *ud, int contig, int64_t beg, int64_t end, float v)
{
    walk_t *w = ud;
    w->n++;
    if (end != beg + 1 || v != w->want[contig][beg]) w->bad++;
    return 0;
}

Test(track, bigwig_fixed_step_sections)
{
    char *d = tmp_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/s.bw", d);
    const char *names[] = {"a", "b"};
    int64_t lens[] = {30000, 5000};
    hd_chroms ch = {2, names, lens};
    float *va = malloc(30000 * sizeof *va), *vb = malloc(5000 * sizeof *vb);
    int64_t nval = 0;
    for (int p = 0; p < 30000; p++) {
        int gap = p == 0 || (p >= 16380 && p < 16420 && p % 3 == 0) || (p >= 25000 && p < 25010);
        va[p] = gap ? NAN : (float)sin(p * 0.01);
        nval += !gap;
    }
    for (int p = 0; p < 5000; p++) {
        vb[p] = p == 2500 ? NAN : (float)p;
        nval += p != 2500;
    }
    hd_trackfile *t = hd_tf_open(path, HD_TF_BIGWIG, &ch, NULL);
    cr_assert_not_null(t, "%s", hd_error());
    for (int p = 0; p < 30000; p++) cr_assert_eq(hd_tf_put(t, 0, p, va[p]), 0);
    for (int p = 0; p < 5000; p++) cr_assert_eq(hd_tf_put(t, 1, p, vb[p]), 0);
    cr_assert_eq(hd_tf_finish(t), 0, "%s", hd_error());
    cr_assert_eq(hd_tf_commit(t), 0);
    hd_bwread *r = hd_bw_open(path);
    cr_assert_not_null(r, "%s", hd_error());
    walk_t w = {0, 0, {va, vb}};
    cr_assert_eq(hd_bw_walk(r, check_value, &w), 0);
    hd_bw_close(r);
    cr_assert_eq(w.bad, 0, "%" PRId64 " values differ", w.bad);
    cr_assert_eq(w.n, nval);
    bigWigFile_t *bw = bwOpen(path, NULL, "r");
    cr_assert_not_null(bw);
    bwOverlappingIntervals_t *o = bwGetValues(bw, "b", 0, 10, 0);   /* loads the index */
    cr_assert(o && o->l == 10);
    bwDestroyOverlappingIntervals(o);
    bwRTreeNode_t *root = bw->idx->root;
    cr_assert(root && root->isLeaf, "few enough blocks for one leaf node (%u children)", root ? root->nChildren : 0);
    int types = 0;
    for (uint16_t i = 0; i < root->nChildren; i++) {
        uint32_t c = root->chrIdxStart[i];
        cr_assert_eq(root->chrIdxEnd[i], c);
        cr_assert(root->baseStart[i] < root->baseEnd[i] && root->baseEnd[i] <= (uint32_t)lens[c],
                  "block %u: %u:%u-%u in a contig of %" PRId64, i, c, root->baseStart[i], root->baseEnd[i], lens[c]);
        if (i && root->chrIdxStart[i - 1] == c)
            cr_assert_geq(root->baseStart[i], root->baseEnd[i - 1], "blocks %u and %u overlap", i - 1, i);
        /* the block's item type: byte 20 of its (compressed) header */
        uint8_t raw[64];
        unsigned long sz = sizeof raw;
        FILE *f = fopen(path, "rb");
        unsigned char comp[65536];
        cr_assert(root->x.size[i] <= sizeof comp);
        cr_assert(fseek(f, (long)root->dataOffset[i], SEEK_SET) == 0 && fread(comp, 1, root->x.size[i], f) == root->x.size[i]);
        fclose(f);
        int zr = uncompress(raw, &sz, comp, root->x.size[i]);
        cr_assert(zr == Z_OK || zr == Z_BUF_ERROR);
        types |= 1 << raw[20];
    }
    cr_assert_eq(types, 1 << 3, "fixedStep blocks only (types %#x)", types);
    bwClose(bw);
    free(va);
    free(vb);
    rm_rf(d);
    free(d);
}

/* zoom levels (written by src/track.c, not libBigWig) over enough records for a two-level R-tree, read by
 * libBigWig: the statistics it takes from them equal those of the full data */
Test(track, bigwig_zoom_levels)
{
    char *d = tmp_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/z.bw", d);
    const char *names[] = {"a", "b", "c"};
    int64_t lens[] = {2621440, 800000, 3000};   /* > 256 blocks of 512 level-0 records: a two-level R-tree */
    hd_chroms ch = {3, names, lens};
    hd_trackfile *t = hd_tf_open(path, HD_TF_BIGWIG, &ch, NULL);
    cr_assert_not_null(t, "%s", hd_error());
    for (int c = 0; c < 3; c++)
        for (int64_t p = 0; p < lens[c]; p++) {
            float v = (p / 1000) % 7 == 3 ? NAN : (float)(sin((double)p * 0.001 + c) * 2 - 1);   /* gaps of 1 kb */
            cr_assert_eq(hd_tf_put(t, c, p, v), 0);
        }
    cr_assert_eq(hd_tf_finish(t), 0, "%s", hd_error());
    cr_assert_eq(hd_tf_commit(t), 0);
    bigWigFile_t *bw = bwOpen(path, NULL, "r");
    cr_assert_not_null(bw);
    cr_assert_geq(bw->hdr->nLevels, 5, "zoom levels: %d", bw->hdr->nLevels);
    cr_assert_eq(bw->hdr->zoomHdrs->level[0], 16);
    /* bins on multiples of 16·4^k, so that zoom records lie wholly inside or outside them (records are
     * aligned to their reduction) and only float rounding separates the two */
    struct { const char *c; uint32_t s, e, nb; } q[] = {{"a", 0, 2621440, 10}, {"a", 262144, 1048576, 12},
                                                       {"b", 0, 786432, 3}, {"b", 4096, 4096 + 64 * 1024, 64}};
    enum bwStatsType types[] = {mean, min, max, cov};
    for (size_t i = 0; i < sizeof q / sizeof *q; i++)
        for (int k = 0; k < 4; k++) {
            double *z = bwStats(bw, q[i].c, q[i].s, q[i].e, q[i].nb, types[k]);
            double *f = bwStatsFromFull(bw, q[i].c, q[i].s, q[i].e, q[i].nb, types[k]);
            cr_assert(z && f);
            for (uint32_t j = 0; j < q[i].nb; j++)
                cr_assert(fabs(z[j] - f[j]) <= 1e-4 * (1 + fabs(f[j])), "%s:%u-%u bin %u stat %d: zoom %g, full %g",
                          q[i].c, q[i].s, q[i].e, j, k, z[j], f[j]);
            free(z);
            free(f);
        }
    bwClose(bw);
    rm_rf(d);
    free(d);
}
