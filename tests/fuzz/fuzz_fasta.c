/* fuzz_fasta.c -- libFuzzer target: FASTA/FASTQ records to tokens (kseq reader + tokenizer). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "seqio.h"
#include "tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz-fasta", 0);
    if (fd < 0) return 0;
    if (write(fd, data, size) != (ssize_t)size) { close(fd); return 0; }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    hd_fasta *f = hd_fasta_open(path);
    if (f) {
        hd_seqrec r;
        while (hd_fasta_next(f, &r) > 0) {
            int32_t *ids = malloc((r.len + 2) * sizeof *ids);
            hd_tokenize(r.seq, r.len, HD_SPECIAL_CLS_SEP, ids, r.name);
            free(ids);
        }
        hd_fasta_close(f);
    }
    close(fd);
    return 0;
}
