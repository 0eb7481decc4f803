/* test_model.c -- model loading: family detection, tensor-name variants, parameter counts, errors. */
#include "testutil.h"
#include "model.h"

#include <jansson.h>
#include <unistd.h>

#define TINY TESTDATA("hyenadna-tiny")

/* Copy the tiny model into dir with every tensor name passed through rename() (NULL drops it);
 * extra != NULL adds one more tensor of 4 floats under that name.  The config is config_json or
 * the fixture's config. */
typedef const char *(*rename_fn)(const char *name, char *buf, size_t n);

static int renamed(hd_stw *w, const hd_tensor_info *t, void *ud)
{
    char buf[512];
    const char *nm = ((rename_fn)ud)(t->name, buf, sizeof buf);
    if (nm) cr_assert_eq(hd_stw_add(w, nm, t->dtype, t->ndim, t->shape, t->data), 0, "%s", hd_error());
    return 1;
}

static char *variant(rename_fn rn, const char *extra, const char *config_json)
{
    char *d = tmp_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", d);
    hd_stw *w = st_copy(TINY "/model.safetensors", path, rn ? renamed : NULL, (void *)rn);
    if (extra) {
        int64_t s[1] = {4};
        float v[4] = {0};
        hd_stw_add(w, extra, HD_F32, 1, s, v);
    }
    cr_assert_eq(hd_stw_close(w), 0, "%s", hd_error());
    snprintf(path, sizeof path, "%s/config.json", d);
    if (config_json) {
        FILE *fp = fopen(path, "w");
        fputs(config_json, fp);
        fclose(fp);
    } else {
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "cp '%s/config.json' '%s'", TINY, path);
        cr_assert_eq(system(cmd), 0);
    }
    return d;
}

static hd_model *open_ok(const char *loc)
{
    hd_clear_error();
    hd_model *m = hd_model_open(loc);
    cr_assert_not_null(m, "%s: %s", loc, hd_error());
    return m;
}

static void open_fails(const char *loc, const char *needle)
{
    hd_clear_error();
    hd_model *m = hd_model_open(loc);
    cr_assert_null(m, "%s opened but should not", loc);
    cr_assert(strstr(hd_error(), needle), "error '%s' lacks '%s'", hd_error(), needle);
    cr_assert_eq(hd_error_kind(), HD_EMODEL);
}

/* learned parameters of the HyenaDNA tiny shape: docs/models.md §3.1 gives 436,096 with a tied head;
 * the fixture stores an untied head (+16·128) */
#define TINY_PARAMS (436096 + 16 * 128)

Test(model, hyena_tiny_hf_layout)
{
    hd_model *m = open_ok(TINY);
    cr_assert_eq(m->family, HD_FAM_HYENA);
    cr_assert_eq(m->d_model, 128);
    cr_assert_eq(m->n_layer, 2);
    cr_assert_eq(m->max_len, 1026);
    cr_assert_eq(m->n_logits, 16);
    cr_assert_eq(hd_model_n_params(m), TINY_PARAMS);
    hd_model_close(m);
}

static const char *lightning(const char *name, char *buf, size_t n)
{
    /* hyena.backbone.X -> model.backbone.X with the gradient-checkpointing infix; head dropped (tied) */
    if (!strcmp(name, "lm_head.weight")) return NULL;
    const char *rest = name + strlen("hyena.backbone.");
    char tmp[512];
    snprintf(tmp, sizeof tmp, "model.backbone.%s", rest);
    char *p;
    if ((p = strstr(tmp, ".mixer."))) {
        snprintf(buf, n, "%.*s.mixer.layer.%s", (int)(p - tmp), tmp, p + 7);
    } else if ((p = strstr(tmp, ".mlp."))) {
        snprintf(buf, n, "%.*s.mlp.layer.%s", (int)(p - tmp), tmp, p + 5);
    } else snprintf(buf, n, "%s", tmp);
    return buf;
}

