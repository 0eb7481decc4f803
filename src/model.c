/* model.c -- opening a model: locate config + weights, detect the family, resolve tensor names. */
#define _GNU_SOURCE
#include "model.h"
#include "backend.h"
#include "ckpt.h"
#include "evo2.h"
#include "hub.h"
#include "tokenizer.h"
#include "util.h"
#include "vocab.h"
#include "yamlcfg.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

uint64_t hd_new_uid(void)
{
    static uint64_t next = 1;
    return __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED);
}

const char *hd_family_name(hd_family f)
{
    switch (f) {
    case HD_FAM_HYENA: return "hyenadna";
    case HD_FAM_CADUCEUS: return "caduceus";
    case HD_FAM_XLSTM: return "xlstm";
    case HD_FAM_EVO2: return "evo2";
    default: return "unknown";
    }
}

const hd_family_ops *hd_family_ops_of(hd_family f)
{
    switch (f) {
    case HD_FAM_HYENA: return &hd_hyena_ops;
    case HD_FAM_CADUCEUS: return &hd_caduceus_ops;
    case HD_FAM_XLSTM: return &hd_xlstm_ops;
    case HD_FAM_EVO2: return &hd_evo2_ops;
    default: return NULL;
    }
}

static int is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int is_file(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* why p, neither a regular file nor (when dir_ok) a directory, cannot be a model or config: the error of
 * stat (ENOENT, EACCES, ENOTDIR, ...) or what it is (a device such as /dev/null, a named pipe, a socket);
 * it was always ENOENT's text */
static const char *not_file_why(const char *p, int dir_ok)
{
    struct stat sb;
    if (stat(p, &sb)) return strerror(errno);
    if (S_ISDIR(sb.st_mode)) return dir_ok ? "a directory" : strerror(EISDIR);
    if (S_ISCHR(sb.st_mode) || S_ISBLK(sb.st_mode)) return "a device, not a file";
    if (S_ISFIFO(sb.st_mode)) return "a named pipe, not a file (the weights are mapped: give a file)";
    if (S_ISSOCK(sb.st_mode)) return "a socket, not a file";
    return "not a regular file";
}

/* Remove every path component `comp` (with its dot) from the tensor name s, in place */
static void drop_component(char *s, const char *comp)
{
    size_t n = strlen(comp);
    for (char *p = s; (p = strstr(p, comp));)
        if (p == s || p[-1] == '.') memmove(p, p + n, strlen(p + n) + 1);
        else p++;
}

/* Strip the checkpoint-specific prefixes and the gradient-checkpointing infix (docs/models.md §3.3.2), after
 * the wrappers' components: torch.compile's "_orig_mod." anywhere, DataParallel's leading "module." */
static char *canonical_name(const char *name)
{
    static const char *prefixes[] = {"hyena.backbone.", "caduceus.backbone.", "model.backbone.", "backbone.",
                                     "hyena.", "caduceus.", "model.", NULL};
    char *w = hd_strdup(name);
    if (!w) return NULL;
    drop_component(w, "_orig_mod.");
    const char *nm = w;
    while (!strncmp(nm, "module.", 7)) nm += 7;
    /* a Lightning module holding a Hugging Face model (the Caduceus training code's model.caduceus.backbone.,
     * model.lm_head.) nests one prefix in another: strip them while one matches (no canonical name starts with
     * one) */
    for (int i = 0; prefixes[i]; i++) {
        size_t n = strlen(prefixes[i]);
        if (!strncmp(nm, prefixes[i], n)) { nm += n; i = -1; }
    }
    char *s = hd_strdup(nm);
    free(w);
    if (!s) return NULL;
    static const char *infix[][2] = {{".mixer.layer.", ".mixer."}, {".mlp.layer.", ".mlp."}};
    for (int k = 0; k < 2; k++) {
        char *p = strstr(s, infix[k][0]);
        if (p) memmove(p + strlen(infix[k][1]), p + strlen(infix[k][0]), strlen(p + strlen(infix[k][0])) + 1);
    }
    return s;
}

/* The heads fine-tuning scripts put on a backbone (canonical names): Hugging Face's *ForSequenceClassification
 * `score`, a `classifier`, the Lightning training code's `decoder.N.output_transform` (docs/models.md §1) */
static int task_head_name(const char *canon)
{
    static const char *heads[] = {"score.", "classifier.", "decoder.", NULL};
    for (int i = 0; heads[i]; i++)
        if (!strncmp(canon, heads[i], strlen(heads[i]))) return 1;
    return 0;
}

static json_t *load_json(const char *path)
{
    if (hd_is_yaml_name(path)) return hd_yaml_load_file(path);
    json_error_t e;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
    if (!j) {
        if (!is_file(path)) hd_set_error(HD_EMODEL, "cannot open '%s': %s", path, strerror(ENOENT));
        else hd_set_error(HD_EMODEL, "%s: invalid JSON at line %d: %s", path, e.line, e.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        hd_set_error(HD_EMODEL, "%s: the config is not a JSON object", path);
        json_decref(j);
        return NULL;
    }
    return j;
}

static hd_family detect_family(hd_model *m)
{
    json_t *c = m->config;
    const char *mt = json_string_value(json_object_get(c, "model_type"));
    if (mt) {
        if (strstr(mt, "hyena")) return HD_FAM_HYENA;
        if (strstr(mt, "caduceus")) return HD_FAM_CADUCEUS;
        if (strstr(mt, "xlstm") || strstr(mt, "xLSTM")) return HD_FAM_XLSTM;
    }
    json_t *arch = json_object_get(c, "architectures");
    size_t i;
    json_t *a;
    json_array_foreach(arch, i, a) {
        const char *s = json_string_value(a);
        if (!s) continue;
        if (strstr(s, "Hyena")) return HD_FAM_HYENA;
        if (strstr(s, "Caduceus")) return HD_FAM_CADUCEUS;
        if (strstr(s, "xLSTM") || strstr(s, "XLSTM")) return HD_FAM_XLSTM;
    }
    /* vortex's flat YAML (Evo 2, docs/models.md §6.1) */
    if (json_object_get(c, "hcl_layer_idxs") || json_object_get(c, "attn_layer_idxs") ||
        json_object_get(c, "hcs_layer_idxs"))
        return HD_FAM_EVO2;
    const char *tg = json_string_value(json_object_get(c, "_target_"));
    if (tg && (strstr(tg, "xlstm") || strstr(tg, "xLSTM"))) return HD_FAM_XLSTM;
    json_t *layer = json_object_get(c, "layer");
    const char *ln = json_string_value(json_object_get(layer, "_name_"));
    if (ln && strstr(ln, "hyena")) return HD_FAM_HYENA;
    /* fall back on the tensor names */
    for (int k = 0; k < hd_st_count(m->st); k++) {
        const char *n = hd_st_get(m->st, k)->name;
        if (strstr(n, "filter_fn.") || strstr(n, "hyena.")) return HD_FAM_HYENA;
        if (strstr(n, "mamba_fwd.") || strstr(n, "caduceus.")) return HD_FAM_CADUCEUS;
        if (strstr(n, "xlstm_block_stack.")) return HD_FAM_XLSTM;
    }
    if (hd_evo2_looks_like(m->st)) return HD_FAM_EVO2;
    return HD_FAM_UNKNOWN;
}

static int hd_has_suffix_ci(const char *name, const char *suf)
{
    size_t n = strlen(name), k = strlen(suf);
    return n > k && !strcasecmp(name + n - k, suf);
}

/* The single file of `dir` whose name ends in one of the suffixes: a malloc'd path, NULL when none; *many set
 * when there are several (then NULL too). */
static char *dir_single(const char *dir, const char *const *suffixes, int *many)
{
    DIR *d = opendir(dir);
    char *found = NULL;
    *many = 0;
    if (!d) return NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        for (int i = 0; suffixes[i]; i++)
            if (hd_has_suffix_ci(e->d_name, suffixes[i])) {
                char *p = hd_sprintf("%s/%s", dir, e->d_name);
                if (p && is_file(p)) {
                    if (found) { *many = 1; free(p); }
                    else found = p;
                } else free(p);
                break;
            }
    }
    closedir(d);
    if (*many) { free(found); found = NULL; }
    return found;
}

/* the last component of a path */
static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

char *hd_dir_weights(const char *dir, int any_st, int *n, char **second)
{
    *n = 0;
    if (second) *second = NULL;
    char *p = hd_sprintf("%s/model.safetensors", dir);
    if (p && is_file(p)) { *n = 1; return p; }
    free(p);
    p = hd_sprintf("%s/model.safetensors.index.json", dir);   /* sharded: the index names the shards */
    if (p && is_file(p)) { *n = 1; return p; }
    free(p);
    DIR *d = opendir(dir);
    if (!d) return NULL;
    /* best kind: 3 a .safetensors, 2 pytorch_model.bin, 1 another checkpoint */
    char *best = NULL, *other = NULL;
    int best_kind = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *nm = e->d_name;
        if (nm[0] == '.') continue;
        int kind = any_st && hd_has_suffix_ci(nm, ".safetensors") ? 3 : !strcmp(nm, "pytorch_model.bin") ? 2 : hd_hub_is_checkpoint_file(nm) ? 1 : 0;
        if (!kind) continue;
        char *full = hd_sprintf("%s/%s", dir, nm);
        if (!full || !is_file(full)) { free(full); continue; }   /* (a dangling link: a removed blob) */
        if (kind > best_kind) {
            free(best), free(other);
            best = full, other = NULL, best_kind = kind, *n = 1;
        } else if (kind == best_kind) {
            if (!other) other = full; else free(full);
            ++*n;
        } else {
            free(full);
        }
    }
    closedir(d);
    free(other);
    if (*n == 1) return best;
    if (second) *second = best, best = NULL;   /* one of the several, for the message */
    free(best);
    return NULL;
}

