/* topics.c — topic names, the record-key index over the hosted triggers, and creating the internal
 * topics (see topics.h). They allow records of KS_MAX_MESSAGE bytes: events of megabytes are
 * forwarded whole. */
#include "pipeline/topics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"

typedef struct topic_ref {
    const char      *name;
    ks_topic_set_t  *set;
    ks_topic_kind_t  kind;
} topic_ref_t;

typedef struct trigger_key {
    char               *key;    /* "<sensor>/<trigger>" */
    const ks_trigger_t *trigger;
} trigger_key_t;

static int
ref_cmp(const void *a, const void *b)
{
    return strcmp(((const topic_ref_t *)a)->name, ((const topic_ref_t *)b)->name);
}

static int
key_cmp(const void *a, const void *b)
{
    return strcmp(((const trigger_key_t *)a)->key, ((const trigger_key_t *)b)->key);
}

static void
index_triggers(ks_topics_t *t)
{
    size_t n = 0;

    for (size_t s = 0; s < t->pool->nsensors; s++)
        n += t->pool->sensors[s]->ntriggers;
    t->keys = ks_calloc(n ? n : 1, sizeof(*t->keys));
    for (size_t s = 0; s < t->pool->nsensors; s++) {
        const ks_sensor_t *sensor = t->pool->sensors[s];

        for (size_t i = 0; i < sensor->ntriggers; i++)
            t->keys[t->nkeys++] = (trigger_key_t){ ks_asprintf("%s/%s", sensor->name, sensor->triggers[i].name),
                                                   &sensor->triggers[i] };
    }
    qsort(t->keys, t->nkeys, sizeof(*t->keys), key_cmp);
}

int
ks_topics_init(ks_topics_t *t, const ks_config_t *cfg, const ks_pool_t *pool)
{
    bool per_sensor = cfg->eventbus.topic_layout == KS_LAYOUT_PER_SENSOR;

    memset(t, 0, sizeof(*t));
    t->cfg = cfg;
    t->pool = pool;
    snprintf(t->event, sizeof(t->event), "%s", cfg->eventbus.topic);
    t->nsets = per_sensor ? pool->nsensors : 1;
    t->sets = ks_calloc(t->nsets ? t->nsets : 1, sizeof(*t->sets));
    t->index = ks_calloc(2 * (t->nsets ? t->nsets : 1), sizeof(*t->index));
    index_triggers(t);
    for (size_t i = 0; i < t->nsets; i++) {
        ks_topic_set_t *set = &t->sets[i];
        char            prefix[400];

        if (per_sensor)
            snprintf(prefix, sizeof(prefix), "%s-%s", cfg->eventbus.topic, pool->sensors[i]->name);
        else
            snprintf(prefix, sizeof(prefix), "%s", cfg->pool);
        if (strlen(prefix) + sizeof("-trigger") > 249) {
            ks_log_error("topic names %s-trigger, -action, -state are longer than Kafka allows (249)", prefix);
            return -1;
        }
        snprintf(set->trigger, sizeof(set->trigger), "%.240s-trigger", prefix);
        snprintf(set->action, sizeof(set->action), "%.240s-action", prefix);
        snprintf(set->state, sizeof(set->state), "%.240s-state", prefix);
        t->index[t->nindex++] = (topic_ref_t){ set->trigger, set, KS_TOPIC_TRIGGER };
        t->index[t->nindex++] = (topic_ref_t){ set->action, set, KS_TOPIC_ACTION };
    }
    qsort(t->index, t->nindex, sizeof(*t->index), ref_cmp);
    return 0;
}

void
ks_topics_free(ks_topics_t *t)
{
    for (size_t i = 0; i < t->nkeys; i++)
        free(t->keys[i].key);
    free(t->keys);
    for (size_t s = 0; s < t->nsets; s++) {
        free(t->sets[s].triggers);
        free(t->sets[s].actions);
    }
    free(t->sets);
    free(t->index);
    memset(t, 0, sizeof(*t));
}

ks_topic_set_t *
ks_topics_set_of(const ks_topics_t *t, const ks_sensor_t *sensor)
{
    return t->cfg->eventbus.topic_layout == KS_LAYOUT_PER_SENSOR ? &t->sets[sensor->index] : &t->sets[0];
}

ks_topic_kind_t
ks_topics_lookup(const ks_topics_t *t, const char *name, ks_topic_set_t **set)
{
    topic_ref_t        probe = { name, NULL, KS_TOPIC_NONE };
    const topic_ref_t *ref;

    *set = NULL;
    if (strcmp(name, t->event) == 0)
        return KS_TOPIC_EVENT;
    if ((ref = bsearch(&probe, t->index, t->nindex, sizeof(*t->index), ref_cmp)) == NULL)
        return KS_TOPIC_NONE;
    *set = ref->set;
    return ref->kind;
}

