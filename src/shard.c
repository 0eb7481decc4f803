/* shard.c -- contiguous-block sharding (see shard.h). */
#include "shard.h"

#include <errno.h>
#include <htslib/hts.h>
#include <htslib/kstring.h>
#include <htslib/vcf.h>
#include <inttypes.h>
#include <stdlib.h>

#include "input.h"
#include "util.h"

#define HD_SHARD_MAX 1000000L

static int parse_num(const char *s, const char **end, long *v)
{
    if (*s < '0' || *s > '9') return -1;
    errno = 0;
    char *e;
    *v = strtol(s, &e, 10);
    if (errno || *v > HD_SHARD_MAX) return -1;
    *end = e;
    return 0;
}

int hd_shard_parse(const char *s, hd_shard *out)
{
    const char *p;
    long i, n;
    if (!s || parse_num(s, &p, &i) || *p != '/' || parse_num(p + 1, &p, &n) || *p) {
        hd_set_error(HD_EINPUT, "'%s' is not a shard I/N (for example 1/4: the first of 4 shards)", s ? s : "");
        return -1;
    }
    if (n < 1 || i < 1 || i > n) {
        hd_set_error(HD_EINPUT, "shard '%s': I/N needs 1 <= I <= N (N at most %ld)", s, HD_SHARD_MAX);
        return -1;
    }
    out->i = i;
    out->n = n;
    return 0;
}

void hd_shard_range(const hd_shard *s, uint64_t total, uint64_t *lo, uint64_t *hi)
{
    if (!s || s->n <= 0) {
        *lo = 0;
        *hi = total;
        return;
    }
    uint64_t n = (uint64_t)s->n, k = (uint64_t)(s->i - 1), q = total / n, r = total % n;
    *lo = k * q + (k < r ? k : r);
    *hi = *lo + q + (k < r ? 1 : 0);
}

int hd_shard_count_vcf(const char *path, uint64_t *n)
{
    *n = 0;
    htsFile *fp = hd_input_hts_open(path);
    if (!fp) return -1;
    int rc = 0;
    if (hts_get_format(fp)->format == vcf) {
        kstring_t line = {0, 0, NULL};
        int r;
        while ((r = hts_getline(fp, '\n', &line)) >= 0)
            if (line.l && line.s[0] != '#') (*n)++;
        if (r < -1) { hd_set_error(HD_EINPUT, "%s: read error while counting the records for --shard", path); rc = -1; }
        free(line.s);
    } else {
        bcf_hdr_t *h = bcf_hdr_read(fp);
        bcf1_t *rec = h ? bcf_init() : NULL;
        int r = -1;
        if (!h) { hd_set_error(HD_EINPUT, "'%s': cannot read the header", path); rc = -1; }
        else if (!rec) { hd_set_oom(NULL); rc = -1; }
        while (rec && (r = bcf_read(fp, h, rec)) == 0) (*n)++;
        if (rec && r < -1) {
            hd_set_error(HD_EINPUT, "%s: cannot read record %" PRIu64 " while counting the records for --shard", path, *n + 1);
            rc = -1;
        }
        if (rec) bcf_destroy(rec);
        if (h) bcf_hdr_destroy(h);
    }
    hts_close(fp);
    return rc;
}
