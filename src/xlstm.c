/* xlstm.c -- DNA-xLSTM models (MODELS.md §5).
 * Loading only for now: the forward pass arrives with the DNA-xLSTM issue. */
#include "backend.h"
#include "model.h"
#include "util.h"

#include <jansson.h>
#include <string.h>

static int xlstm_load(hd_model *m)
{
    long D, N, vocab, maxlen;
    if (hd_cfg_int(m, "d_model", 0, 1, 1, 65536, &D) || hd_cfg_int(m, "n_layer", 0, 1, 1, 4096, &N) ||
        hd_cfg_int(m, "vocab_size", 12, 0, 12, 1 << 20, &vocab) ||
        hd_cfg_int(m, "max_length", 0, 0, 0, 1L << 31, &maxlen))
        return -1;
    m->d_model = (int)D;
    m->n_layer = (int)N;
    m->max_len = 0;
    m->n_logits = (int)vocab;
    m->d_hidden = (int)D;
    m->causal = 0;
    m->rc_equivariant = hd_cfg_bool(m, "rcps", 0);
    json_t *at = hd_cfg_get(m, "s_lstm_at");
    snprintf(m->variant, sizeof m->variant, "%s", json_array_size(at) ? "sLSTM" : "mLSTM");
    for (int i = 0; i < hd_st_count(m->st); i++) m->used[i] = 1;
    return 0;
}

static void xlstm_free(hd_model *m) {}

static int xlstm_forward(hd_model *m, hd_backend *be, const int32_t *ids, size_t L, hd_fwd *f)
{
    hd_set_error(HD_EMODEL, "%s: the DNA-xLSTM forward pass is not available in this build yet", m->location);
    return -1;
}

const hd_family_ops hd_xlstm_ops = {"xlstm", xlstm_load, xlstm_free, xlstm_forward};
