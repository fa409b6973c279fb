/* config.h — the daemon configuration (etc/ksensord.yaml): one generation, loaded whole.
 *
 * ks_config_load() is pure: it builds a complete configuration or reports every problem as
 * "file:line:column: message" and returns NULL. `ksensord -t` and SIGHUP share it. The keys live in
 * one declarative table (key, type, default, validator, reloadable) in config.c. */
#ifndef KS_CORE_CONFIG_H
#define KS_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/diag.h"
#include "core/log.h"

typedef enum { KS_LAYOUT_SHARED, KS_LAYOUT_PER_SENSOR } ks_topic_layout_t;
typedef enum { KS_LOG_TEXT, KS_LOG_JSON } ks_log_format_t;

/* One entry of a free-form map such as eventbus.librdkafka, with its position for messages. */
typedef struct ks_config_kv {
    char     *key;
    char     *value;
    unsigned  line;
    unsigned  column;
} ks_config_kv_t;

typedef struct ks_config_map {
    ks_config_kv_t *kv;
    size_t          n;
} ks_config_map_t;

typedef struct ks_config {
    char *file;                         /* the path it was loaded from */

    struct {
        char             *brokers;      /* "embedded" or host:port[,host:port…] */
        char             *topic;        /* the event topic, shared with EventSources */
        bool              create_topics;
        int               partitions;   /* of the internal topics when ksensor creates them */
        int               replication_factor;   /* -1: the broker's default */
        int               topic_layout; /* ks_topic_layout_t */
        char             *dead_letter_topic;    /* "" = none */
        bool              fence_departed;       /* end a departed instance's transaction at once (fence.h) */
        struct {
            bool  enabled;
            char *ca_file;
            char *cert_file;
            char *key_file;
            bool  insecure_skip_verify;
        } tls;
        struct {
            char *mechanism;            /* "" = no SASL */
            char *username;
            char *password_file;
        } sasl;
        ks_config_map_t   librdkafka;   /* passed through to every Kafka handle */
    } eventbus;

    char    *pool;
    char    *instance;                  /* this host's name in the group; "" = the hostname */
    int      workers;                   /* 0 = one per core ("auto") */
    bool     cpu_affinity;
    char    *data_dir;
    char    *sensors;                   /* glob of Sensor manifests */
    char    *secrets_dir;               /* <dir>/<name>/<key>: the secrets http triggers refer to */
    struct {
        char    *kubeconfig;            /* "" = in-cluster credentials */
        char    *context;               /* "" = the kubeconfig's current-context */
        int64_t  timeout_ms;            /* of one API request */
    } kubernetes;
    char    *listen;                    /* host:port of /healthz, /readyz, /metrics */
    int64_t  commit_interval_ms;
    int64_t  commit_min_interval_ms;    /* a drained worker's batch commits once this old */
    int      batch_size;
    int64_t  shutdown_timeout_ms;
    char    *pid_file;
    char    *user;                      /* "" = keep the starting user */

    struct {
        int   level;                    /* ks_log_level_t */
        int   format;                   /* ks_log_format_t */
        char *file;                     /* "" = stderr */
    } log;
} ks_config_t;

/* Loads and validates path. Returns the configuration, or NULL with every problem in diag. */
ks_config_t *ks_config_load(const char *path, ks_diag_t *diag) __attribute__((warn_unused_result));
void ks_config_free(ks_config_t *cfg);

/* A reload keeps the running values of the settings that only take effect on a restart: for each
 * such key whose value differs, cfg takes old's value (the two are swapped, so each still owns what
 * it frees). Returns how many differed, storing up to max dotted key names in keys. */
size_t ks_config_keep_fixed(ks_config_t *cfg, ks_config_t *old, const char **keys, size_t max);

#endif
