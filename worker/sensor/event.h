/* event.h — CloudEvents 1.0 events as Argo Events exchanges them on Kafka.
 *
 * Reads the structured JSON mode (what Argo's EventSources and sensors write: one JSON object per record)
 * and the Kafka binary mode (ce_* headers, the record value as data); writes the structured mode exactly
 * as cloudevents sdk-go v2.16.2 behind Go's json.Marshal does; and builds the JSON forms Argo's trigger
 * parameters read (EventContext and the whole event). Part of the pure sensor model: no I/O.
 *
 * Choices where sdk-go is unclear, lax or differs from the brief:
 * - Extension names are 1 to 255 ASCII letters and digits (the spec asks for at most 20, sdk-go sets
 *   no limit); upper case is folded to lower case as sdk-go does. A name that folds onto a spec
 *   attribute or onto another extension is an error. Values may be strings, booleans or numbers;
 *   numbers become 32-bit integers (truncated, as sdk-go does through float64); null drops the
 *   extension; objects and arrays are errors.
 * - An optional attribute that is "" or null is absent (sdk-go reads "" as absent for most of them).
 *   Of duplicate members the last counts.
 * - JSON media types: none, application/json, text/json and any type ending in +json (sdk-go v2.16.2
 *   knows only application/cloudevents+json and application/cloudevents-batch+json among the +json).
 * - `data` under a JSON media type is kept compacted: white space between tokens removed, the text of
 *   numbers and strings untouched (Go's json.Marshal would also write < > & in it as \u003c …).
 *   `data: null` under another media type is empty data, as in sdk-go. A number beyond a double's
 *   range (1e400) anywhere in the event is refused.
 * - time follows Go's RFC 3339 parser: upper-case T and Z, seconds 00-59, fraction digits beyond the
 *   ninth dropped; an instant outside the years 0000-9999 (UTC) is refused. Encoding writes it as
 *   sdk-go does: UTC, nanoseconds without trailing zeros.
 * - Strings are written with Go's escaping: \" \\ \n \r \t, < > & and other controls as \u00xx,
 *   U+2028 and U+2029 as \u2028 and \u2029. */
#ifndef KS_SENSOR_EVENT_H
#define KS_SENSOR_EVENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ks_event {
    char          *specversion;     /* "1.0" */
    char          *id;
    char          *source;
    char          *type;
    char          *subject;         /* NULL when absent */
    char          *datacontenttype; /* NULL when absent */
    char          *dataschema;      /* NULL when absent */
    char          *time;            /* RFC 3339 text as received, NULL when absent */
    int64_t        time_sec;        /* parsed time (UTC seconds), INT64_MIN when absent */
    int32_t        time_nsec;
    unsigned char *data;            /* data bytes (NUL-terminated for convenience), NULL when absent */
    size_t         data_len;
    bool           data_base64;     /* written as data_base64 when encoded */
    json_t        *extensions;      /* object: extension attributes by (lower-case) name */
} ks_event_t;

/* One Kafka record header; value may be NULL (a null header). */
typedef struct ks_event_header {
    const char *name;
    const void *value;
    size_t      len;
} ks_event_header_t;

/* Structured mode: one JSON object. Required: specversion ("1.0"), id, source, type (non-empty
 * strings). `data` under a JSON media type may be any JSON value (ev->data is its compact text);
 * otherwise it must be a string. data_base64 is decoded. Unknown attributes are extensions. ev is
 * overwritten; on error it owns nothing, and err gets a reason a person can act on. */
int ks_event_decode(ks_event_t *ev, const void *buf, size_t len, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Kafka binary mode: attributes from ce_<attr> headers (names case-insensitive, the last of duplicates
 * wins, other ce_* are extensions), datacontenttype from content-type (else ce_datacontenttype), data =
 * the record value (NULL: no data). JSON data is compacted; data_base64 is set when the structured form
 * needs it (not JSON under a JSON media type, not UTF-8 otherwise), so encoding round-trips. */
int ks_event_decode_binary(ks_event_t *ev, const ks_event_header_t *headers, size_t nheaders,
                           const void *value, size_t len, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* True if the record is binary mode: a ce_specversion header, and content-type is not
 * application/cloudevents+json (which sdk-go reads as structured mode first). */
bool ks_event_is_binary(const ks_event_header_t *headers, size_t nheaders) __attribute__((warn_unused_result));

void ks_event_free(ks_event_t *ev);

/* *dst: a copy of src whose data is data (len bytes) of the media type contenttype. */
void ks_event_copy_with_data(ks_event_t *dst, const ks_event_t *src, const char *data, size_t len,
                             const char *contenttype);

/* Structured-mode JSON in sdk-go's field order: specversion, id, source, type, [subject],
 * [datacontenttype], [dataschema], [time], data|data_base64, extensions sorted by name. data_base64 when
 * ev->data_base64 or the data cannot be written as `data`. Malloc'd and NUL-terminated; *len (if not
 * NULL) gets its length. decode(encode(ev)) gives an event ks_event_equal to ev. */
char *ks_event_encode(const ks_event_t *ev, size_t *len) __attribute__((returns_nonnull, warn_unused_result));

/* True if two events carry the same attributes, time instant, data, data form and extensions (the
 * time text may differ: "…+01:00" and the UTC text are the same instant). */
bool ks_event_equal(const ks_event_t *a, const ks_event_t *b) __attribute__((warn_unused_result));

/* Argo's EventContext JSON: {"id","source","specversion","type","datacontenttype","subject","time"}
 * in that order (Go field order, no omitempty: absent strings are ""); time in RFC 3339 at second
 * precision (UTC), null when absent, like metav1.Time. New reference. */
json_t *ks_event_context_json(const ks_event_t *ev) __attribute__((warn_unused_result));

/* Argo's whole-event parameter form: {"context": <context json>, "data": "<base64 of data>" or null}.
 * New reference. */
json_t *ks_event_argo_json(const ks_event_t *ev) __attribute__((warn_unused_result));

/* The data parsed as JSON (new reference), or NULL when there is no data or it is not JSON. When the
 * data holds an integer beyond 64 bits, every number comes back as a real. */
json_t *ks_event_data_json(const ks_event_t *ev) __attribute__((warn_unused_result));

#endif
