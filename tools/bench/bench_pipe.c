/* bench_pipe.c — the practical limit of the pipeline, the baseline of make bench: a raw librdkafka
 * transactional pipe with ksensor's topic layout and batch/commit settings but no logic. It runs as
 * one member of consumer group PREFIX, so W processes share the partitions as W workers would.
 *   bench_pipe [-m MIN_MS] [-l FILE] BOOTSTRAP EVENT_TOPIC PREFIX [BATCH [INTERVAL_MS]]
 *                                                                   (defaults 1000 and 100)
 * It consumes EVENT_TOPIC, PREFIX-trigger and PREFIX-action (read_committed); a record of
 * EVENT_TOPIC is produced, same key, value and timestamp, to PREFIX-trigger, one of PREFIX-trigger
 * to PREFIX-action, one of PREFIX-action is only consumed. A transaction holds at most BATCH records
 * and is committed, with the consumed offsets sent to it, every INTERVAL_MS (a fixed tick, like the
 * worker's commit timer) — with -m, also as soon as nothing more is ready to read once it is MIN_MS
 * old (the worker's commitMinInterval rule). With -l, each committed PREFIX-action record appends a
 * line to FILE: milliseconds from its timestamp (the event's, carried along) to the commit, the
 * latency of the same three hops the worker's `&&` path makes. PREFIX-trigger and PREFIX-action are
 * created when missing, with the partition count of EVENT_TOPIC. It runs until SIGTERM or SIGINT,
 * then commits the open batch, leaves the group and exits 0. It measures nothing else: the caller
 * times the drain from outside (kstool drained BOOTSTRAP PREFIX EVENT_TOPIC PREFIX-trigger PREFIX-action).
 *
 * Mirrored from the worker (worker/pipeline/: worker.c, batch.c, topics.c):
 *   producer: transactional.id per process (PREFIX-HOST-PID here, pool-instance there),
 *             transaction.timeout.ms=60000, retry.backoff.ms=10, message.max.bytes=16 MiB,
 *             linger.ms and the partitioner left at librdkafka's defaults, keyed records to
 *             partition UA, RD_KAFKA_MSG_F_COPY, a 30 s timeout on every transactional call;
 *   consumer: group.id=PREFIX, isolation.level=read_committed, enable.auto.commit=false,
 *             auto.offset.reset=earliest, enable.partition.eof=false,
 *             queued.max.messages.kbytes=8192, fetch.max.bytes=3145728, fetch.wait.max.ms=50, the eager
 *             default assignor; a revocation ends the open transaction before the partitions go
 *             (this pipe commits it, the worker aborts it);
 *   topics:   max.message.bytes=16 MiB.
 * Not mirrored: group.instance.id (static membership needs a stable name per process), record
 * headers and the worker's 8 MiB bytes-per-batch limit (records here are small). */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#define TXN_TIMEOUT_MS 30000            /* every transactional call, as in the worker */
#define TXN_ATTEMPTS   5                /* tries of a call that failed with a retriable error */
#define POLL_MS        5                /* longest wait for a record: how late an idle tick commits */
#define MAX_MESSAGE    "16777216"       /* KS_MAX_MESSAGE */

enum { T_EVENT, T_TRIGGER, T_ACTION, NTOPICS };

typedef struct {
    char              names[NTOPICS][256];
    rd_kafka_topic_t *out[NTOPICS];     /* where records of each topic go; none for the action topic */
    rd_kafka_t       *producer, *consumer;
    int               nparts;           /* the most partitions of the three topics */
    int64_t          *next;             /* [topic * nparts + partition]: offset to commit, -1 if none */
    long              batch, records;   /* batch size; records in the open transaction */
    bool              in_txn, failed;   /* a transaction is open; a record of it could not be produced */
    long              consumed, txns, aborts;
    long              min_ms;           /* -m: a drained batch commits once this old; -1 without */
    int64_t           begun_ms;         /* when the open transaction began */
    FILE             *latency;          /* -l: one line per committed action record */
    int64_t          *action_ts;        /* the open batch's action-record timestamps (ms) */
    size_t            nactions, capactions;
} pipe_t;

static volatile sig_atomic_t stopping, ticked;

static void
on_signal(int sig)
{
    if (sig == SIGALRM)
        ticked = 1;
    else
        stopping = 1;
}

static void
die(const char *what, const char *why)
{
    fprintf(stderr, "bench_pipe: %s: %s\n", what, why);
    exit(1);
}

