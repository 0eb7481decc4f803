/* util.c -- errors, checked allocation and small helpers. */
#define _GNU_SOURCE
#include "output.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static __thread char hd_errbuf[1024];
static __thread int hd_errkind;

void hd_set_error(int kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(hd_errbuf, sizeof hd_errbuf, fmt, ap);
    va_end(ap);
    hd_errkind = kind;
}

const char *hd_error(void) { return hd_errbuf[0] ? hd_errbuf : "unknown error"; }
int hd_error_kind(void) { return hd_errkind ? hd_errkind : HD_EINPUT; }
void hd_clear_error(void) { hd_errbuf[0] = 0; hd_errkind = 0; }

void hd_set_oom(const char *what)
{
    if (what) hd_set_error(HD_ERESOURCE, "out of memory for %s", what);
    else hd_set_error(HD_ERESOURCE, "out of memory");
}

static hd_log_fn hd_log_sink;

void hd_log_set_sink(hd_log_fn fn) { hd_log_sink = fn; }

void hd_log(int level, const char *fmt, ...)
{
    if (!hd_log_sink) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    hd_log_sink(level, buf);
}

size_t hd_mem_available(void)
{
    /* MemAvailable from /proc/meminfo; fall back to physical pages. */
    FILE *fp = fopen("/proc/meminfo", "r");
    if (fp) {
        char line[256];
        unsigned long long kb = 0;
        while (fgets(line, sizeof line, fp))
            if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) break;
        fclose(fp);
        if (kb) return (size_t)kb * 1024;
    }
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGE_SIZE);
    if (pages > 0 && psz > 0) return (size_t)pages * (size_t)psz;
    return SIZE_MAX;
}

/* %.6g: the six significant digits q (100000 ≤ q < 10^6) and decimal exponent e of x, from
 * s = |x|·10^(5−e) computed with one rounding (an exact power of ten, times or divided), then rounded to an
 * integer; s is within 2^-32 of the exact product, so when its fraction is not within 1e-9 of 1/2 the
 * rounding is that of the exact binary value, which printf rounds.  Anything else (ties, zero, huge, tiny,
 * NaN, infinities) goes to snprintf. */
int hd_fmt_g6(double x, char *buf)
{
    static const double p10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                   1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    double a = fabs(x);
    if (!(a >= 1e-15 && a < 1e15)) return snprintf(buf, HD_G6_MAX, "%.6g", x);
    int e = (int)floor(log10(a));
    long q = 0;
    for (int tries = 0;; tries++) {
        int p = 5 - e;
        double s = p >= 0 ? a * p10[p] : a / p10[-p];
        if (tries == 3) return snprintf(buf, HD_G6_MAX, "%.6g", x);
        if (s < 1e5) { e--; continue; }
        if (s >= 999999.5 && s < 1e6) {   /* rounds up to 10^6: the digits 100000 of the next decade */
            if (fabs(s - 999999.5) < 1e-9) return snprintf(buf, HD_G6_MAX, "%.6g", x);
            q = 100000, e++;
            break;
        }
        if (s >= 1e6) { e++; continue; }
        double m = floor(s), f = s - m;
        if (fabs(f - 0.5) < 1e-9) return snprintf(buf, HD_G6_MAX, "%.6g", x);
        q = (long)m + (f > 0.5);
        break;
    }
    char d[6], *o = buf;
    for (int i = 5; i >= 0; i--, q /= 10) d[i] = (char)('0' + q % 10);
    int nd = 6;
    while (nd > 1 && d[nd - 1] == '0') nd--;   /* %g drops trailing zeros */
    if (x < 0) *o++ = '-';
    if (e < -4 || e >= 6) {                    /* d.ddddde±XX */
        *o++ = d[0];
        if (nd > 1) {
            *o++ = '.';
            for (int i = 1; i < nd; i++) *o++ = d[i];
        }
        *o++ = 'e';
        *o++ = e < 0 ? '-' : '+';
        int ae = e < 0 ? -e : e;
        if (ae >= 100) *o++ = (char)('0' + ae / 100);
        *o++ = (char)('0' + ae / 10 % 10);
        *o++ = (char)('0' + ae % 10);
    } else if (e >= 0) {                       /* e + 1 integer digits */
        for (int i = 0; i <= e; i++) *o++ = d[i];
        if (nd > e + 1) {
            *o++ = '.';
            for (int i = e + 1; i < nd; i++) *o++ = d[i];
        }
    } else {                                   /* 0.000ddd */
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -e - 1; i++) *o++ = '0';
        for (int i = 0; i < nd; i++) *o++ = d[i];
    }
    *o = 0;
    return (int)(o - buf);
}

