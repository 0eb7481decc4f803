/* vcfscore.c -- the records of score-variants around the scoring (see vcfscore.h). */
#include "vcfscore.h"

#include <htslib/khash.h>
#include <htslib/kstring.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "regions.h"
#include "tokenizer.h"
#include "util.h"

/* ================================================================ the reference */

struct hd_vsref {
    faidx_t *fai;
    char *path;
    char *name;           /* the current contig, NULL none */
    char *seq;            /* its upper-case bases */
    uint8_t *ids;
    hd_vs_stretches st;
    size_t origin;        /* the chunk grid's origin (hd_vsref_set_origin) */
    hd_vs_contig c;
};

hd_vsref *hd_vsref_open(const char *path)
{
    hd_vsref *r = calloc(1, sizeof *r);
    if (!r || !(r->path = hd_strdup(path))) {
        free(r);
        hd_set_oom(NULL);
        return NULL;
    }
    if (!(r->fai = hd_faidx_open(path))) {
        hd_vsref_close(r);
        return NULL;
    }
    return r;
}

void hd_vsref_close(hd_vsref *r)
{
    if (!r) return;
    if (r->fai) fai_destroy(r->fai);
    hd_vs_stretches_free(&r->st);
    free(r->path);
    free(r->name);
    free(r->seq);
    free(r->ids);
    free(r);
}

const char *hd_vsref_path(const hd_vsref *r) { return r->path; }
faidx_t *hd_vsref_fai(const hd_vsref *r) { return r->fai; }
const hd_vs_contig *hd_vsref_contig(const hd_vsref *r) { return &r->c; }
const char *hd_vsref_seq(const hd_vsref *r) { return r->seq; }

void hd_vsref_set_origin(hd_vsref *r, size_t origin)
{
    r->origin = origin;
    if (r->name) r->c.origin = origin < r->c.len ? origin : 0;
}

int hd_vsref_load(hd_vsref *r, const char *name)
{
    if (r->name && !strcmp(r->name, name)) return 1;
    if (!faidx_has_seq(r->fai, name)) return 0;
    free(r->name);
    free(r->seq);
    free(r->ids);
    r->name = NULL, r->seq = NULL, r->ids = NULL;
    memset(&r->c, 0, sizeof r->c);
    hts_pos_t len = 0;
    char *s = faidx_fetch_seq64(r->fai, name, 0, HTS_POS_MAX, &len);
    if (!s || len < 0) {
        free(s);
        hd_set_error(HD_EINPUT, "%s: cannot read contig '%s' of the reference", r->path, name);
        return -1;
    }
    size_t n = (size_t)len, bad = hd_bases_check(s, n);
    if (bad < n) {   /* the same error as embed's for the same FASTA */
        hd_set_bases_error(r->path, NULL, name, s[bad], bad);
        free(s);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 'a' && s[i] <= 'z') s[i] -= 32;
    r->seq = s;
    if (!(r->ids = malloc(n ? n : 1)) || !(r->name = hd_strdup(name)) || hd_vs_stretches_build(&r->st, s, n)) {
        hd_set_oom("a reference contig");
        return -1;
    }
    hd_vs_seq_ids(s, n, r->ids);
    int id = 0;
    for (int i = 0; i < faidx_nseq(r->fai); i++)
        if (!strcmp(faidx_iseq(r->fai, i), name)) { id = i; break; }
    r->c = (hd_vs_contig){.id = id, .name = r->name, .ids = r->ids, .len = n, .origin = r->origin < n ? r->origin : 0,
                          .stretches = &r->st};
    return 1;
}

/* ================================================================ the records */

static const char *REASON[HD_VR_NREASONS] = {
    "scored", "no ALT allele", "symbolic or '*' ALT", "contig not in the reference", "REF not matching the reference",
    "non-ACGT allele", "non-ACGT reference in window", "indel (no masked-model LLR)",
    "ALT window identical to the REF window"};

