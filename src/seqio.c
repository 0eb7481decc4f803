/* seqio.c -- FASTA/FASTQ reading through htslib's kseq (plain, gzip, bgzip, stdin). */
#include "seqio.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <htslib/kseq.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

KSEQ_INIT(gzFile, gzread)

struct hd_fasta {
    char *path;
    gzFile fp;
    kseq_t *ks;
    long n;
};

hd_fasta *hd_fasta_open(const char *path)
{
    hd_fasta *f = calloc(1, sizeof *f);
    if (!f) { hd_set_error(HD_EMODEL, "out of memory"); return NULL; }
    f->path = strdup(path);
    f->fp = strcmp(path, "-") ? gzopen(path, "rb") : gzdopen(dup(STDIN_FILENO), "rb");
    if (!f->fp) {
        hd_set_error(HD_EINPUT, "cannot open '%s': %s", path, errno ? strerror(errno) : "unknown error");
        free(f->path);
        free(f);
        return NULL;
    }
    /* kseq silently skips whatever precedes the first header: refuse text that is not FASTA/FASTQ */
    int c;
    while ((c = gzgetc(f->fp)) == ' ' || c == '\t' || c == '\r' || c == '\n') {}
    if (c != -1 && c != '>' && c != '@') {
        hd_set_error(HD_EINPUT, "'%s' is not FASTA or FASTQ: the first record does not start with '>' or '@'", path);
        gzclose(f->fp);
        free(f->path);
        free(f);
        return NULL;
    }
    if (c != -1) gzungetc(c, f->fp);
    f->ks = kseq_init(f->fp);
    return f;
}

int hd_fasta_next(hd_fasta *f, hd_seqrec *rec)
{
    int r = kseq_read(f->ks);
    if (r == -1) return 0;
    if (r < -1) {
        const char *why = r == -2 ? "truncated quality string" : r == -3 ? "read error" : "malformed record";
        hd_set_error(HD_EINPUT, "%s: %s after record %ld", f->path, why, f->n);
        return -1;
    }
    kstring_t *s = &f->ks->seq, *nm = &f->ks->name, *cm = &f->ks->comment;
    hd_seq_tidy(s, nm, cm);
    if (!nm->l) {
        hd_set_error(HD_EINPUT, "%s: record %ld has an empty name", f->path, f->n + 1);
        return -1;
    }
    if (!s->l) {
        hd_set_error(HD_EINPUT, "%s: record %ld (%s) has an empty sequence", f->path, f->n + 1, nm->s);
        return -1;
    }
    rec->name = nm->s;
    rec->comment = cm->l ? cm->s : "";
    rec->seq = s->s ? s->s : "";
    rec->len = s->l;
    rec->index = f->n++;
    return 1;
}

void hd_seq_tidy(kstring_t *s, kstring_t *nm, kstring_t *cm)
{
    size_t k = 0;
    for (size_t i = 0; i < s->l; i++)
        if (s->s[i] != '\r' && s->s[i] != ' ' && s->s[i] != '\t') s->s[k++] = s->s[i];
    s->l = k;
    if (s->s) s->s[k] = 0;
    while (nm->l && nm->s[nm->l - 1] == '\r') nm->s[--nm->l] = 0;
    while (cm && cm->l && cm->s[cm->l - 1] == '\r') cm->s[--cm->l] = 0;
}

void hd_fasta_close(hd_fasta *f)
{
    if (!f) return;
    kseq_destroy(f->ks);
    gzclose(f->fp);
    free(f->path);
    free(f);
}
