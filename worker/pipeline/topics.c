/* topics.c — the internal topics of every topic set: -trigger, -action and the compacted -state
 * (same partition count as -trigger), the pool's or each sensor's (see ks_topic_set_t). Missing ones
 * are created when createTopics is on; otherwise the worker stops naming the topic. They allow records of KS_MAX_MESSAGE bytes (events of
 * megabytes are forwarded whole). The event topic belongs to the EventSources: it is never created
 * here. */
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "pipeline/worker.h"

static bool
topic_exists(ks_worker_t *w, const char *topic)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t               *rkt = rd_kafka_topic_new(w->producer, topic, NULL);
    rd_kafka_resp_err_t             err = rd_kafka_metadata(w->producer, 0, rkt, &md, 10000);
    bool                            exists = err == 0 && md->topic_cnt == 1 && md->topics[0].err == 0
                                          && md->topics[0].partition_cnt > 0;

    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return exists;
}

static int
create_topic(ks_worker_t *w, const char *topic, bool compacted)
{
    rd_kafka_NewTopic_t  *nt;
    rd_kafka_queue_t     *queue = rd_kafka_queue_new(w->producer);
    rd_kafka_event_t     *ev;
    const rd_kafka_topic_result_t **results;
    size_t                n;
    char                  err[256];
    int                   rc = 0;

    nt = rd_kafka_NewTopic_new(topic, w->cfg->eventbus.partitions, w->cfg->eventbus.replication_factor,
                               err, sizeof(err));
    if (nt == NULL) {
        ks_log_error("cannot create topic %s: %s", topic, err);
        rd_kafka_queue_destroy(queue);
        return -1;
    }
    if (compacted)
        rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
    snprintf(err, sizeof(err), "%d", KS_MAX_MESSAGE);
    rd_kafka_NewTopic_set_config(nt, "max.message.bytes", err);
    rd_kafka_CreateTopics(w->producer, &nt, 1, NULL, queue);
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
            ks_log_notice("created topic %s (%d partitions%s)", topic, w->cfg->eventbus.partitions,
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
ks_topics_ensure(ks_worker_t *w)
{
    if (!topic_exists(w, w->topic_event)) {
        ks_log_error("the event topic %s does not exist (ksensor never creates it: the EventSources own it)",
                     w->topic_event);
        return -1;
    }
    for (size_t s = 0; s < w->nsets; s++) {
        const char *internal[] = { w->sets[s].trigger, w->sets[s].action, w->sets[s].state };

        for (size_t i = 0; i < 3; i++) {
            if (topic_exists(w, internal[i]))
                continue;
            if (!w->cfg->eventbus.create_topics) {
                ks_log_error("topic %s does not exist and eventbus.createTopics is false", internal[i]);
                return -1;
            }
            if (create_topic(w, internal[i], i == 2) != 0)
                return -1;
        }
    }
    return 0;
}
