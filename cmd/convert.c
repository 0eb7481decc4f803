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

#include "ckpt.h"
#include "output.h"
#include "yamlcfg.h"

#define TOKENIZER "tokenizer.json"

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: hyenadna convert [options] -o OUT_DIR <in.ckpt|in.bin|in.pt>\n"
            "\n"
            "Read a PyTorch checkpoint (torch.save zip: a Lightning .ckpt, an HF pytorch_model.bin, an Evo 2\n"
            ".pt) without Python and write the model directory the other commands load: OUT_DIR/model.safetensors\n"
            "and OUT_DIR/config.json (config.yml for a vortex YAML), with the tokenizer.json beside the config\n"
            "(or checkpoint) when there is one.  Tensors keep their dtype (BF16 stays BF16)\n"
            "and are streamed from the mapped file.  The state dict is taken from 'state_dict' (Lightning),\n"
            "'model', or the top level; optimizer state, metric entries and non-tensor values (Evo 2's\n"
            "_extra_state entries) are dropped; a name that is the same view of the same storage as an earlier\n"
            "one (tied weights) is dropped as an alias.  The config comes from the Lightning hyper_parameters\n"
            "(their 'model' section) unless --config is given, else from the config.json or model_config.json\n"
            "beside the checkpoint (or in its Lightning run folder); an Evo 2 7B checkpoint without one gets the\n"
            "shipped config that fits it.  The pickle is never executed: unknown classes become inert\n"
            "placeholders.  A report of what was kept, dropped and aliased is printed on standard output.  Any\n"
            "-m option of the other commands also accepts a checkpoint directly (read in place).\n"
            "\n"
            "Options:\n"
            "  -o, --output OUT       output model directory (must not exist or be empty), or a single\n"
            "                         OUT.safetensors file holding the config in its __metadata__\n"
            "  -c, --config FILE      model config to write instead of the checkpoint's (JSON, or a vortex\n"
            "                         YAML for Evo 2)\n"
            "  -f, --force            replace model.safetensors and the config in a non-empty OUT_DIR\n"
            "                         (removing the earlier model's other configs and tokenizer.json),\n"
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
    if (!hd_is_file(path)) {
        struct stat sb;
        hd_errorf("cannot open config '%s': %s", path, stat(path, &sb) ? strerror(errno) : "not a regular file");
        return NULL;
    }
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
    const char *f[] = {f1, f2, TOKENIZER};
    char *p;
    for (int i = 0; i < 3; i++)
        if (f[i] && (p = hd_sprintf("%s/%s", dir, f[i]))) { unlink(p); free(p); }
    rmdir(dir);
}

/* The tokenizer.json beside a file (the config, else the checkpoint), where the loader looks for a model's own
 * token ids (docs/models.md §2, "Models with their own token ids"): a malloc'd path, or NULL when there is none */
static char *tokenizer_beside(const char *path)
{
    char *p = hd_path_beside(path, TOKENIZER);
    if (p && !hd_is_file(p)) { free(p); p = NULL; }
    return p;
}

/* copy src to dst (a tokenizer.json) */
static int copy_small(const char *src, const char *dst)
{
    const unsigned char *buf;
    size_t n;
    if (hd_map_file(src, &buf, &n) < 0) return -1;
    int rc = write_file(dst, buf, n);
    hd_unmap_file(buf, n);
    return rc;
}

/* ------------------------------------------------------------------ parse and check */

typedef struct {
    hd_common_opts co;
    const char *out, *cfg_path, *in;
    int force, dry, check;
    int single;            /* the output is one .safetensors file, not a directory */
    char *outp;            /* the output without trailing slashes */
} args;

