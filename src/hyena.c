/* hyena.c -- the HyenaDNA forward pass (docs/models.md §3.4).
 *
 *   r = E_tok[ids]
 *   per block:  r += HyenaMixer(LN1(r));  r += MLP(LN2(r))
 *   hidden = LN_f(r);  logits = hidden · W_headᵀ
 *
 * Memory is bounded by design: position-wise work (norms, projections, short filter, MLP) runs in
 * chunks of hd_backend.chunk positions; the long convolution runs channel by channel on channel-major
 * buffers x, g.  Besides the weights a forward of order O holds r [L, D], the gates x_0..x_{O−2} [(O−1)·D, L]
 * and g [D, L], when the filter's spectra are not cached the filter MLP's activations [L, H] and one group of
 * one order step's filter [G, L] (on a GPU that step's whole filter [D, L]: filter_group), and chunk-sized
 * scratch. */
#include "hyena.h"
#include "backend.h"
#include "model.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    /* O = order; K = (O − 1)·D: the long filters of the O − 1 order steps, step s in rows s·D..(s+1)·D−1 */
    const float *in_proj_w, *in_proj_b;          /* [(O+1)D, D], [(O+1)D] */
    const float *short_filter_w, *short_filter_b;/* [(O+1)D, 1, 3], [(O+1)D] */
    const float *out_proj_w, *out_proj_b;        /* [D, D], [D] */
    const float *filter_bias;                    /* [K]  (Dbias, the skip term) */
    const float *z, *t;                          /* [Lmax, E], [Lmax] */
    const float *freq;                           /* [H] shared by every Sin */
    const float *mlp_w[8], *mlp_b[8];            /* filter MLP linears: E→H, (H→H)×inner, H→K (no bias) */
    const float *deltas;                         /* [K] */
    const float *norm1_w, *norm1_b, *norm2_w, *norm2_b;
    const float *fc1_w, *fc1_b, *fc2_w, *fc2_b;  /* [F, D], [F], [D, F], [D] */
} hyena_block;

typedef struct {
    int D, F, E, H, n_inner, rows;
    int order;                 /* O: the Hyena recurrence's depth, O − 1 long convolutions (§3.4.4) */
    long Lmax;
    float eps, shift;
    int modulate;              /* 0: the filter is the MLP's output as it is (config modulate: false) */
    float *freq_fixed;         /* [H] activation_freq, for train_freq: false (no freq tensor stored) */
    const float *wte;          /* [rows, D] */
    const float *head;         /* [rows, D] */
    const float *ln_f_w, *ln_f_b;
    hyena_block *blk;
    float *tab0;               /* [(O+1)D, rows]: block 0's in_proj output for each token (hyena_tab0) */
} hyena;

/* ---------------------------------------------------------------- loading */

/* Block 0's mixer input depends on the token alone (docs/models.md §3.4.4): its in_proj output
 *   tab0[c, v] = b_in[c] + Σ_k W_in[c, k]·LN1(E_tok[v])[k]
 * for each of the `rows` tokens, computed once in double and rounded: every forward and decoding step reads
 * block 0's in_proj output from it (a gather on the CPU and a column copy per decoding step, a one-hot product in
 * the forward elsewhere) instead of a LayerNorm and a D → (O+1)·D projection per position. */
static int hyena_tab0(hyena *h)
{
    size_t D = (size_t)h->D, V = (size_t)h->rows, C3 = ((size_t)h->order + 1) * D;
    const hyena_block *b = &h->blk[0];
    double *ln = malloc(D * sizeof *ln);
    if (!ln || !(h->tab0 = malloc(C3 * V * sizeof *h->tab0))) {
        free(ln);
        hd_set_error(HD_EMODEL, "out of memory");
        return -1;
    }
    for (size_t v = 0; v < V; v++) {
        const float *e = h->wte + v * D;
        double mu = 0, var = 0;
        for (size_t k = 0; k < D; k++) mu += e[k];
        mu /= (double)D;
        for (size_t k = 0; k < D; k++) var += (e[k] - mu) * (e[k] - mu);
        double rs = 1.0 / sqrt(var / (double)D + (double)h->eps);
        for (size_t k = 0; k < D; k++) ln[k] = (e[k] - mu) * rs * b->norm1_w[k] + b->norm1_b[k];
        for (size_t c = 0; c < C3; c++) {
            const float *w = b->in_proj_w + c * D;
            double acc = b->in_proj_b[c];
            for (size_t k = 0; k < D; k++) acc += w[k] * ln[k];
            h->tab0[c * V + v] = (float)acc;
        }
    }
    free(ln);
    return 0;
}

