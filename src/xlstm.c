/* xlstm.c -- the DNA-xLSTM forward pass (docs/models.md §5; ml-jku/DNA-xLSTM with its vendored NX-AI xlstm).
 *
 *   x = Emb[ids]                                   (PS: [Emb[ids] | rev(Emb[comp(ids)])], L × 2D)
 *   per block i (mLSTM, or sLSTM when i ∈ s_lstm_at), each block carrying its own residual:
 *       bidirectional:  x = Block_i(x) + Lrev(Block_i(Lrev x))      (shared weights: the stream doubles)
 *       alternating:    x = Block_i(x) for odd i, Lrev(Block_i(Lrev x)) for even i
 *       otherwise:      x = Block_i(x)
 *   hidden = LN_post(x);  logits = hidden · W_headᵀ   (untied head; PS: RCPS head)
 *
 *   mLSTM block:  u + W_down·((GN(cell(q, k, v)) + skip ⊙ xc) ⊙ silu(z)),  [xm, z] = W_up·LN(u),
 *                 xc = silu(conv(xm)), q, k = HW(xc), v = HW(xm), gates from [q, k, v] before RoPE
 *   sLSTM block:  u += GN(cell(fgate(xc) → i, igate(xc) → f, zgate(x), ogate(x))), xc = silu(conv(LN1 u));
 *                 u += W_down·(gelu_erf(g) ⊙ up), [g, up] = W_up·LN2(u)
 * Every LayerNorm scales by (1 + w), no bias, eps 1e-5.
 *
 * Weights.  The released DNA-xLSTM checkpoints are PyTorch-Lightning .ckpt files
 * (checkpoints/test/loss.ckpt beside model_config.json): `-m` takes the .ckpt directly (converted in memory
 * by src/ckpt.c), and `hyenadna convert -c model_config.json -o DIR loss.ckpt` writes a model directory once
 * (docs/models.md §5.1).  The `model.backbone.` prefix is stripped on loading; the stored sLSTM cell tensors
 * are in the CUDA-backend layout, which is what this file reads (§5.8). */
#include "xlstm.h"
#include "backend.h"
#include "model.h"
#include "tokenizer.h"
#include "util.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { BLK_MLSTM = 0, BLK_SLSTM = 1 };

/* Positions per chunk of the chunkwise cell when the config asks for more (the scripts use 1024).  The
 * chunkwise stabiliser max(rowmax, m + F_t) is, chunk partition or not, the recurrent form's m_t (both start
 * from m = 0), so the partition changes rounding only (the fixture README measures 4e-8 for one chunk of L
 * instead of 64), while the in-chunk work grows with L·chunk·DH: 1024-position chunks are ~5× slower on a
 * CPU.  hd_xlstm_set_form(m, HD_MLSTM_CHUNKWISE, n) runs any chunk size. */
#define XLSTM_MAX_CHUNK 128

typedef struct {
    int type;
    const float *norm_g;                       /* (1 + xlstm_norm.weight); PS: [g | rev(g)] */
    /* mLSTM */
    const float *up_w, *up_b;                  /* [2Ei, D], [2Ei] */
    const float *conv_w, *conv_b;              /* [C, K], [C] (C = Ei for mLSTM, D for sLSTM) */
    const float *q_w, *q_b, *k_w, *k_b, *v_w, *v_b;   /* [Ei/bs, bs, bs], [Ei] */
    const float *gate_w, *gate_b;              /* [2NH, 3Ei]: igate rows then fgate rows; [2NH] */
    const float *outnorm_g;                    /* (1 + outnorm.weight) [Ei] */
    const float *skip;                         /* [Ei] */
    const float *down_w, *down_b;              /* [D, Ei], [D] */
    /* sLSTM */
    const float *i_w, *f_w, *z_w, *o_w;        /* [NH, DH, DH]: i from module fgate, f from module igate */
    const float *R, *bias;                     /* [NH, DH, 4DH], [NH·4·DH] (CUDA layout) */
    const float *gn_g;                         /* (1 + group_norm.weight) [D] */
    const float *ffn_norm_g;                   /* (1 + ffn_norm.weight); PS: [g | rev(g)] */
    const float *ffn_up, *ffn_down;            /* [2U, D], [D, U] */
} xblock;

typedef struct {
    int D, V, W;                 /* width, embedding rows, stream width (2D for PS) */
    int Ei, mNH, mDH, mK, bs;    /* mLSTM inner width, heads, head width, conv kernel, q/k/v block size */
    int sNH, sDH, sK, U;         /* sLSTM heads, head width, conv kernel, FFN up width */
    int n_m, n_s;                /* number of mLSTM / sLSTM blocks */
    int form_cfg, form;          /* HD_MLSTM_* */
    size_t chunk_cfg, chunk;
    int bidir, alternating, rope, ps, spos;
    int mcausal, scausal;        /* m_conv1d_causal, s_conv1d_causal */
    int mnative;                 /* m_backend_bidirectional on a bidirectional, not alternating stack: the mLSTM
                                  * blocks run once, their cell non-causal in the parallel form (§5.7) */
    size_t mright, sright;       /* taps after the position of the mLSTM / sLSTM convolutions (0: causal; §5.6) */
    long ctx;                    /* max_length (RoPE table rows) */
    const float *emb, *head, *post_g;
    float *rope_cos, *rope_sin;  /* [ctx, mDH/2] */
    const float *pos_scale;
    int comp[64];                /* complement map of the token ids (PS) */
    xblock *blk;
    float **own;
    int n_own;
} xlstm;

/* ---------------------------------------------------------------- loading */

static float *own(xlstm *x, size_t n)
{
    float **o = realloc(x->own, (x->n_own + 1) * sizeof *o);
    if (!o) { hd_set_error(HD_EMODEL, "out of memory"); return NULL; }
    x->own = o;
    float *p = hd_alloc(n * sizeof(float), "a derived weight table");   /* checked against free memory */
    if (!p) return NULL;
    x->own[x->n_own++] = p;
    return p;
}

/* (1 + w) of a [n] norm weight; with ps the second half is the reversed copy (RCPS-wrapped norm) */
static const float *one_plus(xlstm *x, const float *w, int n, int ps)
{
    float *g = own(x, (size_t)n * (ps ? 2 : 1));
    if (!g) return NULL;
    for (int i = 0; i < n; i++) g[i] = 1.0f + w[i];
    if (ps)
        for (int i = 0; i < n; i++) g[n + i] = g[n - 1 - i];
    return g;
}

static const int64_t *tshape(hd_model *m, const char *canon, int *ndim)
{
    const hd_tensor_info *t = hd_model_tensor(m, canon);
    if (!t) { hd_set_error(HD_EMODEL, "%s: tensor '%s' is missing", m->weights_path, canon); return NULL; }
    *ndim = t->ndim;
    return t->shape;
}

/* canonical name of a block tensor: blocks.{i}.{part}[.submodule].{rest} (PS wraps part in RCPSWrapper) */
static const char *bname(char *buf, size_t n, int i, const char *part, int wrapped, const char *rest)
{
    snprintf(buf, n, "xlstm_block_stack.blocks.%d.%s%s.%s", i, part, wrapped ? ".submodule" : "", rest);
    return buf;
}

static int parse_form(hd_model *m, xlstm *x)
{
    const char *be = hd_cfg_str(m, "m_backend");
    if (!be || !strcmp(be, "parallel")) x->form_cfg = HD_MLSTM_PARALLEL;
    else if (!strcmp(be, "chunkwise")) x->form_cfg = HD_MLSTM_CHUNKWISE;
    else if (!strcmp(be, "recurrent")) x->form_cfg = HD_MLSTM_RECURRENT;
    else {
        hd_set_error(HD_EMODEL, "%s: config key 'm_backend' = '%s': expected parallel, chunkwise or recurrent",
                     m->config_path ? m->config_path : m->weights_path, be);
        return -1;
    }
    x->form = x->form_cfg;
    return 0;
}

