/* ctl_state.c — `ksensorctl pending | firings | ledger`: the workers' SQLite task files, read-only.
 *
 * Files are found under dataDir (from the configuration, or --data-dir) by name:
 * <pool>-trigger-<p>.db (held events, firings) and <pool>-action-<p>.db (the action ledger). They are
 * opened read-only (ctl_tasks.c): a live worker is never blocked and nothing is changed. `firings`
 * reads both: the trigger stage's firings, and from the ledgers the firings of conditions without
 * && (the event stage sends those straight to the action topic), dated when their action ran. */
#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "ctl.h"
#include "core/diag.h"
#include "core/config.h"

#define DEFAULT_CONFIG KS_SYSCONFDIR "/ksensord.yaml"

typedef struct state_opts {
    const char *config;
    const char *data_dir;
    const char *pool;
    const char *sensor;
    const char *trigger;
    int64_t     since_ms;
    bool        json;
    json_t     *seen;           /* firings: the ids listed from trigger task files */
} state_opts_t;

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "45s", "10m", "2h", "3d" ago, as Unix ms; -1 if not a duration. */
static int64_t
parse_since(const char *s)
{
    char   *end;
    double  n = strtod(s, &end);
    int64_t unit = strcmp(end, "s") == 0 ? 1000 : strcmp(end, "m") == 0 ? 60000 : strcmp(end, "h") == 0
                 ? 3600000 : strcmp(end, "d") == 0 ? 86400000 : 0;

    return end == s || unit == 0 || n < 0 ? -1 : now_ms() - (int64_t)(n * (double)unit);
}

static void
format_age(int64_t ms, char *buf, size_t len)
{
    int64_t s = ms / 1000;

    if (s < 120)
        snprintf(buf, len, "%llds", (long long)s);
    else if (s < 7200)
        snprintf(buf, len, "%lldm", (long long)(s / 60));
    else if (s < 172800)
        snprintf(buf, len, "%lldh", (long long)(s / 3600));
    else
        snprintf(buf, len, "%lldd", (long long)(s / 86400));
}

static void
format_time(int64_t ms, char *buf, size_t len)
{
    time_t    t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *
text_or(sqlite3_stmt *st, int col, const char *dflt)
{
    const unsigned char *t = sqlite3_column_text(st, col);

    return t ? (const char *)t : dflt;
}

typedef int (*state_query_t)(sqlite3 *db, const char *file, const state_opts_t *o, ctl_table_t *t, json_t *out);

static int
query_pending(sqlite3 *db, const char *file, const state_opts_t *o, ctl_table_t *t, json_t *out)
{
    sqlite3_stmt *st;
    int64_t       now = now_ms();

    (void)file;
    if (sqlite3_prepare_v2(db, "SELECT sensor, trigger, dependency, held_at, source, length(event), "
                               "json_extract(event, '$.id') FROM held WHERE (?1 IS NULL OR sensor = ?1) "
                               "AND (?2 IS NULL OR trigger = ?2) ORDER BY sensor, trigger, held_at", -1, &st,
                           NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, o->sensor, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, o->trigger, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char        age[32], size[32];
        int64_t     held_at = sqlite3_column_int64(st, 3);
        const char *cells[6];

        format_age(now - held_at, age, sizeof(age));
        snprintf(size, sizeof(size), "%lld", (long long)sqlite3_column_int64(st, 5));
        cells[0] = text_or(st, 0, ""), cells[1] = text_or(st, 1, ""), cells[2] = text_or(st, 2, "");
        cells[3] = text_or(st, 6, ""), cells[4] = age, cells[5] = size;
        ctl_table_add(t, cells);
        json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:I}", "sensor", cells[0],
                                             "trigger", cells[1], "dependency", cells[2], "event_id", cells[3],
                                             "held_at_ms", (json_int_t)held_at, "source", text_or(st, 4, ""),
                                             "bytes", (json_int_t)sqlite3_column_int64(st, 5)));
    }
    return sqlite3_finalize(st) == SQLITE_OK ? 0 : -1;
}

/* Firings as JSON from a statement whose rows are (id, sensor, trigger, time in Unix ms, events). The
 * trigger stage's are remembered in o->seen; a ledger row already seen there is skipped. */
