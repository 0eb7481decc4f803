/* test_amx.c -- the bf16 GEMM kernels of the CPU backend (backends/cpu/amx.c, bf16.c) directly: the AMX tile kernel
 * against a scalar sum of the same bf16-rounded inputs on awkward shapes (every edge of the tiles and of the N and K
 * chunks, both layouts of X and Y), against the VDPBF16PS kernel, and through the backend's ops on 1 and 4 threads, bit
 * for bit; the VDPBF16PS kernel and the few-position path of cached decoding the same way.  On a processor without AMX
 * the AMX parts are skipped, saying so, and the VDPBF16PS fallback is checked in their place. */
#include "testutil.h"
#include "backends/cpu/cpu.h"

#include <stdint.h>

/* the processor's own word (the kernel hides the flags when it cannot run AMX), not the backend's check */
static int cpuinfo_has(const char *flag)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[8192], pat[64];
    snprintf(pat, sizeof pat, " %s", flag);
    int has = 0;
    while (f && !has && fgets(line, sizeof line, f))
        if (!strncmp(line, "flags", 5)) {
            char *p = strstr(line, pat);
            has = p && (p[strlen(pat)] == ' ' || p[strlen(pat)] == '\n');
        }
    if (f) fclose(f);
    return has;
}

static int has_amx(void) { return cpuinfo_has("amx_bf16") && cpuinfo_has("amx_tile") && cpuinfo_has("avx512_bf16"); }

static uint64_t rng = 88172645463325252ull;
static float frand(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* round to nearest even, as the kernels round their inputs */
static double rbf(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    float r;
    memcpy(&r, &u, 4);
    return r;
}

typedef int (*gemm_fn)(int, int, size_t, size_t, size_t, const float *, size_t, const uint32_t *, float *, size_t);
/* a kernel run on fp32 weights W [N, K] as the backend would: packed for the GEMMs, as they are (fp32, or
 * rounded to BF16 first, as Evo 2 stores them) for the few-position path */
typedef int (*run_fn)(int, int, size_t, size_t, size_t, const float *, size_t, const float *, float *, size_t);

static int run_packed(gemm_fn fn, int xt, int yt, size_t M, size_t N, size_t K, const float *X, size_t ldx, const float *W,
                      float *Y, size_t ldy)
{
    uint32_t *Wp = hd_cpu_bf16_pack_w(W, N, K, 0);
    cr_assert_not_null(Wp);
    int rc = fn(xt, yt, M, N, K, X, ldx, Wp, Y, ldy);
    free(Wp);
    return rc;
}
static int run_amx(int xt, int yt, size_t M, size_t N, size_t K, const float *X, size_t ldx, const float *W, float *Y, size_t ldy)
{
    return run_packed(hd_cpu_amx_gemm, xt, yt, M, N, K, X, ldx, W, Y, ldy);
}
/* channel-major output as the backend runs it on AMX: the weights as A tiles (hd_cpu_amx_gemm_cm) */
static int run_amx_cm(int xt, int yt, size_t M, size_t N, size_t K, const float *X, size_t ldx, const float *W, float *Y,
                      size_t ldy)
{
    if (!yt) return run_amx(xt, yt, M, N, K, X, ldx, W, Y, ldy);
    uint32_t *Wr = hd_cpu_bf16_pack_w(W, N, K, 1);
    cr_assert_not_null(Wr);
    int rc = hd_cpu_amx_gemm_cm(xt, M, N, K, X, ldx, Wr, Y, ldy);
    free(Wr);
    return rc;
}
/* a product that starts from zero (gemm_packed's zero): into a buffer of NaNs (a NaN read would stay a NaN), then
 * added to Y for the reference's Y0 + X·Wᵀ */
static int run_amx_zero(int xt, int yt, size_t M, size_t N, size_t K, const float *X, size_t ldx, const float *W, float *Y,
                        size_t ldy)
{
    uint32_t *Wp = hd_cpu_bf16_pack_w(W, N, K, 0);
    uint32_t *Xp = aligned_alloc(64, (hd_cpu_amx_x_len(M, K) ? hd_cpu_amx_x_len(M, K) : 16) * sizeof(uint32_t));
    size_t ny = (yt ? N : M) * ldy;
    float *T = malloc((ny ? ny : 1) * sizeof(float));
    cr_assert(Wp && Xp && T);
    for (size_t i = 0; i < ny; i++) T[i] = NAN;
    hd_cpu_amx_pack_x(xt, 0, M, K, X, ldx, Xp);
    int rc = hd_cpu_amx_gemm_packed(Xp, M, N, K, Wp, yt, 1, T, ldy);
    for (size_t r = 0; r < (yt ? N : M); r++)
        for (size_t c = 0; c < (yt ? M : N); c++) Y[r * ldy + c] += T[r * ldy + c];
    free(Wp), free(Xp), free(T);
    return rc;
}
static int run_vdp(int xt, int yt, size_t M, size_t N, size_t K, const float *X, size_t ldx, const float *W, float *Y, size_t ldy)
{
    return run_packed(hd_cpu_bf16_gemm, xt, yt, M, N, K, X, ldx, W, Y, ldy);
}
static int run_gemv(int xt, int yt, size_t M, size_t N, size_t K, const float *X, size_t ldx, const float *W, float *Y, size_t ldy)
{
    return hd_cpu_bf16_gemv(xt, yt, M, N, K, X, ldx, W, 0, Y, ldy);
}
static int run_gemv_bf16(int xt, int yt, size_t M, size_t N, size_t K, const float *X, size_t ldx, const float *W, float *Y,
                         size_t ldy)
{
    uint16_t *Wb = malloc((N && K ? N * K : 1) * 2);
    for (size_t i = 0; i < N * K; i++) {
        float r = (float)rbf(W[i]);
        uint32_t u;
        memcpy(&u, &r, 4);
        Wb[i] = (uint16_t)(u >> 16);
    }
    int rc = hd_cpu_bf16_gemv(xt, yt, M, N, K, X, ldx, Wb, 1, Y, ldy);
    free(Wb);
    return rc;
}

/* Y0 + X·Wᵀ from bf16-rounded X and W, in double, and Σ|terms| per output (the scale of fp32 summation error) */
static void reference(int xt, int yt, size_t M, size_t N, size_t K, const float *X, size_t ldx, const float *W,
                      const float *Y0, size_t ldy, double *ref, double *scale)
{
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++) {
            size_t iy = yt ? n * ldy + m : m * ldy + n;
            double s = Y0[iy], a = fabs(Y0[iy]);
            for (size_t k = 0; k < K; k++) {
                double t = rbf(xt ? X[k * ldx + m] : X[m * ldx + k]) * rbf(W[n * K + k]);
                s += t, a += fabs(t);
            }
            ref[iy] = s, scale[iy] = a;
        }
}

