/* action_stage.c — an action task: one partition of <pool>-action with its dedupe ledger.
 *
 * A firing whose id is in the ledger has run on this host and is skipped. `log` writes one structured
 * line per firing once the batch has committed (intervalSeconds throttles per trigger); `kafka` to
 * this cluster produces inside the batch's transaction, so it takes effect exactly once; to another
 * cluster it is acknowledged before the batch commits (at least once, guarded by the ledger). Each
 * of those two is an executor function. `http` calls outlive the batch: calls.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/log.h"
#include "core/mem.h"
#include "sensor/param.h"
#include "pipeline/worker.h"
#include "pipeline/crash.h"
#include "pipeline/store.h"

enum { ST_SEEN, ST_RECORD, ST_COUNT };

static const char *const statements[ST_COUNT] = {
    [ST_SEEN] = "SELECT status, attempts FROM ledger WHERE id = ?",
    [ST_RECORD] = "INSERT OR REPLACE INTO ledger (id, sensor, trigger, kind, status, attempts, last_status, "
                  "last_error, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
};

struct ks_action_task {
    ks_worker_t     *w;
    ks_topic_set_t  *set;
    int32_t          partition;
    sqlite3         *db;
    sqlite3_stmt    *st[ST_COUNT];
    bool             in_txn;
    ks_http_part_t  *http;          /* its http calls, unfinished */
};

ks_http_part_t **
ks_action_task_http(ks_action_task_t *task)
{
    return &task->http;
}

ks_worker_t *
ks_action_task_worker(const ks_action_task_t *task)
{
    return task->w;
}

const char *
ks_action_task_topic(const ks_action_task_t *task)
{
    return task->set->action;
}

int32_t
ks_action_task_partition(const ks_action_task_t *task)
{
    return task->partition;
}

static const char *const kind_names[] = { "log", "http", "kafka" };

ks_action_task_t *
ks_action_task_open(ks_worker_t *w, ks_topic_set_t *set, int32_t partition)
{
    ks_action_task_t *task = ks_calloc(1, sizeof(*task));
    char              path[4096], err[512];

    task->w = w;
    task->set = set;
    task->partition = partition;
    if (mkdir(w->cfg->data_dir, 0700) != 0 && errno != EEXIST) {
        ks_log_error("mkdir(\"%s\") failed: %s", w->cfg->data_dir, strerror(errno));
        free(task);
        return NULL;
    }
    snprintf(path, sizeof(path), "%s/%s-%d.db", w->cfg->data_dir, set->action, (int)partition);
    if ((task->db = ks_store_open(path, "action", err, sizeof(err))) == NULL) {
        ks_log_error("%s", err);
        free(task);
        return NULL;
    }
    for (int i = 0; i < ST_COUNT; i++) {
        if ((task->st[i] = ks_store_prepare(task->db, statements[i])) == NULL) {
            ks_action_task_close(task);
            return NULL;
        }
    }
    return task;
}

void
ks_action_task_close(ks_action_task_t *task)
{
    if (task == NULL)
        return;
    ks_http_abandon(task);
    ks_action_task_rollback(task);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(task->st[i]);
    sqlite3_close(task->db);
    free(task);
}

int
ks_ledger_write(ks_action_task_t *task, const char *id, const ks_trigger_t *trig, const char *status, int attempts,
                long last_status, const char *error)
{
    sqlite3_stmt *st = task->st[ST_RECORD];
    int           rc;

    if (!task->in_txn) {
        if (ks_store_exec(task->db, "BEGIN IMMEDIATE") != 0)
            return -1;
        task->in_txn = true;
    }
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, trig->sensor->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, trig->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, kind_names[trig->kind], -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, status, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, attempts);
    if (last_status > 0)
        sqlite3_bind_int64(st, 7, last_status);
    else
        sqlite3_bind_null(st, 7);
    if (error != NULL)
        sqlite3_bind_text(st, 8, error, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 8);
    sqlite3_bind_int64(st, 9, (int64_t)time(NULL) * 1000);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        ks_log_error("action task %s/%d: %s", task->set->action, task->partition, sqlite3_errmsg(task->db));
        return -1;
    }
    return 0;
}

