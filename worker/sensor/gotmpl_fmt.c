/* gotmpl_fmt.c — Go's text for template values: fmt's %v and printf verbs, Sprint's spacing,
 * strconv.Quote, encoding/json's Marshal and time.Time.Format layouts.
 *
 * A template's output is what users compare and send on, so these follow Go's rules where a user
 * can see them: floats in their shortest form (%v 1e+06, JSON 1000000), a verb that does not fit
 * its argument as %!d(float64=3), missing and extra arguments as %!s(MISSING) and
 * %!(EXTRA string=x), maps in key order, HTML characters escaped in JSON. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/mem.h"
#include "sensor/gotmpl_int.h"
#include "sensor/jpath.h"

static int
key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* An object's keys in byte order (Go sorts map keys when it prints them); free the array. */
static const char **
sorted_keys(const json_t *obj, size_t *n)
{
    const char **keys;
    const char  *key;
    json_t      *item;
    size_t       k = 0;

    *n = json_object_size(obj);
    keys = ks_calloc(*n ? *n : 1, sizeof(*keys));
    json_object_foreach((json_t *)obj, key, item)
        keys[k++] = key;
    qsort(keys, *n, sizeof(*keys), key_cmp);
    return keys;
}

/* ---------------------------------------------------------------------------------------------
 * printf */

typedef struct spec {
    bool plus, minus, sharp, space, zero;
    int  width, prec;       /* -1: not given */
    char verb;
} spec_t;

static void
pad(gt_buf_t *b, const char *s, size_t n, const spec_t *sp, bool numeric)
{
    size_t runes = 0, fill;

    for (size_t i = 0; i < n; i++)
        runes += ((unsigned char)s[i] & 0xC0) != 0x80;
    fill = sp->width > 0 && (size_t)sp->width > runes ? (size_t)sp->width - runes : 0;
    if (sp->minus) {
        gt_buf_add(b, s, n);
        while (fill-- > 0)
            gt_buf_addc(b, ' ');
        return;
    }
    if (sp->zero && numeric && n > 0 && (s[0] == '-' || s[0] == '+' || s[0] == ' ')) {
        gt_buf_addc(b, s[0]);
        s++;
        n--;
    }
    while (fill-- > 0)
        gt_buf_addc(b, sp->zero && numeric ? '0' : ' ');
    gt_buf_add(b, s, n);
}

static void value_verb(gt_buf_t *b, const gt_value_t *v, const spec_t *sp);

static void
bad_verb(gt_buf_t *b, const gt_value_t *v, char verb)
{
    gt_buf_printf(b, "%%!%c(", verb);
    if (v->kind == GT_NONE || v->kind == GT_NIL) {
        gt_buf_add(b, "<nil>", 5);
    } else {
        gt_buf_printf(b, "%s=", gt_type_name(v));
        gt_fmt_value(b, v, false);
    }
    gt_buf_addc(b, ')');
}

static void
format_int(gt_buf_t *b, int64_t i, const spec_t *sp)
{
    char               digits[80], out[100];
    const char        *alphabet = sp->verb == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
    unsigned           base = 10;
    unsigned long long u = i < 0 ? 0ULL - (unsigned long long)i : (unsigned long long)i;
    size_t             nd = 0, o = 0;
    spec_t             s = *sp;

    switch (sp->verb) {
    case 'b': base = 2; break;
    case 'o': case 'O': base = 8; break;
    case 'x': case 'X': base = 16; break;
    default: break;
    }
    do {
        digits[nd++] = alphabet[u % base];
        u /= base;
    } while (u > 0);
    while (s.prec >= 0 && nd < (size_t)s.prec && nd < 64)
        digits[nd++] = '0';
    if (i < 0)
        out[o++] = '-';
    else if (sp->plus)
        out[o++] = '+';
    else if (sp->space)
        out[o++] = ' ';
    if (sp->verb == 'O' || (sp->sharp && sp->verb == 'o' && digits[nd - 1] != '0'))
        out[o++] = '0';
    if (sp->verb == 'O')
        out[o++] = 'o';
    if (sp->sharp && (sp->verb == 'x' || sp->verb == 'X')) {
        out[o++] = '0';
        out[o++] = sp->verb;
    }
    if (s.prec >= 0)
        s.zero = false;
    {
        /* with the 0 flag, zeros go between the sign (and prefix) and the digits */
        gt_buf_t whole = {0};

        gt_buf_add(&whole, out, o);
        for (size_t z = o + nd; s.zero && !s.minus && z < (size_t)(s.width > 0 ? s.width : 0); z++)
            gt_buf_addc(&whole, '0');
        while (nd > 0)
            gt_buf_addc(&whole, digits[--nd]);
        s.zero = false;
        pad(b, whole.data, whole.len, &s, false);
        free(whole.data);
    }
}

