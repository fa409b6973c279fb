/* ksensord.c — the daemon's command line: check a configuration (-t) or run it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "ks_log.h"
#include "sensor_load.h"
#include "sup_config.h"
#include "wrk.h"

#define DEFAULT_CONFIG KS_SYSCONFDIR "/ksensord.yaml"

static void
usage(FILE *out)
{
    fprintf(out,
        "Usage: ksensord [-c FILE] [-t] [-f]\n"
        "Runs Argo Events Sensors on Kafka with exactly-once triggers.\n"
        "\n"
        "  -c, --config FILE   configuration file (default " DEFAULT_CONFIG ")\n"
        "  -t, --test          check the configuration, print every problem, exit 0 or 1\n"
        "  -f, --foreground    stay in the foreground (containers, systemd)\n"
        "  -w, --worker N      run worker slot N in this process (default 0)\n"
        "  -h, --help          this text\n"
        "  -V, --version       print the version and exit\n"
        "\n"
        "Exit status: 0 on success, 1 on a configuration error, 2 on a usage error.\n");
}

/* Prints every problem of a failed load, one per line, and returns how many there were. */
static size_t
report(const ks_diag_t *diag)
{
    for (size_t i = 0; i < diag->n; i++)
        fprintf(stderr, "%s\n", diag->msgs[i]);
    return diag->n;
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
    bool         test = false;
    ks_diag_t    diag = {0};
    ks_config_t *cfg;
    ks_pool_t    pool = {0};
    size_t       refused;
    int          c, slot = 0, rc;

    while ((c = getopt_long(argc, argv, "c:tfw:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': path = optarg; break;
        case 't': test = true; break;
        case 'f': break;
        case 'w': slot = atoi(optarg); break;
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

    cfg = ks_config_load(path, &diag);
    if (cfg == NULL) {
        size_t n = report(&diag);

        fprintf(stderr, "ksensord: %s: %zu problem%s, configuration refused\n", path, n, n == 1 ? "" : "s");
        ks_diag_free(&diag);
        return 1;
    }
    refused = ks_pool_load_glob(&pool, cfg->sensors, &diag);
    if (test) {
        report(&diag);
        for (size_t i = 0; i < pool.warnings.n; i++)
            fprintf(stderr, "warning: %s\n", pool.warnings.msgs[i]);
        if (refused > 0)
            fprintf(stderr, "ksensord: %s: %zu sensor%s refused, configuration refused\n", path, refused,
                    refused == 1 ? "" : "s");
        else
            printf("ksensord: %s: configuration is valid (%zu sensors)\n", path, pool.nsensors);
        ks_diag_free(&diag);
        ks_pool_free(&pool);
        ks_config_free(cfg);
        return refused > 0 ? 1 : 0;
    }

    ks_log_setup("worker", slot, (ks_log_level_t)cfg->log.level, cfg->log.format == KS_LOG_JSON);
    if (ks_log_open(cfg->log.file) != 0) {
        ks_config_free(cfg);
        return 1;
    }
    ks_log_notice("ksensord %s: configuration %s loaded (pool %s, brokers %s)", KS_VERSION, path,
                  cfg->pool, cfg->eventbus.brokers);
    for (size_t i = 0; i < diag.n; i++)
        ks_log_error("sensor refused: %s", diag.msgs[i]);
    for (size_t i = 0; i < pool.warnings.n; i++)
        ks_log_warning("%s", pool.warnings.msgs[i]);
    for (size_t i = 0; i < pool.nsensors; i++)
        ks_log_info("sensor %s loaded from %s: %zu dependencies, %zu triggers", pool.sensors[i]->name,
                    pool.sensors[i]->file, pool.sensors[i]->ndeps, pool.sensors[i]->ntriggers);
    ks_diag_free(&diag);

    if (strcmp(cfg->eventbus.brokers, "embedded") == 0) {
        ks_log_warning("the embedded broker is not part of this build: set eventbus.brokers to a Kafka "
                       "cluster to run the pipeline (`ksensorctl eval` runs sensors offline)");
        rc = 0;
    } else {
        /* one worker in this process until the supervisor forks them */
        ks_pool_index(&pool);
        rc = ks_worker_run(cfg, &pool, slot);
    }
    ks_pool_free(&pool);
    ks_config_free(cfg);
    return rc;
}
