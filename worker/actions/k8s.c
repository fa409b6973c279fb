/* k8s.c — the k8s executor: create, update, patch or delete the object of a trigger's source
 * (resource, inline, file, url, configmap), exactly once, through the Kubernetes API (k8s_op.h). */
#include <stdio.h>
#include <string.h>

#include "actions/actions.h"
#include "actions/k8s_op.h"
#include "core/mem.h"

static void *
k8s_open(const ks_exec_env_t *env)
{
    return ks_kop_state_open(env);
}

static void
k8s_close(void *state)
{
    ks_kop_state_close(state);
}

/* True when apiVersion names a custom resource's group (built-in groups have no dot, or end in .k8s.io). */
static int
custom_group(const char *api_version)
{
    const char *slash = api_version ? strchr(api_version, '/') : NULL;
    size_t      glen = slash ? (size_t)(slash - api_version) : 0;

    if (glen == 0 || memchr(api_version, '.', glen) == NULL)
        return 0;
    return !(glen >= 7 && strncmp(slash - 7, ".k8s.io", 7) == 0);
}

static void *
k8s_prepare(void *state, const ks_firing_t *f, char *err, size_t errlen)
{
    ks_kop_request_t *r = ks_kop_request_new(f, "k8s", err, errlen);
    const json_t     *k8s;
    const char       *op, *strategy;

    (void)state;
    if (r == NULL)
        return NULL;
    k8s = r->prepared.kind;
    op = json_string_value(json_object_get(k8s, "operation"));
    strategy = json_string_value(json_object_get(k8s, "patchStrategy"));
    r->verb = op == NULL || op[0] == '\0' || strcmp(op, "create") == 0 ? KS_KOP_CREATE
            : strcmp(op, "update") == 0 ? KS_KOP_UPDATE : strcmp(op, "patch") == 0 ? KS_KOP_PATCH : KS_KOP_DELETE;
    r->labels = r->verb == KS_KOP_CREATE;
    r->live_object = r->verb == KS_KOP_UPDATE && json_is_true(json_object_get(k8s, "liveObject"));
    if (strategy != NULL && strategy[0] != '\0')
        r->patch_type = ks_strdup(strategy);
    if (r->verb == KS_KOP_PATCH && r->patch_type != NULL && strstr(r->patch_type, "strategic-merge") != NULL &&
        r->object != NULL && custom_group(json_string_value(json_object_get(r->object, "apiVersion")))) {
        snprintf(err, errlen, "k8s trigger: patchStrategy %s: custom resources take no strategic merge patch "
                 "(use application/merge-patch+json)", r->patch_type);
        ks_kop_request_free(r);
        return NULL;
    }
    return r;
}

const ks_executor_t ks_exec_k8s = {
    .kind = "k8s",
    .open = k8s_open,
    .close = k8s_close,
    .prepare = k8s_prepare,
    .release = ks_kop_request_free,
    .attempt = ks_kop_attempt,
    .cancel = ks_kop_cancel,
    .repeatable = true,
};
