/* classify.c -- labelled inputs, features, in-context scoring, heads and metrics (see classify.h). */
#define _GNU_SOURCE
#include "classify.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <htslib/faidx.h>
#include <htslib/hts.h>
#include <htslib/kstring.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "model.h"
#include "safetensors.h"
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
    if (!nc) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    s->classes = nc;
    if (!(nc[s->n_classes] = strdup(label))) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    return s->n_classes++;
}

int hd_lset_add(hd_lset *s, const char *name, const char *seq, size_t len, const char *label, const char *chrom,
                int64_t beg, int64_t end)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? 2 * s->cap : 64;
        hd_lseq *v = realloc(s->v, nc * sizeof *v);
        if (!v) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
        s->v = v;
        s->cap = nc;
    }
    hd_lseq *r = &s->v[s->n];
    memset(r, 0, sizeof *r);
    r->label = -1;
    if (label && (r->label = hd_lset_class_add(s, label)) < 0) return -1;
    r->name = strdup(name);
    r->seq = malloc(len + 1);
    r->chrom = chrom ? strdup(chrom) : NULL;
    if (!r->name || !r->seq || (chrom && !r->chrom)) {
        free(r->name); free(r->seq); free(r->chrom);
        hd_set_error(HD_EMODEL, "out of memory");
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

int hd_header_label(const char *comment, char *buf, size_t n)
{
    const char *p = comment;
    while (p && *p) {
        while (*p && isspace((unsigned char)*p)) p++;
        const char *w = p;
        while (*p && !isspace((unsigned char)*p)) p++;
        if ((size_t)(p - w) >= 6 && !strncmp(w, "label=", 6)) {
            size_t l = (size_t)(p - w) - 6;
            if (l == 0 || l >= n) return -1;
            memcpy(buf, w + 6, l);
            buf[l] = 0;
            return 1;
        }
    }
    return 0;
}

/* the first invalid base of seq: its 0-based index, or -1 */
static long bad_base(const char *seq, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (hd_base_id((unsigned char)seq[i]) < 0) return (long)i;
    return -1;
}

static int split_tabs(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        f[n++] = p;
        char *t = strchr(p, '\t');
        if (!t) break;
        *t = 0;
        p = t + 1;
    }
    return n;
}

static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < 0) return -1;
    *out = v;
    return 0;
}

static void chomp(kstring_t *ks)
{
    while (ks->l && (ks->s[ks->l - 1] == '\r' || ks->s[ks->l - 1] == '\n')) ks->s[--ks->l] = 0;
}

/* finish one FASTA record of the labelled reader */
static int fasta_done(hd_lset *out, const char *path, const char *hdr, long hdr_line, kstring_t *seq, long idx)
{
    char name[1024], label[1024];
    size_t k = 0;
    const char *p = hdr;
    while (*p && !isspace((unsigned char)*p) && k < sizeof name - 1) name[k++] = *p++;
    name[k] = 0;
    if (!k) {
        hd_set_error(HD_EINPUT, "%s: record %ld (line %ld) has an empty name", path, idx, hdr_line);
        return -1;
    }
    int r = hd_header_label(p, label, sizeof label);
    if (r == 0) {
        hd_set_error(HD_EINPUT, "%s: record %s (line %ld) has no label=NAME in its header", path, name, hdr_line);
        return -1;
    }
    if (r < 0) {
        hd_set_error(HD_EINPUT, "%s: record %s (line %ld) has an empty or overlong label= in its header", path, name,
                     hdr_line);
        return -1;
    }
    if (!seq->l) {
        hd_set_error(HD_EINPUT, "%s: record %s (line %ld) has an empty sequence", path, name, hdr_line);
        return -1;
    }
    long b = bad_base(seq->s, seq->l);
    if (b >= 0) {
        hd_set_error(HD_EINPUT, "%s: invalid character '%c' in record %s at position %ld", path, seq->s[b], name, b + 1);
        return -1;
    }
    return hd_lset_add(out, name, seq->s, seq->l, label, NULL, 0, 0);
}

