/* seqio.c -- the FASTA/FASTQ reader (the rules are in seqio.h). */
#include "seqio.h"
#include "input.h"
#include "util.h"

#include <ctype.h>
#include <htslib/bgzf.h>
#include <htslib/khash.h>
#include <htslib/kseq.h>
#include <stdlib.h>
#include <string.h>

/* kseq over BGZF: plain, gzip and bgzip alike, from any hFILE (stdin included).  htslib's kseq takes a
 * negative count for data and loops for ever on it: a read error (truncated or corrupt compressed data) ends
 * the stream instead, and hd_fasta_next reports it from the BGZF error code. */
static int bgzf_read_int(BGZF *fp, void *buf, int n)
{
    ssize_t r = bgzf_read(fp, buf, (size_t)n);
    return r < 0 ? 0 : (int)r;
}
KSEQ_INIT(BGZF *, bgzf_read_int)

KHASH_MAP_INIT_STR(hd_seen, long)

#define HD_SKIP_SHOWN 5   /* skipped records warned about one by one, per kind */

struct hd_fasta {
    char *path;
    const char *disp;          /* path or "standard input" */
    BGZF *bg;
    kseq_t *ks;
    khash_t(hd_seen) *seen;    /* names met so far -> record number */
    long n;                    /* records read, skipped ones included */
    long skipped[HD_SKIP_NKINDS], warned[HD_SKIP_NKINDS];
    int at_end;
    hd_fasta_skip_fn hook;
    void *hook_ud;
};

static void fasta_free(hd_fasta *f)
{
    if (f->ks) kseq_destroy(f->ks);
    if (f->bg) bgzf_close(f->bg);
    if (f->seen) {
        for (khint_t k = kh_begin(f->seen); k != kh_end(f->seen); k++)
            if (kh_exist(f->seen, k)) free((char *)kh_key(f->seen, k));
        kh_destroy(hd_seen, f->seen);
    }
    free(f->path);
    free(f);
}

hd_fasta *hd_fasta_open(const char *path)
{
    hFILE *hf = hd_input_hopen(path);
    return hf ? hd_fasta_hopen(hf, path) : NULL;
}

hd_fasta *hd_fasta_hopen(hFILE *hf, const char *path)
{
    if (hd_input_refuse_alignment(hf, path, HD_WANT_SEQS)) {
        hclose_abruptly(hf);
        return NULL;
    }
    BGZF *bg = bgzf_hopen(hf, "r");
    if (!bg) {
        hclose_abruptly(hf);
        hd_set_error(HD_EINPUT, "cannot read '%s'", hd_input_name(path));
        return NULL;
    }
    return hd_fasta_bgzf(bg, path);
}

hd_fasta *hd_fasta_bgzf(BGZF *bg, const char *path)
{
    hd_fasta *f = calloc(1, sizeof *f);
    if (!f || !(f->path = hd_strdup(path))) {
        free(f);
        bgzf_close(bg);
        hd_set_oom(NULL);
        return NULL;
    }
    f->disp = hd_input_name(f->path);
    f->bg = bg;
    /* kseq silently skips whatever precedes the first header: refuse an input that is not FASTA/FASTQ.  A UTF-8
     * byte-order mark (written by some Windows editors) is no part of the text: skipped. */
    int c = bgzf_peek(f->bg);
    if (c == 0xef && f->bg->block_length - f->bg->block_offset >= 3 &&
        !memcmp((const char *)f->bg->uncompressed_block + f->bg->block_offset, "\xef\xbb\xbf", 3))
        for (int i = 0; i < 3; i++) bgzf_getc(f->bg);
    while ((c = bgzf_peek(f->bg)) == ' ' || c == '\t' || c == '\r' || c == '\n') bgzf_getc(f->bg);
    if (c < -1) {
        hd_set_error(HD_EINPUT, "%s: read error (corrupt compressed data?)", f->disp);
        goto fail;
    }
    if (c != -1 && c != '>' && c != '@') {
        hd_set_error(HD_EINPUT, "%s: not FASTA or FASTQ: the first record does not start with '>' or '@'", f->disp);
        goto fail;
    }
    if (!(f->ks = kseq_init(f->bg)) || !(f->seen = kh_init(hd_seen))) {
        hd_set_oom(NULL);
        goto fail;
    }
    return f;
fail:
    fasta_free(f);
    return NULL;
}

