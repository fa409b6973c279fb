/* test_tz.c — time zones: system TZif zones against values checked with `TZ=... date`, footer rules
 * after 2037, refused names, synthetic TZif files (v1, J and n rules, damage) and civil arithmetic. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sensor/tz.h"
#include "unit.h"

/* "YYYY-MM-DD HH:MM:SS w" of an instant in a zone. */
static const char *
civil_text(const ks_tz_t *tz, int64_t t)
{
    static char buf[64];
    ks_civil_t  c;

    ks_tz_civil(tz, t, &c);
    snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d:%02d %d", c.year, c.month, c.day, c.hour, c.minute,
             c.second, c.wday);
    return buf;
}

static const struct {
    const char *zone;
    int64_t     t;
    int32_t     offset;
    const char *civil;
} offsets[] = {
    { "UTC", 0, 0, "1970-01-01 00:00:00 4" },
    { "UTC", -1, 0, "1969-12-31 23:59:59 3" },
    { "", 1767225600, 0, "2026-01-01 00:00:00 4" },
    /* Europe/Paris: 2025-03-30 and 2026-03-29 01:00Z spring forward, 2025-10-26 and 2026-10-25 01:00Z fall back */
    { "Europe/Paris", 1743296399, 3600, "2025-03-30 01:59:59 0" },
    { "Europe/Paris", 1743296400, 7200, "2025-03-30 03:00:00 0" },
    { "Europe/Paris", 1761440399, 7200, "2025-10-26 02:59:59 0" },
    { "Europe/Paris", 1761440400, 3600, "2025-10-26 02:00:00 0" },
    { "Europe/Paris", 1774745999, 3600, "2026-03-29 01:59:59 0" },
    { "Europe/Paris", 1774746000, 7200, "2026-03-29 03:00:00 0" },
    { "Europe/Paris", 1792889999, 7200, "2026-10-25 02:59:59 0" },
    { "Europe/Paris", 1792890000, 3600, "2026-10-25 02:00:00 0" },
    /* after 2037 the footer "CET-1CEST,M3.5.0,M10.5.0/3" decides */
    { "Europe/Paris", 2216249999, 3600, "2040-03-25 01:59:59 0" },
    { "Europe/Paris", 2216250000, 7200, "2040-03-25 03:00:00 0" },
    { "Europe/Paris", 2234998799, 7200, "2040-10-28 02:59:59 0" },
    { "Europe/Paris", 2234998800, 3600, "2040-10-28 02:00:00 0" },
    { "Europe/Paris", 4118126400, 7200, "2100-07-01 14:00:00 4" },
    /* America/New_York: 2025-03-09 07:00Z, 2025-11-02 06:00Z, 2026-03-08 07:00Z, 2026-11-01 06:00Z */
    { "America/New_York", 1741503599, -18000, "2025-03-09 01:59:59 0" },
    { "America/New_York", 1741503600, -14400, "2025-03-09 03:00:00 0" },
    { "America/New_York", 1762063199, -14400, "2025-11-02 01:59:59 0" },
    { "America/New_York", 1762063200, -18000, "2025-11-02 01:00:00 0" },
    { "America/New_York", 1772953199, -18000, "2026-03-08 01:59:59 0" },
    { "America/New_York", 1772953200, -14400, "2026-03-08 03:00:00 0" },
    { "America/New_York", 1793512799, -14400, "2026-11-01 01:59:59 0" },
    { "America/New_York", 1793512800, -18000, "2026-11-01 01:00:00 0" },
    { "America/New_York", 2215061999, -18000, "2040-03-11 01:59:59 0" },
    { "America/New_York", 2215062000, -14400, "2040-03-11 03:00:00 0" },
    { "America/New_York", 2235621599, -14400, "2040-11-04 01:59:59 0" },
    { "America/New_York", 2235621600, -18000, "2040-11-04 01:00:00 0" },
    { "America/New_York", 4118126400, -14400, "2100-07-01 08:00:00 4" },
    /* southern hemisphere footer (DST across the new year) and a negative rule time (M3.5.0/-1) */
    { "Australia/Sydney", 2216822399, 39600, "2040-04-01 02:59:59 0" },
    { "Australia/Sydney", 2216822400, 36000, "2040-04-01 02:00:00 0" },
    { "Australia/Sydney", 2233151999, 36000, "2040-10-07 01:59:59 0" },
    { "Australia/Sydney", 2233152000, 39600, "2040-10-07 03:00:00 0" },
    { "America/Nuuk", 2216249999, -7200, "2040-03-24 22:59:59 6" },
    { "America/Nuuk", 2216250000, -3600, "2040-03-25 00:00:00 0" },
    { "Asia/Kolkata", 1767225600, 19800, "2026-01-01 05:30:00 4" },
    { "Asia/Kolkata", 2216250000, 19800, "2040-03-25 06:30:00 0" },
};

