/* track.c -- `hyenadna track`: per-base genome-browser tracks of what a model thinks of every base (bigWig
 * or bgzipped bedGraph) and the tabix table of every SNV; `--merge` joins the outputs of `--shard` runs.
 *
 * The scores are score-variants' (src/varscore.c): every A/C/G/T base of the regions is queued as its
 * three SNVs in a batch planner that runs one forward pass per reference chunk (prefix, unmasked) or per
 * masked window, so the LLRs are those `score-variants --all-snvs` writes, to the last digit; the tracks are
 * functions of them (src/track.c).  The regions are walked in blocks of whole chunks, reading the reference
 * a block at a time: memory follows the chunk, never the contig. */
#define _GNU_SOURCE
#include "config.h"
#include "common.h"

#include <errno.h>
#include <htslib/kstring.h>
#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output.h"
#include "plot.h"
#include "regions.h"
#include "shard.h"
#include "tokenizer.h"
#include "track.h"
#include "varscore.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: hyenadna track [options] -f REF.fa [-r REG[,REG...] | -R FILE] -o PREFIX\n"
            "       hyenadna track --merge PREFIX PART1 PART2 ...\n"
            "\n"
            "Genome-browser tracks of what a DNA language model thinks of every base of the regions (every\n"
            "contig of REF without -r/-R), from one forward pass per reference chunk, and the table of the\n"
            "log-likelihood ratio of every possible SNV (the values of score-variants --all-snvs with the\n"
            "same options).  Outputs appear under their final names only when complete.\n"
            "\n"
            "Input options:\n"
            "  -f, --fasta-ref FILE   reference FASTA, plain or bgzip (indexed; .fai made when absent)\n"
            "  -r, --region REG       CHR, CHR:BEG or CHR:BEG-END (1-based, inclusive), comma-separated\n"
            "  -R, --regions-file F   regions from a file (.bed 0-based, else CHR BEG END 1-based)\n"
            "                         [regions are sorted and overlapping or adjacent ones merged]\n"
            "Track options:\n"
            "      --what LIST        the outputs, comma-separated [logp,entropy]:\n"
            "                           logp     log2 p(reference base), the model's distribution over\n"
            "                                    A, C, G, T renormalised            -> PREFIX.logp.bw\n"
            "                           entropy  entropy of that distribution in bits (0-2) -> PREFIX.entropy.bw\n"
            "                           ic       2 - entropy                        -> PREFIX.ic.bw\n"
            "                           probs    p(base) x (2 - entropy), the heights of a sequence logo\n"
            "                                                                       -> PREFIX.{A,C,G,T}.bw\n"
            "                           llr      log p(ALT) - log p(REF) (natural log) of the 3 SNVs at\n"
            "                                    every base, bgzipped + tabix-indexed -> PREFIX.snv.tsv.gz\n"
            "                           all      all of these\n"
            "  -s, --score MODE       prefix (causal models): each base given the bases before it, read\n"
            "                         from one pass per chunk [the default for causal models];\n"
            "                         masked (masked models): each base replaced by [MASK] in a window of\n"
            "                         -w bases around it - one forward pass of W tokens PER BASE, W times\n"
            "                         the cost of unmasked [the default for masked models];\n"
            "                         unmasked (masked models): read without masking, one pass per chunk\n"
            "      --chunk INT        chunk length C [the model's maximum length]\n"
            "      --overlap INT      overlap O of consecutive chunks, < C [C/2]; chunk k covers bases\n"
            "                         [k(C-O), k(C-O)+C) from the contig start, or from O bases before the\n"
            "                         region when that is later; a base takes its values from the earliest\n"
            "                         chunk holding it (prefix), the one centring it best (unmasked)\n"
            "  -w, --window INT       masked mode: window width [min(1024, the model's maximum length)]\n"
            "      --rc               average the LLRs with those of the reverse complement (each base\n"
            "                         scored given the bases after it); every track then follows them\n"
            "      --shard I/N        compute only the I-th of N contiguous pieces of the regions' bases\n"
            "                         (in output order); --merge joins the N outputs into one run's files\n"
            "Output options:\n"
            "  -o, --output PREFIX    output name prefix (required)\n"
            "  -O, --output-type T    bigwig (PREFIX.NAME.bw, with zoom levels) or bedgraph (bgzipped,\n"
            "                         tabix-indexed PREFIX.NAME.bedgraph.gz, one line per base) [bigwig]\n"
            "      --merge            join shard outputs: PREFIX PART1 PART2 ... (the parts' -o prefixes, in\n"
            "                         shard order); every track file PART1 has is merged\n"            "      --plot FILE        also draw the tracks of the region (one region of at most 10000 bases,\n"
            "                         not with --shard: plot --bigwig draws merged tracks) as stacked\n"
            "                         panels, or with --what llr alone the heatmap of its SNVs; SVG (PNG\n"
            "                         when FILE ends in .png; see man hyenadna-plot) [none]\n"
            "No value (a gap) at the first base of a contig in prefix mode (the last too with --rc), with\n"
            "--overlap 0 at the first base of every chunk (with --rc the last too), and at bases other than\n"
            "A, C, G, T; score-variants --all-snvs scores the SNVs of such a chunk or contig end in window\n"
            "mode instead.  Contigs come in the byte order of their names, as bigWig's chromosome tree\n"
            "wants them.\n");
    hd_common_usage(fp);
}

/* ---------------------------------------------------------------- what is written */

enum { W_LOGP = 1, W_ENTROPY = 2, W_IC = 4, W_PROBS = 8, W_LLR = 16 };

static int parse_what(const char *s, int *out)
{
    static const struct { const char *name; int bits; } w[] = {
        {"logp", W_LOGP}, {"entropy", W_ENTROPY}, {"ic", W_IC}, {"probs", W_PROBS}, {"llr", W_LLR},
        {"all", W_LOGP | W_ENTROPY | W_IC | W_PROBS | W_LLR}};
    *out = 0;
    const char *p = s;
    while (*p) {
        size_t n = strcspn(p, ",");
        int found = 0;
        for (size_t i = 0; i < sizeof w / sizeof *w; i++)
            if (strlen(w[i].name) == n && !strncmp(p, w[i].name, n)) { *out |= w[i].bits; found = 1; }
        if (!found) {
            hd_errorf("option --what: '%.*s' is not one of logp, entropy, ic, probs, llr, all", (int)n, p);
            return -1;
        }
        p += n;
        if (*p) p++;
    }
    if (!*out) { hd_errorf("option --what: nothing to compute in '%s'", s); return -1; }
    return 0;
}

/* Is track t (HD_TRK_*) asked for? */
static int wants(int what, int t)
{
    switch (t) {
    case HD_TRK_LOGP: return what & W_LOGP;
    case HD_TRK_ENTROPY: return what & W_ENTROPY;
    case HD_TRK_IC: return what & W_IC;
    default: return what & W_PROBS;
    }
}

