/* load.c — Argo Sensor manifests into the sensor model (see load.h).
 *
 * A document is first checked against Argo's schema (schema.c: unknown fields, types, refused
 * features), then built: names, conditions, filters, parameters and trigger options, each problem
 * reported at its own node. */
#include "sensor/load.h"

#include <glob.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/mem.h"
#include "core/yaml.h"
#include "sensor/gotmpl.h"
#include "sensor/match.h"
#include "sensor/schema.h"
#include "sensor/script.h"
#include "sensor/workflow.h"

#define API_VERSION "argoproj.io/v1alpha1"

typedef struct sensor_build {
    const char      *file;
    yaml_document_t *doc;
    ks_diag_t       *diag;
    size_t           problems;
    ks_sensor_t     *sensor;
    ks_pool_t       *pool;
} sensor_build_t;

static void __attribute__((format(printf, 3, 4)))
build_error(sensor_build_t *b, const yaml_node_t *node, const char *fmt, ...)
{
    char    msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ks_diag_at(b->diag, b->file, node ? ks_yaml_line(node) : 0, node ? ks_yaml_column(node) : 0,
               "%s", msg);
    b->problems++;
}

static yaml_node_t *
get(sensor_build_t *b, const yaml_node_t *map, const char *key)
{
    yaml_node_t *v = map ? ks_yaml_map_get_folded(b->doc, map, key) : NULL;

    return v != NULL && !ks_yaml_null(v) ? v : NULL;
}

/* The text of a scalar field, or NULL when absent (the schema check guarantees scalars). */
static const char *
get_str(sensor_build_t *b, const yaml_node_t *map, const char *key)
{
    yaml_node_t *v = get(b, map, key);

    return v ? ks_yaml_scalar(v) : NULL;
}

static char *
dup_or_null(const char *s)
{
    return s ? ks_strdup(s) : NULL;
}

/* Column of character `offset` of a scalar's text (quoted scalars start one column later). */
static unsigned
scalar_column(const yaml_node_t *node, size_t offset)
{
    bool quoted = node->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE
               || node->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;

    return ks_yaml_column(node) + (unsigned)offset + quoted;
}

/* "and", "or" or empty (= and). */
static ks_logic_t
get_logic(sensor_build_t *b, const yaml_node_t *map, const char *key)
{
    yaml_node_t *v = get(b, map, key);
    const char  *s = v ? ks_yaml_scalar(v) : "";

    if (strcmp(s, "") == 0 || strcmp(s, "and") == 0)
        return KS_OP_AND;
    if (strcmp(s, "or") == 0)
        return KS_OP_OR;
    build_error(b, v, "%s: expected \"and\" or \"or\", got '%s'", key, s);
    return KS_OP_AND;
}

/* "HH:MM:SS" into seconds of the day, or -1. */
static int32_t
parse_clock(const char *s)
{
    int h, m, sec, n = 0;

    if (sscanf(s, "%2d:%2d:%2d%n", &h, &m, &sec, &n) != 3 || s[n] != '\0' || h > 23 || m > 59 || sec > 59
        || h < 0 || m < 0 || sec < 0)
        return -1;
    return h * 3600 + m * 60 + sec;
}

/* A Go template, parsed; a refusal points at the construct: its own column when the template is
 * a one-line scalar written without escapes, otherwise the scalar's start and the construct's
 * character in the template. */
static ks_gotmpl_t *
compile_template(sensor_build_t *b, const yaml_node_t *node, const char *what)
{
    const char  *text = ks_yaml_scalar(node);
    char         err[256];
    size_t       offset = 0, chars = 0, total = 0;
    ks_gotmpl_t *t = ks_gotmpl_parse(text, &offset, err, sizeof(err));
    bool         quoted;

    if (t != NULL)
        return t;
    for (size_t i = 0; text[i] != '\0'; i++) {
        bool starts_char = ((unsigned char)text[i] & 0xC0) != 0x80;

        total += starts_char;
        chars += starts_char && i < offset;
    }
    quoted = node->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
             node->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    if ((node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE || quoted) &&
        node->start_mark.line == node->end_mark.line &&
        node->end_mark.column - node->start_mark.column == total + (quoted ? 2 : 0)) {
        ks_diag_at(b->diag, b->file, ks_yaml_line(node), ks_yaml_column(node) + (unsigned)(chars + quoted),
                   "%s: %s", what, err);
        b->problems++;
    } else {
        build_error(b, node, "%s: %s (character %zu of the template)", what, err, chars + 1);
    }
    return NULL;
}

