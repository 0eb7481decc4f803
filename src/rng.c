/* rng.c -- splitmix64 + xoshiro256** (rng.h). */
#include "rng.h"

/* splitmix64 (Steele, Lea and Flood, 2014) */
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

void hd_rng_stream(hd_rng *r, uint64_t seed, uint64_t a, uint64_t b)
{
    uint64_t x = seed, h = splitmix64(&x);
    x = h ^ a;
    h = splitmix64(&x);
    x = h ^ b;
    hd_rng_init(r, splitmix64(&x));
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

double hd_rng_uniform(hd_rng *r) { return (double)(hd_rng_next(r) >> 11) * 0x1.0p-53; }

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
