/* score_variants.c -- `hyenadna score-variants`: VCF/BCF in, every record out, annotated with model
 * scores (HDNA_LLR, HDNA_EDIST); or saturation mutagenesis of a region (--all-snvs).  The scoring itself
 * lives in src/varscore.c; this file parses options, reads the reference and the records, and writes. */
#define _GNU_SOURCE
#include "config.h"
#include "common.h"

#include <errno.h>
#include <htslib/faidx.h>
#include <htslib/hts.h>
#include <htslib/kseq.h>
#include <htslib/kstring.h>
#include <htslib/vcf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "input.h"
#include "output.h"
#include "plot.h"
#include "regions.h"
#include "shard.h"
#include "tokenizer.h"
#include "varscore.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: hyenadna score-variants [options] -f REF.fa [-m MODEL] <in.vcf>|<in.vcf.gz>|<in.bcf>|-\n"
            "       hyenadna score-variants [options] -f REF.fa [-m MODEL] --all-snvs -r CHR:BEG-END\n"
            "\n"
            "Score every ALT allele of every record with a DNA language model and write every record back,\n"
            "in input order and otherwise unchanged, with the INFO tags HDNA_LLR (log-likelihood ratio of ALT\n"
            "against REF) and HDNA_EDIST (cosine distance of the mean-pooled embeddings), Number=A.\n"
            "Records that cannot be scored pass through unannotated and are counted on stderr.\n"
            "\n"
            "Input options:\n"
            "  -f, --fasta-ref FILE   reference FASTA (plain or bgzip; .fai made when absent)\n"
            "                         [the VCF's ##reference= file, else $HYENADNA_REF]\n"
            "      --all-snvs         score the 3 other bases at every position of the -r region (no VCF)\n"
            "  -r, --region REG       CHR:BEG-END (1-based, inclusive) for --all-snvs\n"
            "      --strict           a REF allele that does not match the reference (or a contig it lacks) is an error\n"
            "Scoring options:\n"
            "  -s, --score MODE       window, prefix (causal models), masked or unmasked (masked models)\n"
            "                         [window for causal models, masked for masked models]\n"
            "  -w, --window INT       window width in bases [min(1024, the model's maximum length)]\n"
            "      --chunk INT        reference chunk length of prefix/unmasked modes [the model's maximum]\n"
            "      --overlap INT      overlap of consecutive chunks [window/2]\n"
            "      --rc               average every score over the forward strand and the reverse complement\n"
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
            "                         [from the -o suffix (.vcf .vcf.gz .bcf .tsv .tsv.gz), else v;\n"
            "                         t with --all-snvs]\n"
            "  -W, --write-index      index bgzipped VCF (.tbi) or BCF (.csi) output\n"
            "      --no-version       do not add the ##hyenadna_score-variants* header lines\n"
            "      --plot FILE        with --all-snvs: also draw the scores as a heatmap, SVG (PNG when FILE\n"
            "                         ends in .png; see man hyenadna-plot) [none]\n");
    hd_common_usage(fp);
}

/* ---------------------------------------------------------------- reference */

typedef struct {
    faidx_t *fai;
    const char *path;
    int cur;              /* faidx index of the loaded contig, -1 none */
    char *seq;            /* upper-case bases */
    uint8_t *ids;
    size_t origin;        /* the chunk grid's origin on the contigs loaded (--all-snvs -r) */
    hd_vs_contig c;
} refseq;

static int ref_open(refseq *r, const char *path)
{
    memset(r, 0, sizeof *r);
    r->cur = -1;
    r->path = path;
    return (r->fai = hd_faidx_open(path)) ? 0 : -1;
}

static void ref_close(refseq *r)
{
    if (r->fai) fai_destroy(r->fai);
    free(r->seq);
    free(r->ids);
}

/* Load contig `name`; 1 loaded, 0 not in the reference, -1 error. */
static int ref_load(refseq *r, const char *name)
{
    if (r->cur >= 0 && !strcmp(r->c.name, name)) return 1;
    if (!faidx_has_seq(r->fai, name)) return 0;
    hts_pos_t len = 0;
    char *s = faidx_fetch_seq64(r->fai, name, 0, HTS_POS_MAX, &len);
    if (!s || len < 0) {
        free(s);
        hd_set_error(HD_EINPUT, "cannot read contig %s of reference '%s'", name, r->path);
        return -1;
    }
    free(r->seq);
    free(r->ids);
    r->cur = -1;
    r->seq = s;
    r->ids = malloc(len ? (size_t)len : 1);
    if (!r->ids) { hd_set_error(HD_ERESOURCE, "out of memory for contig %s", name); return -1; }
    for (hts_pos_t i = 0; i < len; i++)
        if (s[i] >= 'a' && s[i] <= 'z') s[i] -= 32;
    hd_vs_seq_ids(s, (size_t)len, r->ids);
    int n = faidx_nseq(r->fai);
    r->cur = -1;
    for (int i = 0; i < n; i++)
        if (!strcmp(faidx_iseq(r->fai, i), name)) { r->cur = i; break; }
    r->c = (hd_vs_contig){.id = r->cur, .name = faidx_iseq(r->fai, r->cur), .ids = r->ids, .len = (size_t)len,
                          .origin = r->origin < (size_t)len ? r->origin : 0};
    return 1;
}

