/* worker.h — the worker: one libev loop, one Kafka consumer and one transactional producer, running the
 * event, trigger and action stages over the partitions this worker is assigned.
 *
 * Every batch is one Kafka transaction (the records produced by all three stages plus the consumed
 * offsets, KIP-447) followed by one SQLite transaction per task; see DESIGN.md §3. Prototypes are
 * grouped by the file that defines them. */
#ifndef KS_PIPELINE_WORKER_H
#define KS_PIPELINE_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <sqlite3.h>

#include "core/report.h"
#include "sensor/sensor.h"
#include "sensor/event.h"
#include "sensor/param.h"
#include "actions/httpc.h"
#include "core/config.h"

#define KS_FORMAT_HEADER  "ksensor-format"
#define KS_FORMAT_VERSION "1"
#define KS_DEP_HEADER     "dependencyName"
#define KS_FIRING_HEADER  "firingId"

/* Records on the internal topics: the topics are created with max.message.bytes = KS_MAX_MESSAGE and
 * the producer allows as much. The events one record carries (an event, a trigger's held events, a
 * firing) may total KS_MAX_RECORD: the changelog holds each event as a JSON string, and escaping
 * compact JSON text (only '"' and '\\' need it) at most doubles it, leaving room for key, headers and
 * batch overhead. */
#define KS_MAX_MESSAGE    (16 * 1024 * 1024)
#define KS_MAX_RECORD     (KS_MAX_MESSAGE / 2 - 64 * 1024)

typedef struct ks_worker       ks_worker_t;

/* How a worker runs: alone in the foreground, or as a child of the supervisor. */
typedef struct ks_worker_opts {
    int         slot;
    unsigned    generation;
    int         sup_fd;         /* the supervisor's socket (report.h); -1 when run alone */
    const char *bootstrap;      /* the embedded broker's address; NULL: eventbus.brokers */
} ks_worker_opts_t;

/* A producer for kafka actions to a cluster other than the event bus's. */
typedef struct ks_external {
    char       *url;
    rd_kafka_t *producer;
} ks_external_t;
typedef struct ks_trigger_task ks_trigger_task_t;
typedef struct ks_action_task  ks_action_task_t;
typedef struct ks_http_call    ks_http_call_t;
typedef struct ks_http_part    ks_http_part_t;

/* A stage's answer besides 0 (done with) and -1 (abort the batch): the stage has put in the batch
 * the offset its partition may commit (an unfinished http call holds the others back). */
#define KS_STAGE_HELD 1

/* The internal topics of the pool (topicLayout shared: <pool>-trigger, -action, -state) or of one
 * sensor (per-sensor: <topic>-<sensor>-trigger, -action, -state, Argo's names), with the tasks of
 * the partitions assigned to this worker. */
typedef struct ks_topic_set {
    char                trigger[256], action[256], state[256];
    int                 ntriggers, nactions;
    ks_trigger_task_t **triggers;       /* by partition; NULL when not assigned here */
    ks_action_task_t  **actions;
} ks_topic_set_t;

/* A log line to write once the batch that decided it has committed. */
typedef struct ks_after_commit {
    char                   *line;
    struct ks_after_commit *next;
} ks_after_commit_t;

struct ks_worker {
    const ks_config_t   *cfg;
    const ks_pool_t     *pool;
    int                  slot;
    unsigned             generation;
    const char          *brokers;           /* bootstrap servers of the event bus */
    bool                 embedded;          /* the mock cluster: plain membership, plain offset commits */
    char                 instance[128];     /* group.instance.id */
    char                 topic_event[256];
    struct ev_loop      *loop;
    rd_kafka_t          *consumer;
    rd_kafka_t          *producer;
    int                  wake[2];           /* librdkafka's queue event pipe */
    ev_io                wake_io;
    ev_timer             commit_timer;
    ev_signal            sigterm, sigint, sigusr1;
    bool                 stopping;
    int                  stop_signals;      /* SIGTERM/SIGINT received: the second stops at once */
    int                  sup_fd;            /* -1 when not supervised */
    ev_io                sup_io;
    ev_timer             report_timer;
    bool                 assigned;          /* holds an assignment (possibly empty) from the group */

    /* the internal topics: one set for the pool, or one per sensor; a sorted name index over them */
    ks_topic_set_t      *sets;
    size_t               nsets;
    struct topic_ref    *topic_index;
    size_t               ntopic_index;

