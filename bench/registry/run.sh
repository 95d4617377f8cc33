#!/usr/bin/env bash
# Registry benchmark: mcr vs distribution 2.8 vs nginx on one blob. Run by hand, never from
# the test suite:  bash bench/registry/run.sh   (BLOB_MB=64 REPS=1 for a quick try; see README.md)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/../.."

# BENCH_DRIVER=limits.ts is run-limits.sh: the same setup and cleanup around another driver.
DRIVER=${BENCH_DRIVER:-main.ts}
case "$DRIVER" in
  main.ts) TOOLS="node curl wrk nginx docker-registry" ;;
  limits.ts) TOOLS="node curl nginx openssl" ;;
  *) echo "run.sh: BENCH_DRIVER=$DRIVER: want main.ts or limits.ts" >&2; exit 2 ;;
esac
for tool in $TOOLS; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (see bench/registry/README.md)" >&2; exit 1; }
done

BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mcr-bench.XXXXXX")
export BENCH_TMP

# The driver stops its servers itself; this catches whatever a crashed driver left behind.
# Only pids the driver recorded under $BENCH_TMP/pids are signalled.
cleanup() {
  local f left=0
  for f in "$BENCH_TMP"/pids/*.pid; do
    [ -e "$f" ] || continue
    kill -TERM "$(cat "$f")" 2>/dev/null && left=1
  done
  [ "$left" = 0 ] || sleep 2
  for f in "$BENCH_TMP"/pids/*.pid; do
    [ -e "$f" ] || continue
    kill -KILL "$(cat "$f")" 2>/dev/null || true
  done
  rm -rf "$BENCH_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

node --import tsx "bench/registry/$DRIVER"
