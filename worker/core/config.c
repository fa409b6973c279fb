/* config.c — etc/ksensord.yaml as a declarative table of keys (see config.h).
 *
 * Loading runs in three passes: every key takes its default (parsed by the same code as the file),
 * the file's values replace them (unknown keys, wrong types and invalid values are reported at their
 * line and column), then rules that span several keys are checked. Relative paths are resolved
 * against the directory of the configuration file, because the daemon later runs from /. */
#include "core/config.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "core/mem.h"
#include "core/yaml.h"

typedef enum {
    KS_CT_SECTION,      /* a mapping of further keys */
    KS_CT_STRING,
    KS_CT_PATH,         /* a string; relative paths resolved against the file's directory */
    KS_CT_BOOL,
    KS_CT_INT,          /* between min and max */
    KS_CT_COUNT,        /* "auto" (stored as 0) or an integer between min and max */
    KS_CT_DURATION,     /* "250ms", "30s", "1m30s"; stored in milliseconds */
    KS_CT_ENUM,         /* one of choices; stored as its index */
    KS_CT_MAP           /* free-form string map, e.g. librdkafka properties */
} ks_config_type_t;

typedef struct ks_config_key ks_config_key_t;

/* A validator returns NULL when the value is acceptable, or a sentence saying why it is not. */
typedef const char *(*ks_config_check_t)(const void *field, char *buf, size_t len);

struct ks_config_key {
    const char          *key;
    ks_config_type_t     type;
    size_t               offset;
    const char          *def;
    bool                 reloadable;
    ks_config_check_t    check;
    long                 min, max;
    const char *const   *choices;
};

static const char *check_brokers(const void *field, char *buf, size_t len);
static const char *check_topic(const void *field, char *buf, size_t len);
static const char *check_optional_topic(const void *field, char *buf, size_t len);
static const char *check_pool(const void *field, char *buf, size_t len);
static const char *check_not_empty(const void *field, char *buf, size_t len);
static const char *check_listen(const void *field, char *buf, size_t len);
static const char *check_user(const void *field, char *buf, size_t len);
static const char *check_sasl(const void *field, char *buf, size_t len);
static const char *check_instance(const void *field, char *buf, size_t len);

static const char *const layouts[] = { "shared", "per-sensor", NULL };
static const char *const log_levels[] = { "debug", "info", "notice", "warning", "error", NULL };
static const char *const log_formats[] = { "text", "json", NULL };

#define F(member) offsetof(ks_config_t, member)
#define DAY_MS    (24L * 3600 * 1000)

