#!/usr/bin/env bash
# Bounded memory (DESIGN.md §2.6): held events live in SQLite, not in RAM. 1,000 sensors (generated,
# one trigger "a && b" each) each receive one `a` event carrying ~100 KB of data: 100 MB of pending
# state. Once the worker holds all of them (the SQLite held count is 1,000), its resident set
# (VmRSS in /proc/PID/status) must stay under 64 MiB; the figure and the peak (VmHWM) are printed.
# Then the 1,000 `b` events must give exactly 1,000 firings, each carrying its 100 KB `a` event.
set -euo pipefail
. "$KS_TOP/tests/integration/lib/pipeline.sh"

n=1000
limit_kib=$((64 * 1024))
pool=mem-$RANDOM
mkdir -p "$KS_TMP/sensors"
for ((i = 0; i < n; i++)); do
  printf -v s '%04d' "$i"
  cat >"$KS_TMP/sensors/mem-$s.yaml" <<YAML
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata:
  name: mem-$s
spec:
  dependencies:
    - {name: a, eventSourceName: mem, eventName: a-$s}
    - {name: b, eventSourceName: mem, eventName: b-$s}
  triggers:
    - template:
        name: t
        conditions: "a && b"
        log: {}
YAML
done
pl_config "$KS_TMP/w.yaml" "$pool" memhost "$KS_TMP/data" "$KS_TMP/sensors/*.yaml"

pad=$(head -c 100000 /dev/zero | tr '\0' p)
for ((i = 0; i < n; i++)); do
  printf -v s '%04d' "$i"
  pl_event "a$s" "a-$s" "{\"pad\":\"$pad\"}" mem
done >"$KS_TMP/a.tsv"
for ((i = 0; i < n; i++)); do
  printf -v s '%04d' "$i"
  pl_event "b$s" "b-$s" '' mem
done >"$KS_TMP/b.tsv"
pl_say "$n sensors; $n a events of $(($(wc -c <"$KS_TMP/a.tsv") / n)) bytes ($(($(wc -c <"$KS_TMP/a.tsv") / 1048576)) MiB in all)"

pl_topic "$pool-events" 1
t0=$SECONDS
pl_start_fresh pid "$KS_TMP/worker.log" "$KS_TMP/w.yaml"
pl_produce "$pool-events" "$KS_TMP/a.tsv"
db=$KS_TMP/data/$pool-trigger-0.db
held_count() { [[ -f $db ]] && [[ $(pl_sql "$db" 'SELECT count(*) FROM held' 2>/dev/null) == "$n" ]]; }
deadline=$((SECONDS + 180))
peak=0
until held_count; do
  pl_alive "$pid" "while taking in the a events"
  ((SECONDS < deadline)) || pl_fail "the worker holds $(pl_sql "$db" 'SELECT count(*) FROM held' 2>/dev/null || echo 0) events after 180 s, expected $n"
  rss=$(pl_status_kib "$pid" VmRSS || echo 0)
  ((rss > peak)) && peak=$rss
  sleep 0.2
done
pl_wait_drained "$pool" 60
rss=$(pl_status_kib "$pid" VmRSS)
hwm=$(pl_status_kib "$pid" VmHWM)
bytes=$(pl_sql "$db" 'SELECT sum(length(event)) FROM held')
pl_say "holding $n events ($((bytes / 1048576)) MiB in SQLite) after $((SECONDS - t0)) s: VmRSS $((rss / 1024)) MiB, VmHWM $((hwm / 1024)) MiB (largest VmRSS seen while polling: $((peak / 1024)) MiB)"
if [[ ${KS_SANITIZED:-0} == 1 ]]; then
  # AddressSanitizer's shadow memory and quarantine (256 MB) dominate the resident set: the bound is
  # asserted by the plain build's `make check`; here the firings below are what is checked
  pl_say "sanitizer build: VmRSS not compared with the 64 MiB bound"
else
  ((rss < limit_kib)) || pl_fail "VmRSS is $((rss / 1024)) MiB with 100 MB of pending state held, expected under 64 MiB (VmHWM $((hwm / 1024)) MiB)"
fi

pl_produce "$pool-events" "$KS_TMP/b.tsv"
deadline=$((SECONDS + 180))
until [[ $(pl_sql "$db" 'SELECT count(*) FROM firings') == "$n" ]]; do
  pl_alive "$pid" "while firing"
  ((SECONDS < deadline)) || pl_fail "$(pl_sql "$db" 'SELECT count(*) FROM firings') firings after 180 s, expected $n"
  sleep 0.3
done
pl_wait_drained "$pool" 120
hwm=$(pl_status_kib "$pid" VmHWM)
pl_stop "$pid"
pl_read "$pool-action" '%k\t%s\n' \
  | jq -R -r 'split("\t") | (.[1:] | join("\t") | fromjson) as $f
              | "\(.[0]) \($f.events.a.id) \($f.events.b.id) \($f.events.a.data.pad | length)"' >"$KS_TMP/got"
[[ $(wc -l <"$KS_TMP/got") == "$n" ]] || pl_fail "$(wc -l <"$KS_TMP/got") firings on the action topic, expected $n"
for ((i = 0; i < n; i++)); do printf 'mem-%04d/t a%04d b%04d 100000\n' "$i" "$i" "$i"; done >"$KS_TMP/expected"
diff <(sort "$KS_TMP/expected") <(sort "$KS_TMP/got") >&2 || pl_fail "the firings differ from one per sensor with its a (100 KB) and b events"
[[ $(pl_sql "$db" 'SELECT count(*) FROM held') == 0 ]] || pl_fail "events still held after every trigger fired"
pl_say "$n firings, one per sensor, each with its 100 KB a event; VmHWM over the whole run $((hwm / 1024)) MiB"
