/* test_jpath.c — gjson-style get, the Result conversions and sjson-style set on jansson values. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sensor/jpath.h"
#include "unit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char doc_text[] =
    "{\"name\": {\"first\": \"Tom\", \"last\": \"Anderson\"}, \"age\": 37,"
    " \"children\": [\"Sara\", \"Alex\", \"Jack\"], \"fav.movie\": \"Deer Hunter\","
    " \"friends\": ["
    "  {\"first\": \"Dale\", \"last\": \"Murphy\", \"nets\": [\"ig\", \"fb\", \"tw\"]},"
    "  {\"first\": \"Roger\", \"last\": \"Craig\", \"nets\": [\"fb\", \"tw\"]},"
    "  {\"first\": \"Jane\", \"last\": \"Murphy\", \"nets\": [\"ig\", \"tw\"]}],"
    " \"0\": \"zero-key\", \"#\": \"hash-key\", \"@type\": \"Person\", \"empty\": [], \"nothing\": null,"
    " \"k*y\": \"star-key\", \"\\u00fcn\\u00ef\": \"unicode\", \"a|b\": \"pipe-key\", \"\": \"empty-key\","
    " \"x\": {\"\": {\"y\": 1}}}";

static json_t *
parse(const char *text)
{
    json_error_t error;
    json_t      *v = json_loads(text, JSON_DECODE_ANY, &error);

    ck_assert_msg(v != NULL, "bad test JSON %s: %s", text, error.text);
    return v;
}

/* path -> expected value as JSON text, or NULL when the path must not be found */
static const struct {
    const char *path;
    const char *want;
} get_cases[] = {
    {"name.last", "\"Anderson\""},
    {"age", "37"},
    {"name", "{\"first\":\"Tom\",\"last\":\"Anderson\"}"},
    {"children", "[\"Sara\",\"Alex\",\"Jack\"]"},
    {"children.1", "\"Alex\""},
    {"children.01", "\"Alex\""},
    {"children.#", "3"},
    {"children.3", NULL},
    {"children.-1", NULL},
    {"children.x", NULL},
    {"friends.1.last", "\"Craig\""},
    {"friends.#", "3"},
    {"friends.#.first", "[\"Dale\",\"Roger\",\"Jane\"]"},
    {"friends.#.nets.#", "[3,2,2]"},
    {"friends.#.nets.0", "[\"ig\",\"fb\",\"ig\"]"},
    {"friends.#.nets.2", "[\"tw\"]"},
    {"friends.#.missing", "[]"},
    {"empty.#", "0"},
    {"fav\\.movie", "\"Deer Hunter\""},
    {"fav.movie", NULL},
    {"0", "\"zero-key\""},
    {"#", "\"hash-key\""},
    {"@type", "\"Person\""},
    {"a\\|b", "\"pipe-key\""},
    {"child*.2", "\"Jack\""},
    {"c?ildren.0", "\"Sara\""},
    {"*.first", "\"Tom\""},
    {"*.nets", NULL},
    {"fr*.#.last", "[\"Murphy\",\"Craig\",\"Murphy\"]"},
    {"k\\*y", "\"star-key\""},
    {"k\\*", NULL},
    {"?n?", "\"unicode\""},
    {"??", NULL},
    {"nothing", "null"},
    {"nothing.x", NULL},
    {"name.first.x", NULL},
    {"age.0", NULL},
    {"missing", NULL},
    {"", "\"empty-key\""},
    {"x..y", "1"},
    {"children.1\\", NULL},
    {"fav\\.mov*", "\"Deer Hunter\""},
    {"friends.#(last==\"Murphy\").first", NULL},
    {"friends.#(last==\"Murphy\")#", NULL},
    {"friends.#[age>45]", NULL},
    {"children|@reverse", NULL},
    {"children.@reverse", NULL},
    {"@this", NULL},
    {"[name.first,age]", NULL},
    {"{name.first,age}", NULL},
    {"..0", NULL},
    {"!true", NULL},
    {"name.first|x", NULL},
};

