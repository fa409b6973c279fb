/* actions.h — the executors ksensor runs, one per trigger type, each in a file of its own behind
 * the interface of pipeline/executor.h: log.c, kafka.c, http.c, k8s.c, argo_workflow.c. A new trigger type is one more file
 * and one more line in ks_action_executors (actions.c). */
#ifndef KS_ACTIONS_ACTIONS_H
#define KS_ACTIONS_ACTIONS_H

#include "pipeline/executor.h"

extern const ks_executor_t ks_exec_log;
extern const ks_executor_t ks_exec_kafka;
extern const ks_executor_t ks_exec_http;
extern const ks_executor_t ks_exec_k8s;
extern const ks_executor_t ks_exec_argo_workflow;

/* Indexed by ks_action_kind_t: what the worker is given to run actions with. */
extern const ks_executor_t *const ks_action_executors[KS_ACTION_KINDS];

#endif
