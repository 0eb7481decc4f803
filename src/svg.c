/* svg.c -- the tiny SVG writer of svg.h. */
#include "svg.h"
#include "util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hd_svg_puts(hd_svg *g, const char *s)
{
    if (!g->err && kputs(s, &g->s) < 0) g->err = 1;
}

static void svg_vprintf(hd_svg *g, const char *fmt, va_list ap)
{
    if (!g->err && kvsprintf(&g->s, fmt, ap) < 0) g->err = 1;
}

void hd_svg_printf(hd_svg *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    svg_vprintf(g, fmt, ap);
    va_end(ap);
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0 when it is not one. */
static int utf8_len(const unsigned char *p)
{
    int n = p[0] < 0x80 ? 1 : (p[0] & 0xE0) == 0xC0 && p[0] >= 0xC2 ? 2 : (p[0] & 0xF0) == 0xE0 ? 3
          : (p[0] & 0xF8) == 0xF0 && p[0] <= 0xF4 ? 4 : 0;
    for (int k = 1; k < n; k++)
        if ((p[k] & 0xC0) != 0x80) return 0;
    if (n == 3 && ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0))) return 0;   /* overlong, surrogate */
    if (n == 4 && ((p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90))) return 0;
    return n;
}

void hd_svg_esc(hd_svg *g, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p && !g->err;) {
        const char *e = NULL;
        int n = utf8_len(p);
        switch (*p) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '"': e = "&quot;"; break;
        default:
            /* control characters and broken UTF-8 are not allowed in XML character data */
            if ((*p < 0x20 && *p != '\t' && *p != '\n') || !n) e = "?";
        }
        if (e) {
            hd_svg_puts(g, e);
            p++;
        } else {
            if (kputsn((const char *)p, (size_t)n, &g->s) < 0) g->err = 1;
            p += n;
        }
    }
}

static void svg_vesc(hd_svg *g, const char *fmt, va_list ap)
{
    char sbuf[256], *s = sbuf;
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(sbuf, sizeof sbuf, fmt, ap);
    if (n < 0) { g->err = 1; va_end(aq); return; }
    if ((size_t)n >= sizeof sbuf) {
        if (!(s = malloc((size_t)n + 1))) { g->err = 1; va_end(aq); return; }
        vsnprintf(s, (size_t)n + 1, fmt, aq);
    }
    va_end(aq);
    hd_svg_esc(g, s);
    if (s != sbuf) free(s);
}

void hd_svg_text(hd_svg *g, double x, double y, const char *attrs, const char *fmt, ...)
{
    hd_svg_printf(g, "<text x=\"%.6g\" y=\"%.6g\"%s%s>", x, y, attrs ? " " : "", attrs ? attrs : "");
    va_list ap;
    va_start(ap, fmt);
    svg_vesc(g, fmt, ap);
    va_end(ap);
    hd_svg_puts(g, "</text>\n");
}

void hd_svg_title(hd_svg *g, const char *fmt, ...)
{
    hd_svg_puts(g, "<title>");
    va_list ap;
    va_start(ap, fmt);
    svg_vesc(g, fmt, ap);
    va_end(ap);
    hd_svg_puts(g, "</title>");
}

double hd_svg_text_width(const char *s, double size)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80) n++;   /* count UTF-8 characters, not bytes */
    return 0.6 * size * (double)n;
}

void hd_svg_begin(hd_svg *g, double w, double h, const char *title)
{
    hd_svg_printf(g,
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.6g\" height=\"%.6g\" "
                  "viewBox=\"0 0 %.6g %.6g\" font-family=\"%s\" font-size=\"11\" fill=\"#222\">\n",
                  w, h, w, h, HD_SVG_FONT);
    if (title) {
        hd_svg_title(g, "%s", title);
        hd_svg_puts(g, "\n");
    }
    hd_svg_printf(g, "<rect width=\"%.6g\" height=\"%.6g\" fill=\"#fff\"/>\n", w, h);
}

