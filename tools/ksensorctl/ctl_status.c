/* ctl_status.c — `ksensorctl status`: is the daemon up, and how are its workers and task files.
 *
 * Three sources, each optional: the pid file (running when its lock is held: a stale file says
 * nothing), the daemon's /metrics and /readyz on the address it bound (libcurl, a two-second
 * timeout), and the task files under dataDir (read-only). Exit status 0 only when the
 * daemon runs and every worker of its current generation is ready. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <curl/curl.h>

#include "ctl.h"
#include "core/mem.h"
#include "core/config.h"

#define DEFAULT_CONFIG  KS_SYSCONFDIR "/ksensord.yaml"
#define HTTP_TIMEOUT_MS 2000
#define MAX_BODY        (4 * 1024 * 1024)

typedef struct body {
    char   *data;
    size_t  len;
} body_t;

static void
status_usage(FILE *out)
{
    fprintf(out,
        "Usage: ksensorctl status [-c FILE] [--json]\n"
        "Whether ksensord runs (its pid file's lock), its generation, workers and sensors, lag and\n"
        "counters (from its /metrics and /readyz on the configuration's `listen` address), and each\n"
        "task file under dataDir: held events, firings, ledger rows, changelog position.\n"
        "\n"
        "  -c, --config FILE   the daemon's configuration (default " DEFAULT_CONFIG ")\n"
        "      --json          one JSON object instead of text\n"
        "\n"
        "Exit status: 0 when the daemon runs and every worker is ready, 1 otherwise, 2 on a usage error.\n");
}

/* The pid of the ksensord holding the pid file's lock, 0 when none does. */
static long
daemon_pid(const char *path)
{
    int  fd = open(path, O_RDONLY | O_CLOEXEC);
    char buf[32] = "";
    long pid = 0;

    if (fd < 0)
        return 0;
    if (flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
        ssize_t n = read(fd, buf, sizeof(buf) - 1);

        buf[n > 0 ? n : 0] = '\0';
        pid = strtol(buf, NULL, 10);
        if (pid <= 0)
            pid = -1;       /* locked, pid not written yet */
    }
    close(fd);
    return pid;
}

static size_t
on_body(char *ptr, size_t size, size_t n, void *opaque)
{
    body_t *b = opaque;
    size_t  len = size * n;

    if (b->len + len > MAX_BODY)
        return 0;
    b->data = ks_realloc(b->data, b->len + len + 1);
    memcpy(b->data + b->len, ptr, len);
    b->len += len;
    b->data[b->len] = '\0';
    return len;
}

/* GET http://<listen>PATH; returns the status (0 when unreachable), the body in *b. */
static long
http_get(const char *listen, const char *path, body_t *b)
{
    CURL       *curl = curl_easy_init();
    char        url[512], host[300];
    const char *colon = strrchr(listen, ':');
    long        status = 0;

    if (curl == NULL || colon == NULL)
        return 0;
    snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
    /* a wildcard listener is reached on loopback */
    snprintf(url, sizeof(url), "http://%s:%s%s", strcmp(host, "0.0.0.0") == 0 ? "127.0.0.1"
             : strcmp(host, "[::]") == 0 ? "[::1]" : host, colon + 1, path);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)HTTP_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, b);
    if (curl_easy_perform(curl) == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    return status;
}

