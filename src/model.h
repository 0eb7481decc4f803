/* model.h -- a loaded model: weights (mmap'd safetensors), config, family and hyper-parameters.
 *
 * A model is opened from a directory holding config.json (or model_config.json) + model.safetensors,
 * the layout of the public Hugging Face checkpoints, or from a single .safetensors file whose
 * __metadata__ holds the config JSON under "config" (else a config.json beside it). */
#ifndef HD_MODEL_H
#define HD_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "safetensors.h"

struct json_t;
struct hd_backend;

typedef enum { HD_FAM_UNKNOWN = 0, HD_FAM_HYENA, HD_FAM_CADUCEUS, HD_FAM_XLSTM, HD_FAM_EVO2 } hd_family;

/* How a model turns bases into ids: the 12-token character vocabulary (docs/models.md §2) or one id per byte
 * (Evo 2, docs/models.md §6.3). */
typedef enum { HD_TOKENIZER_CHAR = 0, HD_TOKENIZER_BYTES } hd_tokenizer_kind;

typedef struct hd_model hd_model;

/* What a forward pass should produce.  Every pointer may be NULL. */
typedef struct {
    float *hidden;    /* [L, d_hidden]: final normed hidden state, or the residual after block `layer` */
    float *logits;    /* [L, n_logits] */
    int layer;        /* -1: final norm output; K >= 0: residual stream after block K (0-based) */
    /* logits and final hidden state (layer −1) are needed only at positions ≥ from (0: all): the rows before
     * it may be left unwritten.  A hint a family may ignore (HyenaDNA then skips the position-wise work after
     * the last long convolution on those rows); the rows from `from` on are exactly those of a full forward.
     * Not with on_block or layer ≥ 0 (every row computed). */
    size_t from;
    /* called with the residual stream [L, d_hidden] after each block (for tests and --layer) */
    void (*on_block)(void *ud, int layer, const float *resid, size_t L, int width);
    void *ud;
    /* sub-module outputs (family-specific "taps", see hd_model_parse_layer, e.g. Evo 2's blocks.K.mlp.l3):
     * on_tap is called with each tap listed in taps[0..n_taps) as the forward pass produces it, x [L, width]
     * in host memory */
    const int *taps;
    int n_taps;
    void (*on_tap)(void *ud, int tap, const float *x, size_t L, int width);
} hd_fwd;

/* Incremental (cached) decoding of a causal model: prefill a prompt once, then one token per step.
 * A family that supports it fills in decoder_new; the returned object carries its own vtable, so the
 * family keeps its state (FIR caches, recurrent states, KV cache...) private.  The logits of every step
 * equal those of a full forward over the same prefix (to rounding, rel_F ≤ 1e-4).  Families may size
 * their state from the capacity max_len given at creation (HyenaDNA keeps O(d·(max_len − prompt)) per
 * layer), so ask for what will be used.  Cost per step: docs/models.md §3.4 (HyenaDNA), §5.7–5.8
 * (DNA-xLSTM), §6.8 (Evo 2). */
typedef struct hd_decoder hd_decoder;
struct hd_decoder {
    hd_model *m;
    struct hd_backend *be;
    size_t pos;       /* tokens consumed so far (prompt + steps) */
    size_t max_len;   /* capacity chosen at creation (≤ the model's max_len when it has one) */
    /* Consume the n prompt tokens (one batched forward, not token by token); logits of the last prompt
     * position → logits [n_logits] (may be NULL).  Called at most once, before any step; n ≥ 1. */
    int (*prefill)(hd_decoder *d, const int32_t *ids, size_t n, float *logits);
    /* Consume one token; its logits (the prediction of the next token) → logits [n_logits]. */
    int (*step)(hd_decoder *d, int32_t id, float *logits);
    void (*free)(hd_decoder *d);
    /* Optional (NULL: not supported): an independent copy of the state after the prefill and steps so
     * far, e.g. to draw several samples from one prefill; NULL + hd_error on failure.  The wrapper copies
     * pos and max_len. */
    hd_decoder *(*fork)(hd_decoder *d);
};

