/* fuzz_ckpt.c -- libFuzzer target over the checkpoint reader (zip container + restricted pickle + state-dict
 * extraction + safetensors image).  Built by `make fuzz` with the other targets (FUZZ_TARGETS in
 * Makefile.am; CI runs each briefly); run it by hand from the build directory, e.g.
 *
 *   tests/fuzz/fuzz_ckpt -max_len=65536 $SRCDIR/tests/data/ckpt
 *
 * Each input is tried twice: as a whole zip archive, and as a bare data.pkl wrapped in a minimal
 * stored zip (so that the fuzzer reaches the pickle reader without having to learn the zip format). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"
#include "pickle.h"

static const hd_pk_limits LIM = {.max_alloc = 64u << 20, .max_stack = 1u << 16, .max_marks = 256, .max_memo = 1u << 16};

static void try_archive(const uint8_t *data, size_t size)
{
    hd_ckpt *c = hd_ckpt_open_buffer(data, size, "fuzz.ckpt", &LIM);
    if (!c) return;
    size_t n = 0;
    void *img = hd_ckpt_image(c, c->config_json, &n);
    if (img) {
        hd_st *st = hd_st_from_buffer(img, n, "fuzz image");
        hd_st_close(st);
        free(img);
    }
    hd_ckpt_close(c);
}

static void w16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void w32(uint8_t *p, uint32_t v) { w16(p, v & 0xFFFF), w16(p + 2, v >> 16); }

/* archive/data.pkl = the input, archive/data/0 = 64 bytes */
static void try_pickle(const uint8_t *data, size_t size)
{
    static const char n1[] = "archive/data.pkl", n2[] = "archive/data/0";
    size_t l1 = sizeof n1 - 1, l2 = sizeof n2 - 1, d2 = 64;
    size_t total = (30 + l1 + size) + (30 + l2 + d2) + (46 + l1) + (46 + l2) + 22;
    uint8_t *z = calloc(1, total);
    if (!z) return;
    size_t o1 = 0, o2 = 30 + l1 + size, cd = o2 + 30 + l2 + d2, q;
    w32(z, 0x04034b50), w32(z + 18, (uint32_t)size), w32(z + 22, (uint32_t)size), w16(z + 26, (unsigned)l1);
    memcpy(z + 30, n1, l1), memcpy(z + 30 + l1, data, size);
    w32(z + o2, 0x04034b50), w32(z + o2 + 18, (uint32_t)d2), w32(z + o2 + 22, (uint32_t)d2), w16(z + o2 + 26, (unsigned)l2);
    memcpy(z + o2 + 30, n2, l2);
    for (size_t i = 0; i < d2; i++) z[o2 + 30 + l2 + i] = (uint8_t)i;
    q = cd;
    w32(z + q, 0x02014b50), w32(z + q + 20, (uint32_t)size), w32(z + q + 24, (uint32_t)size), w16(z + q + 28, (unsigned)l1);
    w32(z + q + 42, (uint32_t)o1), memcpy(z + q + 46, n1, l1);
    q += 46 + l1;
    w32(z + q, 0x02014b50), w32(z + q + 20, (uint32_t)d2), w32(z + q + 24, (uint32_t)d2), w16(z + q + 28, (unsigned)l2);
    w32(z + q + 42, (uint32_t)o2), memcpy(z + q + 46, n2, l2);
    q += 46 + l2;
    w32(z + q, 0x06054b50), w16(z + q + 8, 2), w16(z + q + 10, 2), w32(z + q + 12, (uint32_t)(q - cd)), w32(z + q + 16, (uint32_t)cd);
    try_archive(z, total);
    free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    try_archive(data, size);
    if (size < (1u << 20)) try_pickle(data, size);
    return 0;
}
