#!/usr/bin/env bash
# The k8s trigger's operations on ConfigMaps, on the real broker and a real API server, one event
# at a time so that each step sees the last one's effect:
#   - create (a fixed name; inline YAML source; a parameter into data): the object, Argo's labels,
#     the firing annotation; the ledger's result names it with its uid;
#   - update (GET, Argo's merge, PUT): keys of the live object kept, the source's added;
#   - patch (merge patch of the source object): a label added, the rest untouched;
#   - delete, then delete again: gone, and the second is a success (404 is success);
#   - create of a fixed name held by an object this firing did not create: failed, AlreadyExists;
#   - update with a stale resourceVersion in the source (Argo's merge keeps it): 409, failed with
#     the API's message, after its retryStrategy;
#   - policy.k8s met (the created object carries the labels): done; timed out with
#     errorOnBackoffTimeout: failed after its checks; without it: done;
#   - an unknown kind: failed, naming the kind (discovery, not a pluralizer);
#   - a file source and a configmap source (read through the API).
set -euo pipefail
. "$KS_TOP/tests/integration/lib/pipeline.sh"
. "$KS_TOP/tests/integration/lib/kube.sh"

ns=$(kb_namespace)
pool=k8sops-$RANDOM
mkdir -p "$KS_TMP/sensors"

# trigger NAME EVENT OPERATION SOURCE_YAML [EXTRA TRIGGER LINES...]: a k8s trigger firing on EVENT
trigger() {
  local name=$1 event=$2 op=$3 source=$4
  shift 4
  cat <<YAML
    - template:
        name: $name
        conditions: $event
        k8s:
          operation: $op
          source:
$(sed 's/^/            /' <<<"$source")
          parameters:
            - src:
                dependencyName: $event
                dataKey: v
                value: none
              dest: data.v
YAML
  for line in "$@"; do echo "$line"; done
}
cm() {   # NAME [LABELS_JSON]: a ConfigMap source (resource)
  printf 'resource:\n  apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: %s\n    labels: %s\n  data:\n    k: "1"\n' \
    "$1" "${2:-{\}}"
}
{
  cat <<YAML
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata:
  name: ops
  namespace: $ns
spec:
  dependencies:
YAML
  for e in create update patch delete held stale met timeout lenient unknown file fromcm; do
    printf '    - name: %s\n      eventSourceName: demo\n      eventName: %s\n' "$e" "$e"
  done
  echo "  triggers:"
  trigger create create create "$(printf 'inline: |\n  apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: cfg\n  data:\n    k: "1"\n')"
  trigger update update update "$(printf 'resource:\n  apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: cfg\n  data:\n    k2: "2"\n')"
  trigger patch patch patch "$(printf 'resource:\n  apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: cfg\n    labels:\n      patched: "yes"\n')"
  trigger delete delete delete "$(cm cfg)"
  trigger held held create "$(cm held)"
  trigger stale stale update "$(printf 'resource:\n  apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: stale\n    resourceVersion: "1"\n')" \
    "      atLeastOnce: true" "      retryStrategy:" "        steps: 2" "        duration: 100ms"
  trigger met met create "$(cm met '{ready: "yes"}')" "      policy:" "        k8s:" "          labels: {ready: \"yes\"}"
  trigger timeout timeout create "$(cm timeout)" "      policy:" "        k8s:" "          labels: {ready: \"never\"}" \
    "          backoff: {steps: 3, duration: 100ms}" "          errorOnBackoffTimeout: true"
  trigger lenient lenient create "$(cm lenient)" "      policy:" "        k8s:" "          labels: {ready: \"never\"}" \
    "          backoff: {steps: 2, duration: 100ms}"
  trigger unknown unknown create "$(printf 'resource:\n  apiVersion: v1\n  kind: ConfigMapp\n  metadata:\n    name: x\n')"
  trigger file file create "$(printf 'file:\n  path: %s\n' "$KS_TMP/object.json")"
  trigger fromcm fromcm create "$(printf 'configmap:\n  name: template\n  key: object\n')"
} >"$KS_TMP/sensors/ops.yaml"
echo '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"from-file"},"data":{"k":"f"}}' >"$KS_TMP/object.json"

kb_ok POST "/api/v1/namespaces/$ns/configmaps" '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"held"}}' >/dev/null
kb_ok POST "/api/v1/namespaces/$ns/configmaps" '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"stale"}}' >/dev/null
kb_ok POST "/api/v1/namespaces/$ns/configmaps" \
  "$(jq -cn '{apiVersion:"v1",kind:"ConfigMap",metadata:{name:"template"},data:{object:"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-configmap\n"}}')" >/dev/null

kb_config "$KS_TMP/ksensord.yaml" "$pool" opshost "$KS_TMP/data" "$KS_TMP/sensors/*.yaml"
pl_topic "$pool-events" 1
pl_start_fresh pid "$KS_TMP/worker.log" "$KS_TMP/ksensord.yaml"

