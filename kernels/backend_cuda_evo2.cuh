// backend_cuda_evo2.cuh -- the Evo 2 ops of the CUDA backend (docs/models.md §6), included by backend_cuda.cu
// (they use its allocator, weight cache, stream and GEMM helper).  src/backends/cpu/evo2.c is the reference:
// each op computes what the CPU op of the same name computes (tests/test_cuda.c runs the op table of
// tests/backend_ops.h on both).
//
//   weights_bf16     BF16 matrices uploaded once, as BF16 (half the device memory of float32)
//   linear_ex        BF16 weights converted to float32 on the device, then cuBLAS (the precision setting applies)
//   rmsnorm_eps_out  one block per row, sums in double
//   rope_neox        angles and rotations in double
//   attention        one warp per (query, head): keys in tiles of 32 (one per lane), online softmax, never an
//                    M × Lk matrix
//   modal_filter     one thread per (channel, 64 positions): R·exp(λ·t0) exactly, then running powers
//   modal_scan       one thread per (channel, state) for the state alone, per channel when y is wanted
//   shift_left, copy_cm, gated_act

static const uint16_t *cuda_weights_bf16(hd_backend *be, const uint16_t *host, size_t n)
{
    cuda_priv *P = P_(be);
    if (!host) return NULL;
    if (report(P)) return NULL;
    uint64_t fp = fingerprint((const float *)(const void *)host, n / 2);
    auto it = P->weights16.find(host);
    if (it != P->weights16.end() && it->second.n == n && it->second.fp == fp) return it->second.d;
    uint16_t *d = (uint16_t *)upload_weight(P, host, n * sizeof(uint16_t));
    if (!d) return NULL;
    if (it != P->weights16.end()) P->retired16.push_back(it->second.d);
    P->weights16[host] = weight16{d, n, fp};
    return d;
}

__global__ void k_bf16_to_f32(const uint16_t *w, size_t n, float *out)
{
    GRID_STRIDE(i, n) out[i] = __uint_as_float((unsigned)w[i] << 16);
}

// Y[m, n] += b[n] (row-major, row stride ldy)
__global__ void k_add_rows(float *Y, size_t M, size_t N, size_t ldy, const float *b)
{
    GRID_STRIDE(i, M * N) { Y[(i / N) * ldy + i % N] += b[i % N]; }
}

// Yt[n, m] += b[n] (channel-major, row stride ldy)
__global__ void k_add_cols(float *Yt, size_t M, size_t N, size_t ldy, const float *b)
{
    GRID_STRIDE(i, M * N) { Yt[(i / M) * ldy + i % M] += b[i / M]; }
}

__global__ void k_zero_2d(float *Y, size_t R, size_t C, size_t ld)
{
    GRID_STRIDE(i, R * C) { Y[(i / C) * ld + i % C] = 0.0f; }
}

#define EVO2_CONVERT_ROWS 4096   // weight rows converted to float32 per GEMM (bounds the scratch)