static const char *lightning_no_infix(const char *name, char *buf, size_t n)
{
    if (!strcmp(name, "lm_head.weight")) { snprintf(buf, n, "model.lm_head.weight"); return buf; }
    snprintf(buf, n, "model.backbone.%s", name + strlen("hyena.backbone."));
    return buf;
}

static const char *freq_at_5(const char *name, char *buf, size_t n)
{
    const char *p = strstr(name, "implicit_filter.1.freq");
    if (!p) return name;
    snprintf(buf, n, "%.*simplicit_filter.5.freq", (int)(p - name), name);
    return buf;
}

static const char *drop_in_proj(const char *name, char *buf, size_t n)
{
    return strstr(name, "layers.1.mixer.in_proj.weight") ? NULL : name;
}

static const char *lightning_cfg =
    "{\"d_model\": 128, \"n_layer\": 2, \"d_inner\": 512, \"vocab_size\": 12, \"resid_dropout\": 0.0,"
    " \"embed_dropout\": 0.1, \"fused_mlp\": false, \"fused_dropout_add_ln\": true, \"residual_in_fp32\": true,"
    " \"pad_vocab_size_multiple\": 8, \"return_hidden_state\": true, \"checkpoint_mixer\": true, \"checkpoint_mlp\": true,"
    " \"layer\": {\"_name_\": \"hyena\", \"emb_dim\": 5, \"filter_order\": 64, \"local_order\": 3, \"l_max\": 1026,"
    " \"modulate\": true, \"w\": 10, \"lr\": 6e-4, \"wd\": 0.0, \"lr_pos_emb\": 0.0}}";

Test(model, lightning_names_and_config)
{
    char *d = variant(lightning, NULL, lightning_cfg);
    hd_model *m = open_ok(d);
    cr_assert_eq(m->family, HD_FAM_HYENA);
    cr_assert_eq(m->max_len, 1026);
    /* head tied: the untied head's 2048 parameters are gone */
    cr_assert_eq(hd_model_n_params(m), 436096);
    int tied = 0;
    for (int i = 0; i < m->n_notes; i++) tied |= strstr(m->notes[i], "lm_head") != NULL;
    cr_assert(tied, "the tied head is not reported");
    hd_model_close(m);
    rm_rf(d);
    free(d);

    d = variant(lightning_no_infix, NULL, lightning_cfg);
    m = open_ok(d);
    cr_assert_eq(hd_model_n_params(m), TINY_PARAMS);
    hd_model_close(m);
    rm_rf(d);
    free(d);
}

/* a state dict saved from a wrapped model: DistributedDataParallel's "module.", torch.compile's "_orig_mod." */
static const char *ddp_compiled(const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "module._orig_mod.%s", name);
    return buf;
}

static const char *lightning_compiled(const char *name, char *buf, size_t n)
{
    if (!strcmp(name, "lm_head.weight")) { snprintf(buf, n, "model._orig_mod.lm_head.weight"); return buf; }
    snprintf(buf, n, "model._orig_mod.backbone.%s", name + strlen("hyena.backbone."));
    return buf;
}

/* a Lightning module holding the Hugging Face model (the Caduceus training code's model.caduceus.backbone.):
 * one prefix inside another */
static const char *lightning_of_hf(const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "model.%s", name);
    return buf;
}

Test(model, wrapped_model_names)
{
    rename_fn fns[] = {ddp_compiled, lightning_compiled, lightning_of_hf};
    for (int k = 0; k < 3; k++) {
        char *d = variant(fns[k], NULL, k == 1 ? lightning_cfg : NULL);
        hd_model *m = open_ok(d);
        cr_assert_eq(m->family, HD_FAM_HYENA);
        cr_assert_eq(hd_model_n_params(m), TINY_PARAMS, "variant %d", k);
        cr_assert_not_null(hd_model_tensor(m, "layers.1.mixer.in_proj.weight"), "variant %d", k);
        hd_model_close(m);
        rm_rf(d);
        free(d);
    }
}

