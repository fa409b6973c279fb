/* ksensord.c — the daemon's command line: check a configuration (-t), run the supervisor (daemon or
 * foreground), or run one worker alone (-w, for tests and debugging). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "core/log.h"
#include "sensor/load.h"
#include "core/config.h"
#include "sup_supervisor.h"
#include "actions/actions.h"
#include "pipeline/kafka_conf.h"
#include "pipeline/worker.h"

#define DEFAULT_CONFIG KS_SYSCONFDIR "/ksensord.yaml"

static void
usage(FILE *out)
{
    fprintf(out,
        "Usage: ksensord [-c FILE] [-t] [-f] [-w N]\n"
        "Runs Argo Events Sensors on Kafka with exactly-once triggers.\n"
        "\n"
        "  -c, --config FILE   configuration file (default " DEFAULT_CONFIG ")\n"
        "  -t, --test          check the configuration, print every problem, exit 0 or 1\n"
        "  -f, --foreground    stay in the foreground (containers, systemd)\n"
        "  -w, --worker N      run worker slot N alone in this process, without the supervisor\n"
        "                      (tests and debugging; implies -f)\n"
        "  -h, --help          this text\n"
        "  -V, --version       print the version and exit\n"
        "\n"
        "Exit status: 0 on success, 1 on a configuration error, 2 on a usage error.\n");
}

static int
run_worker_alone(const ks_config_t *cfg, const ks_pool_t *pool, int slot)
{
    ks_worker_opts_t opts = { .slot = slot, .generation = 1, .sup_fd = -1, .bootstrap = NULL,
                              .executors = ks_action_executors };

    if (strcmp(cfg->eventbus.brokers, "embedded") == 0) {
        ks_log_error("-w needs a Kafka cluster: the embedded broker runs under the supervisor only");
        return 1;
    }
    return ks_worker_run(cfg, pool, &opts);
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "test", no_argument, NULL, 't' },
        { "foreground", no_argument, NULL, 'f' },
        { "worker", required_argument, NULL, 'w' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    const char  *path = DEFAULT_CONFIG;
    bool         test = false, foreground = false;
    ks_diag_t    diag = {0};
    ks_config_t *cfg = NULL;
    ks_pool_t   *pool = NULL;
    char        *end;
    int          c, slot = -1, rc;

    ks_kafka_init_process();
    while ((c = getopt_long(argc, argv, "c:tfw:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': path = optarg; break;
        case 't': test = true; break;
        case 'f': foreground = true; break;
        case 'w':
            slot = (int)strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || slot < 0 || slot > 1023) {
                fprintf(stderr, "ksensord: -w wants a worker slot between 0 and 1023, not '%s'\n", optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        case 'V':
            printf("ksensord %s (librdkafka %s)\n", KS_VERSION, rd_kafka_version_str());
            return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ksensord: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }

    /* the same loading and validation as SIGHUP */
    if (ks_supervisor_load(path, &cfg, &pool, &diag) != 0) {
        for (size_t i = 0; i < diag.n; i++)
            fprintf(stderr, "%s\n", diag.msgs[i]);
        fprintf(stderr, "ksensord: %s: %zu problem%s, configuration refused\n", path, diag.n,
                diag.n == 1 ? "" : "s");
        ks_diag_free(&diag);
        return 1;
    }
    for (size_t i = 0; i < pool->warnings.n; i++)
        fprintf(stderr, "warning: %s\n", pool->warnings.msgs[i]);
    if (test) {
        printf("ksensord: %s: configuration is valid (%zu sensor%s)\n", path, pool->nsensors,
               pool->nsensors == 1 ? "" : "s");
        ks_pool_free(pool);
        free(pool);
        ks_config_free(cfg);
        return 0;
    }

    ks_log_setup(slot >= 0 ? "worker" : "supervisor", slot, (ks_log_level_t)cfg->log.level,
                 cfg->log.format == KS_LOG_JSON);
    if (ks_log_open(cfg->log.file) != 0) {
        ks_pool_free(pool);
        free(pool);
        ks_config_free(cfg);
        return 1;
    }
    for (size_t i = 0; i < pool->nsensors; i++)
        ks_log_info("sensor %s loaded from %s: %zu dependencies, %zu triggers", pool->sensors[i]->name,
                    pool->sensors[i]->file, pool->sensors[i]->ndeps, pool->sensors[i]->ntriggers);
    if (slot < 0)
        return ks_supervisor_run(cfg, pool, path, foreground);

    rc = run_worker_alone(cfg, pool, slot);
    ks_pool_free(pool);
    free(pool);
    ks_config_free(cfg);
    return rc;
}
