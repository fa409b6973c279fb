/* ctl_emit.c — `ksensorctl emit`: publishes test CloudEvents to the event topic, keyed and encoded the
 * way Argo's EventSources write them, so a running pool can be driven without an EventSource.
 *
 * Events are built as ks_event_t and written by the model's own encoder (structured mode), or as ce_*
 * headers around the data (binary mode); each is decoded back with the workers' decoder before it is
 * sent, so what emit publishes is what a worker accepts. One idempotent producer; the run succeeds only
 * when every event has a successful delivery report within the flush timeout. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "ctl.h"
#include "core/diag.h"
#include "core/log.h"
#include "core/mem.h"
#include "sensor/event.h"
#include "core/config.h"
#include "pipeline/kafka_conf.h"

#define DEFAULT_CONFIG   KS_SYSCONFDIR "/ksensord.yaml"
#define EMIT_TIMEOUT_MS  10000      /* for the metadata request, and again for the final flush */
#define EMIT_MAX_COUNT   1000000
#define EMIT_MAX_REPORTS 10         /* failed events named one by one on stderr */
/* jansson flags as the model reads data (event.c): \u0000 is legal JSON, and an integer
 * beyond 64 bits is a number, not an error; any JSON value may be the data. */
#define EMIT_JSON_FLAGS  (JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL)

typedef struct emit_opts {
    const char *config;
    const char *brokers;
    const char *topic;
    const char *source;
    const char *subject;
    const char *type;
    const char *id;
    const char *data;
    long        count;
    bool        binary;
    bool        json;
} emit_opts_t;

/* One event's fate, filled in by its delivery report. */
typedef struct emit_result {
    char               *id;
    int32_t             partition;
    int64_t             offset;
    rd_kafka_resp_err_t err;
    bool                reported;
} emit_result_t;

/* The producer's opaque: the last error librdkafka reported outside a delivery report. */
typedef struct emit_state {
    char last_error[512];
    bool brokers_down;          /* no bootstrap broker could be reached */
} emit_state_t;

static void
emit_usage(FILE *out)
{
    fprintf(out,
        "Usage: ksensorctl emit [-c FILE] [--brokers B] [--topic T] --source S --subject T [--type TYPE]\n"
        "                       [--id ID] [--data JSON | --data @FILE] [--count N] [--binary] [--json]\n"
        "Publishes CloudEvents 1.0 to the event topic as an Argo EventSource does: key \"SOURCE.SUBJECT\",\n"
        "datacontenttype application/json, time now (UTC). A sensor dependency matches them when its\n"
        "eventSourceName is SOURCE and its eventName is SUBJECT.\n"
        "  -c, --config FILE    the daemon's configuration (default " DEFAULT_CONFIG "):\n"
        "                       eventbus.brokers, eventbus.topic, TLS, SASL and librdkafka properties\n"
        "      --brokers B      bootstrap servers instead of eventbus.brokers; \"embedded\" is the address\n"
        "                       the running daemon wrote to <dataDir>/embedded-broker\n"
        "      --topic T        the topic instead of eventbus.topic\n"
        "      --source S       the event's source (required)\n"
        "      --subject T      the event's subject (required)\n"
        "      --type TYPE      the event's type (default ksensorctl.emit)\n"
        "      --id ID          the event's id; with --count N the ids are ID-1 … ID-N\n"
        "                       (default SUBJECT-<unix ms>-<n>)\n"
        "      --data JSON      the data: a JSON value, or @FILE to read it from FILE (@- standard input);\n"
        "                       default {}\n"
        "      --count N        how many events (default 1)\n"
        "      --binary         Kafka binary mode: ce_* headers, the data as the record value\n"
        "                       (default: structured mode, the whole event as JSON)\n"
        "      --json           print [{\"id\",\"partition\",\"offset\"},…] from the delivery reports; an event\n"
        "                       that was not delivered has \"error\" instead of partition and offset\n"
        "\n"
        "Exit status: 0 when every event was delivered, 1 when the event bus or the configuration has a\n"
        "problem or an event was not delivered, 2 on a usage error (including --data that is not JSON).\n");
}

/* --data: the JSON text itself, or @FILE (@- standard input). Prints the problem and returns -1 when it
 * cannot be read or is not JSON. */
