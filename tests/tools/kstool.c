/* kstool.c — what the integration tests need from Kafka beyond kcat:
 *   kstool create-topic BOOTSTRAP TOPIC PARTITIONS [compact] [KEY=VALUE]...
 *     Exit status 0 when the topic exists afterwards. KEY=VALUE: topic configs (max.message.bytes=…).
 *   kstool drained BOOTSTRAP GROUP TOPIC...
 *     Whether consumer group GROUP has consumed and committed everything a read_committed reader can
 *     read in every partition of the topics: from each committed offset (the beginning when none),
 *     the first thing read must be the end of the partition, and that end its high watermark (a
 *     transaction still open in the partition, say of a host killed with it, hides the records
 *     after it from every read_committed reader until the broker aborts it: work still ahead).
 *     Prints one line per partition ("TOPIC PARTITION COMMITTED drained|behind") and exits 0 when
 *     all are drained, 1 when one is behind (or a transaction holding offsets of the group is still
 *     open), 2 on an error. It never joins the group (offsets are fetched, not consumed).
 *   kstool describe-topic BOOTSTRAP TOPIC
 *     Prints "partitions=N replicas=R cleanup.policy=P max.message.bytes=M" and exits 0, or prints
 *     "absent" and exits 1. Asks for every topic's metadata, so it never auto-creates TOPIC.
 *   kstool alter-topic BOOTSTRAP TOPIC KEY=VALUE...
 *     Sets the topic's dynamic configs to exactly KEY=VALUE... (AlterConfigs: the others revert to the
 *     broker's defaults).
 *   kstool changelog < RECORDS
 *     Decodes changelog records of a <pool>-state topic, read by kcat with the format
 *     '%o\t%k\t%S\n%s\n' (the value's size first: a value holds newlines), with ksensor's own codec:
 *     prints "OFFSET\tKEY\tDEPENDENCY=EVENT-ID ..." per record, the held events in order ("-" for a
 *     tombstone, nothing for a record holding none, "?" when the value is not a changelog value).
 *   kstool notify-listen SOCKET OUT
 *     Stands in for systemd's notification socket: binds a datagram socket at SOCKET and appends
 *     every message received (sd_notify's "READY=1\nSTATUS=…") to OUT, followed by a line "--",
 *     until killed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "pipeline/changelog.h"

static int
create_topic(const char *bootstrap, const char *topic, int partitions, char **configs, int nconfigs)
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
    /* the broker's default.replication.factor: 1 on one broker, all nodes on a test cluster */
    nt = rd_kafka_NewTopic_new(topic, partitions, -1, err, sizeof(err));
    if (nt == NULL) {
        fprintf(stderr, "kstool: %s\n", err);
        return 1;
    }
    for (int i = 0; i < nconfigs; i++) {
        char *eq = strchr(configs[i], '=');

        if (strcmp(configs[i], "compact") == 0) {
            rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
        } else if (eq != NULL) {
            *eq = '\0';
            rd_kafka_NewTopic_set_config(nt, configs[i], eq + 1);
            *eq = '=';
        } else {
            fprintf(stderr, "kstool: create %s: '%s' is neither compact nor KEY=VALUE\n", topic, configs[i]);
            rd_kafka_NewTopic_destroy(nt);
            rd_kafka_queue_destroy(queue);
            rd_kafka_destroy(rk);
            return 1;
        }
    }
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

static int
set_conf(rd_kafka_conf_t *conf, const char *key, const char *value)
{
    char err[512];

    if (rd_kafka_conf_set(conf, key, value, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "kstool: %s: %s\n", key, err);
        return -1;
    }
    return 0;
}

/* The partition's high watermark as a read_uncommitted reader sees it: past every record, open
 * transactions included (-1 when it cannot be had, which then counts as behind nothing). */
static int64_t
high_watermark(const char *bootstrap, const rd_kafka_topic_partition_t *part)
{
    static rd_kafka_t *rk;
    int64_t            low, high;
    char               errstr[512];

    if (rk == NULL) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();

        if (set_conf(conf, "bootstrap.servers", bootstrap) || set_conf(conf, "isolation.level", "read_uncommitted"))
            return -1;
        if ((rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr))) == NULL)
            return -1;
    }
    if (rd_kafka_query_watermark_offsets(rk, part->topic, part->partition, &low, &high, 5000) != 0)
        return -1;
    return high;
}

