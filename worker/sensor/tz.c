/* tz.c — TZif (RFC 8536) zone loading, UTC-offset lookup and civil-date arithmetic (see tz.h). */
#include "sensor/tz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/diag.h"
#include "core/mem.h"

#define TZ_FILE_MAX (1 << 20)
#define TZ_HEADER   44

/* One date of a POSIX TZ rule: Mm.w.d ('M'), Jn (1-365, never Feb 29: 'J') or n (0-365: 'N'). */
typedef struct tz_when {
    char    kind;
    int     month, week, wday, yday;
    int32_t time;                   /* local seconds after midnight, -167h..167h */
} tz_when_t;

/* The footer's POSIX TZ string: offsets east positive, as in TZif (POSIX writes them west positive). */
typedef struct tz_rule {
    int32_t   std_off, dst_off;
    bool      has_dst;
    tz_when_t start, end;           /* start in standard time, end in daylight time */
} tz_rule_t;

struct ks_tz {
    char      *name;
    size_t     ntrans;
    int64_t   *trans;               /* strictly ascending */
    uint8_t   *trans_type;
    int32_t   *type_off;            /* at least one type; type 0 applies before the first transition */
    bool       has_rule;
    tz_rule_t  rule;                /* applies from the last transition on */
};

static const int days_before_month[2][13] = {
    { 0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 },
    { 0, 0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335 },
};

static int64_t
floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t
clamp_t(int64_t t)
{
    return t < -KS_TZ_LIMIT ? -KS_TZ_LIMIT : t > KS_TZ_LIMIT ? KS_TZ_LIMIT : t;
}