static void
format_float(gt_buf_t *b, double f, const spec_t *sp)
{
    char   out[512], cfmt[32];
    size_t n;
    char   verb = sp->verb == 'v' ? 'g' : sp->verb;

    if ((verb == 'g' || verb == 'G') && sp->prec < 0) {
        n = ks_jpath_format_float(out, sizeof(out), f, 'g');
        if (verb == 'G')
            for (size_t i = 0; i < n; i++)
                out[i] = out[i] == 'e' ? 'E' : out[i];
    } else if (verb == 'x' || verb == 'X') {
        char  *p;

        snprintf(cfmt, sizeof(cfmt), "%%%s%s.*%c", sp->plus ? "+" : "", sp->space ? " " : "", verb == 'x' ? 'a' : 'A');
        n = (size_t)snprintf(out, sizeof(out), cfmt, sp->prec < 0 ? -1 : sp->prec, f);
        if (sp->prec < 0)
            n = (size_t)snprintf(out, sizeof(out), verb == 'x' ? "%a" : "%A", f);
        /* Go writes at least two exponent digits */
        p = strpbrk(out, "pP");
        if (p != NULL && strlen(p) == 3) {
            memmove(p + 3, p + 2, 2);
            p[2] = '0';
            n++;
        }
    } else {
        snprintf(cfmt, sizeof(cfmt), "%%%s%s%s.*%c", sp->plus ? "+" : "", sp->space ? " " : "", sp->sharp ? "#" : "",
                 verb == 'F' ? 'f' : verb);
        n = (size_t)snprintf(out, sizeof(out), cfmt, sp->prec < 0 ? 6 : sp->prec, f);
        if ((verb == 'g' || verb == 'G') && sp->prec >= 0)
            n = (size_t)snprintf(out, sizeof(out), cfmt, sp->prec == 0 ? 1 : sp->prec, f);
    }
    if (n >= sizeof(out))
        n = sizeof(out) - 1;
    if (sp->plus && out[0] != '-' && out[0] != '+' && (verb == 'g' || verb == 'G') && sp->prec < 0) {
        gt_buf_t tmp = {0};

        gt_buf_addc(&tmp, '+');
        gt_buf_add(&tmp, out, n);
        pad(b, tmp.data, tmp.len, sp, !isinf(f) && !isnan(f));
        free(tmp.data);
        return;
    }
    pad(b, out, n, sp, !isinf(f) && !isnan(f));
}

static void
format_string(gt_buf_t *b, const char *s, size_t n, const spec_t *sp)
{
    gt_buf_t tmp = {0};

    switch (sp->verb) {
    case 'q':
        gt_fmt_quote(&tmp, s, n);
        break;
    case 'x':
    case 'X':
        for (size_t i = 0; i < n; i++)
            gt_buf_printf(&tmp, sp->verb == 'x' ? "%02x" : "%02X", (unsigned char)s[i]);
        break;
    default:
        if (sp->prec >= 0) {
            size_t i = 0;

            for (int runes = 0; i < n && runes < sp->prec; runes++) {
                i++;
                while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
                    i++;
            }
            n = i;
        }
        gt_buf_add(&tmp, s, n);
        break;
    }
    pad(b, tmp.data ? tmp.data : "", tmp.len, sp, false);
    free(tmp.data);
}