/* The Hugging Face repositories of Evo 2 carry a config.json that vortex never reads (docs/models.md §6.1). When
 * such a file was found (not given) with an Evo 2 checkpoint, the YAML beside the weights is used instead, else
 * one of the shipped configs -- so that the snapshot of `hyenadna pull arcinstitute/evo2_7b` opens as it is. */
/* An Evo 2 checkpoint's config when none was given or a found one is not a vortex config: the single YAML beside
 * the weights, else one of the shipped configs (docs/models.md §6.1).  `why` ends the config note. */
static int evo2_yaml_beside(hd_model *m, json_t **root, const char *why)
{
    char *dir = hd_parent_dir(m->weights_path);
    static const char *const yml[] = {".yml", ".yaml", NULL};
    int many = 0;
    char *y = dir ? dir_single(dir, yml, &many) : NULL;
    free(dir);
    if (many) {
        hd_set_error(HD_EMODEL, "%s: several YAML configs beside the weights: give one with -c CONFIG.yml", m->weights_path);
        return -1;
    }
    if (!y) return hd_evo2_pick_config(m, root);
    m->config_path = y;
    m->config_note = hd_sprintf("the YAML beside the weights%s", why);
    return (*root = load_json(y)) ? 0 : -1;
}

static int evo2_pass_over_hf_config(hd_model *m, json_t **root)
{
    if (!m->config_path || hd_is_yaml_name(m->config_path) || !hd_evo2_looks_like(m->st) ||
        json_object_get(*root, "hcl_layer_idxs") || json_object_get(*root, "attn_layer_idxs") ||
        json_object_get(*root, "hcs_layer_idxs"))
        return 0;
    json_decref(*root);
    *root = NULL;
    free(m->config_path);
    free(m->config_note);
    m->config_path = m->config_note = NULL;
    return evo2_yaml_beside(m, root, " (config.json is Hugging Face's, not a vortex config)");
}