int hd_read_labelled(const char *path, const char *ref, hd_lset *out)
{
    htsFile *fp = hts_open(path, "r");
    if (!fp) {
        hd_set_error(HD_EINPUT, "cannot open '%s': %s", path, errno ? strerror(errno) : "unknown error");
        return -1;
    }
    kstring_t line = {0}, seq = {0}, hdr = {0};
    faidx_t *fai = NULL;
    int fmt = 0;   /* 0 unknown, 1 FASTA, 2 TSV, 3 BED */
    long ln = 0, hdr_line = 0, nrec = 0;
    int ret = -1, r;
    while ((r = hts_getline(fp, '\n', &line)) >= 0) {
        ln++;
        chomp(&line);
        if (fmt != 1) {
            if (!line.l || line.s[0] == '#' || !strncmp(line.s, "track", 5) || !strncmp(line.s, "browser", 7))
                continue;
        }
        if (!fmt) {
            if (line.s[0] == '>') fmt = 1;
            else {
                char *tmp = strdup(line.s), *f[5];
                if (!tmp) { hd_set_error(HD_EMODEL, "out of memory"); goto done; }
                int nf = split_tabs(tmp, f, 5);
                int64_t a, b;
                fmt = nf >= 4 && !parse_i64(f[1], &a) && !parse_i64(f[2], &b) ? 3 : 2;
                free(tmp);
                if (fmt == 3) {
                    if (!ref) {
                        hd_set_error(HD_EINPUT, "%s: line %ld is BED (chrom start end label): give the reference "
                                     "FASTA with -f", path, ln);
                        goto done;
                    }
                    if (!(fai = fai_load(ref))) {
                        hd_set_error(HD_EINPUT, "cannot load or index the reference '%s'", ref);
                        goto done;
                    }
                }
                if (fmt == 2 && !strcasecmp(line.s, "label\tsequence")) continue;   /* a header line */
            }
        }
        if (fmt == 1) {
            if (line.l && line.s[0] == '>') {
                if (nrec && fasta_done(out, path, hdr.s, hdr_line, &seq, nrec)) goto done;
                nrec++;
                hdr.l = 0;
                kputs(line.s + 1, &hdr);
                hdr_line = ln;
                seq.l = 0;
                if (!seq.s) kputs("", &seq);
                seq.s[0] = 0;
            } else {
                if (!nrec) {
                    hd_set_error(HD_EINPUT, "%s: line %ld: sequence before the first '>' header", path, ln);
                    goto done;
                }
                for (size_t i = 0; i < line.l; i++)
                    if (!isspace((unsigned char)line.s[i])) kputc(line.s[i], &seq);
            }
            continue;
        }
        char *f[5];
        int nf = split_tabs(line.s, f, 5);
        char name[64];
        if (fmt == 2) {
            if (nf != 2) {
                hd_set_error(HD_EINPUT, "%s: line %ld: expected 2 tab-separated fields (label, sequence), found %d",
                             path, ln, nf);
                goto done;
            }
            size_t n = strlen(f[1]);
            while (n && isspace((unsigned char)f[1][n - 1])) f[1][--n] = 0;
            if (!*f[0]) { hd_set_error(HD_EINPUT, "%s: line %ld: empty label", path, ln); goto done; }
            if (!n) { hd_set_error(HD_EINPUT, "%s: line %ld: empty sequence", path, ln); goto done; }
            long b = bad_base(f[1], n);
            if (b >= 0) {
                hd_set_error(HD_EINPUT, "%s: invalid character '%c' at line %ld, position %ld", path, f[1][b], ln,
                             b + 1);
                goto done;
            }
            snprintf(name, sizeof name, "line%ld", ln);
            if (hd_lset_add(out, name, f[1], n, f[0], NULL, 0, 0)) goto done;
        } else {
            int64_t beg, end;
            if (nf < 4 || parse_i64(f[1], &beg) || parse_i64(f[2], &end) || end <= beg) {
                hd_set_error(HD_EINPUT, "%s: line %ld: expected BED 'chrom start end label' with 0 <= start < end",
                             path, ln);
                goto done;
            }
            if (!*f[3]) { hd_set_error(HD_EINPUT, "%s: line %ld: empty label", path, ln); goto done; }
            if (!faidx_has_seq(fai, f[0])) {
                hd_set_error(HD_EINPUT, "%s: line %ld: sequence '%s' is not in the reference '%s'", path, ln, f[0], ref);
                goto done;
            }
            if (end > (int64_t)faidx_seq_len(fai, f[0])) {
                hd_set_error(HD_EINPUT, "%s: line %ld: end %lld is past the end of %s (%lld bp) in '%s'", path, ln,
                             (long long)end, f[0], (long long)(int64_t)faidx_seq_len(fai, f[0]), ref);
                goto done;
            }
            hts_pos_t len = 0;
            char *s = faidx_fetch_seq64(fai, f[0], beg, end - 1, &len);
            if (!s || len != end - beg) {
                free(s);
                hd_set_error(HD_EINPUT, "%s: line %ld: cannot fetch %s:%lld-%lld from '%s'", path, ln, f[0],
                             (long long)beg + 1, (long long)end, ref);
                goto done;
            }
            long b = bad_base(s, (size_t)len);
            if (b >= 0) {
                hd_set_error(HD_EINPUT, "%s: line %ld: invalid character '%c' in %s at position %lld", path, ln, s[b],
                             f[0], (long long)beg + b + 1);
                free(s);
                goto done;
            }
            char *nm = hd_sprintf("%s:%lld-%lld", f[0], (long long)beg + 1, (long long)end);
            int e = !nm || hd_lset_add(out, nm, s, (size_t)len, f[3], f[0], beg, end);
            free(nm);
            free(s);
            if (e) goto done;
        }
    }
    if (r < -1) { hd_set_error(HD_EINPUT, "%s: read error after line %ld", path, ln); goto done; }
    if (fmt == 1 && nrec && fasta_done(out, path, hdr.s, hdr_line, &seq, nrec)) goto done;
    if (!out->n) { hd_set_error(HD_EINPUT, "%s: no labelled records", path); goto done; }
    ret = hd_lset_check_classes(out, path);
done:
    free(line.s);
    free(seq.s);
    free(hdr.s);
    if (fai) fai_destroy(fai);
    hts_close(fp);
    return ret;
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

/* ================================================================== shots and folds */

size_t hd_pick_shots(const hd_lset *s, const size_t *subset, size_t n_subset, int shots, uint64_t seed, size_t *out,
                     size_t *counts)
{
    hd_rng r;
    hd_rng_init(&r, seed);
    size_t total = 0;
    if (!subset) n_subset = s->n;
    for (int c = 0; c < s->n_classes; c++) {
        size_t k = 0;
        for (size_t j = 0; j < n_subset; j++) {
            size_t i = subset ? subset[j] : j;
            if (s->v[i].label == c) out[total + k++] = i;
        }
        hd_shuffle_idx(&r, out + total, k);
        if (shots > 0 && k > (size_t)shots) k = (size_t)shots;
        counts[c] = k;
        total += k;
    }
    return total;
}

int hd_stratified_folds(const hd_lset *s, int k, uint64_t seed, int *fold)
{
    hd_rng r;
    hd_rng_init(&r, seed ^ 0x6a09e667f3bcc908ULL);
    size_t *idx = malloc((s->n ? s->n : 1) * sizeof *idx);
    if (!idx) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    for (int c = 0; c < s->n_classes; c++) {
        size_t m = 0;
        for (size_t i = 0; i < s->n; i++)
            if (s->v[i].label == c) idx[m++] = i;
        if (m < (size_t)k) {
            hd_set_error(HD_EINPUT, "class '%s' has %zu records, fewer than the %d folds", s->classes[c], m, k);
            free(idx);
            return -1;
        }
        hd_shuffle_idx(&r, idx, m);
        for (size_t j = 0; j < m; j++) fold[idx[j]] = (int)(j % (size_t)k);
    }
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].label < 0) fold[i] = -1;
    free(idx);
    return 0;
}

/* ================================================================== features */

static int base2(int c)
{
    switch (c) {
    case 'A': case 'a': return 0;
    case 'C': case 'c': return 1;
    case 'G': case 'g': return 2;
    case 'T': case 't': return 3;
    default: return -1;
    }
}

size_t hd_kmer_features(const char *seq, size_t n, int k, int rc, float *out)
{
    size_t dim = (size_t)1 << (2 * k), mask = dim - 1, code = 0, total = 0;
    double *cnt = calloc(dim, sizeof *cnt);
    int run = 0;
    for (size_t i = 0; i < n; i++) {
        int b = base2((unsigned char)seq[i]);
        if (b < 0) { run = 0; code = 0; continue; }
        code = ((code << 2) | (size_t)b) & mask;
        if (++run >= k) { cnt[code] += 1; total++; }
    }
    for (size_t i = 0; i < dim; i++) {
        double v = cnt[i];
        if (rc) {
            /* reverse complement of the k-mer code: complement (3 − b) each base, reverse the order */
            size_t x = i, y = 0;
            for (int j = 0; j < k; j++) { y = (y << 2) | (3 - (x & 3)); x >>= 2; }
            v = 0.5 * (cnt[i] + cnt[y]);
        }
        out[i] = total ? (float)(v / (double)total) : 0.0f;
    }
    free(cnt);
    return total;
}


