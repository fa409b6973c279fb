/* stage_trigger.c — a trigger task and its changelog (see stage_trigger.h). */
#include "pipeline/stage_trigger.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/mem.h"
#include "pipeline/changelog.h"
#include "pipeline/crash.h"
#include "pipeline/kafka_conf.h"
#include "pipeline/store.h"
#include "sensor/firing.h"
#include "sensor/state.h"

#define RESTORE_TIMEOUT_S 120
#define RESTORE_THREADS   4         /* restores at once, each thread with a consumer of its own */

enum {
    ST_UPSERT, ST_HELD_DEPS, ST_HELD_ALL, ST_DELETE, ST_DELETE_OLDER, ST_FIRING, ST_SET_POSITION, ST_GET_POSITION,
    ST_HELD_BYTES, ST_SOURCE_GET, ST_SOURCE_SET, ST_SOURCES_OF, ST_SOURCES_DELETE, ST_COUNT
};

static const char *const statements[ST_COUNT] = {
    [ST_UPSERT] = "INSERT INTO held (sensor, trigger, dependency, held_at, source, event) VALUES (?, ?, ?, ?, ?, ?) "
                  "ON CONFLICT (sensor, trigger, dependency) DO UPDATE SET held_at = excluded.held_at, "
                  "source = excluded.source, event = excluded.event",
    [ST_HELD_DEPS] = "SELECT dependency FROM held WHERE sensor = ? AND trigger = ?",
    [ST_HELD_ALL] = "SELECT dependency, held_at, source, event FROM held WHERE sensor = ? AND trigger = ? "
                    "ORDER BY held_at, dependency",
    [ST_DELETE] = "DELETE FROM held WHERE sensor = ? AND trigger = ?",
    [ST_DELETE_OLDER] = "DELETE FROM held WHERE sensor = ? AND trigger = ? AND held_at <= ?",
    [ST_FIRING] = "INSERT OR REPLACE INTO firings (id, sensor, trigger, fired_at, events) VALUES (?, ?, ?, ?, ?)",
    [ST_SET_POSITION] = "INSERT OR REPLACE INTO position (name, value) VALUES (?, ?)",
    [ST_GET_POSITION] = "SELECT value FROM position WHERE name = ?",
    [ST_HELD_BYTES] = "SELECT coalesce(sum(length(event)), 0) FROM held WHERE sensor = ? AND trigger = ? "
                      "AND dependency <> ?",
    [ST_SOURCE_GET] = "SELECT next_offset FROM sources WHERE sensor = ? AND trigger = ? AND topic = ? AND partition = ?",
    [ST_SOURCE_SET] = "INSERT OR REPLACE INTO sources (sensor, trigger, topic, partition, next_offset) "
                      "VALUES (?, ?, ?, ?, ?)",
    [ST_SOURCES_OF] = "SELECT topic, partition, next_offset FROM sources WHERE sensor = ? AND trigger = ?",
    [ST_SOURCES_DELETE] = "DELETE FROM sources WHERE sensor = ? AND trigger = ?",
};

struct ks_trigger_task {
    ks_batch_member_t    member;            /* first: the batch's hooks find the task */
    const ks_stage_env_t *env;
    ks_topic_set_t      *set;
    int32_t              partition;
    sqlite3             *db;
    sqlite3_stmt        *st[ST_COUNT];
    bool                 in_txn;
    int64_t              changelog_next;    /* next changelog offset; what the file has applied */
    int64_t              delivered_next;    /* from this batch's delivery reports, or -1 */
    int64_t              input_next;        /* next trigger-topic offset after what the file holds,
                                             * this batch's records included; -1 when unknown */
    int64_t              input_committed;   /* the same, as the file last committed it */
    const ks_trigger_t **changed;           /* triggers whose state this batch changed */
    size_t               nchanged, capchanged;
    int64_t              restored;          /* changelog records applied by the last restore */
    time_t               replay_logged;     /* when a skipped replay was last logged */
    uint64_t             replays_unlogged;
};

/* its hooks as a member of the batch */
static int  task_flush(ks_batch_member_t *m, ks_batch_t *b);
static void task_delivered(ks_batch_member_t *m, int64_t offset);
static int  task_commit(ks_batch_member_t *m);
static void task_rollback(ks_batch_member_t *m);

static void
bind_names(sqlite3_stmt *st, const char *sensor, const char *trigger)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sqlite3_bind_text(st, 1, sensor, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, trigger, -1, SQLITE_STATIC);
}