static int
firing_rows(sqlite3_stmt *st, const state_opts_t *o, bool ledger, json_t *out)
{
    sqlite3_bind_int64(st, 1, o->since_ms);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *id = text_or(st, 0, "");
        json_t     *events;

        if (ledger && json_object_get(o->seen, id) != NULL)
            continue;
        if (!ledger)
            json_object_set_new(o->seen, id, json_true());
        if ((events = json_loads(text_or(st, 4, "{}"), 0, NULL)) == NULL)
            events = json_object();
        json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:I, s:o}", "id", id, "sensor", text_or(st, 1, ""),
                                             "trigger", text_or(st, 2, ""), "fired_at_ms",
                                             (json_int_t)sqlite3_column_int64(st, 3), "events", events));
    }
    return sqlite3_finalize(st) == SQLITE_OK ? 0 : -1;
}

/* The trigger stage's firings (conditions with &&). Table rows come later, sorted with the
 * ledger's (firings_sorted). */
static int
query_firings(sqlite3 *db, const char *file, const state_opts_t *o, ctl_table_t *t, json_t *out)
{
    sqlite3_stmt *st;

    (void)file;
    (void)t;
    if (sqlite3_prepare_v2(db, "SELECT id, sensor, trigger, fired_at, events FROM firings WHERE fired_at >= ?", -1,
                           &st, NULL) != SQLITE_OK)
        return -1;
    return firing_rows(st, o, false, out);
}

/* The ledger's firings that no trigger task file listed (conditions without &&). */
static int
query_acted_firings(sqlite3 *db, const char *file, const state_opts_t *o, ctl_table_t *t, json_t *out)
{
    sqlite3_stmt *st;

    (void)file;
    (void)t;
    /* a file a worker has not opened since schema 003 has no events column yet */
    if (sqlite3_prepare_v2(db, "SELECT id, sensor, trigger, updated_at, events FROM ledger WHERE updated_at >= ?",
                           -1, &st, NULL) != SQLITE_OK
        && sqlite3_prepare_v2(db, "SELECT id, sensor, trigger, updated_at, NULL FROM ledger WHERE updated_at >= ?",
                              -1, &st, NULL) != SQLITE_OK)
        return -1;
    return firing_rows(st, o, true, out);
}

static int
by_time(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
    json_int_t    tx = json_integer_value(json_object_get(x, "fired_at_ms"));
    json_int_t    ty = json_integer_value(json_object_get(y, "fired_at_ms"));

    if (tx != ty)
        return tx < ty ? -1 : 1;
    return strcmp(json_string_value(json_object_get(x, "id")), json_string_value(json_object_get(y, "id")));
}

/* Every firing, in time order, as JSON (out) and as table rows. */
static void
firings_sorted(json_t *out, ctl_table_t *t)
{
    size_t   n = json_array_size(out);
    json_t **items = calloc(n ? n : 1, sizeof(*items)), *firing;
    size_t   i;

    json_array_foreach(out, i, firing)
        items[i] = json_incref(firing);
    qsort(items, n, sizeof(*items), by_time);
    json_array_clear(out);
    for (i = 0; i < n; i++) {
        char        when[32], *events = json_dumps(json_object_get(items[i], "events"), JSON_COMPACT);
        const char *cells[5];

        format_time(json_integer_value(json_object_get(items[i], "fired_at_ms")), when, sizeof(when));
        cells[0] = when, cells[1] = json_string_value(json_object_get(items[i], "sensor"));
        cells[2] = json_string_value(json_object_get(items[i], "trigger"));
        cells[3] = json_string_value(json_object_get(items[i], "id")), cells[4] = events ? events : "{}";
        ctl_table_add(t, cells);
        free(events);
        json_array_append_new(out, items[i]);
    }
    free(items);
}

