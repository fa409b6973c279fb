/* schema.c — Argo's Sensor types as tables, checked against YAML (see schema.h).
 *
 * Field names follow the json tags of argo-events pkg/apis/events/v1alpha1 (sensor_types.go). A field
 * with a `refuse` sentence is understood but not run by ksensor: its presence is an error. */
#include "sensor/schema.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/yaml.h"

typedef enum {
    SK_STRING,      /* any scalar, kept as text */
    SK_INT,
    SK_BOOL,
    SK_NUMBER,      /* a number, or a string holding one (Argo's Amount) */
    SK_INT_OR_STRING,
    SK_STRING_MAP,  /* a mapping of scalars */
    SK_OBJECT,      /* fields below */
    SK_LIST,        /* of `item`; objects use `fields` */
    SK_ANY,         /* accepted and not interpreted (Kubernetes-only fields) */
    SK_MISPLACED    /* a field Argo users put in the wrong place: ignored, as Argo does, with a warning */
} schema_kind_t;

typedef struct schema_field schema_field_t;

struct schema_field {
    const char           *name;     /* "*": any other key is accepted as SK_ANY */
    schema_kind_t         kind;
    schema_kind_t         item;     /* for SK_LIST */
    const schema_field_t *fields;   /* for SK_OBJECT and lists of objects */
    const char           *refuse;   /* the sentence that refuses the field (or, when misplaced, warns) */
};

struct ks_schema {
    const schema_field_t *fields;
};

#define END                  { NULL, SK_ANY, SK_ANY, NULL, NULL }
#define STR(n)               { n, SK_STRING, SK_ANY, NULL, NULL }
#define INT(n)               { n, SK_INT, SK_ANY, NULL, NULL }
#define BOOL(n)              { n, SK_BOOL, SK_ANY, NULL, NULL }
#define NUM(n)               { n, SK_NUMBER, SK_ANY, NULL, NULL }
#define MAP(n)               { n, SK_STRING_MAP, SK_ANY, NULL, NULL }
#define ANY(n)               { n, SK_ANY, SK_ANY, NULL, NULL }
#define OBJ(n, f)            { n, SK_OBJECT, SK_ANY, f, NULL }
#define LIST(n, k)           { n, SK_LIST, k, NULL, NULL }
#define OBJLIST(n, f)        { n, SK_LIST, SK_OBJECT, f, NULL }
#define REFUSE(n, why)       { n, SK_ANY, SK_ANY, NULL, why }
#define MISPLACED(n, why)    { n, SK_MISPLACED, SK_ANY, NULL, why }

#define NOT_YET(what) what " is not supported yet"
#define NO_TYPE(t) "trigger type '" t "' is not supported by ksensor (it runs log, http, kafka, k8s and argoWorkflow " \
                   "triggers)"

static const schema_field_t secret_selector[] = { STR("name"), STR("key"), BOOL("optional"), END };

static const schema_field_t tls_config[] = {
    OBJ("caCertSecret", secret_selector), OBJ("clientCertSecret", secret_selector),
    OBJ("clientKeySecret", secret_selector), BOOL("insecureSkipVerify"), END,
};

static const schema_field_t param_source[] = {
    STR("dependencyName"), STR("contextKey"), STR("dataKey"), STR("value"), BOOL("useRawData"),
    STR("contextTemplate"), STR("dataTemplate"), END,
};

static const schema_field_t parameter[] = {
    OBJ("src", param_source), STR("dest"), STR("operation"), END,
};

static const schema_field_t value_from[] = {
    OBJ("secretKeyRef", secret_selector), OBJ("configMapKeyRef", secret_selector), END,
};

static const schema_field_t secure_header[] = { STR("name"), OBJ("valueFrom", value_from), END };

static const schema_field_t basic_auth[] = {
    OBJ("username", secret_selector), OBJ("password", secret_selector), END,
};