static int
step_done(ks_trigger_task_t *task, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        ks_log_error("trigger task %s/%d: %s", task->set->trigger, task->partition, sqlite3_errmsg(task->db));
        return -1;
    }
    return 0;
}

static int
sql_begin(ks_trigger_task_t *task)
{
    if (task->in_txn)
        return 0;
    if (ks_store_exec(task->db, "BEGIN IMMEDIATE") != 0)
        return -1;
    task->in_txn = true;
    task->delivered_next = -1;
    return 0;
}

/* The task's SQLite transaction joins the batch's. */
static int
task_begin(ks_trigger_task_t *task)
{
    if (sql_begin(task) != 0)
        return -1;
    ks_batch_join(task->env->batch, &task->member);
    return 0;
}

/* Replaces a trigger's held rows and sources with a changelog value (NULL, a tombstone, clears
 * both). A value that is not one is logged and leaves the trigger with nothing held: one bad record
 * must not stop every restore of the partition. */
static int
apply_changelog(ks_trigger_task_t *task, const rd_kafka_message_t *msg)
{
    char           sensor[300], *slash, err[200];
    ks_changelog_t cl;
    int            rc = 0;

    snprintf(sensor, sizeof(sensor), "%.*s", (int)msg->key_len, (const char *)msg->key);
    if ((slash = strchr(sensor, '/')) == NULL)
        return 0;
    *slash = '\0';
    bind_names(task->st[ST_DELETE], sensor, slash + 1);
    bind_names(task->st[ST_SOURCES_DELETE], sensor, slash + 1);
    if (step_done(task, task->st[ST_DELETE]) != 0 || step_done(task, task->st[ST_SOURCES_DELETE]) != 0)
        return -1;
    if (msg->payload == NULL)
        return 0;
    if (ks_changelog_parse(&cl, msg->payload, msg->len, err, sizeof(err)) != 0) {
        ks_log_warning("restore: %s/%d offset %lld (%s/%s): not a changelog value (%s): nothing held",
                       task->set->state, task->partition, (long long)msg->offset, sensor, slash + 1, err);
        return 0;
    }
    for (size_t i = 0; i < cl.nheld && rc == 0; i++) {
        sqlite3_stmt *st = task->st[ST_UPSERT];

        bind_names(st, sensor, slash + 1);
        sqlite3_bind_text(st, 3, cl.held[i].dependency, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, cl.held[i].held_at);
        sqlite3_bind_text(st, 5, cl.held[i].source, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 6, cl.held[i].event, (int)cl.held[i].event_len, SQLITE_STATIC);
        rc = step_done(task, st);
    }
    for (size_t i = 0; i < cl.nsources && rc == 0; i++) {
        sqlite3_stmt *st = task->st[ST_SOURCE_SET];

        bind_names(st, sensor, slash + 1);
        sqlite3_bind_text(st, 3, cl.sources[i].topic, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, cl.sources[i].partition);
        sqlite3_bind_int64(st, 5, cl.sources[i].next);
        rc = step_done(task, st);
    }
    ks_changelog_free(&cl);
    return rc;
}

/* The watermarks of <pool>-state/<partition>.  Right after the topic is created or a broker moves
 * leadership the answer is "no leader yet" for a moment: those errors are waited out until the
 * deadline, anything else fails the restore at once. */
static int
query_watermarks(rd_kafka_t *rk, const ks_trigger_task_t *task, time_t deadline, int64_t *low, int64_t *high)
{
    for (;;) {
        rd_kafka_resp_err_t err =
            rd_kafka_query_watermark_offsets(rk, task->set->state, task->partition, low, high, 10000);
        bool transient = err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
                         err == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION ||
                         err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
                         err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT;

        if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
            return 0;
        if (!transient || time(NULL) >= deadline) {
            ks_log_error("restore: cannot read the offsets of %s/%d: %s", task->set->state, task->partition,
                         rd_kafka_err2str(err));
            return -1;
        }
        nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000 * 1000 }, NULL);
    }
}

/* A position the file records (position table); dflt when it has none. */
static int64_t
get_position(ks_trigger_task_t *task, const char *name, int64_t dflt)
{
    sqlite3_stmt *st = task->st[ST_GET_POSITION];
    int64_t       value = dflt;

    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        value = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return value;
}

