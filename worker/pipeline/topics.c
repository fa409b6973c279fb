/* topics.c — topic names, the record-key index over the hosted triggers, and creating the internal
 * topics (see topics.h). They allow records of KS_MAX_MESSAGE bytes: events of megabytes are
 * forwarded whole. */
#include "pipeline/topics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "pipeline/kafka_conf.h"

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

/* The partition count of a topic in md; 0 when md does not know it, -1 when the broker reports an
 * error for it. */
static int
partitions_in(const struct rd_kafka_metadata *md, const char *topic, int *replicas)
{
    for (int i = 0; i < md->topic_cnt; i++) {
        if (strcmp(md->topics[i].topic, topic) == 0) {
            if (md->topics[i].err != 0)
                return md->topics[i].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ? 0 : -1;
            if (replicas != NULL)
                *replicas = md->topics[i].partition_cnt > 0 ? md->topics[i].partitions[0].replica_cnt : 0;
            return md->topics[i].partition_cnt;
        }
    }
    return 0;
}

/* The metadata of every topic of the cluster. Asking for all topics never auto-creates one, where
 * asking for a topic by name would on a broker with auto.create.topics.enable (Kafka's default). */
static const struct rd_kafka_metadata *
all_topics(rd_kafka_t *rk)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t             err = rd_kafka_metadata(rk, 1, NULL, &md, 10000);

    if (err != 0) {
        ks_log_error("cannot read the cluster's topics: %s", rd_kafka_err2str(err));
        return NULL;
    }
    return md;
}

static int
create_topics(const ks_config_t *cfg, rd_kafka_t *rk, const char *const *names, const bool *compacted, size_t n)
{
    rd_kafka_NewTopic_t **nts = ks_calloc(n, sizeof(*nts));
    rd_kafka_queue_t     *queue = rd_kafka_queue_new(rk);
    rd_kafka_event_t     *ev;
    const rd_kafka_topic_result_t **results;
    size_t                nres = 0;
    char                  err[256], max[32];
    int                   rc = 0;

    snprintf(max, sizeof(max), "%d", KS_MAX_MESSAGE);
    for (size_t i = 0; i < n; i++) {
        nts[i] = rd_kafka_NewTopic_new(names[i], cfg->eventbus.partitions, cfg->eventbus.replication_factor,
                                       err, sizeof(err));
        if (nts[i] == NULL) {
            ks_log_error("cannot create topic %s: %s", names[i], err);
            rc = -1;
            goto done;
        }
        rd_kafka_NewTopic_set_config(nts[i], "cleanup.policy", compacted[i] ? "compact" : "delete");
        rd_kafka_NewTopic_set_config(nts[i], "max.message.bytes", max);
    }
    rd_kafka_CreateTopics(rk, nts, n, NULL, queue);
    if ((ev = ks_kafka_admin_result(queue, 30000, err, sizeof(err))) == NULL) {
        ks_log_error("cannot create topics: %s", err);
        rc = -1;
    } else {
        results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &nres);
        for (size_t i = 0; i < nres; i++) {
            const char         *name = rd_kafka_topic_result_name(results[i]);
            rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);

            if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                ks_log_info("topic %s was created by someone else meanwhile", name);   /* verified below */
            } else if (e != 0) {
                ks_log_error("cannot create topic %s: %s", name, rd_kafka_topic_result_error_string(results[i]));
                rc = -1;
            } else {
                bool compact = false;

                for (size_t k = 0; k < n; k++)
                    compact = compact || (compacted[k] && strcmp(names[k], name) == 0);
                ks_log_notice("created topic %s (%d partitions%s)", name, cfg->eventbus.partitions,
                              compact ? ", compacted" : "");
            }
        }
    }
    if (ev != NULL)
        rd_kafka_event_destroy(ev);
done:
    for (size_t i = 0; i < n; i++)
        if (nts[i] != NULL)
            rd_kafka_NewTopic_destroy(nts[i]);
    free(nts);
    rd_kafka_queue_destroy(queue);
    return rc;
}

/* The embedded broker (librdkafka's mock cluster) creates a topic when a metadata request names it,
 * with the partition count its child was started with; it answers no CreateTopics. */
static int
create_in_mock(rd_kafka_t *rk, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t               *rkt = rd_kafka_topic_new(rk, names[i], NULL);
        rd_kafka_resp_err_t             err = rd_kafka_metadata(rk, 0, rkt, &md, 10000);

        if (md != NULL)
            rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        if (err != 0) {
            ks_log_error("embedded broker: cannot create topic %s: %s", names[i], rd_kafka_err2str(err));
            return -1;
        }
    }
    return 0;
}

