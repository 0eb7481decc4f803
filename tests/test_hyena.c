/* test_hyena.c -- HyenaDNA parity with the reference (tests/data/hyenadna-tiny, see its README). */
#include "testutil.h"
#include "backend.h"
#include "hyena.h"
#include "model.h"
#include "seqio.h"
#include "tokenizer.h"

#include <jansson.h>

#define TINY TESTDATA("hyenadna-tiny")
#define REL_BAR 1e-4
#define ABS_BAR 1e-3

static hd_model *M;
static hd_backend *BE;
static hd_st *EXP;

static void setup(void)
{
    M = hd_model_open(TINY);
    cr_assert_not_null(M, "%s", hd_error());
    BE = hd_backend_cpu_new(2);
    cr_assert_not_null(BE);
    EXP = hd_st_open(TINY "/expected.safetensors");
    cr_assert_not_null(EXP, "%s", hd_error());
}

static void teardown(void)
{
    hd_st_close(EXP);
    hd_backend_free(BE);
    hd_model_close(M);
}

static void check(const char *what, const float *got, const char *expected_name, size_t n_expect)
{
    size_t n;
    float *e = st_f32(EXP, expected_name, &n);
    cr_assert_eq(n, n_expect, "%s: size %zu, expected %zu", what, n_expect, n);
    double mx, rel = rel_frob(got, e, n, &mx);
    cr_assert(rel <= REL_BAR && mx <= ABS_BAR, "%s: rel_F %.3g max_abs %.3g", what, rel, mx);
    free(e);
}

typedef struct { const char *rec; float *resid[8]; size_t L; } resid_cap;

static void capture(void *ud, int layer, const float *r, size_t L, int w)
{
    resid_cap *c = ud;
    c->resid[layer] = malloc(L * w * sizeof(float));
    memcpy(c->resid[layer], r, L * w * sizeof(float));
}

Test(hyena, fixture_parity_library, .init = setup, .fini = teardown)
{
    hd_fasta *fa = hd_fasta_open(TINY "/input.fa");
    cr_assert_not_null(fa);
    hd_seqrec rec;
    int nrec = 0;
    while (hd_fasta_next(fa, &rec) > 0) {
        size_t L = rec.len, D = 128;
        int32_t *ids = malloc(L * sizeof *ids);
        cr_assert_eq(hd_tokenize(rec.seq, L, HD_SPECIAL_NONE, ids, rec.name), (long)L);
        char key[256];
        snprintf(key, sizeof key, "tokens.%s", rec.name);
        size_t n;
        float *tok = st_f32(EXP, key, &n);
        cr_assert_eq(n, L);
        for (size_t i = 0; i < L; i++) cr_assert_eq(ids[i], (int32_t)tok[i], "%s token %zu", rec.name, i);
        free(tok);
        float *hidden = malloc(L * D * sizeof(float)), *logits = malloc(L * 16 * sizeof(float));
        resid_cap cap = {rec.name, {0}, L};
        hd_fwd f = {.hidden = hidden, .logits = logits, .layer = -1, .on_block = capture, .ud = &cap};
        cr_assert_eq(hd_model_forward(M, BE, ids, L, &f), 0, "%s", hd_error());
        snprintf(key, sizeof key, "hidden.%s", rec.name);
        check(key, hidden, key, L * D);
        snprintf(key, sizeof key, "logits.%s", rec.name);
        check(key, logits, key, L * 16);
        for (int k = 0; k < 2; k++) {
            snprintf(key, sizeof key, "residual.layer%d.%s", k, rec.name);
            if (hd_st_find(EXP, key)) check(key, cap.resid[k], key, L * D);
            free(cap.resid[k]);
        }
        /* the [CLS] … [SEP] run where the fixture has one */
        snprintf(key, sizeof key, "hidden_cls_sep.%s", rec.name);
        if (hd_st_find(EXP, key)) {
            int32_t *ids2 = malloc((L + 2) * sizeof *ids2);
            cr_assert_eq(hd_tokenize(rec.seq, L, HD_SPECIAL_CLS_SEP, ids2, rec.name), (long)L + 2);
            char tk[256];
            snprintf(tk, sizeof tk, "tokens_cls_sep.%s", rec.name);
            float *t2 = st_f32(EXP, tk, &n);
            for (size_t i = 0; i < L + 2; i++) cr_assert_eq(ids2[i], (int32_t)t2[i]);
            free(t2);
            float *h2 = malloc((L + 2) * D * sizeof(float));
            hd_fwd f2 = {.hidden = h2, .layer = -1};
            cr_assert_eq(hd_model_forward(M, BE, ids2, L + 2, &f2), 0);
            check(key, h2, key, (L + 2) * D);
            free(h2);
            free(ids2);
        }
        free(hidden);
        free(logits);
        free(ids);
        nrec++;
    }
    hd_fasta_close(fa);
    cr_assert_eq(nrec, 8, "input.fa has 8 records, read %d", nrec);
}

