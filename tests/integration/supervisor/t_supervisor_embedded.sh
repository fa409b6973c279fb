#!/usr/bin/env bash
# The embedded broker (`eventbus.brokers: embedded`, what `make run` uses): the supervisor forks it
# first, warns that it is in memory and without guarantees, writes its address to
# <dataDir>/embedded-broker, and its workers run the pipeline on it: the demo events blue, red and
# yellow make example-1's three log triggers fire. A reload adding example-2 (one sensor per topic
# set: topicLayout per-sensor) makes it fire too. SIGTERM stops the workers, then the broker: exit 0.
# (No Kafka behaviour is claimed here: this is librdkafka's mock cluster, not the real broker.)
set -euo pipefail
. "$KS_TOP/tests/integration/lib/supervisor.sh"

data=$KS_TMP/emb/data
mkdir -p "$KS_TMP/emb" "$KS_TMP/sensors"
cp "$KS_TOP/etc/sensors/"*.yaml "$KS_TMP/sensors/"
cat >"$KS_TMP/emb.yaml" <<YAML
eventbus:
  brokers: embedded
  topicLayout: per-sensor
sensors: "$KS_TMP/sensors/*.yaml"
dataDir: "$data"
pidFile: "$KS_TMP/emb/ksensord.pid"
listen: "127.0.0.1:0"
workers: 2
YAML
log=$KS_TMP/embedded.log
sv_start sup "$log" "$KS_TMP/emb.yaml"
sv_ready "$log" 1 2 60
grep -q 'an in-memory broker for trying ksensor out; it keeps nothing across restarts and gives none of the guarantees' "$log" \
  || pl_fail "no warning about the embedded broker"
addr=$(cat "$data/embedded-broker")
[[ $addr =~ ^127\.0\.0\.1:[0-9]+$ ]] || pl_fail "embedded-broker holds '$addr'"
broker=$(awk '/embedded broker: pid / { sub(/.*embedded broker: pid /, ""); sub(/,.*/, ""); print; exit }' "$log")

jq -c -r '"\(.source).\(.subject)\t\(tojson)"' "$KS_TOP/tools/demo-events.jsonl" \
  | kcat -P -b "$addr" -t argo-events -K $'\t' || pl_fail "kcat could not send to the embedded broker"
sv_wait_log "$log" 'action log: \{"firing":"example-1/trigger-[123]@' 3 60
for t in 1 2 3; do
  (($(sv_log_count "$log" "action log: \\{\"firing\":\"example-1/trigger-$t@") == 1)) || pl_fail "example-1/trigger-$t did not fire exactly once"
done
port=$(sv_port "$log")
sv_wait_metric "$port" ksensor_firings_total 3 10
cp "$PL_SENSORS/valid/example-2.yaml" "$KS_TMP/sensors/"
kill -HUP "$sup"
sv_ready "$log" 2 2 60
printf '{"specversion":"1.0","id":"red-2","source":"demo","type":"demo","subject":"red","data":{}}\n' \
  | jq -c -r '"\(.source).\(.subject)\t\(tojson)"' | kcat -P -b "$addr" -t argo-events -K $'\t'
sv_wait_log "$log" 'action log: \{"firing":"example-2/trigger-2@' 1 30
pl_stop "$sup"
pl_running "$broker" && pl_fail "the embedded broker (pid $broker) outlived the supervisor"
pl_say "embedded broker at $addr: example-1's three triggers fired once each; example-2, added by a reload, fired; SIGTERM: exit 0, broker gone"
