#!/usr/bin/env bash
# Agent benchmark, run by hand (root; podman, runc, busybox-static from scripts/setup.sh).
#   ITERATIONS=7 CONTAINERS=50 bash bench/agent/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
exec node --import tsx bench/agent/main.ts