Test(hyena, filters, .init = setup, .fini = teardown)
{
    size_t L = 255;
    float *k = malloc(L * 128 * sizeof(float));
    for (int layer = 0; layer < 2; layer++) {
        char key[64];
        snprintf(key, sizeof key, "filter.layer%d", layer);
        cr_assert_eq(hd_hyena_filter(M, BE, layer, L, k), 0, "%s", hd_error());
        check(key, k, key, L * 128);
    }
    free(k);
}

/* a backend whose queued ops failed (a GPU's sync reports it): hd_hyena_filter fails with that error, as the
 * forward does, instead of returning the filter it downloaded (NaN on a GPU) */
static int failed_sync(hd_backend *be)
{
    (void)be;
    hd_set_error(HD_EMODEL, "a queued op failed (test)");
    return -1;
}

Test(hyena, filter_reports_a_failed_backend, .init = setup, .fini = teardown)
{
    size_t L = 16;
    float *k = malloc(L * 128 * sizeof(float));
    BE->sync = failed_sync;
    hd_clear_error();
    cr_assert_eq(hd_hyena_filter(M, BE, 0, L, k), -1);
    cr_assert(strstr(hd_error(), "a queued op failed"), "%s", hd_error());
    BE->sync = NULL;
    cr_assert_eq(hd_hyena_filter(M, BE, 0, L, k), 0, "%s", hd_error());
    free(k);
}

Test(hyena, shift_zero_changes_the_output, .init = setup, .fini = teardown)
{
    /* the training-code path (shift 0) must differ from the reference by about 7e-2 (docs/models.md §3.7) */
    size_t n, L;
    float *tok = st_f32(EXP, "tokens.seq5", &L);
    int32_t *ids = malloc(L * sizeof *ids);
    for (size_t i = 0; i < L; i++) ids[i] = (int32_t)tok[i];
    float *h = malloc(L * 128 * sizeof(float));
    hd_hyena_set_shift(M, 0.0f);
    hd_fwd f = {.hidden = h, .layer = -1};
    cr_assert_eq(hd_model_forward(M, BE, ids, L, &f), 0);
    float *e = st_f32(EXP, "hidden.seq5", &n);
    double rel = rel_frob(h, e, n, NULL);
    cr_assert(rel > 1e-2 && rel < 0.3, "shift 0 gave rel %.3g", rel);
    hd_hyena_set_shift(M, 0.05f);
    cr_assert_eq(hd_model_forward(M, BE, ids, L, &f), 0);
    cr_assert(rel_frob(h, e, n, NULL) < REL_BAR);
    free(e); free(h); free(ids); free(tok);
}

static void random_ids(int32_t *ids, size_t L, unsigned seed)
{
    srand(seed);
    for (size_t i = 0; i < L; i++) ids[i] = 7 + rand() % 5;
}

Test(hyena, prefix_consistency_and_max_length, .init = setup, .fini = teardown)
{
    size_t Lmax = 1026, D = 128;
    int32_t *ids = malloc(Lmax * sizeof *ids);
    random_ids(ids, Lmax, 7);
    float *full = malloc(Lmax * D * sizeof(float)), *pre = malloc(Lmax * D * sizeof(float));
    hd_fwd f = {.hidden = full, .layer = -1};
    cr_assert_eq(hd_model_forward(M, BE, ids, Lmax, &f), 0, "%s", hd_error());
    for (size_t i = 0; i < Lmax * D; i++) cr_assert(isfinite(full[i]));
    size_t ks[] = {1, 2, 3, 300, 513, 1025};
    for (size_t j = 0; j < sizeof ks / sizeof *ks; j++) {
        hd_fwd g = {.hidden = pre, .layer = -1};
        cr_assert_eq(hd_model_forward(M, BE, ids, ks[j], &g), 0);
        double mx, rel = rel_frob(pre, full, ks[j] * D, &mx);
        cr_assert(rel < 1e-5, "prefix %zu of %zu differs: rel %.3g", ks[j], Lmax, rel);
    }
    free(pre);
    free(full);
    /* one token more than the maximum is an error naming the limit */
    int32_t *more = malloc((Lmax + 1) * sizeof *more);
    random_ids(more, Lmax + 1, 3);
    float *h = malloc((Lmax + 1) * D * sizeof(float));
    hd_fwd f2 = {.hidden = h, .layer = -1};
    hd_clear_error();
    cr_assert_neq(hd_model_forward(M, BE, more, Lmax + 1, &f2), 0);
    cr_assert(strstr(hd_error(), "1026"), "%s", hd_error());
    free(h); free(more); free(ids);
}

