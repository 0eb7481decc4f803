/* classify_input.c -- the inputs of classify: labelled sets (FASTA with label=, TSV, BED over a
 * reference) and the query sources (FASTA records, BED intervals, a region), cut into windows.  The
 * records, intervals, regions and windows are read by the project's one reader of each format (seqio.h,
 * bed.h, regions.h) with their rules; this file adds the labels (see classify.h). */
#define _GNU_SOURCE
#include "classify.h"

#include <ctype.h>
#include <errno.h>
#include <htslib/bgzf.h>
#include <htslib/faidx.h>
#include <htslib/khash.h>
#include <htslib/kstring.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bed.h"
#include "input.h"
#include "regions.h"
#include "seqio.h"
#include "tokenizer.h"
#include "util.h"

/* ================================================================== labelled sets */

void hd_lset_free(hd_lset *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].name);
        free(s->v[i].seq);
        free(s->v[i].chrom);
    }
    free(s->v);
    for (int c = 0; c < s->n_classes; c++) free(s->classes[c]);
    free(s->classes);
    memset(s, 0, sizeof *s);
}

int hd_lset_drop_kmerless(hd_lset *s, int k, const char *file)
{
    size_t kept = 0, dropped = 0;
    for (size_t i = 0; i < s->n; i++) {
        hd_lseq *r = &s->v[i];
        if (hd_kmer_countable(r->seq, r->len, k)) {
            s->v[kept++] = *r;
            continue;
        }
        if (++dropped <= 5)
            hd_log(HD_LOG_WARN, "%s: record '%s' (class '%s') has no %d-mer of A, C, G, T (all N, or shorter than %d): "
                   "not a training example", file, r->name, s->classes[r->label], k, k);
        free(r->name);
        free(r->seq);
        free(r->chrom);
    }
    s->n = kept;
    if (dropped > 5) hd_log(HD_LOG_WARN, "%s: %zu records in all have no %d-mer of A, C, G, T: not training examples", file, dropped, k);
    for (int c = 0; c < s->n_classes; c++) {
        size_t n = 0;
        for (size_t i = 0; i < s->n; i++) n += s->v[i].label == c;
        if (!n) {
            hd_set_error(HD_EINPUT, "%s: class '%s' has no training example with a %d-mer of A, C, G, T (its records are "
                         "all N or shorter than %d)", file, s->classes[c], k, k);
            return -1;
        }
    }
    return 0;
}

int hd_lset_class(const hd_lset *s, const char *label)
{
    for (int c = 0; c < s->n_classes; c++)
        if (!strcmp(s->classes[c], label)) return c;
    return -1;
}

int hd_lset_class_add(hd_lset *s, const char *label)
{
    int c = hd_lset_class(s, label);
    if (c >= 0) return c;
    char **nc = realloc(s->classes, (s->n_classes + 1) * sizeof *nc);
    if (!nc) { hd_set_oom(NULL); return -1; }
    s->classes = nc;
    if (!(nc[s->n_classes] = hd_strdup(label))) return -1;
    return s->n_classes++;
}

int hd_lset_add(hd_lset *s, const char *name, const char *seq, size_t len, const char *label, const char *chrom,
                int64_t beg, int64_t end)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? 2 * s->cap : 64;
        hd_lseq *v = realloc(s->v, nc * sizeof *v);
        if (!v) { hd_set_oom(NULL); return -1; }
        s->v = v;
        s->cap = nc;
    }
    hd_lseq *r = &s->v[s->n];
    memset(r, 0, sizeof *r);
    r->label = -1;
    if (label && (r->label = hd_lset_class_add(s, label)) < 0) return -1;
    r->name = hd_strdup(name);
    r->seq = malloc(len + 1);
    r->chrom = chrom ? hd_strdup(chrom) : NULL;
    if (!r->name || !r->seq || (chrom && !r->chrom)) {
        free(r->name); free(r->seq); free(r->chrom);
        hd_set_oom(NULL);
        return -1;
    }
    memcpy(r->seq, seq, len);
    r->seq[len] = 0;
    r->len = len;
    r->beg = beg;
    r->end = end;
    s->n++;
    return 0;
}

