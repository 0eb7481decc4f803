/* test_caduceus.c -- Caduceus-PH and -PS parity with the reference (tests/data/caduceus-{ph,ps}, see their
 * READMEs), RC equivariance, chunking and thread invariance, and a masked-LM check against an independent
 * float64 implementation written here from docs/models.md §4. */
#include "testutil.h"
#include <stdarg.h>
#include "backend.h"
#include "caduceus.h"
#include "model.h"
#include "seqio.h"
#include "tokenizer.h"
#include "vocab.h"

#define PH TESTDATA("caduceus-ph")
#define PS TESTDATA("caduceus-ps")
#define PLANT TESTDATA("plantcaduceus")
#define PS_NOFUSED TESTDATA("caduceus-ps-nofused")
#define VARIANT TESTDATA("caduceus-variant")
#define REL_BAR 1e-5

static hd_backend *BE;

static void setup(void)
{
    BE = hd_backend_cpu_new(2);
    cr_assert_not_null(BE);
}
static void teardown(void) { hd_backend_free(BE); }

/* the README bar: rel_F ≤ 1e-5 and |c − e| ≤ 1e-4 + 1e-4·|e| element-wise; returns rel_F */
static double bar(const char *what, const float *c, const float *e, size_t n)
{
    double mx, rel = rel_frob(c, e, n, &mx);
    cr_assert(rel <= REL_BAR, "%s: rel_F %.3g > %.0e (max_abs %.3g)", what, rel, REL_BAR, mx);
    for (size_t i = 0; i < n; i++)
        cr_assert(fabs((double)c[i] - e[i]) <= 1e-4 + 1e-4 * fabs((double)e[i]), "%s[%zu]: %.8g vs %.8g", what, i,
                  c[i], e[i]);
    return rel;
}

static double check(hd_st *exp, const char *name, const float *got, size_t n_expect)
{
    size_t n;
    float *e = st_f32(exp, name, &n);
    cr_assert_eq(n, n_expect, "%s: %zu values, expected %zu", name, n_expect, n);
    double rel = bar(name, got, e, n);
    free(e);
    return rel;
}

/* [L, 2D] with its halves swapped (the PS reference keeps the residual in that order) */
static float *swap_halves(const float *x, size_t L, size_t D)
{
    float *y = malloc(L * 2 * D * sizeof(float));
    for (size_t t = 0; t < L; t++) {
        memcpy(y + t * 2 * D, x + t * 2 * D + D, D * sizeof(float));
        memcpy(y + t * 2 * D + D, x + t * 2 * D, D * sizeof(float));
    }
    return y;
}

typedef struct {
    float *emb, *layer[4], *resid[4], *block[4];
} capture;

static float *dup(const float *x, size_t n)
{
    float *y = malloc(n * sizeof(float));
    memcpy(y, x, n * sizeof(float));
    return y;
}

static void tap(void *ud, const char *what, int layer, const float *x, size_t L, int w)
{
    capture *c = ud;
    cr_assert(layer < 4);
    /* a tap may fire more than once (RCPS halves): keep the last, free the earlier copy */
    if (!strcmp(what, "embedding")) free(c->emb), c->emb = dup(x, L * w);
    else if (!strcmp(what, "layer")) free(c->layer[layer]), c->layer[layer] = dup(x, L * w);
    else if (!strcmp(what, "residual")) free(c->resid[layer]), c->resid[layer] = dup(x, L * w);
    else cr_assert_fail("unknown tap %s", what);
}

static void on_block(void *ud, int layer, const float *r, size_t L, int w)
{
    capture *c = ud;
    c->block[layer] = dup(r, L * w);
}

static int32_t *fixture_tokens(hd_st *exp, const char *key, size_t *L)
{
    float *t = st_f32(exp, key, L);
    int32_t *ids = malloc((*L ? *L : 1) * sizeof *ids);
    for (size_t i = 0; i < *L; i++) ids[i] = (int32_t)t[i];
    free(t);
    return ids;
}

