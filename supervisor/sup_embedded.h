/* sup_embedded.h — the embedded broker: a child process hosting librdkafka's mock cluster on
 * loopback, for trying ksensor out without a Kafka installation (`eventbus.brokers: embedded`).
 *
 * It is in memory and has none of a real broker's guarantees: whatever it holds is gone when the
 * daemon stops. The child creates the event topic and the internal topics — the pool's, or with
 * topicLayout per-sensor every loaded sensor's (the mock cluster has no CreateTopics) — reports its
 * bootstrap address, then lives until the supervisor closes its end of the control pipe. */
#ifndef SUP_EMBEDDED_H
#define SUP_EMBEDDED_H

#include <stddef.h>
#include <sys/types.h>

#include "sensor/sensor.h"
#include "core/config.h"

typedef struct ks_embedded {
    pid_t pid;
    int   ctl;                  /* closing it stops the broker */
    char  bootstrap[256];
} ks_embedded_t;

/* Forks the broker; child_setup(ctx) runs first in the child to close the supervisor's descriptors.
 * Returns 0 with eb filled in, or -1 with a message. */
int  ks_embedded_start(ks_embedded_t *eb, const ks_config_t *cfg, const ks_pool_t *pool,
                       void (*child_setup)(void *ctx), void *ctx, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Closes the control pipe: the broker exits. */
void ks_embedded_stop(ks_embedded_t *eb);

#endif