static int load_mlstm(hd_model *m, xlstm *x, int i, xblock *b)
{
    char nm[256];
    int nd;
    long D = x->D;
    const int64_t *s = tshape(m, bname(nm, sizeof nm, i, "xlstm", 0, "proj_up.weight"), &nd);
    if (!s) return -1;
    long Ei = nd == 2 ? s[0] / 2 : 0;
    s = tshape(m, bname(nm, sizeof nm, i, "xlstm", 0, "mlstm_cell.igate.weight"), &nd);
    if (!s) return -1;
    long NH = s[0];
    s = tshape(m, bname(nm, sizeof nm, i, "xlstm", 0, "conv1d.conv.weight"), &nd);
    if (!s) return -1;
    long K = s[nd - 1];
    if (Ei <= 0 || NH <= 0 || Ei % NH || (Ei / NH) % 2 || K <= 0 || Ei % x->bs) {
        hd_set_error(HD_EMODEL, "%s: block %d: inconsistent mLSTM shapes (inner width %ld, %ld heads, kernel %ld, q/k/v blocks of %d)",
                     m->weights_path, i, Ei, NH, K, x->bs);
        return -1;
    }
    if (x->n_m && (Ei != x->Ei || NH != x->mNH || K != x->mK)) {
        hd_set_error(HD_EMODEL, "%s: block %d: mLSTM shapes differ from the earlier blocks", m->weights_path, i);
        return -1;
    }
    x->Ei = (int)Ei, x->mNH = (int)NH, x->mDH = (int)(Ei / NH), x->mK = (int)K;
    int bias = hd_cfg_bool(m, "m_bias", 0), bs = x->bs;
    const float *w;
#define T(field, kind, rest, ...) \
    if (!(b->field = hd_model_f32(m, kind, HD_SHAPE(__VA_ARGS__), "%s", bname(nm, sizeof nm, i, "xlstm", 0, rest)))) return -1
    if (!(w = hd_model_f32(m, 1, HD_SHAPE(D), "%s", bname(nm, sizeof nm, i, "xlstm_norm", x->ps, "weight")))) return -1;
    if (!(b->norm_g = one_plus(x, w, (int)D, 0))) return -1;
    T(up_w, 1, "proj_up.weight", 2 * Ei, D);
    T(conv_w, 1, "conv1d.conv.weight", Ei, 1, K);
    T(conv_b, 1, "conv1d.conv.bias", Ei);
    T(q_w, 1, "q_proj.weight", Ei / bs, bs, bs);
    T(k_w, 1, "k_proj.weight", Ei / bs, bs, bs);
    T(v_w, 1, "v_proj.weight", Ei / bs, bs, bs);
    T(skip, 1, "learnable_skip", Ei);
    T(down_w, 1, "proj_down.weight", D, Ei);
    if (bias) {
        T(up_b, 1, "proj_up.bias", 2 * Ei);
        T(q_b, 1, "q_proj.bias", Ei);
        T(k_b, 1, "k_proj.bias", Ei);
        T(v_b, 1, "v_proj.bias", Ei);
        T(down_b, 1, "proj_down.bias", D);
    }
    const float *iw, *ib, *fw, *fb, *on;
    if (!(iw = hd_model_f32(m, 1, HD_SHAPE(NH, 3 * Ei), "%s", bname(nm, sizeof nm, i, "xlstm", 0, "mlstm_cell.igate.weight"))) ||
        !(ib = hd_model_f32(m, 1, HD_SHAPE(NH), "%s", bname(nm, sizeof nm, i, "xlstm", 0, "mlstm_cell.igate.bias"))) ||
        !(fw = hd_model_f32(m, 1, HD_SHAPE(NH, 3 * Ei), "%s", bname(nm, sizeof nm, i, "xlstm", 0, "mlstm_cell.fgate.weight"))) ||
        !(fb = hd_model_f32(m, 1, HD_SHAPE(NH), "%s", bname(nm, sizeof nm, i, "xlstm", 0, "mlstm_cell.fgate.bias"))) ||
        !(on = hd_model_f32(m, 1, HD_SHAPE(Ei), "%s", bname(nm, sizeof nm, i, "xlstm", 0, "mlstm_cell.outnorm.weight"))))
        return -1;
    float *gw = own(x, (size_t)(2 * NH * 3 * Ei)), *gb = own(x, (size_t)(2 * NH));
    if (!gw || !gb) return -1;
    memcpy(gw, iw, (size_t)(NH * 3 * Ei) * sizeof(float));
    memcpy(gw + NH * 3 * Ei, fw, (size_t)(NH * 3 * Ei) * sizeof(float));
    memcpy(gb, ib, (size_t)NH * sizeof(float));
    memcpy(gb + NH, fb, (size_t)NH * sizeof(float));
    b->gate_w = gw, b->gate_b = gb;
    if (!(b->outnorm_g = one_plus(x, on, (int)Ei, 0))) return -1;
#undef T
    x->n_m++;
    return 0;
}

static int load_slstm(hd_model *m, xlstm *x, int i, xblock *b)
{
    char nm[256];
    int nd, ps = x->ps;
    long D = x->D;
    const int64_t *s = tshape(m, bname(nm, sizeof nm, i, "xlstm", ps, "fgate.weight"), &nd);
    if (!s) return -1;
    long NH = s[0];
    if (NH <= 0 || D % NH) {
        hd_set_error(HD_EMODEL, "%s: block %d: %ld sLSTM heads do not divide d_model %ld", m->weights_path, i, NH, D);
        return -1;
    }
    long DH = D / NH;
    long K = 0;
    const hd_tensor_info *ct = hd_model_tensor(m, bname(nm, sizeof nm, i, "xlstm", ps, "conv1d.conv.weight"));
    if (ct) K = ct->shape[ct->ndim - 1];
    s = tshape(m, bname(nm, sizeof nm, i, "ffn", ps, "proj_up.weight"), &nd);
    if (!s) return -1;
    long U = nd == 2 ? s[0] / 2 : 0;
    if (U <= 0) { hd_set_error(HD_EMODEL, "%s: block %d: bad ffn.proj_up.weight shape", m->weights_path, i); return -1; }
    if (x->n_s && (NH != x->sNH || K != x->sK || U != x->U)) {
        hd_set_error(HD_EMODEL, "%s: block %d: sLSTM shapes differ from the earlier blocks", m->weights_path, i);
        return -1;
    }
    x->sNH = (int)NH, x->sDH = (int)DH, x->sK = (int)K, x->U = (int)U;
    const float *w;
#define T(field, part, rest, ...) \
    if (!(b->field = hd_model_f32(m, 1, HD_SHAPE(__VA_ARGS__), "%s", bname(nm, sizeof nm, i, part, ps, rest)))) return -1
    if (!(w = hd_model_f32(m, 1, HD_SHAPE(D), "%s", bname(nm, sizeof nm, i, "xlstm_norm", ps, "weight")))) return -1;
    if (!(b->norm_g = one_plus(x, w, (int)D, ps))) return -1;
    if (K > 0) {
        T(conv_w, "xlstm", "conv1d.conv.weight", D, 1, K);
        T(conv_b, "xlstm", "conv1d.conv.bias", D);
    }
    /* the gate-name quirk (§5.8): module fgate gives the input gate, igate the forget gate */
    T(i_w, "xlstm", "fgate.weight", NH, DH, DH);
    T(f_w, "xlstm", "igate.weight", NH, DH, DH);
    T(z_w, "xlstm", "zgate.weight", NH, DH, DH);
    T(o_w, "xlstm", "ogate.weight", NH, DH, DH);
    T(R, "xlstm", "slstm_cell._recurrent_kernel_", NH, DH, 4 * DH);
    T(bias, "xlstm", "slstm_cell._bias_", NH * 4 * DH);
    if (!(w = hd_model_f32(m, 1, HD_SHAPE(D), "%s", bname(nm, sizeof nm, i, "xlstm", ps, "group_norm.weight")))) return -1;
    if (!(b->gn_g = one_plus(x, w, (int)D, 0))) return -1;
    if (!(w = hd_model_f32(m, 1, HD_SHAPE(D), "%s", bname(nm, sizeof nm, i, "ffn_norm", ps, "weight")))) return -1;
    if (!(b->ffn_norm_g = one_plus(x, w, (int)D, ps))) return -1;
    T(ffn_up, "ffn", "proj_up.weight", 2 * U, D);
    T(ffn_down, "ffn", "proj_down.weight", D, U);
#undef T
    x->n_s++;
    return 0;
}

