/* caduceus.c -- Caduceus (BiMamba, RC-aware) models (docs/models.md §4).
 *
 * PH (rcps false):                          PS (rcps true, hidden and residual [L, 2D] in two halves):
 *   r = Emb[ids]                              r0 = Emb[ids], r1 = rev_c(Emb[comp(ids)])
 *   per block: r (+= h); h = M(Norm_w(r))     per block: r0 (+= h0), r1 (+= h1); swap(r0, r1);
 *                                               h0 = M(Norm_w(r0)); h1 = RC(M(Norm_w(RC(r1))))
 *   hidden = Norm_wf(r + h)                   hidden = [Norm_wf(r0 + h0), Norm_rev(wf)(r1 + h1)]
 *   logits = hidden·Embᵀ                      logits[v] = Emb[v]·hidden0 + rev(Emb[comp v])·hidden1
 * with Norm = RMSNorm (rms_norm true) or LayerNorm with a bias (reversed with w for the rc half), and
 * M = BiMamba (§4.5): M(u) = Mamba_fwd(u) ∘ Lrev(Mamba_rev(Lrev(u))), ∘ = + (strategy "add") or ⊙
 * ("ew_multiply"), each Mamba with its in_proj/out_proj (one pair shared under bidirectional_weight_tie).
 * The rc half is computed in the original order, without reversing anything: RC = Lrev∘Crev, and
 *   RC(M(Norm_w(RC(s)))) = M'(Norm_rev(w)(s))  (Crev moved into the weights: in_proj with its input columns
 *   reversed, out_proj with its output rows and bias reversed; Lrev swaps the directions: Mamba_rev's weights
 *   run forward and Mamba_fwd's backward), so both halves share every buffer and no flip is made.
 *
 * Memory: besides r and h ([L, D] each, twice for PS) a block holds the input projection xz [L, 2E] (a
 * second one for untied projections) and the scan output y [L, E] -- with tied projections and "add" the
 * gated sum of both directions, otherwise one per direction -- row-major; the convolution, Δ and the scan
 * run in chunks of positions (the reverse direction from the end, reading the sequence backwards in place),
 * carrying the [E, N] scan state from chunk to chunk. */
#include "caduceus.h"
#include "backend.h"
#include "model.h"
#include "util.h"
#include "vocab.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CAD_CHUNK 2048

/* A Mamba's input and output projections (§4.4 steps 1 and 9) */
typedef struct {
    const float *in_proj, *in_b;    /* [2E, D]; [2E] (ssm_cfg.bias, else NULL) */
    const float *out_proj, *out_b;  /* [D, E]; [D] (ssm_cfg.bias, else NULL) */
} cad_proj;

typedef struct {
    cad_proj proj;                  /* under bidirectional_weight_tie the reverse direction's aliases the forward's */
    cad_proj proj_rc;               /* PS, owned: the rc half's, in_proj with its columns reversed, out_proj and
                                     * out_b with their rows reversed (in_b is proj's, see the top of the file) */
    const float *conv_w, *conv_b;   /* owned: the taps transposed [K, E]; [E] (NULL without conv_bias) */
    const float *x_proj;            /* [R + 2N, E] */
    const float *dt_w, *dt_b;       /* [E, R], [E] */
    const float *Dskip;             /* [E] */
    const float *A;                 /* owned: −exp(A_log) [E, N] */
} mamba_dir;

typedef struct {
    const float *norm_w, *norm_b;   /* [D]; LayerNorm's bias [D] (rms_norm false, else NULL) */
    const float *norm_w_rc, *norm_b_rc; /* PS, owned: rev(norm_w), rev(norm_b) (see the top of the file) */
    mamba_dir dir[2];
    /* merged (tied, "add") with ssm_cfg.bias, owned: 2·out_b and its rc half's 2·rev(out_b), the bias
     * of both directions' out_proj applied once to the sum of their scan outputs (§4.5) */
    const float *out_b2, *out_b2_rc;
} cad_layer;

typedef struct {
    int D, E, N, R, K, rows, rcps, bidir, swap;
    int layernorm;                  /* rms_norm false: LayerNorm with a bias */
    int ewmul;                      /* bidirectional_strategy "ew_multiply" */
    int tied;                       /* bidirectional_weight_tie: the reverse Mamba shares in_proj/out_proj */
    int merged;                     /* bidir && tied && !ewmul: one xz, one gated sum, one out_proj (§4.5) */
    int bias;                       /* ssm_cfg.bias */
    float eps;
    int *comp;                      /* [rows] */
    const float *emb;               /* [rows, D] */
    const float *head;              /* [rows, D] (the embedding when tied) */
    float *emb_rc;                  /* PS: [rows, D]  rev(Emb[comp v]) */
    float *head_rc;                 /* PS: [rows, D]  rev(head[comp v]) (== emb_rc when tied) */
    const float *norm_f, *norm_f_b; /* [D]; LayerNorm's bias or NULL */
    const float *norm_f_rev, *norm_f_b_rev; /* PS, owned */
    cad_layer *layer;
    size_t chunk;
    hd_caduceus_tap_fn tap;
    void *tap_ud;
} caduceus;

/* ---------------------------------------------------------------- loading */

static int read_comp_config(hd_model *m, caduceus *c)
{
    json_t *cm = hd_cfg_get(m, "complement_map");
    for (int v = 0; v < c->rows; v++) c->comp[v] = v;
    if (!cm || json_is_null(cm)) {   /* the common vocabulary's map (docs/models.md §2) ... */
        int a = HD_TOK_A, cc = HD_TOK_C, g = HD_TOK_G, t = HD_TOK_T;
        if (m->vocab) {   /* ... in the model's own ids: A<->T, C<->G as its tokenizer.json names them (§4.1) */
            const int32_t *to = m->vocab->to_model;
            a = to[HD_TOK_A], cc = to[HD_TOK_C], g = to[HD_TOK_G], t = to[HD_TOK_T];
        }
        if (a < c->rows && cc < c->rows && g < c->rows && t < c->rows)
            c->comp[a] = t, c->comp[t] = a, c->comp[cc] = g, c->comp[g] = cc;
        return 0;
    }
    const char *cfg = m->config_path ? m->config_path : m->weights_path;
    if (!json_is_object(cm)) {
        hd_set_error(HD_EMODEL, "%s: config key 'complement_map' is not an object", cfg);
        return -1;
    }
    const char *k;
    json_t *val;
    json_object_foreach(cm, k, val) {
        char *end;
        long key = strtol(k, &end, 10);
        if (*end || end == k || key < 0 || key >= c->rows || !json_is_integer(val) || json_integer_value(val) < 0 ||
            json_integer_value(val) >= c->rows) {
            hd_set_error(HD_EMODEL, "%s: complement_map entry '%s' is not a token id mapping within 0..%d", cfg, k,
                         c->rows - 1);
            return -1;
        }
        c->comp[key] = (int)json_integer_value(val);
    }
    return 0;
}