static int hyena_load(hd_model *m)
{
    long D, N, F, Lmax, E, H, order, inner, vocab, mult;
    double eps, shift;
    if (hd_cfg_int(m, "d_model", 0, 1, 1, 65536, &D) || hd_cfg_int(m, "n_layer", 0, 1, 1, 4096, &N) ||
        hd_cfg_int(m, "d_inner", 4 * D, 0, 1, 1 << 20, &F) || hd_cfg_int(m, "max_seq_len", 0, 1, 1, 1L << 31, &Lmax) ||
        hd_cfg_int(m, "emb_dim", 5, 0, 3, 1 << 16, &E) || hd_cfg_int(m, "filter_order", 64, 0, 1, 1 << 16, &H) ||
        hd_cfg_int(m, "hyena_order", 2, 0, 2, 16, &order) || hd_cfg_int(m, "num_inner_mlps", 2, 0, 0, 6, &inner) ||
        hd_cfg_int(m, "vocab_size", 12, 0, 12, 1 << 20, &vocab) ||
        hd_cfg_int(m, "pad_vocab_size_multiple", 8, 0, 1, 1 << 16, &mult) ||
        hd_cfg_num_in(m, "layer_norm_epsilon", 1e-5, 0, 1, &eps) || hd_cfg_num(m, "modulation_shift", 0.05, &shift))
        return -1;
    hyena *h = calloc(1, sizeof *h);
    if (!h) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    m->impl = h;
    h->D = (int)D, h->F = (int)F, h->E = (int)E, h->H = (int)H, h->n_inner = (int)inner, h->order = (int)order;
    long C = (order + 1) * D, K = (order - 1) * D;   /* in_proj outputs; long-filter channels (§3.4.4) */
    h->Lmax = Lmax;
    h->eps = (float)eps;
    h->shift = (float)shift;
    /* the reference's ExponentialModulation with modulate False passes the filter through unchanged (docs/models.md §3.1, §3.4.5) */
    h->modulate = hd_cfg_bool(m, "modulate", 1);
    h->rows = (int)((vocab + mult - 1) / mult * mult);
    m->d_model = (int)D;
    m->n_layer = (int)N;
    m->max_len = Lmax;
    m->vocab_size = (int)vocab;
    m->n_logits = h->rows;
    m->d_hidden = (int)D;
    m->causal = 1;
    snprintf(m->variant, sizeof m->variant, "order %ld, %ld layers", order, N);

    if (!(h->wte = hd_model_f32(m, 1, HD_SHAPE(h->rows, D), "embeddings.word_embeddings.weight"))) return -1;
    if (!(h->ln_f_w = hd_model_f32(m, 1, HD_SHAPE(D), "ln_f.weight")) ||
        !(h->ln_f_b = hd_model_f32(m, 1, HD_SHAPE(D), "ln_f.bias")))
        return -1;
    if (hd_model_tensor(m, "lm_head.weight")) {
        if (!(h->head = hd_model_f32(m, 1, HD_SHAPE(h->rows, D), "lm_head.weight"))) return -1;
    } else {
        h->head = h->wte;
        hd_model_note(m, "lm_head.weight: absent, tied to embeddings.word_embeddings.weight");
    }

    h->blk = calloc((size_t)N, sizeof *h->blk);
    if (!h->blk) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    int shared_freq_noted = 0;
    for (int i = 0; i < N; i++) {
        hyena_block *b = &h->blk[i];
#define P(field, kind, name, ...) \
        if (!(b->field = hd_model_f32(m, kind, HD_SHAPE(__VA_ARGS__), "layers.%d." name, i))) return -1
        P(in_proj_w, 1, "mixer.in_proj.weight", C, D);
        P(in_proj_b, 1, "mixer.in_proj.bias", C);
        P(short_filter_w, 1, "mixer.short_filter.weight", C, 1, 3);
        P(short_filter_b, 1, "mixer.short_filter.bias", C);
        P(out_proj_w, 1, "mixer.out_proj.weight", D, D);
        P(out_proj_b, 1, "mixer.out_proj.bias", D);
        P(filter_bias, 1, "mixer.filter_fn.bias", K);
        P(z, 2, "mixer.filter_fn.pos_emb.z", 1, Lmax, E);
        P(t, 2, "mixer.filter_fn.pos_emb.t", 1, Lmax, 1);
        P(deltas, 2, "mixer.filter_fn.modulation.deltas", 1, 1, K);
        P(norm1_w, 1, "norm1.weight", D);
        P(norm1_b, 1, "norm1.bias", D);
        P(norm2_w, 1, "norm2.weight", D);
        P(norm2_b, 1, "norm2.bias", D);
        P(fc1_w, 1, "mlp.fc1.weight", F, D);
        P(fc1_b, 1, "mlp.fc1.bias", F);
        P(fc2_w, 1, "mlp.fc2.weight", D, F);
        P(fc2_b, 1, "mlp.fc2.bias", D);
        /* filter MLP: Linear at even indices 0, 2, …, 2·(inner+1); one shared Sin module at the odd ones,
         * of which the checkpoint may keep any one name (docs/models.md §3.3.1) */
        int nlin = (int)inner + 2;
        for (int j = 0; j < nlin; j++) {
            long in = j == 0 ? E : H, out = j == nlin - 1 ? K : H;
            if (!(b->mlp_w[j] = hd_model_f32(m, 1, HD_SHAPE(out, in), "layers.%d.mixer.filter_fn.implicit_filter.%d.weight", i, 2 * j)))
                return -1;
            if (j < nlin - 1 &&
                !(b->mlp_b[j] = hd_model_f32(m, 1, HD_SHAPE(out), "layers.%d.mixer.filter_fn.implicit_filter.%d.bias", i, 2 * j)))
                return -1;
        }
        int nfreq = 0;
        for (int j = 1; j < 2 * nlin - 1; j += 2) {
            char nm[160];
            snprintf(nm, sizeof nm, "layers.%d.mixer.filter_fn.implicit_filter.%d.freq", i, j);
            if (!hd_model_tensor(m, nm)) continue;
            if (!nfreq) {
                if (!(b->freq = hd_model_f32(m, 1, HD_SHAPE(1, H), "%s", nm))) return -1;
            } else {
                const float *dup = hd_model_f32(m, 3, HD_SHAPE(1, H), "%s", nm);
                if (!dup) return -1;
            }
            nfreq++;
        }
        if (!nfreq && !hd_cfg_bool(m, "train_freq", 1)) {
            /* train_freq false: the Sin frequency is a plain tensor, w · ones, never saved (§3.1) */
            if (!h->freq_fixed) {
                double w;
                if (hd_cfg_num(m, "activation_freq", 1.0, &w)) return -1;
                if (!(h->freq_fixed = malloc((size_t)H * sizeof(float)))) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
                for (long j = 0; j < H; j++) h->freq_fixed[j] = (float)w;
                hd_model_note(m, "implicit_filter freq: not trained (train_freq false), %g for every Sin", w);
            }
            b->freq = h->freq_fixed;
            shared_freq_noted = 1;
        } else if (!nfreq) {
            hd_set_error(HD_EMODEL, "%s: tensor 'layers.%d.mixer.filter_fn.implicit_filter.1.freq' is missing (also looked for .3.freq, .5.freq)",
                         m->weights_path, i);
            return -1;
        }
        if (!shared_freq_noted) {
            hd_model_note(m, "implicit_filter.{1,3,5}.freq: one shared Sin frequency per layer (%d of %d names stored)",
                          nfreq, nlin - 1);
            shared_freq_noted = 1;
        }
#undef P
    }
    return hyena_tab0(h);
}

static void hyena_free(hd_model *m)
{
    hyena *h = m->impl;
    if (!h) return;
    free(h->blk);
    free(h->tab0);
    free(h->freq_fixed);
    free(h);
    m->impl = NULL;
}

void hd_hyena_set_shift(hd_model *m, float shift)
{
    hyena *h = m->impl;
    if (m->family != HD_FAM_HYENA || !h) return;
    if (h->shift != shift) m->uid = hd_new_uid();   /* cached spectra of the old shift no longer apply */
    h->shift = shift;
}

/* Block b's weights as backend memory (device copies on a GPU, uploaded once and cached by the backend;
 * the CPU returns the host pointers themselves).  Every weight an op reads goes through here. */
static int block_weights(hd_backend *be, const hyena *h, const hyena_block *b, hyena_block *w)
{
    size_t D = (size_t)h->D, F = (size_t)h->F, E = (size_t)h->E, H = (size_t)h->H, Lm = (size_t)h->Lmax;
    size_t C = ((size_t)h->order + 1) * D, K = ((size_t)h->order - 1) * D;
    int nlin = h->n_inner + 2;
    *w = *b;
#define W(field, n) if (b->field && !(w->field = be->weights(be, b->field, (n)))) return -1
    W(in_proj_w, C * D); W(in_proj_b, C);
    W(short_filter_w, C * 3); W(short_filter_b, C);
    W(out_proj_w, D * D); W(out_proj_b, D);
    W(filter_bias, K); W(z, Lm * E); W(t, Lm); W(freq, H); W(deltas, K);
    W(norm1_w, D); W(norm1_b, D); W(norm2_w, D); W(norm2_b, D);
    W(fc1_w, F * D); W(fc1_b, F); W(fc2_w, D * F); W(fc2_b, D);
    for (int j = 0; j < nlin; j++) {
        W(mlp_w[j], (j == nlin - 1 ? K : H) * (j == 0 ? E : H));
        W(mlp_b[j], H);
    }
#undef W
    return 0;
}

