/* embed_run.c -- the run of `hyenadna embed`: units -> windows -> batches -> writer (see embed_run.h). */
#include "embed_run.h"
#include "tokenizer.h"
#include "util.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *name, *chrom;
    int64_t start, end;
    char strand;
    char *seq;
    size_t len;
    float *out;
} job;

struct hd_embed_run {
    job *v;
    size_t n, m, bases;
    size_t max_n, max_bases;
    hd_embedder *emb;
    hd_emb_writer *w;
    int width;
    hd_pool pool;
    hd_embed_windows wo;
    long n_split;
    uint64_t done, done_bases;
    void (*on_batch)(void *, uint64_t, uint64_t);
    void *ud;
    /* --shard: the output rows [lo, hi) of all rows numbered in output order; idx is the next row's number */
    int sharded, is_last;  /* is_last: this is shard N/N */
    uint64_t idx, lo, hi;
};

uint64_t hd_embed_unit_rows(const hd_embed_windows *wo, int64_t len)
{
    if (len <= 0) return 0;
    if (wo->window) return hd_window_count(len, wo->window, wo->stride);
    if (wo->max_len > 0 && len > wo->max_len && !wo->no_split) return hd_window_count(len, wo->max_len, wo->max_len);
    return 1;   /* with --no-split a too long unit is one row: its error comes when it is reached */
}

/* the counting pass reads the records silently: the embedding pass warns */
static void no_warning(void *ud, hd_fasta *f, const hd_seqrec *rec, int why) { (void)ud, (void)f, (void)rec, (void)why; }

int hd_embed_count_rows(const char *in, const char *reference, const hd_regions *regs, int regions_of_fai,
                        const hd_read_filter *rf, const hd_embed_windows *w, uint64_t *total)
{
    *total = 0;
    if (regions_of_fai) {
        for (size_t i = 0; i < regs->n; i++) *total += hd_embed_unit_rows(w, regs->v[i].end - regs->v[i].beg);
        return 0;
    }
    hd_seqin *cnt = hd_seqin_open(in, reference);
    if (!cnt) return -1;
    int r = 0;
    if (hd_seqin_is_alignment(cnt)) {
        if (regs && hd_seqin_set_regions(cnt, regs)) r = -1;
        hd_seqin_set_filter(cnt, rf);
    } else {
        hd_fasta_set_skip_hook(hd_seqin_fasta(cnt), no_warning, NULL);
    }
    hd_sequnit u;
    while (!r && (r = hd_seqin_next(cnt, &u)) > 0) {
        *total += hd_embed_unit_rows(w, (int64_t)u.len);
        r = 0;
    }
    hd_seqin_close(cnt);
    return r < 0 ? -1 : 0;
}

hd_embed_run *hd_embed_run_new(hd_embedder *emb, hd_emb_writer *w, hd_pool pool, size_t max_n, size_t max_bases,
                               const hd_embed_windows *wo)
{
    hd_embed_run *r = calloc(1, sizeof *r);
    if (!r) { hd_set_oom(NULL); return NULL; }
    *r = (hd_embed_run){.max_n = max_n ? max_n : 1, .max_bases = max_bases ? max_bases : 1, .emb = emb, .w = w,
                        .width = hd_embedder_width(emb), .pool = pool, .wo = *wo};
    return r;
}

static void job_free(job *j)
{
    free(j->name); free(j->chrom); free(j->seq); hd_free(j->out);
    memset(j, 0, sizeof *j);
}

void hd_embed_run_free(hd_embed_run *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) job_free(&r->v[i]);
    free(r->v);
    free(r);
}

void hd_embed_run_set_shard(hd_embed_run *r, uint64_t lo, uint64_t hi, int last)
{
    r->sharded = 1;
    r->lo = lo;
    r->hi = hi;
    r->is_last = last;
}

int hd_embed_run_done(const hd_embed_run *r) { return r->sharded && r->idx >= r->hi && !r->is_last; }
uint64_t hd_embed_run_sequences(const hd_embed_run *r) { return r->done; }
uint64_t hd_embed_run_bases(const hd_embed_run *r) { return r->done_bases; }
long hd_embed_run_n_split(const hd_embed_run *r) { return r->n_split; }

void hd_embed_run_on_batch(hd_embed_run *r, void (*fn)(void *, uint64_t, uint64_t), void *ud)
{
    r->on_batch = fn;
    r->ud = ud;
}

