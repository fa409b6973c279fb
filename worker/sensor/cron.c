/* cron.c — 5-field cron specs as bit sets, and next/previous activation search (see cron.h). */
#include "sensor/cron.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "core/mem.h"
#include "sensor/tz.h"

struct ks_cron {
    uint64_t  minute;               /* bit n set: n matches */
    uint64_t  hour;
    uint64_t  dom;                  /* bits 1-31 */
    uint64_t  month;                /* bits 1-12 */
    uint64_t  dow;                  /* bits 0-6, 0 = Sunday */
    bool      dom_star, dow_star;   /* the field was "*" or "?": robfig's day-matching rule needs it */
    ks_tz_t  *tz;
};

typedef struct cron_field {
    const char *name;
    int         min, max, star_max; /* star_max: where "*" and "N/step" end (day-of-week 7 is an alias) */
    const char *names;              /* three-letter names for min, min+1, ... */
    const char *kind;
} cron_field_t;

static const cron_field_t fields[5] = {
    { "minute", 0, 59, 59, NULL, NULL },
    { "hour", 0, 23, 23, NULL, NULL },
    { "day-of-month", 1, 31, 31, NULL, NULL },
    { "month", 1, 12, 12, "janfebmaraprmayjunjulaugsepoctnovdec", "a month name (JAN-DEC)" },
    { "day-of-week", 0, 7, 6, "sunmontuewedthufrisat", "a day name (SUN-SAT)" },
};

/* A local wall-clock minute. */
typedef struct cron_lt {
    int64_t year;
    int     month, day, hour, minute;
} cron_lt_t;

static bool
is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* ---- parsing ---- */

/* Parses a number or a name of field f; -1 with a message if it is neither. */
static int
parse_value(const cron_field_t *f, int fi, const char *tok, size_t len, int *out, char *err, size_t errlen)
{
    size_t i;
    int    v = 0;

    if (len > 0 && tok[0] >= '0' && tok[0] <= '9') {
        for (i = 0; i < len && tok[i] >= '0' && tok[i] <= '9'; i++)
            v = v < 1000 ? v * 10 + (tok[i] - '0') : v;
        if (i == len) {
            if (v < f->min || v > f->max) {
                ks_errf(err, errlen, "field %d (%s): %.*s is out of range %d-%d", fi + 1, f->name, (int)len, tok,
                        f->min, f->max);
                return -1;
            }
            *out = v;
            return 0;
        }
    }
    if (f->names != NULL && len == 3) {
        for (i = 0; f->names[i * 3] != '\0'; i++) {
            const char *n = f->names + i * 3;

            if ((tok[0] | 0x20) == n[0] && (tok[1] | 0x20) == n[1] && (tok[2] | 0x20) == n[2]) {
                *out = f->min + (int)i;
                return 0;
            }
        }
    }
    if (f->kind != NULL)
        ks_errf(err, errlen, "field %d (%s): '%.*s' is not a number or %s", fi + 1, f->name, (int)len, tok, f->kind);
    else
        ks_errf(err, errlen, "field %d (%s): '%.*s' is not a number", fi + 1, f->name, (int)len, tok);
    return -1;
}