static const schema_field_t http_trigger[] = {
    STR("url"), OBJLIST("payload", parameter), OBJ("tls", tls_config), STR("method"),
    OBJLIST("parameters", parameter), INT("timeout"), OBJ("basicAuth", basic_auth), MAP("headers"),
    OBJLIST("secureHeaders", secure_header), OBJLIST("dynamicHeaders", parameter), STR("host"), END,
};

static const schema_field_t sasl_config[] = {
    STR("mechanism"), OBJ("userSecret", secret_selector), OBJ("passwordSecret", secret_selector), END,
};

static const schema_field_t kafka_trigger[] = {
    STR("url"), STR("topic"), INT("partition"), OBJLIST("parameters", parameter), INT("requiredAcks"),
    BOOL("compress"), INT("flushFrequency"), OBJ("tls", tls_config), OBJLIST("payload", parameter),
    STR("partitioningKey"), STR("version"), OBJ("sasl", sasl_config), MAP("headers"),
    OBJLIST("secureHeaders", secure_header),
    REFUSE("schemaRegistry", NOT_YET("schemaRegistry (Avro)")), END,
};

static const schema_field_t log_trigger[] = { INT("intervalSeconds"), END };

static const schema_field_t url_artifact[] = { STR("path"), BOOL("verifyCert"), END };
static const schema_field_t file_artifact[] = { STR("path"), END };

/* ArtifactLocation: where a k8s or argoWorkflow trigger's object comes from. */
static const schema_field_t artifact_location[] = {
    ANY("resource"), STR("inline"), OBJ("file", file_artifact), OBJ("url", url_artifact),
    OBJ("configmap", secret_selector),
    REFUSE("git", "source.git is not supported: ksensor does not clone repositories; use resource, inline, "
           "file, url or configmap"),
    REFUSE("s3", "source.s3 is not supported: use resource, inline, file, url or configmap"), END,
};

static const schema_field_t k8s_trigger[] = {
    OBJ("source", artifact_location), STR("operation"), OBJLIST("parameters", parameter), STR("patchStrategy"),
    BOOL("liveObject"),
    MISPLACED("group", "k8s.group was removed from Argo (the group comes from the resource's apiVersion); ignored"),
    MISPLACED("version", "k8s.version was removed from Argo (the version comes from the resource's apiVersion); "
              "ignored"),
    MISPLACED("resource", "k8s.resource was removed from Argo (the resource comes from the object's kind); ignored"),
    END,
};

static const schema_field_t argo_workflow_trigger[] = {
    OBJ("source", artifact_location), STR("operation"), OBJLIST("parameters", parameter), LIST("args", SK_STRING),
    END,
};

static const schema_field_t reset_by_time[] = { STR("cron"), STR("timezone"), END };
static const schema_field_t reset_criteria[] = { OBJ("byTime", reset_by_time), END };

static const schema_field_t trigger_template[] = {
    STR("name"), STR("conditions"), OBJLIST("conditionsReset", reset_criteria),
    OBJ("http", http_trigger), OBJ("kafka", kafka_trigger), OBJ("log", log_trigger),
    OBJ("k8s", k8s_trigger), OBJ("argoWorkflow", argo_workflow_trigger),
    REFUSE("awsLambda", NO_TYPE("awsLambda")), REFUSE("custom", NO_TYPE("custom")),
    REFUSE("nats", NO_TYPE("nats")), REFUSE("slack", NO_TYPE("slack")),
    REFUSE("openWhisk", NO_TYPE("openWhisk")), REFUSE("azureEventHubs", NO_TYPE("azureEventHubs")),
    REFUSE("pulsar", NO_TYPE("pulsar")), REFUSE("azureServiceBus", NO_TYPE("azureServiceBus")),
    REFUSE("email", NO_TYPE("email")),
    MISPLACED("atLeastOnce", "atLeastOnce belongs to the trigger, next to template; here it is ignored, "
              "as Argo ignores it, so this trigger runs at most once"),
    MISPLACED("policy", "policy belongs to the trigger, next to template; here it is ignored, as Argo "
              "ignores it"), END,
};

