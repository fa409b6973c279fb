/* sup_workers.h — the worker processes: one slot per worker, forked by configuration generation,
 * respawned with exponential back-off, retired by end-of-file on their socket.
 *
 * Each worker gets one end of a SOCK_SEQPACKET socketpair. It writes ks_report_t records (its
 * counters, readiness and lag) to it; the supervisor never writes: shutting down its end asks the
 * worker to finish its batch and exit. A worker keeps its Kafka identity (group.instance.id and
 * transactional.id derive from the slot), so a slot's successor starts only after its predecessor
 * has exited: two live workers never share an identity, and a respawned worker gets its partitions
 * back without a rebalance (static membership). */
#ifndef SUP_WORKERS_H
#define SUP_WORKERS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <ev.h>

#include "core/report.h"
#include "sensor/sensor.h"
#include "core/config.h"

typedef struct ks_workers ks_workers_t;

typedef struct ks_slot {
    ks_workers_t *ws;
    int           index;
    pid_t         pid;          /* 0: no process */
    int           fd;           /* the supervisor's end of the socketpair, or -1 */
    unsigned      generation;   /* of the running process */
    bool          retiring;     /* asked to stop: its exit is planned */
    ev_io         io;           /* reports */
    ev_timer      restart;      /* back-off before the next start */
    int           failures;     /* unexpected exits in a row */
    ev_tstamp     started;
    ev_tstamp     reported;     /* when its newest report arrived */
    ks_report_t   report;       /* the newest one; zero before the first */
} ks_slot_t;

struct ks_workers {
    struct ev_loop    *loop;
    const ks_config_t *cfg;     /* of the current generation */
    const ks_pool_t   *pool;
    unsigned           generation;
    const char        *bootstrap;       /* the embedded broker's address, or NULL */
    int                wanted;
    ks_slot_t        **slots;
    int                nslots;
    bool               stopping;
    ks_report_t        retired;         /* the last reports of workers that exited */
    uint64_t           restarts;        /* unexpected exits */
    bool               unfit;           /* a worker found the cluster unfit for the configuration */
    /* In a new child, before the worker runs: closes the supervisor's own descriptors. */
    void             (*child_setup)(void *ctx);
    void              *ctx;
};

/* "workers: auto": the CPUs this process may run on, capped by the CPU quota of the cgroup found
 * under cgroup_dir (v2 cpu.max or v1 cpu/cpu.cfs_quota_us), so a container limited to 2 CPUs on a
 * 32-core node runs 2 workers. At least 1. */
int  ks_workers_auto(const char *cgroup_dir);

void ks_workers_init(ks_workers_t *ws, struct ev_loop *loop, const char *bootstrap,
                     void (*child_setup)(void *ctx), void *ctx);

/* Makes generation the running one: starts missing workers, retires those of older generations
 * (each slot's successor starts when it exits) and those beyond the wanted count. cfg and pool
 * must live until the next call. */
void ks_workers_apply(ks_workers_t *ws, const ks_config_t *cfg, const ks_pool_t *pool, unsigned generation);

/* Asks every worker to finish its batch and exit; nothing is restarted afterwards. */
void ks_workers_stop(ks_workers_t *ws);

/* Sends sig to every worker process. */
void ks_workers_signal(ks_workers_t *ws, int sig);

/* A child exited (waitpid status): returns false if it was not a worker. A worker that exited
 * KS_EXIT_UNFIT is not respawned: ws->unfit is set, and the supervisor stops. */
bool ks_workers_reaped(ks_workers_t *ws, pid_t pid, int status);

int  ks_workers_running(const ks_workers_t *ws);        /* processes alive, any generation */
int  ks_workers_up(const ks_workers_t *ws);             /* of the current generation */
int  ks_workers_ready(const ks_workers_t *ws);          /* up, in the group and assigned, and reporting */

/* The newest report of every live worker, into out (room for nslots); returns how many. */
size_t ks_workers_reports(const ks_workers_t *ws, ks_report_t *out);

void ks_workers_free(ks_workers_t *ws);

#endif
