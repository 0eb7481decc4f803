/* backend.h -- the compute backend interface (the ops table).
 *
 * Models call these ops and never include FFTW, BLAS or CUDA headers.  Buffers passed to ops are
 * backend memory (hd_backend.alloc); on the CPU that is ordinary host memory.  Matrices are
 * row-major; "channel-major" buffers hold one row per channel ([C, L]) so that per-channel work over
 * time (short and long convolutions, scans) reads contiguous memory.
 *
 * Code outside the backends asks a backend what it can do through the capability fields and the
 * control ops below, never by its name.  An op a backend does not implement is NULL; each model family
 * lists the ops its forward pass calls in a table of hd_op (model.h: hd_family_ops.needs), which
 * hd_backend_supports checks. */
#ifndef HD_BACKEND_H
#define HD_BACKEND_H

#include <stddef.h>
#include <stdint.h>

typedef struct hd_backend hd_backend;
typedef struct hd_spectra hd_spectra;   /* cached FFT of a bank of long filters */

/* Precisions of the projections (bits of hd_backend.precisions). */
typedef enum { HD_PREC_FP32 = 1, HD_PREC_TF32 = 2, HD_PREC_BF16 = 4 } hd_precision;

struct hd_backend {
    const char *name;    /* "cpu", "cuda": for messages only */
    int nthreads;
    void *priv;

    /* ---- capabilities ---- */
    int host_memory;       /* 1: buffers from alloc and weights() are host memory the caller may read and write
                            * directly (upload/download are plain copies) */
    size_t chunk;          /* preferred positions per chunk of position-wise work (≥ 1) */
    size_t row_align;      /* the position-wise ops (linear, linear_cm_in, layernorm, gelu_tanh, add, mul_cm) and
                            * the fused hyena_out and mlp_residual, called on rows [a, M) of their operands with a
                            * a multiple of row_align, give those rows exactly the values a call on rows [0, M)
                            * gives (their blocks of positions start at the same places); 0: no such promise */
    unsigned precisions;   /* the HD_PREC_* the projections can run in (HD_PREC_FP32 always) */
    char note[256];        /* how the backend came to be chosen, for the user; "" when there is nothing to say
                            * (e.g. why --device auto did not take a GPU that is present) */

    /* ---- control ---- */
    /* Human-readable device: "cpu (N threads)" or "cuda:0 (NVIDIA H200, 140 GiB, sm_90)". */
    const char *(*describe)(hd_backend *be);
    /* Projections in precision p, one of `precisions`: 0, or -1 + hd_error.  NULL: fp32 only. */
    int (*set_precision)(hd_backend *be, hd_precision p);
    /* Wait for every op queued so far: 0 when all succeeded, else -1 + hd_error naming the first failure.
     * NULL: the ops are synchronous and their failures surface through their return values. */
    int (*sync)(hd_backend *be);
    /* Device memory held by the backend (buffers reserved + weight copies) in bytes.  NULL on host memory. */
    size_t (*memory_held)(hd_backend *be);
    /* A new, independent backend of the same kind on nthreads threads, for workers that run side by side
     * (NULL + hd_error on failure).  NULL op: the device cannot be shared out that way (one GPU). */
    hd_backend *(*spawn)(hd_backend *be, int nthreads);

    /* ---- memory ---- */
    void *(*alloc)(hd_backend *be, size_t bytes, const char *what);   /* NULL + hd_error on failure */
    void (*free)(hd_backend *be, void *p);
    /* weights: a backend copy of host data (the CPU returns the pointer itself) */
    const float *(*weights)(hd_backend *be, const float *host, size_t n);
    void (*upload)(hd_backend *be, void *dst, const void *host, size_t bytes);
    void (*download)(hd_backend *be, void *host, const void *src, size_t bytes);

