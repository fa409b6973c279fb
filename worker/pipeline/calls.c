/* calls.c — the http executor: firings' HTTP calls on the worker's loop, with the ledger
 * and offset order Argo's atLeastOnce flag asks for (DESIGN.md §2.3).
 *
 * A call outlives the batch its firing was read in. The firing's ledger row "attempting" is
 * written in the batch, and the call starts once that batch has committed (a check watcher commits
 * as soon as calls are waiting to start), so the row is durable before the request leaves. The
 * partition's committed offset stops before its earliest unfinished firing: records after it are
 * processed, but their offsets join a batch only once every firing before them is over. A call's
 * outcome is written in the batch that commits its offset. Firings of one trigger are called one
 * after the other (a later one waits); different triggers' calls run in parallel, up to
 * MAX_INFLIGHT per worker.
 *
 *   atLeastOnce: false (Argo's default): one attempt. A firing whose row says "attempting" when it
 *     is read again — the process stopped during its call — is recorded as "unknown", never called
 *     again by this host.
 *   atLeastOnce: true: retried per retryStrategy; read again after a crash, the call is made again.
 *     A call recorded as done is never repeated on this host. Once retries are exhausted the
 *     dlqTrigger (if any) runs with the same events, and the firing is recorded as failed with what
 *     the dlqTrigger did.
 * Every request carries Idempotency-Key: <firing id> (identical on every replay and host) and Ce-Id:
 * the id of the event that completed the firing. Without policy.status.allow any response counts as
 * success, as in Argo; no response (refused, timed out) is a failure. rateLimit spaces the calls of a
 * trigger without blocking the loop. Secrets (secureHeaders, basicAuth, TLS files) are read from
 * <secretsDir>/<name>/<key>, Argo's mount layout.
 *
 * A stop (SIGTERM, a reload) waits for the calls under way — in flight, in a retry's back-off, or
 * waiting for rateLimit — for up to half of shutdownTimeout, and writes their outcomes in the last
 * batch; firings not yet started are left to the next owner of the partition. Every attempt's
 * duration goes into the action latency histogram. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "pipeline/worker.h"
#include "pipeline/crash.h"

#define DEFAULT_TIMEOUT_S 60
#define MAX_HEADERS       64
#define MAX_INFLIGHT      512       /* calls in flight per worker */
#define MAX_UNFINISHED    2000      /* per partition: beyond it, fetching the partition pauses */

typedef enum {
    CALL_WAITING,       /* behind an earlier firing of its trigger */
    CALL_READY,         /* its "attempting" row is in a batch: starts once that has committed */
    CALL_RUNNING,       /* in flight, or waiting for its retry or rateLimit timer */
} call_state_t;

struct ks_http_call {
    ks_worker_t        *w;
    ks_action_task_t   *task;
    ks_http_call_t     *next;           /* the task's unfinished calls, in offset order */
    ks_http_call_t     *next_ready;     /* the worker's calls to start */
    call_state_t        state;
    bool                committed;      /* READY: its row has committed */
    const ks_trigger_t *trig;           /* the firing's trigger, or its dlqTrigger once that runs */
    const ks_trigger_t *origin;         /* the firing's trigger: the ledger row's */
    json_t             *events;
    char               *completing;     /* the id of the event that completed the firing */
    char               *dlq_outcome;    /* what the dlqTrigger did, for the ledger */
    size_t              slot;
    char               *id;
    int64_t             offset;
    int                 attempts;       /* made so far, this one included once started */
    int64_t             started_us;     /* when the attempt in flight left */
    double              next_delay_s;   /* retryStrategy: the base of the next back-off */
    ev_timer            timer;          /* a retry's back-off, or rateLimit's wait */
    ks_httpc_call_t    *inflight;
    ks_httpc_request_t  req;
    char               *headers[MAX_HEADERS + 1];
    size_t              nheaders;
    char               *strings[8];     /* what req points to, freed with the call */
    size_t              nstrings;
};

/* Per action task: its unfinished calls and how far its records have been processed. */
struct ks_http_part {
    ks_http_call_t *head;
    size_t          n;
    int64_t         processed_next;
    bool            paused;
};

