/* plot.c -- the figures of plot.h: the saturation-mutagenesis heatmap and the stacked track panels, as
 * SVG built with svg.h; PNG through rsvg-convert. */
#define _GNU_SOURCE
#include "plot.h"
#include "output.h"
#include "svg.h"
#include "tokenizer.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char BASES[4] = {'A', 'C', 'G', 'T'};
/* sequence-logo colours (A green, C blue, G orange, T red) */
static const char *const BASE_COLOUR[4] = {"#1b9e3e", "#1f64b4", "#f08c00", "#d62728"};

/* 0 A, 1 C, 2 G, 3 T (any case); -1 for anything else */
static int base_index(char c)
{
    int id = hd_base_id((unsigned char)c);
    return id >= HD_TOK_A && id <= HD_TOK_T ? id - HD_TOK_A : -1;
}

static int check_region(const hd_plot_region *r)
{
    if (!r->chrom || !*r->chrom) { hd_set_error(HD_EINPUT, "plot: no contig name"); return -1; }
    if (r->n == 0) { hd_set_error(HD_EINPUT, "plot: the region %s holds no position", r->chrom); return -1; }
    if (r->beg < 0 || r->n > HD_PLOT_MAX_POSITIONS) {
        char b[32], e[32];
        hd_svg_fmt_int(r->beg + 1, b, sizeof b);
        hd_svg_fmt_int(r->beg + (int64_t)r->n, e, sizeof e);
        hd_set_error(HD_EINPUT, "plot: the region %s:%s-%s has %zu positions; a figure shows at most %d (plot a "
                     "narrower region, or several)", r->chrom, b, e, r->n, HD_PLOT_MAX_POSITIONS);
        return -1;
    }
    return 0;
}

/* The title: r->title, or "WHAT CHR:BEG-END (N bp)" with thousands separators (malloc'd; NULL + hd_error). */
static char *figure_title(const hd_plot_region *r, const char *what)
{
    char b[32], e[32];
    hd_svg_fmt_int(r->beg + 1, b, sizeof b);
    hd_svg_fmt_int(r->beg + (int64_t)r->n, e, sizeof e);
    char *t = r->title ? hd_strdup(r->title) : hd_sprintf("%s %s:%s-%s (%zu bp)", what, r->chrom, b, e, r->n);
    if (!t) hd_set_error(HD_ERESOURCE, "out of memory");
    return t;
}

/* The title and subtitle lines at the top; returns the y where the figure starts. */
static double draw_heading(hd_svg *g, const char *title, const char *subtitle)
{
    hd_svg_text(g, 12, 22, "font-size=\"15\" font-weight=\"bold\"", "%s", title);
    if (subtitle && *subtitle) {
        hd_svg_text(g, 12, 40, "font-size=\"11\" fill=\"#555\"", "%s", subtitle);
        return 60;
    }
    return 44;
}

static double heading_width(const char *title, const char *subtitle)
{
    double w = 24 + hd_svg_text_width(title, 15) * 1.05;   /* bold runs a little wider */
    if (subtitle) w = fmax(w, 24 + hd_svg_text_width(subtitle, 11));
    return w;
}

/* x ticks of positions [p0, p1] (1-based) drawn with `pxb` px per base from x0 (the left edge of p0);
 * tick marks down from y, labels below. */
static void draw_xaxis(hd_svg *g, int64_t p0, int64_t p1, double x0, double pxb, double y)
{
    double step = hd_svg_nice_step(84.0 / pxb, 0);
    int64_t s = (int64_t)step;
    hd_svg_printf(g, "<g stroke=\"#555\" stroke-width=\"1\"><path d=\"M%.6g %.6gH%.6g\"/></g>\n", x0, y + 0.5,
                  x0 + (double)(p1 - p0 + 1) * pxb);
    int64_t first = (p0 + s - 1) / s * s, last = p1;
    if (first > p1) first = last = p0;   /* a strip narrower than one step: label its first position */
    hd_svg_puts(g, "<g font-size=\"10\" text-anchor=\"middle\" fill=\"#333\">\n");
    for (int64_t p = first; p <= last; p += s) {
        double x = x0 + ((double)(p - p0) + 0.5) * pxb;
        char lab[32];
        hd_svg_fmt_int(p, lab, sizeof lab);
        hd_svg_printf(g, "<path d=\"M%.6g %.6gv4\" stroke=\"#555\"/>", x, y + 0.5);
        hd_svg_text(g, x, y + 15, NULL, "%s", lab);
    }
    hd_svg_puts(g, "</g>\n");
}

/* ================================================================ the heatmap */

