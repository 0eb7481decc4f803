/* test_tokenizer.c -- the character tokenizer. */
#include "testutil.h"
#include "tokenizer.h"

Test(tokenizer, bases_and_case)
{
    int32_t ids[16];
    long n = hd_tokenize("ACGTNacgtn", 10, HD_SPECIAL_NONE, ids, "r1");
    cr_assert_eq(n, 10);
    int32_t want[] = {7, 8, 9, 10, 11, 7, 8, 9, 10, 11};
    for (int i = 0; i < 10; i++) cr_assert_eq(ids[i], want[i], "position %d", i);
}

Test(tokenizer, iupac_codes_become_n)
{
    const char *codes = "RYSWKMBDHVrysw";
    int32_t ids[32];
    long n = hd_tokenize(codes, strlen(codes), HD_SPECIAL_NONE, ids, "r");
    cr_assert_eq(n, (long)strlen(codes));
    for (long i = 0; i < n; i++) cr_assert_eq(ids[i], HD_TOK_N, "code %c", codes[i]);
}

Test(tokenizer, bad_character_names_record_and_position)
{
    int32_t ids[16];
    hd_clear_error();
    long n = hd_tokenize("ACGTXAC", 7, HD_SPECIAL_NONE, ids, "chr7");
    cr_assert_eq(n, -1);
    cr_assert(strstr(hd_error(), "'X'"), "%s", hd_error());
    cr_assert(strstr(hd_error(), "chr7"), "%s", hd_error());
    cr_assert(strstr(hd_error(), "position 5"), "%s", hd_error());
    cr_assert_eq(hd_error_kind(), HD_EINPUT);
    cr_assert_eq(hd_tokenize("AC-G", 4, HD_SPECIAL_NONE, ids, "r"), -1);
    cr_assert_eq(hd_tokenize("AC G", 4, HD_SPECIAL_NONE, ids, "r"), -1);
    cr_assert_eq(hd_tokenize("ACU", 3, HD_SPECIAL_NONE, ids, "r"), -1);
    cr_assert_eq(hd_tokenize("A\x01", 2, HD_SPECIAL_NONE, ids, "r"), -1);
    cr_assert(strstr(hd_error(), "0x01"), "%s", hd_error());
}

Test(tokenizer, special_tokens)
{
    int32_t ids[16];
    cr_assert_eq(hd_tokenize("AGC", 3, HD_SPECIAL_CLS_SEP, ids, "r"), 5);
    int32_t a[] = {0, 7, 9, 8, 1};
    for (int i = 0; i < 5; i++) cr_assert_eq(ids[i], a[i]);
    cr_assert_eq(hd_tokenize("AGC", 3, HD_SPECIAL_SEP, ids, "r"), 4);
    int32_t b[] = {7, 9, 8, 1};
    for (int i = 0; i < 4; i++) cr_assert_eq(ids[i], b[i]);
    hd_special sp;
    cr_assert_eq(hd_special_parse("cls-sep", &sp), 0);
    cr_assert_eq(sp, HD_SPECIAL_CLS_SEP);
    cr_assert_eq(hd_special_parse("eos", &sp), -1);
}

Test(tokenizer, empty_sequence)
{
    int32_t ids[4];
    cr_assert_eq(hd_tokenize("", 0, HD_SPECIAL_NONE, ids, "r"), 0);
    cr_assert_eq(hd_tokenize("", 0, HD_SPECIAL_CLS_SEP, ids, "r"), 2);
}

Test(tokenizer, reverse_complement)
{
    int32_t ids[] = {7, 8, 9, 10, 11, 3};   /* A C G T N [MASK] */
    hd_ids_revcomp(ids, 6);
    int32_t want[] = {3, 11, 7, 8, 9, 10};
    for (int i = 0; i < 6; i++) cr_assert_eq(ids[i], want[i], "position %d", i);
    int32_t odd[] = {7, 8, 9};
    hd_ids_revcomp(odd, 3);
    cr_assert_eq(odd[0], 8); cr_assert_eq(odd[1], 9); cr_assert_eq(odd[2], 10);
}

Test(tokenizer, bases_reverse_complement)
{
    /* each base through hd_base_complement, in reverse order; the middle base of an odd length once */
    const char *in[] = {"ACGTRYKMBVDHNacgtn", "ACG", "", "a"};
    for (int t = 0; t < 4; t++) {
        size_t n = strlen(in[t]);
        char s[32];
        memcpy(s, in[t], n + 1);
        hd_bases_revcomp(s, n);
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(s[i], hd_base_complement(in[t][n - 1 - i]), "'%s' position %zu", in[t], i);
        cr_assert_eq(s[n], 0);
    }
    char x[] = "ACGTRYKMBVDHNacgtn";
    hd_bases_revcomp(x, strlen(x));
    cr_assert_str_eq(x, "nacgtNDHBVKMRYACGT");
}

/* the vectorisable exp of backends/cpu/vecmath.h against libm over the float range that matters */
#include "backends/cpu/vecmath.h"
Test(vecmath, expf_accuracy)
{
    double worst = 0;
    for (float x = -87.0f; x < 88.0f; x += 0.0137f) {
        double e = exp((double)x), got = hd_expf(x);
        double rel = fabs(got - e) / e;
        if (rel > worst) worst = rel;
    }
    cr_assert(worst < 4e-7, "hd_expf relative error %.3g", worst);
    cr_assert_eq(hd_expf(-200.0f), 0.0f);
    cr_assert(isinf(hd_expf(200.0f)));
    cr_assert_float_eq(hd_expf(0.0f), 1.0f, 0);
    cr_assert_float_eq(hd_siluf(0.0f), 0.0f, 0);
}
