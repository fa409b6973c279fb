# tests/integration/lib/pipeline.sh — shared helpers of the t_pipeline_*.sh tests: worker
# configurations, starting/stopping/killing ksensord workers (every one started here is killed when
# the test exits), CloudEvents on the event topic, read_committed reads of the action topic, the
# `ksensorctl eval` oracle, polling with deadlines. Sourced by the tests; needs KS_BOOTSTRAP,
# KS_BUILD, KS_TMP and KS_TOP (see tests/integration/run) and set -euo pipefail in the caller.

export LC_ALL=C         # sort and comparisons byte by byte, whatever the caller's locale
PL_B=$KS_BOOTSTRAP
PL_SENSORS=$KS_TOP/tests/data/sensors
declare -A PL_LIVE=()   # pid -> log file of every worker started and not yet reaped
PL_RC=0                 # exit status of the last worker pl_wait_exit reaped

pl_say() { printf '%s %s\n' "$(date +%T)" "$*"; }

# Prints the tail of every worker log of this test, then fails the test.
pl_fail() {
  local log
  for log in "$KS_TMP"/*.log; do
    [[ -f $log && $log != */output.log ]] || continue
    echo "---- tail of $(basename "$log") (without action log lines)" >&2
    { grep -av 'notice worker/[0-9]*\[[0-9]*\]: action log: ' "$log" | tail -n 12 | cut -c1-240 >&2; } || true
  done
  echo "FAIL: $*" >&2
  exit 1
}

pl_cleanup() {
  local pid
  for pid in "${!PL_LIVE[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
}
trap pl_cleanup EXIT

# pl_until SECONDS WHAT COMMAND...: runs COMMAND every 0.2 s until it succeeds; fails the test
# naming WHAT after SECONDS.
pl_until() {
  local secs=$1 deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    ((SECONDS < deadline)) || pl_fail "timed out after $secs s waiting for: $what"
    sleep 0.2
  done
}

# pl_topic NAME PARTITIONS [compact] [KEY=VALUE]...
pl_topic() { "$KS_BUILD/kstool" create-topic "$PL_B" "$@" || pl_fail "cannot create topic $1"; }

# pl_config FILE POOL INSTANCE DATADIR SENSORS_GLOB: a worker configuration. The event topic is
# <pool>-events; the internal topics get one partition; sessions time out after 6 s so a partition
# moves quickly to another instance.
pl_config() {
  local file=$1 pool=$2 instance=$3 data=$4 sensors=$5
  cat >"$file" <<YAML
eventbus:
  brokers: "$PL_B"
  topic: "$pool-events"
  partitions: 1
  replicationFactor: 1
  librdkafka:
    session.timeout.ms: "6000"
    heartbeat.interval.ms: "1000"
pool: "$pool"
instance: "$instance"
dataDir: "$data"
sensors: "$sensors"
commitInterval: 100ms
batchSize: 1000
YAML
}

# pl_no_fence FILE...: configurations written by pl_config with fenceDeparted off (worker/pipeline/fence.h).
pl_no_fence() {
  local f
  for f in "$@"; do
    sed -i 's/^  librdkafka:$/  fenceDeparted: false\n&/' "$f"
    grep -q '^  fenceDeparted: false$' "$f" || pl_fail "the configuration $f was not edited"
  done
}

# pl_http_sensor NAME EVENT URL TIMEOUT: the head of a sensor whose one http trigger, "call", fires
# on EVENT alone (source demo), down to its http block's timeout; callers append the block's other keys.
pl_http_sensor() {
  cat <<YAML
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata:
  name: $1
spec:
  dependencies:
    - name: $2
      eventSourceName: demo
      eventName: $2
  triggers:
    - template:
        name: call
        http:
          url: $3
          timeout: $4
YAML
}

# pl_start VAR LOG CONFIG [NAME=VALUE...]: starts one worker alone in the foreground (`ksensord -w 0`,
# no supervisor; its log appended to LOG, environment additions as for env(1)); its pid goes to VAR.
pl_start() {
  local -n __pid=$1
  local log=$2 cfg=$3
  shift 3
  echo "==== $(date +%T.%N) start ${*:-} ====" >>"$log"
  env "$@" "$KS_BUILD/ksensord" -f -w 0 -c "$cfg" >>"$log" 2>&1 &
  __pid=$!
  PL_LIVE[$__pid]=$log
}

