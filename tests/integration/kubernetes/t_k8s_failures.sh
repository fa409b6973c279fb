#!/usr/bin/env bash
# The k8s trigger when the API says no or is away, on the real broker and an API server of the
# test's own (tools/kube-local, stopped and restarted here):
#   - no credentials (anonymous: 403 under RBAC): failed with the API's message, the worker goes on;
#   - an invalid object (a Workflow without spec: 422): failed with the API's message;
#   - a wrong CA: failed with the TLS error, naming the server;
#   - a token file holding a token the server refuses (401), then rotated to a good one while
#     retryStrategy retries: the file is read again and the create succeeds;
#   - the API server stopped mid-run with firings under way, restarted on its data a few seconds
#     later: the firings retry (atLeastOnce) and succeed, nothing lost, nothing twice.
set -euo pipefail
. "$KS_TOP/tests/integration/lib/pipeline.sh"

kube=$KS_TOP/tools/kube-local/kube-local
KS_KUBE=$KS_TMP/kube
"$kube" start --dir "$KS_KUBE" >/dev/null
trap '"$kube" stop --dir "$KS_KUBE" >/dev/null 2>&1 || true; pl_cleanup' EXIT
"$kube" crd --dir "$KS_KUBE"
. "$KS_TOP/tests/integration/lib/kube.sh"
ns=$(kb_namespace)
pool=k8sfail-$RANDOM
mkdir -p "$KS_TMP/sensors"

# sensor NAME SOURCE [TRIGGER LINES...]: a k8s trigger "wf" creating SOURCE on event NAME
sensor() {
  local name=$1 source=$2
  shift 2
  {
    cat <<YAML
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata:
  name: $name
  namespace: $ns
spec:
  dependencies:
    - name: e
      eventSourceName: demo
      eventName: $name
  triggers:
    - template:
        name: wf
        k8s:
          source:
            resource:
$(sed 's/^/              /' <<<"$source")
YAML
    for line in "$@"; do echo "$line"; done
  } >"$KS_TMP/sensors/$name.yaml"
}
workflow='apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: w-
spec:
  entrypoint: main'
retry=("      atLeastOnce: true" "      retryStrategy:" "        steps: 30" "        duration: 500ms" "        jitter: 0")

run() {   # NAME KUBECONFIG EVENTS: a worker of its own for sensor NAME with KUBECONFIG, EVENTS events in
  local name=$1
  kb_config "$KS_TMP/$name.yaml" "$pool-$name" failhost "$KS_TMP/data-$name" "$KS_TMP/sensors/$name.yaml" "$2" 5s
  pl_topic "$pool-$name-events" 1
  for i in $(seq 1 "$3"); do pl_event "$name-$i" "$name"; done >"$KS_TMP/$name.tsv"
  pl_produce "$pool-$name-events" "$KS_TMP/$name.tsv"
  pl_start_fresh pid "$KS_TMP/$name.log" "$KS_TMP/$name.yaml"
}
ledger() { kb_ledger "$KS_TMP/$1.yaml"; }                                        # NAME
wait_over() { pl_until 90 "$2 firings of $1 to end" kb_over "$KS_TMP/$1.yaml" "$2"; }   # NAME N

# anonymous: the kubeconfig names no user
cat >"$KS_TMP/anonymous.kubeconfig" <<YAML
clusters: [{name: local, cluster: {server: "$KB_SERVER", certificate-authority: "$KS_KUBE/ca.crt"}}]
contexts: [{name: local, context: {cluster: local}}]
current-context: local
YAML
sensor forbidden "$workflow"
run forbidden "$KS_TMP/anonymous.kubeconfig" 1
wait_over forbidden 1
row=$(ledger forbidden | jq -c '.[0]')
[[ $(jq -r .status <<<"$row") == failed && $(jq -r .last_status <<<"$row") == 403 &&
   $(jq -r .last_error <<<"$row") == *'system:anonymous'* ]] || pl_fail "403: $row"