static const schema_field_t status_policy[] = { LIST("allow", SK_INT), END };

static const schema_field_t backoff[] = {
    { "duration", SK_INT_OR_STRING, SK_ANY, NULL, NULL }, NUM("factor"), NUM("jitter"), INT("steps"), END,
};

static const schema_field_t k8s_policy[] = {
    OBJ("backoff", backoff), MAP("labels"), BOOL("errorOnBackoffTimeout"), END,
};

static const schema_field_t trigger_policy[] = { OBJ("status", status_policy), OBJ("k8s", k8s_policy), END };

static const schema_field_t rate_limit[] = { STR("unit"), INT("requestsPerUnit"), END };


/* A Trigger; dlqTrigger nests one level (Argo's rule), so the DLQ trigger has no dlqTrigger. */
#define TRIGGER_FIELDS                                                                        \
    OBJ("template", trigger_template), OBJLIST("parameters", parameter),                      \
    OBJ("policy", trigger_policy), OBJ("retryStrategy", backoff), OBJ("rateLimit", rate_limit), \
    BOOL("atLeastOnce")

static const schema_field_t dlq_trigger[] = {
    TRIGGER_FIELDS, REFUSE("dlqTrigger", "a dlqTrigger cannot have its own dlqTrigger"), END,
};

static const schema_field_t trigger[] = { TRIGGER_FIELDS, OBJ("dlqTrigger", dlq_trigger), END };

static const schema_field_t time_filter[] = { STR("start"), STR("stop"), STR("timezone"), END };

static const schema_field_t event_context[] = {
    STR("id"), STR("source"), STR("specversion"), STR("type"), STR("datacontenttype"),
    STR("subject"), STR("time"), END,
};

static const schema_field_t data_filter[] = {
    STR("path"), STR("type"), LIST("value", SK_STRING), STR("comparator"), STR("template"), END,
};

static const schema_field_t payload_field[] = { STR("path"), STR("name"), END };
static const schema_field_t expr_filter[] = { STR("expr"), OBJLIST("fields", payload_field), END };

static const schema_field_t dependency_filter[] = {
    OBJ("time", time_filter), OBJ("context", event_context), OBJLIST("data", data_filter),
    OBJLIST("exprs", expr_filter), STR("dataLogicalOperator"), STR("exprLogicalOperator"), STR("script"), END,
};

static const schema_field_t transform[] = { STR("jq"), STR("script"), END };

static const schema_field_t dependency[] = {
    STR("name"), STR("eventSourceName"), STR("eventName"), OBJ("filters", dependency_filter),
    STR("filtersLogicalOperator"), OBJ("transform", transform), END,
};

static const schema_field_t sensor_spec[] = {
    OBJLIST("dependencies", dependency), OBJLIST("triggers", trigger), ANY("template"),
    BOOL("errorOnFailedRound"), STR("eventBusName"), INT("replicas"), INT("revisionHistoryLimit"),
    MAP("loggingFields"), END,
};

static const schema_field_t object_meta[] = { STR("name"), STR("namespace"), MAP("labels"),
                                              MAP("annotations"), ANY("*"), END };

static const schema_field_t sensor_doc[] = {
    STR("apiVersion"), STR("kind"), OBJ("metadata", object_meta), OBJ("spec", sensor_spec),
    ANY("status"), END,
};

const ks_schema_t ks_schema_sensor = { sensor_doc };
const ks_schema_t ks_schema_trigger_template = { trigger_template };

typedef struct schema_walk {
    const char      *file;
    yaml_document_t *doc;
    ks_diag_t       *diag;
    ks_diag_t       *warnings;
    size_t           problems;
} schema_walk_t;

static void
walk_error(schema_walk_t *w, const yaml_node_t *node, const char *fmt, const char *a, const char *b)
{
    ks_diag_at(w->diag, w->file, ks_yaml_line(node), ks_yaml_column(node), fmt, a, b);
    w->problems++;
}

