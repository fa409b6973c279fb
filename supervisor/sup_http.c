/* sup_http.c — a minimal nonblocking HTTP/1.1 server on libev (see sup_http.h).
 *
 * A connection goes through three states. It reads the request head, up to HTTP_MAX_HEAD bytes,
 * until the blank line. It writes the response; an EV_WRITE watcher carries partial writes. Then it
 * lingers: the write side is shut down and whatever the client still sends (a request body, the
 * rest of an oversized header) is read and dropped until the client closes. Closing a socket with
 * unread input sends a reset, and a reset can destroy a response still in flight. One timer bounds
 * the whole life of a connection, so a client that stalls in any state is closed. */
#include "sup_http.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/diag.h"
#include "core/log.h"
#include "core/mem.h"

#define HTTP_MAX_CONNS 64       /* beyond this, a new connection is accepted and closed at once */
#define HTTP_MAX_HEAD  8192     /* request line and headers; longer is answered with 431 */
#define HTTP_BACKLOG   128

typedef enum { CONN_READ, CONN_WRITE, CONN_LINGER } conn_state_t;

typedef struct http_conn {
    ks_http_t    *http;
    int           fd;
    int           index;                /* in http->conns */
    conn_state_t  state;
    ev_io         io;
    ev_timer      timer;
    char         *out;                  /* the whole response */
    size_t        out_len, out_off;
    size_t        head_len;
    char          head[HTTP_MAX_HEAD];
} http_conn_t;

struct ks_http {
    int                fd;
    int                port;
    double             timeout;
    struct ev_loop    *loop;            /* NULL when not started */
    ev_io              accept_io;
    ev_timer           accept_retry;    /* accepting paused after an error such as EMFILE */
    ks_http_handler_t  handler;
    void              *ctx;
    http_conn_t       *conns[HTTP_MAX_CONNS];
};

/* Splits "host:port" or "[v6]:port" into host and port; returns 0 or -1 with a message. */
static int
http_split(const char *hostport, char *host, size_t hostlen, char *port, size_t portlen,
           char *err, size_t errlen)
{
    const char *h = hostport, *end, *p;
    size_t      n;

    if (hostport[0] == '[') {
        h = hostport + 1;
        end = strchr(h, ']');
        p = end != NULL && end[1] == ':' ? end + 2 : NULL;
    } else {
        end = strrchr(hostport, ':');
        p = end != NULL && memchr(hostport, ':', (size_t)(end - hostport)) == NULL ? end + 1 : NULL;
    }
    if (p == NULL || end == h || (size_t)(end - h) >= hostlen) {
        ks_errf(err, errlen, "listen address \"%s\": expected host:port or [IPv6]:port", hostport);
        return -1;
    }
    n = strspn(p, "0123456789");
    if (n == 0 || n > 5 || p[n] != '\0' || atoi(p) > 65535 || n >= portlen) {
        ks_errf(err, errlen, "listen address \"%s\": the port must be a number from 0 to 65535",
                 hostport);
        return -1;
    }
    memcpy(host, h, (size_t)(end - h));
    host[end - h] = '\0';
    memcpy(port, p, n + 1);
    if (strcmp(host, "localhost") == 0)
        snprintf(host, hostlen, "127.0.0.1");
    return 0;
}

ks_http_t *
ks_http_listen(const char *hostport, char *err, size_t errlen)
{
    struct addrinfo         hints = { 0 }, *ai;
    struct sockaddr_storage ss;
    socklen_t               sslen = sizeof(ss);
    char                    host[128], port[8];
    int                     fd, rc, on = 1;
    ks_http_t              *http;

    if (http_split(hostport, host, sizeof(host), port, sizeof(port), err, errlen) < 0)
        return NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;     /* never a DNS query */
    rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        ks_errf(err, errlen, "listen address \"%s\": %s is not an IP address (%s)", hostport, host,
                 gai_strerror(rc));
        return NULL;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        ks_errf(err, errlen, "socket() for %s failed: %s", hostport, strerror(errno));
        freeaddrinfo(ai);
        return NULL;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0
        || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, HTTP_BACKLOG) < 0
        || getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0) {
        ks_errf(err, errlen, "bind() or listen() on %s failed: %s", hostport, strerror(errno));
        freeaddrinfo(ai);
        close(fd);
        return NULL;
    }
    freeaddrinfo(ai);

    http = ks_calloc(1, sizeof(*http));
    http->fd = fd;
    http->timeout = KS_HTTP_TIMEOUT;
    http->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                : ((struct sockaddr_in *)&ss)->sin_port);
    return http;
}

