/* stage_action.c — an action task: the ledger, then the executor of the firing's trigger type (see
 * stage_action.h). */
#include "pipeline/stage_action.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "pipeline/calls.h"
#include "pipeline/crash.h"
#include "pipeline/ledger.h"
#include "sensor/firing.h"

struct ks_action_task {
    const ks_stage_env_t *env;
    ks_ledger_t          *ledger;
    ks_calls_part_t      *calls;
};

ks_action_task_t *
ks_action_task_open(const ks_stage_env_t *env, ks_topic_set_t *set, int32_t partition)
{
    ks_action_task_t *task = ks_calloc(1, sizeof(*task));

    task->env = env;
    if ((task->ledger = ks_ledger_open(env->cfg->data_dir, set->action, partition, env->batch)) == NULL) {
        free(task);
        return NULL;
    }
    task->calls = ks_calls_part_new(env->calls, task->ledger);
    return task;
}

void
ks_action_task_close(ks_action_task_t *task)
{
    if (task == NULL)
        return;
    ks_calls_part_free(task->calls);
    ks_ledger_close(task->ledger);
    free(task);
}

/* The dependency whose event completed the firing, as its record's header names it ("" if none). */
static void
completing_dependency(const rd_kafka_message_t *msg, char *name, size_t size)
{
    rd_kafka_headers_t *hdrs = NULL;
    const void         *dep = NULL;
    size_t              dlen = 0;

    name[0] = '\0';
    if (rd_kafka_message_headers(msg, &hdrs) == 0 && rd_kafka_header_get_last(hdrs, KS_DEP_HEADER, &dep, &dlen) == 0)
        snprintf(name, size, "%.*s", (int)dlen, (const char *)dep);
}

/* A synchronous action, its outcome in the ledger within the batch. */
static int
act_within_batch(ks_action_task_t *task, const ks_firing_t *f)
{
    const ks_stage_env_t *env = task->env;
    char                  err[512] = "";
    int64_t               started = ks_monotonic_us();
    int                   rc;

    if (ks_executor_run(env->executors, f, err, sizeof(err)) == 0)
        rc = ks_ledger_write(task->ledger, f->id, f->trig, f->event_ids, "done", 1, 0, NULL);
    else
        rc = ks_ledger_write(task->ledger, f->id, f->trig, f->event_ids, "failed", 1, 0, err[0] ? err : "failed");
    ks_hist_observe(&env->stats->action, ks_monotonic_us() - started);
    if (err[0] != '\0') {
        env->stats->actions_failed++;
        ks_log_error("firing %s: %s", f->id, err);
    } else {
        env->stats->actions_ok++;
    }
    ks_crash_point("after-action");
    return rc;
}

int
ks_stage_action(ks_action_task_t *task, const rd_kafka_message_t *msg)
{
    const ks_stage_env_t *env = task->env;
    const ks_executor_t  *exec;
    const ks_trigger_t   *trig;
    ks_firing_record_t    rec;
    json_t               *events = NULL;
    const char           *status;
    char                  buf[32], dep[256];
    size_t                slot = 0;
    int                   rc = 0, attempts = 0;
    ks_firing_t           f;

    if ((trig = ks_topics_trigger(env->topics, msg->key, msg->key_len, &slot)) == NULL) {
        ks_log_debug("firing %d/%lld for a trigger not hosted here: skipped", (int)msg->partition,
                     (long long)msg->offset);
        return ks_calls_settle(task->calls, msg->offset);
    }
    completing_dependency(msg, dep, sizeof(dep));
    if (ks_firing_read(&rec, msg->payload, msg->len, dep[0] ? dep : NULL) != 0) {
        ks_firing_record_free(&rec);
        return ks_batch_bad_record(env->batch, msg, "not a firing record") != 0
               ? -1 : ks_calls_settle(task->calls, msg->offset);
    }
    status = ks_ledger_status(task->ledger, rec.id, &attempts, buf, sizeof(buf));
    exec = ks_executor_of(env->executors, trig);
    /* a document of the events only for an executor that reads them as one; they are JSON
     * already (the record was checked), NUL allowed as events are read */
    if (exec == NULL || !exec->events_as_text)
        events = json_loadb(rec.events, rec.events_len, JSON_ALLOW_NUL, NULL);
    f = (ks_firing_t){ .trig = trig, .slot = slot, .id = rec.id, .completing = rec.completing, .events = events,
                       .events_text = rec.events, .events_len = rec.events_len, .event_ids = rec.event_ids };
    if (exec != NULL && exec->run == NULL) {
        rc = ks_calls_firing(task->calls, &f, msg->offset, status, attempts);
    } else if (status != NULL) {
        env->stats->actions_skipped++;
    } else {
        rc = act_within_batch(task, &f);
    }
    json_decref(events);
    ks_firing_record_free(&rec);
    return rc != 0 ? rc : ks_calls_settle(task->calls, msg->offset);
}