static void
set(rd_kafka_conf_t *conf, const char *key, const char *value)
{
    char err[256];

    if (rd_kafka_conf_set(conf, key, value, err, sizeof(err)) != RD_KAFKA_CONF_OK)
        die(key, err);
}

/* Partition count of TOPIC in the cluster's metadata, -1 when missing. Asks for all topics: a
 * request naming one lets a producer create it with the broker's default count. */
static int
partitions_of(rd_kafka_t *rk, const char *topic)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t             err = rd_kafka_metadata(rk, 1, NULL, &md, 10000);
    int                             n = -1;

    if (err)
        die("metadata", rd_kafka_err2str(err));
    for (int i = 0; i < md->topic_cnt; i++) {
        if (strcmp(md->topics[i].topic, topic) == 0 && md->topics[i].err == 0 && md->topics[i].partition_cnt > 0)
            n = md->topics[i].partition_cnt;
    }
    rd_kafka_metadata_destroy(md);
    return n;
}

/* Creates TOPIC unless it exists; another process creating it at the same moment is fine. */
static void
create_topic(rd_kafka_t *rk, const char *topic, int partitions)
{
    char                            err[256];
    rd_kafka_queue_t               *queue = rd_kafka_queue_new(rk);
    rd_kafka_NewTopic_t            *nt = rd_kafka_NewTopic_new(topic, partitions, -1, err, sizeof(err));
    const rd_kafka_topic_result_t **res;
    rd_kafka_event_t               *ev;
    rd_kafka_resp_err_t             rc;
    size_t                          n;

    if (nt == NULL)
        die(topic, err);
    rd_kafka_NewTopic_set_config(nt, "max.message.bytes", MAX_MESSAGE);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, queue);
    if ((ev = rd_kafka_queue_poll(queue, 30000)) == NULL)
        die(topic, "creating the topic timed out");
    if (rd_kafka_event_error(ev))
        die(topic, rd_kafka_event_error_string(ev));
    res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    rc = n == 1 ? rd_kafka_topic_result_error(res[0]) : RD_KAFKA_RESP_ERR__FAIL;
    if (rc && rc != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        die(topic, n == 1 ? rd_kafka_topic_result_error_string(res[0]) : "no result");
    rd_kafka_event_destroy(ev);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(queue);
}

/* The three topics, the intermediate ones created; sizes the offset table. */
static void
topics_setup(pipe_t *p)
{
    int n = partitions_of(p->producer, p->names[T_EVENT]), tries = 0, ntrigger = -1, naction = -1;

    if (n < 0)
        die(p->names[T_EVENT], "no such topic");
    create_topic(p->producer, p->names[T_TRIGGER], n);
    create_topic(p->producer, p->names[T_ACTION], n);
    /* a topic just created may be missing from metadata for a moment */
    while ((ntrigger = partitions_of(p->producer, p->names[T_TRIGGER])) < 0
           || (naction = partitions_of(p->producer, p->names[T_ACTION])) < 0) {
        if (++tries == 50)
            die(p->names[ntrigger < 0 ? T_TRIGGER : T_ACTION], "not in the metadata after creation");
        usleep(200 * 1000);
    }
    p->nparts = n > ntrigger ? (n > naction ? n : naction) : (ntrigger > naction ? ntrigger : naction);
    p->next = malloc((size_t)(NTOPICS * p->nparts) * sizeof(*p->next));
    if (p->next == NULL)
        die("malloc", "out of memory");
    for (int i = 0; i < NTOPICS * p->nparts; i++)
        p->next[i] = -1;
}

static void
producer_setup(pipe_t *p, const char *bootstrap, const char *prefix)
{
    rd_kafka_conf_t  *conf = rd_kafka_conf_new();
    rd_kafka_error_t *error;
    char              host[64] = "", id[400], err[512];

    if (gethostname(host, sizeof(host) - 1) != 0)
        snprintf(host, sizeof(host), "localhost");
    snprintf(id, sizeof(id), "%s-%s-%ld", prefix, host, (long)getpid());
    set(conf, "bootstrap.servers", bootstrap);
    set(conf, "transactional.id", id);
    set(conf, "transaction.timeout.ms", "60000");
    set(conf, "retry.backoff.ms", "10");
    set(conf, "message.max.bytes", MAX_MESSAGE);
    if ((p->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err))) == NULL)
        die("producer", err);
    topics_setup(p);
    p->out[T_EVENT] = rd_kafka_topic_new(p->producer, p->names[T_TRIGGER], NULL);
    p->out[T_TRIGGER] = rd_kafka_topic_new(p->producer, p->names[T_ACTION], NULL);
    if ((error = rd_kafka_init_transactions(p->producer, TXN_TIMEOUT_MS)) != NULL)
        die("init_transactions", rd_kafka_error_string(error));
}

