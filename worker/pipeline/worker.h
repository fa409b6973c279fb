/* worker.h — the worker: one libev loop, one Kafka consumer and one transactional producer, running
 * the event, trigger and action stages over the partitions this worker is assigned.
 *
 * The loop reads records, hands each to its stage with the open batch (batch.h), and commits the
 * batch after commitInterval or batchSize records; the stages write through the batch and never call
 * back into the loop. See DESIGN.md §3 and README's architecture section. */
#ifndef KS_PIPELINE_WORKER_H
#define KS_PIPELINE_WORKER_H

#include "core/config.h"
#include "pipeline/executor.h"
#include "sensor/sensor.h"

/* How a worker runs: alone in the foreground, or as a child of the supervisor. */
typedef struct ks_worker_opts {
    int                         slot;
    unsigned                    generation;
    int                         sup_fd;     /* the supervisor's socket (core/report.h); -1 when run alone */
    const char                 *bootstrap;  /* the embedded broker's address; NULL: eventbus.brokers */
    const ks_executor_t *const *executors;  /* by ks_action_kind_t (actions/actions.h) */
} ks_worker_opts_t;

/* Runs until SIGTERM, SIGINT or end-of-file on the supervisor's socket, then finishes the batch and
 * returns 0; fatal errors exit the process (KS_EXIT_FATAL) for the supervisor to respawn it. */
int ks_worker_run(const ks_config_t *cfg, const ks_pool_t *pool, const ks_worker_opts_t *opts)
    __attribute__((warn_unused_result));

#endif
