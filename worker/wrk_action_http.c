/* wrk_action_http.c — the http executor: a firing's HTTP call on the worker's loop, and the ledger
 * and offset order that Argo's atLeastOnce flag asks for (DESIGN.md §2.3).
 *
 * A call outlives the batch it was read in, so the action partition waits for it: the batch before
 * the firing commits, the ledger row "attempting" is committed on its own, and the call starts;
 * records of the partition read meanwhile queue behind it (fetching pauses when many wait). When it
 * is over — its response, or retryStrategy exhausted — the outcome is committed to the ledger, the
 * firing's offset joins the open batch and the queued records go through the stage in order. So firings of one trigger
 * (one partition) are called in order, partitions proceed in parallel, and in-flight calls are at
 * most one per assigned action partition.
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
 * <secretsDir>/<name>/<key>, Argo's mount layout. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ks_log.h"
#include "ks_mem.h"
#include "wrk.h"
#include "wrk_crash.h"

#define DEFAULT_TIMEOUT_S 60
#define MAX_HEADERS       64

struct ks_http_call {
    ks_worker_t        *w;
    ks_action_task_t   *task;
    const ks_trigger_t *trig;           /* the firing's trigger, or its dlqTrigger once that runs */
    const ks_trigger_t *origin;         /* the firing's trigger: the ledger row's */
    json_t             *events;
    char               *dlq_outcome;    /* what the dlqTrigger did, for the ledger */
    size_t              slot;
    char               *id;
    char               *topic;
    int32_t             partition;
    int64_t             offset;
    int                 attempts;       /* made so far, this one included once started */
    double              next_delay_s;   /* retryStrategy: the base of the next back-off */
    ev_timer            timer;          /* a retry's back-off, or rateLimit's wait */
    ks_httpc_call_t    *inflight;
    ks_httpc_request_t  req;
    char               *headers[MAX_HEADERS + 1];
    size_t              nheaders;
    char               *strings[8];     /* what req points to, freed with the call */
    size_t              nstrings;
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
    if (call->nheaders < MAX_HEADERS)
        call->headers[call->nheaders++] = header;
    else
        free(header);
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
    memset(&call->req, 0, sizeof(call->req));
}

