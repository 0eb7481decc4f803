/* test_xlstm.c -- DNA-xLSTM parity with the reference (tests/data/xlstm-{mlstm,slstm}, see their READMEs),
 * agreement of the mLSTM cell forms, the PS (RCPS) wiring and thread-count independence. */
#include "testutil.h"
#include "backend.h"
#include "model.h"
#include "seqio.h"
#include "tokenizer.h"
#include "xlstm.h"

#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

#define MLSTM TESTDATA("xlstm-mlstm")
#define SLSTM TESTDATA("xlstm-slstm")
#define REL_BAR 1e-5      /* README: rel_F ≤ 1e-5 and |c − e| ≤ 1e-4 + 1e-4·|e| element-wise */

static double worst[2][4];   /* [set][hidden, logits, hidden_rc/ph, layers] */

/* rel_F ≤ 1e-5 and the element-wise bar; returns rel_F */
static double check_vs(const char *what, const float *got, hd_st *exp, const char *name, size_t n_expect)
{
    size_t n;
    float *e = st_f32(exp, name, &n);
    cr_assert_eq(n, n_expect, "%s: %zu values, expected %zu", what, n_expect, n);
    double mx, rel = rel_frob(got, e, n, &mx);
    cr_assert(rel <= REL_BAR, "%s: rel_F %.3g > %g (max_abs %.3g)", what, rel, REL_BAR, mx);
    for (size_t i = 0; i < n; i++)
        cr_assert(fabs((double)got[i] - e[i]) <= 1e-4 + 1e-4 * fabs(e[i]), "%s[%zu]: %.8g vs %.8g", what, i, got[i], e[i]);
    free(e);
    return rel;
}

typedef struct { float *resid[8]; } cap_t;

static void capture(void *ud, int layer, const float *r, size_t L, int w)
{
    cap_t *c = ud;
    c->resid[layer] = malloc(L * w * sizeof(float));
    memcpy(c->resid[layer], r, L * w * sizeof(float));
}

static void upd(double *w, double v) { if (v > *w) *w = v; }

