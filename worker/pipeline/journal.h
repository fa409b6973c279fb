/* journal.h — the log action's lines of the batch being committed, in a file of the worker's own.
 *
 * A `log` line cannot be part of a Kafka transaction. The batch writes its lines here, with the
 * offsets it is about to commit, before the Kafka commit, writes them to the log once both commits
 * are done, and clears the file. A worker that dies in between finds them at its next start: when
 * Kafka committed the batch (the committed offsets reach the batch's), the lines are written then;
 * otherwise the batch is read again and runs its actions again, and they are dropped. A line is never
 * lost to a crash of the process; it is written twice only when the crash falls between writing the
 * lines and clearing the file, or when the batch was aborted and other workers committed past it
 * before this one came back. The file is written, not synced: a crash of the process keeps it, a
 * crash of the host may not. */
#ifndef KS_PIPELINE_JOURNAL_H
#define KS_PIPELINE_JOURNAL_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

typedef struct ks_journal ks_journal_t;

/* <dataDir>/<pool>-<instance>.journal (instance: "<instance>-<slot>"); NULL with err on failure. */
ks_journal_t *ks_journal_open(const char *data_dir, const char *pool, const char *instance, char *err,
                              size_t errlen);
void ks_journal_close(ks_journal_t *j);

/* Records the batch's offsets and lines; -1 (logged) when the file cannot be written. */
int ks_journal_write(ks_journal_t *j, const rd_kafka_topic_partition_list_t *offsets, char *const *lines,
                     size_t nlines);

/* Empties the file: the lines are written, or their batch was aborted. */
void ks_journal_clear(ks_journal_t *j);

/* At the start, before consuming: writes the lines the file holds when Kafka committed their batch
 * (asked of the consumer's group), drops them otherwise, and clears the file. -1 (logged) when the
 * committed offsets cannot be fetched: the file is kept for the next start. */
int ks_journal_recover(ks_journal_t *j, rd_kafka_t *consumer, int timeout_ms);

#endif