START_TEST(test_get)
{
    json_t *doc = parse(doc_text), *got = ks_jpath_get(doc, get_cases[_i].path), *want;

    if (get_cases[_i].want == NULL) {
        ck_assert_msg(got == NULL, "path '%s' should not be found", get_cases[_i].path);
    } else {
        char *text;

        ck_assert_msg(got != NULL, "path '%s' not found", get_cases[_i].path);
        want = parse(get_cases[_i].want);
        text = json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT);
        ck_assert_msg(json_equal(got, want), "path '%s' gave %s, want %s", get_cases[_i].path, text,
                      get_cases[_i].want);
        free(text);
        json_decref(want);
    }
    json_decref(got);
    json_decref(doc);
}
END_TEST

START_TEST(test_get_roots)
{
    json_t *arr = parse("[10, {\"a\": [1, {\"b\": 2}]}]"), *str = parse("\"x\""), *got;

    got = ks_jpath_get(arr, "1.a.1.b");
    ck_assert_int_eq(json_integer_value(got), 2);
    json_decref(got);
    got = ks_jpath_get(arr, "#");
    ck_assert_int_eq(json_integer_value(got), 2);
    json_decref(got);
    got = ks_jpath_get(arr, "0");
    ck_assert_int_eq(json_integer_value(got), 10);
    json_decref(got);
    ck_assert_ptr_null(ks_jpath_get(arr, "a"));
    ck_assert_ptr_null(ks_jpath_get(str, "a"));
    ck_assert_ptr_null(ks_jpath_get(str, "0"));
    ck_assert_ptr_null(ks_jpath_get(NULL, "a"));
    /* The result is a new reference that outlives the document. */
    got = ks_jpath_get(arr, "1.a");
    json_decref(arr);
    ck_assert_int_eq(json_array_size(got), 2);
    json_decref(got);
    json_decref(str);
}
END_TEST

/* JSON value -> String(), Float(), Bool(), Type() */
static const struct {
    const char *json;
    const char *str;
    double      num;
    bool        b;
    const char *type;
} conv_cases[] = {
    {"\"hello\"", "hello", 0, false, "String"},
    {"\"3.25\"", "3.25", 3.25, false, "String"},
    {"\"-1e3\"", "-1e3", -1000, false, "String"},
    {"\" 5\"", " 5", 0, false, "String"},
    {"\"5 \"", "5 ", 0, false, "String"},
    {"\"0x10\"", "0x10", 0, false, "String"},
    {"\"0x1p4\"", "0x1p4", 16, false, "String"},
    {"\"\"", "", 0, false, "String"},
    {"\"1_000.5\"", "1_000.5", 1000.5, false, "String"},
    {"\"1__0\"", "1__0", 0, false, "String"},
    {"\"+nan\"", "+nan", 0, false, "String"},
    {"\"1e400\"", "1e400", HUGE_VAL, false, "String"},
    {"\"1\"", "1", 1, true, "String"},
    {"\"0\"", "0", 0, false, "String"},
    {"\"t\"", "t", 0, true, "String"},
    {"\"T\"", "T", 0, true, "String"},
    {"\"true\"", "true", 0, true, "String"},
    {"\"TrUe\"", "TrUe", 0, true, "String"},
    {"\"yes\"", "yes", 0, false, "String"},
    {"\"false\"", "false", 0, false, "String"},
    {"50", "50", 50, true, "Number"},
    {"0", "0", 0, false, "Number"},
    {"-7", "-7", -7, true, "Number"},
    {"3.5", "3.5", 3.5, true, "Number"},
    {"1.0", "1", 1, true, "Number"},
    {"100.0", "100", 100, true, "Number"},
    {"0.1", "0.1", 0.1, true, "Number"},
    {"-0.0", "-0", 0, false, "Number"},
    {"1e21", "1000000000000000000000", 1e21, true, "Number"},
    {"1.5e-7", "0.00000015", 1.5e-7, true, "Number"},
    {"123456789.125", "123456789.125", 123456789.125, true, "Number"},
    {"0.30000000000000004", "0.30000000000000004", 0.30000000000000004, true, "Number"},
    {"9007199254740993", "9007199254740993", 9007199254740992.0, true, "Number"},
    {"true", "true", 1, true, "True"},
    {"false", "false", 0, false, "False"},
    {"null", "", 0, false, "Null"},
    {"{\"a\": [1, 2.5, \"x\\n\\u0001\"], \"b\": {}}", "{\"a\":[1,2.5,\"x\\n\\u0001\"],\"b\":{}}", 0, false, "JSON"},
    {"[0.1, 1e300, 1e-7, -0.5, null, true]", "[0.1,1e+300,1e-7,-0.5,null,true]", 0, false, "JSON"},
};

