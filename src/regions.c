/* regions.c -- region strings and files checked against a sequence dictionary; FASTA index access;
 * sliding windows. */
#define _GNU_SOURCE
#include "regions.h"
#include "bed.h"
#include "input.h"
#include "output.h"
#include "tokenizer.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <htslib/bgzf.h>
#include <htslib/hts.h>
#include <htslib/hts_log.h>
#include <htslib/khash.h>
#include <htslib/kstring.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

KHASH_MAP_INIT_STR(hd_cid, int)

struct hd_contigs {
    char *source;      /* the file the names come from, for messages */
    int n;
    char **name;
    int64_t *len;
    khash_t(hd_cid) *h;
};

static hd_contigs *contigs_new(int n, const char *source)
{
    hd_contigs *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->source = hd_strdup(source ? source : "the input");
    c->name = calloc(n ? (size_t)n : 1, sizeof *c->name);
    c->len = calloc(n ? (size_t)n : 1, sizeof *c->len);
    c->h = kh_init(hd_cid);
    if (!c->source || !c->name || !c->len || !c->h) {
        hd_contigs_free(c);
        return NULL;
    }
    return c;
}

static int contigs_add(hd_contigs *c, const char *name, int64_t len)
{
    char *dup = hd_strdup(name);
    if (!dup) return -1;
    int absent;
    khint_t k = kh_put(hd_cid, c->h, dup, &absent);
    if (absent < 0) { free(dup); return -1; }
    c->name[c->n] = dup;
    c->len[c->n] = len;
    if (absent) kh_val(c->h, k) = c->n;   /* a duplicate name keeps its first id */
    c->n++;
    return 0;
}

hd_contigs *hd_contigs_from_fai(const faidx_t *fai, const char *source)
{
    int n = faidx_nseq(fai);
    hd_contigs *c = contigs_new(n, source);
    if (!c) goto oom;
    for (int i = 0; i < n; i++) {
        const char *nm = faidx_iseq(fai, i);
        if (contigs_add(c, nm, faidx_seq_len(fai, nm))) goto oom;
    }
    return c;
oom:
    hd_contigs_free(c);
    hd_set_error(HD_ERESOURCE, "out of memory reading the sequence names of %s", source);
    return NULL;
}

hd_contigs *hd_contigs_from_sam(const sam_hdr_t *h, const char *source)
{
    int n = sam_hdr_nref(h);
    hd_contigs *c = contigs_new(n, source);
    if (!c) goto oom;
    for (int i = 0; i < n; i++)
        if (contigs_add(c, sam_hdr_tid2name(h, i), sam_hdr_tid2len(h, i))) goto oom;
    return c;
oom:
    hd_contigs_free(c);
    hd_set_error(HD_ERESOURCE, "out of memory reading the sequence names of %s", source);
    return NULL;
}

hd_contigs *hd_contigs_from_list(int n, const char *const *name, const int64_t *len, const char *source)
{
    hd_contigs *c = contigs_new(n, source);
    if (!c) goto oom;
    for (int i = 0; i < n; i++)
        if (contigs_add(c, name[i], len[i])) goto oom;
    return c;
oom:
    hd_contigs_free(c);
    hd_set_error(HD_ERESOURCE, "out of memory reading the sequence names of %s", source);
    return NULL;
}

void hd_contigs_free(hd_contigs *c)
{
    if (!c) return;
    for (int i = 0; i < c->n; i++) free(c->name[i]);
    free(c->name);
    free(c->len);
    if (c->h) kh_destroy(hd_cid, c->h);
    free(c->source);
    free(c);
}

int hd_contigs_n(const hd_contigs *c) { return c->n; }
const char *hd_contigs_name(const hd_contigs *c, int id) { return id >= 0 && id < c->n ? c->name[id] : NULL; }
int64_t hd_contigs_len(const hd_contigs *c, int id) { return id >= 0 && id < c->n ? c->len[id] : -1; }

int hd_contigs_id(const hd_contigs *c, const char *name)
{
    khint_t k = kh_get(hd_cid, c->h, name);
    return k == kh_end(c->h) ? -1 : kh_val(c->h, k);
}

static int getid(void *ud, const char *name) { return hd_contigs_id(ud, name); }

