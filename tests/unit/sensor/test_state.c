/* test_state.c — trigger state transitions: hold, latest wins, fire with every held event, clear,
 * and conditionsReset dropping events held before the last activation. */
#include <stdlib.h>

#include "sensor/load.h"
#include "sensor/state.h"
#include "unit.h"

static int released;

static void
release(void *item)
{
    (void)item;
    released++;
}

static ks_pool_t pool;

static ks_trigger_t *
load_trigger(const char *conditions, const char *reset)
{
    char      yaml[1024];
    ks_diag_t diag = {0};

    snprintf(yaml, sizeof(yaml),
             "apiVersion: argoproj.io/v1alpha1\nkind: Sensor\nmetadata: {name: s}\nspec:\n"
             "  dependencies:\n"
             "    - {name: a, eventSourceName: x, eventName: a}\n"
             "    - {name: b, eventSourceName: x, eventName: b}\n"
             "    - {name: c, eventSourceName: x, eventName: c}\n"
             "  triggers:\n    - template:\n        name: t\n        conditions: \"%s\"\n%s        log: {}\n",
             conditions, reset);
    ck_assert_uint_eq(ks_pool_load_file(&pool, unit_write("s.yaml", yaml), &diag), 0);
    return &pool.sensors[0]->triggers[0];
}

START_TEST(test_hold_and_fire)
{
    ks_trigger_t *trig = load_trigger("a && b", "");
    ks_state_t    st;
    void         *fired[3];
    int           a1, a2, b1;

    released = 0;
    ks_state_init(&st, trig, release);
    ck_assert(!ks_state_apply(&st, 0, &a1, 100, fired));
    ck_assert(!ks_state_apply(&st, 0, &a2, 101, fired));   /* a2 replaces a1 */
    ck_assert_int_eq(released, 1);
    ck_assert(ks_state_apply(&st, 1, &b1, 102, fired));
    ck_assert_ptr_eq(fired[0], &a2);
    ck_assert_ptr_eq(fired[1], &b1);
    ck_assert_ptr_null(fired[2]);
    /* the state is empty again: the next b alone does not fire */
    ck_assert(!ks_state_apply(&st, 1, &b1, 103, fired));
    ks_state_free(&st);
    ck_assert_int_eq(released, 2);     /* the held b1 was released on free */
    ks_pool_free(&pool);
}
END_TEST

/* A firing carries every held event, also those the satisfied branch did not need. */
START_TEST(test_fire_carries_all_held)
{
    ks_trigger_t *trig = load_trigger("(a && b) || c", "");
    ks_state_t    st;
    void         *fired[3];
    int           a1, c1;

    ks_state_init(&st, trig, release);
    ck_assert(!ks_state_apply(&st, 0, &a1, 1, fired));
    ck_assert(ks_state_apply(&st, 2, &c1, 2, fired));
    ck_assert_ptr_eq(fired[0], &a1);
    ck_assert_ptr_null(fired[1]);
    ck_assert_ptr_eq(fired[2], &c1);
    ks_state_free(&st);
    ks_pool_free(&pool);
}
END_TEST

START_TEST(test_reset)
{
    /* hourly reset at minute 0 */
    ks_trigger_t *trig = load_trigger("a && b", "        conditionsReset: [{byTime: {cron: '0 * * * *'}}]\n");
    ks_state_t    st;
    void         *fired[3];
    int           a1, a2, b1;
    const int64_t t0 = 1767268800;    /* 2026-01-01T12:00:00Z */

    ck_assert_int_eq(ks_state_last_reset(trig, t0 + 1800), t0);
    ck_assert_int_eq(ks_state_last_reset(trig, t0), t0);
    ks_state_init(&st, trig, release);
    ck_assert(!ks_state_apply(&st, 0, &a1, t0 + 3599, fired));
    /* b arrives after the 13:00 reset: a1 was dropped */
    ck_assert(!ks_state_apply(&st, 1, &b1, t0 + 3601, fired));
    ck_assert(ks_state_apply(&st, 0, &a2, t0 + 3602, fired));
    ck_assert_ptr_eq(fired[0], &a2);
    ck_assert_ptr_eq(fired[1], &b1);
    ks_state_free(&st);
    ks_pool_free(&pool);

    trig = load_trigger("a && b", "");
    ck_assert(ks_state_last_reset(trig, t0) == INT64_MIN);
    ks_pool_free(&pool);
}
END_TEST

Suite *
suite_state(void)
{
    Suite *s = suite_create("state");
    TCase *tc = tcase_create("state");

    tcase_add_test(tc, test_hold_and_fire);
    tcase_add_test(tc, test_fire_carries_all_held);
    tcase_add_test(tc, test_reset);
    suite_add_tcase(s, tc);
    return s;
}
