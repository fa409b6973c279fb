/* log.h — one log line per call, tagged with component, pid and worker slot.
 *
 * Text for people (`2026-01-02T03:04:05.678Z warning worker/1[4242]: message`) or JSON lines for
 * machines. Each line is written with a single write(2) so lines of several processes sharing a file
 * do not interleave. */
#ifndef KS_CORE_LOG_H
#define KS_CORE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    KS_LOG_DEBUG,
    KS_LOG_INFO,
    KS_LOG_NOTICE,
    KS_LOG_WARNING,
    KS_LOG_ERROR
} ks_log_level_t;

/* component: "supervisor", "worker", "ksensorctl" …; slot < 0 when the process is not a worker. */
void ks_log_setup(const char *component, int slot, ks_log_level_t level, bool json);

/* Sends lines to path (appending), or to stderr when path is NULL or empty. Reopening the same path
 * is how SIGUSR1 cooperates with logrotate. Returns 0, or -1 and keeps the previous destination. */
int ks_log_open(const char *path) __attribute__((warn_unused_result));

/* Parses "debug", "info", "notice", "warning" or "error"; returns 0 or -1. */
int ks_log_level_parse(const char *name, ks_log_level_t *level);

/* Now as the log lines show it: RFC 3339, UTC, milliseconds ("2026-01-02T03:04:05.678Z"); also as
 * Unix milliseconds when unix_ms is not NULL. */
void ks_log_timestamp(char *buf, size_t len, int64_t *unix_ms);

void ks_log_write(ks_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ks_log_debug(...)   ks_log_write(KS_LOG_DEBUG, __VA_ARGS__)
#define ks_log_info(...)    ks_log_write(KS_LOG_INFO, __VA_ARGS__)
#define ks_log_notice(...)  ks_log_write(KS_LOG_NOTICE, __VA_ARGS__)
#define ks_log_warning(...) ks_log_write(KS_LOG_WARNING, __VA_ARGS__)
#define ks_log_error(...)   ks_log_write(KS_LOG_ERROR, __VA_ARGS__)

#endif
