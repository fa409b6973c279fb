#!/usr/bin/env bash
# A partition moves away from a zombie (DESIGN.md §2.1, §2.2, §3 "zombies are fenced by the group
# generation, KIP-447"): worker A stops dead inside rd_kafka_commit_transaction of a trigger-stage
# batch — its changelog records and its consumed offsets are in the open transaction — long enough
# for its session to time out, so worker B (another host, empty dataDir) takes the partitions over.
# By default B fences A's instance when it is assigned A's partitions (fence.h): A's transaction is
# aborted at once, A's commit is refused when it wakes up, and B reads A's batch again. With
# KS_ZOMBIE_NOFENCE=1 (fenceDeparted: false; t_pipeline_zombie_unfenced) nothing fences A: A wakes up
# and its commit goes through (its offsets were sent before A lost the group), and B must end up with
# A's state change all the same: the offsets B starts from include A's batch (KIP-447: a
# read_committed consumer waits for the pending offsets), so B's restored state must include it too.
# Either way the firings and B's state must be exactly right.
#
# Events: a short stream A drains; then g (green): the event batch commits, and the next batch —
# the trigger stage holding g for example-2-green/trigger-2 ("red && green") — is the one A freezes
# in (tests/integration/lib/freeze_commit.c, an LD_PRELOAD shim that SIGSTOPs inside
# rd_kafka_commit_transaction when armed); after the move, r (red) must fire that trigger with g.
# The action topic must equal `ksensorctl eval` over the whole stream, and B's held table the
# changelog's latest state.
set -euo pipefail
. "$KS_TOP/tests/integration/lib/pipeline.sh"

pool=zombie-$RANDOM
sensors=("$PL_SENSORS/valid/example-1.yaml" "$PL_SENSORS/valid/example-2.yaml"
         "$PL_SENSORS/pipeline/example-2-green.yaml")
mkdir -p "$KS_TMP/sensors"
cp "${sensors[@]}" "$KS_TMP/sensors/"
pl_config "$KS_TMP/a.yaml" "$pool" hostA "$KS_TMP/dataA" "$KS_TMP/sensors/*.yaml"
pl_config "$KS_TMP/b.yaml" "$pool" hostB "$KS_TMP/dataB" "$KS_TMP/sensors/*.yaml"
[[ -z ${KS_ZOMBIE_NOFENCE:-} ]] || pl_no_fence "$KS_TMP/a.yaml" "$KS_TMP/b.yaml"
"${CC:-cc}" -shared -fPIC -O1 -o "$KS_TMP/freeze_commit.so" "$KS_TOP/tests/integration/lib/freeze_commit.c" -ldl \
  || pl_fail "cannot build the freeze shim"
arm=$KS_TMP/arm

{
  pl_event b0 blue; pl_event y0 yellow; pl_event r0 red; pl_event g0 green
  pl_event y1 yellow; pl_event b1 blue; pl_event b2 blue
} >"$KS_TMP/s1.tsv"
pl_event z-g green >"$KS_TMP/g.tsv"
pl_event z-r red >"$KS_TMP/r.tsv"
cat "$KS_TMP/s1.tsv" "$KS_TMP/g.tsv" "$KS_TMP/r.tsv" >"$KS_TMP/all.tsv"
pl_oracle "$KS_TMP/all.tsv" "${sensors[@]}" >"$KS_TMP/expected"
grep -qx $'example-2-green/trigger-2\t{"green":"z-g","red":"z-r"}' "$KS_TMP/expected" \
  || pl_fail "eval does not fire example-2-green/trigger-2 with z-g + z-r: $(cat "$KS_TMP/expected")"
pl_topic "$pool-events" 1

# A drains the first events
pl_start_fresh a "$KS_TMP/a.log" "$KS_TMP/a.yaml" LD_PRELOAD="$KS_TMP/freeze_commit.so" ASAN_OPTIONS=verify_asan_link_order=0 KS_FREEZE_ARM="$arm"
pl_produce "$pool-events" "$KS_TMP/s1.tsv"
pl_wait_count "$pool-action" "$(pl_oracle "$KS_TMP/s1.tsv" "${sensors[@]}" | wc -l)" 60
pl_wait_drained "$pool" 30
pl_held "$KS_TMP/dataA/$pool-trigger-0.db" | grep -q '^example-2-green/trigger-2|' \
  && pl_fail "example-2-green/trigger-2 holds something before z-g"
pl_say "A drained the first $(wc -l <"$KS_TMP/s1.tsv") events; example-2-green/trigger-2 holds nothing"