/* ---------------------------------------------------------------- implicit filter (§3.4.5) */

/* The implicit filter's MLP up to its last Sin for positions p0..p0+n−1, into y [n, H] (tmp: [n, H] scratch):
 *   a = sin(φ ⊙ (z·W0ᵀ + b0)); a = sin(φ ⊙ (a·Wᵀ + b)) per inner layer */
static void filter_mlp(hd_backend *be, const hyena *h, const hyena_block *b, size_t p0, size_t n, float *y, float *tmp)
{
    size_t H = (size_t)h->H;
    /* start where the swaps end in y */
    float *x = h->n_inner % 2 ? tmp : y, *o = h->n_inner % 2 ? y : tmp;
    be->linear(be, b->z + p0 * h->E, n, (size_t)h->E, (size_t)h->E, b->mlp_w[0], b->mlp_b[0], H, x, H);
    be->sin_freq(be, x, n, H, b->freq);
    for (int j = 1; j <= h->n_inner; j++) {
        be->linear(be, x, n, H, H, b->mlp_w[j], b->mlp_b[j], H, o, H);
        be->sin_freq(be, o, n, H, b->freq);
        float *t = x; x = o; o = t;
    }
}

/* Channels c0..c0+C−1 of the filter at positions p0..p0+n−1 from the MLP's activations a [n, H], into
 * k [C, ·] (row stride ldk) from column p0: k[c, i] = (a·W_lastᵀ)[i, c] (the modulation follows) */
static void filter_out(hd_backend *be, const hyena *h, const hyena_block *b, const float *a, size_t p0, size_t n,
                       size_t c0, size_t C, float *k, size_t ldk)
{
    size_t H = (size_t)h->H;
    be->linear_cm_out(be, a, n, H, H, b->mlp_w[h->n_inner + 1] + c0 * H, NULL, C, k + p0, ldk);
}

/* Filter channels c0..c0+C−1 as k [C, T] channel-major (row stride ldk) for positions 0..T−1 (§3.4.5):
 *   h = a·W_lastᵀ;  k[c, i] = h[i, c0 + c] · (exp(−t_i·|δ_{c0+c}|) + shift)
 * (channel s·D + c is channel c of order step s's filter) */
static int hyena_filter_cm(hd_backend *be, const hyena *h, const hyena_block *b, size_t c0, size_t C, size_t T,
                           float *k, size_t ldk)
{
    size_t H = (size_t)h->H, step = be->chunk * 4;
    float *a0 = be->alloc(be, step * H * sizeof(float), "filter MLP activations");
    float *a1 = be->alloc(be, step * H * sizeof(float), "filter MLP activations");
    if (!a0 || !a1) { be->free(be, a0); be->free(be, a1); return -1; }
    for (size_t p0 = 0; p0 < T; p0 += step) {
        size_t n = T - p0 < step ? T - p0 : step;
        filter_mlp(be, h, b, p0, n, a0, a1);
        filter_out(be, h, b, a0, p0, n, c0, C, k, ldk);
    }
    if (h->modulate) be->modulate_cm(be, k, C, T, ldk, b->t, b->deltas + c0, h->shift);
    be->free(be, a0);
    be->free(be, a1);
    return 0;
}

/* The same in groups of C channels: the MLP's activations for every position first (a [T, H]), then per group
 * its rows of the filter (filter_rows) — a [T, H] and one group [C, T] instead of all of k [D, T] */
static int hyena_filter_hidden(hd_backend *be, const hyena *h, const hyena_block *b, size_t T, float *a)
{
    size_t H = (size_t)h->H, step = be->chunk * 4;
    float *tmp = be->alloc(be, step * H * sizeof(float), "filter MLP activations");
    if (!tmp) return -1;
    for (size_t p0 = 0; p0 < T; p0 += step) filter_mlp(be, h, b, p0, T - p0 < step ? T - p0 : step, a + p0 * H, tmp);
    be->free(be, tmp);
    return 0;
}

static void filter_rows(hd_backend *be, const hyena *h, const hyena_block *b, const float *a, size_t T, size_t c0,
                        size_t C, float *k, size_t ldk)
{
    size_t H = (size_t)h->H, step = be->chunk * 4;
    for (size_t p0 = 0; p0 < T; p0 += step)
        filter_out(be, h, b, a + p0 * H, p0, T - p0 < step ? T - p0 : step, c0, C, k, ldk);
    if (h->modulate) be->modulate_cm(be, k, C, T, ldk, b->t, b->deltas + c0, h->shift);
}

int hd_hyena_filter(hd_model *m, hd_backend *be, int layer, size_t L, float *out)
{
    hyena *h = m->impl;
    if (m->family != HD_FAM_HYENA || layer < 0 || layer >= m->n_layer || L > (size_t)h->Lmax) {
        hd_set_error(HD_EINPUT, "no filter for layer %d at length %zu", layer, L);
        return -1;
    }
    size_t K = ((size_t)h->order - 1) * (size_t)h->D;
    hyena_block wb;
    if (block_weights(be, h, &h->blk[layer], &wb)) return -1;
    float *k = be->alloc(be, K * (L ? L : 1) * sizeof(float), "long filter");
    float *kh = k ? hd_alloc(K * (L ? L : 1) * sizeof(float), "long filter (host copy)") : NULL;
    if (!k || !kh) { be->free(be, k); free(kh); return -1; }   /* the allocators name the request's size */
    int rc = hyena_filter_cm(be, h, &wb, 0, K, L, k, L);
    if (!rc) {
        be->download(be, kh, k, K * L * sizeof(float));
        for (size_t c = 0; c < K; c++)
            for (size_t i = 0; i < L; i++) out[i * K + c] = kh[c * L + i];
    }
    be->free(be, k);
    free(kh);
    /* a GPU's ops are void and queued: their failure (download then gives NaN) surfaces only here, as in
     * hd_model_forward and hd_evo2_hcl_filter */
    return rc ? rc : hd_backend_check(be);
}

/* ---------------------------------------------------------------- forward */

