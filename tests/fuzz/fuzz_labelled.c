/* fuzz_labelled.c -- libFuzzer target: the labelled-input and query readers of `hyenadna classify`.
 * Each input is read as a training file by hd_read_labelled (FASTA with label=, TSV label<TAB>seq, or BED
 * chrom/start/end/label against a fixed small reference), then as a query file through hd_qreader: FASTA
 * records whole and cut into windows, and BED intervals of the reference whole and in windows. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "fuzz_refs.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fz_init_ref();
    return 0;
}

static void queries(const hd_qspec *sp)
{
    hd_qreader *q = hd_qreader_open(sp);
    if (!q) return;
    hd_query r;
    int n = 0;
    while (n++ < 10000 && hd_qreader_next(q, &r) > 0) {
        if (!r.name || !r.seq || (r.chrom && r.len != (size_t)(r.end - r.beg))) abort();
        if (r.chrom && (r.beg < 0 || r.end < r.beg)) abort();
    }
    hd_qreader_close(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_write("in.txt", data, size);
    hd_lset s = {0};
    if (hd_read_labelled(path, fz_ref, &s) == 0) {
        for (size_t i = 0; i < s.n; i++)
            if (s.v[i].label < 0 || s.v[i].label >= s.n_classes || !s.v[i].seq) abort();
        hd_lset_check_classes(&s, path);
    }
    hd_lset_free(&s);
    long w = 1 + (long)(size % 9), st = 1 + (long)(size % 4);
    queries(&(hd_qspec){.path = path});
    queries(&(hd_qspec){.path = path, .window = w, .stride = st});
    queries(&(hd_qspec){.path = path, .ref = fz_ref, .bed = 1});
    queries(&(hd_qspec){.path = path, .ref = fz_ref, .bed = 1, .window = w, .stride = st});
    return 0;
}