START_TEST(test_conversions)
{
    json_t *v = parse(conv_cases[_i].json);
    char   *s = ks_jpath_string(v);

    ck_assert_str_eq(s, conv_cases[_i].str);
    ck_assert_msg(ks_jpath_float(v) == conv_cases[_i].num, "%s: Float() = %g", conv_cases[_i].json,
                  ks_jpath_float(v));
    ck_assert_int_eq(ks_jpath_bool(v), conv_cases[_i].b);
    ck_assert_str_eq(ks_jpath_type(v), conv_cases[_i].type);
    free(s);
    json_decref(v);
}
END_TEST

START_TEST(test_conversions_special)
{
    json_t *inf = json_string("-Infinity");
    char   *s = ks_jpath_string(NULL);

    ck_assert_str_eq(s, "");
    ck_assert_str_eq(ks_jpath_type(NULL), "Null");
    ck_assert(ks_jpath_float(NULL) == 0);
    ck_assert(!ks_jpath_bool(NULL));
    ck_assert(isinf(ks_jpath_float(inf)) && ks_jpath_float(inf) < 0);
    free(s);
    json_decref(inf);
}
END_TEST

static const struct {
    double      v;
    char        style;
    const char *want;
} float_cases[] = {
    {1e6, 'g', "1e+06"},       {123456, 'g', "123456"},     {1234567, 'g', "1.234567e+06"},
    {1.5, 'g', "1.5"},         {0.0001, 'g', "0.0001"},     {0.00001, 'g', "1e-05"},
    {-2.5e-10, 'g', "-2.5e-10"}, {0, 'g', "0"},             {1e-7, 'j', "1e-7"},
    {1e21, 'j', "1e+21"},      {1e20, 'j', "100000000000000000000"}, {5, 'j', "5"},
    {2.5e-12, 'j', "2.5e-12"}, {1e21, 'f', "1000000000000000000000"}, {0.000123, 'f', "0.000123"},
    {NAN, 'f', "NaN"},         {INFINITY, 'g', "+Inf"},     {-INFINITY, 'f', "-Inf"},
};

START_TEST(test_format_float)
{
    char buf[512];

    ks_jpath_format_float(buf, sizeof(buf), float_cases[_i].v, float_cases[_i].style);
    ck_assert_str_eq(buf, float_cases[_i].want);
}
END_TEST

START_TEST(test_format_float_limits)
{
    char buf[4];

    ck_assert_uint_eq(ks_jpath_format_float(buf, sizeof(buf), 123456, 'f'), 6);
    ck_assert_str_eq(buf, "123");
    {
        char big[512];

        ks_jpath_format_float(big, sizeof(big), 4.9e-324, 'f');
        ck_assert_uint_eq(strlen(big), 2 + 323 + 1);
        ck_assert(strncmp(big, "0.000", 5) == 0 && big[strlen(big) - 1] == '5');
        ks_jpath_format_float(big, sizeof(big), -1.7976931348623157e308, 'f');
        ck_assert_uint_eq(strlen(big), 1 + 309);
    }
}
END_TEST

