/* output.c -- atomic output files (temporary name, then rename), optionally BGZF-compressed. */
#define _GNU_SOURCE
#include "output.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <htslib/bgzf.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- an output never replaces an input ----
 * An output is renamed over its final name when complete, so `-o in.fa in.fa` used to read the input, then
 * replace it with the output (hyenadna(1) OUTPUT FILES).  The files read (hd_out_note_input, called by every
 * reader's open) and the existing files the outputs will replace are kept by identity (device, inode: another
 * name or a link of the same file is the same file); an output over an input is refused whichever of the two
 * is opened first, as a usage error (HD_EINPUT) naming both. */
typedef struct {
    dev_t dev;
    ino_t ino;
    char *name;
    const void *owner;   /* outputs: the hd_outfile or temporary name that will replace it */
} ident_t;
static ident_t *ins, *outs;
static int nin, min_, nout, mout;
static pthread_mutex_t ident_lock = PTHREAD_MUTEX_INITIALIZER;

static int ident_add(ident_t **v, int *n, int *m, const struct stat *sb, const char *name, const void *owner)
{
    if (*n == *m) {
        int nm = *m ? 2 * *m : 16;
        ident_t *nv = realloc(*v, (size_t)nm * sizeof *nv);
        if (!nv) return -1;
        *v = nv, *m = nm;
    }
    char *dup = strdup(name);
    if (!dup) return -1;
    (*v)[(*n)++] = (ident_t){sb->st_dev, sb->st_ino, dup, owner};
    return 0;
}

static const ident_t *ident_find(const ident_t *v, int n, const struct stat *sb)
{
    for (int i = 0; i < n; i++)
        if (v[i].dev == sb->st_dev && v[i].ino == sb->st_ino) return &v[i];
    return NULL;
}

static void same_file_error(const char *out, const char *in)
{
    hd_set_error(HD_EINPUT, "output '%s' is the input '%s': refusing to replace an input; choose another output name",
                 out, in);
}

int hd_out_note_input(const char *path)
{
    struct stat sb;
    int fd = !strcmp(path, "-") ? STDIN_FILENO : -1;
    if ((fd >= 0 ? fstat(fd, &sb) : stat(path, &sb)) < 0 || !S_ISREG(sb.st_mode)) return 0;
    const char *name = fd >= 0 ? "standard input" : path;
    pthread_mutex_lock(&ident_lock);
    const ident_t *o = ident_find(outs, nout, &sb);
    int rc = 0;
    if (o) {
        same_file_error(o->name, name);
        rc = -1;
    } else if (!ident_find(ins, nin, &sb)) {
        ident_add(&ins, &nin, &min_, &sb, name, NULL);   /* (out of memory: only the check is lost) */
    }
    pthread_mutex_unlock(&ident_lock);
    return rc;
}

/* The existing regular file `path` will be replaced by `owner`: refused when it was read as an input (and a
 * directory is refused, as the rename would refuse it). */
static int note_output(const char *path, const void *owner)
{
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {   /* refused now, not by the rename after the whole run */
        hd_set_error(HD_ERESOURCE, "cannot create output file '%s': %s", path, strerror(EISDIR));
        return -1;
    }
    if (stat(path, &sb) < 0 || !S_ISREG(sb.st_mode)) return 0;
    pthread_mutex_lock(&ident_lock);
    struct stat in0;
    const ident_t *i = ident_find(ins, nin, &sb);
    int rc = 0;
    if (i) {
        same_file_error(path, i->name);
        rc = -1;
    } else if (fstat(STDIN_FILENO, &in0) == 0 && in0.st_dev == sb.st_dev && in0.st_ino == sb.st_ino) {
        same_file_error(path, "standard input");   /* `hyenadna embed -o x.fa < x.fa`, before stdin is opened */
        rc = -1;
    } else {
        ident_add(&outs, &nout, &mout, &sb, path, owner);
    }
    pthread_mutex_unlock(&ident_lock);
    return rc;
}

static void forget_output(const void *owner)
{
    pthread_mutex_lock(&ident_lock);
    for (int i = 0; i < nout; i++)
        if (outs[i].owner == owner) {
            free(outs[i].name);
            outs[i--] = outs[--nout];
        }
    pthread_mutex_unlock(&ident_lock);
}

