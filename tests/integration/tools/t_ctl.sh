#!/usr/bin/env bash
# ksensorctl against a running daemon on the real broker (DESIGN.md §6): the pipeline is driven to a
# known state (example-1 and example-2; events b1 blue, r1 red, y1 yellow, b2 blue), then each
# subcommand's output is checked, as a table and as JSON, against what `ksensorctl eval` computes
# for the same events: `pending` (the blue b2 held by the three "&&" triggers it reached),
# `firings` (every firing, with && or without), `ledger` (every firing, done), `status` (running, ready,
# the counters, a lag of 0 before any event and once drained), `sensors`, `offsets` (everything committed). Then the bad files: garbage, a foreign
# SQLite file, a newer schema, a missing dataDir — a message, exit 1, the file untouched.
set -euo pipefail
. "$KS_TOP/tests/integration/lib/supervisor.sh"

ctl=$KS_BUILD/ksensorctl
pool=ctl-$RANDOM
sensors=("$PL_SENSORS/valid/example-1.yaml" "$PL_SENSORS/valid/example-2.yaml")
mkdir -p "$KS_TMP/sensors"
cp "${sensors[@]}" "$KS_TMP/sensors/"
pl_topic "$pool-events" 1
sv_config "$KS_TMP/k.yaml" "$pool" 1 1 "$KS_TMP/sensors/*.yaml"
cfg=$KS_TMP/k.yaml
{
  pl_event b1 blue; pl_event r1 red; pl_event y1 yellow; pl_event b2 blue
} >"$KS_TMP/events.tsv"
pl_values "$KS_TMP/events.tsv" >"$KS_TMP/events.jsonl"
"$ctl" eval --sensor "${sensors[0]}" --sensor "${sensors[1]}" --events "$KS_TMP/events.jsonl" >"$KS_TMP/eval.json"

# status before the daemon runs: not running, exit 1
set +e
out=$("$ctl" status -c "$cfg"); rc=$?
set -e
((rc == 1)) || pl_fail "status without a daemon exited $rc, expected 1"
grep -q '^daemon     not running' <<<"$out" || pl_fail "status without a daemon said: $out"

log=$KS_TMP/daemon.log
sv_start sup "$log" "$cfg"
sv_ready "$log" 1 1 90
# the lag is known while no partition has delivered a record yet (it used to say "unknown" until
# every partition had): nothing to read, so 0
lag_is() { [[ $("$ctl" status -c "$cfg" --json | jq -c '.daemon.lag') == "$1" ]]; }
pl_until 20 "status to report a lag of 0 before any event" lag_is 0
pl_produce "$pool-events" "$KS_TMP/events.tsv"
pl_wait_drained "$pool" 60
port=$(sv_port "$log")
sv_wait_metric "$port" ksensor_events_total 4 10

# ---- pending: what eval leaves held, while the daemon runs
"$ctl" pending -c "$cfg" --json >"$KS_TMP/pending.json" || pl_fail "pending exited $?"
got=$(jq -r '.[] | "\(.sensor)/\(.trigger) \(.dependency) \(.event_id)"' "$KS_TMP/pending.json" | sort | tr '\n' ';')
want="example-1/trigger-2 blue b2;example-1/trigger-3 blue b2;example-2/trigger-1 blue b2;"
[[ $got == "$want" ]] || pl_fail "pending --json: $got, expected $want"
"$ctl" pending -c "$cfg" >"$KS_TMP/pending.txt"
head -n 1 "$KS_TMP/pending.txt" | grep -Eq '^SENSOR +TRIGGER +DEPENDENCY +EVENT +AGE +BYTES$' || pl_fail "pending: header $(head -n 1 "$KS_TMP/pending.txt")"
(($(grep -c ' b2 ' "$KS_TMP/pending.txt") == 3)) || pl_fail "pending table: $(cat "$KS_TMP/pending.txt")"
"$ctl" pending -c "$cfg" --sensor example-2 --json | jq -e 'length == 1 and .[0].trigger == "trigger-1"' >/dev/null \
  || pl_fail "pending --sensor example-2"
pl_say "pending: the three triggers holding b2, as a table and as JSON"

