// backend_cuda.cu -- the CUDA backend: cuBLAS for the projections, cuFFT for the long convolutions,
// small fused kernels for the position-wise and per-channel ops.
//
// Every op does exactly what the CPU op of the same name does (src/backends/cpu/ is the reference,
// tests/test_cuda.c compares the two on random inputs).  Everything runs on one stream, in order, so
// a buffer freed by the model can be handed out again at once: later work on the stream cannot
// overtake earlier work that still reads it.
//
// Memory: a caching allocator.  Buffers given back by be->free stay reserved and are handed out again
// for requests of similar size, so a forward pass allocates device memory only the first time.
// Weights: be->weights uploads a host tensor the first time it is seen and returns the same device
// copy afterwards (keyed by host address and length, with a fingerprint of sampled values so that a
// different tensor mapped later at a reused address is not mistaken for the old one).
//
// Errors: the ops are void; the first CUDA/cuBLAS/cuFFT failure is remembered, later allocations and
// fftconv calls fail with it (hd_error), and download() fills its output with NaN, so a failed run
// cannot produce plausible numbers.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cufft.h>

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <new>

#define HD_STR2(x) #x
#define HD_STR(x) HD_STR2(x)
#include <unordered_map>
#include <vector>

extern "C" {
#include "backend.h"
#include "util.h"
}

// ---------------------------------------------------------------- cuBLAS and cuFFT, loaded on demand
// The runtime is linked statically and the two libraries are opened with dlopen only when a CUDA backend
// starts: linked normally, they add some 200 MB to the memory of every run, GPU or not (their
// relocations are processed at program start).  The calls below go through these pointers.
namespace culib {
static cublasStatus_t (*Create)(cublasHandle_t *);
static cublasStatus_t (*Destroy)(cublasHandle_t);
static cublasStatus_t (*SetStream)(cublasHandle_t, cudaStream_t);
static cublasStatus_t (*SetMathMode)(cublasHandle_t, cublasMath_t);
static cublasStatus_t (*GemmEx)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void *,
                                const void *, cudaDataType, int, const void *, cudaDataType, int, const void *, void *,
                                cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t);
static cufftResult (*PlanMany)(cufftHandle *, int, int *, int *, int, int, int *, int, int, cufftType, int);
static cufftResult (*ExecR2C)(cufftHandle, cufftReal *, cufftComplex *);
static cufftResult (*ExecC2R)(cufftHandle, cufftComplex *, cufftReal *);
static cufftResult (*FftSetStream)(cufftHandle, cudaStream_t);
static cufftResult (*FftDestroy)(cufftHandle);

static void *open_first(const char *const *names)
{
    for (int i = 0; names[i]; i++) {
        void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (h) return h;
    }
    return NULL;
}

// 0 when both libraries and every symbol were found; -1 with an error naming what is missing.
static int load(void)
{
    static int state = 0;   // 0 not tried, 1 loaded, -1 failed
    static char why[512];
    if (state) {
        if (state < 0) hd_set_error(HD_EMODEL, "%s", why);
        return state > 0 ? 0 : -1;
    }
    static const char *const blas_names[] = {"libcublas.so." HD_STR(CUBLAS_VER_MAJOR), "libcublas.so", NULL};
    static const char *const fft_names[] = {"libcufft.so." HD_STR(CUFFT_VER_MAJOR), "libcufft.so", NULL};
    void *b = open_first(blas_names), *f = open_first(fft_names);
    const char *miss = !b ? blas_names[0] : !f ? fft_names[0] : NULL;
#define SYM(lib, var, name) \
    if (!miss && !(*(void **)&var = dlsym(lib, name))) miss = name
    SYM(b, Create, "cublasCreate_v2");
    SYM(b, Destroy, "cublasDestroy_v2");
    SYM(b, SetStream, "cublasSetStream_v2");
    SYM(b, SetMathMode, "cublasSetMathMode");
    SYM(b, GemmEx, "cublasGemmEx");
    SYM(f, PlanMany, "cufftPlanMany");
    SYM(f, ExecR2C, "cufftExecR2C");
    SYM(f, ExecC2R, "cufftExecC2R");
    SYM(f, FftSetStream, "cufftSetStream");
    SYM(f, FftDestroy, "cufftDestroy");
#undef SYM
    if (miss) {
        snprintf(why, sizeof why, "the CUDA backend cannot load %s: %s", miss, dlerror() ? dlerror() : "not found");
        hd_set_error(HD_EMODEL, "%s", why);
        state = -1;
        return -1;
    }
    state = 1;
    return 0;
}
}  // namespace culib

#undef cublasCreate
#undef cublasDestroy
#undef cublasSetStream
#define cublasCreate culib::Create
#define cublasDestroy culib::Destroy
#define cublasSetStream culib::SetStream
#define cublasSetMathMode culib::SetMathMode
#define cublasGemmEx culib::GemmEx
#define cufftPlanMany culib::PlanMany
#define cufftExecR2C culib::ExecR2C
#define cufftExecC2R culib::ExecC2R
#define cufftSetStream culib::FftSetStream
#define cufftDestroy culib::FftDestroy

// ---------------------------------------------------------------- state

