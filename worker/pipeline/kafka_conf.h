/* kafka_conf.h — librdkafka configurations built from etc/ksensord.yaml: what every Kafka handle of
 * ksensor shares (brokers, TLS, SASL, eventbus.librdkafka), with librdkafka's own log lines written
 * through core/log.h. The worker, the restore consumers and ksensorctl all start from here. */
#ifndef KS_PIPELINE_KAFKA_CONF_H
#define KS_PIPELINE_KAFKA_CONF_H

#include <stdbool.h>

#include <librdkafka/rdkafka.h>

#include "core/config.h"
#include "core/report.h"

/* A configuration for brokers with what every handle shares; exits (KS_EXIT_FATAL) on a property
 * librdkafka refuses or an unreadable SASL password file. */
rd_kafka_conf_t *ks_kafka_conf(const ks_config_t *cfg, const char *brokers);

/* Sets one property; exits (KS_EXIT_FATAL) when librdkafka refuses it. */
void ks_kafka_set(rd_kafka_conf_t *conf, const char *key, const char *value);

/* Whether the event bus is the embedded broker (librdkafka's mock cluster in a child of the daemon). */
bool ks_kafka_embedded(const ks_config_t *cfg);

/* Whether eventbus.librdkafka sets the property (ksensor's own defaults then give way). */
bool ks_kafka_user_set(const ks_config_t *cfg, const char *property);

/* Once, first thing in a program that uses Kafka: OpenSSL must not free its state at exit while
 * librdkafka's broker threads may still be inside a TLS handshake (a fatal exit during a failing
 * handshake would crash the process instead of exiting with its status). */
void ks_kafka_init_process(void);

#endif