/* RoPE table in the reference's float32 recipe (precompute_freqs_cis, θ = 500000) */
static int make_rope(xlstm *x)
{
    size_t P = (size_t)x->mDH / 2, n = (size_t)x->ctx * P;
    /* both tables are made at load from the config alone: refuse an absurd max_length before allocating */
    double need = 2.0 * (double)n * sizeof(float);
    if (need >= (double)(64 << 20) && need > (double)hd_mem_available()) {
        char a[32], b[32];
        hd_set_error(HD_EMODEL, "out of memory: config max_length %ld needs RoPE tables of %s but only %s are available",
                     x->ctx, hd_fmt_bytes(need, a, sizeof a), hd_fmt_bytes((double)hd_mem_available(), b, sizeof b));
        return -1;
    }
    if (!(x->rope_cos = own(x, n)) || !(x->rope_sin = own(x, n))) return -1;
    float *inv = malloc(P * sizeof(float));
    if (!inv) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    for (size_t j = 0; j < P; j++) inv[j] = 1.0f / powf(500000.0f, (float)(2 * j) / (float)x->mDH);
    for (long t = 0; t < x->ctx; t++)
        for (size_t j = 0; j < P; j++) {
            float a = (float)t * inv[j];
            x->rope_cos[t * P + j] = cosf(a);
            x->rope_sin[t * P + j] = sinf(a);
        }
    free(inv);
    return 0;
}

/* a convolution that reads positions after its own (m_conv1d_causal/s_conv1d_causal false, kernel > 1) */
static int noncausal_conv(const xlstm *x)
{
    return (x->n_m && x->mright) || (x->n_s && x->sright);
}

static int xlstm_load(hd_model *m)
{
    long D, N, vocab, maxlen, bs, chunk;
    const char *cfg = m->config_path ? m->config_path : m->weights_path;
    if (hd_cfg_int(m, "d_model", 0, 1, 1, 65536, &D) || hd_cfg_int(m, "n_layer", 0, 1, 1, 4096, &N) ||
        hd_cfg_int(m, "vocab_size", 12, 0, 12, 64, &vocab) ||
        hd_cfg_int(m, "max_length", 1024, 0, 1, 1L << 31, &maxlen) ||
        hd_cfg_int(m, "m_qkv_proj_blocksize", 4, 0, 1, 1 << 16, &bs) ||
        hd_cfg_int(m, "m_chunk_size", 64, 0, 1, 1 << 20, &chunk))
        return -1;
    xlstm *x = calloc(1, sizeof *x);
    if (!x) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    m->impl = x;
    x->D = (int)D, x->bs = (int)bs, x->ctx = maxlen;
    x->chunk_cfg = (size_t)chunk;
    x->chunk = chunk > XLSTM_MAX_CHUNK ? XLSTM_MAX_CHUNK : (size_t)chunk;
    x->ps = hd_cfg_bool(m, "rcps", 0);
    x->bidir = hd_cfg_bool(m, "bidirectional", 0);
    x->alternating = x->bidir && hd_cfg_bool(m, "bidirectional_alternating", 0);
    x->rope = hd_cfg_bool(m, "m_position_embeddings", 0);
    x->spos = hd_cfg_bool(m, "s_position_embeddings", 0);
    x->W = x->ps ? 2 * x->D : x->D;
    if (parse_form(m, x)) return -1;
    x->mcausal = hd_cfg_bool(m, "m_conv1d_causal", 1);
    x->scausal = hd_cfg_bool(m, "s_conv1d_causal", 1);
    x->mnative = x->bidir && !x->alternating && hd_cfg_bool(m, "m_backend_bidirectional", 0);
    if (x->mnative && x->form_cfg == HD_MLSTM_RECURRENT) {
        hd_set_error(HD_EMODEL, "%s: m_backend_bidirectional needs m_backend parallel or chunkwise (the recurrent form is causal)", cfg);
        return -1;
    }

    /* which blocks are sLSTM */
    x->blk = calloc((size_t)N, sizeof *x->blk);
    if (!x->blk) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    json_t *at = hd_cfg_get(m, "s_lstm_at"), *v;
    size_t k;
    if (at && !json_is_null(at) && !json_is_array(at)) {
        hd_set_error(HD_EMODEL, "%s: config key 's_lstm_at' is not a list", cfg);
        return -1;
    }
    json_array_foreach(at, k, v) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= N) {
            hd_set_error(HD_EMODEL, "%s: config key 's_lstm_at': entry %zu is not a block index in 0..%ld", cfg, k, N - 1);
            return -1;
        }
        x->blk[json_integer_value(v)].type = BLK_SLSTM;
    }

    /* embedding: rows from the checkpoint (not padded) */
    const char *emb_name = x->ps ? "token_embedding.embedding.weight" : "token_embedding.weight";
    int nd;
    const int64_t *s = tshape(m, emb_name, &nd);
    if (!s) return -1;
    if (nd != 2 || s[0] < 12 || s[0] > 64 || s[1] != D) {
        hd_set_error(HD_EMODEL, "%s: tensor '%s' has %d dimensions, expected [vocab (12..64), d_model %ld]",
                     m->weights_path, hd_model_display(m, emb_name), nd, D);
        return -1;
    }
    x->V = (int)s[0];
    if (!(x->emb = hd_model_f32(m, 1, HD_SHAPE(x->V, D), "%s", emb_name))) return -1;
    for (int i = 0; i < 64; i++) x->comp[i] = hd_id_complement(i);
    for (int i = 0; i < hd_st_count(m->st); i++)
        if (strstr(m->canon[i], "complement_map")) {
            const hd_tensor_info *t = hd_st_get(m->st, i);
            int64_t *cm = malloc((t->numel ? t->numel : 1) * sizeof *cm);
            if (!cm || (t->dtype != HD_I64 && t->dtype != HD_I32) || t->numel < 12 || t->numel > 64 ||
                hd_tensor_to_i64(t, cm)) {
                free(cm);
                hd_set_error(HD_EMODEL, "%s: buffer '%s' is not an integer complement map of 12..64 ids", m->weights_path, t->name);
                return -1;
            }
            for (size_t j = 0; j < t->numel; j++)
                if (cm[j] < 0 || cm[j] >= (int64_t)t->numel) {
                    free(cm);
                    hd_set_error(HD_EMODEL, "%s: buffer '%s' maps id %zu outside the vocabulary", m->weights_path, t->name, j);
                    return -1;
                }
            for (size_t j = 0; j < t->numel; j++) x->comp[j] = (int)cm[j];
            free(cm);
            m->used[i] = 2;
        }

    for (int i = 0; i < N; i++)
        if (x->blk[i].type == BLK_SLSTM ? load_slstm(m, x, i, &x->blk[i]) : load_mlstm(m, x, i, &x->blk[i])) return -1;
    if (x->ps && x->n_m) {
        hd_set_error(HD_EMODEL, "%s: rcps (PS) with mLSTM blocks: the reference supports PS only for all-sLSTM stacks", cfg);
        return -1;
    }

    /* a non-causal convolution pads as PyTorch's padding "same": (K−1)/2 taps before, K/2 after (§5.6) */
    x->mright = x->mcausal ? 0 : (size_t)x->mK / 2;
    x->sright = x->scausal ? 0 : (size_t)x->sK / 2;

    const float *w;
    const char *post = x->ps ? "xlstm_block_stack.post_blocks_norm.submodule.weight" : "xlstm_block_stack.post_blocks_norm.weight";
    if (!(w = hd_model_f32(m, 1, HD_SHAPE(D), "%s", post)) || !(x->post_g = one_plus(x, w, (int)D, x->ps))) return -1;
    const char *hn = "lm_head.weight";
    if (!hd_model_tensor(m, hn) && hd_model_tensor(m, "lm_head.lm_head.weight")) hn = "lm_head.lm_head.weight";
    if (hd_model_tensor(m, hn)) {
        if (!(w = hd_model_f32(m, 1, HD_SHAPE(x->V, D), "%s", hn))) return -1;
    } else if (hd_cfg_bool(m, "tie_weights", 0)) {
        w = x->emb;
        hd_model_note(m, "lm_head.weight: absent, tied to %s (tie_weights)", hd_model_display(m, emb_name));
    } else {
        hd_set_error(HD_EMODEL, "%s: tensor 'lm_head.weight' is missing (the DNA-xLSTM head is not tied)", m->weights_path);
        return -1;
    }
    if (x->ps) {
        /* RCPS head: logits[v] = W[v]·h[0:D] + W[comp v]·rev(h[D:2D]) */
        float *h2 = own(x, (size_t)x->V * 2 * D);
        if (!h2) return -1;
        for (int r = 0; r < x->V; r++) {
            int c = x->comp[r] < x->V ? x->comp[r] : r;
            memcpy(h2 + (size_t)r * 2 * D, w + (size_t)r * D, (size_t)D * sizeof(float));
            for (long j = 0; j < D; j++) h2[(size_t)r * 2 * D + D + j] = w[(size_t)c * D + D - 1 - j];
        }
        x->head = h2;
    } else x->head = w;

    if (x->spos) {
        if (x->ps || D % 2) {
            hd_set_error(HD_EMODEL, "%s: s_position_embeddings needs an even d_model and no rcps", cfg);
            return -1;
        }
        if (!(x->pos_scale = hd_model_f32(m, 1, HD_SHAPE(1), "xlstm_block_stack.absolute_pos_embeds.scale"))) return -1;
    }
    x->rope = x->rope && x->n_m;
    if (x->rope && make_rope(x)) return -1;

    m->d_model = (int)D;
    m->n_layer = (int)N;
    m->vocab_size = 12;
    m->n_logits = x->V;
    m->d_hidden = x->W;
    /* the released runs are masked LMs on bidirectional stacks; a unidirectional stack is a causal LM, unless
     * PS (rcps): its reverse-complement half reads the sequence from the end (§5.9) */
    m->causal = !x->bidir && !x->ps && !noncausal_conv(x);
    m->rc_equivariant = x->ps;
    m->rc_approximate = x->ps; /* the RC half's sLSTM heads are reversed, the forward half's are not (§5.9) */
    /* RoPE ties mLSTM models to the cos/sin table of max_length rows; without it any length runs */
    m->max_len = x->rope ? maxlen : 0;
    static const char *forms[] = {"parallel", "chunkwise", "recurrent"};
    char form[32] = "";
    if (x->n_m) {
        if (x->form_cfg == HD_MLSTM_CHUNKWISE) snprintf(form, sizeof form, " chunkwise/%ld", chunk);
        else snprintf(form, sizeof form, " %s", forms[x->form_cfg]);
    }
    snprintf(m->variant, sizeof m->variant, "%s%s%s%s%s%s%s", x->n_m && x->n_s ? "mLSTM+sLSTM" : x->n_m ? "mLSTM" : "sLSTM",
             form, x->rope ? ", RoPE" : "", x->alternating ? ", alternating" : x->bidir ? ", bidirectional" : "",
             x->ps ? ", PS" : "", x->spos ? ", abs. positions" : "", noncausal_conv(x) ? ", non-causal conv" : "");
    if (x->mnative && x->n_m && x->form_cfg == HD_MLSTM_PARALLEL) {
        size_t n = strlen(m->variant);
        snprintf(m->variant + n, sizeof m->variant - n, ", native bidirectional mLSTM");
    }
    return 0;
}

