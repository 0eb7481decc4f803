/* pull.c -- `hyenadna pull`: download a model from the Hugging Face Hub into the local cache (src/hub.h). */
#include "config.h"
#include "common.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: hyenadna pull [options] OWNER/REPO[@REVISION]\n"
            "\n"
            "Download a model from the Hugging Face Hub into the local cache, which is huggingface_hub's\n"
            "own ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub), so that\n"
            "-m hf:OWNER/REPO[@REVISION] finds it later without the network.  Fetched: the config\n"
            "(config.json, model_config.json, tokenizer.json, *.yaml) and the weights (*.safetensors, or\n"
            "the PyTorch checkpoint when the repository has no safetensors).  An interrupted download\n"
            "resumes; LFS files are checked against their sha256.  The snapshot folder is printed.\n"
            "\n"
            "Input options:\n"
            "      --include GLOB     also fetch the files matching GLOB (DIR/: all under DIR; repeatable)\n"
            "      --force            download again files that are already in the cache\n"
            "      --retries INT      tries again after HTTP 429 or 5xx or a cut transfer, INT times [3]\n"
            "General options:\n"
            "      --progress         show the progress bar even when stderr is not a terminal\n"
            "      --verbosity INT    0 silent, 1 errors, 2 warnings, 3 information [2]\n"
            "  -h, --help             print this help and exit\n"
            "\n"
            "Environment: HF_ENDPOINT [https://huggingface.co], HF_TOKEN (or the token file $HF_HOME/token)\n"
            "for gated repositories, sent to the endpoint only; HF_HOME, HF_HUB_CACHE; HF_HUB_DOWNLOAD_TIMEOUT\n"
            "(seconds without data before a transfer fails [60]); HF_HUB_OFFLINE=1: no network, the cached\n"
            "snapshot is printed (as when the Hub cannot be reached), an error when it is not in the cache.\n");
}

typedef struct {
    int bar;              /* draw the progress bar */
    int summary;          /* one line per file */
    double t0, last;      /* start of the current file, last redraw */
    uint64_t start;       /* bytes the file had when its transfer began */
    const char *file;
    uint64_t files, bytes, fetched;
} pull_state;

static void fmt_eta(double s, char *buf, size_t n)
{
    if (s < 0 || s > 359999) snprintf(buf, n, "--:--");
    else if (s >= 3600) snprintf(buf, n, "%d:%02d:%02d", (int)s / 3600, (int)s / 60 % 60, (int)s % 60);
    else snprintf(buf, n, "%d:%02d", (int)s / 60, (int)s % 60);
}

/* one line on stderr, redrawn in place (shown by the rule of hd_progress in common.h, but in bytes, with a bar):
 *     hyenadna pull: model.safetensors   45.2 MB / 218.0 MB [######........] 12.3 MB/s, ETA 0:14 */
static void on_progress(void *ud, const char *file, uint64_t done, uint64_t total)
{
    pull_state *ps = ud;
    double now = hd_now();
    if (ps->file != file) ps->file = file, ps->t0 = now, ps->start = done, ps->last = 0;
    if (!ps->bar || (now - ps->last < 1.0 && done < total)) return;   /* the progress rule: once a second */
    ps->last = now;
    char a[32], b[32], r[32], eta[16], bar[31];
    double rate = now > ps->t0 ? (double)(done - ps->start) / (now - ps->t0) : 0;
    int fill = total ? (int)(30.0 * (double)done / (double)total) : 0;
    for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
    bar[30] = 0;
    fmt_eta(rate > 0 && total >= done ? (double)(total - done) / rate : -1, eta, sizeof eta);
    fprintf(stderr, "\rhyenadna pull: %-28.28s %9s / %-9s [%s] %9s/s, ETA %s \033[K", file, hd_fmt_bytes((double)done, a, sizeof a),
            hd_fmt_bytes((double)total, b, sizeof b), bar, hd_fmt_bytes(rate, r, sizeof r), eta);
    fflush(stderr);
}