pl_alive "$pid" "after a 403"
pl_stop "$pid"

# an invalid object
sensor invalid 'apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: w-'
run invalid "$KS_KUBE/kubeconfig" 1
wait_over invalid 1
row=$(ledger invalid | jq -c '.[0]')
[[ $(jq -r .status <<<"$row") == failed && $(jq -r .last_status <<<"$row") == 422 &&
   $(jq -r .last_error <<<"$row") == *spec* ]] || pl_fail "422: $row"
pl_stop "$pid"
pl_say "403 and 422: failed with the API's message"

# a wrong CA
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=other -keyout "$KS_TMP/other.key" \
  -out "$KS_TMP/other.crt" 2>/dev/null
kb_kubeconfig "$KS_TMP/wrongca.kubeconfig" "$KS_KUBE/token" "$KS_TMP/other.crt"
sensor wrongca "$workflow"
run wrongca "$KS_TMP/wrongca.kubeconfig" 1
wait_over wrongca 1
row=$(ledger wrongca | jq -c '.[0]')
[[ $(jq -r .status <<<"$row") == failed && $(jq -r .last_error <<<"$row") == *"$KB_SERVER"*certificate* ]] ||
  pl_fail "wrong CA: $row"
pl_stop "$pid"
pl_say "wrong CA: $(jq -r .last_error <<<"$row")"

# a token file that rotates: refused first, then a good token
echo not-a-token >"$KS_TMP/rotating.token"
kb_kubeconfig "$KS_TMP/rotating.kubeconfig" "$KS_TMP/rotating.token"
sensor rotating "$workflow" "${retry[@]}"
run rotating "$KS_TMP/rotating.kubeconfig" 1
pl_until 30 "a refused attempt" grep -q 'attempt 1 of 30 failed.*Unauthorized' "$KS_TMP/rotating.log"
cp "$KS_KUBE/token" "$KS_TMP/rotating.token.new"
mv "$KS_TMP/rotating.token.new" "$KS_TMP/rotating.token"
wait_over rotating 1
[[ $(ledger rotating | jq -r '.[0].status') == done ]] || pl_fail "rotated token: $(ledger rotating | jq -c '.[0]')"
grep -q 'read the token file .* again' "$KS_TMP/rotating.log" || pl_fail "no line about the token file read again"
pl_stop "$pid"
pl_say "a rotated token file is read again: 401, then created"

# the API server away mid-run
sensor outage "$workflow" "${retry[@]}"
run outage "$KS_KUBE/kubeconfig" 0
for i in $(seq 1 20); do pl_event "before-$i" outage; done >"$KS_TMP/before.tsv"
pl_produce "$pool-outage-events" "$KS_TMP/before.tsv"
wait_over outage 5
"$kube" stop --dir "$KS_KUBE"
for i in $(seq 1 30); do pl_event "during-$i" outage; done >"$KS_TMP/during.tsv"
pl_produce "$pool-outage-events" "$KS_TMP/during.tsv"
pl_until 30 "attempts failing on the stopped server" grep -q 'attempt 1 of 30 failed.*kubernetes API' "$KS_TMP/outage.log"
"$kube" start --dir "$KS_KUBE" --keep >/dev/null
wait_over outage 50
pl_alive "$pid" "through the outage"
pl_stop "$pid"
[[ $(ledger outage | jq '[.[] | select(.status == "done")] | length') == 50 ]] || pl_fail "outage: $(ledger outage | jq -c '[.[] | .status] | group_by(.) | map({(.[0]): length}) | add')"
total=$(kb_list "$ns" workflows events.argoproj.io/sensor=outage | wc -l)
((total == 50)) || pl_fail "outage: $total Workflows for 50 firings"
pl_say "API server stopped and restarted mid-run: 50 firings, 50 Workflows, all done"