static void fixture_set(const char *dir, int set, int n_expected_rec)
{
    hd_model *m = hd_model_open(dir);
    cr_assert_not_null(m, "%s", hd_error());
    hd_backend *be = hd_backend_cpu_new(2);
    char path[512], key[256];
    snprintf(path, sizeof path, "%s/expected.safetensors", dir);
    hd_st *exp = hd_st_open(path);
    cr_assert_not_null(exp, "%s", hd_error());
    snprintf(path, sizeof path, "%s/input.fa", dir);
    hd_fasta *fa = hd_fasta_open(path);
    cr_assert_not_null(fa);
    size_t D = (size_t)m->d_hidden, V = (size_t)m->n_logits;
    cr_assert_eq(D, 64);
    cr_assert_eq(V, 12);
    hd_seqrec rec;
    int nrec = 0, nlayers_checked = 0;
    while (hd_fasta_next(fa, &rec) > 0) {
        size_t L = rec.len, n;
        int32_t *ids = malloc(L * sizeof *ids), *rc = malloc(L * sizeof *rc);
        cr_assert_eq(hd_tokenize(rec.seq, L, HD_SPECIAL_NONE, ids, rec.name), (long)L);
        memcpy(rc, ids, L * sizeof *rc);
        hd_ids_revcomp(rc, L);
        for (int pass = 0; pass < 2; pass++) {
            snprintf(key, sizeof key, pass ? "tokens_rc.%s" : "tokens.%s", rec.name);
            float *tok = st_f32(exp, key, &n);
            cr_assert_eq(n, L);
            for (size_t i = 0; i < L; i++) cr_assert_eq((pass ? rc : ids)[i], (int32_t)tok[i], "%s token %zu", key, i);
            free(tok);
        }
        float *hid = malloc(L * D * sizeof(float)), *lg = malloc(L * V * sizeof(float)), *hrc = malloc(L * D * sizeof(float));
        cap_t cap = {{0}};
        hd_fwd f = {.hidden = hid, .logits = lg, .layer = -1, .on_block = capture, .ud = &cap};
        cr_assert_eq(hd_model_forward(m, be, ids, L, &f), 0, "%s", hd_error());
        snprintf(key, sizeof key, "hidden.%s", rec.name);
        upd(&worst[set][0], check_vs(key, hid, exp, key, L * D));
        snprintf(key, sizeof key, "logits.%s", rec.name);
        upd(&worst[set][1], check_vs(key, lg, exp, key, L * V));
        for (int k = 0; k < m->n_layer; k++) {
            snprintf(key, sizeof key, "layer%d.%s", k, rec.name);
            if (hd_st_find(exp, key)) {
                upd(&worst[set][3], check_vs(key, cap.resid[k], exp, key, L * D));
                nlayers_checked++;
            }
            free(cap.resid[k]);
        }
        snprintf(key, sizeof key, "embedding.%s", rec.name);
        if (hd_st_find(exp, key)) {
            float *e = malloc(L * D * sizeof(float));
            const float *E = hd_model_f32(m, 1, HD_SHAPE(12, 64), "token_embedding.weight");
            cr_assert_not_null(E);
            for (size_t t = 0; t < L; t++) memcpy(e + t * D, E + (size_t)ids[t] * D, D * sizeof(float));
            check_vs(key, e, exp, key, L * D);
            free(e);
        }
        /* the model on RC(ids), and the post-hoc conjoined features (hidden + Lrev(hidden_rc)) / 2 */
        hd_fwd fr = {.hidden = hrc, .layer = -1};
        cr_assert_eq(hd_model_forward(m, be, rc, L, &fr), 0, "%s", hd_error());
        snprintf(key, sizeof key, "hidden_rc.%s", rec.name);
        upd(&worst[set][2], check_vs(key, hrc, exp, key, L * D));
        for (size_t t = 0; t < L; t++)
            for (size_t c = 0; c < D; c++) hid[t * D + c] = 0.5f * (hid[t * D + c] + hrc[(L - 1 - t) * D + c]);
        snprintf(key, sizeof key, "hidden_ph.%s", rec.name);
        upd(&worst[set][2], check_vs(key, hid, exp, key, L * D));
        free(hid); free(lg); free(hrc); free(ids); free(rc);
        nrec++;
    }
    cr_assert_eq(nrec, n_expected_rec, "%s: %d records read", dir, nrec);
    cr_assert_geq(nlayers_checked, 2);
    fprintf(stderr, "%s: max rel_F hidden %.2e logits %.2e hidden_rc/ph %.2e layers %.2e\n", dir, worst[set][0],
            worst[set][1], worst[set][2], worst[set][3]);
    hd_fasta_close(fa);
    hd_st_close(exp);
    hd_backend_free(be);
    hd_model_close(m);
}

Test(xlstm, mlstm_fixture_parity) { fixture_set(MLSTM, 0, 3); }
Test(xlstm, slstm_fixture_parity) { fixture_set(SLSTM, 1, 7); }

Test(xlstm, info_fields)
{
    hd_model *m = hd_model_open(MLSTM);
    cr_assert_not_null(m, "%s", hd_error());
    cr_assert_eq(m->family, HD_FAM_XLSTM);
    cr_assert_eq(m->causal, 0);
    cr_assert_eq(m->max_len, 256, "RoPE ties the model to its table of max_length rows");
    cr_assert(strstr(m->variant, "mLSTM") && strstr(m->variant, "chunkwise") && strstr(m->variant, "bidirectional"),
              "%s", m->variant);
    cr_assert_eq(hd_model_n_params(m), 63312);
    hd_model_close(m);
    m = hd_model_open(SLSTM);
    cr_assert_not_null(m, "%s", hd_error());
    cr_assert_eq(m->max_len, 0, "no RoPE: any length");
    cr_assert(strstr(m->variant, "sLSTM") && !strstr(m->variant, "mLSTM"), "%s", m->variant);
    cr_assert_eq(hd_model_n_params(m), 44096);
    hd_model_close(m);
}

/* ---------------------------------------------------------------- mLSTM cell forms */

