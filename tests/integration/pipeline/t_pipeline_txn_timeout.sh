#!/usr/bin/env bash
# t_pipeline_txn_timeout — transaction.timeout.ms under eventbus.librdkafka takes effect (it was once
# overridden by a fixed 60 s): a value above the broker's transaction.max.timeout.ms (900000 by
# default) reaches the broker, which refuses it, so the worker cannot start; without it the worker
# starts with ksensor's own (10 s plus commitInterval), which the broker accepts.
set -euo pipefail
. "$KS_TOP/tests/integration/lib/pipeline.sh"

pool=txn-$RANDOM
pl_topic "$pool-events" 1
pl_config "$KS_TMP/default.yaml" "$pool" txnhost "$KS_TMP/data" "$PL_SENSORS/valid/example-1.yaml"
pl_start_fresh w "$KS_TMP/default.log" "$KS_TMP/default.yaml"
pl_stop "$w"

sed 's/^  librdkafka:$/  librdkafka:\n    transaction.timeout.ms: "900001"/' "$KS_TMP/default.yaml" >"$KS_TMP/long.yaml"
grep -q 'transaction.timeout.ms: "900001"' "$KS_TMP/long.yaml" || pl_fail "the configuration was not edited"
"$KS_BUILD/ksensord" -t -c "$KS_TMP/long.yaml" >/dev/null || pl_fail "ksensord -t refuses transaction.timeout.ms"
pl_start w "$KS_TMP/long.log" "$KS_TMP/long.yaml"
pl_wait_exit "$w" 60
((PL_RC == 3)) || pl_fail "the worker exited $PL_RC, expected 3 (the broker refuses the timeout)"
grep -q 'rd_kafka_init_transactions(.*) failed: .*[Tt]imeout' "$KS_TMP/long.log" \
  || pl_fail "no line saying the broker refused the transaction timeout"
echo PASS
