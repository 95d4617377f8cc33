#!/usr/bin/env bash
# SQLite commit latency with checkpoints inside commits against a worker thread, under disk load.
# Run by hand (never from the test suite):  bash bench/sqlite/run.sh   (DURATION_S=10 ROUNDS=2)
set -euo pipefail
cd "$(dirname "$0")/../.."
exec node --import tsx bench/sqlite/main.ts
