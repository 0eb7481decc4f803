/* vcfin.c -- VCF/BCF records with the raw-line checks of VCF text (see vcfin.h). */
#include "vcfin.h"
#include "input.h"
#include "util.h"

#include <htslib/bgzf.h>
#include <htslib/kseq.h>
#include <htslib/kstring.h>
#include <htslib/tbx.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct hd_vcfin {
    char *path;
    const char *disp;
    htsFile *fp;
    bcf_hdr_t *hdr;
    int bcf;
    int64_t line;      /* VCF: the line last read (1-based, header lines included) */
    int64_t nrec;      /* records read */
    kstring_t ks;      /* the VCF line */
    char where[256];
    /* regions (hd_vcfin_set_regions): read through the index, region by region */
    hd_regions reg;
    size_t ireg;       /* the region being read */
    tbx_t *tbx;        /* VCF: the tabix (.tbi or .csi) index */
    hts_idx_t *idx;    /* BCF: the .csi index */
    hts_itr_t *itr;    /* over reg.v[ireg], NULL before it is opened */
    /* targets (hd_vcfin_set_targets): sorted by name and start, merged */
    int targets, tg_exclude;
    hd_regions tg;
};

hd_vcfin *hd_vcfin_open(const char *path)
{
    hd_vcfin *v = calloc(1, sizeof *v);
    if (!v || !(v->path = hd_strdup(path))) {
        free(v);
        hd_set_oom(NULL);
        return NULL;
    }
    v->disp = hd_input_name(v->path);
    if (!(v->fp = hd_input_hts_open(path))) goto fail;
    const htsFormat *f = hts_get_format(v->fp);
    if (f->category != variant_data || (f->format != vcf && f->format != bcf)) {
        /* htslib knows a VCF by its first line: a text file without it (a header of #CHROM only, or
         * records alone) is 'unknown text' */
        char *what = f->format == text_format || f->format == empty_format ? NULL : hts_format_description(f);
        hd_set_error(HD_EINPUT, "'%s' is not a VCF or BCF file%s%s%s", v->disp,
                     f->format == text_format    ? " (a VCF starts with a ##fileformat=VCFv4.x line)"
                     : f->format == empty_format ? " (it is empty)"
                     : what                      ? " (htslib reads it as "
                                                 : "",
                     what ? what : "",
                     !what ? "" : f->format == fasta_format ? "; the reference FASTA is given with -f)" : ")");
        free(what);
        goto fail;
    }
    v->bcf = f->format == bcf;
    if (!(v->hdr = bcf_hdr_read(v->fp))) {
        hd_set_error(HD_EINPUT, "'%s': cannot read the VCF header", v->disp);
        goto fail;
    }
    v->line = v->fp->lineno;   /* VCF: the header lines read */
    return v;
fail:
    hd_vcfin_close(v);
    return NULL;
}

void hd_vcfin_close(hd_vcfin *v)
{
    if (!v) return;
    if (v->itr) hts_itr_destroy(v->itr);
    if (v->tbx) tbx_destroy(v->tbx);
    if (v->idx) hts_idx_destroy(v->idx);
    hd_regions_free(&v->reg);
    hd_regions_free(&v->tg);
    if (v->hdr) bcf_hdr_destroy(v->hdr);
    if (v->fp) hts_close(v->fp);
    free(v->ks.s);
    free(v->path);
    free(v);
}

bcf_hdr_t *hd_vcfin_header(hd_vcfin *v) { return v->hdr; }
const char *hd_vcfin_name(const hd_vcfin *v) { return v->disp; }
int hd_vcfin_is_bcf(const hd_vcfin *v) { return v->bcf; }

const char *hd_vcfin_where(hd_vcfin *v)
{
    if (v->reg.n) return v->where;   /* set when the record was read: line numbers are unknown there */
    if (v->bcf) snprintf(v->where, sizeof v->where, "%s record %" PRId64, v->disp, v->nrec);
    else snprintf(v->where, sizeof v->where, "%s line %" PRId64, v->disp, v->line);
    return v->where;
}