Test(hyena, residual_layer_output, .init = setup, .fini = teardown)
{
    size_t L, n;
    float *tok = st_f32(EXP, "tokens.seq5", &L);
    int32_t *ids = malloc(L * sizeof *ids);
    for (size_t i = 0; i < L; i++) ids[i] = (int32_t)tok[i];
    float *h = malloc(L * 128 * sizeof(float));
    hd_fwd f = {.hidden = h, .layer = 0};
    cr_assert_eq(hd_model_forward(M, BE, ids, L, &f), 0);
    float *e = st_f32(EXP, "residual.layer0.seq5", &n);
    cr_assert(rel_frob(h, e, n, NULL) < REL_BAR);
    free(e); free(h); free(ids); free(tok);
}

Test(hyena, threads_give_identical_results, .init = setup, .fini = teardown)
{
    size_t L = 700, D = 128;
    int32_t *ids = malloc(L * sizeof *ids);
    random_ids(ids, L, 11);
    float *a = malloc(L * D * sizeof(float)), *b = malloc(L * D * sizeof(float));
    hd_backend *one = hd_backend_cpu_new(1);
    hd_fwd fa = {.hidden = a, .layer = -1}, fb = {.hidden = b, .layer = -1};
    cr_assert_eq(hd_model_forward(M, one, ids, L, &fa), 0);
    hd_backend_free(one);
    hd_backend *two = hd_backend_cpu_new(2);
    cr_assert_eq(hd_model_forward(M, two, ids, L, &fb), 0);
    hd_backend_free(two);
    cr_assert_eq(memcmp(a, b, L * D * sizeof(float)), 0, "1 and 2 threads differ");
    free(a); free(b); free(ids);
}

/* The fused steps of the CPU backend (backend.h: hyena_in, hyena_out, mlp_residual) against the plain ops a
 * backend without them runs: the same forward, and the plain path also meets the fixture */
Test(hyena, fused_steps_match_the_plain_ops, .init = setup, .fini = teardown)
{
    cr_assert(BE->hyena_in && BE->hyena_out && BE->mlp_residual, "the CPU backend has the fused HyenaDNA steps");
    size_t L = 1026, D = 128, n;
    int32_t *ids = malloc(L * sizeof *ids);
    random_ids(ids, L, 5);
    float *a = malloc(L * D * sizeof(float)), *b = malloc(L * D * sizeof(float));
    hd_backend *plain = hd_backend_cpu_new(2);
    plain->hyena_in = NULL, plain->hyena_out = NULL, plain->mlp_residual = NULL;
    hd_fwd fa = {.hidden = a, .layer = -1}, fb = {.hidden = b, .layer = -1};
    cr_assert_eq(hd_model_forward(M, BE, ids, L, &fa), 0, "%s", hd_error());
    cr_assert_eq(hd_model_forward(M, plain, ids, L, &fb), 0, "%s", hd_error());
    double mx, rel = rel_frob(a, b, L * D, &mx);
    cr_assert(rel < 1e-6, "fused and plain steps differ: rel_F %.3g max_abs %.3g", rel, mx);
    float *tok = st_f32(EXP, "tokens.seq5", &L);
    for (size_t i = 0; i < L; i++) ids[i] = (int32_t)tok[i];
    fb.layer = -1;
    cr_assert_eq(hd_model_forward(M, plain, ids, L, &fb), 0, "%s", hd_error());
    float *e = st_f32(EXP, "hidden.seq5", &n);
    cr_assert(rel_frob(b, e, n, &mx) <= REL_BAR && mx <= ABS_BAR, "plain ops against the fixture");
    hd_backend_free(plain);
    free(e); free(tok); free(a); free(b); free(ids);
}

/* hd_fwd.from: outputs needed from a row on (a prefix chunk's later part) are exactly the full forward's, for
 * the fused steps and the plain ops, chunks longer and shorter than the sequence (a multiple of the GEMM
 * block or not), 1 and 2 threads; the rows before `from` are not all computed */
