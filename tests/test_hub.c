/* test_hub.c -- the Hugging Face cache side of src/hub.c (names, cache location, resolution from the cache) and
 * the catalogue (src/catalog.c).  Downloads are tested end to end against a stand-in Hub in tests/cli/test_hub.sh. */
#include "testutil.h"

#include <sys/stat.h>
#include <unistd.h>

#include "catalog.h"
#include "hub.h"
#include "model.h"
#include "util.h"

static void clear_env(void)
{
    unsetenv("HF_HUB_CACHE");
    unsetenv("HUGGINGFACE_HUB_CACHE");
    unsetenv("HF_HOME");
    unsetenv("XDG_CACHE_HOME");
}

Test(hub, parse_and_names)
{
    hd_hub_ref r;
    cr_assert_eq(hd_hub_parse("LongSafari/hyenadna-tiny-1k-seqlen-hf", &r), 0, "%s", hd_error());
    cr_assert_str_eq(r.owner, "LongSafari");
    cr_assert_str_eq(r.name, "hyenadna-tiny-1k-seqlen-hf");
    cr_assert_str_eq(r.revision, "main");
    hd_hub_ref_free(&r);
    cr_assert_eq(hd_hub_parse("kuleshov-group/PlantCaduceus_l32@refs/pr/3", &r), 0, "%s", hd_error());
    cr_assert_str_eq(r.revision, "refs/pr/3");
    hd_hub_ref_free(&r);
    cr_assert_eq(hd_hub_parse("a.b/c_d-e@0123456789abcdef0123456789abcdef01234567", &r), 0, "%s", hd_error());
    hd_hub_ref_free(&r);

    static const char *bad[] = {"noslash", "../x", "x/..", "a/b/c", "/etc/passwd", "a//b", "a/", "/b", "a--b/c",
                                "a/b--c", "-a/b", "a/b.", "a/.b", "a b/c", "a/b@", "a/b@../x", "a/b@x/../y", "a/b@/abs",
                                "a/b@x//y", "a/b@x/", "a\\b/c", "a/b\\c", "a/b@x\\y", "a/b@x y", "a/b\nc", NULL};
    for (int i = 0; bad[i]; i++) {
        cr_assert_eq(hd_hub_parse(bad[i], &r), -1, "'%s' accepted", bad[i]);
        cr_assert_eq(hd_error_kind(), HD_EINPUT);
    }
    char longname[120];
    memset(longname, 'a', sizeof longname);
    memcpy(longname, "o/", 2);
    longname[sizeof longname - 1] = 0;
    cr_assert_eq(hd_hub_parse(longname, &r), -1, "a 117-character repository name accepted");

    static const char *good_files[] = {"config.json", "a/b/c.safetensors", "dir.with.dots/x", "..x", "x..", NULL};
    for (int i = 0; good_files[i]; i++) cr_assert_eq(hd_hub_check_filename(good_files[i]), 0, "%s: %s", good_files[i], hd_error());
    static const char *bad_files[] = {"", "/abs", "../x", "a/../b", "a/..", "./x", "a/./b", "a//b", "a/", "a\\b", "a\x01", "x\x7f",
                                      NULL};
    for (int i = 0; bad_files[i]; i++) cr_assert_eq(hd_hub_check_filename(bad_files[i]), -1, "'%s' accepted", bad_files[i]);

    cr_assert(hd_hub_is_commit("0123456789abcdef0123456789abcdef01234567"));
    cr_assert(!hd_hub_is_commit("0123456789ABCDEF0123456789abcdef01234567"));
    cr_assert(!hd_hub_is_commit("0123456789abcdef0123456789abcdef0123456"));
    cr_assert(!hd_hub_is_commit("main"));
}

Test(hub, cache_location)
{
    clear_env();
    setenv("HOME", "/home/u", 1);
    char *c = hd_hub_cache_dir();
    cr_assert_str_eq(c, "/home/u/.cache/huggingface/hub");
    free(c);
    setenv("XDG_CACHE_HOME", "/xdg", 1);
    c = hd_hub_cache_dir();
    cr_assert_str_eq(c, "/xdg/huggingface/hub");
    free(c);
    setenv("HF_HOME", "~/hf", 1);
    c = hd_hub_cache_dir();
    cr_assert_str_eq(c, "/home/u/hf/hub");
    free(c);
    setenv("HUGGINGFACE_HUB_CACHE", "/old", 1);
    c = hd_hub_cache_dir();
    cr_assert_str_eq(c, "/old");
    free(c);
    setenv("HF_HUB_CACHE", "/new", 1);
    c = hd_hub_cache_dir();
    cr_assert_str_eq(c, "/new");
    free(c);
    hd_hub_ref r;
    cr_assert_eq(hd_hub_parse("own/rep", &r), 0);
    c = hd_hub_repo_dir(&r);
    cr_assert_str_eq(c, "/new/models--own--rep");
    free(c);
    hd_hub_ref_free(&r);
    clear_env();
}

