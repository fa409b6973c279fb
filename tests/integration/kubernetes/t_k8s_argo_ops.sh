#!/usr/bin/env bash
# The argoWorkflow trigger's operations as plain object changes, on the real broker and a real API
# server (Argo Workflows' CRDs, no controller), one event at a time:
#   - submit with args (--entrypoint, -p, -l, --serviceaccount): the Workflow as the flags make it;
#   - submit-from a WorkflowTemplate and from a CronWorkflow: Argo's conversions (workflowTemplateRef
#     and labels; the cron's workflowSpec, metadata, scheduled-time and owner reference);
#   - resubmit: a copy with generateName and the resubmitted-from label, without the old status;
#   - suspend, resume, terminate, stop: the Workflow's spec patched; terminate of a Succeeded one
#     fails with Argo's check, the object untouched.
set -euo pipefail
. "$KS_TOP/tests/integration/lib/pipeline.sh"
. "$KS_TOP/tests/integration/lib/kube.sh"

ns=$(kb_namespace)
pool=k8sargo-$RANDOM
api=/apis/argoproj.io/v1alpha1/namespaces/$ns
mkdir -p "$KS_TMP/sensors"

kb_ok POST "$api/workflowtemplates" '{"apiVersion":"argoproj.io/v1alpha1","kind":"WorkflowTemplate",
  "metadata":{"name":"tmpl"},"spec":{"entrypoint":"main"}}' >/dev/null
kb_ok POST "$api/cronworkflows" '{"apiVersion":"argoproj.io/v1alpha1","kind":"CronWorkflow","metadata":{"name":"nightly"},
  "spec":{"schedule":"0 1 * * *","workflowSpec":{"entrypoint":"night"},"workflowMetadata":{"labels":{"team":"a"}}}}' >/dev/null
kb_ok POST "$api/workflows" '{"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow","metadata":{"name":"old",
  "labels":{"workflows.argoproj.io/completed":"true","team":"b"}},"spec":{"entrypoint":"main"},
  "status":{"phase":"Failed"}}' >/dev/null
kb_ok POST "$api/workflows" '{"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow","metadata":{"name":"live"},
  "spec":{"entrypoint":"main"},"status":{"phase":"Running"}}' >/dev/null
kb_ok POST "$api/workflows" '{"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow","metadata":{"name":"finished"},
  "spec":{"entrypoint":"main"},"status":{"phase":"Succeeded"}}' >/dev/null

# trigger NAME OPERATION KIND OBJECT_NAME [ARGS]: an argoWorkflow trigger on event NAME
trigger() {
  local naming="generateName: sub-"
  [[ -z $4 ]] || naming="name: $4"
  cat <<YAML
    - template:
        name: $1
        conditions: $1
        argoWorkflow:
          operation: $2
          ${5:+args: $5}
          source:
            resource:
              apiVersion: argoproj.io/v1alpha1
              kind: $3
              metadata:
                $naming
              spec:
                entrypoint: main
YAML
}
{
  cat <<YAML
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata:
  name: argo
  namespace: $ns
spec:
  dependencies:
YAML
  for e in submit fromtmpl fromcron resubmit suspend resume terminate stop refused; do
    printf '    - name: %s\n      eventSourceName: demo\n      eventName: %s\n' "$e" "$e"
  done
  echo "  triggers:"
  trigger submit submit Workflow "" '["--entrypoint", "other", "-p", "msg=hi", "-l", "team=c", "--serviceaccount=runner"]'
  trigger fromtmpl submit-from WorkflowTemplate tmpl
  trigger fromcron submit-from CronWorkflow nightly
  trigger resubmit resubmit Workflow old
  trigger suspend suspend Workflow live
  trigger resume resume Workflow live
  trigger terminate terminate Workflow live
  trigger stop stop Workflow finished
} >"$KS_TMP/sensors/argo.yaml"
sed -i '/^ *$/d' "$KS_TMP/sensors/argo.yaml"

