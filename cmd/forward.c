/* forward.c -- `hyenadna forward`: run a model on every FASTA record; write safetensors. */
#include "config.h"
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include "hyena.h"
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
            "with --logits and residual.layerK.NAME with --residuals.\n"
            "\n"
            "Output options:\n"
            "  -o, --output FILE      write to FILE [standard output]\n"
            "      --logits           also write the LM logits\n"
            "      --residuals        also write the residual stream after every block\n"
            "      --no-hidden        do not write the hidden states\n"
            "Input options:\n"
            "      --special STR      special tokens: none, cls-sep ([CLS]...[SEP]) or sep (...[SEP]) [none]\n"
            "      --layer INT        hidden.NAME is the residual stream after block INT (0-based) [final norm]\n"
            "      --shift FLOAT      HyenaDNA filter modulation shift [0.05; 0 is the training-code path]\n");
    hd_common_usage(fp);
}

typedef struct {
    hd_stw *w;
    const char *name;
    int failed;
} resid_ctx;

static void on_block(void *ud, int layer, const float *r, size_t L, int width)
{
    resid_ctx *rc = ud;
    char key[1024];
    snprintf(key, sizeof key, "residual.layer%d.%s", layer, rc->name);
    int64_t shape[2] = {(int64_t)L, width};
    if (!rc->failed && hd_stw_add(rc->w, key, HD_F32, 2, shape, r)) rc->failed = 1;
}

typedef struct {
    hd_common_opts co;
    const char *out, *in;
    int want_logits, want_resid, want_hidden, shift_set;
    long layer;
    double shift;
    hd_special sp;
} args;

/* 0 parsed, 1 --help printed, -1 usage error (printed) */
static int parse_args(int argc, char **argv, args *a)
{
    enum { OPT_LOGITS = OPT_COMMON_END, OPT_RESID, OPT_NOHIDDEN, OPT_SPECIAL, OPT_LAYER, OPT_SHIFT };
    static const struct option lo[] = {
        HD_COMMON_LONGOPTS,
        {"output", required_argument, NULL, 'o'}, {"logits", no_argument, NULL, OPT_LOGITS},
        {"residuals", no_argument, NULL, OPT_RESID}, {"no-hidden", no_argument, NULL, OPT_NOHIDDEN},
        {"special", required_argument, NULL, OPT_SPECIAL}, {"layer", required_argument, NULL, OPT_LAYER},
        {"shift", required_argument, NULL, OPT_SHIFT}, {NULL, 0, NULL, 0}};
    *a = (args){.out = "-", .want_hidden = 1, .layer = -1, .shift = 0.05, .sp = HD_SPECIAL_NONE};
    int c;
    while ((c = getopt_long(argc, argv, "m:o:@:h", lo, NULL)) >= 0) {
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
            if (hd_parse_long("--layer", optarg, 0, 1 << 20, &a->layer)) return -1;
            break;
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
    size_t L = rec->len + hd_special_extra(a->sp);
    if (m->max_len > 0 && L > (size_t)m->max_len) {
        hd_errorf("record %s of %s: %zu tokens exceed the model's maximum length of %ld", rec->name, a->in, L,
                  m->max_len);
        return EXIT_INPUT;
    }
    int status = EXIT_OK;
    int32_t *ids = hd_alloc(L * sizeof *ids, "the token ids");
    float *hidden = a->want_hidden ? hd_alloc(L * (size_t)m->d_hidden * sizeof(float), "the hidden states") : NULL;
    float *logits = a->want_logits ? hd_alloc(L * (size_t)m->n_logits * sizeof(float), "the logits") : NULL;
    if (!ids || (a->want_hidden && !hidden) || (a->want_logits && !logits)) { status = hd_fail(); goto done; }
    if (hd_tokenize(rec->seq, rec->len, a->sp, ids, rec->name) < 0) {
        hd_errorf("%s: %s", a->in, hd_error());
        status = EXIT_INPUT;
        goto done;
    }
    resid_ctx rctx = {w, rec->name, 0};
    hd_fwd f = {.hidden = hidden, .logits = logits, .layer = (int)a->layer,
                .on_block = a->want_resid ? on_block : NULL, .ud = &rctx};
    if (hd_model_forward(m, be, ids, L, &f)) {
        hd_errorf("record %s: %s", rec->name, hd_error());
        status = hd_exit_status(hd_error_kind());
        goto done;
    }
    if (rctx.failed) { status = hd_fail(); goto done; }
    char key[1024];
    int64_t s1[1] = {(int64_t)L}, s2[2] = {(int64_t)L, m->d_hidden};
    snprintf(key, sizeof key, "tokens.%s", rec->name);
    if (hd_stw_add(w, key, HD_I32, 1, s1, ids)) { status = hd_fail(); goto done; }
    if (a->want_hidden) {
        snprintf(key, sizeof key, "hidden.%s", rec->name);
        if (hd_stw_add(w, key, HD_F32, 2, s2, hidden)) { status = hd_fail(); goto done; }
    }
    if (a->want_logits) {
        s2[1] = m->n_logits;
        snprintf(key, sizeof key, "logits.%s", rec->name);
        if (hd_stw_add(w, key, HD_F32, 2, s2, logits)) { status = hd_fail(); goto done; }
    }
done:
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
    if (a.layer >= m->n_layer) {
        hd_errorf("option --layer: %ld is not a block of this model (0..%d)", a.layer, m->n_layer - 1);
        status = EXIT_INPUT;
        goto done;
    }
    if (a.shift_set) hd_hyena_set_shift(m, (float)a.shift);
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
    hd_stw_meta(w, "model", m->location);
    hd_stw_meta(w, "family", hd_family_name(m->family));
    hd_stw_meta(w, "special", a.sp == HD_SPECIAL_NONE ? "none" : a.sp == HD_SPECIAL_SEP ? "sep" : "cls-sep");
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
