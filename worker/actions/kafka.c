/* kafka.c — the kafka executor: the trigger's message produced within the batch's transaction when
 * its url is the event bus's own brokers (exactly once); to another cluster through an idempotent
 * producer per url, acknowledged before the batch commits (at least once, guarded by the ledger). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "actions/actions.h"
#include "core/mem.h"
#include "pipeline/topics.h"
#include "sensor/firing.h"

typedef struct external {
    char       *url;
    rd_kafka_t *producer;
} external_t;

typedef struct kafka_state {
    ks_batch_t        *batch;
    const ks_config_t *cfg;
    external_t        *external;
    size_t             nexternal;
} kafka_state_t;

static void *
kafka_open(const ks_exec_env_t *env)
{
    kafka_state_t *s = ks_calloc(1, sizeof(*s));

    s->batch = env->batch;
    s->cfg = env->cfg;
    return s;
}

static void
kafka_close(void *state)
{
    kafka_state_t *s = state;

    for (size_t i = 0; i < s->nexternal; i++) {
        rd_kafka_flush(s->external[i].producer, 10000);
        rd_kafka_destroy(s->external[i].producer);
        free(s->external[i].url);
    }
    free(s->external);
    free(s);
}

/* Another cluster: an idempotent producer per url, and the message acknowledged before the batch
 * commits — at least once; the ledger keeps a host from repeating a firing it recorded as done. */
static int
produce_elsewhere(kafka_state_t *s, const char *url, const char *topic, const char *key, const char *body,
                  size_t len, const char *id, char *err, size_t errlen)
{
    rd_kafka_t         *rk = NULL;
    rd_kafka_resp_err_t e;

    for (size_t i = 0; i < s->nexternal; i++) {
        if (strcmp(s->external[i].url, url) == 0)
            rk = s->external[i].producer;
    }
    if (rk == NULL) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        char             cerr[256];

        if (rd_kafka_conf_set(conf, "bootstrap.servers", url, cerr, sizeof(cerr)) != RD_KAFKA_CONF_OK
            || rd_kafka_conf_set(conf, "enable.idempotence", "true", cerr, sizeof(cerr)) != RD_KAFKA_CONF_OK
            || (rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, cerr, sizeof(cerr))) == NULL) {
            snprintf(err, errlen, "kafka trigger: producer for %s: %s", url, cerr);
            return -1;
        }
        s->external = ks_realloc(s->external, (s->nexternal + 1) * sizeof(*s->external));
        s->external[s->nexternal++] = (external_t){ ks_strdup(url), rk };
    }
    e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
                          RD_KAFKA_V_VALUE((void *)body, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_HEADER(KS_FIRING_HEADER, id, -1), RD_KAFKA_V_END);
    if (e == 0)
        e = rd_kafka_flush(rk, 30000);
    if (e != 0) {
        snprintf(err, errlen, "kafka trigger: producing to %s on %s failed: %s", topic, url, rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

static int
kafka_run(void *state, const ks_firing_t *f, char *err, size_t errlen)
{
    kafka_state_t *s = state;
    ks_prepared_t *p = ks_calloc(1, sizeof(*p));
    const char    *url, *topic, *key;
    int            rc = -1;

    if (ks_firing_prepare(f->trig, f->events, "kafka", p, err, errlen) != 0)
        goto done;
    url = json_string_value(json_object_get(p->kind, "url"));
    topic = json_string_value(json_object_get(p->kind, "topic"));
    key = json_string_value(json_object_get(p->kind, "partitioningKey"));
    if (url == NULL || topic == NULL) {
        snprintf(err, errlen, "kafka trigger: url and topic are required");
    } else if (strcmp(url, s->cfg->eventbus.brokers) == 0) {
        /* this cluster: inside the batch's transaction, exactly once */
        rc = ks_batch_produce(s->batch, topic, -1, key, p->body, p->len, ks_batch_headers(NULL, f->id), NULL);
        if (rc != 0)
            snprintf(err, errlen, "kafka trigger: producing to %s failed", topic);
    } else {
        rc = produce_elsewhere(s, url, topic, key, p->body, p->len, f->id, err, errlen);
    }
done:
    ks_prepared_free(p);
    free(p);
    return rc;
}

const ks_executor_t ks_exec_kafka = {
    .kind = "kafka",
    .open = kafka_open,
    .close = kafka_close,
    .run = kafka_run,
};
