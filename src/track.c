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
#include <sys/stat.h>
#include <zlib.h>

#include "input.h"
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
    int64_t reach;     /* the furthest end of a row (0-based, exclusive): .tbi or .csi */
};

hd_tabfile *hd_tab_open(const char *path, hd_tab_kind kind)
{
    hd_tabfile *t = calloc(1, sizeof *t);
    if (!t || !(t->path = hd_strdup(path))) {
        free(t);
        hd_set_oom(NULL);
        return NULL;
    }
    t->kind = kind;
    if (!(t->tmp = hd_out_tmpname(path))) { hd_tab_abort(t); return NULL; }
    /* level 4: 2.5 times faster than bgzip's default 6 on these tables, for files 1.5 % larger (the SNV table's
     * compression was a tenth of a track run's time) */
    if (!(t->fp = bgzf_open(t->tmp, "w4"))) {
        hd_set_error(HD_ERESOURCE, "cannot open output '%s': %s", path, strerror(errno));
        hd_tab_abort(t);
        return NULL;
    }
    return t;
}

int hd_tab_write(hd_tabfile *t, const char *s, size_t n)
{
    if (bgzf_write(t->fp, s, n) != (ssize_t)n) {
        hd_set_error(HD_ERESOURCE, "%s: write failed: %s", t->path, errno ? strerror(errno) : "I/O error");
        return -1;
    }
    return 0;
}

void hd_tab_reach(hd_tabfile *t, int64_t end)
{
    if (end > t->reach) t->reach = end;
}

int hd_tab_copy_row(hd_tabfile *t, const char *line, size_t n)
{
    if (n && line[0] != '#') {   /* the end: column 3 of a BED row, the 1-based position (column 2) of an SNV row */
        const char *p = line, *e = line + n;
        for (int col = t->kind == HD_TAB_BED ? 2 : 1; col && p < e; p++)
            if (*p == '\t') col--;
        long long v = p < e ? strtoll(p, NULL, 10) : 0;
        if (v > 0) hd_tab_reach(t, v);
    }
    return hd_tab_write(t, line, n) || hd_tab_write(t, "\n", 1) ? -1 : 0;
}

int hd_tab_finish(hd_tabfile *t)
{
    int r = bgzf_close(t->fp);
    t->fp = NULL;
    if (r < 0) {
        hd_set_error(HD_ERESOURCE, "%s: write failed: %s", t->path, errno ? strerror(errno) : "I/O error");
        return -1;
    }
    int ms = hd_index_min_shift(t->path, t->reach, 0);
    if (!(t->ipath = hd_sprintf("%s.%s", t->path, hd_index_ext(ms))) || !(t->itmp = hd_out_tmpname(t->ipath))) return -1;
    tbx_conf_t snv = {TBX_GENERIC, 1, 2, 2, '#', 0};
    if (tbx_index_build3(t->tmp, t->itmp, ms, 0, t->kind == HD_TAB_BED ? &tbx_conf_bed : &snv) < 0) {
        hd_set_error(HD_EINPUT, "%s: cannot build the tabix index (are the rows in order?)", t->path);
        return -1;
    }
    return 0;
}

