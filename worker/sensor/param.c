/* param.c — resolving and applying TriggerParameters (see param.h).
 *
 * Follows argo-events pkg/sensors/triggers/params.go: a value comes from the event's data
 * (dataTemplate, dataKey: only for application/json data) or else its context (contextTemplate,
 * contextKey), a template first, then the key, then the default `value`, or — without any key or
 * template — the whole event as Argo marshals it. Scalars are inserted as strings unless
 * useRawData asks for the raw JSON value. */
#include "sensor/param.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "sensor/gotmpl.h"
#include "sensor/jpath.h"

typedef enum { RESOLVED, SKIPPED, FAILED } resolve_t;

typedef struct param_value {
    char       *text;
    const char *type;     /* gjson type name: String, Number, True, False, Null, JSON */
} param_value_t;

static const ks_event_t *
find_event(const ks_held_event_t *events, size_t n, const char *dependency)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(events[i].dependency, dependency) == 0)
            return events[i].event;
    }
    return NULL;
}

/* gjson's view of a found value: JSON blocks and null as raw JSON, scalars as text. */
static void
value_of(const json_t *found, param_value_t *out)
{
    out->type = ks_jpath_type(found);
    if (json_is_object(found) || json_is_array(found) || json_is_null(found))
        out->text = json_dumps(found, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    else
        out->text = ks_jpath_string(found);
}

static bool
is_json_media(const char *type)
{
    size_t n;

    if (type == NULL)
        return false;
    n = strcspn(type, ";");
    return n == strlen("application/json") && strncmp(type, "application/json", n) == 0;
}

/* A template's output, or NULL when it fails or prints nothing or "<no value>" (Argo's failure,
 * which falls back to the key, then the default), with why in why. */
static char *
run_template(const ks_gotmpl_t *tmpl, const json_t *payload, char *why, size_t whylen)
{
    char *out = ks_gotmpl_exec(tmpl, payload, NULL, why, whylen);

    if (out != NULL && (out[0] == '\0' || strcmp(out, "<no value>") == 0)) {
        snprintf(why, whylen, "it evaluated to %s", out[0] ? "<no value>" : "an empty string");
        free(out);
        out = NULL;
    }
    return out;
}

/* Argo's ResolveParamValue: the data (when dataKey or dataTemplate is set, and it is JSON) or else
 * the context is the payload; its template is tried first, then its key, then the default value. */
static resolve_t
resolve(const ks_param_t *p, const ks_held_event_t *events, size_t n, param_value_t *out, char *err,
        size_t errlen)
{
    const ks_event_t  *ev = find_event(events, n, p->dependency);
    bool               use_data = p->data_key != NULL || p->data_template != NULL;
    const char        *key = use_data ? p->data_key : p->context_key;
    const ks_gotmpl_t *tmpl = use_data ? p->data_template : p->context_template;
    const char        *what = use_data ? (tmpl ? "dataTemplate" : "dataKey") : (tmpl ? "contextTemplate" : "contextKey");
    json_t            *payload = NULL, *found = NULL;
    char               why[256] = "";

    *out = (param_value_t){ NULL, "String" };
    if (ev == NULL) {
        if (p->value == NULL)
            return SKIPPED;
        out->text = ks_strdup(p->value);
        return RESOLVED;
    }
    if (key == NULL && tmpl == NULL) {
        json_t *whole;

        if (p->value != NULL) {
            out->text = ks_strdup(p->value);
            return RESOLVED;
        }
        whole = ks_event_argo_json(ev);
        out->text = json_dumps(whole, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(whole);
        return RESOLVED;
    }
    if (!use_data)
        payload = ks_event_context_json(ev);
    else if (is_json_media(ev->datacontenttype))
        payload = ks_event_data_json(ev);
    if (payload == NULL)
        snprintf(why, sizeof(why), "the event data is not JSON");
    if (payload != NULL && tmpl != NULL)
        out->text = run_template(tmpl, payload, why, sizeof(why));
    if (payload != NULL && out->text == NULL && key != NULL)
        found = ks_jpath_get(payload, key);
    json_decref(payload);
    if (out->text != NULL)
        return RESOLVED;
    if (found != NULL) {
        value_of(found, out);
        json_decref(found);
        return RESOLVED;
    }
    if (p->value != NULL) {
        out->text = ks_strdup(p->value);
        return RESOLVED;
    }
    if (why[0] != '\0')
        snprintf(err, errlen, "parameter of '%s': %s: %.200s, and there is no %sdefault value", p->dependency, what,
                 why, tmpl != NULL && key != NULL ? "match for its key and no " : "");
    else
        snprintf(err, errlen, "parameter of '%s': %s '%s' resolves to nothing and there is no default value",
                 p->dependency, what, key);
    return FAILED;
}

static int
apply_one(const ks_param_t *p, const param_value_t *v, json_t **doc, char *err, size_t errlen)
{
    json_t *value;

    if (p->op != KS_PARAM_OVERWRITE && *doc != NULL) {
        json_t *current = ks_jpath_get(*doc, p->dest);

        if (current != NULL) {
            char *existing = ks_jpath_string(current);
            char *joined = p->op == KS_PARAM_APPEND ? ks_asprintf("%s%s", existing, v->text)
                                                    : ks_asprintf("%s%s", v->text, existing);

            json_decref(current);
            free(existing);
            value = json_string(joined);
            free(joined);
            return ks_jpath_set(doc, p->dest, value ? value : json_null(), err, errlen);
        }
    }
    if (p->use_raw_data && strcmp(v->type, "String") != 0)
        value = json_loads(v->text, JSON_DECODE_ANY, NULL);
    else
        value = json_string(v->text);
    if (value == NULL) {
        snprintf(err, errlen, "parameter of '%s': the value is not valid UTF-8 text", p->dependency);
        return -1;
    }
    return ks_jpath_set(doc, p->dest, value, err, errlen);
}

int
ks_params_apply(const ks_params_t *params, const ks_held_event_t *events, size_t nevents, json_t **doc,
                char *err, size_t errlen)
{
    for (size_t i = 0; i < params->n; i++) {
        param_value_t v;
        resolve_t     r = resolve(&params->items[i], events, nevents, &v, err, errlen);
        int           rc;

        if (r == SKIPPED)
            continue;
        if (r == FAILED)
            return -1;
        rc = apply_one(&params->items[i], &v, doc, err, errlen);
        free(v.text);
        if (rc != 0)
            return -1;
    }
    return 0;
}

int
ks_payload_build(const ks_params_t *payload, const ks_held_event_t *events, size_t nevents, char **body,
                 size_t *len, char *err, size_t errlen)
{
    json_t *doc = NULL;

    *body = NULL;
    *len = 0;
    if (payload->n == 0) {
        *body = ks_strdup("");
        return 0;
    }
    doc = json_object();
    for (size_t i = 0; i < payload->n; i++) {
        const ks_param_t *p = &payload->items[i];
        param_value_t     v;
        resolve_t         r = resolve(p, events, nevents, &v, err, errlen);

        if (r == SKIPPED)
            continue;
        if (r == FAILED) {
            json_decref(doc);
            return -1;
        }
        if (p->dest[0] == '\0') {
            /* Argo: an empty dest makes this value the entire body */
            json_decref(doc);
            *body = v.text;
            *len = strlen(v.text);
            return 0;
        }
        if (apply_one(p, &v, &doc, err, errlen) != 0) {
            free(v.text);
            json_decref(doc);
            return -1;
        }
        free(v.text);
    }
    *body = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (*body == NULL) {
        snprintf(err, errlen, "payload cannot be serialised");
        return -1;
    }
    *len = strlen(*body);
    return 0;
}
