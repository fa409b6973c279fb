/* firing.c — firing records and their preparation for an action (see firing.h). */
#include "sensor/firing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_scan.h"

/* s as a JSON string: quotes, backslashes and control characters escaped, other bytes as they are
 * (names and ids are UTF-8 already: YAML, Kafka headers and our own formats). */
static void
put_string(FILE *f, const char *s)
{
    putc('"', f);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            putc(c, f);
    }
    putc('"', f);
}

char *
ks_firing_encode(const char *id, const ks_trigger_t *trig, const char *const *deps, const char *const *events,
                 const size_t *lens, size_t n, size_t *len, char **ids)
{
    char            *text = NULL, *ids_text = NULL;
    size_t           ids_len = 0;
    FILE            *f = open_memstream(&text, len), *fi = ids ? open_memstream(&ids_text, &ids_len) : NULL;
    ks_json_member_t m[64];

    if (f == NULL || (ids != NULL && fi == NULL))
        abort();                /* only when memory is exhausted: as ks_malloc */
    fputs("{\"id\":", f);
    put_string(f, id);
    fputs(",\"sensor\":", f);
    put_string(f, trig->sensor->name);
    fputs(",\"trigger\":", f);
    put_string(f, trig->name);
    fputs(",\"events\":{", f);
    if (fi != NULL)
        putc('{', fi);
    for (size_t i = 0; i < n; i++) {
        size_t      nm = 0;
        int         scanned = ks_json_scan_object(events[i], lens[i], m, sizeof(m) / sizeof(m[0]), &nm);
        const char *eid = "null";
        size_t      eid_len = 4;

        if (i > 0)
            putc(',', f);
        put_string(f, deps[i]);
        putc(':', f);
        /* the events are JSON objects already (the event stage wrote them): carried as they are,
         * only checked; anything else travels as null */
        if (scanned == 0)
            fwrite(events[i], 1, lens[i], f);
        else
            fputs("null", f);
        for (size_t k = 0; k < nm && scanned == 0; k++) {
            if (m[k].key_len == 4 && memcmp(m[k].key, "\"id\"", 4) == 0) {
                eid = m[k].value;
                eid_len = m[k].value_len;
            }
        }
        if (fi != NULL) {
            if (i > 0)
                putc(',', fi);
            put_string(fi, deps[i]);
            putc(':', fi);
            fwrite(eid, 1, eid_len, fi);
        }
    }
    fputs("}}", f);
    if (fi != NULL) {
        putc('}', fi);
        if (fclose(fi) != 0)
            abort();
        *ids = ids_text;
    }
    if (fclose(f) != 0)
        abort();
    return text;
}

int
ks_firing_prepare(const ks_trigger_t *trig, const json_t *events, const char *kind, ks_prepared_t *p, char *err,
                  size_t errlen)
{
    const char *dep;
    json_t     *ev, *obj;
    char       *text;
    int         rc;

    memset(p, 0, sizeof(*p));
    p->tmpl = json_deep_copy(trig->tmpl);
    json_object_foreach((json_t *)events, dep, ev) {
        if (p->n == KS_SENSOR_MAX_DEPS)
            break;
        text = json_dumps(ev, JSON_COMPACT);
        if (text != NULL && ks_event_decode(&p->decoded[p->n], text, strlen(text), err, errlen) == 0) {
            p->held[p->n] = (ks_held_event_t){ dep, &p->decoded[p->n] };
            p->n++;
        }
        free(text);
    }
    if (ks_params_apply(&trig->tmpl_params, p->held, p->n, &p->tmpl, err, errlen) != 0)
        return -1;
    obj = json_incref(json_object_get(p->tmpl, kind));
    rc = ks_params_apply(&trig->kind_params, p->held, p->n, &obj, err, errlen);
    json_object_set_new(p->tmpl, kind, obj);
    p->kind = obj;
    if (rc != 0)
        return -1;
    return ks_payload_build(&trig->payload, p->held, p->n, &p->body, &p->len, err, errlen);
}

void
ks_prepared_free(ks_prepared_t *p)
{
    for (size_t i = 0; i < p->n; i++)
        ks_event_free(&p->decoded[i]);
    free(p->body);
    json_decref(p->tmpl);
}