static float frand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return ((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

/* h per (t, head) scaled to unit length: the forms differ only by the normaliser where its floor is active */
static void unit_heads(float *h, size_t L, size_t NH, size_t DH)
{
    for (size_t i = 0; i < L * NH; i++) {
        double s = 0;
        for (size_t d = 0; d < DH; d++) s += (double)h[i * DH + d] * h[i * DH + d];
        s = s > 0 ? 1.0 / sqrt(s) : 0;
        for (size_t d = 0; d < DH; d++) h[i * DH + d] = (float)(h[i * DH + d] * s);
    }
}

Test(xlstm, mlstm_cell_forms_agree)
{
    hd_backend *be = hd_backend_cpu_new(2);
    size_t NH = 3, DH = 16, lens[] = {1, 2, 5, 63, 64, 65, 130, 1000};
    for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
        size_t L = lens[li], ld = 3 * NH * DH;
        unsigned seed = 17 + (unsigned)L;
        float *qkv = malloc(L * ld * sizeof(float)), *g = malloc(L * 2 * NH * sizeof(float));
        for (size_t i = 0; i < L * ld; i++) qkv[i] = 2.0f * frand(&seed);
        for (size_t i = 0; i < L * NH; i++) {
            g[i % NH + (i / NH) * 2 * NH] = 3.0f * frand(&seed);              /* input gate */
            g[NH + i % NH + (i / NH) * 2 * NH] = 2.0f + 3.0f * frand(&seed);   /* forget gate */
        }
        float *h[5];
        int forms[5] = {HD_MLSTM_RECURRENT, HD_MLSTM_CHUNKWISE, HD_MLSTM_CHUNKWISE, HD_MLSTM_CHUNKWISE, HD_MLSTM_PARALLEL};
        size_t chunks[5] = {0, 64, 7, 4096, 0};
        for (int k = 0; k < 5; k++) {
            h[k] = malloc(L * NH * DH * sizeof(float));
            cr_assert_eq(be->mlstm_cell(be, qkv, qkv + NH * DH, qkv + 2 * NH * DH, ld, g, g + NH, 2 * NH, L, NH, DH,
                                        forms[k], chunks[k], h[k], NH * DH), 0, "%s", hd_error());
            for (size_t i = 0; i < L * NH * DH; i++) cr_assert(isfinite(h[k][i]));
        }
        /* the chunkwise stabiliser equals the recurrent one (both start at m = 0): the same function */
        for (int k = 1; k < 4; k++) {
            double rel = rel_frob(h[k], h[0], L * NH * DH, NULL);
            cr_assert(rel < 1e-5, "L %zu: chunkwise/%zu vs recurrent rel %.3g", L, chunks[k], rel);
        }
        /* the parallel form's normaliser floor differs; the normalised outputs agree */
        unit_heads(h[0], L, NH, DH);
        unit_heads(h[4], L, NH, DH);
        double rel = rel_frob(h[4], h[0], L * NH * DH, NULL);
        cr_assert(rel < 1e-5, "L %zu: parallel vs recurrent (per-head direction) rel %.3g", L, rel);
        for (int k = 0; k < 5; k++) free(h[k]);
        free(qkv); free(g);
    }
    hd_backend_free(be);
}

Test(xlstm, model_forms_agree_on_random_inputs)
{
    hd_model *m = hd_model_open(MLSTM);
    cr_assert_not_null(m, "%s", hd_error());
    hd_backend *be = hd_backend_cpu_new(2);
    size_t lens[] = {1, 3, 64, 100, 256}, D = 64;
    for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
        size_t L = lens[li];
        int32_t *ids = malloc(L * sizeof *ids);
        srand(5 + (unsigned)L);
        for (size_t i = 0; i < L; i++) ids[i] = 7 + rand() % 5;
        float *h[4];
        int forms[4] = {-1, HD_MLSTM_RECURRENT, HD_MLSTM_PARALLEL, HD_MLSTM_CHUNKWISE};
        size_t chunks[4] = {0, 0, 0, 13};
        for (int k = 0; k < 4; k++) {
            h[k] = malloc(L * D * sizeof(float));
            cr_assert_eq(hd_xlstm_set_form(m, forms[k], chunks[k]), 0);
            hd_fwd f = {.hidden = h[k], .layer = -1};
            cr_assert_eq(hd_model_forward(m, be, ids, L, &f), 0, "%s", hd_error());
        }
        for (int k = 1; k < 4; k++) {
            double rel = rel_frob(h[k], h[0], L * D, NULL);
            cr_assert(rel < 1e-5, "L %zu: form %d vs chunkwise/64 rel %.3g", L, forms[k], rel);
        }
        for (int k = 0; k < 4; k++) free(h[k]);
        free(ids);
    }
    cr_assert_eq(hd_xlstm_set_form(m, -1, 0), 0);
    /* RoPE: one token more than max_length is an error naming the limit */
    int32_t *ids = malloc(257 * sizeof *ids);
    for (int i = 0; i < 257; i++) ids[i] = 7 + i % 4;
    float *h = malloc(257 * D * sizeof(float));
    hd_fwd f = {.hidden = h, .layer = -1};
    cr_assert_neq(hd_model_forward(m, be, ids, 257, &f), 0);
    cr_assert(strstr(hd_error(), "256"), "%s", hd_error());
    free(h); free(ids);
    hd_backend_free(be);
    hd_model_close(m);
}