/* Every stored tensor of a set through the library API. */
static void fixture_set(const char *dir, int ps)
{
    char path[512];
    hd_model *m = hd_model_open(dir);
    cr_assert_not_null(m, "%s", hd_error());
    cr_assert_eq(m->rc_equivariant, ps);
    size_t D = 64, W = ps ? 128 : 64, V = 16;
    cr_assert_eq((size_t)m->d_hidden, W);
    cr_assert_eq(m->n_logits, 16);
    cr_assert_eq(m->causal, 0);
    cr_assert_eq(m->max_len, 0);
    snprintf(path, sizeof path, "%s/expected.safetensors", dir);
    hd_st *exp = hd_st_open(path);
    cr_assert_not_null(exp, "%s", hd_error());
    snprintf(path, sizeof path, "%s/input.fa", dir);
    hd_fasta *fa = hd_fasta_open(path);
    cr_assert_not_null(fa);
    hd_seqrec rec;
    int nrec = 0, compared = 0;
    double worst_h = 0, worst_l = 0, worst_other = 0, r;
    while (hd_fasta_next(fa, &rec) > 0) {
        size_t L = rec.len, n;
        char key[256];
        int32_t *ids = checked_tokens(exp, &rec);
        float *hidden = malloc(L * W * sizeof(float)), *logits = malloc(L * V * sizeof(float));
        capture cap = {0};
        int is5 = !strcmp(rec.name, "seq5");
        hd_caduceus_set_tap(m, is5 ? tap : NULL, &cap);
        hd_fwd f = {.hidden = hidden, .logits = logits, .layer = -1, .on_block = is5 ? on_block : NULL, .ud = &cap};
        cr_assert_eq(hd_model_forward(m, BE, ids, L, &f), 0, "%s", hd_error());
        snprintf(key, sizeof key, "hidden.%s", rec.name);
        r = check(exp, key, hidden, L * W), worst_h = r > worst_h ? r : worst_h, compared++;
        snprintf(key, sizeof key, "logits.%s", rec.name);
        r = check(exp, key, logits, L * V), worst_l = r > worst_l ? r : worst_l, compared++;
        if (is5) {
            r = check(exp, "embedding.seq5", cap.emb, L * W), worst_other = r > worst_other ? r : worst_other, compared++;
            for (int k = 0; k < 2; k++) {
                snprintf(key, sizeof key, "layer%d.seq5", k);
                r = check(exp, key, cap.layer[k], L * W), worst_other = r > worst_other ? r : worst_other, compared++;
                snprintf(key, sizeof key, "residual%d.seq5", k);
                r = check(exp, key, cap.resid[k], L * W), worst_other = r > worst_other ? r : worst_other, compared++;
            }
            /* on_block(K) is the residual stream after block K = what block K+1 normalises (before the swap) */
            float *b0 = ps ? swap_halves(cap.block[0], L, D) : dup(cap.block[0], L * W);
            check(exp, "residual1.seq5", b0, L * W);
            free(b0);
            /* and --layer K returns the same */
            float *h0 = malloc(L * W * sizeof(float));
            hd_fwd g = {.hidden = h0, .layer = 0};
            cr_assert_eq(hd_model_forward(m, BE, ids, L, &g), 0, "%s", hd_error());
            cr_assert_eq(memcmp(h0, cap.block[0], L * W * sizeof(float)), 0, "hidden at --layer 0 != on_block(0)");
            free(h0);
            free(cap.emb);
            for (int k = 0; k < 2; k++) free(cap.layer[k]), free(cap.resid[k]), free(cap.block[k]);
        }
        hd_caduceus_set_tap(m, NULL, NULL);
        /* PH: the stored RC run and the post-hoc conjoined features */
        snprintf(key, sizeof key, "tokens_rc.%s", rec.name);
        if (hd_st_find(exp, key)) {
            cr_assert(!ps);
            int32_t *rc = malloc(L * sizeof *rc);
            cr_assert_eq(hd_caduceus_rc_ids(m, ids, L, rc), 0);
            int32_t *trc = fixture_tokens(exp, key, &n);
            cr_assert_eq(memcmp(rc, trc, L * sizeof *rc), 0, "%s differs", key);
            free(trc);
            float *hrc = malloc(L * W * sizeof(float)), *ph = malloc(L * D * sizeof(float));
            hd_fwd g = {.hidden = hrc, .layer = -1};
            cr_assert_eq(hd_model_forward(m, BE, rc, L, &g), 0, "%s", hd_error());
            snprintf(key, sizeof key, "hidden_rc.%s", rec.name);
            r = check(exp, key, hrc, L * W), worst_other = r > worst_other ? r : worst_other, compared++;
            cr_assert_eq(hd_caduceus_conjoin(m, hidden, hrc, L, ph), 0);
            snprintf(key, sizeof key, "hidden_ph.%s", rec.name);
            r = check(exp, key, ph, L * D), worst_other = r > worst_other ? r : worst_other, compared++;
            cr_assert_neq(hd_caduceus_conjoin(m, hidden, NULL, L, ph), 0, "PH conjoining without the RC run must fail");
            free(hrc); free(ph); free(rc);
        }
        free(hidden); free(logits); free(ids);
        nrec++;
    }
    hd_fasta_close(fa);
    cr_assert_eq(nrec, 7);
    /* every float tensor of the set was compared */
    int floats = 0;
    for (int i = 0; i < hd_st_count(exp); i++) floats += hd_st_get(exp, i)->dtype == HD_F32;
    cr_assert_eq(compared, floats, "compared %d of the %d stored float tensors", compared, floats);
    fprintf(stderr, "%s: %d tensors, max rel_F hidden %.3g, logits %.3g, others %.3g\n", dir, compared, worst_h,
            worst_l, worst_other);
    hd_st_close(exp);
    hd_model_close(m);
}

Test(caduceus, ph_fixture_parity, .init = setup, .fini = teardown) { fixture_set(PH, 0); }
Test(caduceus, ps_fixture_parity, .init = setup, .fini = teardown) { fixture_set(PS, 1); }

/* PlantCaduceus (tests/data/plantcaduceus, made by tests/make_plantcaduceus_fixture.py from the reference code in
 * float64): Caduceus-PS with its own vocabulary (tokenizer.json) and complement map, loaded from its pytorch_model.bin
 * (backbone.* names, tied projections as shared storage) and driven with the common ids. */