static int
query_ledger(sqlite3 *db, const char *file, const state_opts_t *o, ctl_table_t *t, json_t *out)
{
    sqlite3_stmt *st;

    (void)file;
    /* (result: schema 004; a file not yet opened by a worker of this version lacks it) */
    if (sqlite3_prepare_v2(db, "SELECT id, sensor, trigger, kind, status, attempts, last_status, last_error, "
                               "updated_at, result FROM ledger WHERE updated_at >= ? ORDER BY updated_at, id", -1, &st,
                           NULL) != SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT id, sensor, trigger, kind, status, attempts, last_status, last_error, "
                               "updated_at, NULL FROM ledger WHERE updated_at >= ? ORDER BY updated_at, id", -1, &st,
                           NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, o->since_ms);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char        when[32], attempts[16], status[16];
        const char *cells[7];

        format_time(sqlite3_column_int64(st, 8), when, sizeof(when));
        snprintf(attempts, sizeof(attempts), "%d", sqlite3_column_int(st, 5));
        snprintf(status, sizeof(status), "%s", text_or(st, 6, "-"));
        cells[0] = when, cells[1] = text_or(st, 3, ""), cells[2] = text_or(st, 4, "");
        cells[3] = attempts, cells[4] = status, cells[5] = text_or(st, 0, "");
        cells[6] = sqlite3_column_type(st, 9) != SQLITE_NULL ? text_or(st, 9, "") : text_or(st, 7, "");
        ctl_table_add(t, cells);
        json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:o, s:o, s:o, s:I}", "id", cells[5],
            "sensor", text_or(st, 1, ""), "trigger", text_or(st, 2, ""), "kind", cells[1], "status", cells[2],
            "attempts", sqlite3_column_int(st, 5),
            "last_status", sqlite3_column_type(st, 6) == SQLITE_NULL ? json_null() : json_integer(sqlite3_column_int(st, 6)),
            "last_error", sqlite3_column_type(st, 7) == SQLITE_NULL ? json_null() : json_string(text_or(st, 7, "")),
            "result", sqlite3_column_type(st, 9) == SQLITE_NULL ? json_null() : json_string(text_or(st, 9, "")),
            "updated_at_ms", (json_int_t)sqlite3_column_int64(st, 8)));
    }
    return sqlite3_finalize(st) == SQLITE_OK ? 0 : -1;
}

/* Runs query on every task file of kind ("trigger", "action") that has table; CTL_PROBLEM when one
 * cannot be read (reported). */
static int
each_task(const state_opts_t *o, const ks_config_t *cfg, const char *kind, const char *table, state_query_t query,
          ctl_table_t *t, json_t *out, size_t *nfiles)
{
    char   pattern[4096];
    glob_t g;
    int    rc = CTL_OK;

    ctl_task_pattern(pattern, sizeof(pattern), o->data_dir, o->pool,
                     cfg != NULL && cfg->eventbus.topic_layout == KS_LAYOUT_PER_SENSOR ? cfg->eventbus.topic : NULL,
                     kind);
    if (glob(pattern, 0, NULL, &g) != 0)
        return CTL_OK;
    *nfiles += g.gl_pathc;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        sqlite3 *db = ctl_open_task(g.gl_pathv[i], table);

        if (db == NULL || query(db, g.gl_pathv[i], o, t, out) != 0) {
            if (db != NULL)
                fprintf(stderr, "ksensorctl: %s: %s\n", g.gl_pathv[i], sqlite3_errmsg(db));
            rc = CTL_PROBLEM;
        }
        sqlite3_close(db);
    }
    globfree(&g);
    return rc;
}

static void
state_usage(FILE *out, const char *cmd)
{
    fprintf(out,
        "Usage: ksensorctl %s [-c FILE | --data-dir DIR --pool NAME] [--json]%s\n"
        "%s\n"
        "  -c, --config FILE    the daemon's configuration (default " DEFAULT_CONFIG "): dataDir and pool\n"
        "      --data-dir DIR   the state directory, instead of the configuration's\n"
        "      --pool NAME      the pool, instead of the configuration's\n"
        "      --json           one JSON array instead of a table\n"
        "\n"
        "Files are opened read-only; a running ksensord is not disturbed.\n"
        "Exit status: 0 on success, 1 when the state cannot be read, 2 on a usage error.\n",
        cmd,
        strcmp(cmd, "pending") == 0 ? " [--sensor S] [--trigger T]" : " [--since DURATION]",
        strcmp(cmd, "pending") == 0 ? "Held events per trigger, with their age (from the trigger task files)."
        : strcmp(cmd, "firings") == 0 ? "Every recent firing with its id and its events' ids (--since 1h: the last hour);\n"
                                        "a firing of a condition without && is dated when its action ran."
        : "Action outcomes: kind, status, attempts, last HTTP status, and what the action made (k8s, argoWorkflow) or why it failed (--since as for firings).");
}

