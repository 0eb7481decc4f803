/* amx.c -- the CPU backend's bf16 projections on Intel AMX (--precision bf16 where the processor has
 * AMX-BF16): Y (+)= X·Wᵀ with inputs rounded to bfloat16 (nearest even) and fp32 accumulation, by the tile
 * instruction TDPBF16PS (16 positions × 16 outputs × 32 k per instruction).
 *
 * The weights are packed once per op call in the layout of bf16.c (every 16 k-pairs × 16 outputs of a block
 * one B tile); the inputs are packed here per block of positions into A tiles (16 positions × 32 k).  The
 * kernel holds 2×2 accumulator tiles (32 positions × 32 outputs) and two A and two B tiles, walks K in steps
 * of 32, and cuts N and K into chunks so that the packed input and weights being reused stay in the L2 and
 * L1 caches; an accumulator leaving the tiles between K chunks is stored as it is (fp32, exact) and loaded
 * back (into a buffer of the thread's, hd_cpu_scratch).  The accumulators start from Y's values (or from zero,
 * when the caller has no bias or sum to add: the same result without writing Y twice), so every output is Y +
 * one sum over k in an order that depends on K alone: the results do not depend on the block of positions, the
 * chunking or the thread count (docs/models.md §3.6).  A channel-major output is computed as its transpose,
 * Yt = W·Xᵀ (hd_cpu_amx_gemm_cm): the weights packed as A tiles (bf16.c's rows layout), the positions as B
 * tiles, and the accumulators again loaded and stored in place — the same sums, bit for bit, without
 * transposing the accumulators.  On one Sapphire Rapids core the loop reaches 1.5–2.2 TFLOP/s with its data in
 * L1/L2, about 1.1 on whole Evo 2 projections, weight packing included (bench/evo2_gemm_rate).
 *
 * Linux gives a process the 8 KiB tile state only on request (arch_prctl ARCH_REQ_XCOMP_PERM); the request
 * is made once, on the first use.  Each call configures the tiles of its thread (LDTILECFG) and releases them
 * after, so that no thread carries tile state it does not use.  HYENADNA_CPU_AMX=0 in the environment turns
 * the kernel off (the VDPBF16PS kernel of bf16.c runs instead): for comparisons and tests. */
#include "backends/cpu/cpu.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__)
#define HD_HAVE_AMX 1
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#ifdef HD_HAVE_AMX

#define AMX_TARGET __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512bf16")))
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

#define MC 256   /* positions per packed input block (a multiple of 32) */
#define NC 16    /* blocks of 16 outputs per output chunk (even): 256 outputs (8: 7–10 % slower on the Evo 2 7B shapes) */
#define KC 8     /* steps of 32 k per K chunk: 256 k (measured: 8 to 16 alike; 32 slower) */

static int amx_usable;
static pthread_once_t amx_once = PTHREAD_ONCE_INIT;

/* CPUID.(7,0):EDX bit 22 AMX-BF16, bit 24 AMX-TILE; the kernel must grant the tile data state */
static void amx_probe(void)
{
    unsigned a, b, c, d;
    if (!hd_cpu_bf16_supported() || !__get_cpuid_count(7, 0, &a, &b, &c, &d)) return;
    if (!(d & (1u << 22)) || !(d & (1u << 24))) return;
    amx_usable = syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
}

static int amx_ready(void)
{
    pthread_once(&amx_once, amx_probe);
    return amx_usable;
}

int hd_cpu_amx_supported(void)
{
    const char *e = getenv("HYENADNA_CPU_AMX");
    return !(e && !strcmp(e, "0")) && amx_ready();
}

/* tiles 0–3 the accumulators, 4–5 A, 6–7 B: all 16 rows of 64 bytes */
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tilecfg;

AMX_TARGET static void tiles_config(void)
{
    tilecfg cfg __attribute__((aligned(64)));
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) cfg.colsb[t] = 64, cfg.rows[t] = 16;
    _tile_loadconfig(&cfg);
}

/* The accumulators start from Y and end in it (Y + Σ over k, in one order whatever the tile's place): a tile
 * wholly inside a row-major Y is loaded and stored in place; any other (an edge, or channel-major Y) goes
 * through t, 16 rows of 16 (positions × outputs), zero outside M × N. */
AMX_TARGET static inline __mmask16 first(size_t n) { return (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u); }

AMX_TARGET static const float *c_src(float *t, size_t m, size_t n, size_t M, size_t N, int yt, float *Y, size_t ldy,
                                     size_t *stride)
{
    if (!yt && m + 16 <= M && n + 16 <= N) {
        *stride = ldy * sizeof(float);
        return Y + m * ldy + n;
    }
    *stride = 64;
    size_t rows = m < M ? M - m : 0, cols = n < N ? N - n : 0;   /* (masked vector moves: small memcpy is slow) */
    if (!yt) {
        for (size_t r = 0; r < 16; r++)
            _mm512_store_ps(t + r * 16, r < rows ? _mm512_maskz_loadu_ps(first(cols), Y + (m + r) * ldy + n) : _mm512_setzero_ps());
    } else {
        float u[256] __attribute__((aligned(64)));
        for (size_t c = 0; c < 16; c++)
            _mm512_store_ps(u + c * 16, c < cols ? _mm512_maskz_loadu_ps(first(rows), Y + (n + c) * ldy + m) : _mm512_setzero_ps());
        hd_cpu_tr16((const uint32_t *)u, 16, (uint32_t *)t, 16);
    }
    return t;
}