START_TEST(test_offsets)
{
    char     err[256] = "";
    ks_tz_t *tz = ks_tz_load(offsets[_i].zone, err, sizeof(err));

    ck_assert_msg(tz != NULL, "%s: %s", offsets[_i].zone, err);
    ck_assert_int_eq(ks_tz_offset(tz, offsets[_i].t), offsets[_i].offset);
    ck_assert_str_eq(civil_text(tz, offsets[_i].t), offsets[_i].civil);
    ks_tz_free(tz);
}
END_TEST

START_TEST(test_names)
{
    char     err[256];
    ks_tz_t *tz;

    tz = ks_tz_load(NULL, err, sizeof(err));
    ck_assert_str_eq(ks_tz_name(tz), "UTC");
    ks_tz_free(tz);
    tz = ks_tz_load("Europe/Paris", err, sizeof(err));
    ck_assert_str_eq(ks_tz_name(tz), "Europe/Paris");
    ks_tz_free(tz);
    tz = ks_tz_load("Etc/GMT+5", err, sizeof(err));         /* POSIX sign: five hours west */
    ck_assert_ptr_nonnull(tz);
    ck_assert_int_eq(ks_tz_offset(tz, 1767225600), -18000);
    ks_tz_free(tz);
}
END_TEST

static const char *const refused[] = {
    "Mars/Olympus_Mons", "../etc/passwd", "/etc/passwd", "Europe/../Europe/Paris", "Europe//Paris",
    "./UTC", "Europe/", "Europe", "Europe/Paris ", "Local", "zone1970.tab",
};

START_TEST(test_refused)
{
    char err[256], want[300];

    snprintf(want, sizeof(want), "unknown time zone '%s'", refused[_i]);
    ck_assert_ptr_null(ks_tz_load(refused[_i], err, sizeof(err)));
    ck_assert_str_eq(err, want);
}
END_TEST

static const struct {
    const char *zone;
    int64_t     t;
    int32_t     second;
} seconds_of_day[] = {
    { "UTC", -1, 86399 },
    { "UTC", 1767225600 + 3723, 3723 },
    { "Europe/Paris", 1774746000, 10800 },        /* 03:00 just after the gap */
    { "Europe/Paris", 1792890000, 7200 },         /* the second 02:00 */
    { "America/New_York", 1767225600, 68400 },    /* 19:00 the day before */
    { "Asia/Kolkata", 1767292199, 86399 },        /* 2026-01-01T18:29:59Z is 23:59:59 */
    { "Asia/Kolkata", 1767292200, 0 },
};

START_TEST(test_second_of_day)
{
    char     err[256];
    ks_tz_t *tz = ks_tz_load(seconds_of_day[_i].zone, err, sizeof(err));

    ck_assert_ptr_nonnull(tz);
    ck_assert_int_eq(ks_tz_second_of_day(tz, seconds_of_day[_i].t), seconds_of_day[_i].second);
    ks_tz_free(tz);
}
END_TEST

START_TEST(test_civil_arithmetic)
{
    ks_civil_t c;
    int64_t    days;

    ck_assert_int_eq(ks_tz_days_from_civil(1970, 1, 1), 0);
    ck_assert_int_eq(ks_tz_days_from_civil(1969, 12, 31), -1);
    ck_assert_int_eq(ks_tz_days_from_civil(2000, 3, 1), 11017);
    ck_assert_int_eq(ks_tz_days_from_civil(2026, 1, 1), 20454);
    ck_assert_int_eq(ks_tz_days_from_civil(1600, 1, 1), -135140);
    ck_assert_int_eq(ks_tz_days_from_civil(2400, 2, 29), 157113);
    ck_assert_int_eq(ks_tz_days_in_month(2024, 2), 29);
    ck_assert_int_eq(ks_tz_days_in_month(2100, 2), 28);
    ck_assert_int_eq(ks_tz_days_in_month(2000, 2), 29);
    for (days = -1000000; days <= 1000000; days += 997) {
        ks_tz_civil_from_seconds(days * 86400 + 45296, &c);
        ck_assert_int_eq(ks_tz_days_from_civil(c.year, c.month, c.day), days);
        ck_assert_int_eq(c.hour * 3600 + c.minute * 60 + c.second, 45296);
        ck_assert_int_eq(c.wday, (int)(((days + 4) % 7 + 7) % 7));
    }
}
END_TEST