/* ================================================================== in-context scoring */

size_t hd_ctx_join(const int32_t *const *ex, const size_t *len, int n, size_t max_tokens, int32_t *out)
{
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        memcpy(out + k, ex[i], len[i] * sizeof *out);
        k += len[i];
        out[k++] = HD_TOK_SEP;
    }
    if (max_tokens && k > max_tokens) {
        memmove(out, out + (k - max_tokens), max_tokens * sizeof *out);
        k = max_tokens;
    }
    return k;
}

double hd_mean_next_ll(const float *logits, size_t nl, const int32_t *ids, size_t from, size_t L)
{
    if (from < 1) from = 1;
    if (L <= from) return 0.0;
    double sum = 0;
    for (size_t t = from; t < L; t++) {
        const float *row = logits + (t - 1) * nl;
        double mx = row[0], se = 0;
        for (size_t j = 1; j < nl; j++) mx = fmax(mx, row[j]);
        for (size_t j = 0; j < nl; j++) se += exp((double)row[j] - mx);
        sum += (double)row[ids[t]] - mx - log(se);
    }
    return sum / (double)(L - from);
}

int hd_ctx_mean_ll(hd_model *m, hd_backend *be, const int32_t *prompt, size_t np, const int32_t *q, size_t nq,
                   double *mean_ll)
{
    size_t L = np + nq, nl = (size_t)m->n_logits;
    if (!nq) { hd_set_error(HD_EINPUT, "empty query"); return -1; }
    if (m->max_len > 0 && L > (size_t)m->max_len) {
        hd_set_error(HD_EINPUT, "prompt + query of %zu tokens exceed the model's maximum length of %ld", L, m->max_len);
        return -1;
    }
    int32_t *ids = malloc(L * sizeof *ids);
    float *lg = hd_alloc(L * nl * sizeof *lg, "the logits");
    int ret = -1;
    if (!ids || !lg) { if (!ids) hd_set_error(HD_EMODEL, "out of memory"); goto done; }
    if (np) memcpy(ids, prompt, np * sizeof *ids);
    memcpy(ids + np, q, nq * sizeof *ids);
    hd_fwd f = {.logits = lg, .layer = -1};
    if (hd_model_forward(m, be, ids, L, &f)) goto done;
    for (size_t t = 0; t < L; t++)
        if (ids[t] < 0 || (size_t)ids[t] >= nl) { hd_set_error(HD_EINPUT, "token id %d out of range", ids[t]); goto done; }
    *mean_ll = hd_mean_next_ll(lg, nl, ids, np ? np : 1, L);
    ret = 0;
done:
    free(ids);
    hd_free(lg);
    return ret;
}

/* ================================================================== heads */

int hd_clf_method_parse(const char *s, hd_clf_method *out)
{
    static const char *names[] = {"context", "centroid", "knn", "logistic", "kmer"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(s, names[i])) { *out = (hd_clf_method)i; return 0; }
    return -1;
}

const char *hd_clf_method_name(hd_clf_method m)
{
    static const char *names[] = {"context", "centroid", "knn", "logistic", "kmer"};
    return (unsigned)m < 5 ? names[m] : "?";
}

void hd_head_free(hd_head *h)
{
    if (!h) return;
    for (int c = 0; c < h->n_classes; c++) free(h->classes ? h->classes[c] : NULL);
    free(h->classes);
    free(h->centroids);
    free(h->X);
    free(h->y);
    free(h->mu);
    free(h->sd);
    free(h->W);
    free(h->b);
    free(h->model_id);
    free(h->model_path);
    free(h);
}

static hd_head *head_new(hd_clf_method method, int D, int C, char *const *classes)
{
    hd_head *h = calloc(1, sizeof *h);
    if (!h) goto oom;
    h->method = method;
    h->dim = D;
    h->n_classes = C;
    h->kmer = 0;
    if (!(h->classes = calloc((size_t)C, sizeof *h->classes))) goto oom;
    for (int c = 0; c < C; c++)
        if (!(h->classes[c] = strdup(classes[c]))) goto oom;
    return h;
oom:
    hd_head_free(h);
    hd_set_error(HD_EMODEL, "out of memory");
    return NULL;
}

static void softmax_inplace(double *p, int n)
{
    double mx = p[0], s = 0;
    for (int i = 1; i < n; i++) mx = fmax(mx, p[i]);
    for (int i = 0; i < n; i++) s += (p[i] = exp(p[i] - mx));
    for (int i = 0; i < n; i++) p[i] /= s;
}

void hd_softmax(const double *s, int n, double *p)
{
    if (p != s) memcpy(p, s, (size_t)n * sizeof *p);
    softmax_inplace(p, n);
}

double hd_logistic_objective(const double *W, const double *b, const double *Z, const int *y, size_t n, int D, int C,
                             double l2, double *gW, double *gb)
{
    double f = 0, *p = malloc((size_t)C * sizeof *p);
    if (gW) memset(gW, 0, (size_t)C * D * sizeof *gW);
    if (gb) memset(gb, 0, (size_t)C * sizeof *gb);
    for (size_t i = 0; i < n; i++) {
        const double *z = Z + i * (size_t)D;
        for (int c = 0; c < C; c++) {
            double a = b[c];
            const double *w = W + (size_t)c * D;
            for (int d = 0; d < D; d++) a += w[d] * z[d];
            p[c] = a;
        }
        double mx = p[0], se = 0;
        for (int c = 1; c < C; c++) mx = fmax(mx, p[c]);
        for (int c = 0; c < C; c++) se += exp(p[c] - mx);
        f -= p[y[i]] - mx - log(se);
        if (gW) {
            for (int c = 0; c < C; c++) {
                double g = exp(p[c] - mx) / se - (c == y[i]);
                double *gw = gW + (size_t)c * D;
                for (int d = 0; d < D; d++) gw[d] += g * z[d];
                gb[c] += g;
            }
        }
    }
    double reg = 0;
    for (size_t j = 0; j < (size_t)C * D; j++) reg += W[j] * W[j];
    f = f / (double)n + 0.5 * l2 * reg;
    if (gW) {
        for (size_t j = 0; j < (size_t)C * D; j++) gW[j] = gW[j] / (double)n + l2 * W[j];
        for (int c = 0; c < C; c++) gb[c] /= (double)n;
    }
    free(p);
    return f;
}

