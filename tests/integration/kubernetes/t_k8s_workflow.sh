#!/usr/bin/env bash
# Run the next Workflow when one completes, end to end, on the real broker and a real API server:
# a Workflow is created and its status patched to Succeeded (no Argo controller runs here); the
# events the resource event source emits for it — both shapes of reference §6: an UPDATE with
# oldBody (the sensor filters on body.status.phase and on the old phase with an expr) and an ADD
# (a label-selecting event source sees the finished Workflow appear) — go on the event topic; one
# sensor per shape submits the next Workflow with an argoWorkflow trigger, the other creates it with
# a k8s trigger, each with a parameter taken from the finished one.
# Asserted on the API server: for each sensor exactly one new Workflow, in the sensor's namespace,
# named from its generateName, its spec with the parameter, Argo's three labels, the firing
# annotation; the ledger records done with the object's name and uid. A Workflow still Running
# triggers nothing. Then the same events again (a second Kafka record each, as a re-run event source
# would send): new firings, each one more Workflow — and never an AlreadyExists, since names derive
# from the firing.
set -euo pipefail
. "$KS_TOP/tests/integration/lib/pipeline.sh"
. "$KS_TOP/tests/integration/lib/kube.sh"

ns=$(kb_namespace)
pool=k8swf-$RANDOM
mkdir -p "$KS_TMP/sensors"

# The finished Workflow, as the controller would leave it (phase, completed label, an output).
first=$(kb_ok POST "/apis/argoproj.io/v1alpha1/namespaces/$ns/workflows" \
  '{"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow","metadata":{"generateName":"build-"},
    "spec":{"entrypoint":"main","templates":[{"name":"main","container":{"image":"alpine"}}]}}' | jq -r .metadata.name)
running=$(kb_ok PATCH "/apis/argoproj.io/v1alpha1/namespaces/$ns/workflows/$first" \
  '{"metadata":{"labels":{"workflows.argoproj.io/phase":"Running"}},"status":{"phase":"Running"}}' \
  application/merge-patch+json)
kb_ok PATCH "/apis/argoproj.io/v1alpha1/namespaces/$ns/workflows/$first" \
  '{"metadata":{"labels":{"workflows.argoproj.io/phase":"Succeeded","workflows.argoproj.io/completed":"true"}},
    "status":{"phase":"Succeeded","outputs":{"parameters":[{"name":"image","value":"registry/app:1.2.3"}]}}}' \
  application/merge-patch+json >/dev/null
done_wf=$(kb_ok GET "/apis/argoproj.io/v1alpha1/namespaces/$ns/workflows/$first")

# event ID SUBJECT TYPE BODY OLDBODY: the resource event source's CloudEvent for a Workflow.
event() {
  local data
  data=$(jq -cn --arg type "$3" --argjson body "$4" --argjson old "$5" \
    '{type: $type, body: $body, oldBody: $old, group: "argoproj.io", version: "v1alpha1", resource: "workflows"}')
  pl_event "$1" "$2" "$data" workflows
}

cat >"$KS_TMP/sensors/next.yaml" <<YAML
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata:
  name: next-on-update
  namespace: $ns
spec:
  dependencies:
    - name: finished
      eventSourceName: workflows
      eventName: updates
      filters:
        data:
          - path: body.status.phase
            type: string
            value: [Succeeded]
        exprs:
          - expr: old != "Succeeded"
            fields:
              - name: old
                path: oldBody.status.phase
  triggers:
    - template:
        name: deploy
        argoWorkflow:
          operation: submit
          source:
            resource:
              apiVersion: argoproj.io/v1alpha1
              kind: Workflow
              metadata:
                generateName: deploy-
              spec:
                entrypoint: main
                arguments:
                  parameters:
                    - name: from
                      value: ""
                    - name: image
                      value: ""
                templates:
                  - name: main
                    container:
                      image: alpine
          parameters:
            - src:
                dependencyName: finished
                dataKey: body.metadata.name
              dest: spec.arguments.parameters.0.value
            - src:
                dependencyName: finished
                dataKey: body.status.outputs.parameters.0.value
              dest: spec.arguments.parameters.1.value
---
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata:
  name: next-on-add
  namespace: $ns
spec:
  dependencies:
    - name: finished
      eventSourceName: workflows
      eventName: completed
      filters:
        data:
          - path: type
            type: string
            value: [ADD]
          - path: body.status.phase
            type: string
            value: [Succeeded]
  triggers:
    - template:
        name: report
        k8s:
          operation: create
          source:
            resource:
              apiVersion: argoproj.io/v1alpha1
              kind: Workflow
              metadata:
                generateName: report-
              spec:
                entrypoint: main
                arguments:
                  parameters:
                    - name: from
                templates:
                  - name: main
                    container:
                      image: alpine
          parameters:
            - src:
                dependencyName: finished
                dataKey: body.metadata.name
              dest: spec.arguments.parameters.0.value
