/* stage_trigger.h — a trigger task: one partition of a -trigger topic with its SQLite file.
 *
 * Each record brings an event for one dependency of one trigger: it replaces the event held for that
 * dependency (after conditionsReset dropped older ones), and when the condition holds the trigger
 * fires — every held event goes to the action topic as one firing and the state clears. Every
 * trigger changed in a batch writes its whole state to the compacted -state topic (same partition)
 * in the batch's transaction; the file records how far it has applied that changelog, so a task
 * opened on any host restores from Kafka whatever its file lacks. It also records the trigger-topic
 * offset it has applied up to: a record delivered below it means Kafka lost a batch the file kept,
 * and the task rebuilds its state from the whole changelog. Each trigger takes an event once: records
 * carry their event's position, and one at or below what the trigger has taken from that event
 * partition (an event-stage batch Kafka made visible but lost the offsets of, read again) is skipped.
 * The task is a member of every batch it changes (batch.h). */
#ifndef KS_PIPELINE_STAGE_TRIGGER_H
#define KS_PIPELINE_STAGE_TRIGGER_H

#include <librdkafka/rdkafka.h>

#include "pipeline/stage.h"

/* Opens the task's file; NULL (logged) on failure. It is restored before its first record. */
ks_trigger_task_t *ks_trigger_task_open(const ks_stage_env_t *env, ks_topic_set_t *set, int32_t partition);
/* Restores each task from the changelog, reading what its file lacks, several tasks at once (threads
 * with a consumer each): the tasks of an assignment are restored in about the time of the largest.
 * -1 (logged) when any restore failed. */
int ks_trigger_tasks_restore(ks_trigger_task_t *const *tasks, size_t n) __attribute__((warn_unused_result));
void ks_trigger_task_close(ks_trigger_task_t *task);
int  ks_stage_trigger(ks_trigger_task_t *task, const rd_kafka_message_t *msg) __attribute__((warn_unused_result));

#endif
