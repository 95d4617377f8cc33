#!/usr/bin/env bash
# Registry benchmark, scale-out part: mcr on PostgreSQL + S3 against distribution 2.8 with its S3
# driver on the same store — a real Ceph RADOS Gateway (S3=radosgw, the default), s3rver
# (S3=s3rver) or both one after the other (S3=both) — beside mcr embedded, and two replicas
# against one. Run by hand, never from the test suite:
#   bash bench/registry/run-scale-out.sh     (BLOB_MB=32 REPS=1 WRK_SECONDS=3 for a quick try)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/../.."

tools="node curl wrk docker-registry"
case "${S3:-radosgw}" in
  radosgw | both) tools="$tools ceph-mon ceph-osd radosgw ceph-authtool monmaptool ceph radosgw-admin" ;;
esac
for tool in $tools; do
  command -v "$tool" >/dev/null || { echo "run-scale-out.sh: $tool is missing (see bench/registry/README.md)" >&2; exit 1; }
done
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "run-scale-out.sh: PostgreSQL is missing (apt-get install postgresql)" >&2; exit 1; }

BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mcr-bench-so.XXXXXX")
export BENCH_TMP
# As root, PostgreSQL runs as the postgres user, which must be able to reach its folder in here.
chmod 711 "$BENCH_TMP"
# The driver stops everything itself, on Ctrl-C too; this catches what a killed driver left.
# Only pids it recorded under $BENCH_TMP/pids (mcr, distribution, the store's daemons) and the
# postmaster of the cluster in $BENCH_TMP are signalled. The helpers' folders (PostgreSQL, Ceph,
# s3rver) are inside $BENCH_TMP: the driver points TMPDIR there.
cleanup() {
  local f left=0
  for f in "$BENCH_TMP"/pids/*.pid "$BENCH_TMP"/pg-test-*/data/postmaster.pid; do
    [ -e "$f" ] || continue
    kill -TERM "$(head -n 1 "$f")" 2>/dev/null && left=1
  done
  [ "$left" = 0 ] || sleep 2
  for f in "$BENCH_TMP"/pids/*.pid "$BENCH_TMP"/pg-test-*/data/postmaster.pid; do
    [ -e "$f" ] || continue
    kill -KILL "$(head -n 1 "$f")" 2>/dev/null || true
  done
  rm -rf "$BENCH_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

node --import tsx bench/registry/scale-out.ts
