#!/usr/bin/env bash
# argo.sh — `make bench PEER=argo`: Argo Events' own sensor next to ksensord, in the same run, on the
# same broker, one after the other (never at the same time). Argo's is `argo-events sensor-service`
# of Argo Events v1.9.11, built once from its Go module (CGO_ENABLED=0 go build ./cmd) and cached in
# ~/.cache/ksensor/argo-events-v1.9.11/; it runs outside Kubernetes with its Kafka event bus
# (SENSOR_OBJECT, EVENTBUS_CONFIG, a dummy KUBECONFIG: the log trigger never calls an API server).
#
# Two sensors, the same manifest for both programs, one `log: {}` trigger each: one dependency
# (dep-a), and `dep-a && dep-b`. For each, RUNS runs; in each run each program gets a fresh
# 1-partition event topic pre-filled with the same N CloudEvents of about 300 bytes, in the form
# Argo's EventSources write them (structured JSON, data_base64, source = eventSourceName, subject =
# eventName, key "source.subject"); for `&&`, a and b alternate, so N events make N/2 firings.
#   - Argo's sensor: consumer group from the oldest offset, its trigger and action topics created
#     beforehand (1 partition); done when its Prometheus counter argo_events_action_triggered_total
#     (:7777, a port it hard-codes) reaches the firings expected.
#   - ksensord: the supervisor and one worker (workers: 1), eventbus.topicLayout: per-sensor (Argo's
#     topic names), partitions: 1, every other setting its default; done when the action ledger
#     holds every firing (the log lines are written as it commits; their number is checked after).
# Each is timed from its process's start to its last firing (polled every 0.1 s), so start-up and
# the group join are in both figures; CPU is utime + stime of every process of the program (Argo's
# one; ksensord's supervisor and worker) read just before it is stopped; peak RSS is VmHWM of
# Argo's process and of ksensord's worker. Odd runs start with Argo, even runs with ksensord. A run
# that has not finished after KS_ARGO_TIMEOUT seconds (default 120) is stopped and reported as timed
# out with how far it got; its rate so far goes into the median. Prints Markdown (medians of RUNS,
# the ratios next to their targets, then every run's rate and the time each program took to its
# first firing); progress goes to standard error.
#   argo.sh BUILD_DIR BOOTSTRAP RUNS N
#   argo.sh build          (only build and cache Argo's binary)
# Needs go (the first time), kcat, jq, curl, sqlite3, flock.
set -euo pipefail
version=${KS_ARGO_EVENTS_VERSION:-v1.9.11}
timeout_s=${KS_ARGO_TIMEOUT:-120}
cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/ksensor
argo=$cache_root/argo-events-$version/argo-events
argo_metrics=http://127.0.0.1:7777/metrics

say() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
die() { say "argo.sh: $*"; exit 1; }

# ---- Argo's binary -------------------------------------------------------------------------------

# build_argo: builds Argo Events' binary into the cache unless it is there. One build at a time (a
# lock), in a temporary directory of the cache (its own module and build caches, removed after), the
# binary renamed into place once complete.
build_argo() {
  [[ -x $argo ]] && return
  mkdir -p "$cache_root"
  exec 8>"$cache_root/argo-events.lock"
  flock 8
  if [[ ! -x $argo ]]; then
    say "building Argo Events $version's binary from its Go module (about 5 minutes and 2 GB of RAM, once)"
    local tmp
    tmp=$(mktemp -d "$cache_root/argo-events-build.XXXXXX")
    if ! go_build_argo "$tmp" >"$tmp/build.log" 2>&1; then
      tail -n 20 "$tmp/build.log" >&2
      chmod -R u+w "$tmp" 2>/dev/null || true
      rm -rf "$tmp"
      die "building Argo Events $version failed (the lines above are the end of go's output)"
    fi
    mkdir -p "$(dirname "$argo")"
    mv "$tmp/argo-events" "$argo"
    chmod -R u+w "$tmp" 2>/dev/null || true
    rm -rf "$tmp"
    say "built $argo"
  fi
  exec 8>&-
}

