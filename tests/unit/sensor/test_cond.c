/* test_cond.c — condition parser and evaluator: precedence, parentheses, names with '-', '.', '_',
 * the implicit AND, and every kind of error with its position. */
#include <string.h>

#include "sensor/cond.h"
#include "unit.h"

static const char *const deps[] = { "a", "b", "c", "dep-1", "dep.2", "dep_3", "dep" };
#define NDEPS (sizeof(deps) / sizeof(deps[0]))

/* Evaluates text for the held set given as a string of dependency indexes, e.g. "02". */
static bool
eval_with(const char *text, const char *held_idx)
{
    bool        held[NDEPS] = {0};
    char        err[128];
    size_t      where;
    ks_cond_t  *cond = ks_cond_compile(text, deps, NDEPS, err, sizeof(err), &where);
    bool        result;

    ck_assert_msg(cond != NULL, "'%s': %s", text, err);
    for (const char *p = held_idx; *p; p++)
        held[*p - '0'] = true;
    result = ks_cond_eval(cond, held);
    ks_cond_free(cond);
    return result;
}

START_TEST(test_precedence)
{
    /* && binds tighter than ||: a || b && c == a || (b && c) */
    ck_assert(eval_with("a || b && c", "0"));
    ck_assert(!eval_with("a || b && c", "1"));
    ck_assert(eval_with("a || b && c", "12"));
    ck_assert(!eval_with("(a || b) && c", "0"));
    ck_assert(eval_with("(a || b) && c", "02"));
    ck_assert(eval_with("((a))", "0"));
    ck_assert(!eval_with("a && b && c", "01"));
    ck_assert(eval_with("a&&b&&c", "012"));
}
END_TEST

START_TEST(test_names)
{
    ck_assert(eval_with("dep-1 && dep.2 && dep_3", "345"));
    ck_assert(!eval_with("dep-1 && dep.2 && dep_3", "34"));
    /* "dep" is a name of its own, not a prefix of dep-1 */
    ck_assert(eval_with("dep", "6"));
    ck_assert(!eval_with("dep", "3"));
    ck_assert(eval_with("(dep-1||dep.2)&&dep_3", "45"));
}
END_TEST

START_TEST(test_implicit_and)
{
    char        err[128];
    size_t      where;
    const char *two[] = { "x", "y" };
    ks_cond_t  *cond = ks_cond_compile("  ", two, 2, err, sizeof(err), &where);
    bool        held[2] = { true, false };

    ck_assert_ptr_nonnull(cond);
    ck_assert(ks_cond_has_and(cond));
    ck_assert(!ks_cond_eval(cond, held));
    held[1] = true;
    ck_assert(ks_cond_eval(cond, held));
    ks_cond_free(cond);

    cond = ks_cond_compile(NULL, two, 1, err, sizeof(err), &where);
    ck_assert(!ks_cond_has_and(cond));      /* one dependency: fires on each event */
    ks_cond_free(cond);
}
END_TEST

START_TEST(test_has_and_and_uses)
{
    char       err[128];
    size_t     where;
    ks_cond_t *cond = ks_cond_compile("a || c", deps, NDEPS, err, sizeof(err), &where);

    ck_assert(!ks_cond_has_and(cond));
    ck_assert(ks_cond_uses(cond, 0));
    ck_assert(!ks_cond_uses(cond, 1));
    ck_assert(ks_cond_uses(cond, 2));
    ks_cond_free(cond);
}
END_TEST

static const struct {
    const char *text;
    const char *message;
    size_t      where;
} errors[] = {
    { "a && x", "unknown dependency 'x'", 5 },
    { "a & b", "'&' must be written '&&'", 2 },
    { "a | b", "'|' must be written '||'", 2 },
    { "(a && b", "expected ')' before the end", 7 },
    { "a && b)", "unexpected ')'", 6 },
    { "a &&", "expected a dependency name before the end", 4 },
    { "!a", "'!' is not supported: Argo conditions have no negation", 0 },
    { "a b", "unexpected 'b'", 2 },
    { "a && (b || )", "expected a dependency name, got ')'", 11 },
    { "a == b", "unexpected '='", 2 },
};

START_TEST(test_errors)
{
    char       err[128];
    size_t     where = 99;
    ks_cond_t *cond = ks_cond_compile(errors[_i].text, deps, NDEPS, err, sizeof(err), &where);

    ck_assert_ptr_null(cond);
    ck_assert_str_eq(err, errors[_i].message);
    ck_assert_uint_eq(where, errors[_i].where);
}
END_TEST

START_TEST(test_nesting_limit)
{
    char       text[300], err[128];
    size_t     where;

    memset(text, '(', 100);
    strcpy(text + 100, "a");
    memset(text + 101, ')', 100);
    text[201] = '\0';
    ck_assert_ptr_null(ks_cond_compile(text, deps, NDEPS, err, sizeof(err), &where));
    ck_assert_str_eq(err, "parentheses nest too deep (more than 64 levels)");
}
END_TEST

Suite *
suite_cond(void)
{
    Suite *s = suite_create("cond");
    TCase *tc = tcase_create("cond");

    tcase_add_test(tc, test_precedence);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_implicit_and);
    tcase_add_test(tc, test_has_and_and_uses);
    tcase_add_loop_test(tc, test_errors, 0, sizeof(errors) / sizeof(errors[0]));
    tcase_add_test(tc, test_nesting_limit);
    suite_add_tcase(s, tc);
    return s;
}
