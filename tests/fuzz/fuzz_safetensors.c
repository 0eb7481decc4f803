/* fuzz_safetensors.c -- libFuzzer target: the safetensors header parser and tensor conversion. */
#include <stdint.h>
#include <stdlib.h>

#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hd_st *st = hd_st_from_buffer(data, size, "fuzz.safetensors");
    if (!st) return 0;
    for (int i = 0; i < hd_st_count(st); i++) {
        const hd_tensor_info *t = hd_st_get(st, i);
        if (t->numel > (1u << 20)) continue;
        float *f = malloc((t->numel ? t->numel : 1) * sizeof *f);
        int64_t *v = malloc((t->numel ? t->numel : 1) * sizeof *v);
        hd_tensor_to_f32(t, f);
        hd_tensor_to_i64(t, v);
        free(f);
        free(v);
    }
    hd_st_meta(st, "config");
    hd_st_close(st);
    return 0;
}