// Y = X·Wᵀ + b in the four layouts of HD_LIN_X_CM / HD_LIN_Y_CM, accumulating with HD_LIN_ACC.  The column-
// major views cuBLAS sees (a row-major [R, C] array with row stride ld is column-major [C × R], ld ld):
//   X rm, Y rm:  Yᵀ[N × M] = Wᵀᵀ·Xᵀ        gemm(T, N, N, M, K, W, K, X, ldx)
//   X cm, Y rm:  Yᵀ[N × M] = Wᵀᵀ·Xtᵀᵀ      gemm(T, T, N, M, K, W, K, Xt, ldx)
//   X rm, Y cm:  Yt-cm[M × N] = Xᵀᵀ·Wᵀ     gemm(T, N, M, N, K, X, ldx, W, K)
//   X cm, Y cm:  Yt-cm[M × N] = Xt-cm·Wᵀ   gemm(N, N, M, N, K, Xt, ldx, W, K)
static void cuda_linear_ex(hd_backend *be, const float *X, size_t M, size_t K, size_t ldx, const void *W, int wbf16,
                           const float *b, size_t N, float *Y, size_t ldy, int flags)
{
    cuda_priv *P = P_(be);
    if (!M || !N || P->err[0]) return;
    int xcm = flags & HD_LIN_X_CM, ycm = flags & HD_LIN_Y_CM, acc = flags & HD_LIN_ACC;
    if (!acc) {
        if (b) {
            if (ycm) k_fill_cols<<<grid_for(M * N), THREADS, 0, P->stream>>>(Y, M, N, ldy, b);
            else k_fill_rows<<<grid_for(M * N), THREADS, 0, P->stream>>>(Y, M, N, ldy, b);
        } else if (ycm) k_zero_2d<<<grid_for(M * N), THREADS, 0, P->stream>>>(Y, N, M, ldy);
        else k_zero_2d<<<grid_for(M * N), THREADS, 0, P->stream>>>(Y, M, N, ldy);
    } else if (b) {
        if (ycm) k_add_cols<<<grid_for(M * N), THREADS, 0, P->stream>>>(Y, M, N, ldy, b);
        else k_add_rows<<<grid_for(M * N), THREADS, 0, P->stream>>>(Y, M, N, ldy, b);
    }
    ck_launch(P, "linear_ex bias");
    size_t step = wbf16 ? (N < EVO2_CONVERT_ROWS ? N : EVO2_CONVERT_ROWS) : N;
    float *scratch = wbf16 ? (float *)cuda_alloc(be, step * K * sizeof(float), "BF16 weights as float32") : NULL;
    if (wbf16 && !scratch) { fail_(P, "linear_ex scratch", hd_error()); return; }
    for (size_t n0 = 0; n0 < N && !P->err[0]; n0 += step) {
        size_t nn = N - n0 < step ? N - n0 : step;
        const float *Wp;
        if (wbf16) {
            k_bf16_to_f32<<<grid_for(nn * K), THREADS, 0, P->stream>>>((const uint16_t *)W + n0 * K, nn * K, scratch);
            ck_launch(P, "linear_ex convert");
            Wp = scratch;
        } else Wp = (const float *)W + n0 * K;
        if (!ycm && !xcm) gemm(P, CUBLAS_OP_T, CUBLAS_OP_N, nn, M, K, Wp, K, X, ldx, 1.0f, Y + n0, ldy);
        else if (!ycm) gemm(P, CUBLAS_OP_T, CUBLAS_OP_T, nn, M, K, Wp, K, X, ldx, 1.0f, Y + n0, ldy);
        else if (!xcm) gemm(P, CUBLAS_OP_T, CUBLAS_OP_N, M, nn, K, X, ldx, Wp, K, 1.0f, Y + n0 * ldy, ldy);
        else gemm(P, CUBLAS_OP_N, CUBLAS_OP_N, M, nn, K, X, ldx, Wp, K, 1.0f, Y + n0 * ldy, ldy);
    }
    cuda_free(be, scratch);
}

__global__ void k_rmsnorm_eps_out(const float *X, size_t M, size_t D, const float *g, float eps, float *Y)
{
    __shared__ double sh[33];
    for (size_t m = blockIdx.x; m < M; m += gridDim.x) {
        const float *x = X + m * D;
        float *y = Y + m * D;
        double ss = 0;
        for (size_t d = threadIdx.x; d < D; d += blockDim.x) ss += (double)x[d] * x[d];
        ss = block_sum(ss, sh);
        double r = 1.0 / (sqrt(ss / (double)D) + (double)eps);
        for (size_t d = threadIdx.x; d < D; d += blockDim.x) y[d] = (float)((double)g[d] * ((double)x[d] * r));
    }
}

static void cuda_rmsnorm_eps_out(hd_backend *be, const float *X, size_t M, size_t D, const float *g, float eps, float *Y)
{
    cuda_priv *P = P_(be);
    if (!M || !D) return;
    k_rmsnorm_eps_out<<<rows_grid(M), NORM_THREADS, 0, P->stream>>>(X, M, D, g, eps, Y);
    ck_launch(P, "rmsnorm_eps_out");
}