/* start document (NULL = no document), path, value -> expected document, or the start document and
 * an error containing want_err */
static const struct {
    const char *start;
    const char *path;
    const char *value;
    const char *want;
    const char *want_err;
} set_cases[] = {
    {NULL, "a", "1", "{\"a\":1}", NULL},
    {NULL, "name.last", "\"Anderson\"", "{\"name\":{\"last\":\"Anderson\"}}", NULL},
    {NULL, "0", "\"x\"", "[\"x\"]", NULL},
    {NULL, "2", "\"x\"", "[null,null,\"x\"]", NULL},
    {NULL, "-1", "\"x\"", "{\"-1\":\"x\"}", NULL},
    {NULL, "a.-1", "1", "{\"a\":[1]}", NULL},
    {NULL, "a.2.b", "1", "{\"a\":[null,null,{\"b\":1}]}", NULL},
    {NULL, "a.-1.-1", "1", "{\"a\":[[1]]}", NULL},
    {"null", "a", "1", "{\"a\":1}", NULL},
    {"\"str\"", "a.b", "1", "{\"a\":{\"b\":1}}", NULL},
    {"7", "1", "true", "[null,true]", NULL},
    {"{\"a\":[1,2]}", "a.-1", "3", "{\"a\":[1,2,3]}", NULL},
    {"{\"a\":[1,2]}", "a.1", "9", "{\"a\":[1,9]}", NULL},
    {"{\"a\":[1,2]}", "a.4", "9", "{\"a\":[1,2,null,null,9]}", NULL},
    {"{\"a\":[]}", "a.-1.x", "9", "{\"a\":[{\"x\":9}]}", NULL},
    {"{\"a\":[{\"b\":1}]}", "a.0.c", "2", "{\"a\":[{\"b\":1,\"c\":2}]}", NULL},
    {"{\"a\":{\"b\":1,\"z\":0}}", "a.b", "{\"c\":true}", "{\"a\":{\"b\":{\"c\":true},\"z\":0}}", NULL},
    {"{\"a\":1}", "a.b", "2", "{\"a\":{\"b\":2}}", NULL},
    {"{\"a\":null}", "a.-1", "2", "{\"a\":{\"-1\":2}}", NULL},
    {"{\"a\":null}", "a.0", "2", "{\"a\":[2]}", NULL},
    {"{\"a\":{\"-1\":0}}", "a.-1", "2", "{\"a\":{\"-1\":2}}", NULL},
    {"{}", "a\\.b", "1", "{\"a.b\":1}", NULL},
    {"{}", "a\\*b.c\\\\d", "1", "{\"a*b\":{\"c\\\\d\":1}}", NULL},
    {"{}", "x.1", "true", "{\"x\":[null,true]}", NULL},
    {"{}", "1", "true", "{\"1\":true}", NULL},
    {"{}", "a.:1", "true", "{\"a\":{\"1\":true}}", NULL},
    {"{\"a\":[5,6]}", "a.:1", "7", "{\"a\":[5,7]}", NULL},
    {"[]", "5", "1", "[null,null,null,null,null,1]", NULL},
    {"[[1]]", "0.0", "2", "[[2]]", NULL},
    {"{\"a\":[1,2]}", "a.x", "9", NULL, "cannot set array element for non-numeric key 'x'"},
    {"{\"a\":[1]}", "a.:3", "9", NULL, "non-numeric key '3'"},
    {"{\"a\":{\"b\":[1]}}", "a.b.c.d", "9", NULL, "non-numeric key 'c'"},
    {"{}", "a.*", "1", NULL, "uses '*'"},
    {"{}", "a.#", "1", NULL, "uses '#'"},
    {"{}", "a|b", "1", NULL, "uses '|'"},
    {"{}", "@this", "1", NULL, "uses '@'"},
    {"{}", "", "1", NULL, "path cannot be empty"},
    {"{}", "a..b", "1", NULL, "empty component"},
    {"{}", "a.", "1", NULL, "empty component"},
    {"{}", "a\\", "1", NULL, "lone backslash"},
    {"{}", "a.99999999", "1", NULL, "too large"},
    {"{\"a\":[]}", "a.70000", "1", NULL, "too large"},
};

