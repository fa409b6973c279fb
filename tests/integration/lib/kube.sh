# tests/integration/lib/kube.sh — helpers of the tests under tests/integration/kubernetes/: the API
# server that tests/integration/run started (KS_KUBE: server, token, ca.crt, kubeconfig), called
# with curl as its admin. Sourced after pipeline.sh or supervisor.sh.

KB_SERVER=$(cat "$KS_KUBE/server")

# kb_call METHOD PATH [BODY [CONTENT_TYPE]]: the HTTP status in KB_STATUS, the body in $KS_TMP/kb.out.
kb_call() {
  KB_STATUS=$(curl -sS --cacert "$KS_KUBE/ca.crt" -H "Authorization: Bearer $(cat "$KS_KUBE/token")" \
    -X "$1" -o "$KS_TMP/kb.out" -w '%{http_code}' ${3:+-H "Content-Type: ${4:-application/json}" --data-binary "$3"} \
    "$KB_SERVER$2") || KB_STATUS=0
}

# kb_ok METHOD PATH [BODY [CONTENT_TYPE]]: the body on stdout; fails the test unless the status is 2xx.
kb_ok() {
  kb_call "$@"
  [[ $KB_STATUS == 2* ]] || pl_fail "$1 $2: HTTP $KB_STATUS: $(cat "$KS_TMP/kb.out")"
  cat "$KS_TMP/kb.out"
}

# kb_namespace: a new namespace (namespaces are never deleted here: no controller finishes that).
kb_namespace() {
  kb_ok POST /api/v1/namespaces '{"apiVersion":"v1","kind":"Namespace","metadata":{"generateName":"t-"}}' |
    jq -r .metadata.name
}

# kb_list NS PLURAL [SELECTOR]: the names of the namespace's Argo objects (workflows, …) or, for
# configmaps, its ConfigMaps, one per line, sorted.
kb_list() {
  local path
  if [[ $2 == configmaps ]]; then path=/api/v1/namespaces/$1/configmaps; else
    path=/apis/argoproj.io/v1alpha1/namespaces/$1/$2; fi
  kb_ok GET "$path${3:+?labelSelector=$(jq -rn --arg s "$3" '$s|@uri')}" | jq -r '.items[].metadata.name' | sort
}

# kb_kubeconfig FILE TOKEN_FILE [CA_FILE]: a kubeconfig for the test server with another token or CA.
kb_kubeconfig() {
  cat >"$1" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: $KB_SERVER
    certificate-authority: ${3:-$KS_KUBE/ca.crt}
users:
- name: user
  user:
    tokenFile: $2
contexts:
- name: local
  context: {cluster: local, user: user}
current-context: local
YAML
}

# kb_config FILE POOL INSTANCE DATADIR SENSORS_GLOB [KUBECONFIG [TIMEOUT]]: pl_config's worker
# configuration with kubernetes.kubeconfig (default: the suite's admin) and kubernetes.timeout.
kb_config() {
  pl_config "$1" "$2" "$3" "$4" "$5"
  printf 'kubernetes:\n  kubeconfig: "%s"\n' "${6:-$KS_KUBE/kubeconfig}" >>"$1"
  [[ -z ${7:-} ]] || printf '  timeout: %s\n' "$7" >>"$1"
}

# kb_ledger CONFIG: the ledger rows of the worker of CONFIG, one JSON array.
kb_ledger() { "$KS_BUILD/ksensorctl" ledger -c "$1" --json; }

# kb_last CONFIG TRIGGER FIELD: FIELD of TRIGGER's last ledger row ("" when there is none).
kb_last() {
  kb_ledger "$1" | jq -r --arg t "$2" --arg f "$3" '[.[] | select(.trigger == $t)] | last | .[$f] // ""'
}

# kb_over CONFIG N [TRIGGER]: at least N firings (of TRIGGER) are over (not attempting); for pl_until.
kb_over() {
  (($(kb_ledger "$1" | jq --arg t "${3:-}" '[.[] | select(.status != "attempting" and
     ($t == "" or .trigger == $t))] | length') >= $2))
}

# kb_done CONFIG N: at least N firings are done; for pl_until.
kb_done() { (($(kb_ledger "$1" | jq '[.[] | select(.status == "done")] | length') >= $2)); }

# kb_workflow_sensor NAME NAMESPACE EVENT PREFIX [LINE...]: a Sensor whose one k8s trigger, "wf",
# creates a Workflow with generateName PREFIX on EVENT (source demo); LINEs are appended as they
# are (10 spaces: under k8s; 6: under the trigger).
kb_workflow_sensor() {
  cat <<YAML
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {name: $1, namespace: $2}
spec:
  dependencies: [{name: e, eventSourceName: demo, eventName: $3}]
  triggers:
    - template:
        name: wf
        k8s:
          source:
            resource:
              apiVersion: argoproj.io/v1alpha1
              kind: Workflow
              metadata: {generateName: $4}
              spec: {entrypoint: main}
YAML
  local line
  for line in "${@:5}"; do echo "$line"; done
}
