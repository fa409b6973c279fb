/* sup_metrics.c — renders the Prometheus text exposition of /metrics (see sup_metrics.h).
 *
 * Every family is written as "# HELP", "# TYPE" and its samples, once each. Numbers that come from
 * integers are printed as integers; a histogram's _sum is printed from whole microseconds, exactly;
 * the other floating values (bucket bounds, the start time) use the shortest text that reads back
 * as the same double, so the bounds print as 0.0005, 0.001, 2.5, 10. */
#include "sup_metrics.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

/* The worker and sensor modules each keep a private buffer like this one; there is no shared one. */
typedef struct metrics_buf {
    char  *p;
    size_t len, cap;
} metrics_buf_t;

static void __attribute__((format(printf, 2, 3)))
buf_printf(metrics_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    int     n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            abort();            /* only a bad format string does this: a bug */
        if ((size_t)n < b->cap - b->len)
            break;
        while (b->cap - b->len <= (size_t)n)
            b->cap *= 2;
        b->p = ks_realloc(b->p, b->cap);
    }
    b->len += (size_t)n;
}

/* Whole numbers as integers ("%g" would write 10 as 1e+01), the others as the shortest "%g" text
 * that converts back to v. */
static const char *
fmt_double(char *out, size_t size, double v)
{
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(out, size, "%.0f", v);
        return out;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, size, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            break;
    }
    return out;
}

static void
family(metrics_buf_t *b, const char *name, const char *type, const char *help)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
counter(metrics_buf_t *b, const char *name, const char *help, uint64_t v)
{
    family(b, name, "counter", help);
    buf_printf(b, "%s %" PRIu64 "\n", name, v);
}

static void
gauge(metrics_buf_t *b, const char *name, const char *help, int64_t v)
{
    family(b, name, "gauge", help);
    buf_printf(b, "%s %" PRId64 "\n", name, v);
}

static void
histogram(metrics_buf_t *b, const char *name, const char *help, const ks_hist_t *h)
{
    char     le[32];
    uint64_t acc = 0;

    family(b, name, "histogram", help);
    for (int i = 0; i < KS_HIST_BOUNDS; i++) {
        acc += h->count[i];
        buf_printf(b, "%s_bucket{le=\"%s\"} %" PRIu64 "\n", name,
                   fmt_double(le, sizeof(le), ks_hist_bounds[i]), acc);
    }
    acc += h->count[KS_HIST_BOUNDS];
    buf_printf(b, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, acc);
    buf_printf(b, "%s_sum %" PRIu64 ".%06" PRIu64 "\n", name, h->sum_us / 1000000, h->sum_us % 1000000);
    buf_printf(b, "%s_count %" PRIu64 "\n", name, acc);
}

