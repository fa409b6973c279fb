/* firing.c — firing records and their preparation for an action (see firing.h). */
#include "sensor/firing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_out.h"
#include "core/json_scan.h"
#include "core/mem.h"

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
    ks_json_put_string(f, id);
    fputs(",\"sensor\":", f);
    ks_json_put_string(f, trig->sensor->name);
    fputs(",\"trigger\":", f);
    ks_json_put_string(f, trig->name);
    fputs(",\"events\":{", f);
    if (fi != NULL)
        putc('{', fi);
    for (size_t i = 0; i < n; i++) {
        size_t      nm = 0;
        int                     scanned = fi == NULL ? 0 : ks_json_scan_object(events[i], lens[i], m, sizeof(m) / sizeof(m[0]), &nm);
        const ks_json_member_t *eid = scanned == 0 ? ks_json_member(m, nm, "id") : NULL;

        if (i > 0)
            putc(',', f);
        ks_json_put_string(f, deps[i]);
        putc(':', f);
        /* carried as they are: the event stage's own encoding unchecked, events that came through
         * Kafka (with ids) checked, anything but a JSON object travelling as null */
        if (scanned == 0)
            fwrite(events[i], 1, lens[i], f);
        else
            fputs("null", f);
        if (fi != NULL) {
            if (i > 0)
                putc(',', fi);
            ks_json_put_string(fi, deps[i]);
            putc(':', fi);
            if (eid != NULL)
                fwrite(eid->value, 1, eid->value_len, fi);
            else
                fputs("null", fi);
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

/* A JSON string token as a C string (malloc'd), NULL when it is not one. */
static char *
string_of(const char *token, size_t len)
{
    json_t *j = json_loadb(token, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    char   *s = json_is_string(j) ? ks_strdup(json_string_value(j)) : NULL;

    json_decref(j);
    return s;
}

/* One dependency's event in a firing record: its key token and its id token ("null" if none). */
typedef struct {
    const char *key, *id;
    size_t      key_len, id_len;
} event_id_t;

static int
by_key(const void *a, const void *b)
{
    const event_id_t *x = a, *y = b;
    int               c = memcmp(x->key, y->key, x->key_len < y->key_len ? x->key_len : y->key_len);

    return c != 0 ? c : (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

int
ks_firing_read(ks_firing_record_t *r, const char *text, size_t len, const char *completing)
{
    ks_json_member_t        m[64], e[64];
    const ks_json_member_t *id, *events, *done;
    event_id_t              ids[KS_SENSOR_MAX_DEPS];
    size_t                  nm = 0, ne = 0, nids = 0, ids_len = 0;
    FILE                   *f;

    memset(r, 0, sizeof(*r));
    if (ks_json_scan_object(text, len, m, sizeof(m) / sizeof(m[0]), &nm) != 0)
        return -1;
    id = ks_json_member(m, nm, "id");
    events = ks_json_member(m, nm, "events");
    if (id == NULL || id->kind != '"' || events == NULL || events->kind != '{'
        || (r->id = string_of(id->value, id->value_len)) == NULL)
        return -1;
    r->events = events->value;
    r->events_len = events->value_len;
    if (ks_json_scan_object(r->events, r->events_len, e, sizeof(e) / sizeof(e[0]), &ne) != 0)
        return -1;
    done = completing != NULL ? ks_json_member(e, ne, completing) : NULL;
    for (size_t i = 0; i < ne && nids < KS_SENSOR_MAX_DEPS; i++) {
        ks_json_member_t        ev[64];
        const ks_json_member_t *eid = NULL;
        size_t                  nev = 0;

        if (e[i].kind == '{' && ks_json_scan_object(e[i].value, e[i].value_len, ev, sizeof(ev) / sizeof(ev[0]), &nev) == 0)
            eid = ks_json_member(ev, nev, "id");
        ids[nids] = eid != NULL ? (event_id_t){ e[i].key, eid->value, e[i].key_len, eid->value_len }
                                : (event_id_t){ e[i].key, "null", e[i].key_len, 4 };
        if (&e[i] == done && eid != NULL)
            r->completing = string_of(eid->value, eid->value_len);
        nids++;
    }
    qsort(ids, nids, sizeof(ids[0]), by_key);
    if ((f = open_memstream(&r->event_ids, &ids_len)) == NULL)
        abort();                /* only when memory is exhausted: as ks_malloc */
    putc('{', f);
    for (size_t i = 0; i < nids; i++)
        fprintf(f, "%s%.*s:%.*s", i ? "," : "", (int)ids[i].key_len, ids[i].key, (int)ids[i].id_len, ids[i].id);
    putc('}', f);
    if (fclose(f) != 0)
        abort();
    return 0;
}

void
ks_firing_record_free(ks_firing_record_t *r)
{
    free(r->id);
    free(r->event_ids);
    free(r->completing);
    memset(r, 0, sizeof(*r));
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