static int read_comp_buffer(hd_model *m, caduceus *c, const char *canon)
{
    const hd_tensor_info *t = hd_model_tensor(m, canon);
    if (!t) return 0;
    if ((t->dtype != HD_I64 && t->dtype != HD_I32) || t->numel != (size_t)c->rows) {
        hd_set_error(HD_EMODEL, "%s: tensor '%s' should be an integer vector of %d ids (%s, %zu values)", m->weights_path,
                     t->name, c->rows, hd_dtype_name(t->dtype), t->numel);
        return -1;
    }
    int64_t v[4096];
    if (c->rows > 4096 || hd_tensor_to_i64(t, v)) {
        hd_set_error(HD_EMODEL, "%s: cannot read tensor '%s'", m->weights_path, t->name);
        return -1;
    }
    for (int i = 0; i < c->rows; i++)
        if (v[i] != c->comp[i]) {
            hd_set_error(HD_EMODEL, "%s: tensor '%s' maps id %d to %lld, but the config's complement_map says %d",
                         m->weights_path, t->name, i, (long long)v[i], c->comp[i]);
            return -1;
        }
    hd_model_mark(m, canon, 2);
    return 0;
}

/* The model's own token ids, when a tokenizer.json beside the config numbers them differently from the common
 * vocabulary (PlantCaduceus: [PAD]=0 [MASK]=1 [UNK]=2 a=3 c=4 g=5 t=6, docs/models.md §4.1), attached before the
 * complement map is read, so that a config without complement_map gets §2's map in those ids. */
static int caduceus_attach_vocab(hd_model *m)
{
    hd_vocab *v;
    if (hd_vocab_load(m, &v)) return -1;
    return v ? hd_vocab_attach(m, v) : 0;
}

/* Its complement map must then pair the bases as that vocabulary names them. */
static int caduceus_vocab(hd_model *m, caduceus *c)
{
    const char *cfg = m->config_path ? m->config_path : m->weights_path;
    const hd_vocab *v = m->vocab;
    if (!v) {
        if (c->rows < HD_TOK_VOCAB) {
            hd_set_error(HD_EMODEL, "%s: vocab_size gives %d rows, fewer than the %d token ids of the common vocabulary, "
                         "and no tokenizer.json beside it numbers the model's own tokens (copy the repository's "
                         "tokenizer.json there)", cfg, c->rows, HD_TOK_VOCAB);
            return -1;
        }
        return 0;
    }
    static const int pair[2][2] = {{HD_TOK_A, HD_TOK_T}, {HD_TOK_C, HD_TOK_G}};
    for (int p = 0; p < 2; p++) {
        int a = v->to_model[pair[p][0]], b = v->to_model[pair[p][1]];
        if (c->comp[a] != b) {
            hd_set_error(HD_EMODEL, "%s: complement_map maps id %d (%c in %s) to %d, not to %d (%c)", cfg, a,
                         hd_id_base(pair[p][0]), v->source, c->comp[a], b, hd_id_base(pair[p][1]));
            return -1;
        }
    }
    return 0;
}

/* *out = an owned copy of v [n / stride rows of stride] with its rows reversed (stride 1: the values reversed);
 * NULL for NULL */
static int rev_copy(const float *v, long n, long stride, const float **out)
{
    *out = NULL;
    if (!v) return 0;
    float *r = malloc((size_t)n * sizeof(float));
    if (!r) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    for (long k = 0; k < n / stride; k++) memcpy(r + k * stride, v + (n / stride - 1 - k) * stride, (size_t)stride * sizeof(float));
    *out = r;
    return 0;
}

/* layer i's in_proj/out_proj of direction dn (mamba_fwd, mamba_rev), with their biases under ssm_cfg.bias */
static int load_proj(hd_model *m, const caduceus *c, int i, const char *mix, const char *dn, cad_proj *p)
{
    long D = c->D, E = c->E;
    if (!(p->in_proj = hd_model_f32(m, 1, HD_SHAPE(2 * E, D), "layers.%d.%s.%s.in_proj.weight", i, mix, dn)) ||
        !(p->out_proj = hd_model_f32(m, 1, HD_SHAPE(D, E), "layers.%d.%s.%s.out_proj.weight", i, mix, dn)))
        return -1;
    if (c->bias && (!(p->in_b = hd_model_f32(m, 1, HD_SHAPE(2 * E), "layers.%d.%s.%s.in_proj.bias", i, mix, dn)) ||
                    !(p->out_b = hd_model_f32(m, 1, HD_SHAPE(D), "layers.%d.%s.%s.out_proj.bias", i, mix, dn))))
        return -1;
    return 0;
}

/* PS: the rc half's projections, Crev folded in (see the top of the file): in_proj's columns reversed (its bias
 * unchanged), out_proj's rows and bias reversed */
static int fold_proj_rc(const caduceus *c, const cad_proj *p, cad_proj *rc)
{
    long D = c->D, E = c->E;
    float *ip = malloc((size_t)(2 * E * D) * sizeof(float));
    rc->in_proj = ip;
    rc->in_b = p->in_b;
    if (!ip) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    for (long o = 0; o < 2 * E; o++)
        for (long d = 0; d < D; d++) ip[o * D + d] = p->in_proj[o * D + (D - 1 - d)];
    return rev_copy(p->out_proj, D * E, E, &rc->out_proj) || rev_copy(p->out_b, D, 1, &rc->out_b) ? -1 : 0;
}

/* Tied projections saved as copies of their own (mamba_rev.in_proj.weight ... stored without sharing): taken as
 * the aliases they are when they equal mamba_fwd's; refused when they differ, as the config ties them */
