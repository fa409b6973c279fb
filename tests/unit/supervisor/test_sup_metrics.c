/* test_sup_metrics.c — the Prometheus text of /metrics, checked against values computed from the
 * reports it was rendered from, and against the rules of the text format (0.0.4). */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sup_metrics.h"
#include "unit.h"

#define FIELD(r, off) (*(const uint64_t *)((const char *)(r) + (off)))

/* Every counter sample that is the sum of one report field. */
static const struct {
    const char *series;
    size_t      off;
} summed[] = {
    { "ksensor_events_total", offsetof(ks_report_t, events_in) },
    { "ksensor_events_bad_total", offsetof(ks_report_t, events_bad) },
    { "ksensor_events_filtered_total", offsetof(ks_report_t, events_filtered) },
    { "ksensor_events_out_total", offsetof(ks_report_t, events_out) },
    { "ksensor_firings_total", offsetof(ks_report_t, firings) },
    { "ksensor_actions_total{result=\"ok\"}", offsetof(ks_report_t, actions_ok) },
    { "ksensor_actions_total{result=\"failed\"}", offsetof(ks_report_t, actions_failed) },
    { "ksensor_actions_total{result=\"skipped\"}", offsetof(ks_report_t, actions_skipped) },
    { "ksensor_batches_total", offsetof(ks_report_t, batches) },
    { "ksensor_aborts_total", offsetof(ks_report_t, aborts) },
    { "ksensor_restores_total", offsetof(ks_report_t, restores) },
    { "ksensor_restored_records_total", offsetof(ks_report_t, restored_records) },
    { "ksensor_state_rebuilds_total", offsetof(ks_report_t, rebuilds) },
    { "ksensor_trigger_replays_total", offsetof(ks_report_t, replays) },
};

static const struct {
    const char *name, *type;
} families[] = {
    { "ksensor_events_total", "counter" },          { "ksensor_events_bad_total", "counter" },
    { "ksensor_events_filtered_total", "counter" }, { "ksensor_events_out_total", "counter" },
    { "ksensor_firings_total", "counter" },         { "ksensor_actions_total", "counter" },
    { "ksensor_batches_total", "counter" },         { "ksensor_aborts_total", "counter" },
    { "ksensor_restores_total", "counter" },        { "ksensor_restored_records_total", "counter" },
    { "ksensor_state_rebuilds_total", "counter" },  { "ksensor_worker_restarts_total", "counter" },
    { "ksensor_trigger_replays_total", "counter" }, { "ksensor_reloads_total", "counter" },
    { "ksensor_consumer_lag", "gauge" },            { "ksensor_partitions_assigned", "gauge" },
    { "ksensor_workers", "gauge" },                 { "ksensor_worker_ready", "gauge" },
    { "ksensor_config_generation", "gauge" },       { "ksensor_sensors", "gauge" },
    { "ksensor_start_time_seconds", "gauge" },      { "ksensor_commit_seconds", "histogram" },
    { "ksensor_action_seconds", "histogram" },
};

#define NFAMILIES (sizeof(families) / sizeof(families[0]))

/* Observations, microseconds: bucket edges exactly, between them, beyond the last, and below 0. */
static const int64_t commit_us[3][6] = {
    { 500, 501, 1000, 240000, 10000000, 10000001 },
    { 0, -5, 2500, 2501, 999999, 1000000 },
    { 30000000, 7, 50000, 50000, 100001, 4999999 },
};
static const int64_t action_us[3][6] = {
    { 1, 2, 3, 4, 5, 6 },
    { 250000, 250001, 500000, 2500000, 2500001, 9999999 },
    { 24999, 25000, 25001, 99999, 100000, 100001 },
};

/* A report whose every counter differs from the others, and from those of other reports. */
static void
fill(ks_report_t *r, int which, int32_t slot, uint32_t generation, int32_t ready, int32_t partitions,
     int64_t lag)
{
    memset(r, 0, sizeof(*r));
    r->version = KS_REPORT_VERSION;
    r->slot = slot;
    r->generation = generation;
    r->pid = 1000 + which;
    r->ready = ready;
    r->partitions = partitions;
    r->lag = lag;
    for (size_t i = 0; i < sizeof(summed) / sizeof(summed[0]); i++)
        *(uint64_t *)((char *)r + summed[i].off) = (uint64_t)(which + 1) * 1000 + i * 7 + 1;
    for (size_t i = 0; i < 6; i++) {
        ks_hist_observe(&r->commit, commit_us[which % 3][i]);
        ks_hist_observe(&r->action, action_us[which % 3][i]);
    }
}

