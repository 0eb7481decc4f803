/* testutil.h -- helpers shared by the Criterion suites. */
#ifndef HD_TESTUTIL_H
#define HD_TESTUTIL_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"
#include "seqio.h"
#include "tokenizer.h"
#include "util.h"

/* relative Frobenius error ‖c − e‖ / ‖e‖ and max |c − e| */
static inline double rel_frob(const float *c, const float *e, size_t n, double *max_abs)
{
    double num = 0, den = 0, mx = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)c[i] - (double)e[i];
        num += d * d;
        den += (double)e[i] * e[i];
        if (fabs(d) > mx || isnan(d)) mx = isnan(d) ? INFINITY : fabs(d);
    }
    if (max_abs) *max_abs = mx;
    if (isnan(num)) return INFINITY;
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* float32 copy of a tensor of an open safetensors file (asserts it exists) */
static inline float *st_f32(hd_st *st, const char *name, size_t *n)
{
    const hd_tensor_info *t = hd_st_find(st, name);
    cr_assert_not_null(t, "tensor %s missing from %s", name, hd_st_path(st));
    float *v = malloc((t->numel ? t->numel : 1) * sizeof(float));
    hd_tensor_to_f32(t, v);
    if (n) *n = t->numel;
    return v;
}

/* A fixture record's ids (the character tokenizer, no special tokens), asserted equal to the set's tokens.NAME:
 * malloc'd, rec->len of them */
static inline int32_t *checked_tokens(hd_st *exp, const hd_seqrec *rec)
{
    size_t L = rec->len, n;
    char key[256];
    int32_t *ids = malloc((L ? L : 1) * sizeof *ids);
    cr_assert_eq(hd_tokenize(rec->seq, L, HD_SPECIAL_NONE, ids, rec->name), (long)L);
    snprintf(key, sizeof key, "tokens.%s", rec->name);
    float *tok = st_f32(exp, key, &n);
    cr_assert_eq(n, L, "%s: %zu tokens, the record has %zu bases", key, n, L);
    for (size_t i = 0; i < L; i++) cr_assert_eq(ids[i], (int32_t)tok[i], "%s: token %zu differs", key, i);
    free(tok);
    return ids;
}

/* Copy the safetensors file src into a new one at dst, each tensor passed through edit (NULL: all copied):
 * edit returns 1 when it wrote or dropped the tensor itself, 0 to have it copied as it is.  Returns the writer,
 * still open for more tensors; the caller closes it (hd_stw_close). */
typedef int (*st_edit_fn)(hd_stw *w, const hd_tensor_info *t, void *ud);
static inline hd_stw *st_copy(const char *src, const char *dst, st_edit_fn edit, void *ud)
{
    hd_st *st = hd_st_open(src);
    cr_assert_not_null(st, "%s", hd_error());
    hd_stw *w = hd_stw_open(dst);
    cr_assert_not_null(w, "%s", hd_error());
    for (int i = 0; i < hd_st_count(st); i++) {
        const hd_tensor_info *t = hd_st_get(st, i);
        if (!edit || !edit(w, t, ud))
            cr_assert_eq(hd_stw_add(w, t->name, t->dtype, t->ndim, t->shape, t->data), 0, "%s", hd_error());
    }
    hd_st_close(st);
    return w;
}

#define TESTDATA(p) HD_TESTDATA "/" p

static inline char *tmp_dir(void)
{
    char *d = strdup("/tmp/hdtest.XXXXXX");
    cr_assert_not_null(mkdtemp(d));
    return d;
}

static inline void rm_rf(const char *d)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    int rc = system(cmd);
    (void)rc;
}

#endif