/* The ledger's status of a firing (NULL when it has none) and its attempts so far. */
static const char *
ledger_status(ks_action_task_t *task, const char *id, int *attempts, char *buf, size_t len)
{
    sqlite3_stmt *st = task->st[ST_SEEN];
    const char   *status = NULL;

    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
        *attempts = sqlite3_column_int(st, 1);
        status = buf;
    }
    sqlite3_reset(st);
    return status;
}

/* Another cluster: an idempotent producer per url, and the message acknowledged before the batch
 * commits — at least once; the ledger keeps a host from repeating a firing it recorded as done. */
static int
produce_elsewhere(ks_worker_t *w, const char *url, const char *topic, const char *key, const char *body,
                  size_t len, const char *id, char *err, size_t errlen)
{
    rd_kafka_t         *rk = NULL;
    rd_kafka_resp_err_t e;

    for (size_t i = 0; i < w->nexternal; i++) {
        if (strcmp(w->external[i].url, url) == 0)
            rk = w->external[i].producer;
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
        w->external = ks_realloc(w->external, (w->nexternal + 1) * sizeof(*w->external));
        w->external[w->nexternal++] = (ks_external_t){ ks_strdup(url), rk };
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

/* An executor runs a firing's action within the batch: 0 when it took effect, -1 with a sentence in
 * err when it failed. Either way the ledger records the outcome and the batch goes on. (http is not
 * one of them: its calls outlive the batch, see calls.c.) */
typedef int (*executor_t)(const ks_firing_t *f, char *err, size_t errlen);

int
ks_firing_prepare(const ks_firing_t *f, const char *kind, ks_prepared_t *p, char *err, size_t errlen)
{
    const char *dep;
    json_t     *ev, *obj;
    char       *text;
    int         rc;

    memset(p, 0, sizeof(*p));
    p->tmpl = json_deep_copy(f->trig->tmpl);
    json_object_foreach((json_t *)f->events, dep, ev) {
        if (p->n == KS_SENSOR_MAX_DEPS)
            break;
        text = json_dumps(ev, JSON_COMPACT);
        if (text != NULL && ks_event_decode(&p->decoded[p->n], text, strlen(text), err, errlen) == 0) {
            p->held[p->n] = (ks_held_event_t){ dep, &p->decoded[p->n] };
            p->n++;
        }
        free(text);
    }
    if (ks_params_apply(&f->trig->tmpl_params, p->held, p->n, &p->tmpl, err, errlen) != 0)
        return -1;
    obj = json_incref(json_object_get(p->tmpl, kind));
    rc = ks_params_apply(&f->trig->kind_params, p->held, p->n, &obj, err, errlen);
    json_object_set_new(p->tmpl, kind, obj);
    p->kind = obj;
    if (rc != 0)
        return -1;
    return ks_payload_build(&f->trig->payload, p->held, p->n, &p->body, &p->len, err, errlen);
}

void
ks_prepared_free(ks_prepared_t *p)
{
    for (size_t i = 0; i < p->n; i++)
        ks_event_free(&p->decoded[i]);
    free(p->body);
    json_decref(p->tmpl);
}

/* log: one structured line once the batch has committed; intervalSeconds keeps at most one line per
 * interval and trigger (the ledger still records every firing). */
static int
exec_log(const ks_firing_t *f, char *err, size_t errlen)
{
    ks_worker_t *w = f->w;
    int64_t      interval = json_integer_value(json_object_get(json_object_get(f->trig->tmpl, "log"),
                                                               "intervalSeconds")) * 1000;
    int64_t      now = (int64_t)time(NULL) * 1000;
    json_t      *line;
    char        *text;

    (void)err;
    (void)errlen;
    if (interval > 0 && now - w->last_log[f->slot] < interval)
        return 0;
    w->last_log[f->slot] = now;
    line = json_pack("{s:s, s:s, s:s, s:O}", "firing", f->id, "sensor", f->trig->sensor->name, "trigger",
                     f->trig->name, "events", f->events);
    text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    ks_worker_after_commit(w, ks_asprintf("action log: %s", text));
    free(text);
    json_decref(line);
    return 0;
}

/* kafka: the trigger's message, inside the batch's transaction on this cluster, else at least once
 * through produce_elsewhere. */
static int
exec_kafka(const ks_firing_t *f, char *err, size_t errlen)
{
    ks_prepared_t *p = ks_calloc(1, sizeof(*p));
    const char    *url, *topic, *key;
    int            rc = -1;

    if (ks_firing_prepare(f, "kafka", p, err, errlen) != 0)
        goto done;
    url = json_string_value(json_object_get(p->kind, "url"));
    topic = json_string_value(json_object_get(p->kind, "topic"));
    key = json_string_value(json_object_get(p->kind, "partitioningKey"));
    if (url == NULL || topic == NULL) {
        snprintf(err, errlen, "kafka trigger: url and topic are required");
    } else if (strcmp(url, f->w->cfg->eventbus.brokers) == 0) {
        /* this cluster: inside the batch's transaction, exactly once */
        rc = ks_worker_produce(f->w, topic, -1, key, p->body, p->len, ks_worker_headers(NULL, f->id), NULL);
        if (rc != 0)
            snprintf(err, errlen, "kafka trigger: producing to %s failed", topic);
    } else {
        rc = produce_elsewhere(f->w, url, topic, key, p->body, p->len, f->id, err, errlen);
    }
done:
    ks_prepared_free(p);
    free(p);
    return rc;
}

static const executor_t executors[] = {
    [KS_ACTION_LOG] = exec_log,
    [KS_ACTION_KAFKA] = exec_kafka,
};

int
ks_action_execute(const ks_firing_t *f, char *err, size_t errlen)
{
    if (f->trig->kind == KS_ACTION_HTTP) {
        snprintf(err, errlen, "an http action cannot run within a batch");
        return -1;
    }
    return executors[f->trig->kind](f, err, errlen);
}

int
ks_action_stage(ks_worker_t *w, ks_action_task_t *task, rd_kafka_message_t *msg)
{
    size_t              slot = 0;
    const ks_trigger_t *trig;
    json_t             *firing;
    const char         *id, *status;
    char                err[512] = "", buf[32];
    int                 rc = 0, attempts = 0;
    int64_t             started;
    ks_firing_t         f;

    if ((trig = ks_worker_trigger(w, msg->key, msg->key_len, &slot)) == NULL) {
        ks_log_debug("firing %d/%lld for a trigger not hosted here: skipped", (int)msg->partition,
                     (long long)msg->offset);
        return ks_http_settle(task, msg->offset);
    }
    firing = json_loadb(msg->payload, msg->len, 0, NULL);
    id = json_string_value(json_object_get(firing, "id"));
    if (id == NULL) {
        json_decref(firing);
        return ks_worker_bad_record(w, msg, "not a firing record") != 0 ? -1 : ks_http_settle(task, msg->offset);
    }
    status = ledger_status(task, id, &attempts, buf, sizeof(buf));
    f = (ks_firing_t){ w, trig, slot, id, json_object_get(firing, "events") };
    if (trig->kind == KS_ACTION_HTTP) {
        rc = ks_http_action(task, &f, msg, status, attempts);
        json_decref(firing);
        return rc != 0 ? rc : ks_http_settle(task, msg->offset);
    }
    if (status != NULL) {
        w->stats.actions_skipped++;
        json_decref(firing);
        return ks_http_settle(task, msg->offset);
    }
    started = ks_monotonic_us();
    if (executors[trig->kind](&f, err, sizeof(err)) == 0)
        rc = ks_ledger_write(task, id, trig, "done", 1, 0, NULL);
    else
        rc = ks_ledger_write(task, id, trig, "failed", 1, 0, err[0] ? err : "failed");
    ks_hist_observe(&w->stats.action, ks_monotonic_us() - started);
    if (err[0] != '\0') {
        w->stats.actions_failed++;
        ks_log_error("firing %s: %s", id, err);
    } else {
        w->stats.actions_ok++;
    }
    json_decref(firing);
    ks_crash_point("after-action");
    return rc != 0 ? rc : ks_http_settle(task, msg->offset);
}

int
ks_action_task_commit(ks_action_task_t *task)
{
    if (!task->in_txn)
        return 0;
    task->in_txn = false;
    return ks_store_exec(task->db, "COMMIT");
}

void
ks_action_task_rollback(ks_action_task_t *task)
{
    if (task->in_txn && ks_store_exec(task->db, "ROLLBACK") != 0)
        ks_log_error("action task %s/%d: rollback failed", task->set->action, task->partition);
    task->in_txn = false;
}
