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

typedef struct hd_ckpt {
    char *path;
    const char *source;    /* where the state dict was found: "state_dict", "model", "(top level)" */
    hd_ckpt_tensor *t;     /* kept tensors, in state-dict order */
    int n;
    char **report;         /* "dropped\tNAME\tWHY", "aliased\tNAME\tSAME-AS", ... in file order */
    int n_report;
    char *config_json;     /* model config recovered from hyper_parameters, or NULL */
    const char *config_from;   /* e.g. "hyper_parameters.model" */
    void *priv;
} hd_ckpt;

/* What a file is: 1 torch zip ("PK"), 2 legacy torch serialization (pre-1.6 pickle or tar), 0 other,
 * -1 unreadable (no error set: the caller's open reports it). */
int hd_ckpt_sniff(const char *path);

/* Open a checkpoint: NULL with hd_error() naming the file on failure. */
hd_ckpt *hd_ckpt_open(const char *path);
/* The same on bytes in memory (the buffer must outlive the handle); lim NULL = defaults. */
hd_ckpt *hd_ckpt_open_buffer(const void *buf, size_t n, const char *name, const hd_pk_limits *lim);
void hd_ckpt_close(hd_ckpt *c);

/* A safetensors image of the kept tensors (hd_alloc'd; free with free()).  __metadata__ holds
 * format=pt, source=<file name> and, when config_json is not NULL, config=<config_json>. */
void *hd_ckpt_image(const hd_ckpt *c, const char *config_json, size_t *size);

/* For hd_model_open: convert the checkpoint in memory and open the image; the image is appended to
 * (*owned)[*n_owned] so that it lives as long as the model. */
hd_st *hd_ckpt_load_st(const char *path, void ***owned, int *n_owned);

#endif