ledger() { kb_last "$KS_TMP/ksensord.yaml" "$@"; }     # TRIGGER FIELD
n=0
fire() {     # EVENT [V]: one event, then waits until its firing is over in the ledger
  n=$((n + 1))
  pl_event "$1-$n" "$1" "{\"v\":\"${2:-x}\"}" >"$KS_TMP/e.tsv"
  pl_produce "$pool-events" "$KS_TMP/e.tsv"
  pl_until 60 "the $1 firing to end" kb_over "$KS_TMP/ksensord.yaml" "${3:-1}" "$1"
}
get_cm() { kb_ok GET "/api/v1/namespaces/$ns/configmaps/$1"; }

fire create one
cm=$(get_cm cfg)
[[ $(ledger create status) == done ]] || pl_fail "create: $(ledger create last_error)"
[[ $(jq -r .data.v <<<"$cm") == one && $(jq -r .data.k <<<"$cm") == 1 ]] || pl_fail "create: data $(jq -c .data <<<"$cm")"
[[ $(jq -r '.metadata.labels["events.argoproj.io/sensor"]' <<<"$cm") == ops ]] || pl_fail "create: labels"
[[ $(jq -r '.metadata.annotations["ksensor.io/firing"]' <<<"$cm") == ops/create@* ]] || pl_fail "create: annotation"
[[ $(ledger create result) == "created ConfigMap $ns/cfg uid $(jq -r .metadata.uid <<<"$cm")" ]] ||
  pl_fail "create: result '$(ledger create result)'"

fire update two
cm=$(get_cm cfg)
[[ $(ledger update status) == done ]] || pl_fail "update: $(ledger update last_error)"
[[ $(jq -c .data <<<"$cm") == '{"k":"1","k2":"2","v":"two"}' ]] || pl_fail "update: data $(jq -c .data <<<"$cm")"
[[ $(jq -r '.metadata.labels["events.argoproj.io/sensor"]' <<<"$cm") == ops ]] || pl_fail "update: labels lost"

fire patch three
cm=$(get_cm cfg)
[[ $(ledger patch status) == done ]] || pl_fail "patch: $(ledger patch last_error)"
[[ $(jq -r .metadata.labels.patched <<<"$cm") == yes && $(jq -c .data <<<"$cm") == '{"k":"1","k2":"2","v":"three"}' ]] ||
  pl_fail "patch: $(jq -c '{labels: .metadata.labels, data}' <<<"$cm")"

fire delete
kb_call GET "/api/v1/namespaces/$ns/configmaps/cfg"
[[ $KB_STATUS == 404 && $(ledger delete status) == done ]] || pl_fail "delete: HTTP $KB_STATUS, ledger $(ledger delete status)"
fire delete x 2
[[ $(ledger delete status) == done ]] || pl_fail "delete of an absent object: $(ledger delete last_error)"
pl_say "create, update, patch, delete and delete again as Argo does them"

fire held
[[ $(ledger held status) == failed && $(ledger held last_error) == *AlreadyExists* ]] ||
  pl_fail "held: $(ledger held status) $(ledger held last_error)"
[[ $(get_cm held | jq -r '.metadata.annotations // {} | has("ksensor.io/firing")') == false ]] || pl_fail "held: changed"

fire stale
[[ $(ledger stale status) == failed && $(ledger stale attempts) == 2 && $(ledger stale last_status) == 409 ]] ||
  pl_fail "stale: $(ledger stale status) after $(ledger stale attempts) attempts, HTTP $(ledger stale last_status)"
[[ $(ledger stale last_error) == *"the object has been modified"* ]] || pl_fail "stale: message '$(ledger stale last_error)'"
pl_say "AlreadyExists on a name held by another object, 409 on a stale resourceVersion: failed with the API's message"

fire met
[[ $(ledger met status) == done && $(ledger met result) == *"policy.k8s labels present"* ]] || pl_fail "met: $(ledger met result)"
fire timeout
[[ $(ledger timeout status) == failed && $(ledger timeout last_error) == *"in 3 checks"* ]] ||
  pl_fail "timeout: $(ledger timeout status) $(ledger timeout last_error)"
fire lenient
[[ $(ledger lenient status) == done && $(ledger lenient result) == *"not seen in 2 checks"* ]] ||
  pl_fail "lenient: $(ledger lenient status) $(ledger lenient result)"
pl_say "policy.k8s: met, timed out with and without errorOnBackoffTimeout"

fire unknown
[[ $(ledger unknown status) == failed && $(ledger unknown last_error) == *"serves no kind ConfigMapp in v1"* ]] ||
  pl_fail "unknown: $(ledger unknown last_error)"
fire file
[[ $(ledger file status) == done && $(get_cm from-file | jq -r .data.k) == f ]] || pl_fail "file: $(ledger file last_error)"
fire fromcm
[[ $(ledger fromcm status) == done ]] || pl_fail "configmap source: $(ledger fromcm last_error)"
get_cm from-configmap >/dev/null
pl_stop "$pid"
pl_say "unknown kind refused by discovery; file and configmap sources"
