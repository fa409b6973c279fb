/* ledger.h — the dedupe ledger of an action task: one SQLite file per partition of an -action topic,
 * a row per firing this host has acted on (status, attempts, last status and error). A firing whose
 * row says it is over is never acted on again by this host. Rows are written within the batch: the
 * ledger joins the batch at its first row and commits with it. */
#ifndef KS_PIPELINE_LEDGER_H
#define KS_PIPELINE_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "pipeline/batch.h"
#include "sensor/sensor.h"

typedef struct ks_ledger ks_ledger_t;

/* Opens <dataDir>/<topic>-<partition>.db; NULL (logged) on failure. */
ks_ledger_t *ks_ledger_open(const char *data_dir, const char *topic, int32_t partition, ks_batch_t *batch);
/* Rolls back what is not committed and closes the file. */
void ks_ledger_close(ks_ledger_t *l);

/* The status of a firing (NULL when it has no row; else copied to buf) and its attempts so far. */
const char *ks_ledger_status(ks_ledger_t *l, const char *id, int *attempts, char *buf, size_t len);

/* A row, in the batch's transaction: the firing (id, trigger, the ids of its events as
 * {dependency: event id}) and its outcome: detail is what the action made when status
 * is "done" (the result column), else why it failed (last_error); last_status <= 0 and a NULL detail
 * are recorded as NULL. */
int ks_ledger_write(ks_ledger_t *l, const char *id, const ks_trigger_t *trig, const char *event_ids,
                    const char *status, int attempts, long last_status, const char *detail)
    __attribute__((warn_unused_result));

const char *ks_ledger_topic(const ks_ledger_t *l);
int32_t     ks_ledger_partition(const ks_ledger_t *l);

#endif
