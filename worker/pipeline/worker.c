/* worker.c — the worker's loop, Kafka handles, rebalances and the batch commit protocol.
 *
 * Records of all three stages are consumed by one consumer and handled in the order they arrive per
 * partition. A batch opens a Kafka transaction at its first record and commits after commitInterval
 * or batchSize records: changelog records are produced, the consumed offsets are sent with the group
 * metadata (KIP-447), the transaction commits, then each task's SQLite transaction commits. An
 * abortable error aborts, rolls SQLite back and rewinds to the committed offsets; a fatal one exits
 * (the supervisor respawns the worker). */
#include "pipeline/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "pipeline/crash.h"

#define TXN_TIMEOUT_MS 30000
#define EXIT_FATAL     3
#define MAX_ABORTS_IN_A_ROW 5
#define DLT_MAX_RECORD      (900 * 1024)
/* A batch also commits once it has produced this much: the producer keeps every record of an open
 * transaction in memory, and big events must not make a worker's memory grow with batchSize. */
#define BATCH_MAX_BYTES     (8 * 1024 * 1024)

typedef struct trigger_key {
    char               *key;    /* "<sensor>/<trigger>" */
    const ks_trigger_t *trigger;
} trigger_key_t;

static int
key_cmp(const void *a, const void *b)
{
    return strcmp(((const trigger_key_t *)a)->key, ((const trigger_key_t *)b)->key);
}

static void
index_triggers(ks_worker_t *w)
{
    size_t n = 0;

    for (size_t s = 0; s < w->pool->nsensors; s++)
        n += w->pool->sensors[s]->ntriggers;
    w->keys = ks_calloc(n, sizeof(*w->keys));
    for (size_t s = 0; s < w->pool->nsensors; s++) {
        const ks_sensor_t *sensor = w->pool->sensors[s];

        for (size_t t = 0; t < sensor->ntriggers; t++)
            w->keys[w->nkeys++] = (trigger_key_t){ ks_asprintf("%s/%s", sensor->name, sensor->triggers[t].name),
                                                   &sensor->triggers[t] };
    }
    qsort(w->keys, w->nkeys, sizeof(*w->keys), key_cmp);
    w->last_log = ks_calloc(n, sizeof(*w->last_log));
    w->rate_next = ks_calloc(n, sizeof(*w->rate_next));
}

/* The internal topics by name: which set, and whether trigger or action (what the consumer reads). */
typedef enum { REF_TRIGGER, REF_ACTION } ref_kind_t;

typedef struct topic_ref {
    const char     *name;
    ks_topic_set_t *set;
    ref_kind_t      kind;
} topic_ref_t;

static int
ref_cmp(const void *a, const void *b)
{
    return strcmp(((const topic_ref_t *)a)->name, ((const topic_ref_t *)b)->name);
}

static const topic_ref_t *
topic_ref(const ks_worker_t *w, const char *name)
{
    topic_ref_t probe = { name, NULL, REF_TRIGGER };

    return bsearch(&probe, w->topic_index, w->ntopic_index, sizeof(*w->topic_index), ref_cmp);
}

/* One set for the pool, or one per sensor (Argo's per-sensor names); fails on a name Kafka refuses. */
static void
sets_init(ks_worker_t *w)
{
    bool per_sensor = w->cfg->eventbus.topic_layout == KS_LAYOUT_PER_SENSOR;

    w->nsets = per_sensor ? w->pool->nsensors : 1;
    w->sets = ks_calloc(w->nsets ? w->nsets : 1, sizeof(*w->sets));
    w->topic_index = ks_calloc(2 * (w->nsets ? w->nsets : 1), sizeof(*w->topic_index));
    for (size_t i = 0; i < w->nsets; i++) {
        ks_topic_set_t *set = &w->sets[i];
        char            prefix[400];

        if (per_sensor)
            snprintf(prefix, sizeof(prefix), "%s-%s", w->cfg->eventbus.topic, w->pool->sensors[i]->name);
        else
            snprintf(prefix, sizeof(prefix), "%s", w->cfg->pool);
        if (strlen(prefix) + sizeof("-trigger") > 249) {
            ks_log_error("topic names %s-trigger, -action, -state are longer than Kafka allows (249)", prefix);
            exit(EXIT_FATAL);
        }
        snprintf(set->trigger, sizeof(set->trigger), "%.240s-trigger", prefix);
        snprintf(set->action, sizeof(set->action), "%.240s-action", prefix);
        snprintf(set->state, sizeof(set->state), "%.240s-state", prefix);
        w->topic_index[w->ntopic_index++] = (topic_ref_t){ set->trigger, set, REF_TRIGGER };
        w->topic_index[w->ntopic_index++] = (topic_ref_t){ set->action, set, REF_ACTION };
    }
    qsort(w->topic_index, w->ntopic_index, sizeof(*w->topic_index), ref_cmp);
}

ks_topic_set_t *
ks_worker_set(const ks_worker_t *w, const ks_sensor_t *sensor)
{
    return w->cfg->eventbus.topic_layout == KS_LAYOUT_PER_SENSOR ? &w->sets[sensor->index] : &w->sets[0];
}

const ks_trigger_t *
ks_worker_trigger(const ks_worker_t *w, const char *key, size_t len, size_t *slot)
{
    char           buf[600];
    trigger_key_t  probe = { buf, NULL }, *found;

    if (len >= sizeof(buf))
        return NULL;
    memcpy(buf, key, len);
    buf[len] = '\0';
    found = bsearch(&probe, w->keys, w->nkeys, sizeof(*w->keys), key_cmp);
    if (found != NULL && slot != NULL)
        *slot = (size_t)(found - w->keys);
    return found ? found->trigger : NULL;
}