/* one shape through fn: every output within fp32 summation error of the reference (and nothing outside M × N
 * touched); returns the largest error relative to the scale */
static double check_shape(run_fn fn, const char *what, int xt, int yt, size_t M, size_t N, size_t K)
{
    size_t ldx = (xt ? M : K) + 3, ldy = (yt ? M : N) + 5, nx = (xt ? K : M) * ldx, ny = (yt ? N : M) * ldy;
    float *X = malloc(nx * sizeof *X), *W = malloc(N * K * sizeof *W), *Y = malloc(ny * sizeof *Y), *Y0 = malloc(ny * sizeof *Y0);
    double *ref = malloc(ny * sizeof *ref), *scale = malloc(ny * sizeof *scale);
    for (size_t i = 0; i < nx; i++) X[i] = frand();
    for (size_t i = 0; i < N * K; i++) W[i] = frand();
    for (size_t i = 0; i < ny; i++) Y0[i] = Y[i] = frand(), ref[i] = Y0[i], scale[i] = 0;
    reference(xt, yt, M, N, K, X, ldx, W, Y0, ldy, ref, scale);
    cr_assert_eq(fn(xt, yt, M, N, K, X, ldx, W, Y, ldy), 0, "%s: out of memory", what);
    double worst = 0;
    for (size_t i = 0; i < ny; i++) {
        double err = fabs((double)Y[i] - ref[i]);
        if (scale[i] == 0) {   /* padding between rows / columns: untouched */
            cr_assert_eq(Y[i], Y0[i], "%s xt=%d yt=%d M=%zu N=%zu K=%zu: element %zu outside the output was written", what,
                         xt, yt, M, N, K, i);
            continue;
        }
        double e = err / scale[i];
        if (e > worst) worst = e;
        cr_assert_leq(e, 1e-5, "%s xt=%d yt=%d M=%zu N=%zu K=%zu: element %zu is %.9g, want %.9g (scale %.3g)", what, xt, yt,
                      M, N, K, i, Y[i], ref[i], scale[i]);
    }
    free(X), free(W), free(Y), free(Y0), free(ref), free(scale);
    return worst;
}