__global__ void k_rope_neox(float *X, size_t ldx, size_t hs, size_t M, size_t NH, size_t half, size_t pos0,
                            const float *inv_freq, double scale)
{
    GRID_STRIDE(i, M * NH * half) {
        size_t m = i / (NH * half), h = (i / half) % NH, j = i % half;
        double a = ((double)(pos0 + m) / scale) * (double)inv_freq[j], c = cos(a), s = sin(a);
        float *x = X + m * ldx + h * hs;
        double u = x[j], v = x[j + half];
        x[j] = (float)(u * c - v * s);
        x[j + half] = (float)(v * c + u * s);
    }
}

static void cuda_rope_neox(hd_backend *be, float *X, size_t ldx, size_t hs, size_t M, size_t NH, size_t DH, size_t pos0,
                           const float *inv_freq, double scale)
{
    cuda_priv *P = P_(be);
    size_t half = DH / 2;
    if (!M || !NH || !half) return;
    k_rope_neox<<<grid_for(M * NH * half), THREADS, 0, P->stream>>>(X, ldx, hs, M, NH, half, pos0, inv_freq, scale);
    ck_launch(P, "rope_neox");
}

#define ATT_WARPS 4
#define ATT_MAX_DH 256   // head sizes up to this (8 values per lane)

// one warp per (query row, head); lane l scores key k0 + l of each tile of 32, then every lane accumulates
// its share of the head dimensions over the tile's keys
__global__ void k_attention(const float *Q, size_t ldq, size_t hsq, const float *K, size_t ldk, size_t hsk,
                            const float *V, size_t ldv, size_t hsv, size_t M, size_t Lk, size_t NH, size_t DH,
                            size_t pos0, float scale, float *O, size_t ldo, size_t hso)
{
    __shared__ float qs[ATT_WARPS][ATT_MAX_DH];
    int w = threadIdx.x >> 5, lane = threadIdx.x & 31;
    size_t task = (size_t)blockIdx.x * ATT_WARPS + w;
    bool active = task < M * NH;
    size_t m = active ? task / NH : 0, h = active ? task % NH : 0;
    const float *q = Q + m * ldq + h * hsq;
    for (size_t d = lane; d < DH && active; d += 32) qs[w][d] = q[d];
    __syncwarp();
    if (!active) return;
    size_t nkeys = pos0 + m + 1 < Lk ? pos0 + m + 1 : Lk;
    float acc[ATT_MAX_DH / 32];
    for (int r = 0; r < ATT_MAX_DH / 32; r++) acc[r] = 0.0f;
    float mx = -INFINITY, l = 0.0f;
    for (size_t k0 = 0; k0 < nkeys; k0 += 32) {
        size_t j = k0 + lane;
        float s = -INFINITY;
        if (j < nkeys) {
            const float *kr = K + j * ldk + h * hsk;
            float t = 0.0f;
            for (size_t d = 0; d < DH; d++) t += qs[w][d] * kr[d];
            s = t * scale;
        }
        float tm = s;
        for (int o = 16; o > 0; o >>= 1) tm = fmaxf(tm, __shfl_xor_sync(0xffffffffu, tm, o));
        float mnew = fmaxf(mx, tm), corr = expf(mx - mnew), p = j < nkeys ? expf(s - mnew) : 0.0f, ps = p;
        for (int o = 16; o > 0; o >>= 1) ps += __shfl_xor_sync(0xffffffffu, ps, o);
        l = l * corr + ps;
        mx = mnew;
        for (int r = 0; r < ATT_MAX_DH / 32; r++) acc[r] *= corr;
        size_t nt = nkeys - k0 < 32 ? nkeys - k0 : 32;
        for (size_t t = 0; t < nt; t++) {
            float pt = __shfl_sync(0xffffffffu, p, (int)t);
            const float *vr = V + (k0 + t) * ldv + h * hsv;
            for (int r = 0; r < ATT_MAX_DH / 32; r++) {
                size_t d = (size_t)lane + 32 * (size_t)r;
                if (d < DH) acc[r] += pt * vr[d];
            }
        }
    }
    float *o = O + m * ldo + h * hso;
    for (int r = 0; r < ATT_MAX_DH / 32; r++) {
        size_t d = (size_t)lane + 32 * (size_t)r;
        if (d < DH) o[d] = acc[r] / l;
    }
}

