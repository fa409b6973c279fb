/* kafka_conf.c — librdkafka configurations from the configuration model (see kafka_conf.h). */
#include "pipeline/kafka_conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "core/log.h"

void
ks_kafka_set(rd_kafka_conf_t *conf, const char *key, const char *value)
{
    char err[512];

    if (rd_kafka_conf_set(conf, key, value, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        ks_log_error("rd_kafka_conf_set(%s) failed: %s", key, err);
        exit(KS_EXIT_FATAL);
    }
}

void
ks_kafka_transactional_id(const ks_config_t *cfg, const char *instance, char *buf, size_t len)
{
    snprintf(buf, len, "%s-%s", cfg->pool, instance);
}

rd_kafka_event_t *
ks_kafka_admin_result(rd_kafka_queue_t *queue, int timeout_ms, char *err, size_t errlen)
{
    rd_kafka_event_t *ev = rd_kafka_queue_poll(queue, timeout_ms);

    if (ev == NULL) {
        snprintf(err, errlen, "timed out");
    } else if (rd_kafka_event_error(ev)) {
        snprintf(err, errlen, "%s", rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        ev = NULL;
    }
    return ev;
}

bool
ks_kafka_embedded(const ks_config_t *cfg)
{
    return strcmp(cfg->eventbus.brokers, "embedded") == 0;
}

bool
ks_kafka_user_set(const ks_config_t *cfg, const char *property)
{
    for (size_t i = 0; i < cfg->eventbus.librdkafka.n; i++) {
        if (strcmp(cfg->eventbus.librdkafka.kv[i].key, property) == 0)
            return true;
    }
    return false;
}

/* librdkafka's own lines (from its threads) join ours, so a daemon's log file has them. eventbus
 * .librdkafka goes to every handle, so "a consumer property, ignored by this producer" is expected:
 * debug, not warning. */
static void
kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    ks_log_level_t ours = level <= 3 ? KS_LOG_ERROR : level == 4 ? KS_LOG_WARNING : level == 5 ? KS_LOG_NOTICE
                        : level == 6 ? KS_LOG_INFO : KS_LOG_DEBUG;

    if (strcmp(fac, "CONFWARN") == 0 && strstr(buf, "will be ignored by this") != NULL)
        ours = KS_LOG_DEBUG;
    ks_log_write(ours, "librdkafka %s %s: %s", rd_kafka_name(rk), fac, buf);
}

/* A broker's certificate that OpenSSL refused: librdkafka's own line says only "certificate verify
 * failed"; this one says why (expired, unknown issuer, wrong host …) and which certificate. */
static int
verify_certificate(rd_kafka_t *rk, const char *broker, int32_t broker_id, int *x509_error, int depth,
                   const char *der, size_t len, char *errstr, size_t errlen, void *opaque)
{
    (void)rk;
    (void)broker_id;
    (void)der;
    (void)len;
    (void)opaque;
    if (*x509_error == X509_V_OK)
        return 1;
    snprintf(errstr, errlen, "broker %s: TLS certificate refused (depth %d in its chain): %s", broker, depth,
             X509_verify_cert_error_string(*x509_error));
    return 0;
}

rd_kafka_conf_t *
ks_kafka_conf(const ks_config_t *cfg, const char *brokers)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();

    rd_kafka_conf_set_log_cb(conf, kafka_log);
    ks_kafka_set(conf, "bootstrap.servers", brokers);
    /* a request naming a missing topic must never create it with the broker's defaults (1 partition,
     * cleanup.policy delete, 1 MB records) where auto.create.topics.enable is on, Kafka's default.
     * The embedded broker is librdkafka's mock cluster: it answers no CreateTopics, and creating a
     * topic on a request naming it is how its topics come to be (topics.c). */
    if (!ks_kafka_embedded(cfg))
        ks_kafka_set(conf, "allow.auto.create.topics", "false");
    if (cfg->eventbus.tls.enabled || cfg->eventbus.sasl.mechanism[0] != '\0')
        ks_kafka_set(conf, "security.protocol", cfg->eventbus.tls.enabled
                     ? (cfg->eventbus.sasl.mechanism[0] ? "sasl_ssl" : "ssl") : "sasl_plaintext");
    if (cfg->eventbus.tls.ca_file[0] != '\0')
        ks_kafka_set(conf, "ssl.ca.location", cfg->eventbus.tls.ca_file);
    if (cfg->eventbus.tls.cert_file[0] != '\0') {
        ks_kafka_set(conf, "ssl.certificate.location", cfg->eventbus.tls.cert_file);
        ks_kafka_set(conf, "ssl.key.location", cfg->eventbus.tls.key_file);
    }
    if (cfg->eventbus.tls.insecure_skip_verify)
        ks_kafka_set(conf, "enable.ssl.certificate.verification", "false");
    else if (cfg->eventbus.tls.enabled
             && rd_kafka_conf_set_ssl_cert_verify_cb(conf, verify_certificate) != RD_KAFKA_CONF_OK)
        ks_log_warning("this librdkafka has no TLS certificate callback: a refused certificate is not explained");
    if (cfg->eventbus.sasl.mechanism[0] != '\0') {
        char  password[1024] = "";
        FILE *fp = fopen(cfg->eventbus.sasl.password_file, "r");

        if (fp == NULL || fgets(password, sizeof(password), fp) == NULL) {
            ks_log_error("cannot read eventbus.sasl.passwordFile %s: %s", cfg->eventbus.sasl.password_file,
                         strerror(errno));
            exit(KS_EXIT_FATAL);
        }
        fclose(fp);
        password[strcspn(password, "\r\n")] = '\0';
        ks_kafka_set(conf, "sasl.mechanisms", cfg->eventbus.sasl.mechanism);
        ks_kafka_set(conf, "sasl.username", cfg->eventbus.sasl.username);
        ks_kafka_set(conf, "sasl.password", password);
    }
    for (size_t i = 0; i < cfg->eventbus.librdkafka.n; i++)
        ks_kafka_set(conf, cfg->eventbus.librdkafka.kv[i].key, cfg->eventbus.librdkafka.kv[i].value);
    return conf;
}

void
ks_kafka_init_process(void)
{
    OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
}