/* 0 parsed, 1 --help printed, -1 usage error (printed) */
static int parse_args(int argc, char **argv, args *a)
{
    enum { OPT_NOCHECK = OPT_COMMON_END };
    static const struct option lo[] = {
        {"output", required_argument, NULL, 'o'}, {"config", required_argument, NULL, 'c'},
        {"force", no_argument, NULL, 'f'}, {"dry-run", no_argument, NULL, 'n'},
        {"no-check", no_argument, NULL, OPT_NOCHECK}, {"verbosity", required_argument, NULL, OPT_VERBOSITY},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    *a = (args){.check = 1};
    int c;
    while ((c = getopt_long(argc, argv, "o:c:fnh", lo, NULL)) >= 0) {
        int r = hd_common_opt(&a->co, c, optarg);
        if (r < 0) return -1;
        if (r) continue;
        switch (c) {
        case 'o': a->out = optarg; break;
        case 'f': a->force = 1; break;
        case 'n': a->dry = 1; break;
        case OPT_NOCHECK: a->check = 0; break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
    }
    a->cfg_path = a->co.config;   /* -c / --config, taken by hd_common_opt */
    if (optind >= argc) {
        hd_errorf("no input checkpoint given");
        usage(stderr);
        return -1;
    }
    if (optind + 1 < argc) {
        hd_errorf("unexpected argument '%s' (one checkpoint at a time)", argv[optind + 1]);
        usage(stderr);
        return -1;
    }
    a->in = argv[optind];
    return 0;
}

/* the output: given, not standard output, and free to write (or --force); -1 usage error (printed),
 * -2 out of memory */
static int check_args(args *a)
{
    if (!a->out && !a->dry) {
        hd_errorf("no output given (-o OUT_DIR)");
        usage(stderr);
        return -1;
    }
    if (a->out && !strcmp(a->out, "-")) {   /* '-' means standard output elsewhere: never a directory named '-' */
        hd_errorf("option -o: convert writes a model directory or a .safetensors file, not standard output ('-')");
        return -1;
    }
    if (a->out && !*a->out) {   /* (an unset shell variable): refused before the conversion, not at its end */
        hd_errorf("option -o: the output name is empty: give a model directory or a .safetensors file");
        return -1;
    }
    a->single = a->out && hd_has_suffix(a->out, ".safetensors");
    if (!a->out) return 0;
    if (!(a->outp = hd_strdup(a->out))) return -2;
    for (size_t l = strlen(a->outp); l > 1 && a->outp[l - 1] == '/'; l--) a->outp[l - 1] = 0;
    if (a->dry) return 0;
    int ds = dir_state(a->outp);
    const char *why = NULL;
    if (a->single && (ds == 0 || ds == 1)) why = "is a directory";
    else if (a->single && ds == 2 && !a->force) why = "exists; use --force to replace it";
    else if (!a->single && ds == 2) why = "exists and is not a directory";
    else if (!a->single && ds == 1 && !a->force) why = "exists and is not empty; use --force to replace its model files";
    if (why) {
        hd_errorf("output '%s' %s", a->outp, why);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ report */

/* what was kept, dropped and aliased, on standard output */
static void print_report(const hd_ckpt *ck, const char *in, const char *config_from)
{
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
}

/* ------------------------------------------------------------------ run */

/* move the checked files of tmpdir into place: the directory itself, or (--force into an existing
 * directory) its files, removing the earlier model's other config names and tokenizer, or the single file */
static int move_into_place(const args *a, const char *tmpdir, const char *wpath, const char *cname)
{
    int ok;
    if (a->single) {
        ok = rename(wpath, a->outp) == 0;
        if (ok) rmdir(tmpdir);
    } else if (rename(tmpdir, a->outp) == 0) {
        ok = 1;
    } else if (a->force && (errno == ENOTEMPTY || errno == EEXIST)) {
        /* replace the two files inside the existing directory */
        char *c1 = hd_sprintf("%s/%s", tmpdir, cname), *c2 = hd_sprintf("%s/%s", a->outp, cname);
        char *m2 = hd_sprintf("%s/model.safetensors", a->outp);
        char *t1 = hd_sprintf("%s/" TOKENIZER, tmpdir), *t2 = hd_sprintf("%s/" TOKENIZER, a->outp);
        int tok = t1 && hd_is_file(t1);
        ok = c1 && c2 && m2 && t1 && t2 && rename(wpath, m2) == 0 && rename(c1, c2) == 0 && (!tok || rename(t1, t2) == 0);
        /* what an earlier model left that would be read instead of (or with) the new files: another config name
         * found first (the model directory's search order, docs/models.md §1), a tokenizer the new model lacks */
        static const char *const cfgs[] = {"config.json", "model_config.json", "config.yml", "config.yaml", NULL};
        for (int i = 0; ok && cfgs[i]; i++)
            if (strcmp(cfgs[i], cname)) {
                char *p = hd_sprintf("%s/%s", a->outp, cfgs[i]);
                if (p && unlink(p) < 0 && errno != ENOENT) ok = 0;
                free(p);
            }
        if (ok && !tok && unlink(t2) < 0 && errno != ENOENT) ok = 0;
        free(c1), free(c2), free(m2), free(t1), free(t2);
        if (ok) rmdir(tmpdir);
    } else {
        ok = 0;
    }
    return ok ? 0 : -1;
}

/* write into OUT.tmp.XXXXXX, check that the model loads, then move it into place; an exit status */
static int write_model(const args *a, hd_ckpt *ck, const char *config, const char *config_json, int yaml, const char *tok)
{
    int status = EXIT_OK;
    char *tmpdir = NULL, *wpath = NULL, *cpath = NULL, *tpath = NULL;
    if (!(tmpdir = hd_sprintf("%s.tmp.XXXXXX", a->outp)) || !mkdtemp(tmpdir)) {
        hd_errorf("cannot create a temporary directory next to '%s': %s", a->outp, tmpdir ? strerror(errno) : "out of memory");
        free(tmpdir);
        return EXIT_MODEL;
    }
    mode_t um = umask(0);   /* mkdtemp makes 0700; give the directory the usual permissions */
    umask(um);
    chmod(tmpdir, 0777 & ~um);
    hd_out_pend_dir(tmpdir);   /* an interrupted convert leaves no OUT.tmp.XXXXXX behind */
    const char *base = strrchr(a->outp, '/');
    base = base ? base + 1 : a->outp;
    const char *wname = a->single ? base : "model.safetensors", *cname = yaml ? "config.yml" : "config.json";
    wpath = hd_sprintf("%s/%s", tmpdir, wname);
    cpath = a->single ? NULL : hd_sprintf("%s/%s", tmpdir, cname);
    if (wpath) hd_out_pend_file(wpath);
    if (cpath) hd_out_pend_file(cpath);
    /* the Transformer Engine FP8 state is not kept, but its presence is: the loader's FP8 rule needs it
     * (docs/models.md §6.1) */
    int nfp8 = 0;
    for (int i = 0; i < ck->n_extra; i++) nfp8 += ck->extra[i].kind == HD_XS_FP8 && strstr(ck->extra[i].name, "projections._extra_state");
    char nfp8s[32];
    snprintf(nfp8s, sizeof nfp8s, "%d", nfp8);
    const char *meta[] = {"te_fp8_states", nfp8s, NULL};
    /* the tensors stream from the mapped checkpoint, dtypes kept */
    if (!wpath || (!a->single && !cpath) ||
        hd_ckpt_write(ck, a->single ? (config_json ? config_json : config) : NULL, nfp8 ? meta : NULL, wpath) < 0 ||
        (!a->single && write_file(cpath, config, strlen(config)) < 0)) {
        status = hd_fail();
        goto fail;
    }
    /* a model's own token ids travel with it: the tokenizer.json beside the config (or checkpoint) is copied
     * (for a single file only for the check, which refuses it if the model uses it) */
    if (tok && (tpath = hd_sprintf("%s/" TOKENIZER, tmpdir))) hd_out_pend_file(tpath);
    if (tok && (!tpath || copy_small(tok, tpath) < 0)) {
        status = hd_fail();
        goto fail;
    }
    if (a->check) {
        hd_model *m = hd_model_open(a->single ? wpath : tmpdir);
        if (!m) {
            hd_errorf("%s: the converted model does not load: %s", a->in, hd_error());
            status = EXIT_MODEL;
            goto fail;
        }
        if (a->single && m->vocab) {
            hd_errorf("%s: the model numbers its tokens by its own %s (%s), which a single .safetensors file does not "
                      "hold: convert to a directory (-o DIR)", a->in, TOKENIZER, tok);
            hd_model_close(m);
            status = EXIT_MODEL;
            goto fail;
        }
        printf("family\t%s\n", hd_family_name(m->family));
        printf("parameters\t%zu\n", hd_model_n_params(m));
        hd_model_close(m);
    }
    if (a->single && tpath) unlink(tpath);
    if (move_into_place(a, tmpdir, wpath, cname)) {
        hd_errorf("cannot move the converted model into '%s': %s", a->outp, strerror(errno));
        status = EXIT_MODEL;
        goto fail;
    }
    printf("output\t%s\n", a->outp);
    hd_infof("%s: %d tensors written to %s", a->in, ck->n, a->outp);
    goto done;
fail:
    rm_tmp(tmpdir, wname, cname);
done:
    hd_out_unpend_file(wpath), hd_out_unpend_file(cpath), hd_out_unpend_file(tpath);
    hd_out_unpend_dir(tmpdir);
    free(tpath);
    free(cpath);
    free(wpath);
    free(tmpdir);
    return status;
}

/* ------------------------------------------------------------------ main */

int main_convert(int argc, char **argv)
{
    args a;
    int r = parse_args(argc, argv, &a);
    if (r) return r > 0 ? EXIT_OK : EXIT_INPUT;
    if ((r = check_args(&a))) {
        free(a.outp);
        if (r == -2) return hd_fail();
        return EXIT_INPUT;
    }
    int sn = hd_ckpt_sniff(a.in);
    if (hd_ckpt_sharded(a.in)) {   /* its index (not a zip) or one shard: named as such */
        free(a.outp);
        return hd_fail();
    }
    if (sn == 0) {
        hd_errorf("%s: not a PyTorch checkpoint (a torch.save zip archive starts with 'PK')", a.in);
        free(a.outp);
        return EXIT_MODEL;
    }
    hd_ckpt *ck = hd_ckpt_open(a.in);
    if (!ck) { free(a.outp); return hd_fail(); }

    int status = EXIT_OK, yaml = 0;
    char *config = NULL, *config_json = NULL, *picked = NULL, *picked_note = NULL, *tok = NULL;
    const char *config_from = NULL;
    if (is_evo2(ck) && (a.check || !a.cfg_path)) {
        /* an Evo 2 checkpoint: load it first, so that an FP8 checkpoint or a config that does not fit fails before
         * anything is written, and so that a shipped config is picked when none is given (docs/models.md §6.1) */
        hd_model *m = hd_model_open_with(a.in, a.cfg_path);
        if (!m) { status = hd_fail(); goto done; }
        if (!a.cfg_path && m->config_path) {
            a.cfg_path = picked = hd_strdup(m->config_path);
            config_from = picked_note = m->config_note ? hd_strdup(m->config_note) : NULL;
        }
        hd_model_close(m);
    }
    if (!a.cfg_path && !ck->config_json && !is_evo2(ck)) {
        /* no hyper_parameters: the config.json (or model_config.json) beside the checkpoint or in its Lightning run
         * folder, where -m FILE finds it (docs/models.md §1), e.g. a Hugging Face pytorch_model.bin in its repository */
        char *note = NULL;
        a.cfg_path = picked = hd_model_config_beside(a.in, &note);
        free(note);
    }
    if (a.cfg_path) {
        if (!(config = load_config(a.cfg_path, &config_json))) { status = EXIT_INPUT; goto done; }
        yaml = hd_is_yaml_name(a.cfg_path);
        if (!config_from) config_from = a.cfg_path;
    } else if (ck->config_json) {
        if (!(config = hd_strdup(ck->config_json))) { status = hd_fail(); goto done; }
        config_from = ck->config_from;
    }
    if (!config && !a.dry) {
        hd_errorf("%s: the checkpoint holds no model config (no hyper_parameters with a model section) and there is no "
                  "config.json or model_config.json beside it; give one with --config FILE", a.in);
        status = EXIT_MODEL;
        goto done;
    }
    tok = tokenizer_beside(a.cfg_path ? a.cfg_path : a.in);
    print_report(ck, a.in, config_from);
    if (tok) printf("tokenizer\t%s\n", tok);
    if (!a.dry) status = write_model(&a, ck, config, config_json, yaml, tok);
done:
    free(config);
    free(config_json);
    free(picked);
    free(picked_note);
    free(tok);
    free(a.outp);
    hd_ckpt_close(ck);
    return status;   /* cmd/main.c checks the report's writes (hd_finish_stdout) */
}
