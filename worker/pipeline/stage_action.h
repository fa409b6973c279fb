/* stage_action.h — an action task: one partition of an -action topic, its ledger and its calls.
 *
 * A firing whose id the ledger holds as over has acted on this host and is skipped. Otherwise the
 * executor of its trigger's type acts (executor.h): a synchronous one within the batch, its outcome
 * recorded in the ledger in the same batch; an asynchronous one through the task's calls (calls.h). */
#ifndef KS_PIPELINE_STAGE_ACTION_H
#define KS_PIPELINE_STAGE_ACTION_H

#include <librdkafka/rdkafka.h>

#include "pipeline/stage.h"

/* Opens the task's ledger; NULL (logged) on failure. Closing abandons its unfinished calls. */
ks_action_task_t *ks_action_task_open(const ks_stage_env_t *env, ks_topic_set_t *set, int32_t partition);
void ks_action_task_close(ks_action_task_t *task);
int  ks_stage_action(ks_action_task_t *task, const rd_kafka_message_t *msg) __attribute__((warn_unused_result));

#endif
