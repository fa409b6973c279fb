/* test_diag.c — diagnostics: formatting with and without a position, ordering, moving. */
#include "core/diag.h"
#include "unit.h"

START_TEST(test_format_and_sort)
{
    ks_diag_t diag = {0}, other = {0};

    ks_diag_at(&diag, "f.yaml", 7, 3, "late %s", "x");
    ks_diag_at(&diag, "f.yaml", 0, 0, "whole file");
    ks_diag_at(&other, "f.yaml", 2, 9, "second");
    ks_diag_at(&other, "f.yaml", 2, 1, "first");
    ks_diag_move(&diag, &other);
    ck_assert_uint_eq(other.n, 0);
    ck_assert_uint_eq(diag.n, 4);

    ks_diag_sort(&diag);
    ck_assert_str_eq(diag.msgs[0], "f.yaml: whole file");
    ck_assert_str_eq(diag.msgs[1], "f.yaml:2:1: first");
    ck_assert_str_eq(diag.msgs[2], "f.yaml:2:9: second");
    ck_assert_str_eq(diag.msgs[3], "f.yaml:7:3: late x");
    ks_diag_free(&diag);
    ck_assert_uint_eq(diag.n, 0);
}
END_TEST

Suite *
suite_diag(void)
{
    Suite *s = suite_create("diag");
    TCase *tc = tcase_create("diag");

    tcase_add_test(tc, test_format_and_sort);
    suite_add_tcase(s, tc);
    return s;
}
