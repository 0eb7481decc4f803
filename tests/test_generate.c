/* test_generate.c -- cached decoding (hd_decoder) against full forwards on the causal fixtures, the
 * sampler's distribution, and `hyenadna generate` greedy output against `forward --logits`. */
#include "testutil.h"
#include "backend.h"
#include "model.h"
#include "sampler.h"
#include "seqio.h"
#include "tokenizer.h"
#include "xlstm.h"

#include <jansson.h>
#include <unistd.h>

#define REL_BAR 1e-4

/* the tokens of record `rec` (0-based) of a FASTA file */
static int32_t *fasta_ids(const char *path, int rec, size_t *L)
{
    hd_fasta *fa = hd_fasta_open(path);
    cr_assert_not_null(fa, "%s", hd_error());
    hd_seqrec r;
    for (int i = 0; i <= rec; i++) cr_assert_eq(hd_fasta_next(fa, &r), 1, "%s: no record %d", path, rec);
    int32_t *ids = malloc(r.len * sizeof *ids);
    cr_assert_eq(hd_tokenize(r.seq, r.len, HD_SPECIAL_NONE, ids, r.name), (long)r.len);
    *L = r.len;
    hd_fasta_close(fa);
    return ids;
}

/* A copy of a fixture's model with config keys changed (a JSON object merged into the hyper-parameters):
 * a new directory with the weights linked.  Returns the directory (free + rm_rf). */
static char *model_variant(const char *dir, const char *changes)
{
    char *d = tmp_dir(), src[512], dst[512];
    snprintf(src, sizeof src, "%s/config.json", dir);
    json_error_t e;
    json_t *root = json_load_file(src, 0, &e), *ch = json_loads(changes, 0, &e);
    cr_assert(root && ch);
    json_t *cfg = json_object_get(root, "config");
    json_object_update(json_is_object(cfg) ? cfg : root, ch);
    snprintf(dst, sizeof dst, "%s/config.json", d);
    cr_assert_eq(json_dump_file(root, dst, JSON_INDENT(1)), 0);
    json_decref(root);
    json_decref(ch);
    snprintf(src, sizeof src, "%s/model.safetensors", dir);
    snprintf(dst, sizeof dst, "%s/model.safetensors", d);
    cr_assert_eq(symlink(src, dst), 0);
    return d;
}

/* Prefill P tokens of ids, then feed ids[P..P+S) one at a time (capacity P + S + extra): the logits of the
 * prefill and of every step against a full forward over ids[0..P+S] (rel_F ≤ bar for each position).
 * Returns the worst rel_F. */
static double check_decoder_bar(hd_model *m, hd_backend *be, const int32_t *ids, size_t P, size_t S, size_t extra,
                                double bar)
{
    size_t V = (size_t)m->n_logits, L = P + S;
    float *full = malloc(L * V * sizeof(float)), *lg = malloc(V * sizeof(float));
    hd_fwd f = {.logits = full, .layer = -1};
    cr_assert_eq(hd_model_forward(m, be, ids, L, &f), 0, "%s", hd_error());
    hd_decoder *d = hd_decoder_new(m, be, L + extra);
    cr_assert_not_null(d, "%s", hd_error());
    double worst = 0;
    for (size_t t = P - 1; t < L; t++) {
        if (t == P - 1) cr_assert_eq(hd_decoder_prefill(d, ids, P, lg), 0, "%s", hd_error());
        else cr_assert_eq(hd_decoder_step(d, ids[t], lg), 0, "%s", hd_error());
        double mx, rel = rel_frob(lg, full + t * V, V, &mx);
        cr_assert(rel <= bar, "%s: prompt %zu, position %zu: rel_F %.3g (max_abs %.3g)", m->location, P, t, rel, mx);
        if (rel > worst) worst = rel;
    }
    cr_assert_eq(d->pos, L);
    hd_decoder_free(d);
    free(full);
    free(lg);
    return worst;
}

static double check_decoder(hd_model *m, hd_backend *be, const int32_t *ids, size_t P, size_t S, size_t extra)
{
    return check_decoder_bar(m, be, ids, P, S, extra, REL_BAR);
}

