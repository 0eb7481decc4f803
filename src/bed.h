/* bed.h -- the one reader of BED files: the region files of `embed -R`, the labelled BED of `classify
 * --train` and the BED queries of `classify` all read their lines through it (and the 1-based
 * `chrom beg end` region lists of `embed -R FILE` that are not named .bed).
 *
 * The rules (as samtools reads BED; documented in hyenadna(1), INPUT FILES):
 *   - A file, plain, gzip or bgzip compressed, or "-" for standard input.
 *   - Carriage returns (Windows line endings) and spaces ending a line are removed.  A line that is then
 *     empty, or starts (after spaces) with '#', "track" or "browser", is skipped.
 *   - Fields are separated by tabs: chrom, start, end, then optionally a name (the 4th field: the label
 *     of classify), a score (ignored) and a strand (the 6th field: +, - or ., anything else an error);
 *     more fields are allowed and ignored.  A '-' interval is the reverse complement of the reference's
 *     bases (as bedtools getfasta -s; regions.h: hd_faidx_fetch_strand); '.' or no 6th field is '+'.
 *     1-based region lists (one_based) have no strand: their columns past the 3rd are ignored.
 *   - BED coordinates are 0-based half-open: start and end are decimal integers with 0 <= start < end
 *     (an empty or reversed interval is an error).  A 1-based list (one_based) holds 1 <= beg <= end,
 *     inclusive, as samtools region strings, or `chrom pos` (two columns: that one base, as in bcftools'
 *     regions files); it is converted to 0-based half-open.
 *   - The chromosome is checked by the caller against the reference's sequence dictionary (regions.h:
 *     hd_contigs_check): an unknown sequence or an interval reaching past its end is an error.
 * Errors name the file and the line: "FILE line N: ...". */
#ifndef HD_BED_H
#define HD_BED_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *chrom;
    int64_t beg, end;     /* 0-based half-open */
    const char *name;     /* the 4th field, NULL when absent ("" when empty) */
    char strand;          /* the 6th field: '+', '-', or '.' when absent */
    long line;            /* 1-based line number */
} hd_bedrec;

typedef struct hd_bed hd_bed;

/* Open "-" or a file; NULL with an HD_EINPUT error naming it. */
hd_bed *hd_bed_open(const char *path, int one_based);
/* 1 one interval (pointers valid until the next call), 0 end of file, -1 error naming the file and line. */
int hd_bed_next(hd_bed *b, hd_bedrec *r);
void hd_bed_close(hd_bed *b);
const char *hd_bed_name(const hd_bed *b);   /* the path, or "standard input" */

/* Does the name say BED: .bed, or a format defined as BED with more columns (.narrowPeak, .broadPeak,
 * .gappedPeak, .bedGraph, .bdg), each also with .gz or .bgz (any case)? */
int hd_bed_named(const char *path);

/* The line-level rules, for readers that tell BED from another format line by line (classify's labelled
 * input): hd_bed_chomp removes the line ending (CR, LF, trailing spaces) in place and returns the new
 * length; hd_bed_skip says whether a chomped line is empty or a header/comment line; hd_bed_parse splits a
 * chomped data line in place (tabs become NULs) into r.  -1 with an error "FILE line N: ...". */
size_t hd_bed_chomp(char *line, size_t len);
int hd_bed_skip(const char *line);
int hd_bed_parse(char *line, int one_based, const char *file, long lineno, hd_bedrec *r);

#endif
