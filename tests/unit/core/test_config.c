/* test_config.c — the configuration loader: valid files, and every invalid case of
 * tests/data/config/invalid/ with its exact messages (NAME.expected, without the file name). */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "unit.h"

static glob_t invalid_cases;

static ks_config_t *
load_ok(const char *path)
{
    ks_diag_t    diag = {0};
    ks_config_t *cfg = ks_config_load(path, &diag);

    for (size_t i = 0; i < diag.n; i++)
        fprintf(stderr, "unexpected: %s\n", diag.msgs[i]);
    ck_assert_ptr_nonnull(cfg);
    ck_assert_uint_eq(diag.n, 0);
    return cfg;
}

START_TEST(test_full_file)
{
    ks_config_t *cfg = load_ok(unit_data("config/valid/full.yaml"));
    char         dir[4096];

    ck_assert_str_eq(cfg->eventbus.brokers, "kafka-1:9092,kafka-2:9092");
    ck_assert_str_eq(cfg->eventbus.topic, "events.prod");
    ck_assert(!cfg->eventbus.create_topics);
    ck_assert_int_eq(cfg->eventbus.partitions, 12);
    ck_assert_int_eq(cfg->eventbus.replication_factor, 3);
    ck_assert_int_eq(cfg->eventbus.topic_layout, KS_LAYOUT_PER_SENSOR);
    ck_assert_str_eq(cfg->eventbus.dead_letter_topic, "events-dlq");
    ck_assert(cfg->eventbus.tls.enabled);
    ck_assert_str_eq(cfg->eventbus.tls.ca_file, "/etc/ssl/ca.pem");
    ck_assert_str_eq(cfg->eventbus.sasl.mechanism, "SCRAM-SHA-512");
    ck_assert_uint_eq(cfg->eventbus.librdkafka.n, 2);
    ck_assert_str_eq(cfg->eventbus.librdkafka.kv[1].key, "statistics.interval.ms");
    ck_assert_str_eq(cfg->eventbus.librdkafka.kv[1].value, "5000");
    ck_assert_str_eq(cfg->pool, "payments");
    ck_assert_int_eq(cfg->workers, 4);
    ck_assert(cfg->cpu_affinity);
    ck_assert_str_eq(cfg->listen, "[::1]:9500");
    ck_assert_int_eq(cfg->commit_interval_ms, 250);
    ck_assert_int_eq(cfg->batch_size, 500);
    ck_assert_int_eq(cfg->shutdown_timeout_ms, 90000);
    ck_assert_str_eq(cfg->user, "root");
    ck_assert_int_eq(cfg->log.level, KS_LOG_WARNING);
    ck_assert_int_eq(cfg->log.format, KS_LOG_JSON);

    /* relative paths are resolved against the configuration file's directory */
    ck_assert_ptr_nonnull(realpath(unit_data("config/valid"), dir));
    ck_assert_ptr_nonnull(strstr(cfg->eventbus.tls.cert_file, "config/valid/tls/client.pem"));
    ck_assert_int_eq(cfg->data_dir[0], '/');
    ck_assert_ptr_nonnull(strstr(cfg->data_dir, "config/valid/state"));
    ks_config_free(cfg);
}
END_TEST

START_TEST(test_defaults)
{
    ks_config_t *cfg = load_ok(unit_data("config/valid/defaults.yaml"));

    ck_assert_str_eq(cfg->eventbus.brokers, "embedded");
    ck_assert_str_eq(cfg->eventbus.topic, "argo-events");
    ck_assert(cfg->eventbus.create_topics);
    ck_assert_int_eq(cfg->eventbus.partitions, 6);
    ck_assert_int_eq(cfg->eventbus.replication_factor, -1);
    ck_assert_int_eq(cfg->eventbus.topic_layout, KS_LAYOUT_SHARED);
    ck_assert_str_eq(cfg->pool, "ksensor");
    ck_assert_int_eq(cfg->workers, 0);
    ck_assert_str_eq(cfg->data_dir, "/var/lib/ksensor");
    ck_assert_str_eq(cfg->listen, "127.0.0.1:9464");
    ck_assert_int_eq(cfg->commit_interval_ms, 100);
    ck_assert_int_eq(cfg->batch_size, 1000);
    ck_assert_int_eq(cfg->shutdown_timeout_ms, 30000);
    ck_assert_str_eq(cfg->user, "");
    ck_assert_int_eq(cfg->log.level, KS_LOG_INFO);
    ck_assert_int_eq(cfg->log.format, KS_LOG_TEXT);
    ck_assert_ptr_nonnull(strstr(cfg->sensors, "config/valid/sensors/*.yaml"));
    ks_config_free(cfg);
}
END_TEST

