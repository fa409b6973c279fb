#!/usr/bin/env bash
# A worker starting on a fresh pool creates the internal topics and must then run, even when the
# broker's metadata lags behind the creation. Right after CreateTopics succeeds a metadata request
# may still call a new topic unknown (the broker updates its metadata cache asynchronously): against
# the test broker about 1 fresh start in 60 died with "<pool>-trigger and <pool>-state must exist
# with the same partition count" (exit 3) — a flaky failure of any test that starts a fresh pool.
# tests/integration/lib/metadata_lag.c (an LD_PRELOAD shim, built here) makes the lag certain: the
# first, then — on another fresh pool — the second answer listing <pool>-state after its creation
# calls it unknown. The worker must get its partitions and fire a blue event (example-1/trigger-1).
set -euo pipefail
. "$KS_TOP/tests/integration/lib/pipeline.sh"

"${CC:-cc}" -shared -fPIC -O1 -o "$KS_TMP/metadata_lag.so" "$KS_TOP/tests/integration/lib/metadata_lag.c" \
  $(pkg-config --cflags rdkafka) -ldl || pl_fail "cannot build the metadata shim"

# CALL: which answer listing <pool>-state after its creation calls it unknown — the first (the worker
# counts the partitions of its topics) or the second (it verifies them).
for call in 1 2; do
  pool=startup$call-$RANDOM
  mkdir -p "$KS_TMP/sensors"
  cp "$PL_SENSORS/valid/example-1.yaml" "$KS_TMP/sensors/"
  pl_config "$KS_TMP/w$call.yaml" "$pool" starthost "$KS_TMP/data$call" "$KS_TMP/sensors/*.yaml"
  pl_topic "$pool-events" 1
  pl_event b1 blue >"$KS_TMP/events.tsv"
  pl_produce "$pool-events" "$KS_TMP/events.tsv"

  log=$KS_TMP/worker$call.log
  pl_start pid "$log" "$KS_TMP/w$call.yaml" \
    LD_PRELOAD="$KS_TMP/metadata_lag.so" ASAN_OPTIONS=verify_asan_link_order=0 KS_LAG_SUFFIX=-state KS_LAG_CALL=$call
  deadline=$((SECONDS + 60))
  until grep -q 'assigned [0-9]* partitions' "$log"; do
    pl_alive "$pid" "at start, with the metadata of $pool-state lagging behind its creation (answer $call)"
    ((SECONDS < deadline)) || pl_fail "no partitions assigned after 60 s"
    sleep 0.2
  done
  pl_say "the worker created the topics and got its partitions although $pool-state was reported unknown once (answer $call)"
  pl_wait_count "$pool-action" 1 30
  pl_wait_drained "$pool" 30
  pl_stop "$pid"
  [[ $(pl_read "$pool-action" '%k\n') == example-1/trigger-1 ]] || pl_fail "expected one firing of example-1/trigger-1"
  pl_say "and fired example-1/trigger-1"
done
