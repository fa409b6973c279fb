/* k8s_op.c — a firing's Kubernetes object and one attempt at its operation (see k8s_op.h).
 *
 * An attempt is a chain of steps, each one API request whose reply picks the next: read the source
 * (url, configmap), discover the resource of apiVersion/kind, read the live object where the
 * operation needs it, write, then poll for policy.k8s. A 429 repeats the same request after its
 * Retry-After and a jitter (at most MAX_THROTTLED times); any other failure ends the attempt, and the pipeline's
 * retryStrategy decides what follows. */
#include "actions/k8s_op.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>

#include "core/file.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/yaml.h"
#include "sensor/jpath.h"

#define ARGO_CONFIG_DIR   "/argo-events/config"    /* where Argo mounts the configmaps a source names */
#define MAX_SOURCE        (512u << 10)             /* Argo's bound on a url source */
#define MAX_CANDIDATES    8
#define MAX_THROTTLED     10
#define MAX_RETRY_AFTER_S 60

struct ks_kop_state {
    ks_httpc_t     *httpc;
    ks_kube_t      *kube;
    char            kube_error[512];
    struct ev_loop *loop;
    long            timeout_ms;
};

typedef enum {
    ST_START, ST_SOURCE, ST_DISCOVER, ST_TARGET, ST_POST, ST_EXISTING, ST_LIVE, ST_PUT, ST_PATCH, ST_DELETE, ST_POLICY
} step_t;

typedef struct attempt {
    ks_kop_state_t     *s;
    ks_kop_request_t   *r;
    ks_attempt_done_t   done;
    void               *ctx;
    ks_httpc_call_t    *call;
    ev_timer            timer;
    ks_kop_verb_t       verb;           /* DERIVE becomes CREATE once it has its object */
    json_t             *obj;            /* this attempt's object */
    ks_kube_resource_t  res;
    char               *ns, *name, *prefix;    /* prefix: generateName, when the name is derived */
    int                 candidate;
    bool                labels;
    int                 polls_left;
    double              poll_delay_s;
    const char         *did;            /* "created", "updated", …: for the closing sentence */
    char               *uid;
    long                last_status;
    /* the request in flight, kept to repeat it after a 429 */
    step_t              step;
    char               *method, *path, *ctype;
    json_t             *body;
    int                 throttled;
} attempt_t;

/* ---- state ---------------------------------------------------------------------------------------- */

ks_kop_state_t *
ks_kop_state_open(const ks_exec_env_t *env)
{
    ks_kop_state_t *s = ks_calloc(1, sizeof(*s));

    s->loop = env->loop;
    s->httpc = ks_httpc_new(env->loop);
    s->timeout_ms = (long)env->cfg->kubernetes.timeout_ms;
    s->kube = ks_kube_open(env->cfg, s->httpc, s->kube_error, sizeof(s->kube_error));
    return s;
}

void
ks_kop_state_close(ks_kop_state_t *s)
{
    if (s == NULL)
        return;
    ks_kube_close(s->kube);
    ks_httpc_free(s->httpc);
    free(s);
}

/* ---- objects ---------------------------------------------------------------------------------------- */

/* An object from text: JSON, else YAML (Argo decodes sources as YAML, of which JSON is a part). */
static json_t *
parse_object(const char *text, size_t len, const char *what, char *err, size_t errlen)
{
    json_t   *obj = json_loadb(text, len, 0, NULL);
    ks_yaml_t yaml;
    ks_diag_t diag = { 0 };

    if (obj == NULL) {
        if (ks_yaml_load_text(&yaml, what, text, len, &diag) == 0 && yaml.ndocs > 0)
            obj = ks_yaml_to_json(&yaml.docs[0], ks_yaml_root(&yaml, 0));
        else
            snprintf(err, errlen, "%s", diag.n > 0 ? diag.msgs[0] : "empty");
        ks_yaml_free(&yaml);
        ks_diag_free(&diag);
    }
    if (obj != NULL && !json_is_object(obj)) {
        snprintf(err, errlen, "%s: not a Kubernetes object (a mapping)", what);
        json_decref(obj);
        obj = NULL;
    } else if (obj == NULL && err[0] == '\0') {
        snprintf(err, errlen, "%s: not JSON or YAML", what);
    }
    return obj;
}

