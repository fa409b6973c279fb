/* test_script.c — Lua filters and transforms and jq transforms against Argo's contract (gopher-lua
 * 5.1, transform.go, filter.go; Argo's documented examples: filters/script.md, transform.md) and the
 * sandbox: no io, os, require, load, debug; read-only libraries; no globals kept between calls; an
 * endless loop stopped by the instruction budget; an endless allocation stopped by the memory cap. */
#include <string.h>

#include "sensor/script.h"
#include "unit.h"

static ks_scripts_t *s;

static void
setup(void)
{
    s = ks_scripts_new();
}

static void
teardown(void)
{
    ks_scripts_free(s);
}

static int
compile(const char *source)
{
    char err[256];
    int  ref = ks_script_compile(s, source, "=test", err, sizeof(err));

    ck_assert_msg(ref > 0, "compile: %s", err);
    return ref;
}

/* Runs source as a filter on data (JSON text, or NULL); err gets the reason of a -1. */
static int
filter(const char *source, const char *data, char *err, size_t errlen)
{
    json_t *d = data ? json_loads(data, 0, NULL) : NULL;
    int     rc = ks_script_filter(s, compile(source), d, err, errlen);

    json_decref(d);
    return rc;
}

static char *
transform(const char *source, const char *data, char *err, size_t errlen)
{
    json_t *d = json_loads(data, 0, NULL), *out = ks_script_transform(s, compile(source), d, err, errlen);
    char   *text = out ? json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

    json_decref(d);
    json_decref(out);
    return text;
}