int hd_tab_commit(hd_tabfile *t)
{
    int r = hd_out_commit(t->tmp, t->path);
    t->tmp = NULL;
    if (!r) r = hd_index_commit(t->itmp, t->ipath);
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
    htsFile *fp = hd_input_hts_open(path);
    if (!fp) return -1;
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

/* ---- zoom levels
 * libBigWig 0.4.7 builds a bigWig's zoom levels at bwClose by reading every value of a contig back at once
 * (12 bytes per base: 3 GB for a human chr1), so they are made here instead, as the values stream in, and
 * appended after libBigWig has finished the file: level k summarises bins of R0·4^k bases (R0 from
 * zoom_base) in 32-byte records (contig, start, end, bases with a value, min, max, sum, sum of squares),
 * which stay in memory until the end: the "zoom buffers", 32 bytes per R0 bases covered at most. */
#define ZOOM_LEVELS 10
#define ZOOM_PER_BLOCK 512            /* records per compressed block (16 KB, under the 32 KB buffer) */
#define RTREE_FANOUT 256              /* children per R-tree node */

typedef struct {
    uint32_t chrom, start, end, valid;
    float min, max, sum, sumsq;
} zrec;

typedef struct {
    uint32_t reduction;
    zrec *r;
    size_t n, m;
    int open;                          /* cur holds a record being filled */
    zrec cur;
    double sum, sumsq;                 /* cur's sums, in double until it is stored */
} zoom;

/* The first zoom level, 16·4^k bases: the smallest k that gives the whole genome at most 2^20 records
 * (32 MiB), so that the zoom buffers stay bounded whatever the genome (4,096 bases for a human one; all
 * the levels of a file together take at most 4/3 of that). */
static uint32_t zoom_base(uint64_t genome)
{
    uint64_t z = 16;
    while (genome / z > ((uint64_t)1 << 20) && z < ((uint64_t)1 << 30)) z *= 4;
    return (uint32_t)z;
}

static int zoom_store(zoom *z)
{
    if (!z->open) return 0;
    if (z->n == z->m) {
        size_t m = z->m ? 2 * z->m : 1024;
        zrec *r = realloc(z->r, m * sizeof *r);
        if (!r) { hd_set_oom("the zoom levels of a bigWig"); return -1; }
        z->r = r, z->m = m;
    }
    z->cur.sum = (float)z->sum, z->cur.sumsq = (float)z->sumsq;
    z->r[z->n++] = z->cur;
    z->open = 0;
    return 0;
}

static int zoom_add(zoom *z, uint32_t chrom, uint32_t pos, float v)
{
    if (z->open && (z->cur.chrom != chrom || z->cur.start / z->reduction != pos / z->reduction) && zoom_store(z)) return -1;
    if (!z->open) {
        z->cur = (zrec){chrom, pos, pos + 1, 0, v, v, 0, 0};
        z->sum = z->sumsq = 0;
        z->open = 1;
    }
    z->cur.end = pos + 1;
    z->cur.valid++;
    if (v < z->cur.min) z->cur.min = v;
    if (v > z->cur.max) z->cur.max = v;
    z->sum += v;
    z->sumsq += (double)v * v;
    return 0;
}

/* little-endian writers (bigWig is little-endian; so are the machines this builds for) */
static int w32(FILE *f, uint32_t v) { return fwrite(&v, 4, 1, f) == 1 ? 0 : -1; }
static int w64(FILE *f, uint64_t v) { return fwrite(&v, 8, 1, f) == 1 ? 0 : -1; }

typedef struct { uint32_t c0, s0, c1, e1; uint64_t off, size; } rleaf;

/* A cirTree (R-tree) index of the blocks `lf` at the current end of f, bottom-up bulk loaded: nodes of up to
 * RTREE_FANOUT children, the root first.  data_end: the file offset after the last block. */
static int write_rtree(FILE *f, const rleaf *lf, size_t n, uint32_t items_per_slot, uint64_t data_end)
{
    /* level sizes: level 0 the leaves' parents (leaf nodes), each level above groups the one below */
    size_t cnt[16], nl = 0, k = n;
    do {
        k = (k + RTREE_FANOUT - 1) / RTREE_FANOUT;
        cnt[nl++] = k;
    } while (k > 1 && nl < 16);
    /* offsets: the header (48 bytes), then the levels from the root down to the leaf nodes */
    uint64_t base = (uint64_t)ftell(f) + 48, start[16];
    uint64_t at = base;
    for (int l = (int)nl - 1; l >= 0; l--) {
        start[l] = at;
        size_t below = l ? cnt[l - 1] : n;    /* children at this level */
        at += 4 * cnt[l] + (uint64_t)below * (l ? 24 : 32);
    }
    int bad = w32(f, 0x2468ACE0) || w32(f, RTREE_FANOUT) || w64(f, n) || w32(f, n ? lf[0].c0 : 0) ||
              w32(f, n ? lf[0].s0 : 0) || w32(f, n ? lf[n - 1].c1 : 0) || w32(f, n ? lf[n - 1].e1 : 0) ||
              w64(f, data_end) || w32(f, items_per_slot) || w32(f, 0);
    /* the span of child i of level l: the range of the leaves below it */
    for (int l = (int)nl - 1; l >= 0 && !bad; l--) {
        size_t below = l ? cnt[l - 1] : n;
        size_t span = 1;                      /* leaves per child at this level */
        for (int q = 0; q < l; q++) span *= RTREE_FANOUT;
        for (size_t node = 0; node < cnt[l] && !bad; node++) {
            size_t c0 = node * RTREE_FANOUT, c1 = c0 + RTREE_FANOUT < below ? c0 + RTREE_FANOUT : below;
            uint8_t hdr[4] = {(uint8_t)(l == 0), 0, (uint8_t)((c1 - c0) & 0xff), (uint8_t)((c1 - c0) >> 8)};
            bad |= fwrite(hdr, 4, 1, f) != 1;
            for (size_t c = c0; c < c1 && !bad; c++) {
                size_t a = c * span, b = (c + 1) * span < n ? (c + 1) * span : n;
                bad |= w32(f, lf[a].c0) || w32(f, lf[a].s0) || w32(f, lf[b - 1].c1) || w32(f, lf[b - 1].e1);
                if (l == 0) bad |= w64(f, lf[c].off) || w64(f, lf[c].size);
                else   /* node c of the level below, whose nodes before the last are all full */
                    bad |= w64(f, start[l - 1] + (uint64_t)c * (4 + RTREE_FANOUT * (l - 1 ? 24 : 32)));
            }
        }
    }
    return bad ? -1 : 0;
}

/* Append the zoom levels to the finished bigWig at path (libBigWig reserved the 10 header slots) and end it
 * with the magic again. */
static int zoom_write(const char *path, zoom *zl, int nz)
{
    FILE *f = fopen(path, "r+b");
    if (!f) return -1;
    int bad = fseek(f, 0, SEEK_END) != 0;
    uint64_t doff[ZOOM_LEVELS], ioff[ZOOM_LEVELS];
    unsigned char raw[ZOOM_PER_BLOCK * 32];
    uLongf cap = compressBound(sizeof raw);
    unsigned char *comp = malloc(cap);
    rleaf *lf = NULL;
    if (!comp) bad = 1;
    for (int k = 0; k < nz && !bad; k++) {
        zoom *z = &zl[k];
        doff[k] = (uint64_t)ftell(f);
        bad |= w32(f, (uint32_t)z->n);
        size_t nb = 0;
        free(lf);
        lf = malloc((z->n + 1) * sizeof *lf);
        if (!lf) { bad = 1; break; }
        for (size_t i = 0; i < z->n && !bad;) {   /* blocks of one contig's records */
            size_t j = i;
            while (j < z->n && j - i < ZOOM_PER_BLOCK && z->r[j].chrom == z->r[i].chrom) j++;
            for (size_t q = i; q < j; q++) memcpy(raw + 32 * (q - i), &z->r[q], 32);
            uLongf sz = cap;
            uint64_t off = (uint64_t)ftell(f);
            bad |= compress(comp, &sz, raw, (uLong)(32 * (j - i))) != Z_OK || fwrite(comp, 1, sz, f) != sz;
            lf[nb++] = (rleaf){z->r[i].chrom, z->r[i].start, z->r[j - 1].chrom, z->r[j - 1].end, off, sz};
            i = j;
        }
        ioff[k] = (uint64_t)ftell(f);
        bad |= write_rtree(f, lf, nb, ZOOM_PER_BLOCK, ioff[k]);
    }
    free(lf);
    free(comp);
    bad |= w32(f, BIGWIG_MAGIC);
    for (int k = 0; k < nz && !bad; k++)
        bad |= fseek(f, 64 + 24 * k, SEEK_SET) || w32(f, zl[k].reduction) || w32(f, 0) || w64(f, doff[k]) ||
               w64(f, ioff[k]);
    uint16_t n16 = (uint16_t)nz;
    bad |= fseek(f, 6, SEEK_SET) || fwrite(&n16, 2, 1, f) != 1;
    bad |= fclose(f) != 0;
    return bad ? -1 : 0;
}

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
    int open;            /* libBigWig has a fixedStep section of this contig open */
    uint32_t next;       /* the position after its last value */
    uint32_t pos[TF_BUF];
    float val[TF_BUF];
    size_t nb;
    double vmin, vmax;
    uint64_t genome;     /* Σ contig lengths */
    zoom zl[ZOOM_LEVELS];
    int nzoom;
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
        hd_set_oom(NULL);
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
    if (!len32) { hd_tf_abort(t); hd_set_oom(NULL); return NULL; }
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
    /* zoom levels of R0·4^k bases while no coarser than the longest contig (one level at least) */
    int64_t longest = 0;
    for (int i = 0; i < t->nchrom; i++) longest = t->len[i] > longest ? t->len[i] : longest;
    uint64_t red = zoom_base(t->genome);
    for (t->nzoom = 0; t->nzoom < ZOOM_LEVELS && (!t->nzoom || red <= (uint64_t)longest) && red <= UINT32_MAX; red *= 4)
        t->zl[t->nzoom++].reduction = (uint32_t)red;
    if (!(t->tmp = hd_out_tmpname(path))) { free(len32); hd_tf_abort(t); return NULL; }
    int bad = !(t->bw = bwOpen(t->tmp, NULL, "w")) || bwCreateHdr(t->bw, 10) ||
              !(t->bw->cl = bwCreateChromList((const char *const *)t->name, len32, t->nchrom)) || bwWriteHdr(t->bw);
    free(len32);
    if (bad) {
        hd_set_error(HD_ERESOURCE, "cannot write the bigWig header of '%s'%s%s", path, errno ? ": " : "",
                     errno ? strerror(errno) : "");
        hd_tf_abort(t);
        return NULL;
    }
    return t;
}

