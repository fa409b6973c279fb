/* filter.c — exprs, data, context, time and script filters, and transforms (see filter.h). */
#include "sensor/filter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/mem.h"
#include "sensor/gotmpl.h"
#include "sensor/jpath.h"
#include "sensor/script.h"

/* Each class answers 1 (pass), 0 (fail) or -1 (error, message in err). */

static int
filter_exprs(const ks_filters_t *f, const json_t *data, char *err, size_t errlen)
{
    bool any_error = false;

    for (size_t i = 0; i < f->nexprs; i++) {
        const ks_expr_filter_t *x = &f->exprs[i];
        size_t                  nvars = ks_expr_nvars(x->expr);
        json_t                 *vars[64] = {0};
        int                     rc = 0;

        if (nvars > 64) {
            snprintf(err, errlen, "expression uses more than 64 fields");
            rc = -1;
        }
        for (size_t v = 0; v < nvars && rc == 0; v++) {
            vars[v] = data ? ks_jpath_get(data, x->paths[v]) : NULL;
            if (vars[v] == NULL) {
                snprintf(err, errlen, "expression field '%s': path '%s' not found in the event data",
                         ks_expr_var(x->expr, v), x->paths[v]);
                rc = -1;
            }
        }
        if (rc == 0)
            rc = ks_expr_eval(x->expr, vars, err, errlen);
        for (size_t v = 0; v < nvars && v < 64; v++)
            json_decref(vars[v]);

        if (rc < 0) {
            if (f->expr_op == KS_OP_AND)
                return -1;
            any_error = true;
        } else if (f->expr_op == KS_OP_AND && rc == 0) {
            return 0;
        } else if (f->expr_op == KS_OP_OR && rc == 1) {
            return 1;
        }
    }
    return f->expr_op == KS_OP_AND ? 1 : (any_error ? -1 : 0);
}

static bool
compare_number(double a, ks_cmp_t cmp, double b)
{
    switch (cmp) {
    case KS_CMP_EQ: return a == b;
    case KS_CMP_NE: return a != b;
    case KS_CMP_GT: return a > b;
    case KS_CMP_GE: return a >= b;
    case KS_CMP_LT: return a < b;
    case KS_CMP_LE: return a <= b;
    }
    return false;
}

/* strconv.ParseBool */
static int
parse_bool(const char *s)
{
    static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
    static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };

    for (size_t i = 0; i < 6; i++) {
        if (strcmp(s, yes[i]) == 0)
            return 1;
        if (strcmp(s, no[i]) == 0)
            return 0;
    }
    return -1;
}

/* A data filter's template on the text found at its path (Argo: `.Input` is that text; an empty
 * or "<no value>" output is an error). Takes text; returns the output, or NULL with err set. */
static char *
apply_template(const ks_data_filter_t *d, char *text, char *err, size_t errlen)
{
    json_t *input = json_stringn_nocheck(text, strlen(text));
    char    why[256];
    char   *out = ks_gotmpl_exec(d->tmpl, input, NULL, why, sizeof(why));

    json_decref(input);
    free(text);
    if (out == NULL) {
        snprintf(err, errlen, "data filter '%s': template: %.200s", d->path, why);
    } else if (out[0] == '\0' || strcmp(out, "<no value>") == 0) {
        snprintf(err, errlen, "data filter '%s': template evaluated to empty string or no value", d->path);
        free(out);
        out = NULL;
    }
    return out;
}