struct hd_outfile {
    char *path;      /* final name, or "-" */
    char *tmp;       /* temporary name, NULL for stdout */
    FILE *fp;
    BGZF *bgzf;
    int slot;        /* index in the pending list */
};

/* Pending temporary names, for removal by the signal handler. */
#define HD_MAX_PENDING 64
static char *volatile pending[HD_MAX_PENDING];
/* Files that an earlier step moved into a temporary directory, and the directories themselves
 * (convert's OUT.tmp.XXXXXX): a signal removes the files first, then the directories. */
static const char *volatile pending_in_dir[HD_MAX_PENDING];
static const char *volatile pending_dir[8];
/* A helper program running for the command (plot's rsvg-convert), which may write a temporary file: killed
 * and reaped by the handler before the files go, so that it cannot write one again after them. */
static volatile pid_t pending_child;

static void on_fatal_signal(int sig)
{
    pid_t c = pending_child;
    if (c > 0 && kill(c, SIGKILL) == 0) waitpid(c, NULL, 0);
    for (int i = 0; i < HD_MAX_PENDING; i++)
        if (pending[i]) unlink(pending[i]);
    for (int i = 0; i < HD_MAX_PENDING; i++)
        if (pending_in_dir[i]) unlink(pending_in_dir[i]);
    for (int i = 0; i < 8; i++)
        if (pending_dir[i]) rmdir(pending_dir[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

static int pend_in(const char *volatile *list, int n, const char *path)
{
    for (int i = 0; i < n; i++)
        if (!list[i]) { list[i] = path; return 0; }
    return -1;
}

static void unpend_in(const char *volatile *list, int n, const char *path)
{
    for (int i = 0; i < n; i++)
        if (list[i] == path) list[i] = NULL;
}

int hd_out_pend_dir(const char *dir) { return pend_in(pending_dir, 8, dir); }
void hd_out_unpend_dir(const char *dir) { unpend_in(pending_dir, 8, dir); }
int hd_out_pend_file(const char *path) { return pend_in(pending_in_dir, HD_MAX_PENDING, path); }
void hd_out_unpend_file(const char *path) { unpend_in(pending_in_dir, HD_MAX_PENDING, path); }
void hd_out_pend_child(pid_t pid) { pending_child = pid; }

/* The signals that end a run (Ctrl-C, a scheduler's kill or warning signal, a lost terminal, a CPU-time limit)
 * remove the temporaries first.  A signal the caller ignores stays ignored, as POSIX shells and nohup expect:
 * `nohup hyenadna ... &` must outlive its terminal, and a job a script starts in the background must not die of
 * the terminal's Ctrl-C.  The file-size limit (ulimit -f, a batch system's h_fsize) fails the write with EFBIG,
 * so that the error names the output and the temporaries go, instead of SIGXFSZ killing the run (hyenadna(1)
 * EXIT STATUS). */
void hd_out_install_signal_cleanup(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGXCPU};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        struct sigaction old;
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        signal(sigs[i], on_fatal_signal);
    }
    signal(SIGXFSZ, SIG_IGN);
}

int hd_out_in_place(const char *path)
{
    struct stat sb;
    return !strcmp(path, "-") || (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode));
}

int hd_index_min_shift(const char *out, long long maxend, int csi)
{
    if (!csi && maxend > HD_TBI_MAX_END) {
        hd_log(HD_LOG_WARN, "%s: a record reaches beyond position %lld, which a .tbi index cannot hold: writing a .csi "
                            "index", hd_output_name(out), HD_TBI_MAX_END);
        csi = 1;
    }
    return csi ? 14 : 0;
}

int hd_has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), m = strlen(suffix);
    return n >= m && !strcasecmp(name + n - m, suffix);
}

/* An empty output name (-o '', an unset shell variable) is refused before any work: mkstemp would make a
 * temporary '.tmp.XXXXXX' in the working directory, and only the rename after the whole run would fail. */
static int empty_name(const char *path)
{
    if (*path) return 0;
    hd_set_error(HD_EINPUT, "the output file name is empty: give a file name, or '-' for standard output");
    return -1;
}

