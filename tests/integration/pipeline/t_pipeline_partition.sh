#!/usr/bin/env bash
# Multi-host as it really is: three ksensord daemons (instances h1, h2, h3, each with its own
# dataDir and one worker) sharing one pool, each in a network namespace of its own that reaches the
# broker (of this test, on 198.18.0.1, an RFC 2544 test address put on the loopback device) through
# a veth pair. Host 1 is cut off from the broker (its link taken down: "no route to host") in the
# middle of the stream for longer than a transaction may stay open, while the two others take its
# partitions over and events keep coming; then it comes back. The transaction it was committing when
# the link went down is settled once it is back: given up (aborted, fenced) when the broker aborted
# it, or confirmed when its commit had reached the broker before the cut and only the answer was
# lost (librdkafka retries the request). Either way what it did is never applied twice: at the end
# the action topic holds exactly the firings `ksensorctl eval` computes, each once, and host 1 works
# again.
# Needs root (network namespaces); run by tests/integration/run like the others.
set -euo pipefail
kafka=$KS_TOP/tools/kafka-local/kafka-local
((EUID == 0)) || { echo "FAIL: network namespaces need root" >&2; exit 1; }

r=$((RANDOM % 9000 + 1000))
ns=ks${r}h
addr=198.18.0.1
net_cleanup() {
  local n
  for n in 1 2 3; do ip netns del "$ns$n" 2>/dev/null || true; done
  ip addr del "$addr/32" dev lo 2>/dev/null || true
}
net_cleanup
ip addr add "$addr/32" dev lo
for n in 1 2 3; do
  ip netns add "$ns$n"
  ip link add "kv${r}a$n" type veth peer name "kv${r}b$n"
  ip link set "kv${r}b$n" netns "$ns$n"
  ip addr add "198.18.$n.1/24" dev "kv${r}a$n"
  ip link set "kv${r}a$n" up
  ip netns exec "$ns$n" ip addr add "198.18.$n.2/24" dev "kv${r}b$n"
  ip netns exec "$ns$n" ip link set "kv${r}b$n" up
  ip netns exec "$ns$n" ip link set lo up
  ip netns exec "$ns$n" ip route add default via "198.18.$n.1"
done
KS_BOOTSTRAP=$("$kafka" start --port 0 --host "$addr" --dir "$KS_TMP/kafka" 2>"$KS_TMP/kafka-local.log" | tail -n 1)
. "$KS_TOP/tests/integration/lib/supervisor.sh"
trap 'sv_cleanup; "$kafka" stop --dir "$KS_TMP/kafka" >/dev/null 2>&1 || true; net_cleanup' EXIT
pl_say "broker at $PL_B; hosts in network namespaces $ns{1,2,3}"

pool=partition-$RANDOM
sensors=("$PL_SENSORS/valid/example-1.yaml" "$PL_SENSORS/valid/example-2.yaml")
mkdir -p "$KS_TMP/sensors"
cp "${sensors[@]}" "$KS_TMP/sensors/"
for n in 1 2 3; do
  sv_config "$KS_TMP/h$n.yaml" "$pool" 1 6 "$KS_TMP/sensors/*.yaml"
  sed -i "s/^instance: .*/instance: \"h$n\"/; s|^dataDir: .*|dataDir: \"$KS_TMP/data$n\"|;
          s|^pidFile: .*|pidFile: \"$KS_TMP/h$n.pid\"|; s/^batchSize: .*/batchSize: 200/" "$KS_TMP/h$n.yaml"
done
pl_colour_events 24000 23 >"$KS_TMP/events.tsv"
pl_oracle "$KS_TMP/events.tsv" "${sensors[@]}" >"$KS_TMP/expected"
split -n l/3 -d "$KS_TMP/events.tsv" "$KS_TMP/part."
# one event partition: `ksensorctl eval` computes && firings in the order the events were produced
pl_topic "$pool-events" 1

declare -a host lines
start_host() { # N: the daemon of host N, in its namespace
  echo "==== $(date +%T.%N) start ====" >>"$KS_TMP/h$1.log"
  ip netns exec "$ns$1" "$KS_BUILD/ksensord" -f -c "$KS_TMP/h$1.yaml" >>"$KS_TMP/h$1.log" 2>&1 &
  host[$1]=$!
  PL_LIVE[${host[$1]}]=$KS_TMP/h$1.log
}
for n in 1 2 3; do start_host "$n"; done
for n in 1 2 3; do sv_ready "$KS_TMP/h$n.log" 1 1 120; done
fired() { cat "$KS_TMP"/h?.log | grep -c 'action log: ' || true; }
progress() { (($(fired) > $1)); }
alive() { local n; for n in 1 2 3; do pl_running "${host[n]}" || pl_fail "host $n's daemon stopped $1"; done; }

pl_produce "$pool-events" "$KS_TMP/part.00"
pl_until 60 "the pool to fire" progress 0
for n in 1 2 3; do lines[n]=$(wc -l <"$KS_TMP/h$n.log"); done
ip link set "kv${r}a1" down
cut=$SECONDS
pl_say "host 1 cut off from the broker"
before=$(fired)
pl_produce "$pool-events" "$KS_TMP/part.01"
took_over() {
  pl_log_since "$KS_TMP/h2.log" "${lines[2]}" 'assigned [0-9]+ partitions' ||
    pl_log_since "$KS_TMP/h3.log" "${lines[3]}" 'assigned [0-9]+ partitions'
}
pl_until 60 "hosts 2 and 3 to take host 1's partitions over" took_over
pl_say "hosts 2 and 3 have host 1's partitions $((SECONDS - cut)) s after the cut"
pl_until 60 "the two other hosts to fire" progress "$before"
while ((SECONDS - cut < 25)); do alive "while host 1 was cut off"; sleep 1; done
ip link set "kv${r}a1" up
back=$(wc -l <"$KS_TMP/h1.log")
pl_say "host 1 back after $((SECONDS - cut)) s"
# the commit host 1 was in when it was cut ends: given up, or confirmed (its loop goes on and sees the
# revocation of its partitions)
pl_until 60 "host 1 to settle the transaction it was committing" pl_log_since "$KS_TMP/h1.log" "${lines[1]}" \
  'aborting the batch|Fatal|fenced|exited with status|revoked [0-9]+ partitions'
pl_until 120 "host 1 to be assigned partitions again" pl_log_since "$KS_TMP/h1.log" "$back" 'assigned [1-9][0-9]* partitions'
pl_say "host 1 has partitions again $((SECONDS - cut)) s after the cut"
pl_produce "$pool-events" "$KS_TMP/part.02"
pl_wait_drained "$pool" 240
alive "at the end"
for n in 1 2 3; do pl_stop "${host[n]}"; done

pl_read "$pool-action" | pl_firings_of_actions >"$KS_TMP/got" || pl_fail "cannot decode the action topic"
pl_compare_firings "a host cut off and back" "$KS_TMP/expected" "$KS_TMP/got"
pl_unique_ids "$pool-action"
pl_say "exactly the $(wc -l <"$KS_TMP/got") expected firings, each once; host 1: $(grep -cE 'aborting the batch|Fatal|fenced' "$KS_TMP/h1.log") abandoned or refused transactions, $(sv_log_count "$KS_TMP/h1.log" 'respawning in') worker respawns"
