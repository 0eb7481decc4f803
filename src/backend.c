/* backend.c -- choosing a compute backend. */
#include "config.h"
#ifdef HD_FUZZ_BUILD
#undef HAVE_CUDA   /* the fuzz targets link the library core alone */
#endif
#include "backend.h"
#include "model.h"
#include "util.h"

#include <stdio.h>

#include <stdlib.h>
#include <string.h>

#ifdef HAVE_CUDA
int hd_cuda_probe_devices(void);                                   /* kernels/device.cu */
int hd_cuda_set_precision(hd_backend *be, const char *precision);  /* kernels/backend_cuda.cu */
const char *hd_cuda_backend_device(hd_backend *be);
int hd_cuda_backend_sync(hd_backend *be);
#else
hd_backend *hd_backend_cuda_new(int device, int nthreads)
{
    hd_set_error(HD_EMODEL, "this hyenadna was built without the CUDA backend");
    return NULL;
}

void hd_cuda_device_name(int i, char *buf, size_t n)
{
    if (n) buf[0] = 0;
}
#endif

int hd_cuda_device_count(void)
{
#ifdef HAVE_CUDA
    return hd_cuda_probe_devices();
#else
    return 0;
#endif
}

const char *hd_backends_compiled(void)
{
#ifdef HAVE_CUDA
    return "cpu, cuda";
#else
    return "cpu";
#endif
}

/* "cuda" → 0, "cuda:N" → N; -1 when the suffix is not a device number */
static int cuda_index(const char *device)
{
    if (!device[4]) return 0;
    const char *p = device + 5;
    if (!*p || strlen(p) > 4) return -1;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9') return -1;
    return atoi(p);
}

hd_backend *hd_backend_new(const char *device, int nthreads)
{
    if (!device || !strcmp(device, "auto")) {
        /* the GPU when one is usable, else (or when it cannot start) the CPU, without an error */
        if (hd_cuda_device_count() > 0) {
            hd_backend *be = hd_backend_cuda_new(0, nthreads);
            if (be) {
                be->automatic = 1;
                return be;
            }
            hd_clear_error();
        }
        return hd_backend_cpu_new(nthreads);
    }
    if (!strcmp(device, "cpu")) return hd_backend_cpu_new(nthreads);
    if (!strncmp(device, "cuda", 4) && (device[4] == 0 || device[4] == ':')) {
        int idx = cuda_index(device);
        if (idx < 0) {
            hd_set_error(HD_EINPUT, "--device '%s': expected cuda:N with N a device number", device);
            return NULL;
        }
#ifdef HAVE_CUDA
        int n = hd_cuda_device_count();
        if (n <= 0) {
            hd_set_error(HD_EMODEL, "--device %s: no usable CUDA device (no GPU or no driver)", device);
            return NULL;
        }
        if (idx >= n) {
            hd_set_error(HD_EMODEL, "--device %s: no such device (%d CUDA device%s visible: 0..%d)", device, n,
                         n == 1 ? "" : "s", n - 1);
            return NULL;
        }
        hd_backend *be = hd_backend_cuda_new(idx, nthreads);
        if (!be) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", hd_error());
            hd_set_error(HD_EMODEL, "--device %s: %s", device, msg);
        }
        return be;
#else
        hd_set_error(HD_EMODEL, "--device %s: this hyenadna was built without the CUDA backend", device);
        return NULL;
#endif
    }
    hd_set_error(HD_EINPUT, "--device '%s': expected auto, cpu, cuda or cuda:N", device);
    return NULL;
}

int hd_backend_set_precision(hd_backend *be, const char *precision)
{
    if (strcmp(precision, "fp32") && strcmp(precision, "tf32") && strcmp(precision, "bf16")) {
        hd_set_error(HD_EINPUT, "precision '%s': expected fp32, tf32 or bf16", precision);
        return -1;
    }
#ifdef HAVE_CUDA
    if (!strcmp(be->name, "cuda")) return hd_cuda_set_precision(be, precision);
#endif
    if (strcmp(precision, "fp32")) {
        hd_set_error(HD_EINPUT, "precision %s needs the CUDA backend (the %s backend computes in fp32)", precision, be->name);
        return -1;
    }
    return 0;
}

int hd_backend_check(hd_backend *be)
{
#ifdef HAVE_CUDA
    if (!strcmp(be->name, "cuda")) return hd_cuda_backend_sync(be);
#endif
    return 0;
}

const char *hd_backend_device(hd_backend *be)
{
#ifdef HAVE_CUDA
    if (!strcmp(be->name, "cuda")) return hd_cuda_backend_device(be);
#endif
    static __thread char buf[64];
    snprintf(buf, sizeof buf, "%s (%d thread%s)", be->name, be->nthreads, be->nthreads == 1 ? "" : "s");
    return buf;
}