static void xlstm_free(hd_model *m)
{
    xlstm *x = m->impl;
    if (!x) return;
    for (int i = 0; i < x->n_own; i++) free(x->own[i]);
    free(x->own);
    free(x->blk);
    free(x);
    m->impl = NULL;
}

int hd_xlstm_set_form(hd_model *m, int form, size_t chunk)
{
    if (m->family != HD_FAM_XLSTM || !m->impl) {
        hd_set_error(HD_EINPUT, "%s: not a DNA-xLSTM model", m->location);
        return -1;
    }
    xlstm *x = m->impl;
    if (form < -1 || form > HD_MLSTM_RECURRENT) {
        hd_set_error(HD_EINPUT, "unknown mLSTM form %d", form);
        return -1;
    }
    if (form >= 0 && x->mnative && (form == HD_MLSTM_PARALLEL) != (x->form_cfg == HD_MLSTM_PARALLEL)) {
        hd_set_error(HD_EINPUT, "%s: m_backend_bidirectional: the %s form computes another function (§5.7)", m->location,
                     x->form_cfg == HD_MLSTM_PARALLEL ? "chunkwise or recurrent" : "parallel");
        return -1;
    }
    x->form = form < 0 ? x->form_cfg : form;
    x->chunk = chunk ? chunk : x->chunk_cfg > XLSTM_MAX_CHUNK ? XLSTM_MAX_CHUNK : x->chunk_cfg;
    return 0;
}

/* ---------------------------------------------------------------- forward */

typedef struct {
    size_t L;
    float *X, *T;        /* [L, W] the stream and its flipped copy */
    float *xn;           /* [L, W] normed input */
    float *up;           /* [L, max(2Ei, 2U)] */
    float *xc;           /* [L, max(Ei, D)] */
    float *qkv;          /* [L, max(3Ei, 4D)] */
    float *g;            /* [L, 2NH] mLSTM gate pre-activations */
    float *h;            /* [L, max(Ei, U)] */
    float *y;            /* [L, D] */
    float *rc;           /* [L, D] RC copy of a half (PS) */
    float *lg;           /* [L, V] logits */
} xbuf;

static void xbuf_free(hd_backend *be, xbuf *B)
{
    float **p[] = {&B->X, &B->T, &B->xn, &B->up, &B->xc, &B->qkv, &B->g, &B->h, &B->y, &B->rc, &B->lg};
    for (size_t i = 0; i < sizeof p / sizeof *p; i++) { be->free(be, *p[i]); *p[i] = NULL; }
}

static size_t mx(size_t a, size_t b) { return a > b ? a : b; }

static int xbuf_alloc(hd_backend *be, const xlstm *x, size_t L, xbuf *B)
{
    memset(B, 0, sizeof *B);
    B->L = L;
    size_t D = (size_t)x->D, W = (size_t)x->W, Ei = (size_t)x->Ei, U = (size_t)x->U, tmp;
    size_t widths[] = {W, W, W, mx(2 * Ei, 2 * U), mx(Ei, D), mx(3 * Ei, 4 * D), mx(2 * (size_t)x->mNH, 1), mx(Ei, U), D,
                       D, (size_t)x->V};
    float **p[] = {&B->X, &B->T, &B->xn, &B->up, &B->xc, &B->qkv, &B->g, &B->h, &B->y, &B->rc, &B->lg};
    static const char *what[] = {"the residual stream", "the reversed stream", "the normed stream", "the up-projection",
                                 "the convolution output", "the q/k/v projections", "the gates", "the cell output",
                                 "the block output", "the reverse-complement half", "the logits"};
    for (size_t i = 0; i < sizeof p / sizeof *p; i++) {
        if (i == 9 && !x->ps) continue;
        if (hd_mul(L, widths[i] * sizeof(float), &tmp)) {
            hd_set_error(HD_EMODEL, "out of memory: sequence of %zu tokens too long", L);
            xbuf_free(be, B);
            return -1;
        }
        if (!(*p[i] = be->alloc(be, tmp, what[i]))) { xbuf_free(be, B); return -1; }
    }
    return 0;
}