typedef struct hd_family_ops {
    const char *name;
    int (*load)(hd_model *m);                  /* read config, resolve tensors, fill m->impl */
    void (*free)(hd_model *m);
    int (*forward)(hd_model *m, struct hd_backend *be, const int32_t *ids, size_t L, hd_fwd *f);
    /* NULL when the family has no cached decoding (masked models); else a decoder for up to max_len
     * tokens, NULL + hd_error on failure */
    hd_decoder *(*decoder_new)(hd_model *m, struct hd_backend *be, size_t max_len);
    /* the backend ops decoder_new calls besides `needs` (HyenaDNA, DNA-xLSTM: per-step ops the GPU does not
     * have, so that their forwards still run there); NULL: none */
    const struct hd_op *decode_needs;
    /* NULL when the family has no named sub-module outputs; else the tap id (≥ 0) of `name`, -1 when `name` is
     * no sub-module name, -2 (error set) when it names a sub-module of a block the model does not have */
    int (*tap)(hd_model *m, const char *name);
    /* the backend ops forward and decoder_new call (backend.h: HD_OP(...), ..., HD_OPS_END), declared next
     * to the family's forward pass: hd_model_forward runs the model on a backend that has them all */
    const struct hd_op *needs;
    /* FLOPs of the dense matrix products (GEMMs) of one forward over L tokens, 2 per multiply-add, counted from
     * the model's shapes (see hd_model_gemm_flops); NULL when the family does not say */
    double (*gemm_flops)(const hd_model *m, size_t L, int logits);
} hd_family_ops;

struct hd_model {
    hd_family family;
    const hd_family_ops *ops;
    char *location;          /* as given to hd_model_open */
    char *weights_path;
    char *config_path;       /* NULL when the config came from the safetensors metadata */
    char *config_note;       /* how the config was found (for `info`): "given with -c", a shipped config and why... */
    struct hd_ckpt *ckpt;    /* a PyTorch checkpoint read in place (the tensors of st point into its mapping) */
    hd_st *st;
    struct json_t *config_root;   /* the whole config document */
    struct json_t *config;        /* the object holding the hyper-parameters */

    /* hyper-parameters common to every family */
    int d_model;
    int n_layer;
    long max_len;            /* longest input in tokens; 0 = no limit */
    int vocab_size;          /* real vocabulary (12) */
    int n_logits;            /* columns of the LM head output */
    int d_hidden;            /* width of the hidden output (2·d_model for Caduceus-PS, DNA-xLSTM bidir) */
    int causal;              /* 1: next-token LM (HyenaDNA); 0: masked LM */
    int bos_id;              /* start token a causal family's inputs begin with (generation from an empty
                              * prompt starts from it); -1: none (HyenaDNA, DNA-xLSTM) */
    int rc_equivariant;      /* 1: PS (2·d_model channels whose halves conjoin): Caduceus-PS, DNA-xLSTM PS */
    int rc_approximate;      /* 1: PS but not exactly equivariant (DNA-xLSTM: head-reversed RC half, docs §5.9) */
    char variant[96];        /* e.g. "PH", "PS", "mLSTM" */
    hd_tokenizer_kind tokenizer;
    int keep_case;           /* byte tokenizer: feed soft-masked (lower-case) bases as they are (default: upper-case) */
    char precision[64];      /* weights in memory, e.g. "float32", "bfloat16 matrices, float32 vectors" */

    /* bookkeeping of the tensors */
    unsigned char *used;     /* per tensor of st: 1 learned, 2 buffer, 3 alias/ignored */
    char **canon;            /* per tensor: canonical name (family prefix stripped) */
    char **notes;            /* aliased or defaulted tensors, for `info` */
    int n_notes;
    void **owned;            /* converted copies */
    int n_owned;

    char *cfg_error;         /* the first config value of the wrong type hd_cfg_bool/hd_cfg_str met while loading:
                              * the load fails with it (docs/models.md §1: never silently ignored) */
    struct hd_vocab *vocab;  /* NULL: the common token ids (§2); else the model's own, translated (vocab.h) */
    uint64_t uid;            /* unique per opened model and setting (keys backend caches) */
    void *impl;              /* family state */
};

