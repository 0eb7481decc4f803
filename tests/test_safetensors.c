/* test_safetensors.c -- parsing valid and corrupted safetensors files, and the writer. */
#include "testutil.h"

#include <unistd.h>

/* 8-byte length + header + data, in a malloc'd buffer */
static uint8_t *make(const char *hdr, const void *data, size_t dlen, size_t *size)
{
    size_t n = strlen(hdr);
    *size = 8 + n + dlen;
    uint8_t *b = malloc(*size);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)n >> (8 * i));
    memcpy(b + 8, hdr, n);
    if (dlen) memcpy(b + 8 + n, data, dlen);
    return b;
}

static hd_st *parse(const char *hdr, const void *data, size_t dlen, uint8_t **keep)
{
    size_t size;
    *keep = make(hdr, data, dlen, &size);
    hd_clear_error();
    return hd_st_from_buffer(*keep, size, "t.safetensors");
}

static void expect_error(const char *hdr, const void *data, size_t dlen, const char *needle)
{
    uint8_t *b;
    hd_st *st = parse(hdr, data, dlen, &b);
    cr_assert_null(st, "accepted a bad file: %s", hdr);
    cr_assert(strstr(hd_error(), needle), "error '%s' lacks '%s'", hd_error(), needle);
    cr_assert(strstr(hd_error(), "t.safetensors"), "error does not name the file: %s", hd_error());
    free(b);
}

static const float F4[4] = {1, 2, 3, 4};

Test(safetensors, valid_file)
{
    uint8_t *b;
    hd_st *st = parse("{\"__metadata__\":{\"format\":\"pt\"},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
                      "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                      F4, 16, &b);
    cr_assert_not_null(st, "%s", hd_error());
    cr_assert_eq(hd_st_count(st), 2);
    const hd_tensor_info *a = hd_st_find(st, "a"), *bb = hd_st_find(st, "b");
    cr_assert_not_null(a);
    cr_assert_eq(a->numel, 2);
    float v[2];
    hd_tensor_to_f32(bb, v);
    cr_assert_float_eq(v[0], 3.0f, 0);
    cr_assert_float_eq(v[1], 4.0f, 0);
    cr_assert_str_eq(hd_st_meta(st, "format"), "pt");
    cr_assert_null(hd_st_find(st, "c"));
    hd_st_close(st);
    free(b);
}

Test(safetensors, scalars_and_empty_tensors)
{
    uint8_t *b;
    hd_st *st = parse("{\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
                      "\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[4,4]}}",
                      F4, 4, &b);
    cr_assert_not_null(st, "%s", hd_error());
    cr_assert_eq(hd_st_find(st, "s")->numel, 1);
    cr_assert_eq(hd_st_find(st, "e")->numel, 0);
    hd_st_close(st);
    free(b);
}

Test(safetensors, half_precision_conversion)
{
    uint16_t h[4] = {0x3c00, 0xc000, 0x0001, 0x7bff};     /* F16: 1, −2, smallest subnormal, 65504 */
    uint16_t bf[2] = {0x3f80, 0xc040};                     /* BF16: 1, −3 */
    uint8_t data[12];
    memcpy(data, h, 8);
    memcpy(data + 8, bf, 4);
    uint8_t *b;
    hd_st *st = parse("{\"h\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]},"
                      "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[8,12]}}",
                      data, 12, &b);
    cr_assert_not_null(st, "%s", hd_error());
    float v[4];
    hd_tensor_to_f32(hd_st_find(st, "h"), v);
    cr_assert_float_eq(v[0], 1.0f, 0);
    cr_assert_float_eq(v[1], -2.0f, 0);
    cr_assert_float_eq(v[2], 5.9604645e-8f, 1e-12);
    cr_assert_float_eq(v[3], 65504.0f, 0);
    hd_tensor_to_f32(hd_st_find(st, "b"), v);
    cr_assert_float_eq(v[0], 1.0f, 0);
    cr_assert_float_eq(v[1], -3.0f, 0);
    hd_st_close(st);
    free(b);
}

Test(safetensors, integer_buffers)
{
    int64_t iv[3] = {7, -1, 1LL << 40};
    uint8_t *b;
    hd_st *st = parse("{\"m\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[0,24]}}", iv, 24, &b);
    cr_assert_not_null(st, "%s", hd_error());
    int64_t out[3];
    cr_assert_eq(hd_tensor_to_i64(hd_st_find(st, "m"), out), 0);
    cr_assert_eq(out[2], 1LL << 40);
    hd_st_close(st);
    free(b);
}

Test(safetensors, truncated_file)
{
    uint8_t b[5] = {1, 0, 0, 0, 0};
    hd_clear_error();
    cr_assert_null(hd_st_from_buffer(b, 5, "t.safetensors"));
    cr_assert(strstr(hd_error(), "truncated"), "%s", hd_error());
    /* data cut short */
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", F4, 8, "outside");
}

Test(safetensors, header_length_past_end)
{
    size_t size;
    uint8_t *b = make("{}", NULL, 0, &size);
    b[0] = 200;
    hd_clear_error();
    cr_assert_null(hd_st_from_buffer(b, size, "t.safetensors"));
    cr_assert(strstr(hd_error(), "past the end"), "%s", hd_error());
    b[0] = 0; b[5] = 1;   /* ~1 TB header */
    cr_assert_null(hd_st_from_buffer(b, size, "t.safetensors"));
    cr_assert(strstr(hd_error(), "100,000,000"), "%s", hd_error());
    free(b);
}

Test(safetensors, bad_json)
{
    expect_error("{\"a\":{\"dtype\":\"F32\",", NULL, 0, "invalid JSON");
    expect_error("[1,2,3]", NULL, 0, "not a JSON object");
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                 "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", F4, 8, "invalid JSON");
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", F4, 4, "shape");
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", F4, 4, "data_offsets");
    expect_error("{\"__metadata__\":{\"config\":{}}}", NULL, 0, "not a string");
}

