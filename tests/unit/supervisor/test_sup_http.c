/* test_sup_http.c — the supervisor's HTTP server over real loopback sockets.
 *
 * The server runs on a private loop that the test turns with EVRUN_NOWAIT while it drives
 * nonblocking client sockets itself, until each client has read the response and end-of-file or a
 * deadline has passed. Nothing waits on a sleep for the server to be ready. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sup_http.h"
#include "unit.h"

#define BIG_BODY (4u << 20)     /* larger than the loopback socket buffers: forces partial writes */

static struct ev_loop *loop;
static ks_http_t      *http;
static int             calls;
static char            last_path[256];

typedef struct client {
    int         fd;
    const char *req;
    size_t      req_len, sent;
    char       *resp;           /* NUL-terminated */
    size_t      resp_len, resp_cap;
    bool        eof, reset;
} client_t;

static int
handler(void *ctx, const char *path, char **body, size_t *len, const char **type)
{
    const char *text;
    int         status = 200;

    ck_assert_ptr_eq(ctx, &calls);
    calls++;
    snprintf(last_path, sizeof(last_path), "%s", path);
    if (strcmp(path, "/big") == 0) {
        *body = malloc(BIG_BODY);
        for (size_t i = 0; i < BIG_BODY; i++)
            (*body)[i] = (char)('a' + i % 26);
        *len = BIG_BODY;
        *type = "application/octet-stream";
        return 200;
    }
    if (strcmp(path, "/healthz") == 0) {
        text = "ok\n";
    } else if (strcmp(path, "/readyz") == 0) {
        text = "not ready\n";
        status = 503;
    } else {
        text = "no such page\n";
        status = 404;
    }
    *body = strdup(text);
    *len = strlen(text);
    return status;
}

static void
setup(void)
{
    char err[256] = "";

    loop = ev_loop_new(EVFLAG_AUTO);
    ck_assert_ptr_nonnull(loop);
    http = ks_http_listen("127.0.0.1:0", err, sizeof(err));
    ck_assert_msg(http != NULL, "%s", err);
    ck_assert_int_gt(ks_http_port(http), 0);
    ks_http_start(http, loop, handler, &calls);
    calls = 0;
}

