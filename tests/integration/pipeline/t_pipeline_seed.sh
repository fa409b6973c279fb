#!/usr/bin/env bash
# The seed scenarios of DESIGN.md §8 against a real broker, without a crash and with an injected
# crash (KSENSOR_CRASH_AT) at every crash point of the worker, on a one-partition trigger topic.
#
# Sensors: example-1 (trigger-1 "blue", trigger-2 "blue && yellow", trigger-3 "blue && yellow &&
# red"), example-2 (trigger-1 "blue && yellow", trigger-2 "red"), the variant example-2-green
# (trigger-2 "red && green": a firing and a pending blue share the trigger-topic partition) and
# kafka-out (publish "blue && red", a kafka trigger to this cluster, generated per run).
# Events b1 (blue), r1 (red), g1 (green) are produced before the worker starts (so the first batch
# holds all three); the worker crashes and is restarted without the crash; then y1 (yellow).
# Each run asserts: the action topic (read_committed) holds exactly the firings `ksensorctl eval`
# computes, per trigger in order, each once (unique firing ids equal to the firingId header); after
# the first round the held state (SQLite and the compacted changelog) is blue for the four "&&
# yellow" triggers and red for example-1/trigger-3; example-2/trigger-1 fires exactly once with
# b1+y1 after the restart; kafka-out's output topic has exactly one record, its payload.
#
# Where each crash lands (the n of KSENSOR_CRASH_AT=<point>:<n>):
#   after-consume:3        the third record read, g1: b1 and r1 are applied in the open batch and
#                          r1 has fired example-2/trigger-2 into the open transaction.
#   after-sqlite-apply:9   the ninth trigger-topic record: b1 brings 5 (example-1 trigger-2/3,
#                          example-2 trigger-1, example-2-green trigger-1, kafka-out), r1 3, g1 1;
#                          the ninth is g1 for example-2-green/trigger-2, applied but not yet fired.
#   <commit point>:1       the first batch: the event stage after r1 fired (example-2/trigger-2
#                          straight to the action topic) and b1, r1, g1 went to the trigger topic.
#   <commit point>:2       the second batch: the trigger stage, where blue is held while red && green
#                          and blue && red fire in the same transaction (with the first firings'
#                          actions when they arrive in the same batch).
#   after-action:3         the third action record, kafka-out/publish (the first two are the event
#                          stage's firings): its output record is produced in the open transaction.
#   (commit points: before-kafka-commit, after-kafka-commit, before-sqlite-commit, after-sqlite-commit)
set -euo pipefail
. "$KS_TOP/tests/integration/lib/pipeline.sh"

runs=(
  ""
  after-consume:3
  after-sqlite-apply:9
  before-kafka-commit:1 after-kafka-commit:1 before-sqlite-commit:1 after-sqlite-commit:1
  before-kafka-commit:2 after-kafka-commit:2 before-sqlite-commit:2 after-sqlite-commit:2
  after-action:3
)
# Only the named runs (e.g. SEED_RUNS="none after-action:3"), for debugging.
if [[ -n ${SEED_RUNS:-} ]]; then
  runs=()
  for r in $SEED_RUNS; do if [[ $r == none ]]; then runs+=(""); else runs+=("$r"); fi; done
fi

{
  pl_event b1 blue '{"n":"b1"}'
  pl_event r1 red '{"n":"r1"}'
  pl_event g1 green '{"n":"g1"}'
} >"$KS_TMP/round1.tsv"
pl_event y1 yellow '{"n":"y1"}' >"$KS_TMP/round2.tsv"
cat "$KS_TMP/round1.tsv" "$KS_TMP/round2.tsv" >"$KS_TMP/all.tsv"

# after round 1: what stays held ("sensor/trigger|dependency|event id", sorted)
held_round1='example-1/trigger-2|blue|b1
example-1/trigger-3|blue|b1
example-1/trigger-3|red|r1
example-2-green/trigger-1|blue|b1
example-2/trigger-1|blue|b1'

