/* test_cron.c — cron specs: next/previous activations (checked with `TZ=... date`), daylight-saving days,
 * robfig's own DST table, the day-of-month/day-of-week rule, the 5-year limit and every parse error. */
#include <stdint.h>

#include "sensor/cron.h"
#include "unit.h"

static const struct {
    const char *spec, *zone;
    int64_t     t, next, prev;
} cases[] = {
    /* 2026-01-01T00:00:00Z = 1767225600, a Thursday */
    { "*/15 * * * *", "", 1767225600, 1767226500, 1767225600 },
    { "*/15 * * * *", "", 1767225599, 1767225600, 1767224700 },
    { "0,15,30,45 * * * *", "Asia/Kolkata", 1767225599, 1767225600, 1767224700 },
    { "0 * * * *", "Asia/Kolkata", 1767225600, 1767227400, 1767223800 },     /* +5:30: local :00 is UTC :30 */
    { "0 9 * * MON-FRI", "America/New_York", 1767366000, 1767621600, 1767362400 },   /* Fri 10:00 -> Mon 09:00 */
    { "0 9 * * MON-FRI", "America/New_York", 1772827200, 1773061200, 1772805600 },   /* Mon after DST starts */
    /* Europe/Paris spring forward 2026-03-29: 02:30 does not exist, no activation that day */
    { "30 2 * * *", "Europe/Paris", 1774661400, 1774830600, 1774661400 },
    { "30 2 * * *", "Europe/Paris", 1774828800, 1774830600, 1774661400 },
    /* Europe/Paris fall back 2026-10-25: 02:30 happens at 00:30Z (CEST) and 01:30Z (CET), both fire */
    { "30 2 * * *", "Europe/Paris", 1792801800, 1792888200, 1792801800 },
    { "30 2 * * *", "Europe/Paris", 1792888200, 1792891800, 1792888200 },
    { "30 2 * * *", "Europe/Paris", 1792891799, 1792891800, 1792888200 },
    { "30 2 * * *", "Europe/Paris", 1792891800, 1792978200, 1792891800 },
    { "30 2 * * *", "Europe/Paris", 1792978199, 1792978200, 1792891800 },
    /* leap days, a 2100 that is not one, and the 5-year limit */
    { "0 0 29 2 *", "", 1767225600, 1835395200, 1709164800 },
    { "0 0 29 2 *", "Europe/Paris", 1767225600, 1835391600, 1709161200 },
    { "0 0 29 2 *", "", 3944678400, 3981312000, 3855081600 },       /* from 2095-01-01 */
    { "0 0 29 2 *", "", 3981398400, -1, 3981312000 },               /* from 2096-03-01: 2104 is too far */
    { "0 0 29 2 *", "", 4197052800, 4233686400, -1 },               /* from 2103-01-01: 2096 is too far */
    { "0 0 30 2 *", "", 1767225600, -1, -1 },
    /* day-of-month OR day-of-week when both are restricted; "*" or "?" (or step 1) leaves only the other */
    { "0 0 1 * MON", "", 1767225600, 1767571200, 1767225600 },
    { "0 0 1 * MON", "", 1767571200, 1768176000, 1767571200 },
    { "0 0 1 * MON", "", 1769558400, 1769904000, 1769385600 },      /* Jan 28 -> Sun Feb 1; back to Mon Jan 26 */
    { "0 0 ? * MON", "", 1767225600, 1767571200, 1766966400 },
    { "0 0 */1 * MON", "", 1767225600, 1767571200, 1766966400 },
    { "0 0 1-31 * MON", "", 1767225600, 1767312000, 1767225600 },
    { "0 0 1 * *", "", 1767225600, 1769904000, 1767225600 },
    /* names are case-insensitive; 7 is Sunday */
    { "0 0 * jan,Dec mon-fri", "", 1769731200, 1796083200, 1769731200 },
    { "0 0 * * 7", "", 1767225600, 1767484800, 1766880000 },
    { "0 0 * * sun", "", 1767225600, 1767484800, 1766880000 },
    { "0 0 * * 5-7", "", 1767225600, 1767312000, 1766880000 },
    /* the zone prefix wins over the timezone argument, as in robfig */
    { "CRON_TZ=Asia/Kolkata 0 9 * * *", "America/New_York", 1767225600, 1767238200, 1767151800 },
    { "  TZ=Europe/Paris\t30 2 * * * ", "", 1774661400, 1774830600, 1774661400 },
    /* robfig/cron v3 spec_test.go, America/New_York 2012 (5-field forms) */
    { "0 * * * *", "America/New_York", 1352005200, 1352008800, 1352005200 },  /* 01:00 EDT -> 01:00 EST */
    { "0 * * * *", "America/New_York", 1352008800, 1352012400, 1352008800 },  /* 01:00 EST -> 02:00 EST */
    { "0 1 * * *", "America/New_York", 1352005200, 1352008800, 1352005200 },  /* 1am runs twice */
    { "0 1 * * *", "America/New_York", 1352008800, 1352095200, 1352008800 },
    { "0 2 * * *", "America/New_York", 1331442000, 1331532000, 1331362800 },  /* 2am skipped on 03-11 */
    { "0 2 * * *", "America/New_York", 1352008800, 1352012400, 1351922400 },
    { "0 3 * * *", "America/New_York", 1352012400, 1352016000, 1351926000 },
};

