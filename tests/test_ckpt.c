/* test_ckpt.c -- PyTorch checkpoint reader: fixtures of tests/data/ckpt (made by tests/make_ckpt_fixtures.py)
 * converted bit for bit, HyenaDNA forward from a .ckpt, and hostile zips/pickles built here. */
#include "testutil.h"
#include "backend.h"
#include "ckpt.h"
#include "model.h"
#include "pickle.h"
#include "seqio.h"
#include "tokenizer.h"

#include <jansson.h>
#include <unistd.h>
#include <zlib.h>

#define CK TESTDATA("ckpt")

static const hd_ckpt_tensor *ck_find(const hd_ckpt *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->t[i].name, name)) return &c->t[i];
    return NULL;
}

static int has_report(const hd_ckpt *c, const char *prefix)
{
    for (int i = 0; i < c->n_report; i++)
        if (!strncmp(c->report[i], prefix, strlen(prefix))) return 1;
    return 0;
}

/* every tensor of the fixture file is in the checkpoint (name mapped), same dtype, shape and bytes */
static void same_tensors(const hd_ckpt *c, const char *fixture, const char *from, const char *to, const char *head)
{
    hd_st *st = hd_st_open(fixture);
    cr_assert_not_null(st, "%s", hd_error());
    cr_assert_eq(c->n, hd_st_count(st), "%s: %d tensors kept, the fixture has %d", c->path, c->n, hd_st_count(st));
    for (int i = 0; i < hd_st_count(st); i++) {
        const hd_tensor_info *e = hd_st_get(st, i);
        char name[512];
        if (head && !strcmp(e->name, "lm_head.weight")) snprintf(name, sizeof name, "%s", head);
        else if (from && !strncmp(e->name, from, strlen(from))) snprintf(name, sizeof name, "%s%s", to, e->name + strlen(from));
        else snprintf(name, sizeof name, "%s", e->name);
        const hd_ckpt_tensor *t = ck_find(c, name);
        cr_assert_not_null(t, "%s: tensor %s missing", c->path, name);
        cr_assert_eq(t->dtype, e->dtype, "%s: dtype", name);
        cr_assert_eq(t->ndim, e->ndim, "%s: ndim", name);
        for (int d = 0; d < e->ndim; d++) cr_assert_eq(t->shape[d], e->shape[d], "%s: dim %d", name, d);
        cr_assert_eq(t->nbytes, e->end - e->begin, "%s: size", name);
        cr_assert(t->nbytes == 0 || !memcmp(t->data, e->data, t->nbytes), "%s: bytes differ", name);
    }
    hd_st_close(st);
}

Test(ckpt, lightning_hyena_bit_exact)
{
    hd_ckpt *c = hd_ckpt_open(CK "/hyenadna-lightning.ckpt");
    cr_assert_not_null(c, "%s", hd_error());
    cr_assert_str_eq(c->source, "state_dict");
    same_tensors(c, TESTDATA("hyenadna-tiny/model.safetensors"), "hyena.backbone.", "model.backbone.", "model.lm_head.weight");
    cr_assert(has_report(c, "aliased\tmodel.backbone.layers.0.mixer.filter_fn.implicit_filter.3.freq\t"));
    cr_assert(has_report(c, "aliased\tmodel.backbone.layers.1.mixer.filter_fn.implicit_filter.5.freq\t"));
    cr_assert(has_report(c, "dropped\ttrain_torchmetrics.perplexity.count\t"));
    cr_assert(has_report(c, "dropped\toptimizer_states\tlist with 12 tensors"));
    /* the config from the omegaconf hyper_parameters */
    cr_assert_not_null(c->config_json);
    cr_assert_str_eq(c->config_from, "hyper_parameters.model");
    json_t *j = json_loads(c->config_json, 0, NULL);
    cr_assert_not_null(j);
    cr_assert_eq(json_integer_value(json_object_get(j, "d_model")), 128);
    cr_assert_eq(json_integer_value(json_object_get(j, "d_inner")), 512);
    json_t *layer = json_object_get(j, "layer");
    cr_assert_str_eq(json_string_value(json_object_get(layer, "_name_")), "hyena");
    cr_assert_eq(json_integer_value(json_object_get(layer, "l_max")), 1026);
    cr_assert(json_is_true(json_object_get(layer, "modulate")));
    cr_assert_float_eq(json_real_value(json_object_get(j, "embed_dropout")), 0.1, 1e-15);
    json_decref(j);
    hd_ckpt_close(c);
}

Test(ckpt, lightning_xlstm_bit_exact_and_config)
{
    hd_ckpt *c = hd_ckpt_open(CK "/xlstm-lightning.ckpt");
    cr_assert_not_null(c, "%s", hd_error());
    same_tensors(c, TESTDATA("xlstm-mlstm/model.safetensors"), NULL, NULL, NULL);
    json_t *j = json_loads(c->config_json, 0, NULL), *want = json_load_file(TESTDATA("xlstm-mlstm/config.json"), 0, NULL);
    cr_assert(j && want);
    cr_assert_str_eq(json_string_value(json_object_get(j, "_name_")), "dna_xlstm");
    cr_assert(json_equal(json_object_get(j, "config"), json_object_get(want, "config")),
              "config differs: %s", c->config_json);
    json_decref(j);
    json_decref(want);
    hd_ckpt_close(c);
}

