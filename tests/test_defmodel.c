/* test_defmodel.c -- the bundled default model (data/models/default) and the example data (data/):
 * the model loads in the public -hf layout with the tiny shape, and it has learned DNA: on real human
 * DNA it does not know (data/example.fa, chr22) and on E. coli it predicts the next base with clearly
 * fewer than the 2 bits of a uniform guess (on 200-bp windows, with little context, by less). A random or
 * untrained model scores >= 2 bits here (about 4 with the 16-row softmax of an untrained head). */
#include "testutil.h"
#include "backend.h"
#include "model.h"
#include "seqio.h"
#include "tokenizer.h"

#define DATADIR HD_SRCDATADIR
#define DEFMODEL DATADIR "/models/default"

static hd_model *M;
static hd_backend *BE;

static void setup(void)
{
    M = hd_model_open(DEFMODEL);
    cr_assert_not_null(M, "%s", hd_error());
    BE = hd_backend_cpu_new(1);
    cr_assert_not_null(BE);
}

static void teardown(void)
{
    hd_backend_free(BE);
    hd_model_close(M);
}

/* mean -log2 p(next base), softmax over the 16 logit rows, over A/C/G/T targets of the first
 * max_rec records of a FASTA file; *nbases gets the number of bases scored */
static double bits_per_base(const char *fa_path, int max_rec, const char *label, size_t *nbases)
{
    hd_fasta *fa = hd_fasta_open(fa_path);
    cr_assert_not_null(fa, "%s", hd_error());
    hd_seqrec rec;
    double tot = 0;
    size_t n = 0;
    int r = 0;
    while (r < max_rec && hd_fasta_next(fa, &rec) > 0) {
        if (label && !(rec.comment && strstr(rec.comment, label))) continue;
        r++;
        size_t L = rec.len;
        int32_t *ids = malloc(L * sizeof *ids);
        cr_assert_eq(hd_tokenize(rec.seq, L, HD_SPECIAL_NONE, ids, rec.name), (long)L, "%s", hd_error());
        float *logits = malloc(L * 16 * sizeof(float));
        hd_fwd f = {.logits = logits, .layer = -1};
        cr_assert_eq(hd_model_forward(M, BE, ids, L, &f), 0, "%s", hd_error());
        for (size_t t = 0; t + 1 < L; t++) {
            int y = ids[t + 1];
            if (y < 7 || y > 10) continue;
            const float *z = logits + t * 16;
            double mx = z[0], s = 0;
            for (int k = 1; k < 16; k++) mx = z[k] > mx ? z[k] : mx;
            for (int k = 0; k < 16; k++) s += exp(z[k] - mx);
            tot += -((z[y] - mx) - log(s)) / log(2.0);
            n++;
        }
        free(ids);
        free(logits);
    }
    hd_fasta_close(fa);
    *nbases = n;
    return n ? tot / n : NAN;
}

Test(defmodel, shape_and_layout, .init = setup, .fini = teardown)
{
    cr_assert_eq(M->family, HD_FAM_HYENA);
    cr_assert_eq(M->d_model, 128);
    cr_assert_eq(M->n_layer, 2);
    cr_assert_eq(M->max_len, 1026);
    cr_assert_eq(M->causal, 1);
    cr_assert_eq(hd_model_n_params(M), 438144, "learned parameters %zu", hd_model_n_params(M));
    long v;
    cr_assert_eq(hd_cfg_int(M, "d_model", 0, 1, 1, 1 << 20, &v), 0);
    cr_assert_eq(v, 128);
    cr_assert_eq(hd_cfg_int(M, "n_layer", 0, 1, 1, 64, &v), 0);
    cr_assert_eq(v, 2);
    cr_assert_eq(hd_cfg_int(M, "max_seq_len", 0, 1, 1, 1 << 30, &v), 0);
    cr_assert_eq(v, 1026);
    cr_assert_not_null(hd_model_tensor(M, "lm_head.weight"), "the -hf layout stores lm_head.weight");
}

Test(defmodel, predicts_human_dna, .init = setup, .fini = teardown)
{
    size_t n;
    double b = bits_per_base(DATADIR "/example.fa", 20, NULL, &n);
    cr_assert_gt(n, 19000);
    cr_assert_lt(b, 1.93, "bits/base on data/example.fa (human chr22, 20 kb): %.4f", b);
}

Test(defmodel, predicts_bacterial_dna, .init = setup, .fini = teardown)
{
    size_t n;
    double b = bits_per_base(DATADIR "/example_labels.fa", 60, "label=coding", &n);
    cr_assert_gt(n, 11000);
    cr_assert_lt(b, 1.97, "bits/base on E. coli coding windows of data/example_labels.fa: %.4f", b);
}
