#!/usr/bin/env bash
# Installs mcr or mcp-agent on a systemd host (docs/install.md). Idempotent: run it again
# to upgrade; homes, configs and data are kept.
#   sudo deploy/install.sh mcr [--hostname registry.example.net] [--listen 0.0.0.0:8443]
#   sudo deploy/install.sh agent --token MCPJOIN-1-… --registry-url https://mcr:8443 [--listen 0.0.0.0:9444]
#   sudo deploy/install.sh agent --identity-url https://mcr:8443 --registry mcr:8443 \
#        [--listen 0.0.0.0:9444] [--hostname node.example.net] [--node NAME] [--ca-dir DIR]
# Run it from a checkout after scripts/setup.sh (which installs the dependencies and the
# build tools). The code goes to /opt/metacircular, replaced whole on upgrade. mcr's home is
# /srv/mcr (`mcr init` on the first install only) and the platform CA's key sits in
# /srv/mcr-ca, root-only, out of the mcr user's reach; the node signer in /srv/mcr/signer
# is made there and renewed by mcr-signer.timer. The agent's home is /var/lib/mcp-agent:
# with --token, `mcp-agent join` (docs/nodes.md: no CA key on the node); otherwise
# `mcp-agent init`, signed by the platform CA when --ca-dir, by default /srv/mcr-ca, holds it. The annotated examples go to /etc/metacircular/examples, never
# over a file that is there. Then the units are installed, enabled and (re)started.
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
examples=$root/etc/metacircular/examples
what=${1:-}
case "$what" in
  mcr|agent) shift ;;
  *) echo "usage: install.sh mcr|agent [options]" >&2; exit 2 ;;
esac
listen=
hostnames=()
identity_url=
registry=
node=
ca_dir=$home-ca
token=
registry_url=
while [ $# -gt 0 ]; do
  case "$1" in
    --hostname|--listen|--identity-url|--registry|--node|--ca-dir|--token|--registry-url)
      [ $# -ge 2 ] || { echo "install.sh: $1 needs a value" >&2; exit 2; } ;;&
    --hostname) hostnames+=("$2"); shift 2 ;;
    --listen) listen=$2; shift 2 ;;
    --identity-url) identity_url=$2; shift 2 ;;
    --registry) registry=$2; shift 2 ;;
    --node) node=$2; shift 2 ;;
    --ca-dir) ca_dir=$2; shift 2 ;;
    --token) token=$2; shift 2 ;;
    --registry-url) registry_url=$2; shift 2 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$root" ] || [ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root" >&2; exit 1; }
# The installed code takes this checkout's dependencies, built by `npm ci` for this node's Node.
if [ ! -f "$src/node_modules/.package-lock.json" ] || [ "$src/package-lock.json" -nt "$src/node_modules/.package-lock.json" ]; then
  echo "install.sh: $src/node_modules is missing or older than package-lock.json: run scripts/setup.sh first" >&2
  exit 1
fi

# The top folders of this checkout's production packages (node_modules/x, node_modules/@s/x).
prod_packages() {
  local list err attempt required missing
  err=$(mktemp)
  # npm ls exits non-zero for problems that do not concern us (an extraneous dev package); an
  # empty list, or one without the packages the daemons load first, does. It is asked twice
  # before giving up (one CI run saw it list nothing once), and its own words are shown.
  for attempt in 1 2; do
    list=$(cd "$src" && npm ls --omit=dev --all --parseable 2>"$err" || true)
    list=$(printf '%s\n' "$list" | sed -n "s#^$src/\(node_modules/\(@[^/]*/\)\{0,1\}[^/]*\).*#\1#p" | sort -u)
    missing=""
    for required in node_modules/@connectrpc/connect node_modules/better-sqlite3; do
      printf '%s\n' "$list" | grep -qx "$required" || { missing=$required; break; }
    done
    [ -z "$missing" ] && break
  done
  if [ -n "$missing" ]; then
    echo "install.sh: npm ls --omit=dev in $src does not list $missing: run scripts/setup.sh" >&2
    if [ -s "$err" ]; then echo "npm said:" >&2; tail -n 5 "$err" >&2; fi
    rm -f "$err"
    exit 1
  fi
  rm -f "$err"
  printf '%s\n' "$list"
}