# pl_start_fresh VAR LOG CONFIG [NAME=VALUE...]: pl_start for a pool whose internal topics the worker
# creates, returning once it was assigned its partitions (or exited). (The worker itself waits for
# the broker's metadata to list topics it just created: t_pipeline_startup.sh.)
pl_start_fresh() {
  local var=$1 log=$2 cfg=$3 lines=0 deadline=$((SECONDS + 60))
  shift 3
  [[ ! -f $log ]] || lines=$(wc -l <"$log")
  pl_start "$var" "$log" "$cfg" "$@"
  local -n __fresh=$var
  until pl_log_since "$log" "$lines" 'assigned [0-9]* partitions'; do
    pl_running "$__fresh" || return 0
    ((SECONDS < deadline)) || pl_fail "worker $__fresh: no partitions assigned after 60 s"
    sleep 0.1
  done
}

# pl_log_since LOG N REGEX: a line after the first N of LOG matches REGEX (awk syntax).
pl_log_since() { awk -v n="$2" -v re="$3" 'NR > n && $0 ~ re { found = 1; exit } END { exit !found }' "$1"; }

pl_running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

# pl_wait_exit PID SECONDS: waits for a worker to exit and reaps it; its status goes to PL_RC.
# Returns 1 if it is still running after SECONDS.
pl_wait_exit() {
  local pid=$1 deadline=$((SECONDS + $2))
  while pl_running "$pid"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
  PL_RC=0
  wait "$pid" 2>/dev/null || PL_RC=$?
  unset "PL_LIVE[$pid]"
}

# pl_stop PID: SIGTERM; the worker must finish its batch and exit 0 within 30 s.
pl_stop() {
  kill -TERM "$1" 2>/dev/null || pl_fail "worker $1 is not running at SIGTERM"
  pl_wait_exit "$1" 30 || pl_fail "worker $1 did not exit within 30 s of SIGTERM"
  ((PL_RC == 0)) || pl_fail "worker $1 exited $PL_RC after SIGTERM, expected 0"
}

# pl_kill9 PID: kill -9 and reap.
pl_kill9() {
  local ok=0
  { kill -KILL "$1" || true; pl_wait_exit "$1" 10 || ok=$?; } 2>/dev/null   # (and no "Killed" notice)
  ((ok == 0)) || pl_fail "worker $1 survived kill -9"
}

# pl_alive PID WHAT: fails the test if the worker has exited.
pl_alive() {
  if ! pl_running "$1"; then
    pl_wait_exit "$1" 1 || true
    pl_fail "worker $1 exited (status $PL_RC) $2"
  fi
}

# pl_event ID SUBJECT [DATA_JSON] [SOURCE]: one "KEY<TAB>CloudEvent" line (structured JSON).
pl_event() {
  local src=${4:-demo} data=${3:-}
  [[ -n $data ]] || data='{}'
  printf '%s.%s\t{"specversion":"1.0","id":"%s","source":"%s","type":"test","subject":"%s","datacontenttype":"application/json","data":%s}\n' \
    "$src" "$2" "$1" "$src" "$2" "$data"
}

# pl_colour_events N SEED: events e1..eN whose subjects are blue, yellow or red at random (awk's
# srand(SEED), so the same N and SEED give the same stream), with data {"i":N}.
pl_colour_events() {
  awk -v n="$1" -v seed="$2" 'BEGIN { srand(seed); split("blue yellow red", c, " ");
    for (i = 1; i <= n; i++) print "e" i, c[1 + int(rand() * 3)] }' |
    while read -r id subject; do pl_event "$id" "$subject" "{\"i\":${id#e}}"; done
}

# pl_segment NAME SEED: 30 events NAME-…; every segment but s1 opens with a yellow (NAME-open,
# completing the blue the previous one left held), 26 pseudo-random ones (blue, yellow, red, green)
# follow, and every segment closes with yellow, blue, blue: whatever "blue && yellow" held before,
# yellow then blue leaves it empty (the pair fires), so the closing blue (NAME-close) is the only
# event it holds.
pl_segment() {
  [[ $1 == s1 ]] || pl_event "$1-open" yellow
  awk -v seed="$2" -v seg="$1" 'BEGIN { srand(seed); split("blue yellow red green", c, " ");
    for (i = 1; i <= 26; i++) print seg "-" i, c[1 + int(rand() * 4)] }' \
    | while read -r id subject; do pl_event "$id" "$subject"; done
  pl_event "$1-fy" yellow
  pl_event "$1-fb" blue
  pl_event "$1-close" blue
}

# pl_produce TOPIC FILE: produces every "KEY<TAB>VALUE" line of FILE, in order.
pl_produce() {
  kcat -b "$PL_B" -P -t "$1" -K $'\t' -X message.max.bytes=33554432 -X linger.ms=5 <"$2" \
    || pl_fail "kcat could not produce $2 to $1"
}

# pl_values FILE: the CloudEvents of a "KEY<TAB>VALUE" file, one per line (ksensorctl eval's input).
pl_values() { cut -f2- "$1"; }

