/* test_k8s_op.c — the pure parts of the Kubernetes executors: names derived from generateName and
 * the firing id (stable, distinct per firing and candidate, within 63 characters, DNS-safe), Argo's
 * update merge, and credentials read from kubeconfig files (token, token file, client certificate,
 * CA data, contexts, refused exec users). */
#include <ctype.h>
#include <string.h>

#include "actions/k8s_op.h"
#include "actions/kube.h"
#include "core/mem.h"
#include "unit.h"

START_TEST(test_derived_names)
{
    char *a = ks_kop_derived_name("build-", "s/t@ev/0/17", 0);
    char *b = ks_kop_derived_name("build-", "s/t@ev/0/17", 0);
    char *c = ks_kop_derived_name("build-", "s/t@ev/0/18", 0);
    char *d = ks_kop_derived_name("build-", "s/t@ev/0/17", 1);
    char *longer = ks_kop_derived_name("a-very-long-generate-name-prefix-that-goes-on-and-on-and-on-", "x", 0);

    ck_assert_str_eq(a, b);
    ck_assert_str_ne(a, c);
    ck_assert_str_ne(a, d);
    ck_assert_int_eq(strlen(a), strlen("build-") + 10);
    ck_assert_int_eq(strncmp(a, "build-", 6), 0);
    for (const char *p = a + 6; *p; p++)
        ck_assert(islower((unsigned char)*p) || isdigit((unsigned char)*p));
    ck_assert_int_eq(strlen(longer), 63);
    free(a);
    free(b);
    free(c);
    free(d);
    free(longer);
}
END_TEST

