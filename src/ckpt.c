/* ckpt.c -- PyTorch zip checkpoints: zip container, state-dict extraction, config recovery (see ckpt.h).
 *
 * Zip layout (APPNOTE 6.3): end of central directory record (EOCD, "PK\5\6") in the last 22 + 65535
 * bytes; for ZIP64 a locator ("PK\6\7") right before it points at the ZIP64 EOCD ("PK\6\6"); the
 * central directory ("PK\1\2" records) gives each entry's sizes and the offset of its local header
 * ("PK\3\4"), after which (30 + name + extra bytes) the data starts.  Every offset and size read from
 * the file is checked against the file before use. */
#define _GNU_SOURCE
#include "ckpt.h"
#include "output.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define JSON_MAX_DEPTH 64
#define WALK_MAX_DEPTH 256

typedef struct {
    char *name;
    uint64_t data_off, size, csize;
    int method;
    void *inflated;
} zentry;

typedef struct {
    const unsigned char *base;
    size_t size;
    int mapped;
    zentry *e;
    size_t ne;
    char *prefix;          /* "<archive>/" */
    hd_pk *pk;
    hd_pkobj *root;
    char *pkl_name;
    void **owned;
    int n_owned;
    int walk_gen;
} ckpt_priv;

/* ---------------------------------------------------------------- little helpers */

static uint16_t rd16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const unsigned char *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* [off, off+len) inside [0, lim)? */
static int in_range(uint64_t off, uint64_t len, uint64_t lim) { return off <= lim && len <= lim - off; }

