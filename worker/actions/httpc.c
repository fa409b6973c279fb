/* httpc.c — libcurl's multi-socket API driven by libev (see httpc.h).
 *
 * libcurl says which sockets to watch (CURLMOPT_SOCKETFUNCTION: one ev_io each) and when to call it
 * back (CURLMOPT_TIMERFUNCTION: one ev_timer); the watchers hand the events to
 * curl_multi_socket_action(), and finished transfers are collected with curl_multi_info_read(). */
#include "actions/httpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "core/mem.h"

typedef struct ks_httpc_call call_t;

struct ks_httpc {
    struct ev_loop *loop;
    CURLM          *multi;
    ev_timer        timer;
    size_t          inflight;
    call_t         *calls;              /* in flight, doubly linked */
};

struct ks_httpc_call {
    ks_httpc_t         *c;
    call_t             *prev, *next;
    CURL               *easy;
    struct curl_slist  *headers;
    ks_httpc_done_t     done;
    void               *ctx;
    char               *body;               /* the response, up to keep bytes */
    size_t              len, keep;
    char                error[CURL_ERROR_SIZE];
};

typedef struct sock {
    ev_io       io;
    ks_httpc_t *c;
} sock_t;

static void
call_free(call_t *call)
{
    if (call->prev != NULL)
        call->prev->next = call->next;
    else
        call->c->calls = call->next;
    if (call->next != NULL)
        call->next->prev = call->prev;
    call->c->inflight--;
    curl_multi_remove_handle(call->c->multi, call->easy);
    curl_easy_cleanup(call->easy);
    curl_slist_free_all(call->headers);
    free(call->body);
    free(call);
}

/* Every transfer libcurl has finished: its callback, then its resources. */
static void
collect(ks_httpc_t *c)
{
    CURLMsg *m;
    int      left;

    while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
        call_t             *call = NULL;
        ks_httpc_response_t resp = { 0, NULL, "", 0, -1 };
        curl_off_t          retry_after = -1;

        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&call);
        if (m->data.result == CURLE_OK) {
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &resp.status);
            if (curl_easy_getinfo(m->easy_handle, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0)
                resp.retry_after_s = (long)retry_after;
            if (call->body != NULL) {
                resp.body = call->body;
                resp.len = call->len;
            }
        } else if (call->error[0] == '\0') {
            snprintf(call->error, sizeof(call->error), "%s", curl_easy_strerror(m->data.result));
        }
        resp.error = resp.status != 0 ? NULL : call->error;
        call->done(call->ctx, &resp);
        call_free(call);
    }
}

static void
on_socket_event(struct ev_loop *loop, ev_io *io, int revents)
{
    ks_httpc_t *c = ((sock_t *)io)->c;      /* the action may free the watcher */
    int         running;

    (void)loop;
    curl_multi_socket_action(c->multi, io->fd,
                             ((revents & EV_READ) ? CURL_CSELECT_IN : 0) | ((revents & EV_WRITE) ? CURL_CSELECT_OUT : 0),
                             &running);
    collect(c);
}

static void
on_timer(struct ev_loop *loop, ev_timer *timer, int revents)
{
    ks_httpc_t *c = timer->data;
    int         running;

    (void)loop;
    (void)revents;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    collect(c);
}

static int
on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    ks_httpc_t *c = userp;
    sock_t     *s = socketp;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) {
            ev_io_stop(c->loop, &s->io);
            free(s);
        }
        return 0;
    }
    if (s == NULL) {
        s = ks_calloc(1, sizeof(*s));
        s->c = c;
        curl_multi_assign(c->multi, fd, s);
    } else {
        ev_io_stop(c->loop, &s->io);
    }
    ev_io_init(&s->io, on_socket_event, fd, (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0));
    ev_io_start(c->loop, &s->io);
    return 0;
}

static int
on_timer_change(CURLM *multi, long timeout_ms, void *userp)
{
    ks_httpc_t *c = userp;

    (void)multi;
    ev_timer_stop(c->loop, &c->timer);
    if (timeout_ms >= 0) {
        ev_timer_set(&c->timer, (double)timeout_ms / 1000., 0.);
        ev_timer_start(c->loop, &c->timer);
    }
    return 0;
}