run_scenario() {
  local crash=$1 name pool dir cfg log pid expected got out
  name=${crash:-nocrash}
  pool=seed-${name//[^a-z0-9]/-}-$RANDOM
  dir=$KS_TMP/$name
  cfg=$dir/ksensord.yaml
  log=$KS_TMP/$name.log
  mkdir -p "$dir/sensors"
  pl_say "== $name: pool $pool${crash:+, KSENSOR_CRASH_AT=$crash}"

  cp "$PL_SENSORS/valid/example-1.yaml" "$PL_SENSORS/valid/example-2.yaml" \
     "$PL_SENSORS/pipeline/example-2-green.yaml" "$dir/sensors/"
  cat >"$dir/sensors/kafka-out.yaml" <<YAML
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata:
  name: kafka-out
spec:
  dependencies:
    - {name: blue, eventSourceName: demo, eventName: blue}
    - {name: red, eventSourceName: demo, eventName: red}
  triggers:
    - template:
        name: publish
        conditions: "blue && red"
        kafka:
          url: "$PL_B"
          topic: $pool-out
          payload:
            - src: {dependencyName: blue, dataKey: n}
              dest: blue
            - src: {dependencyName: red, contextKey: id}
              dest: red
YAML
  pl_oracle "$KS_TMP/all.tsv" "$dir"/sensors/*.yaml >"$dir/expected"
  [[ $(wc -l <"$dir/expected") == 8 ]] || pl_fail "ksensorctl eval: expected 8 firings, got: $(cat "$dir/expected")"

  pl_topic "$pool-events" 1
  pl_topic "$pool-out" 1
  pl_config "$cfg" "$pool" seedhost "$dir/data" "$dir/sensors/*.yaml"
  pl_produce "$pool-events" "$KS_TMP/round1.tsv"

  if [[ -n $crash ]]; then
    pl_start_fresh pid "$log" "$cfg" KSENSOR_CRASH_AT="$crash"
    pl_wait_exit "$pid" 60 || pl_fail "$name: the worker did not crash within 60 s"
    ((PL_RC == 99)) || pl_fail "$name: the worker exited $PL_RC, expected the injected crash (99)"
    grep -q "injected crash at ${crash%:*}" "$log" || pl_fail "$name: no 'injected crash' line in the log"
    "$KS_BUILD/kstool" drained "$PL_B" "$pool" "$pool-events" "$pool-trigger" "$pool-action" >"$dir/at-crash" || true
    pl_say "   crashed as planned; committed offsets then: $(awk 'NF == 4 { printf "%s=%s ", $1, $3; next } { printf "%s ", $0 }' "$dir/at-crash")"
  fi
  pl_start_fresh pid "$log" "$cfg"

  # round 1: example-1/trigger-1, example-2/trigger-2, kafka-out/publish, example-2-green/trigger-2
  pl_wait_count "$pool-action" 4 60
  pl_wait_drained "$pool" 30
  pl_alive "$pid" "during round 1"
  got=$(pl_held "$dir/data/$pool-trigger-0.db")
  [[ $got == "$held_round1" ]] || pl_fail "$name: held state in SQLite after round 1:
$got
expected:
$held_round1"
  got=$(pl_changelog_held "$pool")
  [[ $got == "$held_round1" ]] || pl_fail "$name: held state in the changelog $pool-state after round 1:
$got
expected:
$held_round1"
  pl_say "   round 1: 4 firings, blue held by 4 triggers (SQLite and changelog agree)"

  # round 2: yellow fires the four triggers holding blue
  pl_produce "$pool-events" "$KS_TMP/round2.tsv"
  pl_wait_count "$pool-action" 8 60
  pl_wait_drained "$pool" 30
  pl_stop "$pid"

  pl_read "$pool-action" | pl_firings_of_actions >"$dir/got" || pl_fail "$name: cannot decode the action topic"
  pl_compare_firings "$name" "$dir/expected" "$dir/got"
  pl_unique_ids "$pool-action"
  [[ $(grep -c $'^example-2/trigger-1\t{"blue":"b1","yellow":"y1"}$' "$dir/got") == 1 ]] \
    || pl_fail "$name: example-2/trigger-1 did not fire exactly once with b1+y1"
  [[ $(grep -c $'^example-2/trigger-2\t{"red":"r1"}$' "$dir/got") == 1 ]] \
    || pl_fail "$name: example-2/trigger-2 did not fire exactly once with r1"
  got=$(pl_held "$dir/data/$pool-trigger-0.db")
  [[ -z $got ]] || pl_fail "$name: events still held after round 2: $got"

  # the kafka action: exactly one record on its output topic, carrying the firing id
  out=$(pl_read "$pool-out" '%h\t%s\n')
  [[ $(grep -c . <<<"$out") == 1 ]] || pl_fail "$name: $pool-out has $(grep -c . <<<"$out") records, expected 1: $out"
  [[ $(cut -f2- <<<"$out" | jq -c -S .) == '{"blue":"b1","red":"r1"}' ]] || pl_fail "$name: kafka payload: $out"
  local fid
  fid=$(pl_read "$pool-action" '%k\t%s\n' | awk -F'\t' '$1 == "kafka-out/publish"' | cut -f2- | jq -r .id)
  grep -q "firingId=$fid" <<<"$out" || pl_fail "$name: the kafka record's firingId header is not $fid: $out"

  # the action ledger: no action failed (a missing row is allowed only after a crash between commits)
  got=$(pl_sql "$dir/data/$pool-action-0.db" "SELECT count(*) || ' ' || count(*) FILTER (WHERE status = 'done') FROM ledger")
  if [[ -z $crash ]]; then
    [[ $got == "8 8" ]] || pl_fail "$name: ledger rows (all, done): $got, expected 8 8"
  else
    [[ ${got% *} == "${got#* }" ]] || pl_fail "$name: ledger has actions not done: $got"
  fi
  pl_say "   round 2: 8 firings in all, each once, per trigger in order; kafka output once; nothing held"
}

start=$SECONDS
for crash in "${runs[@]}"; do
  t0=$SECONDS
  run_scenario "$crash"
  pl_say "   ok (${crash:-no crash}) in $((SECONDS - t0)) s"
done
pl_say "all ${#runs[@]} seed runs passed in $((SECONDS - start)) s"