static int tied_aliases(hd_model *m, const caduceus *c, int i, const char *mix, const cad_proj *fw)
{
    static const char *const part[4] = {"in_proj.weight", "out_proj.weight", "in_proj.bias", "out_proj.bias"};
    const float *const mine[4] = {fw->in_proj, fw->out_proj, fw->in_b, fw->out_b};
    const size_t ne[4] = {(size_t)2 * c->E * c->D, (size_t)c->D * c->E, (size_t)2 * c->E, (size_t)c->D};
    char nm[256];
    for (int p = 0; p < 4; p++) {
        snprintf(nm, sizeof nm, "layers.%d.%s.mamba_rev.%s", i, mix, part[p]);
        const hd_tensor_info *t = hd_model_tensor(m, nm);
        if (!t || !mine[p]) continue;   /* a bias without ssm_cfg.bias is left as an unknown tensor */
        long E2 = 2L * c->E, D = c->D, E = c->E;
        const float *rv = p == 0 ? hd_model_f32(m, 1, HD_SHAPE(E2, D), "%s", nm)
                        : p == 1 ? hd_model_f32(m, 1, HD_SHAPE(D, E), "%s", nm)
                        : hd_model_f32(m, 1, HD_SHAPE(p == 2 ? E2 : D), "%s", nm);
        if (!rv) return -1;
        if (!memcmp(rv, mine[p], ne[p] * sizeof(float))) {
            hd_model_mark(m, nm, 3);   /* an alias, not a parameter of its own */
            continue;
        }
        hd_set_error(HD_EMODEL, "%s: tensor '%s' is stored and differs from mamba_fwd's, but the config ties the "
                     "BiMamba projections (bidirectional_weight_tie true; an untied model says false)", m->weights_path,
                     hd_model_display(m, nm));
        return -1;
    }
    return 0;
}

/* ssm_cfg.expand: E = int(expand·D) as the reference's Mamba computes it (a fractional expand such as 1.5 is
 * taken, §4.1); 0 with *E set, or -1 with an error naming the key */
static int read_expand(hd_model *m, const char *cfg, json_t *v, long D, long *E)
{
    if (!v || json_is_null(v)) return 0;
    double x = json_is_number(v) ? json_number_value(v) : -1, e = floor(x * (double)D);
    if (!(x > 0) || !(e >= 1) || e > 1 << 24) {
        hd_set_error(HD_EMODEL, "%s: ssm_cfg.expand must be a positive number with int(expand·d_model) in [1, %d]",
                     cfg, 1 << 24);
        return -1;
    }
    *E = (long)e;
    return 0;
}

