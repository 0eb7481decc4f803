/* caduceus.c -- Caduceus (BiMamba, RC-aware) models (MODELS.md §4).
 * Loading only for now: the forward pass arrives with the Caduceus issue. */
#include "backend.h"
#include "model.h"
#include "util.h"

#include <jansson.h>
#include <string.h>

static int caduceus_load(hd_model *m)
{
    long D, N, vocab;
    if (hd_cfg_int(m, "d_model", 0, 1, 1, 65536, &D) || hd_cfg_int(m, "n_layer", 0, 1, 1, 4096, &N) ||
        hd_cfg_int(m, "vocab_size", 16, 0, 12, 1 << 20, &vocab))
        return -1;
    int rcps = hd_cfg_bool(m, "rcps", 0);
    m->d_model = (int)D;
    m->n_layer = (int)N;
    m->max_len = 0;
    m->n_logits = (int)vocab;
    m->d_hidden = rcps ? 2 * (int)D : (int)D;
    m->causal = 0;
    m->rc_equivariant = rcps;
    snprintf(m->variant, sizeof m->variant, "%s", rcps ? "PS (RC-equivariant)" : "PH");
    for (int i = 0; i < hd_st_count(m->st); i++) {
        const char *c = m->canon[i];
        m->used[i] = strstr(c, "complement_map") ? 2 : 1;
    }
    hd_model_note(m, "mamba_rev.in_proj / mamba_rev.out_proj: absent, tied to mamba_fwd (bidirectional_weight_tie)");
    hd_model_note(m, "lm_head.weight: absent, tied to the embedding");
    return 0;
}

static void caduceus_free(hd_model *m) {}

static int caduceus_forward(hd_model *m, hd_backend *be, const int32_t *ids, size_t L, hd_fwd *f)
{
    hd_set_error(HD_EMODEL, "%s: the Caduceus forward pass is not available in this build yet", m->location);
    return -1;
}

const hd_family_ops hd_caduceus_ops = {"caduceus", caduceus_load, caduceus_free, caduceus_forward};