Test(caduceus, plantcaduceus_fixture_parity, .init = setup, .fini = teardown)
{
    hd_model *m = hd_model_open(PLANT "/pytorch_model.bin");
    cr_assert_not_null(m, "%s", hd_error());
    cr_assert_eq(m->family, HD_FAM_CADUCEUS);
    cr_assert_eq(m->rc_equivariant, 1);
    cr_assert_not_null(m->vocab, "the tokenizer.json vocabulary was not attached");
    cr_assert_eq(m->n_logits, HD_TOK_VOCAB);
    size_t D = 48, W = 96, R = 8;
    cr_assert_eq((size_t)m->d_hidden, W);
    cr_assert_eq(m->vocab->rows, (int)R);
    /* the GPN vocabulary: [PAD]=0 [MASK]=1 [UNK]=2 a=3 c=4 g=5 t=6; N is [UNK] */
    static const int32_t want[HD_TOK_VOCAB] = {-1, -1, -1, 1, 0, -1, 2, 3, 4, 5, 6, 2};
    cr_assert_eq(memcmp(m->vocab->to_model, want, sizeof want), 0, "vocabulary map");
    hd_st *exp = hd_st_open(PLANT "/expected.safetensors");
    cr_assert_not_null(exp, "%s", hd_error());
    hd_fasta *fa = hd_fasta_open(PLANT "/input.fa");
    cr_assert_not_null(fa);
    hd_seqrec rec;
    int nrec = 0;
    double worst_h = 0, worst_l = 0;
    while (hd_fasta_next(fa, &rec) > 0) {
        size_t L = rec.len, n;
        char key[256];
        int32_t *ids = malloc(L * sizeof *ids), *mid = malloc(L * sizeof *mid), *rc = malloc(L * sizeof *rc);
        cr_assert_eq(hd_tokenize(rec.seq, L, HD_SPECIAL_NONE, ids, rec.name), (long)L);
        cr_assert_eq(hd_vocab_model_ids(m, ids, L, mid), 0, "%s", hd_error());
        snprintf(key, sizeof key, "tokens.%s", rec.name);
        int32_t *tok = fixture_tokens(exp, key, &n);
        cr_assert_eq(n, L);
        cr_assert_eq(memcmp(mid, tok, L * sizeof *mid), 0, "%s: the model's token ids differ from the reference tokenizer's", key);
        free(tok);
        float *hidden = malloc(L * W * sizeof(float)), *logits = malloc(L * HD_TOK_VOCAB * sizeof(float));
        hd_fwd f = {.hidden = hidden, .logits = logits, .layer = -1};
        cr_assert_eq(hd_model_forward(m, BE, ids, L, &f), 0, "%s", hd_error());
        snprintf(key, sizeof key, "hidden.%s", rec.name);
        double r = check(exp, key, hidden, L * W);
        worst_h = r > worst_h ? r : worst_h;
        /* logits: the model's rows 0..6 sit in the common columns; row 7 (padding) has none; the rest are -inf */
        snprintf(key, sizeof key, "logits.%s", rec.name);
        float *e = st_f32(exp, key, &n);
        cr_assert_eq(n, L * R);
        float *got = malloc(L * 7 * sizeof(float)), *ref = malloc(L * 7 * sizeof(float));
        for (size_t t = 0; t < L; t++) {
            for (size_t v = 0; v < 7; v++) {
                cr_assert_geq(m->vocab->to_common[v], 0);
                got[t * 7 + v] = logits[t * HD_TOK_VOCAB + (size_t)m->vocab->to_common[v]];
                ref[t * 7 + v] = e[t * R + v];
            }
            for (int c = 0; c < HD_TOK_VOCAB; c++) {
                int mapped = 0;
                for (size_t v = 0; v < R; v++) mapped |= m->vocab->to_common[v] == c;
                if (!mapped) cr_assert(isinf(logits[t * HD_TOK_VOCAB + c]) && logits[t * HD_TOK_VOCAB + c] < 0, "column %d", c);
            }
        }
        r = bar(key, got, ref, L * 7);
        worst_l = r > worst_l ? r : worst_l;
        /* RC equivariance through the translated complement: hidden(RC x)[t] = rev(hidden(x)[L-1-t]) */
        cr_assert_eq(hd_caduceus_rc_ids(m, ids, L, rc), 0);
        float *hrc = malloc(L * W * sizeof(float));
        hd_fwd g = {.hidden = hrc, .layer = -1};
        cr_assert_eq(hd_model_forward(m, BE, rc, L, &g), 0, "%s", hd_error());
        for (size_t t = 0; t < L; t++)
            for (size_t c = 0; c < W; c++)
                cr_assert_float_eq(hrc[t * W + c], hidden[(L - 1 - t) * W + (W - 1 - c)], 1e-4, "%s RC at %zu,%zu", rec.name, t, c);
        free(e); free(got); free(ref); free(hrc);
        free(hidden); free(logits); free(ids); free(mid); free(rc);
        nrec++;
    }
    hd_fasta_close(fa);
    cr_assert_eq(nrec, 7);
    (void)D;
    /* a token the model has no id for is an error naming it */
    int32_t cls[2] = {HD_TOK_CLS, HD_TOK_A};
    float h[2 * 96];
    hd_fwd f = {.hidden = h, .layer = -1};
    cr_assert_neq(hd_model_forward(m, BE, cls, 2, &f), 0);
    cr_assert(strstr(hd_error(), "[CLS]"), "%s", hd_error());
    fprintf(stderr, "%s: max rel_F hidden %.3g, logits %.3g\n", PLANT, worst_h, worst_l);
    hd_st_close(exp);
    hd_model_close(m);
}

/* A PlantCaduceus config whose tokenizer.json or complement map disagree, or that lacks tokenizer.json */
Test(caduceus, plantcaduceus_vocabulary_errors)
{
    char *d = tmp_dir(), cmd[1024], path[600];
    snprintf(cmd, sizeof cmd, "cp " PLANT "/config.json " PLANT "/pytorch_model.bin %s/", d);
    cr_assert_eq(system(cmd), 0);
    snprintf(path, sizeof path, "%s/pytorch_model.bin", d);
    hd_model *m = hd_model_open(path);   /* vocab_size 8 without tokenizer.json */
    cr_assert_null(m);
    cr_assert(strstr(hd_error(), "tokenizer.json"), "%s", hd_error());
    /* a vocabulary whose bases the complement map does not pair (c and g swapped with a and t) */
    snprintf(cmd, sizeof cmd, "sed 's/\"a\": 3/\"a\": 4/; s/\"c\": 4/\"c\": 3/' " PLANT "/tokenizer.json > %s/tokenizer.json", d);
    cr_assert_eq(system(cmd), 0);
    m = hd_model_open(path);
    cr_assert_null(m);
    cr_assert(strstr(hd_error(), "complement_map"), "%s", hd_error());
    /* no single-nucleotide tokens at all */
    snprintf(cmd, sizeof cmd, "echo '{\"model\": {\"vocab\": {\"[PAD]\": 0, \"AC\": 1}}}' > %s/tokenizer.json", d);
    cr_assert_eq(system(cmd), 0);
    m = hd_model_open(path);
    cr_assert_null(m);
    cr_assert(strstr(hd_error(), "base A"), "%s", hd_error());
    rm_rf(d);
    free(d);
}

Test(caduceus, loader_aliases_and_buffers)
{
    for (int ps = 0; ps < 2; ps++) {
        hd_model *m = hd_model_open(ps ? PS : PH);
        cr_assert_not_null(m, "%s", hd_error());
        cr_assert_eq(m->family, HD_FAM_CADUCEUS);
        cr_assert(strstr(m->variant, ps ? "PS" : "PH"), "%s", m->variant);
        int rev = 0, head = 0;
        for (int i = 0; i < m->n_notes; i++) {
            rev |= strstr(m->notes[i], "mamba_rev.in_proj") != NULL;
            head |= strstr(m->notes[i], "lm_head") != NULL;
        }
        cr_assert(rev && head, "aliases not noted");
        const int *comp = hd_caduceus_complement(m);
        cr_assert_not_null(comp);
        int want[16] = {0, 1, 2, 3, 4, 5, 6, 10, 9, 8, 7, 11, 12, 13, 14, 15};
        for (int v = 0; v < 16; v++) cr_assert_eq(comp[v], want[v]);
        int bufs = 0;
        for (int i = 0; i < hd_st_count(m->st); i++) {
            const hd_tensor_info *t = hd_st_get(m->st, i);
            cr_assert(m->used[i] == (t->dtype == HD_I64 ? 2 : 1), "%s marked %d", t->name, m->used[i]);
            bufs += t->dtype == HD_I64;
        }
        cr_assert_eq(bufs, ps ? 2 : 0);
        cr_assert_eq(hd_model_n_params(m), 82624);
        hd_model_close(m);
    }
}

