/* pickle.h -- a restricted reader of Python pickles: just enough to rebuild the tensors of a PyTorch checkpoint.
 *
 * The reader never imports or calls anything.  It knows a handful of globals by name
 * (torch._utils._rebuild_tensor_v2 and friends, collections.OrderedDict) and turns every other global
 * that a REDUCE/NEWOBJ/BUILD applies into an inert placeholder object that records its class, arguments
 * and state.  Storages come from BINPERSID ids ('storage', <StorageType>, key, location, numel) and are
 * only described here; the caller maps their keys to data.  Every resource is bounded (see hd_pk_limits):
 * a hostile stream can only produce an error.  All objects live in one arena freed by hd_pk_free. */
#ifndef HD_PICKLE_H
#define HD_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "safetensors.h"

typedef enum {
    HD_PK_NONE, HD_PK_BOOL, HD_PK_INT, HD_PK_FLOAT, HD_PK_STR, HD_PK_BYTES,
    HD_PK_TUPLE, HD_PK_LIST, HD_PK_DICT,
    HD_PK_GLOBAL,    /* a class or function named by GLOBAL/STACK_GLOBAL (never resolved) */
    HD_PK_OBJECT,    /* placeholder: an unknown global applied to arguments */
    HD_PK_STORAGE,   /* a persistent storage reference */
    HD_PK_TENSOR
} hd_pk_type;

typedef struct hd_pkobj hd_pkobj;
struct hd_pkobj {
    hd_pk_type type;
    int mark;                                          /* scratch flag for cycle-safe walkers */
    union {
        int64_t i;                                     /* BOOL, INT */
        double f;                                      /* FLOAT */
        struct { const char *s; size_t n; } str;       /* STR (UTF-8), BYTES; NUL-terminated */
        struct { hd_pkobj **v; size_t n, cap; } seq;   /* TUPLE, LIST */
        struct { hd_pkobj **k, **v; size_t n, cap; } dict;
        struct { const char *module, *name; } global;
        struct {
            hd_pkobj *cls;      /* usually a GLOBAL */
            hd_pkobj *args;     /* TUPLE or NULL */
            hd_pkobj *state;    /* BUILD argument or NULL */
            hd_pkobj *items;    /* DICT filled by SETITEM(S) on the object, or NULL */
            hd_pkobj *list;     /* LIST filled by APPEND(S) on the object, or NULL */
        } obj;
        struct {
            const char *type;   /* storage class name, e.g. "FloatStorage" */
            const char *key;    /* names the entry <archive>/data/<key> */
            const char *location;
            int64_t numel;      /* elements */
            int dtype;          /* hd_dtype, or -1 when the type has no hd_dtype */
            size_t elsize;      /* bytes per element */
        } storage;
        struct {
            hd_pkobj *storage;  /* a STORAGE */
            int64_t offset;     /* in elements */
            int ndim;
            int64_t shape[HD_MAX_DIMS], stride[HD_MAX_DIMS];   /* strides in elements */
        } tensor;
    } u;
};

typedef struct {
    size_t max_alloc;   /* bytes of objects, strings and arrays */
    size_t max_stack;   /* entries on the value stack */
    size_t max_marks;   /* nesting depth of MARKs */
    size_t max_memo;    /* memo slots (also at most the stream length) */
} hd_pk_limits;

extern const hd_pk_limits hd_pk_default_limits;

typedef struct hd_pk hd_pk;

/* Interpret a pickle.  `name` is used in messages ("FILE: data.pkl").  lim may be NULL (defaults).
 * Returns the reader (owning every object) with *root set, or NULL with hd_error() set. */
hd_pk *hd_pk_load(const void *buf, size_t n, const char *name, const hd_pk_limits *lim, hd_pkobj **root);
void hd_pk_free(hd_pk *pk);

/* Helpers for the consumers. */
hd_pkobj *hd_pk_dict_get(const hd_pkobj *d, const char *key);   /* string key of a DICT, or NULL */
int hd_pk_is_global(const hd_pkobj *o, const char *module, const char *name);
/* Short description for messages: "dict", "tensor", "omegaconf.dictconfig.DictConfig object", ... */
const char *hd_pk_describe(const hd_pkobj *o, char *buf, size_t n);

#endif