char *hd_plot_heatmap_svg(const hd_plot_region *r, const double *llr, const hd_plot_heatmap_opts *o, size_t *len)
{
    if (check_region(r)) return NULL;
    if (!r->ref || !llr) { hd_set_error(HD_EINPUT, "plot: the heatmap needs the reference bases and the LLRs"); return NULL; }
    size_t n = r->n, per = o && o->strip ? o->strip : HD_PLOT_STRIP;
    if (per > n) per = n;
    size_t nstrip = (n + per - 1) / per;
    int cw = (int)(1000 / per);
    if (cw < 4) cw = 4;
    if (cw > 24) cw = 24;
    int ch = cw < 14 ? 14 : cw > 20 ? 20 : cw;

    /* the colour range and what the legend needs */
    double vmax = o && o->vmax > 0 ? o->vmax : 0, amax = 0;
    int any_na = 0, any_gap = 0;
    for (size_t i = 0; i < n; i++) {
        int rb = base_index(r->ref[i]);
        if (rb < 0) { any_gap = 1; continue; }
        for (int b = 0; b < 4; b++) {
            if (b == rb) continue;
            double v = llr[4 * i + b];
            if (isnan(v)) any_na = 1;
            else if (isfinite(v) && fabs(v) > amax) amax = fabs(v);   /* ±inf takes an end colour */
        }
    }
    if (!(vmax > 0)) vmax = amax > 0 && isfinite(amax) ? hd_svg_nice_ceil(amax) : 1;

    char *title = figure_title(r, "Saturation mutagenesis of");
    if (!title) return NULL;

    const double left = 34, right = 40, bar_w = 240;
    double plotw = (double)per * cw;
    double W = left + fmax(plotw, 640) + right;
    W = fmax(W, heading_width(title, r->subtitle));
    double strip_h = 4.0 * ch + 36;
    double top_guess = r->subtitle && *r->subtitle ? 60 : 44;
    double H = top_guess + (double)nstrip * strip_h + 66;

    /* the reference cells: hatched, outlined when the cells are wide enough for an outline not to crowd them */
    const char *ref_stroke = cw >= 8 ? " stroke=\"#333\" stroke-width=\"1\"" : "";
    double ref_inset = cw >= 8 ? 0.5 : 0;
    hd_svg G = {{0, 0, NULL}, 0}, *g = &G;
    hd_svg_begin(g, W, H, title);
    hd_svg_puts(g, "<desc>hyenadna saturation-mutagenesis heatmap: the cell of base B at position P is coloured by "
                   "LLR = ln p(B) - ln p(REF); each cell's title reads 'P REF&gt;B LLR'</desc>\n");
    hd_svg_puts(g, "<defs>\n<pattern id=\"hd-hatch\" width=\"4\" height=\"4\" patternUnits=\"userSpaceOnUse\" "
                   "patternTransform=\"rotate(45)\"><rect width=\"4\" height=\"4\" fill=\"#fff\"/>"
                   "<rect width=\"1.5\" height=\"4\" fill=\"#8a8a8a\"/></pattern>\n"
                   "<linearGradient id=\"hd-rdbu\" x1=\"0\" x2=\"1\" y1=\"0\" y2=\"0\">");
    for (int k = 0; k < HD_SVG_NSTOPS; k++)
        hd_svg_printf(g, "<stop offset=\"%g\" stop-color=\"%s\"/>", (double)k / (HD_SVG_NSTOPS - 1), hd_svg_rdbu[k]);
    hd_svg_puts(g, "</linearGradient>\n</defs>\n");
    double top = draw_heading(g, title, r->subtitle);

    for (size_t s = 0; s < nstrip; s++) {
        size_t i0 = s * per, i1 = i0 + per < n ? i0 + per : n;
        double y0 = top + (double)s * strip_h;
        hd_svg_printf(g, "<g class=\"strip\" data-first=\"%" PRId64 "\" data-last=\"%" PRId64 "\">\n",
                      r->beg + (int64_t)i0 + 1, r->beg + (int64_t)i1);
        hd_svg_puts(g, "<g font-size=\"11\" font-weight=\"bold\" text-anchor=\"end\">");
        for (int b = 0; b < 4; b++) hd_svg_text(g, left - 7, y0 + b * ch + ch / 2.0 + 4, NULL, "%c", BASES[b]);
        hd_svg_puts(g, "</g>\n<g shape-rendering=\"crispEdges\">\n");
        for (size_t i = i0; i < i1; i++) {
            double x = left + (double)(i - i0) * cw;
            int64_t pos = r->beg + (int64_t)i + 1;
            int rb = base_index(r->ref[i]);
            if (rb < 0) {
                hd_svg_printf(g, "<rect class=\"gap\" x=\"%g\" y=\"%g\" width=\"%d\" height=\"%d\" fill=\"#f0f0f0\">", x,
                              y0, cw, 4 * ch);
                hd_svg_title(g, "%" PRId64 " %c: no scores", pos, r->ref[i] > ' ' && r->ref[i] < 127 ? r->ref[i] : 'N');
                hd_svg_puts(g, "</rect>\n");
                continue;
            }
            for (int b = 0; b < 4; b++) {
                if (b == rb) continue;
                double v = llr[4 * i + b], y = y0 + b * ch;
                if (isnan(v)) {
                    hd_svg_printf(g, "<rect class=\"na\" x=\"%g\" y=\"%g\" width=\"%d\" height=\"%d\" fill=\"#bdbdbd\">", x, y,
                                  cw, ch);
                    hd_svg_title(g, "%" PRId64 " %c>%c no value", pos, BASES[rb], BASES[b]);
                } else {
                    char col[8];
                    hd_svg_diverging(v / vmax, col);
                    hd_svg_printf(g, "<rect class=\"snv\" x=\"%g\" y=\"%g\" width=\"%d\" height=\"%d\" fill=\"%s\">", x, y,
                                  cw, ch, col);
                    hd_svg_title(g, "%" PRId64 " %c>%c %.6g", pos, BASES[rb], BASES[b], v);
                }
                hd_svg_puts(g, "</rect>\n");
            }
        }
        hd_svg_puts(g, "</g>\n<g class=\"refs\">\n");   /* the reference cells, on top of their neighbours */
        for (size_t i = i0; i < i1; i++) {
            int rb = base_index(r->ref[i]);
            if (rb < 0) continue;
            double x = left + (double)(i - i0) * cw, y = y0 + rb * ch;
            hd_svg_printf(g, "<rect class=\"ref\" x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"url(#hd-hatch)\"%s>",
                          x + ref_inset, y + ref_inset, cw - 2 * ref_inset, ch - 2 * ref_inset, ref_stroke);
            hd_svg_title(g, "%" PRId64 " %c (reference base)", r->beg + (int64_t)i + 1, BASES[rb]);
            hd_svg_puts(g, "</rect>\n");
        }
        hd_svg_puts(g, "</g>\n");
        draw_xaxis(g, r->beg + (int64_t)i0 + 1, r->beg + (int64_t)i1, left, cw, y0 + 4.0 * ch);
        hd_svg_puts(g, "</g>\n");
    }

    /* the colour bar and the legend */
    double yb = top + (double)nstrip * strip_h;
    hd_svg_puts(g, "<g class=\"legend\">\n");
    hd_svg_text(g, left, yb + 8, NULL, "LLR = ln p(alt) \xe2\x88\x92 ln p(ref)");
    hd_svg_printf(g, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"12\" fill=\"url(#hd-rdbu)\" stroke=\"#888\" "
                     "stroke-width=\"0.5\"/>\n", left, yb + 14, bar_w);
    /* ticks at whole multiples of the step, counted (a step added to a huge vmax would not move it, and
     * 2 vmax may overflow) */
    double tstep = hd_svg_nice_step(vmax * (2 * 48 / bar_w), -9);
    double kmax = fmin(floor(vmax / tstep + 1e-9), 50);
    hd_svg_puts(g, "<g font-size=\"10\" text-anchor=\"middle\" fill=\"#333\">\n");
    for (double k = -kmax; k <= kmax; k++) {
        double t = k * tstep, x = left + (t / vmax + 1) / 2 * bar_w;
        char lab[32];
        hd_svg_fmt_num(fabs(t) < tstep * 1e-6 ? 0 : t, lab, sizeof lab);
        if (lab[0] == '-') {   /* a real minus sign */
            memmove(lab + 3, lab + 1, strlen(lab));
            memcpy(lab, "\xe2\x88\x92", 3);
        }
        hd_svg_printf(g, "<path d=\"M%.6g %.6gv3\" stroke=\"#555\"/>", x, yb + 26);
        hd_svg_text(g, x, yb + 39, NULL, "%s", lab);
    }
    hd_svg_puts(g, "</g>\n");
    hd_svg_text(g, left, yb + 53, "font-size=\"9\" fill=\"#666\"", "\xe2\x86\x90 ALT less likely than REF");
    hd_svg_text(g, left + bar_w, yb + 53, "font-size=\"9\" fill=\"#666\" text-anchor=\"end\"",
                "ALT more likely \xe2\x86\x92");
    double lx = left + bar_w + 36, lw = cw > 12 ? cw : 12;
    hd_svg_printf(g, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"url(#hd-hatch)\"%s/>\n", lx + ref_inset,
                  yb + 14 + ref_inset, lw - 2 * ref_inset, ch - 2 * ref_inset, ref_stroke);
    hd_svg_text(g, lx + lw + 6, yb + 14 + ch / 2.0 + 4, NULL, "reference base");
    lx += lw + 6 + hd_svg_text_width("reference base", 11) + 24;
    if (any_na) {
        hd_svg_printf(g, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%d\" fill=\"#bdbdbd\"/>\n", lx, yb + 14, lw, ch);
        hd_svg_text(g, lx + lw + 6, yb + 14 + ch / 2.0 + 4, NULL, "no value");
        lx += lw + 6 + hd_svg_text_width("no value", 11) + 24;
    }
    if (any_gap) {
        hd_svg_printf(g, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%d\" fill=\"#f0f0f0\" stroke=\"#ccc\" "
                         "stroke-width=\"0.5\"/>\n", lx, yb + 14, lw, ch);
        hd_svg_text(g, lx + lw + 6, yb + 14 + ch / 2.0 + 4, NULL, "not scored (N or no rows)");
    }
    hd_svg_puts(g, "</g>\n");
    hd_svg_end(g);
    free(title);
    return hd_svg_finish(g, len);
}

/* ================================================================ the track panels */

enum { P_LOGP, P_ENTROPY, P_IC, P_LOGO, P_OTHER };

typedef struct {
    int kind;
    int tr[4];          /* track index per base (logo), or tr[0]; -1 absent */
    double lo, hi;      /* y range */
    double h;           /* height */
} panel;

static int track_kind(const char *name, int *base)
{
    *base = -1;
    if (!strcasecmp(name, "logp")) return P_LOGP;
    if (!strcasecmp(name, "entropy")) return P_ENTROPY;
    if (!strcasecmp(name, "ic")) return P_IC;
    if (name[0] && !name[1] && (*base = base_index(name[0])) >= 0) return P_LOGO;
    return P_OTHER;
}

static const char *panel_colour(int kind)
{
    switch (kind) {
    case P_LOGP: return "#3b6ea8";
    case P_ENTROPY: return "#c4622d";
    case P_IC: return "#3a8a4f";
    default: return "#7256a8";
    }
}

/* The data range of one track (finite values); 0 when it has none. */
static int track_range(const float *v, size_t n, double *mn, double *mx)
{
    int any = 0;
    *mn = INFINITY, *mx = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i])) {
            any = 1;
            if (v[i] < *mn) *mn = v[i];
            if (v[i] > *mx) *mx = v[i];
        }
    return any;
}

