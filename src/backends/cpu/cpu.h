/* cpu.h -- the parts of the CPU backend (src/backends/cpu/), for its own files: the public entry point
 * is hd_backend_cpu_new in backend.h. */
#ifndef HD_BACKENDS_CPU_H
#define HD_BACKENDS_CPU_H

#include "backend.h"

#include <stdlib.h>
#include <string.h>

/* The widest vector instruction set the hand-vectorised kernels (mamba.c, xlstm.c) may use on this CPU:
 * HD_ISA_AVX512 (AVX-512F), HD_ISA_AVX2 (AVX2 + FMA) or HD_ISA_GENERIC (portable C).  The environment
 * variable HYENADNA_CPU_ISA=generic|avx2|avx512 lowers it (for tests and comparisons; never above what
 * the CPU has).  Each backend picks its kernels once, when it is made: results differ between instruction
 * sets in rounding only, and never with the thread count. */
enum { HD_ISA_GENERIC = 0, HD_ISA_AVX2 = 1, HD_ISA_AVX512 = 2 };
static inline int hd_cpu_isa(void)
{
    int isa = HD_ISA_GENERIC;
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) isa = HD_ISA_AVX512;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) isa = HD_ISA_AVX2;
#endif
    const char *e = getenv("HYENADNA_CPU_ISA");
    int cap = !e ? isa : !strcmp(e, "generic") ? HD_ISA_GENERIC : !strcmp(e, "avx2") ? HD_ISA_AVX2 : isa;
    return cap < isa ? cap : isa;
}

/* Decayed states underflow into float subnormals, which x86 cores process a hundred times slower: the
 * scan and cell ops run with flush-to-zero / denormals-are-zero set in each thread, restoring the
 * caller's mode afterwards.  Values below 1e-38 do not change the outputs at float precision. */
#if defined(__SSE2__)
#include <xmmintrin.h>
#define FTZ_BEGIN unsigned int csr_saved_ = _mm_getcsr(); _mm_setcsr(csr_saved_ | 0x8040)
#define FTZ_END _mm_setcsr(csr_saved_)
#else
#define FTZ_BEGIN do { } while (0)
#define FTZ_END do { } while (0)
#endif

/* Fill in the ops of one family's file: the Mamba (Caduceus) ops (mamba.c), the DNA-xLSTM ops (xlstm.c)
 * and the Evo 2 ops (evo2.c).  Called by hd_backend_cpu_new (cpu.c). */
void hd_backend_cpu_mamba_init(hd_backend *be);
void hd_backend_cpu_xlstm_init(hd_backend *be);
void hd_backend_cpu_evo2_init(hd_backend *be);

#endif