/* L-BFGS (memory 10) with a backtracking Armijo line search over theta = [W | b]. */
static int fit_logistic(hd_head *h, const double *Z, const int *y, size_t n, const hd_fit_opts *o)
{
    int D = h->dim, C = h->n_classes, M = 10;
    size_t P = (size_t)C * D + C;
    double *x = calloc(P, sizeof *x), *g = calloc(P, sizeof *g), *xn = calloc(P, sizeof *xn),
           *gn = calloc(P, sizeof *gn), *dir = calloc(P, sizeof *dir), *S = calloc((size_t)M * P, sizeof *S),
           *Y = calloc((size_t)M * P, sizeof *Y), rho[10], alpha[10];
    int ret = -1;
    if (!x || !g || !xn || !gn || !dir || !S || !Y) { hd_set_error(HD_EMODEL, "out of memory"); goto done; }
    size_t nW = (size_t)C * D;
    double f = hd_logistic_objective(x, x + nW, Z, y, n, D, C, o->l2, g, g + nW);
    int m = 0, head = 0;
    for (int it = 0; it < o->max_iter; it++) {
        double gmax = 0;
        for (size_t j = 0; j < P; j++) gmax = fmax(gmax, fabs(g[j]));
        if (gmax < o->tol) break;
        /* two-loop recursion: dir = −H·g */
        for (size_t j = 0; j < P; j++) dir[j] = -g[j];
        for (int k = 0; k < m; k++) {
            int i = (head - 1 - k + M) % M;
            double a = 0;
            for (size_t j = 0; j < P; j++) a += S[i * P + j] * dir[j];
            alpha[i] = a * rho[i];
            for (size_t j = 0; j < P; j++) dir[j] -= alpha[i] * Y[i * P + j];
        }
        if (m) {
            int i = (head - 1 + M) % M;
            double sy = 0, yy = 0;
            for (size_t j = 0; j < P; j++) { sy += S[i * P + j] * Y[i * P + j]; yy += Y[i * P + j] * Y[i * P + j]; }
            for (size_t j = 0; j < P; j++) dir[j] *= sy / yy;
        } else {
            double gn2 = 0;
            for (size_t j = 0; j < P; j++) gn2 += g[j] * g[j];
            for (size_t j = 0; j < P; j++) dir[j] /= fmax(1.0, sqrt(gn2));
        }
        for (int k = m - 1; k >= 0; k--) {
            int i = (head - 1 - k + M) % M;
            double bb = 0;
            for (size_t j = 0; j < P; j++) bb += Y[i * P + j] * dir[j];
            bb *= rho[i];
            for (size_t j = 0; j < P; j++) dir[j] += S[i * P + j] * (alpha[i] - bb);
        }
        double gd = 0;
        for (size_t j = 0; j < P; j++) gd += g[j] * dir[j];
        if (gd >= 0) {   /* not a descent direction: restart from the gradient */
            m = 0;
            gd = 0;
            for (size_t j = 0; j < P; j++) { dir[j] = -g[j]; gd -= g[j] * g[j]; }
        }
        double step = 1, fn = f;
        int ok = 0;
        for (int ls = 0; ls < 40; ls++) {
            for (size_t j = 0; j < P; j++) xn[j] = x[j] + step * dir[j];
            fn = hd_logistic_objective(xn, xn + nW, Z, y, n, D, C, o->l2, gn, gn + nW);
            if (fn <= f + 1e-4 * step * gd) { ok = 1; break; }
            step *= 0.5;
        }
        if (!ok) break;   /* no further decrease possible at this precision */
        double sy = 0;
        for (size_t j = 0; j < P; j++) {
            S[head * P + j] = xn[j] - x[j];
            Y[head * P + j] = gn[j] - g[j];
            sy += S[head * P + j] * Y[head * P + j];
        }
        if (sy > 1e-12) {
            rho[head] = 1.0 / sy;
            head = (head + 1) % M;
            if (m < M) m++;
        }
        memcpy(x, xn, P * sizeof *x);
        memcpy(g, gn, P * sizeof *g);
        f = fn;
    }
    /* the head keeps float32-representable parameters, so that a saved head predicts identically */
    for (size_t j = 0; j < nW; j++) h->W[j] = (float)x[j];
    for (int c = 0; c < C; c++) h->b[c] = (float)x[nW + c];
    ret = 0;
done:
    free(x); free(g); free(xn); free(gn); free(dir); free(S); free(Y);
    return ret;
}

hd_head *hd_head_fit(hd_clf_method method, const float *X, const int *y, size_t n, int D, int C, char *const *classes,
                     const hd_fit_opts *o)
{
    if (!n || D <= 0 || C < 2) { hd_set_error(HD_EINPUT, "nothing to fit: %zu examples, %d classes", n, C); return NULL; }
    for (int c = 0; c < C; c++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) k += y[i] == c;
        if (!k) { hd_set_error(HD_EINPUT, "class '%s' has no training examples", classes[c]); return NULL; }
    }
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= C) { hd_set_error(HD_EINPUT, "label %d of example %zu out of range", y[i], i); return NULL; }
    hd_head *h = head_new(method, D, C, classes);
    if (!h) return NULL;
    size_t CD = (size_t)C * D, nD;
    if (hd_mul(n, (size_t)D, &nD)) { hd_set_error(HD_EINPUT, "training set too large"); goto fail; }
    if (method == HD_CLF_CENTROID) {
        double *acc = calloc(CD, sizeof *acc);
        long *cnt = calloc((size_t)C, sizeof *cnt);
        if (!acc || !cnt || !(h->centroids = malloc(CD * sizeof(float)))) {
            free(acc); free(cnt);
            hd_set_error(HD_EMODEL, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i < n; i++) {
            cnt[y[i]]++;
            for (int d = 0; d < D; d++) acc[(size_t)y[i] * D + d] += X[i * (size_t)D + d];
        }
        for (size_t j = 0; j < CD; j++) h->centroids[j] = cnt[j / D] ? (float)(acc[j] / (double)cnt[j / D]) : 0.0f;
        free(acc);
        free(cnt);
    } else if (method == HD_CLF_KNN) {
        h->X = malloc(nD * sizeof *h->X);
        h->y = malloc(n * sizeof *h->y);
        if (!h->X || !h->y) { hd_set_error(HD_EMODEL, "out of memory"); goto fail; }
        memcpy(h->X, X, nD * sizeof *h->X);
        memcpy(h->y, y, n * sizeof *h->y);
        h->n = n;
        h->k = o->knn_k > 0 ? o->knn_k : 1;
    } else if (method == HD_CLF_LOGISTIC || method == HD_CLF_KMER) {
        h->mu = calloc((size_t)D, sizeof *h->mu);
        h->sd = calloc((size_t)D, sizeof *h->sd);
        h->W = calloc(CD, sizeof *h->W);
        h->b = calloc((size_t)C, sizeof *h->b);
        double *Z = malloc(nD * sizeof *Z);
        if (!h->mu || !h->sd || !h->W || !h->b || !Z) { free(Z); hd_set_error(HD_EMODEL, "out of memory"); goto fail; }
        for (int d = 0; d < D; d++) {
            double s = 0, s2 = 0;
            for (size_t i = 0; i < n; i++) s += X[i * (size_t)D + d];
            double mu = s / (double)n;
            for (size_t i = 0; i < n; i++) { double v = X[i * (size_t)D + d] - mu; s2 += v * v; }
            double sd = sqrt(s2 / (double)n);
            h->mu[d] = (float)mu;
            h->sd[d] = sd > 1e-9 ? (float)sd : 1.0f;
        }
        for (size_t i = 0; i < n; i++)
            for (int d = 0; d < D; d++) Z[i * D + d] = (X[i * (size_t)D + d] - h->mu[d]) / h->sd[d];
        int r = fit_logistic(h, Z, y, n, o);
        free(Z);
        if (r) goto fail;
    } else {
        hd_set_error(HD_EINPUT, "method %s has no fitted head", hd_clf_method_name(method));
        goto fail;
    }
    return h;
fail:
    hd_head_free(h);
    return NULL;
}

