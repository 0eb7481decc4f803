/* safetensors.c -- safetensors reader and writer.
 *
 * Validation follows the reference implementation (huggingface/safetensors): header length
 * within the file and under 100,000,000 bytes, a JSON object without duplicate keys, known dtypes,
 * shape × element size equal to the byte span, spans that tile the data area exactly. */
#define _GNU_SOURCE
#include "safetensors.h"
#include "output.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define HD_ST_MAX_HEADER 100000000ULL

struct hd_st {
    char *path;
    const unsigned char *base;   /* whole file */
    size_t size;
    int mapped;
    int n;
    hd_tensor_info *t;
    json_t *meta;          /* __metadata__ object, or NULL */
    hd_st **parts;         /* a sharded model's shards (hd_st_open_index), whose mappings t[] points into */
    int n_parts;
};

static const char *dtype_names[HD_DTYPE_COUNT] = {"F32", "F16", "BF16", "I64", "I32"};
static const size_t dtype_sizes[HD_DTYPE_COUNT] = {4, 2, 2, 8, 4};

const char *hd_dtype_name(hd_dtype t) { return t < HD_DTYPE_COUNT ? dtype_names[t] : "?"; }
size_t hd_dtype_size(hd_dtype t) { return t < HD_DTYPE_COUNT ? dtype_sizes[t] : 0; }

static int parse_dtype(const char *s, hd_dtype *out)
{
    for (int i = 0; i < HD_DTYPE_COUNT; i++)
        if (!strcmp(s, dtype_names[i])) { *out = (hd_dtype)i; return 0; }
    return -1;
}