    /* ---- dense ---- */
    /* Y[m, n] = Σ_k X[m, k]·W[n, k] + b[n]   (X [M, K] row stride ldx; W [N, K]; Y row stride ldy; b may be NULL) */
    void (*linear)(hd_backend *be, const float *X, size_t M, size_t K, size_t ldx,
                   const float *W, const float *b, size_t N, float *Y, size_t ldy);
    /* channel-major output: Yt[n, m] = Σ_k W[n, k]·X[m, k] + b[n]   (Yt row stride ldy) */
    void (*linear_cm_out)(hd_backend *be, const float *X, size_t M, size_t K, size_t ldx,
                          const float *W, const float *b, size_t N, float *Yt, size_t ldy);
    /* channel-major input: Y[m, n] = Σ_k Xt[k, m]·W[n, k] + b[n]   (Xt [K, M] row stride ldx) */
    void (*linear_cm_in)(hd_backend *be, const float *Xt, size_t M, size_t K, size_t ldx,
                         const float *W, const float *b, size_t N, float *Y, size_t ldy);

    /* ---- position-wise ---- */
    /* Y = LayerNorm(X) over D (biased variance); Y may alias X */
    void (*layernorm)(hd_backend *be, const float *X, size_t M, size_t D, const float *gamma, const float *beta,
                      float eps, float *Y);
    /* Y = X / sqrt(mean(X²) + eps) · gamma; Y may alias X */
    void (*rmsnorm)(hd_backend *be, const float *X, size_t M, size_t D, const float *gamma, float eps, float *Y);
    void (*gelu_tanh)(hd_backend *be, float *x, size_t n);          /* in place */
    void (*add)(hd_backend *be, float *y, const float *x, size_t n);  /* y += x */
    /* x[m, h] = sin(freq[h]·x[m, h]) for an [M, H] matrix (the Sin activation of the Hyena filter MLP) */
    void (*sin_freq)(hd_backend *be, float *x, size_t M, size_t H, const float *freq);
    /* Exponential modulation of channel-major filters k [C, T] (row stride ldk), positions t[0..T):
     * k[c, i] *= exp(−t[i]·|delta[c]|) + shift */
    void (*modulate_cm)(hd_backend *be, float *k, size_t C, size_t T, size_t ldk, const float *t,
                        const float *delta, float shift);

    /* ---- per channel over time (channel-major) ---- */
    /* Depthwise causal conv (cross-correlation as PyTorch conv1d, left zero padding K−1):
     * y[c, t] = b[c] + Σ_j w[c, j]·x[c, hist + t − (K−1) + j]; x rows hold `hist` earlier positions before
     * output position 0 (indices below 0 read as 0).  y may not alias x. */
    void (*causal_conv)(hd_backend *be, const float *x, size_t C, size_t T, size_t ldx, size_t hist,
                        const float *w, size_t K, const float *b, float *y, size_t ldy);
    /* y[c, t] = a[c, t]·b[c, t] over C rows of T (row strides lda, ldb, ldy); y may alias a or b */
    void (*mul_cm)(hd_backend *be, const float *a, size_t lda, const float *b, size_t ldb, float *y, size_t ldy,
                   size_t C, size_t T);

    /* ---- long convolution (FFT) ---- */
    /* FFT size used for sequences of length L (≥ 2L−1). */
    size_t (*fft_size)(hd_backend *be, size_t L);
    /* Spectra of C filters k[c, 0..Lk) (row stride ldk) for FFT size N, scaled by 1/N. */
    hd_spectra *(*spectra_new)(hd_backend *be, const float *k, size_t C, size_t Lk, size_t ldk, size_t N);
    void (*spectra_free)(hd_backend *be, hd_spectra *s);
    size_t (*spectra_bytes)(hd_backend *be, size_t C, size_t N);
    /* In place, per channel c: u[c, t] ← Σ_{τ≤t} k[c, τ]·u[c, t−τ] + dbias[c]·u[c, t], t < L.
     * The filter comes from `spec` (made for N = fft_size(L) from at least L taps) or, when spec is NULL,
     * from k[c, 0..min(L, Lk)) (row stride ldk), transformed on the fly. */
    int (*fftconv)(hd_backend *be, float *u, size_t C, size_t L, size_t ldu, const hd_spectra *spec,
                   const float *k, size_t Lk, size_t ldk, const float *dbias);

