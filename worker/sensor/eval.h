/* eval.h — the sensor model run over a stream of CloudEvents, in memory.
 *
 * This is what `ksensorctl eval` runs, and the reference the pipeline's tests compare against: for
 * each event, in order, the dependencies it matches, their filters, the trigger states, and for each
 * firing its events by dependency and the payload its action would send. The clock of
 * conditionsReset is each event's own `time`. */
#ifndef KS_SENSOR_EVAL_H
#define KS_SENSOR_EVAL_H

#include <stddef.h>

#include <jansson.h>

#include "sensor/sensor.h"

typedef struct ks_eval ks_eval_t;

typedef struct ks_eval_ops {
    /* One firing: {"sensor","trigger","events":{dep: event},"payload":…}; borrowed. NULL: firings
     * are only counted (ks_eval_firings), and neither their JSON nor their payload is built. */
    void (*firing)(const json_t *firing, void *ctx);
    /* An event dropped by a filter error, with the reason (the stream goes on). */
    void (*dropped)(const char *sensor, const char *dependency, const char *reason, void *ctx);
    void  *ctx;
} ks_eval_ops_t;

ks_eval_t *ks_eval_new(const ks_pool_t *pool, const ks_eval_ops_t *ops);
void       ks_eval_free(ks_eval_t *eval);

/* How many firings the evaluation has produced so far. */
size_t     ks_eval_firings(const ks_eval_t *eval);

/* Feeds one structured-mode CloudEvent. Returns 0, or -1 when it cannot be decoded (reason in err). */
int ks_eval_event(ks_eval_t *eval, const void *buf, size_t len, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
