/* param.h — Argo TriggerParameters: values taken from the firing's events, set into a JSON
 * document (a trigger template, or an action payload). */
#ifndef KS_SENSOR_PARAM_H
#define KS_SENSOR_PARAM_H

#include <stddef.h>

#include <jansson.h>

#include "sensor/sensor.h"
#include "sensor/event.h"

/* One held event of a firing, under the name of the dependency it arrived for. */
typedef struct ks_held_event {
    const char       *dependency;
    const ks_event_t *event;
} ks_held_event_t;

/* Applies params to *doc in order (sjson paths, overwrite/append/prepend). *doc may start NULL.
 * A parameter whose dependency has no event and no default value is skipped, as in Argo.
 * Returns 0, or -1 with a message (a key that resolves to nothing and has no default). */
int ks_params_apply(const ks_params_t *params, const ks_held_event_t *events, size_t nevents,
                    json_t **doc, char *err, size_t errlen) __attribute__((warn_unused_result));

/* An action payload from payload[]: a JSON object built from "{}", or — for a parameter with an
 * empty dest — that parameter's value as the whole body. *body is malloc'd (NUL-terminated); an
 * empty payload[] gives an empty body. Returns 0 or -1 with a message. */
int ks_payload_build(const ks_params_t *payload, const ks_held_event_t *events, size_t nevents,
                     char **body, size_t *len, char *err, size_t errlen) __attribute__((warn_unused_result));

#endif
