/* plot.c -- `hyenadna plot`: pictures of earlier runs' outputs, region by region, without recomputing:
 * the saturation-mutagenesis heatmap from an SNV table (`score-variants --all-snvs -O t`, or the table of
 * `track`), the stacked track panels from bigWig files.  The figures themselves are src/plot.c. */
#define _GNU_SOURCE
#include "config.h"
#include "common.h"

#include <bigWig.h>
#include <errno.h>
#include <htslib/faidx.h>
#include <htslib/hts.h>
#include <htslib/kseq.h>
#include <htslib/kstring.h>
#include <htslib/tbx.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "plot.h"
#include "regions.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: hyenadna plot [options] --snv TABLE.tsv[.gz] -r REG [-o OUT.svg|OUT.png]\n"
            "       hyenadna plot [options] --bigwig FILE.bw[,FILE.bw...] -r REG [-o OUT.svg|OUT.png]\n"
            "\n"
            "Draw the outputs of an earlier run over a region as a self-contained SVG picture (or PNG): the\n"
            "saturation-mutagenesis heatmap of an SNV table, or stacked panels of bigWig tracks.  Every cell\n"
            "and point carries its value in a <title> (shown on hover in a browser).  The same pictures as\n"
            "score-variants --all-snvs --plot and track --plot.\n"
            "\n"
            "Input options:\n"
            "      --snv FILE         SNV table: the TSV of score-variants --all-snvs -O t (#chrom pos id ref\n"
            "                         alt llr edist) or of track (#chrom pos ref alt llr); plain, gzip or\n"
            "                         bgzip; read through its tabix index when there is one\n"
            "      --bigwig LIST      comma-separated bigWig files, one panel each, named by the .NAME.bw\n"
            "                         suffix (logp, entropy, ic; A, C, G and T stacked in one panel)\n"
            "  -r, --region REG       CHR:BEG-END (1-based, inclusive) or CHR, at most %d positions\n"
            "  -f, --fasta-ref FILE   reference FASTA: the bases of positions the table lacks, and the\n"
            "                         sequence written under the tracks [none]\n"
            "Plot options:\n"
            "      --title STR        the title line [names the figure and the region]\n"
            "      --strip INT        heatmap positions per strip; wider regions wrap [%d]\n"
            "      --vmax FLOAT       heatmap colours span -FLOAT..FLOAT [the largest |LLR|, rounded up]\n"
            "Output options:\n"
            "  -o, --output FILE      output file; a name ending in .png gives PNG [standard output]\n"
            "      --png              write PNG, rendered by rsvg-convert (Debian package librsvg2-bin)\n"
            "General options:\n"
            "      --verbosity INT    0 silent, 1 errors, 2 warnings, 3 information [2]\n"
            "  -h, --help             print this help and exit\n",
            HD_PLOT_MAX_POSITIONS, HD_PLOT_STRIP);
}

/* ---------------------------------------------------------------- the region */

typedef struct {
    char *chrom;
    int64_t beg, end;   /* 0-based half-open; end = INT64_MAX: to the end of the contig */
} region;

static int parse_region(const char *s, region *r)
{
    hts_pos_t beg = 0, end = 0;
    const char *q = hts_parse_reg64(s, &beg, &end);
    if (!q || q == s || beg < 0 || end <= beg) {
        hd_errorf("option -r: '%s' is not a region (CHR:BEG-END, 1-based and inclusive, or CHR)", s);
        return -1;
    }
    r->chrom = strndup(s, (size_t)(q - s));
    r->beg = beg;
    r->end = end >= HTS_POS_MAX ? INT64_MAX : end;
    return r->chrom ? 0 : -1;
}

