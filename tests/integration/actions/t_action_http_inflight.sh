#!/usr/bin/env bash
# http actions: at most 512 calls in flight per worker. One event fires 600 http triggers whose
# receiver answers after 1.5 s; the receiver (tests/tools/kshttpd) counts the requests it holds
# unanswered. The peak must be exactly 512 — reached, never passed — the 513th call must wait for an
# answer, and all 600 must end done.
set -euo pipefail
. "$KS_TOP/tests/integration/lib/pipeline.sh"

"$KS_BUILD/kshttpd" "$KS_TMP/http.port" "$KS_TMP/requests.jsonl" &
PL_LIVE[$!]=$KS_TMP/kshttpd.log
pl_until 10 "the HTTP receiver" test -s "$KS_TMP/http.port"
url=http://127.0.0.1:$(cat "$KS_TMP/http.port")/delay/1500/wide

mkdir -p "$KS_TMP/sensors"
{
  printf 'apiVersion: argoproj.io/v1alpha1\nkind: Sensor\nmetadata:\n  name: wide\nspec:\n'
  printf '  dependencies:\n    - name: go\n      eventSourceName: demo\n      eventName: go\n  triggers:\n'
  for i in $(seq 600); do printf '    - template:\n        name: t%d\n        http:\n          url: %s\n          timeout: 30\n' "$i" "$url"; done
} >"$KS_TMP/sensors/wide.yaml"

pool=inflight-$RANDOM
pl_config "$KS_TMP/w.yaml" "$pool" widehost "$KS_TMP/data" "$KS_TMP/sensors/*.yaml"
pl_topic "$pool-events" 1
pl_event go1 go '{}' >"$KS_TMP/events.tsv"
pl_start_fresh w "$KS_TMP/w.log" "$KS_TMP/w.yaml"
pl_produce "$pool-events" "$KS_TMP/events.tsv"
pl_wait_drained "$pool" 120
pl_stop "$w"

req=$KS_TMP/requests.jsonl
(($(wc -l <"$req") == 600)) || pl_fail "$(wc -l <"$req") requests, expected 600"
(($(jq -r .key "$req" | sort -u | wc -l) == 600)) || pl_fail "not 600 distinct Idempotency-Keys"
peak=$(jq -s 'map(.inflight) | max' "$req")
((peak == 512)) || pl_fail "peak of concurrent calls $peak, expected 512"
# the 513th request left only once an answer came back, 1.5 s after the first ones
wait_ms=$(jq -s 'sort_by(.t) | .[512].t - .[0].t' "$req")
((wait_ms >= 1400)) || pl_fail "the 513th call came $wait_ms ms after the first: it did not wait for an answer"
done=$(sqlite3 -readonly "$KS_TMP/data/$pool-action-0.db" "SELECT count(*) FROM ledger WHERE status = 'done' AND last_status = 200")
((done == 600)) || pl_fail "$done firings done, expected 600"
pl_say "600 calls: at most 512 in flight (peak $peak), the 513th $wait_ms ms after the first, all 600 done"
