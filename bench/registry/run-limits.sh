#!/usr/bin/env bash
# What bounds one blob download here: nginx, nginx without sendfile, openssl s_server, a bare Node
# server and mcr on one file (see limits.ts). Run by hand:  bash bench/registry/run-limits.sh
# (BLOB_MB=512 REPS=3 STREAMS=8; STRACE=1 also counts system calls, which needs strace)
exec env BENCH_DRIVER=limits.ts bash "$(dirname "$(readlink -f "$0")")/run.sh"