/* The value of the one sample of series; fails unless there is exactly one. */
static double
sample(const char *text, const char *series)
{
    size_t      n = strlen(series);
    int         found = 0;
    double      v = 0;
    const char *line;

    for (line = text; *line != '\0'; line = strchr(line, '\n') + 1) {
        if (strncmp(line, series, n) == 0 && line[n] == ' ') {
            v = strtod(line + n + 1, NULL);
            found++;
        }
    }
    ck_assert_msg(found == 1, "%d samples of %s", found, series);
    return v;
}

static int
count_prefix(const char *text, const char *prefix)
{
    int n = 0;

    for (const char *line = text; *line != '\0'; line = strchr(line, '\n') + 1)
        n += strncmp(line, prefix, strlen(prefix)) == 0;
    return n;
}

/* The rules of the format: every family has one HELP then one TYPE, its samples follow them
 * together, every sample is name{labels} value with a number for value, and the text ends in \n. */
static void
check_format(const char *text, size_t len)
{
    char        family[128] = "", type[32] = "", prev_help[128] = "";
    const char *line, *end;

    ck_assert_uint_eq(strlen(text), len);
    ck_assert_uint_gt(len, 0);
    ck_assert_int_eq(text[len - 1], '\n');
    for (line = text; *line != '\0'; line = end + 1) {
        char   name[128], *vend;
        size_t n;

        end = strchr(line, '\n');
        ck_assert_ptr_nonnull(end);
        if (strncmp(line, "# HELP ", 7) == 0) {
            ck_assert_int_eq(sscanf(line, "# HELP %127s", prev_help), 1);
            ck_assert_msg(count_prefix(text, line) == 1, "%.*s twice", (int)(end - line), line);
            continue;
        }
        if (strncmp(line, "# TYPE ", 7) == 0) {
            ck_assert_int_eq(sscanf(line, "# TYPE %127s %31s", family, type), 2);
            ck_assert_msg(strcmp(family, prev_help) == 0, "TYPE %s not right after its HELP", family);
            ck_assert_msg(count_prefix(text, line) == 1, "TYPE %s twice", family);
            ck_assert_msg(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0
                          || strcmp(type, "histogram") == 0, "type %s", type);
            prev_help[0] = '\0';
            continue;
        }
        ck_assert_msg(line[0] != '#', "stray comment %.*s", (int)(end - line), line);
        n = strspn(line, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:");
        ck_assert_msg(n > 0 && n < sizeof(name) && (line[n] == ' ' || line[n] == '{'), "bad line %.*s",
                      (int)(end - line), line);
        memcpy(name, line, n);
        name[n] = '\0';
        if (strcmp(type, "histogram") == 0) {
            size_t fl = strlen(family);

            ck_assert_msg(strncmp(name, family, fl) == 0
                          && (strcmp(name + fl, "_bucket") == 0 || strcmp(name + fl, "_sum") == 0
                              || strcmp(name + fl, "_count") == 0), "%s outside its family", name);
        } else {
            ck_assert_msg(strcmp(name, family) == 0, "%s outside its family %s", name, family);
        }
        if (line[n] == '{') {
            const char *close = memchr(line, '}', (size_t)(end - line));

            ck_assert_ptr_nonnull(close);
            n = (size_t)(close - line) + 1;
        }
        ck_assert_int_eq(line[n], ' ');
        strtod(line + n + 1, &vend);
        ck_assert_msg(vend == end && vend > line + n + 1, "bad value in %.*s", (int)(end - line), line);
    }
}

/* Checks one histogram family against the observations behind it: cumulative buckets at the
 * bounds, +Inf equal to _count, and _sum in seconds. */
static void
check_histogram(const char *text, const char *name, const int64_t (*obs)[6], const int *which,
                size_t nwhich)
{
    char        prefix[128], series[160];
    const char *line;
    int         b = 0;
    uint64_t    prev = 0, total = 0;
    double      sum_s = 0;

    snprintf(prefix, sizeof(prefix), "%s_bucket{le=\"", name);
    for (line = strstr(text, prefix); line != NULL; line = strstr(line + 1, prefix), b++) {
        const char *le = line + strlen(prefix);
        char       *q;
        uint64_t    want = 0, got;

        ck_assert_int_le(b, KS_HIST_BOUNDS);
        for (size_t w = 0; w < nwhich; w++)
            for (size_t i = 0; i < 6; i++)
                want += b == KS_HIST_BOUNDS
                        || (double)(obs[which[w]][i] < 0 ? 0 : obs[which[w]][i]) <= ks_hist_bounds[b] * 1e6;
        if (b == KS_HIST_BOUNDS) {
            ck_assert_int_eq(strncmp(le, "+Inf\"} ", 7), 0);
            q = (char *)le + 4;
        } else {
            ck_assert(strtod(le, &q) == ks_hist_bounds[b]);
            ck_assert_int_eq(q[0], '"');
        }
        got = strtoull(q + 3, NULL, 10);
        ck_assert_msg(got == want, "%s bucket %d: %llu, want %llu", name, b, (unsigned long long)got,
                      (unsigned long long)want);
        ck_assert_uint_ge(got, prev);
        prev = got;
    }
    ck_assert_int_eq(b, KS_HIST_BUCKETS);
    for (size_t w = 0; w < nwhich; w++) {
        for (size_t i = 0; i < 6; i++) {
            total++;
            sum_s += obs[which[w]][i] < 0 ? 0 : (double)obs[which[w]][i] / 1e6;
        }
    }
    ck_assert_uint_eq(prev, total);
    snprintf(series, sizeof(series), "%s_count", name);
    ck_assert(sample(text, series) == (double)total);
    snprintf(series, sizeof(series), "%s_sum", name);
    ck_assert_msg(fabs(sample(text, series) - sum_s) < 1e-6, "%s %.9f, want %.9f", series,
                  sample(text, series), sum_s);
}

START_TEST(test_render)
{
    ks_report_t    live[3], retired, r;
    ks_sup_stats_t sup = {
        .generation = 2, .reloads_ok = 3, .reloads_failed = 1, .worker_restarts = 4,
        .workers_wanted = 2, .workers_up = 2, .workers_ready = 1, .sensors = 17,
        .start_time = 1767225600.25,
    };
    static const int which_all[] = { 0, 1, 2, 0, 1 };   /* live[0..2], then the two retired */
    char          *text;
    size_t         len, ready_samples = 0;
    int64_t        lag = 0, parts = 0;

    fill(&live[0], 0, 0, 2, 1, 6, 100);
    fill(&live[1], 1, 1, 2, 0, 5, -1);
    fill(&live[2], 2, 0, 1, 1, 0, 7);       /* an old-generation worker draining from slot 0 */
    memset(&retired, 0, sizeof(retired));
    fill(&r, 3, 4, 1, 0, 0, -1);
    ks_report_add(&retired, &r);
    fill(&r, 4, 5, 1, 0, 0, -1);
    ks_report_add(&retired, &r);

    text = ks_metrics_render(live, 3, &retired, &sup, &len);
    check_format(text, len);

    for (size_t f = 0; f < NFAMILIES; f++) {
        char help[128], type[128];

        snprintf(help, sizeof(help), "# HELP %s ", families[f].name);
        snprintf(type, sizeof(type), "# TYPE %s %s\n", families[f].name, families[f].type);
        ck_assert_msg(count_prefix(text, help) == 1, "HELP of %s", families[f].name);
        ck_assert_msg(count_prefix(text, type) == 1, "TYPE of %s", families[f].name);
    }
    ck_assert_int_eq(count_prefix(text, "# TYPE "), NFAMILIES);

    for (size_t i = 0; i < sizeof(summed) / sizeof(summed[0]); i++) {
        uint64_t want = FIELD(&retired, summed[i].off);

        for (int w = 0; w < 3; w++)
            want += FIELD(&live[w], summed[i].off);
        ck_assert_msg(sample(text, summed[i].series) == (double)want, "%s", summed[i].series);
    }
    ck_assert(sample(text, "ksensor_worker_restarts_total") == (double)sup.worker_restarts);
    ck_assert(sample(text, "ksensor_reloads_total{result=\"ok\"}") == (double)sup.reloads_ok);
    ck_assert(sample(text, "ksensor_reloads_total{result=\"failed\"}") == (double)sup.reloads_failed);

    for (int w = 0; w < 3; w++) {
        lag += live[w].lag >= 0 ? live[w].lag : 0;
        parts += live[w].partitions;
        ready_samples += live[w].generation == sup.generation;
    }
    ck_assert(sample(text, "ksensor_consumer_lag") == (double)lag);
    ck_assert(sample(text, "ksensor_partitions_assigned") == (double)parts);
    ck_assert(sample(text, "ksensor_workers{state=\"wanted\"}") == sup.workers_wanted);
    ck_assert(sample(text, "ksensor_workers{state=\"up\"}") == sup.workers_up);
    ck_assert(sample(text, "ksensor_workers{state=\"ready\"}") == sup.workers_ready);
    ck_assert(sample(text, "ksensor_worker_ready{slot=\"0\"}") == live[0].ready);
    ck_assert(sample(text, "ksensor_worker_ready{slot=\"1\"}") == live[1].ready);
    ck_assert_int_eq(count_prefix(text, "ksensor_worker_ready{"), ready_samples);
    ck_assert(sample(text, "ksensor_config_generation") == sup.generation);
    ck_assert(sample(text, "ksensor_sensors") == (double)sup.sensors);
    ck_assert(sample(text, "ksensor_start_time_seconds") == sup.start_time);

    check_histogram(text, "ksensor_commit_seconds", commit_us, which_all, 5);
    check_histogram(text, "ksensor_action_seconds", action_us, which_all, 5);
    ck_assert_ptr_nonnull(strstr(text, "ksensor_commit_seconds_bucket{le=\"0.0005\"} "));
    ck_assert_ptr_nonnull(strstr(text, "ksensor_commit_seconds_bucket{le=\"0.001\"} "));
    ck_assert_ptr_nonnull(strstr(text, "ksensor_commit_seconds_bucket{le=\"0.0025\"} "));
    ck_assert_ptr_nonnull(strstr(text, "ksensor_commit_seconds_bucket{le=\"2.5\"} "));
    ck_assert_ptr_nonnull(strstr(text, "ksensor_commit_seconds_bucket{le=\"10\"} "));
    free(text);
}
END_TEST

/* No worker knows its lag: the family is described but has no sample. No retired workers. */
START_TEST(test_lag_unknown)
{
    ks_report_t    live[2];
    ks_sup_stats_t sup = { .generation = 1, .start_time = 1e9 };
    static const int which[] = { 0, 1 };
    char          *text;
    size_t         len;

    fill(&live[0], 0, 0, 1, 0, 0, -1);
    fill(&live[1], 1, 1, 1, 0, 0, -1);
    text = ks_metrics_render(live, 2, NULL, &sup, &len);
    check_format(text, len);
    ck_assert_int_eq(count_prefix(text, "# TYPE ksensor_consumer_lag gauge\n"), 1);
    ck_assert_int_eq(count_prefix(text, "ksensor_consumer_lag"), 0);
    ck_assert(sample(text, "ksensor_events_total") == (double)(live[0].events_in + live[1].events_in));
    ck_assert(sample(text, "ksensor_worker_ready{slot=\"1\"}") == 0);
    ck_assert(sample(text, "ksensor_start_time_seconds") == 1e9);
    check_histogram(text, "ksensor_commit_seconds", commit_us, which, 2);
    free(text);
}
END_TEST

/* Before any worker has reported: every family is there, with zeros. */
START_TEST(test_empty)
{
    ks_sup_stats_t sup = { .generation = 1, .workers_wanted = 4, .start_time = 1767225600 };
    char          *text;
    size_t         len;

    text = ks_metrics_render(NULL, 0, NULL, &sup, &len);
    check_format(text, len);
    ck_assert_int_eq(count_prefix(text, "# TYPE "), NFAMILIES);
    ck_assert(sample(text, "ksensor_events_total") == 0);
    ck_assert(sample(text, "ksensor_workers{state=\"wanted\"}") == 4);
    ck_assert(sample(text, "ksensor_action_seconds_bucket{le=\"+Inf\"}") == 0);
    ck_assert(sample(text, "ksensor_action_seconds_sum") == 0);
    ck_assert_int_eq(count_prefix(text, "ksensor_worker_ready{"), 0);
    ck_assert_int_eq(count_prefix(text, "ksensor_consumer_lag "), 0);
    ck_assert_ptr_nonnull(strstr(text, "\nksensor_start_time_seconds 1767225600\n"));
    free(text);
}
END_TEST

Suite *
suite_sup_metrics(void)
{
    Suite *s = suite_create("sup_metrics");
    TCase *tc = tcase_create("render");

    tcase_add_test(tc, test_render);
    tcase_add_test(tc, test_lag_unknown);
    tcase_add_test(tc, test_empty);
    suite_add_tcase(s, tc);
    return s;
}
