#!/usr/bin/env bash
# Exactly one object per firing on a real API server, whatever kills the worker: 3,000 events, each
# firing a k8s trigger that creates a Workflow with generateName (at most once, Argo's default: no
# atLeastOnce), produced up front; the worker killed with kill -9 at random moments and restarted,
# 10 times at least while work is pending, then left to drain. Then, injected crashes right after an
# API call succeeded and before its ledger row commits (after-http-response), and before the row
# that starts the call (before-http-ledger). Asserted: exactly 3,000 Workflows carry the sensor's
# label, each firing id on exactly one of them, every one of the firings on the action topic
# among them, and no ledger row failed (a kill between a batch's two commits may lose its rows: see below).
# KILLLOOP_SEED=N replays the same kill schedule.
set -euo pipefail
. "$KS_TOP/tests/integration/lib/pipeline.sh"
. "$KS_TOP/tests/integration/lib/kube.sh"

seed=${KILLLOOP_SEED:-$(( $(date +%s) % 100000 ))}
RANDOM=$seed
n=3000
want_kills=10
ns=$(kb_namespace)
pool=k8skill-$seed
mkdir -p "$KS_TMP/sensors"
kb_workflow_sensor create "$ns" go run- \
  "          parameters:" "            - src: {dependencyName: e, dataKey: i}" \
  "              dest: spec.arguments.parameters.0.value" >"$KS_TMP/sensors/create.yaml"
kb_config "$KS_TMP/w.yaml" "$pool" killhost "$KS_TMP/data" "$KS_TMP/sensors/*.yaml"
sed -i 's/^batchSize: .*/batchSize: 100/' "$KS_TMP/w.yaml"

seq 1 "$n" | while read -r i; do pl_event "e$i" go "{\"i\":\"$i\"}"; done >"$KS_TMP/events.tsv"
pl_topic "$pool-events" 1
pl_start_fresh pid "$KS_TMP/worker.log" "$KS_TMP/w.yaml"
pl_stop "$pid"
pl_produce "$pool-events" "$KS_TMP/events.tsv"

count() { kb_list "$ns" workflows events.argoproj.io/sensor=create | wc -l; }
kills=0 t0=$SECONDS
while ((kills < want_kills)); do
  pl_start pid "$KS_TMP/worker.log" "$KS_TMP/w.yaml"
  delay=$((300 + RANDOM % 700))
  sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
  pl_alive "$pid" "on its own (it must only die by kill -9)"
  pl_kill9 "$pid"
  pl_drained "$pool" && break
  kills=$((kills + 1))
  ((SECONDS - t0 < 300)) || pl_fail "$kills kills took $((SECONDS - t0)) s"
done
((kills >= want_kills)) || pl_fail "the pool drained after only $kills kills: give the test more work"
pl_say "seed $seed: $kills kills with work pending, $(count) Workflows so far"

# injected crashes around the call, in the rest of the run
for crash in after-http-response:7 before-http-ledger:5 after-http-response:3; do
  pl_start pid "$KS_TMP/worker.log" "$KS_TMP/w.yaml" KSENSOR_CRASH_AT="$crash"
  if pl_wait_exit "$pid" 60; then
    ((PL_RC == 99)) || pl_fail "$crash: the worker exited $PL_RC, expected the injected crash (99)"
  else
    pl_drained "$pool" || pl_fail "$crash: neither crashed nor drained"
    pl_stop "$pid"
  fi
done

pl_start pid "$KS_TMP/worker.log" "$KS_TMP/w.yaml"
deadline=$((SECONDS + 180))
until (($(count) >= n)) && pl_drained "$pool"; do
  ((SECONDS < deadline)) || pl_fail "$(count) Workflows after 180 s, expected $n"
  sleep 1
done
pl_stop "$pid"

# exactly n, one per firing, one per event
kb_ok GET "/apis/argoproj.io/v1alpha1/namespaces/$ns/workflows?labelSelector=events.argoproj.io/sensor%3Dcreate" \
  >"$KS_TMP/workflows.json"
jq -r '.items[].metadata.annotations["ksensor.io/firing"]' "$KS_TMP/workflows.json" | sort >"$KS_TMP/firings.objects"
jq -r '.items[].spec.arguments.parameters[0].value' "$KS_TMP/workflows.json" | sort -n >"$KS_TMP/params"
pl_read "$pool-action" | jq -R -r 'split("\t")[1:] | join("\t") | fromjson | .id' | sort >"$KS_TMP/firings.topic"
total=$(wc -l <"$KS_TMP/firings.objects")
dups=$(uniq -d "$KS_TMP/firings.objects" | wc -l)
((total == n)) || pl_fail "$total Workflows for $n firings ($dups firing ids on two objects)"
((dups == 0)) || pl_fail "$dups firing ids on two objects"
cmp -s "$KS_TMP/firings.objects" "$KS_TMP/firings.topic" || pl_fail "the objects' firing ids differ from the action topic's"
cmp -s "$KS_TMP/params" <(seq 1 "$n") || pl_fail "the Workflows' parameters are not 1..$n each once"
# The ledger: no row failed or unknown, none for a firing not on the action topic. A kill between a
# batch's Kafka commit and its SQLite commit loses that batch's rows (the pipeline's order, DESIGN.md
# §2.2): a "done" row then still says attempting, and — k8s being repeatable, its call starts
# without waiting for the "attempting" row to commit — a firing whose two rows were in that one batch
# has none, its offset committed past it. Its object exists (asserted above): the guarantee is the
# object, the ledger this host's memory of it.
kb_ledger "$KS_TMP/w.yaml" >"$KS_TMP/ledger.json"
rows=$(jq length "$KS_TMP/ledger.json")
done=$(jq '[.[] | select(.status == "done")] | length' "$KS_TMP/ledger.json")
bad=$(jq -r '.[] | select(.status != "done" and .status != "attempting") | "\(.id) \(.status) \(.last_error)"' "$KS_TMP/ledger.json")
strays=$(jq -r '.[].id' "$KS_TMP/ledger.json" | sort | comm -23 - "$KS_TMP/firings.topic" | wc -l)
((rows <= n && strays == 0)) || pl_fail "the ledger has $rows rows for $n firings, $strays of them for firings not on the action topic"
[[ -z $bad ]] || pl_fail "ledger rows neither done nor attempting: $bad"
pl_say "ledger: $done done, $((rows - done)) left attempting and $((n - rows)) lost by kills between the Kafka and SQLite commits"
again=$(kb_ledger "$KS_TMP/w.yaml" |
  jq '[.[] | select((.result // "") | test("by an earlier attempt"))] | length')
pl_say "exactly $n Workflows, one per firing and per event; $again creates found done by an earlier life"
