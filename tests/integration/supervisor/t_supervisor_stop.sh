#!/usr/bin/env bash
# The daemon's life (DESIGN.md §6): without -f ksensord detaches (its own session, parent gone), writes
# and locks its pid file; a second instance on the same pid file, or on the same dataDir with another
# pid file, is refused with a message naming the holder. SIGUSR1 reopens the log file (logrotate).
# SIGTERM in the middle of a stream: every process exits within shutdownTimeout, the pid file is
# removed, the log says exit status 0; a restart (in the foreground, SIGTERM: exit 0) finishes the
# stream without a duplicate or a loss. As root, `user:` runs everything as that user, with dataDir
# 0700 and SQLite files 0600 owned by it. librdkafka's own lines (a deprecated property in
# eventbus.librdkafka) reach the log file as warnings; its notes about consumer properties ignored
# by producers (eventbus.librdkafka goes to every handle) do not, at info level.
set -euo pipefail
. "$KS_TOP/tests/integration/lib/supervisor.sh"

pool=sust-$RANDOM
sensors=("$PL_SENSORS/valid/example-1.yaml" "$PL_SENSORS/valid/example-2.yaml")
mkdir -p "$KS_TMP/sensors"
cp "${sensors[@]}" "$KS_TMP/sensors/"
pl_topic "$pool-events" 1
sv_config "$KS_TMP/k.yaml" "$pool" 2 2 "$KS_TMP/sensors/*.yaml"
log=$KS_TMP/daemon.log
printf 'log:\n  file: "%s"\n' "$log" >>"$KS_TMP/k.yaml"
# a deprecated librdkafka property: librdkafka says so, in the log file
sed -i 's|^  librdkafka:$|  librdkafka:\n    socket.blocking.max.ms: "1000"|' "$KS_TMP/k.yaml"
grep -q "socket.blocking.max.ms" "$KS_TMP/k.yaml" || pl_fail "could not add socket.blocking.max.ms"
pidfile=$KS_TMP/$pool/ksensord.pid

"$KS_BUILD/ksensord" -c "$KS_TMP/k.yaml" || pl_fail "ksensord (daemon mode) exited $?"
pl_until 10 "the pid file" test -s "$pidfile"
daemon=$(cat "$pidfile")
pl_running "$daemon" || pl_fail "pid file names $daemon, which is not running"
[[ $(ps -o sid= -p "$daemon" | tr -d ' ') != $(ps -o sid= -p $$ | tr -d ' ') ]] || pl_fail "the daemon kept our session"
[[ $(ps -o ppid= -p "$daemon" | tr -d ' ') != $$ ]] || pl_fail "the daemon is still our child"
sv_ready "$log" 1 2 90
pl_say "daemon: pid $daemon in its own session, 2 workers ready"
grep -q 'warning worker/[0-9]*\[[0-9]*\]: librdkafka rdkafka#consumer-[0-9]* CONFWARN: .*socket.blocking.max.ms is deprecated' "$log" \
  || pl_fail "librdkafka's warning about socket.blocking.max.ms is not in the log file"
! grep -q 'will be ignored by this' "$log" || pl_fail "consumer properties ignored by producers logged: $(grep -m1 'will be ignored' "$log")"
pl_say "librdkafka's lines in the log file: $(grep -m1 -o 'librdkafka [^ ]* CONFWARN: .*deprecated' "$log")"

set +e
out=$("$KS_BUILD/ksensord" -f -c "$KS_TMP/k.yaml" 2>&1); rc=$?
set -e
((rc == 1)) || pl_fail "a second instance on the same pid file exited $rc, expected 1"
grep -qF "another ksensord (pid $daemon) holds the pid file $pidfile" <<<"$out" || pl_fail "second instance said: $out"
sed "s|^pidFile: .*|pidFile: \"$KS_TMP/other.pid\"|; s|^  file: .*|  file: \"$KS_TMP/other.log\"|" "$KS_TMP/k.yaml" >"$KS_TMP/other.yaml"
set +e
"$KS_BUILD/ksensord" -f -c "$KS_TMP/other.yaml" 2>"$KS_TMP/other.err"; rc=$?
set -e
((rc == 1)) || pl_fail "a second instance on the same dataDir exited $rc, expected 1"
grep -qF "another ksensord (pid $daemon) holds the data directory lock $KS_TMP/$pool/data/ksensord.lock" "$KS_TMP/other.err" \
  || pl_fail "second instance on the dataDir said: $(cat "$KS_TMP/other.err")"
