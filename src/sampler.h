/* sampler.h -- choosing the next base from a causal model's logits, reproducibly: the uniform numbers come
 * from the seeded generator of rng.h (xoshiro256**), one stream per record and sample (hd_rng_stream), so
 * that the output depends on the seed alone, not on the order or the threads that run the records. */
#ifndef HD_SAMPLER_H
#define HD_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

/* How to sample: temperature 0 is greedy (argmax); top_k 0 and top_p 1 switch those filters off. */
typedef struct {
    double temperature;   /* ≥ 0 */
    int top_k;            /* 0 (off) or 1..4 */
    double top_p;         /* (0, 1] */
} hd_sampling;

/* The distribution over the four bases A, C, G, T whose token ids are ids[0..3]: softmax of their logits
 * divided by the temperature (the other tokens left out, so it is renormalised over the four), then the
 * top_k most likely kept, then the smallest set of most likely bases whose probability reaches top_p, then
 * renormalised → p[4] (zero for the bases filtered out).  Ties keep the order A, C, G, T.  Temperature 0:
 * all the mass on the first of the largest logits. */
void hd_base_probs(const float *logits, const int32_t ids[4], const hd_sampling *s, double p[4]);

/* One base (0..3 for A, C, G, T) drawn from hd_base_probs by inversion with one uniform number of r (one
 * per call, used or not: the k-th base of a stream always reads its k-th number). */
int hd_sample_base(const float *logits, const int32_t ids[4], const hd_sampling *s, hd_rng *r);

#endif