namespace {

enum precision { PREC_FP32, PREC_TF32, PREC_BF16 };

struct block {
    void *p;
    size_t size;
};

struct weight {
    float *d;
    size_t n;
    uint64_t fp;
};

struct weight16 {
    uint16_t *d;
    size_t n;
    uint64_t fp;
};

struct fft_plan {
    size_t N;
    int batch;
    cufftHandle r2c, c2r;
};

struct cuda_priv {
    int device;
    char desc[320];
    cudaStream_t stream;
    cublasHandle_t blas;
    precision prec;
    std::vector<block> free_blocks;                   // reserved, not in use
    std::unordered_map<void *, size_t> live;          // in use: pointer → reserved size
    size_t reserved;                                  // bytes held by the allocator
    std::unordered_map<const float *, weight> weights;
    std::vector<float *> retired;                     // replaced weight copies, freed at destroy
    std::unordered_map<const uint16_t *, weight16> weights16;   // BF16 matrices (Evo 2)
    std::vector<uint16_t *> retired16;
    size_t weight_bytes;
    std::vector<fft_plan> plans;
    size_t fft_batch_bytes;                           // complex bytes per batched transform
    char err[256];                                    // the first failure, "" when none
};

}  // namespace

struct hd_spectra {
    size_t C, N, nc;
    cufftComplex *K;    // [C, nc], scaled by 1/N
};

#define MAX_PLANS 8   // each plan holds a cuFFT work area: keep few
#define FFT_BATCH_BYTES ((size_t)512 << 20)   // default complex bytes per batched transform

static cuda_priv *P_(hd_backend *be) { return (cuda_priv *)be->priv; }

static void fail_(cuda_priv *P, const char *what, const char *detail)
{
    if (!P->err[0]) snprintf(P->err, sizeof P->err, "CUDA backend: %s failed: %s", what, detail);
}

static bool ck(cuda_priv *P, cudaError_t e, const char *what)
{
    if (e == cudaSuccess) return true;
    cudaGetLastError();
    fail_(P, what, cudaGetErrorString(e));
    return false;
}

static bool ck_blas(cuda_priv *P, cublasStatus_t s, const char *what)
{
    if (s == CUBLAS_STATUS_SUCCESS) return true;
    char b[48];
    snprintf(b, sizeof b, "cuBLAS status %d", (int)s);
    fail_(P, what, b);
    return false;
}

static bool ck_fft(cuda_priv *P, cufftResult r, const char *what)
{
    if (r == CUFFT_SUCCESS) return true;
    char b[48];
    snprintf(b, sizeof b, "cuFFT status %d", (int)r);
    fail_(P, what, b);
    return false;
}

// after a kernel launch
static void ck_launch(cuda_priv *P, const char *what) { ck(P, cudaGetLastError(), what); }

static int report(cuda_priv *P)
{
    if (!P->err[0]) return 0;
    hd_set_error(HD_EMODEL, "%s", P->err);
    return -1;
}

// ---------------------------------------------------------------- launch geometry

#define THREADS 256

static unsigned grid_for(size_t n)
{
    size_t b = (n + THREADS - 1) / THREADS;
    if (b < 1) b = 1;
    if (b > 65535u * 16) b = 65535u * 16;   // grid-stride loops cover the rest
    return (unsigned)b;
}

#define GRID_STRIDE(i, n) for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

// ---------------------------------------------------------------- memory

static size_t round_size(size_t bytes)
{
    if (bytes == 0) bytes = 1;
    size_t q = bytes < ((size_t)1 << 20) ? 512 : ((size_t)2 << 20);   // coarse sizes reuse better
    return (bytes + q - 1) / q * q;
}

static void release_free_blocks(cuda_priv *P)
{
    cudaStreamSynchronize(P->stream);
    for (auto &b : P->free_blocks) {
        cudaFree(b.p);
        P->reserved -= b.size;
    }
    P->free_blocks.clear();
}

static void *cuda_alloc(hd_backend *be, size_t bytes, const char *what)
{
    cuda_priv *P = P_(be);
    if (report(P)) return NULL;
    size_t need = round_size(bytes);
    // best fit among the reserved blocks, wasting at most half of the block
    int best = -1;
    for (size_t i = 0; i < P->free_blocks.size(); i++) {
        size_t s = P->free_blocks[i].size;
        if (s >= need && s / 2 <= need && (best < 0 || s < P->free_blocks[best].size)) best = (int)i;
    }
    if (best >= 0) {
        block b = P->free_blocks[best];
        P->free_blocks.erase(P->free_blocks.begin() + best);
        P->live[b.p] = b.size;
        return b.p;
    }
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, need);
    if (e != cudaSuccess) {   // give the reserve back and try once more
        cudaGetLastError();
        release_free_blocks(P);
        e = cudaMalloc(&p, need);
    }
    if (e != cudaSuccess) {
        cudaGetLastError();
        size_t fr = 0, tot = 0;
        cudaMemGetInfo(&fr, &tot);
        char a[32], b[32];
        hd_set_error(HD_EMODEL, "out of GPU memory: %s for %s (%s of the device free)",
                     hd_fmt_bytes((double)need, a, sizeof a), what ? what : "a buffer", hd_fmt_bytes((double)fr, b, sizeof b));
        return NULL;
    }
    P->live[p] = need;
    P->reserved += need;
    return p;
}

static void cuda_free(hd_backend *be, void *p)
{
    if (!p) return;
    cuda_priv *P = P_(be);
    auto it = P->live.find(p);
    if (it == P->live.end()) return;   // not ours: ignore rather than corrupt the pool
    P->free_blocks.push_back(block{p, it->second});
    P->live.erase(it);
}

static uint64_t fingerprint(const float *h, size_t n)
{
    uint64_t x = 1469598103934665603ull ^ n;
    if (!n) return x;
    for (size_t i = 0; i < 32; i++) {
        size_t j = n == 1 ? 0 : i * (n - 1) / 31;
        uint32_t v;
        memcpy(&v, h + j, sizeof v);
        x = (x ^ v) * 1099511628211ull;
    }
    return x;
}

