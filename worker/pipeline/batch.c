/* batch.c — one Kafka transaction with the SQLite transactions of its members (see batch.h). */
#include "pipeline/batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/mem.h"
#include "pipeline/crash.h"
#include "pipeline/fence.h"
#include "pipeline/journal.h"
#include "pipeline/topics.h"

#define TXN_ATTEMPTS        4       /* of a transaction call whose error is retriable */
#define MAX_ABORTS_IN_A_ROW 5
#define DLT_MAX_RECORD      (900 * 1024)
/* A batch also commits once it has produced this much: the producer keeps every record of an open
 * transaction in memory, and big events must not make a worker's memory grow with batchSize. */
#define BATCH_MAX_BYTES     (8 * 1024 * 1024)

struct ks_batch {
    rd_kafka_t                      *producer;
    rd_kafka_t                      *consumer;
    const ks_config_t               *cfg;
    bool                             embedded;
    ks_report_t                     *stats;
    const char                      *instance;      /* named in the metadata of committed offsets */

    bool                             open;
    int64_t                          opened_us;     /* ks_monotonic_us() when it opened */
    size_t                           records;
    size_t                           bytes;         /* produced: held in memory until it commits */
    rd_kafka_topic_partition_list_t *offsets;
    ks_batch_member_t               *members;
    char                           **lines;         /* to log once the batch has committed */
    size_t                           nlines, caplines;
    ks_journal_t                    *journal;       /* the lines, while the batch commits */
    int                              aborts_in_a_row;

    time_t                           last_bad_log;
    uint64_t                         bad_since_log;
};

static void
reset(ks_batch_t *b)
{
    for (size_t i = 0; i < b->nlines; i++)
        free(b->lines[i]);
    b->nlines = 0;
    while (b->members != NULL) {
        ks_batch_member_t *next = b->members->next;

        b->members->joined = false;
        b->members->next = NULL;
        b->members = next;
    }
    if (b->offsets != NULL)
        rd_kafka_topic_partition_list_destroy(b->offsets);
    b->offsets = rd_kafka_topic_partition_list_new(16);
    b->records = 0;
    b->bytes = 0;
    b->open = false;
}

ks_batch_t *
ks_batch_new(rd_kafka_t *producer, rd_kafka_t *consumer, const ks_config_t *cfg, bool embedded, ks_report_t *stats,
             ks_journal_t *journal, const char *instance)
{
    ks_batch_t *b = ks_calloc(1, sizeof(*b));

    b->instance = instance;
    b->journal = journal;
    b->producer = producer;
    b->consumer = consumer;
    b->cfg = cfg;
    b->embedded = embedded;
    b->stats = stats;
    reset(b);
    return b;
}

void
ks_batch_free(ks_batch_t *b)
{
    if (b == NULL)
        return;
    reset(b);
    rd_kafka_topic_partition_list_destroy(b->offsets);
    free(b->lines);
    free(b);
}

/* Delivery reports: the opaque of a record is the member that produced it (a changelog record's
 * offset tells its trigger task how far the changelog reaches). */
void
ks_batch_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    ks_batch_member_t *owner = msg->_private;

    (void)rk;
    (void)opaque;
    if (msg->err == 0 && owner != NULL && owner->delivered != NULL)
        owner->delivered(owner, msg->offset);
}

void
ks_batch_begin(ks_batch_t *b)
{
    rd_kafka_error_t *error;

    if (b->open)
        return;
    if ((error = rd_kafka_begin_transaction(b->producer)) != NULL) {
        ks_log_error("rd_kafka_begin_transaction failed: %s", rd_kafka_error_string(error));
        exit(KS_EXIT_FATAL);
    }
    b->open = true;
    b->opened_us = ks_monotonic_us();
}

bool
ks_batch_is_open(const ks_batch_t *b)
{
    return b->open;
}

int64_t
ks_batch_age_us(const ks_batch_t *b)
{
    return b->open ? ks_monotonic_us() - b->opened_us : 0;
}

void
ks_batch_join(ks_batch_t *b, ks_batch_member_t *m)
{
    ks_batch_begin(b);
    if (m->joined)
        return;
    m->joined = true;
    m->next = b->members;
    b->members = m;
}

rd_kafka_headers_t *
ks_batch_headers(const char *dependency, const char *firing_id)
{
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(3);

    rd_kafka_header_add(hdrs, KS_FORMAT_HEADER, -1, KS_FORMAT_VERSION, -1);
    if (dependency != NULL)
        rd_kafka_header_add(hdrs, KS_DEP_HEADER, -1, dependency, -1);
    if (firing_id != NULL)
        rd_kafka_header_add(hdrs, KS_FIRING_HEADER, -1, firing_id, -1);
    return hdrs;
}

