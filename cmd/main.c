/* main.c -- the hyenadna dispatcher (bcftools-style command table with groups). */
#include "config.h"
#include "common.h"

#include <cblas.h>
#include <errno.h>
#include <fcntl.h>
#include <htslib/hts.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "commands.h"
#include "output.h"

typedef struct {
    int (*func)(int, char **);
    const char *name, *help;
} cmd_t;

static const cmd_t cmds[] = {
    {NULL, "Models", NULL},
    {main_info, "info", "describe a model: family, shape, parameters, aliased tensors"},
    {main_convert, "convert", "convert a PyTorch checkpoint (.ckpt/.bin/.pt) to a model directory"},
    {main_pull, "pull", "download a model from the Hugging Face Hub into the local cache (-m hf:OWNER/REPO)"},
    {main_models, "models", "list the public checkpoints: family, size, context, supported, cached"},
    {NULL, "Inference", NULL},
    {main_embed, "embed", "embeddings of FASTA records, regions, windows or BAM reads (TSV, BED, safetensors)"},
    {main_score_variants, "score-variants", "score VCF/BCF variants (LLR, embedding distance) or saturation mutagenesis"},
    {main_track, "track", "per-base bigWig tracks (log p, entropy, logo) and a tabix table of every SNV"},
    {main_classify, "classify", "classify sequences or genome windows: in-context, few-shot heads, k-mer baseline"},
    {main_forward, "forward", "run a model on FASTA records; hidden states and logits as safetensors"},
    {main_generate, "generate", "continue FASTA prompts with DNA sampled from a causal model (cached decoding)"},
    {main_bench, "bench", "time the forward at given lengths: tokens/s, peak memory, SGEMM rate, GEMM-only time"},
    {NULL, "Figures", NULL},
    {main_plot, "plot", "SVG/PNG pictures of a region: SNV-table heatmap, bigWig track panels"},
    {NULL, NULL, NULL},
};

static void usage(FILE *fp)
{
    fprintf(fp,
            "\n"
            "Program: hyenadna (DNA language models on the command line: HyenaDNA, Caduceus, DNA-xLSTM, Evo 2)\n"
            "Version: %s (using htslib %s)\n"
            "\n"
            "Usage:   hyenadna <command> [options]\n",
            PACKAGE_VERSION, hts_version());
    for (const cmd_t *c = cmds; c->name; c++) {
        if (!c->func) fprintf(fp, "\n -- %s\n", c->name);
        else fprintf(fp, "    %-16s %s\n", c->name, c->help);
    }
    fprintf(fp,
            "\n"
            " -- Help\n"
            "    help CMD         print the help of CMD\n"
            "    --version        print the version and the compiled-in backends\n"
            "\n"
            "Exit status: 0 success, 1 usage error or bad input, 2 model-file or resource failure.\n"
            "Input FASTA may be plain, gzip or bgzip compressed, or '-' for standard input.\n\n");
}

static void version(void)
{
    printf("hyenadna %s\n", PACKAGE_VERSION);
    printf("Using htslib %s\n", hts_version());
    printf("Backends: %s", hd_backends_compiled());
#ifdef HAVE_CUDA
    int n = hd_cuda_device_count();
    printf(" (CUDA backend compiled in; %d device%s visible)", n, n == 1 ? "" : "s");
    if (n > 0) {
        char name[256];
        hd_cuda_device_name(0, name, sizeof name);
        printf("\nDevice (--device auto): cuda:0 (%s) for HyenaDNA and Evo 2; cpu for families the GPU does not cover", name);
    } else {
        printf("\nDevice (--device auto): cpu (no CUDA device visible)");
    }
#else
    printf(" (CUDA backend not compiled in)");
    printf("\nDevice (--device auto): cpu");
#endif
    printf("\nCPU: FFTW3 single precision, OpenBLAS\n");
    printf("Copyright (C) 2026 the hyenadna authors. License: MIT.\n");
}

static const cmd_t *find(const char *name)
{
    for (const cmd_t *c = cmds; c->name; c++)
        if (c->func && !strcmp(c->name, name)) return c;
    return NULL;
}

/* Two run-time settings are read by the libraries when they load, before main() runs, so when the user
 * has set neither, the program re-runs itself once with them in the environment:
 * - OpenBLAS 0.3.21 (Debian 12) does not recognise recent Xeons and falls back to its Prescott (SSE3)
 *   kernels, several times slower than the AVX2/AVX-512 ones: OPENBLAS_CORETYPE picks the right ones;
 * - libgomp's threads spin at every barrier by default, which wastes most of the CPU when the cores are
 *   shared with other jobs (a pipeline running several tools): OMP_WAIT_POLICY=passive lets them sleep.
 * HYENADNA_NO_ENV_TUNE=1 turns this off. */
