/* jpath.c — gjson-style lookups and sjson-style updates on jansson values (see jpath.h).
 *
 * Paths are walked one component at a time, the way gjson does, so a wildcard or a "#." map can try
 * the rest of the path below several candidates. Setting first parses the whole path, so a bad path
 * is refused before the document is touched. */
#include "sensor/jpath.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

/* Most new nulls one set may add to pad an array (sjson has no limit; a typo should not eat memory). */
#define JPATH_MAX_PAD 65536

/* A jansson constructor failed: only memory exhaustion can cause it, which ks_mem treats as fatal. */
static json_t *
jnew(json_t *value)
{
    if (value == NULL) {
        fputs("ksensor: out of memory in jansson\n", stderr);
        abort();
    }
    return value;
}

/* ---- Go float formatting --------------------------------------------------------------------- */

/* Shortest decimal digits that read back as v (finite, > 0); *exp10 is the exponent of the first. */
static int
float_digits(double v, char *digits, int *exp10)
{
    char        buf[48];
    const char *c;
    int         prec, n = 0;

    for (prec = 0; prec < 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    for (c = buf; *c != 'e' && *c != '\0'; c++)
        if (*c >= '0' && *c <= '9')
            digits[n++] = *c;
    *exp10 = *c == 'e' ? atoi(c + 1) : 0;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    return n;
}

size_t
ks_jpath_format_float(char *buf, size_t size, double v, char style)
{
    char   out[512], digits[24];
    size_t o = 0;
    int    nd, e, dp, i;
    bool   use_e;

    if (isnan(v) || isinf(v))
        return (size_t)snprintf(buf, size, "%s", isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf");
    if (signbit(v)) {
        out[o++] = '-';
        v = -v;
    }
    if (v == 0) {
        digits[0] = '0';
        nd = 1;
        e = 0;
    } else {
        nd = float_digits(v, digits, &e);
    }
    /* %v is strconv's shortest 'g', which goes to exponent form below 1e-4 and from 1e6 on. */
    use_e = (style == 'g' && (e < -4 || e >= 6)) || (style == 'j' && v != 0 && (v < 1e-6 || v >= 1e21));
    if (use_e) {
        out[o++] = digits[0];
        if (nd > 1) {
            out[o++] = '.';
            memcpy(out + o, digits + 1, (size_t)nd - 1);
            o += (size_t)nd - 1;
        }
        /* Go writes at least two exponent digits; encoding/json then trims "e-07" to "e-7". */
        out[o++] = 'e';
        out[o++] = e < 0 ? '-' : '+';
        o += (size_t)snprintf(out + o, sizeof(out) - o, style == 'j' && e < 0 ? "%d" : "%02d", e < 0 ? -e : e);
    } else {
        dp = e + 1;
        if (dp <= 0) {
            out[o++] = '0';
            out[o++] = '.';
            for (i = 0; i < -dp; i++)
                out[o++] = '0';
            memcpy(out + o, digits, (size_t)nd);
            o += (size_t)nd;
        } else if (dp >= nd) {
            memcpy(out + o, digits, (size_t)nd);
            o += (size_t)nd;
            for (i = nd; i < dp; i++)
                out[o++] = '0';
        } else {
            memcpy(out + o, digits, (size_t)dp);
            o += (size_t)dp;
            out[o++] = '.';
            memcpy(out + o, digits + dp, (size_t)(nd - dp));
            o += (size_t)(nd - dp);
        }
    }
    out[o] = '\0';
    return (size_t)snprintf(buf, size, "%s", out);
}

/* ---- conversions (gjson's Result methods) ---------------------------------------------------- */

typedef struct jpath_buf {
    char  *s;
    size_t len;
    size_t cap;
} jpath_buf_t;

static void
buf_add(jpath_buf_t *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = ks_realloc(b->s, b->cap);
    }
    memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void
buf_add_string(jpath_buf_t *b, const char *s, size_t n)
{
    char   esc[8];
    size_t i;

    buf_add(b, "\"", 1);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            buf_add(b, esc, 2);
        } else if (c < 0x20) {
            const char *named = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r"
                              : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;

            if (named == NULL) {
                snprintf(esc, sizeof(esc), "\\u%04x", c);
                named = esc;
            }
            buf_add(b, named, strlen(named));
        } else {
            buf_add(b, s + i, 1);
        }
    }
    buf_add(b, "\"", 1);
}

