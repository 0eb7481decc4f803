/* test_readers.c -- the one reader of each input format and its documented rule: FASTA/FASTQ records
 * (src/seqio.c: empty records, repeated names, headers with spaces, CRLF, lower case, gzip/bgzip,
 * standard input), BED lines (src/bed.c), regions and windows over an indexed reference (src/regions.c),
 * and the FASTA side of bamseq.c, which must follow the same rule.  Inputs are written by the tests. */
#include "testutil.h"
#include "bamseq.h"
#include "bed.h"
#include "regions.h"
#include "seqio.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <htslib/bgzf.h>
#include <unistd.h>
#include <zlib.h>

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/hdreaders.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}
static void teardown(void) { rm_rf(dir); }

TestSuite(readers, .init = setup, .fini = teardown);

static const char *put(const char *name, const char *text)
{
    static char path[8][256];
    static int k;
    char *p = path[k++ % 8];
    snprintf(p, 256, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

/* the warnings of the library (hd_log), collected */
static char logbuf[8192];
static int nlog;
static void sink(int level, const char *msg)
{
    (void)level;
    size_t l = strlen(logbuf);
    snprintf(logbuf + l, sizeof logbuf - l, "%s\n", msg);
    nlog++;
}

/* every record of a file as "name|comment|seq;" */
static char *records(const char *path)
{
    static char out[8192];
    out[0] = 0;
    hd_fasta *f = hd_fasta_open(path);
    cr_assert_not_null(f, "%s", hd_error());
    hd_seqrec r;
    int rc;
    while ((rc = hd_fasta_next(f, &r)) > 0) {
        cr_assert_eq(strlen(r.seq), r.len);
        size_t l = strlen(out);
        snprintf(out + l, sizeof out - l, "%s|%s|%s;", r.name, r.comment, r.seq);
    }
    cr_assert_eq(rc, 0, "%s", hd_error());
    hd_fasta_close(f);
    return out;
}

/* ------------------------------------------------------------------ FASTA / FASTQ */

Test(readers, fasta_records_and_whitespace)
{
    const char *p = put("a.fa", "\n\n>r1 the first\nACGT\nac gt\n>r2\tdesc\nNNRY\tAC\n\n>r3\nA\n");
    cr_assert_str_eq(records(p), "r1|the first|ACGTacgt;r2|desc|NNRYAC;r3||A;");
}

Test(readers, crlf_is_lf)
{
    const char *a = put("crlf.fa", ">r1 x y\r\nACGT\r\nGG\r\n>r2\r\nTT\r\n");
    char got[8192];
    snprintf(got, sizeof got, "%s", records(a));
    cr_assert_str_eq(got, "r1|x y|ACGTGG;r2||TT;");
}

Test(readers, lower_case_kept)
{
    cr_assert_str_eq(records(put("lc.fa", ">s\nacgtnACGTN\n")), "s||acgtnACGTN;");
}

Test(readers, name_after_spaces)
{
    /* as samtools faidx: "> bar description" is the record bar */
    cr_assert_str_eq(records(put("sp.fa", ">  bar some description\nAC\n> baz\nGG\n")),
                     "bar|some description|AC;baz||GG;");
}

Test(readers, empty_record_skipped_with_a_warning)
{
    hd_log_set_sink(sink);
    const char *p = put("e.fa", ">s1\nACGT\n>empty\n>s3\nAC\n>e2 x\n\n");
    hd_fasta *f = hd_fasta_open(p);
    cr_assert_not_null(f);
    hd_seqrec r;
    cr_assert_eq(hd_fasta_next(f, &r), 1);
    cr_assert_str_eq(r.name, "s1");
    cr_assert_eq(r.index, 0);
    cr_assert_eq(hd_fasta_next(f, &r), 1);
    cr_assert_str_eq(r.name, "s3");
    cr_assert_eq(r.index, 2, "the index counts the skipped record");
    cr_assert_eq(hd_fasta_next(f, &r), 0);
    cr_assert_eq(hd_fasta_n_skipped(f, HD_SKIP_EMPTY), 2);
    hd_fasta_close(f);
    cr_assert(strstr(logbuf, "record 'empty' of ") && strstr(logbuf, "e.fa is empty: skipped"), "%s", logbuf);
    cr_assert(strstr(logbuf, "record 'e2' of "), "%s", logbuf);
    cr_assert_eq(nlog, 2);
}

Test(readers, repeated_name_keeps_the_first)
{
    hd_log_set_sink(sink);
    cr_assert_str_eq(records(put("d.fa", ">a one\nAAAA\n>b\nCC\n>a two\nGGGG\n>c\nT\n")), "a|one|AAAA;b||CC;c||T;");
    cr_assert(strstr(logbuf, "record 'a' of ") && strstr(logbuf, "record number 1") && strstr(logbuf, "skipped"), "%s", logbuf);
    /* an empty record does not claim its name */
    cr_assert_str_eq(records(put("d2.fa", ">a\n>a\nAC\n")), "a||AC;");
}

Test(readers, warnings_then_a_count)
{
    hd_log_set_sink(sink);
    char text[512] = ">ok\nA\n";
    for (int i = 0; i < 8; i++) snprintf(text + strlen(text), sizeof text - strlen(text), ">e%d\n", i);
    records(put("many.fa", text));
    cr_assert_eq(nlog, 6, "5 warnings, then the count: %s", logbuf);
    cr_assert(strstr(logbuf, "8 empty records of "), "%s", logbuf);
}

typedef struct { int n[HD_SKIP_NKINDS]; } hook_counts;
static void count_hook(void *ud, hd_fasta *f, const hd_seqrec *r, int why)
{
    (void)f, (void)r;
    ((hook_counts *)ud)->n[why]++;
}

Test(readers, skip_hook)
{
    hd_log_set_sink(sink);
    hd_fasta *f = hd_fasta_open(put("h.fa", ">a\nA\n>b\n>a\nC\n"));
    hook_counts hc = {{0}};
    hd_fasta_set_skip_hook(f, count_hook, &hc);
    hd_seqrec r;
    while (hd_fasta_next(f, &r) > 0) {}
    hd_fasta_close(f);
    cr_assert_eq(hc.n[HD_SKIP_EMPTY], 1);
    cr_assert_eq(hc.n[HD_SKIP_DUPLICATE], 1);
    cr_assert_eq(nlog, 0, "a hook replaces the warnings: %s", logbuf);
}

Test(readers, errors_name_file_and_record)
{
    hd_fasta *f = hd_fasta_open(put("noname.fa", ">s1\nAC\n>\nGG\n"));
    hd_seqrec r;
    cr_assert_eq(hd_fasta_next(f, &r), 1);
    cr_assert_eq(hd_fasta_next(f, &r), -1);
    cr_assert(strstr(hd_error(), "noname.fa") && strstr(hd_error(), "record number 2") && strstr(hd_error(), "empty name"),
              "%s", hd_error());
    hd_fasta_close(f);

    cr_assert_null(hd_fasta_open(put("text.txt", "hello\n>s\nAC\n")));
    cr_assert(strstr(hd_error(), "text.txt") && strstr(hd_error(), "not FASTA"), "%s", hd_error());
    cr_assert_eq(hd_error_kind(), HD_EINPUT);

    char missing[128];
    snprintf(missing, sizeof missing, "%s/none.fa", dir);
    cr_assert_null(hd_fasta_open(missing));
    cr_assert(strstr(hd_error(), "none.fa") && strstr(hd_error(), "No such file"), "%s", hd_error());
}

Test(readers, empty_input_has_no_records)
{
    cr_assert_str_eq(records(put("empty.fa", "")), "");
    cr_assert_str_eq(records(put("blank.fa", "\n\r\n\n")), "");
}

Test(readers, fastq)
{
    cr_assert_str_eq(records(put("r.fq", "@q1 c\nACGT\n+\nIIII\n@q2\nGG\n+q2\n##\n")), "q1|c|ACGT;q2||GG;");
    hd_fasta *f = hd_fasta_open(put("t.fq", "@q1\nACGT\n+\nII\n"));
    hd_seqrec r;
    cr_assert_eq(hd_fasta_next(f, &r), -1);
    cr_assert(strstr(hd_error(), "t.fq") && strstr(hd_error(), "quality"), "%s", hd_error());
    hd_fasta_close(f);
}

/* the next record's error, which names the file, the record and why */
static void next_error(const char *path, int good, const char *what1, const char *what2)
{
    hd_fasta *f = hd_fasta_open(path);
    cr_assert_not_null(f, "%s", hd_error());
    hd_seqrec r;
    for (int i = 0; i < good; i++) cr_assert_eq(hd_fasta_next(f, &r), 1, "%s: %s", path, hd_error());
    cr_assert_eq(hd_fasta_next(f, &r), -1, "%s: no error", path);
    cr_assert(strstr(hd_error(), path) && strstr(hd_error(), what1) && strstr(hd_error(), what2), "%s", hd_error());
    cr_assert_eq(hd_error_kind(), HD_EINPUT);
    hd_fasta_close(f);
}

Test(readers, fastq_cut_short_or_with_extra_lines)
{
    /* kseq takes a record without its '+' line as FASTA: a FASTQ cut in the sequence or header line of its last
     * record was read without a word (cut in the header: an empty record skipped) */
    next_error(put("cut1.fq", "@q1\nACGT\n+\nIIII\n@q2\nGGT"), 1, "'q2' (record number 2)", "without its '+' line");
    next_error(put("cut2.fq", "@q1\nACGT\n+\nIIII\n@q2 x\n"), 1, "'q2' (record number 2)", "without its '+' line");
    next_error(put("cut3.fq", "@q1\nACGT\n+\nIIII\n@q2"), 1, "'q2'", "without its '+' line");
    /* a lone header character at the end (FASTQ and FASTA): it skipped to the end */
    next_error(put("cut4.fq", "@q1\nACGT\n+\nIIII\n@"), 1, "ends with a '@'", "after record number 1");
    next_error(put("cut5.fa", ">s1\nACGT\n>"), 1, "ends with a '>'", "after record number 1");
    /* a line between FASTQ records: kseq skipped any text up to the next '@' or '>', even in a quality line */
    next_error(put("extra.fq", "@q1\nACGT\n+\nIIII\nAC\n@q2\nGG\n+\n@I\n"), 1, "'A' after record number 1 ('q1')",
               "was expected");
    /* what is fine: blank lines between records, qualities starting with '@', a record of each kind, an empty
     * FASTQ record (skipped), no newline at the end */
    hd_log_set_sink(sink);
    cr_assert_str_eq(records(put("ok.fq", "@q1\nACGT\n+\n@III\n\n@q2\nGG\n+\n@@\n>s3\nTT\n@e\n\n+\n\n@q4\nA\n+\nI")),
                     "q1||ACGT;q2||GG;s3||TT;q4||A;");
    cr_assert(strstr(logbuf, "record 'e' of "), "%s", logbuf);
}

Test(readers, utf8_byte_order_mark_skipped)
{
    /* some Windows editors start a text file with one; it is not text */
    const char *fa = put("bom.fa", "\xef\xbb\xbf>s1\nACGT\n");
    cr_assert_str_eq(records(fa), "s1||ACGT;");
    /* which samtools faidx cannot index: regions of it say why, not faidx's 'unexpected character' */
    cr_assert_null(hd_faidx_open(fa));
    cr_assert(strstr(hd_error(), "bom.fa") && strstr(hd_error(), "byte-order mark"), "%s", hd_error());
    cr_assert_str_eq(records(put("bom.fq", "\xef\xbb\xbf\n@q\nAC\n+\nII\n")), "q||AC;");
    cr_assert_null(hd_fasta_open(put("bom.txt", "\xef\xbb\xbfhello\n")));
    cr_assert(strstr(hd_error(), "not FASTA"), "%s", hd_error());
}

Test(readers, gzip_and_bgzip)
{
    const char *text = ">r1 d\nACGT\nAC\n>r2\nGG\n";
    char gz[128], bgz[128], plain[8192];
    snprintf(plain, sizeof plain, "%s", records(put("p.fa", text)));
    snprintf(gz, sizeof gz, "%s/g.fa.gz", dir);
    gzFile g = gzopen(gz, "wb");
    gzputs(g, text);
    gzclose(g);
    cr_assert_str_eq(records(gz), plain);
    snprintf(bgz, sizeof bgz, "%s/b.fa.gz", dir);
    BGZF *b = bgzf_open(bgz, "w");
    cr_assert_not_null(b);
    cr_assert_eq(bgzf_write(b, text, strlen(text)), (ssize_t)strlen(text));
    cr_assert_eq(bgzf_close(b), 0);
    cr_assert_str_eq(records(bgz), plain);
}

/* a gzip or bgzip FASTA cut short in the middle (an interrupted download or copy): an error naming the file,
 * after the whole records before the cut, never a record cut short nor a reader that loops for ever */
static void truncated(const char *name, int bgzf_format)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t n = 0, cap = 1 << 20;
    char *text = malloc(cap);
    cr_assert_not_null(text);
    uint32_t x = 12345;
    for (int r = 0; n + 400 < cap; r++) {   /* random bases: the compressed file is a few blocks long */
        n += (size_t)snprintf(text + n, cap - n, ">q%d\n", r);
        for (int i = 0; i < 300; i++) text[n++] = "ACGT"[(x = x * 1103515245u + 12345u) >> 30];
        text[n++] = '\n';
    }
    if (bgzf_format) {
        BGZF *b = bgzf_open(path, "w");
        cr_assert_not_null(b);
        cr_assert_eq(bgzf_write(b, text, n), (ssize_t)n);
        cr_assert_eq(bgzf_close(b), 0);
    } else {
        gzFile g = gzopen(path, "wb");
        cr_assert_eq(gzwrite(g, text, (unsigned)n), (int)n);
        gzclose(g);
    }
    free(text);
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(truncate(path, sb.st_size / 2), 0);
    hd_fasta *f = hd_fasta_open(path);
    cr_assert_not_null(f, "%s", hd_error());
    hd_seqrec r;
    int rc;
    long k = 0;
    while ((rc = hd_fasta_next(f, &r)) > 0) {
        cr_assert_eq(r.len, 300, "%s: record %s has %zu bases", name, r.name, r.len);
        k++;
    }
    cr_assert_eq(rc, -1, "%s: the end of a truncated file read as the end of the input after %ld records", name, k);
    cr_assert_gt(k, 0);
    cr_assert(strstr(hd_error(), path) && strstr(hd_error(), "truncated"), "%s", hd_error());
    cr_assert_eq(hd_fasta_next(f, &r), -1, "the error is kept");
    hd_fasta_close(f);
}

Test(readers, truncated_gzip_is_an_error, .timeout = 30) { truncated("t.fa.gz", 0); }
Test(readers, truncated_bgzip_is_an_error, .timeout = 30) { truncated("t.fa.bgz", 1); }

Test(readers, standard_input)
{
    const char *p = put("in.fa", ">s1\nAC\n>s2\nGT\n");
    int fd = open(p, O_RDONLY);
    cr_assert(fd >= 0);
    dup2(fd, STDIN_FILENO);
    close(fd);
    hd_fasta *f = hd_fasta_open("-");
    cr_assert_not_null(f, "%s", hd_error());
    cr_assert_str_eq(hd_fasta_name(f), "standard input");
    hd_seqrec r;
    cr_assert_eq(hd_fasta_next(f, &r), 1);
    cr_assert_str_eq(r.seq, "AC");
    cr_assert_eq(hd_fasta_next(f, &r), 1);
    cr_assert_eq(hd_fasta_next(f, &r), 0);
    hd_fasta_close(f);
}

Test(readers, bamseq_fasta_follows_the_rules)
{
    hd_log_set_sink(sink);
    hd_seqin *in = hd_seqin_open(put("s.fa", ">a\nAC\n>e\n>a\nGG\n>b\nT\n"), NULL);
    cr_assert_not_null(in, "%s", hd_error());
    cr_assert_not_null(hd_seqin_fasta(in));
    hd_sequnit u;
    cr_assert_eq(hd_seqin_next(in, &u), 1);
    cr_assert_str_eq(u.name, "a");
    cr_assert_str_eq(u.seq, "AC");
    cr_assert_eq(hd_seqin_next(in, &u), 1);
    cr_assert_str_eq(u.name, "b");
    cr_assert_eq(u.end, 1);
    cr_assert_eq(hd_seqin_next(in, &u), 0);
    hd_seqin_close(in);
    cr_assert_eq(nlog, 2, "%s", logbuf);
}

/* ------------------------------------------------------------------ BED */

Test(readers, bed_lines)
{
    const char *p = put("a.bed", "# comment\ntrack name=x\nbrowser position c1\n\nc1\t0\t10\r\n  \nc2\t5\t6\tlab\tmore\t-\tx \nc3\t1\t2\tn\t0\t.\n");
    hd_bed *b = hd_bed_open(p, 0);
    cr_assert_not_null(b, "%s", hd_error());
    hd_bedrec r;
    cr_assert_eq(hd_bed_next(b, &r), 1, "%s", hd_error());
    cr_assert_str_eq(r.chrom, "c1");
    cr_assert_eq(r.beg, 0);
    cr_assert_eq(r.end, 10);
    cr_assert_null(r.name);
    cr_assert_eq(r.strand, '.', "no 6th column: '.'");
    cr_assert_eq(r.line, 5);
    cr_assert_eq(hd_bed_next(b, &r), 1);
    cr_assert_str_eq(r.chrom, "c2");
    cr_assert_eq(r.beg, 5);
    cr_assert_eq(r.end, 6);
    cr_assert_str_eq(r.name, "lab");
    cr_assert_eq(r.strand, '-', "the 6th column is the strand");
    cr_assert_eq(r.line, 7);
    cr_assert_eq(hd_bed_next(b, &r), 1);
    cr_assert_eq(r.strand, '.');
    cr_assert_eq(hd_bed_next(b, &r), 0);
    hd_bed_close(b);
    /* a 1-based region list has no strand column: its 6th field is ignored */
    b = hd_bed_open(put("a.txt", "c1\t1\t10\tx\t0\tq\n"), 1);
    cr_assert_eq(hd_bed_next(b, &r), 1, "%s", hd_error());
    cr_assert_eq(r.strand, '.');
    hd_bed_close(b);
}

static void bed_fails(const char *text, int one_based, const char *needle)
{
    hd_bed *b = hd_bed_open(put("bad.bed", text), one_based);
    cr_assert_not_null(b);
    hd_bedrec r;
    int rc;
    while ((rc = hd_bed_next(b, &r)) > 0) {}
    cr_assert_eq(rc, -1, "'%s' should fail", text);
    cr_assert(strstr(hd_error(), "bad.bed line 2") && strstr(hd_error(), needle), "%s", hd_error());
    cr_assert_eq(hd_error_kind(), HD_EINPUT);
    hd_bed_close(b);
}

Test(readers, bed_errors_name_file_and_line)
{
    bed_fails("c1\t0\t5\nc1\t5\t5\n", 0, "empty or reversed");
    bed_fails("c1\t0\t5\nc1\t9\t5\n", 0, "empty or reversed");
    bed_fails("c1\t0\t5\nc1\t-1\t5\n", 0, "non-negative integer");
    bed_fails("c1\t0\t5\nc1\t1x\t5\n", 0, "non-negative integer");
    bed_fails("c1\t0\t5\nc1\t1\t5\tn\t0\tplus\n", 0, "strand 'plus' (the 6th column) is not +, - or .");
    bed_fails("c1\t0\t5\nc1\t1\t5\tn\t0\t\n", 0, "strand '' (the 6th column)");
    bed_fails("c1\t0\t5\nc1 1 5\n", 0, "tab-separated");
    bed_fails("c1\t1\t5\nc1\t0\t5\n", 1, "1-based");
}

Test(readers, one_based_lists)
{
    hd_bed *b = hd_bed_open(put("r.txt", "c1\t1\t10\nc1\t5\t5\n"), 1);
    hd_bedrec r;
    cr_assert_eq(hd_bed_next(b, &r), 1);
    cr_assert_eq(r.beg, 0);
    cr_assert_eq(r.end, 10);
    cr_assert_eq(hd_bed_next(b, &r), 1);
    cr_assert_eq(r.beg, 4, "one base: [4, 5)");
    cr_assert_eq(r.end, 5);
    hd_bed_close(b);
    cr_assert(hd_bed_named("x.bed") && hd_bed_named("X.BED.GZ") && !hd_bed_named("x.txt"));
    /* formats defined as BED with more columns are BED, 0-based: a peak file was read 1-based, each interval
     * silently one base longer at its start */
    cr_assert(hd_bed_named("peaks.narrowPeak") && hd_bed_named("p.broadPeak.gz") && hd_bed_named("p.gappedPeak") &&
              hd_bed_named("cov.bedGraph.bgz") && hd_bed_named("cov.bdg") && hd_bed_named("x.bed.bgz") &&
              !hd_bed_named("x.bedpe") && !hd_bed_named("narrowPeak.txt"));
    /* a 1-based list with a start of 0 is most likely BED under another name: the error says so */
    b = hd_bed_open(put("peaks.tsv", "c1\t0\t10\n"), 1);
    cr_assert_eq(hd_bed_next(b, &r), -1);
    cr_assert(strstr(hd_error(), "peaks.tsv line 1") && strstr(hd_error(), "name a BED file .bed"), "%s", hd_error());
    hd_bed_close(b);
    b = hd_bed_open(put("r2.txt", "c1\t5\t4\n"), 1);
    cr_assert_eq(hd_bed_next(b, &r), -1);
    cr_assert(strstr(hd_error(), "reversed") && !strstr(hd_error(), "name a BED"), "%s", hd_error());
    hd_bed_close(b);
}

Test(readers, bed_gzip_and_stdin)
{
    char gz[128];
    snprintf(gz, sizeof gz, "%s/z.bed.gz", dir);
    gzFile g = gzopen(gz, "wb");
    gzputs(g, "c1\t2\t4\tn\n");
    gzclose(g);
    hd_bed *b = hd_bed_open(gz, 0);
    hd_bedrec r;
    cr_assert_eq(hd_bed_next(b, &r), 1, "%s", hd_error());
    cr_assert_eq(r.end, 4);
    hd_bed_close(b);
    int fd = open(put("s.bed", "c9\t1\t3\n"), O_RDONLY);
    dup2(fd, STDIN_FILENO);
    close(fd);
    b = hd_bed_open("-", 0);
    cr_assert_not_null(b);
    cr_assert_str_eq(hd_bed_name(b), "standard input");
    cr_assert_eq(hd_bed_next(b, &r), 1);
    cr_assert_str_eq(r.chrom, "c9");
    hd_bed_close(b);
}

/* ------------------------------------------------------------------ regions over an indexed reference */

Test(readers, regions_checked_against_the_reference)
{
    const char *ref = put("ref.fa", ">c1\nACGTACGTAC\n>c:2\nGGGGG\n");
    faidx_t *fai = hd_faidx_open(ref);
    cr_assert_not_null(fai, "%s", hd_error());
    hd_contigs *d = hd_contigs_from_fai(fai, ref);
    hd_region g;
    cr_assert_eq(hd_region_parse("c1:2-4", d, &g), 0, "%s", hd_error());
    cr_assert_str_eq(g.chrom, "c1");
    cr_assert_eq(g.beg, 1);
    cr_assert_eq(g.end, 4);
    free(g.chrom);
    cr_assert_eq(hd_region_parse("c1", d, &g), 0);
    cr_assert_eq(g.end, 10, "a whole sequence");
    free(g.chrom);
    cr_assert_eq(hd_region_parse("{c:2}:1-2", d, &g), 0, "%s", hd_error());
    cr_assert_str_eq(g.chrom, "c:2");
    free(g.chrom);
    cr_assert_eq(hd_region_parse("c1:1,000-2,000", d, &g), -1, "past the end is an error, not clipped");
    cr_assert(strstr(hd_error(), "10 bases"), "%s", hd_error());
    cr_assert_eq(hd_region_parse("c1:11", d, &g), -1, "a start past the end");
    cr_assert(strstr(hd_error(), "starts after the end of c1, which has 10 bases"), "%s", hd_error());
    cr_assert_eq(hd_region_parse("c1:10", d, &g), 0, "the last base: %s", hd_error());
    cr_assert_eq(g.beg, 9);
    cr_assert_eq(g.end, 10);
    free(g.chrom);
    cr_assert_eq(hd_region_parse("chrQ:1-2", d, &g), -1);
    cr_assert(strstr(hd_error(), "chrQ"), "%s", hd_error());
    cr_assert_eq(hd_region_parse("c1:1-2,c1:3-4", d, &g), -1, "one region, not a list");
    cr_assert_eq(hd_region_parse("c1:5-3", d, &g), -1);
    cr_assert(strstr(hd_error(), "'c1:5-3' is reversed"), "said 'cannot be parsed': %s", hd_error());
    cr_assert_eq(hd_region_parse("c:2:2-1", d, &g), -1);
    cr_assert(strstr(hd_error(), "'c:2:2-1' is reversed"), "%s", hd_error());
    hd_contigs_free(d);
    fai_destroy(fai);

    /* "c1:2-4" and "c1" both sequences: htslib refuses the name as ambiguous; it said there was no 'c1' */
    ref = put("amb.fa", ">c1\nACGTACGTAC\n>c1:2-4\nGGGGG\n");
    fai = hd_faidx_open(ref);
    cr_assert_not_null(fai, "%s", hd_error());
    d = hd_contigs_from_fai(fai, ref);
    cr_assert_eq(hd_region_parse("c1:2-4", d, &g), -1);
    cr_assert(strstr(hd_error(), "'c1:2-4' is ambiguous") && strstr(hd_error(), "{c1:2-4}") &&
              strstr(hd_error(), "{c1}:2-4") && strstr(hd_error(), "amb.fa"), "%s", hd_error());
    hd_regions rl = {0};
    cr_assert_eq(hd_regions_parse(&rl, "c1:1-2,c1:2-4,c1", d), -1);
    cr_assert(strstr(hd_error(), "'c1:2-4' is ambiguous: 'c1:2-4' and 'c1' are both"), "%s", hd_error());
    hd_regions_free(&rl);
    cr_assert_eq(hd_region_parse("{c1:2-4}", d, &g), 0, "%s", hd_error());
    cr_assert_str_eq(g.chrom, "c1:2-4");
    cr_assert_eq(g.end, 5);
    free(g.chrom);
    cr_assert_eq(hd_region_parse("{c1}:2-4", d, &g), 0, "%s", hd_error());
    cr_assert_str_eq(g.chrom, "c1");
    cr_assert_eq(g.beg, 1);
    free(g.chrom);
    hd_contigs_free(d);
    fai_destroy(fai);
    fai = hd_faidx_open(ref = put("ref.fa", ">c1\nACGTACGTAC\n>c:2\nGGGGG\n"));
    d = hd_contigs_from_fai(fai, ref);

    hd_regions rs = {0};
    cr_assert_eq(hd_regions_parse(&rs, "c1:1-2,c1:3-4", d), 0, "%s", hd_error());
    cr_assert_eq(rs.n, 2);
    hd_regions_free(&rs);
    cr_assert_eq(hd_regions_parse(&rs, "", d), -1, "an empty list (-r \"$UNSET\") is an error, not no regions");
    cr_assert(strstr(hd_error(), "empty region"), "%s", hd_error());
    cr_assert_eq(rs.n, 0);
    cr_assert_eq(hd_regions_parse(&rs, "c1:1,000-2,000", d), -1, "thousands separators in a list");
    cr_assert(strstr(hd_error(), "commas separate regions"), "%s", hd_error());
    hd_regions_free(&rs);
    const char *bed = put("r.bed", "c1\t0\t10\nc1\t8\t11\n");
    cr_assert_eq(hd_regions_read(&rs, bed, d), -1);
    cr_assert(strstr(hd_error(), "r.bed line 2") && strstr(hd_error(), "10 bases"), "%s", hd_error());
    hd_regions_free(&rs);
    cr_assert_eq(hd_contigs_check(d, "c1", 0, 10, "x"), 0);
    cr_assert_eq(hd_contigs_check(d, "c9", 0, 1, "x"), -1);

    char *s = hd_faidx_fetch(fai, ref, "c1", 2, 5);
    cr_assert_str_eq(s, "GTA");
    free(s);
    hd_contigs_free(d);
    fai_destroy(fai);

    cr_assert_null(hd_faidx_open("-"));
    cr_assert(strstr(hd_error(), "standard input"), "%s", hd_error());
}

Test(readers, windows)
{
    /* starts 0, s, 2s while the window fits, then one flush with the end */
    int64_t b, e;
    cr_assert_eq(hd_window_count(10, 4, 4), 3);   /* [0,4) [4,8) [6,10) */
    hd_window_get(10, 4, 4, 2, &b, &e);
    cr_assert(b == 6 && e == 10);
    cr_assert_eq(hd_window_count(8, 4, 4), 2, "no extra window when the last one ends at the end");
    cr_assert_eq(hd_window_count(4, 4, 1), 1);
    cr_assert_eq(hd_window_count(1, 4, 1), 1);
    hd_window_get(1, 4, 1, 0, &b, &e);
    cr_assert(b == 0 && e == 1);
}