/* What a decoder keeps of one block (the models' recurrent form, §5.7–5.8): the last K−1 rows of the
 * convolution input (mLSTM: the up-projection [xm | z], 2Ei wide; sLSTM: the normed input, D wide) in rows
 * 0..K−2 of a window, the rows of the new positions after them, and the cell state. */
#define XLSTM_WINDOW 64   /* new positions per window before its last K−1 rows move to the front */
typedef struct {
    float *win;          /* [K − 1 + XLSTM_WINDOW, width] */
    size_t width, K;
    float *state;        /* mLSTM: NH·(DH·DH + DH + 1); sLSTM: NH·4·DH (backend.h) */
    const float *zero;   /* (K − 1)·width zeros or more, host memory */
} xcache;

/* The prefill's part: the window's history from the last rows of X [L, width] (row stride ldx), zero rows
 * before the first position */
static void cache_history(hd_backend *be, xcache *c, const float *X, size_t ldx, size_t L)
{
    if (!c->K) return;
    size_t hist = c->K - 1, h = L < hist ? L : hist;
    if (hist > h) be->upload(be, c->win, c->zero, (hist - h) * c->width * sizeof(float));
    if (h) be->copy_cm(be, X + (L - h) * ldx, ldx, c->win + (hist - h) * c->width, c->width, h, c->width);
}

/* Block b's weights as backend memory (be->weights: device copies on a GPU, uploaded once and cached by the
 * backend; the host pointers themselves on the CPU).  Every weight an op reads goes through here. */
static int block_weights(hd_backend *be, const xlstm *x, const xblock *b, xblock *w)
{
    size_t D = (size_t)x->D, G = x->ps ? 2 : 1;
    *w = *b;
#define W(field, n) if (b->field && !(w->field = be->weights(be, b->field, (n)))) return -1
    if (b->type == BLK_MLSTM) {
        size_t Ei = (size_t)x->Ei, NH = (size_t)x->mNH, K = (size_t)x->mK, bs = (size_t)x->bs;
        W(norm_g, D); W(up_w, 2 * Ei * D); W(up_b, 2 * Ei); W(conv_w, Ei * K); W(conv_b, Ei);
        W(q_w, Ei * bs); W(q_b, Ei); W(k_w, Ei * bs); W(k_b, Ei); W(v_w, Ei * bs); W(v_b, Ei);
        W(gate_w, 2 * NH * 3 * Ei); W(gate_b, 2 * NH); W(outnorm_g, Ei); W(skip, Ei); W(down_w, D * Ei); W(down_b, D);
    } else {
        size_t DH = (size_t)x->sDH, K = (size_t)x->sK, U = (size_t)x->U;
        W(norm_g, G * D); W(conv_w, D * K); W(conv_b, D);
        W(i_w, D * DH); W(f_w, D * DH); W(z_w, D * DH); W(o_w, D * DH); W(R, D * 4 * DH); W(bias, 4 * D);
        W(gn_g, D); W(ffn_norm_g, G * D); W(ffn_up, 2 * U * D); W(ffn_down, D * U);
    }
#undef W
    return 0;
}

/* U [L, D] += mLSTMLayer(LN(U))  (§5.6); b: backend weights; with a cache (a decoder's prefill), also the
 * state after the last position */
static int mlstm_block(hd_backend *be, const xlstm *x, const xblock *b, xbuf *B, float *U, xcache *cache)
{
    size_t L = B->L, D = (size_t)x->D, Ei = (size_t)x->Ei, NH = (size_t)x->mNH, DH = (size_t)x->mDH, bs = (size_t)x->bs;
    be->layernorm(be, U, L, D, b->norm_g, NULL, 1e-5f, B->xn);
    be->linear(be, B->xn, L, D, D, b->up_w, b->up_b, 2 * Ei, B->up, 2 * Ei);
    be->conv_rows(be, B->up, 2 * Ei, L, Ei, b->conv_w, (size_t)x->mK, x->mright, b->conv_b, 1, B->xc, Ei);
    be->headwise(be, B->xc, Ei, L, Ei / bs, bs, bs, b->q_w, b->q_b, B->qkv, 3 * Ei);
    be->headwise(be, B->xc, Ei, L, Ei / bs, bs, bs, b->k_w, b->k_b, B->qkv + Ei, 3 * Ei);
    be->headwise(be, B->up, 2 * Ei, L, Ei / bs, bs, bs, b->v_w, b->v_b, B->qkv + 2 * Ei, 3 * Ei);   /* v from xm */
    be->linear(be, B->qkv, L, 3 * Ei, 3 * Ei, b->gate_w, b->gate_b, 2 * NH, B->g, 2 * NH);          /* before RoPE */
    if (x->rope) {
        size_t n = (size_t)x->ctx * (DH / 2);
        const float *cs = be->weights(be, x->rope_cos, n), *sn = be->weights(be, x->rope_sin, n);
        if (!cs || !sn) return -1;
        be->rope(be, B->qkv, 3 * Ei, L, NH, DH, cs, sn);
        be->rope(be, B->qkv + Ei, 3 * Ei, L, NH, DH, cs, sn);
    }
    /* m_backend_bidirectional: the parallel form without the mask; the reference's chunkwise form ignores the
     * flag (§5.7) */
    int form = x->mnative && x->form == HD_MLSTM_PARALLEL ? HD_MLSTM_PARALLEL_BIDIR : x->form;
    if (be->mlstm_cell(be, B->qkv, B->qkv + Ei, B->qkv + 2 * Ei, 3 * Ei, B->g, B->g + NH, 2 * NH, L, NH, DH, form,
                       x->chunk, B->h, Ei))
        return -1;
    if (cache) {
        cache_history(be, cache, B->up, 2 * Ei, L);
        if (be->mlstm_state(be, B->qkv + Ei, B->qkv + 2 * Ei, 3 * Ei, B->g, B->g + NH, 2 * NH, L, NH, DH, cache->state))
            return -1;
    }
    be->groupnorm(be, B->h, L, NH, DH, b->outnorm_g, 1e-5f, B->h);
    be->mlstm_gate(be, B->h, Ei, B->xc, Ei, b->skip, B->up + Ei, 2 * Ei, L, Ei);
    be->linear(be, B->h, L, Ei, Ei, b->down_w, b->down_b, D, B->y, D);
    be->add(be, U, B->y, L * D);
    return 0;
}

/* y [L, D] = sLSTMLayer(xn) for a normed input xn (row stride ldx)  (§5.8 steps 1–4) */
static int slstm_layer(hd_backend *be, const xlstm *x, const xblock *b, xbuf *B, const float *xn, size_t ldx, int rev_heads,
                       xcache *cache)
{
    size_t L = B->L, D = (size_t)x->D, NH = (size_t)x->sNH, DH = (size_t)x->sDH;
    const float *xc = xn;
    size_t ldc = ldx;
    if (x->sK > 0) {
        be->conv_rows(be, xn, ldx, L, D, b->conv_w, (size_t)x->sK, x->sright, b->conv_b, 1, B->xc, D);
        xc = B->xc, ldc = D;
    }
    be->headwise(be, xc, ldc, L, NH, DH, DH, b->i_w, NULL, B->qkv, 4 * D);
    be->headwise(be, xc, ldc, L, NH, DH, DH, b->f_w, NULL, B->qkv + D, 4 * D);
    be->headwise(be, xn, ldx, L, NH, DH, DH, b->z_w, NULL, B->qkv + 2 * D, 4 * D);
    be->headwise(be, xn, ldx, L, NH, DH, DH, b->o_w, NULL, B->qkv + 3 * D, 4 * D);
    if (cache) {
        cache_history(be, cache, xn, ldx, L);
        if (be->slstm_cell_state(be, B->qkv, 4 * D, b->R, b->bias, L, NH, DH, cache->state, B->y, D)) return -1;
    } else if (be->slstm_cell(be, B->qkv, 4 * D, b->R, b->bias, L, NH, DH, rev_heads, B->y, D))
        return -1;
    be->groupnorm(be, B->y, L, NH, DH, b->gn_g, 1e-5f, B->y);
    return 0;
}

