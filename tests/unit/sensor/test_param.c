/* test_param.c — every parameter form: dataKey, contextKey, dataTemplate, contextTemplate, default
 * value, whole event, useRawData,
 * overwrite/append/prepend, a missing dependency, an empty dest as the whole payload. */
#include <stdlib.h>
#include <string.h>

#include "sensor/gotmpl.h"
#include "sensor/param.h"
#include "unit.h"

static ks_event_t order, text_event;

static void
setup(void)
{
    static const char order_json[] =
        "{\"specversion\":\"1.0\",\"id\":\"o1\",\"source\":\"shop\",\"type\":\"webhook\",\"subject\":\"order\","
        "\"datacontenttype\":\"application/json\",\"time\":\"2026-01-01T12:00:00.5Z\","
        "\"data\":{\"id\":42,\"amount\":12.5,\"name\":\"cup\",\"tags\":[\"a\",\"b\"],\"ok\":true,\"none\":null}}";
    static const char text_json[] =
        "{\"specversion\":\"1.0\",\"id\":\"t1\",\"source\":\"shop\",\"type\":\"note\",\"subject\":\"text\","
        "\"datacontenttype\":\"text/plain\",\"data\":\"hello\"}";
    char err[256];

    ck_assert_msg(ks_event_decode(&order, order_json, strlen(order_json), err, sizeof(err)) == 0, "%s", err);
    ck_assert_msg(ks_event_decode(&text_event, text_json, strlen(text_json), err, sizeof(err)) == 0, "%s", err);
}

static void
teardown(void)
{
    ks_event_free(&order);
    ks_event_free(&text_event);
}

/* Applies one parameter to a copy of start and returns the compact JSON (static buffer). */
static const char *
apply(ks_param_t p, const char *start)
{
    static char     out[2048];
    ks_params_t     params = { &p, 1 };
    ks_held_event_t held[] = { { "order", &order }, { "text", &text_event } };
    json_t         *doc = start ? json_loads(start, 0, NULL) : NULL;
    char            err[256], *text;

    if (p.dest == NULL)
        p.dest = "x";
    if (ks_params_apply(&params, held, 2, &doc, err, sizeof(err)) != 0) {
        snprintf(out, sizeof(out), "error: %s", err);
    } else {
        text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) : strdup("null");
        snprintf(out, sizeof(out), "%s", text);
        free(text);
    }
    json_decref(doc);
    return out;
}

START_TEST(test_data_key)
{
    ck_assert_str_eq(apply((ks_param_t){ .dependency = "order", .data_key = "id" }, NULL), "{\"x\":\"42\"}");
    ck_assert_str_eq(apply((ks_param_t){ .dependency = "order", .data_key = "id", .use_raw_data = true }, NULL),
                     "{\"x\":42}");
    ck_assert_str_eq(apply((ks_param_t){ .dependency = "order", .data_key = "name", .use_raw_data = true }, NULL),
                     "{\"x\":\"cup\"}");
    ck_assert_str_eq(apply((ks_param_t){ .dependency = "order", .data_key = "tags" }, NULL),
                     "{\"x\":\"[\\\"a\\\",\\\"b\\\"]\"}");
    ck_assert_str_eq(apply((ks_param_t){ .dependency = "order", .data_key = "tags", .use_raw_data = true }, NULL),
                     "{\"x\":[\"a\",\"b\"]}");
    ck_assert_str_eq(apply((ks_param_t){ .dependency = "order", .data_key = "ok", .use_raw_data = true }, NULL),
                     "{\"x\":true}");
    ck_assert_str_eq(apply((ks_param_t){ .dependency = "order", .data_key = "none" }, NULL), "{\"x\":\"null\"}");
}
END_TEST

