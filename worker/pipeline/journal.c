/* journal.c — the log action's lines of the batch being committed (see journal.h).
 *
 * The file holds one batch: "O\t<topic>\t<partition>\t<next offset>\n" per partition whose offset the
 * batch commits, then "L\t<line>\n" per line (a line is one compact JSON text: no newline in it). */
#include "pipeline/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "core/log.h"
#include "core/mem.h"
#include "pipeline/store.h"

#define JOURNAL_MAX (256 * 1024 * 1024)

struct ks_journal {
    char *path;
    int   fd;
    bool  dirty;                /* written since the last clear */
};

ks_journal_t *
ks_journal_open(const char *data_dir, const char *pool, const char *instance, char *err, size_t errlen)
{
    ks_journal_t *j;

    if (ks_store_mkdir(data_dir, err, errlen) != 0)
        return NULL;
    j = ks_calloc(1, sizeof(*j));
    j->path = ks_asprintf("%s/%s-%s.journal", data_dir, pool, instance);
    j->fd = open(j->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (j->fd < 0) {
        snprintf(err, errlen, "open(\"%s\") failed: %s", j->path, strerror(errno));
        free(j->path);
        free(j);
        return NULL;
    }
    j->dirty = true;            /* whatever an earlier worker left, until ks_journal_recover */
    return j;
}

void
ks_journal_close(ks_journal_t *j)
{
    if (j == NULL)
        return;
    close(j->fd);
    free(j->path);
    free(j);
}

int
ks_journal_write(ks_journal_t *j, const rd_kafka_topic_partition_list_t *offsets, char *const *lines,
                 size_t nlines)
{
    char   *buf = NULL;
    size_t  len = 0;
    FILE   *f = open_memstream(&buf, &len);
    ssize_t n;

    if (f == NULL) {
        ks_log_error("%s: open_memstream failed: %s", j->path, strerror(errno));
        return -1;
    }
    for (int i = 0; i < offsets->cnt; i++)
        fprintf(f, "O\t%s\t%d\t%lld\n", offsets->elems[i].topic, (int)offsets->elems[i].partition,
                (long long)offsets->elems[i].offset);
    for (size_t i = 0; i < nlines; i++)
        fprintf(f, "L\t%s\n", lines[i]);
    fclose(f);
    j->dirty = true;
    n = pwrite(j->fd, buf, len, 0);
    free(buf);
    if (n != (ssize_t)len) {
        ks_log_error("%s: writing the batch's log lines failed: %s", j->path, n < 0 ? strerror(errno) : "short write");
        return -1;
    }
    return 0;
}

void
ks_journal_clear(ks_journal_t *j)
{
    if (!j->dirty)
        return;
    if (ftruncate(j->fd, 0) != 0)
        ks_log_error("%s: clearing failed: %s", j->path, strerror(errno));
    else
        j->dirty = false;
}

int
ks_journal_recover(ks_journal_t *j, rd_kafka_t *consumer, int timeout_ms)
{
    rd_kafka_topic_partition_list_t *want = rd_kafka_topic_partition_list_new(8), *got;
    rd_kafka_resp_err_t              err;
    char                             msg[512], *text, *line, *save = NULL, **lines = NULL;
    size_t                           nlines = 0, cap = 0;
    bool                             committed = true;
    int                              rc = 0;

    if ((text = ks_read_file(j->path, JOURNAL_MAX, NULL, msg, sizeof(msg))) == NULL) {
        ks_log_error("%s", msg);
        rd_kafka_topic_partition_list_destroy(want);
        return -1;
    }
    for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char      topic[256];
        int       partition;
        long long next;

        if (strncmp(line, "L\t", 2) == 0) {
            if (nlines == cap) {
                cap = cap ? cap * 2 : 64;
                lines = ks_realloc(lines, cap * sizeof(*lines));
            }
            lines[nlines++] = line + 2;
        } else if (sscanf(line, "O\t%255[^\t]\t%d\t%lld", topic, &partition, &next) == 3) {
            rd_kafka_topic_partition_list_add(want, topic, partition)->offset = next;
        }
    }
    if (nlines > 0 && want->cnt > 0) {
        got = rd_kafka_topic_partition_list_copy(want);
        if ((err = rd_kafka_committed(consumer, got, timeout_ms)) != 0) {
            ks_log_error("%s: the committed offsets cannot be fetched (%s); the lines wait for the next start",
                         j->path, rd_kafka_err2str(err));
            rc = -1;
        }
        for (int i = 0; i < want->cnt; i++)
            committed = committed && got->elems[i].err == 0 && got->elems[i].offset >= want->elems[i].offset;
        rd_kafka_topic_partition_list_destroy(got);
    }
    if (rc == 0 && nlines > 0 && committed) {
        for (size_t i = 0; i < nlines; i++)
            ks_log_notice("%s", lines[i]);
        ks_log_notice("%s: wrote the %zu log line%s of a batch committed before this worker's last exit", j->path,
                      nlines, nlines == 1 ? "" : "s");
    } else if (rc == 0 && nlines > 0) {
        ks_log_notice("%s: dropped the %zu log line%s of a batch Kafka did not commit (it is read again)", j->path,
                      nlines, nlines == 1 ? "" : "s");
    }
    if (rc == 0)
        ks_journal_clear(j);
    free(lines);
    free(text);
    rd_kafka_topic_partition_list_destroy(want);
    return rc;
}