/* One value under one verb, as fmt's printValue: containers apply the verb to their elements. */
static void
value_verb(gt_buf_t *b, const gt_value_t *v, const spec_t *sp)
{
    char verb = sp->verb;

    if (verb == '\0') {
        bad_verb(b, v, '?');
        return;
    }

    switch (v->kind) {
    case GT_NONE:
    case GT_NIL:
        if (verb == 'v')
            pad(b, "<nil>", 5, sp, false);
        else
            bad_verb(b, v, verb);
        return;
    case GT_BOOL:
        if (verb == 'v' || verb == 't')
            pad(b, v->u.b ? "true" : "false", v->u.b ? 4 : 5, sp, false);
        else
            bad_verb(b, v, verb);
        return;
    case GT_INT:
        if (strchr("vdbboOxX", verb) != NULL) {
            spec_t s = *sp;

            if (verb == 'v')
                s.verb = 'd';
            format_int(b, v->u.i, &s);
        } else if (verb == 'c') {
            gt_buf_t tmp = {0};

            gt_buf_add_rune(&tmp, v->u.i);
            pad(b, tmp.data, tmp.len, sp, false);
            free(tmp.data);
        } else if (verb == 'q') {
            gt_buf_t tmp = {0}, q = {0};

            gt_buf_add_rune(&tmp, v->u.i);
            gt_fmt_quote(&q, tmp.data, tmp.len);
            q.data[0] = q.data[q.len - 1] = '\'';
            pad(b, q.data, q.len, sp, false);
            free(tmp.data);
            free(q.data);
        } else if (verb == 'U') {
            char u[32];
            int  n = snprintf(u, sizeof(u), "U+%04llX", (unsigned long long)v->u.i);

            pad(b, u, (size_t)n, sp, false);
        } else {
            bad_verb(b, v, verb);
        }
        return;
    case GT_FLOAT:
        if (strchr("veEfFgGxX", verb) != NULL)
            format_float(b, v->u.f, sp);
        else
            bad_verb(b, v, verb);
        return;
    case GT_STRING:
        if (strchr("vsqxX", verb) != NULL)
            format_string(b, v->u.str.s, v->u.str.len, sp);
        else
            bad_verb(b, v, verb);
        return;
    case GT_MAP: {
        size_t       n;
        const char **keys = sorted_keys(v->u.json, &n);

        gt_buf_add(b, "map[", 4);
        for (size_t k = 0; k < n; k++) {
            gt_value_t key = { .kind = GT_STRING, .u.str = { keys[k], strlen(keys[k]) } };
            gt_value_t item = { .kind = GT_NIL };
            const json_t *j = json_object_get(v->u.json, keys[k]);

            if (k > 0)
                gt_buf_addc(b, ' ');
            value_verb(b, &key, sp);
            gt_buf_addc(b, ':');
            item = gt_from_json(j);
            value_verb(b, &item, sp);
        }
        gt_buf_addc(b, ']');
        free(keys);
        return;
    }
    case GT_LIST: {
        const json_t *j;
        size_t        i;

        gt_buf_addc(b, '[');
        json_array_foreach(v->u.json, i, j) {
            gt_value_t item = gt_from_json(j);

            if (i > 0)
                gt_buf_addc(b, ' ');
            value_verb(b, &item, sp);
        }
        gt_buf_addc(b, ']');
        return;
    }
    case GT_TIME:
        if (verb == 'v' || verb == 's') {
            static const char layout[] = "2006-01-02 15:04:05.999999999 -0700 MST";
            gt_buf_t          tmp = {0};

            gt_fmt_time(&tmp, layout, sizeof(layout) - 1, v->u.t.sec, v->u.t.nsec);
            pad(b, tmp.data, tmp.len, sp, false);
            free(tmp.data);
        } else {
            bad_verb(b, v, verb);
        }
        return;
    }
}

