/* stcompare.c -- compare the tensors two safetensors files have in common (by name).
 *
 *   stcompare [-r REL] [-a ABS] [-q] [-p FROM=TO]... GOT.safetensors REF.safetensors
 *
 * -p FROM=TO: a name of GOT that starts with FROM is looked up in REF with TO instead (the first matching -p;
 * e.g. -p layer.=block. to compare `forward --layer` outputs with a fixture's block.K.SEQ entries).
 * For every tensor of GOT that REF also holds: rel_F = ‖got − ref‖_F / ‖ref‖_F and max_abs = max |got − ref|
 * (values converted to float32, compared in double).  One line per tensor (-q: only those over the
 * bars), then a summary.  Exit status: 0 when at least one tensor was compared and all are within
 * rel_F ≤ REL and max_abs ≤ ABS (defaults 1e-4 and 1e-3, the fixture bars); 1 when one is not or the
 * element counts differ; 2 when a file cannot be read or no tensor is common to both. */
#include "safetensors.h"
#include "util.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    double rel_bar = 1e-4, abs_bar = 1e-3;
    int quiet = 0, c, np = 0;
    const char *pfrom[16], *pto[16];
    while ((c = getopt(argc, argv, "r:a:qp:h")) >= 0) {
        switch (c) {
        case 'r': rel_bar = atof(optarg); break;
        case 'a': abs_bar = atof(optarg); break;
        case 'q': quiet = 1; break;
        case 'p': {
            char *eq = strchr(optarg, '=');
            if (!eq || np == 16) { fprintf(stderr, "stcompare: -p FROM=TO (at most 16)\n"); return 2; }
            *eq = 0;
            pfrom[np] = optarg;
            pto[np++] = eq + 1;
            break;
        }
        case 'h': printf("Usage: stcompare [-r REL] [-a ABS] [-q] [-p FROM=TO]... GOT.safetensors REF.safetensors\n"); return 0;
        default: return 2;
        }
    }
    if (optind != argc - 2) {
        fprintf(stderr, "Usage: stcompare [-r REL] [-a ABS] [-q] [-p FROM=TO]... GOT.safetensors REF.safetensors\n");
        return 2;
    }
    hd_st *a = hd_st_open(argv[optind]), *b = a ? hd_st_open(argv[optind + 1]) : NULL;
    if (!a || !b) {
        fprintf(stderr, "stcompare: %s\n", hd_error());
        hd_st_close(a);
        return 2;
    }
    int compared = 0, bad = 0, only = 0;
    double worst_rel = 0, worst_abs = 0;
    const char *worst_rel_name = "-", *worst_abs_name = "-";
    for (int i = 0; i < hd_st_count(a); i++) {
        const hd_tensor_info *ta = hd_st_get(a, i);
        char mapped[1024];
        snprintf(mapped, sizeof mapped, "%s", ta->name);
        for (int k = 0; k < np; k++)
            if (!strncmp(ta->name, pfrom[k], strlen(pfrom[k]))) {
                snprintf(mapped, sizeof mapped, "%s%s", pto[k], ta->name + strlen(pfrom[k]));
                break;
            }
        const hd_tensor_info *tb = hd_st_find(b, mapped);
        if (!tb) { only++; continue; }
        if (ta->numel != tb->numel) {
            printf("%s\tsize %zu vs %zu\tFAIL\n", ta->name, ta->numel, tb->numel);
            bad++;
            continue;
        }
        size_t n = ta->numel;
        float *x = malloc((n ? n : 1) * sizeof(float)), *y = malloc((n ? n : 1) * sizeof(float));
        if (!x || !y || hd_tensor_to_f32(ta, x) || hd_tensor_to_f32(tb, y)) {
            fprintf(stderr, "stcompare: %s: cannot read as float32\n", ta->name);
            return 2;
        }
        double num = 0, den = 0, mx = 0;
        for (size_t k = 0; k < n; k++) {
            double d = (double)x[k] - (double)y[k];
            if (isnan(d)) mx = INFINITY;
            num += d * d;
            den += (double)y[k] * y[k];
            if (fabs(d) > mx) mx = fabs(d);
        }
        double rel = isnan(num) ? INFINITY : den > 0 ? sqrt(num / den) : sqrt(num);
        int ok = rel <= rel_bar && mx <= abs_bar;
        if (!ok || !quiet) printf("%s\trel_F %.3g\tmax_abs %.3g\t%s\n", ta->name, rel, mx, ok ? "ok" : "FAIL");
        if (rel > worst_rel || isinf(rel)) worst_rel = rel, worst_rel_name = ta->name;
        if (mx > worst_abs || isinf(mx)) worst_abs = mx, worst_abs_name = ta->name;
        bad += !ok;
        compared++;
        free(x);
        free(y);
    }
    printf("compared %d tensors (%d only in %s): worst rel_F %.3g (%s), worst max_abs %.3g (%s); %d over the bars "
           "(rel_F %.1g, max_abs %.1g)\n",
           compared, only, argv[optind], worst_rel, worst_rel_name, worst_abs, worst_abs_name, bad, rel_bar, abs_bar);
    hd_st_close(a);
    hd_st_close(b);
    if (!compared) return 2;
    return bad ? 1 : 0;
}