kb_config "$KS_TMP/ksensord.yaml" "$pool" argohost "$KS_TMP/data" "$KS_TMP/sensors/*.yaml"
"$KS_BUILD/ksensord" -t -c "$KS_TMP/ksensord.yaml" >/dev/null || pl_fail "the sensor does not load"
pl_topic "$pool-events" 1
pl_start_fresh pid "$KS_TMP/worker.log" "$KS_TMP/ksensord.yaml"

ledger() { kb_last "$KS_TMP/ksensord.yaml" "$@"; }     # TRIGGER FIELD
fire() {
  pl_event "$1-1" "$1" >"$KS_TMP/e.tsv"
  pl_produce "$pool-events" "$KS_TMP/e.tsv"
  pl_until 60 "the $1 firing to end" kb_over "$KS_TMP/ksensord.yaml" 1 "$1"
}
made() {   # TRIGGER: the object its ledger result names
  local name
  [[ $(ledger "$1" status) == done ]] || pl_fail "$1: $(ledger "$1" status) $(ledger "$1" last_error)"
  name=$(ledger "$1" result | sed -n 's|.* Workflow [^/]*/\([^ ]*\).*|\1|p')
  kb_ok GET "$api/workflows/$name"
}

fire submit
wf=$(made submit)
[[ $(jq -c '[.spec.entrypoint, .spec.serviceAccountName, .spec.arguments.parameters, .metadata.labels.team]' <<<"$wf") == \
   '["other","runner",[{"name":"msg","value":"hi"}],"c"]' ]] || pl_fail "submit: $(jq -c .spec <<<"$wf")"
fire fromtmpl
wf=$(made fromtmpl)
[[ $(jq -c '[.metadata.name[0:5], .spec.workflowTemplateRef.name, .metadata.labels["workflows.argoproj.io/workflow-template"]]' <<<"$wf") == \
   '["tmpl-","tmpl","tmpl"]' ]] || pl_fail "submit-from template: $(jq -c . <<<"$wf")"
fire fromcron
wf=$(made fromcron)
[[ $(jq -c '[.spec.entrypoint, .metadata.labels.team, .metadata.labels["workflows.argoproj.io/cron-workflow"], .metadata.ownerReferences[0].kind]' <<<"$wf") == \
   '["night","a","nightly","CronWorkflow"]' ]] || pl_fail "submit-from cron: $(jq -c . <<<"$wf")"
[[ $(jq -r '.metadata.annotations["workflows.argoproj.io/scheduled-time"]' <<<"$wf") =~ ^20[0-9-]+T ]] || pl_fail "scheduled-time"
fire resubmit
wf=$(made resubmit)
[[ $(jq -c '[.metadata.name[0:4], .metadata.labels.team, .metadata.labels["workflows.argoproj.io/resubmitted-from-workflow"], .metadata.labels["workflows.argoproj.io/completed"], .status]' <<<"$wf") == \
   '["old-","b","old",null,null]' ]] || pl_fail "resubmit: $(jq -c . <<<"$wf")"
pl_say "submit with args, submit-from a template and a cron workflow, resubmit"

fire suspend
[[ $(kb_ok GET "$api/workflows/live" | jq -c .spec.suspend) == true ]] || pl_fail "suspend"
fire resume
[[ $(kb_ok GET "$api/workflows/live" | jq -c .spec.suspend) == null ]] || pl_fail "resume"
fire terminate
[[ $(kb_ok GET "$api/workflows/live" | jq -r .spec.shutdown) == Terminate ]] || pl_fail "terminate"
fire stop
[[ $(ledger stop status) == failed && $(ledger stop last_error) == *"phase Succeeded"* ]] || pl_fail "stop of a finished one: $(ledger stop last_error)"
[[ $(kb_ok GET "$api/workflows/finished" | jq -r '.spec.shutdown // "none"') == none ]] || pl_fail "stop changed a finished Workflow"
pl_stop "$pid"
pl_say "suspend, resume, terminate; stop of a finished Workflow refused as Argo refuses it"
