#!/usr/bin/env bash
# 429 from the API server, made the way an operator throttles a client: an API server of its own
# where API Priority and Fairness puts the user ksensord runs as in a priority level of its own with
# a seat or two and limitResponse Reject (a FlowSchema and a PriorityLevelConfiguration), so that
# concurrent requests beyond them get 429 Too Many Requests with Retry-After. One event fires 20 k8s
# triggers at once (at most once: no retryStrategy to fall back on); every attempt that meets a 429
# waits out Retry-After (and a jitter) and repeats its request. Asserted: the 429s were met, and
# every firing is done, one Workflow each.
set -euo pipefail
. "$KS_TOP/tests/integration/lib/pipeline.sh"

kube=$KS_TOP/tools/kube-local/kube-local
KS_KUBE=$KS_TMP/kube
mkdir -p "$KS_KUBE"
"$kube" token --dir "$KS_KUBE" throttled >"$KS_TMP/throttled.token"
"$kube" start --dir "$KS_KUBE" >/dev/null
trap '"$kube" stop --dir "$KS_KUBE" >/dev/null 2>&1 || true; pl_cleanup' EXIT
"$kube" crd --dir "$KS_KUBE"
. "$KS_TOP/tests/integration/lib/kube.sh"
kb_ok POST /apis/rbac.authorization.k8s.io/v1/clusterrolebindings '{"apiVersion":"rbac.authorization.k8s.io/v1",
  "kind":"ClusterRoleBinding","metadata":{"name":"throttled"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io",
  "kind":"ClusterRole","name":"cluster-admin"},"subjects":[{"kind":"User","name":"throttled","apiGroup":"rbac.authorization.k8s.io"}]}' >/dev/null
kb_ok POST /apis/flowcontrol.apiserver.k8s.io/v1/prioritylevelconfigurations '{"apiVersion":"flowcontrol.apiserver.k8s.io/v1",
  "kind":"PriorityLevelConfiguration","metadata":{"name":"throttled"},"spec":{"type":"Limited","limited":
  {"nominalConcurrencyShares":1,"lendablePercent":0,"limitResponse":{"type":"Reject"}}}}' >/dev/null
kb_ok POST /apis/flowcontrol.apiserver.k8s.io/v1/flowschemas '{"apiVersion":"flowcontrol.apiserver.k8s.io/v1",
  "kind":"FlowSchema","metadata":{"name":"throttled"},"spec":{"matchingPrecedence":100,"priorityLevelConfiguration":
  {"name":"throttled"},"rules":[{"subjects":[{"kind":"User","user":{"name":"throttled"}}],"resourceRules":[{"verbs":["*"],
  "apiGroups":["*"],"resources":["*"],"namespaces":["*"],"clusterScope":true}],"nonResourceRules":[{"verbs":["*"],
  "nonResourceURLs":["*"]}]}]}}' >/dev/null
kb_kubeconfig "$KS_TMP/throttled.kubeconfig" "$KS_TMP/throttled.token"
ns=$(kb_namespace)
pool=k8sthrottle-$RANDOM
n=20
mkdir -p "$KS_TMP/sensors"
for i in $(seq 1 "$n"); do kb_workflow_sensor "s$i" "$ns" go t- >"$KS_TMP/sensors/s$i.yaml"; done
kb_config "$KS_TMP/ksensord.yaml" "$pool" throttlehost "$KS_TMP/data" "$KS_TMP/sensors/*.yaml" \
  "$KS_TMP/throttled.kubeconfig"
pl_topic "$pool-events" 1
pl_start_fresh pid "$KS_TMP/worker.log" "$KS_TMP/ksensord.yaml"
# the discovery of argoproj.io first, so that the writes meet each other at the server
pl_event warm go >"$KS_TMP/e.tsv"
pl_produce "$pool-events" "$KS_TMP/e.tsv"
pl_until 60 "the first $n firings" kb_over "$KS_TMP/ksensord.yaml" "$n"
for round in 1 2 3; do
  pl_event "go-$round" go >"$KS_TMP/e.tsv"
  pl_produce "$pool-events" "$KS_TMP/e.tsv"
  want=$((n * (round + 1)))
  pl_until 120 "$want firings over" kb_over "$KS_TMP/ksensord.yaml" "$want"
  grep -q 'the API server is throttling (429' "$KS_TMP/worker.log" && break
done
pl_stop "$pid"
throttled=$(grep -c 'the API server is throttling (429' "$KS_TMP/worker.log" || true)
((throttled > 0)) || pl_fail "no 429 met in $round rounds of $n simultaneous creates: the test proves nothing"
kb_ledger "$KS_TMP/ksensord.yaml" >"$KS_TMP/ledger.json"
rows=$(jq length "$KS_TMP/ledger.json")
done=$(jq '[.[] | select(.status == "done")] | length' "$KS_TMP/ledger.json")
((done == rows)) || pl_fail "$((rows - done)) of $rows firings not done: $(jq -c '[.[] | select(.status != "done") | .last_error]' "$KS_TMP/ledger.json")"
total=$(kb_list "$ns" workflows | wc -l)
((total == rows)) || pl_fail "$total Workflows for $rows firings"
pl_say "$throttled requests met 429 and waited out Retry-After: $rows firings, $total Workflows, all done"
