/* ctl_check.c — `ksensorctl check FILE…`: validates Argo Sensor manifests as the daemon would. */
#include <string.h>

#include "ctl.h"
#include "sensor/load.h"

static void
check_usage(FILE *out)
{
    fprintf(out,
        "Usage: ksensorctl check FILE...\n"
        "Validates Argo Sensor manifests (kind: Sensor) the way ksensord loads them.\n"
        "Prints every problem as file:line:column: message.\n"
        "\n"
        "Exit status: 0 when every sensor loads, 1 when one is refused, 2 on a usage error.\n");
}

size_t
ctl_load_sensors(ks_pool_t *pool, char *const *files, int nfiles)
{
    ks_diag_t diag = {0};
    size_t    refused = 0;

    for (int i = 0; i < nfiles; i++)
        refused += ks_pool_load_file(pool, files[i], &diag);
    for (size_t i = 0; i < diag.n; i++)
        fprintf(stderr, "%s\n", diag.msgs[i]);
    for (size_t i = 0; i < pool->warnings.n; i++)
        fprintf(stderr, "warning: %s\n", pool->warnings.msgs[i]);
    ks_diag_free(&diag);
    ks_pool_index(pool);
    return refused;
}

int
ctl_check(int argc, char **argv)
{
    ks_pool_t pool = {0};
    size_t    refused;

    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        check_usage(stdout);
        return CTL_OK;
    }
    if (argc < 2) {
        check_usage(stderr);
        return CTL_USAGE;
    }
    refused = ctl_load_sensors(&pool, argv + 1, argc - 1);
    for (size_t i = 0; i < pool.nsensors; i++)
        printf("%s: sensor %s: %zu dependencies, %zu triggers\n", pool.sensors[i]->file,
               pool.sensors[i]->name, pool.sensors[i]->ndeps, pool.sensors[i]->ntriggers);
    if (refused > 0)
        fprintf(stderr, "ksensorctl: %zu sensor%s refused\n", refused, refused == 1 ? "" : "s");
    ks_pool_free(&pool);
    return refused > 0 ? CTL_PROBLEM : CTL_OK;
}
