/* kafka_conf.h — librdkafka configurations built from etc/ksensord.yaml: what every Kafka handle of
 * ksensor shares (brokers, TLS, SASL, eventbus.librdkafka), with librdkafka's own log lines written
 * through core/log.h. The worker, the restore consumers and ksensorctl all start from here; also a
 * worker's transactional id and the wait for an Admin API result. */
#ifndef KS_PIPELINE_KAFKA_CONF_H
#define KS_PIPELINE_KAFKA_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "core/config.h"
#include "core/report.h"

/* A configuration for brokers with what every handle shares; exits (KS_EXIT_FATAL) on a property
 * librdkafka refuses or an unreadable SASL password file. */
rd_kafka_conf_t *ks_kafka_conf(const ks_config_t *cfg, const char *brokers);

/* Sets one property; exits (KS_EXIT_FATAL) when librdkafka refuses it. */
void ks_kafka_set(rd_kafka_conf_t *conf, const char *key, const char *value);

/* The transactional id of a worker instance ("<instance>-<slot>") of cfg's pool: its own producer's,
 * and the one fencing initialises to end a departed instance's transaction (fence.h). */
void ks_kafka_transactional_id(const ks_config_t *cfg, const char *instance, char *buf, size_t len);

/* Waits up to timeout_ms for the result of an Admin API request sent to queue: the result event,
 * or NULL with why in err when the request failed or timed out. */
rd_kafka_event_t *ks_kafka_admin_result(rd_kafka_queue_t *queue, int timeout_ms, char *err, size_t errlen);

/* Whether the event bus is the embedded broker (librdkafka's mock cluster in a child of the daemon). */
bool ks_kafka_embedded(const ks_config_t *cfg);

/* Whether eventbus.librdkafka sets the property (ksensor's own defaults then give way). */
bool ks_kafka_user_set(const ks_config_t *cfg, const char *property);

/* Once, first thing in a program that uses Kafka: OpenSSL must not free its state at exit while
 * librdkafka's broker threads may still be inside a TLS handshake (a fatal exit during a failing
 * handshake would crash the process instead of exiting with its status). */
void ks_kafka_init_process(void);

#endif
