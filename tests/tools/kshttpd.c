/* kshttpd.c — the HTTP receiver of the integration tests: listens on 127.0.0.1 (a free port, written
 * to PORTFILE), keeps connections alive, and appends one JSON line per request to LOG:
 *   {"t": unix ms, "method", "path", "key": Idempotency-Key, "event": Ce-Id, "auth": Authorization,
 *    "type": Content-Type, "header": X-Test, "secret": X-Secret, "dynamic": X-Dynamic, "body",
 *    "status": what it answered (0: none)}
 * What it answers depends on the path:
 *   /status/NNN/…    NNN
 *   /fail/N/…        500 to the first N requests with the same Idempotency-Key, then 200
 *   /delay/MS/…      200 after MS milliseconds
 *   /hang/…          nothing, ever (the connection stays open)
 *   /drop/…          closes the connection without an answer
 *   anything else    200
 * Usage: kshttpd PORTFILE LOG. Runs until killed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#define MAX_REQUEST (1024 * 1024)

typedef struct conn {
    ev_io    io;
    ev_timer delay;
    char    *buf;
    size_t   len;
    int      pending_status;    /* an answer waiting for its delay */
} conn_t;

static const char *log_path;
static json_t     *failures;    /* Idempotency-Key -> failures answered so far */

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
conn_close(struct ev_loop *loop, conn_t *c)
{
    ev_io_stop(loop, &c->io);
    ev_timer_stop(loop, &c->delay);
    close(c->io.fd);
    free(c->buf);
    free(c);
}

static void
answer(conn_t *c, int status)
{
    char    out[128];
    int     n = snprintf(out, sizeof(out), "HTTP/1.1 %d X\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok",
                         status);
    ssize_t w = write(c->io.fd, out, (size_t)n);

    (void)w;
}

static void
on_delay(struct ev_loop *loop, ev_timer *t, int revents)
{
    conn_t *c = t->data;

    (void)loop;
    (void)revents;
    answer(c, c->pending_status);
    c->pending_status = 0;
}

/* A header's value in the request head, or "". */
static void
header(const char *head, const char *name, char *out, size_t len)
{
    size_t      n = strlen(name);
    const char *p = head;

    out[0] = '\0';
    while ((p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1, *end = strstr(v, "\r\n");

            while (*v == ' ')
                v++;
            snprintf(out, len, "%.*s", (int)(end ? end - v : (long)strlen(v)), v);
            return;
        }
    }
}

/* Handles one complete request at the start of c->buf; returns its length, 0 when incomplete, -1
 * to close the connection. */
static int
handle(struct ev_loop *loop, conn_t *c)
{
    char       *end = memmem(c->buf, c->len, "\r\n\r\n", 4), method[16], path[1024], key[512], event[512],
                auth[512], type[256], test[256], secret[256], dynamic[256], clen[32];
    size_t      head_len, body_len;
    int         status = 200, arg = 0;
    json_t     *rec;
    FILE       *fp;

    if (end == NULL)
        return 0;
    head_len = (size_t)(end - c->buf) + 4;
    *end = '\0';
    header(c->buf, "Content-Length", clen, sizeof(clen));
    body_len = (size_t)strtoul(clen, NULL, 10);
    if (c->len < head_len + body_len) {
        *end = '\r';
        return 0;
    }
    if (sscanf(c->buf, "%15s %1023s", method, path) != 2)
        return -1;
    header(c->buf, "Idempotency-Key", key, sizeof(key));
    header(c->buf, "Ce-Id", event, sizeof(event));
    header(c->buf, "Authorization", auth, sizeof(auth));
    header(c->buf, "Content-Type", type, sizeof(type));
    header(c->buf, "X-Test", test, sizeof(test));
    header(c->buf, "X-Secret", secret, sizeof(secret));
    header(c->buf, "X-Dynamic", dynamic, sizeof(dynamic));

    if (sscanf(path, "/status/%d", &arg) == 1) {
        status = arg;
    } else if (sscanf(path, "/fail/%d", &arg) == 1) {
        json_int_t seen = json_integer_value(json_object_get(failures, key));

        if (seen < arg) {
            status = 500;
            json_object_set_new(failures, key, json_integer(seen + 1));
        }
    } else if (strncmp(path, "/hang", 5) == 0 || strncmp(path, "/drop", 5) == 0) {
        status = 0;
    }
    rec = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s%, s:i}", "t", (json_int_t)now_ms(),
                    "method", method, "path", path, "key", key, "event", event, "auth", auth, "type", type, "header",
                    test, "secret", secret, "dynamic", dynamic, "body", c->buf + head_len, body_len, "status", status);
    if ((fp = fopen(log_path, "a")) != NULL) {
        json_dumpf(rec, fp, JSON_COMPACT);
        fputc('\n', fp);
        fclose(fp);
    }
    json_decref(rec);
    if (strncmp(path, "/drop", 5) == 0)
        return -1;
    if (sscanf(path, "/delay/%d", &arg) == 1) {
        c->pending_status = 200;
        ev_timer_set(&c->delay, arg / 1000., 0.);
        ev_timer_start(loop, &c->delay);
    } else if (status != 0) {
        answer(c, status);
    }
    return (int)(head_len + body_len);
}

static void
on_read(struct ev_loop *loop, ev_io *io, int revents)
{
    conn_t *c = (conn_t *)io;
    char    tmp[65536];
    ssize_t n = read(io->fd, tmp, sizeof(tmp));
    int     used;

    (void)revents;
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        conn_close(loop, c);
        return;
    }
    if (c->len + (size_t)n > MAX_REQUEST) {
        conn_close(loop, c);
        return;
    }
    c->buf = realloc(c->buf, c->len + (size_t)n + 1);
    memcpy(c->buf + c->len, tmp, (size_t)n);
    c->len += (size_t)n;
    while (c->len > 0 && (used = handle(loop, c)) != 0) {
        if (used < 0) {
            conn_close(loop, c);
            return;
        }
        memmove(c->buf, c->buf + used, c->len - (size_t)used);
        c->len -= (size_t)used;
    }
}

static void
on_accept(struct ev_loop *loop, ev_io *io, int revents)
{
    int     fd = accept(io->fd, NULL, NULL);
    conn_t *c;

    (void)revents;
    if (fd < 0)
        return;
    c = calloc(1, sizeof(*c));
    ev_io_init(&c->io, on_read, fd, EV_READ);
    ev_init(&c->delay, on_delay);
    c->delay.data = c;
    ev_io_start(loop, &c->io);
}

int
main(int argc, char **argv)
{
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t          alen = sizeof(addr);
    int                fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct ev_loop    *loop = ev_default_loop(0);
    ev_io              accept_io;
    FILE              *fp;

    if (argc != 3 || fd < 0) {
        fprintf(stderr, "usage: kshttpd PORTFILE LOG\n");
        return 2;
    }
    log_path = argv[2];
    failures = json_object();
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 512) != 0
        || getsockname(fd, (struct sockaddr *)&addr, &alen) != 0) {
        perror("kshttpd");
        return 1;
    }
    {
        char tmp[4096];

        snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
        if ((fp = fopen(tmp, "w")) == NULL || fprintf(fp, "%d\n", ntohs(addr.sin_port)) < 0 || fclose(fp) != 0
            || rename(tmp, argv[1]) != 0) {
            perror("kshttpd: port file");
            return 1;
        }
    }
    ev_io_init(&accept_io, on_accept, fd, EV_READ);
    ev_io_start(loop, &accept_io);
    ev_run(loop, 0);
    return 0;
}