# ---- firings: every firing eval computes — the trigger stage's (conditions with &&) and those the
# event stage sends straight to the action topic (read from the ledgers)
jq -r '"\(.sensor)/\(.trigger) \(.events | map_values(.id) | to_entries | sort_by(.key) | map("\(.key)=\(.value)") | join(","))"' \
  "$KS_TMP/eval.json" | sort >"$KS_TMP/firings.want"
"$ctl" firings -c "$cfg" --json >"$KS_TMP/firings.json"
jq -r '.[] | "\(.sensor)/\(.trigger) \(.events | to_entries | sort_by(.key) | map("\(.key)=\(.value)") | join(","))"' \
  "$KS_TMP/firings.json" | sort >"$KS_TMP/firings.got"
cmp -s "$KS_TMP/firings.want" "$KS_TMP/firings.got" \
  || pl_fail "firings: $(tr '\n' ';' <"$KS_TMP/firings.got"), expected $(tr '\n' ';' <"$KS_TMP/firings.want")"
"$ctl" sensors -c "$cfg" --json \
  | jq -r '.[] | .name as $s | .triggers[] | select(.conditions | contains("&&") | not) | "\($s)/\(.name)"' >"$KS_TMP/single"
(($(grep -c -F -f "$KS_TMP/single" "$KS_TMP/firings.got") > 0)) || pl_fail "no firing of a condition without && listed"
(($(grep -c -v -F -f "$KS_TMP/single" "$KS_TMP/firings.got") > 0)) || pl_fail "no firing of a condition with && listed"
jq -e 'all(.[]; .id | test("@'"$pool"'-(trigger/0/[0-9]+|events/0/[0-9]+/[a-z]+)$"))' "$KS_TMP/firings.json" >/dev/null \
  || pl_fail "firing ids: $(jq -c '[.[].id]' "$KS_TMP/firings.json")"
jq -e '[.[].fired_at_ms] == ([.[].fired_at_ms] | sort)' "$KS_TMP/firings.json" >/dev/null || pl_fail "firings not in time order"
(($("$ctl" firings -c "$cfg" | wc -l) == $(wc -l <"$KS_TMP/eval.json") + 1)) || pl_fail "firings table: $("$ctl" firings -c "$cfg")"
pl_say "firings: all $(wc -l <"$KS_TMP/firings.got") firings eval computes, with && and without, in time order"

# ---- ledger: every firing eval computes, done once
"$ctl" ledger -c "$cfg" --json >"$KS_TMP/ledger.json"
(($(jq length "$KS_TMP/ledger.json") == $(wc -l <"$KS_TMP/eval.json"))) \
  || pl_fail "ledger has $(jq length "$KS_TMP/ledger.json") rows, eval computes $(wc -l <"$KS_TMP/eval.json") firings"
jq -e 'all(.[]; .status == "done" and .kind == "log" and .attempts >= 0)' "$KS_TMP/ledger.json" >/dev/null || pl_fail "ledger rows: $(jq -c . "$KS_TMP/ledger.json")"
(($(jq -r '.[].id' "$KS_TMP/ledger.json" | sort -u | wc -l) == $(jq length "$KS_TMP/ledger.json"))) || pl_fail "ledger ids repeat"
head -n 1 < <("$ctl" ledger -c "$cfg") | grep -Eq '^UPDATED +KIND +STATUS +ATTEMPTS +HTTP +FIRING +RESULT OR ERROR$' || pl_fail "ledger header"
pl_say "ledger: $(jq length "$KS_TMP/ledger.json") firings, each done once"

# ---- status: running and ready, with the counters
"$ctl" status -c "$cfg" --json >"$KS_TMP/status.json" || pl_fail "status of a ready daemon exited $?"
jq -e --argjson pid "$sup" --argjson n "$(wc -l <"$KS_TMP/eval.json")" \
  '.daemon.running and .daemon.ready and .daemon.pid == $pid and .daemon.generation == 1
   and .daemon.workers == {"wanted": 1, "up": 1, "ready": 1} and .daemon.sensors == 2
   and .daemon.counters.events == 4 and .daemon.counters.firings == $n
   and ([.tasks[].task] | sort) == ["'"$pool"'-action-0.db", "'"$pool"'-trigger-0.db"]
   and (.tasks[] | select(.task == "'"$pool"'-trigger-0.db") | .held == 3 and .firings == 3)' \
  "$KS_TMP/status.json" >/dev/null || pl_fail "status --json: $(jq -c . "$KS_TMP/status.json")"
