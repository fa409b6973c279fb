#!/usr/bin/env bash
# `ksensorctl emit` as a user meets it, against the real broker: five structured-mode events (--count 5
# --json) read back with kcat — key "source.subject", the content-type header, every CloudEvent
# attribute, the data as given, ids, partitions and offsets as --json reported them; two binary-mode
# events — the ce_* headers and the data as the record value; a worker hosting example-1 fires
# trigger-1 once for every one of those blue events, structured and binary, sent before it started and
# while it runs; and the errors: no --source (2), --data that is not JSON (2), an embedded event bus
# whose daemon is not running (1), a missing topic (1), records the broker refuses (1, and --json says
# why for each).
set -euo pipefail
. "$KS_TOP/tests/integration/lib/pipeline.sh"

c=$KS_BUILD/ksensorctl
pool=emit-$RANDOM
cfg=$KS_TMP/emit.yaml
log=$KS_TMP/worker.log
pl_config "$cfg" "$pool" emithost "$KS_TMP/data" "$PL_SENSORS/valid/example-1.yaml"
pl_topic "$pool-events" 3

# records TOPIC: "partition<TAB>offset<TAB>key<TAB>headers<TAB>value" lines
records() { pl_read "$1" '%p\t%o\t%k\t%h\t%s\n'; }

# ---- structured mode: five events, --json
data='{"colour":"blue","n":[1,2.50],"s":"a\tb"}'
"$c" emit -c "$cfg" --source demo --subject blue --type test.emit --id s --count 5 --data "$data" --json \
  >"$KS_TMP/structured.json" 2>"$KS_TMP/structured.err" \
  || pl_fail "emit --count 5 --json failed: $(cat "$KS_TMP/structured.err")"
jq -e 'length == 5 and (map(.id) == ["s-1","s-2","s-3","s-4","s-5"])
       and all(.[]; (.partition | type) == "number" and .partition >= 0 and .partition < 3
                    and (.offset | type) == "number" and .offset >= 0)' "$KS_TMP/structured.json" >/dev/null \
  || pl_fail "emit --json printed $(jq -c . "$KS_TMP/structured.json")"