/* the model in dir on record rec of fasta */
static void check_model(const char *dir, const char *fasta, int rec, const size_t (*cases)[3], int n)
{
    hd_model *m = hd_model_open(dir);
    cr_assert_not_null(m, "%s", hd_error());
    cr_assert_eq(m->causal, 1);
    hd_backend *be = hd_backend_cpu_new(2);
    size_t L;
    int32_t *ids = fasta_ids(fasta, rec, &L);
    double worst = 0;
    for (int i = 0; i < n; i++) {
        cr_assert(cases[i][0] + cases[i][1] <= L);
        double w = check_decoder(m, be, ids, cases[i][0], cases[i][1], cases[i][2]);
        if (w > worst) worst = w;
    }
    fprintf(stderr, "decoder vs forward, %s: worst rel_F %.2g\n", dir, worst);
    free(ids);
    hd_backend_free(be);
    hd_model_close(m);
}

/* --precision bf16 (where the processor has AVX512_BF16): the decoder's steps against the bf16 forward.  Both
 * round the same projections the same way and read block 0's in_proj output from the same table (hyena_tab0);
 * the long convolution differs (FFT vs direct sums) and a bf16 rounding downstream can amplify that difference:
 * measured 7.2e-5 (-O2) and 2.1e-4 (the sanitizer build), so the bar is 1e-3.  It catches a broken bf16 step,
 * not one that reads block 0's table rounded to bf16 (1.5e-4 measured). */
Test(decoder, default_model_bf16)
{
    hd_model *m = hd_model_open(HD_SRCDATADIR "/models/default");
    cr_assert_not_null(m, "%s", hd_error());
    hd_backend *be = hd_backend_cpu_new(2);
    if (!(be->precisions & HD_PREC_BF16)) {
        hd_backend_free(be);
        hd_model_close(m);
        cr_skip_test("this processor lacks AVX512_BF16");
    }
    cr_assert_eq(hd_backend_set_precision(be, "bf16"), 0, "%s", hd_error());
    size_t L;
    int32_t *ids = fasta_ids(HD_SRCDATADIR "/example.fa", 0, &L);
    static const size_t cases[][3] = {{1, 30, 0}, {100, 150, 7}, {900, 100, 0}};
    double worst = 0;
    for (int i = 0; i < 3; i++) {
        double w = check_decoder_bar(m, be, ids, cases[i][0], cases[i][1], cases[i][2], 1e-3);
        if (w > worst) worst = w;
    }
    fprintf(stderr, "decoder vs forward in bf16, default model: worst rel_F %.2g\n", worst);
    free(ids);
    hd_backend_free(be);
    hd_model_close(m);
}

/* {prompt, steps, extra capacity}: prompts shorter than the short filters, around them, long; capacity to spare */
Test(decoder, hyenadna_tiny)
{
    static const size_t cases[][3] = {{1, 40, 0}, {2, 5, 3}, {3, 20, 0}, {17, 64, 100}, {600, 200, 0}, {998, 26, 2}};
    check_model(TESTDATA("hyenadna-tiny"), TESTDATA("hyenadna-tiny/input.fa"), 5, cases, 6);
}

Test(decoder, default_model)
{
    static const size_t cases[][3] = {{1, 30, 0}, {100, 150, 7}, {900, 100, 0}};
    check_model(HD_SRCDATADIR "/models/default", HD_SRCDATADIR "/example.fa", 0, cases, 3);
}

/* the fixtures are bidirectional (masked) stacks; their unidirectional twins with the same weights are
 * causal LMs.  Steps past 64 cross the decoder's window of convolution rows. */
Test(decoder, xlstm_mlstm_causal)
{
    static const size_t cases[][3] = {{1, 100, 0}, {2, 70, 0}, {4, 64, 1}, {130, 126, 0}};
    const char *forms[] = {"{\"bidirectional\": false}", "{\"bidirectional\": false, \"m_backend\": \"parallel\"}",
                           "{\"bidirectional\": false, \"m_backend\": \"recurrent\"}"};
    for (int f = 0; f < 3; f++) {
        char *d = model_variant(TESTDATA("xlstm-mlstm"), forms[f]);
        check_model(d, TESTDATA("xlstm-mlstm/input.fa"), 0, cases, f ? 1 : 4);
        rm_rf(d);
        free(d);
    }
}

Test(decoder, xlstm_slstm_causal)
{
    static const size_t cases[][3] = {{1, 70, 0}, {3, 10, 0}, {300, 200, 5}};
    char *d = model_variant(TESTDATA("xlstm-slstm"), "{\"bidirectional\": false}");
    check_model(d, TESTDATA("xlstm-slstm/input.fa"), 5, cases, 3);
    rm_rf(d);
    free(d);
}

