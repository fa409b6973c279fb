/* changelog.h — the value of a trigger's record in <pool>-state: its held events and its sources.
 *
 * A small JSON header, a newline, then the held events' bytes back to back:
 *
 *     {"held":[{"dependency":"a","held_at":1733600000000,"source":"t/0/17","size":312},…],
 *      "sources":[{"topic":"t","partition":0,"next":18},…]}\n<event a><event b>…
 *
 * The events are kept out of the JSON so that neither writing a record (every batch that changes the
 * trigger) nor restoring one (a new owner of the partition) escapes or parses their bytes: with events
 * of 100 KB that was most of a restore's time. Values written before this layout, with each event as a
 * JSON string under "event" and nothing after the header, are still read. */
#ifndef KS_PIPELINE_CHANGELOG_H
#define KS_PIPELINE_CHANGELOG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *dependency;
    int64_t     held_at;        /* trigger-topic record timestamp, Unix ms */
    const char *source;
    const void *event;
    size_t      event_len;
} ks_changelog_held_t;

typedef struct {
    const char *topic;
    int32_t     partition;
    int64_t     next;           /* the next offset of topic/partition the trigger has not taken */
} ks_changelog_source_t;

/* A value being written: rows are added in order, then the value is taken. */
typedef struct ks_changelog_writer ks_changelog_writer_t;

ks_changelog_writer_t *ks_changelog_writer_new(void);
void ks_changelog_add_held(ks_changelog_writer_t *w, const ks_changelog_held_t *held);
void ks_changelog_add_source(ks_changelog_writer_t *w, const ks_changelog_source_t *source);
/* The value (malloc'd, *len bytes); frees the writer. */
char *ks_changelog_finish(ks_changelog_writer_t *w, size_t *len);

/* A value read: its rows point into the value and into the decoded header, valid until it is freed. */
typedef struct {
    ks_changelog_held_t   *held;
    size_t                 nheld;
    ks_changelog_source_t *sources;
    size_t                 nsources;
    void                  *doc;         /* the decoded header (json_t) */
} ks_changelog_t;

/* 0, or -1 with a reason in err when the value is not a changelog value (cl is then empty). */
int ks_changelog_parse(ks_changelog_t *cl, const void *value, size_t len, char *err, size_t errlen);
void ks_changelog_free(ks_changelog_t *cl);

#endif
