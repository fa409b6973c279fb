/* freeze_commit.c — an LD_PRELOAD shim for t_pipeline_zombie.sh: makes a worker a zombie at the
 * worst moment, inside rd_kafka_commit_transaction — after its batch's records and consumed offsets
 * went to the transaction (send_offsets_to_transaction), before the commit.
 *
 * KS_FREEZE_ARM names a file. While it does not exist the shim does nothing. When it holds a number
 * N, the N-th transaction commit from then on flushes the producer (as the commit would) and stops
 * the process (SIGSTOP) before committing, after writing "<arm>.frozen"; once continued (SIGCONT) the real commit runs, its outcome goes to
 * "<arm>.committed" ("ok" or the error) and the process stops again, to be killed by the test.
 * Built by the test itself (cc -shared -fPIC … -ldl); not part of the GNUmakefile's build. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef void *(*commit_fn)(void *rk, int timeout_ms);

/* librdkafka's declarations, without its header (rd_kafka_t and rd_kafka_error_t are opaque) */
void *rd_kafka_commit_transaction(void *rk, int timeout_ms);
const char *rd_kafka_error_string(const void *error);
int rd_kafka_flush(void *rk, int timeout_ms);

static void
mark(const char *arm, const char *suffix, const char *text)
{
    char  path[4096];
    FILE *fp;

    snprintf(path, sizeof(path), "%s.%s", arm, suffix);
    if ((fp = fopen(path, "w")) != NULL) {
        fprintf(fp, "%s\n", text);
        fclose(fp);
    }
}

void *
rd_kafka_commit_transaction(void *rk, int timeout_ms)
{
    static commit_fn real;
    const char      *arm = getenv("KS_FREEZE_ARM");
    FILE            *fp;
    int              n = 0, frozen = 0;
    void            *error;

    if (real == NULL)
        real = (commit_fn)dlsym(RTLD_NEXT, "rd_kafka_commit_transaction");
    if (arm != NULL && (fp = fopen(arm, "r")) != NULL) {
        if (fscanf(fp, "%d", &n) != 1)
            n = 1;
        fclose(fp);
        if (n > 1 && (fp = fopen(arm, "w")) != NULL) {
            fprintf(fp, "%d\n", n - 1);
            fclose(fp);
        } else {
            unlink(arm);
            rd_kafka_flush(rk, 10000);  /* what the commit does first: the records reach the broker */
            mark(arm, "frozen", "frozen before rd_kafka_commit_transaction");
            frozen = 1;
            raise(SIGSTOP);
        }
    }
    error = real(rk, timeout_ms);
    if (frozen) {
        mark(arm, "committed", error == NULL ? "ok" : rd_kafka_error_string(error));
        raise(SIGSTOP);
    }
    return error;
}
