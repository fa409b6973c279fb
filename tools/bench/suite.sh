#!/usr/bin/env bash
# suite.sh — the pipeline benchmark of `make bench` (DESIGN.md §9), on a real local broker, each
# figure next to its baseline measured in the same run:
#   1. drain throughput of a pre-filled event topic (EVENTS events, 4 partitions): the raw
#      transactional pipe (bench_pipe, the practical limit), ksensord hosting example-1 (3 triggers,
#      log actions to a file) and ksensord hosting 1,000 sensors — each with 1 and 2 workers, from
#      the start of the processes until their group has drained the event, trigger and action
#      topics (kstool drained); peak RSS of each worker (VmHWM) on the way;
#   2. event→action latency at a fixed 2,000 events/s: from each event's `time` (loadgen stamps it
#      when producing) to the worker's log line of the action it completed, with the commit rule
#      ksensord ships and the fixed commitInterval tick it had before, next to the raw pipe making
#      the same hops with the shipped rule (bench_pipe -m 5 -l);
#   3. restore: 1,000 sensors each holding one 100 KB event (100 MB of pending state), then a new
#      instance on an empty dataDir, timed until every trigger partition is restored — next to
#      reading the same state topic with kcat.
# Medians of RUNS runs. Prints Markdown; the caller writes it to bench/results.md.
#   suite.sh BUILD_DIR BOOTSTRAP EVENTS RUNS LATENCY_SECONDS
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$1; bs=$2; events=$3; runs=$4; lat_secs=$5
work=$(mktemp -d "${TMPDIR:-/tmp}/ksensor-bench.XXXXXX")
trap 'pkill -f "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
parts=4
rate=2000
commit_ms=100

say() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
drained() { "$build/kstool" drained "$bs" "$1" "$2" "$1-trigger" "$1-action" >/dev/null 2>&1; }
produce() {     # produce TOPIC LOADGEN-ARGS...
  local topic=$1
  shift
  "$build/kstool" create-topic "$bs" "$topic" "$parts" >/dev/null
  "$build/loadgen" -b "$bs" -t "$topic" -S demo "$@" >/dev/null
}

# the sensors: example-1 as shipped, and 1,000 copies of it, each on its own three event types
mkdir -p "$work/one" "$work/many" "$work/held"
cp "$top/etc/sensors/example-1.yaml" "$work/one/"
for k in $(seq 0 999); do
  sed -e "s/^  name: example-1$/  name: s$k/" -e "s/eventName: \(blue\|yellow\|red\)$/eventName: \1$k/" \
    "$top/etc/sensors/example-1.yaml" >"$work/many/s$k.yaml"
  printf '%s\n' 'apiVersion: argoproj.io/v1alpha1' 'kind: Sensor' "metadata: {name: h$k}" 'spec:' \
    "  dependencies: [{name: a, eventSourceName: demo, eventName: held$k}, {name: b, eventSourceName: demo, eventName: never$k}]" \
    '  triggers: [{template: {name: t, conditions: "a && b", log: {}}}]' >"$work/held/h$k.yaml"
done

