#!/usr/bin/env bash
# Kafka loses a commit it acknowledged (DESIGN.md §3 "Commit protocol": Kafka is the source of
# truth). A broker stopped in the middle of a commit can acknowledge the transaction and never write
# its markers (seen in t_supervisor_outage): the batch's records become visible later, or are aborted
# later, and its consumed offsets are lost. Two consequences, each made here by hand:
#
#   1. A trigger task's file ahead of Kafka: the worker committed its SQLite file for the lost batch.
#      After a first part of the stream every held event is replaced by a "ghost" one, the file
#      claims 1,000 trigger records more than Kafka committed, and its changelog position lies past
#      the end (so the restore on assignment reads nothing). When the consumer delivers a record the
#      file claims to have applied, the task must drop its state and rebuild it from the whole
#      changelog: the second part opens with a yellow that must fire with the first part's closing
#      blue, never with the ghost.
#   2. An event-stage batch read again: its trigger records were made visible, its offsets lost, so
#      the same events come to the trigger topic twice. The trigger record of the second part's last
#      yellow is produced once more (headers and all); the trigger must skip it — taken, it would
#      fire with the held closing blue and shift every pairing of the third part.
#
# The action topic then holds exactly the firings `ksensorctl eval` computes for the three parts,
# each once, and the file's held table equals the changelog's.
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
pl_segment s3 17 >"$KS_TMP/s3.tsv"
cat "$KS_TMP/s1.tsv" "$KS_TMP/s2.tsv" >"$KS_TMP/s12.tsv"
cat "$KS_TMP/s12.tsv" "$KS_TMP/s3.tsv" >"$KS_TMP/all.tsv"
n1=$(pl_oracle "$KS_TMP/s1.tsv" "${sensors[@]}" | wc -l)
n2=$(pl_oracle "$KS_TMP/s12.tsv" "${sensors[@]}" | wc -l)
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
pl_say "1. first part: $n1 firings; the file now holds $(pl_held "$db" | grep -c '|ghost$') ghost events and claims input up to $((input + 1000)) (Kafka: $input)"

lines=$(wc -l <"$KS_TMP/a.log")
pl_start a "$KS_TMP/a.log" "$KS_TMP/a.yaml"
pl_produce "$pool-events" "$KS_TMP/s2.tsv"
pl_wait_count "$pool-action" "$n2" 60
pl_wait_drained "$pool" 30
pl_alive "$a" "while draining the second part"
pl_say "   second part: $n2 firings in all"

# 2. the trigger record of s2-fy for example-2/trigger-1, once more
record=$(pl_read "$pool-trigger" '%h\t%k\t%s\n' | grep -a $'\texample-2/trigger-1\t.*"id":"s2-fy"' | tail -n 1)
[[ -n $record ]] || pl_fail "no trigger record of s2-fy for example-2/trigger-1"
[[ $(cut -f1 <<<"$record") == *ksensor-source=* ]] || pl_fail "the trigger record carries no ksensor-source header: $(cut -f1 <<<"$record")"
hdrs=()
IFS=, read -r -a fields <<<"$(cut -f1 <<<"$record")"
for h in "${fields[@]}"; do hdrs+=(-H "$h"); done
cut -f2- <<<"$record" | kcat -b "$PL_B" -P -t "$pool-trigger" -p 0 -K $'\t' "${hdrs[@]}" || pl_fail "cannot produce the replayed record"
pl_produce "$pool-events" "$KS_TMP/s3.tsv"
pl_wait_count "$pool-action" "$(wc -l <"$KS_TMP/expected")" 60
pl_wait_drained "$pool" 30
pl_alive "$a" "while draining the third part"
pl_stop "$a"

pl_read "$pool-action" | pl_firings_of_actions >"$KS_TMP/got" || pl_fail "cannot decode the action topic"
pl_compare_firings "Kafka lost a commit" "$KS_TMP/expected" "$KS_TMP/got"
pl_unique_ids "$pool-action"
pl_held "$db" >"$KS_TMP/held"
pl_changelog_held "$pool" >"$KS_TMP/held-changelog"
diff -u "$KS_TMP/held-changelog" "$KS_TMP/held" >&2 || pl_fail "the file's held table differs from the changelog's (- changelog, + file)"
pl_log_since "$KS_TMP/a.log" "$lines" 'trigger/0: its file holds state up to offset [0-9]+, .* rebuilding the state' \
  || pl_fail "the worker did not log the rebuild of the trigger task's state"
pl_log_since "$KS_TMP/a.log" "$lines" 'trigger/0: example-2/trigger-1 already took the event at .*: its record is skipped' \
  || pl_fail "the worker did not log the skipped replay"
pl_say "2. the replayed record was skipped; the action topic holds exactly the $(wc -l <"$KS_TMP/got") expected firings, each once"
