/* evo2.c -- Evo 2 (StripedHyena 2): loading, the forward pass and cached decoding (docs/models.md §6;
 * the public reference is Zymrael/vortex, which the evo2 package runs).
 *
 *   r = E[ids]                                             (bytes, vocab 512: §6.3)
 *   per block K (S = HCS, M = HCM, L = HCL, A = attention; the pattern comes from the config, §6.4):
 *     Hyena:      z = W_proj·RMS_pre(r) → short causal FIR (3 taps, cross-correlation) → x2, x1, v
 *                 (de-interleaved: z[3i], z[3i+1], z[3i+2]) → y = x2 ⊙ mixer(x1 ⊙ v) → r += W_out·y + b
 *                 S: 7-tap grouped FIR (cross-correlation);  M: 128-tap grouped causal convolution + D;
 *                 L: h[c, t] = Σ_s R[c, s]·exp(λ[c, s]·t) applied by FFT, + D                        (§6.5)
 *     attention:  r += W_o·MHA(RoPE(q), RoPE(k), v) + b_o, RMS_pre first, causal softmax            (§6.6)
 *     then        r += l3(act(l1·RMS_post(r)) ⊙ l2·RMS_post(r)), act = GELU in layer 0 only         (§6.7)
 *   hidden = RMS_final(r);  logits = hidden·Eᵀ (tied)
 *   RMS(x) = scale · x / (sqrt(mean(x²)) + eps)                                                     (§6.4)
 *
 * Memory.  The large matrices stay in their stored precision (BF16 in the released checkpoints, mmap'd from
 * the .pt or safetensors file) and are converted to float32 panel by panel inside the GEMMs (linear_ex).
 * Activations: the residual stream r [L, H] and two channel-major buffers a, b [H, L] (Hyena: x2 and x1⊙v;
 * attention: K and V), so a forward holds 3·L·H floats plus chunk-sized scratch (§6.10): position-wise work
 * runs in chunks of positions, the HCL FFT in chunks of channels, attention in query/key tiles. */
#define _GNU_SOURCE
#include "evo2.h"
#include "backend.h"
#include "ckpt.h"
#include "model.h"
#include "util.h"
#include "yamlcfg.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EVO2_CHUNK_MAX 16384            /* at most so many positions per chunk (the 7B l1|l2 chunk: 1.5 GB) */
#define EVO2_FFT_FLOATS ((size_t)16 << 20)   /* HCL filter chunk: at most this many floats (channels × L) */

enum { BLK_HCS = 0, BLK_HCM, BLK_HCL, BLK_ATTN };
static const char blk_letter[] = "SMLA";

typedef struct { const void *p; int bf16; } wmat;   /* a weight matrix in its stored precision */

typedef struct {
    int type;
    const float *pre_norm, *post_norm;       /* [H] */
    wmat l1, l2, l3;                          /* [I, H], [I, H], [H, I] */
    int act;                                  /* HD_ACT_* of the MLP */
    /* Hyena blocks */
    wmat proj;                                /* [3H, H] as stored; with column_split_hyena regrouped into the interleaved order at load */
    const float *proj_b;                      /* [3H] or NULL */
    const float *sf_w[3], *sf_b[3];           /* short filter of x2, x1, v: [H, Ks] each (de-interleaved) */
    int K;                                    /* inner FIR taps (S, M) */
    const float *fir;                             /* [H, K] per channel, cross-correlation order, D folded in (M) */
    const float *D;                           /* [H] (M, L) */
    const float *logp, *R;                    /* [H, S] (L) */
    wmat out;                                 /* out_filter_dense [H, H] */
    const float *out_b;
    /* attention blocks */
    wmat wqkv;                                /* [H + 2·KVW, H] as stored (3H without grouped-query attention) */
    const float *wqkv_b;
    wmat wo;
    const float *wo_b;
    const float *inv_freq;                    /* [HD/2] */
} eblock;

typedef struct {
    int H, I, NH, HD, S, Ks, V, n_layer;
    int NKV, KVW;                             /* key/value heads (NH / proj_groups, §6.6) and their width NKV·HD */
    int interleave, flip_x1x2, column_split, final_norm;
    int cfg_interleave, col_split_hyena;      /* the config's layout of the Hyena projections (§6.5); interleave is
                                                 that of the rows as used (permuted at load with column_split_hyena) */
    float eps;
    double rope_scale;
    const float *emb, *head, *norm;           /* [V, H], [V, H] (tied: emb), [H] */
    eblock *blk;
    float **own;
    int n_own;
    int n_fp8;
} evo2;

/* ---------------------------------------------------------------- loading (§6.1, §6.2) */

static float *own(evo2 *e, size_t n)
{
    float **o = realloc(e->own, (size_t)(e->n_own + 1) * sizeof *o);
    if (!o) { hd_set_error(HD_EMODEL, "out of memory"); return NULL; }
    e->own = o;
    float *p = hd_calloc(n ? n : 1, sizeof(float), "an Evo 2 filter table");
    if (!p) return NULL;
    e->own[e->n_own++] = p;
    return p;
}

int hd_evo2_looks_like(const hd_st *st)
{
    for (int i = 0; i < hd_st_count(st); i++) {
        const char *n = hd_st_get(st, i)->name;
        if (!strncmp(n, "blocks.", 7) && (strstr(n, ".filter.short_filter_weight") || strstr(n, ".inner_mha_cls.")))
            return 1;
    }
    return 0;
}

static const char *cfg_name(hd_model *m) { return m->config_path ? m->config_path : m->weights_path; }

/* the block indices of a config list such as hcl_layer_idxs into type[] */
static int read_layer_list(hd_model *m, const char *key, int t, int n_layer, int *type)
{
    json_t *a = hd_cfg_get(m, key);
    if (!a) { hd_set_error(HD_EMODEL, "%s: config key '%s' is missing", cfg_name(m), key); return -1; }
    if (!json_is_array(a)) { hd_set_error(HD_EMODEL, "%s: config key '%s' is not a list", cfg_name(m), key); return -1; }
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= n_layer) {
            hd_set_error(HD_EMODEL, "%s: %s[%zu] is not a block index 0..%d (num_layers = %d)", cfg_name(m), key, i, n_layer - 1, n_layer);
            return -1;
        }
        int k = (int)json_integer_value(v);
        if (type[k] >= 0) {
            hd_set_error(HD_EMODEL, "%s: block %d is listed twice (in %s and an earlier list)", cfg_name(m), k, key);
            return -1;
        }
        type[k] = t;
    }
    return 0;
}

/* tensor `name` must have size `want` in dimension `dim` (counted from the end when negative), or the config
 * key that gave `want` contradicts the checkpoint */