static void on_file(void *ud, const char *file, uint64_t size, int cached)
{
    pull_state *ps = ud;
    char a[32];
    ps->files++;
    ps->bytes += size;
    if (cached != 1) ps->fetched++;
    if (ps->bar && ps->file == file) fputc('\n', stderr);
    ps->file = NULL;
    if (ps->summary)
        fprintf(stderr, "hyenadna pull: %-40s %10s  %s\n", file, hd_fmt_bytes((double)size, a, sizeof a),
                cached == 1 ? "in the cache" : cached == 2 ? "resumed" : "downloaded");
}

int main_pull(int argc, char **argv)
{
    static const struct option lo[] = {
        {"include", required_argument, NULL, 'I'}, {"force", no_argument, NULL, 'f'},
        {"retries", required_argument, NULL, 'R'},
        {"progress", no_argument, NULL, OPT_PROGRESS}, {"verbosity", required_argument, NULL, OPT_VERBOSITY},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    hd_common_opts co = {0};
    const char **include = calloc((size_t)argc + 1, sizeof *include);
    int c, n_include = 0, force = 0, retries = 3, status = EXIT_INPUT;
    long v;
    if (!include) { hd_errorf("out of memory"); return EXIT_MODEL; }
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) >= 0) {
        int r = hd_common_opt(&co, c, optarg);
        if (r < 0) goto done;
        if (r) continue;
        switch (c) {
        case 'I':
            if (!*optarg) { hd_errorf("option --include: empty pattern"); goto done; }
            include[n_include++] = optarg;
            break;
        case 'f': force = 1; break;
        case 'R':
            if (hd_parse_long("--retries", optarg, 0, 100, &v)) goto done;
            retries = (int)v;
            break;
        case 'h': usage(stdout); status = EXIT_OK; goto done;
        default: usage(stderr); goto done;
        }
    }
    if (argc - optind != 1) {
        if (argc == optind) hd_errorf("no model given: hyenadna pull OWNER/REPO[@REVISION]");
        else hd_errorf("one model at a time: unexpected argument '%s'", argv[optind + 1]);
        usage(stderr);
        goto done;
    }
    const char *spec = argv[optind];
    if (!strncmp(spec, "hf:", 3)) spec += 3;   /* the form -m takes is accepted too */
    hd_hub_ref ref;
    if (hd_hub_parse(spec, &ref)) { status = hd_fail(); goto done; }
    int tty = isatty(STDERR_FILENO);
    pull_state ps = {.bar = hd_verbosity >= 1 && (co.progress || tty), .summary = hd_verbosity >= 3 || (tty && hd_verbosity >= 2)};
    hd_hub_pull_opts o = {.include = include, .n_include = n_include, .force = force, .retries = retries, .progress = on_progress,
                          .file_done = on_file, .ud = &ps};
    char commit[41];
    const char *offvar;
    if (hd_hub_offline(&offvar)) hd_infof("%s is set: looking for %s/%s@%s in the cache only", offvar, ref.owner, ref.name, ref.revision);
    else hd_infof("fetching %s/%s@%s from %s", ref.owner, ref.name, ref.revision, hd_hub_endpoint());
    char *snap = hd_hub_pull(&ref, &o, commit);
    if (ps.bar && ps.file) fputc('\n', stderr);   /* a bar cut short by an error */
    if (!snap) {
        status = hd_fail();
    } else {
        char a[32];
        if (ps.summary)
            fprintf(stderr, "hyenadna pull: %s/%s@%s is commit %s: %llu files, %s; use -m hf:%s\n", ref.owner, ref.name,
                    ref.revision, commit, (unsigned long long)ps.files, hd_fmt_bytes((double)ps.bytes, a, sizeof a), spec);
        printf("%s\n", snap);
        free(snap);
        status = EXIT_OK;
    }
    hd_hub_ref_free(&ref);
done:
    free(include);
    return status;
}
