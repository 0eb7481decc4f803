/* score_variants.c -- `hyenadna score-variants`: VCF/BCF in, every record out, annotated with model
 * scores (HDNA_LLR, HDNA_EDIST); or saturation mutagenesis of a region (--all-snvs).  parse -> check ->
 * run -> report: the records are read by src/vcfin.c, checked and planned by src/vcfscore.c and scored by
 * src/varscore.c; this file parses the options, opens the inputs and the output, and writes. */
#define _GNU_SOURCE
#include "config.h"
#include "common.h"

#include <errno.h>
#include <htslib/hts.h>
#include <htslib/kstring.h>
#include <htslib/vcf.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "output.h"
#include "plot.h"
#include "regions.h"
#include "shard.h"
#include "varscore.h"
#include "vcfin.h"
#include "vcfscore.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: hyenadna score-variants [options] -f REF.fa [-m MODEL] <in.vcf>|<in.vcf.gz>|<in.bcf>|-\n"
            "       hyenadna score-variants [options] -f REF.fa [-m MODEL] --all-snvs -r CHR:BEG-END\n"
            "\n"
            "Score every ALT allele of every record with a DNA language model and write every record back\n"
            "(those of the regions and targets when given), in input order and otherwise unchanged, with\n"
            "the INFO tags HDNA_LLR (log-likelihood ratio of ALT against REF) and HDNA_EDIST (cosine\n"
            "distance of the mean-pooled embeddings), Number=A.\n"
            "Records that cannot be scored pass through unannotated and are counted on stderr.\n"
            "\n"
            "Input options:\n"
            "  -f, --fasta-ref FILE   reference FASTA (plain or bgzip; .fai made when absent)\n"
            "                         [the VCF's ##reference= file, else $HYENADNA_REF]\n"
            "      --all-snvs         score the 3 other bases at every position of the -r region (no VCF)\n"
            "  -r, --regions REG      only the records overlapping these regions, comma-separated CHR,\n"
            "                         CHR:BEG or CHR:BEG-END (1-based, inclusive), read through the input's\n"
            "                         index (.tbi/.csi); with --all-snvs the one region to mutate\n"
            "  -R, --regions-file F   the same from a file (.bed 0-based, else CHR POS or CHR BEG END 1-based)\n"
            "  -t, --targets [^]REG   only the records whose POS lies in these regions (^: in none of them),\n"
            "                         the input streamed (no index needed)\n"
            "  -T, --targets-file [^]F  the same from a file\n"
            "      --strict           a REF allele that does not match the reference (or a contig it lacks) is an error\n"
            "Scoring options:\n"
            "  -s, --score MODE       window, prefix (causal models), masked or unmasked (masked models)\n"
            "                         [window for causal models, masked for masked models]\n"
            "  -w, --window INT       window width in bases [min(1024, the model's maximum length)]\n"
            "      --chunk INT        reference chunk length of prefix/unmasked modes [the model's maximum]\n"
            "      --overlap INT      overlap of consecutive chunks, < chunk [chunk/2, as track]\n"
            "      --rc               average every score over the forward strand and the reverse complement\n"
            "      --llr STR          sum or mean: each window's log-likelihood summed over its positions,\n"
            "                         or divided by their number [sum]\n"
            "      --edist            compute HDNA_EDIST [on in window mode, off in the other modes]\n"
            "      --no-edist         do not compute HDNA_EDIST\n"
            "      --batch INT        records scored together (windows shared and run in parallel) [2048]\n"
            "      --shard I/N        score and write only the I-th of N contiguous blocks of the records\n"
            "                         (with --all-snvs: of the positions of the region), 1-based; the N\n"
            "                         outputs joined in shard order (bcftools concat) are the whole run's\n"
            "                         records (not with input '-')\n"
            "Output options:\n"
            "  -o, --output FILE      write to FILE [standard output]\n"
            "  -O, --output-type T    v VCF, z bgzipped VCF, b BCF, u uncompressed BCF, t TSV\n"
            "                         [from the -o suffix (.vcf .vcf.gz .bcf; .tsv .txt, .gz too), else v;\n"
            "                         t with --all-snvs]\n"
            "  -W, --write-index      index bgzipped VCF (.tbi; .csi past position 2^29) or BCF (.csi) output\n"
            "                         (the input must be sorted)\n"
            "      --no-version       do not add the ##hyenadna_score-variants* header lines\n"
            "      --plot FILE        with --all-snvs: also draw the scores as a heatmap, SVG (PNG when FILE\n"
            "                         ends in .png; see man hyenadna-plot) [none]\n");
    hd_common_usage(fp);
}

/* ---------------------------------------------------------------- state */

typedef struct {
    bcf1_t *rec;
    hd_vr_plan plan;
} item;

typedef struct {
    /* options */
    int strict, otype, clevel, write_index, no_version, all_snvs;
    const char *out, *in, *region, *regfile, *targets, *tgfile;
    hd_vs_opts vo;
    char **argv;
    int argc;
    hd_common_opts co;
    const char *fasta, *score;
    long window, chunk, overlap, nbatch;   /* nbatch: records scored together (--batch) */
    int edist;
    hd_shard shard;
    /* state */
    hd_regions regs, tgs;  /* -r/-R, -t/-T on a VCF (tg_exclude: ^) */
    int tg_exclude;
    hd_vcfin *vin;
    bcf_hdr_t *ihdr;       /* the input's header (vin's), or the one made for --all-snvs */
    bcf_hdr_t *snvhdr;     /* owned: the --all-snvs header */
    hd_vsref *ref;
    char *refpath;
    hd_model *m;
    hd_backend *be;
    hd_vs_engine *eng;
    hd_vs_batch *batch;
    hd_vr *vr;
    item *items;
    long nitems;
    hd_vs_snvgen gen;
    int64_t region_beg;    /* --all-snvs: the region's first base (not the shard's) */
    uint64_t rlo, rhi;     /* the records [rlo, rhi) of the input, 0-based, are this shard's */
    htsFile *ofp;
    char *tmp;             /* temporary output name (VCF/BCF to a file) */
    hd_outfile *tsv;
    long nrec, nskip;      /* records read; those outside the --shard block */
    hts_pos_t maxend;      /* the furthest end (0-based, exclusive) of a record written: .tbi or .csi */
    int last_rid;          /* -W: the contig and POS of the record last written, -1 none */
    hts_pos_t last_pos;
    uint8_t *done;         /* -W: [ndone] contigs whose records came before */
    int ndone;
    double *llr, *ed;      /* [fcap]: the scores of a record's ALTs */
    float *fbuf, *ebuf;
    int fcap;
    const char *plot;      /* --plot FILE */
    double *pl_llr;        /* [4 pl_n]: the LLRs of the heatmap (plot.h) */
    int64_t pl_beg;
    size_t pl_n;
} ctx;

