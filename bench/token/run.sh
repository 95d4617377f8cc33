#!/usr/bin/env bash
# Token issuance benchmark, run by hand: GET /v2/token requests/s for one account
# (repeated credentials) and for many accounts, against a fresh mcr.
#   REQUESTS=400 ACCOUNTS=40 CONCURRENCY=8 bash bench/token/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
exec node --import tsx bench/token/main.ts