static int cuda_attention(hd_backend *be, const float *Q, size_t ldq, size_t hsq, const float *K, size_t ldk, size_t hsk,
                          const float *V, size_t ldv, size_t hsv, size_t M, size_t Lk, size_t NH, size_t DH, size_t pos0,
                          float scale, float *O, size_t ldo, size_t hso)
{
    cuda_priv *P = P_(be);
    if (report(P)) return -1;
    if (!M || !NH) return 0;
    if (DH > ATT_MAX_DH) { hd_set_error(HD_EMODEL, "CUDA attention: head size %zu exceeds %d", DH, ATT_MAX_DH); return -1; }
    if (Lk < pos0 + M) { hd_set_error(HD_EMODEL, "internal error: attention over %zu keys for queries up to %zu", Lk, pos0 + M); return -1; }
    // launches of at most 65535·16 blocks, each over whole query rows
    size_t rows = (size_t)65535u * 16 * ATT_WARPS / NH;
    if (rows < 1) rows = 1;
    for (size_t m0 = 0; m0 < M && !P->err[0]; m0 += rows) {
        size_t mn = M - m0 < rows ? M - m0 : rows, nbl = (mn * NH + ATT_WARPS - 1) / ATT_WARPS;
        k_attention<<<(unsigned)nbl, 32 * ATT_WARPS, 0, P->stream>>>(Q + m0 * ldq, ldq, hsq, K, ldk, hsk, V, ldv, hsv, mn, Lk,
                                                                     NH, DH, pos0 + m0, scale, O + m0 * ldo, ldo, hso);
        ck_launch(P, "attention");
    }
    return report(P);
}

#define MODAL_SPAN 64   // positions per thread of the modal filter

__global__ void k_modal_filter(const float *R, const float *logp, size_t S, size_t cpg, size_t c0, size_t C, size_t T,
                               float *k, size_t ldk)
{
    size_t nspan = (T + MODAL_SPAN - 1) / MODAL_SPAN;
    GRID_STRIDE(i, C * nspan) {
        size_t c = i / nspan, t0 = (i % nspan) * MODAL_SPAN, g = (c0 + c) / cpg;
        const float *r = R + g * S, *lp = logp + g * S;
        size_t t1 = t0 + MODAL_SPAN < T ? t0 + MODAL_SPAN : T;
        for (size_t t = t0; t < t1; t++) {
            double v = 0;
            for (size_t s = 0; s < S; s++) v += (double)r[s] * exp((double)lp[s] * (double)t);
            k[c * ldk + t] = (float)v;
        }
    }
}

static void cuda_modal_filter(hd_backend *be, const float *R, const float *logp, size_t S, size_t cpg, size_t c0, size_t C,
                              size_t T, float *k, size_t ldk)
{
    cuda_priv *P = P_(be);
    if (!C || !T) return;
    size_t n = C * ((T + MODAL_SPAN - 1) / MODAL_SPAN);
    k_modal_filter<<<grid_for(n), THREADS, 0, P->stream>>>(R, logp, S, cpg, c0, C, T, k, ldk);
    ck_launch(P, "modal_filter");
}

// the state alone: one thread per (channel, state)
__global__ void k_modal_state(const float *x, size_t ldx, size_t C, size_t T, const float *logp, size_t S, size_t cpg,
                              size_t c0, double *state)
{
    GRID_STRIDE(i, C * S) {
        size_t c = i / S, s = i % S, g = (c0 + c) / cpg;
        double p = exp((double)logp[g * S + s]), st = state[i];
        const float *xc = x + c * ldx;
        for (size_t t = 0; t < T; t++) st = p * st + (double)xc[t];
        state[i] = st;
    }
}