Test(xlstm, threads_give_identical_results)
{
    const char *dirs[] = {MLSTM, SLSTM};
    size_t lens[] = {256, 700};
    for (int s = 0; s < 2; s++) {
        hd_model *m = hd_model_open(dirs[s]);
        cr_assert_not_null(m, "%s", hd_error());
        size_t L = lens[s], D = 64;
        int32_t *ids = malloc(L * sizeof *ids);
        srand(11);
        for (size_t i = 0; i < L; i++) ids[i] = 7 + rand() % 5;
        float *a = malloc(L * D * sizeof(float)), *b = malloc(L * D * sizeof(float));
        hd_backend *one = hd_backend_cpu_new(1), *two = hd_backend_cpu_new(2);
        hd_fwd fa = {.hidden = a, .layer = -1}, fb = {.hidden = b, .layer = -1};
        cr_assert_eq(hd_model_forward(m, one, ids, L, &fa), 0);
        cr_assert_eq(hd_model_forward(m, two, ids, L, &fb), 0);
        cr_assert(!memcmp(a, b, L * D * sizeof(float)), "%s: 1 and 2 threads differ", dirs[s]);
        hd_backend_free(one);
        hd_backend_free(two);
        free(a); free(b); free(ids);
        hd_model_close(m);
    }
}

/* ---------------------------------------------------------------- PS (rcps) */

/* the sLSTM fixture rewritten as an RCPS checkpoint: `.submodule.` names, RCPSEmbedding, rcps true */
static char *make_ps_model(const char *dir)
{
    hd_st *st = hd_st_open(SLSTM "/model.safetensors");
    cr_assert_not_null(st, "%s", hd_error());
    char *path = hd_sprintf("%s/ps.safetensors", dir);
    hd_stw *w = hd_stw_open(path);
    cr_assert_not_null(w, "%s", hd_error());
    static const char *parts[] = {".xlstm_norm.", ".xlstm.", ".ffn_norm.", ".ffn.", ".post_blocks_norm."};
    for (int i = 0; i < hd_st_count(st); i++) {
        const hd_tensor_info *t = hd_st_get(st, i);
        char name[512];
        snprintf(name, sizeof name, "%s", t->name);
        if (strstr(name, "token_embedding.weight")) snprintf(name, sizeof name, "model.backbone.token_embedding.embedding.weight");
        for (int p = 0; p < 5; p++) {
            char *q = strstr(t->name, parts[p]);
            if (q) {
                size_t k = (size_t)(q - t->name) + strlen(parts[p]) - 1;
                snprintf(name, sizeof name, "%.*s.submodule.%s", (int)k, t->name, t->name + k + 1);
                break;
            }
        }
        cr_assert_eq(hd_stw_add(w, name, t->dtype, t->ndim, t->shape, t->data), 0);
    }
    int64_t cm[12], shape[1] = {12};
    for (int i = 0; i < 12; i++) cm[i] = hd_id_complement(i);
    cr_assert_eq(hd_stw_add(w, "model.backbone.token_embedding.complement_map", HD_I64, 1, shape, cm), 0);
    json_error_t je;
    json_t *cfg = json_load_file(SLSTM "/config.json", 0, &je);
    cr_assert_not_null(cfg);
    json_object_set_new(json_object_get(cfg, "config"), "rcps", json_true());
    char *js = json_dumps(cfg, JSON_COMPACT);
    cr_assert_eq(hd_stw_meta(w, "config", js), 0);
    free(js);
    json_decref(cfg);
    cr_assert_eq(hd_stw_close(w), 0, "%s", hd_error());
    hd_st_close(st);
    return path;
}

