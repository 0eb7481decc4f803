/* test_shard.c -- src/shard.c: parsing of I/N and the contiguous blocks (cover 0..T-1 in order, no
 * overlap, sizes differing by at most one), for many totals and shard counts. */
#include "testutil.h"
#include "shard.h"

Test(shard, parse_ok)
{
    hd_shard s;
    cr_assert_eq(hd_shard_parse("1/4", &s), 0);
    cr_assert_eq(s.i, 1);
    cr_assert_eq(s.n, 4);
    cr_assert_eq(hd_shard_parse("7/7", &s), 0);
    cr_assert_eq(s.i, 7);
    cr_assert_eq(s.n, 7);
    cr_assert_eq(hd_shard_parse("1/1", &s), 0);
}

Test(shard, parse_bad)
{
    static const char *bad[] = {"", "1", "/4", "1/", "0/4", "5/4", "-1/4", "1/0", "1/-2", "a/4", "1/4x", " 1/4",
                                "1/4 ", "1//4", "1.0/4", "1/2000000", "99999999999999999999/4"};
    hd_shard s = {9, 9};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        cr_assert_eq(hd_shard_parse(bad[k], &s), -1, "'%s' accepted", bad[k]);
        cr_assert(strstr(hd_error(), "shard"), "message for '%s': %s", bad[k], hd_error());
    }
    cr_assert_eq(s.i, 9, "a failed parse changed the output");
}

Test(shard, blocks_partition)
{
    for (uint64_t T = 0; T < 60; T++)
        for (long N = 1; N <= 13; N++) {
            uint64_t next = 0, mn = UINT64_MAX, mx = 0;
            for (long I = 1; I <= N; I++) {
                hd_shard s = {I, N};
                uint64_t lo, hi;
                hd_shard_range(&s, T, &lo, &hi);
                cr_assert_eq(lo, next, "T=%lu shard %ld/%ld starts at %lu, expected %lu", (unsigned long)T, I, N,
                             (unsigned long)lo, (unsigned long)next);
                cr_assert_geq(hi, lo);
                if (hi - lo < mn) mn = hi - lo;
                if (hi - lo > mx) mx = hi - lo;
                next = hi;
            }
            cr_assert_eq(next, T, "T=%lu N=%ld: blocks end at %lu", (unsigned long)T, N, (unsigned long)next);
            cr_assert_leq(mx - mn, 1, "T=%lu N=%ld: unbalanced blocks %lu..%lu", (unsigned long)T, N,
                          (unsigned long)mn, (unsigned long)mx);
        }
}

Test(shard, unsharded_and_large)
{
    uint64_t lo, hi;
    hd_shard none = {0, 0};
    hd_shard_range(&none, 12345, &lo, &hi);
    cr_assert(lo == 0 && hi == 12345);
    hd_shard_range(NULL, 7, &lo, &hi);
    cr_assert(lo == 0 && hi == 7);
    /* no overflow near the top of the range */
    uint64_t T = UINT64_MAX - 3;
    hd_shard last = {1000000, 1000000};
    hd_shard_range(&last, T, &lo, &hi);
    cr_assert_eq(hi, T);
    cr_assert_eq(hi - lo, T / 1000000);
}
