/* ledger.c — an action task's dedupe ledger in SQLite (see ledger.h). */
#include "pipeline/ledger.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/mem.h"
#include "pipeline/store.h"

enum { ST_SEEN, ST_RECORD, ST_COUNT };

static const char *const statements[ST_COUNT] = {
    [ST_SEEN] = "SELECT status, attempts FROM ledger WHERE id = ?",
    [ST_RECORD] = "INSERT OR REPLACE INTO ledger (id, sensor, trigger, kind, status, attempts, last_status, "
                  "last_error, updated_at, events, result) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
};

struct ks_ledger {
    ks_batch_member_t  member;          /* first: the batch's hooks find the ledger */
    ks_batch_t        *batch;
    char              *topic;
    int32_t            partition;
    sqlite3           *db;
    sqlite3_stmt      *st[ST_COUNT];
    bool               in_txn;
};

static int
ledger_commit(ks_batch_member_t *m)
{
    ks_ledger_t *l = (ks_ledger_t *)m;

    if (!l->in_txn)
        return 0;
    l->in_txn = false;
    return ks_store_exec(l->db, "COMMIT");
}

static void
ledger_rollback(ks_batch_member_t *m)
{
    ks_ledger_t *l = (ks_ledger_t *)m;

    if (l->in_txn && ks_store_exec(l->db, "ROLLBACK") != 0)
        ks_log_error("action task %s/%d: rollback failed", l->topic, l->partition);
    l->in_txn = false;
}

ks_ledger_t *
ks_ledger_open(const char *data_dir, const char *topic, int32_t partition, ks_batch_t *batch)
{
    ks_ledger_t *l = ks_calloc(1, sizeof(*l));
    char         err[512];

    l->member = (ks_batch_member_t){ .commit = ledger_commit, .rollback = ledger_rollback };
    l->batch = batch;
    l->topic = ks_strdup(topic);
    l->partition = partition;
    if ((l->db = ks_store_open(data_dir, topic, partition, "action", err, sizeof(err))) == NULL) {
        ks_log_error("%s", err);
        ks_ledger_close(l);
        return NULL;
    }
    for (int i = 0; i < ST_COUNT; i++) {
        if ((l->st[i] = ks_store_prepare(l->db, statements[i])) == NULL) {
            ks_ledger_close(l);
            return NULL;
        }
    }
    return l;
}

void
ks_ledger_close(ks_ledger_t *l)
{
    if (l == NULL)
        return;
    ledger_rollback(&l->member);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(l->st[i]);
    sqlite3_close(l->db);
    free(l->topic);
    free(l);
}

const char *
ks_ledger_status(ks_ledger_t *l, const char *id, int *attempts, char *buf, size_t len)
{
    sqlite3_stmt *st = l->st[ST_SEEN];
    const char   *status = NULL;

    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
        *attempts = sqlite3_column_int(st, 1);
        status = buf;
    }
    sqlite3_reset(st);
    return status;
}

int
ks_ledger_write(ks_ledger_t *l, const char *id, const ks_trigger_t *trig, const char *event_ids, const char *status,
                int attempts, long last_status, const char *detail)
{
    bool          done = strcmp(status, "done") == 0;
    sqlite3_stmt *st = l->st[ST_RECORD];
    int           rc;

    if (!l->in_txn) {
        if (ks_store_exec(l->db, "BEGIN IMMEDIATE") != 0)
            return -1;
        l->in_txn = true;
    }
    ks_batch_join(l->batch, &l->member);
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, trig->sensor->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, trig->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, ks_action_kind_name(trig->kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, status, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, attempts);
    if (last_status > 0)
        sqlite3_bind_int64(st, 7, last_status);
    else
        sqlite3_bind_null(st, 7);
    sqlite3_bind_null(st, 8);
    sqlite3_bind_null(st, 11);
    if (detail != NULL)
        sqlite3_bind_text(st, done ? 11 : 8, detail, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, (int64_t)time(NULL) * 1000);
    sqlite3_bind_text(st, 10, event_ids, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        ks_log_error("action task %s/%d: %s", l->topic, l->partition, sqlite3_errmsg(l->db));
        return -1;
    }
    return 0;
}

const char *
ks_ledger_topic(const ks_ledger_t *l)
{
    return l->topic;
}

int32_t
ks_ledger_partition(const ks_ledger_t *l)
{
    return l->partition;
}