/* The source's object once its text is known: parsed, then the trigger's parameters applied. */
static json_t *
object_of(ks_kop_request_t *r, const char *text, size_t len, const char *what, char *err, size_t errlen)
{
    json_t *obj = parse_object(text, len, what, err, errlen);

    if (obj != NULL && ks_params_apply(&r->trig->resource_params, r->prepared.held, r->prepared.n, &obj, err,
                                       errlen) != 0) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

ks_kop_request_t *
ks_kop_request_new(const ks_firing_t *f, const char *kind, char *err, size_t errlen)
{
    ks_kop_request_t *r = ks_calloc(1, sizeof(*r));
    const json_t     *source, *v;

    r->trig = f->trig;
    r->firing_id = ks_strdup(f->id);
    err[0] = '\0';
    if (ks_firing_prepare(f->trig, f->events, kind, &r->prepared, err, errlen) != 0)
        goto fail;
    source = json_object_get(r->prepared.kind, "source");
    r->source = json_incref((json_t *)source);
    if ((v = json_object_get(source, "resource")) != NULL) {
        r->object = json_deep_copy(v);
        if (!json_is_object(r->object)) {
            snprintf(err, errlen, "%s trigger: source.resource is not a mapping", kind);
            goto fail;
        }
        if (ks_params_apply(&f->trig->resource_params, r->prepared.held, r->prepared.n, &r->object, err, errlen) != 0)
            goto fail;
    } else if ((v = json_object_get(source, "inline")) != NULL) {
        const char *text = json_string_value(v);

        if ((r->object = object_of(r, text ? text : "", text ? strlen(text) : 0, "source.inline", err, errlen)) == NULL)
            goto fail;
    } else if ((v = json_object_get(source, "file")) != NULL) {
        const char *path = json_string_value(json_object_get(v, "path"));
        size_t      len = 0;
        char       *text = path ? ks_read_file(path, MAX_SOURCE, &len, err, errlen) : NULL;

        if (path == NULL)
            snprintf(err, errlen, "%s trigger: source.file.path is required", kind);
        if (text == NULL)
            goto fail;
        r->object = object_of(r, text, len, path, err, errlen);
        free(text);
        if (r->object == NULL)
            goto fail;
    } else if (json_object_get(source, "url") == NULL && json_object_get(source, "configmap") == NULL) {
        snprintf(err, errlen, "%s trigger: source needs resource, inline, file, url or configmap", kind);
        goto fail;
    }
    return r;
fail:
    ks_kop_request_free(r);
    return NULL;
}

void
ks_kop_request_free(void *request)
{
    ks_kop_request_t *r = request;

    if (r == NULL)
        return;
    free(r->firing_id);
    json_decref(r->object);
    json_decref(r->source);
    json_decref(r->patch);
    free(r->patch_type);
    ks_prepared_free(&r->prepared);
    free(r);
}

char *
ks_kop_derived_name(const char *prefix, const char *firing_id, int candidate)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char     md[EVP_MAX_MD_SIZE];
    unsigned int      mdlen = 0;
    char             *input = ks_asprintf("%s#%d", firing_id, candidate), suffix[11];
    size_t            plen = strlen(prefix);

    EVP_Digest(input, strlen(input), md, &mdlen, EVP_sha256(), NULL);
    free(input);
    for (int i = 0; i < 10; i++)
        suffix[i] = alphabet[md[i] % 36];
    suffix[10] = '\0';
    if (plen > 53)
        plen = 53;      /* Kubernetes keeps generated names within 63 characters too */
    return ks_asprintf("%.*s%s", (int)plen, prefix, suffix);
}

void
ks_kop_merge(json_t *dst, const json_t *src)
{
    const char *key;
    json_t     *value;

    json_object_foreach((json_t *)src, key, value) {
        json_t *old = json_object_get(dst, key);

        if (json_is_object(old) && json_is_object(value))
            ks_kop_merge(old, value);
        else
            json_object_set_new(dst, key, json_deep_copy(value));
    }
}