static const char *track_desc(int t)
{
    switch (t) {
    case HD_TRK_LOGP: return "log2 p(reference base)";
    case HD_TRK_ENTROPY: return "entropy of p(A,C,G,T) in bits";
    case HD_TRK_IC: return "information content, 2 - entropy";
    default: return "p(base) x information content";
    }
}

static char *out_name(const char *prefix, const char *name, hd_tf_format fmt)
{
    return hd_sprintf("%s.%s.%s", prefix, name, fmt == HD_TF_BIGWIG ? "bw" : "bedgraph.gz");
}

/* An output that exists and is not a regular file (a folder) cannot be replaced: a resource failure (exit 2),
 * as every output that cannot be created. */
static int check_replaceable(const char *path)
{
    struct stat sb;
    if (!stat(path, &sb) && !S_ISREG(sb.st_mode)) {
        hd_errorf("cannot replace the existing output '%s': it is not a regular file", path);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- the outputs of one run */

typedef struct {
    hd_trackfile *tf[HD_TRK_N];
    hd_tabfile *snv;
} outputs;

/* Every output complete under its temporary name(s); 0 on success. */
static int outputs_finish(outputs *o)
{
    for (int t = 0; t < HD_TRK_N; t++)
        if (o->tf[t] && hd_tf_finish(o->tf[t])) return -1;
    if (o->snv && hd_tab_finish(o->snv)) return -1;
    return 0;
}

/* Every finished output renamed into place. */
static int outputs_commit(outputs *o)
{
    int rc = 0;
    for (int t = 0; t < HD_TRK_N; t++) {
        if (o->tf[t] && hd_tf_commit(o->tf[t])) rc = -1;
        o->tf[t] = NULL;
    }
    if (o->snv && hd_tab_commit(o->snv)) rc = -1;
    o->snv = NULL;
    return rc;
}

static void outputs_abort(outputs *o)
{
    for (int t = 0; t < HD_TRK_N; t++) hd_tf_abort(o->tf[t]);
    hd_tab_abort(o->snv);
    memset(o, 0, sizeof *o);
}

/* ---------------------------------------------------------------- regions */

/* A piece of the work: bases [beg, end) of FASTA contig tid, from a region whose chunk grid starts at
 * origin; oid is the contig's place in the output order. */
typedef struct {
    int tid, oid;
    int64_t beg, end;
    size_t origin;
} piece;

static const hd_contigs *sort_dict;
static int cmp_name(const void *a, const void *b)
{
    return strcmp(hd_contigs_name(sort_dict, *(const int *)a), hd_contigs_name(sort_dict, *(const int *)b));
}

static const int *sort_rank;
static int cmp_region(const void *a, const void *b)
{
    const hd_region *x = a, *y = b;
    int rx = sort_rank[hd_contigs_id(sort_dict, x->chrom)], ry = sort_rank[hd_contigs_id(sort_dict, y->chrom)];
    if (rx != ry) return rx < ry ? -1 : 1;
    return x->beg < y->beg ? -1 : x->beg > y->beg;
}

/* ---------------------------------------------------------------- the run */

/* The values of one block of bases [beg, beg + n) of a contig, handed to every consumer: the output files,
 * and a plotting function when there is one (`track --plot`, issue 22: on_block below).  A gap is NaN in
 * v and in llr. */
typedef struct {
    int tid, oid;            /* FASTA contig id, place in the output order */
    const char *chrom;
    int64_t beg;
    size_t n;
    const char *ref;         /* [n] reference bases (A C G T N) */
    float *v[HD_TRK_N];      /* [n] each: logp, entropy, ic, A, C, G, T */
    double (*llr)[4];        /* [n] log p(b) − log p(ref), natural log, b = A C G T (0 at the reference base) */
} block_vals;

typedef struct {
    /* options (parse_args) */
    hd_common_opts co;
    int what, merge;
    hd_tf_format fmt;
    const char *fasta, *prefix, *region, *regfile, *score;
    long chunk, overlap, window;
    hd_shard shard;
    char **merge_parts;    /* --merge: PREFIX PART1 PART2 ... */
    int merge_n;
    hd_vs_opts vo;
    /* state (setup) */
    faidx_t *fai;
    hd_contigs *dict;
    int *order, *rank;     /* output order of the contigs (byte order of the names); rank -1: empty */
    const char **cname;
    int64_t *clen;
    hd_chroms chroms;
    hd_regions rs;
    piece *pcs;            /* this run's pieces of the regions */
    size_t npcs;
    uint64_t total, slo, shi, todo;
    hd_model *m;
    hd_backend *be;
    hd_vs_engine *eng;
    hd_vs_batch *batch;
    outputs out;
    hd_progress prog;
    double t0;
    uint64_t done, nvalues, ngaps;
    /* another consumer of the values (NULL: none) */
    int (*on_block)(void *ud, const block_vals *b);
    void *on_block_ud;
    /* --plot: the values of the one region drawn */
    const char *plot;
    int64_t pl_beg;
    size_t pl_n;
    const char *pl_chrom;
    float *pl_v[HD_TRK_N];   /* [pl_n] each, for the tracks asked for */
    double *pl_llr;          /* [4 pl_n] with --what llr alone (the heatmap) */
    char *pl_ref;            /* [pl_n] */
    /* a block's scratch */
    long *h;                 /* 3 batch handles per base */
    block_vals bv;
    char *bref;
    size_t cap;
    kstring_t line;
} ctx;

static int grow_block(ctx *x, size_t n)
{
    if (n <= x->cap) return 0;
    long *h = realloc(x->h, 3 * n * sizeof *h);
    if (h) x->h = h;
    double(*l)[4] = h ? realloc(x->bv.llr, n * sizeof *l) : NULL;
    if (l) x->bv.llr = l;
    char *r = l ? realloc(x->bref, n) : NULL;
    if (r) x->bref = r;
    for (int t = 0; r && t < HD_TRK_N; t++) {
        float *v = realloc(x->bv.v[t], n * sizeof *v);
        if (!v) { r = NULL; break; }
        x->bv.v[t] = v;
    }
    if (!r) { hd_set_oom("a block of bases"); return -1; }
    x->cap = n;
    return 0;
}

/* Write a block's values to the output files. */
static int write_block(ctx *x, const block_vals *b)
{
    for (size_t i = 0; i < b->n; i++) {
        int64_t p = b->beg + (int64_t)i;
        for (int t = 0; t < HD_TRK_N; t++)
            if (x->out.tf[t] && hd_tf_put(x->out.tf[t], b->oid, p, b->v[t][i])) return -1;
        if (!x->out.snv || isnan(b->v[HD_TRK_LOGP][i])) continue;
        x->line.l = 0;
        for (int k = 0; k < 4; k++) {
            if ("ACGT"[k] == b->ref[i]) continue;
            /* the text score-variants --all-snvs writes for the same SNV: chrom, pos, ref, alt, %.6g */
            char g[HD_G6_MAX];
            int ng = hd_fmt_g6(b->llr[i][k], g);
            kputs(b->chrom, &x->line);
            kputc('\t', &x->line);
            kputll(p + 1, &x->line);
            char ra[5] = {'\t', b->ref[i], '\t', "ACGT"[k], '\t'};
            kputsn(ra, 5, &x->line);
            kputsn(g, (size_t)ng, &x->line);
            kputc('\n', &x->line);
        }
        hd_tab_reach(x->out.snv, p + 1);
        if (hd_tab_write(x->out.snv, x->line.s, x->line.l)) return -1;
    }
    return 0;
}

/* Score bases [a, e) of piece pc (one block): every A/C/G/T base as its three SNVs in the batch planner,
 * one run, then the values from the LLRs. */
static int run_block(ctx *x, const piece *pc, size_t a, size_t e)
{
    const char *name = hd_contigs_name(x->dict, pc->tid);
    size_t clen = (size_t)hd_contigs_len(x->dict, pc->tid), n = e - a;
    hd_vs_contig c = {.id = pc->tid, .name = name, .len = clen, .origin = pc->origin};
    size_t lo, hi;
    hd_vs_span(x->batch, &c, a, e, &lo, &hi);
    if (grow_block(x, n)) return -1;
    char *seq = hd_faidx_fetch(x->fai, x->fasta, name, (int64_t)lo, (int64_t)hi);
    if (!seq) return -1;
    /* the reference as score-variants reads it (hd_vsref_load): a character that is not a base is the error
     * every command gives; the bases a score reads are checked against the stretches of codes other than
     * A, C, G, T, so that a base whose chunk (or masked window) holds an IUPAC code other than N gets no value,
     * as score-variants leaves it unscored (non-ACGT reference in window) */
    size_t bad = hd_bases_check(seq, hi - lo);
    if (bad < hi - lo) {
        hd_set_bases_error(x->fasta, NULL, name, seq[bad], lo + bad);
        free(seq);
        return -1;
    }
    for (size_t i = 0; i < hi - lo; i++)
        if (seq[i] >= 'a' && seq[i] <= 'z') seq[i] -= 32;
    hd_vs_stretches st = {0};
    uint8_t *ids = malloc(hi - lo);
    if (!ids || hd_vs_stretches_build(&st, seq, hi - lo)) {
        free(seq);
        free(ids);
        hd_vs_stretches_free(&st);
        hd_set_oom("a block of the reference");
        return -1;
    }
    for (size_t i = 0; i < st.n; i++) st.v[i].beg += lo, st.v[i].end += lo;   /* contig coordinates */
    hd_vs_seq_ids(seq, hi - lo, ids);
    free(seq);
    c.ids = ids, c.off = lo, c.n = hi - lo, c.stretches = &st;
    int rc = -1;
    for (size_t p = a; p < e; p++) {
        int r = ids[p - lo];
        long *h = x->h + 3 * (p - a);
        x->bref[p - a] = hd_id_base(r);
        if (r < HD_TOK_A || r > HD_TOK_T) { h[0] = -1; continue; }
        for (int b = 0, j = 0; b < 4; b++) {
            int32_t alt = HD_TOK_A + b;
            if (alt == r) continue;
            if ((h[j++] = hd_vs_batch_add(x->batch, &c, p, 1, &alt, 1)) < 0) goto done;
        }
    }
    if (hd_vs_batch_size(x->batch) && hd_vs_batch_run(x->batch)) goto done;
    block_vals *bv = &x->bv;
    bv->tid = pc->tid, bv->oid = pc->oid, bv->chrom = name, bv->beg = (int64_t)a, bv->n = n, bv->ref = x->bref;
    for (size_t i = 0; i < n; i++) {
        int r = ids[a + i - lo];
        const long *h = x->h + 3 * i;
        double *llr = bv->llr[i];
        int gap = h[0] < 0;
        llr[0] = llr[1] = llr[2] = llr[3] = 0;
        for (int b = 0, j = 0; !gap && b < 4; b++) {
            if (HD_TOK_A + b == r) continue;
            if (hd_vs_batch_result(x->batch, h[j++], &llr[b], NULL) != HD_VS_OK || isnan(llr[b])) gap = 1;
        }
        float v[HD_TRK_N];
        if (gap) {
            for (int t = 0; t < HD_TRK_N; t++) v[t] = NAN;
            for (int b = 0; b < 4; b++) llr[b] = NAN;
            x->ngaps++;
        } else {
            hd_track_values(r - HD_TOK_A, llr, v);
            x->nvalues++;
        }
        for (int t = 0; t < HD_TRK_N; t++) bv->v[t][i] = v[t];
    }
    if (write_block(x, bv) || (x->on_block && x->on_block(x->on_block_ud, bv))) goto done;
    rc = 0;
done:
    hd_vs_batch_clear(x->batch);
    hd_vs_stretches_free(&st);
    free(ids);
    return rc;
}

/* Blocks of a piece: whole chunks' worth of bases (prefix, unmasked), so that a chunk is run once, or a
 * fixed number of masked windows. */
static int run_piece(ctx *x, const piece *pc, int nworkers)
{
    size_t clen = (size_t)hd_contigs_len(x->dict, pc->tid);
    int chunks = x->vo.mode == HD_VS_PREFIX || x->vo.mode == HD_VS_UNMASKED;
    hd_vs_grid g;
    hd_vs_grid_init(&g, pc->origin, clen, x->vo.chunk, x->vo.overlap);
    size_t B = 16 * (size_t)nworkers, cap = ((size_t)1 << 20) / g.stride;   /* chunks per block */
    if (B > cap) B = cap;
    if (B < 1) B = 1;
    size_t mb = ((size_t)1 << 22) / x->vo.window;                          /* masked bases per block */
    if (mb < 1) mb = 1;
    for (size_t a = (size_t)pc->beg; a < (size_t)pc->end;) {
        size_t e;
        if (chunks) {   /* up to where chunk first(a) + B starts to own bases: after chunk first(a) + B − 1 ends */
            size_t k = hd_vs_grid_first(&g, a) + B - 1, cs, n;
            hd_vs_grid_chunk(&g, k < g.K ? k : g.K - 1, &cs, &n);
            e = k < g.K ? cs + n : clen;
        } else e = a + mb;
        if (e > (size_t)pc->end) e = (size_t)pc->end;
        if (e <= a) e = a + 1;
        if (run_block(x, pc, a, e)) return -1;
        x->done += e - a;
        hd_progress_update(&x->prog, x->done, 0);
        a = e;
    }
    return 0;
}

/* ---------------------------------------------------------------- --merge */

typedef struct {
    hd_trackfile *tf;
    const char *part;
    int contig;
    int64_t last;
} merge_bw;

static int merge_bw_value(void *ud, int contig, int64_t beg, int64_t end, float v)
{
    merge_bw *mb = ud;
    if (contig < mb->contig || (contig == mb->contig && beg <= mb->last)) {
        hd_set_error(HD_EINPUT, "%s: its values overlap or come before those of the previous part (give the parts in "
                     "shard order)", mb->part);
        return -1;
    }
    for (int64_t p = beg; p < end; p++)
        if (hd_tf_put(mb->tf, contig, p, v)) return -1;
    mb->contig = contig, mb->last = end - 1;
    return 0;
}

typedef struct {
    hd_tabfile *tab;
    int first;            /* copy the '#' lines (of the first part only) */
    int bed;              /* bedGraph rows (CHR BEG END VALUE), else SNV rows (CHR POS REF ALT LLR) */
    const char *part;     /* the file read */
    int part_rows;        /* rows of this part so far */
    kstring_t chrom;      /* the previous row's contig (of this part or an earlier one) */
    long long last;       /* and its end (bedGraph) or position (SNV table); -1 before the first row */
} merge_tab;

/* A table's rows, in the parts given, must come in the order of one run (contigs in the byte order of their
 * names, positions rising; the next part after the previous part's last base): a part given out of order or
 * twice is named, as for bigWig parts, before the index cannot be built. */
static int merge_tab_line(void *ud, const char *line, size_t n)
{
    merge_tab *mt = ud;
    if (n && line[0] == '#') return mt->first ? hd_tab_copy_row(mt->tab, line, n) : 0;
    if (n) {
        const char *tab1 = memchr(line, '\t', n);
        char *e;
        long long beg = tab1 ? strtoll(tab1 + 1, &e, 10) : -1, end = beg;
        if (!tab1 || beg < 0 || (mt->bed && (*e != '\t' || (end = strtoll(e + 1, NULL, 10)) <= beg))) {
            hd_set_error(HD_EINPUT, "%s: not a row of hyenadna track: '%.*s'", mt->part, (int)(n > 60 ? 60 : n), line);
            return -1;
        }
        size_t cl = (size_t)(tab1 - line);
        int c = mt->last < 0 ? 1 : strncmp(line, mt->chrom.s, cl) ? strncmp(line, mt->chrom.s, cl) : (mt->chrom.l > cl ? -1 : 0);
        /* the same contig: a bedGraph row starts at or after the previous end, an SNV row's position is not
         * below the previous one (three rows a base), and above it in a new part */
        if (c < 0 || (!c && (mt->bed ? beg < mt->last : beg < mt->last + (mt->part_rows == 0)))) {
            hd_set_error(HD_EINPUT, "%s: its rows overlap or come before those of the previous part (give the parts in "
                         "shard order)", mt->part);
            return -1;
        }
        if (c) {
            mt->chrom.l = 0;
            kputsn(line, cl, &mt->chrom);
        }
        mt->last = end;
        mt->part_rows++;
    }
    return hd_tab_copy_row(mt->tab, line, n);
}

/* The run's description in a text output's '#' lines, from "model=" on, the model by its last path component
 * (a workflow's tasks may see one model under other folders): "model=NAME (family), score=..., chunk=...". */
static void run_desc(kstring_t *d, const char *line)
{
    const char *m = strstr(line, "model=");
    if (!m) return;
    m += 6;
    const char *paren = strstr(m, " (");
    if (!paren) { kputs(m, d); kputc('\n', d); return; }
    const char *b = m;
    for (const char *q = m; q < paren; q++)
        if (*q == '/' && q + 1 < paren) b = q + 1;
    kputs("model=", d);
    kputsn(b, (size_t)(paren - b) - (paren[-1] == '/'), d);
    kputs(paren, d);
    kputc('\n', d);
}

static int desc_line(void *ud, const char *line, size_t n)
{
    if (!n || line[0] != '#') return 1;   /* the header ends */
    run_desc(ud, line);
    return 0;
}

/* The run descriptions of a table's '#' lines (empty without any); 0, or -1 with the error set. */
static int part_desc(const char *path, kstring_t *d)
{
    d->l = 0;
    kputs("", d);
    return hd_tab_walk(path, desc_line, d) < 0 ? -1 : 0;
}

static int same_chroms(const hd_chroms *a, const hd_chroms *b)
{
    if (a->n != b->n) return 0;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->name[i], b->name[i]) || a->len[i] != b->len[i]) return 0;
    return 1;
}