static const char *
kind_name(schema_kind_t kind)
{
    switch (kind) {
    case SK_INT:          return "an integer";
    case SK_BOOL:         return "true or false";
    case SK_NUMBER:       return "a number";
    case SK_STRING_MAP:   return "a mapping of names to values";
    case SK_OBJECT:       return "a mapping";
    case SK_LIST:         return "a list";
    default:              return "a string";
    }
}

static void walk_value(schema_walk_t *w, const char *name, schema_kind_t kind, schema_kind_t item,
                       const schema_field_t *fields, const yaml_node_t *node);

/* The field called name: an exact match, else one that differs only in case (Argo decodes manifests
 * with Go's encoding/json, which matches field names so), else the wildcard, else NULL. */
static const schema_field_t *
find_field(const schema_field_t *fields, const char *name)
{
    const schema_field_t *folded = NULL, *wild = NULL;

    for (const schema_field_t *c = fields; fields != NULL && c->name != NULL; c++) {
        if (strcmp(c->name, name) == 0)
            return c;
        if (strcmp(c->name, "*") == 0)
            wild = c;
        else if (folded == NULL && strcasecmp(c->name, name) == 0)
            folded = c;
    }
    return folded != NULL ? folded : wild;
}

static void
walk_object(schema_walk_t *w, const schema_field_t *fields, const yaml_node_t *node)
{
    for (size_t i = 0; i < ks_yaml_len(node); i++) {
        yaml_node_t          *k = ks_yaml_map_key(w->doc, node, i);
        yaml_node_t          *v = ks_yaml_map_value(w->doc, node, i);
        const char           *name = ks_yaml_scalar(k);
        const schema_field_t *f;

        if (name == NULL) {
            walk_error(w, k, "expected a field name, got %s%s", ks_yaml_kind(k), "");
            continue;
        }
        for (size_t j = 0; j < i; j++) {
            const char *prev = ks_yaml_scalar(ks_yaml_map_key(w->doc, node, j));

            if (prev != NULL && strcmp(prev, name) == 0) {
                walk_error(w, k, "duplicate field '%s'%s", name, "");
                break;
            }
        }
        f = find_field(fields, name);
        if (f == NULL) {
            walk_error(w, k, "unknown field '%s'%s", name, "");
            continue;
        }
        if (strcmp(f->name, "*") == 0)
            continue;
        if (strcmp(f->name, name) != 0)
            ks_diag_at(w->warnings, w->file, ks_yaml_line(k), ks_yaml_column(k), "'%s' is read as '%s', as Argo "
                       "reads it (field names match without regard to case); write %s", name, f->name, f->name);
        if (f->kind == SK_MISPLACED) {
            ks_diag_at(w->warnings, w->file, ks_yaml_line(k), ks_yaml_column(k), "%s", f->refuse);
            continue;
        }
        if (f->refuse != NULL) {
            walk_error(w, k, "%s%s", f->refuse, "");
            continue;
        }
        walk_value(w, name, f->kind, f->item, f->fields, v);
    }
}

static void
walk_value(schema_walk_t *w, const char *name, schema_kind_t kind, schema_kind_t item,
           const schema_field_t *fields, const yaml_node_t *node)
{
    const char *s = ks_yaml_scalar(node);

    if (kind == SK_ANY || kind == SK_MISPLACED || ks_yaml_null(node))
        return;
    switch (kind) {
    case SK_OBJECT:
    case SK_STRING_MAP:
    case SK_LIST:
        if (node->type != (kind == SK_LIST ? YAML_SEQUENCE_NODE : YAML_MAPPING_NODE)) {
            walk_error(w, node, "%s: expected %s", name, kind_name(kind));
            return;
        }
        if (kind == SK_OBJECT) {
            walk_object(w, fields, node);
        } else if (kind == SK_STRING_MAP) {
            for (size_t i = 0; i < ks_yaml_len(node); i++)
                walk_value(w, name, SK_STRING, SK_ANY, NULL, ks_yaml_map_value(w->doc, node, i));
        } else {
            for (size_t i = 0; i < ks_yaml_len(node); i++)
                walk_value(w, name, item, SK_ANY, fields, ks_yaml_seq_item(w->doc, node, i));
        }
        return;
    default:
        break;
    }
    if (s == NULL) {
        walk_error(w, node, "%s: expected %s", name, kind_name(kind));
        return;
    }
    if ((kind == SK_INT && !(ks_yaml_plain(node) && ks_yaml_is_int(s)))
        || (kind == SK_BOOL && !(ks_yaml_plain(node) && ks_yaml_is_bool(s)))
        || (kind == SK_NUMBER && !ks_yaml_is_number(s)))
        walk_error(w, node, "%s: expected %s", name, kind_name(kind));
}

