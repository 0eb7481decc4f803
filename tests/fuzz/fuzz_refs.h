/* fuzz_refs.h -- the fixed small reference shared by the fuzz targets that need one: written once into a
 * private temporary directory (with its .fai), plus a helper that writes each input to a named file there
 * (some readers tell the format by the name, e.g. .bed). */
#ifndef HD_FUZZ_REFS_H
#define HD_FUZZ_REFS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <htslib/faidx.h>
#include <htslib/hts.h>

static char fz_dir[64];
static char fz_ref[96];

/* chr1: 120 bases (mixed case, an N run), chr2: N only, {c:3}: a name holding a colon, chr4: one base */
static const char *const fz_names[] = {"chr1", "chr2", "c:3", "chr4"};
static const char *const fz_seqs[] = {
    "ACGTACGTTTGACCATGNNNNNNNNNNacgtacgtaaCCGGTTAACCGGTTAAGGCCTTAAGGCCTTAAACGTACGTAGCTAGCTAGCTAGCTAGCATGCATGCAT"
    "GCATGCATTTTT",
    "NNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN", "ACGTNACGTRYKM", "G"};
enum { FZ_NREF = 4 };

static void fz_init_ref(void)
{
    hts_set_log_level(HTS_LOG_OFF);
    snprintf(fz_dir, sizeof fz_dir, "/tmp/hdfuzz.XXXXXX");
    if (!mkdtemp(fz_dir)) abort();
    snprintf(fz_ref, sizeof fz_ref, "%s/ref.fa", fz_dir);
    FILE *f = fopen(fz_ref, "w");
    if (!f) abort();
    for (int i = 0; i < FZ_NREF; i++) fprintf(f, ">%s\n%s\n", fz_names[i], fz_seqs[i]);
    fclose(f);
    faidx_t *fai = fai_load(fz_ref);   /* builds ref.fa.fai */
    if (!fai) abort();
    fai_destroy(fai);
}

/* Write data to <dir>/<name>; returns the path (static buffer). */
static const char *fz_write(const char *name, const uint8_t *data, size_t size)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", fz_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    return path;
}

#endif