/* libBigWig 0.4.7 leaves a fixedStep block's end 6 steps too far (it counts the 24-byte block header as
 * values) unless the block fills up: set it from the values the block holds, before it is written. */
static void fixed_end(bigWigFile_t *bw)
{
    bwWriteBuffer_t *wb = bw->writeBuffer;
    wb->end = wb->start + (wb->l - 24) / 4 * wb->step;
}

/* Hand the buffered entries (one contig, in order) to libBigWig in fixedStep sections, one per run of
 * consecutive bases (4 bytes a value, half the bytes of varStep to compress and store).  A run continues the
 * block libBigWig has open when it starts where that one ends, else starts a new one (bwAddIntervalSpanSteps),
 * so the file depends only on the values, not on when this runs.  Every section is fixedStep: libBigWig 0.4.7
 * writes an empty duplicate block when the item type changes.  Gaps (N runs) are few in a genome; scattered
 * ones cost a block each. */
static int bw_flush(hd_trackfile *t)
{
    int r = 0;
    for (size_t i = 0, j; i < t->nb && !r; i = j) {
        for (j = i + 1; j < t->nb && t->pos[j] == t->pos[j - 1] + 1; j++) {}
        uint32_t n = (uint32_t)(j - i);
        r = t->open && t->pos[i] == t->next ? bwAppendIntervalSpanSteps(t->bw, t->val + i, n)
                                            : bwAddIntervalSpanSteps(t->bw, t->name[t->contig], t->pos[i], 1, 1, t->val + i, n);
        fixed_end(t->bw);
        t->open = 1;
        t->next = t->pos[j - 1] + 1;
    }
    t->nb = 0;
    if (r || ferror(t->bw->URL->x.fp)) {
        hd_set_error(HD_ERESOURCE, "%s: write failed: %s", t->path, errno ? strerror(errno) : "I/O error");
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
        t->open = 0;
    }
    t->contig = contig, t->last = pos;
    if (isnan(v)) return 0;
    if (v < t->vmin) t->vmin = v;
    if (v > t->vmax) t->vmax = v;
    if (t->fmt == HD_TF_BEDGRAPH) {
        char g[HD_G6_MAX];
        int ng = hd_fmt_g6(v, g);   /* %.6g */
        t->line.l = 0;
        kputs(t->name[contig], &t->line);
        kputc('\t', &t->line);
        kputll(pos, &t->line);
        kputc('\t', &t->line);
        kputll(pos + 1, &t->line);
        kputc('\t', &t->line);
        kputsn(g, (size_t)ng, &t->line);
        kputc('\n', &t->line);
        hd_tab_reach(t->tab, pos + 1);
        return hd_tab_write(t->tab, t->line.s, t->line.l);
    }
    for (int k = 0; k < t->nzoom; k++)
        if (zoom_add(&t->zl[k], (uint32_t)contig, (uint32_t)pos, v)) return -1;
    t->pos[t->nb] = (uint32_t)pos;
    t->val[t->nb++] = v;
    return t->nb == TF_BUF ? bw_flush(t) : 0;
}

