/* caduceus.h -- Caduceus-specific helpers (docs/models.md §4): reverse complement of token ids, conjoining of
 * the forward and reverse-complement views, and a tap on the intermediate tensors for tests. */
#ifndef HD_CADUCEUS_H
#define HD_CADUCEUS_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* The model's complement map over its n_logits token ids (from the complement_map buffers or the
 * config); NULL when m is not a Caduceus model. */
const int *hd_caduceus_complement(const hd_model *m);

/* out = complement(reverse(ids)) (out may not alias ids).  0, or −1 when m is not a Caduceus model. */
int hd_caduceus_rc_ids(const hd_model *m, const int32_t *ids, size_t L, int32_t *out);

/* RC-conjoined per-position features out [L, d_model] (docs/models.md §4.7, §4.8):
 *   PH: hidden [L, D] of the run on ids, hidden_rc [L, D] of the run on RC(ids):
 *       out[t] = (hidden[t] + hidden_rc[L−1−t]) / 2          (flipped back along L only)
 *   PS: hidden [L, 2D] of one run (hidden_rc unused, may be NULL):
 *       out[t, c] = (hidden[t, c] + hidden[L−1−t, 2D−1−c]) / 2   (rc half flipped in L and channels)
 * 0, or −1 with hd_error when an input is missing. */
int hd_caduceus_conjoin(const hd_model *m, const float *hidden, const float *hidden_rc, size_t L, float *out);

/* RC-conjoined MLM logits [L, n_logits] of a run on ids and one on RC(ids) (any variant):
 *   out[t, v] = (logits[t, v] + logits_rc[L−1−t, comp(v)]) / 2.
 * For PS the two terms are equal (RC equivariance). */
int hd_caduceus_conjoin_logits(const hd_model *m, const float *logits, const float *logits_rc, size_t L, float *out);

/* A tap on the intermediate tensors of the next forwards (tests; NULL removes it).  Called with
 *   "embedding", −1: the embedding output [L, width];
 *   "residual",  K:  the residual block K normalised (fused add-norm; for PS after the half-swap);
 *   "layer",     K:  the mixer output of block K;
 * each [L, width], width = d_hidden, in the layout the reference returns. */
typedef void (*hd_caduceus_tap_fn)(void *ud, const char *what, int layer, const float *x, size_t L, int width);
void hd_caduceus_set_tap(hd_model *m, hd_caduceus_tap_fn fn, void *ud);

/* Positions per chunk of position-wise work and of the scan (tests; 0 restores the default). */
void hd_caduceus_set_chunk(hd_model *m, size_t positions);

#endif