static int add_report(hd_ckpt *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add_report(hd_ckpt *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) s = NULL;
    va_end(ap);
    char **r = s ? realloc(c->report, (c->n_report + 1) * sizeof *r) : NULL;
    if (!r) { free(s); hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    c->report = r;
    c->report[c->n_report++] = s;
    return 0;
}

static void *own(ckpt_priv *p, void *x)
{
    if (!x) return NULL;
    void **o = realloc(p->owned, (p->n_owned + 1) * sizeof *o);
    if (!o) { free(x); hd_set_error(HD_EMODEL, "out of memory"); return NULL; }
    p->owned = o;
    p->owned[p->n_owned++] = x;
    return x;
}

/* ---------------------------------------------------------------- zip */

static int cmp_entry(const void *a, const void *b) { return strcmp(((const zentry *)a)->name, ((const zentry *)b)->name); }

static int zip_parse(hd_ckpt *c, ckpt_priv *p)
{
    const unsigned char *B = p->base;
    size_t n = p->size;
    const char *f = c->path;
    if (n < 22) { hd_set_error(HD_EMODEL, "%s: not a zip archive (%zu bytes)", f, n); return -1; }
    /* the EOCD: the last "PK\5\6" whose comment ends at the end of the file */
    size_t eocd = SIZE_MAX;
    size_t lo = n - 22 > 65535 ? n - 22 - 65535 : 0;
    for (size_t i = n - 22 + 1; i-- > lo;)
        if (rd32(B + i) == 0x06054b50 && i + 22 + rd16(B + i + 20) == n) { eocd = i; break; }
    if (eocd == SIZE_MAX) { hd_set_error(HD_EMODEL, "%s: no zip end-of-central-directory record (truncated or not a zip)", f); return -1; }
    uint64_t disk = rd16(B + eocd + 4), cd_disk = rd16(B + eocd + 6), nent = rd16(B + eocd + 10);
    uint64_t cd_size = rd32(B + eocd + 12), cd_off = rd32(B + eocd + 16);
    uint64_t cd_end = eocd;
    if (eocd >= 20 && rd32(B + eocd - 20) == 0x07064b50) {   /* ZIP64 locator */
        uint64_t z = rd64(B + eocd - 20 + 8);
        if (!in_range(z, 56, eocd - 20) || rd32(B + z) != 0x06064b50) {
            hd_set_error(HD_EMODEL, "%s: the ZIP64 locator points at no ZIP64 end-of-central-directory record", f);
            return -1;
        }
        disk = rd32(B + z + 16);
        cd_disk = rd32(B + z + 20);
        nent = rd64(B + z + 32);
        cd_size = rd64(B + z + 40);
        cd_off = rd64(B + z + 48);
        cd_end = z;
    } else if (nent == 0xFFFF || cd_size == 0xFFFFFFFF || cd_off == 0xFFFFFFFF) {
        hd_set_error(HD_EMODEL, "%s: zip needs ZIP64 records but has none", f);
        return -1;
    }
    if (disk || cd_disk) { hd_set_error(HD_EMODEL, "%s: multi-volume zip archives are not supported", f); return -1; }
    if (!in_range(cd_off, cd_size, cd_end)) {
        hd_set_error(HD_EMODEL, "%s: the zip central directory (%" PRIu64 " bytes at offset %" PRIu64 ") lies outside the file",
                     f, cd_size, cd_off);
        return -1;
    }
    if (nent > cd_size / 46) {
        hd_set_error(HD_EMODEL, "%s: the zip claims %" PRIu64 " entries in a central directory of %" PRIu64 " bytes", f, nent, cd_size);
        return -1;
    }
    p->e = calloc(nent ? nent : 1, sizeof *p->e);
    if (!p->e) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    uint64_t q = cd_off, qend = cd_off + cd_size;
    for (uint64_t k = 0; k < nent; k++) {
        if (!in_range(q, 46, qend) || rd32(B + q) != 0x02014b50) {
            hd_set_error(HD_EMODEL, "%s: zip central directory entry %" PRIu64 " is damaged", f, k + 1);
            return -1;
        }
        const unsigned char *h = B + q;
        unsigned flags = rd16(h + 8), method = rd16(h + 10);
        uint64_t csize = rd32(h + 20), usize = rd32(h + 24), loff = rd32(h + 42);
        unsigned nlen = rd16(h + 28), xlen = rd16(h + 30), clen = rd16(h + 32);
        if (!in_range(q + 46, (uint64_t)nlen + xlen + clen, qend)) {
            hd_set_error(HD_EMODEL, "%s: zip central directory entry %" PRIu64 " runs past the directory", f, k + 1);
            return -1;
        }
        zentry *e = &p->e[p->ne];
        if (!(e->name = strndup((const char *)h + 46, nlen))) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
        p->ne++;
        if (strlen(e->name) != nlen) { hd_set_error(HD_EMODEL, "%s: zip entry name with a NUL byte", f); return -1; }
        /* ZIP64 extended information: the 64-bit values of the fields that hold 0xFFFFFFFF, in order */
        const unsigned char *x = h + 46 + nlen, *xe = x + xlen;
        while (xe - x >= 4) {
            unsigned id = rd16(x), sz = rd16(x + 2);
            if ((size_t)(xe - x - 4) < sz) break;
            if (id == 0x0001) {
                const unsigned char *v = x + 4, *ve = v + sz;
                uint64_t *fields[3] = {&usize, &csize, &loff};
                for (int i = 0; i < 3; i++)
                    if (*fields[i] == 0xFFFFFFFF) {
                        if (ve - v < 8) { hd_set_error(HD_EMODEL, "%s: zip entry '%s': short ZIP64 field", f, e->name); return -1; }
                        *fields[i] = rd64(v);
                        v += 8;
                    }
            }
            x += 4 + sz;
        }
        if (flags & 1) { hd_set_error(HD_EMODEL, "%s: zip entry '%s' is encrypted", f, e->name); return -1; }
        /* the local header must be where the directory says, name the same entry, and its data must
         * end before the central directory */
        if (!in_range(loff, 30, cd_off) || rd32(B + loff) != 0x04034b50) {
            hd_set_error(HD_EMODEL, "%s: zip entry '%s': no local header at offset %" PRIu64 " (the central directory is wrong)",
                         f, e->name, loff);
            return -1;
        }
        unsigned lnlen = rd16(B + loff + 26), lxlen = rd16(B + loff + 28);
        if (!in_range(loff + 30, (uint64_t)lnlen + lxlen, cd_off) || lnlen != nlen ||
            memcmp(B + loff + 30, e->name, nlen)) {
            hd_set_error(HD_EMODEL, "%s: zip entry '%s': the local header at offset %" PRIu64 " names another entry (the central directory is wrong)",
                         f, e->name, loff);
            return -1;
        }
        e->data_off = loff + 30 + lnlen + lxlen;
        e->size = usize;
        e->csize = csize;
        e->method = (int)method;
        if (!in_range(e->data_off, csize, cd_off)) {
            hd_set_error(HD_EMODEL, "%s: zip entry '%s': %" PRIu64 " bytes at offset %" PRIu64 " run outside the file's data area",
                         f, e->name, csize, e->data_off);
            return -1;
        }
        if (method == 0 && csize != usize) {
            hd_set_error(HD_EMODEL, "%s: zip entry '%s' is stored with different sizes (%" PRIu64 " and %" PRIu64 ")", f, e->name, csize, usize);
            return -1;
        }
        q += 46 + (uint64_t)nlen + xlen + clen;
    }
    qsort(p->e, p->ne, sizeof *p->e, cmp_entry);
    for (size_t i = 1; i < p->ne; i++)
        if (!strcmp(p->e[i].name, p->e[i - 1].name)) {
            hd_set_error(HD_EMODEL, "%s: zip entry '%s' appears twice", f, p->e[i].name);
            return -1;
        }
    return 0;
}

static zentry *zip_find(ckpt_priv *p, const char *name)
{
    zentry key = {.name = (char *)name};
    return bsearch(&key, p->e, p->ne, sizeof *p->e, cmp_entry);
}

/* the bytes of an entry (stored: in place; deflated: inflated once) */
static const void *zip_data(hd_ckpt *c, ckpt_priv *p, zentry *e)
{
    if (e->method == 0) return p->base + e->data_off;
    if (e->method != 8) {
        hd_set_error(HD_EMODEL, "%s: zip entry '%s' uses compression method %d (only stored and deflated are supported)",
                     c->path, e->name, e->method);
        return NULL;
    }
    if (e->inflated) return e->inflated;
    if (e->size > SIZE_MAX - 64) { hd_set_error(HD_EMODEL, "%s: zip entry '%s' is too large", c->path, e->name); return NULL; }
    unsigned char *out = hd_alloc((size_t)e->size, e->name);
    if (!out) return NULL;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) { free(out); hd_set_error(HD_EMODEL, "zlib initialisation failed"); return NULL; }
    const unsigned char *in = p->base + e->data_off;
    uint64_t in_left = e->csize, out_done = 0;
    int rc = Z_OK;
    while (rc == Z_OK) {
        uInt ci = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
        uInt co = e->size - out_done > (1u << 30) ? (1u << 30) : (uInt)(e->size - out_done);
        zs.next_in = (Bytef *)in;
        zs.avail_in = ci;
        zs.next_out = out + out_done;
        zs.avail_out = co;
        rc = inflate(&zs, Z_NO_FLUSH);
        in += ci - zs.avail_in;
        in_left -= ci - zs.avail_in;
        out_done += co - zs.avail_out;
        if (rc == Z_OK && ci == zs.avail_in && co == zs.avail_out) rc = Z_BUF_ERROR;   /* no progress */
    }
    inflateEnd(&zs);
    if (rc != Z_STREAM_END || out_done != e->size) {
        free(out);
        hd_set_error(HD_EMODEL, "%s: zip entry '%s': corrupt deflate data", c->path, e->name);
        return NULL;
    }
    e->inflated = out;
    return out;
}

/* ---------------------------------------------------------------- walking the pickled objects */

/* number of tensors reachable from o (each object counted once) */
static size_t count_tensors(ckpt_priv *p, hd_pkobj *o, int depth)
{
    if (!o || o->mark == p->walk_gen || depth > WALK_MAX_DEPTH) return 0;
    o->mark = p->walk_gen;
    size_t n = 0;
    switch (o->type) {
    case HD_PK_TENSOR: return 1;
    case HD_PK_TUPLE: case HD_PK_LIST:
        for (size_t i = 0; i < o->u.seq.n; i++) n += count_tensors(p, o->u.seq.v[i], depth + 1);
        return n;
    case HD_PK_DICT:
        for (size_t i = 0; i < o->u.dict.n; i++) n += count_tensors(p, o->u.dict.v[i], depth + 1);
        return n;
    case HD_PK_OBJECT:
        return count_tensors(p, o->u.obj.args, depth + 1) + count_tensors(p, o->u.obj.state, depth + 1) +
               count_tensors(p, o->u.obj.items, depth + 1) + count_tensors(p, o->u.obj.list, depth + 1);
    default: return 0;
    }
}