static int open_weights(hd_model *m)
{
    if (hd_ckpt_sharded(m->weights_path)) return -1;   /* its index or a shard: refused by name (docs/models.md §1) */
    if (hd_ckpt_sniff(m->weights_path) > 0)   /* a PyTorch checkpoint (.ckpt/.bin/.pt), read in place: ckpt.c */
        m->st = hd_ckpt_load_st(m->weights_path, &m->ckpt);
    else if (hd_st_is_index_name(m->weights_path))   /* a sharded model's index */
        m->st = hd_st_open_index(m->weights_path);
    else
        m->st = hd_st_open(m->weights_path);
    if (!m->st) return -1;
    /* a safetensors file that hyenadna wrote as an output, given as the model: said so, not 'no config' or a
     * missing tensor */
    static const char *const outputs[] = {"hyenadna embed ", "hyenadna forward ", NULL};
    const char *gen = hd_st_meta(m->st, "generator");
    for (int i = 0; gen && outputs[i]; i++)
        if (!strncmp(gen, outputs[i], strlen(outputs[i]))) {
            hd_set_error(HD_EMODEL, "%s is an output of `%.*s` (its __metadata__ 'generator'), not a model's weights: "
                         "give the model with -m", m->weights_path, (int)strlen(outputs[i]) - 1, outputs[i]);
            return -1;
        }
    if (hd_st_meta(m->st, "hyenadna_head")) {
        hd_set_error(HD_EMODEL, "%s is a classify head (written by --save-head), not a model's weights: give it to "
                     "`hyenadna classify --head`, with the model it was trained on as -m", m->weights_path);
        return -1;
    }
    return 0;
}

char *hd_model_config_beside(const char *weights, char **note)
{
    /* a config.json (or DNA-xLSTM's model_config.json) beside the file, else in the run folder of a
     * Lightning checkpoint kept as RUN/checkpoints/NAME.ckpt or RUN/checkpoints/SUB/NAME.ckpt */
    char *found = NULL, *dirs[3] = {hd_parent_dir(weights), NULL, NULL};
    if (note) *note = NULL;
    if (dirs[0] && !strcmp(base_name(dirs[0]), "checkpoints")) dirs[1] = hd_parent_dir(dirs[0]);
    else if (dirs[0] && (dirs[1] = hd_parent_dir(dirs[0])) && !strcmp(base_name(dirs[1]), "checkpoints")) dirs[2] = hd_parent_dir(dirs[1]);
    else { free(dirs[1]); dirs[1] = NULL; }
    for (int up = 0; up < 3 && dirs[up] && !found; up++) {
        static const char *const names[] = {"config.json", "model_config.json", NULL};
        for (int i = 0; names[i] && !found; i++) {
            char *p = hd_sprintf("%s/%s", dirs[up], names[i]);
            if (p && is_file(p)) {
                found = p;
                if (note) *note = hd_sprintf("%s %s", names[i], up ? "in the checkpoint's run folder" : "beside the weights");
            } else free(p);
        }
    }
    for (int i = 0; i < 3; i++) free(dirs[i]);
    return found;
}

hd_model *hd_model_open(const char *location) { return hd_model_open_with(location, NULL); }

