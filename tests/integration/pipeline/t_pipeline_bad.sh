#!/usr/bin/env bash
# Bad input never stops the pipeline (DESIGN.md §2.7).
#
# Part 1 — malformed records: garbage bytes, text that is not JSON, JSON that is not an object and a
# JSON CloudEvent without `source`, interleaved with good events, to example-1 and example-2. The
# good events must fire exactly as `ksensorctl eval` says, the worker keeps running, and the log
# names each bad record by topic/partition/offset. Bad records are logged at most once a second, so
# the phases are produced one after another, each once the previous one has drained and a second has
# passed; the second bad record of phase 2 is suppressed and counted in the next report.
#
# Part 2 — big events (DESIGN.md §2.6 holds "whole CloudEvents of up to megabytes"), each case with
# good events behind it that must fire:
#   big-1mib:  a 1 MiB CloudEvent (1,048,576 bytes; the event topics are created with
#              max.message.bytes=32 MiB so they can carry one), red, after part 1 on the same worker;
#   big-pair:  two CloudEvents of ~600 KB (blue, red; each fits a 1 MB record) that example-1's
#              trigger-3 holds and fires together with a yellow (a firing of ~1.2 MB);
#   big-escaped: a blue CloudEvent of 8.4 MB whose data is a string of 4.2 million backslashes
#              (each written "\\"): well under a 12 MiB event limit, but a record that carries it as
#              a JSON string (the changelog's held events) doubles it to 16.8 MB.
# The pool must drain within 20 s. A big event may fire, or be refused (for one trigger or all) and
# logged as a bad record: each trigger's firings must then be what eval gives without it.
# Every case runs even when an earlier one fails; the test fails at the end naming every failed case.
# BAD_BIG_BYTES, BAD_PAIR_BYTES and BAD_ESC_BACKSLASHES (defaults 1048576, 600000 and 4200000)
# resize the big events.
set -euo pipefail
. "$KS_TOP/tests/integration/lib/pipeline.sh"

pool=bad-$RANDOM
topic=$pool-events
sensors=("$PL_SENSORS/valid/example-1.yaml" "$PL_SENSORS/valid/example-2.yaml")
mkdir -p "$KS_TMP/sensors"
cp "${sensors[@]}" "$KS_TMP/sensors/"
pl_config "$KS_TMP/w.yaml" "$pool" badhost "$KS_TMP/data" "$KS_TMP/sensors/*.yaml"
pl_topic "$topic" 1 max.message.bytes=33554432

