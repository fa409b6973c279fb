/* k8s_op.h — what the k8s and argoWorkflow executors share: their per-worker state (a Kubernetes
 * client, kube.h), the object of a firing (its source, with the trigger's parameters applied on a
 * fresh copy), and one attempt at an operation on it, run as a short chain of API requests on the
 * loop without ever blocking.
 *
 * Exactly once: every object an attempt creates carries the annotation ksensor.io/firing with the
 * firing id, and a generateName becomes a name derived from generateName and the firing id. A
 * replayed create that meets AlreadyExists on an object with its own firing id has already
 * happened: a success. A fixed name held by an object without it is Argo's failure; a derived name
 * held by another firing's object moves to the next derived name.
 *
 * Then policy.k8s: the created or changed object is read with the policy's backoff until it carries
 * the policy's labels; running out fails the attempt only with errorOnBackoffTimeout. */
#ifndef KS_ACTIONS_K8S_OP_H
#define KS_ACTIONS_K8S_OP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "actions/kube.h"
#include "pipeline/executor.h"
#include "sensor/firing.h"

#define KS_FIRING_ANNOTATION "ksensor.io/firing"

typedef struct ks_kop_state ks_kop_state_t;

/* Per worker: the client (or why there is none: each attempt then fails with that sentence). */
ks_kop_state_t *ks_kop_state_open(const ks_exec_env_t *env);
void            ks_kop_state_close(ks_kop_state_t *s);

typedef enum {
    KS_KOP_CREATE,      /* POST, exactly once */
    KS_KOP_UPDATE,      /* GET; 404: POST; else Argo's merge onto the live object and PUT */
    KS_KOP_PATCH,       /* GET; 404: POST; else PATCH with the object as the patch */
    KS_KOP_DELETE,      /* GET; 404: done; else DELETE */
    KS_KOP_DERIVE,      /* GET the object; derive() makes the object to create from it; create that */
    KS_KOP_CHANGE       /* GET the object; check() may refuse; PATCH with the request's patch */
} ks_kop_verb_t;

/* What a firing does, built once for all its attempts. */
typedef struct ks_kop_request {
    const ks_trigger_t *trig;
    char               *firing_id;
    ks_kop_verb_t       verb;
    json_t             *object;         /* built from the source, NULL while url/configmap is unread */
    json_t             *source;         /* the trigger's source, for url and configmap */
    ks_prepared_t       prepared;       /* the events, for parameters applied after a fetch */
    bool                labels;         /* Argo's three labels on what is created */
    bool                live_object;    /* k8s update with liveObject: the live object is the base */
    char               *patch_type;     /* Content-Type of KS_KOP_PATCH */
    json_t             *patch;          /* KS_KOP_CHANGE's merge patch */
    /* KS_KOP_DERIVE: the object to create from the live one, or NULL with a sentence in err */
    json_t           *(*derive)(const struct ks_kop_request *r, const json_t *live, char *err, size_t errlen);
    /* KS_KOP_CHANGE: 0, or -1 with a sentence when the live object may not be changed */
    int               (*check)(const json_t *live, char *err, size_t errlen);
    const json_t       *args;           /* argoWorkflow args, applied to what DERIVE creates */
} ks_kop_request_t;

/* A request for firing f of type kind ("k8s", "argoWorkflow"): the template prepared, the object
 * read from its source (resource, inline, file; url and configmap are read by each attempt) with
 * the trigger's parameters applied. NULL with a sentence in err. */
ks_kop_request_t *ks_kop_request_new(const ks_firing_t *f, const char *kind, char *err, size_t errlen);
void              ks_kop_request_free(void *request);

/* The executor's attempt and cancel (pipeline/executor.h). */
void *ks_kop_attempt(void *state, void *request, ks_attempt_done_t done, void *ctx, char *err, size_t errlen);
void  ks_kop_cancel(void *attempt);

/* The name a create of firing id uses for generateName prefix: prefix and ten characters of
 * [a-z0-9] from a hash of the id and the candidate number (0, 1, … when a name is held by another
 * firing's object), at most 63 characters in all. malloc'd. */
char *ks_kop_derived_name(const char *prefix, const char *firing_id, int candidate);

/* Argo's merge of an update (mergo with override): objects merged recursively, everything else
 * (arrays, scalars, null) from src. dst is changed. */
void ks_kop_merge(json_t *dst, const json_t *src);

#endif