static char *
keep(ks_http_call_t *call, char *s)
{
    if (s != NULL && call->nstrings < sizeof(call->strings) / sizeof(call->strings[0]))
        call->strings[call->nstrings++] = s;
    return s;
}

static void
add_header(ks_http_call_t *call, char *header)
{
    if (call->nheaders < MAX_HEADERS) {
        call->headers[call->nheaders++] = header;
        call->headers[call->nheaders] = NULL;
    } else {
        free(header);
    }
}

/* Forgets the request (a dlqTrigger builds its own). */
static void
request_clear(ks_http_call_t *call)
{
    for (size_t i = 0; i < call->nheaders; i++)
        free(call->headers[i]);
    for (size_t i = 0; i < call->nstrings; i++)
        free(call->strings[i]);
    call->nheaders = call->nstrings = 0;
    call->headers[0] = NULL;
    memset(&call->req, 0, sizeof(call->req));
}

/* <secretsDir>/<name>/<key> of a secret selector {name, key}: the path, or the file's first line. */
static char *
secret_path(const ks_worker_t *w, const json_t *selector)
{
    const char *name = json_string_value(json_object_get(selector, "name"));
    const char *key = json_string_value(json_object_get(selector, "key"));

    return name && key ? ks_asprintf("%s/%s/%s", w->cfg->secrets_dir, name, key) : NULL;
}

static char *
secret_value(const ks_worker_t *w, const json_t *selector, char *err, size_t errlen)
{
    char *path = secret_path(w, selector), line[4096];
    FILE *fp = path ? fopen(path, "r") : NULL;

    if (fp == NULL || fgets(line, sizeof(line), fp) == NULL) {
        snprintf(err, errlen, "http trigger: cannot read the secret %s: %s", path ? path : "(no name or key)",
                 fp ? "empty" : strerror(errno));
        if (fp != NULL)
            fclose(fp);
        free(path);
        return NULL;
    }
    fclose(fp);
    free(path);
    line[strcspn(line, "\r\n")] = '\0';
    return ks_strdup(line);
}

/* The request of a firing: method, url, payload, headers, auth, TLS, timeout. */
static int
build_request(ks_http_call_t *call, const ks_firing_t *f, const char *completing, char *err, size_t errlen)
{
    ks_prepared_t *p = ks_calloc(1, sizeof(*p));
    const json_t  *http, *v, *tls, *auth;
    const char    *name, *method;
    json_t        *value;
    size_t         i;
    int            rc = -1;

    if (ks_firing_prepare(f, "http", p, err, errlen) != 0)
        goto done;
    http = p->kind;
    if (json_string_value(json_object_get(http, "url")) == NULL) {
        snprintf(err, errlen, "http trigger: url is required");
        goto done;
    }
    method = json_string_value(json_object_get(http, "method"));
    call->req.url = keep(call, ks_strdup(json_string_value(json_object_get(http, "url"))));
    call->req.method = keep(call, ks_strdup(method != NULL && method[0] != '\0' ? method : "POST"));
    call->req.body = keep(call, p->body);
    call->req.len = p->len;
    p->body = NULL;
    v = json_object_get(http, "timeout");
    call->req.timeout_ms = (json_integer_value(v) > 0 ? (long)json_integer_value(v) : DEFAULT_TIMEOUT_S) * 1000;

    add_header(call, ks_strdup("Content-Type: application/json"));
    add_header(call, ks_asprintf("Idempotency-Key: %s", f->id));
    if (completing != NULL)
        add_header(call, ks_asprintf("Ce-Id: %s", completing));
    json_object_foreach((json_t *)json_object_get(http, "headers"), name, value) {
        if (json_is_string(value))
            add_header(call, ks_asprintf("%s: %s", name, json_string_value(value)));
    }
    if (f->trig->dyn_headers.n > 0) {
        char   *text = NULL;
        size_t  tlen = 0;
        json_t *dyn;

        /* dynamicHeaders: parameters whose dest names the header */
        if (ks_payload_build(&f->trig->dyn_headers, p->held, p->n, &text, &tlen, err, errlen) != 0)
            goto done;
        dyn = json_loadb(text, tlen, 0, NULL);
        free(text);
        json_object_foreach(dyn, name, value) {
            if (json_is_string(value))
                add_header(call, ks_asprintf("%s: %s", name, json_string_value(value)));
        }
        json_decref(dyn);
    }
    json_array_foreach(json_object_get(http, "secureHeaders"), i, value) {
        const json_t *ref = json_object_get(json_object_get(value, "valueFrom"), "secretKeyRef");
        char         *secret = secret_value(f->w, ref, err, errlen);

        if (secret == NULL)
            goto done;
        add_header(call, ks_asprintf("%s: %s", json_string_value(json_object_get(value, "name")), secret));
        free(secret);
    }
    if ((auth = json_object_get(http, "basicAuth")) != NULL) {
        call->req.user = keep(call, secret_value(f->w, json_object_get(auth, "username"), err, errlen));
        call->req.password = keep(call, secret_value(f->w, json_object_get(auth, "password"), err, errlen));
        if (call->req.user == NULL || call->req.password == NULL)
            goto done;
    }
    if ((tls = json_object_get(http, "tls")) != NULL) {
        call->req.ca_file = keep(call, secret_path(f->w, json_object_get(tls, "caCertSecret")));
        call->req.cert_file = keep(call, secret_path(f->w, json_object_get(tls, "clientCertSecret")));
        call->req.key_file = keep(call, secret_path(f->w, json_object_get(tls, "clientKeySecret")));
        call->req.insecure = json_is_true(json_object_get(tls, "insecureSkipVerify"));
        if (call->req.insecure)
            ks_log_warning("firing %s: tls.insecureSkipVerify: the server's certificate is not verified", f->id);
    }
    call->req.headers = (const char *const *)call->headers;
    rc = 0;
done:
    ks_prepared_free(p);
    free(p);
    return rc;
}

