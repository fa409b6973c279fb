/* test_changelog.c — the changelog value: held events and sources written and read back byte for
 * byte (events with newlines, braces and NUL bytes, an empty one, none at all), values in the layout
 * written before events followed the header, and values that are not changelog values refused with
 * a reason. */
#include <stdlib.h>
#include <string.h>

#include "pipeline/changelog.h"
#include "unit.h"

static char *
encode(const ks_changelog_held_t *held, size_t nheld, const ks_changelog_source_t *sources, size_t nsources,
       size_t *len)
{
    ks_changelog_writer_t *w = ks_changelog_writer_new();

    for (size_t i = 0; i < nheld; i++)
        ks_changelog_add_held(w, &held[i]);
    for (size_t i = 0; i < nsources; i++)
        ks_changelog_add_source(w, &sources[i]);
    return ks_changelog_finish(w, len);
}

START_TEST(test_round_trip)
{
    static const char          odd[] = "{\"x\":\"}\\n{\"}\n\0tail";
    const ks_changelog_held_t  held[] = {
        { .dependency = "a", .held_at = 1733600000123, .source = "ev/0/17", .event = "{\"id\":1}", .event_len = 8 },
        { .dependency = "b-dep", .held_at = 5, .source = "ev/3/9", .event = odd, .event_len = sizeof(odd) },
        { .dependency = "c", .held_at = 6, .source = "", .event = NULL, .event_len = 0 },
    };
    const ks_changelog_source_t sources[] = { { "ev", 0, 18 }, { "other-topic", 7, 1LL << 40 } };
    size_t                      len;
    char                       *value = encode(held, 3, sources, 2, &len), err[200];
    ks_changelog_t              cl;

    ck_assert_int_eq(ks_changelog_parse(&cl, value, len, err, sizeof(err)), 0);
    ck_assert_uint_eq(cl.nheld, 3);
    for (size_t i = 0; i < 3; i++) {
        ck_assert_str_eq(cl.held[i].dependency, held[i].dependency);
        ck_assert_int_eq(cl.held[i].held_at, held[i].held_at);
        ck_assert_str_eq(cl.held[i].source, held[i].source);
        ck_assert_uint_eq(cl.held[i].event_len, held[i].event_len);
        ck_assert(held[i].event_len == 0 || memcmp(cl.held[i].event, held[i].event, held[i].event_len) == 0);
    }
    ck_assert_uint_eq(cl.nsources, 2);
    ck_assert_str_eq(cl.sources[1].topic, "other-topic");
    ck_assert_int_eq(cl.sources[1].partition, 7);
    ck_assert_int_eq(cl.sources[1].next, 1LL << 40);
    ck_assert_int_eq(cl.sources[0].next, 18);
    /* the events are not inside the JSON header: no escaping of their bytes */
    ck_assert_ptr_nonnull(memmem(value, len, odd, sizeof(odd)));
    ks_changelog_free(&cl);
    free(value);
}
END_TEST

START_TEST(test_nothing_held)
{
    size_t         len;
    char          *value = encode(NULL, 0, NULL, 0, &len), err[200];
    ks_changelog_t cl;

    ck_assert_int_eq(ks_changelog_parse(&cl, value, len, err, sizeof(err)), 0);
    ck_assert_uint_eq(cl.nheld, 0);
    ck_assert_uint_eq(cl.nsources, 0);
    ks_changelog_free(&cl);
    free(value);
}
END_TEST

/* records in <pool>-state written before this layout: events as JSON strings, nothing after */
START_TEST(test_earlier_layout)
{
    const char    *old = "{\"held\":[{\"dependency\":\"a\",\"held_at\":12,\"source\":\"ev/0/3\","
                         "\"event\":\"{\\\"id\\\":\\\"x\\\"}\"}],\"sources\":[{\"topic\":\"ev\",\"partition\":2,\"next\":4}]}";
    char           err[200];
    ks_changelog_t cl;

    ck_assert_int_eq(ks_changelog_parse(&cl, old, strlen(old), err, sizeof(err)), 0);
    ck_assert_uint_eq(cl.nheld, 1);
    ck_assert_uint_eq(cl.held[0].event_len, strlen("{\"id\":\"x\"}"));
    ck_assert_int_eq(memcmp(cl.held[0].event, "{\"id\":\"x\"}", cl.held[0].event_len), 0);
    ck_assert_int_eq(cl.held[0].held_at, 12);
    ck_assert_int_eq(cl.sources[0].partition, 2);
    ks_changelog_free(&cl);
    ck_assert_int_eq(ks_changelog_parse(&cl, "{\"held\":[]}", 11, err, sizeof(err)), 0);
    ks_changelog_free(&cl);
}
END_TEST

START_TEST(test_not_a_changelog_value)
{
    static const struct { const char *value, *reason; } cases[] = {
        { "", "not JSON" },
        { "garbage", "not JSON" },
        { "{\"sources\":[]}", "no \"held\" array" },
        { "{\"held\":[{\"dependency\":\"a\",\"held_at\":1,\"source\":\"s\",\"size\":5}]}\nabc", "runs past the end" },
        { "{\"held\":[{\"dependency\":\"a\",\"held_at\":1,\"source\":\"s\",\"size\":-1}]}\n", "runs past the end" },
        { "{\"held\":[{\"dependency\":\"a\",\"held_at\":1,\"source\":\"s\",\"size\":2}]}\nabc", "bytes after" },
        { "{\"held\":[{\"held_at\":1,\"source\":\"s\",\"size\":0}]}\n", "without dependency" },
        { "{\"held\":[{\"dependency\":\"a\",\"held_at\":1,\"source\":\"s\"}]}", "without size or event" },
        { "{\"held\":[],\"sources\":[{\"topic\":\"t\",\"next\":1}]}\n", "a source without" },
    };
    char           err[200];
    ks_changelog_t cl;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_msg(ks_changelog_parse(&cl, cases[i].value, strlen(cases[i].value), err, sizeof(err)) == -1,
                      "case %zu parsed", i);
        ck_assert_msg(strstr(err, cases[i].reason) != NULL, "case %zu: %s", i, err);
        ck_assert_ptr_null(cl.doc);
    }
}
END_TEST

Suite *
suite_changelog(void)
{
    Suite *s = suite_create("changelog");
    TCase *tc = tcase_create("codec");

    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_nothing_held);
    tcase_add_test(tc, test_earlier_layout);
    tcase_add_test(tc, test_not_a_changelog_value);
    suite_add_tcase(s, tc);
    return s;
}