/* The reference to use: -f, else the VCF's ##reference= (a readable file, file:// allowed), else $HYENADNA_REF. */
static const char *resolve_ref(const char *arg, bcf_hdr_t *hdr, char *buf, size_t n)
{
    if (arg) return arg;
    if (hdr) {
        bcf_hrec_t *h = bcf_hdr_get_hrec(hdr, BCF_HL_GEN, "reference", NULL, NULL);
        if (h && h->value) {
            const char *v = h->value;
            if (!strncmp(v, "file://", 7)) v += 7;
            if (*v && !access(v, R_OK)) {
                snprintf(buf, n, "%s", v);
                return buf;
            }
            hd_infof("the ##reference=%s line does not name a readable file", h->value);
        }
    }
    const char *env = getenv("HYENADNA_REF");
    if (env && *env) return env;
    return NULL;
}

/* ---------------------------------------------------------------- records */

enum { R_SCORED = 0, R_NOALT, R_SYMBOLIC, R_CONTIG, R_MISMATCH, R_NONLY, R_INDEL, R_NREASONS };
static const char *reason_name[R_NREASONS] = {"scored", "no ALT allele", "symbolic or '*' ALT", "contig not in the reference",
                                              "REF not matching the reference", "N-only window",
                                              "indel (no masked-model LLR)"};

typedef struct {
    bcf1_t *rec;
    int reason;
    int nalt, cap;
    long *h;             /* per ALT: batch handle, -1 not scored */
} item;

typedef struct {
    int tid;
    hts_pos_t pos, end;
    long skipped_n;
} snv_gen;

typedef struct {
    /* options */
    int strict, otype, clevel, write_index, no_version, all_snvs;
    const char *out, *in, *region;
    hd_vs_opts vo;
    char **argv;
    int argc;
    hd_common_opts co;
    const char *fasta, *score;
    long window, chunk, overlap, nbatch;   /* nbatch: records scored together (--batch) */
    int edist;
    hd_shard shard;
    /* state */
    htsFile *ifp;
    hd_backend *be;
    hd_vs_engine *eng;
    item *items;
    long nitems;
    snv_gen gen;
    hts_pos_t region_beg;   /* --all-snvs: the region's first base (not the shard's) */
    uint64_t rlo, rhi;     /* the records [rlo, rhi) of the input, 0-based, are this shard's */
    char refbuf[4096];
    hd_model *m;
    refseq ref;
    hd_vs_batch *batch;
    bcf_hdr_t *ihdr, *ohdr;
    htsFile *ofp;
    char *tmp;             /* temporary output name (VCF/BCF to a file) */
    hd_outfile *tsv;
    long counts[R_NREASONS];
    long nrec, alleles_scored, alleles_unscorable;
    long nskip;            /* records read but outside the --shard block */
    float *fbuf, *ebuf;
    int fcap;
    const char *plot;      /* --plot FILE */
    double *pl_llr;        /* [4 pl_n]: the LLRs of the heatmap (plot.h) */
    hts_pos_t pl_beg;
    size_t pl_n;
} ctx;

static int ref_check(ctx *x, bcf1_t *rec, const char *refal, long recno)
{
    size_t rl = strlen(refal), len = x->ref.c.len;
    int ok = hd_vs_check_ref(x->ref.seq, len, rec->pos, refal);
    if (ok <= 0 && x->strict) {
        if (ok == -2)
            hd_set_error(HD_EINPUT, "record %ld (%s:%" PRIhts_pos "): empty REF allele", recno, bcf_seqname(x->ihdr, rec),
                         rec->pos + 1);
        else if (ok == -1)
            hd_set_error(HD_EINPUT, "record %ld (%s:%" PRIhts_pos " %s): position outside contig %s "
                         "(length %zu) in '%s'", recno, bcf_seqname(x->ihdr, rec), rec->pos + 1, refal, x->ref.c.name, len,
                         x->ref.path);
        else
            hd_set_error(HD_EINPUT, "record %ld (%s:%" PRIhts_pos "): REF allele '%s' does not match the reference '%.*s' "
                         "in '%s'", recno, bcf_seqname(x->ihdr, rec), rec->pos + 1, refal,
                         (int)(len - (size_t)rec->pos < rl ? len - (size_t)rec->pos : rl), x->ref.seq + rec->pos, x->ref.path);
    }
    return ok > 0;
}