static void set_range(panel *p, const hd_plot_region *r, const hd_plot_track *t)
{
    double mn = 0, mx = 0;
    if (p->kind == P_LOGO) {
        int any = 0;
        for (size_t i = 0; i < r->n; i++) {
            double s = 0;
            for (int b = 0; b < 4; b++)
                if (p->tr[b] >= 0 && isfinite(t[p->tr[b]].v[i]) && t[p->tr[b]].v[i] > 0) s += t[p->tr[b]].v[i], any = 1;
            if (s > mx) mx = s;
        }
        (void)any;
        p->lo = 0, p->hi = mx > 0 ? hd_svg_nice_ceil(mx) : 2;   /* 0 to the tallest stack (2 bits when all is flat) */
        return;
    }
    int any = track_range(t[p->tr[0]].v, r->n, &mn, &mx);
    if (!any) mn = mx = 0;
    switch (p->kind) {
    case P_LOGP:
        p->hi = mx > 0 ? hd_svg_nice_ceil(mx) : 0;
        p->lo = mn < 0 ? -hd_svg_nice_ceil(-mn) : -1;
        break;
    case P_ENTROPY:   /* 0 to 2 bits, the whole range of the entropy of 4 outcomes */
        p->lo = mn < 0 ? -hd_svg_nice_ceil(-mn) : 0;
        p->hi = fmax(2, mx > 0 ? hd_svg_nice_ceil(mx) : 0);
        break;
    case P_IC:        /* 0 to the largest value, like the stacks */
        p->lo = mn < 0 ? -hd_svg_nice_ceil(-mn) : 0;
        p->hi = mx > 0 ? hd_svg_nice_ceil(mx) : 2;
        break;
    default:
        p->lo = mn < 0 ? -hd_svg_nice_ceil(-mn) : 0;
        p->hi = mx > 0 ? hd_svg_nice_ceil(mx) : 0;
        if (p->lo == p->hi) p->hi = p->lo + 1;
    }
}