static int file_exists(const char *p)
{
    struct stat sb;
    return !stat(p, &sb);
}

/* The file of track t (HD_TRK_N: the SNV table) of a run with this prefix. */
static char *part_file(const char *prefix, int t, hd_tf_format fmt)
{
    return t == HD_TRK_N ? hd_sprintf("%s.snv.tsv.gz", prefix) : out_name(prefix, hd_track_name(t), fmt);
}

/* Every track file of the first part, joined over the parts through the writers of a run, so the result
 * is the single run's output. */
static int merge_main(const char *prefix, char **parts, int nparts)
{
    hd_trackfile *bw[HD_TRK_N] = {0};
    hd_tabfile *tab[HD_TRK_N + 1] = {0};
    hd_bwread *r0 = NULL, *rd = NULL;
    char *path = NULL, *src = NULL;
    int status = EXIT_OK, nfound = 0;
    kstring_t d0 = {0, 0, NULL}, di = {0, 0, NULL}, chrom = {0, 0, NULL};
    /* before any work: the text outputs (bedGraph, SNV table) name the run's model and options in their '#'
     * lines, which must be those of the first part (bigWig files have no such record); a track file of a
     * later part that the first part lacks is not merged (a warning: a file of another run?) */
    for (int t = 0; t <= HD_TRK_N; t++) {
        int fmt = -1;
        for (int f = 0; f < (t < HD_TRK_N ? 2 : 1) && fmt < 0; f++) {
            free(src);
            if (!(src = part_file(parts[0], t, (hd_tf_format)f))) { status = EXIT_MODEL; goto done; }
            if (file_exists(src)) fmt = f;
        }
        if (fmt < 0) {
            for (int i = 1; i < nparts; i++)
                for (int f = 0; f < (t < HD_TRK_N ? 2 : 1); f++) {
                    free(src);
                    if (!(src = part_file(parts[i], t, (hd_tf_format)f))) { status = EXIT_MODEL; goto done; }
                    if (file_exists(src))
                        hd_warnf("part %d: '%s' is not merged: the first part, '%s', has no such track file", i + 1, src,
                                 parts[0]);
                }
            continue;
        }
        if (t < HD_TRK_N && fmt == HD_TF_BIGWIG) continue;
        for (int i = 0; i < nparts; i++) {
            free(src);
            if (!(src = part_file(parts[i], t, (hd_tf_format)fmt))) { status = EXIT_MODEL; goto done; }
            if (!file_exists(src)) continue;   /* named below */
            if (part_desc(src, i ? &di : &d0)) { status = hd_fail(); goto done; }
            if (i && strcmp(d0.s, di.s)) {
                char *a = strchr(di.s, '\n'), *b = strchr(d0.s, '\n');
                hd_errorf("part %d: '%s' was made by another run than the first part, '%s': %.*s, not %.*s", i + 1, src,
                          parts[0], a ? (int)(a - di.s) : (int)di.l, di.l ? di.s : "no run description",
                          b ? (int)(b - d0.s) : (int)d0.l, d0.l ? d0.s : "no run description");
                status = EXIT_INPUT;
                goto done;
            }
        }
    }
    for (int t = 0; t <= HD_TRK_N; t++) {
        int fmt = -1;   /* the kind of file the first part has for this track, if any */
        for (int f = 0; f < (t < HD_TRK_N ? 2 : 1) && fmt < 0; f++) {
            free(src);
            if (!(src = part_file(parts[0], t, (hd_tf_format)f))) { status = EXIT_MODEL; goto done; }
            if (file_exists(src)) fmt = f;
        }
        if (fmt < 0) continue;
        nfound++;
        free(path);
        if (!(path = part_file(prefix, t, (hd_tf_format)fmt))) { status = EXIT_MODEL; goto done; }
        if (check_replaceable(path)) { status = EXIT_MODEL; goto done; }
        int bigwig = t < HD_TRK_N && fmt == HD_TF_BIGWIG;
        long long mt_last = -1;
        merge_bw mb = {NULL, NULL, -1, -1};
        for (int i = 0; i < nparts; i++) {
            free(src);
            if (!(src = part_file(parts[i], t, (hd_tf_format)fmt))) { status = EXIT_MODEL; goto done; }
            if (!file_exists(src)) {
                hd_errorf("part %d: '%s' is missing (the first part has it)", i + 1, src);
                status = EXIT_INPUT;
                goto done;
            }
            if (bigwig) {
                if (!(rd = hd_bw_open(src))) { status = hd_fail(); goto done; }
                if (!i) {
                    r0 = rd;
                    if (!(bw[t] = mb.tf = hd_tf_open(path, HD_TF_BIGWIG, hd_bw_chroms(r0), NULL))) {
                        status = hd_fail();
                        goto done;
                    }
                } else if (!same_chroms(hd_bw_chroms(r0), hd_bw_chroms(rd))) {
                    hd_errorf("'%s': its chromosome list differs from that of the first part", src);
                    status = EXIT_INPUT;
                    goto done;
                }
                mb.part = src;
                if (hd_bw_walk(rd, merge_bw_value, &mb)) { status = hd_fail(); goto done; }
                if (rd != r0) hd_bw_close(rd);
                rd = NULL;
            } else {
                if (!i && !(tab[t] = hd_tab_open(path, t == HD_TRK_N ? HD_TAB_SNV : HD_TAB_BED))) {
                    status = hd_fail();
                    goto done;
                }
                if (!i) chrom.l = 0, mt_last = -1;
                merge_tab mt = {tab[t], !i, t < HD_TRK_N, src, 0, chrom, mt_last};
                int r = hd_tab_walk(src, merge_tab_line, &mt);
                chrom = mt.chrom, mt_last = mt.last;
                if (r) { status = hd_fail(); goto done; }
            }
        }
        hd_bw_close(r0);
        r0 = NULL;
    }
    if (!nfound) {
        hd_errorf("no track files of '%s' found (%s.NAME.bw, .NAME.bedgraph.gz or .snv.tsv.gz)", parts[0], parts[0]);
        status = EXIT_INPUT;
        goto done;
    }
    for (int t = 0; t <= HD_TRK_N; t++)
        if ((t < HD_TRK_N && bw[t] && hd_tf_finish(bw[t])) || (tab[t] && hd_tab_finish(tab[t]))) {
            status = hd_fail();
            goto done;
        }
    for (int t = 0; t <= HD_TRK_N; t++) {
        if (t < HD_TRK_N && bw[t] && hd_tf_commit(bw[t])) status = hd_fail();
        if (t < HD_TRK_N) bw[t] = NULL;
        if (tab[t] && hd_tab_commit(tab[t])) status = hd_fail();
        tab[t] = NULL;
    }
done:
    if (rd != r0) hd_bw_close(rd);
    hd_bw_close(r0);
    for (int t = 0; t <= HD_TRK_N; t++) {
        if (t < HD_TRK_N) hd_tf_abort(bw[t]);
        hd_tab_abort(tab[t]);
    }
    free(path);
    free(src);
    free(d0.s);
    free(di.s);
    free(chrom.s);
    return status;
}

