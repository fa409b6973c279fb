/* test_filter.c — every filter type and comparator, the logical operators and Argo's error rules.
 * Each case is a filters block (YAML, loaded through the real loader), an event's data and time, and
 * the expected outcome: 1 pass, 0 filtered out, -1 rejected with an error. */
#include <stdio.h>
#include <string.h>

#include "sensor/filter.h"
#include "sensor/load.h"
#include "unit.h"

static const struct {
    const char *filters;     /* the `filters:` block, indented by 8 */
    const char *extra;       /* extra dependency fields (filtersLogicalOperator), or "" */
    const char *data;        /* event data (JSON), or NULL for an event without data */
    const char *time;
    int         expect;
} cases[] = {
    /* number, every comparator */
    { "data: [{path: n, type: number, value: ['10']}]", "", "{\"n\":10}", NULL, 1 },
    { "data: [{path: n, type: number, comparator: '=', value: ['10']}]", "", "{\"n\":10.5}", NULL, 0 },
    { "data: [{path: n, type: number, comparator: '!=', value: ['10']}]", "", "{\"n\":11}", NULL, 1 },
    { "data: [{path: n, type: number, comparator: '>', value: ['10']}]", "", "{\"n\":10}", NULL, 0 },
    { "data: [{path: n, type: number, comparator: '>=', value: ['10']}]", "", "{\"n\":10}", NULL, 1 },
    { "data: [{path: n, type: number, comparator: '<', value: ['10']}]", "", "{\"n\":9.99}", NULL, 1 },
    { "data: [{path: n, type: number, comparator: '<=', value: ['10']}]", "", "{\"n\":10.01}", NULL, 0 },
    { "data: [{path: n, type: number, value: ['1', '2', '3']}]", "", "{\"n\":3}", NULL, 1 },
    { "data: [{path: n, type: number, value: ['10']}]", "", "{\"n\":\"10\"}", NULL, 1 },
    { "data: [{path: n, type: number, value: ['10']}]", "", "{\"n\":\"ten\"}", NULL, -1 },
    /* string: unanchored regex, = and != */
    { "data: [{path: s, type: string, value: ['ell']}]", "", "{\"s\":\"hello\"}", NULL, 1 },
    { "data: [{path: s, type: string, value: ['^ell']}]", "", "{\"s\":\"hello\"}", NULL, 0 },
    { "data: [{path: s, type: string, comparator: '!=', value: ['^h']}]", "", "{\"s\":\"hello\"}", NULL, 0 },
    { "data: [{path: s, type: string, comparator: '!=', value: ['^x']}]", "", "{\"s\":\"hello\"}", NULL, 1 },
    { "data: [{path: s, type: string, comparator: '>', value: ['a']}]", "", "{\"s\":\"hello\"}", NULL, 0 },
    { "data: [{path: s, type: string, value: ['x', 'l{2}']}]", "", "{\"s\":\"hello\"}", NULL, 1 },
    { "data: [{path: s, type: string, value: ['^5$']}]", "", "{\"s\":5}", NULL, 1 },
    /* bool */
    { "data: [{path: b, type: bool, value: ['true']}]", "", "{\"b\":true}", NULL, 1 },
    { "data: [{path: b, type: bool, value: ['true']}]", "", "{\"b\":false}", NULL, 0 },
    { "data: [{path: b, type: bool, value: ['F']}]", "", "{\"b\":\"false\"}", NULL, 1 },
    { "data: [{path: b, type: bool, value: ['true']}]", "", "{\"b\":\"maybe\"}", NULL, -1 },
    /* missing path, no data, data that is not JSON */
    { "data: [{path: x, type: string, value: ['a']}]", "", "{\"s\":\"a\"}", NULL, -1 },
    { "data: [{path: x, type: string, value: ['a']}]", "", NULL, NULL, 1 },
    { "data: [{path: x, type: string, value: ['a']}]", "", "\"just text\"", NULL, -1 },
    /* template (filter.go: `.Input` is the text at the path; its output is compared; an empty or
     * "<no value>" output or an execution error is the filter's error); Argo's documented example */
    { "data: [{path: body, type: string, value: ['^hello$'], template: '{{ b64dec .Input }}'}]", "",
      "{\"body\":\"aGVsbG8=\"}", NULL, 1 },
    { "data: [{path: body, type: string, value: ['^hello$'], template: '{{ b64dec .Input }}'}]", "",
      "{\"body\":\"aGVsbA==\"}", NULL, 0 },
    { "data: [{path: s, type: number, comparator: '>', value: ['3'], template: '{{ len .Input }}'}]", "",
      "{\"s\":\"hello\"}", NULL, 1 },
    { "data: [{path: s, type: bool, value: ['true'], template: '{{ hasPrefix \"he\" .Input }}'}]", "",
      "{\"s\":\"hello\"}", NULL, 1 },
    { "data: [{path: o, type: string, value: ['\"a\":1'], template: '{{ .Input }}'}]", "",
      "{\"o\":{\"a\":1}}", NULL, 1 },
    { "data: [{path: s, type: string, value: ['.*'], template: '{{ .Input | trimPrefix \"x\" }}'}]", "",
      "{\"s\":\"x\"}", NULL, -1 },
    { "data: [{path: s, type: string, value: ['.*'], template: '{{ .Input.field }}'}]", "",
      "{\"s\":\"x\"}", NULL, -1 },
    { "dataLogicalOperator: or\n        data: [{path: s, type: string, value: ['.*'], template: '{{ .Input.f }}'}, "
      "{path: s, type: string, value: ['x']}]", "", "{\"s\":\"x\"}", NULL, 1 },
    /* dataLogicalOperator */
    { "data: [{path: a, type: number, value: ['1']}, {path: b, type: number, value: ['2']}]", "",
      "{\"a\":1,\"b\":3}", NULL, 0 },
    { "dataLogicalOperator: or\n        data: [{path: a, type: number, value: ['1']}, {path: b, type: number, value: ['2']}]",
      "", "{\"a\":1,\"b\":3}", NULL, 1 },
    { "dataLogicalOperator: or\n        data: [{path: x, type: number, value: ['1']}, {path: b, type: number, value: ['3']}]",
      "", "{\"a\":1,\"b\":3}", NULL, 1 },
    { "dataLogicalOperator: or\n        data: [{path: x, type: number, value: ['1']}, {path: b, type: number, value: ['4']}]",
      "", "{\"a\":1,\"b\":3}", NULL, -1 },
    /* exprs */
    { "exprs: [{expr: 'a > 1 && s == \"x\"', fields: [{name: a, path: n}, {name: s, path: s}]}]", "",
      "{\"n\":2,\"s\":\"x\"}", NULL, 1 },
    { "exprs: [{expr: 'a > 1', fields: [{name: a, path: n}]}, {expr: 'a < 2', fields: [{name: a, path: n}]}]",
      "", "{\"n\":2}", NULL, 0 },
    { "exprLogicalOperator: or\n        exprs: [{expr: 'a > 1', fields: [{name: a, path: n}]}, {expr: 'a < 2', fields: [{name: a, path: n}]}]",
      "", "{\"n\":2}", NULL, 1 },
    { "exprs: [{expr: 'a > 1', fields: [{name: a, path: missing}]}]", "", "{\"n\":2}", NULL, -1 },
    /* context */
    { "context: {type: webhook, source: shop}", "", "{}", NULL, 1 },
    { "context: {subject: other}", "", "{}", NULL, 0 },
    /* time: window and wrap past midnight, in UTC and in a zone */
    { "time: {start: '09:00:00', stop: '17:00:00'}", "", "{}", "2026-03-02T16:59:59Z", 1 },
    { "time: {start: '09:00:00', stop: '17:00:00'}", "", "{}", "2026-03-02T17:00:00Z", 0 },
    { "time: {start: '22:00:00', stop: '02:00:00'}", "", "{}", "2026-03-02T01:00:00Z", 1 },
    { "time: {start: '22:00:00', stop: '02:00:00'}", "", "{}", "2026-03-02T21:59:59Z", 0 },
    { "time: {start: '09:00:00', stop: '17:00:00', timezone: Asia/Kolkata}", "", "{}",
      "2026-03-02T03:30:00Z", 1 },
    { "time: {start: '09:00:00', stop: '17:00:00', timezone: Asia/Kolkata}", "", "{}",
      "2026-03-02T11:30:00Z", 0 },
    /* filtersLogicalOperator: and (any error rejects) and or (another class may accept) */
    { "context: {type: webhook}\n        data: [{path: x, type: number, value: ['1']}]", "", "{}", NULL, -1 },
    { "context: {type: webhook}\n        data: [{path: x, type: number, value: ['1']}]",
      "filtersLogicalOperator: or", "{}", NULL, 1 },
    { "context: {type: other}\n        data: [{path: n, type: number, value: ['1']}]",
      "filtersLogicalOperator: or", "{\"n\":2}", NULL, 0 },
    { "context: {type: other}\n        data: [{path: x, type: number, value: ['1']}]",
      "filtersLogicalOperator: or", "{}", NULL, -1 },
};

