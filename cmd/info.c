/* info.c -- `hyenadna info`: describe a model. */
#include "config.h"
#include "common.h"

#include <string.h>

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: hyenadna info [options] [-m MODEL]\n"
            "\n"
            "Describe a model: family, configuration (and where it came from), learned parameters\n"
            "(fixed buffers such as pos_emb.z/t and modulation.deltas not counted), precision in\n"
            "memory, file size, and which tensors were aliased, ignored or defaulted.  Without -m the\n"
            "bundled default model is described.\n"
            "\n"
            "Options:\n"
            "  -m, --model MODEL      model directory (config + model.safetensors, a sharded model's\n"
            "                         model.safetensors.index.json, or a PyTorch checkpoint), .safetensors\n"
            "                         file, index, checkpoint (.pt, .ckpt, .bin), or hf:OWNER/REPO[@REV]\n"
            "                         from the local cache (hyenadna pull)\n"
            "                         [$HYENADNA_MODEL, else the bundled default model]\n"
            "  -c, --config FILE      the model's config (JSON, or vortex YAML for Evo 2) [found with the model]\n"
            "  -t, --tensors          also list every tensor with its dtype and shape\n"
            "      --verbosity INT    0 silent, 1 errors, 2 warnings, 3 information [2]\n"
            "  -h, --help             print this help and exit\n");
}

int main_info(int argc, char **argv)
{
    static const struct option lo[] = {
        {"model", required_argument, NULL, 'm'}, {"config", required_argument, NULL, 'c'}, {"tensors", no_argument, NULL, 't'},
        {"verbosity", required_argument, NULL, OPT_VERBOSITY}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    hd_common_opts co = {0};
    int c, tensors = 0;
    while ((c = getopt_long(argc, argv, "m:c:th", lo, NULL)) >= 0) {
        int r = hd_common_opt(&co, c, optarg);
        if (r < 0) return EXIT_INPUT;
        if (r) continue;
        switch (c) {
        case 't': tensors = 1; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_INPUT;
        }
    }
    if (optind < argc) {
        hd_errorf("unexpected argument '%s' (the model is given with -m)", argv[optind]);
        usage(stderr);
        return EXIT_INPUT;
    }
    hd_model *m = hd_open_model(co.model);
    if (!m) return hd_exit_status(hd_error_kind());

    char sz[32];
    printf("model\t%s\n", m->location);
    printf("weights\t%s\n", m->weights_path);
    printf("config\t%s\n", m->config_path ? m->config_path : "(safetensors __metadata__)");
    if (m->config_note) printf("config_source\t%s\n", m->config_note);
    printf("family\t%s\n", hd_family_name(m->family));
    printf("variant\t%s\n", m->variant);
    printf("d_model\t%d\n", m->d_model);
    printf("n_layer\t%d\n", m->n_layer);
    if (m->max_len > 0) printf("max_length\t%ld\n", m->max_len);
    else printf("max_length\tunlimited\n");
    printf("vocab_size\t%d\n", m->vocab_size);
    printf("logit_rows\t%d\n", m->n_logits);
    printf("hidden_width\t%d\n", m->d_hidden);
    printf("objective\t%s\n", m->causal ? "causal (next base)" : "masked");
    printf("rc_equivariant\t%s\n", !m->rc_equivariant ? "no"
                                     : m->rc_approximate ? "approximate (PS; the reverse-complement half's heads are reversed)"
                                                         : "yes");
    printf("parameters\t%zu\n", hd_model_n_params(m));
    printf("precision\t%s\n", m->precision);
    printf("tokenizer\t%s\n", m->tokenizer == HD_TOKENIZER_BYTES ? "bytes (one id per base byte, upper-cased unless --keep-case)"
                                                                    : "characters (A C G T N, 12 ids)");
    printf("tensors\t%d\n", hd_st_count(m->st));
    printf("file_size\t%zu (%s)\n", hd_st_file_size(m->st), hd_fmt_bytes((double)hd_st_file_size(m->st), sz, sizeof sz));
    printf("backends\t%s\n", hd_backends_compiled());
    /* the device `--device auto` runs this model on */
    int ncuda = hd_cuda_device_count();
    hd_backend *be = hd_backend_new("auto", 1), *use = be ? hd_backend_for(be, m->ops->needs, hd_family_name(m->family)) : NULL;
    if (use && !use->host_memory) printf("device\t%s (auto)\n", hd_backend_device(use));
    else if (be && be->note[0]) printf("device\tcpu (auto; %s)\n", be->note);
    else if (ncuda > 0 && use) printf("device\tcpu (auto; the CUDA backend does not cover %s models)\n", hd_family_name(m->family));
    else printf("device\tcpu (auto; %d CUDA device%s visible)\n", ncuda, ncuda == 1 ? "" : "s");
    hd_backend_free(be);
    for (int i = 0; i < m->n_notes; i++) printf("alias\t%s\n", m->notes[i]);
    if (tensors) {
        static const char *kinds[] = {"unused", "learned", "buffer", "alias"};
        for (int i = 0; i < hd_st_count(m->st); i++) {
            const hd_tensor_info *t = hd_st_get(m->st, i);
            printf("tensor\t%s\t%s\t[", t->name, hd_dtype_name(t->dtype));
            for (int d = 0; d < t->ndim; d++) printf("%s%lld", d ? ", " : "", (long long)t->shape[d]);
            printf("]\t%s\n", kinds[m->used[i] & 3]);
        }
    }
    hd_model_close(m);
    return EXIT_OK;
}