Test(xlstm, ps_rcps_wiring)
{
    char *d = tmp_dir();
    char *path = make_ps_model(d);
    hd_model *ps = hd_model_open(path), *ph = hd_model_open(SLSTM);
    cr_assert_not_null(ps, "%s", hd_error());
    cr_assert_not_null(ph, "%s", hd_error());
    cr_assert_eq(ps->d_hidden, 128);
    cr_assert_eq(ps->rc_equivariant, 1);
    cr_assert_eq(ps->rc_approximate, 1, "xLSTM PS is not exactly equivariant (docs/models.md §5.9)");
    cr_assert_eq(ph->rc_approximate, 0);
    cr_assert(strstr(ps->variant, "PS"), "%s", ps->variant);
    hd_backend *be = hd_backend_cpu_new(2);
    size_t L = 37, D = 64, V = 12;
    int32_t ids[37], rc[37];
    srand(3);
    for (size_t i = 0; i < L; i++) ids[i] = rc[i] = 7 + rand() % 5;
    hd_ids_revcomp(rc, L);
    float *h = malloc(L * 2 * D * sizeof(float)), *lg = malloc(L * V * sizeof(float)), *h1 = malloc(L * D * sizeof(float));
    hd_fwd f = {.hidden = h, .logits = lg, .layer = -1};
    cr_assert_eq(hd_model_forward(ps, be, ids, L, &f), 0, "%s", hd_error());
    /* the halves never mix before the head: the forward half is the plain model on ids */
    hd_fwd f1 = {.hidden = h1, .layer = -1};
    cr_assert_eq(hd_model_forward(ph, be, ids, L, &f1), 0);
    float *fwd = malloc(L * D * sizeof(float));
    for (size_t t = 0; t < L; t++) memcpy(fwd + t * D, h + t * 2 * D, D * sizeof(float));
    cr_assert(rel_frob(fwd, h1, L * D, NULL) < 1e-6);
    /* the RC half is the model on RC(ids) brought back (RC), except for the head-axis flip of the
     * reference's sLSTM layer on that half (§5.9): close to, but not, the equivariant result */
    cr_assert_eq(hd_model_forward(ph, be, rc, L, &f1), 0);
    for (size_t t = 0; t < L; t++)
        for (size_t c = 0; c < D; c++) fwd[t * D + c] = h[t * 2 * D + D + c];
    float *back = malloc(L * D * sizeof(float));
    for (size_t t = 0; t < L; t++)
        for (size_t c = 0; c < D; c++) back[t * D + c] = h1[(L - 1 - t) * D + (D - 1 - c)];
    double rel = rel_frob(fwd, back, L * D, NULL);
    cr_assert(rel > 1e-3 && rel < 2.0, "RC half vs equivariant expectation: rel %.3g", rel);
    /* RCPS head: logits[v] = W[v]·h[0:D] + W[comp v]·rev(h[D:2D]) */
    const float *W = hd_model_f32(ps, 1, HD_SHAPE(12, 64), "lm_head.weight");
    cr_assert_not_null(W);
    for (size_t t = 0; t < L; t++)
        for (size_t v = 0; v < V; v++) {
            double s = 0;
            int cv = hd_id_complement((int)v);
            for (size_t c = 0; c < D; c++)
                s += (double)W[v * D + c] * h[t * 2 * D + c] + (double)W[cv * D + c] * h[t * 2 * D + 2 * D - 1 - c];
            cr_assert(fabs(s - lg[t * V + v]) < 1e-4 * (1 + fabs(s)), "logit %zu,%zu: %g vs %g", t, v, lg[t * V + v], s);
        }
    free(back); free(fwd); free(h1); free(h); free(lg);
    hd_backend_free(be);
    hd_model_close(ps);
    hd_model_close(ph);
    free(path);
    rm_rf(d);
    free(d);
}

/* ---------------------------------------------------------------- end to end */

