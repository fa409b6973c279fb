/* filter.h — Argo's dependency filters and transforms on one CloudEvent.
 *
 * Evaluated in Argo's order — exprs, data, context, time, script — and combined by
 * filtersLogicalOperator with Argo's error rules: with "and" any error rejects the event; with "or"
 * an error only removes its own filter class, and another class may still accept — except a
 * script's error, which rejects the event in both. */
#ifndef KS_SENSOR_FILTER_H
#define KS_SENSOR_FILTER_H

#include <stdbool.h>
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

/* An event's data as JSON, parsed once, when first asked for (NULL: no data, or not JSON). */
typedef struct ks_event_data {
    const ks_event_t *ev;
    json_t           *json;
    bool              parsed;
} ks_event_data_t;

const json_t *ks_event_data(ks_event_data_t *d);
void          ks_event_data_clear(ks_event_data_t *d);

/* An event for one dependency as Argo takes it: its transform (jq, else Lua) first, then its
 * filters on what the transform made. Returns 1 (accepted), 0 (filtered out) or -1 (rejected: a
 * transform or a filter failed, reason in err). When accepted after a transform, *transformed is
 * true and *out is the transformed event (data replaced, datacontenttype application/json), which
 * the caller forwards instead of the original and frees with ks_event_free(). The workers' event
 * stage and ksensorctl eval both take events through here. */
int ks_dependency_accept(const ks_dependency_t *dep, ks_event_data_t *data, ks_event_t *out, bool *transformed,
                         char *err, size_t errlen) __attribute__((warn_unused_result));

#endif