/* a fine-tuned classifier's head beside the backbone: noted, not used; anything else stays an error */
Test(model, task_heads_noted)
{
    const char *heads[] = {"score.weight", "decoder.0.output_transform.weight", "classifier.bias"};
    for (int k = 0; k < 3; k++) {
        char *d = variant(NULL, heads[k], NULL);
        hd_model *m = open_ok(d);
        cr_assert_eq(hd_model_n_params(m), TINY_PARAMS, "%s counted", heads[k]);
        int noted = 0;
        for (int i = 0; i < m->n_notes; i++) noted |= strstr(m->notes[i], heads[k]) && strstr(m->notes[i], "task head");
        cr_assert(noted, "%s not reported", heads[k]);
        hd_model_close(m);
        rm_rf(d);
        free(d);
    }
    char *d = variant(NULL, "hyena.backbone.scores.weight", NULL);
    open_fails(d, "unknown tensor 'hyena.backbone.scores.weight'");
    rm_rf(d);
    free(d);
}

/* A sharded model (Hugging Face's model.safetensors.index.json and its shards): the tiny model split in two.
 * index_edit: NULL, or a JSON text written as the index instead. */
static char *sharded(const char *index_text)
{
    char *d = tmp_dir();
    char path[600];
    hd_st *src = hd_st_open(TINY "/model.safetensors");
    cr_assert_not_null(src, "%s", hd_error());
    int n = hd_st_count(src);
    json_t *wm = json_object();
    for (int part = 0; part < 2; part++) {
        char fn[64];
        snprintf(fn, sizeof fn, "model-%05d-of-00002.safetensors", part + 1);
        snprintf(path, sizeof path, "%s/%s", d, fn);
        hd_stw *w = hd_stw_open(path);
        cr_assert_not_null(w, "%s", hd_error());
        for (int i = part ? n / 2 : 0; i < (part ? n : n / 2); i++) {
            const hd_tensor_info *t = hd_st_get(src, i);
            cr_assert_eq(hd_stw_add(w, t->name, t->dtype, t->ndim, t->shape, t->data), 0, "%s", hd_error());
            json_object_set_new(wm, t->name, json_string(fn));
        }
        cr_assert_eq(hd_stw_close(w), 0, "%s", hd_error());
    }
    hd_st_close(src);
    json_t *idx = json_pack("{s:{s:i}, s:o}", "metadata", "total_size", 0, "weight_map", wm);
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", d);
    if (index_text) {
        FILE *fp = fopen(path, "w");
        fputs(index_text, fp);
        fclose(fp);
    } else cr_assert_eq(json_dump_file(idx, path, 0), 0);
    json_decref(idx);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cp '%s/config.json' '%s'", TINY, d);
    cr_assert_eq(system(cmd), 0);
    return d;
}

