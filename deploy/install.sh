#!/usr/bin/env bash
# Installs mcr on a systemd host. Idempotent: run it again to upgrade.
#   sudo deploy/install.sh [--hostname registry.example.net] [--listen 0.0.0.0:8443]
# Puts the code in /opt/metacircular, the registry home in /srv/mcr (created by
# `mcr init` on first install only), and enables mcr.service.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
prefix=/opt/metacircular
home=/srv/mcr
listen=127.0.0.1:8443
hostnames=()
while [ $# -gt 0 ]; do
  case "$1" in
    --hostname) hostnames+=("$2"); shift 2 ;;
    --listen) listen=$2; shift 2 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root" >&2; exit 1; }

getent group mcr >/dev/null || groupadd --system mcr
getent passwd mcr >/dev/null || useradd --system --gid mcr --home-dir "$home" --shell /usr/sbin/nologin mcr

mkdir -p "$prefix"
# Copy the code (not node_modules, tests or local state), then install production dependencies.
tar -C "$src" --exclude=./node_modules --exclude=./.git --exclude=./.mcr --exclude=./test --exclude=./bench -cf - . | tar -C "$prefix" -xf -
(cd "$prefix" && npm ci --omit=dev --no-audit --no-fund)

if [ ! -f "$home/mcr.toml" ]; then
  args=(init --dir "$home" --listen "$listen")
  for h in "${hostnames[@]}"; do args+=(--hostname "$h"); done
  "$prefix/bin/mcr" "${args[@]}"
fi
chown -R mcr:mcr "$home"
chmod 0700 "$home"

install -m 0644 "$src/deploy/systemd/mcr.service" /etc/systemd/system/mcr.service
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable mcr.service
  systemctl restart mcr.service
  echo "mcr installed and started; check: systemctl status mcr"
else
  echo "mcr installed; systemd is not running here, start it with: systemctl start mcr"
fi
echo "clients trust the registry through $home/certs/ca.pem"