# pl_read TOPIC [FORMAT]: everything a read_committed reader sees now, one line per record.
pl_read() {
  kcat -b "$PL_B" -C -t "$1" -e -q -X isolation.level=read_committed -X fetch.message.max.bytes=33554432 \
    -f "${2:-%k\t%s\n}"
}

# pl_count TOPIC: how many records a read_committed reader sees now (0 while the topic is missing).
pl_count() { { pl_read "$1" 'x\n' 2>/dev/null || true; } | wc -l; }

# pl_wait_count TOPIC N SECONDS: waits until a read_committed reader sees at least N records.
pl_wait_count() {
  local topic=$1 want=$2 deadline=$((SECONDS + $3)) n
  while :; do
    n=$(pl_count "$topic")
    ((n >= want)) && return 0
    ((SECONDS < deadline)) || pl_fail "$topic has $n records after $3 s, expected $want"
    sleep 0.3
  done
}

# pl_drained POOL: the pool's consumer group has consumed and committed everything readable in the
# event, trigger and action topics (so nothing is in flight: every effect of the input is visible).
pl_drained() {
  "$KS_BUILD/kstool" drained "$PL_B" "$1" "$1-events" "$1-trigger" "$1-action" >"$KS_TMP/drained.out" 2>&1
}

pl_wait_drained() {
  local deadline=$((SECONDS + $2))
  until pl_drained "$1"; do
    ((SECONDS < deadline)) || pl_fail "pool $1 not drained after $2 s: $(tr '\n' ';' <"$KS_TMP/drained.out")"
    sleep 0.3
  done
}

# pl_firings_of_actions: action-topic records ("key<TAB>firing JSON") -> comparable lines
# "sensor/trigger<TAB>{dep: event id}" (keys sorted), in topic order. Fails on a key that does not
# name the firing's sensor/trigger.
pl_firings_of_actions() {
  jq -R -r 'split("\t") as $f | ($f[1:] | join("\t") | fromjson) as $v
            | if $f[0] != "\($v.sensor)/\($v.trigger)" then error("record key \($f[0]) does not match \($v.sensor)/\($v.trigger)") else . end
            | "\($v.sensor)/\($v.trigger)\t\($v.events | map_values(.id) | tojson)"' \
    | jq -R -r 'split("\t") | "\(.[0])\t\(.[1] | fromjson | to_entries | sort_by(.key) | from_entries | tojson)"'
}

# pl_distinct_records: action-topic records ("key<TAB>firing JSON") with repeats of a whole record
# dropped, in topic order. A firing id that appears with two different records fails.
pl_distinct_records() {
  awk '!seen[$0]++' >"$KS_TMP/distinct.tsv"
  local dup
  dup=$(jq -R -r 'split("\t")[1:] | join("\t") | fromjson | .id' "$KS_TMP/distinct.tsv" | sort | uniq -d | head -n 3)
  [[ -z $dup ]] || pl_fail "firing ids on the action topic with two different records: $dup"
  cat "$KS_TMP/distinct.tsv"
}

# pl_executed LOG...: the firings the log action executed (its "action log:" lines in the LOGs), as
# comparable lines in log order; fails when a firing id was executed twice.
pl_executed() {
  grep -aho 'action log: {.*' "$@" | sed 's/^action log: //' >"$KS_TMP/executed.jsonl" || true
  local dup
  dup=$(jq -r '.firing' "$KS_TMP/executed.jsonl" | sort | uniq -d | head -n 3)
  [[ -z $dup ]] || pl_fail "firings executed twice: $dup"
  jq -r '"\(.sensor)/\(.trigger)\t\(.events | map_values(.id) | to_entries | sort_by(.key) | from_entries | tojson)"' \
    "$KS_TMP/executed.jsonl"
}

# pl_compare_after_outage WHAT EXPECTED_FILE POOL LOG...: after brokers stopped, the log action (its
# lines in the LOGs) executed exactly the expected firings, each once (in any order: lines a
# restarted worker takes from its journal come after those of the worker that went on, and two
# hosts write two logs), and the action topic holds them, per trigger in order
# them. A broker stopped in the middle of a commit can acknowledge it and never write its markers:
# the batch's records become visible later while its offsets do not, the batch is read again and
# yields the same firings with the same ids, and the ledger executes each id once. The action topic
# may therefore repeat a record; PL_REPEATS counts those repeats, a firing id with two different
# records fails.
pl_compare_after_outage() {
  local what=$1 exp=$2 pool=$3
  shift 3
  pl_executed "$@" | sort >"$KS_TMP/executed"
  sort "$exp" >"$KS_TMP/expected.any-order"
  pl_compare_firings "$what: the log action" "$KS_TMP/expected.any-order" "$KS_TMP/executed"
  pl_read "$pool-action" >"$KS_TMP/records"
  pl_distinct_records <"$KS_TMP/records" | pl_firings_of_actions >"$KS_TMP/got" || pl_fail "cannot decode the action topic"
  pl_compare_firings "$what: the action topic" "$exp" "$KS_TMP/got"
  PL_REPEATS=$(($(wc -l <"$KS_TMP/records") - $(wc -l <"$KS_TMP/got")))
}

