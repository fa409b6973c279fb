/* match.c — open-addressing hash index from (source, subject) to dependencies. */
#include "sensor/match.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

typedef struct match_slot {
    const char        *source;     /* NULL: empty slot */
    const char        *subject;
    uint64_t           hash;
    ks_dependency_t  **deps;
    size_t             n;
} match_slot_t;

struct ks_match {
    match_slot_t *slots;
    size_t        mask;
};

/* FNV-1a over source, a separator byte, and subject. */
static uint64_t
match_hash(const char *source, const char *subject)
{
    uint64_t h = 14695981039346656037ULL;

    for (const unsigned char *p = (const unsigned char *)source; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
    for (const unsigned char *p = (const unsigned char *)subject; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return h;
}

static match_slot_t *
match_slot(const ks_match_t *match, const char *source, const char *subject, uint64_t hash)
{
    for (size_t i = hash & match->mask;; i = (i + 1) & match->mask) {
        match_slot_t *slot = &match->slots[i];

        if (slot->source == NULL
            || (slot->hash == hash && strcmp(slot->source, source) == 0 && strcmp(slot->subject, subject) == 0))
            return slot;
    }
}

ks_match_t *
ks_match_build(ks_sensor_t *const *sensors, size_t nsensors)
{
    ks_match_t *match = ks_calloc(1, sizeof(*match));
    size_t      ndeps = 0, cap = 16;

    for (size_t s = 0; s < nsensors; s++)
        ndeps += sensors[s]->ndeps;
    while (cap < ndeps * 2)
        cap *= 2;
    match->slots = ks_calloc(cap, sizeof(*match->slots));
    match->mask = cap - 1;

    for (size_t s = 0; s < nsensors; s++) {
        for (size_t d = 0; d < sensors[s]->ndeps; d++) {
            ks_dependency_t *dep = &sensors[s]->deps[d];
            uint64_t         hash = match_hash(dep->event_source, dep->event_name);
            match_slot_t    *slot = match_slot(match, dep->event_source, dep->event_name, hash);

            if (slot->source == NULL) {
                slot->source = dep->event_source;
                slot->subject = dep->event_name;
                slot->hash = hash;
            }
            slot->deps = ks_realloc(slot->deps, (slot->n + 1) * sizeof(*slot->deps));
            slot->deps[slot->n++] = dep;
        }
    }
    return match;
}

void
ks_match_free(ks_match_t *match)
{
    if (match == NULL)
        return;
    for (size_t i = 0; i <= match->mask; i++)
        free(match->slots[i].deps);
    free(match->slots);
    free(match);
}

ks_dependency_t *const *
ks_match_find(const ks_match_t *match, const char *source, const char *subject, size_t *n)
{
    match_slot_t *slot;

    *n = 0;
    if (match == NULL || source == NULL)
        return NULL;
    if (subject == NULL)
        subject = "";
    slot = match_slot(match, source, subject, match_hash(source, subject));
    if (slot->source == NULL)
        return NULL;
    *n = slot->n;
    return slot->deps;
}