START_TEST(test_set)
{
    json_t *doc = set_cases[_i].start ? parse(set_cases[_i].start) : NULL;
    json_t *before = doc ? json_deep_copy(doc) : NULL;
    char    err[256] = "";
    int     rc = ks_jpath_set(&doc, set_cases[_i].path, parse(set_cases[_i].value), err, sizeof(err));
    char   *text = doc ? json_dumps(doc, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;

    if (set_cases[_i].want_err == NULL) {
        json_t *want = parse(set_cases[_i].want);

        ck_assert_msg(rc == 0, "set '%s' failed: %s", set_cases[_i].path, err);
        ck_assert_msg(json_equal(doc, want), "set '%s' gave %s, want %s", set_cases[_i].path, text,
                      set_cases[_i].want);
        json_decref(want);
    } else {
        ck_assert_int_eq(rc, -1);
        ck_assert_msg(strstr(err, set_cases[_i].want_err) != NULL, "error '%s' lacks '%s'", err,
                      set_cases[_i].want_err);
        ck_assert_msg(before == NULL ? doc == NULL : json_equal(doc, before), "document changed to %s", text);
    }
    free(text);
    json_decref(before);
    json_decref(doc);
}
END_TEST

START_TEST(test_set_then_get)
{
    json_t *doc = NULL, *got;
    char    err[128];

    ck_assert_int_eq(ks_jpath_set(&doc, "body.items.-1", json_string("first"), err, sizeof(err)), 0);
    ck_assert_int_eq(ks_jpath_set(&doc, "body.items.-1", json_string("second"), err, sizeof(err)), 0);
    ck_assert_int_eq(ks_jpath_set(&doc, "body.items.0", json_integer(0), err, sizeof(err)), 0);
    ck_assert_int_eq(ks_jpath_set(&doc, "body.meta\\.id", json_string("m"), err, sizeof(err)), 0);
    got = ks_jpath_get(doc, "body.items.#");
    ck_assert_int_eq(json_integer_value(got), 2);
    json_decref(got);
    got = ks_jpath_get(doc, "body.items.1");
    ck_assert_str_eq(json_string_value(got), "second");
    json_decref(got);
    got = ks_jpath_get(doc, "body.meta\\.id");
    ck_assert_str_eq(json_string_value(got), "m");
    json_decref(got);
    /* The value is stolen on error too (the sanitizer build checks that nothing leaks). */
    ck_assert_int_eq(ks_jpath_set(&doc, "body.items.x", json_string("lost"), err, sizeof(err)), -1);
    ck_assert_int_eq(ks_jpath_set(&doc, "a", NULL, err, sizeof(err)), -1);
    json_decref(doc);
}
END_TEST

Suite *
suite_jpath(void)
{
    Suite *s = suite_create("jpath");
    TCase *tc = tcase_create("jpath");

    tcase_add_loop_test(tc, test_get, 0, (int)N(get_cases));
    tcase_add_test(tc, test_get_roots);
    tcase_add_loop_test(tc, test_conversions, 0, (int)N(conv_cases));
    tcase_add_test(tc, test_conversions_special);
    tcase_add_loop_test(tc, test_format_float, 0, (int)N(float_cases));
    tcase_add_test(tc, test_format_float_limits);
    tcase_add_loop_test(tc, test_set, 0, (int)N(set_cases));
    tcase_add_test(tc, test_set_then_get);
    suite_add_tcase(s, tc);
    return s;
}