/* The response body: kept up to the request's bound (a larger one fails the transfer), or dropped. */
static size_t
on_body(char *ptr, size_t size, size_t n, void *userp)
{
    call_t *call = userp;
    size_t  len = size * n;

    if (call->keep == 0)
        return len;
    if (call->len + len > call->keep) {
        snprintf(call->error, sizeof(call->error), "response larger than %zu bytes", call->keep);
        return 0;
    }
    call->body = ks_realloc(call->body, call->len + len + 1);
    memcpy(call->body + call->len, ptr, len);
    call->len += len;
    call->body[call->len] = '\0';
    return len;
}

static void
set_blob(CURL *e, CURLoption option, const char *pem)
{
    struct curl_blob blob = { (void *)pem, strlen(pem), CURL_BLOB_COPY };

    curl_easy_setopt(e, option, &blob);
}

ks_httpc_t *
ks_httpc_new(struct ev_loop *loop)
{
    ks_httpc_t *c = ks_calloc(1, sizeof(*c));

    c->loop = loop;
    c->multi = curl_multi_init();
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer_change);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    ev_init(&c->timer, on_timer);
    c->timer.data = c;
    return c;
}

ks_httpc_call_t *
ks_httpc_call(ks_httpc_t *c, const ks_httpc_request_t *req, ks_httpc_done_t done, void *ctx, char *err,
              size_t errlen)
{
    call_t *call = ks_calloc(1, sizeof(*call));
    CURL   *e = curl_easy_init();

    if (e == NULL) {
        snprintf(err, errlen, "curl_easy_init failed");
        free(call);
        return NULL;
    }
    call->c = c;
    call->easy = e;
    call->done = done;
    call->ctx = ctx;
    for (const char *const *h = req->headers; h != NULL && *h != NULL; h++)
        call->headers = curl_slist_append(call->headers, *h);
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, call);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, call->error);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->headers);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, req->timeout_ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, call);
    call->keep = req->keep_body;
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (strcmp(req->method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)req->len);
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body != NULL ? req->body : "");
        if (strcmp(req->method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
    }
    if (req->ca_file != NULL)
        curl_easy_setopt(e, CURLOPT_CAINFO, req->ca_file);
    if (req->cert_file != NULL) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, req->cert_file);
        curl_easy_setopt(e, CURLOPT_SSLKEY, req->key_file);
    }
    if (req->ca_pem != NULL)
        set_blob(e, CURLOPT_CAINFO_BLOB, req->ca_pem);
    if (req->cert_pem != NULL) {
        set_blob(e, CURLOPT_SSLCERT_BLOB, req->cert_pem);
        set_blob(e, CURLOPT_SSLKEY_BLOB, req->key_pem != NULL ? req->key_pem : "");
    }
    if (req->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (req->user != NULL) {
        curl_easy_setopt(e, CURLOPT_USERNAME, req->user);
        curl_easy_setopt(e, CURLOPT_PASSWORD, req->password != NULL ? req->password : "");
    }
    if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
        snprintf(err, errlen, "curl_multi_add_handle failed");
        curl_easy_cleanup(e);
        curl_slist_free_all(call->headers);
        free(call);
        return NULL;
    }
    call->next = c->calls;
    if (c->calls != NULL)
        c->calls->prev = call;
    c->calls = call;
    c->inflight++;
    return call;
}

void
ks_httpc_cancel(ks_httpc_call_t *call)
{
    call_free(call);
}

size_t
ks_httpc_inflight(const ks_httpc_t *c)
{
    return c->inflight;
}

void
ks_httpc_free(ks_httpc_t *c)
{
    if (c == NULL)
        return;
    while (c->calls != NULL)
        call_free(c->calls);
    ev_timer_stop(c->loop, &c->timer);
    curl_multi_cleanup(c->multi);
    free(c);
}
