/* sup_supervisor.h — the daemon: locks, detaching, the embedded broker, the worker processes by
 * configuration generation, signals, the health and metrics listener, sd_notify.
 *
 * Signals arrive through a signalfd on the supervisor's libev loop (handlers never run in signal
 * context, and a forked worker inherits no libev signal state): SIGHUP reloads (the same loading
 * and validation as `ksensord -t`; a configuration with any problem is refused and the running one
 * stays), SIGTERM and SIGINT stop gracefully within shutdownTimeout (a second one forces), SIGUSR1
 * reopens the log files of the supervisor and its workers, SIGCHLD reaps. */
#ifndef SUP_SUPERVISOR_H
#define SUP_SUPERVISOR_H

#include <stdbool.h>

#include "sensor/sensor.h"
#include "core/config.h"

/* Loads a configuration and every sensor it names, as `ksensord -t`, the start and SIGHUP do.
 * Returns 0 with *cfg and *pool (indexed) set, or -1 with every problem in diag, sorted per file,
 * and nothing to free. Warnings stay in pool->warnings. */
int ks_supervisor_load(const char *path, ks_config_t **cfg, ks_pool_t **pool, ks_diag_t *diag)
    __attribute__((warn_unused_result));

/* Runs the daemon with a loaded, valid configuration (taking ownership of cfg and pool) until it
 * stops; returns the process's exit status: 0 after a graceful stop, 1 otherwise. */
int ks_supervisor_run(ks_config_t *cfg, ks_pool_t *pool, const char *path, bool foreground);

#endif