/* ------------------------------------------------------------------ FASTA index */

/* htslib says why it cannot load or build a FASTA index only in its log, on stderr: the error messages of
 * one call are caught in memory (stderr is pointed at a memory stream for its duration) so that the reason
 * goes into our error instead. */
typedef struct {
    FILE *saved, *mem;
    char *buf;
    size_t len;
    enum htsLogLevel lvl;
} logcatch;

static void catch_begin(logcatch *c)
{
    memset(c, 0, sizeof *c);
    c->lvl = hts_get_log_level();
    fflush(stderr);
    if ((c->mem = open_memstream(&c->buf, &c->len))) {
        c->saved = stderr;
        stderr = c->mem;
    }
    hts_set_log_level(c->mem ? HTS_LOG_ERROR : HTS_LOG_OFF);
}

/* The last message caught, without htslib's "[E::function] " prefix, into out ("" when none). */
static void catch_end(logcatch *c, char *out, size_t n)
{
    hts_set_log_level(c->lvl);
    out[0] = 0;
    if (!c->mem) return;
    stderr = c->saved;
    fclose(c->mem);
    char *s = c->buf, *last = NULL;
    for (char *line = s; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        if (*line) last = line;
        line = nl ? nl + 1 : NULL;
    }
    if (last) {
        if (last[0] == '[' && strchr(last, ']')) last = strchr(last, ']') + 1;
        while (*last == ' ') last++;
        snprintf(out, n, "%s", last);
    }
    free(c->buf);
}

/* An index file that is missing or older than the FASTA it indexes (the reference was replaced: its offsets
 * would read other bases, even header lines, as the sequence) is to be built.  Older by whole seconds, as
 * htslib's rule for the other indexes ("the index file is older than the data file"): files copied together
 * within one second are not told apart. */
static int index_stale(const struct stat *fa, const char *idx, int *exists)
{
    struct stat sb;
    *exists = stat(idx, &sb) == 0;
    return !*exists || sb.st_mtime < fa->st_mtime;
}

/* Whether an index older than its FASTA still describes it (the FASTA copied or touched after indexing, not
 * changed): every record's offset follows a '>' header line of its name, and its last base is followed by
 * the end of a line or of the file.  Two short reads per record; a bgzip FASTA is read through its .gzi.
 * A FASTQ index (6 columns) or any doubt counts as not matching. */
static int only_newlines(const char *p, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (p[i] != '\n' && p[i] != '\r') return 0;
    return 1;
}

static int index_matches(const char *path, int bgz, const char *fai, const char *gzi)
{
    FILE *fi = fopen(fai, "r");
    BGZF *fp = fi ? bgzf_open(path, "r") : NULL;
    int ok = fp && (!bgz || bgzf_index_load(fp, gzi, NULL) == 0);
    char line[8192], buf[4097];
    int64_t prev = 0;   /* the end of the previous record: records follow each other, newlines between */
    while (ok && fgets(line, sizeof line, fi)) {
        char name[4096];
        int64_t len, off, lb, lw;
        int n = -1;
        if (sscanf(line, "%4095[^\t]\t%" SCNd64 "\t%" SCNd64 "\t%" SCNd64 "\t%" SCNd64 "%n", name, &len, &off, &lb, &lw, &n) != 5 ||
            n < 0 || (line[n] != '\n' && line[n] != 0) || len < 0 || off < 2 || lb <= 0 || lw < lb) {
            ok = 0;
            break;
        }
        /* the header line ending just before the sequence, right after the previous record */
        int64_t beg = off - 4096 > 0 ? off - 4096 : 0;
        ssize_t got = bgzf_useek(fp, beg, SEEK_SET) == 0 ? bgzf_read(fp, buf, (size_t)(off - beg)) : -1;
        if (got != off - beg || buf[got - 1] != '\n') { ok = 0; break; }
        ssize_t e = got - 1;
        if (e > 0 && buf[e - 1] == '\r') e--;
        ssize_t h = e;
        while (h > 0 && buf[h - 1] != '\n') h--;
        size_t nl = strlen(name);
        if (prev < beg || prev > beg + h || !only_newlines(buf + (prev - beg), beg + h - prev) ||
            buf[h] != '>' || e - h - 1 < (ssize_t)nl || memcmp(buf + h + 1, name, nl) ||
            (e - h - 1 > (ssize_t)nl && buf[h + 1 + nl] != ' ' && buf[h + 1 + nl] != '\t')) {
            ok = 0;
            break;
        }
        prev = off;
        if (len == 0) continue;
        /* the last base, then the end of its line or of the file */
        int64_t last = off + (len - 1) / lb * lw + (len - 1) % lb;
        got = bgzf_useek(fp, last, SEEK_SET) == 0 ? bgzf_read(fp, buf, 2) : -1;
        if (got < 1 || buf[0] == '\n' || buf[0] == '\r' || buf[0] == '>' ||
            (got == 2 && buf[1] != '\n' && buf[1] != '\r')) ok = 0;
        prev = last + 1;
    }
    if (ok) {   /* nothing but newlines after the last record (no record added at the end) */
        ssize_t got = bgzf_useek(fp, prev, SEEK_SET) == 0 ? bgzf_read(fp, buf, sizeof buf) : -1;
        ok = got >= 0 && got < (ssize_t)sizeof buf && only_newlines(buf, got);
    }
    if (fi && ferror(fi)) ok = 0;
    if (fp) bgzf_close(fp);
    if (fi) fclose(fi);
    return ok;
}