static int
read_data(const char *arg, char **text, size_t *len)
{
    const char  *path = arg[0] == '@' ? arg + 1 : NULL;
    FILE        *fp = NULL;
    char        *buf = NULL;
    size_t       cap = 0, n;
    json_error_t jerr;
    json_t      *value;

    if (path == NULL) {
        buf = ks_strdup(arg);
        *len = strlen(buf);
    } else if ((fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r")) == NULL) {
        fprintf(stderr, "ksensorctl: --data %s: %s\n", arg, strerror(errno));
        return -1;
    } else {
        *len = 0;
        do {
            if (cap - *len < 4096)
                buf = ks_realloc(buf, cap = cap ? cap * 2 : 65536);
            n = fread(buf + *len, 1, cap - *len - 1, fp);
            *len += n;
        } while (n > 0);
        buf[*len] = '\0';
        if (ferror(fp)) {
            fprintf(stderr, "ksensorctl: --data %s: %s\n", arg, strerror(errno));
            free(buf);
            buf = NULL;
        }
        if (fp != stdin)
            fclose(fp);
        if (buf == NULL)
            return -1;
    }
    if ((value = json_loadb(buf, *len, EMIT_JSON_FLAGS, &jerr)) == NULL) {
        fprintf(stderr, "ksensorctl: --data%s%s: not valid JSON: %s (line %d, column %d)\n", path ? " " : "",
                path ? arg : "", jerr.text, jerr.line, jerr.column);
        free(buf);
        return -1;
    }
    json_decref(value);
    *text = buf;
    return 0;
}

static int64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    emit_result_t *r = msg->_private;

    (void)rk;
    (void)opaque;
    r->err = msg->err;
    r->partition = msg->partition;
    r->offset = msg->offset;
    r->reported = true;
}

/* Keeps the error to tell the user; "all brokers are down" only when nothing more precise came first. */
static void
on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    emit_state_t *st = opaque;
    char          fatal[256];

    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        st->brokers_down = true;
        if (st->last_error[0] != '\0')
            return;
    }
    if (err == RD_KAFKA_RESP_ERR__FATAL && rd_kafka_fatal_error(rk, fatal, sizeof(fatal)) != 0)
        reason = fatal;
    snprintf(st->last_error, sizeof(st->last_error), "%s", reason);
}

/* librdkafka's own log lines, except two kinds: CONFWARN, because eventbus.librdkafka serves the
 * workers' consumers too and this producer ignores their consumer properties; and FAIL (connection,
 * TLS, SASL failures), which also reach on_error and are reported once, with what emit was doing. */
static void
on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    (void)level;
    if (strcmp(fac, "CONFWARN") != 0 && strcmp(fac, "FAIL") != 0)
        fprintf(stderr, "ksensorctl: librdkafka %s: %s\n", fac, buf);
}

/* The topic must exist (the event topic belongs to the EventSources: nothing here creates it, unless
 * the broker creates topics on first use, as it would for an EventSource). This is also where an
 * unreachable event bus is found out: asked once a second for up to EMIT_TIMEOUT_MS, giving up early
 * once every bootstrap broker has refused (a stale embedded-broker file, a typo in --brokers). */
static int
topic_check(rd_kafka_t *rk, const emit_state_t *st, const char *topic, const char *brokers, bool embedded)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t               *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t             err;
    int64_t                         deadline = mono_ms() + EMIT_TIMEOUT_MS;
    int                             rc = -1;

    for (;;) {
        err = rd_kafka_metadata(rk, 0, rkt, &md, 1000);
        rd_kafka_poll(rk, 0);       /* serves on_error: what went wrong, whether all brokers are down */
        if (st->brokers_down || mono_ms() >= deadline)
            break;
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            /* a topic just created may have no leader yet: ask again */
            if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE)
                break;
            rd_kafka_metadata_destroy(md);
            md = NULL;
        }
        rd_kafka_poll(rk, 200);
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "ksensorctl: cannot reach the event bus at %s: %s%s%s%s\n", brokers, rd_kafka_err2str(err),
                st->last_error[0] ? " (" : "", st->last_error, st->last_error[0] ? ")" : "");
        if (embedded)
            fprintf(stderr, "ksensorctl: is the ksensord with the embedded broker still running?\n");
    } else if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        err = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
        fprintf(stderr, "ksensorctl: topic %s on %s: %s%s\n", topic, brokers, rd_kafka_err2str(err),
                err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ? " (the event topic belongs to the EventSources: "
                "create it, or name another with --topic)" : "");
    } else {
        rc = 0;
    }
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return rc;
}

/* Builds the event r->id names and hands it to the producer (r receives its delivery report). Returns 0;
 * -1 when a worker would refuse the event (a usage error: what was given); -2 when the producer refuses
 * it. Either is printed. */
