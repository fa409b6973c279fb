/* workflow.c — Argo Workflows' object rules for argoWorkflow triggers (see workflow.h). */
#include "sensor/workflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "sensor/jpath.h"

#define LABEL_PREFIX "workflows.argoproj.io/"

static const char *const op_names[] = {
    [KS_WF_SUBMIT] = "submit", [KS_WF_SUBMIT_FROM] = "submit-from", [KS_WF_RESUBMIT] = "resubmit",
    [KS_WF_SUSPEND] = "suspend", [KS_WF_RESUME] = "resume", [KS_WF_TERMINATE] = "terminate", [KS_WF_STOP] = "stop",
};

int
ks_wf_op_parse(const char *name, ks_wf_op_t *op, char *err, size_t errlen)
{
    if (name == NULL || name[0] == '\0') {
        snprintf(err, errlen, "argoWorkflow trigger: operation is required (submit, submit-from, resubmit, "
                 "suspend, resume, terminate or stop)");
        return -1;
    }
    for (size_t i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++) {
        if (strcmp(name, op_names[i]) == 0) {
            *op = (ks_wf_op_t)i;
            return 0;
        }
    }
    if (strcmp(name, "retry") == 0)
        snprintf(err, errlen, "argoWorkflow trigger: operation retry is not supported: it rewrites the "
                 "Workflow's node status and deletes its pods, the Argo controller's own logic");
    else
        snprintf(err, errlen, "argoWorkflow trigger: unknown operation '%s' (submit, submit-from, resubmit, "
                 "suspend, resume, terminate or stop)", name);
    return -1;
}

int
ks_wf_op_creates(ks_wf_op_t op)
{
    return op == KS_WF_SUBMIT || op == KS_WF_SUBMIT_FROM || op == KS_WF_RESUBMIT;
}

/* "k1=v1,k2=v2" into the map obj. */
static int
set_pairs(json_t *obj, const char *list, const char *flag, char *err, size_t errlen)
{
    char *copy = ks_strdup(list), *save = NULL;
    int   rc = 0;

    for (char *kv = strtok_r(copy, ",", &save); kv != NULL; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');

        if (eq == NULL || eq == kv) {
            snprintf(err, errlen, "argoWorkflow trigger: %s '%s' is not key=value", flag, kv);
            rc = -1;
            break;
        }
        *eq = '\0';
        json_object_set_new(obj, kv, json_string(eq + 1));
    }
    free(copy);
    return rc;
}

/* -p name=value: spec.arguments.parameters[name].value, added when missing. */
static int
set_parameter(json_t *wf, const char *kv, char *err, size_t errlen)
{
    const char *eq = strchr(kv, '=');
    json_t     *args, *params, *p = NULL;
    size_t      i;
    char       *name;

    if (eq == NULL || eq == kv) {
        snprintf(err, errlen, "argoWorkflow trigger: -p '%s' is not name=value", kv);
        return -1;
    }
    name = ks_strndup(kv, (size_t)(eq - kv));
    args = ks_jpath_member_object(ks_jpath_member_object(wf, "spec"), "arguments");
    params = json_object_get(args, "parameters");
    if (!json_is_array(params)) {
        params = json_array();
        json_object_set_new(args, "parameters", params);
    }
    json_array_foreach(params, i, p) {
        if (json_is_string(json_object_get(p, "name")) && strcmp(json_string_value(json_object_get(p, "name")), name) == 0)
            break;
    }
    if (i == json_array_size(params)) {
        p = json_pack("{s:s}", "name", name);
        json_array_append_new(params, p);
    }
    json_object_set_new(p, "value", json_string(eq + 1));
    json_object_del(p, "valueFrom");
    free(name);
    return 0;
}

