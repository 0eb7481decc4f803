/* classify_sample.c -- the seeded choices of classify (the generator of rng.h): the examples per class
 * (shots) and the stratified cross-validation folds (see classify.h). */
#include "classify.h"

#include <stdlib.h>

#include "util.h"

/* ================================================================== shots and folds */

size_t hd_pick_shots(const hd_lset *s, const size_t *subset, size_t n_subset, int shots, uint64_t seed, size_t *out,
                     size_t *counts)
{
    hd_rng r;
    hd_rng_init(&r, seed);
    size_t total = 0;
    if (!subset) n_subset = s->n;
    for (int c = 0; c < s->n_classes; c++) {
        size_t k = 0;
        for (size_t j = 0; j < n_subset; j++) {
            size_t i = subset ? subset[j] : j;
            if (s->v[i].label == c) out[total + k++] = i;
        }
        hd_shuffle_idx(&r, out + total, k);
        if (shots > 0 && k > (size_t)shots) k = (size_t)shots;
        counts[c] = k;
        total += k;
    }
    return total;
}

int hd_stratified_folds(const hd_lset *s, int k, uint64_t seed, int *fold)
{
    hd_rng r;
    hd_rng_init(&r, seed ^ 0x6a09e667f3bcc908ULL);
    size_t *idx = malloc((s->n ? s->n : 1) * sizeof *idx);
    if (!idx) { hd_set_oom(NULL); return -1; }
    for (int c = 0; c < s->n_classes; c++) {
        size_t m = 0;
        for (size_t i = 0; i < s->n; i++)
            if (s->v[i].label == c) idx[m++] = i;
        if (m < (size_t)k) {
            hd_set_error(HD_EINPUT, "class '%s' has %zu records, fewer than the %d folds", s->classes[c], m, k);
            free(idx);
            return -1;
        }
        hd_shuffle_idx(&r, idx, m);
        for (size_t j = 0; j < m; j++) fold[idx[j]] = (int)(j % (size_t)k);
    }
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].label < 0) fold[i] = -1;
    free(idx);
    return 0;
}