static void
set_conf(rd_kafka_conf_t *conf, const char *key, const char *value)
{
    char err[512];

    if (rd_kafka_conf_set(conf, key, value, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        ks_log_error("rd_kafka_conf_set(%s) failed: %s", key, err);
        exit(EXIT_FATAL);
    }
}

rd_kafka_conf_t *
ks_worker_conf(const ks_worker_t *w)
{
    return ks_kafka_conf(w->cfg, w->brokers);
}

/* librdkafka's own lines (from its threads) join ours, so a daemon's log file has them. eventbus
 * .librdkafka goes to every handle, so "a consumer property, ignored by this producer" is expected:
 * debug, not warning. */
static void
kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    ks_log_level_t ours = level <= 3 ? KS_LOG_ERROR : level == 4 ? KS_LOG_WARNING : level == 5 ? KS_LOG_NOTICE
                        : level == 6 ? KS_LOG_INFO : KS_LOG_DEBUG;

    if (strcmp(fac, "CONFWARN") == 0 && strstr(buf, "will be ignored by this") != NULL)
        ours = KS_LOG_DEBUG;
    ks_log_write(ours, "librdkafka %s %s: %s", rd_kafka_name(rk), fac, buf);
}

rd_kafka_conf_t *
ks_kafka_conf(const ks_config_t *cfg, const char *brokers)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();

    rd_kafka_conf_set_log_cb(conf, kafka_log);
    set_conf(conf, "bootstrap.servers", brokers);
    if (cfg->eventbus.tls.enabled || cfg->eventbus.sasl.mechanism[0] != '\0')
        set_conf(conf, "security.protocol", cfg->eventbus.tls.enabled
                 ? (cfg->eventbus.sasl.mechanism[0] ? "sasl_ssl" : "ssl") : "sasl_plaintext");
    if (cfg->eventbus.tls.ca_file[0] != '\0')
        set_conf(conf, "ssl.ca.location", cfg->eventbus.tls.ca_file);
    if (cfg->eventbus.tls.cert_file[0] != '\0') {
        set_conf(conf, "ssl.certificate.location", cfg->eventbus.tls.cert_file);
        set_conf(conf, "ssl.key.location", cfg->eventbus.tls.key_file);
    }
    if (cfg->eventbus.tls.insecure_skip_verify)
        set_conf(conf, "enable.ssl.certificate.verification", "false");
    if (cfg->eventbus.sasl.mechanism[0] != '\0') {
        char  password[1024] = "";
        FILE *fp = fopen(cfg->eventbus.sasl.password_file, "r");

        if (fp == NULL || fgets(password, sizeof(password), fp) == NULL) {
            ks_log_error("cannot read eventbus.sasl.passwordFile %s: %s", cfg->eventbus.sasl.password_file,
                         strerror(errno));
            exit(EXIT_FATAL);
        }
        fclose(fp);
        password[strcspn(password, "\r\n")] = '\0';
        set_conf(conf, "sasl.mechanisms", cfg->eventbus.sasl.mechanism);
        set_conf(conf, "sasl.username", cfg->eventbus.sasl.username);
        set_conf(conf, "sasl.password", password);
    }
    for (size_t i = 0; i < cfg->eventbus.librdkafka.n; i++)
        set_conf(conf, cfg->eventbus.librdkafka.kv[i].key, cfg->eventbus.librdkafka.kv[i].value);
    return conf;
}

rd_kafka_headers_t *
ks_worker_headers(const char *dependency, const char *firing_id)
{
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(3);

    rd_kafka_header_add(hdrs, KS_FORMAT_HEADER, -1, KS_FORMAT_VERSION, -1);
    if (dependency != NULL)
        rd_kafka_header_add(hdrs, KS_DEP_HEADER, -1, dependency, -1);
    if (firing_id != NULL)
        rd_kafka_header_add(hdrs, KS_FIRING_HEADER, -1, firing_id, -1);
    return hdrs;
}

