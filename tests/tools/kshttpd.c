/* kshttpd.c — the HTTP receiver of the integration tests: listens on 127.0.0.1 (a free port, written
 * to PORTFILE), keeps connections alive, and appends one JSON line per request to LOG:
 *   {"t": unix ms, "method", "path", "key": Idempotency-Key, "event": Ce-Id, "auth": Authorization,
 *    "type": Content-Type, "header": X-Test, "secret": X-Secret, "dynamic": X-Dynamic, "body",
 *    "status": what it answered (0: none),
 *    "inflight": requests received and not yet answered, over all connections, when this one
 *                arrived, this one included (the peak of concurrent calls is the max of it),
 *    with --tls only: "tls": true, "client": the client certificate's subject CN (null: none)}
 * A request counts as answered once its answer is written, or when its connection closes without
 * one (/drop, or the client giving up on /hang or /delay).
 * What it answers depends on the path:
 *   /status/NNN/…    NNN
 *   /fail/N/…        500 to the first N requests with the same Idempotency-Key, then 200
 *   /delay/MS/…      200 after MS milliseconds
 *   /hang/…          nothing, ever (the connection stays open)
 *   /drop/…          closes the connection without an answer
 *   anything else    200
 * Usage: kshttpd PORTFILE LOG [--tls CERT KEY [--client-ca CA]]. Runs until killed.
 * With --tls every connection starts with a TLS handshake (CERT and KEY in PEM); with --client-ca
 * too, a client must present a certificate signed by CA. A failed handshake logs no request but
 * one line {"t": unix ms, "tls_error": why}. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define MAX_REQUEST (1024 * 1024)
#define WRITE_POLLS 50          /* an answer waits at most WRITE_POLLS * 100 ms for the socket */

typedef struct conn {
    ev_io    io;
    ev_timer delay;
    char    *buf;
    size_t   len;
    int      pending_status;    /* an answer waiting for its delay */
    int      unanswered;        /* requests of this connection in "inflight" */
    SSL     *ssl;               /* NULL: plain HTTP */
    int      secure;            /* the TLS handshake is done */
    char    *client;            /* the client certificate's CN, or NULL */
} conn_t;

static const char *log_path;
static json_t     *failures;    /* Idempotency-Key -> failures answered so far */
static long        inflight;    /* requests received and not answered, over all connections */
static SSL_CTX    *tls_ctx;     /* NULL: plain HTTP */

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
log_record(json_t *rec)
{
    FILE *fp;

    if (rec != NULL && (fp = fopen(log_path, "a")) != NULL) {
        json_dumpf(rec, fp, JSON_COMPACT);
        fputc('\n', fp);
        fclose(fp);
    }
    json_decref(rec);
}

static void
conn_close(struct ev_loop *loop, conn_t *c)
{
    ev_io_stop(loop, &c->io);
    ev_timer_stop(loop, &c->delay);
    inflight -= c->unanswered;
    SSL_free(c->ssl);
    close(c->io.fd);
    free(c->client);
    free(c->buf);
    free(c);
}

/* Makes the connection's watcher wait for events (EV_READ or EV_WRITE) only. */
static void
conn_want(struct ev_loop *loop, conn_t *c, int events)
{
    if ((c->io.events & (EV_READ | EV_WRITE)) == events)
        return;
    ev_io_stop(loop, &c->io);
    ev_io_set(&c->io, c->io.fd, events);
    ev_io_start(loop, &c->io);
}

/* Writes a small answer whole; over TLS, waits a little for a full socket. */
static void
conn_send(conn_t *c, const char *out, int n)
{
    struct pollfd p = { .fd = c->io.fd };
    ssize_t       w;
    int           i, r, err;

    if (c->ssl == NULL) {
        w = write(c->io.fd, out, (size_t)n);
        (void)w;
        return;
    }
    for (i = 0; i < WRITE_POLLS; i++) {
        ERR_clear_error();
        if ((r = SSL_write(c->ssl, out, n)) > 0)
            return;
        err = SSL_get_error(c->ssl, r);
        if (err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ)
            return;
        p.events = err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
        poll(&p, 1, 100);
    }
}

