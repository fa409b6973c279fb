#!/usr/bin/env bash
# t_check_layers — tools/check-layers passes on this tree and finds what it is for: an include that
# points up a layer, one that names no layer, a Kafka header in the sensor model, and two files that
# call each other. (No broker needed; it runs with the integration tests because it needs the build.)
set -euo pipefail
check=$KS_TOP/tools/check-layers

"$check" "$KS_BUILD" || { echo "FAIL: check-layers refuses this tree"; exit 1; }

tree=$KS_TMP/tree
mkdir -p "$tree/worker"
cp -r "$KS_TOP/worker/." "$tree/worker/"
sed -i '0,/^#include "/s||#include "pipeline/batch.h"\n#include "|' "$tree/worker/sensor/cond.c"
sed -i '0,/^#include "/s||#include "log.h"\n#include "|' "$tree/worker/core/mem.c"
sed -i '0,/^#include </s||#include <librdkafka/rdkafka.h>\n#include <|' "$tree/worker/sensor/tz.c"
# two pipeline files calling each other
build=$KS_TMP/build
mkdir -p "$build/worker/pipeline"
printf 'int b(void);\nint a(void) { return b(); }\n' > "$KS_TMP/a.c"
printf 'int a(void);\nint b(void) { return a(); }\n' > "$KS_TMP/b.c"
cc -c -o "$build/worker/pipeline/a.o" "$KS_TMP/a.c"
cc -c -o "$build/worker/pipeline/b.o" "$KS_TMP/b.c"

if "$check" --root "$tree" "$build" > "$KS_TMP/out" 2>&1; then
  echo "FAIL: check-layers passed a tree with violations"; exit 1
fi
cat "$KS_TMP/out"
expect() {
  grep -qF -- "$1" "$KS_TMP/out" || { echo "FAIL: no line with: $1"; exit 1; }
}
expect 'worker/sensor/cond.c:'
expect '#include "pipeline/batch.h": sensor/ may not include pipeline/, a higher layer'
expect 'worker/core/mem.c:'
expect '#include "log.h" does not name its layer'
expect 'worker/sensor/tz.c:'
expect 'the sensor model does not depend on Kafka, SQLite, libev or curl'
expect 'worker/pipeline/a.c: is called back by a file it calls'
expect 'worker/pipeline/b.c: is called back by a file it calls'
[[ $(wc -l < "$KS_TMP/out") -eq 5 ]] || { echo "FAIL: expected exactly 5 violations"; exit 1; }
echo "PASS"