Test(ckpt, plain_state_dict)
{
    hd_ckpt *c = hd_ckpt_open(CK "/xlstm-plain.bin");
    cr_assert_not_null(c, "%s", hd_error());
    cr_assert_str_eq(c->source, "(top level)");
    cr_assert_null(c->config_json);
    same_tensors(c, TESTDATA("xlstm-mlstm/model.safetensors"), NULL, NULL, NULL);
    hd_ckpt_close(c);
}

Test(ckpt, dtypes_strides_offsets)
{
    hd_ckpt *c = hd_ckpt_open(CK "/misc.pt");
    cr_assert_not_null(c, "%s", hd_error());
    cr_assert_str_eq(c->source, "model");
    same_tensors(c, CK "/misc-expected.safetensors", NULL, NULL, NULL);
    cr_assert(has_report(c, "dropped\toptimizer\tdict with 1 tensor"));
    cr_assert(has_report(c, "dropped\targs\ttypes.SimpleNamespace object"));
    /* the image round-trips through the safetensors reader */
    size_t n;
    void *img = hd_ckpt_image(c, "{\"x\": 1}", &n);
    cr_assert_not_null(img, "%s", hd_error());
    hd_st *st = hd_st_from_buffer(img, n, "image");
    cr_assert_not_null(st, "%s", hd_error());
    cr_assert_str_eq(hd_st_meta(st, "config"), "{\"x\": 1}");
    cr_assert_eq(hd_st_count(st), c->n);
    const hd_tensor_info *t = hd_st_find(st, "w_t");
    cr_assert(t && t->ndim == 2 && t->shape[0] == 6 && t->shape[1] == 4);
    cr_assert(!memcmp(t->data, ck_find(c, "w_t")->data, t->end - t->begin));
    hd_st_close(st);
    free(img);
    hd_ckpt_close(c);
}

/* a model directory holding a PyTorch checkpoint (a clone of a Lightning or -hf repository without
 * model.safetensors): the checkpoint is the weights, as in a pulled snapshot; a stray .safetensors output there is
 * not taken, optimizer state is passed over, two checkpoints of one kind are refused by name */