hd_model *hd_model_open_with(const char *location, const char *config)
{
    hd_model *m = calloc(1, sizeof *m);
    if (!m) { hd_set_error(HD_EMODEL, "out of memory"); return NULL; }
    m->uid = hd_new_uid();
    json_t *root = NULL;
    int many = 0;
    if (!(m->location = hd_strdup(location))) goto fail;

    if (config) {
        if (!is_file(config)) {
            hd_set_error(HD_EMODEL, "cannot open config '%s': %s", config, not_file_why(config, 0));
            goto fail;
        }
        if (!(m->config_path = hd_strdup(config))) goto fail;
        m->config_note = strdup("given with -c/--config");
    }
    if (is_dir(location)) {
        int nw;
        char *another;
        if (!(m->weights_path = hd_dir_weights(location, 0, &nw, &another))) {
            if (hd_ckpt_sharded(location))
                ;   /* the shards of a sharded PyTorch checkpoint: its index named */
            else if (nw > 1)
                hd_set_error(HD_EMODEL, "%s: %d weight files of one kind in the model directory (%s, ...): give one with -m FILE",
                             location, nw, another ? strrchr(another, '/') + 1 : "?");
            else
                hd_set_error(HD_EMODEL, "%s: no weights in the model directory (model.safetensors, pytorch_model.bin, or a "
                             "PyTorch checkpoint *.ckpt, *.pt, *.pth, *.bin)", location);
            free(another);
            goto fail;
        }
        if (!m->config_path) {
            static const char *const names[] = {"config.json", "model_config.json", "config.yml", "config.yaml", NULL};
            for (int i = 0; names[i] && !m->config_path; i++) {
                char *p = hd_sprintf("%s/%s", location, names[i]);
                if (p && is_file(p)) m->config_path = p;
                else free(p);
            }
            if (!m->config_path) {
                static const char *const yml[] = {".yml", ".yaml", NULL};
                m->config_path = dir_single(location, yml, &many);
                if (many) {
                    hd_set_error(HD_EMODEL, "%s: several YAML configs in the model directory: give one with -c CONFIG.yml", location);
                    goto fail;
                }
            }
            if (m->config_path) m->config_note = strdup("found in the model directory");
        }
    } else if (is_file(location)) {
        /* (a sharded checkpoint's index, *.index.json, stands for its weights) */
        if (hd_is_yaml_name(location) || (hd_has_suffix_ci(location, ".json") && !hd_has_suffix_ci(location, ".index.json"))) {
            hd_set_error(HD_EMODEL, "model '%s' is a config file, not weights: give the model directory (-m DIR) or the "
                         "weights file with -m WEIGHTS (and the config with -c %s)", location, location);
            goto fail;
        }
        if (!(m->weights_path = hd_strdup(location))) goto fail;
    } else {
        hd_set_error(HD_EMODEL, "cannot open model '%s': %s", location, not_file_why(location, 1));
        goto fail;
    }

    if (open_weights(m) < 0) goto fail;

    if (!m->config_path) {
        const char *meta = hd_st_meta(m->st, "config");
        if (meta) {
            json_error_t e;
            root = json_loads(meta, JSON_REJECT_DUPLICATES, &e);
            if (!root || !json_is_object(root)) {
                hd_set_error(HD_EMODEL, "%s: the 'config' entry of __metadata__ is not a JSON object: %s",
                             m->weights_path, root ? "wrong type" : e.text);
                goto fail;
            }
            m->config_note = strdup("the weights file's __metadata__");
        } else if (!is_dir(location)) {
            m->config_path = hd_model_config_beside(location, &m->config_note);
        }
        if (!root && !m->config_path) {
            /* an Evo 2 checkpoint: its vortex YAML beside it, else (the .pt as published, without its YAML) one
             * of the shipped configs */
            if (hd_evo2_looks_like(m->st)) {
                if (evo2_yaml_beside(m, &root, "") < 0) goto fail;
            } else {
                hd_set_error(HD_EMODEL, "%s: no config: the file's __metadata__ has no 'config' entry and there is no config.json beside it (give one with -c)",
                             location);
                goto fail;
            }
        }
    }
    if (!root) {
        root = load_json(m->config_path);
        if (!root) goto fail;
    }
    if (!config && evo2_pass_over_hf_config(m, &root) < 0) goto fail;
    m->config_root = root;
    /* DNA-xLSTM's model_config.json nests the hyper-parameters under "config" */
    json_t *inner = json_object_get(root, "config");
    m->config = json_is_object(inner) ? inner : root;

    int n = hd_st_count(m->st);
    m->used = calloc(n ? n : 1, 1);
    m->canon = calloc(n ? n : 1, sizeof *m->canon);
    if (!m->used || !m->canon) { hd_set_error(HD_EMODEL, "out of memory"); goto fail; }
    for (int i = 0; i < n; i++) {
        m->canon[i] = canonical_name(hd_st_get(m->st, i)->name);
        if (!m->canon[i]) { hd_set_error(HD_EMODEL, "out of memory"); goto fail; }
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(m->canon[i], m->canon[j])) {
                hd_set_error(HD_EMODEL, "%s: tensors '%s' and '%s' name the same weight", m->weights_path,
                             hd_st_get(m->st, j)->name, hd_st_get(m->st, i)->name);
                goto fail;
            }

    m->family = detect_family(m);
    if (!(m->ops = hd_family_ops_of(m->family))) {
        hd_set_error(HD_EMODEL, "%s: cannot tell the model family (no model_type, architectures or known tensor names)",
                     m->config_path ? m->config_path : m->weights_path);
        goto fail;
    }
    m->vocab_size = 12;
    m->bos_id = -1;
    snprintf(m->precision, sizeof m->precision, "float32");
    if (m->ops->load(m) < 0 || m->cfg_error) {
        /* a config value of the wrong type first: it may be why a tensor was looked for under another name */
        if (m->cfg_error) hd_set_error(HD_EMODEL, "%s", m->cfg_error);
        goto fail;
    }

    for (int i = 0; i < n; i++)
        if (!m->used[i]) {
            if (task_head_name(m->canon[i])) {   /* a fine-tuning's head: the backbone is what runs */
                const hd_tensor_info *t = hd_st_get(m->st, i);
                char shp[64] = "";
                for (int d = 0, k = 0; d < t->ndim && k < (int)sizeof shp - 24; d++)
                    k += snprintf(shp + k, sizeof shp - k, "%s%lld", d ? "x" : "", (long long)t->shape[d]);
                hd_model_note(m, "%s [%s]: a task head of a fine-tuned model, not used (the backbone and its "
                              "language-model head run)", t->name, shp);
                continue;
            }
            hd_set_error(HD_EMODEL, "%s: unknown tensor '%s' for a %s model", m->weights_path,
                         hd_st_get(m->st, i)->name, hd_family_name(m->family));
            goto fail;
        }
    return m;
fail:
    if (!m->config_root) json_decref(root);
    hd_model_close(m);
    return NULL;
}

void hd_model_close(hd_model *m)
{
    if (!m) return;
    if (m->ops && m->ops->free) m->ops->free(m);
    hd_vocab_free(m->vocab);
    for (int i = 0; i < m->n_owned; i++) free(m->owned[i]);
    free(m->owned);
    for (int i = 0; i < m->n_notes; i++) free(m->notes[i]);
    free(m->notes);
    if (m->canon)
        for (int i = 0; i < hd_st_count(m->st); i++) free(m->canon[i]);
    free(m->canon);
    free(m->used);
    if (m->config_root) json_decref(m->config_root);
    hd_st_close(m->st);
    hd_ckpt_close(m->ckpt);
    free(m->config_note);
    free(m->cfg_error);
    free(m->location);
    free(m->weights_path);
    free(m->config_path);
    free(m);
}

