/* topics.h — the topics a worker reads and writes, and what their records are keyed by.
 *
 * The event topic belongs to the EventSources. The internal topics belong to the pool (topicLayout
 * shared: <pool>-trigger, -action and the compacted -state) or to each sensor (per-sensor: Argo's
 * <topic>-<sensor>-trigger, -action, plus -state). Records on them are keyed "<sensor>/<trigger>";
 * this module resolves a key to the hosted trigger and a consumed topic to its set and stage. Missing
 * internal topics are created when eventbus.createTopics allows it; the event topic never is. */
#ifndef KS_PIPELINE_TOPICS_H
#define KS_PIPELINE_TOPICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "core/config.h"
#include "sensor/sensor.h"

#define KS_FORMAT_HEADER  "ksensor-format"
#define KS_FORMAT_VERSION "1"
#define KS_DEP_HEADER     "dependencyName"
#define KS_FIRING_HEADER  "firingId"
#define KS_SOURCE_HEADER  "ksensor-source"  /* on trigger records: "<topic>/<partition>/<offset>" of the event */

/* Records on the internal topics: the topics are created with max.message.bytes = KS_MAX_MESSAGE and
 * the producer allows as much. The events one record carries (an event, a trigger's held events, a
 * firing) may total KS_MAX_RECORD: the changelog holds each event as a JSON string, and escaping
 * compact JSON text (only '"' and '\\' need it) at most doubles it, leaving room for key, headers and
 * batch overhead. */
#define KS_MAX_MESSAGE    (16 * 1024 * 1024)
#define KS_MAX_RECORD     (KS_MAX_MESSAGE / 2 - 64 * 1024)

typedef struct ks_trigger_task ks_trigger_task_t;
typedef struct ks_action_task  ks_action_task_t;

/* One set of internal topics, with the tasks of the partitions assigned to this worker. */
typedef struct ks_topic_set {
    char                trigger[256], action[256], state[256];
    int                 ntriggers, nactions;
    ks_trigger_task_t **triggers;       /* by partition; NULL when not assigned here */
    ks_action_task_t  **actions;
} ks_topic_set_t;

/* Which stage reads a consumed topic. */
typedef enum { KS_TOPIC_NONE, KS_TOPIC_EVENT, KS_TOPIC_TRIGGER, KS_TOPIC_ACTION } ks_topic_kind_t;

typedef struct ks_topics {
    const ks_config_t  *cfg;
    const ks_pool_t    *pool;
    char                event[256];
    ks_topic_set_t     *sets;           /* one for the pool, or one per sensor */
    size_t              nsets;
    struct topic_ref   *index;          /* trigger and action topics by name */
    size_t              nindex;
    struct trigger_key *keys;           /* hosted triggers by "<sensor>/<trigger>" */
    size_t              nkeys;
} ks_topics_t;

/* The names of every set; -1 (logged) when a name is longer than Kafka allows. */
int  ks_topics_init(ks_topics_t *t, const ks_config_t *cfg, const ks_pool_t *pool) __attribute__((warn_unused_result));
void ks_topics_free(ks_topics_t *t);

/* The set a sensor's triggers use. */
ks_topic_set_t *ks_topics_set_of(const ks_topics_t *t, const ks_sensor_t *sensor);

/* The stage that reads a topic, and its set (NULL for the event topic or a topic not ours). */
ks_topic_kind_t ks_topics_lookup(const ks_topics_t *t, const char *name, ks_topic_set_t **set);

/* The hosted trigger named by a record key "<sensor>/<trigger>", or NULL; *slot (if not NULL)
 * receives its index among the hosted triggers (0 … ks_topics_ntriggers() - 1). */
const ks_trigger_t *ks_topics_trigger(const ks_topics_t *t, const char *key, size_t len, size_t *slot);
size_t ks_topics_ntriggers(const ks_topics_t *t);

/* Creates the missing internal topics (when createTopics allows) — partitions and replication from
 * eventbus, cleanup.policy delete (compact for -state), max.message.bytes KS_MAX_MESSAGE — without
 * ever naming a topic in a request that could auto-create it; -1 (logged) when the event topic or an
 * internal one is missing and cannot be created. */
int  ks_topics_ensure(ks_topics_t *t, rd_kafka_t *rk) __attribute__((warn_unused_result));

/* Checks that every internal topic fits: eventbus.partitions partitions, cleanup.policy compact for
 * -state and not compact for the others, max.message.bytes at least KS_MAX_MESSAGE, and
 * eventbus.replicationFactor replicas (when it is set). 0; 1 when one does not fit (each misfit
 * logged with what it has, what it needs and the command that fixes it); -1 when the cluster could
 * not be asked (logged). */
int  ks_topics_verify(const ks_topics_t *t, rd_kafka_t *rk) __attribute__((warn_unused_result));

/* Reads every set's partition counts (waiting up to 10 s for topics just created to be listed);
 * -1 (logged) when one is missing. */
int  ks_topics_count(ks_topics_t *t, rd_kafka_t *rk) __attribute__((warn_unused_result));

#endif