static const size_t SM[] = {1, 15, 17, 31, 33, 100, 257}, SN[] = {1, 15, 17, 31, 33, 100, 257},
                    SK[] = {1, 2, 15, 31, 33, 100, 257, 600};
#define NS(a) (sizeof a / sizeof *a)

static void sweep(run_fn fn, const char *what, const size_t *SM, size_t nm)
{
    double worst = 0;
    for (int lay = 0; lay < 4; lay++)
        for (size_t a = 0; a < nm; a++)
            for (size_t b = 0; b < NS(SN); b++)
                for (size_t c = 0; c < NS(SK); c++) {
                    double e = check_shape(fn, what, lay & 1, lay >> 1, SM[a], SN[b], SK[c]);
                    if (e > worst) worst = e;
                }
    cr_log_info("%s: largest error %.3g of the sum of |terms|", what, worst);
}

/* AMX on every awkward shape; without AMX, said so, and the fallback kernel on the same shapes */
Test(amx, gemm_against_reference)
{
    if (!cpuinfo_has("avx512_bf16")) cr_skip_test("this processor lacks AVX512_BF16: no bf16 kernel to test");
    unsetenv("HYENADNA_CPU_AMX");   /* (the kernel itself is tested; the switch is, below) */
    if (has_amx()) {
        cr_assert(hd_cpu_amx_supported(), "the processor has AMX-BF16 but the kernel refused the tile state");
        sweep(run_amx, "AMX", SM, NS(SM));
        sweep(run_amx_cm, "AMX, weights as A tiles", SM, NS(SM));
        sweep(run_amx_zero, "AMX, from zero", SM, NS(SM));
    } else {
        /* (cr_log_warn would make Criterion 2.4 exit 1 with every test passed) */
        cr_log_info("this processor lacks AMX-BF16: the AMX kernel is not tested here, the VDPBF16PS fallback is");
        cr_assert_not(hd_cpu_amx_supported());
        sweep(run_vdp, "VDPBF16PS", SM, NS(SM));
    }
}

Test(amx, vdpbf16ps_against_reference)
{
    if (!cpuinfo_has("avx512_bf16")) cr_skip_test("this processor lacks AVX512_BF16");
    sweep(run_vdp, "VDPBF16PS", SM, NS(SM));
}

/* a few positions (cached decoding): fp32 and stored BF16 weights, unpacked */
Test(amx, gemv_against_reference)
{
    if (!cpuinfo_has("avx512_bf16")) cr_skip_test("this processor lacks AVX512_BF16");
    static const size_t SM4[] = {1, 2, 3, HD_CPU_BF16_GEMV_M};
    sweep(run_gemv, "GEMV", SM4, NS(SM4));
    sweep(run_gemv_bf16, "GEMV on BF16 weights", SM4, NS(SM4));
    float y = 0;
    cr_assert_eq(hd_cpu_bf16_gemv(0, 0, HD_CPU_BF16_GEMV_M + 1, 1, 1, &y, 1, &y, 0, &y, 1), -1, "too many positions accepted");
}

/* the two kernels on the same packed weights: equal up to fp32 summation order */
Test(amx, amx_against_vdpbf16ps)
{
    if (!has_amx()) cr_skip_test("this processor lacks AMX-BF16: nothing to compare the VDPBF16PS kernel with");
    size_t M = 300, N = 200, K = 777;
    float *X = malloc(M * K * 4), *W = malloc(N * K * 4), *Ya = calloc(M * N, 4), *Yb = calloc(M * N, 4);
    for (size_t i = 0; i < M * K; i++) X[i] = frand();
    for (size_t i = 0; i < N * K; i++) W[i] = frand();
    uint32_t *Wp = hd_cpu_bf16_pack_w(W, N, K, 0);
    cr_assert_eq(hd_cpu_amx_gemm(0, 0, M, N, K, X, K, Wp, Ya, N), 0);
    cr_assert_eq(hd_cpu_bf16_gemm(0, 0, M, N, K, X, K, Wp, Yb, N), 0);
    double mx, rel = rel_frob(Ya, Yb, M * N, &mx);
    cr_assert_leq(rel, 1e-6, "AMX and VDPBF16PS: rel_F %.3g", rel);
    cr_assert_gt(rel, 0, "AMX and VDPBF16PS gave the same bits: did both kernels run?");
    free(X), free(W), free(Ya), free(Yb), free(Wp);
}

