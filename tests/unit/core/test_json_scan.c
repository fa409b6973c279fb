/* test_json_scan.c — the strict JSON scanner: members of an object, and agreement with jansson on
 * what is valid, case by case (strings, escapes, surrogates, UTF-8, numbers, nesting). */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "core/json_scan.h"
#include "unit.h"

static const char *const texts[] = {
    "{}", " { \"a\" : 1 } ", "[]", "[1,2,[3,{\"x\":null}]]", "\"s\"", "true", "-0.5e+3", "1E400", "-1e-400",
    "{\"a\":}", "{\"a\" 1}", "{,}", "[1,]", "[1 2]", "{\"a\":1,}", "01", "1.", ".5", "-", "+1", "1e",
    "\"\\u00e9\"", "\"\\ud83d\\ude00\"", "\"\\ud83d\"", "\"\\ude00\"", "\"\\u12g4\"", "\"\\x\"", "\"a\tb\"",
    "\"\xc3\xa9\"", "\"\xc3\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xc0\xaf\"",
    "{\"k\\u0000\":1}", "\"\\u0000\"", "nul", "truex", "[true,false,null]", "{\"a\":{\"b\":[{}]}}",
    "", " ", "{\"a\":1}{", "123456789012345678901234567890",
};

START_TEST(test_agrees_with_jansson)
{
    const char       *t = texts[_i];
    ks_json_member_t  m[4];
    size_t            n;
    int               rc = ks_json_scan_object(t, strlen(t), m, 4, &n);
    json_t           *j = json_loadb(t, strlen(t), JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, NULL);

    ck_assert_msg((rc >= 0) == (j != NULL), "'%s': scanner %d, jansson %s", t, rc, j ? "valid" : "invalid");
    ck_assert_msg(rc != 0 || json_is_object(j), "'%s': 0 only for objects", t);
    json_decref(j);
}
END_TEST

START_TEST(test_members)
{
    const char       *t = " {\"id\" : \"x\", \"data\":{\"a\":[1, 2]}, \"k\\u0041\":-1.5e2,\"n\":null} ";
    ks_json_member_t  m[8];
    size_t            n;

    ck_assert_int_eq(ks_json_scan_object(t, strlen(t), m, 8, &n), 0);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(m[0].key_len, 4);
    ck_assert(m[0].key_plain);
    ck_assert_int_eq(strncmp(m[0].value, "\"x\"", m[0].value_len), 0);
    ck_assert_int_eq(m[0].kind, '"');
    ck_assert_int_eq(m[1].kind, '{');
    ck_assert_uint_eq(m[1].value_len, strlen("{\"a\":[1, 2]}"));
    ck_assert(!m[2].key_plain);
    ck_assert_int_eq(m[2].kind, '0');
    ck_assert_uint_eq(m[2].value_len, 6);
    ck_assert_int_eq(m[3].kind, 'n');
    /* more members than room: valid, but reported as 1 */
    ck_assert_int_eq(ks_json_scan_object(t, strlen(t), m, 2, &n), 1);
}
END_TEST

/* Strings are read eight plain ASCII bytes at a time: a byte that needs a look of its own (quote,
 * backslash, control character, UTF-8 lead or continuation, DEL and the bytes around each boundary)
 * must be seen at every offset of the word, in valid and invalid sequences alike. */
START_TEST(test_special_byte_at_every_offset)
{
    static const char *const specials[] = {
        "\"", "\\", "\\n", "\\u00e9", "\\q", "\x01", "\x1f", " ", "\x7f", "\xc3\xa9", "\xc3", "\xa9", "\xff",
        "\xe2\x82\xac", "\xf0\x9f\x98\x80", "!", "#", "[", "]", "\x80",
    };

    for (size_t k = 0; k < sizeof(specials) / sizeof(specials[0]); k++) {
        for (size_t at = 0; at < 24; at++) {
            char              t[128];
            ks_json_member_t  m[2];
            size_t            n;
            int               len = snprintf(t, sizeof(t), "{\"k\":\"%.*s%s%.*s\"}", (int)at,
                                             "abcdefghijklmnopqrstuvwxyz", specials[k], 17, "ABCDEFGHIJKLMNOPQ");
            int               rc = ks_json_scan_object(t, (size_t)len, m, 2, &n);
            json_t           *j = json_loadb(t, (size_t)len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL,
                                             NULL);

            ck_assert_msg((rc >= 0) == (j != NULL), "special %zu at %zu: scanner %d, jansson %s", k, at, rc,
                          j ? "valid" : "invalid");
            if (rc == 0)
                ck_assert_uint_eq(m[0].value_len, (size_t)len - 6);
            json_decref(j);
        }
    }
}
END_TEST

START_TEST(test_depth_limit)
{
    char   deep[5000];
    size_t n;

    memset(deep, '[', 2049);
    memset(deep + 2049, ']', 2049);
    ck_assert_int_eq(ks_json_scan_object(deep, 4098, NULL, 0, &n), -1);
    ck_assert_int_eq(ks_json_scan_object(deep + 1, 4096, NULL, 0, &n), 1);
}
END_TEST

Suite *
suite_json_scan(void)
{
    Suite *s = suite_create("json_scan");
    TCase *tc = tcase_create("json_scan");

    tcase_add_loop_test(tc, test_agrees_with_jansson, 0, sizeof(texts) / sizeof(texts[0]));
    tcase_add_test(tc, test_members);
    tcase_add_test(tc, test_special_byte_at_every_offset);
    tcase_add_test(tc, test_depth_limit);
    suite_add_tcase(s, tc);
    return s;
}
