/* fuzz_model.c -- libFuzzer target: a whole single-file model (safetensors whose __metadata__ holds the
 * config JSON): header validation, config parsing, family detection and tensor-name resolution. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz-model", 0);
    if (fd < 0) return 0;
    if (write(fd, data, size) != (ssize_t)size) { close(fd); return 0; }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    hd_model *m = hd_model_open(path);
    if (m) hd_model_n_params(m);
    hd_model_close(m);
    close(fd);
    return 0;
}