# config FILE POOL TOPIC SENSORS WORKERS DATADIR
config() {
  cat >"$1" <<YAML
eventbus: {brokers: "$bs", topic: $3, partitions: $parts, replicationFactor: 1}
pool: $2
instance: bench
workers: $5
listen: 127.0.0.1:0
dataDir: $6
sensors: $4/*.yaml
commitInterval: ${commit_ms}ms
log: {level: info, file: $6.log}
YAML
}

# ksensord_start VAR CONFIG: the supervisor's pid in VAR
ksensord_start() {
  local -n __pid=$1
  "$build/ksensord" -f -c "$2" 2>>"$work/ksensord.stderr" &
  __pid=$!
}
workers_of() { pgrep -P "$1" || true; }
ksensord_stop() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# wait_drained GROUP EVENT_TOPIC PID...: polls until drained; fails if a process dies
wait_drained() {
  local group=$1 topic=$2 pid
  shift 2
  until drained "$group" "$topic"; do
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null || { echo "suite.sh: process $pid died (see $work)" >&2; tail -n 20 "$work"/*.log >&2; exit 1; }; done
    sleep 0.2
  done
}

say "filling the event topics: $events events each"
produce ev-one -n "$events" -e blue,yellow,red
produce ev-many -n "$events" -e blue0..blue999,yellow0..yellow999,red0..red999

declare -A tput rss
for w in 1 2; do
  for r in $(seq "$runs"); do
    say "drain, $w worker(s), run $r: pipe"
    pids=()
    t0=$(date +%s.%N)
    for i in $(seq "$w"); do "$build/bench/bench_pipe" "$bs" ev-one "pipe-$w-$r" 1000 "$commit_ms" 2>/dev/null & pids+=($!); done
    wait_drained "pipe-$w-$r" ev-one "${pids[@]}"
    tput[pipe,$w]+="$(awk -v n="$events" -v s="$t0" -v e="$(date +%s.%N)" 'BEGIN { printf "%.0f", n / (e - s) }') "
    kill -TERM "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true
    for kind in one many; do
      say "drain, $w worker(s), run $r: ksensord, $kind"
      pool=ks-$kind-$w-$r
      config "$work/$pool.yaml" "$pool" "ev-$kind" "$work/$kind" "$w" "$work/$pool"
      t0=$(date +%s.%N)
      ksensord_start pid "$work/$pool.yaml"
      wait_drained "$pool" "ev-$kind" "$pid"
      tput[$kind,$w]+="$(awk -v n="$events" -v s="$t0" -v e="$(date +%s.%N)" 'BEGIN { printf "%.0f", n / (e - s) }') "
      peak=0
      for wp in $(workers_of "$pid"); do
        kb=$(awk '/^VmHWM/ { print $2 }' "/proc/$wp/status")
        ((kb > peak)) && peak=$kb
      done
      rss[$kind,$w]+="$((peak / 1024)) "
      ksensord_stop "$pid"
      rm -rf "$work/$pool" "$work/$pool.log"
    done
  done
done

echo "### Drain: $events events pre-filled ($parts partitions), median of $runs runs"
echo
echo "| pipeline | workers | events/s | ratio to the pipe | peak RSS per worker |"
echo "|---|---:|---:|---:|---:|"
for w in 1 2; do
  p=$(tr ' ' '\n' <<<"${tput[pipe,$w]}" | grep . | median)
  echo "| raw transactional pipe (bench_pipe), no logic | $w | $p | 1.00 | – |"
  for kind in one many; do
    k=$(tr ' ' '\n' <<<"${tput[$kind,$w]}" | grep . | median)
    m=$(tr ' ' '\n' <<<"${rss[$kind,$w]}" | grep . | median)
    name=$([[ $kind == one ]] && echo "ksensord, example-1 (3 triggers), log actions" || echo "ksensord, 1,000 sensors (3,000 triggers)")
    echo "| $name | $w | $k | $(ratio "$k" "$p") | $m MiB |"
    eval "k_$kind$w=$k"
  done
  eval "p$w=$p"
done
echo
echo "Runs (events/s): pipe ${tput[pipe,1]}/ ${tput[pipe,2]}; example-1 ${tput[one,1]}/ ${tput[one,2]}; 1,000 sensors ${tput[many,1]}/ ${tput[many,2]}(1 / 2 workers)."
echo

# latency at a fixed rate: example-1, from the event's time to the action's log line; the commit
# rule ksensord ships (a drained batch commits once commitMinInterval old) next to the rule before
# it (every commitInterval: commitMinInterval set to it), and the raw pipe making the same three
# hops as example-1's `&&` triggers with the shipped rule (bench_pipe -m: from the event record's
# timestamp to the commit of the batch that consumed its action record)
# percentiles FILE NAME WORKERS TARGET: a table row from a file of milliseconds
percentiles() {
  sort -n "$1" | awk -v w="$3" -v name="$2" -v t="$4" '{ v[NR] = $1 }
    END { p50 = v[int(NR * 0.50 + 0.5)]; p99 = v[int(NR * 0.99 + 0.5)];
          printf "| %s | %d | %d | %.0f ms | %.0f ms | %s |\n", name, w, NR, p50, p99, t }'
}
echo "### Latency at $rate events/s for $lat_secs s, example-1, commitInterval ${commit_ms} ms"
echo
echo "| commit rule | workers | actions | p50 | p99 | target |"
echo "|---|---:|---:|---:|---:|---:|"
for rule in pipe drained interval; do
  for w in 1 2; do
    say "latency, $rule, $w worker(s)"
    pool=lat-$rule-$w
    "$build/kstool" create-topic "$bs" "ev-$pool" "$parts" >/dev/null
    if [[ $rule == pipe ]]; then
      pids=()
      for i in $(seq "$w"); do
        "$build/bench/bench_pipe" -m 5 -l "$work/$pool.ms.$i" "$bs" "ev-$pool" "$pool" 1000 "$commit_ms" \
          2>"$work/$pool.err.$i" & pids+=($!)
      done
      for i in $(seq "$w"); do
        until grep -q 'assigned' "$work/$pool.err.$i"; do
          kill -0 "${pids[$((i - 1))]}" || { echo "suite.sh: bench_pipe died" >&2; exit 1; }
          sleep 0.1
        done
      done
      "$build/loadgen" -b "$bs" -t "ev-$pool" -S demo -e blue,yellow,red -r "$rate" -n $((rate * lat_secs)) >/dev/null
      wait_drained "$pool" "ev-$pool" "${pids[@]}"
      kill -TERM "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true
      cat "$work/$pool".ms.* >"$work/$pool.ms"
      percentiles "$work/$pool.ms" "raw pipe (bench_pipe), 3 hops, when drained, ≥ 5 ms old" "$w" "–"
      continue
    fi
    config "$work/$pool.yaml" "$pool" "ev-$pool" "$work/one" "$w" "$work/$pool"
    [[ $rule == drained ]] || cat >>"$work/$pool.yaml" <<YAML
commitMinInterval: ${commit_ms}ms
YAML
    ksensord_start pid "$work/$pool.yaml"
    until [[ -s $work/$pool/http-listener ]] && curl -sf "http://$(cat "$work/$pool/http-listener")/readyz" >/dev/null; do
      kill -0 "$pid" || { echo "suite.sh: ksensord died" >&2; exit 1; }
      sleep 0.1
    done
    "$build/loadgen" -b "$bs" -t "ev-$pool" -S demo -e blue,yellow,red -r "$rate" -n $((rate * lat_secs)) >/dev/null
    wait_drained "$pool" "ev-$pool" "$pid"
    ksensord_stop "$pid"
    # "2026-…T07:00:00.123Z notice worker/0[…]: action log: {…}" → the line's time − the latest event time
    sed -n 's/^\([^ ]*\) .*action log: /\1 /p' "$work/$pool.log" | jq -R -r '
      def ms: ((sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) * 1000)
              + (((capture("\\.(?<f>[0-9]+)Z$").f) // "0") | ("0." + .) | tonumber * 1000);
      index(" ") as $i | (.[0:$i] | ms) - (.[$i + 1:] | fromjson | [.events[].time | ms] | max)' >"$work/$pool.ms"
    name=$([[ $rule == drained ]] && echo "when drained, ≥ 5 ms old (ksensord)" || echo "every ${commit_ms} ms (ksensord before)")
    target=$([[ $rule == drained ]] && echo "p50 ≤ 40, p99 ≤ 120 ms" || echo "–")
    percentiles "$work/$pool.ms" "$name" "$w" "$target"
  done
done
echo
# restore: 1,000 sensors each holding a 100 KB event, then an empty dataDir
say "restore: filling the state"
produce ev-held -n 1000 -s 100000 -e held0..held999 -d roundrobin
config "$work/held.yaml" held ev-held "$work/held" 1 "$work/held-a"
ksensord_start pid "$work/held.yaml"
wait_drained held ev-held "$pid"
ksensord_stop "$pid"
state_mb=$(kcat -b "$bs" -C -t held-state -e -q -f '%S\n' | awk '{ s += $1 } END { printf "%.0f", s / 1048576 }')
# restore runs: each a new instance on an empty dataDir, next to kcat reading the same topic
tod() { awk -F'[T:Z]' '{ printf "%.3f", $2 * 3600 + $3 * 60 + $4 }'; }   # an ISO time of day, in seconds
restores=() readings=() raws=()
for r in $(seq "$runs"); do
  say "restore, run $r: a new instance on an empty dataDir"
  sed -i "s|dataDir: $work/held-[a-z0-9]*|dataDir: $work/held-b$r|; s|file: $work/held-[a-z0-9]*.log|file: $work/held-b$r.log|" \
    "$work/held.yaml"
  log=$work/held-b$r.log
  t0=$(date +%s.%N)
  ksensord_start pid "$work/held.yaml"
  restored() { local n; n=$(grep -c 'restored [0-9]* changelog records' "$log" 2>/dev/null) || true; ((${n:-0} >= parts)); }
  until restored; do
    kill -0 "$pid" || { echo "suite.sh: ksensord died" >&2; exit 1; }
    sleep 0.05
  done
  restores+=("$(awk -v s="$t0" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')")
  # the restores themselves (they run at once): from the assignment to the last one done
  first=$(grep -m 1 'assigned [0-9]* partitions' "$log" | cut -d' ' -f1 | tod)
  last=$(grep 'restored [0-9]* changelog records' "$log" | tail -n 1 | cut -d' ' -f1 | tod)
  readings+=("$(awk -v a="$first" -v b="$last" 'BEGIN { printf "%.2f", b - a }')")
  ksensord_stop "$pid"
  t0=$(date +%s.%N)
  kcat -b "$bs" -C -t held-state -e -q -f '%S\n' >/dev/null
  raws+=("$(awk -v s="$t0" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')")
done
restore=$(printf '%s\n' "${restores[@]}" | median)
reading=$(printf '%s\n' "${readings[@]}" | median)
raw=$(printf '%s\n' "${raws[@]}" | median)
echo "### Restore: 1,000 sensors each holding a 100 KB event ($state_mb MB in the state topic), empty dataDir, median of $runs runs"
echo
echo "| what | seconds | target |"
echo "|---|---:|---:|"
echo "| kcat reading the state topic to its end (baseline) | $raw | – |"
echo "| ksensord start until all $parts trigger partitions are restored | $restore | 10 s ($(awk -v r="$restore" 'BEGIN { print (r <= 10 ? "met" : "missed") }')) |"
echo "| the $parts restores themselves, at once (assignment → last restored) | $reading | 1.5 × kcat ($(awk -v r="$reading" -v k="$raw" 'BEGIN { print (r <= 1.5 * k ? "met" : "missed") }'), $(ratio "$reading" "$raw") ×) |"
echo
echo "Runs (s): kcat ${raws[*]}; start → restored ${restores[*]}; assignment → restored ${readings[*]}."
echo
echo "### Targets"
echo
echo "- example-1 ≥ 0.5 × the pipe: $(ratio "$k_one1" "$p1") (1 worker), $(ratio "$k_one2" "$p2") (2 workers)"
echo "- 1,000 sensors ≥ 0.8 × one sensor: $(ratio "$k_many1" "$k_one1") (1 worker), $(ratio "$k_many2" "$k_one2") (2 workers)"