START_TEST(test_merge)
{
    json_t *live = json_loads("{\"metadata\":{\"name\":\"cm\",\"resourceVersion\":\"5\",\"labels\":{\"a\":\"1\"}},"
                              "\"data\":{\"keep\":\"x\",\"k\":\"old\"},\"list\":[1,2,3],\"flag\":true}", 0, NULL);
    json_t *obj = json_loads("{\"metadata\":{\"labels\":{\"b\":\"2\"}},\"data\":{\"k\":\"\"},\"list\":[9],\"flag\":false,"
                             "\"gone\":null}", 0, NULL);
    char   *got;

    ks_kop_merge(live, obj);
    got = json_dumps(live, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_str_eq(got, "{\"data\":{\"k\":\"\",\"keep\":\"x\"},\"flag\":false,\"gone\":null,\"list\":[9],"
                          "\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":\"2\"},\"name\":\"cm\",\"resourceVersion\":\"5\"}}");
    free(got);
    json_decref(live);
    json_decref(obj);
}
END_TEST

static ks_config_t *
config_for(const char *kubeconfig, const char *context)
{
    static ks_config_t cfg;

    memset(&cfg, 0, sizeof(cfg));
    cfg.kubernetes.kubeconfig = (char *)kubeconfig;
    cfg.kubernetes.context = (char *)context;
    cfg.kubernetes.timeout_ms = 1000;
    return &cfg;
}

START_TEST(test_kubeconfig)
{
    char       err[512] = "", *kc, *missing;
    ks_kube_t *k;

    unit_write("token", "secret-token\n");
    kc = strdup(unit_write("kubeconfig",
               "apiVersion: v1\nkind: Config\ncurrent-context: one\n"
               "clusters:\n- name: c1\n  cluster:\n    server: https://127.0.0.1:6443/\n    certificate-authority-data: "
               "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\n"
               "- name: c2\n  cluster:\n    server: https://10.0.0.1\n    insecure-skip-tls-verify: true\n"
               "users:\n- name: u1\n  user:\n    tokenFile: token\n"
               "- name: u2\n  user:\n    exec:\n      command: aws\n"
               "contexts:\n- name: one\n  context: {cluster: c1, user: u1}\n"
               "- name: two\n  context: {cluster: c2, user: u2}\n- name: three\n  context: {cluster: none, user: u1}\n"));
    k = ks_kube_open(config_for(kc, ""), NULL, err, sizeof(err));
    ck_assert_msg(k != NULL, "%s", err);
    ck_assert_str_eq(ks_kube_server(k), "https://127.0.0.1:6443");
    ks_kube_close(k);

    ck_assert_ptr_null(ks_kube_open(config_for(kc, "two"), NULL, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "an exec plugin"));
    ck_assert_ptr_null(ks_kube_open(config_for(kc, "three"), NULL, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "has no cluster with a server"));
    ck_assert_ptr_null(ks_kube_open(config_for(kc, "four"), NULL, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "no such context 'four'"));
    missing = ks_asprintf("%s/missing", unit_tmpdir());
    ck_assert_ptr_null(ks_kube_open(config_for(missing, ""), NULL, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "missing"));
    free(missing);
    free(kc);
}
END_TEST

START_TEST(test_in_cluster_needs_env)
{
    char err[512];

    unsetenv("KUBERNETES_SERVICE_HOST");
    ck_assert_ptr_null(ks_kube_open(config_for("", ""), NULL, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "no Kubernetes credentials"));
}
END_TEST

START_TEST(test_discovery)
{
    char               err[512];
    ks_kube_t         *k;
    ks_kube_resource_t r;
    json_t            *list = json_loads("{\"resources\":[{\"name\":\"workflows\",\"kind\":\"Workflow\",\"namespaced\":true},"
                                         "{\"name\":\"workflows/status\",\"kind\":\"Workflow\",\"namespaced\":true},"
                                         "{\"name\":\"clusterworkflowtemplates\",\"kind\":\"ClusterWorkflowTemplate\","
                                         "\"namespaced\":false}]}", 0, NULL);
    char              *path;

    const char        *kc = unit_write("kc", "current-context: x\nclusters: [{name: c, cluster: {server: 'http://127.0.0.1:1'}}]\n"
                     "contexts: [{name: x, context: {cluster: c}}]\n");
    k = ks_kube_open(config_for(kc, ""), NULL, err, sizeof(err));
    ck_assert_msg(k != NULL, "%s", err);
    ck_assert_int_eq(ks_kube_lookup(k, "argoproj.io/v1alpha1", "Workflow", &r), 0);
    path = ks_kube_discovery_path("argoproj.io/v1alpha1");
    ck_assert_str_eq(path, "/apis/argoproj.io/v1alpha1");
    free(path);
    path = ks_kube_discovery_path("v1");
    ck_assert_str_eq(path, "/api/v1");
    free(path);
    ks_kube_learn(k, "argoproj.io/v1alpha1", list);
    ck_assert_int_eq(ks_kube_lookup(k, "argoproj.io/v1alpha1", "Workflow", &r), 1);
    ck_assert_str_eq(r.plural, "workflows");
    ck_assert(r.namespaced);
    path = ks_kube_path("argoproj.io/v1alpha1", &r, "ci", "w1");
    ck_assert_str_eq(path, "/apis/argoproj.io/v1alpha1/namespaces/ci/workflows/w1");
    free(path);
    ck_assert_int_eq(ks_kube_lookup(k, "argoproj.io/v1alpha1", "ClusterWorkflowTemplate", &r), 1);
    path = ks_kube_path("argoproj.io/v1alpha1", &r, "ci", NULL);
    ck_assert_str_eq(path, "/apis/argoproj.io/v1alpha1/clusterworkflowtemplates");
    free(path);
    ck_assert_int_eq(ks_kube_lookup(k, "argoproj.io/v1alpha1", "Sensor", &r), -1);
    ks_kube_close(k);
    json_decref(list);
}
END_TEST

Suite *
suite_k8s_op(void)
{
    Suite *s = suite_create("k8s_op");
    TCase *tc = tcase_create("k8s_op");

    tcase_add_test(tc, test_derived_names);
    tcase_add_test(tc, test_merge);
    tcase_add_test(tc, test_kubeconfig);
    tcase_add_test(tc, test_in_cluster_needs_env);
    tcase_add_test(tc, test_discovery);
    suite_add_tcase(s, tc);
    return s;
}