int hd_lset_check_classes(const hd_lset *s, const char *what)
{
    if (s->n_classes < 2) {
        hd_set_error(HD_EINPUT, "%s: only one class (%s): at least two classes are needed", what,
                     s->n_classes ? s->classes[0] : "none");
        return -1;
    }
    for (int c = 0; c < s->n_classes; c++) {
        size_t k = 0;
        for (size_t i = 0; i < s->n; i++) k += s->v[i].label == c;
        if (!k) {
            hd_set_error(HD_EINPUT, "%s: class '%s' has no records", what, s->classes[c]);
            return -1;
        }
    }
    return 0;
}

int hd_header_label(const char *comment, char *buf, size_t n)
{
    const char *p = comment;
    int found = 0;
    while (p && *p) {
        while (*p && isspace((unsigned char)*p)) p++;
        const char *w = p;
        while (*p && !isspace((unsigned char)*p)) p++;
        if ((size_t)(p - w) >= 6 && !strncmp(w, "label=", 6)) {
            size_t l = (size_t)(p - w) - 6;
            if (l == 0 || l >= n) return -1;
            if (found) {   /* a second label=: the same value again is harmless, another is ambiguous */
                if (strlen(buf) != l || memcmp(buf, w + 6, l)) return -2;
                continue;
            }
            memcpy(buf, w + 6, l);
            buf[l] = 0;
            found = 1;
        }
    }
    return found;
}

/* the error of a header label= that hd_header_label refused (r < 0) */
static void header_label_error(const char *file, const char *rec, int r)
{
    if (r == -2)
        hd_set_error(HD_EINPUT, "%s: record '%s' has label= twice with different values in its header: give one "
                     "label", file, rec);
    else
        hd_set_error(HD_EINPUT, "%s: record '%s' has an empty or overlong label= in its header", file, rec);
}

/* the first invalid base of seq: its 0-based index, or -1 */
static long bad_base(const char *seq, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (hd_base_id((unsigned char)seq[i]) < 0) return (long)i;
    return -1;
}

/* ================================================================== the labelled reader */

KHASH_MAP_INIT_STR(hd_lseen, long)

typedef struct {
    const char *path, *disp, *ref;
    hd_lset *out;
    faidx_t *fai;          /* BED: the reference */
    hd_contigs *dict;
    khash_t(hd_lseen) *seen;   /* BED: the intervals met so far (keys owned) -> their line */
    long n_dup;                /* BED lines skipped as repeats */
} lreader;

static int labelled_fasta(lreader *lr, BGZF *bg)
{
    hd_fasta *fa = hd_fasta_bgzf(bg, lr->path);
    if (!fa) return -1;
    hd_seqrec rec;
    int r, ret = -1;
    char label[1024];
    while ((r = hd_fasta_next(fa, &rec)) > 0) {
        int lr_ = hd_header_label(rec.comment, label, sizeof label);
        if (lr_ == 0) {
            hd_set_error(HD_EINPUT, "%s: record '%s' has no label=NAME in its header", lr->disp, rec.name);
            goto done;
        }
        if (lr_ < 0) {
            header_label_error(lr->disp, rec.name, lr_);
            goto done;
        }
        long b = bad_base(rec.seq, rec.len);
        if (b >= 0) {
            hd_set_bases_error(lr->disp, NULL, rec.name, rec.seq[b], (size_t)b);
            goto done;
        }
        if (hd_lset_add(lr->out, rec.name, rec.seq, rec.len, label, NULL, 0, 0)) goto done;
    }
    ret = r < 0 ? -1 : 0;
done:
    hd_fasta_close(fa);
    return ret;
}