static double yof(const panel *p, double top, double v)
{
    if (v < p->lo) v = p->lo;
    if (v > p->hi) v = p->hi;
    return top + p->h * (p->hi - v) / (p->hi - p->lo);
}

/* A step line (and its area down/up to 0) through the runs of values of one track. */
static void draw_line_panel(hd_svg *g, const panel *p, const hd_plot_track *tk, size_t n, double x0, double pxb,
                            double top)
{
    const char *col = panel_colour(p->kind);
    double base = yof(p, top, 0);
    for (int pass = 0; pass < 2; pass++) {   /* 0 areas, 1 lines */
        if (pass == 0) hd_svg_printf(g, "<path fill=\"%s\" fill-opacity=\"0.22\" stroke=\"none\" d=\"", col);
        else hd_svg_printf(g, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"1.3\" stroke-linejoin=\"round\" d=\"", col);
        for (size_t i = 0; i < n;) {
            if (!isfinite(tk->v[i])) { i++; continue; }
            size_t j = i;
            while (j < n && isfinite(tk->v[j])) j++;   /* the run [i, j) */
            double xs = x0 + (double)i * pxb;
            if (pass == 0) hd_svg_printf(g, "M%.6g %.6gV%.6g", xs, base, yof(p, top, tk->v[i]));
            else hd_svg_printf(g, "M%.6g %.6g", xs, yof(p, top, tk->v[i]));
            for (size_t k = i; k < j; k++) {
                if (k > i) hd_svg_printf(g, "V%.6g", yof(p, top, tk->v[k]));
                hd_svg_printf(g, "H%.6g", x0 + (double)(k + 1) * pxb);
            }
            if (pass == 0) hd_svg_printf(g, "V%.6gZ", base);
            i = j;
        }
        hd_svg_puts(g, "\"/>\n");
    }
}