/* ---------------------------------------------------------------- --plot */

/* The region drawn: the only one, of 1 .. HD_PLOT_MAX_POSITIONS bases; 0 or an exit status. */
static int plot_open(ctx *x)
{
    if (hd_plot_is_png(x->plot) && hd_plot_png_check()) return hd_fail();
    if (x->rs.n != 1 || x->rs.v[0].end - x->rs.v[0].beg > HD_PLOT_MAX_POSITIONS) {
        hd_errorf("option --plot draws one region of at most %d bases (-r CHR:BEG-END); %s", HD_PLOT_MAX_POSITIONS,
                  x->rs.n != 1 ? "the regions are several" : "the region is longer");
        return EXIT_INPUT;
    }
    x->pl_chrom = x->rs.v[0].chrom;
    x->pl_beg = x->rs.v[0].beg;
    x->pl_n = (size_t)(x->rs.v[0].end - x->rs.v[0].beg);
    int tracks = x->what & (W_LOGP | W_ENTROPY | W_IC | W_PROBS);
    if (!(x->pl_ref = malloc(x->pl_n))) { hd_set_oom("the plot"); return hd_fail(); }
    memset(x->pl_ref, 'N', x->pl_n);
    for (int t = 0; t < HD_TRK_N; t++) {
        if (!tracks || !wants(x->what, t)) continue;
        if (!(x->pl_v[t] = malloc(x->pl_n * sizeof *x->pl_v[t]))) { hd_set_oom("the plot"); return hd_fail(); }
        for (size_t i = 0; i < x->pl_n; i++) x->pl_v[t][i] = NAN;
    }
    if (!tracks) {
        if (!(x->pl_llr = malloc(4 * x->pl_n * sizeof *x->pl_llr))) { hd_set_oom("the plot"); return hd_fail(); }
        for (size_t i = 0; i < 4 * x->pl_n; i++) x->pl_llr[i] = NAN;
    }
    return 0;
}