static void tune_environment(char **argv)
{
    if (getenv("HYENADNA_NO_ENV_TUNE") || getenv("HYENADNA_ENV_TUNED")) return;
    int changed = 0;
    if (!getenv("OPENBLAS_CORETYPE") && !strcasecmp(openblas_get_corename(), "prescott")) {
        __builtin_cpu_init();
        const char *core = NULL;
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
            core = "SkylakeX";
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
            core = "Haswell";
        if (core) { setenv("OPENBLAS_CORETYPE", core, 1); changed = 1; }
    }
    if (!getenv("OMP_WAIT_POLICY")) { setenv("OMP_WAIT_POLICY", "passive", 1); changed = 1; }
    if (!changed) return;
    setenv("HYENADNA_ENV_TUNED", "1", 1);
    /* What the libraries print as they load (libgomp: "Invalid value for environment variable OMP_NUM_THREADS")
     * this process has printed: the re-run's standard error is /dev/null until its main() puts it back
     * (stderr_back), so that each message comes once, not twice. */
    int keep = fcntl(STDERR_FILENO, F_DUPFD, 3);   /* without FD_CLOEXEC: it survives execv */
    int nul = keep >= 0 ? open("/dev/null", O_WRONLY) : -1;
    if (nul >= 0) {
        char v[16];
        snprintf(v, sizeof v, "%d", keep);
        setenv("HYENADNA_STDERR_FD", v, 1);
        dup2(nul, STDERR_FILENO);
        close(nul);
    }
    execv("/proc/self/exe", argv);
    /* failed: carry on as we are */
    if (nul >= 0) {
        dup2(keep, STDERR_FILENO);
        unsetenv("HYENADNA_STDERR_FD");
    }
    if (keep >= 0) close(keep);
}

/* The re-run of tune_environment: its standard error back (it was /dev/null while the libraries loaded). */
static void stderr_back(void)
{
    const char *v = getenv("HYENADNA_STDERR_FD");
    if (!v || !getenv("HYENADNA_ENV_TUNED")) return;
    char *end;
    long fd = strtol(v, &end, 10);
    if (!*end && fd > 2 && fd < 1L << 20 && fcntl((int)fd, F_GETFD) >= 0) {
        dup2((int)fd, STDERR_FILENO);
        close((int)fd);
    }
    unsetenv("HYENADNA_STDERR_FD");
}

/* A standard stream the caller closed (`2>&-`, `>&-`, `<&-`: a pipeline or daemon that runs tools without them)
 * gets /dev/null opened the wrong way round, so that using it fails (EBADF) and the next file opened cannot
 * take its number: with standard error closed, the output file became descriptor 2 and the warnings were
 * written into it; with standard output closed, the output meant for it went to an input's descriptor. */
static void standard_streams_open(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
        int n = open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY);   /* the lowest free number: fd itself */
        if (n >= 0 && n != fd) {
            dup2(n, fd);
            close(n);
        }
    }
}

int main(int argc, char **argv)
{
    stderr_back();
    standard_streams_open();
    tune_environment(argv);
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version") || !strcmp(cmd, "-v")) {
        version();
        return hd_finish_stdout(0);
    }
    if (!strcmp(cmd, "--version-only")) {
        printf("%s+htslib-%s\n", PACKAGE_VERSION, hts_version());
        return hd_finish_stdout(0);
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || (!strcmp(cmd, "help") && argc == 2)) {
        usage(stdout);
        return hd_finish_stdout(0);
    }
    char *help_argv[3];
    if (!strcmp(cmd, "help")) {
        const cmd_t *c = find(argv[2]);
        if (!c) {
            fprintf(stderr, "hyenadna: unrecognized command '%s'\n", argv[2]);
            return 1;
        }
        help_argv[0] = (char *)c->name;
        help_argv[1] = "--help";
        help_argv[2] = NULL;
        hd_cmd = c->name;
        hd_log_set_sink(hd_log_to_stderr);
        return hd_finish_stdout(c->func(2, help_argv));
    }
    const cmd_t *c = find(cmd);
    if (!c) {
        fprintf(stderr, "hyenadna: unrecognized command '%s'\n", cmd);
        return 1;
    }
    hd_cmd = c->name;
    hd_log_set_sink(hd_log_to_stderr);
    /* the command's argv[0] is "hyenadna CMD", so that getopt's own messages carry the prefix of every other
     * message ("hyenadna embed: invalid option -- 'f'") */
    char prog[64];
    snprintf(prog, sizeof prog, "hyenadna %s", c->name);
    argv[1] = prog;
    /* a closed downstream pipe ends the run quietly (status 141, as other tools) */
    signal(SIGPIPE, SIG_DFL);
    hd_out_install_signal_cleanup();
    return hd_finish_stdout(c->func(argc - 1, argv + 1));
}