/* y [L, D] = W_down·(gelu_erf(g) ⊙ up), [g, up] = W_up·xn */
static void ffn(hd_backend *be, const xlstm *x, const xblock *b, xbuf *B, const float *xn, size_t ldx)
{
    size_t L = B->L, D = (size_t)x->D, U = (size_t)x->U;
    be->linear(be, xn, L, D, ldx, b->ffn_up, NULL, 2 * U, B->up, 2 * U);
    be->gelu_erf_mul(be, B->up, L, U, B->h);
    be->linear(be, B->h, L, U, U, b->ffn_down, NULL, D, B->y, D);
}

/* U [L, W] += sLSTMLayer(LN1(U)); U += FFN(LN2(U)); PS: each half through the RCPS wrapper */
static int slstm_block(hd_backend *be, const xlstm *x, const xblock *b, xbuf *B, float *U, xcache *cache)
{
    size_t L = B->L, D = (size_t)x->D, W = (size_t)x->W;
    if (!x->ps) {
        be->layernorm(be, U, L, D, b->norm_g, NULL, 1e-5f, B->xn);
        if (slstm_layer(be, x, b, B, B->xn, D, 0, cache)) return -1;
        be->add(be, U, B->y, L * D);
        be->layernorm(be, U, L, D, b->ffn_norm_g, NULL, 1e-5f, B->xn);
        ffn(be, x, b, B, B->xn, D);
        be->add(be, U, B->y, L * D);
        return 0;
    }
    /* RCPS: forward half as is; RC half as RC → module → RC (the sLSTM layer with its head-axis flip) */
    be->groupnorm(be, U, L, 2, D, b->norm_g, 1e-5f, B->xn);
    if (slstm_layer(be, x, b, B, B->xn, W, 0, NULL)) return -1;
    be->flip(be, B->y, D, U, W, L, D, 0, 0, 1);
    be->flip(be, B->xn + D, W, B->rc, D, L, D, 1, 1, 0);
    if (slstm_layer(be, x, b, B, B->rc, D, 1, NULL)) return -1;
    be->flip(be, B->y, D, U + D, W, L, D, 1, 1, 1);
    be->groupnorm(be, U, L, 2, D, b->ffn_norm_g, 1e-5f, B->xn);
    ffn(be, x, b, B, B->xn, W);
    be->flip(be, B->y, D, U, W, L, D, 0, 0, 1);
    be->flip(be, B->xn + D, W, B->rc, D, L, D, 1, 1, 0);
    ffn(be, x, b, B, B->rc, D);
    be->flip(be, B->y, D, U + D, W, L, D, 1, 1, 1);
    return 0;
}

static int run_block(hd_backend *be, const xlstm *x, int i, xbuf *B, float *U, xcache *cache)
{
    xblock w;
    if (block_weights(be, x, &x->blk[i], &w)) return -1;
    return w.type == BLK_SLSTM ? slstm_block(be, x, &w, B, U, cache) : mlstm_block(be, x, &w, B, U, cache);
}

/* one position of the absolute sinusoidal embedding (ScaledSinusoidalEmbedding, θ = 1e5) */
static void add_abs_pos(const xlstm *x, float *row, size_t t)
{
    int half = x->D / 2;
    float sc = x->pos_scale[0];
    for (int j = 0; j < half; j++) {
        float inv = powf(100000.0f, -((float)j / (float)half)), a = (float)t * inv;
        row[j] += sinf(a) * sc;
        row[half + j] += cosf(a) * sc;
    }
}

/* the embedding of token id at position t (PS: RCPSEmbedding), with the optional absolute positions → r [W] */
static void embed_row(const xlstm *x, int32_t id, size_t t, float *r)
{
    size_t D = (size_t)x->D;
    memcpy(r, x->emb + (size_t)id * D, D * sizeof(float));
    if (x->ps) {
        const float *e = x->emb + (size_t)x->comp[id] * D;
        for (size_t c = 0; c < D; c++) r[D + c] = e[D - 1 - c];
    }
    if (x->spos) add_abs_pos(x, r, t);
}

static int xlstm_forward(hd_model *m, hd_backend *be, const int32_t *ids, size_t L, hd_fwd *f)
{
    xlstm *x = m->impl;
    if (L == 0) return 0;
    xbuf B;
    if (xbuf_alloc(be, x, L, &B)) return -1;
    size_t D = (size_t)x->D, W = (size_t)x->W, V = (size_t)x->V;
    int rc = -1, is_host = be->host_memory;
    float *host = hd_alloc(L * W * sizeof(float), "the embedded sequence");
    if (!host) goto out;

    for (size_t t = 0; t < L; t++) embed_row(x, ids[t], t, host + t * W);
    be->upload(be, B.X, host, L * W * sizeof(float));

    int last = f->layer >= 0 && !f->logits ? f->layer : m->n_layer - 1;
    for (int i = 0; i <= last; i++) {
        if (x->mnative && x->blk[i].type == BLK_MLSTM) {
            if (run_block(be, x, i, &B, B.X, NULL)) goto out;
        } else if (x->bidir && !x->alternating) {
            be->flip(be, B.X, W, B.T, W, L, W, 1, 0, 0);
            if (run_block(be, x, i, &B, B.X, NULL) || run_block(be, x, i, &B, B.T, NULL)) goto out;
            be->flip(be, B.T, W, B.X, W, L, W, 1, 0, 1);
        } else if (x->alternating && i % 2 == 0) {
            be->flip(be, B.X, W, B.T, W, L, W, 1, 0, 0);
            if (run_block(be, x, i, &B, B.T, NULL)) goto out;
            be->flip(be, B.T, W, B.X, W, L, W, 1, 0, 0);
        } else if (run_block(be, x, i, &B, B.X, NULL)) goto out;
        if (f->on_block) {
            if (!is_host) be->download(be, host, B.X, L * W * sizeof(float));
            f->on_block(f->ud, i, is_host ? B.X : host, L, (int)W);
        }
        if (i == f->layer && f->hidden) be->download(be, f->hidden, B.X, L * W * sizeof(float));
    }
    if ((f->hidden && f->layer < 0) || f->logits) {
        const float *post_g = be->weights(be, x->post_g, W), *head = f->logits ? be->weights(be, x->head, V * W) : NULL;
        if (!post_g || (f->logits && !head)) goto out;
        if (x->ps) be->groupnorm(be, B.X, L, 2, D, post_g, 1e-5f, B.xn);
        else be->layernorm(be, B.X, L, D, post_g, NULL, 1e-5f, B.xn);
        if (f->hidden && f->layer < 0) be->download(be, f->hidden, B.xn, L * W * sizeof(float));
        if (f->logits) {
            be->linear(be, B.xn, L, W, W, head, NULL, V, B.lg, V);
            be->download(be, f->logits, B.lg, L * V * sizeof(float));
        }
    }
    rc = 0;
out:
    hd_free(host);
    xbuf_free(be, &B);
    return rc;
}

/* ---------------------------------------------------------------- cached decoding */

/* The decoder of a unidirectional stack: the prefill runs the forward over the prompt and keeps, per
 * block, the convolution's last K−1 input rows and the cell state after the last position (mLSTM: the
 * chunkwise state update over the whole prompt, §5.7; sLSTM: the cell's own state, §5.8); a step runs
 * every block on one position with the recurrent form of its cell.  O(1) per token: per block the
 * projections, K·width for the convolution and NH·DH² for the cell, whatever the position. */