static double cosine(const float *a, const float *b, int D)
{
    double ab = 0, aa = 0, bb = 0;
    for (int d = 0; d < D; d++) {
        ab += (double)a[d] * b[d];
        aa += (double)a[d] * a[d];
        bb += (double)b[d] * b[d];
    }
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0.0;
}

int hd_head_predict(const hd_head *h, const float *x, double *scores)
{
    int C = h->n_classes, D = h->dim, best = 0;
    if (h->method == HD_CLF_CENTROID) {
        for (int c = 0; c < C; c++) scores[c] = cosine(x, h->centroids + (size_t)c * D, D);
    } else if (h->method == HD_CLF_KNN) {
        size_t k = (size_t)h->k < h->n ? (size_t)h->k : h->n;
        double *sim = malloc(h->n * sizeof *sim), *sumsim = calloc((size_t)C, sizeof *sumsim);
        char *taken = calloc(h->n, 1);
        for (size_t i = 0; i < h->n; i++) sim[i] = cosine(x, h->X + i * (size_t)D, D);
        for (int c = 0; c < C; c++) scores[c] = 0;
        for (size_t j = 0; j < k; j++) {
            /* the most similar vector not taken yet; ties go to the earlier training vector */
            size_t bi = SIZE_MAX;
            for (size_t i = 0; i < h->n; i++)
                if (!taken[i] && (bi == SIZE_MAX || sim[i] > sim[bi])) bi = i;
            taken[bi] = 1;
            scores[h->y[bi]] += 1.0 / (double)k;
            sumsim[h->y[bi]] += sim[bi];
        }
        for (int c = 1; c < C; c++)
            if (scores[c] > scores[best] || (scores[c] == scores[best] && sumsim[c] > sumsim[best])) best = c;
        free(sim);
        free(sumsim);
        free(taken);
        return best;
    } else {
        for (int c = 0; c < C; c++) {
            double a = h->b[c];
            const double *w = h->W + (size_t)c * D;
            for (int d = 0; d < D; d++) a += w[d] * ((x[d] - h->mu[d]) / h->sd[d]);
            scores[c] = a;
        }
    }
    for (int c = 1; c < C; c++)
        if (scores[c] > scores[best]) best = c;
    return best;
}

/* ---- save / load */

static float *to_f32(const double *v, size_t n)
{
    float *f = malloc((n ? n : 1) * sizeof *f);
    if (f)
        for (size_t i = 0; i < n; i++) f[i] = (float)v[i];
    return f;
}

int hd_head_save(const hd_head *h, const char *path)
{
    hd_stw *w = hd_stw_open(path);
    if (!w) return -1;
    int C = h->n_classes, D = h->dim, e = 0;
    char buf[64];
    json_t *cls = json_array();
    for (int c = 0; c < C; c++) json_array_append_new(cls, json_string(h->classes[c]));
    char *cj = json_dumps(cls, JSON_COMPACT);
    json_decref(cls);
    e |= !cj || hd_stw_meta(w, "hyenadna_head", "1") || hd_stw_meta(w, "method", hd_clf_method_name(h->method)) ||
         hd_stw_meta(w, "classes", cj);
    free(cj);
    snprintf(buf, sizeof buf, "%d", D);
    e |= hd_stw_meta(w, "dim", buf);
    if (h->method == HD_CLF_KMER) {
        snprintf(buf, sizeof buf, "%d", h->kmer);
        e |= hd_stw_meta(w, "features", "kmer") || hd_stw_meta(w, "kmer", buf);
    } else {
        e |= hd_stw_meta(w, "features", "model") || hd_stw_meta(w, "pool", hd_pool_name(h->pool)) ||
             hd_stw_meta(w, "model_id", h->model_id ? h->model_id : "") ||
             hd_stw_meta(w, "model_path", h->model_path ? h->model_path : "");
    }
    e |= hd_stw_meta(w, "rc", h->rc ? "1" : "0");
    int64_t sCD[2] = {C, D}, sC[1] = {C}, sD[1] = {D};
    if (h->method == HD_CLF_CENTROID) {
        e |= hd_stw_add(w, "centroids", HD_F32, 2, sCD, h->centroids);
    } else if (h->method == HD_CLF_KNN) {
        snprintf(buf, sizeof buf, "%d", h->k);
        int64_t sX[2] = {(int64_t)h->n, D}, sy[1] = {(int64_t)h->n};
        e |= hd_stw_meta(w, "k", buf) || hd_stw_add(w, "X", HD_F32, 2, sX, h->X) ||
             hd_stw_add(w, "y", HD_I32, 1, sy, h->y);
    } else {
        float *W = to_f32(h->W, (size_t)C * D), *b = to_f32(h->b, C), *mu = to_f32(h->mu, D), *sd = to_f32(h->sd, D);
        e |= !W || !b || !mu || !sd || hd_stw_add(w, "weight", HD_F32, 2, sCD, W) ||
             hd_stw_add(w, "bias", HD_F32, 1, sC, b) || hd_stw_add(w, "feature_mean", HD_F32, 1, sD, mu) ||
             hd_stw_add(w, "feature_sd", HD_F32, 1, sD, sd);
        free(W); free(b); free(mu); free(sd);
    }
    if (e) {
        hd_stw_abort(w);
        return -1;
    }
    return hd_stw_close(w);
}

