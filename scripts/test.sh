#!/usr/bin/env bash
# The test suite: type check, lint and format check (Biome, biome.jsonc), then every
# test/**/*.test.ts with Node's runner (Node 20's --test does not expand globs, so the
# files are listed here).
set -euo pipefail
cd "$(dirname "$0")/.."
npx --no-install tsc --noEmit
npx --no-install biome ci --colors=off --diagnostic-level=error .
mapfile -t files < <(find test -name '*.test.ts' -o -name '*.test.tsx' | sort)
exec node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