int
ks_topics_ensure(ks_topics_t *t, rd_kafka_t *rk)
{
    const struct rd_kafka_metadata *md = all_topics(rk);
    const char                    **missing;
    bool                           *compacted;
    size_t                          n = 0;
    int                             rc = 0;

    if (md == NULL)
        return -1;
    if (partitions_in(md, t->event, NULL) <= 0) {
        ks_log_error("the event topic %s does not exist (ksensor never creates it: the EventSources own it)",
                     t->event);
        rd_kafka_metadata_destroy(md);
        return -1;
    }
    missing = ks_calloc(3 * t->nsets + 1, sizeof(*missing));
    compacted = ks_calloc(3 * t->nsets + 1, sizeof(*compacted));
    for (size_t s = 0; s < t->nsets && rc == 0; s++) {
        const char *internal[] = { t->sets[s].trigger, t->sets[s].action, t->sets[s].state };

        for (size_t i = 0; i < 3; i++) {
            if (partitions_in(md, internal[i], NULL) != 0)
                continue;
            if (!t->cfg->eventbus.create_topics) {
                ks_log_error("topic %s does not exist and eventbus.createTopics is false", internal[i]);
                rc = -1;
                break;
            }
            compacted[n] = i == 2;
            missing[n++] = internal[i];
        }
    }
    rd_kafka_metadata_destroy(md);
    if (rc == 0 && n > 0)
        rc = ks_kafka_embedded(t->cfg) ? create_in_mock(rk, missing, n)
                                       : create_topics(t->cfg, rk, missing, compacted, n);
    free(missing);
    free(compacted);
    return rc;
}

/* The metadata of every topic, once it lists every internal topic: a broker's cache lags behind a
 * creation for a moment, so ask again for up to 10 s. NULL (logged) when one stays missing. */
static const struct rd_kafka_metadata *
metadata_listing_all(const ks_topics_t *t, rd_kafka_t *rk)
{
    for (int tries = 0; tries < 50; tries++) {
        const struct rd_kafka_metadata *md = all_topics(rk);
        const char                     *missing = NULL;

        if (md == NULL)
            return NULL;
        for (size_t s = 0; s < t->nsets && missing == NULL; s++) {
            const char *names[] = { t->sets[s].trigger, t->sets[s].action, t->sets[s].state };

            for (size_t i = 0; i < 3 && missing == NULL; i++)
                missing = partitions_in(md, names[i], NULL) > 0 ? NULL : names[i];
        }
        if (missing == NULL)
            return md;
        rd_kafka_metadata_destroy(md);
        if (tries == 49)
            ks_log_error("topic %s is still missing from the cluster's metadata after 10 s", missing);
        else
            usleep(200 * 1000);
    }
    return NULL;
}

int
ks_topics_count(ks_topics_t *t, rd_kafka_t *rk)
{
    const struct rd_kafka_metadata *md = metadata_listing_all(t, rk);

    if (md == NULL)
        return -1;
    for (size_t s = 0; s < t->nsets; s++) {
        t->sets[s].ntriggers = partitions_in(md, t->sets[s].trigger, NULL);
        t->sets[s].nactions = partitions_in(md, t->sets[s].action, NULL);
    }
    rd_kafka_metadata_destroy(md);
    return 0;
}

/* What an internal topic has that ksensor reads: partitions, replicas of partition 0, and configs. */
typedef struct topic_facts {
    const char *name;
    const char *role;               /* "trigger", "action", "state" */
    int         partitions;
    int         replicas;
    char        cleanup[64];
    long long   max_bytes;
} topic_facts_t;

/* cleanup.policy and max.message.bytes of every topic, from one DescribeConfigs request. */
static int
describe(rd_kafka_t *rk, topic_facts_t *facts, size_t n)
{
    rd_kafka_ConfigResource_t **res = ks_calloc(n, sizeof(*res));
    rd_kafka_queue_t           *queue = rd_kafka_queue_new(rk);
    rd_kafka_event_t           *ev;
    const rd_kafka_ConfigResource_t **out;
    size_t                      nout = 0;
    int                         rc = 0;
    char                        err[512];

    for (size_t i = 0; i < n; i++)
        res[i] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, facts[i].name);
    rd_kafka_DescribeConfigs(rk, res, n, NULL, queue);
    if ((ev = ks_kafka_admin_result(queue, 30000, err, sizeof(err))) == NULL) {
        ks_log_error("cannot read the configuration of the internal topics: %s", err);
        rc = -1;
    } else {
        out = rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &nout);
        for (size_t r = 0; r < nout; r++) {
            const char                    *name = rd_kafka_ConfigResource_name(out[r]);
            const rd_kafka_ConfigEntry_t **entries;
            size_t                         nentries = 0;
            topic_facts_t                 *f = NULL;

            for (size_t i = 0; i < n && f == NULL; i++)
                f = strcmp(facts[i].name, name) == 0 ? &facts[i] : NULL;
            if (f == NULL)
                continue;
            if (rd_kafka_ConfigResource_error(out[r]) != 0) {
                ks_log_error("cannot read the configuration of topic %s: %s", name,
                             rd_kafka_ConfigResource_error_string(out[r]));
                rc = -1;
                continue;
            }
            entries = rd_kafka_ConfigResource_configs(out[r], &nentries);
            for (size_t e = 0; e < nentries; e++) {
                const char *key = rd_kafka_ConfigEntry_name(entries[e]);
                const char *value = rd_kafka_ConfigEntry_value(entries[e]);

                if (value == NULL)
                    continue;
                if (strcmp(key, "cleanup.policy") == 0)
                    snprintf(f->cleanup, sizeof(f->cleanup), "%s", value);
                else if (strcmp(key, "max.message.bytes") == 0)
                    f->max_bytes = atoll(value);
            }
        }
    }
    if (ev != NULL)
        rd_kafka_event_destroy(ev);
    for (size_t i = 0; i < n; i++)
        rd_kafka_ConfigResource_destroy(res[i]);
    free(res);
    rd_kafka_queue_destroy(queue);
    return rc;
}

