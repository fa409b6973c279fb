/* ctl_offsets.c — `ksensorctl offsets`: per partition of the event topic and of the trigger and
 * action topics (the pool's, or with topicLayout per-sensor each sensor's), the pool's committed
 * offset, the end offset and the lag; for trigger partitions also the changelog position this host's
 * SQLite file records and the end of the matching -state topic.
 *
 * The offsets are fetched from the group coordinator without joining the group (a consumer handle
 * that never subscribes), so a running daemon is not disturbed. End offsets are read_committed (the
 * last stable offset); transactional writes leave a commit marker after their records, so a
 * partition processed to its end may show a lag of a marker or two. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "core/mem.h"
#include "sensor/load.h"
#include "core/config.h"
#include "sup_supervisor.h"
#include "pipeline/kafka_conf.h"

#define DEFAULT_CONFIG KS_SYSCONFDIR "/ksensord.yaml"
#define KAFKA_TIMEOUT  10000

static void
offsets_usage(FILE *out)
{
    fprintf(out,
        "Usage: ksensorctl offsets [-c FILE] [--json]\n"
        "Per partition of the event topic and the trigger and action topics (<pool>-trigger, or with\n"
        "topicLayout per-sensor <topic>-<sensor>-trigger): the pool's committed offset,\n"
        "the end offset (read_committed) and the lag; for trigger partitions also the changelog position\n"
        "recorded in this host's SQLite file and the end of <pool>-state. The group is not joined.\n"
        "Topics written in transactions end with a commit marker: a partition processed to its end\n"
        "shows a lag of 1.\n"
        "\n"
        "  -c, --config FILE   the daemon's configuration (default " DEFAULT_CONFIG ")\n"
        "      --json          one JSON array instead of a table\n"
        "\n"
        "Exit status: 0 on success, 1 when Kafka or a task file cannot be read, 2 on a usage error.\n");
}

static int
partitions_of(rd_kafka_t *rk, const char *topic)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t               *rkt = rd_kafka_topic_new(rk, topic, NULL);
    int                             n = -1;

    if (rd_kafka_metadata(rk, 0, rkt, &md, KAFKA_TIMEOUT) == 0 && md->topic_cnt == 1 && md->topics[0].err == 0)
        n = md->topics[0].partition_cnt;
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return n;
}

/* A topic to report: the event topic, or one set's trigger (with its state topic) or action topic. */
typedef struct offsets_topic {
    char name[300];
    char state[300];            /* trigger topics: the changelog; "" otherwise */
} offsets_topic_t;

/* The topics of the configuration's layout: the pool's, or every sensor's (which needs them loaded). */
static offsets_topic_t *
topics_of(const ks_config_t *cfg, const ks_pool_t *pool, size_t *n)
{
    size_t           nsets = pool != NULL ? pool->nsensors : 1;
    offsets_topic_t *t = ks_calloc(1 + 2 * nsets, sizeof(*t));

    snprintf(t[0].name, sizeof(t[0].name), "%s", cfg->eventbus.topic);
    *n = 1;
    for (size_t i = 0; i < nsets; i++) {
        char prefix[256];

        if (pool != NULL)
            snprintf(prefix, sizeof(prefix), "%s-%s", cfg->eventbus.topic, pool->sensors[i]->name);
        else
            snprintf(prefix, sizeof(prefix), "%s", cfg->pool);
        snprintf(t[*n].name, sizeof(t[*n].name), "%s-trigger", prefix);
        snprintf(t[*n].state, sizeof(t[*n].state), "%s-state", prefix);
        snprintf(t[*n + 1].name, sizeof(t[*n + 1].name), "%s-action", prefix);
        *n += 2;
    }
    return t;
}

/* The changelog position this host's trigger task file records, -1 when there is none. */
static int64_t
changelog_position(const ks_config_t *cfg, const char *topic, int32_t partition, int *rc)
{
    char          path[4096];
    sqlite3      *db;
    sqlite3_stmt *st;
    int64_t       pos = -1;

    snprintf(path, sizeof(path), "%s/%s-%d.db", cfg->data_dir, topic, (int)partition);
    if (access(path, F_OK) != 0)
        return -1;
    if ((db = ctl_open_task(path, "position")) == NULL) {
        *rc = CTL_PROBLEM;
        return -1;
    }
    if (sqlite3_prepare_v2(db, "SELECT value FROM position WHERE name = 'changelog'", -1, &st, NULL) == SQLITE_OK
        && sqlite3_step(st) == SQLITE_ROW)
        pos = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return pos;
}

static json_t *
offset_or_null(int64_t v)
{
    return v >= 0 ? json_integer(v) : json_null();
}

static void
cell(char *buf, size_t len, int64_t v)
{
    if (v >= 0)
        snprintf(buf, len, "%lld", (long long)v);
    else
        snprintf(buf, len, "-");
}