const char *hd_vr_reason(int why) { return why >= 0 && why < HD_VR_NREASONS ? REASON[why] : "?"; }

KHASH_SET_INIT_STR(hd_names)

#define NAMED 5   /* mismatching records and missing contigs named one by one */

struct hd_vr {
    hd_vs_batch *b;
    hd_vsref *ref;
    int strict;
    hd_vr_counts c;
    int32_t *ids;                /* an ALT allele's ids */
    size_t cap;
    long found;                  /* records whose contig is in the reference */
    long missing;                /* records whose contig is not */
    khash_t(hd_names) *absent;   /* the contig names not in the reference */
    char *absent_eg;             /* the first of them */
    long chr_vcf, chr_ref;       /* absent names found in the reference without / with a 'chr' prefix */
    char *chr_eg[2];             /* an example pair: the VCF's name, the reference's */
};

hd_vr *hd_vr_new(hd_vs_batch *b, hd_vsref *ref, int strict)
{
    hd_vr *v = calloc(1, sizeof *v);
    if (!v || !(v->absent = kh_init(hd_names))) {
        free(v);
        hd_set_oom(NULL);
        return NULL;
    }
    v->b = b, v->ref = ref, v->strict = strict;
    return v;
}

void hd_vr_free(hd_vr *v)
{
    if (!v) return;
    for (khint_t k = kh_begin(v->absent); k != kh_end(v->absent); k++)
        if (kh_exist(v->absent, k)) free((char *)kh_key(v->absent, k));
    kh_destroy(hd_names, v->absent);
    free(v->absent_eg);
    free(v->chr_eg[0]);
    free(v->chr_eg[1]);
    free(v->ids);
    free(v);
}

const hd_vr_counts *hd_vr_get_counts(const hd_vr *v) { return &v->c; }

void hd_vr_plan_free(hd_vr_plan *p)
{
    free(p->h);
    free(p->why);
    memset(p, 0, sizeof *p);
}

/* "WHERE (CHROM:POS ID)" for messages */
static void describe(kstring_t *s, const bcf_hdr_t *h, const bcf1_t *rec, const char *where)
{
    s->l = 0;
    ksprintf(s, "%s (%s:%" PRIhts_pos, where, bcf_seqname(h, rec), rec->pos + 1);
    if (rec->d.id && strcmp(rec->d.id, ".")) ksprintf(s, " %s", rec->d.id);
    kputc(')', s);
}

/* the other spelling of a contig name: with a "chr" prefix added or removed */
static char *chr_toggled(const char *name)
{
    return strncmp(name, "chr", 3) ? hd_sprintf("chr%s", name) : hd_strdup(name + 3);
}

/* a record on a contig the reference lacks: 0 passed through (named the first times), -1 error (strict) */
static int contig_absent(hd_vr *v, const bcf_hdr_t *h, const bcf1_t *rec, const char *where)
{
    const char *name = bcf_seqname(h, rec), *path = hd_vsref_path(v->ref);
    v->missing++;
    kstring_t d = {0, 0, NULL};
    describe(&d, h, rec, where);
    if (v->strict) {
        hd_set_error(HD_EINPUT, "%s: contig '%s' is not in the reference '%s'", d.s ? d.s : where, name, path);
        free(d.s);
        return -1;
    }
    khint_t k = kh_get(hd_names, v->absent, name);
    if (k == kh_end(v->absent)) {   /* a name met for the first time */
        char *key = hd_strdup(name), *alt = chr_toggled(name);
        int ret;
        if (key) kh_put(hd_names, v->absent, key, &ret);
        if (!key || ret < 0) free(key);
        if (!v->absent_eg) v->absent_eg = hd_strdup(name);
        if (alt && faidx_has_seq(hd_vsref_fai(v->ref), alt)) {
            if (strncmp(name, "chr", 3)) v->chr_ref++;
            else v->chr_vcf++;
            if (!v->chr_eg[0]) v->chr_eg[0] = hd_strdup(name), v->chr_eg[1] = hd_strdup(alt);
        }
        free(alt);
        if (kh_size(v->absent) <= NAMED)
            hd_log(HD_LOG_WARN, "%s: contig '%s' is not in the reference '%s': its records pass through unscored",
                   d.s ? d.s : where, name, path);
    }
    free(d.s);
    return 0;
}