/* Plan the scoring of one record; 0 ok, -1 error. */
static int plan(ctx *x, item *it, long recno)
{
    bcf1_t *rec = it->rec;
    if (bcf_unpack(rec, BCF_UN_STR) < 0) {
        hd_set_error(HD_EINPUT, "record %ld: cannot parse", recno);
        return -1;
    }
    it->nalt = rec->n_allele > 1 ? rec->n_allele - 1 : 0;
    if (it->nalt > it->cap) {
        long *h = realloc(it->h, (size_t)it->nalt * sizeof *h);
        if (!h) { hd_set_oom(NULL); return -1; }
        it->h = h, it->cap = it->nalt;
    }
    for (int i = 0; i < it->nalt; i++) it->h[i] = -1;
    if (!it->nalt) { it->reason = R_NOALT; return 0; }
    int r = ref_load(&x->ref, bcf_seqname(x->ihdr, rec));
    if (r < 0) return -1;
    if (!r && x->strict) {
        hd_set_error(HD_EINPUT, "record %ld (%s:%" PRIhts_pos "): contig %s is not in the reference '%s'", recno,
                     bcf_seqname(x->ihdr, rec), rec->pos + 1, bcf_seqname(x->ihdr, rec), x->ref.path);
        return -1;
    }
    if (!r) { it->reason = R_CONTIG; return 0; }
    const char *refal = rec->d.allele[0];
    if (!ref_check(x, rec, refal, recno)) {
        if (x->strict) return -1;
        it->reason = R_MISMATCH;
        return 0;
    }
    size_t p = (size_t)rec->pos;
    /* a window without a single A/C/G/T base carries no signal */
    size_t W = x->vo.window, s = hd_vs_window_start(p, W, x->ref.c.len), e = s + W < x->ref.c.len ? s + W : x->ref.c.len;
    int any = 0;
    for (size_t i = s; i < e && !any; i++) any = x->ref.ids[i] != HD_TOK_N;
    if (!any) { it->reason = R_NONLY; return 0; }
    size_t rl = strlen(refal);
    int nscored = 0;
    for (int a = 0; a < it->nalt; a++) {
        const char *al = rec->d.allele[a + 1];
        size_t n = strlen(al);
        int32_t sbuf[256], *ids = n <= 256 ? sbuf : malloc(n * sizeof *ids);
        if (!ids) { hd_set_oom(NULL); return -1; }
        if (hd_vs_allele_ids(al, ids, n) < 0) {
            x->alleles_unscorable++;
        } else {
            it->h[a] = hd_vs_batch_add(x->batch, &x->ref.c, p, rl, ids, n);
            if (it->h[a] < 0) { if (ids != sbuf) free(ids); return -1; }
            nscored++;
        }
        if (ids != sbuf) free(ids);
    }
    it->reason = nscored ? R_SCORED : R_SYMBOLIC;
    return 0;
}

/* ---------------------------------------------------------------- --plot (the heatmap of --all-snvs) */

static void model_desc(ctx *x, kstring_t *d);

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
    if (ref_load(&x->ref, faidx_iseq(x->ref.fai, x->gen.tid)) <= 0) return -1;
    kstring_t sub = {0, 0, NULL};
    model_desc(x, &sub);
    ksprintf(&sub, " \xc2\xb7 score %s", hd_vs_mode_name(x->vo.mode));
    if (x->vo.mode == HD_VS_WINDOW || x->vo.mode == HD_VS_MASKED) ksprintf(&sub, ", %zu-bp windows", x->vo.window);
    else ksprintf(&sub, ", %zu-bp chunks", x->vo.chunk);
    if (x->vo.rc) kputs(", mean with the reverse complement", &sub);
    hd_plot_region r = {x->ref.c.name, x->pl_beg, x->pl_n, x->ref.seq + x->pl_beg, NULL, sub.s};
    size_t len = 0;
    char *svg = sub.s ? hd_plot_heatmap_svg(&r, x->pl_llr, NULL, &len) : NULL;
    int rc = svg ? hd_plot_write(x->plot, svg, len, hd_plot_is_png(x->plot)) : -1;
    if (!sub.s) hd_set_oom(NULL);
    free(svg);
    free(sub.s);
    return rc;
}

static void fmt_val(kstring_t *ks, double v)
{
    if (isnan(v)) kputc('.', ks);
    else ksprintf(ks, "%.6g", v);
}