int hd_tf_finish(hd_trackfile *t)
{
    if (t->fmt == HD_TF_BEDGRAPH) return hd_tab_finish(t->tab);
    if (bw_flush(t)) return -1;
    bigWigFile_t *bw = t->bw;
    /* libBigWig 0.4.7 keeps the first value only as the minimum (a file of negative values got a maximum
     * of DBL_MIN): store both as seen here */
    if (t->vmin <= t->vmax) bw->hdr->minVal = t->vmin, bw->hdr->maxVal = t->vmax;
    else bw->hdr->minVal = bw->hdr->maxVal = 0;   /* no values (all N): libBigWig left DBL_MAX/DBL_MIN */
    bw->hdr->nLevels = 0;   /* the zoom levels are ours (above): libBigWig leaves the 10 slots it reserved empty */
    int bad = fflush(bw->URL->x.fp) || ferror(bw->URL->x.fp);
    bwClose(bw);
    t->bw = NULL;
    int nz = 0;
    for (int k = 0; k < t->nzoom; k++) {
        if (zoom_store(&t->zl[k])) return -1;
        if (t->zl[k].n) nz = k + 1;
    }
    if (!bad && nz && zoom_write(t->tmp, t->zl, nz)) bad = 1;
    /* bwClose reports no status: a complete file ends with the bigWig magic */
    uint32_t magic = 0;
    FILE *f = bad ? NULL : fopen(t->tmp, "rb");
    if (f) {
        if (fseek(f, -4, SEEK_END) || fread(&magic, 4, 1, f) != 1) magic = 0;
        fclose(f);
    }
    if (magic != BIGWIG_MAGIC) {
        hd_set_error(HD_ERESOURCE, "%s: write failed (the bigWig could not be completed)", t->path);
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
    for (int k = 0; k < ZOOM_LEVELS; k++) free(t->zl[k].r);
    free(t->line.s);
    free(t->path);
    free(t);
}

/* ---------------------------------------------------------------- bigWig reader (--merge) */

static uint64_t le64(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | b[i];
    return v;
}

/* Is the bigWig file f (of size `size`, its magic number checked) whole?  libBigWig follows the offsets of
 * the header without checking them against the file's size, and crashes on a truncated file: every part
 * the header points to (the zoom headers, the chromosome tree, the data, the index, the summary, the zoom
 * levels) must lie inside the file, which ends with the magic number again, as bigWig writers
 * (libBigWig's, the UCSC tools', track's) end it.  NULL when whole, else what is wrong. */
const char *hd_bw_damage(FILE *f, uint64_t size)
{
    unsigned char h[64], z[24], tail[4];
    if (size < 64 + 4 || fseek(f, 0, SEEK_SET) || fread(h, 1, 64, f) != 64) return "truncated: shorter than its header";
    uint64_t nzoom = (uint64_t)h[6] | (uint64_t)h[7] << 8;
    if (64 + 24 * nzoom > size) return "truncated: its zoom headers end past its end";
    /* the smallest size of each part: a B+ tree or R tree header, the data's count, the summary */
    const struct { uint64_t off; uint64_t min; } part[] = {
        {le64(h + 8), 32}, {le64(h + 16), 4}, {le64(h + 24), 48}, {le64(h + 44), 40}};
    for (size_t i = 0; i < sizeof part / sizeof *part; i++) {
        if (i >= 2 && !part[i].off) continue;   /* no index (a file without data), no summary */
        if (part[i].off < 64 || part[i].off > size || size - part[i].off < part[i].min)
            return "truncated or damaged: its header points past its end";
    }
    for (uint64_t k = 0; k < nzoom; k++) {
        if (fseek(f, (long)(64 + 24 * k), SEEK_SET) || fread(z, 1, 24, f) != 24) return "cannot read its zoom headers";
        uint64_t d = le64(z + 8), x = le64(z + 16);
        if (d < 64 || d > size - 4 || x < 64 || x > size || size - x < 48)
            return "truncated or damaged: a zoom level lies past its end";
    }
    if (fseek(f, -4, SEEK_END) || fread(tail, 1, 4, f) != 4 || memcmp(tail, h, 4))
        return "truncated: it does not end with the bigWig magic number";
    return NULL;
}

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
        hd_set_oom(NULL);
        return NULL;
    }
    if (hd_out_note_input(path)) {
        hd_bw_close(r);
        return NULL;
    }
    FILE *f = fopen(path, "rb");   /* libBigWig crashes on a truncated file: check it first (hd_bw_damage) */
    struct stat st;
    const char *why = !f ? strerror(errno) : fstat(fileno(f), &st) || !S_ISREG(st.st_mode) ? "not a regular file" : NULL;
    if (!why) why = hd_bw_damage(f, (uint64_t)st.st_size);
    if (f) fclose(f);
    if (why) {
        hd_set_error(HD_EINPUT, "cannot read '%s' as a bigWig file: %s", path, why);
        hd_bw_close(r);
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
