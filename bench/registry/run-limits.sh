#!/usr/bin/env bash
# What bounds one blob download here: nginx, nginx without sendfile, openssl s_server, a bare Node
# server and mcr on one file (see limits.ts). Run by hand:  bash bench/registry/run-limits.sh
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/../.."

for tool in node curl nginx openssl strace; do
  command -v "$tool" >/dev/null || { echo "run-limits.sh: $tool is missing (see bench/registry/README.md)" >&2; exit 1; }
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

node --import tsx bench/registry/limits.ts
