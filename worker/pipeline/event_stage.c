/* event_stage.c — the event stage: a CloudEvent from the event topic is matched to the dependencies of
 * every hosted sensor and filtered; each trigger that uses a passing dependency gets the event on the
 * trigger topic (key <sensor>/<trigger>, header dependencyName), or — when its condition has no
 * `&&` — a firing straight on the action topic. Undecodable records are bad records: counted,
 * logged, optionally dead-lettered, and skipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "sensor/filter.h"
#include "sensor/match.h"
#include "pipeline/worker.h"

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

static int
event_decode(const rd_kafka_message_t *msg, ks_event_t *ev, char *err, size_t errlen)
{
    rd_kafka_headers_t *hdrs = NULL;
    ks_event_header_t   h[32];
    size_t              n = 0;
    const char         *name;
    const void         *value;
    size_t              size;

    if (rd_kafka_message_headers(msg, &hdrs) == 0) {
        for (size_t i = 0; n < 32 && rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == 0; i++)
            h[n++] = (ks_event_header_t){ name, value, size };
    }
    if (ks_event_is_binary(h, n))
        return ks_event_decode_binary(ev, h, n, msg->payload, msg->len, err, errlen);
    return ks_event_decode(ev, msg->payload, msg->len, err, errlen);
}

int
ks_event_stage(ks_worker_t *w, const rd_kafka_message_t *msg)
{
    ks_event_t              ev;
    ks_dependency_t *const *deps;
    size_t                  ndeps, elen = 0;
    char                    err[512], *encoded = NULL;
    json_t                 *data = NULL;
    bool                    data_parsed = false;
    int                     rc = 0;

    w->stats.events_in++;
    if (event_decode(msg, &ev, err, sizeof(err)) != 0)
        return ks_worker_bad_record(w, msg, err);
    deps = ks_match_find(w->pool->match, ev.source, ev.subject, &ndeps);
    for (size_t d = 0; d < ndeps && rc == 0; d++) {
        const ks_dependency_t *dep = deps[d];
        const ks_filters_t    *f = &dep->filters;
        int                    pass = 1;

        if (ks_filters_any(f)) {
            if ((f->nexprs || f->ndata) && !data_parsed) {
                data = ks_event_data_json(&ev);
                data_parsed = true;
            }
            pass = ks_filters_eval(f, &ev, data, err, sizeof(err));
            if (pass < 0)
                rc = ks_worker_bad_record(w, msg, err);
        }
        if (pass == 0)
            w->stats.events_filtered++;
        if (pass != 1)
            continue;
        if (encoded == NULL) {
            encoded = ks_event_encode(&ev, &elen);
            if (elen > KS_MAX_RECORD) {
                snprintf(err, sizeof(err), "the event is too large to forward (%zu bytes, limit %d)", elen,
                         KS_MAX_RECORD);
                rc = ks_worker_bad_record(w, msg, err);
                break;
            }
        }
        for (size_t t = 0; t < dep->sensor->ntriggers && rc == 0; t++) {
            const ks_trigger_t *trig = &dep->sensor->triggers[t];
            char               *key;

            if (!ks_cond_uses(trig->cond, dep->index))
                continue;
            key = ks_asprintf("%s/%s", dep->sensor->name, trig->name);
            if (ks_cond_has_and(trig->cond)) {
                rc = ks_worker_produce(w, ks_worker_set(w, dep->sensor)->trigger, -1, key, encoded, elen,
                                       ks_worker_headers(dep->name, NULL), NULL);
                w->stats.events_out++;
            } else {
                /* fires on its own: the firing id names the event record and the dependency */
                char       *id = ks_asprintf("%s/%s@%s/%d/%lld/%s", dep->sensor->name, trig->name,
                                             rd_kafka_topic_name(msg->rkt), (int)msg->partition,
                                             (long long)msg->offset, dep->name);
                const char *dname = dep->name, *etext = encoded;
                size_t      flen;
                char       *firing = ks_firing_encode(id, trig, &dname, &etext, &elen, 1, &flen);

                rc = ks_worker_produce(w, ks_worker_set(w, dep->sensor)->action, -1, key, firing, flen,
                                       ks_worker_headers(dep->name, id), NULL);
                w->stats.events_out++;
                w->stats.firings++;
                free(firing);
                free(id);
            }
            free(key);
        }
    }
    json_decref(data);
    free(encoded);
    ks_event_free(&ev);
    return rc;
}
