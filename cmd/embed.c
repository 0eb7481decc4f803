/* embed.c -- `hyenadna embed`: FASTA records, regions, windows or BAM/CRAM reads to embeddings
 * (TSV, BED or safetensors).  The pieces live in src/: regions.c (regions, windows, faidx), bamseq.c
 * (input detection, FASTA and reads), embed.c (pooling, conjoining, the embedder and the writers),
 * embed_run.c (units -> windows -> batches -> writer, and the row count of --shard).  This file parses
 * and checks the options, opens the inputs, runs, and reports. */
#include "config.h"
#include "common.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bamseq.h"
#include "embed.h"
#include "embed_run.h"
#include "input.h"
#include "regions.h"
#include "shard.h"

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
            "  -T, --reference FILE     reference FASTA of a CRAM input, and of '=' bases of SAM/BAM reads\n"
            "                           (checked against a SAM/BAM header: a warning names a contig that differs)\n"
            "      --keep-case          Evo 2 (byte tokens): feed soft-masked lower-case bases as they are\n"
            "                           [upper-case them, as for every model]\n"
            "Read options (SAM/BAM/CRAM input):\n"
            "  -q, --min-mapq INT       skip mapped reads with a lower mapping quality [0]\n"
            "      --unmapped           also embed unmapped reads\n"
            "      --secondary          also embed secondary alignments\n"
            "      --supplementary      also embed supplementary alignments\n"
            "Processing options:\n"
            "  -b, --batch-size INT     sequences per batch, run side by side, one per thread\n"
            "                           [64, or 16 per thread when more]\n"
            "      --shard I/N          embed the I-th of N contiguous blocks of the output rows (1-based);\n"
            "                           the N outputs, concatenated in shard order without their repeated\n"
            "                           header lines, are the output of the whole run (not with input '-')\n");
    hd_common_usage(fp);
}

/* ------------------------------------------------------------------ parse and check */

typedef struct {
    hd_common_opts co;
    const char *out, *fmt_arg, *reference, *in;
    const char **reg_args, **reg_files;
    int n_reg_args, n_reg_files;
    hd_embed_opts eo;
    hd_read_filter rf;
    long window, stride, batch_size;
    int no_split, keep_case;
    const char *layer_arg;   /* --layer, resolved against the model in setup() */
    hd_shard shard;
    hd_emb_fmt fmt;
} args;

static void args_free(args *a)
{
    free(a->reg_args);
    free(a->reg_files);
}

