/* kube.c — the Kubernetes REST client: credentials, requests, discovery (see kube.h). */
#include "actions/kube.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/base64.h"
#include "core/file.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/yaml.h"

#define SERVICE_ACCOUNT_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define MAX_RESPONSE        (16u << 20)
#define MAX_TOKEN           (64u << 10)

struct ks_kube {
    ks_httpc_t *httpc;
    char       *server;                 /* no trailing '/' */
    char       *ca_file, *ca_pem;
    char       *cert_file, *key_file, *cert_pem, *key_pem;
    bool        insecure;
    char       *user, *password;        /* basic authentication */
    char       *token;                  /* a fixed token, or the token file's last reading */
    char       *token_file;
    struct stat token_stat;             /* of that reading */
    long        timeout_ms;
    json_t     *groups;                 /* apiVersion -> {kind: {"plural", "namespaced"}} */
};

/* One request in flight: what the reply callback needs. */
typedef struct kube_call {
    ks_kube_done_t done;
    void          *ctx;
} kube_call_t;

/* ---- credentials ------------------------------------------------------------------------------- */

/* A token as read from a file: without its trailing newline. */
static char *
read_token(const char *path, char *err, size_t errlen)
{
    char *token = ks_read_file(path, MAX_TOKEN, NULL, err, errlen);

    if (token != NULL)
        token[strcspn(token, "\r\n")] = '\0';
    return token;
}

/* path, resolved against dir when relative; malloc'd. */
static char *
resolve(const char *dir, const char *path)
{
    return path[0] == '/' || dir == NULL ? ks_strdup(path) : ks_asprintf("%s/%s", dir, path);
}

static const char *
map_str(yaml_document_t *doc, const yaml_node_t *map, const char *key)
{
    yaml_node_t *v = map != NULL ? ks_yaml_map_get(doc, map, key) : NULL;

    return v != NULL ? ks_yaml_scalar(v) : NULL;
}

/* The entry of a kubeconfig list (clusters, users, contexts) named name: its inner mapping. */
static yaml_node_t *
named(yaml_document_t *doc, const yaml_node_t *root, const char *list, const char *inner, const char *name)
{
    yaml_node_t *seq = ks_yaml_map_get(doc, root, list);

    for (size_t i = 0; seq != NULL && seq->type == YAML_SEQUENCE_NODE && i < ks_yaml_len(seq); i++) {
        yaml_node_t *item = ks_yaml_seq_item(doc, seq, i);
        const char  *n = map_str(doc, item, "name");

        if (n != NULL && strcmp(n, name) == 0)
            return ks_yaml_map_get(doc, item, inner);
    }
    return NULL;
}

/* base64 PEM data of a kubeconfig, as text. */
static char *
pem_data(const char *b64, const char *what, char *err, size_t errlen)
{
    unsigned char *pem;
    size_t         len;
    char          *text;

    if (ks_base64_decode(b64, strlen(b64), &pem, &len) != 0) {
        snprintf(err, errlen, "%s is not base64", what);
        return NULL;
    }
    text = ks_malloc(len + 1);
    memcpy(text, pem, len);
    text[len] = '\0';
    free(pem);
    return text;
}