static void cli_set(const char *dir, int min_compared)
{
    char *d = tmp_dir();
    char cmd[2048], out[600];
    snprintf(out, sizeof out, "%s/out.safetensors", d);
    snprintf(cmd, sizeof cmd, "'%s/hyenadna' forward -m '%s' --logits --residuals -o '%s' '%s/input.fa'", HD_BUILDDIR,
             dir, out, dir);
    cr_assert_eq(system(cmd), 0, "%s failed", cmd);
    hd_st *got = hd_st_open(out);
    cr_assert_not_null(got, "%s", hd_error());
    char path[512];
    snprintf(path, sizeof path, "%s/expected.safetensors", dir);
    hd_st *exp = hd_st_open(path);
    int compared = 0;
    for (int i = 0; i < hd_st_count(exp); i++) {
        const hd_tensor_info *e = hd_st_get(exp, i);
        char name[300];
        if (!strncmp(e->name, "layer", 5)) snprintf(name, sizeof name, "residual.%s", e->name);
        else if (!strncmp(e->name, "tokens.", 7) || !strncmp(e->name, "hidden.", 7) || !strncmp(e->name, "logits.", 7))
            snprintf(name, sizeof name, "%s", e->name);
        else continue;
        const hd_tensor_info *g = hd_st_find(got, name);
        cr_assert_not_null(g, "forward output lacks %s", name);
        cr_assert_eq(g->numel, e->numel, "%s", name);
        cr_assert_eq(g->dtype, e->dtype, "%s dtype", name);
        float *a = malloc(g->numel * sizeof(float) + 4), *b = malloc(e->numel * sizeof(float) + 4);
        hd_tensor_to_f32(g, a);
        hd_tensor_to_f32(e, b);
        double mx, rel = rel_frob(a, b, e->numel, &mx);
        if (e->dtype == HD_I32) cr_assert_eq(rel, 0.0, "%s", name);
        else {
            cr_assert(rel <= REL_BAR, "%s: rel %.3g max %.3g", name, rel, mx);
            for (size_t k = 0; k < e->numel; k++) cr_assert(fabs((double)a[k] - b[k]) <= 1e-4 + 1e-4 * fabs(b[k]), "%s[%zu]", name, k);
        }
        free(a); free(b);
        compared++;
    }
    cr_assert_geq(compared, min_compared);
    hd_st_close(got);
    hd_st_close(exp);
    rm_rf(d);
    free(d);
}

Test(xlstm, forward_cli_end_to_end_mlstm) { cli_set(MLSTM, 11); }
Test(xlstm, forward_cli_end_to_end_slstm) { cli_set(SLSTM, 23); }

/* tests/data/xlstm-variant (see its README): mLSTM and sLSTM blocks mixed (sLSTM at 1, 2), bidirectional_alternating,
 * d_model 48, mLSTM 2 heads / proj_factor 1.5 / kernel 3 / q,k,v blocks of 8 / biases, sLSTM 8 heads / kernel 2 /
 * FFN rounded up to 64: hidden states and logits of the float64 reference */
#define XVARIANT TESTDATA("xlstm-variant")
#define XNONCAUSAL TESTDATA("xlstm-noncausal")

/* hidden states and logits of every record of a reference set (dir/input.fa, dir/expected.safetensors) */
static void reference_set(hd_model *m, const char *dir, size_t W, int n_rec)
{
    hd_backend *be = hd_backend_cpu_new(2);
    char *ep = hd_sprintf("%s/expected.safetensors", dir), *fp = hd_sprintf("%s/input.fa", dir);
    hd_st *exp = hd_st_open(ep);
    hd_fasta *fa = hd_fasta_open(fp);
    cr_assert(be && exp && fa, "%s", hd_error());
    hd_seqrec rec;
    int nrec = 0;
    while (hd_fasta_next(fa, &rec) > 0) {
        size_t L = rec.len;
        char key[128];
        int32_t *ids = checked_tokens(exp, &rec);
        float *hid = malloc(L * W * sizeof(float)), *lg = malloc(L * 12 * sizeof(float));
        hd_fwd f = {.hidden = hid, .logits = lg, .layer = -1};
        cr_assert_eq(hd_model_forward(m, be, ids, L, &f), 0, "%s", hd_error());
        snprintf(key, sizeof key, "hidden.%s", rec.name);
        check_vs(key, hid, exp, key, L * W);
        snprintf(key, sizeof key, "logits.%s", rec.name);
        check_vs(key, lg, exp, key, L * 12);
        free(ids); free(hid); free(lg);
        nrec++;
    }
    cr_assert_eq(nrec, n_rec);
    hd_fasta_close(fa);
    hd_st_close(exp);
    hd_backend_free(be);
    free(ep);
    free(fp);
}

Test(xlstm, variant_config_reference)
{
    hd_model *m = hd_model_open(XVARIANT);
    cr_assert_not_null(m, "%s", hd_error());
    cr_assert_eq(m->d_hidden, 48);
    cr_assert_eq(m->n_layer, 4);
    reference_set(m, XVARIANT, 48, 5);
    hd_model_close(m);
}

