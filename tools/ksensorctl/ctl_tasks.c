/* ctl_tasks.c — the workers' SQLite task files, opened read-only: a short busy timeout so a live
 * worker is never blocked, and a check that the file is one of ours with a schema this tool knows
 * (a foreign, corrupt or newer file is reported and left untouched). */
#include <stdio.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "ctl.h"
#include "pipeline/store.h"

/* The number of the newest schema/NNN_*.sql this build knows. */
static int
schema_known(void)
{
    int newest = 0;

    for (const ks_schema_file_t *f = ks_schema_files; f->name != NULL; f++) {
        if (atoi(f->name) > newest)
            newest = atoi(f->name);
    }
    return newest;
}

void
ctl_task_pattern(char *buf, size_t len, const char *data_dir, const char *pool, const char *per_sensor_topic,
                 const char *kind)
{
    if (per_sensor_topic != NULL)
        snprintf(buf, len, "%s/%s-*-%s-*.db", data_dir, per_sensor_topic, kind);
    else
        snprintf(buf, len, "%s/%s-%s-*.db", data_dir, pool, kind);
}

sqlite3 *
ctl_open_task(const char *path, const char *table)
{
    sqlite3      *db = NULL;
    sqlite3_stmt *st = NULL;
    int           version = -1, found = 0, known = schema_known();

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "ksensorctl: %s: cannot open: %s\n", path, db ? sqlite3_errmsg(db) : "no memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 2000);
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
        fprintf(stderr, "ksensorctl: %s: not an SQLite database: %s\n", path, sqlite3_errmsg(db));
        sqlite3_finalize(st);
        sqlite3_close(db);
        return NULL;
    }
    version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            found = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    if (version > known) {
        fprintf(stderr, "ksensorctl: %s: schema version %d is newer than this ksensorctl knows (%d); "
                        "use the ksensorctl of the running ksensord\n", path, version, known);
    } else if (!found) {
        fprintf(stderr, "ksensorctl: %s: not a ksensor task file (no table '%s')\n", path, table);
    } else {
        return db;
    }
    sqlite3_close(db);
    return NULL;
}
