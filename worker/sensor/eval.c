/* eval.c — in-memory evaluation of a sensor pool over CloudEvents (see eval.h). */
#include "sensor/eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/mem.h"
#include "sensor/event.h"
#include "sensor/filter.h"
#include "sensor/match.h"
#include "sensor/param.h"
#include "sensor/state.h"

/* An event shared by every trigger state that holds it. */
typedef struct shared_event {
    ks_event_t ev;
    int        refs;
} shared_event_t;

struct ks_eval {
    const ks_pool_t *pool;
    ks_eval_ops_t    ops;
    ks_state_t     **states;     /* [sensor][trigger] */
    size_t           firings;
};

static void
shared_release(void *item)
{
    shared_event_t *se = item;

    if (--se->refs == 0) {
        ks_event_free(&se->ev);
        free(se);
    }
}

ks_eval_t *
ks_eval_new(const ks_pool_t *pool, const ks_eval_ops_t *ops)
{
    ks_eval_t *eval = ks_calloc(1, sizeof(*eval));

    eval->pool = pool;
    eval->ops = *ops;
    eval->states = ks_calloc(pool->nsensors, sizeof(*eval->states));
    for (size_t s = 0; s < pool->nsensors; s++) {
        ks_sensor_t *sensor = pool->sensors[s];

        eval->states[s] = ks_calloc(sensor->ntriggers, sizeof(**eval->states));
        for (size_t t = 0; t < sensor->ntriggers; t++)
            ks_state_init(&eval->states[s][t], &sensor->triggers[t], shared_release);
    }
    return eval;
}

void
ks_eval_free(ks_eval_t *eval)
{
    if (eval == NULL)
        return;
    for (size_t s = 0; s < eval->pool->nsensors; s++) {
        for (size_t t = 0; t < eval->pool->sensors[s]->ntriggers; t++)
            ks_state_free(&eval->states[s][t]);
        free(eval->states[s]);
    }
    free(eval->states);
    free(eval);
}

/* The JSON a payload body stands for: parsed when it is JSON, else a string. */
static json_t *
body_json(const char *body, size_t len)
{
    json_t *v;

    if (len == 0)
        return json_null();
    v = json_loadb(body, len, JSON_DECODE_ANY, NULL);
    return v ? v : json_stringn(body, len);
}

/* Emits one firing: its events by dependency and what its action would send. */
static void
eval_fire(ks_eval_t *eval, const ks_trigger_t *trig, shared_event_t *const *held)
{
    const ks_sensor_t *sensor = trig->sensor;
    ks_held_event_t    events[KS_SENSOR_MAX_DEPS];
    size_t             n = 0;
    json_t            *firing, *by_dep;
    char               err[512], *body = NULL;
    size_t             len = 0;

    eval->firings++;
    if (eval->ops.firing == NULL)
        return;
    firing = json_object();
    by_dep = json_object();
    for (size_t d = 0; d < sensor->ndeps; d++) {
        size_t  elen;
        char   *text;

        if (held[d] == NULL)
            continue;
        events[n++] = (ks_held_event_t){ sensor->deps[d].name, &held[d]->ev };
        text = ks_event_encode(&held[d]->ev, &elen);
        json_object_set_new(by_dep, sensor->deps[d].name, json_loadb(text, elen, 0, NULL));
        free(text);
    }
    json_object_set_new(firing, "sensor", json_string(sensor->name));
    json_object_set_new(firing, "trigger", json_string(trig->name));
    json_object_set_new(firing, "events", by_dep);

    if (trig->tmpl_params.n > 0 || trig->kind_params.n > 0) {
        json_t     *tmpl = json_deep_copy(trig->tmpl);
        const char *kind = trig->kind == KS_ACTION_HTTP ? "http" : "kafka";
        json_t     *sub;

        if (ks_params_apply(&trig->tmpl_params, events, n, &tmpl, err, sizeof(err)) != 0)
            json_object_set_new(firing, "error", json_string(err));
        sub = json_incref(json_object_get(tmpl, kind));
        if (sub != NULL && ks_params_apply(&trig->kind_params, events, n, &sub, err, sizeof(err)) != 0)
            json_object_set_new(firing, "error", json_string(err));
        if (sub != NULL)
            json_object_set_new(tmpl, kind, sub);
        json_object_set_new(firing, "template", tmpl);
    }
    if (trig->kind == KS_ACTION_LOG) {
        json_object_set_new(firing, "payload", json_null());
    } else if (ks_payload_build(&trig->payload, events, n, &body, &len, err, sizeof(err)) == 0) {
        json_object_set_new(firing, "payload", body_json(body, len));
    } else {
        json_object_set_new(firing, "payload", json_null());
        json_object_set_new(firing, "error", json_string(err));
    }
    free(body);
    eval->ops.firing(firing, eval->ops.ctx);
    json_decref(firing);
}

static void
eval_dependency(ks_eval_t *eval, ks_dependency_t *dep, shared_event_t *se, ks_event_data_t *data)
{
    const ks_sensor_t *sensor = dep->sensor;
    size_t             s = sensor->index;
    char               err[512];
    int64_t            now = se->ev.time_sec != INT64_MIN ? se->ev.time_sec : (int64_t)time(NULL);
    shared_event_t     scratch, *own = NULL;
    bool               transformed;
    int                rc = ks_dependency_accept(dep, data, &scratch.ev, &transformed, err, sizeof(err));

    if (rc < 0 && eval->ops.dropped != NULL)
        eval->ops.dropped(sensor->name, dep->name, err, eval->ops.ctx);
    if (rc != 1)
        return;
    if (transformed) {      /* this dependency's own event, the transform's */
        own = ks_calloc(1, sizeof(*own));
        own->ev = scratch.ev;
        own->refs = 1;
        se = own;
    }

    for (size_t t = 0; t < sensor->ntriggers; t++) {
        const ks_trigger_t *trig = &sensor->triggers[t];
        shared_event_t     *held[KS_SENSOR_MAX_DEPS] = {0};

        if (!ks_cond_uses(trig->cond, dep->index))
            continue;
        if (!ks_cond_has_and(trig->cond)) {
            held[dep->index] = se;     /* fires on its own, holds nothing */
            eval_fire(eval, trig, held);
            continue;
        }
        se->refs++;
        if (ks_state_apply(&eval->states[s][t], dep->index, se, now, (void **)held)) {
            eval_fire(eval, trig, held);
            for (size_t d = 0; d < sensor->ndeps; d++) {
                if (held[d] != NULL)
                    shared_release(held[d]);
            }
        }
    }
    if (own != NULL)
        shared_release(own);
}

size_t
ks_eval_firings(const ks_eval_t *eval)
{
    return eval->firings;
}

int
ks_eval_event(ks_eval_t *eval, const void *buf, size_t len, char *err, size_t errlen)
{
    shared_event_t          *se = ks_calloc(1, sizeof(*se));
    ks_dependency_t *const  *deps;
    ks_event_data_t          data = { &se->ev, NULL, false };
    size_t                   n;

    if (ks_event_decode(&se->ev, buf, len, err, errlen) != 0) {
        ks_event_free(&se->ev);
        free(se);
        return -1;
    }
    se->refs = 1;
    deps = ks_match_find(eval->pool->match, se->ev.source, se->ev.subject, &n);
    for (size_t i = 0; i < n; i++)
        eval_dependency(eval, deps[i], se, &data);
    ks_event_data_clear(&data);
    shared_release(se);
    return 0;
}