int
ks_worker_produce(ks_worker_t *w, const char *topic, int32_t partition, const char *key, const void *value,
                  size_t len, rd_kafka_headers_t *headers, void *opaque)
{
    rd_kafka_resp_err_t err;

    for (;;) {
        err = rd_kafka_producev(w->producer, RD_KAFKA_V_TOPIC(topic),
                                RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
                                RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
                                RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        rd_kafka_poll(w->producer, 100);    /* the local queue is full: let deliveries drain it */
    }
    if (err) {
        rd_kafka_headers_destroy(headers);
        ks_log_error("rd_kafka_producev(%s) failed: %s", topic, rd_kafka_err2str(err));
        return -1;
    }
    w->batch_bytes += len;
    return 0;
}

void
ks_worker_after_commit(ks_worker_t *w, char *line)
{
    ks_after_commit_t *ac = ks_calloc(1, sizeof(*ac));

    ac->line = line;
    *w->after_tail = ac;
    w->after_tail = &ac->next;
}

int
ks_worker_bad_record(ks_worker_t *w, const rd_kafka_message_t *msg, const char *reason)
{
    time_t now = time(NULL);

    w->stats.events_bad++;
    w->bad_since_log++;
    if (now != w->last_bad_log) {
        ks_log_warning("bad record %s/%d/%lld skipped: %s (%llu bad record%s since the last report)",
                       rd_kafka_topic_name(msg->rkt), (int)msg->partition, (long long)msg->offset, reason,
                       (unsigned long long)w->bad_since_log, w->bad_since_log == 1 ? "" : "s");
        w->last_bad_log = now;
        w->bad_since_log = 0;
    }
    if (w->cfg->eventbus.dead_letter_topic[0] == '\0')
        return 0;
    if (msg->len > DLT_MAX_RECORD) {
        /* a broker's default limit is about 1 MB: a bigger record would fail the whole batch */
        ks_log_warning("bad record %s/%d/%lld is too large for the dead-letter topic (%zu bytes)",
                       rd_kafka_topic_name(msg->rkt), (int)msg->partition, (long long)msg->offset, msg->len);
        return 0;
    }
    return ks_worker_produce(w, w->cfg->eventbus.dead_letter_topic, -1, NULL, msg->payload, msg->len,
                             ks_worker_headers(NULL, NULL), NULL);
}

/* Delivery reports: a changelog record's offset tells its task how far the changelog reaches. */
static void
on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (msg->err == 0 && msg->_private != NULL)
        ks_trigger_task_delivered(msg->_private, msg->offset);
}

static void
batch_reset(ks_worker_t *w)
{
    while (w->after_commit != NULL) {
        ks_after_commit_t *next = w->after_commit->next;

        free(w->after_commit->line);
        free(w->after_commit);
        w->after_commit = next;
    }
    w->after_tail = &w->after_commit;
    if (w->batch_offsets != NULL)
        rd_kafka_topic_partition_list_destroy(w->batch_offsets);
    w->batch_offsets = rd_kafka_topic_partition_list_new(16);
    w->batch_records = 0;
    w->batch_bytes = 0;
    w->in_txn = false;
}

/* Seeks every assigned partition back to its committed offset: the aborted batch is read again. */
static void
rewind_to_committed(ks_worker_t *w)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_resp_err_t              err = rd_kafka_assignment(w->consumer, &parts);
    rd_kafka_error_t                *error;

    if (err || parts == NULL) {
        ks_log_error("rd_kafka_assignment failed: %s", rd_kafka_err2str(err));
        exit(EXIT_FATAL);
    }
    if (parts->cnt > 0 && (err = rd_kafka_committed(w->consumer, parts, TXN_TIMEOUT_MS))) {
        ks_log_error("rd_kafka_committed failed: %s", rd_kafka_err2str(err));
        exit(EXIT_FATAL);
    }
    for (int i = 0; i < parts->cnt; i++) {
        if (parts->elems[i].offset < 0)
            parts->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    if (parts->cnt > 0 && (error = rd_kafka_seek_partitions(w->consumer, parts, TXN_TIMEOUT_MS)) != NULL) {
        ks_log_error("rd_kafka_seek_partitions failed: %s", rd_kafka_error_string(error));
        exit(EXIT_FATAL);
    }
    rd_kafka_topic_partition_list_destroy(parts);
}

/* Aborts the open batch; with rewind, the consumer goes back to the committed offsets so the batch
 * is read again (not on a revocation: the partitions leave). */
static void
batch_abort(ks_worker_t *w, const char *why, bool rewind)
{
    rd_kafka_error_t *error;

    ks_log_warning("aborting the batch of %zu records: %s", w->batch_records, why);
    w->stats.aborts++;
    if (++w->aborts_in_a_row > MAX_ABORTS_IN_A_ROW) {
        /* the same failure again and again: let the supervisor restart the worker, with back-off */
        ks_log_error("%d batches in a row aborted; the worker exits", MAX_ABORTS_IN_A_ROW + 1);
        exit(EXIT_FATAL);
    }
    if ((error = rd_kafka_abort_transaction(w->producer, TXN_TIMEOUT_MS)) != NULL) {
        ks_log_error("rd_kafka_abort_transaction failed: %s", rd_kafka_error_string(error));
        exit(EXIT_FATAL);
    }
    for (size_t s = 0; s < w->nsets; s++) {
        for (int p = 0; p < w->sets[s].ntriggers; p++)
            if (w->sets[s].triggers[p] != NULL)
                ks_trigger_task_rollback(w->sets[s].triggers[p]);
        for (int p = 0; p < w->sets[s].nactions; p++) {
            if (w->sets[s].actions[p] != NULL) {
                ks_action_task_rollback(w->sets[s].actions[p]);
                ks_http_abort(w->sets[s].actions[p]);
            }
        }
    }
    batch_reset(w);
    if (rewind)
        rewind_to_committed(w);
}

/* Ends a transaction call: 0 on success, -1 after aborting the batch, exits on a fatal error. */
static int
txn_result(ks_worker_t *w, rd_kafka_error_t *error, const char *what)
{
    char why[512];

    if (error == NULL)
        return 0;
    snprintf(why, sizeof(why), "%s: %s", what, rd_kafka_error_string(error));
    if (rd_kafka_error_is_fatal(error)) {
        ks_log_error("%s (fatal; the worker exits)", why);
        exit(EXIT_FATAL);
    }
    rd_kafka_error_destroy(error);
    batch_abort(w, why, true);
    return -1;
}

