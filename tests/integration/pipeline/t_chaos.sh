#!/usr/bin/env bash
# The short run of tests/chaos/run (make chaos runs a longer one): 3,000 events, each kind of fault at
# least once — a worker killed, a host crashed and restarted, a reload, a refused reload, a host
# leaving or joining, the broker restarted — then exactly the firings `ksensorctl eval` computes.
set -euo pipefail
exec "$KS_TOP/tests/chaos/run" --short
