/* argo_workflow.c — the argoWorkflow executor: Argo Workflows' CLI operations as the plain object
 * changes they are (sensor/workflow.h), made through the Kubernetes API (k8s_op.h) instead of
 * running the `argo` binary: submit and submit-from and resubmit create a Workflow exactly once;
 * suspend, resume, terminate and stop patch one. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "actions/actions.h"
#include "actions/k8s_op.h"
#include "core/mem.h"
#include "sensor/workflow.h"

static void *
wf_open(const ks_exec_env_t *env)
{
    return ks_kop_state_open(env);
}

static void
wf_close(void *state)
{
    ks_kop_state_close(state);
}

/* submit-from and resubmit: the Workflow to create from the live source object, args applied. */
static json_t *
derive(const ks_kop_request_t *r, const json_t *live, char *err, size_t errlen)
{
    const char *op = json_string_value(json_object_get(r->prepared.kind, "operation"));
    json_t     *wf;

    if (strcmp(op, "resubmit") == 0) {
        wf = ks_wf_resubmit(live);
    } else {
        char      now[32];
        time_t    t = time(NULL);
        struct tm tm;

        strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
        if ((wf = ks_wf_from(live, now, err, errlen)) == NULL)
            return NULL;
    }
    if (ks_wf_args_apply(r->args, wf, err, errlen) != 0) {
        json_decref(wf);
        return NULL;
    }
    return wf;
}

/* suspend: not a completed Workflow; terminate and stop: not a finished one (Argo's checks). */
static int
check_suspend(const json_t *live, char *err, size_t errlen)
{
    const char *done = json_string_value(json_object_get(json_object_get(json_object_get(live, "metadata"), "labels"),
                                                         "workflows.argoproj.io/completed"));

    if (done != NULL && strcmp(done, "true") == 0) {
        snprintf(err, errlen, "cannot suspend a completed workflow");
        return -1;
    }
    return 0;
}

static int
check_running(const json_t *live, char *err, size_t errlen)
{
    const char *phase = json_string_value(json_object_get(json_object_get(live, "status"), "phase"));

    if (phase != NULL && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0 || strcmp(phase, "Error") == 0)) {
        snprintf(err, errlen, "cannot shut down a workflow in phase %s", phase);
        return -1;
    }
    return 0;
}

static void *
wf_prepare(void *state, const ks_firing_t *f, char *err, size_t errlen)
{
    ks_kop_request_t *r = ks_kop_request_new(f, "argoWorkflow", err, errlen);
    ks_wf_op_t        op;

    (void)state;
    if (r == NULL)
        return NULL;
    r->args = json_object_get(r->prepared.kind, "args");
    if (ks_wf_op_parse(json_string_value(json_object_get(r->prepared.kind, "operation")), &op, err, errlen) != 0) {
        ks_kop_request_free(r);
        return NULL;
    }
    switch (op) {
    case KS_WF_SUBMIT:
        r->verb = KS_KOP_CREATE;
        r->labels = true;
        if (r->object != NULL && ks_wf_args_apply(r->args, r->object, err, errlen) != 0) {
            ks_kop_request_free(r);
            return NULL;
        }
        break;
    case KS_WF_SUBMIT_FROM:
    case KS_WF_RESUBMIT:
        r->verb = KS_KOP_DERIVE;
        r->labels = true;
        r->derive = derive;
        break;
    default:
        r->verb = KS_KOP_CHANGE;
        r->patch = ks_wf_patch(op);
        r->check = op == KS_WF_SUSPEND ? check_suspend : op == KS_WF_RESUME ? NULL : check_running;
        break;
    }
    return r;
}

const ks_executor_t ks_exec_argo_workflow = {
    .kind = "argoWorkflow",
    .open = wf_open,
    .close = wf_close,
    .prepare = wf_prepare,
    .release = ks_kop_request_free,
    .attempt = ks_kop_attempt,
    .cancel = ks_kop_cancel,
    .repeatable = true,
};