/* label<TAB>sequence */
static int labelled_tsv_line(lreader *lr, char *line, long ln)
{
    char *tab = strchr(line, '\t');
    if (!tab || strchr(tab + 1, '\t')) {
        int nf = 1;
        for (char *p = line; *p; p++) nf += *p == '\t';
        hd_set_error(HD_EINPUT, "%s: line %ld: expected 2 tab-separated fields (label, sequence), found %d", lr->disp,
                     ln, nf);
        return -1;
    }
    *tab = 0;
    char *seq = tab + 1;
    size_t n = strlen(seq);
    if (!*line) { hd_set_error(HD_EINPUT, "%s: line %ld: empty label", lr->disp, ln); return -1; }
    if (!n) { hd_set_error(HD_EINPUT, "%s: line %ld: empty sequence", lr->disp, ln); return -1; }
    long b = bad_base(seq, n);
    if (b >= 0) {
        hd_set_error(HD_EINPUT, "%s: invalid character '%c' at line %ld, position %ld", lr->disp, seq[b], ln, b + 1);
        return -1;
    }
    char name[64];
    snprintf(name, sizeof name, "line%ld", ln);
    return hd_lset_add(lr->out, name, seq, n, line, NULL, 0, 0);
}

/* chrom start end label: an interval of the reference */
static int labelled_bed_line(lreader *lr, char *line, long ln)
{
    hd_bedrec r;
    if (hd_bed_parse(line, 0, lr->disp, ln, &r)) return -1;
    if (!r.name) {
        hd_set_error(HD_EINPUT, "%s line %ld: expected BED 'chrom start end label'", lr->disp, ln);
        return -1;
    }
    if (!*r.name) { hd_set_error(HD_EINPUT, "%s line %ld: empty label", lr->disp, ln); return -1; }
    char *what = hd_sprintf("%s:%lld-%lld (%s line %ld)", r.chrom, (long long)r.beg + 1, (long long)r.end, lr->disp, ln);
    int bad = !what || hd_contigs_check(lr->dict, r.chrom, r.beg, r.end, what) < 0;
    free(what);
    if (bad) return -1;
    /* a '-' interval is the reverse complement of the reference's bases (bed.h) */
    char *s = hd_faidx_fetch_strand(lr->fai, lr->ref, r.chrom, r.beg, r.end, r.strand);
    if (!s) return -1;
    size_t len = (size_t)(r.end - r.beg);
    long b = bad_base(s, len);
    if (b >= 0) {
        hd_set_error(HD_EINPUT, "%s line %ld: invalid character '%c' in %s at position %lld", lr->disp, ln, s[b], r.chrom,
                     (long long)(r.strand == '-' ? r.end - b : r.beg + b + 1));
        free(s);
        return -1;
    }
    /* chrom:beg-end, (-) after a minus-strand interval: the two strands of an interval are two examples */
    char *nm = hd_sprintf("%s:%lld-%lld%s", r.chrom, (long long)r.beg + 1, (long long)r.end, r.strand == '-' ? "(-)" : "");
    if (!nm) { free(s); return -1; }
    /* an interval given before is skipped, as a FASTA record whose name was used before (hyenadna(1) INPUT
     * FILES): the first line of an interval is used, so an interval is one example of one class */
    khint_t k = kh_get(hd_lseen, lr->seen, nm);
    if (k != kh_end(lr->seen)) {
        if (++lr->n_dup <= 5) {
            const char *l0 = "";
            for (size_t i = 0; i < lr->out->n; i++)
                if (!strcmp(lr->out->v[i].name, nm)) l0 = lr->out->classes[lr->out->v[i].label];
            int other = strcmp(l0, r.name) != 0;
            hd_log(HD_LOG_WARN, "%s line %ld: the interval %s was given before, on line %ld%s%s%s: skipped (the first "
                   "line of an interval is used)", lr->disp, ln, nm, kh_val(lr->seen, k),
                   other ? " with the label '" : "", other ? l0 : "", other ? "'" : "");
        }
        free(nm);
        free(s);
        return 0;
    }
    int e = hd_lset_add(lr->out, nm, s, len, r.name, r.chrom, r.beg, r.end), absent = 0;
    if (!e) {
        k = kh_put(hd_lseen, lr->seen, nm, &absent);
        if (absent < 0) { hd_set_oom(NULL); e = 1; }
        else { kh_val(lr->seen, k) = ln; nm = NULL; }
    }
    free(nm);
    free(s);
    return e ? -1 : 0;
}

