/* vcfin.h -- the one reader of VCF and BCF records (score-variants): htslib's parser, plus the checks of
 * the raw text that htslib 1.16 lacks.
 *
 * Input: a VCF (plain, gzip or bgzip), a BCF, or "-" for standard input; the format is detected from the
 * content.  htslib lets some malformed VCF data lines through as another record (a line of fewer than 8
 * columns comes back with the missing ones as '.', a POS that is not a number as POS 0), so what would be
 * written is no longer what was read.  A VCF data line is therefore read as text first and refused,
 * naming its line number, when
 *   - it has fewer than 8 tab-separated columns (an empty line included), or
 *   - its POS is not a number (decimal digits only), or
 *   - its columns are not those of the header's #CHROM line: FORMAT and one per sample when the header
 *     names samples, none after INFO when it names none (htslib drops the extra sample columns, or FORMAT
 *     and the samples of a header without samples, and reads a line without them under a header with
 *     samples as a record it cannot write); empty columns at the end (trailing tabs) are allowed,
 * and only then parsed by htslib.  BCF records are binary and read as they are.
 * Errors name the file (or "standard input") and the line (VCF) or the record number (BCF). */
#ifndef HD_VCFIN_H
#define HD_VCFIN_H

#include <htslib/vcf.h>

#include "regions.h"

typedef struct hd_vcfin hd_vcfin;

/* Open and read the header.  NULL + HD_EINPUT naming the file when it cannot be opened, is not VCF or BCF,
 * or its header cannot be read. */
hd_vcfin *hd_vcfin_open(const char *path);
void hd_vcfin_close(hd_vcfin *v);

bcf_hdr_t *hd_vcfin_header(hd_vcfin *v);
const char *hd_vcfin_name(const hd_vcfin *v);   /* the path, or "standard input" */
int hd_vcfin_is_bcf(const hd_vcfin *v);

/* Regions, as bcftools' -r/-R: read only the records that overlap these regions (the span of REF, or to
 * INFO END, as the index has it), through the input's index (.tbi or .csi beside a bgzipped VCF, .csi beside
 * a BCF), region by region in the order given; a record overlapping two regions is read once.  rs must be
 * sorted and merged (regions.h: hd_regions_merge); it is copied.  -1 + HD_EINPUT naming the file when it
 * has no index (standard input, a VCF not bgzipped, no index file), or naming the region's contig when the
 * index cannot be queried; an index older than the file is a warning (hd_log).  Call before the first
 * hd_vcfin_next. */
int hd_vcfin_set_regions(hd_vcfin *v, const hd_regions *rs);
/* Targets, as bcftools' -t/-T: of the records read, keep those whose POS lies in one of these regions (with
 * exclude: in none of them); the input is streamed, no index needed.  rs is copied (any order). */
int hd_vcfin_set_targets(hd_vcfin *v, const hd_regions *rs, int exclude);

/* The next record into rec: 1, 0 at the end, -1 + HD_EINPUT error naming the file and the line. */
int hd_vcfin_next(hd_vcfin *v, bcf1_t *rec);

/* The record last read, for messages: "FILE line N" (VCF) or "FILE record N" (BCF); read through the index
 * (regions), "FILE record at CHROM:POS".  Valid until the next call. */
const char *hd_vcfin_where(hd_vcfin *v);

/* Check one VCF data line (without its newline) under a header of nsamples samples: 0 when it has at
 * least 8 tab-separated columns, a numeric POS and the columns of the header (above), else -1 with the
 * reason in why (static storage, valid until the next call). */
int hd_vcf_line_check(const char *line, size_t len, int nsamples, const char **why);

#endif