/* DIR/model.safetensors = the PS fixture's weights, each tensor passed through edit (which returns 1 when
 * it wrote or dropped the tensor itself) */
static void ps_weights_copy(const char *dir, st_edit_fn edit, void *ud)
{
    char path[600];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    cr_assert_eq(hd_stw_close(st_copy(PS "/model.safetensors", path, edit, ud)), 0);
}

static int swap_comp_7_8(hd_stw *w, const hd_tensor_info *t, void *ud)
{
    if (strcmp(t->name, "lm_head.complement_map")) return 0;
    int64_t v[16];
    hd_tensor_to_i64(t, v);
    v[7] = 8, v[8] = 7;
    cr_assert_eq(hd_stw_add(w, t->name, HD_I64, t->ndim, t->shape, v), 0);
    return 1;
}

/* PS with fused_add_norm false: the norms stored under RCPSAddNormWrapper's submodule names, the residual halves
 * not swapped; hidden states and logits of the float64 reference (tests/data/caduceus-ps-nofused/README.md) */
Test(caduceus, ps_unfused_reference, .init = setup, .fini = teardown)
{
    hd_model *m = hd_model_open(PS_NOFUSED);
    cr_assert_not_null(m, "%s", hd_error());
    hd_st *exp = hd_st_open(PS_NOFUSED "/expected.safetensors");
    hd_fasta *fa = hd_fasta_open(PS_NOFUSED "/input.fa");
    cr_assert(exp && fa, "%s", hd_error());
    hd_seqrec rec;
    int nrec = 0;
    while (hd_fasta_next(fa, &rec) > 0) {
        size_t L = rec.len;
        char key[128];
        int32_t *ids = malloc(L * sizeof *ids);
        cr_assert_eq(hd_tokenize(rec.seq, L, HD_SPECIAL_NONE, ids, rec.name), (long)L);
        float *hidden = malloc(L * 128 * sizeof(float)), *logits = malloc(L * 16 * sizeof(float));
        hd_fwd f = {.hidden = hidden, .logits = logits, .layer = -1};
        cr_assert_eq(hd_model_forward(m, BE, ids, L, &f), 0, "%s", hd_error());
        snprintf(key, sizeof key, "hidden.%s", rec.name);
        check(exp, key, hidden, L * 128);
        snprintf(key, sizeof key, "logits.%s", rec.name);
        check(exp, key, logits, L * 16);
        free(ids); free(hidden); free(logits);
        nrec++;
    }
    cr_assert_eq(nrec, 5);
    hd_fasta_close(fa);
    hd_st_close(exp);
    hd_model_close(m);
}

/* the tied mamba_rev projections saved as copies of their own: taken as aliases when they equal mamba_fwd's
 * (the same outputs as without them), refused by name when they differ (untied BiMamba) */
static void random_ids(int32_t *ids, size_t L, unsigned seed);
static int add_rev_copies(hd_stw *w, const hd_tensor_info *t, void *ud)
{
    const char *p = strstr(t->name, ".mamba_fwd.");
    if (!p || (!strstr(t->name, "in_proj.weight") && !strstr(t->name, "out_proj.weight"))) return 0;
    cr_assert_eq(hd_stw_add(w, t->name, t->dtype, t->ndim, t->shape, t->data), 0);
    char nm[512];
    snprintf(nm, sizeof nm, "%.*s.mamba_rev.%s", (int)(p - t->name), t->name, p + strlen(".mamba_fwd."));
    float *c = malloc(t->numel * sizeof(float));
    hd_tensor_to_f32(t, c);
    c[0] += *(const float *)ud;
    cr_assert_eq(hd_stw_add(w, nm, HD_F32, t->ndim, t->shape, c), 0);
    free(c);
    return 1;
}

Test(caduceus, tied_aliases_stored, .init = setup, .fini = teardown)
{
    char cmd[1200];
    int32_t ids[200];
    random_ids(ids, 200, 11);
    hd_model *ref = hd_model_open(PS);
    cr_assert_not_null(ref, "%s", hd_error());
    float *h0 = malloc(200 * 128 * sizeof(float)), *h1 = malloc(200 * 128 * sizeof(float));
    hd_fwd f0 = {.hidden = h0, .layer = -1}, f1 = {.hidden = h1, .layer = -1};
    cr_assert_eq(hd_model_forward(ref, BE, ids, 200, &f0), 0, "%s", hd_error());
    for (int k = 0; k < 2; k++) {
        char *d = tmp_dir();
        float delta = k ? 0.25f : 0.0f;
        ps_weights_copy(d, add_rev_copies, &delta);
        snprintf(cmd, sizeof cmd, "cp '%s/config.json' '%s/'", PS, d);
        cr_assert_eq(system(cmd), 0);
        hd_model *m = hd_model_open(d);
        if (!k) {
            cr_assert_not_null(m, "%s", hd_error());
            cr_assert_eq(hd_model_n_params(m), hd_model_n_params(ref), "the copies counted as parameters");
            cr_assert_eq(hd_model_forward(m, BE, ids, 200, &f1), 0, "%s", hd_error());
            cr_assert(!memcmp(h0, h1, 200 * 128 * sizeof(float)), "stored aliases changed the output");
            hd_model_close(m);
        } else {
            cr_assert_null(m);
            cr_assert(strstr(hd_error(), "mamba_rev.in_proj.weight' is stored") && strstr(hd_error(), "differs from mamba_fwd") &&
                      strstr(hd_error(), "bidirectional_weight_tie"), "%s", hd_error());
        }
        rm_rf(d);
        free(d);
    }
    free(h0); free(h1);
    hd_model_close(ref);
}

/* a PS model whose complement_map buffer disagrees with the config is refused, naming the tensor */
Test(caduceus, bad_complement_buffer)
{
    char *d = tmp_dir();
    ps_weights_copy(d, swap_comp_7_8, NULL);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "cp '%s/config.json' '%s/'", PS, d);
    cr_assert_eq(system(cmd), 0);
    hd_clear_error();
    hd_model *m = hd_model_open(d);
    cr_assert_null(m);
    cr_assert(strstr(hd_error(), "lm_head.complement_map"), "%s", hd_error());
    rm_rf(d);
    free(d);
}

/* ---------------------------------------------------------------- an independent float64 oracle */

typedef struct {
    hd_st *st;
    int D, E, N, R, K, ps;
} oracle;

