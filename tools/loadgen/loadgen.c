/* loadgen.c — the load generator of `make bench`: produces COUNT CloudEvents to a Kafka topic.
 *
 *   loadgen -b BOOTSTRAP -t TOPIC -n COUNT [-r RATE] [-s SIZE] [-S SOURCE] [-e SUBJECTS]
 *           [-d uniform|roundrobin] [-i ID_PREFIX] [-x SEED]
 *
 * Each record is keyed "SOURCE.SUBJECT", as Argo's EventSources key events, and its value is a
 * structured CloudEvent 1.0 as ksensor accepts it (see tools/demo-events.jsonl):
 *
 *   {"specversion":"1.0","id":"lg-42","source":"bench","type":"webhook","subject":"s7",
 *    "datacontenttype":"application/json","time":"2026-11-28T06:40:00.123456Z",
 *    "data":{"seq":42,"pad":"xxxx"}}
 *
 * "time" is the wall clock at the moment the record is handed to librdkafka, with microseconds: the
 * benchmark measures event-to-action latency from it. "pad" is sized so that "data" is about SIZE
 * bytes (without -s, so that the whole event is about 200 bytes). SUBJECTS is a comma list of subjects
 * and ranges (x,y,z or s0..s999,t0..t9; s000..s999 for zero-padded names); each event takes its subject at random
 * (seeded by SEED, uniform) or in turn (roundrobin).
 *
 * RATE paces the events against the monotonic clock: event i is due at i/RATE seconds after the
 * start; the loop produces every event due, then sleeps until the next one is due, so the rate holds
 * however long each produce call takes. Without RATE (or with 0) events go out as fast as librdkafka
 * takes them. Each JSON value is written by hand into one reused buffer.
 *
 * One idempotent producer (acks=all, linger.ms=5, no compression). A full local queue is waited out
 * by polling; an event not delivered within 50 s fails, and the first failed delivery report stops
 * the run. At the end the producer is flushed (60 s) and one line goes to stdout, "COUNT events in
 * SECONDS s: RATE/s", counting the events delivered, from the first produce call to the end of the
 * flush. Exit status: 0 when every event was delivered, 1 when one was not (the reason on stderr),
 * 2 on a usage error. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#define LG_DEFAULT_TOTAL  200           /* bytes of a whole event without -s */
#define LG_MAX_SIZE       1000000       /* -s: stays under the broker's default message.max.bytes */
#define LG_MAX_SUBJECTS   1000000       /* subjects in a range */
#define LG_MAX_RATE       100000000L
#define LG_FLUSH_MS       60000
#define LG_DELIVERY_MS    "50000"       /* message.timeout.ms: a record undelivered by then fails */
#define LG_POLL_EVERY     1024          /* events produced between two delivery report polls */
#define LG_QUEUE_WAIT_MS  100           /* poll timeout while the local queue is full */
#define LG_NS             1000000000LL

typedef enum {
    LG_UNIFORM,
    LG_ROUNDROBIN
} lg_dist_t;

typedef struct lg_opts {
    const char *bootstrap;
    const char *topic;
    const char *source;
    const char *subjects;
    const char *id_prefix;
    long long   count;
    long        rate;               /* events per second; 0: as fast as possible */
    long        size;               /* bytes of "data"; -1: an event of LG_DEFAULT_TOTAL bytes */
    lg_dist_t   dist;
    uint64_t    seed;
} lg_opts_t;

/* One subject: its name escaped for a JSON string, and the record key "SOURCE.SUBJECT". */
typedef struct lg_subject {
    char   *json;
    char   *key;
    size_t  key_len;
} lg_subject_t;

typedef struct lg_subjects {
    lg_subject_t *v;
    size_t        n;
    size_t        alloc;
    size_t        max_json;         /* the longest escaped name */
} lg_subjects_t;

/* What the delivery reports and the error callback tell; the producer's opaque. */
typedef struct lg_stats {
    long long            delivered;
    long long            failed;
    rd_kafka_resp_err_t  first_err;
    int                  fatal;
} lg_stats_t;