static void
call_free(ks_http_call_t *call)
{
    request_clear(call);
    json_decref(call->events);
    free(call->dlq_outcome);
    free(call->id);
    free(call->topic);
    free(call);
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

/* The call is over: the firing's offset joins the batch and its partition goes on. */
static void
finish(ks_http_call_t *call)
{
    ks_action_task_t *task = call->task;

    *ks_action_task_http(task) = NULL;
    ks_worker_release(call->w, call->topic, call->partition, call->offset + 1);
    call_free(call);
    ks_action_task_replay(task);
}

static void start(ks_http_call_t *call);
static int  build_request(ks_http_call_t *call, const ks_firing_t *f, const char *completing, char *err, size_t errlen);

static void
on_timer(struct ev_loop *loop, ev_timer *timer, int revents)
{
    (void)loop;
    (void)revents;
    start(timer->data);
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

/* The dlqTrigger is over: the firing is recorded as failed, with what its dlqTrigger did. */
static void
dlq_done(ks_http_call_t *call, bool ok, long status, const char *why)
{
    char *error = ks_asprintf("%s; dlqTrigger %s: %s%s%s", call->dlq_outcome, call->trig->name,
                              ok ? "done" : "failed", why ? ": " : "", why ? why : "");

    ks_log_warning("firing %s: %s", call->id, error);
    if (ks_ledger_write_now(call->task, call->id, call->origin, "failed", call->attempts, status, error) != 0)
        exit(3);
    free(error);
    call->w->stats.actions_failed++;
    finish(call);
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
        ks_worker_release(call->w, call->topic, call->partition, call->offset + 1);   /* opens the batch */
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
on_done(void *ctx, long status, const char *error)
{
    ks_http_call_t     *call = ctx;
    const ks_trigger_t *trig = call->trig;
    ks_worker_t        *w = call->w;
    char                why[512];

    call->inflight = NULL;
    if (allowed(trig, status)) {
        ks_crash_point("after-http-response");
        if (call->dlq_outcome != NULL) {
            dlq_done(call, true, status, NULL);
            return;
        }
        if (ks_ledger_write_now(call->task, call->id, trig, "done", call->attempts, status, NULL) != 0)
            exit(3);            /* the ledger is this host's memory of the call: without it, stop */
        w->stats.actions_ok++;
        finish(call);
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
        if (ks_ledger_write_now(call->task, call->id, call->origin, "attempting", call->attempts, status, why) != 0)
            exit(3);
        ev_timer_set(&call->timer, delay, 0.);
        ev_timer_start(w->loop, &call->timer);
        return;
    }
    if (call->dlq_outcome != NULL) {
        dlq_done(call, false, status, why);
        return;
    }
    ks_log_error("firing %s: http call failed after %d attempt%s: %s", call->id, call->attempts,
                 call->attempts == 1 ? "" : "s", why);
    if (trig->dlq != NULL) {
        run_dlq(call, status, why);
        return;
    }
    if (ks_ledger_write_now(call->task, call->id, trig, "failed", call->attempts, status, why) != 0)
        exit(3);
    w->stats.actions_failed++;
    finish(call);
}

/* Starts the next attempt, once rateLimit allows it. */
static void
start(ks_http_call_t *call)
{
    ks_worker_t *w = call->w;
    int64_t      now = ks_monotonic_us() / 1000, *next = &w->rate_next[call->slot];
    char         err[512];

    if (call->trig->rate_unit_ms > 0) {
        if (now < *next) {
            ev_timer_set(&call->timer, (double)(*next - now) / 1000., 0.);
            ev_timer_start(w->loop, &call->timer);
            return;
        }
        *next = now + call->trig->rate_unit_ms / (call->trig->rate_requests > 0 ? call->trig->rate_requests : 1);
    }
    call->attempts++;
    if ((call->inflight = ks_httpc_call(w->httpc, &call->req, on_done, call, err, sizeof(err))) == NULL)
        on_done(call, 0, err);
}

int
ks_http_action_start(ks_action_task_t *task, const ks_firing_t *f, const rd_kafka_message_t *msg, bool attempting,
                     int attempts)
{
    ks_worker_t        *w = f->w;
    const ks_trigger_t *trig = f->trig;
    ks_http_call_t     *call;
    const void         *dep = NULL;
    size_t              dlen = 0;
    rd_kafka_headers_t *hdrs = NULL;
    char                err[512] = "", completing[256] = "";
    const char         *eid;

    if (attempting && !trig->at_least_once) {
        /* at most once: the call may have been made before the process stopped */
        ks_log_warning("firing %s: its http call was started before a stop; recorded as unknown, not repeated", f->id);
        w->stats.actions_failed++;
        return ks_ledger_write(task, f->id, trig, "unknown", attempts, 0,
                               "the process stopped during the call; not repeated (atLeastOnce is false)");
    }
    /* everything read before this firing commits, so that the ledger can be written durably now */
    if (ks_worker_commit_now(w) != 0)
        return KS_STAGE_HELD;   /* the batch aborted: the consumer was rewound and reads this again */

    call = ks_calloc(1, sizeof(*call));
    *call = (ks_http_call_t){ .w = w, .task = task, .trig = trig, .origin = trig, .slot = f->slot,
                              .id = ks_strdup(f->id), .events = json_incref((json_t *)f->events),
                              .topic = ks_strdup(ks_action_task_topic(task)),
                              .partition = ks_action_task_partition(task), .offset = msg->offset,
                              .attempts = attempts, .next_delay_s = (double)trig->retry.duration_ms / 1000. };
    ev_init(&call->timer, on_timer);
    call->timer.data = call;
    if (rd_kafka_message_headers(msg, &hdrs) == 0 && rd_kafka_header_get_last(hdrs, KS_DEP_HEADER, &dep, &dlen) == 0) {
        snprintf(completing, sizeof(completing), "%.*s", (int)dlen, (const char *)dep);
        eid = json_string_value(json_object_get(json_object_get(f->events, completing), "id"));
        snprintf(completing, sizeof(completing), "%s", eid != NULL ? eid : "");
    }
    if (build_request(call, f, completing[0] ? completing : NULL, err, sizeof(err)) != 0) {
        ks_log_error("firing %s: %s", f->id, err);
        w->stats.actions_failed++;
        call_free(call);
        return ks_ledger_write(task, f->id, trig, "failed", attempts, 0, err);
    }
    ks_crash_point("before-http-ledger");
    if (ks_ledger_write_now(task, f->id, trig, "attempting", attempts + 1, 0, NULL) != 0) {
        call_free(call);
        return -1;
    }
    ks_crash_point("after-http-ledger");
    *ks_action_task_http(task) = call;
    start(call);
    return KS_STAGE_HELD;
}

void
ks_http_action_abandon(ks_action_task_t *task)
{
    ks_http_call_t *call = *ks_action_task_http(task);

    if (call == NULL)
        return;
    if (call->inflight != NULL)
        ks_httpc_cancel(call->inflight);
    ev_timer_stop(call->w->loop, &call->timer);
    *ks_action_task_http(task) = NULL;
    call_free(call);
}