static void
batch_begin(ks_worker_t *w)
{
    rd_kafka_error_t *error = rd_kafka_begin_transaction(w->producer);

    if (error != NULL) {
        ks_log_error("rd_kafka_begin_transaction failed: %s", rd_kafka_error_string(error));
        exit(EXIT_FATAL);
    }
    w->in_txn = true;
}

static void
batch_commit(ks_worker_t *w)
{
    rd_kafka_consumer_group_metadata_t *cgmd;
    rd_kafka_error_t                   *error;
    rd_kafka_resp_err_t                 err;
    ks_after_commit_t                  *ac;
    int64_t                             started = ks_monotonic_us();

    if (!w->in_txn)
        return;
    for (size_t s = 0; s < w->nsets; s++) {
        for (int p = 0; p < w->sets[s].ntriggers; p++) {
            if (w->sets[s].triggers[p] != NULL && ks_trigger_task_flush(w, w->sets[s].triggers[p]) != 0) {
                batch_abort(w, "changelog records could not be produced", true);
                return;
            }
        }
    }
    ks_crash_point("before-kafka-commit");
    cgmd = rd_kafka_consumer_group_metadata(w->consumer);
    error = rd_kafka_send_offsets_to_transaction(w->producer, w->batch_offsets, cgmd, TXN_TIMEOUT_MS);
    rd_kafka_consumer_group_metadata_destroy(cgmd);
    if (txn_result(w, error, "rd_kafka_send_offsets_to_transaction") != 0)
        return;
    if (txn_result(w, rd_kafka_commit_transaction(w->producer, TXN_TIMEOUT_MS), "rd_kafka_commit_transaction") != 0)
        return;
    rd_kafka_poll(w->producer, 0);          /* delivery reports: the changelog positions */
    if (w->embedded && (err = rd_kafka_commit(w->consumer, w->batch_offsets, 0)) != 0)
        ks_log_warning("embedded broker: committing offsets failed: %s", rd_kafka_err2str(err));
    ks_crash_point("after-kafka-commit");
    ks_crash_point("before-sqlite-commit");
    for (size_t s = 0; s < w->nsets; s++) {
        /* Kafka has the batch; a file that fails to commit catches up at the next start */
        for (int p = 0; p < w->sets[s].ntriggers; p++) {
            if (w->sets[s].triggers[p] != NULL && ks_trigger_task_commit(w->sets[s].triggers[p]) != 0)
                exit(EXIT_FATAL);
        }
        for (int p = 0; p < w->sets[s].nactions; p++) {
            if (w->sets[s].actions[p] != NULL && ks_action_task_commit(w->sets[s].actions[p]) != 0)
                exit(EXIT_FATAL);
        }
    }
    /* log actions: written right after the commits, so never twice; a crash between the Kafka
     * commit and this write loses the lines of the batch (at most once) */
    for (ac = w->after_commit; ac != NULL; ac = ac->next)
        ks_log_notice("%s", ac->line);
    ks_crash_point("after-sqlite-commit");
    w->stats.batches++;
    w->aborts_in_a_row = 0;
    ks_hist_observe(&w->stats.commit, ks_monotonic_us() - started);
    batch_reset(w);
    ks_http_start_ready(w, true);   /* their ledger rows are durable now */
}

static void
track(ks_worker_t *w, const char *topic, int32_t partition, int64_t next)
{
    rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(w->batch_offsets, topic, partition);

    if (tp == NULL)
        tp = rd_kafka_topic_partition_list_add(w->batch_offsets, topic, partition);
    tp->offset = next;
}

