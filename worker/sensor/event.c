/* event.c — CloudEvents 1.0 decoding (structured JSON and Kafka binary), sdk-go-compatible
 * encoding, and Argo's EventContext and whole-event JSON (see event.h for the choices made). */
#include "sensor/event.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/base64.h"
#include "core/json_scan.h"
#include "core/mem.h"

/* jansson flags for events and their data: \u0000 is legal JSON, and integers are read as doubles so
 * that one beyond 64 bits is not an error (Go reads numbers as float64 too). */
#define EV_JSON_FLAGS (JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL)
#define EV_NPOS       ((size_t)-1)
#define EV_EPOCH_DAYS 719528 /* days from 0000-01-01 to 1970-01-01 */

/* The attributes the spec defines, in the order structured mode writes them; never extensions. */
static const char *const ev_attrs[] = { "specversion", "id",         "source", "type", "subject",
                                        "datacontenttype", "dataschema", "time", "data", "data_base64" };
#define EV_NHEADER_ATTRS 8 /* the ones a ce_ header may carry: all but data and data_base64 */

typedef struct ev_buf {
    char  *p;
    size_t len, cap;
} ev_buf_t;

static void
buf_add(ev_buf_t *b, const void *s, size_t n)
{
    if (b->cap - b->len < n + 1) {
        while (b->cap - b->len < n + 1)
            b->cap = b->cap ? b->cap * 2 : 256;
        b->p = ks_realloc(b->p, b->cap);
    }
    if (n > 0)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void
buf_adds(ev_buf_t *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

/* Formats a message into err, replacing control characters (input text may be quoted), and returns -1. */
static int __attribute__((format(printf, 3, 4)))
fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (errlen == 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    for (char *p = err; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return -1;
}

static const char *
json_kind(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

static bool
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Appends s[0..n) (valid UTF-8) as a JSON string escaped as Go's json.Marshal does: \" \\ \n \r \t,
 * other controls and < > & as \u00xx, U+2028 and U+2029 as \u2028 and \u2029. */
static void
buf_add_string(ev_buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t            start = 0;

    buf_add(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char          esc[8];
        size_t        elen = 2, skip = 0;

        esc[0] = '\\';
        if (c == '"' || c == '\\')
            esc[1] = (char)c;
        else if (c == '\n')
            esc[1] = 'n';
        else if (c == '\r')
            esc[1] = 'r';
        else if (c == '\t')
            esc[1] = 't';
        else if (c < 0x20 || c == '<' || c == '>' || c == '&')
            elen = (size_t)snprintf(esc, sizeof(esc), "\\u00%c%c", hex[c >> 4], hex[c & 15]);
        else if (c == 0xe2 && n - i > 2 && (unsigned char)s[i + 1] == 0x80 &&
                 ((unsigned char)s[i + 2] & 0xfe) == 0xa8)
            elen = (size_t)snprintf(esc, sizeof(esc), "\\u202%c", hex[s[i + 2] & 15]), skip = 2;
        else
            continue;
        buf_add(b, s + start, i - start);
        buf_add(b, esc, elen);
        i += skip;
        start = i + 1;
    }
    buf_add(b, s + start, n - start);
    buf_add(b, "\"", 1);
}

static void
buf_add_cstring(ev_buf_t *b, const char *s)
{
    buf_add_string(b, s ? s : "", s ? strlen(s) : 0);
}

/* ---- JSON text: finding and compacting the raw `data` member (jansson would reformat numbers) ---- */

static size_t
skip_ws(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

/* Skips the string token at s[i] == '"'; returns the index after its closing quote, or EV_NPOS. */
static size_t
skip_string(const char *s, size_t n, size_t i)
{
    for (i++; i < n; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i + 1;
    }
    return EV_NPOS;
}

/* Skips one value of JSON text jansson has accepted; returns the index after it, or EV_NPOS. */
static size_t
skip_value(const char *s, size_t n, size_t i)
{
    size_t depth = 0;

    if (i >= n)
        return EV_NPOS;
    if (s[i] == '"')
        return skip_string(s, n, i);
    if (s[i] != '{' && s[i] != '[') {
        while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && !is_space(s[i]))
            i++;
        return i;
    }
    while (i < n) {
        if (s[i] == '"') {
            if ((i = skip_string(s, n, i)) == EV_NPOS)
                return EV_NPOS;
            continue;
        }
        if (s[i] == '{' || s[i] == '[')
            depth++;
        else if ((s[i] == '}' || s[i] == ']') && --depth == 0)
            return i + 1;
        i++;
    }
    return EV_NPOS;
}

/* True if a string token (quotes included) spells name once its escapes are decoded. */
static bool
token_is(const char *tok, size_t n, const char *name)
{
    size_t  len = strlen(name);
    json_t *j;
    bool    eq;

    if (!memchr(tok, '\\', n))
        return n - 2 == len && memcmp(tok + 1, name, len) == 0;
    j = json_loadb(tok, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    eq = j && json_string_length(j) == len && memcmp(json_string_value(j), name, len) == 0;
    json_decref(j);
    return eq;
}

/* Finds the value text of the last top-level member `name` (the one jansson keeps) in an object jansson
 * has accepted. */
static int
find_member(const char *s, size_t n, const char *name, size_t *start, size_t *end)
{
    size_t i = skip_ws(s, n, 0);
    bool   found = false;

    if (i >= n || s[i] != '{')
        return -1;
    i = skip_ws(s, n, i + 1);
    while (i < n && s[i] == '"') {
        size_t key = i, value;
        bool   match;

        if ((i = skip_string(s, n, i)) == EV_NPOS)
            return -1;
        match = token_is(s + key, i - key, name);
        i = skip_ws(s, n, i);
        if (i >= n || s[i] != ':')
            return -1;
        value = skip_ws(s, n, i + 1);
        if ((i = skip_value(s, n, value)) == EV_NPOS)
            return -1;
        if (match) {
            *start = value;
            *end = i;
            found = true;
        }
        i = skip_ws(s, n, i);
        if (i < n && s[i] == ',')
            i = skip_ws(s, n, i + 1);
    }
    return found ? 0 : -1;
}

/* Appends valid JSON text without insignificant white space; strings and numbers keep their text. */
static void
buf_add_compact(ev_buf_t *b, const char *s, size_t n)
{
    size_t start = 0;
    bool   in_string = false;

    for (size_t i = 0; i < n; i++) {
        if (in_string) {
            if (s[i] == '\\')
                i++;
            else if (s[i] == '"')
                in_string = false;
        } else if (s[i] == '"') {
            in_string = true;
        } else if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
            buf_add(b, s + start, i - start);
            start = i + 1;
        }
    }
    if (start < n)
        buf_add(b, s + start, n - start);
}

/* True if the bytes are one JSON value, as jansson with EV_JSON_FLAGS would decode it (a raw NUL
 * byte is not JSON): checked by the scanner, which builds no document. */
static bool
data_is_json(const unsigned char *data, size_t len)
{
    size_t n;

    return ks_json_scan_object((const char *)data, len, NULL, 0, &n) >= 0;
}

/* The compacted copy of valid JSON text as event data (NUL-terminated). */
static void
set_data_compact(ks_event_t *ev, const char *s, size_t n)
{
    ev_buf_t b = { 0 };

    buf_add_compact(&b, s, n);
    buf_add(&b, "", 0); /* an empty buffer still gets its NUL */
    ev->data = (unsigned char *)b.p;
    ev->data_len = b.len;
}

static void
set_data_raw(ks_event_t *ev, const void *s, size_t n)
{
    ev->data = ks_malloc(n + 1);
    if (n > 0)
        memcpy(ev->data, s, n);
    ev->data[n] = '\0';
    ev->data_len = n;
}

/* ---- media types ---- */

/* The media type of a content type: the text before ';', without surrounding white space. */
static void
media_span(const char *s, size_t n, const char **out, size_t *outn)
{
    const char *semi = n ? memchr(s, ';', n) : NULL;

    if (semi)
        n = (size_t)(semi - s);
    while (n > 0 && is_space(*s))
        s++, n--;
    while (n > 0 && is_space(s[n - 1]))
        n--;
    *out = s;
    *outn = n;
}

static bool
span_is(const char *s, size_t n, const char *lit)
{
    return n == strlen(lit) && strncasecmp(s, lit, n) == 0;
}

/* True if a datacontenttype (NULL: absent) denotes JSON: absent, application/json, text/json, *+json. */
static bool
media_is_json(const char *dct)
{
    const char *s;
    size_t      n;

    if (!dct)
        return true;
    media_span(dct, strlen(dct), &s, &n);
    return n == 0 || span_is(s, n, "application/json") || span_is(s, n, "text/json") ||
           (n > 5 && strncasecmp(s + n - 5, "+json", 5) == 0);
}

/* ---- time ---- */

static bool
is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int64_t y, int m)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

    return days[m - 1] + (m == 2 && is_leap(y));
}

/* Days from 0000-01-01 to the first day of year y >= 0 (year 0 is a leap year). */
static int64_t
days_before_year(int64_t y)
{
    if (y <= 0)
        return 0;
    return 365 * y + (y - 1) / 4 - (y - 1) / 100 + (y - 1) / 400 + 1;
}

/* Days since 1970-01-01 of a valid date in the years 0000-9999 (month 1-12). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
    static const int before[12] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 };

    return days_before_year(y) + before[m - 1] + (m > 2 && is_leap(y)) + d - 1 - EV_EPOCH_DAYS;
}

/* The date of a day count since 1970-01-01 that falls in the years 0000-9999. */
static void
civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
    int64_t n = days + EV_EPOCH_DAYS, year = n * 400 / 146097; /* 146097 days per 400 years */
    int     month = 1;

    while (year > 0 && days_before_year(year) > n)
        year--;
    while (days_before_year(year + 1) <= n)
        year++;
    n -= days_before_year(year);
    while (n >= days_in_month(year, month))
        n -= days_in_month(year, month++);
    *y = year;
    *m = month;
    *d = (int)n + 1;
}

static int64_t
time_min(void)
{
    return (int64_t)-EV_EPOCH_DAYS * 86400; /* 0000-01-01T00:00:00Z */
}

static int64_t
time_max(void)
{
    return (days_before_year(10000) - EV_EPOCH_DAYS) * 86400 - 1; /* 9999-12-31T23:59:59Z */
}

/* Reads n decimal digits; -1 if any is not a digit. */
static int64_t
digits(const char *s, size_t n)
{
    int64_t v = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Parses RFC 3339 text as Go's time.Parse(time.RFC3339Nano) does. Returns 0, -1 when the text is not
 * RFC 3339, -2 when the instant falls outside the years 0000-9999 in UTC. */
static int
parse_time(const char *s, size_t n, int64_t *sec, int32_t *nsec)
{
    static const unsigned char at[6] = { 0, 5, 8, 11, 14, 17 }, width[6] = { 4, 2, 2, 2, 2, 2 };
    int64_t                    v[6], frac = 0, offset = 0, t;
    size_t                     i = 19, nfrac = 0;

    if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        return -1;
    for (int k = 0; k < 6; k++)
        if ((v[k] = digits(s + at[k], width[k])) < 0)
            return -1;
    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > days_in_month(v[0], (int)v[1]) || v[3] > 23 ||
        v[4] > 59 || v[5] > 59)
        return -1;
    if (s[i] == '.' && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9') {
        /* any number of digits; those past the ninth are dropped */
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (nfrac < 9)
                frac = frac * 10 + (s[i] - '0'), nfrac++;
        for (; nfrac < 9; nfrac++)
            frac *= 10;
    }
    if (n - i == 6 && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int64_t hh = digits(s + i + 1, 2), mm = digits(s + i + 4, 2);

        if (hh < 0 || hh > 23 || mm < 0 || mm > 59)
            return -1;
        offset = (hh * 60 + mm) * 60 * (s[i] == '-' ? -1 : 1);
    } else if (n - i != 1 || s[i] != 'Z') {
        return -1;
    }
    t = days_from_civil(v[0], (int)v[1], (int)v[2]) * 86400 + v[3] * 3600 + v[4] * 60 + v[5] - offset;
    if (t < time_min() || t > time_max())
        return -2;
    *sec = t;
    *nsec = (int32_t)frac;
    return 0;
}

/* Writes an instant as Go does in UTC: RFC 3339, with nanoseconds (trailing zeros trimmed) when frac.
 * False when it lies outside the years 0000-9999. */
static bool
format_time(char *out, size_t outlen, int64_t sec, int32_t nsec, bool frac)
{
    int64_t days, rem, y;
    int     m, d, len;

    if (sec == INT64_MIN || sec < time_min() || sec > time_max() || nsec < 0 || nsec > 999999999)
        return false;
    days = (sec - time_min()) / 86400 - EV_EPOCH_DAYS;
    rem = sec - days * 86400;
    civil_from_days(days, &y, &m, &d);
    len = snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d", (int)y, m, d, (int)(rem / 3600),
                   (int)(rem / 60 % 60), (int)(rem % 60));
    if (frac && nsec > 0) {
        len += snprintf(out + len, outlen - (size_t)len, ".%09d", (int)nsec);
        while (out[len - 1] == '0')
            len--;
    }
    snprintf(out + len, outlen - (size_t)len, "Z");
    return true;
}

