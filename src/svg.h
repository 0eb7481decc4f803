/* svg.h -- a tiny SVG writer: the document, escaped text, compact numbers, a diverging colour scale and
 * "nice" axis steps.  Everything is appended to an hd_svg buffer; a failed allocation is remembered and
 * reported once by hd_svg_finish.  The figures built with it are in plot.h. */
#ifndef HD_SVG_H
#define HD_SVG_H

#include <htslib/kstring.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    kstring_t s;
    int err;        /* an append failed (out of memory) */
} hd_svg;

/* The font stack of every text element (DejaVu Sans is what Debian's renderers fall back to). */
#define HD_SVG_FONT "DejaVu Sans, Helvetica, Arial, sans-serif"

/* Start a document of w × h user units (= CSS pixels) on a white background; `title` becomes the
 * document's <title> (escaped; NULL for none). */
void hd_svg_begin(hd_svg *g, double w, double h, const char *title);
void hd_svg_end(hd_svg *g);
/* The text built so far (malloc'd, NUL-terminated, its length in *len); NULL + hd_error when an append
 * failed.  The buffer belongs to the caller afterwards; g is emptied either way. */
char *hd_svg_finish(hd_svg *g, size_t *len);
void hd_svg_free(hd_svg *g);

void hd_svg_puts(hd_svg *g, const char *s);                  /* raw markup */
void hd_svg_printf(hd_svg *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hd_svg_esc(hd_svg *g, const char *s);                   /* character data, XML-escaped */
/* <text x y ATTRS>escaped printf text</text>; attrs may be NULL. */
void hd_svg_text(hd_svg *g, double x, double y, const char *attrs, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* <title>escaped printf text</title>, for the element just opened. */
void hd_svg_title(hd_svg *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Width of a string in a sans-serif font of `size` px, estimated (0.6 em per character). */
double hd_svg_text_width(const char *s, double size);

/* ---------------------------------------------------------------- colours */

/* The diverging scale: t in [-1, 1] (clamped; NaN → the middle) from dark red (−1) through near-white (0)
 * to dark blue (+1), piecewise linear in sRGB between the 11 colours of ColorBrewer's RdBu (safe for the
 * common colour-vision deficiencies).  The lightness falls monotonically from 0 towards either end. */
#define HD_SVG_NSTOPS 11
extern const char *const hd_svg_rdbu[HD_SVG_NSTOPS];   /* "#67001f" ... "#053061" */
void hd_svg_diverging(double t, char out[8]);           /* "#rrggbb" */

/* ---------------------------------------------------------------- axes */

/* The smallest step of the form {1, 2, 5} × 10^k (k ≥ kmin) that is at least `min`.  kmin = 0 gives
 * whole-number steps (genome positions). */
double hd_svg_nice_step(double min, int kmin);
/* The smallest value of the form {1, 1.5, 2, 2.5, 3, 4, 5, 6, 8} × 10^k that is ≥ v (v > 0). */
double hd_svg_nice_ceil(double v);
/* An integer with thousands separators: 20000950 → "20,000,950". */
void hd_svg_fmt_int(int64_t v, char *buf, size_t n);
/* A tick label: the shortest of %.1g .. %.6g that reads back as v (−0 → 0). */
void hd_svg_fmt_num(double v, char *buf, size_t n);

#endif