/* channel-major output both ways (the positions' tiles as A, or the weights' as A): the same bits */
Test(amx, channel_major_both_ways)
{
    if (!has_amx()) cr_skip_test("this processor lacks AMX-BF16");
    unsetenv("HYENADNA_CPU_AMX");
    for (int xt = 0; xt < 2; xt++) {
        size_t M = 77, N = 50, K = 600, ldx = xt ? M : K;
        float *X = malloc(M * K * 4), *W = malloc(N * K * 4), *Ya = malloc(M * N * 4), *Yb = malloc(M * N * 4);
        for (size_t i = 0; i < M * K; i++) X[i] = frand();
        for (size_t i = 0; i < N * K; i++) W[i] = frand();
        for (size_t i = 0; i < M * N; i++) Ya[i] = Yb[i] = frand();
        cr_assert_eq(run_amx(xt, 1, M, N, K, X, ldx, W, Ya, M), 0);
        cr_assert_eq(run_amx_cm(xt, 1, M, N, K, X, ldx, W, Yb, M), 0);
        cr_assert_eq(memcmp(Ya, Yb, M * N * 4), 0, "xt=%d: the two channel-major paths differ", xt);
        free(X), free(W), free(Ya), free(Yb);
    }
}

/* Evo 2's stored BF16 weights are packed as they are: the same packed bytes as fp32 weights holding those values */
Test(amx, pack_bf16_weights)
{
    if (!cpuinfo_has("avx512_bf16")) cr_skip_test("this processor lacks AVX512_BF16");
    size_t N = 45, K = 71, len = hd_cpu_bf16_packed_len(N, K);
    uint16_t *Wb = malloc(N * K * 2);
    float *Wf = malloc(N * K * 4);
    for (size_t i = 0; i < N * K; i++) {
        float f = frand() * 3;
        uint32_t u;
        memcpy(&u, &f, 4);
        Wb[i] = (uint16_t)(u >> 16);
        u &= 0xffff0000u;
        memcpy(&Wf[i], &u, 4);
    }
    uint32_t *a = aligned_alloc(64, len * 4), *b = aligned_alloc(64, len * 4);
    hd_cpu_bf16_pack(Wb, 1, N, K, a);
    hd_cpu_bf16_pack(Wf, 0, N, K, b);
    cr_assert_eq(memcmp(a, b, len * 4), 0);
    /* and where each value lands: block n/16, pair k/2, lane n%16, half k%2 */
    for (size_t n = 0; n < N; n++)
        for (size_t k = 0; k < K; k++) {
            uint32_t v = a[((n / 16) * hd_cpu_bf16_khp(K) + k / 2) * 16 + n % 16];
            cr_assert_eq((uint16_t)(k % 2 ? v >> 16 : v), Wb[n * K + k], "n=%zu k=%zu", n, k);
        }
    free(Wb), free(Wf), free(a), free(b);
}

/* Through the backend: the kind the backend picked, HYENADNA_CPU_AMX=0, and each projection op on 1 and 4
 * threads bit for bit and equal to one kernel call over all positions (the blocks of positions change
 * nothing) */
Test(amx, backend_threads_and_blocks)
{
    if (!cpuinfo_has("avx512_bf16")) cr_skip_test("this processor lacks AVX512_BF16: the backend refuses bf16");
    unsetenv("HYENADNA_CPU_AMX");
    hd_backend *be = hd_backend_cpu_new(1);
    cr_assert_eq(hd_backend_set_precision(be, "bf16"), 0, "%s", hd_error());
    cr_assert_eq(hd_cpu_gemm_kind(be), has_amx() ? HD_CPU_AMX : HD_CPU_BF16);
    hd_backend_free(be);
    setenv("HYENADNA_CPU_AMX", "0", 1);
    be = hd_backend_cpu_new(1);
    cr_assert_eq(hd_backend_set_precision(be, "bf16"), 0, "%s", hd_error());
    cr_assert_eq(hd_cpu_gemm_kind(be), HD_CPU_BF16, "HYENADNA_CPU_AMX=0 did not turn AMX off");
    cr_assert_str_eq(hd_backend_device(be), "cpu (1 thread, bf16 projections)");
    hd_backend_free(be);
    unsetenv("HYENADNA_CPU_AMX");

    size_t M = 1000, N = 96, K = 130;
    float *X = malloc(M * K * 4), *W = malloc(N * K * 4), *b = malloc(N * 4), *Y1 = malloc(M * N * 4), *Y4 = malloc(M * N * 4),
          *Yd = malloc(M * N * 4);
    for (size_t i = 0; i < M * K; i++) X[i] = frand();
    for (size_t i = 0; i < N * K; i++) W[i] = frand();
    for (size_t i = 0; i < N; i++) b[i] = frand();
    uint32_t *Wp = hd_cpu_bf16_pack_w(W, N, K, 0);
    for (int op = 0; op < 2; op++) {   /* linear (row-major out), linear_cm_out (channel-major out) */
        float *Y[2] = {Y1, Y4};
        for (int t = 0; t < 2; t++) {
            be = hd_backend_cpu_new(t ? 4 : 1);
            cr_assert_eq(hd_backend_set_precision(be, "bf16"), 0);
            if (op) be->linear_cm_out(be, X, M, K, K, W, b, N, Y[t], M);
            else be->linear(be, X, M, K, K, W, b, N, Y[t], N);
            hd_backend_free(be);
        }
        cr_assert_eq(memcmp(Y1, Y4, M * N * 4), 0, "op %d: 1 and 4 threads differ", op);
        for (size_t m = 0; m < M; m++)
            for (size_t n = 0; n < N; n++) Yd[op ? n * M + m : m * N + n] = b[n];
        gemm_fn fn = has_amx() ? hd_cpu_amx_gemm : hd_cpu_bf16_gemm;
        cr_assert_eq(fn(0, op, M, N, K, X, K, Wp, Yd, op ? M : N), 0);
        cr_assert_eq(memcmp(Y1, Yd, M * N * 4), 0, "op %d: the blocked op differs from one call over all positions", op);
    }
    free(X), free(W), free(b), free(Y1), free(Y4), free(Yd), free(Wp);
}

