/* convert.c -- `hyenadna convert`: a PyTorch checkpoint (.ckpt/.bin/.pt) to model.safetensors + its config. */
#include "config.h"
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../src/ckpt.h"
#include "../src/output.h"
#include "../src/yamlcfg.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: hyenadna convert [options] -o OUT_DIR <in.ckpt|in.bin|in.pt>\n"
            "\n"
            "Read a PyTorch checkpoint (torch.save zip: a Lightning .ckpt, an HF pytorch_model.bin, an Evo 2\n"
            ".pt) without Python and write the model directory the other commands load: OUT_DIR/model.safetensors\n"
            "and OUT_DIR/config.json (config.yml for a vortex YAML).  Tensors keep their dtype (BF16 stays BF16)\n"
            "and are streamed from the mapped file.  The state dict is taken from 'state_dict' (Lightning),\n"
            "'model', or the top level; optimizer state, metric entries and non-tensor values (Evo 2's\n"
            "_extra_state entries) are dropped; a name that is the same view of the same storage as an earlier\n"
            "one (tied weights) is dropped as an alias.  The config comes from the Lightning hyper_parameters\n"
            "(their 'model' section) unless --config is given; an Evo 2 7B checkpoint without one gets the\n"
            "shipped config that fits it.  The pickle is never executed: unknown classes become inert\n"
            "placeholders.  A report of what was kept, dropped and aliased is printed on standard output.  Any\n"
            "-m option of the other commands also accepts a checkpoint directly (read in place).\n"
            "\n"
            "Options:\n"
            "  -o, --output OUT       output model directory (must not exist or be empty), or a single\n"
            "                         OUT.safetensors file holding the config in its __metadata__\n"
            "  -c, --config FILE      model config to write instead of the checkpoint's (JSON, or a vortex\n"
            "                         YAML for Evo 2)\n"
            "  -f, --force            replace model.safetensors and the config in a non-empty OUT_DIR,\n"
            "                         or an existing OUT.safetensors\n"
            "  -n, --dry-run          print the report only; write nothing\n"
            "      --no-check         do not check that the converted model loads\n"
            "      --verbosity INT    0 silent, 1 errors, 2 warnings, 3 information [2]\n"
            "  -h, --help             print this help and exit\n");
}

static int dir_state(const char *p)   /* -1 absent, 0 empty directory, 1 non-empty directory, 2 other file */
{
    struct stat sb;
    if (stat(p, &sb) < 0) return -1;
    if (!S_ISDIR(sb.st_mode)) return 2;
    DIR *d = opendir(p);
    if (!d) return 1;
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n ? 1 : 0;
}

static int write_file(const char *path, const void *buf, size_t n)
{
    hd_outfile *o = hd_out_open(path, 0);
    if (!o) return -1;
    if (hd_out_write(o, buf, n) < 0) { hd_out_abort(o); return -1; }
    return hd_out_close(o);
}