static void
teardown(void)
{
    ks_http_free(http);
    ev_loop_destroy(loop);
}

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Connects without blocking; returns the socket, or -1 with errno (ECONNREFUSED…) from connect. */
static int
client_connect(int family, int port)
{
    struct sockaddr_storage ss = { 0 };
    socklen_t               sslen;
    int                     fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    if (family == AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        sin6->sin6_addr = in6addr_loopback;
        sslen = sizeof(*sin6);
    } else {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sslen = sizeof(*sin);
    }
    if (connect(fd, (struct sockaddr *)&ss, sslen) < 0 && errno != EINPROGRESS) {
        int saved = errno;

        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static void
client_open(client_t *c, int family, const char *req, size_t len)
{
    memset(c, 0, sizeof(*c));
    c->fd = client_connect(family, ks_http_port(http));
    ck_assert_msg(c->fd >= 0, "connect() failed: %s", strerror(errno));
    c->req = req;
    c->req_len = req != NULL && len == 0 ? strlen(req) : len;
    c->resp_cap = 1024;
    c->resp = calloc(1, c->resp_cap);
}

static void
client_close(client_t *c)
{
    close(c->fd);
    free(c->resp);
}

/* Sends what it can of the request and reads what has arrived; never blocks. */
static void
client_step(client_t *c)
{
    while (c->sent < c->req_len) {
        ssize_t n = send(c->fd, c->req + c->sent, c->req_len - c->sent, MSG_NOSIGNAL);

        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0) {
            c->req_len = c->sent;   /* the server has stopped reading: the answer says why */
            break;
        }
        c->sent += (size_t)n;
    }
    while (!c->eof) {
        ssize_t n;

        if (c->resp_cap - c->resp_len < 65536) {
            c->resp_cap *= 2;
            c->resp = realloc(c->resp, c->resp_cap);
        }
        n = recv(c->fd, c->resp + c->resp_len, c->resp_cap - c->resp_len - 1, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0 && errno == ECONNRESET) {
            c->eof = c->reset = true;   /* the response checks fail, unless a test expects it */
            break;
        }
        ck_assert_msg(n >= 0, "recv() failed: %s", strerror(errno));
        c->eof = n == 0;
        c->resp_len += (size_t)n;
        c->resp[c->resp_len] = '\0';
    }
}

/* Turns the server's loop and the clients until every client has seen end-of-file. */
static void
clients_run(client_t *cs, size_t n, double seconds)
{
    double        deadline = now() + seconds;
    struct pollfd pfd[80];

    ck_assert_uint_le(n, 80);
    for (;;) {
        size_t waiting = 0;

        for (size_t i = 0; i < n; i++) {
            if (!cs[i].eof)
                client_step(&cs[i]);
            pfd[i] = (struct pollfd){ .fd = cs[i].eof ? -1 : cs[i].fd, .events = POLLIN };
            waiting += !cs[i].eof;
        }
        if (waiting == 0)
            return;
        ck_assert_msg(now() < deadline, "%zu client(s) not answered within %.1f s", waiting, seconds);
        ev_run(loop, EVRUN_NOWAIT);
        poll(pfd, n, 1);        /* a yield to the kernel, not a synchronisation */
    }
}

/* One request on a new IPv4 connection; returns the client with the whole response read. */
static client_t
exchange(const char *req, size_t len)
{
    client_t c;

    client_open(&c, AF_INET, req, len);
    clients_run(&c, 1, 3.);
    return c;
}

static int
resp_status(const client_t *c)
{
    int status = 0;

    ck_assert_msg(sscanf(c->resp, "HTTP/1.1 %d ", &status) == 1, "not a response: \"%s\"", c->resp);
    return status;
}

static const char *
resp_body(const client_t *c)
{
    const char *end = strstr(c->resp, "\r\n\r\n");

    ck_assert_msg(end != NULL, "no end of headers in \"%s\"", c->resp);
    return end + 4;
}

/* Whether the response head has this exact header line. */
static bool
resp_header(const client_t *c, const char *line)
{
    char        want[256];
    const char *hit;

    snprintf(want, sizeof(want), "\r\n%s\r\n", line);
    hit = strstr(c->resp, want);
    return hit != NULL && hit < resp_body(c);
}

/* Serves one request on a new connection. The listening socket hands out connections in order, so
 * every connection opened before this one has been accepted when it returns. */
static void
serve_one_after(void)
{
    client_t c = exchange("GET /healthz HTTP/1.1\r\n\r\n", 0);

    ck_assert_int_eq(resp_status(&c), 200);
    client_close(&c);
}

START_TEST(test_get)
{
    client_t c = exchange("GET /healthz HTTP/1.1\r\nHost: x\r\nUser-Agent: test\r\n\r\n", 0);

    ck_assert_int_eq(resp_status(&c), 200);
    ck_assert_int_eq(strncmp(c.resp, "HTTP/1.1 200 OK\r\n", 17), 0);
    ck_assert(resp_header(&c, "Content-Type: text/plain; charset=utf-8"));
    ck_assert(resp_header(&c, "Content-Length: 3"));
    ck_assert(resp_header(&c, "Connection: close"));
    ck_assert_str_eq(resp_body(&c), "ok\n");
    ck_assert_int_eq(calls, 1);
    ck_assert_str_eq(last_path, "/healthz");
    client_close(&c);

    c = exchange("GET /readyz HTTP/1.0\r\n\r\n", 0);
    ck_assert_int_eq(strncmp(c.resp, "HTTP/1.1 503 Service Unavailable\r\n", 34), 0);
    ck_assert_str_eq(resp_body(&c), "not ready\n");
    client_close(&c);
}
END_TEST

START_TEST(test_not_found_and_query)
{
    client_t c = exchange("GET /missing HTTP/1.1\r\n\r\n", 0);

    ck_assert_int_eq(resp_status(&c), 404);
    ck_assert_str_eq(resp_body(&c), "no such page\n");
    ck_assert_str_eq(last_path, "/missing");
    client_close(&c);

    c = exchange("GET /healthz?verbose=1&x=%20 HTTP/1.1\r\n\r\n", 0);
    ck_assert_int_eq(resp_status(&c), 200);
    ck_assert_str_eq(last_path, "/healthz");
    ck_assert_str_eq(resp_body(&c), "ok\n");
    client_close(&c);
    ck_assert_int_eq(calls, 2);
}
END_TEST

START_TEST(test_head)
{
    client_t c = exchange("HEAD /healthz HTTP/1.1\r\n\r\n", 0);

    ck_assert_int_eq(resp_status(&c), 200);
    ck_assert(resp_header(&c, "Content-Length: 3"));
    ck_assert_str_eq(resp_body(&c), "");
    client_close(&c);
}
END_TEST

START_TEST(test_method_not_allowed)
{
    static const char *const reqs[] = {
        "POST /healthz HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
        "DELETE /healthz HTTP/1.1\r\n\r\n",
        "get /healthz HTTP/1.1\r\n\r\n",
    };

    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        client_t c = exchange(reqs[i], 0);

        ck_assert_msg(resp_status(&c) == 405, "%s: %s", reqs[i], c.resp);
        ck_assert(resp_header(&c, "Allow: GET, HEAD"));
        client_close(&c);
    }
    ck_assert_int_eq(calls, 0);
}
END_TEST