/* ---------------------------------------------------------------- records out */

static void fmt_val(kstring_t *ks, double v)
{
    if (isnan(v)) kputc('.', ks);
    else ksprintf(ks, "%.6g", v);
}

static int grow_values(ctx *x, int n)
{
    if (n <= x->fcap) return 0;
    double *a = realloc(x->llr, (size_t)n * sizeof *a);
    if (a) x->llr = a;
    double *b = a ? realloc(x->ed, (size_t)n * sizeof *b) : NULL;
    if (b) x->ed = b;
    float *c = b ? realloc(x->fbuf, (size_t)n * sizeof *c) : NULL;
    if (c) x->fbuf = c;
    float *d = c ? realloc(x->ebuf, (size_t)n * sizeof *d) : NULL;
    if (d) x->ebuf = d;
    if (!d) { hd_set_oom(NULL); return -1; }
    x->fcap = n;
    return 0;
}

/* ---------------------------------------------------------------- --plot (the heatmap of --all-snvs) */

static void model_name(const ctx *x, kstring_t *d);

static void plot_add(ctx *x, bcf1_t *rec, const double *llr, int n)
{
    size_t i = (size_t)(rec->pos - x->pl_beg);
    for (int a = 0; a < n && i < x->pl_n; a++) {
        const char *al = rec->d.allele[a + 1], *b = strchr("ACGT", al[0]);
        if (b && !al[1]) x->pl_llr[4 * i + (b - "ACGT")] = llr[a];
    }
}

/* the region's positions (this shard's block of them); 0 or an exit status */
static int plot_open(ctx *x)
{
    if (hd_plot_is_png(x->plot) && hd_plot_png_check()) return hd_fail();
    x->pl_beg = x->gen.pos;
    x->pl_n = x->gen.end > x->gen.pos ? (size_t)(x->gen.end - x->gen.pos) : 0;
    if (x->pl_n > HD_PLOT_MAX_POSITIONS || !x->pl_n) {
        hd_errorf("option --plot: %s has %zu positions; the heatmap shows 1 to %d", x->region, x->pl_n,
                  HD_PLOT_MAX_POSITIONS);
        return EXIT_INPUT;
    }
    if (!(x->pl_llr = malloc(4 * x->pl_n * sizeof *x->pl_llr))) { hd_set_oom("the heatmap"); return hd_fail(); }
    for (size_t i = 0; i < 4 * x->pl_n; i++) x->pl_llr[i] = NAN;
    return 0;
}

static int plot_write(ctx *x)
{
    if (hd_vsref_load(x->ref, faidx_iseq(hd_vsref_fai(x->ref), x->gen.tid)) <= 0) return -1;
    const hd_vs_contig *c = hd_vsref_contig(x->ref);
    kstring_t sub = {0, 0, NULL};
    kputs("model ", &sub);
    model_name(x, &sub);
    ksprintf(&sub, " (%s) \xc2\xb7 score %s", hd_family_name(x->m->family), hd_vs_mode_name(x->vo.mode));
    if (x->vo.mode == HD_VS_WINDOW || x->vo.mode == HD_VS_MASKED) ksprintf(&sub, ", %zu-bp windows", x->vo.window);
    else ksprintf(&sub, ", %zu-bp chunks", x->vo.chunk);
    if (x->vo.rc) kputs(", mean with the reverse complement", &sub);
    hd_plot_region r = {c->name, x->pl_beg, x->pl_n, hd_vsref_seq(x->ref) + x->pl_beg, NULL, sub.s};
    size_t len = 0;
    char *svg = sub.s ? hd_plot_heatmap_svg(&r, x->pl_llr, NULL, &len) : NULL;
    int rc = svg ? hd_plot_write(x->plot, svg, len, hd_plot_is_png(x->plot)) : -1;
    if (!sub.s) hd_set_oom(NULL);
    free(svg);
    free(sub.s);
    return rc;
}