/* Evo 2 (its own tests check the decoder against the reference's cached steps, tests/test_evo2.c) */
Test(decoder, evo2_tiny)
{
    hd_model *m = hd_model_open(TESTDATA("evo2-tiny"));
    cr_assert_not_null(m, "%s", hd_error());
    hd_backend *be = hd_backend_cpu_new(2);
    hd_fasta *fa = hd_fasta_open(TESTDATA("evo2-tiny/input.fa"));
    hd_seqrec r;
    for (int i = 0; i < 5; i++) cr_assert_eq(hd_fasta_next(fa, &r), 1);
    int32_t *ids = malloc(r.len * sizeof *ids);
    cr_assert_eq(hd_model_tokenize(m, r.seq, r.len, HD_SPECIAL_NONE, ids, r.name), (long)r.len);
    double w = check_decoder(m, be, ids, 1, 90, 0);
    double w2 = check_decoder(m, be, ids, 700, 150, 3);
    fprintf(stderr, "decoder vs forward, evo2-tiny: worst rel_F %.2g\n", w > w2 ? w : w2);
    hd_decoder *d = hd_decoder_new(m, be, 10);   /* no fork: generate prefills again per sample */
    cr_assert(d && !d->fork && !hd_decoder_fork(d));
    hd_decoder_free(d);
    free(ids);
    hd_fasta_close(fa);
    hd_backend_free(be);
    hd_model_close(m);
}

/* a HyenaDNA model longer than one chunk of position-wise work (2048): the short filter's history comes
 * from the last chunk */
Test(decoder, hyena_chunks)
{
    char *d = tmp_dir(), cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s/bench/make_model' -d 16 -n 2 -f 32 -L 4200 -s 3 '%s/m' >/dev/null", HD_BUILDDIR, d);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    snprintf(cmd, sizeof cmd, "%s/m", d);
    hd_model *m = hd_model_open(cmd);
    cr_assert_not_null(m, "%s", hd_error());
    hd_backend *be = hd_backend_cpu_new(2);
    size_t L = 4200;
    int32_t *ids = malloc(L * sizeof *ids);
    hd_rng r;
    hd_rng_init(&r, 5);
    for (size_t i = 0; i < L; i++) ids[i] = HD_TOK_A + (int32_t)(hd_rng_next(&r) % 4);
    check_decoder(m, be, ids, 2049, 30, 0);
    check_decoder(m, be, ids, 4096, 104, 0);
    free(ids);
    hd_backend_free(be);
    hd_model_close(m);
    rm_rf(d);
    free(d);
}

/* a fork continues exactly as the decoder it copies, which stays usable */
static void check_fork(hd_model *m, const int32_t *ids, size_t P, size_t S)
{
    hd_backend *be = hd_backend_cpu_new(2);
    size_t V = (size_t)m->n_logits;
    float *a = malloc(V * sizeof(float)), *b = malloc(V * sizeof(float));
    hd_decoder *d = hd_decoder_new(m, be, P + 2 * S);
    cr_assert_eq(hd_decoder_prefill(d, ids, P, a), 0, "%s", hd_error());
    for (size_t i = 0; i < S; i++) cr_assert_eq(hd_decoder_step(d, ids[P + i], a), 0);
    hd_decoder *e = hd_decoder_fork(d);
    cr_assert_not_null(e, "%s", hd_error());
    cr_assert_eq(e->pos, P + S);
    for (size_t i = S; i < 2 * S; i++) {
        cr_assert_eq(hd_decoder_step(d, ids[P + i], a), 0);
        cr_assert_eq(hd_decoder_step(e, ids[P + i], b), 0);
        cr_assert_arr_eq(a, b, V * sizeof(float), "%s: the fork differs at step %zu", m->location, i);
    }
    cr_assert_neq(hd_decoder_step(e, 7, b), 0);   /* the copy has the same capacity */
    hd_decoder_free(e);
    hd_decoder_free(d);
    free(a);
    free(b);
    hd_backend_free(be);
}

Test(decoder, fork)
{
    size_t L;
    int32_t *ids = fasta_ids(TESTDATA("hyenadna-tiny/input.fa"), 5, &L);
    hd_model *m = hd_model_open(TESTDATA("hyenadna-tiny"));
    check_fork(m, ids, 100, 40);
    hd_model_close(m);
    const char *x[] = {TESTDATA("xlstm-mlstm"), TESTDATA("xlstm-slstm")};
    for (int i = 0; i < 2; i++) {
        char *d = model_variant(x[i], "{\"bidirectional\": false}");
        m = hd_model_open(d);
        check_fork(m, ids, 30, 70);   /* past the window of convolution rows */
        hd_model_close(m);
        rm_rf(d);
        free(d);
    }
    free(ids);
}

