#!/usr/bin/env bash
# http.sh — http actions per second through one worker (ksensord -w 0): TRIGGERS sensors, each an
# http trigger firing on its own event type, FIRINGS events spread over them, against a local
# keep-alive receiver (tests/tools/kshttpd) on the same machine; from the first event produced to the
# last request received. A trigger's calls are one after the other, so the figure grows with the
# number of triggers. Prints a Markdown row per configuration with the median of RUNS runs.
# KS_BENCH_BOOTSTRAP=host:port uses a running broker instead of starting a fresh one.
#   http.sh BUILD_DIR [RUNS] [TRIGGERS:FIRINGS:PARTITIONS ...]
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$1; runs=${2:-3}; shift $(($# >= 2 ? 2 : $#))
configs=("$@")
((${#configs[@]} > 0)) || configs=(1:500:1 50:5000:1 200:10000:4)
work=$(mktemp -d "${TMPDIR:-/tmp}/ksensor-bench-http.XXXXXX")
trap '"$top/tools/kafka-local/kafka-local" stop --dir "$work/kafka" >/dev/null 2>&1; pkill -f "$work" 2>/dev/null; [[ -n ${KEEP:-} ]] || rm -rf "$work"' EXIT
bootstrap=${KS_BENCH_BOOTSTRAP:-$("$top/tools/kafka-local/kafka-local" start --port 0 --dir "$work/kafka" 2>/dev/null | tail -n 1)}
: >"$work/requests.jsonl"
"$build/kshttpd" "$work/http.port" "$work/requests.jsonl" &
until [[ -s $work/http.port ]]; do sleep 0.05; done
port=$(cat "$work/http.port")
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "| triggers | firings | action partitions | http calls/s (median of $runs) |"
echo "|---:|---:|---:|---:|"
n=0
for cfg in "${configs[@]}"; do
  IFS=: read -r triggers firings parts <<<"$cfg"
  rates=()
  for r in $(seq "$runs"); do
    n=$((n + 1)); dir=$work/run$n
    mkdir -p "$dir/sensors"
    for k in $(seq "$triggers"); do
      printf 'apiVersion: argoproj.io/v1alpha1\nkind: Sensor\nmetadata: {name: s%d}\nspec:\n  dependencies: [{name: d, eventSourceName: bench, eventName: e%d}]\n  triggers: [{template: {name: call, http: {url: "http://127.0.0.1:%d/ok"}}}]\n' \
        "$k" "$k" "$port" >"$dir/sensors/s$k.yaml"
    done
    cat >"$dir/ks.yaml" <<YAML
eventbus: {brokers: "$bootstrap", topic: events$n, partitions: $parts, replicationFactor: 1}
pool: http$n
instance: bench
dataDir: $dir/data
sensors: $dir/sensors/*.yaml
log: {level: info}
YAML
    "$build/kstool" create-topic "$bootstrap" "events$n" 1 >/dev/null
    "$build/ksensord" -f -w 0 -c "$dir/ks.yaml" 2>"$dir/ks.log" &
    pid=$!
    until grep -q 'assigned' "$dir/ks.log" 2>/dev/null || ! kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    before=$(wc -l <"$work/requests.jsonl")
    start=$(date +%s.%N)
    awk -v n="$firings" -v k="$triggers" 'BEGIN { for (i = 1; i <= n; i++) { e = (i % k) + 1;
      printf "bench.e%d\t{\"specversion\":\"1.0\",\"id\":\"x%d\",\"source\":\"bench\",\"type\":\"t\",\"subject\":\"e%d\",\"data\":{\"i\":%d}}\n", e, i, e, i } }' \
      | kcat -b "$bootstrap" -P -t "events$n" -K '\t'
    until (($(wc -l <"$work/requests.jsonl") - before >= firings)); do
      kill -0 "$pid" 2>/dev/null || { echo "http.sh: ksensord died; see $dir/ks.log" >&2; exit 1; }
      sleep 0.05
    done
    rates+=("$(echo "$firings / ($(date +%s.%N) - $start)" | bc)")
    kill -TERM "$pid"; wait "$pid" || true
  done
  echo "| $triggers | $firings | $parts | $(printf '%s\n' "${rates[@]}" | median) |"
done