/* The hover targets of a line panel: one transparent column per value, titled "POS VALUE". */
static void draw_points(hd_svg *g, const panel *p, const hd_plot_track *tk, const hd_plot_region *r, double x0,
                        double pxb, double top)
{
    hd_svg_puts(g, "<g class=\"points\" data-track=\"");
    hd_svg_esc(g, tk->name);
    hd_svg_puts(g, "\" fill=\"#000\" fill-opacity=\"0\">\n");
    for (size_t i = 0; i < r->n; i++) {
        if (!isfinite(tk->v[i])) continue;
        hd_svg_printf(g, "<rect x=\"%.6g\" y=\"%.6g\" width=\"%.6g\" height=\"%.6g\">", x0 + (double)i * pxb, top, pxb, p->h);
        hd_svg_title(g, "%" PRId64 " %.6g", r->beg + (int64_t)i + 1, tk->v[i]);
        hd_svg_puts(g, "</rect>\n");
    }
    hd_svg_puts(g, "</g>\n");
}

/* The four probs tracks as stacked bars, the largest on top at each position. */
static int draw_logo_panel(hd_svg *g, const panel *p, const hd_plot_track *t, const hd_plot_region *r, double x0,
                           double pxb, double top)
{
    size_t n = r->n;
    double *yy = malloc(n * 8 * sizeof *yy);   /* per position and base: top y, height */
    if (!yy) { hd_set_error(HD_ERESOURCE, "out of memory"); return -1; }
    for (size_t i = 0; i < n; i++) {
        int ord[4], k = 0;
        for (int b = 0; b < 4; b++) {
            yy[8 * i + 2 * b] = yy[8 * i + 2 * b + 1] = NAN;
            if (p->tr[b] >= 0 && isfinite(t[p->tr[b]].v[i])) ord[k++] = b;
        }
        for (int a = 1; a < k; a++)   /* ascending by value: the smallest at the bottom */
            for (int c = a; c > 0 && t[p->tr[ord[c]]].v[i] < t[p->tr[ord[c - 1]]].v[i]; c--) {
                int tmp = ord[c];
                ord[c] = ord[c - 1], ord[c - 1] = tmp;
            }
        double cum = 0;
        for (int a = 0; a < k; a++) {
            double v = t[p->tr[ord[a]]].v[i];
            if (v < 0) v = 0;
            double yb = yof(p, top, cum), yt = yof(p, top, cum + v);
            yy[8 * i + 2 * ord[a]] = yt;
            yy[8 * i + 2 * ord[a] + 1] = yb - yt;
            cum += v;
        }
    }
    hd_svg_puts(g, "<g shape-rendering=\"crispEdges\">\n");
    for (int b = 0; b < 4; b++) {
        if (p->tr[b] < 0) continue;
        const hd_plot_track *tk = &t[p->tr[b]];
        hd_svg_puts(g, "<g class=\"points\" data-track=\"");
        hd_svg_esc(g, tk->name);
        hd_svg_printf(g, "\" fill=\"%s\">\n", BASE_COLOUR[b]);
        for (size_t i = 0; i < n; i++) {
            if (isnan(yy[8 * i + 2 * b])) continue;
            hd_svg_printf(g, "<rect x=\"%.6g\" y=\"%.6g\" width=\"%.6g\" height=\"%.6g\">", x0 + (double)i * pxb,
                          yy[8 * i + 2 * b], pxb, yy[8 * i + 2 * b + 1]);
            hd_svg_title(g, "%" PRId64 " %.6g", r->beg + (int64_t)i + 1, tk->v[i]);
            hd_svg_puts(g, "</rect>\n");
        }
        hd_svg_puts(g, "</g>\n");
    }
    hd_svg_puts(g, "</g>\n");
    free(yy);
    return 0;
}

