/* json_scan.h — strict JSON validation without building a document, reporting the members of a
 * top-level object.
 *
 * The event stage reads every CloudEvent, but most sensors never look inside `data`: building a DOM
 * of the whole event (jansson) costs more than everything else the model does. This scanner accepts
 * exactly what jansson accepts with JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL (RFC 8259, UTF-8,
 * surrogate pairs, nesting up to 2048, numbers within a double's range), so callers parse only the
 * small members they need. The event fuzzer checks the two agree. */
#ifndef KS_CORE_JSON_SCAN_H
#define KS_CORE_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ks_json_member {
    const char *key;          /* the key token, quotes included */
    size_t      key_len;
    bool        key_plain;    /* no backslash escape in the key: its text is key + 1, key_len - 2 */
    const char *value;        /* the value's text */
    size_t      value_len;
    char        kind;         /* first character of the value: '"', '{', '[', 't', 'f', 'n', or '0' (number) */
} ks_json_member_t;

/* Validates s[0..n) as one JSON object and stores up to max of its members in order (duplicates
 * included). Returns 0 and the member count in *count, 1 when s is valid JSON but not an object or
 * has more than max members, or -1 when s is not valid JSON. */
int ks_json_scan_object(const char *s, size_t n, ks_json_member_t *members, size_t max, size_t *count)
    __attribute__((warn_unused_result));

/* True if the member's key is name, written without escapes. */
bool ks_json_key_is(const ks_json_member_t *member, const char *name);

/* The last of the n members named name (a key without escapes), as jansson keeps the last of
 * duplicates; NULL when there is none. */
const ks_json_member_t *ks_json_member(const ks_json_member_t *members, size_t n, const char *name);

/* True if s[0..n) is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF). */
bool ks_utf8_valid(const void *s, size_t n);

#endif
