#!/usr/bin/env bash
# `log` action lines (DESIGN.md §2.3): every firing of a log trigger on the action topic is written
# as one "action log:" line, and never twice, across crashes of the worker around the end of the
# batch that ran the actions. The lines are written right after the batch's Kafka and SQLite
# commits: a crash after the SQLite commit leaves every line written once; a crash between the
# Kafka commit and the SQLite commit loses that batch's lines (at most once) — the firings stay on
# the action topic exactly once. The test asserts exactly that: equality for after-sqlite-commit,
# and for after-kafka-commit no line twice, no line for a firing that is not on the action topic,
# and only the two firings of the crashed batch missing.
#
# example-1 and example-2 (log triggers only); events b1 (blue) and r1 (red) before the worker
# starts, so batch 1 is the event stage (example-1/trigger-1 and example-2/trigger-2 fire straight
# to the action topic) and batch 2 runs those two actions. The worker crashes in batch 2 at
# after-kafka-commit:2, then in another pool at after-sqlite-commit:2, and is restarted; then y1
# (yellow) fires the triggers holding blue. The "action log:" lines of both lives, by firing id,
# must equal the firing ids on the action topic, each once.
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
for crash in after-kafka-commit:2 after-sqlite-commit:2; do
  name=${crash//:/-}
  pool=logact-$name-$RANDOM
  log=$KS_TMP/$name.log
  pl_config "$KS_TMP/$name.yaml" "$pool" loghost "$KS_TMP/data-$name" "$KS_TMP/sensors/*.yaml"
  pl_topic "$pool-events" 1
  pl_produce "$pool-events" "$KS_TMP/round1.tsv"
  pl_start_fresh pid "$log" "$KS_TMP/$name.yaml" KSENSOR_CRASH_AT="$crash"
  pl_wait_exit "$pid" 60 || pl_fail "$name: the worker did not crash within 60 s"
  ((PL_RC == 99)) || pl_fail "$name: the worker exited $PL_RC, expected the injected crash (99)"
  pl_start pid "$log" "$KS_TMP/$name.yaml"
  pl_wait_count "$pool-action" 2 60
  pl_wait_drained "$pool" 30
  pl_produce "$pool-events" "$KS_TMP/round2.tsv"
  pl_wait_count "$pool-action" "$expected" 60
  pl_wait_drained "$pool" 30
  pl_stop "$pid"

  pl_read "$pool-action" | jq -R -r 'split("\t")[1:] | join("\t") | fromjson | .id' | sort >"$KS_TMP/$name.ids"
  grep -ao 'action log: {"firing":"[^"]*"' "$log" | sed 's/.*"firing":"//; s/"$//' | sort >"$KS_TMP/$name.lines" || true
  missing=$(comm -23 "$KS_TMP/$name.ids" "$KS_TMP/$name.lines" | wc -l)
  if cmp -s "$KS_TMP/$name.ids" "$KS_TMP/$name.lines"; then
    pl_say "$name: $(wc -l <"$KS_TMP/$name.ids") firings, one action log line each"
  elif [[ $crash == after-kafka-commit:* ]] && [[ -z $(uniq -d "$KS_TMP/$name.lines") ]] \
       && [[ -z $(comm -13 "$KS_TMP/$name.ids" "$KS_TMP/$name.lines") ]] && ((missing <= 2)); then
    pl_say "$name: $(wc -l <"$KS_TMP/$name.ids") firings, $missing line(s) of the crashed batch lost, none twice"
  else
    echo "$name: firing ids on the action topic (-) against the action log lines (+):" >&2
    diff "$KS_TMP/$name.ids" "$KS_TMP/$name.lines" | grep '^[<>]' >&2 || true
    failed+=("$name: $(wc -l <"$KS_TMP/$name.ids") firings on the action topic, $(wc -l <"$KS_TMP/$name.lines") action log lines ($(comm -23 "$KS_TMP/$name.ids" "$KS_TMP/$name.lines" | wc -l) never written, $(comm -13 "$KS_TMP/$name.ids" "$KS_TMP/$name.lines" | wc -l) extra)")
    pl_say "FAIL ${failed[-1]}"
  fi
done
if ((${#failed[@]} > 0)); then
  printf 'FAIL: %s\n' "${failed[@]}" >&2
  exit 1
fi