/* Open a model; NULL with hd_error() on failure (hd_error_kind() == HD_EMODEL). */
hd_model *hd_model_open(const char *location);
/* The weights file of a model directory: model.safetensors, else (any_st: a Hugging Face snapshot, which holds
 * only what was pulled) the single other *.safetensors, else pytorch_model.bin, else the single PyTorch checkpoint
 * (*.ckpt, *.pt, *.pth, *.bin; optimizer and training state passed over).  A plain directory's other
 * .safetensors files are not taken: they may be outputs written there.  NULL with *n = 0 when there is none,
 * with *n > 1 when the first kind found is ambiguous (*second, if given, then names one of them; free it). */
char *hd_dir_weights(const char *dir, int any_st, int *n, char **second);
/* The same with an explicit config file (JSON, or YAML by its .yml/.yaml suffix); config NULL: as hd_model_open.
 * A directory may hold model.safetensors or a PyTorch checkpoint (hd_dir_weights), and config.json,
 * model_config.json, config.yml/.yaml or a single other YAML file (.yml, .yaml). */
hd_model *hd_model_open_with(const char *location, const char *config);
/* The config a weights file given without one uses when it carries none itself: config.json or model_config.json
 * beside it, else in the run folder of a Lightning checkpoint (RUN/checkpoints[/SUB]/x.ckpt).  A malloc'd path
 * (and *note, malloc'd, saying where, e.g. "config.json beside the weights"), or NULL when there is none. */
char *hd_model_config_beside(const char *weights, char **note);
void hd_model_close(hd_model *m);

const char *hd_family_name(hd_family f);
/* The family's operations; NULL for HD_FAM_UNKNOWN or past the last family (so that
 * `for (f = HD_FAM_UNKNOWN + 1; hd_family_ops_of(f); f++)` visits every family). */
const hd_family_ops *hd_family_ops_of(hd_family f);
uint64_t hd_new_uid(void);   /* a fresh cache key */

/* Run the model.  ids: token ids; L must be <= max_len when max_len > 0. */
int hd_model_forward(hd_model *m, struct hd_backend *be, const int32_t *ids, size_t L, hd_fwd *f);

/* Cached decoding (see hd_decoder).  hd_decoder_new fails with HD_EINPUT for a masked model or a family
 * without a decoder, and when max_len exceeds the model's maximum length.  prefill/step check the
 * token ids and the capacity (HD_EINPUT "reached the maximum length of N tokens"). */
hd_decoder *hd_decoder_new(hd_model *m, struct hd_backend *be, size_t max_len);
int hd_decoder_prefill(hd_decoder *d, const int32_t *ids, size_t n, float *logits);
int hd_decoder_step(hd_decoder *d, int32_t id, float *logits);
/* A copy of d's state (d->fork; a family without one, d->fork NULL, prefills again instead); NULL +
 * hd_error on failure or without d->fork. */
hd_decoder *hd_decoder_fork(hd_decoder *d);
void hd_decoder_free(hd_decoder *d);

/* Tokenize bases as the model expects (character vocabulary, or bytes upper-cased unless m->keep_case; the
 * byte tokenizer has no special tokens: sp must be HD_SPECIAL_NONE).  Room for n + extra ids; returns the count
 * or -1 with an error naming `record` and the 1-based position. */
long hd_model_tokenize(const hd_model *m, const char *seq, size_t n, int sp, int32_t *ids, const char *record);
/* Can the model take the special tokens sp (tokenizer.h)?  0, or -1 with an HD_EINPUT error saying why not: the
 * byte tokenizer has none (docs/models.md §6.3), a model with its own vocabulary may lack [CLS] or [SEP] (§2,
 * PlantCaduceus).  Checked once before any input is read (forward --special). */
int hd_model_special_check(const hd_model *m, int sp);
/* Token id of base id b (HD_TOK_A..HD_TOK_N of tokenizer.h) in this model's vocabulary (its logit column). */
int hd_model_base_token(const hd_model *m, int b);