/* ---- synthetic TZif files under $TZDIR ---- */

static unsigned char *
put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
    return p + 4;
}

/* One header and data block; times of timesize bytes; leap records are zero. */
static unsigned char *
put_block(unsigned char *p, char version, int timesize, size_t ntrans, const int64_t *trans, const uint8_t *idx,
          size_t ntypes, const int32_t *offs, uint32_t nleap)
{
    size_t i;

    memcpy(p, "TZif", 4);
    p[4] = (unsigned char)version;
    memset(p + 5, 0, 15);
    p += 20;
    p = put32(p, 0);
    p = put32(p, 0);
    p = put32(p, nleap);
    p = put32(p, (uint32_t)ntrans);
    p = put32(p, (uint32_t)ntypes);
    p = put32(p, 4);
    for (i = 0; i < ntrans; i++) {
        if (timesize == 8)
            p = put32(p, (uint32_t)((uint64_t)trans[i] >> 32));
        p = put32(p, (uint32_t)trans[i]);
    }
    for (i = 0; i < ntrans; i++)
        *p++ = idx[i];
    for (i = 0; i < ntypes; i++) {
        p = put32(p, (uint32_t)offs[i]);
        *p++ = 0;
        *p++ = 0;
    }
    memcpy(p, "XST", 4);
    p += 4;
    memset(p, 0, nleap * (uint32_t)(timesize + 4));
    return p + nleap * (uint32_t)(timesize + 4);
}

/* Writes $TZDIR/Test/name (version 0 without a footer, else '2' with it), cut to keep bytes if keep > 0. */
static void
write_zone(const char *name, char version, size_t ntrans, const int64_t *trans, const uint8_t *idx, size_t ntypes,
           const int32_t *offs, uint32_t nleap, const char *footer, size_t keep)
{
    static unsigned char buf[4096];
    unsigned char       *p = put_block(buf, version, 4, ntrans, trans, idx, ntypes, offs, nleap);
    char                 path[1024];
    FILE                *f;

    if (version != 0) {
        p = put_block(p, version, 8, ntrans, trans, idx, ntypes, offs, nleap);
        p += sprintf((char *)p, "\n%s\n", footer);
    }
    snprintf(path, sizeof(path), "%s/Test", unit_tmpdir());
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/Test/%s", unit_tmpdir(), name);
    ck_assert_ptr_nonnull(f = fopen(path, "wb"));
    ck_assert_uint_eq(fwrite(buf, 1, keep ? keep : (size_t)(p - buf), f), keep ? keep : (size_t)(p - buf));
    fclose(f);
    setenv("TZDIR", unit_tmpdir(), 1);
}

START_TEST(test_tzif_v1)
{
    static const int64_t trans[] = { 1000000000 };
    static const uint8_t idx[] = { 1 };
    static const int32_t offs[] = { -3600, 7200 };
    char                 err[256];
    int64_t              start, end;
    ks_tz_t             *tz;

    write_zone("V1", 0, 1, trans, idx, 2, offs, 0, NULL, 0);
    ck_assert_ptr_nonnull(tz = ks_tz_load("Test/V1", err, sizeof(err)));
    ck_assert_int_eq(ks_tz_span(tz, 999999999, &start, &end), -3600);
    ck_assert(start == INT64_MIN);
    ck_assert_int_eq(end, 1000000000);
    ck_assert_int_eq(ks_tz_span(tz, 1000000000, &start, &end), 7200);
    ck_assert_int_eq(start, 1000000000);
    ck_assert(end == INT64_MAX);
    ck_assert_int_eq(ks_tz_offset(tz, INT64_MAX), 7200);
    ck_assert_int_eq(ks_tz_offset(tz, INT64_MIN), -3600);
    ks_tz_free(tz);
}
END_TEST