Test(model, sharded_safetensors)
{
    char *d = sharded(NULL);
    char path[600];
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", d);
    const char *locs[] = {d, path};
    hd_st *ref = hd_st_open(TINY "/model.safetensors");
    for (int k = 0; k < 2; k++) {
        hd_model *m = open_ok(locs[k]);
        cr_assert_eq(m->family, HD_FAM_HYENA);
        cr_assert_eq(hd_model_n_params(m), TINY_PARAMS);
        cr_assert_eq(hd_st_count(m->st), hd_st_count(ref));
        for (int i = 0; i < hd_st_count(ref); i++) {   /* every tensor, with its bytes, from its shard */
            const hd_tensor_info *a = hd_st_get(ref, i), *b = hd_st_find(m->st, a->name);
            cr_assert_not_null(b, "%s missing", a->name);
            cr_assert(b->numel == a->numel && !memcmp(a->data, b->data, a->numel * hd_dtype_size(a->dtype)), "%s", a->name);
        }
        hd_model_close(m);
    }
    hd_st_close(ref);
    /* the index named without a folder (-m model.safetensors.index.json in the model's folder) */
    char cwd[4096];
    cr_assert_not_null(getcwd(cwd, sizeof cwd));
    cr_assert_eq(chdir(d), 0);
    hd_model *m = open_ok("model.safetensors.index.json");
    cr_assert_eq(hd_model_n_params(m), TINY_PARAMS);
    hd_model_close(m);
    cr_assert_eq(chdir(cwd), 0);
    /* a shard missing: the index and the shard named */
    snprintf(path, sizeof path, "%s/model-00002-of-00002.safetensors", d);
    cr_assert_eq(unlink(path), 0);
    open_fails(d, "model.safetensors.index.json: the shard of tensor");
    cr_assert(strstr(hd_error(), "model-00002-of-00002.safetensors"), "%s", hd_error());
    rm_rf(d);
    free(d);

    /* an index that maps a tensor to a shard without it, a path for a shard, no weight_map, not JSON */
    static const struct { const char *text, *err; } bad[] = {
        {"{\"weight_map\": {\"hyena.backbone.embeddings.word_embeddings.weight\": \"model-00002-of-00002.safetensors\"}}",
         "is mapped to model-00002-of-00002.safetensors, which does not hold it"},
        {"{\"weight_map\": {\"x\": \"../model-00001-of-00002.safetensors\"}}", "is not the name of a shard file"},
        {"{\"metadata\": {}}", "no \"weight_map\""},
        {"{\"weight_map\": {\"hyena.backbone.embeddings.word_embeddings.weight\": \"model-00001-of-00002.safetensors\"}}",
         "which the index does not list"},
        {"{\"weight_map\": ", "invalid JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        d = sharded(bad[i].text);
        open_fails(d, bad[i].err);
        cr_assert(strstr(hd_error(), "model.safetensors.index.json"), "%s", hd_error());
        rm_rf(d);
        free(d);
    }
}

Test(model, shared_freq_any_name)
{
    char *d = variant(freq_at_5, NULL, NULL);
    hd_model *m = open_ok(d);
    cr_assert_eq(hd_model_n_params(m), TINY_PARAMS);
    hd_model_close(m);
    rm_rf(d);
    free(d);
}

Test(model, all_three_freq_names)
{
    /* the Lightning state dict lists the shared freq three times: counted once */
    char *d = variant(NULL, NULL, NULL);
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", d);
    hd_st *src = hd_st_open(TINY "/model.safetensors");
    hd_stw *w = hd_stw_open(path);
    for (int i = 0; i < hd_st_count(src); i++) {
        const hd_tensor_info *t = hd_st_get(src, i);
        hd_stw_add(w, t->name, t->dtype, t->ndim, t->shape, t->data);
        const char *p = strstr(t->name, "implicit_filter.1.freq");
        if (p) {
            char nm[512];
            for (int k = 3; k <= 5; k += 2) {
                snprintf(nm, sizeof nm, "%.*simplicit_filter.%d.freq", (int)(p - t->name), t->name, k);
                hd_stw_add(w, nm, t->dtype, t->ndim, t->shape, t->data);
            }
        }
    }
    cr_assert_eq(hd_stw_close(w), 0);
    hd_st_close(src);
    hd_model *m = open_ok(d);
    cr_assert_eq(hd_model_n_params(m), TINY_PARAMS);
    hd_model_close(m);
    rm_rf(d);
    free(d);
}

Test(model, single_file_with_metadata_config)
{
    char *d = tmp_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/bundle.safetensors", d);
    hd_st *src = hd_st_open(TINY "/model.safetensors");
    hd_stw *w = hd_stw_open(path);
    for (int i = 0; i < hd_st_count(src); i++) {
        const hd_tensor_info *t = hd_st_get(src, i);
        hd_stw_add(w, t->name, t->dtype, t->ndim, t->shape, t->data);
    }
    json_t *cfg = json_load_file(TINY "/config.json", 0, NULL);
    char *cs = json_dumps(cfg, JSON_COMPACT);
    hd_stw_meta(w, "config", cs);
    free(cs);
    json_decref(cfg);
    cr_assert_eq(hd_stw_close(w), 0);
    hd_st_close(src);
    hd_model *m = open_ok(path);
    cr_assert_eq(m->family, HD_FAM_HYENA);
    cr_assert_null(m->config_path);
    hd_model_close(m);
    rm_rf(d);
    free(d);
}

Test(model, missing_unknown_and_misshapen_tensors)
{
    char *d = variant(drop_in_proj, NULL, NULL);
    open_fails(d, "layers.1.mixer.in_proj.weight");
    rm_rf(d);
    free(d);
    d = variant(NULL, "hyena.backbone.layers.0.mixer.mystery.weight", NULL);
    open_fails(d, "unknown tensor 'hyena.backbone.layers.0.mixer.mystery.weight'");
    rm_rf(d);
    free(d);
    /* a config that disagrees with the stored shapes */
    char *cfg = NULL;
    json_t *j = json_load_file(TINY "/config.json", 0, NULL);
    json_object_set_new(j, "d_inner", json_integer(256));
    cfg = json_dumps(j, 0);
    json_decref(j);
    d = variant(NULL, NULL, cfg);
    open_fails(d, "has shape [512, 128], expected [256, 128]");
    free(cfg);
    rm_rf(d);
    free(d);
}

Test(model, absurd_configs)
{
    const char *bad[][2] = {
        {"{\"model_type\":\"hyenadna\",\"d_model\":0,\"n_layer\":2,\"max_seq_len\":1026}", "d_model"},
        {"{\"model_type\":\"hyenadna\",\"d_model\":128,\"n_layer\":1000000000,\"max_seq_len\":1026}", "n_layer"},
        {"{\"model_type\":\"hyenadna\",\"d_model\":128,\"n_layer\":2}", "max_seq_len"},
        {"{\"model_type\":\"hyenadna\",\"d_model\":\"x\",\"n_layer\":2,\"max_seq_len\":1026}", "d_model"},
        {"{\"model_type\":\"hyenadna\",\"d_model\":128,\"n_layer\":2,\"max_seq_len\":1026,\"hyena_order\":1}", "hyena_order"},
        {"{\"model_type\":\"hyenadna\",\"d_model\":128,\"n_layer\":2,\"max_seq_len\":1026,\"hyena_order\":17}", "hyena_order"},
        {"not json", "invalid JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *d = variant(NULL, NULL, bad[i][0]);
        open_fails(d, bad[i][1]);
        rm_rf(d);
        free(d);
    }
}

/* A fixture with one config value replaced (key "a.b" is b inside a; value: JSON text), its weights linked */
static char *config_variant(const char *fixture, const char *key, const char *value)
{
    char *d = tmp_dir(), p[512], q[512];
    snprintf(p, sizeof p, "%s/model.safetensors", fixture);
    snprintf(q, sizeof q, "%s/model.safetensors", d);
    cr_assert_eq(symlink(p, q), 0);
    snprintf(p, sizeof p, "%s/config.json", fixture);
    json_error_t e;
    json_t *root = json_load_file(p, 0, &e), *o = root, *v = json_loads(value, JSON_DECODE_ANY, &e);
    cr_assert(root && v, "%s", e.text);
    char k[128];
    snprintf(k, sizeof k, "%s", key);
    char *dot = strchr(k, '.');
    if (dot) *dot = 0, o = json_object_get(root, k);
    json_object_set_new(o, dot ? dot + 1 : k, v);
    snprintf(q, sizeof q, "%s/config.json", d);
    cr_assert_eq(json_dump_file(root, q, 0), 0);
    json_decref(root);
    return d;
}

/* docs/models.md §1: a config value outside what we implement is refused with the key named, never silently
 * ignored -- a boolean or string of the wrong type included (it used to fall back on the default) */
Test(model, config_values_of_the_wrong_type)
{
    struct { const char *fixture, *key, *value, *err; } bad[] = {
        {TESTDATA("caduceus-ph"), "bidirectional", "\"false\"", "config key 'bidirectional' is not a boolean"},
        {TESTDATA("caduceus-ps-nofused"), "fused_add_norm", "\"false\"", "config key 'fused_add_norm' is not a boolean"},
        {TESTDATA("caduceus-ps"), "rcps", "\"true\"", "config key 'rcps' is not a boolean"},
        {TESTDATA("caduceus-ph"), "rms_norm", "[]", "config key 'rms_norm' is not a boolean"},
        {TESTDATA("caduceus-ph"), "bidirectional_strategy", "5", "config key 'bidirectional_strategy' is not a string"},
        {TESTDATA("caduceus-ph"), "ssm_cfg", "\"x\"", "config key 'ssm_cfg' is not an object"},
        {TESTDATA("caduceus-ph"), "ssm_cfg.bias", "\"true\"", "ssm_cfg.bias is not a boolean"},
        {TESTDATA("caduceus-ph"), "bidirectional_strategy", "\"concat\"",
         "bidirectional_strategy 'concat' is not one of 'add', 'ew_multiply'"},
        {TESTDATA("caduceus-ph"), "bidirectional_weight_tie", "\"false\"", "config key 'bidirectional_weight_tie' is not a boolean"},
        {TESTDATA("caduceus-ph"), "ssm_cfg.expand", "\"2\"", "ssm_cfg.expand must be a positive number"},
        {TESTDATA("caduceus-ph"), "ssm_cfg.expand", "0.01", "ssm_cfg.expand must be a positive number with int(expand·d_model)"},
        /* the options the config turns on need their tensors (docs/models.md §4.1) */
        {TESTDATA("caduceus-ph"), "ssm_cfg.bias", "true", "layers.0.mixer.mamba_fwd.in_proj.bias"},
        {TESTDATA("caduceus-ph"), "rms_norm", "false", "tensor 'norm_f.bias' is missing"},
        {TESTDATA("caduceus-ph"), "bidirectional_weight_tie", "false", "layers.0.mixer.mamba_rev.in_proj.weight"},
        {TESTDATA("caduceus-ph"), "norm_epsilon", "-1", "config key 'norm_epsilon' = -1 is out of range [0, 1]"},
        {TESTDATA("xlstm-mlstm"), "config.m_position_embeddings", "\"true\"", "'m_position_embeddings' is not a boolean"},
        {TESTDATA("xlstm-mlstm"), "config.bidirectional", "1.0", "config key 'bidirectional' is not a boolean"},
        {TESTDATA("xlstm-mlstm"), "config.m_backend", "{}", "config key 'm_backend' is not a string"},
        {TESTDATA("hyenadna-tiny"), "layer_norm_epsilon", "1e300", "'layer_norm_epsilon' = 1e+300 is out of range [0, 1]"},
        {TESTDATA("hyenadna-tiny"), "d_model", "1e300", "config key 'd_model' = 1e+300 is out of range [1, 65536]"},
        {TESTDATA("hyenadna-tiny"), "d_model", "128.5", "config key 'd_model' is not an integer"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *d = config_variant(bad[i].fixture, bad[i].key, bad[i].value);
        open_fails(d, bad[i].err);
        rm_rf(d);
        free(d);
    }
    /* what stays accepted: integers as booleans, integral reals as integers, null as missing */
    struct { const char *fixture, *key, *value; } good[] = {
        {TESTDATA("caduceus-ph"), "bidirectional", "1"},
        {TESTDATA("caduceus-ph"), "bidirectional_strategy", "null"},
        {TESTDATA("caduceus-ph"), "ssm_cfg", "null"},
        {TESTDATA("caduceus-ph"), "ssm_cfg.expand", "2.0"},
        {TESTDATA("caduceus-ph"), "bidirectional_strategy", "\"ew_multiply\""},
        {TESTDATA("hyenadna-tiny"), "d_model", "128.0"},
        {TESTDATA("hyenadna-tiny"), "layer_norm_epsilon", "0"},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        char *d = config_variant(good[i].fixture, good[i].key, good[i].value);
        hd_model_close(open_ok(d));
        rm_rf(d);
        free(d);
    }
}

Test(model, missing_files)
{
    open_fails("/nonexistent/model", "/nonexistent/model");
    char *d = tmp_dir();
    open_fails(d, "no weights in the model directory (model.safetensors, pytorch_model.bin, or a PyTorch checkpoint");
    rm_rf(d);
    free(d);
}

/* the learned parameters of a fixture: every float tensor but the fixed buffers */
static size_t count_stored(const char *dir)
{
    char p[512];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    hd_st *st = hd_st_open(p);
    size_t n = 0;
    for (int i = 0; i < hd_st_count(st); i++) {
        const hd_tensor_info *t = hd_st_get(st, i);
        if (t->dtype == HD_I64 || strstr(t->name, "pos_emb.") || strstr(t->name, "modulation.deltas")) continue;
        n += t->numel;
    }
    hd_st_close(st);
    return n;
}

Test(model, every_fixture_family)
{
    struct { const char *dir; hd_family fam; int d, n, rc; } sets[] = {
        {TESTDATA("hyenadna-tiny"), HD_FAM_HYENA, 128, 2, 0},
        {TESTDATA("caduceus-ph"), HD_FAM_CADUCEUS, 64, 2, 0},
        {TESTDATA("caduceus-ps"), HD_FAM_CADUCEUS, 64, 2, 1},
        {TESTDATA("xlstm-mlstm"), HD_FAM_XLSTM, 64, 2, 0},
        {TESTDATA("xlstm-slstm"), HD_FAM_XLSTM, 64, 2, 0},
    };
    for (size_t i = 0; i < sizeof sets / sizeof *sets; i++) {
        hd_model *m = open_ok(sets[i].dir);
        cr_assert_eq(m->family, sets[i].fam, "%s", sets[i].dir);
        cr_assert_eq(m->d_model, sets[i].d, "%s", sets[i].dir);
        cr_assert_eq(m->n_layer, sets[i].n, "%s", sets[i].dir);
        cr_assert_eq(m->rc_equivariant, sets[i].rc, "%s", sets[i].dir);
        cr_assert_eq(hd_model_n_params(m), count_stored(sets[i].dir), "%s", sets[i].dir);
        hd_model_close(m);
    }
}

/* A request beyond the memory available is refused before allocating, with the size it needs. */
Test(model, alloc_refuses_terabytes)
{
    void *p = hd_alloc((size_t)1 << 42, "a 4 TiB test buffer");
    cr_assert_null(p);
    cr_assert(strstr(hd_error(), "a 4 TiB test buffer needs"), "error: %s", hd_error());
}

/* The BF16 load scan (hd_bf16_first_nonfinite) over a tensor big enough to be cut into hd_load_threads() parts:
 * a buffer of finite values (the largest finite, subnormals and signed zeros among them) gives n; one NaN, Inf
 * or -Inf at the first element, in the middle of a part, on either side of each part boundary or at the last
 * element gives exactly its index, for 1 (one pass), 2, 3 and 5 threads. */
#define SCAN_N ((size_t)9000001)   /* above the 8M threshold; not a multiple of 2, 3 or 5: a shorter last part */

static uint16_t *scan_buffer(void)
{
    static const uint16_t finite[] = {0x3f80, 0x7f7f, 0xff7f, 0x0001, 0x8001, 0x0000, 0x8000, 0xbf80, 0x007f};
    uint16_t *v = malloc(SCAN_N * sizeof *v);
    cr_assert_not_null(v);
    for (size_t i = 0; i < SCAN_N; i++) v[i] = (i % 97) < sizeof finite / sizeof *finite ? finite[i % 97] : 0x3f80;
    return v;
}

Test(model, bf16_scan_threaded_parts)
{
    static const uint16_t bad[] = {0x7fc1, 0x7f80, 0xff80};
    static const int threads[] = {1, 2, 3, 5};
    uint16_t *v = scan_buffer();
    for (size_t ti = 0; ti < sizeof threads / sizeof *threads; ti++) {
        size_t T = (size_t)threads[ti], per = (SCAN_N + T - 1) / T, pos[32], np = 0;
        hd_set_load_threads((int)T);
        cr_assert_eq(hd_bf16_first_nonfinite(v, SCAN_N), SCAN_N, "%zu threads: all finite", T);
        pos[np++] = 0;
        pos[np++] = SCAN_N - 1;
        for (size_t t = 0; t < T; t++) {
            size_t a = t * per, b = a + per < SCAN_N ? a + per : SCAN_N;
            pos[np++] = a + (b - a) / 2;   /* the middle of part t */
            if (t) { pos[np++] = a - 1; pos[np++] = a; }   /* the last of part t-1, the first of part t */
        }
        for (size_t p = 0; p < np; p++)
            for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
                uint16_t keep = v[pos[p]];
                v[pos[p]] = bad[k];
                cr_assert_eq(hd_bf16_first_nonfinite(v, SCAN_N), pos[p], "%zu threads, 0x%04x at %zu: got %zu", T,
                             bad[k], pos[p], hd_bf16_first_nonfinite(v, SCAN_N));
                v[pos[p]] = keep;
            }
        cr_assert_eq(hd_bf16_first_nonfinite(v, SCAN_N), SCAN_N, "%zu threads: restored", T);
    }
    hd_set_load_threads(0);   /* the default: every core */
    free(v);
}

/* Two non-finite values in different parts: the lower index is returned whichever part's thread finds its own
 * first (the later part's value placed at its first element, the earlier one's at its part's last). */
Test(model, bf16_scan_lower_index_wins)
{
    static const int threads[] = {1, 2, 3, 5};
    uint16_t *v = scan_buffer();
    for (size_t ti = 0; ti < sizeof threads / sizeof *threads; ti++) {
        size_t T = (size_t)threads[ti], per = (SCAN_N + T - 1) / T;
        hd_set_load_threads((int)T);
        /* parts 0 and T-1 (one part for T = 1): the middle of the first, the last element */
        size_t lo = per / 2, hi = SCAN_N - 1;
        v[lo] = 0x7fc1; v[hi] = 0x7f80;
        cr_assert_eq(hd_bf16_first_nonfinite(v, SCAN_N), lo, "%zu threads: %zu and %zu", T, lo, hi);
        v[lo] = v[hi] = 0x3f80;
        if (T >= 3) {   /* the end of part 1 and the start of part 2, and part 1's below part 2's */
            lo = 2 * per - 1; hi = 2 * per;
            v[hi] = 0xff80; v[lo] = 0x7fc1;
            cr_assert_eq(hd_bf16_first_nonfinite(v, SCAN_N), lo, "%zu threads: %zu and %zu", T, lo, hi);
            v[lo] = 0x3f80;
            lo = per + 1;
            v[lo] = 0x7f80;
            cr_assert_eq(hd_bf16_first_nonfinite(v, SCAN_N), lo, "%zu threads: %zu and %zu", T, lo, hi);
            v[lo] = v[hi] = 0x3f80;
        }
        cr_assert_eq(hd_bf16_first_nonfinite(v, SCAN_N), SCAN_N, "%zu threads: restored", T);
    }
    hd_set_load_threads(0);
    free(v);
}