pl_running "$daemon" || pl_fail "the first instance died"
pl_say "second instances refused: same pid file, same dataDir"

mv "$log" "$log.1"
kill -USR1 "$daemon"
sv_wait_log "$log" 'SIGUSR1: log file reopened' 1 10
rotated=$(wc -l <"$log.1")
kill -HUP "$daemon"             # the old workers log their stop, the new ones their start
sv_wait_log "$log" 'SIGHUP: reloading' 1 10
sv_ready "$log" 2 2 60
sv_wait_log "$log" 'the supervisor asks this worker to stop' 2 10
(($(wc -l <"$log.1") == rotated)) || pl_fail "after SIGUSR1 something still wrote to the rotated file: $(tail -n 2 "$log.1")"
pl_say "SIGUSR1: the log file was reopened"

pl_colour_events 3000 7 >"$KS_TMP/events.tsv"
head -n 2000 "$KS_TMP/events.tsv" >"$KS_TMP/first.tsv"
tail -n +2001 "$KS_TMP/events.tsv" >"$KS_TMP/second.tsv"
pl_oracle "$KS_TMP/events.tsv" "${sensors[@]}" >"$KS_TMP/expected"
pl_produce "$pool-events" "$KS_TMP/first.tsv"
pl_until 30 "the stream to be under way" bash -c "(( \$(awk '/action log: /' '$log' | wc -l) > 0 ))"
procs=$(pgrep -f "ksensord -c $KS_TMP/k.yaml" | tr '\n' ' ')
t0=$SECONDS
kill -TERM "$daemon"
for p in $procs; do
  pl_until 25 "process $p to exit after SIGTERM" bash -c "! kill -0 $p 2>/dev/null"
done
sv_wait_log "$log" 'ksensord stopped \(exit status 0\)' 1 5
[[ ! -e $pidfile ]] || pl_fail "the pid file is still there after the stop"
pl_say "SIGTERM mid-stream: all ${procs% } stopped in $((SECONDS - t0)) s, exit status 0"

sv_start sup "$KS_TMP/fg.log" "$KS_TMP/k.yaml"
pl_produce "$pool-events" "$KS_TMP/second.tsv"
pl_wait_drained "$pool" 120
pl_stop "$sup"
pl_read "$pool-action" | pl_firings_of_actions >"$KS_TMP/got" || pl_fail "cannot decode the action topic"
pl_compare_firings "stop and restart" "$KS_TMP/expected" "$KS_TMP/got"
pl_unique_ids "$pool-action"
pl_say "restart: the $(wc -l <"$KS_TMP/got") expected firings, each once; foreground SIGTERM: exit 0"

if ((EUID != 0)); then
  pl_say "NOTE: not root, so 'user:' (dropping privileges) is not exercised here"
  exit 0
fi
pool=suus-$RANDOM
pl_topic "$pool-events" 1
chmod o+x "$KS_TMP" "$(dirname "$KS_TMP")"
chmod o+r "$KS_TMP"/sensors/*.yaml
sv_config "$KS_TMP/u.yaml" "$pool" 1 1 "$KS_TMP/sensors/*.yaml"
echo 'user: nobody' >>"$KS_TMP/u.yaml"
ulog=$KS_TMP/user.log
sv_start sup "$ulog" "$KS_TMP/u.yaml"
sv_ready "$ulog" 1 1 90
pl_event u1 blue >"$KS_TMP/u1.tsv"
pl_produce "$pool-events" "$KS_TMP/u1.tsv"
pl_wait_drained "$pool" 60
for p in $sup $(sv_worker_pid "$ulog" 0); do
  [[ $(ps -o user= -p "$p" | tr -d ' ') == nobody ]] || pl_fail "process $p runs as $(ps -o user= -p "$p")"
done
data=$KS_TMP/$pool/data
[[ $(stat -c '%U %a' "$data") == "nobody 700" ]] || pl_fail "dataDir is $(stat -c '%U %a' "$data")"
dbs=$(find "$data" -name '*.db' | wc -l)
((dbs > 0)) || pl_fail "no SQLite file in dataDir"
bad=$(find "$data" -name '*.db' \( ! -user nobody -o ! -perm 600 \) | head -n 3)
[[ -z $bad ]] || pl_fail "SQLite files not 0600 nobody: $bad"
pl_stop "$sup"
pl_say "user: nobody: supervisor and worker run as nobody; dataDir 0700 and $dbs SQLite files 0600, owned by nobody"
