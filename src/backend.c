/* backend.c -- choosing a compute backend. */
#include "config.h"
#ifdef HD_FUZZ_BUILD
#undef HAVE_CUDA   /* the fuzz targets link the library core alone */
#endif
#include "backend.h"
#include "util.h"

#include <stdio.h>

#include <stdlib.h>
#include <string.h>

#ifdef HAVE_CUDA
int hd_cuda_probe_devices(void);                                   /* kernels/device.cu */
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

int hd_cuda_libs_load(void)
{
    hd_set_error(HD_EMODEL, "this hyenadna was built without the CUDA backend");
    return -1;
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

#ifndef HD_CUDA_ARCHS
#define HD_CUDA_ARCHS ""
#endif

const char *hd_cuda_archs(void)
{
    const char *e = getenv("HYENADNA_CUDA_ARCHS");
    return e ? e : HD_CUDA_ARCHS;
}

int hd_cuda_arch_runs(const char *archs, int major, int minor)
{
    int known = 0, dev = major * 10 + minor;
    for (const char *p = archs; *p;) {
        while (*p == ' ' || *p == ',') p++;
        size_t n = strcspn(p, " ,");
        char tok[32];
        snprintf(tok, sizeof tok, "%.*s", (int)(n < sizeof tok ? n : sizeof tok - 1), p);
        p += n;
        int ptx = !strncmp(tok, "compute_", 8), bin = !strncmp(tok, "sm_", 3);
        if (!ptx && !bin) continue;
        char *end;
        long cc = strtol(tok + (ptx ? 8 : 3), &end, 10);
        if (end == tok + (ptx ? 8 : 3) || cc <= 0 || (*end && (end[0] < 'a' || end[0] > 'z' || end[1]))) continue;
        known = 1;
        int exact = *end == 'a';   /* sm_90a, compute_90a: that device only (sm_100f: the family, as sm_100) */
        if (exact ? dev == cc : ptx ? dev >= cc : major == cc / 10 && minor >= cc % 10) return 1;
    }
    return known ? 0 : -1;
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
        /* the GPU when one is usable, else the CPU, without an error: with a note when a GPU is there but
         * cannot start (or the kernels were not built for it) */
        if (hd_cuda_device_count() > 0) {
            hd_backend *be = hd_backend_cuda_new(0, nthreads);
            if (be) {
                be->automatic = 1;
                return be;
            }
            char why[200];
            snprintf(why, sizeof why, "%s", hd_error());
            hd_clear_error();
            if ((be = hd_backend_cpu_new(nthreads))) snprintf(be->note, sizeof be->note, "the GPU is not used: %s", why);
            return be;
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

hd_precision hd_precision_parse(const char *name)
{
    if (!strcmp(name, "fp32")) return HD_PREC_FP32;
    if (!strcmp(name, "tf32")) return HD_PREC_TF32;
    if (!strcmp(name, "bf16")) return HD_PREC_BF16;
    return (hd_precision)0;
}

int hd_backend_set_precision(hd_backend *be, const char *precision)
{
    hd_precision p = hd_precision_parse(precision);
    if (!p) {
        hd_set_error(HD_EINPUT, "precision '%s': expected fp32, tf32 or bf16", precision);
        return -1;
    }
    if (!(be->precisions & p)) {
        if (p == HD_PREC_BF16 && be->host_memory)
            hd_set_error(HD_EINPUT, "precision bf16 on the CPU needs a processor with AVX512_BF16, which this one lacks "
                                    "(use fp32, or a CUDA device)");
        else
            hd_set_error(HD_EINPUT, "precision %s needs the CUDA backend (the %s backend computes in fp32)", precision,
                         be->name);
        return -1;
    }
    return be->set_precision ? be->set_precision(be, p) : 0;
}

int hd_backend_check(hd_backend *be) { return be->sync ? be->sync(be) : 0; }

const char *hd_backend_device(hd_backend *be) { return be->describe(be); }

int hd_backend_has(const hd_backend *be, hd_op op)
{
    void (*fn)(void);
    memcpy(&fn, (const char *)be + op.offset, sizeof fn);
    return fn != NULL;
}

const char *hd_backend_missing(const hd_backend *be, const hd_op *needs)
{
    static const hd_op memory[] = {HD_OP(alloc), HD_OP(free), HD_OP(weights), HD_OP(upload), HD_OP(download), HD_OPS_END};
    for (const hd_op *op = memory; op->name; op++)
        if (!hd_backend_has(be, *op)) return op->name;
    for (const hd_op *op = needs; op && op->name; op++)
        if (!hd_backend_has(be, *op)) return op->name;
    return NULL;
}

int hd_backend_supports(const hd_backend *be, const hd_op *needs) { return !hd_backend_missing(be, needs); }

hd_backend *hd_backend_for(hd_backend *be, const hd_op *needs, const char *what)
{
    if (hd_backend_supports(be, needs)) return be;
    if (be->automatic) {
        if (!be->fallback) be->fallback = hd_backend_cpu_new(be->nthreads);
        return be->fallback;
    }
    hd_set_error(HD_EMODEL, "the %s backend does not implement the operations of %s models: use --device cpu (or auto)",
                 be->name, what);
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