typedef struct {
    size_t L, Lc, D, F, cs;   /* Lc ≥ L: length of the long convolution (more for a decoder's prefill) */
    float *r;          /* [L, D] residual stream */
    float *x;          /* [(O−1)·D, Lc] the gates x_0 (output gate) .. x_{O−2}, channel-major */
    float *g;          /* [D, Lc] v ⊙ x_{O−1}, then through the order steps (§3.4.4) */
    float *k;          /* [D, Lc] one order step's long filter, when its spectra are not cached ([G, Lc]: one
                        * group, filter_group) */
    float *fa;         /* [Lc, H] the filter MLP's activations (filter_group) */
    int fa_layer;      /* 1 + the block whose activations fa holds, 0: none */
    float *hc;         /* [cs+2, D] normed chunk */
    float *pc;         /* [(O+1)·D, cs+2] in_proj output, channel-major */
    float *x1c;        /* [D, cs] the first order step's gate x_{O−1} */
    float *mc;         /* [cs, F] MLP hidden */
    float *oc;         /* [cs, max(D, rows)] chunk output */
    float *oh, *ohh;   /* [cs+2, rows] one-hot tokens of a chunk (block 0 without hyena_in_tab); ohh: host copy */
} hyena_buf;

static void buf_free(hd_backend *be, hyena_buf *B)
{
    float **p[] = {&B->r, &B->x, &B->g, &B->k, &B->fa, &B->hc, &B->pc, &B->x1c, &B->mc, &B->oc, &B->oh};
    for (size_t i = 0; i < sizeof p / sizeof *p; i++) { be->free(be, *p[i]); *p[i] = NULL; }
    hd_free(B->ohh);
    B->ohh = NULL;
}

/* one-hot rows of n tokens over V (host memory) */
static void one_hot(const int32_t *ids, size_t n, size_t V, float *x)
{
    memset(x, 0, n * V * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i * V + (size_t)ids[i]] = 1.0f;
}

/* The fused input steps (hyena_in, hyena_in_tab) split 3·D channels: order 2 only; other orders run the plain ops */
static int fused_in(const hd_backend *be, const hyena *h, int tab)
{
    return h->order == 2 && (tab ? be->hyena_in_tab != NULL : be->hyena_in != NULL);
}

/* plain_in: the chunk buffers of the plain mixer input even where the backend has hyena_in (a decoder's prefill) */
static int buf_alloc(hd_backend *be, const hyena *h, size_t L, size_t Lc, int plain_in, hyena_buf *B)
{
    memset(B, 0, sizeof *B);
    size_t D = (size_t)h->D, F = (size_t)h->F, cs = L < be->chunk ? L : be->chunk, LD, LcX, O = (size_t)h->order;
    size_t wide = (size_t)(h->rows > h->D ? h->rows : h->D), V = (size_t)h->rows;
    /* some block's input through the plain ops */
    int plain = plain_in || !fused_in(be, h, 0) || !fused_in(be, h, 1);
    B->L = L, B->Lc = Lc, B->D = D, B->F = F, B->cs = cs;
    if (hd_mul(L, D * sizeof(float), &LD) || hd_mul(Lc, (O - 1) * D * sizeof(float), &LcX)) {
        hd_set_error(HD_EMODEL, "out of memory: sequence too long");
        return -1;
    }
    if (!(B->r = be->alloc(be, LD, "the residual stream")) || !(B->x = be->alloc(be, LcX, "the Hyena gates")) ||
        !(B->g = be->alloc(be, LcX / (O - 1), "the long-convolution input")) ||
        !(B->hc = be->alloc(be, (cs + 2) * D * sizeof(float), "a chunk")) ||
        (plain && !(B->pc = be->alloc(be, (O + 1) * D * (cs + 2) * sizeof(float), "a chunk"))) ||
        (plain && !(B->x1c = be->alloc(be, D * cs * sizeof(float), "a chunk"))) ||
        (!fused_in(be, h, 1) && (!(B->oh = be->alloc(be, (cs + 2) * V * sizeof(float), "a chunk")) ||
                                             !(B->ohh = hd_alloc((cs + 2) * V * sizeof(float), "a chunk")))) ||
        (!be->mlp_residual && !(B->mc = be->alloc(be, cs * F * sizeof(float), "a chunk"))) ||
        !(B->oc = be->alloc(be, cs * wide * sizeof(float), "a chunk"))) {
        buf_free(be, B);
        return -1;
    }
    return 0;
}

/* What a decoder's prefill keeps of one block for the steps; column j is the new position P + j of a
 * prompt of P tokens, for N new positions (docs/models.md §3.4.4; cost in hyena_decoder_new).  g, y and k hold
 * one block of D rows per order step s = 0..O−2 (rows s·D..). */
typedef struct {
    float *pc;   /* [(O+1)D, 2 + N] in_proj outputs: positions P−2 and P−1 (the short filter's history), then the
                  * new ones */
    float *g;    /* [(O−1)D, N] each order step's long-convolution input at the new positions */
    float *y;    /* [(O−1)D, N] each step's long-convolution output: the prompt's share (from the prefill),
                  * completed step by step */
    float *k;    /* [(O−1)D, N] each step's long filter, taps 0..N−1 */
    const float *zero;   /* [N] zeros, host memory */
} hyena_cache;

/* Spectra of order step s's filter of block b for FFT size N, cached by the backend across calls when every
 * block's fit the cache budget (the filter depends only on the weights: docs/models.md §3.4.5, prefix property). */
static const hd_spectra *block_spectra(hd_model *m, hd_backend *be, int layer, size_t s, const hyena_block *b,
                                       size_t N)
{
    hyena *h = m->impl;
    size_t D = (size_t)h->D, steps = (size_t)h->order - 1;
    int key = layer * (int)steps + (int)s;   /* one entry per (layer, order step) */
    const hd_spectra *cached = hd_backend_cache_get(be, m->uid, key, N);
    if (cached) return cached;
    size_t bytes = be->spectra_bytes(be, D, N);
    if (bytes * (size_t)m->n_layer * steps > HD_SPECTRA_CACHE_BUDGET) return NULL;
    /* the spectra hold (N+1)/2 taps, enough for every L with fft_size(L) == N */
    size_t taps = (N + 1) / 2;
    if (taps > (size_t)h->Lmax) taps = (size_t)h->Lmax;
    float *k = be->alloc(be, D * taps * sizeof(float), "long filter");
    if (!k) { hd_clear_error(); return NULL; }
    hd_spectra *sp = NULL;
    if (!hyena_filter_cm(be, h, b, s * D, D, taps, k, taps)) sp = be->spectra_new(be, k, D, taps, taps, N);
    be->free(be, k);
    if (!sp) { hd_clear_error(); return NULL; }
    hd_backend_cache_put(be, m->uid, key, N, sp, bytes);
    return sp;
}

