/* seqio.h -- the one reader of FASTA and FASTQ records: every subcommand that reads sequences from a
 * FASTA/FASTQ file reads them through it (forward, embed, classify, and the FASTA side of bamseq.h).
 *
 * Input: a file, plain, gzip or bgzip compressed, or "-" for standard input (htslib hFILE + BGZF, parsed
 * by kseq).  The rules, the same as samtools faidx's (documented in hyenadna(1), INPUT FILES):
 *   - A record starts with '>' (FASTA) or '@' (FASTQ).  The input must start with one (after blank
 *     lines), else it is refused as not FASTA/FASTQ; an empty input has no records and is not an error.
 *   - The name is the first word of the header, after any spaces that follow '>' ("> chr1 desc" is
 *     chr1); the rest of the line, without its leading spaces, is the comment.  A header without a name
 *     is an error.
 *   - Line breaks, carriage returns (Windows line endings), spaces and tabs inside the sequence are
 *     removed, and a carriage return ending the header too; the bases are otherwise kept as read (lower
 *     case, soft-masked bases stay lower case: the tokenizer reads them as upper case, and which
 *     characters are valid bases is the tokenizer's rule, tokenizer.h).
 *   - A record without bases is skipped, with a warning.
 *   - A record whose name was met before in the same input is skipped, with a warning: the first
 *     sequence of a name is the one used, as in a FASTA index, so a name means one sequence in every
 *     output and in region lookups (-r NAME).
 *   - FASTQ qualities are read and ignored; qualities not of the sequence's length (cut short, or a line
 *     longer than the bases) are an error naming the record, and so are a '@' record without its '+' line
 *     (a FASTQ cut in its last sequence or header line), a line between FASTQ records that does not start
 *     a record, and an input ending in a lone '>' or '@'.
 *   - A UTF-8 byte-order mark at the start is skipped.
 * Errors name the input (the path, or "standard input") and the record.
 *
 * Skipped records are reported to a hook (hd_fasta_set_skip_hook); the default hook is
 * hd_fasta_skip_warn: a warning through hd_log (util.h) for each of the first 5 records of each kind, then
 * one count when the input ends ("N empty records of FILE in all were skipped"). */
#ifndef HD_SEQIO_H
#define HD_SEQIO_H

#include <stddef.h>

#include <htslib/bgzf.h>
#include <htslib/hfile.h>

typedef struct hd_fasta hd_fasta;

typedef struct {
    const char *name;      /* first word of the header */
    const char *comment;   /* rest of the header ("" when none) */
    const char *seq;       /* bases, line breaks, '\r', spaces and tabs removed; NUL-terminated */
    size_t len;            /* >= 1: records without bases are skipped */
    long index;            /* 0-based number of the record in the input, skipped records included */
} hd_seqrec;

/* Open "-" (standard input) or a file.  NULL with an HD_EINPUT error naming it when it cannot be opened
 * or does not start like FASTA or FASTQ. */
hd_fasta *hd_fasta_open(const char *path);
/* The same on an hFILE opened by the caller (bamseq.c, after it detected the format); the reader owns hf
 * from then on, also when it fails.  path names the input in messages. */
hd_fasta *hd_fasta_hopen(hFILE *hf, const char *path);
/* The same on a BGZF stream positioned at the first record (classify's labelled reader, after it told
 * FASTA from its other formats); the reader owns bg from then on, also when it fails. */
hd_fasta *hd_fasta_bgzf(BGZF *bg, const char *path);

/* 1 record read (its pointers stay valid until the next call), 0 end of input, -1 error (hd_error names
 * the input and the record). */
int hd_fasta_next(hd_fasta *f, hd_seqrec *rec);
void hd_fasta_close(hd_fasta *f);

/* The input in messages: the path, or "standard input". */
const char *hd_fasta_name(const hd_fasta *f);

/* Records skipped by the rules above. */
enum { HD_SKIP_EMPTY = 0, HD_SKIP_DUPLICATE = 1, HD_SKIP_NKINDS };
typedef void (*hd_fasta_skip_fn)(void *ud, hd_fasta *f, const hd_seqrec *rec, int why);
/* Replace the default hook (fn NULL restores it).  rec->seq is "" for an empty record. */
void hd_fasta_set_skip_hook(hd_fasta *f, hd_fasta_skip_fn fn, void *ud);
/* The default hook: a warning (hd_log) for the first 5 records of each kind; the count at the end. */
void hd_fasta_skip_warn(hd_fasta *f, const hd_seqrec *rec, int why);
long hd_fasta_n_skipped(const hd_fasta *f, int why);

#endif