/* Compact JSON like jansson's, but reals in their shortest form ("0.1", not "0.10000000000000001"). */
static void
buf_add_json(jpath_buf_t *b, const json_t *v)
{
    char        num[512];
    const char *key;
    json_t     *item;
    size_t      i;
    bool        first = true;

    switch (json_typeof(v)) {
    case JSON_OBJECT:
        buf_add(b, "{", 1);
        json_object_foreach((json_t *)v, key, item) {
            if (!first)
                buf_add(b, ",", 1);
            first = false;
            buf_add_string(b, key, strlen(key));
            buf_add(b, ":", 1);
            buf_add_json(b, item);
        }
        buf_add(b, "}", 1);
        break;
    case JSON_ARRAY:
        buf_add(b, "[", 1);
        json_array_foreach(v, i, item) {
            if (i > 0)
                buf_add(b, ",", 1);
            buf_add_json(b, item);
        }
        buf_add(b, "]", 1);
        break;
    case JSON_STRING:
        buf_add_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        buf_add(b, num, strlen(num));
        break;
    case JSON_REAL:
        ks_jpath_format_float(num, sizeof(num), json_real_value(v), 'j');
        buf_add(b, num, strlen(num));
        break;
    case JSON_TRUE:
        buf_add(b, "true", 4);
        break;
    case JSON_FALSE:
        buf_add(b, "false", 5);
        break;
    case JSON_NULL:
        buf_add(b, "null", 4);
        break;
    }
}

char *
ks_jpath_string(const json_t *value)
{
    jpath_buf_t b = {0};
    char        num[512];

    if (value == NULL)
        return ks_strdup("");
    switch (json_typeof(value)) {
    case JSON_STRING:
        return ks_strndup(json_string_value(value), json_string_length(value));
    case JSON_INTEGER:
        return ks_asprintf("%" JSON_INTEGER_FORMAT, json_integer_value(value));
    case JSON_REAL:
        ks_jpath_format_float(num, sizeof(num), json_real_value(value), 'f');
        return ks_strdup(num);
    case JSON_TRUE:
        return ks_strdup("true");
    case JSON_FALSE:
        return ks_strdup("false");
    case JSON_NULL:
        return ks_strdup("");
    case JSON_OBJECT:
    case JSON_ARRAY:
        break;
    }
    buf_add_json(&b, value);
    return b.s;
}