static double *ow(oracle *o, const char *fmt, ...)
{
    char name[512], full[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    snprintf(full, sizeof full, "caduceus.backbone.%s", name);
    size_t n;
    float *f = st_f32(o->st, full, &n);
    double *d = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) d[i] = f[i];
    free(f);
    return d;
}

static double dsilu(double x) { return x / (1 + exp(-x)); }
static double dsoftplus(double x) { return x > 20 ? x : log1p(exp(x)); }

static void o_rms(const double *x, const double *w, int rev, size_t D, double *y)
{
    double ss = 0;
    for (size_t c = 0; c < D; c++) ss += x[c] * x[c];
    double r = 1 / sqrt(ss / D + 1e-5);
    for (size_t c = 0; c < D; c++) y[c] = x[c] * r * w[rev ? D - 1 - c : c];
}

/* out = BiMamba_ℓ(u), every direction written out separately (no shared-projection shortcut) */
static void o_bimamba(oracle *o, int layer, const double *u, size_t L, double *out)
{
    size_t D = o->D, E = o->E, N = o->N, R = o->R, K = o->K, Wd = R + 2 * N;
    const char *mix = o->ps ? "mixer.submodule" : "mixer";
    double *Win = ow(o, "layers.%d.%s.mamba_fwd.in_proj.weight", layer, mix);
    double *Wout = ow(o, "layers.%d.%s.mamba_fwd.out_proj.weight", layer, mix);
    for (size_t i = 0; i < L * D; i++) out[i] = 0;
    double *xz = malloc(L * 2 * E * sizeof(double)), *y = malloc(L * E * sizeof(double));
    double *h = malloc(E * N * sizeof(double)), *xd = malloc(Wd * sizeof(double)), *s = malloc(E * sizeof(double));
    for (int dir = 0; dir < 2; dir++) {
        const char *dn = dir ? "mamba_rev" : "mamba_fwd";
        double *cw = ow(o, "layers.%d.%s.%s.conv1d.weight", layer, mix, dn);
        double *cb = ow(o, "layers.%d.%s.%s.conv1d.bias", layer, mix, dn);
        double *Wx = ow(o, "layers.%d.%s.%s.x_proj.weight", layer, mix, dn);
        double *Wdt = ow(o, "layers.%d.%s.%s.dt_proj.weight", layer, mix, dn);
        double *bdt = ow(o, "layers.%d.%s.%s.dt_proj.bias", layer, mix, dn);
        double *Alog = ow(o, "layers.%d.%s.%s.A_log", layer, mix, dn);
        double *Dk = ow(o, "layers.%d.%s.%s.D", layer, mix, dn);
        /* the direction's input sequence v[τ] = u[dir ? L−1−τ : τ] */
        for (size_t tau = 0; tau < L; tau++) {
            const double *ut = u + (dir ? L - 1 - tau : tau) * D;
            for (size_t j = 0; j < 2 * E; j++) {
                double a = 0;
                for (size_t c = 0; c < D; c++) a += Win[j * D + c] * ut[c];
                xz[tau * 2 * E + j] = a;
            }
        }
        for (size_t i = 0; i < E * N; i++) h[i] = 0;
        for (size_t tau = 0; tau < L; tau++) {
            for (size_t e = 0; e < E; e++) {
                double a = cb[e];
                for (size_t k = 0; k < K; k++) {
                    long p = (long)tau - (long)(K - 1) + (long)k;
                    if (p >= 0) a += cw[e * K + k] * xz[p * 2 * E + e];
                }
                s[e] = dsilu(a);
            }
            for (size_t j = 0; j < Wd; j++) {
                double a = 0;
                for (size_t e = 0; e < E; e++) a += Wx[j * E + e] * s[e];
                xd[j] = a;
            }
            for (size_t e = 0; e < E; e++) {
                double v = bdt[e];
                for (size_t q = 0; q < R; q++) v += Wdt[e * R + q] * xd[q];
                double dl = dsoftplus(v), acc = 0;
                for (size_t n = 0; n < N; n++) {
                    double A = -exp(Alog[e * N + n]);
                    h[e * N + n] = exp(dl * A) * h[e * N + n] + dl * xd[R + n] * s[e];
                    acc += xd[R + N + n] * h[e * N + n];
                }
                y[tau * E + e] = (acc + Dk[e] * s[e]) * dsilu(xz[tau * 2 * E + E + e]);
            }
        }
        for (size_t tau = 0; tau < L; tau++) {
            double *ot = out + (dir ? L - 1 - tau : tau) * D;
            for (size_t c = 0; c < D; c++) {
                double a = 0;
                for (size_t e = 0; e < E; e++) a += Wout[c * E + e] * y[tau * E + e];
                ot[c] += a;
            }
        }
        free(cw); free(cb); free(Wx); free(Wdt); free(bdt); free(Alog); free(Dk);
    }
    free(xz); free(y); free(h); free(xd); free(s); free(Win); free(Wout);
}

static void o_rc(const double *x, size_t L, size_t D, double *y)
{
    for (size_t i = 0; i < L * D; i++) y[i] = x[L * D - 1 - i];
}

