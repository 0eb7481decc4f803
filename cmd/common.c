/* common.c -- messages, option parsing and model/backend setup shared by the subcommands. */
#define _GNU_SOURCE
#include "config.h"
#include "common.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hub.h"
#include "vocab.h"

const char *hd_cmd = NULL;
static const char *model_config;   /* -c/--config, remembered by hd_common_opt for hd_open_model */
int hd_verbosity = 2;

static int progress_open;   /* a progress line is drawn, without its end of line (hd_progress) */

static void vmsg(const char *kind, const char *fmt, va_list ap)
{
    if (progress_open) {   /* a message mid-run starts a line of its own; the progress is redrawn below it */
        fputc('\n', stderr);
        progress_open = 0;
    }
    fprintf(stderr, "hyenadna%s%s: %s", hd_cmd ? " " : "", hd_cmd ? hd_cmd : "", kind);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void hd_errorf(const char *fmt, ...)
{
    if (hd_verbosity < 1) return;
    va_list ap;
    va_start(ap, fmt);
    vmsg("", fmt, ap);
    va_end(ap);
}

void hd_warnf(const char *fmt, ...)
{
    if (hd_verbosity < 2) return;
    va_list ap;
    va_start(ap, fmt);
    vmsg("warning: ", fmt, ap);
    va_end(ap);
}

void hd_infof(const char *fmt, ...)
{
    if (hd_verbosity < 3) return;
    va_list ap;
    va_start(ap, fmt);
    vmsg("", fmt, ap);
    va_end(ap);
}

int hd_exit_status(int kind) { return kind == HD_EINPUT ? EXIT_INPUT : EXIT_MODEL; }

int hd_fail(void)
{
    hd_errorf("%s", hd_error());
    return hd_exit_status(hd_error_kind());
}

void hd_log_to_stderr(int level, const char *msg)
{
    if (level <= HD_LOG_WARN) hd_warnf("%s", msg);
    else hd_infof("%s", msg);
}

const char *hd_input_arg(int argc, char **argv, const char *what, void (*usage)(FILE *))
{
    const char *in;
    if (optind < argc) in = argv[optind++];
    else if (!isatty(STDIN_FILENO)) in = "-";
    else {
        hd_errorf("no input given (%s)", what);
        if (usage) usage(stderr);
        return NULL;
    }
    if (optind < argc) {
        hd_errorf("unexpected argument '%s'", argv[optind]);
        return NULL;
    }
    return in;
}

/* ------------------------------------------------------------------ progress */

void hd_progress_start(hd_progress *p, int forced, const char *unit, uint64_t total)
{
    memset(p, 0, sizeof *p);
    p->on = (forced || isatty(STDERR_FILENO)) && hd_verbosity > 0;
    p->unit = unit;
    p->total = total;
    p->t0 = p->last = hd_now();
}

static void progress_draw(hd_progress *p, double now, int final)
{
    double el = now - p->t0;
    fprintf(stderr, "\rhyenadna%s%s: %" PRIu64 " %s", hd_cmd ? " " : "", hd_cmd ? hd_cmd : "", p->done, p->unit);
    if (p->bases) fprintf(stderr, ", %" PRIu64 " bases", p->bases);
    double rate = el > 0 ? (double)(p->bases ? p->bases : p->done) / el : 0.0;
    fprintf(stderr, ", %.0f %s/s", rate, p->bases ? "bases" : p->unit);
    if (p->total && !final) {
        double f = (double)p->done / (double)p->total;
        fprintf(stderr, ", %.0f%%", 100 * f);
        if (f > 0 && f < 1) {
            long left = (long)(el * (1 - f) / f + 0.5);
            fprintf(stderr, ", ETA %ld:%02ld:%02ld", left / 3600, left / 60 % 60, left % 60);
        }
    }
    if (final) fputc('\n', stderr);
    fflush(stderr);
    p->drawn = !final;
    progress_open = !final;
}

void hd_progress_update(hd_progress *p, uint64_t done, uint64_t bases)
{
    p->done = done;
    p->bases = bases;
    if (!p->on) return;
    double now = hd_now();
    if (now - p->last < 1.0) return;
    p->last = now;
    progress_draw(p, now, 0);
}

void hd_progress_end(hd_progress *p)
{
    if (!p->on || (!p->done && !p->drawn)) return;
    progress_draw(p, hd_now(), 1);
}

int hd_parse_long(const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    /* the whole string: strtol skips leading spaces, which are refused as trailing ones are */
    int space = isspace((unsigned char)*s);
    if (*s && !*end && errno == ERANGE && !space) {
        hd_errorf("option %s: %s is out of range [%ld, %ld]", opt, s, lo, hi);
        return -1;
    }
    if (!*s || *end || errno || space) {
        hd_errorf("option %s: '%s' is not an integer", opt, s);
        return -1;
    }
    if (v < lo || v > hi) {
        hd_errorf("option %s: %ld is out of range [%ld, %ld]", opt, v, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int hd_parse_double_in(const char *opt, const char *s, double lo, double hi, int lo_open, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    /* decimal only: strtod also takes hexadecimal ("0x10" = 16), which no user means; nan and inf are not
     * numbers, but a decimal beyond the largest double (ERANGE, ±HUGE_VAL) is one out of range, and one below
     * the smallest (ERANGE, 0 or subnormal) is that value */
    int hex = strpbrk(s, "xX") != NULL, space = isspace((unsigned char)*s);   /* strtod skips leading spaces */
    if (!*s || *end || (errno && errno != ERANGE) || isnan(v) || (isinf(v) && errno != ERANGE) || hex || space) {
        hd_errorf("option %s: '%s' is not a number", opt, s);
        return -1;
    }
    if (isinf(v) || (lo_open ? v <= lo : v < lo) || v > hi) {   /* named as given: %g rounds 1.0000001 to 1 */
        hd_errorf("option %s: %s is out of range %c%g, %g]", opt, s, lo_open ? '(' : '[', lo, hi);
        return -1;
    }
    *out = v == 0 ? 0.0 : v;   /* -0 is 0 */
    return 0;
}

int hd_parse_double(const char *opt, const char *s, double lo, double hi, double *out)
{
    return hd_parse_double_in(opt, s, lo, hi, 0, out);
}

static int exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

const char *hd_resolve_model(const char *arg)
{
    static char *hub;   /* hf:OWNER/REPO[@REVISION]: from the local cache only, never the network */
    const char *env = getenv("HYENADNA_MODEL");
    if (!arg && env && *env) arg = env;
    if (arg && !strncmp(arg, "hf:", 3)) return free(hub), hub = hd_hub_resolve(arg + 3);
    if (arg) return arg;
    static char path[PATH_MAX + 64];
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(path, sizeof path, "%s/data/models/default", exe);
            if (exists(path)) return path;
        }
    }
#ifdef HD_SRCDATADIR
    /* an uninstalled build (in or out of the source tree) finds the source tree's bundled model */
    snprintf(path, sizeof path, "%s/models/default", HD_SRCDATADIR);
    if (exists(path)) return path;
#endif
    snprintf(path, sizeof path, "%s/models/default", HD_PKGDATADIR);
    if (exists(path)) return path;
    return NULL;
}

/* A model that cannot be opened: the error, naming $HYENADNA_MODEL when the model came from it (a stale
 * setting in a profile is otherwise hard to tell from a bad -m). */
static void model_error(const char *arg)
{
    const char *env = getenv("HYENADNA_MODEL");
    if (!arg && env && *env) hd_errorf("%s (the model named by HYENADNA_MODEL=%s; -m overrides it)", hd_error(), env);
    else hd_errorf("%s", hd_error());
}

hd_model *hd_open_model(const char *arg)
{
    const char *loc = hd_resolve_model(arg), *env = getenv("HYENADNA_MODEL");
    if (!loc && (arg || (env && *env))) {   /* hf:... not in the cache */
        model_error(arg);
        return NULL;
    }
    if (!loc) {
        hd_errorf("no model given and no default model bundled: use -m MODEL (a directory with config.json + "
                  "model.safetensors, or a .safetensors file) or set HYENADNA_MODEL");
        return NULL;
    }
    hd_model *m = hd_model_open_with(loc, model_config);
    if (!m) model_error(arg);
    return m;
}

int hd_common_opt(hd_common_opts *o, int c, const char *arg)
{
    long v;
    switch (c) {
    case 'm': o->model = arg; return 1;
    case 'c': o->config = model_config = arg; return 1;
    case OPT_THREADS:
    case '@':
        if (hd_parse_long("--threads", arg, 0, 4096, &v)) return -1;
        o->threads = (int)v;
        hd_set_load_threads(o->threads);   /* (for hd_open_model: the checkpoint's pages come in on as many) */
        return 1;
    case OPT_DEVICE: o->device = arg; return 1;
    case OPT_PRECISION: o->precision = arg; return 1;
    case OPT_VERBOSITY:
        if (hd_parse_long("--verbosity", arg, 0, 10, &v)) return -1;
        hd_verbosity = (int)v;
        return 1;
    case OPT_PROGRESS: o->progress = 1; return 1;
    default: return 0;
    }
}

void hd_common_usage(FILE *fp)
{
    fprintf(fp,
            "Model and compute options:\n"
            "  -m, --model MODEL      model directory (config + model.safetensors, a sharded model's\n"
            "                         model.safetensors.index.json, or a PyTorch checkpoint), .safetensors\n"
            "                         file, index, checkpoint (.pt, .ckpt, .bin), or hf:OWNER/REPO[@REV]\n"
            "                         from the local cache (hyenadna pull)\n"
            "                         [$HYENADNA_MODEL, else the bundled default model]\n"
            "  -c, --config FILE      the model's config (JSON, or vortex YAML for Evo 2) [found with the model]\n"
            "  -@, --threads INT      compute threads in total, 0 = every core the process may run on,\n"
            "                         or $OMP_NUM_THREADS when set [0]\n"
            "      --device DEV       auto, cpu, cuda or cuda:N [auto]\n"
            "      --precision STR    projections in fp32, tf32 (GPU) or bf16 (GPU, or a CPU with AVX512_BF16)\n"
            "                         [fp32; $HYENADNA_PRECISION]\n"
            "General options:\n"
            "      --progress         report progress on stderr even when it is not a terminal\n"
            "      --verbosity INT    0 silent, 1 errors, 2 warnings, 3 information [2]\n"
            "  -h, --help             print this help and exit\n");
}

hd_backend *hd_open_backend(const hd_common_opts *o)
{
    hd_backend *be = hd_backend_new(o->device ? o->device : "auto", o->threads);
    if (!be) {
        hd_fail();
        return NULL;
    }
    /* --precision or HYENADNA_PRECISION=fp32|tf32|bf16: precision of the projections.  The CPU does bf16 where the
     * processor has AVX512_BF16 and refuses it elsewhere; tf32 is a GPU mode, ignored with a warning on the CPU. */
    const char *prec = o->precision ? o->precision : getenv("HYENADNA_PRECISION");
    if (prec && *prec && hd_backend_set_precision(be, prec)) {
        hd_precision p = hd_precision_parse(prec);
        if (hd_error_kind() == HD_EINPUT && p == HD_PREC_TF32 && !(be->precisions & p)) {
            hd_warnf("precision %s ignored: the CPU backend computes in fp32", prec);
        } else {
            hd_errorf("%s: %s", o->precision ? "option --precision" : "HYENADNA_PRECISION", hd_error());
            hd_backend_free(be);
            hd_set_error(HD_EINPUT, "bad precision");
            return NULL;
        }
    }
    if (be->note[0]) hd_warnf("%s", be->note);   /* e.g. --device auto did not take the GPU, and why */
    hd_infof("compute device: %s", hd_backend_device(be));
    return be;
}

void hd_keep_case(hd_model *m)
{
    if (m->tokenizer == HD_TOKENIZER_BYTES) m->keep_case = 1;
    else if (m->vocab)   /* PlantCaduceus: lower-case tokens only, and a tokenizer that lower-cases (docs/models.md §2) */
        hd_warnf("--keep-case has no effect on a %s model (its %s has one token per base, whatever the case)",
                 hd_family_name(m->family), m->vocab->source);
    else hd_warnf("--keep-case has no effect on a %s model (its vocabulary has no lower-case bases)", hd_family_name(m->family));
}

int hd_refuse_tty_output(const char *out, const char *what)
{
    if (strcmp(out, "-") || !isatty(STDOUT_FILENO)) return 0;
    hd_errorf("refusing to write %s output to a terminal: use -o FILE or redirect the output", what);
    return 1;
}

int hd_finish_stdout(int status)
{
    static int reported;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (errno != EPIPE && !reported) hd_errorf("error writing to standard output: %s", strerror(errno));
        reported = 1;
        return status ? status : EXIT_MODEL;
    }
    return status;
}
