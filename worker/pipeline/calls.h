/* calls.h — firings whose action outlives the batch they were read in (asynchronous executors:
 * http), with the ledger and offset order Argo's atLeastOnce flag asks for (DESIGN.md §2.3).
 *
 * A firing's ledger row "attempting" is written in the batch, and its first attempt starts once
 * that batch has committed (the loop commits as soon as calls wait for that), so the row is durable
 * before the request leaves. The partition's committed offset stops before its earliest unfinished
 * firing: records after it are processed, but their offsets join a batch only once every firing
 * before them is over. A firing's outcome is written in the batch that commits its offset. Firings
 * of one trigger are made one after the other (a later one waits); different triggers' run in
 * parallel, up to MAX_INFLIGHT attempts per worker; a partition with MAX_UNFINISHED firings
 * unfinished stops fetching until half of them are over.
 *
 *   atLeastOnce: false (Argo's default): one attempt. A firing whose row says "attempting" when it
 *     is read again — the process stopped during its attempt — is recorded as "unknown", never made
 *     again by this host.
 *   atLeastOnce: true: retried per retryStrategy; read again after a crash, the firing is made
 *     again. A firing recorded as done is never repeated on this host. Once retries are exhausted the
 *     dlqTrigger (if any) runs with the same events, and the firing is recorded as failed with what
 *     the dlqTrigger did.
 * rateLimit spaces the attempts of a trigger without blocking the loop. A stop (SIGTERM, a reload)
 * lets the firings under way — in flight, in a retry's back-off, or waiting for rateLimit — finish
 * while the loop waits for them; firings not yet started are left to the next owner of the
 * partition. Every attempt's duration goes into the action latency histogram. */
#ifndef KS_PIPELINE_CALLS_H
#define KS_PIPELINE_CALLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>
#include <librdkafka/rdkafka.h>

#include "pipeline/executor.h"
#include "pipeline/ledger.h"
#include "pipeline/stage.h"

typedef struct ks_calls_part ks_calls_part_t;

/* The calls of a worker: attempts on loop, through the executors, rows in batch's transactions;
 * consumer pauses a partition with too many unfinished firings. */
ks_calls_t *ks_calls_new(struct ev_loop *loop, ks_batch_t *batch, rd_kafka_t *consumer, ks_executors_t *executors,
                         ks_report_t *stats, size_t ntriggers);
void ks_calls_free(ks_calls_t *c);

/* An action task's calls (its ledger is the task's); freeing it abandons them (the next owner of
 * the partition reads their records again). */
ks_calls_part_t *ks_calls_part_new(ks_calls_t *c, ks_ledger_t *ledger);
void ks_calls_part_free(ks_calls_part_t *p);

/* A firing of an asynchronous executor read at offset (status: its ledger row's, or NULL; attempts
 * so far): set up to start after the batch commits, or behind an earlier firing of its trigger.
 * 0, or -1 to abort the batch. */
int  ks_calls_firing(ks_calls_part_t *p, const ks_firing_t *f, int64_t offset, const char *status, int attempts)
    __attribute__((warn_unused_result));

/* A record of the task has been processed: 0 when its offset can be committed as usual, else
 * KS_STAGE_HELD (the committable offset is in the batch already). */
int  ks_calls_settle(ks_calls_part_t *p, int64_t offset);

/* A batch committed: the calls whose rows it made durable start. */
void ks_calls_committed(ks_calls_t *c);

/* Calls wait for their rows to commit: the loop should commit without waiting for its timer. */
bool ks_calls_want_commit(const ks_calls_t *c);

/* Firings under way (ready, in flight, in back-off or waiting for rateLimit): what a stop waits for. */
size_t ks_calls_active(const ks_calls_t *c);

/* The worker stops: a firing that ends no longer makes its trigger's next one ready. */
void ks_calls_stop(ks_calls_t *c);

#endif
