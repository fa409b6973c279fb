/* load.h — building the sensor pool from Argo Sensor manifests.
 *
 * Every problem is reported as file:line:column and one sentence. A sensor with a problem is left out;
 * the others load (one bad sensor never stops the rest). */
#ifndef KS_SENSOR_LOAD_H
#define KS_SENSOR_LOAD_H

#include <stddef.h>

#include "sensor/sensor.h"

/* Loads every Sensor document of a file into pool. Returns the number of sensors refused. */
size_t ks_pool_load_file(ks_pool_t *pool, const char *path, ks_diag_t *diag);

/* Loads every file matching a glob pattern. A pattern that matches nothing is a problem. */
size_t ks_pool_load_glob(ks_pool_t *pool, const char *pattern, ks_diag_t *diag);

/* Builds the (source, subject) index once every file is loaded. */
void ks_pool_index(ks_pool_t *pool);

/* Frees what a pool holds — needed after any load, even one that refused every sensor (the pool
 * may have made its Lua state). */
void ks_pool_free(ks_pool_t *pool);

ks_sensor_t *ks_pool_sensor(const ks_pool_t *pool, const char *name);

#endif