hd_outfile *hd_out_open(const char *path, int text)
{
    if (empty_name(path)) return NULL;
    hd_outfile *o = calloc(1, sizeof *o);
    if (!o) { hd_set_oom(NULL); return NULL; }
    o->slot = -1;
    if (!(o->path = hd_strdup(path))) { free(o); return NULL; }
    int compress = text && (hd_has_suffix(path, ".gz") || hd_has_suffix(path, ".bgz"));
    int fd;
    if (!strcmp(path, "-")) {
        fd = dup(STDOUT_FILENO);
        int fl = fd >= 0 ? fcntl(fd, F_GETFL) : -1;
        if (fd >= 0 && fl >= 0 && (fl & O_ACCMODE) == O_RDONLY) {   /* closed by the caller (cmd/main.c) */
            close(fd);
            fd = -1;
            errno = EBADF;
        }
        if (fd < 0) { hd_set_error(HD_ERESOURCE, "cannot write to standard output: %s", strerror(errno)); goto fail; }
    } else if (hd_out_in_place(path)) {
        /* a device or a pipe: no temporary name, and never a rename over it */
        fd = open(path, O_WRONLY | O_TRUNC);
        if (fd < 0) { hd_set_error(HD_ERESOURCE, "cannot open output '%s': %s", path, strerror(errno)); goto fail; }
    } else {
        if (note_output(path, o)) goto fail;
        const char *slash = strrchr(path, '/');
        const char *base = slash ? slash + 1 : path;
        int dirlen = slash ? (int)(slash - path + 1) : 0;
        o->tmp = hd_sprintf("%.*s.%s.tmp.XXXXXX", dirlen, path, base);
        if (!o->tmp) goto fail;
        /* pending before the file exists: a signal at any moment after mkstemp removes it */
        for (int i = 0; i < HD_MAX_PENDING; i++)
            if (!pending[i]) { pending[i] = o->tmp; o->slot = i; break; }
        fd = mkstemp(o->tmp);
        if (fd < 0) {
            hd_set_error(HD_ERESOURCE, "cannot create output file '%s': %s", path, strerror(errno));
            if (o->slot >= 0) pending[o->slot] = NULL, o->slot = -1;
            free(o->tmp);
            o->tmp = NULL;
            goto fail;
        }
        mode_t um = umask(0);
        umask(um);
        fchmod(fd, 0666 & ~um);
    }
    if (compress) {
        o->bgzf = bgzf_dopen(fd, "w");
        if (!o->bgzf) { close(fd); hd_set_error(HD_ERESOURCE, "cannot open '%s' for BGZF output", path); goto fail; }
    } else {
        o->fp = fdopen(fd, "wb");
        if (!o->fp) { close(fd); hd_set_error(HD_ERESOURCE, "cannot open '%s': %s", path, strerror(errno)); goto fail; }
    }
    return o;
fail:
    hd_out_abort(o);
    return NULL;
}

const char *hd_output_name(const char *path) { return strcmp(path, "-") ? path : "standard output"; }

FILE *hd_out_fp(hd_outfile *o) { return o->fp; }
const char *hd_out_path(const hd_outfile *o) { return hd_output_name(o->path); }

int hd_out_write(hd_outfile *o, const void *buf, size_t n)
{
    if (o->bgzf) {
        if (bgzf_write(o->bgzf, buf, n) != (ssize_t)n) goto err;
    } else if (n && fwrite(buf, 1, n, o->fp) != n) goto err;
    return 0;
err:
    hd_set_error(HD_ERESOURCE, "%s: write failed: %s", hd_output_name(o->path), errno ? strerror(errno) : "I/O error");
    return -1;
}

int hd_out_printf(hd_outfile *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc;
    if (o->fp) {
        rc = vfprintf(o->fp, fmt, ap) < 0 ? -1 : 0;
        if (rc) hd_set_error(HD_ERESOURCE, "%s: write failed: %s", hd_output_name(o->path), strerror(errno));
    } else {
        char sbuf[4096], *s = sbuf;
        va_list aq;
        va_copy(aq, ap);
        int n = vsnprintf(sbuf, sizeof sbuf, fmt, ap);
        if (n >= (int)sizeof sbuf) {
            s = malloc((size_t)n + 1);
            if (s) vsnprintf(s, (size_t)n + 1, fmt, aq);
            else hd_set_oom(NULL);
        }
        va_end(aq);
        rc = s ? hd_out_write(o, s, (size_t)n) : -1;
        if (s != sbuf) free(s);
    }
    va_end(ap);
    return rc;
}

