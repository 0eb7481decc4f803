/* catalog.h -- the public checkpoints hyenadna knows of (`hyenadna models`): one table, in catalog.c. */
#ifndef HD_CATALOG_H
#define HD_CATALOG_H

#include <stddef.h>

typedef struct {
    const char *repo;        /* OWNER/REPO on the Hugging Face Hub; NULL when the weights are elsewhere */
    const char *name;        /* the release's own name */
    const char *family;      /* as hd_family_name() says it: hyenadna, caduceus, xlstm, evo2 */
    const char *variant;     /* PH, PS, PlantCaduceus, mLSTM, ... */
    const char *params;      /* parameter count as published ("0.44M", "7B") */
    long context;            /* training context in bases */
    const char *objective;   /* "next-base" (causal LM) or "masked" (masked LM) */
    const char *format;      /* weights as published: safetensors, PyTorch .bin/.pt, Lightning .ckpt */
    const char *needs;       /* NULL, or what a build must provide beyond the family: "fp8" */
    const char *source;      /* where to get weights that are not on the Hub */
} hd_catalog_entry;

size_t hd_catalog_size(void);
const hd_catalog_entry *hd_catalog_get(size_t i);

/* The entry named `name` (n bytes): its release name or its repository's name without the owner, letter case
 * ignored (a user's "hyenadna-tiny-1k" for hf:LongSafari/hyenadna-tiny-1k-seqlen-hf); NULL when none. */
const hd_catalog_entry *hd_catalog_find(const char *name, size_t n);

/* Can this build load the entry?  1 yes; 0 no, with *why (a static string) saying what is missing. */
int hd_catalog_supported(const hd_catalog_entry *e, const char **why);

/* Is the entry's repository in the local Hugging Face cache (at main, with its weights and its config: a
 * snapshot left partial is not)?  Reads the cache only. */
int hd_catalog_cached(const hd_catalog_entry *e);

#endif
