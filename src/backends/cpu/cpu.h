/* cpu.h -- the parts of the CPU backend (src/backends/cpu/), for its own files: the public entry point
 * is hd_backend_cpu_new in backend.h. */
#ifndef HD_BACKENDS_CPU_H
#define HD_BACKENDS_CPU_H

#include "backend.h"

#include <stdlib.h>
#include <string.h>

/* The widest vector instruction set the hand-vectorised kernels (mamba.c, xlstm.c) may use on this CPU:
 * HD_ISA_AVX512 (AVX-512F), HD_ISA_AVX2 (AVX2 + FMA) or HD_ISA_GENERIC (portable C).  The environment
 * variable HYENADNA_CPU_ISA=generic|avx2|avx512 lowers it (for tests and comparisons; never above what
 * the CPU has).  Each backend picks its kernels once, when it is made: results differ between instruction
 * sets in rounding only, and never with the thread count. */
enum { HD_ISA_GENERIC = 0, HD_ISA_AVX2 = 1, HD_ISA_AVX512 = 2 };
static inline int hd_cpu_isa(void)
{
    int isa = HD_ISA_GENERIC;
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) isa = HD_ISA_AVX512;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) isa = HD_ISA_AVX2;
#endif
    const char *e = getenv("HYENADNA_CPU_ISA");
    int cap = !e ? isa : !strcmp(e, "generic") ? HD_ISA_GENERIC : !strcmp(e, "avx2") ? HD_ISA_AVX2 : isa;
    return cap < isa ? cap : isa;
}

/* Decayed states underflow into float subnormals, which x86 cores process a hundred times slower: the
 * scan and cell ops run with flush-to-zero / denormals-are-zero set in each thread, restoring the
 * caller's mode afterwards.  Values below 1e-38 do not change the outputs at float precision. */
#if defined(__SSE2__)
#include <xmmintrin.h>
#define FTZ_BEGIN unsigned int csr_saved_ = _mm_getcsr(); _mm_setcsr(csr_saved_ | 0x8040)
#define FTZ_END _mm_setcsr(csr_saved_)
#else
#define FTZ_BEGIN do { } while (0)
#define FTZ_END do { } while (0)
#endif

/* Fill in the ops of one family's file: the Mamba (Caduceus) ops (mamba.c), the DNA-xLSTM ops (xlstm.c)
 * and the Evo 2 ops (evo2.c).  Called by hd_backend_cpu_new (cpu.c). */
void hd_backend_cpu_mamba_init(hd_backend *be);
void hd_backend_cpu_xlstm_init(hd_backend *be);
void hd_backend_cpu_evo2_init(hd_backend *be);
void hd_backend_cpu_hyena_init(hd_backend *be);

/* The hot elementwise loops are compiled for AVX-512, AVX2 and the baseline, chosen at run time
 * (GCC function multiversioning); each clone gives the same result on every call, whatever the thread
 * count. */
#if defined(__clang__)
/* clang names a multiversioned function's resolver NAME.ifunc, which callers in other files (seeing only
 * the declaration) do not find: the clang builds (the fuzz targets) take the baseline code */
#define HD_CLONES
#else
#define HD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif

/* Positions per GEMM block: every GEMM of the backend is cut into blocks of this many positions, one
 * single-threaded call per block, so that the rounding never depends on the thread count. */
#define HD_GEMM_BLOCK 256

/* The weights of a projection as the GEMMs take them: W [N, K] itself, and in bf16 (--precision bf16) also the
 * packed bf16 copy the kernels of bf16.c and amx.c read, in the one layout the op's output needs (yt: a
 * channel-major output, which AMX computes from bfr, the weights as A tiles; else bf), NULL in fp32 or when there
 * was no memory for it (then the projection runs in fp32); amx set when the AMX kernel takes it; gemv set instead
 * when the op has at most HD_CPU_BF16_GEMV_M positions (a decoding step): W is then read as it is, rounded on the
 * fly (hd_cpu_bf16_gemv), rather than packed whole for one position.  Made once per op call (M positions),
 * shared by its blocks, freed after. */