static void
build_data_filter(sensor_build_t *b, ks_data_filter_t *f, const yaml_node_t *node)
{
    static const char *const cmps[] = { "=", "!=", ">", ">=", "<", "<=" };
    static const ks_cmp_t    cmp_of[] = { KS_CMP_EQ, KS_CMP_NE, KS_CMP_GT, KS_CMP_GE, KS_CMP_LT, KS_CMP_LE };
    const char              *type = get_str(b, node, "type");
    const char              *cmp = get_str(b, node, "comparator");
    yaml_node_t             *values = get(b, node, "value"), *tmpl = get(b, node, "template");

    if (tmpl != NULL)
        f->tmpl = compile_template(b, tmpl, "data filter template");
    f->path = dup_or_null(get_str(b, node, "path"));
    if (f->path == NULL || f->path[0] == '\0')
        build_error(b, node, "data filter: path is required");
    if (type == NULL || strcmp(type, "string") == 0) {
        f->type = KS_DATA_STRING;
        if (type == NULL)
            build_error(b, node, "data filter: type is required (string, number or bool)");
    } else if (strcmp(type, "number") == 0) {
        f->type = KS_DATA_NUMBER;
    } else if (strcmp(type, "bool") == 0) {
        f->type = KS_DATA_BOOL;
    } else {
        build_error(b, get(b, node, "type"), "data filter: type must be string, number or bool, got '%s'", type);
    }
    f->cmp = KS_CMP_EQ;
    if (cmp != NULL && cmp[0] != '\0') {
        size_t i;

        for (i = 0; i < 6 && strcmp(cmp, cmps[i]) != 0; i++)
            ;
        if (i == 6)
            build_error(b, get(b, node, "comparator"),
                        "data filter: comparator must be one of >=, >, =, !=, <, <=; got '%s'", cmp);
        else
            f->cmp = cmp_of[i];
    }
    if (values == NULL || ks_yaml_len(values) == 0) {
        build_error(b, node, "data filter: value needs at least one entry");
        return;
    }
    f->nvalues = ks_yaml_len(values);
    f->values = ks_calloc(f->nvalues, sizeof(*f->values));
    f->regexes = ks_calloc(f->nvalues, sizeof(*f->regexes));
    f->numbers = ks_calloc(f->nvalues, sizeof(*f->numbers));
    f->bools = ks_calloc(f->nvalues, sizeof(*f->bools));
    for (size_t i = 0; i < f->nvalues; i++) {
        yaml_node_t *v = ks_yaml_seq_item(b->doc, values, i);
        const char  *s = ks_yaml_scalar(v) ? ks_yaml_scalar(v) : "";
        char        *end;

        f->values[i] = ks_strdup(s);
        if (f->type == KS_DATA_STRING) {
            int        code;
            PCRE2_SIZE off;

            f->regexes[i] = pcre2_compile((PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code, &off, NULL);
            if (f->regexes[i] == NULL) {
                PCRE2_UCHAR msg[256];

                pcre2_get_error_message(code, msg, sizeof(msg));
                build_error(b, v, "data filter: '%s' is not a valid regular expression: %s at offset %zu",
                            s, (const char *)msg, (size_t)off);
            }
        } else if (f->type == KS_DATA_NUMBER) {
            f->numbers[i] = strtod(s, &end);
            if (*s == '\0' || *end != '\0' || !isfinite(f->numbers[i]))
                build_error(b, v, "data filter: '%s' is not a number", s);
        } else {
            /* strconv.ParseBool */
            static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
            static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };
            bool                     ok = false;

            for (size_t j = 0; j < 6; j++) {
                if (strcmp(s, yes[j]) == 0) { f->bools[i] = true; ok = true; }
                if (strcmp(s, no[j]) == 0) { f->bools[i] = false; ok = true; }
            }
            if (!ok)
                build_error(b, v, "data filter: '%s' is not a boolean", s);
        }
    }
}

static void
build_expr_filter(sensor_build_t *b, ks_expr_filter_t *f, const yaml_node_t *node)
{
    yaml_node_t *expr = get(b, node, "expr");
    yaml_node_t *fields = get(b, node, "fields");
    char         err[256];

    if (expr == NULL) {
        build_error(b, node, "expression filter: expr is required");
        return;
    }
    f->expr = ks_expr_compile(ks_yaml_scalar(expr), err, sizeof(err));
    if (f->expr == NULL) {
        build_error(b, expr, "expression filter: %s", err);
        return;
    }
    f->paths = ks_calloc(ks_expr_nvars(f->expr), sizeof(*f->paths));
    for (size_t v = 0; v < ks_expr_nvars(f->expr); v++) {
        const char *var = ks_expr_var(f->expr, v);

        for (size_t i = 0; fields != NULL && i < ks_yaml_len(fields); i++) {
            yaml_node_t *field = ks_yaml_seq_item(b->doc, fields, i);
            const char  *name = get_str(b, field, "name");

            if (name != NULL && strcmp(name, var) == 0 && f->paths[v] == NULL)
                f->paths[v] = dup_or_null(get_str(b, field, "path"));
        }
        if (f->paths[v] == NULL)
            build_error(b, expr, "expression filter: '%s' is not one of the filter's fields", var);
    }
}

/* The pool's Lua state, made when the first script needs it. */
static ks_scripts_t *
pool_scripts(sensor_build_t *b)
{
    if (b->pool->scripts == NULL)
        b->pool->scripts = ks_scripts_new();
    return b->pool->scripts;
}

/* A Lua chunk compiled into the pool's state: its handle, or 0 with a message at node. */
static int
compile_lua(sensor_build_t *b, const yaml_node_t *node, const char *what)
{
    char name[128], err[512];
    int  ref;

    snprintf(name, sizeof(name), "=%s", what);
    if ((ref = ks_script_compile(pool_scripts(b), ks_yaml_scalar(node), name, err, sizeof(err))) <= 0) {
        build_error(b, node, "%s: Lua: %s", what, err);
        return 0;
    }
    return ref;
}

