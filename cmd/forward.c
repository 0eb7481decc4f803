/* forward.c -- `hyenadna forward`: run a model on every FASTA record; write safetensors. */
#include "config.h"
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include "hyena.h"
#include "input.h"
#include "safetensors.h"
#include "seqio.h"
#include "tokenizer.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: hyenadna forward [options] [-m MODEL] <in.fa>|-\n"
            "\n"
            "Run the model on every FASTA record and write a safetensors file with, per record NAME\n"
            "(the first word of the header): tokens.NAME (I32 [L], the ids fed) and hidden.NAME\n"
            "(F32 [L, width], the final normed hidden state), plus logits.NAME (F32 [L, rows])\n"
            "with --logits, residual.layerK.NAME with --residuals and layer.LAYER.NAME for each --layer.\n"
            "\n"
            "Output options:\n"
            "  -o, --output FILE      write to FILE [standard output]\n"
            "      --logits           also write the LM logits\n"
            "      --residuals        also write the residual stream after every block\n"
            "      --no-hidden        do not write the hidden states\n"
            "      --layer LAYER      also write layer.LAYER.NAME (F32 [L, width]): LAYER is a block index K (the\n"
            "                         residual stream after block K, 0-based) or, for Evo 2, a module output\n"
            "                         such as blocks.K.mlp.l3; repeatable\n"
            "Input options:\n"
            "      --special STR      special tokens: none, cls-sep ([CLS]...[SEP]) or sep (...[SEP]) [none]\n"
            "      --keep-case        Evo 2 (byte tokens): feed soft-masked lower-case bases as they are\n"
            "                         [upper-case them, as for every model]\n"
            "      --shift FLOAT      HyenaDNA filter modulation shift [0.05; 0 is the training-code path]\n");
    hd_common_usage(fp);
}

#define MAX_LAYERS 64

/* where the per-block and sub-module outputs of a record go */
typedef struct {
    hd_stw *w;
    const char *name;
    int failed, resid;
    int n_layers;
    const char *const *layer_name;
    const int *layer_block, *layer_tap;
} resid_ctx;

/* key: allocated (hd_sprintf, NULL when out of memory), freed here; names of any length are whole keys */
static void add2(resid_ctx *rc, char *key, const float *x, size_t L, int width)
{
    int64_t shape[2] = {(int64_t)L, width};
    if (!rc->failed && (!key || hd_stw_add(rc->w, key, HD_F32, 2, shape, x))) rc->failed = 1;
    free(key);
}

static void on_block(void *ud, int layer, const float *r, size_t L, int width)
{
    resid_ctx *rc = ud;
    if (rc->resid) add2(rc, hd_sprintf("residual.layer%d.%s", layer, rc->name), r, L, width);
    for (int i = 0; i < rc->n_layers; i++)
        if (rc->layer_block[i] == layer) add2(rc, hd_sprintf("layer.%s.%s", rc->layer_name[i], rc->name), r, L, width);
}

static void on_tap(void *ud, int tap, const float *x, size_t L, int width)
{
    resid_ctx *rc = ud;
    for (int i = 0; i < rc->n_layers; i++)
        if (rc->layer_tap[i] == tap) add2(rc, hd_sprintf("layer.%s.%s", rc->layer_name[i], rc->name), x, L, width);
}

typedef struct {
    hd_common_opts co;
    const char *out, *in;
    int want_logits, want_resid, want_hidden, shift_set, keep_case;
    int n_layers;                        /* --layer NAME..., resolved against the model by main_forward */
    const char *layer_name[MAX_LAYERS];
    int layer_block[MAX_LAYERS], layer_tap[MAX_LAYERS];
    int taps[MAX_LAYERS], n_taps;
    double shift;
    hd_special sp;
} args;