static int
emit_one(rd_kafka_t *rk, const emit_opts_t *o, const char *key, const char *data, size_t data_len,
         const char *when, emit_result_t *r)
{
    static const char *const names[] = { "ce_specversion", "ce_id", "ce_source", "ce_type", "ce_subject",
                                         "ce_time", "content-type" };
    const char              *values[] = { "1.0", r->id, o->source, o->type, o->subject, when, "application/json" };
    /* The model's encoder reads these fields and never changes or frees them. */
    ks_event_t               ev = { .specversion = (char *)"1.0", .id = r->id, .source = (char *)o->source,
                                    .type = (char *)o->type, .subject = (char *)o->subject,
                                    .datacontenttype = (char *)"application/json", .time = (char *)when,
                                    .time_sec = INT64_MIN, .data = (unsigned char *)data, .data_len = data_len };
    ks_event_header_t        h[7];
    ks_event_t               check;
    rd_kafka_headers_t      *hdrs = rd_kafka_headers_new(7);
    rd_kafka_resp_err_t      err;
    const void              *value;
    size_t                   len;
    char                    *encoded = NULL, why[512];
    int                      rc;

    if (o->binary) {
        for (size_t i = 0; i < 7; i++) {
            h[i] = (ks_event_header_t){ names[i], values[i], strlen(values[i]) };
            rd_kafka_header_add(hdrs, names[i], -1, values[i], -1);
        }
        value = data, len = data_len;
        rc = ks_event_decode_binary(&check, h, 7, value, len, why, sizeof(why));
    } else {
        rd_kafka_header_add(hdrs, "content-type", -1, "application/cloudevents+json", -1);
        encoded = ks_event_encode(&ev, &len);
        value = encoded;
        rc = ks_event_decode(&check, value, len, why, sizeof(why));
    }
    if (rc != 0) {
        fprintf(stderr, "ksensorctl: a worker would refuse event %s: %s\n", r->id, why);
        rd_kafka_headers_destroy(hdrs);
        free(encoded);
        return -1;
    }
    ks_event_free(&check);
    for (;;) {
        err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_KEY(key, strlen(key)),
                                RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(r), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        rd_kafka_poll(rk, 100);     /* the local queue is full: let deliveries drain it */
    }
    free(encoded);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_headers_destroy(hdrs);    /* not taken over on failure */
        fprintf(stderr, "ksensorctl: cannot produce event %s to %s: %s\n", r->id, o->topic, rd_kafka_err2str(err));
        return -2;
    }
    return 0;
}

/* Flushes; on timeout purges what is left, so every result is final before the producer goes away. */
static void
emit_flush(rd_kafka_t *rk)
{
    if (rd_kafka_flush(rk, EMIT_TIMEOUT_MS) == RD_KAFKA_RESP_ERR__TIMED_OUT) {
        rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        (void)rd_kafka_flush(rk, 1000);
    }
}

/* Prints the outcome; returns how many events were not delivered. */
static size_t
emit_report(const emit_opts_t *o, const emit_state_t *st, const emit_result_t *res, size_t n)
{
    json_t *out = json_array();
    size_t  failed = 0;

    for (size_t i = 0; i < n; i++) {
        const emit_result_t *r = &res[i];
        const char          *why = !r->reported ? "no delivery report"
                                   : r->err == RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE
                                     || r->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE
                                     || r->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT
                                   ? "not delivered within 10 s" : rd_kafka_err2str(r->err);

        if (r->reported && r->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            json_array_append_new(out, json_pack("{s:s, s:i, s:I}", "id", r->id, "partition", (int)r->partition,
                                                 "offset", (json_int_t)r->offset));
            continue;
        }
        json_array_append_new(out, json_pack("{s:s, s:s}", "id", r->id, "error", why));
        if (failed++ < EMIT_MAX_REPORTS)
            fprintf(stderr, "ksensorctl: event %s: %s\n", r->id, why);
    }
    if (failed > EMIT_MAX_REPORTS)
        fprintf(stderr, "ksensorctl: … and %zu more\n", failed - EMIT_MAX_REPORTS);
    if (failed > 0)
        fprintf(stderr, "ksensorctl: %zu of %zu events not delivered to %s%s%s%s\n", failed, n, o->topic,
                st->last_error[0] ? " (last error: " : "", st->last_error, st->last_error[0] ? ")" : "");
    if (o->json) {
        char *text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

        puts(text ? text : "[]");
        free(text);
    } else if (failed < n) {
        printf("emitted %zu event%s to %s (%s mode)\n", n - failed, n - failed == 1 ? "" : "s", o->topic,
               o->binary ? "binary" : "structured");
    }
    json_decref(out);
    return failed;
}