/* Build the index of `path` under temporary names made from fai and gzi (hd_out_tmpname: in their folder,
 * removed on a fatal signal); *tfai and *tgzi get the names.  0 built; -1 the files cannot be created
 * (hd_error says why); -2 fai_build3 failed (the FASTA cannot be indexed). */
static int index_build_tmp(const char *path, int bgz, const char *fai, const char *gzi, char **tfai, char **tgzi)
{
    *tgzi = NULL;
    *tfai = hd_out_tmpname(fai);
    if (*tfai && bgz && !(*tgzi = hd_out_tmpname(gzi))) hd_out_discard(*tfai), *tfai = NULL;
    if (!*tfai) return -1;
    if (fai_build3(path, *tfai, *tgzi) == 0) return 0;
    hd_out_discard(*tgzi), *tgzi = NULL;
    hd_out_discard(*tfai), *tfai = NULL;
    return -2;
}

/* A missing .fai (and .gzi of a bgzip FASTA), or one older than the FASTA that no longer describes it
 * (index_matches: a copied or touched FASTA keeps its index), is built under temporary names and
 * renamed into place, so that jobs started side by side on one reference (the pieces of a scattered workflow)
 * never read the half-written index of another: each either finds the whole file or builds its own.  When
 * it cannot be written beside the FASTA (a read-only reference folder or container mount), it is built in
 * $TMPDIR for this run only, with a warning (note): *tfai and *tgzi are then its names, to load and remove.
 * 0: load the index beside the FASTA (or from *tfai); -1 + hd_error: it cannot be built anywhere; 1: the index
 * is older than the FASTA, which cannot be indexed again (note says so; not to be loaded).  Another FASTA
 * that cannot be indexed is left to fai_load, which then explains. */
