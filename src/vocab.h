/* vocab.h -- models whose token ids are not the common vocabulary (docs/models.md §2).
 *
 * PlantCaduceus, for one, numbers its tokens [PAD]=0 [MASK]=1 [UNK]=2 a=3 c=4 g=5 t=6 (the tokenizer.json beside
 * its config; docs/models.md §4.1).  Such a model is still driven with the common ids everywhere in hyenadna: the
 * ids are translated on the way in, and its logits come back in the common columns (a column the model has no
 * token for is -inf).  A family opts in by calling hd_vocab_load and hd_vocab_attach from its loader. */
#ifndef HD_VOCAB_H
#define HD_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "tokenizer.h"

struct hd_backend;

typedef struct hd_vocab {
    int rows;                        /* the model's own logit rows */
    int32_t to_model[HD_TOK_VOCAB];  /* common id → model id; -1 when the model has no such token */
    int32_t *to_common;              /* [rows] model id → the common column its logit goes to; -1 none */
    char *source;                    /* the tokenizer.json read */
} hd_vocab;

/* Read tokenizer.json beside the model's config (or weights).  0 with *out NULL when there is none or when it
 * numbers the tokens as the common vocabulary does; -1 with an HD_EMODEL error when it is malformed or lacks one of
 * the four bases. */
int hd_vocab_load(hd_model *m, hd_vocab **out);

/* After the family has set m->n_logits to its own rows: check that every id of v is a row, then attach v (the
 * model owns it, even on failure) and present the common vocabulary (m->n_logits = HD_TOK_VOCAB). */
int hd_vocab_attach(hd_model *m, hd_vocab *v);

/* The forward pass of a model with an attached vocabulary: common ids → model ids, logits → common columns.
 * An id the model has no token for is an HD_EINPUT error naming the token and position. */
int hd_vocab_forward(hd_model *m, struct hd_backend *be, const int32_t *ids, size_t L, hd_fwd *f);

/* The model's own ids of common ids (the identity without an attached vocabulary); -1 for an id it lacks. */
int hd_vocab_model_ids(const hd_model *m, const int32_t *ids, size_t L, int32_t *out);

void hd_vocab_free(hd_vocab *v);

#endif