START_TEST(test_filter_argo_example)
{
    /* filters/script.md and the corpus' filter-script.yaml */
    const char *script = "if event.body.a == \"b\" and event.body.d.e == \"z\" then return true else return false end";
    char        err[256];

    ck_assert_int_eq(filter(script, "{\"body\":{\"a\":\"b\",\"c\":10,\"d\":{\"e\":\"z\"}}}", err, sizeof(err)), 1);
    ck_assert_int_eq(filter(script, "{\"body\":{\"a\":\"b\",\"c\":10,\"d\":{\"e\":\"y\"}}}", err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_filter_exact_true)
{
    char err[256];

    ck_assert_int_eq(filter("return 1", "{}", err, sizeof(err)), 0);
    ck_assert_int_eq(filter("return \"true\"", "{}", err, sizeof(err)), 0);
    ck_assert_int_eq(filter("local x = 1", "{}", err, sizeof(err)), 0);
    ck_assert_int_eq(filter("return event.n == 10", "{\"n\":10}", err, sizeof(err)), 1);
    ck_assert_int_eq(filter("return false", NULL, err, sizeof(err)), 1);      /* no data passes */
    ck_assert_int_eq(filter("return true", "[1,2]", err, sizeof(err)), -1);   /* data must be an object */
    ck_assert_ptr_nonnull(strstr(err, "not a JSON object"));
    ck_assert_int_eq(filter("return event.missing.field", "{}", err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "attempt to index"));
}
END_TEST

START_TEST(test_event_mapping)
{
    char err[256];

    /* nulls are left out, arrays inside arrays too (later elements shift), numbers are numbers */
    ck_assert_int_eq(filter("return event.a == nil and #event.b == 3 and event.b[2] == 3 and event.b[3].x == 1 "
                            "and event.c == 1.5 and event.d == false",
                            "{\"a\":null,\"b\":[1,[2],3,null,{\"x\":1}],\"c\":1.5,\"d\":false}", err, sizeof(err)), 1);
}
END_TEST

START_TEST(test_sandbox)
{
    char err[256];

    ck_assert_int_eq(filter("return io == nil and os == nil and require == nil and load == nil and loadstring == nil "
                            "and dofile == nil and loadfile == nil and debug == nil and getfenv == nil and "
                            "setfenv == nil and rawset == nil and getmetatable == nil and package == nil and "
                            "collectgarbage == nil and module == nil", "{}", err, sizeof(err)), 1);
    ck_assert_int_eq(filter("return string.upper(\"a\") == \"A\" and math.floor(1.5) == 1 and "
                            "table.concat({\"a\",\"b\"}) == \"ab\" and (\"x\"):rep(3) == \"xxx\"", "{}", err, sizeof(err)), 1);
    ck_assert_int_eq(filter("string.upper = nil return true", "{}", err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "read-only"));
    ck_assert_int_eq(filter("setmetatable(math, {}) return true", "{}", err, sizeof(err)), -1);
    ck_assert_int_eq(filter("return string.upper(\"a\") == \"A\"", "{}", err, sizeof(err)), 1);
}
END_TEST

START_TEST(test_no_globals_kept)
{
    char err[256];
    int  ref = compile("seen = (seen or 0) + 1 return seen == 1 and event.i ~= nil");
    json_t *d = json_pack("{s:i}", "i", 1);

    ck_assert_int_eq(ks_script_filter(s, ref, d, err, sizeof(err)), 1);
    ck_assert_int_eq(ks_script_filter(s, ref, d, err, sizeof(err)), 1);
    ck_assert_int_eq(filter("return seen == nil", "{}", err, sizeof(err)), 1);
    json_decref(d);
}
END_TEST

START_TEST(test_limits)
{
    char err[256];

    ck_assert_int_eq(filter("while true do end", "{}", err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "instructions"));
    ck_assert_int_eq(filter("local t = {} local i = 0 while true do i = i + 1 t[i] = string.rep(\"x\", 4096) .. i end",
                            "{}", err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "memory"));
    /* the state is still usable afterwards */
    ck_assert_int_eq(filter("return true", "{}", err, sizeof(err)), 1);
}
END_TEST

START_TEST(test_compile_error)
{
    char err[256];

    ck_assert_int_eq(ks_script_compile(s, "return (", "=filters.script", err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "filters.script:1:"));
}
END_TEST

START_TEST(test_transform)
{
    char  err[256];
    char *out;

    /* transform.md and the corpus' transform.yaml */
    out = transform("event.body.message='updated'\nreturn event", "{\"body\":{\"message\":\"hi\",\"n\":1}}", err,
                    sizeof(err));
    ck_assert_str_eq(out, "{\"body\":{\"message\":\"updated\",\"n\":1}}");
    free(out);
    out = transform("return {}", "{}", err, sizeof(err));
    ck_assert_str_eq(out, "{}");
    free(out);
    out = transform("return setmetatable({}, {__is_array = true})", "{}", err, sizeof(err));
    ck_assert_str_eq(out, "[]");
    free(out);
    out = transform("return {1, 2.5, \"x\", {a = true}}", "{}", err, sizeof(err));
    ck_assert_str_eq(out, "[1,2.5,\"x\",{\"a\":true}]");
    free(out);
    out = transform("return {[1.5] = \"a\", k = 1e21}", "{}", err, sizeof(err));
    ck_assert_str_eq(out, "{\"1.5\":\"a\",\"k\":1e21}");
    free(out);
    ck_assert_ptr_null(transform("return nil", "{}", err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "not of lua table"));
    ck_assert_ptr_null(transform("return {f = print}", "{}", err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "function"));
}
END_TEST

/* jq on data text: its output text, or NULL with err. */
static char *
jq(const char *program, const char *data, char *err, size_t errlen)
{
    ks_jq_t *q = ks_jq_compile(program, err, errlen);
    size_t   len;
    char    *out;

    ck_assert_msg(q != NULL, "%s", err);
    out = ks_jq_transform(q, data, strlen(data), &len, err, errlen);
    ck_assert(out == NULL || strlen(out) == len);
    ks_jq_free(q);
    return out;
}

START_TEST(test_jq)
{
    char  err[256];
    char *out;

    out = jq(".body.message *= 2", "{\"body\":{\"message\":\"ab\"}}", err, sizeof(err));   /* transform.md */
    ck_assert_str_eq(out, "{\"body\":{\"message\":\"abab\"}}");
    free(out);
    out = jq(".z = 1 | .a = 2", "{\"m\":0}", err, sizeof(err));     /* keys sorted, as Go writes them */
    ck_assert_str_eq(out, "{\"a\":2,\"m\":0,\"z\":1}");
    free(out);
    out = jq("(.a, .b) | {x: .}", "{\"a\":1,\"b\":2}", err, sizeof(err));   /* the first output only */
    ck_assert_str_eq(out, "{\"x\":1}");
    free(out);
    ck_assert_ptr_null(jq("empty", "{}", err, sizeof(err)));
    ck_assert_str_eq(err, "no output available from the jq command execution");
    ck_assert_ptr_null(jq(".a", "{\"a\":1}", err, sizeof(err)));
    ck_assert_str_eq(err, "jq transformation output must be a JSON object");
    ck_assert_ptr_null(jq("error(\"boom\")", "{}", err, sizeof(err)));
    ck_assert_str_eq(err, "jq: boom");
    ck_assert_ptr_null(jq(".", "[1]", err, sizeof(err)));
    ck_assert_str_eq(err, "the event's data is not a JSON object");
    ck_assert_ptr_null(ks_jq_compile(".a |", err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "syntax error"));
}
END_TEST

Suite *
suite_script(void)
{
    Suite *su = suite_create("script");
    TCase *tc = tcase_create("script");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_filter_argo_example);
    tcase_add_test(tc, test_filter_exact_true);
    tcase_add_test(tc, test_event_mapping);
    tcase_add_test(tc, test_sandbox);
    tcase_add_test(tc, test_no_globals_kept);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_compile_error);
    tcase_add_test(tc, test_transform);
    tcase_add_test(tc, test_jq);
    suite_add_tcase(su, tc);
    return su;
}