static size_t tensors_in(ckpt_priv *p, hd_pkobj *o)
{
    p->walk_gen++;
    return count_tensors(p, o, 0);
}

/* hyper-parameters to JSON: dicts, lists and scalars as they are; omegaconf containers and nodes through
 * their pickled state (_content, _val); other objects through their items or __dict__ state. */
static json_t *to_json(hd_ckpt *c, hd_pkobj *o, int depth, int *err)
{
    if (*err || !o) return json_null();
    if (depth > JSON_MAX_DEPTH) {
        hd_set_error(HD_EMODEL, "%s: hyper_parameters nested deeper than %d levels", c->path, JSON_MAX_DEPTH);
        *err = 1;
        return json_null();
    }
    if (o->mark < 0) return json_null();   /* a cycle (omegaconf _parent links are never followed, but be safe) */
    json_t *r = NULL;
    int saved = o->mark;
    o->mark = -1;
    switch (o->type) {
    case HD_PK_BOOL: r = json_boolean(o->u.i); break;
    case HD_PK_INT: r = json_integer((json_int_t)o->u.i); break;
    case HD_PK_FLOAT: r = isfinite(o->u.f) ? json_real(o->u.f) : json_null(); break;
    case HD_PK_STR: r = json_stringn(o->u.str.s, o->u.str.n); break;
    case HD_PK_TUPLE: case HD_PK_LIST:
        r = json_array();
        for (size_t i = 0; r && i < o->u.seq.n; i++) json_array_append_new(r, to_json(c, o->u.seq.v[i], depth + 1, err));
        break;
    case HD_PK_DICT:
        r = json_object();
        for (size_t i = 0; r && i < o->u.dict.n; i++) {
            hd_pkobj *k = o->u.dict.k[i];
            char num[32];
            const char *ks = NULL;
            if (k->type == HD_PK_STR && strlen(k->u.str.s) == k->u.str.n) ks = k->u.str.s;
            else if (k->type == HD_PK_INT) { snprintf(num, sizeof num, "%" PRId64, k->u.i); ks = num; }
            if (ks) json_object_set_new(r, ks, to_json(c, o->u.dict.v[i], depth + 1, err));
        }
        break;
    case HD_PK_OBJECT: {
        hd_pkobj *st = o->u.obj.state;
        /* BUILD state may be (dict, slotstate) */
        if (st && st->type == HD_PK_TUPLE && st->u.seq.n == 2 && st->u.seq.v[0]->type == HD_PK_DICT) st = st->u.seq.v[0];
        hd_pkobj *content = hd_pk_dict_get(st, "_content");
        hd_pkobj *val = hd_pk_dict_get(st, "_val");
        if (content) {
            if (content->type == HD_PK_STR) r = json_null();   /* "???" (MISSING) or an interpolation */
            else r = to_json(c, content, depth + 1, err);
        } else if (val) r = to_json(c, val, depth + 1, err);
        else if (o->u.obj.items) r = to_json(c, o->u.obj.items, depth + 1, err);
        else if (o->u.obj.list) r = to_json(c, o->u.obj.list, depth + 1, err);
        else if (st && st->type == HD_PK_DICT) r = to_json(c, st, depth + 1, err);
        break;
    }
    default: break;
    }
    o->mark = saved;
    return r ? r : json_null();
}

