#!/usr/bin/env bash
# The supervisor and its workers (DESIGN.md §3 "Processes", §6): two workers start, join the group
# and are reported ready on /readyz; /healthz answers; /metrics counts the events that flow. A
# worker killed with kill -9 is respawned, gets its partitions back without a rebalance (static
# membership: the other worker is not revoked) and processing goes on, exactly once: the action
# topic holds the firings `ksensorctl eval` computes. Then a crash loop (every worker dies at its
# first record) is respawned with a doubling back-off, never spinning; SIGTERM still stops it.
set -euo pipefail
. "$KS_TOP/tests/integration/lib/supervisor.sh"

pool=supw-$RANDOM
sensor=$PL_SENSORS/valid/example-1.yaml
pl_topic "$pool-events" 4
sv_config "$KS_TMP/k.yaml" "$pool" 2 4 "$sensor"
log=$KS_TMP/supervisor.log
sv_start sup "$log" "$KS_TMP/k.yaml"
sv_ready "$log" 1 2 90
port=$(sv_port "$log")
[[ $port =~ ^[0-9]+$ ]] || pl_fail "no HTTP port in the log"

got=$(sv_get "$port" /healthz)
[[ $got == "200 ok" ]] || pl_fail "/healthz answered '$got'"
got=$(sv_get "$port" /readyz)
[[ $got == "200 ready: 2 of 2 workers, generation 1" ]] || pl_fail "/readyz answered '$got'"
got=$(sv_get "$port" /nothing-here)
[[ $got == 404* ]] || pl_fail "/nothing-here answered '$got'"
[[ $(sv_metric "$port" ksensor_events_total) == 0 ]] || pl_fail "events counted before any was sent"

# blue events with keys of their own spread over the four partitions; each fires trigger-1
for i in $(seq 1 40); do pl_event "b$i" blue "{\"i\":$i}" | sed "s/^demo\.blue/key$i/"; done >"$KS_TMP/round1.tsv"
pl_produce "$pool-events" "$KS_TMP/round1.tsv"
pl_wait_drained "$pool" 60
sv_wait_metric "$port" ksensor_events_total 40 10
sv_wait_metric "$port" 'ksensor_firings_total' 40 10
pl_say "40 events in: /metrics counts them"

# kill -9 one worker: respawned, same partitions, no rebalance for the other
victim=$(sv_worker_pid "$log" 1)
other=$(sv_worker_pid "$log" 0)
parts=$(awk -v p="worker/1\\\\[$victim\\\\]: assigned" '$0 ~ p { n = $(NF - 1) } END { print n }' "$log")
lines=$(wc -l <"$log")
kill -9 "$victim"
sv_wait_log "$log" "worker 1 \\(pid $victim\\) was killed by signal 9 .*; respawning in 0.1 s" 1 10
pl_until 30 "worker 1 respawned" bash -c "[[ \$(awk -v v=$victim '/worker 1 started: pid / { sub(/.*pid /, \"\"); sub(/,.*/, \"\"); p = \$0 } END { print p }' '$log') != $victim ]]"
fresh=$(sv_worker_pid "$log" 1)
pl_until 60 "the respawned worker's assignment" pl_log_since "$log" "$lines" "worker/1\\[$fresh\\]: assigned"
again=$(awk -v p="worker/1\\\\[$fresh\\\\]: assigned" '$0 ~ p { n = $(NF - 1) } END { print n }' "$log")
[[ $again == "$parts" ]] || pl_fail "worker 1 had $parts partitions, its successor got $again"
! pl_log_since "$log" "$lines" "worker/0\\[$other\\]: revoked" || pl_fail "the kill made worker 0 rebalance"
sv_ready "$log" 1 2 30
sv_wait_metric "$port" ksensor_worker_restarts_total 1 10
pl_say "worker 1 (pid $victim) killed: respawned as $fresh with its $parts partitions, worker 0 not revoked"

for i in $(seq 41 80); do pl_event "b$i" blue "{\"i\":$i}"; done >"$KS_TMP/round2.tsv"
pl_produce "$pool-events" "$KS_TMP/round2.tsv"
pl_wait_drained "$pool" 60
cat "$KS_TMP/round1.tsv" "$KS_TMP/round2.tsv" >"$KS_TMP/all.tsv"
pl_oracle "$KS_TMP/all.tsv" "$sensor" >"$KS_TMP/expected"
pl_read "$pool-action" | pl_firings_of_actions >"$KS_TMP/got" || pl_fail "cannot decode the action topic"
# four event partitions: the firings of trigger-1 have no total order, so compare them as sets
sort "$KS_TMP/expected" >"$KS_TMP/expected.set"
sort "$KS_TMP/got" >"$KS_TMP/got.set"
pl_compare_firings "kill -9 of a worker" "$KS_TMP/expected.set" "$KS_TMP/got.set"
pl_unique_ids "$pool-action"
sv_wait_metric "$port" ksensor_events_total 80 10
pl_stop "$sup"
pl_say "80 events, one worker killed: the $(wc -l <"$KS_TMP/got") expected firings, each once; SIGTERM: exit 0"

# a crash loop: every worker dies at its first record; the back-off doubles and nothing spins
pool=supc-$RANDOM
pl_topic "$pool-events" 1
sv_config "$KS_TMP/c.yaml" "$pool" 1 1 "$sensor"
pl_event c1 blue '{}' >"$KS_TMP/crash.tsv"
pl_produce "$pool-events" "$KS_TMP/crash.tsv"
clog=$KS_TMP/crashloop.log
sv_start crash "$clog" "$KS_TMP/c.yaml" KSENSOR_CRASH_AT=after-consume:1
sv_wait_log "$clog" 'worker 0 \(pid [0-9]+\) exited with status 99; respawning in' 5 120
delays=$(awk '/worker 0 \(pid [0-9]+\) exited with status 99; respawning in/ { sub(/.*respawning in /, ""); print $1 }' "$clog" | head -n 5 | tr '\n' ' ')
[[ $delays == "0.1 0.2 0.4 0.8 1.6 " ]] || pl_fail "crash loop back-off: $delays (expected 0.1 0.2 0.4 0.8 1.6)"
starts=$(sv_log_count "$clog" 'worker 0 started: pid')
pl_alive "$crash" "during the crash loop"
kill -TERM "$crash"
pl_wait_exit "$crash" 30 || pl_fail "the supervisor did not stop during the crash loop"
((PL_RC == 0)) || pl_fail "the supervisor exited $PL_RC after SIGTERM in a crash loop"
pl_say "crash loop: respawned after $delays s ($starts starts), then stopped cleanly"
