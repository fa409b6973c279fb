/* worker.c — the worker's loop: signals, the supervisor's socket, the Kafka handles, rebalances, and
 * the records of all three stages in the order they arrive per partition (see worker.h).
 *
 * A batch opens at a record and commits after commitInterval or batchSize records (batch.h), or
 * as soon as nothing more is ready to read once it is commitMinInterval old; an
 * abortable error aborts it and rewinds to the committed offsets, a fatal one exits (the supervisor
 * respawns the worker). At the start and at every assignment the internal topics are verified
 * (topics.h); a topic that does not fit stops the daemon (KS_EXIT_UNFIT). A stop reads no more
 * records, waits for the calls under way (calls.h) for up to half of shutdownTimeout, commits the
 * last batch and closes the consumer. */
#include "pipeline/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>
#include <librdkafka/rdkafka.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/report.h"
#include "pipeline/stage_action.h"
#include "pipeline/batch.h"
#include "pipeline/calls.h"
#include "pipeline/crash.h"
#include "pipeline/fence.h"
#include "pipeline/stage_event.h"
#include "pipeline/kafka_conf.h"
#include "pipeline/stage.h"
#include "pipeline/topics.h"
#include "pipeline/stage_trigger.h"

typedef struct ks_worker {
    const ks_config_t   *cfg;
    int                  slot;
    unsigned             generation;
    const char          *brokers;           /* bootstrap servers of the event bus */
    bool                 embedded;          /* the mock cluster: plain membership, plain offset commits */
    char                 instance[128];     /* group.instance.id */
    struct ev_loop      *loop;
    rd_kafka_t          *consumer;
    rd_kafka_t          *producer;
    int                  wake[2];           /* librdkafka's queue event pipe */
    ev_io                wake_io;
    ev_timer             commit_timer;
    ev_timer             drained_timer;     /* a drained batch's commit, once commitMinInterval old */
    ev_prepare           prepare;           /* before the loop waits: commit for calls, end a stop */
    ev_signal            sigterm, sigint, sigusr1;
    bool                 stopping;
    int                  stop_signals;      /* SIGTERM/SIGINT received: the second stops at once */
    ev_timer             stop_deadline;     /* how long a stop waits for the calls under way */
    int                  sup_fd;            /* -1 when not supervised */
    ev_io                sup_io;
    ev_timer             report_timer;
    bool                 assigned;          /* holds an assignment (possibly empty) from the group */
    bool                 group_down;        /* the group coordinator is out of reach (librdkafka's stats) */
    rd_kafka_topic_partition_list_t *started;  /* the committed offsets at the assignment, or NULL */

    ks_topics_t          topics;
    ks_batch_t          *batch;
    ks_journal_t        *journal;
    ks_executors_t       executors;
    ks_calls_t          *calls;
    ks_stage_env_t       env;               /* what the stages are handed */
    ks_report_t          stats;             /* counters and histograms reported to the supervisor */
} ks_worker_t;

static void report_send(ks_worker_t *w);

/* Commits the open batch; the calls whose rows it made durable start. */
static void
commit(ks_worker_t *w)
{
    if (ks_batch_is_open(w->batch) && ks_batch_commit(w->batch) == 0)
        ks_calls_committed(w->calls);
}

/* One record through its stage, in the open batch; the message is destroyed. Returns -1 when the
 * batch aborted. */