typedef struct lg_run {
    const lg_opts_t   *opts;
    lg_subjects_t      subjects;
    char              *source_json;
    char              *prefix_json;
    char              *buf;         /* the event being built */
    size_t             cap;
    char              *pad;         /* LG_MAX_SIZE bytes of 'x' at most: what "pad" copies from */
    size_t             pad_len;
    time_t             date_sec;    /* the second date[] was formatted for */
    char               date[32];    /* "YYYY-MM-DDTHH:MM:SS" */
    uint64_t           rng;
    rd_kafka_t        *rk;
    rd_kafka_topic_t  *rkt;
    lg_stats_t         stats;
} lg_run_t;

#define LG_SYNOPSIS \
    "Usage: loadgen -b BOOTSTRAP -t TOPIC -n COUNT [-r RATE] [-s SIZE] [-S SOURCE] [-e SUBJECTS]\n" \
    "               [-d uniform|roundrobin] [-i ID_PREFIX] [-x SEED]\n"

static void
lg_usage(void)
{
    printf(LG_SYNOPSIS
        "Produces COUNT CloudEvents (structured JSON, key \"SOURCE.SUBJECT\", time = when produced) to\n"
        "TOPIC, then prints \"COUNT events in SECONDS s: RATE/s\" on stdout.\n"
        "  -b BOOTSTRAP   Kafka bootstrap servers (host:port,...)\n"
        "  -t TOPIC       the event topic\n"
        "  -n COUNT       the number of events\n"
        "  -r RATE        events per second, paced on the monotonic clock (default 0: as fast as possible)\n"
        "  -s SIZE        approximate bytes of each event's data (default: events of about %d bytes)\n"
        "  -S SOURCE      the events' source (default bench)\n"
        "  -e SUBJECTS    a comma list of subjects and ranges: x,y,z or s0..s999,t0..t9 (default x)\n"
        "  -d DIST        how each event picks its subject: uniform (at random, default) or roundrobin\n"
        "  -i ID_PREFIX   event ids are ID_PREFIX-SEQ (default lg)\n"
        "  -x SEED        the seed of the uniform choice (default 1)\n"
        "  -h             this help\n"
        "Exit status: 0 when every event was delivered, 1 when one was not, 2 on a usage error.\n",
        LG_DEFAULT_TOTAL);
}

static void *
lg_alloc(size_t size)
{
    void *p = malloc(size);

    if (p == NULL) {
        fprintf(stderr, "loadgen: out of memory\n");
        exit(1);
    }
    return p;
}

/* A decimal integer in [min, max], the whole string; -1 when it is not one. */
static int
lg_parse_num(const char *s, long long min, long long max, long long *out)
{
    char      *end;
    long long  v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

/* s as the content of a JSON string: quote, backslash and control characters escaped. */
static char *
lg_json_escape(const char *s, size_t len)
{
    char   *out = lg_alloc(len * 6 + 1);
    char   *p = out;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];

        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = (char) c;
        } else if (c < 0x20) {
            p += sprintf(p, "\\u%04x", c);
        } else {
            *p++ = (char) c;
        }
    }
    *p = '\0';
    return out;
}

static void
lg_subject_add(lg_subjects_t *ss, const char *source, const char *name, size_t len)
{
    lg_subject_t *s;
    size_t        json_len;

    if (ss->n == ss->alloc) {
        ss->alloc = ss->alloc ? ss->alloc * 2 : 16;
        ss->v = realloc(ss->v, ss->alloc * sizeof(ss->v[0]));
        if (ss->v == NULL) {
            fprintf(stderr, "loadgen: out of memory\n");
            exit(1);
        }
    }
    s = &ss->v[ss->n++];
    s->json = lg_json_escape(name, len);
    s->key_len = strlen(source) + 1 + len;
    s->key = lg_alloc(s->key_len + 1);
    snprintf(s->key, s->key_len + 1, "%s.%.*s", source, (int) len, name);
    json_len = strlen(s->json);
    if (json_len > ss->max_json) {
        ss->max_json = json_len;
    }
}

static void
lg_subjects_free(lg_subjects_t *ss)
{
    for (size_t i = 0; i < ss->n; i++) {
        free(ss->v[i].json);
        free(ss->v[i].key);
    }
    free(ss->v);
    ss->v = NULL;
    ss->n = ss->alloc = 0;
}