AMX_TARGET static float *c_dst(float *t, size_t m, size_t n, size_t M, size_t N, int yt, float *Y, size_t ldy,
                               size_t *stride)
{
    if (!yt && m + 16 <= M && n + 16 <= N) {
        *stride = ldy * sizeof(float);
        return Y + m * ldy + n;
    }
    *stride = 64;
    return t;
}

/* after a store through t: its part inside M × N back into Y */
AMX_TARGET static void c_back(const float *t, size_t m, size_t n, size_t M, size_t N, int yt, float *Y, size_t ldy)
{
    if ((!yt && m + 16 <= M && n + 16 <= N) || m >= M || n >= N) return;
    size_t rows = M - m < 16 ? M - m : 16, cols = N - n < 16 ? N - n : 16;
    if (!yt) {
        for (size_t r = 0; r < rows; r++) _mm512_mask_storeu_ps(Y + (m + r) * ldy + n, first(cols), _mm512_load_ps(t + r * 16));
    } else {
        float u[256] __attribute__((aligned(64)));
        hd_cpu_tr16((const uint32_t *)t, 16, (uint32_t *)u, 16);
        for (size_t c = 0; c < cols; c++) _mm512_mask_storeu_ps(Y + (n + c) * ldy + m, first(rows), _mm512_load_ps(u + c * 16));
    }
}

/* accumulator T ∈ 0…3 holds positions m + 16·(T/2), outputs n + 16·(T%2) */
#define C_LOAD(T)                                                                                                   \
    do {                                                                                                            \
        size_t ld_;                                                                                                 \
        const float *p_ = c_src(t + (T) * 256, m + 16 * ((T) / 2), n + 16 * ((T) % 2), M, N, yt, Y, ldy, &ld_);   \
        _tile_loadd(T, p_, ld_);                                                                                    \
    } while (0)
#define C_STORE(T)                                                                                                  \
    do {                                                                                                            \
        size_t ld_;                                                                                                 \
        float *p_ = c_dst(t + (T) * 256, m + 16 * ((T) / 2), n + 16 * ((T) % 2), M, N, yt, Y, ldy, &ld_);         \
        _tile_stored(T, p_, ld_);                                                                                   \
        c_back(t + (T) * 256, m + 16 * ((T) / 2), n + 16 * ((T) % 2), M, N, yt, Y, ldy);                           \
    } while (0)

/* the four accumulators to or from c, between K chunks */
#define BUF_LOAD(T) _tile_loadd(T, c + (T) * 256, 64)
#define BUF_STORE(T) _tile_stored(T, c + (T) * 256, 64)
#define ACC4(OP) do { OP(0); OP(1); OP(2); OP(3); } while (0)

/* M ≤ MC positions, packed in A ([mt][ks] tiles), against every output: output chunk by output chunk, K chunk
 * by K chunk; accumulators between K chunks wait in C (fp32, exact) */
AMX_TARGET static void block(const uint32_t *A, size_t mt, size_t ks, const uint32_t *B, size_t nblk, size_t M,
                             size_t N, int yt, int zero, float *Y, size_t ldy, float *C)
{
    float t[1024] __attribute__((aligned(64)));
    for (size_t jc = 0; jc < nblk; jc += NC) {
        size_t je = jc + NC < nblk ? jc + NC : nblk;
        for (size_t kc = 0; kc < ks; kc += KC) {
            size_t ke = kc + KC < ks ? kc + KC : ks;
            for (size_t j = jc; j < je; j += 2)
                for (size_t i = 0; i < mt; i += 2) {
                    size_t m = 16 * i, n = 16 * j;
                    float *c = C + (((j - jc) / 2 * (mt / 2) + i / 2) * 4) * 256;
                    if (kc == 0 && zero) ACC4(_tile_zero);
                    else if (kc == 0) ACC4(C_LOAD);
                    else ACC4(BUF_LOAD);
                    const uint32_t *a0 = A + i * ks * 256, *a1 = a0 + ks * 256;
                    const uint32_t *b0 = B + j * ks * 256, *b1 = b0 + ks * 256;
                    for (size_t s = kc; s < ke; s++) {
                        _tile_loadd(4, a0 + s * 256, 64);
                        _tile_loadd(6, b0 + s * 256, 64);
                        _tile_dpbf16ps(0, 4, 6);
                        _tile_loadd(7, b1 + s * 256, 64);
                        _tile_dpbf16ps(1, 4, 7);
                        _tile_loadd(5, a1 + s * 256, 64);
                        _tile_dpbf16ps(2, 5, 6);
                        _tile_dpbf16ps(3, 5, 7);
                    }
                    if (ke == ks) ACC4(C_STORE);
                    else ACC4(BUF_STORE);
                }
        }
    }
}

