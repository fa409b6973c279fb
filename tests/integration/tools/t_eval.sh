#!/usr/bin/env bash
# Behaviour of the sensor model through `ksensorctl eval`: for each tests/data/eval/CASE/, the
# sensors (*.yaml) run over events.jsonl must give exactly the firings of expected.jsonl. Each line
# is compared on sensor, trigger, the ids of the firing's events by dependency, the payload, and the
# url when trigger parameters rewrite the template.
set -euo pipefail
fail=0
for dir in "$KS_TOP"/tests/data/eval/*/; do
  name=$(basename "$dir")
  args=()
  for s in "$dir"*.yaml; do args+=(--sensor "$s"); done
  if ! "$KS_BUILD/ksensorctl" eval "${args[@]}" --events "$dir/events.jsonl" \
      >"$KS_TMP/$name.out" 2>"$KS_TMP/$name.err"; then
    echo "FAIL $name: ksensorctl eval exited non-zero"; cat "$KS_TMP/$name.err"; fail=1; continue
  fi
  jq -c '{sensor, trigger, events: (.events | map_values(.id)), payload}
         + (if has("template") then {url: .template.http.url} else {} end)' \
     "$KS_TMP/$name.out" >"$KS_TMP/$name.got"
  if diff -u "$dir/expected.jsonl" "$KS_TMP/$name.got"; then
    echo "ok   $name ($(wc -l <"$KS_TMP/$name.got") firings)"
  else
    echo "FAIL $name"; cat "$KS_TMP/$name.err"; fail=1
  fi
done
exit $fail
