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
