/* test_workflow.c — Argo Workflows' object rules: operations, `argo submit` flags, the Workflow of
 * submit --from (CronWorkflow, WorkflowTemplate, ClusterWorkflowTemplate) and of resubmit, and the
 * patches of suspend, resume, terminate and stop, against what Argo Workflows v3.7 makes. */
#include <string.h>

#include "sensor/workflow.h"
#include "unit.h"

/* obj as compact JSON with sorted keys, for comparisons. */
static char *
text(const json_t *obj)
{
    return json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
}

static void
assert_json(const json_t *got, const char *want)
{
    json_t *w = json_loads(want, 0, NULL);
    char   *g = text(got), *ws = text(w);

    ck_assert_msg(w != NULL, "bad expected JSON %s", want);
    ck_assert_str_eq(g, ws);
    free(g);
    free(ws);
    json_decref(w);
}

START_TEST(test_operations)
{
    ks_wf_op_t op;
    char       err[256];

    ck_assert_int_eq(ks_wf_op_parse("submit", &op, err, sizeof(err)), 0);
    ck_assert_int_eq(op, KS_WF_SUBMIT);
    ck_assert_int_eq(ks_wf_op_parse("submit-from", &op, err, sizeof(err)), 0);
    ck_assert_int_eq(op, KS_WF_SUBMIT_FROM);
    ck_assert_int_eq(ks_wf_op_parse("terminate", &op, err, sizeof(err)), 0);
    ck_assert_int_eq(op, KS_WF_TERMINATE);
    ck_assert(ks_wf_op_creates(KS_WF_RESUBMIT));
    ck_assert(!ks_wf_op_creates(KS_WF_STOP));
    ck_assert_int_eq(ks_wf_op_parse("retry", &op, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "retry is not supported"));
    ck_assert_int_eq(ks_wf_op_parse("", &op, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "operation is required"));
    ck_assert_int_eq(ks_wf_op_parse("Submit", &op, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "unknown operation 'Submit'"));
}
END_TEST

START_TEST(test_args)
{
    json_t *wf = json_loads("{\"metadata\":{\"generateName\":\"a-\"},\"spec\":{\"entrypoint\":\"main\","
                            "\"arguments\":{\"parameters\":[{\"name\":\"msg\",\"value\":\"old\"}]}}}", 0, NULL);
    json_t *args = json_loads("[\"--entrypoint\",\"other\",\"--serviceaccount=runner\",\"-l\",\"team=a,tier=b\","
                              "\"--annotations\",\"note=x\",\"-p\",\"msg=new\",\"--parameter=extra=1\","
                              "\"--name\",\"fixed\"]", 0, NULL);
    char    err[256];

    ck_assert_int_eq(ks_wf_args_apply(args, wf, err, sizeof(err)), 0);
    assert_json(wf, "{\"metadata\":{\"generateName\":\"a-\",\"name\":\"fixed\",\"labels\":{\"team\":\"a\",\"tier\":\"b\"},"
                    "\"annotations\":{\"note\":\"x\"}},\"spec\":{\"entrypoint\":\"other\",\"serviceAccountName\":\"runner\","
                    "\"arguments\":{\"parameters\":[{\"name\":\"msg\",\"value\":\"new\"},{\"name\":\"extra\",\"value\":\"1\"}]}}}");
    json_decref(args);

    args = json_loads("[\"--node-field-selector=phase=Failed\"]", 0, NULL);
    ck_assert_int_eq(ks_wf_args_apply(args, wf, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "flag '--node-field-selector' is not supported"));
    json_decref(args);
    args = json_loads("[\"--entrypoint\"]", 0, NULL);
    ck_assert_int_eq(ks_wf_args_apply(args, wf, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "--entrypoint needs a value"));
    json_decref(args);
    args = json_loads("[\"-p\",\"novalue\"]", 0, NULL);
    ck_assert_int_eq(ks_wf_args_apply(args, wf, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "is not name=value"));
    json_decref(args);
    json_decref(wf);
}
END_TEST

START_TEST(test_from_cron)
{
    json_t *cron = json_loads("{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"CronWorkflow\",\"metadata\":"
                              "{\"name\":\"nightly\",\"namespace\":\"ci\",\"uid\":\"u-1\"},\"spec\":{\"schedule\":\"0 1 * * *\","
                              "\"workflowSpec\":{\"entrypoint\":\"main\"},\"workflowMetadata\":{\"labels\":{\"team\":\"a\"}}}}",
                              0, NULL);
    char    err[256];
    json_t *wf = ks_wf_from(cron, "2026-12-07T10:00:00Z", err, sizeof(err));

    ck_assert_ptr_nonnull(wf);
    assert_json(wf, "{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Workflow\",\"metadata\":{\"generateName\":"
                    "\"nightly-\",\"namespace\":\"ci\",\"labels\":{\"team\":\"a\",\"workflows.argoproj.io/cron-workflow\":"
                    "\"nightly\"},\"annotations\":{\"workflows.argoproj.io/scheduled-time\":\"2026-12-07T10:00:00Z\"},"
                    "\"ownerReferences\":[{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"CronWorkflow\",\"name\":"
                    "\"nightly\",\"uid\":\"u-1\",\"controller\":true,\"blockOwnerDeletion\":true}]},\"spec\":"
                    "{\"entrypoint\":\"main\"}}");
    json_decref(wf);
    json_decref(cron);
}
END_TEST

