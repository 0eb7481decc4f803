/* evo2.h -- Evo 2 (StripedHyena 2) entry points beyond the generic model interface (docs/models.md §6). */
#ifndef HD_EVO2_H
#define HD_EVO2_H

#include <stddef.h>

#include "safetensors.h"

struct hd_model;
struct hd_backend;
struct hd_decoder;
struct json_t;

/* Do the tensor names follow the vortex layout (blocks.K.filter.short_filter_weight, blocks.K.inner_mha_cls...)? */
int hd_evo2_looks_like(const hd_st *st);

/* No config given: choose one of the shipped configs of the released 7B checkpoints (evo2_7b, evo2_7b_262k,
 * evo2_7b_base) from the tensor shapes and the file name (docs/models.md §6.1).  Sets m->config_path and
 * m->config_note and returns the parsed config in *root; -1 with an error saying why none fits. */
int hd_evo2_pick_config(struct hd_model *m, struct json_t **root);

/* The shipped config (a file name under configs/evo2/) for a checkpoint of hidden size H, n_blocks blocks, inner
 * MLP size `inner`, HCL time grids of tgrid positions (0: none) and file name `name`; why[] says why.  NULL with
 * why[] saying why none fits. */
const char *hd_evo2_shipped_config(long H, int n_blocks, long inner, long tgrid, const char *name, char *why, size_t n);

/* The HCL long filter of block `layer` for t < L: out [hidden_size, L] (host memory), h[c, t] =
 * Σ_s residues[c, s]·exp(log_poles[c, s]·t). */
int hd_evo2_hcl_filter(struct hd_model *m, struct hd_backend *be, int layer, size_t L, float *out);

/* The HCL modal state of block `layer` of a decoder: out [hidden_size, state_size] (host memory). */
int hd_evo2_decoder_hcl_state(struct hd_decoder *d, int layer, float *out);

/* Transformer Engine FP8 scaling states found in the Hyena projections' _extra_state entries (0 when none). */
int hd_evo2_fp8_states(const struct hd_model *m);

#endif
