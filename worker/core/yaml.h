/* yaml.h — YAML files as libyaml documents, with the positions loaders need for messages.
 *
 * A file is read whole into its documents (a sensor file may hold several, separated by `---`);
 * loaders then walk the node tree and report problems at the node's 1-based line and column. */
#ifndef KS_CORE_YAML_H
#define KS_CORE_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <yaml.h>

#include "core/diag.h"

typedef struct ks_yaml {
    char            *file;
    yaml_document_t *docs;
    size_t           ndocs;
} ks_yaml_t;

/* Reads every document of a file. On a read or syntax error, adds one diagnostic and returns -1. */
int ks_yaml_load(ks_yaml_t *yaml, const char *path, ks_diag_t *diag) __attribute__((warn_unused_result));
/* The same for text in memory; name stands for the file in messages. */
int ks_yaml_load_text(ks_yaml_t *yaml, const char *name, const char *text, size_t len, ks_diag_t *diag)
    __attribute__((warn_unused_result));
void ks_yaml_free(ks_yaml_t *yaml);

yaml_node_t *ks_yaml_root(ks_yaml_t *yaml, size_t doc);

static inline unsigned ks_yaml_line(const yaml_node_t *node) { return (unsigned)node->start_mark.line + 1; }
static inline unsigned ks_yaml_column(const yaml_node_t *node) { return (unsigned)node->start_mark.column + 1; }

/* "a mapping", "a list" or "a string" — for messages such as "expected a mapping, got a list". */
const char *ks_yaml_kind(const yaml_node_t *node);

/* Scalar text (NUL-terminated) or NULL when the node is not a scalar. */
const char *ks_yaml_scalar(const yaml_node_t *node);

/* True for a plain (unquoted) scalar: only those may be read as booleans, numbers or null. */
bool ks_yaml_plain(const yaml_node_t *node);

/* True for an explicit null: an empty plain scalar, `~` or `null`. */
bool ks_yaml_null(const yaml_node_t *node);

/* What plain scalars hold, as YAML 1.2's core schema reads them. */
bool ks_yaml_is_int(const char *s);
bool ks_yaml_is_number(const char *s);
bool ks_yaml_is_bool(const char *s);

/* A scalar typed as YAML types it (null, boolean, integer, number, else string), and a subtree so. */
json_t *ks_yaml_scalar_json(const yaml_node_t *node);
json_t *ks_yaml_to_json(yaml_document_t *doc, const yaml_node_t *node);

/* Mapping and sequence access; the document is needed because libyaml links nodes by index. */
size_t       ks_yaml_len(const yaml_node_t *node);
yaml_node_t *ks_yaml_map_key(yaml_document_t *doc, const yaml_node_t *map, size_t i);
yaml_node_t *ks_yaml_map_value(yaml_document_t *doc, const yaml_node_t *map, size_t i);
yaml_node_t *ks_yaml_seq_item(yaml_document_t *doc, const yaml_node_t *seq, size_t i);

/* The value of a scalar key in a mapping, or NULL. */
yaml_node_t *ks_yaml_map_get(yaml_document_t *doc, const yaml_node_t *map, const char *key);

/* The same, else the value of a key that differs only in case (how Go's encoding/json, and so
 * Kubernetes and Argo, match field names). */
yaml_node_t *ks_yaml_map_get_folded(yaml_document_t *doc, const yaml_node_t *map, const char *key);

#endif
