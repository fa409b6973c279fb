/* calls.c — firings of asynchronous executors, from their ledger row to their outcome (see calls.h). */
#include "pipeline/calls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "pipeline/crash.h"

#define MAX_INFLIGHT      512       /* attempts in flight per worker */
#define MAX_UNFINISHED    2000      /* per partition: beyond it, fetching the partition pauses */

typedef enum {
    CALL_WAITING,       /* behind an earlier firing of its trigger */
    CALL_READY,         /* its "attempting" row is in a batch: starts once that has committed */
    CALL_RUNNING,       /* in flight, or waiting for its retry or rateLimit timer */
} call_state_t;

typedef struct call call_t;

struct call {
    ks_calls_t         *c;
    ks_calls_part_t    *part;
    call_t             *next;           /* the part's unfinished calls, in offset order */
    call_t             *next_ready;     /* the worker's calls to start */
    call_state_t        state;
    bool                committed;      /* READY: its row has committed */
    const ks_trigger_t *trig;           /* the firing's trigger, or its dlqTrigger once that runs */
    const ks_trigger_t *origin;         /* the firing's trigger: the ledger row's */
    json_t             *events;         /* NULL when the trigger's executor takes events_as_text */
    char               *events_text;    /* the firing's events object, as its record held it */
    size_t              events_len;
    char               *event_ids;      /* the ledger's column */
    char               *completing;     /* the id of the event that completed the firing */
    char               *dlq_outcome;    /* what the dlqTrigger did, for the ledger */
    size_t              slot;
    char               *id;
    int64_t             offset;
    int                 attempts;       /* made so far, this one included once started */
    int64_t             started_us;     /* when the attempt in flight left */
    double              next_delay_s;   /* retryStrategy: the base of the next back-off */
    ev_timer            timer;          /* a retry's back-off, or rateLimit's wait */
    const ks_executor_t *exec;          /* of trig */
    void               *request;        /* what exec prepared for trig */
    void               *inflight;       /* the attempt in flight */
};

struct ks_calls {
    struct ev_loop     *loop;
    ks_batch_t         *batch;
    rd_kafka_t         *consumer;
    ks_executors_t     *x;
    ks_report_t        *stats;
    call_t             *ready;          /* calls to start once their rows have committed, newest first */
    size_t              uncommitted;    /* of them, those whose rows have not yet */
    size_t              active;         /* calls ready or under way: what a stop waits for */
    size_t              inflight;       /* attempts in flight */
    bool                stopping;
    int64_t            *rate_next;      /* per trigger: when rateLimit lets the next attempt start, ms */
};

/* Per action task: its unfinished calls and how far its records have been processed. */
struct ks_calls_part {
    ks_batch_member_t   member;         /* first: an aborted batch undoes what it set up */
    ks_calls_t         *c;
    ks_ledger_t        *ledger;
    call_t             *head;
    size_t              n;
    int64_t             processed_next;
    bool                paused;
};

static void start(call_t *call);
static void part_rollback(ks_batch_member_t *m);

ks_calls_t *
ks_calls_new(struct ev_loop *loop, ks_batch_t *batch, rd_kafka_t *consumer, ks_executors_t *executors,
             ks_report_t *stats, size_t ntriggers)
{
    ks_calls_t *c = ks_calloc(1, sizeof(*c));

    *c = (ks_calls_t){ .loop = loop, .batch = batch, .consumer = consumer, .x = executors, .stats = stats,
                       .rate_next = ks_calloc(ntriggers ? ntriggers : 1, sizeof(*c->rate_next)) };
    return c;
}

void
ks_calls_free(ks_calls_t *c)
{
    if (c == NULL)
        return;
    free(c->rate_next);
    free(c);
}

ks_calls_part_t *
ks_calls_part_new(ks_calls_t *c, ks_ledger_t *ledger)
{
    ks_calls_part_t *p = ks_calloc(1, sizeof(*p));

    p->member = (ks_batch_member_t){ .rollback = part_rollback };
    p->c = c;
    p->ledger = ledger;
    return p;
}

/* The executor of the call's trigger, and the request it prepared; -1 with a sentence in err. */
static int
prepare(call_t *call, const ks_firing_t *f, char *err, size_t errlen)
{
    call->exec = ks_executor_of(call->c->x, f->trig);
    if (call->exec == NULL || call->exec->prepare == NULL) {
        snprintf(err, errlen, "no executor makes %s calls", ks_action_kind_name(f->trig->kind));
        return -1;
    }
    call->request = call->exec->prepare(call->c->x->state[f->trig->kind], f, err, errlen);
    return call->request != NULL ? 0 : -1;
}

static void
request_release(call_t *call)
{
    if (call->request != NULL)
        call->exec->release(call->request);
    call->request = NULL;
}

