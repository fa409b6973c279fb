/* fuzz_sensor_load.c — libFuzzer target for the YAML loader of Sensor manifests: any bytes load into
 * sensors or into diagnostics, never a crash or a leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "sensor/load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    ks_pool_t   pool = {0};
    ks_diag_t   diag = {0};
    FILE       *fp;

    if (path[0] == '\0')
        snprintf(path, sizeof(path), "/tmp/ksensor-fuzz-%d.yaml", (int)getpid());
    fp = fopen(path, "wb");
    if (fp == NULL)
        return 0;
    fwrite(data, 1, size, fp);
    fclose(fp);
    (void)ks_pool_load_file(&pool, path, &diag);
    ks_pool_index(&pool);
    ks_diag_free(&diag);
    ks_pool_free(&pool);
    return 0;
}