/* Footer-only zones with Jn (Feb 29 never counted) and zero-based n rules, checked with glibc's TZ=... date. */
static const struct {
    const char *footer;
    int64_t     t;
    int32_t     offset;
} footer_rules[] = {
    { "<+0330>-3:30<+0430>,J79/24,J263/24", 1900268999, 12600 },     /* 2030-03-20T20:29:59Z */
    { "<+0330>-3:30<+0430>,J79/24,J263/24", 1900269000, 16200 },
    { "<+0330>-3:30<+0430>,J79/24,J263/24", 1916162999, 16200 },     /* 2030-09-20T19:29:59Z */
    { "<+0330>-3:30<+0430>,J79/24,J263/24", 1916163000, 12600 },
    { "<+0330>-3:30<+0430>,J79/24,J263/24", 1963427399, 12600 },     /* 2032-03-20T20:29:59Z, leap year */
    { "<+0330>-3:30<+0430>,J79/24,J263/24", 1963427400, 16200 },
    { "AAA-2BBB,59/0,300/0", 1898546399, 7200 },                     /* 2030-02-28T21:59:59Z: day 59 is Mar 1 */
    { "AAA-2BBB,59/0,300/0", 1898546400, 10800 },
    { "AAA-2BBB,59/0,300/0", 1961618399, 7200 },                     /* 2032-02-28T21:59:59Z: day 59 is Feb 29 */
    { "AAA-2BBB,59/0,300/0", 1961618400, 10800 },
    { "AAA-2BBB,59/0,300/0", 1982437199, 10800 },                    /* 2032-10-26T20:59:59Z */
    { "AAA-2BBB,59/0,300/0", 1982437200, 7200 },
    { "XST3", 1982437200, -10800 },
};

START_TEST(test_tzif_footer_rules)
{
    static const int32_t offs[] = { 0 };
    char                 err[256];
    ks_tz_t             *tz;

    write_zone("Rule", '3', 0, NULL, NULL, 1, offs, 0, footer_rules[_i].footer, 0);
    tz = ks_tz_load("Test/Rule", err, sizeof(err));
    ck_assert_msg(tz != NULL, "%s", err);
    ck_assert_int_eq(ks_tz_offset(tz, footer_rules[_i].t), footer_rules[_i].offset);
    ks_tz_free(tz);
}
END_TEST

START_TEST(test_tzif_damaged)
{
    static const int64_t trans[] = { 1000000000 };
    static const uint8_t idx[] = { 1 };
    static const int32_t offs[] = { 0, 3600 };
    char                 err[512], want[1024];

    write_zone("Leap", '2', 1, trans, idx, 2, offs, 1, "XST-1", 0);
    ck_assert_ptr_null(ks_tz_load("Test/Leap", err, sizeof(err)));
    snprintf(want, sizeof(want),
             "time zone 'Test/Leap': %s/Test/Leap is not a usable TZif file: it has leap-second records, which are "
             "not supported", unit_tmpdir());
    ck_assert_str_eq(err, want);

    write_zone("Cut", '2', 1, trans, idx, 2, offs, 0, "XST-1", 70);
    ck_assert_ptr_null(ks_tz_load("Test/Cut", err, sizeof(err)));
    snprintf(want, sizeof(want), "time zone 'Test/Cut': %s/Test/Cut is not a usable TZif file: truncated",
             unit_tmpdir());
    ck_assert_str_eq(err, want);

    write_zone("NoRules", '2', 1, trans, idx, 2, offs, 0, "XST-1XDT", 0);
    ck_assert_ptr_null(ks_tz_load("Test/NoRules", err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "its footer is not a POSIX TZ string this reader understands"));

    unit_write("Plain", "not a zone\n");
    setenv("TZDIR", unit_tmpdir(), 1);
    ck_assert_ptr_null(ks_tz_load("Plain", err, sizeof(err)));
    ck_assert_str_eq(err, "unknown time zone 'Plain'");
}
END_TEST

Suite *
suite_tz(void)
{
    Suite *s = suite_create("tz");
    TCase *tc = tcase_create("tz");

    tcase_add_loop_test(tc, test_offsets, 0, sizeof(offsets) / sizeof(offsets[0]));
    tcase_add_test(tc, test_names);
    tcase_add_loop_test(tc, test_refused, 0, sizeof(refused) / sizeof(refused[0]));
    tcase_add_loop_test(tc, test_second_of_day, 0, sizeof(seconds_of_day) / sizeof(seconds_of_day[0]));
    tcase_add_test(tc, test_civil_arithmetic);
    tcase_add_test(tc, test_tzif_v1);
    tcase_add_loop_test(tc, test_tzif_footer_rules, 0, sizeof(footer_rules) / sizeof(footer_rules[0]));
    tcase_add_test(tc, test_tzif_damaged);
    suite_add_tcase(s, tc);
    return s;
}