Test(decoder, refusals)
{
    hd_backend *be = hd_backend_cpu_new(1);
    const char *masked[] = {TESTDATA("caduceus-ph"), TESTDATA("caduceus-ps"), TESTDATA("xlstm-mlstm"), TESTDATA("xlstm-slstm")};
    for (int i = 0; i < 4; i++) {
        hd_model *m = hd_model_open(masked[i]);
        cr_assert_not_null(m, "%s", hd_error());
        cr_assert_null(hd_decoder_new(m, be, 10));
        cr_assert_eq(hd_error_kind(), HD_EINPUT);
        cr_assert(strstr(hd_error(), "masked"), "%s", hd_error());
        hd_model_close(m);
    }

    hd_model *m = hd_model_open(TESTDATA("hyenadna-tiny"));
    cr_assert_null(hd_decoder_new(m, be, (size_t)m->max_len + 1));
    cr_assert(strstr(hd_error(), "maximum length"), "%s", hd_error());
    hd_decoder *dec = hd_decoder_new(m, be, 4);
    cr_assert_not_null(dec);
    int32_t ids[5] = {7, 8, 9, 10, 7};
    float lg[16];
    cr_assert_neq(hd_decoder_prefill(dec, ids, 5, lg), 0);
    cr_assert_eq(hd_decoder_prefill(dec, ids, 3, lg), 0, "%s", hd_error());
    cr_assert_eq(hd_decoder_step(dec, 8, lg), 0, "%s", hd_error());
    cr_assert_neq(hd_decoder_step(dec, 8, lg), 0);
    cr_assert(strstr(hd_error(), "maximum length of 4"), "%s", hd_error());
    hd_decoder_free(dec);
    dec = hd_decoder_new(m, be, 4);
    cr_assert_eq(hd_decoder_prefill(dec, ids, 1, lg), 0);
    cr_assert_neq(hd_decoder_step(dec, 99, lg), 0);
    cr_assert(strstr(hd_error(), "vocabulary"), "%s", hd_error());
    hd_decoder_free(dec);
    hd_model_close(m);
    hd_backend_free(be);
}

/* ---------------------------------------------------------------- sampler */

static const int32_t ACGT[4] = {HD_TOK_A, HD_TOK_C, HD_TOK_G, HD_TOK_T};

Test(sampler, probabilities)
{
    float lg[12] = {0};
    lg[0] = 50;   /* a special token: left out */
    lg[HD_TOK_A] = 1.0f, lg[HD_TOK_C] = 2.0f, lg[HD_TOK_G] = 0.5f, lg[HD_TOK_T] = 2.0f;
    double p[4], e[4], tot = 0;
    hd_sampling s = {1.0, 0, 1.0};
    hd_base_probs(lg, ACGT, &s, p);
    for (int i = 0; i < 4; i++) tot += e[i] = exp(lg[ACGT[i]]);
    for (int i = 0; i < 4; i++) cr_assert_float_eq(p[i], e[i] / tot, 1e-12);
    /* temperature 2 flattens */
    s.temperature = 2;
    hd_base_probs(lg, ACGT, &s, p);
    tot = 0;
    for (int i = 0; i < 4; i++) tot += e[i] = exp(lg[ACGT[i]] / 2);
    for (int i = 0; i < 4; i++) cr_assert_float_eq(p[i], e[i] / tot, 1e-12);
    /* greedy: the first of the tied maxima (C before T) */
    s.temperature = 0;
    hd_base_probs(lg, ACGT, &s, p);
    cr_assert(p[1] == 1 && p[0] == 0 && p[2] == 0 && p[3] == 0);
    /* top-k 2 keeps C and T, top-k 1 is greedy */
    s = (hd_sampling){1.0, 2, 1.0};
    hd_base_probs(lg, ACGT, &s, p);
    cr_assert(p[0] == 0 && p[2] == 0);
    cr_assert_float_eq(p[1], 0.5, 1e-12);
    cr_assert_float_eq(p[3], 0.5, 1e-12);
    s.top_k = 1;
    hd_base_probs(lg, ACGT, &s, p);
    cr_assert(p[1] == 1);
    /* top-p: C and T hold e²/(2e²+e+e^½) each ≈ 0.38; 0.5 needs both, 0.3 one */
    s = (hd_sampling){1.0, 0, 0.5};
    hd_base_probs(lg, ACGT, &s, p);
    cr_assert(p[0] == 0 && p[2] == 0 && p[1] > 0.49 && p[3] > 0.49);
    s.top_p = 0.3;
    hd_base_probs(lg, ACGT, &s, p);
    cr_assert(p[1] == 1);
    /* top-k then top-p over the top-k renormalised: C and T hold 0.42 each of C, T, A (0.39 of all four), so
     * 0.8 needs only C and T (A was kept when the nucleus summed the unrenormalised probabilities: 0.77) */
    s = (hd_sampling){1.0, 3, 0.8};
    hd_base_probs(lg, ACGT, &s, p);
    cr_assert(p[0] == 0 && p[2] == 0, "A %g G %g", p[0], p[2]);
    cr_assert_float_eq(p[1], 0.5, 1e-12);
    s.top_p = 0.85;   /* 0.845 < 0.85: A too, renormalised over the three */
    hd_base_probs(lg, ACGT, &s, p);
    cr_assert_float_eq(p[0], exp(1) / (exp(1) + 2 * exp(2)), 1e-12);
    cr_assert(p[2] == 0);
}

