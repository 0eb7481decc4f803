/* vcfscore.h -- the records of `hyenadna score-variants`, around the scoring of varscore.h: the reference
 * contigs, the checks of each VCF record (its contig, its REF against the reference, its alleles), why a
 * record or an allele gets no score, the warnings about a reference that does not fit the VCF, the score
 * declarations of the VCF header, and the records of saturation mutagenesis (--all-snvs).
 * The rules are those of man hyenadna-score-variants (WINDOWS, UNSCORED RECORDS).  Warnings go through
 * hd_log (util.h). */
#ifndef HD_VCFSCORE_H
#define HD_VCFSCORE_H

#include <htslib/faidx.h>
#include <htslib/vcf.h>
#include <stdint.h>

#include "varscore.h"

/* ---------------------------------------------------------------- the reference */

typedef struct hd_vsref hd_vsref;

/* Open an indexed FASTA (its .fai made when absent, regions.h).  NULL + hd_error naming it. */
hd_vsref *hd_vsref_open(const char *path);
void hd_vsref_close(hd_vsref *r);
const char *hd_vsref_path(const hd_vsref *r);
faidx_t *hd_vsref_fai(const hd_vsref *r);
/* Make contig `name` the current one: 1, 0 when the reference has no such contig, -1 + hd_error.  Its bases
 * are upper-cased; a character that is not a base is an error, the one of every command (tokenizer.h:
 * "REF.fa: invalid character 'C' in record 'NAME' at position P"). */
int hd_vsref_load(hd_vsref *r, const char *name);
const hd_vs_contig *hd_vsref_contig(const hd_vsref *r);   /* the current contig: ids and non-ACGT stretches */
/* The origin of the chunk grid (varscore.h, hd_vs_grid) of the contigs loaded from now on (0 where it would
 * lie past a contig's end). */
void hd_vsref_set_origin(hd_vsref *r, size_t origin);
const char *hd_vsref_seq(const hd_vsref *r);              /* its upper-case bases */

/* ---------------------------------------------------------------- the records */

/* Why a record gets no score; HD_VR_SCORED: at least one ALT scored. */
enum {
    HD_VR_SCORED = 0,
    HD_VR_NOALT,             /* no ALT allele */
    HD_VR_SYMBOLIC,          /* symbolic or '*' ALT alleles only */
    HD_VR_CONTIG,            /* contig not in the reference */
    HD_VR_MISMATCH,          /* REF not matching the reference (or outside its contig) */
    HD_VR_NONACGT_ALLELE,    /* REF, or every ALT, holds a base other than A C G T */
    HD_VR_NONACGT_WINDOW,    /* the bases a score reads hold a code other than A C G T (or N) */
    HD_VR_INDEL,             /* an indel in masked/unmasked mode (no LLR, no EDIST) */
    HD_VR_SAME_WINDOW,       /* every ALT window scored is its REF window (HD_VS_SAME_WINDOW) */
    HD_VR_NREASONS
};
const char *hd_vr_reason(int why);

/* The plan of one record: a batch handle per ALT. */
typedef struct {
    int reason;      /* HD_VR_* (final after hd_vr_results) */
    int nalt, cap;
    long *h;         /* per ALT: the batch handle, -1 when not queued */
    int *why;        /* per ALT not queued: HD_VR_SYMBOLIC or HD_VR_NONACGT_ALLELE */
} hd_vr_plan;
void hd_vr_plan_free(hd_vr_plan *p);

typedef struct {
    long records;                    /* records planned */
    long by_reason[HD_VR_NREASONS];  /* records by their final reason */
    long alleles_scored;             /* ALT alleles with a score */
    long alleles_symbolic, alleles_nonacgt, alleles_window, alleles_same;   /* ALT alleles left unscored, by reason */
    long ref_checked, ref_mismatched;  /* REF alleles checked against the reference, and those not matching */
} hd_vr_counts;

typedef struct hd_vr hd_vr;

/* The planner of the records over a batch and a reference (both stay the caller's).  strict: a contig
 * missing from the reference or a REF that does not match it is an error. */
hd_vr *hd_vr_new(hd_vs_batch *b, hd_vsref *ref, int strict);
void hd_vr_free(hd_vr *v);
/* Check one record and queue its ALT alleles in the batch.  where names it in messages ("in.vcf line 12");
 * the first REF mismatches and missing contigs are named in warnings.  0, or -1 + hd_error. */
int hd_vr_plan_record(hd_vr *v, const bcf_hdr_t *h, bcf1_t *rec, const char *where, hd_vr_plan *p);
/* After the batch ran: the scores of the record's ALT alleles (llr[nalt], edist[nalt]; NAN when none) and
 * its final reason, counted. */
void hd_vr_results(hd_vr *v, hd_vr_plan *p, double *llr, double *edist);
/* The end of the records: the warnings about a reference that does not fit the VCF (more than half of the
 * checked REF alleles mismatching: another assembly; no record's contig in the reference; contig names
 * that differ by a 'chr' prefix, in either direction). */
void hd_vr_finish(hd_vr *v);
const hd_vr_counts *hd_vr_get_counts(const hd_vr *v);

/* ---------------------------------------------------------------- the VCF header */

typedef struct {
    const hd_vs_opts *o;
    const char *model;        /* the model's location */
    const char *model_name;   /* its short name (the last part of the location) */
    const char *family;
    const char *version;      /* "##hyenadna_score-variantsVersion=..." value; NULL: no version lines */
    const char *command;      /* "##hyenadna_score-variantsCommand=..." value */
} hd_vs_hdrinfo;

/* Declare HDNA_LLR and HDNA_EDIST (their descriptions state the score mode, window, LLR reduction, strand
 * and model) and the ##hyenadna_score-variantsModel line, replacing those of an earlier run, so that a VCF
 * scored again describes its new scores only; the version and command lines are added to the header's
 * history (as bcftools does).  0, or -1 + hd_error. */
int hd_vs_header_update(bcf_hdr_t *h, const hd_vs_hdrinfo *info);

/* A header that declares no contig gets the ##contig lines (ID, length) of every contig of the reference, as
 * `bcftools reheader --fai` would give it: the output then declares the contigs of its records (a VCF) and
 * can be written at all (a BCF).  A header declaring any contig is left as it is.  0, or -1 + hd_error. */
int hd_vs_declare_contigs(bcf_hdr_t *h, const hd_vsref *r);

/* ---------------------------------------------------------------- saturation mutagenesis (--all-snvs) */

/* A VCF header naming every contig of the reference and the reference itself; NULL + hd_error. */
bcf_hdr_t *hd_vs_snv_header(const hd_vsref *r);

typedef struct {
    int tid;            /* contig (faidx index) */
    int64_t pos, end;   /* the positions left, [pos, end) */
    long skipped;       /* positions that are not A, C, G or T */
} hd_vs_snvgen;

/* The next record, the 3 other bases at the next A/C/G/T position, into rec: 1, 0 when done, -1 + hd_error. */
int hd_vs_snv_next(hd_vsref *r, bcf_hdr_t *h, hd_vs_snvgen *g, bcf1_t *rec);

#endif
