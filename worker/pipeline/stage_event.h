/* stage_event.h — the event stage: a CloudEvent from the event topic is matched to the dependencies
 * of every hosted sensor and filtered; each trigger that uses a passing dependency gets the event on
 * its trigger topic (key <sensor>/<trigger>, header dependencyName), or — when its condition has no
 * `&&` — a firing straight on its action topic. Undecodable records are bad records: counted,
 * logged, optionally dead-lettered, and skipped. */
#ifndef KS_PIPELINE_STAGE_EVENT_H
#define KS_PIPELINE_STAGE_EVENT_H

#include <librdkafka/rdkafka.h>

#include "pipeline/stage.h"

int ks_stage_event(const ks_stage_env_t *env, const rd_kafka_message_t *msg) __attribute__((warn_unused_result));

#endif