int hd_model_forward(hd_model *m, hd_backend *be, const int32_t *ids, size_t L, hd_fwd *f)
{
    if (m->max_len > 0 && L > (size_t)m->max_len) {
        hd_set_error(HD_EINPUT, "input of %zu tokens is longer than the model's maximum length of %ld", L, m->max_len);
        return -1;
    }
    if (f->layer >= m->n_layer) {
        hd_set_error(HD_EINPUT, "layer %d does not exist: the model has %d layers (0..%d)", f->layer, m->n_layer, m->n_layer - 1);
        return -1;
    }
    for (size_t i = 0; i < L; i++)
        if (ids[i] < 0 || ids[i] >= m->n_logits) {
            hd_set_error(HD_EINPUT, "token id %d at position %zu is outside the model's vocabulary", ids[i], i + 1);
            return -1;
        }
    /* "auto" on a GPU: the CPU for the families whose ops the GPU does not cover */
    if (!(be = hd_backend_for(be, m->ops->needs, hd_family_name(m->family)))) return -1;
    if (m->vocab ? hd_vocab_forward(m, be, ids, L, f) : m->ops->forward(m, be, ids, L, f)) return -1;
    return hd_backend_check(be);   /* a GPU failure inside a void op surfaces here */
}

/* ---------------------------------------------------------------- cached decoding */

hd_decoder *hd_decoder_new(hd_model *m, hd_backend *be, size_t max_len)
{
    if (!m->causal) {
        hd_set_error(HD_EINPUT, "%s is a masked or non-causal %s model, variant %s: decoding needs a causal (next-token) model",
                     m->location, hd_family_name(m->family), m->variant);
        return NULL;
    }
    if (m->vocab) {
        hd_set_error(HD_EINPUT, "%s: cached decoding of a model with its own token ids is not supported", m->location);
        return NULL;
    }
    if (!m->ops->decoder_new) {
        hd_set_error(HD_EINPUT, "%s: %s models have no cached decoding", m->location, hd_family_name(m->family));
        return NULL;
    }
    if (m->max_len > 0 && max_len > (size_t)m->max_len) {
        hd_set_error(HD_EINPUT, "%zu tokens exceed the model's maximum length of %ld", max_len, m->max_len);
        return NULL;
    }
    /* the forward's ops and the decoder's own, on one backend (the CPU under --device auto when the GPU lacks one) */
    char what[96];
    snprintf(what, sizeof what, "%s (cached decoding)", hd_family_name(m->family));
    if (!(be = hd_backend_for(be, m->ops->needs, hd_family_name(m->family)))) return NULL;
    if (m->ops->decode_needs && !(be = hd_backend_for(be, m->ops->decode_needs, what))) return NULL;
    hd_decoder *d = m->ops->decoder_new(m, be, max_len);
    if (d) { d->m = m; d->be = be; d->pos = 0; d->max_len = max_len; }
    return d;
}

static int decoder_check_ids(hd_decoder *d, const int32_t *ids, size_t n)
{
    if (d->pos + n > d->max_len) {
        hd_set_error(HD_EINPUT, "reached the maximum length of %zu tokens", d->max_len);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= d->m->n_logits) {
            hd_set_error(HD_EINPUT, "token id %d at position %zu is outside the model's vocabulary", ids[i], d->pos + i + 1);
            return -1;
        }
    return 0;
}

int hd_decoder_prefill(hd_decoder *d, const int32_t *ids, size_t n, float *logits)
{
    if (d->pos != 0 || n == 0) {
        hd_set_error(HD_EINPUT, "prefill needs a non-empty prompt before any decoding step");
        return -1;
    }
    if (decoder_check_ids(d, ids, n)) return -1;
    if (d->prefill(d, ids, n, logits)) return -1;
    d->pos = n;
    return hd_backend_check(d->be);
}

int hd_decoder_step(hd_decoder *d, int32_t id, float *logits)
{
    if (decoder_check_ids(d, &id, 1)) return -1;
    if (d->step(d, id, logits)) return -1;
    d->pos++;
    return hd_backend_check(d->be);
}

hd_decoder *hd_decoder_fork(hd_decoder *d)
{
    if (!d->fork) {
        hd_set_error(HD_EMODEL, "%s models have no decoder fork", hd_family_name(d->m->family));
        return NULL;
    }
    hd_decoder *e = d->fork(d);
    if (!e) return NULL;
    e->m = d->m, e->be = d->be, e->pos = d->pos, e->max_len = d->max_len;
    if (hd_backend_check(d->be)) { hd_decoder_free(e); return NULL; }
    return e;
}

void hd_decoder_free(hd_decoder *d)
{
    if (d) d->free(d);
}

double hd_model_gemm_flops(const hd_model *m, size_t L, int logits)
{
    return m && m->ops && m->ops->gemm_flops ? m->ops->gemm_flops(m, L, logits) : 0;
}

size_t hd_model_n_params(const hd_model *m)
{
    size_t tot = 0;
    for (int i = 0; i < hd_st_count(m->st); i++)
        if (m->used[i] == 1) tot += hd_st_get(m->st, i)->numel;
    return tot;
}

/* ---------------------------------------------------------------- config */

