/* vcfin.c -- VCF/BCF records with the raw-line checks of VCF text (see vcfin.h). */
#include "vcfin.h"
#include "input.h"
#include "util.h"

#include <htslib/bgzf.h>
#include <htslib/kseq.h>
#include <htslib/kstring.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

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

int hd_vcfin_next(hd_vcfin *v, bcf1_t *rec)
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
    if (v->ks.l && v->ks.s[v->ks.l - 1] == '\r') v->ks.s[--v->ks.l] = 0;   /* Windows line ending */
    const char *why;
    if (hd_vcf_line_check(v->ks.s ? v->ks.s : "", v->ks.l, bcf_hdr_nsamples(v->hdr), &why)) {
        hd_set_error(HD_EINPUT, "%s line %" PRId64 ": malformed VCF data line: %s", v->disp, v->line, why);
        return -1;
    }
    if (vcf_parse(&v->ks, v->hdr, rec) < 0) {
        hd_set_error(HD_EINPUT, "%s line %" PRId64 ": htslib cannot parse the VCF data line", v->disp, v->line);
        return -1;
    }
    return 1;
}
