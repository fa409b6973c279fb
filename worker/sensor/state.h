/* state.h — the state of one trigger: the latest event held per dependency.
 *
 * Argo's semantics: an event replaces the one held for its dependency; when the condition becomes
 * true the trigger fires with every held event (keyed by dependency name) and the state clears.
 * conditionsReset drops events held at or before the last cron activation. Held items are opaque to
 * this module (the offline evaluator holds events, a worker holds references to stored rows). */
#ifndef KS_SENSOR_STATE_H
#define KS_SENSOR_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sensor/sensor.h"

typedef struct ks_state {
    const ks_trigger_t  *trigger;
    void               **held;       /* per dependency of the sensor: the held item, or NULL */
    int64_t             *held_at;    /* when each was held (UTC seconds) */
    void               (*release)(void *item);
} ks_state_t;

void ks_state_init(ks_state_t *state, const ks_trigger_t *trigger, void (*release)(void *item));
void ks_state_free(ks_state_t *state);

/* The latest conditionsReset activation at or before now, or INT64_MIN without resets. */
int64_t ks_state_last_reset(const ks_trigger_t *trigger, int64_t now);

/* Holds item for dependency dep at time now (releasing what it replaces and what a reset dropped).
 * Returns true when the condition is satisfied: then the held items move to fired[] (one slot per
 * dependency, NULL where none; the caller owns them) and the state is empty again. */
bool ks_state_apply(ks_state_t *state, size_t dep, void *item, int64_t now, void **fired);

#endif