static void unpend(hd_outfile *o)
{
    if (o->slot >= 0) pending[o->slot] = NULL;
    o->slot = -1;
}

int hd_out_close(hd_outfile *o)
{
    int rc = 0;
    if (o->bgzf) rc = bgzf_close(o->bgzf) < 0 ? -1 : 0;
    else if (o->fp) {
        if (fflush(o->fp) || ferror(o->fp)) rc = -1;
        if (fclose(o->fp)) rc = -1;
    }
    o->fp = NULL;
    o->bgzf = NULL;
    if (rc) {
        hd_set_error(HD_ERESOURCE, "%s: write failed: %s", hd_output_name(o->path), errno ? strerror(errno) : "I/O error");
    } else if (o->tmp && rename(o->tmp, o->path) < 0) {
        hd_set_error(HD_ERESOURCE, "cannot rename output into place as '%s': %s", o->path, strerror(errno));
        rc = -1;
    } else if (o->tmp) {
        unpend(o);
        free(o->tmp);
        o->tmp = NULL;
    }
    hd_out_abort(o);
    return rc;
}

void hd_out_abort(hd_outfile *o)
{
    if (!o) return;
    forget_output(o);
    if (o->bgzf) bgzf_close(o->bgzf);
    if (o->fp) fclose(o->fp);
    if (o->tmp) { unlink(o->tmp); unpend(o); free(o->tmp); }
    free(o->path);
    free(o);
}

/* ---- temporary names for writers that open files by name (htslib hts_open) ---- */

static void unpend_name(const char *tmp)
{
    for (int i = 0; i < HD_MAX_PENDING; i++)
        if (pending[i] == tmp) pending[i] = NULL;
}

char *hd_out_tmpname(const char *path)
{
    if (empty_name(path)) return NULL;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    int dirlen = slash ? (int)(slash - path + 1) : 0;
    char *tmp = hd_sprintf("%.*s.%s.tmp.XXXXXX", dirlen, path, base);
    if (!tmp) return NULL;
    if (note_output(path, tmp)) {
        free(tmp);
        return NULL;
    }
    for (int i = 0; i < HD_MAX_PENDING; i++)   /* pending before the file exists, as in hd_out_open */
        if (!pending[i]) { pending[i] = tmp; break; }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        hd_set_error(HD_ERESOURCE, "cannot create output file '%s': %s", path, strerror(errno));
        unpend_name(tmp);
        forget_output(tmp);
        free(tmp);
        return NULL;
    }
    mode_t um = umask(0);
    umask(um);
    fchmod(fd, 0666 & ~um);
    close(fd);
    return tmp;
}

int hd_out_commit(char *tmp, const char *path)
{
    int rc = 0;
    if (rename(tmp, path) < 0) {
        hd_set_error(HD_ERESOURCE, "cannot rename output into place as '%s': %s", path, strerror(errno));
        unlink(tmp);
        rc = -1;
    }
    unpend_name(tmp);
    forget_output(tmp);
    free(tmp);
    return rc;
}

int hd_index_commit(char *itmp, const char *ipath)
{
    if (hd_out_commit(itmp, ipath) < 0) return -1;
    size_t n = strlen(ipath);
    int csi = hd_has_suffix(ipath, ".csi");
    if (n < 4 || (!csi && !hd_has_suffix(ipath, ".tbi"))) return 0;
    char *other = hd_strdup(ipath);
    if (!other) return -1;
    memcpy(other + n - 3, csi ? "tbi" : "csi", 3);
    struct stat sb;
    if (lstat(other, &sb) == 0 && S_ISREG(sb.st_mode) && unlink(other) < 0)
        hd_log(HD_LOG_WARN, "cannot remove the stale index '%s' (the new one is '%s'): %s", other, ipath, strerror(errno));
    free(other);
    return 0;
}

void hd_out_discard(char *tmp)
{
    if (!tmp) return;
    unlink(tmp);
    unpend_name(tmp);
    forget_output(tmp);
    free(tmp);
}