/* The one list of settings. etc/ksensord.yaml documents each of them, in this order. */
static const ks_config_key_t config_keys[] = {
    { "eventbus",                    KS_CT_SECTION,  0, NULL, false, NULL, 0, 0, NULL },
    { "eventbus.brokers",            KS_CT_STRING,   F(eventbus.brokers), "embedded", false, check_brokers, 0, 0, NULL },
    { "eventbus.topic",              KS_CT_STRING,   F(eventbus.topic), "argo-events", false, check_topic, 0, 0, NULL },
    { "eventbus.createTopics",       KS_CT_BOOL,     F(eventbus.create_topics), "true", true, NULL, 0, 0, NULL },
    { "eventbus.partitions",         KS_CT_INT,      F(eventbus.partitions), "6", true, NULL, 1, 100000, NULL },
    { "eventbus.replicationFactor",  KS_CT_INT,      F(eventbus.replication_factor), "-1", true, NULL, -1, 32767, NULL },
    { "eventbus.topicLayout",        KS_CT_ENUM,     F(eventbus.topic_layout), "shared", false, NULL, 0, 0, layouts },
    { "eventbus.fenceDeparted",      KS_CT_BOOL,     F(eventbus.fence_departed), "true", true, NULL, 0, 0, NULL },
    { "eventbus.deadLetterTopic",    KS_CT_STRING,   F(eventbus.dead_letter_topic), "", true, check_optional_topic, 0, 0, NULL },
    { "eventbus.tls",                KS_CT_SECTION,  0, NULL, false, NULL, 0, 0, NULL },
    { "eventbus.tls.enabled",        KS_CT_BOOL,     F(eventbus.tls.enabled), "false", false, NULL, 0, 0, NULL },
    { "eventbus.tls.caFile",         KS_CT_PATH,     F(eventbus.tls.ca_file), "", false, NULL, 0, 0, NULL },
    { "eventbus.tls.certFile",       KS_CT_PATH,     F(eventbus.tls.cert_file), "", false, NULL, 0, 0, NULL },
    { "eventbus.tls.keyFile",        KS_CT_PATH,     F(eventbus.tls.key_file), "", false, NULL, 0, 0, NULL },
    { "eventbus.tls.insecureSkipVerify", KS_CT_BOOL, F(eventbus.tls.insecure_skip_verify), "false", false, NULL, 0, 0, NULL },
    { "eventbus.sasl",               KS_CT_SECTION,  0, NULL, false, NULL, 0, 0, NULL },
    { "eventbus.sasl.mechanism",     KS_CT_STRING,   F(eventbus.sasl.mechanism), "", false, check_sasl, 0, 0, NULL },
    { "eventbus.sasl.username",      KS_CT_STRING,   F(eventbus.sasl.username), "", false, NULL, 0, 0, NULL },
    { "eventbus.sasl.passwordFile",  KS_CT_PATH,     F(eventbus.sasl.password_file), "", false, NULL, 0, 0, NULL },
    { "eventbus.librdkafka",         KS_CT_MAP,      F(eventbus.librdkafka), NULL, false, NULL, 0, 0, NULL },
    { "pool",                        KS_CT_STRING,   F(pool), "ksensor", false, check_pool, 0, 0, NULL },
    { "instance",                    KS_CT_STRING,   F(instance), "", false, check_instance, 0, 0, NULL },
    { "workers",                     KS_CT_COUNT,    F(workers), "auto", true, NULL, 1, 1024, NULL },
    { "cpuAffinity",                 KS_CT_BOOL,     F(cpu_affinity), "false", true, NULL, 0, 0, NULL },
    { "dataDir",                     KS_CT_PATH,     F(data_dir), "/var/lib/ksensor", false, check_not_empty, 0, 0, NULL },
    { "sensors",                     KS_CT_PATH,     F(sensors), "sensors/*.yaml", true, check_not_empty, 0, 0, NULL },
    { "secretsDir",                  KS_CT_PATH,     F(secrets_dir), "/argo-events/secrets", true, NULL, 0, 0, NULL },
    { "kubernetes",                  KS_CT_SECTION,  0, NULL, false, NULL, 0, 0, NULL },
    { "kubernetes.kubeconfig",       KS_CT_PATH,     F(kubernetes.kubeconfig), "", true, NULL, 0, 0, NULL },
    { "kubernetes.context",          KS_CT_STRING,   F(kubernetes.context), "", true, NULL, 0, 0, NULL },
    { "kubernetes.timeout",          KS_CT_DURATION, F(kubernetes.timeout_ms), "30s", true, NULL, 100, 600000, NULL },
    { "listen",                      KS_CT_STRING,   F(listen), "127.0.0.1:9464", false, check_listen, 0, 0, NULL },
    { "commitInterval",              KS_CT_DURATION, F(commit_interval_ms), "100ms", true, NULL, 1, 60000, NULL },
    { "commitMinInterval",           KS_CT_DURATION, F(commit_min_interval_ms), "5ms", true, NULL, 0, 60000, NULL },
    { "batchSize",                   KS_CT_INT,      F(batch_size), "1000", true, NULL, 1, 1000000, NULL },
    { "shutdownTimeout",             KS_CT_DURATION, F(shutdown_timeout_ms), "30s", true, NULL, 100, DAY_MS, NULL },
    { "pidFile",                     KS_CT_PATH,     F(pid_file), "/run/ksensord.pid", false, check_not_empty, 0, 0, NULL },
    { "user",                        KS_CT_STRING,   F(user), "", false, check_user, 0, 0, NULL },
    { "log",                         KS_CT_SECTION,  0, NULL, false, NULL, 0, 0, NULL },
    { "log.level",                   KS_CT_ENUM,     F(log.level), "info", true, NULL, 0, 0, log_levels },
    { "log.format",                  KS_CT_ENUM,     F(log.format), "text", true, NULL, 0, 0, log_formats },
    { "log.file",                    KS_CT_PATH,     F(log.file), "", true, NULL, 0, 0, NULL },
};