json_t *hd_cfg_get(hd_model *m, const char *key)
{
    json_t *v = json_object_get(m->config, key);
    if (v) return v;
    /* the original Lightning HyenaDNA config nests the layer settings under "layer" */
    json_t *layer = json_object_get(m->config, "layer");
    if (json_is_object(layer)) {
        static const char *alias[][2] = {{"max_seq_len", "l_max"}, {"filter_order", "filter_order"},
                                         {"emb_dim", "emb_dim"}, {"activation_freq", "w"},
                                         {"short_filter_order", "local_order"}, {NULL, NULL}};
        for (int i = 0; alias[i][0]; i++)
            if (!strcmp(alias[i][0], key)) return json_object_get(layer, alias[i][1]);
        return json_object_get(layer, key);
    }
    return NULL;
}

static const char *cfg_name(hd_model *m) { return m->config_path ? m->config_path : m->weights_path; }

int hd_cfg_int(hd_model *m, const char *key, long def, int required, long lo, long hi, long *out)
{
    json_t *v = hd_cfg_get(m, key);
    if (!v || json_is_null(v)) {
        if (required) { hd_set_error(HD_EMODEL, "%s: config key '%s' is missing", cfg_name(m), key); return -1; }
        *out = def;
        return 0;
    }
    double d, r = json_real_value(v);
    if (json_is_integer(v)) d = (double)json_integer_value(v);
    else if (json_is_real(v) && r == floor(r)) d = r;   /* 256.0; the range check below bounds it before the cast */
    else { hd_set_error(HD_EMODEL, "%s: config key '%s' is not an integer", cfg_name(m), key); return -1; }
    if (d < (double)lo || d > (double)hi) {
        hd_set_error(HD_EMODEL, "%s: config key '%s' = %.15g is out of range [%ld, %ld]", cfg_name(m), key, d, lo, hi);
        return -1;
    }
    *out = (long)d;
    return 0;
}

int hd_cfg_num(hd_model *m, const char *key, double def, double *out)
{
    json_t *v = hd_cfg_get(m, key);
    if (!v || json_is_null(v)) { *out = def; return 0; }
    if (!json_is_number(v)) { hd_set_error(HD_EMODEL, "%s: config key '%s' is not a number", cfg_name(m), key); return -1; }
    *out = json_number_value(v);
    return 0;
}

int hd_cfg_num_in(hd_model *m, const char *key, double def, double lo, double hi, double *out)
{
    if (hd_cfg_num(m, key, def, out)) return -1;
    if (!(*out >= lo && *out <= hi)) {
        hd_set_error(HD_EMODEL, "%s: config key '%s' = %g is out of range [%g, %g]", cfg_name(m), key, *out, lo, hi);
        return -1;
    }
    return 0;
}

/* a value of the wrong type: the first is kept, and fails the load (hd_model_open_with) */
static void cfg_type_error(hd_model *m, const char *key, const char *want)
{
    if (!m->cfg_error) m->cfg_error = hd_sprintf("%s: config key '%s' is not %s", cfg_name(m), key, want);
}

int hd_cfg_bool(hd_model *m, const char *key, int def)
{
    json_t *v = hd_cfg_get(m, key);
    if (!v || json_is_null(v)) return def;
    if (json_is_boolean(v)) return json_is_true(v);
    if (json_is_integer(v)) return json_integer_value(v) != 0;
    cfg_type_error(m, key, "a boolean (true or false)");
    return def;
}

const char *hd_cfg_str(hd_model *m, const char *key)
{
    json_t *v = hd_cfg_get(m, key);
    if (v && !json_is_null(v) && !json_is_string(v)) cfg_type_error(m, key, "a string");
    return json_string_value(v);
}

/* ---------------------------------------------------------------- tensors */

static int find_canon(hd_model *m, const char *canon)
{
    for (int i = 0; i < hd_st_count(m->st); i++)
        if (!strcmp(m->canon[i], canon)) return i;
    return -1;
}

const hd_tensor_info *hd_model_tensor(hd_model *m, const char *canon)
{
    int i = find_canon(m, canon);
    return i < 0 ? NULL : hd_st_get(m->st, i);
}

int hd_model_mark(hd_model *m, const char *canon, int kind)
{
    int i = find_canon(m, canon);
    if (i < 0) return -1;
    m->used[i] = (unsigned char)kind;
    return 0;
}

const char *hd_model_display(hd_model *m, const char *canon)
{
    const hd_tensor_info *t = hd_model_tensor(m, canon);
    return t ? t->name : canon;
}

void hd_model_note(hd_model *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) s = NULL;
    va_end(ap);
    if (!s) return;
    char **n = realloc(m->notes, (m->n_notes + 1) * sizeof *n);
    if (!n) { free(s); return; }
    m->notes = n;
    m->notes[m->n_notes++] = s;
}