Test(hyena, outputs_from_a_row_equal_the_full_forward, .init = setup, .fini = teardown)
{
    size_t Ls[] = {1026, 1025, 700, 513, 257, 256, 100, 2, 1}, froms[] = {1, 2, 255, 256, 257, 511, 512, 513, 700, 1024};
    size_t R = (size_t)M->n_logits, D = 128, Lmax = 1026;
    struct { int threads, plain; size_t chunk; } cf[] = {{2, 0, 2048}, {1, 0, 300}, {1, 1, 512}, {2, 1, 300}};
    int32_t *ids = malloc(Lmax * sizeof *ids);
    random_ids(ids, Lmax, 17);
    float *lf = malloc(Lmax * R * sizeof(float)), *hf = malloc(Lmax * D * sizeof(float));
    float *lp = malloc(Lmax * R * sizeof(float)), *hp = malloc(Lmax * D * sizeof(float));
    int skipped = 0;
    for (size_t c = 0; c < sizeof cf / sizeof *cf; c++) {
        hd_backend *be = hd_backend_cpu_new(cf[c].threads);
        be->chunk = cf[c].chunk;
        if (cf[c].plain) be->hyena_in = NULL, be->hyena_out = NULL, be->mlp_residual = NULL;
        for (size_t li = 0; li < sizeof Ls / sizeof *Ls; li++) {
            size_t L = Ls[li];
            hd_fwd f = {.logits = lf, .hidden = hf, .layer = -1};
            cr_assert_eq(hd_model_forward(M, be, ids, L, &f), 0, "%s", hd_error());
            for (size_t fi = 0; fi < sizeof froms / sizeof *froms; fi++) {
                size_t from = froms[fi] < L ? froms[fi] : L - 1;
                for (size_t i = 0; i < Lmax * R; i++) lp[i] = NAN;
                for (size_t i = 0; i < Lmax * D; i++) hp[i] = NAN;
                hd_fwd g = {.logits = lp, .hidden = hp, .layer = -1, .from = from};
                cr_assert_eq(hd_model_forward(M, be, ids, L, &g), 0, "%s", hd_error());
                cr_assert(!memcmp(lp + from * R, lf + from * R, (L - from) * R * sizeof(float)),
                          "logits from row %zu of %zu differ (threads %d, plain %d, chunk %zu)", from, L, cf[c].threads,
                          cf[c].plain, cf[c].chunk);
                cr_assert(!memcmp(hp + from * D, hf + from * D, (L - from) * D * sizeof(float)),
                          "hidden from row %zu of %zu differs", from, L);
                skipped += from >= 256 && isnan(lp[0]);
            }
        }
        hd_backend_free(be);
    }
    cr_assert_gt(skipped, 20, "rows before `from` were skipped (%d forwards)", skipped);
    free(lf); free(hf); free(lp); free(hp); free(ids);
}

/* --precision bf16 on the CPU (AVX512_BF16 only; skipped elsewhere): the fixture at the bf16 bars of
 * docs/models.md §3.6 (rel_F 2e-2, max_abs 0.1 per tensor; measured 8.2e-3 and 0.046), visibly apart from fp32 */
#define BF16_REL 2e-2
#define BF16_ABS 0.1
Test(hyena, bf16_fixture_parity, .init = setup, .fini = teardown)
{
    if (!(BE->precisions & HD_PREC_BF16)) cr_skip_test("this processor lacks AVX512_BF16: the CPU backend refuses bf16");
    cr_assert_eq(hd_backend_set_precision(BE, "bf16"), 0, "%s", hd_error());
    double worst = 0;
    for (int s = 1; s <= 8; s++) {
        char key[64];
        snprintf(key, sizeof key, "tokens.seq%d", s);
        size_t L, n;
        float *tok = st_f32(EXP, key, &L);
        int32_t *ids = malloc(L * sizeof *ids);
        for (size_t i = 0; i < L; i++) ids[i] = (int32_t)tok[i];
        float *h = malloc(L * 128 * sizeof(float)), *lg = malloc(L * 16 * sizeof(float));
        hd_fwd f = {.hidden = h, .logits = lg, .layer = -1};
        cr_assert_eq(hd_model_forward(M, BE, ids, L, &f), 0, "%s", hd_error());
        const char *what[] = {"hidden", "logits"};
        float *got[] = {h, lg};
        for (int k = 0; k < 2; k++) {
            snprintf(key, sizeof key, "%s.seq%d", what[k], s);
            float *e = st_f32(EXP, key, &n);
            double mx, rel = rel_frob(got[k], e, n, &mx);
            cr_expect(rel <= BF16_REL && mx <= BF16_ABS, "bf16 %s: rel_F %.3g max_abs %.3g", key, rel, mx);
            if (rel > worst) worst = rel;
            free(e);
        }
        free(h); free(lg); free(ids); free(tok);
    }
    cr_expect_gt(worst, REL_BAR, "bf16 gave fp32's error (rel_F %.3g): the bf16 kernel did not run", worst);
    cr_assert_eq(hd_backend_set_precision(BE, "fp32"), 0);
}