records "$pool-events" >"$KS_TMP/structured.tsv"
(($(wc -l <"$KS_TMP/structured.tsv") == 5)) || pl_fail "$(wc -l <"$KS_TMP/structured.tsv") records on $pool-events, expected 5"
bad=$(jq -R -r --argjson data "$data" '
  split("\t") as $f | ($f[4:] | join("\t")) as $raw | ($raw | fromjson) as $v
  | select($f[2] != "demo.blue" or $f[3] != "content-type=application/cloudevents+json"
           or $v.specversion != "1.0" or ($v.id | test("^s-[1-5]$") | not) or $v.source != "demo"
           or $v.type != "test.emit" or $v.subject != "blue" or $v.datacontenttype != "application/json"
           or ($v.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$") | not)
           or $v.data != $data or ($raw | contains("\"data\":{\"colour\":\"blue\",\"n\":[1,2.50],") | not)
           or ($v | keys | length) != 8)
  | "partition \($f[0]) offset \($f[1]): \($f[2:] | join("\t"))"' "$KS_TMP/structured.tsv" | head -n 3)
[[ -z $bad ]] || pl_fail "structured records not as expected: $bad"
jq -r '.[] | "\(.id) \(.partition) \(.offset)"' "$KS_TMP/structured.json" | sort >"$KS_TMP/reported"
jq -R -r 'split("\t") | "\(.[4:] | join("\t") | fromjson | .id) \(.[0]) \(.[1])"' "$KS_TMP/structured.tsv" \
  | sort >"$KS_TMP/stored"
cmp -s "$KS_TMP/reported" "$KS_TMP/stored" \
  || pl_fail "ids, partitions and offsets differ: --json says $(tr '\n' ';' <"$KS_TMP/reported"), the topic $(tr '\n' ';' <"$KS_TMP/stored")"
pl_say "structured: 5 events, key demo.blue, every attribute and the data as given, offsets as reported"

# ---- binary mode: two events, the summary line
bdata='{"colour":"blue","mode":"binary"}'
out=$("$c" emit -c "$cfg" --source demo --subject blue --id b --count 2 --data "$bdata" --binary 2>"$KS_TMP/binary.err") \
  || pl_fail "emit --binary failed: $(cat "$KS_TMP/binary.err")"
[[ $out == "emitted 2 events to $pool-events (binary mode)" ]] || pl_fail "emit --binary printed '$out'"
records "$pool-events" | awk -F '\t' '$4 !~ /cloudevents/' >"$KS_TMP/binary.tsv"
(($(wc -l <"$KS_TMP/binary.tsv") == 2)) || pl_fail "$(wc -l <"$KS_TMP/binary.tsv") binary records, expected 2"
bad=$(awk -F '\t' -v data="$bdata" '
  { t = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9](\\.[0-9]+)?Z"
    want = "^ce_specversion=1\\.0,ce_id=b-[12],ce_source=demo,ce_type=ksensorctl\\.emit,ce_subject=blue,ce_time=" t ",content-type=application/json$"
    if ($3 != "demo.blue" || $4 !~ want || $5 != data) print }' "$KS_TMP/binary.tsv" | head -n 2)
[[ -z $bad ]] || pl_fail "binary records not as expected: $bad"
[[ $(grep -o 'ce_id=b-[12]' "$KS_TMP/binary.tsv" | sort | tr '\n' ' ') == "ce_id=b-1 ce_id=b-2 " ]] \
  || pl_fail "binary ids: $(cut -f4 "$KS_TMP/binary.tsv")"
pl_say "binary: 2 events, ce_* headers, content-type application/json, the data as the record value"

# ---- a worker accepts both modes: example-1/trigger-1 fires once per blue event
pl_start_fresh pid "$log" "$cfg"
pl_alive "$pid" "after it was assigned"
pl_wait_count "$pool-action" 7 60
"$c" emit -c "$cfg" --source demo --subject blue --id live-s >/dev/null 2>"$KS_TMP/live.err" \
  || pl_fail "emit to the running pool failed: $(cat "$KS_TMP/live.err")"
"$c" emit -c "$cfg" --source demo --subject blue --id live-b --binary >/dev/null 2>"$KS_TMP/live.err" \
  || pl_fail "emit --binary to the running pool failed: $(cat "$KS_TMP/live.err")"
pl_wait_count "$pool-action" 9 60
pl_wait_drained "$pool" 30
pl_stop "$pid"
pl_read "$pool-action" | jq -R -r 'split("\t")[1:] | join("\t") | fromjson
                                   | "\(.sensor)/\(.trigger) \(.events.blue.id) \(.events.blue.type)"' \
  | sort >"$KS_TMP/fired"
printf 'example-1/trigger-1 %s\n' "b-1 ksensorctl.emit" "b-2 ksensorctl.emit" "live-b ksensorctl.emit" \
  "live-s ksensorctl.emit" "s-1 test.emit" "s-2 test.emit" "s-3 test.emit" "s-4 test.emit" "s-5 test.emit" \
  | sort >"$KS_TMP/expected"
cmp -s "$KS_TMP/expected" "$KS_TMP/fired" \
  || pl_fail "firings (- expected, + action topic): $(diff "$KS_TMP/expected" "$KS_TMP/fired" | grep '^[<>]' | tr '\n' ';')"
! grep -aq 'bad record' "$log" || pl_fail "the worker skipped records: $(grep -a 'bad record' "$log" | head -n 2)"
pl_say "worker: trigger-1 fired once for each of the 9 blue events (7 structured, 2 binary; 2 sent while it ran)"

# ---- errors
rc=0
"$c" emit -c "$cfg" --subject blue >/dev/null 2>"$KS_TMP/err" || rc=$?
((rc == 2)) || pl_fail "emit without --source exited $rc, expected 2"
grep -q -- '--source' "$KS_TMP/err" || pl_fail "emit without --source said: $(cat "$KS_TMP/err")"
rc=0
"$c" emit -c "$cfg" --source demo --subject blue --data '{bad' >/dev/null 2>"$KS_TMP/err" || rc=$?
((rc == 2)) || pl_fail "emit --data '{bad' exited $rc, expected 2"
grep -q 'not valid JSON' "$KS_TMP/err" || pl_fail "emit --data '{bad' said: $(cat "$KS_TMP/err")"
rc=0
"$c" emit -c "$cfg" --source demo --subject blue --count 0 >/dev/null 2>&1 || rc=$?
((rc == 2)) || pl_fail "emit --count 0 exited $rc, expected 2"
"$c" emit --help | grep -q '^Usage: ksensorctl emit' || pl_fail "emit --help"

sed 's/^  brokers: .*/  brokers: embedded/' "$cfg" >"$KS_TMP/embedded.yaml"
rc=0
"$c" emit -c "$KS_TMP/embedded.yaml" --source demo --subject blue >/dev/null 2>"$KS_TMP/err" || rc=$?
((rc == 1)) || pl_fail "emit on an embedded event bus without its daemon exited $rc, expected 1"
grep -q "$KS_TMP/data/embedded-broker cannot be read" "$KS_TMP/err" && grep -q 'running ksensord' "$KS_TMP/err" \
  || pl_fail "emit on an embedded event bus without its daemon said: $(cat "$KS_TMP/err")"

rc=0
"$c" emit -c "$cfg" --topic "$pool-missing" --source demo --subject blue >/dev/null 2>"$KS_TMP/err" || rc=$?
((rc == 1)) || pl_fail "emit to a missing topic exited $rc, expected 1"
grep -q "topic $pool-missing on .*Unknown topic" "$KS_TMP/err" || pl_fail "emit to a missing topic said: $(cat "$KS_TMP/err")"

# a delivery report that fails: the broker refuses records over the topic's max.message.bytes
pl_topic "$pool-small" 1 max.message.bytes=300
big=$(printf '{"x":"%0400d"}' 0)
rc=0
"$c" emit -c "$cfg" --topic "$pool-small" --source demo --subject blue --id big --count 2 --data "$big" --json   >"$KS_TMP/small.json" 2>"$KS_TMP/err" || rc=$?
((rc == 1)) || pl_fail "emit of records the broker refuses exited $rc, expected 1"
jq -e 'map(.id) == ["big-1","big-2"] and all(.[]; (.error | test("too large")) and .offset == null)' "$KS_TMP/small.json"   >/dev/null || pl_fail "emit --json on refused records printed $(jq -c . "$KS_TMP/small.json")"
grep -q "2 of 2 events not delivered to $pool-small" "$KS_TMP/err" || pl_fail "emit of refused records said: $(cat "$KS_TMP/err")"
pl_say "errors: no --source 2, bad --data 2, --count 0 2, embedded without its daemon 1, missing topic 1, refused records 1"