static int find_config(hd_ckpt *c, ckpt_priv *p)
{
    hd_pkobj *hp = hd_pk_dict_get(p->root, "hyper_parameters");
    if (!hp) return 0;
    int err = 0;
    json_t *j = to_json(c, hp, 0, &err);
    if (err) { json_decref(j); return -1; }
    json_t *cfg = NULL;
    json_t *model = json_object_get(j, "model");
    if (json_is_object(model) && (json_object_get(model, "d_model") || json_is_object(json_object_get(model, "config")))) {
        cfg = model;
        c->config_from = "hyper_parameters.model";
    } else if (json_object_get(j, "d_model") || json_is_object(json_object_get(j, "config"))) {
        cfg = j;
        c->config_from = "hyper_parameters";
    }
    if (cfg) {
        c->config_json = json_dumps(cfg, JSON_INDENT(4) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
        if (!c->config_json) { json_decref(j); hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    }
    json_decref(j);
    return 0;
}

/* ---------------------------------------------------------------- the state dict */

static int n_dict_tensors(const hd_pkobj *d)
{
    int n = 0;
    for (size_t i = 0; d && d->type == HD_PK_DICT && i < d->u.dict.n; i++) n += d->u.dict.v[i]->type == HD_PK_TENSOR;
    return n;
}

static int cmp_names(const void *a, const void *b)
{
    const hd_ckpt_tensor *x = *(hd_ckpt_tensor *const *)a, *y = *(hd_ckpt_tensor *const *)b;
    return strcmp(x->name, y->name);
}

/* resolve a tensor's data: storage entry, dtype, bounds, contiguity */
static int tensor_data(hd_ckpt *c, ckpt_priv *p, const char *name, hd_pkobj *t, hd_ckpt_tensor *out)
{
    hd_pkobj *s = t->u.tensor.storage;
    if (s->u.storage.dtype < 0) {
        hd_set_error(HD_EMODEL, "%s: tensor '%s' is stored as torch.%s, which is not supported (Float, Half, BFloat16, Long, Int)",
                     c->path, name, s->u.storage.type);
        return -1;
    }
    char *en = hd_sprintf("%sdata/%s", p->prefix, s->u.storage.key);
    if (!en) return -1;
    zentry *e = zip_find(p, en);
    if (!e) {
        hd_set_error(HD_EMODEL, "%s: tensor '%s': storage entry '%s' is missing from the archive", c->path, name, en);
        free(en);
        return -1;
    }
    free(en);
    size_t es = s->u.storage.elsize, need;
    if (hd_mul((size_t)s->u.storage.numel, es, &need) || e->size < need) {
        hd_set_error(HD_EMODEL, "%s: tensor '%s': storage '%s' holds %" PRIu64 " bytes, fewer than its %" PRId64 " elements",
                     c->path, name, e->name, e->size, s->u.storage.numel);
        return -1;
    }
    const unsigned char *base = zip_data(c, p, e);
    if (!base) return -1;
    out->dtype = (hd_dtype)s->u.storage.dtype;
    out->ndim = t->u.tensor.ndim;
    out->numel = 1;
    for (int d = 0; d < out->ndim; d++) {
        out->shape[d] = t->u.tensor.shape[d];
        out->numel *= (size_t)out->shape[d];   /* bounded by the storage size (checked by the reader) */
    }
    if (hd_mul(out->numel, es, &out->nbytes)) {   /* stride-0 (expanded) views can be large */
        hd_set_error(HD_EMODEL, "%s: tensor '%s' is too large", c->path, name);
        return -1;
    }
    const unsigned char *src = base + (size_t)t->u.tensor.offset * es;
    int contiguous = 1;
    int64_t want = 1;
    for (int d = out->ndim - 1; d >= 0; d--) {
        if (out->shape[d] != 1 && t->u.tensor.stride[d] != want) contiguous = 0;
        want *= out->shape[d];
    }
    if (contiguous || out->numel == 0) { out->data = src; return 0; }
    /* copy with the given strides into row-major order */
    unsigned char *dst = own(p, hd_alloc(out->nbytes, name));
    if (!dst) return -1;
    int64_t idx[HD_MAX_DIMS] = {0};
    for (size_t i = 0; i < out->numel; i++) {
        size_t off = 0;
        for (int d = 0; d < out->ndim; d++) off += (size_t)idx[d] * (size_t)t->u.tensor.stride[d];
        memcpy(dst + i * es, src + off * es, es);
        for (int d = out->ndim - 1; d >= 0; d--) {
            if (++idx[d] < out->shape[d]) break;
            idx[d] = 0;
        }
    }
    out->data = dst;
    return 0;
}

/* ---------------------------------------------------------------- _extra_state (BytesIO) entries
 *
 * Transformer Engine modules save their FP8 scaling state as `_extra_state`: an io.BytesIO pickled as
 * GLOBAL _io.BytesIO, NEWOBJ, BUILD with the state (_codecs.encode(<latin-1 str>, 'latin1'), position, dict)
 * (protocol 2; protocol 3+ stores the bytes directly).  The bytes are a nested torch.save archive: None for a
 * module without FP8 state, else a dict with scale_fwd, scale_inv_fwd, amax_history_fwd, ... and
 * extra_fp8_variables {fp8_max_fwd, ...} (docs/models.md §6.2).  Nothing in them is used for computing; they
 * are read so that a model loader can tell an FP8-trained checkpoint (§6.1). */

static hd_ckpt *ckpt_new(const char *name);
static int open_archive(hd_ckpt *c, ckpt_priv *p, const hd_pk_limits *lim);

static int is_bytesio(const hd_pkobj *v)
{
    return v->type == HD_PK_OBJECT && hd_pk_is_global(v->u.obj.cls, "_io", "BytesIO");
}

static const char *extra_kind_name(int kind)
{
    switch (kind) {
    case HD_XS_NONE: return "no extra state";
    case HD_XS_FP8: return "Transformer Engine FP8 state";
    case HD_XS_OTHER: return "extra state";
    default: return "unreadable extra state";
    }
}

/* The bytes of a pickled BytesIO: BYTES, or _codecs.encode(str, 'latin1') (each code point one byte). */
static unsigned char *bytesio_bytes(ckpt_priv *p, const hd_pkobj *v, size_t *n)
{
    const hd_pkobj *st = v->u.obj.state, *val;
    if (!st || (st->type != HD_PK_TUPLE && st->type != HD_PK_LIST) || st->u.seq.n < 1) return NULL;
    val = st->u.seq.v[0];
    if (val->type == HD_PK_BYTES) {
        unsigned char *b = own(p, malloc(val->u.str.n ? val->u.str.n : 1));
        if (!b) return NULL;
        memcpy(b, val->u.str.s, val->u.str.n);
        *n = val->u.str.n;
        return b;
    }
    if (val->type != HD_PK_OBJECT || !hd_pk_is_global(val->u.obj.cls, "_codecs", "encode") || !val->u.obj.args ||
        val->u.obj.args->u.seq.n != 2 || val->u.obj.args->u.seq.v[0]->type != HD_PK_STR ||
        val->u.obj.args->u.seq.v[1]->type != HD_PK_STR || strcmp(val->u.obj.args->u.seq.v[1]->u.str.s, "latin1"))
        return NULL;
    const unsigned char *s = (const unsigned char *)val->u.obj.args->u.seq.v[0]->u.str.s;
    size_t sl = val->u.obj.args->u.seq.v[0]->u.str.n, k = 0;
    unsigned char *b = own(p, malloc(sl ? sl : 1));
    if (!b) return NULL;
    for (size_t i = 0; i < sl;) {   /* UTF-8 of code points 0..255: one or two bytes each */
        if (s[i] < 0x80) b[k++] = s[i++];
        else if ((s[i] & 0xE0) == 0xC0 && i + 1 < sl && (s[i] & 0x1F) <= 3 && (s[i + 1] & 0xC0) == 0x80) {
            b[k++] = (unsigned char)(((s[i] & 0x1F) << 6) | (s[i + 1] & 0x3F));
            i += 2;
        } else return NULL;
    }
    *n = k;
    return b;
}

static int tensor_data(hd_ckpt *c, ckpt_priv *p, const char *name, hd_pkobj *t, hd_ckpt_tensor *out);

/* Classify one BytesIO entry into c->extra[c->n_extra++] (never fails on the blob's content). */
static int extra_state(hd_ckpt *c, ckpt_priv *p, const char *name, const hd_pkobj *v)
{
    hd_ckpt_extra *x = realloc(c->extra, (size_t)(c->n_extra + 1) * sizeof *x);
    if (!x) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    c->extra = x;
    x = &c->extra[c->n_extra];
    memset(x, 0, sizeof *x);
    if (!(x->name = strdup(name))) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    c->n_extra++;
    x->kind = HD_XS_UNREADABLE;
    size_t n = 0;
    unsigned char *b = bytesio_bytes(p, v, &n);
    if (!b) return 0;
    x->nbytes = n;
    char *nm = hd_sprintf("%s: %s", c->path, name);
    hd_ckpt *in = nm ? ckpt_new(nm) : NULL;
    free(nm);
    if (!in) return -1;
    ckpt_priv *q = in->priv;
    q->base = b;
    q->size = n;
    static const hd_pk_limits lim = {.max_alloc = (size_t)64 << 20, .max_stack = 1 << 16, .max_marks = 100, .max_memo = 1 << 16};
    if (open_archive(in, q, &lim) < 0) { hd_clear_error(); goto done; }
    hd_pkobj *r = q->root, *sf, *ev, *fm;
    if (r->type == HD_PK_NONE) x->kind = HD_XS_NONE;
    else if (r->type == HD_PK_DICT && (sf = hd_pk_dict_get(r, "scale_fwd")) && sf->type == HD_PK_TENSOR &&
             (ev = hd_pk_dict_get(r, "extra_fp8_variables")) && ev->type == HD_PK_DICT) {
        x->kind = HD_XS_FP8;
        fm = hd_pk_dict_get(ev, "fp8_max_fwd");
        x->fp8_max_fwd = fm && fm->type == HD_PK_FLOAT ? fm->u.f : fm && fm->type == HD_PK_INT ? (double)fm->u.i : 0;
        hd_ckpt_tensor t = {0};
        if (tensor_data(in, q, "scale_fwd", sf, &t) == 0 && t.dtype == HD_F32)
            for (size_t i = 0; i < t.numel && i < sizeof x->scale_fwd / sizeof *x->scale_fwd; i++) {
                memcpy(&x->scale_fwd[i], (const char *)t.data + 4 * i, 4);
                x->n_scale = (int)i + 1;
            }
        else hd_clear_error();
    } else x->kind = HD_XS_OTHER;
done:
    q->base = NULL;   /* owned by the outer checkpoint */
    hd_ckpt_close(in);
    return 0;
}

typedef struct {
    const char *name;
    hd_pkobj *t;
    size_t pos, alias;
} cand;

/* order of tensor views: storage key, offset, shape, stride */
static int view_cmp(const hd_pkobj *a, const hd_pkobj *b)
{
    int r = strcmp(a->u.tensor.storage->u.storage.key, b->u.tensor.storage->u.storage.key);
    if (r) return r;
    if (a->u.tensor.offset != b->u.tensor.offset) return a->u.tensor.offset < b->u.tensor.offset ? -1 : 1;
    if (a->u.tensor.ndim != b->u.tensor.ndim) return a->u.tensor.ndim < b->u.tensor.ndim ? -1 : 1;
    for (int d = 0; d < a->u.tensor.ndim; d++) {
        if (a->u.tensor.shape[d] != b->u.tensor.shape[d]) return a->u.tensor.shape[d] < b->u.tensor.shape[d] ? -1 : 1;
        if (a->u.tensor.stride[d] != b->u.tensor.stride[d]) return a->u.tensor.stride[d] < b->u.tensor.stride[d] ? -1 : 1;
    }
    return 0;
}

static __thread const cand *g_cand;   /* qsort has no context argument */

static int cmp_view(const void *a, const void *b)
{
    const cand *x = &g_cand[*(const size_t *)a], *y = &g_cand[*(const size_t *)b];
    int r = view_cmp(x->t, y->t);
    return r ? r : (x->pos < y->pos ? -1 : x->pos > y->pos);
}

static int extract(hd_ckpt *c, ckpt_priv *p)
{
    char desc[160];
    hd_pkobj *root = p->root, *sd = NULL;
    if (root->type != HD_PK_DICT) {
        hd_set_error(HD_EMODEL, "%s: the checkpoint holds a %s, not a dict of tensors", c->path, hd_pk_describe(root, desc, sizeof desc));
        return -1;
    }
    hd_pkobj *x;
    if ((x = hd_pk_dict_get(root, "state_dict")) && x->type == HD_PK_DICT) { sd = x; c->source = "state_dict"; }
    else if ((x = hd_pk_dict_get(root, "model_state_dict")) && n_dict_tensors(x)) { sd = x; c->source = "model_state_dict"; }
    else if ((x = hd_pk_dict_get(root, "model")) && n_dict_tensors(x)) { sd = x; c->source = "model"; }
    else if ((x = hd_pk_dict_get(root, "module")) && n_dict_tensors(x)) { sd = x; c->source = "module"; }
    else if (n_dict_tensors(root)) { sd = root; c->source = "(top level)"; }
    else {
        char keys[400] = "";
        size_t k = 0;
        for (size_t i = 0; i < root->u.dict.n && k < sizeof keys - 64; i++)
            if (root->u.dict.k[i]->type == HD_PK_STR)
                k += snprintf(keys + k, sizeof keys - k, "%s'%.40s'", k ? ", " : "", root->u.dict.k[i]->u.str.s);
        hd_set_error(HD_EMODEL, "%s: no state dict: no 'state_dict', 'model_state_dict', 'model' or 'module' entry with tensors and no tensors at the top level (keys: %s)",
                     c->path, k ? keys : "none");
        return -1;
    }
    /* the other top-level entries */
    if (sd != root)
        for (size_t i = 0; i < root->u.dict.n; i++) {
            hd_pkobj *k = root->u.dict.k[i], *v = root->u.dict.v[i];
            if (v == sd || k->type != HD_PK_STR) continue;
            size_t nt = tensors_in(p, v);
            hd_pk_describe(v, desc, sizeof desc);
            if ((nt ? add_report(c, "dropped\t%s\t%s with %zu tensor%s", k->u.str.s, desc, nt, nt == 1 ? "" : "s")
                    : add_report(c, "dropped\t%s\t%s", k->u.str.s, desc)) < 0)
                return -1;
        }
    size_t nd = sd->u.dict.n ? sd->u.dict.n : 1;
    c->t = calloc(nd, sizeof *c->t);
    cand *cd = calloc(nd, sizeof *cd);
    size_t *order = calloc(nd, sizeof *order), nc = 0;
    if (!c->t || !cd || !order) { hd_set_error(HD_EMODEL, "out of memory"); goto fail; }
    for (size_t i = 0; i < sd->u.dict.n; i++) {
        hd_pkobj *k = sd->u.dict.k[i], *v = sd->u.dict.v[i];
        if (k->type != HD_PK_STR || strlen(k->u.str.s) != k->u.str.n || !k->u.str.n) {
            if (add_report(c, "dropped\t(%s key)\tnot a tensor name", hd_pk_describe(k, desc, sizeof desc)) < 0) goto fail;
            continue;
        }
        const char *name = k->u.str.s;
        if (!strcmp(name, "__metadata__")) {
            hd_set_error(HD_EMODEL, "%s: the state dict has an entry named '__metadata__'", c->path);
            goto fail;
        }
        if (v->type != HD_PK_TENSOR) {
            const char *what = NULL;
            if (is_bytesio(v)) {
                if (extra_state(c, p, name, v) < 0) goto fail;
                what = extra_kind_name(c->extra[c->n_extra - 1].kind);
            }
            if ((what ? add_report(c, "dropped\t%s\t_io.BytesIO object (%s), not a tensor", name, what)
                      : add_report(c, "dropped\t%s\t%s, not a tensor", name, hd_pk_describe(v, desc, sizeof desc))) < 0)
                goto fail;
            continue;
        }
        if (strstr(name, "torchmetrics")) {
            if (add_report(c, "dropped\t%s\tmetric state", name) < 0) goto fail;
            continue;
        }
        cd[nc].name = name;
        cd[nc].t = v;
        cd[nc].pos = nc;
        order[nc] = nc;
        nc++;
    }
    /* aliases: the same view of the same storage as an earlier name (tied weights, the shared Sin freq) */
    g_cand = cd;
    qsort(order, nc, sizeof *order, cmp_view);
    for (size_t i = 0; i < nc; i++) {
        cand *x = &cd[order[i]];
        x->alias = (i && !view_cmp(cd[order[i - 1]].t, x->t)) ? cd[order[i - 1]].alias : x->pos;
    }
    for (size_t i = 0; i < nc; i++) {
        if (cd[i].alias != i) {
            if (add_report(c, "aliased\t%s\tsame storage as %s", cd[i].name, cd[cd[i].alias].name) < 0) goto fail;
            continue;
        }
        hd_ckpt_tensor *t = &c->t[c->n];
        if (!(t->name = hd_strdup(cd[i].name))) goto fail;
        c->n++;
        if (tensor_data(c, p, cd[i].name, cd[i].t, t) < 0) goto fail;
    }
    free(cd);
    free(order);
    cd = NULL;
    order = NULL;
    if (!c->n) { hd_set_error(HD_EMODEL, "%s: the state dict ('%s') holds no tensors to keep", c->path, c->source); return -1; }
    hd_ckpt_tensor **sorted = malloc(c->n * sizeof *sorted);
    if (!sorted) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    for (int i = 0; i < c->n; i++) sorted[i] = &c->t[i];
    qsort(sorted, c->n, sizeof *sorted, cmp_names);
    for (int i = 1; i < c->n; i++)
        if (!strcmp(sorted[i]->name, sorted[i - 1]->name)) {
            hd_set_error(HD_EMODEL, "%s: the state dict names tensor '%s' twice", c->path, sorted[i]->name);
            free(sorted);
            return -1;
        }
    free(sorted);
    return 0;
fail:
    free(cd);
    free(order);
    return -1;
}

/* ---------------------------------------------------------------- open / close */

/* zip directory, byte order, data.pkl interpreted into p->root */
static int open_archive(hd_ckpt *c, ckpt_priv *p, const hd_pk_limits *lim)
{
    if (zip_parse(c, p) < 0) return -1;
    /* data.pkl under the archive folder */
    zentry *pkl = NULL;
    for (size_t i = 0; i < p->ne; i++) {
        const char *nm = p->e[i].name, *sl = strchr(nm, '/');
        if (sl && sl != nm && !strcmp(sl + 1, "data.pkl")) { pkl = &p->e[i]; break; }
    }
    if (!pkl) {
        hd_set_error(HD_EMODEL, "%s: a zip without <archive>/data.pkl: not a PyTorch checkpoint written by torch.save", c->path);
        return -1;
    }
    size_t plen = (size_t)(strchr(pkl->name, '/') - pkl->name) + 1;
    if (!(p->prefix = strndup(pkl->name, plen))) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    char *bo = hd_sprintf("%sbyteorder", p->prefix);
    zentry *boe = bo ? zip_find(p, bo) : NULL;
    free(bo);
    if (boe) {
        const char *d = zip_data(c, p, boe);
        if (!d) return -1;
        if (!(boe->size == 6 && !memcmp(d, "little", 6))) {
            hd_set_error(HD_EMODEL, "%s: the checkpoint is not little-endian ('%sbyteorder')", c->path, p->prefix);
            return -1;
        }
    }
    const void *pd = zip_data(c, p, pkl);
    if (!pd) return -1;
    if (!(p->pkl_name = hd_sprintf("%s: %s", c->path, pkl->name))) return -1;
    p->pk = hd_pk_load(pd, (size_t)pkl->size, p->pkl_name, lim, &p->root);
    if (!p->pk) return -1;
    return 0;
}

static int open_common(hd_ckpt *c, ckpt_priv *p, const hd_pk_limits *lim)
{
    if (open_archive(c, p, lim) < 0) return -1;
    if (extract(c, p) < 0) return -1;
    if (p->root->type == HD_PK_DICT && find_config(c, p) < 0) return -1;
    return 0;
}

static hd_ckpt *ckpt_new(const char *name)
{
    hd_ckpt *c = calloc(1, sizeof *c);
    ckpt_priv *p = calloc(1, sizeof *p);
    if (!c || !p || !(c->path = strdup(name ? name : "(buffer)"))) {
        free(c);
        free(p);
        hd_set_error(HD_EMODEL, "out of memory");
        return NULL;
    }
    c->priv = p;
    return c;
}

hd_ckpt *hd_ckpt_open_buffer(const void *buf, size_t n, const char *name, const hd_pk_limits *lim)
{
    hd_ckpt *c = ckpt_new(name);
    if (!c) return NULL;
    ckpt_priv *p = c->priv;
    p->base = buf;
    p->size = n;
    if (open_common(c, p, lim) < 0) { hd_ckpt_close(c); return NULL; }
    return c;
}

static int legacy_error(const char *path, const unsigned char *b, size_t n)
{
    if ((n >= 2 && b[0] == 0x80 && b[1] <= 5) || (n >= 262 && !memcmp(b + 257, "ustar", 5))) {
        hd_set_error(HD_EMODEL, "%s: a PyTorch checkpoint in the legacy (pre-1.6) format; re-save it with torch >= 1.6 "
                     "(torch.save(torch.load(F), F)) or convert it to safetensors", path);
        return 1;
    }
    return 0;
}

int hd_ckpt_sniff(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    unsigned char b[512];
    ssize_t r = read(fd, b, sizeof b);
    close(fd);
    if (r < 2) return r < 0 ? -1 : 0;
    if (b[0] == 'P' && b[1] == 'K') return 1;
    if (b[0] == 0x80 && b[1] <= 5) return 2;
    if (r >= 262 && !memcmp(b + 257, "ustar", 5)) return 2;
    return 0;
}

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && !strcmp(s + n - k, suf);
}

/* the index of a sharded PyTorch checkpoint: transformers' pytorch_model.bin.index.json, any *.index.json but a
 * safetensors index (*.safetensors.index.json, read by safetensors.c) */
static int torch_index_name(const char *name)
{
    return has_suffix(name, ".index.json") && !has_suffix(name, ".safetensors.index.json");
}

/* the error for the sharded checkpoint of index `idx` (its weight_map's distinct files counted); `shard` the shard
 * given, or NULL */
static int sharded_error(const char *idx, json_t *root, const char *shard)
{
    json_t *wm = json_object_get(root, "weight_map"), *v;
    const char *key, *files[64];
    int nf = 0, more = 0;
    json_object_foreach(wm, key, v) {
        const char *f = json_string_value(v);
        int k = 0;
        while (f && k < nf && strcmp(files[k], f)) k++;
        if (f && k == nf) {
            if (nf < 64) files[nf++] = f;
            else more = 1;
        }
    }
    char n[32];
    snprintf(n, sizeof n, more ? "over %d" : "%d", nf);
    const char *what = "a sharded PyTorch checkpoint, which is not read";
    const char *todo = "re-save it as safetensors (transformers: save_pretrained(DIR, safe_serialization=True), "
                       "which shards it with a model.safetensors.index.json that is read) or as one torch.save file";
    if (shard) hd_set_error(HD_EMODEL, "%s: one of the %s shards of %s (index %s): %s", shard, n, what, idx, todo);
    else hd_set_error(HD_EMODEL, "%s: the index of %s (%s shards): %s", idx, what, n, todo);
    return 1;
}

int hd_ckpt_sharded(const char *path)
{
    struct stat sb;
    if (stat(path, &sb)) return 0;
    int isdir = S_ISDIR(sb.st_mode);
    if (!isdir && torch_index_name(path)) {
        json_t *root = json_load_file(path, 0, NULL);
        int r = sharded_error(path, root, NULL);
        json_decref(root);
        return r;
    }
    /* a directory holding an index, or a file beside an index naming it */
    char *dir = isdir ? hd_strdup(path) : hd_parent_dir(path);
    const char *base = isdir ? NULL : (strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
    DIR *d = dir ? opendir(dir) : NULL;
    int r = 0;
    struct dirent *e;
    while (d && !r && (e = readdir(d))) {
        if (e->d_name[0] == '.' || !torch_index_name(e->d_name)) continue;
        char *idx = isdir ? hd_sprintf("%s/%s", dir, e->d_name) : hd_path_beside(path, e->d_name);
        json_t *root = idx ? json_load_file(idx, 0, NULL) : NULL, *v;
        const char *key;
        if (isdir) r = root && json_is_object(json_object_get(root, "weight_map")) ? sharded_error(idx, root, NULL) : 0;
        else json_object_foreach(json_object_get(root, "weight_map"), key, v) {
            const char *f = json_string_value(v);
            if (f && !strcmp(f, base)) { r = sharded_error(idx, root, path); break; }
        }
        json_decref(root);
        free(idx);
    }
    if (d) closedir(d);
    free(dir);
    return r;
}

hd_ckpt *hd_ckpt_open(const char *path)
{
    const unsigned char *base;
    size_t size;
    if (hd_ckpt_sharded(path)) return NULL;
    if (hd_map_file(path, &base, &size) < 0) return NULL;
    hd_ckpt *c = ckpt_new(path);
    if (!c) { hd_unmap_file(base, size); return NULL; }
    ckpt_priv *p = c->priv;
    p->base = base;
    p->size = size;
    p->mapped = 1;
    if (legacy_error(path, p->base, p->size) || open_common(c, p, NULL) < 0) {
        hd_ckpt_close(c);
        return NULL;
    }
    return c;
}

void hd_ckpt_close(hd_ckpt *c)
{
    if (!c) return;
    ckpt_priv *p = c->priv;
    if (p) {
        for (size_t i = 0; i < p->ne; i++) {
            free(p->e[i].name);
            free(p->e[i].inflated);
        }
        free(p->e);
        free(p->prefix);
        hd_pk_free(p->pk);
        free(p->pkl_name);
        for (int i = 0; i < p->n_owned; i++) free(p->owned[i]);
        free(p->owned);
        if (p->mapped) hd_unmap_file(p->base, p->size);
        free(p);
    }
    for (int i = 0; i < c->n; i++) free(c->t[i].name);
    free(c->t);
    for (int i = 0; i < c->n_extra; i++) free(c->extra[i].name);
    free(c->extra);
    for (int i = 0; i < c->n_report; i++) free(c->report[i]);
    free(c->report);
    free(c->config_json);
    free(c->path);
    free(c);
}

/* ---------------------------------------------------------------- safetensors image */

static int cmp_image(const void *a, const void *b)
{
    const hd_ckpt_tensor *x = *(hd_ckpt_tensor *const *)a, *y = *(hd_ckpt_tensor *const *)b;
    size_t ex = hd_dtype_size(x->dtype), ey = hd_dtype_size(y->dtype);
    if (ex != ey) return ex > ey ? -1 : 1;   /* descending alignment keeps every tensor aligned */
    return strcmp(x->name, y->name);
}

/* The safetensors header of the kept tensors in file order (*order, sorted by descending alignment then name):
 * the 8-byte length and the padded JSON in *hdr (hd_alloc'd, *hdr_len bytes); *data_len bytes of data follow. */
static int image_header(const hd_ckpt *c, const char *config_json, const char *const *meta_kv, hd_ckpt_tensor ***order,
                        unsigned char **hdr, size_t *hdr_len, size_t *data_len)
{
    hd_ckpt_tensor **s = malloc((c->n ? c->n : 1) * sizeof *s);
    json_t *h = json_object(), *meta = json_object();
    char *hs = NULL;
    int rc = -1;
    if (!s || !h || !meta) { hd_set_error(HD_EMODEL, "out of memory"); goto done; }
    for (int i = 0; i < c->n; i++) s[i] = &c->t[i];
    qsort(s, c->n, sizeof *s, cmp_image);
    const char *base = strrchr(c->path, '/');
    json_object_set_new(meta, "format", json_string("pt"));
    json_object_set_new(meta, "source", json_string(base ? base + 1 : c->path));
    if (config_json) json_object_set_new(meta, "config", json_string(config_json));
    for (int i = 0; meta_kv && meta_kv[i] && meta_kv[i + 1]; i += 2) json_object_set_new(meta, meta_kv[i], json_string(meta_kv[i + 1]));
    json_object_set_new(h, "__metadata__", meta);
    meta = NULL;
    size_t off = 0;
    for (int i = 0; i < c->n; i++) {
        json_t *e = json_object(), *shape = json_array(), *offs = json_array();
        for (int d = 0; d < s[i]->ndim; d++) json_array_append_new(shape, json_integer(s[i]->shape[d]));
        json_object_set_new(e, "dtype", json_string(hd_dtype_name(s[i]->dtype)));
        json_object_set_new(e, "shape", shape);
        json_array_append_new(offs, json_integer((json_int_t)off));
        json_array_append_new(offs, json_integer((json_int_t)(off + s[i]->nbytes)));
        json_object_set_new(e, "data_offsets", offs);
        if (json_object_set_new(h, s[i]->name, e)) { hd_set_error(HD_EMODEL, "%s: bad tensor name '%s'", c->path, s[i]->name); goto done; }
        off += s[i]->nbytes;
    }
    if (!(hs = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER))) { hd_set_error(HD_EMODEL, "out of memory"); goto done; }
    size_t hl = strlen(hs), hpad = (hl + 7) & ~(size_t)7;
    if (!(*hdr = hd_alloc(8 + hpad, "a safetensors header"))) goto done;
    for (int i = 0; i < 8; i++) (*hdr)[i] = (unsigned char)((uint64_t)hpad >> (8 * i));
    memcpy(*hdr + 8, hs, hl);
    memset(*hdr + 8 + hl, ' ', hpad - hl);
    *hdr_len = 8 + hpad;
    *data_len = off;
    *order = s;
    s = NULL;
    rc = 0;
done:
    free(hs);
    free(s);
    json_decref(meta);
    json_decref(h);
    return rc;
}

void *hd_ckpt_image(const hd_ckpt *c, const char *config_json, size_t *size)
{
    hd_ckpt_tensor **s = NULL;
    unsigned char *hdr = NULL, *img = NULL;
    size_t hl = 0, dl = 0, total;
    if (image_header(c, config_json, NULL, &s, &hdr, &hl, &dl) < 0) return NULL;
    if (hd_add(hl, dl, &total)) { hd_set_error(HD_EMODEL, "%s: too large", c->path); goto done; }
    if (!(img = hd_alloc(total, "the converted weights"))) goto done;
    memcpy(img, hdr, hl);
    size_t off = hl;
    for (int i = 0; i < c->n; i++) {
        if (s[i]->nbytes) memcpy(img + off, s[i]->data, s[i]->nbytes);
        off += s[i]->nbytes;
    }
    *size = total;
done:
    hd_free(hdr);
    free(s);
    return img;
}

hd_st *hd_ckpt_load_st(const char *path, hd_ckpt **keep)
{
    hd_ckpt *c = hd_ckpt_open(path);
    if (!c) return NULL;
    hd_tensor_info *t = calloc(c->n ? (size_t)c->n : 1, sizeof *t);
    json_t *meta = json_object();
    char *ms = NULL;
    hd_st *st = NULL;
    if (!t || !meta) { hd_set_error(HD_EMODEL, "out of memory"); goto done; }
    for (int i = 0; i < c->n; i++) {   /* the tensors stay where they are: in the mapping (or the copies c owns) */
        t[i].name = c->t[i].name;
        t[i].dtype = c->t[i].dtype;
        t[i].ndim = c->t[i].ndim;
        memcpy(t[i].shape, c->t[i].shape, sizeof t[i].shape);
        t[i].numel = c->t[i].numel;
        t[i].data = c->t[i].data;
    }
    const char *base = strrchr(c->path, '/');
    json_object_set_new(meta, "format", json_string("pt"));
    json_object_set_new(meta, "source", json_string(base ? base + 1 : c->path));
    if (c->config_json) json_object_set_new(meta, "config", json_string(c->config_json));
    if (!(ms = json_dumps(meta, JSON_COMPACT))) { hd_set_error(HD_EMODEL, "out of memory"); goto done; }
    st = hd_st_from_tensors(t, c->n, path, ms, ((ckpt_priv *)c->priv)->size);
done:
    free(ms);
    json_decref(meta);
    free(t);
    if (st) *keep = c;
    else hd_ckpt_close(c);
    return st;
}

int hd_ckpt_write(const hd_ckpt *c, const char *config_json, const char *const *meta_kv, const char *path)
{
    hd_ckpt_tensor **s = NULL;
    unsigned char *hdr = NULL;
    size_t hl = 0, dl = 0;
    hd_outfile *o = NULL;
    int rc = -1;
    if (image_header(c, config_json, meta_kv, &s, &hdr, &hl, &dl) < 0) return -1;
    if (!(o = hd_out_open(path, 0)) || hd_out_write(o, hdr, hl) < 0) goto done;
    for (int i = 0; i < c->n; i++)   /* straight from the mapping: no copy of the whole model in memory */
        if (s[i]->nbytes && hd_out_write(o, s[i]->data, s[i]->nbytes) < 0) goto done;
    rc = hd_out_close(o);
    o = NULL;
done:
    if (o) hd_out_abort(o);
    hd_free(hdr);
    free(s);
    return rc;
}