START_TEST(test_filter_case)
{
    char        yaml[2048], event[1024], err[256];
    ks_pool_t   pool = {0};
    ks_diag_t   diag = {0};
    ks_event_t  ev;
    json_t     *data;
    int         rc;

    snprintf(yaml, sizeof(yaml),
             "apiVersion: argoproj.io/v1alpha1\nkind: Sensor\nmetadata: {name: f}\nspec:\n"
             "  dependencies:\n    - name: d\n      eventSourceName: shop\n      eventName: order\n"
             "      %s\n      filters:\n        %s\n"
             "  triggers: [{template: {name: t, log: {}}}]\n", cases[_i].extra, cases[_i].filters);
    ck_assert_uint_eq(ks_pool_load_file(&pool, unit_write("f.yaml", yaml), &diag), 0);
    snprintf(event, sizeof(event),
             "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"shop\",\"type\":\"webhook\","
             "\"subject\":\"order\",\"time\":\"%s\"%s%s}",
             cases[_i].time ? cases[_i].time : "2026-03-02T12:00:00Z", cases[_i].data ? ",\"data\":" : "",
             cases[_i].data ? cases[_i].data : "");
    ck_assert_msg(ks_event_decode(&ev, event, strlen(event), err, sizeof(err)) == 0, "%s", err);
    data = ks_event_data_json(&ev);
    rc = ks_filters_eval(&pool.sensors[0]->deps[0].filters, &ev, data, err, sizeof(err));
    ck_assert_msg(rc == cases[_i].expect, "case %d (%s): got %d, expected %d (%s)", _i, cases[_i].filters, rc,
                  cases[_i].expect, rc < 0 ? err : "");
    json_decref(data);
    ks_event_free(&ev);
    ks_pool_free(&pool);
}
END_TEST

Suite *
suite_filter(void)
{
    Suite *s = suite_create("filter");
    TCase *tc = tcase_create("filter");

    tcase_add_loop_test(tc, test_filter_case, 0, sizeof(cases) / sizeof(cases[0]));
    suite_add_tcase(s, tc);
    return s;
}