static void panel_label(hd_svg *g, const panel *p, const hd_plot_track *t, double x, double y)
{
    const char *a = "font-size=\"11\" font-weight=\"bold\"";
    switch (p->kind) {
    case P_LOGP: hd_svg_text(g, x, y, a, "logp: log2 p(reference base), bits"); break;
    case P_ENTROPY: hd_svg_text(g, x, y, a, "entropy of p(A, C, G, T), bits"); break;
    case P_IC: hd_svg_text(g, x, y, a, "ic: information content, 2 \xe2\x88\x92 entropy, bits"); break;
    case P_LOGO: {
        const char *lab = "probs: p(base) \xc3\x97 information content, bits";
        hd_svg_text(g, x, y, a, "%s", lab);
        double lx = x + hd_svg_text_width(lab, 11) * 1.02 + 14;
        for (int b = 0; b < 4; b++) {
            if (p->tr[b] < 0) continue;
            char at[96];
            snprintf(at, sizeof at, "font-size=\"12\" font-weight=\"bold\" fill=\"%s\"", BASE_COLOUR[b]);
            hd_svg_text(g, lx, y, at, "%c", BASES[b]);
            lx += 14;
        }
        break;
    }
    default: hd_svg_text(g, x, y, a, "%s", t[p->tr[0]].name);
    }
}