static int
drained(const char *bootstrap, const char *group, char **topics, int ntopics)
{
    rd_kafka_conf_t                 *conf = rd_kafka_conf_new();
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(16);
    rd_kafka_resp_err_t              err;
    rd_kafka_t                      *rk;
    char                             errstr[512];
    int                             *state = NULL, pending, rc = 0;
    int64_t                         *committed = NULL;
    time_t                           deadline = time(NULL) + 20;

    if (set_conf(conf, "bootstrap.servers", bootstrap) || set_conf(conf, "group.id", group)
        || set_conf(conf, "isolation.level", "read_committed") || set_conf(conf, "enable.partition.eof", "true")
        || set_conf(conf, "enable.auto.commit", "false") || set_conf(conf, "auto.offset.reset", "earliest"))
        return 2;
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        fprintf(stderr, "kstool: %s\n", errstr);
        return 2;
    }
    for (int t = 0; t < ntopics; t++) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t               *rkt = rd_kafka_topic_new(rk, topics[t], NULL);

        err = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
        rd_kafka_topic_destroy(rkt);
        if (err || md->topic_cnt != 1 || md->topics[0].err) {
            fprintf(stderr, "kstool: no metadata for %s: %s\n", topics[t],
                    rd_kafka_err2str(err ? err : md->topics[0].err));
            if (md != NULL)
                rd_kafka_metadata_destroy(md);
            rc = 2;
            goto done;
        }
        for (int p = 0; p < md->topics[0].partition_cnt; p++)
            rd_kafka_topic_partition_list_add(parts, topics[t], md->topics[0].partitions[p].id);
        rd_kafka_metadata_destroy(md);
    }
    /* With isolation.level=read_committed the offsets are fetched with RequireStable: while a
     * transaction that sent offsets is open (a worker was killed between sending and committing),
     * the broker answers UNSTABLE_OFFSET_COMMIT and librdkafka retries until the transaction ends.
     * That is work in flight: behind. */
    if ((err = rd_kafka_committed(rk, parts, 3000)) != 0) {
        printf("%s committed offsets not stable (%s): behind\n", group, rd_kafka_err2str(err));
        rc = err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR_UNSTABLE_OFFSET_COMMIT ? 1 : 2;
        goto done;
    }
    state = calloc((size_t)parts->cnt, sizeof(*state));
    committed = calloc((size_t)parts->cnt, sizeof(*committed));
    for (int i = 0; i < parts->cnt; i++) {
        committed[i] = parts->elems[i].offset;
        if (parts->elems[i].offset < 0)
            parts->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_assign(rk, parts);
    for (pending = parts->cnt; pending > 0 && time(NULL) < deadline;) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 200);
        int                 i;

        if (msg == NULL)
            continue;
        for (i = 0; i < parts->cnt; i++) {
            if (msg->rkt != NULL && strcmp(parts->elems[i].topic, rd_kafka_topic_name(msg->rkt)) == 0
                && parts->elems[i].partition == msg->partition)
                break;
        }
        if (i < parts->cnt && state[i] == 0 && (msg->err == 0 || msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)) {
            state[i] = msg->err == 0 || msg->offset < high_watermark(bootstrap, &parts->elems[i]) ? 2 : 1;
            pending--;
        } else if (msg->err && msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            fprintf(stderr, "kstool: %s\n", rd_kafka_message_errstr(msg));
        }
        rd_kafka_message_destroy(msg);
    }
    for (int i = 0; i < parts->cnt; i++) {
        printf("%s %d %lld %s\n", parts->elems[i].topic, (int)parts->elems[i].partition, (long long)committed[i],
               state[i] == 1 ? "drained" : state[i] == 2 ? "behind" : "unknown");
        if (state[i] == 0)
            rc = 2;
        else if (state[i] == 2 && rc == 0)
            rc = 1;
    }