/* A copy of the fixture model in a new directory: config keys set from set_json (an object merged into the
 * fixture's config), the Sin frequencies written as freq_value everywhere (freq_value > 0), or left out (0) */
static int set_freq(hd_stw *w, const hd_tensor_info *t, void *ud)
{
    float v = *(const float *)ud;
    if (!strstr(t->name, ".freq") || v < 0) return 0;
    if (v == 0) return 1;   /* left out */
    float *c = malloc(t->numel * sizeof(float));
    for (size_t j = 0; j < t->numel; j++) c[j] = v;
    cr_assert_eq(hd_stw_add(w, t->name, t->dtype, t->ndim, t->shape, c), 0, "%s", hd_error());
    free(c);
    return 1;
}

static char *variant_dir(const char *set_json, float freq_value)
{
    char *d = tmp_dir(), path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", d);
    cr_assert_eq(hd_stw_close(st_copy(TINY "/model.safetensors", path, set_freq, &freq_value)), 0, "%s", hd_error());
    json_t *cfg = json_load_file(TINY "/config.json", 0, NULL), *set = json_loads(set_json, 0, NULL);
    cr_assert(cfg && set);
    json_object_update(cfg, set);
    snprintf(path, sizeof path, "%s/config.json", d);
    cr_assert_eq(json_dump_file(cfg, path, 0), 0);
    json_decref(cfg);
    json_decref(set);
    return d;
}

static float *forward_hidden(hd_model *m, const int32_t *ids, size_t L)
{
    float *h = malloc(L * 128 * sizeof(float));
    hd_fwd f = {.hidden = h, .layer = -1};
    cr_assert_eq(hd_model_forward(m, BE, ids, L, &f), 0, "%s", hd_error());
    return h;
}

/* modulate false (a Lightning layer setting): the filter is the MLP's output as it is — the fixture's filter [L, D]
 * divided by its modulation exp(−t·|δ|) + 0.05 (docs/models.md §3.4.5) */
Test(hyena, modulate_false, .init = setup, .fini = teardown)
{
    char *d = variant_dir("{\"modulate\": false}", -1);
    hd_model *m = hd_model_open(d);
    cr_assert_not_null(m, "%s", hd_error());
    size_t L = 255, D = 128, n;
    float *k = malloc(L * D * sizeof(float)), *want = malloc(L * D * sizeof(float));
    for (int layer = 0; layer < 2; layer++) {
        char key[64];
        snprintf(key, sizeof key, "filter.layer%d", layer);
        cr_assert_eq(hd_hyena_filter(m, BE, layer, L, k), 0, "%s", hd_error());
        float *e = st_f32(EXP, key, &n), *t = NULL, *dl = NULL;
        char nm[160];
        snprintf(nm, sizeof nm, "hyena.backbone.layers.%d.mixer.filter_fn.pos_emb.t", layer);
        t = st_f32(m->st, nm, &n);
        snprintf(nm, sizeof nm, "hyena.backbone.layers.%d.mixer.filter_fn.modulation.deltas", layer);
        dl = st_f32(m->st, nm, &n);
        for (size_t c = 0; c < D; c++)
            for (size_t i = 0; i < L; i++) want[i * D + c] = (float)(e[i * D + c] / (exp(-(double)t[i] * fabs((double)dl[c])) + 0.05));
        double mx, rel = rel_frob(k, want, L * D, &mx);
        cr_assert(rel < 1e-5, "%s unmodulated: rel_F %.3g", key, rel);
        cr_assert(rel_frob(k, e, L * D, NULL) > 0.1, "%s: still modulated", key);
        free(e); free(t); free(dl);
    }
    free(k); free(want);
    hd_model_close(m);
    rm_rf(d);
    free(d);
}

/* train_freq false: no freq tensor is stored and every Sin runs at activation_freq — the same outputs as the
 * frequencies stored at that value; without train_freq false the missing tensor is an error that names it */
