/* gotmpl.h — the subset of Go's text/template (with sprig functions) that Argo users write in
 * `dataTemplate`, `contextTemplate` and a data filter's `template`.
 *
 * No C library implements Go templates; this one is parsed once, when the sensor loads, and run
 * per event. Argo runs a template with `.` = {"Input": value} (value: the event's data or context
 * decoded from JSON, numbers as float64; for a data filter, the string found at the filter's path).
 *
 * Language: text, actions `{{ }}` with the trim markers `{{- ` and ` -}}`, comments (a C-style comment
 * alone in an action);
 * pipelines with `|`; field chains `.Input.a.b`, `$`, `$x.a`, `(pipeline).a`; variables `$x := p`,
 * `$x = p`; literals (strings "…" and `…`, characters 'a', numbers, true, false, nil);
 * `if`/`else if`/`else`/`end`, `with`/`else with`, `range` (arrays, objects in key order, integers;
 * `$i, $v :=`; `else`; `break`, `continue`).
 * Functions (Go's): and or not len index printf print println eq ne lt le gt ge;
 * (sprig's): upper lower title trim trimPrefix trimSuffix trimAll replace contains hasPrefix
 * hasSuffix nospace repeat substr trunc cat quote squote default empty coalesce ternary b64enc
 * b64dec toJson fromJson toString split splitList join int int64 float64 atoi now date.
 * Anything else (another function, define/template/block, a method call) is refused when the
 * template is parsed, naming the construct and its offset — never an empty string at run time.
 * Go's rules are kept where users can see them: a missing key prints "<no value>", numbers print
 * like Go's %v (1e+06), typed sprig arguments are checked (upper of a number is an error), a field
 * of null is an error. Where this differs: upper, lower and title change ASCII letters only; an
 * execution is bounded (1 MiB of output, a million steps), where Go has no bound. */
#ifndef KS_SENSOR_GOTMPL_H
#define KS_SENSOR_GOTMPL_H

#include <stddef.h>

#include <jansson.h>

typedef struct ks_gotmpl ks_gotmpl_t;

#define KS_GOTMPL_MAX_OUTPUT (1u << 20)     /* bytes one execution may write */
#define KS_GOTMPL_MAX_STEPS  1000000L       /* actions and function calls one execution may run */

/* Parses a template. On error returns NULL, writes a message naming the construct to err and the
 * byte offset in text where it starts to *offset. */
ks_gotmpl_t *ks_gotmpl_parse(const char *text, size_t *offset, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Runs the template with `.` = {"Input": input} (input may be NULL: Go's nil). Returns the output
 * (malloc'd, NUL-terminated, its length in *len when len is not NULL), or NULL with the reason in err. */
char *ks_gotmpl_exec(const ks_gotmpl_t *t, const json_t *input, size_t *len, char *err, size_t errlen)
    __attribute__((warn_unused_result));

void ks_gotmpl_free(ks_gotmpl_t *t);

#endif
