#!/usr/bin/env bash
# Registry benchmark, scale-out part: mcr embedded vs mcr on PostgreSQL + S3 vs distribution 2.8
# with its S3 driver (same s3rver), and two replicas against one. Run by hand, never from the
# test suite:  bash bench/registry/run-scale-out.sh   (BLOB_MB=32 REPS=1 WRK_SECONDS=3 for a quick try)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/../.."

for tool in node curl wrk docker-registry; do
  command -v "$tool" >/dev/null || { echo "run-scale-out.sh: $tool is missing (see bench/registry/README.md)" >&2; exit 1; }
done
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "run-scale-out.sh: PostgreSQL is missing (apt-get install postgresql)" >&2; exit 1; }

BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mcr-bench-so.XXXXXX")
export BENCH_TMP
# Only pids the driver recorded under $BENCH_TMP/pids are signalled (PostgreSQL and s3rver are
# stopped by the driver itself, as in the tests).
cleanup() {
  local f
  for f in "$BENCH_TMP"/pids/*.pid; do
    [ -e "$f" ] || continue
    kill -TERM "$(cat "$f")" 2>/dev/null || true
  done
  rm -rf "$BENCH_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

node --import tsx bench/registry/scale-out.ts
