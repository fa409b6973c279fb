#!/usr/bin/env bash
# A real cluster: three brokers of its own (KRaft, one controller quorum of all three; every topic
# replicated three times, min.insync.replicas 2), a daemon with two workers working through 30,000
# events, and meanwhile: the leader of the event partition, then of a trigger partition, then of a
# state partition killed (kill -9) and restarted; every broker restarted one after the other (a
# rolling restart); the whole cluster stopped for 30 s and started again, /readyz saying 503 while
# it is away. The daemon never stops (workers may exit and be respawned). Then the log action has
# executed exactly the firings `ksensorctl eval` computes, per trigger in order, each once, and the
# action topic holds them (see pl_compare_after_outage for a record repeated with the same id).
set -euo pipefail
. "$KS_TOP/tests/integration/lib/supervisor.sh"

kafka=$KS_TOP/tools/kafka-local/kafka-local
trap 'sv_cleanup; "$kafka" stop --dir "$KS_TMP/cluster" >/dev/null 2>&1 || true' EXIT
PL_B=$("$kafka" start --brokers 3 --dir "$KS_TMP/cluster" 2>"$KS_TMP/kafka-local.log" | tail -n 1)
pl_say "three brokers at $PL_B"

pool=cluster-$RANDOM
sensors=("$PL_SENSORS/valid/example-1.yaml" "$PL_SENSORS/valid/example-2.yaml")
mkdir -p "$KS_TMP/sensors"
cp "${sensors[@]}" "$KS_TMP/sensors/"
sv_config "$KS_TMP/d.yaml" "$pool" 2 4 "$KS_TMP/sensors/*.yaml"
# the internal topics as ksensord ships: replicationFactor -1, the broker's default (3 here)
sed -i 's/^batchSize: .*/batchSize: 200/; s/^  replicationFactor: .*/  replicationFactor: -1/' "$KS_TMP/d.yaml"
pl_colour_events 30000 17 >"$KS_TMP/events.tsv"
pl_oracle "$KS_TMP/events.tsv" "${sensors[@]}" >"$KS_TMP/expected"
split -n l/6 -d "$KS_TMP/events.tsv" "$KS_TMP/part."
# one event partition: `ksensorctl eval` computes && firings in the order the events were produced,
# which only one partition keeps
pl_topic "$pool-events" 1

log=$KS_TMP/daemon.log
sv_start sup "$log" "$KS_TMP/d.yaml"
sv_ready "$log" 1 2 120
port=$(sv_port "$log")
for t in events trigger action state; do
  kcat -b "$PL_B" -L -t "$pool-$t" | grep 'partition 0,' | grep -q 'replicas: [0-9],[0-9],[0-9],' ||
    pl_fail "$pool-$t is not replicated three times: $(kcat -b "$PL_B" -L -t "$pool-$t")"
done
ready() { [[ $(sv_get "$port" /readyz) == "$1 "* ]]; }
alive() { pl_running "$sup" || pl_fail "the daemon stopped $1"; }
firing_lines() { sv_log_count "$log" 'action log: '; }
# more firings than n: the pool makes progress
progress() { (($(firing_lines) > $1)); }

# leader TOPIC PARTITION: the node id leading it now
leader() {
  kcat -b "$PL_B" -L -t "$1" 2>/dev/null |
    awk -v p="$2" '$1 == "partition" && $2 == p "," { print $4; exit }' | tr -d ,
}
# 3 brokers registered and every partition of TOPIC with 3 in-sync replicas again
healed() {
  local md
  md=$(kcat -b "$PL_B" -L -t "$1" 2>/dev/null) || return 1
  grep -q '^ *3 brokers:' <<<"$md" && ! grep 'isrs:' <<<"$md" | grep -vq 'isrs: [0-9],[0-9],[0-9]'
}

# 1. the leaders of an event, a trigger and a state partition killed under load, then restarted
pl_produce "$pool-events" "$KS_TMP/part.00"
pl_until 60 "the workers to fire" progress 0
k=0
for topic in "$pool-events" "$pool-trigger" "$pool-state"; do
  node=$(leader "$topic" 0)
  [[ $node =~ ^[123]$ ]] || pl_fail "no leader for $topic/0: '$node'"
  before=$(firing_lines)
  "$kafka" stop --kill --node "$node" --dir "$KS_TMP/cluster" 2>>"$KS_TMP/kafka-local.log"
  killed=$SECONDS
  k=$((k + 1))
  pl_produce "$pool-events" "$KS_TMP/part.0$k"
  pl_until 120 "firings after the leader of $topic/0 (node $node) was killed" progress "$before"
  pl_say "node $node (leader of $topic/0) killed: firing again after $((SECONDS - killed)) s"
  "$kafka" start --keep --node "$node" --dir "$KS_TMP/cluster" >/dev/null 2>>"$KS_TMP/kafka-local.log"
  pl_until 120 "$topic to have three in-sync replicas again" healed "$topic"
  alive "after node $node was killed"
done

# 2. a rolling restart: each broker stopped and started again on its data, one after the other
for node in 1 2 3; do
  "$kafka" stop --node "$node" --dir "$KS_TMP/cluster" 2>>"$KS_TMP/kafka-local.log"
  "$kafka" start --keep --node "$node" --dir "$KS_TMP/cluster" >/dev/null 2>>"$KS_TMP/kafka-local.log"
  pl_until 120 "the cluster to heal after node $node restarted" healed "$pool-events"
  alive "in the rolling restart (node $node)"
done
pl_produce "$pool-events" "$KS_TMP/part.04"
pl_say "rolling restart of the three brokers done"

# 3. the whole cluster stopped for 30 s, then started again on its data
before=$(firing_lines)
pl_until 120 "firings before the cluster stops" progress "$before"
"$kafka" stop --dir "$KS_TMP/cluster" 2>>"$KS_TMP/kafka-local.log"
down=$SECONDS
pl_until 30 "/readyz to say 503 while the cluster is down" ready 503
pl_say "the cluster is down; /readyz: 503 after $((SECONDS - down)) s"
while ((SECONDS - down < 30)); do
  alive "while the cluster was down"
  sleep 1
done
"$kafka" start --keep --dir "$KS_TMP/cluster" >/dev/null 2>>"$KS_TMP/kafka-local.log"
pl_until 180 "/readyz to say 200 again" ready 200
pl_say "the cluster is back; /readyz: 200 again $((SECONDS - down)) s after it stopped"
pl_produce "$pool-events" "$KS_TMP/part.05"
pl_wait_drained "$pool" 300
alive "at the end"
respawns=$(sv_log_count "$log" 'respawning in')
pl_stop "$sup"

pl_compare_after_outage "three brokers: leaders killed, a rolling restart, the cluster down" "$KS_TMP/expected" "$pool" "$log"
pl_say "the log action executed exactly the $(wc -l <"$KS_TMP/executed") expected firings, each once; the action topic holds them ($PL_REPEATS repeated records with the same id), $respawns worker respawns"