static int
set_position(ks_trigger_task_t *task, const char *name, int64_t value)
{
    sqlite3_stmt *st = task->st[ST_SET_POSITION];

    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, value);
    return step_done(task, st);
}

/* A consumer for restores, without a group (the simple consumer API): with one, librdkafka 2.0.2
 * starts fetching only once it has found the group's coordinator, about half a second per restore.
 * NULL (logged) on failure. */
static rd_kafka_t *
restore_consumer(const ks_stage_env_t *env)
{
    rd_kafka_conf_t *conf = ks_kafka_conf(env->cfg, env->brokers);
    rd_kafka_t      *rk;
    char             err[512];

    rd_kafka_conf_set(conf, "isolation.level", "read_committed", err, sizeof(err));
    rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err));
    /* a bulk read: the end is known by an empty fetch, which would otherwise wait 500 ms; one
     * partition at a time, so a fetch may bring as much as the whole request */
    rd_kafka_conf_set(conf, "fetch.wait.max.ms", "10", err, sizeof(err));
    rd_kafka_conf_set(conf, "max.partition.fetch.bytes", "52428800", err, sizeof(err));
    if ((rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err))) == NULL)
        ks_log_error("restore: rd_kafka_new failed: %s", err);
    return rk;
}

/* Reads <pool>-state/<partition> from where the file stopped up to its end (read_committed: up to
 * the last stable offset), in one SQLite transaction that also records the new position. Touches
 * nothing but the task and rk: restores of different tasks run in threads of their own. */
static int
restore(ks_trigger_task_t *task, rd_kafka_t *rk)
{
    rd_kafka_topic_t *rkt = NULL;
    int64_t           low = 0, high = 0, from = task->changelog_next, started = ks_monotonic_us();
    time_t            deadline = time(NULL) + RESTORE_TIMEOUT_S;
    int               rc = -1;

    task->restored = 0;
    if (query_watermarks(rk, task, deadline, &low, &high) != 0 || sql_begin(task) != 0)
        return -1;
    if (from >= high)
        rc = 0;
    else {
        rkt = rd_kafka_topic_new(rk, task->set->state, NULL);
        if (rd_kafka_consume_start(rkt, task->partition, from > low ? from : RD_KAFKA_OFFSET_BEGINNING) != 0) {
            ks_log_error("restore: %s/%d: %s", task->set->state, task->partition,
                         rd_kafka_err2str(rd_kafka_last_error()));
            deadline = 0;
        }
    }
    while (rc != 0 && time(NULL) < deadline) {
        rd_kafka_message_t *msg = rd_kafka_consume(rkt, task->partition, 1000);

        if (msg == NULL)
            continue;
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            task->changelog_next = msg->offset;
            rd_kafka_message_destroy(msg);
            rc = 0;
            break;
        }
        if (msg->err) {
            ks_log_error("restore: %s", rd_kafka_message_errstr(msg));
            rd_kafka_message_destroy(msg);
            break;
        }
        if (apply_changelog(task, msg) != 0) {
            rd_kafka_message_destroy(msg);
            break;
        }
        task->changelog_next = msg->offset + 1;
        task->restored++;
        rd_kafka_message_destroy(msg);
    }
    if (rc == 0) {
        rc = set_position(task, "changelog", task->changelog_next) == 0 && ks_store_exec(task->db, "COMMIT") == 0
                 ? 0 : -1;
        task->in_txn = false;
    }
    if (rc == 0 && from < high)
        ks_log_info("trigger task %s/%d: restored %lld changelog records (up to offset %lld) in %.3f s",
                    task->set->trigger, task->partition, (long long)task->restored,
                    (long long)task->changelog_next, (double)(ks_monotonic_us() - started) / 1e6);
    else if (rc != 0) {
        ks_log_error("trigger task %s/%d: restore from %s did not complete", task->set->trigger, task->partition,
                     task->set->state);
        task_rollback(&task->member);
    }
    if (rkt != NULL) {
        rd_kafka_consume_stop(rkt, task->partition);
        rd_kafka_topic_destroy(rkt);
    }
    return rc;
}

/* The tasks of one ks_trigger_tasks_restore call, taken one at a time by its threads. */
typedef struct {
    ks_trigger_task_t *const *tasks;
    size_t                    n;
    atomic_size_t             next;
    atomic_int                failed;
} restore_queue_t;

