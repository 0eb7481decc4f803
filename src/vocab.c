/* vocab.c -- a model's own token ids seen through the common vocabulary (see vocab.h; docs/models.md §2, §4.1). */
#define _GNU_SOURCE
#include "vocab.h"
#include "backend.h"
#include "util.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* the common tokens by id (docs/models.md §2) */
static const char *const common_name[HD_TOK_VOCAB] = {"[CLS]", "[SEP]", "[BOS]", "[MASK]", "[PAD]", "[RESERVED]",
                                                       "[UNK]", "A",     "C",     "G",      "T",     "N"};

void hd_vocab_free(hd_vocab *v)
{
    if (!v) return;
    free(v->to_common);
    free(v->source);
    free(v);
}

/* does the tokenizer lower-case its input (a Lowercase normalizer, alone or in a Sequence)? */
static int lowercases(json_t *norm)
{
    if (!json_is_object(norm)) return 0;
    const char *t = json_string_value(json_object_get(norm, "type"));
    if (t && !strcmp(t, "Lowercase")) return 1;
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(norm, "normalizers"), i, x) if (lowercases(x)) return 1;
    return 0;
}

/* the id of a token string, or -1 */
static long token_id(json_t *vocab, json_t *added, const char *s)
{
    json_t *v = json_is_object(vocab) ? json_object_get(vocab, s) : NULL;
    if (json_is_integer(v)) return (long)json_integer_value(v);
    size_t i;
    json_t *x;
    if (json_is_array(vocab))   /* Unigram: [[token, score], ...], the id is the position */
        json_array_foreach(vocab, i, x) {
            const char *t = json_string_value(json_array_get(x, 0));
            if (t && !strcmp(t, s)) return (long)i;
        }
    json_array_foreach(added, i, x) {
        const char *t = json_string_value(json_object_get(x, "content"));
        json_t *id = json_object_get(x, "id");
        if (t && !strcmp(t, s) && json_is_integer(id)) return (long)json_integer_value(id);
    }
    return -1;
}