int hd_vcf_line_check(const char *line, size_t len, int nsamples, const char **why)
{
    static char msg[256];
    size_t ncol = 1, pos_b = 0, pos_e = len, full = 0;   /* full: the columns up to the last one not empty */
    size_t qual_b = len, qual_e = len;
    for (size_t i = 0; i < len; i++)
        if (line[i] == '\t') {
            if (i + 1 < len && line[i + 1] != '\t') full = ncol + 1;
            ncol++;
            if (ncol == 2) pos_b = i + 1;
            if (ncol == 3) pos_e = i;
            if (ncol == 6) qual_b = i + 1;
            if (ncol == 7) qual_e = i;
        }
    if (!len) { *why = "an empty line (a data line has 8 or more tab-separated columns)"; return -1; }
    if (ncol < 8) { *why = "fewer than 8 tab-separated columns (CHROM POS ID REF ALT QUAL FILTER INFO)"; return -1; }
    if (pos_e == pos_b || pos_e - pos_b > 18) { *why = "POS is not a number"; return -1; }
    for (size_t i = pos_b; i < pos_e; i++)
        if (line[i] < '0' || line[i] > '9') { *why = "POS is not a number"; return -1; }
    /* QUAL: '.' or a number; htslib reads anything else as the number its first characters make ('abc' as 0,
     * '30x' as 30) and writes that */
    if (!(qual_e - qual_b == 1 && line[qual_b] == '.')) {
        char buf[64], *end;
        size_t n = qual_e - qual_b;
        if (n) memcpy(buf, line + qual_b, n < sizeof buf ? n : sizeof buf - 1);
        buf[n < sizeof buf ? n : sizeof buf - 1] = 0;
        if (!n || n >= sizeof buf || (strtod(buf, &end), *end)) {
            *why = "QUAL is neither '.' nor a number";
            return -1;
        }
    }
    /* the columns the header's #CHROM line names: htslib drops those beyond them without a word (sample
     * columns of a header that names fewer samples, or none), and writes a line without FORMAT and samples
     * under a header that names samples as a record it then refuses to write */
    size_t want = nsamples > 0 ? 9 + (size_t)nsamples : 8;
    if (ncol < want) {
        snprintf(msg, sizeof msg, "%zu tab-separated columns, where the header's %d sample%s need%s %zu (FORMAT and "
                 "one column per sample)", ncol, nsamples, nsamples == 1 ? "" : "s", nsamples == 1 ? "s" : "", want);
        *why = msg;
        return -1;
    }
    /* empty columns at the end (trailing tabs) hold nothing to lose, nor does FORMAT without samples */
    if (full > (nsamples > 0 ? want : 9)) {
        if (nsamples > 0)
            snprintf(msg, sizeof msg, "%zu tab-separated columns, where the header's %d sample%s need%s %zu: "
                     "the columns after the last sample would be lost", full, nsamples, nsamples == 1 ? "" : "s",
                     nsamples == 1 ? "s" : "", want);
        else
            snprintf(msg, sizeof msg, "%zu tab-separated columns, where a header that names no sample has 8 (9 with "
                     "FORMAT): the sample columns would be lost (add the sample names to the #CHROM line)", full);
        *why = msg;
        return -1;
    }
    return 0;
}

static int next_stream(hd_vcfin *v, bcf1_t *rec);

/* a deep copy of rs into dst (empty) */
static int copy_regions(hd_regions *dst, const hd_regions *rs)
{
    if (!rs->n) return 0;
    if (!(dst->v = calloc(rs->n, sizeof *dst->v))) { hd_set_oom(NULL); return -1; }
    dst->m = rs->n;
    for (size_t i = 0; i < rs->n; i++) {
        dst->v[i] = rs->v[i];
        if (!(dst->v[i].chrom = hd_strdup(rs->v[i].chrom))) { hd_set_oom(NULL); return -1; }
        dst->n++;
    }
    return 0;
}

/* An index older than its file (the file rewritten after indexing) may point at other records, or past the
 * end, and read nothing without an error: a warning, as htslib's rule ("the index file is older than the data
 * file", by whole seconds; files copied together within one second are not told apart).  The index is the
 * one htslib loads: the .csi beside the file, else the .tbi.  Local files only. */
