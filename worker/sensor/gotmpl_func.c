/* gotmpl_func.c — the functions a Go template calls: Go's builtins (and, or, not,
 * len, index, printf, print, println, eq, ne, lt, le, gt, ge) and the sprig functions Argo users
 * write (see gotmpl.h for the list).
 *
 * Each function keeps sprig's argument order (the value a pipe hands in comes last: `trimPrefix
 * "v" .x`) and its Go parameter types: a `string` parameter takes only a string, so that `upper`
 * of a number is an error as it is in Argo. Sprig's forgiving conversions are kept too: b64dec of
 * bad input returns the error text, fromJson of bad JSON returns nil, int of "abc" is 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base64.h"
#include "core/mem.h"
#include "sensor/gotmpl.h"
#include "sensor/gotmpl_int.h"

/* unicode.IsSpace */
static bool
is_unicode_space(uint32_t r)
{
    return r == ' ' || (r >= '\t' && r <= '\r') || r == 0x85 || r == 0xA0 || r == 0x1680 ||
           (r >= 0x2000 && r <= 0x200A) || r == 0x2028 || r == 0x2029 || r == 0x202F || r == 0x205F || r == 0x3000;
}

/* ---------------------------------------------------------------------------------------------
 * Go's builtins */

#define S(i) (args[i].u.str.s)
#define N(i) (args[i].u.str.len)

static int
ret_bool(gt_value_t *out, bool b)
{
    *out = (gt_value_t){ .kind = GT_BOOL, .u.b = b };
    return 0;
}

static int
ret_int(gt_value_t *out, int64_t i)
{
    *out = (gt_value_t){ .kind = GT_INT, .u.i = i };
    return 0;
}

/* not, and sprig's empty: whether the value is false by Go's truth */
static int
fn_not(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    (void)run;
    (void)n;
    return ret_bool(out, !gt_truth(&args[0]));
}

static int
fn_len(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    (void)n;
    switch (args[0].kind) {
    case GT_STRING: return ret_int(out, (int64_t)N(0));
    case GT_MAP: return ret_int(out, (int64_t)json_object_size(args[0].u.json));
    case GT_LIST: return ret_int(out, (int64_t)json_array_size(args[0].u.json));
    case GT_NONE:
    case GT_NIL: return gt_fail(run, "error calling len: len of nil pointer");
    default: return gt_fail(run, "error calling len: len of type %s", gt_type_name(&args[0]));
    }
}

static int
fn_index(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    gt_value_t item = args[0];

    if (item.kind == GT_NONE || item.kind == GT_NIL)
        return gt_fail(run, "error calling index: index of untyped nil");
    for (size_t i = 1; i < n; i++) {
        const gt_value_t *ix = &args[i];

        if (item.kind == GT_MAP) {
            const json_t *m;
            char         *key;

            if (ix->kind != GT_STRING)
                return gt_fail(run, "error calling index: value has type %s; should be string", gt_type_name(ix));
            key = ks_strndup(ix->u.str.s, ix->u.str.len);
            m = json_object_get(item.u.json, key);
            free(key);
            item = m ? gt_from_json(m) : (gt_value_t){ .kind = GT_NIL };
        } else if (item.kind == GT_LIST || item.kind == GT_STRING) {
            size_t size = item.kind == GT_LIST ? json_array_size(item.u.json) : item.u.str.len;

            if (ix->kind != GT_INT)
                return gt_fail(run, "error calling index: cannot index slice/array with type %s", gt_type_name(ix));
            if (ix->u.i < 0 || (uint64_t)ix->u.i >= size)
                return gt_fail(run, "error calling index: index out of range: %lld", (long long)ix->u.i);
            if (item.kind == GT_LIST)
                item = gt_from_json(json_array_get(item.u.json, (size_t)ix->u.i));
            else
                item = (gt_value_t){ .kind = GT_INT, .u.i = (unsigned char)item.u.str.s[ix->u.i] };
        } else if (item.kind == GT_NIL) {
            return gt_fail(run, "error calling index: index of nil pointer");
        } else {
            return gt_fail(run, "error calling index: can't index item of type %s", gt_type_name(&item));
        }
    }
    *out = item;
    return 0;
}

