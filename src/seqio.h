/* seqio.h -- sequence input on htslib: FASTA/FASTQ records (plain, gzip, bgzip or stdin). */
#ifndef HD_SEQIO_H
#define HD_SEQIO_H

#include <stddef.h>

#include <htslib/kstring.h>

typedef struct hd_fasta hd_fasta;

typedef struct {
    const char *name;      /* first word of the header */
    const char *comment;   /* rest of the header ("" when none) */
    const char *seq;       /* bases, line breaks and '\r' removed */
    size_t len;
    long index;            /* 0-based record number */
} hd_seqrec;

hd_fasta *hd_fasta_open(const char *path);   /* "-" = stdin; NULL + hd_error */
/* 1 record read, 0 end of input, -1 error (hd_error names the file and record). */
int hd_fasta_next(hd_fasta *f, hd_seqrec *rec);
void hd_fasta_close(hd_fasta *f);

/* Tidy a record read by kseq: remove carriage returns, spaces and tabs inside the sequence and trailing
 * carriage returns of the name and comment (Windows line endings).  comment may be NULL. */
void hd_seq_tidy(kstring_t *seq, kstring_t *name, kstring_t *comment);

#endif
