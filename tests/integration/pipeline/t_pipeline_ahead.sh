#!/usr/bin/env bash
# A trigger task's file ahead of Kafka (DESIGN.md §3 "Commit protocol": Kafka is the source of
# truth). A broker can report a transaction committed and then lose it (seen under a whole-cluster
# outage: the commit was acknowledged, its markers never reached the partitions, and the records
# were aborted later); the worker has committed its SQLite file by then, so the file holds events
# from records Kafka will deliver again. Here the file is put in that state by hand after a first
# part of the stream: every held event is replaced by a "ghost" one, the file claims to have applied
# 1,000 trigger records more than Kafka committed, and its changelog position lies past the end, so
# the restore on assignment finds nothing to read. When the worker comes back and the consumer
# delivers a record the file claims to have applied, the task must drop its held events and rebuild
# them from the whole changelog: the second part opens with a yellow that must fire with the first
# part's closing blue, never with the ghost. The action topic then holds exactly the firings
# `ksensorctl eval` computes for both parts, each once, and the file's held table equals the
# changelog's.
set -euo pipefail
. "$KS_TOP/tests/integration/lib/pipeline.sh"

pool=ahead-$RANDOM
sensors=("$PL_SENSORS/valid/example-1.yaml" "$PL_SENSORS/valid/example-2.yaml")
mkdir -p "$KS_TMP/sensors"
cp "${sensors[@]}" "$KS_TMP/sensors/"
pl_config "$KS_TMP/a.yaml" "$pool" hostA "$KS_TMP/data" "$KS_TMP/sensors/*.yaml"
pl_topic "$pool-events" 1
pl_segment s1 7 >"$KS_TMP/s1.tsv"
pl_segment s2 13 >"$KS_TMP/s2.tsv"
cat "$KS_TMP/s1.tsv" "$KS_TMP/s2.tsv" >"$KS_TMP/all.tsv"
n1=$(pl_oracle "$KS_TMP/s1.tsv" "${sensors[@]}" | wc -l)
pl_oracle "$KS_TMP/all.tsv" "${sensors[@]}" >"$KS_TMP/expected"
db=$KS_TMP/data/$pool-trigger-0.db

pl_produce "$pool-events" "$KS_TMP/s1.tsv"
pl_start_fresh a "$KS_TMP/a.log" "$KS_TMP/a.yaml"
pl_wait_count "$pool-action" "$n1" 60
pl_wait_drained "$pool" 30
pl_stop "$a"
grep -q $'^example-2/trigger-1|blue|s1-close$' <(pl_held "$db") \
  || pl_fail "the first part did not leave s1-close held for example-2/trigger-1"
input=$(pl_sql "$db" "SELECT value FROM position WHERE name = 'input'")
[[ -n $input ]] || pl_fail "the trigger task's file records no input position"
sqlite3 "$db" "UPDATE held SET event = CAST(json_set(CAST(event AS TEXT), '\$.id', 'ghost') AS BLOB);
               UPDATE position SET value = value + 1000 WHERE name = 'input';
               UPDATE position SET value = 1000000000 WHERE name = 'changelog';"
pl_say "first part: $n1 firings; the file now holds $(pl_held "$db" | grep -c '|ghost$') ghost events and claims input up to $((input + 1000)) (Kafka: $input)"

lines=$(wc -l <"$KS_TMP/a.log")
pl_start a "$KS_TMP/a.log" "$KS_TMP/a.yaml"
pl_produce "$pool-events" "$KS_TMP/s2.tsv"
pl_wait_count "$pool-action" "$(wc -l <"$KS_TMP/expected")" 60
pl_wait_drained "$pool" 30
pl_alive "$a" "while draining the second part"
pl_stop "$a"

pl_read "$pool-action" | pl_firings_of_actions >"$KS_TMP/got" || pl_fail "cannot decode the action topic"
pl_compare_firings "file ahead of Kafka" "$KS_TMP/expected" "$KS_TMP/got"
pl_unique_ids "$pool-action"
pl_held "$db" >"$KS_TMP/held"
pl_changelog_held "$pool" >"$KS_TMP/held-changelog"
diff -u "$KS_TMP/held-changelog" "$KS_TMP/held" >&2 || pl_fail "the file's held table differs from the changelog's (- changelog, + file)"
pl_log_since "$KS_TMP/a.log" "$lines" 'trigger/0: its file holds state up to offset [0-9]+, .* rebuilding the state' \
  || pl_fail "the worker did not log the rebuild of the trigger task's state"
pl_say "the state was rebuilt from the changelog; the action topic holds exactly the $(wc -l <"$KS_TMP/got") expected firings, each once"
