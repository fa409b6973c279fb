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

/* The firing record of trigger trig: n events (JSON objects, lens bytes each, carried as they are)
 * under their dependency names. malloc'd, its length in *len. With ids — events read back from
 * Kafka — each event is checked (anything but a JSON object travels as null) and {dependency: the
 * event's id} (malloc'd) is stored for the firings table; without, the events are the caller's own
 * encoding and are not checked again. */
char *ks_firing_encode(const char *id, const ks_trigger_t *trig, const char *const *deps, const char *const *events,
                       const size_t *lens, size_t n, size_t *len, char **ids);

/* A firing record as the action stage reads it, without building a document of it. */
typedef struct ks_firing_record {
    char       *id;             /* the firing id */
    const char *events;         /* the text of its events object, within the record */
    size_t      events_len;
    char       *event_ids;      /* {dependency: event id}, sorted by dependency: the ledger's column */
    char       *completing;     /* the id of the event of the dependency asked for, or NULL */
} ks_firing_record_t;

/* Reads a firing record (checked as JSON, its events object scanned for their ids); completing
 * names the dependency whose event completed the firing (NULL: none). 0, or -1 when the text is not
 * a firing record. ks_firing_record_free() either way. */
int  ks_firing_read(ks_firing_record_t *r, const char *text, size_t len, const char *completing)
    __attribute__((warn_unused_result));
void ks_firing_record_free(ks_firing_record_t *r);

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
