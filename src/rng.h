/* rng.h -- the seeded pseudo-random generator of libhyenadna: xoshiro256** (Blackman and Vigna, 2018), its
 * 256-bit state filled from a 64-bit seed by splitmix64.  Integer arithmetic only: a seed gives the same
 * numbers on every platform and compiler. */
#ifndef HD_RNG_H
#define HD_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct { uint64_t s[4]; } hd_rng;

void hd_rng_init(hd_rng *r, uint64_t seed);          /* state from splitmix64(seed) */
/* An independent stream per (seed, a, b) (e.g. record and sample): seeded from a splitmix64 mix of the three. */
void hd_rng_stream(hd_rng *r, uint64_t seed, uint64_t a, uint64_t b);
uint64_t hd_rng_next(hd_rng *r);
double hd_rng_uniform(hd_rng *r);                    /* [0, 1), 53 random bits */
uint64_t hd_rng_below(hd_rng *r, uint64_t n);        /* uniform in [0, n), unbiased (rejection); n > 0 */
void hd_shuffle_idx(hd_rng *r, size_t *v, size_t n); /* Fisher-Yates */

#endif
