/* test_load.c — the Sensor loader: valid manifests and their model, every invalid case of
 * tests/data/sensors/invalid/ with its exact messages, and the Argo corpus table
 * (tests/data/argo-examples.tsv: each file "loads" or "refused: <first message>"). */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sensor/load.h"
#include "sensor/match.h"
#include "unit.h"

static glob_t invalid_cases;

typedef struct corpus_row {
    char path[512];
    char expect[512];
} corpus_row_t;

static corpus_row_t corpus[200];
static size_t       ncorpus;

static ks_sensor_t *
load_one(ks_pool_t *pool, const char *path)
{
    ks_diag_t diag = {0};
    size_t    refused = ks_pool_load_file(pool, path, &diag);

    for (size_t i = 0; i < diag.n; i++)
        fprintf(stderr, "unexpected: %s\n", diag.msgs[i]);
    ck_assert_uint_eq(refused, 0);
    ck_assert_uint_ge(pool->nsensors, 1);
    ks_diag_free(&diag);
    return pool->sensors[pool->nsensors - 1];
}

START_TEST(test_example_1)
{
    ks_pool_t    pool = {0};
    ks_sensor_t *s = load_one(&pool, unit_data("sensors/valid/example-1.yaml"));

    ck_assert_str_eq(s->name, "example-1");
    ck_assert_uint_eq(s->ndeps, 3);
    ck_assert_str_eq(s->deps[2].name, "red");
    ck_assert_str_eq(s->deps[2].event_source, "demo");
    ck_assert_str_eq(s->deps[2].event_name, "red");
    ck_assert_uint_eq(s->ntriggers, 3);
    ck_assert_int_eq(s->triggers[0].kind, KS_ACTION_LOG);
    ck_assert(!ks_cond_has_and(s->triggers[0].cond));
    ck_assert(ks_cond_has_and(s->triggers[1].cond));
    ck_assert(!ks_cond_uses(s->triggers[1].cond, 2));
    ck_assert(ks_cond_uses(s->triggers[2].cond, 2));
    ck_assert_int_eq(s->triggers[0].retry.steps, 1);
    ck_assert(!s->triggers[0].at_least_once);
    ks_pool_free(&pool);
}
END_TEST

START_TEST(test_everything)
{
    ks_pool_t     pool = {0};
    ks_sensor_t  *s = load_one(&pool, unit_data("sensors/valid/everything.yaml"));
    ks_trigger_t *t = &s->triggers[0];
    ks_filters_t *f = &s->deps[0].filters;

    ck_assert_int_eq(f->op, KS_OP_OR);
    ck_assert_uint_eq(f->ndata, 3);
    ck_assert_int_eq(f->data[0].type, KS_DATA_NUMBER);
    ck_assert_int_eq(f->data[0].cmp, KS_CMP_GE);
    ck_assert(f->data[0].numbers[1] == 50.5);
    ck_assert_int_eq(f->data[2].type, KS_DATA_BOOL);
    ck_assert(f->data[2].bools[0]);
    ck_assert_uint_eq(f->nexprs, 1);
    ck_assert_str_eq(f->exprs[0].paths[1], "body.currency");
    ck_assert(f->has_context);
    ck_assert_str_eq(f->ctx_type, "webhook");
    ck_assert_ptr_null(f->ctx_source);
    ck_assert(f->has_time);
    ck_assert_int_eq(f->time_start, 22 * 3600);
    ck_assert_int_eq(f->time_stop, 6 * 3600);

    ck_assert_str_eq(t->name, "notify");
    ck_assert_int_eq(t->kind, KS_ACTION_HTTP);
    ck_assert_uint_eq(t->nresets, 1);
    ck_assert(t->at_least_once);
    ck_assert_int_eq(t->retry.steps, 3);
    ck_assert_int_eq(t->retry.duration_ms, 500);
    ck_assert(t->retry.factor == 2.0);
    ck_assert_int_eq(t->rate_unit_ms, 60000);
    ck_assert_int_eq(t->rate_requests, 60);
    ck_assert_uint_eq(t->nstatus_allow, 2);
    ck_assert_int_eq(t->status_allow[1], 201);
    ck_assert_uint_eq(t->payload.n, 2);
    ck_assert_str_eq(t->payload.items[1].context_key, "id");
    ck_assert_ptr_nonnull(t->dlq);
    ck_assert_str_eq(t->dlq->name, "notify-dlq");
    ck_assert_int_eq(t->dlq->kind, KS_ACTION_LOG);
    /* the template is kept as typed JSON for the executors */
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(t->tmpl, "http"), "method")), "PUT");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(t->tmpl, "http"), "timeout")), 10);

    t = &s->triggers[1];
    ck_assert_int_eq(t->kind, KS_ACTION_KAFKA);
    ck_assert_uint_eq(t->tmpl_params.n, 1);
    ck_assert_str_eq(t->tmpl_params.items[0].value, "audit");
    ks_pool_free(&pool);
}
END_TEST