// A device copy of `bytes` of host data for the weight caches (its own cudaMalloc: weights outlive the pool).
// On the backend's stream: a plain cudaMemcpy from pageable memory may return before the data has landed,
// and the non-blocking stream would not wait for it.  NULL + hd_error on failure.
static void *upload_weight(cuda_priv *P, const void *host, size_t bytes)
{
    void *d = NULL;
    size_t b = bytes ? bytes : 1;
    if (cudaMalloc(&d, b) != cudaSuccess) {
        cudaGetLastError();
        release_free_blocks(P);
        if (cudaMalloc(&d, b) != cudaSuccess) {
            cudaGetLastError();
            char a[32];
            hd_set_error(HD_EMODEL, "out of GPU memory: %s for the model weights", hd_fmt_bytes((double)b, a, sizeof a));
            return NULL;
        }
    }
    if (!ck(P, cudaMemcpyAsync(d, host, bytes, cudaMemcpyHostToDevice, P->stream), "uploading weights") ||
        !ck(P, cudaStreamSynchronize(P->stream), "uploading weights")) {
        cudaFree(d);
        report(P);
        return NULL;
    }
    P->weight_bytes += b;
    return d;
}

static const float *cuda_weights(hd_backend *be, const float *host, size_t n)
{
    cuda_priv *P = P_(be);
    if (!host) return NULL;
    if (report(P)) return NULL;
    auto it = P->weights.find(host);
    if (it != P->weights.end() && it->second.n == n && it->second.fp == fingerprint(host, n))
        return it->second.d;
    float *d = (float *)upload_weight(P, host, n * sizeof(float));
    if (!d) return NULL;
    if (it != P->weights.end()) P->retired.push_back(it->second.d);   // may still be queued on the stream
    P->weights[host] = weight{d, n, fingerprint(host, n)};
    return d;
}

static void cuda_upload(hd_backend *be, void *dst, const void *host, size_t bytes)
{
    cuda_priv *P = P_(be);
    if (!bytes) return;
    ck(P, cudaMemcpyAsync(dst, host, bytes, cudaMemcpyHostToDevice, P->stream), "upload");
    ck(P, cudaStreamSynchronize(P->stream), "upload");
}

static void cuda_download(hd_backend *be, void *host, const void *src, size_t bytes)
{
    cuda_priv *P = P_(be);
    if (!bytes) return;
    if (!P->err[0]) {
        ck(P, cudaMemcpyAsync(host, src, bytes, cudaMemcpyDeviceToHost, P->stream), "download");
        ck(P, cudaStreamSynchronize(P->stream), "download");
    }
    if (P->err[0]) {   // never hand out numbers from a failed run
        float *f = (float *)host;
        for (size_t i = 0; i < bytes / sizeof(float); i++) f[i] = NAN;
        report(P);
    }
}

// ---------------------------------------------------------------- dense (cuBLAS)

static cublasComputeType_t compute_type(precision p)
{
    switch (p) {
    case PREC_TF32: return CUBLAS_COMPUTE_32F_FAST_TF32;
    case PREC_BF16: return CUBLAS_COMPUTE_32F_FAST_16BF;
    default: return CUBLAS_COMPUTE_32F;
    }
}

// Column-major C[m, n] = op(A)·op(B) + beta·C, float32 data, compute type per the precision setting.
static void gemm(cuda_priv *P, cublasOperation_t ta, cublasOperation_t tb, size_t m, size_t n, size_t k,
                 const float *A, size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc)
{
    const float one = 1.0f;
    if (P->err[0]) return;
    if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX || lda > INT32_MAX || ldb > INT32_MAX || ldc > INT32_MAX) {
        fail_(P, "GEMM", "a dimension exceeds 2^31");
        return;
    }
    ck_blas(P, cublasGemmEx(P->blas, ta, tb, (int)m, (int)n, (int)k, &one, A, CUDA_R_32F, (int)lda, B, CUDA_R_32F,
                            (int)ldb, &beta, C, CUDA_R_32F, (int)ldc, compute_type(P->prec), CUBLAS_GEMM_DEFAULT),
            "cublasGemmEx");
}

// Y[m, n] = b[n] for rows of length N (row stride ldy)
__global__ void k_fill_rows(float *Y, size_t M, size_t N, size_t ldy, const float *b)
{
    GRID_STRIDE(i, M * N) { Y[(i / N) * ldy + i % N] = b[i % N]; }
}

// Yt[n, m] = b[n] for N rows of length M (row stride ldy)
__global__ void k_fill_cols(float *Yt, size_t M, size_t N, size_t ldy, const float *b)
{
    GRID_STRIDE(i, M * N) { Yt[(i / M) * ldy + i % M] = b[i / M]; }
}

// Y[m, n] = Σ_k X[m, k]·W[n, k] + b[n].  Row-major Y is column-major Yᵀ [N × M]:  Yᵀ = W·Xᵀ, where the
// stored W is column-major Wᵀ [K × N] (op T) and the stored X is column-major Xᵀ [K × M] (op N).
static void cuda_linear(hd_backend *be, const float *X, size_t M, size_t K, size_t ldx,
                        const float *W, const float *b, size_t N, float *Y, size_t ldy)
{
    cuda_priv *P = P_(be);
    if (!M || !N) return;
    if (b) {
        k_fill_rows<<<grid_for(M * N), THREADS, 0, P->stream>>>(Y, M, N, ldy, b);
        ck_launch(P, "linear bias");
    }
    gemm(P, CUBLAS_OP_T, CUBLAS_OP_N, N, M, K, W, K, X, ldx, b ? 1.0f : 0.0f, Y, ldy);
}

