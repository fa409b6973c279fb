/* json_out.h — writing JSON text without building a document (jansson's when a document exists).
 *
 * The pipeline splices texts it has already checked (events, a firing's events object) into the
 * records and lines it writes; what it adds around them are names and ids, written here. */
#ifndef KS_CORE_JSON_OUT_H
#define KS_CORE_JSON_OUT_H

#include <stdio.h>

/* s as a JSON string: quotes, backslashes and control characters escaped, every other byte as it
 * is (s is UTF-8 already: names from YAML, ids from Kafka headers and our own records). */
void ks_json_put_string(FILE *f, const char *s);

#endif