#define NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

/* Where each key was set in the file (line 0: it kept its default), for rules across keys. */
typedef struct config_load {
    ks_config_t     *cfg;
    ks_yaml_t        yaml;
    yaml_document_t *doc;
    char            *dir;
    ks_diag_t       *diag;
    unsigned         line[NKEYS];
    unsigned         column[NKEYS];
} config_load_t;

static void *
field_of(ks_config_t *cfg, const ks_config_key_t *key)
{
    return (char *)cfg + key->offset;
}

static const void *
const_field_of(const ks_config_t *cfg, const ks_config_key_t *key)
{
    return (const char *)cfg + key->offset;
}

static bool
parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = { "true", "True", "TRUE" };
    static const char *const no[] = { "false", "False", "FALSE" };

    for (size_t i = 0; i < 3; i++) {
        if (strcmp(s, yes[i]) == 0) { *out = true; return true; }
        if (strcmp(s, no[i]) == 0) { *out = false; return true; }
    }
    return false;
}

static bool
parse_long(const char *s, long *out)
{
    char *end;

    if (*s == '\0')
        return false;
    errno = 0;
    *out = strtol(s, &end, 10);
    return errno == 0 && *end == '\0';
}

/* Go-style durations made of number+unit groups: "250ms", "30s", "1m30s", "2h". */
static bool
parse_duration(const char *s, int64_t *ms)
{
    static const struct { const char *unit; int64_t ms; } units[] = {
        { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
    };
    int64_t total = 0;

    if (*s == '\0')
        return false;
    while (*s != '\0') {
        char  *end;
        long   n;
        size_t u;

        if (*s < '0' || *s > '9')
            return false;
        errno = 0;
        n = strtol(s, &end, 10);
        if (errno != 0 || n > 1000000000L)
            return false;
        for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
            size_t ulen = strlen(units[u].unit);

            if (strncmp(end, units[u].unit, ulen) == 0 && (end[ulen] < 'a' || end[ulen] > 'z'))
                break;
        }
        if (u == sizeof(units) / sizeof(units[0]))
            return false;
        total += (int64_t)n * units[u].ms;
        s = end + strlen(units[u].unit);
    }
    *ms = total;
    return true;
}

static char *
resolve_path(const char *dir, const char *value)
{
    if (value[0] == '\0' || value[0] == '/')
        return ks_strdup(value);
    return ks_asprintf("%s/%s", dir, value);
}

static void
choices_text(const char *const *choices, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; choices[i] != NULL && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", choices[i]);
}