static int caduceus_load(hd_model *m)
{
    long D, NL, vocab, mult, N = 16, K = 4, E, R;
    int bias = 0;
    double eps;
    if (hd_cfg_int(m, "d_model", 0, 1, 1, 65536, &D) || hd_cfg_int(m, "n_layer", 0, 1, 1, 4096, &NL) ||
        hd_cfg_int(m, "vocab_size", 16, 0, 1, 4096, &vocab) ||
        hd_cfg_int(m, "pad_vocab_size_multiple", 8, 0, 1, 4096, &mult) || hd_cfg_num_in(m, "norm_epsilon", 1e-5, 0, 1, &eps))
        return -1;
    const char *cfg = m->config_path ? m->config_path : m->weights_path;
    R = (D + 15) / 16;
    E = 2 * D;
    json_t *ssm = hd_cfg_get(m, "ssm_cfg");
    if (ssm && !json_is_null(ssm) && !json_is_object(ssm)) {
        hd_set_error(HD_EMODEL, "%s: config key 'ssm_cfg' is not an object", cfg);
        return -1;
    }
    if (ssm && json_is_object(ssm)) {
        json_t *v;
#define SSM_INT(key, var, lo, hi) \
        if ((v = json_object_get(ssm, key)) && !json_is_null(v)) { \
            if (!json_is_integer(v) || json_integer_value(v) < (lo) || json_integer_value(v) > (hi)) { \
                hd_set_error(HD_EMODEL, "%s: ssm_cfg.%s must be an integer in [%d, %d]", cfg, key, lo, hi); \
                return -1; \
            } \
            var = (long)json_integer_value(v); \
        }
        SSM_INT("d_state", N, 1, 1024);
        SSM_INT("d_conv", K, 1, 64);
        if (read_expand(m, cfg, json_object_get(ssm, "expand"), D, &E)) return -1;
        v = json_object_get(ssm, "dt_rank");
        if (v && !json_is_null(v) && !(json_is_string(v) && !strcmp(json_string_value(v), "auto"))) {
            SSM_INT("dt_rank", R, 1, 65536);
        }
#undef SSM_INT
        v = json_object_get(ssm, "bias");
        if (v && !json_is_null(v) && !json_is_boolean(v)) {
            hd_set_error(HD_EMODEL, "%s: ssm_cfg.bias is not a boolean (true or false)", cfg);
            return -1;
        }
        bias = json_is_true(v);
    }
    const char *strat = hd_cfg_str(m, "bidirectional_strategy");
    if (strat && strcmp(strat, "add") && strcmp(strat, "ew_multiply")) {
        hd_set_error(HD_EMODEL, "%s: bidirectional_strategy '%s' is not one of 'add', 'ew_multiply'", cfg, strat);
        return -1;
    }
    caduceus *c = calloc(1, sizeof *c);
    if (!c) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    m->impl = c;
    c->D = (int)D, c->N = (int)N, c->K = (int)K, c->E = (int)E, c->R = (int)R;
    c->rows = (int)((vocab + mult - 1) / mult * mult);
    c->rcps = hd_cfg_bool(m, "rcps", 0);
    c->bidir = hd_cfg_bool(m, "bidirectional", 1);
    c->swap = c->rcps && hd_cfg_bool(m, "fused_add_norm", 1);
    c->layernorm = !hd_cfg_bool(m, "rms_norm", 1);
    c->ewmul = c->bidir && strat && !strcmp(strat, "ew_multiply");
    c->tied = hd_cfg_bool(m, "bidirectional_weight_tie", 1);
    c->merged = c->bidir && c->tied && !c->ewmul;
    c->bias = bias;
    c->eps = (float)eps;
    c->chunk = CAD_CHUNK;
    long rows = c->rows;

    m->d_model = (int)D;
    m->n_layer = (int)NL;
    m->max_len = 0;
    m->n_logits = c->rows;
    m->d_hidden = c->rcps ? 2 * (int)D : (int)D;
    m->causal = 0;
    m->rc_equivariant = c->rcps;
    snprintf(m->variant, sizeof m->variant, "%s", c->rcps ? "PS (RC-equivariant)" : "PH");
    if (!c->bidir) snprintf(m->variant + strlen(m->variant), sizeof m->variant - strlen(m->variant), ", unidirectional");
    if (c->rcps && !c->swap) hd_model_note(m, "fused_add_norm = false: RCPS residual halves are not swapped");

    /* a config without vocab_size takes the default 16 (docs/models.md §4.1), which a checkpoint of another
     * vocabulary (PlantCaduceus: 8 rows) contradicts: name the missing key, not the first tensor it misfits */
    const char *emb_name = c->rcps ? "embeddings.word_embeddings.embedding.weight" : "embeddings.word_embeddings.weight";
    json_t *vs = hd_cfg_get(m, "vocab_size");
    const hd_tensor_info *te = hd_model_tensor(m, emb_name);
    if ((!vs || json_is_null(vs)) && te && te->ndim == 2 && te->shape[0] != rows) {
        hd_set_error(HD_EMODEL, "%s: config key 'vocab_size' is missing, and its default 16 (%ld rows) does not fit tensor "
                     "'%s' of %s, which has %lld rows: add \"vocab_size\": %lld to the config (as the model's "
                     "repository has it)", cfg, rows, te->name, m->weights_path, (long long)te->shape[0],
                     (long long)te->shape[0]);
        return -1;
    }

    /* complement map: config, checked against the PS buffers */
    if (!(c->comp = calloc((size_t)rows, sizeof *c->comp))) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    if (caduceus_attach_vocab(m) || read_comp_config(m, c)) return -1;
    for (int v = 0; v < rows; v++)
        if (c->comp[c->comp[v]] != v) {
            hd_set_error(HD_EMODEL, "%s: complement_map is not an involution (%d -> %d -> %d)", cfg, v, c->comp[v],
                         c->comp[c->comp[v]]);
            return -1;
        }
    if (read_comp_buffer(m, c, "embeddings.word_embeddings.complement_map") ||
        read_comp_buffer(m, c, "lm_head.complement_map"))
        return -1;

    const char *head_name = c->rcps ? "lm_head.lm_head.weight" : "lm_head.weight";
    if (!(c->emb = hd_model_f32(m, 1, HD_SHAPE(rows, D), "%s", emb_name))) return -1;
    if (hd_model_tensor(m, head_name)) {
        if (!(c->head = hd_model_f32(m, 1, HD_SHAPE(rows, D), "%s", head_name))) return -1;
    } else {
        c->head = c->emb;
        hd_model_note(m, "%s: absent, tied to %s", head_name, emb_name);
    }
    /* PS without fused_add_norm wraps its norms in RCPSAddNormWrapper: stored as norm_f.submodule.weight and
     * layers.K.norm.submodule.weight (§4.1) */
    const char *nsub = c->rcps && !hd_model_tensor(m, "norm_f.weight") && hd_model_tensor(m, "norm_f.submodule.weight") ? ".submodule" : "";
    if (!(c->norm_f = hd_model_f32(m, 1, HD_SHAPE(D), "norm_f%s.weight", nsub)) ||
        (c->layernorm && !(c->norm_f_b = hd_model_f32(m, 1, HD_SHAPE(D), "norm_f%s.bias", nsub))))
        return -1;
    if (c->rcps) {
        c->emb_rc = malloc((size_t)rows * D * sizeof(float));
        c->head_rc = c->head == c->emb ? c->emb_rc : malloc((size_t)rows * D * sizeof(float));
        if (!c->emb_rc || !c->head_rc) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
        for (long v = 0; v < rows; v++)
            for (long d = 0; d < D; d++) {
                c->emb_rc[v * D + d] = c->emb[(size_t)c->comp[v] * D + (D - 1 - d)];
                if (c->head_rc != c->emb_rc) c->head_rc[v * D + d] = c->head[(size_t)c->comp[v] * D + (D - 1 - d)];
            }
        if (rev_copy(c->norm_f, D, 1, &c->norm_f_rev) || rev_copy(c->norm_f_b, D, 1, &c->norm_f_b_rev))
            return -1;
    }

    if (!(c->layer = calloc((size_t)NL, sizeof *c->layer))) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    const char *mix = c->rcps ? "mixer.submodule" : "mixer";
    int tied_noted = 0;
    for (int i = 0; i < NL; i++) {
        cad_layer *ly = &c->layer[i];
        if (!(ly->norm_w = hd_model_f32(m, 1, HD_SHAPE(D), "layers.%d.norm%s.weight", i, nsub)) ||
            (c->layernorm && !(ly->norm_b = hd_model_f32(m, 1, HD_SHAPE(D), "layers.%d.norm%s.bias", i, nsub))))
            return -1;
        if (c->rcps && (rev_copy(ly->norm_w, D, 1, &ly->norm_w_rc) || rev_copy(ly->norm_b, D, 1, &ly->norm_b_rc)))
            return -1;
        for (int d = 0; d < (c->bidir ? 2 : 1); d++) {
            mamba_dir *md = &ly->dir[d];
            const char *dn = d ? "mamba_rev" : "mamba_fwd";
            if (d && c->tied) {   /* bidirectional_weight_tie: Mamba_rev's projections are Mamba_fwd's */
                md->proj = ly->dir[0].proj, md->proj_rc = ly->dir[0].proj_rc;
                if (tied_aliases(m, c, i, mix, &md->proj)) return -1;
                if (!tied_noted) {
                    hd_model_note(m, "layers.{0..%ld}.%s.mamba_rev.in_proj / out_proj: absent, tied to mamba_fwd "
                                  "(bidirectional_weight_tie)", NL - 1, mix);
                    tied_noted = 1;
                }
            } else if (load_proj(m, c, i, mix, dn, &md->proj) || (c->rcps && fold_proj_rc(c, &md->proj, &md->proj_rc))) {
                return -1;
            }
            const float *A_log;
#define T(field, ...) if (!(md->field = hd_model_f32(m, 1, HD_SHAPE(__VA_ARGS__), "layers.%d.%s.%s.%s", i, mix, dn, name))) return -1
            const char *name;
            const float *cw;
            if (!(cw = hd_model_f32(m, 1, HD_SHAPE(E, 1, K), "layers.%d.%s.%s.conv1d.weight", i, mix, dn))) return -1;
            name = "x_proj.weight"; T(x_proj, R + 2 * N, E);
            name = "dt_proj.weight"; T(dt_w, E, R);
            name = "dt_proj.bias"; T(dt_b, E);
            name = "D"; T(Dskip, E);
#undef T
            char cb[256];
            snprintf(cb, sizeof cb, "layers.%d.%s.%s.conv1d.bias", i, mix, dn);
            if (hd_model_tensor(m, cb) && !(md->conv_b = hd_model_f32(m, 1, HD_SHAPE(E), "%s", cb))) return -1;
            if (!(A_log = hd_model_f32(m, 1, HD_SHAPE(E, N), "layers.%d.%s.%s.A_log", i, mix, dn))) return -1;
            float *A = malloc((size_t)E * N * sizeof(float));
            if (!(md->A = A)) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
            for (long j = 0; j < E * N; j++) A[j] = -expf(A_log[j]);
            float *wt = malloc((size_t)E * K * sizeof(float));   /* taps-major for conv_silu_rows */
            if (!(md->conv_w = wt)) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
            for (long e = 0; e < E; e++)
                for (long j = 0; j < K; j++) wt[j * E + e] = cw[e * K + j];
        }
        if (c->merged && c->bias) {   /* both directions' out_proj bias, applied once to the summed outputs */
            float *b2 = malloc((size_t)D * sizeof(float));
            if (!(ly->out_b2 = b2)) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
            for (long d = 0; d < D; d++) b2[d] = 2 * ly->dir[0].proj.out_b[d];
            if (c->rcps && rev_copy(b2, D, 1, &ly->out_b2_rc)) return -1;
        }
    }
    return caduceus_vocab(m, c);
}