START_TEST(test_context_key_and_default)
{
    ck_assert_str_eq(apply((ks_param_t){ .dependency = "order", .context_key = "source" }, NULL),
                     "{\"x\":\"shop\"}");
    ck_assert_str_eq(apply((ks_param_t){ .dependency = "order", .context_key = "time" }, NULL),
                     "{\"x\":\"2026-01-01T12:00:00Z\"}");
    /* with both set, data wins outright (params.go assigns the data's key over the context's): a
     * dataKey that finds nothing does not fall back to the contextKey */
    ck_assert_str_eq(apply((ks_param_t){ .dependency = "order", .data_key = "name", .context_key = "id" }, NULL),
                     "{\"x\":\"cup\"}");
    ck_assert_str_eq(apply((ks_param_t){ .dependency = "order", .data_key = "nope", .context_key = "id" }, NULL),
                     "error: parameter of 'order': dataKey 'nope' resolves to nothing and there is no default value");
    ck_assert_str_eq(apply((ks_param_t){ .dependency = "order", .data_key = "nope", .value = "dflt" }, NULL),
                     "{\"x\":\"dflt\"}");
    ck_assert_str_eq(apply((ks_param_t){ .dependency = "order", .data_key = "nope" }, NULL),
                     "error: parameter of 'order': dataKey 'nope' resolves to nothing and there is no default value");
    /* dataKey only reads application/json data */
    ck_assert_str_eq(apply((ks_param_t){ .dependency = "text", .data_key = "x", .value = "v" }, NULL),
                     "{\"x\":\"v\"}");
}
END_TEST

/* Runs one parameter with a template (compiled here) in the data or context slot. */
static const char *
apply_template(ks_param_t p, const char *text, bool context)
{
    size_t       offset;
    char         err[256];
    ks_gotmpl_t *t = ks_gotmpl_parse(text, &offset, err, sizeof(err));
    const char  *out;

    ck_assert_msg(t != NULL, "%s", err);
    if (context)
        p.context_template = t;
    else
        p.data_template = t;
    out = apply(p, NULL);
    ks_gotmpl_free(t);
    return out;
}

/* dataTemplate and contextTemplate (params.go getValueWithTemplate): `.Input` is the decoded data
 * or context; the result is always a string; an error, "" or "<no value>" falls back to the key,
 * then to the value. */
START_TEST(test_templates)
{
    ck_assert_str_eq(apply_template((ks_param_t){ .dependency = "order" }, "{{ .Input.name | upper }}-{{ .Input.id }}",
                                    false), "{\"x\":\"CUP-42\"}");
    ck_assert_str_eq(apply_template((ks_param_t){ .dependency = "order", .use_raw_data = true }, "{{ .Input.id }}",
                                    false), "{\"x\":\"42\"}");
    ck_assert_str_eq(apply_template((ks_param_t){ .dependency = "order" }, "{{ .Input.source }}/{{ .Input.time }}",
                                    true), "{\"x\":\"shop/2026-01-01T12:00:00Z\"}");
    /* fall back: to the key, then to the value, else an error that says why */
    ck_assert_str_eq(apply_template((ks_param_t){ .dependency = "order", .data_key = "name" }, "{{ .Input.nope }}",
                                    false), "{\"x\":\"cup\"}");
    ck_assert_str_eq(apply_template((ks_param_t){ .dependency = "order", .value = "d" }, "{{ .Input.name | len | upper }}",
                                    false), "{\"x\":\"d\"}");
    ck_assert_str_eq(apply_template((ks_param_t){ .dependency = "order" }, "{{ .Input.e }}", false),
                     "error: parameter of 'order': dataTemplate: it evaluated to <no value>, and there is no default value");
    ck_assert_str_eq(apply_template((ks_param_t){ .dependency = "order" }, "{{ .Input.none.x }}", false),
                     "error: parameter of 'order': dataTemplate: nil pointer evaluating interface {}.x, and there is no "
                     "default value");
    /* data must be JSON for a dataTemplate */
    ck_assert_str_eq(apply_template((ks_param_t){ .dependency = "text" }, "{{ .Input }}", false),
                     "error: parameter of 'text': dataTemplate: the event data is not JSON, and there is no default value");
    /* with a data and a context template, the data's wins */
    {
        size_t       offset;
        char         err[256];
        ks_gotmpl_t *ctx = ks_gotmpl_parse("{{ .Input.id }}", &offset, err, sizeof(err));

        ck_assert_str_eq(apply_template((ks_param_t){ .dependency = "order", .context_template = ctx },
                                        "{{ .Input.amount }}", false), "{\"x\":\"12.5\"}");
        ks_gotmpl_free(ctx);
    }
}
END_TEST

START_TEST(test_missing_dependency)
{
    /* no event for the dependency: the default, or the parameter is skipped */
    ck_assert_str_eq(apply((ks_param_t){ .dependency = "gone", .data_key = "id", .value = "d" }, "{}"),
                     "{\"x\":\"d\"}");
    ck_assert_str_eq(apply((ks_param_t){ .dependency = "gone", .data_key = "id" }, "{\"y\":1}"), "{\"y\":1}");
}
END_TEST