static int
from_kubeconfig(ks_kube_t *k, const char *path, const char *context, char *err, size_t errlen)
{
    ks_yaml_t        yaml = { 0 };
    ks_diag_t        diag = { 0 };
    yaml_document_t *doc;
    yaml_node_t     *root, *ctx, *cluster, *user;
    const char      *name, *s;
    char            *dir = ks_strdup(path), *slash = strrchr(dir, '/');
    int              rc = -1;

    if (slash != NULL)
        *slash = '\0';
    else
        strcpy(dir, ".");
    if (ks_yaml_load(&yaml, path, &diag) != 0 || yaml.ndocs == 0) {
        snprintf(err, errlen, "kubeconfig %s: %s", path, diag.n > 0 ? diag.msgs[0] : "empty");
        goto done;
    }
    doc = &yaml.docs[0];
    root = ks_yaml_root(&yaml, 0);
    name = context != NULL && context[0] != '\0' ? context : map_str(doc, root, "current-context");
    if (name == NULL || (ctx = named(doc, root, "contexts", "context", name)) == NULL) {
        snprintf(err, errlen, "kubeconfig %s: %s", path,
                 name == NULL ? "no current-context (set kubernetes.context)" : "no such context");
        if (name != NULL)
            snprintf(err + strlen(err), errlen - strlen(err), " '%s'", name);
        goto done;
    }
    cluster = (s = map_str(doc, ctx, "cluster")) != NULL ? named(doc, root, "clusters", "cluster", s) : NULL;
    user = (s = map_str(doc, ctx, "user")) != NULL ? named(doc, root, "users", "user", s) : NULL;
    if (cluster == NULL || map_str(doc, cluster, "server") == NULL) {
        snprintf(err, errlen, "kubeconfig %s: context '%s' has no cluster with a server", path, name);
        goto done;
    }
    k->server = ks_strdup(map_str(doc, cluster, "server"));
    if ((s = map_str(doc, cluster, "certificate-authority-data")) != NULL &&
        (k->ca_pem = pem_data(s, "certificate-authority-data", err, errlen)) == NULL)
        goto done;
    if ((s = map_str(doc, cluster, "certificate-authority")) != NULL)
        k->ca_file = resolve(dir, s);
    s = map_str(doc, cluster, "insecure-skip-tls-verify");
    k->insecure = s != NULL && strcmp(s, "true") == 0;
    if (user != NULL) {
        if (ks_yaml_map_get(doc, user, "exec") != NULL || ks_yaml_map_get(doc, user, "auth-provider") != NULL) {
            snprintf(err, errlen, "kubeconfig %s: user of context '%s' gets its credentials from %s, which ksensor "
                     "does not run: give it a token, token file or client certificate", path, name,
                     ks_yaml_map_get(doc, user, "exec") != NULL ? "an exec plugin" : "an auth-provider");
            goto done;
        }
        if ((s = map_str(doc, user, "token")) != NULL)
            k->token = ks_strdup(s);
        if ((s = map_str(doc, user, "tokenFile")) != NULL)
            k->token_file = resolve(dir, s);
        if ((s = map_str(doc, user, "client-certificate")) != NULL)
            k->cert_file = resolve(dir, s);
        if ((s = map_str(doc, user, "client-key")) != NULL)
            k->key_file = resolve(dir, s);
        if ((s = map_str(doc, user, "client-certificate-data")) != NULL &&
            (k->cert_pem = pem_data(s, "client-certificate-data", err, errlen)) == NULL)
            goto done;
        if ((s = map_str(doc, user, "client-key-data")) != NULL &&
            (k->key_pem = pem_data(s, "client-key-data", err, errlen)) == NULL)
            goto done;
        if ((s = map_str(doc, user, "username")) != NULL) {
            k->user = ks_strdup(s);
            k->password = ks_strdup((s = map_str(doc, user, "password")) != NULL ? s : "");
        }
    }
    rc = 0;
done:
    ks_yaml_free(&yaml);
    ks_diag_free(&diag);
    free(dir);
    return rc;
}

static int
in_cluster(ks_kube_t *k, char *err, size_t errlen)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");

    if (host == NULL || port == NULL) {
        snprintf(err, errlen, "no Kubernetes credentials: set kubernetes.kubeconfig, or run in a pod "
                 "(KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set)");
        return -1;
    }
    k->server = strchr(host, ':') != NULL ? ks_asprintf("https://[%s]:%s", host, port)
                                          : ks_asprintf("https://%s:%s", host, port);
    k->token_file = ks_strdup(SERVICE_ACCOUNT_DIR "/token");
    k->ca_file = ks_strdup(SERVICE_ACCOUNT_DIR "/ca.crt");
    return 0;
}