    /* the open batch */
    bool                 in_txn;
    size_t               batch_records;
    size_t               batch_bytes;       /* produced in this batch: held in memory until it commits */
    rd_kafka_topic_partition_list_t *batch_offsets;
    ks_after_commit_t   *after_commit, **after_tail;

    /* sorted "<sensor>/<trigger>" index over the pool */
    struct trigger_key  *keys;
    size_t               nkeys;
    int64_t             *last_log;          /* per trigger: when its log action last wrote, Unix ms */
    ks_external_t       *external;
    size_t               nexternal;
    ks_httpc_t          *httpc;             /* http actions */
    ks_http_call_t      *http_ready;        /* calls to start once their rows have committed */
    size_t               http_uncommitted;  /* of them, those whose rows have not yet */
    size_t               http_active;       /* calls ready or under way: what a stop waits for */
    ev_timer             stop_deadline;     /* how long a stop waits for them */
    ev_prepare           http_check;        /* commits at once when calls wait for that */
    int64_t             *rate_next;         /* per trigger: when rateLimit lets the next call start, ms */

    ks_report_t          stats;             /* counters and histograms reported to the supervisor */
    int                  aborts_in_a_row;
    time_t               last_bad_log;
    uint64_t             bad_since_log;
};

/* worker.c */
/* Runs until SIGTERM, SIGINT or end-of-file on the supervisor's socket, then finishes the batch and
 * returns 0; fatal errors exit the process (status 3) for the supervisor to respawn it. */
int  ks_worker_run(const ks_config_t *cfg, const ks_pool_t *pool, const ks_worker_opts_t *opts)
    __attribute__((warn_unused_result));
/* A configuration with what every Kafka handle shares: brokers, TLS, SASL, user properties, and
 * librdkafka's log lines written through ks_log ("librdkafka NAME FAC: …"); exits
 * (status 3) on a property librdkafka refuses or an unreadable SASL password file. */
rd_kafka_conf_t *ks_kafka_conf(const ks_config_t *cfg, const char *brokers);
/* ks_kafka_conf() for the worker's event bus (the embedded broker's address when there is one). */
rd_kafka_conf_t *ks_worker_conf(const ks_worker_t *w);
/* Produces a record inside the open transaction; partition < 0 lets the partitioner choose. */
int  ks_worker_produce(ks_worker_t *w, const char *topic, int32_t partition, const char *key,
                       const void *value, size_t len, rd_kafka_headers_t *headers, void *opaque)
    __attribute__((warn_unused_result));
void ks_worker_after_commit(ks_worker_t *w, char *line);
/* The hosted trigger named by a record key "<sensor>/<trigger>", or NULL; *slot (if not NULL)
 * receives its index among the worker's triggers. */
const ks_trigger_t *ks_worker_trigger(const ks_worker_t *w, const char *key, size_t len, size_t *slot);
/* A bad record: counted, logged (at most once a second, with how many were suppressed), and sent to
 * the dead-letter topic when one is configured. */
int  ks_worker_bad_record(ks_worker_t *w, const rd_kafka_message_t *msg, const char *reason)
    __attribute__((warn_unused_result));
rd_kafka_headers_t *ks_worker_headers(const char *dependency, const char *firing_id);
/* The internal topics a sensor's triggers use. */
ks_topic_set_t *ks_worker_set(const ks_worker_t *w, const ks_sensor_t *sensor);

/* Opens a batch when none is open. */
void ks_worker_begin(ks_worker_t *w);
/* A partition's committable offset joins the open batch (opened when needed). */
void ks_worker_release(ks_worker_t *w, const char *topic, int32_t partition, int64_t next_offset);
/* Stops or restarts fetching a partition (no seek): too many http firings are unfinished, or not. */
void ks_worker_pause(ks_worker_t *w, const char *topic, int32_t partition, bool pause);

/* topics.c */
int  ks_topics_ensure(ks_worker_t *w) __attribute__((warn_unused_result));

/* event_stage.c */
int  ks_event_stage(ks_worker_t *w, const rd_kafka_message_t *msg) __attribute__((warn_unused_result));
/* The firing record: {"id","sensor","trigger","events":{dependency: event}}. */
char *ks_firing_encode(const char *id, const ks_trigger_t *trig, const char *const *deps,
                       const char *const *events, const size_t *lens, size_t n, size_t *len);