static const char *
meta_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

/* ---- the attempt ------------------------------------------------------------------------------------- */

static void step_resolve(attempt_t *a);
static void step_act(attempt_t *a);
static void begin(attempt_t *a);
static void on_reply(void *ctx, const ks_kube_reply_t *rep);

static void
attempt_free(attempt_t *a)
{
    if (a->call != NULL)
        ks_httpc_cancel(a->call);
    ev_timer_stop(a->s->loop, &a->timer);
    json_decref(a->obj);
    json_decref(a->body);
    free(a->ns);
    free(a->name);
    free(a->prefix);
    free(a->method);
    free(a->path);
    free(a->ctype);
    free(a->uid);
    free(a);
}

static void
finish(attempt_t *a, bool ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Ends the attempt: done once, then the attempt is gone. */
static void
finish(attempt_t *a, bool ok, const char *fmt, ...)
{
    char    text[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    a->done(a->ctx, ok, a->last_status, text);
    attempt_free(a);
}

/* Sends the request the attempt holds (again, after a 429 or for the next poll of policy.k8s). */
static void
resend(attempt_t *a)
{
    char err[512];

    a->call = ks_kube_request(a->s->kube, a->method, a->path, a->body, a->ctype, on_reply, a, err, sizeof(err));
    if (a->call == NULL)
        finish(a, false, "%s", err);
}

/* The attempt's next request (body is taken), for step. */
static void
request(attempt_t *a, step_t step, const char *method, const char *path, json_t *body, const char *ctype)
{
    a->step = step;
    free(a->method);
    free(a->path);
    free(a->ctype);
    json_decref(a->body);
    a->method = ks_strdup(method);
    a->path = ks_strdup(path);
    a->ctype = ctype ? ks_strdup(ctype) : NULL;
    a->body = body;
    resend(a);
}

/* The attempt's start, the repetition of a throttled request, the next poll of policy.k8s. */
static void
on_timer(struct ev_loop *loop, ev_timer *timer, int revents)
{
    attempt_t *a = timer->data;

    (void)loop;
    (void)revents;
    if (a->step == ST_START)
        begin(a);
    else
        resend(a);
}

/* "Workflow ns/name" for messages. */
static const char *
what(const attempt_t *a, char *buf, size_t len)
{
    const char *kind = json_string_value(json_object_get(a->obj, "kind"));

    if (a->res.namespaced)
        snprintf(buf, len, "%s %s/%s", kind ? kind : "object", a->ns, a->name ? a->name : "(no name)");
    else
        snprintf(buf, len, "%s %s", kind ? kind : "object", a->name ? a->name : "(no name)");
    return buf;
}

static bool
labels_met(const json_t *want, const json_t *obj)
{
    const json_t *have = json_object_get(json_object_get(obj, "metadata"), "labels");
    const char   *key;
    json_t       *value;

    json_object_foreach((json_t *)want, key, value) {
        const char *v = json_string_value(json_object_get(have, key));

        if (v == NULL || !json_is_string(value) || strcmp(v, json_string_value(value)) != 0)
            return false;
    }
    return true;
}

static void get_named(attempt_t *a, step_t step);

/* The operation is done, object is the API's answer (NULL after a delete): policy.k8s, then success. */
static void
succeeded(attempt_t *a, const char *did, const json_t *object)
{
    const ks_trigger_t *trig = a->r->trig;
    const char         *name = meta_str(object, "name"), *uid = meta_str(object, "uid");
    char                buf[512];

    if (a->step != ST_POLICY) {
        a->did = did;
        if (name != NULL) {
            free(a->name);
            a->name = ks_strdup(name);
        }
        if (uid != NULL) {
            free(a->uid);
            a->uid = ks_strdup(uid);
        }
    }
    if (trig->k8s_labels == NULL) {
        finish(a, true, "%s %s%s%s", a->did, what(a, buf, sizeof(buf)), a->uid ? " uid " : "", a->uid ? a->uid : "");
        return;
    }
    if (a->verb == KS_KOP_DELETE) {
        finish(a, false, "policy.k8s: %s was deleted, it has no labels to wait for", what(a, buf, sizeof(buf)));
        return;
    }
    if (a->step != ST_POLICY) {
        a->polls_left = trig->k8s_backoff.steps;
        a->poll_delay_s = (double)trig->k8s_backoff.duration_ms / 1000.;
        get_named(a, ST_POLICY);
        return;
    }
    if (labels_met(trig->k8s_labels, object)) {
        finish(a, true, "%s %s%s%s; policy.k8s labels present", a->did, what(a, buf, sizeof(buf)),
               a->uid ? " uid " : "", a->uid ? a->uid : "");
    } else if (--a->polls_left <= 0) {
        if (trig->k8s_error_on_timeout)
            finish(a, false, "policy.k8s: %s did not get the policy's labels in %d checks", what(a, buf, sizeof(buf)),
                   trig->k8s_backoff.steps);
        else
            finish(a, true, "%s %s; policy.k8s labels not seen in %d checks (errorOnBackoffTimeout is off)", a->did,
                   what(a, buf, sizeof(buf)), trig->k8s_backoff.steps);
    } else {
        double delay = a->poll_delay_s + drand48() * trig->k8s_backoff.jitter * a->poll_delay_s;

        a->poll_delay_s *= trig->k8s_backoff.factor;
        a->throttled = 0;
        ev_timer_set(&a->timer, delay, 0.);
        ev_timer_start(a->s->loop, &a->timer);
    }
}

/* Sets up a create: the firing's annotation, Argo's labels, a derived name for generateName. */
static void
post(attempt_t *a)
{
    json_t *meta = ks_jpath_member_object(a->obj, "metadata");
    char   *path, ts[32];

    json_object_set_new(ks_jpath_member_object(meta, "annotations"), KS_FIRING_ANNOTATION, json_string(a->r->firing_id));
    if (a->labels) {
        json_t *labels = ks_jpath_member_object(meta, "labels");

        snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL) * 1000);
        json_object_set_new(labels, "events.argoproj.io/sensor", json_string(a->r->trig->sensor->name));
        json_object_set_new(labels, "events.argoproj.io/trigger", json_string(a->r->trig->name));
        json_object_set_new(labels, "events.argoproj.io/action-timestamp", json_string(ts));
    }
    if (a->prefix != NULL) {
        free(a->name);
        a->name = ks_kop_derived_name(a->prefix, a->r->firing_id, a->candidate);
        json_object_set_new(meta, "name", json_string(a->name));
        json_object_del(meta, "generateName");
    }
    path = ks_kube_path(json_string_value(json_object_get(a->obj, "apiVersion")), &a->res, a->ns, NULL);
    a->throttled = 0;
    request(a, ST_POST, "POST", path, json_incref(a->obj), NULL);
    free(path);
}

