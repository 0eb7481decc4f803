/* test_flops.c -- hd_model_gemm_flops, the GEMM FLOP counters of the families (used by `hyenadna bench`),
 * against counts worked out by hand from the fixture models' shapes (tests/data/…/config.json and the
 * tensor shapes), 2 FLOPs per multiply-add. */
#include "testutil.h"
#include "model.h"

static hd_model *open_model(const char *path)
{
    hd_model *m = hd_model_open(path);
    cr_assert_not_null(m, "%s: %s", path, hd_error());
    return m;
}

/* the counter at lengths 1 and 1000, without and with the head */
static void check(const char *path, double per_token, double head_per_token)
{
    hd_model *m = open_model(path);
    cr_expect_eq(hd_model_gemm_flops(m, 1, 0), per_token, "%s: %.0f FLOPs per token, expected %.0f", path,
                 hd_model_gemm_flops(m, 1, 0), per_token);
    cr_expect_eq(hd_model_gemm_flops(m, 1000, 0), 1000 * per_token, "%s at 1000 tokens", path);
    cr_expect_eq(hd_model_gemm_flops(m, 1000, 1), 1000 * (per_token + head_per_token), "%s with logits", path);
    cr_expect_eq(hd_model_gemm_flops(m, 0, 1), 0, "%s: nothing at length 0", path);
    hd_model_close(m);
}

/* HyenaDNA tiny: D 128, F 512, filter MLP E 5 → H 64, 2 inner (64 → 64), 64 → 128; 2 blocks; 16 head rows.
 * Per block: in_proj 2·128·384 = 98304, out_proj 2·128·128 = 32768, fc1 + fc2 2·2·128·512 = 262144,
 * filter MLP 2·(5·64 + 2·64·64 + 64·128) = 33408: 426624; but block 0's in_proj is a table lookup. */
Test(flops, hyenadna)
{
    check(TESTDATA("hyenadna-tiny"), 2 * 426624.0 - 98304, 2 * 128 * 16);
}

/* The bundled default model has the same shape. */
Test(flops, hyenadna_default)
{
    check(HD_SRCDATADIR "/models/default", 2 * 426624.0 - 98304, 2 * 128 * 16);
}

/* Caduceus PH: D 64, E 128, N 16, dt rank 4, bidirectional, 2 layers, 16 head rows.  Per layer: in_proj
 * 2·64·256 = 32768, out_proj 2·128·64 = 16384, per direction x_proj 2·128·36 = 9216 and dt_proj 2·4·128 = 1024:
 * 69632. */
Test(flops, caduceus_ph)
{
    check(TESTDATA("caduceus-ph"), 2 * 69632.0, 2 * 64 * 16);
}

/* Caduceus PS: the same BiMamba on both halves, and a head per half. */
Test(flops, caduceus_ps)
{
    check(TESTDATA("caduceus-ps"), 2 * 2 * 69632.0, 2 * 2 * 64 * 16);
}

/* DNA-xLSTM mLSTM: D 64, inner 128, q/k/v blocks of 4, 4 heads, bidirectional (each block twice), 2 blocks,
 * 12 head rows.  Per block: proj_up 2·64·256 = 32768, q, k, v 3·2·128·4 = 3072, gates 2·384·8 = 6144,
 * proj_down 2·128·64 = 16384: 58368. */
Test(flops, xlstm_mlstm)
{
    check(TESTDATA("xlstm-mlstm"), 2 * 2 * 58368.0, 2 * 64 * 12);
}

/* DNA-xLSTM sLSTM: D 64, 4 heads of 16, FFN up 64 → 2·64, down 64 → 64, bidirectional, 2 blocks.  Per block:
 * i, f, z, o 4·2·64·16 = 8192, FFN 2·64·128 + 2·64·64 = 24576: 32768. */
Test(flops, xlstm_slstm)
{
    check(TESTDATA("xlstm-slstm"), 2 * 2 * 32768.0, 2 * 64 * 12);
}

/* Evo 2 tiny: H 64, MLP inner 176, 8 blocks (2 attention, 4 heads of 16), vocab 512.  Per block and token:
 * input projection 2·64·192 = 24576, output 2·64·64 = 8192, MLP 3·2·64·176 = 67584: 100352; each attention
 * block adds q·k and p·v over L(L+1)/2 pairs: 2·2·64·L(L+1)/2 = 128·L(L+1). */
Test(flops, evo2)
{
    hd_model *m = open_model(TESTDATA("evo2-tiny"));
    double per_token = 8 * 100352.0;
    cr_expect_eq(hd_model_gemm_flops(m, 1, 0), per_token + 2 * 128 * 2.0);
    cr_expect_eq(hd_model_gemm_flops(m, 1000, 0), 1000 * per_token + 2 * 128 * 1000.0 * 1001);
    cr_expect_eq(hd_model_gemm_flops(m, 1000, 1), 1000 * (per_token + 2 * 64 * 512) + 2 * 128 * 1000.0 * 1001);
    hd_model_close(m);
}