int
ks_http_port(const ks_http_t *http)
{
    return http->port;
}

void
ks_http_set_timeout(ks_http_t *http, double seconds)
{
    http->timeout = seconds;
}

static void
conn_close(http_conn_t *conn)
{
    ks_http_t *http = conn->http;

    ev_io_stop(http->loop, &conn->io);
    ev_timer_stop(http->loop, &conn->timer);
    if (conn->fd >= 0)
        close(conn->fd);
    http->conns[conn->index] = NULL;
    free(conn->out);
    free(conn);
}

static void
conn_watch(http_conn_t *conn, conn_state_t state, int events)
{
    conn->state = state;
    ev_io_stop(conn->http->loop, &conn->io);
    ev_io_set(&conn->io, conn->fd, events);
    ev_io_start(conn->http->loop, &conn->io);
}

/* Reads and drops what the client still sends after the response, until it closes. */
static void
conn_linger(http_conn_t *conn)
{
    ssize_t n = recv(conn->fd, conn->head, sizeof(conn->head), 0);

    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        conn_close(conn);
}

static void
conn_write(http_conn_t *conn)
{
    while (conn->out_off < conn->out_len) {
        ssize_t n = send(conn->fd, conn->out + conn->out_off, conn->out_len - conn->out_off,
                         MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;             /* the EV_WRITE watcher calls again */
        if (n < 0) {
            conn_close(conn);
            return;
        }
        conn->out_off += (size_t)n;
    }
    if (shutdown(conn->fd, SHUT_WR) < 0) {
        conn_close(conn);
        return;
    }
    conn_watch(conn, CONN_LINGER, EV_READ);
}

static const char *
http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default:  return "Unknown";
    }
}

/* Queues the response (body is taken over, and left out for HEAD) and starts writing it. */
static void
conn_respond(http_conn_t *conn, int status, char *body, size_t len, const char *type, bool head)
{
    char *hdr = ks_asprintf("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                            "Connection: close\r\n\r\n", status, http_reason(status), type, len,
                            status == 405 ? "Allow: GET, HEAD\r\n" : "");
    size_t hlen = strlen(hdr);

    if (head)
        len = 0;
    conn->out = ks_realloc(hdr, hlen + len);
    if (len > 0)
        memcpy(conn->out + hlen, body, len);
    free(body);
    conn->out_len = hlen + len;
    conn->out_off = 0;
    conn_watch(conn, CONN_WRITE, EV_WRITE);
    conn_write(conn);
}

static void
conn_error(http_conn_t *conn, int status, const char *text)
{
    conn_respond(conn, status, ks_strdup(text), strlen(text), "text/plain; charset=utf-8", false);
}

/* Answers a complete request head: checks the request line, then asks the handler. */
static void
conn_request(http_conn_t *conn)
{
    ks_http_t  *http = conn->http;
    char       *line = conn->head, *target, *version, *q, *body = NULL;
    const char *type = "text/plain; charset=utf-8";
    size_t      len = 0;
    bool        head;
    int         status;

    *(char *)memmem(line, conn->head_len, "\r\n", 2) = '\0';     /* the caller found "\r\n\r\n" */
    target = strchr(line, ' ');
    version = target != NULL ? strchr(target + 1, ' ') : NULL;
    if (target == NULL || version == NULL || target == line || target[1] != '/'
        || line[strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                             "!#$%&'*+-.^_`|~")] != ' '
        || (strcmp(version + 1, "HTTP/1.1") != 0 && strcmp(version + 1, "HTTP/1.0") != 0)) {
        conn_error(conn, 400, "bad request\n");
        return;
    }
    *target++ = '\0';
    *version = '\0';
    for (q = target; *q != '\0'; q++) {
        if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f) {
            conn_error(conn, 400, "bad request\n");
            return;
        }
    }
    head = strcmp(line, "HEAD") == 0;
    if (!head && strcmp(line, "GET") != 0) {
        conn_error(conn, 405, "method not allowed\n");
        return;
    }
    target[strcspn(target, "?")] = '\0';
    status = http->handler(http->ctx, target, &body, &len, &type);
    if (status < 100 || status > 999) {
        free(body);
        conn_error(conn, 500, "internal error\n");
        return;
    }
    conn_respond(conn, status, body, body != NULL ? len : 0, type, head);
}

