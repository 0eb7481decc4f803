/* output.h -- output files that appear under their final name only when complete.
 *
 * A file is written to a temporary name in the destination's directory and renamed into place by
 * hd_out_close(); hd_out_abort() (or a fatal signal, see hd_out_install_signal_cleanup) removes the
 * temporary.  "-" writes to stdout.  Names ending in .gz are BGZF-compressed (when `text` is set).
 * An existing name that is not a regular file (/dev/stdout, /dev/null, a named pipe) is written in place.
 * Every failure to create or write an output is a resource error (HD_ERESOURCE: exit status 2) naming
 * the file. */
#ifndef HD_OUTPUT_H
#define HD_OUTPUT_H

#include <stdio.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct hd_outfile hd_outfile;

/* text: 1 to allow BGZF compression for names ending in ".gz" or ".bgz" (write with hd_out_write/printf). */
hd_outfile *hd_out_open(const char *path, int text);
FILE *hd_out_fp(hd_outfile *o);             /* plain stream (NULL when compressing) */
const char *hd_out_path(const hd_outfile *o);   /* for messages: "-" is "standard output" */
const char *hd_output_name(const char *path);    /* an output path as messages name it ("-": "standard output") */
int hd_out_write(hd_outfile *o, const void *buf, size_t n);
int hd_out_printf(hd_outfile *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int hd_out_close(hd_outfile *o);            /* flush, close, rename; 0 on success */
void hd_out_abort(hd_outfile *o);           /* discard; nothing is left under the final name */

/* Remove every pending temporary file when SIGINT/SIGTERM/SIGHUP (and the other signals that end a run)
 * arrive; signals the caller ignores stay ignored; SIGXFSZ is ignored (the write fails instead). */
void hd_out_install_signal_cleanup(void);

/* A temporary directory a command fills (convert's OUT.tmp.XXXXXX) and the files inside it, or any other
 * temporary file (plot's files for rsvg-convert), removed on a fatal signal (the files, then the directory)
 * while registered; the strings must outlive the registration.  -1 when the table is full (the directory
 * or file is then left behind by a signal, as before). */
int hd_out_pend_dir(const char *dir);
void hd_out_unpend_dir(const char *dir);
int hd_out_pend_file(const char *path);
void hd_out_unpend_file(const char *path);
/* A helper process writing those files (one at a time; 0 when none): a fatal signal kills it (SIGKILL) and
 * waits for it before removing them, so that it cannot create one again. */
void hd_out_pend_child(pid_t pid);

/* For writers that open files by name (htslib): a temporary name beside `path`, created empty and removed
 * on a fatal signal; hd_out_commit renames it to `path`, hd_out_discard removes it (both free `tmp`).
 * Not for "-" or for special files (hd_out_in_place): those are written under their own name. */
char *hd_out_tmpname(const char *path);
int hd_out_commit(char *tmp, const char *path);
void hd_out_discard(char *tmp);

/* Remember a file read as an input ("-": standard input, when it is a regular file): an output that would
 * replace it is refused (hd_out_open, hd_out_tmpname), and so is an input that an output opened earlier
 * would replace (-1, an HD_EINPUT error naming both). */
int hd_out_note_input(const char *path);

/* Is path written in place, without a temporary name: "-", or an existing file that is not a regular file
 * (a device such as /dev/null or /dev/stdout, a named pipe)? */
int hd_out_in_place(const char *path);

/* The index of a bgzipped VCF or tabix table `out` whose records reach `maxend` at most (the furthest end,
 * 0-based exclusive = the last 1-based position): a .tbi unless `csi` asks for a .csi (BCF) or a record
 * reaches beyond 2^29, the most a .tbi holds (min_shift 14, 5 levels; htslib refuses to build it); then a
 * .csi as `tabix -C` and `bcftools index -c` write it (min_shift 14, which tabix and bcftools find beside the
 * file), with a warning naming `out` when it is the reach that asks for it.  Returns the min_shift that
 * tbx_index_build3 and bcf_index_build3 take: 0 (.tbi) or 14 (.csi); hd_index_ext names its suffix. */
int hd_index_min_shift(const char *out, long long maxend, int csi);
#define HD_TBI_MAX_END (1LL << 29)
static inline const char *hd_index_ext(int min_shift) { return min_shift ? "csi" : "tbi"; }
/* hd_out_commit for the index `ipath` (DATA.tbi or DATA.csi) of a file just committed: also removes DATA's
 * index of the other kind left by an earlier run, which no longer describes DATA and which htslib would
 * still read (it looks for the .csi first) */
int hd_index_commit(char *itmp, const char *ipath);

/* Does the name end with this suffix? */
int hd_has_suffix(const char *name, const char *suffix);

#endif