/* on_block: keep the values of the region drawn */
static int plot_collect(void *ud, const block_vals *b)
{
    ctx *x = ud;
    for (size_t i = 0; i < b->n; i++) {
        int64_t p = b->beg + (int64_t)i - x->pl_beg;
        if (p < 0 || (size_t)p >= x->pl_n) continue;
        x->pl_ref[p] = b->ref[i];
        for (int t = 0; t < HD_TRK_N; t++)
            if (x->pl_v[t]) x->pl_v[t][p] = b->v[t][i];
        if (x->pl_llr)
            for (int k = 0; k < 4; k++) x->pl_llr[4 * p + k] = b->llr[i][k];
    }
    return 0;
}

static int plot_write(ctx *x)
{
    hd_model *m = x->m;
    const char *loc = m->location, *slash = strrchr(loc, '/');
    while (slash && !slash[1] && slash > loc) {   /* a trailing slash: the folder's own name */
        const char *q = slash - 1;
        while (q > loc && *q != '/') q--;
        loc = *q == '/' ? q + 1 : q;
        slash = NULL;
    }
    if (slash) loc = slash + 1;
    kstring_t sub = {0, 0, NULL};
    ksprintf(&sub, "model %.*s (%s) \xc2\xb7 score %s", (int)strcspn(loc, "/"), loc, hd_family_name(m->family),
             hd_vs_mode_name(x->vo.mode));
    if (x->vo.mode == HD_VS_MASKED) ksprintf(&sub, ", %zu-bp windows", x->vo.window);
    else ksprintf(&sub, ", %zu-bp chunks overlapping by %zu", x->vo.chunk, x->vo.overlap);
    if (x->vo.rc) kputs(", mean with the reverse complement", &sub);
    if (!sub.s) { hd_set_oom(NULL); return -1; }
    hd_plot_region r = {x->pl_chrom, x->pl_beg, x->pl_n, x->pl_ref, NULL, sub.s};
    size_t len = 0;
    char *svg;
    if (x->pl_llr) svg = hd_plot_heatmap_svg(&r, x->pl_llr, NULL, &len);
    else {
        hd_plot_track tr[HD_TRK_N];
        int nt = 0;
        for (int t = 0; t < HD_TRK_N; t++)
            if (x->pl_v[t]) tr[nt++] = (hd_plot_track){hd_track_name(t), x->pl_v[t]};
        svg = hd_plot_tracks_svg(&r, tr, nt, &len);
    }
    int rc = svg ? hd_plot_write(x->plot, svg, len, hd_plot_is_png(x->plot)) : -1;
    free(svg);
    free(sub.s);
    return rc;
}