/* a tensor of the head file with the given shape, copied to float32 (NULL + error otherwise) */
static float *head_tensor(hd_st *st, const char *path, const char *name, int64_t d0, int64_t d1)
{
    const hd_tensor_info *t = hd_st_find(st, name);
    int ok = t && (d1 ? t->ndim == 2 && t->shape[0] == d0 && t->shape[1] == d1 : t->ndim == 1 && t->shape[0] == d0);
    if (!ok) {
        hd_set_error(HD_EINPUT, "%s: tensor '%s' missing or not of shape [%lld%s%lld]", path, name, (long long)d0,
                     d1 ? ", " : "", d1 ? (long long)d1 : 0LL);
        return NULL;
    }
    float *v = malloc((t->numel ? t->numel : 1) * sizeof *v);
    if (!v || hd_tensor_to_f32(t, v)) { free(v); hd_set_error(HD_EINPUT, "%s: cannot read tensor '%s'", path, name); return NULL; }
    return v;
}

static double *f32_to_f64(float *f, size_t n)
{
    double *d = f ? malloc((n ? n : 1) * sizeof *d) : NULL;
    if (d)
        for (size_t i = 0; i < n; i++) d[i] = f[i];
    free(f);
    return d;
}

hd_head *hd_head_load(const char *path)
{
    hd_st *st = hd_st_open(path);
    if (!st) return NULL;
    hd_head *h = NULL;
    json_t *cls = NULL;
    const char *mk = hd_st_meta(st, "hyenadna_head"), *ms = hd_st_meta(st, "method"), *cs = hd_st_meta(st, "classes"),
               *ds = hd_st_meta(st, "dim");
    hd_clf_method method;
    if (!mk || !ms || !cs || !ds || hd_clf_method_parse(ms, &method) || method == HD_CLF_CONTEXT) {
        hd_set_error(HD_EINPUT, "%s: not a hyenadna classify head (metadata hyenadna_head/method/classes/dim missing)",
                     path);
        goto fail;
    }
    cls = json_loads(cs, 0, NULL);
    long D = strtol(ds, NULL, 10);
    if (!json_is_array(cls) || json_array_size(cls) < 2 || D <= 0 || D > (1L << 24)) {
        hd_set_error(HD_EINPUT, "%s: bad classes or dim in the head metadata", path);
        goto fail;
    }
    int C = (int)json_array_size(cls);
    char **names = calloc((size_t)C, sizeof *names);
    for (int c = 0; c < C; c++) {
        const char *s = json_string_value(json_array_get(cls, (size_t)c));
        names[c] = (char *)(s ? s : "");
    }
    h = head_new(method, (int)D, C, names);
    free(names);
    if (!h) goto fail;
    const char *rc = hd_st_meta(st, "rc");
    h->rc = rc && !strcmp(rc, "1");
    if (method == HD_CLF_KMER) {
        const char *k = hd_st_meta(st, "kmer");
        h->kmer = k ? atoi(k) : 0;
        if (h->kmer < 1 || h->kmer > 12 || (1L << (2 * h->kmer)) != D) {
            hd_set_error(HD_EINPUT, "%s: bad k-mer size in the head metadata", path);
            goto fail;
        }
    } else {
        const char *p = hd_st_meta(st, "pool"), *id = hd_st_meta(st, "model_id"), *mp = hd_st_meta(st, "model_path");
        if (!p || hd_pool_parse(p, &h->pool) || !id) {
            hd_set_error(HD_EINPUT, "%s: pooling or model identity missing from the head metadata", path);
            goto fail;
        }
        h->model_id = strdup(id);
        h->model_path = strdup(mp ? mp : "");
    }
    if (method == HD_CLF_CENTROID) {
        if (!(h->centroids = head_tensor(st, path, "centroids", C, D))) goto fail;
    } else if (method == HD_CLF_KNN) {
        const hd_tensor_info *t = hd_st_find(st, "y");
        const char *k = hd_st_meta(st, "k");
        if (!t || t->ndim != 1 || !k || atoi(k) < 1) {
            hd_set_error(HD_EINPUT, "%s: knn head without labels y or k", path);
            goto fail;
        }
        h->n = (size_t)t->shape[0];
        h->k = atoi(k);
        int64_t *yy = malloc((h->n ? h->n : 1) * sizeof *yy);
        h->y = malloc((h->n ? h->n : 1) * sizeof *h->y);
        if (!yy || !h->y || hd_tensor_to_i64(t, yy)) { free(yy); hd_set_error(HD_EINPUT, "%s: cannot read y", path); goto fail; }
        for (size_t i = 0; i < h->n; i++) {
            if (yy[i] < 0 || yy[i] >= C) { free(yy); hd_set_error(HD_EINPUT, "%s: label out of range in y", path); goto fail; }
            h->y[i] = (int)yy[i];
        }
        free(yy);
        if (!(h->X = head_tensor(st, path, "X", (int64_t)h->n, D))) goto fail;
    } else {
        h->W = f32_to_f64(head_tensor(st, path, "weight", C, D), (size_t)C * D);
        h->b = f32_to_f64(head_tensor(st, path, "bias", C, 0), C);
        h->mu = f32_to_f64(head_tensor(st, path, "feature_mean", D, 0), D);
        h->sd = f32_to_f64(head_tensor(st, path, "feature_sd", D, 0), D);
        if (!h->W || !h->b || !h->mu || !h->sd) goto fail;
    }
    json_decref(cls);
    hd_st_close(st);
    return h;
fail:
    json_decref(cls);
    hd_head_free(h);
    hd_st_close(st);
    return NULL;
}

char *hd_model_identity(const hd_model *m)
{
    FILE *fp = fopen(m->weights_path, "rb");
    if (!fp) {
        hd_set_error(HD_EMODEL, "cannot open '%s': %s", m->weights_path, strerror(errno));
        return NULL;
    }
    /* FNV-1a over the header and 16 evenly spaced 64 KiB samples of the data */
    uint64_t hsh = 0xcbf29ce484222325ULL;
    unsigned char *buf = malloc(1 << 16);
    size_t size = hd_st_file_size(m->st);
    char *id = NULL;
    if (!buf) { hd_set_error(HD_EMODEL, "out of memory"); goto done; }
    for (int i = 0; i < 17; i++) {
        size_t off = i == 0 ? 0 : (size_t)((double)size * (i - 1) / 16.0), k;
        if (fseeko(fp, (off_t)off, SEEK_SET)) break;
        k = fread(buf, 1, 1 << 16, fp);
        for (size_t j = 0; j < k; j++) hsh = (hsh ^ buf[j]) * 0x100000001b3ULL;
    }
    id = hd_sprintf("%016llx:%zu", (unsigned long long)hsh, size);
done:
    free(buf);
    fclose(fp);
    return id;
}

/* ================================================================== metrics */

