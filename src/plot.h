/* plot.h -- pictures as self-contained SVG (plain text, no plotting library), optionally PNG.
 *
 * Two figures (man hyenadna-plot describes them for users):
 *   - the saturation-mutagenesis heatmap (`score-variants --all-snvs --plot`, `plot --snv`): one column
 *     per position, one row per base (A, C, G, T from the top), each cell coloured by its LLR on a
 *     diverging scale centred at 0, the reference base's cell hatched and outlined (it has no value);
 *     regions wider than `strip` positions wrap into one strip per block of positions;
 *   - stacked track panels sharing the x axis (`track --plot`, `plot --bigwig`): a step line with a filled
 *     area for logp, entropy, ic and any other per-base track, the four probs tracks A, C, G, T as one
 *     logo-like panel (the bars of each position stacked, the largest on top); missing values are gaps.
 * Every heatmap cell carries `<title>POS REF>ALT LLR</title>` (POS 1-based, LLR printed with %.6g as
 * score-variants writes it) and every track value `<title>POS VALUE</title>` (%.6g) inside the group
 * `<g class="points" data-track="NAME">` of its track, so a browser shows it on hover and a program can
 * read it back.  Both figures are limited to HD_PLOT_MAX_POSITIONS positions. */
#ifndef HD_PLOT_H
#define HD_PLOT_H

#include <stddef.h>
#include <stdint.h>

#define HD_PLOT_MAX_POSITIONS 10000   /* the widest region either figure draws */
#define HD_PLOT_STRIP 200             /* heatmap positions per strip by default */

/* The region a figure shows and its labels. */
typedef struct {
    const char *chrom;
    int64_t beg;            /* 0-based coordinate of the first position */
    size_t n;               /* positions drawn: 1 .. HD_PLOT_MAX_POSITIONS */
    const char *ref;        /* [n] reference bases (any case; ? where unknown), or NULL when unknown (tracks only) */
    const char *title;      /* first line; NULL: a default naming the figure and the region */
    const char *subtitle;   /* second line (model, score mode, input files), or NULL */
} hd_plot_region;

/* ---------------------------------------------------------------- the heatmap */

typedef struct {
    size_t strip;           /* positions per strip; 0 = HD_PLOT_STRIP */
    double vmax;            /* colours span [−vmax, vmax], values beyond take the end colours;
                               ≤ 0: the largest |LLR| rounded up to a round number */
} hd_plot_heatmap_opts;

/* llr[4 i + b]: the LLR of base b (0 A, 1 C, 2 G, 3 T) at position r->beg + i; NAN where there is none
 * (a grey "no value" cell).  The entry of the reference base is not read.  A position whose reference
 * base (r->ref, required) is not A, C, G or T is drawn as an empty column.  o may be NULL.
 * Returns the SVG text (malloc'd, its length in *len), or NULL + hd_error. */
char *hd_plot_heatmap_svg(const hd_plot_region *r, const double *llr, const hd_plot_heatmap_opts *o, size_t *len);

/* ---------------------------------------------------------------- the track panels */

/* One per-base track of the region. */
typedef struct {
    const char *name;       /* "logp", "entropy", "ic" (fixed axes and labels), "A", "C", "G", "T" (stacked
                               together in one panel), or any other name (a panel with its data's range) */
    const float *v;         /* [r->n]: the value at position r->beg + i; NAN = no value (a gap) */
} hd_plot_track;

/* The panels of nt tracks (1 .. 16, distinct names) in the order given (the A/C/G/T panel where the first
 * of them comes), sharing one x axis in genome coordinates; with r->ref and at least 8 px per base the
 * reference bases are written under the panels.  Returns the SVG text (malloc'd, its length in *len), or
 * NULL + hd_error. */
char *hd_plot_tracks_svg(const hd_plot_region *r, const hd_plot_track *t, int nt, size_t *len);

/* ---------------------------------------------------------------- files */

/* Does the name ask for PNG (it ends in .png, any case)? */
int hd_plot_is_png(const char *path);
/* 0 when PNG can be written (rsvg-convert is on $PATH), else -1 + hd_error naming what to install. */
int hd_plot_png_check(void);
/* Write a figure to path ("-" = standard output): the SVG text as it is, or (png) the PNG rendered from
 * it by rsvg-convert at one pixel per SVG unit.  The file appears under its name only when complete.
 * 0 on success, -1 + hd_error (HD_ERESOURCE when rsvg-convert is missing or fails). */
int hd_plot_write(const char *path, const char *svg, size_t len, int png);

#endif