/* Stores text into key's field. node is NULL for defaults (always plain). Returns NULL or why not. */
static const char *
config_assign(config_load_t *load, const ks_config_key_t *key, const char *text, bool plain,
              char *buf, size_t len)
{
    void *field = field_of(load->cfg, key);
    long  n;

    switch (key->type) {
    case KS_CT_STRING:
    case KS_CT_PATH: {
        char **s = field;

        free(*s);
        *s = key->type == KS_CT_PATH ? resolve_path(load->dir, text) : ks_strdup(text);
        break;
    }
    case KS_CT_BOOL:
        if (!plain || !parse_bool(text, field))
            return "expected true or false";
        break;
    case KS_CT_INT:
    case KS_CT_COUNT:
        if (key->type == KS_CT_COUNT && strcmp(text, "auto") == 0) {
            *(int *)field = 0;
            break;
        }
        if (!plain || !parse_long(text, &n)) {
            return key->type == KS_CT_COUNT ? "expected \"auto\" or an integer" : "expected an integer";
        }
        if (n < key->min || n > key->max) {
            snprintf(buf, len, "must be between %ld and %ld", key->min, key->max);
            return buf;
        }
        *(int *)field = (int)n;
        break;
    case KS_CT_DURATION: {
        int64_t ms;

        if (!parse_duration(text, &ms))
            return "expected a duration such as 250ms, 30s or 1m30s";
        if (ms < key->min || ms > key->max) {
            snprintf(buf, len, "must be between %ldms and %ldms", key->min, key->max);
            return buf;
        }
        *(int64_t *)field = ms;
        break;
    }
    case KS_CT_ENUM:
        for (int i = 0; key->choices[i] != NULL; i++) {
            if (strcmp(text, key->choices[i]) == 0) {
                *(int *)field = i;
                return NULL;
            }
        }
        strcpy(buf, "expected one of: ");
        choices_text(key->choices, buf + strlen(buf), len - strlen(buf));
        return buf;
    case KS_CT_SECTION:
    case KS_CT_MAP:
        abort();    /* handled by the walker */
    }
    return NULL;
}

static const ks_config_key_t *
key_lookup(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++) {
        if (strcmp(config_keys[i].key, name) == 0)
            return &config_keys[i];
    }
    return NULL;
}

/* Edit distance, for "did you mean" on unknown keys. */
static size_t
edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];

    if (la >= 64 || lb >= 64)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(prev));
    }
    return prev[lb];
}

/* The closest known sibling of an unknown key, if one is close enough to be a typo. */
static const char *
key_suggest(const char *prefix, const char *name)
{
    const char *best = NULL;
    size_t      best_d = 3, plen = prefix ? strlen(prefix) : 0;

    for (size_t i = 0; i < NKEYS; i++) {
        const char *k = config_keys[i].key, *leaf;
        size_t      d;

        if (prefix ? strncmp(k, prefix, plen) != 0 || k[plen] != '.' : strchr(k, '.') != NULL)
            continue;
        leaf = prefix ? k + plen + 1 : k;
        if (strchr(leaf, '.') != NULL)
            continue;
        d = edit_distance(leaf, name);
        if (d < best_d) {
            best_d = d;
            best = leaf;
        }
    }
    return best;
}

static void
config_map(config_load_t *load, const ks_config_key_t *key, const yaml_node_t *node)
{
    ks_config_map_t *map = field_of(load->cfg, key);

    if (ks_yaml_null(node))
        return;
    if (node->type != YAML_MAPPING_NODE) {
        ks_diag_at(load->diag, load->yaml.file, ks_yaml_line(node), ks_yaml_column(node),
                   "%s: expected a mapping, got %s", key->key, ks_yaml_kind(node));
        return;
    }
    map->kv = ks_calloc(ks_yaml_len(node), sizeof(*map->kv));
    for (size_t i = 0; i < ks_yaml_len(node); i++) {
        yaml_node_t *k = ks_yaml_map_key(load->doc, node, i);
        yaml_node_t *v = ks_yaml_map_value(load->doc, node, i);

        if (ks_yaml_scalar(k) == NULL || ks_yaml_scalar(v) == NULL || ks_yaml_null(v)) {
            yaml_node_t *bad = ks_yaml_scalar(k) == NULL ? k : v;

            ks_diag_at(load->diag, load->yaml.file, ks_yaml_line(bad), ks_yaml_column(bad),
                       "%s: expected property: value pairs, got %s", key->key, ks_yaml_kind(bad));
            continue;
        }
        map->kv[map->n++] = (ks_config_kv_t){
            .key = ks_strdup(ks_yaml_scalar(k)), .value = ks_strdup(ks_yaml_scalar(v)),
            .line = ks_yaml_line(k), .column = ks_yaml_column(k),
        };
    }
}

