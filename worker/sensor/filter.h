/* filter.h — Argo's dependency filters on one CloudEvent.
 *
 * Evaluated in Argo's order — exprs, data, context, time — and combined by filtersLogicalOperator
 * with Argo's error rules: with "and" any error rejects the event; with "or" an error only removes
 * its own filter class, and another class may still accept. */
#ifndef KS_SENSOR_FILTER_H
#define KS_SENSOR_FILTER_H

#include <stddef.h>

#include <jansson.h>

#include "sensor/sensor.h"
#include "sensor/event.h"

/* data is the event's data parsed as JSON, or NULL when it has none or it is not JSON.
 * Returns 1 (pass), 0 (filtered out) or -1 (rejected because of an error, reason in err). */
int ks_filters_eval(const ks_filters_t *filters, const ks_event_t *ev, const json_t *data, char *err,
                    size_t errlen) __attribute__((warn_unused_result));

/* Whether any filter is set (an empty filter set passes every event without work). */
bool ks_filters_any(const ks_filters_t *filters);

#endif
