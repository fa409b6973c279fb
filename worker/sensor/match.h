/* match.h — which dependencies of which sensors an event concerns.
 *
 * Dependencies match on (CloudEvent source, subject) = (eventSourceName, eventName). The index is a
 * hash table over every dependency of the pool, built once per configuration generation, so matching
 * costs one hash lookup however many sensors a worker hosts. */
#ifndef KS_SENSOR_MATCH_H
#define KS_SENSOR_MATCH_H

#include <stddef.h>

#include "sensor/sensor.h"

typedef struct ks_match ks_match_t;

ks_match_t *ks_match_build(ks_sensor_t *const *sensors, size_t nsensors);
void        ks_match_free(ks_match_t *match);

/* The dependencies for (source, subject) in load order, or NULL with *n = 0. */
ks_dependency_t *const *ks_match_find(const ks_match_t *match, const char *source, const char *subject,
                                      size_t *n);

#endif
