/* pickle.c -- restricted pickle reader (see pickle.h).  Opcode semantics follow CPython's Lib/pickle.py
 * (protocols 0-5); only the opcodes needed for PyTorch checkpoints are implemented, every other one is
 * an error.  Nothing is ever executed: globals are names, applied globals are placeholders. */
#include "pickle.h"
#include "util.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const hd_pk_limits hd_pk_default_limits = {
    .max_alloc = (size_t)1 << 30,
    .max_stack = (size_t)1 << 22,
    .max_marks = 1000,
    .max_memo = (size_t)1 << 24,
};

/* ---------------------------------------------------------------- arena */

typedef struct chunk {
    struct chunk *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
} chunk;

struct hd_pk {
    chunk *chunks;
    size_t allocated;
    hd_pk_limits lim;
    const char *name;
    const unsigned char *p;
    size_t n, pos;
    size_t op_pos;        /* offset of the opcode being run */
    hd_pkobj **stack;
    size_t sp, stack_cap;
    size_t *marks;
    size_t nmarks, marks_cap;
    hd_pkobj **memo;
    size_t memo_cap;
    size_t memo_next;     /* MEMOIZE index */
    int reduce_depth;
    hd_pkobj none, btrue, bfalse;
};

static void *arena(hd_pk *pk, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n > pk->lim.max_alloc || pk->allocated > pk->lim.max_alloc - n) {
        hd_set_error(HD_EMODEL, "%s: the pickle needs more than %zu MB of objects (limit)", pk->name,
                     pk->lim.max_alloc >> 20);
        return NULL;
    }
    chunk *c = pk->chunks;
    if (!c || c->size - c->used < n) {
        size_t sz = n > (1u << 20) ? n : (1u << 20);
        c = malloc(sizeof *c + sz);
        if (!c) { hd_set_error(HD_EMODEL, "%s: out of memory reading the pickle", pk->name); return NULL; }
        c->used = 0;
        c->size = sz;
        c->next = pk->chunks;
        pk->chunks = c;
    }
    void *r = c->data + c->used;
    c->used += n;
    pk->allocated += n;
    return r;
}

void hd_pk_free(hd_pk *pk)
{
    if (!pk) return;
    for (chunk *c = pk->chunks, *nx; c; c = nx) {
        nx = c->next;
        free(c);
    }
    free(pk->stack);
    free(pk->marks);
    free(pk->memo);
    free(pk);
}

/* ---------------------------------------------------------------- errors */

__attribute__((format(printf, 2, 3))) static void *fail(hd_pk *pk, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    unsigned op = pk->op_pos < pk->n ? pk->p[pk->op_pos] : 0;
    hd_set_error(HD_EMODEL, "%s: %s (opcode 0x%02x at byte %zu)", pk->name, msg, op, pk->op_pos);
    return NULL;
}

/* ---------------------------------------------------------------- objects */

static hd_pkobj *obj_new(hd_pk *pk, hd_pk_type t)
{
    hd_pkobj *o = arena(pk, sizeof *o);
    if (!o) return NULL;
    memset(o, 0, sizeof *o);
    o->type = t;
    return o;
}

