/* cpu.c -- the CPU backend: OpenBLAS for the projections, FFTW3f for the long convolutions,
 * OpenMP threads over rows and channels. */
#include "backends/cpu/cpu.h"
#include "backends/cpu/vecmath.h"
#include "util.h"

/* fftw3.h before cblas.h: OpenBLAS pulls in <complex.h>, which would change fftwf_complex */
#include <fftw3.h>
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define MAX_PLANS 32

typedef struct {
    size_t N;
    fftwf_plan r2c, c2r;
} fft_plan;

/* One thread's fftconv buffers (hd_cpu_scratch: kept across calls, so that a forward's many calls — a layer's
 * channel groups, every layer — do not each map fresh pages the kernel must zero) */
typedef struct {
    float *buf;             /* [N] */
    fftwf_complex *U, *K;   /* [N/2 + 1] each; K only where the filter's spectrum is made on the fly */
    fftwf_complex *KP, *UP; /* [P, stride]: the spectra of the filter's and the input's blocks (part_conv) */
    float *tail;            /* [N/2] the second half of the last block's output (part_conv) */
} fft_scratch;

typedef struct {
    fft_plan plans[MAX_PLANS];
    int n_plans;
    pthread_mutex_t lock;
    int bf16;            /* projections in bf16 (set_precision; only where hd_cpu_bf16_supported) */
    int amx;             /* … on AMX tiles (where hd_cpu_amx_supported when bf16 was set) */
    size_t part_min, part_block;   /* fftconv's partitioned convolution (hd_cpu_fftconv_partition) */
    uint32_t *xp;        /* hd_cpu_xpack's buffer: xp_cap values, holding the packing of xp_key */
    size_t xp_cap;
    struct { const float *X; size_t M, K, ldx; int xt, vnni; } xp_key;
} cpu_priv;

struct hd_spectra {
    size_t C, N, nc;     /* nc = N/2 + 1 complex values per channel */
    size_t stride;       /* nc rounded up to 4 complex values: every row SIMD-aligned for FFTW */
    fftwf_complex *K;
};

static pthread_mutex_t fftw_planner_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---------------------------------------------------------------- memory */

static void *cpu_alloc(hd_backend *be, size_t bytes, const char *what) { return hd_alloc(bytes, what); }
static void cpu_free(hd_backend *be, void *p) { hd_free(p); }
static const float *cpu_weights(hd_backend *be, const float *host, size_t n) { return host; }
static void cpu_copy(hd_backend *be, void *dst, const void *src, size_t bytes)
{
    if (dst != src) memcpy(dst, src, bytes);
}

/* ---------------------------------------------------------------- per-thread scratch */

/* Each thread's scratch buffers, kept from one op to the next (a buffer freed and allocated again at every GEMM
 * comes back from the kernel as fresh zeroed pages, which cost as much as the packing itself) and freed when the
 * thread ends. */
typedef struct { void *p[HD_CPU_SCRATCH_SLOTS]; size_t cap[HD_CPU_SCRATCH_SLOTS]; } scratch_set;
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *v)
{
    scratch_set *S = v;
    for (int i = 0; i < HD_CPU_SCRATCH_SLOTS; i++) free(S->p[i]);
    free(S);
}
static void scratch_init(void) { pthread_key_create(&scratch_key, scratch_free); }

void *hd_cpu_scratch(int slot, size_t bytes)
{
    pthread_once(&scratch_once, scratch_init);
    scratch_set *S = pthread_getspecific(scratch_key);
    if (!S) {
        if (!(S = calloc(1, sizeof *S))) return NULL;
        if (pthread_setspecific(scratch_key, S)) { free(S); return NULL; }
    }
    if (bytes > S->cap[slot]) {
        free(S->p[slot]);
        S->cap[slot] = 0;
        if (!(S->p[slot] = aligned_alloc(64, (bytes + 63) / 64 * 64))) return NULL;
        S->cap[slot] = bytes;
    }
    return S->p[slot];
}

/* ---------------------------------------------------------------- dense */

HD_CLONES void hd_cpu_fill(float *y, float v, size_t n)
{
    #pragma omp simd
    for (size_t i = 0; i < n; i++) y[i] = v;
}

static void fill_bias_rows(float *Y, size_t M, size_t N, size_t ldy, const float *b)
{
    #pragma omp parallel for schedule(static) if (M * N > 65536)
    for (size_t m = 0; m < M; m++) {
        if (b) memcpy(Y + m * ldy, b, N * sizeof(float));
        else memset(Y + m * ldy, 0, N * sizeof(float));
    }
}

/* GEMMs are split into fixed blocks of positions, each computed by a single-threaded GEMM on one
 * OpenMP thread: the block layout does not depend on the thread count, so results are bit-identical
 * with 1 and N threads (OpenBLAS's own threading changes the rounding with the thread count). */

void hd_cpu_w_init(hd_backend *be, hd_cpu_w *w, const float *W, size_t N, size_t K, int yt, size_t M)
{
    cpu_priv *P = be->priv;
    w->W = W, w->N = N, w->K = K, w->amx = P->amx, w->gemv = 0;
    w->bf = w->bfr = NULL;
    if (!P->bf16 || !N || !K) return;
    if (M <= HD_CPU_BF16_GEMV_M) { w->gemv = 1; return; }   /* a decoding step: no packing */
    if (P->amx && yt) w->bfr = hd_cpu_bf16_pack_w(W, N, K, 1);   /* AMX, channel-major out: the weights as A tiles */
    else w->bf = hd_cpu_bf16_pack_w(W, N, K, 0);
}

int hd_cpu_gemm_kind(hd_backend *be)
{
    cpu_priv *P = be->priv;
    return !P->bf16 ? HD_CPU_FP32 : P->amx ? HD_CPU_AMX : HD_CPU_BF16;
}

void hd_cpu_w_free(hd_cpu_w *w)
{
    free(w->bf);
    free(w->bfr);
    w->bf = w->bfr = NULL;
}