static int check_dim(hd_model *m, const char *name, int dim, long want, const char *key)
{
    const hd_tensor_info *t = hd_model_tensor(m, name);
    if (!t) return 0;   /* reported as missing when loaded */
    int d = dim < 0 ? t->ndim + dim : dim;
    if (d < 0 || d >= t->ndim || t->shape[d] != want) {
        char sh[128];
        size_t k = 0;
        k += snprintf(sh + k, sizeof sh - k, "[");
        for (int i = 0; i < t->ndim && k < sizeof sh; i++) k += snprintf(sh + k, sizeof sh - k, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
        if (k < sizeof sh) snprintf(sh + k, sizeof sh - k, "]");
        hd_set_error(HD_EMODEL, "%s: config %s = %ld contradicts the checkpoint: tensor '%s' is %s in %s", cfg_name(m), key,
                     want, hd_model_display(m, name), sh, m->weights_path);
        return -1;
    }
    return 0;
}

/* The stored row of the Hyena projections (and short filter) that holds part j (0, 1, 2: x2, x1, v before
 * hyena_flip_x1x2) of channel i (§6.5): vortex de-interleaves the rows (z[0::3] | z[1::3] | z[2::3]) when
 * `interleave`, then takes part j of channel i at j·H + i, or, with `column_split_hyena`, per head of
 * HD = H / num_attention_heads channels at (i / HD)·3·HD + j·HD + i mod HD. */
static long proj_src_row(const evo2 *e, int j, long i)
{
    long H = e->H, HD = e->HD;
    long p = e->col_split_hyena ? (i / HD) * 3 * HD + j * HD + i % HD : j * H + i;
    return e->cfg_interleave ? 3 * (p % H) + p / H : p;
}

static int load_mat(hd_model *m, wmat *w, const int64_t *shape, int ndim, const char *name)
{
    hd_dtype dt;
    w->p = hd_model_weight(m, 1, shape, ndim, &dt, "%s", name);
    w->bf16 = dt == HD_BF16;
    return w->p ? 0 : -1;
}

/* does the file name name one of the FP8-trained releases (evo2_1b*, evo2_20b*, evo2_40b*)? */
static const char *fp8_release_name(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    static const char *const tags[] = {"1b", "20b", "40b", NULL};
    for (int i = 0; tags[i]; i++)
        for (const char *p = base; (p = strcasestr(p, tags[i])); p++) {
            size_t n = strlen(tags[i]);
            if ((p == base || !isdigit((unsigned char)p[-1])) && !isalnum((unsigned char)p[n])) return tags[i];
        }
    return NULL;
}

/* FP8 (docs/models.md §6.1).  Transformer Engine writes FP8 scaling state into projections._extra_state
 * whenever a Hyena projection was built with FP8 enabled, and the released 7B files (like the test fixture)
 * carry such blobs although their BF16 projections are exact without FP8.  So the state alone decides
 * nothing: a checkpoint is refused as FP8-trained when it carries that state AND something says the
 * projections ran in FP8: projection weights stored in F32 (the 20B), the hidden size of an FP8 release
 * (1920: 1B; 8192: 20B, 40B), norm scales or rotary inv_freq stored in F32 (the 40B), or a file name naming
 * evo2_1b / evo2_20b / evo2_40b. */
static int fp8_check(hd_model *m, evo2 *e, const int *type)
{
    int n = 0;
    const char *first = NULL;
    if (m->ckpt) {
        for (int i = 0; i < m->ckpt->n_extra; i++)
            if (m->ckpt->extra[i].kind == HD_XS_FP8 && strstr(m->ckpt->extra[i].name, "projections._extra_state")) {
                if (!n++) first = m->ckpt->extra[i].name;
            }
    } else if (hd_st_meta(m->st, "te_fp8_states")) {
        n = atoi(hd_st_meta(m->st, "te_fp8_states"));
        first = "(recorded by hyenadna convert)";
    }
    e->n_fp8 = n;
    if (!n) return 0;
    char why[256] = "";
    for (int k = 0; k < e->n_layer && !why[0]; k++) {
        char nm[96];
        snprintf(nm, sizeof nm, "blocks.%d.projections.weight", k);
        const hd_tensor_info *t = type[k] != BLK_ATTN ? hd_model_tensor(m, nm) : NULL;
        if (t && t->dtype == HD_F32) snprintf(why, sizeof why, "Hyena projections stored in float32, as in evo2_20b");
        snprintf(nm, sizeof nm, "blocks.%d.inner_mha_cls.rotary_emb.inv_freq", k);
        t = type[k] == BLK_ATTN ? hd_model_tensor(m, nm) : NULL;
        if (!why[0] && t && t->dtype == HD_F32) snprintf(why, sizeof why, "rotary inv_freq stored in float32, as in evo2_40b");
    }
    const hd_tensor_info *ns = hd_model_tensor(m, "norm.scale");
    if (!why[0] && ns && ns->dtype == HD_F32) snprintf(why, sizeof why, "norm scales stored in float32, as in evo2_40b");
    if (!why[0] && (e->H == 1920 || e->H == 8192))
        snprintf(why, sizeof why, "hidden size %d, as in evo2_%s", e->H, e->H == 1920 ? "1b_base" : "20b and evo2_40b");
    const char *tag = fp8_release_name(m->weights_path);
    if (!why[0] && tag) snprintf(why, sizeof why, "the file name names an FP8 release (evo2_%s)", tag);
    if (why[0]) {
        hd_set_error(HD_EMODEL, "%s: an FP8-trained Evo 2 checkpoint (%s; Transformer Engine FP8 scaling state in %d "
                     "projections._extra_state entries, e.g. %s): its Hyena input projections are only faithful with FP8 "
                     "(E4M3) emulation, which hyenadna does not support yet; the 7B checkpoints (evo2_7b, evo2_7b_base, "
                     "evo2_7b_262k) and BF16 checkpoints run",
                     m->weights_path, why, n, first);
        return -1;
    }
    hd_model_note(m, "projections._extra_state: Transformer Engine FP8 scaling state in %d entries, ignored: the "
                  "projections are BF16 weights computed in float32, as the reference runs the 7B family", n);
    return 0;
}

static int load_block(hd_model *m, evo2 *e, int k, int type, const char *mlp_act, int evo2_style)
{
    eblock *b = &e->blk[k];
    long H = e->H, I = e->I;
    char nm[160];
    b->type = type;
#define NM(fmt) (snprintf(nm, sizeof nm, "blocks.%d." fmt, k), nm)
    if (!(b->pre_norm = hd_model_f32(m, 1, HD_SHAPE(H), "%s", NM("pre_norm.scale"))) ||
        !(b->post_norm = hd_model_f32(m, 1, HD_SHAPE(H), "%s", NM("post_norm.scale"))) ||
        load_mat(m, &b->l1, HD_SHAPE(I, H), NM("mlp.l1.weight")) || load_mat(m, &b->l2, HD_SHAPE(I, H), NM("mlp.l2.weight")) ||
        load_mat(m, &b->l3, HD_SHAPE(H, I), NM("mlp.l3.weight")))
        return -1;
    b->act = (k > 0 && evo2_style) ? HD_ACT_IDENTITY : !strcmp(mlp_act, "silu") ? HD_ACT_SILU : HD_ACT_GELU;
    if (type == BLK_ATTN) {
        int hb = hd_cfg_bool(m, "qkv_proj_bias", 1), ob = hd_cfg_bool(m, "mha_out_proj_bias", 1);
        long QR = H + 2L * e->KVW;
        if (load_mat(m, &b->wqkv, HD_SHAPE(QR, H), NM("inner_mha_cls.Wqkv.weight")) ||
            (hb && !(b->wqkv_b = hd_model_f32(m, 1, HD_SHAPE(QR), "%s", NM("inner_mha_cls.Wqkv.bias")))) ||
            load_mat(m, &b->wo, HD_SHAPE(H, H), NM("inner_mha_cls.out_proj.weight")) ||
            (ob && !(b->wo_b = hd_model_f32(m, 1, HD_SHAPE(H), "%s", NM("inner_mha_cls.out_proj.bias")))))
            return -1;
        if (hd_model_tensor(m, NM("inner_mha_cls.rotary_emb.inv_freq"))) {
            if (!(b->inv_freq = hd_model_f32(m, 2, HD_SHAPE(e->HD / 2), "%s", nm))) return -1;
        } else {
            /* absent from the file: 1/base^(2i/HD), as the module initialises it (the released files store it) */
            double base;
            if (hd_cfg_num(m, "rotary_emb_base", 1000000, &base)) return -1;
            float *f = own(e, (size_t)e->HD / 2);
            if (!f) return -1;
            for (int i = 0; i < e->HD / 2; i++) f[i] = (float)(1.0 / pow(base, 2.0 * i / e->HD));
            b->inv_freq = f;
            hd_model_note(m, "blocks.%d.inner_mha_cls.rotary_emb.inv_freq: absent, computed from rotary_emb_base %g", k, base);
        }
        return 0;
    }
    /* Hyena blocks */
    int pb = hd_cfg_bool(m, "qkv_proj_bias", 0), sb = hd_cfg_bool(m, "short_filter_bias", 0),
        ob = hd_cfg_bool(m, "hyena_out_proj_bias", 0);
    const float *sw, *sbias = NULL;
    if (load_mat(m, &b->proj, HD_SHAPE(3 * H, H), NM("projections.weight")) ||
        (pb && !(b->proj_b = hd_model_f32(m, 1, HD_SHAPE(3 * H), "%s", NM("projections.bias")))) ||
        !(sw = hd_model_f32(m, 1, HD_SHAPE(3 * H, 1, e->Ks), "%s", NM("filter.short_filter_weight"))) ||
        (sb && !(sbias = hd_model_f32(m, 1, HD_SHAPE(3 * H), "%s", NM("filter.short_filter_bias")))) ||
        load_mat(m, &b->out, HD_SHAPE(H, H), NM("out_filter_dense.weight")) ||
        (ob && !(b->out_b = hd_model_f32(m, 1, HD_SHAPE(H), "%s", NM("out_filter_dense.bias")))))
        return -1;
    if (e->col_split_hyena) {
        /* rows regrouped into the interleaved order (part j of channel i at 3i + j) that the forward reads */
        size_t es = b->proj.bf16 ? 2 : 4, rb = (size_t)H * es;
        char *w = (char *)own(e, (3 * (size_t)H * (size_t)H * es + 3) / 4);
        float *pb = b->proj_b ? own(e, 3 * (size_t)H) : NULL;
        if (!w || (b->proj_b && !pb)) return -1;
        for (int j = 0; j < 3; j++)
            for (long i = 0; i < H; i++) {
                long src = proj_src_row(e, j, i);
                memcpy(w + (size_t)(3 * i + j) * rb, (const char *)b->proj.p + (size_t)src * rb, rb);
                if (pb) pb[3 * i + j] = b->proj_b[src];
            }
        b->proj.p = w;
        if (pb) b->proj_b = pb;
    }
    /* the short filter per part (x2, x1, v), rows in the channel order of that part (§6.5) */
    for (int j = 0; j < 3; j++) {
        float *w = own(e, (size_t)H * e->Ks), *bb = sbias ? own(e, (size_t)H) : NULL;
        if (!w || (sbias && !bb)) return -1;
        for (long i = 0; i < H; i++) {
            long row = proj_src_row(e, j, i);
            memcpy(w + i * e->Ks, sw + row * e->Ks, (size_t)e->Ks * sizeof(float));
            if (sbias) bb[i] = sbias[row];
        }
        b->sf_w[j] = w;
        b->sf_b[j] = bb;
    }
    /* the leftover time grids: vortex recomputes t, so do we (noted once by evo2_load) */
    char tn[96];
    snprintf(tn, sizeof tn, "blocks.%d.mixer.mixer.filter.t", k);
    hd_model_mark(m, tn, 3);
    snprintf(tn, sizeof tn, "blocks.%d.filter.t", k);
    hd_model_mark(m, tn, 3);
    if (type == BLK_HCL) {
        if (!(b->logp = hd_model_f32(m, 1, HD_SHAPE(H, e->S, 1), "%s", NM("filter.log_poles"))) ||
            !(b->R = hd_model_f32(m, 1, HD_SHAPE(H, e->S), "%s", NM("filter.residues"))) ||
            !(b->D = hd_model_f32(m, 1, HD_SHAPE(H), "%s", NM("filter.D"))))
            return -1;
        for (long i = 0; i < H * e->S; i++)
            if (b->logp[i] > 0) {
                hd_set_error(HD_EMODEL, "%s: tensor '%s' holds a positive log-pole (%g at element %ld): the long filter would grow without bound",
                             m->weights_path, hd_model_display(m, NM("filter.log_poles")), b->logp[i], i);
                return -1;
            }
        return 0;
    }
    /* HCS / HCM: a grouped FIR; filters of 128 taps or more are convolutions with a D skip term, shorter ones
     * cross-correlations without (vortex's rule, §6.5) */
    long G, Kf;
    const char *gk = type == BLK_HCS ? "hcs_filter_groups" : "hcm_filter_groups";
    const char *lk = type == BLK_HCS ? "hcs_filter_length" : "hcm_filter_length";
    if (hd_cfg_int(m, gk, H, 0, 1, H, &G) || hd_cfg_int(m, lk, type == BLK_HCS ? 7 : 128, 0, 1, 1 << 20, &Kf)) return -1;
    if (H % G) { hd_set_error(HD_EMODEL, "%s: %s = %ld does not divide hidden_size %ld", cfg_name(m), gk, G, H); return -1; }
    if (check_dim(m, NM("filter.h"), 0, G, gk) || check_dim(m, nm, -1, Kf, lk)) return -1;
    const float *h = hd_model_f32(m, 1, HD_SHAPE(G, 1, Kf), "%s", NM("filter.h"));
    if (!h) return -1;
    int conv = Kf >= 128;
    if (conv && !(b->D = hd_model_f32(m, 1, HD_SHAPE(H), "%s", NM("filter.D")))) return -1;
    b->K = (int)Kf;
    float *fir = own(e, (size_t)H * Kf);
    if (!(b->fir = fir)) return -1;
    for (long c = 0; c < H; c++) {
        const float *hg = h + (c / (H / G)) * Kf;   /* repeat_interleave: contiguous channels share a filter */
        float *w = fir + c * Kf;
        for (long j = 0; j < Kf; j++) w[j] = conv ? hg[Kf - 1 - j] : hg[j];
        if (conv) w[Kf - 1] += b->D[c];
    }
#undef NM
    return 0;
}

static int evo2_load(hd_model *m)
{
    long H, NL, NH, V, S, Ks, I, mult, mp, maxlen, pgroups;
    double eps, scale;
    if (hd_cfg_int(m, "hidden_size", 0, 1, 1, 1 << 20, &H) || hd_cfg_int(m, "num_layers", 0, 1, 1, 4096, &NL) ||
        hd_cfg_int(m, "num_attention_heads", 0, 1, 1, 1 << 16, &NH) || hd_cfg_int(m, "vocab_size", 512, 0, 1, 1 << 20, &V) ||
        hd_cfg_int(m, "state_size", 16, 0, 1, 4096, &S) || hd_cfg_int(m, "short_filter_length", 3, 0, 1, 1024, &Ks) ||
        hd_cfg_int(m, "inner_size_multiple_of", 64, 0, 1, 1 << 20, &mult) ||
        hd_cfg_int(m, "model_parallel_size", 1, 0, 1, 1 << 16, &mp) ||
        hd_cfg_int(m, "max_seqlen", 0, 0, 0, 1L << 40, &maxlen) || hd_cfg_int(m, "proj_groups", 1, 0, 1, 1 << 16, &pgroups) ||
        hd_cfg_num_in(m, "eps", 1e-6, 0, 1, &eps))
        return -1;
    /* vortex's default inner size, unless given: 8H/3 rounded up to a multiple of inner_size_multiple_of ×
     * model_parallel_size */
    mult *= mp;
    long Idef = mult * ((2 * H * 4 / 3 + mult - 1) / mult);
    if (hd_cfg_int(m, "inner_mlp_size", Idef, 0, 1, 1 << 24, &I)) return -1;
    if (H % NH || (H / NH) % 2) {
        hd_set_error(HD_EMODEL, "%s: hidden_size %ld is not num_attention_heads %ld times an even head size", cfg_name(m), H, NH);
        return -1;
    }
    /* grouped-query attention (§6.6): NH / proj_groups key/value heads (vortex's integer division), each shared
     * by NH / NKV consecutive query heads */
    long NKV = NH / pgroups;
    if (NKV < 1 || NH % NKV) {
        hd_set_error(HD_EMODEL, "%s: proj_groups = %ld leaves num_attention_heads %ld / %ld = %ld key/value heads%s", cfg_name(m),
                     pgroups, NH, pgroups, NKV, NKV < 1 ? " (none)" : ", which do not divide the query heads");
        return -1;
    }
    if (NKV != NH && hd_cfg_bool(m, "column_split", 1)) {
        hd_set_error(HD_EMODEL, "%s: proj_groups = %ld (grouped-query attention) with column_split: the reference's load-time "
                     "permutation of Wqkv assumes 3 x hidden_size rows and fails; set column_split: False ([q | k | v] rows)",
                     cfg_name(m), pgroups);
        return -1;
    }
    if (NKV != NH && hd_cfg_bool(m, "smeared_gqa", 0)) {
        hd_set_error(HD_EMODEL, "%s: smeared_gqa with proj_groups = %ld is not supported (the reference then splits a Wqkv of "
                     "%ld rows as 3 x hidden_size and fails)", cfg_name(m), pgroups, H + 2 * NKV * (H / NH));
        return -1;
    }
    const char *act = hd_cfg_str(m, "mlp_activation");
    if (act && strcmp(act, "gelu") && strcmp(act, "silu")) {
        hd_set_error(HD_EMODEL, "%s: mlp_activation '%s': expected gelu or silu", cfg_name(m), act);
        return -1;
    }
    if (!hd_cfg_bool(m, "use_interpolated_rotary_pos_emb", 0)) scale = 1.0;
    else if (hd_cfg_num(m, "rotary_emb_scaling_factor", 1.0, &scale)) return -1;
    if (!(scale > 0)) { hd_set_error(HD_EMODEL, "%s: rotary_emb_scaling_factor %g is not positive", cfg_name(m), scale); return -1; }

    evo2 *e = calloc(1, sizeof *e);
    if (!e) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    m->impl = e;
    e->H = (int)H, e->I = (int)I, e->NH = (int)NH, e->HD = (int)(H / NH), e->S = (int)S, e->Ks = (int)Ks;
    e->V = (int)V, e->n_layer = (int)NL, e->eps = (float)eps, e->rope_scale = scale;
    e->NKV = (int)NKV, e->KVW = (int)(NKV * (H / NH));
    /* a key the YAML leaves out takes vortex's default (docs/models.md §6.1), not the released models' value:
     * interleave, tie_embeddings, hyena_out_proj_bias and the Hyena qkv_proj_bias false (read as attributes of
     * its dotdict config: None), column_split_hyena, column_split, the attention's qkv_proj_bias and
     * mha_out_proj_bias true, rotary_emb_base 1e6 */
    e->cfg_interleave = hd_cfg_bool(m, "interleave", 0);
    e->col_split_hyena = hd_cfg_bool(m, "column_split_hyena", 1);
    e->interleave = e->cfg_interleave || e->col_split_hyena;
    e->flip_x1x2 = hd_cfg_bool(m, "hyena_flip_x1x2", 0);
    e->column_split = hd_cfg_bool(m, "column_split", 1);
    e->final_norm = hd_cfg_bool(m, "final_norm", 1);
    int tied = hd_cfg_bool(m, "tie_embeddings", 0), evo2_style = hd_cfg_bool(m, "evo2_style_activations", 0);

    int *type = malloc((size_t)NL * sizeof *type);
    if (!type) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    for (long k = 0; k < NL; k++) type[k] = -1;
    static const char *const lists[] = {"hcs_layer_idxs", "hcm_layer_idxs", "hcl_layer_idxs", "attn_layer_idxs"};
    int rc = -1;
    for (int t = 0; t < 4; t++)
        if (read_layer_list(m, lists[t], t, (int)NL, type)) goto out;
    for (long k = 0; k < NL; k++)
        if (type[k] < 0) {
            hd_set_error(HD_EMODEL, "%s: block %ld is in none of hcs/hcm/hcl/attn_layer_idxs", cfg_name(m), k);
            goto out;
        }

    /* the config against the tensor shapes: name the key that disagrees */
    if (check_dim(m, "embedding_layer.weight", 1, H, "hidden_size") || check_dim(m, "embedding_layer.weight", 0, V, "vocab_size"))
        goto out;
    char nm[128];
    snprintf(nm, sizeof nm, "blocks.%ld.pre_norm.scale", NL - 1);
    if (!hd_model_tensor(m, nm)) {
        hd_set_error(HD_EMODEL, "%s: config num_layers = %ld contradicts the checkpoint: there is no tensor '%s' in %s", cfg_name(m),
                     NL, nm, m->weights_path);
        goto out;
    }
    snprintf(nm, sizeof nm, "blocks.%ld.pre_norm.scale", NL);
    if (hd_model_tensor(m, nm)) {
        hd_set_error(HD_EMODEL, "%s: config num_layers = %ld contradicts the checkpoint: %s holds a block %ld", cfg_name(m), NL,
                     m->weights_path, NL);
        goto out;
    }
    for (long k = 0; k < NL; k++) {
        snprintf(nm, sizeof nm, "blocks.%ld.mlp.l1.weight", k);
        if (check_dim(m, nm, 0, I, "inner_mlp_size")) goto out;
        snprintf(nm, sizeof nm, "blocks.%ld.inner_mha_cls.Wqkv.weight", k);
        if (hd_model_tensor(m, nm) && type[k] != BLK_ATTN) {
            hd_set_error(HD_EMODEL, "%s: block %ld holds attention weights but the config makes it a Hyena block (%c): "
                         "the layer lists contradict the checkpoint", cfg_name(m), k, blk_letter[type[k]]);
            goto out;
        }
        snprintf(nm, sizeof nm, "blocks.%ld.projections.weight", k);
        if (hd_model_tensor(m, nm) && type[k] == BLK_ATTN) {
            hd_set_error(HD_EMODEL, "%s: block %ld holds Hyena weights but the config makes it an attention block: "
                         "the layer lists contradict the checkpoint", cfg_name(m), k);
            goto out;
        }
        snprintf(nm, sizeof nm, "blocks.%ld.inner_mha_cls.rotary_emb.inv_freq", k);
        const hd_tensor_info *fq = hd_model_tensor(m, nm);
        if (fq && (fq->ndim != 1 || fq->shape[0] != H / NH / 2)) {
            hd_set_error(HD_EMODEL, "%s: config num_attention_heads = %ld (head size %ld) contradicts the checkpoint: tensor "
                         "'%s' holds %lld rotary frequencies, not %ld, in %s", cfg_name(m), NH, H / NH, hd_model_display(m, nm),
                         (long long)(fq->ndim ? fq->shape[0] : 0), H / NH / 2, m->weights_path);
            goto out;
        }
        snprintf(nm, sizeof nm, "blocks.%ld.filter.log_poles", k);
        if (check_dim(m, nm, 1, S, "state_size")) goto out;
        snprintf(nm, sizeof nm, "blocks.%ld.filter.short_filter_weight", k);
        if (check_dim(m, nm, -1, Ks, "short_filter_length")) goto out;
    }
    /* num_filters enters no computation: vortex only asserts that it divides hidden_size (§6.1) */
    long nf;
    if (hd_cfg_int(m, "num_filters", H, 0, 1, 1 << 20, &nf)) goto out;
    if (nf > H || H % nf) {
        hd_set_error(HD_EMODEL, "%s: num_filters = %ld does not divide hidden_size %ld (the reference requires it to)", cfg_name(m), nf, H);
        goto out;
    }
    const char *pf = hd_cfg_str(m, "prefill_style");
    if (pf && strcmp(pf, "fft")) {
        hd_set_error(HD_EMODEL, "%s: prefill_style '%s' is not supported (the HCL state is filled as prefill_style: fft)",
                     cfg_name(m), pf);
        goto out;
    }
    if (fp8_check(m, e, type)) goto out;

    m->d_model = (int)H;
    m->n_layer = (int)NL;
    m->max_len = maxlen;
    m->vocab_size = (int)V;
    m->n_logits = (int)V;
    m->d_hidden = (int)H;
    m->causal = 1;
    m->tokenizer = HD_TOKENIZER_BYTES;
    char *pat = malloc((size_t)NL + 1);
    if (!pat) { hd_set_error(HD_EMODEL, "out of memory"); goto out; }
    for (long k = 0; k < NL; k++) pat[k] = blk_letter[type[k]];
    pat[NL] = 0;
    snprintf(m->variant, sizeof m->variant, "%.40s%s, %ld heads", pat, NL > 40 ? "..." : "", NH);
    free(pat);

    if (!(e->emb = hd_model_f32(m, 1, HD_SHAPE(V, H), "embedding_layer.weight"))) goto out;
    if (e->final_norm && !(e->norm = hd_model_f32(m, 1, HD_SHAPE(H), "norm.scale"))) goto out;
    if (tied) {
        e->head = e->emb;
        int aliased = 0;   /* dropped by the checkpoint reader as the same storage as the embedding */
        for (int i = 0; m->ckpt && i < m->ckpt->n_report; i++)
            aliased |= !strncmp(m->ckpt->report[i], "aliased\tunembed.weight\t", 23);
        if (!hd_model_mark(m, "unembed.weight", 3) || aliased)
            hd_model_note(m, "unembed.weight: ignored, the unembedding is tied to embedding_layer.weight (as vortex)");
    } else if (!(e->head = hd_model_f32(m, 1, HD_SHAPE(V, H), "unembed.weight"))) goto out;
    if (!(e->blk = calloc((size_t)NL, sizeof *e->blk))) { hd_set_error(HD_EMODEL, "out of memory"); goto out; }
    int nt = 0;
    for (long k = 0; k < NL; k++) {
        if (load_block(m, e, (int)k, type[k], act ? act : "gelu", evo2_style)) goto out;
        char tn[96];
        snprintf(tn, sizeof tn, "blocks.%ld.mixer.mixer.filter.t", k);
        nt += hd_model_tensor(m, tn) != NULL;
        snprintf(tn, sizeof tn, "blocks.%ld.filter.t", k);
        nt += hd_model_tensor(m, tn) != NULL;
    }
    if (nt) hd_model_note(m, "blocks.*.mixer.mixer.filter.t: %d leftover time grids, ignored (the filters recompute t, as vortex)", nt);
    if (m->ckpt && m->ckpt->n_extra)
        hd_model_note(m, "*._extra_state: %d Transformer Engine entries (pickled io.BytesIO), ignored as vortex does without "
                      "Transformer Engine", m->ckpt->n_extra);
    if (hd_cfg_bool(m, "use_fp8_input_projections", 0))
        hd_model_note(m, "use_fp8_input_projections: True in the config: the projections are computed in float32 from their "
                      "stored BF16 weights (evo2 turns FP8 off for the 7B models without Transformer Engine)");
    int bf = 0, f32 = 0;
    for (long k = 0; k < NL; k++) {
        eblock *b = &e->blk[k];
        const wmat *w[] = {&b->l1, &b->l2, &b->l3, &b->proj, &b->out, &b->wqkv, &b->wo};
        for (int j = 0; j < 7; j++)
            if (w[j]->p) { if (w[j]->bf16) bf++; else f32++; }
    }
    snprintf(m->precision, sizeof m->precision, "%s matrices in memory, float32 compute", bf && f32 ? "bfloat16 and float32" : bf ? "bfloat16" : "float32");
    rc = 0;
out:
    free(type);
    return rc;
}

static void evo2_free(hd_model *m)
{
    evo2 *e = m->impl;
    if (!e) return;
    for (int i = 0; i < e->n_own; i++) hd_free(e->own[i]);
    free(e->own);
    free(e->blk);
    free(e);
    m->impl = NULL;
}

/* ---------------------------------------------------------------- the shipped configs (§6.1) */

const char *hd_evo2_shipped_config(long H, int n_blocks, long inner, long tgrid, const char *name, char *why, size_t n)
{
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    if (H != 4096 || n_blocks != 32 || (inner != 11264 && inner != 11008)) {
        snprintf(why, n, "hidden size %ld, %d blocks and inner MLP size %ld are none of the released 7B checkpoints' "
                 "(4096, 32, 11264 or 11008)", H, n_blocks, inner);
        return NULL;
    }
    int n262 = strcasestr(base, "262k") != NULL, nbase = strcasestr(base, "base") != NULL || strcasestr(base, "8k") != NULL;
    if (inner == 11264) {
        snprintf(why, n, "inner MLP size 11264 is evo2_7b's (1M context)%s",
                 n262 || nbase ? "; the file name suggests another 7B model, but the shapes decide" : "");
        return "evo2-7b-1m.yml";
    }
    if (tgrid == 262144 || (!tgrid && n262 && !nbase)) {
        snprintf(why, n, "inner MLP size 11008 and %s: evo2_7b_262k",
                 tgrid ? "time grids of 262,144 positions" : "'262k' in the file name");
        return "evo2-7b-262k.yml";
    }
    if (!tgrid) {
        snprintf(why, n, "inner MLP size 11008 and no filter.t time grids: evo2_7b_base (8k context)");
        return "evo2-7b-8k.yml";
    }
    snprintf(why, n, "inner MLP size 11008 with time grids of %ld positions matches none of them (evo2_7b_262k: 262,144; "
             "evo2_7b_base: none)", tgrid);
    return NULL;
}

int hd_evo2_pick_config(hd_model *m, json_t **root)
{
    const hd_tensor_info *emb = hd_st_find(m->st, "embedding_layer.weight");
    const hd_tensor_info *l1 = hd_st_find(m->st, "blocks.0.mlp.l1.weight");
    long H = emb && emb->ndim == 2 ? (long)emb->shape[1] : 0, I = l1 && l1->ndim == 2 ? (long)l1->shape[0] : 0, tlen = 0;
    int nl = 0;
    for (int i = 0; i < hd_st_count(m->st); i++) {
        const hd_tensor_info *t = hd_st_get(m->st, i);
        int k;
        if (sscanf(t->name, "blocks.%d.", &k) == 1 && k >= 0 && k < (1 << 20) && k + 1 > nl) nl = k + 1;
        size_t n = strlen(t->name);
        if (n > 9 && !strcmp(t->name + n - 9, ".filter.t") && t->ndim) tlen = (long)t->shape[t->ndim - 1];
    }
    char why[320];
    const char *file = hd_evo2_shipped_config(H, nl, I, tlen, m->weights_path, why, sizeof why);
    if (!file) {
        hd_set_error(HD_EMODEL, "%s: an Evo 2 checkpoint without a config, and no shipped config fits (%s): give its "
                     "vortex YAML with -c CONFIG.yml or put it next to the checkpoint (the shipped configs cover the "
                     "released 7B checkpoints evo2_7b, evo2_7b_262k and evo2_7b_base)", m->location, why);
        return -1;
    }
    char rel[128];
    snprintf(rel, sizeof rel, "configs/evo2/%s", file);
    char *path = hd_data_path(rel);
    if (!path) {
        hd_set_error(HD_EMODEL, "%s: no config given and the shipped config %s was not found (installation incomplete? "
                     "$HYENADNA_DATADIR names the data directory)", m->location, rel);
        return -1;
    }
    if (!(*root = hd_yaml_load_file(path))) { free(path); return -1; }
    m->config_path = path;
    m->config_note = hd_sprintf("shipped %s, chosen because no YAML was given and %s", file, why);
    return 0;
}

/* ---------------------------------------------------------------- backend copies of the weights */

static int wcopy(hd_backend *be, const wmat *w, size_t n, wmat *out)
{
    out->bf16 = w->bf16;
    if (!w->p) { out->p = NULL; return 0; }
    out->p = w->bf16 ? (const void *)be->weights_bf16(be, w->p, n) : (const void *)be->weights(be, w->p, n);
    return out->p ? 0 : -1;
}

/* Block k's weights as backend memory (device copies on a GPU, cached by the backend; the CPU returns the host
 * pointers).  Every weight an op reads goes through here. */
static int block_weights(hd_backend *be, const evo2 *e, const eblock *b, eblock *w)
{
    size_t H = (size_t)e->H, I = (size_t)e->I, Ks = (size_t)e->Ks, S = (size_t)e->S;
    *w = *b;
#define F(field, n) if (b->field && !(w->field = be->weights(be, b->field, (n)))) return -1
#define M(field, n) if (wcopy(be, &b->field, (n), &w->field)) return -1
    F(pre_norm, H); F(post_norm, H);
    M(l1, I * H); M(l2, I * H); M(l3, H * I);
    M(proj, 3 * H * H); F(proj_b, 3 * H);
    for (int j = 0; j < 3; j++) { F(sf_w[j], H * Ks); F(sf_b[j], H); }
    F(fir, H * (size_t)b->K); F(D, H); F(logp, H * S); F(R, H * S);
    M(out, H * H); F(out_b, H);
    M(wqkv, (H + 2 * (size_t)e->KVW) * H); F(wqkv_b, H + 2 * (size_t)e->KVW); M(wo, H * H); F(wo_b, H);
    F(inv_freq, (size_t)e->HD / 2);
#undef F
#undef M
    return 0;
}

/* ---------------------------------------------------------------- the forward pass */

typedef struct {
    double **state;    /* per block: HCL modal state [H, S] */
    float **win_s;     /* per Hyena block: short-FIR window [3H, Ks] (Ks − 1 past projections, then the current) */
    float **win_i;     /* per HCS/HCM block: inner-FIR window [H, K] (K − 1 past x1⊙v, then the current) */
    float **kc, **vc;  /* per attention block: [max_len, KVW] key and value caches (KVW = H without GQA) */
} dstate;

typedef struct {
    size_t L, H, I, cs, Cc;
    float *r;          /* [L, H] residual stream */
    float *a, *b;      /* [H, L] channel-major: x2 and x1⊙v (Hyena); [L, H] row-major K and V (attention) */
    float *nc;         /* [cs + Ks − 1, H] normed chunk */
    float *pc;         /* [3H, cs + Ks − 1] projections, channel-major */
    float *xc;         /* [H, cs]: x1 (Hyena), FIR output, attention output [cs, H] */
    float *mc;         /* [cs, 2I] MLP l1 | l2 */
    float *oc;         /* [cs, max(H, V)] queries, MLP output, logits */
    float *kf;         /* [Cc, L] HCL filters of a channel chunk */
    float *tap;        /* host [L, H] for a requested sub-module output */
} ebuf;

/* positions per chunk of position-wise work: the backend's preference, bounded for Evo 2's wide MLP */
static size_t evo2_chunk(const hd_backend *be) { return be->chunk < EVO2_CHUNK_MAX ? be->chunk : EVO2_CHUNK_MAX; }

static void buf_free(hd_backend *be, ebuf *B)
{
    float **p[] = {&B->r, &B->a, &B->b, &B->nc, &B->pc, &B->xc, &B->mc, &B->oc, &B->kf};
    for (size_t i = 0; i < sizeof p / sizeof *p; i++) { be->free(be, *p[i]); *p[i] = NULL; }
    hd_free(B->tap);
    B->tap = NULL;
}

static int buf_alloc(hd_backend *be, const evo2 *e, size_t L, int want_tap, int has_hcl, ebuf *B)
{
    memset(B, 0, sizeof *B);
    size_t H = (size_t)e->H, I = (size_t)e->I, cs = L < evo2_chunk(be) ? L : evo2_chunk(be), LH;
    size_t halo = (size_t)e->Ks - 1, wide = (size_t)(e->V > e->H ? e->V : e->H);
    B->L = L, B->H = H, B->I = I, B->cs = cs;
    B->Cc = EVO2_FFT_FLOATS / L;
    if (B->Cc < 1) B->Cc = 1;
    if (B->Cc > H) B->Cc = H;
    if (hd_mul(L, H * sizeof(float), &LH)) { hd_set_error(HD_EMODEL, "out of memory: sequence too long"); return -1; }
    if (!(B->r = be->alloc(be, LH, "the residual stream")) || !(B->a = be->alloc(be, LH, "the Hyena gate x2 / attention keys")) ||
        !(B->b = be->alloc(be, LH, "the Hyena x1·v / attention values")) ||
        !(B->nc = be->alloc(be, (cs + halo) * H * sizeof(float), "a chunk")) ||
        !(B->pc = be->alloc(be, 3 * H * (cs + halo) * sizeof(float), "a chunk")) ||
        !(B->xc = be->alloc(be, H * cs * sizeof(float), "a chunk")) ||
        !(B->mc = be->alloc(be, cs * 2 * I * sizeof(float), "an MLP chunk")) ||
        !(B->oc = be->alloc(be, cs * wide * sizeof(float), "a chunk")) ||
        (has_hcl && !(B->kf = be->alloc(be, B->Cc * L * sizeof(float), "HCL filters"))) ||
        (want_tap && !(B->tap = hd_alloc(LH, "a sub-module output")))) {
        buf_free(be, B);
        return -1;
    }
    return 0;
}

static size_t part_row0(const evo2 *e, int j) { return e->interleave ? (size_t)j : (size_t)j * (size_t)e->H; }
static size_t part_stride(const evo2 *e) { return e->interleave ? 3 : 1; }
/* which stored part (0, 1, 2 of the interleaved triples) is x2, x1, v (§6.5) */
static int part_x2(const evo2 *e) { return e->flip_x1x2 ? 1 : 0; }
static int part_x1(const evo2 *e) { return e->flip_x1x2 ? 0 : 1; }

static void lin(hd_backend *be, const float *X, size_t M, size_t K, size_t ldx, const wmat *W, size_t row0, const float *b,
                size_t N, float *Y, size_t ldy, int flags)
{
    const void *p = W->bf16 ? (const void *)((const uint16_t *)W->p + row0 * K) : (const void *)((const float *)W->p + row0 * K);
    be->linear_ex(be, X, M, K, ldx, p, W->bf16, b ? b + row0 : NULL, N, Y, ldy, flags);
}

/* The Hyena block's mixer (§6.5): r += out_filter_dense(x2 ⊙ mixer(x1 ⊙ v)).  With ds, the decoding caches of
 * this block are filled from the last positions. */
static int hyena_mixer(evo2 *e, hd_backend *be, int k, const eblock *b, ebuf *B, dstate *ds)
{
    size_t L = B->L, H = B->H, cs = B->cs, Ks = (size_t)e->Ks, halo = Ks - 1, ps = part_stride(e);
    /* 1. pre_norm, projections, short FIR per part; a = x2, b = x1 ⊙ v (channel-major) */
    for (size_t m0 = 0; m0 < L; m0 += cs) {
        size_t n = L - m0 < cs ? L - m0 : cs, hs = m0 < halo ? m0 : halo, ld = n + hs;
        be->rmsnorm_eps_out(be, B->r + (m0 - hs) * H, ld, H, b->pre_norm, e->eps, B->nc);
        lin(be, B->nc, ld, H, H, &b->proj, 0, b->proj_b, 3 * H, B->pc, ld, HD_LIN_Y_CM);
        int jx2 = part_x2(e), jx1 = part_x1(e);
        be->causal_conv(be, B->pc + part_row0(e, jx2) * ld, H, n, ps * ld, hs, b->sf_w[jx2], Ks, b->sf_b[jx2], B->a + m0, L);
        be->causal_conv(be, B->pc + part_row0(e, jx1) * ld, H, n, ps * ld, hs, b->sf_w[jx1], Ks, b->sf_b[jx1], B->xc, n);
        be->causal_conv(be, B->pc + part_row0(e, 2) * ld, H, n, ps * ld, hs, b->sf_w[2], Ks, b->sf_b[2], B->b + m0, L);
        be->mul_cm(be, B->b + m0, L, B->xc, n, B->b + m0, L, H, n);
        if (ds && m0 + n == L) {   /* the last Ks − 1 projections (fewer for a shorter prompt) */
            size_t c = L < halo ? L : halo;
            be->copy_cm(be, B->pc + (ld - c), ld, ds->win_s[k] + (halo - c), Ks, 3 * H, c);
        }
    }
    /* 2. the mixer, output in a */
    if (b->type == BLK_HCL) {
        for (size_t c0 = 0; c0 < H; c0 += B->Cc) {
            size_t C = H - c0 < B->Cc ? H - c0 : B->Cc;
            float *u = B->b + c0 * L;
            if (ds) be->modal_scan(be, u, L, C, L, b->R, b->logp, (size_t)e->S, 1, c0, NULL, ds->state[k] + c0 * (size_t)e->S, NULL, 0);
            be->modal_filter(be, b->R, b->logp, (size_t)e->S, 1, c0, C, L, B->kf, L);
            if (be->fftconv(be, u, C, L, L, NULL, B->kf, L, L, b->D + c0)) return -1;
            be->mul_cm(be, u, L, B->a + c0 * L, L, B->a + c0 * L, L, C, L);
        }
    } else {
        size_t K = (size_t)b->K;
        if (ds) {
            size_t c = L < K - 1 ? L : K - 1;
            be->copy_cm(be, B->b + (L - c), L, ds->win_i[k] + (K - 1 - c), K, H, c);
        }
        for (size_t t0 = 0; t0 < L; t0 += cs) {
            size_t n = L - t0 < cs ? L - t0 : cs, hist = t0 < K - 1 ? t0 : K - 1;
            be->causal_conv(be, B->b + (t0 - hist), H, n, L, hist, b->fir, K, NULL, B->xc, n);
            be->mul_cm(be, B->xc, n, B->a + t0, L, B->a + t0, L, H, n);
        }
    }
    /* 3. r += out_filter_dense(y) */
    for (size_t m0 = 0; m0 < L; m0 += cs) {
        size_t n = L - m0 < cs ? L - m0 : cs;
        lin(be, B->a + m0, n, H, L, &b->out, 0, b->out_b, H, B->r + m0 * H, H, HD_LIN_X_CM | HD_LIN_ACC);
    }
    return 0;
}

/* the rows of Wqkv of head h's queries (j = 0), keys (1) or values (2): stored per head [q, k, v] when
 * column_split (savanna's layout, which vortex permutes at load; never with grouped-query attention), else
 * [q | k | v]: NH query heads, then NKV key and NKV value heads (§6.6) */
static size_t qkv_row(const evo2 *e, int j, size_t h)
{
    size_t HD = (size_t)e->HD;
    if (e->column_split) return h * 3 * HD + (size_t)j * HD;
    return j == 0 ? h * HD : (size_t)e->H + (size_t)(j - 1) * (size_t)e->KVW + h * HD;
}

static size_t qkv_nheads(const evo2 *e, int j) { return (size_t)(j ? e->NKV : e->NH); }

static void qkv_heads(evo2 *e, hd_backend *be, const eblock *b, const float *X, size_t n, int j, float *Y, size_t ldy)
{
    size_t H = (size_t)e->H, HD = (size_t)e->HD;
    for (size_t h = 0; h < qkv_nheads(e, j); h++) lin(be, X, n, H, H, &b->wqkv, qkv_row(e, j, h), b->wqkv_b, HD, Y + h * HD, ldy, 0);
}

/* causal attention of the NH query heads of Q (row stride H) on the NKV key/value heads of K, V (row stride KVW):
 * query head h reads key/value head h / (NH / NKV), vortex's repeat "hkv d -> (hkv g) d" (§6.6); with grouped
 * queries, one call per key/value head over its group, the key/value head stride 0 */
static int attend(const evo2 *e, hd_backend *be, const float *Q, const float *K, const float *V, size_t M, size_t Lk,
                  size_t pos0, float *O)
{
    size_t H = (size_t)e->H, HD = (size_t)e->HD, NH = (size_t)e->NH, NKV = (size_t)e->NKV, KVW = (size_t)e->KVW;
    float scale = (float)(1.0 / sqrt((double)HD));
    if (NKV == NH) return be->attention(be, Q, H, HD, K, KVW, HD, V, KVW, HD, M, Lk, NH, HD, pos0, scale, O, H, HD);
    size_t G = NH / NKV;
    for (size_t g = 0; g < NKV; g++)
        if (be->attention(be, Q + g * G * HD, H, HD, K + g * HD, KVW, 0, V + g * HD, KVW, 0, M, Lk, G, HD, pos0, scale,
                          O + g * G * HD, H, HD))
            return -1;
    return 0;
}

/* r += out_proj(MHA(pre_norm(r))) (§6.6), chunk by chunk: the whole Wqkv in one projection (into pc, [n, 3H]),
 * its rows of each head's queries, keys and values gathered (keys and values into the decoding caches with ds),
 * then the chunk's queries against every key so far (causal: the keys of later chunks are not needed yet). */
static int attention_mixer(evo2 *e, hd_backend *be, int k, const eblock *b, ebuf *B, dstate *ds)
{
    size_t L = B->L, H = B->H, cs = B->cs, HD = (size_t)e->HD, NH = (size_t)e->NH, NKV = (size_t)e->NKV;
    size_t KVW = (size_t)e->KVW, QR = H + 2 * KVW;
    float *Kc = ds ? ds->kc[k] : B->a, *Vc = ds ? ds->vc[k] : B->b;
    for (size_t m0 = 0; m0 < L; m0 += cs) {
        size_t n = L - m0 < cs ? L - m0 : cs;
        be->rmsnorm_eps_out(be, B->r + m0 * H, n, H, b->pre_norm, e->eps, B->nc);
        lin(be, B->nc, n, H, H, &b->wqkv, 0, b->wqkv_b, QR, B->pc, QR, 0);
        float *dst[3] = {B->oc, Kc + m0 * KVW, Vc + m0 * KVW};
        size_t ld[3] = {H, KVW, KVW};
        for (int j = 0; j < 3; j++)
            for (size_t h = 0; h < qkv_nheads(e, j); h++) be->copy_cm(be, B->pc + qkv_row(e, j, h), QR, dst[j] + h * HD, ld[j], n, HD);
        be->rope_neox(be, Kc + m0 * KVW, KVW, HD, n, NKV, HD, m0, b->inv_freq, e->rope_scale);
        be->rope_neox(be, B->oc, H, HD, n, NH, HD, m0, b->inv_freq, e->rope_scale);
        if (attend(e, be, B->oc, Kc, Vc, n, m0 + n, m0, B->xc)) return -1;
        lin(be, B->xc, n, H, H, &b->wo, 0, b->wo_b, H, B->r + m0 * H, H, HD_LIN_ACC);
    }
    return 0;
}

/* r += l3(act(l1·x) ⊙ l2·x), x = post_norm(r) (§6.7); with tap, the l3 output is also copied to B->tap */
static void mlp(evo2 *e, hd_backend *be, const eblock *b, ebuf *B, int tap)
{
    size_t L = B->L, H = B->H, I = B->I, cs = B->cs;
    for (size_t m0 = 0; m0 < L; m0 += cs) {
        size_t n = L - m0 < cs ? L - m0 : cs;
        be->rmsnorm_eps_out(be, B->r + m0 * H, n, H, b->post_norm, e->eps, B->nc);
        lin(be, B->nc, n, H, H, &b->l1, 0, NULL, I, B->mc, 2 * I, 0);
        lin(be, B->nc, n, H, H, &b->l2, 0, NULL, I, B->mc + I, 2 * I, HD_LIN_SAME_X);
        be->gated_act(be, B->mc, 2 * I, B->mc + I, 2 * I, n, I, b->act);
        lin(be, B->mc, n, I, 2 * I, &b->l3, 0, NULL, H, B->oc, H, 0);
        if (tap) be->download(be, B->tap + m0 * H, B->oc, n * H * sizeof(float));
        be->add(be, B->r + m0 * H, B->oc, n * H);
    }
}

static int has_type(const evo2 *e, int t)
{
    for (int k = 0; k < e->n_layer; k++)
        if (e->blk[k].type == t) return 1;
    return 0;
}

/* The forward pass; with ds the decoding caches are filled, and last_logits [V] gets the logits of position
 * L − 1 (host memory). */
static int evo2_run(hd_model *m, hd_backend *be, const int32_t *ids, size_t L, hd_fwd *f, dstate *ds, float *last_logits)
{
    evo2 *e = m->impl;
    if (L == 0) return 0;
    int want_tap = f && f->on_tap && f->n_taps > 0;
    ebuf B;
    if (buf_alloc(be, e, L, want_tap, has_type(e, BLK_HCL), &B)) return -1;
    size_t H = B.H, cs = B.cs, V = (size_t)e->V;
    int rc = -1, is_host = be->host_memory;
    float *host = NULL;
    const float *emb = be->weights(be, e->emb, V * H);
    if (!emb) goto out;
    be->embed(be, ids, L, emb, H, B.r);

    int want_logits = (f && f->logits) || last_logits, layer = f ? f->layer : -1;
    int last = layer >= 0 && !want_logits && !ds ? layer : e->n_layer - 1;
    if (f && want_tap)   /* taps beyond the requested layer still need their blocks */
        for (int i = 0; i < f->n_taps; i++)
            if (f->taps[i] > last) last = f->taps[i];
    if (f && f->on_block && !is_host && !(host = hd_alloc(L * H * sizeof(float), "a copy of the residual stream"))) goto out;
    for (int k = 0; k <= last; k++) {
        eblock wb;
        if (block_weights(be, e, &e->blk[k], &wb)) goto out;
        if (wb.type == BLK_ATTN ? attention_mixer(e, be, k, &wb, &B, ds) : hyena_mixer(e, be, k, &wb, &B, ds)) goto out;
        int tap = 0;
        for (int i = 0; want_tap && i < f->n_taps; i++) tap |= f->taps[i] == k;
        mlp(e, be, &wb, &B, tap);
        if (tap) f->on_tap(f->ud, k, B.tap, L, (int)H);
        if (f && f->on_block) {
            if (!is_host) be->download(be, host, B.r, L * H * sizeof(float));
            f->on_block(f->ud, k, is_host ? B.r : host, L, (int)H);
        }
        if (f && k == layer && f->hidden) be->download(be, f->hidden, B.r, L * H * sizeof(float));
    }
    /* final norm and the tied unembedding */
    if ((f && f->hidden && layer < 0) || want_logits) {
        const float *nw = e->norm ? be->weights(be, e->norm, H) : NULL, *head = be->weights(be, e->head, V * H);
        if ((e->norm && !nw) || !head) goto out;
        size_t first = f && (f->logits || (f->hidden && layer < 0)) ? 0 : L - 1;
        for (size_t m0 = first; m0 < L; m0 += cs) {
            size_t n = L - m0 < cs ? L - m0 : cs;
            if (nw) be->rmsnorm_eps_out(be, B.r + m0 * H, n, H, nw, e->eps, B.nc);
            else be->copy_cm(be, B.r + m0 * H, H, B.nc, H, n, H);
            if (f && f->hidden && layer < 0) be->download(be, f->hidden + m0 * H, B.nc, n * H * sizeof(float));
            if (want_logits) {
                be->linear_ex(be, B.nc, n, H, H, head, 0, NULL, V, B.oc, V, 0);
                if (f && f->logits) be->download(be, f->logits + m0 * V, B.oc, n * V * sizeof(float));
                if (last_logits && m0 + n == L) be->download(be, last_logits, B.oc + (n - 1) * V, V * sizeof(float));
            }
        }
    }
    rc = 0;
out:
    hd_free(host);
    buf_free(be, &B);
    return rc;
}

static int evo2_forward(hd_model *m, hd_backend *be, const int32_t *ids, size_t L, hd_fwd *f)
{
    return evo2_run(m, be, ids, L, f, NULL, NULL);
}

static int evo2_tap(hd_model *m, const char *name)
{
    /* exactly blocks.K.mlp.l3, K as written by %d (no sign, space or leading zero): the name is part of
     * forward's tensor keys, one spelling per sub-module */
    int k, n = 0;
    char canon[64];
    if (sscanf(name, "blocks.%d.mlp.l3%n", &k, &n) == 1 && n == (int)strlen(name) && k >= 0 &&
        snprintf(canon, sizeof canon, "blocks.%d.mlp.l3", k) > 0 && !strcmp(canon, name)) {
        if (k < m->n_layer) return k;
        hd_set_error(HD_EINPUT, "layer %s does not exist: the model has %d blocks (blocks.0.mlp.l3..blocks.%d.mlp.l3)",
                     name, m->n_layer, m->n_layer - 1);
        return -2;
    }
    return -1;
}

int hd_evo2_hcl_filter(hd_model *m, hd_backend *be, int layer, size_t L, float *out)
{
    evo2 *e = m->family == HD_FAM_EVO2 ? m->impl : NULL;
    if (!e || layer < 0 || layer >= m->n_layer || e->blk[layer].type != BLK_HCL || !L) {
        hd_set_error(HD_EINPUT, "block %d is not an HCL block of an Evo 2 model", layer);
        return -1;
    }
    if (!(be = hd_backend_for(be, m->ops->needs, hd_family_name(m->family)))) return -1;
    size_t H = (size_t)e->H, S = (size_t)e->S;
    const float *R = be->weights(be, e->blk[layer].R, H * S), *lp = be->weights(be, e->blk[layer].logp, H * S);
    float *k = (R && lp) ? be->alloc(be, H * L * sizeof(float), "the long filters") : NULL;
    if (!k) return -1;
    be->modal_filter(be, R, lp, S, 1, 0, H, L, k, L);
    be->download(be, out, k, H * L * sizeof(float));
    be->free(be, k);
    return hd_backend_check(be);
}

/* ---------------------------------------------------------------- cached decoding (§6.8) */

typedef struct {
    hd_decoder base;
    evo2 *e;
    dstate ds;
    size_t cap;
    float *r1, *nc1, *x2, *x1, *v1, *y1, *q1, *o1, *mc1, *oc1;
} edec;

static void dec_free(hd_decoder *d)
{
    edec *x = (edec *)d;
    hd_backend *be = d->be;
    int NL = x->e->n_layer;
    for (int k = 0; k < NL; k++) {
        if (x->ds.state) be->free(be, x->ds.state[k]);
        if (x->ds.win_s) be->free(be, x->ds.win_s[k]);
        if (x->ds.win_i) be->free(be, x->ds.win_i[k]);
        if (x->ds.kc) be->free(be, x->ds.kc[k]);
        if (x->ds.vc) be->free(be, x->ds.vc[k]);
    }
    free(x->ds.state); free(x->ds.win_s); free(x->ds.win_i); free(x->ds.kc); free(x->ds.vc);
    float *p[] = {x->r1, x->nc1, x->x2, x->x1, x->v1, x->y1, x->q1, x->o1, x->mc1, x->oc1};
    for (size_t i = 0; i < sizeof p / sizeof *p; i++) be->free(be, p[i]);
    free(x);
}

static int dec_prefill(hd_decoder *d, const int32_t *ids, size_t n, float *logits)
{
    edec *x = (edec *)d;
    float *tmp = NULL;
    if (!logits && !(logits = tmp = malloc((size_t)x->e->V * sizeof(float)))) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    int rc = evo2_run(d->m, d->be, ids, n, NULL, &x->ds, logits);
    free(tmp);
    return rc;
}

static int dec_step(hd_decoder *d, int32_t id, float *logits)
{
    edec *x = (edec *)d;
    evo2 *e = x->e;
    hd_backend *be = d->be;
    size_t H = (size_t)e->H, I = (size_t)e->I, V = (size_t)e->V, HD = (size_t)e->HD, NH = (size_t)e->NH;
    size_t Ks = (size_t)e->Ks, ps = part_stride(e), pos = d->pos;
    const float *emb = be->weights(be, e->emb, V * H);
    if (!emb) return -1;
    be->embed(be, &id, 1, emb, H, x->r1);
    for (int k = 0; k < e->n_layer; k++) {
        eblock wb;
        const eblock *b = &wb;
        if (block_weights(be, e, &e->blk[k], &wb)) return -1;
        be->rmsnorm_eps_out(be, x->r1, 1, H, b->pre_norm, e->eps, x->nc1);
        if (b->type == BLK_ATTN) {
            size_t KVW = (size_t)e->KVW;
            float *kr = x->ds.kc[k] + pos * KVW, *vr = x->ds.vc[k] + pos * KVW;
            qkv_heads(e, be, b, x->nc1, 1, 0, x->q1, H);
            qkv_heads(e, be, b, x->nc1, 1, 1, kr, KVW);
            qkv_heads(e, be, b, x->nc1, 1, 2, vr, KVW);
            be->rope_neox(be, x->q1, H, HD, 1, NH, HD, pos, b->inv_freq, e->rope_scale);
            be->rope_neox(be, kr, KVW, HD, 1, (size_t)e->NKV, HD, pos, b->inv_freq, e->rope_scale);
            if (attend(e, be, x->q1, x->ds.kc[k], x->ds.vc[k], 1, pos + 1, pos, x->o1)) return -1;
            lin(be, x->o1, 1, H, H, &b->wo, 0, b->wo_b, H, x->r1, H, HD_LIN_ACC);
        } else {
            /* the projection of this token into the last column of the short-FIR window, then the FIR per part */
            float *ws = x->ds.win_s[k];
            lin(be, x->nc1, 1, H, H, &b->proj, 0, b->proj_b, 3 * H, ws + (Ks - 1), Ks, HD_LIN_Y_CM);
            int jx2 = part_x2(e), jx1 = part_x1(e);
            be->causal_conv(be, ws + part_row0(e, jx2) * Ks, H, 1, ps * Ks, Ks - 1, b->sf_w[jx2], Ks, b->sf_b[jx2], x->x2, 1);
            be->causal_conv(be, ws + part_row0(e, jx1) * Ks, H, 1, ps * Ks, Ks - 1, b->sf_w[jx1], Ks, b->sf_b[jx1], x->x1, 1);
            be->causal_conv(be, ws + part_row0(e, 2) * Ks, H, 1, ps * Ks, Ks - 1, b->sf_w[2], Ks, b->sf_b[2], x->v1, 1);
            be->shift_left(be, ws, 3 * H, Ks, Ks);
            be->mul_cm(be, x->v1, 1, x->x1, 1, x->v1, 1, H, 1);   /* x1 ⊙ v */
            if (b->type == BLK_HCL) {
                be->modal_scan(be, x->v1, 1, H, 1, b->R, b->logp, (size_t)e->S, 1, 0, b->D, x->ds.state[k], x->y1, 1);
            } else {
                size_t K = (size_t)b->K;
                float *wi = x->ds.win_i[k];
                be->copy_cm(be, x->v1, 1, wi + (K - 1), K, H, 1);
                be->causal_conv(be, wi, H, 1, K, K - 1, b->fir, K, NULL, x->y1, 1);
                be->shift_left(be, wi, H, K, K);
            }
            be->mul_cm(be, x->y1, 1, x->x2, 1, x->y1, 1, H, 1);
            lin(be, x->y1, 1, H, H, &b->out, 0, b->out_b, H, x->r1, H, HD_LIN_ACC);
        }
        be->rmsnorm_eps_out(be, x->r1, 1, H, b->post_norm, e->eps, x->nc1);
        lin(be, x->nc1, 1, H, H, &b->l1, 0, NULL, I, x->mc1, 2 * I, 0);
        lin(be, x->nc1, 1, H, H, &b->l2, 0, NULL, I, x->mc1 + I, 2 * I, 0);
        be->gated_act(be, x->mc1, 2 * I, x->mc1 + I, 2 * I, 1, I, b->act);
        lin(be, x->mc1, 1, I, 2 * I, &b->l3, 0, NULL, H, x->oc1, H, 0);
        be->add(be, x->r1, x->oc1, H);
    }
    const float *nw = e->norm ? be->weights(be, e->norm, H) : NULL, *head = be->weights(be, e->head, V * H);
    if ((e->norm && !nw) || !head) return -1;
    if (nw) be->rmsnorm_eps_out(be, x->r1, 1, H, nw, e->eps, x->nc1);
    else be->copy_cm(be, x->r1, H, x->nc1, H, 1, H);
    if (logits) {
        be->linear_ex(be, x->nc1, 1, H, H, head, 0, NULL, V, x->oc1, V, 0);
        be->download(be, logits, x->oc1, V * sizeof(float));
    }
    return 0;
}

static void *zalloc(hd_backend *be, size_t bytes, const char *what)
{
    void *p = be->alloc(be, bytes, what);
    if (!p) return NULL;
    void *z = calloc(1, bytes);
    if (!z) { be->free(be, p); hd_set_error(HD_EMODEL, "out of memory"); return NULL; }
    be->upload(be, p, z, bytes);
    free(z);
    return p;
}

static hd_decoder *evo2_decoder_new(hd_model *m, hd_backend *be, size_t max_len)
{
    evo2 *e = m->impl;
    edec *x = calloc(1, sizeof *x);
    if (!x) { hd_set_error(HD_EMODEL, "out of memory"); return NULL; }
    x->e = e;
    x->base.be = be;
    x->base.prefill = dec_prefill;
    x->base.step = dec_step;
    x->base.free = dec_free;
    x->cap = max_len;
    size_t NL = (size_t)e->n_layer, H = (size_t)e->H, I = (size_t)e->I, Ks = (size_t)e->Ks, S = (size_t)e->S;
    size_t wide = (size_t)(e->V > e->H ? e->V : e->H), kvb;
    x->ds.state = calloc(NL, sizeof *x->ds.state);
    x->ds.win_s = calloc(NL, sizeof *x->ds.win_s);
    x->ds.win_i = calloc(NL, sizeof *x->ds.win_i);
    x->ds.kc = calloc(NL, sizeof *x->ds.kc);
    x->ds.vc = calloc(NL, sizeof *x->ds.vc);
    if (!x->ds.state || !x->ds.win_s || !x->ds.win_i || !x->ds.kc || !x->ds.vc) { hd_set_error(HD_EMODEL, "out of memory"); goto fail; }
    if (hd_mul(max_len ? max_len : 1, (size_t)e->KVW * sizeof(float), &kvb)) { hd_set_error(HD_EMODEL, "out of memory: %zu tokens", max_len); goto fail; }
    for (size_t k = 0; k < NL; k++) {
        const eblock *b = &e->blk[k];
        if (b->type == BLK_ATTN) {
            if (!(x->ds.kc[k] = be->alloc(be, kvb, "the key cache")) || !(x->ds.vc[k] = be->alloc(be, kvb, "the value cache"))) goto fail;
            continue;
        }
        if (!(x->ds.win_s[k] = zalloc(be, 3 * H * Ks * sizeof(float), "a FIR cache"))) goto fail;
        if (b->type == BLK_HCL) {
            if (!(x->ds.state[k] = zalloc(be, H * S * sizeof(double), "the HCL state"))) goto fail;
        } else if (!(x->ds.win_i[k] = zalloc(be, H * (size_t)b->K * sizeof(float), "a FIR cache"))) goto fail;
    }
    float **p[] = {&x->r1, &x->nc1, &x->x2, &x->x1, &x->v1, &x->y1, &x->q1, &x->o1};
    for (size_t i = 0; i < sizeof p / sizeof *p; i++)
        if (!(*p[i] = be->alloc(be, H * sizeof(float), "a decoding buffer"))) goto fail;
    if (!(x->mc1 = be->alloc(be, 2 * I * sizeof(float), "a decoding buffer")) ||
        !(x->oc1 = be->alloc(be, wide * sizeof(float), "a decoding buffer")))
        goto fail;
    return &x->base;
fail:
    dec_free(&x->base);
    return NULL;
}

int hd_evo2_decoder_hcl_state(hd_decoder *d, int layer, float *out)
{
    hd_model *m = d->m;
    if (m->family != HD_FAM_EVO2 || layer < 0 || layer >= m->n_layer || ((edec *)d)->e->blk[layer].type != BLK_HCL) {
        hd_set_error(HD_EINPUT, "block %d is not an HCL block of an Evo 2 model", layer);
        return -1;
    }
    edec *x = (edec *)d;
    size_t n = (size_t)x->e->H * (size_t)x->e->S;
    double *tmp = malloc(n * sizeof(double));
    if (!tmp) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    d->be->download(d->be, tmp, x->ds.state[layer], n * sizeof(double));
    for (size_t i = 0; i < n; i++) out[i] = (float)tmp[i];
    free(tmp);
    return 0;
}

int hd_evo2_fp8_states(const hd_model *m)
{
    return m->family == HD_FAM_EVO2 && m->impl ? ((const evo2 *)m->impl)->n_fp8 : 0;
}

/* The backend ops the forward pass (evo2_run, hd_evo2_hcl_filter) and the decoder (dec_step) call. */
static const hd_op evo2_needs[] = {
    HD_OP(embed), HD_OP(weights_bf16), HD_OP(linear_ex), HD_OP(rmsnorm_eps_out), HD_OP(causal_conv), HD_OP(mul_cm),
    HD_OP(copy_cm), HD_OP(modal_filter), HD_OP(modal_scan), HD_OP(fftconv), HD_OP(rope_neox), HD_OP(attention),
    HD_OP(shift_left), HD_OP(gated_act), HD_OP(add), HD_OPS_END};

/* GEMM FLOPs of a forward (hd_model_gemm_flops, §6.10): per position and block the input projection (H → 3H:
 * Hyena's proj, attention's Wqkv), the output projection (H → H) and the MLP (l1, l2: H → I; l3: I → H);
 * each attention block adds q·k and the weighted sum of v over the causal triangle, L(L+1)/2 pairs of NH
 * heads of HD; the tied head (H → V) with logits.  The FIRs, the HCL FFT convolution and the softmax are not
 * counted. */
static double evo2_gemm_flops(const hd_model *m, size_t L, int logits)
{
    const evo2 *e = m->impl;
    double H = e->H, I = e->I, n = (double)L, sum = 0;
    for (int k = 0; k < e->n_layer; k++) {
        sum += n * (2 * H * 3 * H + 2 * H * H + 3 * (2 * H * I));
        if (e->blk[k].type == BLK_ATTN) sum += 2 * (2.0 * e->NH * e->HD) * (n * (n + 1) / 2);
    }
    return sum + (logits ? n * 2 * H * e->V : 0);
}

const hd_family_ops hd_evo2_ops = {
    .name = "evo2", .load = evo2_load, .free = evo2_free, .forward = evo2_forward, .decoder_new = evo2_decoder_new,
    .tap = evo2_tap, .needs = evo2_needs, .gemm_flops = evo2_gemm_flops};
