/* executor.h — the one interface behind which every trigger type runs its action.
 *
 * The action stage reads a firing, consults the ledger and hands the firing to the executor of its
 * trigger's type. A synchronous executor (log, kafka) acts within the open batch: its effect commits
 * or aborts with the batch's transaction. An asynchronous one (http) acts outside it: the pipeline
 * (calls.h) records the firing in the ledger, starts attempts once that row is durable, orders the
 * firings of a trigger, retries, runs the dlqTrigger, honours rateLimit and holds the partition's
 * offset back until the firing is over; the executor only prepares a firing's request and makes one
 * attempt at a time.
 *
 * The executors are implemented above the pipeline (worker/actions/) and handed to the worker as a
 * table indexed by ks_action_kind_t: a new trigger type is one file there and one line in its table. */
#ifndef KS_PIPELINE_EXECUTOR_H
#define KS_PIPELINE_EXECUTOR_H

#include <stdbool.h>
#include <stddef.h>

#include <ev.h>
#include <jansson.h>

#include "core/config.h"
#include "pipeline/batch.h"
#include "sensor/sensor.h"

typedef struct ks_executors ks_executors_t;

/* One firing, as an executor sees it. */
typedef struct ks_firing {
    const ks_trigger_t *trig;
    size_t              slot;           /* the trigger's index among the hosted ones: per-trigger state */
    const char         *id;             /* the firing id: ledger key, Idempotency-Key */
    const char         *completing;     /* the id of the event that completed the firing, or NULL */
    const json_t       *events;         /* {dependency: CloudEvent}; NULL for an executor that takes
                                         * events_as_text */
    const char         *events_text;    /* the same object as the firing record holds it */
    size_t              events_len;
    const char         *event_ids;      /* {dependency: event id}: the ledger's column */
} ks_firing_t;

/* What an executor's state is made from, once per worker. */
typedef struct ks_exec_env {
    const ks_config_t *cfg;
    const char        *brokers;         /* the event bus's bootstrap servers */
    struct ev_loop    *loop;
    ks_batch_t        *batch;           /* synchronous executors produce and log through it */
    size_t             ntriggers;       /* hosted triggers: slots 0 … ntriggers - 1 */
} ks_exec_env_t;

/* The end of an attempt, called once from the loop: ok, the protocol's status (HTTP status; 0 when
 * there was no response) and a sentence: why when not ok, what the action made when ok (or NULL);
 * the ledger keeps it. */
typedef void (*ks_attempt_done_t)(void *ctx, bool ok, long status, const char *text);

typedef struct ks_executor {
    const char *kind;               /* the trigger type, as the ledger records it */
    /* The executor's per-worker state (NULL is a valid state); its end. */
    void *(*open)(const ks_exec_env_t *env);
    void  (*close)(void *state);

    /* Synchronous (NULL for an asynchronous executor): the action, within the open batch;
     * 0, or -1 with a sentence in err. */
    int   (*run)(void *state, const ks_firing_t *f, char *err, size_t errlen);

    /* Asynchronous: what a firing sends, built once for all its attempts (NULL with a sentence in
     * err when it cannot be built: the firing fails); its end. */
    void *(*prepare)(void *state, const ks_firing_t *f, char *err, size_t errlen);
    void  (*release)(void *request);
    /* One attempt: done is called once, later, from the loop — unless the attempt is cancelled.
     * NULL with a sentence in err when it cannot even start (done is then never called). */
    void *(*attempt)(void *state, void *request, ks_attempt_done_t done, void *ctx, char *err, size_t errlen);
    void  (*cancel)(void *attempt);
    /* An attempt made again does nothing twice (the executor finds its own effect, as k8s finds the
     * object carrying the firing id): a firing a stop interrupted is attempted again after the
     * restart even without atLeastOnce, instead of being recorded as unknown, and an attempt starts
     * without waiting for its "attempting" row to commit. */
    bool  repeatable;
    /* The executor reads the firing's events as text (events_text), never as a document: the
     * action stage then decodes no firing record for it (the log executor splices the text). */
    bool  events_as_text;
} ks_executor_t;

/* The executors of one worker, with their states. */
struct ks_executors {
    const ks_executor_t *by_kind[KS_ACTION_KINDS];
    void                *state[KS_ACTION_KINDS];
};

/* Opens the state of every executor of table (indexed by ks_action_kind_t; NULL entries are types
 * this build does not run). */
void ks_executors_open(ks_executors_t *x, const ks_executor_t *const *table, const ks_exec_env_t *env);
void ks_executors_close(ks_executors_t *x);

/* The executor of a trigger's type, or NULL. */
const ks_executor_t *ks_executor_of(const ks_executors_t *x, const ks_trigger_t *trig);

/* Runs a synchronous action within the open batch: 0, or -1 with a sentence in err. */
int ks_executor_run(ks_executors_t *x, const ks_firing_t *f, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