typedef struct { const float *W; size_t N, K; uint32_t *bf, *bfr; int amx, gemv; } hd_cpu_w;
void hd_cpu_w_init(hd_backend *be, hd_cpu_w *w, const float *W, size_t N, size_t K, int yt, size_t M);
void hd_cpu_w_free(hd_cpu_w *w);

/* The backend's projection kernel: HD_CPU_FP32 (OpenBLAS SGEMM), HD_CPU_BF16 (VDPBF16PS, bf16.c) or
 * HD_CPU_AMX (AMX tiles, amx.c) */
enum { HD_CPU_FP32 = 0, HD_CPU_BF16 = 1, HD_CPU_AMX = 2 };
int hd_cpu_gemm_kind(hd_backend *be);

/* One single-threaded GEMM block, accumulating: Y += X·Wᵀ in the backend's precision; X is [M, K] (row stride
 * ldx), or with xt channel-major Xt [K, M]; Y is [M, N] (row stride ldy), or with yt channel-major Yt [N, M]. */
void hd_cpu_gemm(int xt, int yt, size_t M, size_t N, size_t K, const float *X, size_t ldx, const hd_cpu_w *W, float *Y,
                 size_t ldy);

/* bf16.c: whether this processor has AVX512_BF16.  The packed weights both bf16 kernels read (hd_cpu_bf16_pack:
 * W fp32 rounded to nearest even, or wbf16 stored BF16 taken as they are) are hd_cpu_bf16_packed_len(N, K)
 * uint32 values, 64-byte aligned; hd_cpu_bf16_pack_w allocates and packs (NULL when out of memory).  The
 * rows layout (hd_cpu_bf16_pack_rows, pack_w with rows) holds the same values as AMX A tiles, 16 outputs × 16
 * pairs, for hd_cpu_amx_gemm_cm.
 * hd_cpu_bf16_gemm is one GEMM block as hd_cpu_gemm on the VDPBF16PS kernel (0, or -1 when out of memory, Y
 * untouched).  hd_cpu_bf16_gemv is the same for M ≤ HD_CPU_BF16_GEMV_M positions straight from W [N, K] (fp32
 * or wbf16 BF16; no packing).  hd_cpu_bf16_pack_x16 packs 16 positions into AMX input tiles, hd_cpu_tr16
 * transposes 16×16 32-bit values (both for amx.c). */
int hd_cpu_bf16_supported(void);
size_t hd_cpu_bf16_khp(size_t K);
size_t hd_cpu_bf16_nblk(size_t N);
size_t hd_cpu_bf16_packed_len(size_t N, size_t K);
void hd_cpu_bf16_pack(const void *W, int wbf16, size_t N, size_t K, uint32_t *dst);
void hd_cpu_bf16_pack_rows(const void *W, int wbf16, size_t N, size_t K, uint32_t *dst);
uint32_t *hd_cpu_bf16_pack_w(const float *W, size_t N, size_t K, int rows);
int hd_cpu_bf16_gemm(int xt, int yt, size_t M, size_t N, size_t K, const float *X, size_t ldx, const uint32_t *Wp,
                     float *Y, size_t ldy);
#define HD_CPU_BF16_GEMV_M 4
int hd_cpu_bf16_gemv(int xt, int yt, size_t M, size_t N, size_t K, const float *X, size_t ldx, const void *W,
                     int wbf16, float *Y, size_t ldy);
void hd_cpu_bf16_pack_x16(int xt, int vnni, size_t m0, size_t M, size_t K, const float *X, size_t ldx, size_t ks,
                          uint32_t *dst);
void hd_cpu_tr16(const uint32_t *src, size_t lds, uint32_t *dst, size_t ldd);

/* amx.c: whether the AMX kernel can run (AMX-BF16 and AVX512_BF16, the tile state granted by the kernel, and
 * HYENADNA_CPU_AMX=0 not set); one GEMM block as hd_cpu_bf16_gemm on AMX tiles (0, or -1 when out of memory or without
 * AMX, Y untouched) */
int hd_cpu_amx_supported(void);
int hd_cpu_amx_gemm(int xt, int yt, size_t M, size_t N, size_t K, const float *X, size_t ldx, const uint32_t *Wp,
                    float *Y, size_t ldy);