START_TEST(test_whole_event)
{
    ck_assert_str_eq(apply((ks_param_t){ .dependency = "text", .use_raw_data = true }, NULL),
                     "{\"x\":\"{\\\"context\\\":{\\\"id\\\":\\\"t1\\\",\\\"source\\\":\\\"shop\\\","
                     "\\\"specversion\\\":\\\"1.0\\\",\\\"type\\\":\\\"note\\\",\\\"datacontenttype\\\":"
                     "\\\"text/plain\\\",\\\"subject\\\":\\\"text\\\",\\\"time\\\":null},"
                     "\\\"data\\\":\\\"aGVsbG8=\\\"}\"}");
    ck_assert_str_eq(apply((ks_param_t){ .dependency = "text", .value = "lit" }, NULL), "{\"x\":\"lit\"}");
}
END_TEST

START_TEST(test_operations_and_paths)
{
    ck_assert_str_eq(apply((ks_param_t){ .dependency = "order", .data_key = "name", .dest = "a.b",
                                         .op = KS_PARAM_APPEND }, "{\"a\":{\"b\":\"tea\"}}"),
                     "{\"a\":{\"b\":\"teacup\"}}");
    ck_assert_str_eq(apply((ks_param_t){ .dependency = "order", .data_key = "name", .dest = "a.b",
                                         .op = KS_PARAM_PREPEND }, "{\"a\":{\"b\":\"board\"}}"),
                     "{\"a\":{\"b\":\"cupboard\"}}");
    ck_assert_str_eq(apply((ks_param_t){ .dependency = "order", .data_key = "name", .dest = "a.b",
                                         .op = KS_PARAM_APPEND }, "{}"),
                     "{\"a\":{\"b\":\"cup\"}}");
    ck_assert_str_eq(apply((ks_param_t){ .dependency = "order", .data_key = "name", .dest = "list.-1" },
                           "{\"list\":[\"x\"]}"),
                     "{\"list\":[\"x\",\"cup\"]}");
    ck_assert_str_eq(apply((ks_param_t){ .dependency = "order", .data_key = "id", .dest = "a.b",
                                         .op = KS_PARAM_OVERWRITE }, "{\"a\":{\"b\":\"old\",\"c\":1}}"),
                     "{\"a\":{\"b\":\"42\",\"c\":1}}");
}
END_TEST

START_TEST(test_payload)
{
    ks_param_t      items[] = {
        { .dependency = "order", .data_key = "id", .dest = "order.id" },
        { .dependency = "order", .data_key = "amount", .use_raw_data = true, .dest = "order.amount" },
    };
    ks_param_t      whole[] = { { .dependency = "text", .data_key = "x", .value = "plain body", .dest = "" } };
    ks_params_t     params = { items, 2 }, raw = { whole, 1 }, none = { NULL, 0 };
    ks_held_event_t held[] = { { "order", &order }, { "text", &text_event } };
    char           *body, err[256];
    size_t          len;

    ck_assert_int_eq(ks_payload_build(&params, held, 2, &body, &len, err, sizeof(err)), 0);
    ck_assert_str_eq(body, "{\"order\":{\"id\":\"42\",\"amount\":12.5}}");
    ck_assert_uint_eq(len, strlen(body));
    free(body);
    ck_assert_int_eq(ks_payload_build(&raw, held, 2, &body, &len, err, sizeof(err)), 0);
    ck_assert_str_eq(body, "plain body");
    free(body);
    ck_assert_int_eq(ks_payload_build(&none, held, 2, &body, &len, err, sizeof(err)), 0);
    ck_assert_str_eq(body, "");
    free(body);
}
END_TEST

Suite *
suite_param(void)
{
    Suite *s = suite_create("param");
    TCase *tc = tcase_create("param");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_data_key);
    tcase_add_test(tc, test_context_key_and_default);
    tcase_add_test(tc, test_templates);
    tcase_add_test(tc, test_missing_dependency);
    tcase_add_test(tc, test_whole_event);
    tcase_add_test(tc, test_operations_and_paths);
    tcase_add_test(tc, test_payload);
    suite_add_tcase(s, tc);
    return s;
}