// Yt[n, m] = Σ_k W[n, k]·X[m, k] + b[n].  Row-major Yt [N, M] is column-major Y [M × N] = X·Wᵀ:
// stored X is column-major Xᵀ [K × M] (op T), stored W is column-major Wᵀ [K × N] (op N).
static void cuda_linear_cm_out(hd_backend *be, const float *X, size_t M, size_t K, size_t ldx,
                               const float *W, const float *b, size_t N, float *Yt, size_t ldy)
{
    cuda_priv *P = P_(be);
    if (!M || !N) return;
    if (b) {
        k_fill_cols<<<grid_for(M * N), THREADS, 0, P->stream>>>(Yt, M, N, ldy, b);
        ck_launch(P, "linear_cm_out bias");
    }
    gemm(P, CUBLAS_OP_T, CUBLAS_OP_N, M, N, K, X, ldx, W, K, b ? 1.0f : 0.0f, Yt, ldy);
}

// Y[m, n] = Σ_k Xt[k, m]·W[n, k] + b[n].  Column-major Yᵀ [N × M] = W·Xt: stored W is Wᵀ [K × N]
// (op T), stored Xt [K, M] row-major is column-major Xtᵀ [M × K] (op T).
static void cuda_linear_cm_in(hd_backend *be, const float *Xt, size_t M, size_t K, size_t ldx,
                              const float *W, const float *b, size_t N, float *Y, size_t ldy)
{
    cuda_priv *P = P_(be);
    if (!M || !N) return;
    if (b) {
        k_fill_rows<<<grid_for(M * N), THREADS, 0, P->stream>>>(Y, M, N, ldy, b);
        ck_launch(P, "linear_cm_in bias");
    }
    gemm(P, CUBLAS_OP_T, CUBLAS_OP_T, N, M, K, W, K, Xt, ldx, b ? 1.0f : 0.0f, Y, ldy);
}

// ---------------------------------------------------------------- position-wise

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
__device__ double block_sum(double v, double *sh)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    int w = threadIdx.x >> 5, l = threadIdx.x & 31, nw = blockDim.x >> 5;
    __syncthreads();   // sh may still be read from a previous call
    if (l == 0) sh[w] = v;
    __syncthreads();
    if (w == 0) {
        double t = l < nw ? sh[l] : 0.0;
        for (int o = 16; o > 0; o >>= 1) t += __shfl_xor_sync(0xffffffffu, t, o);
        if (l == 0) sh[32] = t;
    }
    __syncthreads();
    return sh[32];
}

#define NORM_THREADS 128

// one block per row; sums in double as the CPU does
__global__ void k_layernorm(const float *X, size_t M, size_t D, const float *g, const float *bt, float eps, float *Y)
{
    __shared__ double sh[33];
    for (size_t m = blockIdx.x; m < M; m += gridDim.x) {
        const float *x = X + m * D;
        float *y = Y + m * D;
        double s = 0;
        for (size_t d = threadIdx.x; d < D; d += blockDim.x) s += x[d];
        double mean = block_sum(s, sh) / (double)D;
        double ss = 0;
        for (size_t d = threadIdx.x; d < D; d += blockDim.x) { double t = x[d] - mean; ss += t * t; }
        ss = block_sum(ss, sh);
        float rstd = (float)(1.0 / sqrt(ss / (double)D + eps)), mu = (float)mean;
        for (size_t d = threadIdx.x; d < D; d += blockDim.x) y[d] = (x[d] - mu) * rstd * g[d] + (bt ? bt[d] : 0.0f);
    }
}

__global__ void k_rmsnorm(const float *X, size_t M, size_t D, const float *g, float eps, float *Y)
{
    __shared__ double sh[33];
    for (size_t m = blockIdx.x; m < M; m += gridDim.x) {
        const float *x = X + m * D;
        float *y = Y + m * D;
        double ss = 0;
        for (size_t d = threadIdx.x; d < D; d += blockDim.x) ss += (double)x[d] * x[d];
        ss = block_sum(ss, sh);
        float r = (float)(1.0 / sqrt(ss / (double)D + eps));
        for (size_t d = threadIdx.x; d < D; d += blockDim.x) y[d] = x[d] * r * g[d];
    }
}

static unsigned rows_grid(size_t M) { return (unsigned)(M < 65535u * 16 ? (M ? M : 1) : 65535u * 16); }

static void cuda_layernorm(hd_backend *be, const float *X, size_t M, size_t D, const float *g, const float *bt,
                           float eps, float *Y)
{
    cuda_priv *P = P_(be);
    if (!M || !D) return;
    k_layernorm<<<rows_grid(M), NORM_THREADS, 0, P->stream>>>(X, M, D, g, bt, eps, Y);
    ck_launch(P, "layernorm");
}

static void cuda_rmsnorm(hd_backend *be, const float *X, size_t M, size_t D, const float *g, float eps, float *Y)
{
    cuda_priv *P = P_(be);
    if (!M || !D) return;
    k_rmsnorm<<<rows_grid(M), NORM_THREADS, 0, P->stream>>>(X, M, D, g, eps, Y);
    ck_launch(P, "rmsnorm");
}

__global__ void k_gelu_tanh(float *x, size_t n)
{
    const float k0 = 0.7978845608028654f, k1 = 0.044715f;
    GRID_STRIDE(i, n) {
        float a = x[i];
        x[i] = 0.5f * a * (1.0f + tanhf(k0 * (a + k1 * a * a * a)));
    }
}

static void cuda_gelu_tanh(hd_backend *be, float *x, size_t n)
{
    cuda_priv *P = P_(be);
    if (!n) return;
    k_gelu_tanh<<<grid_for(n), THREADS, 0, P->stream>>>(x, n);
    ck_launch(P, "gelu_tanh");
}