YAML

{
  event u-running updates UPDATE "$running" "$running"       # still Running: no firing
  event u-done updates UPDATE "$done_wf" "$running"
  event a-done completed ADD "$done_wf" null
} >"$KS_TMP/round1.tsv"

kb_config "$KS_TMP/ksensord.yaml" "$pool" k8shost "$KS_TMP/data" "$KS_TMP/sensors/*.yaml"
pl_topic "$pool-events" 1
pl_produce "$pool-events" "$KS_TMP/round1.tsv"
pl_start_fresh pid "$KS_TMP/worker.log" "$KS_TMP/ksensord.yaml"

wait_workflows() {   # SELECTOR N: exactly N Workflows carry the label selector, within 60 s
  local deadline=$((SECONDS + 60)) n
  while :; do
    n=$(kb_list "$ns" workflows "$1" | wc -l)
    ((n >= $2)) && break
    ((SECONDS < deadline)) || pl_fail "$n Workflows with $1 after 60 s, expected $2"
    sleep 0.3
  done
}
wait_workflows events.argoproj.io/sensor=next-on-update 1
wait_workflows events.argoproj.io/sensor=next-on-add 1
pl_wait_drained "$pool" 30

check_one() {   # SENSOR TRIGGER PREFIX: the one Workflow of SENSOR, checked field by field
  local names name wf
  names=$(kb_list "$ns" workflows "events.argoproj.io/sensor=$1")
  [[ $(wc -l <<<"$names") == 1 ]] || pl_fail "$1: expected one Workflow, got: $names"
  name=$names
  [[ $name == "$3"?????????? ]] || pl_fail "$1: name $name is not $3 and ten characters"
  wf=$(kb_ok GET "/apis/argoproj.io/v1alpha1/namespaces/$ns/workflows/$name")
  [[ $(jq -r '.metadata.labels["events.argoproj.io/trigger"]' <<<"$wf") == "$2" ]] || pl_fail "$1: trigger label"
  [[ $(jq -r '.metadata.labels["events.argoproj.io/action-timestamp"]' <<<"$wf") =~ ^[0-9]{13}$ ]] ||
    pl_fail "$1: action-timestamp label"
  [[ $(jq -r '.metadata.annotations["ksensor.io/firing"]' <<<"$wf") == "$1/$2@$pool-"* ]] ||
    pl_fail "$1: firing annotation: $(jq -c .metadata.annotations <<<"$wf")"
  [[ $(jq -r '.spec.arguments.parameters[0].value' <<<"$wf") == "$first" ]] || pl_fail "$1: parameter from"
  printf '%s\n' "$wf"
}
wf=$(check_one next-on-update deploy deploy-)
[[ $(jq -r '.spec.arguments.parameters[1].value' <<<"$wf") == registry/app:1.2.3 ]] || pl_fail "parameter image"
[[ $(jq -r '.spec.templates[0].container.image' <<<"$wf") == alpine ]] || pl_fail "spec not kept"
deploy_uid=$(jq -r .metadata.uid <<<"$wf")
check_one next-on-add report report- >/dev/null
[[ $(kb_list "$ns" workflows | wc -l) == 3 ]] || pl_fail "expected 3 Workflows in $ns: $(kb_list "$ns" workflows)"
pl_say "one Workflow per sensor, parameters, labels and firing annotation as expected"

# The ledger: done, with what was made.
result=$(kb_last "$KS_TMP/ksensord.yaml" deploy result)
[[ $result == "created Workflow $ns/deploy-"*" uid $deploy_uid" ]] || {
  "$KS_BUILD/ksensorctl" ledger -c "$KS_TMP/ksensord.yaml" >&2 || true
  pl_fail "ledger result: '$result'"
}

# The same events once more: two new firings, two more Workflows.
{ event u-done-2 updates UPDATE "$done_wf" "$running"; event a-done-2 completed ADD "$done_wf" null; } >"$KS_TMP/round2.tsv"
pl_produce "$pool-events" "$KS_TMP/round2.tsv"
wait_workflows events.argoproj.io/sensor=next-on-update 2
wait_workflows events.argoproj.io/sensor=next-on-add 2
pl_wait_drained "$pool" 30
[[ $(kb_list "$ns" workflows | wc -l) == 5 ]] || pl_fail "expected 5 Workflows in $ns"
pl_stop "$pid"
! grep -q 'AlreadyExists' "$KS_TMP/worker.log" || pl_fail "an AlreadyExists in the log"
pl_say "second round: one more Workflow per sensor"
