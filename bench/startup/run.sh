#!/usr/bin/env bash
# Times `<bin> --version` for mcr, mcp-agent and mcp from another folder (DIR, default /tmp),
# beside plain `node -e 0` in the same run: RUNS runs each (default 11) after one warm-up
# run, the commands interleaved so that a busy machine weighs on all alike; prints the median
# and the range of wall time, the median user+sys CPU time, in milliseconds, and each
# binary's ratio to node (target: at most 1.3×, PASS or MISS on wall and on CPU time).
#   bash bench/startup/run.sh            RUNS=21 DIR=/srv bash bench/startup/run.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
runs=${RUNS:-11}
cd "${DIR:-/tmp}"

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

declare -A walls cpus
cmds=(node mcr mcp-agent mcp)
exe() { if [ "$1" = node ]; then echo node -e 0; else echo "$root/bin/$1" --version; fi; }
for c in "${cmds[@]}"; do
  # Warm-up (the page cache, not the process); a binary that fails stops the bench.
  $(exe "$c") >/dev/null || { echo "$c failed (from $PWD)" >&2; exit 1; }
done
for ((i = 0; i < runs; i++)); do
  for c in "${cmds[@]}"; do
    # bash's `time` keyword: real, user and sys seconds of the child.
    t=$( { TIMEFORMAT='%R %U %S'; time $(exe "$c") >/dev/null; } 2>&1 )
    read -r real user sys <<<"$t"
    walls[$c]+="$(awk -v r="$real" 'BEGIN { printf "%d", r * 1000 }') "
    cpus[$c]+="$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%d", (u + s) * 1000 }') "
  done
done
med() { tr ' ' '\n' | grep -v '^$' | median; }
node_wall=$(echo "${walls[node]}" | med)
node_cpu=$(echo "${cpus[node]}" | med)
printf '%-10s %8s %12s %7s %13s %13s\n' command "wall ms" "min-max" "cpu ms" "wall/node" "cpu/node"
for c in "${cmds[@]}"; do
  wall=$(echo "${walls[$c]}" | med)
  cpu=$(echo "${cpus[$c]}" | med)
  lo=$(echo "${walls[$c]}" | tr ' ' '\n' | grep -v '^$' | sort -n | head -1)
  hi=$(echo "${walls[$c]}" | tr ' ' '\n' | grep -v '^$' | sort -n | tail -1)
  if [ "$c" = node ]; then
    printf '%-10s %8s %12s %7s\n' "node -e 0" "$wall" "$lo-$hi" "$cpu"
  else
    rw=$(awk -v a="$wall" -v b="$node_wall" 'BEGIN { r = a / b; printf "%.2fx %s", r, (r <= 1.3 ? "PASS" : "MISS") }')
    rc=$(awk -v a="$cpu" -v b="$node_cpu" 'BEGIN { r = (b > 0 ? a / b : 0); printf "%.2fx %s", r, (r <= 1.3 ? "PASS" : "MISS") }')
    printf '%-10s %8s %12s %7s %13s %13s\n' "$c" "$wall" "$lo-$hi" "$cpu" "$rw" "$rc"
  fi
done