/* --layer NAME: a block index K ("K": the residual stream after block K: *block = K, *tap = -1) or a family
 * sub-module name (Evo 2: "blocks.K.mlp.l3": *block = -1, *tap ≥ 0), K in decimal digits without a leading
 * zero (one spelling per layer: forward's tensor keys hold the name).  -1 with HD_EINPUT naming the choices. */
int hd_model_parse_layer(hd_model *m, const char *name, int *block, int *tap);

/* FLOPs of the dense matrix products of one forward over L tokens (2 per multiply-add), with the LM head when
 * logits is set: every projection (linear, headwise), the HyenaDNA implicit-filter MLP over L positions and
 * Evo 2's attention products over the causal triangle; not the FFT convolutions, short filters, scans,
 * recurrent cells, norms or activations.  The counts per family are next to each forward pass
 * (docs/models.md §3.4, §4.5, §5.6–§5.8, §6.10).  0 when the family has no counter. */
double hd_model_gemm_flops(const hd_model *m, size_t L, int logits);

/* Learned parameters stored in the file (buffers such as pos_emb.z/t, deltas excluded). */
size_t hd_model_n_params(const hd_model *m);

/* ---- for the family loaders ---- */

/* Config access: the key is looked up in m->config, then in the nested objects listed by the family
 * ("layer" for Lightning HyenaDNA).  Missing key: `def` is returned, or with required=1 an error. */
int hd_cfg_int(hd_model *m, const char *key, long def, int required, long lo, long hi, long *out);
int hd_cfg_num(hd_model *m, const char *key, double def, double *out);
/* The same within [lo, hi], else an error naming the key and the range. */
int hd_cfg_num_in(hd_model *m, const char *key, double def, double lo, double hi, double *out);
/* A boolean (true/false, or an integer: non-zero is true) or a string; missing or null: def / NULL.  A value of
 * another type (the string "false", a list) returns def / NULL and is recorded in m->cfg_error, which fails the
 * load once the family's load returns. */
int hd_cfg_bool(hd_model *m, const char *key, int def);
const char *hd_cfg_str(hd_model *m, const char *key);
struct json_t *hd_cfg_get(hd_model *m, const char *key);

/* Look a tensor up by canonical name (printf-style), check its shape (dims of size 1 are ignored in
 * the comparison, so [1,1,D] matches [D]) and return float32 data (mmap'd when possible).
 * kind: 1 learned parameter, 2 fixed buffer.  NULL with an error naming the tensor and the file. */
const float *hd_model_f32(hd_model *m, int kind, const int64_t *shape, int ndim, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Same, returning NULL without error when absent. */
const float *hd_model_f32_opt(hd_model *m, int kind, const int64_t *shape, int ndim, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* A weight in its stored precision: F32 and BF16 data are returned in place (mmap'd; *dtype says which),
 * F16 is converted to F32; checked for shape and non-finite values as hd_model_f32. */
const void *hd_model_weight(hd_model *m, int kind, const int64_t *shape, int ndim, hd_dtype *dtype, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Index of the first non-finite BF16 value of v[0, n), or n: the check hd_model_weight makes (internal; tensors
 * of 8M values or more are cut into hd_load_threads() parts scanned by threads of their own). */
size_t hd_bf16_first_nonfinite(const uint16_t *v, size_t n);
const hd_tensor_info *hd_model_tensor(hd_model *m, const char *canon);   /* NULL when absent */
int hd_model_mark(hd_model *m, const char *canon, int kind);              /* 0 when found */
void hd_model_note(hd_model *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Display name of a canonical name (the name as stored in the file, or the canonical name). */
const char *hd_model_display(hd_model *m, const char *canon);

#define HD_SHAPE(...) ((const int64_t[]){__VA_ARGS__}), (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t))

/* families */
extern const hd_family_ops hd_hyena_ops;
extern const hd_family_ops hd_caduceus_ops;
extern const hd_family_ops hd_xlstm_ops;
extern const hd_family_ops hd_evo2_ops;

#endif
