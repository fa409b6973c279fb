/* firing.h — a firing as the pipeline carries it and as an action sees it.
 *
 * The firing record on the action topic is {"id","sensor","trigger","events":{dependency: event}}.
 * An action prepares it: the trigger's template with trigger-level and type-level parameters
 * applied (on a fresh copy per firing, as Argo does), and the payload built from the events. */
#ifndef KS_SENSOR_FIRING_H
#define KS_SENSOR_FIRING_H

#include <stddef.h>

#include <jansson.h>

#include "sensor/event.h"
#include "sensor/param.h"
#include "sensor/sensor.h"

/* The firing record of trigger trig: n events (JSON objects, lens bytes each, carried as they are;
 * anything that is not one as null) under their dependency names. malloc'd, its length in *len.
 * With ids, also {dependency: the event's id} (malloc'd) for the firings table. */
char *ks_firing_encode(const char *id, const ks_trigger_t *trig, const char *const *deps, const char *const *events,
                       const size_t *lens, size_t n, size_t *len, char **ids);

/* A firing's template with its parameters applied, and the payload built from its events. */
typedef struct ks_prepared {
    ks_held_event_t  held[KS_SENSOR_MAX_DEPS];
    ks_event_t       decoded[KS_SENSOR_MAX_DEPS];
    size_t           n;
    json_t          *tmpl;
    json_t          *kind;              /* tmpl.<kind> ("http", "kafka") */
    char            *body;
    size_t           len;
} ks_prepared_t;

/* Prepares the firing of trig with events ({dependency: CloudEvent}) for the trigger type kind:
 * 0, or -1 with a sentence in err. ks_prepared_free() either way. */
int  ks_firing_prepare(const ks_trigger_t *trig, const json_t *events, const char *kind, ks_prepared_t *p, char *err,
                       size_t errlen) __attribute__((warn_unused_result));
void ks_prepared_free(ks_prepared_t *p);

#endif