    /* ---- DNA-xLSTM (docs/models.md §5; src/backends/cpu/xlstm.c).  Row-major [M, C] buffers with row strides. ---- */
    /* Y[t, c] = X[t', c'] with t' = M−1−t when rev_rows (Lrev) else t, c' = C−1−c when rev_cols else c
     * (both: RC); added to Y with accumulate.  Y may not alias X. */
    void (*flip)(hd_backend *be, const float *X, size_t ldx, float *Y, size_t ldy, size_t M, size_t C,
                 int rev_rows, int rev_cols, int accumulate);
    /* LayerNorm (biased variance, no bias) over each of G groups of DG consecutive values of every row of a
     * contiguous [M, G·DG] matrix, scaled by gamma [G·DG]; Y may alias X */
    void (*groupnorm)(hd_backend *be, const float *X, size_t M, size_t G, size_t DG, const float *gamma, float eps,
                      float *Y);
    /* Depthwise conv over rows (PyTorch conv1d with zero padding K−1−right before and right after; causal:
     * right = 0), then SiLU when silu:
     * Y[t, c] = act(b[c] + Σ_j w[c, j]·X[t − (K−1−right) + j, c]), rows outside [0, M) read as 0;
     * b may be NULL; Y may not alias X */
    void (*conv_rows)(hd_backend *be, const float *X, size_t ldx, size_t M, size_t C, const float *w, size_t K,
                      size_t right, const float *b, int silu, float *Y, size_t ldy);
    /* Block-diagonal ("headwise") linear: Y[m, h·DO + o] = Σ_d W[h, o, d]·X[m, h·DI + d] + b[h·DO + o]
     * (W [H, DO, DI]; b may be NULL) */
    void (*headwise)(hd_backend *be, const float *X, size_t ldx, size_t M, size_t H, size_t DI, size_t DO,
                     const float *W, const float *b, float *Y, size_t ldy);
    /* In place rotary embedding of interleaved pairs (2j, 2j+1) of each of H heads of DH values, row m at
     * position m: (a, b) ← (a·cos − b·sin, a·sin + b·cos), cos/sin tables [M, DH/2] */
    void (*rope)(hd_backend *be, float *X, size_t ldx, size_t M, size_t H, size_t DH, const float *cos,
                 const float *sin);
    /* The mLSTM cell (docs/models.md §5.7) over L positions and NH heads of DH: q, k, v [L, NH·DH] (row stride
     * ldqkv), input/forget gate pre-activations ig, fg [L, NH] (row stride ldg); H [L, NH·DH] (row stride
     * ldh) gets h̃.  form: HD_MLSTM_PARALLEL, HD_MLSTM_CHUNKWISE (chunk positions per chunk; the last chunk
     * may be shorter), HD_MLSTM_RECURRENT or HD_MLSTM_PARALLEL_BIDIR (every position reads every other one:
     * not causal).  −1 with hd_error on failure (scratch memory). */
    int (*mlstm_cell)(hd_backend *be, const float *q, const float *k, const float *v, size_t ldqkv,
                      const float *ig, const float *fg, size_t ldg, size_t L, size_t NH, size_t DH, int form,
                      size_t chunk, float *H, size_t ldh);
    /* mLSTM output gate: H[m, c] = (H[m, c] + skip[c]·Xc[m, c]) · silu(Z[m, c]) */
    void (*mlstm_gate)(hd_backend *be, float *H, size_t ldh, const float *Xc, size_t ldx, const float *skip,
                       const float *Z, size_t ldz, size_t M, size_t C);
    /* The sLSTM cell (docs/models.md §5.8), states starting at 0: Wx [L, 4·NH·DH] gate-major (i, f, z, o), each
     * gate (head, unit); R [NH, DH, 4·DH] (CUDA layout: [h, d_in, gate·DH + j]); b [NH·4·DH] ordered
     * (head, gate, j).  Y [L, NH·DH] gets y; with rev_heads head h is written to slot NH−1−h.  −1 on failure. */
    int (*slstm_cell)(hd_backend *be, const float *Wx, size_t ldw, const float *R, const float *b, size_t L,
                      size_t NH, size_t DH, int rev_heads, float *Y, size_t ldy);
    /* Y[m, u] = gelu_erf(G[m, u]) · G[m, U + u] for G [M, 2U] contiguous, Y [M, U] contiguous */
    void (*gelu_erf_mul)(hd_backend *be, const float *G, size_t M, size_t U, float *Y);
    /* ---- Mamba (Caduceus) ---- */
    /* The x branch's depthwise convolution, then SiLU, over rows [T, C] (row strides ldx, ldy;
     * docs/models.md §4.4 steps 2–3), in either direction of BiMamba:
     *   forward (backward = 0): Y[t, c] = silu(b[c] + Σ_j w[j, c]·X[t − (K−1) + j, c])
     *   backward (backward = 1): Y[t, c] = silu(b[c] + Σ_j w[j, c]·X[t + (K−1) − j, c])
     * the backward form being the reverse direction's causal convolution read in the original order.  X holds
     * `hist` readable rows beyond [0, T) on the side the filter reaches (before row 0 forward, after row T−1
     * backward: the neighbouring chunk's positions); rows further out read as 0.  The taps w [K, C] are
     * stored taps-major (the transpose of PyTorch's [C, 1, K]); b may be NULL; Y may not alias X. */
    void (*conv_silu_rows)(hd_backend *be, const float *X, size_t ldx, size_t T, size_t C, size_t hist,
                           const float *w, size_t K, const float *b, int backward, float *Y, size_t ldy);
    /* dst[c, t] = src[c, T−1−t] over C rows of T (row strides lds, ldd); dst may not alias src.
     * With C = 1 and T = M·D it reverses an [M, D] matrix in rows and columns. */
    void (*flip_cm)(hd_backend *be, const float *src, size_t lds, float *dst, size_t ldd, size_t C, size_t T);
    /* Selective scan of Mamba v1 (docs/models.md §4.4, steps 5–8) over T positions of E channels with N
     * states; u, dt, z and y are row-major [T, E] (row strides ldu, lddt, ldz, ldy), B and C [T, ·] (row
     * stride ldbc):
     *   Δ = softplus(dt[t, e] + dt_bias[e])  (threshold 20; dt_bias may be NULL)
     *   h[e, n] ← exp(Δ·A[e, n])·h[e, n] + Δ·B[t, n]·u[t, e]
     *   y[t, e] = Σ_n C[t, n]·h[e, n] + Dskip[e]·u[t, e]
     * A = −exp(A_log) [E, N]; state [E, N] carries h between calls (HD_SCAN_FRESH: start from 0).
     * HD_SCAN_BACKWARD: the positions are taken from T−1 down to 0 (BiMamba's reverse direction in the
     * original order, the state coming from the chunk after this one); HD_SCAN_ACCUMULATE: y += instead of
     * =; z non-NULL: then y[t, e] ← y[t, e]·silu(z[t, e]) (the gate, on the sum when accumulating). */
    void (*selective_scan)(hd_backend *be, size_t E, size_t N, size_t T, const float *u, size_t ldu,
                           const float *dt, size_t lddt, const float *dt_bias, const float *A,
                           const float *B, const float *C, size_t ldbc, const float *Dskip,
                           const float *z, size_t ldz, float *state, float *y, size_t ldy, int flags);
    /* ---- Evo 2 (docs/models.md §6; src/backends/cpu/evo2.c) ---- */
    /* weights: a backend copy of a BF16 host matrix (the CPU returns the pointer itself) */
    const uint16_t *(*weights_bf16)(hd_backend *be, const uint16_t *host, size_t n);
    /* Y = X·Wᵀ + b for W [N, K] (row stride K) stored as float32 (wbf16 = 0) or BF16 (wbf16 = 1; converted to
     * float32 panel by panel for the GEMMs, never as a whole).  b [N] may be NULL.  flags:
     *   HD_LIN_X_CM  X is channel-major Xt [K, M] (row stride ldx), else row-major [M, K];
     *   HD_LIN_Y_CM  Y is written channel-major Yt [N, M] (row stride ldy), else row-major [M, N];
     *   HD_LIN_ACC   Y += X·Wᵀ + b instead of Y = X·Wᵀ + b;
     *   HD_LIN_SAME_X  the same X as the previous call (below). */
    void (*linear_ex)(hd_backend *be, const float *X, size_t M, size_t K, size_t ldx, const void *W, int wbf16,
                      const float *b, size_t N, float *Y, size_t ldy, int flags);
    /* RMSNorm with eps outside the root: Y = gamma · X / (sqrt(mean(X²)) + eps) over D; Y may alias X */
    void (*rmsnorm_eps_out)(hd_backend *be, const float *X, size_t M, size_t D, const float *gamma, float eps, float *Y);
    /* Rotary embedding, GPT-NeoX half split, in place on NH heads of DH values (head h of row m at
     * X + m·ldx + h·hs), row m at position pos0 + m: for i < DH/2, angle = (pos / scale)·inv_freq[i] (in double),
     * (x_i, x_{i+DH/2}) ← (x_i·cos − x_{i+DH/2}·sin, x_{i+DH/2}·cos + x_i·sin) */
    void (*rope_neox)(hd_backend *be, float *X, size_t ldx, size_t hs, size_t M, size_t NH, size_t DH, size_t pos0,
                      const float *inv_freq, double scale);
    /* Causal multi-head attention in tiles with an online softmax (never an M × Lk matrix): for NH heads of DH,
     * query row m (at absolute position pos0 + m) attends keys j ≤ pos0 + m (j < Lk, Lk ≥ pos0 + M):
     *   O[m] = Σ_j softmax_j(scale·q_m·k_j)·v_j.
     * Head h of row m of Q is at Q + m·ldq + h·hsq (likewise K, V, O).  -1 with hd_error on failure (scratch). */
    int (*attention)(hd_backend *be, const float *Q, size_t ldq, size_t hsq, const float *K, size_t ldk, size_t hsk,
                     const float *V, size_t ldv, size_t hsv, size_t M, size_t Lk, size_t NH, size_t DH, size_t pos0,
                     float scale, float *O, size_t ldo, size_t hso);
    /* The modal long filter (HCL): k[c, t] = Σ_s R[g, s]·exp(logp[g, s]·t) for channels c < C (row stride ldk)
     * and t < T, g = (c0 + c) / cpg; R, logp [G, S] */
    void (*modal_filter)(hd_backend *be, const float *R, const float *logp, size_t S, size_t cpg, size_t c0, size_t C,
                         size_t T, float *k, size_t ldk);
    /* The modal recurrence over T steps for channels c < C (g = (c0 + c) / cpg), state [C, S] in double:
     *   s[c] ← exp(logp[g])·s[c] + x[c, t];   y[c, t] = Σ_s R[g, s]·s[c, s] + D[c]·x[c, t]
     * (y NULL: the state only; D may be NULL).  x, y channel-major with row strides ldx, ldy. */
    void (*modal_scan)(hd_backend *be, const float *x, size_t ldx, size_t C, size_t T, const float *R, const float *logp,
                       size_t S, size_t cpg, size_t c0, const float *D, double *state, float *y, size_t ldy);
    /* Every row of buf [C, W] (row stride ld) moves one place left: buf[c, j] ← buf[c, j + 1] for j < W − 1 */
    void (*shift_left)(hd_backend *be, float *buf, size_t C, size_t W, size_t ld);
    /* dst[c, t] = src[c, t] for C rows of T (row strides lds, ldd); no overlap */
    void (*copy_cm)(hd_backend *be, const float *src, size_t lds, float *dst, size_t ldd, size_t C, size_t T);
    /* The gated MLP product in place: A[m, u] ← act(A[m, u])·B[m, u] for M rows of U (row strides lda, ldb),
     * act HD_ACT_IDENTITY, HD_ACT_GELU (exact erf) or HD_ACT_SILU */
    void (*gated_act)(hd_backend *be, float *A, size_t lda, const float *B, size_t ldb, size_t M, size_t U, int act);
    /* ---- HyenaDNA fused steps (docs/models.md §3.4; optional: when NULL the model runs the plain ops above).
     * Each runs one block of positions at a time through all its stages while the block is in cache; 0, or -1 +
     * hd_error (scratch memory). ---- */
    /* The mixer's input (§3.4.4 steps 1–3): P = LayerNorm(r)·Wᵀ + b over positions m < M of r [M, D] (W [3D, D]),
     * the depthwise causal short filter over positions (PyTorch conv1d, left zero padding K−1; w [3D, K], bw [3D]),
     * split into x0 | x1 | v:  X0[c, m] = x0,  G[c, m] = v·x1  (channel-major, row stride ld) */
    int (*hyena_in)(hd_backend *be, const float *r, size_t M, size_t D, const float *ln_w, const float *ln_b, float eps,
                     const float *W, const float *b, const float *w, size_t K, const float *bw, float *X0, float *G,
                     size_t ld);
    /* hyena_in of the first block, whose in_proj output depends on the token alone: P[:, m] = T[:, ids[m]] from
     * the table T [3D, V] (row stride V; ids in host memory, each < V), then the short filter and the split as
     * hyena_in */
    int (*hyena_in_tab)(hd_backend *be, const int32_t *ids, size_t M, const float *T, size_t V, size_t D,
                        const float *w, size_t K, const float *bw, float *X0, float *G, size_t ld);
    /* The mixer's output (§3.4.4 step 6): r[m, :] += (Y ⊙ X0)[:, m]·Wᵀ + b for Y, X0 channel-major [D, M] (row
     * stride ld), W [D, D] */
    int (*hyena_out)(hd_backend *be, const float *Y, const float *X0, size_t ld, size_t M, size_t D, const float *W,
                      const float *b, float *r);
    /* The MLP residual (§3.4.3): r += gelu_tanh(LayerNorm(r)·W1ᵀ + b1)·W2ᵀ + b2 over M rows of D
     * (W1 [F, D], W2 [D, F]) */
    int (*mlp_residual)(hd_backend *be, float *r, size_t M, size_t D, const float *ln_w, const float *ln_b, float eps,
                         const float *W1, const float *b1, size_t F, const float *W2, const float *b2);
    /* ---- cached decoding of HyenaDNA and DNA-xLSTM: one new position at a time (hd_decoder in model.h;
     * docs/models.md §3.4.4, §5.7, §5.8; they also copy state with copy_cm; hd_family_ops.decode_needs).
     * NULL on a backend without them: hd_decoder_new then decodes on the CPU (--device auto) or refuses. ---- */
    /* Position t of the causal long convolution of channel-major u [C, ·] (row stride ldu) with filters
     * k (row stride ldk, taps 0..t), added to y:  y[c·ldy] += Σ_{j≤t} k[c, j]·u[c, t−j] + dbias[c]·u[c, t]
     * (dbias may be NULL).  O(C·t). */
    void (*longconv_step)(hd_backend *be, const float *u, size_t ldu, size_t t, const float *k, size_t ldk,
                          const float *dbias, size_t C, float *y, size_t ldy);
    /* The mLSTM cell's recurrent state (§5.7) advanced over L positions at once (the chunkwise state update):
     * per head h, state + h·(DH·DH + DH + 1) holds C [DH, DH] (k index major), n [DH] and the stabiliser m, all
     * zero before the first position; k, v, ig, fg as in mlstm_cell.  −1 with hd_error on failure. */
    int (*mlstm_state)(hd_backend *be, const float *k, const float *v, size_t ldkv, const float *ig, const float *fg,
                       size_t ldg, size_t L, size_t NH, size_t DH, float *state);
    /* One step of the recurrent form of the mLSTM cell from `state` (layout of mlstm_state, updated):
     * q, k, v [NH·DH], ig, fg [NH] → h̃ [NH·DH] into H.  −1 with hd_error on failure. */
    int (*mlstm_step)(hd_backend *be, const float *q, const float *k, const float *v, const float *ig,
                       const float *fg, size_t NH, size_t DH, float *state, float *H);
    /* The sLSTM cell of slstm_cell (no head reversal) over L positions, continuing from `state` and leaving
     * in it the state after the last one: per head h, state + h·4·DH holds c, n, m and y [DH] each, all zero
     * before the first position.  −1 with hd_error on failure. */
    int (*slstm_cell_state)(hd_backend *be, const float *Wx, size_t ldw, const float *R, const float *b, size_t L,
                            size_t NH, size_t DH, float *state, float *Y, size_t ldy);
    /* ---- lookup ---- */
    /* out[i, :] = table[ids[i], :] for i < n (row stride D): ids in host memory, each < the rows of table;
     * table from weights(); out backend memory */
    void (*embed)(hd_backend *be, const int32_t *ids, size_t n, const float *table, size_t D, float *out);