/* ---- decoding ---- */

static void
event_init(ks_event_t *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->time_sec = INT64_MIN;
    ev->extensions = json_object();
}

void
ks_event_free(ks_event_t *ev)
{
    free(ev->specversion);
    free(ev->id);
    free(ev->source);
    free(ev->type);
    free(ev->subject);
    free(ev->datacontenttype);
    free(ev->dataschema);
    free(ev->time);
    free(ev->data);
    json_decref(ev->extensions);
    memset(ev, 0, sizeof(*ev));
    ev->time_sec = INT64_MIN;
}

static char *
dup_or_null(const char *s)
{
    return s != NULL ? ks_strdup(s) : NULL;
}

void
ks_event_copy_with_data(ks_event_t *dst, const ks_event_t *src, const char *data, size_t len, const char *contenttype)
{
    *dst = (ks_event_t){
        .specversion = dup_or_null(src->specversion), .id = dup_or_null(src->id),
        .source = dup_or_null(src->source), .type = dup_or_null(src->type), .subject = dup_or_null(src->subject),
        .datacontenttype = ks_strdup(contenttype), .dataschema = dup_or_null(src->dataschema),
        .time = dup_or_null(src->time), .time_sec = src->time_sec, .time_nsec = src->time_nsec,
        .data = ks_malloc(len + 1), .data_len = len, .data_base64 = false,
        .extensions = src->extensions != NULL ? json_deep_copy(src->extensions) : NULL,
    };
    memcpy(dst->data, data, len);
    dst->data[len] = '\0';
}

