/* kube.h — a client of the Kubernetes REST API on the worker's loop (libcurl through httpc.h).
 *
 * Credentials come from the kubeconfig that kubernetes.kubeconfig names (its current-context or
 * kubernetes.context: server, CA file or data or insecure-skip-tls-verify, bearer token or token
 * file, client certificate and key, from files or data), else from the pod's service account
 * (in-cluster). Token files are re-read when they change, since bound tokens rotate.
 *
 * Resources are resolved from apiVersion and kind through discovery (/api/v1, /apis/<group>/<version>),
 * each group version asked once per client, which lives as long as the worker's configuration; a
 * kind its answer lacked is asked again after KS_KUBE_REDISCOVER_S (a custom resource defined since). */
#ifndef KS_ACTIONS_KUBE_H
#define KS_ACTIONS_KUBE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "actions/httpc.h"
#include "core/config.h"

#define KS_KUBE_REDISCOVER_S 30

typedef struct ks_kube ks_kube_t;

/* A client, or NULL with a sentence in err (no kubeconfig and not in a pod, an exec user, …). */
ks_kube_t *ks_kube_open(const ks_config_t *cfg, ks_httpc_t *httpc, char *err, size_t errlen);
void       ks_kube_close(ks_kube_t *k);

/* The server's URL, for messages. */
const char *ks_kube_server(const ks_kube_t *k);

/* How a request ended; valid during the callback only. body is the parsed response, or NULL. */
typedef struct ks_kube_reply {
    long          status;           /* HTTP status; 0: no response */
    const char   *error;            /* no response: why; else the API's message when status >= 400, or NULL */
    const char   *reason;           /* the API Status's reason (AlreadyExists, Conflict, …), or NULL */
    const json_t *body;
    long          retry_after_s;    /* -1 when not given */
} ks_kube_reply_t;

typedef void (*ks_kube_done_t)(void *ctx, const ks_kube_reply_t *reply);

/* Starts method on path (from "/api…", query included), with body as JSON (or NULL) sent as
 * content_type (NULL: application/json). Returns the call, or NULL with a sentence in err. */
ks_httpc_call_t *ks_kube_request(ks_kube_t *k, const char *method, const char *path, const json_t *body,
                                 const char *content_type, ks_kube_done_t done, void *ctx, char *err,
                                 size_t errlen) __attribute__((warn_unused_result));

/* A resource as discovery describes it. */
typedef struct ks_kube_resource {
    const char *plural;
    bool        namespaced;
} ks_kube_resource_t;

/* The resource of kind in apiVersion: 1 and *out when known, 0 when its group version is to be
 * discovered (discover it with ks_kube_discovery_path() and ks_kube_learn()), -1 when it was, within
 * KS_KUBE_REDISCOVER_S, and has no such kind. */
int ks_kube_lookup(ks_kube_t *k, const char *api_version, const char *kind, ks_kube_resource_t *out);

/* "/api/v1" or "/apis/<group>/<version>" for apiVersion; malloc'd. */
char *ks_kube_discovery_path(const char *api_version);

/* Records a discovery answer (an APIResourceList, 200) for apiVersion. */
void ks_kube_learn(ks_kube_t *k, const char *api_version, const json_t *list);

/* The path of an object or, with name NULL, of its collection: apiVersion, resource, namespace
 * (ignored for cluster-scoped resources); malloc'd. */
char *ks_kube_path(const char *api_version, const ks_kube_resource_t *res, const char *ns, const char *name);

#endif