static bool
allowed(const ks_trigger_t *trig, long status)
{
    if (status == 0)
        return false;
    if (trig->nstatus_allow == 0)
        return true;            /* Argo: without policy.status.allow any response is a success */
    for (size_t i = 0; i < trig->nstatus_allow; i++) {
        if (trig->status_allow[i] == status)
            return true;
    }
    return false;
}


static ks_http_part_t *
part_of(ks_action_task_t *task)
{
    ks_http_part_t **p = ks_action_task_http(task);

    if (*p == NULL)
        *p = ks_calloc(1, sizeof(**p));
    return *p;
}

static void
ready_remove(ks_worker_t *w, ks_http_call_t *call)
{
    for (ks_http_call_t **pp = &w->http_ready; *pp != NULL; pp = &(*pp)->next_ready) {
        if (*pp == call) {
            *pp = call->next_ready;
            if (!call->committed && w->http_uncommitted > 0)
                w->http_uncommitted--;
            return;
        }
    }
}

/* Unlinks a call from its task and the worker and frees it (a call in flight is cancelled). */
static void
call_drop(ks_http_call_t *call)
{
    ks_http_part_t *part = part_of(call->task);

    for (ks_http_call_t **pp = &part->head; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == call) {
            *pp = call->next;
            part->n--;
            break;
        }
    }
    ready_remove(call->w, call);
    if (call->state != CALL_WAITING && --call->w->http_active == 0 && call->w->stopping)
        ev_break(call->w->loop, EVBREAK_ALL);   /* a stop was waiting for the last call under way */
    if (call->inflight != NULL)
        ks_httpc_cancel(call->inflight);
    ev_timer_stop(call->w->loop, &call->timer);
    request_clear(call);
    json_decref(call->events);
    free(call->completing);
    free(call->dlq_outcome);
    free(call->id);
    free(call);
}

/* The offset the task may commit: after what it processed, but not past an unfinished firing. */
static int64_t
committable(const ks_http_part_t *part)
{
    return part->head != NULL && part->head->offset < part->processed_next ? part->head->offset
                                                                          : part->processed_next;
}

/* Opens the batch (for a ledger row) with what the task may commit in it. */
static void
open_batch(ks_worker_t *w, ks_action_task_t *task)
{
    ks_http_part_t *part = part_of(task);

    ks_worker_begin(w);
    if (part->processed_next > 0)
        ks_worker_release(w, ks_action_task_topic(task), ks_action_task_partition(task), committable(part));
}

