/* bed.c -- the BED reader (the rules are in bed.h). */
#include "bed.h"
#include "input.h"
#include "output.h"
#include "util.h"

#include <errno.h>
#include <htslib/hts.h>
#include <htslib/kstring.h>
#include <stdlib.h>
#include <string.h>

struct hd_bed {
    htsFile *fp;
    const char *disp;
    char *path;
    int one_based;
    kstring_t line;
    long ln;
};

int hd_bed_named(const char *path)
{
    /* BED and the formats defined as BED with more columns (ENCODE's peak files, bedGraph): 0-based half-open */
    static const char *const ext[] = {".bed", ".narrowPeak", ".broadPeak", ".gappedPeak", ".bedGraph", ".bdg"};
    static const char *const z[] = {"", ".gz", ".bgz"};
    char suf[32];
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++)
        for (size_t k = 0; k < sizeof z / sizeof *z; k++) {
            snprintf(suf, sizeof suf, "%s%s", ext[i], z[k]);
            if (hd_has_suffix(path, suf)) return 1;
        }
    return 0;
}

size_t hd_bed_chomp(char *s, size_t n)
{
    while (n && (s[n - 1] == '\r' || s[n - 1] == '\n' || s[n - 1] == ' ')) s[--n] = 0;
    return n;
}

int hd_bed_skip(const char *p)
{
    while (*p == ' ' || *p == '\t') p++;
    return !*p || *p == '#' || !strncmp(p, "track", 5) || !strncmp(p, "browser", 7);
}

static int parse_coord(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < 0) return -1;
    *out = v;
    return 0;
}

int hd_bed_parse(char *line, int one_based, const char *file, long lineno, hd_bedrec *r)
{
    char *p = line, *f[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
    while (*p == ' ') p++;
    int nf = 0;
    while (nf < 6) {
        f[nf++] = p;
        char *t = strchr(p, '\t');
        if (!t) break;
        *t = 0;
        p = t + 1;
    }
    if (nf < 3 && !(one_based && nf == 2)) {
        hd_set_error(HD_EINPUT, "%s line %ld: expected tab-separated chrom, start and end%s", file, lineno,
                     one_based ? " (or chrom and one position)" : "");
        return -1;
    }
    int64_t b, e;
    if (nf == 2) {   /* a 1-based list's `chrom pos`: that one base (bcftools' regions files) */
        if (parse_coord(f[1], &b)) {
            hd_set_error(HD_EINPUT, "%s line %ld: position '%s' is not a non-negative integer", file, lineno, f[1]);
            return -1;
        }
        f[2] = f[1];
    }
    if (parse_coord(f[1], &b) || parse_coord(f[2], &e)) {
        hd_set_error(HD_EINPUT, "%s line %ld: start '%s' or end '%s' is not a non-negative integer", file, lineno, f[1],
                     f[2]);
        return -1;
    }
    if (one_based ? b < 1 || e < b : e <= b) {
        hd_set_error(HD_EINPUT, "%s line %ld: %s:%s-%s is empty or reversed (%s: %s)%s", file, lineno, f[0], f[1], f[2],
                     one_based ? "1-based inclusive" : "BED, 0-based half-open",
                     one_based ? "1 <= start <= end" : "start < end",
                     one_based && b == 0 && e > 0 ? "; a start of 0 is BED's: name a BED file .bed (or .bed.gz), which "
                                                    "is read 0-based" : "");
        return -1;
    }
    /* the 6th column of BED is the strand; 1-based region lists have no columns past the 3rd */
    char strand = '.';
    if (!one_based && nf >= 6) {
        if (strcmp(f[5], "+") && strcmp(f[5], "-") && strcmp(f[5], ".")) {
            hd_set_error(HD_EINPUT, "%s line %ld: strand '%s' (the 6th column) is not +, - or .", file, lineno, f[5]);
            return -1;
        }
        strand = f[5][0];
    }
    r->chrom = f[0];
    r->beg = one_based ? b - 1 : b;
    r->end = e;
    r->name = nf >= 4 ? f[3] : NULL;
    r->strand = strand;
    r->line = lineno;
    return 0;
}

hd_bed *hd_bed_open(const char *path, int one_based)
{
    hd_bed *b = calloc(1, sizeof *b);
    if (!b || !(b->path = hd_strdup(path))) {
        free(b);
        hd_set_oom(NULL);
        return NULL;
    }
    b->disp = hd_input_name(b->path);
    b->one_based = one_based;
    if (!(b->fp = hd_input_hts_open(path))) {
        hd_bed_close(b);
        return NULL;
    }
    return b;
}

int hd_bed_next(hd_bed *b, hd_bedrec *r)
{
    int rc;
    while ((rc = hts_getline(b->fp, '\n', &b->line)) >= 0) {
        b->ln++;
        b->line.l = hd_bed_chomp(b->line.s, b->line.l);
        if (hd_bed_skip(b->line.s)) continue;
        return hd_bed_parse(b->line.s, b->one_based, b->disp, b->ln, r) ? -1 : 1;
    }
    if (rc < -1) {
        hd_set_error(HD_EINPUT, "%s: read error after line %ld", b->disp, b->ln);
        return -1;
    }
    return 0;
}

const char *hd_bed_name(const hd_bed *b) { return b->disp; }

void hd_bed_close(hd_bed *b)
{
    if (!b) return;
    if (b->fp) hts_close(b->fp);
    free(b->line.s);
    free(b->path);
    free(b);
}
