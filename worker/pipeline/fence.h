/* fence.h — ending the open transaction of an instance that left the group, at once.
 *
 * A host that dies holds the partitions its open transaction wrote to back from every
 * read_committed reader until the broker aborts it (transaction.timeout.ms plus the broker's scan
 * for expired transactions, 10 to 20 s with ksensor's defaults). The worker that is assigned the
 * host's partitions need not wait: initialising a producer with the dead instance's transactional
 * id makes the transaction coordinator abort its open transaction and fence it.
 *
 * Every batch's committed offsets carry the committing instance as their metadata. At an
 * assignment, the last committed offsets of the assigned partitions name who committed them; an
 * instance named there that is not a member of the group any more — not this one or another worker
 * of this daemon, and not a static member that is only restarting — has left it, and is fenced. A
 * member is never fenced; an instance that is only cut off from the brokers has lost its partitions
 * and is fenced like a dead one: its late commit is refused and its worker starts again, as does a
 * worker of another host that has initialised its producer but not yet joined the group when it is
 * fenced (a daemon that restarts after its session timed out, in the same second). When the group
 * cannot be described, nothing is fenced and the broker's timeout ends the transaction as before. */
#ifndef KS_PIPELINE_FENCE_H
#define KS_PIPELINE_FENCE_H

#include <librdkafka/rdkafka.h>

#include "core/config.h"

/* The metadata of an offset committed by instance (malloc'ed, as librdkafka frees it with the list). */
void ks_fence_mark(rd_kafka_topic_partition_t *tp, const char *instance);

/* Fences every instance that committed one of parts' offsets last and is no longer in the group of
 * cfg's pool; rk is any handle on the cluster (the worker's producer). self is this worker's
 * instance. Failures are logged and leave the broker's timeout to do the job. */
void ks_fence_departed(rd_kafka_t *rk, const ks_config_t *cfg, const char *brokers, const char *self,
                       const rd_kafka_topic_partition_list_t *parts);

#endif