/* Rows from m0 to the end of its chunk of cs positions (chunks from position 0, as the full forward's) or to L */
static size_t chunk_rows(size_t m0, size_t L, size_t cs)
{
    size_t e = (m0 / cs + 1) * cs;
    return (e < L ? e : L) - m0;
}

/* The first row to compute when the outputs are needed from row `from` on: every position-wise op then starts
 * where a full forward's call starts a block of positions, so that the rows from there on get exactly its
 * values: at a multiple of the backend's row_align (the fused steps' blocks count from row 0) that is also one
 * from the start of its chunk of cs positions (the plain ops' calls); without row_align, at a chunk start, and
 * only when there are no fused steps. */
static size_t first_row(const hd_backend *be, size_t from, size_t L, size_t cs)
{
    size_t a = be->row_align;
    if (from > L - 1) from = L - 1;
    if (!a) return be->hyena_in || be->hyena_out || be->mlp_residual ? 0 : from / cs * cs;
    size_t p = from / a * a;
    while (p % cs % a) p -= a;   /* ends at 0 at the latest */
    return p;
}

/* Channels per group when a forward makes the long filter itself (its spectra not cached): on the CPU 8 per
 * thread and at least 64 (each group's projection packs the activations anew: fewer than 64 rows and that
 * packing shows), so that the filter MLP's activations [L, H] and one group [G, L] replace the whole filter
 * [D, L] (large-1m at 10^6 tokens: 512 MB instead of 1 GB); D (one group) where that saves nothing, and on a
 * GPU, whose fftconv batches every channel at once. */
static size_t filter_group(const hd_backend *be, const hyena *h)
{
    size_t D = (size_t)h->D, T = be->nthreads > 0 ? (size_t)be->nthreads : 1, G = 8 * T < 64 ? 64 : 8 * T;
    return be->host_memory && G + (size_t)h->H < D ? G : D;
}

/* Order step s's long convolution in place on B->g [D, Lc] (§3.4.4 step 5, §3.4.6): g ← k_s ∗ g + Dbias_s ⊙ g,
 * with k_s the filter's channels s·D..(s+1)·D−1 */
static int long_conv(hd_model *m, hd_backend *be, int layer, size_t s, const hyena_block *b, hyena_buf *B)
{
    hyena *h = m->impl;
    size_t Lc = B->Lc, D = B->D, N = be->fft_size(be, Lc);
    const float *dbias = b->filter_bias + s * D;
    const hd_spectra *spec = block_spectra(m, be, layer, s, b, N);
    size_t G = spec ? D : filter_group(be, h);
    if (G < D) {   /* the filter group by group, each convolved as soon as it is made */
        if ((!B->fa && !(B->fa = be->alloc(be, Lc * (size_t)h->H * sizeof(float), "the filter MLP's activations"))) ||
            (!B->k && !(B->k = be->alloc(be, G * Lc * sizeof(float), "the long filter"))))
            return -1;
        if (B->fa_layer != layer + 1) {   /* the MLP's activations, made once for every order step of the block */
            if (hyena_filter_hidden(be, h, b, Lc, B->fa)) return -1;
            B->fa_layer = layer + 1;
        }
        for (size_t c0 = 0; c0 < D; c0 += G) {
            size_t C = D - c0 < G ? D - c0 : G;
            filter_rows(be, h, b, B->fa, Lc, s * D + c0, C, B->k, Lc);
            if (be->fftconv(be, B->g + c0 * Lc, C, Lc, Lc, NULL, B->k, Lc, Lc, dbias + c0)) return -1;
        }
        return 0;
    }
    if (!spec) {
        if (!B->k && !(B->k = be->alloc(be, D * Lc * sizeof(float), "the long filter"))) return -1;
        if (hyena_filter_cm(be, h, b, s * D, D, Lc, B->k, Lc)) return -1;
    }
    return be->fftconv(be, B->g, D, Lc, Lc, spec, B->k, Lc, Lc, dbias);
}

/* r += HyenaMixer(LN1(r)) (§3.4.4).  With a cache (a decoder's prefill), every long convolution runs over
 * B->Lc > L positions with its input zero beyond L, which leaves at positions L.. the prompt's share of their
 * convolution outputs: the cache keeps them, with the short filter's history.  The mixer's output is added to
 * the rows of r from p0 on only (p0 > 0: the others' outputs are not needed; see hyena_forward). */