static void put(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    cr_assert_not_null(fp, "%s", path);
    fputs(text, fp);
    fclose(fp);
}

static void sh(const char *fmt, const char *arg)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, fmt, arg, arg, arg, arg);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

#define C1 "0123456789abcdef0123456789abcdef01234567"
#define C2 "89abcdef0123456789abcdef0123456789abcdef"

Test(hub, resolve_from_cache)
{
    clear_env();
    char *d = tmp_dir();
    setenv("HF_HUB_CACHE", d, 1);
    /* models--o--st: a safetensors model at main (ref with a trailing newline) and an older commit C2 */
    sh("mkdir -p %s/models--o--st/blobs %s/models--o--st/snapshots/" C1 " %s/models--o--st/snapshots/" C2 " %s/models--o--st/refs", d);
    char p[1024], q[1024];
    snprintf(p, sizeof p, "%s/models--o--st/blobs/aaaa", d);
    put(p, "weights");
    snprintf(p, sizeof p, "%s/models--o--st/snapshots/" C1 "/model.safetensors", d);
    cr_assert_eq(symlink("../../blobs/aaaa", p), 0);
    snprintf(p, sizeof p, "%s/models--o--st/snapshots/" C2 "/pytorch_model.bin", d);
    cr_assert_eq(symlink("../../blobs/aaaa", p), 0);
    snprintf(p, sizeof p, "%s/models--o--st/refs/main", d);
    put(p, C1 "\n");
    char *loc = hd_hub_resolve("o/st");
    snprintf(q, sizeof q, "%s/models--o--st/snapshots/" C1, d);
    cr_assert_not_null(loc, "%s", hd_error());
    cr_assert_str_eq(loc, q);
    free(loc);
    loc = hd_hub_resolve("o/st@" C2);   /* a commit without a ref; its one checkpoint */
    snprintf(q, sizeof q, "%s/models--o--st/snapshots/" C2 "/pytorch_model.bin", d);
    cr_assert_not_null(loc, "%s", hd_error());
    cr_assert_str_eq(loc, q);
    free(loc);

    /* not cached: the message names the pull command, with the revision unless main */
    cr_assert_null(hd_hub_resolve("o/none"));
    cr_assert_eq(hd_error_kind(), HD_EMODEL);
    cr_assert(strstr(hd_error(), "hyenadna pull o/none"), "%s", hd_error());
    cr_assert_null(hd_hub_resolve("o/st@v2"));
    cr_assert(strstr(hd_error(), "hyenadna pull o/st@v2"), "%s", hd_error());
    cr_assert_null(hd_hub_resolve("o/st@" "ffffffffffffffffffffffffffffffffffffffff"));

    /* a ref that does not hold a commit; a ref naming a snapshot that is gone */
    snprintf(p, sizeof p, "%s/models--o--st/refs/bad", d);
    put(p, "../../etc");
    cr_assert_null(hd_hub_resolve("o/st@bad"));
    cr_assert(strstr(hd_error(), "commit"), "%s", hd_error());
    snprintf(p, sizeof p, "%s/models--o--st/refs/gone", d);
    put(p, "ffffffffffffffffffffffffffffffffffffffff");
    cr_assert_null(hd_hub_resolve("o/st@gone"));

    /* several checkpoints: ambiguous; a dangling link counts as absent; a .safetensors beats a .bin */
    sh("mkdir -p %s/models--o--pt/snapshots/" C1 " %s/models--o--pt/refs", d);
    snprintf(p, sizeof p, "%s/models--o--pt/refs/main", d);
    put(p, C1);
    snprintf(p, sizeof p, "%s/models--o--pt/snapshots/" C1 "/a.ckpt", d);
    put(p, "x");
    snprintf(p, sizeof p, "%s/models--o--pt/snapshots/" C1 "/b.pt", d);
    put(p, "x");
    snprintf(p, sizeof p, "%s/models--o--pt/snapshots/" C1 "/training_args.bin", d);
    put(p, "x");
    cr_assert_null(hd_hub_resolve("o/pt"));
    cr_assert(strstr(hd_error(), "2 weight files"), "%s", hd_error());
    /* a link whose blob is gone is an error naming it, not a checkpoint passed over for the other one */
    snprintf(p, sizeof p, "%s/models--o--pt/snapshots/" C1 "/b.pt", d);
    unlink(p);
    cr_assert_eq(symlink("../../blobs/missing", p), 0);
    cr_assert_null(hd_hub_resolve("o/pt"));
    cr_assert_eq(hd_error_kind(), HD_EMODEL);
    cr_assert(strstr(hd_error(), "'b.pt' links to ../../blobs/missing, which is missing"), "%s", hd_error());
    cr_assert(strstr(hd_error(), "hyenadna pull o/pt"), "%s", hd_error());
    unlink(p);
    loc = hd_hub_resolve("o/pt");
    cr_assert_not_null(loc, "%s", hd_error());
    cr_assert(strstr(loc, "/a.ckpt"), "%s", loc);
    free(loc);
    /* the same for a config whose blob is gone (the model opened without it said 'no config.json beside it') */
    snprintf(p, sizeof p, "%s/models--o--pt/snapshots/" C1 "/config.json", d);
    cr_assert_eq(symlink("../../blobs/gone", p), 0);
    cr_assert_null(hd_hub_resolve("o/pt"));
    cr_assert(strstr(hd_error(), "'config.json' links to ../../blobs/gone"), "%s", hd_error());
    unlink(p);
    /* a file the model does not read (a README) may be gone */
    snprintf(p, sizeof p, "%s/models--o--pt/snapshots/" C1 "/README.md", d);
    cr_assert_eq(symlink("../../blobs/gone", p), 0);
    loc = hd_hub_resolve("o/pt");
    cr_assert_not_null(loc, "%s", hd_error());
    free(loc);
    unlink(p);
    snprintf(p, sizeof p, "%s/models--o--pt/snapshots/" C1 "/w.safetensors", d);
    put(p, "x");
    loc = hd_hub_resolve("o/pt");
    cr_assert(loc && strstr(loc, "/w.safetensors"), "%s", loc ? loc : hd_error());
    free(loc);
    /* no weights at all */
    sh("mkdir -p %s/models--o--empty/snapshots/" C1 " %s/models--o--empty/refs", d);
    snprintf(p, sizeof p, "%s/models--o--empty/refs/main", d);
    put(p, C1);
    cr_assert_null(hd_hub_resolve("o/empty"));
    cr_assert(strstr(hd_error(), "no weights"), "%s", hd_error());

    rm_rf(d);
    free(d);
    clear_env();
}