/* Write one record with its scores. */
static int emit(ctx *x, item *it)
{
    bcf1_t *rec = it->rec;
    int n = it->nalt, have_llr = 0, have_ed = 0;
    if (n > x->fcap) {
        float *a = realloc(x->fbuf, (size_t)n * sizeof *a), *b = a ? realloc(x->ebuf, (size_t)n * sizeof *b) : NULL;
        if (a) x->fbuf = a;
        if (b) x->ebuf = b;
        if (!a || !b) { hd_set_oom(NULL); return -1; }
        x->fcap = n;
    }
    double *llr = calloc(n ? (size_t)n : 1, sizeof *llr), *ed = calloc(n ? (size_t)n : 1, sizeof *ed);
    if (!llr || !ed) { free(llr); free(ed); hd_set_oom(NULL); return -1; }
    for (int a = 0; a < n; a++) {
        llr[a] = ed[a] = NAN;
        if (it->reason == R_SCORED && it->h[a] >= 0) hd_vs_batch_result(x->batch, it->h[a], &llr[a], &ed[a]);
        if (!isnan(llr[a])) have_llr = 1;
        if (!isnan(ed[a])) have_ed = 1;
        if (!isnan(llr[a]) || !isnan(ed[a])) x->alleles_scored++;
        if (isnan(llr[a])) bcf_float_set_missing(x->fbuf[a]);
        else x->fbuf[a] = (float)llr[a];
        if (isnan(ed[a])) bcf_float_set_missing(x->ebuf[a]);
        else x->ebuf[a] = (float)ed[a];
    }
    if (it->reason == R_SCORED && !have_llr && !have_ed) it->reason = R_INDEL;
    x->counts[it->reason]++;
    if (x->pl_llr) plot_add(x, rec, llr, n);
    int rc = 0;
    if (x->tsv) {
        kstring_t ks = {0, 0, NULL};
        for (int a = 0; a < (n ? n : 1); a++) {
            ks.l = 0;
            ksprintf(&ks, "%s\t%" PRIhts_pos "\t%s\t%s\t%s\t", bcf_seqname(x->ihdr, rec), rec->pos + 1, rec->d.id,
                     rec->d.allele[0], n ? rec->d.allele[a + 1] : ".");
            fmt_val(&ks, n ? llr[a] : NAN);
            kputc('\t', &ks);
            fmt_val(&ks, n ? ed[a] : NAN);
            kputc('\n', &ks);
            if (hd_out_write(x->tsv, ks.s, ks.l)) { rc = -1; break; }
        }
        free(ks.s);
    } else {
        /* unscored records carry no (stale) tags */
        bcf_update_info_float(x->ohdr, rec, "HDNA_LLR", have_llr ? x->fbuf : NULL, have_llr ? n : 0);
        bcf_update_info_float(x->ohdr, rec, "HDNA_EDIST", have_ed ? x->ebuf : NULL, have_ed ? n : 0);
        if (bcf_write(x->ofp, x->ohdr, rec) < 0) {
            if (rec->errcode & (BCF_ERR_CTG_UNDEF | BCF_ERR_TAG_UNDEF))
                hd_set_error(HD_EINPUT, "%s: cannot write the record at %s:%" PRIhts_pos ": its %s is not declared in the "
                             "VCF header (BCF output needs every contig, FILTER and tag declared)", x->out,
                             bcf_seqname(x->ihdr, rec), rec->pos + 1, rec->errcode & BCF_ERR_CTG_UNDEF ? "contig" : "FILTER or tag");
            else if (rec->errcode)
                hd_set_error(HD_EINPUT, "%s: cannot write the malformed record at %s:%" PRIhts_pos " (htslib error code "
                             "%d)", x->out, bcf_seqname(x->ihdr, rec), rec->pos + 1, rec->errcode);
            else
                hd_set_error(HD_ERESOURCE, "%s: write failed: %s", x->out, errno ? strerror(errno) : "I/O error");
            rc = -1;
        }
    }
    free(llr);
    free(ed);
    return rc;
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

static void model_desc(ctx *x, kstring_t *d)
{
    const char *loc = x->m->location, *slash = strrchr(loc, '/');
    while (slash && !slash[1] && slash > loc) {   /* trailing slash */
        const char *q = slash - 1;
        while (q > loc && *q != '/') q--;
        loc = *q == '/' ? q + 1 : q;
        slash = NULL;
    }
    if (slash) loc = slash + 1;
    ksprintf(d, "model %.*s (%s)", (int)strcspn(loc, "/\""), loc, hd_family_name(x->m->family));
}

static int open_output(ctx *x)
{
    if (x->otype == 't') {
        if (!(x->tsv = hd_out_open(x->out, 1))) return -1;
        const char *h = "#chrom\tpos\tid\tref\talt\tllr\tedist\n";
        return hd_out_write(x->tsv, h, strlen(h));
    }
    /* one header for reading and writing: contigs that htslib adds while parsing stay known to the writer */
    x->ohdr = x->ihdr;
    kstring_t d = {0, 0, NULL}, m = {0, 0, NULL};
    model_desc(x, &m);
    const char *strand = x->vo.rc ? "mean of the forward strand and the reverse complement" : "forward strand";
    if (!bcf_hdr_idinfo_exists(x->ohdr, BCF_HL_INFO, bcf_hdr_id2int(x->ohdr, BCF_DT_ID, "HDNA_LLR"))) {
        ksprintf(&d, "##INFO=<ID=HDNA_LLR,Number=A,Type=Float,Description=\"hyenadna log-likelihood ratio of ALT vs REF "
                     "(natural log; negative = less likely than REF), score mode %s: ", hd_vs_mode_name(x->vo.mode));
        switch (x->vo.mode) {
        case HD_VS_WINDOW: ksprintf(&d, "ll(ALT window) - ll(REF window), causal log-likelihood of %zu-bp windows", x->vo.window); break;
        case HD_VS_PREFIX:
            ksprintf(&d, "log p(ALT|prefix) - log p(REF|prefix) at the SNV in %zu-bp reference chunks overlapping by %zu "
                         "(indels: window mode, %zu-bp windows)", x->vo.chunk, x->vo.overlap, x->vo.window);
            break;
        case HD_VS_MASKED: ksprintf(&d, "log p(ALT) - log p(REF) at the [MASK]ed variant base of a %zu-bp window", x->vo.window); break;
        case HD_VS_UNMASKED:
            ksprintf(&d, "log p(ALT) - log p(REF) at the variant base, unmasked, in %zu-bp reference chunks", x->vo.chunk);
            break;
        }
        ksprintf(&d, "; %s; %s\">", strand, m.s);
        if (bcf_hdr_append(x->ohdr, d.s)) goto fail;
    }
    if (!bcf_hdr_idinfo_exists(x->ohdr, BCF_HL_INFO, bcf_hdr_id2int(x->ohdr, BCF_DT_ID, "HDNA_EDIST"))) {
        d.l = 0;
        ksprintf(&d, "##INFO=<ID=HDNA_EDIST,Number=A,Type=Float,Description=\"hyenadna embedding distance: cosine distance "
                     "between the mean-pooled final hidden states of the REF and ALT %zu-bp windows; %s; %s\">",
                 x->vo.window, strand, m.s);
        if (bcf_hdr_append(x->ohdr, d.s)) goto fail;
    }
    if (!x->no_version) {
        d.l = 0;
        ksprintf(&d, "##hyenadna_score-variantsVersion=%s+htslib-%s", PACKAGE_VERSION, hts_version());
        if (bcf_hdr_append(x->ohdr, d.s)) goto fail;
        d.l = 0;
        kputs("##hyenadna_score-variantsCommand=", &d);
        for (int i = 0; i < x->argc; i++) {
            if (i) kputc(' ', &d);
            kputs(x->argv[i], &d);
        }
        time_t t = time(NULL);
        ksprintf(&d, "; Date=%s", ctime(&t));
        if (d.l && d.s[d.l - 1] == '\n') d.s[--d.l] = 0;
        if (bcf_hdr_append(x->ohdr, d.s)) goto fail;
        d.l = 0;
        ksprintf(&d, "##hyenadna_score-variantsModel=%s;family=%s;score=%s;window=%zu;rc=%d", x->m->location,
                 hd_family_name(x->m->family), hd_vs_mode_name(x->vo.mode), x->vo.window, x->vo.rc);
        if (bcf_hdr_append(x->ohdr, d.s)) goto fail;
    }
    free(d.s);
    free(m.s);
    d.s = m.s = NULL;
    if (bcf_hdr_sync(x->ohdr) < 0) goto fail;
    char mode[8] = "w";
    if (x->otype == 'z') strcat(mode, "z");
    else if (x->otype == 'b') strcat(mode, "b");
    else if (x->otype == 'u') strcat(mode, "bu");
    if (x->clevel >= 0 && x->otype != 'v' && x->otype != 'u') {
        size_t l = strlen(mode);
        mode[l] = (char)('0' + x->clevel);
        mode[l + 1] = 0;
    }
    const char *name = x->out;
    if (!hd_out_in_place(x->out)) {   /* a file: written under a temporary name, renamed when complete */
        if (!(x->tmp = hd_out_tmpname(x->out))) return -1;
        name = x->tmp;
    }
    if (!(x->ofp = hts_open(name, mode))) {
        hd_set_error(HD_ERESOURCE, "cannot open output '%s': %s", x->out, strerror(errno));
        return -1;
    }
    if (bcf_hdr_write(x->ofp, x->ohdr) < 0) {
        hd_set_error(HD_ERESOURCE, "%s: cannot write the header", x->out);
        return -1;
    }
    return 0;
fail:
    free(d.s);
    free(m.s);
    hd_set_error(HD_EINPUT, "cannot add the score declarations to the VCF header");
    return -1;
}

static int close_output(ctx *x)
{
    if (x->tsv) {
        int r = hd_out_close(x->tsv);
        x->tsv = NULL;
        return r;
    }
    int r = hts_close(x->ofp);
    x->ofp = NULL;
    if (r < 0) {
        hd_set_error(HD_ERESOURCE, "%s: write failed", x->out);
        return -1;
    }
    if (!x->tmp) return 0;
    char *itmp = NULL, *iname = NULL;
    if (x->write_index) {
        int csi = x->otype == 'b' || x->otype == 'u';
        iname = hd_sprintf("%s.%s", x->out, csi ? "csi" : "tbi");
        if (!iname || !(itmp = hd_out_tmpname(iname))) { free(iname); return -1; }
        if (bcf_index_build3(x->tmp, itmp, csi ? 14 : 0, 0) < 0) {
            hd_set_error(HD_EINPUT, "cannot index '%s' (is it sorted?)", x->out);
            hd_out_discard(itmp);
            free(iname);
            return -1;
        }
    }
    r = hd_out_commit(x->tmp, x->out);
    x->tmp = NULL;
    if (itmp) {
        if (!r) r = hd_out_commit(itmp, iname);
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

/* ---------------------------------------------------------------- --all-snvs records */

static bcf_hdr_t *snv_header(ctx *x)
{
    bcf_hdr_t *h = bcf_hdr_init("w");
    if (!h) return NULL;
    kstring_t s = {0, 0, NULL};
    for (int i = 0; i < faidx_nseq(x->ref.fai); i++) {
        s.l = 0;
        const char *n = faidx_iseq(x->ref.fai, i);
        ksprintf(&s, "##contig=<ID=%s,length=%" PRIhts_pos ">", n, (hts_pos_t)faidx_seq_len(x->ref.fai, n));
        bcf_hdr_append(h, s.s);
    }
    s.l = 0;
    ksprintf(&s, "##reference=%s", x->ref.path);
    bcf_hdr_append(h, s.s);
    free(s.s);
    if (bcf_hdr_sync(h) < 0) { bcf_hdr_destroy(h); return NULL; }
    return h;
}

/* Next saturation-mutagenesis record into rec; 1 made, 0 done, -1 error. */
static int snv_next(ctx *x, snv_gen *g, bcf1_t *rec)
{
    const char *name = faidx_iseq(x->ref.fai, g->tid);
    int r = ref_load(&x->ref, name);
    if (r <= 0) return r;
    while (g->pos < g->end) {
        char b = x->ref.seq[g->pos];
        if (!strchr("ACGT", b)) { g->pos++; g->skipped_n++; continue; }
        char al[8], *q = al;
        *q++ = b;
        for (const char *c = "ACGT"; *c; c++)
            if (*c != b) *q++ = ',', *q++ = *c;
        *q = 0;
        bcf_clear(rec);
        rec->rid = bcf_hdr_name2id(x->ihdr, name);
        rec->pos = g->pos++;
        bcf_float_set_missing(rec->qual);
        bcf_update_id(x->ihdr, rec, ".");
        bcf_update_alleles_str(x->ihdr, rec, al);
        return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- parse and check */

/* 0 parsed, 1 --help printed, -1 usage error (printed) */
static int parse_args(int argc, char **argv, ctx *x)
{
    enum { OPT_STRICT = OPT_COMMON_END, OPT_ALLSNVS, OPT_CHUNK, OPT_OVERLAP, OPT_RC, OPT_EDIST, OPT_NOEDIST, OPT_BATCH,
           OPT_NOVERSION, OPT_SHARD, OPT_PLOT };
    static const struct option lo[] = {
        HD_COMMON_LONGOPTS,
        {"fasta-ref", required_argument, NULL, 'f'}, {"all-snvs", no_argument, NULL, OPT_ALLSNVS},
        {"region", required_argument, NULL, 'r'}, {"strict", no_argument, NULL, OPT_STRICT},
        {"score", required_argument, NULL, 's'}, {"window", required_argument, NULL, 'w'},
        {"chunk", required_argument, NULL, OPT_CHUNK}, {"overlap", required_argument, NULL, OPT_OVERLAP},
        {"rc", no_argument, NULL, OPT_RC}, {"edist", no_argument, NULL, OPT_EDIST},
        {"no-edist", no_argument, NULL, OPT_NOEDIST}, {"batch", required_argument, NULL, OPT_BATCH},
        {"output", required_argument, NULL, 'o'}, {"output-type", required_argument, NULL, 'O'},
        {"write-index", no_argument, NULL, 'W'}, {"no-version", no_argument, NULL, OPT_NOVERSION},
        {"shard", required_argument, NULL, OPT_SHARD}, {"plot", required_argument, NULL, OPT_PLOT}, {NULL, 0, NULL, 0}};
    x->out = "-";
    x->clevel = -1;
    x->argc = argc, x->argv = argv;
    x->window = x->chunk = x->overlap = -1;
    x->nbatch = 2048;
    x->edist = -1;
    int c;
    while ((c = getopt_long(argc, argv, "m:c:@:hf:r:s:w:o:O:W", lo, NULL)) >= 0) {
        int r = hd_common_opt(&x->co, c, optarg);
        if (r < 0) return -1;
        if (r) continue;
        switch (c) {
        case 'f': x->fasta = optarg; break;
        case 'r': x->region = optarg; break;
        case OPT_ALLSNVS: x->all_snvs = 1; break;
        case OPT_STRICT: x->strict = 1; break;
        case 's': x->score = optarg; break;
        case 'w': if (hd_parse_long("--window", optarg, 1, 1L << 30, &x->window)) return -1; break;
        case OPT_CHUNK: if (hd_parse_long("--chunk", optarg, 1, 1L << 30, &x->chunk)) return -1; break;
        case OPT_OVERLAP: if (hd_parse_long("--overlap", optarg, 0, 1L << 30, &x->overlap)) return -1; break;
        case OPT_RC: x->vo.rc = 1; break;
        case OPT_EDIST: x->edist = 1; break;
        case OPT_NOEDIST: x->edist = 0; break;
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
    if (x->all_snvs) {
        if (!x->region) { hd_errorf("--all-snvs needs a region: -r CHR:BEG-END"); return -1; }
        if (optind < argc) { hd_errorf("--all-snvs takes no input file ('%s' given)", argv[optind]); return -1; }
    } else {
        if (x->plot) { hd_errorf("option --plot draws the scores of --all-snvs -r REGION"); return -1; }
        if (x->region) { hd_errorf("option -r/--region is used with --all-snvs only"); return -1; }
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
    if (x->otype != 't' && x->otype != 'v' && hd_refuse_tty_output(x->out, "compressed")) return -1;
    return 0;
}

/* ---------------------------------------------------------------- setup */

/* the input VCF/BCF and its header (which may name the reference); 0 or an exit status */
static int open_vcf(ctx *x)
{
    if (!(x->ifp = hd_input_hts_open(x->in))) return hd_fail();
    if (hts_get_format(x->ifp)->category != variant_data) {
        hd_errorf("'%s' is not a VCF or BCF file", x->in);
        return EXIT_INPUT;
    }
    if (!(x->ihdr = bcf_hdr_read(x->ifp))) {
        hd_errorf("'%s': cannot read the VCF header", x->in);
        return EXIT_INPUT;
    }
    return 0;
}

/* the reference; with --all-snvs the region (this shard's block of its positions) and a header */
static int open_reference(ctx *x)
{
    const char *refp = resolve_ref(x->fasta, x->ihdr, x->refbuf, sizeof x->refbuf);
    if (!refp) {
        hd_errorf("a reference FASTA is needed: give -f REF.fa, a ##reference= header line naming a readable file, "
                  "or set HYENADNA_REF");
        return EXIT_INPUT;
    }
    if (ref_open(&x->ref, refp)) return hd_fail();
    if (!x->all_snvs) return 0;
    hd_contigs *dict = hd_contigs_from_fai(x->ref.fai, refp);
    hd_region reg;
    if (!dict) return hd_fail();
    if (hd_region_parse(x->region, dict, &reg)) {
        hd_errorf("option -r: %s", hd_error());
        hd_contigs_free(dict);
        return EXIT_INPUT;
    }
    x->gen = (snv_gen){hd_contigs_id(dict, reg.chrom), reg.beg, reg.end, 0};
    x->region_beg = reg.beg;
    free(reg.chrom);
    hd_contigs_free(dict);
    if (x->shard.n) {   /* a contiguous block of the region's positions */
        uint64_t lo, hi;
        hd_shard_range(&x->shard, (uint64_t)(x->gen.end - x->gen.pos), &lo, &hi);
        hts_pos_t beg = x->gen.pos;
        x->gen.pos = beg + (hts_pos_t)lo;
        x->gen.end = beg + (hts_pos_t)hi;
        hd_infof("shard %ld/%ld: positions %" PRIhts_pos "-%" PRIhts_pos " of %s", x->shard.i, x->shard.n,
                 x->gen.pos + 1, x->gen.end, x->region);
    }
    if (!(x->ihdr = snv_header(x))) { hd_errorf("cannot build the VCF header"); return EXIT_MODEL; }
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
    if (overlap < 0) overlap = window / 2 < chunk ? window / 2 : chunk - 1;
    if (overlap >= chunk) {
        hd_errorf("option --overlap: %ld must be smaller than the chunk length %ld", overlap, chunk);
        return EXIT_INPUT;
    }
    x->vo.window = (size_t)window, x->vo.chunk = (size_t)chunk, x->vo.overlap = (size_t)overlap;
    /* --all-snvs -r: the chunks start O bases before the region (or at the contig start), as in `track` */
    if (x->all_snvs) x->ref.origin = x->region_beg > overlap ? (size_t)(x->region_beg - overlap) : 0;
    x->vo.edist = x->edist >= 0 ? x->edist : x->vo.mode == HD_VS_WINDOW;
    if (!(x->be = hd_open_backend(&x->co))) return hd_exit_status(hd_error_kind());
    /* windows run in parallel on private CPU backends for the families whose forward is re-entrant */
    int nw = m->family == HD_FAM_HYENA ? x->be->nthreads : 1;
    if (!(x->eng = hd_vs_engine_new(m, x->be, nw)) || !(x->batch = hd_vs_batch_new(x->eng, &x->vo))) return hd_fail();
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
        if (hd_shard_count_vcf(x->in, &total)) return hd_fail();
        hd_shard_range(&x->shard, total, &x->rlo, &x->rhi);
        hd_infof("shard %ld/%ld: records %" PRIu64 " to %" PRIu64 " of %" PRIu64, x->shard.i, x->shard.n, x->rlo + 1,
                 x->rhi, total);
    }
    return 0;
}

/* ---------------------------------------------------------------- run and report */

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
            int r;
            if (x->all_snvs) {
                r = snv_next(x, &x->gen, x->items[n].rec);
                if (r < 0) return hd_fail();
                r = r ? 0 : -1;
            } else if ((uint64_t)x->nrec >= x->rhi) r = -1;   /* the rest belongs to later shards */
            else r = bcf_read(x->ifp, x->ihdr, x->items[n].rec);
            if (r < -1) {
                hd_errorf("%s: cannot read record %ld (after %ld records)", x->in, x->nrec + 1, x->nrec);
                return EXIT_INPUT;
            }
            if (r == -1) { eof = 1; break; }
            x->nrec++;
            if ((uint64_t)x->nrec <= x->rlo) { x->nskip++; continue; }   /* before this shard's block */
            if (plan(x, &x->items[n], x->nrec)) return hd_fail();
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
    if (close_output(x)) return hd_fail();
    if (x->plot && plot_write(x)) return hd_fail();
    hd_progress_end(&pg);
    return 0;
}

/* the counts by reason, on stderr */
static void report(const ctx *x, double dt)
{
    if (hd_verbosity < 2) return;
    kstring_t s = {0, 0, NULL};
    long nout = x->nrec - x->nskip;
    ksprintf(&s, "%ld records: %ld scored, %ld passed through unscored", nout, x->counts[R_SCORED],
             nout - x->counts[R_SCORED]);
    int first = 1;
    for (int r = 1; r < R_NREASONS; r++)
        if (x->counts[r]) { ksprintf(&s, "%s%ld %s", first ? " (" : ", ", x->counts[r], reason_name[r]); first = 0; }
    if (!first) kputc(')', &s);
    ksprintf(&s, "; %ld ALT alleles scored", x->alleles_scored);
    if (x->alleles_unscorable) ksprintf(&s, ", %ld symbolic ALT alleles left unscored", x->alleles_unscorable);
    if (x->gen.skipped_n) ksprintf(&s, "; %ld non-ACGT positions skipped", x->gen.skipped_n);
    ksprintf(&s, "; %zu forward passes, %.2f s, %.1f variants/s", hd_vs_engine_forwards(x->eng), dt,
             dt > 0 ? (double)x->alleles_scored / dt : 0.0);
    fprintf(stderr, "hyenadna score-variants: %s\n", s.s);
    free(s.s);
}

static void ctx_free(ctx *x)
{
    for (long i = 0; i < x->nitems; i++) {
        if (x->items[i].rec) bcf_destroy(x->items[i].rec);
        free(x->items[i].h);
    }
    free(x->items);
    free(x->fbuf);
    free(x->ebuf);
    free(x->pl_llr);
    hd_vs_batch_free(x->batch);
    hd_vs_engine_free(x->eng);
    hd_backend_free(x->be);
    if (x->ihdr) bcf_hdr_destroy(x->ihdr);
    if (x->ifp) hts_close(x->ifp);
    ref_close(&x->ref);
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