/* One data filter: its values are OR-ed. */
static int
filter_data_one(const ks_data_filter_t *d, const json_t *data, char *err, size_t errlen)
{
    json_t *found = ks_jpath_get(data, d->path);
    char   *text, *end;
    int     rc = 0;

    if (found == NULL) {
        snprintf(err, errlen, "data filter: path '%s' not found in the event data", d->path);
        return -1;
    }
    text = ks_jpath_string(found);
    json_decref(found);
    if (d->tmpl != NULL && (text = apply_template(d, text, err, errlen)) == NULL)
        return -1;

    if (d->type == KS_DATA_STRING) {
        pcre2_match_data *md = NULL;

        for (size_t i = 0; i < d->nvalues && rc == 0; i++) {
            int m;

            if (md == NULL)
                md = pcre2_match_data_create_from_pattern(d->regexes[i], NULL);
            m = pcre2_match(d->regexes[i], (PCRE2_SPTR)text, strlen(text), 0, 0, md, NULL);
            if (d->cmp == KS_CMP_EQ)
                rc = m >= 0;
            else if (d->cmp == KS_CMP_NE)
                rc = m == PCRE2_ERROR_NOMATCH;
        }
        pcre2_match_data_free(md);
    } else if (d->type == KS_DATA_NUMBER) {
        double value = strtod(text, &end);

        if (*text == '\0' || *end != '\0') {
            snprintf(err, errlen, "data filter: '%s' at path '%s' is not a number", text, d->path);
            rc = -1;
        }
        for (size_t i = 0; i < d->nvalues && rc == 0; i++)
            rc = compare_number(value, d->cmp, d->numbers[i]);
    } else {
        int value = parse_bool(text);

        if (value < 0) {
            snprintf(err, errlen, "data filter: '%s' at path '%s' is not a boolean", text, d->path);
            rc = -1;
        }
        for (size_t i = 0; i < d->nvalues && rc == 0; i++)
            rc = d->cmp == KS_CMP_NE ? (value != d->bools[i]) : (value == d->bools[i]);
    }
    free(text);
    return rc;
}

static int
filter_data(const ks_filters_t *f, const ks_event_t *ev, const json_t *data, char *err, size_t errlen)
{
    bool any_error = false;

    if (ev->data == NULL)
        return 1;       /* Argo: an event without data passes the data filters */
    if (data == NULL) {
        snprintf(err, errlen, "data filter: the event data is not JSON");
        return -1;
    }
    for (size_t i = 0; i < f->ndata; i++) {
        int rc = filter_data_one(&f->data[i], data, err, errlen);

        if (rc < 0) {
            if (f->data_op == KS_OP_AND)
                return -1;
            any_error = true;
        } else if (f->data_op == KS_OP_AND && rc == 0) {
            return 0;
        } else if (f->data_op == KS_OP_OR && rc == 1) {
            return 1;
        }
    }
    return f->data_op == KS_OP_AND ? 1 : (any_error ? -1 : 0);
}

static bool
same(const char *want, const char *have)
{
    return want == NULL || (have != NULL && strcmp(want, have) == 0);
}

static int
filter_context(const ks_filters_t *f, const ks_event_t *ev)
{
    return same(f->ctx_type, ev->type) && same(f->ctx_subject, ev->subject)
        && same(f->ctx_source, ev->source) && same(f->ctx_datacontenttype, ev->datacontenttype);
}

/* [start, stop) in the filter's zone; a window with stop < start wraps past midnight. */
static int
filter_time(const ks_filters_t *f, const ks_event_t *ev, char *err, size_t errlen)
{
    int32_t now;

    if (ev->time_sec == INT64_MIN) {
        snprintf(err, errlen, "time filter: the event has no time");
        return -1;
    }
    now = ks_tz_second_of_day(f->time_tz, ev->time_sec);
    if (f->time_start < f->time_stop)
        return now >= f->time_start && now < f->time_stop;
    return now >= f->time_start || now < f->time_stop;
}

bool
ks_filters_any(const ks_filters_t *f)
{
    return f->nexprs > 0 || f->ndata > 0 || f->has_context || f->has_time || f->script > 0;
}

