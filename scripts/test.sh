#!/usr/bin/env bash
# The test suite: type check, lint and format check (Biome, biome.jsonc), then every
# test/**/*.test.ts with Node's runner (Node 20's --test does not expand globs, so the
# files are listed here). The files outside test/integration and test/deploy run two at a
# time, one per core: each makes its own folders, OS-picked ports and podman storage, and most
# are CPU-bound. The integration and deploy tests, which start the real daemons, podman,
# HAProxy and systemd together and wait on them with deadlines, run one file at a time after
# them. Both sets always run; the suite fails if either does.
set -euo pipefail
cd "$(dirname "$0")/.."
npx --no-install tsc --noEmit
npx --no-install biome ci --colors=off --diagnostic-level=error .
mapfile -t all < <(find test -name '*.test.ts' -o -name '*.test.tsx' | sort)
unit=() integration=()
for f in "${all[@]}"; do
  case $f in
    test/integration/* | test/deploy/*) integration+=("$f") ;;
    *) unit+=("$f") ;;
  esac
done
status=0
node --import tsx --test --test-concurrency=2 --test-reporter=spec "${unit[@]}" || status=1
node --import tsx --test --test-concurrency=1 --test-reporter=spec "${integration[@]}" || status=1
exit "$status"