static void caduceus_free(hd_model *m)
{
    caduceus *c = m->impl;
    if (!c) return;
    if (c->layer)
        for (int i = 0; i < m->n_layer; i++) {
            cad_layer *ly = &c->layer[i];
            for (int d = 0; d < 2; d++) {
                free((float *)ly->dir[d].A);
                free((float *)ly->dir[d].conv_w);
                if (d && c->tied) continue;   /* aliases of dir[0]'s */
                free((float *)ly->dir[d].proj_rc.in_proj);
                free((float *)ly->dir[d].proj_rc.out_proj);
                free((float *)ly->dir[d].proj_rc.out_b);
            }
            free((float *)ly->norm_w_rc);
            free((float *)ly->norm_b_rc);
            free((float *)ly->out_b2);
            free((float *)ly->out_b2_rc);
        }
    free(c->layer);
    if (c->head_rc != c->emb_rc) free(c->head_rc);
    free(c->emb_rc);
    free((float *)c->norm_f_rev);
    free((float *)c->norm_f_b_rev);
    free(c->comp);
    free(c);
    m->impl = NULL;
}

/* ---------------------------------------------------------------- helpers */

const int *hd_caduceus_complement(const hd_model *m)
{
    /* a model with its own token ids is driven with the common ones (vocab.h): their complement */
    static const int common[HD_TOK_VOCAB] = {0, 1, 2, 3, 4, 5, 6, HD_TOK_T, HD_TOK_G, HD_TOK_C, HD_TOK_A, HD_TOK_N};
    if (!m || m->family != HD_FAM_CADUCEUS || !m->impl) return NULL;
    return m->vocab ? common : ((const caduceus *)m->impl)->comp;
}

int hd_caduceus_rc_ids(const hd_model *m, const int32_t *ids, size_t L, int32_t *out)
{
    const int *comp = hd_caduceus_complement(m);
    if (!comp) { hd_set_error(HD_EINPUT, "not a Caduceus model"); return -1; }
    for (size_t i = 0; i < L; i++) {
        int32_t v = ids[L - 1 - i];
        out[i] = v >= 0 && v < m->n_logits ? comp[v] : v;
    }
    return 0;
}

int hd_caduceus_conjoin(const hd_model *m, const float *hidden, const float *hidden_rc, size_t L, float *out)
{
    if (!hd_caduceus_complement(m)) { hd_set_error(HD_EINPUT, "not a Caduceus model"); return -1; }
    size_t D = (size_t)m->d_model;
    if (m->rc_equivariant) {
        for (size_t t = 0; t < L; t++)
            for (size_t c = 0; c < D; c++)
                out[t * D + c] = 0.5f * (hidden[t * 2 * D + c] + hidden[(L - 1 - t) * 2 * D + (2 * D - 1 - c)]);
        return 0;
    }
    if (!hidden_rc) { hd_set_error(HD_EINPUT, "Caduceus-PH conjoining needs the hidden states of the reverse-complement run"); return -1; }
    for (size_t t = 0; t < L; t++)
        for (size_t c = 0; c < D; c++) out[t * D + c] = 0.5f * (hidden[t * D + c] + hidden_rc[(L - 1 - t) * D + c]);
    return 0;
}

int hd_caduceus_conjoin_logits(const hd_model *m, const float *logits, const float *logits_rc, size_t L, float *out)
{
    const int *comp = hd_caduceus_complement(m);
    if (!comp) { hd_set_error(HD_EINPUT, "not a Caduceus model"); return -1; }
    if (!logits_rc) { hd_set_error(HD_EINPUT, "conjoining logits needs the logits of the reverse-complement run"); return -1; }
    size_t V = (size_t)m->n_logits;
    for (size_t t = 0; t < L; t++)
        for (size_t v = 0; v < V; v++)
            out[t * V + v] = 0.5f * (logits[t * V + v] + logits_rc[(L - 1 - t) * V + (size_t)comp[v]]);
    return 0;
}

void hd_caduceus_set_tap(hd_model *m, hd_caduceus_tap_fn fn, void *ud)
{
    if (!m || m->family != HD_FAM_CADUCEUS || !m->impl) return;
    caduceus *c = m->impl;
    c->tap = fn;
    c->tap_ud = ud;
}

void hd_caduceus_set_chunk(hd_model *m, size_t positions)
{
    if (!m || m->family != HD_FAM_CADUCEUS || !m->impl) return;
    ((caduceus *)m->impl)->chunk = positions ? positions : CAD_CHUNK;
}

/* ---------------------------------------------------------------- forward */

typedef struct {
    size_t L, cs;
    float *r[2], *h[2];  /* [L, D]: residual and hidden halves (PH uses [0] only) */
    float *xz[2];        /* [L, 2E] in_proj output: x columns 0..E−1, z columns E..2E−1; [1]: the backward
                          * pass's, untied projections only */
    float *y[2];         /* [L, E] the scan output, gated: merged, the sum of both directions (y[0] only);
                          * else [0] the forward pass's, [1] the backward pass's */
    float *nc;           /* [cs, D] a normed chunk */
    float *s;            /* [cs, E] silu(conv(x)) */
    float *dt;           /* [cs, E] dt_proj output (bias added in the scan) */
    float *xdbl;         /* [cs, R + 2N] x_proj output: dt | B | C */
    float *state;        /* [E, N] */
    float *oc, *oc2;     /* [cs, max(D, rows)] */
    float *host;         /* host copy [L, d_hidden] for taps and on_block (PS interleaving) */
} cad_buf;

static void cbuf_free(hd_backend *be, cad_buf *B)
{
    float **p[] = {&B->r[0], &B->r[1], &B->h[0], &B->h[1], &B->xz[0], &B->xz[1], &B->y[0], &B->y[1], &B->nc,
                   &B->s, &B->dt, &B->xdbl, &B->state, &B->oc, &B->oc2};
    for (size_t i = 0; i < sizeof p / sizeof *p; i++) { be->free(be, *p[i]); *p[i] = NULL; }
    hd_free(B->host);
    B->host = NULL;
}