/* The windows of a unit of len bases (window w, stride s): 0 when it is one row. */
static int unit_windows(const hd_embed_windows *wo, int64_t len, int64_t *w, int64_t *s)
{
    if (wo->window) {
        *w = wo->window, *s = wo->stride;
        return 1;
    }
    if (wo->max_len > 0 && len > wo->max_len && !wo->no_split) {
        *w = *s = wo->max_len;
        return 1;
    }
    return 0;
}

/* The name and coordinates of the window [wb, we) of a unit's bases (embed_run.h: window names). */
static char *window_name(const hd_sequnit *u, int is_read, int64_t wb, int64_t we, int64_t *start, int64_t *end)
{
    if (is_read) {
        /* named as the window of a FASTA/FASTQ record of the read's name is (braced when QNAME holds a colon,
         * as Illumina names do), so that a BAM and the FASTQ of its reads give the same names; the coordinates
         * stay the read's alignment span */
        *start = u->start, *end = u->end;
        return hd_region_str(u->name, wb, we);
    }
    if (u->strand == '-') {
        /* a minus-strand interval (its reverse complement, bed.h): the window [wb, we) of its bases is
         * [end - we, end - wb) of the reference */
        *start = u->end - we, *end = u->end - wb;
        return hd_region_str_strand(u->chrom, *start, *end, '-');
    }
    *start = u->start + wb, *end = u->start + we;
    return hd_region_str(u->chrom, *start, *end);
}

/* --shard: the names of a unit's rows that lie before this shard's block (rows first.. of the whole run) take
 * their places among the names met, so that a name met again in the block gets the suffix (_2, ...) that it
 * gets in the single run. */
static int reserve_before(hd_embed_run *r, const hd_sequnit *u, int is_read, uint64_t first, uint64_t nrows)
{
    if (!r->sharded || first >= r->lo || !nrows) return 0;
    int64_t w, s;
    if (!unit_windows(&r->wo, (int64_t)u->len, &w, &s)) return hd_emb_writer_reserve(r->w, u->name);
    for (uint64_t i = 0; i < nrows && first + i < r->lo; i++) {
        int64_t wb, we, b, e;
        hd_window_get((int64_t)u->len, w, s, (size_t)i, &wb, &we);
        char *nm = window_name(u, is_read, wb, we, &b, &e);
        int rc = nm ? hd_emb_writer_reserve(r->w, nm) : -1;
        free(nm);
        if (rc) {
            hd_set_oom(NULL);
            return -1;
        }
    }
    return 0;
}

int hd_embed_run_skip(hd_embed_run *r, const hd_sequnit *u, int is_read)
{
    uint64_t rows = hd_embed_unit_rows(&r->wo, (int64_t)u->len);
    if (!r->sharded || !rows || (r->idx + rows > r->lo && r->idx < r->hi)) return 0;
    if (reserve_before(r, u, is_read, r->idx, rows)) return -1;
    r->idx += rows;
    return 1;
}

/* does this shard report a unit without rows met when the next row is row `first`? */
static int reports_empty(const hd_embed_run *r, uint64_t first)
{
    return !r->sharded || (first >= r->lo && (first < r->hi || r->is_last));
}

void hd_embed_run_skip_hook(void *run, hd_fasta *f, const hd_seqrec *rec, int why)
{
    if (reports_empty(run, ((hd_embed_run *)run)->idx)) hd_fasta_skip_warn(f, rec, why);
}

int hd_embed_run_flush(hd_embed_run *r)
{
    if (!r->n) return 0;
    hd_embed_job *ej = malloc(r->n * sizeof *ej);
    if (!ej) { hd_set_oom(NULL); return -1; }
    for (size_t i = 0; i < r->n; i++) ej[i] = (hd_embed_job){r->v[i].seq, r->v[i].len, r->v[i].name, r->v[i].out};
    int rc = hd_embedder_run_batch(r->emb, ej, r->n);
    free(ej);
    for (size_t i = 0; i < r->n && !rc; i++) {
        job *j = &r->v[i];
        rc = hd_emb_writer_add(r->w, j->name, j->chrom, j->start, j->end, j->strand, j->out,
                               r->pool == HD_POOL_NONE ? j->len : 1);
        if (rc && hd_error_kind() == HD_EINPUT) {   /* a name the output cannot hold: say which input */
            char *msg = hd_strdup(hd_error());
            if (msg) hd_set_error(HD_EINPUT, "%s: %s", r->wo.input, msg);
            free(msg);
        }
        r->done++;
        r->done_bases += j->len;
    }
    for (size_t i = 0; i < r->n; i++) job_free(&r->v[i]);
    r->n = 0;
    r->bases = 0;
    if (r->on_batch) r->on_batch(r->ud, r->done, r->done_bases);
    return rc;
}

