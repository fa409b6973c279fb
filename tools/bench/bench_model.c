/* bench_model.c — throughput of the sensor model: CloudEvents through decode, match, filters and
 * trigger state (ks_eval_event, firings counted but not printed), for one sensor (example-1) and for
 * 1,000 hosted sensors, next to a baseline in the same run: decoding the same JSON with jansson only;
 * then each filter language's cost per event next to the data filter's, and a payload parameter
 * written as a Go template next to the same one written as a dataKey.
 * Prints a Markdown table with the median of several runs. Usage: bench_model [EVENTS] [RUNS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "sensor/eval.h"
#include "sensor/gotmpl.h"
#include "sensor/load.h"
#include "sensor/param.h"

static size_t firings;

static double
now_sec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Events of about 300 bytes for sensor i of nsensors, subjects blue/yellow/red in turn. */
static char **
make_events(size_t n, size_t nsensors, size_t *len)
{
    static const char *const colours[] = { "blue", "yellow", "red" };
    char                   **events = calloc(n, sizeof(*events));

    for (size_t i = 0; i < n; i++) {
        char buf[512];
        int  k = snprintf(buf, sizeof(buf),
            "{\"specversion\":\"1.0\",\"id\":\"%032zx\",\"source\":\"demo-%zu\",\"type\":\"webhook\","
            "\"subject\":\"%s\",\"datacontenttype\":\"application/json\",\"time\":\"2026-01-01T12:00:00Z\","
            "\"data\":{\"order\":{\"id\":%zu,\"amount\":%zu.5,\"currency\":\"EUR\",\"customer\":\"c-%zu\","
            "\"items\":[\"cup\",\"tea\"]},\"status\":\"paid\",\"note\":\"benchmark event\"}}",
            i, (i / 3) % nsensors, colours[i % 3], i, i % 1000, i % 977);

        events[i] = strdup(buf);
        *len += (size_t)k;
    }
    return events;
}

static ks_pool_t
make_pool(size_t nsensors, const char *dir)
{
    ks_pool_t pool = {0};
    ks_diag_t diag = {0};

    for (size_t s = 0; s < nsensors; s++) {
        char  path[512];
        FILE *fp;

        snprintf(path, sizeof(path), "%s/sensor-%zu.yaml", dir, s);
        fp = fopen(path, "w");
        fprintf(fp,
            "apiVersion: argoproj.io/v1alpha1\nkind: Sensor\nmetadata: {name: example-%zu}\nspec:\n"
            "  dependencies:\n"
            "    - {name: blue, eventSourceName: demo-%zu, eventName: blue}\n"
            "    - {name: yellow, eventSourceName: demo-%zu, eventName: yellow}\n"
            "    - {name: red, eventSourceName: demo-%zu, eventName: red}\n"
            "  triggers:\n"
            "    - template: {name: trigger-1, conditions: blue, log: {}}\n"
            "    - template: {name: trigger-2, conditions: blue && yellow, log: {}}\n"
            "    - template: {name: trigger-3, conditions: blue && yellow && red, log: {}}\n",
            s, s, s, s);
        fclose(fp);
        if (ks_pool_load_file(&pool, path, &diag) != 0) {
            fprintf(stderr, "bench: %s: %s\n", path, diag.msgs[0]);
            exit(1);
        }
        remove(path);
    }
    ks_pool_index(&pool);
    return pool;
}

/* One sensor whose one dependency (blue) has the filter or transform of spec (YAML flow mapping
 * entries), firing a log trigger. */
static ks_pool_t
make_filter_pool(const char *spec, const char *dir)
{
    ks_pool_t pool = {0};
    ks_diag_t diag = {0};
    char      path[512];
    FILE     *fp;

    snprintf(path, sizeof(path), "%s/filter.yaml", dir);
    fp = fopen(path, "w");
    fprintf(fp,
        "apiVersion: argoproj.io/v1alpha1\nkind: Sensor\nmetadata: {name: filtered}\nspec:\n"
        "  dependencies:\n"
        "    - {name: blue, eventSourceName: demo-0, eventName: blue, %s}\n"
        "  triggers:\n"
        "    - template: {name: trigger-1, conditions: blue, log: {}}\n", spec);
    fclose(fp);
    if (ks_pool_load_file(&pool, path, &diag) != 0) {
        fprintf(stderr, "bench: %s: %s\n", path, diag.msgs[0]);
        exit(1);
    }
    remove(path);
    ks_pool_index(&pool);
    return pool;
}