START_TEST(test_bad_request)
{
    static const struct {
        const char *req;
        size_t      len;
    } cases[] = {
        { "garbage\r\n\r\n", 0 },
        { "GET\r\n\r\n", 0 },
        { "GET /healthz\r\n\r\n", 0 },
        { "GET  /healthz HTTP/1.1\r\n\r\n", 0 },
        { " GET /healthz HTTP/1.1\r\n\r\n", 0 },
        { "GET /healthz HTTP/1.1 extra\r\n\r\n", 0 },
        { "GET /healthz HTTP/2.0\r\n\r\n", 0 },
        { "GET /healthz http/1.1\r\n\r\n", 0 },
        { "GET healthz HTTP/1.1\r\n\r\n", 0 },
        { "G(T /healthz HTTP/1.1\r\n\r\n", 0 },
        { "GET /a\tb HTTP/1.1\r\n\r\n", 0 },
        { "GET /\x7f HTTP/1.1\r\n\r\n", 0 },
        { "GET /\xc3\xa9 HTTP/1.1\r\n\r\n", 0 },
        { "GET /\0healthz HTTP/1.1\r\n\r\n", 26 },
        { "\0\0\0\0\r\n\r\n", 8 },
        { "\r\n\r\n", 0 },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        client_t c = exchange(cases[i].req, cases[i].len);

        ck_assert_msg(resp_status(&c) == 400, "case %zu: %s", i, c.resp);
        ck_assert(resp_header(&c, "Connection: close"));
        client_close(&c);
    }
    ck_assert_int_eq(calls, 0);
}
END_TEST

/* A request head of exactly len bytes: a request line, then one long header. */
static char *
head_of(size_t len)
{
    static const char start[] = "GET /healthz HTTP/1.1\r\nX-Pad: ";
    char             *req = malloc(len + 1);

    memcpy(req, start, sizeof(start) - 1);
    memset(req + sizeof(start) - 1, 'p', len - (sizeof(start) - 1) - 4);
    memcpy(req + len - 4, "\r\n\r\n", 5);
    return req;
}

START_TEST(test_header_limit)
{
    char    *fits = head_of(8192), *over = head_of(8193), *huge = head_of(64 * 1024);
    client_t c = exchange(fits, 0);

    ck_assert_int_eq(resp_status(&c), 200);
    client_close(&c);
    c = exchange(over, 0);
    ck_assert_int_eq(resp_status(&c), 431);
    client_close(&c);
    c = exchange(huge, 0);     /* the rest of it is read and dropped, so the answer arrives whole */
    ck_assert_int_eq(resp_status(&c), 431);
    ck_assert(resp_header(&c, "Connection: close"));
    client_close(&c);
    ck_assert_int_eq(calls, 1);
    free(fits);
    free(over);
    free(huge);
}
END_TEST

START_TEST(test_large_body)
{
    client_t    c = exchange("GET /big HTTP/1.1\r\n\r\n", 0);
    const char *body = resp_body(&c);
    char        line[64];

    ck_assert_int_eq(resp_status(&c), 200);
    snprintf(line, sizeof(line), "Content-Length: %u", BIG_BODY);
    ck_assert(resp_header(&c, line));
    ck_assert(resp_header(&c, "Content-Type: application/octet-stream"));
    ck_assert_uint_eq(c.resp_len - (size_t)(body - c.resp), BIG_BODY);
    for (size_t i = 0; i < BIG_BODY; i += 4099)
        ck_assert_int_eq(body[i], 'a' + i % 26);
    client_close(&c);
}
END_TEST