static int done_files;
static void count_done(void *ud, const char *file, uint64_t size, int cached)
{
    (void)ud, (void)file, (void)size;
    cr_assert_eq(cached, 1);
    done_files++;
}

/* HF_HUB_OFFLINE: pull gives the cached snapshot without the network (the endpoint is a closed port), resolving a
 * branch through refs/ and a commit directly; not in the cache: an error naming the repository, the revision and
 * where it was looked for */
Test(hub, offline_pull_uses_the_cache)
{
    clear_env();
    char *d = tmp_dir();
    setenv("HF_HUB_CACHE", d, 1);
    setenv("HF_ENDPOINT", "http://127.0.0.1:1", 1);
    unsetenv("TRANSFORMERS_OFFLINE");
    sh("mkdir -p %s/models--o--st/blobs %s/models--o--st/snapshots/" C1 " %s/models--o--st/refs", d);
    char p[1024], want[1024];
    snprintf(p, sizeof p, "%s/models--o--st/blobs/aaaa", d);
    put(p, "weights");
    snprintf(p, sizeof p, "%s/models--o--st/snapshots/" C1 "/model.safetensors", d);
    cr_assert_eq(symlink("../../blobs/aaaa", p), 0);
    snprintf(p, sizeof p, "%s/models--o--st/refs/v1", d);
    put(p, C1);
    snprintf(want, sizeof want, "%s/models--o--st/snapshots/" C1, d);

    static const char *const revs[] = {"v1", C1, NULL};
    for (int i = 0; revs[i]; i++)
        for (int var = 0; var < 2; var++) {   /* HF_HUB_OFFLINE, or TRANSFORMERS_OFFLINE when it is unset */
            setenv(var ? "TRANSFORMERS_OFFLINE" : "HF_HUB_OFFLINE", var ? "1" : "true", 1);
            if (var) unsetenv("HF_HUB_OFFLINE");
            cr_assert(hd_hub_offline(NULL));
            hd_hub_ref r = {"o", "st", (char *)revs[i]};
            hd_hub_pull_opts o = {.file_done = count_done};
            char commit[41] = "";
            done_files = 0;
            char *snap = hd_hub_pull(&r, &o, commit);
            cr_assert_not_null(snap, "@%s: %s", revs[i], hd_error());
            cr_assert_str_eq(snap, want);
            cr_assert_str_eq(commit, C1);
            cr_assert_eq(done_files, 1);
            free(snap);
            unsetenv("TRANSFORMERS_OFFLINE");
        }
    setenv("HF_HUB_OFFLINE", "1", 1);
    hd_hub_ref r = {"o", "st", "main"};
    char commit[41];
    cr_assert_null(hd_hub_pull(&r, NULL, commit));
    cr_assert_eq(hd_error_kind(), HD_EMODEL);
    cr_assert(strstr(hd_error(), "o/st") && strstr(hd_error(), "'main'") && strstr(hd_error(), d) &&
              strstr(hd_error(), "HF_HUB_OFFLINE"), "%s", hd_error());
    hd_hub_ref none = {"o", "none", "main"};
    cr_assert_null(hd_hub_pull(&none, NULL, commit));
    cr_assert(strstr(hd_error(), "o/none@main") && strstr(hd_error(), d) && strstr(hd_error(), "HF_HUB_OFFLINE"), "%s", hd_error());
    hd_hub_pull_opts force = {.force = 1};
    r.revision = "v1";
    cr_assert_null(hd_hub_pull(&r, &force, commit));
    cr_assert_eq(hd_error_kind(), HD_EINPUT);
    /* a snapshot whose blob is gone is not given */
    snprintf(p, sizeof p, "%s/models--o--st/blobs/aaaa", d);
    unlink(p);
    cr_assert_null(hd_hub_pull(&r, NULL, commit));
    cr_assert(strstr(hd_error(), "'model.safetensors' links to ../../blobs/aaaa, which is missing"), "%s", hd_error());
    setenv("HF_HUB_OFFLINE", "0", 1);   /* set but false: TRANSFORMERS_OFFLINE is not read */
    setenv("TRANSFORMERS_OFFLINE", "1", 1);
    cr_assert(!hd_hub_offline(NULL));
    unsetenv("HF_HUB_OFFLINE");
    unsetenv("TRANSFORMERS_OFFLINE");
    unsetenv("HF_ENDPOINT");
    rm_rf(d);
    free(d);
    clear_env();
}