void hd_fasta_close(hd_fasta *f)
{
    if (f) fasta_free(f);
}

const char *hd_fasta_name(const hd_fasta *f) { return f->disp; }
long hd_fasta_n_skipped(const hd_fasta *f, int why) { return why >= 0 && why < HD_SKIP_NKINDS ? f->skipped[why] : 0; }

void hd_fasta_set_skip_hook(hd_fasta *f, hd_fasta_skip_fn fn, void *ud)
{
    f->hook = fn;
    f->hook_ud = ud;
}

void hd_fasta_skip_warn(hd_fasta *f, const hd_seqrec *rec, int why)
{
    if (f->warned[why]++ >= HD_SKIP_SHOWN) return;
    if (why == HD_SKIP_EMPTY) {
        hd_log(HD_LOG_WARN, "record '%s' of %s is empty: skipped", rec->name, f->disp);
    } else {
        khint_t k = kh_get(hd_seen, f->seen, rec->name);
        hd_log(HD_LOG_WARN, "record '%s' of %s: the name was used by record number %ld before: skipped (the first record of "
               "a name is used)", rec->name, f->disp, k != kh_end(f->seen) ? kh_val(f->seen, k) + 1 : 0L);
    }
}

/* the counts of the skipped records beyond those warned about one by one */
static void skip_summary(hd_fasta *f)
{
    static const char *what[HD_SKIP_NKINDS] = {"empty records", "records with a name used before"};
    for (int k = 0; k < HD_SKIP_NKINDS; k++)
        if (f->warned[k] > HD_SKIP_SHOWN)
            hd_log(HD_LOG_WARN, "%ld %s of %s in all were skipped", f->warned[k], what[k], f->disp);
}

/* Windows line endings and whitespace inside the sequence; a name after spaces ("> chr1 desc") */
static int tidy(kseq_t *ks)
{
    kstring_t *s = &ks->seq, *nm = &ks->name, *cm = &ks->comment;
    size_t k = 0;
    for (size_t i = 0; i < s->l; i++)
        if (s->s[i] != '\r' && s->s[i] != ' ' && s->s[i] != '\t') s->s[k++] = s->s[i];
    s->l = k;
    if (s->s) s->s[k] = 0;
    while (nm->l && nm->s[nm->l - 1] == '\r') nm->s[--nm->l] = 0;
    while (cm->l && (cm->s[cm->l - 1] == '\r' || cm->s[cm->l - 1] == ' ' || cm->s[cm->l - 1] == '\t'))
        cm->s[--cm->l] = 0;
    if (!nm->l && cm->l) {
        /* the name is the first word of the comment, the comment the rest after its spaces */
        size_t b = 0;
        while (b < cm->l && isspace((unsigned char)cm->s[b])) b++;
        size_t e = b;
        while (e < cm->l && !isspace((unsigned char)cm->s[e])) e++;
        if (kputsn(cm->s + b, e - b, nm) < 0) return -1;
        while (e < cm->l && isspace((unsigned char)cm->s[e])) e++;
        memmove(cm->s, cm->s + e, cm->l - e + 1);
        cm->l -= e;
    } else {
        size_t b = 0;
        while (b < cm->l && isspace((unsigned char)cm->s[b])) b++;
        if (b) {
            memmove(cm->s, cm->s + b, cm->l - b + 1);
            cm->l -= b;
        }
    }
    return 0;
}

/* The character starting the next record's header, read when kseq has not read it yet (before the first record
 * and after a FASTQ record; kseq would skip any text up to the next '>' or '@', even one inside a quality
 * line): '>' or '@' after blank lines, 0 at the end of the input, -1 with the error for anything else. */
static int next_header(hd_fasta *f)
{
    kseq_t *ks = f->ks;
    int c;
    while ((c = ks_getc(ks->f)) == '\n' || c == '\r' || c == ' ' || c == '\t') {}
    if (c == -1) return 0;
    if (c == '>' || c == '@') return ks->last_char = c;
    if (f->n)
        hd_set_error(HD_EINPUT, "%s: a line starting with '%c' after record number %ld ('%s'), where the header of the "
                     "next record ('@' or '>') was expected: a FASTQ record with more lines than its sequence and "
                     "quality?", f->disp, c, f->n, ks->name.s);
    else
        hd_set_error(HD_EINPUT, "%s: not FASTA or FASTQ: the first record does not start with '>' or '@'", f->disp);
    return -1;
}

