#!/usr/bin/env bash
# Console benchmark, run by hand (root; podman, runc, busybox-static, script from util-linux):
#   RUNS=11 CONTAINERS=50 SECONDS_LOGS=10 bash bench/console/run.sh
# Prints figures (docs/performance.md, "Console"); asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
node scripts/build.mjs >/dev/null
exec node --import tsx bench/console/main.ts