size_t
ks_schema_check(const ks_schema_t *schema, const char *file, yaml_document_t *doc,
                const yaml_node_t *node, ks_diag_t *diag, ks_diag_t *warnings)
{
    schema_walk_t w = { file, doc, diag, warnings, 0 };

    if (node->type != YAML_MAPPING_NODE) {
        walk_error(&w, node, "expected a mapping, got %s%s", ks_yaml_kind(node), "");
        return w.problems;
    }
    walk_object(&w, schema->fields, node);
    return w.problems;
}

static json_t *to_json(schema_kind_t kind, schema_kind_t item, const schema_field_t *fields,
                       yaml_document_t *doc, const yaml_node_t *node);

static json_t *
object_to_json(const schema_field_t *fields, yaml_document_t *doc, const yaml_node_t *node)
{
    json_t *obj = json_object();

    for (size_t i = 0; i < ks_yaml_len(node); i++) {
        const char           *name = ks_yaml_scalar(ks_yaml_map_key(doc, node, i));
        const schema_field_t *f;

        if (name == NULL)
            continue;
        f = find_field(fields, name);
        if (f != NULL && strcmp(f->name, "*") != 0)
            name = f->name;
        json_object_set_new(obj, name, f ? to_json(f->kind, f->item, f->fields, doc, ks_yaml_map_value(doc, node, i))
                                         : to_json(SK_ANY, SK_ANY, NULL, doc, ks_yaml_map_value(doc, node, i)));
    }
    return obj;
}

static json_t *
to_json(schema_kind_t kind, schema_kind_t item, const schema_field_t *fields, yaml_document_t *doc,
        const yaml_node_t *node)
{
    const char *s = ks_yaml_scalar(node);

    if (node->type == YAML_MAPPING_NODE)
        return object_to_json(kind == SK_OBJECT ? fields : NULL, doc, node);
    if (node->type == YAML_SEQUENCE_NODE) {
        json_t *arr = json_array();

        for (size_t i = 0; i < ks_yaml_len(node); i++)
            json_array_append_new(arr, to_json(kind == SK_LIST ? item : SK_ANY, SK_ANY, fields, doc,
                                               ks_yaml_seq_item(doc, node, i)));
        return arr;
    }
    if (ks_yaml_null(node))
        return json_null();
    switch (kind) {
    case SK_STRING:
    case SK_STRING_MAP:
        return json_string(s);
    case SK_INT:
        return json_integer(strtoll(s, NULL, 10));
    case SK_BOOL:
        return json_boolean(s[0] == 't' || s[0] == 'T');
    case SK_NUMBER:
        return json_real(strtod(s, NULL));
    case SK_INT_OR_STRING:
        return ks_yaml_plain(node) && ks_yaml_is_int(s) ? json_integer(strtoll(s, NULL, 10)) : json_string(s);
    default:
        return ks_yaml_scalar_json(node);
    }
}

json_t *
ks_schema_to_json(const ks_schema_t *schema, yaml_document_t *doc, const yaml_node_t *node)
{
    return to_json(SK_OBJECT, SK_ANY, schema->fields, doc, node);
}
