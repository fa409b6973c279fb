#!/usr/bin/env bash
# A host lost for good (DESIGN.md §2.1, §2.2, §2.5): two instances — own instance name, own dataDir —
# share a pool whose internal topics have 4 partitions (the event topic has one, so that the input
# has the one order `ksensorctl eval` assumes), with ksensor's own group and transaction timeouts (no
# session.timeout.ms or transaction.timeout.ms in the configuration, as users run it). While both
# work through 20,000 events produced up front, one is killed with kill -9 and never comes back. The
# survivor must take its partitions over — fencing the dead host's instance (fence.h: its open
# transaction is aborted at once, not after transaction.timeout.ms), restoring their trigger state
# from the changelog — and the action topic must then hold exactly the firings `ksensorctl eval`
# computes, per trigger in order, each once.
# Prints how long the takeover took (kill -> the survivor's new assignment -> the pool drained);
# the figures are reported, not asserted. KS_HOSTLOSS_LIBRDKAFKA="key=value ..." adds librdkafka
# properties and KS_HOSTLOSS_NOFENCE=1 sets fenceDeparted: false (make bench measures librdkafka's own
# timeouts, and the broker's expiry of the transaction, beside ksensor's defaults that way).
set -euo pipefail
. "$KS_TOP/tests/integration/lib/pipeline.sh"

pool=hostloss-$RANDOM
sensors=("$PL_SENSORS/valid/example-1.yaml" "$PL_SENSORS/valid/example-2.yaml"
         "$PL_SENSORS/pipeline/example-2-green.yaml")
mkdir -p "$KS_TMP/sensors"
cp "${sensors[@]}" "$KS_TMP/sensors/"
for h in a b; do
  pl_config "$KS_TMP/$h.yaml" "$pool" "host$h" "$KS_TMP/data-$h" "$KS_TMP/sensors/*.yaml"
  sed -i '/session.timeout.ms\|heartbeat.interval.ms/d; s/^  partitions: 1$/  partitions: 4/; s/^batchSize: .*/batchSize: 200/' \
    "$KS_TMP/$h.yaml"
done
grep -q '^  partitions: 4$' "$KS_TMP/a.yaml" || pl_fail "the configuration was not edited"
[[ -z ${KS_HOSTLOSS_NOFENCE:-} ]] || pl_no_fence "$KS_TMP/a.yaml" "$KS_TMP/b.yaml"
for kv in ${KS_HOSTLOSS_LIBRDKAFKA:-}; do
  sed -i "s/^  librdkafka:\$/  librdkafka:\n    ${kv%%=*}: \"${kv#*=}\"/" "$KS_TMP/a.yaml" "$KS_TMP/b.yaml"
done

awk 'BEGIN { srand(7); split("blue yellow red green", c, " ");
  for (i = 1; i <= 20000; i++) print "e" i, c[1 + int(rand() * 4)] }' \
  | while read -r id subject; do pl_event "$id" "$subject" "{\"i\":${id#e}}"; done >"$KS_TMP/events.tsv"
pl_oracle "$KS_TMP/events.tsv" "${sensors[@]}" >"$KS_TMP/expected"
pl_topic "$pool-events" 1

pl_start_fresh a "$KS_TMP/a.log" "$KS_TMP/a.yaml"
lines=$(wc -l <"$KS_TMP/a.log")
pl_start_fresh b "$KS_TMP/b.log" "$KS_TMP/b.yaml"
pl_until 60 "host a to be assigned its share once host b joined" pl_log_since "$KS_TMP/a.log" "$lines" 'assigned [0-9]* partitions'
pl_say "two hosts share the pool; producing 20,000 events"
pl_produce "$pool-events" "$KS_TMP/events.tsv"
pl_until 30 "host a to fire" grep -q 'action log: ' "$KS_TMP/a.log"

blines=$(wc -l <"$KS_TMP/b.log")
t0=$(date +%s.%N)
pl_kill9 "$a"
pl_say "host a killed for good"
pl_until 120 "host b to take host a's partitions" pl_log_since "$KS_TMP/b.log" "$blines" 'assigned [0-9]* partitions'
t1=$(date +%s.%N)
if [[ -z ${KS_HOSTLOSS_NOFENCE:-} ]]; then
  pl_until 60 "host b to fence host a's instance" pl_log_since "$KS_TMP/b.log" "$blines" 'fenced departed instance hosta-0 '
  pl_say "host b $(awk -v n="$blines" 'NR > n && /fenced departed instance/ { print; exit }' "$KS_TMP/b.log" | grep -o 'fenced departed instance.* ms')"
fi
pl_wait_drained "$pool" 180
t2=$(date +%s.%N)
pl_alive "$b" "after the takeover"
pl_stop "$b"
pl_say "$(awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "takeover: %.1f s from the kill to host b assigned, %.1f s to the pool drained", b - a, c - a }')"

pl_read "$pool-action" | pl_firings_of_actions >"$KS_TMP/got" || pl_fail "cannot decode the action topic"
pl_compare_firings "host lost" "$KS_TMP/expected" "$KS_TMP/got"
pl_unique_ids "$pool-action"
pl_say "the action topic holds exactly the $(wc -l <"$KS_TMP/got") expected firings, per trigger in order, each once"