static bool
is_spec_attr(const char *name)
{
    for (size_t i = 0; i < sizeof(ev_attrs) / sizeof(ev_attrs[0]); i++)
        if (strcmp(name, ev_attrs[i]) == 0)
            return true;
    return false;
}

/* Checks the attributes every event needs, and parses the time. */
static int
check_event(ks_event_t *ev, const char *what, char *err, size_t errlen)
{
    int rc;

    if (strcmp(ev->specversion, "1.0") != 0)
        return fail(err, errlen, "specversion '%.32s' is not supported (only 1.0 is)", ev->specversion);
    if (ev->time && (rc = parse_time(ev->time, strlen(ev->time), &ev->time_sec, &ev->time_nsec)) < 0)
        return fail(err, errlen, "%s '%.64s' %s", what, ev->time,
                    rc == -1 ? "is not RFC 3339" : "is not in the years 0000-9999");
    return 0;
}

/* Adds an extension under its lower-case name. In structured mode (replace false) a name met twice is
 * an error; in binary mode the last header wins. */
static int
add_extension(ks_event_t *ev, const char *name, json_t *value, bool replace, char *err, size_t errlen)
{
    char   lname[256];
    size_t n = strlen(name);
    double r;

    if (n == 0 || n >= sizeof(lname))
        return fail(err, errlen, "attribute name '%.64s' is not valid (1 to 255 letters and digits)", name);
    for (size_t i = 0; i <= n; i++) {
        char c = name[i];

        if (c && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return fail(err, errlen, "attribute name '%.64s' is not valid (only ASCII letters and digits)",
                        name);
        lname[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    if (is_spec_attr(lname) && strcmp(name, lname) != 0)
        return fail(err, errlen, "attribute '%s' must be written '%s'", name, lname);
    if (is_spec_attr(lname))
        return fail(err, errlen, "'%s' cannot be an extension attribute", lname);
    if (!replace && json_object_get(ev->extensions, lname))
        return fail(err, errlen, "attribute '%s' is given twice (names ignore case)", lname);
    switch (json_typeof(value)) {
    case JSON_NULL:
        return 0; /* sdk-go drops an extension set to null */
    case JSON_STRING:
    case JSON_TRUE:
    case JSON_FALSE:
        json_object_set(ev->extensions, lname, value);
        return 0;
    case JSON_INTEGER:
    case JSON_REAL:
        /* CloudEvents integers are 32-bit; sdk-go reads a float64 and truncates it */
        r = json_number_value(value);
        if (!(r >= -2147483648.0 && r <= 2147483647.0))
            return fail(err, errlen, "attribute '%s' is out of range (integers are 32-bit)", lname);
        json_object_set_new(ev->extensions, lname, json_integer((json_int_t)r));
        return 0;
    default:
        return fail(err, errlen, "attribute '%s' must be a string, number or boolean, not %s", lname,
                    json_kind(value));
    }
}

/* Reads a string attribute; *out stays NULL when it is absent (missing, null or ""). */
static int
get_attr(json_t *root, const char *name, bool required, char **out, char *err, size_t errlen)
{
    json_t *v = json_object_get(root, name);

    *out = NULL;
    if (!v || (!required && json_is_null(v)))
        return required ? fail(err, errlen, "missing required attribute '%s'", name) : 0;
    if (!json_is_string(v))
        return fail(err, errlen, "attribute '%s' must be a string, not %s", name, json_kind(v));
    if (strlen(json_string_value(v)) != json_string_length(v))
        return fail(err, errlen, "attribute '%s' contains a NUL character", name);
    if (json_string_length(v) == 0)
        return required ? fail(err, errlen, "attribute '%s' must not be empty", name) : 0;
    *out = ks_strdup(json_string_value(v));
    return 0;
}

static int
decode_data(ks_event_t *ev, json_t *root, const char *text, size_t len, char *err, size_t errlen)
{
    json_t *data = json_object_get(root, "data"), *b64 = json_object_get(root, "data_base64");
    size_t  start, end;

    if (data && b64)
        return fail(err, errlen, "the event has both data and data_base64");
    if (b64) {
        if (!json_is_string(b64))
            return fail(err, errlen, "attribute 'data_base64' must be a string, not %s", json_kind(b64));
        if (ks_base64_decode(json_string_value(b64), json_string_length(b64), &ev->data, &ev->data_len) < 0)
            return fail(err, errlen, "data_base64 is not valid base64");
        ev->data_base64 = true;
    } else if (data && media_is_json(ev->datacontenttype)) {
        if (find_member(text, len, "data", &start, &end) < 0)
            return fail(err, errlen, "not JSON: the data member cannot be located");
        set_data_compact(ev, text + start, end - start);
    } else if (data && json_is_null(data)) {
        set_data_raw(ev, "", 0); /* sdk-go reads null as an empty string */
    } else if (data) {
        if (!json_is_string(data))
            return fail(err, errlen, "data must be a string when datacontenttype is '%.64s', not %s",
                        ev->datacontenttype, json_kind(data));
        set_data_raw(ev, json_string_value(data), json_string_length(data));
    }
    return 0;
}

static int
decode_object(ks_event_t *ev, json_t *root, const char *text, size_t len, char *err, size_t errlen)
{
    const char *key;
    json_t     *value;

    if (!json_is_object(root))
        return fail(err, errlen, "not a CloudEvent: the JSON text is %s, not an object", json_kind(root));
    if (get_attr(root, "specversion", true, &ev->specversion, err, errlen) < 0 ||
        get_attr(root, "id", true, &ev->id, err, errlen) < 0 ||
        get_attr(root, "source", true, &ev->source, err, errlen) < 0 ||
        get_attr(root, "type", true, &ev->type, err, errlen) < 0 ||
        get_attr(root, "subject", false, &ev->subject, err, errlen) < 0 ||
        get_attr(root, "datacontenttype", false, &ev->datacontenttype, err, errlen) < 0 ||
        get_attr(root, "dataschema", false, &ev->dataschema, err, errlen) < 0 ||
        get_attr(root, "time", false, &ev->time, err, errlen) < 0 || check_event(ev, "time", err, errlen) < 0)
        return -1;
    json_object_foreach(root, key, value)
    {
        if (!is_spec_attr(key) && add_extension(ev, key, value, false, err, errlen) < 0)
            return -1;
    }
    return decode_data(ev, root, text, len, err, errlen);
}

/* The envelope of a valid JSON object as a jansson object, without building the DOM of `data`: its
 * members are parsed only when they are small scalars; an object or array data value is represented
 * by an empty one of its kind (decode_data reads JSON data from the text). NULL if too many members. */
static json_t *
envelope(const char *text, size_t len)
{
    ks_json_member_t m[64];
    size_t           n;
    json_t          *root;

    if (ks_json_scan_object(text, len, m, sizeof(m) / sizeof(m[0]), &n) != 0)
        return NULL;
    root = json_object();
    for (size_t i = 0; i < n; i++) {
        char    key[64];
        json_t *value;
        bool    data = ks_json_key_is(&m[i], "data");

        if (!m[i].key_plain || m[i].key_len - 2 >= sizeof(key)) {
            json_decref(root);
            return NULL;        /* unusual keys: leave them to the full parse */
        }
        memcpy(key, m[i].key + 1, m[i].key_len - 2);
        key[m[i].key_len - 2] = '\0';
        if (data && m[i].kind == '{')
            value = json_object();
        else if (data && m[i].kind == '[')
            value = json_array();
        else if (m[i].kind == '"' && memchr(m[i].value, '\\', m[i].value_len) == NULL)
            value = json_stringn_nocheck(m[i].value + 1, m[i].value_len - 2);   /* UTF-8 validated */
        else
            value = json_loadb(m[i].value, m[i].value_len, JSON_DECODE_ANY | EV_JSON_FLAGS, NULL);
        if (value == NULL) {
            json_decref(root);
            return NULL;
        }
        json_object_set_new_nocheck(root, key, value);
    }
    return root;
}

int
ks_event_decode(ks_event_t *ev, const void *buf, size_t len, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t      *root;
    const char  *nul = len ? memchr(buf, '\0', len) : NULL;
    int          rc;

    event_init(ev);
    if (len == 0)
        rc = fail(err, errlen, "not JSON: the record is empty");
    else if (nul) /* jansson would take it for the end of the text */
        rc = fail(err, errlen, "not JSON: a NUL byte at offset %zu", (size_t)(nul - (const char *)buf));
    else if ((root = envelope(buf, len)) == NULL && (root = json_loadb(buf, len, EV_JSON_FLAGS, &jerr)) == NULL)
        rc = fail(err, errlen, "not JSON: %s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
    else {
        rc = decode_object(ev, root, buf, len, err, errlen);
        json_decref(root);
    }
    if (rc < 0)
        ks_event_free(ev);
    return rc;
}

/* Frees a half-decoded event and passes on rc (-1). */
static int
discard(ks_event_t *ev, int rc)
{
    ks_event_free(ev);
    return rc;
}

/* Reads a ce_ header as an attribute; *out stays NULL when it is absent or empty. */
static int
header_attr(const ks_event_header_t *h, const char *attr, bool required, char **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!h)
        return required ? fail(err, errlen, "missing required header 'ce_%s'", attr) : 0;
    if (h->len == 0 || !h->value)
        return required ? fail(err, errlen, "header 'ce_%s' must not be empty", attr) : 0;
    *out = ks_strndup(h->value, h->len);
    return 0;
}

int
ks_event_decode_binary(ks_event_t *ev, const ks_event_header_t *headers, size_t nheaders, const void *value,
                       size_t len, char *err, size_t errlen)
{
    const ks_event_header_t *attr[EV_NHEADER_ATTRS] = { 0 }, *ctype = NULL;
    char                   **field[EV_NHEADER_ATTRS] = { &ev->specversion, &ev->id,   &ev->source,
                                                         &ev->type,        &ev->subject, &ev->datacontenttype,
                                                         &ev->dataschema,  &ev->time };

    event_init(ev);
    for (size_t i = 0; i < nheaders; i++) {
        const ks_event_header_t *h = &headers[i];
        size_t                   a = 0;
        json_t                  *ext;
        int                      rc;

        if (!h->name || (strncasecmp(h->name, "ce_", 3) != 0 && strcasecmp(h->name, "content-type") != 0))
            continue;
        if (h->len > 0 && (!h->value || memchr(h->value, '\0', h->len) || !ks_utf8_valid(h->value, h->len)))
            return discard(ev, fail(err, errlen, "header '%.64s' is not UTF-8 text", h->name));
        if (strcasecmp(h->name, "content-type") == 0) {
            ctype = h;
            continue;
        }
        while (a < EV_NHEADER_ATTRS && strcasecmp(h->name + 3, ev_attrs[a]) != 0)
            a++;
        if (a < EV_NHEADER_ATTRS) {
            attr[a] = h;
            continue;
        }
        ext = json_stringn(h->len ? h->value : "", h->len);
        rc = add_extension(ev, h->name + 3, ext, true, err, errlen);
        json_decref(ext);
        if (rc < 0)
            return discard(ev, -1);
    }
    if (ctype)
        attr[5] = ctype; /* content-type wins over ce_datacontenttype */
    for (size_t a = 0; a < EV_NHEADER_ATTRS; a++)
        if (header_attr(attr[a], ev_attrs[a], a < 4, field[a], err, errlen) < 0)
            return discard(ev, -1);
    if (check_event(ev, "ce_time", err, errlen) < 0)
        return discard(ev, -1);
    if (value) {
        if (!media_is_json(ev->datacontenttype)) {
            set_data_raw(ev, value, len);
            ev->data_base64 = !ks_utf8_valid(value, len);
        } else if (data_is_json(value, len)) {
            set_data_compact(ev, value, len);
        } else {
            set_data_raw(ev, value, len);
            ev->data_base64 = true;
        }
    }
    return 0;
}

bool
ks_event_is_binary(const ks_event_header_t *headers, size_t nheaders)
{
    bool binary = false;

    for (size_t i = 0; i < nheaders; i++) {
        const char *s;
        size_t      n;

        if (!headers[i].name)
            continue;
        if (strcasecmp(headers[i].name, "ce_specversion") == 0)
            binary = true;
        if (strcasecmp(headers[i].name, "content-type") != 0 || !headers[i].value)
            continue;
        media_span(headers[i].value, headers[i].len, &s, &n);
        if (span_is(s, n, "application/cloudevents+json") ||
            span_is(s, n, "application/cloudevents-batch+json"))
            return false;
    }
    return binary;
}

/* ---- encoding ---- */

static int
compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
encode_data(ev_buf_t *b, const ks_event_t *ev)
{
    bool   json = media_is_json(ev->datacontenttype);
    char  *text;
    size_t n;

    if (!ev->data_base64 && json && data_is_json(ev->data, ev->data_len)) {
        buf_adds(b, ",\"data\":");
        buf_add_compact(b, (const char *)ev->data, ev->data_len);
    } else if (!ev->data_base64 && !json && ks_utf8_valid(ev->data, ev->data_len)) {
        buf_adds(b, ",\"data\":");
        buf_add_string(b, (const char *)ev->data, ev->data_len);
    } else {
        text = ks_base64_encode(ev->data, ev->data_len, &n);
        buf_adds(b, ",\"data_base64\":\"");
        buf_add(b, text, n);
        buf_add(b, "\"", 1);
        free(text);
    }
}

static void
encode_extensions(ev_buf_t *b, const json_t *extensions)
{
    size_t       n = 0, count = json_object_size(extensions);
    const char **names = ks_malloc((count ? count : 1) * sizeof(*names));
    const char  *key;
    json_t      *value;

    json_object_foreach((json_t *)extensions, key, value) names[n++] = key;
    qsort(names, n, sizeof(*names), compare_names);
    for (size_t i = 0; i < n; i++) {
        value = json_object_get(extensions, names[i]);
        buf_add(b, ",", 1);
        buf_add_cstring(b, names[i]);
        buf_add(b, ":", 1);
        if (json_is_string(value)) {
            buf_add_string(b, json_string_value(value), json_string_length(value));
        } else {
            char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);

            buf_adds(b, text ? text : "null");
            free(text);
        }
    }
    free(names);
}

char *
ks_event_encode(const ks_event_t *ev, size_t *len)
{
    static const char *const names[] = { "subject", "datacontenttype", "dataschema" };
    const char              *values[] = { ev->subject, ev->datacontenttype, ev->dataschema };
    ev_buf_t                 b = { 0 };
    char                     t[64];

    buf_adds(&b, "{\"specversion\":");
    buf_add_cstring(&b, ev->specversion ? ev->specversion : "1.0");
    buf_adds(&b, ",\"id\":");
    buf_add_cstring(&b, ev->id);
    buf_adds(&b, ",\"source\":");
    buf_add_cstring(&b, ev->source);
    buf_adds(&b, ",\"type\":");
    buf_add_cstring(&b, ev->type);
    for (size_t i = 0; i < 3; i++) {
        if (values[i]) {
            buf_add(&b, ",\"", 2);
            buf_adds(&b, names[i]);
            buf_add(&b, "\":", 2);
            buf_add_cstring(&b, values[i]);
        }
    }
    if (format_time(t, sizeof(t), ev->time_sec, ev->time_nsec, true)) {
        buf_adds(&b, ",\"time\":");
        buf_add_cstring(&b, t);
    } else if (ev->time) {
        buf_adds(&b, ",\"time\":");
        buf_add_cstring(&b, ev->time);
    }
    if (ev->data)
        encode_data(&b, ev);
    if (ev->extensions)
        encode_extensions(&b, ev->extensions);
    buf_add(&b, "}", 1);
    if (len)
        *len = b.len;
    return b.p;
}

static bool
str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

bool
ks_event_equal(const ks_event_t *a, const ks_event_t *b)
{
    return str_eq(a->specversion, b->specversion) && str_eq(a->id, b->id) && str_eq(a->source, b->source) &&
           str_eq(a->type, b->type) && str_eq(a->subject, b->subject) &&
           str_eq(a->datacontenttype, b->datacontenttype) && str_eq(a->dataschema, b->dataschema) &&
           a->time_sec == b->time_sec && (a->time_sec == INT64_MIN || a->time_nsec == b->time_nsec) &&
           (a->data == NULL) == (b->data == NULL) &&
           (!a->data || (a->data_len == b->data_len && memcmp(a->data, b->data, a->data_len) == 0 &&
                         a->data_base64 == b->data_base64)) &&
           (a->extensions == b->extensions || json_equal(a->extensions, b->extensions));
}

/* ---- Argo's JSON forms ---- */

/* A JSON string for an attribute ("" when absent; decoded attributes are always valid UTF-8). */
static json_t *
attr_json(const char *s)
{
    json_t *j = json_string(s ? s : "");

    return j ? j : json_string("");
}

json_t *
ks_event_context_json(const ks_event_t *ev)
{
    json_t *ctx = json_object();
    char    t[64];

    json_object_set_new(ctx, "id", attr_json(ev->id));
    json_object_set_new(ctx, "source", attr_json(ev->source));
    json_object_set_new(ctx, "specversion", attr_json(ev->specversion));
    json_object_set_new(ctx, "type", attr_json(ev->type));
    json_object_set_new(ctx, "datacontenttype", attr_json(ev->datacontenttype));
    json_object_set_new(ctx, "subject", attr_json(ev->subject));
    /* metav1.Time writes null for Go's zero time, 0001-01-01T00:00:00Z, which is also what an absent
     * time becomes in Argo */
    if ((ev->time_sec != (days_before_year(1) - EV_EPOCH_DAYS) * 86400 || ev->time_nsec != 0) &&
        format_time(t, sizeof(t), ev->time_sec, 0, false))
        json_object_set_new(ctx, "time", json_string(t));
    else
        json_object_set_new(ctx, "time", json_null());
    return ctx;
}

json_t *
ks_event_argo_json(const ks_event_t *ev)
{
    json_t *argo = json_object();
    char   *text;

    json_object_set_new(argo, "context", ks_event_context_json(ev));
    if (ev->data) {
        text = ks_base64_encode(ev->data, ev->data_len, NULL);
        json_object_set_new(argo, "data", json_string(text));
        free(text);
    } else {
        json_object_set_new(argo, "data", json_null());
    }
    return argo;
}

json_t *
ks_event_data_json(const ks_event_t *ev)
{
    json_t *j;

    if (!ev->data || !data_is_json(ev->data, ev->data_len))
        return NULL;
    j = json_loadb((const char *)ev->data, ev->data_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!j) /* an integer beyond 64 bits: read it as a real rather than fail */
        j = json_loadb((const char *)ev->data, ev->data_len, JSON_DECODE_ANY | EV_JSON_FLAGS, NULL);
    return j;
}
