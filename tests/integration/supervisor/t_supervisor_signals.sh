#!/usr/bin/env bash
# The supervisor under systemd and when a stop goes wrong (DESIGN.md §6): with NOTIFY_SOCKET set it
# sends READY=1 and STATUS=… at start, RELOADING=1 then READY=1 around a SIGHUP, STOPPING=1 on
# SIGTERM. A worker that cannot finish (stopped with SIGSTOP) is killed once shutdownTimeout has
# passed, and the daemon exits 1; a second SIGTERM kills it at once, without waiting for the timeout.
set -euo pipefail
. "$KS_TOP/tests/integration/lib/supervisor.sh"

pool=susi-$RANDOM
pl_topic "$pool-events" 1
sv_config "$KS_TMP/k.yaml" "$pool" 2 2 "$PL_SENSORS/valid/example-1.yaml"
sed -i 's/^shutdownTimeout: .*/shutdownTimeout: 3s/' "$KS_TMP/k.yaml"
notes=$KS_TMP/notify.out
"$KS_BUILD/kstool" notify-listen "$KS_TMP/notify.sock" "$notes" &
listener=$!
PL_LIVE[$listener]=$KS_TMP/listener.log
pl_until 10 "the notification socket" test -S "$KS_TMP/notify.sock"

# note_index REGEX: the message number (1-based) of the first message after the first FROM that
# matches REGEX, 0 when none.
note_index() {
  awk -v re="$1" -v from="${2:-1}" 'BEGIN { RS = "\n--\n" } NR >= from && $0 ~ re { print NR; found = 1; exit } END { if (!found) print 0 }' "$notes"
}

log=$KS_TMP/one.log
sv_start sup "$log" "$KS_TMP/k.yaml" NOTIFY_SOCKET="$KS_TMP/notify.sock"
sv_ready "$log" 1 2 90
pl_until 10 "READY=1" test "$(note_index 'READY=1')" -gt 0
pl_until 10 "STATUS with 2 workers ready" test "$(note_index 'STATUS=generation 1: 2 of 2 workers ready')" -gt 0
ready=$(note_index 'READY=1')

kill -HUP "$sup"
sv_ready "$log" 2 2 60
reloading=$(note_index 'RELOADING=1')
((reloading > ready)) || pl_fail "no RELOADING=1 after SIGHUP: $(tr '\n' ' ' <"$notes")"
pl_until 10 "READY=1 after the reload" test "$(note_index 'READY=1' $((reloading + 1)))" -gt 0
pl_say "sd_notify: READY=1, STATUS, RELOADING=1 then READY=1"

# a worker that never finishes: killed after shutdownTimeout, exit status 1
kill -STOP "$(sv_worker_pid "$log" 0)"
kill -TERM "$sup"
pl_wait_exit "$sup" 30 || pl_fail "the supervisor did not exit after shutdownTimeout"
((PL_RC == 1)) || pl_fail "exit status $PL_RC after killing a stuck worker, expected 1"
sv_wait_log "$log" '1 workers still running after shutdownTimeout: killing them' 1 1
pl_until 10 "STOPPING=1" test "$(note_index 'STOPPING=1')" -gt 0
pl_say "a stuck worker: killed after shutdownTimeout, exit status 1, STOPPING=1 sent"

# a second SIGTERM does not wait for the timeout
sed -i 's/^shutdownTimeout: .*/shutdownTimeout: 10m/' "$KS_TMP/k.yaml"
log=$KS_TMP/two.log
sv_start sup "$log" "$KS_TMP/k.yaml"
sv_ready "$log" 1 2 90
kill -STOP "$(sv_worker_pid "$log" 1)"
kill -TERM "$sup"
sv_wait_log "$log" "worker 0 \\(pid $(sv_worker_pid "$log" 0)\\) stopped" 1 20
kill -TERM "$sup"
pl_wait_exit "$sup" 30 || pl_fail "a second SIGTERM did not end the supervisor"
((PL_RC == 1)) || pl_fail "exit status $PL_RC after a forced stop, expected 1"
sv_wait_log "$log" 'SIGTERM while stopping: killing the 1 remaining workers' 1 1
(($(sv_log_count "$log" 'after shutdownTimeout') == 0)) || pl_fail "the forced stop waited for shutdownTimeout"
pl_say "a second SIGTERM: the stuck worker killed at once, exit status 1"
