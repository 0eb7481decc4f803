/* bamseq.c -- sequences from FASTA/FASTQ or from the reads of SAM/BAM/CRAM, format detected by content. */
#include "bamseq.h"
#include "seqio.h"
#include "util.h"

#include <errno.h>
#include <htslib/bgzf.h>
#include <htslib/hfile.h>
#include <htslib/hts.h>
#include <htslib/hts_log.h>
#include <htslib/kseq.h>
#include <htslib/kstring.h>
#include <stdlib.h>
#include <string.h>

/* FASTA/FASTQ over BGZF: reads plain, gzip and bgzip alike, from any hFILE (stdin after detection) */
static int bgzf_read_int(BGZF *fp, void *buf, int n) { return (int)bgzf_read(fp, buf, (size_t)n); }
KSEQ_INIT(BGZF *, bgzf_read_int)

struct hd_seqin {
    char *path;
    const char *disp;    /* the path, or "standard input", for messages */
    int align;
    /* FASTA */
    BGZF *bg;
    kseq_t *ks;
    /* alignments */
    htsFile *fp;
    sam_hdr_t *hdr;
    hts_idx_t *idx;
    hts_itr_t *itr;
    bam1_t *b;
    hd_read_filter filt;
    kstring_t name, seq;
    long n, n_filtered, n_noseq;
};

hd_seqin *hd_seqin_open(const char *path, const char *reference)
{
    hd_seqin *in = calloc(1, sizeof *in);
    if (!in || !(in->path = hd_strdup(path))) {
        free(in);
        hd_set_error(HD_EMODEL, "out of memory");
        return NULL;
    }
    in->disp = strcmp(path, "-") ? in->path : "standard input";
    const char *nm = in->disp;
    errno = 0;
    hFILE *hf = hopen(path, "r");
    if (!hf) {
        hd_set_error(HD_EINPUT, "cannot open '%s': %s", nm, errno ? strerror(errno) : "unknown error");
        goto fail;
    }
    htsFormat fmt;
    if (hts_detect_format2(hf, path, &fmt) < 0) {
        hd_set_error(HD_EINPUT, "%s: read error while detecting the format: %s", nm, errno ? strerror(errno) : "I/O error");
        hclose_abruptly(hf);
        goto fail;
    }
    switch (fmt.format) {
    case sam:
    case bam:
    case cram:
        in->align = 1;
        in->fp = hts_hopen(hf, path, "r");
        if (!in->fp) {
            hclose_abruptly(hf);
            hd_set_error(HD_EINPUT, "cannot open '%s' as %s", nm, fmt.format == sam ? "SAM" : fmt.format == bam ? "BAM" : "CRAM");
            goto fail;
        }
        if (reference && hts_set_fai_filename(in->fp, reference)) {
            hd_set_error(HD_EINPUT, "%s: cannot use the reference '%s'", nm, reference);
            goto fail;
        }
        if (!(in->hdr = sam_hdr_read(in->fp))) {
            hd_set_error(HD_EINPUT, "%s: cannot read the SAM header", nm);
            goto fail;
        }
        if (!(in->b = bam_init1())) { hd_set_error(HD_EMODEL, "out of memory"); goto fail; }
        in->filt.min_mapq = 0;
        return in;
    case fasta_format:
    case fastq_format:
    case empty_format:
        break;
    default:
        /* text htslib does not recognise may still be FASTA (with characters it does not expect, which
         * the tokenizer then reports with their position); refuse only what is clearly something else */
        if (fmt.format != unknown_format && fmt.format != text_format) {
            char *d = hts_format_description(&fmt);
            hd_set_error(HD_EINPUT, "%s: not FASTA, FASTQ, SAM, BAM or CRAM (it looks like %s)", nm, d ? d : "something else");
            free(d);
            hclose_abruptly(hf);
            goto fail;
        }
        if (fmt.compression == no_compression) {
            /* uncompressed text: it must start like FASTA or FASTQ (after blank lines) */
            char buf[256];
            ssize_t n = hpeek(hf, buf, sizeof buf), i = 0;
            while (i < n && (buf[i] == '\n' || buf[i] == '\r' || buf[i] == ' ' || buf[i] == '\t')) i++;
            if (i < n && buf[i] != '>' && buf[i] != '@') {
                hd_set_error(HD_EINPUT, "%s: not FASTA, FASTQ, SAM, BAM or CRAM (a FASTA record starts with '>')", nm);
                hclose_abruptly(hf);
                goto fail;
            }
        }
        break;
    }
    if (!(in->bg = bgzf_hopen(hf, "r"))) {
        hclose_abruptly(hf);
        hd_set_error(HD_EINPUT, "cannot read '%s'", nm);
        goto fail;
    }
    if (!(in->ks = kseq_init(in->bg))) { hd_set_error(HD_EMODEL, "out of memory"); goto fail; }
    return in;
fail:
    hd_seqin_close(in);
    return NULL;
}

void hd_seqin_close(hd_seqin *in)
{
    if (!in) return;
    if (in->ks) kseq_destroy(in->ks);
    if (in->bg) bgzf_close(in->bg);
    if (in->itr) hts_itr_destroy(in->itr);
    if (in->idx) hts_idx_destroy(in->idx);
    if (in->b) bam_destroy1(in->b);
    if (in->hdr) sam_hdr_destroy(in->hdr);
    if (in->fp) hts_close(in->fp);
    free(in->name.s);
    free(in->seq.s);
    free(in->path);
    free(in);
}