/* Channel-major output Yt [N, M] (+)= (X·Wᵀ)ᵀ as Yt = W·Xᵀ: the weights in the rows layout are the A tiles,
 * the positions the B tiles, and the accumulators are stored in place (the same sums as hd_cpu_amx_gemm) */
int hd_cpu_amx_gemm_cm(int xt, size_t M, size_t N, size_t K, const float *X, size_t ldx, const uint32_t *Wr, float *Yt,
                       size_t ldy);
/* … and in two steps, for many weight panels against the same inputs: X [M, K] (xt: channel-major) packed
 * into hd_cpu_amx_x_len(M, K) uint32 values, 64-byte aligned (OpenMP threads over tiles of positions; vnni: as
 * B tiles), then Y (+)= X·Wᵀ from the packed inputs (0, or -1 when out of memory or without AMX, Y untouched;
 * zero: Y's values are not read, Y = X·Wᵀ); with
 * B tiles of positions and rows-layout weights as A, hd_cpu_amx_gemm_packed(Wr, N, M, K, Xv, 0, Yt, ldy) gives
 * the channel-major Yt */
size_t hd_cpu_amx_x_len(size_t M, size_t K);
/* X packed as by hd_cpu_amx_pack_x into a buffer the backend keeps (grown as needed, freed with the backend: no
 * fresh pages to fault in at every projection); with reuse, the previous packing itself when it was of the same
 * X, shape and layout (HD_LIN_SAME_X).  NULL when out of memory.  One caller at a time per backend. */
const uint32_t *hd_cpu_xpack(hd_backend *be, int xt, int vnni, size_t M, size_t K, const float *X, size_t ldx, int reuse);
void hd_cpu_amx_pack_x(int xt, int vnni, size_t M, size_t K, const float *X, size_t ldx, uint32_t *A);
int hd_cpu_amx_gemm_packed(const uint32_t *A, size_t M, size_t N, size_t K, const uint32_t *Wp, int yt, int zero,
                           float *Y, size_t ldy);

/* A buffer of at least bytes (64-byte aligned) of the calling thread's, kept for its next call with the same slot
 * (its contents are not kept across slots' users: each op fills what it reads) and freed when the thread ends;
 * NULL when out of memory. */
enum {
    HD_CPU_SCRATCH_AMX_C, HD_CPU_SCRATCH_PANEL, HD_CPU_SCRATCH_F32,   /* the bf16 GEMMs' */
    HD_CPU_SCRATCH_FFT_BUF, HD_CPU_SCRATCH_FFT_U, HD_CPU_SCRATCH_FFT_K,   /* fftconv's (cpu.c) */
    HD_CPU_SCRATCH_FFT_KP, HD_CPU_SCRATCH_FFT_UP, HD_CPU_SCRATCH_FFT_TAIL,
    HD_CPU_SCRATCH_SLOTS
};
void *hd_cpu_scratch(int slot, size_t bytes);

/* Row kernels of cpu.c shared with the fused ops (one row or range; no threading) */
void hd_cpu_layernorm_row(const float *x, size_t D, const float *g, const float *bt, float eps, float *y);
void hd_cpu_gelu_tanh(float *x, size_t n);                                  /* in place */
void hd_cpu_add(float *y, const float *x, size_t n);                        /* y += x */
void hd_cpu_mul(const float *a, const float *b, float *y, size_t n);        /* y = a·b; y may alias a or b */
void hd_cpu_fill(float *y, float v, size_t n);
/* One channel of cpu_causal_conv (backend.h: causal_conv): yc[t] = bias + Σ_j wc[j]·xc[hist + t − (K−1) + j] */
void hd_cpu_causal_conv_row(const float *xc, size_t T, size_t hist, const float *wc, size_t K, float bias, float *yc);
/* fftconv without cached spectra splits a convolution whose single transform would exceed min_n points into
 * blocks of `block` positions (transforms of 2·block points; 0: a power of two from 2^15 to 2^17 picked for
 * the length, part_block in cpu.c); the default (HD_CPU_PART_MIN, automatic blocks) keeps the transforms in
 * cache.  Tests set small ones. */
#define HD_CPU_PART_MIN ((size_t)1 << 18)
void hd_cpu_fftconv_partition(hd_backend *be, size_t min_n, size_t block);

#endif
