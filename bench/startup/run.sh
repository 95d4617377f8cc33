#!/usr/bin/env bash
# Times `<bin> --version` for mcr, mcp-agent and mcp from another folder (DIR, default /tmp):
# RUNS runs each (default 11) after one warm-up run; prints the median and the range of
# wall time, and the median user+sys CPU time, in milliseconds.
#   bash bench/startup/run.sh            RUNS=21 DIR=/srv bash bench/startup/run.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
runs=${RUNS:-11}
cd "${DIR:-/tmp}"

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

printf '%-10s %10s %16s %10s\n' binary "wall ms" "min-max" "cpu ms"
for bin in mcr mcp-agent mcp; do
  exe="$root/bin/$bin"
  # Warm-up (the page cache, not the process); a binary that fails stops the bench.
  "$exe" --version >/dev/null || { echo "$bin --version failed (from $PWD)" >&2; exit 1; }
  walls=() cpus=()
  for ((i = 0; i < runs; i++)); do
    # bash's `time` keyword: real, user and sys seconds of the child.
    t=$( { TIMEFORMAT='%R %U %S'; time "$exe" --version >/dev/null; } 2>&1 )
    read -r real user sys <<<"$t"
    walls+=("$(awk -v r="$real" 'BEGIN { printf "%d", r * 1000 }')")
    cpus+=("$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%d", (u + s) * 1000 }')")
  done
  wall=$(printf '%s\n' "${walls[@]}" | median)
  lo=$(printf '%s\n' "${walls[@]}" | sort -n | head -1)
  hi=$(printf '%s\n' "${walls[@]}" | sort -n | tail -1)
  cpu=$(printf '%s\n' "${cpus[@]}" | median)
  printf '%-10s %10s %16s %10s\n' "$bin" "$wall" "$lo-$hi" "$cpu"
done
