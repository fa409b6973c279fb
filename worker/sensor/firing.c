/* firing.c — firing records and their preparation for an action (see firing.h). */
#include "sensor/firing.h"

#include <stdlib.h>
#include <string.h>

char *
ks_firing_encode(const char *id, const ks_trigger_t *trig, const char *const *deps, const char *const *events,
                 const size_t *lens, size_t n, size_t *len)
{
    json_t *firing = json_object(), *by_dep = json_object();
    char   *text;

    json_object_set_new(firing, "id", json_string(id));
    json_object_set_new(firing, "sensor", json_string(trig->sensor->name));
    json_object_set_new(firing, "trigger", json_string(trig->name));
    for (size_t i = 0; i < n; i++) {
        json_t *ev = json_loadb(events[i], lens[i], 0, NULL);

        json_object_set_new(by_dep, deps[i], ev ? ev : json_null());
    }
    json_object_set_new(firing, "events", by_dep);
    text = json_dumps(firing, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(firing);
    *len = text ? strlen(text) : 0;
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