int
ctl_state(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' }, { "data-dir", required_argument, NULL, 'd' },
        { "pool", required_argument, NULL, 'p' },   { "sensor", required_argument, NULL, 's' },
        { "trigger", required_argument, NULL, 't' }, { "since", required_argument, NULL, 'S' },
        { "json", no_argument, NULL, 'j' },          { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char   *cmd = argv[0];
    bool          pending = strcmp(cmd, "pending") == 0, firings = strcmp(cmd, "firings") == 0;
    state_opts_t  o = { .config = DEFAULT_CONFIG };
    ks_config_t  *cfg = NULL;
    ctl_table_t   t = { NULL, 0, { 0 } };
    json_t       *out;
    size_t        nfiles = 0;
    int           c, rc = CTL_OK;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o.config = optarg; break;
        case 'd': o.data_dir = optarg; break;
        case 'p': o.pool = optarg; break;
        case 's': o.sensor = optarg; break;
        case 't': o.trigger = optarg; break;
        case 'j': o.json = true; break;
        case 'S':
            if ((o.since_ms = parse_since(optarg)) < 0) {
                fprintf(stderr, "ksensorctl: --since %s: expected a duration such as 30s, 10m, 2h or 7d\n", optarg);
                return CTL_USAGE;
            }
            break;
        case 'h': state_usage(stdout, cmd); return CTL_OK;
        default: state_usage(stderr, cmd); return CTL_USAGE;
        }
    }
    if (optind != argc || (!pending && (o.sensor || o.trigger)) || (pending && o.since_ms)) {
        state_usage(stderr, cmd);
        return CTL_USAGE;
    }
    t.rows = json_array();
    out = json_array();
    if (o.data_dir == NULL || o.pool == NULL) {
        ks_diag_t diag = {0};

        cfg = ks_config_load(o.config, &diag);
        for (size_t i = 0; i < diag.n; i++)
            fprintf(stderr, "%s\n", diag.msgs[i]);
        ks_diag_free(&diag);
        if (cfg == NULL) {
            json_decref(out);
            json_decref(t.rows);
            return CTL_PROBLEM;
        }
        o.data_dir = o.data_dir ? o.data_dir : cfg->data_dir;
        o.pool = o.pool ? o.pool : cfg->pool;
    }
    if (access(o.data_dir, R_OK | X_OK) != 0) {
        fprintf(stderr, "ksensorctl: dataDir %s: %s\n", o.data_dir, strerror(errno));
        rc = CTL_PROBLEM;
    } else {
        t.ncols = pending ? 6 : firings ? 5 : 7;
        ctl_table_add(&t, pending ? (const char *const[]){ "SENSOR", "TRIGGER", "DEPENDENCY", "EVENT", "AGE", "BYTES" }
                  : firings ? (const char *const[]){ "FIRED", "SENSOR", "TRIGGER", "FIRING", "EVENTS" }
                  : (const char *const[]){ "UPDATED", "KIND", "STATUS", "ATTEMPTS", "HTTP", "FIRING", "RESULT OR ERROR" });
        if (pending)
            rc = each_task(&o, cfg, "trigger", "held", query_pending, &t, out, &nfiles);
        else if (!firings)
            rc = each_task(&o, cfg, "action", "ledger", query_ledger, &t, out, &nfiles);
        else {
            o.seen = json_object();
            rc = each_task(&o, cfg, "trigger", "firings", query_firings, &t, out, &nfiles);
            if (each_task(&o, cfg, "action", "ledger", query_acted_firings, &t, out, &nfiles) != CTL_OK)
                rc = CTL_PROBLEM;
            firings_sorted(out, &t);
            json_decref(o.seen);
        }
    }
    if (o.json) {
        char *text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

        puts(text ? text : "[]");
        free(text);
    } else if (nfiles > 0) {
        ctl_table_print(&t);
    } else if (rc == CTL_OK) {
        printf("no task files of pool %s in %s\n", o.pool, o.data_dir);
    }
    json_decref(out);
    json_decref(t.rows);
    ks_config_free(cfg);
    return rc;
}