void
ks_worker_pause(ks_worker_t *w, const char *topic, int32_t partition, bool pause)
{
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_resp_err_t              err;

    rd_kafka_topic_partition_list_add(parts, topic, partition);
    err = pause ? rd_kafka_pause_partitions(w->consumer, parts) : rd_kafka_resume_partitions(w->consumer, parts);
    if (err)
        ks_log_error("%s %s/%d failed: %s", pause ? "pausing" : "resuming", topic, (int)partition, rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(parts);
}

void
ks_worker_begin(ks_worker_t *w)
{
    if (!w->in_txn)
        batch_begin(w);
}

void
ks_worker_release(ks_worker_t *w, const char *topic, int32_t partition, int64_t next_offset)
{
    if (!w->in_txn)
        batch_begin(w);
    track(w, topic, partition, next_offset);
}

static int
dispatch(ks_worker_t *w, rd_kafka_message_t *msg)
{
    const char        *topic = rd_kafka_topic_name(msg->rkt);
    const topic_ref_t *ref;
    ks_topic_set_t    *set;

    if (strcmp(topic, w->topic_event) == 0)
        return ks_event_stage(w, msg);
    if ((ref = topic_ref(w, topic)) == NULL)
        return 0;
    set = ref->set;
    if (ref->kind == REF_TRIGGER) {
        if (msg->partition >= set->ntriggers || set->triggers[msg->partition] == NULL)
            return -1;
        return ks_trigger_stage(w, set->triggers[msg->partition], msg);
    }
    if (msg->partition >= set->nactions || set->actions[msg->partition] == NULL)
        return -1;
    return ks_action_stage(w, set->actions[msg->partition], msg);
}

/* One record through its stage, in the open batch (opened when needed); the message is destroyed.
 * Returns -1 when the batch aborted. */
static int
handle(ks_worker_t *w, rd_kafka_message_t *msg)
{
    int rc;

    if (!w->in_txn)
        batch_begin(w);
    rc = dispatch(w, msg);
    if (rc < 0) {
        rd_kafka_message_destroy(msg);
        batch_abort(w, "a record could not be processed", true);
        return -1;
    }
    if (rc == 0)
        track(w, rd_kafka_topic_name(msg->rkt), msg->partition, msg->offset + 1);
    rd_kafka_message_destroy(msg);
    if (++w->batch_records >= (size_t)w->cfg->batch_size || w->batch_bytes >= BATCH_MAX_BYTES)
        batch_commit(w);
    return 0;
}

/* Drains the consumer without blocking; a full batch commits on the spot. */
static void
drain(ks_worker_t *w)
{
    rd_kafka_message_t *msg;

    while (!w->stopping && (msg = rd_kafka_consumer_poll(w->consumer, 0)) != NULL) {
        if (msg->err) {
            if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                ks_log_warning("consumer: %s", rd_kafka_message_errstr(msg));
            if (msg->err == RD_KAFKA_RESP_ERR__FATAL)
                exit(EXIT_FATAL);
            rd_kafka_message_destroy(msg);
            continue;
        }
        ks_crash_point("after-consume");
        if (handle(w, msg) != 0)
            return;
    }
    rd_kafka_poll(w->producer, 0);
}

static void
on_wake(struct ev_loop *loop, ev_io *io, int revents)
{
    ks_worker_t *w = io->data;
    char         buf[64];

    (void)loop;
    (void)revents;
    while (read(w->wake[0], buf, sizeof(buf)) > 0)
        ;
    drain(w);
}

/* Before the loop waits: http calls waiting for their rows to commit should not wait for the timer. */
static void
on_prepare(struct ev_loop *loop, ev_prepare *prepare, int revents)
{
    ks_worker_t *w = prepare->data;

    (void)loop;
    (void)revents;
    if (w->http_uncommitted > 0)
        batch_commit(w);
}

static void
on_commit_timer(struct ev_loop *loop, ev_timer *timer, int revents)
{
    ks_worker_t *w = timer->data;

    (void)loop;
    (void)revents;
    drain(w);           /* also catches records whose wake-up raced with the last drain */
    batch_commit(w);
}

static void
on_stop_deadline(struct ev_loop *loop, ev_timer *timer, int revents)
{
    ks_worker_t *w = timer->data;

    (void)revents;
    ks_log_warning("%zu http call%s still under way after %.1f s: left to the partition's next owner",
                   w->http_active, w->http_active == 1 ? "" : "s", (double)w->cfg->shutdown_timeout_ms / 2000.);
    ev_break(loop, EVBREAK_ALL);
}

/* No more records are read; http calls under way may finish (for half of shutdownTimeout), then the
 * batch commits and the consumer closes. */
static void
worker_stop(ks_worker_t *w, const char *why)
{
    double wait_s = (double)w->cfg->shutdown_timeout_ms / 2000.;

    w->stopping = true;
    if (w->http_active == 0) {
        ks_log_notice("%s: finishing the batch and closing the consumer", why);
        ev_break(w->loop, EVBREAK_ALL);
        return;
    }
    ks_log_notice("%s: waiting up to %.1f s for %zu http call%s under way, then finishing the batch", why, wait_s,
                  w->http_active, w->http_active == 1 ? "" : "s");
    batch_commit(w);                /* calls whose rows were in the open batch may start */
    ev_timer_init(&w->stop_deadline, on_stop_deadline, wait_s, 0.);
    w->stop_deadline.data = w;
    ev_timer_start(w->loop, &w->stop_deadline);
}

/* A second signal stops at once. Ctrl-C reaches the supervisor and its workers alike, so the
 * supervisor's end-of-file comes with the first signal, in either order: it is not a second one. */
static void
on_stop_signal(struct ev_loop *loop, ev_signal *sig, int revents)
{
    ks_worker_t *w = sig->data;
    const char  *name = sig->signum == SIGTERM ? "SIGTERM" : "SIGINT";

    (void)revents;
    if (++w->stop_signals > 1) {
        ks_log_notice("%s again: not waiting for the http calls under way", name);
        ev_break(loop, EVBREAK_ALL);
    } else if (!w->stopping) {
        worker_stop(w, name);
    }
}

static void
on_reopen_signal(struct ev_loop *loop, ev_signal *sig, int revents)
{
    ks_worker_t *w = sig->data;

    (void)loop;
    (void)revents;
    if (ks_log_open(w->cfg->log.file) != 0)
        ks_log_error("SIGUSR1: cannot reopen the log file; logging goes on where it was");
}

/* The assignment's size and how far the consumer is behind the high watermarks (as last fetched). */
static void
measure_assignment(ks_worker_t *w)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    int64_t                          lag = 0, low, high;

    w->stats.partitions = 0;
    w->stats.lag = -1;
    if (rd_kafka_assignment(w->consumer, &parts) != 0 || parts == NULL)
        return;
    w->stats.partitions = parts->cnt;
    if (parts->cnt == 0 || rd_kafka_position(w->consumer, parts) == 0) {
        for (int i = 0; i < parts->cnt; i++) {
            const rd_kafka_topic_partition_t *tp = &parts->elems[i];

            if (tp->offset < 0 || rd_kafka_get_watermark_offsets(w->consumer, tp->topic, tp->partition,
                                                                 &low, &high) != 0 || high < 0) {
                lag = -1;
                break;
            }
            lag += high > tp->offset ? high - tp->offset : 0;
        }
        w->stats.lag = lag;
    }
    rd_kafka_topic_partition_list_destroy(parts);
}