/* The offsets of the open transaction's records, NULL when it has none. */
static rd_kafka_topic_partition_list_t *
batch_offsets(const pipe_t *p)
{
    rd_kafka_topic_partition_list_t *list = NULL;

    for (int t = 0; t < NTOPICS; t++) {
        for (int i = 0; i < p->nparts; i++) {
            if (p->next[t * p->nparts + i] < 0)
                continue;
            if (list == NULL)
                list = rd_kafka_topic_partition_list_new(NTOPICS * p->nparts);
            rd_kafka_topic_partition_list_add(list, p->names[t], i)->offset = p->next[t * p->nparts + i];
        }
    }
    return list;
}

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
batch_reset(pipe_t *p)
{
    for (int i = 0; i < NTOPICS * p->nparts; i++)
        p->next[i] = -1;
    p->records = 0;
    p->nactions = 0;
    p->in_txn = p->failed = false;
}

/* After a transactional call: 0 when it succeeded, 1 when it should be made again (a retriable
 * error, ATTEMPT < TXN_ATTEMPTS), -1 when the transaction must be aborted; exits when the producer
 * failed for good (fenced by another process with the same transactional.id, for instance). */
static int
txn_check(rd_kafka_error_t *error, const char *what, int attempt)
{
    int rc;

    if (error == NULL)
        return 0;
    fprintf(stderr, "bench_pipe: %s: %s\n", what, rd_kafka_error_string(error));
    if (rd_kafka_error_is_fatal(error))
        exit(1);
    rc = rd_kafka_error_is_retriable(error) && attempt < TXN_ATTEMPTS ? 1 : -1;
    rd_kafka_error_destroy(error);
    return rc;
}

static rd_kafka_error_t *
send_offsets(pipe_t *p, const rd_kafka_topic_partition_list_t *offsets)
{
    rd_kafka_consumer_group_metadata_t *cgmd = rd_kafka_consumer_group_metadata(p->consumer);
    rd_kafka_error_t                   *error;

    error = rd_kafka_send_offsets_to_transaction(p->producer, offsets, cgmd, TXN_TIMEOUT_MS);
    rd_kafka_consumer_group_metadata_destroy(cgmd);
    return error;
}

/* Sends the offsets to the open transaction and commits it: 0, or -1 when it must be aborted. */
static int
txn_commit(pipe_t *p, const rd_kafka_topic_partition_list_t *offsets)
{
    int rc, attempt;

    for (attempt = 1; (rc = txn_check(send_offsets(p, offsets), "send_offsets_to_transaction", attempt)) > 0;)
        attempt++;
    if (rc < 0)
        return rc;
    for (attempt = 1; (rc = txn_check(rd_kafka_commit_transaction(p->producer, TXN_TIMEOUT_MS),
                                      "commit_transaction", attempt)) > 0;)
        attempt++;
    return rc;
}