# pl_oracle EVENTS_FILE SENSOR...: the firings `ksensorctl eval` computes, in the same form.
pl_oracle() {
  local events=$1 args=() s
  shift
  for s in "$@"; do args+=(--sensor "$s"); done
  pl_values "$events" >"$KS_TMP/oracle-input.jsonl"
  "$KS_BUILD/ksensorctl" eval "${args[@]}" --events "$KS_TMP/oracle-input.jsonl" 2>"$KS_TMP/oracle.err" \
    | jq -r '"\(.sensor)/\(.trigger)\t\(.events | map_values(.id) | to_entries | sort_by(.key) | from_entries | tojson)"'
}

# pl_per_trigger: groups comparable firing lines by trigger, keeping the order within a trigger.
pl_per_trigger() { sort -s -t $'\t' -k1,1; }

# pl_compare_firings WHAT EXPECTED_FILE GOT_FILE: the same firings per trigger in the same order;
# reports missing and extra firings.
pl_compare_firings() {
  local what=$1 exp=$2 got=$3
  pl_per_trigger <"$exp" >"$exp.sorted"
  pl_per_trigger <"$got" >"$got.sorted"
  if ! cmp -s "$exp.sorted" "$got.sorted"; then
    echo "$what: action topic differs from the expected firings (- expected, + action topic):" >&2
    diff -u "$exp.sorted" "$got.sorted" | sed -n '3,60p' >&2 || true
    local dups
    dups=$(sort "$got" | uniq -d | head -n 5 || true)
    [[ -z $dups ]] || echo "duplicated firings: $dups" >&2
    pl_fail "$what: $(wc -l <"$exp") firings expected, $(wc -l <"$got") on the action topic"
  fi
}

# pl_unique_ids TOPIC: every firing id on the action topic is unique and equals the firingId header.
pl_unique_ids() {
  local topic=$1 bad
  pl_read "$topic" '%h\t%s\n' >"$KS_TMP/ids.raw"
  bad=$(jq -R -r 'split("\t") as $f | ($f[1:] | join("\t") | fromjson | .id) as $id
                  | ($f[0] | split(",") | map(select(startswith("firingId="))) | .[0] // "" | ltrimstr("firingId=")) as $h
                  | select($h != $id) | "\($id) header \($h)"' "$KS_TMP/ids.raw" | head -n 3 || true)
  [[ -z $bad ]] || pl_fail "$topic: firingId header differs from the record's id: $bad"
  bad=$(jq -R -r 'split("\t")[1:] | join("\t") | fromjson | .id' "$KS_TMP/ids.raw" | sort | uniq -d | head -n 3 || true)
  [[ -z $bad ]] || pl_fail "$topic: firing ids appear twice: $bad"
}

# pl_sql DB SQL: a query on a task's SQLite file (read-only; safe while the worker runs: WAL mode).
pl_sql() { sqlite3 -readonly -batch -noheader -separator '|' "$1" "$2"; }

# pl_held DB: the held events as "sensor/trigger|dependency|event id", sorted.
pl_held() {
  pl_sql "$1" "SELECT sensor || '/' || trigger, dependency, json_extract(CAST(event AS TEXT), '\$.id') FROM held" | sort
}

# pl_changelog_held POOL: the latest value per key of the compacted <pool>-state topic, as held lines
# "sensor/trigger|dependency|event id", sorted (what a fresh host restores); decoded by kstool with
# ksensor's codec (a value is a JSON header followed by the events' bytes).
pl_changelog_held() {
  pl_changelog "$1" | awk -F'\t' '{ last[$2] = $3 } END { for (k in last) { n = split(last[k], h, " ")
                                      for (i = 1; i <= n; i++) if (sub("=", "|", h[i])) print k "|" h[i] } }' | sort
}

# pl_changelog POOL: every record of <pool>-state as "OFFSET<TAB>KEY<TAB>DEPENDENCY=EVENT-ID ...".
pl_changelog() { pl_read "$1-state" '%o\t%k\t%S\n%s\n' | "$KS_BUILD/kstool" changelog; }

# pl_status_kib PID FIELD: a /proc/PID/status figure (VmRSS, VmHWM) in KiB.
pl_status_kib() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
