/* embed.c -- `hyenadna embed`: FASTA records, regions, windows or BAM/CRAM reads to embeddings
 * (TSV, BED or safetensors).  The pieces live in src/: regions.c (regions, windows, faidx), bamseq.c
 * (input detection, FASTA and reads), embed.c (pooling, conjoining, the embedder and the writers). */
#include "config.h"
#include "common.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/bamseq.h"
#include "../src/embed.h"
#include "../src/regions.h"
#include "../src/shard.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: hyenadna embed [options] [-m MODEL] <in.fa>|<in.bam>|<in.cram>|-\n"
            "\n"
            "Embed every FASTA record (or regions, or sliding windows, or the reads of a SAM/BAM/CRAM file)\n"
            "with the model and write one vector per sequence: the model's hidden state pooled over the bases.\n"
            "\n"
            "Output options:\n"
            "  -o, --output FILE        write to FILE [standard output]\n"
            "  -O, --output-fmt FMT     tsv, bed or safetensors [from the suffix of FILE, else tsv]\n"
            "      --pool STR           mean, last, max or none (one vector per base; safetensors only) [mean]\n"
            "      --rc                 average with the reverse complement (Caduceus-PS: conjoin the halves)\n"
            "      --layer LAYER        embed the residual stream after block LAYER (0-based) or, for Evo 2,\n"
            "                           a module output such as blocks.28.mlp.l3 [final norm]\n"
            "Input options:\n"
            "  -r, --region REG[,...]   embed these regions (chr, chr:beg or chr:beg-end, 1-based inclusive)\n"
            "  -R, --regions-file FILE  embed the regions of FILE (.bed: 0-based half-open; else chr beg end 1-based)\n"
            "  -w, --window INT         embed sliding windows of INT bases over each record or region\n"
            "  -s, --stride INT         step between windows [the window width]\n"
            "      --no-split           fail on a sequence longer than the model's maximum length\n"
            "                           [split it into windows of the maximum length, with a warning]\n"
            "  -T, --reference FILE     reference FASTA of a CRAM input\n"
            "      --keep-case          Evo 2 (byte tokens): feed soft-masked lower-case bases as they are\n"
            "                           [upper-case them, as for every model]\n"
            "Read options (SAM/BAM/CRAM input):\n"
            "  -q, --min-mapq INT       skip mapped reads with a lower mapping quality [0]\n"
            "      --unmapped           also embed unmapped reads\n"
            "      --secondary          also embed secondary alignments\n"
            "      --supplementary      also embed supplementary alignments\n"
            "Processing options:\n"
            "  -b, --batch-size INT     sequences grouped by length per batch [64]\n"
            "      --shard I/N          embed the I-th of N contiguous blocks of the output rows (1-based);\n"
            "                           the N outputs, concatenated in shard order without their repeated\n"
            "                           header lines, are the output of the whole run (not with input '-')\n");
    hd_common_usage(fp);
}

/* ------------------------------------------------------------------ batches */

typedef struct {
    char *name, *chrom;
    int64_t start, end;
    char strand;
    char *seq;
    size_t len;
    float *out;
} job;

typedef struct {
    job *v;
    size_t n, m, bases;
    size_t max_n, max_bases;
    hd_embedder *emb;
    hd_emb_writer *w;
    int width;
    hd_pool pool;
    /* progress */
    int progress;
    double t0, last;
    long done, shown;
    size_t done_bases;
    /* --shard: the output rows [lo, hi) of all rows numbered in output order; idx is the next row's number */
    int sharded, is_last;  /* is_last: this is shard N/N */
    uint64_t idx, lo, hi;
} batcher;

static void job_free(job *j)
{
    free(j->name); free(j->chrom); free(j->seq); hd_free(j->out);
    memset(j, 0, sizeof *j);
}

static void progress(batcher *b, int final)
{
    if (!b->progress) return;
    double now = hd_now();
    if (!final && now - b->last < 1.0) return;
    if (final && b->shown == b->done && b->shown) {   /* already on the line: just end it */
        fputc('\n', stderr);
        return;
    }
    b->last = now;
    b->shown = b->done;
    double el = now - b->t0;
    fprintf(stderr, "\rhyenadna embed: %ld sequences, %zu bases, %.0f bases/s%s", b->done, b->done_bases,
            el > 0 ? (double)b->done_bases / el : 0.0, final ? "\n" : "");
    fflush(stderr);
}