/* queue one sequence (the bases are copied; name is taken over) */
static int add_job(hd_embed_run *r, char *name, const char *chrom, int64_t start, int64_t end, char strand,
                   const char *seq, size_t len)
{
    if (!name) return -1;
    if (r->n == r->m) {
        size_t m = r->m ? 2 * r->m : 64;
        job *v = realloc(r->v, m * sizeof *v);
        if (!v) { free(name); hd_set_oom(NULL); return -1; }
        r->v = v;
        r->m = m;
    }
    job *j = &r->v[r->n];
    memset(j, 0, sizeof *j);
    j->name = name;
    j->chrom = hd_strdup(chrom);
    j->start = start;
    j->end = end;
    j->strand = strand;
    j->seq = malloc(len + 1);
    j->len = len;
    size_t rows = r->pool == HD_POOL_NONE ? len : 1, bytes;
    if (hd_mul(rows, (size_t)r->width * sizeof(float), &bytes)) bytes = SIZE_MAX;
    int oom = bytes == SIZE_MAX || !j->chrom || !j->seq;
    j->out = oom ? NULL : hd_alloc(bytes, "the embeddings");   /* hd_alloc says how much it needed */
    if (oom || !j->out) {
        job_free(j);
        if (oom) hd_set_oom("the embeddings");
        return -1;
    }
    memcpy(j->seq, seq, len);
    j->seq[len] = 0;
    r->n++;
    r->bases += len;
    if (r->n >= r->max_n || r->bases >= r->max_bases) return hd_embed_run_flush(r);
    return 0;
}

int hd_embed_run_add(hd_embed_run *r, const hd_sequnit *u, int is_read)
{
    const hd_embed_windows *wo = &r->wo;
    uint64_t first = r->idx, nrows = hd_embed_unit_rows(wo, (int64_t)u->len);
    r->idx += nrows;
    if (reserve_before(r, u, is_read, first, nrows)) return -1;
    /* outside this shard; a unit without rows is reported by the shard holding the row after it */
    if (r->sharded && (nrows ? first + nrows <= r->lo || first >= r->hi : !reports_empty(r, first))) return 0;
    if (u->len == 0) return 0;   /* the readers skip empty sequences themselves */
    size_t bad = hd_bases_check(u->seq, u->len);   /* one message for every command (tokenizer.h) */
    if (bad < u->len) {
        if (!strcmp(wo->kind, "region"))   /* named by the record and its position, as when embedded whole */
            hd_set_bases_error(wo->input, NULL, u->chrom, u->seq[bad],
                               u->strand == '-' ? (size_t)u->end - 1 - bad : (size_t)u->start + bad);
        else
            hd_set_bases_error(wo->input, wo->kind, u->name, u->seq[bad], bad);
        return -1;
    }
    int64_t len = (int64_t)u->len, w = 0, s = 0;
    int windowed = unit_windows(wo, len, &w, &s);
    if (!wo->window && wo->max_len > 0 && len > wo->max_len) {
        if (wo->no_split) {
            hd_set_error(HD_EINPUT, "%s '%s' of %s: %" PRId64 " bases exceed the model's maximum length of %ld (--no-split)",
                         wo->kind, u->name, wo->input, len, wo->max_len);
            return -1;
        }
        if (r->n_split++ < 5)
            hd_log(HD_LOG_WARN, "%s '%s' of %s: %" PRId64 " bases exceed the model's maximum length of %ld: embedding "
                   "windows of %ld bases", wo->kind, u->name, wo->input, len, wo->max_len, wo->max_len);
    }
    if (!windowed) {
        if (r->sharded && (first < r->lo || first >= r->hi)) return 0;
        return add_job(r, hd_strdup(u->name), u->chrom, u->start, u->end, u->strand, u->seq, u->len);
    }
    size_t nw = hd_window_count(len, w, s);
    for (size_t i = 0; i < nw; i++) {
        if (r->sharded && (first + i < r->lo || first + i >= r->hi)) continue;
        int64_t wb, we, b, e;
        hd_window_get(len, w, s, i, &wb, &we);
        char *nm = window_name(u, is_read, wb, we, &b, &e);
        int rc = add_job(r, nm, u->chrom, b, e, u->strand, u->seq + wb, (size_t)(we - wb));
        if (rc) return -1;
    }
    return 0;
}