static int hyena_mixer(hd_model *m, hd_backend *be, int layer, const hyena_block *b, hyena_buf *B, hyena_cache *cache,
                       const int32_t *ids, size_t p0)
{
    hyena *h = m->impl;
    size_t L = B->L, Lc = B->Lc, D = B->D, cs = B->cs, ld = 0, V = (size_t)h->rows, O = (size_t)h->order;
    size_t C = (O + 1) * D, X = (O - 1) * D, N = Lc - L;   /* in_proj outputs; rows of x_0..x_{O−2} */
    const float *w = b->short_filter_w, *bs = b->short_filter_b, *tab = NULL;
    /* 1–3. LN1, in_proj (block 0: from the table of its outputs per token, ids given), short causal filter
     * (2-position halo), split into x_0 | … | x_{O−1} | v; g = v ⊙ x_{O−1} (fused on a backend with hyena_in /
     * hyena_in_tab at order 2; hyena_in not for a decoder's prefill, whose cache keeps the in_proj output of the
     * last two positions: with the table, those are their tokens' columns) */
    int fused_tab = 0;
    if (ids && !(tab = be->weights(be, h->tab0, C * V))) return -1;
    if (tab && fused_in(be, h, 1)) {
        fused_tab = 1;
        if (be->hyena_in_tab(be, ids, L, tab, V, D, w, 3, bs, B->x, B->g, Lc)) return -1;
    } else if (!tab && fused_in(be, h, 0) && !cache) {
        if (be->hyena_in(be, B->r, L, D, b->norm1_w, b->norm1_b, h->eps, b->in_proj_w, b->in_proj_b, w, 3, bs, B->x,
                         B->g, Lc))
            return -1;
    } else
        for (size_t m0 = 0; m0 < L; m0 += cs) {
            size_t n = L - m0 < cs ? L - m0 : cs, hs = m0 < 2 ? m0 : 2;
            ld = n + hs;
            if (tab) {   /* the table's rows as a product with one-hot rows: the table's values in fp32 (a reduced
                          * precision rounds the table as it rounds any weight) */
                one_hot(ids + m0 - hs, ld, V, B->ohh);
                be->upload(be, B->oh, B->ohh, ld * V * sizeof(float));
                be->linear_cm_out(be, B->oh, ld, V, V, tab, NULL, C, B->pc, ld);
            } else {
                be->layernorm(be, B->r + (m0 - hs) * D, ld, D, b->norm1_w, b->norm1_b, h->eps, B->hc);
                be->linear_cm_out(be, B->hc, ld, D, D, b->in_proj_w, b->in_proj_b, C, B->pc, ld);
            }
            be->causal_conv(be, B->pc, X, n, ld, hs, w, 3, bs, B->x + m0, Lc);                       /* x_0..x_{O−2} */
            be->causal_conv(be, B->pc + X * ld, D, n, ld, hs, w + 3 * X, 3, bs + X, B->x1c, n);        /* x_{O−1} */
            be->causal_conv(be, B->pc + (X + D) * ld, D, n, ld, hs, w + 3 * (X + D), 3, bs + X + D, B->g + m0, Lc);
            be->mul_cm(be, B->g + m0, Lc, B->x1c, n, B->g + m0, Lc, D, n);                              /* v ⊙ x_{O−1} */
        }
    if (cache) {
        size_t h2 = L < 2 ? L : 2;   /* the last chunk's pc ends with positions L−2, L−1 */
        if (fused_tab)
            for (size_t k = 0; k < h2; k++)
                be->copy_cm(be, tab + ids[L - h2 + k], V, cache->pc + 2 - h2 + k, 2 + N, C, 1);
        else
            be->copy_cm(be, B->pc + ld - h2, ld, cache->pc + 2 - h2, 2 + N, C, h2);
    }
    /* 4–5. the order steps s = 0..O−2: g ← k_s ∗ g + Dbias_s ⊙ g, each after the first gated by x_{O−1−s}
     * (with a cache, g is 0 beyond L and what the step leaves there, the prompt's share, is kept) */
    for (size_t s = 0; s + 1 < O; s++) {
        if (s) be->mul_cm(be, B->g, Lc, B->x + (O - 1 - s) * D * Lc, Lc, B->g, Lc, D, L);
        for (size_t c = 0; N && c < D; c++) be->upload(be, B->g + c * Lc + L, cache->zero, N * sizeof(float));
        if (long_conv(m, be, layer, s, b, B)) return -1;
        if (N) be->copy_cm(be, B->g + L, Lc, cache->y + s * D * N, N, D, N);
    }
    /* 6. out = (y ⊙ x0)·W_outᵀ + b_out;  r += out (rows p0..) */
    if (be->hyena_out)
        return be->hyena_out(be, B->g + p0, B->x + p0, Lc, L - p0, D, b->out_proj_w, b->out_proj_b, B->r + p0 * D);
    be->mul_cm(be, B->g + p0, Lc, B->x + p0, Lc, B->x + p0, Lc, D, L - p0);
    for (size_t m0 = p0, n; m0 < L; m0 += n) {
        n = chunk_rows(m0, L, cs);
        be->linear_cm_in(be, B->x + m0, n, D, Lc, b->out_proj_w, b->out_proj_b, D, B->oc, D);
        be->add(be, B->r + m0 * D, B->oc, n * D);
    }
    return 0;
}

/* r += fc2(gelu_tanh(fc1(LN2(r)))) (§3.4.3) on rows p0.. of r */
static int hyena_mlp(hd_backend *be, const hyena_block *b, float eps, hyena_buf *B, size_t p0)
{
    size_t L = B->L, D = B->D, F = B->F, cs = B->cs;
    if (be->mlp_residual)
        return be->mlp_residual(be, B->r + p0 * D, L - p0, D, b->norm2_w, b->norm2_b, eps, b->fc1_w, b->fc1_b, F,
                                b->fc2_w, b->fc2_b);
    for (size_t m0 = p0, n; m0 < L; m0 += n) {
        n = chunk_rows(m0, L, cs);
        be->layernorm(be, B->r + m0 * D, n, D, b->norm2_w, b->norm2_b, eps, B->hc);
        be->linear(be, B->hc, n, D, D, b->fc1_w, b->fc1_b, F, B->mc, F);
        be->gelu_tanh(be, B->mc, n * F);
        be->linear(be, B->mc, n, F, F, b->fc2_w, b->fc2_b, D, B->oc, D);
        be->add(be, B->r + m0 * D, B->oc, n * D);
    }
    return 0;
}

static int hyena_forward(hd_model *m, hd_backend *be, const int32_t *ids, size_t L, hd_fwd *f)
{
    hyena *h = m->impl;
    if (L == 0) return 0;
    hyena_buf B;
    if (buf_alloc(be, h, L, L, 0, &B)) return -1;
    size_t D = B.D, cs = B.cs, rows = (size_t)h->rows;
    int rc = -1, is_host = be->host_memory;
    float *host = NULL;

    /* embedding (§3.4.1) */
    const float *wte = be->weights(be, h->wte, rows * D);
    if (!wte) goto out;
    be->embed(be, ids, L, wte, D, B.r);

    if (!is_host && f->on_block && !(host = hd_alloc(L * D * sizeof(float), "a copy of the residual stream"))) goto out;
    int last = f->layer >= 0 && !f->logits ? f->layer : m->n_layer - 1;
    /* Outputs needed from row f->from on: after the last block's long convolution everything is position-wise
     * (out_proj, residual, MLP, final norm, head), so that block runs those steps on rows p0.. only */
    size_t p0 = f->from && f->layer < 0 && !f->on_block ? first_row(be, f->from, L, cs) : 0;
    for (int i = 0; i <= last; i++) {
        hyena_block wb;
        size_t from = i == m->n_layer - 1 ? p0 : 0;
        if (block_weights(be, h, &h->blk[i], &wb) || hyena_mixer(m, be, i, &wb, &B, NULL, i ? NULL : ids, from) ||
            hyena_mlp(be, &wb, h->eps, &B, from))
            goto out;
        if (f->on_block) {
            if (!is_host) be->download(be, host, B.r, L * D * sizeof(float));
            f->on_block(f->ud, i, is_host ? B.r : host, L, (int)D);
        }
        if (i == f->layer && f->hidden) be->download(be, f->hidden, B.r, L * D * sizeof(float));
    }
    /* final norm and head (§3.4.7) */
    if ((f->hidden && f->layer < 0) || f->logits) {
        const float *ln_w = be->weights(be, h->ln_f_w, D), *ln_b = be->weights(be, h->ln_f_b, D);
        const float *head = f->logits ? be->weights(be, h->head, rows * D) : NULL;
        if (!ln_w || !ln_b || (f->logits && !head)) goto out;
        for (size_t m0 = p0, n; m0 < L; m0 += n) {
            n = chunk_rows(m0, L, cs);
            be->layernorm(be, B.r + m0 * D, n, D, ln_w, ln_b, h->eps, B.hc);
            if (f->hidden && f->layer < 0) be->download(be, f->hidden + m0 * D, B.hc, n * D * sizeof(float));
            if (f->logits) {
                be->linear(be, B.hc, n, D, D, head, NULL, rows, B.oc, rows);
                be->download(be, f->logits + m0 * rows, B.oc, n * rows * sizeof(float));
            }
        }
    }
    rc = 0;
out:
    hd_free(host);
    buf_free(be, &B);
    return rc;
}

