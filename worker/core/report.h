/* report.h — what a worker tells its supervisor: one fixed-size record, sent whole.
 *
 * A worker writes a ks_report_t to its end of the supervisor's SOCK_SEQPACKET socketpair once a
 * second and whenever its readiness changes. Counters are totals since the worker started; the
 * supervisor keeps the newest report of each worker, adds the last report of a worker that exits to
 * its retired totals, and renders the sum as Prometheus text on /metrics. Nothing else crosses the
 * socket from the worker; from the supervisor, end-of-file means "finish the batch and exit". */
#ifndef KS_CORE_REPORT_H
#define KS_CORE_REPORT_H

#include <stdint.h>

#define KS_REPORT_VERSION 1

/* The status a worker exits with on an error it cannot recover from: the supervisor respawns it. */
#define KS_EXIT_FATAL 3
/* The status a worker exits with when the cluster does not fit the configuration (an internal topic
 * with the wrong partition count or cleanup.policy, say): respawning cannot help, the daemon stops. */
#define KS_EXIT_UNFIT 4

/* Latency histograms: KS_HIST_BOUNDS upper bounds in seconds (ks_hist_bounds) plus +Inf. */
#define KS_HIST_BOUNDS    13
#define KS_HIST_BUCKETS   (KS_HIST_BOUNDS + 1)

extern const double ks_hist_bounds[KS_HIST_BOUNDS];

typedef struct ks_hist {
    uint64_t count[KS_HIST_BUCKETS];    /* per bucket, not cumulative */
    uint64_t sum_us;                    /* sum of the observations, microseconds */
} ks_hist_t;

typedef struct ks_report {
    uint32_t  version;                  /* KS_REPORT_VERSION */
    int32_t   slot;
    uint32_t  generation;
    int32_t   pid;
    int32_t   ready;                    /* 1: in the group, assigned and its tasks restored */
    int32_t   partitions;               /* assigned to this worker, all topics */
    int64_t   lag;                      /* records behind the high watermarks of the assignment; -1 unknown */

    uint64_t  events_in;                /* event-topic records read */
    uint64_t  events_bad;               /* undecodable or oversized records, skipped */
    uint64_t  events_filtered;          /* matched a dependency but dropped by its filters */
    uint64_t  events_out;               /* records the event stage produced (trigger or action topic) */
    uint64_t  firings;                  /* action records produced */
    uint64_t  actions_ok;
    uint64_t  actions_failed;
    uint64_t  actions_skipped;          /* already in the ledger, or held back by intervalSeconds */
    uint64_t  batches;                  /* committed Kafka transactions */
    uint64_t  aborts;                   /* aborted Kafka transactions */
    uint64_t  restores;                 /* trigger tasks that read their changelog on assignment */
    uint64_t  restored_records;
    uint64_t  rebuilds;                 /* trigger tasks whose file held state Kafka had not
                                         * committed, rebuilt from the whole changelog */
    uint64_t  replays;                  /* trigger records of an event the trigger had taken */

    ks_hist_t commit;                   /* batch commit: Kafka transaction plus SQLite */
    ks_hist_t action;                   /* one action's execution */
} ks_report_t;

void ks_hist_observe(ks_hist_t *h, int64_t us);

/* CLOCK_MONOTONIC in microseconds, for the latencies the histograms observe. */
int64_t ks_monotonic_us(void);

/* Adds every counter and histogram of r to sum (slot, pid, readiness and lag are left alone). */
void ks_report_add(ks_report_t *sum, const ks_report_t *r);

#endif
