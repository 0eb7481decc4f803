/* input.c -- opening an input file or standard input (see input.h). */
#include "input.h"
#include "output.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *hd_input_name(const char *path) { return strcmp(path, "-") ? path : "standard input"; }

static void open_error(const char *path)
{
    if (errno == ENOMEM) hd_set_oom(NULL);
    else hd_set_error(HD_EINPUT, "cannot open '%s': %s", hd_input_name(path), errno ? strerror(errno) : "unreadable");
}

hFILE *hd_input_hopen(const char *path)
{
    if (hd_out_note_input(path)) return NULL;
    errno = 0;
    hFILE *hf = hopen(path, "r");
    if (!hf) open_error(path);
    return hf;
}

/* A compression htslib detects but cannot read text from (xz, bzip2, zstd): -1 with the error, else 0 */
static int refuse_compression(enum htsCompression z, const char *path)
{
    const char *kind = z == xz_compression ? "xz" : z == bzip2_compression ? "bzip2" : z == zstd_compression ? "zstd" : NULL;
    if (!kind) return 0;
    hd_set_error(HD_EINPUT, "cannot read '%s': it is %s-compressed, and htslib reads text plain, gzip- or "
                 "bgzip-compressed only: decompress it, or recompress it with bgzip", hd_input_name(path), kind);
    return -1;
}

int hd_input_refuse_alignment(hFILE *hf, const char *path, enum hd_input_want want)
{
    htsFormat f;
    if (hts_detect_format2(hf, path, &f) != 0) return 0;   /* a read error: the reader reports it */
    if (refuse_compression(f.compression, path)) return -1;
    if (f.format != sam && f.format != bam && f.format != cram) return 0;
    static const char *const wanted[] = {"FASTA or FASTQ", "labelled sequences (FASTA, TSV or BED)", "a FASTA reference"};
    static const char *const todo[] = {
        "write its reads as FASTA with 'samtools fasta', or embed them with 'hyenadna embed', which reads SAM, BAM and CRAM",
        "write its reads as FASTA with 'samtools fasta' and label them",
        "give the reference genome's FASTA file (plain or bgzip-compressed)"};
    char *d = hts_format_description(&f);
    hd_set_error(HD_EINPUT, "%s: not %s but alignments (htslib detects %s): %s", hd_input_name(path), wanted[want],
                 d ? d : f.format == sam ? "SAM" : f.format == bam ? "BAM" : "CRAM", todo[want]);
    free(d);
    return -1;
}

int hd_input_refuse_alignment_path(const char *path, enum hd_input_want want)
{
    errno = 0;
    hFILE *hf = hopen(path, "r");
    if (!hf) {
        open_error(path);
        return -1;
    }
    int r = hd_input_refuse_alignment(hf, path, want);
    hclose_abruptly(hf);
    return r;
}

htsFile *hd_input_hts_open(const char *path)
{
    if (hd_out_note_input(path)) return NULL;
    errno = 0;
    htsFile *fp = hts_open(path, "r");
    if (!fp) {
        if (errno == ENOEXEC)   /* htslib's answer to a compression it detects but cannot open (bzip2, zstd) */
            hd_set_error(HD_EINPUT, "cannot open '%s': not a format or compression htslib reads (plain, gzip or bgzip "
                         "text, BCF): decompress it, or recompress it with bgzip", hd_input_name(path));
        else open_error(path);
        return NULL;
    }
    /* xz opens, but htslib aborts the process on the first text line it reads from it */
    if (refuse_compression(hts_get_format(fp)->compression, path)) {
        hts_close(fp);
        return NULL;
    }
    return fp;
}