int
ks_wf_args_apply(const json_t *args, json_t *wf, char *err, size_t errlen)
{
    static const struct { const char *flag, *alias; } known[] = {
        { "--entrypoint", "-e" }, { "--serviceaccount", NULL }, { "--labels", "-l" }, { "--annotations", NULL },
        { "--parameter", "-p" }, { "--name", NULL }, { "--generate-name", NULL },
    };
    size_t n = json_array_size(args);

    for (size_t i = 0; i < n; i++) {
        const char *arg = json_string_value(json_array_get(args, i)), *value = NULL, *flag = NULL;
        size_t      flen;

        if (arg == NULL) {
            snprintf(err, errlen, "argoWorkflow trigger: args[%zu] is not a string", i);
            return -1;
        }
        flen = strcspn(arg, "=");
        for (size_t k = 0; k < sizeof(known) / sizeof(known[0]) && flag == NULL; k++) {
            if ((strlen(known[k].flag) == flen && strncmp(arg, known[k].flag, flen) == 0) ||
                (known[k].alias != NULL && strlen(known[k].alias) == flen && strncmp(arg, known[k].alias, flen) == 0))
                flag = known[k].flag;
        }
        if (flag == NULL) {
            snprintf(err, errlen, "argoWorkflow trigger: args: flag '%.*s' is not supported (ksensor applies "
                     "--entrypoint, --serviceaccount, -l, --annotations, -p, --name and --generate-name)",
                     (int)flen, arg);
            return -1;
        }
        if (arg[flen] == '=') {
            value = arg + flen + 1;
        } else if (i + 1 < n && json_is_string(json_array_get(args, i + 1))) {
            value = json_string_value(json_array_get(args, ++i));
        } else {
            snprintf(err, errlen, "argoWorkflow trigger: args: %s needs a value", flag);
            return -1;
        }
        if (strcmp(flag, "--entrypoint") == 0)
            json_object_set_new(ks_jpath_member_object(wf, "spec"), "entrypoint", json_string(value));
        else if (strcmp(flag, "--serviceaccount") == 0)
            json_object_set_new(ks_jpath_member_object(wf, "spec"), "serviceAccountName", json_string(value));
        else if (strcmp(flag, "--labels") == 0 && set_pairs(ks_jpath_member_object(ks_jpath_member_object(wf, "metadata"), "labels"), value, "-l", err, errlen) != 0)
            return -1;
        else if (strcmp(flag, "--annotations") == 0 &&
                 set_pairs(ks_jpath_member_object(ks_jpath_member_object(wf, "metadata"), "annotations"), value, "--annotations", err, errlen) != 0)
            return -1;
        else if (strcmp(flag, "--parameter") == 0 && set_parameter(wf, value, err, errlen) != 0)
            return -1;
        else if (strcmp(flag, "--name") == 0)
            json_object_set_new(ks_jpath_member_object(wf, "metadata"), "name", json_string(value));
        else if (strcmp(flag, "--generate-name") == 0)
            json_object_set_new(ks_jpath_member_object(wf, "metadata"), "generateName", json_string(value));
    }
    return 0;
}

/* A Workflow skeleton in the namespace and apiVersion of source. */
static json_t *
workflow_of(const json_t *source, const char *generate_name)
{
    const json_t *meta = json_object_get(source, "metadata");
    const char   *api = json_string_value(json_object_get(source, "apiVersion"));
    const char   *ns = json_string_value(json_object_get(meta, "namespace"));
    json_t       *wf = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", api ? api : "argoproj.io/v1alpha1",
                                 "kind", "Workflow", "metadata", "generateName", generate_name);

    if (ns != NULL)
        json_object_set_new(json_object_get(wf, "metadata"), "namespace", json_string(ns));
    return wf;
}