void hd_svg_end(hd_svg *g) { hd_svg_puts(g, "</svg>\n"); }

char *hd_svg_finish(hd_svg *g, size_t *len)
{
    if (g->err || !g->s.s) {
        hd_svg_free(g);
        hd_set_error(HD_ERESOURCE, "out of memory while drawing the SVG");
        return NULL;
    }
    char *s = g->s.s;
    *len = g->s.l;
    memset(g, 0, sizeof *g);
    return s;
}

void hd_svg_free(hd_svg *g)
{
    free(g->s.s);
    memset(g, 0, sizeof *g);
}

/* ---------------------------------------------------------------- colours */

const char *const hd_svg_rdbu[HD_SVG_NSTOPS] = {"#67001f", "#b2182b", "#d6604d", "#f4a582", "#fddbc7", "#f7f7f7",
                                                "#d1e5f0", "#92c5de", "#4393c3", "#2166ac", "#053061"};

void hd_svg_diverging(double t, char out[8])
{
    if (isnan(t)) t = 0;
    if (t < -1) t = -1;
    if (t > 1) t = 1;
    double u = (t + 1) * 0.5 * (HD_SVG_NSTOPS - 1);   /* 0 .. 10 */
    int i = (int)floor(u);
    if (i >= HD_SVG_NSTOPS - 1) i = HD_SVG_NSTOPS - 2;
    double f = u - i;
    unsigned a[3], b[3];
    sscanf(hd_svg_rdbu[i] + 1, "%2x%2x%2x", &a[0], &a[1], &a[2]);
    sscanf(hd_svg_rdbu[i + 1] + 1, "%2x%2x%2x", &b[0], &b[1], &b[2]);
    int c[3];
    for (int k = 0; k < 3; k++) c[k] = (int)lround(a[k] + f * ((double)b[k] - a[k]));
    snprintf(out, 8, "#%02x%02x%02x", c[0], c[1], c[2]);
}

/* ---------------------------------------------------------------- axes */

double hd_svg_nice_step(double min, int kmin)
{
    if (!(min > 0) || !isfinite(min)) return pow(10, kmin);
    int k = (int)floor(log10(min));
    if (k < kmin) k = kmin;
    for (;; k++) {
        double p = pow(10, k);
        static const double m[] = {1, 2, 5};
        for (int i = 0; i < 3; i++)
            if (m[i] * p >= min * (1 - 1e-12)) return isfinite(m[i] * p) ? m[i] * p : min;
    }
}

double hd_svg_nice_ceil(double v)
{
    if (!(v > 0) || !isfinite(v)) return 1;
    static const double m[] = {1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10};
    double p = pow(10, floor(log10(v)));
    for (int i = 0; i < 10; i++)
        if (m[i] * p >= v * (1 - 1e-12)) return isfinite(m[i] * p) ? m[i] * p : v;   /* v itself near DBL_MAX */
    return 10 * p;
}

void hd_svg_fmt_int(int64_t v, char *buf, size_t n)
{
    char d[32];
    snprintf(d, sizeof d, "%lld", (long long)(v < 0 ? -v : v));
    size_t nd = strlen(d), o = 0;
    char tmp[48];
    if (v < 0) tmp[o++] = '-';
    for (size_t i = 0; i < nd; i++) {
        if (i && (nd - i) % 3 == 0) tmp[o++] = ',';
        tmp[o++] = d[i];
    }
    tmp[o] = 0;
    snprintf(buf, n, "%s", tmp);
}

void hd_svg_fmt_num(double v, char *buf, size_t n)
{
    if (fabs(v) < 1e-12) v = 0;
    for (int p = 1; p <= 6; p++) {
        snprintf(buf, n, "%.*g", p, v);
        if (fabs(strtod(buf, NULL) - v) <= 1e-9 * fmax(1, fabs(v))) return;
    }
}