static int build_index_atomically(const char *path, char **tfai, char **tgzi, char *note, size_t nnote)
{
    *tfai = *tgzi = NULL;
    note[0] = 0;
    char *fai = hd_sprintf("%s.fai", path), *gzi = hd_sprintf("%s.gzi", path);
    struct stat fa;
    htsFile *f = fai && gzi && stat(path, &fa) == 0 ? hts_open(path, "r") : NULL;
    int bgz = f && hts_get_format(f)->compression == bgzf, rc = 0, r;
    if (f) hts_close(f);
    int fai_there = 0, gzi_there = 0;
    int fai_stale = f && index_stale(&fa, fai, &fai_there), gzi_stale = bgz && index_stale(&fa, gzi, &gzi_there);
    if ((fai_stale || gzi_stale) && fai_there && (!bgz || gzi_there) && index_matches(path, bgz, fai, gzi))
        fai_stale = gzi_stale = 0;   /* older, but it still describes the FASTA: used as it is */
    /* the index file found older than the FASTA, if any */
    const char *old = fai_there && fai_stale ? fai : gzi_there && gzi_stale ? gzi : NULL;
    char *a, *b;
    if (!f || !(fai_stale || gzi_stale)) {
        /* there, and as new as the FASTA */
    } else if ((r = index_build_tmp(path, bgz, fai, gzi, &a, &b)) == 0) {
        if (b && (!gzi_there || gzi_stale)) hd_out_commit(b, gzi), b = NULL;   /* keep a .gzi that is good */
        hd_out_discard(b);
        hd_out_commit(a, fai);
        if (old) snprintf(note, nnote, "%s is older than the FASTA file: rebuilt", old);
    } else if (r == -2 && old) {   /* not to be read through the old index: the caller names the reason */
        snprintf(note, nnote, "%s is older than the FASTA file, and the FASTA cannot be indexed again", old);
        rc = 1;
    } else if (r == -1) {   /* no file can be made beside the FASTA: one for this run in $TMPDIR */
        char here[512];
        snprintf(here, sizeof here, "%s", hd_error());
        const char *td = getenv("TMPDIR");
        if (!td || !*td) td = "/tmp";
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        char *xfai = hd_sprintf("%s/%s.fai", td, base), *xgzi = hd_sprintf("%s/%s.gzi", td, base);
        if (!xfai || !xgzi) {
            hd_set_oom(NULL);
            rc = -1;
        } else if ((r = index_build_tmp(path, bgz, xfai, xgzi, tfai, tgzi)) == 0) {
            snprintf(note, nnote, "%s%s%s: the index is built in %s for this run only (index the FASTA where the "
                     "index can be written to keep it)", old ? old : "", old ? " is older than the FASTA file; " : "",
                     here, td);
        } else {
            char there[512];
            snprintf(there, sizeof there, "%s", r == -1 ? hd_error() : "the FASTA cannot be indexed");
            hd_set_error(HD_ERESOURCE, "%s: no index can be written: %s%s%s; in $TMPDIR: %s", path,
                         old ? old : "", old ? " is older than the FASTA file; " : "", here, there);
            rc = -1;
        }
        free(xfai);
        free(xgzi);
    }
    if (rc >= 0) hd_clear_error();
    free(fai);
    free(gzi);
    return rc;
}

/* whether a file (plain or compressed) starts with a UTF-8 byte-order mark */
static int starts_with_bom(const char *path)
{
    BGZF *fp = bgzf_open(path, "r");
    char b[3];
    int bom = fp && bgzf_read(fp, b, 3) == 3 && !memcmp(b, "\xef\xbb\xbf", 3);
    if (fp) bgzf_close(fp);
    return bom;
}

