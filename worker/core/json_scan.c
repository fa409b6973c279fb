/* json_scan.c — a strict, allocation-free JSON validator (see json_scan.h). */
#include "core/json_scan.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_MAX_DEPTH 2048     /* jansson's JSON_PARSER_MAX_DEPTH */
#define SCAN_FAIL      ((size_t)-1)

typedef struct scan {
    const unsigned char *s;
    size_t               n;
} scan_t;

static size_t
skip_ws(const scan_t *sc, size_t i)
{
    while (i < sc->n && (sc->s[i] == ' ' || sc->s[i] == '\t' || sc->s[i] == '\n' || sc->s[i] == '\r'))
        i++;
    return i;
}

static int
hex4(const scan_t *sc, size_t i, uint32_t *out)
{
    uint32_t v = 0;

    if (sc->n - i < 4)
        return -1;
    for (size_t k = 0; k < 4; k++) {
        unsigned char c = sc->s[i + k];

        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* Length of the UTF-8 sequence at s[i] if well formed (no overlongs, surrogates, > U+10FFFF), else 0. */
static size_t
utf8_len(const scan_t *sc, size_t i)
{
    unsigned c = sc->s[i], k;
    uint32_t cp, min;

    if (c >= 0xc2 && c <= 0xdf)
        k = 1, cp = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        k = 2, cp = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        k = 3, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (sc->n - i - 1 < k)
        return 0;
    for (unsigned j = 1; j <= k; j++) {
        if ((sc->s[i + j] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (sc->s[i + j] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return k + 1;
}

#define BYTES_1  0x0101010101010101ULL
#define BYTES_80 0x8080808080808080ULL

/* Whether some byte of v is below k (k <= 0x80; exact for bytes below 0x80). */
static inline uint64_t
byte_below(uint64_t v, unsigned k)
{
    return (v - BYTES_1 * k) & ~v & BYTES_80;
}

/* True if no byte of s[0..8) needs a look of its own inside a string: none is '"', '\\', a control
 * character or part of a multi-byte UTF-8 sequence. Eight bytes at a time, as most of an event's
 * text is plain ASCII. */
static bool
plain8(const unsigned char *s)
{
    uint64_t w;

    memcpy(&w, s, sizeof(w));
    return ((w & BYTES_80) | byte_below(w ^ (BYTES_1 * '"'), 1) | byte_below(w ^ (BYTES_1 * '\\'), 1)
            | byte_below(w, 0x20)) == 0;
}

/* The string token at s[i] == '"'; returns the index after it. *escaped tells whether it has '\'
 * and *nul whether it decodes to text with a NUL character. */
static size_t
scan_string(const scan_t *sc, size_t i, bool *escaped, bool *nul)
{
    *escaped = false;
    *nul = false;
    for (i++; i < sc->n;) {
        unsigned char c;

        if (sc->n - i >= 8 && plain8(sc->s + i)) {
            i += 8;
            continue;
        }
        c = sc->s[i];

        if (c == '"')
            return i + 1;
        if (c < 0x20)
            return SCAN_FAIL;
        if (c < 0x80) {
            if (c != '\\') {
                i++;
                continue;
            }
            *escaped = true;
            if (++i >= sc->n)
                return SCAN_FAIL;
            c = sc->s[i];
            if (c == 'u') {
                uint32_t cp, lo;

                if (hex4(sc, i + 1, &cp) != 0)
                    return SCAN_FAIL;
                i += 5;
                if (cp >= 0xdc00 && cp <= 0xdfff)
                    return SCAN_FAIL;           /* a low surrogate alone */
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    if (sc->n - i < 6 || sc->s[i] != '\\' || sc->s[i + 1] != 'u' || hex4(sc, i + 2, &lo) != 0
                        || lo < 0xdc00 || lo > 0xdfff)
                        return SCAN_FAIL;
                    i += 6;
                }
                *nul = *nul || cp == 0;
            } else if (strchr("\"\\/bfnrt", c) != NULL && c != '\0') {
                i++;
            } else {
                return SCAN_FAIL;
            }
            continue;
        }
        if ((c = (unsigned char)utf8_len(sc, i)) == 0)
            return SCAN_FAIL;
        i += c;
    }
    return SCAN_FAIL;
}

/* A number token; it must also fit a double, as jansson's real parser requires. */
static size_t
scan_number(const scan_t *sc, size_t i)
{
    size_t start = i;
    char   buf[64], *text, *end;
    double v;

    if (i < sc->n && sc->s[i] == '-')
        i++;
    if (i < sc->n && sc->s[i] == '0')
        i++;
    else if (i < sc->n && sc->s[i] >= '1' && sc->s[i] <= '9')
        while (i < sc->n && sc->s[i] >= '0' && sc->s[i] <= '9')
            i++;
    else
        return SCAN_FAIL;
    if (i < sc->n && sc->s[i] == '.') {
        if (++i >= sc->n || sc->s[i] < '0' || sc->s[i] > '9')
            return SCAN_FAIL;
        while (i < sc->n && sc->s[i] >= '0' && sc->s[i] <= '9')
            i++;
    }
    if (i < sc->n && (sc->s[i] == 'e' || sc->s[i] == 'E')) {
        if (++i < sc->n && (sc->s[i] == '+' || sc->s[i] == '-'))
            i++;
        if (i >= sc->n || sc->s[i] < '0' || sc->s[i] > '9')
            return SCAN_FAIL;
        while (i < sc->n && sc->s[i] >= '0' && sc->s[i] <= '9')
            i++;
    }
    text = i - start < sizeof(buf) ? buf : malloc(i - start + 1);
    if (text == NULL)
        return SCAN_FAIL;
    memcpy(text, sc->s + start, i - start);
    text[i - start] = '\0';
    errno = 0;
    v = strtod(text, &end);
    if (text != buf)
        free(text);
    return errno == ERANGE && isinf(v) ? SCAN_FAIL : i;
}

static size_t
scan_literal(const scan_t *sc, size_t i, const char *word)
{
    size_t len = strlen(word);

    return sc->n - i >= len && memcmp(sc->s + i, word, len) == 0 ? i + len : SCAN_FAIL;
}

/* One value at s[i] (after white space), iteratively for nesting at most max_depth deep; returns the
 * index after it. */
static size_t
scan_value(const scan_t *sc, size_t i, size_t max_depth)
{
    char   stack[SCAN_MAX_DEPTH];
    size_t depth = 0;
    bool   escaped, nul;

    for (;;) {
        i = skip_ws(sc, i);
        if (i >= sc->n)
            return SCAN_FAIL;
        switch (sc->s[i]) {
        case '{':
        case '[':
            if (depth == max_depth)
                return SCAN_FAIL;
            stack[depth++] = (char)sc->s[i];
            i = skip_ws(sc, i + 1);
            if (i < sc->n && sc->s[i] == (stack[depth - 1] == '{' ? '}' : ']')) {
                depth--;
                i++;
                break;
            }
            if (stack[depth - 1] == '{') {
                if (i >= sc->n || sc->s[i] != '"' || (i = scan_string(sc, i, &escaped, &nul)) == SCAN_FAIL
                    || nul)
                    return SCAN_FAIL;       /* jansson refuses NUL in keys */
                i = skip_ws(sc, i);
                if (i >= sc->n || sc->s[i] != ':')
                    return SCAN_FAIL;
                i++;
            }
            continue;                       /* the first element */
        case '"':
            i = scan_string(sc, i, &escaped, &nul);
            break;
        case 't':
            i = scan_literal(sc, i, "true");
            break;
        case 'f':
            i = scan_literal(sc, i, "false");
            break;
        case 'n':
            i = scan_literal(sc, i, "null");
            break;
        default:
            i = scan_number(sc, i);
            break;
        }
        if (i == SCAN_FAIL)
            return SCAN_FAIL;
        /* after a value: close containers, or go on to the next element */
        for (;;) {
            if (depth == 0)
                return i;
            i = skip_ws(sc, i);
            if (i >= sc->n)
                return SCAN_FAIL;
            if (sc->s[i] == (stack[depth - 1] == '{' ? '}' : ']')) {
                depth--;
                i++;
                continue;
            }
            if (sc->s[i] != ',')
                return SCAN_FAIL;
            i = skip_ws(sc, i + 1);
            if (stack[depth - 1] == '{') {
                if (i >= sc->n || sc->s[i] != '"' || (i = scan_string(sc, i, &escaped, &nul)) == SCAN_FAIL
                    || nul)
                    return SCAN_FAIL;
                i = skip_ws(sc, i);
                if (i >= sc->n || sc->s[i] != ':')
                    return SCAN_FAIL;
                i++;
            }
            break;
        }
    }
}

/* The members of an object are validated and reported in one pass: each value is scanned once. */
int
ks_json_scan_object(const char *s, size_t n, ks_json_member_t *members, size_t max, size_t *count)
{
    scan_t sc = { (const unsigned char *)s, n };
    size_t i = skip_ws(&sc, 0), found = 0;
    bool   escaped, nul, over = false;

    *count = 0;
    if (i >= n)
        return -1;
    if (sc.s[i] != '{') {
        i = scan_value(&sc, i, SCAN_MAX_DEPTH);
        return i == SCAN_FAIL || skip_ws(&sc, i) != n ? -1 : 1;
    }
    i = skip_ws(&sc, i + 1);
    if (i < n && sc.s[i] == '}')
        return skip_ws(&sc, i + 1) == n ? 0 : -1;
    for (;;) {
        ks_json_member_t m;
        size_t           key = i;

        if (i >= n || sc.s[i] != '"' || (i = scan_string(&sc, i, &escaped, &nul)) == SCAN_FAIL || nul)
            return -1;                      /* jansson refuses NUL in keys */
        m.key = s + key;
        m.key_len = i - key;
        m.key_plain = !escaped;
        i = skip_ws(&sc, i);
        if (i >= n || sc.s[i] != ':')
            return -1;
        i = skip_ws(&sc, i + 1);
        if (i >= n)
            return -1;
        m.value = s + i;
        m.kind = sc.s[i] == '-' || (sc.s[i] >= '0' && sc.s[i] <= '9') ? '0' : (char)sc.s[i];
        if ((i = scan_value(&sc, i, SCAN_MAX_DEPTH - 1)) == SCAN_FAIL)   /* inside the object */
            return -1;
        m.value_len = i - (size_t)(m.value - s);
        if (found < max)
            members[found++] = m;
        else
            over = true;
        i = skip_ws(&sc, i);
        if (i < n && sc.s[i] == ',') {
            i = skip_ws(&sc, i + 1);
            continue;
        }
        if (i >= n || sc.s[i] != '}' || skip_ws(&sc, i + 1) != n)
            return -1;
        *count = found;
        return over ? 1 : 0;
    }
}

bool
ks_json_key_is(const ks_json_member_t *member, const char *name)
{
    size_t len = strlen(name);

    return member->key_plain && member->key_len == len + 2 && memcmp(member->key + 1, name, len) == 0;
}

const ks_json_member_t *
ks_json_member(const ks_json_member_t *members, size_t n, const char *name)
{
    for (size_t i = n; i-- > 0;) {
        if (ks_json_key_is(&members[i], name))
            return &members[i];
    }
    return NULL;
}

bool
ks_utf8_valid(const void *s, size_t n)
{
    scan_t sc = { s, n };

    for (size_t i = 0; i < n;) {
        size_t k = sc.s[i] < 0x80 ? 1 : utf8_len(&sc, i);

        if (k == 0)
            return false;
        i += k;
    }
    return true;
}