Test(safetensors, unknown_dtype)
{
    expect_error("{\"a\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]}}", F4, 16, "unsupported dtype 'F64'");
    expect_error("{\"a\":{\"dtype\":\"Q4_K\",\"shape\":[2],\"data_offsets\":[0,16]}}", F4, 16, "'a'");
}

Test(safetensors, span_shape_mismatch)
{
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", F4, 16, "do not match");
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,16]}}", F4, 16, "overflow");
}

Test(safetensors, overlapping_and_gaps)
{
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                 "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", F4, 12, "overlap");
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                 "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}", F4, 16, "gap");
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", F4, 16, "cover");
}

Test(safetensors, missing_file)
{
    hd_clear_error();
    cr_assert_null(hd_st_open("/nonexistent/model.safetensors"));
    cr_assert(strstr(hd_error(), "/nonexistent/model.safetensors"), "%s", hd_error());
    cr_assert_eq(hd_error_kind(), HD_EMODEL);
}

/* A header past the readers' 100,000,000-byte limit (this reader's and the safetensors library's) is refused
 * when the tensor or metadata entry that would pass it is added, not written as a file nothing can read: the
 * file closed before that point reads back.  Names of 4 MB reach the limit in about 25 tensors. */
Test(safetensors, writer_header_limit)
{
    char *d = tmp_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/big.safetensors", d);
    hd_stw *w = hd_stw_open(path);
    cr_assert_not_null(w, "%s", hd_error());
    size_t len = (size_t)4 << 20;
    char *name = malloc(len + 1);
    memset(name, 'a', len);
    name[len] = 0;
    int64_t s1[1] = {1};
    float one = 1.0f;
    int added = 0;
    for (int i = 0; i < 40; i++) {
        name[0] = (char)('A' + i);   /* each name its own */
        if (hd_stw_add(w, name, HD_F32, 1, s1, &one)) break;
        added++;
    }
    cr_assert(added >= 20 && added < 40, "%d tensors of 4 MB names added", added);
    cr_assert(strstr(hd_error(), "100,000,000-byte limit") && strstr(hd_error(), "big.safetensors"), "%s", hd_error());
    /* metadata counts too, with the tensors */
    cr_assert_eq(hd_stw_meta(w, name, "v"), -1, "a 4 MB metadata key past the limit accepted");
    cr_assert_eq(hd_stw_meta(w, "k", "v"), 0, "%s", hd_error());
    cr_assert_eq(hd_stw_close(w), 0, "%s", hd_error());
    hd_st *st = hd_st_open(path);
    cr_assert_not_null(st, "the file written up to the limit does not read back: %s", hd_error());
    cr_assert_eq(hd_st_count(st), (size_t)added);
    hd_st_close(st);
    free(name);
    rm_rf(d);
    free(d);
}

