/* kafka_roundtrip.c — proves that Debian's librdkafka works with the test broker for everything
 * ksensor relies on: topic creation, transactional produce (commit and abort), read_committed group
 * consumption with static membership (group.instance.id), and a consume-transform-produce transaction
 * that commits the input offsets with rd_kafka_send_offsets_to_transaction. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#define TIMEOUT_MS 30000

static const char *bootstrap;
static char        in_topic[64], out_topic[64], group[64];

static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, "FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static void
set(rd_kafka_conf_t *conf, const char *key, const char *value)
{
    char err[512];

    if (rd_kafka_conf_set(conf, key, value, err, sizeof(err)) != RD_KAFKA_CONF_OK)
        fail("rd_kafka_conf_set(%s=%s): %s", key, value, err);
}

static rd_kafka_t *
new_handle(rd_kafka_type_t type, rd_kafka_conf_t *conf)
{
    char        err[512];
    rd_kafka_t *rk;

    set(conf, "bootstrap.servers", bootstrap);
    rk = rd_kafka_new(type, conf, err, sizeof(err));
    if (rk == NULL)
        fail("rd_kafka_new: %s", err);
    return rk;
}

static void
check_error(rd_kafka_error_t *error, const char *what)
{
    if (error != NULL)
        fail("%s: %s", what, rd_kafka_error_string(error));
}

static void
create_topics(void)
{
    rd_kafka_t            *rk = new_handle(RD_KAFKA_PRODUCER, rd_kafka_conf_new());
    rd_kafka_queue_t      *queue = rd_kafka_queue_new(rk);
    rd_kafka_NewTopic_t   *topics[2];
    const char            *names[2] = { in_topic, out_topic };
    rd_kafka_event_t      *ev;
    char                   err[256];
    const rd_kafka_topic_result_t **results;
    size_t                 n;

    for (int i = 0; i < 2; i++) {
        topics[i] = rd_kafka_NewTopic_new(names[i], 1, 1, err, sizeof(err));
        if (topics[i] == NULL)
            fail("NewTopic: %s", err);
    }
    rd_kafka_CreateTopics(rk, topics, 2, NULL, queue);
    ev = rd_kafka_queue_poll(queue, TIMEOUT_MS);
    if (ev == NULL || rd_kafka_event_error(ev))
        fail("CreateTopics: %s", ev ? rd_kafka_event_error_string(ev) : "timed out");
    results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    for (size_t i = 0; i < n; i++) {
        if (rd_kafka_topic_result_error(results[i]))
            fail("create %s: %s", rd_kafka_topic_result_name(results[i]),
                 rd_kafka_topic_result_error_string(results[i]));
    }
    rd_kafka_event_destroy(ev);
    rd_kafka_NewTopic_destroy_array(topics, 2);
    rd_kafka_queue_destroy(queue);
    rd_kafka_destroy(rk);
}

static rd_kafka_t *
new_transactional_producer(const char *txn_id)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t      *rk;

    set(conf, "transactional.id", txn_id);
    rk = new_handle(RD_KAFKA_PRODUCER, conf);
    check_error(rd_kafka_init_transactions(rk, TIMEOUT_MS), "init_transactions");
    return rk;
}

static void
produce(rd_kafka_t *rk, const char *topic, const char *value)
{
    rd_kafka_resp_err_t err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
                                                RD_KAFKA_V_VALUE((void *)value, strlen(value)),
                                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);

    if (err)
        fail("producev: %s", rd_kafka_err2str(err));
}

static rd_kafka_t *
new_consumer(const char *group_id, const char *instance_id, const char *isolation)
{
    rd_kafka_conf_t                 *conf = rd_kafka_conf_new();
    rd_kafka_t                      *rk;
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_resp_err_t              err;

    set(conf, "group.id", group_id);
    if (instance_id != NULL)
        set(conf, "group.instance.id", instance_id);
    set(conf, "isolation.level", isolation);
    set(conf, "enable.auto.commit", "false");
    set(conf, "auto.offset.reset", "earliest");
    rk = new_handle(RD_KAFKA_CONSUMER, conf);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_add(topics, in_topic, RD_KAFKA_PARTITION_UA);
    if ((err = rd_kafka_subscribe(rk, topics)))
        fail("subscribe: %s", rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(topics);
    return rk;
}

/* Reads until want messages arrived (or TIMEOUT_MS), storing values "v1,v2,…" and the last offset. */
static int
consume(rd_kafka_t *rk, int want, char *values, size_t len, int64_t *last_offset)
{
    time_t deadline = time(NULL) + TIMEOUT_MS / 1000;
    int    got = 0;
    size_t used = 0;

    values[0] = '\0';
    while (got < want && time(NULL) < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);

        if (m == NULL)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->err)
            fail("consume: %s", rd_kafka_message_errstr(m));
        used += (size_t)snprintf(values + used, len - used, "%s%.*s", got ? "," : "", (int)m->len,
                                 (const char *)m->payload);
        *last_offset = m->offset;
        got++;
        rd_kafka_message_destroy(m);
    }
    return got;
}

/* Nothing more arrives within a short wait (used after the expected messages were read). */
static void
expect_nothing_more(rd_kafka_t *rk, const char *who)
{
    for (int i = 0; i < 4; i++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);

        if (m != NULL && !m->err)
            fail("%s: unexpected message '%.*s' at offset %" PRId64, who, (int)m->len,
                 (const char *)m->payload, m->offset);
        if (m != NULL)
            rd_kafka_message_destroy(m);
    }
}