START_TEST(test_concurrent)
{
    static const char req_a[] = "GET /healthz HTTP/1.1\r\n\r\n";
    client_t          a, b;

    /* a sends half its request and stalls; b is served meanwhile; then a finishes. */
    client_open(&a, AF_INET, req_a, 10);
    client_open(&b, AF_INET, "GET /missing HTTP/1.1\r\n\r\n", 0);
    client_step(&a);
    clients_run(&b, 1, 3.);
    ck_assert_int_eq(resp_status(&b), 404);
    ck_assert_uint_eq(a.resp_len, 0);
    ck_assert(!a.eof);

    a.req_len = sizeof(req_a) - 1;
    clients_run(&a, 1, 3.);
    ck_assert_int_eq(resp_status(&a), 200);
    ck_assert_str_eq(resp_body(&a), "ok\n");
    ck_assert_int_eq(calls, 2);
    client_close(&a);
    client_close(&b);
}
END_TEST

START_TEST(test_timeout)
{
    client_t silent, partial, clients[2];
    double   start = now(), elapsed;

    ks_http_set_timeout(http, 0.2);
    client_open(&silent, AF_INET, NULL, 0);
    client_open(&partial, AF_INET, "GET /healthz HT", 0);
    clients[0] = silent;
    clients[1] = partial;
    clients_run(clients, 2, 3.);
    silent = clients[0];
    partial = clients[1];
    elapsed = now() - start;
    ck_assert_msg(elapsed >= 0.19 && elapsed < 2., "closed after %.3f s", elapsed);
    ck_assert_uint_eq(silent.resp_len, 0);
    ck_assert_uint_eq(partial.resp_len, 0);
    ck_assert_int_eq(calls, 0);
    client_close(&silent);
    client_close(&partial);
}
END_TEST

/* 64 connections are served at once; the 65th is accepted and closed straight away. */
START_TEST(test_connection_cap)
{
    static const char req[] = "GET /healthz HTTP/1.1\r\n\r\n";
    client_t          cs[65];

    for (int i = 0; i < 65; i++)
        client_open(&cs[i], AF_INET, req, 0);
    for (int i = 0; i < 65; i++)
        cs[i].req_len = 0;      /* idle until told otherwise; unread input would turn a close into a reset */
    clients_run(&cs[64], 1, 3.);
    ck_assert_uint_eq(cs[64].resp_len, 0);
    for (int i = 0; i < 20; i++)
        ev_run(loop, EVRUN_NOWAIT);
    for (int i = 0; i < 64; i++) {
        client_step(&cs[i]);
        ck_assert_msg(!cs[i].eof, "connection %d was closed", i);
    }

    cs[0].req_len = sizeof(req) - 1;
    clients_run(&cs[0], 1, 3.);
    ck_assert_int_eq(resp_status(&cs[0]), 200);
    ck_assert(!cs[64].reset);
    client_close(&cs[0]);

    /* cs[0]'s place is free once the server has seen it close; until then a new connection is
     * refused (with a reset, as the request is unread), so retry up to a deadline. */
    for (double deadline = now() + 3.;;) {
        client_close(&cs[64]);
        client_open(&cs[64], AF_INET, req, 0);
        clients_run(&cs[64], 1, 3.);
        if (!cs[64].reset && cs[64].resp_len > 0)
            break;
        ck_assert_msg(now() < deadline, "a freed connection slot is never reused");
    }
    ck_assert_int_eq(resp_status(&cs[64]), 200);
    for (int i = 1; i < 65; i++)
        client_close(&cs[i]);
}
END_TEST

/* The child's copies of the sockets are closed without touching the parent's connections. */
START_TEST(test_close_after_fork)
{
    static const char req[] = "GET /healthz HTTP/1.1\r\n\r\n";
    client_t          c;
    pid_t             pid;
    int               status, fd;

    client_open(&c, AF_INET, req, 0);
    c.req_len = 0;
    serve_one_after();                  /* c is accepted, and idle */
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        ks_http_close_after_fork(http);
        ev_loop_destroy(loop);          /* what the supervisor's children do */
        ks_http_free(http);
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    c.req_len = sizeof(req) - 1;
    clients_run(&c, 1, 3.);
    ck_assert_int_eq(resp_status(&c), 200);
    client_close(&c);

    ks_http_close_after_fork(http);
    fd = client_connect(AF_INET, ks_http_port(http));
    if (fd >= 0) {
        struct pollfd pfd = { .fd = fd, .events = POLLOUT };
        int           err = 0;
        socklen_t     errlen = sizeof(err);

        ck_assert_int_eq(poll(&pfd, 1, 2000), 1);
        ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen), 0);
        errno = err;
        close(fd);
    }
    ck_assert_int_eq(errno, ECONNREFUSED);
    ks_http_free(http);                 /* memory only: the connection's watchers stay in loop */
    http = NULL;
}
END_TEST