/* logits [L, 16] of the oracle (docs/models.md §4.7 / §4.8, with the explicit half-swap and rev(w) norms) */
static void o_forward(const char *dir, int ps, const int32_t *ids, size_t L, float *logits)
{
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    oracle o = {hd_st_open(path), 64, 128, 16, 4, 4, ps};
    cr_assert_not_null(o.st);
    static const int comp[16] = {0, 1, 2, 3, 4, 5, 6, 10, 9, 8, 7, 11, 12, 13, 14, 15};
    size_t D = 64, H = ps ? 2 : 1, W = H * D;
    double *emb = ow(&o, ps ? "embeddings.word_embeddings.embedding.weight" : "embeddings.word_embeddings.weight");
    double *h = calloc(L * W, sizeof(double)), *r = calloc(L * W, sizeof(double)), *nr = malloc(L * W * sizeof(double));
    double *ua = malloc(L * D * sizeof(double)), *ub = malloc(L * D * sizeof(double)), *t1 = malloc(L * D * sizeof(double));
    for (size_t t = 0; t < L; t++)
        for (size_t c = 0; c < D; c++) {
            h[t * W + c] = emb[ids[t] * D + c];
            if (ps) h[t * W + D + c] = emb[comp[ids[t]] * D + (D - 1 - c)];
        }
    for (int layer = 0; layer < 2; layer++) {
        double *w = ow(&o, "layers.%d.norm.weight", layer);
        for (size_t t = 0; t < L; t++)
            for (size_t c = 0; c < W; c++) {
                double v = h[t * W + c] + (layer ? r[t * W + c] : 0);
                if (ps) nr[t * W + (c < D ? c + D : c - D)] = v;   /* r' = [sA, sB] = swapped */
                else nr[t * W + c] = v;
            }
        memcpy(r, nr, L * W * sizeof(double));
        for (size_t t = 0; t < L; t++) o_rms(r + t * W, w, 0, D, ua + t * D);
        o_bimamba(&o, layer, ua, L, t1);
        for (size_t t = 0; t < L; t++) memcpy(h + t * W, t1 + t * D, D * sizeof(double));
        if (ps) {
            for (size_t t = 0; t < L; t++) o_rms(r + t * W + D, w, 1, D, ub + t * D);   /* RMSNorm_rev(w)(sB) */
            o_rc(ub, L, D, t1);
            o_bimamba(&o, layer, t1, L, ua);
            o_rc(ua, L, D, t1);
            for (size_t t = 0; t < L; t++) memcpy(h + t * W + D, t1 + t * D, D * sizeof(double));
        }
        free(w);
    }
    double *wf = ow(&o, "norm_f.weight"), *out = malloc(W * sizeof(double)), *s = malloc(W * sizeof(double));
    for (size_t t = 0; t < L; t++) {
        for (size_t c = 0; c < W; c++) s[c] = h[t * W + c] + r[t * W + c];
        o_rms(s, wf, 0, D, out);
        if (ps) o_rms(s + D, wf, 1, D, out + D);
        for (int v = 0; v < 16; v++) {
            double a = 0;
            for (size_t c = 0; c < D; c++) a += emb[v * D + c] * out[c];
            if (ps)
                for (size_t c = 0; c < D; c++) a += emb[comp[v] * D + c] * out[D + (D - 1 - c)];
            logits[t * 16 + v] = (float)a;
        }
    }
    free(wf); free(out); free(s); free(emb); free(h); free(r); free(nr); free(ua); free(ub); free(t1);
    hd_st_close(o.st);
}

static void random_ids(int32_t *ids, size_t L, unsigned seed)
{
    srand(seed);
    for (size_t i = 0; i < L; i++) ids[i] = 7 + rand() % 5;   /* A C G T N */
}

/* [MASK] = 3 at a position: the logits equal a direct (independent float64) run of the same ids;
 * L = 2600 also crosses the 2048-position chunks in both scan directions */
static void masked(const char *dir, int ps)
{
    hd_model *m = hd_model_open(dir);
    cr_assert_not_null(m, "%s", hd_error());
    size_t Ls[] = {257, 2600};
    for (int j = 0; j < 2; j++) {
        size_t L = Ls[j];
        int32_t *ids = malloc(L * sizeof *ids);
        random_ids(ids, L, 100 + (unsigned)j);
        ids[L / 3] = 3;
        ids[L - 1] = 3;
        float *got = malloc(L * 16 * sizeof(float)), *want = malloc(L * 16 * sizeof(float));
        hd_fwd f = {.logits = got, .layer = -1};
        cr_assert_eq(hd_model_forward(m, BE, ids, L, &f), 0, "%s", hd_error());
        o_forward(dir, ps, ids, L, want);
        char what[64];
        snprintf(what, sizeof what, "masked logits L=%zu", L);
        bar(what, got, want, L * 16);
        /* the masked position's logits differ from those of the unmasked base */
        ids[L / 3] = 7;
        float *base = malloc(L * 16 * sizeof(float));
        hd_fwd g = {.logits = base, .layer = -1};
        cr_assert_eq(hd_model_forward(m, BE, ids, L, &g), 0);
        cr_assert(rel_frob(base + (L / 3) * 16, got + (L / 3) * 16, 16, NULL) > 1e-3);
        free(base); free(got); free(want); free(ids);
    }
    hd_model_close(m);
}

Test(caduceus, ph_masked_lm_matches_direct_run, .init = setup, .fini = teardown) { masked(PH, 0); }
Test(caduceus, ps_masked_lm_matches_direct_run, .init = setup, .fini = teardown) { masked(PS, 1); }

/* logits(RC(ids))[t, v] = logits(ids)[L−1−t, comp(v)], hidden(RC(ids)) = RC(hidden(ids)) */
static void rc_equivariance(const char *dir)
{
    hd_model *m = hd_model_open(dir);
    cr_assert_not_null(m, "%s", hd_error());
    const int *comp = hd_caduceus_complement(m);
    size_t Ls[] = {1, 7, 333, 2500};
    for (int j = 0; j < 4; j++) {
        size_t L = Ls[j], W = (size_t)m->d_hidden, D = W / 2;
        int32_t *ids = malloc(L * sizeof *ids), *rc = malloc(L * sizeof *rc);
        random_ids(ids, L, 7 + (unsigned)j);
        if (L > 10) ids[5] = 3, ids[L - 2] = 6;
        cr_assert_eq(hd_caduceus_rc_ids(m, ids, L, rc), 0);
        float *h = malloc(L * W * 4), *lg = malloc(L * 64), *hr = malloc(L * W * 4), *lr = malloc(L * 64);
        float *a = malloc(L * W * 4), *b = malloc(L * 64);
        hd_fwd f = {.hidden = h, .logits = lg, .layer = -1}, g = {.hidden = hr, .logits = lr, .layer = -1};
        cr_assert_eq(hd_model_forward(m, BE, ids, L, &f), 0);
        cr_assert_eq(hd_model_forward(m, BE, rc, L, &g), 0);
        for (size_t i = 0; i < L * W; i++) a[i] = h[L * W - 1 - i];
        for (size_t t = 0; t < L; t++)
            for (int v = 0; v < 16; v++) b[t * 16 + v] = lg[(L - 1 - t) * 16 + comp[v]];
        bar("hidden(RC x) vs RC(hidden(x))", hr, a, L * W);
        bar("logits(RC x) vs flipped, complemented logits(x)", lr, b, L * 16);
        /* the conjoined PS features are RC-invariant */
        float *c1 = malloc(L * D * 4), *c2 = malloc(L * D * 4);
        cr_assert_eq(hd_caduceus_conjoin(m, h, NULL, L, c1), 0);
        cr_assert_eq(hd_caduceus_conjoin(m, hr, NULL, L, c2), 0);
        bar("conjoined PS features", c2, c1, L * D);
        /* and so are the conjoined logits */
        cr_assert_eq(hd_caduceus_conjoin_logits(m, lg, lr, L, b), 0);
        bar("conjoined logits = logits (PS)", b, lg, L * 16);
        free(c1); free(c2); free(h); free(lg); free(hr); free(lr); free(a); free(b); free(ids); free(rc);
    }
    hd_model_close(m);
}

