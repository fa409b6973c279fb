#!/usr/bin/env bash
# The shipped example and RBAC, as an operator would apply them: etc/k8s/rbac.yaml applied to the
# API server, a token issued for its ServiceAccount (TokenRequest), and ksensord running
# etc/sensors/workflow-chain.yaml with only that token. A finished Workflow's event makes the
# example submit "deploy" in namespace argo: the Role allows it. The same account may not create
# Workflows in another namespace (403): the RBAC is as narrow as it says.
set -euo pipefail
. "$KS_TOP/tests/integration/lib/pipeline.sh"
. "$KS_TOP/tests/integration/lib/kube.sh"

for ns in argo default; do
  kb_call POST /api/v1/namespaces "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$ns\"}}"
  [[ $KB_STATUS == 201 || $KB_STATUS == 409 ]] || pl_fail "namespace $ns: HTTP $KB_STATUS"
done
# apply rbac.yaml, one document at a time
awk -v d="$KS_TMP" 'BEGIN { n = 0 } /^---/ { n++; next } { print > (d "/rbac-" n ".yaml") }' "$KS_TOP/etc/k8s/rbac.yaml"
for doc in "$KS_TMP"/rbac-*.yaml; do
  kind=$(sed -n 's/^kind: //p' "$doc")
  ns=$(sed -n 's/^  namespace: //p' "$doc" | head -1)
  case $kind in
    ServiceAccount) path=/api/v1/namespaces/$ns/serviceaccounts ;;
    Role) path=/apis/rbac.authorization.k8s.io/v1/namespaces/$ns/roles ;;
    RoleBinding) path=/apis/rbac.authorization.k8s.io/v1/namespaces/$ns/rolebindings ;;
    *) pl_fail "rbac.yaml: unexpected kind $kind" ;;
  esac
  kb_call POST "$path" "$(cat "$doc")" application/yaml
  [[ $KB_STATUS == 201 || $KB_STATUS == 409 ]] || pl_fail "rbac.yaml $kind: HTTP $KB_STATUS: $(cat "$KS_TMP/kb.out")"
done
kb_ok POST /api/v1/namespaces/default/serviceaccounts/ksensor/token \
  '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":3600}}' |
  jq -r .status.token >"$KS_TMP/sa.token"
kb_kubeconfig "$KS_TMP/sa.kubeconfig" "$KS_TMP/sa.token"

# a WorkflowTemplate "deploy" is not needed to create the Workflow (no controller runs here)
first=$(kb_ok POST /apis/argoproj.io/v1alpha1/namespaces/argo/workflows \
  '{"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow","metadata":{"generateName":"build-"},"spec":{"entrypoint":"main"},
    "status":{"phase":"Running"}}')
name=$(jq -r .metadata.name <<<"$first")
done_wf=$(jq -c '.status = {phase: "Succeeded", outputs: {parameters: [{name: "image", value: "app:7"}]}}' <<<"$first")
data=$(jq -cn --argjson body "$done_wf" --argjson old "$first" '{type: "UPDATE", body: $body, oldBody: $old}')

pool=k8sex-$RANDOM
mkdir -p "$KS_TMP/sensors"
cp "$KS_TOP/etc/sensors/workflow-chain.yaml" "$KS_TMP/sensors/"
sed 's/name: workflow-chain/name: elsewhere/; s/namespace: argo/namespace: default/' \
  "$KS_TOP/etc/sensors/workflow-chain.yaml" >"$KS_TMP/sensors/elsewhere.yaml"
kb_config "$KS_TMP/ksensord.yaml" "$pool" exhost "$KS_TMP/data" "$KS_TMP/sensors/*.yaml" "$KS_TMP/sa.kubeconfig"
sed -i 's/steps: 5/steps: 1/' "$KS_TMP/sensors/elsewhere.yaml"
pl_topic "$pool-events" 1
pl_event e1 build "$data" workflows >"$KS_TMP/e.tsv"
pl_produce "$pool-events" "$KS_TMP/e.tsv"
pl_start_fresh pid "$KS_TMP/worker.log" "$KS_TMP/ksensord.yaml"

pl_until 60 "both sensors' firings to end" kb_over "$KS_TMP/ksensord.yaml" 2
pl_stop "$pid"
names=$(kb_list argo workflows events.argoproj.io/sensor=workflow-chain)
[[ $(wc -l <<<"$names") == 1 && $names == deploy-* ]] || pl_fail "argo: $names"
wf=$(kb_ok GET "/apis/argoproj.io/v1alpha1/namespaces/argo/workflows/$names")
[[ $(jq -c '[.spec.arguments.parameters[].value, .spec.workflowTemplateRef.name]' <<<"$wf") == "[\"$name\",\"app:7\",\"deploy\"]" ]] ||
  pl_fail "deploy: $(jq -c .spec <<<"$wf")"
row=$(kb_ledger "$KS_TMP/ksensord.yaml" | jq -c '.[] | select(.sensor == "elsewhere")')
[[ $(jq -r .status <<<"$row") == failed && $(jq -r .last_status <<<"$row") == 403 ]] || pl_fail "elsewhere: $row"
pl_say "etc/sensors/workflow-chain.yaml with etc/k8s/rbac.yaml's account: deploy submitted in argo; 403 in default"