/* Back to the committed offsets of the aborted batch's partitions: their records are read again. */
static void
rewind_to_committed(pipe_t *p, rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_resp_err_t err = rd_kafka_committed(p->consumer, parts, TXN_TIMEOUT_MS);
    rd_kafka_error_t   *error;

    if (err)
        die("committed offsets", rd_kafka_err2str(err));
    for (int i = 0; i < parts->cnt; i++) {
        if (parts->elems[i].offset < 0)
            parts->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    if ((error = rd_kafka_seek_partitions(p->consumer, parts, TXN_TIMEOUT_MS)) != NULL)
        die("seek", rd_kafka_error_string(error));
}

static void
batch_abort(pipe_t *p, rd_kafka_topic_partition_list_t *offsets, bool revoking)
{
    rd_kafka_error_t *error;

    for (int attempt = 1; (error = rd_kafka_abort_transaction(p->producer, TXN_TIMEOUT_MS)) != NULL; attempt++) {
        if (rd_kafka_error_is_fatal(error) || !rd_kafka_error_is_retriable(error) || attempt == TXN_ATTEMPTS)
            die("abort_transaction", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
    p->aborts++;
    if (!revoking && offsets != NULL)
        rewind_to_committed(p, offsets);
}

/* Ends the open transaction: committed with its offsets, or aborted when that fails. When the
 * partitions are being revoked, an aborted batch is left to their next owner. */
static void
batch_end(pipe_t *p, bool revoking)
{
    rd_kafka_topic_partition_list_t *offsets;

    if (!p->in_txn)
        return;
    offsets = batch_offsets(p);
    if (!p->failed && offsets != NULL && txn_commit(p, offsets) == 0) {
        int64_t now = now_ms();

        p->txns++;
        for (size_t i = 0; i < p->nactions && p->latency != NULL; i++)
            fprintf(p->latency, "%lld\n", (long long)(now - p->action_ts[i]));
    } else
        batch_abort(p, offsets, revoking);
    if (offsets != NULL)
        rd_kafka_topic_partition_list_destroy(offsets);
    batch_reset(p);
    rd_kafka_poll(p->producer, 0);          /* errors and logs; no delivery reports are asked for */
}

/* Eager rebalancing: the open transaction is committed before the partitions go, while the
 * group's generation still accepts its offsets. */
static void
on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        rd_kafka_assign(rk, parts);
        fprintf(stderr, "bench_pipe: assigned %d partitions\n", parts->cnt);   /* the caller waits for it */
        return;
    }
    batch_end(opaque, true);
    rd_kafka_assign(rk, NULL);
}

static void
consumer_setup(pipe_t *p, const char *bootstrap, const char *group)
{
    rd_kafka_conf_t                 *conf = rd_kafka_conf_new();
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(NTOPICS);
    char                             err[512];

    set(conf, "bootstrap.servers", bootstrap);
    set(conf, "group.id", group);
    set(conf, "isolation.level", "read_committed");
    set(conf, "enable.auto.commit", "false");
    set(conf, "auto.offset.reset", "earliest");
    set(conf, "enable.partition.eof", "false");
    set(conf, "queued.max.messages.kbytes", "8192");
    set(conf, "fetch.max.bytes", "3145728");
    set(conf, "fetch.wait.max.ms", "50");
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_opaque(conf, p);
    if ((p->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err))) == NULL)
        die("consumer", err);
    rd_kafka_poll_set_consumer(p->consumer);
    for (int t = 0; t < NTOPICS; t++)
        rd_kafka_topic_partition_list_add(topics, p->names[t], RD_KAFKA_PARTITION_UA);
    if (rd_kafka_subscribe(p->consumer, topics) != 0)
        die("subscribe", "failed");
    rd_kafka_topic_partition_list_destroy(topics);
}

static int
topic_index(const pipe_t *p, const char *topic)
{
    for (int t = 0; t < NTOPICS; t++) {
        if (strcmp(p->names[t], topic) == 0)
            return t;
    }
    return -1;
}