done:
    free(state);
    free(committed);
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}

static int
notify_listen(const char *path, const char *out)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    char               buf[4096];
    int                fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    ssize_t            n;

    if (fd < 0 || strlen(path) >= sizeof(addr.sun_path)) {
        perror("notify-listen: socket");
        return 2;
    }
    strcpy(addr.sun_path, path);
    unlink(path);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        perror("notify-listen: bind");
        return 2;
    }
    while ((n = recv(fd, buf, sizeof(buf), 0)) >= 0) {
        FILE *fp = fopen(out, "a");

        if (fp == NULL) {
            perror("notify-listen: fopen");
            return 2;
        }
        fprintf(fp, "%.*s\n--\n", (int)n, buf);
        fclose(fp);
    }
    perror("notify-listen: recv");
    return 2;
}

static rd_kafka_t *
admin_handle(const char *bootstrap)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char             err[512];
    rd_kafka_t      *rk;

    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err)) != RD_KAFKA_CONF_OK
        || rd_kafka_conf_set(conf, "allow.auto.create.topics", "false", err, sizeof(err)) != RD_KAFKA_CONF_OK
        || (rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err))) == NULL) {
        fprintf(stderr, "kstool: %s\n", err);
        exit(2);
    }
    return rk;
}

static int
describe_topic(const char *bootstrap, const char *topic)
{
    rd_kafka_t                     *rk = admin_handle(bootstrap);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_ConfigResource_t      *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_queue_t               *queue = rd_kafka_queue_new(rk);
    rd_kafka_event_t               *ev = NULL;
    int                             partitions = 0, replicas = 0, rc = 1;

    if (rd_kafka_metadata(rk, 1, NULL, &md, 10000) != 0) {
        fprintf(stderr, "kstool: describe %s: no metadata\n", topic);
        rc = 2;
        goto done;
    }
    for (int i = 0; i < md->topic_cnt; i++) {
        if (strcmp(md->topics[i].topic, topic) == 0 && md->topics[i].err == 0 && md->topics[i].partition_cnt > 0) {
            partitions = md->topics[i].partition_cnt;
            replicas = md->topics[i].partitions[0].replica_cnt;
        }
    }
    if (partitions == 0) {
        printf("absent\n");
        goto done;
    }
    printf("partitions=%d replicas=%d", partitions, replicas);
    rd_kafka_DescribeConfigs(rk, &res, 1, NULL, queue);
    ev = rd_kafka_queue_poll(queue, 30000);
    if (ev == NULL || rd_kafka_event_error(ev)) {
        fprintf(stderr, "\nkstool: describe %s: %s\n", topic, ev ? rd_kafka_event_error_string(ev) : "timed out");
        rc = 2;
    } else {
        size_t                            nres = 0, n = 0;
        const rd_kafka_ConfigResource_t **out =
            rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &nres);
        const rd_kafka_ConfigEntry_t    **entries = nres == 1 ? rd_kafka_ConfigResource_configs(out[0], &n) : NULL;

        for (size_t e = 0; e < n; e++) {
            const char *name = rd_kafka_ConfigEntry_name(entries[e]);

            if (strcmp(name, "cleanup.policy") == 0 || strcmp(name, "max.message.bytes") == 0)
                printf(" %s=%s", name, rd_kafka_ConfigEntry_value(entries[e]));
        }
        printf("\n");
        rc = 0;
    }
done:
    if (ev != NULL)
        rd_kafka_event_destroy(ev);
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    rd_kafka_ConfigResource_destroy(res);
    rd_kafka_queue_destroy(queue);
    rd_kafka_destroy(rk);
    return rc;
}