static void
config_walk(config_load_t *load, const char *prefix, const yaml_node_t *map)
{
    for (size_t i = 0; i < ks_yaml_len(map); i++) {
        yaml_node_t           *knode = ks_yaml_map_key(load->doc, map, i);
        yaml_node_t           *vnode = ks_yaml_map_value(load->doc, map, i);
        const char            *name = ks_yaml_scalar(knode);
        const ks_config_key_t *key;
        char                   full[256], buf[256];
        const char            *why;
        size_t                 idx;

        if (name == NULL) {
            ks_diag_at(load->diag, load->yaml.file, ks_yaml_line(knode), ks_yaml_column(knode),
                       "expected a key name, got %s", ks_yaml_kind(knode));
            continue;
        }
        snprintf(full, sizeof(full), "%s%s%s", prefix ? prefix : "", prefix ? "." : "", name);
        key = key_lookup(full);
        if (key == NULL) {
            const char *hint = key_suggest(prefix, name);

            ks_diag_at(load->diag, load->yaml.file, ks_yaml_line(knode), ks_yaml_column(knode),
                       "unknown key '%s'%s%s%s", full, hint ? " (did you mean '" : "",
                       hint ? hint : "", hint ? "'?)" : "");
            continue;
        }
        idx = (size_t)(key - config_keys);
        if (load->line[idx] != 0) {
            ks_diag_at(load->diag, load->yaml.file, ks_yaml_line(knode), ks_yaml_column(knode),
                       "duplicate key '%s' (first set at line %u)", full, load->line[idx]);
            continue;
        }
        load->line[idx] = ks_yaml_line(knode);
        load->column[idx] = ks_yaml_column(knode);

        if (key->type == KS_CT_SECTION) {
            if (vnode->type == YAML_MAPPING_NODE)
                config_walk(load, full, vnode);
            else if (!ks_yaml_null(vnode))
                ks_diag_at(load->diag, load->yaml.file, ks_yaml_line(vnode), ks_yaml_column(vnode),
                           "%s: expected a mapping, got %s", full, ks_yaml_kind(vnode));
            continue;
        }
        if (key->type == KS_CT_MAP) {
            config_map(load, key, vnode);
            continue;
        }
        if (ks_yaml_scalar(vnode) == NULL) {
            ks_diag_at(load->diag, load->yaml.file, ks_yaml_line(vnode), ks_yaml_column(vnode),
                       "%s: expected a single value, got %s", full, ks_yaml_kind(vnode));
            continue;
        }
        why = config_assign(load, key, ks_yaml_null(vnode) ? "" : ks_yaml_scalar(vnode),
                            ks_yaml_plain(vnode), buf, sizeof(buf));
        if (why == NULL && key->check != NULL)
            why = key->check(field_of(load->cfg, key), buf, sizeof(buf));
        if (why != NULL) {
            ks_diag_at(load->diag, load->yaml.file, ks_yaml_line(vnode), ks_yaml_column(vnode),
                       "%s: %s (got '%s')", full, why, ks_yaml_scalar(vnode));
        }
    }
}

/* Properties ksensor sets itself on every handle; a user value would break a guarantee. */
static const char *const reserved_properties[] = {
    "bootstrap.servers", "metadata.broker.list", "group.id", "group.instance.id",
    "transactional.id", "enable.auto.commit", "enable.auto.offset.store", "isolation.level",
    "enable.idempotence", "allow.auto.create.topics", "enable.partition.eof", "auto.offset.reset",
    "message.max.bytes", NULL,
};