/* transform: jq, else a Lua script (Argo's rule when both are set). */
static void
build_transform(sensor_build_t *b, ks_dependency_t *dep, const yaml_node_t *node)
{
    yaml_node_t *jq = get(b, node, "jq"), *script = get(b, node, "script");
    char         err[512];

    if (node == NULL)
        return;
    if (jq == NULL && script == NULL)
        build_error(b, node, "transform: jq or script is required");
    if (jq != NULL) {
        if ((dep->transform_jq = ks_jq_compile(ks_yaml_scalar(jq), err, sizeof(err))) == NULL)
            build_error(b, jq, "transform.jq: %s", err);
        if (script != NULL)
            ks_diag_at(&b->pool->warnings, b->file, ks_yaml_line(script), ks_yaml_column(script),
                       "transform: jq and script are both set: jq is applied and script ignored, as in Argo");
    } else if (script != NULL) {
        dep->filters.scripts = pool_scripts(b);
        dep->transform_script = compile_lua(b, script, "transform.script");
    }
}

static void
build_filters(sensor_build_t *b, ks_filters_t *f, const yaml_node_t *dep, const yaml_node_t *node)
{
    yaml_node_t *data = get(b, node, "data"), *exprs = get(b, node, "exprs");
    yaml_node_t *ctx = get(b, node, "context"), *time = get(b, node, "time");

    f->op = get_logic(b, dep, "filtersLogicalOperator");
    if (node == NULL)
        return;
    if (get(b, node, "script") != NULL) {
        f->scripts = pool_scripts(b);
        f->script = compile_lua(b, get(b, node, "script"), "filters.script");
    }
    f->data_op = get_logic(b, node, "dataLogicalOperator");
    f->expr_op = get_logic(b, node, "exprLogicalOperator");
    if (data != NULL) {
        f->ndata = ks_yaml_len(data);
        f->data = ks_calloc(f->ndata, sizeof(*f->data));
        for (size_t i = 0; i < f->ndata; i++)
            build_data_filter(b, &f->data[i], ks_yaml_seq_item(b->doc, data, i));
    }
    if (exprs != NULL) {
        f->nexprs = ks_yaml_len(exprs);
        f->exprs = ks_calloc(f->nexprs, sizeof(*f->exprs));
        for (size_t i = 0; i < f->nexprs; i++)
            build_expr_filter(b, &f->exprs[i], ks_yaml_seq_item(b->doc, exprs, i));
    }
    if (ctx != NULL) {
        f->has_context = true;
        f->ctx_type = dup_or_null(get_str(b, ctx, "type"));
        f->ctx_subject = dup_or_null(get_str(b, ctx, "subject"));
        f->ctx_source = dup_or_null(get_str(b, ctx, "source"));
        f->ctx_datacontenttype = dup_or_null(get_str(b, ctx, "datacontenttype"));
        if (!f->ctx_type && !f->ctx_subject && !f->ctx_source && !f->ctx_datacontenttype)
            build_error(b, ctx, "context filter: set at least one of type, subject, source, datacontenttype");
    }
    if (time != NULL) {
        const char *start = get_str(b, time, "start"), *stop = get_str(b, time, "stop");
        const char *zone = get_str(b, time, "timezone");
        char        err[256];

        f->has_time = true;
        f->time_start = parse_clock(start ? start : "");
        f->time_stop = parse_clock(stop ? stop : "");
        if (f->time_start < 0)
            build_error(b, get(b, time, "start") ? get(b, time, "start") : time,
                        "time filter: start must be HH:MM:SS, got '%s'", start ? start : "");
        if (f->time_stop < 0)
            build_error(b, get(b, time, "stop") ? get(b, time, "stop") : time,
                        "time filter: stop must be HH:MM:SS, got '%s'", stop ? stop : "");
        if (f->time_start >= 0 && f->time_start == f->time_stop)
            build_error(b, time, "time filter: start and stop must differ");
        f->time_tz = ks_tz_load(zone, err, sizeof(err));
        if (f->time_tz == NULL)
            build_error(b, get(b, time, "timezone"), "time filter: %s", err);
    }
}

static ks_dependency_t *
find_dep(ks_sensor_t *sensor, const char *name)
{
    for (size_t i = 0; i < sensor->ndeps; i++) {
        if (strcmp(sensor->deps[i].name, name) == 0)
            return &sensor->deps[i];
    }
    return NULL;
}

