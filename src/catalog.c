/* catalog.c -- the public checkpoints hyenadna knows of, and whether this build can load them.
 *
 * Sizes, context lengths and formats as the releases publish them (docs/models.md §3.1, §4.1, §5.1, §6.1;
 * PlantCaduceus: the kuleshov-group/PlantCaduceus README).  Whether an entry is supported is asked of the
 * build itself: the family must be one the model loader knows (hd_family_name), and an entry that needs more
 * (FP8 projections) says so. */
#include "catalog.h"
#include "hub.h"
#include "model.h"
#include "output.h"
#include "safetensors.h"
#include "util.h"

#include <dirent.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HF "safetensors"
#define XLSTM_URL "https://ml.jku.at/research/Bio-xLSTM/downloads/DNA-xLSTM/checkpoints"

static const hd_catalog_entry catalog[] = {
    /* HyenaDNA (docs/models.md §3.1): the HF-format repositories */
    {"LongSafari/hyenadna-tiny-1k-seqlen-hf", "hyenadna-tiny-1k", "hyenadna", "", "0.44M", 1024, "next-base", HF, NULL, NULL},
    {"LongSafari/hyenadna-tiny-1k-seqlen-d256-hf", "hyenadna-tiny-1k-d256", "hyenadna", "", "1.6M", 1024, "next-base", HF, NULL, NULL},
    {"LongSafari/hyenadna-tiny-16k-seqlen-d128-hf", "hyenadna-tiny-16k", "hyenadna", "", "0.44M", 16384, "next-base", HF, NULL, NULL},
    {"LongSafari/hyenadna-small-32k-seqlen-hf", "hyenadna-small-32k", "hyenadna", "", "3.3M", 32768, "next-base", HF, NULL, NULL},
    {"LongSafari/hyenadna-medium-160k-seqlen-hf", "hyenadna-medium-160k", "hyenadna", "", "6.6M", 160000, "next-base", HF, NULL, NULL},
    {"LongSafari/hyenadna-medium-450k-seqlen-hf", "hyenadna-medium-450k", "hyenadna", "", "6.6M", 450000, "next-base", HF, NULL, NULL},
    {"LongSafari/hyenadna-large-1m-seqlen-hf", "hyenadna-large-1m", "hyenadna", "", "6.6M", 1000000, "next-base", HF, NULL, NULL},
    /* Caduceus (§4.1) */
    {"kuleshov-group/caduceus-ps_seqlen-131k_d_model-256_n_layer-16", "caduceus-ps-131k", "caduceus", "PS", "7.7M", 131072, "masked", HF, NULL, NULL},
    {"kuleshov-group/caduceus-ph_seqlen-131k_d_model-256_n_layer-16", "caduceus-ph-131k", "caduceus", "PH", "7.7M", 131072, "masked", HF, NULL, NULL},
    {"kuleshov-group/caduceus-ps_seqlen-1k_d_model-256_n_layer-4_lr-8e-3", "caduceus-ps-1k", "caduceus", "PS", "1.9M", 1024, "masked", HF, NULL, NULL},
    {"kuleshov-group/caduceus-ph_seqlen-1k_d_model-256_n_layer-4_lr-8e-3", "caduceus-ph-1k", "caduceus", "PH", "1.9M", 1024, "masked", HF, NULL, NULL},
    {"kuleshov-group/caduceus-ps_seqlen-1k_d_model-118_n_layer-4_lr-8e-3", "caduceus-ps-1k-d118", "caduceus", "PS", "0.47M", 1024, "masked", HF, NULL, NULL},
    {"kuleshov-group/caduceus-ph_seqlen-1k_d_model-118_n_layer-4_lr-8e-3", "caduceus-ph-1k-d118", "caduceus", "PH", "0.47M", 1024, "masked", HF, NULL, NULL},
    /* PlantCaduceus: Caduceus-PS with its own vocabulary (tokenizer.json) and complement map (§4) */
    {"kuleshov-group/PlantCaduceus_l20", "plantcaduceus-l20", "caduceus", "PS, PlantCaduceus", "20M", 512, "masked", "PyTorch .bin", NULL, NULL},
    {"kuleshov-group/PlantCaduceus_l24", "plantcaduceus-l24", "caduceus", "PS, PlantCaduceus", "40M", 512, "masked", "PyTorch .bin", NULL, NULL},
    {"kuleshov-group/PlantCaduceus_l28", "plantcaduceus-l28", "caduceus", "PS, PlantCaduceus", "128M", 512, "masked", "PyTorch .bin", NULL, NULL},
    {"kuleshov-group/PlantCaduceus_l32", "plantcaduceus-l32", "caduceus", "PS, PlantCaduceus", "225M", 512, "masked", "PyTorch .bin", NULL, NULL},
    /* DNA-xLSTM (§5.1): not on the Hub; Lightning checkpoints from the authors' server */
    {NULL, "dna_xlstm_500k_mlm_ph", "xlstm", "PH", "0.5M", 1024, "masked", "Lightning .ckpt", NULL, XLSTM_URL "/context_1k/dna_xlstm_500k_mlm_ph"},
    {NULL, "dna_xlstm_500k_mlm_ps", "xlstm", "PS", "0.5M", 1024, "masked", "Lightning .ckpt", NULL, XLSTM_URL "/context_1k/dna_xlstm_500k_mlm_ps"},
    {NULL, "dna_xlstm_2m_mlm_ph", "xlstm", "PH", "2M", 1024, "masked", "Lightning .ckpt", NULL, XLSTM_URL "/context_1k/dna_xlstm_2m_mlm_ph"},
    {NULL, "dna_xlstm_2m_mlm_ps", "xlstm", "PS", "2M", 1024, "masked", "Lightning .ckpt", NULL, XLSTM_URL "/context_1k/dna_xlstm_2m_mlm_ps"},
    /* Evo 2 (§6.1): one torch.save .pt per repository (the 40B ones in two parts); 1B, 20B and 40B need FP8 */
    {"arcinstitute/evo2_1b_base", "evo2_1b_base", "evo2", "", "1B", 8192, "next-base", "PyTorch .pt", "fp8", NULL},
    {"arcinstitute/evo2_7b_base", "evo2_7b_base", "evo2", "", "7B", 8192, "next-base", "PyTorch .pt", NULL, NULL},
    {"arcinstitute/evo2_7b_262k", "evo2_7b_262k", "evo2", "", "7B", 262144, "next-base", "PyTorch .pt", NULL, NULL},
    {"arcinstitute/evo2_7b", "evo2_7b", "evo2", "", "7B", 1048576, "next-base", "PyTorch .pt", NULL, NULL},
    {"arcinstitute/evo2_20b", "evo2_20b", "evo2", "", "20B", 1048576, "next-base", "PyTorch .pt", "fp8", NULL},
    {"arcinstitute/evo2_40b_base", "evo2_40b_base", "evo2", "", "40B", 8192, "next-base", "PyTorch .pt, 2 parts", "fp8", NULL},
    {"arcinstitute/evo2_40b", "evo2_40b", "evo2", "", "40B", 1048576, "next-base", "PyTorch .pt, 2 parts", "fp8", NULL},
};