START_TEST(test_null_sections)
{
    ks_config_t *cfg = load_ok(unit_data("config/valid/null-sections.yaml"));

    ck_assert(!cfg->eventbus.tls.enabled);
    ck_assert_str_eq(cfg->user, "");
    ks_config_free(cfg);
}
END_TEST

/* The example shipped in etc/ is the documented list of keys: it must load. */
START_TEST(test_shipped_example)
{
    ks_config_t *cfg = load_ok("etc/ksensord.yaml");

    ks_config_free(cfg);
}
END_TEST

START_TEST(test_invalid_case)
{
    const char *path = invalid_cases.gl_pathv[_i];
    char        expected_path[4096], got[8192] = "";
    size_t      used = 0, plen = strlen(path);
    ks_diag_t   diag = {0};
    char       *expected;

    snprintf(expected_path, sizeof(expected_path), "%.*s.expected", (int)(plen - 5), path);
    expected = unit_read(expected_path);

    ck_assert_ptr_null(ks_config_load(path, &diag));
    for (size_t i = 0; i < diag.n; i++) {
        const char *msg = diag.msgs[i];

        /* each message starts with the file name and a colon: compare what follows */
        ck_assert_msg(strncmp(msg, path, plen) == 0 && msg[plen] == ':', "no file name in '%s'", msg);
        msg += plen + 1;
        msg += *msg == ' ';
        used += (size_t)snprintf(got + used, sizeof(got) - used, "%s\n", msg);
    }
    ck_assert_msg(strcmp(got, expected) == 0, "%s:\n--- got\n%s--- expected\n%s", path, got, expected);
    ks_diag_free(&diag);
    free(expected);
}
END_TEST

START_TEST(test_invalid_count)
{
    ck_assert_uint_ge(invalid_cases.gl_pathc, 10);
}
END_TEST

START_TEST(test_keep_fixed)
{
    ks_config_t *a = load_ok(unit_write("a.yaml", "pool: p1\nworkers: 2\nlog:\n  level: info\n"
                                                  "eventbus:\n  librdkafka:\n    linger.ms: 5\n"));
    ks_config_t *b = load_ok(unit_write("b.yaml", "pool: p2\nworkers: 3\nlog:\n  level: debug\n"
                                                  "eventbus:\n  librdkafka:\n    linger.ms: 6\n"));
    const char  *keys[8];
    size_t       n = ks_config_keep_fixed(b, a, keys, 8);

    /* workers and log.level reload; pool and librdkafka properties need a restart and keep their
     * running values */
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(keys[0], "eventbus.librdkafka");
    ck_assert_str_eq(keys[1], "pool");
    ck_assert_str_eq(b->pool, "p1");
    ck_assert_str_eq(b->eventbus.librdkafka.kv[0].value, "5");
    ck_assert_int_eq(b->workers, 3);
    ck_assert_int_eq(b->log.level, KS_LOG_DEBUG);
    ck_assert_str_eq(a->pool, "p2");
    ck_assert_uint_eq(ks_config_keep_fixed(b, b, keys, 8), 0);
    ks_config_free(a);
    ks_config_free(b);
}
END_TEST

START_TEST(test_missing_file)
{
    ks_diag_t diag = {0};

    ck_assert_ptr_null(ks_config_load("/nonexistent/ksensord.yaml", &diag));
    ck_assert_uint_eq(diag.n, 1);
    ck_assert_str_eq(diag.msgs[0], "/nonexistent/ksensord.yaml: cannot open: No such file or directory");
    ks_diag_free(&diag);
}
END_TEST

Suite *
suite_config(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("load");

    /* no match leaves gl_pathc at 0, and test_invalid_count then fails */
    glob(unit_data("config/invalid/*.yaml"), 0, NULL, &invalid_cases);
    tcase_add_test(tc, test_full_file);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_null_sections);
    tcase_add_test(tc, test_shipped_example);
    tcase_add_loop_test(tc, test_invalid_case, 0, (int)invalid_cases.gl_pathc);
    tcase_add_test(tc, test_invalid_count);
    tcase_add_test(tc, test_keep_fixed);
    tcase_add_test(tc, test_missing_file);
    suite_add_tcase(s, tc);
    return s;
}
