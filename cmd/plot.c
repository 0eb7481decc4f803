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
#include <sys/stat.h>
#include <unistd.h>

#include "input.h"
#include "output.h"
#include "plot.h"
#include "regions.h"
#include "track.h"

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
    int64_t beg, end;   /* 0-based half-open; end = INT64_MAX: not known yet (no dictionary) */
    int open_end;       /* given as CHR or CHR:BEG */
} region;

/* The region string by the rule of every command (regions.h, hyenadna(1) INPUT FILES) when there is a
 * sequence dictionary (the FASTA of -f, or the first bigWig's chromosomes); an SNV table without -f has
 * none, and then CHR, CHR:BEG or CHR:BEG-END is read as it is, unchecked. */
static int parse_region(const char *s, const hd_contigs *dict, region *r)
{
    hts_pos_t beg = 0, end = 0;
    const char *q = hts_parse_reg64(s, &beg, &end);
    r->open_end = q && end >= HTS_POS_MAX;
    if (dict) {
        hd_region g;
        if (hd_region_parse(s, dict, &g)) { hd_errorf("option -r: %s", hd_error()); return -1; }
        r->chrom = g.chrom, r->beg = g.beg, r->end = g.end;
        return 0;
    }
    if (!q || q == s || beg < 0 || end <= beg) {
        hd_errorf("option -r: '%s' is not a region (CHR:BEG-END, 1-based and inclusive, or CHR)", s);
        return -1;
    }
    if (!(r->chrom = strndup(s, (size_t)(q - s)))) { hd_set_oom(NULL); return hd_fail(), -1; }
    r->beg = beg;
    r->end = r->open_end ? INT64_MAX : end;
    return 0;
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

/* One data line, kept when it is an SNV in the region; 0 or an exit status (the error printed). */
static int snv_line(const char *path, kstring_t *line, long lineno, const snv_cols *hc, const region *r, snv_rows *rows)
{
    int nf = 0;
    int *off = ksplit(line, '\t', &nf);
    if (!off) { hd_set_oom(NULL); return hd_fail(); }
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
        return EXIT_INPUT;
    }
    const char *chrom = line->s + off[c.chrom], *ps = line->s + off[c.pos], *ls = line->s + off[c.llr];
    int rc = 0;
    if (strcmp(chrom, r->chrom)) goto done;
    char *e;
    errno = 0;
    long long pos = strtoll(ps, &e, 10);
    if (!*ps || *e || errno || pos < 1) {
        hd_errorf("%s: %s: '%s' is not a position (1-based)", path, where, ps);
        rc = EXIT_INPUT;
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
            rc = EXIT_INPUT;
            goto done;
        }
    }
    if (rows->n == rows->m) {
        size_t m = rows->m ? 2 * rows->m : 1024;
        snv_row *nv = realloc(rows->v, m * sizeof *nv);
        if (!nv) { hd_set_oom(NULL); rc = hd_fail(); goto done; }
        rows->v = nv, rows->m = m;
    }
    rows->v[rows->n++] = (snv_row){pos - 1, (char)rb, (char)ab, v};
    if (rows->n == 1 || pos - 1 < rows->lo) rows->lo = pos - 1;
    if (rows->n == 1 || pos > rows->hi) rows->hi = pos;
    if (rows->hi - rows->lo > HD_PLOT_MAX_POSITIONS) {
        hd_errorf("%s: the rows of %s span more than %d positions: give a narrower region with -r", path, r->chrom,
                  HD_PLOT_MAX_POSITIONS);
        rc = EXIT_INPUT;
        goto done;
    }
done:
    free(off);
    return rc;
}

/* Read the SNVs of the region (through the tabix index when there is one); the columns are named by the
 * last '#' line before the data.  0 or an exit status (the error printed). */