/* The length of the run of digits that ends s (of length len). */
static size_t
lg_trailing_digits(const char *s, size_t len)
{
    size_t n = 0;

    while (n < len && s[len - n - 1] >= '0' && s[len - n - 1] <= '9') {
        n++;
    }
    return n;
}

/* "PREFIX<FIRST>..[PREFIX]<LAST>": PREFIX followed by each number from FIRST to LAST; when FIRST is
 * written with leading zeros (s000), every number is padded to its width. */
static int
lg_subjects_range(lg_subjects_t *ss, const char *source, const char *range, const char *dots)
{
    size_t      left_len = (size_t) (dots - range);
    size_t      ndig = lg_trailing_digits(range, left_len);
    size_t      plen = left_len - ndig;
    const char *right = dots + 2;
    long long   first, last;
    char        num[32], name[256];
    int         width;

    if (ndig == 0 || ndig >= sizeof(num) || plen >= sizeof(name) - sizeof(num)) {
        goto bad;
    }
    memcpy(num, range + plen, ndig);
    num[ndig] = '\0';
    if (lg_parse_num(num, 0, INT64_MAX, &first) != 0) {
        goto bad;
    }
    if (strncmp(right, range, plen) == 0 && lg_trailing_digits(right, strlen(right)) < strlen(right)) {
        right += plen;
    }
    if (right[0] < '0' || right[0] > '9' || lg_parse_num(right, first, INT64_MAX, &last) != 0) {
        goto bad;
    }
    if (last - first >= LG_MAX_SUBJECTS) {
        fprintf(stderr, "loadgen: -e %s: more than %d subjects\n", range, LG_MAX_SUBJECTS);
        return -1;
    }
    width = (ndig > 1 && num[0] == '0') ? (int) ndig : 0;
    for (long long i = first; i <= last; i++) {
        int len = snprintf(name, sizeof(name), "%.*s%0*lld", (int) plen, range, width, i);

        lg_subject_add(ss, source, name, (size_t) len);
    }
    return 0;

bad:
    fprintf(stderr, "loadgen: -e %s: a range is PREFIX<FIRST>..[PREFIX]<LAST>, as in s0..s999\n", range);
    return -1;
}

/* "x,y,s0..s9": a comma list whose elements are subjects or ranges, none empty. */
static int
lg_subjects_parse(lg_subjects_t *ss, const char *source, const char *spec)
{
    char *copy = lg_alloc(strlen(spec) + 1), *item, *next;
    int   rc = 0;

    strcpy(copy, spec);
    for (item = copy; rc == 0 && item != NULL; item = next) {
        char *dots;

        if ((next = strchr(item, ',')) != NULL)
            *next++ = '\0';
        if (item[0] == '\0') {
            fprintf(stderr, "loadgen: -e %s: an empty subject\n", spec);
            rc = -1;
        } else if ((dots = strstr(item, "..")) != NULL) {
            rc = lg_subjects_range(ss, source, item, dots);
        } else {
            lg_subject_add(ss, source, item, strlen(item));
        }
    }
    free(copy);
    return rc;
}

/* splitmix64: a small, well-mixed generator whose whole state is one seed. */
static uint64_t
lg_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n), without the bias of a bare modulo. */
static size_t
lg_rand_below(uint64_t *state, size_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t r;

    do {
        r = lg_rand(state);
    } while (r >= limit);
    return (size_t) (r % n);
}

static const lg_subject_t *
lg_next_subject(lg_run_t *run, long long seq)
{
    size_t n = run->subjects.n;

    if (run->opts->dist == LG_ROUNDROBIN) {
        return &run->subjects.v[(size_t) (seq % (long long) n)];
    }
    return &run->subjects.v[lg_rand_below(&run->rng, n)];
}

static long long
lg_mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * LG_NS + ts.tv_nsec;
}

/* Nanoseconds after the start at which event i is due: ceil(i * 1e9 / rate), without overflow. */
static long long
lg_due_ns(long long i, long rate)
{
    return (i / rate) * LG_NS + ((i % rate) * LG_NS + rate - 1) / rate;
}