static int cbuf_alloc(hd_backend *be, const caduceus *c, size_t L, int want_host, cad_buf *B)
{
    memset(B, 0, sizeof *B);
    size_t D = (size_t)c->D, E = (size_t)c->E, N = (size_t)c->N, W = (size_t)(c->R + 2 * c->N);
    size_t cs = L < c->chunk ? L : c->chunk, LD, LE;
    size_t wide = (size_t)(c->rows > c->D ? c->rows : c->D);
    B->L = L, B->cs = cs;
    if (hd_mul(L, D * sizeof(float), &LD) || hd_mul(L, E * sizeof(float), &LE) || LE > SIZE_MAX / 2) {
        hd_set_error(HD_EMODEL, "out of memory: sequence too long");
        return -1;
    }
    int halves = c->rcps ? 2 : 1;
    for (int i = 0; i < halves; i++)
        if (!(B->r[i] = be->alloc(be, LD, "the residual stream")) || !(B->h[i] = be->alloc(be, LD, "the hidden states")))
            goto fail;
    if (!(B->xz[0] = be->alloc(be, 2 * LE, "the BiMamba input projection")) ||
        (c->bidir && !c->tied && !(B->xz[1] = be->alloc(be, 2 * LE, "the reverse Mamba's input projection"))) ||
        !(B->y[0] = be->alloc(be, LE, "the BiMamba scan output")) ||
        (c->bidir && !c->merged && !(B->y[1] = be->alloc(be, LE, "the reverse Mamba's scan output"))) ||
        !(B->nc = be->alloc(be, cs * D * sizeof(float), "a chunk")) ||
        !(B->s = be->alloc(be, E * cs * sizeof(float), "a chunk")) ||
        !(B->dt = be->alloc(be, E * cs * sizeof(float), "a chunk")) ||
        !(B->xdbl = be->alloc(be, cs * W * sizeof(float), "a chunk")) ||
        !(B->state = be->alloc(be, E * N * sizeof(float), "the scan state")) ||
        !(B->oc = be->alloc(be, cs * wide * sizeof(float), "a chunk")) ||
        !(B->oc2 = be->alloc(be, cs * wide * sizeof(float), "a chunk")))
        goto fail;
    if (want_host && !(B->host = hd_alloc(LD * halves, "a host copy of the hidden states"))) goto fail;
    return 0;
fail:
    cbuf_free(be, B);
    return -1;
}

/* Layer ly's weights as backend memory (be->weights: device copies on a GPU, uploaded once and cached by
 * the backend; the host pointers themselves on the CPU).  Every weight an op reads goes through here. */
static int layer_weights(hd_backend *be, const caduceus *c, const cad_layer *ly, cad_layer *w)
{
    size_t D = (size_t)c->D, E = (size_t)c->E, N = (size_t)c->N, R = (size_t)c->R, K = (size_t)c->K;
    *w = *ly;
#define W(field, n) if (ly->field && !(w->field = be->weights(be, ly->field, (n)))) return -1
    W(norm_w, D); W(norm_b, D); W(norm_w_rc, D); W(norm_b_rc, D); W(out_b2, D); W(out_b2_rc, D);
    for (int d = 0; d < (c->bidir ? 2 : 1); d++) {
        if (d && c->tied) {
            w->dir[1].proj = w->dir[0].proj, w->dir[1].proj_rc = w->dir[0].proj_rc;
        } else {
            W(dir[d].proj.in_proj, 2 * E * D); W(dir[d].proj.in_b, 2 * E);
            W(dir[d].proj.out_proj, D * E); W(dir[d].proj.out_b, D);
            W(dir[d].proj_rc.in_proj, 2 * E * D); W(dir[d].proj_rc.in_b, 2 * E);
            W(dir[d].proj_rc.out_proj, D * E); W(dir[d].proj_rc.out_b, D);
        }
        W(dir[d].conv_w, E * K); W(dir[d].conv_b, E); W(dir[d].x_proj, (R + 2 * N) * E);
        W(dir[d].dt_w, E * R); W(dir[d].dt_b, E); W(dir[d].Dskip, E); W(dir[d].A, E * N);
    }
#undef W
    return 0;
}

/* Norm_{w,b}(x) over D for n rows: RMSNorm (§4.6), or LayerNorm with its bias (rms_norm false) */
static void block_norm(const caduceus *c, hd_backend *be, const float *x, size_t n, const float *w, const float *b,
                       float *y)
{
    if (c->layernorm) be->layernorm(be, x, n, (size_t)c->D, w, b, c->eps, y);
    else be->rmsnorm(be, x, n, (size_t)c->D, w, c->eps, y);
}

/* One pass of a Mamba mixer's direction over positions t0 … t0 + n − 1 (§4.4 steps 2–8), row-major
 * throughout, reading x and z from its input projection xz [L, 2E] and writing y [L, E]: a backward pass
 * (back = 1) reads the sequence backwards without copying it (its convolution reaches into later positions,
 * its scan runs from the chunk's end, its state comes from the chunk after).  gate: y ← y·silu(z);
 * accumulate: the output is added to y (the merged second pass, which then gates the sum, §4.5). */
static void mamba_chunk(const caduceus *c, hd_backend *be, const mamba_dir *md, const float *xz, int back,
                        int gate, int accumulate, size_t t0, size_t n, cad_buf *B, float *y)
{
    size_t L = B->L, E = (size_t)c->E, N = (size_t)c->N, K = (size_t)c->K, R = (size_t)c->R, W = R + 2 * N;
    /* positions of history the convolution may read: before the chunk (forward), after it (backward) */
    size_t room = back ? L - t0 - n : t0, hist = room < K - 1 ? room : K - 1;
    const float *x = xz + t0 * 2 * E, *z = gate ? xz + t0 * 2 * E + E : NULL;
    be->conv_silu_rows(be, x, 2 * E, n, E, hist, md->conv_w, K, md->conv_b, back, B->s, E);
    be->linear(be, B->s, n, E, E, md->x_proj, NULL, W, B->xdbl, W);
    be->linear(be, B->xdbl, n, R, W, md->dt_w, NULL, E, B->dt, E);
    int first = back ? t0 + n == L : t0 == 0;
    int flags = (first ? HD_SCAN_FRESH : 0) | (back ? HD_SCAN_BACKWARD : 0) | (accumulate ? HD_SCAN_ACCUMULATE : 0);
    be->selective_scan(be, E, N, n, B->s, E, B->dt, E, md->dt_b, md->A, B->xdbl + R, B->xdbl + R + N, W, md->Dskip, z,
                       2 * E, B->state, y + t0 * E, E, flags);
}