/* a REF allele that does not fit the reference (ok: hd_vs_check_ref) */
static int ref_mismatch(hd_vr *v, const bcf_hdr_t *h, const bcf1_t *rec, const char *where, int ok)
{
    const hd_vs_contig *c = hd_vsref_contig(v->ref);
    const char *refal = rec->d.allele[0], *path = hd_vsref_path(v->ref), *seq = hd_vsref_seq(v->ref);
    kstring_t d = {0, 0, NULL}, m = {0, 0, NULL};
    describe(&d, h, rec, where);
    if (ok == -2) ksprintf(&m, "%s: empty REF allele", d.s);
    else if (ok == -1)
        ksprintf(&m, "%s: REF allele '%s' lies outside contig '%s' (length %zu) of the reference '%s'", d.s, refal,
                 c->name, c->len, path);
    else {
        size_t rl = strlen(refal), left = c->len - (size_t)rec->pos;
        ksprintf(&m, "%s: REF allele '%s' does not match the reference '%.*s' in '%s'", d.s, refal,
                 (int)(left < rl ? left : rl), seq + rec->pos, path);
    }
    int rc = 0;
    if (v->strict) {
        hd_set_error(HD_EINPUT, "%s", m.s ? m.s : where);
        rc = -1;
    } else if (v->c.ref_mismatched <= NAMED) {
        hd_log(HD_LOG_WARN, "%s: passed through unscored%s", m.s ? m.s : where,
               v->c.ref_mismatched == NAMED ? " (further mismatches are counted in the summary)" : "");
    }
    free(d.s);
    free(m.s);
    return rc;
}

static int acgt(const char *s)
{
    for (; *s; s++)
        if (!strchr("ACGTacgt", *s)) return 0;
    return 1;
}

/* an allele of N only */
static int all_n(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (*s != 'N' && *s != 'n') return 0;
    return 1;
}

/* every ALT allele symbolic (<DEL>, a breakend, '*'): nothing of the record is scored */
static int all_symbolic(const bcf1_t *rec)
{
    for (int a = 1; a < rec->n_allele; a++)
        if (hd_vs_allele_ids(rec->d.allele[a], NULL, 0) != -1) return 0;
    return 1;
}

