/* common.h -- shared pieces of the subcommands: messages, option parsing, model and device setup. */
#ifndef HD_CMD_COMMON_H
#define HD_CMD_COMMON_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "backend.h"
#include "model.h"
#include "util.h"

/* exit statuses (man hyenadna, EXIT STATUS) */
#define EXIT_OK 0
#define EXIT_INPUT 1   /* usage error or bad input */
#define EXIT_MODEL 2   /* model-file or resource failure */

extern const char *hd_cmd;      /* "embed", ... for message prefixes */
extern int hd_verbosity;        /* 0 quiet, 1 errors, 2 +warnings (default), 3 +info */

void hd_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hd_warnf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hd_infof(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The exit status of an error kind (util.h): HD_EINPUT -> EXIT_INPUT, HD_EMODEL and HD_ERESOURCE ->
 * EXIT_MODEL.  hd_exit_status(hd_error_kind()) is the status of the library's last error. */
int hd_exit_status(int kind);
/* Print the library's last error with the command prefix; return the exit status of its kind. */
int hd_fail(void);
/* The sink of the library's warnings and notes (hd_log): hd_warnf / hd_infof with the command prefix. */
void hd_log_to_stderr(int level, const char *msg);

/* The one input file of a command: the positional argument left after the options (argv[optind]),
 * else "-" (standard input) when standard input is not a terminal.  NULL when there is none (the error
 * "no input given (WHAT)" and, when usage is not NULL, the usage are printed) or when more arguments
 * follow (the error names the first).  The caller opens it with the reader of its format; every
 * reader takes "-" for standard input (src/input.h). */
const char *hd_input_arg(int argc, char **argv, const char *what, void (*usage)(FILE *));

/* Progress on stderr, one rule for every command: shown only when stderr is a terminal or --progress
 * is given, and never at --verbosity 0; at most once a second, on one line rewritten in place:
 *     hyenadna CMD: 1200 sequences, 1.2 Mbases, 35000 bases/s, 40%, ETA 0:00:12
 * (items done and their unit; bases when counted; the rate, of bases when counted, else of items; the
 * fraction and the estimated time left when the total number of items is known). */
typedef struct {
    int on;
    const char *unit;          /* "sequences", "records", "queries", ... */
    uint64_t total;            /* items in all, 0 = unknown */
    uint64_t done, bases;
    double t0, last;
    int drawn;                 /* a line is on the terminal */
} hd_progress;
void hd_progress_start(hd_progress *p, int forced, const char *unit, uint64_t total);
/* items and bases done so far (totals, not increments; bases 0 when not counted) */
void hd_progress_update(hd_progress *p, uint64_t done, uint64_t bases);
/* the final line (when anything was done) and the end of the line */
void hd_progress_end(hd_progress *p);

/* Strict integer/float option parsing: the whole string, within [lo, hi]; an error names the option. */
int hd_parse_long(const char *opt, const char *s, long lo, long hi, long *out);
int hd_parse_double(const char *opt, const char *s, double lo, double hi, double *out);
/* the same within (lo, hi] when lo_open */
int hd_parse_double_in(const char *opt, const char *s, double lo, double hi, int lo_open, double *out);

/* The model to use: the -m argument, else $HYENADNA_MODEL, else the bundled default model
 * (next to the binary in a build tree, or under the installed data directory). */
const char *hd_resolve_model(const char *arg);
/* Open it, with the config file given by -c/--config to hd_common_opt if any; prints the error itself. */
hd_model *hd_open_model(const char *arg);

/* Options shared by the model-running subcommands (documented once, see hd_common_usage). */
typedef struct {
    const char *model;
    const char *config;     /* -c/--config: the model's config file (JSON or vortex YAML) */
    const char *device;
    const char *precision;
    int threads;
    int progress;
} hd_common_opts;

enum { OPT_THREADS = 1000, OPT_DEVICE, OPT_PRECISION, OPT_VERBOSITY, OPT_PROGRESS, OPT_HELP, OPT_COMMON_END };
#define HD_COMMON_LONGOPTS \
    {"model", required_argument, NULL, 'm'}, {"config", required_argument, NULL, 'c'}, \
    {"threads", required_argument, NULL, OPT_THREADS}, \
    {"device", required_argument, NULL, OPT_DEVICE}, {"precision", required_argument, NULL, OPT_PRECISION}, \
    {"verbosity", required_argument, NULL, OPT_VERBOSITY}, \
    {"progress", no_argument, NULL, OPT_PROGRESS}, {"help", no_argument, NULL, OPT_HELP}

/* Handle one of the shared options; 1 handled, 0 not a shared option, -1 bad value (message printed). */
int hd_common_opt(hd_common_opts *o, int c, const char *arg);
void hd_common_usage(FILE *fp);
hd_backend *hd_open_backend(const hd_common_opts *o);   /* prints the error itself */

/* --keep-case: feed soft-masked bases as they are to a byte-token model (Evo 2); a warning for the others,
 * whose vocabularies have no lower-case bases. */
void hd_keep_case(hd_model *m);

/* Binary or compressed output to stdout when stdout is a terminal: an error saying so (what: "binary
 * safetensors", "compressed"); 1 when refused. */
int hd_refuse_tty_output(const char *out, const char *what);

/* Close stdout, checking for delayed write errors (a full disk: exit status 2); returns the exit status
 * to use. */
int hd_finish_stdout(int status);

#endif
