/* plot_mkbw.c -- test helper: write a bigWig file with libBigWig from "START VALUE" lines on stdin
 * (0-based starts, increasing; one base each).  Usage: plot_mkbw OUT.bw CHROM LENGTH */
#include <bigWig.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 4) { fprintf(stderr, "usage: plot_mkbw OUT.bw CHROM LENGTH < starts-and-values\n"); return 1; }
    const char *chrom = argv[2];
    uint32_t len = (uint32_t)strtoul(argv[3], NULL, 10);
    size_t n = 0, m = 1024;
    uint32_t *st = malloc(m * sizeof *st), *en = malloc(m * sizeof *en);
    float *val = malloc(m * sizeof *val);
    const char **chr = malloc(m * sizeof *chr);
    unsigned long s;
    float v;
    while (st && en && val && chr && scanf("%lu %f", &s, &v) == 2) {
        if (n == m) {
            m *= 2;
            st = realloc(st, m * sizeof *st), en = realloc(en, m * sizeof *en), val = realloc(val, m * sizeof *val);
            chr = realloc(chr, m * sizeof *chr);
            if (!st || !en || !val || !chr) break;
        }
        st[n] = (uint32_t)s, en[n] = (uint32_t)s + 1, val[n] = v, chr[n] = chrom;
        n++;
    }
    if (!st || !en || !val || !chr || !n) { fprintf(stderr, "plot_mkbw: no values read\n"); return 1; }
    if (bwInit(1 << 17)) return 1;
    bigWigFile_t *fp = bwOpen(argv[1], NULL, "w");
    if (!fp || bwCreateHdr(fp, 10) || !(fp->cl = bwCreateChromList(&chrom, &len, 1)) || bwWriteHdr(fp) ||
        bwAddIntervals(fp, chr, st, en, val, (uint32_t)n)) {
        fprintf(stderr, "plot_mkbw: cannot write %s\n", argv[1]);
        return 1;
    }
    bwClose(fp);
    bwCleanup();
    free(st), free(en), free(val), free(chr);
    return 0;
}