static hd_pkobj *str_new(hd_pk *pk, hd_pk_type t, const void *s, size_t n)
{
    hd_pkobj *o = obj_new(pk, t);
    if (!o) return NULL;
    if (n == SIZE_MAX) return fail(pk, "string too long");
    char *d = arena(pk, n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    o->u.str.s = d;
    o->u.str.n = n;
    return o;
}

static int grow(hd_pk *pk, void **arr, size_t *cap, size_t need, size_t elsize)
{
    if (need <= *cap) return 0;
    size_t nc = *cap ? *cap : 4;
    while (nc < need) {
        if (nc > SIZE_MAX / 2) { fail(pk, "container too large"); return -1; }
        nc *= 2;
    }
    size_t bytes;
    if (hd_mul(nc, elsize, &bytes)) { fail(pk, "container too large"); return -1; }
    void *n = arena(pk, bytes);
    if (!n) return -1;
    if (*cap) memcpy(n, *arr, *cap * elsize);
    *arr = n;
    *cap = nc;
    return 0;
}

static int seq_push(hd_pk *pk, hd_pkobj *s, hd_pkobj *v)
{
    if (grow(pk, (void **)&s->u.seq.v, &s->u.seq.cap, s->u.seq.n + 1, sizeof(hd_pkobj *))) return -1;
    s->u.seq.v[s->u.seq.n++] = v;
    return 0;
}

static int dict_set(hd_pk *pk, hd_pkobj *d, hd_pkobj *k, hd_pkobj *v)
{
    size_t cap = d->u.dict.cap;
    if (grow(pk, (void **)&d->u.dict.k, &cap, d->u.dict.n + 1, sizeof(hd_pkobj *))) return -1;
    cap = d->u.dict.cap;
    if (grow(pk, (void **)&d->u.dict.v, &cap, d->u.dict.n + 1, sizeof(hd_pkobj *))) return -1;
    d->u.dict.cap = cap;
    d->u.dict.k[d->u.dict.n] = k;
    d->u.dict.v[d->u.dict.n++] = v;
    return 0;
}

hd_pkobj *hd_pk_dict_get(const hd_pkobj *d, const char *key)
{
    if (!d || d->type != HD_PK_DICT) return NULL;
    size_t kl = strlen(key);
    hd_pkobj *found = NULL;   /* the last one wins, as in Python */
    for (size_t i = 0; i < d->u.dict.n; i++) {
        const hd_pkobj *k = d->u.dict.k[i];
        if (k->type == HD_PK_STR && k->u.str.n == kl && !memcmp(k->u.str.s, key, kl)) found = d->u.dict.v[i];
    }
    return found;
}

int hd_pk_is_global(const hd_pkobj *o, const char *module, const char *name)
{
    return o && o->type == HD_PK_GLOBAL && !strcmp(o->u.global.module, module) && !strcmp(o->u.global.name, name);
}

const char *hd_pk_describe(const hd_pkobj *o, char *buf, size_t n)
{
    static const char *names[] = {"None", "bool", "int", "float", "str", "bytes", "tuple", "list", "dict",
                                  "global", "object", "storage", "tensor"};
    if (!o) snprintf(buf, n, "nothing");
    else if (o->type == HD_PK_GLOBAL) snprintf(buf, n, "%s.%s", o->u.global.module, o->u.global.name);
    else if (o->type == HD_PK_OBJECT && o->u.obj.cls && o->u.obj.cls->type == HD_PK_GLOBAL)
        snprintf(buf, n, "%s.%s object", o->u.obj.cls->u.global.module, o->u.obj.cls->u.global.name);
    else snprintf(buf, n, "%s", names[o->type]);
    return buf;
}

/* ---------------------------------------------------------------- stream */

static const unsigned char *take(hd_pk *pk, size_t k)
{
    if (k > pk->n - pk->pos) {
        fail(pk, "truncated: %zu more bytes needed, the stream ends at byte %zu", k, pk->n);
        return NULL;
    }
    const unsigned char *r = pk->p + pk->pos;
    pk->pos += k;
    return r;
}

static int take_u(hd_pk *pk, int k, uint64_t *v)
{
    const unsigned char *b = take(pk, (size_t)k);
    if (!b) return -1;
    uint64_t x = 0;
    for (int i = k - 1; i >= 0; i--) x = x << 8 | b[i];
    *v = x;
    return 0;
}

/* a text line (protocol 0 GLOBAL and friends), without the newline */
static const char *take_line(hd_pk *pk, size_t *len)
{
    size_t max = pk->n - pk->pos < 4096 ? pk->n - pk->pos : 4096;
    const unsigned char *s = pk->p + pk->pos;
    const unsigned char *nl = memchr(s, '\n', max);
    if (!nl) {
        fail(pk, max == 4096 ? "text argument longer than 4096 bytes" : "truncated: unterminated text argument");
        return NULL;
    }
    *len = (size_t)(nl - s);
    pk->pos += *len + 1;
    return (const char *)s;
}

/* ---------------------------------------------------------------- stack */

static int push(hd_pk *pk, hd_pkobj *o)
{
    if (!o) return -1;
    if (pk->sp == pk->stack_cap) {
        if (pk->sp >= pk->lim.max_stack) { fail(pk, "more than %zu values on the stack (limit)", pk->lim.max_stack); return -1; }
        size_t nc = pk->stack_cap ? pk->stack_cap * 2 : 64;
        if (nc > pk->lim.max_stack) nc = pk->lim.max_stack;
        hd_pkobj **s = realloc(pk->stack, nc * sizeof *s);
        if (!s) { fail(pk, "out of memory"); return -1; }
        pk->stack = s;
        pk->stack_cap = nc;
    }
    pk->stack[pk->sp++] = o;
    return 0;
}

static size_t floor_(hd_pk *pk) { return pk->nmarks ? pk->marks[pk->nmarks - 1] : 0; }

static hd_pkobj *pop(hd_pk *pk)
{
    if (pk->sp <= floor_(pk)) return fail(pk, "stack underflow");
    return pk->stack[--pk->sp];
}

static hd_pkobj *top(hd_pk *pk)
{
    if (pk->sp <= floor_(pk)) return fail(pk, "stack underflow");
    return pk->stack[pk->sp - 1];
}

/* pop to the last MARK: returns the index of the first item; the items stay in stack[k..old sp) */
/* &stack[k]; NULL while nothing was ever pushed (NULL + 0 is undefined behaviour in C: fuzz finding) */
static hd_pkobj **stack_at(hd_pk *pk, size_t k) { return pk->stack ? pk->stack + k : NULL; }

static int pop_mark(hd_pk *pk, size_t *k, size_t *cnt)
{
    if (!pk->nmarks) { fail(pk, "no MARK on the stack"); return -1; }
    *k = pk->marks[--pk->nmarks];
    *cnt = pk->sp - *k;
    pk->sp = *k;
    return 0;
}

static hd_pkobj *make_seq(hd_pk *pk, hd_pk_type t, hd_pkobj **items, size_t cnt)
{
    hd_pkobj *o = obj_new(pk, t);
    if (!o) return NULL;
    for (size_t i = 0; i < cnt; i++)
        if (seq_push(pk, o, items[i])) return NULL;
    return o;
}

/* ---------------------------------------------------------------- memo */

static int memo_put(hd_pk *pk, uint64_t idx)
{
    if (idx >= pk->lim.max_memo || idx >= pk->n) {
        fail(pk, "memo index %" PRIu64 " out of range (the limit for this stream is %zu)", idx,
             pk->lim.max_memo < pk->n ? pk->lim.max_memo : pk->n);
        return -1;
    }
    hd_pkobj *t = top(pk);
    if (!t) return -1;
    if (idx >= pk->memo_cap) {
        size_t nc = pk->memo_cap ? pk->memo_cap : 256;
        while (nc <= idx) nc *= 2;
        hd_pkobj **m = realloc(pk->memo, nc * sizeof *m);
        if (!m) { fail(pk, "out of memory"); return -1; }
        memset(m + pk->memo_cap, 0, (nc - pk->memo_cap) * sizeof *m);
        pk->memo = m;
        pk->memo_cap = nc;
    }
    pk->memo[idx] = t;
    return 0;
}

static int memo_get(hd_pk *pk, uint64_t idx)
{
    if (idx >= pk->memo_cap || !pk->memo[idx]) {
        fail(pk, "memo index %" PRIu64 " was never set", idx);
        return -1;
    }
    return push(pk, pk->memo[idx]);
}

/* ---------------------------------------------------------------- torch objects */

static const struct { const char *name; int dtype; size_t elsize; } storage_types[] = {
    {"FloatStorage", HD_F32, 4},        {"HalfStorage", HD_F16, 2},     {"BFloat16Storage", HD_BF16, 2},
    {"LongStorage", HD_I64, 8},         {"IntStorage", HD_I32, 4},      {"DoubleStorage", -1, 8},
    {"ShortStorage", -1, 2},            {"CharStorage", -1, 1},         {"ByteStorage", -1, 1},
    {"BoolStorage", -1, 1},             {"ComplexFloatStorage", -1, 8}, {"ComplexDoubleStorage", -1, 16},
    {"QInt8Storage", -1, 1},            {"QUInt8Storage", -1, 1},       {"QInt32Storage", -1, 4},
    {"QUInt4x2Storage", -1, 1},         {"QUInt2x4Storage", -1, 1},     {"UntypedStorage", -1, 1},
    {"Float8_e5m2Storage", -1, 1},      {"Float8_e4m3fnStorage", -1, 1},
};

static hd_pkobj *persistent_load(hd_pk *pk, hd_pkobj *pid)
{
    if (pid->type != HD_PK_TUPLE || pid->u.seq.n != 5 || pid->u.seq.v[0]->type != HD_PK_STR ||
        strcmp(pid->u.seq.v[0]->u.str.s, "storage"))
        return fail(pk, "unsupported persistent id (expected ('storage', type, key, location, numel))");
    hd_pkobj **v = pid->u.seq.v;
    if (v[1]->type != HD_PK_GLOBAL || (strcmp(v[1]->u.global.module, "torch") && strcmp(v[1]->u.global.module, "torch.storage")))
        return fail(pk, "persistent id: the storage type is not a torch storage class");
    if (v[2]->type != HD_PK_STR || !v[2]->u.str.n || v[2]->u.str.n > 255 || strlen(v[2]->u.str.s) != v[2]->u.str.n ||
        strchr(v[2]->u.str.s, '/'))
        return fail(pk, "persistent id: bad storage key");
    if (v[3]->type != HD_PK_STR) return fail(pk, "persistent id: the location is not a string");
    if (v[4]->type != HD_PK_INT || v[4]->u.i < 0) return fail(pk, "persistent id: bad element count");
    hd_pkobj *s = obj_new(pk, HD_PK_STORAGE);
    if (!s) return NULL;
    const char *tn = v[1]->u.global.name;
    size_t k;
    for (k = 0; k < sizeof storage_types / sizeof *storage_types; k++)
        if (!strcmp(storage_types[k].name, tn)) break;
    if (k == sizeof storage_types / sizeof *storage_types) return fail(pk, "unknown storage type torch.%s", tn);
    s->u.storage.type = storage_types[k].name;
    s->u.storage.dtype = storage_types[k].dtype;
    s->u.storage.elsize = storage_types[k].elsize;
    s->u.storage.key = v[2]->u.str.s;
    s->u.storage.location = v[3]->u.str.s;
    s->u.storage.numel = v[4]->u.i;
    return s;
}

/* a tuple of non-negative ints (a torch.Size placeholder wrapping one is accepted too) */
static int int_tuple(hd_pkobj *o, int64_t *out, int *n)
{
    if (o && o->type == HD_PK_OBJECT && hd_pk_is_global(o->u.obj.cls, "torch", "Size") && o->u.obj.args &&
        o->u.obj.args->u.seq.n == 1)
        o = o->u.obj.args->u.seq.v[0];
    if (!o || (o->type != HD_PK_TUPLE && o->type != HD_PK_LIST)) return -1;
    if (o->u.seq.n > HD_MAX_DIMS) return -2;
    for (size_t i = 0; i < o->u.seq.n; i++) {
        if (o->u.seq.v[i]->type != HD_PK_INT || o->u.seq.v[i]->u.i < 0) return -1;
        out[i] = o->u.seq.v[i]->u.i;
    }
    *n = (int)o->u.seq.n;
    return 0;
}

static hd_pkobj *rebuild_tensor(hd_pk *pk, hd_pkobj *args)
{
    if (args->u.seq.n < 4) return fail(pk, "_rebuild_tensor_v2: %zu arguments, expected at least 4", args->u.seq.n);
    hd_pkobj *st = args->u.seq.v[0], *off = args->u.seq.v[1];
    if (st->type != HD_PK_STORAGE) return fail(pk, "_rebuild_tensor_v2: the first argument is not a storage");
    if (off->type != HD_PK_INT || off->u.i < 0) return fail(pk, "_rebuild_tensor_v2: bad storage offset");
    hd_pkobj *t = obj_new(pk, HD_PK_TENSOR);
    if (!t) return NULL;
    int nd, ns;
    int r = int_tuple(args->u.seq.v[2], t->u.tensor.shape, &nd);
    if (r == -2) return fail(pk, "_rebuild_tensor_v2: more than %d dimensions", HD_MAX_DIMS);
    if (r || int_tuple(args->u.seq.v[3], t->u.tensor.stride, &ns) || ns != nd)
        return fail(pk, "_rebuild_tensor_v2: size and stride are not tuples of non-negative integers of one length");
    t->u.tensor.storage = st;
    t->u.tensor.offset = off->u.i;
    t->u.tensor.ndim = nd;
    /* bounds: every element addressed lies inside the storage */
    uint64_t numel = 1, last = (uint64_t)off->u.i;
    for (int d = 0; d < nd; d++) {
        if (__builtin_mul_overflow(numel, (uint64_t)t->u.tensor.shape[d], &numel))
            return fail(pk, "_rebuild_tensor_v2: element count overflows");
    }
    if (numel) {
        for (int d = 0; d < nd; d++) {
            uint64_t span;
            if (__builtin_mul_overflow((uint64_t)(t->u.tensor.shape[d] - 1), (uint64_t)t->u.tensor.stride[d], &span) ||
                __builtin_add_overflow(last, span, &last))
                return fail(pk, "_rebuild_tensor_v2: extent overflows");
        }
        if (last >= (uint64_t)st->u.storage.numel)
            return fail(pk, "_rebuild_tensor_v2: the tensor reaches element %" PRIu64 " of storage '%s' of %" PRId64
                        " elements", last, st->u.storage.key, st->u.storage.numel);
    } else if ((uint64_t)off->u.i > (uint64_t)st->u.storage.numel)
        return fail(pk, "_rebuild_tensor_v2: offset beyond storage '%s'", st->u.storage.key);
    return t;
}

static hd_pkobj *placeholder(hd_pk *pk, hd_pkobj *cls, hd_pkobj *args)
{
    hd_pkobj *o = obj_new(pk, HD_PK_OBJECT);
    if (!o) return NULL;
    o->u.obj.cls = cls;
    o->u.obj.args = args;
    return o;
}

/* REDUCE: a few known torch/collections callables are interpreted; everything else is a placeholder */
static hd_pkobj *call(hd_pk *pk, hd_pkobj *fn, hd_pkobj *args)
{
    if (args->type != HD_PK_TUPLE) return placeholder(pk, fn, NULL);
    if (fn->type != HD_PK_GLOBAL) return placeholder(pk, fn, args);
    const char *m = fn->u.global.module, *n = fn->u.global.name;
    if (!strcmp(m, "torch._utils") && (!strcmp(n, "_rebuild_tensor_v2") || !strcmp(n, "_rebuild_tensor")))
        return rebuild_tensor(pk, args);
    if (!strcmp(m, "torch._utils") && (!strcmp(n, "_rebuild_parameter") || !strcmp(n, "_rebuild_parameter_with_state")))
        return args->u.seq.n >= 1 && args->u.seq.v[0]->type == HD_PK_TENSOR ? args->u.seq.v[0] : placeholder(pk, fn, args);
    if (!strcmp(m, "torch._tensor") && !strcmp(n, "_rebuild_from_type_v2") && args->u.seq.n >= 3 &&
        args->u.seq.v[2]->type == HD_PK_TUPLE) {
        if (pk->reduce_depth >= 8) return fail(pk, "_rebuild_from_type_v2 nested too deeply");
        pk->reduce_depth++;
        hd_pkobj *r = call(pk, args->u.seq.v[0], args->u.seq.v[2]);
        pk->reduce_depth--;
        return r;
    }
    if (!strcmp(m, "collections") && !strcmp(n, "OrderedDict")) {
        hd_pkobj *d = obj_new(pk, HD_PK_DICT);
        if (!d) return NULL;
        if (args->u.seq.n >= 1 && args->u.seq.v[0]->type == HD_PK_LIST) {
            hd_pkobj *l = args->u.seq.v[0];
            for (size_t i = 0; i < l->u.seq.n; i++) {
                hd_pkobj *kv = l->u.seq.v[i];
                if ((kv->type != HD_PK_TUPLE && kv->type != HD_PK_LIST) || kv->u.seq.n != 2)
                    return fail(pk, "OrderedDict: item %zu is not a (key, value) pair", i);
                if (dict_set(pk, d, kv->u.seq.v[0], kv->u.seq.v[1])) return NULL;
            }
        }
        return d;
    }
    return placeholder(pk, fn, args);
}

/* ---------------------------------------------------------------- the loop */

static hd_pkobj *global_new(hd_pk *pk, const char *mod, size_t ml, const char *name, size_t nl)
{
    hd_pkobj *g = obj_new(pk, HD_PK_GLOBAL);
    hd_pkobj *a = str_new(pk, HD_PK_STR, mod, ml), *b = str_new(pk, HD_PK_STR, name, nl);
    if (!g || !a || !b) return NULL;
    /* Python 2 names of the builtins (protocol 2 writes __builtin__) */
    g->u.global.module = !strcmp(a->u.str.s, "__builtin__") ? "builtins" : a->u.str.s;
    g->u.global.name = b->u.str.s;
    return g;
}

static hd_pkobj *int_from_le(hd_pk *pk, const unsigned char *b, size_t k)
{
    hd_pkobj *o;
    if (k > 8) {   /* a Python long beyond 64 bits: kept as an opaque value */
        hd_pkobj *g = global_new(pk, "builtins", 8, "int", 3);
        return g ? placeholder(pk, g, NULL) : NULL;
    }
    uint64_t x = 0;
    for (size_t i = k; i-- > 0;) x = x << 8 | b[i];
    if (k && k < 8 && (b[k - 1] & 0x80)) x |= ~(uint64_t)0 << (8 * k);   /* sign-extend */
    if (!(o = obj_new(pk, HD_PK_INT))) return NULL;
    o->u.i = (int64_t)x;
    return o;
}

static int run(hd_pk *pk, hd_pkobj **root)
{
    for (;;) {
        pk->op_pos = pk->pos;
        const unsigned char *opb = take(pk, 1);
        if (!opb) return -1;
        unsigned op = *opb;
        uint64_t u;
        const unsigned char *b;
        hd_pkobj *o, *a, *c;
        size_t k, cnt, len;
        const char *line;
        switch (op) {
        case 0x80: /* PROTO */
            if (take_u(pk, 1, &u)) return -1;
            if (u > 5) { fail(pk, "pickle protocol %" PRIu64 " is not supported (0-5)", u); return -1; }
            break;
        case 0x95: /* FRAME */
            if (take_u(pk, 8, &u)) return -1;
            if (u > pk->n - pk->pos) { fail(pk, "truncated: frame of %" PRIu64 " bytes", u); return -1; }
            break;
        case '.': /* STOP */
            if (!(o = pop(pk))) return -1;
            *root = o;
            return 0;
        case '(': /* MARK */
            if (pk->nmarks >= pk->lim.max_marks) {
                fail(pk, "nesting deeper than %zu levels (limit)", pk->lim.max_marks);
                return -1;
            }
            if (pk->nmarks == pk->marks_cap) {
                size_t nc = pk->marks_cap ? pk->marks_cap * 2 : 32;
                size_t *mk = realloc(pk->marks, nc * sizeof *mk);
                if (!mk) { fail(pk, "out of memory"); return -1; }
                pk->marks = mk;
                pk->marks_cap = nc;
            }
            pk->marks[pk->nmarks++] = pk->sp;
            break;
        case '0': /* POP */
            if (pk->sp > floor_(pk)) pk->sp--;
            else if (pop_mark(pk, &k, &cnt)) return -1;
            break;
        case '1': /* POP_MARK */
            if (pop_mark(pk, &k, &cnt)) return -1;
            break;
        case '2': /* DUP */
            if (!(o = top(pk)) || push(pk, o)) return -1;
            break;
        case 'N': if (push(pk, &pk->none)) return -1; break;
        case 0x88: if (push(pk, &pk->btrue)) return -1; break;
        case 0x89: if (push(pk, &pk->bfalse)) return -1; break;
        case 'J': /* BININT */
            if (!(b = take(pk, 4)) || push(pk, int_from_le(pk, b, 4))) return -1;
            break;
        case 'K': /* BININT1 */
            if (take_u(pk, 1, &u) || !(o = obj_new(pk, HD_PK_INT))) return -1;
            o->u.i = (int64_t)u;
            if (push(pk, o)) return -1;
            break;
        case 'M': /* BININT2 */
            if (take_u(pk, 2, &u) || !(o = obj_new(pk, HD_PK_INT))) return -1;
            o->u.i = (int64_t)u;
            if (push(pk, o)) return -1;
            break;
        case 0x8a: /* LONG1 */
        case 0x8b: /* LONG4 */
            if (take_u(pk, op == 0x8a ? 1 : 4, &u)) return -1;
            if (!(b = take(pk, (size_t)u)) || push(pk, int_from_le(pk, b, (size_t)u))) return -1;
            break;
        case 'I': /* INT (text) */
        case 'L': /* LONG (text) */
        {
            if (!(line = take_line(pk, &len))) return -1;
            char tmp[64];
            if (len == 0 || len >= sizeof tmp) { fail(pk, "bad text integer"); return -1; }
            memcpy(tmp, line, len);
            tmp[len] = 0;
            if (op == 'L' && tmp[len - 1] == 'L') tmp[len - 1] = 0;
            if (op == 'I' && !strcmp(tmp, "00")) { if (push(pk, &pk->bfalse)) return -1; break; }
            if (op == 'I' && !strcmp(tmp, "01")) { if (push(pk, &pk->btrue)) return -1; break; }
            char *end;
            long long v = strtoll(tmp, &end, 10);
            if (*end || end == tmp) { fail(pk, "bad text integer"); return -1; }
            if (!(o = obj_new(pk, HD_PK_INT))) return -1;
            o->u.i = v;
            if (push(pk, o)) return -1;
            break;
        }
        case 'F': /* FLOAT (text) */
        {
            if (!(line = take_line(pk, &len))) return -1;
            char tmp[64];
            if (len == 0 || len >= sizeof tmp) { fail(pk, "bad text float"); return -1; }
            memcpy(tmp, line, len);
            tmp[len] = 0;
            char *end;
            double v = strtod(tmp, &end);
            if (*end) { fail(pk, "bad text float"); return -1; }
            if (!(o = obj_new(pk, HD_PK_FLOAT))) return -1;
            o->u.f = v;
            if (push(pk, o)) return -1;
            break;
        }
        case 'G': /* BINFLOAT, big-endian */
        {
            if (!(b = take(pk, 8)) || !(o = obj_new(pk, HD_PK_FLOAT))) return -1;
            uint64_t x = 0;
            for (int i = 0; i < 8; i++) x = x << 8 | b[i];
            memcpy(&o->u.f, &x, 8);
            if (push(pk, o)) return -1;
            break;
        }
        case 'X': case 0x8c: case 0x8d: /* BINUNICODE, SHORT_BINUNICODE, BINUNICODE8 */
        case 'T': case 'U':             /* BINSTRING, SHORT_BINSTRING (py2 str) */
        case 'B': case 'C': case 0x8e:  /* BINBYTES, SHORT_BINBYTES, BINBYTES8 */
        case 0x96:                      /* BYTEARRAY8 */
        {
            int w = (op == 0x8c || op == 'U' || op == 'C') ? 1 : (op == 0x8d || op == 0x8e || op == 0x96) ? 8 : 4;
            if (take_u(pk, w, &u)) return -1;
            if (!(b = take(pk, (size_t)u < u ? SIZE_MAX : (size_t)u))) return -1;
            int text = op == 'X' || op == 0x8c || op == 0x8d || op == 'T' || op == 'U';
            if (push(pk, str_new(pk, text ? HD_PK_STR : HD_PK_BYTES, b, (size_t)u))) return -1;
            break;
        }
        case ')': if (push(pk, obj_new(pk, HD_PK_TUPLE))) return -1; break;
        case ']': if (push(pk, obj_new(pk, HD_PK_LIST))) return -1; break;
        case '}': if (push(pk, obj_new(pk, HD_PK_DICT))) return -1; break;
        case 0x8f: if (push(pk, obj_new(pk, HD_PK_LIST))) return -1; break;   /* EMPTY_SET: kept as a list */
        case 0x85: case 0x86: case 0x87: /* TUPLE1..3 */
            cnt = op - 0x84;
            if (pk->sp < floor_(pk) + cnt) { fail(pk, "stack underflow"); return -1; }
            pk->sp -= cnt;
            if (push(pk, make_seq(pk, HD_PK_TUPLE, pk->stack + pk->sp, cnt))) return -1;
            break;
        case 't': case 'l': case 0x91: /* TUPLE, LIST, FROZENSET */
            if (pop_mark(pk, &k, &cnt)) return -1;
            if (push(pk, make_seq(pk, op == 'l' ? HD_PK_LIST : HD_PK_TUPLE, stack_at(pk, k), cnt))) return -1;
            break;
        case 'd': /* DICT */
            if (pop_mark(pk, &k, &cnt)) return -1;
            if (cnt % 2) { fail(pk, "odd number of items for a dict"); return -1; }
            if (!(o = obj_new(pk, HD_PK_DICT))) return -1;
            for (size_t i = 0; i < cnt; i += 2)
                if (dict_set(pk, o, pk->stack[k + i], pk->stack[k + i + 1])) return -1;
            if (push(pk, o)) return -1;
            break;
        case 'a': /* APPEND */
        case 'e': /* APPENDS */
        case 0x90: /* ADDITEMS */
        {
            hd_pkobj **items;
            if (op == 'a') {
                if (!(a = pop(pk))) return -1;
                items = &a;
                cnt = 1;
            } else {
                if (pop_mark(pk, &k, &cnt)) return -1;
                items = stack_at(pk, k);
            }
            if (!(c = top(pk))) return -1;
            if (c->type == HD_PK_OBJECT) {
                if (!c->u.obj.list && !(c->u.obj.list = obj_new(pk, HD_PK_LIST))) return -1;
                c = c->u.obj.list;
            }
            if (c->type != HD_PK_LIST) { fail(pk, "cannot append to a %s", hd_pk_describe(c, (char[64]){0}, 64)); return -1; }
            for (size_t i = 0; i < cnt; i++)
                if (seq_push(pk, c, items[i])) return -1;
            break;
        }
        case 's': /* SETITEM */
        case 'u': /* SETITEMS */
        {
            hd_pkobj **items, *kv[2];
            if (op == 's') {
                if (!(kv[1] = pop(pk)) || !(kv[0] = pop(pk))) return -1;
                items = kv;
                cnt = 2;
            } else {
                if (pop_mark(pk, &k, &cnt)) return -1;
                if (cnt % 2) { fail(pk, "odd number of items for SETITEMS"); return -1; }
                items = stack_at(pk, k);
            }
            if (!(c = top(pk))) return -1;
            if (c->type == HD_PK_OBJECT) {
                if (!c->u.obj.items && !(c->u.obj.items = obj_new(pk, HD_PK_DICT))) return -1;
                c = c->u.obj.items;
            }
            if (c->type != HD_PK_DICT) { fail(pk, "cannot set items of a %s", hd_pk_describe(c, (char[64]){0}, 64)); return -1; }
            for (size_t i = 0; i < cnt; i += 2)
                if (dict_set(pk, c, items[i], items[i + 1])) return -1;
            break;
        }
        case 'c': /* GLOBAL */
        {
            size_t ml, nl;
            const char *mod = take_line(pk, &ml);
            if (!mod) return -1;
            const char *name = take_line(pk, &nl);
            if (!name || push(pk, global_new(pk, mod, ml, name, nl))) return -1;
            break;
        }
        case 0x93: /* STACK_GLOBAL */
        {
            hd_pkobj *name = pop(pk), *mod = name ? pop(pk) : NULL;
            if (!mod) return -1;
            if (mod->type != HD_PK_STR || name->type != HD_PK_STR) { fail(pk, "STACK_GLOBAL needs two strings"); return -1; }
            if (push(pk, global_new(pk, mod->u.str.s, mod->u.str.n, name->u.str.s, name->u.str.n))) return -1;
            break;
        }
        case 'R': /* REDUCE */
            if (!(a = pop(pk)) || !(c = pop(pk))) return -1;
            if (push(pk, call(pk, c, a))) return -1;
            break;
        case 0x81: /* NEWOBJ */
            if (!(a = pop(pk)) || !(c = pop(pk))) return -1;
            if (hd_pk_is_global(c, "collections", "OrderedDict") && a->type == HD_PK_TUPLE) o = call(pk, c, a);
            else o = placeholder(pk, c, a->type == HD_PK_TUPLE ? a : NULL);
            if (push(pk, o)) return -1;
            break;
        case 0x92: /* NEWOBJ_EX */
            if (!pop(pk) || !(a = pop(pk)) || !(c = pop(pk))) return -1;
            if (push(pk, placeholder(pk, c, a->type == HD_PK_TUPLE ? a : NULL))) return -1;
            break;
        case 'b': /* BUILD */
            if (!(a = pop(pk)) || !(c = top(pk))) return -1;
            if (c->type == HD_PK_OBJECT) c->u.obj.state = a;
            /* state of a dict (OrderedDict._metadata) or of a tensor (Parameter): not needed */
            break;
        case 'i': /* INST */
        {
            size_t ml, nl;
            const char *mod = take_line(pk, &ml);
            const char *name = mod ? take_line(pk, &nl) : NULL;
            if (!name || pop_mark(pk, &k, &cnt)) return -1;
            hd_pkobj *args = make_seq(pk, HD_PK_TUPLE, stack_at(pk, k), cnt);
            hd_pkobj *g = args ? global_new(pk, mod, ml, name, nl) : NULL;
            if (!g || push(pk, placeholder(pk, g, args))) return -1;
            break;
        }
        case 'o': /* OBJ */
            if (pop_mark(pk, &k, &cnt)) return -1;
            if (!cnt) { fail(pk, "OBJ without a class"); return -1; }
            if (!(a = make_seq(pk, HD_PK_TUPLE, pk->stack + k + 1, cnt - 1))) return -1;
            if (push(pk, placeholder(pk, pk->stack[k], a))) return -1;
            break;
        case 'Q': /* BINPERSID */
            if (!(a = pop(pk))) return -1;
            if (push(pk, persistent_load(pk, a))) return -1;
            break;
        case 'q': case 'r': /* BINPUT, LONG_BINPUT */
            if (take_u(pk, op == 'q' ? 1 : 4, &u) || memo_put(pk, u)) return -1;
            break;
        case 0x94: /* MEMOIZE */
            if (memo_put(pk, pk->memo_next)) return -1;
            pk->memo_next++;
            break;
        case 'h': case 'j': /* BINGET, LONG_BINGET */
            if (take_u(pk, op == 'h' ? 1 : 4, &u) || memo_get(pk, u)) return -1;
            break;
        case 'p': case 'g': /* PUT, GET (text) */
        {
            if (!(line = take_line(pk, &len))) return -1;
            char tmp[32];
            if (len == 0 || len >= sizeof tmp) { fail(pk, "bad memo index"); return -1; }
            memcpy(tmp, line, len);
            tmp[len] = 0;
            char *end;
            unsigned long long v = strtoull(tmp, &end, 10);
            if (*end || tmp[0] == '-') { fail(pk, "bad memo index"); return -1; }
            if (op == 'p' ? memo_put(pk, v) : memo_get(pk, v)) return -1;
            break;
        }
        case 'P': fail(pk, "text persistent ids (PERSID) are not supported"); return -1;
        case 0x82: case 0x83: case 0x84: fail(pk, "extension registry codes (EXT1/2/4) are not supported"); return -1;
        case 0x97: case 0x98: fail(pk, "out-of-band buffers are not supported"); return -1;
        case 'S': case 'V': fail(pk, "protocol-0 string opcodes are not supported"); return -1;
        default: fail(pk, "unknown opcode"); return -1;
        }
    }
}

hd_pk *hd_pk_load(const void *buf, size_t n, const char *name, const hd_pk_limits *lim, hd_pkobj **root)
{
    hd_pk *pk = calloc(1, sizeof *pk);
    if (!pk) { hd_set_error(HD_EMODEL, "%s: out of memory", name); return NULL; }
    pk->lim = lim ? *lim : hd_pk_default_limits;
    pk->name = name;
    pk->p = buf;
    pk->n = n;
    pk->none.type = HD_PK_NONE;
    pk->btrue.type = pk->bfalse.type = HD_PK_BOOL;
    pk->btrue.u.i = 1;
    *root = NULL;
    if (run(pk, root) < 0) {
        hd_pk_free(pk);
        return NULL;
    }
    /* the shared singletons must not be handed out as part of a freed reader: they live in pk */
    return pk;
}