static int
alter_topic(const char *bootstrap, const char *topic, char **configs, int nconfigs)
{
    rd_kafka_t                *rk = admin_handle(bootstrap);
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_queue_t          *queue = rd_kafka_queue_new(rk);
    rd_kafka_event_t          *ev;
    int                        rc = 0;

    for (int i = 0; i < nconfigs; i++) {
        char *eq = strchr(configs[i], '=');

        if (eq == NULL) {
            fprintf(stderr, "kstool: alter %s: '%s' is not KEY=VALUE\n", topic, configs[i]);
            return 2;
        }
        *eq = '\0';
        rd_kafka_ConfigResource_set_config(res, configs[i], eq + 1);
    }
    rd_kafka_AlterConfigs(rk, &res, 1, NULL, queue);
    ev = rd_kafka_queue_poll(queue, 30000);
    if (ev == NULL || rd_kafka_event_error(ev)) {
        fprintf(stderr, "kstool: alter %s: %s\n", topic, ev ? rd_kafka_event_error_string(ev) : "timed out");
        rc = 1;
    } else {
        size_t                            n = 0;
        const rd_kafka_ConfigResource_t **out =
            rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &n);

        if (n == 1 && rd_kafka_ConfigResource_error(out[0]) != 0) {
            fprintf(stderr, "kstool: alter %s: %s\n", topic, rd_kafka_ConfigResource_error_string(out[0]));
            rc = 1;
        }
    }
    if (ev != NULL)
        rd_kafka_event_destroy(ev);
    rd_kafka_ConfigResource_destroy(res);
    rd_kafka_queue_destroy(queue);
    rd_kafka_destroy(rk);
    return rc;
}

static int
changelog(void)
{
    char   head[1024], key[512], err[200];
    long   offset, size;
    char  *value;

    while (fgets(head, sizeof(head), stdin) != NULL) {
        ks_changelog_t cl;

        if (sscanf(head, "%ld\t%511[^\t]\t%ld", &offset, key, &size) != 3) {
            fprintf(stderr, "kstool: changelog: not '%%o\\t%%k\\t%%S\\n%%s\\n': %s", head);
            return 2;
        }
        printf("%ld\t%s\t", offset, key);
        value = malloc(size > 0 ? (size_t)size + 1 : 1);
        if (value == NULL || (size > 0 && fread(value, 1, (size_t)size, stdin) != (size_t)size) || getchar() != '\n') {
            fprintf(stderr, "kstool: changelog: record at offset %ld cut short\n", offset);
            free(value);
            return 2;
        }
        if (size < 0)
            printf("-");
        else if (ks_changelog_parse(&cl, value, (size_t)size, err, sizeof(err)) != 0)
            printf("?");
        else {
            for (size_t i = 0; i < cl.nheld; i++) {
                json_t *ev = json_loadb(cl.held[i].event, cl.held[i].event_len, 0, NULL);

                printf("%s%s=%s", i ? " " : "", cl.held[i].dependency,
                       json_string_value(json_object_get(ev, "id")) ? json_string_value(json_object_get(ev, "id")) : "?");
                json_decref(ev);
            }
            ks_changelog_free(&cl);
        }
        printf("\n");
        free(value);
    }
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "create-topic") == 0)
        return create_topic(argv[2], argv[3], atoi(argv[4]), argv + 5, argc - 5);
    if (argc >= 5 && strcmp(argv[1], "drained") == 0)
        return drained(argv[2], argv[3], argv + 4, argc - 4);
    if (argc == 4 && strcmp(argv[1], "describe-topic") == 0)
        return describe_topic(argv[2], argv[3]);
    if (argc >= 5 && strcmp(argv[1], "alter-topic") == 0)
        return alter_topic(argv[2], argv[3], argv + 4, argc - 4);
    if (argc == 4 && strcmp(argv[1], "notify-listen") == 0)
        return notify_listen(argv[2], argv[3]);
    if (argc == 2 && strcmp(argv[1], "changelog") == 0)
        return changelog();
    fprintf(stderr, "usage: kstool create-topic BOOTSTRAP TOPIC PARTITIONS [compact] [KEY=VALUE]...\n"
                    "       kstool drained BOOTSTRAP GROUP TOPIC...\n"
                    "       kstool describe-topic BOOTSTRAP TOPIC\n"
                    "       kstool alter-topic BOOTSTRAP TOPIC KEY=VALUE...\n"
                    "       kstool changelog < RECORDS\n"
                    "       kstool notify-listen SOCKET OUT\n");
    return 2;
}
