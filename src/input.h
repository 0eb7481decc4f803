/* input.h -- opening an input file or standard input, one way for every reader.
 *
 * "-" is standard input.  Files may be plain, gzip or bgzip compressed wherever the reader goes through
 * BGZF or htsFile (all readers of this project do).  Messages name the file as the user gave it, and
 * standard input as "standard input". */
#ifndef HD_INPUT_H
#define HD_INPUT_H

#include <htslib/hfile.h>
#include <htslib/hts.h>

/* The name of an input in messages: the path, or "standard input" for "-". */
const char *hd_input_name(const char *path);

/* Open for reading (hopen); NULL with an HD_EINPUT error "cannot open 'PATH': REASON". */
hFILE *hd_input_hopen(const char *path);

/* Open for reading through htslib (hts_open: the format and compression are detected); NULL with an
 * HD_EINPUT error "cannot open 'PATH': REASON", also for a compression other than gzip and bgzip (xz,
 * bzip2, zstd), which htslib cannot read text from. */
htsFile *hd_input_hts_open(const char *path);

/* What a reader wants, for the message about an alignment file given in its place. */
enum hd_input_want {
    HD_WANT_SEQS,       /* FASTA or FASTQ records (forward, generate, classify's queries) */
    HD_WANT_LABELLED,   /* labelled sequences: FASTA, TSV or BED (classify --train) */
    HD_WANT_REF         /* a FASTA reference (-f, -T) */
};

/* An input (hopen'ed, nothing consumed) that htslib's hts_detect_format takes for SAM, BAM or CRAM where
 * WANT is read: -1 with an HD_EINPUT error, the one message every reader gives for it -- the file, the
 * format detected and what to do ("x.bam: not FASTA or FASTQ but alignments (htslib detects BAM version 1
 * compressed sequence data): write its reads as FASTA with 'samtools fasta', or embed them with 'hyenadna
 * embed', which reads SAM, BAM and CRAM") --, else 0.  An xz-, bzip2- or zstd-compressed input, which
 * the BGZF readers would take for plain text, is -1 with the error of hd_input_hts_open too. */
int hd_input_refuse_alignment(hFILE *hf, const char *path, enum hd_input_want want);

/* The same for a file by name (opened and closed here): -1 with the error also when it cannot be opened. */
int hd_input_refuse_alignment_path(const char *path, enum hd_input_want want);

#endif
