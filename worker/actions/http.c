/* http.c — the http executor: a firing's HTTP request (method, url, payload, headers, dynamicHeaders,
 * secureHeaders, basicAuth, TLS, timeout) and one attempt at a time through the worker's HTTP client
 * (httpc.h). Every request carries Idempotency-Key: <firing id> (identical on every replay and host)
 * and Ce-Id: the id of the event that completed the firing. Without policy.status.allow any response
 * counts as success, as in Argo; no response (refused, timed out) is a failure. Secrets (secureHeaders,
 * basicAuth, TLS files) are read from <secretsDir>/<name>/<key>, Argo's mount layout. Ordering,
 * retries, the dlqTrigger, rateLimit and the ledger are the pipeline's (pipeline/calls.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions/actions.h"
#include "actions/httpc.h"
#include "core/log.h"
#include "core/mem.h"
#include "sensor/firing.h"

#define DEFAULT_TIMEOUT_S 60
#define MAX_HEADERS       64

typedef struct http_state {
    const ks_config_t *cfg;
    ks_httpc_t        *httpc;
} http_state_t;

/* What a firing sends, built once for all its attempts. */
typedef struct http_request {
    const ks_trigger_t *trig;
    ks_httpc_request_t  req;
    char               *headers[MAX_HEADERS + 1];
    size_t              nheaders;
    char               *strings[8];     /* what req points to, freed with the request */
    size_t              nstrings;
    ks_attempt_done_t   done;           /* the attempt in flight's */
    void               *ctx;
} http_request_t;

static char *
keep(http_request_t *call, char *s)
{
    if (s != NULL && call->nstrings < sizeof(call->strings) / sizeof(call->strings[0]))
        call->strings[call->nstrings++] = s;
    return s;
}

static void
add_header(http_request_t *call, char *header)
{
    if (call->nheaders < MAX_HEADERS) {
        call->headers[call->nheaders++] = header;
        call->headers[call->nheaders] = NULL;
    } else {
        free(header);
    }
}

/* Frees what the request holds. */
static void
request_clear(http_request_t *call)
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
secret_path(const ks_config_t *cfg, const json_t *selector)
{
    const char *name = json_string_value(json_object_get(selector, "name"));
    const char *key = json_string_value(json_object_get(selector, "key"));

    return name && key ? ks_asprintf("%s/%s/%s", cfg->secrets_dir, name, key) : NULL;
}

static char *
secret_value(const ks_config_t *cfg, const json_t *selector, char *err, size_t errlen)
{
    char *path = secret_path(cfg, selector), line[4096];
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
build_request(http_request_t *call, const ks_config_t *cfg, const ks_firing_t *f, char *err, size_t errlen)
{
    ks_prepared_t *p = ks_calloc(1, sizeof(*p));
    const json_t  *http, *v, *tls, *auth;
    const char    *name, *method;
    json_t        *value;
    size_t         i;
    int            rc = -1;

    if (ks_firing_prepare(f->trig, f->events, "http", p, err, errlen) != 0)
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
    if (f->completing != NULL)
        add_header(call, ks_asprintf("Ce-Id: %s", f->completing));
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
        char         *secret = secret_value(cfg, ref, err, errlen);

        if (secret == NULL)
            goto done;
        add_header(call, ks_asprintf("%s: %s", json_string_value(json_object_get(value, "name")), secret));
        free(secret);
    }
    if ((auth = json_object_get(http, "basicAuth")) != NULL) {
        call->req.user = keep(call, secret_value(cfg, json_object_get(auth, "username"), err, errlen));
        call->req.password = keep(call, secret_value(cfg, json_object_get(auth, "password"), err, errlen));
        if (call->req.user == NULL || call->req.password == NULL)
            goto done;
    }
    if ((tls = json_object_get(http, "tls")) != NULL) {
        call->req.ca_file = keep(call, secret_path(cfg, json_object_get(tls, "caCertSecret")));
        call->req.cert_file = keep(call, secret_path(cfg, json_object_get(tls, "clientCertSecret")));
        call->req.key_file = keep(call, secret_path(cfg, json_object_get(tls, "clientKeySecret")));
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

static void *
http_open(const ks_exec_env_t *env)
{
    http_state_t *s = ks_calloc(1, sizeof(*s));

    s->cfg = env->cfg;
    s->httpc = ks_httpc_new(env->loop);
    return s;
}

static void
http_close(void *state)
{
    http_state_t *s = state;

    ks_httpc_free(s->httpc);
    free(s);
}

static void
http_release(void *request)
{
    request_clear(request);
    free(request);
}

static void *
http_prepare(void *state, const ks_firing_t *f, char *err, size_t errlen)
{
    http_state_t   *s = state;
    http_request_t *r = ks_calloc(1, sizeof(*r));

    r->trig = f->trig;
    if (build_request(r, s->cfg, f, err, errlen) != 0) {
        http_release(r);
        return NULL;
    }
    return r;
}

static void
on_response(void *ctx, const ks_httpc_response_t *resp)
{
    http_request_t *r = ctx;
    long            status = resp->status;
    const char     *error = resp->error;
    char            why[512];

    if (allowed(r->trig, status)) {
        r->done(r->ctx, true, status, NULL);
        return;
    }
    if (status != 0)
        snprintf(why, sizeof(why), "HTTP status %ld is not in policy.status.allow", status);
    else
        snprintf(why, sizeof(why), "%s", error != NULL ? error : "no response");
    r->done(r->ctx, false, status, why);
}

static void *
http_attempt(void *state, void *request, ks_attempt_done_t done, void *ctx, char *err, size_t errlen)
{
    http_state_t   *s = state;
    http_request_t *r = request;

    r->done = done;
    r->ctx = ctx;
    return ks_httpc_call(s->httpc, &r->req, on_response, r, err, errlen);
}

static void
http_cancel(void *attempt)
{
    ks_httpc_cancel(attempt);
}

const ks_executor_t ks_exec_http = {
    .kind = "http",
    .open = http_open,
    .close = http_close,
    .prepare = http_prepare,
    .release = http_release,
    .attempt = http_attempt,
    .cancel = http_cancel,
};