/* Write one record with its scores (unscored records carry no tags, stale ones removed). */
static int emit(ctx *x, item *it)
{
    bcf1_t *rec = it->rec;
    int n = it->plan.nalt;
    if (grow_values(x, n ? n : 1)) return -1;
    hd_vr_results(x->vr, &it->plan, x->llr, x->ed);
    if (x->pl_llr) plot_add(x, rec, x->llr, n);
    int have_llr = 0, have_ed = 0;
    for (int a = 0; a < n; a++) {
        have_llr |= !isnan(x->llr[a]);
        have_ed |= !isnan(x->ed[a]);
        if (isnan(x->llr[a])) bcf_float_set_missing(x->fbuf[a]);
        else x->fbuf[a] = (float)x->llr[a];
        if (isnan(x->ed[a])) bcf_float_set_missing(x->ebuf[a]);
        else x->ebuf[a] = (float)x->ed[a];
    }
    if (x->tsv) {
        kstring_t ks = {0, 0, NULL};
        int rc = 0;
        for (int a = 0; a < (n ? n : 1) && !rc; a++) {
            ks.l = 0;
            ksprintf(&ks, "%s\t%" PRIhts_pos "\t%s\t%s\t%s\t", bcf_seqname(x->ihdr, rec), rec->pos + 1, rec->d.id,
                     rec->d.allele[0], n ? rec->d.allele[a + 1] : ".");
            fmt_val(&ks, n ? x->llr[a] : NAN);
            kputc('\t', &ks);
            fmt_val(&ks, n ? x->ed[a] : NAN);
            kputc('\n', &ks);
            rc = hd_out_write(x->tsv, ks.s, ks.l);
        }
        free(ks.s);
        return rc ? -1 : 0;
    }
    bcf_update_info_float(x->ihdr, rec, "HDNA_LLR", have_llr ? x->fbuf : NULL, have_llr ? n : 0);
    bcf_update_info_float(x->ihdr, rec, "HDNA_EDIST", have_ed ? x->ebuf : NULL, have_ed ? n : 0);
    if (rec->pos + rec->rlen > x->maxend) x->maxend = rec->pos + rec->rlen;
    errno = 0;
    if (bcf_write(x->ofp, x->ihdr, rec) < 0) {
        int is_bcf = x->otype == 'b' || x->otype == 'u';
        if (is_bcf && (rec->pos >= INT32_MAX || rec->rlen >= INT32_MAX))   /* a VCF's POS: BCF holds 32 bits */
            hd_set_error(HD_EINPUT, "%s: cannot write the record at %s:%" PRIhts_pos " as BCF: BCF holds positions "
                         "up to %d (write VCF, -O v or z)", x->out, bcf_seqname(x->ihdr, rec), rec->pos + 1, INT32_MAX);
        else if (rec->errcode & (BCF_ERR_CTG_UNDEF | BCF_ERR_TAG_UNDEF))
            hd_set_error(HD_EINPUT, "%s: cannot write the record at %s:%" PRIhts_pos ": its %s is not declared in the "
                         "VCF header (BCF output needs every contig, FILTER and tag declared): %s, or write VCF "
                         "(-O v or z)", x->out, bcf_seqname(x->ihdr, rec), rec->pos + 1,
                         rec->errcode & BCF_ERR_CTG_UNDEF ? "contig" : "FILTER or tag",
                         rec->errcode & BCF_ERR_CTG_UNDEF ? "add the ##contig lines of the reference first (bcftools "
                                                            "reheader --fai REF.fa.fai)"
                                                          : "declare it first (bcftools annotate -h HEADER_LINES)");
        else if (rec->errcode)
            hd_set_error(HD_EINPUT, "%s: cannot write the malformed record at %s:%" PRIhts_pos " (htslib error code "
                         "%d)", x->out, bcf_seqname(x->ihdr, rec), rec->pos + 1, rec->errcode);
        else
            hd_set_error(HD_ERESOURCE, "%s: write failed: %s", hd_output_name(x->out), errno ? strerror(errno) : "I/O error");
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- output */

static int parse_otype(const char *s, int *otype, int *level)
{
    if (!s[0] || !strchr("vzbut", s[0])) return -1;
    *otype = s[0];
    *level = -1;
    if (s[1]) {
        if (s[1] < '0' || s[1] > '9' || s[2]) return -1;
        *level = s[1] - '0';
    }
    return 0;
}

static int otype_from_name(const char *p)
{
    if (hd_has_suffix(p, ".vcf.gz") || hd_has_suffix(p, ".vcf.bgz")) return 'z';
    if (hd_has_suffix(p, ".bcf")) return 'b';
    if (hd_has_suffix(p, ".vcf")) return 'v';
    if (hd_has_suffix(p, ".tsv") || hd_has_suffix(p, ".tsv.gz") || hd_has_suffix(p, ".txt") || hd_has_suffix(p, ".txt.gz"))
        return 't';
    return 0;
}

/* the model's short name: the last part of its location */
static void model_name(const ctx *x, kstring_t *d)
{
    const char *loc = x->m->location, *slash = strrchr(loc, '/');
    while (slash && !slash[1] && slash > loc) {   /* trailing slash */
        const char *q = slash - 1;
        while (q > loc && *q != '/') q--;
        loc = *q == '/' ? q + 1 : q;
        slash = NULL;
    }
    if (slash) loc = slash + 1;
    ksprintf(d, "%.*s", (int)strcspn(loc, "/\""), loc);
}

static int open_output(ctx *x)
{
    if (x->otype == 't') {
        if (!(x->tsv = hd_out_open(x->out, 1))) return -1;
        const char *h = "#chrom\tpos\tid\tref\talt\tllr\tedist\n";
        return hd_out_write(x->tsv, h, strlen(h));
    }
    /* one header for reading and writing: contigs that htslib adds while parsing stay known to the writer */
    kstring_t name = {0, 0, NULL}, ver = {0, 0, NULL}, cmd = {0, 0, NULL};
    model_name(x, &name);
    ksprintf(&ver, "%s+htslib-%s", PACKAGE_VERSION, hts_version());
    kputs("score-variants", &cmd);
    for (int i = 1; i < x->argc; i++) {
        kputc(' ', &cmd);
        kputs(x->argv[i], &cmd);
    }
    time_t t = time(NULL);
    ksprintf(&cmd, "; Date=%s", ctime(&t));
    if (cmd.l && cmd.s[cmd.l - 1] == '\n') cmd.s[--cmd.l] = 0;
    hd_vs_hdrinfo info = {&x->vo, x->m->location, name.s, hd_family_name(x->m->family),
                          x->no_version ? NULL : ver.s, cmd.s};
    int rc = name.s && ver.s && cmd.s ? hd_vs_header_update(x->ihdr, &info) : (hd_set_oom(NULL), -1);
    if (!rc && !x->snvhdr) rc = hd_vs_declare_contigs(x->ihdr, x->ref);
    free(name.s);
    free(ver.s);
    free(cmd.s);
    if (rc) return -1;
    char mode[8] = "w";
    if (x->otype == 'z') strcat(mode, "z");
    else if (x->otype == 'b') strcat(mode, "b");
    else if (x->otype == 'u') strcat(mode, "bu");
    if (x->clevel >= 0 && x->otype != 'v' && x->otype != 'u') {
        size_t l = strlen(mode);
        mode[l] = (char)('0' + x->clevel);
        mode[l + 1] = 0;
    }
    const char *path = x->out;
    if (!hd_out_in_place(x->out)) {   /* a file: written under a temporary name, renamed when complete */
        if (!(x->tmp = hd_out_tmpname(x->out))) return -1;
        path = x->tmp;
    }
    if (!(x->ofp = hts_open(path, mode))) {
        hd_set_error(HD_ERESOURCE, "cannot open output '%s': %s", x->out, strerror(errno));
        return -1;
    }
    if (bcf_hdr_write(x->ofp, x->ihdr) < 0) {
        hd_set_error(HD_ERESOURCE, "%s: cannot write the header", x->out);
        return -1;
    }
    return 0;
}

static int close_output(ctx *x)
{
    if (x->tsv) {
        int r = hd_out_close(x->tsv);
        x->tsv = NULL;
        return r;
    }
    errno = 0;
    int r = hts_close(x->ofp);
    x->ofp = NULL;
    if (r < 0) {
        hd_set_error(HD_ERESOURCE, "%s: write failed: %s", hd_output_name(x->out),
                     errno ? strerror(errno) : "I/O error");
        return -1;
    }
    if (!x->tmp) return 0;
    char *itmp = NULL, *iname = NULL;
    if (x->write_index) {
        int ms = hd_index_min_shift(x->out, x->maxend, x->otype == 'b' || x->otype == 'u');
        iname = hd_sprintf("%s.%s", x->out, hd_index_ext(ms));
        if (!iname || !(itmp = hd_out_tmpname(iname))) { free(iname); return -1; }
        if (bcf_index_build3(x->tmp, itmp, ms, 0) < 0) {
            hd_set_error(HD_EINPUT, "cannot index '%s' (is it sorted?)", x->out);
            hd_out_discard(itmp);
            free(iname);
            return -1;
        }
    }
    r = hd_out_commit(x->tmp, x->out);
    x->tmp = NULL;
    if (itmp) {
        if (!r) r = hd_index_commit(itmp, iname);
        else hd_out_discard(itmp);
    }
    free(iname);
    return r;
}

static void abort_output(ctx *x)
{
    if (x->tsv) hd_out_abort(x->tsv);
    x->tsv = NULL;
    if (x->ofp) hts_close(x->ofp);
    x->ofp = NULL;
    hd_out_discard(x->tmp);
    x->tmp = NULL;
}

/* ---------------------------------------------------------------- parse and check */

/* 0 parsed, 1 --help printed, -1 usage error (printed) */
static int parse_args(int argc, char **argv, ctx *x)
{
    enum { OPT_STRICT = OPT_COMMON_END, OPT_ALLSNVS, OPT_CHUNK, OPT_OVERLAP, OPT_RC, OPT_EDIST, OPT_NOEDIST, OPT_BATCH,
           OPT_NOVERSION, OPT_SHARD, OPT_LLR, OPT_PLOT };
    static const struct option lo[] = {
        HD_COMMON_LONGOPTS,
        {"fasta-ref", required_argument, NULL, 'f'}, {"all-snvs", no_argument, NULL, OPT_ALLSNVS},
        {"region", required_argument, NULL, 'r'}, {"regions", required_argument, NULL, 'r'},
        {"regions-file", required_argument, NULL, 'R'}, {"targets", required_argument, NULL, 't'},
        {"targets-file", required_argument, NULL, 'T'}, {"strict", no_argument, NULL, OPT_STRICT},
        {"score", required_argument, NULL, 's'}, {"window", required_argument, NULL, 'w'},
        {"chunk", required_argument, NULL, OPT_CHUNK}, {"overlap", required_argument, NULL, OPT_OVERLAP},
        {"rc", no_argument, NULL, OPT_RC}, {"edist", no_argument, NULL, OPT_EDIST},
        {"no-edist", no_argument, NULL, OPT_NOEDIST}, {"batch", required_argument, NULL, OPT_BATCH},
        {"output", required_argument, NULL, 'o'}, {"output-type", required_argument, NULL, 'O'},
        {"write-index", no_argument, NULL, 'W'}, {"no-version", no_argument, NULL, OPT_NOVERSION},
        {"shard", required_argument, NULL, OPT_SHARD}, {"llr", required_argument, NULL, OPT_LLR},
        {"plot", required_argument, NULL, OPT_PLOT}, {NULL, 0, NULL, 0}};
    x->out = "-";
    x->clevel = -1;
    x->argc = argc, x->argv = argv;
    x->window = x->chunk = x->overlap = -1;
    x->nbatch = 2048;
    x->edist = -1;
    x->last_rid = -1;
    int c;
    while ((c = getopt_long(argc, argv, "m:c:@:hf:r:R:t:T:s:w:o:O:W", lo, NULL)) >= 0) {
        int r = hd_common_opt(&x->co, c, optarg);
        if (r < 0) return -1;
        if (r) continue;
        switch (c) {
        case 'f': x->fasta = optarg; break;
        case 'r': x->region = optarg; break;
        case 'R': x->regfile = optarg; break;
        case 't': x->targets = optarg; break;
        case 'T': x->tgfile = optarg; break;
        case OPT_ALLSNVS: x->all_snvs = 1; break;
        case OPT_STRICT: x->strict = 1; break;
        case 's': x->score = optarg; break;
        case 'w': if (hd_parse_long("--window", optarg, 1, 1L << 30, &x->window)) return -1; break;
        case OPT_CHUNK: if (hd_parse_long("--chunk", optarg, 1, 1L << 30, &x->chunk)) return -1; break;
        case OPT_OVERLAP: if (hd_parse_long("--overlap", optarg, 0, 1L << 30, &x->overlap)) return -1; break;
        case OPT_RC: x->vo.rc = 1; break;
        case OPT_EDIST: x->edist = 1; break;
        case OPT_NOEDIST: x->edist = 0; break;
        case OPT_LLR:
            if (strcmp(optarg, "sum") && strcmp(optarg, "mean")) {
                hd_errorf("option --llr: '%s' is not one of sum, mean", optarg);
                return -1;
            }
            x->vo.llr_mean = !strcmp(optarg, "mean");
            break;
        case OPT_BATCH: if (hd_parse_long("--batch", optarg, 1, 1L << 24, &x->nbatch)) return -1; break;
        case 'o': x->out = optarg; break;
        case 'O':
            if (parse_otype(optarg, &x->otype, &x->clevel)) {
                hd_errorf("option --output-type: '%s' is not one of v, z, b, u, t (z and b may take a level 0-9)", optarg);
                return -1;
            }
            break;
        case 'W': x->write_index = 1; break;
        case OPT_NOVERSION: x->no_version = 1; break;
        case OPT_PLOT: x->plot = optarg; break;
        case OPT_SHARD:
            if (hd_shard_parse(optarg, &x->shard)) { hd_errorf("option --shard: %s", hd_error()); return -1; }
            break;
        case 'h':
        case OPT_HELP: usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (x->targets && x->tgfile) { hd_errorf("options -t and -T: give the targets one way"); return -1; }
    if (x->region && x->regfile) { hd_errorf("options -r and -R: give the regions one way"); return -1; }
    if (x->all_snvs) {
        if (x->regfile || x->targets || x->tgfile) {
            hd_errorf("option %s: --all-snvs mutates the one -r region", x->regfile ? "-R" : x->targets ? "-t" : "-T");
            return -1;
        }
        if (!x->region) { hd_errorf("--all-snvs needs a region: -r CHR:BEG-END"); return -1; }
        if (optind < argc) { hd_errorf("--all-snvs takes no input file ('%s' given)", argv[optind]); return -1; }
    } else {
        if (x->plot) { hd_errorf("option --plot draws the scores of --all-snvs -r REGION"); return -1; }
        if (!(x->in = hd_input_arg(argc, argv, "a VCF or BCF file; '-' for standard input", usage))) return -1;
    }
    return 0;
}

/* the combinations of options and the output type; -1 usage error (printed) */
static int check_args(ctx *x)
{
    if (x->shard.n && !x->all_snvs && !strcmp(x->in, "-")) {
        hd_errorf("option --shard needs an input file, not standard input: every shard reads the input to count "
                  "the records before it scores its block of them");
        return -1;
    }
    if (!x->otype) {
        x->otype = strcmp(x->out, "-") ? otype_from_name(x->out) : 0;
        if (!x->otype) x->otype = x->all_snvs ? 't' : 'v';
    }
    if (x->write_index && (x->otype == 'v' || x->otype == 't' || !strcmp(x->out, "-"))) {
        hd_errorf("option --write-index needs bgzipped VCF or BCF output to a file (-o FILE -O z|b)");
        return -1;
    }
    if (x->write_index && hd_out_in_place(x->out)) {   /* a device or a pipe: no file to index (it was skipped) */
        hd_errorf("option --write-index: output '%s' is not a regular file (a device or a pipe), which cannot be "
                  "indexed", x->out);
        return -1;
    }
    if (x->otype != 't' && x->otype != 'v' && hd_refuse_tty_output(x->out, "compressed")) return -1;
    return 0;
}

/* ---------------------------------------------------------------- setup */

/* the input VCF/BCF and its header (which may name the reference); 0 or an exit status */
static int open_vcf(ctx *x)
{
    if (!(x->vin = hd_vcfin_open(x->in))) return hd_fail();
    x->ihdr = hd_vcfin_header(x->vin);
    return 0;
}

/* The reference to use (malloc'd into x->refpath): -f, else the file the VCF's ##reference= line names
 * (file:// allowed; a relative path is taken from the VCF's folder), else $HYENADNA_REF.  An exit status. */
static int resolve_ref(ctx *x)
{
    if (x->fasta) return (x->refpath = hd_strdup(x->fasta)) ? 0 : hd_fail();
    char *named = NULL;     /* the ##reference= file, when it cannot be read */
    const char *line = NULL;
    int err = 0;
    bcf_hrec_t *h = x->ihdr ? bcf_hdr_get_hrec(x->ihdr, BCF_HL_GEN, "reference", NULL, NULL) : NULL;
    if (h && h->value && *h->value) {
        const char *v = h->value;
        line = v;
        if (!strncmp(v, "file://", 7)) v += 7;
        char *cand = NULL;
        if (strstr(v, "://")) {
            err = EPROTONOSUPPORT;   /* a URL: not a local file */
            cand = hd_strdup(v);
        } else if (v[0] != '/' && strcmp(x->in, "-")) {
            char *in = hd_strdup(x->in), *dir = in ? dirname(in) : NULL;
            cand = dir && strcmp(dir, ".") ? hd_sprintf("%s/%s", dir, v) : hd_strdup(v);
            free(in);
        } else {
            cand = hd_strdup(v);
        }
        if (!cand) return hd_fail();
        if (!err && !access(cand, R_OK)) {
            x->refpath = cand;
            return 0;
        }
        if (!err) err = errno;
        named = cand;
    }
    const char *env = getenv("HYENADNA_REF");
    int status = 0;
    if (env && *env) {
        if (named)
            hd_warnf("the VCF's ##reference=%s names '%s', which cannot be read (%s): using $HYENADNA_REF '%s'", line,
                     named, err == EPROTONOSUPPORT ? "not a local file" : strerror(err), env);
        if (!(x->refpath = hd_strdup(env))) status = hd_fail();
    } else if (named) {
        hd_errorf("the VCF's ##reference=%s names '%s', which cannot be read (%s): give the reference FASTA with -f "
                  "REF.fa (or set HYENADNA_REF)", line, named, err == EPROTONOSUPPORT ? "not a local file" : strerror(err));
        status = EXIT_INPUT;
    } else {
        hd_errorf("a reference FASTA is needed: give -f REF.fa, a ##reference= header line naming a readable file, "
                  "or set HYENADNA_REF");
        status = EXIT_INPUT;
    }
    free(named);
    return status;
}

/* -r/-R and -t/-T of a VCF input onto a reader (the run's, or the one counting the records for --shard) */
static int filter_input(ctx *x, hd_vcfin *v)
{
    if ((x->region || x->regfile) && hd_vcfin_set_regions(v, &x->regs)) {
        hd_errorf("option %s: %s", x->region ? "-r" : "-R", hd_error());
        return EXIT_INPUT;
    }
    if ((x->targets || x->tgfile) && hd_vcfin_set_targets(v, &x->tgs, x->tg_exclude)) return hd_fail();
    return 0;
}

/* the regions and targets of a VCF input, checked against the reference's sequences */
static int open_filters(ctx *x)
{
    if (!x->region && !x->regfile && !x->targets && !x->tgfile) return 0;
    hd_contigs *dict = hd_contigs_from_fai(hd_vsref_fai(x->ref), x->refpath);
    if (!dict) return hd_fail();
    int st = 0;
    if (x->region && hd_regions_parse(&x->regs, x->region, dict)) hd_errorf("option -r: %s", hd_error()), st = EXIT_INPUT;
    else if (x->regfile && hd_regions_read(&x->regs, x->regfile, dict)) st = hd_fail();
    else if (x->regfile && !x->regs.n) hd_errorf("option -R: '%s' has no region lines", x->regfile), st = EXIT_INPUT;
    if (!st && (x->targets || x->tgfile)) {
        const char *t = x->targets ? x->targets : x->tgfile;
        if ((x->tg_exclude = *t == '^')) t++;
        if (x->targets && hd_regions_parse(&x->tgs, t, dict)) hd_errorf("option -t: %s", hd_error()), st = EXIT_INPUT;
        else if (x->tgfile && hd_regions_read(&x->tgs, t, dict)) st = hd_fail();
        else if (x->tgfile && !x->tgs.n) hd_errorf("option -T: '%s' has no region lines", t), st = EXIT_INPUT;
    }
    if (!st) hd_regions_merge(&x->regs, dict);   /* in the reference's order, each read once */
    hd_contigs_free(dict);
    return st ? st : filter_input(x, x->vin);
}

/* the reference; with --all-snvs the region (this shard's block of its positions) and a header; else the
 * input's regions and targets */
static int open_reference(ctx *x)
{
    int st = resolve_ref(x);
    if (st) return st;
    if (!(x->ref = hd_vsref_open(x->refpath))) return hd_fail();
    if (!x->all_snvs) return open_filters(x);
    faidx_t *fai = hd_vsref_fai(x->ref);
    hd_contigs *dict = hd_contigs_from_fai(fai, x->refpath);
    hd_region reg;
    if (!dict) return hd_fail();
    if (hd_region_parse(x->region, dict, &reg)) {
        hd_errorf("option -r: %s", hd_error());
        hd_contigs_free(dict);
        return EXIT_INPUT;
    }
    x->gen = (hd_vs_snvgen){hd_contigs_id(dict, reg.chrom), reg.beg, reg.end, 0};
    x->region_beg = reg.beg;
    free(reg.chrom);
    hd_contigs_free(dict);
    if (x->shard.n) {   /* a contiguous block of the region's positions */
        uint64_t lo, hi;
        hd_shard_range(&x->shard, (uint64_t)(x->gen.end - x->gen.pos), &lo, &hi);
        int64_t beg = x->gen.pos;
        x->gen.pos = beg + (int64_t)lo;
        x->gen.end = beg + (int64_t)hi;
        hd_infof("shard %ld/%ld: positions %" PRId64 "-%" PRId64 " of %s", x->shard.i, x->shard.n, x->gen.pos + 1,
                 x->gen.end, x->region);
    }
    if (!(x->ihdr = x->snvhdr = hd_vs_snv_header(x->ref))) return hd_fail();
    return x->plot ? plot_open(x) : 0;
}

/* the model, the score mode and its window, chunk and overlap, the backend, the scoring engine */
static int open_scorer(ctx *x)
{
    if (!(x->m = hd_open_model(x->co.model))) return hd_exit_status(hd_error_kind());
    hd_model *m = x->m;
    long maxlen = m->max_len > 0 ? m->max_len : 0;
    if (x->score) {
        if (hd_vs_mode_parse(x->score, &x->vo.mode)) {
            hd_errorf("option --score: '%s' is not one of window, prefix, masked, unmasked", x->score);
            return EXIT_INPUT;
        }
    } else x->vo.mode = m->causal ? HD_VS_WINDOW : HD_VS_MASKED;
    if ((x->vo.mode == HD_VS_WINDOW || x->vo.mode == HD_VS_PREFIX) && !m->causal) {
        hd_errorf("option --score %s needs a causal model (HyenaDNA); %s is a masked model: use --score masked or "
                  "unmasked", hd_vs_mode_name(x->vo.mode), m->location);
        return EXIT_INPUT;
    }
    if ((x->vo.mode == HD_VS_MASKED || x->vo.mode == HD_VS_UNMASKED) && m->causal)
        hd_warnf("--score %s on a causal model: the logits at a position predict the next base, so this LLR is not "
                 "the masked-model score", hd_vs_mode_name(x->vo.mode));
    long window = x->window, chunk = x->chunk, overlap = x->overlap;
    if (window < 0) window = maxlen && maxlen < 1024 ? maxlen : 1024;
    if (maxlen && window > maxlen) {
        hd_errorf("option --window: %ld exceeds the model's maximum length of %ld", window, maxlen);
        return EXIT_INPUT;
    }
    if (chunk < 0) chunk = maxlen ? maxlen : 1L << 16;
    if (maxlen && chunk > maxlen) {
        hd_errorf("option --chunk: %ld exceeds the model's maximum length of %ld", chunk, maxlen);
        return EXIT_INPUT;
    }
    /* C/2, track's default: the chunks, and so the scores of a base, are the same whichever command reads them
     * (hyenadna-track(1): its SNV table equals --all-snvs with the same chunking) */
    if (overlap < 0) overlap = chunk / 2;
    if (overlap >= chunk) {
        hd_errorf("option --overlap: %ld must be smaller than the chunk length %ld", overlap, chunk);
        return EXIT_INPUT;
    }
    x->vo.window = (size_t)window, x->vo.chunk = (size_t)chunk, x->vo.overlap = (size_t)overlap;
    /* --all-snvs -r: the chunks start O bases before the region (or at the contig start), as in `track` */
    if (x->all_snvs) hd_vsref_set_origin(x->ref, x->region_beg > overlap ? (size_t)(x->region_beg - overlap) : 0);
    x->vo.edist = x->edist >= 0 ? x->edist : x->vo.mode == HD_VS_WINDOW;
    x->vo.n_token = hd_vs_model_has_n(m);
    if (!(x->be = hd_open_backend(&x->co))) return hd_exit_status(hd_error_kind());
    /* windows run side by side, one per thread, on private CPU backends (workers.h) */
    if (!(x->eng = hd_vs_engine_new(m, x->be, x->be->nthreads)) || !(x->batch = hd_vs_batch_new(x->eng, &x->vo)) ||
        !(x->vr = hd_vr_new(x->batch, x->ref, x->strict)))
        return hd_fail();
    return 0;
}

/* the records of a batch, and this shard's block of the input records */
static int prepare_run(ctx *x)
{
    if (!(x->items = calloc((size_t)x->nbatch, sizeof *x->items))) { hd_set_oom(NULL); return hd_fail(); }
    x->nitems = x->nbatch;   /* every item is freed, also those left NULL when bcf_init fails */
    for (long i = 0; i < x->nbatch; i++)
        if (!(x->items[i].rec = bcf_init())) { hd_set_oom(NULL); return hd_fail(); }
    x->rlo = 0;
    x->rhi = UINT64_MAX;
    if (x->shard.n && !x->all_snvs) {
        uint64_t total = 0;
        if (!x->region && !x->regfile && !x->targets && !x->tgfile) {
            if (hd_shard_count_vcf(x->in, &total)) return hd_fail();
        } else {   /* the records of the regions and targets: read them all once */
            hd_vcfin *v = hd_vcfin_open(x->in);
            bcf1_t *rec = v ? bcf_init() : NULL;
            int st = !v ? hd_fail() : !rec ? (hd_set_oom(NULL), hd_fail()) : filter_input(x, v), r = 0;
            while (!st && (r = hd_vcfin_next(v, rec)) > 0) total++;
            if (!st && r < 0) st = hd_fail();
            if (rec) bcf_destroy(rec);
            hd_vcfin_close(v);
            if (st) return st;
        }
        hd_shard_range(&x->shard, total, &x->rlo, &x->rhi);
        hd_infof("shard %ld/%ld: records %" PRIu64 " to %" PRIu64 " of %" PRIu64, x->shard.i, x->shard.n, x->rlo + 1,
                 x->rhi, total);
    }
    return 0;
}

/* ---------------------------------------------------------------- run and report */

/* the next record into rec: 1, 0 at the end (of the input, or of this shard's block), -1 error */
static int next_record(ctx *x, bcf1_t *rec, const char **where)
{
    if (x->all_snvs) {
        *where = "--all-snvs";
        return hd_vs_snv_next(x->ref, x->ihdr, &x->gen, rec);
    }
    if ((uint64_t)x->nrec >= x->rhi) return 0;   /* the rest belongs to later shards */
    int r = hd_vcfin_next(x->vin, rec);
    *where = hd_vcfin_where(x->vin);
    return r;
}

/* -W: the records must be sorted (by contig blocks, POS within one) for the index; an unsorted input is refused
 * at its first record out of order, naming it, instead of the index failing after the whole run */
static int check_sorted(ctx *x, const bcf1_t *rec, const char *where)
{
    const char *id = rec->d.id && strcmp(rec->d.id, ".") ? rec->d.id : NULL;   /* unpacked (hd_vr_plan_record) */
    if (rec->rid == x->last_rid) {
        if (rec->pos >= x->last_pos) { x->last_pos = rec->pos; return 0; }
        hd_set_error(HD_EINPUT, "%s (%s:%" PRIhts_pos "%s%s): not sorted: POS %" PRIhts_pos " comes after POS %"
                     PRIhts_pos "; -W/--write-index needs a sorted input (bcftools sort, or leave -W out)", where,
                     bcf_seqname(x->ihdr, rec), rec->pos + 1, id ? " " : "", id ? id : "", rec->pos + 1,
                     x->last_pos + 1);
        return -1;
    }
    if (rec->rid < 0) return 0;
    if (rec->rid >= x->ndone) {
        int n = rec->rid + 64;
        uint8_t *d = realloc(x->done, (size_t)n);
        if (!d) { hd_set_oom(NULL); return -1; }
        memset(d + x->ndone, 0, (size_t)(n - x->ndone));
        x->done = d, x->ndone = n;
    }
    if (x->done[rec->rid]) {
        hd_set_error(HD_EINPUT, "%s (%s:%" PRIhts_pos "%s%s): not sorted: contig '%s' comes again after contig "
                     "'%s'; -W/--write-index needs a sorted input, each contig's records together (bcftools sort, "
                     "or leave -W out)", where, bcf_seqname(x->ihdr, rec), rec->pos + 1, id ? " " : "", id ? id : "",
                     bcf_seqname(x->ihdr, rec),
                     x->last_rid >= 0 ? bcf_hdr_id2name(x->ihdr, x->last_rid) : "?");
        return -1;
    }
    if (x->last_rid >= 0) x->done[x->last_rid] = 1;
    x->last_rid = rec->rid, x->last_pos = rec->pos;
    return 0;
}

/* read, plan, score and write the records batch by batch */
static int run(ctx *x)
{
    const size_t token_budget = (size_t)1 << 25;
    uint64_t total = x->all_snvs ? (uint64_t)(x->gen.end - x->gen.pos) : x->shard.n ? x->rhi - x->rlo : 0;
    hd_progress pg;
    hd_progress_start(&pg, x->co.progress, "records", total);
    int eof = 0;
    while (!eof) {
        long n = 0;
        while (n < x->nbatch && hd_vs_batch_tokens(x->batch) < token_budget) {
            const char *where = NULL;
            int r = next_record(x, x->items[n].rec, &where);
            if (r < 0) return hd_fail();
            if (!r) { eof = 1; break; }
            x->nrec++;
            if ((uint64_t)x->nrec <= x->rlo) { x->nskip++; continue; }   /* before this shard's block */
            if (hd_vr_plan_record(x->vr, x->ihdr, x->items[n].rec, where, &x->items[n].plan)) return hd_fail();
            if (x->write_index && !x->all_snvs && check_sorted(x, x->items[n].rec, where)) return hd_fail();
            n++;
        }
        if (hd_vs_batch_size(x->batch) && hd_vs_batch_run(x->batch)) {
            hd_errorf("scoring failed: %s", hd_error());
            return hd_exit_status(hd_error_kind());
        }
        for (long i = 0; i < n; i++)
            if (emit(x, &x->items[i])) return hd_fail();
        hd_vs_batch_clear(x->batch);
        hd_progress_update(&pg, (uint64_t)(x->nrec - x->nskip), 0);
    }
    hd_progress_end(&pg);
    hd_vr_finish(x->vr);
    if (close_output(x)) return hd_fail();
    if (x->plot && plot_write(x)) return hd_fail();
    return 0;
}

/* the counts by reason, on stderr */
static void report(const ctx *x, double dt)
{
    if (hd_verbosity < 2) return;
    const hd_vr_counts *c = hd_vr_get_counts(x->vr);
    kstring_t s = {0, 0, NULL};
    long nout = x->nrec - x->nskip;
    ksprintf(&s, "%ld records: %ld scored, %ld passed through unscored", nout, c->by_reason[HD_VR_SCORED],
             nout - c->by_reason[HD_VR_SCORED]);
    int first = 1;
    for (int r = 1; r < HD_VR_NREASONS; r++)
        if (c->by_reason[r]) { ksprintf(&s, "%s%ld %s", first ? " (" : ", ", c->by_reason[r], hd_vr_reason(r)); first = 0; }
    if (!first) kputc(')', &s);
    ksprintf(&s, "; %ld ALT alleles scored", c->alleles_scored);
    long left = c->alleles_symbolic + c->alleles_nonacgt + c->alleles_window + c->alleles_same;
    if (left) {
        ksprintf(&s, ", %ld left unscored (", left);
        const char *sep = "";
        if (c->alleles_symbolic) ksprintf(&s, "%s%ld symbolic or '*'", sep, c->alleles_symbolic), sep = ", ";
        if (c->alleles_nonacgt) ksprintf(&s, "%s%ld non-ACGT", sep, c->alleles_nonacgt), sep = ", ";
        if (c->alleles_window) ksprintf(&s, "%s%ld non-ACGT reference in window", sep, c->alleles_window), sep = ", ";
        if (c->alleles_same) ksprintf(&s, "%s%ld ALT window identical to the REF window", sep, c->alleles_same);
        kputc(')', &s);
    }
    if (x->gen.skipped) ksprintf(&s, "; %ld non-ACGT positions skipped", x->gen.skipped);
    ksprintf(&s, "; %zu forward passes, %.2f s, %.1f variants/s", hd_vs_engine_forwards(x->eng), dt,
             dt > 0 ? (double)c->alleles_scored / dt : 0.0);
    fprintf(stderr, "hyenadna score-variants: %s\n", s.s);
    free(s.s);
}

static void ctx_free(ctx *x)
{
    for (long i = 0; i < x->nitems; i++) {
        if (x->items[i].rec) bcf_destroy(x->items[i].rec);
        hd_vr_plan_free(&x->items[i].plan);
    }
    free(x->items);
    free(x->llr);
    free(x->ed);
    free(x->fbuf);
    free(x->ebuf);
    free(x->pl_llr);
    free(x->done);
    hd_regions_free(&x->regs);
    hd_regions_free(&x->tgs);
    hd_vr_free(x->vr);
    hd_vs_batch_free(x->batch);
    hd_vs_engine_free(x->eng);
    hd_backend_free(x->be);
    if (x->snvhdr) bcf_hdr_destroy(x->snvhdr);
    hd_vcfin_close(x->vin);
    hd_vsref_close(x->ref);
    free(x->refpath);
    hd_model_close(x->m);
}

/* ---------------------------------------------------------------- main */

int main_score_variants(int argc, char **argv)
{
    ctx X = {0}, *x = &X;
    int r = parse_args(argc, argv, x);
    if (r) return r > 0 ? EXIT_OK : EXIT_INPUT;
    if (check_args(x)) return EXIT_INPUT;
    int status = 0;
    /* input first: its header may name the reference */
    if ((x->all_snvs || !(status = open_vcf(x))) && !(status = open_reference(x)) && !(status = open_scorer(x))) {
        if (open_output(x)) status = hd_fail();
        else if (!(status = prepare_run(x))) {
            double t0 = hd_now();
            if (!(status = run(x))) report(x, hd_now() - t0);
        }
    }
    if (status) abort_output(x);
    ctx_free(x);
    return status;
}