static void
ready_remove(ks_calls_t *c, call_t *call)
{
    for (call_t **pp = &c->ready; *pp != NULL; pp = &(*pp)->next_ready) {
        if (*pp == call) {
            *pp = call->next_ready;
            if (!call->committed && c->uncommitted > 0)
                c->uncommitted--;
            return;
        }
    }
}

/* Frees a call that is in no list. */
static void
call_free_unlinked(call_t *call)
{
    request_release(call);
    json_decref(call->events);
    free(call->events_text);
    free(call->event_ids);
    free(call->completing);
    free(call->dlq_outcome);
    free(call->id);
    free(call);
}

/* Unlinks a call from its part and the worker and frees it (an attempt in flight is cancelled). */
static void
call_drop(call_t *call)
{
    ks_calls_part_t *part = call->part;
    ks_calls_t      *c = call->c;

    for (call_t **pp = &part->head; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == call) {
            *pp = call->next;
            part->n--;
            break;
        }
    }
    ready_remove(c, call);
    if (call->state != CALL_WAITING)
        c->active--;
    if (call->inflight != NULL) {
        call->exec->cancel(call->inflight);
        c->inflight--;
    }
    ev_timer_stop(c->loop, &call->timer);
    call_free_unlinked(call);
}

/* The offset the part may commit: after what it processed, but not past an unfinished firing. */
static int64_t
committable(const ks_calls_part_t *part)
{
    return part->head != NULL && part->head->offset < part->processed_next ? part->head->offset
                                                                          : part->processed_next;
}

/* Opens the batch (for a ledger row) with what the part may commit in it. */
static void
open_batch(ks_calls_part_t *part)
{
    ks_batch_join(part->c->batch, &part->member);
    if (part->processed_next > 0)
        ks_batch_release(part->c->batch, ks_ledger_topic(part->ledger), ks_ledger_partition(part->ledger),
                         committable(part));
}

