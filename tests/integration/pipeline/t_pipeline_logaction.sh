#!/usr/bin/env bash
# `log` action lines (DESIGN.md §2.3): every firing of a log trigger on the action topic is written
# as one "action log:" line, never lost and never twice, across crashes of the worker at each point
# of the commit of the batch that ran the actions. The batch writes its lines to the worker's journal
# before the Kafka commit and to the log after both commits (pipeline/journal.c): a crash before the
# Kafka commit drops them (the batch is read again and acts again), a crash after it leaves them to
# the next start, which writes them because the committed offsets reach the batch's.
#
# example-1 and example-2 (log triggers only); events b1 (blue) and r1 (red) before the worker
# starts, so batch 1 is the event stage (example-1/trigger-1 and example-2/trigger-2 fire straight
# to the action topic) and batch 2 runs those two actions. For each crash point, in a pool of its
# own, the worker crashes in batch 2 there and is restarted; then y1 (yellow) fires the triggers
# holding blue. The "action log:" lines of both lives, by firing id, must equal the firing ids on the
# action topic, each once, and the restarted worker must say what it did with the journal.
set -euo pipefail
. "$KS_TOP/tests/integration/lib/pipeline.sh"

sensors=("$PL_SENSORS/valid/example-1.yaml" "$PL_SENSORS/valid/example-2.yaml")
mkdir -p "$KS_TMP/sensors"
cp "${sensors[@]}" "$KS_TMP/sensors/"
{ pl_event b1 blue; pl_event r1 red; } >"$KS_TMP/round1.tsv"
pl_event y1 yellow >"$KS_TMP/round2.tsv"
cat "$KS_TMP/round1.tsv" "$KS_TMP/round2.tsv" >"$KS_TMP/all.tsv"
expected=$(pl_oracle "$KS_TMP/all.tsv" "${sensors[@]}" | wc -l)

failed=()
for crash in before-kafka-commit:2 after-kafka-commit:2 before-sqlite-commit:2 after-sqlite-commit:2; do
  name=${crash//:/-}
  pool=logact-$name-$RANDOM
  log=$KS_TMP/$name.log
  pl_config "$KS_TMP/$name.yaml" "$pool" loghost "$KS_TMP/data-$name" "$KS_TMP/sensors/*.yaml"
  pl_topic "$pool-events" 1
  pl_produce "$pool-events" "$KS_TMP/round1.tsv"
  pl_start_fresh pid "$log" "$KS_TMP/$name.yaml" KSENSOR_CRASH_AT="$crash"
  pl_wait_exit "$pid" 60 || pl_fail "$name: the worker did not crash within 60 s"
  ((PL_RC == 99)) || pl_fail "$name: the worker exited $PL_RC, expected the injected crash (99)"
  lines=$(wc -l <"$log")
  pl_start pid "$log" "$KS_TMP/$name.yaml"
  pl_wait_count "$pool-action" 2 60
  pl_wait_drained "$pool" 30
  pl_produce "$pool-events" "$KS_TMP/round2.tsv"
  pl_wait_count "$pool-action" "$expected" 60
  pl_wait_drained "$pool" 30
  pl_stop "$pid"

  case $crash in
    before-kafka-commit:*) journal='dropped the 2 log lines of a batch Kafka did not commit' ;;
    after-sqlite-commit:*) journal='' ;;      # the lines were written before the crash
    *) journal='wrote the 2 log lines of a batch committed before this worker' ;;
  esac
  pl_read "$pool-action" | jq -R -r 'split("\t")[1:] | join("\t") | fromjson | .id' | sort >"$KS_TMP/$name.ids"
  grep -ao 'action log: {"firing":"[^"]*"' "$log" | sed 's/.*"firing":"//; s/"$//' | sort >"$KS_TMP/$name.lines" || true
  if ! cmp -s "$KS_TMP/$name.ids" "$KS_TMP/$name.lines"; then
    echo "$name: firing ids on the action topic (-) against the action log lines (+):" >&2
    diff "$KS_TMP/$name.ids" "$KS_TMP/$name.lines" | grep '^[<>]' >&2 || true
    failed+=("$name: $(wc -l <"$KS_TMP/$name.ids") firings on the action topic, $(wc -l <"$KS_TMP/$name.lines") action log lines ($(comm -23 "$KS_TMP/$name.ids" "$KS_TMP/$name.lines" | wc -l) never written, $(uniq -d "$KS_TMP/$name.lines" | wc -l) twice, $(comm -13 "$KS_TMP/$name.ids" "$KS_TMP/$name.lines" | sort -u | wc -l) extra)")
    pl_say "FAIL ${failed[-1]}"
  elif [[ -n $journal ]] && ! pl_log_since "$log" "$lines" "$journal"; then
    failed+=("$name: the restarted worker did not log: $journal")
    pl_say "FAIL ${failed[-1]}"
  else
    pl_say "$name: $(wc -l <"$KS_TMP/$name.ids") firings, one action log line each${journal:+ (journal: $journal)}"
  fi
done
if ((${#failed[@]} > 0)); then
  printf 'FAIL: %s\n' "${failed[@]}" >&2
  exit 1
fi
