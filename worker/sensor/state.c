/* state.c — held events, conditions and resets of one trigger (see state.h). */
#include "sensor/state.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

void
ks_state_init(ks_state_t *state, const ks_trigger_t *trigger, void (*release)(void *item))
{
    size_t n = trigger->sensor->ndeps;

    state->trigger = trigger;
    state->held = ks_calloc(n, sizeof(*state->held));
    state->held_at = ks_calloc(n, sizeof(*state->held_at));
    state->release = release;
}

void
ks_state_free(ks_state_t *state)
{
    for (size_t i = 0; i < state->trigger->sensor->ndeps; i++) {
        if (state->held[i] != NULL)
            state->release(state->held[i]);
    }
    free(state->held);
    free(state->held_at);
}

int64_t
ks_state_last_reset(const ks_trigger_t *trigger, int64_t now)
{
    int64_t last = INT64_MIN;

    for (size_t i = 0; i < trigger->nresets; i++) {
        int64_t prev = ks_cron_prev(trigger->resets[i], now);

        if (prev >= 0 && prev > last)
            last = prev;
    }
    return last;
}

bool
ks_state_apply(ks_state_t *state, size_t dep, void *item, int64_t now, void **fired)
{
    size_t  n = state->trigger->sensor->ndeps;
    int64_t reset = ks_state_last_reset(state->trigger, now);
    bool    held[KS_SENSOR_MAX_DEPS];

    /* Argo keeps an event only if it was held after the last reset */
    for (size_t i = 0; i < n; i++) {
        if (state->held[i] != NULL && (i == dep || state->held_at[i] <= reset)) {
            state->release(state->held[i]);
            state->held[i] = NULL;
        }
    }
    state->held[dep] = item;
    state->held_at[dep] = now;

    for (size_t i = 0; i < n; i++)
        held[i] = state->held[i] != NULL;
    if (!ks_cond_eval(state->trigger->cond, held))
        return false;
    memcpy(fired, state->held, n * sizeof(*fired));
    memset(state->held, 0, n * sizeof(*state->held));
    return true;
}
