/* batch.h — the batch: one Kafka transaction and, with it, one SQLite transaction per task that
 * joined (DESIGN.md §3). The loop opens it at a record and commits it after commitInterval, batchSize
 * records or BATCH_MAX_BYTES produced; the stages and executors write through it and never reach the
 * loop.
 *
 * Commit: every member flushes (a trigger task produces its changelog records), the consumed offsets
 * go into the transaction with the group's metadata (KIP-447), the transaction commits, every member
 * commits its SQLite transaction, then the log lines the batch decided are written (held in the
 * worker's journal, journal.h, from before the Kafka commit until they are written). An abortable
 * error aborts the transaction, rolls every member back and rewinds the consumer to the committed
 * offsets, so the batch is read again; a fatal one, or MAX_ABORTS_IN_A_ROW aborts in a row, exits the
 * worker (KS_EXIT_FATAL) for the supervisor to respawn. */
#ifndef KS_PIPELINE_BATCH_H
#define KS_PIPELINE_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "core/config.h"
#include "core/report.h"
#include "pipeline/journal.h"

/* How long a transactional or group coordinator call of a worker may block (a few round trips,
 * unless the coordinator is away). */
#define KS_TXN_CALL_TIMEOUT_MS 30000

typedef struct ks_batch        ks_batch_t;
typedef struct ks_batch_member ks_batch_member_t;

/* A task's part in the batch, embedded in the task. Any hook may be NULL. */
struct ks_batch_member {
    /* before the Kafka commit: the member's last records (-1 aborts the batch) */
    int  (*flush)(ks_batch_member_t *m, ks_batch_t *b);
    /* after it: the member's SQLite COMMIT (-1: the worker exits; the file catches up at the next start) */
    int  (*commit)(ks_batch_member_t *m);
    /* the batch aborted */
    void (*rollback)(ks_batch_member_t *m);
    /* a record produced with this member as its owner was delivered at offset */
    void (*delivered)(ks_batch_member_t *m, int64_t offset);
    ks_batch_member_t *next;
    bool               joined;
};

/* The batch of a worker's producer (transactional, initialised, with ks_batch_on_delivery as its
 * delivery callback), consumer (read_committed) and journal (recovered). embedded: the mock cluster,
 * which drops offsets sent with the transaction; they are committed on their own too. The offsets
 * it commits name instance, the worker's (fence.h). */
ks_batch_t *ks_batch_new(rd_kafka_t *producer, rd_kafka_t *consumer, const ks_config_t *cfg, bool embedded,
                         ks_report_t *stats, ks_journal_t *journal, const char *instance);
void ks_batch_free(ks_batch_t *b);

/* The delivery callback the producer's configuration must carry. */
void ks_batch_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque);

/* Opens the batch when none is open; whether one is. */
void ks_batch_begin(ks_batch_t *b);
bool ks_batch_is_open(const ks_batch_t *b);
/* How long the open batch has been open (0 when none is). */
int64_t ks_batch_age_us(const ks_batch_t *b);

/* A member joins the batch (opened when needed) until it commits or aborts; joining twice is once. */
void ks_batch_join(ks_batch_t *b, ks_batch_member_t *m);

/* Produces a record inside the transaction (opened when needed); partition < 0 lets the partitioner
 * choose; owner (or NULL) hears of its delivery. headers are taken over, also on failure. */
int  ks_batch_produce(ks_batch_t *b, const char *topic, int32_t partition, const char *key, const void *value,
                      size_t len, rd_kafka_headers_t *headers, ks_batch_member_t *owner)
    __attribute__((warn_unused_result));

/* The headers of an internal record: format version, and the dependency and firing id when not NULL. */
rd_kafka_headers_t *ks_batch_headers(const char *dependency, const char *firing_id);

/* A bad record: counted, logged (at most once a second, with how many were suppressed), and sent to
 * the dead-letter topic when one is configured. */
int  ks_batch_bad_record(ks_batch_t *b, const rd_kafka_message_t *msg, const char *reason)
    __attribute__((warn_unused_result));

/* A partition's committable offset joins the batch (opened when needed). */
void ks_batch_release(ks_batch_t *b, const char *topic, int32_t partition, int64_t next_offset);

/* A line to log (notice) once the batch has committed; taken over. */
void ks_batch_after_commit(ks_batch_t *b, char *line);

/* One more record processed in the batch; true when the batch is full and should commit. */
bool ks_batch_count(ks_batch_t *b);
/* Records processed in the open batch (0 when it holds only what calls wrote). */
size_t ks_batch_records(const ks_batch_t *b);

/* Commits the open batch (nothing when none is open): 0, or -1 when it aborted instead. */
int  ks_batch_commit(ks_batch_t *b);

/* Aborts the open batch; with rewind, the consumer goes back to the committed offsets so the batch
 * is read again (not on a revocation: the partitions leave). */
void ks_batch_abort(ks_batch_t *b, const char *why, bool rewind);

#endif