static void
answer(conn_t *c, int status)
{
    char out[128];
    int  n = snprintf(out, sizeof(out), "HTTP/1.1 %d X\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok",
                      status);

    conn_send(c, out, n);
    if (c->unanswered > 0) {
        c->unanswered--;
        inflight--;
    }
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
    c->unanswered++;
    inflight++;
    rec = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s%, s:i, s:I}", "t", (json_int_t)now_ms(),
                    "method", method, "path", path, "key", key, "event", event, "auth", auth, "type", type, "header",
                    test, "secret", secret, "dynamic", dynamic, "body", c->buf + head_len, body_len, "status", status,
                    "inflight", (json_int_t)inflight);
    if (rec != NULL && c->ssl != NULL) {
        json_object_set_new(rec, "tls", json_true());
        json_object_set_new(rec, "client", c->client ? json_string(c->client) : json_null());
    }
    log_record(rec);
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

/* Why the last TLS call failed, into out. */
static void
tls_reason(conn_t *c, int err, char *out, size_t len)
{
    unsigned long e = ERR_peek_error();
    const char   *why = e != 0 ? ERR_reason_error_string(e) : NULL;
    long          verify = SSL_get_verify_result(c->ssl);

    if (err == SSL_ERROR_SSL && why != NULL && verify != X509_V_OK)
        snprintf(out, len, "%s: %s", why, X509_verify_cert_error_string(verify));
    else if (why != NULL)
        snprintf(out, len, "%s", why);
    else if (e != 0)
        ERR_error_string_n(e, out, len);
    else if (err == SSL_ERROR_SYSCALL && errno != 0)
        snprintf(out, len, "%s", strerror(errno));
    else
        snprintf(out, len, "connection closed during the handshake");
}

/* The peer certificate's subject CN, or NULL. */
static char *
tls_client_cn(SSL *ssl)
{
    X509          *cert = SSL_get0_peer_certificate(ssl);
    X509_NAME     *name = cert ? X509_get_subject_name(cert) : NULL;
    int            i = name ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
    unsigned char *utf8 = NULL;
    char          *cn = NULL;

    if (i < 0)
        return NULL;
    if (ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i))) >= 0) {
        cn = strdup((char *)utf8);
        OPENSSL_free(utf8);
    }
    return cn;
}

/* Drives the TLS handshake; returns 1 once done, 0 while it waits for the socket, -1 when it
 * failed (the refusal logged, the connection closed). */
static int
tls_accept(struct ev_loop *loop, conn_t *c)
{
    char reason[256];
    int  r, err;

    ERR_clear_error();
    errno = 0;
    if ((r = SSL_accept(c->ssl)) == 1) {
        c->secure = 1;
        c->client = tls_client_cn(c->ssl);
        return 1;
    }
    err = SSL_get_error(c->ssl, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        conn_want(loop, c, err == SSL_ERROR_WANT_READ ? EV_READ : EV_WRITE);
        return 0;
    }
    tls_reason(c, err, reason, sizeof(reason));
    log_record(json_pack("{s:I, s:s}", "t", (json_int_t)now_ms(), "tls_error", reason));
    conn_close(loop, c);
    return -1;
}

/* Reads what the connection has; returns the bytes read, 0 at its end (or an error), -1 when
 * nothing is there yet (the watcher then waits for what TLS needs). */
static ssize_t
conn_recv(struct ev_loop *loop, conn_t *c, char *buf, size_t len)
{
    ssize_t n;
    int     err;

    if (c->ssl == NULL) {
        n = read(c->io.fd, buf, len);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return -1;
        return n < 0 ? 0 : n;
    }
    ERR_clear_error();
    if ((n = SSL_read(c->ssl, buf, (int)len)) > 0)
        return n;
    err = SSL_get_error(c->ssl, (int)n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        conn_want(loop, c, err == SSL_ERROR_WANT_READ ? EV_READ : EV_WRITE);
        return -1;
    }
    return 0;
}

