/* kstool.c — what the integration tests need from Kafka beyond kcat: creating topics.
 *   kstool create-topic BOOTSTRAP TOPIC PARTITIONS [compact]
 * Exit status 0 when the topic exists afterwards. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

static int
create_topic(const char *bootstrap, const char *topic, int partitions, int compact)
{
    rd_kafka_conf_t      *conf = rd_kafka_conf_new();
    char                  err[512];
    rd_kafka_t           *rk;
    rd_kafka_queue_t     *queue;
    rd_kafka_NewTopic_t  *nt;
    rd_kafka_event_t     *ev;
    const rd_kafka_topic_result_t **res;
    size_t                n;
    int                   rc = 0;

    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err));
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (rk == NULL) {
        fprintf(stderr, "kstool: %s\n", err);
        return 1;
    }
    queue = rd_kafka_queue_new(rk);
    nt = rd_kafka_NewTopic_new(topic, partitions, 1, err, sizeof(err));
    if (nt == NULL) {
        fprintf(stderr, "kstool: %s\n", err);
        return 1;
    }
    if (compact)
        rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, queue);
    ev = rd_kafka_queue_poll(queue, 30000);
    if (ev == NULL || rd_kafka_event_error(ev)) {
        fprintf(stderr, "kstool: create %s: %s\n", topic, ev ? rd_kafka_event_error_string(ev) : "timed out");
        rc = 1;
    } else {
        res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        if (n == 1 && rd_kafka_topic_result_error(res[0])
            && rd_kafka_topic_result_error(res[0]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            fprintf(stderr, "kstool: create %s: %s\n", topic, rd_kafka_topic_result_error_string(res[0]));
            rc = 1;
        }
    }
    if (ev != NULL)
        rd_kafka_event_destroy(ev);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(queue);
    rd_kafka_destroy(rk);
    return rc;
}

int
main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "create-topic") == 0)
        return create_topic(argv[2], argv[3], atoi(argv[4]), argc > 5 && strcmp(argv[5], "compact") == 0);
    fprintf(stderr, "usage: kstool create-topic BOOTSTRAP TOPIC PARTITIONS [compact]\n");
    return 2;
}
