/* yaml.c — whole-file YAML loading over libyaml's document API (see yaml.h). */
#include "core/yaml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

int
ks_yaml_load(ks_yaml_t *yaml, const char *path, ks_diag_t *diag)
{
    yaml_parser_t parser;
    FILE         *fp;
    int           rc = 0;

    *yaml = (ks_yaml_t){ .file = ks_strdup(path) };

    fp = fopen(path, "rb");
    if (fp == NULL) {
        ks_diag_at(diag, path, 0, 0, "cannot open: %s", strerror(errno));
        return -1;
    }
    if (!yaml_parser_initialize(&parser))
        abort();
    yaml_parser_set_input_file(&parser, fp);

    for (;;) {
        yaml_document_t doc;

        if (!yaml_parser_load(&parser, &doc)) {
            ks_diag_at(diag, path, (unsigned)parser.problem_mark.line + 1,
                       (unsigned)parser.problem_mark.column + 1, "not valid YAML: %s%s%s",
                       parser.problem ? parser.problem : "syntax error",
                       parser.context ? " " : "", parser.context ? parser.context : "");
            rc = -1;
            break;
        }
        if (yaml_document_get_root_node(&doc) == NULL) {   /* end of stream */
            yaml_document_delete(&doc);
            break;
        }
        yaml->docs = ks_realloc(yaml->docs, (yaml->ndocs + 1) * sizeof(*yaml->docs));
        yaml->docs[yaml->ndocs++] = doc;
    }

    if (rc == 0 && ferror(fp)) {
        ks_diag_at(diag, path, 0, 0, "read error: %s", strerror(errno));
        rc = -1;
    }
    yaml_parser_delete(&parser);
    fclose(fp);
    return rc;
}

void
ks_yaml_free(ks_yaml_t *yaml)
{
    for (size_t i = 0; i < yaml->ndocs; i++)
        yaml_document_delete(&yaml->docs[i]);
    free(yaml->docs);
    free(yaml->file);
    *yaml = (ks_yaml_t){0};
}

yaml_node_t *
ks_yaml_root(ks_yaml_t *yaml, size_t doc)
{
    return doc < yaml->ndocs ? yaml_document_get_root_node(&yaml->docs[doc]) : NULL;
}

const char *
ks_yaml_kind(const yaml_node_t *node)
{
    switch (node->type) {
    case YAML_MAPPING_NODE:  return "a mapping";
    case YAML_SEQUENCE_NODE: return "a list";
    default:                 return ks_yaml_null(node) ? "nothing" : "a string";
    }
}

const char *
ks_yaml_scalar(const yaml_node_t *node)
{
    return node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

bool
ks_yaml_plain(const yaml_node_t *node)
{
    return node->type == YAML_SCALAR_NODE && node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

bool
ks_yaml_null(const yaml_node_t *node)
{
    const char *s = ks_yaml_scalar(node);

    return s != NULL && ks_yaml_plain(node)
        && (s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0
            || strcmp(s, "NULL") == 0);
}

size_t
ks_yaml_len(const yaml_node_t *node)
{
    switch (node->type) {
    case YAML_MAPPING_NODE:
        return (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
    case YAML_SEQUENCE_NODE:
        return (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    default:
        return 0;
    }
}

yaml_node_t *
ks_yaml_map_key(yaml_document_t *doc, const yaml_node_t *map, size_t i)
{
    return yaml_document_get_node(doc, map->data.mapping.pairs.start[i].key);
}

yaml_node_t *
ks_yaml_map_value(yaml_document_t *doc, const yaml_node_t *map, size_t i)
{
    return yaml_document_get_node(doc, map->data.mapping.pairs.start[i].value);
}

yaml_node_t *
ks_yaml_seq_item(yaml_document_t *doc, const yaml_node_t *seq, size_t i)
{
    return yaml_document_get_node(doc, seq->data.sequence.items.start[i]);
}

yaml_node_t *
ks_yaml_map_get(yaml_document_t *doc, const yaml_node_t *map, const char *key)
{
    if (map->type != YAML_MAPPING_NODE)
        return NULL;
    for (size_t i = 0; i < ks_yaml_len(map); i++) {
        const char *k = ks_yaml_scalar(ks_yaml_map_key(doc, map, i));

        if (k != NULL && strcmp(k, key) == 0)
            return ks_yaml_map_value(doc, map, i);
    }
    return NULL;
}