Test(caduceus, ps_rc_equivariance, .init = setup, .fini = teardown) { rc_equivariance(PS); }

/* tests/data/caduceus-variant (see its README; generator tests/make_caduceus_variant_fixture.py): Caduceus-PS with
 * bidirectional_strategy ew_multiply, untied BiMamba projections, LayerNorm (rms_norm false), biased in/out
 * projections, expand 1.5 (E 60), D 40, d_state 8, d_conv 3, eps 1e-4 -- the float64 reference's hidden states and
 * logits, through chunk boundaries too, and RC equivariance */
Test(caduceus, variant_config_reference, .init = setup, .fini = teardown)
{
    hd_model *m = hd_model_open(VARIANT);
    cr_assert_not_null(m, "%s", hd_error());
    cr_assert_eq(m->d_hidden, 80);
    cr_assert_eq(m->n_logits, 16);
    cr_assert(m->rc_equivariant);
    hd_st *exp = hd_st_open(VARIANT "/expected.safetensors");
    hd_fasta *fa = hd_fasta_open(VARIANT "/input.fa");
    cr_assert(exp && fa, "%s", hd_error());
    hd_seqrec rec;
    int nrec = 0;
    while (hd_fasta_next(fa, &rec) > 0) {
        size_t L = rec.len;
        char key[128];
        int32_t *ids = checked_tokens(exp, &rec);
        float *hid = malloc(L * 80 * sizeof(float)), *lg = malloc(L * 16 * sizeof(float));
        size_t chunks[] = {0, 1, 3, 37};   /* 0: the default, one chunk */
        for (int j = 0; j < (L > 100 ? 4 : 1); j++) {
            hd_caduceus_set_chunk(m, chunks[j]);
            hd_fwd f = {.hidden = hid, .logits = lg, .layer = -1};
            cr_assert_eq(hd_model_forward(m, BE, ids, L, &f), 0, "%s", hd_error());
            snprintf(key, sizeof key, "hidden.%s", rec.name);
            check(exp, key, hid, L * 80);
            snprintf(key, sizeof key, "logits.%s", rec.name);
            check(exp, key, lg, L * 16);
        }
        hd_caduceus_set_chunk(m, 0);
        free(ids); free(hid); free(lg);
        nrec++;
    }
    cr_assert_eq(nrec, 5);
    hd_fasta_close(fa);
    hd_st_close(exp);
    hd_model_close(m);
    rc_equivariance(VARIANT);
}

/* The variant's weights with mamba_rev's in_proj/out_proj (weights and biases) replaced by copies of mamba_fwd's
 * (ud: the source file), or dropped (ud NULL) */
static int rev_proj_as_fwd(hd_stw *w, const hd_tensor_info *t, void *ud)
{
    const char *p = strstr(t->name, ".mamba_rev.");
    if (!p || (!strstr(p, ".in_proj.") && !strstr(p, ".out_proj."))) return 0;
    if (!ud) return 1;
    char nm[512];
    snprintf(nm, sizeof nm, "%.*s.mamba_fwd.%s", (int)(p - t->name), t->name, p + strlen(".mamba_rev."));
    const hd_tensor_info *f = hd_st_find(ud, nm);
    cr_assert_not_null(f, "%s", nm);
    cr_assert_eq(hd_stw_add(w, t->name, f->dtype, f->ndim, f->shape, f->data), 0);
    return 1;
}

/* strategy "add" with biased projections, tied (one xz, the gate and out_proj applied once to the summed
 * directions, out_proj's bias counted twice, as each direction adds it) = the same projections given to both
 * directions untied (each direction projected and gated on its own, §4.5); a tied config with differing stored
 * reverse projections is refused, naming the key */
Test(caduceus, variant_tied_bias_paths, .init = setup, .fini = teardown)
{
    char *d[3], cmd[2400], path[600];
    const char *sed[3] = {"-e 's/\"ew_multiply\"/\"add\"/'",
                          "-e 's/\"ew_multiply\"/\"add\"/' -e 's/\"bidirectional_weight_tie\": false/\"bidirectional_weight_tie\": true/'",
                          "-e 's/\"bidirectional_weight_tie\": false/\"bidirectional_weight_tie\": true/'"};
    hd_st *src = hd_st_open(VARIANT "/model.safetensors");
    cr_assert_not_null(src);
    for (int k = 0; k < 3; k++) {
        d[k] = tmp_dir();
        snprintf(path, sizeof path, "%s/model.safetensors", d[k]);
        cr_assert_eq(hd_stw_close(st_copy(VARIANT "/model.safetensors", path, k < 2 ? rev_proj_as_fwd : NULL,
                                          k ? NULL : src)), 0);
        snprintf(cmd, sizeof cmd, "sed %s '%s/config.json' > '%s/config.json'", sed[k], VARIANT, d[k]);
        cr_assert_eq(system(cmd), 0);
    }
    hd_st_close(src);
    hd_model *untied = hd_model_open(d[0]), *tied = hd_model_open(d[1]);
    cr_assert(untied && tied, "%s", hd_error());
    size_t L = 500, W = 80;
    int32_t *ids = malloc(L * sizeof *ids);
    random_ids(ids, L, 5);
    float *h0 = malloc(L * W * 4), *h1 = malloc(L * W * 4), *l0 = malloc(L * 64), *l1 = malloc(L * 64);
    hd_fwd f0 = {.hidden = h0, .logits = l0, .layer = -1}, f1 = {.hidden = h1, .logits = l1, .layer = -1};
    hd_caduceus_set_chunk(tied, 77);
    cr_assert_eq(hd_model_forward(untied, BE, ids, L, &f0), 0, "%s", hd_error());
    cr_assert_eq(hd_model_forward(tied, BE, ids, L, &f1), 0, "%s", hd_error());
    double r = bar("tied vs untied copies: hidden", h1, h0, L * W);
    bar("tied vs untied copies: logits", l1, l0, L * 16);
    cr_assert(r > 0, "the two paths are not distinct runs");
    cr_assert_lt(hd_model_gemm_flops(tied, L, 0), hd_model_gemm_flops(untied, L, 0));
    hd_model_close(untied);
    hd_model_close(tied);
    cr_assert_null(hd_model_open(d[2]));
    cr_assert(strstr(hd_error(), "mamba_rev.in_proj.weight' is stored and differs") &&
              strstr(hd_error(), "bidirectional_weight_tie true"), "%s", hd_error());
    for (int k = 0; k < 3; k++) rm_rf(d[k]), free(d[k]);
    free(ids); free(h0); free(h1); free(l0); free(l1);
}