/* A list of TriggerParameters; dests may be empty only in an HTTP payload (Argo's validator). */
static void
build_params(sensor_build_t *b, ks_params_t *params, const yaml_node_t *list, bool empty_dest_ok)
{
    if (list == NULL)
        return;
    params->n = ks_yaml_len(list);
    params->items = ks_calloc(params->n, sizeof(*params->items));
    for (size_t i = 0; i < params->n; i++) {
        yaml_node_t *node = ks_yaml_seq_item(b->doc, list, i);
        yaml_node_t *src = get(b, node, "src");
        ks_param_t  *p = &params->items[i];
        const char  *op = get_str(b, node, "operation");
        yaml_node_t *raw = get(b, src, "useRawData"), *tmpl;

        p->dest = ks_strdup(get_str(b, node, "dest") ? get_str(b, node, "dest") : "");
        if (src == NULL) {
            build_error(b, node, "parameter: src is required");
            continue;
        }
        p->dependency = dup_or_null(get_str(b, src, "dependencyName"));
        p->data_key = dup_or_null(get_str(b, src, "dataKey"));
        p->context_key = dup_or_null(get_str(b, src, "contextKey"));
        p->value = dup_or_null(get_str(b, src, "value"));
        if ((tmpl = get(b, src, "dataTemplate")) != NULL)
            p->data_template = compile_template(b, tmpl, "dataTemplate");
        if ((tmpl = get(b, src, "contextTemplate")) != NULL)
            p->context_template = compile_template(b, tmpl, "contextTemplate");
        p->use_raw_data = raw != NULL && ks_yaml_scalar(raw)[0] == 't';
        if (p->dependency == NULL)
            build_error(b, src, "parameter: src.dependencyName is required");
        else if (find_dep(b->sensor, p->dependency) == NULL)
            build_error(b, get(b, src, "dependencyName"), "parameter: unknown dependency '%s'", p->dependency);
        if (p->dest[0] == '\0' && !empty_dest_ok)
            build_error(b, node, "parameter: dest is required");
        if (op == NULL || strcmp(op, "") == 0 || strcmp(op, "overwrite") == 0)
            p->op = KS_PARAM_OVERWRITE;
        else if (strcmp(op, "append") == 0)
            p->op = KS_PARAM_APPEND;
        else if (strcmp(op, "prepend") == 0)
            p->op = KS_PARAM_PREPEND;
        else
            build_error(b, get(b, node, "operation"),
                        "parameter: operation must be overwrite, append or prepend, got '%s'", op);
    }
}

/* Go's time.ParseDuration for the forms Argo users write ("1s", "500ms", "1m30s"); -1 if invalid. */
static int64_t
parse_go_duration(const char *s)
{
    static const struct { const char *unit; double ms; } units[] = {
        { "ns", 1e-6 }, { "us", 1e-3 }, { "µs", 1e-3 }, { "ms", 1 }, { "s", 1e3 }, { "m", 6e4 }, { "h", 3.6e6 },
    };
    double total = 0;

    if (*s == '\0')
        return -1;
    if (strcmp(s, "0") == 0)
        return 0;
    while (*s != '\0') {
        char  *end;
        double n = strtod(s, &end);
        size_t u, best = SIZE_MAX, best_len = 0;

        if (end == s || n < 0)
            return -1;
        for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
            size_t len = strlen(units[u].unit);

            if (strncmp(end, units[u].unit, len) == 0 && len > best_len) {
                best = u;
                best_len = len;
            }
        }
        if (best == SIZE_MAX)
            return -1;
        total += n * units[best].ms;
        s = end + best_len;
    }
    return (int64_t)total;
}

static void
build_retry(sensor_build_t *b, ks_retry_t *retry, const yaml_node_t *node)
{
    yaml_node_t *duration = get(b, node, "duration");
    const char  *steps = get_str(b, node, "steps"), *factor = get_str(b, node, "factor");
    const char  *jitter = get_str(b, node, "jitter");

    /* Argo: no retryStrategy means one attempt; a present block defaults steps to 5 */
    *retry = (ks_retry_t){ .steps = 1, .duration_ms = 1000, .factor = 1.0, .jitter = 1.0 };
    if (node == NULL)
        return;
    retry->steps = steps ? atoi(steps) : 0;
    if (retry->steps <= 0)
        retry->steps = 5;
    if (duration != NULL) {
        const char *d = ks_yaml_scalar(duration);
        char       *end;
        long long   ns = strtoll(d, &end, 10);

        /* an integer is nanoseconds (Go's Int64OrString), a string a Go duration */
        retry->duration_ms = ks_yaml_plain(duration) && *end == '\0' ? ns / 1000000 : parse_go_duration(d);
        if (retry->duration_ms < 0)
            build_error(b, duration, "retryStrategy.duration: '%s' is not a duration such as 1s or 500ms", d);
    }
    if (factor != NULL)
        retry->factor = strtod(factor, NULL);
    if (jitter != NULL)
        retry->jitter = strtod(jitter, NULL);
    if (retry->factor <= 0 || retry->jitter < 0)
        build_error(b, node, "retryStrategy: factor must be positive and jitter not negative");
}

static void build_trigger(sensor_build_t *b, ks_trigger_t *trig, const yaml_node_t *node, bool is_dlq);

const char *
ks_action_kind_name(ks_action_kind_t kind)
{
    static const char *const names[KS_ACTION_KINDS] = {
        [KS_ACTION_LOG] = "log", [KS_ACTION_HTTP] = "http", [KS_ACTION_KAFKA] = "kafka",
        [KS_ACTION_K8S] = "k8s", [KS_ACTION_ARGO_WORKFLOW] = "argoWorkflow",
    };

    return (int)kind >= 0 && kind < KS_ACTION_KINDS ? names[kind] : "?";
}

/* source: exactly one of resource, inline, file, url, configmap (git and s3 the schema refuses). */
static void
build_source(sensor_build_t *b, const yaml_node_t *kind, const char *type)
{
    static const char *const sources[] = { "resource", "inline", "file", "url", "configmap" };
    yaml_node_t             *source = get(b, kind, "source");
    int                      n = 0;

    for (size_t i = 0; source != NULL && i < sizeof(sources) / sizeof(sources[0]); i++)
        n += get(b, source, sources[i]) != NULL;
    if (source == NULL || n != 1)
        build_error(b, source ? source : kind, "%s trigger: source needs exactly one of resource, inline, file, "
                    "url and configmap", type);
}