/* out [L, D] = BiMamba_ℓ(Norm_ℓ(in)), in and out row-major [L, D]; out may be in.  ly: backend weights.
 * rc: PS's rc half, out = RC(BiMamba_ℓ(Norm_ℓ(RC(in)))) in the original order (see the top of the file).
 *   BiMamba(u) = out_f(y_f) ∘ out_b(y_b),  y_f = Mamba_f(in_f(u)) forward,  y_b = Mamba_b(in_b(u)) backward,
 * ∘ being + ("add") or ⊙ ("ew_multiply") of the two out_proj outputs, each with its bias (§4.5).  Merged
 * (tied projections, "add"): in_f = in_b, so one xz serves both passes and z is shared, and out_f = out_b, so
 *   out_f(y_f) + out_f(y_b) = W_out·(y_f + y_b) + 2·b_out,
 * with the gate applied once to the sum (silu(z) is common to both). */
static void bimamba(const caduceus *c, hd_backend *be, const cad_layer *ly, int rc, const float *in, float *out,
                    cad_buf *B)
{
    size_t L = B->L, cs = B->cs, D = (size_t)c->D, E = (size_t)c->E;
    const float *norm_w = rc ? ly->norm_w_rc : ly->norm_w, *norm_b = rc ? ly->norm_b_rc : ly->norm_b;
    /* Forward runs Mamba_fwd (the rc half: Mamba_rev), backward Mamba_rev (the rc half: Mamba_fwd); a
     * unidirectional mixer has Mamba_fwd only, forward (the rc half: backward). */
    const mamba_dir *fwd = c->bidir ? &ly->dir[rc] : rc ? NULL : &ly->dir[0];
    const mamba_dir *bwd = c->bidir ? &ly->dir[!rc] : rc ? &ly->dir[0] : NULL;
    const cad_proj *pf = fwd ? (rc ? &fwd->proj_rc : &fwd->proj) : NULL, *pb = bwd ? (rc ? &bwd->proj_rc : &bwd->proj) : NULL;
    const cad_proj *p0 = pf ? pf : pb;                 /* the projections of xz[0], y[0] */
    int two = pf && pb, untied_in = two && !c->tied;   /* a second pass; with xz[1] of its own */
    float *yb = two && !c->merged ? B->y[1] : B->y[0];
    const float *xzb = untied_in ? B->xz[1] : B->xz[0];
    /* 1. input projection(s) */
    for (size_t m0 = 0; m0 < L; m0 += cs) {
        size_t n = L - m0 < cs ? L - m0 : cs;
        block_norm(c, be, in + m0 * D, n, norm_w, norm_b, B->nc);
        be->linear(be, B->nc, n, D, D, p0->in_proj, p0->in_b, 2 * E, B->xz[0] + m0 * 2 * E, 2 * E);
        if (untied_in) be->linear(be, B->nc, n, D, D, pb->in_proj, pb->in_b, 2 * E, B->xz[1] + m0 * 2 * E, 2 * E);
    }
    /* 2–8: the forward pass chunk by chunk from the start, the backward one from the end */
    if (fwd)
        for (size_t t0 = 0; t0 < L; t0 += cs)
            mamba_chunk(c, be, fwd, B->xz[0], 0, !c->merged, 0, t0, L - t0 < cs ? L - t0 : cs, B, B->y[0]);
    if (bwd)
        for (size_t t1 = L; t1 > 0;) {
            size_t n = t1 < cs ? t1 : cs;
            t1 -= n;
            mamba_chunk(c, be, bwd, xzb, 1, 1, two && c->merged, t1, n, B, yb);
        }
    /* 9. the output projection(s) and the two directions combined */
    for (size_t m0 = 0; m0 < L; m0 += cs) {
        size_t n = L - m0 < cs ? L - m0 : cs;
        if (c->merged) {
            be->linear(be, B->y[0] + m0 * E, n, E, E, p0->out_proj, rc ? ly->out_b2_rc : ly->out_b2, D, out + m0 * D, D);
            continue;
        }
        be->linear(be, B->y[0] + m0 * E, n, E, E, p0->out_proj, p0->out_b, D, out + m0 * D, D);
        if (!two) continue;
        be->linear(be, yb + m0 * E, n, E, E, pb->out_proj, pb->out_b, D, B->oc, D);
        if (c->ewmul) be->mul_cm(be, out + m0 * D, D, B->oc, D, out + m0 * D, D, n, D);
        else be->add(be, out + m0 * D, B->oc, n * D);
    }
}

/* [L, d_hidden] host view of a (pair of) device buffers: PS halves interleaved into B->host */
static const float *host_view(const caduceus *c, hd_backend *be, cad_buf *B, float *const *half, int is_host)
{
    size_t L = B->L, D = (size_t)c->D;
    if (!c->rcps) {
        if (is_host) return half[0];
        be->download(be, B->host, half[0], L * D * sizeof(float));
        return B->host;
    }
    /* interleave rows: download each half into the second half of host rows, then arrange */
    float *tmp = hd_alloc(D * (L < 4096 ? L : 4096) * sizeof(float), "a host chunk");
    if (!tmp) return NULL;
    for (int hh = 0; hh < 2; hh++)
        for (size_t m0 = 0; m0 < L; m0 += 4096) {
            size_t n = L - m0 < 4096 ? L - m0 : 4096;
            be->download(be, tmp, half[hh] + m0 * D, n * D * sizeof(float));
            for (size_t i = 0; i < n; i++) memcpy(B->host + (m0 + i) * 2 * D + hh * D, tmp + i * D, D * sizeof(float));
        }
    hd_free(tmp);
    return B->host;
}