void hd_cpu_gemm(int xt, int yt, size_t M, size_t N, size_t K, const float *X, size_t ldx, const hd_cpu_w *w, float *Y,
                 size_t ldy)
{
    if (!M || !N) return;
    if (w->gemv && M <= HD_CPU_BF16_GEMV_M && !hd_cpu_bf16_gemv(xt, yt, M, N, K, X, ldx, w->W, 0, Y, ldy)) return;
    if (w->bfr && yt && !hd_cpu_amx_gemm_cm(xt, M, N, K, X, ldx, w->bfr, Y, ldy)) return;
    if (w->bf && !(w->amx ? hd_cpu_amx_gemm : hd_cpu_bf16_gemm)(xt, yt, M, N, K, X, ldx, w->bf, Y, ldy)) return;
    const float *W = w->W;
    if (!yt)
        cblas_sgemm(CblasRowMajor, xt ? CblasTrans : CblasNoTrans, CblasTrans, (int)M, (int)N, (int)K, 1.0f, X, (int)ldx,
                    W, (int)K, 1.0f, Y, (int)ldy);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, xt ? CblasNoTrans : CblasTrans, (int)N, (int)M, (int)K, 1.0f, W, (int)K,
                    X, (int)ldx, 1.0f, Y, (int)ldy);
}

/* Y (+)= X·Wᵀ in fixed blocks of HD_GEMM_BLOCK positions, one single-threaded GEMM per block, so that the
 * rounding never depends on the thread count; xt / yt: X / Y channel-major (position m at column m) */
static void blocked_gemm(hd_backend *be, int xt, int yt, const float *X, size_t ldx, size_t M, size_t K,
                         const float *W, size_t N, float *Y, size_t ldy)
{
    hd_cpu_w w;
    hd_cpu_w_init(be, &w, W, N, K, yt, M);
    #pragma omp parallel for schedule(dynamic, 1) if (M > HD_GEMM_BLOCK)
    for (size_t m0 = 0; m0 < M; m0 += HD_GEMM_BLOCK) {
        size_t mb = M - m0 < HD_GEMM_BLOCK ? M - m0 : HD_GEMM_BLOCK;
        hd_cpu_gemm(xt, yt, mb, N, K, xt ? X + m0 : X + m0 * ldx, ldx, &w, yt ? Y + m0 : Y + m0 * ldy, ldy);
    }
    hd_cpu_w_free(&w);
}

static void cpu_linear(hd_backend *be, const float *X, size_t M, size_t K, size_t ldx,
                       const float *W, const float *b, size_t N, float *Y, size_t ldy)
{
    if (!M || !N) return;
    fill_bias_rows(Y, M, N, ldy, b);
    blocked_gemm(be, 0, 0, X, ldx, M, K, W, N, Y, ldy);
}

static void cpu_linear_cm_out(hd_backend *be, const float *X, size_t M, size_t K, size_t ldx,
                              const float *W, const float *b, size_t N, float *Yt, size_t ldy)
{
    if (!M || !N) return;
    #pragma omp parallel for schedule(static) if (M * N > 65536)
    for (size_t n = 0; n < N; n++) hd_cpu_fill(Yt + n * ldy, b ? b[n] : 0.0f, M);
    blocked_gemm(be, 0, 1, X, ldx, M, K, W, N, Yt, ldy);
}

static void cpu_linear_cm_in(hd_backend *be, const float *Xt, size_t M, size_t K, size_t ldx,
                             const float *W, const float *b, size_t N, float *Y, size_t ldy)
{
    if (!M || !N) return;
    fill_bias_rows(Y, M, N, ldy, b);
    blocked_gemm(be, 1, 0, Xt, ldx, M, K, W, N, Y, ldy);
}

/* ---------------------------------------------------------------- position-wise */

/* Σ a[0..16) pairwise, in a fixed order */
static inline float lanes16(const float *a)
{
    float b[8];
    for (int i = 0; i < 8; i++) b[i] = a[i] + a[i + 8];
    return ((b[0] + b[4]) + (b[1] + b[5])) + ((b[2] + b[6]) + (b[3] + b[7]));
}

/* LayerNorm of one row in float (docs/models.md §3.6): the mean, then the mean square of x − mean (two passes,
 * so a large mean costs no precision), each summed in 16 lanes (value d into lane d mod 16) added pairwise at
 * the end — an order fixed by D alone, whatever the vector width, the alignment or the row's place */
HD_CLONES void hd_cpu_layernorm_row(const float *x, size_t D, const float *g, const float *bt, float eps, float *y)
{
    float s[16] = {0}, q[16] = {0};
    size_t d = 0;
    for (; d + 16 <= D; d += 16) {
        #pragma omp simd
        for (int i = 0; i < 16; i++) s[i] += x[d + i];
    }
    for (int i = 0; d + i < D; i++) s[i] += x[d + i];
    float mu = lanes16(s) / (float)D;
    for (d = 0; d + 16 <= D; d += 16) {
        #pragma omp simd
        for (int i = 0; i < 16; i++) {
            float t = x[d + i] - mu;
            q[i] += t * t;
        }
    }
    for (int i = 0; d + i < D; i++) {
        float t = x[d + i] - mu;
        q[i] += t * t;
    }
    float rstd = 1.0f / sqrtf(lanes16(q) / (float)D + eps);
    if (bt) {
        #pragma omp simd
        for (size_t k = 0; k < D; k++) y[k] = (x[k] - mu) * rstd * g[k] + bt[k];
    } else {
        #pragma omp simd
        for (size_t k = 0; k < D; k++) y[k] = (x[k] - mu) * rstd * g[k];
    }
}

static void cpu_layernorm(hd_backend *be, const float *X, size_t M, size_t D, const float *g, const float *bt,
                          float eps, float *Y)
{
    #pragma omp parallel for schedule(static) if (M * D > 32768)
    for (size_t m = 0; m < M; m++) hd_cpu_layernorm_row(X + m * D, D, g, bt, eps, Y + m * D);
}

static void cpu_rmsnorm(hd_backend *be, const float *X, size_t M, size_t D, const float *g, float eps, float *Y)
{
    #pragma omp parallel for schedule(static) if (M * D > 32768)
    for (size_t m = 0; m < M; m++) {
        const float *x = X + m * D;
        float *y = Y + m * D;
        double ss = 0;
        for (size_t d = 0; d < D; d++) ss += (double)x[d] * x[d];
        float r = (float)(1.0 / sqrt(ss / (double)D + eps));
        for (size_t d = 0; d < D; d++) y[d] = x[d] * r * g[d];
    }
}