/* tests/data/xlstm-noncausal (see its README): m_conv1d_causal/s_conv1d_causal false with even kernels (4, 2: the
 * extra tap after the position) and m_backend_bidirectional (the mLSTM blocks once, with the unmasked parallel
 * cell; the sLSTM block on both directions), docs/models.md §5.6-§5.7 */
Test(xlstm, noncausal_config_reference)
{
    hd_model *m = hd_model_open(XNONCAUSAL);
    cr_assert_not_null(m, "%s", hd_error());
    cr_assert_eq(m->d_hidden, 32);
    cr_assert_eq(m->n_layer, 3);
    cr_assert_eq(m->causal, 0);
    cr_assert(strstr(m->variant, "non-causal conv") && strstr(m->variant, "native bidirectional"), "%s", m->variant);
    reference_set(m, XNONCAUSAL, 32, 5);
    /* the chunkwise and recurrent forms are causal: another function for this model */
    cr_assert_eq(hd_xlstm_set_form(m, HD_MLSTM_CHUNKWISE, 16), -1);
    cr_assert(strstr(hd_error(), "m_backend_bidirectional"), "%s", hd_error());
    cr_assert_eq(hd_xlstm_set_form(m, HD_MLSTM_PARALLEL, 0), 0);
    hd_backend *be = hd_backend_cpu_new(1);
    cr_assert_null(hd_decoder_new(m, be, 64));
    hd_backend_free(be);
    hd_model_close(m);
}

/* The fixture's weights as a unidirectional stack: with a non-causal convolution position 0 reads position 1 (the
 * model is not causal: no decoding); with causal convolutions it does not */
static hd_model *noncausal_as(const char *dir, const char *name, int conv_causal)
{
    char *sub = hd_sprintf("%s/%s", dir, name), *cfgp = hd_sprintf("%s/config.json", sub);
    char *st = hd_sprintf("%s/model.safetensors", sub);
    cr_assert_eq(mkdir(sub, 0700), 0);
    cr_assert_eq(symlink(XNONCAUSAL "/model.safetensors", st), 0);
    json_error_t je;
    json_t *cfg = json_load_file(XNONCAUSAL "/config.json", 0, &je), *c = json_object_get(cfg, "config");
    cr_assert_not_null(c);
    json_object_set_new(c, "bidirectional", json_false());
    json_object_set_new(c, "m_backend_bidirectional", json_false());
    json_object_set_new(c, "m_conv1d_causal", json_boolean(conv_causal));
    json_object_set_new(c, "s_conv1d_causal", json_boolean(conv_causal));
    cr_assert_eq(json_dump_file(cfg, cfgp, 0), 0);
    json_decref(cfg);
    hd_model *m = hd_model_open(sub);
    cr_assert_not_null(m, "%s", hd_error());
    free(sub); free(cfgp); free(st);
    return m;
}

Test(xlstm, noncausal_conv_reads_ahead)
{
    char *d = tmp_dir();
    hd_backend *be = hd_backend_cpu_new(1);
    for (int causal = 0; causal < 2; causal++) {
        hd_model *m = noncausal_as(d, causal ? "c" : "nc", causal);
        cr_assert_eq(m->causal, causal);
        hd_decoder *dec = hd_decoder_new(m, be, 64);
        cr_assert_eq(dec != NULL, causal, "%s", hd_error());
        if (dec) hd_decoder_free(dec);
        int32_t a[2] = {7, 8}, b[2] = {7, 10};
        float la[24], lb[24];
        hd_fwd fa = {.logits = la, .layer = -1}, fb = {.logits = lb, .layer = -1};
        cr_assert_eq(hd_model_forward(m, be, a, 2, &fa), 0, "%s", hd_error());
        cr_assert_eq(hd_model_forward(m, be, b, 2, &fb), 0, "%s", hd_error());
        double diff = 0;
        for (int v = 0; v < 12; v++) diff += fabs(la[v] - lb[v]);
        if (causal) cr_assert_eq(diff, 0.0, "position 0 of a causal stack depends on position 1");
        else cr_assert_gt(diff, 1e-4, "position 0 of a non-causal convolution does not read position 1");
        hd_model_close(m);
    }
    hd_backend_free(be);
    rm_rf(d);
    free(d);
}