/* Parses one element of a list: "*", "?", N, N-M, each with an optional "/step". */
static int
parse_element(const cron_field_t *f, int fi, const char *e, size_t len, uint64_t *bits, bool *star, char *err,
              size_t errlen)
{
    const char *slash = memchr(e, '/', len), *dash;
    size_t      rlen = slash ? (size_t)(slash - e) : len;
    int         lo, hi, step = 1, v;

    if (slash != NULL) {
        const char *s = slash + 1;
        size_t      slen = len - rlen - 1, i;

        if (memchr(s, '/', slen) != NULL) {
            ks_errf(err, errlen, "field %d (%s): too many '/' in '%.*s'", fi + 1, f->name, (int)len, e);
            return -1;
        }
        for (i = 0, step = 0; i < slen && s[i] >= '0' && s[i] <= '9'; i++)
            step = step < 1000 ? step * 10 + (s[i] - '0') : step;
        if (slen == 0 || i != slen || step == 0) {
            ks_errf(err, errlen, "field %d (%s): step in '%.*s' must be a positive number", fi + 1, f->name, (int)len,
                    e);
            return -1;
        }
    }
    if (rlen == 1 && (e[0] == '*' || e[0] == '?')) {
        lo = f->min;
        hi = f->star_max;
        *star = *star || step == 1;
    } else {
        dash = memchr(e, '-', rlen);
        if (rlen == 0 || dash == e || (dash != NULL && dash + 1 == e + rlen)) {
            ks_errf(err, errlen, "field %d (%s): '%.*s' is missing a number", fi + 1, f->name, (int)len, e);
            return -1;
        }
        if (dash != NULL && memchr(dash + 1, '-', rlen - (size_t)(dash - e) - 1) != NULL) {
            ks_errf(err, errlen, "field %d (%s): too many '-' in '%.*s'", fi + 1, f->name, (int)len, e);
            return -1;
        }
        if (parse_value(f, fi, e, dash ? (size_t)(dash - e) : rlen, &lo, err, errlen) != 0)
            return -1;
        hi = slash ? f->star_max : lo;
        if (dash != NULL && parse_value(f, fi, dash + 1, rlen - (size_t)(dash - e) - 1, &hi, err, errlen) != 0)
            return -1;
        if (lo > hi) {
            ks_errf(err, errlen, "field %d (%s): range '%.*s' ends before it starts", fi + 1, f->name, (int)len, e);
            return -1;
        }
    }
    for (v = lo; v <= hi; v += step)
        *bits |= (uint64_t)1 << v;
    return 0;
}

/* Parses a comma-separated field into a bit set. */
static int
parse_field(int fi, const char *text, size_t len, uint64_t *bits, bool *star, char *err, size_t errlen)
{
    const cron_field_t *f = &fields[fi];
    const char         *e = text, *end = text + len;

    *bits = 0;
    *star = false;
    for (;;) {
        const char *comma = memchr(e, ',', (size_t)(end - e));
        const char *stop = comma ? comma : end;

        if (stop == e) {
            ks_errf(err, errlen, "field %d (%s): empty list element in '%.*s'", fi + 1, f->name, (int)len, text);
            return -1;
        }
        if (parse_element(f, fi, e, (size_t)(stop - e), bits, star, err, errlen) != 0)
            return -1;
        if (comma == NULL)
            break;
        e = comma + 1;
    }
    if (fi == 4 && (*bits >> 7 & 1))
        *bits = (*bits & ~((uint64_t)1 << 7)) | 1;
    return 0;
}

ks_cron_t *
ks_cron_parse(const char *spec, const char *timezone, char *err, size_t errlen)
{
    const char *s = spec ? spec : "", *tok[6];
    size_t      toklen[6];
    char        zone[256];
    int         n = 0, fi;
    uint64_t    bits[5];
    bool        star[5];
    ks_cron_t  *cron;

    while (is_space(*s))
        s++;
    if (strncmp(s, "CRON_TZ=", 8) == 0 || strncmp(s, "TZ=", 3) == 0) {
        const char *z = strchr(s, '=') + 1, *q = z;

        while (*q != '\0' && !is_space(*q))
            q++;
        if (*q == '\0') {
            ks_errf(err, errlen, "'%.*s' must be followed by a space and 5 fields", (int)(q - s), s);
            return NULL;
        }
        if ((size_t)(q - z) >= sizeof(zone)) {
            ks_errf(err, errlen, "unknown time zone '%.*s'", (int)(q - z), z);
            return NULL;
        }
        memcpy(zone, z, (size_t)(q - z));
        zone[q - z] = '\0';
        timezone = zone;
        s = q;
        while (is_space(*s))
            s++;
    }
    if (*s == '@') {
        ks_errf(err, errlen, "descriptors such as @hourly are not supported; use 5 fields");
        return NULL;
    }
    while (*s != '\0') {
        const char *start = s;

        while (*s != '\0' && !is_space(*s))
            s++;
        if (n < 6) {
            tok[n] = start;
            toklen[n] = (size_t)(s - start);
        }
        n++;
        while (is_space(*s))
            s++;
    }
    if (n != 5) {
        ks_errf(err, errlen, "expected 5 fields (minute hour day-of-month month day-of-week), found %d", n);
        return NULL;
    }
    for (fi = 0; fi < 5; fi++)
        if (parse_field(fi, tok[fi], toklen[fi], &bits[fi], &star[fi], err, errlen) != 0)
            return NULL;

    cron = ks_calloc(1, sizeof(*cron));
    if ((cron->tz = ks_tz_load(timezone, err, errlen)) == NULL) {
        free(cron);
        return NULL;
    }
    cron->minute = bits[0];
    cron->hour = bits[1];
    cron->dom = bits[2];
    cron->month = bits[3];
    cron->dow = bits[4];
    cron->dom_star = star[2];
    cron->dow_star = star[4];
    return cron;
}

