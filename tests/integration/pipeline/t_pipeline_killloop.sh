#!/usr/bin/env bash
# Chaos on one host (DESIGN.md §2.1, §2.2, §2.4, §8 "Chaos"): 10,000 events for example-1,
# example-2 and example-2-green on a one-partition event topic, all produced up front; one worker
# killed with kill -9 at random moments (0.2 to 1.0 s after each start, so kills land in restores,
# batches and commits alike) and restarted, 12 times (10 at least), each kill interrupting pending
# work (the pool is not drained once the worker is dead), then left to drain everything. Then the
# action topic (read_committed) must hold exactly the firings `ksensorctl eval` computes from the
# same input: per trigger in the same order, none missing, none twice.
# batchSize 100 makes about 500 transactions of the run, so kills often fall between commits, and
# the run long enough (about 15 s of work on 2 cores) for 12 kills (about 0.6 s apart, some of it
# restart time) to land while work is pending; a last life then drains the rest.
# KILLLOOP_SEED=N replays the same kill schedule.
set -euo pipefail
. "$KS_TOP/tests/integration/lib/pipeline.sh"

seed=${KILLLOOP_SEED:-$(( $(date +%s) % 100000 ))}
RANDOM=$seed
pool=kill-$seed
want_kills=12
min_kills=10
sensors=("$PL_SENSORS/valid/example-1.yaml" "$PL_SENSORS/valid/example-2.yaml"
         "$PL_SENSORS/pipeline/example-2-green.yaml")
mkdir -p "$KS_TMP/sensors"
cp "${sensors[@]}" "$KS_TMP/sensors/"
pl_config "$KS_TMP/w.yaml" "$pool" killhost "$KS_TMP/data" "$KS_TMP/sensors/*.yaml"
sed -i 's/^batchSize: .*/batchSize: 100/' "$KS_TMP/w.yaml"

awk -v seed="$seed" 'BEGIN { srand(seed); split("blue yellow red green", c, " ");
  for (i = 1; i <= 10000; i++) print "e" i, c[1 + int(rand() * 4)] }' \
  | while read -r id subject; do pl_event "$id" "$subject" "{\"i\":${id#e}}"; done >"$KS_TMP/events.tsv"
pl_oracle "$KS_TMP/events.tsv" "${sensors[@]}" >"$KS_TMP/expected"
pl_say "seed $seed: 10000 events, eval expects $(wc -l <"$KS_TMP/expected") firings"
pl_topic "$pool-events" 1
# a first life creates the internal topics and stops; then the events go in, all up front
pl_start_fresh pid "$KS_TMP/worker.log" "$KS_TMP/w.yaml"
pl_stop "$pid"
pl_produce "$pool-events" "$KS_TMP/events.tsv"

lives=0 kills=0
t0=$SECONDS
# kill -9 at random moments until $want_kills kills have interrupted pending work (at least
# $min_kills must have before the pool drains)
while ((kills < want_kills)); do
  pl_start pid "$KS_TMP/worker.log" "$KS_TMP/w.yaml"
  lives=$((lives + 1))
  delay=$((200 + RANDOM % 800))
  sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
  pl_alive "$pid" "on its own in life $lives (it must only die by kill -9)"
  pl_kill9 "$pid"
  if pl_drained "$pool"; then
    ((kills >= min_kills)) || pl_fail "the pool drained after only $kills kills that interrupted work (life $lives): give the test more work"
    break
  fi
  kills=$((kills + 1))
  ((SECONDS - t0 < 240)) || pl_fail "$kills kills took $((SECONDS - t0)) s"
done
pl_say "$kills kills at random moments, each with work pending, in $((SECONDS - t0)) s; now a last life drains the rest"

# a last life drains the rest and stops cleanly
pl_start pid "$KS_TMP/worker.log" "$KS_TMP/w.yaml"
pl_wait_drained "$pool" 120
pl_alive "$pid" "while draining after the kills"
drain_s=$((SECONDS - t0))
pl_stop "$pid"
pl_say "drained in $drain_s s after $kills kills ($lives + 1 lives): $((10000 / (drain_s > 0 ? drain_s : 1))) events/s including the restarts"

pl_read "$pool-action" | pl_firings_of_actions >"$KS_TMP/got" || pl_fail "cannot decode the action topic"
pl_compare_firings "kill loop" "$KS_TMP/expected" "$KS_TMP/got"
pl_unique_ids "$pool-action"
pl_say "the action topic holds exactly the $(wc -l <"$KS_TMP/got") expected firings, per trigger in order, each once"