Test(hyena, untrained_frequency, .init = setup, .fini = teardown)
{
    char *a = variant_dir("{\"activation_freq\": 1.75}", 1.75f), *b = variant_dir("{\"train_freq\": false, \"activation_freq\": 1.75}", 0),
         *c = variant_dir("{}", 0);
    hd_model *ma = hd_model_open(a), *mb = hd_model_open(b);
    cr_assert(ma && mb, "%s", hd_error());
    int32_t ids[300];
    random_ids(ids, 300, 7);
    float *ha = forward_hidden(ma, ids, 300), *hb = forward_hidden(mb, ids, 300), *h0 = forward_hidden(M, ids, 300);
    cr_assert(!memcmp(ha, hb, 300 * 128 * sizeof(float)), "train_freq false differs from stored frequencies of 1.75");
    cr_assert(rel_frob(ha, h0, 300 * 128, NULL) > 1e-3, "the frequency had no effect");
    cr_assert_null(hd_model_open(c));
    cr_assert(strstr(hd_error(), "implicit_filter.1.freq' is missing"), "%s", hd_error());
    free(ha); free(hb); free(h0);
    hd_model_close(ma);
    hd_model_close(mb);
    rm_rf(a); rm_rf(b); rm_rf(c);
    free(a); free(b); free(c);
}

/* end to end through the binary: `hyenadna forward --logits` reproduces expected.safetensors */
Test(hyena, forward_cli_end_to_end)
{
    char *d = tmp_dir();
    char cmd[2048], out[600];
    snprintf(out, sizeof out, "%s/out.safetensors", d);
    snprintf(cmd, sizeof cmd, "'%s/hyenadna' forward -m '%s' --logits --residuals -o '%s' '%s/input.fa'",
             HD_BUILDDIR, TINY, out, TINY);
    cr_assert_eq(system(cmd), 0, "%s failed", cmd);
    hd_st *got = hd_st_open(out), *exp = hd_st_open(TINY "/expected.safetensors");
    cr_assert_not_null(got, "%s", hd_error());
    int compared = 0;
    for (int i = 0; i < hd_st_count(exp); i++) {
        const hd_tensor_info *e = hd_st_get(exp, i);
        if (strstr(e->name, "cls_sep") || !strncmp(e->name, "filter.", 7)) continue;
        const hd_tensor_info *g = hd_st_find(got, e->name);
        cr_assert_not_null(g, "forward output lacks %s", e->name);
        cr_assert_eq(g->numel, e->numel, "%s", e->name);
        cr_assert_eq(g->dtype, e->dtype, "%s dtype", e->name);
        float *a = malloc(g->numel * sizeof(float) + 4), *b = malloc(e->numel * sizeof(float) + 4);
        hd_tensor_to_f32(g, a);
        hd_tensor_to_f32(e, b);
        double mx, rel = rel_frob(a, b, e->numel, &mx);
        if (e->dtype == HD_I32) cr_assert_eq(rel, 0.0, "%s", e->name);
        else cr_assert(rel <= REL_BAR && mx <= ABS_BAR, "%s: rel %.3g max %.3g", e->name, rel, mx);
        free(a); free(b);
        compared++;
    }
    cr_assert_geq(compared, 26);
    hd_st_close(got);
    hd_st_close(exp);
    /* the cls-sep convention */
    snprintf(cmd, sizeof cmd, "'%s/hyenadna' forward -m '%s' --special cls-sep -o '%s' '%s/input.fa'",
             HD_BUILDDIR, TINY, out, TINY);
    cr_assert_eq(system(cmd), 0);
    got = hd_st_open(out);
    exp = hd_st_open(TINY "/expected.safetensors");
    size_t n;
    float *a = st_f32(got, "hidden.seq4", &n), *b = st_f32(exp, "hidden_cls_sep.seq4", NULL);
    cr_assert(rel_frob(a, b, n, NULL) <= REL_BAR);
    free(a); free(b);
    hd_st_close(got);
    hd_st_close(exp);
    rm_rf(d);
    free(d);
}

/* tests/data/hyenadna-variant (see its README): a configuration unlike any released model — d_model 24, 3 layers,
 * d_inner 40, emb_dim 7, filter_order 16, one inner filter layer, activation_freq 3.5, 12 unpadded vocabulary rows,
 * layer_norm_epsilon 1e-3 (used by norm1 and norm2 as by ln_f, docs/models.md §3.1) — against the float64
 * reference: the forward (hidden, logits, [CLS]…[SEP]) and the cached decoder's logits step by step */
