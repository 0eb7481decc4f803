/* bamseq.h -- the sequences of an input file, whatever it holds: FASTA/FASTQ records (plain, gzip or
 * bgzip, from a file or standard input) or the reads of a SAM/BAM/CRAM file.  The format is detected
 * from the content (htslib), so pipes work too.  FASTA/FASTQ records are read by seqio.h, with its rules
 * (empty records and repeated names skipped with a warning).
 *
 * Reads are given as sequenced, as samtools fastq writes them: SEQ as stored, reverse-complemented back for a
 * read on the reverse strand (flag 16; SAM stores the reference-strand sequence), so that a BAM and the
 * FASTQ of its reads give the same sequences (hyenadna-embed(1)). */
#ifndef HD_BAMSEQ_H
#define HD_BAMSEQ_H

#include <htslib/sam.h>
#include <stddef.h>
#include <stdint.h>

#include "regions.h"
#include "seqio.h"

typedef struct hd_seqin hd_seqin;

/* One sequence.  Pointers stay valid until the next call of hd_seqin_next. */
typedef struct {
    const char *name;    /* FASTA: first word of the header; reads: QNAME, plus /1 or /2 for paired reads */
    const char *chrom;   /* FASTA: the record name; reads: RNAME, or "*" when unplaced */
    int64_t start, end;  /* FASTA: 0, len; reads: 0-based POS and the end of the alignment (0, 0 unplaced) */
    char strand;         /* FASTA '+'; reads '-' when aligned to the reverse strand, else '+' */
    const char *seq;     /* reads: as sequenced (see above) */
    size_t len;
    uint16_t flag;       /* reads: the SAM flag */
    int mapq;            /* reads: MAPQ */
} hd_sequnit;

/* Which reads: by default mapped, primary, not supplementary. */
typedef struct {
    int unmapped;        /* also unmapped reads */
    int secondary;       /* also secondary alignments */
    int supplementary;   /* also supplementary alignments */
    int min_mapq;        /* mapped reads with a lower MAPQ are skipped */
} hd_read_filter;

/* Open and detect.  reference: the FASTA a CRAM file was made against (may be NULL). */
hd_seqin *hd_seqin_open(const char *path, const char *reference);
void hd_seqin_close(hd_seqin *in);
/* SAM/BAM input with a reference (-T): the contigs of its header (@SQ names and lengths) looked up in the
 * reference.  0 when all are there with their lengths, or when there is nothing to check (no -T, FASTA,
 * CRAM: htslib checks the reference a CRAM was made with); 1 when some differ, *msg (malloc'd) naming the
 * first and their number; -1 + hd_error when the reference cannot be read.  (The reference is read for the
 * '=' bases of reads only; those on a contig whose length differs are an error naming the read.) */
int hd_seqin_check_reference(hd_seqin *in, char **msg);
int hd_seqin_is_alignment(const hd_seqin *in);
const char *hd_seqin_path(const hd_seqin *in);
/* SAM header of an alignment input (NULL for FASTA). */
sam_hdr_t *hd_seqin_header(hd_seqin *in);
/* The FASTA/FASTQ reader of a FASTA input (NULL for alignments), e.g. to set its skip hook. */
hd_fasta *hd_seqin_fasta(hd_seqin *in);

void hd_seqin_set_filter(hd_seqin *in, const hd_read_filter *f);
/* Alignment input only: visit the reads overlapping these regions (each read once), through the index
 * (.bai/.csi/.crai next to the file).  An error names the file when there is no index. */
int hd_seqin_set_regions(hd_seqin *in, const hd_regions *rs);

/* 1: a sequence; 0: end of input; -1: error (hd_error names the file and the record). */
int hd_seqin_next(hd_seqin *in, hd_sequnit *u);

/* Reads skipped by the filter, and selected reads skipped because SEQ is '*'. */
long hd_seqin_n_filtered(const hd_seqin *in);
long hd_seqin_n_noseq(const hd_seqin *in);

#endif
