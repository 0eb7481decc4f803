/* forward.c -- `hyenadna forward`: run a model on every FASTA record; write safetensors. */
#include "config.h"
#include "common.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/hyena.h"
#include "../src/safetensors.h"
#include "../src/seqio.h"
#include "../src/tokenizer.h"

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

typedef struct {
    hd_stw *w;
    const char *name;
    int failed, resid;
    int n_layers;
    const char *layer_name[MAX_LAYERS];
    int layer_block[MAX_LAYERS], layer_tap[MAX_LAYERS];
} resid_ctx;

static void add2(resid_ctx *rc, const char *key, const float *x, size_t L, int width)
{
    int64_t shape[2] = {(int64_t)L, width};
    if (!rc->failed && hd_stw_add(rc->w, key, HD_F32, 2, shape, x)) rc->failed = 1;
}

static void on_block(void *ud, int layer, const float *r, size_t L, int width)
{
    resid_ctx *rc = ud;
    char key[1024];
    if (rc->resid) {
        snprintf(key, sizeof key, "residual.layer%d.%s", layer, rc->name);
        add2(rc, key, r, L, width);
    }
    for (int i = 0; i < rc->n_layers; i++)
        if (rc->layer_block[i] == layer) {
            snprintf(key, sizeof key, "layer.%s.%s", rc->layer_name[i], rc->name);
            add2(rc, key, r, L, width);
        }
}

static void on_tap(void *ud, int tap, const float *x, size_t L, int width)
{
    resid_ctx *rc = ud;
    char key[1024];
    for (int i = 0; i < rc->n_layers; i++)
        if (rc->layer_tap[i] == tap) {
            snprintf(key, sizeof key, "layer.%s.%s", rc->layer_name[i], rc->name);
            add2(rc, key, x, L, width);
        }
}