/* Commits what can be committed of the task, and pauses or resumes its fetching. */
static void
settle(ks_action_task_t *task)
{
    ks_http_part_t *part = part_of(task);
    ks_worker_t    *w = NULL;

    if (part->head != NULL)
        w = part->head->w;
    if (w == NULL)
        w = ks_action_task_worker(task);
    if (part->processed_next > 0)
        ks_worker_release(w, ks_action_task_topic(task), ks_action_task_partition(task), committable(part));
    if (part->n >= MAX_UNFINISHED && !part->paused) {
        ks_worker_pause(w, ks_action_task_topic(task), ks_action_task_partition(task), true);
        part->paused = true;
    } else if (part->n < MAX_UNFINISHED / 2 && part->paused) {
        ks_worker_pause(w, ks_action_task_topic(task), ks_action_task_partition(task), false);
        part->paused = false;
    }
}

/* Its ledger row "attempting" goes into the open batch; the call starts after the commit. */
static int
make_ready(ks_http_call_t *call)
{
    ks_worker_t *w = call->w;

    open_batch(w, call->task);
    ks_crash_point("before-http-ledger");
    if (ks_ledger_write(call->task, call->id, call->origin, "attempting", call->attempts + 1, 0, NULL) != 0)
        return -1;
    call->state = CALL_READY;
    call->committed = false;
    w->http_active++;
    call->next_ready = w->http_ready;
    w->http_ready = call;
    w->http_uncommitted++;
    return 0;
}

/* A firing is over: its row goes into the open batch, the trigger's next firing gets ready. */
static void
call_done(ks_http_call_t *call, const char *status, long last_status, const char *error)
{
    ks_action_task_t *task = call->task;
    ks_worker_t      *w = call->w;
    size_t            slot = call->slot;
    int               attempts = call->attempts;
    char             *id = ks_strdup(call->id);
    const ks_trigger_t *origin = call->origin;

    open_batch(w, task);
    call_drop(call);
    if (ks_ledger_write(task, id, origin, status, attempts, last_status, error) != 0)
        exit(3);                /* the ledger is this host's memory of its calls: without it, stop */
    free(id);
    for (ks_http_call_t *next = part_of(task)->head; next != NULL && !w->stopping; next = next->next) {
        if (next->slot == slot && next->state == CALL_WAITING) {
            if (make_ready(next) != 0)
                exit(3);
            break;
        }
    }
    settle(task);
}

static void start(ks_http_call_t *call);

static void
on_timer(struct ev_loop *loop, ev_timer *timer, int revents)
{
    (void)loop;
    (void)revents;
    start(timer->data);
}


/* The dlqTrigger is over: the firing is recorded as failed, with what its dlqTrigger did. */
static void
dlq_done(ks_http_call_t *call, bool ok, long status, const char *why)
{
    char *error = ks_asprintf("%s; dlqTrigger %s: %s%s%s", call->dlq_outcome, call->trig->name,
                              ok ? "done" : "failed", why ? ": " : "", why ? why : "");

    ks_log_warning("firing %s: %s", call->id, error);
    call->w->stats.actions_failed++;
    call_done(call, "failed", status, error);
    free(error);
}

/* retryStrategy is exhausted: the dlqTrigger runs with the same events — an http one as a call of
 * its own (atLeastOnce, its own retryStrategy), a log or kafka one within the open batch. */
static void
run_dlq(ks_http_call_t *call, long status, const char *why)
{
    const ks_trigger_t *dlq = call->trig->dlq;
    ks_firing_t         f = { call->w, dlq, call->slot, call->id, call->events };
    char                err[512] = "";

    call->dlq_outcome = ks_asprintf("%d attempt%s failed (%s)", call->attempts, call->attempts == 1 ? "" : "s", why);
    call->trig = dlq;
    if (dlq->kind != KS_ACTION_HTTP) {
        open_batch(call->w, call->task);
        dlq_done(call, ks_action_execute(&f, err, sizeof(err)) == 0, status, err[0] ? err : NULL);
        return;
    }
    request_clear(call);
    if (build_request(call, &f, NULL, err, sizeof(err)) != 0) {
        dlq_done(call, false, status, err);
        return;
    }
    call->next_delay_s = (double)dlq->retry.duration_ms / 1000.;
    call->attempts = 0;
    start(call);
}

