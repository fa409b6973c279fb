/* store.c — opening task files and applying the schema (see store.h). */
#include "pipeline/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

static int
store_user_version(sqlite3 *db)
{
    sqlite3_stmt *stmt;
    int           version = -1;

    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(stmt) == SQLITE_ROW)
        version = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    return version;
}

int
ks_store_mkdir(const char *data_dir, char *err, size_t errlen)
{
    if (mkdir(data_dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "mkdir(\"%s\") failed: %s", data_dir, strerror(errno));
        return -1;
    }
    return 0;
}

sqlite3 *
ks_store_open(const char *data_dir, const char *topic, int32_t partition, const char *kind, char *err,
              size_t errlen)
{
    sqlite3 *db = NULL;
    char     needle[32], path[4096];
    int      version, fd, newest = 0;

    if (ks_store_mkdir(data_dir, err, errlen) != 0)
        return NULL;
    snprintf(path, sizeof(path), "%s/%s-%d.db", data_dir, topic, (int)partition);

    /* create the file 0600 before SQLite does, whatever the umask */
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "open(\"%s\") failed: %s", path, strerror(errno));
        return NULL;
    }
    close(fd);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "sqlite3_open_v2(\"%s\") failed: %s", path, db ? sqlite3_errmsg(db) : "no memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 5000);
    /* a worker opens two files per partition: 1 MB of page cache each, not SQLite's 2 MB */
    if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-1024",
                     NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot enable WAL: %s", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return NULL;
    }
    version = store_user_version(db);
    snprintf(needle, sizeof(needle), "_%s_", kind);
    for (const ks_schema_file_t *f = ks_schema_files; f->name != NULL; f++) {
        int   number = atoi(f->name);
        char *msg = NULL, pragma[64];

        if (strstr(f->name, needle) == NULL)
            continue;
        newest = number;
        if (number <= version)
            continue;
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d;", number);
        if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK
            || sqlite3_exec(db, f->sql, NULL, NULL, &msg) != SQLITE_OK
            || sqlite3_exec(db, pragma, NULL, NULL, &msg) != SQLITE_OK
            || sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
            snprintf(err, errlen, "%s: applying schema %s failed: %s", path, f->name,
                     msg ? msg : sqlite3_errmsg(db));
            sqlite3_free(msg);
            sqlite3_close(db);
            return NULL;
        }
        version = number;
    }
    if (version > newest) {
        snprintf(err, errlen, "%s: schema version %d is newer than this build knows (%d)", path, version, newest);
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

int
ks_store_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        ks_log_error("sqlite3_exec(\"%s\") failed: %s", sql, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

sqlite3_stmt *
ks_store_prepare(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;

    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK) {
        ks_log_error("sqlite3_prepare(\"%s\") failed: %s", sql, sqlite3_errmsg(db));
        return NULL;
    }
    return stmt;
}