static int check_width(const region *r)
{
    if (r->end != INT64_MAX && r->end - r->beg > HD_PLOT_MAX_POSITIONS) {
        hd_errorf("option -r: %s:%" PRId64 "-%" PRId64 " has %" PRId64 " positions; a figure shows at most %d: plot a "
                  "narrower region (or several)", r->chrom, r->beg + 1, r->end, r->end - r->beg, HD_PLOT_MAX_POSITIONS);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- --snv */

typedef struct {
    int64_t pos;     /* 0-based */
    char ref, alt;   /* indices 0..3 */
    double llr;
} snv_row;

typedef struct {
    snv_row *v;
    size_t n, m;
    long skipped;    /* rows that are not single-base substitutions */
    int64_t lo, hi;  /* extent of the rows kept */
} snv_rows;

typedef struct { int chrom, pos, ref, alt, llr, ncol; } snv_cols;

static int base_idx(const char *s)
{
    if (!s[0] || s[1]) return -1;
    const char *p = strchr("ACGTacgt", s[0]);
    return p ? (int)((p - "ACGTacgt") & 3) : -1;
}

/* The columns from a "#chrom pos ..." header line; 0 when it names all five. */
static int header_cols(char *line, snv_cols *c)
{
    *c = (snv_cols){-1, -1, -1, -1, -1, 0};
    int nf = 0;
    kstring_t ks = {strlen(line), strlen(line) + 1, line};
    int *off = ksplit(&ks, '\t', &nf);
    if (!off) return -1;
    for (int i = 0; i < nf; i++) {
        const char *f = line + off[i];
        if (i == 0 && *f == '#') f++;
        if (!strcasecmp(f, "chrom") || !strcasecmp(f, "chr") || !strcasecmp(f, "contig")) c->chrom = i;
        else if (!strcasecmp(f, "pos")) c->pos = i;
        else if (!strcasecmp(f, "ref")) c->ref = i;
        else if (!strcasecmp(f, "alt")) c->alt = i;
        else if (!strcasecmp(f, "llr") || !strcasecmp(f, "score")) c->llr = i;
    }
    free(off);
    c->ncol = nf;
    return c->chrom >= 0 && c->pos >= 0 && c->ref >= 0 && c->alt >= 0 && c->llr >= 0 ? 0 : -1;
}

/* One data line; 1 kept, 0 not in the region or not an SNV, -1 error (printed). */
static int snv_line(const char *path, kstring_t *line, long lineno, const snv_cols *hc, const region *r, snv_rows *rows)
{
    int nf = 0;
    int *off = ksplit(line, '\t', &nf);
    if (!off) { hd_errorf("out of memory"); return -1; }
    snv_cols c = *hc;
    if (c.ncol == 0) {   /* no header: the layouts of the two writers */
        if (nf == 7) c = (snv_cols){0, 1, 3, 4, 5, 7};
        else if (nf == 5) c = (snv_cols){0, 1, 2, 3, 4, 5};
    }
    int need = c.chrom;
    if (c.pos > need) need = c.pos;
    if (c.ref > need) need = c.ref;
    if (c.alt > need) need = c.alt;
    if (c.llr > need) need = c.llr;
    char where[64];
    snprintf(where, sizeof where, lineno > 0 ? "line %ld" : "a row", lineno);
    if (c.ncol == 0 || nf <= need) {
        hd_errorf("%s: %s has %d columns; expected the columns chrom pos ref alt llr (a '#chrom ...' header line "
                  "naming them, or the 7 columns of score-variants -O t, or the 5 of track)", path, where, nf);
        free(off);
        return -1;
    }
    const char *chrom = line->s + off[c.chrom], *ps = line->s + off[c.pos], *ls = line->s + off[c.llr];
    int rc = 0;
    if (strcmp(chrom, r->chrom)) goto done;
    char *e;
    errno = 0;
    long long pos = strtoll(ps, &e, 10);
    if (!*ps || *e || errno || pos < 1) {
        hd_errorf("%s: %s: '%s' is not a position (1-based)", path, where, ps);
        rc = -1;
        goto done;
    }
    if (pos - 1 < r->beg || pos - 1 >= r->end) goto done;
    int rb = base_idx(line->s + off[c.ref]), ab = base_idx(line->s + off[c.alt]);
    if (rb < 0 || ab < 0 || rb == ab) { rows->skipped++; goto done; }
    double v;
    if (!strcmp(ls, ".") || !strcasecmp(ls, "nan") || !strcasecmp(ls, "na")) v = NAN;
    else {
        errno = 0;
        v = strtod(ls, &e);
        if (!*ls || *e || errno == EINVAL) {
            hd_errorf("%s: %s (%s:%lld): '%s' is not an LLR", path, where, chrom, pos, ls);
            rc = -1;
            goto done;
        }
    }
    if (rows->n == rows->m) {
        size_t m = rows->m ? 2 * rows->m : 1024;
        snv_row *nv = realloc(rows->v, m * sizeof *nv);
        if (!nv) { hd_errorf("out of memory"); rc = -1; goto done; }
        rows->v = nv, rows->m = m;
    }
    rows->v[rows->n++] = (snv_row){pos - 1, (char)rb, (char)ab, v};
    if (rows->n == 1 || pos - 1 < rows->lo) rows->lo = pos - 1;
    if (rows->n == 1 || pos > rows->hi) rows->hi = pos;
    if (rows->hi - rows->lo > HD_PLOT_MAX_POSITIONS) {
        hd_errorf("%s: the rows of %s span more than %d positions: give a narrower region with -r", path, r->chrom,
                  HD_PLOT_MAX_POSITIONS);
        rc = -1;
        goto done;
    }
    rc = 1;
done:
    free(off);
    return rc;
}

/* Read the SNVs of the region; the header's columns are taken from its last '#' line. */
static int read_snv(const char *path, const region *r, snv_rows *rows)
{
    hts_set_log_level(HTS_LOG_OFF);
    htsFile *fp = hts_open(path, "r");
    hts_set_log_level(HTS_LOG_WARNING);
    if (!fp) { hd_errorf("cannot open SNV table '%s': %s", path, strerror(errno)); return -1; }
    kstring_t line = {0, 0, NULL}, hdr = {0, 0, NULL};
    snv_cols cols = {-1, -1, -1, -1, -1, 0};
    long lineno = 0;
    int rc = -1, got, first_data = 0;
    while ((got = hts_getline(fp, KS_SEP_LINE, &line)) >= 0) {
        lineno++;
        if (line.l && line.s[line.l - 1] == '\r') line.s[--line.l] = 0;
        if (line.l && line.s[0] == '#') {
            hdr.l = 0;
            kputs(line.s, &hdr);
            continue;
        }
        first_data = 1;
        break;
    }
    if (got < -1) { hd_errorf("%s: read error at line %ld", path, lineno + 1); goto out; }
    if (hdr.l && header_cols(hdr.s, &cols)) {
        hd_errorf("%s: the header line does not name the columns chrom, pos, ref, alt and llr", path);
        goto out;
    }
    hts_set_log_level(HTS_LOG_OFF);
    tbx_t *tbx = fp->format.compression == bgzf ? tbx_index_load3(path, NULL, HTS_IDX_SILENT_FAIL) : NULL;
    hts_set_log_level(HTS_LOG_WARNING);
    if (tbx) {
        hd_infof("reading %s through its tabix index", path);
        int tid = tbx_name2id(tbx, r->chrom);
        rc = 0;
        if (tid >= 0) {
            hts_itr_t *itr = tbx_itr_queryi(tbx, tid, r->beg, r->end == INT64_MAX ? HTS_POS_MAX : r->end);
            if (!itr) { hd_errorf("%s: cannot query the tabix index for %s", path, r->chrom); rc = -1; }
            while (itr && (got = tbx_itr_next(fp, tbx, itr, &line)) >= 0)
                if (line.l && line.s[0] != '#' && snv_line(path, &line, 0, &cols, r, rows) < 0) { rc = -1; break; }
            if (itr && got < -1 && !rc) { hd_errorf("%s: read error in %s", path, r->chrom); rc = -1; }
            if (itr) tbx_itr_destroy(itr);
        }
        tbx_destroy(tbx);
        goto out;
    }
    if (first_data) {
        do {
            if (line.l && line.s[line.l - 1] == '\r') line.s[--line.l] = 0;
            if (!line.l || line.s[0] == '#') continue;
            if (snv_line(path, &line, lineno, &cols, r, rows) < 0) goto out;
        } while ((got = hts_getline(fp, KS_SEP_LINE, &line)) >= 0 && ++lineno);
        if (got < -1) { hd_errorf("%s: read error at line %ld", path, lineno + 1); goto out; }
    }
    rc = 0;
out:
    free(line.s);
    free(hdr.s);
    hts_close(fp);
    return rc;
}

/* ---------------------------------------------------------------- --bigwig */

/* The panel name of a bigWig file: NAME of PREFIX.NAME.bw (or of NAME.bw). */
static char *bw_track_name(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t l = strlen(b);
    static const char *const sfx[] = {".bw", ".bigwig"};
    for (int i = 0; i < 2; i++) {
        size_t m = strlen(sfx[i]);
        if (l > m && !strcasecmp(b + l - m, sfx[i])) { l -= m; break; }
    }
    const char *dot = memrchr(b, '.', l);
    if (dot && dot + 1 < b + l) {
        l -= (size_t)(dot + 1 - b);
        b = dot + 1;
    }
    return strndup(b, l);
}

/* The values of a bigWig file over the region (fixing its end at the contig's when open); NaN = none. */
static int read_bigwig(const char *path, region *r, float **out)
{
    FILE *f = fopen(path, "rb");
    unsigned char magic[4] = {0};
    if (!f) { hd_errorf("cannot open bigWig file '%s': %s", path, strerror(errno)); return -1; }
    size_t got = fread(magic, 1, 4, f);
    fclose(f);
    uint32_t m = (uint32_t)magic[0] | (uint32_t)magic[1] << 8 | (uint32_t)magic[2] << 16 | (uint32_t)magic[3] << 24;
    if (got != 4 || m != BIGWIG_MAGIC) {
        hd_errorf("'%s' is not a bigWig file", path);
        return -1;
    }
    bigWigFile_t *bw = bwOpen((char *)path, NULL, "r");
    if (!bw) { hd_errorf("cannot read bigWig file '%s' (damaged?)", path); return -1; }
    int rc = -1;
    uint32_t tid = bwGetTid(bw, r->chrom);
    if (tid == (uint32_t)-1) {
        hd_errorf("option -r: contig %s is not in bigWig file '%s'", r->chrom, path);
        goto out;
    }
    int64_t len = bw->cl->len[tid];
    if (r->end == INT64_MAX) r->end = len;
    if (r->beg >= len || r->end > len) {
        hd_errorf("option -r: %s:%" PRId64 "-%" PRId64 " reaches outside contig %s (length %" PRId64 ") of '%s'", r->chrom,
                  r->beg + 1, r->end, r->chrom, len, path);
        goto out;
    }
    if (check_width(r)) goto out;
    bwOverlappingIntervals_t *o = bwGetValues(bw, r->chrom, (uint32_t)r->beg, (uint32_t)r->end, 1);
    if (!o || o->l != (uint32_t)(r->end - r->beg)) {
        hd_errorf("cannot read %s:%" PRId64 "-%" PRId64 " from bigWig file '%s' (damaged?)", r->chrom, r->beg + 1, r->end,
                  path);
        if (o) bwDestroyOverlappingIntervals(o);
        goto out;
    }
    float *v = malloc(o->l * sizeof *v);
    if (!v) { hd_errorf("out of memory"); bwDestroyOverlappingIntervals(o); goto out; }
    memcpy(v, o->value, o->l * sizeof *v);
    bwDestroyOverlappingIntervals(o);
    *out = v;
    rc = 0;
out:
    bwClose(bw);
    return rc;
}

/* ---------------------------------------------------------------- main */

int main_plot(int argc, char **argv)
{
    enum { OPT_SNV = OPT_COMMON_END, OPT_BIGWIG, OPT_TITLE, OPT_STRIP, OPT_VMAX, OPT_PNG };
    static const struct option lo[] = {
        {"snv", required_argument, NULL, OPT_SNV}, {"bigwig", required_argument, NULL, OPT_BIGWIG},
        {"region", required_argument, NULL, 'r'}, {"fasta-ref", required_argument, NULL, 'f'},
        {"title", required_argument, NULL, OPT_TITLE}, {"strip", required_argument, NULL, OPT_STRIP},
        {"vmax", required_argument, NULL, OPT_VMAX}, {"output", required_argument, NULL, 'o'},
        {"png", no_argument, NULL, OPT_PNG}, {"verbosity", required_argument, NULL, OPT_VERBOSITY},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    hd_common_opts co = {0};
    const char *snv = NULL, *bigwig = NULL, *reg = NULL, *fasta = NULL, *title = NULL, *out = "-";
    long strip = HD_PLOT_STRIP;
    double vmax = 0;
    int c, png = 0, bw_inited = 0;
    while ((c = getopt_long(argc, argv, "r:f:o:h", lo, NULL)) >= 0) {
        int rr = hd_common_opt(&co, c, optarg);
        if (rr < 0) return EXIT_INPUT;
        if (rr) continue;
        switch (c) {
        case OPT_SNV: snv = optarg; break;
        case OPT_BIGWIG: bigwig = optarg; break;
        case 'r': reg = optarg; break;
        case 'f': fasta = optarg; break;
        case OPT_TITLE: title = optarg; break;
        case OPT_STRIP: if (hd_parse_long("--strip", optarg, 1, HD_PLOT_MAX_POSITIONS, &strip)) return EXIT_INPUT; break;
        case OPT_VMAX: if (hd_parse_double("--vmax", optarg, 1e-30, 1e30, &vmax)) return EXIT_INPUT; break;
        case 'o': out = optarg; break;
        case OPT_PNG: png = 1; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_INPUT;
        }
    }
    if (optind < argc) { hd_errorf("unexpected argument '%s'", argv[optind]); usage(stderr); return EXIT_INPUT; }
    if (!snv == !bigwig) {
        hd_errorf(snv ? "give --snv or --bigwig, not both" : "nothing to draw: give --snv TABLE or --bigwig FILE.bw");
        usage(stderr);
        return EXIT_INPUT;
    }
    if (!reg) { hd_errorf("a region is needed: -r CHR:BEG-END"); return EXIT_INPUT; }
    if (hd_plot_is_png(out)) png = 1;
    if (png && hd_refuse_tty_output(out, "binary PNG")) return EXIT_INPUT;
    if (png && hd_plot_png_check()) return hd_fail();

    region r = {0};
    if (parse_region(reg, &r) || check_width(&r)) { free(r.chrom); return EXIT_INPUT; }
    int status = EXIT_INPUT;
    faidx_t *fai = NULL;
    char *refseq = NULL, *svg = NULL;
    snv_rows rows = {0};
    double *llr = NULL;
    enum { MAXT = 16 };
    hd_plot_track tr[MAXT];
    char *tnames[MAXT] = {0};
    float *tvals[MAXT] = {0};
    int nt = 0;
    size_t len = 0;
    kstring_t ks = {0, 0, NULL};

    if (snv) {
        if (read_snv(snv, &r, &rows)) goto done;
        if (r.end == INT64_MAX) {   /* CHR alone: the rows' extent */
            if (!rows.n) { hd_errorf("%s: no SNV of contig %s", snv, r.chrom); goto done; }
            r.beg = rows.lo, r.end = rows.hi;
        }
        if (!rows.n) {
            hd_errorf("%s: no SNV in %s:%" PRId64 "-%" PRId64, snv, r.chrom, r.beg + 1, r.end);
            goto done;
        }
        if (rows.skipped) hd_infof("%s: %ld rows that are not single-base substitutions ignored", snv, rows.skipped);
    } else {
        if (bwInit(1 << 17)) { hd_errorf("cannot initialise libBigWig"); status = EXIT_MODEL; goto done; }
        bw_inited = 1;
        kputs("bigWig: ", &ks);
        for (const char *p = bigwig; *p;) {
            size_t l = strcspn(p, ",");
            if (l) {
                if (nt == MAXT) { hd_errorf("option --bigwig: more than %d files", MAXT); goto done; }
                char *path = strndup(p, l);
                if (!path) { hd_errorf("out of memory"); goto done; }
                tnames[nt] = bw_track_name(path);
                int e = !tnames[nt] || read_bigwig(path, &r, &tvals[nt]);
                const char *base = strrchr(path, '/');
                ksprintf(&ks, "%s%s", nt ? ", " : "", base ? base + 1 : path);
                free(path);
                tr[nt] = (hd_plot_track){tnames[nt], tvals[nt]};
                nt++;
                if (e) goto done;
            }
            p += l;
            if (*p == ',') p++;
        }
        if (!nt) { hd_errorf("option --bigwig: no file named"); goto done; }
    }
    hd_plot_region pr = {r.chrom, r.beg, (size_t)(r.end - r.beg), NULL, title, NULL};
    if (fasta) {
        if (!(fai = hd_faidx_open(fasta))) { status = hd_fail(); goto done; }
        if (!faidx_has_seq(fai, r.chrom)) { hd_errorf("contig %s is not in the reference '%s'", r.chrom, fasta); goto done; }
        if (r.end > faidx_seq_len(fai, r.chrom)) {
            hd_errorf("%s:%" PRId64 "-%" PRId64 " reaches past the end of contig %s in '%s'", r.chrom, r.beg + 1, r.end,
                      r.chrom, fasta);
            goto done;
        }
        if (!(refseq = hd_faidx_fetch(fai, fasta, r.chrom, r.beg, r.end))) { status = hd_fail(); goto done; }
        for (char *q = refseq; *q; q++)
            if (*q >= 'a' && *q <= 'z') *q -= 32;
        pr.ref = refseq;
    }
    if (snv) {
        size_t n = pr.n;
        char *ref = malloc(n + 1);
        llr = malloc(4 * n * sizeof *llr);
        if (!ref || !llr) { free(ref); hd_errorf("out of memory"); status = EXIT_MODEL; goto done; }
        for (size_t i = 0; i < n; i++) ref[i] = refseq ? refseq[i] : 'N';
        ref[n] = 0;
        for (size_t i = 0; i < 4 * n; i++) llr[i] = NAN;
        unsigned char *seen = calloc(n, 1);
        if (!seen) { free(ref); hd_errorf("out of memory"); status = EXIT_MODEL; goto done; }
        for (size_t k = 0; k < rows.n; k++) {
            snv_row *w = &rows.v[k];
            size_t i = (size_t)(w->pos - r.beg);
            char rb = "ACGT"[(int)w->ref];
            if (seen[i] && ref[i] != rb) {
                hd_errorf("%s: two REF bases at %s:%" PRId64 " (%c and %c)", snv, r.chrom, w->pos + 1, ref[i], rb);
                free(ref), free(seen);
                goto done;
            }
            if (!seen[i] && refseq && strchr("ACGT", refseq[i]) && refseq[i] != rb) {
                hd_errorf("%s: the REF base %c at %s:%" PRId64 " is %c in the reference '%s'", snv, rb, r.chrom, w->pos + 1,
                          refseq[i], fasta);
                free(ref), free(seen);
                goto done;
            }
            if (seen[i] & (1 << w->alt)) {
                hd_errorf("%s: two rows for %s:%" PRId64 " %c>%c", snv, r.chrom, w->pos + 1, rb, "ACGT"[(int)w->alt]);
                free(ref), free(seen);
                goto done;
            }
            seen[i] |= (unsigned char)(1 << w->alt) | 0x10;
            ref[i] = rb;
            llr[4 * i + w->alt] = w->llr;
        }
        free(seen);
        pr.ref = ref;
        const char *b = strrchr(snv, '/');
        ksprintf(&ks, "LLRs from %s", b ? b + 1 : snv);
        pr.subtitle = ks.s;
        hd_plot_heatmap_opts ho = {(size_t)strip, vmax};
        svg = hd_plot_heatmap_svg(&pr, llr, &ho, &len);
        free(ref);
    } else {
        pr.subtitle = ks.s;
        svg = hd_plot_tracks_svg(&pr, tr, nt, &len);
    }
    if (!svg || hd_plot_write(out, svg, len, png)) { status = hd_fail(); goto done; }
    status = EXIT_OK;
done:
    if (bw_inited) bwCleanup();
    for (int k = 0; k < nt; k++) free(tnames[k]), free(tvals[k]);
    free(ks.s);
    free(svg);
    free(llr);
    free(rows.v);
    free(refseq);
    if (fai) fai_destroy(fai);
    free(r.chrom);
    return status;
}
