/* schema.h — the shape of an Argo Sensor manifest, as a table, checked against YAML.
 *
 * The table lists every field of Argo's Sensor types (apiVersion argoproj.io/v1alpha1) with its type.
 * Checking a document reports, at file:line:column, unknown keys, values of the wrong type, and
 * fields ksensor refuses (trigger types it does not run, features not supported yet). The same table
 * turns a YAML subtree into JSON with the right types, for the parts kept as JSON (trigger templates). */
#ifndef KS_SENSOR_SCHEMA_H
#define KS_SENSOR_SCHEMA_H

#include <jansson.h>
#include <yaml.h>

#include "core/diag.h"

typedef struct ks_schema ks_schema_t;

/* The schema of a whole Sensor document, and of one TriggerTemplate. */
extern const ks_schema_t ks_schema_sensor;
extern const ks_schema_t ks_schema_trigger_template;

/* Checks node against schema; every problem goes to diag, and fields Argo users commonly put in the
 * wrong place (ignored, as Argo ignores them) to warnings. Returns the number of problems. */
size_t ks_schema_check(const ks_schema_t *schema, const char *file, yaml_document_t *doc,
                       const yaml_node_t *node, ks_diag_t *diag, ks_diag_t *warnings);

/* Converts a checked subtree to JSON typed by the schema (integers, booleans, numbers, strings). */
json_t *ks_schema_to_json(const ks_schema_t *schema, yaml_document_t *doc, const yaml_node_t *node);

#endif
