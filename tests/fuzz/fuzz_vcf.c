/* fuzz_vcf.c -- libFuzzer target: VCF records to REF/ALT windows, as `hyenadna score-variants` plans them.
 * Each input is a VCF (text) read by htslib; every record goes through the REF check against a fixed small
 * reference (hd_vs_check_ref), the N-only window test, the allele tokenizer (hd_vs_allele_ids), the check of
 * the bases a score reads against the contig's non-ACGT stretches (half the inputs) and the
 * batch planner (hd_vs_batch_add) in all four score modes, forward and with --rc, with EDIST on.  No model
 * is run: the planner builds windows and queries only.  The window geometry follows the input size so that
 * the fuzzer explores W = 1 .. 40, chunks, overlaps, chunk-grid origins and prefix_only; SNVs are also added
 * through a view holding only the bases hd_vs_span says they need (as `hyenadna track` does). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <htslib/vcf.h>

#include "fuzz_refs.h"
#include "tokenizer.h"
#include "util.h"
#include "varscore.h"

static hd_vs_contig fz_contig[FZ_NREF], fz_checked[FZ_NREF];   /* without / with the non-ACGT check */
static hd_vs_stretches fz_st[FZ_NREF];
static char *fz_upper[FZ_NREF];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fz_init_ref();
    for (int i = 0; i < FZ_NREF; i++) {
        size_t n = strlen(fz_seqs[i]);
        uint8_t *ids = malloc(n + 1);
        fz_upper[i] = malloc(n + 1);
        for (size_t k = 0; k <= n; k++) {
            char c = fz_seqs[i][k];
            fz_upper[i][k] = c >= 'a' && c <= 'z' ? c - 32 : c;
        }
        hd_vs_seq_ids(fz_upper[i], n, ids);
        fz_contig[i] = (hd_vs_contig){.id = i, .name = fz_names[i], .ids = ids, .len = n};
        if (hd_vs_stretches_build(&fz_st[i], fz_upper[i], n)) abort();
        fz_checked[i] = fz_contig[i];
        fz_checked[i].stretches = &fz_st[i];
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_write("in.vcf", data, size);
    htsFile *fp = hts_open(path, "r");
    if (!fp) return 0;
    bcf_hdr_t *h = bcf_hdr_read(fp);
    if (!h) { hts_close(fp); return 0; }
    bcf1_t *rec = bcf_init();
    hd_vs_engine *e = hd_vs_engine_new(NULL, NULL, 1);
    hd_vs_batch *b[8] = {0};
    for (int k = 0; k < 8; k++) {
        hd_vs_opts o = {.mode = (hd_vs_mode)(k / 2), .window = 1 + size % 40, .chunk = 1 + size % 53,
                        .overlap = size % 7, .rc = k & 1, .edist = (size >> 4) & 1, .prefix_only = (size >> 3) & 1,
                        .n_token = (size >> 5) & 1, .llr_mean = (size >> 6) & 1};
        b[k] = hd_vs_batch_new(e, &o);
    }
    int nrec = 0;
    while (nrec++ < 200 && bcf_read(fp, h, rec) == 0) {
        if (bcf_unpack(rec, BCF_UN_STR) < 0 || rec->n_allele < 2) continue;
        const char *name = bcf_seqname(h, rec);
        int ci = -1;
        for (int i = 0; name && i < FZ_NREF; i++)
            if (!strcmp(name, fz_names[i])) ci = i;
        if (ci < 0) continue;
        hd_vs_contig cv = (size >> 2) & 1 ? fz_checked[ci] : fz_contig[ci];
        cv.origin = size % 5 ? (size * 7) % cv.len : 0;   /* the chunk grid from inside the contig */
        const hd_vs_contig *c = &cv;
        const char *refal = rec->d.allele[0];
        if (hd_vs_check_ref(fz_upper[ci], c->len, rec->pos, refal) <= 0) continue;
        size_t p = (size_t)rec->pos, rl = strlen(refal);
        for (int k = 0; k < 8; k++) {
            size_t W = 1 + size % 40, s = hd_vs_window_start(p, W, c->len), end = s + W < c->len ? s + W : c->len;
            int any = 0;
            for (size_t i = s; i < end && !any; i++) any = c->ids[i] != HD_TOK_N;
            if (!any) continue;
            for (int a = 1; a < rec->n_allele; a++) {
                const char *al = rec->d.allele[a];
                size_t n = strlen(al);
                int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
                if (hd_vs_allele_ids(al, ids, n) >= 0) {
                    long hh = hd_vs_batch_add(b[k], c, p, rl, ids, n);
                    if (hh < 0) {   /* the only refusal of a checked allele: none is expected */
                        fprintf(stderr, "batch_add refused a checked allele: %s\n", hd_error());
                        abort();
                    }
                    if (rl == 1 && n == 1) {   /* the same SNV through a view of the bases it needs only */
                        size_t lo, hi;
                        hd_vs_span(b[k], c, p, p + 1, &lo, &hi);
                        if (lo > p || hi <= p || hi > c->len) abort();
                        hd_vs_contig part = *c;
                        part.ids = c->ids + lo, part.off = lo, part.n = hi - lo;
                        if (hd_vs_batch_add(b[k], &part, p, 1, ids, 1) < 0) {
                            fprintf(stderr, "batch_add refused an SNV in its span: %s\n", hd_error());
                            abort();
                        }
                    }
                    /* the pure window builders, as the planner uses them: both windows exactly Lw long */
                    hd_vs_win win = hd_vs_window(p, rl, n, W, c->len);
                    int32_t *w = malloc((W + 1) * sizeof *w);
                    size_t nr = hd_vs_ref_window(c->ids, c->len, win.s, win.L, w);
                    size_t na = hd_vs_alt_window(c->ids, c->len, win.s, p, rl, ids, n, win.L, w);
                    if (win.L > W || win.s > p || nr != win.L || na != win.L) abort();
                    free(w);
                }
                free(ids);
            }
        }
    }
    for (int k = 0; k < 8; k++) hd_vs_batch_free(b[k]);
    hd_vs_engine_free(e);
    bcf_destroy(rec);
    bcf_hdr_destroy(h);
    hts_close(fp);
    return 0;
}
