/* bamseq.c -- sequences from FASTA/FASTQ or from the reads of SAM/BAM/CRAM, format detected by content. */
#include "bamseq.h"
#include "input.h"
#include "seqio.h"
#include "tokenizer.h"
#include "util.h"

#include <errno.h>
#include <htslib/hfile.h>
#include <htslib/hts.h>
#include <htslib/hts_log.h>
#include <htslib/kstring.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

struct hd_seqin {
    char *path;
    const char *disp;    /* the path, or "standard input", for messages */
    char *reference;     /* -T: the FASTA of a CRAM file, and of '=' bases of SAM/BAM (NULL: none) */
    faidx_t *fai;        /* its index, opened at the first '=' base */
    hd_contigs *refdict; /* its contigs and their lengths, for the check against the header */
    int align, cram;
    /* FASTA */
    hd_fasta *fa;
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

/* the FASTA index of -T (made when absent); -1 with the error, which says why it cannot be used */
static int open_reference(hd_seqin *in)
{
    if (in->fai) return 0;
    char why[1024];
    why[0] = 0;
    if (in->cram && access(in->reference, R_OK) == 0) {
        /* htslib decodes a CRAM through the .fai beside its reference: one made in $TMPDIR (hd_faidx_open's
         * way with a read-only folder) is of no use to it */
        char *fai = hd_sprintf("%s.fai", in->reference), *dir = hd_parent_dir(in->reference);
        if (fai && dir && access(fai, F_OK) && access(dir, W_OK))
            snprintf(why, sizeof why, "%s: there is no FASTA index %s, and it cannot be made in %s (%s): index the FASTA "
                     "where it can be written (samtools faidx), for instance a copy or a symbolic link of it in a "
                     "writable folder", in->reference, fai, strcmp(dir, ".") ? dir : "the current folder", strerror(errno));
        free(fai);
        free(dir);
    }
    if (!why[0] && (in->fai = hd_faidx_open(in->reference))) return 0;
    if (!why[0]) snprintf(why, sizeof why, "%s", hd_error());
    hd_set_error(hd_error_kind(), "%s: cannot use the reference (-T): %s", in->disp, why);
    return -1;
}

/* The length of a contig in the reference (-T), opened: -1 when it has none, -2 + hd_error when it cannot be read */
static int64_t ref_len(hd_seqin *in, const char *name)
{
    if (open_reference(in) || (!in->refdict && !(in->refdict = hd_contigs_from_fai(in->fai, in->reference)))) return -2;
    int id = hd_contigs_id(in->refdict, name);
    return id < 0 ? -1 : hd_contigs_len(in->refdict, id);
}

/* "has N bases" or "has no contig of that name" */
static void len_words(char *buf, size_t n, int64_t len)
{
    if (len < 0) snprintf(buf, n, "has no contig of that name");
    else snprintf(buf, n, "has %" PRId64 " bases", len);
}

int hd_seqin_check_reference(hd_seqin *in, char **msg)
{
    *msg = NULL;
    if (!in->align || in->cram || !in->reference) return 0;
    int n = sam_hdr_nref(in->hdr), nbad = 0, first = -1;
    int64_t flen = 0;
    for (int i = 0; i < n; i++) {
        int64_t l = ref_len(in, sam_hdr_tid2name(in->hdr, i));
        if (l == -2) return -1;
        if (l != sam_hdr_tid2len(in->hdr, i) && !nbad++) first = i, flen = l;
    }
    if (!nbad) return 0;
    char w[64], more[64] = "";
    len_words(w, sizeof w, flen);
    if (nbad > 1) snprintf(more, sizeof more, " (and %d more of its %d contigs differ)", nbad - 1, n);
    *msg = hd_sprintf("'%s' is not the reference of %s: contig %s has %" PRId64 " bases in its header, the reference %s%s",
                      in->reference, in->disp, sam_hdr_tid2name(in->hdr, first), (int64_t)sam_hdr_tid2len(in->hdr, first),
                      w, more);
    if (!*msg) { hd_set_oom(NULL); return -1; }
    return 1;
}

hd_seqin *hd_seqin_open(const char *path, const char *reference)
{
    hd_seqin *in = calloc(1, sizeof *in);
    if (!in || !(in->path = hd_strdup(path))) {
        free(in);
        hd_set_oom(NULL);
        return NULL;
    }
    in->disp = hd_input_name(in->path);
    if (reference && !(in->reference = hd_strdup(reference))) {
        hd_seqin_close(in);
        return NULL;
    }
    const char *nm = in->disp;
    hFILE *hf = hd_input_hopen(path);
    if (!hf) goto fail;
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
        in->cram = fmt.format == cram;
        in->fp = hts_hopen(hf, path, "r");
        if (!in->fp) {
            hclose_abruptly(hf);
            hd_set_error(HD_EINPUT, "cannot open '%s' as %s", nm, fmt.format == sam ? "SAM" : fmt.format == bam ? "BAM" : "CRAM");
            goto fail;
        }
        /* a CRAM file reads its reference now: opened (and indexed) here first, so that a reference that
         * cannot be used is an error saying why, not htslib's log lines and a bare "cannot use" */
        if (reference && in->cram && open_reference(in)) goto fail;
        if (reference && hts_set_fai_filename(in->fp, reference)) {
            hd_set_error(HD_EINPUT, "%s: cannot use the reference (-T) '%s': htslib cannot load it", nm, reference);
            goto fail;
        }
        if (!(in->hdr = sam_hdr_read(in->fp))) {
            hd_set_error(HD_EINPUT, "%s: cannot read the SAM header", nm);
            goto fail;
        }
        if (!(in->b = bam_init1())) { hd_set_oom(NULL); goto fail; }
        in->filt.min_mapq = 0;
        return in;
    case fasta_format:
    case fastq_format:
    case empty_format:
        break;
    default:
        /* text htslib does not recognise may still be FASTA (with characters it does not expect, which
         * the tokenizer then reports with their position); refuse only what is clearly something else.
         * The FASTA reader refuses text that does not start like FASTA or FASTQ. */
        if (fmt.format != unknown_format && fmt.format != text_format) {
            char *d = hts_format_description(&fmt);
            hd_set_error(HD_EINPUT, "%s: not FASTA, FASTQ, SAM, BAM or CRAM (it looks like %s)", nm, d ? d : "something else");
            free(d);
            hclose_abruptly(hf);
            goto fail;
        }
        break;
    }
    if (!(in->fa = hd_fasta_hopen(hf, path))) goto fail;
    return in;
fail:
    hd_seqin_close(in);
    return NULL;
}