static int
fn_printf(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    gt_buf_t b = {0};

    gt_fmt_printf(&b, S(0), N(0), args + 1, n - 1);
    *out = gt_string_buf(run, &b);
    return 0;
}

static int
fn_print(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    gt_buf_t b = {0};

    gt_fmt_print(&b, args, n, false);
    *out = gt_string_buf(run, &b);
    return 0;
}

static int
fn_println(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    gt_buf_t b = {0};

    gt_fmt_print(&b, args, n, true);
    *out = gt_string_buf(run, &b);
    return 0;
}

/* Go's basicKind classes for comparisons; a nil or missing value is "invalid". */
typedef enum { K_INVALID, K_BOOL, K_INT, K_FLOAT, K_STRING, K_OTHER } basic_t;

static basic_t
basic(const gt_value_t *v)
{
    switch (v->kind) {
    case GT_NONE:
    case GT_NIL: return K_INVALID;
    case GT_BOOL: return K_BOOL;
    case GT_INT: return K_INT;
    case GT_FLOAT: return K_FLOAT;
    case GT_STRING: return K_STRING;
    default: return K_OTHER;
    }
}

/* eq for one pair: 1, 0, or -1 with the error set. */
static int
equal(gt_run_t *run, const gt_value_t *a, const gt_value_t *b)
{
    basic_t ka = basic(a), kb = basic(b);

    if (ka != kb) {
        if (ka != K_INVALID && kb != K_INVALID)
            return gt_fail(run, "error calling eq: incompatible types for comparison");
        return 0;
    }
    switch (ka) {
    case K_BOOL: return a->u.b == b->u.b;
    case K_INT: return a->u.i == b->u.i;
    case K_FLOAT: return a->u.f == b->u.f;
    case K_STRING: return a->u.str.len == b->u.str.len && memcmp(a->u.str.s, b->u.str.s, a->u.str.len) == 0;
    case K_INVALID: return 1;
    default: return gt_fail(run, "error calling eq: non-comparable type %s", gt_type_name(a));
    }
}

static int
fn_eq(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    if (n < 2)
        return gt_fail(run, "error calling eq: missing argument for comparison");
    for (size_t i = 1; i < n; i++) {
        int rc = equal(run, &args[0], &args[i]);

        if (rc != 0)
            return rc < 0 ? -1 : ret_bool(out, true);
    }
    return ret_bool(out, false);
}

static int
fn_ne(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    int rc = equal(run, &args[0], &args[1]);

    (void)n;
    return rc < 0 ? -1 : ret_bool(out, rc == 0);
}

/* lt for one pair: 1, 0, or -1 with the error set. */
static int
less(gt_run_t *run, const char *name, const gt_value_t *a, const gt_value_t *b)
{
    basic_t ka = basic(a), kb = basic(b);

    if (ka == K_INVALID || kb == K_INVALID || ka == K_OTHER || kb == K_OTHER || ka == K_BOOL)
        return gt_fail(run, "error calling %s: invalid type for comparison", name);
    if (ka != kb)
        return gt_fail(run, "error calling %s: incompatible types for comparison", name);
    switch (ka) {
    case K_INT: return a->u.i < b->u.i;
    case K_FLOAT: return a->u.f < b->u.f;
    default: {
        size_t m = a->u.str.len < b->u.str.len ? a->u.str.len : b->u.str.len;
        int    c = memcmp(a->u.str.s, b->u.str.s, m);

        return c < 0 || (c == 0 && a->u.str.len < b->u.str.len);
    }
    }
}

static int
order(gt_run_t *run, const char *name, const gt_value_t *args, gt_value_t *out)
{
    bool swap = name[0] == 'g';     /* gt = !le, ge = !lt */
    int  lt = less(run, name, &args[0], &args[1]), eq = 0;

    if (lt < 0)
        return -1;
    if (name[1] == 'e' || name[0] == 'g') {
        if (name[1] != 'e' || name[0] != 'g') {
            if ((eq = equal(run, &args[0], &args[1])) < 0)
                return -1;
        }
    }
    if (strcmp(name, "lt") == 0)
        return ret_bool(out, lt);
    if (strcmp(name, "le") == 0)
        return ret_bool(out, lt || eq);
    if (strcmp(name, "gt") == 0)
        return ret_bool(out, !(lt || eq));
    return ret_bool(out, swap && !lt);
}