typedef struct {
    hd_decoder d;        /* first: the generic part */
    xcache *c;           /* per block */
    xblock *w;           /* per block: backend weights */
    const float *post_g, *head, *rope_cos, *rope_sin;   /* backend weights */
    size_t j;            /* row of the next position in the windows, after the K−1 history rows */
    float *zero;         /* zeros (host memory) for the windows' history and the states */
    xbuf S;              /* one-position scratch */
    float *cv;           /* [max(mK, sK), max(Ei, D)] convolution output of the window rows */
    float *host;         /* [D] embedded token */
} xlstm_dec;

/* floats of block i's cell state (backend.h: mlstm_state, slstm_cell_state) */
static size_t cell_state_floats(const xlstm *x, int i)
{
    if (x->blk[i].type == BLK_SLSTM) return (size_t)x->sNH * 4 * x->sDH;
    return (size_t)x->mNH * ((size_t)x->mDH * x->mDH + x->mDH + 1);
}

static void xlstm_dec_free(hd_decoder *dd)
{
    xlstm_dec *d = (xlstm_dec *)dd;
    hd_backend *be = dd->be;
    if (d->c)
        for (int i = 0; i < dd->m->n_layer; i++) { be->free(be, d->c[i].win); be->free(be, d->c[i].state); }
    free(d->c);
    free(d->w);
    xbuf_free(be, &d->S);
    hd_free(d->zero);
    be->free(be, d->cv);
    hd_free(d->host);
    free(d);
}

static void xlstm_dec_head(hd_backend *be, const xlstm *x, const xlstm_dec *d, xbuf *S, const float *U, float *logits)
{
    size_t D = (size_t)x->D, V = (size_t)x->V;
    be->layernorm(be, U, 1, D, d->post_g, NULL, 1e-5f, S->xn);
    be->linear(be, S->xn, 1, D, D, d->head, NULL, V, S->lg, V);
    if (logits) be->download(be, logits, S->lg, V * sizeof(float));
}

static int xlstm_dec_prefill(hd_decoder *dd, const int32_t *ids, size_t L, float *logits)
{
    xlstm_dec *d = (xlstm_dec *)dd;
    hd_model *m = dd->m;
    hd_backend *be = dd->be;
    xlstm *x = m->impl;
    size_t D = (size_t)x->D;
    xbuf B;
    if (xbuf_alloc(be, x, L, &B)) return -1;
    int rc = -1;
    float *host = hd_alloc(L * D * sizeof(float), "the embedded sequence");
    if (!host) goto out;
    for (size_t t = 0; t < L; t++) embed_row(x, ids[t], t, host + t * D);
    be->upload(be, B.X, host, L * D * sizeof(float));
    for (int i = 0; i < m->n_layer; i++)
        if (run_block(be, x, i, &B, B.X, &d->c[i])) goto out;
    xlstm_dec_head(be, x, d, &B, B.X + (L - 1) * D, logits);
    d->j = 0;
    rc = 0;
out:
    hd_free(host);
    xbuf_free(be, &B);
    return rc;
}

/* U [1, D] += mLSTMLayer(LN(U)) at position t from the cache (§5.6, the cell's recurrent step §5.7) */
static int mlstm_block_step(hd_backend *be, const xlstm *x, const xblock *b, xlstm_dec *d, xcache *c, size_t t, float *U)
{
    xbuf *S = &d->S;
    size_t D = (size_t)x->D, Ei = (size_t)x->Ei, NH = (size_t)x->mNH, DH = (size_t)x->mDH, bs = (size_t)x->bs;
    size_t K = c->K, w = 2 * Ei;
    float *row = c->win + (K - 1 + d->j) * w, *xc = d->cv + (K - 1) * Ei;
    be->layernorm(be, U, 1, D, b->norm_g, NULL, 1e-5f, S->xn);
    be->linear(be, S->xn, 1, D, D, b->up_w, b->up_b, w, row, w);                       /* [xm | z] */
    be->conv_rows(be, c->win + d->j * w, w, K, Ei, b->conv_w, K, 0, b->conv_b, 1, d->cv, Ei);   /* last row: xc */
    be->headwise(be, xc, Ei, 1, Ei / bs, bs, bs, b->q_w, b->q_b, S->qkv, 3 * Ei);
    be->headwise(be, xc, Ei, 1, Ei / bs, bs, bs, b->k_w, b->k_b, S->qkv + Ei, 3 * Ei);
    be->headwise(be, row, w, 1, Ei / bs, bs, bs, b->v_w, b->v_b, S->qkv + 2 * Ei, 3 * Ei);
    be->linear(be, S->qkv, 1, 3 * Ei, 3 * Ei, b->gate_w, b->gate_b, 2 * NH, S->g, 2 * NH);
    if (x->rope) {
        size_t P = DH / 2;
        be->rope(be, S->qkv, 3 * Ei, 1, NH, DH, d->rope_cos + t * P, d->rope_sin + t * P);
        be->rope(be, S->qkv + Ei, 3 * Ei, 1, NH, DH, d->rope_cos + t * P, d->rope_sin + t * P);
    }
    if (be->mlstm_step(be, S->qkv, S->qkv + Ei, S->qkv + 2 * Ei, S->g, S->g + NH, NH, DH, c->state, S->h)) return -1;
    be->groupnorm(be, S->h, 1, NH, DH, b->outnorm_g, 1e-5f, S->h);
    be->mlstm_gate(be, S->h, Ei, xc, Ei, b->skip, row + Ei, w, 1, Ei);
    be->linear(be, S->h, 1, Ei, Ei, b->down_w, b->down_b, D, S->y, D);
    be->add(be, U, S->y, D);
    return 0;
}

/* U [1, D] += sLSTMLayer(LN1(U)); U += FFN(LN2(U)) from the cache (§5.8) */
static int slstm_block_step(hd_backend *be, const xlstm *x, const xblock *b, xlstm_dec *d, xcache *c, float *U)
{
    xbuf *S = &d->S;
    size_t D = (size_t)x->D, NH = (size_t)x->sNH, DH = (size_t)x->sDH, K = c->K;
    float *xn = K ? c->win + (K - 1 + d->j) * D : S->xn;
    const float *xc = xn;
    be->layernorm(be, U, 1, D, b->norm_g, NULL, 1e-5f, xn);
    if (K) {
        be->conv_rows(be, c->win + d->j * D, D, K, D, b->conv_w, K, 0, b->conv_b, 1, d->cv, D);
        xc = d->cv + (K - 1) * D;
    }
    be->headwise(be, xc, D, 1, NH, DH, DH, b->i_w, NULL, S->qkv, 4 * D);
    be->headwise(be, xc, D, 1, NH, DH, DH, b->f_w, NULL, S->qkv + D, 4 * D);
    be->headwise(be, xn, D, 1, NH, DH, DH, b->z_w, NULL, S->qkv + 2 * D, 4 * D);
    be->headwise(be, xn, D, 1, NH, DH, DH, b->o_w, NULL, S->qkv + 3 * D, 4 * D);
    if (be->slstm_cell_state(be, S->qkv, 4 * D, b->R, b->bias, 1, NH, DH, c->state, S->y, D)) return -1;
    be->groupnorm(be, S->y, 1, NH, DH, b->gn_g, 1e-5f, S->y);
    be->add(be, U, S->y, D);
    be->layernorm(be, U, 1, D, b->ffn_norm_g, NULL, 1e-5f, S->xn);
    ffn(be, x, b, S, S->xn, D);
    be->add(be, U, S->y, D);
    return 0;
}