START_TEST(test_next_prev)
{
    char       err[256] = "";
    ks_cron_t *cron = ks_cron_parse(cases[_i].spec, cases[_i].zone, err, sizeof(err));

    ck_assert_msg(cron != NULL, "%s: %s", cases[_i].spec, err);
    ck_assert_int_eq(ks_cron_next(cron, cases[_i].t), cases[_i].next);
    ck_assert_int_eq(ks_cron_prev(cron, cases[_i].t), cases[_i].prev);
    ks_cron_free(cron);
}
END_TEST

/* Walks a whole local year forwards and checks that prev retraces every step. */
static int
count_year(const char *spec, const char *zone, int64_t from, int64_t to)
{
    char       err[256];
    ks_cron_t *cron = ks_cron_parse(spec, zone, err, sizeof(err));
    int64_t    t = from - 1, last = -1;
    int        n = 0;

    ck_assert_ptr_nonnull(cron);
    while ((t = ks_cron_next(cron, t)) < to) {
        ck_assert_int_gt(t, last);
        ck_assert_int_eq(ks_cron_prev(cron, t), t);
        if (last >= 0)
            ck_assert_int_eq(ks_cron_prev(cron, t - 1), last);
        last = t;
        n++;
    }
    ks_cron_free(cron);
    return n;
}

START_TEST(test_year_walk)
{
    /* Paris 2026 runs from 1767222000 (00:00 CET) to 1798758000; one 02:30 is missing, one doubled. */
    ck_assert_int_eq(count_year("30 2 * * *", "Europe/Paris", 1767222000, 1798758000), 365);
    ck_assert_int_eq(count_year("0 * * * *", "Europe/Paris", 1767222000, 1798758000), 8760);
    ck_assert_int_eq(count_year("0 9 * * MON-FRI", "America/New_York", 1767243600, 1798779600), 261);
}
END_TEST

static const struct {
    const char *spec, *zone, *error;
} errors[] = {
    { "60 * * * *", "", "field 1 (minute): 60 is out of range 0-59" },
    { "0 24 * * *", "", "field 2 (hour): 24 is out of range 0-23" },
    { "0 0 0 * *", "", "field 3 (day-of-month): 0 is out of range 1-31" },
    { "0 0 32 * *", "", "field 3 (day-of-month): 32 is out of range 1-31" },
    { "0 0 * 13 *", "", "field 4 (month): 13 is out of range 1-12" },
    { "0 0 * FOO *", "", "field 4 (month): 'FOO' is not a number or a month name (JAN-DEC)" },
    { "0 0 * * 8", "", "field 5 (day-of-week): 8 is out of range 0-7" },
    { "0 0 * * FUN", "", "field 5 (day-of-week): 'FUN' is not a number or a day name (SUN-SAT)" },
    { "x * * * *", "", "field 1 (minute): 'x' is not a number" },
    { "99999999999 * * * *", "", "field 1 (minute): 99999999999 is out of range 0-59" },
    { "*/0 * * * *", "", "field 1 (minute): step in '*/0' must be a positive number" },
    { "5/x * * * *", "", "field 1 (minute): step in '5/x' must be a positive number" },
    { "0 5-2 * * *", "", "field 2 (hour): range '5-2' ends before it starts" },
    { "0 1,,2 * * *", "", "field 2 (hour): empty list element in '1,,2'" },
    { "1-2-3 * * * *", "", "field 1 (minute): too many '-' in '1-2-3'" },
    { "1/2/3 * * * *", "", "field 1 (minute): too many '/' in '1/2/3'" },
    { "0 -3 * * *", "", "field 2 (hour): '-3' is missing a number" },
    { "0 0 * * *", "Mars/Olympus_Mons", "unknown time zone 'Mars/Olympus_Mons'" },
    { "CRON_TZ=../etc/passwd 0 0 * * *", "", "unknown time zone '../etc/passwd'" },
    { "TZ=Europe/Paris", "", "'TZ=Europe/Paris' must be followed by a space and 5 fields" },
    { "0 0 * *", "", "expected 5 fields (minute hour day-of-month month day-of-week), found 4" },
    { "0 0 0 * * *", "", "expected 5 fields (minute hour day-of-month month day-of-week), found 6" },
    { "", "", "expected 5 fields (minute hour day-of-month month day-of-week), found 0" },
    { "@hourly", "", "descriptors such as @hourly are not supported; use 5 fields" },
    { "@every 1h30m", "", "descriptors such as @hourly are not supported; use 5 fields" },
    { "CRON_TZ=UTC @daily", "", "descriptors such as @hourly are not supported; use 5 fields" },
};

START_TEST(test_parse_errors)
{
    char err[256] = "";

    ck_assert_ptr_null(ks_cron_parse(errors[_i].spec, errors[_i].zone, err, sizeof(err)));
    ck_assert_str_eq(err, errors[_i].error);
}
END_TEST

START_TEST(test_null_spec)
{
    char err[256] = "";

    ck_assert_ptr_null(ks_cron_parse(NULL, NULL, err, sizeof(err)));
    ck_assert_str_eq(err, "expected 5 fields (minute hour day-of-month month day-of-week), found 0");
    ck_assert_ptr_null(ks_cron_parse("@hourly", NULL, NULL, 0));
    ks_cron_free(NULL);
}
END_TEST

Suite *
suite_cron(void)
{
    Suite *s = suite_create("cron");
    TCase *tc = tcase_create("cron");

    tcase_add_loop_test(tc, test_next_prev, 0, sizeof(cases) / sizeof(cases[0]));
    tcase_add_test(tc, test_year_walk);
    tcase_add_loop_test(tc, test_parse_errors, 0, sizeof(errors) / sizeof(errors[0]));
    tcase_add_test(tc, test_null_spec);
    suite_add_tcase(s, tc);
    return s;
}