Test(hub, default_selection)
{
    cr_assert(hd_hub_is_config_file("config.json"));
    cr_assert(hd_hub_is_config_file("model_config.json"));
    cr_assert(hd_hub_is_config_file("tokenizer.json"));
    cr_assert(hd_hub_is_config_file("evo2-7b-1m.yml"));
    cr_assert(!hd_hub_is_config_file("sub/config.json"));
    cr_assert(!hd_hub_is_config_file("README.md"));
    cr_assert(hd_hub_is_checkpoint_file("pytorch_model.bin"));
    cr_assert(hd_hub_is_checkpoint_file("weights.ckpt"));
    cr_assert(hd_hub_is_checkpoint_file("evo2_7b.pt"));
    cr_assert(!hd_hub_is_checkpoint_file("training_args.bin"));
    cr_assert(!hd_hub_is_checkpoint_file("optimizer.pt"));
    cr_assert(!hd_hub_is_checkpoint_file("evo2_40b.pt.part0"));
    cr_assert(!hd_hub_is_checkpoint_file("sub/pytorch_model.bin"));
}

Test(catalog, entries_and_support)
{
    size_t n = hd_catalog_size();
    cr_assert_geq(n, 27);
    int evo2_built = 0;
    for (int f = 1; f < 64; f++) evo2_built |= !strcmp(hd_family_name((hd_family)f), "evo2");
    int hy = 0, cad = 0, plant = 0, xl = 0, evo = 0;
    for (size_t i = 0; i < n; i++) {
        const hd_catalog_entry *e = hd_catalog_get(i);
        const char *why;
        int sup = hd_catalog_supported(e, &why);
        cr_assert(sup ? why == NULL : why != NULL, "%s", e->name);
        if (e->repo) {
            hd_hub_ref r;
            cr_assert_eq(hd_hub_parse(e->repo, &r), 0, "%s: %s", e->repo, hd_error());
            hd_hub_ref_free(&r);
        } else {
            cr_assert_not_null(e->source, "%s: neither a repository nor a source", e->name);
        }
        cr_assert_gt(e->context, 0);
        int plantcad = strstr(e->variant, "PlantCaduceus") != NULL;
        hy += !strcmp(e->family, "hyenadna");
        cad += !strcmp(e->family, "caduceus") && !plantcad;
        plant += plantcad;
        xl += !strcmp(e->family, "xlstm");
        if (strcmp(e->family, "evo2")) cr_assert(sup, "%s: %s", e->name, why);
        if (!strcmp(e->family, "evo2")) {
            evo++;
            /* FP8 checkpoints are never supported; the 7B ones exactly when the family is compiled in */
            if (e->needs) cr_assert(!sup, "%s", e->name);
            else cr_assert_eq(sup, evo2_built, "%s", e->name);
        }
    }
    cr_assert_eq(hy, 7);
    cr_assert_eq(cad, 6);
    cr_assert_eq(plant, 4);
    cr_assert_geq(xl, 4);
    cr_assert_eq(evo, 7);
}

