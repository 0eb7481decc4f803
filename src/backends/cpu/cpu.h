/* cpu.h -- the parts of the CPU backend (src/backends/cpu/), for its own files: the public entry point
 * is hd_backend_cpu_new in backend.h. */
#ifndef HD_BACKENDS_CPU_H
#define HD_BACKENDS_CPU_H

#include "backend.h"

/* Fill in the ops of one family's file: the Mamba (Caduceus) ops (mamba.c), the DNA-xLSTM ops (xlstm.c)
 * and the Evo 2 ops (evo2.c).  Called by hd_backend_cpu_new (cpu.c). */
void hd_backend_cpu_mamba_init(hd_backend *be);
void hd_backend_cpu_xlstm_init(hd_backend *be);
void hd_backend_cpu_evo2_init(hd_backend *be);

#endif