static void
build_k8s(sensor_build_t *b, ks_trigger_t *trig, const yaml_node_t *k8s)
{
    static const char *const ops[] = { "create", "update", "patch", "delete" };
    const char              *op = get_str(b, k8s, "operation");
    bool                     known = op == NULL || op[0] == '\0';

    trig->kind = KS_ACTION_K8S;
    build_source(b, k8s, "k8s");
    for (size_t i = 0; !known && i < sizeof(ops) / sizeof(ops[0]); i++)
        known = strcmp(op, ops[i]) == 0;
    if (!known)
        build_error(b, get(b, k8s, "operation"), "k8s trigger: operation must be create, update, patch or delete, "
                    "got '%s'", op);
    build_params(b, &trig->resource_params, get(b, k8s, "parameters"), false);
}

static void
build_argo_workflow(sensor_build_t *b, ks_trigger_t *trig, const yaml_node_t *wf)
{
    yaml_node_t *args = get(b, wf, "args");
    ks_wf_op_t   op;
    char         err[512];

    trig->kind = KS_ACTION_ARGO_WORKFLOW;
    build_source(b, wf, "argoWorkflow");
    if (ks_wf_op_parse(get_str(b, wf, "operation"), &op, err, sizeof(err)) != 0)
        build_error(b, get(b, wf, "operation") ? get(b, wf, "operation") : wf, "%s", err);
    if (args != NULL) {
        json_t *list = ks_yaml_to_json(b->doc, args), *scratch = json_object();

        if (ks_wf_args_apply(list, scratch, err, sizeof(err)) != 0)
            build_error(b, args, "%s", err);
        json_decref(list);
        json_decref(scratch);
    }
    build_params(b, &trig->resource_params, get(b, wf, "parameters"), false);
}

static void
build_action(sensor_build_t *b, ks_trigger_t *trig, const yaml_node_t *tmpl)
{
    static const char *const methods[] = { "GET", "DELETE", "PATCH", "POST", "PUT", NULL };
    yaml_node_t             *http = get(b, tmpl, "http"), *kafka = get(b, tmpl, "kafka");
    yaml_node_t             *log = ks_yaml_map_get(b->doc, tmpl, "log");
    yaml_node_t             *k8s = get(b, tmpl, "k8s"), *wf = get(b, tmpl, "argoWorkflow");
    int                      kinds = (http != NULL) + (kafka != NULL) + (log != NULL) + (k8s != NULL) + (wf != NULL);

    if (kinds != 1) {
        build_error(b, tmpl, kinds == 0 ? "trigger '%s' has no trigger type (log, http, kafka, k8s or argoWorkflow)"
                                        : "trigger '%s' has more than one trigger type", trig->name);
        return;
    }
    if (k8s != NULL) {
        build_k8s(b, trig, k8s);
    } else if (wf != NULL) {
        build_argo_workflow(b, trig, wf);
    } else if (log != NULL) {
        trig->kind = KS_ACTION_LOG;
    } else if (http != NULL) {
        const char *method = get_str(b, http, "method");
        bool        known = method == NULL;

        trig->kind = KS_ACTION_HTTP;
        if (get_str(b, http, "url") == NULL)
            build_error(b, http, "http trigger: url is required");
        for (size_t i = 0; method != NULL && methods[i] != NULL; i++)
            known = known || strcmp(method, methods[i]) == 0;
        if (!known)
            build_error(b, get(b, http, "method"), "http trigger: method must be GET, DELETE, PATCH, POST or PUT, got '%s'", method);
        build_params(b, &trig->payload, get(b, http, "payload"), true);
        build_params(b, &trig->kind_params, get(b, http, "parameters"), false);
        build_params(b, &trig->dyn_headers, get(b, http, "dynamicHeaders"), false);
    } else {
        trig->kind = KS_ACTION_KAFKA;
        if (get_str(b, kafka, "url") == NULL)
            build_error(b, kafka, "kafka trigger: url is required");
        if (get_str(b, kafka, "topic") == NULL)
            build_error(b, kafka, "kafka trigger: topic is required");
        if (get(b, kafka, "payload") == NULL)
            build_error(b, kafka, "kafka trigger: payload is required");
        build_params(b, &trig->payload, get(b, kafka, "payload"), false);
        build_params(b, &trig->kind_params, get(b, kafka, "parameters"), false);
    }
}

static void
build_resets(sensor_build_t *b, ks_trigger_t *trig, const yaml_node_t *list)
{
    if (list == NULL)
        return;
    trig->resets = ks_calloc(ks_yaml_len(list), sizeof(*trig->resets));
    for (size_t i = 0; i < ks_yaml_len(list); i++) {
        yaml_node_t *by_time = get(b, ks_yaml_seq_item(b->doc, list, i), "byTime");
        yaml_node_t *cron = get(b, by_time, "cron");
        char         err[256];

        if (cron == NULL) {
            build_error(b, ks_yaml_seq_item(b->doc, list, i), "conditionsReset: byTime.cron is required");
            continue;
        }
        trig->resets[trig->nresets] = ks_cron_parse(ks_yaml_scalar(cron), get_str(b, by_time, "timezone"),
                                                    err, sizeof(err));
        if (trig->resets[trig->nresets] == NULL)
            build_error(b, cron, "conditionsReset: %s", err);
        else
            trig->nresets++;
    }
}