void hd_seqin_close(hd_seqin *in)
{
    if (!in) return;
    hd_fasta_close(in->fa);
    if (in->itr) hts_itr_destroy(in->itr);
    if (in->idx) hts_idx_destroy(in->idx);
    if (in->b) bam_destroy1(in->b);
    if (in->hdr) sam_hdr_destroy(in->hdr);
    if (in->fp) hts_close(in->fp);
    if (in->fai) fai_destroy(in->fai);
    hd_contigs_free(in->refdict);
    free(in->reference);
    free(in->name.s);
    free(in->seq.s);
    free(in->path);
    free(in);
}

int hd_seqin_is_alignment(const hd_seqin *in) { return in->align; }
const char *hd_seqin_path(const hd_seqin *in) { return in->path; }
sam_hdr_t *hd_seqin_header(hd_seqin *in) { return in->hdr; }
hd_fasta *hd_seqin_fasta(hd_seqin *in) { return in->fa; }
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
        const htsFormat *f = hts_get_format(in->fp);
        if (f->format == sam && f->compression == no_compression)   /* samtools index refuses it */
            hd_set_error(HD_EINPUT, "%s: an uncompressed SAM file cannot be indexed for the region query: convert it "
                         "to BAM (samtools sort -o FILE.bam %s) and run samtools index on that", in->disp, in->disp);
        else
            hd_set_error(HD_EINPUT, "%s: no index found for the region query (run samtools index %s)", in->disp, in->disp);
        return -1;
    }
    char **reg = calloc(rs->n ? rs->n : 1, sizeof *reg);
    if (!reg) { hd_set_oom(NULL); return -1; }
    int rc = 0;
    for (size_t i = 0; i < rs->n; i++)
        if (!(reg[i] = hd_region_str(rs->v[i].chrom, rs->v[i].beg, rs->v[i].end))) rc = -1;
    if (!rc) {
        in->itr = sam_itr_regarray(in->idx, in->hdr, reg, (unsigned)rs->n);
        if (!in->itr) {
            hd_set_error(HD_EINPUT, "%s: cannot query the regions through the index", in->disp);
            rc = -1;
        }
    }
    for (size_t i = 0; i < rs->n; i++) free(reg[i]);
    free(reg);
    return rc;
}