/* ---------------------------------------------------------------- cached decoding */

/* The decoder: the prefill runs the forward over the P prompt tokens, with every long convolution
 * extended to the capacity P + N (zero input beyond P), which gives at each new position the prompt's share
 * of its convolution output in one FFT.  A step then runs every position-wise part (norms, projections,
 * short filter, MLP) on one position and adds the new positions' share by a direct sum over them:
 * O(D·(n + 1)) per block for the n-th new token, independent of the prompt length (docs/models.md §3.4.4).
 * State: the cache of each block, O((4·O − 2)·D·N) floats (6·D·N at order 2); at order O one long-convolution
 * state (g, y, k) per order step. */
typedef struct {
    hd_decoder d;              /* first: the generic part */
    size_t P, N;               /* prompt tokens; new positions the caches hold (capacity − P) */
    hyena_block *w;            /* backend weights of every block */
    hyena_cache *c;            /* per block */
    const float *wte, *head, *ln_w, *ln_b, *tab0;
    float *zero;               /* [N] zeros, host memory */
    float *r, *hc, *x, *mc, *oc;   /* one position: [D], [D], [O·D] (x_0..x_{O−1}), [F], [max(D, rows)] */
} hyena_dec;

static void hyena_dec_free(hd_decoder *dd)
{
    hyena_dec *d = (hyena_dec *)dd;
    hd_backend *be = dd->be;
    if (d->c)
        for (int i = 0; i < dd->m->n_layer; i++) {
            be->free(be, d->c[i].pc); be->free(be, d->c[i].g); be->free(be, d->c[i].y); be->free(be, d->c[i].k);
        }
    float *p[] = {d->r, d->hc, d->x, d->mc, d->oc};
    for (size_t i = 0; i < sizeof p / sizeof *p; i++) be->free(be, p[i]);
    hd_free(d->zero);
    free(d->c);
    free(d->w);
    free(d);
}

/* the logits of the position in row 0 of r → logits */
static void hyena_dec_head(hyena_dec *d, hd_backend *be, const float *r, float *logits)
{
    hyena *h = d->d.m->impl;
    size_t D = (size_t)h->D, rows = (size_t)h->rows;
    be->layernorm(be, r, 1, D, d->ln_w, d->ln_b, h->eps, d->hc);
    be->linear(be, d->hc, 1, D, D, d->head, NULL, rows, d->oc, rows);
    if (logits) be->download(be, logits, d->oc, rows * sizeof(float));
}

/* the caches for a prompt of P tokens and N new positions (uninitialised, but for the zero row) */
static int hyena_dec_caches(hyena_dec *d, size_t P, size_t N)
{
    hd_model *m = d->d.m;
    hd_backend *be = d->d.be;
    hyena *h = m->impl;
    size_t D = (size_t)m->d_model, Nb = N ? N : 1, O = (size_t)h->order, K = (O - 1) * D;
    d->P = P, d->N = N;
    if (!(d->c = calloc((size_t)m->n_layer, sizeof *d->c))) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    if (!(d->zero = hd_calloc(Nb, sizeof(float), "the decoder's caches"))) return -1;
    for (int i = 0; i < m->n_layer; i++) {
        hyena_cache *c = &d->c[i];
        c->zero = d->zero;
        if (!(c->pc = be->alloc(be, (O + 1) * D * (2 + N) * sizeof(float), "the decoder's caches")) ||
            !(c->g = be->alloc(be, K * Nb * sizeof(float), "the decoder's caches")) ||
            !(c->y = be->alloc(be, K * Nb * sizeof(float), "the decoder's caches")) ||
            !(c->k = be->alloc(be, K * Nb * sizeof(float), "the decoder's caches")))
            return -1;
    }
    return 0;
}

static hd_decoder *hyena_decoder_new(hd_model *m, hd_backend *be, size_t max_len);

static hd_decoder *hyena_dec_fork(hd_decoder *dd)
{
    hyena_dec *d = (hyena_dec *)dd, *e = (hyena_dec *)hyena_decoder_new(dd->m, dd->be, dd->max_len);
    if (!e) return NULL;
    hd_backend *be = dd->be;
    const hyena *h = dd->m->impl;
    size_t D = (size_t)dd->m->d_model, N = d->N, Nb = N ? N : 1, O = (size_t)h->order, K = (O - 1) * D;
    if (hyena_dec_caches(e, d->P, N)) { hyena_dec_free(&e->d); return NULL; }
    for (int i = 0; i < dd->m->n_layer; i++) {
        hyena_cache *a = &d->c[i], *b = &e->c[i];
        be->copy_cm(be, a->pc, 2 + N, b->pc, 2 + N, (O + 1) * D, 2 + N);
        be->copy_cm(be, a->g, Nb, b->g, Nb, K, Nb);
        be->copy_cm(be, a->y, Nb, b->y, Nb, K, Nb);
        be->copy_cm(be, a->k, Nb, b->k, Nb, K, Nb);
    }
    return &e->d;
}

static int hyena_dec_prefill(hd_decoder *dd, const int32_t *ids, size_t P, float *logits)
{
    hyena_dec *d = (hyena_dec *)dd;
    hd_model *m = dd->m;
    hd_backend *be = dd->be;
    hyena *h = m->impl;
    size_t D = (size_t)h->D, N = dd->max_len - P;
    if (hyena_dec_caches(d, P, N)) return -1;
    for (int i = 0; i < m->n_layer; i++)
        if (N && hyena_filter_cm(be, h, &d->w[i], 0, ((size_t)h->order - 1) * D, N, d->c[i].k, N)) return -1;
    hyena_buf B;
    if (buf_alloc(be, h, P, P + N, 1, &B)) return -1;
    int rc = -1;
    be->embed(be, ids, P, d->wte, D, B.r);
    for (int i = 0; i < m->n_layer; i++) {
        if (hyena_mixer(m, be, i, &d->w[i], &B, &d->c[i], i ? NULL : ids, 0) || hyena_mlp(be, &d->w[i], h->eps, &B, 0)) goto out;
    }
    hyena_dec_head(d, be, B.r + (P - 1) * D, logits);
    rc = 0;
out:
    buf_free(be, &B);
    return rc;
}

