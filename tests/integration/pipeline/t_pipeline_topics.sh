#!/usr/bin/env bash
# t_pipeline_topics — the internal topics on a broker as Kafka ships (auto.create.topics.enable on):
#   1. no client of ksensor ever auto-creates them: `ksensorctl offsets` before any worker leaves
#      them absent, and a fresh pool gets eventbus.partitions partitions, -state compacted, the
#      others not, max.message.bytes 16 MB (with the broker's auto-creation they got 1 partition,
#      cleanup.policy delete, 1 MB);
#   2. a topic that does not fit (a -state topic that is not compacted, a -trigger topic with another
#      partition count) stops the daemon at start with one message naming the topic, what it has,
#      what it needs and the command that fixes it; the worker is not respawned; after the fix the
#      pool starts;
#   3. a topic altered while a worker runs is found at the next assignment: the worker stops.
set -euo pipefail
. "$KS_TOP/tests/integration/lib/supervisor.sh"

describe() { "$KS_BUILD/kstool" describe-topic "$PL_B" "$1" || true; }
expect_topic() {
  local got
  got=$(describe "$1")
  [[ $got == "$2" ]] || pl_fail "topic $1: expected '$2', got '$got'"
}
# run_until_ready LOG CONFIG WORKERS: starts the daemon, waits until its workers are ready, stops it.
run_until_ready() {
  sv_start sv "$1" "$2"
  sv_ready "$1" 1 "$3" 60
  kill -TERM "$sv"
  pl_wait_exit "$sv" 30
  ((PL_RC == 0)) || pl_fail "ksensord exited $PL_RC after SIGTERM"
}
# run_unfit LOG CONFIG: starts the daemon, which must stop with exit status 1.
run_unfit() {
  sv_start sv "$1" "$2"
  pl_wait_exit "$sv" 60
  ((PL_RC == 1)) || pl_fail "ksensord exited $PL_RC, expected 1"
}

pl_say "1. a fresh pool on a broker that auto-creates topics"
pool=topics-$RANDOM
pl_topic "$pool-events" 1
mkdir -p "$KS_TMP/$pool"
sv_config "$KS_TMP/$pool.yaml" "$pool" 1 3 "$PL_SENSORS/valid/example-1.yaml"
"$KS_BUILD/ksensorctl" offsets -c "$KS_TMP/$pool.yaml" >"$KS_TMP/offsets.out" 2>&1 || true
for t in trigger action state; do
  expect_topic "$pool-$t" absent
done
run_until_ready "$KS_TMP/fresh.log" "$KS_TMP/$pool.yaml" 1
expect_topic "$pool-trigger" "partitions=3 replicas=1 cleanup.policy=delete max.message.bytes=16777216"
expect_topic "$pool-action" "partitions=3 replicas=1 cleanup.policy=delete max.message.bytes=16777216"
expect_topic "$pool-state" "partitions=3 replicas=1 cleanup.policy=compact max.message.bytes=16777216"

pl_say "2a. a -state topic that is not compacted: the daemon stops at start"
pool2=unfit-$RANDOM
pl_topic "$pool2-events" 1
pl_topic "$pool2-state" 1 max.message.bytes=16777216
mkdir -p "$KS_TMP/$pool2"
sv_config "$KS_TMP/$pool2.yaml" "$pool2" 2 1 "$PL_SENSORS/valid/example-1.yaml"
log=$KS_TMP/unfit.log
run_unfit "$log" "$KS_TMP/$pool2.yaml"
grep -qF "topic $pool2-state has cleanup.policy=delete, a changelog needs compact" "$log" \
  || pl_fail "no message naming the topic, what it has and what it needs"
grep -qF "kafka-configs.sh --bootstrap-server $PL_B --alter --entity-type topics --entity-name $pool2-state --add-config cleanup.policy=compact" "$log" \
  || pl_fail "no command that fixes it"
grep -q "the cluster does not fit the configuration; not respawned" "$log" || pl_fail "no line saying the worker is not respawned"
! grep -q "respawning in" "$log" || pl_fail "a worker was respawned"
expect_topic "$pool2-trigger" "partitions=1 replicas=1 cleanup.policy=delete max.message.bytes=16777216"

pl_say "2b. the fix the message gives, then the pool starts"
"$KS_BUILD/kstool" alter-topic "$PL_B" "$pool2-state" cleanup.policy=compact max.message.bytes=16777216
run_until_ready "$log" "$KS_TMP/$pool2.yaml" 2

pl_say "2c. a -trigger topic with another partition count than eventbus.partitions"
pool3=parts-$RANDOM
pl_topic "$pool3-events" 1
pl_topic "$pool3-trigger" 2 max.message.bytes=16777216
mkdir -p "$KS_TMP/$pool3"
sv_config "$KS_TMP/$pool3.yaml" "$pool3" 1 1 "$PL_SENSORS/valid/example-1.yaml"
run_unfit "$KS_TMP/parts.log" "$KS_TMP/$pool3.yaml"
grep -qF "topic $pool3-trigger has 2 partitions, eventbus.partitions says 1" "$KS_TMP/parts.log" \
  || pl_fail "no message about the partition count"

pl_say "3. a topic altered under a running worker: found at the next assignment"
pool4=altered-$RANDOM
pl_topic "$pool4-events" 1
mkdir -p "$KS_TMP/$pool4"
pl_config "$KS_TMP/$pool4.yaml" "$pool4" althost "$KS_TMP/$pool4/data" "$PL_SENSORS/valid/example-1.yaml"
pl_start_fresh w "$KS_TMP/altered.log" "$KS_TMP/$pool4.yaml"
"$KS_BUILD/kstool" alter-topic "$PL_B" "$pool4-state" cleanup.policy=delete max.message.bytes=16777216
lines=$(wc -l <"$KS_TMP/altered.log")
# another member of the group makes the worker give up and take its partitions again
kcat -b "$PL_B" -G "$pool4" "$pool4-events" >/dev/null 2>&1 &
joiner=$!
pl_wait_exit "$w" 60
kill "$joiner" 2>/dev/null || true
wait "$joiner" 2>/dev/null || true
((PL_RC == 4)) || pl_fail "the worker exited $PL_RC, expected 4 (the cluster does not fit)"
pl_log_since "$KS_TMP/altered.log" "$lines" "topic $pool4-state has cleanup.policy=delete, a changelog needs compact" \
  || pl_fail "no message about the altered topic"
echo PASS