/* Appends n bytes to the connection's buffer and handles the complete requests; returns -1 when
 * the connection got closed. */
static int
consume(struct ev_loop *loop, conn_t *c, const char *data, size_t n)
{
    int used;

    if (c->len + n > MAX_REQUEST) {
        conn_close(loop, c);
        return -1;
    }
    c->buf = realloc(c->buf, c->len + n + 1);
    memcpy(c->buf + c->len, data, n);
    c->len += n;
    while (c->len > 0 && (used = handle(loop, c)) != 0) {
        if (used < 0) {
            conn_close(loop, c);
            return -1;
        }
        memmove(c->buf, c->buf + used, c->len - (size_t)used);
        c->len -= (size_t)used;
    }
    return 0;
}

/* Over TLS, reads until SSL_read would block: what OpenSSL holds already would not wake the loop. */
static void
on_read(struct ev_loop *loop, ev_io *io, int revents)
{
    conn_t *c = (conn_t *)io;
    char    tmp[65536];
    ssize_t n;

    (void)revents;
    if (c->ssl != NULL && !c->secure && tls_accept(loop, c) != 1)
        return;
    do {
        if ((n = conn_recv(loop, c, tmp, sizeof(tmp))) < 0)
            return;
        if (n == 0) {
            conn_close(loop, c);
            return;
        }
        if (consume(loop, c, tmp, (size_t)n) != 0)
            return;
    } while (c->ssl != NULL);
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
    if (tls_ctx != NULL) {
        if ((c->ssl = SSL_new(tls_ctx)) == NULL || !SSL_set_fd(c->ssl, fd)
            || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
            SSL_free(c->ssl);
            free(c);
            close(fd);
            return;
        }
        SSL_set_accept_state(c->ssl);
    }
    ev_io_init(&c->io, on_read, fd, EV_READ);
    ev_init(&c->delay, on_delay);
    c->delay.data = c;
    ev_io_start(loop, &c->io);
}

/* The server's TLS context: CERT and KEY, and with CA a client certificate required. */
static SSL_CTX *
tls_setup(const char *cert, const char *key, const char *ca)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    if (ctx == NULL || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1
        || SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1)
        goto fail;
    if (ca != NULL) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);

        if (names == NULL || SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
            sk_X509_NAME_pop_free(names, X509_NAME_free);
            goto fail;
        }
        SSL_CTX_set_client_CA_list(ctx, names);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        /* without it, a client resuming a session fails its handshake */
        SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"kshttpd", 7);
    }
    return ctx;

fail:
    fprintf(stderr, "kshttpd: TLS: ");
    ERR_print_errors_fp(stderr);
    SSL_CTX_free(ctx);
    return NULL;
}

/* Checks the arguments after PORTFILE LOG: none, --tls CERT KEY, or --tls CERT KEY --client-ca CA. */
static int
tls_args(int argc, char **argv)
{
    if (argc == 3)
        return 0;
    if ((argc != 6 && argc != 8) || strcmp(argv[3], "--tls") != 0
        || (argc == 8 && strcmp(argv[6], "--client-ca") != 0))
        return -1;
    return (tls_ctx = tls_setup(argv[4], argv[5], argc == 8 ? argv[7] : NULL)) != NULL ? 0 : 1;
}

int
main(int argc, char **argv)
{
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t          alen = sizeof(addr);
    int                fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, rc;
    struct ev_loop    *loop = ev_default_loop(0);
    ev_io              accept_io;
    FILE              *fp;

    if (argc < 3 || fd < 0 || (rc = tls_args(argc, argv)) < 0) {
        fprintf(stderr, "usage: kshttpd PORTFILE LOG [--tls CERT KEY [--client-ca CA]]\n");
        return 2;
    }
    if (rc != 0)
        return 1;
    signal(SIGPIPE, SIG_IGN);   /* a client gone before its answer must not end the receiver */
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