static void warn_stale_index(const hd_vcfin *v)
{
    struct stat fs, is;
    if (strstr(v->path, "://") || strstr(v->path, "##idx##") || stat(v->path, &fs)) return;
    const char *ext[] = {".csi", ".tbi"};
    for (int i = 0; i < (v->bcf ? 1 : 2); i++) {
        char *ip = hd_sprintf("%s%s", v->path, ext[i]);
        if (!ip) return;
        int there = stat(ip, &is) == 0;
        if (there && is.st_mtime < fs.st_mtime)
            hd_log(HD_LOG_WARN, "the index '%s' is older than '%s': if the file was rewritten after indexing, the "
                   "records of the regions may be missed or wrong (index it again: bcftools index -f)", ip, v->disp);
        free(ip);
        if (there) return;
    }
}

int hd_vcfin_set_regions(hd_vcfin *v, const hd_regions *rs)
{
    const char *how = v->bcf ? "a BCF is indexed with 'bcftools index'"
                             : "a VCF is compressed with 'bgzip' and indexed with 'bcftools index' or 'tabix -p vcf'";
    if (!strcmp(v->path, "-")) {
        hd_set_error(HD_EINPUT, "regions are read through the input's index, which standard input has none of: give "
                     "the indexed file, or use targets (-t/-T), which stream the input");
        return -1;
    }
    if (v->fp->format.compression != bgzf) {
        hd_set_error(HD_EINPUT, "'%s' is not bgzip-compressed, so it has no index for regions (%s), or use targets "
                     "(-t/-T), which stream the input", v->disp, how);
        return -1;
    }
    if (v->bcf) v->idx = bcf_index_load3(v->path, NULL, HTS_IDX_SILENT_FAIL);
    else v->tbx = tbx_index_load3(v->path, NULL, HTS_IDX_SILENT_FAIL);
    if (!v->idx && !v->tbx) {
        hd_set_error(HD_EINPUT, "'%s' has no index (%s beside it) for regions: index it (%s), or use targets (-t/-T), "
                     "which stream the input", v->disp, v->bcf ? ".csi" : ".tbi or .csi", how);
        return -1;
    }
    warn_stale_index(v);
    if (copy_regions(&v->reg, rs)) return -1;
    if (!v->reg.n) {   /* nothing to read: every region list names at least one, but say so rather than read all */
        hd_set_error(HD_EINPUT, "no regions");
        return -1;
    }
    return 0;
}

static int cmp_target(const void *a, const void *b)
{
    const hd_region *x = a, *y = b;
    int c = strcmp(x->chrom, y->chrom);
    return c ? c : x->beg < y->beg ? -1 : x->beg > y->beg;
}

int hd_vcfin_set_targets(hd_vcfin *v, const hd_regions *rs, int exclude)
{
    if (copy_regions(&v->tg, rs)) return -1;
    hd_regions *t = &v->tg;
    if (t->n) qsort(t->v, t->n, sizeof *t->v, cmp_target);
    hd_regions_merge_sorted(t);   /* so that one search finds the only candidate */
    v->targets = 1;
    v->tg_exclude = exclude;
    return 0;
}