int
ks_batch_produce(ks_batch_t *b, const char *topic, int32_t partition, const char *key, const void *value,
                 size_t len, rd_kafka_headers_t *headers, ks_batch_member_t *owner)
{
    rd_kafka_resp_err_t err;

    ks_batch_begin(b);
    for (;;) {
        err = rd_kafka_producev(b->producer, RD_KAFKA_V_TOPIC(topic),
                                RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
                                RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
                                RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(owner), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        rd_kafka_poll(b->producer, 100);    /* the local queue is full: let deliveries drain it */
    }
    if (err) {
        rd_kafka_headers_destroy(headers);
        ks_log_error("rd_kafka_producev(%s) failed: %s", topic, rd_kafka_err2str(err));
        return -1;
    }
    b->bytes += len;
    return 0;
}

int
ks_batch_bad_record(ks_batch_t *b, const rd_kafka_message_t *msg, const char *reason)
{
    time_t now = time(NULL);

    b->stats->events_bad++;
    b->bad_since_log++;
    if (now != b->last_bad_log) {
        ks_log_warning("bad record %s/%d/%lld skipped: %s (%llu bad record%s since the last report)",
                       rd_kafka_topic_name(msg->rkt), (int)msg->partition, (long long)msg->offset, reason,
                       (unsigned long long)b->bad_since_log, b->bad_since_log == 1 ? "" : "s");
        b->last_bad_log = now;
        b->bad_since_log = 0;
    }
    if (b->cfg->eventbus.dead_letter_topic[0] == '\0')
        return 0;
    if (msg->len > DLT_MAX_RECORD) {
        /* a broker's default limit is about 1 MB: a bigger record would fail the whole batch */
        ks_log_warning("bad record %s/%d/%lld is too large for the dead-letter topic (%zu bytes)",
                       rd_kafka_topic_name(msg->rkt), (int)msg->partition, (long long)msg->offset, msg->len);
        return 0;
    }
    return ks_batch_produce(b, b->cfg->eventbus.dead_letter_topic, -1, NULL, msg->payload, msg->len,
                            ks_batch_headers(NULL, NULL), NULL);
}

void
ks_batch_release(ks_batch_t *b, const char *topic, int32_t partition, int64_t next_offset)
{
    rd_kafka_topic_partition_t *tp;

    ks_batch_begin(b);
    if ((tp = rd_kafka_topic_partition_list_find(b->offsets, topic, partition)) == NULL) {
        tp = rd_kafka_topic_partition_list_add(b->offsets, topic, partition);
        ks_fence_mark(tp, b->instance);
    }
    tp->offset = next_offset;
}

void
ks_batch_after_commit(ks_batch_t *b, char *line)
{
    if (b->nlines == b->caplines) {
        b->caplines = b->caplines ? b->caplines * 2 : 64;
        b->lines = ks_realloc(b->lines, b->caplines * sizeof(*b->lines));
    }
    b->lines[b->nlines++] = line;
}

bool
ks_batch_count(ks_batch_t *b)
{
    return ++b->records >= (size_t)b->cfg->batch_size || b->bytes >= BATCH_MAX_BYTES;
}

size_t
ks_batch_records(const ks_batch_t *b)
{
    return b->records;
}

/* Seeks every assigned partition back to its committed offset: the aborted batch is read again. */
static void
rewind_to_committed(ks_batch_t *b)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_resp_err_t              err = rd_kafka_assignment(b->consumer, &parts);
    rd_kafka_error_t                *error;

    if (err || parts == NULL) {
        ks_log_error("rd_kafka_assignment failed: %s", rd_kafka_err2str(err));
        exit(KS_EXIT_FATAL);
    }
    if (parts->cnt > 0 && (err = rd_kafka_committed(b->consumer, parts, KS_TXN_CALL_TIMEOUT_MS))) {
        ks_log_error("rd_kafka_committed failed: %s", rd_kafka_err2str(err));
        exit(KS_EXIT_FATAL);
    }
    for (int i = 0; i < parts->cnt; i++) {
        if (parts->elems[i].offset < 0)
            parts->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    if (parts->cnt > 0 && (error = rd_kafka_seek_partitions(b->consumer, parts, KS_TXN_CALL_TIMEOUT_MS)) != NULL) {
        ks_log_error("rd_kafka_seek_partitions failed: %s", rd_kafka_error_string(error));
        exit(KS_EXIT_FATAL);
    }
    rd_kafka_topic_partition_list_destroy(parts);
}

/* True (the error logged and freed) when a transaction call must be made again: its error is
 * retriable — it timed out and goes on in the background; aborting now would conflict with it — and
 * fewer than TXN_ATTEMPTS calls were made. */
static bool
again(rd_kafka_error_t *error, const char *what, int attempt)
{
    if (error == NULL || !rd_kafka_error_is_retriable(error) || attempt >= TXN_ATTEMPTS)
        return false;
    ks_log_warning("%s: %s; calling it again (%d of %d)", what, rd_kafka_error_string(error), attempt + 1,
                   TXN_ATTEMPTS);
    rd_kafka_error_destroy(error);
    return true;
}

void
ks_batch_abort(ks_batch_t *b, const char *why, bool rewind)
{
    rd_kafka_error_t *error;

    ks_log_warning("aborting the batch of %zu records: %s", b->records, why);
    b->stats->aborts++;
    if (++b->aborts_in_a_row > MAX_ABORTS_IN_A_ROW) {
        /* the same failure again and again: let the supervisor restart the worker, with back-off */
        ks_log_error("%d batches in a row aborted; the worker exits", MAX_ABORTS_IN_A_ROW + 1);
        exit(KS_EXIT_FATAL);
    }
    for (int attempt = 1;; attempt++) {
        error = rd_kafka_abort_transaction(b->producer, KS_TXN_CALL_TIMEOUT_MS);
        if (!again(error, "rd_kafka_abort_transaction", attempt))
            break;
    }
    if (error != NULL) {
        ks_log_error("rd_kafka_abort_transaction failed: %s", rd_kafka_error_string(error));
        exit(KS_EXIT_FATAL);
    }
    for (ks_batch_member_t *m = b->members; m != NULL; m = m->next) {
        if (m->rollback != NULL)
            m->rollback(m);
    }
    ks_journal_clear(b->journal);           /* the batch is read again: its lines come again */
    reset(b);
    if (rewind)
        rewind_to_committed(b);
}

/* Ends a transaction call: 0 on success, -1 after aborting the batch, exits on a fatal error. */
static int
txn_result(ks_batch_t *b, rd_kafka_error_t *error, const char *what)
{
    char why[512];

    if (error == NULL)
        return 0;
    snprintf(why, sizeof(why), "%s: %s", what, rd_kafka_error_string(error));
    if (rd_kafka_error_is_fatal(error)) {
        ks_log_error("%s (fatal; the worker exits)", why);
        exit(KS_EXIT_FATAL);
    }
    rd_kafka_error_destroy(error);
    ks_batch_abort(b, why, true);
    return -1;
}

int
ks_batch_commit(ks_batch_t *b)
{
    rd_kafka_consumer_group_metadata_t *cgmd;
    rd_kafka_error_t                   *error;
    rd_kafka_resp_err_t                 err;
    int64_t                             started = ks_monotonic_us();

    if (!b->open)
        return 0;
    for (ks_batch_member_t *m = b->members; m != NULL; m = m->next) {
        if (m->flush != NULL && m->flush(m, b) != 0) {
            ks_batch_abort(b, "changelog records could not be produced", true);
            return -1;
        }
    }
    if (b->nlines > 0 && ks_journal_write(b->journal, b->offsets, b->lines, b->nlines) != 0) {
        ks_batch_abort(b, "the log lines could not be written to the journal", true);
        return -1;
    }
    ks_crash_point("before-kafka-commit");
    for (int attempt = 1;; attempt++) {
        cgmd = rd_kafka_consumer_group_metadata(b->consumer);
        error = rd_kafka_send_offsets_to_transaction(b->producer, b->offsets, cgmd, KS_TXN_CALL_TIMEOUT_MS);
        rd_kafka_consumer_group_metadata_destroy(cgmd);
        if (!again(error, "rd_kafka_send_offsets_to_transaction", attempt))
            break;
    }
    if (txn_result(b, error, "rd_kafka_send_offsets_to_transaction") != 0)
        return -1;
    for (int attempt = 1;; attempt++) {
        error = rd_kafka_commit_transaction(b->producer, KS_TXN_CALL_TIMEOUT_MS);
        if (!again(error, "rd_kafka_commit_transaction", attempt))
            break;
    }
    if (txn_result(b, error, "rd_kafka_commit_transaction") != 0)
        return -1;
    rd_kafka_poll(b->producer, 0);          /* delivery reports: the changelog positions */
    if (b->embedded && (err = rd_kafka_commit(b->consumer, b->offsets, 0)) != 0)
        ks_log_warning("embedded broker: committing offsets failed: %s", rd_kafka_err2str(err));
    ks_crash_point("after-kafka-commit");
    ks_crash_point("before-sqlite-commit");
    for (ks_batch_member_t *m = b->members; m != NULL; m = m->next) {
        /* Kafka has the batch; a file that fails to commit catches up at the next start */
        if (m->commit != NULL && m->commit(m) != 0)
            exit(KS_EXIT_FATAL);
    }
    /* log actions: written once both commits are done; a crash before the journal is cleared
     * writes them at the next start (journal.h) */
    for (size_t i = 0; i < b->nlines; i++)
        ks_log_notice("%s", b->lines[i]);
    ks_journal_clear(b->journal);           /* nothing to do when the batch wrote no line */
    ks_crash_point("after-sqlite-commit");
    b->stats->batches++;
    b->aborts_in_a_row = 0;
    ks_hist_observe(&b->stats->commit, ks_monotonic_us() - started);
    reset(b);
    return 0;
}