/* The value of one sample ("name" or "name{labels}") of Prometheus text, or dflt. */
static double
metric(const char *text, const char *sample, double dflt)
{
    size_t      n = strlen(sample);
    const char *line = text;

    while (line != NULL && *line != '\0') {
        if (strncmp(line, sample, n) == 0 && line[n] == ' ')
            return strtod(line + n + 1, NULL);
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    return dflt;
}

static int64_t
scalar(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t       v = -1;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW
        && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* One task file: its counts, or NULL (reported) when it cannot be read. */
static json_t *
task_json(const char *path, bool trigger)
{
    sqlite3    *db = ctl_open_task(path, trigger ? "held" : "ledger");
    const char *base = strrchr(path, '/');
    json_t     *t;

    if (db == NULL)
        return NULL;
    t = json_pack("{s:s}", "task", base ? base + 1 : path);
    if (trigger) {
        json_object_set_new(t, "held", json_integer(scalar(db, "SELECT count(*) FROM held")));
        json_object_set_new(t, "firings", json_integer(scalar(db, "SELECT count(*) FROM firings")));
        json_object_set_new(t, "changelog_position",
                            json_integer(scalar(db, "SELECT value FROM position WHERE name = 'changelog'")));
    } else {
        json_object_set_new(t, "ledger", json_integer(scalar(db, "SELECT count(*) FROM ledger")));
        json_object_set_new(t, "failed",
                            json_integer(scalar(db, "SELECT count(*) FROM ledger WHERE status <> 'done'")));
    }
    sqlite3_close(db);
    return t;
}

static json_t *
tasks_json(const ks_config_t *cfg, int *rc)
{
    json_t *tasks = json_array();
    char    pattern[4096];
    glob_t  g;

    for (int trigger = 1; trigger >= 0; trigger--) {
        ctl_task_pattern(pattern, sizeof(pattern), cfg->data_dir, cfg->pool,
                         cfg->eventbus.topic_layout == KS_LAYOUT_PER_SENSOR ? cfg->eventbus.topic : NULL,
                         trigger ? "trigger" : "action");
        if (glob(pattern, 0, NULL, &g) != 0)
            continue;
        for (size_t i = 0; i < g.gl_pathc; i++) {
            json_t *t = task_json(g.gl_pathv[i], trigger);

            if (t != NULL)
                json_array_append_new(tasks, t);
            else
                *rc = CTL_PROBLEM;
        }
        globfree(&g);
    }
    return tasks;
}

static json_t *
daemon_json(const ks_config_t *cfg, long pid)
{
    body_t  metrics = { NULL, 0 }, ready = { NULL, 0 };
    char    listen[300];
    long    mstatus, rstatus;
    json_t *d = json_pack("{s:b, s:s}", "running", pid != 0, "pid_file", cfg->pid_file);

    ctl_daemon_listener(cfg, listen, sizeof(listen));
    mstatus = pid != 0 ? http_get(listen, "/metrics", &metrics) : 0;
    rstatus = pid != 0 ? http_get(listen, "/readyz", &ready) : 0;

    if (pid > 0)
        json_object_set_new(d, "pid", json_integer(pid));
    json_object_set_new(d, "ready", json_boolean(rstatus == 200));
    if (mstatus == 200) {
        const char *m = metrics.data;
        double      lag = metric(m, "ksensor_consumer_lag", -1);

        json_object_set_new(d, "generation", json_integer((json_int_t)metric(m, "ksensor_config_generation", 0)));
        json_object_set_new(d, "workers", json_pack("{s:I, s:I, s:I}",
            "wanted", (json_int_t)metric(m, "ksensor_workers{state=\"wanted\"}", 0),
            "up", (json_int_t)metric(m, "ksensor_workers{state=\"up\"}", 0),
            "ready", (json_int_t)metric(m, "ksensor_workers{state=\"ready\"}", 0)));
        json_object_set_new(d, "sensors", json_integer((json_int_t)metric(m, "ksensor_sensors", 0)));
        json_object_set_new(d, "partitions", json_integer((json_int_t)metric(m, "ksensor_partitions_assigned", 0)));
        json_object_set_new(d, "lag", lag < 0 ? json_null() : json_integer((json_int_t)lag));
        json_object_set_new(d, "counters", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}",
            "events", (json_int_t)metric(m, "ksensor_events_total", 0),
            "events_bad", (json_int_t)metric(m, "ksensor_events_bad_total", 0),
            "firings", (json_int_t)metric(m, "ksensor_firings_total", 0),
            "actions_ok", (json_int_t)metric(m, "ksensor_actions_total{result=\"ok\"}", 0),
            "actions_failed", (json_int_t)metric(m, "ksensor_actions_total{result=\"failed\"}", 0),
            "worker_restarts", (json_int_t)metric(m, "ksensor_worker_restarts_total", 0)));
    } else if (pid != 0) {
        json_object_set_new(d, "metrics_error", json_sprintf("no answer from http://%s/metrics", listen));
    }
    free(metrics.data);
    free(ready.data);
    return d;
}