static void
pause_partition(ks_calls_part_t *part, bool pause)
{
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_resp_err_t              err;
    const char                      *topic = ks_ledger_topic(part->ledger);
    int32_t                          partition = ks_ledger_partition(part->ledger);

    rd_kafka_topic_partition_list_add(parts, topic, partition);
    err = pause ? rd_kafka_pause_partitions(part->c->consumer, parts)
                : rd_kafka_resume_partitions(part->c->consumer, parts);
    if (err)
        ks_log_error("%s %s/%d failed: %s", pause ? "pausing" : "resuming", topic, (int)partition,
                     rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(parts);
    part->paused = pause;
}

/* Commits what can be committed of the part, and pauses or resumes its fetching. */
static void
settle(ks_calls_part_t *part)
{
    if (part->processed_next > 0)
        open_batch(part);
    if (part->n >= MAX_UNFINISHED && !part->paused)
        pause_partition(part, true);
    else if (part->n < MAX_UNFINISHED / 2 && part->paused)
        pause_partition(part, false);
}

static void start_ready(ks_calls_t *c);

/* Its ledger row "attempting" goes into the open batch; the call starts after the commit (at once
 * when its executor is repeatable). */
static int
make_ready(call_t *call)
{
    ks_calls_t *c = call->c;

    open_batch(call->part);
    ks_crash_point("before-http-ledger");
    if (ks_ledger_write(call->part->ledger, call->id, call->origin, call->event_ids, "attempting", call->attempts + 1, 0,
                        NULL) != 0)
        return -1;
    call->state = CALL_READY;
    /* a repeatable action needs no durable row before it starts: made again after a crash, it
     * finds its own effect */
    call->committed = call->exec->repeatable;
    c->active++;
    call->next_ready = c->ready;
    c->ready = call;
    if (!call->committed)
        c->uncommitted++;
    return 0;
}

/* A firing is over: its row goes into the open batch, the trigger's next firing gets ready. */
static void
call_done(call_t *call, const char *status, long last_status, const char *detail)
{
    ks_calls_part_t    *part = call->part;
    ks_calls_t         *c = call->c;
    size_t              slot = call->slot;
    int                 attempts = call->attempts;
    char               *id = ks_strdup(call->id);
    const ks_trigger_t *origin = call->origin;
    char               *event_ids = ks_strdup(call->event_ids);

    open_batch(part);
    call_drop(call);
    if (ks_ledger_write(part->ledger, id, origin, event_ids, status, attempts, last_status, detail) != 0)
        exit(KS_EXIT_FATAL);    /* the ledger is this host's memory of its calls: without it, stop */
    free(event_ids);
    free(id);
    for (call_t *next = part->head; next != NULL && !c->stopping; next = next->next) {
        if (next->slot == slot && next->state == CALL_WAITING) {
            if (make_ready(next) != 0)
                exit(KS_EXIT_FATAL);
            break;
        }
    }
    settle(part);
}

static void
on_timer(struct ev_loop *loop, ev_timer *timer, int revents)
{
    (void)loop;
    (void)revents;
    start(timer->data);
}

/* The dlqTrigger is over: the firing is recorded as failed, with what its dlqTrigger did. */
static void
dlq_done(call_t *call, bool ok, long status, const char *why)
{
    char *error = ks_asprintf("%s; dlqTrigger %s: %s%s%s", call->dlq_outcome, call->trig->name,
                              ok ? "done" : "failed", why ? ": " : "", why ? why : "");

    ks_log_warning("firing %s: %s", call->id, error);
    call->c->stats->actions_failed++;
    call_done(call, "failed", status, error);
    free(error);
}

/* retryStrategy is exhausted: the dlqTrigger runs with the same events — an asynchronous one as a
 * call of its own (atLeastOnce, its own retryStrategy), a synchronous one within the open batch. */
static void
run_dlq(call_t *call, long status, const char *why)
{
    const ks_trigger_t *dlq = call->trig->dlq;
    ks_firing_t         f = { .trig = dlq, .slot = call->slot, .id = call->id, .events = call->events,
                              .events_text = call->events_text, .events_len = call->events_len,
                              .event_ids = call->event_ids };
    char                err[512] = "";

    call->dlq_outcome = ks_asprintf("%d attempt%s failed (%s)", call->attempts, call->attempts == 1 ? "" : "s", why);
    call->trig = dlq;
    request_release(call);
    if (ks_executor_of(call->c->x, dlq) != NULL && ks_executor_of(call->c->x, dlq)->run != NULL) {
        open_batch(call->part);
        dlq_done(call, ks_executor_run(call->c->x, &f, err, sizeof(err)) == 0, status, err[0] ? err : NULL);
        return;
    }
    if (prepare(call, &f, err, sizeof(err)) != 0) {
        dlq_done(call, false, status, err);
        return;
    }
    call->next_delay_s = (double)dlq->retry.duration_ms / 1000.;
    call->attempts = 0;
    start(call);
}

static void
on_done(void *ctx, bool ok, long status, const char *error)
{
    call_t             *call = ctx;
    const ks_trigger_t *trig = call->trig;
    ks_calls_t         *c = call->c;
    char                why[512];

    call->inflight = NULL;
    c->inflight--;
    ks_hist_observe(&c->stats->action, ks_monotonic_us() - call->started_us);
    if (ok) {
        ks_crash_point("after-http-response");
        if (call->dlq_outcome != NULL) {
            dlq_done(call, true, status, NULL);
        } else {
            c->stats->actions_ok++;
            call_done(call, "done", status, error);
        }
        start_ready(c);
        return;
    }
    snprintf(why, sizeof(why), "%s", error != NULL ? error : "no response");
    if (trig->at_least_once && call->attempts < trig->retry.steps) {
        double delay = call->next_delay_s + drand48() * trig->retry.jitter * call->next_delay_s;

        call->next_delay_s *= trig->retry.factor;
        ks_log_warning("firing %s: attempt %d of %d failed (%s); retrying in %.3f s", call->id, call->attempts,
                       trig->retry.steps, why, delay);
        ev_timer_set(&call->timer, delay, 0.);
        ev_timer_start(c->loop, &call->timer);
        return;
    }
    if (call->dlq_outcome != NULL) {
        dlq_done(call, false, status, why);
    } else if (trig->dlq != NULL) {
        ks_log_error("firing %s: %s call failed after %d attempt%s: %s", call->id, call->exec->kind, call->attempts,
                     call->attempts == 1 ? "" : "s", why);
        run_dlq(call, status, why);
    } else {
        ks_log_error("firing %s: %s call failed after %d attempt%s: %s", call->id, call->exec->kind, call->attempts,
                     call->attempts == 1 ? "" : "s", why);
        c->stats->actions_failed++;
        call_done(call, "failed", status, why);
    }
    start_ready(c);
}

/* Starts the next attempt, once rateLimit allows it. */
static void
start(call_t *call)
{
    ks_calls_t *c = call->c;
    int64_t     now = ks_monotonic_us() / 1000, *next = &c->rate_next[call->slot];
    char        err[512];

    call->state = CALL_RUNNING;
    if (call->trig->rate_unit_ms > 0) {
        if (now < *next) {
            ev_timer_set(&call->timer, (double)(*next - now) / 1000., 0.);
            ev_timer_start(c->loop, &call->timer);
            return;
        }
        *next = now + call->trig->rate_unit_ms / (call->trig->rate_requests > 0 ? call->trig->rate_requests : 1);
    }
    call->attempts++;
    call->started_us = ks_monotonic_us();
    call->inflight = call->exec->attempt(c->x->state[call->trig->kind], call->request, on_done, call, err, sizeof(err));
    c->inflight++;
    if (call->inflight == NULL)
        on_done(call, false, 0, err);
}

/* Starts committed calls, oldest first, up to the bound on attempts in flight. */
static void
start_ready(ks_calls_t *c)
{
    while (c->inflight < MAX_INFLIGHT) {
        call_t **oldest = NULL, *call;

        for (call_t **pp = &c->ready; *pp != NULL; pp = &(*pp)->next_ready) {
            if ((*pp)->committed)
                oldest = pp;
        }
        if (oldest == NULL)
            break;
        call = *oldest;
        *oldest = call->next_ready;
        call->next_ready = NULL;
        ks_crash_point("after-http-ledger");
        start(call);
    }
}

void
ks_calls_committed(ks_calls_t *c)
{
    for (call_t *call = c->ready; call != NULL; call = call->next_ready)
        call->committed = true;
    c->uncommitted = 0;
    start_ready(c);
}

bool
ks_calls_want_commit(const ks_calls_t *c)
{
    return c->uncommitted > 0;
}

size_t
ks_calls_active(const ks_calls_t *c)
{
    return c->active;
}

void
ks_calls_stop(ks_calls_t *c)
{
    c->stopping = true;
}

int
ks_calls_firing(ks_calls_part_t *part, const ks_firing_t *f, int64_t offset, const char *status, int attempts)
{
    ks_calls_t         *c = part->c;
    const ks_trigger_t *trig = f->trig;
    call_t             *call, **pp;
    char                err[512] = "";
    bool                busy = false;

    for (call = part->head; call != NULL; call = call->next) {
        if (strcmp(call->id, f->id) == 0)
            return 0;           /* read again after a rewind: its call is already under way */
        busy |= call->slot == f->slot;
    }
    if (status != NULL && strcmp(status, "attempting") != 0) {
        c->stats->actions_skipped++;
        return 0;               /* over, on this host */
    }
    if (status != NULL && !trig->at_least_once && !ks_executor_of(c->x, trig)->repeatable) {
        /* at most once: the call may have been made before the process stopped */
        ks_log_warning("firing %s: its %s call was started before a stop; recorded as unknown, not repeated", f->id,
                       ks_action_kind_name(trig->kind));
        c->stats->actions_failed++;
        return ks_ledger_write(part->ledger, f->id, trig, f->event_ids, "unknown", attempts, 0,
                               "the process stopped during the call; not repeated (atLeastOnce is false)");
    }
    call = ks_calloc(1, sizeof(*call));
    *call = (call_t){ .c = c, .part = part, .state = CALL_WAITING, .trig = trig, .origin = trig,
                      .events = json_incref((json_t *)f->events), .slot = f->slot, .id = ks_strdup(f->id),
                      .events_text = ks_strndup(f->events_text, f->events_len), .events_len = f->events_len,
                      .event_ids = ks_strdup(f->event_ids),
                      .completing = f->completing ? ks_strdup(f->completing) : NULL, .offset = offset,
                      .attempts = attempts, .next_delay_s = (double)trig->retry.duration_ms / 1000. };
    ev_init(&call->timer, on_timer);
    call->timer.data = call;
    if (prepare(call, f, err, sizeof(err)) != 0) {
        ks_log_error("firing %s: %s", f->id, err);
        c->stats->actions_failed++;
        call_free_unlinked(call);
        return ks_ledger_write(part->ledger, f->id, trig, f->event_ids, "failed", attempts, 0, err);
    }
    /* the part's list stays in offset order: records arrive in order */
    for (pp = &part->head; *pp != NULL; pp = &(*pp)->next)
        ;
    *pp = call;
    part->n++;
    ks_batch_join(c->batch, &part->member);
    if (!busy && make_ready(call) != 0)
        return -1;
    start_ready(c);
    return 0;
}

int
ks_calls_settle(ks_calls_part_t *part, int64_t offset)
{
    part->processed_next = offset + 1;
    if (part->head == NULL)
        return 0;
    settle(part);
    return KS_STAGE_HELD;
}

/* The batch aborted: what it set up is undone, its records are read again (calls whose rows had
 * committed go on, and their records, read again, are recognised). */
static void
part_rollback(ks_batch_member_t *m)
{
    ks_calls_part_t *part = (ks_calls_part_t *)m;
    call_t          *call, *next;

    for (call = part->head; call != NULL; call = next) {
        next = call->next;
        if (call->state == CALL_WAITING || (call->state == CALL_READY && !call->committed))
            call_drop(call);
    }
    part->processed_next = 0;
}

void
ks_calls_part_free(ks_calls_part_t *part)
{
    if (part == NULL)
        return;
    while (part->head != NULL)
        call_drop(part->head);
    free(part);
}