# go_build_argo DIR: `go install …@version` is refused by the proxy (no version list), but `go mod
# download` of the version works; the module is copied out of the (read-only) module cache and built
# as it is, the way Argo's Makefile builds it.
go_build_argo() {
  local dir=$1 src
  export GOMODCACHE=$dir/mod GOCACHE=$dir/cache CGO_ENABLED=0
  src=$(cd "$dir" && go mod download -json "github.com/argoproj/argo-events@$version" | jq -r .Dir) &&
    [[ -d $src ]] &&
    cp -r "$src" "$dir/src" &&
    chmod -R u+w "$dir/src" &&
    (cd "$dir/src" && nice -n 15 go build -trimpath -o "$dir/argo-events" ./cmd) &&
    "$dir/argo-events" --help >/dev/null
}

if [[ ! -x $argo ]] && ! command -v go >/dev/null; then
  echo "(skipped: go is not installed; PEER=argo builds Argo Events' sensor from its Go module)"
  exit 0
fi
if [[ ${1:-} == build ]]; then
  build_argo
  exit 0
fi
(($# == 4)) || { echo "usage: argo.sh BUILD_DIR BOOTSTRAP RUNS N | argo.sh build" >&2; exit 2; }
build=$1; bs=$2; runs=$3; events=$4
((runs >= 1 && events >= 2)) || die "RUNS must be 1 or more and N 2 or more"
build_argo

# ---- processes: started here, stopped on every exit --------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/ksensor-bench-argo.XXXXXX")
tag=$$                                    # in the topics' names: a broker may serve several runs
live=()                                   # pids of the programs under test still running
# alive PID: running and not a zombie
alive() {
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  [[ ${s:0:1} != Z ]]
}
# stop PID: SIGTERM; after 30 s SIGKILL to it and its children
stop() {
  local pid=$1 kids i p rest=()
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid"; then
    kids=$(pgrep -P "$pid" || true)
    # shellcheck disable=SC2086
    kill -KILL "$pid" $kids 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  for p in "${live[@]}"; do [[ $p == "$pid" ]] || rest+=("$p"); done
  live=("${rest[@]}")
}
cleanup() {
  local pid
  for pid in "${live[@]}"; do stop "$pid"; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- measuring ---------------------------------------------------------------------------------

now_us() { echo "${EPOCHREALTIME/[^0-9]/}"; }
# cpu_ticks PID...: utime + stime of the processes, in clock ticks
cpu_ticks() {
  local pid s sum=0 f
  for pid; do
    s=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    read -r -a f <<<"${s##*) }"
    sum=$((sum + f[11] + f[12]))
  done
  echo "$sum"
}
hwm_kb() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# argo_fired: firings Argo's sensor has counted (0 until its metrics server answers)
argo_fired() {
  { curl -s --max-time 2 "$argo_metrics" 2>/dev/null || true; } |
    awk '/^argo_events_action_triggered_total[{ ]/ { s += $NF } END { printf "%d\n", s }'
}
# ks_fired DIR: firings in ksensord's action ledger (0 until its partition is assigned)
ks_fired() {
  local db
  for db in "$1"/data/*-action-*.db; do
    [[ -f $db ]] && sqlite3 -readonly "$db" 'SELECT count(*) FROM ledger' 2>/dev/null && return
  done
  echo 0
}

# await_firings PID WANT T0_US PROBE...: polls PROBE until it counts WANT firings, PID dies or the timeout
# passes; sets count, secs (since T0_US, read as the count was), first (secs when the first firing
# was seen) and outcome (done, died, timeout)
await_firings() {
  local pid=$1 want=$2 t0=$3 t
  shift 3
  first=
  while :; do
    count=$("$@")
    t=$(now_us)
    secs=$(awk -v a="$t0" -v b="$t" 'BEGIN { printf "%.3f", (b - a) / 1e6 }')
    [[ -n $first ]] || ((count == 0)) || first=$secs
    if ((count >= want)); then outcome=done; return; fi
    if ! alive "$pid"; then outcome=died; return; fi
    if (((t - t0) / 1000000 >= timeout_s)); then outcome=timeout; return; fi
    sleep 0.1
  done
}

# ---- the sensors and the events -----------------------------------------------------------------

# sensor KIND: the manifest both programs run (JSON, which is YAML too), in $work/KIND/bench.json
sensor() {
  local deps cond=''
  deps='{"name": "dep-a", "eventSourceName": "bench-src", "eventName": "a"}'
  if [[ $1 == and ]]; then
    deps+=', {"name": "dep-b", "eventSourceName": "bench-src", "eventName": "b"}'
    cond='"conditions": "dep-a && dep-b", '
  fi
  mkdir -p "$work/$1"
  cat >"$work/$1/bench.json" <<JSON
{"apiVersion": "argoproj.io/v1alpha1", "kind": "Sensor",
 "metadata": {"name": "bench", "namespace": "argo-events"},
 "spec": {"dependencies": [$deps],
          "triggers": [{"template": {"name": "log-trigger", ${cond}"log": {}}}]}}
JSON
  "$build/ksensorctl" check "$work/$1/bench.json" >/dev/null || die "ksensorctl refuses the $1 sensor"
}

# make_events KIND: N records "key<TAB>CloudEvent" in $work/KIND.tsv, as Argo's EventSources write them
# (data_base64; ids of 32 digits, as long as Argo's hex UUIDs); subjects a (one) or a, b alternating (and)
make_events() {
  jq -n -r --argjson n "$events" --arg kind "$1" --arg now "$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)" '
    range($n) as $i
    | (if $kind == "and" and $i % 2 == 1 then "b" else "a" end) as $s
    | "bench-src.\($s)\t" + ({specversion: "1.0", id: ("0" * 32 + ($i | tostring))[-32:],
        source: "bench-src", type: "webhook", subject: $s, datacontenttype: "application/json",
        time: $now, data_base64: ({seq: $i, pad: ("x" * 50)} | tojson | @base64)} | tojson)' \
    >"$work/$1.tsv"
}

# fill TOPIC KIND: a fresh 1-partition event topic holding the KIND events
fill() {
  local end
  "$build/kstool" create-topic "$bs" "$1" 1 >/dev/null
  kcat -b "$bs" -P -t "$1" -K '\t' <"$work/$2.tsv"
  end=$(kcat -b "$bs" -Q -t "$1:0:-1" | awk '{ print $NF }')
  [[ $end == "$events" ]] || die "topic $1 holds $end events, not $events"
}

# ---- one run of each program --------------------------------------------------------------------

cat >"$work/kubeconfig" <<'YAML'
# never used: the sensor builds its Kubernetes clients at start; only k8s triggers would call them
apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: none, user: {token: none}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
YAML

declare -A rate cpu rss sup note late start
# record KIND WHO WANT CPU_TICKS RSS_KB: appends the run's figures (count, secs, outcome set by await_firings)
record() {
  local kind=$1 who=$2 want=$3 r
  r=$(awk -v c="$count" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? c / s : 0) }')
  rate[$kind,$who]+="$r "
  # per event read: the events of the firings made (all N unless it timed out)
  cpu[$kind,$who]+="$(awk -v t="$4" -v hz="$(getconf CLK_TCK)" -v n="$((count * events / want))" \
                       'BEGIN { printf "%.4f", (n > 0 ? t / hz * 1000 / n : 0) }') "
  rss[$kind,$who]+="$(($5 / 1024)) "
  start[$kind,$who]+="${first:-$secs} "
  case $outcome in
    done) note[$kind,$who]+="$(fmt "$r"), " ;;
    timeout) note[$kind,$who]+="timed out ($(fmt "$count") of $(fmt "$want") firings in $secs s: $(fmt "$r")/s), "
             late[$kind,$who]=$((${late[$kind,$who]:-0} + 1)) ;;
  esac
  say "  $count of $want firings in $secs s ($r/s, $outcome; the first after ${first:-–} s)"
}

# run_argo KIND RUN
run_argo() {
  local kind=$1 n=$2 want=$3 topic=argo$tag-$1-$2 dir=$work/argo-$1-$2 pid ticks kb final
  mkdir -p "$dir"
  fill "$topic" "$kind"
  "$build/kstool" create-topic "$bs" "$topic-bench-trigger" 1 >/dev/null
  "$build/kstool" create-topic "$bs" "$topic-bench-action" 1 >/dev/null
  ! (exec 3<>/dev/tcp/127.0.0.1/7777) 2>/dev/null ||
    die "something already listens on port 7777, the port Argo's sensor serves its metrics on"
  say "$kind, run $n: Argo Events' sensor"
  local t0
  t0=$(now_us)
  SENSOR_OBJECT=$(base64 -w0 "$work/$kind/bench.json") \
  EVENTBUS_CONFIG=$(printf '{"kafka": {"url": "%s", "topic": "%s", "consumerGroup": {"groupName": "%s", "oldest": true}}}' \
                      "$bs" "$topic" "$topic" | base64 -w0) \
  EVENTBUS_SUBJECT=eventbus-argo-events POD_NAME=$topic-$$ KUBECONFIG=$work/kubeconfig \
    "$argo" sensor-service >"$dir/sensor.log" 2>&1 &
  pid=$!
  live+=("$pid")
  await_firings "$pid" "$want" "$t0" argo_fired
  ticks=$(cpu_ticks "$pid") kb=$(hwm_kb "$pid")
  [[ $outcome != died ]] || { tail -n 20 "$dir/sensor.log" >&2; die "Argo's sensor died (its log is above)"; }
  final=$(argo_fired)
  ((final <= want)) || say "  Argo's sensor counted $final firings of $want"
  stop "$pid"
  record "$kind" argo "$want" "$ticks" "$kb"
  rm -rf "$dir"
}

# run_ks KIND RUN
run_ks() {
  local kind=$1 n=$2 want=$3 topic=ks$tag-$1-$2 dir=$work/ks-$1-$2 pid kids k ticks kb skb lines
  mkdir -p "$dir"
  fill "$topic" "$kind"
  cat >"$dir/ksensord.yaml" <<YAML
eventbus: {brokers: "$bs", topic: $topic, partitions: 1, replicationFactor: 1, topicLayout: per-sensor}
pool: $topic
instance: bench
workers: 1
listen: 127.0.0.1:0
dataDir: $dir/data
pidFile: $dir/ksensord.pid
sensors: $work/$kind/bench.json
log: {level: info, file: $dir/ksensord.log}
YAML
  say "$kind, run $n: ksensord"
  local t0
  t0=$(now_us)
  "$build/ksensord" -f -c "$dir/ksensord.yaml" 2>>"$dir/ksensord.stderr" &
  pid=$!
  live+=("$pid")
  await_firings "$pid" "$want" "$t0" ks_fired "$dir"
  kids=$(pgrep -P "$pid" || true)
  # shellcheck disable=SC2086
  ticks=$(cpu_ticks "$pid" $kids) kb=0
  for k in $kids; do kb=$(($(hwm_kb "$k") > kb ? $(hwm_kb "$k") : kb)); done
  skb=$(hwm_kb "$pid")
  [[ $outcome != died ]] || { tail -n 20 "$dir/ksensord.log" "$dir/ksensord.stderr" >&2; die "ksensord died (its log is above)"; }
  stop "$pid"
  lines=$(grep -c 'action log: ' "$dir/ksensord.log" || true)
  [[ $outcome != done || $lines == "$want" ]] || say "  ksensord wrote $lines log lines for $want firings"
  sup[$kind]+="$((skb / 1024)) "
  record "$kind" ks "$want" "$ticks" "$kb"
  rm -rf "$dir"
}

# ---- the runs and the table ------------------------------------------------------------------------

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
fmt() { printf '%.0f' "$1" | sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/' -e 'ta'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "–" }'; }
# verdict RATIO OP TARGET: "met" or "missed"
verdict() {
  [[ $1 != – ]] || { echo "unknown"; return; }
  awk -v r="$1" -v t="$3" -v op="$2" 'BEGIN { ok = (op == ">=" ? r >= t : r <= t); print (ok ? "met" : "missed") }'
}
# timed_out KIND WHO: ", K of RUNS timed out" when some did
timed_out() { [[ -z ${late[$1,$2]:-} ]] || echo " (${late[$1,$2]} of $runs timed out)"; }

declare -A m_rate m_cpu m_rss
started=$SECONDS
for kind in one and; do
  sensor "$kind"
  make_events "$kind"
  want=$events
  [[ $kind == one ]] || want=$((events / 2))
  for n in $(seq "$runs"); do
    if ((n % 2 == 1)); then
      run_argo "$kind" "$n" "$want"; run_ks "$kind" "$n" "$want"
    else
      run_ks "$kind" "$n" "$want"; run_argo "$kind" "$n" "$want"
    fi
  done
done

echo "### Argo Events $version's sensor next to ksensord: $(fmt "$events") events pre-filled (1 partition), median of $runs runs"
echo
echo "| sensor | program | firings/s | events/s | CPU ms per event | peak RSS MiB | firings/s ÷ Argo | CPU per event ÷ Argo | RSS ÷ Argo |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
for kind in one and; do
  for who in argo ks; do
    m_rate[$who]=$(median <<<"${rate[$kind,$who]}")
    m_cpu[$who]=$(median <<<"${cpu[$kind,$who]}")
    m_rss[$who]=$(median <<<"${rss[$kind,$who]}")
  done
  name=$([[ $kind == one ]] && echo "one dependency" || echo "\`dep-a && dep-b\`")
  target=$([[ $kind == one ]] && echo 3 || echo 4)
  k=$([[ $kind == one ]] && echo 1 || echo 2)   # events per firing
  r=$(ratio "${m_rate[ks]}" "${m_rate[argo]}") c=$(ratio "${m_cpu[ks]}" "${m_cpu[argo]}") m=$(ratio "${m_rss[ks]}" "${m_rss[argo]}")
  printf '| %s | Argo Events `sensor-service` | %s%s | %s | %.3f | %s | 1.00 | 1.00 | 1.00 |\n' "$name" "$(fmt "${m_rate[argo]}")" "$(timed_out "$kind" argo)" \
    "$(fmt $((k * m_rate[argo])))" "${m_cpu[argo]}" "${m_rss[argo]}"
  printf '| %s | ksensord, 1 worker | %s%s | %s | %.3f | %s | %s (target ≥ %s: %s) | %s (≤ 0.3: %s) | %s (≤ 0.5: %s) |\n' "$name" \
    "$(fmt "${m_rate[ks]}")" "$(timed_out "$kind" ks)" "$(fmt $((k * m_rate[ks])))" "${m_cpu[ks]}" "${m_rss[ks]}" \
    "$r" "$target" "$(verdict "$r" '>=' "$target")" "$c" "$(verdict "$c" '<=' 0.3)" "$m" "$(verdict "$m" '<=' 0.5)"
done
echo
for kind in one and; do
  name=$([[ $kind == one ]] && echo "one dependency" || echo "dep-a && dep-b")
  echo "Runs, $name, firings/s: Argo ${note[$kind,argo]%, }; ksensord ${note[$kind,ks]%, }."
  echo
done
echo "From the start of the process to its first firing, medians: one dependency, Argo $(median <<<"${start[one,argo]}") s, ksensord $(median <<<"${start[one,ks]}") s; dep-a && dep-b, Argo $(median <<<"${start[and,argo]}") s, ksensord $(median <<<"${start[and,ks]}") s."
echo
echo "Firings/s and events/s from each process's start to its last firing; CPU of all its processes over the same time; peak RSS of Argo's process and of ksensord's worker (its supervisor adds $(median <<<"${sup[one]} ${sup[and]}") MiB). Measured in $((SECONDS - started)) s."