faidx_t *hd_faidx_open(const char *path)
{
    if (!strcmp(path, "-")) {
        hd_set_error(HD_EINPUT, "regions need an indexable FASTA file, not standard input");
        return NULL;
    }
    if (access(path, R_OK)) {
        hd_set_error(HD_EINPUT, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    if (hd_is_dir(path)) {
        hd_set_error(HD_EINPUT, "%s: a directory, not a FASTA file", path);
        return NULL;
    }
    if (hd_out_note_input(path) || hd_input_refuse_alignment_path(path, HD_WANT_REF)) return NULL;
    logcatch lc;
    char why[512], note[1024];
    char *tfai, *tgzi;
    catch_begin(&lc);
    int built = build_index_atomically(path, &tfai, &tgzi, note, sizeof note);
    errno = 0;
    faidx_t *fai = built != 0 ? NULL : tfai ? fai_load3(path, tfai, tgzi, 0) : fai_load(path);
    int err = errno;
    catch_end(&lc, why, sizeof why);
    hd_out_discard(tgzi);   /* read whole by fai_load3 */
    hd_out_discard(tfai);
    if (fai && note[0]) hd_log(HD_LOG_WARN, "%s: %s", path, note);
    if (built == 1) {
        hd_set_error(HD_EINPUT, "%s: %s%s%s", path, note, why[0] ? ": " : "", why);
    } else if (!fai && built == 0) {
        enum htsLogLevel lvl = hts_get_log_level();
        hts_set_log_level(HTS_LOG_OFF);
        htsFile *f = hts_open(path, "r");
        int gz = f && hts_get_format(f)->compression == gzip;
        if (f) hts_close(f);
        hts_set_log_level(lvl);
        if (gz)
            hd_set_error(HD_EINPUT, "%s: cannot index a gzip-compressed FASTA (a FASTA index needs bgzip "
                                    "compression): compress it with bgzip instead of gzip", path);
        else if (starts_with_bom(path))   /* read as FASTA otherwise (seqio.h), but not by faidx */
            hd_set_error(HD_EINPUT, "%s: cannot build the FASTA index (.fai): the file starts with a UTF-8 byte-order "
                                    "mark, which samtools faidx does not read: remove it (sed -i '1s/^\\xEF\\xBB\\xBF//' "
                                    "%s on a plain file)", path, path);
        else if (why[0])
            hd_set_error(HD_EINPUT, "%s: cannot load or build the FASTA index (.fai): %s", path, why);
        else
            hd_set_error(HD_EINPUT, "%s: cannot load or build the FASTA index (.fai)%s%s", path, err ? ": " : "",
                         err ? strerror(err) : "");
    }
    return fai;
}

char *hd_faidx_fetch(const faidx_t *fai, const char *path, const char *chrom, int64_t beg, int64_t end)
{
    hts_pos_t len = 0;
    char *s = NULL;
    if (end > beg) s = faidx_fetch_seq64(fai, chrom, beg, end - 1, &len);
    else s = calloc(1, 1);
    if (!s || (end > beg && len != end - beg)) {
        free(s);
        hd_set_error(HD_EINPUT, "%s: cannot read %s:%" PRId64 "-%" PRId64 " from the FASTA file", path, chrom,
                     beg + 1, end);
        return NULL;
    }
    return s;
}

char *hd_faidx_fetch_strand(const faidx_t *fai, const char *path, const char *chrom, int64_t beg, int64_t end,
                            char strand)
{
    char *s = hd_faidx_fetch(fai, path, chrom, beg, end);
    if (s && strand == '-') hd_bases_revcomp(s, (size_t)(end - beg));
    return s;
}

/* ------------------------------------------------------------------ region lists */

static int push_strand(hd_regions *rs, const char *chrom, int64_t beg, int64_t end, char strand)
{
    if (rs->n == rs->m) {
        size_t m = rs->m ? 2 * rs->m : 16;
        hd_region *v = realloc(rs->v, m * sizeof *v);
        if (!v) { hd_set_oom("the region list"); return -1; }
        rs->v = v;
        rs->m = m;
    }
    char *c = hd_strdup(chrom);
    if (!c) { hd_set_oom("the region list"); return -1; }
    rs->v[rs->n++] = (hd_region){c, beg, end, strand};
    return 0;
}

static int push(hd_regions *rs, const char *chrom, int64_t beg, int64_t end) { return push_strand(rs, chrom, beg, end, '.'); }

void hd_regions_free(hd_regions *rs)
{
    for (size_t i = 0; i < rs->n; i++) free(rs->v[i].chrom);
    free(rs->v);
    memset(rs, 0, sizeof *rs);
}

/* hd_regions_merge's order: the dictionary's, then the start */
static const hd_contigs *merge_dict;
static int cmp_dict_order(const void *a, const void *b)
{
    const hd_region *x = a, *y = b;
    int i = hd_contigs_id(merge_dict, x->chrom), j = hd_contigs_id(merge_dict, y->chrom);
    if (i != j) return i < j ? -1 : 1;
    return x->beg < y->beg ? -1 : x->beg > y->beg ? 1 : 0;
}

void hd_regions_merge_sorted(hd_regions *rs)
{
    size_t n = 0;
    for (size_t i = 0; i < rs->n; i++) {
        hd_region *last = n ? &rs->v[n - 1] : NULL;
        if (last && !strcmp(last->chrom, rs->v[i].chrom) && rs->v[i].beg <= last->end) {
            if (rs->v[i].end > last->end) last->end = rs->v[i].end;
            free(rs->v[i].chrom);
            continue;
        }
        rs->v[n++] = rs->v[i];
    }
    rs->n = n;
}

void hd_regions_merge(hd_regions *rs, const hd_contigs *dict)
{
    if (!rs->n) return;
    merge_dict = dict;
    qsort(rs->v, rs->n, sizeof *rs->v, cmp_dict_order);
    hd_regions_merge_sorted(rs);
}

/* check [beg, end) against the contig; `what` names the region in messages */
static int check_span(const hd_contigs *d, int id, int64_t beg, int64_t end, const char *what)
{
    int64_t len = d->len[id];
    if (beg >= len && beg >= 0) {   /* (chrA:3001 on 3,000 bases: clipped to an empty span at the end) */
        hd_set_error(HD_EINPUT, "region %s starts after the end of %s, which has %" PRId64 " bases in %s", what,
                     d->name[id], len, d->source);
        return -1;
    }
    if (beg < 0 || end <= beg) {
        hd_set_error(HD_EINPUT, "region %s is empty, reversed or starts before the first base", what);
        return -1;
    }
    if (end > len) {
        hd_set_error(HD_EINPUT, "region %s lies outside %s, which has %" PRId64 " bases in %s", what, d->name[id],
                     len, d->source);
        return -1;
    }
    return 0;
}

int hd_contigs_check(const hd_contigs *d, const char *chrom, int64_t beg, int64_t end, const char *what)
{
    int id = hd_contigs_id(d, chrom);
    if (id < 0) {
        hd_set_error(HD_EINPUT, "region %s: no sequence named '%s' in %s", what, chrom, d->source);
        return -1;
    }
    return check_span(d, id, beg, end, what) ? -1 : id;
}

/* "BEG-END" of n characters, decimal digits only: 1 with the numbers, else 0 */
static int plain_span(const char *p, int n, int64_t *beg, int64_t *end)
{
    int64_t v[2] = {0, 0};
    int k = 0, digits = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] >= '0' && p[i] <= '9') {
            if (v[k] > (INT64_MAX - 9) / 10) return 0;
            v[k] = 10 * v[k] + (p[i] - '0');
            digits++;
        } else if (p[i] == '-' && k == 0 && digits) {
            k = 1;
            digits = 0;
        } else {
            return 0;
        }
    }
    if (k != 1 || !digits) return 0;
    *beg = v[0];
    *end = v[1];
    return 1;
}