/* is the record's POS in one of the targets? */
static int in_targets(const hd_vcfin *v, const bcf1_t *rec)
{
    const char *chrom = bcf_seqname(v->hdr, rec);
    size_t lo = 0, hi = v->tg.n;   /* the first target after (chrom, pos) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(v->tg.v[mid].chrom, chrom);
        if (c < 0 || (!c && v->tg.v[mid].beg <= rec->pos)) lo = mid + 1;
        else hi = mid;
    }
    if (!lo) return 0;
    const hd_region *g = &v->tg.v[lo - 1];
    return !strcmp(g->chrom, chrom) && rec->pos >= g->beg && rec->pos < g->end;
}

/* check and parse the VCF text line in v->ks; `where` names it */
static int parse_line(hd_vcfin *v, bcf1_t *rec, const char *where)
{
    if (v->ks.l && v->ks.s[v->ks.l - 1] == '\r') v->ks.s[--v->ks.l] = 0;   /* Windows line ending */
    const char *why;
    if (hd_vcf_line_check(v->ks.s ? v->ks.s : "", v->ks.l, bcf_hdr_nsamples(v->hdr), &why)) {
        hd_set_error(HD_EINPUT, "%s: malformed VCF data line: %s", where, why);
        return -1;
    }
    if (vcf_parse(&v->ks, v->hdr, rec) < 0) {
        hd_set_error(HD_EINPUT, "%s: htslib cannot parse the VCF data line", where);
        return -1;
    }
    return 0;
}

/* the next record of the regions, through the index */
static int next_indexed(hd_vcfin *v, bcf1_t *rec)
{
    for (;;) {
        if (v->ireg == v->reg.n) return 0;
        const hd_region *g = &v->reg.v[v->ireg];
        char *rs = NULL;
        if (!v->itr) {
            int tid = v->bcf ? bcf_hdr_name2id(v->hdr, g->chrom) : tbx_name2id(v->tbx, g->chrom);
            if (tid < 0) { v->ireg++; continue; }   /* no record on that contig (none indexed) */
            v->itr = v->bcf ? bcf_itr_queryi(v->idx, tid, g->beg, g->end) : tbx_itr_queryi(v->tbx, tid, g->beg, g->end);
            if (!v->itr) {
                rs = hd_region_str(g->chrom, g->beg, g->end);
                hd_set_error(HD_EINPUT, "%s: cannot query its index for region %s", v->disp, rs ? rs : g->chrom);
                free(rs);
                return -1;
            }
        }
        int r = v->bcf ? bcf_itr_next(v->fp, v->itr, rec) : tbx_itr_next(v->fp, v->tbx, v->itr, &v->ks);
        if (r == -1) {   /* the end of this region */
            hts_itr_destroy(v->itr);
            v->itr = NULL;
            v->ireg++;
            continue;
        }
        v->nrec++;
        if (r < -1) {
            rs = hd_region_str(g->chrom, g->beg, g->end);
            hd_set_error(HD_EINPUT, "%s: cannot read the records of region %s (truncated or corrupt file, or a stale "
                         "index?)", v->disp, rs ? rs : g->chrom);
            free(rs);
            return -1;
        }
        if (v->bcf) {
            snprintf(v->where, sizeof v->where, "%s record at %s:%" PRIhts_pos, v->disp, bcf_seqname(v->hdr, rec),
                     rec->pos + 1);
        } else {   /* CHROM and POS as the text has them: the line is not parsed yet */
            const char *s = v->ks.s ? v->ks.s : "", *t1 = strchr(s, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
            int n1 = t1 ? (int)(t1 - s) : (int)strlen(s), n2 = t2 ? (int)(t2 - t1 - 1) : 0;
            snprintf(v->where, sizeof v->where, "%s record at %.*s:%.*s", v->disp, n1 > 100 ? 100 : n1, s,
                     n2 > 20 ? 20 : n2, t1 ? t1 + 1 : "");
            if (parse_line(v, rec, v->where)) return -1;
        }
        /* a record overlapping the region before too (on the same contig) was read there */
        if (v->ireg && !strcmp(v->reg.v[v->ireg - 1].chrom, g->chrom) && rec->pos < v->reg.v[v->ireg - 1].end) continue;
        return 1;
    }
}

int hd_vcfin_next(hd_vcfin *v, bcf1_t *rec)
{
    for (;;) {
        int r = v->reg.n ? next_indexed(v, rec) : next_stream(v, rec);
        if (r <= 0) return r;
        if (!v->targets || in_targets(v, rec) != v->tg_exclude) return 1;
    }
}

/* the next record of the whole input, in file order */
static int next_stream(hd_vcfin *v, bcf1_t *rec)
{
    if (v->bcf) {
        int r = bcf_read(v->fp, v->hdr, rec);
        if (r == -1) return 0;
        v->nrec++;
        if (r < -1) {
            hd_set_error(HD_EINPUT, "%s: cannot read record %" PRId64 " (truncated or corrupt BCF)", v->disp, v->nrec);
            return -1;
        }
        return 1;
    }
    int r = hts_getline(v->fp, KS_SEP_LINE, &v->ks);
    if (r == -1) return 0;
    v->line++;
    if (r < -1) {
        hd_set_error(HD_EINPUT, "%s: read error after line %" PRId64 " (truncated or corrupt compressed data?)", v->disp,
                     v->line - 1);
        return -1;
    }
    v->nrec++;
    if (v->fp->format.compression != no_compression && v->fp->fp.bgzf->errcode) {   /* a line cut short */
        hd_set_error(HD_EINPUT, "%s: read error at line %" PRId64 " (truncated or corrupt compressed data)", v->disp,
                     v->line);
        return -1;
    }
    snprintf(v->where, sizeof v->where, "%s line %" PRId64, v->disp, v->line);
    return parse_line(v, rec, v->where) ? -1 : 1;
}