__global__ void k_add(float *y, const float *x, size_t n)
{
    GRID_STRIDE(i, n) y[i] += x[i];
}

static void cuda_add(hd_backend *be, float *y, const float *x, size_t n)
{
    cuda_priv *P = P_(be);
    if (!n) return;
    k_add<<<grid_for(n), THREADS, 0, P->stream>>>(y, x, n);
    ck_launch(P, "add");
}

__global__ void k_sin_freq(float *x, size_t M, size_t H, const float *freq)
{
    GRID_STRIDE(i, M * H) x[i] = sinf(freq[i % H] * x[i]);
}

static void cuda_sin_freq(hd_backend *be, float *x, size_t M, size_t H, const float *freq)
{
    cuda_priv *P = P_(be);
    if (!M || !H) return;
    k_sin_freq<<<grid_for(M * H), THREADS, 0, P->stream>>>(x, M, H, freq);
    ck_launch(P, "sin_freq");
}

__global__ void k_modulate_cm(float *k, size_t C, size_t T, size_t ldk, const float *t, const float *delta, float shift)
{
    GRID_STRIDE(i, C * T) {
        size_t c = i / T, j = i % T;
        k[c * ldk + j] *= expf(-t[j] * fabsf(delta[c])) + shift;
    }
}

static void cuda_modulate_cm(hd_backend *be, float *k, size_t C, size_t T, size_t ldk, const float *t,
                             const float *delta, float shift)
{
    cuda_priv *P = P_(be);
    if (!C || !T) return;
    k_modulate_cm<<<grid_for(C * T), THREADS, 0, P->stream>>>(k, C, T, ldk, t, delta, shift);
    ck_launch(P, "modulate_cm");
}

// ---------------------------------------------------------------- per channel

__global__ void k_causal_conv(const float *x, size_t C, size_t T, size_t ldx, size_t hist, const float *w, size_t K,
                              const float *b, float *y, size_t ldy)
{
    GRID_STRIDE(i, C * T) {
        size_t c = i / T, t = i % T;
        const float *xc = x + c * ldx, *wc = w + c * K;
        float s = b ? b[c] : 0.0f;
        for (size_t j = 0; j < K; j++) {   // input index hist + t − (K−1) + j, below 0 reads as 0
            size_t ip = hist + t + j;
            if (ip < K - 1) continue;
            s += wc[j] * xc[ip - (K - 1)];
        }
        y[c * ldy + t] = s;
    }
}

static void cuda_causal_conv(hd_backend *be, const float *x, size_t C, size_t T, size_t ldx, size_t hist,
                             const float *w, size_t K, const float *b, float *y, size_t ldy)
{
    cuda_priv *P = P_(be);
    if (!C || !T) return;
    k_causal_conv<<<grid_for(C * T), THREADS, 0, P->stream>>>(x, C, T, ldx, hist, w, K, b, y, ldy);
    ck_launch(P, "causal_conv");
}

__global__ void k_mul_cm(const float *a, size_t lda, const float *b, size_t ldb, float *y, size_t ldy, size_t C, size_t T)
{
    GRID_STRIDE(i, C * T) {
        size_t c = i / T, t = i % T;
        y[c * ldy + t] = a[c * lda + t] * b[c * ldb + t];
    }
}

static void cuda_mul_cm(hd_backend *be, const float *a, size_t lda, const float *b, size_t ldb, float *y, size_t ldy,
                        size_t C, size_t T)
{
    cuda_priv *P = P_(be);
    if (!C || !T) return;
    k_mul_cm<<<grid_for(C * T), THREADS, 0, P->stream>>>(a, lda, b, ldb, y, ldy, C, T);
    ck_launch(P, "mul_cm");
}

// ---------------------------------------------------------------- FFT (cuFFT)

// Smallest N ≥ 2L−1 of the form 2^a·3^b·5^c (cuFFT is fast on these), the size the CPU backend picks
// (src/backends/cpu/cpu.c: cached spectra are keyed by N); any N ≥ 2L−1 gives the same convolution up to
// rounding (docs/models.md §3.4.6).
static size_t cuda_fft_size(hd_backend *be, size_t L)
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

// Plans for `batch` contiguous transforms of size N (real [batch, N] ↔ complex [batch, N/2+1]).
static fft_plan *get_plan(cuda_priv *P, size_t N, int batch)
{
    for (auto &p : P->plans)
        if (p.N == N && p.batch == batch) return &p;
    if (N > INT32_MAX) {
        fail_(P, "planning an FFT", "size exceeds 2^31");
        return NULL;
    }
    if (P->plans.size() >= MAX_PLANS) {   // evict the oldest
        cudaStreamSynchronize(P->stream);
        cufftDestroy(P->plans[0].r2c);
        cufftDestroy(P->plans[0].c2r);
        P->plans.erase(P->plans.begin());
    }
    fft_plan p = {N, batch, 0, 0};
    // explicit layouts: transform j reads real[j·N ..] and writes complex[j·nc ..] (and back)
    int n[1] = {(int)N}, re[1] = {(int)N}, cx[1] = {(int)(N / 2 + 1)};
    cufftResult r = cufftPlanMany(&p.r2c, 1, n, re, 1, re[0], cx, 1, cx[0], CUFFT_R2C, batch);
    if (r != CUFFT_SUCCESS) {   // usually out of memory for the work area: give the reserve back, retry
        release_free_blocks(P);
        r = cufftPlanMany(&p.r2c, 1, n, re, 1, re[0], cx, 1, cx[0], CUFFT_R2C, batch);
    }
    if (!ck_fft(P, r, "cufftPlanMany (R2C)")) return NULL;
    r = cufftPlanMany(&p.c2r, 1, n, cx, 1, cx[0], re, 1, re[0], CUFFT_C2R, batch);
    if (r != CUFFT_SUCCESS) {
        release_free_blocks(P);
        r = cufftPlanMany(&p.c2r, 1, n, cx, 1, cx[0], re, 1, re[0], CUFFT_C2R, batch);
    }
    if (!ck_fft(P, r, "cufftPlanMany (C2R)")) {
        cufftDestroy(p.r2c);
        return NULL;
    }
    if (!ck_fft(P, cufftSetStream(p.r2c, P->stream), "cufftSetStream") ||
        !ck_fft(P, cufftSetStream(p.c2r, P->stream), "cufftSetStream")) {
        cufftDestroy(p.r2c);
        cufftDestroy(p.c2r);
        return NULL;
    }
    P->plans.push_back(p);
    return &P->plans.back();
}