int
ks_filters_eval(const ks_filters_t *f, const ks_event_t *ev, const json_t *data, char *err, size_t errlen)
{
    enum { CLASSES = 5 };
    int  results[CLASSES];
    bool set[CLASSES] = { f->nexprs > 0, f->ndata > 0, f->has_context, f->has_time, f->script > 0 };
    char msgs[CLASSES][256] = { "", "", "", "", "" };
    bool any = false;

    results[0] = set[0] ? filter_exprs(f, data, msgs[0], sizeof(msgs[0])) : 1;
    results[1] = set[1] ? filter_data(f, ev, data, msgs[1], sizeof(msgs[1])) : 1;
    results[2] = set[2] ? filter_context(f, ev) : 1;
    results[3] = set[3] ? filter_time(f, ev, msgs[3], sizeof(msgs[3])) : 1;
    results[4] = set[4] ? ks_script_filter(f->scripts, f->script, data, msgs[4], sizeof(msgs[4])) : 1;

    if (results[4] < 0) {       /* Argo: a script's error rejects the event, whatever the operator */
        snprintf(err, errlen, "filters.script: %s", msgs[4]);
        return -1;
    }
    if (f->op == KS_OP_AND) {
        for (int i = 0; i < CLASSES; i++) {
            if (results[i] < 0) {
                snprintf(err, errlen, "%s", msgs[i]);
                return -1;
            }
        }
        return results[0] && results[1] && results[2] && results[3] && results[4];
    }
    for (int i = 0; i < CLASSES; i++) {
        if (set[i] && results[i] == 1)
            return 1;
        any = any || set[i];
    }
    for (int i = 0; i < CLASSES; i++) {
        if (results[i] < 0) {
            snprintf(err, errlen, "%s", msgs[i]);
            return -1;
        }
    }
    return any ? 0 : 1;
}

const json_t *
ks_event_data(ks_event_data_t *d)
{
    if (!d->parsed) {
        d->json = ks_event_data_json(d->ev);
        d->parsed = true;
    }
    return d->json;
}

void
ks_event_data_clear(ks_event_data_t *d)
{
    json_decref(d->json);
    d->json = NULL;
    d->parsed = false;
}

/* transform: jq, else Lua, on the data (an event without data is left as it is, as in Argo): 1 and
 * *out, 0 (no data), or -1. */
static int
transform(const ks_dependency_t *dep, ks_event_data_t *data, ks_event_t *out, char *err, size_t errlen)
{
    const ks_event_t *ev = data->ev;
    char              why[384], *text = NULL;
    size_t            len = 0;
    json_t           *result;

    if (ev->data == NULL)
        return 0;
    if (dep->transform_jq != NULL) {
        text = ks_jq_transform(dep->transform_jq, (const char *)ev->data, ev->data_len, &len, why, sizeof(why));
    } else if (ks_event_data(data) == NULL) {
        snprintf(why, sizeof(why), "the event's data is not JSON");
    } else if ((result = ks_script_transform(dep->filters.scripts, dep->transform_script, ks_event_data(data), why,
                                             sizeof(why))) != NULL) {
        text = json_dumps(result, JSON_COMPACT | JSON_SORT_KEYS);      /* Go's encoder sorts keys */
        len = strlen(text);
        json_decref(result);
    }
    if (text == NULL) {
        snprintf(err, errlen, "transform.%s: %s", dep->transform_jq != NULL ? "jq" : "script", why);
        return -1;
    }
    ks_event_copy_with_data(out, ev, text, len, "application/json");
    free(text);
    return 1;
}

int
ks_dependency_accept(const ks_dependency_t *dep, ks_event_data_t *data, ks_event_t *out, bool *transformed, char *err,
                     size_t errlen)
{
    const ks_filters_t *f = &dep->filters;
    ks_event_data_t     tdata = { out, NULL, false };
    ks_event_data_t    *fdata = data;
    int                 rc = 1;

    *transformed = false;
    if (dep->transform_jq != NULL || dep->transform_script > 0) {
        if ((rc = transform(dep, data, out, err, errlen)) < 0)
            return -1;
        *transformed = rc == 1;
        if (*transformed)
            fdata = &tdata;         /* the filters see what the transform made */
        rc = 1;
    }
    if (ks_filters_any(f))
        rc = ks_filters_eval(f, fdata->ev, f->nexprs > 0 || f->ndata > 0 || f->script > 0 ? ks_event_data(fdata) : NULL,
                             err, errlen);
    ks_event_data_clear(&tdata);
    if (rc != 1 && *transformed) {
        ks_event_free(out);
        *transformed = false;
    }
    return rc;
}
