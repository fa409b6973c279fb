/* sup_embedded.c — the embedded broker child (see sup_embedded.h). */
#include "sup_embedded.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define START_TIMEOUT_MS 10000

/* The three internal topics of one set, named after prefix. */
static void
create_set(rd_kafka_mock_cluster_t *mc, const char *prefix, int partitions)
{
    static const char *const suffixes[] = { "trigger", "action", "state" };
    char                     topic[512];

    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        snprintf(topic, sizeof(topic), "%s-%s", prefix, suffixes[i]);
        rd_kafka_mock_topic_create(mc, topic, partitions, 1);
    }
}

static void __attribute__((noreturn))
broker_run(const ks_config_t *cfg, const ks_pool_t *pool, int report, int ctl)
{
    char                     err[512], prefix[400];
    rd_kafka_conf_t         *conf = rd_kafka_conf_new();
    rd_kafka_t              *rk;
    rd_kafka_mock_cluster_t *mc;
    const char              *addr;
    sigset_t                 none;
    char                     c;

    /* the supervisor stops it, after its workers: signals to the process group are not for it */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGUSR1, SIG_IGN);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (rk == NULL || (mc = rd_kafka_mock_cluster_new(rk, 1)) == NULL)
        _exit(1);
    rd_kafka_mock_topic_create(mc, cfg->eventbus.topic, cfg->eventbus.partitions, 1);
    if (cfg->eventbus.topic_layout == KS_LAYOUT_PER_SENSOR) {
        for (size_t i = 0; i < pool->nsensors; i++) {
            snprintf(prefix, sizeof(prefix), "%s-%s", cfg->eventbus.topic, pool->sensors[i]->name);
            create_set(mc, prefix, cfg->eventbus.partitions);
        }
    } else {
        create_set(mc, cfg->pool, cfg->eventbus.partitions);
    }
    addr = rd_kafka_mock_cluster_bootstraps(mc);
    if (write(report, addr, strlen(addr)) != (ssize_t)strlen(addr))
        _exit(1);
    close(report);
    for (;;) {
        ssize_t r = read(ctl, &c, 1);

        if (r == 0 || (r < 0 && errno != EINTR))
            break;
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    _exit(0);
}

int
ks_embedded_start(ks_embedded_t *eb, const ks_config_t *cfg, const ks_pool_t *pool,
                  void (*child_setup)(void *ctx), void *ctx, char *err, size_t errlen)
{
    int           report[2], ctl[2];
    struct pollfd pfd;
    ssize_t       n = 0, got = 0;

    if (pipe2(report, O_CLOEXEC) != 0 || pipe2(ctl, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "embedded broker: pipe2 failed: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    eb->pid = fork();
    if (eb->pid == 0) {
        close(report[0]);
        close(ctl[1]);
        child_setup(ctx);
        broker_run(cfg, pool, report[1], ctl[0]);
    }
    close(report[1]);
    close(ctl[0]);
    if (eb->pid < 0) {
        snprintf(err, errlen, "embedded broker: fork failed: %s", strerror(errno));
        close(report[0]);
        close(ctl[1]);
        return -1;
    }
    eb->ctl = ctl[1];
    pfd = (struct pollfd){ .fd = report[0], .events = POLLIN };
    while (poll(&pfd, 1, START_TIMEOUT_MS) > 0
           && (n = read(report[0], eb->bootstrap + got, sizeof(eb->bootstrap) - 1 - (size_t)got)) > 0)
        got += n;
    close(report[0]);
    eb->bootstrap[got] = '\0';
    if (got == 0) {
        snprintf(err, errlen, "embedded broker: did not start");
        ks_embedded_stop(eb);
        return -1;
    }
    return 0;
}

void
ks_embedded_stop(ks_embedded_t *eb)
{
    if (eb->ctl >= 0)
        close(eb->ctl);
    eb->ctl = -1;
}