char *hd_plot_tracks_svg(const hd_plot_region *r, const hd_plot_track *t, int nt, size_t *len)
{
    if (check_region(r)) return NULL;
    if (nt < 1 || nt > 16) { hd_set_error(HD_EINPUT, "plot: %d tracks given (1 to 16 can be drawn)", nt); return NULL; }
    panel ps[16];
    int np = 0, logo = -1;
    for (int k = 0; k < nt; k++) {
        if (!t[k].name || !*t[k].name || !t[k].v) { hd_set_error(HD_EINPUT, "plot: track %d has no name or values", k + 1); return NULL; }
        for (int j = 0; j < k; j++)
            if (!strcasecmp(t[j].name, t[k].name)) {
                hd_set_error(HD_EINPUT, "plot: track '%s' given twice", t[k].name);
                return NULL;
            }
        int b, kind = track_kind(t[k].name, &b);
        if (kind == P_LOGO && logo >= 0) { ps[logo].tr[b] = k; continue; }
        panel *p = &ps[np];
        p->kind = kind;
        for (int i = 0; i < 4; i++) p->tr[i] = -1;
        if (kind == P_LOGO) p->tr[b] = k, logo = np;
        else p->tr[0] = k;
        p->h = kind == P_LOGO ? 84 : 64;
        np++;
    }
    for (int k = 0; k < np; k++) set_range(&ps[k], r, t);

    char *title = figure_title(r, "Model tracks over");
    if (!title) return NULL;
    size_t n = r->n;
    double pxb = 1000.0 / (double)n;
    if (pxb > 16) pxb = 16;
    const double left = 64, right = 44, lab_h = 18, gap = 12;
    double dw = pxb * (double)n;
    double W = fmax(left + fmax(dw, 560) + right, heading_width(title, r->subtitle));
    int show_seq = r->ref && pxb >= 8;
    double top0 = r->subtitle && *r->subtitle ? 60 : 44, body = 0;
    for (int k = 0; k < np; k++) body += lab_h + ps[k].h + gap;
    double H = top0 + body + (show_seq ? 16 : 0) + 30;

    hd_svg G = {{0, 0, NULL}, 0}, *g = &G;
    hd_svg_begin(g, W, H, title);
    hd_svg_puts(g, "<desc>hyenadna track panels: each value's title reads 'POS VALUE' inside the group of its track "
                   "(class points, data-track NAME)</desc>\n");
    double top = draw_heading(g, title, r->subtitle);
    double step = hd_svg_nice_step(84.0 / pxb, 0);
    int64_t s = (int64_t)step, p0 = r->beg + 1, p1 = r->beg + (int64_t)n;

    /* vertical grid lines at the x ticks, through every panel */
    hd_svg_puts(g, "<g stroke=\"#e6e6e6\" stroke-width=\"1\">");
    for (int64_t q = (p0 + s - 1) / s * s; q <= p1; q += s) {
        double x = left + ((double)(q - p0) + 0.5) * pxb;
        hd_svg_printf(g, "<path d=\"M%.6g %.6gV%.6g\"/>", x, top + lab_h, top + body - gap);
    }
    hd_svg_puts(g, "</g>\n");

    double y = top;
    for (int k = 0; k < np; k++) {
        panel *p = &ps[k];
        double pt = y + lab_h;
        hd_svg_puts(g, "<g class=\"panel\">\n");
        panel_label(g, p, t, left, y + 12);
        /* y axis: ticks at lo, the middle and hi; a dashed zero line inside the range */
        hd_svg_printf(g, "<path d=\"M%.6g %.6gV%.6g\" stroke=\"#888\" fill=\"none\"/>\n", left - 0.5, pt, pt + p->h);
        hd_svg_puts(g, "<g font-size=\"10\" text-anchor=\"end\" fill=\"#333\">");
        for (int q = 0; q < 3; q++) {
            double v = p->lo + (p->hi - p->lo) * q / 2, yy = yof(p, pt, v);
            char lab[32];
            hd_svg_fmt_num(v, lab, sizeof lab);
            if (lab[0] == '-') { memmove(lab + 3, lab + 1, strlen(lab)); memcpy(lab, "\xe2\x88\x92", 3); }
            hd_svg_printf(g, "<path d=\"M%.6g %.6gh-4\" stroke=\"#888\"/>", left - 0.5, yy);
            hd_svg_text(g, left - 7, yy + 3.5, NULL, "%s", lab);
        }
        hd_svg_puts(g, "</g>\n");
        double y0 = yof(p, pt, 0);
        hd_svg_printf(g, "<path d=\"M%.6g %.6gH%.6g\" stroke=\"#bbb\" stroke-width=\"0.8\"%s/>\n", left, y0, left + dw,
                      p->lo < 0 && p->hi > 0 ? " stroke-dasharray=\"3 3\"" : "");
        if (p->kind == P_LOGO) {
            if (draw_logo_panel(g, p, t, r, left, pxb, pt)) { hd_svg_free(g); free(title); return NULL; }
        } else {
            draw_line_panel(g, p, &t[p->tr[0]], n, left, pxb, pt);
            draw_points(g, p, &t[p->tr[0]], r, left, pxb, pt);
        }
        hd_svg_puts(g, "</g>\n");
        y += lab_h + p->h + gap;
    }
    double yb = y - gap;
    if (show_seq) {
        hd_svg_puts(g, "<g class=\"sequence\" font-size=\"11\" font-weight=\"bold\" text-anchor=\"middle\">");
        for (size_t i = 0; i < n; i++) {
            int b = base_index(r->ref[i]);
            char at[40];
            snprintf(at, sizeof at, "fill=\"%s\"", b >= 0 ? BASE_COLOUR[b] : "#888");
            hd_svg_text(g, left + ((double)i + 0.5) * pxb, yb + 13, at, "%c",
                        r->ref[i] > ' ' && r->ref[i] < 127 ? r->ref[i] : 'N');
        }
        hd_svg_puts(g, "</g>\n");
        yb += 16;
    }
    draw_xaxis(g, p0, p1, left, pxb, yb);
    hd_svg_end(g);
    free(title);
    return hd_svg_finish(g, len);
}

/* ================================================================ files */

int hd_plot_is_png(const char *path) { return hd_has_suffix(path, ".png"); }

/* The rsvg-convert on $PATH (malloc'd), or NULL. */
static char *find_rsvg(void)
{
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path; *p;) {
        size_t l = strcspn(p, ":");
        char *f = hd_sprintf("%.*s/rsvg-convert", (int)l, l ? p : ".");
        if (f && !access(f, X_OK)) return f;
        free(f);
        p += l;
        if (*p == ':') p++;
    }
    return NULL;
}

int hd_plot_png_check(void)
{
    char *f = find_rsvg();
    if (f) { free(f); return 0; }
    hd_set_error(HD_ERESOURCE, "PNG output needs rsvg-convert, which is not on $PATH: install it (Debian package "
                 "librsvg2-bin) or write SVG (a name ending in .svg, no --png)");
    return -1;
}

static int write_all(int fd, const char *buf, size_t n)
{
    while (n) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        buf += w, n -= (size_t)w;
    }
    return 0;
}