/* The ops each family's forward pass calls. */
int hd_backend_supports(const hd_backend *be, int fam)
{
    if (!be->alloc || !be->free || !be->weights || !be->upload || !be->download) return 0;
    switch (fam) {
    case HD_FAM_HYENA:
        return be->linear && be->linear_cm_out && be->linear_cm_in && be->layernorm && be->gelu_tanh && be->add &&
               be->sin_freq && be->modulate_cm && be->causal_conv && be->mul_cm && be->fft_size && be->spectra_new &&
               be->spectra_free && be->spectra_bytes && be->fftconv && be->embed;
    case HD_FAM_EVO2:
        return be->linear_ex && be->weights_bf16 && be->rmsnorm_eps_out && be->rope_neox && be->attention &&
               be->modal_filter && be->modal_scan && be->shift_left && be->copy_cm && be->gated_act && be->causal_conv &&
               be->mul_cm && be->fft_size && be->fftconv && be->add && be->embed;
    default:
        /* Caduceus (Mamba) and DNA-xLSTM call ops appended to hd_backend by their own work: list them
         * here (as for HyenaDNA) once the GPU implements them.  Until then only the CPU runs them. */
        return !strcmp(be->name, "cpu");
    }
}

hd_backend *hd_backend_for(hd_backend *be, int fam)
{
    if (hd_backend_supports(be, fam)) return be;
    if (be->automatic) {
        if (!be->fallback) be->fallback = hd_backend_cpu_new(be->nthreads);
        return be->fallback;
    }
    hd_set_error(HD_EMODEL, "the %s backend does not implement the operations of %s models: use --device cpu (or auto)",
                 be->name, hd_family_name((hd_family)fam));
    return NULL;
}

/* The ops each family's cached decoder calls besides those of its forward pass. */
int hd_backend_supports_decoding(const hd_backend *be, int fam)
{
    if (!hd_backend_supports(be, fam)) return 0;
    switch (fam) {
    case HD_FAM_HYENA: return be->copy_cm && be->longconv_step;
    case HD_FAM_XLSTM: return be->copy_cm && be->mlstm_state && be->mlstm_step && be->slstm_cell_state;
    case HD_FAM_EVO2: return 1;   /* its decoder calls the ops of its forward pass */
    default: return 0;
    }
}

hd_backend *hd_backend_for_decoding(hd_backend *be, int fam)
{
    if (hd_backend_supports_decoding(be, fam)) return be;
    if (be->automatic) {
        if (!be->fallback) be->fallback = hd_backend_cpu_new(be->nthreads);
        if (be->fallback && hd_backend_supports_decoding(be->fallback, fam)) return be->fallback;
        if (!be->fallback) return NULL;
    }
    hd_set_error(HD_EMODEL, "the %s backend has no cached decoding for %s models%s", be->name,
                 hd_family_name((hd_family)fam), strcmp(be->name, "cpu") ? ": use --device cpu (or auto)" : "");
    return NULL;
}

struct hd_cache_entry {
    uint64_t owner;
    int layer;
    size_t N, bytes;
    hd_spectra *s;
};

const hd_spectra *hd_backend_cache_get(hd_backend *be, uint64_t owner, int layer, size_t N)
{
    for (int i = 0; i < be->n_cache; i++)
        if (be->cache[i].owner == owner && be->cache[i].layer == layer && be->cache[i].N == N) return be->cache[i].s;
    return NULL;
}

static void cache_remove(hd_backend *be, int i)
{
    be->spectra_free(be, be->cache[i].s);
    be->cache_bytes -= be->cache[i].bytes;
    memmove(be->cache + i, be->cache + i + 1, (size_t)(be->n_cache - i - 1) * sizeof *be->cache);
    be->n_cache--;
}

void hd_backend_cache_put(hd_backend *be, uint64_t owner, int layer, size_t N, hd_spectra *s, size_t bytes)
{
    while (be->n_cache && be->cache_bytes + bytes > HD_SPECTRA_CACHE_BUDGET) cache_remove(be, 0);
    struct hd_cache_entry *c = realloc(be->cache, (size_t)(be->n_cache + 1) * sizeof *c);
    if (!c) { be->spectra_free(be, s); return; }
    be->cache = c;
    be->cache[be->n_cache++] = (struct hd_cache_entry){owner, layer, N, bytes, s};
    be->cache_bytes += bytes;
}

void hd_backend_cache_drop(hd_backend *be, uint64_t owner)
{
    for (int i = be->n_cache - 1; i >= 0; i--)
        if (be->cache[i].owner == owner) cache_remove(be, i);
}

void hd_backend_free(hd_backend *be)
{
    if (!be) return;
    while (be->n_cache) cache_remove(be, be->n_cache - 1);
    free(be->cache);
    hd_backend_free(be->fallback);
    be->destroy(be);
}