/* BED when the first data line has 4 or more tab-separated fields with integers 2nd and 3rd */
static int looks_bed(const char *line)
{
    const char *f[4];
    int nf = 0;
    for (const char *p = line; nf < 4; p++) {
        f[nf++] = p;
        if (!(p = strchr(p, '\t'))) break;
    }
    if (nf < 4) return 0;
    for (int k = 1; k <= 2; k++) {
        const char *p = f[k];
        if (*p < '0' || *p > '9') return 0;
        while (*p >= '0' && *p <= '9') p++;
        if (*p != '\t') return 0;
    }
    return 1;
}

int hd_read_labelled(const char *path, const char *ref, hd_lset *out)
{
    lreader lr = {.path = path, .disp = hd_input_name(path), .ref = ref, .out = out};
    hFILE *hf = hd_input_hopen(path);
    if (!hf) return -1;
    if (hd_input_refuse_alignment(hf, path, HD_WANT_LABELLED)) {
        hclose_abruptly(hf);
        return -1;
    }
    BGZF *bg = bgzf_hopen(hf, "r");
    if (!bg) {
        hclose_abruptly(hf);
        hd_set_error(HD_EINPUT, "cannot read '%s'", lr.disp);
        return -1;
    }
    kstring_t line = {0, 0, NULL};
    enum { UNKNOWN, TSV, BED } fmt = UNKNOWN;
    long ln = 0;
    int ret = -1, r;
    for (;;) {
        /* the format is told by the first line that is neither empty nor a comment */
        if (fmt == UNKNOWN) {
            int c = bgzf_peek(bg);
            if (c == '>') {
                r = labelled_fasta(&lr, bg);
                bg = NULL;
                if (r) goto done;
                break;
            }
        }
        if ((r = bgzf_getline(bg, '\n', &line)) < 0) break;
        ln++;
        line.l = hd_bed_chomp(line.s, line.l);
        if (hd_bed_skip(line.s)) continue;
        int first = fmt == UNKNOWN;
        if (first) {
            fmt = looks_bed(line.s) ? BED : TSV;
            if (fmt == BED) {
                if (!ref) {
                    hd_set_error(HD_EINPUT, "%s: line %ld is BED (chrom start end label): give the reference FASTA "
                                 "with -f", lr.disp, ln);
                    goto done;
                }
                if (!(lr.fai = hd_faidx_open(ref)) || !(lr.dict = hd_contigs_from_fai(lr.fai, ref))) goto done;
                if (!(lr.seen = kh_init(hd_lseen))) { hd_set_oom(NULL); goto done; }
            }
        }
        if (fmt == TSV) {   /* trailing blanks (a spreadsheet's trailing tab) end the line; a 3rd field is an error */
            int had_tab = memchr(line.s, '\t', line.l) != NULL;
            while (line.l && isspace((unsigned char)line.s[line.l - 1])) line.s[--line.l] = 0;
            if (first && !strcasecmp(line.s, "label\tsequence")) continue;   /* a header line */
            if (had_tab && !strchr(line.s, '\t')) {   /* 'label<TAB>' and blanks: the sequence is missing */
                hd_set_error(HD_EINPUT, "%s: line %ld: empty sequence (label '%s')", lr.disp, ln, line.s);
                goto done;
            }
        }
        if (fmt == TSV ? labelled_tsv_line(&lr, line.s, ln) : labelled_bed_line(&lr, line.s, ln)) goto done;
    }
    if (bg && r < -1) { hd_set_error(HD_EINPUT, "%s: read error after line %ld", lr.disp, ln); goto done; }
    if (lr.n_dup > 5)
        hd_log(HD_LOG_WARN, "%s: %ld repeated intervals in all were skipped", lr.disp, lr.n_dup);
    if (!out->n) { hd_set_error(HD_EINPUT, "%s: no labelled records", lr.disp); goto done; }
    ret = hd_lset_check_classes(out, lr.disp);
done:
    free(line.s);
    if (bg) bgzf_close(bg);
    if (lr.seen) {
        for (khint_t k = kh_begin(lr.seen); k != kh_end(lr.seen); k++)
            if (kh_exist(lr.seen, k)) free((char *)kh_key(lr.seen, k));
        kh_destroy(hd_lseen, lr.seen);
    }
    hd_contigs_free(lr.dict);
    if (lr.fai) fai_destroy(lr.fai);
    return ret;
}