/* Copies the record, key and value, to TOPIC in the open transaction; nothing waits for it. */
static void
produce(pipe_t *p, rd_kafka_topic_t *topic, const rd_kafka_message_t *m)
{
    rd_kafka_resp_err_t err;

    while ((err = rd_kafka_producev(p->producer, RD_KAFKA_V_RKT(topic), RD_KAFKA_V_KEY(m->key, m->key_len),
                                    RD_KAFKA_V_VALUE(m->payload, m->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                    RD_KAFKA_V_TIMESTAMP(rd_kafka_message_timestamp(m, NULL)),
                                    RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(p->producer, 10);     /* the local queue is full: let it drain */
    if (err) {
        fprintf(stderr, "bench_pipe: produce to %s: %s\n", rd_kafka_topic_name(topic), rd_kafka_err2str(err));
        p->failed = true;                   /* the batch will be aborted */
    }
}

/* One consumed record into the open transaction (begun when needed); the message is destroyed. */
static void
forward(pipe_t *p, rd_kafka_message_t *m)
{
    int t;

    if (m->err) {
        fprintf(stderr, "bench_pipe: consumer: %s\n", rd_kafka_message_errstr(m));
        if (m->err == RD_KAFKA_RESP_ERR__FATAL)
            exit(1);
        rd_kafka_message_destroy(m);
        return;
    }
    if ((t = topic_index(p, rd_kafka_topic_name(m->rkt))) < 0 || m->partition >= p->nparts)
        die(rd_kafka_topic_name(m->rkt), "a record from an unexpected topic or partition");
    if (!p->in_txn) {
        rd_kafka_error_t *error = rd_kafka_begin_transaction(p->producer);

        if (error != NULL)
            die("begin_transaction", rd_kafka_error_string(error));
        p->in_txn = true;
        p->begun_ms = now_ms();
    }
    if (p->out[t] != NULL && !p->failed)
        produce(p, p->out[t], m);
    if (t == T_ACTION && p->latency != NULL) {
        if (p->nactions == p->capactions) {
            p->capactions = p->capactions ? 2 * p->capactions : 1024;
            if ((p->action_ts = realloc(p->action_ts, p->capactions * sizeof(*p->action_ts))) == NULL)
                die("realloc", "out of memory");
        }
        p->action_ts[p->nactions++] = rd_kafka_message_timestamp(m, NULL);
    }
    p->next[t * p->nparts + m->partition] = m->offset + 1;
    p->consumed++;
    rd_kafka_message_destroy(m);
    if (++p->records >= p->batch)
        batch_end(p, false);
}

static void
signals_setup(void)
{
    struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };

    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);
}

/* The commit tick: SIGALRM every INTERVAL_MS, so no record costs a clock reading. */
static void
tick_start(long interval_ms)
{
    struct itimerval it = { .it_interval = { .tv_sec = interval_ms / 1000, .tv_usec = interval_ms % 1000 * 1000 } };

    it.it_value = it.it_interval;
    if (setitimer(ITIMER_REAL, &it, NULL) != 0)
        die("setitimer", "failed");
}

/* How long the loop may wait for a record: with -m, a drained open batch waits only until it is
 * MIN_MS old; otherwise POLL_MS (how late an idle tick commits). */
static int
poll_wait(const pipe_t *p)
{
    int64_t left;

    if (p->min_ms < 0 || !p->in_txn)
        return POLL_MS;
    left = p->begun_ms + p->min_ms - now_ms();
    return left <= 0 ? 0 : left < POLL_MS ? (int)left : POLL_MS;
}

int
main(int argc, char **argv)
{
    pipe_t p = { .batch = 1000, .min_ms = -1 };
    long   interval_ms = 100;
    int    opt;

    while ((opt = getopt(argc, argv, "m:l:")) != -1) {
        if (opt == 'm')
            p.min_ms = atol(optarg);
        else if (opt == 'l' && (p.latency = fopen(optarg, "w")) == NULL)
            die(optarg, "cannot be written");
        else if (opt != 'l')
            return 2;
    }
    argc -= optind - 1;
    argv += optind - 1;
    if (argc < 4 || argc > 6) {
        fprintf(stderr, "usage: bench_pipe [-m MIN_MS] [-l FILE] BOOTSTRAP EVENT_TOPIC PREFIX [BATCH [INTERVAL_MS]]\n");
        return 2;
    }
    if (argc > 4)
        p.batch = atol(argv[4]);
    if (argc > 5)
        interval_ms = atol(argv[5]);
    if (p.batch <= 0 || interval_ms <= 0 || strlen(argv[2]) > 200 || strlen(argv[3]) > 200) {
        fprintf(stderr, "bench_pipe: BATCH and INTERVAL_MS must be positive, the names at most 200 bytes\n");
        return 2;
    }
    snprintf(p.names[T_EVENT], sizeof(p.names[T_EVENT]), "%s", argv[2]);
    snprintf(p.names[T_TRIGGER], sizeof(p.names[T_TRIGGER]), "%s-trigger", argv[3]);
    snprintf(p.names[T_ACTION], sizeof(p.names[T_ACTION]), "%s-action", argv[3]);

    signals_setup();                        /* a SIGTERM during the setup stops the pipe after it */
    producer_setup(&p, argv[1], argv[3]);
    consumer_setup(&p, argv[1], argv[3]);
    tick_start(interval_ms);
    while (!stopping) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(p.consumer, 0);

        /* nothing ready: with -m an old enough batch commits now, else wait for a record */
        if (m == NULL && p.min_ms >= 0 && p.in_txn && poll_wait(&p) == 0)
            batch_end(&p, false);
        else if (m == NULL)
            m = rd_kafka_consumer_poll(p.consumer, poll_wait(&p));
        if (m != NULL)
            forward(&p, m);
        if (ticked) {
            ticked = 0;
            batch_end(&p, false);
        }
    }

    batch_end(&p, false);
    rd_kafka_consumer_close(p.consumer);    /* the revocation finds no open transaction */
    fprintf(stderr, "bench_pipe: %ld records consumed, %ld transactions committed, %ld aborted\n", p.consumed,
            p.txns, p.aborts);
    rd_kafka_topic_destroy(p.out[T_EVENT]);
    rd_kafka_topic_destroy(p.out[T_TRIGGER]);
    rd_kafka_destroy(p.consumer);
    rd_kafka_destroy(p.producer);
    free(p.next);
    free(p.action_ts);
    if (p.latency != NULL && fclose(p.latency) != 0)
        die("latency file", "cannot be written");
    return 0;
}