/* Whether a topic fits its role; when not, one message naming what it has, what it needs and the
 * command that fixes it. */
static bool
fits(const ks_config_t *cfg, const topic_facts_t *f, char *msg, size_t len)
{
    const char *bs = cfg->eventbus.brokers;
    bool        compact = strstr(f->cleanup, "compact") != NULL, state = strcmp(f->role, "state") == 0;

    if (f->partitions != cfg->eventbus.partitions) {
        snprintf(msg, len, "topic %s has %d partition%s, eventbus.partitions says %d. A pool's partition counts "
                 "cannot change once it holds state (a trigger would be read where its state is not): set "
                 "eventbus.partitions: %d, or — if the pool holds nothing yet — delete its topics while no "
                 "worker runs (kafka-topics.sh --bootstrap-server %s --delete --topic %s) and let ksensord "
                 "create them", f->name, f->partitions, f->partitions == 1 ? "" : "s", cfg->eventbus.partitions,
                 f->partitions, bs, f->name);
    } else if (state && strcmp(f->cleanup, "compact") != 0) {
        snprintf(msg, len, "topic %s has cleanup.policy=%s, a changelog needs compact (with delete, held events "
                 "older than retention.ms would be lost to a restore): kafka-configs.sh --bootstrap-server %s "
                 "--alter --entity-type topics --entity-name %s --add-config cleanup.policy=compact",
                 f->name, f->cleanup, bs, f->name);
    } else if (!state && compact) {
        snprintf(msg, len, "topic %s has cleanup.policy=%s, the %s topic needs delete (compaction would drop "
                 "records of a trigger before they are read): kafka-configs.sh --bootstrap-server %s --alter "
                 "--entity-type topics --entity-name %s --add-config cleanup.policy=delete",
                 f->name, f->cleanup, f->role, bs, f->name);
    } else if (f->max_bytes < KS_MAX_MESSAGE) {
        snprintf(msg, len, "topic %s has max.message.bytes=%lld, ksensor needs %d (events of megabytes travel "
                 "whole): kafka-configs.sh --bootstrap-server %s --alter --entity-type topics --entity-name %s "
                 "--add-config max.message.bytes=%d", f->name, f->max_bytes, KS_MAX_MESSAGE, bs, f->name,
                 KS_MAX_MESSAGE);
    } else if (cfg->eventbus.replication_factor > 0 && f->replicas != cfg->eventbus.replication_factor) {
        snprintf(msg, len, "topic %s has %d replica%s, eventbus.replicationFactor says %d: reassign its "
                 "partitions (kafka-reassign-partitions.sh --bootstrap-server %s) or set "
                 "eventbus.replicationFactor: %d", f->name, f->replicas, f->replicas == 1 ? "" : "s",
                 cfg->eventbus.replication_factor, bs, f->replicas);
    } else {
        return true;
    }
    return false;
}

int
ks_topics_verify(const ks_topics_t *t, rd_kafka_t *rk)
{
    const struct rd_kafka_metadata *md;
    topic_facts_t                  *facts = ks_calloc(3 * t->nsets + 1, sizeof(*facts));
    size_t                          n = 0;
    char           msg[1024];
    int            rc = 0;

    for (size_t s = 0; s < t->nsets; s++) {
        const char *names[] = { t->sets[s].trigger, t->sets[s].action, t->sets[s].state };
        const char *roles[] = { "trigger", "action", "state" };

        for (size_t i = 0; i < 3; i++)
            facts[n++] = (topic_facts_t){ .name = names[i], .role = roles[i] };
    }
    if ((md = metadata_listing_all(t, rk)) == NULL) {
        free(facts);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        facts[i].partitions = partitions_in(md, facts[i].name, &facts[i].replicas);
    rd_kafka_metadata_destroy(md);
    if (describe(rk, facts, n) != 0) {
        free(facts);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!fits(t->cfg, &facts[i], msg, sizeof(msg))) {
            ks_log_error("%s", msg);
            rc = 1;
        }
    }
    free(facts);
    return rc;
}