static int fn_lt(gt_run_t *run, const gt_value_t *a, size_t n, gt_value_t *out) { (void)n; return order(run, "lt", a, out); }
static int fn_le(gt_run_t *run, const gt_value_t *a, size_t n, gt_value_t *out) { (void)n; return order(run, "le", a, out); }
static int fn_gt(gt_run_t *run, const gt_value_t *a, size_t n, gt_value_t *out) { (void)n; return order(run, "gt", a, out); }
static int fn_ge(gt_run_t *run, const gt_value_t *a, size_t n, gt_value_t *out) { (void)n; return order(run, "ge", a, out); }

/* ---------------------------------------------------------------------------------------------
 * sprig: strings */

static int
map_ascii(gt_run_t *run, const gt_value_t *args, gt_value_t *out, int (*conv)(int))
{
    gt_value_t v = gt_string(run, S(0), N(0));
    char      *s = (char *)v.u.str.s;

    for (size_t i = 0; i < v.u.str.len; i++) {
        if ((unsigned char)s[i] < 0x80)
            s[i] = (char)conv((unsigned char)s[i]);
    }
    *out = v;
    return 0;
}

static int ascii_upper(int c) { return c >= 'a' && c <= 'z' ? c - 32 : c; }
static int ascii_lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int fn_upper(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out) { (void)n; return map_ascii(run, args, out, ascii_upper); }
static int fn_lower(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out) { (void)n; return map_ascii(run, args, out, ascii_lower); }