# z-g: commit 1 is the event batch, commit 2 the trigger stage holding z-g: A freezes in it
echo 2 >"$arm"
pl_produce "$pool-events" "$KS_TMP/g.tsv"
pl_until 30 "A freezes inside its second commit" test -f "$arm.frozen"
"$KS_BUILD/kstool" drained "$PL_B" "$pool" "$pool-events" "$pool-trigger" >"$KS_TMP/at-freeze" || true
pl_say "A frozen inside rd_kafka_commit_transaction; the group's offsets: $(tr '\n' ' ' <"$KS_TMP/at-freeze")"
pending=$(kcat -b "$PL_B" -C -t "$pool-state" -e -q -X isolation.level=read_uncommitted -f '%k %s\n' | grep -c 'z-g' || true)
((pending > 0)) || pl_fail "A froze in a batch without the changelog record holding z-g"
pl_say "its open transaction holds the changelog record of example-2-green/trigger-2 with z-g"

# B takes over once A's session timed out. A restore now, while A's transaction is open, can only
# read the changelog up to A's pending records; B should wait (up to 5 s are watched here).
t0=$SECONDS
pl_start b "$KS_TMP/b.log" "$KS_TMP/b.yaml"
pl_until 60 "B is assigned the partitions" grep -q 'assigned [0-9]* partitions' "$KS_TMP/b.log"
pl_say "B got the partitions after $((SECONDS - t0)) s"
watch_end=$((SECONDS + 5))
while ((SECONDS < watch_end)) && ! grep -q 'trigger task [^ ]*-trigger/0: restored' "$KS_TMP/b.log"; do sleep 0.2; done
if [[ -n ${KS_ZOMBIE_NOFENCE:-} ]]; then
  ! grep -q 'fenced departed instance' "$KS_TMP/b.log" || pl_fail "B fenced A with fenceDeparted: false"
  if grep -q 'trigger task [^ ]*-trigger/0: restored' "$KS_TMP/b.log"; then
    pl_say "B restored while A's transaction was open: $(grep -o 'restored [0-9]* changelog records.*' "$KS_TMP/b.log" | head -n 1)"
  else
    pl_say "B does not restore while A's transaction is open"
  fi
else
  pl_until 30 "B to fence A's instance" grep -q 'fenced departed instance hostA-0 ' "$KS_TMP/b.log"
  pl_say "B $(grep -o 'fenced departed instance.* ms' "$KS_TMP/b.log")"
fi

# A wakes up and commits
kill -CONT "$a"
pl_until 60 "the thawed A finishes its commit" test -f "$arm.committed"
pl_say "A thawed: its commit returned '$(cat "$arm.committed")'"
if [[ -z ${KS_ZOMBIE_NOFENCE:-} ]]; then
  grep -q 'fenced' "$arm.committed" || pl_fail "the fenced A's commit was not refused: $(cat "$arm.committed")"
fi
pl_kill9 "$a"
pl_until 90 "B restores the trigger task" grep -q 'trigger task [^ ]*-trigger/0: restored' "$KS_TMP/b.log"

# z-r must fire example-2-green/trigger-2 with A's z-g
pl_produce "$pool-events" "$KS_TMP/r.tsv"
pl_wait_drained "$pool" 90
pl_alive "$b" "after the move"
pl_held "$KS_TMP/dataB/$pool-trigger-0.db" >"$KS_TMP/held-b"
pl_changelog_held "$pool" >"$KS_TMP/held-changelog"
pl_stop "$b"
pl_read "$pool-action" | pl_firings_of_actions >"$KS_TMP/got" || pl_fail "cannot decode the action topic"
zg=$(pl_changelog "$pool" | awk -F'\t' '/=z-g/ { print $1 " (" $2 ")"; exit }')
committer="B (A's was aborted)"
[[ -z ${KS_ZOMBIE_NOFENCE:-} ]] || committer=A
pl_say "the changelog record holding z-g, committed by $committer, is at $pool-state/0/${zg:-?}; B: $(grep -o 'restored [0-9]* changelog records (up to offset [0-9]*)' "$KS_TMP/b.log" | head -n 1)"
if ! cmp -s "$KS_TMP/held-changelog" "$KS_TMP/held-b"; then
  echo "B's held table (+) against the changelog's latest state (-):" >&2
  diff -u "$KS_TMP/held-changelog" "$KS_TMP/held-b" | sed -n '3,20p' >&2 || true
  bad_state=1
fi
pl_compare_firings "zombie" "$KS_TMP/expected" "$KS_TMP/got"
[[ -z ${bad_state:-} ]] || pl_fail "B's held table differs from the changelog"
pl_unique_ids "$pool-action"
pl_say "B fired example-2-green/trigger-2 with z-g; $(wc -l <"$KS_TMP/got") firings, each once; B's state equals the changelog"