static void
on_response(void *ctx, long status, const char *error)
{
    ks_http_call_t     *call = ctx;
    const ks_trigger_t *trig = call->trig;
    ks_worker_t        *w = call->w;
    char                why[512];

    call->inflight = NULL;
    ks_hist_observe(&w->stats.action, ks_monotonic_us() - call->started_us);
    if (allowed(trig, status)) {
        ks_crash_point("after-http-response");
        if (call->dlq_outcome != NULL) {
            dlq_done(call, true, status, NULL);
        } else {
            w->stats.actions_ok++;
            call_done(call, "done", status, NULL);
        }
        ks_http_start_ready(w, false);
        return;
    }
    if (status != 0)
        snprintf(why, sizeof(why), "HTTP status %ld is not in policy.status.allow", status);
    else
        snprintf(why, sizeof(why), "%s", error != NULL ? error : "no response");
    if (trig->at_least_once && call->attempts < trig->retry.steps) {
        double delay = call->next_delay_s + drand48() * trig->retry.jitter * call->next_delay_s;

        call->next_delay_s *= trig->retry.factor;
        ks_log_warning("firing %s: attempt %d of %d failed (%s); retrying in %.3f s", call->id, call->attempts,
                       trig->retry.steps, why, delay);
        ev_timer_set(&call->timer, delay, 0.);
        ev_timer_start(w->loop, &call->timer);
        return;
    }
    if (call->dlq_outcome != NULL) {
        dlq_done(call, false, status, why);
    } else if (trig->dlq != NULL) {
        ks_log_error("firing %s: http call failed after %d attempt%s: %s", call->id, call->attempts,
                     call->attempts == 1 ? "" : "s", why);
        run_dlq(call, status, why);
    } else {
        ks_log_error("firing %s: http call failed after %d attempt%s: %s", call->id, call->attempts,
                     call->attempts == 1 ? "" : "s", why);
        w->stats.actions_failed++;
        call_done(call, "failed", status, why);
    }
    ks_http_start_ready(w, false);
}

/* Starts the next attempt, once rateLimit allows it. */
static void
start(ks_http_call_t *call)
{
    ks_worker_t *w = call->w;
    int64_t      now = ks_monotonic_us() / 1000, *next = &w->rate_next[call->slot];
    char         err[512];

    call->state = CALL_RUNNING;
    if (call->trig->rate_unit_ms > 0) {
        if (now < *next) {
            ev_timer_set(&call->timer, (double)(*next - now) / 1000., 0.);
            ev_timer_start(w->loop, &call->timer);
            return;
        }
        *next = now + call->trig->rate_unit_ms / (call->trig->rate_requests > 0 ? call->trig->rate_requests : 1);
    }
    call->attempts++;
    call->started_us = ks_monotonic_us();
    if ((call->inflight = ks_httpc_call(w->httpc, &call->req, on_response, call, err, sizeof(err))) == NULL)
        on_response(call, 0, err);
}

void
ks_http_start_ready(ks_worker_t *w, bool committed)
{
    ks_http_call_t **pp, *call;

    if (committed) {
        for (call = w->http_ready; call != NULL; call = call->next_ready)
            call->committed = true;
        w->http_uncommitted = 0;
    }
    /* the list is newest first: start the oldest committed ones first */
    while (ks_httpc_inflight(w->httpc) < MAX_INFLIGHT) {
        ks_http_call_t **oldest = NULL;

        for (pp = &w->http_ready; *pp != NULL; pp = &(*pp)->next_ready) {
            if ((*pp)->committed)
                oldest = pp;
        }
        if (oldest == NULL)
            break;
        call = *oldest;
        *oldest = call->next_ready;
        call->next_ready = NULL;
        ks_crash_point("after-http-ledger");
        start(call);
    }
}

