/* ksensorctl.c — the admin tool: command line and subcommand dispatch. */
#include <stdio.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <sqlite3.h>

static void
usage(FILE *out)
{
    fprintf(out,
        "Usage: ksensorctl [--help | --version] COMMAND [ARGS]\n"
        "Inspects and drives ksensor: its SQLite state, the running daemon, sensors offline.\n"
        "\n"
        "Options:\n"
        "  -h, --help       this text\n"
        "  -V, --version    print the version and exit\n"
        "\n"
        "This build has no subcommands yet.\n"
        "\n"
        "Exit status: 0 on success, 2 on a usage error.\n");
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("ksensorctl %s (librdkafka %s, SQLite %s)\n", KS_VERSION, rd_kafka_version_str(),
               sqlite3_libversion());
        return 0;
    }
    fprintf(stderr, "ksensorctl: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
