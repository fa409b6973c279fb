#!/usr/bin/env bash
# Lua, jq and Go templates on the real broker, exactly once across kill -9: 3,000 events for a
# sensor whose dependencies use a Lua filter (every third event), a jq transform then a data filter
# on what it made, and a Lua transform, with a kafka action writing a value the transform made and
# one a dataTemplate makes of it; the worker killed at random three times while the events stream.
# Then the action topic holds exactly the firings `ksensorctl eval` computes (the same code path),
# each once, and the kafka action's topic one message per firing with both values.
# Bad input, one event each, in a last life: a loop, an endless allocation, a runtime error, a
# transform returning nil, a jq error, a data filter template over a field that is not there — each
# rejects its event for its dependency, counted and logged as a bad record naming the sensor, the
# dependency and the reason; a dataTemplate over a missing field without a default fails its firing,
# logged with the reason; the next event still fires.
set -euo pipefail
. "$KS_TOP/tests/integration/lib/pipeline.sh"

pool=scripts-$RANDOM
out=$pool-out
mkdir -p "$KS_TMP/sensors"
cat >"$KS_TMP/sensors/scripts.yaml" <<YAML
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata:
  name: scripts
spec:
  dependencies:
    - name: third
      eventSourceName: demo
      eventName: n
      filters:
        script: return event.i % 3 == 0
    - name: scaled
      eventSourceName: demo
      eventName: n
      transform:
        jq: ".i *= 10 | .label = \\"n\\" + (.i | tostring)"
      filters:
        data:
          - path: i
            type: number
            comparator: ">="
            value: ["15000"]
    - name: tagged
      eventSourceName: demo
      eventName: n
      transform:
        script: |-
          event.tag = "t" .. event.i
          return event
  triggers:
    - template:
        name: on-third
        conditions: third
        log: {}
    - template:
        name: on-scaled
        conditions: scaled
        kafka:
          url: $PL_B
          topic: $out
          payload:
            - src: {dependencyName: scaled, dataTemplate: "{{ .Input.label | upper }}-{{ .Input.i }}"}
              dest: shout
            - src: {dependencyName: scaled, dataKey: label}
              dest: label
    - template:
        name: on-both
        conditions: third && tagged
        log: {}
---
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata:
  name: bad
spec:
  dependencies:
    - {name: loops, eventSourceName: demo, eventName: bad-loops, filters: {script: "while true do end"}}
    - name: grows
      eventSourceName: demo
      eventName: bad-grows
      filters: {script: "local t = {} local i = 0 while true do i = i + 1 t[i] = string.rep('x', 4096) .. i end"}
    - {name: fails, eventSourceName: demo, eventName: bad-fails, filters: {script: "return event.no.such"}}
    - {name: nothing, eventSourceName: demo, eventName: bad-nothing, transform: {script: "return nil"}}
    - {name: jqfails, eventSourceName: demo, eventName: bad-jqfails, transform: {jq: "error(\\"bad input\\")"}}
    - name: tmplfilter
      eventSourceName: demo
      eventName: bad-tmplfilter
      filters: {data: [{path: x, type: string, value: [".*"], template: "{{ .Input.missing.field }}"}]}
    - {name: tmplparam, eventSourceName: demo, eventName: bad-tmplparam}
  triggers:
    - template: {name: t-loops, conditions: loops, log: {}}
    - template: {name: t-grows, conditions: grows, log: {}}
    - template: {name: t-fails, conditions: fails, log: {}}
    - template: {name: t-nothing, conditions: nothing, log: {}}
    - template: {name: t-jqfails, conditions: jqfails, log: {}}
    - template: {name: t-tmplfilter, conditions: tmplfilter, log: {}}
    - template:
        name: t-tmplparam
        conditions: tmplparam
        kafka:
          url: $PL_B
          topic: $out
          payload:
            - src: {dependencyName: tmplparam, dataTemplate: "{{ .Input.nope }}"}
              dest: v
YAML
seq 1 3000 | while read -r i; do pl_event "e$i" n "{\"i\":$i}"; done >"$KS_TMP/events.tsv"
pl_oracle "$KS_TMP/events.tsv" "$KS_TMP/sensors/scripts.yaml" >"$KS_TMP/expected"
pl_say "eval expects $(wc -l <"$KS_TMP/expected") firings of 3000 events"