int main_forward(int argc, char **argv)
{
    enum { OPT_LOGITS = OPT_COMMON_END, OPT_RESID, OPT_NOHIDDEN, OPT_SPECIAL, OPT_LAYER, OPT_SHIFT, OPT_KEEPCASE };
    static const struct option lo[] = {
        HD_COMMON_LONGOPTS,
        {"output", required_argument, NULL, 'o'}, {"logits", no_argument, NULL, OPT_LOGITS},
        {"residuals", no_argument, NULL, OPT_RESID}, {"no-hidden", no_argument, NULL, OPT_NOHIDDEN},
        {"special", required_argument, NULL, OPT_SPECIAL}, {"layer", required_argument, NULL, OPT_LAYER},
        {"shift", required_argument, NULL, OPT_SHIFT}, {"keep-case", no_argument, NULL, OPT_KEEPCASE}, {NULL, 0, NULL, 0}};
    hd_common_opts co = {0};
    const char *out = "-";
    int c, want_logits = 0, want_resid = 0, want_hidden = 1, shift_set = 0, keep_case = 0;
    resid_ctx rctx = {0};
    double shift = 0.05;
    hd_special sp = HD_SPECIAL_NONE;
    while ((c = getopt_long(argc, argv, "m:c:o:@:h", lo, NULL)) >= 0) {
        int r = hd_common_opt(&co, c, optarg);
        if (r < 0) return EXIT_INPUT;
        if (r) continue;
        switch (c) {
        case 'o': out = optarg; break;
        case OPT_LOGITS: want_logits = 1; break;
        case OPT_RESID: want_resid = 1; break;
        case OPT_NOHIDDEN: want_hidden = 0; break;
        case OPT_SPECIAL:
            if (hd_special_parse(optarg, &sp)) {
                hd_errorf("option --special: '%s' is not one of none, cls-sep, sep", optarg);
                return EXIT_INPUT;
            }
            break;
        case OPT_LAYER:
            if (rctx.n_layers == MAX_LAYERS) {
                hd_errorf("option --layer: at most %d layers", MAX_LAYERS);
                return EXIT_INPUT;
            }
            rctx.layer_name[rctx.n_layers++] = optarg;
            break;
        case OPT_KEEPCASE: keep_case = 1; break;
        case OPT_SHIFT:
            if (hd_parse_double("--shift", optarg, -1e6, 1e6, &shift)) return EXIT_INPUT;
            shift_set = 1;
            break;
        case 'h':
        case OPT_HELP: usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_INPUT;
        }
    }
    const char *in;
    if (optind < argc) in = argv[optind++];
    else if (!isatty(STDIN_FILENO)) in = "-";
    else {
        hd_errorf("no input FASTA given");
        usage(stderr);
        return EXIT_INPUT;
    }
    if (optind < argc) {
        hd_errorf("unexpected argument '%s'", argv[optind]);
        return EXIT_INPUT;
    }
    if (hd_refuse_tty_output(out, "binary safetensors")) return EXIT_INPUT;

    int status = EXIT_OK;
    hd_model *m = NULL;
    hd_backend *be = NULL;
    hd_fasta *fa = NULL;
    hd_stw *w = NULL;
    int32_t *ids = NULL;
    float *hidden = NULL, *logits = NULL;

    if (!(m = hd_open_model(co.model))) return hd_error_kind() == HD_EMODEL ? EXIT_MODEL : EXIT_INPUT;
    int taps[MAX_LAYERS], n_taps = 0;
    for (int i = 0; i < rctx.n_layers; i++) {
        if (hd_model_parse_layer(m, rctx.layer_name[i], &rctx.layer_block[i], &rctx.layer_tap[i])) {
            hd_errorf("option --layer: %s", hd_error());
            status = EXIT_INPUT;
            goto done;
        }
        if (rctx.layer_tap[i] >= 0) taps[n_taps++] = rctx.layer_tap[i];
    }
    if (keep_case) hd_keep_case(m);
    if (shift_set) hd_hyena_set_shift(m, (float)shift);
    if (!(be = hd_open_backend(&co))) { status = hd_error_kind() == HD_EMODEL ? EXIT_MODEL : EXIT_INPUT; goto done; }
    if (!(fa = hd_fasta_open(in))) { status = hd_fail(); goto done; }
    if (!(w = hd_stw_open(out))) { status = hd_fail(); goto done; }

    hd_seqrec rec;
    int r;
    long nrec = 0;
    while ((r = hd_fasta_next(fa, &rec)) > 0) {
        size_t L = rec.len + hd_special_extra(sp);
        if (m->max_len > 0 && L > (size_t)m->max_len) {
            hd_errorf("record %s of %s: %zu tokens exceed the model's maximum length of %ld", rec.name, in, L, m->max_len);
            status = EXIT_INPUT;
            goto done;
        }
        free(ids); free(hidden); free(logits);
        ids = malloc((L ? L : 1) * sizeof *ids);
        hidden = want_hidden ? hd_alloc((L ? L : 1) * (size_t)m->d_hidden * sizeof(float), "the hidden states") : NULL;
        logits = want_logits ? hd_alloc((L ? L : 1) * (size_t)m->n_logits * sizeof(float), "the logits") : NULL;
        if (!ids || (want_hidden && !hidden) || (want_logits && !logits)) { status = hd_fail(); goto done; }
        if (hd_model_tokenize(m, rec.seq, rec.len, sp, ids, rec.name) < 0) {
            hd_errorf("%s: %s", in, hd_error());
            status = EXIT_INPUT;
            goto done;
        }
        rctx.w = w;
        rctx.name = rec.name;
        rctx.resid = want_resid;
        hd_fwd f = {.hidden = hidden, .logits = logits, .layer = -1,
                    .on_block = want_resid || rctx.n_layers > n_taps ? on_block : NULL, .ud = &rctx,
                    .taps = taps, .n_taps = n_taps, .on_tap = on_tap};
        if (hd_model_forward(m, be, ids, L, &f)) {
            hd_errorf("record %s: %s", rec.name, hd_error());
            status = hd_error_kind() == HD_EMODEL ? EXIT_MODEL : EXIT_INPUT;
            goto done;
        }
        if (rctx.failed) { status = hd_fail(); goto done; }
        char key[1024];
        int64_t s1[1] = {(int64_t)L}, s2[2] = {(int64_t)L, m->d_hidden};
        snprintf(key, sizeof key, "tokens.%s", rec.name);
        if (hd_stw_add(w, key, HD_I32, 1, s1, ids)) { status = hd_fail(); goto done; }
        if (want_hidden) {
            snprintf(key, sizeof key, "hidden.%s", rec.name);
            if (hd_stw_add(w, key, HD_F32, 2, s2, hidden)) { status = hd_fail(); goto done; }
        }
        if (want_logits) {
            s2[1] = m->n_logits;
            snprintf(key, sizeof key, "logits.%s", rec.name);
            if (hd_stw_add(w, key, HD_F32, 2, s2, logits)) { status = hd_fail(); goto done; }
        }
        nrec++;
    }
    if (r < 0) { status = hd_fail(); goto done; }
    hd_stw_meta(w, "model", m->location);
    hd_stw_meta(w, "family", hd_family_name(m->family));
    hd_stw_meta(w, "special", sp == HD_SPECIAL_NONE ? "none" : sp == HD_SPECIAL_SEP ? "sep" : "cls-sep");
    if (m->tokenizer == HD_TOKENIZER_BYTES) hd_stw_meta(w, "case", m->keep_case ? "kept" : "upper-cased");
    hd_stw_meta(w, "generator", "hyenadna forward " PACKAGE_VERSION);
    if (hd_stw_close(w)) { w = NULL; status = hd_fail(); goto done; }
    w = NULL;
    hd_infof("%ld records", nrec);
done:
    if (w) hd_stw_abort(w);
    free(ids); free(hidden); free(logits);
    hd_fasta_close(fa);
    hd_backend_free(be);
    hd_model_close(m);
    return status;
}