/* Discovery has placed the object: its namespace and name, then the operation. */
static void
placed(attempt_t *a)
{
    json_t     *meta = ks_jpath_member_object(a->obj, "metadata");
    const char *ns = meta_str(a->obj, "namespace"), *name = meta_str(a->obj, "name");
    const char *gen = meta_str(a->obj, "generateName");

    free(a->ns);
    free(a->name);
    free(a->prefix);
    a->ns = ks_strdup(ns != NULL && ns[0] != '\0' ? ns : a->r->trig->sensor->ns);
    a->name = name != NULL && name[0] != '\0' ? ks_strdup(name) : NULL;
    a->prefix = a->name == NULL && gen != NULL && gen[0] != '\0' ? ks_strdup(gen) : NULL;
    if (a->res.namespaced)
        json_object_set_new(meta, "namespace", json_string(a->ns));
    step_act(a);
}

static void
step_resolve(attempt_t *a)
{
    const char *api = json_string_value(json_object_get(a->obj, "apiVersion"));
    const char *kind = json_string_value(json_object_get(a->obj, "kind"));
    char       *path;

    if (api == NULL || kind == NULL) {
        finish(a, false, "the object has no apiVersion or kind");
        return;
    }
    switch (ks_kube_lookup(a->s->kube, api, kind, &a->res)) {
    case 1:
        placed(a);
        return;
    case -1:
        finish(a, false, "the API server at %s serves no kind %s in %s", ks_kube_server(a->s->kube), kind, api);
        return;
    default:
        path = ks_kube_discovery_path(api);
        a->throttled = 0;
        request(a, ST_DISCOVER, "GET", path, NULL, NULL);
        free(path);
    }
}