static int
handle(ks_worker_t *w, rd_kafka_message_t *msg)
{
    ks_topic_set_t *set;
    int             rc = 0;

    ks_batch_begin(w->batch);
    switch (ks_topics_lookup(&w->topics, rd_kafka_topic_name(msg->rkt), &set)) {
    case KS_TOPIC_EVENT:
        rc = ks_stage_event(&w->env, msg);
        break;
    case KS_TOPIC_TRIGGER:
        rc = msg->partition < set->ntriggers && set->triggers[msg->partition] != NULL
             ? ks_stage_trigger(set->triggers[msg->partition], msg) : -1;
        break;
    case KS_TOPIC_ACTION:
        rc = msg->partition < set->nactions && set->actions[msg->partition] != NULL
             ? ks_stage_action(set->actions[msg->partition], msg) : -1;
        break;
    case KS_TOPIC_NONE:
        break;
    }
    if (rc < 0) {
        rd_kafka_message_destroy(msg);
        ks_batch_abort(w->batch, "a record could not be processed", true);
        return -1;
    }
    if (rc == 0)
        ks_batch_release(w->batch, rd_kafka_topic_name(msg->rkt), msg->partition, msg->offset + 1);
    rd_kafka_message_destroy(msg);
    if (ks_batch_count(w->batch))
        commit(w);
    return 0;
}

/* Nothing more is ready to read: the batch commits now if it is commitMinInterval old, otherwise
 * when it is. At low load a record so crosses each stage in about one commit instead of waiting
 * for commitInterval; a busy worker, which always has records ready, still batches by
 * commitInterval and batchSize. A batch that read no record holds only the outcomes of calls
 * (their actions are done; nothing downstream waits for them): it commits by commitInterval, so
 * that a stream of call outcomes does not keep the loop in commits while responses wait. */
static void
commit_when_drained(ks_worker_t *w)
{
    int64_t floor_us = w->cfg->commit_min_interval_ms * 1000, age_us;

    if (!ks_batch_is_open(w->batch) || ks_batch_records(w->batch) == 0)
        return;
    age_us = ks_batch_age_us(w->batch);
    if (age_us >= floor_us) {
        commit(w);
    } else if (!ev_is_active(&w->drained_timer)) {
        ev_timer_set(&w->drained_timer, (double)(floor_us - age_us) / 1e6, 0.);
        ev_timer_start(w->loop, &w->drained_timer);
    }
}

/* Drains the consumer without blocking; a full batch commits on the spot, and so does a batch old
 * enough once nothing more is ready. */
