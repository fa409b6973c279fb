/* yaml.c — whole-file YAML loading over libyaml's document API (see yaml.h). */
#include "core/yaml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"

/* Every document the parser gives, into yaml. */
static int
load_docs(ks_yaml_t *yaml, yaml_parser_t *parser, ks_diag_t *diag)
{
    for (;;) {
        yaml_document_t doc;

        if (!yaml_parser_load(parser, &doc)) {
            ks_diag_at(diag, yaml->file, (unsigned)parser->problem_mark.line + 1,
                       (unsigned)parser->problem_mark.column + 1, "not valid YAML: %s%s%s",
                       parser->problem ? parser->problem : "syntax error",
                       parser->context ? " " : "", parser->context ? parser->context : "");
            return -1;
        }
        if (yaml_document_get_root_node(&doc) == NULL) {   /* end of stream */
            yaml_document_delete(&doc);
            return 0;
        }
        yaml->docs = ks_realloc(yaml->docs, (yaml->ndocs + 1) * sizeof(*yaml->docs));
        yaml->docs[yaml->ndocs++] = doc;
    }
}

int
ks_yaml_load(ks_yaml_t *yaml, const char *path, ks_diag_t *diag)
{
    yaml_parser_t parser;
    FILE         *fp;
    int           rc;

    *yaml = (ks_yaml_t){ .file = ks_strdup(path) };

    fp = fopen(path, "rb");
    if (fp == NULL) {
        ks_diag_at(diag, path, 0, 0, "cannot open: %s", strerror(errno));
        return -1;
    }
    if (!yaml_parser_initialize(&parser))
        abort();
    yaml_parser_set_input_file(&parser, fp);
    rc = load_docs(yaml, &parser, diag);
    if (rc == 0 && ferror(fp)) {
        ks_diag_at(diag, path, 0, 0, "read error: %s", strerror(errno));
        rc = -1;
    }
    yaml_parser_delete(&parser);
    fclose(fp);
    return rc;
}

int
ks_yaml_load_text(ks_yaml_t *yaml, const char *name, const char *text, size_t len, ks_diag_t *diag)
{
    yaml_parser_t parser;
    int           rc;

    *yaml = (ks_yaml_t){ .file = ks_strdup(name) };
    if (!yaml_parser_initialize(&parser))
        abort();
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    rc = load_docs(yaml, &parser, diag);
    yaml_parser_delete(&parser);
    return rc;
}

bool
ks_yaml_is_int(const char *s)
{
    char *end;

    if (*s == '\0')
        return false;
    errno = 0;
    (void)strtoll(s, &end, 10);
    return errno == 0 && *end == '\0';
}

bool
ks_yaml_is_number(const char *s)
{
    char *end;

    if (*s == '\0')
        return false;
    errno = 0;
    (void)strtod(s, &end);
    return errno == 0 && *end == '\0';
}

bool
ks_yaml_is_bool(const char *s)
{
    return strcmp(s, "true") == 0 || strcmp(s, "false") == 0 || strcmp(s, "True") == 0
        || strcmp(s, "False") == 0 || strcmp(s, "TRUE") == 0 || strcmp(s, "FALSE") == 0;
}

json_t *
ks_yaml_scalar_json(const yaml_node_t *node)
{
    const char *s = ks_yaml_scalar(node);

    if (ks_yaml_null(node))
        return json_null();
    if (ks_yaml_plain(node)) {
        if (ks_yaml_is_bool(s))
            return json_boolean(s[0] == 't' || s[0] == 'T');
        if (ks_yaml_is_int(s))
            return json_integer(strtoll(s, NULL, 10));
        if (ks_yaml_is_number(s) && strpbrk(s, "0123456789") != NULL && strspn(s, "+-.0123456789eE") == strlen(s))
            return json_real(strtod(s, NULL));
    }
    return json_string(s != NULL ? s : "");
}

json_t *
ks_yaml_to_json(yaml_document_t *doc, const yaml_node_t *node)
{
    json_t *out;

    if (node == NULL)
        return json_null();
    if (node->type == YAML_MAPPING_NODE) {
        out = json_object();
        for (size_t i = 0; i < ks_yaml_len(node); i++) {
            const char *key = ks_yaml_scalar(ks_yaml_map_key(doc, node, i));

            if (key != NULL)
                json_object_set_new(out, key, ks_yaml_to_json(doc, ks_yaml_map_value(doc, node, i)));
        }
        return out;
    }
    if (node->type == YAML_SEQUENCE_NODE) {
        out = json_array();
        for (size_t i = 0; i < ks_yaml_len(node); i++)
            json_array_append_new(out, ks_yaml_to_json(doc, ks_yaml_seq_item(doc, node, i)));
        return out;
    }
    return ks_yaml_scalar_json(node);
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

yaml_node_t *
ks_yaml_map_get_folded(yaml_document_t *doc, const yaml_node_t *map, const char *key)
{
    yaml_node_t *v = ks_yaml_map_get(doc, map, key);

    for (size_t i = 0; v == NULL && map->type == YAML_MAPPING_NODE && i < ks_yaml_len(map); i++) {
        const char *k = ks_yaml_scalar(ks_yaml_map_key(doc, map, i));

        if (k != NULL && strcasecmp(k, key) == 0)
            v = ks_yaml_map_value(doc, map, i);
    }
    return v;
}