    void (*destroy)(hd_backend *be);

    /* cached filter spectra, owned by the backend (see hd_backend_cache_get) */
    struct hd_cache_entry *cache;
    int n_cache;
    size_t cache_bytes;

    /* chosen by "auto": the CPU backend used for the families this backend does not cover
     * (see hd_backend_for); created on first use, owned and freed with this backend */
    int automatic;
    struct hd_backend *fallback;
};

/* A small cache of filter spectra owned by the backend, keyed by (owner, layer, N): a model passes
 * its unique id (hd_model.uid) as owner.  Entries beyond the byte budget evict the oldest. */
const hd_spectra *hd_backend_cache_get(hd_backend *be, uint64_t owner, int layer, size_t N);
void hd_backend_cache_put(hd_backend *be, uint64_t owner, int layer, size_t N, hd_spectra *s, size_t bytes);
void hd_backend_cache_drop(hd_backend *be, uint64_t owner);
#define HD_SPECTRA_CACHE_BUDGET ((size_t)768 << 20)

/* linear_ex flags */
#define HD_LIN_X_CM 1
#define HD_LIN_Y_CM 2
#define HD_LIN_ACC 4
/* X, M, K, ldx and X_CM are those of the previous linear_ex call on this backend and X has not been written since:
 * the backend may reuse what it derived from X then (the CPU its bf16 packing of X); a hint, never required */