int
ctl_offsets(int argc, char **argv)
{
    const char      *config = DEFAULT_CONFIG;
    bool             json = false;
    ks_diag_t        diag = {0};
    ks_config_t     *cfg;
    ks_pool_t       *pool = NULL;
    rd_kafka_conf_t *conf;
    rd_kafka_t      *rk;
    char             brokers[1024], err[512];
    offsets_topic_t *topics;
    size_t           ntopics;
    json_t          *out;
    ctl_table_t      table = { NULL, 7, { 0 } };
    int              c, rc = CTL_OK;

    if ((c = ctl_config_options(argc, argv, offsets_usage, &config, &json)) >= 0)
        return c;
    if ((cfg = ks_config_load(config, &diag)) != NULL && cfg->eventbus.topic_layout == KS_LAYOUT_PER_SENSOR) {
        /* the topics are the sensors': load them as the daemon does */
        ks_config_free(cfg);
        if (ks_supervisor_load(config, &cfg, &pool, &diag) != 0)
            cfg = NULL;
    }
    if (cfg == NULL) {
        for (size_t i = 0; i < diag.n; i++)
            fprintf(stderr, "%s\n", diag.msgs[i]);
        ks_diag_free(&diag);
        return CTL_PROBLEM;
    }
    if (ctl_daemon_brokers(cfg, cfg->eventbus.brokers, brokers, sizeof(brokers)) != 0) {
        if (pool != NULL) {
            ks_pool_free(pool);
            free(pool);
        }
        ks_config_free(cfg);
        return CTL_PROBLEM;
    }
    conf = ks_kafka_conf(cfg, brokers);
    rd_kafka_conf_set(conf, "group.id", cfg->pool, err, sizeof(err));
    rd_kafka_conf_set(conf, "isolation.level", "read_committed", err, sizeof(err));
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    if ((rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err))) == NULL) {
        fprintf(stderr, "ksensorctl: rd_kafka_new failed: %s\n", err);
        if (pool != NULL) {
            ks_pool_free(pool);
            free(pool);
        }
        ks_config_free(cfg);
        return CTL_PROBLEM;
    }
    out = json_array();
    table.rows = json_array();
    topics = topics_of(cfg, pool, &ntopics);
    ctl_table_add(&table, (const char *const[]){ "TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "CHANGELOG",
                                                 "STATE-END" });
    for (size_t t = 0; t < ntopics; t++) {
        const char                      *topic = topics[t].name;
        int                              n = partitions_of(rk, topic);
        rd_kafka_topic_partition_list_t *parts;
        rd_kafka_resp_err_t              kerr;

        if (n <= 0) {
            fprintf(stderr, "ksensorctl: topic %s: not found at %s\n", topic, brokers);
            rc = CTL_PROBLEM;
            continue;
        }
        parts = rd_kafka_topic_partition_list_new(n);
        for (int p = 0; p < n; p++)
            rd_kafka_topic_partition_list_add(parts, topic, p);
        if ((kerr = rd_kafka_committed(rk, parts, KAFKA_TIMEOUT)) != 0) {
            fprintf(stderr, "ksensorctl: committed offsets of %s: %s\n", topic, rd_kafka_err2str(kerr));
            rc = CTL_PROBLEM;
        }
        for (int p = 0; p < n && kerr == 0; p++) {
            int64_t low = -1, high = -1, committed = parts->elems[p].offset, lag, changelog = -1, state_end = -1;
            char    cells[6][32];
            json_t *row;

            if (rd_kafka_query_watermark_offsets(rk, topic, p, &low, &high, KAFKA_TIMEOUT) != 0) {
                fprintf(stderr, "ksensorctl: end offset of %s/%d: cannot be read\n", topic, p);
                rc = CTL_PROBLEM;
                continue;
            }
            lag = high - (committed >= 0 ? committed : low);
            row = json_pack("{s:s, s:i, s:o, s:I, s:I}", "topic", topic, "partition", p, "committed",
                            offset_or_null(committed), "end", (json_int_t)high, "lag", (json_int_t)lag);
            if (topics[t].state[0] != '\0') {
                changelog = changelog_position(cfg, topic, p, &rc);
                if (rd_kafka_query_watermark_offsets(rk, topics[t].state, p, &low, &state_end, KAFKA_TIMEOUT) != 0)
                    state_end = -1;
                json_object_set_new(row, "changelog_position", offset_or_null(changelog));
                json_object_set_new(row, "state_end", offset_or_null(state_end));
            }
            json_array_append_new(out, row);
            snprintf(cells[0], sizeof(cells[0]), "%d", p);
            cell(cells[1], sizeof(cells[1]), committed);
            cell(cells[2], sizeof(cells[2]), high);
            cell(cells[3], sizeof(cells[3]), lag);
            cell(cells[4], sizeof(cells[4]), changelog);
            cell(cells[5], sizeof(cells[5]), state_end);
            ctl_table_add(&table, (const char *const[]){ topic, cells[0], cells[1], cells[2], cells[3],
                                                         cells[4], cells[5] });
        }
        rd_kafka_topic_partition_list_destroy(parts);
    }
    if (json) {
        char *text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

        puts(text);
        free(text);
    } else {
        ctl_table_print(&table);
    }
    json_decref(out);
    json_decref(table.rows);
    rd_kafka_destroy(rk);
    free(topics);
    if (pool != NULL) {
        ks_pool_free(pool);
        free(pool);
    }
    ks_config_free(cfg);
    return rc;
}