/* trigger_stage.c */
ks_trigger_task_t *ks_trigger_task_open(ks_worker_t *w, ks_topic_set_t *set, int32_t partition);
void ks_trigger_task_close(ks_trigger_task_t *task);
int  ks_trigger_stage(ks_worker_t *w, ks_trigger_task_t *task, const rd_kafka_message_t *msg)
    __attribute__((warn_unused_result));
/* Before the Kafka commit: one changelog record per trigger changed in this batch. */
int  ks_trigger_task_flush(ks_worker_t *w, ks_trigger_task_t *task) __attribute__((warn_unused_result));
void ks_trigger_task_delivered(ks_trigger_task_t *task, int64_t offset);
int  ks_trigger_task_commit(ks_trigger_task_t *task) __attribute__((warn_unused_result));
void ks_trigger_task_rollback(ks_trigger_task_t *task);

/* action_stage.c */
/* One firing, as an executor sees it. */
typedef struct ks_firing {
    ks_worker_t        *w;
    const ks_trigger_t *trig;
    size_t              slot;           /* the trigger's index among the worker's: per-trigger state */
    const char         *id;
    const json_t       *events;         /* {dependency: CloudEvent} */
} ks_firing_t;

/* A firing's template with its parameters applied, and the payload built from its events. */
typedef struct ks_prepared {
    ks_held_event_t  held[KS_SENSOR_MAX_DEPS];
    ks_event_t       decoded[KS_SENSOR_MAX_DEPS];
    size_t           n;
    json_t          *tmpl;
    json_t          *kind;              /* tmpl.<kind> ("http", "kafka") */
    char            *body;
    size_t           len;
} ks_prepared_t;

int  ks_firing_prepare(const ks_firing_t *f, const char *kind, ks_prepared_t *p, char *err, size_t errlen);
/* Runs a log or kafka action within the open batch: 0, or -1 with a sentence in err. */
int  ks_action_execute(const ks_firing_t *f, char *err, size_t errlen) __attribute__((warn_unused_result));
void ks_prepared_free(ks_prepared_t *p);
/* A ledger row, in the batch's SQLite transaction. */
int  ks_ledger_write(ks_action_task_t *task, const char *id, const ks_trigger_t *trig, const char *status,
                     int attempts, long last_status, const char *error) __attribute__((warn_unused_result));
/* The task's http calls (NULL until it has had one), worker, topic and partition. */
ks_http_part_t **ks_action_task_http(ks_action_task_t *task);
ks_worker_t *ks_action_task_worker(const ks_action_task_t *task);
const char *ks_action_task_topic(const ks_action_task_t *task);
int32_t ks_action_task_partition(const ks_action_task_t *task);

ks_action_task_t *ks_action_task_open(ks_worker_t *w, ks_topic_set_t *set, int32_t partition);
void ks_action_task_close(ks_action_task_t *task);
int  ks_action_stage(ks_worker_t *w, ks_action_task_t *task, rd_kafka_message_t *msg)
    __attribute__((warn_unused_result));
int  ks_action_task_commit(ks_action_task_t *task) __attribute__((warn_unused_result));
void ks_action_task_rollback(ks_action_task_t *task);

/* calls.c */
/* An http firing (status: its ledger row's, or NULL; attempts so far): its call is set up to start
 * after the batch commits, or behind an earlier firing of its trigger. 0, or -1 on error. */
int  ks_http_action(ks_action_task_t *task, const ks_firing_t *f, const rd_kafka_message_t *msg, const char *status,
                    int attempts) __attribute__((warn_unused_result));
/* A record of the task has been processed: 0 when its offset can be committed as usual, else
 * KS_STAGE_HELD (the committable offset is in the batch already). */
int  ks_http_settle(ks_action_task_t *task, int64_t offset);
/* Starts the calls whose ledger rows have committed (committed: a batch just did), up to the bound
 * on calls in flight. */
void ks_http_start_ready(ks_worker_t *w, bool committed);
/* The batch aborted: the calls it set up are undone (their records are read again). */
void ks_http_abort(ks_action_task_t *task);
/* The task closes: every call is abandoned (the next owner reads the records again). */
void ks_http_abandon(ks_action_task_t *task);

#endif