static void
build_trigger(sensor_build_t *b, ks_trigger_t *trig, const yaml_node_t *node, bool is_dlq)
{
    yaml_node_t *tmpl = get(b, node, "template"), *cond, *name, *allow, *rate, *dlq, *k8s_policy;
    const char  *deps[KS_SENSOR_MAX_DEPS];
    char         err[256];
    size_t       where;

    trig->sensor = b->sensor;
    name = get(b, tmpl, "name");
    trig->name = ks_strdup(name ? ks_yaml_scalar(name) : "");
    if (tmpl == NULL) {
        build_error(b, node, "trigger: template is required");
        return;
    }
    if (trig->name[0] == '\0' || strchr(trig->name, '/') != NULL)
        build_error(b, name ? name : tmpl, "trigger: template.name is required and may not contain '/'");
    trig->tmpl = ks_schema_to_json(&ks_schema_trigger_template, b->doc, tmpl);

    for (size_t i = 0; i < b->sensor->ndeps; i++)
        deps[i] = b->sensor->deps[i].name;
    cond = get(b, tmpl, "conditions");
    trig->cond = ks_cond_compile(cond ? ks_yaml_scalar(cond) : NULL, deps, b->sensor->ndeps, err,
                                 sizeof(err), &where);
    if (trig->cond == NULL) {
        if (cond != NULL)
            ks_diag_at(b->diag, b->file, ks_yaml_line(cond), scalar_column(cond, where), "conditions: %s", err);
        else
            ks_diag_at(b->diag, b->file, ks_yaml_line(tmpl), ks_yaml_column(tmpl), "conditions: %s", err);
        b->problems++;
    }
    build_resets(b, trig, get(b, tmpl, "conditionsReset"));
    build_action(b, trig, tmpl);
    build_params(b, &trig->tmpl_params, get(b, node, "parameters"), false);
    build_retry(b, &trig->retry, get(b, node, "retryStrategy"));
    trig->at_least_once = get_str(b, node, "atLeastOnce") != NULL && get_str(b, node, "atLeastOnce")[0] == 't';

    allow = get(b, get(b, get(b, node, "policy"), "status"), "allow");
    if (allow != NULL) {
        trig->nstatus_allow = ks_yaml_len(allow);
        trig->status_allow = ks_calloc(trig->nstatus_allow, sizeof(*trig->status_allow));
        for (size_t i = 0; i < trig->nstatus_allow; i++)
            trig->status_allow[i] = atoi(ks_yaml_scalar(ks_yaml_seq_item(b->doc, allow, i)));
    }
    rate = get(b, node, "rateLimit");
    if (rate != NULL) {
        const char *unit = get_str(b, rate, "unit"), *per = get_str(b, rate, "requestsPerUnit");

        trig->rate_unit_ms = unit == NULL || strcmp(unit, "Second") == 0 ? 1000
                           : strcmp(unit, "Minute") == 0 ? 60000 : strcmp(unit, "Hour") == 0 ? 3600000 : 0;
        trig->rate_requests = per ? atoi(per) : 0;
        if (trig->rate_unit_ms == 0)
            build_error(b, get(b, rate, "unit"), "rateLimit: unit must be Second, Minute or Hour, got '%s'", unit);
        if (trig->rate_requests <= 0)
            build_error(b, rate, "rateLimit: requestsPerUnit must be a positive integer");
    }
    k8s_policy = get(b, get(b, node, "policy"), "k8s");
    if (k8s_policy != NULL) {
        yaml_node_t *labels = get(b, k8s_policy, "labels");
        const char  *e = get_str(b, k8s_policy, "errorOnBackoffTimeout");

        if (trig->kind != KS_ACTION_K8S && trig->kind != KS_ACTION_ARGO_WORKFLOW)
            build_error(b, k8s_policy, "policy.k8s applies to k8s and argoWorkflow triggers only");
        if (labels != NULL && labels->type == YAML_MAPPING_NODE)
            trig->k8s_labels = ks_yaml_to_json(b->doc, labels);
        /* Argo's default for the policy is 5 checks a second apart (pkg/shared/util/retry.go) */
        build_retry(b, &trig->k8s_backoff, get(b, k8s_policy, "backoff"));
        if (get(b, k8s_policy, "backoff") == NULL)
            trig->k8s_backoff.steps = 5;
        trig->k8s_error_on_timeout = e != NULL && e[0] == 't';
    }
    dlq = get(b, node, "dlqTrigger");
    if (dlq != NULL && !is_dlq) {
        if (!trig->at_least_once)
            build_error(b, dlq, "dlqTrigger: the trigger must set atLeastOnce: true");
        trig->dlq = ks_calloc(1, sizeof(*trig->dlq));
        build_trigger(b, trig->dlq, dlq, true);
        if (!trig->dlq->at_least_once)
            build_error(b, dlq, "dlqTrigger: the dead-letter trigger must set atLeastOnce: true");
    }
}

static bool
valid_name(const char *s)
{
    return s[0] != '\0' && strchr(s, '/') == NULL && strlen(s) <= 253;
}