static void *
restore_thread(void *arg)
{
    restore_queue_t *q = arg;
    rd_kafka_t      *rk = NULL;
    size_t           i;

    while ((i = atomic_fetch_add(&q->next, 1)) < q->n) {
        if (rk == NULL && (rk = restore_consumer(q->tasks[i]->env)) == NULL) {
            atomic_store(&q->failed, 1);
            break;
        }
        if (restore(q->tasks[i], rk) != 0)
            atomic_store(&q->failed, 1);
    }
    if (rk != NULL)
        rd_kafka_destroy(rk);
    return NULL;
}

int
ks_trigger_tasks_restore(ks_trigger_task_t *const *tasks, size_t n)
{
    restore_queue_t q = { .tasks = tasks, .n = n };
    pthread_t       threads[RESTORE_THREADS];
    size_t          nthreads = 0;

    atomic_init(&q.next, 0);
    atomic_init(&q.failed, 0);
    /* the calling thread restores too: one task needs no other thread */
    while (nthreads + 1 < RESTORE_THREADS && nthreads + 1 < n
           && pthread_create(&threads[nthreads], NULL, restore_thread, &q) == 0)
        nthreads++;
    restore_thread(&q);
    for (size_t t = 0; t < nthreads; t++)
        pthread_join(threads[t], NULL);
    for (size_t i = 0; i < n; i++) {
        if (tasks[i]->restored > 0) {
            tasks[i]->env->stats->restores++;
            tasks[i]->env->stats->restored_records += (uint64_t)tasks[i]->restored;
        }
    }
    return atomic_load(&q.failed) ? -1 : 0;
}

/* The consumer delivers a record the file has already applied: Kafka's committed position is behind
 * the file's, so the file holds state from a batch Kafka did not commit (a commit reported done whose
 * records the broker later lost or aborted). Kafka is the source of truth: the held events and sources
 * are dropped and read again from the whole changelog, whose committed records match the committed
 * offsets (one transaction writes both). */
static int
rebuild(ks_trigger_task_t *task, int64_t offset)
{
    ks_log_warning("trigger task %s/%d: its file holds state up to offset %lld, Kafka's committed position "
                   "is %lld: rebuilding the state from %s", task->set->trigger, task->partition,
                   (long long)task->input_committed - 1, (long long)offset, task->set->state);
    task->env->stats->rebuilds++;
    if (sql_begin(task) != 0 || ks_store_exec(task->db, "DELETE FROM held; DELETE FROM sources") != 0) {
        task_rollback(&task->member);
        return -1;
    }
    task->changelog_next = 0;
    if (ks_trigger_tasks_restore(&task, 1) != 0)
        return -1;
    task->input_next = task->input_committed = -1;  /* known again at the next commit */
    return 0;
}

ks_trigger_task_t *
ks_trigger_task_open(const ks_stage_env_t *env, ks_topic_set_t *set, int32_t partition)
{
    ks_trigger_task_t *task = ks_calloc(1, sizeof(*task));
    char               err[512];

    task->member = (ks_batch_member_t){ .flush = task_flush, .commit = task_commit, .rollback = task_rollback,
                                        .delivered = task_delivered };
    task->env = env;
    task->set = set;
    task->partition = partition;
    task->delivered_next = -1;
    task->input_next = task->input_committed = -1;
    task->db = ks_store_open(env->cfg->data_dir, set->trigger, partition, "trigger", err, sizeof(err));
    if (task->db == NULL) {
        ks_log_error("%s", err);
        free(task);
        return NULL;
    }
    for (int i = 0; i < ST_COUNT; i++) {
        if ((task->st[i] = ks_store_prepare(task->db, statements[i])) == NULL) {
            ks_trigger_task_close(task);
            return NULL;
        }
    }
    task->changelog_next = get_position(task, "changelog", 0);
    task->input_next = task->input_committed = get_position(task, "input", -1);
    return task;
}

void
ks_trigger_task_close(ks_trigger_task_t *task)
{
    if (task == NULL)
        return;
    if (task->in_txn)
        task_rollback(&task->member);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(task->st[i]);
    sqlite3_close(task->db);
    free(task->changed);
    free(task);
}

static void
mark_changed(ks_trigger_task_t *task, const ks_trigger_t *trig)
{
    for (size_t i = 0; i < task->nchanged; i++) {
        if (task->changed[i] == trig)
            return;
    }
    if (task->nchanged == task->capchanged) {
        task->capchanged = task->capchanged ? task->capchanged * 2 : 16;
        task->changed = ks_realloc(task->changed, task->capchanged * sizeof(*task->changed));
    }
    task->changed[task->nchanged++] = trig;
}