"$ctl" status -c "$cfg" | grep -q "^daemon     running (pid $sup), generation 1, ready$" || pl_fail "status: $("$ctl" status -c "$cfg")"
pl_until 20 "status to report a lag of 0 once drained" lag_is 0
"$ctl" status -c "$cfg" | grep -q '^lag        0 records$' || pl_fail "status: $("$ctl" status -c "$cfg")"
pl_say "status: running, ready, 4 events and $(wc -l <"$KS_TMP/eval.json") firings counted, both task files"

# ---- sensors
"$ctl" sensors -c "$cfg" --json >"$KS_TMP/sensors.json"
jq -e '[.[] | .name as $s | .triggers[] | "\($s)/\(.name)=\(.conditions)"] | sort ==
       ["example-1/trigger-1=blue", "example-1/trigger-2=blue && yellow", "example-1/trigger-3=blue && yellow && red",
        "example-2/trigger-1=blue && yellow", "example-2/trigger-2=red"]' "$KS_TMP/sensors.json" >/dev/null \
  || pl_fail "sensors --json: $(jq -c . "$KS_TMP/sensors.json")"
(($("$ctl" sensors -c "$cfg" | wc -l) == 6)) || pl_fail "sensors table: $("$ctl" sensors -c "$cfg")"

# ---- offsets: everything consumed is committed
"$ctl" offsets -c "$cfg" --json >"$KS_TMP/offsets.json" || pl_fail "offsets exited $?"
jq -e '(.[] | select(.topic | endswith("-events")) | .committed == 4 and .lag == 0)
       and all(.[]; .committed != null and .lag <= 1)
       and (.[] | select(.topic | endswith("-trigger")) | .changelog_position != null and .changelog_position <= .state_end)' \
  "$KS_TMP/offsets.json" >/dev/null || pl_fail "offsets --json: $(jq -c . "$KS_TMP/offsets.json")"
pl_stop "$sup"
pl_say "sensors and offsets as expected; daemon stopped"

# ---- bad files, on a copy of the state: a message, exit 1, nothing modified
bad=$KS_TMP/bad
mkdir -p "$bad"
cp "$KS_TMP/$pool/data/$pool-trigger-0.db" "$bad/$pool-trigger-0.db"
head -c 4096 /dev/urandom >"$bad/$pool-trigger-1.db"
sqlite3 "$bad/$pool-action-0.db" 'CREATE TABLE foo (a INTEGER)'
cp "$KS_TMP/$pool/data/$pool-action-0.db" "$bad/$pool-action-1.db"
sqlite3 "$bad/$pool-action-1.db" 'PRAGMA user_version = 99'
sums=$(sha256sum "$bad"/*.db)
expect_problem() {     # expect_problem MESSAGE_REGEX COMMAND...
  local re=$1 rc
  shift
  set +e
  "$@" >/dev/null 2>"$KS_TMP/ctl.err"; rc=$?
  set -e
  ((rc == 1)) || pl_fail "$* exited $rc, expected 1"
  grep -Eq "$re" "$KS_TMP/ctl.err" || pl_fail "$*: said $(cat "$KS_TMP/ctl.err"), expected /$re/"
}
expect_problem "$pool-trigger-1.db: not an SQLite database" "$ctl" pending --data-dir "$bad" --pool "$pool"
expect_problem "$pool-action-0.db: not a ksensor task file \\(no table 'ledger'\\)" "$ctl" ledger --data-dir "$bad" --pool "$pool"
expect_problem "$pool-action-1.db: schema version 99 is newer than this ksensorctl knows" "$ctl" ledger --data-dir "$bad" --pool "$pool"
expect_problem "dataDir $KS_TMP/missing: No such file or directory" "$ctl" firings --data-dir "$KS_TMP/missing" --pool "$pool"
[[ $(sha256sum "$bad"/*.db) == "$sums" ]] || pl_fail "ksensorctl modified a file it read"
(($("$ctl" pending --data-dir "$bad" --pool "$pool" 2>/dev/null | grep -c ' b2 ') == 3)) || pl_fail "the good file among bad ones was not read"
pl_say "bad files: garbage, foreign, newer schema, missing dataDir: reported, exit 1, untouched"