/* How many events are due elapsed nanoseconds after the start: those with i * 1e9 / rate <= elapsed. */
static long long
lg_due_count(long long elapsed, long rate)
{
    return (elapsed / LG_NS) * rate + (elapsed % LG_NS) * rate / LG_NS + 1;
}

static void
lg_sleep_until(long long mono_ns)
{
    struct timespec ts = { .tv_sec = mono_ns / LG_NS, .tv_nsec = mono_ns % LG_NS };

    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
        /* again, to the same deadline */
    }
}

/* The current UTC time as RFC 3339 with microseconds; the date part is formatted once a second. */
static long
lg_wall_clock(lg_run_t *run)
{
    struct timespec ts;
    struct tm       tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != run->date_sec) {
        gmtime_r(&ts.tv_sec, &tm);
        strftime(run->date, sizeof(run->date), "%Y-%m-%dT%H:%M:%S", &tm);
        run->date_sec = ts.tv_sec;
    }
    return ts.tv_nsec / 1000;
}

/* Writes event seq into run->buf and returns its length. */
static size_t
lg_build(lg_run_t *run, long long seq, const lg_subject_t *subj)
{
    long    usec = lg_wall_clock(run);
    size_t  env, head, target, pad = 0;
    int     n;

    n = snprintf(run->buf, run->cap,
        "{\"specversion\":\"1.0\",\"id\":\"%s-%lld\",\"source\":\"%s\",\"type\":\"webhook\","
        "\"subject\":\"%s\",\"datacontenttype\":\"application/json\",\"time\":\"%s.%06ldZ\",\"data\":",
        run->prefix_json, seq, run->source_json, subj->json, run->date, usec);
    env = (size_t) n;
    n = snprintf(run->buf + env, run->cap - env, "{\"seq\":%lld,\"pad\":\"", seq);
    head = (size_t) n;

    /* "data" ends with "}, the event with one more }. */
    if (run->opts->size >= 0) {
        target = (size_t) run->opts->size;
    } else {
        target = env + 1 < LG_DEFAULT_TOTAL ? LG_DEFAULT_TOTAL - env - 1 : 0;
    }
    if (target > head + 2) {
        pad = target - head - 2;
    }
    if (pad > run->pad_len) {
        pad = run->pad_len;
    }
    memcpy(run->buf + env + head, run->pad, pad);
    memcpy(run->buf + env + head + pad, "\"}}", 3);
    return env + head + pad + 3;
}

/* Hands event seq to librdkafka, waiting while its queue is full; -1 when the run must stop. */
static int
lg_produce(lg_run_t *run, long long seq)
{
    const lg_subject_t  *subj = lg_next_subject(run, seq);
    rd_kafka_resp_err_t  err;
    size_t               len;

    for (;;) {
        len = lg_build(run, seq, subj);
        if (rd_kafka_produce(run->rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, run->buf, len,
                             subj->key, subj->key_len, NULL) == 0) {
            return 0;
        }
        err = rd_kafka_last_error();
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            fprintf(stderr, "loadgen: produce event %lld: %s\n", seq, rd_kafka_err2str(err));
            return -1;
        }
        rd_kafka_poll(run->rk, LG_QUEUE_WAIT_MS);
        if (run->stats.failed > 0 || run->stats.fatal) {
            return -1;
        }
    }
}

/* Produces every event, paced when a rate is set; stops at the first failure. */
static void
lg_produce_all(lg_run_t *run, long long start)
{
    const lg_opts_t *o = run->opts;
    long long        i = 0, upto;

    while (i < o->count) {
        upto = o->count;
        if (o->rate > 0) {
            upto = lg_due_count(lg_mono_ns() - start, o->rate);
            if (upto > o->count) {
                upto = o->count;
            }
            if (upto <= i) {
                rd_kafka_poll(run->rk, 0);
                lg_sleep_until(start + lg_due_ns(i, o->rate));
                continue;
            }
        }
        for (; i < upto; i++) {
            if (lg_produce(run, i) != 0) {
                return;
            }
            if (i % LG_POLL_EVERY == LG_POLL_EVERY - 1) {
                rd_kafka_poll(run->rk, 0);
                if (run->stats.failed > 0 || run->stats.fatal) {
                    return;
                }
            }
        }
    }
}