int hd_vocab_load(hd_model *m, hd_vocab **out)
{
    *out = NULL;
    const char *beside = m->config_path ? m->config_path : m->weights_path;
    char *path = hd_path_beside(beside, "tokenizer.json");
    if (!path || !hd_is_file(path)) {
        free(path);
        return 0;
    }
    json_error_t e;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
    json_t *model = json_object_get(root, "model"), *vocab = json_object_get(model, "vocab");
    json_t *added = json_object_get(root, "added_tokens");
    if (!root || !(json_is_object(vocab) || json_is_array(vocab))) {
        if (root) hd_set_error(HD_EMODEL, "%s: no model.vocab: not a tokenizer.json of the tokenizers library", path);
        else hd_set_error(HD_EMODEL, "%s: invalid JSON at line %d: %s", path, e.line, e.text);
        json_decref(root);
        free(path);
        return -1;
    }
    hd_vocab *v = calloc(1, sizeof *v);
    if (!v) { json_decref(root); free(path); hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    v->source = path;
    int lower = lowercases(json_object_get(root, "normalizer"));
    for (int i = 0; i < HD_TOK_VOCAB; i++) {
        const char *name = common_name[i];
        long id = -1;
        if (i >= HD_TOK_A) {   /* a base: in the case the tokenizer's normaliser produces, else the other */
            char lc[2] = {(char)(name[0] - 'A' + 'a'), 0};
            id = token_id(vocab, added, lower ? lc : name);
            if (id < 0) id = token_id(vocab, added, lower ? name : lc);
        } else {
            id = token_id(vocab, added, name);
        }
        if (id > 65535) {
            hd_set_error(HD_EMODEL, "%s: token '%s' has id %ld", path, name, id);
            json_decref(root);
            hd_vocab_free(v);
            return -1;
        }
        v->to_model[i] = (int32_t)id;
    }
    json_decref(root);
    for (int i = HD_TOK_A; i <= HD_TOK_T; i++)
        if (v->to_model[i] < 0) {
            hd_set_error(HD_EMODEL, "%s: no token for the base %s: not a single-nucleotide vocabulary", path, common_name[i]);
            hd_vocab_free(v);
            return -1;
        }
    if (v->to_model[HD_TOK_N] < 0) v->to_model[HD_TOK_N] = v->to_model[HD_TOK_UNK];   /* N is unknown to it */
    /* the common numbering (a token absent is no difference): nothing to translate */
    int same = 1;
    for (int i = 0; i < HD_TOK_VOCAB; i++) same &= v->to_model[i] == i || (v->to_model[i] < 0 && i < HD_TOK_A);
    if (same) {
        hd_vocab_free(v);
        return 0;
    }
    *out = v;
    return 0;
}

int hd_vocab_attach(hd_model *m, hd_vocab *v)
{
    m->vocab = v;
    v->rows = m->n_logits;
    if (!(v->to_common = malloc((size_t)(v->rows > 0 ? v->rows : 1) * sizeof *v->to_common))) {
        hd_set_error(HD_EMODEL, "out of memory");
        return -1;
    }
    for (int r = 0; r < v->rows; r++) v->to_common[r] = -1;
    char desc[256];
    size_t k = 0;
    /* ascending, so that N wins the [UNK] row over [UNK] itself: a column appears once in the logits */
    for (int i = 0; i < HD_TOK_VOCAB; i++) {
        int32_t r = v->to_model[i];
        if (r < 0) continue;
        if (r >= v->rows) {
            hd_set_error(HD_EMODEL, "%s: token '%s' has id %d, but the model has %d rows", v->source, common_name[i], r, v->rows);
            return -1;
        }
        v->to_common[r] = i;
        if (i == HD_TOK_MASK || i == HD_TOK_PAD || i >= HD_TOK_UNK)
            k += (size_t)snprintf(desc + k, sizeof desc - k, "%s%s=%d", k ? " " : "", common_name[i], r);
    }
    hd_model_note(m, "vocabulary: the model's own ids (%s): %s; logits in the common columns", v->source, desc);
    m->n_logits = HD_TOK_VOCAB;
    return 0;
}

int hd_vocab_model_ids(const hd_model *m, const int32_t *ids, size_t L, int32_t *out)
{
    const hd_vocab *v = m->vocab;
    for (size_t i = 0; i < L; i++) {
        int32_t id = ids[i];
        if (!v) { out[i] = id; continue; }
        if (id < 0 || id >= HD_TOK_VOCAB || v->to_model[id] < 0) {
            hd_set_error(HD_EINPUT, "token %s at position %zu has no counterpart in the model's vocabulary (%s)",
                         id >= 0 && id < HD_TOK_VOCAB ? common_name[id] : "?", i + 1, v->source);
            return -1;
        }
        out[i] = v->to_model[id];
    }
    return 0;
}

int hd_vocab_forward(hd_model *m, hd_backend *be, const int32_t *ids, size_t L, hd_fwd *f)
{
    const hd_vocab *v = m->vocab;
    size_t R = (size_t)v->rows, nb;
    int32_t *mid = malloc((L ? L : 1) * sizeof *mid);
    float *lg = NULL;
    int ret = -1;
    if (!mid) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    if (hd_vocab_model_ids(m, ids, L, mid)) goto done;
    if (f->logits) {
        if (hd_mul(L ? L : 1, R * sizeof(float), &nb)) { hd_set_error(HD_EINPUT, "input too long"); goto done; }
        if (!(lg = hd_alloc(nb, "the model's logits"))) goto done;
    }
    hd_fwd g = *f;
    g.logits = lg;
    if (m->ops->forward(m, be, mid, L, &g)) goto done;
    for (size_t t = 0; f->logits && t < L; t++) {
        float *o = f->logits + t * HD_TOK_VOCAB;
        for (int c = 0; c < HD_TOK_VOCAB; c++) o[c] = -INFINITY;
        for (size_t r = 0; r < R; r++)
            if (v->to_common[r] >= 0) o[v->to_common[r]] = lg[t * R + r];
    }
    ret = 0;
done:
    free(mid);
    hd_free(lg);
    return ret;
}