static int next_fasta(hd_seqin *in, hd_sequnit *u)
{
    hd_seqrec rec;
    int r = hd_fasta_next(in->fa, &rec);
    if (r <= 0) return r;
    in->n++;
    u->name = u->chrom = rec.name;
    u->seq = rec.seq;
    u->len = rec.len;
    u->start = 0;
    u->end = (int64_t)rec.len;
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

/* SEQ '=' bases ("identical to the reference base", SAM §1.4) replaced by the reference bases they stand
 * for, read from -T: each '=' of an M, = or X operation takes the base of its reference position; '=' in
 * an insertion or a soft clip has none.  Without -T an error names the read. */
static int resolve_eq(hd_seqin *in, const bam1_t *b)
{
    const char *qn = bam_get_qname(b);
    if (!in->reference) {
        hd_set_error(HD_EINPUT, "%s: read '%s' has '=' bases (identical to the reference): give the reference FASTA "
                     "with -T FILE to read them", in->disp, qn);
        return -1;
    }
    if (b->core.tid < 0 || (b->core.flag & BAM_FUNMAP)) {
        hd_set_error(HD_EINPUT, "%s: read '%s' is unmapped but has '=' bases (identical to the reference)", in->disp, qn);
        return -1;
    }
    const char *chrom = sam_hdr_tid2name(in->hdr, b->core.tid);
    /* a reference other than the reads' would give them wrong bases: refused, as htslib refuses to decode a
     * CRAM against a reference whose sequence differs from the one it was made with */
    int64_t rl = chrom ? ref_len(in, chrom) : 0, hl = sam_hdr_tid2len(in->hdr, b->core.tid);
    if (rl == -2) return -1;
    if (chrom && rl != hl) {
        char w[64];
        len_words(w, sizeof w, rl);
        hd_set_error(HD_EINPUT, "%s: read '%s' has '=' bases on %s, which has %" PRId64 " bases in the header, but the "
                     "reference '%s' (-T) %s: give the FASTA the reads were aligned to", in->disp, qn, chrom, hl,
                     in->reference, w);
        return -1;
    }
    hts_pos_t beg = b->core.pos, end = bam_endpos(b);
    char *ref = chrom ? hd_faidx_fetch(in->fai, in->reference, chrom, beg, end) : NULL;
    if (!ref) return -1;
    const uint32_t *cig = bam_get_cigar(b);
    size_t q = 0, n = in->seq.l;
    hts_pos_t r = beg;
    int rc = 0;
    for (uint32_t k = 0; k < b->core.n_cigar && !rc; k++) {
        int op = bam_cigar_op(cig[k]), cq = bam_cigar_type(op) & 1, cr = bam_cigar_type(op) & 2;
        for (uint32_t i = 0; i < bam_cigar_oplen(cig[k]); i++) {
            if (cq && q < n && in->seq.s[q] == '=') {
                if (!cr || r >= end) {
                    hd_set_error(HD_EINPUT, "%s: read '%s' has an '=' base at position %zu, which is not aligned to a "
                                 "reference base", in->disp, qn, q + 1);
                    rc = -1;
                    break;
                }
                in->seq.s[q] = ref[r - beg];
            }
            if (cq) q++;
            if (cr) r++;
        }
    }
    for (size_t i = 0; !rc && i < n; i++)   /* '=' left beyond the CIGAR (or with none) */
        if (in->seq.s[i] == '=') {
            hd_set_error(HD_EINPUT, "%s: read '%s' has an '=' base at position %zu, which is not aligned to a "
                         "reference base", in->disp, qn, i + 1);
            rc = -1;
        }
    free(ref);
    return rc;
}

static int next_read(hd_seqin *in, hd_sequnit *u)
{
    bam1_t *b = in->b;
    for (;;) {
        int r = in->itr ? sam_itr_next(in->fp, in->itr, b) : sam_read1(in->fp, in->hdr, b);
        if (r == -1) return 0;
        if (r < -1) {
            if (in->cram && !in->reference)   /* the usual reason: the reference could not be found */
                hd_set_error(HD_EINPUT, "%s: cannot decode the CRAM records after read %ld: the reference sequence "
                             "they were compressed against was not found; give that FASTA with -T FILE (or make it "
                             "findable through REF_PATH/REF_CACHE, see samtools(1))", in->disp, in->n);
            else if (in->cram)
                hd_set_error(HD_EINPUT, "%s: cannot decode the CRAM records after read %ld with the reference '%s' "
                             "(is it the FASTA the CRAM file was made against?)", in->disp, in->n, in->reference);
            else
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
        hd_set_error(HD_ERESOURCE, "out of memory for read '%s'", bam_get_qname(b));
        return -1;
    }
    const uint8_t *s = bam_get_seq(b);
    int eq = 0;
    for (size_t i = 0; i < n; i++) {
        char c = seq_nt16_str[bam_seqi(s, i)];
        eq |= c == '=';
        in->seq.s[i] = c;
    }
    in->seq.s[n] = 0;
    in->seq.l = n;
    if (eq && resolve_eq(in, b)) return -1;
    /* A read on the reverse strand (flag 16) back in the orientation it was sequenced in: SAM stores SEQ on the
     * reference's forward strand, so a reverse read is its reverse complement there.  samtools fasta/fastq
     * restore it the same way, so that a BAM and the FASTQ of its reads give the same sequences.  IUPAC codes
     * are complemented too (hd_bases_revcomp); the case of '=' bases filled in from the reference is kept, and
     * any other character is left for the tokenizer's check to name. */
    if (fl & BAM_FREVERSE) hd_bases_revcomp(in->seq.s, in->seq.l);
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