/* Two sensors in one file, the first broken: the second still loads. */
START_TEST(test_one_bad_sensor)
{
    const char *path = unit_write("two.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Sensor\nmetadata: {name: bad}\n"
        "spec:\n  dependencies: [{name: a, eventSourceName: s, eventName: e}]\n"
        "  triggers: [{template: {name: t, slack: {}}}]\n"
        "---\n"
        "apiVersion: argoproj.io/v1alpha1\nkind: Sensor\nmetadata: {name: good}\n"
        "spec:\n  dependencies: [{name: a, eventSourceName: s, eventName: e}]\n"
        "  triggers: [{template: {name: t, log: {}}}]\n");
    ks_pool_t   pool = {0};
    ks_diag_t   diag = {0};

    ck_assert_uint_eq(ks_pool_load_file(&pool, path, &diag), 1);
    ck_assert_uint_eq(pool.nsensors, 1);
    ck_assert_str_eq(pool.sensors[0]->name, "good");
    ck_assert_uint_eq(diag.n, 1);
    ck_assert_ptr_nonnull(strstr(diag.msgs[0], "two.yaml:6:35: trigger type 'slack' is not supported"));

    /* the same name again is refused */
    ck_assert_uint_eq(ks_pool_load_file(&pool, path, &diag), 2);
    ck_assert_uint_eq(pool.nsensors, 1);
    ck_assert_ptr_nonnull(strstr(diag.msgs[diag.n - 1], "a sensor named 'good' is already loaded"));
    ks_diag_free(&diag);
    ks_pool_free(&pool);
}
END_TEST

START_TEST(test_match_index)
{
    ks_pool_t               pool = {0};
    ks_diag_t               diag = {0};
    ks_dependency_t *const *deps;
    size_t                  n;

    ck_assert_uint_eq(ks_pool_load_glob(&pool, unit_data("sensors/valid/example-*.yaml"), &diag), 0);
    ks_pool_index(&pool);
    deps = ks_match_find(pool.match, "demo", "red", &n);
    ck_assert_uint_eq(n, 2);            /* example-1's red and example-2's red */
    ck_assert_str_eq(deps[0]->sensor->name, "example-1");
    ck_assert_str_eq(deps[1]->sensor->name, "example-2");
    ck_assert_ptr_null(ks_match_find(pool.match, "demo", "green", &n));
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(ks_match_find(pool.match, "red", "demo", &n));
    ks_pool_free(&pool);

    ck_assert_uint_eq(ks_pool_load_glob(&pool, unit_data("sensors/valid/nothing-*.yaml"), &diag), 1);
    ck_assert_ptr_nonnull(strstr(diag.msgs[0], "no sensor file matches"));
    ks_diag_free(&diag);
}
END_TEST

