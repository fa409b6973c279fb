#!/usr/bin/env bash
# k8s.sh — Workflows created per second through one worker (ksensord -w 0) with k8s triggers, next to
# a plain libcurl loop (bench_kube) creating the same Workflows on the same API server with as many
# requests in flight as there are triggers (a trigger's creates are one after the other), creating
# Workflows of the same shape (bench_kube.c). An API server of its own (tools/kube-local; built from
# Go modules the first time), warmed up by a loop before anything is measured. After one warm-up
# firing, from the first event produced to the last firing done in the ledger; the loop goes first
# in odd runs and last in even ones (the server slows as etcd fills). Prints a Markdown row per
# configuration, medians of RUNS runs.
#   k8s.sh BUILD_DIR BOOTSTRAP [RUNS] [TRIGGERS:WORKFLOWS ...]
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$1; bootstrap=$2; runs=${3:-3}; shift $(($# >= 3 ? 3 : $#))
configs=("$@")
((${#configs[@]} > 0)) || configs=(1:1000 8:3000)
kube=$top/tools/kube-local/kube-local
if ! command -v go >/dev/null && ! "$kube" build >/dev/null 2>&1; then
  echo "(skipped: go is not installed, and tools/kube-local needs it to build kube-apiserver)"
  exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/ksensor-bench-k8s.XXXXXX")
cleanup() {
  "$kube" stop --dir "$work/kube" >/dev/null 2>&1 || true
  pkill -f "$work" 2>/dev/null || true      # (nothing left to kill is the usual case)
  [[ -n ${KEEP:-} ]] || rm -rf "$work"
}
trap cleanup EXIT
"$kube" build >/dev/null
"$kube" start --dir "$work/kube" >/dev/null
"$kube" crd --dir "$work/kube"
server=$(cat "$work/kube/server")
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
namespace() {
  curl -sf --cacert "$work/kube/ca.crt" -H "Authorization: Bearer $(cat "$work/kube/token")" \
    -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"Namespace","metadata":{"generateName":"b-"}}' \
    "$server/api/v1/namespaces" | jq -r .metadata.name
}

# A fresh API server is slow on its first Workflows (caches, the CRD's schema): warm it up with a
# loop of its own in a namespace of its own before anything is measured.
"$build/bench/bench_kube" "$server" "$work/kube/token" "$work/kube/ca.crt" "$(namespace)" 500 8 >/dev/null

echo "| triggers | Workflows | ksensord creates/s | libcurl loop creates/s | ratio (median of $runs) |"
echo "|---:|---:|---:|---:|---:|"
n=0
for cfg in "${configs[@]}"; do
  IFS=: read -r triggers count <<<"$cfg"
  ours=() theirs=()
  for r in $(seq "$runs"); do
    n=$((n + 1)); dir=$work/run$n
    ns=$(namespace)
    # the API server slows as etcd fills: the loop goes first in odd runs, last in even ones
    loop() { theirs+=("$("$build/bench/bench_kube" "$server" "$work/kube/token" "$work/kube/ca.crt" "$ns" "$count" "$triggers")"); }
    ((r % 2 == 0)) || loop
    mkdir -p "$dir/sensors"
    for k in $(seq "$triggers"); do
      cat >"$dir/sensors/s$k.yaml" <<YAML
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {name: s$k, namespace: $ns}
spec:
  dependencies: [{name: d, eventSourceName: bench, eventName: e$k}]
  triggers:
    - template:
        name: create
        k8s:
          source:
            resource:
              apiVersion: argoproj.io/v1alpha1
              kind: Workflow
              metadata: {generateName: run-}
              spec: {entrypoint: main}
YAML
    done
    cat >"$dir/ks.yaml" <<YAML
eventbus: {brokers: "$bootstrap", topic: k8sevents$n, partitions: 1, replicationFactor: 1}
pool: k8sbench$n
instance: bench
dataDir: $dir/data
sensors: $dir/sensors/*.yaml
kubernetes: {kubeconfig: "$work/kube/kubeconfig"}
log: {level: notice}
YAML
    "$build/kstool" create-topic "$bootstrap" "k8sevents$n" 1 >/dev/null
    "$build/ksensord" -f -w 0 -c "$dir/ks.yaml" 2>"$dir/ks.log" &
    pid=$!
    # A warm-up firing first: the group's assignment, the transactional producer and discovery are
    # not part of the figure. (sqlite3 on the ledger file: the cheapest poll, so that the machine's
    # two cores go to the run. Only once the worker has created it: sqlite3 would create it.)
    ledger=$dir/data/k8sbench$n-action-0.db
    done_at_least() {
      until [[ -f $ledger ]] && (($(sqlite3 "$ledger" "SELECT count(*) FROM ledger WHERE status = 'done'" 2>/dev/null ||
                echo 0) >= $1)); do
        kill -0 "$pid" 2>/dev/null || { echo "k8s.sh: ksensord died; see $dir/ks.log" >&2; exit 1; }
        sleep 0.1
      done
    }
    printf 'bench.e1\t{"specversion":"1.0","id":"warm","source":"bench","type":"t","subject":"e1","data":{}}\n' |
      kcat -b "$bootstrap" -P -t "k8sevents$n" -K '\t'
    done_at_least 1
    start=$(date +%s.%N)
    awk -v n="$count" -v k="$triggers" 'BEGIN { for (i = 1; i <= n; i++) { e = (i % k) + 1;
      printf "bench.e%d\t{\"specversion\":\"1.0\",\"id\":\"x%d\",\"source\":\"bench\",\"type\":\"t\",\"subject\":\"e%d\",\"data\":{}}\n", e, i, e } }' \
      | kcat -b "$bootstrap" -P -t "k8sevents$n" -K '\t'
    done_at_least $((count + 1))
    ours+=("$(echo "$count / ($(date +%s.%N) - $start)" | bc)")
    kill -TERM "$pid"; wait "$pid" || true
    ((r % 2 == 1)) || loop
  done
  o=$(printf '%s\n' "${ours[@]}" | median) t=$(printf '%s\n' "${theirs[@]}" | median)
  echo "| $triggers | $count | $o | $t | $(echo "scale=2; $o / $t" | bc) |"
done
