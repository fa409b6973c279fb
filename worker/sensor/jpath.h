/* jpath.h — gjson-style lookups and sjson-style updates on jansson values.
 *
 * Argo Sensors name places in event data with tidwall/gjson paths (data filters, expression fields,
 * parameter dataKey/contextKey) and write parameters into payloads with tidwall/sjson paths (dest).
 * This module gives both on a jansson DOM, plus gjson's Result conversions (String, Float, Bool, Type).
 *
 * Path syntax for ks_jpath_get (gjson v1.19):
 *   a.b.c        dot-separated keys; in an object every component is a key, "0", "#" and "" included
 *   a.0          a numeric component indexes an array (leading zeros allowed)
 *   a.#          the length of an array (as the last component)
 *   a.#.b.c      "b.c" looked up in every element of array a; the result is a new array of the
 *                values found, missing ones skipped ([] when none); nests (a.#.b.#)
 *   a\.b         a backslash makes the next character literal: the key "a.b"; also \* \? \# \@ \|
 *   a*, k?y      wildcards inside a key: '*' any run of characters, '?' one UTF-8 character; the
 *                first key in document order that matches and under which the rest of the path
 *                exists wins (as gjson); wildcards never match array indexes; an escaped \* or \?
 *                is a literal character (gjson would still treat it as a wildcard when the same
 *                component also has an unescaped one)
 * Not supported — ks_jpath_get returns NULL: queries "#(...)" and "#[...]", modifiers "@reverse" etc.
 * (a component '@' + a gjson modifier name; other "@key" components are plain keys, as in gjson),
 * pipes '|', multipaths "[a,b]" / "{a,b}" (a component starting with '[' or '{'), JSON lines "..a",
 * static literals "!true" (a path starting with '!'). Escape such a character to use it in a key.
 *
 * Path syntax for ks_jpath_set (sjson v1.2.5): dot-separated keys and backslash escapes as above; a
 * numeric component indexes an existing array or pads a missing element with nulls; "-1" appends to an
 * array; a leading ':' keeps a component from creating or padding an array (":1" adds the key "1" to
 * an object, though it still finds an existing element 1 of an array, as in sjson). Missing
 * containers are created: an array when the component below them is numeric or "-1", otherwise an
 * object. A null or scalar met on the way is replaced by an array when the component is numeric,
 * otherwise by an object (so "-1" on a null makes the key "-1", exactly as sjson). Rejected with an
 * error: an empty path or component, '*', '?', '#', '@', '|' (sjson's "complex paths"), a non-numeric
 * component on an array, and padding an array by more than 65536 elements. */
#ifndef KS_SENSOR_JPATH_H
#define KS_SENSOR_JPATH_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Looks up a gjson path. Returns a NEW reference, or NULL when the path does not exist. */
json_t *ks_jpath_get(const json_t *root, const char *path) __attribute__((warn_unused_result));

/* gjson's Result.String(): strings as they are; integers as decimal; reals in Go's
 * strconv.FormatFloat(v, 'f', -1, 64) form ("3.5", "100"); "true"/"false"; null (and NULL) -> "";
 * objects and arrays as compact JSON (gjson returns their original text, which a DOM no longer has).
 * Returns a malloc'd string. */
char *ks_jpath_string(const json_t *value) __attribute__((warn_unused_result));

/* gjson's Result.Float(): numbers; strings parsed like strconv.ParseFloat (0 if not a number);
 * true -> 1; everything else 0. */
double ks_jpath_float(const json_t *value);

/* gjson's Result.Bool(): true; strings "1", "t", "true" in any letter case; numbers != 0. */
bool ks_jpath_bool(const json_t *value);

/* gjson's Result.Type name: "String", "Number", "True", "False", "Null" (also for NULL), "JSON". */
const char *ks_jpath_type(const json_t *value);

/* obj[key] when it is an object; otherwise an empty object put there first (a borrowed reference). */
json_t *ks_jpath_member_object(json_t *obj, const char *key);

/* sjson-style set: stores value (the reference is STOLEN, also on error) at path inside *root,
 * creating what is missing and replacing *root when it is NULL or not a container. On error *root
 * is unchanged. Returns 0, or -1 with a message. */
int ks_jpath_set(json_t **root, const char *path, json_t *value, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Go's text for a float64: style 'f' is strconv.FormatFloat(v, 'f', -1, 64), 'g' is fmt's %v
 * ("1e+06", "0.5"), 'j' is encoding/json's choice ('f', or 'e' outside 1e-6 <= |v| < 1e21).
 * Writes at most size bytes (always terminated) and returns the length it needed, like snprintf. */
size_t ks_jpath_format_float(char *buf, size_t size, double v, char style);

#endif