Test(sampler, streams)
{
    hd_rng a, b, c;
    hd_rng_stream(&a, 42, 0, 1);
    hd_rng_stream(&b, 42, 0, 1);
    hd_rng_stream(&c, 42, 0, 2);
    int same = 0;
    double sum = 0;
    for (int i = 0; i < 100000; i++) {
        uint64_t x = hd_rng_next(&a);
        cr_assert_eq(x, hd_rng_next(&b));
        same += x == hd_rng_next(&c);
        double u = hd_rng_uniform(&a);
        hd_rng_uniform(&b);
        cr_assert(u >= 0 && u < 1);
        sum += u;
    }
    cr_assert_eq(same, 0);
    cr_assert(fabs(sum / 100000 - 0.5) < 0.005, "mean %g", sum / 100000);
}

/* χ² of 40,000 draws at one step of the tiny model against its renormalised probabilities (3 degrees of
 * freedom: the 0.999 quantile is 16.27), at two temperatures and with top-p */
Test(sampler, chi_square)
{
    hd_model *m = hd_model_open(TESTDATA("hyenadna-tiny"));
    hd_backend *be = hd_backend_cpu_new(1);
    size_t L;
    int32_t *ids = fasta_ids(TESTDATA("hyenadna-tiny/input.fa"), 4, &L);
    float *lg = malloc(L * (size_t)m->n_logits * sizeof(float));
    hd_fwd f = {.logits = lg, .layer = -1};
    cr_assert_eq(hd_model_forward(m, be, ids, L, &f), 0);
    const float *last = lg + (L - 1) * (size_t)m->n_logits;
    hd_sampling cases[] = {{1.0, 0, 1.0}, {1.7, 0, 1.0}, {0.8, 3, 1.0}};
    for (int c = 0; c < 3; c++) {
        double p[4];
        hd_base_probs(last, ACGT, &cases[c], p);
        hd_rng r;
        hd_rng_stream(&r, 20260101, (uint64_t)c, 0);
        long n[4] = {0}, N = 40000;
        for (long i = 0; i < N; i++) n[hd_sample_base(last, ACGT, &cases[c], &r)]++;
        double chi = 0;
        int df = -1;
        for (int i = 0; i < 4; i++) {
            if (p[i] == 0) { cr_assert_eq(n[i], 0, "case %d: base %d drawn with probability 0", c, i); continue; }
            chi += (n[i] - N * p[i]) * (n[i] - N * p[i]) / (N * p[i]);
            df++;
        }
        cr_assert(df >= 1);
        double crit[] = {0, 10.83, 13.82, 16.27};
        cr_assert(chi < crit[df], "case %d: χ² %.2f with %d degrees of freedom (p = %.3f %.3f %.3f %.3f)", c, chi, df,
                  p[0], p[1], p[2], p[3]);
    }
    free(lg);
    free(ids);
    hd_backend_free(be);
    hd_model_close(m);
}

/* ---------------------------------------------------------------- the command line */

/* `generate --temperature 0 --with-prompt` then `forward --logits` on its output: every new base is the
 * argmax over A, C, G, T of the forward logits at the position before it */
