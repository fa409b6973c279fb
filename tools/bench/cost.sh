#!/usr/bin/env bash
# cost.sh — the cost model of `make bench`: what 1,000 events cost in CPU and bytes written, and how
# that grows with the number of sensors and with held state, on a real local broker:
#   configurations: 1, 100, 1,000 and 10,000 copies of etc/sensors/example-1.yaml, each on its own
#   three event types (as suite.sh makes its 1,000); then 1,000 and 10,000 sensors `a && b` whose
#   `b` never comes, so every event is held (replacing the one before) and none fires.
#   one run of a configuration: a fresh pool and an empty event topic (4 partitions); ksensord (one
#   worker, the shipped commit settings) is started and timed until /readyz (the load), measured for
#   2 s while it waits (the idle cost), then paused (SIGSTOP; session and transaction timeouts are
#   raised so that the pause is not taken for a lost host) while loadgen produces EVENTS events (the
#   input), resumed, and timed until its group has drained the topics (kstool drained, as suite.sh).
#   The cost per event is that drain's:
#   - CPU: utime+stime from /proc/PID/stat of the supervisor and its workers, and of the broker's JVM
#     (found from BOOTSTRAP's port in the server.properties of a running kafka.Kafka process);
#   - Kafka bytes: the record batches appended to each partition's segment files in the broker's
#     log.dirs during the drain, read from the segments' batch headers: data per topic (<pool>-trigger
#     written by the event stage, <pool>-action by the trigger stage and, for conditions without `&&`,
#     the event stage, <pool>-state by the trigger stage), and as 'coordination' the transaction
#     markers in those topics plus everything appended to __consumer_offsets and __transaction_state;
#     the event topic's bytes (appended while ksensord was paused) are the input;
#   - SQLite bytes: write_bytes − cancelled_write_bytes of /proc/PID/io of the ksensord processes
#     (pages dirtied on disk: the *.db files and their WAL; the journal is emptied every batch, so it
#     cancels out) less what the log file grew by; checkpoints that happen after the drain (at the
#     stop) are not counted.
# Medians of RUNS runs. Prints Markdown on stdout (progress on stderr) and writes bench/cost.svg
# (CPU per 1,000 events and bytes per event against the number of sensors) when gnuplot is installed.
# KS_COST_SENSORS and KS_COST_HELD override the configurations (default "1 100 1000 10000", "1000 10000").
#   cost.sh BUILD_DIR BOOTSTRAP EVENTS RUNS
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
(($# == 4)) || { echo "usage: cost.sh BUILD_DIR BOOTSTRAP EVENTS RUNS" >&2; exit 2; }
build=$1; bs=$2; events=$3; runs=$4
read -r -a sensor_counts <<<"${KS_COST_SENSORS-1 100 1000 10000}"
read -r -a held_counts <<<"${KS_COST_HELD-1000 10000}"
((${#sensor_counts[@]} > 0)) || { echo "cost.sh: KS_COST_SENSORS names no sensor count" >&2; exit 2; }
parts=4
idle_s=2                # seconds of a ready, idle daemon measured per run
hz=$(getconf CLK_TCK)
work=$(mktemp -d "${TMPDIR:-/tmp}/ksensor-cost.XXXXXX")
id=${work##*.}           # in the pools' and topics' names: a broker may have seen other runs
ks_pid=                 # the supervisor of the running ksensord, for the trap
cleanup() {
  [[ -z $ks_pid ]] || ksensord_stop "$ks_pid"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
die() { echo "cost.sh: $*" >&2; exit 1; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : 0) }'; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }   # calc FORMAT EXPRESSION

# ---- the broker ------------------------------------------------------------------------------

# broker_props HOST:PORT: the server.properties of the running kafka.Kafka process listening on PORT
broker_props() {
  local port=${1##*:} pid props
  for pid in $(pgrep -f 'kafka\.Kafka'); do
    props=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | tail -n 1) || continue
    [[ $props == /* ]] || props=$(readlink "/proc/$pid/cwd")/$props
    if grep -Eq "^(advertised\.)?listeners=(.*,)?[A-Za-z_]+://[^,]*:$port(,|$)" "$props" 2>/dev/null; then
      echo "$pid $props"
      return 0
    fi
  done
  return 1
}

# find_brokers: broker_pids and log_dirs of every node named in BOOTSTRAP (kafka-local's, or any local
# broker started with a properties file)
find_brokers() {
  local hp pid props dirs
  broker_pids=(); log_dirs=()
  for hp in ${bs//,/ }; do
    read -r pid props < <(broker_props "$hp") || die "no local kafka.Kafka process listens on $hp"
    dirs=$(sed -n 's/^log\.dirs\{0,1\}=//p' "$props" | tail -n 1)
    [[ -n $dirs ]] || die "$props names no log.dirs"
    broker_pids+=("$pid")
    log_dirs+=(${dirs//,/ })
  done
}

# segments: every partition's segment files and their sizes ("topic<TAB>file<TAB>bytes")
segments() {
  { find "${log_dirs[@]}" -mindepth 2 -maxdepth 2 -name '*.log' -printf '%h\t%p\t%s\n' 2>/dev/null || true; } \
    | awk -F'\t' -v OFS='\t' '{ n = split($1, d, "/"); t = d[n]; sub(/-[0-9]+$/, "", t); print t, $2, $3 }'
}

# appended BEFORE AFTER: per topic, what was appended between two snapshots of segments, from the
# record batches' headers: "topic data-bytes data-records control-bytes control-batches"
appended() {
  awk -F'\t' 'NR == FNR { size[$2] = $3; next }
              { from = ($2 in size) ? size[$2] : 0; if ($3 > from) print $1 "\t" $2 "\t" from "\t" $3 }' "$1" "$2" \
    | perl -e '
      # a v2 record batch: baseOffset (8), batchLength (4), leaderEpoch (4), magic (1), crc (4),
      # attributes (2: 0x20 = a control batch), …, recordsCount at byte 57; 12 + batchLength bytes
      my (%db, %dr, %cb, %cn);
      while (<STDIN>) {
        chomp; my ($t, $f, $pos, $end) = split /\t/;
        $db{$t} //= 0;
        open(my $h, "<:raw", $f) or next;
        while ($pos + 61 <= $end) {
          seek($h, $pos, 0); read($h, my $hdr, 61) == 61 or last;
          my ($len, $attr, $n) = unpack("x8 N x9 n x34 N", $hdr);
          my $size = 12 + $len;
          last if $pos + $size > $end;
          if ($attr & 0x20) { $cb{$t} += $size; $cn{$t}++ } else { $db{$t} += $size; $dr{$t} += $n }
          $pos += $size;
        }
      }
      printf "%s %d %d %d %d\n", $_, $db{$_}, $dr{$_} // 0, $cb{$_} // 0, $cn{$_} // 0 for sort keys %db;'
}

# ---- processes -------------------------------------------------------------------------------

ticks() {      # ticks PID...: utime + stime of the processes (every thread), in clock ticks
  local p line t=0
  local -a f
  for p; do
    { line=$(<"/proc/$p/stat"); } 2>/dev/null || continue
    read -r -a f <<<"${line##*) }"      # the fields after the command name: f[11] utime, f[12] stime
    t=$((t + f[11] + f[12]))
  done
  echo "$t"
}
disk_writes() {  # disk_writes PID...: bytes written to disk (pages dirtied, less those truncated away)
  local p t=0
  for p; do
    t=$((t + $(awk '/^write_bytes/ { w = $2 } /^cancelled_write_bytes/ { c = $2 } END { print w - c }' "/proc/$p/io" 2>/dev/null)))
  done
  echo "$t"
}
workers_of() { pgrep -P "$1" || true; }
ksensord_pids() { echo "$1" $(workers_of "$1"); }

# ---- sensors and configuration ----------------------------------------------------------------

# copies DIR N: example-1 as shipped (N = 1), or N copies s0… each on blue<k>, yellow<k>, red<k>
copies() {
  mkdir -p "$1"
  if (($2 == 1)); then cp "$top/etc/sensors/example-1.yaml" "$1/"; return; fi
  awk -v n="$2" -v dir="$1" '{ line[NR] = $0 }
    END { for (k = 0; k < n; k++) {
            f = dir "/s" k ".yaml"
            for (i = 1; i <= NR; i++) {
              l = line[i]
              if (l == "  name: example-1") l = "  name: s" k
              else if (l ~ /eventName: (blue|yellow|red)$/) l = l k
              print l >f
            }
            close(f) } }' "$top/etc/sensors/example-1.yaml"
}
subjects_copies() { (($1 == 1)) && echo blue,yellow,red || echo "blue0..blue$(($1 - 1)),yellow0..yellow$(($1 - 1)),red0..red$(($1 - 1))"; }

# held DIR N: N sensors h0… holding `a` (held<k>) for `a && b` (never<k>, never sent)
held() {
  mkdir -p "$1"
  awk -v n="$2" -v dir="$1" 'BEGIN { for (k = 0; k < n; k++) { f = dir "/h" k ".yaml"
      print "apiVersion: argoproj.io/v1alpha1\nkind: Sensor\nmetadata: {name: h" k "}\nspec:" >f
      print "  dependencies: [{name: a, eventSourceName: demo, eventName: held" k "}, {name: b, eventSourceName: demo, eventName: never" k "}]" >f
      print "  triggers: [{template: {name: t, conditions: \"a && b\", log: {}}}]" >f
      close(f) } }'
}
subjects_held() { echo "held0..held$(($1 - 1))"; }

# config FILE POOL TOPIC SENSORS DATADIR
config() {
  cat >"$1" <<YAML
eventbus:
  brokers: "$bs"
  topic: $3
  partitions: $parts
  replicationFactor: 1
  # the measurement pauses the daemon while it produces the events: not a lost host
  librdkafka: {session.timeout.ms: "60000", transaction.timeout.ms: "70000"}
pool: $2
instance: cost
workers: 1
listen: 127.0.0.1:0
pidFile: $5.pid
dataDir: $5
sensors: $4/*.yaml
log: {level: info, file: $5.log}
YAML
}

ksensord_stop() {   # continues a paused daemon, stops it gracefully and waits
  local pid=$1
  kill -CONT $(ksensord_pids "$pid") 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  ks_pid=
}

alive() { kill -0 "$1" 2>/dev/null || { tail -n 20 "$2" >&2; die "ksensord $1 died (log above)"; }; }

# wait_ready PID DATADIR: until /readyz answers 200
wait_ready() {
  until [[ -s $2/http-listener ]] && curl -sf "http://$(<"$2/http-listener")/readyz" >/dev/null 2>&1; do
    alive "$1" "$2.log"
    sleep 0.05
  done
}

# metric DATADIR NAME: a sample of the daemon's /metrics (answered by the supervisor, not the broker)
metric() {
  curl -sf "http://$(<"$1/http-listener")/metrics" 2>/dev/null | awk -v m="$2" '$1 == m { print $2 }' || true
}

# wait_drained PID POOL TOPIC DATADIR: until the group has committed the event, trigger and action
# topics' ends. Each kstool call costs the broker about 15 ms of CPU and takes over half a second, so
# it is asked only once the daemon has read every event and knows of no lag.
wait_drained() {
  local n lag
  while :; do
    n=$(metric "$4" ksensor_events_total); lag=$(metric "$4" ksensor_consumer_lag)
    ((${n:-0} >= events)) && [[ $lag == 0 ]] && break
    alive "$1" "$4.log"
    sleep 0.05
  done
  until "$build/kstool" drained "$bs" "$2" "$3" "$2-trigger" "$2-action" >/dev/null 2>&1; do
    alive "$1" "$4.log"
    sleep 0.05
  done
}

# ---- one run ----------------------------------------------------------------------------------

# kafka_figures POOL TOPIC SNAPSHOT0 SNAPSHOT1 SNAPSHOT2: bytes and records appended to the event topic
# between the first two snapshots (the input) and to the pool's topics between the last two (the
# drain), then the coordination bytes (the transaction markers in the pool's topics, everything on
# __consumer_offsets and __transaction_state) and the transactions (markers on __consumer_offsets)
kafka_figures() {
  local pool=$1 topic=$2 t db dr cb cn coord
  local -A data recs ctl txn
  while read -r t db dr cb cn; do data[$t]=$db; recs[$t]=$dr; done < <(appended "$3" "$4" | grep "^$topic ")
  while read -r t db dr cb cn; do data[$t]=$db; recs[$t]=$dr; ctl[$t]=$cb; txn[$t]=$cn; done < <(appended "$4" "$5")
  coord=$((${data[__consumer_offsets]:-0} + ${ctl[__consumer_offsets]:-0} + ${data[__transaction_state]:-0} + ${ctl[__transaction_state]:-0}))
  for t in "$pool-trigger" "$pool-action" "$pool-state"; do coord=$((coord + ${ctl[$t]:-0})); done
  echo "${data[$topic]:-0} ${recs[$topic]:-0} ${data[$pool-trigger]:-0} ${recs[$pool-trigger]:-0}" \
    "${data[$pool-action]:-0} ${recs[$pool-action]:-0} ${data[$pool-state]:-0} ${recs[$pool-state]:-0}" \
    "$coord ${txn[__consumer_offsets]:-0}"
}

# measure NAME SENSORS SUBJECTS RUN INDEX: one run; appends its figures to $work/NAME.runs, in columns
#   1 load s, 2 load CPU s, 3 drain s, 4 ksensord ticks, 5 broker ticks, 6 broker ticks of the input,
#   7 SQLite bytes, 8-15 bytes and records of the event, trigger, action and state topics,
#   16 coordination bytes, 17 transactions (markers on __consumer_offsets), 18 disturbing log lines,
#   19-20 ksensord and broker ticks in $idle_s s while ksensord waits for events, 21 log bytes
measure() {
  local name=$1 sensors=$2 subjects=$3 r=$4
  # names of about the length of real ones (they travel in every record's key and headers)
  local pool=k$id-$5-$r topic=e$id-$5-$r dir=$work/k$id-$5-$r pid t0 t_load load_cpu drain_s n_read
  local i0 i1 j0 j1 b0 b1 b2 k0 k1 w0 w1 log0 log1 lines0 disturbed
  local s0=$work/seg0 s1=$work/seg1 s2=$work/seg2
  "$build/kstool" create-topic "$bs" "$topic" "$parts" >/dev/null
  config "$work/$pool.yaml" "$pool" "$topic" "$sensors" "$dir"

  # the load: from the start until /readyz; then what a ready daemon costs while it waits for events
  t0=$(now)
  "$build/ksensord" -f -c "$work/$pool.yaml" 2>>"$work/ksensord.stderr" &
  pid=$!; ks_pid=$pid
  wait_ready "$pid" "$dir"
  t_load=$(calc %.2f "$(now) - $t0")
  i0=$(ticks $(ksensord_pids "$pid")); j0=$(ticks "${broker_pids[@]}")
  sleep "$idle_s"                       # a measuring window, not a synchronisation
  i1=$(ticks $(ksensord_pids "$pid")); j1=$(ticks "${broker_pids[@]}")
  kill -STOP $(ksensord_pids "$pid")
  load_cpu=$(calc %.2f "$i0 / $hz")

  # the input, produced while ksensord is paused
  segments >"$s0"; b0=$(ticks "${broker_pids[@]}")
  "$build/loadgen" -b "$bs" -t "$topic" -n "$events" -S demo -e "$subjects" >/dev/null
  segments >"$s1"; b1=$(ticks "${broker_pids[@]}")

  # the drain
  k0=$(ticks $(ksensord_pids "$pid")); w0=$(disk_writes $(ksensord_pids "$pid"))
  log0=$(stat -c %s "$dir.log"); lines0=$(wc -l <"$dir.log")
  t0=$(now)
  kill -CONT $(ksensord_pids "$pid")
  wait_drained "$pid" "$pool" "$topic" "$dir"
  k1=$(ticks $(ksensord_pids "$pid")); w1=$(disk_writes $(ksensord_pids "$pid"))
  b2=$(ticks "${broker_pids[@]}"); segments >"$s2"
  drain_s=$(calc %.2f "$(now) - $t0")
  n_read=$(metric "$dir" ksensor_events_total)
  ((${n_read:-0} == events)) || die "$pool read ${n_read:-no} events, not $events"
  log1=$(stat -c %s "$dir.log")
  disturbed=$(tail -n +"$((lines0 + 1))" "$dir.log" | grep -Ec ' (error|critical) |revoked|fenced|worker [0-9]+ (exited|died)' || true)
  ((disturbed == 0)) || say "  warning: $disturbed error, revocation or restart line(s) during the drain"
  ksensord_stop "$pid"

  echo "$t_load $load_cpu $drain_s $((k1 - k0)) $((b2 - b1)) $((b1 - b0)) $((w1 - w0 - (log1 - log0)))" \
    "$(kafka_figures "$pool" "$topic" "$s0" "$s1" "$s2") $disturbed $((i1 - i0)) $((j1 - j0)) $((log1 - log0))" >>"$work/$name.runs"
  say "  load $t_load s; drain $drain_s s: ksensord $(calc %.2f "($k1 - $k0) / $hz") CPU s, broker $(calc %.2f "($b2 - $b1) / $hz") CPU s," \
    "SQLite $((w1 - w0 - (log1 - log0))) B, log $((log1 - log0)) B"
  rm -rf "$dir" "$dir.log" "$dir.pid"
}

# col NAME N: the median of column N of NAME's runs
col() { awk -v c="$2" '{ print $c }' "$work/$1.runs" | median; }

# ---- main -------------------------------------------------------------------------------------

find_brokers
say "broker pid(s) ${broker_pids[*]}, log dir(s) ${log_dirs[*]}"
configs=()
for n in "${sensor_counts[@]}"; do configs+=("copies:$n"); done
for n in "${held_counts[@]}"; do configs+=("held:$n"); done
for i in "${!configs[@]}"; do
  c=${configs[i]}; kind=${c%%:*}; n=${c#*:}
  say "sensors: $kind $n"
  "$kind" "$work/sensors-$kind-$n" "$n"
  for r in $(seq "$runs"); do
    say "$kind $n, run $r: $events events"
    measure "$kind$n" "$work/sensors-$kind-$n" "$("subjects_$kind" "$n")" "$r" "$i"
  done
  rm -rf "$work/sensors-$kind-$n"
done

# ---- the report --------------------------------------------------------------------------------

per_k() { calc %.3f "$1 / $hz / $events * 1000"; }      # ticks → CPU s per 1,000 events
per_e() { calc %.0f "$1 / $events"; }                    # bytes → bytes per event
pct() { calc %.1f "$1 / $hz / $idle_s * 100"; }          # ticks of the idle window → % of a core
rec() { calc %.2f "${fig[$1,$2]} / $events"; }           # rec NAME COLUMN: records per event
bpr() { calc %.0f "(${fig[$1,$3]} > 0) ? ${fig[$1,$2]} / ${fig[$1,$3]} : 0"; }   # bpr NAME BYTES RECORDS
thousands() { sed ':a; s/\B[0-9]\{3\}\>/,&/; ta' <<<"$1"; }
label() {   # label KIND N
  if [[ $1 == copies ]]; then echo "$(thousands "$2") × example-1 ($(thousands $((3 * $2))) triggers)"
  else echo "held: $(thousands "$2") sensors \`a && b\`, \`b\` never comes"; fi
}

# figures NAME: the medians of NAME's runs into fig[NAME,1…21], and the derived figures
declare -A fig
figures() {
  local name=$1 i
  for i in $(seq 1 21); do fig[$name,$i]=$(col "$name" "$i"); done
  fig[$name,ks]=$(per_k "${fig[$name,4]}"); fig[$name,br]=$(per_k "${fig[$name,5]}")
  fig[$name,in]=$(per_e "${fig[$name,8]}"); fig[$name,ingest]=$(per_k "${fig[$name,6]}")
  fig[$name,trig]=$(per_e "${fig[$name,10]}"); fig[$name,act]=$(per_e "${fig[$name,12]}")
  fig[$name,st]=$(per_e "${fig[$name,14]}"); fig[$name,co]=$(per_e "${fig[$name,16]}")
  fig[$name,written]=$(per_e "$((fig[$name,10] + fig[$name,12] + fig[$name,14] + fig[$name,16]))")
  fig[$name,sq]=$(per_e "${fig[$name,7]}")
  fig[$name,core]=$(calc %.0f "(${fig[$name,ks]} > 0) ? 1000 / ${fig[$name,ks]} : 0")
}

report_costs() {
  local c kind n name
  echo "| configuration | load s | events | ksensord CPU s /1,000 events | broker CPU s /1,000 events | events/s per ksensord core | Kafka B/event: input (event topic) | trigger | action | state | coordination | broker B written /event (ksensor's) | SQLite B/event |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for c in "${configs[@]}"; do
    kind=${c%%:*}; n=${c#*:}; name=$kind$n
    echo "| $(label "$kind" "$n") | ${fig[$name,1]} | $(thousands "$events") | ${fig[$name,ks]} | ${fig[$name,br]} |" \
      "$(thousands "${fig[$name,core]}") | $(thousands "${fig[$name,in]}") | $(thousands "${fig[$name,trig]}") |" \
      "$(thousands "${fig[$name,act]}") | $(thousands "${fig[$name,st]}") | $(thousands "${fig[$name,co]}") |" \
      "$(thousands "${fig[$name,written]}") | $(thousands "${fig[$name,sq]}") |"
  done
}

report_details() {
  local c kind n name disturbed
  echo "| configuration | records /event: trigger | action | state | transactions /1,000 events | B/record: trigger | action | state | load CPU s | idle, % of a core: ksensord | broker | drain events/s (wall) | runs disturbed |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for c in "${configs[@]}"; do
    kind=${c%%:*}; n=${c#*:}; name=$kind$n
    disturbed=$(awk '$18 > 0' "$work/$name.runs" | wc -l)
    echo "| $(label "$kind" "$n") | $(rec "$name" 11) | $(rec "$name" 13) | $(rec "$name" 15) | $(calc %.1f "${fig[$name,17]} / $events * 1000") |" \
      "$(bpr "$name" 10 11) | $(bpr "$name" 12 13) | $(bpr "$name" 14 15) | ${fig[$name,2]} | $(pct "${fig[$name,19]}") | $(pct "${fig[$name,20]}") |" \
      "$(thousands "$(calc %.0f "$events / ${fig[$name,3]}")") | $disturbed of $runs |"
  done
}

# largest NAME: the topic (or coordination) with the most bytes per event, and its share
largest() {
  local name=$1 k best=trig
  local -A names=([trig]=trigger [act]=action [st]=state [co]=coordination)
  for k in act st co; do
    if ((fig[$name,$k] > fig[$name,$best])); then best=$k; fi
  done
  echo "${names[$best]} ($(calc %.0f "${fig[$name,$best]} * 100 / ${fig[$name,written]}") % of it)"
}

over_configs() { local c; for c in "${configs[@]}"; do echo "${fig[${c%%:*}${c#*:},$1]}"; done | median; }  # median of a figure

# report_sizing: a few sentences from the figures (the first and last sensor counts, the held ones)
report_sizing() {
  local first=copies${sensor_counts[0]} last=copies${sensor_counts[-1]} n h one many in_b ingest idle_ks idle_br
  one="$(thousands "${sensor_counts[0]}") sensor(s)"; many=$(thousands "${sensor_counts[-1]}")
  ((sensor_counts[0] != 1)) || one="example-1 alone"
  in_b=$(over_configs in); ingest=$(over_configs ingest)                  # the same in every configuration
  idle_ks=$(pct "$(over_configs 19)"); idle_br=$(pct "$(over_configs 20)")
  echo "What it means for sizing (from the figures above; the broker and ksensord share this machine's $(nproc) cores):"
  echo
  echo "- **ksensord CPU**: one core drains $(thousands "${fig[$first,core]}") events/s with $one and $(thousands "${fig[$last,core]}") with $many sensors" \
    "($(calc %.1f "${fig[$last,ks]} / ${fig[$first,ks]}") × the CPU per event of $one): workers ≈ peak events/s ÷ that, plus headroom." \
    "Loading $many sensors took ${fig[$last,1]} s (${fig[$last,2]} CPU s); a ready daemon waiting for events costs $idle_ks % of a core."
  echo "- **Broker CPU**: ${fig[$first,br]} s per 1,000 events ($one) and ${fig[$last,br]} s ($many sensors) for ksensor's traffic," \
    "$(calc %.1f "${fig[$last,br]} / ${fig[$last,ks]}") × ksensord's own CPU at $many sensors, about $(thousands "$(calc %.0f "1000 / ${fig[$last,br]}")") events/s per broker core;" \
    "taking the events in costs it another $ingest s per 1,000. Each waiting worker keeps $idle_br % of a broker core busy" \
    "(fetch polls, heartbeats, with the broker's own housekeeping), a fixed cost that weighs on small drains."
  echo "- **Broker writes**: each event of $in_b B on the event topic makes ksensor write $(thousands "${fig[$first,written]}") B to Kafka with $one and" \
    "$(thousands "${fig[$last,written]}") B with $many sensors ($(calc %.1f "${fig[$last,written]} / $in_b") × the input); the largest share is the $(largest "$last")," \
    "with $one the $(largest "$first"). Coordination (markers, offsets, transaction state) is ${fig[$last,co]} B per event: batches amortise it." \
    "Broker disk writes ≈ events/s × ($in_b + $(thousands "${fig[$last,written]}")) B × the replication factor."
  echo "- **SQLite**: $(thousands "${fig[$first,sq]}") B written per event with $one, $(thousands "${fig[$last,sq]}") B with $many sensors: WAL pages of the triggers' rows" \
    "and the ledger; the more triggers a batch changes, the more pages it writes."
  if ((events < 10 * sensor_counts[-1])); then
    echo "- At $many sensors each sensor saw about $(calc %.0f "$events / ${sensor_counts[-1]}") events: its \`&&\` triggers had few" \
      "chances to complete, so that row's firings (the action column) are below a steady state's; drain more events for it."
  fi
  for n in "${held_counts[@]}"; do
    h=held$n
    echo "- **Held state**, $(thousands "$n") sensors each holding its latest \`a\`: ${fig[$h,ks]} ksensord and ${fig[$h,br]} broker CPU s per 1,000 events," \
      "${fig[$h,written]} B per event to Kafka (state ${fig[$h,st]} B: $(rec "$h" 15) changelog records per event, one per trigger changed in a batch)" \
      "and $(thousands "${fig[$h,sq]}") B to SQLite."
  done
}

plot() {
  command -v gnuplot >/dev/null || { say "gnuplot is not installed: bench/cost.svg not written (apt-get install gnuplot-nox)"; return 0; }
  local n name
  : >"$work/plot.dat"
  for n in "${sensor_counts[@]}"; do
    name=copies$n
    echo "$n ${fig[$name,ks]} ${fig[$name,br]} ${fig[$name,trig]} ${fig[$name,act]} ${fig[$name,st]} ${fig[$name,co]} ${fig[$name,written]} ${fig[$name,sq]}" >>"$work/plot.dat"
  done
  [[ -s $work/plot.dat ]] || return 0
  mkdir -p "$top/bench"
  gnuplot <<GP
set terminal svg size 1100,450 dynamic font "sans,12"
set output "$top/bench/cost.svg"
set multiplot layout 1,2 title "ksensord: cost per event against the number of sensors ($events events drained, median of $runs run(s))"
set logscale x; set xlabel "sensors (copies of example-1)"; set key top left; set grid; set xrange [0.5:$((2 * ${sensor_counts[-1]}))]; set yrange [0:*]
set ylabel "CPU s per 1,000 events"
plot "$work/plot.dat" using 1:2 with linespoints lw 2 title "ksensord", "" using 1:3 with linespoints lw 2 title "broker"
set ylabel "bytes written per event"
plot "$work/plot.dat" using 1:8 with linespoints lw 2 title "Kafka, all", "" using 1:4 with linespoints title "Kafka: trigger", \
     "" using 1:5 with linespoints title "Kafka: action", "" using 1:6 with linespoints title "Kafka: state", \
     "" using 1:7 with linespoints title "Kafka: coordination", "" using 1:9 with linespoints dt 2 lw 2 title "SQLite"
unset multiplot
GP
  say "wrote bench/cost.svg"
}

for c in "${configs[@]}"; do figures "${c%%:*}${c#*:}"; done
echo "### Cost per event: $(thousands "$events") events drained per run ($parts partitions, one worker), $( ((runs == 1)) && echo "one run" || echo "median of $runs runs")"
echo
report_costs
echo
echo "Records per event and bytes per record, what a ready daemon costs while it waits, and the drains:"
echo
report_details
echo
report_sizing
echo
plot