size_t hd_catalog_size(void) { return sizeof catalog / sizeof catalog[0]; }

const hd_catalog_entry *hd_catalog_get(size_t i) { return i < hd_catalog_size() ? &catalog[i] : NULL; }

const hd_catalog_entry *hd_catalog_find(const char *name, size_t n)
{
    for (size_t i = 0; n && i < hd_catalog_size(); i++) {
        const hd_catalog_entry *e = &catalog[i];
        const char *repo_name = e->repo ? strchr(e->repo, '/') + 1 : NULL;
        if ((strlen(e->name) == n && !strncasecmp(e->name, name, n)) ||
            (repo_name && strlen(repo_name) == n && !strncasecmp(repo_name, name, n)))
            return e;
    }
    return NULL;
}

/* Is a family of this name compiled into the model loader?  (hd_family_name names every family it can open and
 * "unknown" past the last one.) */
static int family_known(const char *name)
{
    for (int f = HD_FAM_UNKNOWN + 1; f < 64; f++)
        if (!strcmp(hd_family_name((hd_family)f), name)) return 1;
    return 0;
}

/* What the build provides besides the families.  FP8 projections (Transformer Engine, Evo 2 1B/20B/40B) have no
 * implementation in any backend. */
static int build_provides(const char *need)
{
    (void)need;
    return 0;
}

int hd_catalog_supported(const hd_catalog_entry *e, const char **why)
{
    *why = NULL;
    if (!family_known(e->family)) {
        *why = "family not in this build";
        return 0;
    }
    if (e->needs && !build_provides(e->needs)) {
        *why = !strcmp(e->needs, "fp8") ? "needs FP8 projections" : "needs a feature this build lacks";
        return 0;
    }
    return 1;
}

/* Does the cached model at loc (a snapshot folder or a weights file in one, as hd_hub_resolve gives) have its
 * config?  A snapshot a download left partial (huggingface_hub's hf_hub_download of the weights alone) has
 * the weights without it, and -m hf: then says 'no config'.  A config file in the snapshot (docs/models.md §1:
 * config.json, model_config.json, a YAML), or a safetensors file whose __metadata__ holds one (hyenadna convert's
 * output); pytorch_model.bin, Hugging Face's, needs config.json; other checkpoints (Lightning .ckpt with its
 * hyper_parameters, Evo 2's .pt with a shipped config) are taken as they are. */
static int cached_config(const char *loc)
{
    int dir = hd_is_dir(loc);
    char *snap = dir ? strdup(loc) : hd_parent_dir(loc);
    char *w = dir ? hd_sprintf("%s/model.safetensors", loc) : strdup(loc);
    int ok = 0;
    DIR *d = snap ? opendir(snap) : NULL;
    struct dirent *de;
    while (d && !ok && (de = readdir(d))) {
        const char *nm = de->d_name;
        if (nm[0] == '.' || !(!strcmp(nm, "config.json") || !strcmp(nm, "model_config.json") ||
                              hd_has_suffix(nm, ".yml") || hd_has_suffix(nm, ".yaml")))
            continue;
        char *p = hd_sprintf("%s/%s", snap, nm);
        ok = p && hd_is_file(p);
        free(p);
    }
    if (d) closedir(d);
    if (!ok && w) {
        const char *base = strrchr(w, '/') ? strrchr(w, '/') + 1 : w;
        if (hd_has_suffix(base, ".safetensors") || hd_has_suffix(base, ".index.json")) {
            hd_st *st = hd_has_suffix(base, ".index.json") ? hd_st_open_index(w) : hd_st_open(w);
            ok = st && hd_st_meta(st, "config");
            if (st) hd_st_close(st);
        } else {
            ok = strcmp(base, "pytorch_model.bin") != 0;
        }
    }
    free(snap);
    free(w);
    return ok;
}

int hd_catalog_cached(const hd_catalog_entry *e)
{
    if (!e->repo) return 0;
    char *loc = hd_hub_resolve(e->repo);
    int ok = loc && cached_config(loc);
    hd_clear_error();
    free(loc);
    return ok;
}
