#!/usr/bin/env bash
# Runs the registry on its embedded default: a home in ./.mcr with a generated
# CA and certificate, local SQLite and local blob storage. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
home=${MCR_HOME:-$PWD/.mcr}
if [ ! -f "$home/mcr.toml" ]; then
  bin/mcr init --dir "$home"
fi
port=$(sed -n 's/^listen_addr = ".*:\([0-9]*\)"/\1/p' "$home/mcr.toml")
cat <<TXT

mcr is starting on https://localhost:${PORT:-$port} (CA: $home/certs/ca.pem)
Push an image with podman, trusting the CA through a certs.d folder:
  mkdir -p ~/.config/containers/certs.d/localhost:${PORT:-$port}
  cp $home/certs/ca.pem ~/.config/containers/certs.d/localhost:${PORT:-$port}/ca.crt
  podman login localhost:${PORT:-$port} --username admin     # password: $home/admin.password
  podman push <image> localhost:${PORT:-$port}/<name>:<tag>

TXT
exec bin/mcr server --config "$home/mcr.toml"