#define HD_LIN_SAME_X 8

/* gated_act activations */
enum { HD_ACT_IDENTITY = 0, HD_ACT_GELU = 1, HD_ACT_SILU = 2 };

/* selective_scan flags */
#define HD_SCAN_FRESH 1
#define HD_SCAN_BACKWARD 2
#define HD_SCAN_ACCUMULATE 4

/* The CPU backend: nthreads 0 = every core. */
hd_backend *hd_backend_cpu_new(int nthreads);
/* The kernels the CPU backend runs, for the user (`hyenadna bench`): the BLAS and its core type, and how FFT
 * plans are made (FFTW planner mode, the wisdom file and whether it exists). */
typedef struct {
    char blas[64];            /* "OpenBLAS 0.3.21", or "cblas" when the library does not say */
    char blas_core[64];       /* OpenBLAS core type ("SkylakeX"), "" when unknown */
    char blas_config[256];    /* OpenBLAS build configuration, "" when unknown */
    char fft_planner[128];    /* "estimate", or "estimate below N points, measure (or patient) from N" */
    char fft_wisdom[4096];    /* the wisdom file measured plans are cached in, "" when none */
    int fft_wisdom_present;   /* 1 when that file exists */
} hd_cpu_kernels;
void hd_cpu_kernels_get(hd_cpu_kernels *k);
/* HD_MLSTM_PARALLEL_BIDIR: the parallel form without the causal mask (m_backend_bidirectional, §5.7) */
enum { HD_MLSTM_PARALLEL = 0, HD_MLSTM_CHUNKWISE = 1, HD_MLSTM_RECURRENT = 2, HD_MLSTM_PARALLEL_BIDIR = 3 };