static int caduceus_forward(hd_model *m, hd_backend *be, const int32_t *ids, size_t L, hd_fwd *f)
{
    caduceus *c = m->impl;
    if (L == 0) return 0;
    int is_host = be->host_memory;
    int want_host = (c->tap || f->on_block || (f->layer >= 0 && f->hidden)) && (c->rcps || !is_host);
    cad_buf B;
    if (cbuf_alloc(be, c, L, want_host, &B)) return -1;
    size_t D = (size_t)c->D, cs = B.cs, rows = (size_t)c->rows, W = (size_t)m->d_hidden;
    int rc = -1, halves = c->rcps ? 2 : 1;
    const float *hv;

    /* embedding (§4.7; RCPSEmbedding §4.8) */
    float *emb = malloc(cs * D * sizeof(float));
    if (!emb) { hd_set_error(HD_EMODEL, "out of memory"); goto out; }
    for (int hh = 0; hh < halves; hh++) {
        const float *tab = hh ? c->emb_rc : c->emb;
        for (size_t m0 = 0; m0 < L; m0 += cs) {
            size_t n = L - m0 < cs ? L - m0 : cs;
            for (size_t i = 0; i < n; i++) memcpy(emb + i * D, tab + (size_t)ids[m0 + i] * D, D * sizeof(float));
            be->upload(be, B.r[hh] + m0 * D, emb, n * D * sizeof(float));
        }
    }
    free(emb);
    if (c->tap) {
        if (!(hv = host_view(c, be, &B, B.r, is_host))) goto out;
        c->tap(c->tap_ud, "embedding", -1, hv, L, (int)W);
    }

    int last = f->layer >= 0 && !f->logits ? f->layer : m->n_layer - 1;
    for (int i = 0; i <= last; i++) {
        cad_layer lw, *ly = &lw;
        if (layer_weights(be, c, &c->layer[i], &lw)) goto out;
        /* fused add-norm: the residual r (+ h) was formed at the end of the previous block; PS swaps halves */
        if (c->swap) {
            float *t = B.r[0]; B.r[0] = B.r[1]; B.r[1] = t;
        }
        if (c->tap) {
            if (!(hv = host_view(c, be, &B, B.r, is_host))) goto out;
            c->tap(c->tap_ud, "residual", i, hv, L, (int)W);
        }
        bimamba(c, be, ly, 0, B.r[0], B.h[0], &B);
        if (c->rcps) bimamba(c, be, ly, 1, B.r[1], B.h[1], &B);   /* h1 = RC(M(RMS_w(RC(r1)))) */
        if (c->tap) {
            if (!(hv = host_view(c, be, &B, B.h, is_host))) goto out;
            c->tap(c->tap_ud, "layer", i, hv, L, (int)W);
        }
        for (int hh = 0; hh < halves; hh++) be->add(be, B.r[hh], B.h[hh], L * D);
        if (f->on_block) {
            if (!(hv = host_view(c, be, &B, B.r, is_host))) goto out;
            f->on_block(f->ud, i, hv, L, (int)W);
        }
        if (i == f->layer && f->hidden) {
            if (!(hv = host_view(c, be, &B, B.r, 1))) goto out;
            if (!c->rcps) be->download(be, f->hidden, B.r[0], L * D * sizeof(float));
            else memcpy(f->hidden, hv, L * W * sizeof(float));
        }
    }

    /* final norm (no swap) and the tied (RCPS) head */
    if ((f->hidden && f->layer < 0) || f->logits) {
        const float *norm[2] = {be->weights(be, c->norm_f, D), c->rcps ? be->weights(be, c->norm_f_rev, D) : NULL};
        const float *norm_b[2] = {c->norm_f_b ? be->weights(be, c->norm_f_b, D) : NULL,
                                  c->norm_f_b_rev ? be->weights(be, c->norm_f_b_rev, D) : NULL};
        const float *head[2] = {f->logits ? be->weights(be, c->head, rows * D) : NULL,
                                f->logits && c->rcps ? be->weights(be, c->head_rc, rows * D) : NULL};
        for (int hh = 0; hh < halves; hh++)
            if (!norm[hh] || (c->layernorm && !norm_b[hh]) || (f->logits && !head[hh])) goto out;
        float *hrow = f->hidden && f->layer < 0 && c->rcps ? malloc(cs * D * sizeof(float)) : NULL;
        if (f->hidden && f->layer < 0 && c->rcps && !hrow) { hd_set_error(HD_EMODEL, "out of memory"); goto out; }
        for (size_t m0 = 0; m0 < L; m0 += cs) {
            size_t n = L - m0 < cs ? L - m0 : cs;
            for (int hh = 0; hh < halves; hh++) {
                block_norm(c, be, B.r[hh] + m0 * D, n, norm[hh], norm_b[hh], B.nc);
                if (f->hidden && f->layer < 0) {
                    if (!c->rcps) be->download(be, f->hidden + m0 * D, B.nc, n * D * sizeof(float));
                    else {
                        be->download(be, hrow, B.nc, n * D * sizeof(float));
                        for (size_t i = 0; i < n; i++)
                            memcpy(f->hidden + (m0 + i) * W + hh * D, hrow + i * D, D * sizeof(float));
                    }
                }
                if (f->logits) {
                    be->linear(be, B.nc, n, D, D, head[hh], NULL, rows, hh ? B.oc2 : B.oc, rows);
                    if (hh) be->add(be, B.oc, B.oc2, n * rows);
                }
            }
            if (f->logits) be->download(be, f->logits + m0 * rows, B.oc, n * rows * sizeof(float));
        }
        free(hrow);
    }
    rc = 0;
out:
    cbuf_free(be, &B);
    return rc;
}

/* The backend ops the forward pass calls. */
static const hd_op caduceus_needs[] = {
    HD_OP(rmsnorm), HD_OP(layernorm), HD_OP(linear), HD_OP(conv_silu_rows), HD_OP(selective_scan), HD_OP(add),
    HD_OP(mul_cm),
    HD_OPS_END};

/* GEMM FLOPs of a forward (hd_model_gemm_flops): per position and BiMamba, per direction x_proj (E → R + 2N)
 * and dt_proj (R → E), in_proj (D → 2E) once when tied, out_proj (E → D) once when merged (§4.5); PS runs
 * BiMamba on both halves; the head (D → rows, per half) with logits. */
static double caduceus_gemm_flops(const hd_model *m, size_t L, int logits)
{
    const caduceus *c = m->impl;
    double D = c->D, E = c->E, N = c->N, R = c->R, halves = c->rcps ? 2 : 1, dirs = c->bidir ? 2 : 1;
    double ins = c->bidir && !c->tied ? 2 : 1, outs = c->bidir && !c->merged ? 2 : 1;
    double bimamba = ins * 2 * D * 2 * E + outs * 2 * E * D + dirs * (2 * E * (R + 2 * N) + 2 * R * E);
    return (double)L * halves * (m->n_layer * bimamba + (logits ? 2 * D * c->rows : 0));
}

const hd_family_ops hd_caduceus_ops = {
    .name = "caduceus", .load = caduceus_load, .free = caduceus_free, .forward = caduceus_forward,
    .needs = caduceus_needs, .gemm_flops = caduceus_gemm_flops};
