/* gotmpl_int.h — what the four files of the Go template engine share: the values a template
 * computes with, one execution's memory and output, the function table and Go's formatting.
 *
 *   gotmpl.c        parse and execute
 *   gotmpl_func.c   the functions (Go's builtins and sprig's)
 *   gotmpl_fmt.c    Go's text for values: %v, printf, strconv.Quote, encoding/json, time layouts
 *   gotmpl_value.c  buffers, a run's memory, values, truth
 * (each calls only the ones listed after it)
 *
 * Values mirror what Go's reflection sees in Argo's templates: JSON numbers are float64, literals
 * and len/int results are int, objects are map[string]interface{}, arrays []interface{}. GT_NONE
 * is Go's invalid value (a missing key), distinct from GT_NIL (a JSON null or a nil result). */
#ifndef KS_SENSOR_GOTMPL_INT_H
#define KS_SENSOR_GOTMPL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

typedef enum {
    GT_NONE, GT_NIL, GT_BOOL, GT_INT, GT_FLOAT, GT_STRING, GT_MAP, GT_LIST, GT_TIME
} gt_kind_t;

typedef struct gt_value {
    gt_kind_t kind;
    union {
        bool    b;
        int64_t i;
        double  f;
        struct {
            const char *s;      /* owned by the run (or the template, or the input) */
            size_t      len;
        } str;
        const json_t *json;     /* GT_MAP: an object, GT_LIST: an array; the run holds a reference */
        struct {
            int64_t sec;
            int32_t nsec;
        } t;
    } u;
} gt_value_t;

/* A growing byte string. */
typedef struct gt_buf {
    char  *data;
    size_t len, cap;
} gt_buf_t;

void gt_buf_add(gt_buf_t *b, const char *s, size_t n);
void gt_buf_addc(gt_buf_t *b, char c);
void gt_buf_printf(gt_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The UTF-8 encoding of rune (U+FFFD for one that is not a character). */
void gt_buf_add_rune(gt_buf_t *b, int64_t rune);
/* The rune at s (len bytes left, len > 0) and its size; a byte that does not start a valid
 * sequence is U+FFFD of size 1 (a U+FFFD written out has size 3). */
uint32_t gt_rune_at(const char *s, size_t len, size_t *size);

/* One execution: what it allocated (freed together at its end), its output and its error. */
typedef struct gt_run {
    void   **owned;
    size_t   nowned, capowned;
    json_t **refs;
    size_t   nrefs, caprefs;
    long     steps;
    char    *err;
    size_t   errlen;
} gt_run_t;

/* Sets the run's error (printf-style) and returns -1. */
int gt_fail(gt_run_t *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The run frees p when it ends. */
void gt_own(gt_run_t *run, void *p);
/* The run keeps a JSON value it made (the reference) until it ends; returns it. */
const json_t *gt_hold(gt_run_t *run, json_t *j);
/* A string value whose bytes the run owns (copied). */
gt_value_t gt_string(gt_run_t *run, const char *s, size_t len);
/* A string value taking a buffer's bytes (the buffer is left empty). */
gt_value_t gt_string_buf(gt_run_t *run, gt_buf_t *b);
/* A value for a JSON value (objects and arrays are held by the run until it ends). */
gt_value_t gt_from_json(const json_t *j);
/* A JSON value (new reference) for v, as encoding/json would see it; NULL for GT_NONE. */
json_t *gt_to_json(const gt_value_t *v);

/* Go's truth (if, with, and, or, not): false, 0, nil, empty strings, maps and slices are false. */
bool gt_truth(const gt_value_t *v);
/* Go's type name of v, as in its error messages ("float64", "string", "map[string]interface {}"). */
const char *gt_type_name(const gt_value_t *v);

/* The functions. Arguments arrive converted to their declared types (see gotmpl_func.c). */
typedef int (*gt_fn_t)(gt_run_t *run, const gt_value_t *args, size_t nargs, gt_value_t *out);

typedef struct gt_func {
    const char *name;
    const char *params;     /* one letter per parameter: s string, i int, a any, r raw (a missing
                             * value stays GT_NONE); a final '*' repeats the letter before it */
    gt_fn_t     fn;         /* NULL for and, or: the executor runs them (they short-circuit) */
} gt_func_t;

/* The function named name, or NULL. */
const gt_func_t *gt_func_find(const char *name, size_t len);

/* Go's fmt: v printed as %v (top: a missing or nil value prints "<no value>", as a template
 * action prints it). */
void gt_fmt_value(gt_buf_t *b, const gt_value_t *v, bool top);
/* fmt.Sprintf(format, args...) */
void gt_fmt_printf(gt_buf_t *b, const char *format, size_t flen, const gt_value_t *args, size_t nargs);
/* fmt.Sprint / fmt.Sprintln */
void gt_fmt_print(gt_buf_t *b, const gt_value_t *args, size_t nargs, bool newline);
/* strconv.Quote */
void gt_fmt_quote(gt_buf_t *b, const char *s, size_t len);
/* encoding/json.Marshal */
void gt_fmt_json(gt_buf_t *b, const gt_value_t *v);
/* time.Time.Format(layout) in the process's local time zone */
void gt_fmt_time(gt_buf_t *b, const char *layout, size_t llen, int64_t sec, int32_t nsec);

#endif