static void fmt_shape(char *buf, size_t n, const int64_t *shape, int ndim)
{
    size_t k = 0;
    k += snprintf(buf + k, n - k, "[");
    for (int d = 0; d < ndim && k < n; d++) k += snprintf(buf + k, n - k, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

/* Do the shapes agree once dimensions of size 1 are dropped? */
static int shape_match(const hd_tensor_info *t, const int64_t *shape, int ndim)
{
    int i = 0, j = 0;
    for (;;) {
        while (i < t->ndim && t->shape[i] == 1) i++;
        while (j < ndim && shape[j] == 1) j++;
        if (i == t->ndim || j == ndim) return i == t->ndim && j == ndim;
        if (t->shape[i] != shape[j]) return 0;
        i++, j++;
    }
}

/* Index of the first non-finite value (NaN or ±Inf) of v[0, n), or n when all are finite: one pass over the
 * exponent bits, vectorised (a few ms per 100 MB), so that weights are checked once at load. */
static size_t first_nonfinite(const float *v, size_t n)
{
    const size_t B = 4096;
    for (size_t i0 = 0; i0 < n; i0 += B) {
        size_t i1 = i0 + B < n ? i0 + B : n;
        uint32_t bad = 0;
        for (size_t i = i0; i < i1; i++) {
            uint32_t u;
            memcpy(&u, &v[i], 4);
            bad |= (uint32_t)((u & 0x7f800000u) == 0x7f800000u);
        }
        if (bad)
            for (size_t i = i0; i < i1; i++)
                if (!isfinite(v[i])) return i;
    }
    return n;
}

static const float *checked(hd_model *m, const hd_tensor_info *t, const float *v)
{
    size_t k = first_nonfinite(v, t->numel);
    if (k < t->numel) {
        hd_set_error(HD_EMODEL, "%s: tensor '%s' holds a non-finite value (%s) at element %zu", m->weights_path, t->name,
                     isnan(v[k]) ? "NaN" : "Inf", k);
        return NULL;
    }
    return v;
}

static const float *model_f32(hd_model *m, int kind, const int64_t *shape, int ndim, int required, const char *canon)
{
    int i = find_canon(m, canon);
    if (i < 0) {
        if (required) hd_set_error(HD_EMODEL, "%s: tensor '%s' is missing", m->weights_path, canon);
        return NULL;
    }
    const hd_tensor_info *t = hd_st_get(m->st, i);
    if (!shape_match(t, shape, ndim)) {
        char a[128], b[128];
        fmt_shape(a, sizeof a, t->shape, t->ndim);
        fmt_shape(b, sizeof b, shape, ndim);
        hd_set_error(HD_EMODEL, "%s: tensor '%s' has shape %s, expected %s", m->weights_path, t->name, a, b);
        return NULL;
    }
    if (t->dtype != HD_F32 && t->dtype != HD_F16 && t->dtype != HD_BF16) {
        hd_set_error(HD_EMODEL, "%s: tensor '%s' has dtype %s, expected a floating-point type", m->weights_path,
                     t->name, hd_dtype_name(t->dtype));
        return NULL;
    }
    m->used[i] = (unsigned char)kind;
    if (t->dtype == HD_F32 && ((uintptr_t)t->data & 3) == 0) return checked(m, t, t->data);
    float *copy = hd_alloc(t->numel * sizeof(float), t->name);
    if (!copy) return NULL;
    void **o = realloc(m->owned, (m->n_owned + 1) * sizeof *o);
    if (!o) { free(copy); hd_set_error(HD_EMODEL, "out of memory"); return NULL; }
    m->owned = o;
    m->owned[m->n_owned++] = copy;
    hd_tensor_to_f32(t, copy);
    return checked(m, t, copy);
}

const float *hd_model_f32(hd_model *m, int kind, const int64_t *shape, int ndim, const char *fmt, ...)
{
    char name[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return model_f32(m, kind, shape, ndim, 1, name);
}

const float *hd_model_f32_opt(hd_model *m, int kind, const int64_t *shape, int ndim, const char *fmt, ...)
{
    char name[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    if (find_canon(m, name) < 0) return NULL;
    return model_f32(m, kind, shape, ndim, 1, name);
}

/* Index of the first non-finite BF16 value of v[0, n) (exponent bits all set), or n: one vectorised pass, in
 * 16-bit lanes (an all-ones exponent plus 0x80 carries into bit 15; any other stays below it), compiled for
 * x86-64-v4 (AVX-512BW) and AVX2 too (chosen at run time; the baseline made the 7B checkpoint's scan CPU-bound). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#endif
static size_t scan_bf16(const uint16_t *v, size_t n)
{
    const size_t B = (size_t)1 << 16;
    for (size_t i0 = 0; i0 < n; i0 += B) {
        size_t i1 = i0 + B < n ? i0 + B : n;
        uint16_t carry = 0;
        #pragma omp simd reduction(| : carry)
        for (size_t i = i0; i < i1; i++) carry |= (uint16_t)((v[i] & 0x7f80u) + 0x80u);
        if (carry & 0x8000u)
            for (size_t i = i0; i < i1; i++)
                if ((v[i] & 0x7f80u) == 0x7f80u) return i;
    }
    return n;
}

typedef struct { const uint16_t *v; size_t n, bad; } scan_part;
static void *scan_part_run(void *arg)
{
    scan_part *p = arg;
    p->bad = scan_bf16(p->v, p->n);
    return NULL;
}

/* The same over a whole tensor, which is what pages a memory-mapped checkpoint in (13 GB for Evo 2 7B): the
 * kernel is asked to read ahead, and a large tensor is cut into hd_load_threads() parts scanned by threads of
 * their own (pthreads, joined here: no OpenMP pool may be started while loading, as a process that loads a model
 * and then forks, hyenadna bench, would have its child wait on the pool's threads forever). */
size_t hd_bf16_first_nonfinite(const uint16_t *v, size_t n)
{
#ifdef MADV_WILLNEED
    if (n >= ((size_t)1 << 16)) {
        uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE), a = (uintptr_t)v & ~(pg - 1);
        madvise((void *)a, (uintptr_t)(v + n) - a, MADV_WILLNEED);   /* advice only: failure changes nothing */
    }
#endif
    enum { MAXT = 16 };
    size_t T = (size_t)hd_load_threads(), per;
    if (T > MAXT) T = MAXT;
    if (T < 2 || n < ((size_t)8 << 20)) return scan_bf16(v, n);
    per = (n + T - 1) / T;
    scan_part part[MAXT];
    pthread_t th[MAXT];
    int started[MAXT] = {0};
    for (size_t t = 0; t < T; t++) {
        size_t a = t * per < n ? t * per : n, b = a + per < n ? a + per : n;
        part[t] = (scan_part){v + a, b - a, b - a};
        if (t) started[t] = !pthread_create(&th[t], NULL, scan_part_run, &part[t]);
    }
    scan_part_run(&part[0]);
    for (size_t t = 1; t < T; t++) {
        if (started[t]) pthread_join(th[t], NULL);
        else scan_part_run(&part[t]);   /* no thread for it: here */
    }
    for (size_t t = 0; t < T; t++)
        if (part[t].bad < part[t].n) return (size_t)(part[t].v - v) + part[t].bad;
    return n;
}

const void *hd_model_weight(hd_model *m, int kind, const int64_t *shape, int ndim, hd_dtype *dtype, const char *fmt, ...)
{
    char name[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    int i = find_canon(m, name);
    if (i < 0) { hd_set_error(HD_EMODEL, "%s: tensor '%s' is missing", m->weights_path, name); return NULL; }
    const hd_tensor_info *t = hd_st_get(m->st, i);
    if (t->dtype == HD_BF16 && ((uintptr_t)t->data & 1) == 0) {
        if (!shape_match(t, shape, ndim)) return model_f32(m, kind, shape, ndim, 1, name);   /* names the shapes */
        size_t k = hd_bf16_first_nonfinite(t->data, t->numel);
        if (k < t->numel) {
            hd_set_error(HD_EMODEL, "%s: tensor '%s' holds a non-finite value (%s) at element %zu", m->weights_path, t->name,
                         (((const uint16_t *)t->data)[k] & 0x7f) ? "NaN" : "Inf", k);
            return NULL;
        }
        m->used[i] = (unsigned char)kind;
        *dtype = HD_BF16;
        return t->data;
    }
    *dtype = HD_F32;
    return model_f32(m, kind, shape, ndim, 1, name);
}

/* ---------------------------------------------------------------- tokens */

/* The byte tokenizer (docs/models.md §6.3): one id per byte of the sequence, no special tokens; the bases and
 * IUPAC codes that hd_base_id accepts, upper-cased unless keep_case. */
static long tokenize_bytes(const char *seq, size_t n, int keep_case, int32_t *ids, const char *record)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)seq[i];
        if (hd_base_id(c) < 0) {
            if (c >= 0x20 && c < 0x7f)
                hd_set_error(HD_EINPUT, "invalid character '%c' in record %s at position %zu", c, record ? record : "?", i + 1);
            else
                hd_set_error(HD_EINPUT, "invalid byte 0x%02x in record %s at position %zu", c, record ? record : "?", i + 1);
            return -1;
        }
        ids[i] = keep_case || c < 'a' ? c : c - 'a' + 'A';
    }
    return (long)n;
}

int hd_model_special_check(const hd_model *m, int sp)
{
    if (sp == HD_SPECIAL_NONE) return 0;
    if (m->tokenizer == HD_TOKENIZER_BYTES) {
        hd_set_error(HD_EINPUT, "%s models have no special tokens (use --special none)", hd_family_name(m->family));
        return -1;
    }
    /* a model with its own token ids (vocab.h) must have the tokens added */
    const int need[2] = {sp == HD_SPECIAL_CLS_SEP ? HD_TOK_CLS : HD_TOK_SEP, HD_TOK_SEP};
    for (int i = 0; m->vocab && i < 2; i++)
        if (m->vocab->to_model[need[i]] < 0) {
            hd_set_error(HD_EINPUT, "the model's vocabulary (%s) has no %s token (use --special none)", m->vocab->source,
                         need[i] == HD_TOK_CLS ? "[CLS]" : "[SEP]");
            return -1;
        }
    return 0;
}

long hd_model_tokenize(const hd_model *m, const char *seq, size_t n, int sp, int32_t *ids, const char *record)
{
    if (m->tokenizer == HD_TOKENIZER_BYTES) {
        if (hd_model_special_check(m, sp)) return -1;
        return tokenize_bytes(seq, n, m->keep_case, ids, record);
    }
    return hd_tokenize(seq, n, (hd_special)sp, ids, record);
}

int hd_model_base_token(const hd_model *m, int b)
{
    if (m->tokenizer != HD_TOKENIZER_BYTES) return b;
    char c = hd_id_base(b);
    return c == '?' ? 'N' : c;
}

int hd_model_parse_layer(hd_model *m, const char *name, int *block, int *tap)
{
    *block = -1;
    *tap = -1;
    /* a block index is digits alone, without a leading zero: the name is part of forward's tensor keys
     * (layer.NAME.RECORD), so that '01' or ' 1' would give other keys than '1' for the same layer */
    size_t nd = strspn(name, "0123456789");
    if (nd && !name[nd]) {
        if (name[0] == '0' && name[1]) {
            hd_set_error(HD_EINPUT, "layer '%s': write the block index without leading zeros ('%s')", name,
                         name + strspn(name, "0") - !name[strspn(name, "0")]);
            return -1;
        }
        long k = nd > 9 ? LONG_MAX : strtol(name, NULL, 10);
        if (k >= m->n_layer) {
            hd_set_error(HD_EINPUT, "layer %s does not exist: the model has %d blocks (0..%d)", name, m->n_layer, m->n_layer - 1);
            return -1;
        }
        *block = (int)k;
        return 0;
    }
    if (m->ops->tap && (*tap = m->ops->tap(m, name)) >= 0) return 0;
    if (*tap == -2) { *tap = -1; return -1; }   /* a sub-module's name, of a block the model does not have (error set) */
    hd_set_error(HD_EINPUT, "layer '%s': expected a block index 0..%d%s", name, m->n_layer - 1,
                 m->ops->tap ? " or a sub-module name such as blocks.0.mlp.l3" : "");
    return -1;
}
