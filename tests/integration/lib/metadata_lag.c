/* metadata_lag.c — an LD_PRELOAD shim for t_pipeline_startup.sh: a broker's metadata lags behind
 * topic creation. Right after CreateTopics succeeds, a metadata request may still answer "unknown
 * topic" for the new topic (the broker's metadata cache is updated asynchronously; seen in about 1
 * of 60 fresh starts against the test broker). This shim makes that happen every time: in the
 * KS_LAG_CALL-th rd_kafka_metadata() answer that lists a topic whose name ends with KS_LAG_SUFFIX
 * (asked for by name or among all topics), that topic is reported unknown
 * (RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, no partitions); every other answer is passed through.
 * Built by the test itself; not part of the GNUmakefile's build. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

typedef rd_kafka_resp_err_t (*metadata_fn)(rd_kafka_t *, int, rd_kafka_topic_t *,
                                           const struct rd_kafka_metadata **, int);

static int
ends_with(const char *name, const char *suffix)
{
    size_t n = strlen(name), s = strlen(suffix);

    return n >= s && strcmp(name + n - s, suffix) == 0;
}

rd_kafka_resp_err_t
rd_kafka_metadata(rd_kafka_t *rk, int all_topics, rd_kafka_topic_t *only_rkt,
                  const struct rd_kafka_metadata **metadatap, int timeout_ms)
{
    static metadata_fn  real;
    static int          calls;
    const char         *suffix = getenv("KS_LAG_SUFFIX"), *nth = getenv("KS_LAG_CALL");
    rd_kafka_resp_err_t err;

    if (real == NULL)
        real = (metadata_fn)dlsym(RTLD_NEXT, "rd_kafka_metadata");
    err = real(rk, all_topics, only_rkt, metadatap, timeout_ms);
    if (err || suffix == NULL || *metadatap == NULL)
        return err;
    for (int i = 0; i < (*metadatap)->topic_cnt; i++) {
        struct rd_kafka_metadata_topic *t = (struct rd_kafka_metadata_topic *)&(*metadatap)->topics[i];

        if (t->err != 0 || !ends_with(t->topic, suffix))
            continue;
        if (++calls == (nth ? atoi(nth) : 1)) {
            t->err = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
            t->partition_cnt = 0;
        }
        break;
    }
    return err;
}
