/* track.c -- per-base track values and the bigWig / bedGraph / SNV-table writers (see track.h). */
#define _GNU_SOURCE
#include "track.h"

#include <bigWig.h>
#include <errno.h>
#include <htslib/bgzf.h>
#include <htslib/hts.h>
#include <htslib/kseq.h>
#include <htslib/kstring.h>
#include <htslib/tbx.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "util.h"

/* ================================================================ 1. values */

const char *hd_track_name(int t)
{
    static const char *names[HD_TRK_N] = {"logp", "entropy", "ic", "A", "C", "G", "T"};
    return t >= 0 && t < HD_TRK_N ? names[t] : "?";
}

void hd_track_values(int ref, const double llr[4], float out[HD_TRK_N])
{
    double l[4], mx = 0, z = 0, lq[4], q[4], h = 0;
    for (int b = 0; b < 4; b++) {
        l[b] = b == ref ? 0.0 : llr[b];
        if (l[b] > mx) mx = l[b];
    }
    for (int b = 0; b < 4; b++) z += exp(l[b] - mx);
    double lz = mx + log(z);
    for (int b = 0; b < 4; b++) {
        lq[b] = l[b] - lz;
        q[b] = exp(lq[b]);
        h -= q[b] * lq[b];
    }
    h /= M_LN2;
    if (h < 0) h = 0;
    if (h > 2) h = 2;
    out[HD_TRK_LOGP] = (float)(lq[ref] / M_LN2);
    out[HD_TRK_ENTROPY] = (float)h;
    out[HD_TRK_IC] = (float)(2 - h);
    for (int b = 0; b < 4; b++) out[HD_TRK_A + b] = (float)(q[b] * (2 - h));
}

/* ================================================================ 2. writers */

/* ---------------------------------------------------------------- tabix tables */

struct hd_tabfile {
    char *path, *tmp, *ipath, *itmp;
    BGZF *fp;
    hd_tab_kind kind;
};

hd_tabfile *hd_tab_open(const char *path, hd_tab_kind kind)
{
    hd_tabfile *t = calloc(1, sizeof *t);
    if (!t || !(t->path = hd_strdup(path))) {
        free(t);
        hd_set_error(HD_EMODEL, "out of memory");
        return NULL;
    }
    t->kind = kind;
    if (!(t->tmp = hd_out_tmpname(path))) { hd_tab_abort(t); return NULL; }
    if (!(t->fp = bgzf_open(t->tmp, "w"))) {
        hd_set_error(HD_EINPUT, "cannot open output '%s': %s", path, strerror(errno));
        hd_tab_abort(t);
        return NULL;
    }
    return t;
}

int hd_tab_write(hd_tabfile *t, const char *s, size_t n)
{
    if (bgzf_write(t->fp, s, n) != (ssize_t)n) {
        hd_set_error(HD_EINPUT, "%s: write failed: %s", t->path, errno ? strerror(errno) : "I/O error");
        return -1;
    }
    return 0;
}

int hd_tab_finish(hd_tabfile *t)
{
    int r = bgzf_close(t->fp);
    t->fp = NULL;
    if (r < 0) {
        hd_set_error(HD_EINPUT, "%s: write failed: %s", t->path, errno ? strerror(errno) : "I/O error");
        return -1;
    }
    if (!(t->ipath = hd_sprintf("%s.tbi", t->path)) || !(t->itmp = hd_out_tmpname(t->ipath))) return -1;
    tbx_conf_t snv = {TBX_GENERIC, 1, 2, 2, '#', 0};
    if (tbx_index_build3(t->tmp, t->itmp, 0, 0, t->kind == HD_TAB_BED ? &tbx_conf_bed : &snv) < 0) {
        hd_set_error(HD_EINPUT, "%s: cannot build the tabix index", t->path);
        return -1;
    }
    return 0;
}

int hd_tab_commit(hd_tabfile *t)
{
    int r = hd_out_commit(t->tmp, t->path);
    t->tmp = NULL;
    if (!r) r = hd_out_commit(t->itmp, t->ipath);
    else hd_out_discard(t->itmp);
    t->itmp = NULL;
    hd_tab_abort(t);
    return r;
}

