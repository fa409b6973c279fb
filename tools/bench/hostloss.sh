#!/usr/bin/env bash
# hostloss.sh — how long the partitions of a host lost for good take to come back, with ksensor's
# default timeouts: runs the integration scenario t_pipeline_hostloss (two hosts share a pool of 4
# partitions, one is killed with kill -9 mid-stream and never restarted; the action topic is
# checked against `ksensorctl eval`) RUNS times on the bench's broker with ksensor's defaults, next to
# one run with librdkafka's own timeouts and RUNS runs without fencing the dead host (fenceDeparted:
# false: its open transaction ends when the broker expires it), and prints the takeover figures as a
# Markdown table with their medians.
#   hostloss.sh BUILD_DIR BOOTSTRAP RUNS
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$(cd "$1" && pwd); bs=$2; runs=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/ksensor-bench-hostloss.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "Two hosts (one worker each) share a pool of 4 internal partitions; 20,000 events produced up front;"
echo "one host kill -9 mid-stream, never restarted; the broker's scan for expired transactions is Kafka's"
echo "default (every 10 s). The baselines set librdkafka's own timeouts, or do not fence the dead host"
echo "(its open transaction then ends when the broker expires it)."
echo
# one: WHAT DIR [LIBRDKAFKA [NOFENCE]]: a run of the scenario; prints "ASSIGNED DRAINED FIRINGS"
one() {
  mkdir -p "$2"
  KS_BOOTSTRAP=$bs KS_BUILD=$build KS_TMP=$2 KS_TOP=$top KS_HOSTLOSS_LIBRDKAFKA=${3:-} KS_HOSTLOSS_NOFENCE=${4:-} \
    "$top/tests/integration/pipeline/t_pipeline_hostloss.sh" >"$2/out" 2>&1 \
    || { echo "$1 failed:" >&2; tail -n 20 "$2/out" >&2; exit 1; }
  sed -n 's/.*takeover: \([0-9.]*\) s from the kill to host b assigned, \([0-9.]*\) s to the pool drained.*/\1 \2/p' "$2/out" \
    | tr '\n' ' '
  sed -n 's/.*holds exactly the \([0-9]*\) expected firings.*/\1/p' "$2/out"
}

echo "| timeouts | run | kill → survivor assigned | kill → pool drained | firings (= eval, each once) |"
echo "|---|---:|---:|---:|---:|"
read -r a d n < <(one baseline "$work/base" "session.timeout.ms=45000 transaction.timeout.ms=60000" 1)
echo "| librdkafka's (session 45 s, transaction 60 s), no fencing: baseline | 1 | $a s | $d s | $n |"
assigned=() drained=() nf_drained=()
for ((r = 1; r <= runs; r++)); do
  read -r a d n < <(one "no fencing, run $r" "$work/nf$r" "" 1)
  nf_drained+=("$d")
  echo "| ksensor's (session 10 s, transaction 10.1 s), no fencing: baseline | $r | $a s | $d s | $n |"
  read -r a d n < <(one "run $r" "$work/$r")
  assigned+=("$a"); drained+=("$d")
  echo "| ksensor's (session 10 s, transaction 10.1 s), the dead host fenced | $r | $a s | $d s | $n |"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo
echo "Median with ksensor's defaults: survivor assigned $(median "${assigned[@]}") s after the kill, pool drained $(median "${drained[@]}") s after it (without fencing: drained $(median "${nf_drained[@]}") s after it)."