/* Attention in bf16 (evo2.c: the score and value products on the bf16 kernels): on AMX and, with
 * HYENADNA_CPU_AMX=0, on VDPBF16PS, queries that see more than one segment of 4,096 packed keys: each within bf16
 * rounding of float32 (rel_F 1e-2), different from it (the bf16 path ran), and bit-identical on 1 and 4 threads */
Test(amx, attention_both_kernels)
{
    if (!cpuinfo_has("avx512_bf16")) cr_skip_test("this processor lacks AVX512_BF16: the backend refuses bf16");
    size_t NH = 2, DH = 32, M = 150, pos0 = 4000, Lk = pos0 + M, ld = NH * DH;
    float *Q = malloc(M * ld * 4), *K = malloc(Lk * ld * 4), *V = malloc(Lk * ld * 4), *O[3], *O4 = malloc(M * ld * 4);
    for (size_t i = 0; i < M * ld; i++) Q[i] = 2 * frand();
    for (size_t i = 0; i < Lk * ld; i++) K[i] = 2 * frand(), V[i] = frand();
    float scale = 1.0f / sqrtf((float)DH);
    for (int v = 0; v < 3; v++) {   /* float32, bf16 on AMX (where present), bf16 on VDPBF16PS */
        O[v] = malloc(M * ld * 4);
        if (v == 2) setenv("HYENADNA_CPU_AMX", "0", 1);
        for (int t = 0; t < 2; t++) {
            hd_backend *be = hd_backend_cpu_new(t ? 4 : 1);
            if (v) cr_assert_eq(hd_backend_set_precision(be, "bf16"), 0, "%s", hd_error());
            if (v == 2) cr_assert_eq(hd_cpu_gemm_kind(be), HD_CPU_BF16);
            cr_assert_eq(be->attention(be, Q, ld, DH, K, ld, DH, V, ld, DH, M, Lk, NH, DH, pos0, scale, t ? O4 : O[v], ld, DH), 0,
                         "%s", hd_error());
            hd_backend_free(be);
        }
        unsetenv("HYENADNA_CPU_AMX");
        cr_assert_eq(memcmp(O[v], O4, M * ld * 4), 0, "variant %d: 1 and 4 threads differ", v);
    }
    for (int v = 1; v < 3; v++) {
        double num = 0, den = 0;
        for (size_t i = 0; i < M * ld; i++) num += ((double)O[v][i] - O[0][i]) * ((double)O[v][i] - O[0][i]), den += (double)O[0][i] * O[0][i];
        cr_assert(num > 0, "variant %d: bf16 gave the float32 output", v);
        cr_assert_leq(sqrt(num / den), 1e-2, "variant %d: rel_F %.3g against float32", v, sqrt(num / den));
    }
    if (has_amx()) cr_assert_neq(memcmp(O[1], O[2], M * ld * 4), 0, "AMX and VDPBF16PS gave the same bits (one kernel ran twice?)");
    for (int v = 0; v < 3; v++) free(O[v]);
    free(Q), free(K), free(V), free(O4);
}