int hd_vr_plan_record(hd_vr *v, const bcf_hdr_t *h, bcf1_t *rec, const char *where, hd_vr_plan *p)
{
    v->c.records++;
    if (bcf_unpack(rec, BCF_UN_STR) < 0) {
        hd_set_error(HD_EINPUT, "%s: cannot parse the record", where);
        return -1;
    }
    p->nalt = rec->n_allele > 1 ? rec->n_allele - 1 : 0;
    if (p->nalt > p->cap) {
        long *hh = realloc(p->h, (size_t)p->nalt * sizeof *hh);
        if (hh) p->h = hh;
        int *w = hh ? realloc(p->why, (size_t)p->nalt * sizeof *w) : NULL;
        if (w) p->why = w;
        if (!hh || !w) { hd_set_oom(NULL); return -1; }
        p->cap = p->nalt;
    }
    for (int a = 0; a < p->nalt; a++) p->h[a] = -1, p->why[a] = 0;
    p->reason = HD_VR_SCORED;
    if (!p->nalt) { p->reason = HD_VR_NOALT; return 0; }
    int r = hd_vsref_load(v->ref, bcf_seqname(h, rec));
    if (r < 0) return -1;
    if (!r) {
        p->reason = HD_VR_CONTIG;
        return contig_absent(v, h, rec, where);
    }
    v->found++;
    const hd_vs_contig *c = hd_vsref_contig(v->ref);
    const char *refal = rec->d.allele[0];
    if ((rec->pos == -1 || rec->pos == (hts_pos_t)c->len) && all_symbolic(rec)) {
        /* a telomeric breakend: VCF places it at POS 0 or the contig length + 1, outside the contig by design
         * (REF 'N'); not a REF that misses the reference */
        for (int a = 0; a < p->nalt; a++) p->why[a] = HD_VR_SYMBOLIC;
        v->c.alleles_symbolic += p->nalt;
        p->reason = HD_VR_SYMBOLIC;
        return 0;
    }
    int ok = hd_vs_check_ref(hd_vsref_seq(v->ref), c->len, rec->pos, refal), sym = all_symbolic(rec);
    /* a symbolic record whose REF is N (gnomAD-SV and other SV callers write it so) names no base to compare:
     * not a mismatch (bcftools norm does not check the REF of a symbolic record either) */
    if (!(sym && ok == 0 && all_n(refal))) {
        v->c.ref_checked++;
        if (ok <= 0) {
            v->c.ref_mismatched++;
            p->reason = HD_VR_MISMATCH;
            return ref_mismatch(v, h, rec, where, ok);
        }
    }
    if (sym) {   /* also on an N of the reference: symbolic, not a non-ACGT allele */
        for (int a = 0; a < p->nalt; a++) p->why[a] = HD_VR_SYMBOLIC;
        v->c.alleles_symbolic += p->nalt;
        p->reason = HD_VR_SYMBOLIC;
        return 0;
    }
    if (!acgt(refal)) {
        p->reason = HD_VR_NONACGT_ALLELE;
        return 0;
    }
    size_t pos = (size_t)rec->pos, rl = strlen(refal);
    int queued = 0, nonacgt = 0;
    for (int a = 0; a < p->nalt; a++) {
        const char *al = rec->d.allele[a + 1];
        size_t n = strlen(al);
        if (n > v->cap) {
            int32_t *ids = realloc(v->ids, n * sizeof *ids);
            if (!ids) { hd_set_oom("an ALT allele"); return -1; }
            v->ids = ids, v->cap = n;
        }
        long k = hd_vs_allele_ids(al, v->ids, v->cap);
        if (k == -1) {
            p->why[a] = HD_VR_SYMBOLIC;
            v->c.alleles_symbolic++;
        } else if (k < 0) {
            p->why[a] = HD_VR_NONACGT_ALLELE;
            v->c.alleles_nonacgt++;
            nonacgt++;
        } else {
            if ((p->h[a] = hd_vs_batch_add(v->b, c, pos, rl, v->ids, (size_t)k)) < 0) return -1;
            queued++;
        }
    }
    if (!queued) p->reason = nonacgt ? HD_VR_NONACGT_ALLELE : HD_VR_SYMBOLIC;
    return 0;
}

void hd_vr_results(hd_vr *v, hd_vr_plan *p, double *llr, double *edist)
{
    int any = 0, window = 0, same = 0;
    for (int a = 0; a < p->nalt; a++) {
        llr[a] = edist[a] = NAN;
        if (p->reason != HD_VR_SCORED || p->h[a] < 0) continue;
        int st = hd_vs_batch_result(v->b, p->h[a], &llr[a], &edist[a]);
        if (st == HD_VS_NONACGT_WINDOW) {
            window++;
            v->c.alleles_window++;
        } else if (st == HD_VS_SAME_WINDOW) {
            same++;
            v->c.alleles_same++;
        }
        if (!isnan(llr[a]) || !isnan(edist[a])) {
            any = 1;
            v->c.alleles_scored++;
        }
    }
    if (p->reason == HD_VR_SCORED && !any)
        p->reason = window ? HD_VR_NONACGT_WINDOW : same ? HD_VR_SAME_WINDOW : HD_VR_INDEL;
    v->c.by_reason[p->reason]++;
}