/* Every librdkafka property must be one librdkafka accepts, checked by librdkafka itself. */
static void
config_check_librdkafka(config_load_t *load)
{
    const ks_config_map_t *map = &load->cfg->eventbus.librdkafka;
    rd_kafka_conf_t       *conf = rd_kafka_conf_new();
    char                   err[512];

    for (size_t i = 0; i < map->n; i++) {
        const ks_config_kv_t *kv = &map->kv[i];
        bool                  reserved = false;

        for (size_t r = 0; reserved_properties[r] != NULL; r++)
            reserved = reserved || strcmp(kv->key, reserved_properties[r]) == 0;
        if (reserved) {
            ks_diag_at(load->diag, load->yaml.file, kv->line, kv->column,
                       "eventbus.librdkafka: '%s' is set by ksensor itself and cannot be overridden",
                       kv->key);
        } else if (rd_kafka_conf_set(conf, kv->key, kv->value, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
            ks_diag_at(load->diag, load->yaml.file, kv->line, kv->column,
                       "eventbus.librdkafka: %s", err);
        }
    }
    rd_kafka_conf_destroy(conf);
}

static void
config_at_key(config_load_t *load, const char *name, const char *fmt, const char *arg)
{
    size_t idx = (size_t)(key_lookup(name) - config_keys);

    ks_diag_at(load->diag, load->yaml.file, load->line[idx], load->column[idx], fmt, arg);
}

/* Rules that involve several keys, reported at the key that completes the rule. */
static void
config_check_rules(config_load_t *load)
{
    const ks_config_t *cfg = load->cfg;

    if ((cfg->eventbus.tls.cert_file[0] == '\0') != (cfg->eventbus.tls.key_file[0] == '\0')) {
        config_at_key(load, cfg->eventbus.tls.cert_file[0] ? "eventbus.tls.certFile" : "eventbus.tls.keyFile",
                      "%s: a client certificate needs both certFile and keyFile", "eventbus.tls");
    }
    if (cfg->eventbus.sasl.mechanism[0] != '\0'
        && (cfg->eventbus.sasl.username[0] == '\0' || cfg->eventbus.sasl.password_file[0] == '\0')) {
        config_at_key(load, "eventbus.sasl.mechanism",
                      "%s: SASL needs username and passwordFile", "eventbus.sasl");
    }
    if (strcmp(cfg->eventbus.brokers, "embedded") == 0
        && (cfg->eventbus.tls.enabled || cfg->eventbus.sasl.mechanism[0] != '\0')) {
        config_at_key(load, "eventbus.brokers",
                      "eventbus.brokers: the %s broker takes neither TLS nor SASL", "embedded");
    }
    config_check_librdkafka(load);
}

static char *
config_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char        cwd[PATH_MAX];

    if (slash == path)
        return ks_strdup("/");
    if (slash != NULL && path[0] == '/')
        return ks_strndup(path, (size_t)(slash - path));
    if (getcwd(cwd, sizeof(cwd)) == NULL)
        return ks_strdup(".");
    if (slash == NULL)
        return ks_strdup(cwd);
    return ks_asprintf("%s/%.*s", cwd, (int)(slash - path), path);
}