/* strconv's rule for '_' in numbers: only between digits, or right after a base prefix. */
static bool
underscores_ok(const char *s)
{
    char saw = '^'; /* '^' start, '0' digit or prefix, '_' underscore, '!' anything else */
    bool hex = false;

    if (*s == '+' || *s == '-')
        s++;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X' || s[1] == 'b' || s[1] == 'B' || s[1] == 'o' || s[1] == 'O')) {
        hex = s[1] == 'x' || s[1] == 'X';
        saw = '0';
        s += 2;
    }
    for (; *s != '\0'; s++) {
        if ((*s >= '0' && *s <= '9') || (hex && ((*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F'))))
            saw = '0';
        else if (*s == '_' && saw != '0')
            return false;
        else if (*s != '_' && saw == '_')
            return false;
        else
            saw = *s == '_' ? '_' : '!';
    }
    return saw != '_';
}

/* strconv.ParseFloat, returning 0 where Go reports a syntax error: no surrounding space, '_' only
 * between digits, a hex mantissa needs a 'p' exponent, no sign on NaN, and C's "nan(...)" is not
 * Go's. Overflow gives ±Inf, as in Go. */
static double
parse_go_float(const char *s, size_t len)
{
    char  *copy, *end, *w;
    double d;
    bool   ok;

    if (len == 0 || strlen(s) != len || s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r') || strchr(s, '(')
        || ((s[0] == '+' || s[0] == '-') && (s[1] == 'n' || s[1] == 'N')) || !underscores_ok(s))
        return 0;
    copy = ks_strdup(s);
    for (w = copy, end = copy; *end != '\0'; end++)
        if (*end != '_')
            *w++ = *end;
    *w = '\0';
    w = copy + (*copy == '+' || *copy == '-');
    ok = !(w[0] == '0' && (w[1] == 'x' || w[1] == 'X') && strpbrk(w, "pP") == NULL);
    d = ok ? strtod(copy, &end) : 0;
    ok = ok && *end == '\0';
    free(copy);
    return ok ? d : 0;
}

double
ks_jpath_float(const json_t *value)
{
    if (json_is_number(value))
        return json_number_value(value);
    if (json_is_string(value))
        return parse_go_float(json_string_value(value), json_string_length(value));
    return json_is_true(value) ? 1 : 0;
}

bool
ks_jpath_bool(const json_t *value)
{
    const char *s;
    size_t      len, i;
    char        low[5];

    if (json_is_number(value))
        return json_number_value(value) != 0;
    if (!json_is_string(value))
        return json_is_true(value);
    /* strconv.ParseBool(strings.ToLower(s)) is true for "1", "t" and "true". */
    s = json_string_value(value);
    len = json_string_length(value);
    if (len != 1 && len != 4)
        return false;
    for (i = 0; i < len; i++)
        low[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
    low[len] = '\0';
    return strcmp(low, "1") == 0 || strcmp(low, "t") == 0 || strcmp(low, "true") == 0;
}

const char *
ks_jpath_type(const json_t *value)
{
    if (value == NULL)
        return "Null";
    switch (json_typeof(value)) {
    case JSON_STRING:
        return "String";
    case JSON_INTEGER:
    case JSON_REAL:
        return "Number";
    case JSON_TRUE:
        return "True";
    case JSON_FALSE:
        return "False";
    case JSON_NULL:
        return "Null";
    case JSON_OBJECT:
    case JSON_ARRAY:
        break;
    }
    return "JSON";
}

/* ---- path components ------------------------------------------------------------------------- */

/* One dot-separated component with its escapes resolved. */
typedef struct jpath_part {
    char       *key;      /* the text without escapes */
    char       *pat;      /* for wildcard matching: escaped characters keep their backslash */
    bool        wild;     /* an unescaped '*' or '?' */
    bool        esc;      /* some character was escaped */
    bool        dangling; /* the component ends with a lone backslash */
    char        complex;  /* the first unescaped '|', '#', '@', '*' or '?' (sjson's complex paths) */
    const char *rest;     /* the path after the '.', or NULL for the last component */
} jpath_part_t;

static void
part_split(const char *path, jpath_part_t *part)
{
    size_t n, i, k = 0, q = 0;

    for (n = 0; path[n] != '\0' && path[n] != '.'; n++)
        if (path[n] == '\\' && path[n + 1] != '\0')
            n++;
    memset(part, 0, sizeof(*part));
    part->key = ks_malloc(n + 1);
    part->pat = ks_malloc(n + 1);
    for (i = 0; i < n; i++) {
        if (path[i] == '\\') {
            if (i + 1 == n) {
                part->dangling = true;
                break;
            }
            part->esc = true;
            part->pat[q++] = '\\';
            part->pat[q++] = path[++i];
            part->key[k++] = path[i];
            continue;
        }
        if (part->complex == '\0' && strchr("|#@*?", path[i]) != NULL)
            part->complex = path[i];
        if (path[i] == '*' || path[i] == '?')
            part->wild = true;
        part->key[k++] = path[i];
        part->pat[q++] = path[i];
    }
    part->key[k] = '\0';
    part->pat[q] = '\0';
    part->rest = path[n] == '.' ? path + n + 1 : NULL;
}

static void
part_free(jpath_part_t *part)
{
    free(part->key);
    free(part->pat);
}

/* Parses an array index the way gjson and sjson do: digits only, leading zeros allowed. Values too
 * large for any array become SIZE_MAX. */
static bool
parse_index(const char *s, size_t *index)
{
    size_t n = 0;

    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return false;
        n = n > (SIZE_MAX - 9) / 10 ? SIZE_MAX : n * 10 + (size_t)(*s - '0');
    }
    *index = n;
    return true;
}

/* ---- get -------------------------------------------------------------------------------------- */

static size_t
utf8_len(const char *s)
{
    size_t n = 1;

    while (n < 4 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n++;
    return n;
}

/* tidwall/match: '*' matches any run, '?' one UTF-8 character; "\x" in pat is a literal x. */
static bool
glob_match(const char *s, const char *p)
{
    const char *star_p = NULL, *star_s = NULL;

    while (*s != '\0') {
        if (*p == '*') {
            star_p = ++p;
            star_s = s;
            continue;
        }
        if (*p == '?') {
            p++;
            s += utf8_len(s);
            continue;
        }
        if (*p != '\0') {
            const char *lit = (*p == '\\' && p[1] != '\0') ? p + 1 : p;

            if (*lit == *s) {
                p = lit + 1;
                s++;
                continue;
            }
        }
        if (star_p == NULL)
            return false;
        p = star_p;
        star_s += utf8_len(star_s);
        s = star_s;
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

static bool
is_modifier(const char *name)
{
    static const char *const names[] = {"pretty", "ugly", "reverse", "this", "flatten", "join", "valid",
                                        "keys", "values", "tostr", "fromstr", "group", "dig"};
    size_t n = strcspn(name, ".:|"), i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i]) == n && strncmp(names[i], name, n) == 0)
            return true;
    return false;
}

/* False when the path uses gjson syntax that ks_jpath_get does not implement (listed in the header). */
static bool
path_supported(const char *path)
{
    bool        start = true;
    const char *p;

    if ((path[0] == '!' && path[1] != '\0') || (path[0] == '.' && path[1] == '.'))
        return false;
    for (p = path; *p != '\0'; p++) {
        if (*p == '\\') {
            if (p[1] != '\0')
                p++;
            start = false;
            continue;
        }
        if (*p == '|')
            return false;
        if (*p == '.') {
            start = true;
            continue;
        }
        if (start && (*p == '[' || *p == '{' || (*p == '#' && (p[1] == '(' || p[1] == '['))
                      || (*p == '@' && is_modifier(p + 1))))
            return false;
        start = false;
    }
    return true;
}

static json_t *get_path(const json_t *v, const char *path);

/* The rest of the path below a found value (a new reference), or the value itself when it is the last. */
static json_t *
get_rest(const json_t *found, const char *rest)
{
    return rest == NULL ? json_incref((json_t *)found) : get_path(found, rest);
}

static json_t *
get_in_object(const json_t *obj, const jpath_part_t *part)
{
    const char *key;
    json_t     *item, *res;

    if (!part->wild) {
        item = json_object_get(obj, part->key);
        return item == NULL ? NULL : get_rest(item, part->rest);
    }
    /* Like gjson: the first key in document order that matches and under which the rest exists. */
    json_object_foreach((json_t *)obj, key, item) {
        if (glob_match(key, part->pat) && (res = get_rest(item, part->rest)) != NULL)
            return res;
    }
    return NULL;
}

static json_t *
get_in_array(const json_t *arr, const jpath_part_t *part)
{
    json_t *item, *res, *all;
    size_t  i, index;

    if (strcmp(part->key, "#") == 0 && !part->esc) {
        if (part->rest == NULL)
            return jnew(json_integer((json_int_t)json_array_size(arr)));
        all = jnew(json_array());
        json_array_foreach(arr, i, item) {
            if ((res = get_path(item, part->rest)) != NULL)
                json_array_append_new(all, res);
        }
        return all;
    }
    if (part->esc || part->dangling || !parse_index(part->key, &index) || index >= json_array_size(arr))
        return NULL;
    return get_rest(json_array_get(arr, index), part->rest);
}

static json_t *
get_path(const json_t *v, const char *path)
{
    jpath_part_t part;
    json_t      *res;

    if (!json_is_object(v) && !json_is_array(v))
        return NULL;
    part_split(path, &part);
    res = json_is_object(v) ? get_in_object(v, &part) : get_in_array(v, &part);
    part_free(&part);
    return res;
}

json_t *
ks_jpath_get(const json_t *root, const char *path)
{
    if (root == NULL || path == NULL || !path_supported(path))
        return NULL;
    return get_path(root, path);
}

/* ---- set -------------------------------------------------------------------------------------- */

typedef struct jpath_comp {
    char  *key;
    bool   digits;  /* the key is all digits: it can name an existing array element */
    bool   numeric; /* digits and not forced to be a key with ':' (sjson's atoui) */
    bool   append;  /* "-1", not forced */
    size_t index;
} jpath_comp_t;

typedef struct jpath_set {
    jpath_comp_t *comps;
    size_t        n;
    const char   *path;
    char         *err;
    size_t        errlen;
} jpath_set_t;

/* A fresh chain of containers for comps[i..] holding value; NULL (value freed) when padding is too big. */
static json_t *
build(const jpath_set_t *set, size_t i, json_t *value)
{
    const jpath_comp_t *c;
    json_t             *node, *child;
    size_t              k;

    if (i == set->n)
        return value;
    c = &set->comps[i];
    if (c->numeric && c->index > JPATH_MAX_PAD) {
        snprintf(set->err, set->errlen, "array index %s in path '%s' is too large to pad with nulls (limit %d)",
                 c->key, set->path, JPATH_MAX_PAD);
        json_decref(value);
        return NULL;
    }
    if ((child = build(set, i + 1, value)) == NULL)
        return NULL;
    if (c->numeric || c->append) {
        node = jnew(json_array());
        for (k = 0; c->numeric && k < c->index; k++)
            json_array_append_new(node, json_null());
        json_array_append_new(node, child);
        return node;
    }
    node = jnew(json_object());
    if (json_object_set_new(node, c->key, child) != 0) {
        snprintf(set->err, set->errlen, "key '%s' in path '%s' is not valid UTF-8", c->key, set->path);
        json_decref(node);
        return NULL;
    }
    return node;
}

/* Applies comps[i..] inside cur (borrowed, may be NULL). Returns what belongs in cur's place as a new
 * reference (cur changed in place, or a new container), or NULL after an error with cur untouched.
 * Steals value. */
static json_t *
set_at(const jpath_set_t *set, json_t *cur, size_t i, json_t *value)
{
    const jpath_comp_t *c = &set->comps[i];
    json_t             *child, *node;
    size_t              size;

    if (!json_is_object(cur) && !json_is_array(cur)) {
        /* sjson replaces a missing or scalar document by [] for a numeric key, {} otherwise. */
        child = c->numeric ? jnew(json_array()) : jnew(json_object());
        node = set_at(set, child, i, value);
        json_decref(child);
        return node;
    }
    if (json_is_object(cur)) {
        child = json_object_get(cur, c->key);
        if (child == NULL)
            node = build(set, i + 1, value);
        else
            node = i + 1 == set->n ? value : set_at(set, child, i + 1, value);
        if (node == NULL)
            return NULL;
        if (json_object_set_new(cur, c->key, node) != 0) {
            snprintf(set->err, set->errlen, "key '%s' in path '%s' is not valid UTF-8", c->key, set->path);
            return NULL;
        }
        return json_incref(cur);
    }
    size = json_array_size(cur);
    if (c->digits && c->index < size) {
        node = i + 1 == set->n ? value : set_at(set, json_array_get(cur, c->index), i + 1, value);
        if (node == NULL)
            return NULL;
        json_array_set_new(cur, c->index, node);
        return json_incref(cur);
    }
    if (!c->numeric && !c->append) {
        snprintf(set->err, set->errlen, "cannot set array element for non-numeric key '%s' in path '%s'",
                 c->key, set->path);
        json_decref(value);
        return NULL;
    }
    if (c->numeric && c->index - size > JPATH_MAX_PAD) {
        snprintf(set->err, set->errlen, "array index %s in path '%s' is too large to pad with nulls (limit %d)",
                 c->key, set->path, JPATH_MAX_PAD);
        json_decref(value);
        return NULL;
    }
    if ((node = build(set, i + 1, value)) == NULL)
        return NULL;
    while (c->numeric && json_array_size(cur) < c->index)
        json_array_append_new(cur, json_null());
    json_array_append_new(cur, node);
    return json_incref(cur);
}

/* Splits an sjson path into components; 0, or -1 with a message. */
static int
set_parse(jpath_set_t *set, const char *path)
{
    jpath_part_t part;
    jpath_comp_t *c;
    const char  *p = path;
    bool         force;

    if (path[0] == '\0') {
        snprintf(set->err, set->errlen, "path cannot be empty");
        return -1;
    }
    for (;;) {
        force = *p == ':';
        part_split(force ? p + 1 : p, &part);
        if (part.complex != '\0' || part.dangling || (part.key[0] == '\0' && !part.esc)) {
            if (part.complex != '\0')
                snprintf(set->err, set->errlen, "path '%s' uses '%c', which only gjson lookups understand; "
                         "escape it with a backslash to use it in a key", path, part.complex);
            else
                snprintf(set->err, set->errlen, "path '%s' has %s", path,
                         part.dangling ? "a lone backslash at the end of a component" : "an empty component");
            part_free(&part);
            return -1;
        }
        set->comps = ks_realloc(set->comps, (set->n + 1) * sizeof(*set->comps));
        c = &set->comps[set->n++];
        c->key = part.key;
        c->digits = parse_index(part.key, &c->index);
        c->numeric = c->digits && !force;
        c->append = !force && strcmp(part.key, "-1") == 0;
        free(part.pat);
        if (part.rest == NULL)
            return 0;
        p = part.rest;
    }
}

int
ks_jpath_set(json_t **root, const char *path, json_t *value, char *err, size_t errlen)
{
    jpath_set_t set = {.path = path, .err = err, .errlen = errlen};
    json_t     *res = NULL;
    size_t      i;

    if (value == NULL) {
        snprintf(err, errlen, "no value to set at path '%s'", path);
        return -1;
    }
    if (set_parse(&set, path) == 0)
        res = set_at(&set, *root, 0, value);
    else
        json_decref(value);
    for (i = 0; i < set.n; i++)
        free(set.comps[i].key);
    free(set.comps);
    if (res == NULL)
        return -1;
    json_decref(*root);
    *root = res;
    return 0;
}

json_t *
ks_jpath_member_object(json_t *obj, const char *key)
{
    json_t *member = json_object_get(obj, key);

    if (!json_is_object(member)) {
        member = json_object();
        json_object_set_new(obj, key, member);
    }
    return member;
}
