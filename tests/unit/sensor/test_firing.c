/* test_firing.c — the firing record: held events carried byte for byte under their dependency names
 * (no re-encoding), anything that is not a JSON object carried as null, names escaped as JSON
 * strings, and the {dependency: event id} map of the firings table; read back by the action stage
 * without a document: id, the events' text, their ids sorted by dependency, the completing event's
 * id, and texts that are not firing records refused. */
#include <stdlib.h>
#include <string.h>

#include "sensor/firing.h"
#include "sensor/load.h"
#include "unit.h"

static ks_pool_t pool;

static ks_trigger_t *
load_trigger(void)
{
    const char *yaml = "apiVersion: argoproj.io/v1alpha1\nkind: Sensor\nmetadata: {name: \"s\\\"q\"}\nspec:\n"
                       "  dependencies:\n"
                       "    - {name: a, eventSourceName: x, eventName: a}\n"
                       "    - {name: b, eventSourceName: x, eventName: b}\n"
                       "  triggers:\n    - template: {name: t, conditions: \"a && b\", log: {}}\n";
    ks_diag_t   diag = {0};

    ck_assert_uint_eq(ks_pool_load_file(&pool, unit_write("s.yaml", yaml), &diag), 0);
    return &pool.sensors[0]->triggers[0];
}

START_TEST(test_encode)
{
    ks_trigger_t *trig = load_trigger();
    const char   *deps[] = { "a", "b" };
    const char   *events[] = { "{\"id\":\"e-1\", \"data\":{\"n\":1.50}}", "{\"data\":\"\\u0000\",\"id\":\"e\\\"2\"}" };
    size_t        lens[] = { strlen(events[0]), strlen(events[1]) }, len;
    char         *ids = NULL, *text = ks_firing_encode("s/t@tp/0/7", trig, deps, events, lens, 2, &len, &ids);
    json_t       *firing = json_loadb(text, len, JSON_ALLOW_NUL, NULL);

    ck_assert_ptr_nonnull(firing);
    ck_assert_str_eq(json_string_value(json_object_get(firing, "id")), "s/t@tp/0/7");
    ck_assert_str_eq(json_string_value(json_object_get(firing, "sensor")), "s\"q");
    ck_assert_str_eq(json_string_value(json_object_get(firing, "trigger")), "t");
    /* the events' own text, not a re-encoding of it (1.50 stays 1.50, the space stays) */
    ck_assert_ptr_nonnull(strstr(text, "\"a\":{\"id\":\"e-1\", \"data\":{\"n\":1.50}}"));
    ck_assert_ptr_nonnull(strstr(text, events[1]));
    ck_assert_str_eq(ids, "{\"a\":\"e-1\",\"b\":\"e\\\"2\"}");
    json_decref(firing);
    free(text);
    free(ids);
}
END_TEST

START_TEST(test_not_an_object)
{
    ks_trigger_t *trig = load_trigger();
    const char   *deps[] = { "a", "b" };
    const char   *events[] = { "{\"id\":", "[1,2]" };
    size_t        lens[] = { strlen(events[0]), strlen(events[1]) }, len;
    char         *ids = NULL, *text = ks_firing_encode("f", trig, deps, events, lens, 2, &len, &ids);

    ck_assert_str_eq(text, "{\"id\":\"f\",\"sensor\":\"s\\\"q\",\"trigger\":\"t\",\"events\":{\"a\":null,\"b\":null}}");
    ck_assert_uint_eq(len, strlen(text));
    ck_assert_str_eq(ids, "{\"a\":null,\"b\":null}");
    free(text);
    free(ids);
    text = ks_firing_encode("f", trig, deps, events, lens, 0, &len, NULL);
    ck_assert_str_eq(text, "{\"id\":\"f\",\"sensor\":\"s\\\"q\",\"trigger\":\"t\",\"events\":{}}");
    free(text);
    /* without ids, the caller's own encoding: not checked again */
    text = ks_firing_encode("f", trig, deps, events, lens, 1, &len, NULL);
    ck_assert_str_eq(text, "{\"id\":\"f\",\"sensor\":\"s\\\"q\",\"trigger\":\"t\",\"events\":{\"a\":{\"id\":}}");
    free(text);
}
END_TEST

START_TEST(test_read)
{
    ks_trigger_t      *trig = load_trigger();
    const char        *deps[] = { "b", "a" };
    const char        *events[] = { "{\"data\":\"\\u0000\",\"id\":\"e\\\"2\"}", "{\"id\":\"e-1\",\"x\":[1,{\"id\":9}]}" };
    size_t             lens[] = { strlen(events[0]), strlen(events[1]) }, len;
    char              *text = ks_firing_encode("s/t@tp/0/7", trig, deps, events, lens, 2, &len, NULL);
    ks_firing_record_t r;

    ck_assert_int_eq(ks_firing_read(&r, text, len, "b"), 0);
    ck_assert_str_eq(r.id, "s/t@tp/0/7");
    ck_assert_uint_eq(r.events_len, strlen(text) - (size_t)(r.events - text) - 1);
    ck_assert_int_eq(strncmp(r.events, "{\"b\":{\"data\"", 12), 0);
    ck_assert_str_eq(r.event_ids, "{\"a\":\"e-1\",\"b\":\"e\\\"2\"}");
    ck_assert_str_eq(r.completing, "e\"2");
    ks_firing_record_free(&r);
    ck_assert_int_eq(ks_firing_read(&r, text, len, "c"), 0);
    ck_assert_ptr_null(r.completing);
    ks_firing_record_free(&r);
    free(text);
    /* an event without an id, or not an object */
    text = "{\"id\":\"f\",\"events\":{\"a\":{\"x\":1},\"b\":null}}";
    ck_assert_int_eq(ks_firing_read(&r, text, strlen(text), "a"), 0);
    ck_assert_str_eq(r.event_ids, "{\"a\":null,\"b\":null}");
    ck_assert_ptr_null(r.completing);
    ks_firing_record_free(&r);
}
END_TEST

START_TEST(test_not_a_firing_record)
{
    static const char *const texts[] = {
        "", "garbage", "[1]", "{\"events\":{}}", "{\"id\":7,\"events\":{}}", "{\"id\":\"f\"}",
        "{\"id\":\"f\",\"events\":[]}", "{\"id\":\"f\",\"events\":{\"a\":{}}", "{\"id\":\"f\",\"events\":{}} x",
    };
    ks_firing_record_t r;

    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        ck_assert_msg(ks_firing_read(&r, texts[i], strlen(texts[i]), NULL) == -1, "%s was read", texts[i]);
        ks_firing_record_free(&r);
    }
}
END_TEST

Suite *
suite_firing(void)
{
    Suite *s = suite_create("firing");
    TCase *tc = tcase_create("encode");

    tcase_add_test(tc, test_encode);
    tcase_add_test(tc, test_not_an_object);
    tcase_add_test(tc, test_read);
    tcase_add_test(tc, test_not_a_firing_record);
    suite_add_tcase(s, tc);
    return s;
}