/* The bearer token, re-read from its file when the file changed. */
static const char *
token(ks_kube_t *k)
{
    struct stat st;
    char        err[256];
    char       *fresh;

    if (k->token_file == NULL)
        return k->token;
    if (stat(k->token_file, &st) != 0)
        return k->token;        /* keep the last one: the file is being replaced */
    if (k->token != NULL && st.st_mtim.tv_sec == k->token_stat.st_mtim.tv_sec &&
        st.st_mtim.tv_nsec == k->token_stat.st_mtim.tv_nsec && st.st_size == k->token_stat.st_size &&
        st.st_ino == k->token_stat.st_ino)
        return k->token;
    if ((fresh = read_token(k->token_file, err, sizeof(err))) == NULL) {
        ks_log_warning("kubernetes: %s; keeping the token read before", err);
        return k->token;
    }
    if (k->token != NULL)
        ks_log_info("kubernetes: read the token file %s again (it changed)", k->token_file);
    free(k->token);
    k->token = fresh;
    k->token_stat = st;
    return k->token;
}

ks_kube_t *
ks_kube_open(const ks_config_t *cfg, ks_httpc_t *httpc, char *err, size_t errlen)
{
    ks_kube_t *k = ks_calloc(1, sizeof(*k));
    size_t     len;

    k->httpc = httpc;
    k->timeout_ms = (long)cfg->kubernetes.timeout_ms;
    k->groups = json_object();
    if ((cfg->kubernetes.kubeconfig[0] != '\0'
             ? from_kubeconfig(k, cfg->kubernetes.kubeconfig, cfg->kubernetes.context, err, errlen)
             : in_cluster(k, err, errlen)) != 0) {
        ks_kube_close(k);
        return NULL;
    }
    if ((len = strlen(k->server)) > 0 && k->server[len - 1] == '/')
        k->server[len - 1] = '\0';
    if (strncmp(k->server, "https://", 8) != 0 && strncmp(k->server, "http://", 7) != 0) {
        snprintf(err, errlen, "kubernetes: server '%s' is not an http(s) URL", k->server);
        ks_kube_close(k);
        return NULL;
    }
    if (k->token_file != NULL && token(k) == NULL) {
        snprintf(err, errlen, "kubernetes: cannot read the token file %s", k->token_file);
        ks_kube_close(k);
        return NULL;
    }
    if (k->insecure)
        ks_log_warning("kubernetes: insecure-skip-tls-verify: the certificate of %s is not verified", k->server);
    return k;
}

void
ks_kube_close(ks_kube_t *k)
{
    if (k == NULL)
        return;
    free(k->server);
    free(k->ca_file);
    free(k->ca_pem);
    free(k->cert_file);
    free(k->key_file);
    free(k->cert_pem);
    free(k->key_pem);
    free(k->user);
    free(k->password);
    free(k->token);
    free(k->token_file);
    json_decref(k->groups);
    free(k);
}

const char *
ks_kube_server(const ks_kube_t *k)
{
    return k->server;
}

/* ---- requests ------------------------------------------------------------------------------------ */

static void
on_reply(void *ctx, const ks_httpc_response_t *resp)
{
    kube_call_t    *call = ctx;
    json_t         *body = resp->len > 0 ? json_loadb(resp->body, resp->len, 0, NULL) : NULL;
    ks_kube_reply_t reply = { resp->status, resp->error, NULL, body, resp->retry_after_s };
    char            why[512];

    if (resp->status >= 400) {
        const char *message = json_string_value(json_object_get(body, "message"));

        reply.reason = json_string_value(json_object_get(body, "reason"));
        if (message == NULL) {
            snprintf(why, sizeof(why), "HTTP %ld", resp->status);
            message = why;
        }
        reply.error = message;
    }
    call->done(call->ctx, &reply);
    json_decref(body);
    free(call);
}