static int read_snv(const char *path, const region *r, snv_rows *rows)
{
    enum htsLogLevel lvl = hts_get_log_level();
    hts_set_log_level(HTS_LOG_OFF);   /* the error below says it once */
    htsFile *fp = hd_input_hts_open(path);
    hts_set_log_level(lvl);
    if (!fp) return hd_fail();
    kstring_t line = {0, 0, NULL}, hdr = {0, 0, NULL};
    snv_cols cols = {-1, -1, -1, -1, -1, 0};
    long lineno = 0;
    int rc = EXIT_INPUT, got, first_data = 0;
    while ((got = hts_getline(fp, KS_SEP_LINE, &line)) >= 0) {
        lineno++;
        if (line.l && line.s[line.l - 1] == '\r') line.s[--line.l] = 0;
        if (line.l && line.s[0] == '#') {
            hdr.l = 0;
            if (kputs(line.s, &hdr) < 0) { hd_set_oom(NULL); rc = hd_fail(); goto out; }
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
    tbx_t *tbx = fp->format.compression == bgzf && strcmp(path, "-") ? tbx_index_load3(path, NULL, HTS_IDX_SILENT_FAIL) : NULL;
    hts_set_log_level(lvl);
    if (tbx) {
        hd_infof("reading %s through its tabix index", path);
        int tid = tbx_name2id(tbx, r->chrom);
        rc = 0;
        if (tid >= 0) {
            hts_itr_t *itr = tbx_itr_queryi(tbx, tid, r->beg, r->end == INT64_MAX ? HTS_POS_MAX : r->end);
            if (!itr) { hd_errorf("%s: cannot query the tabix index for %s", path, r->chrom); rc = EXIT_INPUT; }
            while (itr && (got = tbx_itr_next(fp, tbx, itr, &line)) >= 0)
                if (line.l && line.s[0] != '#' && (rc = snv_line(path, &line, 0, &cols, r, rows))) break;
            if (itr && got < -1 && !rc) { hd_errorf("%s: read error in %s", path, r->chrom); rc = EXIT_INPUT; }
            if (itr) tbx_itr_destroy(itr);
        }
        tbx_destroy(tbx);
        goto out;
    }
    if (first_data) {
        do {
            if (line.l && line.s[line.l - 1] == '\r') line.s[--line.l] = 0;
            if (!line.l || line.s[0] == '#') continue;
            if ((rc = snv_line(path, &line, lineno, &cols, r, rows))) goto out;
        } while ((got = hts_getline(fp, KS_SEP_LINE, &line)) >= 0 && ++lineno);
        if (got < -1) { hd_errorf("%s: read error at line %ld", path, lineno + 1); rc = EXIT_INPUT; goto out; }
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

/* Open a bigWig file (checking its magic number and its size first: libBigWig prints to stderr on other
 * files, and crashes on truncated ones). */
static bigWigFile_t *open_bigwig(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char magic[4] = {0};
    if (!f) { hd_errorf("cannot open bigWig file '%s': %s", path, strerror(errno)); return NULL; }
    if (hd_out_note_input(path)) {   /* -o naming it must not replace it (hyenadna(1) OUTPUT FILES) */
        hd_errorf("%s", hd_error());
        fclose(f);
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
        hd_errorf("'%s' is not a bigWig file (not a regular file)", path);
        fclose(f);
        return NULL;
    }
    size_t got = fread(magic, 1, 4, f);
    uint32_t m = (uint32_t)magic[0] | (uint32_t)magic[1] << 8 | (uint32_t)magic[2] << 16 | (uint32_t)magic[3] << 24;
    if (got != 4 || m != BIGWIG_MAGIC) {
        hd_errorf("'%s' is not a bigWig file", path);
        fclose(f);
        return NULL;
    }
    const char *why = hd_bw_damage(f, (uint64_t)st.st_size);
    fclose(f);
    if (why) {
        hd_errorf("cannot read bigWig file '%s': %s", path, why);
        return NULL;
    }
    bigWigFile_t *bw = bwOpen((char *)path, NULL, "r");
    if (!bw || !bw->cl) {
        hd_errorf("cannot read bigWig file '%s' (damaged?)", path);
        if (bw) bwClose(bw);
        return NULL;
    }
    return bw;
}

/* The chromosomes of a bigWig file as a sequence dictionary. */
static hd_contigs *bigwig_contigs(bigWigFile_t *bw, const char *path)
{
    int64_t n = bw->cl->nKeys;
    int64_t *len = malloc((n ? (size_t)n : 1) * sizeof *len);
    if (!len) { hd_set_oom(NULL); return NULL; }
    for (int64_t i = 0; i < n; i++) len[i] = bw->cl->len[i];
    hd_contigs *c = n > INT32_MAX ? NULL : hd_contigs_from_list((int)n, (const char *const *)bw->cl->chrom, len, path);
    free(len);
    if (!c && n > INT32_MAX) hd_set_error(HD_EINPUT, "'%s' has %" PRId64 " chromosomes", path, n);
    return c;
}

/* The values of a bigWig file over the region (NaN = no value); 0 or an exit status. */
static int read_bigwig(bigWigFile_t *bw, const char *path, const region *r, float **out)
{
    uint32_t tid = bwGetTid(bw, r->chrom);
    if (tid == (uint32_t)-1) {
        hd_errorf("option -r: contig %s is not in bigWig file '%s'", r->chrom, path);
        return EXIT_INPUT;
    }
    int64_t len = bw->cl->len[tid];
    if (r->beg >= len || r->end > len) {
        hd_errorf("option -r: %s:%" PRId64 "-%" PRId64 " reaches outside contig %s (length %" PRId64 ") of '%s'", r->chrom,
                  r->beg + 1, r->end, r->chrom, len, path);
        return EXIT_INPUT;
    }
    bwOverlappingIntervals_t *o = bwGetValues(bw, r->chrom, (uint32_t)r->beg, (uint32_t)r->end, 1);
    if (!o || o->l != (uint32_t)(r->end - r->beg)) {
        hd_errorf("cannot read %s:%" PRId64 "-%" PRId64 " from bigWig file '%s' (damaged?)", r->chrom, r->beg + 1, r->end,
                  path);
        if (o) bwDestroyOverlappingIntervals(o);
        return EXIT_INPUT;
    }
    float *v = malloc(o->l * sizeof *v);
    if (v) memcpy(v, o->value, o->l * sizeof *v);
    bwDestroyOverlappingIntervals(o);
    if (!v) { hd_set_oom(NULL); return hd_fail(); }
    *out = v;
    return 0;
}

/* ---------------------------------------------------------------- parse, read, draw */

enum { MAXT = 16 };   /* bigWig files of one picture */

typedef struct {
    /* options */
    const char *snv, *bigwig, *reg, *fasta, *title, *out;
    long strip;
    double vmax;
    int png;
    /* state */
    faidx_t *fai;
    hd_contigs *dict;       /* the sequence dictionary of the region (-f, else the first bigWig), or NULL */
    region r;
    char *refseq;           /* [r.end - r.beg] with -f */
    snv_rows rows;
    int nt, bw_inited;
    char *path[MAXT], *tname[MAXT];
    bigWigFile_t *bw[MAXT];
    float *tval[MAXT];
    kstring_t sub;          /* the subtitle */
} ctx;

/* 0 parsed, 1 --help printed, -1 usage error (printed) */
static int parse_args(int argc, char **argv, ctx *x)
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
    x->out = "-";
    x->strip = HD_PLOT_STRIP;
    int c;
    while ((c = getopt_long(argc, argv, "r:f:o:h", lo, NULL)) >= 0) {
        int r = hd_common_opt(&co, c, optarg);
        if (r < 0) return -1;
        if (r) continue;
        switch (c) {
        case OPT_SNV: x->snv = optarg; break;
        case OPT_BIGWIG: x->bigwig = optarg; break;
        case 'r': x->reg = optarg; break;
        case 'f': x->fasta = optarg; break;
        case OPT_TITLE: x->title = optarg; break;
        case OPT_STRIP: if (hd_parse_long("--strip", optarg, 1, HD_PLOT_MAX_POSITIONS, &x->strip)) return -1; break;
        case OPT_VMAX: if (hd_parse_double("--vmax", optarg, 1e-30, 1e30, &x->vmax)) return -1; break;
        case 'o': x->out = optarg; break;
        case OPT_PNG: x->png = 1; break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) { hd_errorf("unexpected argument '%s'", argv[optind]); usage(stderr); return -1; }
    if (!x->snv == !x->bigwig) {
        hd_errorf(x->snv ? "give --snv or --bigwig, not both" : "nothing to draw: give --snv TABLE or --bigwig FILE.bw");
        usage(stderr);
        return -1;
    }
    if (!x->reg) { hd_errorf("a region is needed: -r CHR:BEG-END"); return -1; }
    if (hd_plot_is_png(x->out)) x->png = 1;
    return 0;
}

/* The bigWig files (opened), the reference, the sequence dictionary and the region; 0 or an exit status. */
static int open_inputs(ctx *x)
{
    if (x->png && hd_refuse_tty_output(x->out, "binary PNG")) return EXIT_INPUT;
    if (x->png && hd_plot_png_check()) return hd_fail();
    if (x->bigwig) {
        if (bwInit(1 << 17)) { hd_set_error(HD_ERESOURCE, "cannot initialise libBigWig"); return hd_fail(); }
        x->bw_inited = 1;
        kputs("bigWig: ", &x->sub);
        for (const char *p = x->bigwig; *p;) {
            size_t l = strcspn(p, ",");
            if (l) {
                if (x->nt == MAXT) { hd_errorf("option --bigwig: more than %d files", MAXT); return EXIT_INPUT; }
                int k = x->nt++;
                if (!(x->path[k] = strndup(p, l)) || !(x->tname[k] = bw_track_name(x->path[k]))) {
                    hd_set_oom(NULL);
                    return hd_fail();
                }
                for (int j = 0; j < k; j++)   /* one panel per track, named by the file's .NAME.bw suffix */
                    if (!strcasecmp(x->tname[j], x->tname[k])) {
                        if (!strcmp(x->path[j], x->path[k])) hd_errorf("option --bigwig: '%s' given twice", x->path[k]);
                        else hd_errorf("option --bigwig: '%s' and '%s' are both the '%s' track (one panel per track "
                                  "name: draw them in two pictures)", x->path[j], x->path[k], x->tname[k]);
                        return EXIT_INPUT;
                    }
                if (!(x->bw[k] = open_bigwig(x->path[k]))) return EXIT_INPUT;
                const char *b = strrchr(x->path[k], '/');
                ksprintf(&x->sub, "%s%s", k ? ", " : "", b ? b + 1 : x->path[k]);
            }
            p += l;
            if (*p == ',') p++;
        }
        if (!x->nt) { hd_errorf("option --bigwig: no file named"); return EXIT_INPUT; }
    }
    if (x->fasta) {
        if (!(x->fai = hd_faidx_open(x->fasta)) || !(x->dict = hd_contigs_from_fai(x->fai, x->fasta))) return hd_fail();
    } else if (x->bigwig && !(x->dict = bigwig_contigs(x->bw[0], x->path[0]))) return hd_fail();
    if (parse_region(x->reg, x->dict, &x->r)) return EXIT_INPUT;
    return 0;
}

/* The SNVs of the region; a region without an end is cut to the span of the rows.  0 or an exit status. */
static int load_snv(ctx *x)
{
    region *r = &x->r;
    int st = read_snv(x->snv, r, &x->rows);
    if (st) return st;
    if (!x->rows.n) {
        /* a region without an end (CHR, CHR:BEG: no dictionary without -f) is named as it was given, not with
         * htslib's largest position as its end */
        if (r->end == INT64_MAX && !r->beg) hd_errorf("%s: no SNV in %s", x->snv, r->chrom);
        else if (r->end == INT64_MAX) hd_errorf("%s: no SNV in %s:%" PRId64 "-", x->snv, r->chrom, r->beg + 1);
        else hd_errorf("%s: no SNV in %s:%" PRId64 "-%" PRId64, x->snv, r->chrom, r->beg + 1, r->end);
        return EXIT_INPUT;
    }
    if (r->open_end) {
        if (r->beg < x->rows.lo) r->beg = x->rows.lo;
        r->end = x->rows.hi;
    }
    if (x->rows.skipped)
        hd_infof("%s: %ld rows that are not single-base substitutions ignored", x->snv, x->rows.skipped);
    const char *b = strrchr(x->snv, '/');
    ksprintf(&x->sub, "LLRs from %s", b ? b + 1 : x->snv);
    return 0;
}

/* The reference bases of the region (-f); 0 or an exit status. */
static int load_ref(ctx *x)
{
    if (!x->fai) return 0;
    if (!(x->refseq = hd_faidx_fetch(x->fai, x->fasta, x->r.chrom, x->r.beg, x->r.end))) return hd_fail();
    for (char *q = x->refseq; *q; q++)
        if (*q >= 'a' && *q <= 'z') *q -= 32;
    return 0;
}

/* The heatmap of the SNVs: per position the reference base (the table's, else -f's) and 4 LLRs. */
static int draw_heatmap(ctx *x, hd_plot_region *pr, char **svg, size_t *len)
{
    size_t n = pr->n;
    char *ref = malloc(n + 1);
    double *llr = malloc(4 * n * sizeof *llr);
    unsigned char *seen = calloc(n, 1);
    int st = EXIT_INPUT;
    if (!ref || !llr || !seen) { hd_set_oom(NULL); st = hd_fail(); goto out; }
    /* a position without rows and without -f has an unknown base: '?' (its cell reads "POS ?: no scores") */
    for (size_t i = 0; i < n; i++) ref[i] = x->refseq ? x->refseq[i] : '?';
    ref[n] = 0;
    for (size_t i = 0; i < 4 * n; i++) llr[i] = NAN;
    for (size_t k = 0; k < x->rows.n; k++) {
        const snv_row *w = &x->rows.v[k];
        if (w->pos < x->r.beg || w->pos >= x->r.end) continue;
        size_t i = (size_t)(w->pos - x->r.beg);
        char rb = "ACGT"[(int)w->ref], ab = "ACGT"[(int)w->alt];
        if (seen[i] && ref[i] != rb) {
            hd_errorf("%s: two REF bases at %s:%" PRId64 " (%c and %c)", x->snv, x->r.chrom, w->pos + 1, ref[i], rb);
            goto out;
        }
        if (!seen[i] && x->refseq && strchr("ACGT", x->refseq[i]) && x->refseq[i] != rb) {
            hd_errorf("%s: the REF base %c at %s:%" PRId64 " is %c in the reference '%s'", x->snv, rb, x->r.chrom,
                      w->pos + 1, x->refseq[i], x->fasta);
            goto out;
        }
        if (seen[i] & (1 << w->alt)) {
            hd_errorf("%s: two rows for %s:%" PRId64 " %c>%c", x->snv, x->r.chrom, w->pos + 1, rb, ab);
            goto out;
        }
        seen[i] |= (unsigned char)(1 << w->alt);
        ref[i] = rb;
        llr[4 * i + w->alt] = w->llr;
    }
    pr->ref = ref;
    hd_plot_heatmap_opts ho = {(size_t)x->strip, x->vmax};
    st = (*svg = hd_plot_heatmap_svg(pr, llr, &ho, len)) ? 0 : hd_fail();
out:
    free(ref);
    free(llr);
    free(seen);
    return st;
}

static void ctx_free(ctx *x)
{
    for (int k = 0; k < x->nt; k++) {
        if (x->bw[k]) bwClose(x->bw[k]);
        free(x->path[k]), free(x->tname[k]), free(x->tval[k]);
    }
    if (x->bw_inited) bwCleanup();
    free(x->rows.v);
    free(x->refseq);
    free(x->sub.s);
    free(x->r.chrom);
    hd_contigs_free(x->dict);
    if (x->fai) fai_destroy(x->fai);
}

/* ---------------------------------------------------------------- main */

int main_plot(int argc, char **argv)
{
    ctx X = {0}, *x = &X;
    int st = parse_args(argc, argv, x);
    if (st) return st > 0 ? EXIT_OK : EXIT_INPUT;
    char *svg = NULL;
    size_t len = 0;
    if ((st = open_inputs(x)) || (x->snv && (st = load_snv(x)))) goto done;
    if (check_width(&x->r)) { st = EXIT_INPUT; goto done; }
    if ((st = load_ref(x))) goto done;
    hd_plot_region pr = {x->r.chrom, x->r.beg, (size_t)(x->r.end - x->r.beg), x->refseq, x->title, x->sub.s};
    if (x->snv) {
        if ((st = draw_heatmap(x, &pr, &svg, &len))) goto done;
    } else {
        hd_plot_track tr[MAXT];
        for (int k = 0; k < x->nt; k++) {
            if ((st = read_bigwig(x->bw[k], x->path[k], &x->r, &x->tval[k]))) goto done;
            tr[k] = (hd_plot_track){x->tname[k], x->tval[k]};
        }
        if (!(svg = hd_plot_tracks_svg(&pr, tr, x->nt, &len))) { st = hd_fail(); goto done; }
    }
    if (hd_plot_write(x->out, svg, len, x->png)) st = hd_fail();
done:
    free(svg);
    ctx_free(x);
    return st;
}