static void
get_named(attempt_t *a, step_t step)
{
    char *path = ks_kube_path(json_string_value(json_object_get(a->obj, "apiVersion")), &a->res, a->ns, a->name);

    a->throttled = 0;
    request(a, step, "GET", path, NULL, NULL);
    free(path);
}

static void
step_act(attempt_t *a)
{
    char buf[512];

    if (a->verb == KS_KOP_CREATE) {
        if (a->name == NULL && a->prefix == NULL) {
            finish(a, false, "%s: metadata.name or metadata.generateName is required", what(a, buf, sizeof(buf)));
            return;
        }
        post(a);
        return;
    }
    if (a->name == NULL) {
        finish(a, false, "%s: metadata.name is required for this operation", what(a, buf, sizeof(buf)));
        return;
    }
    get_named(a, a->verb == KS_KOP_DERIVE || a->verb == KS_KOP_CHANGE ? ST_TARGET : ST_LIVE);
}

/* The source's text arrived (url, configmap). */
static void
sourced(attempt_t *a, const char *text, size_t len, const char *where)
{
    char err[512] = "";

    if ((a->obj = object_of(a->r, text, len, where, err, sizeof(err))) == NULL) {
        finish(a, false, "%s", err);
        return;
    }
    step_resolve(a);
}

static void
on_live(attempt_t *a, const ks_kube_reply_t *rep)
{
    char    buf[512], *path;
    json_t *body;

    if (rep->status == 404) {
        if (a->verb == KS_KOP_DELETE) {
            succeeded(a, "already absent:", NULL);
            return;
        }
        a->labels = false;      /* Argo creates the missing object of an update or patch without its labels */
        post(a);
        return;
    }
    path = ks_kube_path(json_string_value(json_object_get(a->obj, "apiVersion")), &a->res, a->ns, a->name);
    a->throttled = 0;
    switch (a->verb) {
    case KS_KOP_UPDATE:
        if (a->r->live_object) {
            body = json_deep_copy(rep->body);
            if (ks_params_apply(&a->r->trig->resource_params, a->r->prepared.held, a->r->prepared.n, &body, buf,
                                sizeof(buf)) != 0) {
                json_decref(body);
                free(path);
                finish(a, false, "%s", buf);
                return;
            }
        } else {
            /* Argo's merge onto the live object: the PUT carries the live resourceVersion (a change
             * in between is a 409 Conflict), unless the source sets one of its own */
            body = json_deep_copy(rep->body);
            ks_kop_merge(body, a->obj);
        }
        request(a, ST_PUT, "PUT", path, body, NULL);
        break;
    case KS_KOP_PATCH:
        request(a, ST_PATCH, "PATCH", path, json_incref(a->obj),
             a->r->patch_type ? a->r->patch_type : "application/merge-patch+json");
        break;
    default:
        request(a, ST_DELETE, "DELETE", path, NULL, NULL);
        break;
    }
    free(path);
}

static void
on_target(attempt_t *a, const ks_kube_reply_t *rep)
{
    char    err[512] = "", buf[512], *path;
    json_t *derived;

    if (a->verb == KS_KOP_CHANGE) {
        if (a->r->check != NULL && a->r->check(rep->body, err, sizeof(err)) != 0) {
            finish(a, false, "%s: %s", what(a, buf, sizeof(buf)), err);
            return;
        }
        path = ks_kube_path(json_string_value(json_object_get(a->obj, "apiVersion")), &a->res, a->ns, a->name);
        a->throttled = 0;
        request(a, ST_PATCH, "PATCH", path, json_incref(a->r->patch), "application/merge-patch+json");
        free(path);
        return;
    }
    if ((derived = a->r->derive(a->r, rep->body, err, sizeof(err))) == NULL) {
        finish(a, false, "%s", err);
        return;
    }
    json_decref(a->obj);
    a->obj = derived;
    a->verb = KS_KOP_CREATE;
    step_resolve(a);
}