/* gelu_tanh(a) = 0.5·a·(1 + tanh(u)) = a / (1 + exp(−2u)), u = sqrt(2/π)·(a + 0.044715·a³):
 * the same function, through an exp that vectorises (backends/cpu/vecmath.h) */
HD_CLONES void hd_cpu_gelu_tanh(float *x, size_t n)
{
    const float k0 = -2.0f * 0.7978845608028654f, k1 = 0.044715f;
    #pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float a = x[i];
        x[i] = a / (1.0f + hd_expf(k0 * (a + k1 * a * a * a)));
    }
}

static void cpu_gelu_tanh(hd_backend *be, float *x, size_t n)
{
    const size_t step = 16384;
    #pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i += step) hd_cpu_gelu_tanh(x + i, n - i < step ? n - i : step);
}

HD_CLONES void hd_cpu_add(float *y, const float *x, size_t n)
{
    #pragma omp simd
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

static void cpu_add(hd_backend *be, float *y, const float *x, size_t n)
{
    const size_t step = 16384;
    #pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i += step) hd_cpu_add(y + i, x + i, n - i < step ? n - i : step);
}

/* x[h] = sin(freq[h]·x[h]) over one row: the vectorised sine (vecmath.h) where every argument is within its
 * range, else libm's */
HD_CLONES static void sin_freq_row(float *x, size_t H, const float *freq)
{
    float big = 0.0f;
    #pragma omp simd reduction(max : big)
    for (size_t h = 0; h < H; h++) {
        float a = fabsf(freq[h] * x[h]);
        big = a > big ? a : big;
    }
    if (big <= 65536.0f) {
        #pragma omp simd
        for (size_t h = 0; h < H; h++) x[h] = hd_sinf(freq[h] * x[h]);
    } else
        for (size_t h = 0; h < H; h++) x[h] = sinf(freq[h] * x[h]);
}

static void cpu_sin_freq(hd_backend *be, float *x, size_t M, size_t H, const float *freq)
{
    #pragma omp parallel for schedule(static) if (M * H > 32768)
    for (size_t m = 0; m < M; m++) sin_freq_row(x + m * H, H, freq);
}

HD_CLONES static void modulate_row(float *kc, const float *t, size_t T, float ad, float shift)
{
    #pragma omp simd
    for (size_t i = 0; i < T; i++) kc[i] *= hd_expf(-t[i] * ad) + shift;
}

static void cpu_modulate_cm(hd_backend *be, float *k, size_t C, size_t T, size_t ldk, const float *t,
                            const float *delta, float shift)
{
    #pragma omp parallel for schedule(static) if (C * T > 32768)
    for (size_t c = 0; c < C; c++) modulate_row(k + c * ldk, t, T, fabsf(delta[c]), shift);
}

/* ---------------------------------------------------------------- per channel */

/* ys[u] = bias + Σ_j w[j]·xs[u + j] for u < n (xs: the input of the first output, tap 0), the taps in order: 64
 * outputs at a time held in four vectors across the taps (a pass over ys per tap loads and stores every output K
 * times), then the rest tap by tap */
typedef float conv_v16 __attribute__((vector_size(64)));
HD_CLONES static void conv_row(const float *xs, const float *w, size_t K, float bias, float *ys, size_t n)
{
    size_t u0 = 0;
    for (; u0 + 64 <= n; u0 += 64) {
        conv_v16 a0, a1, a2, a3, x0, x1, x2, x3;
        a0 = a1 = a2 = a3 = (conv_v16){0} + bias;
        const float *x = xs + u0;
        for (size_t j = 0; j < K; j++) {
            conv_v16 wj = (conv_v16){0} + w[j];
            memcpy(&x0, x + j, 64), memcpy(&x1, x + j + 16, 64), memcpy(&x2, x + j + 32, 64), memcpy(&x3, x + j + 48, 64);
            a0 += wj * x0, a1 += wj * x1, a2 += wj * x2, a3 += wj * x3;
        }
        memcpy(ys + u0, &a0, 64), memcpy(ys + u0 + 16, &a1, 64), memcpy(ys + u0 + 32, &a2, 64), memcpy(ys + u0 + 48, &a3, 64);
    }
    for (size_t u = u0; u < n; u++) ys[u] = bias;
    for (size_t j = 0; j < K; j++) {
        float wj = w[j];
        #pragma omp simd
        for (size_t u = u0; u < n; u++) ys[u] += wj * xs[u + j];
    }
}

void hd_cpu_causal_conv_row(const float *xc, size_t T, size_t hist, const float *wc, size_t K, float bias, float *yc)
{
    /* output t reads x[hist + t − (K−1) + j]; the first outputs may reach before the history */
    size_t t0 = hist >= K - 1 ? 0 : K - 1 - hist;
    if (t0 > T) t0 = T;
    if (t0 >= 16 && K <= 1024) {   /* through conv_row on a copy with zeros before the sequence: the same sums
                                    * (a zero tap adds nothing) for the K − 1 − hist first outputs */
        float pad[2048];
        size_t z = K - 1 - hist, n = hist + t0;   /* zeros, then x[0 … hist + t0 − 1] */
        memset(pad, 0, z * sizeof(float));
        memcpy(pad + z, xc, n * sizeof(float));
        conv_row(pad, wc, K, bias, yc, t0);
    } else
    for (size_t t = 0; t < t0; t++) {   /* taps j ≥ K − 1 − hist − t only, in the same order */
        float s = bias;
        for (size_t j = K - 1 - hist - t; j < K; j++) s += wc[j] * xc[hist + t + j - (K - 1)];
        yc[t] = s;
    }
    conv_row(xc + (hist + t0 - (K - 1)), wc, K, bias, yc + t0, T - t0);
}

static void cpu_causal_conv(hd_backend *be, const float *x, size_t C, size_t T, size_t ldx, size_t hist,
                            const float *w, size_t K, const float *b, float *y, size_t ldy)
{
    #pragma omp parallel for schedule(static) if (C * T > 32768)
    for (size_t c = 0; c < C; c++)
        hd_cpu_causal_conv_row(x + c * ldx, T, hist, w + c * K, K, b ? b[c] : 0.0f, y + c * ldy);
}

HD_CLONES void hd_cpu_mul(const float *a, const float *b, float *y, size_t T)
{
    #pragma omp simd   /* y may be a or b itself: element t only reads and writes index t */
    for (size_t t = 0; t < T; t++) y[t] = a[t] * b[t];
}

static void cpu_mul_cm(hd_backend *be, const float *a, size_t lda, const float *b, size_t ldb, float *y, size_t ldy,
                       size_t C, size_t T)
{
    #pragma omp parallel for schedule(static) if (C * T > 32768)
    for (size_t c = 0; c < C; c++) hd_cpu_mul(a + c * lda, b + c * ldb, y + c * ldy, T);
}

/* ---------------------------------------------------------------- cached decoding */

/* Σ_{j≤t} k[j]·u[t−j], in eight interleaved partial sums (a fixed order: the same result on every call) */
HD_CLONES static float conv_dot(const float *k, const float *u, size_t t)
{
    float acc[8] = {0};
    size_t n = t + 1, j = 0;
    for (; j + 8 <= n; j += 8)
        for (size_t i = 0; i < 8; i++) acc[i] += k[j + i] * u[t - j - i];
    for (; j < n; j++) acc[j & 7] += k[j] * u[t - j];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

static void cpu_longconv_step(hd_backend *be, const float *u, size_t ldu, size_t t, const float *k, size_t ldk,
                              const float *dbias, size_t C, float *y, size_t ldy)
{
    #pragma omp parallel for schedule(static) if (C * t > 65536)
    for (size_t c = 0; c < C; c++) {
        const float *uc = u + c * ldu;
        y[c * ldy] += conv_dot(k + c * ldk, uc, t) + (dbias ? dbias[c] * uc[t] : 0.0f);
    }
}

/* ---------------------------------------------------------------- FFT */

/* FFT size for length L: N ≥ 2L−1 (a linear, not circular, convolution: docs/models.md §3.4.6), the smallest
 * 2^a·3^b·5^c: FFTW transforms these as fast per point as a power of two, and the smaller N wins, most of all
 * out of cache (2,000,000 points for L = 1,000,000 take 26 % less time than 2^21).  The CUDA backend picks
 * the same N (cached spectra are keyed by it). */
static size_t cpu_fft_size(hd_backend *be, size_t L)
{
    size_t need = L ? 2 * L - 1 : 1, best = 1;
    while (best < need) best <<= 1;
    for (size_t p5 = 1; p5 < best; p5 *= 5)
        for (size_t p3 = p5; p3 < best; p3 *= 3) {
            size_t v = p3;
            while (v < need) v <<= 1;
            if (v < best) best = v;
        }
    return best < 2 ? 2 : best;
}

/* ---- FFTW wisdom: measured plans for large sizes, cached across runs in
 * $HYENADNA_FFTW_WISDOM, else $XDG_CACHE_HOME/hyenadna/fftw3f.wisdom, else ~/.cache/hyenadna/fftw3f.wisdom.
 * HYENADNA_FFT_PLANNER=estimate keeps the cheap planner for every size; =measure (the default) measures the
 * large sizes; =patient plans them with FFTW_PATIENT instead (r2c + c2r of 2^16–2^18 points 14–24 % faster here,
 * after 15–66 s of planning per size the first time; the wisdom keeps them, and later measure runs use them
 * too); any other value is refused when the backend is made.  Called under fftw_planner_lock. */
#define FFT_MEASURE_MIN ((size_t)1 << 16)

static const char *planner_env(void)
{
    const char *e = getenv("HYENADNA_FFT_PLANNER");
    return e ? e : "";
}
static int measure_wanted(void) { return strcmp(planner_env(), "estimate") != 0; }
static unsigned large_planner(void) { return !strcmp(planner_env(), "patient") ? FFTW_PATIENT : FFTW_MEASURE; }

static const char *wisdom_path(void)
{
    static char *path;
    static int done;
    if (!done) {
        done = 1;
        const char *w = getenv("HYENADNA_FFTW_WISDOM"), *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
        if (!h || !*h) {   /* HOME unset (some batch systems): the user's home, as the Hub cache finds it */
            struct passwd *pw = getpwuid(getuid());
            h = pw ? pw->pw_dir : NULL;
        }
        if (w && *w) path = hd_sprintf("%s", w);
        else if (x && *x) path = hd_sprintf("%s/hyenadna/fftw3f.wisdom", x);
        else if (h && *h) path = hd_sprintf("%s/.cache/hyenadna/fftw3f.wisdom", h);
    }
    return path;
}

static void wisdom_load(void)
{
    static int loaded;
    if (loaded) return;
    loaded = 1;
    const char *p = wisdom_path();
    if (p) fftwf_import_wisdom_from_filename(p);   /* absent or unreadable: plans are measured */
}

/* Write the wisdom beside its final name under a name of its own (mkstemp: runs on other hosts sharing the
 * folder, whose process ids may be alike, never write one file), then rename: a concurrent run never reads
 * half a file.  A cache that cannot be written (a read-only or missing home, a path that is a directory) is
 * left alone, and nothing is left beside it: the run does not need it. */
static void wisdom_save(void)
{
    const char *p = wisdom_path();
    if (!p) return;
    char *dir = hd_sprintf("%s", p), *tmp = NULL;
    char *slash = dir ? strrchr(dir, '/') : NULL;
    if (slash && slash != dir) {
        *slash = 0;
        for (char *q = dir + 1; *q; q++)
            if (*q == '/') { *q = 0; mkdir(dir, 0755); *q = '/'; }
        mkdir(dir, 0755);
        *slash = '/';
    }
    const char *base = slash ? slash + 1 : p;
    if (dir && (tmp = hd_sprintf("%.*s.%s.tmp.XXXXXX", slash ? (int)(slash + 1 - dir) : 0, dir, base))) {
        int fd = mkstemp(tmp);
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (fd >= 0) {
            mode_t um = umask(0);
            umask(um);
            fchmod(fd, 0666 & ~um);   /* readable by whoever shares the cache, as a file fopen makes */
            int ok = f != NULL;
            if (f) {
                fftwf_export_wisdom_to_file(f);
                ok = !ferror(f);
                ok &= fclose(f) == 0;
            } else close(fd);
            if (!ok || rename(tmp, p) < 0) unlink(tmp);
        }
    }
    free(tmp);
    free(dir);
}

void hd_cpu_kernels_get(hd_cpu_kernels *k)
{
    memset(k, 0, sizeof *k);
#ifdef OPENBLAS_VERSION
    snprintf(k->blas, sizeof k->blas, "%s", &OPENBLAS_VERSION[OPENBLAS_VERSION[0] == ' ']);
    char *e = k->blas + strlen(k->blas);
    while (e > k->blas && e[-1] == ' ') *--e = 0;
    snprintf(k->blas_core, sizeof k->blas_core, "%s", openblas_get_corename());
    snprintf(k->blas_config, sizeof k->blas_config, "%s", openblas_get_config());
    e = k->blas_config + strlen(k->blas_config);
    while (e > k->blas_config && e[-1] == ' ') *--e = 0;
#else
    snprintf(k->blas, sizeof k->blas, "cblas");
#endif
    if (measure_wanted())
        snprintf(k->fft_planner, sizeof k->fft_planner, "estimate below %zu points, %s from %zu", FFT_MEASURE_MIN,
                 large_planner() == FFTW_PATIENT ? "patient" : "measure", FFT_MEASURE_MIN);
    else snprintf(k->fft_planner, sizeof k->fft_planner, "estimate");
    const char *p = wisdom_path();
    if (p) {
        snprintf(k->fft_wisdom, sizeof k->fft_wisdom, "%s", p);
        k->fft_wisdom_present = access(p, R_OK) == 0;
    }
}

static fft_plan *get_plan(hd_backend *be, size_t N)
{
    cpu_priv *P = be->priv;
    pthread_mutex_lock(&P->lock);
    fft_plan *res = NULL;
    for (int i = 0; i < P->n_plans; i++)
        if (P->plans[i].N == N) { res = &P->plans[i]; goto out; }
    if (P->n_plans == MAX_PLANS) {   /* evict the oldest */
        fftwf_destroy_plan(P->plans[0].r2c);
        fftwf_destroy_plan(P->plans[0].c2r);
        memmove(P->plans, P->plans + 1, (MAX_PLANS - 1) * sizeof *P->plans);
        P->n_plans--;
    }
    float *in = fftwf_malloc(N * sizeof(float));
    fftwf_complex *out = fftwf_malloc((N / 2 + 1) * sizeof(fftwf_complex));
    if (!in || !out) {
        fftwf_free(in);
        fftwf_free(out);
        hd_set_error(HD_EMODEL, "out of memory for an FFT of size %zu", N);
        goto out;
    }
    pthread_mutex_lock(&fftw_planner_lock);
    fft_plan *p = &P->plans[P->n_plans];
    p->N = N;
    p->r2c = p->c2r = NULL;
    if (N >= FFT_MEASURE_MIN && measure_wanted()) {
        /* large transforms: measured plans (about 1.6× faster at 2^21 points) from the wisdom cache, or
         * measured now (some 20 s per plan at 2^21) and added to the cache for the next runs */
        unsigned how = large_planner();
        wisdom_load();
        p->r2c = fftwf_plan_dft_r2c_1d((int)N, in, out, how | FFTW_WISDOM_ONLY);
        p->c2r = fftwf_plan_dft_c2r_1d((int)N, out, in, how | FFTW_WISDOM_ONLY);
        if (!p->r2c || !p->c2r) {
            if (p->r2c) fftwf_destroy_plan(p->r2c);
            if (p->c2r) fftwf_destroy_plan(p->c2r);
            if (isatty(STDERR_FILENO))
                fprintf(stderr, "hyenadna: measuring the fastest FFT of %zu points once (cached in %s)\n", N,
                        wisdom_path() ? wisdom_path() : "memory");
            p->r2c = fftwf_plan_dft_r2c_1d((int)N, in, out, how);
            p->c2r = fftwf_plan_dft_c2r_1d((int)N, out, in, how);
            wisdom_save();
        }
    } else {
        /* small transforms: FFTW_ESTIMATE plans cost nothing and run nearly as fast */
        p->r2c = fftwf_plan_dft_r2c_1d((int)N, in, out, FFTW_ESTIMATE);
        p->c2r = fftwf_plan_dft_c2r_1d((int)N, out, in, FFTW_ESTIMATE);
    }
    pthread_mutex_unlock(&fftw_planner_lock);
    fftwf_free(in);
    fftwf_free(out);
    if (!p->r2c || !p->c2r) { hd_set_error(HD_EMODEL, "FFTW could not plan a transform of size %zu", N); goto out; }
    P->n_plans++;
    res = p;
out:
    pthread_mutex_unlock(&P->lock);
    return res;
}

static size_t spectra_stride(size_t N) { return (N / 2 + 1 + 3) & ~(size_t)3; }
static size_t cpu_spectra_bytes(hd_backend *be, size_t C, size_t N) { return C * spectra_stride(N) * sizeof(fftwf_complex); }

/* Transform one filter row (zero-padded to N) into K[0..nc), scaled by 1/N. */
static void filter_spectrum(const fft_plan *p, const float *k, size_t Lk, float *buf, fftwf_complex *K)
{
    size_t N = p->N, n = Lk < N ? Lk : N;
    memcpy(buf, k, n * sizeof(float));
    memset(buf + n, 0, (N - n) * sizeof(float));
    fftwf_execute_dft_r2c(p->r2c, buf, K);
    float s = 1.0f / (float)N;
    for (size_t i = 0; i < N / 2 + 1; i++) { K[i][0] *= s; K[i][1] *= s; }
}

static hd_spectra *cpu_spectra_new(hd_backend *be, const float *k, size_t C, size_t Lk, size_t ldk, size_t N)
{
    fft_plan *p = get_plan(be, N);
    if (!p) return NULL;
    hd_spectra *s = calloc(1, sizeof *s);
    if (!s) { hd_set_error(HD_EMODEL, "out of memory"); return NULL; }
    s->C = C;
    s->N = N;
    s->nc = N / 2 + 1;
    s->stride = spectra_stride(N);
    size_t kb = C * s->stride * sizeof(fftwf_complex);
    if (kb >= ((size_t)64 << 20) && kb > hd_mem_available()) {   /* fftwf_malloc bypasses hd_alloc's check */
        char a[32], b[32];
        hd_set_error(HD_EMODEL, "out of memory: the filter spectra (%zu channels × %zu) need %s but only %s are available",
                     C, N, hd_fmt_bytes((double)kb, a, sizeof a), hd_fmt_bytes((double)hd_mem_available(), b, sizeof b));
        free(s);
        return NULL;
    }
    s->K = fftwf_malloc(kb);
    if (!s->K) { free(s); hd_set_error(HD_EMODEL, "out of memory for filter spectra (%zu channels × %zu)", C, N); return NULL; }
    int fail = 0;
    #pragma omp parallel
    {
        float *buf = fftwf_malloc(N * sizeof(float));
        if (!buf) {
            #pragma omp atomic write
            fail = 1;
        }
        #pragma omp for schedule(dynamic, 4)
        for (size_t c = 0; c < C; c++)
            if (buf) filter_spectrum(p, k + c * ldk, Lk, buf, s->K + c * s->stride);
        fftwf_free(buf);
    }
    if (fail) {
        fftwf_free(s->K);
        free(s);
        hd_set_error(HD_EMODEL, "out of memory for FFT buffers of size %zu", N);
        return NULL;
    }
    return s;
}

static void cpu_spectra_free(hd_backend *be, hd_spectra *s)
{
    if (!s) return;
    fftwf_free(s->K);
    free(s);
}

/* U[i] ← U[i]·K[i] over n complex values stored as (re, im) float pairs */
HD_CLONES static void cmul_row(float *U, const float *K, size_t n)
{
    #pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float ur = U[2 * i], ui = U[2 * i + 1], kr = K[2 * i], ki = K[2 * i + 1];
        U[2 * i] = ur * kr - ui * ki;
        U[2 * i + 1] = ur * ki + ui * kr;
    }
}

/* ---- the partitioned convolution: a long convolution whose one transform would not fit in cache (2·10^6
 * points at L = 10^6 run at half the speed per point of 2^18) as blocks of B positions.  With the filter's
 * blocks k_i and the input's blocks u_j (i, j < P = ⌈L/B⌉), each zero-padded to M = 2B points,
 *   S_j = Σ_{i≤j} FFT(k_i)·FFT(u_j−i),  s_j = IFFT(S_j)  (the linear convolutions, 2B − 1 values: no wrap),
 *   y[jB + t] = s_j[t] + s_j−1[B + t]   (t < B)
 * which is the causal convolution of docs/models.md §3.4.6 (any N ≥ 2B − 1 per block: §3.4.6).  3P transforms
 * of 2B points cost as many points as 3 of 2L, in cache; the P(P+1)/2 spectrum products are the extra work. */

static size_t part_stride(size_t M) { return (M / 2 + 1 + 7) & ~(size_t)7; }   /* rows on 64-byte boundaries */

/* U_j ← Σ_{i≤j} K_i·U_{j−i} for every j < P over bins [f0, f0 + n) (j from the last down, so that each U_j
 * is replaced only after every S_j' that reads it), in a fixed order */
HD_CLONES static void part_products(const float *KP, float *UP, size_t stride, size_t P, size_t f0, size_t n)
{
    float acc[2 * 256];
    for (size_t j = P; j-- > 0;) {
        const float *k0 = KP + 2 * f0, *uj = UP + 2 * (j * stride + f0);
        #pragma omp simd
        for (size_t f = 0; f < n; f++) {
            float kr = k0[2 * f], ki = k0[2 * f + 1], ur = uj[2 * f], ui = uj[2 * f + 1];
            acc[2 * f] = kr * ur - ki * ui;
            acc[2 * f + 1] = kr * ui + ki * ur;
        }
        for (size_t i = 1; i <= j; i++) {
            const float *ki_ = KP + 2 * (i * stride + f0), *ui_ = UP + 2 * ((j - i) * stride + f0);
            #pragma omp simd
            for (size_t f = 0; f < n; f++) {
                float kr = ki_[2 * f], ki = ki_[2 * f + 1], ur = ui_[2 * f], ui = ui_[2 * f + 1];
                acc[2 * f] += kr * ur - ki * ui;
                acc[2 * f + 1] += kr * ui + ki * ur;
            }
        }
        memcpy(UP + 2 * (j * stride + f0), acc, 2 * n * sizeof(float));
    }
}

/* one channel: uc[t] ← (k ∗ u)[t] + db·uc[t] for t < L, k with Lk ≥ 1 taps (plan p: M = 2B points) */
static void part_conv(const fft_plan *p, fft_scratch *f, size_t B, float *uc, size_t L, const float *k, size_t Lk,
                      float db)
{
    size_t M = p->N, nc = M / 2 + 1, stride = part_stride(M), P = (L + B - 1) / B, taps = Lk < L ? Lk : L;
    float *buf = f->buf, s = 1.0f / (float)M;
    for (size_t i = 0; i < P; i++) {   /* the filter's blocks, scaled by 1/M, and the input's */
        size_t a = i * B, n = a < taps ? (taps - a < B ? taps - a : B) : 0;
        fftwf_complex *K = f->KP + i * stride;
        if (n) memcpy(buf, k + a, n * sizeof(float));
        memset(buf + n, 0, (M - n) * sizeof(float));
        fftwf_execute_dft_r2c(p->r2c, buf, K);
        for (size_t q = 0; q < nc; q++) { K[q][0] *= s; K[q][1] *= s; }
        n = L - a < B ? L - a : B;
        memcpy(buf, uc + a, n * sizeof(float));
        memset(buf + n, 0, (M - n) * sizeof(float));
        fftwf_execute_dft_r2c(p->r2c, buf, f->UP + i * stride);
    }
    for (size_t f0 = 0; f0 < nc; f0 += 256)
        part_products((const float *)f->KP, (float *)f->UP, stride, P, f0, nc - f0 < 256 ? nc - f0 : 256);
    for (size_t j = 0; j < P; j++) {
        size_t a = j * B, n = L - a < B ? L - a : B;
        fftwf_execute_dft_c2r(p->c2r, f->UP + j * stride, buf);
        float *y = uc + a, *tl = f->tail;
        if (j) for (size_t t = 0; t < n; t++) y[t] = (buf[t] + tl[t]) + db * y[t];
        else for (size_t t = 0; t < n; t++) y[t] = buf[t] + db * y[t];
        memcpy(tl, buf + B, B * sizeof(float));
    }
}

void hd_cpu_fftconv_partition(hd_backend *be, size_t min_n, size_t block)
{
    cpu_priv *P = be->priv;
    P->part_min = min_n;
    P->part_block = block;
}

/* The block for length L: the power of two from 2^15 to 2^17 (transforms of 64k to 256k points, which FFTW
 * runs at about 3 ns a point here against 5.4 at 2·10^6) with the least estimated work, 3P transforms of 2B
 * points plus the P(P+1)/2 spectrum products (a bin's product taken as a tenth of a transform's point).
 * Measured per channel at L = 10^6: 19 ms against 28–32 for one transform of 2·10^6 points (and 44 for 2^21);
 * at L = 160,000 (B = 2^15): 2.4–2.8 ms against 2.8–3.0. */
static size_t part_block(const cpu_priv *P, size_t L)
{
    if (P->part_block) return P->part_block;
    size_t best = 0;
    double cost = 0;
    for (size_t B = (size_t)1 << 15; B <= (size_t)1 << 17; B <<= 1) {
        double n = (double)((L + B - 1) / B), c = 3 * n * 2 * (double)B + 0.1 * n * (n + 1) / 2 * (double)B;
        if (!best || c < cost) best = B, cost = c;
    }
    return best;
}

/* This thread's buffers for N points (K with want_k; the blocks of part_conv for `parts` blocks of N/2 positions
 * with parts > 0), NULL when out of memory */
static fft_scratch *thread_scratch(fft_scratch *f, size_t N, int want_k, size_t parts)
{
    size_t nc = N / 2 + 1, np = parts * part_stride(N);
    f->buf = hd_cpu_scratch(HD_CPU_SCRATCH_FFT_BUF, N * sizeof(float));
    f->U = hd_cpu_scratch(HD_CPU_SCRATCH_FFT_U, nc * sizeof(fftwf_complex));
    f->K = want_k ? hd_cpu_scratch(HD_CPU_SCRATCH_FFT_K, nc * sizeof(fftwf_complex)) : NULL;
    f->KP = parts ? hd_cpu_scratch(HD_CPU_SCRATCH_FFT_KP, np * sizeof(fftwf_complex)) : NULL;
    f->UP = parts ? hd_cpu_scratch(HD_CPU_SCRATCH_FFT_UP, np * sizeof(fftwf_complex)) : NULL;
    f->tail = parts ? hd_cpu_scratch(HD_CPU_SCRATCH_FFT_TAIL, N / 2 * sizeof(float)) : NULL;
    int ok = f->buf && f->U && (!want_k || f->K) && (!parts || (f->KP && f->UP && f->tail));
    return ok ? f : NULL;
}

/* cpu_fftconv without cached spectra, by blocks (part_conv) */
static int fftconv_part(hd_backend *be, float *u, size_t C, size_t L, size_t ldu, size_t B, const float *k, size_t Lk,
                        size_t ldk, const float *dbias)
{
    size_t M = 2 * B, nP = (L + B - 1) / B;
    fft_plan *p = get_plan(be, M);
    if (!p) return -1;
    int fail = 0;
    #pragma omp parallel
    {
        fft_scratch fb, *f = thread_scratch(&fb, M, 0, nP);
        if (!f) {
            #pragma omp atomic write
            fail = 1;
        }
        #pragma omp for schedule(dynamic, 1)
        for (size_t c = 0; c < C; c++)
            if (f) part_conv(p, f, B, u + c * ldu, L, k + c * ldk, Lk, dbias ? dbias[c] : 0.0f);
    }
    if (fail) { hd_set_error(HD_EMODEL, "out of memory for FFT buffers of size %zu", M); return -1; }
    return 0;
}

static int cpu_fftconv(hd_backend *be, float *u, size_t C, size_t L, size_t ldu, const hd_spectra *spec,
                       const float *k, size_t Lk, size_t ldk, const float *dbias)
{
    if (!L || !C) return 0;
    cpu_priv *P = be->priv;
    size_t N = spec ? spec->N : cpu_fft_size(be, L), B = spec || N <= P->part_min ? 0 : part_block(P, L);
    if (B && L > B) return fftconv_part(be, u, C, L, ldu, B, k, Lk, ldk, dbias);
    if (N < 2 * L - 1) { hd_set_error(HD_EMODEL, "internal error: FFT size %zu too small for length %zu", N, L); return -1; }
    fft_plan *p = get_plan(be, N);
    if (!p) return -1;
    size_t nc = N / 2 + 1;
    int fail = 0;
    #pragma omp parallel
    {
        fft_scratch fb, *f = thread_scratch(&fb, N, !spec, 0);
        if (!f) {
            #pragma omp atomic write
            fail = 1;
        }
        #pragma omp for schedule(dynamic, 1)
        for (size_t c = 0; c < C; c++) {
            if (!f) continue;
            float *uc = u + c * ldu, *buf = f->buf;
            const fftwf_complex *K;
            if (spec) K = spec->K + c * spec->stride;
            else {
                filter_spectrum(p, k + c * ldk, Lk < L ? Lk : L, buf, f->K);
                K = f->K;
            }
            memcpy(buf, uc, L * sizeof(float));
            memset(buf + L, 0, (N - L) * sizeof(float));
            fftwf_execute_dft_r2c(p->r2c, buf, f->U);
            cmul_row((float *)f->U, (const float *)K, nc);
            fftwf_execute_dft_c2r(p->c2r, f->U, buf);
            float db = dbias ? dbias[c] : 0.0f;
            for (size_t t = 0; t < L; t++) uc[t] = buf[t] + db * uc[t];
        }
    }
    if (fail) { hd_set_error(HD_EMODEL, "out of memory for FFT buffers of size %zu", N); return -1; }
    return 0;
}

/* ---------------------------------------------------------------- lookup */

static void cpu_embed(hd_backend *be, const int32_t *ids, size_t n, const float *table, size_t D, float *out)
{
    for (size_t i = 0; i < n; i++) memcpy(out + i * D, table + (size_t)ids[i] * D, D * sizeof(float));
}

/* ---------------------------------------------------------------- lifecycle */

static const char *cpu_describe(hd_backend *be)
{
    static __thread char buf[96];
    snprintf(buf, sizeof buf, "%s (%d thread%s%s)", be->name, be->nthreads, be->nthreads == 1 ? "" : "s",
             ((cpu_priv *)be->priv)->amx ? ", bf16 projections, AMX" : ((cpu_priv *)be->priv)->bf16 ? ", bf16 projections" : "");
    return buf;
}

/* A worker's backend, in the same precision: hd_backend_cpu_new sets the OpenMP thread count of the calling
 * thread, which is the caller's own backend's: keep that as it was. */
static hd_backend *cpu_spawn(hd_backend *be, int nthreads)
{
#ifdef _OPENMP
    int keep = omp_get_max_threads();
#endif
    hd_backend *w = hd_backend_cpu_new(nthreads);
#ifdef _OPENMP
    omp_set_num_threads(keep);
#endif
    if (w) {
        ((cpu_priv *)w->priv)->bf16 = ((cpu_priv *)be->priv)->bf16;
        ((cpu_priv *)w->priv)->amx = ((cpu_priv *)be->priv)->amx;
    }
    return w;
}

static int cpu_set_precision(hd_backend *be, hd_precision p)
{
    cpu_priv *P = be->priv;
    P->bf16 = p == HD_PREC_BF16;
    P->amx = P->bf16 && hd_cpu_amx_supported();   /* AMX tiles where present, else VDPBF16PS */
    return 0;
}

const uint32_t *hd_cpu_xpack(hd_backend *be, int xt, int vnni, size_t M, size_t K, const float *X, size_t ldx, int reuse)
{
    cpu_priv *P = be->priv;
    size_t n = hd_cpu_amx_x_len(M, K);
    if (reuse && P->xp && P->xp_key.X == X && P->xp_key.M == M && P->xp_key.K == K && P->xp_key.ldx == ldx &&
        P->xp_key.xt == xt && P->xp_key.vnni == vnni)
        return P->xp;
    if (n > P->xp_cap) {
        free(P->xp);
        P->xp_cap = 0;
        if (!(P->xp = aligned_alloc(64, n * sizeof(uint32_t)))) return NULL;
        P->xp_cap = n;
    }
    hd_cpu_amx_pack_x(xt, vnni, M, K, X, ldx, P->xp);
    P->xp_key.X = X, P->xp_key.M = M, P->xp_key.K = K, P->xp_key.ldx = ldx, P->xp_key.xt = xt, P->xp_key.vnni = vnni;
    return P->xp;
}

static void cpu_destroy(hd_backend *be)
{
    cpu_priv *P = be->priv;
    free(P->xp);
    for (int i = 0; i < P->n_plans; i++) {
        fftwf_destroy_plan(P->plans[i].r2c);
        fftwf_destroy_plan(P->plans[i].c2r);
    }
    pthread_mutex_destroy(&P->lock);
    free(P);
    free(be);
}

hd_backend *hd_backend_cpu_new(int nthreads)
{
    const char *pl = planner_env();   /* a misspelt planner would otherwise silently mean "measure" */
    if (*pl && strcmp(pl, "estimate") && strcmp(pl, "measure") && strcmp(pl, "patient")) {
        hd_set_error(HD_EINPUT, "HYENADNA_FFT_PLANNER: '%s' is not one of estimate, measure, patient", pl);
        return NULL;
    }
    /* the same for the kernel switches (hyenadna(1) ENVIRONMENT): a misspelt one silently meant the default */
    const char *isa = getenv("HYENADNA_CPU_ISA"), *amx = getenv("HYENADNA_CPU_AMX");
    if (isa && *isa && strcmp(isa, "generic") && strcmp(isa, "avx2") && strcmp(isa, "avx512")) {
        hd_set_error(HD_EINPUT, "HYENADNA_CPU_ISA: '%s' is not one of generic, avx2, avx512", isa);
        return NULL;
    }
    if (amx && *amx && strcmp(amx, "0") && strcmp(amx, "1")) {
        hd_set_error(HD_EINPUT, "HYENADNA_CPU_AMX: '%s' is not 0 or 1", amx);
        return NULL;
    }
    hd_backend *be = calloc(1, sizeof *be);
    cpu_priv *P = calloc(1, sizeof *P);
    if (!be || !P) { free(be); free(P); hd_set_error(HD_EMODEL, "out of memory"); return NULL; }
    pthread_mutex_init(&P->lock, NULL);
    P->part_min = HD_CPU_PART_MIN;
    if (nthreads <= 0) nthreads = hd_default_threads();
    be->name = "cpu";
    be->nthreads = nthreads;
    be->priv = P;
    be->host_memory = 1;
    be->chunk = 2048;
    be->row_align = HD_GEMM_BLOCK;   /* GEMMs in blocks of HD_GEMM_BLOCK positions from the first row given */
    be->precisions = HD_PREC_FP32 | (hd_cpu_bf16_supported() ? HD_PREC_BF16 : 0);   /* bf16: AVX512_BF16 */
    be->set_precision = cpu_set_precision;
    be->describe = cpu_describe;
    be->spawn = cpu_spawn;
#ifdef _OPENMP
    omp_set_num_threads(nthreads);
#endif
    openblas_set_num_threads(1);   /* threads come from the OpenMP loops around each GEMM block */
    be->alloc = cpu_alloc;
    be->free = cpu_free;
    be->weights = cpu_weights;
    be->upload = cpu_copy;
    be->download = cpu_copy;
    be->linear = cpu_linear;
    be->linear_cm_out = cpu_linear_cm_out;
    be->linear_cm_in = cpu_linear_cm_in;
    be->layernorm = cpu_layernorm;
    be->rmsnorm = cpu_rmsnorm;
    be->gelu_tanh = cpu_gelu_tanh;
    be->add = cpu_add;
    be->sin_freq = cpu_sin_freq;
    be->modulate_cm = cpu_modulate_cm;
    be->causal_conv = cpu_causal_conv;
    be->mul_cm = cpu_mul_cm;
    be->fft_size = cpu_fft_size;
    be->spectra_new = cpu_spectra_new;
    be->spectra_free = cpu_spectra_free;
    be->spectra_bytes = cpu_spectra_bytes;
    be->fftconv = cpu_fftconv;
    hd_backend_cpu_mamba_init(be);
    be->longconv_step = cpu_longconv_step;
    be->embed = cpu_embed;
    be->destroy = cpu_destroy;
    hd_backend_cpu_xlstm_init(be);
    hd_backend_cpu_evo2_init(be);
    hd_backend_cpu_hyena_init(be);
    return be;
}
