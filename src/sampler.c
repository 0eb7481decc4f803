/* sampler.c -- seeded base sampling (sampler.h). */
#include "sampler.h"

#include <math.h>

void hd_base_probs(const float *logits, const int32_t ids[4], const hd_sampling *s, double p[4])
{
    double l[4], mx = -INFINITY;
    int best = 0;
    for (int i = 0; i < 4; i++) {
        l[i] = isnan(logits[ids[i]]) ? -INFINITY : logits[ids[i]];
        if (l[i] > mx) mx = l[i], best = i;
    }
    if (s->temperature <= 0 || !isfinite(mx)) {
        for (int i = 0; i < 4; i++) p[i] = i == best;
        return;
    }
    double tot = 0;
    for (int i = 0; i < 4; i++) tot += p[i] = exp((l[i] - mx) / s->temperature);
    for (int i = 0; i < 4; i++) p[i] /= tot;
    /* the bases by decreasing probability, ties in A, C, G, T order */
    int ord[4] = {0, 1, 2, 3};
    for (int i = 1; i < 4; i++)
        for (int j = i; j > 0 && p[ord[j]] > p[ord[j - 1]]; j--) {
            int t = ord[j]; ord[j] = ord[j - 1]; ord[j - 1] = t;
        }
    int keep = s->top_k > 0 && s->top_k < 4 ? s->top_k : 4;
    tot = 0;
    for (int i = 0; i < keep; i++) tot += p[ord[i]];
    if (s->top_p < 1) {
        /* the nucleus of the top-k bases' distribution renormalised, as the reference samplers filter
         * (top-k first, then top-p over the softmax of what is left) */
        double cum = 0;
        for (int i = 0; i < keep; i++) {
            cum += p[ord[i]] / tot;
            if (cum >= s->top_p) { keep = i + 1; break; }
        }
        tot = 0;
        for (int i = 0; i < keep; i++) tot += p[ord[i]];
    }
    for (int i = keep; i < 4; i++) p[ord[i]] = 0;
    for (int i = 0; i < keep; i++) p[ord[i]] /= tot;
}

int hd_sample_base(const float *logits, const int32_t ids[4], const hd_sampling *s, hd_rng *r)
{
    double p[4], u = hd_rng_uniform(r), cum = 0;
    hd_base_probs(logits, ids, s, p);
    int last = 0;
    for (int i = 0; i < 4; i++) {
        if (p[i] <= 0) continue;
        last = i;
        cum += p[i];
        if (u < cum) return i;
    }
    return last;   /* u within rounding of 1 */
}
