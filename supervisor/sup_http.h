/* sup_http.h — the supervisor's small HTTP/1.1 server for /healthz, /readyz and /metrics.
 *
 * One request per connection (GET or HEAD, answered with "Connection: close"), everything on the
 * supervisor's libev loop and nothing that blocks: the supervisor stays single-threaded because it
 * forks workers. The socket is bound by ks_http_listen() before privileges are dropped; the server
 * starts serving with ks_http_start(). What each path answers is the caller's handler. */
#ifndef SUP_HTTP_H
#define SUP_HTTP_H

#include <stddef.h>

#include <ev.h>

typedef struct ks_http ks_http_t;

/* Fills the response for a GET or HEAD of path (the request-target without its query); returns the
 * HTTP status (200, 503, 404…). *body is malloc'd by the handler or left NULL (the server frees it),
 * *len its length, *type a static content type (text/plain when left alone). */
typedef int (*ks_http_handler_t)(void *ctx, const char *path, char **body, size_t *len,
                                 const char **type);

#define KS_HTTP_TIMEOUT 5.0             /* seconds a connection may take, request and response */

/* Binds and listens on "host:port": "127.0.0.1:9464", "0.0.0.0:9464", "[::1]:9464", "localhost:9464";
 * port 0 picks a free port. The socket is close-on-exec and nonblocking. Returns NULL and a message
 * in err on failure. */
ks_http_t *ks_http_listen(const char *hostport, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The bound port (the one chosen when "…:0" was asked for). */
int ks_http_port(const ks_http_t *http);

/* How long a connection accepted from now on may live before it is closed (KS_HTTP_TIMEOUT unless
 * changed); the tests shorten it. */
void ks_http_set_timeout(ks_http_t *http, double seconds);

/* Starts accepting on loop; handler answers each well-formed GET or HEAD. */
void ks_http_start(ks_http_t *http, struct ev_loop *loop, ks_http_handler_t handler, void *ctx);

/* Stops the watchers and closes every open connection; the listening socket stays bound. */
void ks_http_stop(ks_http_t *http);

/* In a forked child: closes the listening and connection sockets so they do not live on in a worker.
 * Touches neither the loop nor any watcher, and forgets the loop: a later ks_http_free() only
 * releases memory, so it is safe even after the child has destroyed its copy of the loop. */
void ks_http_close_after_fork(ks_http_t *http);

/* Stops (when started), closes and frees; NULL is allowed. */
void ks_http_free(ks_http_t *http);

#endif