ks_httpc_call_t *
ks_kube_request(ks_kube_t *k, const char *method, const char *path, const json_t *body, const char *content_type,
                ks_kube_done_t done, void *ctx, char *err, size_t errlen)
{
    kube_call_t       *call = ks_calloc(1, sizeof(*call));
    char              *url = ks_asprintf("%s%s", k->server, path);
    char              *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    char              *auth = NULL, *type = ks_asprintf("Content-Type: %s", content_type ? content_type : "application/json");
    /* (no "Expect: 100-continue" on larger bodies: one round trip less per write) */
    const char        *headers[5] = { "Accept: application/json", "Expect:", type, NULL, NULL };
    const char        *tok = token(k);
    ks_httpc_call_t   *c;
    ks_httpc_request_t req = {
        .url = url, .method = method, .headers = headers, .body = text, .len = text ? strlen(text) : 0,
        .timeout_ms = k->timeout_ms, .ca_file = k->ca_file, .cert_file = k->cert_file, .key_file = k->key_file,
        .ca_pem = k->ca_pem, .cert_pem = k->cert_pem, .key_pem = k->key_pem, .insecure = k->insecure,
        .user = k->user, .password = k->password, .keep_body = MAX_RESPONSE,
    };

    if (tok != NULL && tok[0] != '\0')
        headers[3] = auth = ks_asprintf("Authorization: Bearer %s", tok);
    call->done = done;
    call->ctx = ctx;
    c = ks_httpc_call(k->httpc, &req, on_reply, call, err, errlen);
    if (c == NULL)
        free(call);
    free(url);
    free(text);
    free(auth);
    free(type);
    return c;
}

/* ---- discovery ------------------------------------------------------------------------------------ */

char *
ks_kube_discovery_path(const char *api_version)
{
    return strchr(api_version, '/') != NULL ? ks_asprintf("/apis/%s", api_version) : ks_asprintf("/api/%s", api_version);
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
ks_kube_learn(ks_kube_t *k, const char *api_version, const json_t *list)
{
    json_t       *kinds = json_object();
    const json_t *r;
    size_t        i;

    json_array_foreach(json_object_get(list, "resources"), i, r) {
        const char *name = json_string_value(json_object_get(r, "name"));
        const char *kind = json_string_value(json_object_get(r, "kind"));

        if (name == NULL || kind == NULL || strchr(name, '/') != NULL || json_object_get(kinds, kind) != NULL)
            continue;       /* subresources (workflows/status) and second names of a kind */
        json_object_set_new(kinds, kind, json_pack("{s:s, s:b}", "plural", name, "namespaced",
                                                   json_is_true(json_object_get(r, "namespaced"))));
    }
    json_object_set_new(k->groups, api_version, json_pack("{s:o, s:f}", "kinds", kinds, "at", now_s()));
}

int
ks_kube_lookup(ks_kube_t *k, const char *api_version, const char *kind, ks_kube_resource_t *out)
{
    const json_t *group = json_object_get(k->groups, api_version), *r;

    if (group == NULL)
        return 0;
    if ((r = json_object_get(json_object_get(group, "kinds"), kind)) == NULL) {
        /* a kind the answer lacked: a custom resource defined since is found at the next look */
        if (now_s() - json_real_value(json_object_get(group, "at")) < KS_KUBE_REDISCOVER_S)
            return -1;
        json_object_del(k->groups, api_version);
        return 0;
    }
    out->plural = json_string_value(json_object_get(r, "plural"));
    out->namespaced = json_is_true(json_object_get(r, "namespaced"));
    return 1;
}

char *
ks_kube_path(const char *api_version, const ks_kube_resource_t *res, const char *ns, const char *name)
{
    char *base = ks_kube_discovery_path(api_version), *path;

    if (res->namespaced)
        path = ks_asprintf("%s/namespaces/%s/%s%s%s", base, ns, res->plural, name ? "/" : "", name ? name : "");
    else
        path = ks_asprintf("%s/%s%s%s", base, res->plural, name ? "/" : "", name ? name : "");
    free(base);
    return path;
}