// channels per batched transform: the complex buffer of a batch stays under fft_batch_bytes
static size_t batch_channels(const cuda_priv *P, size_t C, size_t N)
{
    size_t per = (N / 2 + 1) * sizeof(cufftComplex), cb = P->fft_batch_bytes / per;
    if (cb < 1) cb = 1;
    return cb < C ? cb : C;
}

// buf[j, t] = t < n ? src[(c0 + j)·ld + t] : 0 for j < cb, t < N
__global__ void k_pad(float *buf, size_t cb, size_t N, const float *src, size_t c0, size_t ld, size_t n)
{
    GRID_STRIDE(i, cb * N) {
        size_t j = i / N, t = i % N;
        buf[i] = t < n ? src[(c0 + j) * ld + t] : 0.0f;
    }
}

__global__ void k_scale(cufftComplex *K, size_t n, float s)
{
    GRID_STRIDE(i, n) {
        K[i].x *= s;
        K[i].y *= s;
    }
}

// U[i] ← U[i]·(K[i]·s), the filter spectrum scaled first as the CPU does
__global__ void k_cmul(cufftComplex *U, const cufftComplex *K, size_t n, float s)
{
    GRID_STRIDE(i, n) {
        float kr = K[i].x * s, ki = K[i].y * s, ur = U[i].x, ui = U[i].y;
        U[i].x = ur * kr - ui * ki;
        U[i].y = ur * ki + ui * kr;
    }
}

// u[c0 + j, t] ← y[j, t] + dbias[c0 + j]·u[c0 + j, t] for t < L
__global__ void k_conv_out(float *u, size_t ldu, size_t c0, size_t cb, size_t L, const float *y, size_t N, const float *dbias)
{
    GRID_STRIDE(i, cb * L) {
        size_t j = i / L, t = i % L;
        float *uc = u + (c0 + j) * ldu;
        float db = dbias ? dbias[c0 + j] : 0.0f;
        uc[t] = y[j * N + t] + db * uc[t];
    }
}

static size_t cuda_spectra_bytes(hd_backend *be, size_t C, size_t N) { return C * (N / 2 + 1) * sizeof(cufftComplex); }

static void cuda_spectra_free(hd_backend *be, hd_spectra *s)
{
    if (!s) return;
    cuda_free(be, s->K);
    free(s);
}

static hd_spectra *cuda_spectra_new(hd_backend *be, const float *k, size_t C, size_t Lk, size_t ldk, size_t N)
{
    cuda_priv *P = P_(be);
    if (report(P)) return NULL;
    size_t nc = N / 2 + 1, cb = batch_channels(P, C ? C : 1, N), n = Lk < N ? Lk : N;
    hd_spectra *s = (hd_spectra *)calloc(1, sizeof *s);
    if (!s) { hd_set_error(HD_EMODEL, "out of memory"); return NULL; }
    s->C = C, s->N = N, s->nc = nc;
    s->K = (cufftComplex *)cuda_alloc(be, (C ? C : 1) * nc * sizeof(cufftComplex), "filter spectra");
    float *buf = (float *)cuda_alloc(be, cb * N * sizeof(float), "an FFT buffer");
    if (!s->K || !buf) goto fail;
    for (size_t c0 = 0; c0 < C; c0 += cb) {
        size_t m = C - c0 < cb ? C - c0 : cb;
        fft_plan *p = get_plan(P, N, (int)m);
        if (!p) break;
        k_pad<<<grid_for(m * N), THREADS, 0, P->stream>>>(buf, m, N, k, c0, ldk, n);
        ck_launch(P, "spectra_new pad");
        ck_fft(P, cufftExecR2C(p->r2c, buf, s->K + c0 * nc), "cufftExecR2C");
    }
    if (C) {
        k_scale<<<grid_for(C * nc), THREADS, 0, P->stream>>>(s->K, C * nc, 1.0f / (float)N);
        ck_launch(P, "spectra_new scale");
    }
    cuda_free(be, buf);
    if (report(P)) { cuda_spectra_free(be, s); return NULL; }
    return s;
fail:
    cuda_free(be, buf);
    cuda_spectra_free(be, s);
    return NULL;
}