/* the record read is cut short, or the end was not the end of the file */
static int read_error(hd_fasta *f)
{
    hd_set_error(HD_EINPUT, "%s: read error in record number %ld (truncated or corrupt compressed data?)", f->disp,
                 f->n + 1);
    return -1;
}

int hd_fasta_next(hd_fasta *f, hd_seqrec *rec)
{
    for (;;) {
        if (f->at_end) return 0;
        int hdr = f->ks->last_char;
        if (!hdr) {
            hdr = next_header(f);
            if (f->bg->errcode) return read_error(f);
            if (hdr < 0) return -1;
            if (!hdr) {
                skip_summary(f);
                f->at_end = 1;
                return 0;
            }
        }
        /* the header character read, and the input not known to end after it (else a '>' or '@' that ends it) */
        int open_header = !ks_eof(f->ks->f);
        int r = kseq_read(f->ks);
        if (f->bg->errcode) return read_error(f);
        if (r == -1) {
            if (open_header) {
                hd_set_error(HD_EINPUT, "%s: the input ends with a '%c' and no record name after record number %ld "
                             "(cut short?)", f->disp, hdr, f->n);
                return -1;
            }
            skip_summary(f);
            f->at_end = 1;
            return 0;
        }
        if (r == -2) {
            /* kseq reads quality lines until they hold as many characters as the bases: a longer quality line,
             * or one cut short (then followed by the next record's lines, or the end of the input) */
            hd_set_error(HD_EINPUT, "%s: record '%s' (record number %ld): the quality string does not have the "
                         "length of the sequence (%zu bases): cut short, or longer than the sequence",
                         f->disp, f->ks->name.s, f->n + 1, f->ks->seq.l);
            return -1;
        }
        if (r < -1) {
            const char *why = r == -3 ? "read error" : "malformed record";
            if (f->n) hd_set_error(HD_EINPUT, "%s: %s in record '%s' (record number %ld)", f->disp, why, f->ks->name.s, f->n + 1);
            else hd_set_error(HD_EINPUT, "%s: %s in the first record", f->disp, why);
            return -1;
        }
        kseq_t *ks = f->ks;
        if (tidy(ks)) { hd_set_oom(NULL); return -1; }
        long idx = f->n++;
        if (!ks->name.l) {
            hd_set_error(HD_EINPUT, "%s: record number %ld has an empty name", f->disp, idx + 1);
            return -1;
        }
        /* kseq reads a record without a '+' line as FASTA (and leaves last_char set, where a FASTQ record resets
         * it): a FASTQ record ('@') without one is cut short, in its header or sequence line */
        if (hdr == '@' && ks->last_char) {
            hd_set_error(HD_EINPUT, "%s: record '%s' (record number %ld): a FASTQ record ('@') without its '+' line "
                         "and quality string (cut short?)", f->disp, ks->name.s, idx + 1);
            return -1;
        }
        rec->name = ks->name.s;
        rec->comment = ks->comment.l ? ks->comment.s : "";
        rec->seq = ks->seq.s ? ks->seq.s : "";
        rec->len = ks->seq.l;
        rec->index = idx;
        int why = -1;
        khint_t k = kh_get(hd_seen, f->seen, rec->name);
        if (k != kh_end(f->seen)) why = HD_SKIP_DUPLICATE;
        else if (!rec->len) why = HD_SKIP_EMPTY;
        if (why >= 0) {
            f->skipped[why]++;
            if (f->hook) f->hook(f->hook_ud, f, rec, why);
            else hd_fasta_skip_warn(f, rec, why);
            continue;
        }
        char *key = hd_strdup(rec->name);
        int absent;
        if (!key || (k = kh_put(hd_seen, f->seen, key, &absent)) == kh_end(f->seen) || absent < 0) {
            free(key);
            hd_set_oom("the record names");
            return -1;
        }
        kh_val(f->seen, k) = idx;
        return 1;
    }
}