/* Sends the counters to the supervisor; a full socket drops this report (the next one follows). */
static void
report_send(ks_worker_t *w)
{
    if (w->sup_fd < 0)
        return;
    w->stats.version = KS_REPORT_VERSION;
    w->stats.slot = w->slot;
    w->stats.generation = w->generation;
    w->stats.pid = (int32_t)getpid();
    w->stats.ready = w->assigned;
    measure_assignment(w);
    if (send(w->sup_fd, &w->stats, sizeof(w->stats), MSG_DONTWAIT | MSG_NOSIGNAL) < 0
        && errno != EAGAIN && errno != EWOULDBLOCK)
        ks_log_debug("report to the supervisor: %s", strerror(errno));
}

static void
on_report_timer(struct ev_loop *loop, ev_timer *timer, int revents)
{
    (void)loop;
    (void)revents;
    report_send(timer->data);
}

/* The supervisor writes nothing: end-of-file (or an error) means it wants this worker to stop. */
static void
on_supervisor(struct ev_loop *loop, ev_io *io, int revents)
{
    char    buf[64];
    ssize_t n = recv(io->fd, buf, sizeof(buf), MSG_DONTWAIT);

    (void)loop;
    (void)revents;
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
        return;
    ev_io_stop(loop, io);
    if (!((ks_worker_t *)io->data)->stopping)
        worker_stop(io->data, "the supervisor asks this worker to stop");
}

/* Waits until no transaction that sent offsets for these partitions is pending: with read_committed,
 * fetching the committed offsets asks the coordinator for stable offsets (KIP-447), so a batch a
 * previous owner is still committing has either landed — its changelog records with it — or been
 * aborted before the changelog is restored. */
static void
wait_stable_offsets(ks_worker_t *w, const rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_topic_partition_list_t *copy = rd_kafka_topic_partition_list_copy(parts);
    rd_kafka_resp_err_t              err = rd_kafka_committed(w->consumer, copy, TXN_TIMEOUT_MS * 2);

    if (err)
        ks_log_warning("committed offsets of the assignment not confirmed stable: %s", rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(copy);
}

static void
tasks_assign(ks_worker_t *w, const rd_kafka_topic_partition_list_t *parts)
{
    wait_stable_offsets(w, parts);
    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &parts->elems[i];
        const topic_ref_t                *ref = topic_ref(w, tp->topic);
        ks_topic_set_t                   *set = ref ? ref->set : NULL;

        if (ref != NULL && ref->kind == REF_TRIGGER && tp->partition < set->ntriggers) {
            if ((set->triggers[tp->partition] = ks_trigger_task_open(w, set, tp->partition)) == NULL)
                exit(EXIT_FATAL);
        } else if (ref != NULL && ref->kind == REF_ACTION && tp->partition < set->nactions) {
            if ((set->actions[tp->partition] = ks_action_task_open(w, set, tp->partition)) == NULL)
                exit(EXIT_FATAL);
        }
    }
}

static void
tasks_revoke(ks_worker_t *w)
{
    for (size_t s = 0; s < w->nsets; s++) {
        for (int p = 0; p < w->sets[s].ntriggers; p++) {
            ks_trigger_task_close(w->sets[s].triggers[p]);
            w->sets[s].triggers[p] = NULL;
        }
        for (int p = 0; p < w->sets[s].nactions; p++) {
            ks_action_task_close(w->sets[s].actions[p]);
            w->sets[s].actions[p] = NULL;
        }
    }
}

/* Eager rebalancing: a revocation aborts the open batch (the next owner reads it again), an
 * assignment opens the tasks — restoring trigger state from the changelog — before consuming. */
static void
on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    ks_worker_t *w = opaque;

    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        ks_log_info("assigned %d partitions", parts->cnt);
        tasks_assign(w, parts);
        rd_kafka_assign(rk, parts);
        w->assigned = true;
        report_send(w);
    } else {
        ks_log_info("revoked %d partitions", parts->cnt);
        if (w->in_txn)
            batch_abort(w, "partitions revoked", false);
        tasks_revoke(w);
        rd_kafka_assign(rk, NULL);
        w->assigned = false;
    }
}