Test(safetensors, writer_round_trip)
{
    char *d = tmp_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/out.safetensors", d);
    hd_stw *w = hd_stw_open(path);
    cr_assert_not_null(w, "%s", hd_error());
    int64_t s2[2] = {2, 2}, s1[1] = {3};
    int32_t iv[3] = {5, 6, 7};
    cr_assert_eq(hd_stw_add(w, "x", HD_F32, 2, s2, F4), 0);
    cr_assert_eq(hd_stw_add(w, "ids", HD_I32, 1, s1, iv), 0);
    cr_assert_neq(hd_stw_add(w, "x", HD_F32, 2, s2, F4), 0, "duplicate names must be refused");
    /* names and metadata that JSON cannot hold are refused, with nothing added: the file stays consistent */
    cr_assert_eq(hd_stw_add(w, "caf\xe9", HD_F32, 2, s2, F4), -1, "a Latin-1 name accepted");
    cr_assert(strstr(hd_error(), "is not UTF-8"), "%s", hd_error());
    int64_t huge[2] = {(int64_t)1 << 40, (int64_t)1 << 40};
    cr_assert_eq(hd_stw_add(w, "huge", HD_F32, 2, huge, F4), -1, "an overflowing shape accepted");
    cr_assert_eq(hd_stw_meta(w, "k2", "\xff"), -1, "a metadata value that is not UTF-8 accepted");
    cr_assert(strstr(hd_error(), "'k2' is not UTF-8") && strstr(hd_error(), "value"), "%s", hd_error());
    cr_assert_eq(hd_stw_meta(w, "k", "v"), 0, "%s", hd_error());
    /* nothing under the final name before close */
    cr_assert_neq(access(path, F_OK), 0);
    cr_assert_eq(hd_stw_close(w), 0, "%s", hd_error());
    hd_st *st = hd_st_open(path);
    cr_assert_not_null(st, "%s", hd_error());
    float v[4];
    hd_tensor_to_f32(hd_st_find(st, "x"), v);
    for (int i = 0; i < 4; i++) cr_assert_float_eq(v[i], F4[i], 0);
    int64_t o[3];
    hd_tensor_to_i64(hd_st_find(st, "ids"), o);
    cr_assert_eq(o[2], 7);
    cr_assert_str_eq(hd_st_meta(st, "k"), "v");
    cr_assert_eq(hd_st_count(st), 2, "a refused tensor was written");
    hd_st_close(st);
    /* an aborted writer leaves nothing behind */
    snprintf(path, sizeof path, "%s/aborted.safetensors", d);
    w = hd_stw_open(path);
    hd_stw_add(w, "x", HD_F32, 2, s2, F4);
    hd_stw_abort(w);
    cr_assert_neq(access(path, F_OK), 0);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s' | grep -v out.safetensors)\"", d);
    cr_assert_eq(system(cmd), 0, "temporary files left in %s", d);
    rm_rf(d);
    free(d);
}