/* the regions of spec (a list when flags has HTS_PARSE_LIST, else one region) */
static int parse_regions(hd_regions *rs, const char *spec, const hd_contigs *dict, int flags)
{
    const char *s = spec;
    while (*s) {
        int tid = -1;
        hts_pos_t beg = 0, end = 0;
        enum htsLogLevel lvl = hts_get_log_level();
        hts_set_log_level(HTS_LOG_OFF);
        const char *next = hts_parse_region(s, &tid, &beg, &end, getid, (void *)dict, flags);
        if (next && *next && !(flags & HTS_PARSE_LIST)) next = NULL;   /* one region: nothing may follow */
        hts_set_log_level(lvl);
        /* the text of this region alone, for messages */
        const char *stop = next ? next : s + strlen(s);
        int n = (int)(stop - s);
        if (next && n > 0 && s[n - 1] == ',') n--;
        if (!next) {
            /* this region's text: up to the next comma (positions hold no commas in a list) */
            const char *comma = flags & HTS_PARSE_LIST ? strchr(s, ',') : NULL;
            int rn = comma ? (int)(comma - s) : (int)strlen(s);
            const char *colon = memrchr(s, ':', (size_t)rn);
            int cn = colon ? (int)(colon - s) : rn;
            /* "chr1:1,000-2,000" in a list: the commas split it */
            int split = (flags & HTS_PARSE_LIST) && s - spec >= 2 && s[-1] == ',' && isdigit((unsigned char)s[-2]) &&
                        isdigit((unsigned char)s[0]);
            char *whole = hd_sprintf("%.*s", rn, s), *pre = hd_sprintf("%.*s", cn, s);
            int64_t rb, re;
            if (!whole || !pre)
                hd_set_oom(NULL);
            else if (colon && hd_contigs_id(dict, whole) >= 0 && hd_contigs_id(dict, pre) >= 0)
                /* htslib refuses a name that is a sequence both whole and before its last colon */
                hd_set_error(HD_EINPUT, "region '%s' is ambiguous: '%s' and '%s' are both sequences in %s: write "
                             "{%s} for the whole sequence %s, or {%s}%s for those bases of %s", whole, whole, pre,
                             dict->source, whole, whole, pre, whole + cn, pre);
            else if (colon && hd_contigs_id(dict, pre) >= 0 && plain_span(colon + 1, rn - cn - 1, &rb, &re) && rb > re)
                hd_set_error(HD_EINPUT, "region '%s' is reversed: it starts at %" PRId64 ", after its end %" PRId64,
                             whole, rb, re);
            else if (tid == -1 && cn > 0)
                hd_set_error(HD_EINPUT, "region '%.*s': no sequence named '%.*s' in %s%s", rn, s, cn, s, dict->source,
                             split ? " (commas separate regions: write positions without thousands separators)" : "");
            else
                hd_set_error(HD_EINPUT, "region '%.*s' cannot be parsed (expected chr, chr:beg or chr:beg-end, 1-based)",
                             rn, s);
            free(whole);
            free(pre);
            return -1;
        }
        if (end == HTS_POS_MAX) end = dict->len[tid];   /* "chr" or "chr:beg": to the end of the contig */
        char *what = hd_sprintf("'%.*s'", n, s);
        int rc = what ? check_span(dict, tid, beg, end, what) : -1;
        free(what);
        if (rc || push(rs, dict->name[tid], beg, end)) return -1;
        s = next;
    }
    return 0;
}