const char *hd_fmt_bytes(double b, char *buf, size_t n)
{
    const char *u[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    int i = 0;
    while (b >= 1000 && i < 5) { b /= 1000; i++; }
    snprintf(buf, n, i ? "%.1f %s" : "%.0f %s", b, u[i]);
    return buf;
}

#define HD_HUGE_MIN ((size_t)2 << 20)

void *hd_alloc(size_t n, const char *what)
{
    if (n == 0) n = 64;
    /* only large requests are checked against the memory available (reading /proc costs a syscall) */
    size_t avail = n >= ((size_t)64 << 20) ? hd_mem_available() : SIZE_MAX;
    if (n > avail) {
        char a[32], b[32];
        hd_set_error(HD_EMODEL, "out of memory: %s needs %s but only %s are available",
                     what ? what : "a buffer", hd_fmt_bytes((double)n, a, sizeof a),
                     hd_fmt_bytes((double)avail, b, sizeof b));
        return NULL;
    }
    /* Large buffers on 2 MB boundaries, offered to the kernel as transparent huge pages: the CPU ops stride
     * through [L, C] arrays a row at a time (the scans), and 4 kB pages would cost a TLB miss per row. */
    size_t align = n >= HD_HUGE_MIN ? HD_HUGE_MIN : 64, rounded;
    if (hd_add(n, align - 1, &rounded)) goto oom;
    rounded &= ~(align - 1);
    void *p = aligned_alloc(align, rounded);
    if (!p) goto oom;
#ifdef MADV_HUGEPAGE
    if (align == HD_HUGE_MIN) madvise(p, rounded, MADV_HUGEPAGE);   /* advice only: failure changes nothing */
#endif
    return p;
oom:;
    char a[32];
    hd_set_error(HD_EMODEL, "out of memory: %s needs %s", what ? what : "a buffer",
                 hd_fmt_bytes((double)n, a, sizeof a));
    return NULL;
}

void *hd_calloc(size_t n, size_t size, const char *what)
{
    size_t tot;
    if (hd_mul(n, size, &tot)) {
        hd_set_error(HD_EMODEL, "out of memory: %s: size overflows", what ? what : "a buffer");
        return NULL;
    }
    void *p = hd_alloc(tot, what);
    if (p) memset(p, 0, tot);
    return p;
}

void hd_free(void *p) { free(p); }

char *hd_strdup(const char *s)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) hd_set_oom(NULL);
    return d;
}

char *hd_sprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) s = NULL;
    va_end(ap);
    if (!s) hd_set_oom(NULL);
    return s;
}

/* the length of the valid UTF-8 sequence at p (1-4), or 0 (no overlong forms, surrogates or code points
 * past U+10FFFF) */
static int utf8_len(const unsigned char *p)
{
    unsigned c = p[0];
    int n = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : (c & 0xF0) == 0xE0 ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    for (int k = 1; n && k < n; k++)
        if ((p[k] & 0xC0) != 0x80) n = 0;
    if (n == 3 && ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0))) n = 0;   /* overlong, surrogate */
    if (n == 4 && ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90))) n = 0;
    return n;
}

int hd_utf8_valid(const char *s, size_t *bad)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; p[i];) {
        int n = utf8_len(p + i);
        if (!n) {
            if (bad) *bad = i;
            return 0;
        }
        i += (size_t)n;
    }
    return 1;
}

