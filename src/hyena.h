/* hyena.h -- HyenaDNA-specific entry points beyond the generic model interface. */
#ifndef HD_HYENA_H
#define HD_HYENA_H

#include <stddef.h>

struct hd_model;
struct hd_backend;

/* The modulated implicit long filter k of block `layer` for positions 0..L−1, written as [L, (O−1)·d_model]
 * for hyena_order O (host memory; [L, d_model] at order 2; order step s in columns s·d_model..).  It depends
 * only on the weights (docs/models.md §3.4.4, §3.4.5). */
int hd_hyena_filter(struct hd_model *m, struct hd_backend *be, int layer, size_t L, float *out);

/* The exponential-modulation shift (0.05 in the public inference code, 0.0 on the training path). */
void hd_hyena_set_shift(struct hd_model *m, float shift);

#endif
