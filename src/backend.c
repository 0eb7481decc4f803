/* backend.c -- choosing a compute backend. */
#include "config.h"
#include "backend.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#if defined(HAVE_CUDA) && !defined(HD_FUZZ_BUILD)
int hd_cuda_probe_devices(void);   /* kernels/device.cu */
#endif

int hd_cuda_device_count(void)
{
#if defined(HAVE_CUDA) && !defined(HD_FUZZ_BUILD)
    return hd_cuda_probe_devices();
#else
    return 0;
#endif
}

const char *hd_backends_compiled(void)
{
#if defined(HAVE_CUDA) && !defined(HD_FUZZ_BUILD)
    return "cpu, cuda";
#else
    return "cpu";
#endif
}

hd_backend *hd_backend_new(const char *device, int nthreads)
{
    if (!device || !strcmp(device, "auto") || !strcmp(device, "cpu")) return hd_backend_cpu_new(nthreads);
    if (!strncmp(device, "cuda", 4) && (device[4] == 0 || device[4] == ':')) {
#if defined(HAVE_CUDA) && !defined(HD_FUZZ_BUILD)
        if (hd_cuda_device_count() <= 0) {
            hd_set_error(HD_EMODEL, "--device %s: no usable CUDA device (no GPU or no driver)", device);
            return NULL;
        }
        hd_set_error(HD_EMODEL, "--device %s: the CUDA backend cannot run models yet in this build", device);
#else
        hd_set_error(HD_EMODEL, "--device %s: this hyenadna was built without the CUDA backend", device);
#endif
        return NULL;
    }
    hd_set_error(HD_EINPUT, "--device '%s': expected auto, cpu, cuda or cuda:N", device);
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
    be->destroy(be);
}
