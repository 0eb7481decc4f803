/* test_plot.c -- src/svg.c and src/plot.c: the colour scale (diverging, centred, monotone lightness on
 * each side), nice axis steps and number formats, XML escaping, the heatmap's cells (3 valued + 1
 * reference per position, titles, N columns, no-value cells, strips) and the track panels (titled points,
 * gaps, the stacked A/C/G/T panel), limits and bad arguments. */
#include "testutil.h"
#include "plot.h"
#include "svg.h"

#include <math.h>
#include <sys/resource.h>

static double lightness(const char *hex)
{
    unsigned r, g, b;
    cr_assert_eq(sscanf(hex, "#%2x%2x%2x", &r, &g, &b), 3, "colour '%s'", hex);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

static size_t count(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

Test(svg, diverging_scale)
{
    char c[8], prev[8];
    hd_svg_diverging(0, c);
    cr_assert_str_eq(c, "#f7f7f7");
    hd_svg_diverging(-1, c);
    cr_assert_str_eq(c, "#67001f");
    hd_svg_diverging(1, c);
    cr_assert_str_eq(c, "#053061");
    hd_svg_diverging(-7, c);
    cr_assert_str_eq(c, "#67001f", "below -1 is clamped");
    hd_svg_diverging(NAN, c);
    cr_assert_str_eq(c, "#f7f7f7");
    for (int side = -1; side <= 1; side += 2) {
        hd_svg_diverging(0, prev);
        for (int k = 1; k <= 1000; k++) {
            hd_svg_diverging(side * k / 1000.0, c);
            /* monotone up to the rounding of each channel to 8 bits */
            cr_assert_leq(lightness(c), lightness(prev) + 0.5, "lightness rises from %s to %s at t=%g", prev, c,
                          side * k / 1000.0);
            if (k % 50 == 0) {   /* and strictly at a coarser step */
                char c0[8];
                hd_svg_diverging(side * (k - 50) / 1000.0, c0);
                cr_assert_lt(lightness(c), lightness(c0), "t=%g %s vs %s", side * k / 1000.0, c, c0);
            }
            unsigned r, g, b;
            sscanf(c, "#%2x%2x%2x", &r, &g, &b);
            if (k > 100) cr_assert(side < 0 ? r > b : b > r, "t=%g is %s", side * k / 1000.0, c);
            memcpy(prev, c, 8);
        }
    }
}

Test(svg, nice_numbers)
{
    cr_assert_float_eq(hd_svg_nice_step(8.4, 0), 10, 1e-12);
    cr_assert_float_eq(hd_svg_nice_step(10, 0), 10, 1e-12);
    cr_assert_float_eq(hd_svg_nice_step(10.5, 0), 20, 1e-12);
    cr_assert_float_eq(hd_svg_nice_step(21, 0), 50, 1e-12);
    cr_assert_float_eq(hd_svg_nice_step(0.3, 0), 1, 1e-12, "whole-number steps for positions");
    cr_assert_float_eq(hd_svg_nice_step(0.3, -9), 0.5, 1e-12);
    cr_assert_float_eq(hd_svg_nice_ceil(2.37), 2.5, 1e-12);
    cr_assert_float_eq(hd_svg_nice_ceil(0.0071), 0.008, 1e-12);
    cr_assert_float_eq(hd_svg_nice_ceil(4), 4, 1e-12);
    cr_assert_float_eq(hd_svg_nice_ceil(9.1), 10, 1e-12);
    cr_assert(isfinite(hd_svg_nice_ceil(1.7e308)) && hd_svg_nice_ceil(1.7e308) >= 1.7e308, "no overflow to inf");
    cr_assert(isfinite(hd_svg_nice_step(1.7e308, 0)) && hd_svg_nice_step(1.7e308, 0) >= 1.7e308, "no overflow to inf");
    char b[32];
    hd_svg_fmt_int(20000950, b, sizeof b);
    cr_assert_str_eq(b, "20,000,950");
    hd_svg_fmt_int(999, b, sizeof b);
    cr_assert_str_eq(b, "999");
    hd_svg_fmt_int(-1234, b, sizeof b);
    cr_assert_str_eq(b, "-1,234");
    hd_svg_fmt_num(2.5, b, sizeof b);
    cr_assert_str_eq(b, "2.5");
    hd_svg_fmt_num(-1e-17, b, sizeof b);
    cr_assert_str_eq(b, "0");
    hd_svg_fmt_num(0.30000000000000004, b, sizeof b);
    cr_assert_str_eq(b, "0.3");
}

Test(svg, escaping)
{
    hd_svg g = {{0, 0, NULL}, 0};
    hd_svg_text(&g, 1, 2, NULL, "a<b & \"c\">d%s", "\x01");
    size_t n;
    char *s = hd_svg_finish(&g, &n);
    cr_assert_not_null(s);
    cr_assert_str_eq(s, "<text x=\"1\" y=\"2\">a&lt;b &amp; &quot;c&quot;&gt;d?</text>\n");
    free(s);
    /* UTF-8 passes, broken UTF-8 does not */
    hd_svg_esc(&g, "\xe2\x88\x92 \xc3\x97|\xff|\xc3|\xed\xa0\x80|\xf0\x9f\x98\x80");
    s = hd_svg_finish(&g, &n);
    cr_assert_str_eq(s, "\xe2\x88\x92 \xc3\x97|?|?|???|\xf0\x9f\x98\x80");
    free(s);
}

/* 12 positions: ACGTN..., with one missing LLR */
Test(plot, heatmap_cells)
{
    const char *ref = "ACGTNACGTacg";
    size_t n = strlen(ref);
    double llr[4 * 12];
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 4; b++) llr[4 * i + b] = (double)i - 5.5 + 0.25 * b;
    llr[4 * 2 + 0] = NAN;   /* position 3 (G), G>A: no value */
    hd_plot_region r = {"chrX", 999, n, ref, NULL, "a subtitle"};
    hd_plot_heatmap_opts o = {5, 0};
    size_t len = 0;
    char *s = hd_plot_heatmap_svg(&r, llr, &o, &len);
    cr_assert_not_null(s, "%s", hd_error());
    cr_assert_eq(strlen(s), len);
    cr_assert_eq(count(s, "class=\"snv\""), 3 * 11 - 1);
    cr_assert_eq(count(s, "class=\"ref\""), 11);
    cr_assert_eq(count(s, "class=\"na\""), 1);
    cr_assert_eq(count(s, "class=\"gap\""), 1);
    cr_assert_eq(count(s, "class=\"strip\""), 3, "12 positions in strips of 5");
    cr_assert(strstr(s, "<title>1000 A&gt;C -5.25</title>"));
    cr_assert(strstr(s, "<title>1001 C (reference base)</title>"));
    cr_assert(strstr(s, "<title>1002 G&gt;A no value</title>"));
    cr_assert(strstr(s, "<title>1004 N: no scores</title>"));
    cr_assert(strstr(s, "<title>1011 G&gt;T 6.25</title>"), "lower-case reference bases, written upper-case");
    cr_assert(strstr(s, "Saturation mutagenesis of chrX:1,000-1,011"), "default title");
    cr_assert(strstr(s, "a subtitle"));
    /* the largest |LLR| (6.25) rounds up to 8 */
    char c[8];
    hd_svg_diverging(6.25 / 8, c);
    cr_assert(strstr(s, c));
    free(s);
}

Test(plot, heatmap_limits)
{
    char *ref = malloc(HD_PLOT_MAX_POSITIONS + 2);
    double *llr = calloc(4 * (HD_PLOT_MAX_POSITIONS + 1), sizeof *llr);
    memset(ref, 'A', HD_PLOT_MAX_POSITIONS + 1);
    ref[HD_PLOT_MAX_POSITIONS + 1] = 0;
    hd_plot_region r = {"1", 0, HD_PLOT_MAX_POSITIONS + 1, ref, NULL, NULL};
    size_t len;
    cr_assert_null(hd_plot_heatmap_svg(&r, llr, NULL, &len));
    cr_assert(strstr(hd_error(), "at most"), "%s", hd_error());
    r.n = HD_PLOT_MAX_POSITIONS;
    char *s = hd_plot_heatmap_svg(&r, llr, NULL, &len);
    cr_assert_not_null(s, "%s", hd_error());
    cr_assert_eq(count(s, "class=\"strip\""), HD_PLOT_MAX_POSITIONS / HD_PLOT_STRIP);
    free(s);
    r.n = 0;
    cr_assert_null(hd_plot_heatmap_svg(&r, llr, NULL, &len));
    free(ref);
    free(llr);
}

/* LLRs near the largest double, and infinite ones: the colour bar's ticks were added one step at a time from
 * -vmax, a step that no longer moved t (or an infinite vmax): the legend loop never ended, filling memory.
 * The memory is capped here so that a regression times out instead. */
Test(plot, heatmap_huge_and_infinite_llr, .timeout = 30)
{
#ifndef __SANITIZE_ADDRESS__
    struct rlimit rl = {512u << 20, 512u << 20};
    setrlimit(RLIMIT_DATA, &rl);
#endif
    const char *ref = "ACGT";
    double llr[16];
    for (int i = 0; i < 16; i++) llr[i] = 0.5;
    hd_plot_region r = {"1", 0, 4, ref, NULL, NULL};
    size_t len;
    const double huge[] = {1.7e308, 1e308, 8.9e307, 1e300};
    for (size_t k = 0; k < sizeof huge / sizeof *huge; k++) {
        llr[1] = huge[k];
        char *s = hd_plot_heatmap_svg(&r, llr, NULL, &len);
        cr_assert_not_null(s, "LLR %g: %s", huge[k], hd_error());
        size_t ticks = count(s, "v3\"");
        cr_assert(ticks >= 2 && ticks <= 11, "LLR %g: %zu colour-bar ticks", huge[k], ticks);
        cr_assert_null(strstr(s, "inf"), "LLR %g: an infinite coordinate", huge[k]);
        cr_assert_null(strstr(s, "nan"), "LLR %g: a NaN coordinate", huge[k]);
        free(s);
    }
    /* an infinite LLR takes an end colour; the scale is the finite ones' (6.25 rounds up to 8), not -1..1 */
    llr[1] = INFINITY, llr[2] = -6.25, llr[7] = -INFINITY;
    char *s = hd_plot_heatmap_svg(&r, llr, NULL, &len);
    cr_assert_not_null(s, "%s", hd_error());
    char c[8], title[64];
    hd_svg_diverging(-6.25 / 8, c);
    snprintf(title, sizeof title, "fill=\"%s\"><title>1 A&gt;G -6.25<", c);
    cr_assert(strstr(s, title), "the colour of -6.25 on a scale of 8 (%s)", c);
    hd_svg_diverging(1, c);
    snprintf(title, sizeof title, "fill=\"%s\"><title>1 A&gt;C inf<", c);
    cr_assert(strstr(s, title), "+inf takes the end colour %s", c);
    hd_svg_diverging(-1, c);
    snprintf(title, sizeof title, "fill=\"%s\"><title>2 C&gt;T -inf<", c);
    cr_assert(strstr(s, title), "-inf takes the end colour %s", c);
    free(s);
}

Test(plot, tracks_points_and_gaps)
{
    enum { N = 30 };
    float lp[N], en[N], pa[N], pc[N], pg[N], pt[N], other[N];
    for (int i = 0; i < N; i++) {
        lp[i] = -0.1f * (float)i, en[i] = 1.5f, other[i] = (float)i;
        pa[i] = 0.1f, pc[i] = 0.2f, pg[i] = 0.3f, pt[i] = 0.4f;
    }
    lp[0] = en[0] = pa[0] = pc[0] = pg[0] = pt[0] = other[0] = NAN;   /* the first base: no value */
    lp[10] = lp[11] = NAN;
    hd_plot_track t[] = {{"logp", lp}, {"entropy", en}, {"A", pa}, {"C", pc}, {"G", pg}, {"T", pt}, {"phyloP", other}};
    hd_plot_region r = {"chr2", 99, N, "ACGTACGTACGTACGTACGTACGTACGTAC", NULL, NULL};
    size_t len;
    char *s = hd_plot_tracks_svg(&r, t, 7, &len);
    cr_assert_not_null(s, "%s", hd_error());
    cr_assert_eq(count(s, "class=\"points\""), 7);
    cr_assert_eq(count(s, "class=\"panel\""), 4, "logp, entropy, the A/C/G/T panel, phyloP");
    cr_assert(strstr(s, "<title>101 -0.1</title>"));
    cr_assert(!strstr(s, "<title>100 "), "a gap has no point");
    cr_assert(strstr(s, "<title>129 0.4</title>"));
    cr_assert(strstr(s, "<title>129 29</title>"));
    /* points: 27 logp + 29 entropy + 4 × 29 bars + 29 phyloP */
    cr_assert_eq(count(s, "<title>1"), 27 + 29 + 4 * 29 + 29);
    cr_assert(strstr(s, "class=\"sequence\""), "16 px per base: the bases are written");
    cr_assert(strstr(s, "Model tracks over chr2:100-129"));
    free(s);
    t[1].name = "LOGP";
    cr_assert_null(hd_plot_tracks_svg(&r, t, 2, &len));
    cr_assert(strstr(hd_error(), "twice"), "%s", hd_error());
    cr_assert_null(hd_plot_tracks_svg(&r, t, 0, &len));
}

Test(plot, png_names)
{
    cr_assert(hd_plot_is_png("x.png"));
    cr_assert(hd_plot_is_png("dir/X.PNG"));
    cr_assert(!hd_plot_is_png("x.svg"));
    cr_assert(!hd_plot_is_png("png"));
}
