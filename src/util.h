/* util.h -- errors, checked arithmetic, allocation and small helpers of libhyenadna.
 *
 * The library never prints and never exits: a function that fails returns NULL or a negative
 * number and leaves a message in a per-thread buffer, read with hd_error(). */
#ifndef HD_UTIL_H
#define HD_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Error kinds, mapped to the command's exit status (1 input/usage, 2 model/resource):
 * HD_EINPUT   bad input or usage (a file, record, option or position at fault);
 * HD_EMODEL   a model file that cannot be used;
 * HD_ERESOURCE a resource failure: out of memory, an output that cannot be created or written (full
 *             disk), a device.  The same exit status as HD_EMODEL. */
enum { HD_EINPUT = 1, HD_EMODEL = 2, HD_ERESOURCE = 2 };

void hd_set_error(int kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *hd_error(void);
int hd_error_kind(void);          /* HD_EINPUT or HD_EMODEL of the last error */
void hd_clear_error(void);
/* Record "out of memory" (with " for WHAT" when what is not NULL) as a resource error. */
void hd_set_oom(const char *what);

/* Warnings and notes of the library.  The library never prints: what it has to say goes to a sink the
 * program installs (cmd/ prints with the command's prefix and honours --verbosity); without a sink the
 * messages are dropped. */
enum { HD_LOG_WARN = 2, HD_LOG_INFO = 3 };
typedef void (*hd_log_fn)(int level, const char *msg);
void hd_log_set_sink(hd_log_fn fn);
void hd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Overflow-checked size arithmetic: return 0 on success, -1 on overflow. */
static inline int hd_mul(size_t a, size_t b, size_t *out)
{
    if (a && b > SIZE_MAX / a) return -1;
    *out = a * b;
    return 0;
}
static inline int hd_add(size_t a, size_t b, size_t *out)
{
    if (b > SIZE_MAX - a) return -1;
    *out = a + b;
    return 0;
}

/* Allocation that records "out of memory: N bytes for WHAT" on failure.  Sizes are checked
 * against the memory the machine can give (physical RAM) before asking, so an absurd request
 * is an error that says how much it needs rather than an OOM kill later. */
void *hd_alloc(size_t n, const char *what);            /* uninitialised, 64-byte aligned */
void *hd_calloc(size_t n, size_t size, const char *what); /* zeroed, 64-byte aligned */
void hd_free(void *p);
size_t hd_mem_available(void);                          /* bytes of RAM the OS says are available */

/* A copy of s (NULL for NULL); NULL with "out of memory" when the allocation fails. */
char *hd_strdup(const char *s);
char *hd_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Whether s is valid UTF-8 text (no overlong forms, surrogates or code points past U+10FFFF), which a
 * JSON string, e.g. a safetensors tensor name, must be; the byte offset of the first bad byte in *bad. */
int hd_utf8_valid(const char *s, size_t *bad);
/* A copy of s with every byte that is not part of valid UTF-8 written as \xNN (for text that only informs,
 * e.g. a path in a safetensors header's metadata); NULL + hd_error when out of memory. */
char *hd_utf8_escape(const char *s);

/* Thread count: 0 means every online core. */
int hd_default_threads(void);
/* Threads a model's loading may use (checking a memory-mapped checkpoint's values as its pages come in): what
 * --threads said (0 = every core, also until set), set by the command line before it opens a model.  Threads
 * started for it are joined before the load returns. */
void hd_set_load_threads(int n);
int hd_load_threads(void);

/* Human-readable byte count into buf ("1.8 MB"). */
const char *hd_fmt_bytes(double bytes, char *buf, size_t n);

/* x as printf's "%.6g" writes it, the same characters, into buf (room for HD_G6_MAX bytes with the NUL),
 * several times faster (the tables of `track` print a value per row); returns the length. */
#define HD_G6_MAX 32
int hd_fmt_g6(double x, char *buf);

/* Half-precision conversions. */
float hd_f16_to_f32(uint16_t h);
float hd_bf16_to_f32(uint16_t h);

/* Map a whole regular file read-only; base and size describe it (an empty file maps to a static empty
 * buffer); hd_unmap_file releases it.  -1 with an error naming the file. */
int hd_map_file(const char *path, const unsigned char **base, size_t *size);
void hd_unmap_file(const unsigned char *base, size_t size);

/* Does the path name a directory / a regular file (links followed)? */
int hd_is_dir(const char *path);
int hd_is_file(const char *path);
/* "DIR/name" for the DIR holding `path` (just `name` when path has no '/'): a file beside another; NULL when
 * out of memory */
char *hd_path_beside(const char *path, const char *name);
/* The folder a path is in ("." for a bare name, "/" for one under the root); malloc'd, NULL when out of memory. */
char *hd_parent_dir(const char *path);

/* A data file shipped with hyenadna (e.g. "configs/evo2/evo2-7b-1m.yml"), looked up in $HYENADNA_DATADIR, the
 * data/ folder next to the binary, the source tree's data/ (uninstalled builds) and the installed data
 * directory, in that order: a malloc'd path, or NULL when none exists. */
char *hd_data_path(const char *rel);

/* Monotonic seconds. */
double hd_now(void);

#endif
