/* input.c -- opening an input file or standard input (see input.h). */
#include "input.h"
#include "output.h"
#include "util.h"

#include <errno.h>
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

static void compression_error(const char *path, const char *kind)
{
    hd_set_error(HD_EINPUT, "cannot read '%s': it is %s-compressed, and htslib reads text plain, gzip- or "
                 "bgzip-compressed only: decompress it, or recompress it with bgzip", hd_input_name(path), kind);
}

int hd_input_refuse_compression(hFILE *hf, const char *path)
{
    unsigned char m[6];
    ssize_t n = hpeek(hf, m, sizeof m);
    const char *kind = NULL;
    if (n >= 6 && !memcmp(m, "\xfd" "7zXZ\0", 6)) kind = "xz";
    else if (n >= 3 && !memcmp(m, "BZh", 3)) kind = "bzip2";
    else if (n >= 4 && !memcmp(m, "\x28\xb5\x2f\xfd", 4)) kind = "zstd";
    if (!kind) return 0;
    compression_error(path, kind);
    return -1;
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
    enum htsCompression z = hts_get_format(fp)->compression;
    if (z == xz_compression || z == bzip2_compression || z == zstd_compression) {
        compression_error(path, z == xz_compression ? "xz" : z == bzip2_compression ? "bzip2" : "zstd");
        hts_close(fp);
        return NULL;
    }
    return fp;
}