void hd_vr_finish(hd_vr *v)
{
    const char *path = hd_vsref_path(v->ref);
    const hd_vr_counts *c = &v->c;
    if (c->ref_checked && 2 * c->ref_mismatched > c->ref_checked)
        hd_log(HD_LOG_WARN, "%ld of the %ld REF alleles checked (%.0f%%) do not match the reference '%s': the VCF was "
               "probably made against another assembly than this reference (compare its ##reference and ##contig lines "
               "with the reference)", c->ref_mismatched, c->ref_checked, 100.0 * (double)c->ref_mismatched / (double)c->ref_checked,
               path);
    if (v->missing && !v->found)
        hd_log(HD_LOG_WARN, "none of the contigs of the VCF's records is in the reference '%s' (%u contig name%s not "
               "found, e.g. '%s')%s", path, kh_size(v->absent), kh_size(v->absent) == 1 ? "" : "s",
               v->absent_eg ? v->absent_eg : "?",
               v->chr_vcf || v->chr_ref ? "" : ": is the reference for another assembly or organism?");
    if (v->chr_vcf || v->chr_ref)
        hd_log(HD_LOG_WARN, "the VCF names contigs %s a 'chr' prefix and the reference %s ('%s' in the VCF, '%s' in the "
               "reference): rename the VCF's contigs (bcftools annotate --rename-chrs) or use a reference named like "
               "the VCF", v->chr_vcf ? "with" : "without", v->chr_vcf ? "without" : "with", v->chr_eg[0], v->chr_eg[1]);
}

/* ================================================================ the VCF header */

int hd_vs_header_update(bcf_hdr_t *h, const hd_vs_hdrinfo *in)
{
    const hd_vs_opts *o = in->o;
    /* the declarations of an earlier run describe scores that are about to be replaced */
    bcf_hdr_remove(h, BCF_HL_INFO, "HDNA_LLR");
    bcf_hdr_remove(h, BCF_HL_INFO, "HDNA_EDIST");
    bcf_hdr_remove(h, BCF_HL_GEN, "hyenadna_score-variantsModel");
    kstring_t d = {0, 0, NULL}, m = {0, 0, NULL};
    ksprintf(&m, "model %s (%s)", in->model_name, in->family);
    const char *strand = o->rc ? "mean of the forward strand and the reverse complement" : "forward strand";
    const char *red = o->llr_mean ? "each window's log-likelihood divided by its scored positions (--llr mean)"
                                  : "log-likelihoods summed over the scored positions (--llr sum)";
    ksprintf(&d, "##INFO=<ID=HDNA_LLR,Number=A,Type=Float,Description=\"hyenadna log-likelihood ratio of ALT vs REF "
                 "(natural log; negative = less likely than REF), score mode %s: ", hd_vs_mode_name(o->mode));
    switch (o->mode) {
    case HD_VS_WINDOW:
        ksprintf(&d, "ll(ALT window) - ll(REF window), causal log-likelihood of windows of min(%zu, contig length - "
                     "deleted bases) bp, REF and ALT windows of equal length", o->window);
        break;
    case HD_VS_PREFIX:
        ksprintf(&d, "log p(ALT|prefix) - log p(REF|prefix) at the SNV in %zu-bp reference chunks overlapping by %zu "
                     "(indels: window mode, %zu-bp windows)", o->chunk, o->overlap, o->window);
        break;
    case HD_VS_MASKED: ksprintf(&d, "log p(ALT) - log p(REF) at the [MASK]ed variant base of a %zu-bp window", o->window); break;
    case HD_VS_UNMASKED:
        ksprintf(&d, "log p(ALT) - log p(REF) at the variant base, unmasked, in %zu-bp reference chunks", o->chunk);
        break;
    }
    ksprintf(&d, "; %s; %s; %s\">", red, strand, m.s);
    int e = bcf_hdr_append(h, d.s) < 0;
    d.l = 0;
    ksprintf(&d, "##INFO=<ID=HDNA_EDIST,Number=A,Type=Float,Description=\"hyenadna embedding distance: cosine distance "
                 "between the mean-pooled final hidden states of the REF and ALT windows (up to %zu bp); %s; %s\">",
             o->window, strand, m.s);
    e |= bcf_hdr_append(h, d.s) < 0;
    if (in->version) {
        d.l = 0;
        ksprintf(&d, "##hyenadna_score-variantsVersion=%s", in->version);
        e |= bcf_hdr_append(h, d.s) < 0;
        d.l = 0;
        ksprintf(&d, "##hyenadna_score-variantsCommand=%s", in->command);
        e |= bcf_hdr_append(h, d.s) < 0;
        d.l = 0;
        ksprintf(&d, "##hyenadna_score-variantsModel=%s;family=%s;score=%s;window=%zu;llr=%s;rc=%d", in->model, in->family,
                 hd_vs_mode_name(o->mode), o->window, o->llr_mean ? "mean" : "sum", o->rc);
        e |= bcf_hdr_append(h, d.s) < 0;
    }
    free(d.s);
    free(m.s);
    if (e || bcf_hdr_sync(h) < 0) {
        hd_set_error(HD_EINPUT, "cannot add the score declarations to the VCF header");
        return -1;
    }
    return 0;
}

