/* test_base64.c — base64: RFC 4648 vectors, every byte value, and Go StdEncoding's decoding rules. */
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "unit.h"

static const char *const vectors[][2] = {
    { "", "" },         { "f", "Zg==" },         { "fo", "Zm8=" },         { "foo", "Zm9v" },
    { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
};

START_TEST(test_vectors)
{
    const char    *plain = vectors[_i][0], *text = vectors[_i][1];
    size_t         n;
    char          *enc = ks_base64_encode(plain, strlen(plain), &n);
    unsigned char *dec;

    ck_assert_str_eq(enc, text);
    ck_assert_uint_eq(n, strlen(text));
    free(enc);
    ck_assert_int_eq(ks_base64_decode(text, strlen(text), &dec, &n), 0);
    ck_assert_uint_eq(n, strlen(plain));
    ck_assert_str_eq((char *)dec, plain);
    free(dec);
}
END_TEST

START_TEST(test_all_bytes)
{
    unsigned char  bytes[256], *dec;
    size_t         n, len;
    char          *enc;

    for (int i = 0; i < 256; i++)
        bytes[i] = (unsigned char)(255 - i);
    for (len = 0; len <= 256; len += 17) {
        enc = ks_base64_encode(bytes, len, NULL);
        ck_assert_uint_eq(strlen(enc), (len + 2) / 3 * 4);
        ck_assert_int_eq(ks_base64_decode(enc, strlen(enc), &dec, &n), 0);
        ck_assert_uint_eq(n, len);
        ck_assert_mem_eq(dec, bytes, len);
        ck_assert_int_eq(dec[n], 0);
        free(enc);
        free(dec);
    }
}
END_TEST

/* As Go's StdEncoding: line breaks are skipped, unused trailing bits may be set. */
START_TEST(test_lenient)
{
    unsigned char *dec;
    size_t         n;

    ck_assert_int_eq(ks_base64_decode("Zm9v\r\nYmFy\n", 11, &dec, &n), 0);
    ck_assert_str_eq((char *)dec, "foobar");
    free(dec);
    ck_assert_int_eq(ks_base64_decode("Zh==", 4, &dec, &n), 0);
    ck_assert_str_eq((char *)dec, "f");
    free(dec);
    ck_assert_int_eq(ks_base64_decode("Zg\n=\n=\n", 7, &dec, &n), 0);
    ck_assert_str_eq((char *)dec, "f");
    free(dec);
    ck_assert_int_eq(ks_base64_decode("\n", 1, &dec, &n), 0);
    ck_assert_uint_eq(n, 0);
    free(dec);
}
END_TEST

static const char *const invalid[] = {
    "Zg", "Zg=", "Zm9", "Z===", "====", "=Zm9", "Zg==Zg==", "Zm9v====", "Zg=a", "Zm9v!", "Zm 9v",
    "Zm9v-_8=", "Zm9vY", "Zm9v\0Ym", "Zg==\nx",
};

START_TEST(test_invalid)
{
    unsigned char *dec = (unsigned char *)"sentinel";
    size_t         n = 99;
    size_t         len = strlen(invalid[_i]);

    if (_i == 13)
        len = 8; /* the one with a NUL inside */
    ck_assert_int_eq(ks_base64_decode(invalid[_i], len, &dec, &n), -1);
    ck_assert_ptr_null(dec);
    ck_assert_uint_eq(n, 0);
}
END_TEST

Suite *
suite_base64(void)
{
    Suite *s = suite_create("base64");
    TCase *tc = tcase_create("base64");

    tcase_add_loop_test(tc, test_vectors, 0, sizeof(vectors) / sizeof(vectors[0]));
    tcase_add_test(tc, test_all_bytes);
    tcase_add_test(tc, test_lenient);
    tcase_add_loop_test(tc, test_invalid, 0, sizeof(invalid) / sizeof(invalid[0]));
    suite_add_tcase(s, tc);
    return s;
}