static double
run_model(ks_pool_t *pool, char **events, size_t n)
{
    ks_eval_ops_t ops = { NULL, NULL, NULL };   /* count firings, build no output */
    ks_eval_t    *eval = ks_eval_new(pool, &ops);
    char          err[256];
    double        t0 = now_sec();

    for (size_t i = 0; i < n; i++) {
        if (ks_eval_event(eval, events[i], strlen(events[i]), err, sizeof(err)) != 0) {
            fprintf(stderr, "bench: %s\n", err);
            exit(1);
        }
    }
    t0 = now_sec() - t0;
    firings += ks_eval_firings(eval);
    ks_eval_free(eval);
    return (double)n / t0;
}

/* Payloads built per firing (ks_payload_build) from one parameter: firings/s. */
static double
run_payload(const ks_param_t *param, const ks_event_t *events, size_t n)
{
    ks_params_t params = { (ks_param_t *)param, 1 };
    double      t0 = now_sec();

    for (size_t i = 0; i < n; i++) {
        ks_held_event_t held = { "blue", &events[i] };
        char           *body, err[256];
        size_t          len;

        if (ks_payload_build(&params, &held, 1, &body, &len, err, sizeof(err)) != 0) {
            fprintf(stderr, "bench: %s\n", err);
            exit(1);
        }
        free(body);
    }
    return (double)n / (now_sec() - t0);
}

/* A parameter by dataKey next to the same value (and a little more) by dataTemplate. */
static void
bench_payloads(char **texts, size_t n, int runs)
{
    ks_event_t  *events = calloc(n, sizeof(*events));
    char         err[256];
    size_t       offset;
    ks_gotmpl_t *tmpl = ks_gotmpl_parse("{{ .Input.order.id }}-{{ .Input.order.customer | upper }}", &offset, err,
                                        sizeof(err));
    ks_param_t   by_key = { .dependency = "blue", .data_key = "order.id", .dest = "id" };
    ks_param_t   by_tmpl = { .dependency = "blue", .data_template = tmpl, .dest = "id" };
    double       k[16], t[16];

    for (size_t i = 0; i < n; i++) {
        if (ks_event_decode(&events[i], texts[i], strlen(texts[i]), err, sizeof(err)) != 0) {
            fprintf(stderr, "bench: %s\n", err);
            exit(1);
        }
    }
    for (int r = 0; r < runs; r++) {
        k[r] = run_payload(&by_key, events, n);
        t[r] = run_payload(&by_tmpl, events, n);
    }
    qsort(k, (size_t)runs, sizeof(double), cmp_double);
    qsort(t, (size_t)runs, sizeof(double), cmp_double);
    printf("\nOne payload parameter built per firing (decoded event in, JSON body out)\n\n");
    printf("| parameter | firings/s | cost per firing, × dataKey's |\n|---|---:|---:|\n");
    printf("| dataKey `order.id` | %.0f | 1.00 |\n", k[runs / 2]);
    printf("| dataTemplate `{{ .Input.order.id }}-{{ .Input.order.customer \\| upper }}` | %.0f | %.2f |\n",
           t[runs / 2], k[runs / 2] / t[runs / 2]);
    for (size_t i = 0; i < n; i++)
        ks_event_free(&events[i]);
    free(events);
    ks_gotmpl_free(tmpl);
}

static double
run_baseline(char **events, size_t n)
{
    double t0 = now_sec();

    for (size_t i = 0; i < n; i++)
        json_decref(json_loads(events[i], 0, NULL));
    return (double)n / (now_sec() - t0);
}