START_TEST(test_stop)
{
    client_t c;

    client_open(&c, AF_INET, NULL, 0);
    serve_one_after();
    ks_http_stop(http);
    clients_run(&c, 1, 3.);
    ck_assert_uint_eq(c.resp_len, 0);
    client_close(&c);
    ks_http_stop(http);     /* twice is harmless */
}
END_TEST

START_TEST(test_listen_errors)
{
    static const char *const bad[] = {
        "", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:123456", "127.0.0.1:80x",
        "127.0.0.1:-1", ":9464", "::1:9464", "[::1]9464", "[::1:9464", "[]:9464", "example.com:9464",
        "999.1.1.1:9464",
    };
    char       err[256], inuse[64];
    ks_http_t *other;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        ck_assert_msg(ks_http_listen(bad[i], err, sizeof(err)) == NULL, "%s accepted", bad[i]);
        ck_assert_msg(strstr(err, bad[i]) != NULL, "%s: %s", bad[i], err);
    }
    snprintf(inuse, sizeof(inuse), "127.0.0.1:%d", ks_http_port(http));
    ck_assert_ptr_null(ks_http_listen(inuse, err, sizeof(err)));
    ck_assert_msg(strstr(err, "bind()") != NULL && strstr(err, inuse) != NULL, "%s", err);

    other = ks_http_listen("localhost:0", err, sizeof(err));
    ck_assert_msg(other != NULL, "%s", err);
    ck_assert_int_gt(ks_http_port(other), 0);
    ck_assert_int_ne(ks_http_port(other), ks_http_port(http));
    ks_http_free(other);
    other = ks_http_listen("0.0.0.0:0", err, sizeof(err));
    ck_assert_msg(other != NULL, "%s", err);
    ks_http_free(other);
}
END_TEST

START_TEST(test_ipv6)
{
    char     err[256];
    client_t c;

    ks_http_free(http);
    http = ks_http_listen("[::1]:0", err, sizeof(err));
    ck_assert_msg(http != NULL, "%s", err);
    ks_http_start(http, loop, handler, &calls);
    client_open(&c, AF_INET6, "GET /healthz HTTP/1.1\r\n\r\n", 0);
    clients_run(&c, 1, 3.);
    ck_assert_int_eq(resp_status(&c), 200);
    ck_assert_str_eq(resp_body(&c), "ok\n");
    client_close(&c);
}
END_TEST

/* Whether this machine can bind the IPv6 loopback at all (containers often cannot). */
static bool
ipv6_loopback(void)
{
    struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    int                 fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool                ok;

    if (fd < 0)
        return false;
    ok = bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0;
    close(fd);
    return ok;
}

Suite *
suite_sup_http(void)
{
    Suite *s = suite_create("sup_http");
    TCase *tc = tcase_create("loopback");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_get);
    tcase_add_test(tc, test_not_found_and_query);
    tcase_add_test(tc, test_head);
    tcase_add_test(tc, test_method_not_allowed);
    tcase_add_test(tc, test_bad_request);
    tcase_add_test(tc, test_header_limit);
    tcase_add_test(tc, test_large_body);
    tcase_add_test(tc, test_concurrent);
    tcase_add_test(tc, test_timeout);
    tcase_add_test(tc, test_connection_cap);
    tcase_add_test(tc, test_close_after_fork);
    tcase_add_test(tc, test_stop);
    tcase_add_test(tc, test_listen_errors);
    if (ipv6_loopback())
        tcase_add_test(tc, test_ipv6);
    else
        fprintf(stderr, "sup_http: no IPv6 loopback on this machine; the IPv6 test is not run\n");
    suite_add_tcase(s, tc);
    return s;
}