static void
build_sensor(sensor_build_t *b, const yaml_node_t *root)
{
    yaml_node_t *spec = get(b, root, "spec"), *deps, *trigs, *name;
    ks_sensor_t *sensor = b->sensor;
    const char  *api = get_str(b, root, "apiVersion"), *kind = get_str(b, root, "kind");

    if (api == NULL || strcmp(api, API_VERSION) != 0)
        build_error(b, get(b, root, "apiVersion") ? get(b, root, "apiVersion") : root,
                    "apiVersion must be " API_VERSION ", got '%s'", api ? api : "");
    if (kind == NULL || strcmp(kind, "Sensor") != 0)
        build_error(b, get(b, root, "kind") ? get(b, root, "kind") : root,
                    "kind must be Sensor, got '%s'", kind ? kind : "");
    name = get(b, get(b, root, "metadata"), "name");
    sensor->name = ks_strdup(name ? ks_yaml_scalar(name) : "");
    sensor->ns = ks_strdup(get_str(b, get(b, root, "metadata"), "namespace") ? get_str(b, get(b, root, "metadata"), "namespace")
                                                                              : "default");
    if (!valid_name(sensor->name))
        build_error(b, name ? name : root, "metadata.name is required and may not contain '/'");
    if (spec == NULL) {
        build_error(b, root, "spec is required");
        return;
    }

    deps = get(b, spec, "dependencies");
    if (deps == NULL || ks_yaml_len(deps) == 0)
        build_error(b, spec, "spec.dependencies needs at least one dependency");
    sensor->ndeps = deps ? ks_yaml_len(deps) : 0;
    if (sensor->ndeps > KS_SENSOR_MAX_DEPS) {
        build_error(b, deps, "a sensor may have at most %d dependencies", KS_SENSOR_MAX_DEPS);
        sensor->ndeps = 0;
    }
    sensor->deps = ks_calloc(sensor->ndeps, sizeof(*sensor->deps));
    for (size_t i = 0; i < sensor->ndeps; i++) {
        yaml_node_t     *node = ks_yaml_seq_item(b->doc, deps, i);
        ks_dependency_t *dep = &sensor->deps[i];
        yaml_node_t     *dname = get(b, node, "name");

        dep->sensor = sensor;
        dep->index = i;
        dep->name = ks_strdup(dname ? ks_yaml_scalar(dname) : "");
        dep->event_source = ks_strdup(get_str(b, node, "eventSourceName") ? get_str(b, node, "eventSourceName") : "");
        dep->event_name = ks_strdup(get_str(b, node, "eventName") ? get_str(b, node, "eventName") : "");
        if (dep->name[0] == '\0')
            build_error(b, node, "dependency: name is required");
        if (dep->event_source[0] == '\0' || dep->event_name[0] == '\0')
            build_error(b, node, "dependency '%s': eventSourceName and eventName are required", dep->name);
        for (size_t j = 0; j < i; j++) {
            if (dep->name[0] != '\0' && strcmp(sensor->deps[j].name, dep->name) == 0)
                build_error(b, dname, "duplicate dependency name '%s'", dep->name);
        }
        build_filters(b, &dep->filters, node, get(b, node, "filters"));
        build_transform(b, dep, get(b, node, "transform"));
    }

    trigs = get(b, spec, "triggers");
    if (trigs == NULL || ks_yaml_len(trigs) == 0)
        build_error(b, spec, "spec.triggers needs at least one trigger");
    sensor->ntriggers = trigs ? ks_yaml_len(trigs) : 0;
    sensor->triggers = ks_calloc(sensor->ntriggers, sizeof(*sensor->triggers));
    for (size_t i = 0; i < sensor->ntriggers; i++) {
        yaml_node_t *node = ks_yaml_seq_item(b->doc, trigs, i);

        sensor->triggers[i].index = i;
        build_trigger(b, &sensor->triggers[i], node, false);
        for (size_t j = 0; j < i; j++) {
            if (sensor->triggers[i].name[0] != '\0' && strcmp(sensor->triggers[j].name, sensor->triggers[i].name) == 0)
                build_error(b, get(b, get(b, node, "template"), "name"), "duplicate trigger name '%s'",
                            sensor->triggers[i].name);
        }
    }
}

static void
params_free(ks_params_t *params)
{
    for (size_t i = 0; i < params->n; i++) {
        ks_param_t *p = &params->items[i];

        free(p->dependency);
        free(p->data_key);
        free(p->context_key);
        free(p->value);
        free(p->dest);
        ks_gotmpl_free(p->data_template);
        ks_gotmpl_free(p->context_template);
    }
    free(params->items);
}

static void
trigger_free(ks_trigger_t *trig)
{
    free(trig->name);
    ks_cond_free(trig->cond);
    for (size_t i = 0; i < trig->nresets; i++)
        ks_cron_free(trig->resets[i]);
    free(trig->resets);
    json_decref(trig->tmpl);
    params_free(&trig->tmpl_params);
    params_free(&trig->payload);
    params_free(&trig->kind_params);
    params_free(&trig->dyn_headers);
    params_free(&trig->resource_params);
    json_decref(trig->k8s_labels);
    free(trig->status_allow);
    if (trig->dlq != NULL) {
        trigger_free(trig->dlq);
        free(trig->dlq);
    }
}