double hd_mcc_multiclass(const long *cm, int C)
{
    /* Gorodkin (2004): (c·s − Σ p_k t_k) / sqrt((s² − Σ p_k²)(s² − Σ t_k²)) */
    double s = 0, c = 0, pt = 0, pp = 0, tt = 0;
    for (int k = 0; k < C; k++) {
        double p = 0, t = 0;
        for (int j = 0; j < C; j++) {
            t += cm[k * C + j];
            p += cm[j * C + k];
        }
        c += cm[k * C + k];
        s += t;
        pt += p * t;
        pp += p * p;
        tt += t * t;
    }
    double den = (s * s - pp) * (s * s - tt);
    return den > 0 ? (c * s - pt) / sqrt(den) : 0.0;
}

int hd_metrics_compute(const int *truth, const int *pred, size_t n, int C, hd_metrics *out)
{
    memset(out, 0, sizeof *out);
    out->C = C;
    out->cm = calloc((size_t)C * C, sizeof *out->cm);
    out->precision = malloc((size_t)C * sizeof(double));
    out->recall = malloc((size_t)C * sizeof(double));
    out->f1 = malloc((size_t)C * sizeof(double));
    if (!out->cm || !out->precision || !out->recall || !out->f1) {
        hd_metrics_free(out);
        hd_set_error(HD_EMODEL, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (truth[i] < 0 || truth[i] >= C || pred[i] < 0 || pred[i] >= C) continue;
        out->cm[truth[i] * C + pred[i]]++;
        out->n++;
        out->correct += truth[i] == pred[i];
    }
    out->accuracy = out->n ? (double)out->correct / (double)out->n : NAN;
    out->mcc = hd_mcc_multiclass(out->cm, C);
    for (int k = 0; k < C; k++) {
        long tp = out->cm[k * C + k], p = 0, t = 0;
        for (int j = 0; j < C; j++) {
            t += out->cm[k * C + j];
            p += out->cm[j * C + k];
        }
        out->precision[k] = p ? (double)tp / (double)p : NAN;
        out->recall[k] = t ? (double)tp / (double)t : NAN;
        double pr = out->precision[k], rc = out->recall[k];
        out->f1[k] = isnan(pr) || isnan(rc) ? NAN : pr + rc > 0 ? 2 * pr * rc / (pr + rc) : 0.0;
    }
    return 0;
}

void hd_metrics_free(hd_metrics *m)
{
    free(m->cm);
    free(m->precision);
    free(m->recall);
    free(m->f1);
    memset(m, 0, sizeof *m);
}

static json_t *num_or_null(double v) { return isnan(v) ? json_null() : json_real(v); }

char *hd_metrics_json(const hd_metrics *m, char *const *classes, const char *method)
{
    json_t *o = json_object(), *pc = json_object(), *cm = json_array(), *cl = json_array();
    if (method) json_object_set_new(o, "method", json_string(method));
    json_object_set_new(o, "n", json_integer(m->n));
    json_object_set_new(o, "correct", json_integer(m->correct));
    json_object_set_new(o, "accuracy", num_or_null(m->accuracy));
    json_object_set_new(o, "mcc", json_real(m->mcc));
    for (int k = 0; k < m->C; k++) {
        json_array_append_new(cl, json_string(classes[k]));
        long t = 0;
        json_t *row = json_array();
        for (int j = 0; j < m->C; j++) {
            t += m->cm[k * m->C + j];
            json_array_append_new(row, json_integer(m->cm[k * m->C + j]));
        }
        json_array_append_new(cm, row);
        json_t *e = json_object();
        json_object_set_new(e, "precision", num_or_null(m->precision[k]));
        json_object_set_new(e, "recall", num_or_null(m->recall[k]));
        json_object_set_new(e, "f1", num_or_null(m->f1[k]));
        json_object_set_new(e, "support", json_integer(t));
        json_object_set_new(pc, classes[k], e);
    }
    json_object_set_new(o, "classes", cl);
    json_object_set_new(o, "per_class", pc);
    json_t *c = json_object();
    json_object_set_new(c, "rows", json_string("true"));
    json_object_set_new(c, "columns", json_string("predicted"));
    json_object_set_new(c, "matrix", cm);
    json_object_set_new(o, "confusion_matrix", c);
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(o);
    return s;
}

/* ================================================================== context scores */

int hd_ctx_scores(hd_model *m, hd_backend *be, const int32_t *const *prompts, const size_t *plen, int C,
                  const int32_t *q, size_t nq, double *scores, double *baseline)
{
    if (m->max_len > 0 && nq + 1 > (size_t)m->max_len) {
        hd_set_error(HD_EINPUT, "query of %zu bases leaves no room for a prompt within the model's maximum length "
                     "of %ld tokens", nq, m->max_len);
        return -1;
    }
    double base;
    if (hd_ctx_mean_ll(m, be, NULL, 0, q, nq, &base)) return -1;
    for (int c = 0; c < C; c++) {
        size_t np = plen[c];
        if (m->max_len > 0 && np > (size_t)m->max_len - nq) np = (size_t)m->max_len - nq;
        double ll;
        if (hd_ctx_mean_ll(m, be, prompts[c] + (plen[c] - np), np, q, nq, &ll)) return -1;
        scores[c] = ll - base;
    }
    if (baseline) *baseline = base;
    return 0;
}

/* ================================================================== query sources */

struct hd_qreader {
    hd_qspec sp;
    hd_fasta *fa;
    htsFile *bed;
    faidx_t *fai;
    kstring_t line;
    long ln;
    int regional, done;
    /* the current sequence being cut into windows */
    char *owned;            /* fetched sequence (BED / region) */
    const char *seq;
    size_t len;
    char *chrom;            /* chrom of the current sequence, or NULL */
    char *rname;            /* record name (FASTA) */
    char *label;
    int64_t off;            /* coordinate of seq[0] on chrom */
    size_t next;            /* next window start */
    int have, last_emitted;
    size_t last_end;
    char name[1024];
};

hd_qreader *hd_qreader_open(const hd_qspec *spec)
{
    hd_qreader *q = calloc(1, sizeof *q);
    if (!q) { hd_set_error(HD_EMODEL, "out of memory"); return NULL; }
    q->sp = *spec;
    if (spec->window > 0 && spec->stride <= 0) q->sp.stride = spec->window;
    if (spec->region || spec->bed) {
        const char *ref = spec->region && spec->path ? spec->path : spec->ref;
        if (!ref) {
            hd_set_error(HD_EINPUT, "%s queries need the reference FASTA (-f)", spec->region ? "region" : "BED");
            goto fail;
        }
        if (!(q->fai = fai_load(ref))) {
            hd_set_error(HD_EINPUT, "cannot load or index the reference '%s'", ref);
            goto fail;
        }
        q->regional = 1;
        if (spec->bed && !(q->bed = hts_open(spec->path, "r"))) {
            hd_set_error(HD_EINPUT, "cannot open '%s': %s", spec->path, errno ? strerror(errno) : "unknown error");
            goto fail;
        }
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
    if (q->bed) hts_close(q->bed);
    if (q->fai) fai_destroy(q->fai);
    free(q->line.s);
    free(q->owned);
    free(q->chrom);
    free(q->rname);
    free(q->label);
    free(q);
}

static int set_str(char **dst, const char *s)
{
    free(*dst);
    *dst = s ? strdup(s) : NULL;
    if (s && !*dst) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    return 0;
}

static char *fetch(hd_qreader *q, const char *chrom, int64_t beg, int64_t end, const char *where)
{
    if (!faidx_has_seq(q->fai, chrom)) {
        hd_set_error(HD_EINPUT, "%s: sequence '%s' is not in the reference", where, chrom);
        return NULL;
    }
    int64_t sl = (int64_t)faidx_seq_len(q->fai, chrom);
    if (end > sl || beg >= end) {
        hd_set_error(HD_EINPUT, "%s: interval %s:%lld-%lld is empty or past the end of %s (%lld bp)", where, chrom,
                     (long long)beg + 1, (long long)end, chrom, (long long)sl);
        return NULL;
    }
    hts_pos_t len = 0;
    char *s = faidx_fetch_seq64(q->fai, chrom, beg, end - 1, &len);
    if (!s || len != end - beg) {
        free(s);
        hd_set_error(HD_EINPUT, "%s: cannot fetch %s:%lld-%lld", where, chrom, (long long)beg + 1, (long long)end);
        return NULL;
    }
    return s;
}

/* load the next whole sequence to cut: 1, 0 at the end, -1 error */
static int load_next(hd_qreader *q)
{
    free(q->owned);
    q->owned = NULL;
    q->next = 0;
    q->last_end = 0;
    q->last_emitted = 0;
    if (q->fa) {
        hd_seqrec rec;
        int r = hd_fasta_next(q->fa, &rec);
        if (r <= 0) return r;
        char lab[1024];
        int lr = hd_header_label(rec.comment, lab, sizeof lab);
        if (lr < 0) {
            hd_set_error(HD_EINPUT, "%s: record %s has an empty or overlong label= in its header", q->sp.path, rec.name);
            return -1;
        }
        if (set_str(&q->rname, rec.name) || set_str(&q->label, lr ? lab : NULL) ||
            set_str(&q->chrom, q->sp.window > 0 ? rec.name : NULL))
            return -1;
        q->seq = rec.seq;
        q->len = rec.len;
        q->off = 0;
        if (!rec.len) {
            hd_set_error(HD_EINPUT, "%s: record %s has an empty sequence", q->sp.path, rec.name);
            return -1;
        }
        return 1;
    }
    if (q->sp.region) {
        if (q->done) return 0;
        q->done = 1;
        hts_pos_t beg = 0, end = 0;
        int tid = 0;
        const char *rest = fai_parse_region(q->fai, q->sp.region, &tid, &beg, &end, HTS_PARSE_THOUSANDS_SEP);
        if (!rest || *rest) {
            hd_set_error(HD_EINPUT, "option -r: cannot parse the region '%s' or its sequence is not in the reference",
                         q->sp.region);
            return -1;
        }
        const char *chrom = faidx_iseq(q->fai, tid);
        int64_t sl = (int64_t)faidx_seq_len(q->fai, chrom);
        if (end > sl) end = sl;
        char where[64];
        snprintf(where, sizeof where, "option -r");
        if (!(q->owned = fetch(q, chrom, beg, end, where))) return -1;
        if (set_str(&q->chrom, chrom) || set_str(&q->rname, chrom) || set_str(&q->label, NULL)) return -1;
        q->seq = q->owned;
        q->len = (size_t)(end - beg);
        q->off = beg;
        return 1;
    }
    /* BED */
    int r;
    while ((r = hts_getline(q->bed, '\n', &q->line)) >= 0) {
        q->ln++;
        chomp(&q->line);
        if (!q->line.l || q->line.s[0] == '#' || !strncmp(q->line.s, "track", 5) || !strncmp(q->line.s, "browser", 7))
            continue;
        char *f[5];
        int nf = split_tabs(q->line.s, f, 5);
        int64_t beg, end;
        if (nf < 3 || parse_i64(f[1], &beg) || parse_i64(f[2], &end) || end <= beg) {
            hd_set_error(HD_EINPUT, "%s: line %ld: expected BED 'chrom start end [label]' with 0 <= start < end",
                         q->sp.path, q->ln);
            return -1;
        }
        char where[1100];
        snprintf(where, sizeof where, "%s: line %ld", q->sp.path, q->ln);
        if (!(q->owned = fetch(q, f[0], beg, end, where))) return -1;
        if (set_str(&q->chrom, f[0]) || set_str(&q->rname, f[0]) || set_str(&q->label, nf >= 4 && *f[3] ? f[3] : NULL))
            return -1;
        q->seq = q->owned;
        q->len = (size_t)(end - beg);
        q->off = beg;
        return 1;
    }
    if (r < -1) { hd_set_error(HD_EINPUT, "%s: read error after line %ld", q->sp.path, q->ln); return -1; }
    return 0;
}

int hd_qreader_next(hd_qreader *q, hd_query *out)
{
    for (;;) {
        if (!q->have) {
            int r = load_next(q);
            if (r <= 0) return r;
            q->have = 1;
        }
        size_t W = q->sp.window > 0 ? (size_t)q->sp.window : q->len, beg;
        if (W >= q->len) {
            /* the whole sequence, once */
            if (q->last_emitted) { q->have = 0; continue; }
            q->last_emitted = 1;
            beg = 0;
            W = q->len;
        } else if (q->next + W <= q->len) {
            beg = q->next;
            q->next += (size_t)q->sp.stride;
            q->last_end = beg + W;
        } else if (q->last_end < q->len) {
            beg = q->len - W;   /* the uncovered tail: one window ending at the end */
            q->last_end = q->len;
        } else {
            q->have = 0;
            continue;
        }
        out->seq = q->seq + beg;
        out->len = W;
        out->label = q->label;
        out->chrom = q->chrom;
        out->beg = q->off + (int64_t)beg;
        out->end = out->beg + (int64_t)W;
        if (q->chrom && (q->sp.window > 0 || q->regional)) {
            snprintf(q->name, sizeof q->name, "%s:%lld-%lld", q->chrom, (long long)out->beg + 1, (long long)out->end);
            out->name = q->name;
        } else {
            out->name = q->rname;
        }
        return 1;
    }
}
