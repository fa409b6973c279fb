#!/usr/bin/env bash
# The whole cluster down for 30 s (here its one broker, of its own, started by this test): a daemon
# with two workers is working through 20,000 events when the broker stops; /readyz turns 503 while it
# is away; the broker comes back on its data (kafka-local --keep, a restart) and the daemon goes on
# by itself — workers may exit and be respawned, the daemon never stops — until /readyz is 200 again
# and the pool has drained. Then the log action has executed exactly the firings `ksensorctl eval`
# computes for all the events, per trigger in order, each once, and the action topic holds them
# (a record repeated with the same id, after the broker lost a commit's markers, is reported, not
# failed: see pl_compare_after_outage and t_pipeline_ahead).
set -euo pipefail
. "$KS_TOP/tests/integration/lib/supervisor.sh"

kafka=$KS_TOP/tools/kafka-local/kafka-local
trap 'sv_cleanup; "$kafka" stop --dir "$KS_TMP/kafka" >/dev/null 2>&1 || true' EXIT
PL_B=$("$kafka" start --port 0 --dir "$KS_TMP/kafka" | tail -n 1)

pool=outage-$RANDOM
sensors=("$PL_SENSORS/valid/example-1.yaml" "$PL_SENSORS/valid/example-2.yaml")
mkdir -p "$KS_TMP/sensors"
cp "${sensors[@]}" "$KS_TMP/sensors/"
sv_config "$KS_TMP/d.yaml" "$pool" 2 4 "$KS_TMP/sensors/*.yaml"
sed -i 's/^batchSize: .*/batchSize: 200/' "$KS_TMP/d.yaml"
pl_colour_events 20000 11 >"$KS_TMP/events.tsv"
pl_oracle "$KS_TMP/events.tsv" "${sensors[@]}" >"$KS_TMP/expected"
head -n 10000 "$KS_TMP/events.tsv" >"$KS_TMP/before.tsv"
tail -n 10000 "$KS_TMP/events.tsv" >"$KS_TMP/after.tsv"
pl_topic "$pool-events" 1

log=$KS_TMP/daemon.log
sv_start sup "$log" "$KS_TMP/d.yaml"
sv_ready "$log" 1 2 90
port=$(sv_port "$log")
ready() { [[ $(sv_get "$port" /readyz) == "$1 "* ]]; }
pl_produce "$pool-events" "$KS_TMP/before.tsv"
pl_until 30 "the workers to fire" grep -q 'action log: ' "$log"

"$kafka" stop --dir "$KS_TMP/kafka" >/dev/null
down=$SECONDS
pl_say "the broker is down, with work under way"
pl_until 30 "/readyz to say 503 while the broker is down" ready 503
pl_say "/readyz: 503 after $((SECONDS - down)) s"
while ((SECONDS - down < 30)); do
  pl_running "$sup" || pl_fail "the daemon stopped while the broker was down"
  sleep 1
done
"$kafka" start --keep --dir "$KS_TMP/kafka" >/dev/null
pl_say "the broker is back after $((SECONDS - down)) s"
pl_until 120 "/readyz to say 200 again" ready 200
pl_say "/readyz: 200 again $((SECONDS - down)) s after the broker stopped"
pl_produce "$pool-events" "$KS_TMP/after.tsv"
pl_wait_drained "$pool" 180
pl_running "$sup" || pl_fail "the daemon stopped"
respawns=$(sv_log_count "$log" 'respawning in')
pl_stop "$sup"

pl_compare_after_outage "broker outage" "$KS_TMP/expected" "$pool" "$log"
pl_say "the log action executed exactly the $(wc -l <"$KS_TMP/executed") expected firings, each once; the action topic holds them ($PL_REPEATS repeated records with the same id), $respawns worker respawns"