void
gt_fmt_value(gt_buf_t *b, const gt_value_t *v, bool top)
{
    spec_t sp = { .width = -1, .prec = -1, .verb = 'v' };

    if (top && (v->kind == GT_NONE || v->kind == GT_NIL)) {
        gt_buf_add(b, "<no value>", 10);
        return;
    }
    value_verb(b, v, &sp);
}

void
gt_fmt_printf(gt_buf_t *b, const char *f, size_t n, const gt_value_t *args, size_t nargs)
{
    size_t used = 0, i = 0;

    while (i < n) {
        spec_t sp = { .width = -1, .prec = -1 };

        if (f[i] != '%') {
            size_t start = i;

            while (i < n && f[i] != '%')
                i++;
            gt_buf_add(b, f + start, i - start);
            continue;
        }
        i++;
        for (; i < n; i++) {
            if (f[i] == '+') sp.plus = true;
            else if (f[i] == '-') sp.minus = true;
            else if (f[i] == '#') sp.sharp = true;
            else if (f[i] == ' ') sp.space = true;
            else if (f[i] == '0') sp.zero = true;
            else break;
        }
        while (i < n && f[i] >= '0' && f[i] <= '9' && sp.width < 100000)
            sp.width = (sp.width < 0 ? 0 : sp.width * 10) + (f[i++] - '0');
        if (i < n && f[i] == '.') {
            sp.prec = 0;
            for (i++; i < n && f[i] >= '0' && f[i] <= '9' && sp.prec < 100000; i++)
                sp.prec = sp.prec * 10 + (f[i] - '0');
        }
        if (i >= n) {
            gt_buf_add(b, "%!(NOVERB)", 10);
            break;
        }
        sp.verb = f[i++];
        if (sp.verb == '%') {
            gt_buf_addc(b, '%');
            continue;
        }
        if (sp.minus)
            sp.zero = false;
        if (used >= nargs) {
            gt_buf_printf(b, "%%!%c(MISSING)", sp.verb);
            continue;
        }
        value_verb(b, &args[used++], &sp);
    }
    if (used < nargs) {
        gt_buf_add(b, "%!(EXTRA ", 9);
        for (size_t a = used; a < nargs; a++) {
            if (a > used)
                gt_buf_add(b, ", ", 2);
            if (args[a].kind == GT_NIL || args[a].kind == GT_NONE) {
                gt_buf_add(b, "<nil>", 5);
            } else {
                gt_buf_printf(b, "%s=", gt_type_name(&args[a]));
                gt_fmt_value(b, &args[a], false);
            }
        }
        gt_buf_addc(b, ')');
    }
}

void
gt_fmt_print(gt_buf_t *b, const gt_value_t *args, size_t nargs, bool newline)
{
    for (size_t i = 0; i < nargs; i++) {
        bool is_str = args[i].kind == GT_STRING;

        if (i > 0 && (newline || (!is_str && args[i - 1].kind != GT_STRING)))
            gt_buf_addc(b, ' ');
        gt_fmt_value(b, &args[i], false);
    }
    if (newline)
        gt_buf_addc(b, '\n');
}

/* ---------------------------------------------------------------------------------------------
 * strconv.Quote and encoding/json strings */

/* The valid UTF-8 sequence at s: its length, or 0 when s does not start one. */
static size_t
utf8_seq(const char *s, size_t n, uint32_t *r)
{
    size_t size;

    *r = gt_rune_at(s, n, &size);
    return *r == 0xFFFD && size == 1 ? 0 : size;
}