START_TEST(test_from_templates)
{
    json_t *t = json_loads("{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"WorkflowTemplate\",\"metadata\":"
                           "{\"name\":\"build\",\"namespace\":\"ci\"},\"spec\":{}}", 0, NULL);
    char    err[256];
    json_t *wf = ks_wf_from(t, "now", err, sizeof(err));

    assert_json(wf, "{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Workflow\",\"metadata\":{\"generateName\":"
                    "\"build-\",\"namespace\":\"ci\",\"labels\":{\"workflows.argoproj.io/workflow-template\":\"build\"}},"
                    "\"spec\":{\"workflowTemplateRef\":{\"name\":\"build\"}}}");
    json_decref(wf);
    json_object_set_new(t, "kind", json_string("ClusterWorkflowTemplate"));
    json_object_del(json_object_get(t, "metadata"), "namespace");
    wf = ks_wf_from(t, "now", err, sizeof(err));
    assert_json(wf, "{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Workflow\",\"metadata\":{\"generateName\":"
                    "\"build-\",\"labels\":{\"workflows.argoproj.io/cluster-workflow-template\":\"build\"}},"
                    "\"spec\":{\"workflowTemplateRef\":{\"name\":\"build\",\"clusterScope\":true}}}");
    json_decref(wf);
    json_object_set_new(t, "kind", json_string("Workflow"));
    ck_assert_ptr_null(ks_wf_from(t, "now", err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "not a Workflow"));
    json_decref(t);
}
END_TEST

START_TEST(test_resubmit)
{
    json_t *old = json_loads("{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Workflow\",\"metadata\":{\"name\":"
                             "\"run-abc\",\"generateName\":\"run-\",\"namespace\":\"ci\",\"uid\":\"x\",\"resourceVersion\":\"9\","
                             "\"labels\":{\"team\":\"a\",\"workflows.argoproj.io/phase\":\"Failed\",\"workflows.argoproj.io/"
                             "completed\":\"true\",\"workflows.argoproj.io/creator\":\"me\"},\"annotations\":{\"n\":\"1\"}},"
                             "\"spec\":{\"entrypoint\":\"main\",\"shutdown\":\"Stop\",\"activeDeadlineSeconds\":0},"
                             "\"status\":{\"phase\":\"Failed\"}}", 0, NULL);
    json_t *wf = ks_wf_resubmit(old);

    assert_json(wf, "{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Workflow\",\"metadata\":{\"generateName\":"
                    "\"run-\",\"namespace\":\"ci\",\"labels\":{\"team\":\"a\",\"workflows.argoproj.io/resubmitted-from-"
                    "workflow\":\"run-abc\"},\"annotations\":{\"n\":\"1\"}},\"spec\":{\"entrypoint\":\"main\"}}");
    json_decref(wf);
    json_decref(old);
}
END_TEST

START_TEST(test_patches)
{
    json_t *p = ks_wf_patch(KS_WF_SUSPEND);

    assert_json(p, "{\"spec\":{\"suspend\":true}}");
    json_decref(p);
    p = ks_wf_patch(KS_WF_RESUME);
    assert_json(p, "{\"spec\":{\"suspend\":null}}");
    json_decref(p);
    p = ks_wf_patch(KS_WF_TERMINATE);
    assert_json(p, "{\"spec\":{\"shutdown\":\"Terminate\"}}");
    json_decref(p);
    p = ks_wf_patch(KS_WF_STOP);
    assert_json(p, "{\"spec\":{\"shutdown\":\"Stop\"}}");
    json_decref(p);
    ck_assert_ptr_null(ks_wf_patch(KS_WF_SUBMIT));
}
END_TEST

Suite *
suite_workflow(void)
{
    Suite *s = suite_create("workflow");
    TCase *tc = tcase_create("workflow");

    tcase_add_test(tc, test_operations);
    tcase_add_test(tc, test_args);
    tcase_add_test(tc, test_from_cron);
    tcase_add_test(tc, test_from_templates);
    tcase_add_test(tc, test_resubmit);
    tcase_add_test(tc, test_patches);
    suite_add_tcase(s, tc);
    return s;
}