static void
lg_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    lg_stats_t *st = opaque;

    (void) rk;
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        st->delivered++;
        return;
    }
    if (st->failed++ == 0) {
        st->first_err = msg->err;
    }
}

static void
lg_on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    lg_stats_t *st = opaque;
    char        fatal[512];

    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
        fprintf(stderr, "loadgen: kafka: fatal error: %s\n", fatal);
        st->fatal = 1;
        return;
    }
    if (err != RD_KAFKA_RESP_ERR__TRANSPORT) {     /* librdkafka logs those itself */
        fprintf(stderr, "loadgen: kafka: %s\n", reason);
    }
}

static int
lg_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value)
{
    char err[512];

    if (rd_kafka_conf_set(conf, name, value, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "loadgen: %s=%s: %s\n", name, value, err);
        return -1;
    }
    return 0;
}

static int
lg_producer_open(lg_run_t *run)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char             err[512];

    if (lg_conf_set(conf, "bootstrap.servers", run->opts->bootstrap) != 0
        || lg_conf_set(conf, "enable.idempotence", "true") != 0
        || lg_conf_set(conf, "acks", "all") != 0
        || lg_conf_set(conf, "linger.ms", "5") != 0
        || lg_conf_set(conf, "compression.codec", "none") != 0
        || lg_conf_set(conf, "message.timeout.ms", LG_DELIVERY_MS) != 0) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_conf_set_opaque(conf, &run->stats);
    rd_kafka_conf_set_dr_msg_cb(conf, lg_on_delivery);
    rd_kafka_conf_set_error_cb(conf, lg_on_error);
    run->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (run->rk == NULL) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "loadgen: %s\n", err);
        return -1;
    }
    run->rkt = rd_kafka_topic_new(run->rk, run->opts->topic, NULL);
    if (run->rkt == NULL) {
        fprintf(stderr, "loadgen: topic %s: %s\n", run->opts->topic,
                rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    return 0;
}

/* Waits for the outstanding delivery reports; whatever is still queued after LG_FLUSH_MS fails. */
static void
lg_flush(lg_run_t *run)
{
    if (rd_kafka_flush(run->rk, LG_FLUSH_MS) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        return;
    }
    fprintf(stderr, "loadgen: %d events still undelivered after %d s\n",
            rd_kafka_outq_len(run->rk), LG_FLUSH_MS / 1000);
    rd_kafka_purge(run->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(run->rk, 0);
}

static int
lg_report(const lg_run_t *run, long long elapsed)
{
    const lg_opts_t  *o = run->opts;
    const lg_stats_t *st = &run->stats;
    double            secs = (double) elapsed / LG_NS;

    printf("%lld events in %.3f s: %.0f/s\n", st->delivered, secs,
           secs > 0 ? (double) st->delivered / secs : 0.0);
    if (st->delivered == o->count) {
        return 0;
    }
    if (st->failed > 0) {
        fprintf(stderr, "loadgen: %lld of %lld events not delivered: %s\n", o->count - st->delivered,
                o->count, rd_kafka_err2str(st->first_err));
    } else {
        fprintf(stderr, "loadgen: %lld of %lld events not delivered\n", o->count - st->delivered,
                o->count);
    }
    return 1;
}

/* Everything that does not depend on the broker: subjects, escaped strings, buffers. */
static int
lg_run_init(lg_run_t *run, const lg_opts_t *o)
{
    size_t data_max;

    memset(run, 0, sizeof(*run));
    run->opts = o;
    run->rng = o->seed;
    run->date_sec = (time_t) -1;
    if (lg_subjects_parse(&run->subjects, o->source, o->subjects) != 0) {
        return -1;
    }
    run->source_json = lg_json_escape(o->source, strlen(o->source));
    run->prefix_json = lg_json_escape(o->id_prefix, strlen(o->id_prefix));
    data_max = o->size >= 0 ? (size_t) o->size : LG_DEFAULT_TOTAL;
    run->pad_len = data_max;
    run->pad = lg_alloc(data_max + 1);
    memset(run->pad, 'x', data_max);
    /* the fixed text of an event is under 200 bytes, and a number under 24 */
    run->cap = 256 + strlen(run->prefix_json) + strlen(run->source_json) + run->subjects.max_json
               + 2 * 24 + 64 + data_max;
    run->buf = lg_alloc(run->cap);
    return 0;
}

static void
lg_run_free(lg_run_t *run)
{
    if (run->rkt != NULL) {
        rd_kafka_topic_destroy(run->rkt);
    }
    if (run->rk != NULL) {
        rd_kafka_destroy(run->rk);
    }
    lg_subjects_free(&run->subjects);
    free(run->source_json);
    free(run->prefix_json);
    free(run->pad);
    free(run->buf);
}

static int
lg_main(const lg_opts_t *o)
{
    lg_run_t   run;
    long long  start, elapsed;
    int        rc;

    if (lg_run_init(&run, o) != 0) {
        lg_run_free(&run);
        return 2;
    }
    if (lg_producer_open(&run) != 0) {
        lg_run_free(&run);
        return 1;
    }
    start = lg_mono_ns();
    lg_produce_all(&run, start);
    lg_flush(&run);
    elapsed = lg_mono_ns() - start;
    rc = lg_report(&run, elapsed);
    lg_run_free(&run);
    return rc;
}

static int
lg_parse_args(int argc, char **argv, lg_opts_t *o)
{
    long long v;
    int       c;

    while ((c = getopt(argc, argv, "b:t:n:r:s:S:e:d:i:x:h")) != -1) {
        switch (c) {
        case 'b': o->bootstrap = optarg; break;
        case 't': o->topic = optarg; break;
        case 'S': o->source = optarg; break;
        case 'e': o->subjects = optarg; break;
        case 'i': o->id_prefix = optarg; break;
        case 'n':
            if (lg_parse_num(optarg, 0, INT64_MAX / 2, &v) != 0) {
                fprintf(stderr, "loadgen: -n %s: not a count of events\n", optarg);
                return -1;
            }
            o->count = v;
            break;
        case 'r':
            if (lg_parse_num(optarg, 0, LG_MAX_RATE, &v) != 0) {
                fprintf(stderr, "loadgen: -r %s: not a rate from 0 to %ld/s\n", optarg, LG_MAX_RATE);
                return -1;
            }
            o->rate = (long) v;
            break;
        case 's':
            if (lg_parse_num(optarg, 0, LG_MAX_SIZE, &v) != 0) {
                fprintf(stderr, "loadgen: -s %s: not a size from 0 to %d bytes\n", optarg, LG_MAX_SIZE);
                return -1;
            }
            o->size = (long) v;
            break;
        case 'd':
            if (strcmp(optarg, "uniform") == 0) {
                o->dist = LG_UNIFORM;
            } else if (strcmp(optarg, "roundrobin") == 0) {
                o->dist = LG_ROUNDROBIN;
            } else {
                fprintf(stderr, "loadgen: -d %s: uniform or roundrobin\n", optarg);
                return -1;
            }
            break;
        case 'x':
            if (lg_parse_num(optarg, 0, INT64_MAX, &v) != 0) {
                fprintf(stderr, "loadgen: -x %s: not a seed\n", optarg);
                return -1;
            }
            o->seed = (uint64_t) v;
            break;
        case 'h':
            lg_usage();
            exit(0);
        default:
            return -1;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "loadgen: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (o->bootstrap == NULL || o->topic == NULL || o->count < 0) {
        fprintf(stderr, "loadgen: -b, -t and -n are required\n");
        return -1;
    }
    if (o->source[0] == '\0' || o->subjects[0] == '\0' || o->topic[0] == '\0') {
        fprintf(stderr, "loadgen: the topic, the source and the subjects must not be empty\n");
        return -1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    lg_opts_t opts = {
        .source = "bench",
        .subjects = "x",
        .id_prefix = "lg",
        .count = -1,
        .size = -1,
        .dist = LG_UNIFORM,
        .seed = 1,
    };

    if (lg_parse_args(argc, argv, &opts) != 0) {
        fputs(LG_SYNOPSIS "Try 'loadgen -h' for more information.\n", stderr);
        return 2;
    }
    return lg_main(&opts);
}