static int flush_batch(batcher *b)
{
    if (!b->n) return 0;
    hd_embed_job *ej = malloc(b->n * sizeof *ej);
    if (!ej) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    for (size_t i = 0; i < b->n; i++) ej[i] = (hd_embed_job){b->v[i].seq, b->v[i].len, b->v[i].name, b->v[i].out};
    int rc = hd_embedder_run_batch(b->emb, ej, b->n);
    free(ej);
    for (size_t i = 0; i < b->n && !rc; i++) {
        job *j = &b->v[i];
        rc = hd_emb_writer_add(b->w, j->name, j->chrom, j->start, j->end, j->strand, j->out,
                               b->pool == HD_POOL_NONE ? j->len : 1);
        b->done++;
        b->done_bases += j->len;
    }
    for (size_t i = 0; i < b->n; i++) job_free(&b->v[i]);
    b->n = 0;
    b->bases = 0;
    progress(b, 0);
    return rc;
}

/* queue one sequence (the bases are copied) */
static int add_job(batcher *b, char *name, const char *chrom, int64_t start, int64_t end, char strand,
                   const char *seq, size_t len)
{
    if (b->n == b->m) {
        size_t m = b->m ? 2 * b->m : 64;
        job *v = realloc(b->v, m * sizeof *v);
        if (!v) { free(name); hd_set_error(HD_EMODEL, "out of memory"); return -1; }
        b->v = v;
        b->m = m;
    }
    job *j = &b->v[b->n];
    memset(j, 0, sizeof *j);
    j->name = name;
    j->chrom = hd_strdup(chrom);
    j->start = start;
    j->end = end;
    j->strand = strand;
    j->seq = malloc(len + 1);
    j->len = len;
    size_t rows = b->pool == HD_POOL_NONE ? len : 1, bytes;
    if (hd_mul(rows, (size_t)b->width * sizeof(float), &bytes)) bytes = SIZE_MAX;
    j->out = bytes == SIZE_MAX ? NULL : hd_alloc(bytes, "the embeddings");
    if (!j->name || !j->chrom || !j->seq || !j->out) {
        job_free(j);
        if (bytes == SIZE_MAX || !strstr(hd_error(), "memory")) hd_set_error(HD_EMODEL, "out of memory");
        return -1;
    }
    memcpy(j->seq, seq, len);
    j->seq[len] = 0;
    b->n++;
    b->bases += len;
    if (b->n >= b->max_n || b->bases >= b->max_bases) return flush_batch(b);
    return 0;
}

/* ------------------------------------------------------------------ windows of one sequence */

typedef struct {
    long window, stride;     /* 0: no windows asked */
    int no_split;
    long max_len;            /* the model's, 0 = none */
    int rc;
    const char *input;
    const char *kind;        /* "record", "region" or "read", for messages */
    long n_split, n_empty;
} winopts;

/* The number of output rows (embeddings) of a unit of len bases, as enqueue_unit makes them. */
static uint64_t unit_rows(const winopts *wo, int64_t len)
{
    if (len <= 0) return 0;
    if (wo->window) return hd_window_count(len, wo->window, wo->stride);
    if (wo->max_len > 0 && len > wo->max_len && !wo->no_split) return hd_window_count(len, wo->max_len, wo->max_len);
    return 1;   /* with --no-split a too long unit is one row: its error comes when it is reached */
}

/* A unit: a FASTA record, a region or a read.  region = 1: FASTA coordinates (windows named chr:beg-end);
 * 0: a read (windows named QNAME:beg-end in read coordinates, keeping the alignment's span). */