#define VARIANT TESTDATA("hyenadna-variant")
Test(hyena, variant_config_reference)
{
    hd_model *m = hd_model_open(VARIANT);
    cr_assert_not_null(m, "%s", hd_error());
    cr_assert_eq(m->d_model, 24);
    cr_assert_eq(m->n_layer, 3);
    cr_assert_eq(m->n_logits, 12);
    hd_backend *be = hd_backend_cpu_new(2);
    hd_st *exp = hd_st_open(VARIANT "/expected.safetensors");
    hd_fasta *fa = hd_fasta_open(VARIANT "/input.fa");
    cr_assert(be && exp && fa, "%s", hd_error());
    hd_seqrec rec;
    int nrec = 0, ncls = 0;
    while (hd_fasta_next(fa, &rec) > 0) {
        for (int cls = 0; cls < 2; cls++) {
            char key[128], tk[128];
            snprintf(key, sizeof key, "hidden%s.%s", cls ? "_cls_sep" : "", rec.name);
            if (cls && !hd_st_find(exp, key)) continue;
            size_t L = rec.len + (cls ? 2 : 0), n;
            int32_t *ids = malloc(L * sizeof *ids);
            cr_assert_eq(hd_tokenize(rec.seq, rec.len, cls ? HD_SPECIAL_CLS_SEP : HD_SPECIAL_NONE, ids, rec.name), (long)L);
            snprintf(tk, sizeof tk, "tokens%s.%s", cls ? "_cls_sep" : "", rec.name);
            float *tok = st_f32(exp, tk, &n);
            cr_assert_eq(n, L, "%s", tk);
            for (size_t i = 0; i < L; i++) cr_assert_eq(ids[i], (int32_t)tok[i], "%s token %zu", tk, i);
            free(tok);
            float *hidden = malloc(L * 24 * sizeof(float)), *logits = malloc(L * 12 * sizeof(float));
            hd_fwd f = {.hidden = hidden, .logits = logits, .layer = -1};
            cr_assert_eq(hd_model_forward(m, be, ids, L, &f), 0, "%s", hd_error());
            for (int k = 0; k < 2; k++) {
                snprintf(key, sizeof key, "%s%s.%s", k ? "logits" : "hidden", cls ? "_cls_sep" : "", rec.name);
                float *e = st_f32(exp, key, &n);
                cr_assert_eq(n, L * (k ? 12 : 24), "%s", key);
                double mx, rel = rel_frob(k ? logits : hidden, e, n, &mx);
                cr_assert(rel <= REL_BAR && mx <= ABS_BAR, "%s: rel_F %.3g max_abs %.3g", key, rel, mx);
                free(e);
            }
            if (!cls && L >= 2) {
                /* decoding: the prefill of the first token, then one step per token */
                hd_decoder *d = hd_decoder_new(m, be, L);
                cr_assert_not_null(d, "%s", hd_error());
                float *lg = malloc(L * 12 * sizeof(float));
                cr_assert_eq(hd_decoder_prefill(d, ids, 1, lg), 0, "%s", hd_error());
                for (size_t t = 1; t < L; t++) cr_assert_eq(hd_decoder_step(d, ids[t], lg + t * 12), 0, "%s", hd_error());
                snprintf(key, sizeof key, "logits.%s", rec.name);
                float *e = st_f32(exp, key, &n);
                double mx, rel = rel_frob(lg, e, n, &mx);
                cr_assert(rel <= REL_BAR && mx <= ABS_BAR, "decoded %s: rel_F %.3g max_abs %.3g", key, rel, mx);
                free(e);
                free(lg);
                hd_decoder_free(d);
            }
            ncls += cls;
            free(ids); free(hidden); free(logits);
        }
        nrec++;
    }
    cr_assert_eq(nrec, 6);
    cr_assert_eq(ncls, 1);
    hd_fasta_close(fa);
    hd_st_close(exp);
    hd_backend_free(be);
    hd_model_close(m);
}

/* Spectra too large for the cache: every long convolution transforms its filter on the fly (block_spectra gives
 * none) */
static size_t huge_spectra(hd_backend *be, size_t C, size_t N)
{
    (void)be, (void)C, (void)N;
    return HD_SPECTRA_CACHE_BUDGET;
}

/* Hyena order 3 (tests/data/hyenadna-order3, see its README; docs/models.md §3.4.4): in_proj to 4·D channels, two
 * long filters per layer from one filter MLP, two long convolutions per mixer, against the float64 reference —
 * the forward with the fused output step and with the plain ops (filters made on the fly), and the cached decoder
 * from prompts of 1, L/2 and L − 1 tokens (one long-convolution state per order step) */
