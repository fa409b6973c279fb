/* bench_pipe.c — the practical limit for the pipeline: a raw librdkafka transactional pipe with the
 * worker's topology and commit settings but no logic. Records of IN go to PREFIX-mid1, those to
 * PREFIX-mid2, and those are counted; one transaction per BATCH records or INTERVAL_MS, with the
 * consumed offsets sent to the transaction, read_committed — as the worker does.
 *   bench_pipe BOOTSTRAP IN PREFIX N BATCH INTERVAL_MS
 * Prints the records/s of IN drained through both hops. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

static void
set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char err[256];

    if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "%s: %s\n", k, err);
        exit(1);
    }
}

static void
check(rd_kafka_error_t *e, const char *what)
{
    if (e != NULL) {
        fprintf(stderr, "%s: %s\n", what, rd_kafka_error_string(e));
        exit(1);
    }
}

static double
now_sec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
create(rd_kafka_t *rk, const char *topic)
{
    char                 err[256];
    rd_kafka_queue_t    *q = rd_kafka_queue_new(rk);
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, 1, 1, err, sizeof(err));
    rd_kafka_event_t    *ev;

    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    ev = rd_kafka_queue_poll(q, 30000);
    if (ev != NULL)
        rd_kafka_event_destroy(ev);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
}

int
main(int argc, char **argv)
{
    char                             mid1[256], mid2[256], group[256], txn[256], err[256];
    rd_kafka_conf_t                 *conf;
    rd_kafka_t                      *producer, *consumer;
    rd_kafka_topic_partition_list_t *topics, *offsets;
    long                             n, batch, counted = 0, in_batch = 0;
    double                           interval, started, last_commit;

    if (argc != 7)
        return 2;
    n = atol(argv[4]);
    batch = atol(argv[5]);
    interval = atof(argv[6]) / 1000.0;
    snprintf(mid1, sizeof(mid1), "%s-mid1", argv[3]);
    snprintf(mid2, sizeof(mid2), "%s-mid2", argv[3]);
    snprintf(group, sizeof(group), "%s-group", argv[3]);
    snprintf(txn, sizeof(txn), "%s-txn", argv[3]);

    started = now_sec();
    conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", argv[1]);
    set(conf, "transactional.id", txn);
    producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    create(producer, mid1);
    create(producer, mid2);
    check(rd_kafka_init_transactions(producer, 30000), "init_transactions");

    conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", argv[1]);
    set(conf, "group.id", group);
    set(conf, "isolation.level", "read_committed");
    set(conf, "enable.auto.commit", "false");
    set(conf, "auto.offset.reset", "earliest");
    consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    rd_kafka_poll_set_consumer(consumer);
    topics = rd_kafka_topic_partition_list_new(3);
    rd_kafka_topic_partition_list_add(topics, argv[2], RD_KAFKA_PARTITION_UA);
    rd_kafka_topic_partition_list_add(topics, mid1, RD_KAFKA_PARTITION_UA);
    rd_kafka_topic_partition_list_add(topics, mid2, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(consumer, topics);
    rd_kafka_topic_partition_list_destroy(topics);

    offsets = rd_kafka_topic_partition_list_new(3);
    last_commit = now_sec();
    while (counted < n) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(consumer, 10);
        const char         *topic;

        if (m != NULL && !m->err) {
            rd_kafka_topic_partition_t *tp;

            topic = rd_kafka_topic_name(m->rkt);
            if (in_batch == 0)
                check(rd_kafka_begin_transaction(producer), "begin");
            if (strcmp(topic, mid2) == 0)
                counted++;
            else
                rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(strcmp(topic, argv[2]) == 0 ? mid1 : mid2),
                                  RD_KAFKA_V_KEY(m->key, m->key_len), RD_KAFKA_V_VALUE(m->payload, m->len),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            tp = rd_kafka_topic_partition_list_find(offsets, topic, m->partition);
            if (tp == NULL)
                tp = rd_kafka_topic_partition_list_add(offsets, topic, m->partition);
            tp->offset = m->offset + 1;
            in_batch++;
        }
        if (m != NULL)
            rd_kafka_message_destroy(m);
        if (in_batch > 0 && (in_batch >= batch || now_sec() - last_commit >= interval || counted == n)) {
            rd_kafka_consumer_group_metadata_t *cgmd = rd_kafka_consumer_group_metadata(consumer);

            check(rd_kafka_send_offsets_to_transaction(producer, offsets, cgmd, 30000), "send_offsets");
            rd_kafka_consumer_group_metadata_destroy(cgmd);
            check(rd_kafka_commit_transaction(producer, 30000), "commit");
            in_batch = 0;
            last_commit = now_sec();
        } else if (in_batch == 0) {
            last_commit = now_sec();
        }
    }
    printf("%.0f\n", (double)n / (now_sec() - started));
    rd_kafka_topic_partition_list_destroy(offsets);
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    rd_kafka_destroy(producer);
    return 0;
}