/* a unidirectional PS mixer (the fixture without mamba_rev, bidirectional false) is RC-equivariant too: its
 * rc half runs the one direction backwards in the original order */
static int drop_mamba_rev(hd_stw *w, const hd_tensor_info *t, void *ud) { return strstr(t->name, "mamba_rev") != NULL; }

Test(caduceus, ps_unidirectional_rc_equivariance, .init = setup, .fini = teardown)
{
    char *d = tmp_dir(), cmd[1400];
    ps_weights_copy(d, drop_mamba_rev, NULL);
    snprintf(cmd, sizeof cmd, "sed 's/\"bidirectional\": true/\"bidirectional\": false/' '%s/config.json' > '%s/config.json'",
             PS, d);
    cr_assert_eq(system(cmd), 0);
    rc_equivariance(d);
    rm_rf(d);
    free(d);
}

/* chunk boundaries (conv history, scan state, reverse direction from the end) do not change the result,
 * and neither does the thread count (bit-identical) */
Test(caduceus, chunks_and_threads, .init = setup, .fini = teardown)
{
    for (int ps = 0; ps < 2; ps++) {
        hd_model *m = hd_model_open(ps ? PS : PH);
        cr_assert_not_null(m);
        hd_st *exp = hd_st_open(ps ? PS "/expected.safetensors" : PH "/expected.safetensors");
        size_t L, W = (size_t)m->d_hidden;
        int32_t *ids = fixture_tokens(exp, "tokens.seq6", &L);
        float *h = malloc(L * W * 4), *lg = malloc(L * 64);
        size_t chunks[] = {1, 3, 37, 1000};
        for (int j = 0; j < 4; j++) {
            hd_caduceus_set_chunk(m, chunks[j]);
            hd_fwd f = {.hidden = h, .logits = lg, .layer = -1};
            cr_assert_eq(hd_model_forward(m, BE, ids, L, &f), 0);
            check(exp, "hidden.seq6", h, L * W);
            check(exp, "logits.seq6", lg, L * 16);
        }
        hd_caduceus_set_chunk(m, 0);
        free(h); free(lg); free(ids);
        hd_st_close(exp);

        L = 3000;
        ids = malloc(L * sizeof *ids);
        random_ids(ids, L, 99);
        float *a = malloc(L * W * 4), *b = malloc(L * W * 4);
        hd_backend *one = hd_backend_cpu_new(1), *two = hd_backend_cpu_new(2);
        hd_fwd fa = {.hidden = a, .layer = -1}, fb = {.hidden = b, .layer = -1};
        cr_assert_eq(hd_model_forward(m, one, ids, L, &fa), 0);
        cr_assert_eq(hd_model_forward(m, two, ids, L, &fb), 0);
        cr_assert_eq(memcmp(a, b, L * W * 4), 0, "1 and 2 threads differ");
        hd_backend_free(one);
        hd_backend_free(two);
        free(a); free(b); free(ids);
        hd_model_close(m);
    }
}

/* end to end: `hyenadna forward --logits --residuals` reproduces expected.safetensors */
static void cli(const char *dir, int ps)
{
    char *d = tmp_dir();
    char cmd[2048], out[600], path[600];
    snprintf(out, sizeof out, "%s/out.safetensors", d);
    snprintf(cmd, sizeof cmd, "'%s/hyenadna' forward -m '%s' --logits --residuals -o '%s' '%s/input.fa'", HD_BUILDDIR,
             dir, out, dir);
    cr_assert_eq(system(cmd), 0, "%s failed", cmd);
    snprintf(path, sizeof path, "%s/expected.safetensors", dir);
    hd_st *got = hd_st_open(out), *exp = hd_st_open(path);
    cr_assert_not_null(got, "%s", hd_error());
    int compared = 0;
    for (int i = 0; i < hd_st_count(exp); i++) {
        const hd_tensor_info *e = hd_st_get(exp, i);
        if (strncmp(e->name, "tokens.", 7) && strncmp(e->name, "hidden.", 7) && strncmp(e->name, "logits.", 7)) continue;
        const hd_tensor_info *g = hd_st_find(got, e->name);
        cr_assert_not_null(g, "forward output lacks %s", e->name);
        cr_assert_eq(g->ndim, e->ndim, "%s", e->name);
        for (int k = 0; k < e->ndim; k++) cr_assert_eq(g->shape[k], e->shape[k], "%s shape", e->name);
        cr_assert_eq(g->dtype, e->dtype, "%s dtype", e->name);
        float *a = malloc(g->numel * 4 + 4), *b = malloc(e->numel * 4 + 4);
        hd_tensor_to_f32(g, a);
        hd_tensor_to_f32(e, b);
        if (e->dtype == HD_I32) cr_assert_eq(memcmp(a, b, e->numel * 4), 0, "%s", e->name);
        else bar(e->name, a, b, e->numel);
        free(a); free(b);
        compared++;
    }
    cr_assert_eq(compared, 21);
    const hd_tensor_info *h5 = hd_st_find(got, "hidden.seq5");
    cr_assert_eq(h5->shape[1], ps ? 128 : 64, "PS hidden is [L, 2·d_model]");
    /* residual.layer0 = the stream block 1 normalises (the reference stores it with swapped halves for PS) */
    size_t n;
    float *r0 = st_f32(got, "residual.layer0.seq5", &n);
    float *r0s = ps ? swap_halves(r0, n / 128, 64) : dup(r0, n);
    check(exp, "residual1.seq5", r0s, n);
    free(r0); free(r0s);
    hd_st_close(got);
    hd_st_close(exp);
    rm_rf(d);
    free(d);
}

Test(caduceus, ph_forward_cli_end_to_end) { cli(PH, 0); }
Test(caduceus, ps_forward_cli_end_to_end) { cli(PS, 1); }
