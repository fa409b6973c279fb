#!/usr/bin/env bash
# topicLayout: per-sensor (DESIGN.md §3 "Topics"): each sensor gets Argo's topic names,
# <topic>-<sensor>-trigger and -action, plus its own compacted -state; the pool's shared topics are
# not created. 3,000 events for three sensors: worker A (host a) is killed with kill -9 in the middle
# of the first half, restarted, drains it and stops; worker B (host b, an empty dataDir) takes the
# second half, restoring the held events from each sensor's changelog. Each sensor's action
# topic holds exactly the firings `ksensorctl eval` computes for that sensor, per trigger in order,
# each once.
set -euo pipefail
. "$KS_TOP/tests/integration/lib/pipeline.sh"

pool=pers-$RANDOM
topic=$pool-events
sensors=("$PL_SENSORS/valid/example-1.yaml" "$PL_SENSORS/valid/example-2.yaml"
         "$PL_SENSORS/pipeline/example-2-green.yaml")
names=(example-1 example-2 example-2-green)
mkdir -p "$KS_TMP/sensors"
cp "${sensors[@]}" "$KS_TMP/sensors/"
for host in a b; do
  pl_config "$KS_TMP/$host.yaml" "$pool" "host-$host" "$KS_TMP/data-$host" "$KS_TMP/sensors/*.yaml"
  # small batches: many transactions, so the first half lasts long enough to be interrupted
  sed -i 's/^  partitions: 1$/  partitions: 1\n  topicLayout: per-sensor/; s/^batchSize: .*/batchSize: 20/' "$KS_TMP/$host.yaml"
done
grep -q 'topicLayout: per-sensor' "$KS_TMP/a.yaml" || pl_fail "could not write the configuration"

awk 'BEGIN { srand(11); split("blue yellow red green", c, " ");
  for (i = 1; i <= 3000; i++) print "e" i, c[1 + int(rand() * 4)] }' \
  | while read -r id subject; do pl_event "$id" "$subject" "{\"i\":${id#e}}"; done >"$KS_TMP/events.tsv"
pl_topic "$topic" 1

# drained: the group has committed everything in the event topic and every sensor's topics
drained() {
  local args=("$topic") n
  for n in "${names[@]}"; do args+=("$topic-$n-trigger" "$topic-$n-action"); done
  "$KS_BUILD/kstool" drained "$PL_B" "$pool" "${args[@]}" >"$KS_TMP/drained.out" 2>&1
}
wait_drained() { pl_until 120 "$1" drained; }

pl_start_fresh a "$KS_TMP/a.log" "$KS_TMP/a.yaml"
for n in "${names[@]}"; do
  for kind in trigger action state; do
    kcat -b "$PL_B" -L -t "$topic-$n-$kind" 2>/dev/null | grep -q "topic \"$topic-$n-$kind\" with 1 partitions" \
      || pl_fail "topic $topic-$n-$kind was not created"
  done
done
! kcat -b "$PL_B" -L 2>/dev/null | grep -q "topic \"$pool-trigger\"" || pl_fail "the shared topic $pool-trigger was created"
pl_say "per-sensor topics created: $topic-<sensor>-trigger, -action, -state for ${names[*]}"

head -n 1500 "$KS_TMP/events.tsv" >"$KS_TMP/first.tsv"
tail -n +1501 "$KS_TMP/events.tsv" >"$KS_TMP/second.tsv"
pl_produce "$topic" "$KS_TMP/first.tsv"
pl_until 60 "worker a to fire" bash -c "(( \$(grep -c 'action log: ' '$KS_TMP/a.log') > 200 ))"
pl_kill9 "$a"
drained && pl_fail "the first half drained before worker a was killed: give it more work"
# the same host again (its transactional id aborts what the killed process left open) drains the
# first half and stops; the second half goes to another host, which must restore the held events
pl_start a "$KS_TMP/a.log" "$KS_TMP/a.yaml"
wait_drained "the first half to drain"
pl_stop "$a"
pl_produce "$topic" "$KS_TMP/second.tsv"
pl_start b "$KS_TMP/b.log" "$KS_TMP/b.yaml"
wait_drained "the second half to drain"
pl_stop "$b"
grep -q 'restored [1-9][0-9]* changelog records' "$KS_TMP/b.log" || pl_fail "worker b restored nothing from the changelogs"

total=0
for i in "${!names[@]}"; do
  n=${names[$i]}
  pl_oracle "$KS_TMP/events.tsv" "${sensors[$i]}" >"$KS_TMP/expected-$n"
  pl_read "$topic-$n-action" | pl_firings_of_actions >"$KS_TMP/got-$n" || pl_fail "cannot decode $topic-$n-action"
  pl_compare_firings "per-sensor $n" "$KS_TMP/expected-$n" "$KS_TMP/got-$n"
  pl_unique_ids "$topic-$n-action"
  total=$((total + $(wc -l <"$KS_TMP/got-$n")))
done
pl_say "worker a killed, worker b (empty dataDir) finished: each sensor's action topic holds exactly its expected firings ($total in all), per trigger in order, each once"
