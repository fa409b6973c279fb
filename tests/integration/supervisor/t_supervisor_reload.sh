#!/usr/bin/env bash
# SIGHUP (DESIGN.md §6): a sensor file with an error is refused with the same file:line:column
# message `ksensord -t` prints, and the running generation goes on unchanged (same worker
# processes, still firing); adding a sensor makes it fire; removing one makes it stop. Then 20
# reloads under a steady stream of events: the action topic holds exactly the firings
# `ksensorctl eval` computes, per trigger in order, each once.
set -euo pipefail
. "$KS_TOP/tests/integration/lib/supervisor.sh"

count_of() { pl_read "$1" '%k\n' | grep -c -x "$2" || true; }

# ---- a refused reload, adding a sensor, removing one
pool=sura-$RANDOM
mkdir -p "$KS_TMP/sensors"
cp "$PL_SENSORS/valid/example-1.yaml" "$KS_TMP/sensors/"
pl_topic "$pool-events" 1
sv_config "$KS_TMP/a.yaml" "$pool" 2 2 "$KS_TMP/sensors/*.yaml"
log=$KS_TMP/a.log
sv_start sup "$log" "$KS_TMP/a.yaml"
sv_ready "$log" 1 2 90
port=$(sv_port "$log")
pids="$(sv_worker_pid "$log" 0) $(sv_worker_pid "$log" 1)"

cat >"$KS_TMP/sensors/broken.yaml" <<'YAML'
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata:
  name: broken
spec:
  dependencies:
    - name: a
      eventSourceName: demo
      eventName: a
  triggers:
    - template:
        name: t
        conditions: "a && b"
        log: {}
YAML
"$KS_BUILD/ksensord" -t -c "$KS_TMP/a.yaml" 2>"$KS_TMP/t.err" && pl_fail "ksensord -t accepted broken.yaml"
problem=$(grep -m1 'broken.yaml:[0-9]*:[0-9]*: ' "$KS_TMP/t.err") || pl_fail "ksensord -t gave no file:line:column for broken.yaml"
kill -HUP "$sup"
sv_wait_log "$log" 'reload refused \([0-9]+ problems?\): generation 1 keeps running unchanged' 1 30
grep -qF -- "$problem" "$log" || pl_fail "the refused reload did not log: $problem"
(($(sv_log_count "$log" 'generation 2') == 0)) || pl_fail "a refused reload started generation 2"
[[ "$(sv_worker_pid "$log" 0) $(sv_worker_pid "$log" 1)" == "$pids" ]] || pl_fail "a refused reload replaced workers"
sv_wait_metric "$port" 'ksensor_reloads_total{result="failed"}' 1 10
pl_event b1 blue >"$KS_TMP/b1.tsv"
pl_produce "$pool-events" "$KS_TMP/b1.tsv"
pl_wait_drained "$pool" 60
[[ $(count_of "$pool-action" example-1/trigger-1) == 1 ]] || pl_fail "generation 1 did not fire after the refused reload"
pl_say "refused reload: logged '$problem', generation 1 still fires"

rm "$KS_TMP/sensors/broken.yaml"
cp "$PL_SENSORS/valid/example-2.yaml" "$KS_TMP/sensors/"
kill -HUP "$sup"
sv_wait_log "$log" 'generation 2: 2 sensors' 1 30
sv_ready "$log" 2 2 60
pl_event r1 red >"$KS_TMP/r1.tsv"
pl_produce "$pool-events" "$KS_TMP/r1.tsv"
pl_wait_drained "$pool" 60
[[ $(count_of "$pool-action" example-2/trigger-2) == 1 ]] || pl_fail "the added sensor example-2 did not fire"
pl_say "added example-2: it fires"

rm "$KS_TMP/sensors/example-1.yaml"
kill -HUP "$sup"
sv_ready "$log" 3 2 60
pl_event b2 blue >"$KS_TMP/b2.tsv"
pl_produce "$pool-events" "$KS_TMP/b2.tsv"
pl_wait_drained "$pool" 60
[[ $(count_of "$pool-action" example-1/trigger-1) == 1 ]] || pl_fail "the removed sensor example-1 still fires"
sv_wait_metric "$port" 'ksensor_reloads_total{result="ok"}' 2 10
pl_stop "$sup"
pl_say "removed example-1: it no longer fires"

# ---- 20 reloads under a steady stream
pool=surb-$RANDOM
sensors=("$PL_SENSORS/valid/example-1.yaml" "$PL_SENSORS/valid/example-2.yaml"
         "$PL_SENSORS/pipeline/example-2-green.yaml")
mkdir -p "$KS_TMP/sensors-b"
cp "${sensors[@]}" "$KS_TMP/sensors-b/"
pl_topic "$pool-events" 1
sv_config "$KS_TMP/b.yaml" "$pool" 2 2 "$KS_TMP/sensors-b/*.yaml"
seed=$(( $(date +%s) % 100000 ))
awk -v seed="$seed" 'BEGIN { srand(seed); split("blue yellow red green", c, " ");
  for (i = 1; i <= 4000; i++) print "e" i, c[1 + int(rand() * 4)] }' \
  | while read -r id subject; do pl_event "$id" "$subject" "{\"i\":${id#e}}"; done >"$KS_TMP/events.tsv"
split -n l/20 -d "$KS_TMP/events.tsv" "$KS_TMP/chunk."
pl_oracle "$KS_TMP/events.tsv" "${sensors[@]}" >"$KS_TMP/expected"
log=$KS_TMP/b.log
sv_start sup "$log" "$KS_TMP/b.yaml"
sv_ready "$log" 1 2 90
t0=$SECONDS
for g in $(seq 2 21); do
  pl_produce "$pool-events" "$KS_TMP/chunk.$(printf '%02d' $((g - 2)))"
  sleep "0.$((RANDOM % 5))"
  kill -HUP "$sup"
  sv_ready "$log" "$g" 2 60
done
pl_wait_drained "$pool" 120
pl_say "20 reloads under 4000 events in $((SECONDS - t0)) s (seed $seed)"
pl_read "$pool-action" | pl_firings_of_actions >"$KS_TMP/got" || pl_fail "cannot decode the action topic"
pl_compare_firings "20 reloads" "$KS_TMP/expected" "$KS_TMP/got"
pl_unique_ids "$pool-action"
pl_stop "$sup"
pl_say "the action topic holds exactly the $(wc -l <"$KS_TMP/got") expected firings, per trigger in order, each once"