/* Render svg to PNG bytes with rsvg-convert; 0 ok (*png, *pn malloc'd), -1 + hd_error. */
static int render_png(const char *svg, size_t len, char **png, size_t *pn)
{
    *png = NULL, *pn = 0;
    char *exe = find_rsvg();
    if (!exe) return hd_plot_png_check();
    const char *td = getenv("TMPDIR");
    if (!td || !*td) td = "/tmp";
    char *fs = hd_sprintf("%s/hyenadna-plot-XXXXXX.svg", td), *fp = hd_sprintf("%s/hyenadna-plot-XXXXXX.png", td),
         *fe = hd_sprintf("%s/hyenadna-plot-XXXXXX.err", td);
    int ds = -1, dp = -1, de = -1, rc = -1;
    if (!fs || !fp || !fe) { hd_set_error(HD_ERESOURCE, "out of memory"); free(fs), free(fp), free(fe), free(exe); return -1; }
    /* removed on a fatal signal too (output.h), rsvg-convert killed first: registered before they exist */
    hd_out_pend_file(fs), hd_out_pend_file(fp), hd_out_pend_file(fe);
    if ((ds = mkstemps(fs, 4)) < 0 || (dp = mkstemps(fp, 4)) < 0 || (de = mkstemps(fe, 4)) < 0) {
        hd_set_error(HD_ERESOURCE, "cannot create a temporary file in %s for rsvg-convert: %s", td, strerror(errno));
        goto out;
    }
    if (write_all(ds, svg, len)) {
        hd_set_error(HD_ERESOURCE, "cannot write the temporary file %s: %s", fs, strerror(errno));
        goto out;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, de, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, de, STDERR_FILENO);
    char *argv[] = {"rsvg-convert", "-f", "png", "-o", fp, fs, NULL};
    pid_t pid;
    /* signals held while rsvg-convert starts, so that the handler knows of it whenever one comes */
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    posix_spawnattr_t sa;   /* rsvg-convert itself starts with the signals as they were */
    posix_spawnattr_init(&sa);
    posix_spawnattr_setsigmask(&sa, &old);
    posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETSIGMASK);
    int e = posix_spawn(&pid, exe, &fa, &sa, argv, environ), st = 0;
    if (!e) hd_out_pend_child(pid);
    sigprocmask(SIG_SETMASK, &old, NULL);
    posix_spawnattr_destroy(&sa);
    posix_spawn_file_actions_destroy(&fa);
    if (e) { hd_set_error(HD_ERESOURCE, "cannot run %s: %s", exe, strerror(e)); goto out; }
    int w;
    while ((w = waitpid(pid, &st, 0)) < 0 && errno == EINTR) {}
    hd_out_pend_child(0);
    if (w < 0) { hd_set_error(HD_ERESOURCE, "waiting for rsvg-convert: %s", strerror(errno)); goto out; }
    /* rsvg-convert may replace the file rather than write into it: read it by name */
    FILE *pf = WIFEXITED(st) && !WEXITSTATUS(st) ? fopen(fp, "rb") : NULL;
    kstring_t pk = {0, 0, NULL};
    char buf[65536];
    size_t m;
    while (pf && (m = fread(buf, 1, sizeof buf, pf)) > 0)
        if (kputsn(buf, m, &pk) < 0) { hd_set_error(HD_ERESOURCE, "out of memory"); fclose(pf); free(pk.s); goto out; }
    int bad = !pf || ferror(pf) || pk.l < 8 || memcmp(pk.s, "\x89PNG", 4);
    if (pf) fclose(pf);
    if (bad) {
        char msg[512] = "";
        ssize_t k = pread(de, msg, sizeof msg - 1, 0);
        msg[k > 0 ? k : 0] = 0;
        msg[strcspn(msg, "\n")] = 0;
        hd_set_error(HD_ERESOURCE, "rsvg-convert failed to render the PNG%s%s", *msg ? ": " : "", msg);
        free(pk.s);
        goto out;
    }
    *png = pk.s;
    size_t got = pk.l;
    *pn = got;
    rc = 0;
out:
    if (ds >= 0) { close(ds); unlink(fs); }
    if (dp >= 0) { close(dp); unlink(fp); }
    if (de >= 0) { close(de); unlink(fe); }
    hd_out_unpend_file(fs), hd_out_unpend_file(fp), hd_out_unpend_file(fe);
    free(fs), free(fp), free(fe), free(exe);
    return rc;
}

int hd_plot_write(const char *path, const char *svg, size_t len, int png)
{
    char *buf = NULL;
    size_t n = len;
    if (png) {
        if (render_png(svg, len, &buf, &n)) return -1;
        svg = buf;
    }
    hd_outfile *o = hd_out_open(path, 0);
    int rc = -1;
    if (o) {
        if (hd_out_write(o, svg, n)) hd_out_abort(o);
        else rc = hd_out_close(o);
    }
    free(buf);
    return rc;
}