static void
on_reply(void *ctx, const ks_kube_reply_t *rep)
{
    attempt_t *a = ctx;
    char       buf[512];
    bool       ok = rep->status >= 200 && rep->status < 300;

    a->call = NULL;
    a->last_status = rep->status;
    if (rep->status == 429 && a->throttled < MAX_THROTTLED) {
        long   after = rep->retry_after_s > 0 ? rep->retry_after_s : 1;
        /* Retry-After, plus up to as much again so that the requests it turned away do not all
         * come back in the same instant */
        double wait = (double)(after < MAX_RETRY_AFTER_S ? after : MAX_RETRY_AFTER_S) * (1. + drand48());

        a->throttled++;
        ks_log_info("firing %s: the API server is throttling (429, Retry-After %ld s): %s again in %.1f s",
                    a->r->firing_id, rep->retry_after_s, a->method, wait);
        ev_timer_set(&a->timer, wait, 0.);
        ev_timer_start(a->s->loop, &a->timer);
        return;
    }
    if (rep->status == 0) {
        finish(a, false, "kubernetes API %s: %s", ks_kube_server(a->s->kube), rep->error ? rep->error : "no response");
        return;
    }
    switch (a->step) {
    case ST_START:
        return;
    case ST_SOURCE: {
        const char *key = json_string_value(json_object_get(json_object_get(a->r->source, "configmap"), "key"));
        const char *text = json_string_value(json_object_get(json_object_get(rep->body, "data"), key ? key : ""));

        if (!ok || text == NULL)
            finish(a, false, "source.configmap: %s", ok ? "no such key in the ConfigMap" : rep->error);
        else
            sourced(a, text, strlen(text), "source.configmap");
        return;
    }
    case ST_DISCOVER:
        if (ok) {
            ks_kube_learn(a->s->kube, json_string_value(json_object_get(a->obj, "apiVersion")), rep->body);
            step_resolve(a);
        } else {   /* (not remembered: the group may be served by the next attempt) */
            finish(a, false, "the API server at %s serves no %s (discovery: %s)", ks_kube_server(a->s->kube),
                   json_string_value(json_object_get(a->obj, "apiVersion")), rep->error);
        }
        return;
    case ST_POST:
        if (ok)
            succeeded(a, "created", rep->body);
        else if (rep->status == 409)
            get_named(a, ST_EXISTING);      /* ours from an earlier attempt or replay, or someone else's? */
        else
            finish(a, false, "create %s: %s", what(a, buf, sizeof(buf)), rep->error);
        return;
    case ST_EXISTING: {
        const json_t *ann = json_object_get(json_object_get(rep->body, "metadata"), "annotations");
        const char   *firing = json_string_value(json_object_get(ann, KS_FIRING_ANNOTATION));

        if (ok && firing != NULL && strcmp(firing, a->r->firing_id) == 0)
            succeeded(a, "created (by an earlier attempt)", rep->body);
        else if (ok && a->prefix != NULL && ++a->candidate < MAX_CANDIDATES)
            post(a);                        /* another firing's object holds the derived name */
        else
            finish(a, false, "create %s: AlreadyExists%s", what(a, buf, sizeof(buf)),
                   ok ? " (an object this firing did not create)" : "");
        return;
    }
    case ST_LIVE:
        if (!ok && rep->status != 404)
            finish(a, false, "failed to retrieve existing object %s: %s", what(a, buf, sizeof(buf)), rep->error);
        else
            on_live(a, rep);
        return;
    case ST_TARGET:
        if (!ok)
            finish(a, false, "%s: %s", what(a, buf, sizeof(buf)), rep->error);
        else
            on_target(a, rep);
        return;
    case ST_PUT:
    case ST_PATCH:
        if (ok)
            succeeded(a, a->step == ST_PUT ? "updated" : "patched", rep->body);
        else
            finish(a, false, "%s %s: %s", a->step == ST_PUT ? "update" : "patch", what(a, buf, sizeof(buf)), rep->error);
        return;
    case ST_DELETE:
        if (ok || rep->status == 404)
            succeeded(a, "deleted", NULL);
        else
            finish(a, false, "delete %s: %s", what(a, buf, sizeof(buf)), rep->error);
        return;
    case ST_POLICY:
        if (ok)
            succeeded(a, "", rep->body);
        else
            finish(a, false, "policy.k8s: reading %s: %s", what(a, buf, sizeof(buf)), rep->error);
        return;
    }
}