/* Choose a backend by name: "auto", "cpu", "cuda", "cuda:N".  NULL + hd_error on failure.  "auto" never
 * fails for want of a GPU: it takes the CPU, with a note (hd_backend.note) when a GPU was present but
 * could not be used. */
hd_backend *hd_backend_new(const char *device, int nthreads);
void hd_backend_free(hd_backend *be);

/* Which backends are compiled in ("cpu" or "cpu, cuda"), and whether a usable GPU is present. */
const char *hd_backends_compiled(void);
int hd_cuda_device_count(void);   /* 0 when none or not compiled in */
int hd_cuda_libs_load(void);      /* cuBLAS and cuFFT are opened on demand: 0 when both load, else -1 + hd_error */

/* The CUDA backend on device N (NULL + hd_error when none or not compiled in). */
hd_backend *hd_backend_cuda_new(int device, int nthreads);
/* Name of CUDA device i into buf ("" when unknown). */
void hd_cuda_device_name(int i, char *buf, size_t n);
/* The GPU code the CUDA kernels were built for, "sm_80 sm_90 compute_90" (configure: HD_CUDA_ARCHS from
 * NVCCFLAGS; $HYENADNA_CUDA_ARCHS overrides it, to try the refusal on a GPU the build covers); "" when
 * not known or not compiled in. */
