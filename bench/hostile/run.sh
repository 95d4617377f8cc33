#!/usr/bin/env bash
# Hostile-traffic benchmark, run by hand (root; podman from scripts/setup.sh):
#   bash bench/hostile/run.sh [--seconds 60] [--baseline 10] [--json] [--phases 1,5] [--keep-logs DIR] [--save FILE]
# A real mcr and mcp-agent under five attack families while an honest client works;
# prints crashes, peak RSS, honest errors and latency, and database growth against their
# targets (docs/performance.md, "Hostile traffic"). Asserts nothing; cleans up after itself.
set -euo pipefail
cd "$(dirname "$0")/../.."
node scripts/build.mjs >/dev/null
exec node --import tsx bench/hostile/main.ts "$@"