/* strings.Title: the first letter after a separator (not a letter, digit or '_') upper-cased. */
static int
fn_title(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    gt_value_t v = gt_string(run, S(0), N(0));
    char      *s = (char *)v.u.str.s;
    bool       after_sep = true;

    (void)n;
    for (size_t i = 0; i < v.u.str.len;) {
        size_t   size;
        uint32_t r = gt_rune_at(s + i, v.u.str.len - i, &size);
        bool     sep;

        if (r < 0x80)
            sep = !((r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || r == '_');
        else
            sep = is_unicode_space(r);
        if (after_sep && r < 0x80)
            s[i] = (char)ascii_upper((int)r);
        after_sep = sep;
        i += size;
    }
    *out = v;
    return 0;
}

/* s without the runes drop says yes to at either end (strings.TrimFunc). */
static gt_value_t
trim_runes(const char *s, size_t n, bool (*drop)(uint32_t r, const gt_value_t *ctx), const gt_value_t *ctx)
{
    size_t start = 0, end = n, size;

    while (start < end && drop(gt_rune_at(s + start, end - start, &size), ctx))
        start += size;
    while (end > start) {
        size_t back = 1;

        while (back < end - start && back < 4 && ((unsigned char)s[end - back] & 0xC0) == 0x80)
            back++;
        if (!drop(gt_rune_at(s + end - back, back, &size), ctx) || size != back)
            break;
        end -= back;
    }
    return (gt_value_t){ .kind = GT_STRING, .u.str = { s + start, end - start } };
}

static bool
drop_space(uint32_t r, const gt_value_t *ctx)
{
    (void)ctx;
    return is_unicode_space(r);
}

static int
fn_trim(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    (void)run;
    (void)n;
    *out = trim_runes(S(0), N(0), drop_space, NULL);
    return 0;
}

static bool
has_prefix(const char *s, size_t n, const char *p, size_t pn)
{
    return pn <= n && memcmp(s, p, pn) == 0;
}

static bool
has_suffix(const char *s, size_t n, const char *p, size_t pn)
{
    return pn <= n && memcmp(s + n - pn, p, pn) == 0;
}

static int
fn_trim_prefix(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    (void)run;
    (void)n;
    *out = args[1];
    if (has_prefix(S(1), N(1), S(0), N(0))) {
        out->u.str.s += N(0);
        out->u.str.len -= N(0);
    }
    return 0;
}

static int
fn_trim_suffix(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    (void)run;
    (void)n;
    *out = args[1];
    if (has_suffix(S(1), N(1), S(0), N(0)))
        out->u.str.len -= N(0);
    return 0;
}

static bool
in_cutset(uint32_t r, const gt_value_t *cutset)
{
    for (size_t i = 0, size; i < cutset->u.str.len; i += size) {
        if (gt_rune_at(cutset->u.str.s + i, cutset->u.str.len - i, &size) == r)
            return true;
    }
    return false;
}

/* trimAll cutset s: strings.Trim(s, cutset) */
static int
fn_trim_all(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    (void)run;
    (void)n;
    *out = trim_runes(S(1), N(1), in_cutset, &args[0]);
    return 0;
}

/* replace old new s: strings.Replace(s, old, new, -1) (an empty old goes between every rune) */
static int
fn_replace(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    gt_buf_t b = {0};
    size_t   i = 0, size;

    (void)n;
    if (N(0) == 0) {
        gt_buf_add(&b, S(1), N(1));
        while (i < N(2)) {
            gt_rune_at(S(2) + i, N(2) - i, &size);
            gt_buf_add(&b, S(2) + i, size);
            gt_buf_add(&b, S(1), N(1));
            i += size;
        }
    } else {
        while (i < N(2)) {
            if (has_prefix(S(2) + i, N(2) - i, S(0), N(0))) {
                gt_buf_add(&b, S(1), N(1));
                i += N(0);
            } else {
                gt_buf_addc(&b, S(2)[i++]);
            }
        }
    }
    *out = gt_string_buf(run, &b);
    return 0;
}

static bool
contains(const char *s, size_t n, const char *sub, size_t sn)
{
    return sn == 0 || (n >= sn && memmem(s, n, sub, sn) != NULL);
}

static int fn_contains(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{ (void)run; (void)n; return ret_bool(out, contains(S(1), N(1), S(0), N(0))); }
static int fn_has_prefix(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{ (void)run; (void)n; return ret_bool(out, has_prefix(S(1), N(1), S(0), N(0))); }
static int fn_has_suffix(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{ (void)run; (void)n; return ret_bool(out, has_suffix(S(1), N(1), S(0), N(0))); }

/* nospace: sprig walks the bytes, each taken as a Latin-1 character: whitespace (0x85 and 0xA0
 * included) is dropped and every other byte written as that character (so "é" becomes "Ã©"). */
static int
fn_nospace(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    gt_buf_t b = {0};

    (void)n;
    for (size_t i = 0; i < N(0); i++) {
        unsigned char c = (unsigned char)S(0)[i];

        if (is_unicode_space(c))
            continue;
        if (c < 0x80) {
            gt_buf_addc(&b, (char)c);
        } else {
            gt_buf_addc(&b, (char)(0xC0 | (c >> 6)));
            gt_buf_addc(&b, (char)(0x80 | (c & 0x3F)));
        }
    }
    *out = gt_string_buf(run, &b);
    return 0;
}

static int
fn_repeat(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    gt_buf_t b = {0};

    (void)n;
    if (args[0].u.i < 0)
        return gt_fail(run, "error calling repeat: strings: negative Repeat count");
    if (N(1) > 0 && (uint64_t)args[0].u.i > KS_GOTMPL_MAX_OUTPUT / N(1))
        return gt_fail(run, "error calling repeat: the result would exceed %u bytes", KS_GOTMPL_MAX_OUTPUT);
    for (int64_t i = 0; i < args[0].u.i; i++)
        gt_buf_add(&b, S(1), N(1));
    *out = gt_string_buf(run, &b);
    return 0;
}

/* substr start end s: sprig's substring (byte offsets; a start past the end is Go's panic) */
static int
fn_substr(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    int64_t start = args[0].u.i, end = args[1].u.i, len = (int64_t)N(2);

    (void)n;
    if (start < 0)
        start = 0;
    else if (end < 0 || end > len)
        end = len;
    if (start > len || end < start)
        return gt_fail(run, "error calling substr: slice bounds out of range [%lld:%lld]", (long long)start,
                       (long long)end);
    *out = (gt_value_t){ .kind = GT_STRING, .u.str = { S(2) + start, (size_t)(end - start) } };
    return 0;
}

/* trunc n s: the first n bytes, or with n < 0 the last -n */
static int
fn_trunc(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    int64_t c = args[0].u.i, len = (int64_t)N(1);

    (void)run;
    (void)n;
    *out = args[1];
    if (c < 0 && len + c > 0) {
        out->u.str.s += len + c;
        out->u.str.len = (size_t)-c;
    } else if (c >= 0 && len > c) {
        out->u.str.len = (size_t)c;
    }
    return 0;
}

/* sprig's strval: strings as they are, everything else as %v */
static void
strval(gt_buf_t *b, const gt_value_t *v)
{
    if (v->kind == GT_STRING)
        gt_buf_add(b, v->u.str.s, v->u.str.len);
    else
        gt_fmt_value(b, v, false);
}

static int
fn_to_string(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    gt_buf_t b = {0};

    (void)n;
    if (args[0].kind == GT_STRING) {
        *out = args[0];
        return 0;
    }
    strval(&b, &args[0]);
    *out = gt_string_buf(run, &b);
    return 0;
}

/* cat: the non-nil arguments as %v, separated by spaces */
static int
fn_cat(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    gt_buf_t b = {0};
    bool     first = true;

    for (size_t i = 0; i < n; i++) {
        if (args[i].kind == GT_NIL)
            continue;
        if (!first)
            gt_buf_addc(&b, ' ');
        first = false;
        gt_fmt_value(&b, &args[i], false);
    }
    *out = gt_string_buf(run, &b);
    return 0;
}

static int
quote_each(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out, bool single)
{
    gt_buf_t b = {0}, one = {0};
    bool     first = true;

    for (size_t i = 0; i < n; i++) {
        if (args[i].kind == GT_NIL)
            continue;
        if (!first)
            gt_buf_addc(&b, ' ');
        first = false;
        one.len = 0;
        strval(&one, &args[i]);
        if (single) {
            gt_buf_addc(&b, '\'');
            gt_buf_add(&b, one.data, one.len);
            gt_buf_addc(&b, '\'');
        } else {
            gt_fmt_quote(&b, one.data ? one.data : "", one.len);
        }
    }
    free(one.data);
    *out = gt_string_buf(run, &b);
    return 0;
}

static int fn_quote(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out) { return quote_each(run, args, n, out, false); }
static int fn_squote(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out) { return quote_each(run, args, n, out, true); }

/* ---------------------------------------------------------------------------------------------
 * sprig: defaults, encodings, lists, numbers, dates */

static int
fn_default(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    (void)run;
    *out = n < 2 || !gt_truth(&args[1]) ? args[0] : args[1];
    return 0;
}

static int
fn_coalesce(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    (void)run;
    for (size_t i = 0; i < n; i++) {
        if (gt_truth(&args[i])) {
            *out = args[i];
            return 0;
        }
    }
    *out = (gt_value_t){ .kind = GT_NIL };
    return 0;
}

/* ternary if-true if-false condition */
static int
fn_ternary(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    (void)n;
    if (args[2].kind != GT_BOOL)
        return gt_fail(run, "ternary: wrong type for value; expected bool; got %s", gt_type_name(&args[2]));
    *out = args[2].u.b ? args[0] : args[1];
    return 0;
}

static int
fn_b64enc(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    size_t len;
    char  *text = ks_base64_encode(S(0), N(0), &len);

    (void)n;
    *out = gt_string(run, text, len);
    free(text);
    return 0;
}

/* b64dec: the decoded bytes, or (sprig) the text of Go's error */
static int
fn_b64dec(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    unsigned char *bytes;
    size_t         len;

    (void)n;
    if (ks_base64_decode(S(0), N(0), &bytes, &len) != 0) {
        gt_buf_t b = {0};
        size_t   at = 0;

        /* Go reports the first byte it could not use */
        while (at < N(0) && (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                                    S(0)[at]) != NULL && S(0)[at] != '\0'))
            at++;
        if (at == N(0))
            at = N(0) - N(0) % 4;
        gt_buf_printf(&b, "illegal base64 data at input byte %zu", at);
        *out = gt_string_buf(run, &b);
        return 0;
    }
    *out = gt_string(run, (const char *)bytes, len);
    free(bytes);
    return 0;
}

static int
fn_to_json(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    gt_buf_t b = {0};

    (void)n;
    gt_fmt_json(&b, &args[0]);
    *out = gt_string_buf(run, &b);
    return 0;
}

static int
fn_from_json(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    json_t *j = json_loadb(S(0), N(0), JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

    (void)n;
    if (j == NULL) {
        *out = (gt_value_t){ .kind = GT_NIL };
        return 0;
    }
    *out = gt_from_json(gt_hold(run, j));
    return 0;
}

/* strings.Split(s, sep) into a JSON array (an empty sep splits into runes) */
static json_t *
split(const gt_value_t *sep, const gt_value_t *s)
{
    json_t *list = json_array();
    size_t  i = 0, start = 0, size;

    if (sep->u.str.len == 0) {
        for (; i < s->u.str.len; i += size) {
            gt_rune_at(s->u.str.s + i, s->u.str.len - i, &size);
            json_array_append_new(list, json_stringn_nocheck(s->u.str.s + i, size));
        }
        return list;
    }
    while (i + sep->u.str.len <= s->u.str.len) {
        if (memcmp(s->u.str.s + i, sep->u.str.s, sep->u.str.len) == 0) {
            json_array_append_new(list, json_stringn_nocheck(s->u.str.s + start, i - start));
            i += sep->u.str.len;
            start = i;
        } else {
            i++;
        }
    }
    json_array_append_new(list, json_stringn_nocheck(s->u.str.s + start, s->u.str.len - start));
    return list;
}

/* split sep s: a map _0, _1, … (sprig's) */
static int
fn_split(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    json_t *list = split(&args[0], &args[1]), *map = json_object(), *item;
    size_t  i;

    (void)n;
    json_array_foreach(list, i, item) {
        char key[32];

        snprintf(key, sizeof(key), "_%zu", i);
        json_object_set(map, key, item);
    }
    json_decref(list);
    *out = gt_from_json(gt_hold(run, map));
    return 0;
}

static int
fn_split_list(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    (void)n;
    *out = gt_from_json(gt_hold(run, split(&args[0], &args[1])));
    return 0;
}

/* join sep list: the list's non-nil elements as strings (a scalar is a list of one) */
static int
fn_join(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    gt_buf_t b = {0};

    (void)n;
    if (args[1].kind == GT_LIST) {
        const json_t *item;
        size_t        i;
        bool          first = true;

        json_array_foreach(args[1].u.json, i, item) {
            gt_value_t v = gt_from_json(item);

            if (v.kind == GT_NIL)
                continue;
            if (!first)
                gt_buf_add(&b, S(0), N(0));
            first = false;
            strval(&b, &v);
        }
    } else if (args[1].kind != GT_NIL) {
        strval(&b, &args[1]);
    }
    *out = gt_string_buf(run, &b);
    return 0;
}

/* strconv.ParseInt(s, 0, 64) after cast's trimming of a zero decimal part ("3.00" -> "3") */
static int64_t
parse_int(const char *s, size_t len, bool base0)
{
    char     buf[72], *end;
    long long v;
    size_t    n = len;

    if (len == 0 || len >= sizeof(buf) || memchr(s, '_', len) != NULL)
        return 0;
    if (base0) {
        bool zero = false;

        for (size_t i = len; i > 0; i--) {
            if (s[i - 1] == '0') {
                zero = true;
            } else {
                if (s[i - 1] == '.' && zero)
                    n = i - 1;
                break;
            }
        }
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (buf[0] == ' ' || buf[0] == '\t' || buf[0] == '\n')
        return 0;
    v = strtoll(buf, &end, base0 ? 0 : 10);
    return *end == '\0' && end != buf ? v : 0;
}

/* cast.ToInt64 (int, int64): numbers truncated, strings parsed (0 if not a number), true 1 */
static int
fn_int(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    (void)run;
    (void)n;
    switch (args[0].kind) {
    case GT_INT: return ret_int(out, args[0].u.i);
    case GT_FLOAT:  /* Go on amd64: a float out of range (or NaN) becomes the smallest int64 */
        return ret_int(out, args[0].u.f > -9.2e18 && args[0].u.f < 9.2e18 ? (int64_t)args[0].u.f : INT64_MIN);
    case GT_BOOL: return ret_int(out, args[0].u.b);
    case GT_STRING: return ret_int(out, parse_int(S(0), N(0), true));
    default: return ret_int(out, 0);
    }
}

static int
fn_float64(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    double f = 0;

    (void)run;
    (void)n;
    switch (args[0].kind) {
    case GT_INT: f = (double)args[0].u.i; break;
    case GT_FLOAT: f = args[0].u.f; break;
    case GT_BOOL: f = args[0].u.b; break;
    case GT_STRING: {
        char *copy = ks_strndup(S(0), N(0)), *end;

        f = strtod(copy, &end);
        if (*end != '\0' || end == copy || copy[0] == ' ' || memchr(copy, '_', N(0)) != NULL)
            f = 0;
        free(copy);
        break;
    }
    default: break;
    }
    *out = (gt_value_t){ .kind = GT_FLOAT, .u.f = f };
    return 0;
}

static int
fn_atoi(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    (void)run;
    (void)n;
    return ret_int(out, parse_int(S(0), N(0), false));
}

static int
fn_now(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    struct timespec ts;

    (void)run;
    (void)args;
    (void)n;
    clock_gettime(CLOCK_REALTIME, &ts);
    *out = (gt_value_t){ .kind = GT_TIME, .u.t = { ts.tv_sec, (int32_t)ts.tv_nsec } };
    return 0;
}

/* date layout t: a time, or an integer of Unix seconds; anything else is now (sprig's rule) */
static int
fn_date(gt_run_t *run, const gt_value_t *args, size_t n, gt_value_t *out)
{
    gt_buf_t   b = {0};
    gt_value_t t = args[1];

    if (t.kind == GT_INT)
        t = (gt_value_t){ .kind = GT_TIME, .u.t = { t.u.i, 0 } };
    else if (t.kind != GT_TIME)
        fn_now(run, args, n, &t);
    gt_fmt_time(&b, S(0), N(0), t.u.t.sec, t.u.t.nsec);
    *out = gt_string_buf(run, &b);
    return 0;
}

/* Parameter letters: s string, i int, a any, r raw (see gotmpl_int.h). Sorted by name. */
static const gt_func_t funcs[] = {
    { "and", "r*", NULL },          /* and, or: run by the executor, which short-circuits them */
    { "atoi", "s", fn_atoi },
    { "b64dec", "s", fn_b64dec },
    { "b64enc", "s", fn_b64enc },
    { "cat", "a*", fn_cat },
    { "coalesce", "a*", fn_coalesce },
    { "contains", "ss", fn_contains },
    { "date", "sa", fn_date },
    { "default", "aa*", fn_default },
    { "empty", "a", fn_not },
    { "eq", "rr*", fn_eq },
    { "float64", "a", fn_float64 },
    { "fromJson", "s", fn_from_json },
    { "ge", "rr", fn_ge },
    { "gt", "rr", fn_gt },
    { "hasPrefix", "ss", fn_has_prefix },
    { "hasSuffix", "ss", fn_has_suffix },
    { "index", "rr*", fn_index },
    { "int", "a", fn_int },
    { "int64", "a", fn_int },
    { "join", "sa", fn_join },
    { "le", "rr", fn_le },
    { "len", "r", fn_len },
    { "lower", "s", fn_lower },
    { "lt", "rr", fn_lt },
    { "ne", "rr", fn_ne },
    { "not", "r", fn_not },
    { "now", "", fn_now },
    { "nospace", "s", fn_nospace },
    { "or", "r*", NULL },
    { "print", "a*", fn_print },
    { "printf", "sa*", fn_printf },
    { "println", "a*", fn_println },
    { "quote", "a*", fn_quote },
    { "repeat", "is", fn_repeat },
    { "replace", "sss", fn_replace },
    { "split", "ss", fn_split },
    { "splitList", "ss", fn_split_list },
    { "squote", "a*", fn_squote },
    { "substr", "iis", fn_substr },
    { "ternary", "aar", fn_ternary },
    { "title", "s", fn_title },
    { "toJson", "a", fn_to_json },
    { "toString", "a", fn_to_string },
    { "trim", "s", fn_trim },
    { "trimAll", "ss", fn_trim_all },
    { "trimPrefix", "ss", fn_trim_prefix },
    { "trimSuffix", "ss", fn_trim_suffix },
    { "trunc", "is", fn_trunc },
    { "upper", "s", fn_upper },
};

const gt_func_t *
gt_func_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++) {
        if (strlen(funcs[i].name) == len && memcmp(funcs[i].name, name, len) == 0)
            return &funcs[i];
    }
    return NULL;
}