static int enqueue_unit(batcher *b, winopts *wo, const hd_sequnit *u, int is_read)
{
    uint64_t first = b->idx, nrows = unit_rows(wo, (int64_t)u->len);
    b->idx += nrows;
    /* outside this shard; an empty unit (no row) is reported by the shard holding the row after it */
    if (b->sharded && (nrows ? first + nrows <= b->lo || first >= b->hi : first < b->lo || (first >= b->hi && !b->is_last)))
        return 0;
    if (u->len == 0) {
        if (wo->n_empty++ < 5) hd_warnf("%s %s of %s is empty: skipped", wo->kind, u->name, wo->input);
        return 0;
    }
    int64_t len = (int64_t)u->len, w = 0, s = 0;
    int windowed = 0;
    if (wo->window) {
        w = wo->window;
        s = wo->stride;
        windowed = 1;
    } else if (wo->max_len > 0 && len > wo->max_len) {
        if (wo->no_split) {
            hd_set_error(HD_EINPUT, "%s %s of %s: %" PRId64 " bases exceed the model's maximum length of %ld (--no-split)",
                         wo->kind, u->name, wo->input, len, wo->max_len);
            return -1;
        }
        if (wo->n_split++ < 5)
            hd_warnf("%s %s of %s: %" PRId64 " bases exceed the model's maximum length of %ld: embedding windows of %ld bases",
                     wo->kind, u->name, wo->input, len, wo->max_len, wo->max_len);
        w = s = wo->max_len;
        windowed = 1;
    }
    if (!windowed) {
        if (b->sharded && (first < b->lo || first >= b->hi)) return 0;
        char *nm = hd_strdup(u->name);
        return add_job(b, nm, u->chrom, u->start, u->end, u->strand, u->seq, u->len);
    }
    size_t nw = hd_window_count(len, w, s);
    for (size_t i = 0; i < nw; i++) {
        if (b->sharded && (first + i < b->lo || first + i >= b->hi)) continue;
        int64_t wb, we;
        hd_window_get(len, w, s, i, &wb, &we);
        char *nm;
        int rc;
        if (is_read) {
            nm = hd_sprintf("%s:%" PRId64 "-%" PRId64, u->name, wb + 1, we);
            rc = add_job(b, nm, u->chrom, u->start, u->end, u->strand, u->seq + wb, (size_t)(we - wb));
        } else {
            nm = hd_region_str(u->chrom, u->start + wb, u->start + we);
            rc = add_job(b, nm, u->chrom, u->start + wb, u->start + we, u->strand, u->seq + wb, (size_t)(we - wb));
        }
        if (rc) return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ main */

int main_embed(int argc, char **argv)
{
    enum { OPT_POOL = OPT_COMMON_END, OPT_RC, OPT_LAYER, OPT_NOSPLIT, OPT_UNMAPPED, OPT_SECONDARY, OPT_SUPPL,
           OPT_SHARD, OPT_KEEPCASE };
    static const struct option lo[] = {
        HD_COMMON_LONGOPTS,
        {"output", required_argument, NULL, 'o'}, {"output-fmt", required_argument, NULL, 'O'},
        {"pool", required_argument, NULL, OPT_POOL}, {"rc", no_argument, NULL, OPT_RC},
        {"layer", required_argument, NULL, OPT_LAYER}, {"region", required_argument, NULL, 'r'},
        {"regions", required_argument, NULL, 'r'}, {"regions-file", required_argument, NULL, 'R'},
        {"window", required_argument, NULL, 'w'}, {"stride", required_argument, NULL, 's'},
        {"no-split", no_argument, NULL, OPT_NOSPLIT}, {"reference", required_argument, NULL, 'T'},
        {"min-mapq", required_argument, NULL, 'q'}, {"unmapped", no_argument, NULL, OPT_UNMAPPED},
        {"secondary", no_argument, NULL, OPT_SECONDARY}, {"supplementary", no_argument, NULL, OPT_SUPPL},
        {"batch-size", required_argument, NULL, 'b'}, {"shard", required_argument, NULL, OPT_SHARD},
        {"keep-case", no_argument, NULL, OPT_KEEPCASE},
        {NULL, 0, NULL, 0}};
    hd_common_opts co = {0};
    const char *out = "-", *fmt_arg = NULL, *reference = NULL;
    const char **reg_args = NULL, **reg_files = NULL;
    int n_reg_args = 0, n_reg_files = 0;
    hd_embed_opts eo = {.pool = HD_POOL_MEAN, .rc = 0, .layer = -1};
    const char *layer_arg = NULL;
    int keep_case = 0;
    hd_read_filter rf = {0};
    long v, window = 0, stride = 0, batch_size = 64;
    int no_split = 0, c;
    int status = EXIT_OK;
    hd_shard shard = {0, 0};
    reg_args = calloc((size_t)argc, sizeof *reg_args);
    reg_files = calloc((size_t)argc, sizeof *reg_files);
    if (!reg_args || !reg_files) { free(reg_args); free(reg_files); hd_errorf("out of memory"); return EXIT_MODEL; }
#define USAGE_ERROR() do { status = EXIT_INPUT; goto early; } while (0)
    while ((c = getopt_long(argc, argv, "m:c:o:O:r:R:w:s:T:q:b:@:h", lo, NULL)) >= 0) {
        int r = hd_common_opt(&co, c, optarg);
        if (r < 0) USAGE_ERROR();
        if (r) continue;
        switch (c) {
        case 'o': out = optarg; break;
        case 'O': fmt_arg = optarg; break;
        case OPT_POOL:
            if (hd_pool_parse(optarg, &eo.pool)) {
                hd_errorf("option --pool: '%s' is not one of mean, last, max, none", optarg);
                USAGE_ERROR();
            }
            break;
        case OPT_RC: eo.rc = 1; break;
        case OPT_LAYER: layer_arg = optarg; break;
        case OPT_KEEPCASE: keep_case = 1; break;
        case 'r': reg_args[n_reg_args++] = optarg; break;
        case 'R': reg_files[n_reg_files++] = optarg; break;
        case 'w':
            if (hd_parse_long("--window", optarg, 1, (long)1 << 40, &window)) USAGE_ERROR();
            break;
        case 's':
            if (hd_parse_long("--stride", optarg, 1, (long)1 << 40, &stride)) USAGE_ERROR();
            break;
        case OPT_NOSPLIT: no_split = 1; break;
        case 'T': reference = optarg; break;
        case 'q':
            if (hd_parse_long("--min-mapq", optarg, 0, 255, &v)) USAGE_ERROR();
            rf.min_mapq = (int)v;
            break;
        case OPT_UNMAPPED: rf.unmapped = 1; break;
        case OPT_SECONDARY: rf.secondary = 1; break;
        case OPT_SUPPL: rf.supplementary = 1; break;
        case 'b':
            if (hd_parse_long("--batch-size", optarg, 1, 1 << 20, &batch_size)) USAGE_ERROR();
            break;
        case OPT_SHARD:
            if (hd_shard_parse(optarg, &shard)) {
                hd_errorf("option --shard: %s", hd_error());
                USAGE_ERROR();
            }
            break;
        case 'h':
        case OPT_HELP: usage(stdout); goto early;
        default: usage(stderr); USAGE_ERROR();
        }
    }
    const char *in;
    if (optind < argc) in = argv[optind++];
    else if (!isatty(STDIN_FILENO)) in = "-";
    else {
        hd_errorf("no input given (FASTA, SAM, BAM or CRAM; '-' for standard input)");
        usage(stderr);
        USAGE_ERROR();
    }
    if (optind < argc) {
        hd_errorf("unexpected argument '%s'", argv[optind]);
        USAGE_ERROR();
    }
    if (shard.n && !strcmp(in, "-")) {
        hd_errorf("option --shard needs an input file, not standard input: every shard reads the input to count "
                  "the rows before it embeds its block of them");
        USAGE_ERROR();
    }
    if (stride && !window) {
        hd_errorf("option --stride needs --window");
        USAGE_ERROR();
    }
    if (window && !stride) stride = window;
    if (window && no_split) {
        hd_errorf("options --window and --no-split cannot be combined");
        USAGE_ERROR();
    }
    hd_emb_fmt fmt = HD_EMB_TSV;
    if (fmt_arg) {
        if (hd_emb_fmt_parse(fmt_arg, &fmt)) {
            hd_errorf("option --output-fmt: '%s' is not one of tsv, bed, safetensors", fmt_arg);
            USAGE_ERROR();
        }
    } else if (strcmp(out, "-")) {
        hd_emb_fmt_from_name(out, &fmt);
    }
    if (eo.pool == HD_POOL_NONE && fmt != HD_EMB_SAFETENSORS) {
        hd_errorf("option --pool none gives one vector per base and needs safetensors output "
                  "(-O safetensors or -o FILE.safetensors), not %s", hd_emb_fmt_name(fmt));
        USAGE_ERROR();
    }
    if (fmt == HD_EMB_SAFETENSORS && hd_refuse_tty_output(out, "binary safetensors")) USAGE_ERROR();

    hd_model *m = NULL;
    hd_backend *be = NULL;
    hd_seqin *src = NULL;
    faidx_t *fai = NULL;
    hd_contigs *dict = NULL;
    hd_regions regs = {0};
    hd_embedder *emb = NULL;
    hd_emb_writer *w = NULL;
    batcher bt = {0};
    winopts wo = {0};
    char *regseq = NULL;

    if (!(m = hd_open_model(co.model))) { status = hd_error_kind() == HD_EMODEL ? EXIT_MODEL : EXIT_INPUT; goto done; }
    if (layer_arg) {
        int tap;
        if (hd_model_parse_layer(m, layer_arg, &eo.layer, &tap)) {
            hd_errorf("option --layer: %s", hd_error());
            status = EXIT_INPUT;
            goto done;
        }
        eo.has_tap = tap >= 0;
        eo.tap = tap;
    }
    if (keep_case) hd_keep_case(m);
    if (window && m->max_len > 0 && window > m->max_len) {
        hd_errorf("option --window: %ld bases exceed the model's maximum length of %ld", window, m->max_len);
        status = EXIT_INPUT;
        goto done;
    }
    if (!(src = hd_seqin_open(in, reference))) { status = hd_fail(); goto done; }
    int align = hd_seqin_is_alignment(src);
    int use_regions = n_reg_args || n_reg_files;
    if (!align && (rf.unmapped || rf.secondary || rf.supplementary || rf.min_mapq)) 
        hd_warnf("the read options (-q, --unmapped, --secondary, --supplementary) do not apply to FASTA input %s", in);
    if (use_regions) {
        if (align) {
            dict = hd_contigs_from_sam(hd_seqin_header(src), in);
        } else {
            hd_seqin_close(src);
            src = NULL;
            if (!(fai = hd_faidx_open(in))) { status = hd_fail(); goto done; }
            dict = hd_contigs_from_fai(fai, in);
        }
        if (!dict) { status = hd_fail(); goto done; }
        for (int i = 0; i < n_reg_args; i++)
            if (hd_regions_parse(&regs, reg_args[i], dict)) {
                hd_errorf("option --region: %s", hd_error());
                status = EXIT_INPUT;
                goto done;
            }
        for (int i = 0; i < n_reg_files; i++)
            if (hd_regions_read(&regs, reg_files[i], dict)) { status = hd_fail(); goto done; }
        if (align && hd_seqin_set_regions(src, &regs)) { status = hd_fail(); goto done; }
    }
    if (align) hd_seqin_set_filter(src, &rf);

    if (!(be = hd_open_backend(&co))) { status = hd_error_kind() == HD_EMODEL ? EXIT_MODEL : EXIT_INPUT; goto done; }
    if (!(emb = hd_embedder_new(m, be, &eo))) { status = hd_fail(); goto done; }
    int width = hd_embedder_width(emb);
    if (!(w = hd_emb_writer_open(out, fmt, width, eo.pool))) { status = hd_fail(); goto done; }

    /* a batch holds up to 4 Mbases; with --pool none (one vector per base) up to 256 MB of output */
    size_t max_bases = eo.pool == HD_POOL_NONE ? ((size_t)1 << 26) / (size_t)width : (size_t)1 << 22;
    bt = (batcher){.max_n = (size_t)batch_size, .max_bases = max_bases ? max_bases : 1, .emb = emb, .w = w, .width = width,
                   .pool = eo.pool, .progress = co.progress || isatty(STDERR_FILENO), .t0 = hd_now()};
    bt.last = bt.t0;
    wo = (winopts){.window = window, .stride = stride, .no_split = no_split, .max_len = m->max_len, .rc = eo.rc,
                   .input = strcmp(in, "-") ? in : "standard input", .kind = fai ? "region" : align ? "read" : "record"};

    if (shard.n) {
        /* count the rows of the whole run, then take this shard's contiguous block of them */
        uint64_t total = 0;
        if (fai) {
            for (size_t i = 0; i < regs.n; i++) total += unit_rows(&wo, regs.v[i].end - regs.v[i].beg);
        } else {
            hd_seqin *cnt = hd_seqin_open(in, reference);
            hd_sequnit u;
            int r = cnt ? 0 : -1;
            if (cnt && align) {
                if (use_regions && hd_seqin_set_regions(cnt, &regs)) r = -1;
                hd_seqin_set_filter(cnt, &rf);
            }
            while (!r && (r = hd_seqin_next(cnt, &u)) > 0) {
                total += unit_rows(&wo, (int64_t)u.len);
                r = 0;
            }
            hd_seqin_close(cnt);
            if (r < 0) { status = hd_fail(); goto done; }
        }
        hd_shard_range(&shard, total, &bt.lo, &bt.hi);
        bt.sharded = 1;
        bt.is_last = shard.i == shard.n;
        hd_infof("shard %ld/%ld: rows %" PRIu64 " to %" PRIu64 " of %" PRIu64, shard.i, shard.n, bt.lo + 1, bt.hi, total);
    }

    if (fai) {
        for (size_t i = 0; i < regs.n; i++) {
            hd_region *r = &regs.v[i];
            if (bt.sharded) {   /* skip the regions outside the shard without reading them */
                uint64_t nr = unit_rows(&wo, r->end - r->beg);
                if (bt.idx >= bt.hi && !bt.is_last) break;
                if (nr && (bt.idx + nr <= bt.lo || bt.idx >= bt.hi)) { bt.idx += nr; continue; }
            }
            if (!(regseq = hd_faidx_fetch(fai, in, r->chrom, r->beg, r->end))) { status = hd_fail(); goto done; }
            char *nm = hd_region_str(r->chrom, r->beg, r->end);
            hd_sequnit u = {.name = nm ? nm : r->chrom, .chrom = r->chrom, .start = r->beg, .end = r->end,
                            .strand = eo.rc ? '.' : '+', .seq = regseq, .len = (size_t)(r->end - r->beg)};
            int rc = enqueue_unit(&bt, &wo, &u, 0);
            free(nm);
            free(regseq);
            regseq = NULL;
            if (rc) { status = hd_fail(); goto done; }
        }
    } else {
        hd_sequnit u;
        int r;
        while ((r = hd_seqin_next(src, &u)) > 0) {
            if (!align && eo.rc) u.strand = '.';
            if (enqueue_unit(&bt, &wo, &u, align)) { status = hd_fail(); goto done; }
            if (bt.sharded && bt.idx >= bt.hi && !bt.is_last) break;   /* the rest belongs to later shards */
        }
        if (r < 0) { status = hd_fail(); goto done; }
    }
    if (flush_batch(&bt)) { status = hd_fail(); goto done; }

    char buf[64];
    hd_emb_writer_meta(w, "model", m->location);
    hd_emb_writer_meta(w, "family", hd_family_name(m->family));
    hd_emb_writer_meta(w, "pooling", hd_pool_name(eo.pool));
    hd_emb_writer_meta(w, "rc", eo.rc ? (m->rc_equivariant ? "conjoined" : "averaged") : "no");
    hd_emb_writer_meta(w, "layer", layer_arg ? layer_arg : "final");
    snprintf(buf, sizeof buf, "%d", width);
    hd_emb_writer_meta(w, "width", buf);
    hd_emb_writer_meta(w, "input", in);
    hd_emb_writer_meta(w, "coordinates", "coords.NAME = chrom<TAB>start<TAB>end<TAB>strand, 0-based half-open");
    hd_emb_writer_meta(w, "generator", "hyenadna embed " PACKAGE_VERSION);
    long count = hd_emb_writer_count(w), renamed = hd_emb_writer_renamed(w);
    int rc = hd_emb_writer_close(w);
    w = NULL;
    if (rc) { status = hd_fail(); goto done; }
    if (bt.done_bases && bt.progress) progress(&bt, 1);
    if (wo.n_split > 5) hd_warnf("%ld sequences in all were split into windows of the maximum length", wo.n_split);
    if (wo.n_empty > 5) hd_warnf("%ld empty sequences in all were skipped", wo.n_empty);
    if (renamed) hd_warnf("%ld names occurred more than once and were given a suffix _2, _3, ...", renamed);
    if (src && align) {
        if (hd_seqin_n_noseq(src)) hd_warnf("%ld selected reads without a stored sequence were skipped", hd_seqin_n_noseq(src));
        hd_infof("%ld reads skipped by the filters", hd_seqin_n_filtered(src));
    }
    hd_infof("%ld embeddings written", count);
done:
    if (w) hd_emb_writer_abort(w);
    for (size_t i = 0; i < bt.n; i++) job_free(&bt.v[i]);
    free(bt.v);
    free(regseq);
    hd_embedder_free(emb);
    hd_regions_free(&regs);
    hd_contigs_free(dict);
    if (fai) fai_destroy(fai);
    hd_seqin_close(src);
    hd_backend_free(be);
    hd_model_close(m);
early:
    free(reg_args);
    free(reg_files);
    return status;
}