size_t hd_cpu_amx_x_len(size_t M, size_t K) { return (M + 31) / 32 * 32 * hd_cpu_bf16_khp(K); }

void hd_cpu_amx_pack_x(int xt, int vnni, size_t M, size_t K, const float *X, size_t ldx, uint32_t *A)
{
    size_t ks = hd_cpu_bf16_khp(K) / 16, mt = (M + 31) / 32 * 2;
    #pragma omp parallel for schedule(static) if (M * K > 65536)
    for (size_t i = 0; i < mt; i++) hd_cpu_bf16_pack_x16(xt, vnni, 16 * i, M, K, X, ldx, ks, A + i * ks * 256);
}

AMX_TARGET int hd_cpu_amx_gemm_packed(const uint32_t *A, size_t M, size_t N, size_t K, const uint32_t *Wp, int yt,
                                      int zero, float *Y, size_t ldy)
{
    if (!amx_ready()) return -1;   /* (the callers ask hd_cpu_amx_supported first) */
    if (!M || !N) return 0;
    size_t ks = hd_cpu_bf16_khp(K) / 16, nblk = hd_cpu_bf16_nblk(N);
    float *C = ks > KC ? hd_cpu_scratch(HD_CPU_SCRATCH_AMX_C, MC * NC * 16 * sizeof(float)) : NULL;
    if (ks > KC && !C) return -1;
    tiles_config();
    for (size_t m0 = 0; m0 < M; m0 += MC) {
        size_t mb = M - m0 < MC ? M - m0 : MC;
        block(A + m0 / 16 * ks * 256, (mb + 31) / 32 * 2, ks, Wp, nblk, mb, N, yt, zero, yt ? Y + m0 : Y + m0 * ldy, ldy, C);
    }
    _tile_release();
    return 0;
}

int hd_cpu_amx_gemm(int xt, int yt, size_t M, size_t N, size_t K, const float *X, size_t ldx, const uint32_t *Wp,
                    float *Y, size_t ldy)
{
    if (!amx_ready()) return -1;
    if (!M || !N) return 0;
    size_t ks = hd_cpu_bf16_khp(K) / 16, mc = M < MC ? M : MC;
    uint32_t *A = aligned_alloc(64, hd_cpu_amx_x_len(mc, K) * sizeof(uint32_t));
    if (!A) return -1;
    int rc = 0;
    for (size_t m0 = 0; m0 < M && !rc; m0 += MC) {
        size_t mb = M - m0 < MC ? M - m0 : MC, mt = (mb + 31) / 32 * 2;
        for (size_t i = 0; i < mt; i++) hd_cpu_bf16_pack_x16(xt, 0, m0 + 16 * i, M, K, X, ldx, ks, A + i * ks * 256);
        rc = hd_cpu_amx_gemm_packed(A, mb, N, K, Wp, yt, 0, yt ? Y + m0 : Y + m0 * ldy, ldy);
    }
    free(A);
    return rc;
}

int hd_cpu_amx_gemm_cm(int xt, size_t M, size_t N, size_t K, const float *X, size_t ldx, const uint32_t *Wr, float *Yt,
                       size_t ldy)
{
    if (!amx_ready()) return -1;
    if (!M || !N) return 0;
    size_t ks = hd_cpu_bf16_khp(K) / 16, mt = (M + 31) / 32 * 2;
    uint32_t *Xv = aligned_alloc(64, hd_cpu_amx_x_len(M, K) * sizeof(uint32_t));
    if (!Xv) return -1;
    for (size_t i = 0; i < mt; i++) hd_cpu_bf16_pack_x16(xt, 1, 16 * i, M, K, X, ldx, ks, Xv + i * ks * 256);
    int rc = hd_cpu_amx_gemm_packed(Wr, N, M, K, Xv, 0, 0, Yt, ldy);
    free(Xv);
    return rc;
}

#else   /* not x86-64 Linux: no AMX */

int hd_cpu_amx_supported(void) { return 0; }
size_t hd_cpu_amx_x_len(size_t M, size_t K) { return 0; }
void hd_cpu_amx_pack_x(int xt, int vnni, size_t M, size_t K, const float *X, size_t ldx, uint32_t *A) {}
int hd_cpu_amx_gemm_cm(int xt, size_t M, size_t N, size_t K, const float *X, size_t ldx, const uint32_t *Wr, float *Yt,
                       size_t ldy)
{
    return -1;
}
int hd_cpu_amx_gemm_packed(const uint32_t *A, size_t M, size_t N, size_t K, const uint32_t *Wp, int yt, int zero,
                           float *Y, size_t ldy)
{
    return -1;
}
int hd_cpu_amx_gemm(int xt, int yt, size_t M, size_t N, size_t K, const float *X, size_t ldx, const uint32_t *Wp,
                    float *Y, size_t ldy)
{
    return -1;
}

#endif
