/* ksensorctl.c — the admin tool: command line and subcommand dispatch. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <sqlite3.h>

#include "ctl.h"
#include "pipeline/kafka_conf.h"

static const struct {
    const char *name;
    int       (*run)(int argc, char **argv);
    const char *what;
} commands[] = {
    { "status", ctl_status, "is the daemon up: workers, generation, lag, task files" },
    { "sensors", ctl_sensors, "the configured sensors: triggers, conditions, dependencies" },
    { "check", ctl_check, "validate Argo Sensor manifests" },
    { "eval", ctl_eval, "run sensors offline over CloudEvents; print the firings" },
    { "pending", ctl_state, "held events per trigger, with their age" },
    { "firings", ctl_state, "recent firings with their ids and events" },
    { "ledger", ctl_state, "action outcomes: attempts, status, error" },
    { "offsets", ctl_offsets, "per partition: committed offset, end, lag, changelog position" },
    { "emit", ctl_emit, "publish test CloudEvents to the event topic" },
};

int
ctl_config_options(int argc, char **argv, void (*usage)(FILE *out), const char **config, bool *json)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' }, { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },          { NULL, 0, NULL, 0 },
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': *config = optarg; break;
        case 'j': *json = true; break;
        case 'h': usage(stdout); return CTL_OK;
        default: usage(stderr); return CTL_USAGE;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return CTL_USAGE;
    }
    return -1;
}

static void
usage(FILE *out)
{
    fprintf(out,
        "Usage: ksensorctl [--help | --version] COMMAND [ARGS]\n"
        "Inspects and drives ksensor: its SQLite state, the running daemon, sensors offline.\n"
        "\n"
        "Commands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].what);
    fprintf(out,
        "\n"
        "`ksensorctl COMMAND --help` describes a command.\n"
        "\n"
        "Options:\n"
        "  -h, --help       this text\n"
        "  -V, --version    print the version and exit\n"
        "\n"
        "Exit status: 0 on success, 1 when what was inspected has a problem, 2 on a usage error.\n");
}

int
main(int argc, char **argv)
{
    ks_kafka_init_process();
    if (argc < 2) {
        usage(stderr);
        return CTL_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return CTL_OK;
    }
    if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("ksensorctl %s (librdkafka %s, SQLite %s)\n", KS_VERSION, rd_kafka_version_str(),
               sqlite3_libversion());
        return CTL_OK;
    }
    /* what the shared code logs (librdkafka's lines among it): warnings and errors, as ksensorctl */
    ks_log_setup("ksensorctl", -1, KS_LOG_WARNING, false);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "ksensorctl: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return CTL_USAGE;
}