static int xlstm_dec_step(hd_decoder *dd, int32_t id, float *logits)
{
    xlstm_dec *d = (xlstm_dec *)dd;
    hd_backend *be = dd->be;
    xlstm *x = dd->m->impl;
    size_t D = (size_t)x->D, t = dd->pos;
    embed_row(x, id, t, d->host);
    be->upload(be, d->S.X, d->host, D * sizeof(float));
    for (int i = 0; i < dd->m->n_layer; i++) {
        const xblock *b = &d->w[i];
        int r = b->type == BLK_SLSTM ? slstm_block_step(be, x, b, d, &d->c[i], d->S.X)
                                     : mlstm_block_step(be, x, b, d, &d->c[i], t, d->S.X);
        if (r) return -1;
    }
    xlstm_dec_head(be, x, d, &d->S, d->S.X, logits);
    /* a full window: its last K−1 rows become the history of the next one */
    if (++d->j == XLSTM_WINDOW) {
        for (int i = 0; i < dd->m->n_layer; i++) {
            xcache *c = &d->c[i];
            if (c->K > 1) be->copy_cm(be, c->win + XLSTM_WINDOW * c->width, c->width, c->win, c->width, c->K - 1, c->width);
        }
        d->j = 0;
    }
    return 0;
}

static hd_decoder *xlstm_decoder_new(hd_model *m, hd_backend *be, size_t max_len);

static hd_decoder *xlstm_dec_fork(hd_decoder *dd)
{
    xlstm_dec *d = (xlstm_dec *)dd, *e = (xlstm_dec *)xlstm_decoder_new(dd->m, dd->be, dd->max_len);
    if (!e) return NULL;
    hd_backend *be = dd->be;
    xlstm *x = dd->m->impl;
    for (int i = 0; i < dd->m->n_layer; i++) {
        xcache *a = &d->c[i], *b = &e->c[i];
        size_t ns = cell_state_floats(x, i);
        if (a->K) be->copy_cm(be, a->win, 0, b->win, 0, 1, (a->K - 1 + XLSTM_WINDOW) * a->width);
        be->copy_cm(be, a->state, 0, b->state, 0, 1, ns);
    }
    e->j = d->j;
    return &e->d;
}

static hd_decoder *xlstm_decoder_new(hd_model *m, hd_backend *be, size_t max_len)
{
    xlstm *x = m->impl;
    if (x->ps) {   /* m->causal is 0 for these: kept as a guard */
        hd_set_error(HD_EINPUT, "%s: a PS (rcps) DNA-xLSTM model reads the sequence in both directions: no decoding", m->location);
        return NULL;
    }
    if (noncausal_conv(x)) {   /* likewise */
        hd_set_error(HD_EINPUT, "%s: a DNA-xLSTM model with non-causal convolutions (m_conv1d_causal/s_conv1d_causal false) "
                     "reads positions ahead: no decoding", m->location);
        return NULL;
    }
    size_t D = (size_t)x->D, Ei = (size_t)x->Ei, wide = 2 * Ei > D ? 2 * Ei : D;
    size_t Kmax = (size_t)(x->mK > x->sK ? x->mK : x->sK), cvw = Ei > D ? Ei : D;
    xlstm_dec *d = calloc(1, sizeof *d);
    if (!d || !(d->c = calloc((size_t)m->n_layer, sizeof *d->c)) || !(d->w = calloc((size_t)m->n_layer, sizeof *d->w))) {
        if (d) free(d->c);
        free(d);
        hd_set_error(HD_EMODEL, "out of memory");
        return NULL;
    }
    d->d.m = m, d->d.be = be;
    for (int i = 0; i < m->n_layer; i++)
        if (block_weights(be, x, &x->blk[i], &d->w[i])) goto fail;
    size_t nrope = x->rope ? (size_t)x->ctx * (size_t)(x->mDH / 2) : 0;
    if (!(d->post_g = be->weights(be, x->post_g, D)) || !(d->head = be->weights(be, x->head, (size_t)x->V * D)) ||
        (nrope && (!(d->rope_cos = be->weights(be, x->rope_cos, nrope)) || !(d->rope_sin = be->weights(be, x->rope_sin, nrope)))))
        goto fail;
    d->d.prefill = xlstm_dec_prefill, d->d.step = xlstm_dec_step, d->d.free = xlstm_dec_free, d->d.fork = xlstm_dec_fork;
    size_t nzero = (Kmax ? Kmax : 1) * wide;   /* the zeros: K−1 window rows, and every cell state */
    for (int i = 0; i < m->n_layer; i++)
        if (cell_state_floats(x, i) > nzero) nzero = cell_state_floats(x, i);
    if (xbuf_alloc(be, x, 1, &d->S) || !(d->host = hd_alloc(D * sizeof(float), "a decoding step")) ||
        !(d->zero = hd_calloc(nzero, sizeof(float), "the decoder's state")) ||
        !(d->cv = be->alloc(be, (Kmax ? Kmax : 1) * cvw * sizeof(float), "a decoding step")))
        goto fail;
    for (int i = 0; i < m->n_layer; i++) {
        xcache *c = &d->c[i];
        int sl = x->blk[i].type == BLK_SLSTM;
        c->K = (size_t)(sl ? x->sK : x->mK);
        c->width = sl ? D : 2 * Ei;
        c->zero = d->zero;
        size_t ns = cell_state_floats(x, i);
        if ((c->K && !(c->win = be->alloc(be, (c->K - 1 + XLSTM_WINDOW) * c->width * sizeof(float), "the decoder's state"))) ||
            !(c->state = be->alloc(be, ns * sizeof(float), "the decoder's state")))
            goto fail;
        be->upload(be, c->state, d->zero, ns * sizeof(float));
    }
    (void)max_len;
    return &d->d;
fail:
    xlstm_dec_free(&d->d);
    return NULL;
}

/* The backend ops the forward pass calls. */
static const hd_op xlstm_needs[] = {
    HD_OP(layernorm), HD_OP(groupnorm), HD_OP(linear), HD_OP(conv_rows), HD_OP(headwise), HD_OP(rope),
    HD_OP(mlstm_cell), HD_OP(mlstm_gate), HD_OP(slstm_cell), HD_OP(gelu_erf_mul), HD_OP(flip), HD_OP(add),
    HD_OPS_END};

/* GEMM FLOPs of a forward (hd_model_gemm_flops), per position: an mLSTM block's proj_up (D → 2Ei), the
 * headwise q, k, v (blocks of bs), the gates (3Ei → 2NH) and proj_down (Ei → D) (§5.6); an sLSTM block's four
 * headwise gate inputs (DH → DH per head) and the FFN (D → 2U, U → D) (§5.8), both twice with PS (RCPS
 * halves); each block twice when bidirectional and not alternating; the head (W → V) with logits.  The
 * mLSTM and sLSTM cells are not counted. */
static double xlstm_gemm_flops(const hd_model *m, size_t L, int logits)
{
    const xlstm *x = m->impl;
    double D = x->D, Ei = x->Ei, bs = x->bs, NH = x->mNH, DH = x->sDH, U = x->U, sum = 0;
    double runs = x->bidir && !x->alternating ? 2 : 1;
    for (int i = 0; i < m->n_layer; i++)
        sum += (x->mnative && x->blk[i].type == BLK_MLSTM ? 1 : runs) * (x->blk[i].type == BLK_MLSTM
                           ? 2 * D * 2 * Ei + 3 * (2 * Ei * bs) + 2 * 3 * Ei * 2 * NH + 2 * Ei * D
                           : (x->ps ? 2 : 1) * (4 * (2 * D * DH) + 2 * D * 2 * U + 2 * U * D));
    return (double)L * (sum + (logits ? 2.0 * x->W * x->V : 0));
}

/* ... and those only the decoder calls */
static const hd_op xlstm_decode_needs[] = {
    HD_OP(copy_cm), HD_OP(mlstm_state), HD_OP(mlstm_step), HD_OP(slstm_cell_state), HD_OPS_END};

const hd_family_ops hd_xlstm_ops = {
    .name = "xlstm", .load = xlstm_load, .free = xlstm_free, .forward = xlstm_forward, .needs = xlstm_needs,
    .decoder_new = xlstm_decoder_new, .decode_needs = xlstm_decode_needs, .gemm_flops = xlstm_gemm_flops};