/* 0 parsed, 1 --help printed, -1 usage error (printed) */
static int parse_args(int argc, char **argv, args *a)
{
    enum { OPT_LOGITS = OPT_COMMON_END, OPT_RESID, OPT_NOHIDDEN, OPT_SPECIAL, OPT_LAYER, OPT_SHIFT, OPT_KEEPCASE };
    static const struct option lo[] = {
        HD_COMMON_LONGOPTS,
        {"output", required_argument, NULL, 'o'}, {"logits", no_argument, NULL, OPT_LOGITS},
        {"residuals", no_argument, NULL, OPT_RESID}, {"no-hidden", no_argument, NULL, OPT_NOHIDDEN},
        {"special", required_argument, NULL, OPT_SPECIAL}, {"layer", required_argument, NULL, OPT_LAYER},
        {"shift", required_argument, NULL, OPT_SHIFT}, {"keep-case", no_argument, NULL, OPT_KEEPCASE}, {NULL, 0, NULL, 0}};
    *a = (args){.out = "-", .want_hidden = 1, .shift = 0.05, .sp = HD_SPECIAL_NONE};
    int c;
    while ((c = getopt_long(argc, argv, "m:c:o:@:h", lo, NULL)) >= 0) {
        int r = hd_common_opt(&a->co, c, optarg);
        if (r < 0) return -1;
        if (r) continue;
        switch (c) {
        case 'o': a->out = optarg; break;
        case OPT_LOGITS: a->want_logits = 1; break;
        case OPT_RESID: a->want_resid = 1; break;
        case OPT_NOHIDDEN: a->want_hidden = 0; break;
        case OPT_SPECIAL:
            if (hd_special_parse(optarg, &a->sp)) {
                hd_errorf("option --special: '%s' is not one of none, cls-sep, sep", optarg);
                return -1;
            }
            break;
        case OPT_LAYER:
            if (a->n_layers == MAX_LAYERS) {
                hd_errorf("option --layer: at most %d layers", MAX_LAYERS);
                return -1;
            }
            for (int i = 0; i < a->n_layers; i++)
                if (!strcmp(a->layer_name[i], optarg)) {   /* one tensor per name and record */
                    hd_errorf("option --layer: '%s' is given twice", optarg);
                    return -1;
                }
            a->layer_name[a->n_layers++] = optarg;
            break;
        case OPT_KEEPCASE: a->keep_case = 1; break;
        case OPT_SHIFT:
            if (hd_parse_double("--shift", optarg, -1e6, 1e6, &a->shift)) return -1;
            a->shift_set = 1;
            break;
        case 'h':
        case OPT_HELP: usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (!(a->in = hd_input_arg(argc, argv, "a FASTA or FASTQ file; '-' for standard input", usage))) return -1;
    return hd_refuse_tty_output(a->out, "binary safetensors") ? -1 : 0;
}

/* one record through the model, its tensors added to w; an exit status */
static int forward_record(const args *a, hd_model *m, hd_backend *be, hd_stw *w, const hd_seqrec *rec)
{
    size_t L = rec->len + hd_special_extra(a->sp), bad;
    if (!hd_utf8_valid(rec->name, &bad)) {   /* a JSON key would drop it (src/safetensors.c uses jansson) */
        hd_errorf("record '%s' (record number %ld) of %s: the name is not valid UTF-8 text (byte %zu), which "
                  "safetensors tensor names must be: rename the record", rec->name, rec->index + 1,
                  hd_input_name(a->in), bad + 1);
        return EXIT_INPUT;
    }
    if (m->max_len > 0 && L > (size_t)m->max_len) {
        hd_errorf("record '%s' of %s: %zu tokens exceed the model's maximum length of %ld", rec->name, hd_input_name(a->in), L,
                  m->max_len);
        return EXIT_INPUT;
    }
    int status = EXIT_OK;
    char *key = NULL;
    int32_t *ids = hd_alloc(L * sizeof *ids, "the token ids");
    float *hidden = a->want_hidden ? hd_alloc(L * (size_t)m->d_hidden * sizeof(float), "the hidden states") : NULL;
    float *logits = a->want_logits ? hd_alloc(L * (size_t)m->n_logits * sizeof(float), "the logits") : NULL;
    if (!ids || (a->want_hidden && !hidden) || (a->want_logits && !logits)) { status = hd_fail(); goto done; }
    if (hd_model_tokenize(m, rec->seq, rec->len, a->sp, ids, rec->name) < 0) {
        hd_errorf("%s: %s", hd_input_name(a->in), hd_error());
        status = EXIT_INPUT;
        goto done;
    }
    resid_ctx rctx = {w, rec->name, 0, a->want_resid, a->n_layers, a->layer_name, a->layer_block, a->layer_tap};
    hd_fwd f = {.hidden = hidden, .logits = logits, .layer = -1,
                .on_block = a->want_resid || a->n_layers > a->n_taps ? on_block : NULL, .ud = &rctx,
                .taps = a->taps, .n_taps = a->n_taps, .on_tap = on_tap};
    if (hd_model_forward(m, be, ids, L, &f)) {
        hd_errorf("%s: record '%s': %s", a->in, rec->name, hd_error());
        status = hd_exit_status(hd_error_kind());
        goto done;
    }
    if (rctx.failed) { status = hd_fail(); goto done; }
    int64_t s1[1] = {(int64_t)L}, s2[2] = {(int64_t)L, m->d_hidden};
    if (!(key = hd_sprintf("tokens.%s", rec->name)) || hd_stw_add(w, key, HD_I32, 1, s1, ids)) { status = hd_fail(); goto done; }
    if (a->want_hidden) {
        free(key);
        if (!(key = hd_sprintf("hidden.%s", rec->name)) || hd_stw_add(w, key, HD_F32, 2, s2, hidden)) { status = hd_fail(); goto done; }
    }
    if (a->want_logits) {
        s2[1] = m->n_logits;
        free(key);
        if (!(key = hd_sprintf("logits.%s", rec->name)) || hd_stw_add(w, key, HD_F32, 2, s2, logits)) { status = hd_fail(); goto done; }
    }
done:
    free(key);
    hd_free(ids); hd_free(hidden); hd_free(logits);
    return status;
}

int main_forward(int argc, char **argv)
{
    args a;
    int r = parse_args(argc, argv, &a);
    if (r) return r > 0 ? EXIT_OK : EXIT_INPUT;

    int status = EXIT_OK;
    hd_model *m = NULL;
    hd_backend *be = NULL;
    hd_fasta *fa = NULL;
    hd_stw *w = NULL;
    if (!(m = hd_open_model(a.co.model))) return hd_exit_status(hd_error_kind());
    if (hd_model_special_check(m, a.sp)) {   /* before any input is read, not at the first record */
        hd_errorf("option --special %s: %s", a.sp == HD_SPECIAL_SEP ? "sep" : "cls-sep", hd_error());
        status = EXIT_INPUT;
        goto done;
    }
    for (int i = 0; i < a.n_layers; i++) {
        if (hd_model_parse_layer(m, a.layer_name[i], &a.layer_block[i], &a.layer_tap[i])) {
            hd_errorf("option --layer: %s", hd_error());
            status = EXIT_INPUT;
            goto done;
        }
        if (a.layer_tap[i] >= 0) a.taps[a.n_taps++] = a.layer_tap[i];
    }
    if (a.keep_case) hd_keep_case(m);
    if (a.shift_set && m->family != HD_FAM_HYENA)   /* the modulation of HyenaDNA's filters (docs/models.md §3.4) */
        hd_warnf("option --shift: %s has no HyenaDNA filter modulation (a %s model): not used", m->location,
                 hd_family_name(m->family));
    else if (a.shift_set) hd_hyena_set_shift(m, (float)a.shift);
    if (!(be = hd_open_backend(&a.co))) { status = hd_exit_status(hd_error_kind()); goto done; }
    if (!(fa = hd_fasta_open(a.in))) { status = hd_fail(); goto done; }
    if (!(w = hd_stw_open(a.out))) { status = hd_fail(); goto done; }

    hd_seqrec rec;
    long nrec = 0;
    uint64_t nbases = 0;
    hd_progress pg;
    hd_progress_start(&pg, a.co.progress, "records", 0);
    while ((r = hd_fasta_next(fa, &rec)) > 0) {
        if ((status = forward_record(&a, m, be, w, &rec))) goto done;
        nrec++;
        nbases += rec.len;
        hd_progress_update(&pg, (uint64_t)nrec, nbases);
    }
    hd_progress_end(&pg);
    if (r < 0) { status = hd_fail(); goto done; }
    hd_stw_meta_text(w, "model", m->location);
    hd_stw_meta(w, "family", hd_family_name(m->family));
    hd_stw_meta(w, "special", a.sp == HD_SPECIAL_NONE ? "none" : a.sp == HD_SPECIAL_SEP ? "sep" : "cls-sep");
    if (m->tokenizer == HD_TOKENIZER_BYTES) hd_stw_meta(w, "case", m->keep_case ? "kept" : "upper-cased");
    hd_stw_meta(w, "generator", "hyenadna forward " PACKAGE_VERSION);
    if (hd_stw_close(w)) { w = NULL; status = hd_fail(); goto done; }
    w = NULL;
    hd_infof("%ld records", nrec);
done:
    if (w) hd_stw_abort(w);
    hd_fasta_close(fa);
    hd_backend_free(be);
    hd_model_close(m);
    return status;
}
