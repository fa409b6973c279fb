/* changelog.c — the value of a trigger's changelog record (see changelog.h). */
#include "pipeline/changelog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/mem.h"

struct ks_changelog_writer {
    json_t *held;
    json_t *sources;
    char   *events;             /* the held events' bytes, in the order of held */
    size_t  size, cap;
};

ks_changelog_writer_t *
ks_changelog_writer_new(void)
{
    ks_changelog_writer_t *w = ks_calloc(1, sizeof(*w));

    w->held = json_array();
    w->sources = json_array();
    return w;
}

void
ks_changelog_add_held(ks_changelog_writer_t *w, const ks_changelog_held_t *held)
{
    json_array_append_new(w->held, json_pack("{s:s, s:I, s:s, s:I}", "dependency", held->dependency,
                                             "held_at", (json_int_t)held->held_at, "source", held->source,
                                             "size", (json_int_t)held->event_len));
    if (w->size + held->event_len > w->cap) {
        w->cap = w->size + held->event_len > 2 * w->cap ? w->size + held->event_len : 2 * w->cap;
        w->events = ks_realloc(w->events, w->cap);
    }
    if (held->event_len > 0)
        memcpy(w->events + w->size, held->event, held->event_len);
    w->size += held->event_len;
}

void
ks_changelog_add_source(ks_changelog_writer_t *w, const ks_changelog_source_t *source)
{
    json_array_append_new(w->sources, json_pack("{s:s, s:i, s:I}", "topic", source->topic,
                                                "partition", (int)source->partition,
                                                "next", (json_int_t)source->next));
}

char *
ks_changelog_finish(ks_changelog_writer_t *w, size_t *len)
{
    json_t *doc = json_pack("{s:o, s:o}", "held", w->held, "sources", w->sources);
    char   *header = json_dumps(doc, JSON_COMPACT), *value;
    size_t  hlen;

    if (header == NULL)         /* only when memory is exhausted: as ks_malloc */
        abort();
    hlen = strlen(header);
    value = ks_malloc(hlen + 1 + w->size);
    memcpy(value, header, hlen);
    value[hlen] = '\n';
    if (w->size > 0)
        memcpy(value + hlen + 1, w->events, w->size);
    *len = hlen + 1 + w->size;
    free(header);
    free(w->events);
    json_decref(doc);
    free(w);
    return value;
}

static int
fail(ks_changelog_t *cl, char *err, size_t errlen, const char *why)
{
    snprintf(err, errlen, "%s", why);
    ks_changelog_free(cl);
    return -1;
}

int
ks_changelog_parse(ks_changelog_t *cl, const void *value, size_t len, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t      *doc, *held, *sources, *row;
    const char  *bytes, *end = (const char *)value + len;
    size_t       i;

    memset(cl, 0, sizeof(*cl));
    /* the header ends at its closing brace; the events follow a newline */
    if ((doc = json_loadb(value, len, JSON_DISABLE_EOF_CHECK, &jerr)) == NULL) {
        snprintf(err, errlen, "not JSON at byte %d: %s", jerr.position, jerr.text);
        return -1;
    }
    cl->doc = doc;
    bytes = (const char *)value + jerr.position;
    if (bytes < end && *bytes == '\n')
        bytes++;
    held = json_object_get(doc, "held");
    sources = json_object_get(doc, "sources");
    if (!json_is_array(held) || (sources != NULL && !json_is_array(sources)))
        return fail(cl, err, errlen, "no \"held\" array");
    cl->held = ks_calloc(json_array_size(held) + 1, sizeof(*cl->held));
    json_array_foreach(held, i, row) {
        ks_changelog_held_t *h = &cl->held[cl->nheld++];
        json_t              *size = json_object_get(row, "size"), *event = json_object_get(row, "event");

        h->dependency = json_string_value(json_object_get(row, "dependency"));
        h->source = json_string_value(json_object_get(row, "source"));
        h->held_at = json_integer_value(json_object_get(row, "held_at"));
        if (h->dependency == NULL || h->source == NULL || !json_is_integer(json_object_get(row, "held_at")))
            return fail(cl, err, errlen, "a held event without dependency, held_at or source");
        if (json_is_integer(size)) {
            if (json_integer_value(size) < 0 || json_integer_value(size) > end - bytes)
                return fail(cl, err, errlen, "a held event's size runs past the end of the value");
            h->event = bytes;
            h->event_len = (size_t)json_integer_value(size);
            bytes += h->event_len;
        } else if (json_is_string(event)) {     /* the layout before the events followed the header */
            h->event = json_string_value(event);
            h->event_len = json_string_length(event);
        } else
            return fail(cl, err, errlen, "a held event without size or event");
    }
    if (bytes != end)
        return fail(cl, err, errlen, "bytes after the held events");
    cl->sources = ks_calloc(json_array_size(sources) + 1, sizeof(*cl->sources));
    json_array_foreach(sources, i, row) {
        ks_changelog_source_t *s = &cl->sources[cl->nsources++];

        s->topic = json_string_value(json_object_get(row, "topic"));
        s->partition = (int32_t)json_integer_value(json_object_get(row, "partition"));
        s->next = json_integer_value(json_object_get(row, "next"));
        if (s->topic == NULL || !json_is_integer(json_object_get(row, "partition"))
            || !json_is_integer(json_object_get(row, "next")))
            return fail(cl, err, errlen, "a source without topic, partition or next");
    }
    return 0;
}

void
ks_changelog_free(ks_changelog_t *cl)
{
    free(cl->held);
    free(cl->sources);
    json_decref(cl->doc);
    memset(cl, 0, sizeof(*cl));
}