static int cuda_fftconv(hd_backend *be, float *u, size_t C, size_t L, size_t ldu, const hd_spectra *spec,
                        const float *k, size_t Lk, size_t ldk, const float *dbias)
{
    cuda_priv *P = P_(be);
    if (report(P)) return -1;
    if (!L || !C) return 0;
    size_t N = spec ? spec->N : cuda_fft_size(be, L);
    if (N < 2 * L - 1) { hd_set_error(HD_EMODEL, "internal error: FFT size %zu too small for length %zu", N, L); return -1; }
    size_t nc = N / 2 + 1, cb = batch_channels(P, C, N), kn = Lk < L ? Lk : L;
    float *buf = (float *)cuda_alloc(be, cb * N * sizeof(float), "an FFT buffer");
    cufftComplex *U = (cufftComplex *)cuda_alloc(be, cb * nc * sizeof(cufftComplex), "an FFT buffer");
    cufftComplex *Kc = spec ? NULL : (cufftComplex *)cuda_alloc(be, cb * nc * sizeof(cufftComplex), "an FFT buffer");
    if (!buf || !U || (!spec && !Kc)) {
        cuda_free(be, buf);
        cuda_free(be, U);
        cuda_free(be, Kc);
        return -1;
    }
    for (size_t c0 = 0; c0 < C && !P->err[0]; c0 += cb) {
        size_t m = C - c0 < cb ? C - c0 : cb;
        fft_plan *p = get_plan(P, N, (int)m);
        if (!p) break;
        const cufftComplex *K;
        float s;
        if (spec) {
            K = spec->K + c0 * nc;
            s = 1.0f;
        } else {   // the filter's spectrum on the fly, from min(Lk, L) taps
            k_pad<<<grid_for(m * N), THREADS, 0, P->stream>>>(buf, m, N, k, c0, ldk, kn);
            ck_launch(P, "fftconv pad filter");
            ck_fft(P, cufftExecR2C(p->r2c, buf, Kc), "cufftExecR2C (filter)");
            K = Kc;
            s = 1.0f / (float)N;
        }
        k_pad<<<grid_for(m * N), THREADS, 0, P->stream>>>(buf, m, N, u, c0, ldu, L);
        ck_launch(P, "fftconv pad input");
        ck_fft(P, cufftExecR2C(p->r2c, buf, U), "cufftExecR2C");
        k_cmul<<<grid_for(m * nc), THREADS, 0, P->stream>>>(U, K, m * nc, s);
        ck_launch(P, "fftconv multiply");
        ck_fft(P, cufftExecC2R(p->c2r, U, buf), "cufftExecC2R");
        k_conv_out<<<grid_for(m * L), THREADS, 0, P->stream>>>(u, ldu, c0, m, L, buf, N, dbias);
        ck_launch(P, "fftconv output");
    }
    cuda_free(be, buf);
    cuda_free(be, U);
    cuda_free(be, Kc);
    return report(P);
}

// ---------------------------------------------------------------- lookup

__global__ void k_embed(const int32_t *ids, size_t n, const float *table, size_t D, float *out)
{
    GRID_STRIDE(i, n * D) out[i] = table[(size_t)ids[i / D] * D + i % D];
}

// the ids go up in pieces of at most 1M (4 MB of device scratch)
static void cuda_embed(hd_backend *be, const int32_t *ids, size_t n, const float *table, size_t D, float *out)
{
    cuda_priv *P = P_(be);
    if (!n || !D) return;
    size_t step = n < ((size_t)1 << 20) ? n : ((size_t)1 << 20);
    int32_t *d = (int32_t *)cuda_alloc(be, step * sizeof(int32_t), "token ids");
    if (!d) {   // remembered: the next fftconv or download reports it
        fail_(P, "allocating token ids", hd_error());
        return;
    }
    for (size_t i0 = 0; i0 < n && !P->err[0]; i0 += step) {
        size_t m = n - i0 < step ? n - i0 : step;
        cuda_upload(be, d, ids + i0, m * sizeof(int32_t));
        k_embed<<<grid_for(m * D), THREADS, 0, P->stream>>>(d, m, table, D, out + i0 * D);
        ck_launch(P, "embed");
    }
    cuda_free(be, d);
}

// ---------------------------------------------------------------- Evo 2

#include "backend_cuda_evo2.cuh"

// ---------------------------------------------------------------- control

// precision of the projections: fp32 (default), tf32 or bf16 (inputs rounded inside cuBLAS, fp32 accumulate)
static int cuda_set_precision(hd_backend *be, hd_precision prec)
{
    cuda_priv *P = P_(be);
    precision p = prec == HD_PREC_TF32 ? PREC_TF32 : prec == HD_PREC_BF16 ? PREC_BF16 : PREC_FP32;
    cublasMath_t mode = p == PREC_TF32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH;
    cublasStatus_t s = cublasSetMathMode(P->blas, mode);
    if (s != CUBLAS_STATUS_SUCCESS) {
        hd_set_error(HD_EMODEL, "cuBLAS refused the %s math mode (status %d)",
                     p == PREC_TF32 ? "tf32" : p == PREC_BF16 ? "bf16" : "fp32", (int)s);
        return -1;
    }
    P->prec = p;
    return 0;
}

static const char *cuda_describe(hd_backend *be) { return P_(be)->desc; }

// wait for the queued work; -1 + hd_error when some of it failed
static int cuda_sync(hd_backend *be)
{
    cuda_priv *P = P_(be);
    ck(P, cudaStreamSynchronize(P->stream), "synchronising");
    return report(P);
}

// device memory held: the allocator's reserve plus the weight copies
static size_t cuda_memory_held(hd_backend *be) { return P_(be)->reserved + P_(be)->weight_bytes; }

// ---------------------------------------------------------------- lifecycle

static void cuda_destroy(hd_backend *be)
{
    cuda_priv *P = P_(be);
    if (P) {
        cudaSetDevice(P->device);
        cudaStreamSynchronize(P->stream);
        for (auto &p : P->plans) {
            cufftDestroy(p.r2c);
            cufftDestroy(p.c2r);
        }
        for (auto &kv : P->live) cudaFree(kv.first);
        for (auto &b : P->free_blocks) cudaFree(b.p);
        for (auto &kv : P->weights) cudaFree(kv.second.d);
        for (float *d : P->retired) cudaFree(d);
        for (auto &kv : P->weights16) cudaFree(kv.second.d);
        for (uint16_t *d : P->retired16) cudaFree(d);
        if (P->blas) cublasDestroy(P->blas);
        if (P->stream) cudaStreamDestroy(P->stream);
        delete P;
    }
    free(be);
}

