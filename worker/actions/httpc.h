/* httpc.h — HTTP requests on the worker's libev loop: libcurl's multi-socket API, no thread and
 * no blocking call. Connections are kept alive and reused between requests to the same host.
 *
 * A request is started with ks_httpc_call() and ends once, through its done callback, called from
 * the loop: with the response status, or with status 0 and a sentence when there was no response
 * (refused, reset, timed out, TLS failure). The response body is kept up to the request's bound
 * (and dropped without one); a Retry-After given in seconds is reported. */
#ifndef KS_ACTIONS_HTTPC_H
#define KS_ACTIONS_HTTPC_H

#include <stddef.h>

#include <ev.h>

typedef struct ks_httpc      ks_httpc_t;
typedef struct ks_httpc_call ks_httpc_call_t;

typedef struct ks_httpc_request {
    const char         *url;
    const char         *method;         /* GET, DELETE, PATCH, POST or PUT */
    const char *const  *headers;        /* "Name: value", NULL-terminated */
    const char         *body;
    size_t              len;
    long                timeout_ms;     /* the whole exchange */
    const char         *ca_file;        /* NULL: the system's CAs */
    const char         *cert_file;      /* client certificate and key, or NULL */
    const char         *key_file;
    const char         *ca_pem;         /* PEM text instead of the files (kubeconfig's *-data), or NULL */
    const char         *cert_pem;
    const char         *key_pem;
    int                 insecure;       /* skip verification of the server's certificate */
    const char         *user;           /* basic authentication, or NULL */
    const char         *password;
    size_t              keep_body;      /* bytes of the response body kept (0: none); more is an error */
} ks_httpc_request_t;

/* How a request ended; valid during the done callback only. */
typedef struct ks_httpc_response {
    long        status;                 /* 0: no response, see error */
    const char *error;
    const char *body;                   /* NUL-terminated; "" when not kept */
    size_t      len;
    long        retry_after_s;          /* Retry-After in seconds, or -1 */
} ks_httpc_response_t;

typedef void (*ks_httpc_done_t)(void *ctx, const ks_httpc_response_t *resp);

ks_httpc_t *ks_httpc_new(struct ev_loop *loop);

/* Starts a request; everything in req is copied. Returns the call, or NULL with a sentence in err
 * when it could not even start (done is then never called). */
ks_httpc_call_t *ks_httpc_call(ks_httpc_t *c, const ks_httpc_request_t *req, ks_httpc_done_t done, void *ctx,
                               char *err, size_t errlen) __attribute__((warn_unused_result));

/* Abandons a call in flight: its done callback is not called. */
void ks_httpc_cancel(ks_httpc_call_t *call);

/* Requests started and not yet done. */
size_t ks_httpc_inflight(const ks_httpc_t *c);

/* Abandons every request in flight (their done callbacks are not called) and frees the client. */
void ks_httpc_free(ks_httpc_t *c);

#endif