void
ks_cron_free(ks_cron_t *cron)
{
    if (cron == NULL)
        return;
    ks_tz_free(cron->tz);
    free(cron);
}

/* ---- searching ---- */

/* The smallest set bit at or above from, or -1. */
static int
bit_at_or_above(uint64_t bits, int from)
{
    if (from > 63)
        return -1;
    bits &= ~(uint64_t)0 << from;
    return bits ? __builtin_ctzll(bits) : -1;
}

/* The largest set bit at or below from, or -1. */
static int
bit_at_or_below(uint64_t bits, int from)
{
    if (from < 0)
        return -1;
    bits &= from >= 63 ? ~(uint64_t)0 : ((uint64_t)2 << from) - 1;
    return bits ? 63 - __builtin_clzll(bits) : -1;
}

/* robfig's rule: with "*" in either day field both must match (so only the other counts), else either. */
static bool
day_matches(const ks_cron_t *cron, const cron_lt_t *lt)
{
    int64_t days = ks_tz_days_from_civil(lt->year, lt->month, lt->day);
    int     wday = (int)(((days + 4) % 7 + 7) % 7);
    bool    dom = cron->dom >> lt->day & 1, dow = cron->dow >> wday & 1;

    return cron->dom_star || cron->dow_star ? dom && dow : dom || dow;
}

static void
next_day(cron_lt_t *lt)
{
    lt->hour = lt->minute = 0;
    if (++lt->day <= ks_tz_days_in_month(lt->year, lt->month))
        return;
    lt->day = 1;
    if (++lt->month > 12) {
        lt->month = 1;
        lt->year++;
    }
}

static void
prev_day(cron_lt_t *lt)
{
    lt->hour = 23;
    lt->minute = 59;
    if (--lt->day >= 1)
        return;
    if (--lt->month < 1) {
        lt->month = 12;
        lt->year--;
    }
    lt->day = ks_tz_days_in_month(lt->year, lt->month);
}

/* Moves lt to the first matching local minute at or after it; false once past year_limit. */
static bool
local_next(const ks_cron_t *cron, cron_lt_t *lt, int64_t year_limit)
{
    int v;

    while (lt->year <= year_limit) {
        if (!(cron->month >> lt->month & 1)) {
            if ((v = bit_at_or_above(cron->month, lt->month + 1)) < 0) {
                lt->year++;
                v = bit_at_or_above(cron->month, 1);
            }
            *lt = (cron_lt_t){ lt->year, v, 1, 0, 0 };
        } else if (!day_matches(cron, lt)) {
            next_day(lt);
        } else if (!(cron->hour >> lt->hour & 1)) {
            if ((v = bit_at_or_above(cron->hour, lt->hour + 1)) < 0)
                next_day(lt);
            else
                *lt = (cron_lt_t){ lt->year, lt->month, lt->day, v, 0 };
        } else if (!(cron->minute >> lt->minute & 1)) {
            if ((v = bit_at_or_above(cron->minute, lt->minute + 1)) >= 0)
                lt->minute = v;
            else if (lt->hour < 23)
                *lt = (cron_lt_t){ lt->year, lt->month, lt->day, lt->hour + 1, 0 };
            else
                next_day(lt);
        } else {
            return true;
        }
    }
    return false;
}

