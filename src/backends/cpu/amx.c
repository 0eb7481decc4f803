/* amx.c -- the CPU backend's bf16 projections on Intel AMX (--precision bf16 where the processor has
 * AMX-BF16): Y (+)= X·Wᵀ with inputs rounded to bfloat16 (nearest even) and fp32 accumulation, by the tile
 * instruction TDPBF16PS (16 positions × 16 outputs × 32 k per instruction).
 *
 * The weights are packed once per op call in the layout of bf16.c (every 16 k-pairs × 16 outputs of a block
 * one B tile); the inputs are packed here per block of positions into A tiles (16 positions × 32 k).  The
 * kernel holds 2×2 accumulator tiles (32 positions × 32 outputs) and two A and two B tiles, walks K in steps
 * of 32, and cuts N and K into chunks so that the packed input and weights being reused stay in the L2 and
 * L1 caches; an accumulator leaving the tiles between K chunks is stored as it is (fp32, exact) and loaded
 * back.  Every output is thus one sum over k whose order depends on K alone: the results do not depend on
 * the block of positions, the chunking or the thread count (docs/models.md §3.6).
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
#define NC 8     /* blocks of 16 outputs per output chunk (even): 128 outputs */
#define KC 16    /* steps of 32 k per K chunk: 512 k */

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

/* a 16×16 fp32 tile t (rows positions m …, columns outputs n …) added into Y, the part inside M × N */
AMX_TARGET static void add_tile(const float *t, size_t m, size_t n, size_t M, size_t N, int yt, float *Y, size_t ldy)
{
    if (m >= M || n >= N) return;
    size_t rows = M - m < 16 ? M - m : 16, cols = N - n < 16 ? N - n : 16;
    if (!yt) {
        __mmask16 k = (__mmask16)(cols == 16 ? 0xffffu : (1u << cols) - 1u);
        for (size_t r = 0; r < rows; r++) {
            float *y = Y + (m + r) * ldy + n;
            _mm512_mask_storeu_ps(y, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, y), _mm512_load_ps(t + r * 16)));
        }
    } else {
        float u[256] __attribute__((aligned(64)));
        hd_cpu_tr16((const uint32_t *)t, 16, (uint32_t *)u, 16);
        __mmask16 k = (__mmask16)(rows == 16 ? 0xffffu : (1u << rows) - 1u);
        for (size_t c = 0; c < cols; c++) {
            float *y = Y + (n + c) * ldy + m;
            _mm512_mask_storeu_ps(y, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, y), _mm512_load_ps(u + c * 16)));
        }
    }
}

/* the four accumulators of positions m … m+31 and outputs n … n+31 added into Y */
AMX_TARGET static void add_acc(float *t, size_t m, size_t n, size_t M, size_t N, int yt, float *Y, size_t ldy)
{
    _tile_stored(0, t, 64);
    _tile_stored(1, t + 256, 64);
    _tile_stored(2, t + 512, 64);
    _tile_stored(3, t + 768, 64);
    add_tile(t, m, n, M, N, yt, Y, ldy);
    add_tile(t + 256, m, n + 16, M, N, yt, Y, ldy);
    add_tile(t + 512, m + 16, n, M, N, yt, Y, ldy);
    add_tile(t + 768, m + 16, n + 16, M, N, yt, Y, ldy);
}

/* one block of mb ≤ MC positions, packed in A ([mt][ks] tiles): every output chunk, K chunk by K chunk */
AMX_TARGET static void block(const uint32_t *A, size_t mt, size_t ks, const uint32_t *B, size_t nblk, size_t mb,
                             size_t N, int yt, float *Y, size_t ldy, float *C)
{
    float t[1024] __attribute__((aligned(64)));
    for (size_t jc = 0; jc < nblk; jc += NC) {
        size_t je = jc + NC < nblk ? jc + NC : nblk;
        for (size_t kc = 0; kc < ks; kc += KC) {
            size_t ke = kc + KC < ks ? kc + KC : ks;
            for (size_t j = jc; j < je; j += 2)
                for (size_t i = 0; i < mt; i += 2) {
                    float *c = C + (((j - jc) / 2 * (mt / 2) + i / 2) * 4) * 256;
                    if (kc == 0) {
                        _tile_zero(0);
                        _tile_zero(1);
                        _tile_zero(2);
                        _tile_zero(3);
                    } else {
                        _tile_loadd(0, c, 64);
                        _tile_loadd(1, c + 256, 64);
                        _tile_loadd(2, c + 512, 64);
                        _tile_loadd(3, c + 768, 64);
                    }
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
                    if (ke == ks) add_acc(t, 16 * i, 16 * j, mb, N, yt, Y, ldy);
                    else {
                        _tile_stored(0, c, 64);
                        _tile_stored(1, c + 256, 64);
                        _tile_stored(2, c + 512, 64);
                        _tile_stored(3, c + 768, 64);
                    }
                }
        }
    }
}

AMX_TARGET int hd_cpu_amx_gemm(int xt, int yt, size_t M, size_t N, size_t K, const float *X, size_t ldx,
                               const uint32_t *Wp, float *Y, size_t ldy)
{
    if (!amx_ready()) return -1;   /* (the callers ask hd_cpu_amx_supported first) */
    if (!M || !N) return 0;
    size_t ks = hd_cpu_bf16_khp(K) / 16, nblk = hd_cpu_bf16_nblk(N), mc = M < MC ? (M + 31) / 32 * 32 : MC;
    uint32_t *A = aligned_alloc(64, mc / 16 * ks * 1024);
    float *C = ks > KC ? aligned_alloc(64, mc * NC * 16 * sizeof(float)) : NULL;
    if (!A || (ks > KC && !C)) {
        free(A);
        free(C);
        return -1;
    }
    tiles_config();
    for (size_t m0 = 0; m0 < M; m0 += MC) {
        size_t mb = M - m0 < MC ? M - m0 : MC, mt = (mb + 31) / 32 * 2;
        for (size_t i = 0; i < mt; i++)
            hd_cpu_bf16_pack_x16(xt, m0 + 16 * i, M, K, X, ldx, ks, A + i * ks * 256);
        block(A, mt, ks, Wp, nblk, mb, N, yt, yt ? Y + m0 : Y + m0 * ldy, ldy, C);
    }
    _tile_release();
    free(A);
    free(C);
    return 0;
}

#else   /* not x86-64 Linux: no AMX */

int hd_cpu_amx_supported(void) { return 0; }
int hd_cpu_amx_gemm(int xt, int yt, size_t M, size_t N, size_t K, const float *X, size_t ldx, const uint32_t *Wp,
                    float *Y, size_t ldy)
{
    return -1;
}

#endif