// with outputs: one thread per channel
__global__ void k_modal_scan(const float *x, size_t ldx, size_t C, size_t T, const float *R, const float *logp, size_t S,
                             size_t cpg, size_t c0, const float *D, double *state, float *y, size_t ldy)
{
    GRID_STRIDE(c, C) {
        size_t g = (c0 + c) / cpg;
        const float *r = R + g * S, *lp = logp + g * S, *xc = x + c * ldx;
        double *st = state + c * S;
        for (size_t t = 0; t < T; t++) {
            double xv = xc[t], v = 0;
            for (size_t s = 0; s < S; s++) {
                st[s] = exp((double)lp[s]) * st[s] + xv;
                v += (double)r[s] * st[s];
            }
            y[c * ldy + t] = (float)(v + (D ? (double)D[c] * xv : 0.0));
        }
    }
}

static void cuda_modal_scan(hd_backend *be, const float *x, size_t ldx, size_t C, size_t T, const float *R, const float *logp,
                            size_t S, size_t cpg, size_t c0, const float *D, double *state, float *y, size_t ldy)
{
    cuda_priv *P = P_(be);
    if (!C || !T) return;
    if (!y) k_modal_state<<<grid_for(C * S), THREADS, 0, P->stream>>>(x, ldx, C, T, logp, S, cpg, c0, state);
    else k_modal_scan<<<grid_for(C), THREADS, 0, P->stream>>>(x, ldx, C, T, R, logp, S, cpg, c0, D, state, y, ldy);
    ck_launch(P, "modal_scan");
}

__global__ void k_shift_left(float *buf, size_t C, size_t W, size_t ld)
{
    GRID_STRIDE(c, C) {
        float *b = buf + c * ld;
        for (size_t j = 0; j + 1 < W; j++) b[j] = b[j + 1];
    }
}

static void cuda_shift_left(hd_backend *be, float *buf, size_t C, size_t W, size_t ld)
{
    cuda_priv *P = P_(be);
    if (!C || W < 2) return;
    k_shift_left<<<grid_for(C), THREADS, 0, P->stream>>>(buf, C, W, ld);
    ck_launch(P, "shift_left");
}

static void cuda_copy_cm(hd_backend *be, const float *src, size_t lds, float *dst, size_t ldd, size_t C, size_t T)
{
    cuda_priv *P = P_(be);
    if (!C || !T || P->err[0]) return;
    ck(P, cudaMemcpy2DAsync(dst, ldd * sizeof(float), src, lds * sizeof(float), T * sizeof(float), C,
                            cudaMemcpyDeviceToDevice, P->stream), "copy_cm");
}

__global__ void k_gated_act(float *A, size_t lda, const float *B, size_t ldb, size_t M, size_t U, int act)
{
    GRID_STRIDE(i, M * U) {
        size_t m = i / U, u = i % U;
        float *a = A + m * lda + u;
        double x = *a, b = B[m * ldb + u];
        if (act == HD_ACT_GELU) *a = (float)(0.5 * x * (1.0 + erf(x * M_SQRT1_2)) * b);
        else if (act == HD_ACT_SILU) *a = (float)(x / (1.0 + exp(-x)) * b);
        else *a = (float)(x * b);
    }
}

static void cuda_gated_act(hd_backend *be, float *A, size_t lda, const float *B, size_t ldb, size_t M, size_t U, int act)
{
    cuda_priv *P = P_(be);
    if (!M || !U) return;
    k_gated_act<<<grid_for(M * U), THREADS, 0, P->stream>>>(A, lda, B, ldb, M, U, act);
    ck_launch(P, "gated_act");
}

static void cuda_evo2_init(hd_backend *be)
{
    be->weights_bf16 = cuda_weights_bf16;
    be->linear_ex = cuda_linear_ex;
    be->rmsnorm_eps_out = cuda_rmsnorm_eps_out;
    be->rope_neox = cuda_rope_neox;
    be->attention = cuda_attention;
    be->modal_filter = cuda_modal_filter;
    be->modal_scan = cuda_modal_scan;
    be->shift_left = cuda_shift_left;
    be->copy_cm = cuda_copy_cm;
    be->gated_act = cuda_gated_act;
}