static void put_file(const char *dir, const char *name, const char *from)
{
    char cmd[4200];
    if (from) snprintf(cmd, sizeof cmd, "cp '%s' '%s/%s'", from, dir, name);
    else snprintf(cmd, sizeof cmd, "printf x > '%s/%s'", dir, name);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

Test(ckpt, model_directory_with_a_checkpoint)
{
    static const struct { const char *file, *src; } kinds[] = {
        {"weights.ckpt", CK "/hyenadna-lightning.ckpt"},
        {"pytorch_model.bin", CK "/xlstm-plain.bin"},
    };
    for (int k = 0; k < 2; k++) {
        char *d = tmp_dir();
        put_file(d, kinds[k].file, kinds[k].src);
        if (k == 1) put_file(d, "config.json", TESTDATA("xlstm-mlstm/config.json"));
        put_file(d, "out.safetensors", NULL);    /* an output written beside the weights: not a candidate */
        put_file(d, "optimizer.pt", NULL);       /* training state: passed over */
        hd_model *dm = hd_model_open(d), *fm = hd_model_open_with(kinds[k].src, k ? TESTDATA("xlstm-mlstm/config.json") : NULL);
        cr_assert_not_null(dm, "%s: %s", d, hd_error());
        cr_assert_not_null(fm, "%s", hd_error());
        cr_assert_eq(dm->family, k ? HD_FAM_XLSTM : HD_FAM_HYENA);
        cr_assert(strstr(dm->weights_path, kinds[k].file), "%s", dm->weights_path);
        cr_assert_eq(hd_st_count(dm->st), hd_st_count(fm->st));
        for (int i = 0; i < hd_st_count(fm->st); i++) {
            const hd_tensor_info *a = hd_st_get(fm->st, i), *b = hd_st_find(dm->st, a->name);
            cr_assert(b && b->end - b->begin == a->end - a->begin && !memcmp(a->data, b->data, a->end - a->begin), "%s", a->name);
        }
        hd_model_close(dm);
        hd_model_close(fm);
        /* a second checkpoint: of the same kind, ambiguous; pytorch_model.bin goes before another .bin */
        put_file(d, k ? "other_model.bin" : "last.ckpt", kinds[k].src);
        if (k == 0) {
            cr_assert_null(hd_model_open(d));
            cr_assert(strstr(hd_error(), "2 weight files of one kind") && strstr(hd_error(), "give one with -m FILE"), "%s", hd_error());
        } else {
            cr_assert_not_null(dm = hd_model_open(d), "%s", hd_error());
            cr_assert(strstr(dm->weights_path, "/pytorch_model.bin"), "%s", dm->weights_path);
            hd_model_close(dm);
        }
        rm_rf(d);
        free(d);
    }
}

/* a sharded PyTorch checkpoint (transformers' pytorch_model.bin.index.json and its shards) is refused naming the
 * index and the shard count, opened by its directory, its index or a shard (docs/models.md §1); a checkpoint the
 * index does not name opens, and a model.safetensors in the directory goes first */
Test(ckpt, sharded_pytorch_checkpoint_refused)
{
    char *d = tmp_dir(), path[700], idx[700];
    put_file(d, "config.json", TESTDATA("xlstm-mlstm/config.json"));
    put_file(d, "pytorch_model-00001-of-00002.bin", CK "/xlstm-plain.bin");
    put_file(d, "pytorch_model-00002-of-00002.bin", CK "/xlstm-plain.bin");
    snprintf(idx, sizeof idx, "%s/pytorch_model.bin.index.json", d);
    FILE *f = fopen(idx, "w");
    cr_assert_not_null(f);
    fputs("{\"metadata\": {\"total_size\": 1}, \"weight_map\": {\"a\": \"pytorch_model-00001-of-00002.bin\","
          " \"b\": \"pytorch_model-00002-of-00002.bin\", \"c\": \"pytorch_model-00002-of-00002.bin\"}}", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/pytorch_model-00002-of-00002.bin", d);
    const char *locs[] = {d, idx, path};
    for (int k = 0; k < 3; k++) {
        cr_assert_null(hd_model_open(locs[k]), "%s opened", locs[k]);
        cr_assert(strstr(hd_error(), "sharded PyTorch checkpoint") && strstr(hd_error(), "2 shards") &&
                  strstr(hd_error(), "pytorch_model.bin.index.json"), "%s: %s", locs[k], hd_error());
        if (k == 2) cr_assert(strstr(hd_error(), path) && strstr(hd_error(), "one of the"), "%s", hd_error());
    }
    cr_assert_null(hd_ckpt_open(path));   /* convert's reader too */
    cr_assert(strstr(hd_error(), "one of the 2 shards"), "%s", hd_error());
    put_file(d, "other.bin", CK "/xlstm-plain.bin");   /* not named by the index */
    snprintf(path, sizeof path, "%s/other.bin", d);
    hd_model *m = hd_model_open(path);
    cr_assert_not_null(m, "%s", hd_error());
    hd_model_close(m);
    cr_assert_eq(unlink(path), 0);
    put_file(d, "model.safetensors", TESTDATA("xlstm-mlstm/model.safetensors"));
    cr_assert_not_null(m = hd_model_open(d), "%s", hd_error());
    cr_assert(strstr(m->weights_path, "model.safetensors"), "%s", m->weights_path);
    hd_model_close(m);
    rm_rf(d);
    free(d);
}

/* a checkpoint without a config of its own finds model_config.json beside it, or in the run folder of the
 * DNA-xLSTM layout RUN/model_config.json + RUN/checkpoints/test/loss.ckpt; no further up, and not outside a
 * checkpoints folder */
Test(ckpt, config_in_the_run_folder)
{
    char *d = tmp_dir(), sub[600], path[700];
    snprintf(sub, sizeof sub, "%s/checkpoints/test", d);
    char cmd[2000];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", sub);
    cr_assert_eq(system(cmd), 0);
    put_file(sub, "loss.ckpt", CK "/xlstm-plain.bin");
    snprintf(path, sizeof path, "%s/loss.ckpt", sub);
    cr_assert_null(hd_model_open(path));   /* no config anywhere yet */
    cr_assert(strstr(hd_error(), "no config"), "%s", hd_error());
    put_file(d, "model_config.json", TESTDATA("xlstm-mlstm/config.json"));
    hd_model *m = hd_model_open(path);
    cr_assert_not_null(m, "%s", hd_error());
    cr_assert_eq(m->family, HD_FAM_XLSTM);
    cr_assert(strstr(m->config_note, "run folder"), "%s", m->config_note);
    hd_model_close(m);
    /* beside it wins */
    put_file(sub, "model_config.json", TESTDATA("xlstm-mlstm/config.json"));
    cr_assert_not_null(m = hd_model_open(path), "%s", hd_error());
    cr_assert(strstr(m->config_note, "model_config.json beside the weights"), "%s", m->config_note);
    hd_model_close(m);
    /* a folder that is not checkpoints/: nothing is looked for above it */
    snprintf(sub, sizeof sub, "%s/elsewhere", d);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", sub);
    cr_assert_eq(system(cmd), 0);
    put_file(sub, "loss.ckpt", CK "/xlstm-plain.bin");
    snprintf(path, sizeof path, "%s/loss.ckpt", sub);
    cr_assert_null(hd_model_open(path));
    rm_rf(d);
    free(d);
}

/* forward on the HyenaDNA checkpoint opened directly (converted in memory) passes the fixture */
Test(ckpt, hyena_forward_from_ckpt)
{
    hd_model *m = hd_model_open(CK "/hyenadna-lightning.ckpt");
    cr_assert_not_null(m, "%s", hd_error());
    cr_assert_eq(m->family, HD_FAM_HYENA);
    cr_assert_eq(m->max_len, 1026);
    hd_backend *be = hd_backend_cpu_new(2);
    hd_st *exp = hd_st_open(TESTDATA("hyenadna-tiny/expected.safetensors"));
    cr_assert(be && exp);
    hd_fasta *fa = hd_fasta_open(TESTDATA("hyenadna-tiny/input.fa"));
    cr_assert_not_null(fa);
    hd_seqrec rec;
    int nrec = 0;
    double worst = 0;
    while (hd_fasta_next(fa, &rec) > 0) {
        size_t L = rec.len;
        int32_t *ids = malloc(L * sizeof *ids);
        cr_assert_eq(hd_tokenize(rec.seq, L, HD_SPECIAL_NONE, ids, rec.name), (long)L);
        float *hid = malloc(L * 128 * sizeof(float)), *lg = malloc(L * 16 * sizeof(float));
        hd_fwd f = {.hidden = hid, .logits = lg, .layer = -1};
        cr_assert_eq(hd_model_forward(m, be, ids, L, &f), 0, "%s", hd_error());
        char nm[128];
        size_t n;
        snprintf(nm, sizeof nm, "hidden.%s", rec.name);
        float *e = st_f32(exp, nm, &n);
        cr_assert_eq(n, L * 128);
        double mx, rel = rel_frob(hid, e, n, &mx);
        cr_assert(rel <= 1e-4, "%s: rel_F %.3g", nm, rel);
        if (rel > worst) worst = rel;
        free(e);
        snprintf(nm, sizeof nm, "logits.%s", rec.name);
        e = st_f32(exp, nm, &n);
        rel = rel_frob(lg, e, n, &mx);
        cr_assert(rel <= 1e-4, "%s: rel_F %.3g", nm, rel);
        if (rel > worst) worst = rel;
        free(e);
        free(ids), free(hid), free(lg);
        nrec++;
    }
    cr_assert_eq(nrec, 8);
    cr_log_info("hyenadna-lightning.ckpt forward: worst rel_F %.3g over 8 records", worst);
    hd_fasta_close(fa);
    hd_st_close(exp);
    hd_backend_free(be);
    hd_model_close(m);
}

/* ---------------------------------------------------------------- hand-built archives */

typedef struct { unsigned char *p; size_t n, cap; } buf;

static void put(buf *b, const void *d, size_t n)
{
    if (!n) return;
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void put8(buf *b, unsigned v) { unsigned char c = (unsigned char)v; put(b, &c, 1); }
static void put16(buf *b, unsigned v) { put8(b, v & 255); put8(b, v >> 8 & 255); }
static void put32(buf *b, uint32_t v) { put16(b, v & 0xFFFF); put16(b, v >> 16); }
static void put64(buf *b, uint64_t v) { put32(b, (uint32_t)v); put32(b, (uint32_t)(v >> 32)); }
static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }

/* pickle pieces */
static void pk_str(buf *b, const char *s) { put8(b, 'X'); put32(b, (uint32_t)strlen(s)); puts_(b, s); }
static void pk_global(buf *b, const char *m, const char *n) { put8(b, 'c'); puts_(b, m); put8(b, '\n'); puts_(b, n); put8(b, '\n'); }
static void pk_int(buf *b, int v) { put8(b, 'J'); put32(b, (uint32_t)v); }

/* _rebuild_tensor_v2((storage, type, key, 'cpu', numel), offset, (d0, d1), (s0, s1), False, OrderedDict()) */
static void pk_tensor(buf *b, const char *type, const char *key, int numel, int off, int d0, int d1, int s0, int s1)
{
    pk_global(b, "torch._utils", "_rebuild_tensor_v2");
    put8(b, '(');
    put8(b, '(');
    pk_str(b, "storage");
    pk_global(b, "torch", type);
    pk_str(b, key);
    pk_str(b, "cpu");
    pk_int(b, numel);
    put8(b, 't');
    put8(b, 'Q');
    pk_int(b, off);
    pk_int(b, d0), pk_int(b, d1), put8(b, 0x86);
    pk_int(b, s0), pk_int(b, s1), put8(b, 0x86);
    put8(b, 0x89);
    pk_global(b, "collections", "OrderedDict");
    put8(b, ')');
    put8(b, 'R');
    put8(b, 't');
    put8(b, 'R');
}

/* the pair KEY: {'w': tensor [2, 3] over storage '0' of 6 floats} of the dict being built */
static void pk_weights_entry(buf *b, const char *key)
{
    pk_str(b, key);
    put8(b, '}');
    pk_str(b, "w");
    pk_tensor(b, "FloatStorage", "0", 6, 0, 2, 3, 3, 1);
    put8(b, 's');
    put8(b, 's');
}

/* {'state_dict': {'w': tensor [2, 3] over storage '0' of 6 floats, <extra>}} with `extra` inserted raw
 * as the value of key 'extra' when not NULL */
static buf state_pickle(const char *extra_key, void (*extra)(buf *))
{
    buf b = {0};
    put8(&b, 0x80), put8(&b, 2);
    put8(&b, '}');
    pk_str(&b, "state_dict");
    put8(&b, '}');
    pk_str(&b, "w");
    pk_tensor(&b, "FloatStorage", "0", 6, 0, 2, 3, 3, 1);
    put8(&b, 's');
    if (extra) {
        pk_str(&b, extra_key);
        extra(&b);
        put8(&b, 's');
    }
    put8(&b, 's');
    put8(&b, '.');
    return b;
}

typedef struct { const char *name; const void *data; size_t n; int deflate; } zin;

/* a zip with stored (or raw-deflated) entries; zip64: ZIP64 extra fields, ZIP64 EOCD and locator */
static buf make_zip(const zin *e, int ne, int zip64)
{
    buf z = {0};
    uint64_t *loff = calloc(ne, sizeof *loff), *csz = calloc(ne, sizeof *csz);
    unsigned char **cdata = calloc(ne, sizeof *cdata);
    for (int i = 0; i < ne; i++) {
        if (e[i].deflate) {
            z_stream s = {0};
            deflateInit2(&s, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
            cdata[i] = malloc(deflateBound(&s, e[i].n) + 16);
            s.next_in = (Bytef *)e[i].data, s.avail_in = (uInt)e[i].n;
            s.next_out = cdata[i], s.avail_out = (uInt)deflateBound(&s, e[i].n) + 16;
            deflate(&s, Z_FINISH);
            csz[i] = s.total_out;
            deflateEnd(&s);
        } else {
            cdata[i] = malloc(e[i].n + 1);
            if (e[i].n) memcpy(cdata[i], e[i].data, e[i].n);
            csz[i] = e[i].n;
        }
        loff[i] = z.n;
        put32(&z, 0x04034b50), put16(&z, zip64 ? 45 : 20), put16(&z, 0), put16(&z, e[i].deflate ? 8 : 0);
        put16(&z, 0), put16(&z, 0), put32(&z, (uint32_t)crc32(0, e[i].data, (uInt)e[i].n));
        put32(&z, zip64 ? 0xFFFFFFFF : (uint32_t)csz[i]), put32(&z, zip64 ? 0xFFFFFFFF : (uint32_t)e[i].n);
        put16(&z, (unsigned)strlen(e[i].name)), put16(&z, zip64 ? 20 : 0);
        puts_(&z, e[i].name);
        if (zip64) put16(&z, 1), put16(&z, 16), put64(&z, e[i].n), put64(&z, csz[i]);
        put(&z, cdata[i], csz[i]);
    }
    uint64_t cd = z.n;
    for (int i = 0; i < ne; i++) {
        put32(&z, 0x02014b50), put16(&z, 45), put16(&z, zip64 ? 45 : 20), put16(&z, 0), put16(&z, e[i].deflate ? 8 : 0);
        put16(&z, 0), put16(&z, 0), put32(&z, (uint32_t)crc32(0, e[i].data, (uInt)e[i].n));
        put32(&z, zip64 ? 0xFFFFFFFF : (uint32_t)csz[i]), put32(&z, zip64 ? 0xFFFFFFFF : (uint32_t)e[i].n);
        put16(&z, (unsigned)strlen(e[i].name)), put16(&z, zip64 ? 28 : 0), put16(&z, 0);
        put16(&z, 0), put16(&z, 0), put32(&z, 0), put32(&z, zip64 ? 0xFFFFFFFF : (uint32_t)loff[i]);
        puts_(&z, e[i].name);
        if (zip64) put16(&z, 1), put16(&z, 24), put64(&z, e[i].n), put64(&z, csz[i]), put64(&z, loff[i]);
    }
    uint64_t cdsize = z.n - cd;
    if (zip64) {
        uint64_t z64 = z.n;
        put32(&z, 0x06064b50), put64(&z, 44), put16(&z, 45), put16(&z, 45), put32(&z, 0), put32(&z, 0);
        put64(&z, (uint64_t)ne), put64(&z, (uint64_t)ne), put64(&z, cdsize), put64(&z, cd);
        put32(&z, 0x07064b50), put32(&z, 0), put64(&z, z64), put32(&z, 1);
    }
    put32(&z, 0x06054b50), put16(&z, 0), put16(&z, 0);
    put16(&z, zip64 ? 0xFFFF : (unsigned)ne), put16(&z, zip64 ? 0xFFFF : (unsigned)ne);
    put32(&z, zip64 ? 0xFFFFFFFF : (uint32_t)cdsize), put32(&z, zip64 ? 0xFFFFFFFF : (uint32_t)cd), put16(&z, 0);
    for (int i = 0; i < ne; i++) free(cdata[i]);
    free(cdata), free(loff), free(csz);
    return z;
}

static const float W6[6] = {1, 2, 3, 4, 5, 6};

static buf ckpt_zip(const buf *pkl, int zip64, int deflate)
{
    zin e[3] = {{"archive/data.pkl", pkl->p, pkl->n, deflate}, {"archive/data/0", W6, sizeof W6, deflate},
                {"archive/version", "3\n", 2, 0}};
    return make_zip(e, 3, zip64);
}

static hd_ckpt *open_buf(const buf *z) { return hd_ckpt_open_buffer(z->p, z->n, "hostile.ckpt", NULL); }

static void expect_error(const buf *z, const char *needle)
{
    hd_ckpt *c = open_buf(z);
    cr_assert_null(c, "a hostile archive was accepted (expected an error with '%s')", needle);
    cr_assert(strstr(hd_error(), "hostile.ckpt"), "the error does not name the file: %s", hd_error());
    cr_assert(strstr(hd_error(), needle), "error '%s' lacks '%s'", hd_error(), needle);
}

Test(ckpt, handmade_zip_stored_zip64_deflated)
{
    buf p = state_pickle(NULL, NULL);
    for (int mode = 0; mode < 3; mode++) {
        buf z = ckpt_zip(&p, mode == 1, mode == 2);
        hd_ckpt *c = open_buf(&z);
        cr_assert_not_null(c, "mode %d: %s", mode, hd_error());
        cr_assert_eq(c->n, 1);
        cr_assert_eq(c->t[0].shape[0], 2);
        cr_assert_eq(c->t[0].shape[1], 3);
        cr_assert(!memcmp(c->t[0].data, W6, sizeof W6), "mode %d: data", mode);
        hd_ckpt_close(c);
        free(z.p);
    }
    free(p.p);
}

/* the training-loop convention of PyTorch's tutorials: {'epoch': 3, 'model_state_dict': {...},
 * 'optimizer_state_dict': {}} */
static buf tutorial_pickle(const char *key)
{
    buf b = {0};
    put8(&b, 0x80), put8(&b, 2);
    put8(&b, '}');
    pk_str(&b, "epoch");
    pk_int(&b, 3);
    put8(&b, 's');
    pk_weights_entry(&b, key);
    pk_str(&b, "optimizer_state_dict");
    put8(&b, '}');
    put8(&b, 's');
    put8(&b, '.');
    return b;
}

Test(ckpt, model_state_dict_entry)
{
    buf p = tutorial_pickle("model_state_dict");
    buf z = ckpt_zip(&p, 0, 0);
    hd_ckpt *c = open_buf(&z);
    cr_assert_not_null(c, "%s", hd_error());
    cr_assert_str_eq(c->source, "model_state_dict");
    cr_assert_eq(c->n, 1);
    cr_assert(!memcmp(c->t[0].data, W6, sizeof W6));
    cr_assert(has_report(c, "dropped\tepoch"));
    hd_ckpt_close(c);
    free(z.p), free(p.p);
    p = tutorial_pickle("weights_of_the_model");   /* an unknown key: refused, the keys listed */
    z = ckpt_zip(&p, 0, 0);
    expect_error(&z, "'weights_of_the_model'");
    free(z.p), free(p.p);
}

static const char *MARKER = "/tmp/hyenadna-test-pwned";

static void evil_reduce(buf *b)   /* os.system('touch MARKER') */
{
    pk_global(b, "os", "system");
    put8(b, '(');
    char cmd[128];
    snprintf(cmd, sizeof cmd, "touch %s", MARKER);
    pk_str(b, cmd);
    put8(b, 't');
    put8(b, 'R');
}

Test(ckpt, hostile_reduce_is_inert)
{
    unlink(MARKER);
    /* at the top level: an error naming the global */
    buf p = {0};
    put8(&p, 0x80), put8(&p, 2);
    pk_global(&p, "posix", "system");
    pk_str(&p, "touch /tmp/hyenadna-test-pwned");
    put8(&p, 0x85), put8(&p, 'R'), put8(&p, '.');
    buf z = ckpt_zip(&p, 0, 0);
    expect_error(&z, "posix.system object");
    free(z.p), free(p.p);
    /* inside the state dict: dropped, the rest converts */
    p = state_pickle("evil", evil_reduce);
    z = ckpt_zip(&p, 0, 0);
    hd_ckpt *c = open_buf(&z);
    cr_assert_not_null(c, "%s", hd_error());
    cr_assert_eq(c->n, 1);
    cr_assert(has_report(c, "dropped\tevil\tos.system object, not a tensor"));
    hd_ckpt_close(c);
    cr_assert_neq(access(MARKER, F_OK), 0, "the pickle ran a command");
    free(z.p), free(p.p);
}

Test(ckpt, hostile_nesting_memo_stack)
{
    /* 100000 MARKs */
    buf p = {0};
    put8(&p, 0x80), put8(&p, 2);
    for (int i = 0; i < 100000; i++) put8(&p, '(');
    put8(&p, '.');
    buf z = ckpt_zip(&p, 0, 0);
    expect_error(&z, "nesting deeper than");
    free(z.p), free(p.p);
    /* a list nested 200000 deep as hyper_parameters: bounded walkers, an error, no stack overflow */
    p = (buf){0};
    put8(&p, 0x80), put8(&p, 2);
    put8(&p, '}');
    pk_weights_entry(&p, "state_dict");
    pk_str(&p, "hyper_parameters");
    for (int i = 0; i < 200000; i++) put8(&p, ']');
    for (int i = 0; i < 199999; i++) put8(&p, 'a');
    put8(&p, 's');
    put8(&p, '.');
    z = ckpt_zip(&p, 0, 0);
    expect_error(&z, "nested deeper than");
    free(z.p), free(p.p);
    /* huge memo index, unset memo index */
    p = (buf){0};
    put8(&p, 0x80), put8(&p, 2), put8(&p, '}'), put8(&p, 'r'), put32(&p, 0xFFFFFFF0u), put8(&p, '.');
    z = ckpt_zip(&p, 0, 0);
    expect_error(&z, "memo index 4294967280 out of range");
    free(z.p), free(p.p);
    p = (buf){0};
    put8(&p, 0x80), put8(&p, 2), put8(&p, 'j'), put32(&p, 7), put8(&p, '.');
    z = ckpt_zip(&p, 0, 0);
    expect_error(&z, "memo index 7 was never set");
    free(z.p), free(p.p);
    /* stack underflow, unknown opcode, extension codes */
    const char *bad[][2] = {{"\x80\x02R.", "stack underflow"}, {"\x80\x02\xff.", "unknown opcode"},
                            {"\x80\x02\x82\x01.", "extension registry"}, {"\x80\x02)Q.", "persistent id"}};
    for (int i = 0; i < 4; i++) {
        p = (buf){0};
        put(&p, bad[i][0], strlen(bad[i][0]));
        z = ckpt_zip(&p, 0, 0);
        expect_error(&z, bad[i][1]);
        free(z.p), free(p.p);
    }
}

Test(ckpt, hostile_allocation_limit)
{
    buf p = state_pickle(NULL, NULL);
    buf z = ckpt_zip(&p, 0, 0);
    hd_pk_limits lim = hd_pk_default_limits;
    lim.max_alloc = 256;
    hd_ckpt *c = hd_ckpt_open_buffer(z.p, z.n, "hostile.ckpt", &lim);
    cr_assert_null(c);
    cr_assert(strstr(hd_error(), "limit"), "%s", hd_error());
    lim = hd_pk_default_limits;
    lim.max_stack = 4;
    c = hd_ckpt_open_buffer(z.p, z.n, "hostile.ckpt", &lim);
    cr_assert_null(c);
    cr_assert(strstr(hd_error(), "on the stack (limit)"), "%s", hd_error());
    free(z.p), free(p.p);
}

Test(ckpt, hostile_truncations)
{
    buf p = state_pickle(NULL, NULL);
    /* every truncation of the pickle stream is an error */
    for (size_t n = 0; n < p.n; n++) {
        buf q = {0};
        put(&q, p.p, n);
        buf z = ckpt_zip(&q, 0, 0);
        hd_ckpt *c = open_buf(&z);
        cr_assert_null(c, "pickle truncated to %zu of %zu bytes was accepted", n, p.n);
        cr_assert(strstr(hd_error(), "hostile.ckpt"), "%s", hd_error());
        free(z.p), free(q.p);
    }
    /* every truncation of the archive is an error */
    buf z = ckpt_zip(&p, 1, 0);
    for (size_t n = 0; n < z.n; n++) {
        hd_ckpt *c = hd_ckpt_open_buffer(z.p, n, "hostile.ckpt", NULL);
        cr_assert_null(c, "archive truncated to %zu of %zu bytes was accepted", n, z.n);
    }
    free(z.p), free(p.p);
}

/* offsets of the fields of the single-entry archives built below */
static size_t cd_start(const buf *z) { return (size_t)(z->p[z->n - 6] | z->p[z->n - 5] << 8 | z->p[z->n - 4] << 16 | (size_t)z->p[z->n - 3] << 24); }
static void set32(buf *z, size_t at, uint32_t v) { for (int i = 0; i < 4; i++) z->p[at + i] = (unsigned char)(v >> (8 * i)); }

Test(ckpt, hostile_zip_structure)
{
    buf p = state_pickle(NULL, NULL);
    buf z0 = ckpt_zip(&p, 0, 0);
    size_t cd = cd_start(&z0);
    buf z = {0};
#define FRESH() (free(z.p), z = (buf){0}, put(&z, z0.p, z0.n))
    /* the first entry's local header offset points outside the file */
    FRESH();
    set32(&z, cd + 42, 0x7FFFFFF0u);
    expect_error(&z, "no local header at offset");
    /* ... or at another entry's header */
    FRESH();
    size_t second = 0;
    for (size_t i = 4; i + 4 < z.n; i++)
        if (!memcmp(z.p + i, "PK\3\4", 4)) { second = i; break; }
    set32(&z, cd + 42, (uint32_t)second);
    expect_error(&z, "names another entry");
    /* sizes that run past the data area */
    FRESH();
    set32(&z, cd + 20, 0x10000000u);
    set32(&z, cd + 24, 0x10000000u);
    expect_error(&z, "run outside");
    /* the central directory offset and size lie */
    FRESH();
    set32(&z, z.n - 6, 0xFFFFFF00u);
    expect_error(&z, "lies outside the file");
    FRESH();
    z.p[z.n - 12] = 0xFF, z.p[z.n - 11] = 0x7F;   /* 32767 entries */
    expect_error(&z, "entries in a central directory");
    /* ZIP64 values without a ZIP64 record */
    FRESH();
    set32(&z, z.n - 6, 0xFFFFFFFFu);
    expect_error(&z, "ZIP64");
    /* no end record at all */
    FRESH();
    z.n -= 22;
    expect_error(&z, "end-of-central-directory");
    /* an encrypted entry */
    FRESH();
    z.p[cd + 8] |= 1;
    expect_error(&z, "encrypted");
    /* storage entry shorter than its element count; tensor beyond its storage; missing storage;
     * an unsupported storage type used by a kept tensor */
    free(z.p);
    zin e[2] = {{"archive/data.pkl", p.p, p.n, 0}, {"archive/data/0", W6, 20, 0}};
    z = make_zip(e, 2, 0);
    expect_error(&z, "fewer than its 6 elements");
    free(z.p);
    e[1].name = "archive/data/1";
    e[1].n = sizeof W6;
    z = make_zip(e, 2, 0);
    expect_error(&z, "storage entry 'archive/data/0' is missing");
    free(z.p);
    buf q = {0};
    put8(&q, 0x80), put8(&q, 2), put8(&q, '}'), pk_str(&q, "w");
    pk_tensor(&q, "FloatStorage", "0", 6, 2, 2, 3, 3, 1);
    put8(&q, 's'), put8(&q, '.');
    z = ckpt_zip(&q, 0, 0);
    expect_error(&z, "reaches element 7 of storage '0' of 6 elements");
    free(z.p), free(q.p);
    q = (buf){0};
    put8(&q, 0x80), put8(&q, 2), put8(&q, '}'), pk_str(&q, "w");
    pk_tensor(&q, "DoubleStorage", "0", 3, 0, 1, 3, 3, 1);
    put8(&q, 's'), put8(&q, '.');
    z = ckpt_zip(&q, 0, 0);
    expect_error(&z, "tensor 'w' is stored as torch.DoubleStorage");
    free(z.p), free(q.p);
    /* a zip without data.pkl */
    zin only[1] = {{"archive/data/0", W6, sizeof W6, 0}};
    z = make_zip(only, 1, 0);
    expect_error(&z, "data.pkl");
    free(z.p);
    free(z0.p), free(p.p);
#undef FRESH
}

Test(ckpt, legacy_and_foreign_files)
{
    char *d = tmp_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/old.pt", d);
    FILE *fp = fopen(path, "wb");
    fwrite("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 1, 15, fp);
    fclose(fp);
    cr_assert_eq(hd_ckpt_sniff(path), 2);
    cr_assert_null(hd_ckpt_open(path));
    cr_assert(strstr(hd_error(), "legacy") && strstr(hd_error(), "old.pt"), "%s", hd_error());
    hd_model *m = hd_model_open(path);
    cr_assert_null(m);
    cr_assert(strstr(hd_error(), "legacy"), "%s", hd_error());
    cr_assert_eq(hd_ckpt_sniff(TESTDATA("hyenadna-tiny/model.safetensors")), 0);
    cr_assert_eq(hd_ckpt_sniff(CK "/misc.pt"), 1);
    rm_rf(d);
    free(d);
}

Test(ckpt, expanded_view_and_reserved_name)
{
    /* shape [2, 3] with strides (0, 1) over storage '0' from element 3: rows [4, 5, 6] twice */
    buf q = {0};
    put8(&q, 0x80), put8(&q, 2), put8(&q, '}'), pk_str(&q, "e");
    pk_tensor(&q, "FloatStorage", "0", 6, 3, 2, 3, 0, 1);
    put8(&q, 's'), put8(&q, '.');
    buf z = ckpt_zip(&q, 0, 0);
    hd_ckpt *c = open_buf(&z);
    cr_assert_not_null(c, "%s", hd_error());
    const float want[6] = {4, 5, 6, 4, 5, 6};
    cr_assert_eq(c->t[0].nbytes, sizeof want);
    cr_assert(!memcmp(c->t[0].data, want, sizeof want));
    hd_ckpt_close(c);
    free(z.p), free(q.p);
    q = (buf){0};
    put8(&q, 0x80), put8(&q, 2), put8(&q, '}'), pk_str(&q, "__metadata__");
    pk_tensor(&q, "FloatStorage", "0", 6, 0, 2, 3, 3, 1);
    put8(&q, 's'), put8(&q, '.');
    z = ckpt_zip(&q, 0, 0);
    expect_error(&z, "'__metadata__'");
    free(z.p), free(q.p);
}

/* fuzz finding (fuzz_ckpt, input "(\x90I"): a MARK then a sequence opcode before anything was ever pushed
 * formed &stack[k] from a NULL stack (undefined behaviour flagged by UBSan).  Each such stream is now read
 * (an empty sequence) or refused with an error naming the stream, without touching the NULL stack. */
Test(ckpt, fuzz_empty_stack_sequences)
{
    static const char *const bad[] = {"(\x90I", "(e", "(\x90", "(b"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        hd_pkobj *root = NULL;
        hd_pk *pk = hd_pk_load(bad[i], strlen(bad[i]), "fuzz.pkl", NULL, &root);
        cr_assert_null(pk, "stream %zu accepted", i);
        cr_assert(strstr(hd_error(), "fuzz.pkl"), "error does not name the stream: %s", hd_error());
    }
    static const char *const good[] = {"(l.", "(t."};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        hd_pkobj *root = NULL;
        hd_pk *pk = hd_pk_load(good[i], strlen(good[i]), "fuzz.pkl", NULL, &root);
        cr_assert_not_null(pk, "%s", hd_error());
        cr_assert_eq(root->type, i ? HD_PK_TUPLE : HD_PK_LIST);
        hd_pk_free(pk);
    }
}