int
ks_http_action(ks_action_task_t *task, const ks_firing_t *f, const rd_kafka_message_t *msg, const char *status,
               int attempts)
{
    ks_worker_t        *w = f->w;
    const ks_trigger_t *trig = f->trig;
    ks_http_part_t     *part = part_of(task);
    ks_http_call_t     *call;
    const void         *dep = NULL;
    size_t              dlen = 0;
    rd_kafka_headers_t *hdrs = NULL;
    char                err[512] = "", name[256] = "";
    const char         *eid;
    bool                busy = false;

    for (call = part->head; call != NULL; call = call->next) {
        if (strcmp(call->id, f->id) == 0)
            return 0;           /* read again after a rewind: its call is already under way */
        busy |= call->slot == f->slot;
    }
    if (status != NULL && strcmp(status, "attempting") != 0) {
        w->stats.actions_skipped++;
        return 0;               /* over, on this host */
    }
    if (status != NULL && !trig->at_least_once) {
        /* at most once: the call may have been made before the process stopped */
        ks_log_warning("firing %s: its http call was started before a stop; recorded as unknown, not repeated", f->id);
        w->stats.actions_failed++;
        return ks_ledger_write(task, f->id, trig, "unknown", attempts, 0,
                               "the process stopped during the call; not repeated (atLeastOnce is false)");
    }
    call = ks_calloc(1, sizeof(*call));
    *call = (ks_http_call_t){ .w = w, .task = task, .state = CALL_WAITING, .trig = trig, .origin = trig,
                              .events = json_incref((json_t *)f->events), .slot = f->slot, .id = ks_strdup(f->id),
                              .offset = msg->offset, .attempts = attempts,
                              .next_delay_s = (double)trig->retry.duration_ms / 1000. };
    ev_init(&call->timer, on_timer);
    call->timer.data = call;
    if (rd_kafka_message_headers(msg, &hdrs) == 0 && rd_kafka_header_get_last(hdrs, KS_DEP_HEADER, &dep, &dlen) == 0) {
        snprintf(name, sizeof(name), "%.*s", (int)dlen, (const char *)dep);
        eid = json_string_value(json_object_get(json_object_get(f->events, name), "id"));
        call->completing = eid != NULL ? ks_strdup(eid) : NULL;
    }
    if (build_request(call, f, call->completing, err, sizeof(err)) != 0) {
        ks_log_error("firing %s: %s", f->id, err);
        w->stats.actions_failed++;
        request_clear(call);
        json_decref(call->events);
        free(call->completing);
        free(call->id);
        free(call);
        return ks_ledger_write(task, f->id, trig, "failed", attempts, 0, err);
    }
    /* the task's list stays in offset order: records arrive in order */
    {
        ks_http_call_t **pp = &part->head;

        while (*pp != NULL)
            pp = &(*pp)->next;
        *pp = call;
        part->n++;
    }
    if (!busy && make_ready(call) != 0)
        return -1;
    return 0;
}

int
ks_http_settle(ks_action_task_t *task, int64_t offset)
{
    ks_http_part_t *part = *ks_action_task_http(task);

    if (part == NULL || part->head == NULL) {
        if (part != NULL)
            part->processed_next = offset + 1;
        return 0;
    }
    part->processed_next = offset + 1;
    settle(task);
    return KS_STAGE_HELD;
}

void
ks_http_abort(ks_action_task_t *task)
{
    ks_http_part_t *part = *ks_action_task_http(task);
    ks_http_call_t *call, *next;

    if (part == NULL)
        return;
    /* what the aborted batch set up is undone: its records are read again (calls whose rows had
     * committed go on, and their records, read again, are recognised) */
    for (call = part->head; call != NULL; call = next) {
        next = call->next;
        if (call->state == CALL_WAITING || (call->state == CALL_READY && !call->committed))
            call_drop(call);
    }
    part->processed_next = 0;
}

void
ks_http_abandon(ks_action_task_t *task)
{
    ks_http_part_t **pp = ks_action_task_http(task);

    if (*pp == NULL)
        return;
    while ((*pp)->head != NULL)
        call_drop((*pp)->head);
    free(*pp);
    *pp = NULL;
}
