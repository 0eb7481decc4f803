/* safetensors.h -- read (mmap, fully validated) and write safetensors files. */
#ifndef HD_SAFETENSORS_H
#define HD_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

typedef enum { HD_F32, HD_F16, HD_BF16, HD_I64, HD_I32, HD_DTYPE_COUNT } hd_dtype;

#define HD_MAX_DIMS 8

typedef struct {
    char *name;
    hd_dtype dtype;
    int ndim;
    int64_t shape[HD_MAX_DIMS];
    size_t numel;
    size_t begin, end;     /* byte span relative to the data area */
    const void *data;      /* points into the mapping (or buffer) */
} hd_tensor_info;

typedef struct hd_st hd_st;

/* Open and validate a file (mmap).  NULL on failure, with hd_error() naming the file. */
hd_st *hd_st_open(const char *path);
/* Validate a buffer already in memory (the buffer must outlive the handle).  `name` is used in messages. */
hd_st *hd_st_from_buffer(const void *buf, size_t size, const char *name);
/* A table over tensors already in memory (e.g. mapped from a PyTorch checkpoint): the infos and names are
 * copied, the data is not (it must outlive the handle).  meta_json: a JSON object of strings or NULL;
 * file_size: what hd_st_file_size reports. */
hd_st *hd_st_from_tensors(const hd_tensor_info *t, int n, const char *name, const char *meta_json, size_t file_size);
/* A sharded model (Hugging Face's MODEL.safetensors.index.json: {"weight_map": {TENSOR: SHARD FILE}}, the shards
 * beside it): one table over the tensors the index lists, each shard opened as hd_st_open does.  NULL on failure,
 * with the index (and the shard) named.  hd_st_is_index_name: does the path end in ".safetensors.index.json"? */
hd_st *hd_st_open_index(const char *path);
int hd_st_is_index_name(const char *path);
void hd_st_close(hd_st *st);

const char *hd_st_path(const hd_st *st);
size_t hd_st_file_size(const hd_st *st);
int hd_st_count(const hd_st *st);
const hd_tensor_info *hd_st_get(const hd_st *st, int i);
const hd_tensor_info *hd_st_find(const hd_st *st, const char *name);
int hd_st_index(const hd_st *st, const char *name);   /* -1 when absent */
const char *hd_st_meta(const hd_st *st, const char *key);

const char *hd_dtype_name(hd_dtype t);
size_t hd_dtype_size(hd_dtype t);

/* Copy a tensor to float32 (F32/F16/BF16 converted; integer types converted too). */
int hd_tensor_to_f32(const hd_tensor_info *t, float *dst);
/* Copy an integer tensor (I32/I64) to int64. */
int hd_tensor_to_i64(const hd_tensor_info *t, int64_t *dst);

/* ---- writer: tensors are spilled to a temporary file as they come and the final file
 * (header + data) is written next to the destination and renamed into place on close.
 * Path "-" streams the finished file to stdout. */
typedef struct hd_stw hd_stw;
hd_stw *hd_stw_open(const char *path);
int hd_stw_add(hd_stw *w, const char *name, hd_dtype dtype, int ndim, const int64_t *shape, const void *data);
int hd_stw_meta(hd_stw *w, const char *key, const char *value);
/* The same for a value that only informs (a path): bytes that are not UTF-8 are written as \xNN. */
int hd_stw_meta_text(hd_stw *w, const char *key, const char *value);
int hd_stw_close(hd_stw *w);    /* 0 on success; on failure nothing is left under the final name */
void hd_stw_abort(hd_stw *w);

#endif