static void
filters_free(ks_filters_t *f)
{
    for (size_t i = 0; i < f->ndata; i++) {
        ks_data_filter_t *d = &f->data[i];

        for (size_t j = 0; j < d->nvalues; j++) {
            free(d->values[j]);
            pcre2_code_free(d->regexes[j]);
        }
        free(d->path);
        ks_gotmpl_free(d->tmpl);
        free(d->values);
        free(d->regexes);
        free(d->numbers);
        free(d->bools);
    }
    free(f->data);
    for (size_t i = 0; i < f->nexprs; i++) {
        for (size_t j = 0; f->exprs[i].paths != NULL && j < ks_expr_nvars(f->exprs[i].expr); j++)
            free(f->exprs[i].paths[j]);
        free(f->exprs[i].paths);
        ks_expr_free(f->exprs[i].expr);
    }
    free(f->exprs);
    free(f->ctx_type);
    free(f->ctx_subject);
    free(f->ctx_source);
    free(f->ctx_datacontenttype);
    ks_tz_free(f->time_tz);
}

static void
sensor_free(ks_sensor_t *sensor)
{
    for (size_t i = 0; i < sensor->ndeps; i++) {
        free(sensor->deps[i].name);
        free(sensor->deps[i].event_source);
        free(sensor->deps[i].event_name);
        ks_jq_free(sensor->deps[i].transform_jq);
        filters_free(&sensor->deps[i].filters);
    }
    free(sensor->deps);
    for (size_t i = 0; i < sensor->ntriggers; i++)
        trigger_free(&sensor->triggers[i]);
    free(sensor->triggers);
    free(sensor->name);
    free(sensor->ns);
    free(sensor->file);
    free(sensor);
}

size_t
ks_pool_load_file(ks_pool_t *pool, const char *path, ks_diag_t *diag)
{
    ks_yaml_t yaml;
    size_t    refused = 0;

    if (ks_yaml_load(&yaml, path, diag) != 0) {
        ks_yaml_free(&yaml);
        return 1;
    }
    if (yaml.ndocs == 0) {
        ks_diag_at(diag, path, 0, 0, "empty file: expected a Sensor manifest");
        refused++;
    }
    for (size_t d = 0; d < yaml.ndocs; d++) {
        yaml_node_t    *root = ks_yaml_root(&yaml, d);
        ks_diag_t       found = {0}, warnings = {0};
        sensor_build_t  b = { path, &yaml.docs[d], &found, 0, NULL, pool };
        yaml_node_t    *kind = root->type == YAML_MAPPING_NODE ? get(&b, root, "kind") : NULL;

        /* another kind of manifest (an EventSource beside its Sensor): say so, not field by field */
        if (kind != NULL && ks_yaml_scalar(kind) != NULL && strcmp(ks_yaml_scalar(kind), "Sensor") != 0)
            build_error(&b, kind, "kind must be Sensor, got '%s'", ks_yaml_scalar(kind));
        else if (ks_schema_check(&ks_schema_sensor, path, &yaml.docs[d], root, &found, &warnings) == 0) {
            b.sensor = ks_calloc(1, sizeof(*b.sensor));
            b.sensor->file = ks_strdup(path);
            build_sensor(&b, root);
            if (b.problems == 0 && ks_pool_sensor(pool, b.sensor->name) != NULL)
                build_error(&b, get(&b, get(&b, root, "metadata"), "name"),
                            "a sensor named '%s' is already loaded (from %s)", b.sensor->name,
                            ks_pool_sensor(pool, b.sensor->name)->file);
        }
        if (found.n > 0) {
            refused++;
            if (b.sensor != NULL)
                sensor_free(b.sensor);
            ks_diag_sort(&found);
            ks_diag_move(diag, &found);
            ks_diag_free(&warnings);
            continue;
        }
        ks_diag_move(&pool->warnings, &warnings);
        pool->sensors = ks_realloc(pool->sensors, (pool->nsensors + 1) * sizeof(*pool->sensors));
        b.sensor->index = pool->nsensors;
        pool->sensors[pool->nsensors++] = b.sensor;
    }
    ks_yaml_free(&yaml);
    return refused;
}

size_t
ks_pool_load_glob(ks_pool_t *pool, const char *pattern, ks_diag_t *diag)
{
    glob_t g;
    size_t refused = 0;
    int    rc = glob(pattern, GLOB_ERR, NULL, &g);

    if (rc == GLOB_NOMATCH) {
        ks_diag_at(diag, pattern, 0, 0, "no sensor file matches");
        return 1;
    }
    if (rc != 0) {
        ks_diag_at(diag, pattern, 0, 0, "cannot list sensor files");
        globfree(&g);
        return 1;
    }
    for (size_t i = 0; i < g.gl_pathc; i++)
        refused += ks_pool_load_file(pool, g.gl_pathv[i], diag);
    globfree(&g);
    return refused;
}

void
ks_pool_index(ks_pool_t *pool)
{
    ks_match_free(pool->match);
    pool->match = ks_match_build(pool->sensors, pool->nsensors);
}

void
ks_pool_free(ks_pool_t *pool)
{
    for (size_t i = 0; i < pool->nsensors; i++)
        sensor_free(pool->sensors[i]);
    free(pool->sensors);
    ks_match_free(pool->match);
    ks_scripts_free(pool->scripts);
    ks_diag_free(&pool->warnings);
    *pool = (ks_pool_t){0};
}

ks_sensor_t *
ks_pool_sensor(const ks_pool_t *pool, const char *name)
{
    for (size_t i = 0; i < pool->nsensors; i++) {
        if (strcmp(pool->sensors[i]->name, name) == 0)
            return pool->sensors[i];
    }
    return NULL;
}
