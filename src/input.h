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

#endif
