/* workflow.h — Argo Workflows' object rules that an argoWorkflow trigger applies, as plain JSON
 * transformations (no API calls here): the operations, the `argo submit` flags a trigger's args may
 * carry, and the Workflow that `submit --from` and `resubmit` make. Argo Workflows v3.7's CLI and
 * server are the reference (cmd/argo/commands/submit.go, workflow/common/convert.go, workflow/util). */
#ifndef KS_SENSOR_WORKFLOW_H
#define KS_SENSOR_WORKFLOW_H

#include <stddef.h>

#include <jansson.h>

typedef enum {
    KS_WF_SUBMIT,       /* create the Workflow of the source */
    KS_WF_SUBMIT_FROM,  /* create a Workflow from a CronWorkflow, WorkflowTemplate or ClusterWorkflowTemplate */
    KS_WF_RESUBMIT,     /* create a copy of a Workflow */
    KS_WF_SUSPEND,      /* spec.suspend: true */
    KS_WF_RESUME,       /* spec.suspend removed */
    KS_WF_TERMINATE,    /* spec.shutdown: Terminate */
    KS_WF_STOP          /* spec.shutdown: Stop */
} ks_wf_op_t;

/* The operation named name: 0, or -1 with a sentence in err (retry and the unknown). */
int ks_wf_op_parse(const char *name, ks_wf_op_t *op, char *err, size_t errlen) __attribute__((warn_unused_result));

/* True for the operations that create a Workflow. */
int ks_wf_op_creates(ks_wf_op_t op);

/* Applies the `argo submit` flags of args (a JSON array of strings) to the Workflow wf: --entrypoint,
 * --serviceaccount, -l/--labels, --annotations, -p/--parameter, --name, --generate-name, as
 * `--flag value` or `--flag=value`. 0, or -1 with a sentence naming the flag ksensor does not apply. */
int ks_wf_args_apply(const json_t *args, json_t *wf, char *err, size_t errlen) __attribute__((warn_unused_result));

/* The Workflow `submit --from` makes of a CronWorkflow (its spec.workflowSpec and workflowMetadata),
 * a WorkflowTemplate or a ClusterWorkflowTemplate (a workflowTemplateRef to it); NULL with a
 * sentence in err for another kind. now is RFC 3339 (the CronWorkflow's scheduled-time). */
json_t *ks_wf_from(const json_t *source, const char *now, char *err, size_t errlen);

/* The Workflow `resubmit` makes of a Workflow: its spec, labels and annotations, a generateName. */
json_t *ks_wf_resubmit(const json_t *old);

/* The merge patch of suspend, resume, terminate and stop. */
json_t *ks_wf_patch(ks_wf_op_t op);

#endif