void
gt_fmt_quote(gt_buf_t *b, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;

    gt_buf_addc(b, '"');
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        uint32_t      r;
        size_t        len;

        if (c >= 0x80) {
            len = utf8_seq(str + i, n - i, &r);
            if (len == 0) {
                gt_buf_printf(b, "\\x%02x", c);
                i++;
            } else if (r < 0xA0 || r == 0xAD || r == 0x2028 || r == 0x2029 || r == 0xFEFF) {
                gt_buf_printf(b, r < 0x10000 ? "\\u%04x" : "\\U%08x", r);
                i += len;
            } else {
                gt_buf_add(b, str + i, len);
                i += len;
            }
            continue;
        }
        switch (c) {
        case '"': gt_buf_add(b, "\\\"", 2); break;
        case '\\': gt_buf_add(b, "\\\\", 2); break;
        case '\a': gt_buf_add(b, "\\a", 2); break;
        case '\b': gt_buf_add(b, "\\b", 2); break;
        case '\f': gt_buf_add(b, "\\f", 2); break;
        case '\n': gt_buf_add(b, "\\n", 2); break;
        case '\r': gt_buf_add(b, "\\r", 2); break;
        case '\t': gt_buf_add(b, "\\t", 2); break;
        case '\v': gt_buf_add(b, "\\v", 2); break;
        default:
            if (c < 0x20 || c == 0x7F)
                gt_buf_printf(b, "\\x%02x", c);
            else
                gt_buf_addc(b, (char)c);
        }
        i++;
    }
    gt_buf_addc(b, '"');
}

static void
json_string_out(gt_buf_t *b, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;

    gt_buf_addc(b, '"');
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        uint32_t      r;
        size_t        len;

        if (c >= 0x80) {
            len = utf8_seq(str + i, n - i, &r);
            if (len == 0) {
                gt_buf_add(b, "\\ufffd", 6);
                i++;
            } else {
                if (r == 0x2028 || r == 0x2029)
                    gt_buf_printf(b, "\\u%04x", r);
                else
                    gt_buf_add(b, str + i, len);
                i += len;
            }
            continue;
        }
        switch (c) {
        case '"': gt_buf_add(b, "\\\"", 2); break;
        case '\\': gt_buf_add(b, "\\\\", 2); break;
        case '\b': gt_buf_add(b, "\\b", 2); break;
        case '\f': gt_buf_add(b, "\\f", 2); break;
        case '\n': gt_buf_add(b, "\\n", 2); break;
        case '\r': gt_buf_add(b, "\\r", 2); break;
        case '\t': gt_buf_add(b, "\\t", 2); break;
        case '<': case '>': case '&':
            gt_buf_printf(b, "\\u%04x", c);
            break;
        default:
            if (c < 0x20)
                gt_buf_printf(b, "\\u%04x", c);
            else
                gt_buf_addc(b, (char)c);
        }
        i++;
    }
    gt_buf_addc(b, '"');
}

void
gt_fmt_json(gt_buf_t *b, const gt_value_t *v)
{
    char num[512];

    switch (v->kind) {
    case GT_NONE:
    case GT_NIL:
        gt_buf_add(b, "null", 4);
        break;
    case GT_BOOL:
        gt_buf_add(b, v->u.b ? "true" : "false", v->u.b ? 4 : 5);
        break;
    case GT_INT:
        gt_buf_printf(b, "%lld", (long long)v->u.i);
        break;
    case GT_FLOAT:
        gt_buf_add(b, num, ks_jpath_format_float(num, sizeof(num), v->u.f, 'j'));
        break;
    case GT_STRING:
        json_string_out(b, v->u.str.s, v->u.str.len);
        break;
    case GT_MAP: {
        size_t       n;
        const char **keys = sorted_keys(v->u.json, &n);

        gt_buf_addc(b, '{');
        for (size_t k = 0; k < n; k++) {
            gt_value_t item = gt_from_json(json_object_get(v->u.json, keys[k]));

            if (k > 0)
                gt_buf_addc(b, ',');
            json_string_out(b, keys[k], strlen(keys[k]));
            gt_buf_addc(b, ':');
            gt_fmt_json(b, &item);
        }
        gt_buf_addc(b, '}');
        free(keys);
        break;
    }
    case GT_LIST: {
        const json_t *j;
        size_t        i;

        gt_buf_addc(b, '[');
        json_array_foreach(v->u.json, i, j) {
            gt_value_t item = gt_from_json(j);

            if (i > 0)
                gt_buf_addc(b, ',');
            gt_fmt_json(b, &item);
        }
        gt_buf_addc(b, ']');
        break;
    }
    case GT_TIME: {
        static const char layout[] = "2006-01-02T15:04:05.999999999Z07:00";

        gt_buf_addc(b, '"');
        gt_fmt_time(b, layout, sizeof(layout) - 1, v->u.t.sec, v->u.t.nsec);
        gt_buf_addc(b, '"');
        break;
    }
    }
}

