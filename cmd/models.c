/* models.c -- `hyenadna models`: the public checkpoints hyenadna knows of (src/catalog.h). */
#include "config.h"
#include "common.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "output.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: hyenadna models [options]\n"
            "\n"
            "List the public checkpoints hyenadna knows of: family, size, training context, objective,\n"
            "weight format, whether this build can run them and whether they are in the local Hugging\n"
            "Face cache (read only; the network is not used).  Fetch one with `hyenadna pull OWNER/REPO`\n"
            "(its source without hf:) and run it with -m hf:OWNER/REPO.\n"
            "\n"
            "Output options:\n"
            "  -o, --output FILE      write to FILE [-, standard output]\n"
            "      --json             a JSON array instead of TSV\n"
            "General options:\n"
            "      --verbosity INT    0 silent, 1 errors, 2 warnings, 3 information [2]\n"
            "  -h, --help             print this help and exit\n");
}

int main_models(int argc, char **argv)
{
    static const struct option lo[] = {
        {"output", required_argument, NULL, 'o'}, {"json", no_argument, NULL, 'j'},
        {"verbosity", required_argument, NULL, OPT_VERBOSITY}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    hd_common_opts co = {0};
    const char *out = "-";
    int c, json = 0;
    while ((c = getopt_long(argc, argv, "o:h", lo, NULL)) >= 0) {
        int r = hd_common_opt(&co, c, optarg);
        if (r < 0) return EXIT_INPUT;
        if (r) continue;
        switch (c) {
        case 'o': out = optarg; break;
        case 'j': json = 1; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_INPUT;
        }
    }
    if (optind < argc) {
        hd_errorf("unexpected argument '%s'", argv[optind]);
        usage(stderr);
        return EXIT_INPUT;
    }
    hd_outfile *o = hd_out_open(out, 0);
    if (!o) return hd_fail();
    json_t *arr = json ? json_array() : NULL;
    if (!json)
        hd_out_printf(o, "#name\tfamily\tvariant\tparams\tcontext\tobjective\tformat\tsupported\tcached\tsource\n");
    for (size_t i = 0; i < hd_catalog_size(); i++) {
        const hd_catalog_entry *e = hd_catalog_get(i);
        const char *why;
        int sup = hd_catalog_supported(e, &why), cached = hd_catalog_cached(e);
        char *src = e->repo ? NULL : (char *)e->source;
        char hf[256];
        if (e->repo) snprintf(hf, sizeof hf, "hf:%s", e->repo), src = hf;
        if (json) {
            json_t *j = json_pack("{s:s, s:s?, s:s, s:s, s:s, s:I, s:s, s:s, s:b, s:s?, s:o, s:s}", "name", e->name, "repo",
                                  e->repo, "family", e->family, "variant", e->variant, "params", e->params, "context",
                                  (json_int_t)e->context, "objective", e->objective, "format", e->format, "supported", sup,
                                  "unsupported_reason", why, "cached", e->repo ? json_boolean(cached) : json_null(),
                                  "source", src);
            if (!j || json_array_append_new(arr, j)) {
                hd_errorf("out of memory");
                json_decref(arr);
                hd_out_abort(o);
                return EXIT_MODEL;
            }
        } else {
            hd_out_printf(o, "%s\t%s\t%s\t%s\t%ld\t%s\t%s\t%s%s%s%s\t%s\t%s\n", e->name, e->family, *e->variant ? e->variant : "-",
                          e->params, e->context, e->objective, e->format, sup ? "yes" : "no",
                          why ? " (" : "", why ? why : "", why ? ")" : "", e->repo ? (cached ? "yes" : "no") : "-", src);
        }
    }
    if (json) {
        char *s = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(arr);
        if (!s || hd_out_printf(o, "%s\n", s) < 0) {
            free(s);
            hd_out_abort(o);
            return hd_fail();
        }
        free(s);
    }
    if (hd_out_close(o)) return hd_fail();
    return EXIT_OK;
}