static void
drain(ks_worker_t *w)
{
    rd_kafka_message_t *msg;

    while (!w->stopping) {
        if ((msg = rd_kafka_consumer_poll(w->consumer, 0)) == NULL) {
            commit_when_drained(w);
            break;
        }
        if (msg->err) {
            if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                ks_log_warning("consumer: %s", rd_kafka_message_errstr(msg));
            if (msg->err == RD_KAFKA_RESP_ERR__FATAL)
                exit(KS_EXIT_FATAL);
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

/* Before the loop waits: calls waiting for their rows to commit should not wait for the timer, and
 * a stop that waited for the calls under way ends with the last of them. */
static void
on_prepare(struct ev_loop *loop, ev_prepare *prepare, int revents)
{
    ks_worker_t *w = prepare->data;

    (void)revents;
    if (ks_calls_want_commit(w->calls))
        commit(w);
    if (w->stopping && ks_calls_active(w->calls) == 0)
        ev_break(loop, EVBREAK_ALL);
}

static void
on_commit_timer(struct ev_loop *loop, ev_timer *timer, int revents)
{
    ks_worker_t *w = timer->data;

    (void)loop;
    (void)revents;
    drain(w);           /* also catches records whose wake-up raced with the last drain */
    commit(w);
}

static void
on_drained_timer(struct ev_loop *loop, ev_timer *timer, int revents)
{
    (void)loop;
    (void)revents;
    drain(timer->data);
}

static void
on_stop_deadline(struct ev_loop *loop, ev_timer *timer, int revents)
{
    ks_worker_t *w = timer->data;
    size_t       active = ks_calls_active(w->calls);

    (void)revents;
    ks_log_warning("%zu call%s still under way after %.1f s: left to the partition's next owner",
                   active, active == 1 ? "" : "s", (double)w->cfg->shutdown_timeout_ms / 2000.);
    ev_break(loop, EVBREAK_ALL);
}

/* No more records are read; calls under way may finish (for half of shutdownTimeout), then the
 * batch commits and the consumer closes. */
static void
worker_stop(ks_worker_t *w, const char *why)
{
    double wait_s = (double)w->cfg->shutdown_timeout_ms / 2000.;
    size_t active = ks_calls_active(w->calls);

    w->stopping = true;
    ks_calls_stop(w->calls);
    if (active == 0) {
        ks_log_notice("%s: finishing the batch and closing the consumer", why);
        ev_break(w->loop, EVBREAK_ALL);
        return;
    }
    ks_log_notice("%s: waiting up to %.1f s for %zu call%s under way, then finishing the batch", why, wait_s,
                  active, active == 1 ? "" : "s");
    commit(w);                      /* calls whose rows were in the open batch may start */
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
        ks_log_notice("%s again: not waiting for the calls under way", name);
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

/* The assignment's size and how far the consumer is behind the high watermarks (as last fetched).
 * A partition that has delivered no record since it was assigned has no position yet: it counts
 * from where it starts, its committed offset at the assignment (the low watermark when it has none,
 * as auto.offset.reset says). The lag is unknown only until every partition has been fetched once. */
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
            const rd_kafka_topic_partition_t *tp = &parts->elems[i], *start;
            int64_t                           at = tp->offset;

            if (rd_kafka_get_watermark_offsets(w->consumer, tp->topic, tp->partition, &low, &high) != 0
                || high < 0) {
                lag = -1;
                break;
            }
            if (at < 0) {
                start = w->started ? rd_kafka_topic_partition_list_find(w->started, tp->topic, tp->partition) : NULL;
                at = start != NULL && start->offset >= 0 ? start->offset : low;
            }
            lag += at >= 0 && high > at ? high - at : 0;
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
    w->stats.ready = w->assigned && !w->group_down;
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
 * aborted before the changelog is restored. The offsets are kept: where each partition starts. */
static void
wait_stable_offsets(ks_worker_t *w, const rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_topic_partition_list_t *copy = rd_kafka_topic_partition_list_copy(parts);
    rd_kafka_resp_err_t              err = rd_kafka_committed(w->consumer, copy, KS_TXN_CALL_TIMEOUT_MS * 2);

    if (err)
        ks_log_warning("committed offsets of the assignment not confirmed stable: %s", rd_kafka_err2str(err));
    if (w->started != NULL)
        rd_kafka_topic_partition_list_destroy(w->started);
    w->started = err ? NULL : copy;
    if (err)
        rd_kafka_topic_partition_list_destroy(copy);
}

/* The internal topics must fit the configuration; when one does not, the daemon stops (each misfit
 * is logged with the command that fixes it). The embedded broker (librdkafka's mock cluster) answers
 * no DescribeConfigs, and its own child created the topics: nothing to verify there. */
static void
verify_topics(ks_worker_t *w)
{
    if (w->embedded)
        return;
    switch (ks_topics_verify(&w->topics, w->producer)) {
    case 0:
        return;
    case 1:
        ks_log_error("the internal topics do not fit the configuration (see above): the worker stops");
        exit(KS_EXIT_UNFIT);
    default:
        exit(KS_EXIT_FATAL);
    }
}

/* Opens a task per assigned trigger and action partition; the trigger tasks are restored together. */
static void
tasks_assign(ks_worker_t *w, const rd_kafka_topic_partition_list_t *parts)
{
    ks_trigger_task_t **restoring = ks_calloc((size_t)parts->cnt + 1, sizeof(*restoring));
    size_t              nrestoring = 0;

    /* a departed previous owner's open transaction would hold these partitions back: end it now */
    if (!w->embedded && w->cfg->eventbus.fence_departed)
        ks_fence_departed(w->producer, w->cfg, w->brokers, w->instance, parts);
    wait_stable_offsets(w, parts);
    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &parts->elems[i];
        ks_topic_set_t                   *set;

        switch (ks_topics_lookup(&w->topics, tp->topic, &set)) {
        case KS_TOPIC_TRIGGER:
            if (tp->partition >= set->ntriggers)
                break;
            if ((set->triggers[tp->partition] = ks_trigger_task_open(&w->env, set, tp->partition)) == NULL)
                exit(KS_EXIT_FATAL);
            restoring[nrestoring++] = set->triggers[tp->partition];
            break;
        case KS_TOPIC_ACTION:
            if (tp->partition < set->nactions
                && (set->actions[tp->partition] = ks_action_task_open(&w->env, set, tp->partition)) == NULL)
                exit(KS_EXIT_FATAL);
            break;
        case KS_TOPIC_EVENT:
        case KS_TOPIC_NONE:
            break;
        }
    }
    if (ks_trigger_tasks_restore(restoring, nrestoring) != 0)
        exit(KS_EXIT_FATAL);
    free(restoring);
}

static void
tasks_revoke(ks_worker_t *w)
{
    for (size_t s = 0; s < w->topics.nsets; s++) {
        ks_topic_set_t *set = &w->topics.sets[s];

        for (int p = 0; p < set->ntriggers; p++) {
            ks_trigger_task_close(set->triggers[p]);
            set->triggers[p] = NULL;
        }
        for (int p = 0; p < set->nactions; p++) {
            ks_action_task_close(set->actions[p]);
            set->actions[p] = NULL;
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
        verify_topics(w);           /* they may have been altered or recreated since the start */
        tasks_assign(w, parts);
        rd_kafka_assign(rk, parts);
        w->assigned = true;
        report_send(w);
    } else {
        ks_log_info("revoked %d partitions", parts->cnt);
        if (ks_batch_is_open(w->batch))
            ks_batch_abort(w->batch, "partitions revoked", false);
        tasks_revoke(w);
        rd_kafka_assign(rk, NULL);
        w->assigned = false;
    }
}

/* librdkafka's statistics, once a second (served by the consumer's poll, on the loop): whether the
 * consumer reaches its group coordinator ("cgrp": {"state": "up", …}; found by a scan, not a parse:
 * the document lists every partition and can be large). A worker that does not — the brokers are
 * down or cut off — is not ready, whatever it holds. */
static int
on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    ks_worker_t *w = opaque;
    const char  *cgrp = strstr(json, "\"cgrp\"");      /* one object, after every partition's */
    const char  *state = cgrp ? strstr(cgrp, "\"state\"") : NULL;
    char         value[32] = "";
    bool         down;

    (void)rk;
    (void)len;
    if (state == NULL || sscanf(state, "\"state\" : \"%31[^\"]\"", value) != 1)
        return 0;               /* librdkafka frees json */
    down = strcmp(value, "up") != 0;
    if (down != w->group_down) {
        if (down)
            ks_log_warning("the group coordinator is out of reach (%s): not ready", value);
        else
            ks_log_notice("the group coordinator is reached again: ready");
        w->group_down = down;
        report_send(w);
    }
    return 0;
}

/* The transactional producer, with the internal topics created, counted and verified. */
static void
producer_setup(ks_worker_t *w)
{
    rd_kafka_conf_t  *conf = ks_kafka_conf(w->cfg, w->brokers);
    rd_kafka_error_t *error;
    char              err[512], txn_id[400];

    ks_kafka_transactional_id(w->cfg, w->instance, txn_id, sizeof(txn_id));
    ks_kafka_set(conf, "transactional.id", txn_id);
    /* A host that dies holds its open transaction's partitions back from every read_committed
     * reader until the broker aborts it, so keep it short: a batch commits every commitInterval,
     * nothing legitimate keeps one open for 10 s (Kafka Streams' choice for exactly once). */
    if (!ks_kafka_user_set(w->cfg, "transaction.timeout.ms")) {
        snprintf(err, sizeof(err), "%ld", 10000L + (long)w->cfg->commit_interval_ms);
        ks_kafka_set(conf, "transaction.timeout.ms", err);
    }
    /* a transaction that begins right after a commit is often told CONCURRENT_TRANSACTIONS while the
     * coordinator still writes the previous one's markers; the default 100 ms back-off would then
     * cost every batch that follows a busy one (http calls wait for their batch to commit) */
    if (!ks_kafka_user_set(w->cfg, "retry.backoff.ms"))
        ks_kafka_set(conf, "retry.backoff.ms", "10");
    snprintf(err, sizeof(err), "%d", KS_MAX_MESSAGE);
    ks_kafka_set(conf, "message.max.bytes", err);
    rd_kafka_conf_set_dr_msg_cb(conf, ks_batch_on_delivery);
    w->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (w->producer == NULL) {
        ks_log_error("rd_kafka_new(producer) failed: %s", err);
        exit(KS_EXIT_FATAL);
    }
    if (ks_topics_ensure(&w->topics, w->producer) != 0)
        exit(KS_EXIT_FATAL);
    if (ks_topics_count(&w->topics, w->producer) != 0)
        exit(KS_EXIT_FATAL);
    verify_topics(w);
    for (size_t s = 0; s < w->topics.nsets; s++) {
        ks_topic_set_t *set = &w->topics.sets[s];

        set->triggers = ks_calloc((size_t)set->ntriggers, sizeof(*set->triggers));
        set->actions = ks_calloc((size_t)set->nactions, sizeof(*set->actions));
    }
    if ((error = rd_kafka_init_transactions(w->producer, KS_TXN_CALL_TIMEOUT_MS)) != NULL) {
        ks_log_error("rd_kafka_init_transactions(%s) failed: %s", txn_id, rd_kafka_error_string(error));
        exit(KS_EXIT_FATAL);
    }
}

/* The consumer of the group, subscribed to the event topic and the internal trigger and action
 * topics, waking the loop through a pipe when records arrive. */
static void
consumer_setup(ks_worker_t *w)
{
    rd_kafka_conf_t                 *conf = ks_kafka_conf(w->cfg, w->brokers);
    rd_kafka_topic_partition_list_t *topics;
    rd_kafka_queue_t                *queue;
    char                             err[512];

    ks_kafka_set(conf, "group.id", w->cfg->pool);
    if (!w->embedded)       /* the mock cluster asserts on static members (librdkafka 2.0.2) */
        ks_kafka_set(conf, "group.instance.id", w->instance);
    /* A static member that is gone keeps its partitions until its session times out. Long enough
     * for a worker's respawn or a daemon's restart to come back without a rebalance (about a second
     * or a few), short enough that a host lost for good hands its partitions over soon: 10 s, not
     * librdkafka's 45 s. The mock cluster also keeps a departed member until its session times out,
     * so a reload there waits for it: 6 s. */
    if (!ks_kafka_user_set(w->cfg, "session.timeout.ms")) {
        ks_kafka_set(conf, "session.timeout.ms", w->embedded ? "6000" : "10000");
        if (!ks_kafka_user_set(w->cfg, "heartbeat.interval.ms"))
            ks_kafka_set(conf, "heartbeat.interval.ms", w->embedded ? "1000" : "3000");
    }
    ks_kafka_set(conf, "isolation.level", "read_committed");
    ks_kafka_set(conf, "enable.auto.commit", "false");
    ks_kafka_set(conf, "auto.offset.reset", "earliest");
    ks_kafka_set(conf, "enable.partition.eof", "false");
    /* Read-ahead: librdkafka queues up to 64 MB by default; held state is meant to live in SQLite
     * and a worker in 64 MiB, so keep it smaller. Not too small: librdkafka 2.0.2 looks at a full
     * queue again only once a second (its broker thread's fixed wait; draining the queue wakes
     * nothing), so a worker reads at most this much per second. Measured draining (make bench):
     * 4 MB held example-1 to about 4,000 events/s; on 1,000 sensors 8 MB drains 13,400/s at 55 MB
     * RSS, 16 MB 16,000/s at 80 MB.
     * fetch.max.bytes bounds how far one fetch overshoots it. */
    if (!ks_kafka_user_set(w->cfg, "queued.max.messages.kbytes"))
        ks_kafka_set(conf, "queued.max.messages.kbytes", "8192");
    if (!ks_kafka_user_set(w->cfg, "fetch.max.bytes"))
        ks_kafka_set(conf, "fetch.max.bytes", "3145728");
    /* a fetch parked on the broker is answered when records arrive, not when a commit makes records
     * already there readable (read_committed): at librdkafka's 500 ms every stage could add up to
     * half a second; 50 ms keeps the event-to-action p99 near 3 commit intervals (make bench) */
    if (!ks_kafka_user_set(w->cfg, "fetch.wait.max.ms"))
        ks_kafka_set(conf, "fetch.wait.max.ms", "50");
    /* per-sensor topics have few partitions each: the range assignor would give every topic's
     * partition 0 to the same member; round-robin spreads them over the group */
    if (w->cfg->eventbus.topic_layout == KS_LAYOUT_PER_SENSOR && !ks_kafka_user_set(w->cfg, "partition.assignment.strategy"))
        ks_kafka_set(conf, "partition.assignment.strategy", "roundrobin");
    if (!ks_kafka_user_set(w->cfg, "statistics.interval.ms"))
        ks_kafka_set(conf, "statistics.interval.ms", "1000");
    rd_kafka_conf_set_stats_cb(conf, on_stats);
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_opaque(conf, w);
    w->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (w->consumer == NULL) {
        ks_log_error("rd_kafka_new(consumer) failed: %s", err);
        exit(KS_EXIT_FATAL);
    }
    rd_kafka_poll_set_consumer(w->consumer);
    if (pipe2(w->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        ks_log_error("pipe2 failed: %s", strerror(errno));
        exit(KS_EXIT_FATAL);
    }
    queue = rd_kafka_queue_get_consumer(w->consumer);
    rd_kafka_queue_io_event_enable(queue, w->wake[1], "1", 1);
    rd_kafka_queue_destroy(queue);          /* the consumer keeps its own reference */

    topics = rd_kafka_topic_partition_list_new(1 + 2 * (int)w->topics.nsets);
    rd_kafka_topic_partition_list_add(topics, w->topics.event, RD_KAFKA_PARTITION_UA);
    for (size_t s = 0; s < w->topics.nsets; s++) {
        rd_kafka_topic_partition_list_add(topics, w->topics.sets[s].trigger, RD_KAFKA_PARTITION_UA);
        rd_kafka_topic_partition_list_add(topics, w->topics.sets[s].action, RD_KAFKA_PARTITION_UA);
    }
    if (rd_kafka_subscribe(w->consumer, topics) != 0) {
        ks_log_error("rd_kafka_subscribe failed");
        exit(KS_EXIT_FATAL);
    }
    rd_kafka_topic_partition_list_destroy(topics);
}

int
ks_worker_run(const ks_config_t *cfg, const ks_pool_t *pool, const ks_worker_opts_t *opts)
{
    ks_worker_t    w = { .cfg = cfg, .slot = opts->slot, .generation = opts->generation,
                         .sup_fd = opts->sup_fd, .embedded = opts->bootstrap != NULL,
                         .brokers = opts->bootstrap ? opts->bootstrap : cfg->eventbus.brokers };
    ks_exec_env_t  xenv;
    char           host[64] = "", err[512];

    ks_crash_init();
    signal(SIGHUP, SIG_IGN);                /* reloading is the supervisor's business */
    if (cfg->instance[0] == '\0' && gethostname(host, sizeof(host) - 1) != 0)
        snprintf(host, sizeof(host), "localhost");
    snprintf(w.instance, sizeof(w.instance), "%s-%d", cfg->instance[0] ? cfg->instance : host, w.slot);
    if (ks_topics_init(&w.topics, cfg, pool) != 0)
        exit(KS_EXIT_FATAL);

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

    producer_setup(&w);
    consumer_setup(&w);
    /* partitions are assigned from the first poll on: the stages' environment is complete by then */
    /* the log lines of a batch the last worker of this slot may have left unwritten */
    if ((w.journal = ks_journal_open(cfg->data_dir, cfg->pool, w.instance, err, sizeof(err))) == NULL) {
        ks_log_error("%s", err);
        exit(KS_EXIT_FATAL);
    }
    if (ks_journal_recover(w.journal, w.consumer, KS_TXN_CALL_TIMEOUT_MS * 2) != 0)
        exit(KS_EXIT_FATAL);
    w.batch = ks_batch_new(w.producer, w.consumer, cfg, w.embedded, &w.stats, w.journal, w.instance);
    xenv = (ks_exec_env_t){ cfg, w.brokers, w.loop, w.batch, ks_topics_ntriggers(&w.topics) };
    ks_executors_open(&w.executors, opts->executors, &xenv);
    w.calls = ks_calls_new(w.loop, w.batch, w.consumer, &w.executors, &w.stats, ks_topics_ntriggers(&w.topics));
    w.env = (ks_stage_env_t){ cfg, w.brokers, &w.topics, w.batch, &w.stats, &w.executors, w.calls };

    ev_prepare_init(&w.prepare, on_prepare);
    w.prepare.data = &w;
    ev_prepare_start(w.loop, &w.prepare);
    ev_io_init(&w.wake_io, on_wake, w.wake[0], EV_READ);
    w.wake_io.data = &w;
    ev_io_start(w.loop, &w.wake_io);
    ev_timer_init(&w.commit_timer, on_commit_timer, 0., (double)cfg->commit_interval_ms / 1000.);
    w.commit_timer.data = &w;
    ev_timer_again(w.loop, &w.commit_timer);
    ev_timer_init(&w.drained_timer, on_drained_timer, 0., 0.);
    w.drained_timer.data = &w;
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
                      w.instance, cfg->pool, w.topics.nsets, cfg->eventbus.topic, w.brokers,
                      w.embedded ? " (embedded)" : "");
    else
        ks_log_notice("worker %s: pool %s, %d trigger and %d action partitions, brokers %s%s", w.instance,
                      cfg->pool, w.topics.sets[0].ntriggers, w.topics.sets[0].nactions, w.brokers,
                      w.embedded ? " (embedded)" : "");

    drain(&w);
    ev_run(w.loop, 0);

    /* graceful stop: finish the batch, leave the group */
    commit(&w);
    rd_kafka_consumer_close(w.consumer);
    tasks_revoke(&w);
    ks_calls_free(w.calls);
    ks_executors_close(&w.executors);
    ks_batch_free(w.batch);
    ks_journal_close(w.journal);
    rd_kafka_destroy(w.consumer);
    rd_kafka_destroy(w.producer);
    ks_log_notice("worker %s stopped: %llu events, %llu bad, %llu firings, %llu actions, %llu batches, %llu aborts",
                  w.instance, (unsigned long long)w.stats.events_in, (unsigned long long)w.stats.events_bad,
                  (unsigned long long)w.stats.firings, (unsigned long long)w.stats.actions_ok,
                  (unsigned long long)w.stats.batches, (unsigned long long)w.stats.aborts);
    ks_topics_free(&w.topics);
    if (w.started != NULL)
        rd_kafka_topic_partition_list_destroy(w.started);
    close(w.wake[0]);
    close(w.wake[1]);
    ev_loop_destroy(w.loop);
    return 0;
}