static void
print_text(const json_t *d, const json_t *tasks)
{
    json_t     *t;
    size_t      i;
    ctl_table_t table = { json_array(), 5, { 0 } };

    if (!json_is_true(json_object_get(d, "running"))) {
        printf("daemon     not running (no process holds %s)\n", json_string_value(json_object_get(d, "pid_file")));
    } else if (json_object_get(d, "generation") == NULL) {
        printf("daemon     running (pid %lld); %s\n", (long long)json_integer_value(json_object_get(d, "pid")),
               json_string_value(json_object_get(d, "metrics_error")));
    } else {
        json_t *w = json_object_get(d, "workers"), *c = json_object_get(d, "counters"), *lag = json_object_get(d, "lag");

        printf("daemon     running (pid %lld), generation %lld, %s\n", (long long)json_integer_value(json_object_get(d, "pid")),
               (long long)json_integer_value(json_object_get(d, "generation")),
               json_is_true(json_object_get(d, "ready")) ? "ready" : "NOT READY");
        printf("workers    %lld wanted, %lld up, %lld ready; %lld partitions assigned; %lld sensors\n",
               (long long)json_integer_value(json_object_get(w, "wanted")),
               (long long)json_integer_value(json_object_get(w, "up")),
               (long long)json_integer_value(json_object_get(w, "ready")),
               (long long)json_integer_value(json_object_get(d, "partitions")),
               (long long)json_integer_value(json_object_get(d, "sensors")));
        if (json_is_null(lag))
            printf("lag        unknown\n");
        else
            printf("lag        %lld records\n", (long long)json_integer_value(lag));
        printf("counters   %lld events (%lld bad), %lld firings, %lld actions ok, %lld failed, %lld worker restarts\n",
               (long long)json_integer_value(json_object_get(c, "events")),
               (long long)json_integer_value(json_object_get(c, "events_bad")),
               (long long)json_integer_value(json_object_get(c, "firings")),
               (long long)json_integer_value(json_object_get(c, "actions_ok")),
               (long long)json_integer_value(json_object_get(c, "actions_failed")),
               (long long)json_integer_value(json_object_get(c, "worker_restarts")));
    }
    if (json_array_size(tasks) == 0) {
        printf("tasks      no task files in this dataDir\n");
        json_decref(table.rows);
        return;
    }
    printf("\n");
    ctl_table_add(&table, (const char *const[]){ "TASK", "HELD", "FIRINGS", "LEDGER", "CHANGELOG" });
    json_array_foreach(tasks, i, t) {
        char cells[4][32];
        const char *keys[4] = { "held", "firings", "ledger", "changelog_position" };

        for (int k = 0; k < 4; k++) {
            json_t *v = json_object_get(t, keys[k]);

            if (v == NULL || json_integer_value(v) < 0)
                snprintf(cells[k], sizeof(cells[k]), "-");
            else
                snprintf(cells[k], sizeof(cells[k]), "%lld", (long long)json_integer_value(v));
        }
        ctl_table_add(&table, (const char *const[]){ json_string_value(json_object_get(t, "task")), cells[0],
                                                     cells[1], cells[2], cells[3] });
    }
    ctl_table_print(&table);
    json_decref(table.rows);
}

int
ctl_status(int argc, char **argv)
{
    const char  *config = DEFAULT_CONFIG;
    bool         json = false;
    ks_diag_t    diag = {0};
    ks_config_t *cfg;
    json_t      *d, *tasks;
    int          c, rc = CTL_OK;
    long         pid;

    if ((c = ctl_config_options(argc, argv, status_usage, &config, &json)) >= 0)
        return c;
    if ((cfg = ks_config_load(config, &diag)) == NULL) {
        for (size_t i = 0; i < diag.n; i++)
            fprintf(stderr, "%s\n", diag.msgs[i]);
        ks_diag_free(&diag);
        return CTL_PROBLEM;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pid = daemon_pid(cfg->pid_file);
    d = daemon_json(cfg, pid);
    tasks = tasks_json(cfg, &rc);
    if (pid == 0 || !json_is_true(json_object_get(d, "ready")))
        rc = CTL_PROBLEM;
    if (json) {
        json_t *out = json_pack("{s:o, s:o}", "daemon", d, "tasks", tasks);
        char   *text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

        puts(text);
        free(text);
        json_decref(out);
    } else {
        print_text(d, tasks);
        json_decref(d);
        json_decref(tasks);
    }
    curl_global_cleanup();
    ks_config_free(cfg);
    return rc;
}