static int64_t
committed_offset(rd_kafka_t *rk)
{
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_resp_err_t              err;
    int64_t                          offset;

    rd_kafka_topic_partition_list_add(parts, in_topic, 0);
    if ((err = rd_kafka_committed(rk, parts, TIMEOUT_MS)))
        fail("committed: %s", rd_kafka_err2str(err));
    offset = parts->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(parts);
    return offset;
}

int
main(void)
{
    rd_kafka_t                      *producer, *consumer, *dirty, *relay;
    rd_kafka_topic_partition_list_t *offsets;
    rd_kafka_consumer_group_metadata_t *cgmd;
    char                             values[512];
    int64_t                          last = -1, unused;

    bootstrap = getenv("KS_BOOTSTRAP");
    if (bootstrap == NULL)
        fail("KS_BOOTSTRAP is not set");
    snprintf(in_topic, sizeof(in_topic), "roundtrip-in-%d", (int)getpid());
    snprintf(out_topic, sizeof(out_topic), "roundtrip-out-%d", (int)getpid());
    snprintf(group, sizeof(group), "roundtrip-%d", (int)getpid());
    printf("librdkafka %s, broker %s\n", rd_kafka_version_str(), bootstrap);
    create_topics();

    /* Three committed messages, one aborted, one more committed. */
    producer = new_transactional_producer("roundtrip-source");
    check_error(rd_kafka_begin_transaction(producer), "begin");
    produce(producer, in_topic, "c1");
    produce(producer, in_topic, "c2");
    produce(producer, in_topic, "c3");
    check_error(rd_kafka_commit_transaction(producer, TIMEOUT_MS), "commit");
    check_error(rd_kafka_begin_transaction(producer), "begin");
    produce(producer, in_topic, "aborted");
    rd_kafka_flush(producer, TIMEOUT_MS);    /* on the broker before the abort, not purged */
    check_error(rd_kafka_abort_transaction(producer, TIMEOUT_MS), "abort");
    check_error(rd_kafka_begin_transaction(producer), "begin");
    produce(producer, in_topic, "c4");
    check_error(rd_kafka_commit_transaction(producer, TIMEOUT_MS), "commit");
    rd_kafka_destroy(producer);

    /* read_uncommitted sees the aborted record: the isolation level below really filters. */
    dirty = new_consumer("roundtrip-dirty", NULL, "read_uncommitted");
    if (consume(dirty, 5, values, sizeof(values), &unused) != 5 || strcmp(values, "c1,c2,c3,aborted,c4") != 0)
        fail("read_uncommitted saw '%s', expected c1,c2,c3,aborted,c4", values);
    rd_kafka_consumer_close(dirty);
    rd_kafka_destroy(dirty);

    /* read_committed, static member: only the committed records, in order. */
    consumer = new_consumer(group, "roundtrip-host-0", "read_committed");
    if (consume(consumer, 4, values, sizeof(values), &last) != 4 || strcmp(values, "c1,c2,c3,c4") != 0)
        fail("read_committed saw '%s', expected c1,c2,c3,c4", values);
    expect_nothing_more(consumer, "read_committed");
    printf("read_committed: %s (last offset %" PRId64 ")\n", values, last);

    /* Consume-transform-produce: the output and the input offsets commit in one transaction. */
    relay = new_transactional_producer("roundtrip-relay");
    check_error(rd_kafka_begin_transaction(relay), "begin");
    produce(relay, out_topic, "C1");
    produce(relay, out_topic, "C2");
    produce(relay, out_topic, "C3");
    produce(relay, out_topic, "C4");
    offsets = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(offsets, in_topic, 0)->offset = last + 1;
    cgmd = rd_kafka_consumer_group_metadata(consumer);
    check_error(rd_kafka_send_offsets_to_transaction(relay, offsets, cgmd, TIMEOUT_MS),
                "send_offsets_to_transaction");
    rd_kafka_consumer_group_metadata_destroy(cgmd);
    rd_kafka_topic_partition_list_destroy(offsets);
    check_error(rd_kafka_commit_transaction(relay, TIMEOUT_MS), "commit relay");

    if (committed_offset(consumer) != last + 1)
        fail("committed offset %" PRId64 ", expected %" PRId64, committed_offset(consumer), last + 1);
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    rd_kafka_destroy(relay);

    /* The same static member comes back and resumes after the transactionally committed offset. */
    producer = new_transactional_producer("roundtrip-source");
    check_error(rd_kafka_begin_transaction(producer), "begin");
    produce(producer, in_topic, "c5");
    check_error(rd_kafka_commit_transaction(producer, TIMEOUT_MS), "commit");
    rd_kafka_destroy(producer);

    consumer = new_consumer(group, "roundtrip-host-0", "read_committed");
    if (consume(consumer, 1, values, sizeof(values), &last) != 1 || strcmp(values, "c5") != 0)
        fail("resumed member saw '%s', expected c5", values);
    expect_nothing_more(consumer, "resumed member");
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);

    printf("ok: transactions, read_committed, static membership, send_offsets_to_transaction\n");
    return 0;
}