static void cli_greedy(const char *model, const char *prompts, long n)
{
    char *d = tmp_dir(), cmd[4096], out[512], st[512];
    hd_model *m = hd_model_open(model);
    cr_assert_not_null(m, "%s", hd_error());
    int32_t acgt[4];
    for (int b = 0; b < 4; b++) acgt[b] = hd_model_base_token(m, HD_TOK_A + b);
    hd_model_close(m);
    snprintf(out, sizeof out, "%s/out.fa", d);
    snprintf(st, sizeof st, "%s/out.safetensors", d);
    snprintf(cmd, sizeof cmd, "'%s/hyenadna' generate -m '%s' -n %ld --temperature 0 --with-prompt -@ 2 -o '%s' '%s'",
             HD_BUILDDIR, model, n, out, prompts);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    snprintf(cmd, sizeof cmd, "'%s/hyenadna' forward -m '%s' --logits --no-hidden -o '%s' '%s'", HD_BUILDDIR, model, st, out);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    hd_st *S = hd_st_open(st);
    cr_assert_not_null(S, "%s", hd_error());
    hd_fasta *fp = hd_fasta_open(prompts), *fo = hd_fasta_open(out);
    hd_seqrec p, o;
    int nrec = 0;
    long checked = 0;
    while (hd_fasta_next(fp, &p) > 0) {
        size_t P = p.len;
        char *pname = strdup(p.name);
        cr_assert_eq(hd_fasta_next(fo, &o), 1, "no output for %s", pname);
        cr_assert_str_eq(o.name, pname);
        cr_assert_eq(o.len, P + (size_t)n, "%s: %zu bases, expected %zu", o.name, o.len, P + (size_t)n);
        char key[600];
        snprintf(key, sizeof key, "logits.%s", o.name);
        size_t nv;
        float *lg = st_f32(S, key, &nv);
        size_t V = nv / o.len;
        for (size_t t = P - 1; t + 1 < o.len; t++) {
            const float *l = lg + t * V;
            int best = 0;
            for (int b = 1; b < 4; b++)
                if (l[acgt[b]] > l[acgt[best]]) best = b;
            cr_assert_eq(o.seq[t + 1], "ACGT"[best], "%s (%s): position %zu is %c, the forward's argmax %c", model, o.name,
                         t + 1, o.seq[t + 1], "ACGT"[best]);
            checked++;
        }
        free(lg);
        free(pname);
        nrec++;
    }
    cr_assert(nrec > 0 && checked == nrec * n);
    hd_fasta_close(fp);
    hd_fasta_close(fo);
    hd_st_close(S);
    rm_rf(d);
    free(d);
}

/* prompts of 1, 2 and 3 bases (shorter than the short filters), 17, and a real 1 kb window */
static char *write_prompts(const char *dir, const char *fasta_1k)
{
    char *path = hd_sprintf("%s/prompts.fa", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, ">one\nA\n>two\nCG\n>three x\nTTA\n>seventeen\nACGTACGGTTACGATCA\n");
    size_t L;
    int32_t *ids = fasta_ids(fasta_1k, 0, &L);
    fprintf(f, ">long\n");
    for (size_t i = 0; i < L && i < 700; i++) fputc(hd_id_base(ids[i]), f);
    fprintf(f, "\n");
    fclose(f);
    free(ids);
    return path;
}

Test(cli, greedy_is_forward_argmax)
{
    char *d = tmp_dir();
    char *prompts = write_prompts(d, HD_SRCDATADIR "/example.fa");
    cli_greedy(TESTDATA("hyenadna-tiny"), prompts, 90);
    cli_greedy(HD_SRCDATADIR "/models/default", prompts, 90);
    char *m = model_variant(TESTDATA("xlstm-slstm"), "{\"bidirectional\": false}");
    cli_greedy(m, prompts, 90);
    rm_rf(m);
    free(m);
    /* the mLSTM fixture's RoPE table holds 256 positions */
    FILE *f = fopen(prompts, "w");
    fprintf(f, ">one\nA\n>two\nCG\n>three x\nTTA\n>many\nACGTACGGTTACGATCAGGCATTACGATTTACGCAGCATCAGCGGGCAGCAGGCG\n");
    fclose(f);
    m = model_variant(TESTDATA("xlstm-mlstm"), "{\"bidirectional\": false}");
    cli_greedy(m, prompts, 150);
    rm_rf(m);
    free(m);
    cli_greedy(TESTDATA("evo2-tiny"), prompts, 150);
    free(prompts);
    rm_rf(d);
    free(d);
}