/* ---------------------------------------------------------------------------------------------
 * time.Time.Format */

static const char *const months[] = { "January", "February", "March", "April", "May", "June", "July",
                                      "August", "September", "October", "November", "December" };
static const char *const days[] = { "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                                    "Saturday" };

static bool
starts(const char *s, size_t n, const char *lit)
{
    size_t l = strlen(lit);

    return l <= n && memcmp(s, lit, l) == 0;
}

/* A zone offset in one of Go's forms: colons and seconds as the layout asks, Z for UTC. */
static void
zone_offset(gt_buf_t *b, long off, bool z, bool colon, bool minutes, bool seconds)
{
    long a = off < 0 ? -off : off;

    if (z && off == 0) {
        gt_buf_addc(b, 'Z');
        return;
    }
    gt_buf_printf(b, "%c%02ld", off < 0 ? '-' : '+', a / 3600);
    if (minutes)
        gt_buf_printf(b, colon ? ":%02ld" : "%02ld", a / 60 % 60);
    if (seconds)
        gt_buf_printf(b, colon ? ":%02ld" : "%02ld", a % 60);
}

void
gt_fmt_time(gt_buf_t *b, const char *l, size_t n, int64_t sec, int32_t nsec)
{
    struct tm tm;
    time_t    t = (time_t)sec;
    int       hour12;

    if (localtime_r(&t, &tm) == NULL) {
        /* beyond what struct tm holds (years past 2^31): the epoch, where Go would print the year */
        t = 0;
        gmtime_r(&t, &tm);
    }
    hour12 = tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12;
    for (size_t i = 0; i < n;) {
        const char *s = l + i;
        size_t      left = n - i, used = 1;

        if (starts(s, left, "January")) { gt_buf_add(b, months[tm.tm_mon], strlen(months[tm.tm_mon])); used = 7; }
        else if (starts(s, left, "Jan")) { gt_buf_add(b, months[tm.tm_mon], 3); used = 3; }
        else if (starts(s, left, "Monday")) { gt_buf_add(b, days[tm.tm_wday], strlen(days[tm.tm_wday])); used = 6; }
        else if (starts(s, left, "Mon")) { gt_buf_add(b, days[tm.tm_wday], 3); used = 3; }
        else if (starts(s, left, "MST")) {
            if (tm.tm_zone != NULL && (tm.tm_zone[0] != '+' && tm.tm_zone[0] != '-'))
                gt_buf_add(b, tm.tm_zone, strlen(tm.tm_zone));
            else
                zone_offset(b, tm.tm_gmtoff, false, false, true, false);
            used = 3;
        }
        else if (starts(s, left, "2006")) { gt_buf_printf(b, "%04d", tm.tm_year + 1900); used = 4; }
        else if (starts(s, left, "002")) { gt_buf_printf(b, "%03d", tm.tm_yday + 1); used = 3; }
        else if (starts(s, left, "01")) { gt_buf_printf(b, "%02d", tm.tm_mon + 1); used = 2; }
        else if (starts(s, left, "02")) { gt_buf_printf(b, "%02d", tm.tm_mday); used = 2; }
        else if (starts(s, left, "03")) { gt_buf_printf(b, "%02d", hour12); used = 2; }
        else if (starts(s, left, "04")) { gt_buf_printf(b, "%02d", tm.tm_min); used = 2; }
        else if (starts(s, left, "05")) { gt_buf_printf(b, "%02d", tm.tm_sec); used = 2; }
        else if (starts(s, left, "06")) { gt_buf_printf(b, "%02d", (tm.tm_year + 1900) % 100); used = 2; }
        else if (starts(s, left, "15")) { gt_buf_printf(b, "%02d", tm.tm_hour); used = 2; }
        else if (starts(s, left, "1")) { gt_buf_printf(b, "%d", tm.tm_mon + 1); }
        else if (starts(s, left, "2")) { gt_buf_printf(b, "%d", tm.tm_mday); }
        else if (starts(s, left, "__2")) { gt_buf_printf(b, "%3d", tm.tm_yday + 1); used = 3; }
        else if (starts(s, left, "_2") && !starts(s, left, "_2006")) { gt_buf_printf(b, "%2d", tm.tm_mday); used = 2; }
        else if (starts(s, left, "3")) { gt_buf_printf(b, "%d", hour12); }
        else if (starts(s, left, "4")) { gt_buf_printf(b, "%d", tm.tm_min); }
        else if (starts(s, left, "5")) { gt_buf_printf(b, "%d", tm.tm_sec); }
        else if (starts(s, left, "PM")) { gt_buf_add(b, tm.tm_hour >= 12 ? "PM" : "AM", 2); used = 2; }
        else if (starts(s, left, "pm")) { gt_buf_add(b, tm.tm_hour >= 12 ? "pm" : "am", 2); used = 2; }
        else if (starts(s, left, "-07:00:00") || starts(s, left, "Z07:00:00")) {
            zone_offset(b, tm.tm_gmtoff, s[0] == 'Z', true, true, true); used = 9;
        } else if (starts(s, left, "-070000") || starts(s, left, "Z070000")) {
            zone_offset(b, tm.tm_gmtoff, s[0] == 'Z', false, true, true); used = 7;
        } else if (starts(s, left, "-07:00") || starts(s, left, "Z07:00")) {
            zone_offset(b, tm.tm_gmtoff, s[0] == 'Z', true, true, false); used = 6;
        } else if (starts(s, left, "-0700") || starts(s, left, "Z0700")) {
            zone_offset(b, tm.tm_gmtoff, s[0] == 'Z', false, true, false); used = 5;
        } else if (starts(s, left, "-07") || starts(s, left, "Z07")) {
            zone_offset(b, tm.tm_gmtoff, s[0] == 'Z', false, false, false); used = 3;
        } else if ((s[0] == '.' || s[0] == ',') && left > 1 && (s[1] == '0' || s[1] == '9')) {
            size_t digits = 1;

            while (1 + digits < left && s[1 + digits] == s[1])
                digits++;
            if (1 + digits < left && s[1 + digits] >= '0' && s[1 + digits] <= '9') {
                gt_buf_addc(b, s[0]);
            } else {
                char frac[10];
                size_t keep = digits > 9 ? 9 : digits;

                snprintf(frac, sizeof(frac), "%09d", (int)nsec);
                if (s[1] == '9') {
                    while (keep > 0 && frac[keep - 1] == '0')
                        keep--;
                }
                if (keep > 0 || s[1] == '0') {
                    gt_buf_addc(b, s[0]);
                    gt_buf_add(b, frac, keep);
                }
                used = 1 + digits;
            }
        } else {
            gt_buf_addc(b, s[0]);
        }
        i += used;
    }
}