static int cmp_begin(const void *a, const void *b)
{
    const hd_tensor_info *x = *(const hd_tensor_info *const *)a, *y = *(const hd_tensor_info *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static int st_parse(hd_st *st)
{
    const char *P = st->path;
    if (st->size < 8) {
        hd_set_error(HD_EMODEL, "%s: not a safetensors file (truncated: %zu bytes, no header length)", P, st->size);
        return -1;
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | st->base[i];
    if (n > HD_ST_MAX_HEADER) {
        hd_set_error(HD_EMODEL, "%s: safetensors header length %llu exceeds the 100,000,000-byte limit (corrupt or not a safetensors file)",
                     P, (unsigned long long)n);
        return -1;
    }
    if (n > st->size - 8) {
        hd_set_error(HD_EMODEL, "%s: safetensors header length %llu runs past the end of the file (%zu bytes): truncated or corrupt",
                     P, (unsigned long long)n, st->size);
        return -1;
    }
    if (n < 2 || st->base[8] != '{') {
        hd_set_error(HD_EMODEL, "%s: safetensors header is not a JSON object", P);
        return -1;
    }
    const uint8_t *data = st->base + 8 + n;
    size_t dsize = st->size - 8 - (size_t)n;

    json_error_t jerr;
    json_t *root = json_loadb((const char *)st->base + 8, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        hd_set_error(HD_EMODEL, "%s: invalid JSON in safetensors header (byte %d): %s", P, jerr.position, jerr.text);
        return -1;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        hd_set_error(HD_EMODEL, "%s: safetensors header is not a JSON object", P);
        return -1;
    }
    size_t cnt = json_object_size(root);
    st->t = calloc(cnt ? cnt : 1, sizeof *st->t);
    if (!st->t) { json_decref(root); hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    const char *key;
    json_t *val;
    int rc = -1;
    json_object_foreach(root, key, val) {
        if (!strcmp(key, "__metadata__")) {
            if (!json_is_object(val)) { hd_set_error(HD_EMODEL, "%s: __metadata__ is not an object", P); goto done; }
            const char *mk; json_t *mv;
            json_object_foreach(val, mk, mv) if (!json_is_string(mv)) {
                hd_set_error(HD_EMODEL, "%s: __metadata__ value of '%s' is not a string", P, mk);
                goto done;
            }
            st->meta = json_incref(val);
            continue;
        }
        hd_tensor_info *t = &st->t[st->n];
        if (!json_is_object(val)) { hd_set_error(HD_EMODEL, "%s: tensor '%s': header entry is not an object", P, key); goto done; }
        json_t *jd = json_object_get(val, "dtype"), *js = json_object_get(val, "shape"), *jo = json_object_get(val, "data_offsets");
        if (!json_is_string(jd) || !json_is_array(js) || !json_is_array(jo) || json_array_size(jo) != 2) {
            hd_set_error(HD_EMODEL, "%s: tensor '%s': header entry needs dtype, shape and data_offsets [begin, end]", P, key);
            goto done;
        }
        if (parse_dtype(json_string_value(jd), &t->dtype)) {
            hd_set_error(HD_EMODEL, "%s: tensor '%s': unsupported dtype '%s' (supported: F32, F16, BF16, I64, I32)",
                         P, key, json_string_value(jd));
            goto done;
        }
        if (json_array_size(js) > HD_MAX_DIMS) {
            hd_set_error(HD_EMODEL, "%s: tensor '%s': %zu dimensions (at most %d supported)", P, key, json_array_size(js), HD_MAX_DIMS);
            goto done;
        }
        t->ndim = (int)json_array_size(js);
        size_t numel = 1;
        for (int d = 0; d < t->ndim; d++) {
            json_t *e = json_array_get(js, d);
            if (!json_is_integer(e) || json_integer_value(e) < 0) {
                hd_set_error(HD_EMODEL, "%s: tensor '%s': shape entry %d is not a non-negative integer", P, key, d);
                goto done;
            }
            t->shape[d] = json_integer_value(e);
            if (hd_mul(numel, (size_t)t->shape[d], &numel)) {
                hd_set_error(HD_EMODEL, "%s: tensor '%s': shape overflows", P, key);
                goto done;
            }
        }
        t->numel = numel;
        json_t *b = json_array_get(jo, 0), *e = json_array_get(jo, 1);
        if (!json_is_integer(b) || !json_is_integer(e) || json_integer_value(b) < 0 || json_integer_value(e) < json_integer_value(b)) {
            hd_set_error(HD_EMODEL, "%s: tensor '%s': data_offsets must be non-negative integers with begin <= end", P, key);
            goto done;
        }
        t->begin = (size_t)json_integer_value(b);
        t->end = (size_t)json_integer_value(e);
        size_t bytes;
        if (hd_mul(numel, dtype_sizes[t->dtype], &bytes) || bytes != t->end - t->begin) {
            hd_set_error(HD_EMODEL, "%s: tensor '%s': shape and dtype %s do not match the %zu bytes its data_offsets span",
                         P, key, json_string_value(jd), t->end - t->begin);
            goto done;
        }
        if (t->end > dsize) {
            hd_set_error(HD_EMODEL, "%s: tensor '%s': data_offsets [%zu, %zu) lie outside the %zu-byte data area (truncated file?)",
                         P, key, t->begin, t->end, dsize);
            goto done;
        }
        if (!(t->name = hd_strdup(key))) goto done;
        t->data = data + t->begin;
        st->n++;
    }
    /* the spans must tile the data area exactly: no overlaps, no holes */
    if (st->n) {
        hd_tensor_info **s = malloc(st->n * sizeof *s);
        if (!s) { hd_set_error(HD_EMODEL, "out of memory"); goto done; }
        for (int i = 0; i < st->n; i++) s[i] = &st->t[i];
        qsort(s, st->n, sizeof *s, cmp_begin);
        size_t pos = 0;
        for (int i = 0; i < st->n; i++) {
            if (s[i]->begin < pos) {
                hd_set_error(HD_EMODEL, "%s: tensors '%s' and '%s' overlap in the data area", P, s[i - 1]->name, s[i]->name);
                free(s);
                goto done;
            }
            if (s[i]->begin > pos) {
                hd_set_error(HD_EMODEL, "%s: gap in the data area before tensor '%s' (bytes %zu..%zu belong to no tensor)",
                             P, s[i]->name, pos, s[i]->begin);
                free(s);
                goto done;
            }
            pos = s[i]->end;
        }
        free(s);
        if (pos != dsize) {
            hd_set_error(HD_EMODEL, "%s: the data area holds %zu bytes but the tensors cover %zu (corrupt file)", P, dsize, pos);
            goto done;
        }
    } else if (dsize != 0) {
        hd_set_error(HD_EMODEL, "%s: %zu bytes of data but no tensors in the header", P, dsize);
        goto done;
    }
    rc = 0;
done:
    json_decref(root);
    return rc;
}

hd_st *hd_st_from_buffer(const void *buf, size_t size, const char *name)
{
    hd_st *st = calloc(1, sizeof *st);
    if (!st) { hd_set_error(HD_EMODEL, "out of memory"); return NULL; }
    st->path = hd_strdup(name ? name : "(buffer)");
    st->base = buf;
    st->size = size;
    if (!st->path || st_parse(st) < 0) { hd_st_close(st); return NULL; }
    return st;
}

hd_st *hd_st_from_tensors(const hd_tensor_info *t, int n, const char *name, const char *meta_json, size_t file_size)
{
    hd_st *st = calloc(1, sizeof *st);
    if (!st) { hd_set_error(HD_EMODEL, "out of memory"); return NULL; }
    st->path = strdup(name ? name : "(tensors)");
    st->size = file_size;
    st->t = calloc(n > 0 ? (size_t)n : 1, sizeof *st->t);
    if (!st->path || !st->t) { hd_st_close(st); hd_set_error(HD_EMODEL, "out of memory"); return NULL; }
    for (int i = 0; i < n; i++) {
        st->t[i] = t[i];
        st->t[i].begin = st->t[i].end = 0;
        if (!(st->t[i].name = strdup(t[i].name))) { hd_st_close(st); hd_set_error(HD_EMODEL, "out of memory"); return NULL; }
        st->n++;
    }
    if (meta_json) {
        json_error_t e;
        st->meta = json_loads(meta_json, 0, &e);
        if (!json_is_object(st->meta)) { hd_st_close(st); hd_set_error(HD_EMODEL, "%s: bad metadata", st->path); return NULL; }
    }
    return st;
}

hd_st *hd_st_open(const char *path)
{
    hd_st *st = calloc(1, sizeof *st);
    if (!st) { hd_set_error(HD_EMODEL, "out of memory"); return NULL; }
    st->path = hd_strdup(path);
    if (!st->path || hd_map_file(path, &st->base, &st->size) < 0) {
        free(st->path);
        free(st);
        return NULL;
    }
    st->mapped = 1;
    if (st_parse(st) < 0) { hd_st_close(st); return NULL; }
    return st;
}

/* a shard's file name (its path without the index's folder) */
static const char *shard_file(const hd_st *shard)
{
    const char *slash = strrchr(shard->path, '/');
    return slash ? slash + 1 : shard->path;
}

/* A sharded model: the index names the shard of every tensor ({"weight_map": {NAME: FILE, ...}}, FILE beside
 * the index); the table holds the tensors the index lists, each checked to be in the shard it names. */
hd_st *hd_st_open_index(const char *path)
{
    json_error_t e;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
    if (!root) {
        struct stat sb;
        if (stat(path, &sb)) hd_set_error(HD_EMODEL, "cannot open '%s': %s", path, strerror(errno));
        else hd_set_error(HD_EMODEL, "%s: invalid JSON at line %d: %s", path, e.line, e.text);
        return NULL;
    }
    hd_st *st = NULL, **parts = NULL;
    hd_tensor_info *t = NULL;
    int np = 0, n = 0;
    size_t total = 0;
    json_t *wm = json_object_get(root, "weight_map");
    if (!json_is_object(wm) || !json_object_size(wm)) {
        hd_set_error(HD_EMODEL, "%s: no \"weight_map\" object naming the shard of each tensor", path);
        goto out;
    }
    size_t nw = json_object_size(wm);
    parts = calloc(nw, sizeof *parts);
    t = calloc(nw, sizeof *t);
    if (!parts || !t) { hd_set_error(HD_EMODEL, "out of memory"); goto out; }
    const char *key;
    json_t *v;
    json_object_foreach(wm, key, v) {
        const char *file = json_string_value(v);
        if (!file || !*file || strchr(file, '/') || !strcmp(file, ".") || !strcmp(file, "..")) {
            hd_set_error(HD_EMODEL, "%s: weight_map[\"%s\"] is not the name of a shard file beside the index", path, key);
            goto out;
        }
        int k = 0;
        while (k < np && strcmp(shard_file(parts[k]), file)) k++;
        if (k == np) {
            char *sp = hd_path_beside(path, file);
            if (!sp || !(parts[np] = hd_st_open(sp))) {
                free(sp);
                char msg[1024];
                snprintf(msg, sizeof msg, "%s", hd_error());
                hd_set_error(HD_EMODEL, "%s: the shard of tensor '%s': %s", path, key, msg);
                goto out;
            }
            free(sp);
            total += hd_st_file_size(parts[np++]);
        }
        const hd_tensor_info *ti = hd_st_find(parts[k], key);
        if (!ti) {
            hd_set_error(HD_EMODEL, "%s: tensor '%s' is mapped to %s, which does not hold it", path, key, file);
            goto out;
        }
        t[n++] = *ti;
    }
    for (int k = 0; k < np; k++) {   /* and nothing in a shard that the index does not map to it */
        const char *file = shard_file(parts[k]);
        for (int i = 0; i < hd_st_count(parts[k]); i++) {
            const char *nm = hd_st_get(parts[k], i)->name, *to = json_string_value(json_object_get(wm, nm));
            if (!to || strcmp(to, file)) {
                hd_set_error(HD_EMODEL, "%s: shard %s holds tensor '%s', which the index %s", path, file, nm,
                             to ? "maps to another shard" : "does not list");
                goto out;
            }
        }
    }
    const char *meta = NULL;   /* the first shard's __metadata__ that holds a config, else the first shard's */
    char *mj = NULL;
    for (int k = 0; k < np && !meta; k++)
        if (hd_st_meta(parts[k], "config")) meta = "config", mj = json_dumps(parts[k]->meta, JSON_COMPACT);
    if (!meta && parts[0]->meta) mj = json_dumps(parts[0]->meta, JSON_COMPACT);
    st = hd_st_from_tensors(t, n, path, mj, total);
    free(mj);
    if (st) {
        st->parts = parts, st->n_parts = np;
        parts = NULL, np = 0;
    }
out:
    for (int k = 0; k < np; k++) hd_st_close(parts[k]);
    free(parts);
    free(t);
    json_decref(root);
    return st;
}

int hd_st_is_index_name(const char *path)
{
    static const char suf[] = ".safetensors.index.json";
    size_t n = strlen(path), k = sizeof suf - 1;
    return n >= k && !strcmp(path + n - k, suf);
}

void hd_st_close(hd_st *st)
{
    if (!st) return;
    for (int i = 0; i < st->n; i++) free(st->t[i].name);
    free(st->t);
    if (st->meta) json_decref(st->meta);
    for (int i = 0; i < st->n_parts; i++) hd_st_close(st->parts[i]);
    free(st->parts);
    if (st->mapped) hd_unmap_file(st->base, st->size);
    free(st->path);
    free(st);
}

const char *hd_st_path(const hd_st *st) { return st->path; }
size_t hd_st_file_size(const hd_st *st) { return st->size; }
int hd_st_count(const hd_st *st) { return st->n; }
const hd_tensor_info *hd_st_get(const hd_st *st, int i) { return i >= 0 && i < st->n ? &st->t[i] : NULL; }

int hd_st_index(const hd_st *st, const char *name)
{
    for (int i = 0; i < st->n; i++)
        if (!strcmp(st->t[i].name, name)) return i;
    return -1;
}

const hd_tensor_info *hd_st_find(const hd_st *st, const char *name)
{
    int i = hd_st_index(st, name);
    return i < 0 ? NULL : &st->t[i];
}

const char *hd_st_meta(const hd_st *st, const char *key)
{
    if (!st->meta) return NULL;
    return json_string_value(json_object_get(st->meta, key));
}

int hd_tensor_to_f32(const hd_tensor_info *t, float *dst)
{
    const uint8_t *p = t->data;
    for (size_t i = 0; i < t->numel; i++) {
        switch (t->dtype) {
        case HD_F32: { float v; memcpy(&v, p + 4 * i, 4); dst[i] = v; break; }
        case HD_F16: { uint16_t h; memcpy(&h, p + 2 * i, 2); dst[i] = hd_f16_to_f32(h); break; }
        case HD_BF16: { uint16_t h; memcpy(&h, p + 2 * i, 2); dst[i] = hd_bf16_to_f32(h); break; }
        case HD_I64: { int64_t v; memcpy(&v, p + 8 * i, 8); dst[i] = (float)v; break; }
        case HD_I32: { int32_t v; memcpy(&v, p + 4 * i, 4); dst[i] = (float)v; break; }
        default: return -1;
        }
    }
    return 0;
}

int hd_tensor_to_i64(const hd_tensor_info *t, int64_t *dst)
{
    const uint8_t *p = t->data;
    for (size_t i = 0; i < t->numel; i++) {
        if (t->dtype == HD_I64) memcpy(&dst[i], p + 8 * i, 8);
        else if (t->dtype == HD_I32) { int32_t v; memcpy(&v, p + 4 * i, 4); dst[i] = v; }
        else { hd_set_error(HD_EMODEL, "tensor '%s' is %s, expected an integer tensor", t->name, hd_dtype_name(t->dtype)); return -1; }
    }
    return 0;
}

/* ------------------------------------------------------------------ writer */

struct hd_stw {
    hd_outfile *out;
    FILE *spill;           /* tensor data, in the order added */
    json_t *hdr;
    json_t *meta;
    size_t pos;
    size_t hlen;           /* the header's JSON so far, an upper bound (json_len) */
};

/* The length of s as a JSON string (jansson's escapes: \" \\ and \b \f \n \r \t, other control bytes
 * \u00XX; UTF-8 kept as it is), quotes included. */
static size_t json_len(const char *s)
{
    size_t n = 2;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += *p == '"' || *p == '\\' || *p == '\b' || *p == '\f' || *p == '\n' || *p == '\r' || *p == '\t' ? 2
           : *p < 0x20                                                                               ? 6
                                                                                                     : 1;
    return n;
}

/* Would the header pass the readers' limit (HD_ST_MAX_HEADER, also the safetensors library's) with `more`
 * bytes?  Then an error naming the output and what was being added: the file could not be read back. */
static int header_full(hd_stw *w, size_t more, const char *what, const char *name)
{
    if (w->hlen + more + 4096 <= HD_ST_MAX_HEADER) {   /* 4 KB: the closing braces and padding, with room to spare */
        w->hlen += more;
        return 0;
    }
    hd_set_error(HD_EINPUT, "%s: %s '%.200s%s' would take the safetensors header past the 100,000,000-byte limit of "
                 "its readers (this one's and the safetensors library's), so the file could not be read back: write TSV "
                 "or BED instead, or split the run into parts (--shard)", hd_out_path(w->out), what, name,
                 strlen(name) > 200 ? "..." : "");
    return -1;
}

hd_stw *hd_stw_open(const char *path)
{
    hd_stw *w = calloc(1, sizeof *w);
    if (!w) { hd_set_error(HD_EMODEL, "out of memory"); return NULL; }
    w->out = hd_out_open(path, 0);
    if (!w->out) { free(w); return NULL; }
    /* the readers map a safetensors file: it is never compressed, whatever its name says */
    if (hd_has_suffix(path, ".gz") || hd_has_suffix(path, ".bgz"))
        hd_log(HD_LOG_WARN, "%s: safetensors output is written uncompressed whatever its name (a compressed file "
                            "could not be mapped): name it .safetensors", path);
    w->spill = tmpfile();
    if (!w->spill) {
        hd_set_error(HD_ERESOURCE, "cannot create a temporary file for '%s': %s", path, strerror(errno));
        hd_out_abort(w->out);
        free(w);
        return NULL;
    }
    w->hdr = json_object();
    w->meta = json_object();
    return w;
}

int hd_stw_add(hd_stw *w, const char *name, hd_dtype dtype, int ndim, const int64_t *shape, const void *data)
{
    size_t numel = 1, bytes, bad;
    if (!hd_utf8_valid(name, &bad)) {   /* a header key must be UTF-8 (JSON): refused before any data is spilled */
        hd_set_error(HD_EINPUT, "%s: tensor name '%s' is not UTF-8 (byte %zu)", hd_out_path(w->out), name, bad + 1);
        return -1;
    }
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0 || (shape[d] && numel > SIZE_MAX / 8 / (size_t)shape[d])) {
            hd_set_error(HD_EINPUT, "%s: tensor '%s': dimension %d of %lld elements", hd_out_path(w->out), name, d,
                         (long long)shape[d]);
            return -1;
        }
        numel *= (size_t)shape[d];
    }
    bytes = numel * hd_dtype_size(dtype);
    if (json_object_get(w->hdr, name)) {
        hd_set_error(HD_EINPUT, "%s: duplicate tensor name '%s' (are two records named alike?)", hd_out_path(w->out), name);
        return -1;
    }
    /* "NAME":{"data_offsets":[B,E],"dtype":"T","shape":[d,...]}, : 60 bytes of syntax, 20 a number at most */
    if (header_full(w, json_len(name) + 60 + strlen(hd_dtype_name(dtype)) + 20 * (2 + (size_t)ndim), "tensor", name))
        return -1;
    json_t *js = json_array();
    for (int d = 0; d < ndim; d++) json_array_append_new(js, json_integer(shape[d]));
    if (bytes && fwrite(data, 1, bytes, w->spill) != bytes) {
        json_decref(js);
        hd_set_error(HD_ERESOURCE, "%s: cannot write temporary data: %s", hd_out_path(w->out), strerror(errno));
        return -1;
    }
    json_t *e = json_object();
    json_object_set_new(e, "dtype", json_string(hd_dtype_name(dtype)));
    json_object_set_new(e, "shape", js);
    json_t *off = json_array();
    json_array_append_new(off, json_integer((json_int_t)w->pos));
    json_array_append_new(off, json_integer((json_int_t)(w->pos + bytes)));
    json_object_set_new(e, "data_offsets", off);
    w->pos += bytes;   /* (the data is in the spill: the offsets of the next tensors count it in any case) */
    if (json_object_set_new(w->hdr, name, e)) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    return 0;
}

int hd_stw_meta(hd_stw *w, const char *key, const char *value)
{
    size_t bad;
    if (!value) value = "";
    int key_ok = hd_utf8_valid(key, &bad);
    if (!key_ok || !hd_utf8_valid(value, &bad)) {
        hd_set_error(HD_EINPUT, "%s: metadata entry '%s' is not UTF-8 (byte %zu of its %s)", hd_out_path(w->out), key,
                     bad + 1, key_ok ? "value" : "key");
        return -1;
    }
    if (!json_object_get(w->meta, key) && header_full(w, json_len(key) + json_len(value) + 2, "metadata entry", key))
        return -1;
    json_t *v = json_string(value);
    if (!v || json_object_set_new(w->meta, key, v)) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    return 0;
}

int hd_stw_meta_text(hd_stw *w, const char *key, const char *value)
{
    char *v = hd_utf8_escape(value ? value : "");
    int rc = v ? hd_stw_meta(w, key, v) : -1;
    free(v);
    return rc;
}

int hd_stw_close(hd_stw *w)
{
    int rc = -1;
    char *js = NULL;
    if (json_object_size(w->meta)) json_object_set(w->hdr, "__metadata__", w->meta);
    js = json_dumps(w->hdr, JSON_COMPACT | JSON_SORT_KEYS);
    if (!js) { hd_set_oom("the safetensors header"); goto out; }
    size_t n = strlen(js), padded = (n + 7) & ~(size_t)7;
    uint8_t len[8];
    for (int i = 0; i < 8; i++) len[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    FILE *fp = hd_out_fp(w->out);
    if (fwrite(len, 1, 8, fp) != 8 || fwrite(js, 1, n, fp) != n) goto werr;
    for (size_t i = n; i < padded; i++) if (fputc(' ', fp) == EOF) goto werr;
    if (fflush(w->spill) || fseeko(w->spill, 0, SEEK_SET)) goto werr;
    char buf[1 << 16];
    size_t r;
    while ((r = fread(buf, 1, sizeof buf, w->spill)) > 0)
        if (fwrite(buf, 1, r, fp) != r) goto werr;
    if (ferror(w->spill)) goto werr;
    rc = hd_out_close(w->out);
    w->out = NULL;
    goto out;
werr:
    hd_set_error(HD_ERESOURCE, "%s: write failed: %s", hd_out_path(w->out), strerror(errno));
out:
    free(js);
    if (w->out) hd_out_abort(w->out);
    fclose(w->spill);
    json_decref(w->hdr);
    json_decref(w->meta);
    free(w);
    return rc;
}

void hd_stw_abort(hd_stw *w)
{
    if (!w) return;
    if (w->out) hd_out_abort(w->out);
    fclose(w->spill);
    json_decref(w->hdr);
    json_decref(w->meta);
    free(w);
}