# The code, staged beside its place and swapped in whole: files removed from the sources do
# not linger, and running daemons keep the files they opened until they are restarted.
install_code() {
  local stage=$prefix.new old=$prefix.old packages
  packages=$(prod_packages) # first: a list that cannot be made leaves nothing behind
  rm -rf "$stage" "$old"
  mkdir -p "$stage"
  # bin/* run the bundles in dist/, and production dependencies have no build tools: build
  # them here from these sources.
  node "$src/scripts/build.mjs" >&2
  tar -C "$src" --exclude=./node_modules --exclude=./.git --exclude=./.mcr --exclude=./.mcr-ca --exclude=./test --exclude=./bench --exclude=./dist/*.tmp-* -cf - . | tar -C "$stage" -xf -
  # Dependencies: this checkout's production packages, as `npm ls --omit=dev` lists them, each
  # copied whole with what it nests. Offline, no second native build, and a quarter of the bytes
  # of copying node_modules and pruning it (the dev tools are most of it).
  # shellcheck disable=SC2086 # one package folder per word
  tar -C "$src" -cf - $packages | tar -C "$stage" -xf -
  if [ -z "$root" ]; then chown -R root:root "$stage"; fi
  if [ -e "$prefix" ]; then mv "$prefix" "$old"; fi
  mv "$stage" "$prefix"
  rm -rf "$old"
}

# Annotated examples (deploy/examples) for operators to copy from; a file already there is kept.
install_examples() {
  (cd "$src/deploy/examples" && find . -type f) | while read -r f; do
    if [ ! -e "$examples/$f" ]; then install -D -m 0644 "$src/deploy/examples/$f" "$examples/$f"; fi
  done
}

install_unit() {
  install -D -m 0644 "$src/deploy/systemd/$1" "$units/$1"
}

install_mcr() {
  if [ -z "$root" ]; then
    getent group mcr >/dev/null || groupadd --system mcr
    getent passwd mcr >/dev/null || useradd --system --gid mcr --home-dir "$home" --shell /usr/sbin/nologin mcr
  fi
  if [ ! -f "$home/mcr.toml" ]; then
    args=(init --dir "$home" --listen "${listen:-127.0.0.1:8443}" --ca-dir "$ca_dir")
    for h in "${hostnames[@]}"; do args+=(--hostname "$h"); done
    "$prefix/bin/mcr" "${args[@]}"
  fi
  # A home from before node signers gets one (a young one is kept).
  "$prefix/bin/mcr" cert signer --config "$home/mcr.toml" --ca-dir "$ca_dir"
  mkdir -p "$home/backups"
  if [ -z "$root" ]; then
    chown -R mcr:mcr "$home"
    chown -R root:root "$ca_dir"
  fi
  chmod 0700 "$home" "$home/backups" "$ca_dir"
  for u in mcr.service mcr-backup.service mcr-backup.timer mcr-signer.service mcr-signer.timer; do install_unit "$u"; done
  echo "clients trust the registry through $home/certs/ca.pem"
}

install_agent() {
  local dir=$root/var/lib/mcp-agent
  if [ ! -f "$dir/mcp-agent.toml" ] && [ -n "$token" ]; then
    [ -n "$registry_url" ] || { echo "install.sh: --token needs --registry-url (https://<registry>:8443)" >&2; exit 2; }
    args=(join --token "$token" "$registry_url" --dir "$dir")
    [ -n "$listen" ] && args+=(--listen "$listen")
    "$prefix/bin/mcp-agent" "${args[@]}"
  elif [ ! -f "$dir/mcp-agent.toml" ]; then
    args=(init --dir "$dir" --listen "${listen:-127.0.0.1:9444}")
    for h in "${hostnames[@]}"; do args+=(--hostname "$h"); done
    # The platform CA's folder: beside mcr's home when mcr is on this node, or --ca-dir.
    if [ -f "$ca_dir/ca-key.pem" ]; then args+=(--ca-dir "$ca_dir"); else echo "install.sh: no platform CA key in $ca_dir: the agent gets a CA of its own" >&2; fi
    [ -n "$identity_url" ] && args+=(--identity-url "$identity_url")
    [ -n "$registry" ] && args+=(--registry "$registry")
    [ -n "$node" ] && args+=(--node "$node")
    "$prefix/bin/mcp-agent" "${args[@]}"
  fi
  chmod 0700 "$dir"
  install_unit mcp-agent.service
}

install_code
install_examples
if [ "$what" = mcr ]; then install_mcr; started=(mcr.service mcr-backup.timer mcr-signer.timer); else install_agent; started=(mcp-agent.service); fi

if [ -n "$root" ]; then
  echo "${started[*]} installed below $root (systemd not touched)"
elif [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable "${started[@]}"
  systemctl restart "${started[@]}"
  echo "${started[*]} installed and started; check: systemctl status ${started[0]}"
else
  echo "${started[*]} installed; systemd is not running here, start with: systemctl start ${started[*]}"
fi