/* 0 parsed, 1 --help printed, -1 usage error (printed), -2 out of memory */
static int parse_args(int argc, char **argv, args *a)
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
    *a = (args){.out = "-", .eo = {.pool = HD_POOL_MEAN, .rc = 0, .layer = -1}};
    a->reg_args = calloc((size_t)argc, sizeof *a->reg_args);
    a->reg_files = calloc((size_t)argc, sizeof *a->reg_files);
    if (!a->reg_args || !a->reg_files) return -2;
    long v;
    int c;
    while ((c = getopt_long(argc, argv, "m:c:o:O:r:R:w:s:T:q:b:@:h", lo, NULL)) >= 0) {
        int r = hd_common_opt(&a->co, c, optarg);
        if (r < 0) return -1;
        if (r) continue;
        switch (c) {
        case 'o': a->out = optarg; break;
        case 'O': a->fmt_arg = optarg; break;
        case OPT_POOL:
            if (hd_pool_parse(optarg, &a->eo.pool)) {
                hd_errorf("option --pool: '%s' is not one of mean, last, max, none", optarg);
                return -1;
            }
            break;
        case OPT_RC: a->eo.rc = 1; break;
        case OPT_LAYER: a->layer_arg = optarg; break;
        case OPT_KEEPCASE: a->keep_case = 1; break;
        case 'r': a->reg_args[a->n_reg_args++] = optarg; break;
        case 'R': a->reg_files[a->n_reg_files++] = optarg; break;
        case 'w': if (hd_parse_long("--window", optarg, 1, (long)1 << 40, &a->window)) return -1; break;
        case 's': if (hd_parse_long("--stride", optarg, 1, (long)1 << 40, &a->stride)) return -1; break;
        case OPT_NOSPLIT: a->no_split = 1; break;
        case 'T': a->reference = optarg; break;
        case 'q':
            if (hd_parse_long("--min-mapq", optarg, 0, 255, &v)) return -1;
            a->rf.min_mapq = (int)v;
            break;
        case OPT_UNMAPPED: a->rf.unmapped = 1; break;
        case OPT_SECONDARY: a->rf.secondary = 1; break;
        case OPT_SUPPL: a->rf.supplementary = 1; break;
        case 'b': if (hd_parse_long("--batch-size", optarg, 1, 1 << 20, &a->batch_size)) return -1; break;
        case OPT_SHARD:
            if (hd_shard_parse(optarg, &a->shard)) {
                hd_errorf("option --shard: %s", hd_error());
                return -1;
            }
            break;
        case 'h':
        case OPT_HELP: usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (!(a->in = hd_input_arg(argc, argv, "FASTA, SAM, BAM or CRAM; '-' for standard input", usage))) return -1;
    return 0;
}

/* the combinations of options and the output format; -1 usage error (printed) */
static int check_args(args *a)
{
    if (a->shard.n && !strcmp(a->in, "-")) {
        hd_errorf("option --shard needs an input file, not standard input: every shard reads the input to count "
                  "the rows before it embeds its block of them");
        return -1;
    }
    if (a->stride && !a->window) {
        hd_errorf("option --stride needs --window");
        return -1;
    }
    if (a->window && !a->stride) a->stride = a->window;
    if (a->window && a->no_split) {
        hd_errorf("options --window and --no-split cannot be combined");
        return -1;
    }
    a->fmt = HD_EMB_TSV;
    if (a->fmt_arg) {
        if (hd_emb_fmt_parse(a->fmt_arg, &a->fmt)) {
            hd_errorf("option --output-fmt: '%s' is not one of tsv, bed, safetensors", a->fmt_arg);
            return -1;
        }
    } else if (strcmp(a->out, "-")) {
        hd_emb_fmt_from_name(a->out, &a->fmt);
    }
    if (a->eo.pool == HD_POOL_NONE && a->fmt != HD_EMB_SAFETENSORS) {
        hd_errorf("option --pool none gives one vector per base and needs safetensors output "
                  "(-O safetensors or -o FILE.safetensors), not %s", hd_emb_fmt_name(a->fmt));
        return -1;
    }
    if (a->fmt == HD_EMB_SAFETENSORS && hd_refuse_tty_output(a->out, "binary safetensors")) return -1;
    return 0;
}

/* ------------------------------------------------------------------ run */

typedef struct {
    hd_model *m;
    hd_backend *be;
    hd_seqin *src;          /* FASTA records or reads; NULL for regions of a FASTA file */
    faidx_t *fai;           /* regions of a FASTA file */
    hd_contigs *dict;
    hd_regions regs;
    int align;
    hd_embedder *emb;
    hd_emb_writer *w;
    hd_embed_run *run;
    hd_embed_windows wo;
    hd_progress pg;
} state;

static void state_free(state *s)
{
    if (s->w) hd_emb_writer_abort(s->w);
    hd_embed_run_free(s->run);
    hd_embedder_free(s->emb);
    hd_regions_free(&s->regs);
    hd_contigs_free(s->dict);
    if (s->fai) fai_destroy(s->fai);
    hd_seqin_close(s->src);
    hd_backend_free(s->be);
    hd_model_close(s->m);
}

/* the input, and the regions asked for (checked against its sequence dictionary); 0 or an exit status */
static int open_input(const args *a, state *s)
{
    if (!(s->src = hd_seqin_open(a->in, a->reference))) return hd_fail();
    s->align = hd_seqin_is_alignment(s->src);
    if (!s->align && (a->rf.unmapped || a->rf.secondary || a->rf.supplementary || a->rf.min_mapq))
        hd_warnf("the read options (-q, --unmapped, --secondary, --supplementary) do not apply to FASTA input %s", a->in);
    if (!s->align && a->reference)
        hd_warnf("option -T/--reference: '%s' is not used: %s is FASTA or FASTQ (-T is the reference of a CRAM input and "
                 "of the '=' bases of SAM/BAM reads)", a->reference, hd_input_name(a->in));
    if (s->align && a->reference) {   /* samtools reads a BAM without its reference; a wrong one is said here */
        char *msg = NULL;
        int r = hd_seqin_check_reference(s->src, &msg);
        if (r < 0) hd_warnf("option -T/--reference: %s (it is read only for the '=' bases of SAM/BAM reads)", hd_error());
        else if (r > 0)
            hd_warnf("option -T/--reference: %s; it is read only for the '=' bases of reads, an error on those contigs",
                     msg);
        free(msg);
    }
    if (a->n_reg_args || a->n_reg_files) {
        if (s->align) {
            s->dict = hd_contigs_from_sam(hd_seqin_header(s->src), a->in);
        } else {
            hd_seqin_close(s->src);
            s->src = NULL;
            if (!(s->fai = hd_faidx_open(a->in))) return hd_fail();
            s->dict = hd_contigs_from_fai(s->fai, a->in);
        }
        if (!s->dict) return hd_fail();
        for (int i = 0; i < a->n_reg_args; i++)
            if (hd_regions_parse(&s->regs, a->reg_args[i], s->dict)) {
                hd_errorf("option --region: %s", hd_error());
                return EXIT_INPUT;
            }
        for (int i = 0; i < a->n_reg_files; i++)
            if (hd_regions_read(&s->regs, a->reg_files[i], s->dict)) return hd_fail();
        if (s->align && hd_seqin_set_regions(s->src, &s->regs)) return hd_fail();
    }
    if (s->align) hd_seqin_set_filter(s->src, &a->rf);
    return 0;
}

static void on_batch(void *ud, uint64_t sequences, uint64_t bases) { hd_progress_update(ud, sequences, bases); }

/* model, input, embedder, writer, the run and its block of rows; 0 or an exit status */
static int setup(const args *a, state *s)
{
    int st;
    if (!(s->m = hd_open_model(a->co.model))) return hd_exit_status(hd_error_kind());
    hd_embed_opts eo = a->eo;
    if (a->layer_arg) {
        int tap;
        if (hd_model_parse_layer(s->m, a->layer_arg, &eo.layer, &tap)) {
            hd_errorf("option --layer: %s", hd_error());
            return EXIT_INPUT;
        }
        eo.has_tap = tap >= 0;
        eo.tap = tap;
    }
    if (a->keep_case) hd_keep_case(s->m);
    if (a->window && s->m->max_len > 0 && a->window > s->m->max_len) {
        hd_errorf("option --window: %ld bases exceed the model's maximum length of %ld", a->window, s->m->max_len);
        return EXIT_INPUT;
    }
    if ((st = open_input(a, s))) return st;
    if (!(s->be = hd_open_backend(&a->co))) return hd_exit_status(hd_error_kind());
    if (!(s->emb = hd_embedder_new(s->m, s->be, &eo))) return hd_fail();
    int width = hd_embedder_width(s->emb);
    if (!(s->w = hd_emb_writer_open(a->out, a->fmt, width, a->eo.pool))) return hd_fail();

    /* a batch holds up to 4 Mbases; with --pool none (one vector per base) up to 256 MB of output */
    size_t max_bases = a->eo.pool == HD_POOL_NONE ? ((size_t)1 << 26) / (size_t)width : (size_t)1 << 22;
    s->wo = (hd_embed_windows){.window = a->window, .stride = a->stride, .no_split = a->no_split,
                               .max_len = s->m->max_len, .input = hd_input_name(a->in),
                               .kind = s->fai ? "region" : s->align ? "read" : "record"};
    /* every thread gets several sequences of a batch (the results do not depend on the batch) */
    size_t batch = a->batch_size ? (size_t)a->batch_size : 16 * (size_t)s->be->nthreads > 64 ? 16 * (size_t)s->be->nthreads : 64;
    if (!(s->run = hd_embed_run_new(s->emb, s->w, a->eo.pool, batch, max_bases, &s->wo))) return hd_fail();
    uint64_t total = 0;
    if (a->shard.n) {
        /* count the rows of the whole run, then take this shard's contiguous block of them */
        uint64_t lo, hi;
        const hd_regions *regs = a->n_reg_args || a->n_reg_files ? &s->regs : NULL;
        if (hd_embed_count_rows(a->in, a->reference, regs, s->fai != NULL, &a->rf, &s->wo, &total))
            return hd_fail();
        hd_shard_range(&a->shard, total, &lo, &hi);
        hd_embed_run_set_shard(s->run, lo, hi, a->shard.i == a->shard.n);
        hd_infof("shard %ld/%ld: rows %" PRIu64 " to %" PRIu64 " of %" PRIu64, a->shard.i, a->shard.n, lo + 1, hi, total);
        total = hi - lo;
    } else if (s->fai) {
        hd_embed_count_rows(a->in, NULL, &s->regs, 1, NULL, &s->wo, &total);
    }
    if (s->src && !s->align) hd_fasta_set_skip_hook(hd_seqin_fasta(s->src), hd_embed_run_skip_hook, s->run);
    hd_progress_start(&s->pg, a->co.progress, "sequences", total);
    hd_embed_run_on_batch(s->run, on_batch, &s->pg);
    return 0;
}

/* every unit of the input (or every region) into the run */
static int run(const args *a, state *s)
{
    if (s->fai) {
        for (size_t i = 0; i < s->regs.n; i++) {
            hd_region *r = &s->regs.v[i];
            if (hd_embed_run_done(s->run)) break;   /* the rest belongs to later shards */
            /* a '-' interval of a BED file is its reverse complement (bed.h), with its own strand whatever --rc:
             * its windows and per-base rows are in that strand's order */
            int minus = r->strand == '-';
            char *nm = hd_region_str_strand(r->chrom, r->beg, r->end, r->strand);
            if (!nm) return hd_fail();
            hd_sequnit u = {.name = nm, .chrom = r->chrom, .start = r->beg, .end = r->end,
                            .strand = minus ? '-' : a->eo.rc ? '.' : '+', .len = (size_t)(r->end - r->beg)};
            int sk = hd_embed_run_skip(s->run, &u, 0);   /* outside this shard's block: not fetched */
            char *seq = sk ? NULL : hd_faidx_fetch_strand(s->fai, a->in, r->chrom, r->beg, r->end, r->strand);
            if (sk || !seq) {
                free(nm);
                if (sk > 0) continue;
                return hd_fail();
            }
            u.seq = seq;
            int rc = hd_embed_run_add(s->run, &u, 0);
            free(nm);
            free(seq);
            if (rc) return hd_fail();
        }
    } else {
        hd_sequnit u;
        int r;
        while ((r = hd_seqin_next(s->src, &u)) > 0) {
            if (!s->align && a->eo.rc) u.strand = '.';
            if (hd_embed_run_add(s->run, &u, s->align)) return hd_fail();
            if (hd_embed_run_done(s->run)) break;   /* the rest belongs to later shards */
        }
        if (r < 0) return hd_fail();
    }
    return hd_embed_run_flush(s->run) ? hd_fail() : 0;
}

/* the safetensors metadata, then the output closed (renamed into place) */
static int finish_output(const args *a, state *s)
{
    char buf[64];
    hd_emb_writer *w = s->w;
    hd_emb_writer_meta(w, "model", s->m->location);
    hd_emb_writer_meta(w, "family", hd_family_name(s->m->family));
    hd_emb_writer_meta(w, "pooling", hd_pool_name(a->eo.pool));
    hd_emb_writer_meta(w, "rc", a->eo.rc ? (s->m->rc_equivariant ? "conjoined" : "averaged") : "no");
    hd_emb_writer_meta(w, "layer", a->layer_arg ? a->layer_arg : "final");
    snprintf(buf, sizeof buf, "%d", hd_embedder_width(s->emb));
    hd_emb_writer_meta(w, "width", buf);
    hd_emb_writer_meta(w, "input", a->in);
    hd_emb_writer_meta(w, "coordinates", "coords.NAME = chrom<TAB>start<TAB>end<TAB>strand, 0-based half-open");
    hd_emb_writer_meta(w, "generator", "hyenadna embed " PACKAGE_VERSION);
    s->w = NULL;
    return hd_emb_writer_close(w) ? hd_fail() : 0;
}

static void report(state *s, long count, long renamed)
{
    hd_progress_end(&s->pg);
    long n_split = hd_embed_run_n_split(s->run);
    if (n_split > 5) hd_warnf("%ld sequences in all were split into windows of the maximum length", n_split);
    if (renamed) hd_warnf("%ld names occurred more than once and were given a suffix _2, _3, ...", renamed);
    if (s->src && s->align) {
        if (hd_seqin_n_noseq(s->src)) hd_warnf("%ld selected reads without a stored sequence were skipped", hd_seqin_n_noseq(s->src));
        hd_infof("%ld reads skipped by the filters", hd_seqin_n_filtered(s->src));
    }
    hd_infof("%ld embeddings written", count);
}

/* ------------------------------------------------------------------ main */

int main_embed(int argc, char **argv)
{
    args a;
    int r = parse_args(argc, argv, &a), status;
    if (r == -2) {
        hd_errorf("out of memory");
        status = EXIT_MODEL;
    } else if (r) {
        status = r > 0 ? EXIT_OK : EXIT_INPUT;
    } else if (check_args(&a)) {
        status = EXIT_INPUT;
    } else {
        state s = {0};
        if (!(status = setup(&a, &s)) && !(status = run(&a, &s))) {
            long count = hd_emb_writer_count(s.w), renamed = hd_emb_writer_renamed(s.w);
            if (!(status = finish_output(&a, &s))) report(&s, count, renamed);
        }
        state_free(&s);
    }
    args_free(&a);
    return status;
}
