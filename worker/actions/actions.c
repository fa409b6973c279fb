/* actions.c — the table of executors by trigger type (see actions.h). */
#include "actions/actions.h"

const ks_executor_t *const ks_action_executors[KS_ACTION_KINDS] = {
    [KS_ACTION_LOG] = &ks_exec_log,
    [KS_ACTION_HTTP] = &ks_exec_http,
    [KS_ACTION_KAFKA] = &ks_exec_kafka,
    [KS_ACTION_K8S] = &ks_exec_k8s,
    [KS_ACTION_ARGO_WORKFLOW] = &ks_exec_argo_workflow,
};