Test(hyena, order3_reference)
{
    const char *dir = TESTDATA("hyenadna-order3");
    hd_model *m = hd_model_open(dir);
    cr_assert_not_null(m, "%s", hd_error());
    cr_assert_eq(m->d_model, 20);
    cr_assert_eq(m->n_logits, 16);
    cr_assert(strstr(m->variant, "order 3"), "%s", m->variant);
    size_t D = 20, V = 16;
    hd_backend *be = hd_backend_cpu_new(2), *plain = hd_backend_cpu_new(1);
    cr_assert(be && plain, "%s", hd_error());
    plain->hyena_in = NULL, plain->hyena_in_tab = NULL, plain->hyena_out = NULL, plain->mlp_residual = NULL;
    plain->spectra_bytes = huge_spectra;
    char path[512];
    snprintf(path, sizeof path, "%s/expected.safetensors", dir);
    hd_st *exp = hd_st_open(path);
    snprintf(path, sizeof path, "%s/input.fa", dir);
    hd_fasta *fa = hd_fasta_open(path);
    cr_assert(exp && fa, "%s", hd_error());
    hd_seqrec rec;
    int nrec = 0, ndec = 0;
    while (hd_fasta_next(fa, &rec) > 0) {
        size_t L = rec.len, n;
        int32_t *ids = malloc(L * sizeof *ids);
        cr_assert_eq(hd_tokenize(rec.seq, rec.len, HD_SPECIAL_NONE, ids, rec.name), (long)L);
        char key[128];
        snprintf(key, sizeof key, "tokens.%s", rec.name);
        float *tok = st_f32(exp, key, &n);
        cr_assert_eq(n, L, "%s", key);
        for (size_t i = 0; i < L; i++) cr_assert_eq(ids[i], (int32_t)tok[i], "%s token %zu", key, i);
        free(tok);
        snprintf(key, sizeof key, "hidden.%s", rec.name);
        float *eh = st_f32(exp, key, &n);
        cr_assert_eq(n, L * D, "%s", key);
        snprintf(key, sizeof key, "logits.%s", rec.name);
        float *el = st_f32(exp, key, &n);
        cr_assert_eq(n, L * V, "%s", key);
        float *hidden = malloc(L * D * sizeof(float)), *logits = malloc(L * V * sizeof(float));
        for (int k = 0; k < 2; k++) {
            hd_fwd f = {.hidden = hidden, .logits = logits, .layer = -1};
            cr_assert_eq(hd_model_forward(m, k ? plain : be, ids, L, &f), 0, "%s", hd_error());
            double mx, rel = rel_frob(hidden, eh, L * D, &mx);
            cr_assert(rel <= REL_BAR && mx <= ABS_BAR, "%s hidden (%s): rel_F %.3g max_abs %.3g", rec.name,
                      k ? "plain ops" : "fused", rel, mx);
            rel = rel_frob(logits, el, L * V, &mx);
            cr_assert(rel <= REL_BAR && mx <= ABS_BAR, "%s logits (%s): rel_F %.3g max_abs %.3g", rec.name,
                      k ? "plain ops" : "fused", rel, mx);
        }
        size_t prompts[] = {1, L / 2, L - 1};
        for (size_t q = 0; L >= 2 && q < 3; q++) {
            size_t P = prompts[q] ? prompts[q] : 1;
            hd_decoder *d = hd_decoder_new(m, be, L);
            cr_assert_not_null(d, "%s", hd_error());
            cr_assert_eq(hd_decoder_prefill(d, ids, P, logits + (P - 1) * V), 0, "%s", hd_error());
            for (size_t t = P; t < L; t++) cr_assert_eq(hd_decoder_step(d, ids[t], logits + t * V), 0, "%s", hd_error());
            double mx, rel = rel_frob(logits + (P - 1) * V, el + (P - 1) * V, (L - P + 1) * V, &mx);
            cr_assert(rel <= REL_BAR && mx <= ABS_BAR, "%s decoded from a prompt of %zu: rel_F %.3g max_abs %.3g",
                      rec.name, P, rel, mx);
            hd_decoder_free(d);
            ndec++;
        }
        free(hidden); free(logits); free(eh); free(el); free(ids);
        nrec++;
    }
    cr_assert_eq(nrec, 6);
    cr_assert_eq(ndec, 15);
    hd_fasta_close(fa);
    hd_st_close(exp);
    hd_backend_free(be);
    hd_backend_free(plain);
    hd_model_close(m);
}