static int hyena_dec_step(hd_decoder *dd, int32_t id, float *logits)
{
    hyena_dec *d = (hyena_dec *)dd;
    hd_backend *be = dd->be;
    hyena *h = dd->m->impl;
    size_t D = (size_t)h->D, F = (size_t)h->F, N = d->N, t = dd->pos, j = t - d->P, ldp = 2 + N;
    size_t hist = t < 2 ? t : 2, O = (size_t)h->order, C = (O + 1) * D;
    be->embed(be, &id, 1, d->wte, D, d->r);
    for (int i = 0; i < dd->m->n_layer; i++) {
        const hyena_block *b = &d->w[i];
        hyena_cache *c = &d->c[i];
        const float *w = b->short_filter_w, *bs = b->short_filter_b, *x = c->pc + 2 + j - hist;
        /* mixer (§3.4.4) at position t; block 0's in_proj output is the token's column of the table (hyena_tab0),
         * copied as it is, as the forward's gather reads it (in any precision) */
        if (i == 0) {
            size_t V = (size_t)h->rows;
            be->copy_cm(be, d->tab0 + id, V, c->pc + 2 + j, ldp, C, 1);
        } else {
            be->layernorm(be, d->r, 1, D, b->norm1_w, b->norm1_b, h->eps, d->hc);
            be->linear_cm_out(be, d->hc, 1, D, D, b->in_proj_w, b->in_proj_b, C, c->pc + 2 + j, ldp);
        }
        be->causal_conv(be, x, O * D, 1, ldp, hist, w, 3, bs, d->x, 1);                         /* x_0..x_{O−1} */
        be->causal_conv(be, x + O * D * ldp, D, 1, ldp, hist, w + 3 * O * D, 3, bs + O * D, c->g + j, N);   /* v */
        /* the order steps s = 0..O−2: g_s = (s ? y_{s−1} : v) ⊙ x_{O−1−s};  y_s = k_s ∗ g_s + Dbias_s ⊙ g_s, its
         * prompt's share in y_s from the prefill */
        for (size_t s = 0; s + 1 < O; s++) {
            float *g = c->g + s * D * N, *y = c->y + s * D * N;
            be->mul_cm(be, s ? y - D * N + j : g + j, N, d->x + (O - 1 - s) * D, 1, g + j, N, D, 1);
            be->longconv_step(be, g, N, j, c->k + s * D * N, N, b->filter_bias + s * D, D, y + j, N);
        }
        be->mul_cm(be, c->y + (O - 2) * D * N + j, N, d->x, 1, d->x, 1, D, 1);
        be->linear_cm_in(be, d->x, 1, D, 1, b->out_proj_w, b->out_proj_b, D, d->oc, D);
        be->add(be, d->r, d->oc, D);
        /* MLP (§3.4.3) */
        be->layernorm(be, d->r, 1, D, b->norm2_w, b->norm2_b, h->eps, d->hc);
        be->linear(be, d->hc, 1, D, D, b->fc1_w, b->fc1_b, F, d->mc, F);
        be->gelu_tanh(be, d->mc, F);
        be->linear(be, d->mc, 1, F, F, b->fc2_w, b->fc2_b, D, d->oc, D);
        be->add(be, d->r, d->oc, D);
    }
    hyena_dec_head(d, be, d->r, logits);
    return 0;
}

static hd_decoder *hyena_decoder_new(hd_model *m, hd_backend *be, size_t max_len)
{
    hyena *h = m->impl;
    size_t D = (size_t)h->D, rows = (size_t)h->rows, wide = rows > D ? rows : D;
    hyena_dec *d = calloc(1, sizeof *d);
    if (!d || !(d->w = calloc((size_t)m->n_layer, sizeof *d->w))) {
        free(d);
        hd_set_error(HD_EMODEL, "out of memory");
        return NULL;
    }
    d->d.m = m, d->d.be = be;
    d->d.prefill = hyena_dec_prefill, d->d.step = hyena_dec_step, d->d.free = hyena_dec_free, d->d.fork = hyena_dec_fork;
    for (int i = 0; i < m->n_layer; i++)
        if (block_weights(be, h, &h->blk[i], &d->w[i])) goto fail;
    if (!(d->wte = be->weights(be, h->wte, rows * D)) || !(d->head = be->weights(be, h->head, rows * D)) ||
        !(d->ln_w = be->weights(be, h->ln_f_w, D)) || !(d->ln_b = be->weights(be, h->ln_f_b, D)) ||
        !(d->tab0 = be->weights(be, h->tab0, ((size_t)h->order + 1) * D * rows)))
        goto fail;
    if (!(d->r = be->alloc(be, D * sizeof(float), "a decoding step")) ||
        !(d->hc = be->alloc(be, D * sizeof(float), "a decoding step")) ||
        !(d->x = be->alloc(be, (size_t)h->order * D * sizeof(float), "a decoding step")) ||
        !(d->mc = be->alloc(be, (size_t)h->F * sizeof(float), "a decoding step")) ||
        !(d->oc = be->alloc(be, wide * sizeof(float), "a decoding step")))
        goto fail;
    return &d->d;
fail:
    hyena_dec_free(&d->d);
    return NULL;
}

/* The backend ops the forward pass and hd_hyena_filter call (spectra_free: through the spectra cache). */
static const hd_op hyena_needs[] = {
    HD_OP(embed), HD_OP(layernorm), HD_OP(linear), HD_OP(linear_cm_out), HD_OP(linear_cm_in), HD_OP(causal_conv),
    HD_OP(mul_cm), HD_OP(add), HD_OP(gelu_tanh), HD_OP(sin_freq), HD_OP(modulate_cm), HD_OP(fft_size),
    HD_OP(spectra_new), HD_OP(spectra_free), HD_OP(spectra_bytes), HD_OP(fftconv), HD_OPS_END};

/* GEMM FLOPs of a forward (hd_model_gemm_flops): per position and block in_proj (D → (O+1)·D; not in block 0,
 * read from a table), out_proj (D → D), fc1 and fc2 (D ↔ F), the implicit-filter MLP (E → H, (H → H) × inner,
 * H → (O−1)·D) for each of the L positions of the filter (§3.4.5), and the head (D → rows) with logits. */
static double hyena_gemm_flops(const hd_model *m, size_t L, int logits)
{
    const hyena *h = m->impl;
    double D = h->D, F = h->F, E = h->E, H = h->H, O = h->order;
    double block = 2 * D * (O + 1) * D + 2 * D * D + 2 * (2 * D * F) + 2 * (E * H + h->n_inner * H * H + H * (O - 1) * D);
    /* block 0's in_proj is read from a table (hyena_tab0) */
    return (double)L * (m->n_layer * block - 2 * D * (O + 1) * D + (logits ? 2 * D * h->rows : 0));
}

/* ... and those only the decoder calls */
static const hd_op hyena_decode_needs[] = {HD_OP(copy_cm), HD_OP(longconv_step), HD_OPS_END};

const hd_family_ops hd_hyena_ops = {
    .name = "hyenadna", .load = hyena_load, .free = hyena_free, .forward = hyena_forward, .needs = hyena_needs,
    .decoder_new = hyena_decoder_new, .decode_needs = hyena_decode_needs, .gemm_flops = hyena_gemm_flops};
