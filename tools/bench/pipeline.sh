#!/usr/bin/env bash
# pipeline.sh — drain throughput of the whole pipeline (one worker, log actions) next to the raw
# transactional pipe (bench_pipe) on the same broker in the same run. Each event makes one
# trigger-topic record and one firing (a trigger "a && a"), so both move every event over two hops
# and consume three topics. Prints a Markdown table with the median of RUNS runs.
#   pipeline.sh BUILD_DIR [EVENTS] [RUNS]
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$1; events=${2:-50000}; runs=${3:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/ksensor-bench.XXXXXX")
trap '"$top/tools/kafka-local/kafka-local" stop --dir "$work/kafka" >/dev/null 2>&1; pkill -f "$work" 2>/dev/null; rm -rf "$work"' EXIT
bootstrap=$("$top/tools/kafka-local/kafka-local" start --port 0 --dir "$work/kafka" 2>/dev/null | tail -n 1)

cat >"$work/sensor.yaml" <<'YAML'
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {name: bench}
spec:
  dependencies: [{name: a, eventSourceName: bench, eventName: x}]
  triggers: [{template: {name: t, conditions: "a && a", log: {intervalSeconds: 3600}}}]
YAML
"$build/kstool" create-topic "$bootstrap" events 1
awk -v n="$events" 'BEGIN { for (i = 0; i < n; i++)
  printf "bench.x\t{\"specversion\":\"1.0\",\"id\":\"%032d\",\"source\":\"bench\",\"type\":\"webhook\",\"subject\":\"x\",\"datacontenttype\":\"application/json\",\"time\":\"2026-01-01T12:00:00Z\",\"data\":{\"order\":{\"id\":%d,\"amount\":12.5,\"currency\":\"EUR\",\"customer\":\"c-1\",\"items\":[\"cup\",\"tea\"]},\"status\":\"paid\",\"note\":\"benchmark event\"}}\n", i, i }' \
  | kcat -b "$bootstrap" -P -t events -K '\t'

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
pipe=(); ks=()
for r in $(seq "$runs"); do
  pipe+=("$("$build/bench/bench_pipe" "$bootstrap" events "pipe$r" "$events" 1000 100)")
  cat >"$work/ks$r.yaml" <<YAML
eventbus: {brokers: "$bootstrap", topic: events, partitions: 1, replicationFactor: 1}
pool: ks$r
instance: bench
dataDir: $work/data$r
sensors: $work/sensor.yaml
log: {level: warning}
YAML
  start=$(date +%s.%N)
  "$build/ksensord" -f -w 0 -c "$work/ks$r.yaml" 2>"$work/ks$r.log" &
  pid=$!
  db=$work/data$r/ks$r-action-0.db
  until [[ -f $db ]] && [[ $(sqlite3 "$db" 'select count(*) from ledger' 2>/dev/null || echo 0) -ge $events ]]; do
    sleep 0.2
    kill -0 $pid 2>/dev/null || { cat "$work/ks$r.log"; exit 1; }
  done
  end=$(date +%s.%N)
  kill -TERM $pid; wait $pid || true
  ks+=("$(awk -v n="$events" -v s="$start" -v e="$end" 'BEGIN { printf "%.0f", n / (e - s) }')")
done
p=$(printf '%s\n' "${pipe[@]}" | median); k=$(printf '%s\n' "${ks[@]}" | median)
echo "Pipeline, $events events drained, one worker, median of $runs runs (pipe: ${pipe[*]}; ksensor: ${ks[*]})"
echo
echo "| pipeline | events/s | ratio |"
echo "|---|---:|---:|"
echo "| raw transactional pipe, two hops, no logic | $p | 1.00 |"
echo "| ksensor: event → trigger → action stage, log action | $k | $(awk -v a="$k" -v b="$p" 'BEGIN { printf "%.2f", a / b }') |"
