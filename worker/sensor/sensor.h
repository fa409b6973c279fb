/* sensor.h — the sensor model: Argo Events Sensor manifests as loaded, validated structures.
 *
 * Pure: nothing here knows about Kafka, SQLite or the event loop. The loader (load.c) builds a
 * pool of sensors from Argo `kind: Sensor` files; filters, conditions, parameters and trigger state
 * then decide, for a stream of CloudEvents, which triggers fire and with which payloads. */
#ifndef KS_SENSOR_SENSOR_H
#define KS_SENSOR_SENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/diag.h"
#include "sensor/cond.h"
#include "sensor/cron.h"
#include "sensor/expr.h"
#include "sensor/tz.h"

/* Conditions are evaluated over an on-stack array of this many flags. */
#define KS_SENSOR_MAX_DEPS 256

typedef struct ks_sensor  ks_sensor_t;
typedef struct ks_trigger ks_trigger_t;

typedef enum { KS_OP_AND, KS_OP_OR } ks_logic_t;
typedef enum { KS_CMP_EQ, KS_CMP_NE, KS_CMP_GT, KS_CMP_GE, KS_CMP_LT, KS_CMP_LE } ks_cmp_t;
typedef enum { KS_DATA_STRING, KS_DATA_NUMBER, KS_DATA_BOOL } ks_data_type_t;

/* filters.data[]: a gjson path, a type, values OR-ed, a comparator. */
typedef struct ks_data_filter {
    char            *path;
    ks_data_type_t   type;
    ks_cmp_t         cmp;
    size_t           nvalues;
    char           **values;
    void           **regexes;   /* string type: compiled PCRE2 patterns (pcre2_code *) */
    double          *numbers;   /* number type */
    bool            *bools;     /* bool type */
    struct ks_gotmpl *tmpl;     /* template: applied to the value found before it is compared */
} ks_data_filter_t;

/* filters.exprs[]: an expression over named fields, each a gjson path into the data. */
typedef struct ks_expr_filter {
    ks_expr_t  *expr;
    char      **paths;          /* paths[i] gives the value of the expression's variable i */
} ks_expr_filter_t;

typedef struct ks_filters {
    ks_logic_t         op;              /* filtersLogicalOperator */
    ks_expr_filter_t  *exprs;
    size_t             nexprs;
    ks_logic_t         expr_op;
    ks_data_filter_t  *data;
    size_t             ndata;
    ks_logic_t         data_op;
    bool               has_context;
    char              *ctx_type, *ctx_subject, *ctx_source, *ctx_datacontenttype;  /* NULL = any */
    bool               has_time;
    int32_t            time_start, time_stop;   /* seconds of the day */
    ks_tz_t           *time_tz;
    struct ks_scripts *scripts;         /* the pool's Lua state, when script is set */
    int                script;          /* filters.script (Lua): its handle in scripts, or 0 */
} ks_filters_t;

typedef struct ks_dependency {
    char         *name;
    char         *event_source;     /* matched against the CloudEvent source */
    char         *event_name;       /* matched against the CloudEvent subject */
    ks_filters_t  filters;
    struct ks_jq *transform_jq;     /* transform.jq, or NULL */
    int           transform_script; /* transform.script (Lua, in filters.scripts' state), or 0 */
    ks_sensor_t  *sensor;
    size_t        index;
} ks_dependency_t;

typedef enum { KS_PARAM_OVERWRITE, KS_PARAM_APPEND, KS_PARAM_PREPEND } ks_param_op_t;

/* A TriggerParameter: where a value comes from and where it goes. */
typedef struct ks_param {
    char          *dependency;     /* src.dependencyName */
    char          *data_key;       /* NULL when absent */
    char          *context_key;
    char          *value;          /* src.value: the default */
    struct ks_gotmpl *data_template;    /* src.dataTemplate, or NULL */
    struct ks_gotmpl *context_template; /* src.contextTemplate, or NULL */
    bool           use_raw_data;
    char          *dest;
    ks_param_op_t  op;
} ks_param_t;

typedef struct ks_params {
    ks_param_t *items;
    size_t      n;
} ks_params_t;

/* The trigger types ksensor runs (KS_ACTION_KINDS counts them). */
typedef enum {
    KS_ACTION_LOG, KS_ACTION_HTTP, KS_ACTION_KAFKA, KS_ACTION_K8S, KS_ACTION_ARGO_WORKFLOW, KS_ACTION_KINDS
} ks_action_kind_t;

/* "log", "http", "kafka", "k8s", "argoWorkflow": the key of the type in a TriggerTemplate (load.c). */
const char *ks_action_kind_name(ks_action_kind_t kind);

typedef struct ks_retry {
    int     steps;          /* total attempts; 1 = no retry */
    int64_t duration_ms;
    double  factor;
    double  jitter;
} ks_retry_t;

struct ks_trigger {
    char             *name;
    ks_sensor_t      *sensor;
    size_t            index;
    ks_cond_t        *cond;
    ks_cron_t       **resets;       /* conditionsReset[].byTime */
    size_t            nresets;
    ks_action_kind_t  kind;
    json_t           *tmpl;         /* the TriggerTemplate as JSON (the executors read it) */
    ks_params_t       tmpl_params;  /* trigger-level parameters, applied to tmpl */
    ks_params_t       payload;      /* http/kafka payload[] */
    ks_params_t       kind_params;  /* http/kafka parameters[], applied to tmpl.<kind> */
    ks_params_t       dyn_headers;  /* http dynamicHeaders[]: dest is the header's name */
    ks_params_t       resource_params; /* k8s/argoWorkflow parameters[]: applied to the object */
    bool              at_least_once;
    ks_retry_t        retry;
    int64_t           rate_unit_ms; /* 0: no rate limit */
    int               rate_requests;
    int              *status_allow; /* policy.status.allow */
    size_t            nstatus_allow;
    ks_trigger_t     *dlq;          /* dlqTrigger, or NULL */
    json_t           *k8s_labels;   /* policy.k8s.labels (an object), or NULL */
    ks_retry_t        k8s_backoff;  /* policy.k8s.backoff */
    bool              k8s_error_on_timeout;
};

struct ks_sensor {
    char            *name;
    char            *ns;            /* metadata.namespace, else "default": k8s objects go there */
    char            *file;
    size_t           index;         /* position in its pool */
    ks_dependency_t *deps;
    size_t           ndeps;
    ks_trigger_t    *triggers;
    size_t           ntriggers;
};

/* Every sensor a worker hosts, and the (source, subject) index over their dependencies. */
typedef struct ks_pool {
    ks_sensor_t         **sensors;
    size_t                nsensors;
    struct ks_match      *match;
    struct ks_scripts    *scripts;      /* the Lua state of every script of the pool, or NULL */
    ks_diag_t             warnings;     /* what loading accepted but a person should know */
} ks_pool_t;

#endif