/* cached: the snapshot at main has its weights and its config.  A partial one (huggingface_hub's hf_hub_download
 * of the weights alone, which -m hf: refuses with 'no config') was listed as cached; a Hugging Face
 * pytorch_model.bin likewise needs config.json, while a safetensors file carrying its config in __metadata__
 * (hyenadna convert's output) needs none. */
static void snapshot_at_main(const char *cache, const char *repo_dir, char *snap, size_t n)
{
    char p[1200];
    snprintf(snap, n, "%s/%s/snapshots/" C1, cache, repo_dir);
    sh("mkdir -p %s", snap);
    snprintf(p, sizeof p, "%s/%s/refs", cache, repo_dir);
    sh("mkdir -p %s", p);
    snprintf(p, sizeof p, "%s/%s/refs/main", cache, repo_dir);
    put(p, C1);
}

static void copy_into(const char *src, const char *snap, const char *name)
{
    char cmd[2600];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/%s'", src, snap, name);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

Test(catalog, cached_needs_the_config)
{
    clear_env();
    char *d = tmp_dir();
    setenv("HF_HUB_CACHE", d, 1);
    const hd_catalog_entry *hy = hd_catalog_find("hyenadna-tiny-1k", strlen("hyenadna-tiny-1k"));
    const hd_catalog_entry *pc = hd_catalog_find("plantcaduceus-l20", strlen("plantcaduceus-l20"));
    cr_assert(hy && hy->repo && pc && pc->repo);
    char snap[1024], p[1200];
    snapshot_at_main(d, "models--LongSafari--hyenadna-tiny-1k-seqlen-hf", snap, sizeof snap);
    cr_assert(!hd_catalog_cached(hy));   /* nothing in it */
    copy_into(TESTDATA("hyenadna-tiny/model.safetensors"), snap, "model.safetensors");
    cr_assert(!hd_catalog_cached(hy), "the weights without their config are not a cached model");
    copy_into(TESTDATA("hyenadna-tiny/config.json"), snap, "config.json");
    cr_assert(hd_catalog_cached(hy));
    /* a config in the weights' __metadata__ is enough */
    snprintf(p, sizeof p, "%s/config.json", snap);
    cr_assert_eq(unlink(p), 0);
    snprintf(p, sizeof p, "%s/model.safetensors", snap);
    cr_assert_eq(unlink(p), 0);
    hd_stw *w = st_copy(TESTDATA("hyenadna-tiny/model.safetensors"), p, NULL, NULL);
    cr_assert_eq(hd_stw_meta(w, "config", "{\"d_model\": 32}"), 0, "%s", hd_error());
    cr_assert_eq(hd_stw_close(w), 0, "%s", hd_error());
    cr_assert(hd_catalog_cached(hy), "a config in __metadata__");

    /* a Hugging Face pytorch_model.bin without config.json */
    snapshot_at_main(d, "models--kuleshov-group--PlantCaduceus_l20", snap, sizeof snap);
    copy_into(TESTDATA("plantcaduceus/pytorch_model.bin"), snap, "pytorch_model.bin");
    cr_assert(!hd_catalog_cached(pc));
    copy_into(TESTDATA("plantcaduceus/config.json"), snap, "config.json");
    cr_assert(hd_catalog_cached(pc));
    rm_rf(d);
    free(d);
    clear_env();
}