/* ---------------------------------------------------------------- main */

/* 0 ok, 1 --help printed, -1 error (printed) */
static int parse_args(int argc, char **argv, ctx *x)
{
    enum { OPT_WHAT = OPT_COMMON_END, OPT_CHUNK, OPT_OVERLAP, OPT_RC, OPT_SHARD, OPT_MERGE, OPT_PLOT };
    static const struct option lo[] = {
        HD_COMMON_LONGOPTS,
        {"fasta-ref", required_argument, NULL, 'f'}, {"region", required_argument, NULL, 'r'},
        {"regions-file", required_argument, NULL, 'R'}, {"what", required_argument, NULL, OPT_WHAT},
        {"score", required_argument, NULL, 's'}, {"chunk", required_argument, NULL, OPT_CHUNK},
        {"overlap", required_argument, NULL, OPT_OVERLAP}, {"window", required_argument, NULL, 'w'},
        {"rc", no_argument, NULL, OPT_RC}, {"shard", required_argument, NULL, OPT_SHARD},
        {"output", required_argument, NULL, 'o'}, {"output-type", required_argument, NULL, 'O'},
        {"merge", no_argument, NULL, OPT_MERGE}, {"plot", required_argument, NULL, OPT_PLOT}, {NULL, 0, NULL, 0}};
    x->what = W_LOGP | W_ENTROPY;
    x->fmt = HD_TF_BIGWIG;
    x->chunk = x->overlap = x->window = -1;
    int c;
    while ((c = getopt_long(argc, argv, "m:c:@:hf:r:R:s:w:o:O:", lo, NULL)) >= 0) {
        int r = hd_common_opt(&x->co, c, optarg);
        if (r < 0) return -1;
        if (r) continue;
        switch (c) {
        case 'f': x->fasta = optarg; break;
        case 'r': x->region = optarg; break;
        case 'R': x->regfile = optarg; break;
        case OPT_WHAT: if (parse_what(optarg, &x->what)) return -1; break;
        case 's': x->score = optarg; break;
        case OPT_CHUNK: if (hd_parse_long("--chunk", optarg, 1, 1L << 30, &x->chunk)) return -1; break;
        case OPT_OVERLAP: if (hd_parse_long("--overlap", optarg, 0, 1L << 30, &x->overlap)) return -1; break;
        case 'w': if (hd_parse_long("--window", optarg, 1, 1L << 30, &x->window)) return -1; break;
        case OPT_RC: x->vo.rc = 1; break;
        case OPT_SHARD:
            if (hd_shard_parse(optarg, &x->shard)) { hd_errorf("option --shard: %s", hd_error()); return -1; }
            break;
        case 'o': x->prefix = optarg; break;
        case 'O':
            if (!strcmp(optarg, "bigwig") || !strcmp(optarg, "bw")) x->fmt = HD_TF_BIGWIG;
            else if (!strcmp(optarg, "bedgraph") || !strcmp(optarg, "bg")) x->fmt = HD_TF_BEDGRAPH;
            else { hd_errorf("option --output-type: '%s' is not bigwig or bedgraph", optarg); return -1; }
            break;
        case OPT_MERGE: x->merge = 1; break;
        case OPT_PLOT: x->plot = optarg; break;
        case 'h':
        case OPT_HELP: usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (x->merge) {
        x->merge_parts = argv + optind;
        x->merge_n = argc - optind;
    } else if (optind < argc) {
        hd_errorf("unexpected argument '%s'", argv[optind]);
        return -1;
    }
    return 0;
}

/* A prefix ending in '/' names a folder: the outputs would be hidden files in it (DIR/.logp.bw). */
static int prefix_is_folder(const char *opt, const char *prefix)
{
    size_t n = strlen(prefix);
    if (n && prefix[n - 1] == '/') {
        hd_errorf("option %s: '%s' ends in '/': the outputs are named PREFIX.NAME.bw; give a name prefix in the "
                  "folder, such as %stracks", opt, prefix, prefix);
        return -1;
    }
    return 0;
}

/* Options that need nothing opened; 0 ok, -1 error (printed). */
static int check_args(ctx *x)
{
    if (x->merge) {
        if (x->merge_n < 2) { hd_errorf("--merge needs the output PREFIX and at least one PART prefix"); return -1; }
        if (prefix_is_folder("--merge PREFIX", x->merge_parts[0])) return -1;
        if (x->plot) { hd_errorf("option --plot draws a run's values; with --merge use hyenadna plot --bigwig"); return -1; }
        return 0;
    }
    if (!x->fasta) { hd_errorf("a reference FASTA is needed: -f REF.fa"); usage(stderr); return -1; }
    if (!x->prefix || !*x->prefix || !strcmp(x->prefix, "-")) {
        hd_errorf("an output prefix is needed: -o PREFIX (the tracks are several files, PREFIX.NAME.bw)");
        return -1;
    }
    if (prefix_is_folder("-o", x->prefix)) return -1;
    if (x->region && x->regfile) { hd_errorf("options -r and -R cannot be used together"); return -1; }
    if (x->plot && x->shard.n) {
        hd_errorf("option --plot draws the region of one whole run, not of a --shard piece (draw the merged tracks "
                  "with hyenadna plot --bigwig)");
        return -1;
    }
    return 0;
}

/* The reference and its contigs in output order (byte order of the names); 0 or an exit status. */
static int setup_reference(ctx *x)
{
    if (access(x->fasta, R_OK)) {
        hd_errorf("cannot read reference '%s': %s", x->fasta, strerror(errno));
        return EXIT_INPUT;
    }
    if (!(x->fai = hd_faidx_open(x->fasta)) || !(x->dict = hd_contigs_from_fai(x->fai, x->fasta))) return hd_fail();
    int nc = hd_contigs_n(x->dict);
    size_t n = nc ? (size_t)nc : 1;
    x->order = malloc(n * sizeof *x->order);
    x->rank = malloc(n * sizeof *x->rank);
    x->cname = malloc(n * sizeof *x->cname);
    x->clen = malloc(n * sizeof *x->clen);
    if (!x->order || !x->rank || !x->cname || !x->clen) { hd_errorf("out of memory"); return EXIT_MODEL; }
    /* empty records have no bases to show and cannot be in a bigWig's chromosome list */
    int no = 0;
    for (int i = 0; i < nc; i++) {
        x->rank[i] = -1;
        if (hd_contigs_len(x->dict, i) > 0) x->order[no++] = i;
    }
    sort_dict = x->dict;
    qsort(x->order, (size_t)no, sizeof *x->order, cmp_name);
    for (int i = 0; i < no; i++) {
        x->rank[x->order[i]] = i;
        x->cname[i] = hd_contigs_name(x->dict, x->order[i]);
        x->clen[i] = hd_contigs_len(x->dict, x->order[i]);
    }
    x->chroms = (hd_chroms){no, x->cname, x->clen};
    return 0;
}

/* The model, the score mode and the chunking; 0 or an exit status. */
static int setup_model(ctx *x)
{
    if (!(x->m = hd_open_model(x->co.model))) return hd_exit_status(hd_error_kind());
    hd_model *m = x->m;
    int head = 1;   /* logit rows for the model's tokens of A, C, G and T */
    for (int b = HD_TOK_A; b <= HD_TOK_T; b++) head &= hd_model_base_token(m, b) >= 0 && hd_model_base_token(m, b) < m->n_logits;
    if (!head) {
        hd_errorf("%s: the model has no language-model head giving logits for A, C, G, T (%d logit rows); track needs "
                  "one", m->location, m->n_logits);
        return EXIT_INPUT;
    }
    if (x->score) {
        if (hd_vs_mode_parse(x->score, &x->vo.mode) || x->vo.mode == HD_VS_WINDOW) {
            hd_errorf("option --score: '%s' is not one of prefix, masked, unmasked", x->score);
            return EXIT_INPUT;
        }
    } else x->vo.mode = m->causal ? HD_VS_PREFIX : HD_VS_MASKED;
    if (x->vo.mode == HD_VS_PREFIX && !m->causal) {
        hd_errorf("option --score prefix needs a causal model (HyenaDNA); %s is a masked model: use --score masked or "
                  "unmasked", m->location);
        return EXIT_INPUT;
    }
    if (x->vo.mode != HD_VS_PREFIX && m->causal) {
        hd_errorf("option --score %s needs a masked model (Caduceus); %s is causal: its logits at a base predict the "
                  "next one (use --score prefix)", hd_vs_mode_name(x->vo.mode), m->location);
        return EXIT_INPUT;
    }
    long maxlen = m->max_len > 0 ? m->max_len : 0;
    if (x->chunk < 0) x->chunk = maxlen ? maxlen : 1L << 16;
    if (maxlen && x->chunk > maxlen) {
        hd_errorf("option --chunk: %ld exceeds the model's maximum length of %ld", x->chunk, maxlen);
        return EXIT_INPUT;
    }
    if (x->vo.mode == HD_VS_PREFIX && x->chunk < 2) {   /* a chunk's first base has no value in prefix mode */
        hd_errorf("option --chunk: 1 base leaves every base without a value in prefix mode (a base is read given "
                  "the bases before it in its chunk): give at least 2");
        return EXIT_INPUT;
    }
    if (x->overlap < 0) x->overlap = x->chunk / 2;
    if (x->overlap >= x->chunk) {
        hd_errorf("option --overlap: %ld must be smaller than the chunk length %ld", x->overlap, x->chunk);
        return EXIT_INPUT;
    }
    if (x->window < 0) x->window = maxlen && maxlen < 1024 ? maxlen : 1024;
    if (maxlen && x->window > maxlen) {
        hd_errorf("option --window: %ld exceeds the model's maximum length of %ld", x->window, maxlen);
        return EXIT_INPUT;
    }
    x->vo.chunk = (size_t)x->chunk, x->vo.overlap = (size_t)x->overlap, x->vo.window = (size_t)x->window;
    x->vo.n_token = hd_vs_model_has_n(m);   /* N in what a score reads is read as N (score-variants' rule) */
    x->vo.edist = 0, x->vo.prefix_only = 1;
    return 0;
}

/* The regions, sorted in output order and merged, then this run's pieces of them (--shard); each region
 * keeps one chunk grid, from O bases before it.  0 or an exit status. */
static int setup_regions(ctx *x)
{
    hd_regions *rs = &x->rs;
    if (x->region && hd_regions_parse(rs, x->region, x->dict)) { hd_errorf("option -r: %s", hd_error()); return EXIT_INPUT; }
    if (x->regfile && hd_regions_read(rs, x->regfile, x->dict)) return hd_fail();
    for (int i = 0; !x->region && !x->regfile && i < hd_contigs_n(x->dict); i++) {   /* every contig */
        if (hd_contigs_len(x->dict, i) <= 0) continue;
        if (rs->n == rs->m) {
            size_t mm = rs->m ? 2 * rs->m : 16;
            hd_region *v = realloc(rs->v, mm * sizeof *v);
            if (!v) { hd_errorf("out of memory"); return EXIT_MODEL; }
            rs->v = v, rs->m = mm;
        }
        rs->v[rs->n] = (hd_region){hd_strdup(hd_contigs_name(x->dict, i)), 0, hd_contigs_len(x->dict, i), 0};
        if (!rs->v[rs->n++].chrom) { hd_errorf("out of memory"); return EXIT_MODEL; }
    }
    if (!rs->n) {   /* name what is empty: the regions file, the -r list or the reference */
        if (x->regfile) hd_errorf("no regions to compute: '%s' has no region lines", x->regfile);
        else if (x->region) hd_errorf("option -r: no regions to compute in '%s'", x->region);
        else hd_errorf("no regions to compute ('%s' has no bases)", x->fasta);
        return EXIT_INPUT;
    }
    sort_dict = x->dict;
    sort_rank = x->rank;
    qsort(rs->v, rs->n, sizeof *rs->v, cmp_region);
    hd_regions_merge_sorted(rs);
    for (size_t i = 0; i < rs->n; i++) x->total += (uint64_t)(rs->v[i].end - rs->v[i].beg);
    hd_shard_range(&x->shard, x->total, &x->slo, &x->shi);
    if (!(x->pcs = calloc(rs->n, sizeof *x->pcs))) { hd_errorf("out of memory"); return EXIT_MODEL; }
    int chunked = x->vo.mode != HD_VS_MASKED;
    uint64_t at = 0;
    for (size_t i = 0; i < rs->n; i++) {
        const hd_region *r = &rs->v[i];
        uint64_t n = (uint64_t)(r->end - r->beg), b = at > x->slo ? at : x->slo, e = at + n < x->shi ? at + n : x->shi;
        if (b < e) {
            int tid = hd_contigs_id(x->dict, r->chrom);
            x->pcs[x->npcs++] = (piece){tid, x->rank[tid], r->beg + (int64_t)(b - at), r->beg + (int64_t)(e - at),
                                        chunked && r->beg > x->overlap ? (size_t)(r->beg - x->overlap) : 0};
            x->todo += e - b;
        }
        at += n;
    }
    if (x->shard.n)
        hd_infof("shard %ld/%ld: bases %" PRIu64 "-%" PRIu64 " of %" PRIu64, x->shard.i, x->shard.n, x->slo + 1, x->shi,
                 x->total);
    return 0;
}

/* The outputs, under temporary names until the end; 0 or an exit status. */
static int open_outputs(ctx *x)
{
    int status = 0;
    char *path = NULL;
    for (int t = 0; t <= HD_TRK_N && !status; t++) {   /* every output name first: nothing opened on an error */
        if (t < HD_TRK_N ? !wants(x->what, t) : !(x->what & W_LLR)) continue;
        free(path);
        path = t < HD_TRK_N ? out_name(x->prefix, hd_track_name(t), x->fmt) : hd_sprintf("%s.snv.tsv.gz", x->prefix);
        if (!path) status = EXIT_MODEL;
        else if (check_replaceable(path)) status = EXIT_MODEL;
    }
    hd_model *m = x->m;
    kstring_t desc = {0, 0, NULL}, mdesc = {0, 0, NULL};
    ksprintf(&mdesc, "model=%s (%s), score=%s, ", m->location, hd_family_name(m->family), hd_vs_mode_name(x->vo.mode));
    if (x->vo.mode != HD_VS_MASKED) ksprintf(&mdesc, "chunk=%zu, overlap=%zu", x->vo.chunk, x->vo.overlap);
    else ksprintf(&mdesc, "window=%zu", x->vo.window);
    ksprintf(&mdesc, ", rc=%d", x->vo.rc);
    for (int t = 0; t < HD_TRK_N && !status; t++) {
        if (!wants(x->what, t)) continue;
        free(path);
        path = out_name(x->prefix, hd_track_name(t), x->fmt);
        desc.l = 0;
        ksprintf(&desc, "hyenadna track %s: %s; %s", hd_track_name(t), track_desc(t), mdesc.s);
        if (!path || !(x->out.tf[t] = hd_tf_open(path, x->fmt, &x->chroms, desc.s))) status = path ? hd_fail() : EXIT_MODEL;
    }
    if (!status && (x->what & W_LLR)) {
        free(path);
        path = hd_sprintf("%s.snv.tsv.gz", x->prefix);
        if (!path || !(x->out.snv = hd_tab_open(path, HD_TAB_SNV))) status = path ? hd_fail() : EXIT_MODEL;
        else {
            desc.l = 0;
            ksprintf(&desc, "##hyenadna track: llr = log p(ALT) - log p(REF), natural log; %s\n#chrom\tpos\tref\talt\tllr\n",
                     mdesc.s);
            if (hd_tab_write(x->out.snv, desc.s, desc.l)) status = hd_fail();
        }
    }
    free(desc.s);
    free(mdesc.s);
    free(path);
    return status;
}

static int setup(ctx *x)
{
    int status;
    if ((status = setup_reference(x)) || (status = setup_model(x)) || (status = setup_regions(x)) ||
        (x->plot && (status = plot_open(x))) || (status = open_outputs(x)))
        return status;
    if (!(x->be = hd_open_backend(&x->co))) return hd_exit_status(hd_error_kind());
    /* chunks run side by side, one per thread, on private CPU backends (workers.h) */
    if (!(x->eng = hd_vs_engine_new(x->m, x->be, x->be->nthreads)) || !(x->batch = hd_vs_batch_new(x->eng, &x->vo))) return hd_fail();
    return 0;
}

static int run(ctx *x)
{
    if (x->plot) x->on_block = plot_collect, x->on_block_ud = x;
    x->t0 = hd_now();
    hd_progress_start(&x->prog, x->co.progress, "bases", x->todo);
    for (size_t i = 0; i < x->npcs; i++)
        if (run_piece(x, &x->pcs[i], hd_vs_engine_workers(x->eng))) {
            hd_errorf("%s: %s", hd_contigs_name(x->dict, x->pcs[i].tid), hd_error());
            return hd_exit_status(hd_error_kind());
        }
    hd_progress_end(&x->prog);
    /* every output complete, the picture drawn, then the outputs renamed into place */
    if (outputs_finish(&x->out) || (x->plot && plot_write(x)) || outputs_commit(&x->out)) return hd_fail();
    return 0;
}

static void report(ctx *x)
{
    double dt = hd_now() - x->t0;
    if (hd_verbosity >= 2)
        fprintf(stderr, "hyenadna track: %" PRIu64 " bases: %" PRIu64 " with values, %" PRIu64 " gaps; %zu forward passes, "
                "%.2f s, %.0f bases/s\n", x->done, x->nvalues, x->ngaps, hd_vs_engine_forwards(x->eng), dt,
                dt > 0 ? (double)x->done / dt : 0.0);
}

static void ctx_free(ctx *x)
{
    outputs_abort(&x->out);
    free(x->h);
    free(x->bref);
    free(x->bv.llr);
    for (int t = 0; t < HD_TRK_N; t++) free(x->bv.v[t]);
    free(x->line.s);
    for (int t = 0; t < HD_TRK_N; t++) free(x->pl_v[t]);
    free(x->pl_llr);
    free(x->pl_ref);
    hd_vs_batch_free(x->batch);
    hd_vs_engine_free(x->eng);
    hd_backend_free(x->be);
    hd_model_close(x->m);
    hd_regions_free(&x->rs);
    free(x->pcs);
    free(x->order);
    free(x->rank);
    free(x->cname);
    free(x->clen);
    hd_contigs_free(x->dict);
    if (x->fai) fai_destroy(x->fai);
}

int main_track(int argc, char **argv)
{
    ctx X = {0}, *x = &X;
    int r = parse_args(argc, argv, x), status;
    if (r) return r > 0 ? EXIT_OK : EXIT_INPUT;
    if (check_args(x)) return EXIT_INPUT;
    if (x->merge) return merge_main(x->merge_parts[0], x->merge_parts + 1, x->merge_n - 1);
    /* the forward passes allocate and free their buffers (MBs) once per chunk: keep those pages in the
     * heap instead of mapping and faulting them in again each time (a tenth of the CPU time otherwise) */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    if (!(status = setup(x)) && !(status = run(x))) report(x);
    ctx_free(x);
    return status;
}