/* The config file's text, checked: JSON, or YAML (then *json_out gets it as JSON for a single-file output). */
static char *load_config(const char *path, char **json_out)
{
    json_error_t e;
    if (hd_is_yaml_name(path)) {
        json_t *y = hd_yaml_load_file(path);
        if (!y) { hd_errorf("%s", hd_error()); return NULL; }
        *json_out = json_dumps(y, JSON_INDENT(4) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
        json_decref(y);
    } else {
        json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
        if (!j) {
            if (access(path, R_OK) < 0) hd_errorf("cannot open config '%s': %s", path, strerror(errno));
            else hd_errorf("%s: invalid JSON at line %d: %s", path, e.line, e.text);
            return NULL;
        }
        if (!json_is_object(j)) {
            hd_errorf("%s: the config is not a JSON object", path);
            json_decref(j);
            return NULL;
        }
        json_decref(j);
    }
    /* written as given */
    FILE *fp = fopen(path, "rb");
    char *s = NULL;
    size_t n = 0;
    if (fp && fseek(fp, 0, SEEK_END) == 0 && (long)(n = (size_t)ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0 &&
        (s = malloc(n + 1)) && fread(s, 1, n, fp) == n)
        s[n] = 0;
    else {
        hd_errorf("cannot read config '%s': %s", path, strerror(errno));
        free(s);
        s = NULL;
    }
    if (fp) fclose(fp);
    return s;
}

/* vortex tensor names (Evo 2) */
static int is_evo2(const hd_ckpt *ck)
{
    for (int i = 0; i < ck->n; i++)
        if (!strncmp(ck->t[i].name, "blocks.", 7) &&
            (strstr(ck->t[i].name, ".filter.short_filter_weight") || strstr(ck->t[i].name, ".inner_mha_cls.")))
            return 1;
    return 0;
}

static void rm_tmp(const char *dir, const char *f1, const char *f2)
{
    char *p;
    if (f1 && (p = hd_sprintf("%s/%s", dir, f1))) { unlink(p); free(p); }
    if (f2 && (p = hd_sprintf("%s/%s", dir, f2))) { unlink(p); free(p); }
    rmdir(dir);
}

int main_convert(int argc, char **argv)
{
    enum { OPT_NOCHECK = OPT_COMMON_END };
    static const struct option lo[] = {
        {"output", required_argument, NULL, 'o'}, {"config", required_argument, NULL, 'c'},
        {"force", no_argument, NULL, 'f'}, {"dry-run", no_argument, NULL, 'n'},
        {"no-check", no_argument, NULL, OPT_NOCHECK}, {"verbosity", required_argument, NULL, OPT_VERBOSITY},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    hd_common_opts co = {0};
    const char *out = NULL, *cfg_path = NULL;
    char *picked = NULL, *picked_note = NULL;
    int c, force = 0, dry = 0, check = 1;
    while ((c = getopt_long(argc, argv, "o:c:fnh", lo, NULL)) >= 0) {
        int r = hd_common_opt(&co, c, optarg);
        if (r < 0) return EXIT_INPUT;
        if (r) continue;
        switch (c) {
        case 'o': out = optarg; break;
        case 'f': force = 1; break;
        case 'n': dry = 1; break;
        case OPT_NOCHECK: check = 0; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_INPUT;
        }
    }
    cfg_path = co.config;
    if (optind >= argc) {
        hd_errorf("no input checkpoint given");
        usage(stderr);
        return EXIT_INPUT;
    }
    if (optind + 1 < argc) {
        hd_errorf("unexpected argument '%s' (one checkpoint at a time)", argv[optind + 1]);
        usage(stderr);
        return EXIT_INPUT;
    }
    const char *in = argv[optind];
    if (!out && !dry) {
        hd_errorf("no output given (-o OUT_DIR)");
        usage(stderr);
        return EXIT_INPUT;
    }
    if (out && !strcmp(out, "-")) {   /* '-' means standard output elsewhere: never a directory named '-' */
        hd_errorf("option -o: convert writes a model directory or a .safetensors file, not standard output ('-')");
        return EXIT_INPUT;
    }
    int single = out && hd_has_suffix(out, ".safetensors");
    char *outp = out ? strdup(out) : NULL;
    if (outp)
        for (size_t l = strlen(outp); l > 1 && outp[l - 1] == '/'; l--) outp[l - 1] = 0;
    if (outp && !dry) {
        int ds = dir_state(outp);
        const char *why = NULL;
        if (single && (ds == 0 || ds == 1)) why = "is a directory";
        else if (single && ds == 2 && !force) why = "exists; use --force to replace it";
        else if (!single && ds == 2) why = "exists and is not a directory";
        else if (!single && ds == 1 && !force) why = "exists and is not empty; use --force to replace its model files";
        if (why) {
            hd_errorf("output '%s' %s", outp, why);
            free(outp);
            return EXIT_INPUT;
        }
    }

    int sn = hd_ckpt_sniff(in);
    if (sn == 0) {
        hd_errorf("%s: not a PyTorch checkpoint (a torch.save zip archive starts with 'PK')", in);
        free(outp);
        return EXIT_MODEL;
    }
    hd_ckpt *ck = hd_ckpt_open(in);
    if (!ck) { free(outp); return hd_fail(); }

    int status = EXIT_OK, yaml = 0, evo2 = is_evo2(ck);
    char *config = NULL, *config_json = NULL, *tmpdir = NULL, *wpath = NULL;
    const char *config_from = NULL;
    if (evo2 && (check || !cfg_path)) {
        /* an Evo 2 checkpoint: load it first, so that an FP8 checkpoint or a config that does not fit fails before
         * anything is written, and so that a shipped config is picked when none is given (docs/models.md §6.1) */
        hd_model *m = hd_model_open_with(in, cfg_path);
        if (!m) { status = hd_fail(); goto done; }
        if (!cfg_path && m->config_path) {
            cfg_path = picked = strdup(m->config_path);
            config_from = picked_note = m->config_note ? strdup(m->config_note) : NULL;
        }
        hd_model_close(m);
    }
    if (cfg_path) {
        if (!(config = load_config(cfg_path, &config_json))) { status = EXIT_INPUT; goto done; }
        yaml = hd_is_yaml_name(cfg_path);
        if (!config_from) config_from = cfg_path;
    } else if (ck->config_json) {
        config = strdup(ck->config_json);
        config_from = ck->config_from;
    }
    if (!config && !dry) {
        hd_errorf("%s: the checkpoint holds no model config (no hyper_parameters with a model section); give one with --config FILE", in);
        status = EXIT_MODEL;
        goto done;
    }

    /* the report */
    size_t nval = 0, nbytes = 0;
    int ndrop = 0, nalias = 0;
    printf("input\t%s\n", in);
    printf("state_dict\t%s\n", ck->source);
    printf("config\t%s\n", config_from ? config_from : "none");
    for (int i = 0; i < ck->n; i++) {
        const hd_ckpt_tensor *t = &ck->t[i];
        printf("kept\t%s\t%s\t[", t->name, hd_dtype_name(t->dtype));
        for (int d = 0; d < t->ndim; d++) printf("%s%lld", d ? ", " : "", (long long)t->shape[d]);
        printf("]\n");
        nval += t->numel;
        nbytes += t->nbytes;
    }
    for (int i = 0; i < ck->n_report; i++) {
        printf("%s\n", ck->report[i]);
        ndrop += !strncmp(ck->report[i], "dropped", 7);
        nalias += !strncmp(ck->report[i], "aliased", 7);
    }
    char sz[32];
    printf("summary\t%d tensors kept (%zu values, %s), %d entries dropped, %d aliases\n", ck->n, nval,
           hd_fmt_bytes((double)nbytes, sz, sizeof sz), ndrop, nalias);
    if (dry) goto done;

    /* write into OUT.tmp.XXXXXX, check, then move into place */
    if (!(tmpdir = hd_sprintf("%s.tmp.XXXXXX", outp)) || !mkdtemp(tmpdir)) {
        hd_errorf("cannot create a temporary directory next to '%s': %s", outp, strerror(errno));
        free(tmpdir);
        tmpdir = NULL;
        status = EXIT_MODEL;
        goto done;
    }
    mode_t um = umask(0);   /* mkdtemp makes 0700; give the directory the usual permissions */
    umask(um);
    chmod(tmpdir, 0777 & ~um);
    const char *base = strrchr(outp, '/');
    base = base ? base + 1 : outp;
    const char *wname = single ? base : "model.safetensors", *cname = yaml ? "config.yml" : "config.json";
    wpath = hd_sprintf("%s/%s", tmpdir, wname);
    char *cpath = single ? NULL : hd_sprintf("%s/%s", tmpdir, cname);
    /* the Transformer Engine FP8 state is not kept, but its presence is: the loader's FP8 rule needs it */
    int nfp8 = 0;
    for (int i = 0; i < ck->n_extra; i++) nfp8 += ck->extra[i].kind == HD_XS_FP8 && strstr(ck->extra[i].name, "projections._extra_state");
    char nfp8s[32];
    snprintf(nfp8s, sizeof nfp8s, "%d", nfp8);
    const char *meta[] = {"te_fp8_states", nfp8s, NULL};
    if (!wpath || (!single && !cpath) ||
        hd_ckpt_write(ck, single ? (config_json ? config_json : config) : NULL, nfp8 ? meta : NULL, wpath) < 0 ||
        (!single && write_file(cpath, config, strlen(config)) < 0)) {
        free(cpath);
        status = hd_fail();
        rm_tmp(tmpdir, wname, cname);
        goto done;
    }
    free(cpath);
    if (check) {
        hd_model *m = hd_model_open(single ? wpath : tmpdir);
        if (!m) {
            hd_errorf("%s: the converted model does not load: %s", in, hd_error());
            rm_tmp(tmpdir, wname, cname);
            status = EXIT_MODEL;
            goto done;
        }
        printf("family\t%s\n", hd_family_name(m->family));
        printf("parameters\t%zu\n", hd_model_n_params(m));
        hd_model_close(m);
    }
    int ok;
    if (single) {
        ok = rename(wpath, outp) == 0;
        if (ok) rmdir(tmpdir);
    } else if (rename(tmpdir, outp) == 0) ok = 1;
    else if (force && (errno == ENOTEMPTY || errno == EEXIST)) {
        /* replace the two files inside the existing directory */
        char *a = hd_sprintf("%s/%s", tmpdir, cname), *b = hd_sprintf("%s/%s", outp, cname);
        char *c2 = hd_sprintf("%s/model.safetensors", outp);
        ok = a && b && c2 && rename(wpath, c2) == 0 && rename(a, b) == 0;
        free(a), free(b), free(c2);
        if (ok) rmdir(tmpdir);
    } else ok = 0;
    if (!ok) {
        hd_errorf("cannot move the converted model into '%s': %s", outp, strerror(errno));
        rm_tmp(tmpdir, wname, cname);
        status = EXIT_MODEL;
        goto done;
    }
    printf("output\t%s\n", outp);
    hd_infof("%s: %d tensors written to %s", in, ck->n, outp);
done:
    free(wpath);
    free(tmpdir);
    free(config);
    free(config_json);
    free(picked);
    free(picked_note);
    free(outp);
    hd_ckpt_close(ck);
    return hd_finish_stdout(status);
}