/* ================================================================== query sources */

int hd_query_is_bed(const char *path, int ref_given)
{
    if (hd_bed_named(path)) return 1;
    if (!ref_given || !strcmp(path, "-")) return 0;
    BGZF *bg = bgzf_open(path, "r");
    if (!bg) return 0;
    int c;
    while ((c = bgzf_peek(bg)) == ' ' || c == '\n' || c == '\r' || c == '\t') bgzf_getc(bg);
    bgzf_close(bg);
    return c >= 0 && c != '>';
}

struct hd_qreader {
    hd_qspec sp;
    hd_fasta *fa;
    hd_bed *bed;
    faidx_t *fai;
    const char *refpath;
    hd_contigs *dict;
    int regional, done;
    /* the current sequence being cut into windows */
    char *owned;            /* fetched sequence (BED / region) */
    const char *seq;
    size_t len;
    char *chrom;            /* chrom of the current sequence, or NULL */
    char *rname;            /* record name (FASTA) */
    char *label;
    int64_t off;            /* coordinate of seq[0] on chrom ('+'), of the end of seq ('-') */
    char strand;            /* of the current interval: '-' (seq is the reverse complement, bed.h) or '.' */
    size_t iwin, nwin;      /* next window, windows of the sequence */
    int have;
    kstring_t name;
};

hd_qreader *hd_qreader_open(const hd_qspec *spec)
{
    hd_qreader *q = calloc(1, sizeof *q);
    if (!q) { hd_set_oom(NULL); return NULL; }
    q->sp = *spec;
    if (spec->window > 0 && spec->stride <= 0) q->sp.stride = spec->window;
    if (spec->region || spec->bed) {
        q->refpath = spec->region && spec->path ? spec->path : spec->ref;
        if (!q->refpath) {
            hd_set_error(HD_EINPUT, "%s queries need the reference FASTA (-f)", spec->region ? "region" : "BED");
            goto fail;
        }
        if (!(q->fai = hd_faidx_open(q->refpath)) || !(q->dict = hd_contigs_from_fai(q->fai, q->refpath))) goto fail;
        q->regional = 1;
        if (spec->bed && !(q->bed = hd_bed_open(spec->path, 0))) goto fail;
    } else {
        if (!(q->fa = hd_fasta_open(spec->path))) goto fail;
        q->regional = spec->window > 0;
    }
    return q;
fail:
    hd_qreader_close(q);
    return NULL;
}

int hd_qreader_regional(const hd_qreader *q) { return q->regional; }

void hd_qreader_close(hd_qreader *q)
{
    if (!q) return;
    hd_fasta_close(q->fa);
    hd_bed_close(q->bed);
    hd_contigs_free(q->dict);
    if (q->fai) fai_destroy(q->fai);
    free(q->owned);
    free(q->chrom);
    free(q->rname);
    free(q->label);
    free(q->name.s);
    free(q);
}

static int set_str(char **dst, const char *s)
{
    free(*dst);
    *dst = NULL;
    return s && !(*dst = hd_strdup(s)) ? -1 : 0;
}

/* the interval [beg, end) of chrom as the current sequence */
static int load_interval(hd_qreader *q, const char *chrom, int64_t beg, int64_t end, char strand, const char *label)
{
    int minus = strand == '-';
    if (!(q->owned = hd_faidx_fetch_strand(q->fai, q->refpath, chrom, beg, end, strand))) return -1;
    long b = bad_base(q->owned, (size_t)(end - beg));
    if (b >= 0) {
        hd_set_bases_error(q->refpath, NULL, chrom, q->owned[b], (size_t)(minus ? end - 1 - b : beg + b));
        return -1;
    }
    if (set_str(&q->chrom, chrom) || set_str(&q->rname, chrom) || set_str(&q->label, label)) return -1;
    q->seq = q->owned;
    q->len = (size_t)(end - beg);
    q->off = minus ? end : beg;
    q->strand = minus ? '-' : strand == '+' ? '+' : '.';
    return 1;
}

