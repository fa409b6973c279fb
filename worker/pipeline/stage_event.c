/* stage_event.c — the event stage (see stage_event.h). */
#include "pipeline/stage_event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "sensor/filter.h"
#include "sensor/firing.h"
#include "sensor/match.h"

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
ks_stage_event(const ks_stage_env_t *env, const rd_kafka_message_t *msg)
{
    ks_event_t              ev;
    ks_dependency_t *const *deps;
    size_t                  ndeps, elen = 0, shared_len = 0;
    char                    err[512], *shared = NULL;   /* ev's encoding, for the dependencies that take it as it is */
    ks_event_data_t         data = { &ev, NULL, false };
    int                     rc = 0;

    env->stats->events_in++;
    if (event_decode(msg, &ev, err, sizeof(err)) != 0)
        return ks_batch_bad_record(env->batch, msg, err);
    deps = ks_match_find(env->topics->pool->match, ev.source, ev.subject, &ndeps);
    for (size_t d = 0; d < ndeps && rc == 0; d++) {
        const ks_dependency_t *dep = deps[d];
        ks_event_t             transformed;
        bool                   own = false;
        char                  *encoded, why[480];
        int                    pass = ks_dependency_accept(dep, &data, &transformed, &own, why, sizeof(why));

        if (pass < 0) {
            snprintf(err, sizeof(err), "sensor %s, dependency %s: %s", dep->sensor->name, dep->name, why);
            rc = ks_batch_bad_record(env->batch, msg, err);
        }
        if (pass == 0)
            env->stats->events_filtered++;
        if (pass != 1)
            continue;
        if (own) {          /* this dependency's own record: the transform's event */
            encoded = ks_event_encode(&transformed, &elen);
            ks_event_free(&transformed);
        } else {
            if (shared == NULL)
                shared = ks_event_encode(&ev, &shared_len);
            encoded = shared;
            elen = shared_len;
        }
        if (elen > KS_MAX_RECORD) {
            snprintf(err, sizeof(err), "the event is too large to forward (%zu bytes, limit %d)", elen, KS_MAX_RECORD);
            rc = ks_batch_bad_record(env->batch, msg, err);
            if (own)
                free(encoded);
            break;
        }
        for (size_t t = 0; t < dep->sensor->ntriggers && rc == 0; t++) {
            const ks_trigger_t *trig = &dep->sensor->triggers[t];
            char               *key;

            if (!ks_cond_uses(trig->cond, dep->index))
                continue;
            key = ks_asprintf("%s/%s", dep->sensor->name, trig->name);
            if (ks_cond_has_and(trig->cond)) {
                rd_kafka_headers_t *hdrs = ks_batch_headers(dep->name, NULL);
                char                source[300];

                /* where the event came from: the trigger task takes each event once (stage_trigger.h) */
                snprintf(source, sizeof(source), "%s/%d/%lld", rd_kafka_topic_name(msg->rkt), (int)msg->partition,
                         (long long)msg->offset);
                rd_kafka_header_add(hdrs, KS_SOURCE_HEADER, -1, source, -1);
                rc = ks_batch_produce(env->batch, ks_topics_set_of(env->topics, dep->sensor)->trigger, -1, key, encoded, elen,
                                       hdrs, NULL);
                env->stats->events_out++;
            } else {
                /* fires on its own: the firing id names the event record and the dependency */
                char       *id = ks_asprintf("%s/%s@%s/%d/%lld/%s", dep->sensor->name, trig->name,
                                             rd_kafka_topic_name(msg->rkt), (int)msg->partition,
                                             (long long)msg->offset, dep->name);
                const char *dname = dep->name, *etext = encoded;
                size_t      flen;
                char       *firing = ks_firing_encode(id, trig, &dname, &etext, &elen, 1, &flen, NULL);

                rc = ks_batch_produce(env->batch, ks_topics_set_of(env->topics, dep->sensor)->action, -1, key, firing, flen,
                                       ks_batch_headers(dep->name, id), NULL);
                env->stats->events_out++;
                env->stats->firings++;
                free(firing);
                free(id);
            }
            free(key);
        }
        if (own)
            free(encoded);
    }
    ks_event_data_clear(&data);
    free(shared);
    ks_event_free(&ev);
    return rc;
}