/* The event position a trigger record carries (KS_SOURCE_HEADER, "<topic>/<partition>/<offset>"): the
 * topic left in text; false when it has none (records written before the header existed) or it does
 * not parse. */
static bool
record_source(rd_kafka_headers_t *hdrs, char *text, size_t size, int32_t *partition, int64_t *offset)
{
    const void *value;
    size_t      len;
    char       *slash, *end;

    if (hdrs == NULL || rd_kafka_header_get_last(hdrs, KS_SOURCE_HEADER, &value, &len) != 0 || len >= size)
        return false;
    memcpy(text, value, len);
    text[len] = '\0';
    if ((slash = strrchr(text, '/')) == NULL)
        return false;
    *offset = strtoll(slash + 1, &end, 10);
    if (*end != '\0' || end == slash + 1)
        return false;
    *slash = '\0';
    if ((slash = strrchr(text, '/')) == NULL)
        return false;
    *partition = (int32_t)strtol(slash + 1, &end, 10);
    if (*end != '\0' || end == slash + 1)
        return false;
    *slash = '\0';
    return true;
}

static void
log_replay(ks_trigger_task_t *task, const ks_trigger_t *trig, const char *topic, int32_t partition, int64_t offset)
{
    time_t now = time(NULL);

    task->env->stats->replays++;
    task->replays_unlogged++;
    if (now == task->replay_logged)
        return;
    ks_log_warning("trigger task %s/%d: %s/%s already took the event at %s/%d/%lld: its record is skipped (%llu "
                   "such record%s since the last report; an event-stage batch was read again after Kafka lost its "
                   "commit)", task->set->trigger, task->partition, trig->sensor->name, trig->name, topic,
                   (int)partition, (long long)offset, (unsigned long long)task->replays_unlogged,
                   task->replays_unlogged == 1 ? "" : "s");
    task->replay_logged = now;
    task->replays_unlogged = 0;
}

/* Takes each event once: 1 when the trigger already took the event this record comes from (the record
 * is skipped), 0 when it is new (its position is recorded), -1 on an SQLite error. */
static int
take_source(ks_trigger_task_t *task, const ks_trigger_t *trig, rd_kafka_headers_t *hdrs)
{
    sqlite3_stmt *st = task->st[ST_SOURCE_GET];
    char          topic[300];
    int32_t       partition;
    int64_t       offset;
    bool          taken;

    if (!record_source(hdrs, topic, sizeof(topic), &partition, &offset))
        return 0;
    bind_names(st, trig->sensor->name, trig->name);
    sqlite3_bind_text(st, 3, topic, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, partition);
    taken = sqlite3_step(st) == SQLITE_ROW && offset < sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (taken) {
        log_replay(task, trig, topic, partition, offset);
        return 1;
    }
    st = task->st[ST_SOURCE_SET];
    bind_names(st, trig->sensor->name, trig->name);
    sqlite3_bind_text(st, 3, topic, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, partition);
    sqlite3_bind_int64(st, 5, offset + 1);
    return step_done(task, st);
}

static int
dependency_index(const ks_trigger_t *trig, const char *name, size_t len)
{
    for (size_t d = 0; d < trig->sensor->ndeps; d++) {
        if (strlen(trig->sensor->deps[d].name) == len && memcmp(trig->sensor->deps[d].name, name, len) == 0)
            return (int)d;
    }
    return -1;
}