int hd_regions_parse(hd_regions *rs, const char *spec, const hd_contigs *dict)
{
    if (!*spec) {   /* -r "$REGION" with the variable unset: not "no regions", which would embed nothing */
        hd_set_error(HD_EINPUT, "empty region (expected chr, chr:beg or chr:beg-end, 1-based)");
        return -1;
    }
    return parse_regions(rs, spec, dict, HTS_PARSE_LIST);
}

int hd_region_parse(const char *spec, const hd_contigs *dict, hd_region *out)
{
    hd_regions rs = {0};
    if (!*spec) {
        hd_set_error(HD_EINPUT, "empty region (expected chr, chr:beg or chr:beg-end, 1-based)");
        return -1;
    }
    if (parse_regions(&rs, spec, dict, HTS_PARSE_THOUSANDS_SEP)) {
        hd_regions_free(&rs);
        return -1;
    }
    *out = rs.v[0];   /* exactly one: the chrom string moves to out */
    free(rs.v);
    return 0;
}

int hd_regions_read(hd_regions *rs, const char *path, const hd_contigs *dict)
{
    int bed = hd_bed_named(path);
    hd_bed *b = hd_bed_open(path, !bed);
    if (!b) return -1;
    hd_bedrec r;
    int rc;
    while ((rc = hd_bed_next(b, &r)) > 0) {
        char *what = hd_sprintf("%s:%lld-%lld (%s line %ld)", r.chrom, (long long)r.beg + 1,
                                (long long)r.end, hd_bed_name(b), r.line);
        int bad = !what || hd_contigs_check(dict, r.chrom, r.beg, r.end, what) < 0 ||
                  push_strand(rs, r.chrom, r.beg, r.end, r.strand);
        free(what);
        if (bad) { rc = -1; break; }
    }
    hd_bed_close(b);
    return rc < 0 ? -1 : 0;
}

char *hd_region_str(const char *chrom, int64_t beg, int64_t end) { return hd_region_str_strand(chrom, beg, end, '.'); }

char *hd_region_str_strand(const char *chrom, int64_t beg, int64_t end, char strand)
{
    int brace = strchr(chrom, ':') != NULL;
    return hd_sprintf("%s%s%s:%" PRId64 "-%" PRId64 "%s", brace ? "{" : "", chrom, brace ? "}" : "", beg + 1, end,
                      strand == '-' ? "(-)" : "");
}

/* ------------------------------------------------------------------ windows */

size_t hd_window_count(int64_t len, int64_t w, int64_t s)
{
    if (len <= w) return 1;
    size_t n = (size_t)((len - w) / s) + 1;
    if ((int64_t)(n - 1) * s + w < len) n++;
    return n;
}

void hd_window_get(int64_t len, int64_t w, int64_t s, size_t i, int64_t *beg, int64_t *end)
{
    if (len <= w) { *beg = 0; *end = len; return; }
    int64_t b = (int64_t)i * s;
    if (b + w > len) b = len - w;   /* the last window, flush with the end */
    *beg = b;
    *end = b + w;
}