int hd_seqin_is_alignment(const hd_seqin *in) { return in->align; }
const char *hd_seqin_path(const hd_seqin *in) { return in->path; }
sam_hdr_t *hd_seqin_header(hd_seqin *in) { return in->hdr; }
long hd_seqin_n_filtered(const hd_seqin *in) { return in->n_filtered; }
long hd_seqin_n_noseq(const hd_seqin *in) { return in->n_noseq; }

void hd_seqin_set_filter(hd_seqin *in, const hd_read_filter *f) { in->filt = *f; }

int hd_seqin_set_regions(hd_seqin *in, const hd_regions *rs)
{
    if (!in->align) {
        hd_set_error(HD_EINPUT, "%s: not an alignment file", in->disp);
        return -1;
    }
    if (!strcmp(in->path, "-")) {
        hd_set_error(HD_EINPUT, "regions of an alignment file need its index: give a file name, not standard input");
        return -1;
    }
    enum htsLogLevel lvl = hts_get_log_level();
    hts_set_log_level(HTS_LOG_OFF);
    in->idx = sam_index_load(in->fp, in->path);
    hts_set_log_level(lvl);
    if (!in->idx) {
        hd_set_error(HD_EINPUT, "%s: no index found for the region query (run samtools index %s)", in->disp, in->disp);
        return -1;
    }
    char **reg = calloc(rs->n ? rs->n : 1, sizeof *reg);
    if (!reg) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    int rc = 0;
    for (size_t i = 0; i < rs->n; i++)
        if (!(reg[i] = hd_region_str(rs->v[i].chrom, rs->v[i].beg, rs->v[i].end))) rc = -1;
    if (!rc) {
        in->itr = sam_itr_regarray(in->idx, in->hdr, reg, (unsigned)rs->n);
        if (!in->itr) {
            hd_set_error(HD_EINPUT, "%s: cannot query the regions through the index", in->disp);
            rc = -1;
        }
    } else hd_set_error(HD_EMODEL, "out of memory");
    for (size_t i = 0; i < rs->n; i++) free(reg[i]);
    free(reg);
    return rc;
}

static int next_fasta(hd_seqin *in, hd_sequnit *u)
{
    int r = kseq_read(in->ks);
    if (r == -1) return 0;
    if (r < -1) {
        const char *why = r == -2 ? "truncated quality string" : r == -3 ? "read error" : "malformed record";
        hd_set_error(HD_EINPUT, "%s: %s after record %ld", in->disp, why, in->n);
        return -1;
    }
    kstring_t *s = &in->ks->seq, *nm = &in->ks->name;
    hd_seq_tidy(s, nm, NULL);   /* Windows line endings */
    if (!nm->l) {
        hd_set_error(HD_EINPUT, "%s: record %ld has an empty name", in->disp, in->n + 1);
        return -1;
    }
    in->n++;
    u->name = u->chrom = nm->s;
    u->seq = s->s ? s->s : "";
    u->len = s->l;
    u->start = 0;
    u->end = (int64_t)s->l;
    u->strand = '+';
    u->flag = 0;
    u->mapq = 0;
    return 1;
}

static int selected(const hd_read_filter *f, const bam1_t *b)
{
    uint16_t fl = b->core.flag;
    if ((fl & BAM_FUNMAP) && !f->unmapped) return 0;
    if ((fl & BAM_FSECONDARY) && !f->secondary) return 0;
    if ((fl & BAM_FSUPPLEMENTARY) && !f->supplementary) return 0;
    if (!(fl & BAM_FUNMAP) && b->core.qual < f->min_mapq) return 0;
    return 1;
}

static int next_read(hd_seqin *in, hd_sequnit *u)
{
    bam1_t *b = in->b;
    for (;;) {
        int r = in->itr ? sam_itr_next(in->fp, in->itr, b) : sam_read1(in->fp, in->hdr, b);
        if (r == -1) return 0;
        if (r < -1) {
            hd_set_error(HD_EINPUT, "%s: truncated or corrupt record after read %ld", in->disp, in->n);
            return -1;
        }
        in->n++;
        if (!selected(&in->filt, b)) { in->n_filtered++; continue; }
        if (b->core.l_qseq <= 0) { in->n_noseq++; continue; }
        break;
    }
    uint16_t fl = b->core.flag;
    in->name.l = 0;
    kputs(bam_get_qname(b), &in->name);
    if (fl & BAM_FPAIRED) {
        if (fl & BAM_FREAD1) kputs("/1", &in->name);
        else if (fl & BAM_FREAD2) kputs("/2", &in->name);
    }
    size_t n = (size_t)b->core.l_qseq;
    in->seq.l = 0;
    if (ks_resize(&in->seq, n + 1) < 0 || !in->name.s) {
        hd_set_error(HD_EMODEL, "out of memory for read %s", bam_get_qname(b));
        return -1;
    }
    const uint8_t *s = bam_get_seq(b);
    for (size_t i = 0; i < n; i++) {
        char c = seq_nt16_str[bam_seqi(s, i)];
        in->seq.s[i] = c == '=' ? 'N' : c;
    }
    in->seq.s[n] = 0;
    in->seq.l = n;
    u->name = in->name.s;
    u->seq = in->seq.s;
    u->len = n;
    u->flag = fl;
    u->mapq = b->core.qual;
    u->strand = (fl & BAM_FREVERSE) ? '-' : '+';
    if (b->core.tid >= 0 && b->core.pos >= 0) {
        u->chrom = sam_hdr_tid2name(in->hdr, b->core.tid);
        u->start = b->core.pos;
        u->end = bam_endpos(b);
    } else {
        u->chrom = "*";
        u->start = u->end = 0;
    }
    return 1;
}

int hd_seqin_next(hd_seqin *in, hd_sequnit *u)
{
    return in->align ? next_read(in, u) : next_fasta(in, u);
}