/* The trigger fires: its held events become one firing on the action topic, and the state clears. */
static int
fire(ks_trigger_task_t *task, const ks_trigger_t *trig, const rd_kafka_message_t *msg, const char *dep,
     int64_t now_ms)
{
    const ks_stage_env_t *env = task->env;
    sqlite3_stmt *st = task->st[ST_HELD_ALL];
    const char   *deps[KS_SENSOR_MAX_DEPS], *events[KS_SENSOR_MAX_DEPS];
    size_t        lens[KS_SENSOR_MAX_DEPS], n = 0, flen;
    char         *id, *firing, *key;
    char         *ids_text;
    int           rc;

    bind_names(st, trig->sensor->name, trig->name);
    while (sqlite3_step(st) == SQLITE_ROW && n < KS_SENSOR_MAX_DEPS) {
        deps[n] = ks_strdup((const char *)sqlite3_column_text(st, 0));
        lens[n] = (size_t)sqlite3_column_bytes(st, 3);
        events[n] = ks_strndup(sqlite3_column_blob(st, 3), lens[n]);
        n++;
    }
    sqlite3_reset(st);
    id = ks_asprintf("%s/%s@%s/%d/%lld", trig->sensor->name, trig->name, task->set->trigger, (int)msg->partition,
                     (long long)msg->offset);
    firing = ks_firing_encode(id, trig, deps, events, lens, n, &flen, &ids_text);
    key = ks_asprintf("%s/%s", trig->sensor->name, trig->name);
    rc = ks_batch_produce(env->batch, task->set->action, -1, key, firing, flen, ks_batch_headers(dep, id), NULL);
    for (size_t i = 0; i < n; i++) {
        free((char *)deps[i]);
        free((char *)events[i]);
    }
    if (rc == 0) {
        st = task->st[ST_FIRING];
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, trig->sensor->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, trig->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, now_ms);
        sqlite3_bind_text(st, 5, ids_text, -1, SQLITE_STATIC);
        rc = step_done(task, st);
    }
    if (rc == 0) {
        bind_names(task->st[ST_DELETE], trig->sensor->name, trig->name);
        rc = step_done(task, task->st[ST_DELETE]);
    }
    env->stats->firings++;
    free(ids_text);
    free(key);
    free(firing);
    free(id);
    return rc;
}

int
ks_stage_trigger(ks_trigger_task_t *task, const rd_kafka_message_t *msg)
{
    const ks_stage_env_t *env = task->env;
    const ks_trigger_t *trig = ks_topics_trigger(env->topics, msg->key, msg->key_len, NULL);
    rd_kafka_headers_t *hdrs = NULL;
    const void         *dname = NULL;
    size_t              dlen = 0;
    bool                held[KS_SENSOR_MAX_DEPS] = { false };
    int64_t             now_ms, reset;
    char                source[400], dep[256];
    int                 d;
    sqlite3_stmt       *st;

    if (msg->offset < task->input_next) {
        if (task->in_txn) {     /* records of one batch arrive in order: a rewind ends the batch first */
            ks_log_error("trigger task %s/%d: record %lld arrives after %lld in the same batch", task->set->trigger,
                         task->partition, (long long)msg->offset, (long long)task->input_next - 1);
            return -1;
        }
        if (rebuild(task, msg->offset) != 0)
            return -1;
    }
    if (trig == NULL) {
        ks_log_debug("trigger record %d/%lld for a trigger not hosted here (%.*s): skipped", (int)msg->partition,
                     (long long)msg->offset, (int)msg->key_len, (const char *)msg->key);
        return 0;
    }
    if (rd_kafka_message_headers(msg, &hdrs) != 0 || rd_kafka_header_get_last(hdrs, KS_DEP_HEADER, &dname, &dlen) != 0
        || (d = dependency_index(trig, dname, dlen)) < 0)
        return ks_batch_bad_record(env->batch, msg, "no dependencyName header naming a dependency of the trigger");
    snprintf(dep, sizeof(dep), "%.*s", (int)dlen, (const char *)dname);
    if (task_begin(task) != 0)
        return -1;
    task->input_next = msg->offset + 1;
    switch (take_source(task, trig, hdrs)) {
    case 0:
        mark_changed(task, trig);   /* its sources, and its held events below, go to the changelog */
        break;
    case 1:
        return 0;
    default:
        return -1;
    }

    /* the trigger's held events travel whole in one changelog record and one firing */
    st = task->st[ST_HELD_BYTES];
    bind_names(st, trig->sensor->name, trig->name);
    sqlite3_bind_text(st, 3, dep, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) + (int64_t)msg->len > KS_MAX_RECORD) {
        sqlite3_reset(st);
        return ks_batch_bad_record(env->batch, msg, "the trigger's held events would exceed the record limit");
    }
    sqlite3_reset(st);

    now_ms = rd_kafka_message_timestamp(msg, NULL);
    if (now_ms < 0)
        now_ms = (int64_t)time(NULL) * 1000;
    reset = ks_state_last_reset(trig, now_ms / 1000);
    if (reset != INT64_MIN) {
        st = task->st[ST_DELETE_OLDER];
        bind_names(st, trig->sensor->name, trig->name);
        sqlite3_bind_int64(st, 3, reset * 1000);
        if (step_done(task, st) != 0)
            return -1;
    }
    snprintf(source, sizeof(source), "%s/%d/%lld", task->set->trigger, (int)msg->partition, (long long)msg->offset);
    st = task->st[ST_UPSERT];
    bind_names(st, trig->sensor->name, trig->name);
    sqlite3_bind_text(st, 3, dep, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now_ms);
    sqlite3_bind_text(st, 5, source, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 6, msg->payload, (int)msg->len, SQLITE_STATIC);
    if (step_done(task, st) != 0)
        return -1;

    st = task->st[ST_HELD_DEPS];
    bind_names(st, trig->sensor->name, trig->name);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int h = dependency_index(trig, (const char *)sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));

        if (h >= 0)
            held[h] = true;
    }
    sqlite3_reset(st);
    ks_crash_point("after-sqlite-apply");
    if (!ks_cond_eval(trig->cond, held))
        return 0;
    return fire(task, trig, msg, dep, now_ms);
}

