/* gotmpl_value.c — what every part of a Go template run works with: growing buffers, the run's
 * memory and error, values made from JSON and strings, and Go's truth and type names. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "sensor/gotmpl_int.h"

/* ---------------------------------------------------------------------------------------------
 * Buffers, runs and values */

void
gt_buf_add(gt_buf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = b->cap ? b->cap : 64;
        while (b->len + n + 1 > b->cap)
            b->cap *= 2;
        b->data = ks_realloc(b->data, b->cap);
    }
    if (n > 0)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void
gt_buf_addc(gt_buf_t *b, char c)
{
    gt_buf_add(b, &c, 1);
}

void
gt_buf_printf(gt_buf_t *b, const char *fmt, ...)
{
    char    small[128];
    va_list ap;
    int     n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        gt_buf_add(b, small, (size_t)n);
        return;
    }
    {
        char *big = ks_malloc((size_t)n + 1);

        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        gt_buf_add(b, big, (size_t)n);
        free(big);
    }
}

int
gt_fail(gt_run_t *run, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(run->err, run->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

void
gt_own(gt_run_t *run, void *p)
{
    if (run->nowned == run->capowned) {
        run->capowned = run->capowned ? 2 * run->capowned : 16;
        run->owned = ks_realloc(run->owned, run->capowned * sizeof(*run->owned));
    }
    run->owned[run->nowned++] = p;
}

const json_t *
gt_hold(gt_run_t *run, json_t *j)
{
    if (run->nrefs == run->caprefs) {
        run->caprefs = run->caprefs ? 2 * run->caprefs : 8;
        run->refs = ks_realloc(run->refs, run->caprefs * sizeof(*run->refs));
    }
    run->refs[run->nrefs++] = j;
    return j;
}

gt_value_t
gt_string(gt_run_t *run, const char *s, size_t len)
{
    char *copy = ks_malloc(len + 1);

    memcpy(copy, s, len);
    copy[len] = '\0';
    gt_own(run, copy);
    return (gt_value_t){ .kind = GT_STRING, .u.str = { copy, len } };
}

gt_value_t
gt_string_buf(gt_run_t *run, gt_buf_t *b)
{
    gt_value_t v;

    if (b->data == NULL)
        gt_buf_add(b, "", 0);
    gt_own(run, b->data);
    v = (gt_value_t){ .kind = GT_STRING, .u.str = { b->data, b->len } };
    *b = (gt_buf_t){0};
    return v;
}

gt_value_t
gt_from_json(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: return (gt_value_t){ .kind = GT_MAP, .u.json = j };
    case JSON_ARRAY: return (gt_value_t){ .kind = GT_LIST, .u.json = j };
    case JSON_STRING: return (gt_value_t){ .kind = GT_STRING, .u.str = { json_string_value(j), json_string_length(j) } };
    case JSON_INTEGER: return (gt_value_t){ .kind = GT_FLOAT, .u.f = (double)json_integer_value(j) };
    case JSON_REAL: return (gt_value_t){ .kind = GT_FLOAT, .u.f = json_real_value(j) };
    case JSON_TRUE: return (gt_value_t){ .kind = GT_BOOL, .u.b = true };
    case JSON_FALSE: return (gt_value_t){ .kind = GT_BOOL, .u.b = false };
    case JSON_NULL: break;
    }
    return (gt_value_t){ .kind = GT_NIL };
}

bool
gt_truth(const gt_value_t *v)
{
    switch (v->kind) {
    case GT_NONE:
    case GT_NIL: return false;
    case GT_BOOL: return v->u.b;
    case GT_INT: return v->u.i != 0;
    case GT_FLOAT: return v->u.f != 0;
    case GT_STRING: return v->u.str.len > 0;
    case GT_MAP: return json_object_size(v->u.json) > 0;
    case GT_LIST: return json_array_size(v->u.json) > 0;
    case GT_TIME: return true;
    }
    return false;
}

const char *
gt_type_name(const gt_value_t *v)
{
    static const char *const names[] = {
        [GT_NONE] = "<nil>", [GT_NIL] = "<nil>", [GT_BOOL] = "bool", [GT_INT] = "int", [GT_FLOAT] = "float64",
        [GT_STRING] = "string", [GT_MAP] = "map[string]interface {}", [GT_LIST] = "[]interface {}",
        [GT_TIME] = "time.Time",
    };
    return names[v->kind];
}

/* ---------------------------------------------------------------------------------------------
 * UTF-8, as Go's strings package walks it */

/* The rune at s (len bytes left) and its size; an invalid byte is U+FFFD of size 1. */
uint32_t
gt_rune_at(const char *s, size_t len, size_t *size)
{
    const unsigned char *u = (const unsigned char *)s;
    uint32_t             r;
    size_t               n;

    if (u[0] < 0x80) {
        *size = 1;
        return u[0];
    }
    n = (u[0] & 0xE0) == 0xC0 ? 2 : (u[0] & 0xF0) == 0xE0 ? 3 : (u[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || n > len) {
        *size = 1;
        return 0xFFFD;
    }
    r = u[0] & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((u[i] & 0xC0) != 0x80) {
            *size = 1;
            return 0xFFFD;
        }
        r = r << 6 | (u[i] & 0x3F);
    }
    if ((n == 2 && r < 0x80) || (n == 3 && r < 0x800) || (n == 4 && (r < 0x10000 || r > 0x10FFFF)) ||
        (r >= 0xD800 && r <= 0xDFFF)) {
        *size = 1;
        return 0xFFFD;
    }
    *size = n;
    return r;
}

void
gt_buf_add_rune(gt_buf_t *b, int64_t rune)
{
    uint32_t r = rune < 0 || rune > 0x10FFFF || (rune >= 0xD800 && rune <= 0xDFFF) ? 0xFFFD : (uint32_t)rune;
    char     s[4];

    if (r < 0x80) {
        gt_buf_addc(b, (char)r);
    } else if (r < 0x800) {
        s[0] = (char)(0xC0 | (r >> 6));
        s[1] = (char)(0x80 | (r & 0x3F));
        gt_buf_add(b, s, 2);
    } else if (r < 0x10000) {
        s[0] = (char)(0xE0 | (r >> 12));
        s[1] = (char)(0x80 | ((r >> 6) & 0x3F));
        s[2] = (char)(0x80 | (r & 0x3F));
        gt_buf_add(b, s, 3);
    } else {
        s[0] = (char)(0xF0 | (r >> 18));
        s[1] = (char)(0x80 | ((r >> 12) & 0x3F));
        s[2] = (char)(0x80 | ((r >> 6) & 0x3F));
        s[3] = (char)(0x80 | (r & 0x3F));
        gt_buf_add(b, s, 4);
    }
}
