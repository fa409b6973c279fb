/* stage.h — what the loop hands each of the three stages: the batch to write through, and what they
 * only read (configuration, hosted sensors, topics, executors). A stage returns 0 when its record's
 * offset may be committed, KS_STAGE_HELD when it has put the partition's committable offset in the
 * batch itself (an unfinished action holds later offsets back), or -1 to abort the batch. */
#ifndef KS_PIPELINE_STAGE_H
#define KS_PIPELINE_STAGE_H

#include "core/config.h"
#include "core/report.h"
#include "pipeline/batch.h"
#include "pipeline/executor.h"
#include "pipeline/topics.h"

#define KS_STAGE_HELD 1

typedef struct ks_calls ks_calls_t;

typedef struct ks_stage_env {
    const ks_config_t    *cfg;
    const char           *brokers;      /* the event bus's bootstrap servers (restores connect there) */
    const ks_topics_t    *topics;
    ks_batch_t           *batch;
    ks_report_t          *stats;
    ks_executors_t       *executors;    /* the action stage's */
    ks_calls_t           *calls;        /* the action stage's firings that outlive their batch */
} ks_stage_env_t;

#endif
