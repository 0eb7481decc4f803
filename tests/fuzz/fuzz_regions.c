/* fuzz_regions.c -- libFuzzer target: the region inputs of `hyenadna embed`.  Each input is read as a region
 * file twice (named .bed: 0-based half-open; otherwise 1-based inclusive), checked against the sequence
 * dictionary of a fixed small reference, and as a -r region list (hd_regions_parse); every accepted region
 * is then fetched from the reference and cut into sliding windows. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_refs.h"
#include "regions.h"

static faidx_t *fz_fai;
static hd_contigs *fz_dict;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fz_init_ref();
    if (!(fz_fai = hd_faidx_open(fz_ref)) || !(fz_dict = hd_contigs_from_fai(fz_fai, fz_ref))) abort();
    return 0;
}

static void use(const hd_regions *rs, size_t size)
{
    int64_t w = 1 + (int64_t)(size % 13), st = 1 + (int64_t)(size % 5);
    for (size_t i = 0; i < rs->n; i++) {
        const hd_region *r = &rs->v[i];
        int id = hd_contigs_id(fz_dict, r->chrom);
        /* an accepted region lies inside its contig */
        if (id < 0 || r->beg < 0 || r->end > hd_contigs_len(fz_dict, id) || r->beg > r->end) abort();
        char *s = hd_region_str(r->chrom, r->beg, r->end);
        free(s);
        if (r->end > r->beg) {
            char *seq = hd_faidx_fetch(fz_fai, fz_ref, r->chrom, r->beg, r->end);
            if (seq && strlen(seq) != (size_t)(r->end - r->beg)) abort();
            free(seq);
        }
        int64_t len = r->end - r->beg;
        size_t n = hd_window_count(len, w, st);
        for (size_t k = 0; k < n && k < 1000; k++) {
            int64_t b, e;
            hd_window_get(len, w, st, k, &b, &e);
            if (b < 0 || e > len || b > e) abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"in.bed", "in.txt"};
    for (int k = 0; k < 2; k++) {
        hd_regions rs = {0};
        const char *path = fz_write(names[k], data, size);
        if (hd_regions_read(&rs, path, fz_dict) == 0) use(&rs, size);
        hd_regions_free(&rs);
    }
    char *spec = malloc(size + 1);
    memcpy(spec, data, size);
    spec[size] = 0;
    hd_regions rs = {0};
    if (hd_regions_parse(&rs, spec, fz_dict) == 0) use(&rs, size);
    hd_regions_free(&rs);
    free(spec);
    return 0;
}
