/* test_gotmpl.c — the Go template subset against Go itself: every case of
 * tests/data/templates.jsonl carries the output (or the error) that Go's text/template with sprig
 * produced for it, run the way Argo runs it (tools/template-oracle). A case Go refuses at parse
 * must be refused here at parse; a case Go fails at execution must fail here (at parse is allowed:
 * refusing early is the point); every other case must give Go's exact output. Then what the
 * oracle cannot show: where a refusal points, the bounds of one execution, `now`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sensor/gotmpl.h"
#include "unit.h"

/* Runs one template on input; the output (malloc'd) or NULL with why in err ("parse: …"). */
static char *
run(const char *text, const json_t *input, char *err, size_t errlen)
{
    size_t       offset = 0;
    char         msg[256];
    ks_gotmpl_t *t = ks_gotmpl_parse(text, &offset, msg, sizeof(msg));
    char        *out;

    if (t == NULL) {
        snprintf(err, errlen, "parse: %s (at %zu)", msg, offset);
        return NULL;
    }
    out = ks_gotmpl_exec(t, input, NULL, msg, sizeof(msg));
    if (out == NULL)
        snprintf(err, errlen, "exec: %s", msg);
    ks_gotmpl_free(t);
    return out;
}

START_TEST(test_go_cases)
{
    char  *all = unit_read(unit_data("templates.jsonl"));
    char  *line = all, *next;
    size_t cases = 0, wrong = 0;

    setenv("TZ", "UTC", 1);
    tzset();
    for (; line != NULL && *line != '\0'; line = next) {
        json_error_t jerr;
        json_t      *c;
        const char  *name, *expect_err, *expect;
        char         err[512];
        char        *out;

        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        c = json_loads(line, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &jerr);
        ck_assert_msg(c != NULL, "templates.jsonl: %s", jerr.text);
        name = json_string_value(json_object_get(c, "name"));
        expect_err = json_string_value(json_object_get(c, "error"));
        expect = json_string_value(json_object_get(c, "output"));
        out = run(json_string_value(json_object_get(c, "template")), json_object_get(c, "input"), err,
                  sizeof(err));
        cases++;
        if (expect_err != NULL && strcmp(expect_err, "parse") == 0) {
            if (out != NULL || strncmp(err, "parse", 5) != 0) {
                fprintf(stderr, "%s: Go refuses it at parse, ksensor %s\n", name, out ? "runs it" : err);
                wrong++;
            }
        } else if (expect_err != NULL) {
            if (out != NULL) {
                fprintf(stderr, "%s: Go fails at execution, ksensor printed \"%s\"\n", name, out);
                wrong++;
            }
        } else if (out == NULL || strcmp(out, expect) != 0) {
            fprintf(stderr, "%s: Go printed \"%s\", ksensor %s%s%s\n", name, expect, out ? "\"" : "",
                    out ? out : err, out ? "\"" : "");
            wrong++;
        }
        free(out);
        json_decref(c);
    }
    free(all);
    ck_assert_uint_gt(cases, 400);
    ck_assert_msg(wrong == 0, "%zu of %zu Go template cases differ (listed above)", wrong, cases);
}
END_TEST

/* A refusal names the construct and points at it. */
START_TEST(test_refusal_points_at_construct)
{
    static const struct {
        const char *text, *message;
        size_t      offset;
    } cases[] = {
        { "Hi {{ .Input.name | sha256sum }}", "function \"sha256sum\" is not supported", 20 },
        { "{{ define \"x\" }}{{ end }}", "{{define}} is not supported", 3 },
        { "{{ template \"x\" }}", "{{template}} is not supported", 3 },
        { "a {{ if .Input }}b", "unexpected EOF: {{if}} has no {{end}}", 5 },
        { "{{ $nope }}", "undefined variable \"$nope\"", 3 },
        { "{{ .Input.a ", "unclosed action", 12 },
        { "x {{ end }}", "unexpected {{end}}", 5 },
        { "{{ range .Input }}{{ end }}{{ break }}", "{{break}} outside {{range}}", 30 },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t       offset = 99;
        char         err[256];
        ks_gotmpl_t *t = ks_gotmpl_parse(cases[i].text, &offset, err, sizeof(err));

        ck_assert_msg(t == NULL, "%s: parsed", cases[i].text);
        ck_assert_str_eq(err, cases[i].message);
        ck_assert_uint_eq(offset, cases[i].offset);
    }
}
END_TEST

/* One execution is bounded in output and in steps; the error says which bound. */
START_TEST(test_execution_bounds)
{
    char    err[256];
    json_t *in = json_integer(1);
    char   *out;

    out = run("{{ range 2000 }}{{ repeat 1000 \"x\" }}{{ end }}", in, err, sizeof(err));
    ck_assert_ptr_null(out);
    ck_assert_msg(strstr(err, "wrote more than") != NULL, "%s", err);
    out = run("{{ range 2000000 }}{{ end }}", in, err, sizeof(err));
    ck_assert_ptr_null(out);
    ck_assert_msg(strstr(err, "steps") != NULL, "%s", err);
    out = run("{{ repeat 100000000 \"xyz\" }}", in, err, sizeof(err));
    ck_assert_ptr_null(out);
    ck_assert_msg(strstr(err, "exceed") != NULL, "%s", err);
    json_decref(in);
}
END_TEST

/* now and date without a time: the current time, in the layout asked for. */
START_TEST(test_now)
{
    char       err[256], expect[32];
    time_t     before = time(NULL), after;
    struct tm  tm;
    json_t    *in = json_real(1.5);
    char      *out = run("{{ now | date \"2006\" }}|{{ date \"2006\" .Input }}", in, err, sizeof(err));

    after = time(NULL);
    ck_assert_msg(out != NULL, "%s", err);
    localtime_r(before == after ? &before : &after, &tm);
    snprintf(expect, sizeof(expect), "%04d|%04d", tm.tm_year + 1900, tm.tm_year + 1900);
    ck_assert_str_eq(out, expect);
    free(out);
    json_decref(in);
}
END_TEST

Suite *
suite_gotmpl(void)
{
    Suite *s = suite_create("gotmpl");
    TCase *tc = tcase_create("gotmpl");

    tcase_add_test(tc, test_go_cases);
    tcase_add_test(tc, test_refusal_points_at_construct);
    tcase_add_test(tc, test_execution_bounds);
    tcase_add_test(tc, test_now);
    suite_add_tcase(s, tc);
    return s;
}
