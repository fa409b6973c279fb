/* log.c — leveled, tagged log lines in text or JSON (see log.h). */
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const level_names[] = { "debug", "info", "notice", "warning", "error" };

static struct {
    const char     *component;
    int             slot;
    ks_log_level_t  level;
    bool            json;
    int             fd;
} log_state = { "ksensor", -1, KS_LOG_INFO, false, STDERR_FILENO };

void
ks_log_setup(const char *component, int slot, ks_log_level_t level, bool json)
{
    log_state.component = component;
    log_state.slot = slot;
    log_state.level = level;
    log_state.json = json;
}

int
ks_log_open(const char *path)
{
    int fd;

    if (path == NULL || path[0] == '\0') {
        fd = STDERR_FILENO;
    } else {
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (fd < 0) {
            ks_log_error("open(\"%s\") failed: %s", path, strerror(errno));
            return -1;
        }
    }
    /* Reopening swaps the file under the same descriptor (dup3): librdkafka's threads log too, and
     * a descriptor closed under one of them could be reused by another file before it writes. */
    if (log_state.fd != STDERR_FILENO && fd != STDERR_FILENO && log_state.fd != fd) {
        if (dup3(fd, log_state.fd, O_CLOEXEC) < 0) {
            ks_log_error("dup3 of the reopened log file failed: %s", strerror(errno));
            close(fd);
            return -1;
        }
        close(fd);
        return 0;
    }
    log_state.fd = fd;
    return 0;
}

int
ks_log_level_parse(const char *name, ks_log_level_t *level)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *level = (ks_log_level_t)i;
            return 0;
        }
    }
    return -1;
}

void
ks_log_timestamp(char *buf, size_t len, int64_t *unix_ms)
{
    struct timespec ts;
    struct tm       tm;
    size_t          n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03dZ", (int)(ts.tv_nsec / 1000000));
    if (unix_ms != NULL)
        *unix_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
log_emit(const char *line, size_t len)
{
    while (len > 0) {
        ssize_t n = write(log_state.fd, line, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;     /* nowhere left to report a logging failure */
        line += n;
        len -= (size_t)n;
    }
}

void
ks_log_write(ks_log_level_t level, const char *fmt, ...)
{
    char    msg[4096], ts[64], line[4096 + 256], who[64];
    va_list ap;
    int     len;

    if (level < log_state.level)
        return;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ks_log_timestamp(ts, sizeof(ts), NULL);

    if (log_state.json) {
        json_t *obj = json_pack("{s:s, s:s, s:s, s:i, s:s}", "ts", ts, "level", level_names[level],
                                "component", log_state.component, "pid", (int)getpid(), "msg", msg);
        char   *text;

        if (log_state.slot >= 0)
            json_object_set_new(obj, "slot", json_integer(log_state.slot));
        text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(obj);
        if (text == NULL)
            return;
        len = snprintf(line, sizeof(line), "%s\n", text);
        free(text);
    } else {
        if (log_state.slot >= 0)
            snprintf(who, sizeof(who), "%s/%d", log_state.component, log_state.slot);
        else
            snprintf(who, sizeof(who), "%s", log_state.component);
        len = snprintf(line, sizeof(line), "%s %s %s[%d]: %s\n", ts, level_names[level], who,
                       (int)getpid(), msg);
    }
    if (len < 0)
        return;
    if ((size_t)len >= sizeof(line)) {
        len = (int)sizeof(line) - 1;
        line[len - 1] = '\n';
    }
    log_emit(line, (size_t)len);
}