json_t *
ks_wf_from(const json_t *source, const char *now, char *err, size_t errlen)
{
    const char *kind = json_string_value(json_object_get(source, "kind"));
    const char *name = json_string_value(json_object_get(json_object_get(source, "metadata"), "name"));
    char        generate[300];
    json_t     *wf, *meta, *labels;

    if (kind == NULL || name == NULL) {
        snprintf(err, errlen, "argoWorkflow trigger: submit-from needs the source's kind and metadata.name");
        return NULL;
    }
    snprintf(generate, sizeof(generate), "%s-", name);
    wf = workflow_of(source, generate);
    meta = json_object_get(wf, "metadata");
    labels = ks_jpath_member_object(meta, "labels");
    if (strcasecmp(kind, "CronWorkflow") == 0) {
        const json_t *spec = json_object_get(source, "spec");
        const json_t *wmeta = json_object_get(spec, "workflowMetadata");
        const json_t *uid = json_object_get(json_object_get(source, "metadata"), "uid");

        json_object_set_new(wf, "spec", json_deep_copy(json_object_get(spec, "workflowSpec")));
        if (!json_is_object(json_object_get(wf, "spec")))
            json_object_set_new(wf, "spec", json_object());
        json_object_update(labels, json_object_get(wmeta, "labels"));
        json_object_set_new(labels, LABEL_PREFIX "cron-workflow", json_string(name));
        json_object_update(ks_jpath_member_object(meta, "annotations"), json_object_get(wmeta, "annotations"));
        json_object_set_new(json_object_get(meta, "annotations"), LABEL_PREFIX "scheduled-time", json_string(now));
        if (json_object_get(wmeta, "finalizers") != NULL)
            json_object_set(meta, "finalizers", json_object_get(wmeta, "finalizers"));
        if (json_is_string(uid))
            json_object_set_new(meta, "ownerReferences",
                                json_pack("[{s:O?, s:s, s:s, s:O, s:b, s:b}]", "apiVersion",
                                          json_object_get(source, "apiVersion"), "kind", "CronWorkflow", "name", name,
                                          "uid", uid, "controller", 1, "blockOwnerDeletion", 1));
    } else if (strcasecmp(kind, "WorkflowTemplate") == 0 || strcasecmp(kind, "ClusterWorkflowTemplate") == 0) {
        int cluster = strcasecmp(kind, "ClusterWorkflowTemplate") == 0;

        json_object_set_new(labels, cluster ? LABEL_PREFIX "cluster-workflow-template" : LABEL_PREFIX "workflow-template",
                            json_string(name));
        json_object_set_new(wf, "spec", json_pack("{s:{s:s}}", "workflowTemplateRef", "name", name));
        if (cluster)
            json_object_set_new(json_object_get(json_object_get(wf, "spec"), "workflowTemplateRef"), "clusterScope",
                                json_true());
    } else {
        snprintf(err, errlen, "argoWorkflow trigger: submit-from takes a CronWorkflow, WorkflowTemplate or "
                 "ClusterWorkflowTemplate, not a %s", kind);
        json_decref(wf);
        return NULL;
    }
    return wf;
}

json_t *
ks_wf_resubmit(const json_t *old)
{
    static const char *const dropped[] = {
        LABEL_PREFIX "creator", LABEL_PREFIX "creator-email", LABEL_PREFIX "creator-preferred-username",
        LABEL_PREFIX "phase", LABEL_PREFIX "completed", LABEL_PREFIX "workflow-archiving-status",
    };
    const json_t *ometa = json_object_get(old, "metadata");
    const char   *name = json_string_value(json_object_get(ometa, "name"));
    const char   *gen = json_string_value(json_object_get(ometa, "generateName"));
    char          generate[300];
    json_t       *wf, *meta, *labels, *spec;

    snprintf(generate, sizeof(generate), "%s-", name ? name : "workflow");
    wf = workflow_of(old, gen != NULL && gen[0] != '\0' ? gen : generate);
    meta = json_object_get(wf, "metadata");
    labels = json_deep_copy(json_object_get(ometa, "labels"));
    if (!json_is_object(labels)) {
        json_decref(labels);
        labels = json_object();
    }
    for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++)
        json_object_del(labels, dropped[i]);
    if (name != NULL)
        json_object_set_new(labels, LABEL_PREFIX "resubmitted-from-workflow", json_string(name));
    json_object_set_new(meta, "labels", labels);
    if (json_is_object(json_object_get(ometa, "annotations")))
        json_object_set_new(meta, "annotations", json_deep_copy(json_object_get(ometa, "annotations")));
    if (json_object_get(ometa, "ownerReferences") != NULL)
        json_object_set_new(meta, "ownerReferences", json_deep_copy(json_object_get(ometa, "ownerReferences")));
    spec = json_deep_copy(json_object_get(old, "spec"));
    if (!json_is_object(spec)) {
        json_decref(spec);
        spec = json_object();
    }
    json_object_del(spec, "shutdown");
    if (json_integer_value(json_object_get(spec, "activeDeadlineSeconds")) == 0)
        json_object_del(spec, "activeDeadlineSeconds");
    json_object_set_new(wf, "spec", spec);
    return wf;
}

json_t *
ks_wf_patch(ks_wf_op_t op)
{
    switch (op) {
    case KS_WF_SUSPEND:   return json_pack("{s:{s:b}}", "spec", "suspend", 1);
    case KS_WF_RESUME:    return json_pack("{s:{s:n}}", "spec", "suspend");
    case KS_WF_TERMINATE: return json_pack("{s:{s:s}}", "spec", "shutdown", "Terminate");
    case KS_WF_STOP:      return json_pack("{s:{s:s}}", "spec", "shutdown", "Stop");
    default:              return NULL;
    }
}