ks_config_t *
ks_config_load(const char *path, ks_diag_t *diag)
{
    config_load_t load = { .diag = diag };
    ks_diag_t     found = {0};
    yaml_node_t  *root;

    load.cfg = ks_calloc(1, sizeof(*load.cfg));
    load.cfg->file = ks_strdup(path);
    load.dir = config_dir(path);
    load.diag = &found;

    for (size_t i = 0; i < NKEYS; i++) {
        const ks_config_key_t *key = &config_keys[i];
        char                   buf[128];

        if (key->def != NULL && config_assign(&load, key, key->def, true, buf, sizeof(buf)) != NULL)
            abort();    /* a default that does not parse is a bug in the table */
    }

    if (ks_yaml_load(&load.yaml, path, &found) == 0) {
        root = ks_yaml_root(&load.yaml, 0);
        if (root == NULL) {
            ks_diag_at(&found, path, 0, 0, "empty file: expected a mapping of settings");
        } else if (load.yaml.ndocs > 1) {
            root = ks_yaml_root(&load.yaml, 1);
            ks_diag_at(&found, path, ks_yaml_line(root), ks_yaml_column(root),
                       "expected one YAML document, found a second one");
        } else if (root->type != YAML_MAPPING_NODE) {
            ks_diag_at(&found, path, ks_yaml_line(root), ks_yaml_column(root),
                       "expected a mapping of settings, got %s", ks_yaml_kind(root));
        } else {
            load.doc = &load.yaml.docs[0];
            config_walk(&load, NULL, root);
            config_check_rules(&load);
        }
    }
    ks_yaml_free(&load.yaml);
    free(load.dir);

    if (found.n > 0) {
        ks_diag_sort(&found);
        ks_diag_move(diag, &found);
        ks_config_free(load.cfg);
        return NULL;
    }
    return load.cfg;
}

void
ks_config_free(ks_config_t *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < NKEYS; i++) {
        const ks_config_key_t *key = &config_keys[i];

        if (key->type == KS_CT_STRING || key->type == KS_CT_PATH) {
            free(*(char **)field_of(cfg, key));
        } else if (key->type == KS_CT_MAP) {
            ks_config_map_t *map = field_of(cfg, key);

            for (size_t j = 0; j < map->n; j++) {
                free(map->kv[j].key);
                free(map->kv[j].value);
            }
            free(map->kv);
        }
    }
    free(cfg->file);
    free(cfg);
}

static bool
field_equal(const ks_config_t *a, const ks_config_t *b, const ks_config_key_t *key)
{
    const void *fa = const_field_of(a, key), *fb = const_field_of(b, key);

    switch (key->type) {
    case KS_CT_SECTION:
        return true;
    case KS_CT_STRING:
    case KS_CT_PATH:
        return strcmp(*(char *const *)fa, *(char *const *)fb) == 0;
    case KS_CT_BOOL:
        return *(const bool *)fa == *(const bool *)fb;
    case KS_CT_INT:
    case KS_CT_COUNT:
    case KS_CT_ENUM:
        return *(const int *)fa == *(const int *)fb;
    case KS_CT_DURATION:
        return *(const int64_t *)fa == *(const int64_t *)fb;
    case KS_CT_MAP: {
        const ks_config_map_t *ma = fa, *mb = fb;

        if (ma->n != mb->n)
            return false;
        for (size_t i = 0; i < ma->n; i++) {
            if (strcmp(ma->kv[i].key, mb->kv[i].key) != 0 || strcmp(ma->kv[i].value, mb->kv[i].value) != 0)
                return false;
        }
        return true;
    }
    }
    return false;
}

static size_t
field_size(const ks_config_key_t *key)
{
    switch (key->type) {
    case KS_CT_SECTION:  return 0;
    case KS_CT_STRING:
    case KS_CT_PATH:     return sizeof(char *);
    case KS_CT_BOOL:     return sizeof(bool);
    case KS_CT_INT:
    case KS_CT_COUNT:
    case KS_CT_ENUM:     return sizeof(int);
    case KS_CT_DURATION: return sizeof(int64_t);
    case KS_CT_MAP:      return sizeof(ks_config_map_t);
    }
    return 0;
}

size_t
ks_config_keep_fixed(ks_config_t *cfg, ks_config_t *old, const char **keys, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < NKEYS; i++) {
        const ks_config_key_t *key = &config_keys[i];
        unsigned char          tmp[sizeof(ks_config_map_t)];
        size_t                 size = field_size(key);

        if (key->reloadable || field_equal(old, cfg, key))
            continue;
        /* swap, so each configuration still owns exactly what it frees */
        memcpy(tmp, field_of(cfg, key), size);
        memcpy(field_of(cfg, key), field_of(old, key), size);
        memcpy(field_of(old, key), tmp, size);
        if (n < max)
            keys[n] = key->key;
        n++;
    }
    return n;
}