pl_config "$KS_TMP/w.yaml" "$pool" scripthost "$KS_TMP/data" "$KS_TMP/sensors/*.yaml"
pl_topic "$pool-events" 1
pl_topic "$out" 1
pl_start_fresh pid "$KS_TMP/worker.log" "$KS_TMP/w.yaml"
head -n 1500 "$KS_TMP/events.tsv" >"$KS_TMP/first.tsv"
tail -n +1501 "$KS_TMP/events.tsv" >"$KS_TMP/second.tsv"
pl_produce "$pool-events" "$KS_TMP/first.tsv"
for k in 1 2 3; do
  sleep "0.$((3 + RANDOM % 6))"
  pl_alive "$pid" "before kill $k"
  pl_kill9 "$pid"
  pl_start pid "$KS_TMP/worker.log" "$KS_TMP/w.yaml"
  ((k != 2)) || pl_produce "$pool-events" "$KS_TMP/second.tsv"
done
pl_wait_drained "$pool" 120
pl_alive "$pid" "after the bad scripts and the kills"
pl_stop "$pid"

pl_read "$pool-action" | pl_firings_of_actions >"$KS_TMP/got" || pl_fail "cannot decode the action topic"
pl_compare_firings "Lua and jq across kill -9" "$KS_TMP/expected" "$KS_TMP/got"
pl_unique_ids "$pool-action"
want=$(grep -c '^scripts/on-scaled' "$KS_TMP/expected")
pl_read "$out" '%s\n' | jq -r .label | sort -u >"$KS_TMP/labels"
[[ $(pl_count "$out") == "$want" && $(wc -l <"$KS_TMP/labels") == "$want" ]] ||
  pl_fail "$out: $(pl_count "$out") messages, $(wc -l <"$KS_TMP/labels") distinct, expected $want"
[[ $(head -n 1 "$KS_TMP/labels") == n15000 ]] || pl_fail "the kafka action's label is not the transform's: $(head -n 1 "$KS_TMP/labels")"
pl_read "$out" '%s\n' | jq -r .shout | sort -u >"$KS_TMP/shouts"
[[ $(wc -l <"$KS_TMP/shouts") == "$want" && $(head -n 1 "$KS_TMP/shouts") == N15000-15000 ]] ||
  pl_fail "the dataTemplate values: $(wc -l <"$KS_TMP/shouts") distinct, first '$(head -n 1 "$KS_TMP/shouts")'"
pl_say "exactly the $(wc -l <"$KS_TMP/got") firings eval computes, each once; $want kafka messages with the transformed label and its template"

# The bad scripts, in a life of their own, one event each. Bad records are logged at most once a
# second (the rest counted in the next line), so each event goes in once the last one's line is
# there and the clock has moved on to the next second.
past() { [[ $(date +%s) != "$1" ]]; }
pl_start pid "$KS_TMP/bad.log" "$KS_TMP/w.yaml"
n=0
for case in 'loops:filters.script: .*instructions' 'grows:filters.script: .*not enough memory' \
            'fails:filters.script: .*attempt to index' 'nothing:transform.script: .*not of lua table' \
            'jqfails:transform.jq: jq: bad input' \
            "tmplfilter:data filter 'x': template: can't evaluate field missing in type string"; do
  dep=${case%%:*} why=${case#*:}
  n=$((n + 1))
  second=$(date +%s)
  pl_until 5 "the next second" past "$second"
  pl_event "bad-$n" "bad-$dep" '{"x":1}' >"$KS_TMP/bad.tsv"
  pl_produce "$pool-events" "$KS_TMP/bad.tsv"
  pl_until 30 "the bad record line of $dep" grep -Eq "bad record .*sensor bad, dependency $dep: $why" "$KS_TMP/bad.log"
done
pl_event bad-param bad-tmplparam '{"x":1}' >"$KS_TMP/bad.tsv"
pl_produce "$pool-events" "$KS_TMP/bad.tsv"
pl_until 30 "the failed firing of t-tmplparam" grep -q \
  "parameter of 'tmplparam': dataTemplate: it evaluated to <no value>, and there is no default value" "$KS_TMP/bad.log"
pl_event after-n n '{"i":3}' >"$KS_TMP/after.tsv"
before=$(pl_count "$pool-action")
pl_produce "$pool-events" "$KS_TMP/after.tsv"
pl_wait_count "$pool-action" $((before + 1)) 30
pl_stop "$pid"
grep -q "stopped: .* 6 bad," "$KS_TMP/bad.log" || pl_fail "the worker did not count 6 bad records: $(grep stopped: "$KS_TMP/bad.log")"
# t-tmplparam fires (its dependency is fine), and its action fails
[[ -z $(pl_read "$pool-action" | grep '^bad/' | grep -v $'^bad/t-tmplparam\t' || true) ]] ||
  pl_fail "a bad dependency's trigger fired"
[[ -z $(pl_read "$out" '%s\n' | grep '"v"' || true) ]] || pl_fail "the failed firing wrote a message"
pl_say "a loop, an endless allocation, an error, a nil transform, a jq error and a template over a missing field: each logged with its reason and counted; a dataTemplate without a value failed its firing; the next event fired"
