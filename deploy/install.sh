#!/usr/bin/env bash
# Installs mcr or mcp-agent on a systemd host. Idempotent: run it again to upgrade.
#   sudo deploy/install.sh mcr [--hostname registry.example.net] [--listen 0.0.0.0:8443]
#   sudo deploy/install.sh agent --identity-url https://mcr:8443 --registry mcr:8443 [--listen 0.0.0.0:9444]
# Puts the code in /opt/metacircular. mcr's home is /srv/mcr (created by `mcr init`
# on first install only) and the platform CA's key sits in /srv/mcr-ca, root-only, out
# of the mcr user's reach; the agent's home is /var/lib/mcp-agent (`mcp-agent init`,
# signed by the platform CA when /srv/mcr-ca holds it). Then enables the unit.
#
# DESTDIR=/some/folder lays everything down below that folder instead of / (staging,
# tests): code, units and homes (whose configs then name paths below it); no user is
# created, no ownership changed and systemd is not touched, so root is not needed.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
root=${DESTDIR:-}
root=${root%/}
prefix=$root/opt/metacircular
home=$root/srv/mcr
units=$root/etc/systemd/system
what=${1:-}
case "$what" in
  mcr|agent) shift ;;
  *) echo "usage: install.sh mcr|agent [options]" >&2; exit 2 ;;
esac
listen=
hostnames=()
identity_url=
registry=
while [ $# -gt 0 ]; do
  case "$1" in
    --hostname) hostnames+=("$2"); shift 2 ;;
    --listen) listen=$2; shift 2 ;;
    --identity-url) identity_url=$2; shift 2 ;;
    --registry) registry=$2; shift 2 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$root" ] || [ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root" >&2; exit 1; }

mkdir -p "$prefix" "$units"
# bin/* run the bundles in dist/, and production dependencies have no build tools: build them
# here from these sources (a checkout after scripts/setup.sh, which has esbuild).
node "$src/scripts/build.mjs" >&2
# Copy the code (not node_modules, tests or local state), then install production dependencies.
tar -C "$src" --exclude=./node_modules --exclude=./.git --exclude=./.mcr --exclude=./.mcr-ca --exclude=./test --exclude=./bench -cf - . | tar -C "$prefix" -xf -
(cd "$prefix" && npm ci --omit=dev --no-audit --no-fund)

install_mcr() {
  if [ -z "$root" ]; then
    getent group mcr >/dev/null || groupadd --system mcr
    getent passwd mcr >/dev/null || useradd --system --gid mcr --home-dir "$home" --shell /usr/sbin/nologin mcr
  fi
  if [ ! -f "$home/mcr.toml" ]; then
    args=(init --dir "$home" --listen "${listen:-127.0.0.1:8443}")
    for h in "${hostnames[@]}"; do args+=(--hostname "$h"); done
    "$prefix/bin/mcr" "${args[@]}"
  fi
  if [ -z "$root" ]; then
    chown -R mcr:mcr "$home"
    chown -R root:root "$home-ca"
  fi
  chmod 0700 "$home" "$home-ca"
  install -m 0644 "$src/deploy/systemd/mcr.service" "$units/mcr.service"
  echo "clients trust the registry through $home/certs/ca.pem"
}

install_agent() {
  local dir=$root/var/lib/mcp-agent
  if [ ! -f "$dir/mcp-agent.toml" ]; then
    args=(init --dir "$dir" --listen "${listen:-127.0.0.1:9444}")
    for h in "${hostnames[@]}"; do args+=(--hostname "$h"); done
    # The platform CA's folder (root-only, beside mcr's home) when mcr is on this node.
    [ -f "$home-ca/ca-key.pem" ] && args+=(--ca-dir "$home-ca")
    [ -n "$identity_url" ] && args+=(--identity-url "$identity_url")
    [ -n "$registry" ] && args+=(--registry "$registry")
    "$prefix/bin/mcp-agent" "${args[@]}"
  fi
  chmod 0700 "$dir"
  install -m 0644 "$src/deploy/systemd/mcp-agent.service" "$units/mcp-agent.service"
}

unit=mcr.service
if [ "$what" = mcr ]; then install_mcr; else install_agent; unit=mcp-agent.service; fi

if [ -n "$root" ]; then
  echo "$unit installed below $root (systemd not touched)"
elif [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable "$unit"
  systemctl restart "$unit"
  echo "$unit installed and started; check: systemctl status $unit"
else
  echo "$unit installed; systemd is not running here, start it with: systemctl start $unit"
fi