/* ---- validators ---- */

static const char *
check_topic_name(const char *name, size_t max, char *buf, size_t len)
{
    size_t n = strlen(name);

    if (n == 0)
        return "must not be empty";
    if (n > max) {
        snprintf(buf, len, "must be at most %zu characters", max);
        return buf;
    }
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return "'.' and '..' are not valid Kafka topic names";
    if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n)
        return "may only contain letters, digits, '.', '_' and '-'";
    return NULL;
}

static const char *
check_topic(const void *field, char *buf, size_t len)
{
    /* per-sensor topics append "-<sensor>-trigger" to it: leave room within Kafka's 249 */
    return check_topic_name(*(char *const *)field, 120, buf, len);
}

static const char *
check_optional_topic(const void *field, char *buf, size_t len)
{
    const char *name = *(char *const *)field;

    return name[0] == '\0' ? NULL : check_topic_name(name, 249, buf, len);
}

static const char *
check_pool(const void *field, char *buf, size_t len)
{
    /* names the consumer group and the topics <pool>-trigger, -action, -state */
    return check_topic_name(*(char *const *)field, 200, buf, len);
}

static const char *
check_not_empty(const void *field, char *buf, size_t len)
{
    (void)buf;
    (void)len;
    return (*(char *const *)field)[0] == '\0' ? "must not be empty" : NULL;
}

/* host:port with a numeric port; IPv6 hosts in brackets. */
static bool
valid_host_port(const char *s, size_t n, bool port_zero_ok)
{
    const char *colon = NULL;
    long        port = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] == ':')
            colon = s + i;
    }
    if (colon == NULL || colon == s || (size_t)(colon - s) == n - 1)
        return false;
    if (s[0] == '[' && colon[-1] != ']')
        return false;
    for (const char *p = colon + 1; p < s + n; p++) {
        if (*p < '0' || *p > '9')
            return false;
        port = port * 10 + (*p - '0');
        if (port > 65535)
            return false;
    }
    return port > 0 || port_zero_ok;
}

static const char *
check_brokers(const void *field, char *buf, size_t len)
{
    const char *s = *(char *const *)field;

    (void)buf;
    (void)len;
    if (strcmp(s, "embedded") == 0)
        return NULL;
    if (*s == '\0')
        return "must not be empty";
    while (*s != '\0') {
        size_t n = strcspn(s, ",");

        if (!valid_host_port(s, n, false))
            return "expected \"embedded\" or a comma-separated list of host:port";
        s += n + (s[n] == ',');
    }
    return NULL;
}

static const char *
check_listen(const void *field, char *buf, size_t len)
{
    const char *s = *(char *const *)field;

    (void)buf;
    (void)len;
    return valid_host_port(s, strlen(s), true) ? NULL : "expected host:port, such as 127.0.0.1:9464";
}

static const char *
check_user(const void *field, char *buf, size_t len)
{
    const char *name = *(char *const *)field;

    if (name[0] == '\0' || getpwnam(name) != NULL)
        return NULL;
    snprintf(buf, len, "no such user on this host");
    return buf;
}

static const char *
check_sasl(const void *field, char *buf, size_t len)
{
    static const char *const mechanisms[] = { "", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", NULL };
    const char              *s = *(char *const *)field;

    for (size_t i = 0; mechanisms[i] != NULL; i++) {
        if (strcmp(s, mechanisms[i]) == 0)
            return NULL;
    }
    strcpy(buf, "expected one of: ");
    choices_text(mechanisms + 1, buf + strlen(buf), len - strlen(buf));
    return buf;
}

static const char *
check_instance(const void *field, char *buf, size_t len)
{
    const char *s = *(char *const *)field;

    /* becomes part of group.instance.id and transactional.id */
    return s[0] == '\0' ? NULL : check_topic_name(s, 100, buf, len);
}
