/* input.c -- opening an input file or standard input (see input.h). */
#include "input.h"
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
    errno = 0;
    hFILE *hf = hopen(path, "r");
    if (!hf) open_error(path);
    return hf;
}

htsFile *hd_input_hts_open(const char *path)
{
    errno = 0;
    htsFile *fp = hts_open(path, "r");
    if (!fp) open_error(path);
    return fp;
}
