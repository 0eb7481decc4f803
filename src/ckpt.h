/* ckpt.h -- PyTorch checkpoints (.ckpt, .bin, .pt: torch.save zip archives) read without Python.
 *
 * The zip container is parsed on the bytes of an mmap'd file (central directory, ZIP64, bounds-checked
 * local headers; stored entries are used in place, deflated ones inflated), data.pkl is interpreted by
 * the restricted pickle reader (pickle.h), and the model's state dict is pulled out: the Lightning
 * `state_dict`, a `model` entry, or a bare state dict.  Metric entries (`torchmetrics`) and non-tensor
 * values are dropped, tensors that are the same view of the same storage as an earlier one are dropped
 * as aliases, and the model config is recovered from Lightning `hyper_parameters` (omegaconf
 * DictConfig/ListConfig/nodes are read from their pickled state) when present. */
#ifndef HD_CKPT_H
#define HD_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "pickle.h"
#include "safetensors.h"

typedef struct {
    char *name;            /* as in the state dict */
    hd_dtype dtype;
    int ndim;
    int64_t shape[HD_MAX_DIMS];
    size_t numel, nbytes;
    const void *data;      /* row-major; into the mapping, or a copy owned by the checkpoint */
} hd_ckpt_tensor;

/* An `_extra_state` entry (a pickled io.BytesIO holding a nested torch.save archive, docs/models.md §6.2). */
enum { HD_XS_UNREADABLE = 0, HD_XS_NONE, HD_XS_FP8, HD_XS_OTHER };
typedef struct {
    char *name;            /* state-dict key, e.g. "blocks.0.projections._extra_state" */
    int kind;              /* HD_XS_NONE: torch.save(None); HD_XS_FP8: Transformer Engine FP8 scaling state
                            * (scale_fwd ... and extra_fp8_variables); HD_XS_OTHER; HD_XS_UNREADABLE */
    size_t nbytes;
    double fp8_max_fwd;    /* HD_XS_FP8: extra_fp8_variables.fp8_max_fwd (448 for E4M3), 0 when absent */
    float scale_fwd[4];    /* HD_XS_FP8: the first values of scale_fwd ([input, weight, output]) */
    int n_scale;
} hd_ckpt_extra;

typedef struct hd_ckpt {
    char *path;
    const char *source;    /* where the state dict was found: "state_dict", "model", "(top level)" */
    hd_ckpt_tensor *t;     /* kept tensors, in state-dict order */
    int n;
    char **report;         /* "dropped\tNAME\tWHY", "aliased\tNAME\tSAME-AS", ... in file order */
    int n_report;
    char *config_json;     /* model config recovered from hyper_parameters, or NULL */
    const char *config_from;   /* e.g. "hyper_parameters.model" */
    hd_ckpt_extra *extra;  /* the BytesIO `_extra_state` entries of the state dict (dropped from t) */
    int n_extra;
    void *priv;
} hd_ckpt;

/* What a file is: 1 torch zip ("PK"), 2 legacy torch serialization (pre-1.6 pickle or tar), 0 other,
 * -1 unreadable (no error set: the caller's open reports it). */
int hd_ckpt_sniff(const char *path);

/* A sharded PyTorch checkpoint, which is not read (docs/models.md §1): `path` is its index (*.index.json other
 * than a safetensors index), a directory holding one, or a file an index beside it names as a shard.  Returns 1
 * with hd_error() naming the index, the shard count and what to do instead; 0 otherwise. */
int hd_ckpt_sharded(const char *path);

/* Open a checkpoint: NULL with hd_error() naming the file on failure (also a shard of a sharded checkpoint). */
hd_ckpt *hd_ckpt_open(const char *path);
/* The same on bytes in memory (the buffer must outlive the handle); lim NULL = defaults. */
hd_ckpt *hd_ckpt_open_buffer(const void *buf, size_t n, const char *name, const hd_pk_limits *lim);
void hd_ckpt_close(hd_ckpt *c);

/* A safetensors image of the kept tensors (hd_alloc'd; free with free()).  __metadata__ holds
 * format=pt, source=<file name> and, when config_json is not NULL, config=<config_json>. */
void *hd_ckpt_image(const hd_ckpt *c, const char *config_json, size_t *size);

/* The kept tensors as a safetensors file at `path` (atomic: hd_out), streamed from the mapping.  __metadata__
 * as hd_ckpt_image, plus the key/value pairs of meta_kv (NULL-terminated, may be NULL). */
int hd_ckpt_write(const hd_ckpt *c, const char *config_json, const char *const *meta_kv, const char *path);

/* For hd_model_open: the checkpoint's kept tensors as a table over the mapped file (no copy; BF16 and F32
 * stay as stored).  The checkpoint stays open in *keep (close it after the table). */
hd_st *hd_ckpt_load_st(const char *path, hd_ckpt **keep);

#endif