void hd_tab_abort(hd_tabfile *t)
{
    if (!t) return;
    if (t->fp) bgzf_close(t->fp);
    hd_out_discard(t->tmp);
    hd_out_discard(t->itmp);
    free(t->path);
    free(t->ipath);
    free(t);
}

int hd_tab_walk(const char *path, int (*fn)(void *ud, const char *line, size_t n), void *ud)
{
    htsFile *fp = hts_open(path, "r");
    if (!fp) {
        hd_set_error(HD_EINPUT, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    kstring_t s = {0, 0, NULL};
    int r, rc = 0;
    while ((r = hts_getline(fp, KS_SEP_LINE, &s)) >= 0)
        if ((rc = fn(ud, s.s, s.l))) break;
    if (!rc && r < -1) {
        hd_set_error(HD_EINPUT, "%s: read error", path);
        rc = -1;
    }
    free(s.s);
    hts_close(fp);
    return rc;
}

/* ---------------------------------------------------------------- per-base tracks */

#define TF_BUF 4096

struct hd_trackfile {
    hd_tf_format fmt;
    char *path, *tmp;
    int nchrom;
    char **name;
    int64_t *len;
    int contig;          /* contig of the last value put (-1: none yet) */
    int64_t last;        /* its position */
    /* bigWig */
    bigWigFile_t *bw;
    int started;         /* the current contig's first entries went in (bwAddIntervalSpans) */
    uint32_t pos[TF_BUF];
    float val[TF_BUF];
    size_t nb;
    double vmin, vmax;
    uint64_t genome;     /* Σ contig lengths */
    /* bedGraph */
    hd_tabfile *tab;
    kstring_t line;
};

static int tf_chroms(hd_trackfile *t, const hd_chroms *c)
{
    t->nchrom = c->n;
    t->name = calloc(c->n ? (size_t)c->n : 1, sizeof *t->name);
    t->len = calloc(c->n ? (size_t)c->n : 1, sizeof *t->len);
    if (!t->name || !t->len) return -1;
    for (int i = 0; i < c->n; i++) {
        if (!(t->name[i] = hd_strdup(c->name[i]))) return -1;
        t->len[i] = c->len[i];
        t->genome += (uint64_t)c->len[i];
    }
    return 0;
}

hd_trackfile *hd_tf_open(const char *path, hd_tf_format fmt, const hd_chroms *chroms, const char *desc)
{
    hd_trackfile *t = calloc(1, sizeof *t);
    if (!t || !(t->path = hd_strdup(path)) || tf_chroms(t, chroms)) {
        hd_tf_abort(t);
        hd_set_error(HD_EMODEL, "out of memory");
        return NULL;
    }
    t->fmt = fmt;
    t->contig = -1;
    t->vmin = INFINITY, t->vmax = -INFINITY;
    if (fmt == HD_TF_BEDGRAPH) {
        if (!(t->tab = hd_tab_open(path, HD_TAB_BED))) { hd_tf_abort(t); return NULL; }
        kstring_t h = {0, 0, NULL};
        ksprintf(&h, "# %s\n", desc ? desc : "hyenadna track");
        int r = hd_tab_write(t->tab, h.s, h.l);
        free(h.s);
        if (r) { hd_tf_abort(t); return NULL; }
        return t;
    }
    uint32_t *len32 = malloc((t->nchrom ? (size_t)t->nchrom : 1) * sizeof *len32);
    if (!len32) { hd_tf_abort(t); hd_set_error(HD_EMODEL, "out of memory"); return NULL; }
    for (int i = 0; i < t->nchrom; i++) {
        if (t->len[i] <= 0 || t->len[i] > (int64_t)UINT32_MAX) {
            hd_set_error(HD_EINPUT, "%s: contig %s has %" PRId64 " bases; a bigWig holds contigs of 1 to 2^32-1 bases",
                         path, t->name[i], t->len[i]);
            free(len32);
            hd_tf_abort(t);
            return NULL;
        }
        len32[i] = (uint32_t)t->len[i];
    }
    if (!(t->tmp = hd_out_tmpname(path))) { free(len32); hd_tf_abort(t); return NULL; }
    int bad = !(t->bw = bwOpen(t->tmp, NULL, "w")) || bwCreateHdr(t->bw, 10) ||
              !(t->bw->cl = bwCreateChromList((const char *const *)t->name, len32, t->nchrom)) || bwWriteHdr(t->bw);
    free(len32);
    if (bad) {
        hd_set_error(HD_EINPUT, "cannot write the bigWig header of '%s'%s%s", path, errno ? ": " : "",
                     errno ? strerror(errno) : "");
        hd_tf_abort(t);
        return NULL;
    }
    return t;
}

/* Hand the buffered entries to libBigWig: a contig's first ones start a new block (bwAddIntervalSpans),
 * the others are appended, so the file depends only on the values, not on when this runs. */
static int bw_flush(hd_trackfile *t)
{
    if (!t->nb) return 0;
    int r = t->started ? bwAppendIntervalSpans(t->bw, t->pos, t->val, (uint32_t)t->nb)
                       : bwAddIntervalSpans(t->bw, t->name[t->contig], t->pos, 1, t->val, (uint32_t)t->nb);
    t->started = 1;
    t->nb = 0;
    if (r || ferror(t->bw->URL->x.fp)) {
        hd_set_error(HD_EINPUT, "%s: write failed: %s", t->path, errno ? strerror(errno) : "I/O error");
        return -1;
    }
    return 0;
}

int hd_tf_put(hd_trackfile *t, int contig, int64_t pos, float v)
{
    if (contig < 0 || contig >= t->nchrom || pos < 0 || pos >= t->len[contig] ||
        (contig == t->contig && pos <= t->last) || contig < t->contig) {
        hd_set_error(HD_EINPUT, "%s: internal error: value at %d:%" PRId64 " out of order or outside the contig", t->path,
                     contig, pos);
        return -1;
    }
    if (contig != t->contig && t->fmt == HD_TF_BIGWIG) {
        if (bw_flush(t)) return -1;
        t->started = 0;
    }
    t->contig = contig, t->last = pos;
    if (isnan(v)) return 0;
    if (v < t->vmin) t->vmin = v;
    if (v > t->vmax) t->vmax = v;
    if (t->fmt == HD_TF_BEDGRAPH) {
        t->line.l = 0;
        ksprintf(&t->line, "%s\t%" PRId64 "\t%" PRId64 "\t%.6g\n", t->name[contig], pos, pos + 1, v);
        return hd_tab_write(t->tab, t->line.s, t->line.l);
    }
    t->pos[t->nb] = (uint32_t)pos;
    t->val[t->nb++] = v;
    return t->nb == TF_BUF ? bw_flush(t) : 0;
}

/* The first zoom level, 16·4^k bases: the smallest k whose records (32 bytes each) for the whole genome
 * fit 128 MiB, so that libBigWig's in-memory zoom buffers stay bounded whatever the genome. */
static uint32_t zoom_base(uint64_t genome)
{
    uint64_t z = 16;
    while (genome / z * 32 > ((uint64_t)128 << 20) && z < ((uint64_t)1 << 30)) z *= 4;
    return (uint32_t)z;
}

int hd_tf_finish(hd_trackfile *t)
{
    if (t->fmt == HD_TF_BEDGRAPH) return hd_tab_finish(t->tab);
    if (bw_flush(t)) return -1;
    bigWigFile_t *bw = t->bw;
    /* libBigWig 0.4.7 keeps the first value only as the minimum (a file of negative values got a maximum
     * of DBL_MIN): store both as seen here */
    if (bw->writeBuffer->nEntries) bw->hdr->minVal = t->vmin, bw->hdr->maxVal = t->vmax;
    /* libBigWig sets the first zoom level to 16 × the mean entry width: make that the level chosen above */
    bw->writeBuffer->runningWidthSum = bw->writeBuffer->nEntries * (zoom_base(t->genome) / 16);
    int bad = fflush(bw->URL->x.fp) || ferror(bw->URL->x.fp);
    bwClose(bw);
    t->bw = NULL;
    /* bwClose reports no status: a complete file ends with the bigWig magic */
    uint32_t magic = 0;
    FILE *f = bad ? NULL : fopen(t->tmp, "rb");
    if (f) {
        if (fseek(f, -4, SEEK_END) || fread(&magic, 4, 1, f) != 1) magic = 0;
        fclose(f);
    }
    if (magic != BIGWIG_MAGIC) {
        hd_set_error(HD_EINPUT, "%s: write failed (the bigWig could not be completed)", t->path);
        return -1;
    }
    return 0;
}

int hd_tf_commit(hd_trackfile *t)
{
    int r;
    if (t->fmt == HD_TF_BEDGRAPH) {
        r = hd_tab_commit(t->tab);
        t->tab = NULL;
    } else {
        r = hd_out_commit(t->tmp, t->path);
        t->tmp = NULL;
    }
    hd_tf_abort(t);
    return r;
}

void hd_tf_abort(hd_trackfile *t)
{
    if (!t) return;
    if (t->bw) bwClose(t->bw);
    hd_out_discard(t->tmp);
    hd_tab_abort(t->tab);
    for (int i = 0; t->name && i < t->nchrom; i++) free(t->name[i]);
    free(t->name);
    free(t->len);
    free(t->line.s);
    free(t->path);
    free(t);
}

/* ---------------------------------------------------------------- bigWig reader (--merge) */

struct hd_bwread {
    char *path;
    bigWigFile_t *bw;
    hd_chroms ch;
    int64_t *len;
};

hd_bwread *hd_bw_open(const char *path)
{
    hd_bwread *r = calloc(1, sizeof *r);
    if (!r || !(r->path = hd_strdup(path))) {
        free(r);
        hd_set_error(HD_EMODEL, "out of memory");
        return NULL;
    }
    if (!bwIsBigWig(path, NULL) || !(r->bw = bwOpen(path, NULL, "r"))) {
        hd_set_error(HD_EINPUT, "cannot read '%s' as a bigWig file", path);
        hd_bw_close(r);
        return NULL;
    }
    chromList_t *cl = r->bw->cl;
    int64_t n = cl ? cl->nKeys : 0;
    if (n < 0 || n > INT32_MAX || !(r->len = calloc(n ? (size_t)n : 1, sizeof *r->len))) {
        hd_set_error(HD_EINPUT, "'%s': bad chromosome list", path);
        hd_bw_close(r);
        return NULL;
    }
    for (int64_t i = 0; i < n; i++) r->len[i] = cl->len[i];
    r->ch = (hd_chroms){(int)n, n ? (const char *const *)cl->chrom : NULL, r->len};
    return r;
}

const hd_chroms *hd_bw_chroms(const hd_bwread *r) { return &r->ch; }

int hd_bw_walk(hd_bwread *r, int (*fn)(void *ud, int contig, int64_t beg, int64_t end, float v), void *ud)
{
    for (int i = 0; i < r->ch.n; i++) {
        bwOverlapIterator_t *it = bwOverlappingIntervalsIterator(r->bw, r->ch.name[i], 0, (uint32_t)r->ch.len[i], 64);
        if (!it) {
            hd_set_error(HD_EINPUT, "%s: cannot read the values of %s", r->path, r->ch.name[i]);
            return -1;
        }
        while (it->data) {
            bwOverlappingIntervals_t *o = it->intervals;
            for (uint32_t j = 0; j < o->l; j++) {
                int rc = fn(ud, i, o->start[j], o->end[j], o->value[j]);
                if (rc) { bwIteratorDestroy(it); return rc; }
            }
            it = bwIteratorNext(it);
        }
        bwIteratorDestroy(it);
    }
    return 0;
}

void hd_bw_close(hd_bwread *r)
{
    if (!r) return;
    if (r->bw) bwClose(r->bw);
    free(r->len);
    free(r->path);
    free(r);
}