/* Moves lt to the last matching local minute at or before it; false once before year_limit. */
static bool
local_prev(const ks_cron_t *cron, cron_lt_t *lt, int64_t year_limit)
{
    int v;

    while (lt->year >= year_limit) {
        if (!(cron->month >> lt->month & 1)) {
            if ((v = bit_at_or_below(cron->month, lt->month - 1)) < 1) {
                lt->year--;
                v = bit_at_or_below(cron->month, 12);
            }
            *lt = (cron_lt_t){ lt->year, v, ks_tz_days_in_month(lt->year, v), 23, 59 };
        } else if (!day_matches(cron, lt)) {
            prev_day(lt);
        } else if (!(cron->hour >> lt->hour & 1)) {
            if ((v = bit_at_or_below(cron->hour, lt->hour - 1)) < 0)
                prev_day(lt);
            else
                *lt = (cron_lt_t){ lt->year, lt->month, lt->day, v, 59 };
        } else if (!(cron->minute >> lt->minute & 1)) {
            if ((v = bit_at_or_below(cron->minute, lt->minute - 1)) >= 0)
                lt->minute = v;
            else if (lt->hour > 0)
                *lt = (cron_lt_t){ lt->year, lt->month, lt->day, lt->hour - 1, 59 };
            else
                prev_day(lt);
        } else {
            return true;
        }
    }
    return false;
}

static cron_lt_t
lt_from_seconds(int64_t local)
{
    ks_civil_t c;

    ks_tz_civil_from_seconds(local, &c);
    return (cron_lt_t){ c.year, c.month, c.day, c.hour, c.minute };
}

static int64_t
lt_to_seconds(const cron_lt_t *lt)
{
    return ks_tz_days_from_civil(lt->year, lt->month, lt->day) * 86400 + lt->hour * 3600 + lt->minute * 60;
}

/* Within each constant-offset span local time maps one-to-one onto UTC, so search local minutes there
 * and move to the next span when the match falls beyond this one. */
int64_t
ks_cron_next(const ks_cron_t *cron, int64_t t)
{
    int64_t s, year_limit = 0;
    bool    first = true;

    if (t < -KS_TZ_LIMIT || t >= KS_TZ_LIMIT)
        return -1;
    s = t + 1;
    while (s <= KS_TZ_LIMIT) {
        int64_t   start, end, local, found;
        int32_t   off = ks_tz_span(cron->tz, s, &start, &end);
        cron_lt_t lt;

        local = s + off;
        lt = lt_from_seconds(local);
        if (first) {
            year_limit = lt.year + 5;
            first = false;
        }
        if (local % 60 != 0)
            lt = lt_from_seconds(local - (local % 60 + 60) % 60 + 60);
        if (!local_next(cron, &lt, year_limit))
            return -1;
        found = lt_to_seconds(&lt) - off;
        if (found < end)
            return found;
        if (end <= s)
            return -1;
        s = end;
    }
    return -1;
}

/* The mirror of ks_cron_next: search local minutes backwards, one constant-offset span at a time. */
int64_t
ks_cron_prev(const ks_cron_t *cron, int64_t t)
{
    int64_t s = t, year_limit = 0;
    bool    first = true;

    if (t < -KS_TZ_LIMIT || t > KS_TZ_LIMIT)
        return -1;
    while (s >= -KS_TZ_LIMIT) {
        int64_t   start, end, local, found;
        int32_t   off = ks_tz_span(cron->tz, s, &start, &end);
        cron_lt_t lt;

        local = s + off;
        lt = lt_from_seconds(local - (local % 60 + 60) % 60);
        if (first) {
            year_limit = lt.year - 5;
            first = false;
        }
        if (!local_prev(cron, &lt, year_limit))
            return -1;
        found = lt_to_seconds(&lt) - off;
        if (found >= start)
            return found;
        if (start > s)
            return -1;
        s = start - 1;
    }
    return -1;
}