static bool
user_set(const ks_config_t *cfg, const char *property)
{
    for (size_t i = 0; i < cfg->eventbus.librdkafka.n; i++) {
        if (strcmp(cfg->eventbus.librdkafka.kv[i].key, property) == 0)
            return true;
    }
    return false;
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

/* Every set's partition counts, from one metadata request; NULL when one is missing, or when a
 * state topic's count differs from its trigger topic's. */
static const char *
partition_counts(ks_worker_t *w)
{
    const struct rd_kafka_metadata *md = NULL;
    const char                     *missing = NULL;

    if (rd_kafka_metadata(w->producer, 1, NULL, &md, 10000) != 0)
        return "(metadata)";
    for (size_t s = 0; s < w->nsets && missing == NULL; s++) {
        ks_topic_set_t *set = &w->sets[s];

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

static void
kafka_setup(ks_worker_t *w)
{
    rd_kafka_conf_t                 *conf;
    rd_kafka_topic_partition_list_t *topics;
    rd_kafka_error_t                *error;
    rd_kafka_queue_t                *queue;
    char                             err[512], txn_id[400];
    const char                      *missing = NULL;

    conf = ks_worker_conf(w);
    snprintf(txn_id, sizeof(txn_id), "%s-%s", w->cfg->pool, w->instance);
    set_conf(conf, "transactional.id", txn_id);
    set_conf(conf, "transaction.timeout.ms", "60000");
    /* a transaction that begins right after a commit is often told CONCURRENT_TRANSACTIONS while the
     * coordinator still writes the previous one's markers; the default 100 ms back-off would then
     * cost every batch that follows a busy one (http calls wait for their batch to commit) */
    if (!user_set(w->cfg, "retry.backoff.ms"))
        set_conf(conf, "retry.backoff.ms", "10");
    snprintf(err, sizeof(err), "%d", KS_MAX_MESSAGE);
    set_conf(conf, "message.max.bytes", err);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    w->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (w->producer == NULL) {
        ks_log_error("rd_kafka_new(producer) failed: %s", err);
        exit(EXIT_FATAL);
    }
    if (ks_topics_ensure(w) != 0)
        exit(EXIT_FATAL);
    /* a topic just created may be missing from metadata for a moment: ask again for a while */
    for (int tries = 0; tries < 50 && (missing = partition_counts(w)) != NULL; tries++)
        usleep(200 * 1000);
    if (missing != NULL) {
        ks_log_error("%s, its -action and its -state topics must exist, -state with the same partition count "
                     "as -trigger", missing);
        exit(EXIT_FATAL);
    }
    for (size_t s = 0; s < w->nsets; s++) {
        w->sets[s].triggers = ks_calloc((size_t)w->sets[s].ntriggers, sizeof(*w->sets[s].triggers));
        w->sets[s].actions = ks_calloc((size_t)w->sets[s].nactions, sizeof(*w->sets[s].actions));
    }
    if ((error = rd_kafka_init_transactions(w->producer, TXN_TIMEOUT_MS)) != NULL) {
        ks_log_error("rd_kafka_init_transactions(%s) failed: %s", txn_id, rd_kafka_error_string(error));
        exit(EXIT_FATAL);
    }

    conf = ks_worker_conf(w);
    set_conf(conf, "group.id", w->cfg->pool);
    if (!w->embedded)       /* the mock cluster asserts on static members (librdkafka 2.0.2) */
        set_conf(conf, "group.instance.id", w->instance);
    /* the mock cluster keeps a departed member until its session times out: with the default 45 s,
     * a reload would leave the new worker waiting that long for its partitions */
    if (w->embedded && !user_set(w->cfg, "session.timeout.ms")) {
        set_conf(conf, "session.timeout.ms", "6000");
        set_conf(conf, "heartbeat.interval.ms", "1000");
    }
    set_conf(conf, "isolation.level", "read_committed");
    set_conf(conf, "enable.auto.commit", "false");
    set_conf(conf, "auto.offset.reset", "earliest");
    set_conf(conf, "enable.partition.eof", "false");
    /* Read-ahead: librdkafka queues up to 64 MB by default; held state is meant to live in SQLite
     * and a worker in 64 MiB, so keep it smaller. Not too small: librdkafka 2.0.2 looks at a full
     * queue again only once a second (its broker thread's fixed wait; draining the queue wakes
     * nothing), so a worker reads at most this much per second. Measured draining (make bench):
     * 4 MB held example-1 to about 4,000 events/s; on 1,000 sensors 8 MB drains 13,400/s at 55 MB
     * RSS, 16 MB 16,000/s at 80 MB.
     * fetch.max.bytes bounds how far one fetch overshoots it. */
    if (!user_set(w->cfg, "queued.max.messages.kbytes"))
        set_conf(conf, "queued.max.messages.kbytes", "8192");
    if (!user_set(w->cfg, "fetch.max.bytes"))
        set_conf(conf, "fetch.max.bytes", "3145728");
    /* a fetch parked on the broker is answered when records arrive, not when a commit makes records
     * already there readable (read_committed): at librdkafka's 500 ms every stage could add up to
     * half a second; 50 ms keeps the event-to-action p99 near 3 commit intervals (make bench) */
    if (!user_set(w->cfg, "fetch.wait.max.ms"))
        set_conf(conf, "fetch.wait.max.ms", "50");
    /* per-sensor topics have few partitions each: the range assignor would give every topic's
     * partition 0 to the same member; round-robin spreads them over the group */
    if (w->cfg->eventbus.topic_layout == KS_LAYOUT_PER_SENSOR && !user_set(w->cfg, "partition.assignment.strategy"))
        set_conf(conf, "partition.assignment.strategy", "roundrobin");
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_opaque(conf, w);
    w->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (w->consumer == NULL) {
        ks_log_error("rd_kafka_new(consumer) failed: %s", err);
        exit(EXIT_FATAL);
    }
    rd_kafka_poll_set_consumer(w->consumer);
    if (pipe2(w->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        ks_log_error("pipe2 failed: %s", strerror(errno));
        exit(EXIT_FATAL);
    }
    queue = rd_kafka_queue_get_consumer(w->consumer);
    rd_kafka_queue_io_event_enable(queue, w->wake[1], "1", 1);
    rd_kafka_queue_destroy(queue);          /* the consumer keeps its own reference */

    topics = rd_kafka_topic_partition_list_new(1 + (int)w->ntopic_index);
    rd_kafka_topic_partition_list_add(topics, w->topic_event, RD_KAFKA_PARTITION_UA);
    for (size_t i = 0; i < w->ntopic_index; i++)
        rd_kafka_topic_partition_list_add(topics, w->topic_index[i].name, RD_KAFKA_PARTITION_UA);
    if (rd_kafka_subscribe(w->consumer, topics) != 0) {
        ks_log_error("rd_kafka_subscribe failed");
        exit(EXIT_FATAL);
    }
    rd_kafka_topic_partition_list_destroy(topics);
}

int
ks_worker_run(const ks_config_t *cfg, const ks_pool_t *pool, const ks_worker_opts_t *opts)
{
    ks_worker_t  w = { .cfg = cfg, .pool = pool, .slot = opts->slot, .generation = opts->generation,
                       .sup_fd = opts->sup_fd, .embedded = opts->bootstrap != NULL,
                       .brokers = opts->bootstrap ? opts->bootstrap : cfg->eventbus.brokers };
    char         host[64] = "";

    ks_crash_init();
    signal(SIGHUP, SIG_IGN);                /* reloading is the supervisor's business */
    if (cfg->instance[0] == '\0' && gethostname(host, sizeof(host) - 1) != 0)
        snprintf(host, sizeof(host), "localhost");
    snprintf(w.instance, sizeof(w.instance), "%s-%d", cfg->instance[0] ? cfg->instance : host, w.slot);
    snprintf(w.topic_event, sizeof(w.topic_event), "%s", cfg->eventbus.topic);
    sets_init(&w);
    w.after_tail = &w.after_commit;
    index_triggers(&w);
    batch_reset(&w);

    /* signals first: a SIGTERM while Kafka is being set up stops the worker once it is */
    w.loop = ev_default_loop(EVFLAG_AUTO);
    ev_signal_init(&w.sigterm, on_stop_signal, SIGTERM);
    ev_signal_init(&w.sigint, on_stop_signal, SIGINT);
    w.sigterm.data = w.sigint.data = &w;
    ev_signal_start(w.loop, &w.sigterm);
    ev_signal_start(w.loop, &w.sigint);
    ev_signal_init(&w.sigusr1, on_reopen_signal, SIGUSR1);
    w.sigusr1.data = &w;
    ev_signal_start(w.loop, &w.sigusr1);

    kafka_setup(&w);
    w.httpc = ks_httpc_new(w.loop);
    ev_prepare_init(&w.http_check, on_prepare);
    w.http_check.data = &w;
    ev_prepare_start(w.loop, &w.http_check);
    ev_io_init(&w.wake_io, on_wake, w.wake[0], EV_READ);
    w.wake_io.data = &w;
    ev_io_start(w.loop, &w.wake_io);
    ev_timer_init(&w.commit_timer, on_commit_timer, 0., (double)cfg->commit_interval_ms / 1000.);
    w.commit_timer.data = &w;
    ev_timer_again(w.loop, &w.commit_timer);
    if (w.sup_fd >= 0) {
        ev_io_init(&w.sup_io, on_supervisor, w.sup_fd, EV_READ);
        w.sup_io.data = &w;
        ev_io_start(w.loop, &w.sup_io);
        ev_timer_init(&w.report_timer, on_report_timer, 0., 1.);
        w.report_timer.data = &w;
        ev_timer_again(w.loop, &w.report_timer);
        report_send(&w);
    }
    if (cfg->eventbus.topic_layout == KS_LAYOUT_PER_SENSOR)
        ks_log_notice("worker %s: pool %s, per-sensor topics (%zu sets, %s-<sensor>-trigger …), brokers %s%s",
                      w.instance, cfg->pool, w.nsets, cfg->eventbus.topic, w.brokers, w.embedded ? " (embedded)" : "");
    else
        ks_log_notice("worker %s: pool %s, %d trigger and %d action partitions, brokers %s%s", w.instance,
                      cfg->pool, w.sets[0].ntriggers, w.sets[0].nactions, w.brokers, w.embedded ? " (embedded)" : "");

    drain(&w);
    ev_run(w.loop, 0);

    /* graceful stop: finish the batch, leave the group */
    batch_commit(&w);
    rd_kafka_consumer_close(w.consumer);
    tasks_revoke(&w);
    ks_httpc_free(w.httpc);
    rd_kafka_destroy(w.consumer);
    rd_kafka_destroy(w.producer);
    for (size_t i = 0; i < w.nexternal; i++) {
        rd_kafka_flush(w.external[i].producer, 10000);
        rd_kafka_destroy(w.external[i].producer);
        free(w.external[i].url);
    }
    free(w.external);
    ks_log_notice("worker %s stopped: %llu events, %llu bad, %llu firings, %llu actions, %llu batches, %llu aborts",
                  w.instance, (unsigned long long)w.stats.events_in, (unsigned long long)w.stats.events_bad,
                  (unsigned long long)w.stats.firings, (unsigned long long)w.stats.actions_ok,
                  (unsigned long long)w.stats.batches, (unsigned long long)w.stats.aborts);
    for (size_t i = 0; i < w.nkeys; i++)
        free(w.keys[i].key);
    free(w.keys);
    free(w.last_log);
    free(w.rate_next);
    for (size_t s = 0; s < w.nsets; s++) {
        free(w.sets[s].triggers);
        free(w.sets[s].actions);
    }
    free(w.sets);
    free(w.topic_index);
    batch_reset(&w);
    rd_kafka_topic_partition_list_destroy(w.batch_offsets);
    close(w.wake[0]);
    close(w.wake[1]);
    ev_loop_destroy(w.loop);
    return 0;
}
