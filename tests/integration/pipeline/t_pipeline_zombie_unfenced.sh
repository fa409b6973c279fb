#!/usr/bin/env bash
# t_pipeline_zombie with fenceDeparted: false: the zombie is not fenced, its commit goes through after
# the move, and the new owner must start from it (KIP-447's wait for pending offsets, the guard when
# fencing is off or fails). See t_pipeline_zombie.sh.
set -euo pipefail
KS_ZOMBIE_NOFENCE=1 exec "$(dirname "${BASH_SOURCE[0]}")/t_pipeline_zombie.sh"
