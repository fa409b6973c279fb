/* sup_metrics.h — /metrics: worker reports and supervisor counters as Prometheus text (0.0.4).
 *
 * Counters are the sum of the newest report of every running worker and of the retired totals (the
 * last reports of the workers that exited), so they never go backwards when a worker is replaced.
 * Gauges describe the running workers only. */
#ifndef SUP_METRICS_H
#define SUP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/report.h"

typedef struct ks_sup_stats {
    uint32_t generation;                /* current configuration generation, 1 at start */
    uint64_t reloads_ok, reloads_failed;
    uint64_t worker_restarts;           /* workers respawned after an unexpected exit */
    int      workers_wanted;            /* configured */
    int      workers_up;                /* running, current generation */
    int      workers_ready;
    size_t   sensors;                   /* loaded in the current generation */
    double   start_time;                /* Unix seconds */
} ks_sup_stats_t;

#define KS_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* live: the newest report of each running worker (n of them, any generation); retired: the sum of
 * the last reports of workers that exited, or NULL for none. Returns a malloc'd NUL-terminated
 * text, *len its length. */
char *ks_metrics_render(const ks_report_t *live, size_t n, const ks_report_t *retired,
                        const ks_sup_stats_t *sup, size_t *len)
    __attribute__((warn_unused_result, returns_nonnull));

#endif