START_TEST(test_invalid_case)
{
    const char *path = invalid_cases.gl_pathv[_i];
    char        expected_path[4096], got[8192] = "";
    size_t      used = 0, plen = strlen(path);
    ks_diag_t   diag = {0};
    ks_pool_t   pool = {0};
    char       *expected;

    snprintf(expected_path, sizeof(expected_path), "%.*s.expected", (int)(plen - 5), path);
    expected = unit_read(expected_path);
    ck_assert_uint_ge(ks_pool_load_file(&pool, path, &diag), 1);
    ck_assert_uint_eq(pool.nsensors, 0);
    for (size_t i = 0; i < diag.n; i++) {
        ck_assert_msg(strncmp(diag.msgs[i], path, plen) == 0, "no file name in '%s'", diag.msgs[i]);
        used += (size_t)snprintf(got + used, sizeof(got) - used, "%s\n", diag.msgs[i] + plen + 1);
    }
    ck_assert_msg(strcmp(got, expected) == 0, "%s:\n--- got\n%s--- expected\n%s", path, got, expected);
    free(expected);
    ks_diag_free(&diag);
    ks_pool_free(&pool);        /* (its Lua state, made by scripts of sensors then refused) */
}
END_TEST

/* Every file of the corpus is listed in the table, and the table is exactly what loading gives. */
START_TEST(test_corpus_complete)
{
    glob_t a, b;

    ck_assert_int_eq(glob(unit_data("argo-examples/sensors/*.y*ml"), 0, NULL, &a), 0);
    ck_assert_int_eq(glob(unit_data("argo-examples/e2e/*.y*ml"), 0, NULL, &b), 0);
    ck_assert_uint_eq(ncorpus, a.gl_pathc + b.gl_pathc);
    globfree(&a);
    globfree(&b);
}
END_TEST

START_TEST(test_corpus_file)
{
    const corpus_row_t *row = &corpus[_i];
    ks_pool_t           pool = {0};
    ks_diag_t           diag = {0};
    char                path[1024];
    size_t              refused;

    snprintf(path, sizeof(path), "%s", unit_data(row->path));
    refused = ks_pool_load_file(&pool, path, &diag);
    if (strcmp(row->expect, "loads") == 0) {
        ck_assert_msg(refused == 0, "%s: expected to load, got: %s", row->path, diag.n ? diag.msgs[0] : "?");
        ck_assert_uint_eq(pool.nsensors, 1);
    } else {
        const char *msg;

        ck_assert_msg(refused > 0 && diag.n > 0, "%s: expected '%s', but it loads", row->path, row->expect);
        msg = diag.msgs[0] + strlen(path) + 1;
        ck_assert_msg(strncmp(row->expect, "refused: ", 9) == 0 && strcmp(msg, row->expect + 9) == 0,
                      "%s: expected '%s', got 'refused: %s'", row->path, row->expect, msg);
    }
    ks_diag_free(&diag);
    ks_pool_free(&pool);
}
END_TEST

static void
read_corpus_table(void)
{
    FILE *fp = fopen(unit_data("argo-examples.tsv"), "r");
    char  line[480];

    while (fp != NULL && fgets(line, sizeof(line), fp) != NULL && ncorpus < 200) {
        char *tab = strchr(line, '\t');

        if (line[0] == '#' || tab == NULL)
            continue;
        line[strcspn(line, "\n")] = '\0';
        *tab = '\0';
        snprintf(corpus[ncorpus].path, sizeof(corpus[ncorpus].path), "argo-examples/%s", line);
        snprintf(corpus[ncorpus].expect, sizeof(corpus[ncorpus].expect), "%s", tab + 1);
        ncorpus++;
    }
    if (fp != NULL)
        fclose(fp);
}

Suite *
suite_load(void)
{
    Suite *s = suite_create("load");
    TCase *tc = tcase_create("load");
    TCase *tcc = tcase_create("corpus");

    glob(unit_data("sensors/invalid/*.yaml"), 0, NULL, &invalid_cases);
    read_corpus_table();
    tcase_add_test(tc, test_example_1);
    tcase_add_test(tc, test_everything);
    tcase_add_test(tc, test_one_bad_sensor);
    tcase_add_test(tc, test_match_index);
    tcase_add_loop_test(tc, test_invalid_case, 0, (int)invalid_cases.gl_pathc);
    tcase_add_test(tcc, test_corpus_complete);
    tcase_add_loop_test(tcc, test_corpus_file, 0, (int)ncorpus);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, tcc);
    return s;
}