static void
conn_read(http_conn_t *conn)
{
    size_t  from = conn->head_len >= 3 ? conn->head_len - 3 : 0;
    ssize_t n = recv(conn->fd, conn->head + conn->head_len, sizeof(conn->head) - conn->head_len, 0);

    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        conn_close(conn);       /* the client left (or failed) before the end of its request */
        return;
    }
    conn->head_len += (size_t)n;
    if (memmem(conn->head + from, conn->head_len - from, "\r\n\r\n", 4) != NULL)
        conn_request(conn);
    else if (conn->head_len == sizeof(conn->head))
        conn_error(conn, 431, "request header too large\n");
}

static void
on_conn_io(struct ev_loop *loop, ev_io *io, int revents)
{
    http_conn_t *conn = io->data;

    (void)loop;
    (void)revents;
    switch (conn->state) {
    case CONN_READ:   conn_read(conn); break;
    case CONN_WRITE:  conn_write(conn); break;
    case CONN_LINGER: conn_linger(conn); break;
    }
}

static void
on_conn_timeout(struct ev_loop *loop, ev_timer *timer, int revents)
{
    (void)loop;
    (void)revents;
    conn_close(timer->data);
}

static void
on_accept(struct ev_loop *loop, ev_io *io, int revents)
{
    ks_http_t *http = io->data;

    (void)revents;
    for (int i = 0; i < HTTP_MAX_CONNS; i++) {  /* bounded, so one burst cannot starve the loop */
        http_conn_t *conn;
        int          fd = accept4(http->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), slot = 0;

        if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
            continue;
        if (fd < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (fd < 0) {
            /* EMFILE and the like stay true while the connection waits in the backlog: pause,
             * instead of spinning on a listening socket that stays readable. */
            ks_log_warning("accept() on the HTTP port %d failed: %s; retrying in 1 s", http->port,
                           strerror(errno));
            ev_io_stop(loop, &http->accept_io);
            ev_timer_start(loop, &http->accept_retry);
            return;
        }
        while (slot < HTTP_MAX_CONNS && http->conns[slot] != NULL)
            slot++;
        if (slot == HTTP_MAX_CONNS) {
            close(fd);
            continue;
        }
        conn = ks_calloc(1, sizeof(*conn));
        conn->http = http;
        conn->fd = fd;
        conn->index = slot;
        conn->state = CONN_READ;
        http->conns[slot] = conn;
        ev_io_init(&conn->io, on_conn_io, fd, EV_READ);
        conn->io.data = conn;
        ev_timer_init(&conn->timer, on_conn_timeout, http->timeout, 0.);
        conn->timer.data = conn;
        ev_io_start(loop, &conn->io);
        ev_timer_start(loop, &conn->timer);
    }
}

static void
on_accept_retry(struct ev_loop *loop, ev_timer *timer, int revents)
{
    ks_http_t *http = timer->data;

    (void)revents;
    ev_io_start(loop, &http->accept_io);
}

void
ks_http_start(ks_http_t *http, struct ev_loop *loop, ks_http_handler_t handler, void *ctx)
{
    http->loop = loop;
    http->handler = handler;
    http->ctx = ctx;
    ev_io_init(&http->accept_io, on_accept, http->fd, EV_READ);
    http->accept_io.data = http;
    ev_timer_init(&http->accept_retry, on_accept_retry, 1., 0.);
    http->accept_retry.data = http;
    ev_io_start(loop, &http->accept_io);
}

void
ks_http_stop(ks_http_t *http)
{
    if (http->loop == NULL)
        return;
    ev_io_stop(http->loop, &http->accept_io);
    ev_timer_stop(http->loop, &http->accept_retry);
    for (int i = 0; i < HTTP_MAX_CONNS; i++)
        if (http->conns[i] != NULL)
            conn_close(http->conns[i]);
    http->loop = NULL;
}

void
ks_http_close_after_fork(ks_http_t *http)
{
    if (http->fd >= 0)
        close(http->fd);
    http->fd = -1;
    for (int i = 0; i < HTTP_MAX_CONNS; i++) {
        if (http->conns[i] != NULL && http->conns[i]->fd >= 0) {
            close(http->conns[i]->fd);
            http->conns[i]->fd = -1;
        }
    }
    http->loop = NULL;
}

void
ks_http_free(ks_http_t *http)
{
    if (http == NULL)
        return;
    ks_http_stop(http);
    for (int i = 0; i < HTTP_MAX_CONNS; i++) {
        if (http->conns[i] != NULL) {   /* left by ks_http_close_after_fork() */
            free(http->conns[i]->out);
            free(http->conns[i]);
        }
    }
    if (http->fd >= 0)
        close(http->fd);
    free(http);
}