int
ctl_emit(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },  { "brokers", required_argument, NULL, 'b' },
        { "topic", required_argument, NULL, 't' },   { "source", required_argument, NULL, 's' },
        { "subject", required_argument, NULL, 'S' }, { "type", required_argument, NULL, 'T' },
        { "id", required_argument, NULL, 'i' },      { "data", required_argument, NULL, 'd' },
        { "count", required_argument, NULL, 'n' },   { "binary", no_argument, NULL, 'B' },
        { "json", no_argument, NULL, 'j' },          { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    emit_opts_t       o = { .config = DEFAULT_CONFIG, .type = "ksensorctl.emit", .data = "{}", .count = 1 };
    emit_state_t      st = {0};
    emit_result_t    *res = NULL;
    ks_config_t      *cfg = NULL;
    ks_diag_t         diag = {0};
    rd_kafka_conf_t  *conf;
    rd_kafka_t       *rk = NULL;
    char             *data = NULL, *key = NULL, *end, addr[512], when[64], err[512];
    size_t            data_len = 0, n = 0;
    int64_t           now;
    bool              embedded;
    int               c, rc = CTL_PROBLEM;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o.config = optarg; break;
        case 'b': o.brokers = optarg; break;
        case 't': o.topic = optarg; break;
        case 's': o.source = optarg; break;
        case 'S': o.subject = optarg; break;
        case 'T': o.type = optarg; break;
        case 'i': o.id = optarg; break;
        case 'd': o.data = optarg; break;
        case 'B': o.binary = true; break;
        case 'j': o.json = true; break;
        case 'n':
            errno = 0;
            o.count = strtol(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || o.count < 1 || o.count > EMIT_MAX_COUNT) {
                fprintf(stderr, "ksensorctl: --count %s: expected a number from 1 to %d\n", optarg, EMIT_MAX_COUNT);
                return CTL_USAGE;
            }
            break;
        case 'h': emit_usage(stdout); return CTL_OK;
        default: emit_usage(stderr); return CTL_USAGE;
        }
    }
    if (optind != argc || o.source == NULL || o.subject == NULL) {
        if (optind == argc)
            fprintf(stderr, "ksensorctl: emit needs --source and --subject\n");
        emit_usage(stderr);
        return CTL_USAGE;
    }
    if (o.source[0] == '\0' || o.subject[0] == '\0' || o.type[0] == '\0' || (o.id && o.id[0] == '\0')
        || (o.topic && o.topic[0] == '\0') || (o.brokers && o.brokers[0] == '\0')) {
        fprintf(stderr, "ksensorctl: --source, --subject, --type, --id, --topic and --brokers must not be empty\n");
        return CTL_USAGE;
    }
    if (read_data(o.data, &data, &data_len) != 0)
        return CTL_USAGE;

    cfg = ks_config_load(o.config, &diag);
    for (size_t i = 0; i < diag.n; i++)
        fprintf(stderr, "%s\n", diag.msgs[i]);
    ks_diag_free(&diag);
    if (cfg == NULL)
        goto out;
    o.topic = o.topic ? o.topic : cfg->eventbus.topic;
    o.brokers = o.brokers ? o.brokers : cfg->eventbus.brokers;
    embedded = strcmp(o.brokers, "embedded") == 0;
    if (ctl_daemon_brokers(cfg, o.brokers, addr, sizeof(addr)) != 0)
        goto out;
    o.brokers = addr;

    conf = ks_kafka_conf(cfg, o.brokers);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_conf_set_opaque(conf, &st);
    if (rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof(err)) != RD_KAFKA_CONF_OK
        || (rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err))) == NULL) {
        fprintf(stderr, "ksensorctl: cannot create a Kafka producer: %s\n", err);
        rd_kafka_conf_destroy(conf);
        goto out;
    }
    if (topic_check(rk, &st, o.topic, o.brokers, embedded) != 0)
        goto out;

    key = ks_asprintf("%s.%s", o.source, o.subject);
    ks_log_timestamp(when, sizeof(when), &now);
    res = ks_calloc((size_t)o.count, sizeof(*res));
    for (n = 0; n < (size_t)o.count; n++) {
        int erc;

        res[n].id = o.id && o.count == 1 ? ks_strdup(o.id)
                  : o.id ? ks_asprintf("%s-%zu", o.id, n + 1)
                  : ks_asprintf("%s-%" PRId64 "-%zu", o.subject, now, n + 1);
        if ((erc = emit_one(rk, &o, key, data, data_len, when, &res[n])) != 0) {
            rc = erc == -1 ? CTL_USAGE : CTL_PROBLEM;
            free(res[n].id);
            break;
        }
        rd_kafka_poll(rk, 0);
    }
    emit_flush(rk);
    if (n < (size_t)o.count) {
        /* stopped early: what was queued is reported, the run fails */
        if (n > 0)
            (void)emit_report(&o, &st, res, n);
    } else {
        rc = emit_report(&o, &st, res, n) == 0 ? CTL_OK : CTL_PROBLEM;
    }

out:
    if (rk != NULL)
        rd_kafka_destroy(rk);
    for (size_t i = 0; res != NULL && i < n; i++)
        free(res[i].id);
    free(res);
    free(key);
    free(data);
    ks_config_free(cfg);
    return rc;
}
