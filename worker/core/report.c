/* report.c — latency histograms and the sum of worker reports. */
#include "core/report.h"

#include <time.h>

const double ks_hist_bounds[KS_HIST_BOUNDS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
};

void
ks_hist_observe(ks_hist_t *h, int64_t us)
{
    int b = 0;

    if (us < 0)
        us = 0;
    while (b < KS_HIST_BOUNDS && (double)us > ks_hist_bounds[b] * 1e6)
        b++;
    h->count[b]++;
    h->sum_us += (uint64_t)us;
}

int64_t
ks_monotonic_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
hist_add(ks_hist_t *sum, const ks_hist_t *h)
{
    for (int b = 0; b < KS_HIST_BUCKETS; b++)
        sum->count[b] += h->count[b];
    sum->sum_us += h->sum_us;
}

void
ks_report_add(ks_report_t *sum, const ks_report_t *r)
{
    sum->events_in += r->events_in;
    sum->events_bad += r->events_bad;
    sum->events_filtered += r->events_filtered;
    sum->events_out += r->events_out;
    sum->firings += r->firings;
    sum->actions_ok += r->actions_ok;
    sum->actions_failed += r->actions_failed;
    sum->actions_skipped += r->actions_skipped;
    sum->batches += r->batches;
    sum->aborts += r->aborts;
    sum->restores += r->restores;
    sum->restored_records += r->restored_records;
    sum->rebuilds += r->rebuilds;
    sum->replays += r->replays;
    hist_add(&sum->commit, &r->commit);
    hist_add(&sum->action, &r->action);
}