const char *hd_cuda_archs(void);
/* Whether code built for `archs` runs on a device of compute capability major.minor: an sm_XY binary
 * runs on X.y for y ≥ Y, compute_XY PTX on X.Y and every later device (…a suffixes: on X.Y only).
 * 1 yes, 0 no, -1 when archs names nothing (not known). */
int hd_cuda_arch_runs(const char *archs, int major, int minor);

/* HD_PREC_* of "fp32", "tf32" or "bf16"; 0 for any other name. */
hd_precision hd_precision_parse(const char *name);
/* Precision of the projections: "fp32" (default), "tf32" or "bf16" (CUDA only; the CPU accepts only
 * fp32).  -1 + hd_error (HD_EINPUT) on an unknown name or a precision the backend cannot do. */
int hd_backend_set_precision(hd_backend *be, const char *precision);
/* 0 when every op queued so far succeeded; else -1 + hd_error (waits for a GPU to finish). */
int hd_backend_check(hd_backend *be);
/* be->describe(be). */
const char *hd_backend_device(hd_backend *be);

/* ---- which ops a caller needs ---- */

/* One op of hd_backend, named by its place in the struct: the tables of the ops each model family calls
 * (model.h: hd_family_ops.needs, next to the family's forward pass) are arrays of these, ended by
 * HD_OPS_END; the op tests (tests/test_backend_ops.c) check one row per op. */
typedef struct hd_op {
    size_t offset;       /* offsetof(hd_backend, op) */
    const char *name;    /* "linear" */
} hd_op;
#define HD_OP(op) {offsetof(struct hd_backend, op), #op}
#define HD_OPS_END {0, NULL}

/* Whether `be` implements op (its pointer is not NULL). */
int hd_backend_has(const hd_backend *be, hd_op op);
/* The name of the first op of `needs` (or of the memory ops every caller uses: alloc, free, weights,
 * upload, download) that `be` does not implement; NULL when it has them all. */
const char *hd_backend_missing(const hd_backend *be, const hd_op *needs);
/* hd_backend_missing(be, needs) == NULL */
int hd_backend_supports(const hd_backend *be, const hd_op *needs);
/* The backend to run the ops `needs` of a `what` model on: `be` itself when it supports them; else, when
 * `be` was chosen by "auto", a CPU backend owned by `be`; else NULL + hd_error (explicit --device cuda). */
hd_backend *hd_backend_for(hd_backend *be, const hd_op *needs, const char *what);

#endif