const ks_trigger_t *
ks_topics_trigger(const ks_topics_t *t, const char *key, size_t len, size_t *slot)
{
    char           buf[600];
    trigger_key_t  probe = { buf, NULL }, *found;

    if (len >= sizeof(buf))
        return NULL;
    memcpy(buf, key, len);
    buf[len] = '\0';
    found = bsearch(&probe, t->keys, t->nkeys, sizeof(*t->keys), key_cmp);
    if (found != NULL && slot != NULL)
        *slot = (size_t)(found - t->keys);
    return found ? found->trigger : NULL;
}

size_t
ks_topics_ntriggers(const ks_topics_t *t)
{
    return t->nkeys;
}

static bool
topic_exists(rd_kafka_t *rk, const char *topic)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t               *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t             err = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    bool                            exists = err == 0 && md->topic_cnt == 1 && md->topics[0].err == 0
                                          && md->topics[0].partition_cnt > 0;

    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return exists;
}

static int
create_topic(const ks_config_t *cfg, rd_kafka_t *rk, const char *topic, bool compacted)
{
    rd_kafka_NewTopic_t  *nt;
    rd_kafka_queue_t     *queue = rd_kafka_queue_new(rk);
    rd_kafka_event_t     *ev;
    const rd_kafka_topic_result_t **results;
    size_t                n;
    char                  err[256];
    int                   rc = 0;

    nt = rd_kafka_NewTopic_new(topic, cfg->eventbus.partitions, cfg->eventbus.replication_factor, err, sizeof(err));
    if (nt == NULL) {
        ks_log_error("cannot create topic %s: %s", topic, err);
        rd_kafka_queue_destroy(queue);
        return -1;
    }
    if (compacted)
        rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
    snprintf(err, sizeof(err), "%d", KS_MAX_MESSAGE);
    rd_kafka_NewTopic_set_config(nt, "max.message.bytes", err);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, queue);
    ev = rd_kafka_queue_poll(queue, 30000);
    if (ev == NULL || rd_kafka_event_error(ev)) {
        ks_log_error("cannot create topic %s: %s", topic, ev ? rd_kafka_event_error_string(ev) : "timed out");
        rc = -1;
    } else {
        results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        if (n == 1 && rd_kafka_topic_result_error(results[0])
            && rd_kafka_topic_result_error(results[0]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            ks_log_error("cannot create topic %s: %s", topic, rd_kafka_topic_result_error_string(results[0]));
            rc = -1;
        } else {
            ks_log_notice("created topic %s (%d partitions%s)", topic, cfg->eventbus.partitions,
                          compacted ? ", compacted" : "");
        }
    }
    if (ev != NULL)
        rd_kafka_event_destroy(ev);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(queue);
    return rc;
}

int
ks_topics_ensure(ks_topics_t *t, rd_kafka_t *rk)
{
    if (!topic_exists(rk, t->event)) {
        ks_log_error("the event topic %s does not exist (ksensor never creates it: the EventSources own it)",
                     t->event);
        return -1;
    }
    for (size_t s = 0; s < t->nsets; s++) {
        const char *internal[] = { t->sets[s].trigger, t->sets[s].action, t->sets[s].state };

        for (size_t i = 0; i < 3; i++) {
            if (topic_exists(rk, internal[i]))
                continue;
            if (!t->cfg->eventbus.create_topics) {
                ks_log_error("topic %s does not exist and eventbus.createTopics is false", internal[i]);
                return -1;
            }
            if (create_topic(t->cfg, rk, internal[i], i == 2) != 0)
                return -1;
        }
    }
    return 0;
}

static int
partitions_in(const struct rd_kafka_metadata *md, const char *topic)
{
    for (int i = 0; i < md->topic_cnt; i++) {
        if (strcmp(md->topics[i].topic, topic) == 0)
            return md->topics[i].err == 0 ? md->topics[i].partition_cnt : -1;
    }
    return -1;
}

const char *
ks_topics_count(ks_topics_t *t, rd_kafka_t *rk)
{
    const struct rd_kafka_metadata *md = NULL;
    const char                     *missing = NULL;

    if (rd_kafka_metadata(rk, 1, NULL, &md, 10000) != 0)
        return "(metadata)";
    for (size_t s = 0; s < t->nsets && missing == NULL; s++) {
        ks_topic_set_t *set = &t->sets[s];

        set->ntriggers = partitions_in(md, set->trigger);
        set->nactions = partitions_in(md, set->action);
        if (set->ntriggers <= 0 || partitions_in(md, set->state) != set->ntriggers)
            missing = set->trigger;
        else if (set->nactions <= 0)
            missing = set->action;
    }
    rd_kafka_metadata_destroy(md);
    return missing;
}
