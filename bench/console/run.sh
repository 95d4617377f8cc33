#!/usr/bin/env bash
# Console benchmark, run by hand (root; podman, runc, busybox-static, script from util-linux):
#   RUNS=11 CONTAINERS=50 SECONDS_LOGS=10 bash bench/console/run.sh
# Prints figures (docs/performance.md, "Console"); asserts nothing. HOLD=1 sets the platform up
# and keeps it until Ctrl-C, for profiling the console by hand.
set -euo pipefail
cd "$(dirname "$0")/../.."
node scripts/build.mjs >/dev/null
exec node --import tsx bench/console/main.ts