static bool
is_leap(int64_t year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

/* Days from 0001-01-01 to January 1st of year (proleptic Gregorian, any sign). */
static int64_t
days_before_year(int64_t year)
{
    int64_t y = year - 1;

    return 365 * y + floor_div(y, 4) - floor_div(y, 100) + floor_div(y, 400);
}

int
ks_tz_days_in_month(int64_t year, int month)
{
    static const int dim[13] = { 0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

    return month == 2 && is_leap(year) ? 29 : dim[month];
}

int64_t
ks_tz_days_from_civil(int64_t year, int month, int day)
{
    return days_before_year(year) - days_before_year(1970) + days_before_month[is_leap(year)][month] + day - 1;
}

void
ks_tz_civil_from_seconds(int64_t seconds, ks_civil_t *out)
{
    int64_t days = floor_div(seconds, 86400), sod = seconds - days * 86400;
    /* Peel 400-, 100-, 4- and 1-year cycles off the days since 0001-01-01. */
    int64_t n = days + days_before_year(1970), q = floor_div(n, 146097), r = n - q * 146097;
    int64_t year = 400 * q + 1, c;
    int     leap, month = 1;

    c = r / 36524;
    c = c == 4 ? 3 : c;
    r -= c * 36524;
    year += 100 * c;
    c = r / 1461;
    r -= c * 1461;
    year += 4 * c;
    c = r / 365;
    c = c == 4 ? 3 : c;
    r -= c * 365;
    year += c;

    leap = is_leap(year);
    while (month < 12 && r >= days_before_month[leap][month + 1])
        month++;
    out->year = (int)year;
    out->month = month;
    out->day = (int)(r - days_before_month[leap][month]) + 1;
    out->hour = (int)(sod / 3600);
    out->minute = (int)(sod / 60 % 60);
    out->second = (int)(sod % 60);
    out->wday = (int)(days + 4 - floor_div(days + 4, 7) * 7);      /* 1970-01-01 was a Thursday */
}

/* ---- POSIX TZ strings (the TZif footer) ---- */

/* Skips a zone abbreviation: "<...>" or a run of letters. */
static const char *
posix_name(const char *s)
{
    const char *p = s;

    if (*p == '<') {
        while (*p && *p != '>')
            p++;
        return *p == '>' && p - s > 1 ? p + 1 : NULL;
    }
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
        p++;
    return p > s ? p : NULL;
}

/* Parses [+-]hh[:mm[:ss]] with hh <= max_hours into seconds. */
static const char *
posix_hms(const char *s, int max_hours, int32_t *out)
{
    int     sign = 1, part[3] = { 0, 0, 0 }, n = 0;
    int32_t v;

    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    for (;;) {
        int digits = 0;

        while (*s >= '0' && *s <= '9' && digits < 3) {
            part[n] = part[n] * 10 + (*s++ - '0');
            digits++;
        }
        if (digits == 0 || (n > 0 && (digits > 2 || part[n] > 59)))
            return NULL;
        if (++n == 3 || *s != ':')
            break;
        s++;
    }
    if (part[0] > max_hours)
        return NULL;
    v = part[0] * 3600 + part[1] * 60 + part[2];
    *out = sign * v;
    return s;
}

static const char *
posix_int(const char *s, int lo, int hi, int *out)
{
    int v = 0, digits = 0;

    while (*s >= '0' && *s <= '9' && digits < 3) {
        v = v * 10 + (*s++ - '0');
        digits++;
    }
    if (digits == 0 || v < lo || v > hi)
        return NULL;
    *out = v;
    return s;
}

/* Parses ",date[/time]" of a rule. */
static const char *
posix_when(const char *s, tz_when_t *w)
{
    if (*s++ != ',')
        return NULL;
    w->time = 7200;
    if (*s == 'M') {
        w->kind = 'M';
        if ((s = posix_int(s + 1, 1, 12, &w->month)) == NULL || *s++ != '.'
            || (s = posix_int(s, 1, 5, &w->week)) == NULL || *s++ != '.'
            || (s = posix_int(s, 0, 6, &w->wday)) == NULL)
            return NULL;
    } else if (*s == 'J') {
        w->kind = 'J';
        if ((s = posix_int(s + 1, 1, 365, &w->yday)) == NULL)
            return NULL;
    } else {
        w->kind = 'N';
        if ((s = posix_int(s, 0, 365, &w->yday)) == NULL)
            return NULL;
    }
    if (*s == '/')
        s = posix_hms(s + 1, 167, &w->time);
    return s;
}

/* Parses a footer such as "CET-1CEST,M3.5.0,M10.5.0/3" or "IST-5:30"; -1 if it is not one. */
static int
posix_parse(const char *s, tz_rule_t *rule)
{
    int32_t off;

    memset(rule, 0, sizeof(*rule));
    if ((s = posix_name(s)) == NULL || (s = posix_hms(s, 24, &off)) == NULL)
        return -1;
    rule->std_off = rule->dst_off = -off;
    if (*s == '\0')
        return 0;
    if ((s = posix_name(s)) == NULL)
        return -1;
    rule->has_dst = true;
    rule->dst_off = rule->std_off + 3600;
    if (*s != ',' && *s != '\0') {
        if ((s = posix_hms(s, 24, &off)) == NULL)
            return -1;
        rule->dst_off = -off;
    }
    /* A DST name without rules means implementation-defined dates; TZif footers always give them. */
    if ((s = posix_when(s, &rule->start)) == NULL || (s = posix_when(s, &rule->end)) == NULL)
        return -1;
    return *s == '\0' ? 0 : -1;
}

/* Days since the epoch of a rule date in year. */
static int64_t
when_day(const tz_when_t *w, int64_t year)
{
    int64_t jan1 = ks_tz_days_from_civil(year, 1, 1);
    int64_t first, day;
    int     dim;

    if (w->kind == 'J')
        return jan1 + w->yday - 1 + (is_leap(year) && w->yday >= 60);
    if (w->kind == 'N')
        return jan1 + w->yday;
    first = ks_tz_days_from_civil(year, w->month, 1);
    dim = ks_tz_days_in_month(year, w->month);
    /* 1970-01-01 was a Thursday (4). */
    day = (w->wday - (first + 4 - floor_div(first + 4, 7) * 7) + 7) % 7 + (int64_t)(w->week - 1) * 7;
    while (day >= dim)
        day -= 7;
    return first + day;
}

/* Offset and constant span at t under the footer rule; the span never starts before floor. */
static int32_t
rule_span(const tz_rule_t *rule, int64_t t, int64_t floor, int64_t *start, int64_t *end)
{
    int64_t    at[8], y0;
    bool       dst[8];
    int        n = 0, i, last = -1;
    ks_civil_t c;

    if (!rule->has_dst) {
        *start = floor;
        *end = INT64_MAX;
        return rule->std_off;
    }
    ks_tz_civil_from_seconds(t, &c);
    /* Two years before t and one after always hold the change before t and usually the one after. */
    for (y0 = c.year - 2; y0 <= c.year + 1; y0++) {
        int64_t on = when_day(&rule->start, y0) * 86400 + rule->start.time - rule->std_off;
        int64_t off = when_day(&rule->end, y0) * 86400 + rule->end.time - rule->dst_off;
        bool    north = on < off;

        at[n] = north ? on : off;
        dst[n++] = north;
        at[n] = north ? off : on;
        dst[n++] = !north;
    }
    for (i = 1; i < n; i++) {       /* stable: an end and the next start at one instant keep that order */
        int j;

        for (j = i; j > 0 && at[j - 1] > at[j]; j--) {
            int64_t ta = at[j];
            bool    td = dst[j];

            at[j] = at[j - 1];
            dst[j] = dst[j - 1];
            at[j - 1] = ta;
            dst[j - 1] = td;
        }
    }
    for (i = 0; i < n && at[i] <= t; i++)
        last = i;
    *start = last < 0 || at[last] < floor ? floor : at[last];
    *end = last + 1 < n ? at[last + 1] : ks_tz_days_from_civil(c.year + 1, 1, 1) * 86400;
    return last >= 0 && dst[last] ? rule->dst_off : rule->std_off;
}

/* ---- TZif files ---- */

typedef struct tzif_counts {
    uint32_t isut, isstd, leap, time, type, chars;
} tzif_counts_t;

static uint32_t
be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static bool
tzif_header(const unsigned char *p, size_t len, tzif_counts_t *c)
{
    if (len < TZ_HEADER || memcmp(p, "TZif", 4) != 0)
        return false;
    c->isut = be32(p + 20);
    c->isstd = be32(p + 24);
    c->leap = be32(p + 28);
    c->time = be32(p + 32);
    c->type = be32(p + 36);
    c->chars = be32(p + 40);
    return true;
}

static uint64_t
tzif_block_len(const tzif_counts_t *c, unsigned timesize)
{
    return (uint64_t)c->time * (timesize + 1) + (uint64_t)c->type * 6 + c->chars
           + (uint64_t)c->leap * (timesize + 4) + c->isstd + c->isut;
}

/* Fills tz from a TZif image; 1 if it is not TZif at all, -1 with *why if it is damaged. */
static int
tzif_parse(ks_tz_t *tz, const unsigned char *buf, size_t len, const char **why)
{
    tzif_counts_t        c;
    const unsigned char *p = buf, *end = buf + len;
    unsigned             timesize = 4;
    size_t               i;

    if (!tzif_header(p, len, &c))
        return 1;
    *why = "truncated";
    if (buf[4] != '\0') {           /* version 2 or later: skip to the 64-bit block */
        if (tzif_block_len(&c, 4) > (uint64_t)(end - p - TZ_HEADER))
            return -1;
        p += TZ_HEADER + tzif_block_len(&c, 4);
        if (!tzif_header(p, (size_t)(end - p), &c))
            return -1;
        timesize = 8;
    }
    if (tzif_block_len(&c, timesize) > (uint64_t)(end - p - TZ_HEADER))
        return -1;
    p += TZ_HEADER;
    *why = "inconsistent counts";
    if (c.type == 0 || c.type > 256 || (c.isstd != 0 && c.isstd != c.type) || (c.isut != 0 && c.isut != c.type))
        return -1;
    if (c.leap != 0) {
        *why = "it has leap-second records, which are not supported";
        return -1;
    }
    tz->ntrans = c.time;
    tz->trans = ks_calloc(c.time + 1, sizeof(*tz->trans));
    tz->trans_type = ks_calloc(c.time + 1, 1);
    tz->type_off = ks_calloc(c.type, sizeof(*tz->type_off));
    for (i = 0; i < c.time; i++, p += timesize) {
        tz->trans[i] = timesize == 8 ? be64(p) : (int32_t)be32(p);
        if (i > 0 && tz->trans[i] <= tz->trans[i - 1]) {
            *why = "transition times are not ascending";
            return -1;
        }
    }
    for (i = 0; i < c.time; i++) {
        tz->trans_type[i] = *p++;
        if (tz->trans_type[i] >= c.type) {
            *why = "a transition names a missing local time type";
            return -1;
        }
    }
    for (i = 0; i < c.type; i++, p += 6) {
        int32_t off = (int32_t)be32(p);

        if (off < -89999 || off > 93599) {
            *why = "a UTC offset is out of range";
            return -1;
        }
        tz->type_off[i] = off;
    }
    p += c.chars + c.isstd + c.isut;
    if (timesize == 8) {            /* footer: "\n" POSIX-TZ "\n" */
        const unsigned char *nl = p < end && *p == '\n' ? memchr(p + 1, '\n', (size_t)(end - p - 1)) : NULL;
        char                 footer[128];

        if (nl == NULL || nl - p - 1 >= (ptrdiff_t)sizeof(footer)) {
            *why = "its footer is missing or too long";
            return -1;
        }
        memcpy(footer, p + 1, (size_t)(nl - p - 1));
        footer[nl - p - 1] = '\0';
        if (footer[0] != '\0') {
            if (posix_parse(footer, &tz->rule) != 0) {
                *why = "its footer is not a POSIX TZ string this reader understands";
                return -1;
            }
            tz->has_rule = true;
        }
    }
    return 0;
}

/* Reads a whole regular file of at most TZ_FILE_MAX bytes; -1 if it cannot. */
static int
read_file(const char *path, unsigned char **out, size_t *outlen)
{
    struct stat st;
    size_t      len = 0;
    int         fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > TZ_FILE_MAX) {
        close(fd);
        return -1;
    }
    *out = ks_malloc((size_t)st.st_size + 1);
    while (len < (size_t)st.st_size) {
        ssize_t n = read(fd, *out + len, (size_t)st.st_size - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    *outlen = len;
    return 0;
}

/* An IANA name: relative, components of [A-Za-z0-9_+-.] that are neither "." nor "..". */
static bool
name_ok(const char *name)
{
    const char *p = name, *comp = name;

    if (strlen(name) > 255)
        return false;
    for (;; p++) {
        if (*p == '/' || *p == '\0') {
            size_t n = (size_t)(p - comp);

            if (n == 0 || (n == 1 && comp[0] == '.') || (n == 2 && comp[0] == '.' && comp[1] == '.'))
                return false;
            if (*p == '\0')
                return true;
            comp = p + 1;
        } else if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')
                     || *p == '_' || *p == '+' || *p == '-' || *p == '.')) {
            return false;
        }
    }
}

ks_tz_t *
ks_tz_load(const char *name, char *err, size_t errlen)
{
    const char    *dir = getenv("TZDIR"), *why = "";
    char           path[4096];
    unsigned char *buf = NULL;
    size_t         len = 0;
    ks_tz_t       *tz;
    int            rc;

    if (name == NULL || name[0] == '\0' || strcmp(name, "UTC") == 0) {
        tz = ks_calloc(1, sizeof(*tz));
        tz->name = ks_strdup("UTC");
        tz->type_off = ks_calloc(1, sizeof(*tz->type_off));
        return tz;
    }
    if (dir == NULL || dir[0] == '\0')
        dir = "/usr/share/zoneinfo";
    if (!name_ok(name) || (size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)
        || read_file(path, &buf, &len) != 0) {
        ks_errf(err, errlen, "unknown time zone '%s'", name);
        return NULL;
    }
    tz = ks_calloc(1, sizeof(*tz));
    tz->name = ks_strdup(name);
    rc = tzif_parse(tz, buf, len, &why);
    free(buf);
    if (rc != 0) {
        if (rc > 0)
            ks_errf(err, errlen, "unknown time zone '%s'", name);
        else
            ks_errf(err, errlen, "time zone '%s': %s is not a usable TZif file: %s", name, path, why);
        ks_tz_free(tz);
        return NULL;
    }
    return tz;
}

void
ks_tz_free(ks_tz_t *tz)
{
    if (tz == NULL)
        return;
    free(tz->name);
    free(tz->trans);
    free(tz->trans_type);
    free(tz->type_off);
    free(tz);
}

const char *
ks_tz_name(const ks_tz_t *tz)
{
    return tz->name;
}

int32_t
ks_tz_span(const ks_tz_t *tz, int64_t t, int64_t *start, int64_t *end)
{
    size_t lo = 0, hi = tz->ntrans;

    t = clamp_t(t);
    if (tz->ntrans == 0 || t < tz->trans[0]) {
        if (tz->ntrans == 0 && tz->has_rule)
            return rule_span(&tz->rule, t, INT64_MIN, start, end);
        *start = INT64_MIN;
        *end = tz->ntrans == 0 ? INT64_MAX : tz->trans[0];
        return tz->type_off[0];
    }
    while (hi - lo > 1) {           /* the last transition at or before t */
        size_t mid = lo + (hi - lo) / 2;

        if (tz->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    if (lo + 1 == tz->ntrans && tz->has_rule)
        return rule_span(&tz->rule, t, tz->trans[lo], start, end);
    *start = tz->trans[lo];
    *end = lo + 1 < tz->ntrans ? tz->trans[lo + 1] : INT64_MAX;
    return tz->type_off[tz->trans_type[lo]];
}

int32_t
ks_tz_offset(const ks_tz_t *tz, int64_t t)
{
    int64_t start, end;

    return ks_tz_span(tz, t, &start, &end);
}

void
ks_tz_civil(const ks_tz_t *tz, int64_t t, ks_civil_t *out)
{
    t = clamp_t(t);
    ks_tz_civil_from_seconds(t + ks_tz_offset(tz, t), out);
}

int32_t
ks_tz_second_of_day(const ks_tz_t *tz, int64_t t)
{
    int64_t local;

    t = clamp_t(t);
    local = t + ks_tz_offset(tz, t);
    return (int32_t)(local - floor_div(local, 86400) * 86400);
}
