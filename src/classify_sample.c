/* classify_sample.c -- the seeded choices of classify: PRNG (splitmix64 + xoshiro256**), the examples
 * per class (shots) and the stratified cross-validation folds (see classify.h). */
#include "classify.h"

#include <stdlib.h>

#include "util.h"

/* ================================================================== PRNG */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void hd_rng_init(hd_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t hd_rng_next(hd_rng *r)
{
    uint64_t *s = r->s;
    uint64_t res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return res;
}

uint64_t hd_rng_below(hd_rng *r, uint64_t n)
{
    /* reject the top partial block so that every residue is equally likely */
    uint64_t lim = UINT64_MAX - UINT64_MAX % n, x;
    do x = hd_rng_next(r);
    while (x >= lim);
    return x % n;
}

void hd_shuffle_idx(hd_rng *r, size_t *v, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)hd_rng_below(r, i), t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}
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