/* Before the Kafka commit: one changelog record per trigger changed in this batch. */
static int
task_flush(ks_batch_member_t *m, ks_batch_t *b)
{
    ks_trigger_task_t *task = (ks_trigger_task_t *)m;

    for (size_t i = 0; i < task->nchanged; i++) {
        const ks_trigger_t *trig = task->changed[i];
        sqlite3_stmt          *st = task->st[ST_HELD_ALL];
        ks_changelog_writer_t *cw = ks_changelog_writer_new();
        char                  *key = ks_asprintf("%s/%s", trig->sensor->name, trig->name), *value;
        size_t                 len;
        int                    rc;

        bind_names(st, trig->sensor->name, trig->name);
        while (sqlite3_step(st) == SQLITE_ROW) {
            ks_changelog_add_held(cw, &(ks_changelog_held_t){
                .dependency = (const char *)sqlite3_column_text(st, 0), .held_at = sqlite3_column_int64(st, 1),
                .source = (const char *)sqlite3_column_text(st, 2), .event = sqlite3_column_blob(st, 3),
                .event_len = (size_t)sqlite3_column_bytes(st, 3) });
        }
        sqlite3_reset(st);
        st = task->st[ST_SOURCES_OF];
        bind_names(st, trig->sensor->name, trig->name);
        while (sqlite3_step(st) == SQLITE_ROW) {
            ks_changelog_add_source(cw, &(ks_changelog_source_t){
                .topic = (const char *)sqlite3_column_text(st, 0), .partition = sqlite3_column_int(st, 1),
                .next = sqlite3_column_int64(st, 2) });
        }
        sqlite3_reset(st);
        /* an empty state is written as a value holding nothing, never as a tombstone: compaction
         * removes tombstones after delete.retention.ms, and a host that owned the partition long ago
         * would then keep events that were cleared since */
        value = ks_changelog_finish(cw, &len);
        rc = ks_batch_produce(b, task->set->state, task->partition, key, value, len,
                              ks_batch_headers(NULL, NULL), &task->member);
        free(value);
        free(key);
        if (rc != 0)
            return -1;
    }
    task->nchanged = 0;
    return 0;
}

static void
task_delivered(ks_batch_member_t *m, int64_t offset)
{
    ks_trigger_task_t *task = (ks_trigger_task_t *)m;

    if (offset + 1 > task->delivered_next)
        task->delivered_next = offset + 1;
}

static int
task_commit(ks_batch_member_t *m)
{
    ks_trigger_task_t *task = (ks_trigger_task_t *)m;

    if (!task->in_txn)
        return 0;
    if (task->delivered_next >= 0) {
        if (set_position(task, "changelog", task->delivered_next) != 0)
            return -1;
        task->changelog_next = task->delivered_next;
    }
    if (task->input_next != task->input_committed && set_position(task, "input", task->input_next) != 0)
        return -1;
    if (ks_store_exec(task->db, "COMMIT") != 0)
        return -1;
    task->in_txn = false;
    task->input_committed = task->input_next;
    return 0;
}

static void
task_rollback(ks_batch_member_t *m)
{
    ks_trigger_task_t *task = (ks_trigger_task_t *)m;

    if (task->in_txn && ks_store_exec(task->db, "ROLLBACK") != 0)
        ks_log_error("trigger task %s/%d: rollback failed", task->set->trigger, task->partition);
    task->in_txn = false;
    task->nchanged = 0;
    task->delivered_next = -1;
    task->input_next = task->input_committed;
}