/* load the next whole sequence to cut: 1, 0 at the end, -1 error */
static int load_next(hd_qreader *q)
{
    free(q->owned);
    q->owned = NULL;
    if (q->fa) {
        hd_seqrec rec;
        int r = hd_fasta_next(q->fa, &rec);
        if (r <= 0) return r;
        char lab[1024];
        int lr = hd_header_label(rec.comment, lab, sizeof lab);
        if (lr < 0) {
            header_label_error(hd_fasta_name(q->fa), rec.name, lr);
            return -1;
        }
        if (set_str(&q->rname, rec.name) || set_str(&q->label, lr ? lab : NULL) ||
            set_str(&q->chrom, q->sp.window > 0 ? rec.name : NULL))
            return -1;
        long b = bad_base(rec.seq, rec.len);   /* every method, k-mers too (hyenadna-classify(1)) */
        if (b >= 0) {
            hd_set_bases_error(hd_fasta_name(q->fa), NULL, rec.name, rec.seq[b], (size_t)b);
            return -1;
        }
        q->seq = rec.seq;
        q->len = rec.len;
        q->off = 0;
        q->strand = '.';
        return 1;
    }
    if (q->sp.region) {
        if (q->done) return 0;
        q->done = 1;
        hd_region reg;
        if (hd_region_parse(q->sp.region, q->dict, &reg)) {
            char *e = hd_sprintf("option -r: %s", hd_error());
            if (e) hd_set_error(HD_EINPUT, "%s", e);
            free(e);
            return -1;
        }
        int r = load_interval(q, reg.chrom, reg.beg, reg.end, '.', NULL);
        free(reg.chrom);
        return r;
    }
    hd_bedrec b;
    int r = hd_bed_next(q->bed, &b);
    if (r <= 0) return r;
    char *what = hd_sprintf("%s:%lld-%lld (%s line %ld)", b.chrom, (long long)b.beg + 1, (long long)b.end,
                            hd_bed_name(q->bed), b.line);
    int bad = !what || hd_contigs_check(q->dict, b.chrom, b.beg, b.end, what) < 0;
    free(what);
    if (bad) return -1;
    return load_interval(q, b.chrom, b.beg, b.end, b.strand, b.name && *b.name ? b.name : NULL);
}

int hd_qreader_next(hd_qreader *q, hd_query *out)
{
    for (;;) {
        if (!q->have || q->iwin >= q->nwin) {
            q->have = 0;
            int r = load_next(q);
            if (r <= 0) return r;
            q->have = 1;
            q->iwin = 0;
            q->nwin = q->sp.window > 0 ? hd_window_count((int64_t)q->len, q->sp.window, q->sp.stride) : 1;
        }
        int64_t beg = 0, end = (int64_t)q->len;
        if (q->sp.window > 0) hd_window_get((int64_t)q->len, q->sp.window, q->sp.stride, q->iwin, &beg, &end);
        q->iwin++;
        out->seq = q->seq + beg;
        out->len = (size_t)(end - beg);
        out->label = q->label;
        out->chrom = q->chrom;
        out->strand = q->strand;
        /* the window [beg, end) of a minus-strand interval's bases is [off - end, off - beg) on chrom */
        out->beg = q->strand == '-' ? q->off - end : q->off + beg;
        out->end = q->strand == '-' ? q->off - beg : q->off + end;
        if (q->chrom && (q->sp.window > 0 || q->regional)) {
            q->name.l = 0;
            if (ksprintf(&q->name, "%s:%lld-%lld%s", q->chrom, (long long)out->beg + 1, (long long)out->end,
                         q->strand == '-' ? "(-)" : "") < 0) {
                hd_set_oom(NULL);
                return -1;
            }
            out->name = q->name.s;
        } else {
            out->name = q->rname;
        }
        return 1;
    }
}