# the phases: "KEY<TAB>VALUE" lines; bad records are tracked by their offset (one partition)
garbage=$(head -c 300 /dev/urandom | tr -d '\n\t\0')
big_head='{"specversion":"1.0","id":"big1","source":"demo","type":"test","subject":"red","datacontenttype":"application/json","data":{"pad":"'
big_bytes=${BAD_BIG_BYTES:-1048576}      # overridable to check this test with events that fit
big_pad=$((big_bytes - ${#big_head} - 3))
{
  pl_event b1 blue
  printf 'demo.blue\t%s\n' "$garbage"
  pl_event r1 red
} >"$KS_TMP/p1.tsv"
{
  printf 'demo.blue\t%s\n' '{"specversion":"1.0","id":"trunc","source":"demo","type":"test","subject":"blue",'
  printf 'demo.blue\t%s\n' '[1,2,3]'
  pl_event y1 yellow
} >"$KS_TMP/p2.tsv"
{
  printf 'demo.blue\t%s\n' '{"specversion":"1.0","id":"nosrc","type":"test","subject":"blue","data":{}}'
  pl_event b2 blue
} >"$KS_TMP/p3.tsv"
{
  printf 'demo.red\t%s' "$big_head"; head -c "$big_pad" /dev/zero | tr '\0' x; printf '"}}\n'
  pl_event y2 yellow
  pl_event r2 red
  pl_event b3 blue
} >"$KS_TMP/p4.tsv"
[[ $(sed -n 1p "$KS_TMP/p4.tsv" | cut -f2- | tr -d '\n' | wc -c) == "$big_bytes" ]] || pl_fail "the big event is not $big_bytes bytes"
sed -n 1p "$KS_TMP/p4.tsv" | cut -f2- | jq -e '.id == "big1"' >/dev/null || pl_fail "the big event is not JSON"

# offsets of the bad records: p1 line 2 (1), p2 lines 1-2 (3, 4), p3 line 1 (6)
declare -A bad=([1]="garbage bytes" [3]="truncated JSON" [4]="a JSON array" [6]="a CloudEvent without source")

# run_phase NAME: produces a phase (a second after the previous one) and waits until it drained
run_phase() {
  local phase=$1 deadline
  [[ $phase == p1 ]] || sleep 1.1   # the next bad record falls in a new one-second log window
  pl_produce "$topic" "$KS_TMP/$phase.tsv"
  produced=$((produced + $(wc -l <"$KS_TMP/$phase.tsv")))
  [[ $phase != p4 ]] || return 0    # the big event: check_big waits
  deadline=$((SECONDS + 30))
  until pl_drained "$pool"; do
    pl_alive "$pid" "after phase $phase"
    if ((SECONDS >= deadline)); then
      echo "the most frequent worker log lines about the stall:" >&2
      { grep -aE ' (error|warning) ' "$KS_TMP/worker.log" | cut -d' ' -f2- | sort | uniq -c | sort -rn \
          | head -n 5 | cut -c1-250 >&2; } || true
      pl_fail "the pipeline stopped in phase $phase: not drained 30 s after it was produced" \
              "($(tr '\n' ';' <"$KS_TMP/drained.out"); $(grep -ac 'aborting the batch' "$KS_TMP/worker.log" || true) aborted batches)"
    fi
    sleep 0.3
  done
  pl_alive "$pid" "after phase $phase"
  pl_say "phase $phase ($(wc -l <"$KS_TMP/$phase.tsv") records, $produced in all) drained; the worker runs"
}

pl_start_fresh pid "$KS_TMP/worker.log" "$KS_TMP/w.yaml"
produced=0
run_phase p1
run_phase p2
run_phase p3
for off in 1 3 6; do
  grep -aqF "bad record $topic/0/$off skipped: " "$KS_TMP/worker.log" \
    || pl_fail "no bad-record warning for ${bad[$off]} at $topic/0/$off"
  pl_say "logged: $(grep -ao "bad record $topic/0/$off skipped: [^(]*" "$KS_TMP/worker.log" | head -n 1)(${bad[$off]})"
done
grep -aF "bad record $topic/0/6 skipped: " "$KS_TMP/worker.log" | grep -cF '(2 bad records since the last report)' >/dev/null \
  || pl_fail "the report at offset 6 does not count the suppressed record at offset 4 (${bad[4]})"
n=$(pl_count "$pool-action")
pl_oracle <(cat "$KS_TMP"/p[1-3].tsv) "${sensors[@]}" >"$KS_TMP/expected-p123"
[[ $n == $(wc -l <"$KS_TMP/expected-p123") ]] || pl_fail "after three phases: $n firings, expected $(wc -l <"$KS_TMP/expected-p123")"
pl_say "the four malformed records were skipped and logged; the good ones fired ($n firings)"

# check_big CASE POOL EVENTS_FILE BIG_IDS BIG_OFFSETS PID LOG: the pool drains within 20 s, and
# each trigger's firings on the action topic are exactly those `ksensorctl eval` computes with the
# big events (BIG_IDS, space-separated), or — when the worker refused some of them for that trigger
# (a record too large) — without them: eval over the events minus some subset of BIG_IDS. A refusal
# must be logged as a bad record (an event-topic offset of BIG_OFFSETS, a regex, or a trigger/action
# record). Records a failure in FAILED and kills the worker on a stall; otherwise stops it (SIGTERM,
# exit 0).
FAILED=()
check_big() {
  local case=$1 cpool=$2 events=$3 big=$4 offsets=$5 cpid=$6 log=$7 deadline=$((SECONDS + 20))
  local ids=($big) n subsets=() mask i id key ok sub refused=""
  until pl_drained "$cpool"; do
    if ! pl_running "$cpid" || ((SECONDS >= deadline)); then
      echo "$case: the most frequent worker log lines:" >&2
      { grep -aE ' (error|warning) ' "$log" | cut -d' ' -f3- | sort | uniq -c | sort -rn | head -n 4 | cut -c1-200 >&2; } || true
      if pl_running "$cpid"; then
        pl_kill9 "$cpid"
        FAILED+=("$case: the pipeline stopped: not drained 20 s after the big events")
      else
        pl_wait_exit "$cpid" 1 || true
        FAILED+=("$case: the worker exited (status $PL_RC) instead of getting past the big events")
      fi
      FAILED[-1]+=" ($(tr '\n' ';' <"$KS_TMP/drained.out") $(grep -ac 'aborting the batch' "$log" || true) aborted batches)"
      pl_say "FAIL ${FAILED[-1]}"
      return 0
    fi
    sleep 0.3
  done
  pl_stop "$cpid"
  pl_read "$cpool-action" | pl_firings_of_actions >"$KS_TMP/$case.got" || pl_fail "$case: cannot decode the action topic"
  # eval without each subset of the big events (mask bit i: ids[i] left out)
  n=${#ids[@]}
  for ((mask = 0; mask < (1 << n); mask++)); do
    cp "$events" "$KS_TMP/$case.in.$mask"
    for ((i = 0; i < n; i++)); do
      if ((mask & (1 << i))); then
        grep -v "\"id\":\"${ids[i]}\"" "$KS_TMP/$case.in.$mask" >"$KS_TMP/$case.tmp" || true
        mv "$KS_TMP/$case.tmp" "$KS_TMP/$case.in.$mask"
      fi
    done
    pl_oracle "$KS_TMP/$case.in.$mask" "${sensors[@]}" >"$KS_TMP/$case.expected.$mask"
    subsets+=("$mask")
  done
  for key in $(cut -f1 "$KS_TMP/$case.got" "$KS_TMP/$case.expected".* | sort -u); do
    ok=""
    grep -F "$key"$'\t' "$KS_TMP/$case.got" >"$KS_TMP/$case.got.t" || true
    for mask in "${subsets[@]}"; do
      grep -F "$key"$'\t' "$KS_TMP/$case.expected.$mask" >"$KS_TMP/$case.exp.t" || true
      if cmp -s "$KS_TMP/$case.exp.t" "$KS_TMP/$case.got.t"; then ok=$mask; break; fi
    done
    if [[ -z $ok ]]; then
      pl_compare_firings "$case, trigger $key (with all the big events)" "$KS_TMP/$case.exp.t" "$KS_TMP/$case.got.t"
    fi
    if ((ok != 0)); then
      sub=""
      for ((i = 0; i < n; i++)); do ((ok & (1 << i))) && sub+="${ids[i]} "; done
      refused+="$key without ${sub% }; "
    fi
  done
  if [[ -n $refused ]]; then
    grep -aqE "bad record ($cpool-events/0/($offsets)|$cpool-(trigger|action)/[0-9]+/[0-9]+) skipped" "$log" \
      || pl_fail "$case: big events left out ($refused) without a bad-record line"
    pl_say "$case: refused and logged: ${refused%; }"
  fi
  pl_unique_ids "$cpool-action"
  pl_say "$case: the pool drained; $(wc -l <"$KS_TMP/$case.got") firings, each trigger's exactly as eval says"
}

# big-1mib: on the worker of part 1
run_phase p4 || true
cat "$KS_TMP"/p[1-4].tsv >"$KS_TMP/all.tsv"
check_big big-1mib "$pool" "$KS_TMP/all.tsv" big1 8 "$pid" "$KS_TMP/worker.log"
if ! pl_running "$pid" 2>/dev/null && [[ ${FAILED[*]:-} != *big-1mib* ]]; then
  stopped=$(grep -ao 'stopped: [0-9]* events, [0-9]* bad' "$KS_TMP/worker.log" | tail -n 1)
  [[ $stopped == "stopped: $produced events, "[45]" bad" ]] || pl_fail "worker counters: '$stopped', expected $produced events and 4 (or 5) bad"
  pl_say "worker $stopped"
fi

# big-pair: a pool of its own
pool2=$pool-pair
pad6=$(head -c "${BAD_PAIR_BYTES:-600000}" /dev/zero | tr '\0' x)
{
  pl_event pb1 blue "{\"pad\":\"$pad6\"}"
  pl_event pr1 red "{\"pad\":\"$pad6\"}"
  pl_event py1 yellow
  pl_event pb2 blue
  pl_event py2 yellow
  pl_event pr2 red
} >"$KS_TMP/pair.tsv"
pl_topic "$pool2-events" 1
pl_config "$KS_TMP/w2.yaml" "$pool2" badhost "$KS_TMP/data2" "$KS_TMP/sensors/*.yaml"
pl_start_fresh pid2 "$KS_TMP/worker2.log" "$KS_TMP/w2.yaml"
pl_produce "$pool2-events" "$KS_TMP/pair.tsv"
check_big big-pair "$pool2" "$KS_TMP/pair.tsv" 'pb1 pr1' '0|1' "$pid2" "$KS_TMP/worker2.log"

# big-escaped: a pool of its own, its event topic taking records of 32 MiB
pool3=$pool-esc
{
  printf 'demo.blue\t{"specversion":"1.0","id":"esc1","source":"demo","type":"test","subject":"blue","datacontenttype":"application/json","data":{"pad":"'
  head -c "${BAD_ESC_BACKSLASHES:-4200000}" /dev/zero | tr '\0' '\\' | sed 's/\\/\\\\/g'
  printf '"}}\n'
  pl_event ey1 yellow
  pl_event er1 red
  pl_event eb2 blue
  pl_event ey2 yellow
} >"$KS_TMP/esc.tsv"
sed -n 1p "$KS_TMP/esc.tsv" | cut -f2- | jq -e '.id == "esc1"' >/dev/null || pl_fail "the escaped event is not JSON"
pl_topic "$pool3-events" 1 max.message.bytes=33554432
pl_config "$KS_TMP/w3.yaml" "$pool3" badhost "$KS_TMP/data3" "$KS_TMP/sensors/*.yaml"
pl_start_fresh pid3 "$KS_TMP/worker3.log" "$KS_TMP/w3.yaml"
pl_produce "$pool3-events" "$KS_TMP/esc.tsv"
check_big big-escaped "$pool3" "$KS_TMP/esc.tsv" 'esc1' 0 "$pid3" "$KS_TMP/worker3.log"

if ((${#FAILED[@]} > 0)); then
  printf 'FAIL: %s\n' "${FAILED[@]}" >&2
  exit 1
fi
