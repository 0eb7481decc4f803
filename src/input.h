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

/* An input hopen'ed and not yet read from (nothing consumed: hpeek) that is xz-, bzip2- or
 * zstd-compressed, which the BGZF readers would take for plain text: -1 with an HD_EINPUT error naming
 * the file and the remedy (the message of hd_input_hts_open), else 0. */
int hd_input_refuse_compression(hFILE *hf, const char *path);

#endif