// Can cuBLAS and cuFFT be loaded?  (0, or -1 with an error naming the library or symbol)
extern "C" int hd_cuda_libs_load(void) { return culib::load(); }

extern "C" hd_backend *hd_backend_cuda_new(int device, int nthreads)
{
    int n = 0;
    if (culib::load()) return NULL;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n <= 0) {
        cudaGetLastError();
        hd_set_error(HD_EMODEL, "no usable CUDA device (no GPU or no driver)");
        return NULL;
    }
    if (device < 0 || device >= n) {
        hd_set_error(HD_EMODEL, "CUDA device %d does not exist (%d device%s visible: 0..%d)", device, n, n == 1 ? "" : "s", n - 1);
        return NULL;
    }
    // a device the kernels were not built for is refused here, not at the first launch
    cudaDeviceProp prop;
    bool have_prop = cudaGetDeviceProperties(&prop, device) == cudaSuccess;
    if (!have_prop) cudaGetLastError();
    if (have_prop && hd_cuda_arch_runs(hd_cuda_archs(), prop.major, prop.minor) == 0) {
        hd_set_error(HD_EMODEL, "cuda:%d (%.100s) has compute capability %d.%d, but the CUDA kernels of this hyenadna "
                     "were built for %.80s only (rebuild with NVCCFLAGS including -gencode arch=compute_%d%d,code=sm_%d%d)",
                     device, prop.name, prop.major, prop.minor, hd_cuda_archs(), prop.major, prop.minor, prop.major,
                     prop.minor);
        return NULL;
    }
    hd_backend *be = (hd_backend *)calloc(1, sizeof *be);
    cuda_priv *P = new (std::nothrow) cuda_priv();
    if (!be || !P) {
        free(be);
        delete P;
        hd_set_error(HD_EMODEL, "out of memory");
        return NULL;
    }
    P->device = device;
    P->prec = PREC_FP32;
    // HYENADNA_CUDA_FFT_BATCH (bytes) shrinks the batches, so that small tests cover several batches
    const char *fb = getenv("HYENADNA_CUDA_FFT_BATCH");
    P->fft_batch_bytes = fb && strtoull(fb, NULL, 10) > 0 ? (size_t)strtoull(fb, NULL, 10) : FFT_BATCH_BYTES;
    be->priv = P;
    be->name = "cuda";
    be->nthreads = nthreads;
    be->destroy = cuda_destroy;
    be->host_memory = 0;
    be->chunk = 2048 * 16;   // fewer, larger launches than the CPU's 2048 (a few hundred MB of scratch at D 256)
    be->precisions = HD_PREC_FP32 | HD_PREC_TF32 | HD_PREC_BF16;
    be->describe = cuda_describe;
    be->set_precision = cuda_set_precision;
    be->sync = cuda_sync;
    be->memory_held = cuda_memory_held;
    cudaError_t e = cudaSetDevice(device);
    if (e == cudaSuccess) e = cudaStreamCreateWithFlags(&P->stream, cudaStreamNonBlocking);
    if (e != cudaSuccess) {
        cudaGetLastError();
        hd_set_error(HD_EMODEL, "cuda:%d: cannot start the device: %s", device, cudaGetErrorString(e));
        cuda_destroy(be);
        return NULL;
    }
    cublasStatus_t bs = cublasCreate(&P->blas);
    if (bs == CUBLAS_STATUS_SUCCESS) bs = cublasSetStream(P->blas, P->stream);
    if (bs == CUBLAS_STATUS_SUCCESS) bs = cublasSetMathMode(P->blas, CUBLAS_DEFAULT_MATH);
    if (bs != CUBLAS_STATUS_SUCCESS) {
        hd_set_error(HD_EMODEL, "cuda:%d: cuBLAS could not start (status %d)", device, (int)bs);
        cuda_destroy(be);
        return NULL;
    }
    if (have_prop)
        snprintf(P->desc, sizeof P->desc, "cuda:%d (%.200s, %.0f GiB, sm_%d%d)", device, prop.name,
                 (double)prop.totalGlobalMem / (1024.0 * 1024 * 1024), prop.major, prop.minor);
    else
        snprintf(P->desc, sizeof P->desc, "cuda:%d", device);

    be->alloc = cuda_alloc;
    be->free = cuda_free;
    be->weights = cuda_weights;
    be->upload = cuda_upload;
    be->download = cuda_download;
    be->linear = cuda_linear;
    be->linear_cm_out = cuda_linear_cm_out;
    be->linear_cm_in = cuda_linear_cm_in;
    be->layernorm = cuda_layernorm;
    be->rmsnorm = cuda_rmsnorm;
    be->gelu_tanh = cuda_gelu_tanh;
    be->add = cuda_add;
    be->sin_freq = cuda_sin_freq;
    be->modulate_cm = cuda_modulate_cm;
    be->causal_conv = cuda_causal_conv;
    be->mul_cm = cuda_mul_cm;
    be->fft_size = cuda_fft_size;
    be->spectra_new = cuda_spectra_new;
    be->spectra_free = cuda_spectra_free;
    be->spectra_bytes = cuda_spectra_bytes;
    be->fftconv = cuda_fftconv;
    be->embed = cuda_embed;
    cuda_evo2_init(be);
    // The Mamba (Caduceus) and DNA-xLSTM ops stay NULL: hd_backend_for() then sends those families
    // (their hd_family_ops.needs) to the CPU under --device auto.
    return be;
}
