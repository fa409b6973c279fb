#!/usr/bin/env bash
# In-cluster credentials, as in a pod: no kubernetes.kubeconfig; KUBERNETES_SERVICE_HOST and
# KUBERNETES_SERVICE_PORT name the API server, and /var/run/secrets/kubernetes.io/serviceaccount
# holds a real service-account token (TokenRequest, a bound JWT) and the CA — in a mount namespace
# of the test's own (unshare: a tmpfs on /run there, nothing of the host's is touched). The account
# may create Workflows in its namespace (a Role). A firing creates one. Then the token is rotated
# as the kubelet rotates it (a new file moved into place): first to a token the server refuses,
# with a firing retrying (atLeastOnce) on 401, then to a fresh TokenRequest token: the worker reads
# the file again and the firing is done.
set -euo pipefail
if [[ -z ${KS_IN_MOUNT_NS:-} ]]; then
  exec unshare --mount --propagation private env KS_IN_MOUNT_NS=1 "$0" "$@"
fi
mount -t tmpfs tmpfs /run
sa=/var/run/secrets/kubernetes.io/serviceaccount
mkdir -p "$sa"
. "$KS_TOP/tests/integration/lib/pipeline.sh"
. "$KS_TOP/tests/integration/lib/kube.sh"

ns=$(kb_namespace)
kb_ok POST "/api/v1/namespaces/$ns/serviceaccounts" '{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"ksensor"}}' >/dev/null
kb_ok POST "/apis/rbac.authorization.k8s.io/v1/namespaces/$ns/roles" '{"apiVersion":"rbac.authorization.k8s.io/v1",
  "kind":"Role","metadata":{"name":"wf"},"rules":[{"apiGroups":["argoproj.io"],"resources":["workflows"],"verbs":["create","get"]}]}' >/dev/null
kb_ok POST "/apis/rbac.authorization.k8s.io/v1/namespaces/$ns/rolebindings" "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",
  \"kind\":\"RoleBinding\",\"metadata\":{\"name\":\"wf\"},\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Role\",
  \"name\":\"wf\"},\"subjects\":[{\"kind\":\"ServiceAccount\",\"name\":\"ksensor\",\"namespace\":\"$ns\"}]}" >/dev/null
token() {   # a fresh bound token of the account, moved into place as the kubelet does
  kb_ok POST "/api/v1/namespaces/$ns/serviceaccounts/ksensor/token" \
    '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":3600}}' |
    jq -r .status.token >"$sa/.token.new"
  mv "$sa/.token.new" "$sa/token"
}
token
cp "$KS_KUBE/ca.crt" "$sa/ca.crt"
port=${KB_SERVER##*:}

pool=k8sic-$RANDOM
mkdir -p "$KS_TMP/sensors"
kb_workflow_sensor incluster "$ns" go ic- "      atLeastOnce: true" \
  "      retryStrategy: {steps: 60, duration: 250ms, jitter: 0}" >"$KS_TMP/sensors/ic.yaml"
pl_config "$KS_TMP/ksensord.yaml" "$pool" ichost "$KS_TMP/data" "$KS_TMP/sensors/*.yaml"
pl_topic "$pool-events" 1
pl_start_fresh pid "$KS_TMP/worker.log" "$KS_TMP/ksensord.yaml" KUBERNETES_SERVICE_HOST=127.0.0.1 \
  KUBERNETES_SERVICE_PORT="$port"

pl_event e1 go >"$KS_TMP/e.tsv"
pl_produce "$pool-events" "$KS_TMP/e.tsv"
pl_until 60 "the first firing done" kb_done "$KS_TMP/ksensord.yaml" 1
pl_say "in-cluster: created with the service account's token"

echo not-a-token >"$sa/.token.new"
mv "$sa/.token.new" "$sa/token"
pl_event e2 go >"$KS_TMP/e.tsv"
pl_produce "$pool-events" "$KS_TMP/e.tsv"
pl_until 30 "an attempt refused with the bad token" grep -q 'attempt [0-9]* of 60 failed.*Unauthorized' "$KS_TMP/worker.log"
token
pl_until 60 "the second firing done" kb_done "$KS_TMP/ksensord.yaml" 2
pl_stop "$pid"
grep -q "read the token file $sa/token again" "$KS_TMP/worker.log" || pl_fail "no line about the token file read again"
[[ $(kb_list "$ns" workflows | wc -l) == 2 ]] || pl_fail "expected 2 Workflows: $(kb_list "$ns" workflows)"
pl_say "the rotated token file was read again: 401 on the refused token, then created"
