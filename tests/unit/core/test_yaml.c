/* test_yaml.c — YAML loading: several documents, positions, scalar styles, nulls, errors. */
#include <string.h>

#include "core/yaml.h"
#include "unit.h"

START_TEST(test_documents_and_positions)
{
    const char *path = unit_write("multi.yaml", "a: 1\n---\nkind: Sensor\nspec:\n  deps: [x, \"y\"]\n  e:\n");
    ks_diag_t   diag = {0};
    ks_yaml_t   yaml;
    yaml_node_t *root, *spec, *deps, *e;

    ck_assert_int_eq(ks_yaml_load(&yaml, path, &diag), 0);
    ck_assert_uint_eq(yaml.ndocs, 2);
    root = ks_yaml_root(&yaml, 1);
    ck_assert_str_eq(ks_yaml_scalar(ks_yaml_map_get(&yaml.docs[1], root, "kind")), "Sensor");
    spec = ks_yaml_map_get(&yaml.docs[1], root, "spec");
    ck_assert_uint_eq(ks_yaml_line(spec), 5);
    ck_assert_uint_eq(ks_yaml_column(spec), 3);
    deps = ks_yaml_map_get(&yaml.docs[1], spec, "deps");
    ck_assert_str_eq(ks_yaml_kind(deps), "a list");
    ck_assert_uint_eq(ks_yaml_len(deps), 2);
    ck_assert(ks_yaml_plain(ks_yaml_seq_item(&yaml.docs[1], deps, 0)));
    ck_assert(!ks_yaml_plain(ks_yaml_seq_item(&yaml.docs[1], deps, 1)));
    ck_assert_uint_eq(ks_yaml_column(ks_yaml_seq_item(&yaml.docs[1], deps, 1)), 13);
    e = ks_yaml_map_get(&yaml.docs[1], spec, "e");
    ck_assert(ks_yaml_null(e));
    ck_assert_str_eq(ks_yaml_kind(e), "nothing");
    ck_assert_ptr_null(ks_yaml_map_get(&yaml.docs[1], spec, "missing"));
    ck_assert_ptr_null(ks_yaml_root(&yaml, 2));
    ks_yaml_free(&yaml);
}
END_TEST

START_TEST(test_syntax_error)
{
    const char *path = unit_write("bad.yaml", "a: b\n  c: d\n");
    ks_diag_t   diag = {0};
    ks_yaml_t   yaml;

    ck_assert_int_eq(ks_yaml_load(&yaml, path, &diag), -1);
    ck_assert_uint_eq(diag.n, 1);
    ck_assert_ptr_nonnull(strstr(diag.msgs[0], "bad.yaml:2:4: not valid YAML: mapping values are not allowed"));
    ks_yaml_free(&yaml);
    ks_diag_free(&diag);
}
END_TEST

START_TEST(test_empty_and_quoted_null)
{
    const char *path = unit_write("n.yaml", "a: ~\nb: \"null\"\nc: null\n");
    ks_diag_t   diag = {0};
    ks_yaml_t   yaml;
    yaml_node_t *root;

    ck_assert_int_eq(ks_yaml_load(&yaml, path, &diag), 0);
    root = ks_yaml_root(&yaml, 0);
    ck_assert(ks_yaml_null(ks_yaml_map_get(&yaml.docs[0], root, "a")));
    ck_assert(!ks_yaml_null(ks_yaml_map_get(&yaml.docs[0], root, "b")));
    ck_assert(ks_yaml_null(ks_yaml_map_get(&yaml.docs[0], root, "c")));
    ks_yaml_free(&yaml);

    ck_assert_int_eq(ks_yaml_load(&yaml, unit_write("e.yaml", "# nothing\n"), &diag), 0);
    ck_assert_uint_eq(yaml.ndocs, 0);
    ck_assert_ptr_null(ks_yaml_root(&yaml, 0));
    ks_yaml_free(&yaml);
}
END_TEST

Suite *
suite_yaml(void)
{
    Suite *s = suite_create("yaml");
    TCase *tc = tcase_create("yaml");

    tcase_add_test(tc, test_documents_and_positions);
    tcase_add_test(tc, test_syntax_error);
    tcase_add_test(tc, test_empty_and_quoted_null);
    suite_add_tcase(s, tc);
    return s;
}
