#!/usr/bin/env bash
# GC benchmark, run by hand: mcr gc (offline and online) and distribution 2.8's
# garbage-collect on 10,000 manifests / 50,000 blobs; push latency while GC runs.
#   MANIFESTS=10000 REPOS=100 BLOB_BYTES=512 PUSHES=500 bash bench/gc/run.sh
# distribution: apt-get install docker-registry (Debian's build of 2.8).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec node --import tsx bench/gc/main.ts