char *
ks_metrics_render(const ks_report_t *live, size_t n, const ks_report_t *retired,
                  const ks_sup_stats_t *sup, size_t *len)
{
    metrics_buf_t b = { ks_malloc(8192), 0, 8192 };
    ks_report_t   sum;
    int64_t       lag = 0, partitions = 0;
    size_t        lag_known = 0;
    char          num[32];

    memset(&sum, 0, sizeof(sum));
    if (retired != NULL)
        ks_report_add(&sum, retired);
    for (size_t i = 0; i < n; i++) {
        ks_report_add(&sum, &live[i]);
        if (live[i].lag >= 0) {
            lag += live[i].lag;
            lag_known++;
        }
        if (live[i].partitions > 0)
            partitions += live[i].partitions;
    }

    counter(&b, "ksensor_events_total", "Event-topic records read.", sum.events_in);
    counter(&b, "ksensor_events_bad_total", "Undecodable or oversized event records, skipped.",
            sum.events_bad);
    counter(&b, "ksensor_events_filtered_total",
            "Events that matched a dependency but were dropped by its filters.", sum.events_filtered);
    counter(&b, "ksensor_events_out_total", "Records the event stage produced.", sum.events_out);
    counter(&b, "ksensor_firings_total", "Action records produced by triggers that fired.",
            sum.firings);
    family(&b, "ksensor_actions_total", "counter", "Actions executed, by result.");
    buf_printf(&b, "ksensor_actions_total{result=\"ok\"} %" PRIu64 "\n", sum.actions_ok);
    buf_printf(&b, "ksensor_actions_total{result=\"failed\"} %" PRIu64 "\n", sum.actions_failed);
    buf_printf(&b, "ksensor_actions_total{result=\"skipped\"} %" PRIu64 "\n", sum.actions_skipped);
    counter(&b, "ksensor_batches_total", "Committed Kafka transactions.", sum.batches);
    counter(&b, "ksensor_aborts_total", "Aborted Kafka transactions.", sum.aborts);
    counter(&b, "ksensor_restores_total", "Trigger tasks restored from their changelog.",
            sum.restores);
    counter(&b, "ksensor_restored_records_total", "Changelog records read by restores.",
            sum.restored_records);
    counter(&b, "ksensor_state_rebuilds_total",
            "Trigger tasks whose file held state Kafka had not committed, rebuilt from the changelog.",
            sum.rebuilds);
    counter(&b, "ksensor_trigger_replays_total",
            "Trigger records of an event the trigger had already taken, skipped.", sum.replays);
    counter(&b, "ksensor_worker_restarts_total", "Workers respawned after an unexpected exit.",
            sup->worker_restarts);
    family(&b, "ksensor_reloads_total", "counter", "Configuration reloads, by result.");
    buf_printf(&b, "ksensor_reloads_total{result=\"ok\"} %" PRIu64 "\n", sup->reloads_ok);
    buf_printf(&b, "ksensor_reloads_total{result=\"failed\"} %" PRIu64 "\n", sup->reloads_failed);

    /* No sample when no worker knows its lag: an absent series, rather than a 0 that looks healthy
     * or a NaN that every comparison silently rejects, is what absent() and alerting handle. */
    family(&b, "ksensor_consumer_lag", "gauge",
           "Event records behind the high watermarks, summed over the workers that know theirs.");
    if (lag_known > 0)
        buf_printf(&b, "ksensor_consumer_lag %" PRId64 "\n", lag);
    gauge(&b, "ksensor_partitions_assigned", "Partitions assigned to the running workers.",
          partitions);
    family(&b, "ksensor_workers", "gauge", "Workers configured, running and ready.");
    buf_printf(&b, "ksensor_workers{state=\"wanted\"} %d\n", sup->workers_wanted);
    buf_printf(&b, "ksensor_workers{state=\"up\"} %d\n", sup->workers_up);
    buf_printf(&b, "ksensor_workers{state=\"ready\"} %d\n", sup->workers_ready);
    /* Only the current generation: during a reload an old worker draining from the same slot would
     * otherwise make a second series with the same labels. */
    family(&b, "ksensor_worker_ready", "gauge", "1 when the worker in this slot is ready.");
    for (size_t i = 0; i < n; i++)
        if (live[i].generation == sup->generation)
            buf_printf(&b, "ksensor_worker_ready{slot=\"%" PRId32 "\"} %d\n", live[i].slot,
                       live[i].ready ? 1 : 0);
    gauge(&b, "ksensor_config_generation", "Current configuration generation.", sup->generation);
    gauge(&b, "ksensor_sensors", "Sensors loaded in the current generation.",
          (int64_t)sup->sensors);
    family(&b, "ksensor_start_time_seconds", "gauge", "Start time of the supervisor, Unix seconds.");
    buf_printf(&b, "ksensor_start_time_seconds %s\n", fmt_double(num, sizeof(num), sup->start_time));

    histogram(&b, "ksensor_commit_seconds", "Batch commit time: Kafka transaction plus SQLite.",
              &sum.commit);
    histogram(&b, "ksensor_action_seconds", "Execution time of one action.", &sum.action);

    *len = b.len;
    return b.p;
}