/* url: a plain GET (TLS verified unless verifyCert is false), its body the source. */
static void
on_url(void *ctx, const ks_httpc_response_t *resp)
{
    attempt_t *a = ctx;

    a->call = NULL;
    a->last_status = resp->status;
    if (resp->status != 200)
        finish(a, false, "source.url: %s", resp->status == 0 ? resp->error : "the server did not answer 200");
    else
        sourced(a, resp->body, resp->len, "source.url");
}

/* Argo's mount of a configmap source, <config>/<name>/<key>, when there is one: its text. */
static char *
mounted_configmap(const json_t *cm, size_t *len)
{
    const char *name = json_string_value(json_object_get(cm, "name"));
    const char *key = json_string_value(json_object_get(cm, "key"));
    char       *path, *text, err[256];
    struct stat st;

    if (name == NULL || key == NULL)
        return NULL;
    path = ks_asprintf("%s/%s/%s", ARGO_CONFIG_DIR, name, key);
    text = stat(path, &st) == 0 ? ks_read_file(path, MAX_SOURCE, len, err, sizeof(err)) : NULL;
    free(path);
    if (text != NULL && *len > 0 && text[*len - 1] == '\n')
        text[--*len] = '\0';
    return text;
}

/* The attempt's first step, from the loop. */
static void
begin(attempt_t *a)
{
    const json_t *url = json_object_get(a->r->source, "url"), *cm = json_object_get(a->r->source, "configmap");
    char          err[512];

    a->step = ST_SOURCE;
    if (a->r->object != NULL) {
        a->obj = json_deep_copy(a->r->object);
        step_resolve(a);
    } else if (url != NULL) {
        const char        *target = json_string_value(json_object_get(url, "path"));
        ks_httpc_request_t req = {
            .url = target ? target : "", .method = "GET", .timeout_ms = a->s->timeout_ms, .keep_body = MAX_SOURCE,
            .insecure = json_is_false(json_object_get(url, "verifyCert")),
        };

        if ((a->call = ks_httpc_call(a->s->httpc, &req, on_url, a, err, sizeof(err))) == NULL)
            finish(a, false, "source.url: %s", err);
    } else {
        size_t      len = 0;
        char       *text = mounted_configmap(cm, &len), *path;
        const char *name = json_string_value(json_object_get(cm, "name"));

        if (text != NULL) {
            sourced(a, text, len, "source.configmap");
            free(text);
            return;
        }
        path = ks_asprintf("/api/v1/namespaces/%s/configmaps/%s", a->r->trig->sensor->ns, name ? name : "");
        request(a, ST_SOURCE, "GET", path, NULL, NULL);
        free(path);
    }
}

void *
ks_kop_attempt(void *state, void *request, ks_attempt_done_t done, void *ctx, char *err, size_t errlen)
{
    ks_kop_state_t *s = state;
    attempt_t      *a;

    if (s->kube == NULL) {
        snprintf(err, errlen, "%s", s->kube_error);
        return NULL;
    }
    /* Everything happens from the loop, so that done is never called before this returns. */
    a = ks_calloc(1, sizeof(*a));
    a->s = s;
    a->r = request;
    a->done = done;
    a->ctx = ctx;
    a->verb = a->r->verb;
    a->labels = a->r->labels;
    a->step = ST_START;
    ev_init(&a->timer, on_timer);
    a->timer.data = a;
    ev_timer_set(&a->timer, 0., 0.);
    ev_timer_start(s->loop, &a->timer);
    return a;
}

void
ks_kop_cancel(void *attempt)
{
    attempt_free(attempt);
}