int
main(int argc, char **argv)
{
    size_t     n = argc > 1 ? strtoul(argv[1], NULL, 10) : 300000;
    int        runs = argc > 2 ? atoi(argv[2]) : 5;
    char       dir[] = "/tmp/ksensor-bench.XXXXXX";
    size_t     bytes1 = 0, bytes1000 = 0;
    char     **one, **many;
    ks_pool_t  pool1, pool1000;
    double     base[16], r1[16], r1000[16];
    /* the same event test written in each language Argo users write filters in */
    static const struct { const char *name, *spec; } kinds[] = {
        { "data filter `status == paid`", "filters: {data: [{path: status, type: string, value: ['^paid$']}]}" },
        { "Lua filter `return event.status == \"paid\"`", "filters: {script: 'return event.status == \"paid\"'}" },
        { "data filter with a template `{{ .Input \\| upper }}` == PAID",
          "filters: {data: [{path: status, type: string, value: ['^PAID$'], template: '{{ .Input | upper }}'}]}" },
        { "jq transform `.status |= ascii_upcase`", "transform: {jq: '.status |= ascii_upcase'}" },
        { "Lua transform `event.status = \"PAID\" return event`",
          "transform: {script: 'event.status = \"PAID\" return event'}" },
    };
    enum { KINDS = sizeof(kinds) / sizeof(kinds[0]) };
    ks_pool_t  kpools[KINDS];
    double     kr[KINDS][16];

    if (runs < 1 || runs > 16 || mkdtemp(dir) == NULL)
        return 2;
    one = make_events(n, 1, &bytes1);
    many = make_events(n, 1000, &bytes1000);
    pool1 = make_pool(1, dir);
    pool1000 = make_pool(1000, dir);
    for (size_t k = 0; k < KINDS; k++)
        kpools[k] = make_filter_pool(kinds[k].spec, dir);
    remove(dir);

    for (int r = 0; r < runs; r++) {
        base[r] = run_baseline(one, n);
        r1[r] = run_model(&pool1, one, n);
        r1000[r] = run_model(&pool1000, many, n);
        for (size_t k = 0; k < KINDS; k++)
            kr[k][r] = run_model(&kpools[k], one, n);
    }
    for (size_t k = 0; k < KINDS; k++)
        qsort(kr[k], (size_t)runs, sizeof(double), cmp_double);
    qsort(base, (size_t)runs, sizeof(double), cmp_double);
    qsort(r1, (size_t)runs, sizeof(double), cmp_double);
    qsort(r1000, (size_t)runs, sizeof(double), cmp_double);

    printf("Sensor model, %zu events of %zu bytes on average, median of %d runs (%zu firings counted)\n\n",
           n, bytes1 / n, runs, firings);
    printf("| pipeline | events/s | ratio |\n|---|---:|---:|\n");
    printf("| baseline: jansson decode only | %.0f | 1.00 |\n", base[runs / 2]);
    printf("| example-1: decode, match, filters, trigger state | %.0f | %.2f |\n", r1[runs / 2],
           r1[runs / 2] / base[runs / 2]);
    printf("| 1,000 sensors (example-1 each) | %.0f | %.2f |\n", r1000[runs / 2],
           r1000[runs / 2] / base[runs / 2]);
    printf("\n1,000 sensors / one sensor: %.2f\n", r1000[runs / 2] / r1[runs / 2]);
    printf("\nOne dependency taking a third of the events (blue), filtered or transformed; events/s of the whole "
           "model, and each one's cost per matching event as a multiple of the data filter's (beyond what every "
           "event costs: decode and match, measured with no filter)\n\n");
    printf("| dependency | events/s | cost per matching event, × the data filter's |\n|---|---:|---:|\n");
    {
        ks_pool_t bare = make_filter_pool("filters: {}", "/tmp");
        double    b[16], per_data;

        for (int r = 0; r < runs; r++)
            b[r] = run_model(&bare, one, n);
        qsort(b, (size_t)runs, sizeof(double), cmp_double);
        /* seconds per event above the bare model, times 3: one event in three matches */
        per_data = 3. * (1. / kr[0][runs / 2] - 1. / b[runs / 2]);
        printf("| none (decode, match, trigger state) | %.0f | – |\n", b[runs / 2]);
        for (size_t k = 0; k < KINDS; k++)
            printf("| %s | %.0f | %.2f |\n", kinds[k].name, kr[k][runs / 2],
                   3. * (1. / kr[k][runs / 2] - 1. / b[runs / 2]) / per_data);
        ks_pool_free(&bare);
    }
    bench_payloads(one, n / 3, runs);
    for (size_t k = 0; k < KINDS; k++)
        ks_pool_free(&kpools[k]);
    ks_pool_free(&pool1);
    ks_pool_free(&pool1000);
    for (size_t i = 0; i < n; i++) {
        free(one[i]);
        free(many[i]);
    }
    free(one);
    free(many);
    return 0;
}