char *hd_utf8_escape(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s);
    char *out = malloc(4 * len + 1), *o = out;
    if (!out) { hd_set_oom(NULL); return NULL; }
    for (size_t i = 0; p[i];) {
        int n = utf8_len(p + i);
        if (n) {
            memcpy(o, p + i, (size_t)n);
            o += n, i += (size_t)n;
        } else {
            o += sprintf(o, "\\x%02X", p[i++]);
        }
    }
    *o = 0;
    return out;
}

/* -@ 0: OMP_NUM_THREADS when the user set it (its first value), else the cores this process may run on (its
 * CPU affinity: taskset, a batch job's cpuset), not every core of the machine (hyenadna(1) ENVIRONMENT). */
int hd_default_threads(void)
{
    const char *env = getenv("OMP_NUM_THREADS");
    if (env && *env) {
        char *end;
        long v = strtol(env, &end, 10);
        if (end != env && (!*end || *end == ',') && v > 0 && v <= 4096) return (int)v;
    }
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static int load_threads;   /* 0: every core */
void hd_set_load_threads(int n) { load_threads = n > 0 ? n : 0; }
int hd_load_threads(void) { return load_threads > 0 ? load_threads : hd_default_threads(); }

float hd_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) bits = sign;
        else { /* subnormal */
            int e = -1;
            do { man <<= 1; e++; } while (!(man & 0x400));
            man &= 0x3ff;
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | (man << 13);
        }
    } else if (exp == 31) bits = sign | 0x7f800000u | (man << 13);
    else bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

float hd_bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

double hd_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static const unsigned char hd_empty_file[1];

int hd_map_file(const char *path, const unsigned char **base, size_t *size)
{
    if (hd_out_note_input(path)) return -1;   /* (a model file, a checkpoint: never replaced by an output) */
    int fd = open(path, O_RDONLY);
    if (fd < 0) { hd_set_error(HD_EMODEL, "cannot open '%s': %s", path, strerror(errno)); return -1; }
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        hd_set_error(HD_EMODEL, "'%s' is not a regular file", path);
        close(fd);
        return -1;
    }
    *size = (size_t)sb.st_size;
    *base = hd_empty_file;
    if (*size) {
        void *m = mmap(NULL, *size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            hd_set_error(HD_EMODEL, "cannot map '%s': %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        *base = m;
    }
    close(fd);
    return 0;
}

void hd_unmap_file(const unsigned char *base, size_t size)
{
    if (base && base != hd_empty_file && size) munmap((void *)base, size);
}

int hd_is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

char *hd_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return !strcmp(path, ".") ? hd_sprintf("..") : hd_sprintf(".");
    return slash == path ? hd_sprintf("/") : hd_sprintf("%.*s", (int)(slash - path), path);
}

char *hd_path_beside(const char *path, const char *name)
{
    const char *slash = strrchr(path, '/');
    return slash ? hd_sprintf("%.*s/%s", (int)(slash - path), path, name) : hd_strdup(name);
}

int hd_is_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

char *hd_data_path(const char *rel)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *cand[4] = {NULL, NULL, NULL, NULL};
    const char *env = getenv("HYENADNA_DATADIR");
    if (env && *env) cand[0] = hd_sprintf("%s/%s", env, rel);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            cand[1] = hd_sprintf("%s/data/%s", exe, rel);
        }
    }
#ifdef HD_SRCDATADIR
    cand[2] = hd_sprintf("%s/%s", HD_SRCDATADIR, rel);
#endif
#ifdef HD_PKGDATADIR
    cand[3] = hd_sprintf("%s/%s", HD_PKGDATADIR, rel);
#endif
    char *found = NULL;
    for (int i = 0; i < 4; i++) {
        struct stat sb;
        if (!found && cand[i] && stat(cand[i], &sb) == 0 && S_ISREG(sb.st_mode)) found = cand[i];
        else free(cand[i]);
    }
    return found;
}