/* ================================================================ saturation mutagenesis */

/* ##contig lines (ID, length) of every contig of the reference, and with `reference` its ##reference line */
static int append_contigs(bcf_hdr_t *h, const hd_vsref *r, int reference)
{
    kstring_t s = {0, 0, NULL};
    int e = 0;
    for (int i = 0; i < faidx_nseq(r->fai); i++) {
        s.l = 0;
        const char *n = faidx_iseq(r->fai, i);
        ksprintf(&s, "##contig=<ID=%s,length=%" PRIhts_pos ">", n, (hts_pos_t)faidx_seq_len(r->fai, n));
        e |= bcf_hdr_append(h, s.s) < 0;
    }
    if (reference) {
        s.l = 0;
        ksprintf(&s, "##reference=%s", r->path);
        e |= bcf_hdr_append(h, s.s) < 0;
    }
    free(s.s);
    if (e || bcf_hdr_sync(h) < 0) {
        hd_set_error(HD_EINPUT, "cannot build the VCF header of the contigs of '%s'", r->path);
        return -1;
    }
    return 0;
}

bcf_hdr_t *hd_vs_snv_header(const hd_vsref *r)
{
    bcf_hdr_t *h = bcf_hdr_init("w");
    if (!h) { hd_set_oom(NULL); return NULL; }
    if (append_contigs(h, r, 1)) {
        bcf_hdr_destroy(h);
        return NULL;
    }
    return h;
}

int hd_vs_declare_contigs(bcf_hdr_t *h, const hd_vsref *r)
{
    return h->n[BCF_DT_CTG] ? 0 : append_contigs(h, r, 0);
}

int hd_vs_snv_next(hd_vsref *r, bcf_hdr_t *h, hd_vs_snvgen *g, bcf1_t *rec)
{
    const char *name = faidx_iseq(r->fai, g->tid);
    int k = hd_vsref_load(r, name);
    if (k <= 0) return k;
    while (g->pos < g->end) {
        char b = r->seq[g->pos];
        if (!strchr("ACGT", b)) { g->pos++; g->skipped++; continue; }
        char al[8], *q = al;
        *q++ = b;
        for (const char *c = "ACGT"; *c; c++)
            if (*c != b) *q++ = ',', *q++ = *c;
        *q = 0;
        bcf_clear(rec);
        rec->rid = bcf_hdr_name2id(h, name);
        rec->pos = g->pos++;
        bcf_float_set_missing(rec->qual);
        if (bcf_update_id(h, rec, ".") < 0 || bcf_update_alleles_str(h, rec, al) < 0) {
            hd_set_oom(NULL);
            return -1;
        }
        return 1;
    }
    return 0;
}
