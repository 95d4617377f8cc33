#!/usr/bin/env bash
# Installs what the platform and its tests need on a fresh Debian machine:
# podman (with runc), skopeo and busybox-static for the integration tests, then npm ci
# and the build (dist/, which bin/* run).
set -euo pipefail
cd "$(dirname "$0")/.."

# acl: the placement test opens /dev/net/tun to its service users by ACL (setfacl), never by mode.
# debootstrap: test/deploy/systemd-boot.test.ts boots systemd in a container from a Debian root it makes.
# haproxy, pdns-server, pdns-backend-sqlite3, dnsutils (dig), openssl: the agent's routes and DNS
# (docs/routing.md); test/integration/routing.test.ts starts its own HAProxy and PowerDNS on loopback.
# postgresql (15): mcr's PostgreSQL metadata (docs/scale-out.md); its tests initdb their own cluster.
# radosgw, ceph-mon, ceph-osd, ceph-common: a real Ceph RADOS Gateway for the S3 store's tests beside
# s3rver (test/helpers/ceph.ts starts a single-node Ceph on loopback in a temporary folder). Without
# recommends they leave out ceph-mds and a time daemon (ceph-base's), which a one-node test Ceph has no use for.
APT_PACKAGES=(podman skopeo runc busybox-static uidmap slirp4netns systemd iproute2 procps passwd util-linux acl curl jq ca-certificates debootstrap haproxy pdns-server pdns-backend-sqlite3 dnsutils openssl postgresql radosgw ceph-mon ceph-osd ceph-common)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Debian enables the HAProxy, PowerDNS and PostgreSQL services it installs (PowerDNS on port 53
# with no backend, PostgreSQL's main cluster on 5432), and Ceph's targets and crash reporter (ceph-crash,
# from ceph-base); the tests start their own on loopback ports. Switch off only what this run installed,
# never a server the machine already ran.
if [ -d /run/systemd/system ]; then
  for p in "${missing[@]}"; do
    case "$p" in
      pdns-server) "${sudo_cmd[@]}" systemctl disable --now pdns.service || true ;;
      haproxy) "${sudo_cmd[@]}" systemctl disable --now haproxy.service || true ;;
      postgresql) "${sudo_cmd[@]}" systemctl disable --now postgresql.service || true ;;
      ceph-common) "${sudo_cmd[@]}" systemctl disable --now ceph.target ceph-crash.service || true ;;
      ceph-mon) "${sudo_cmd[@]}" systemctl disable --now ceph-mon.target || true ;;
      ceph-osd) "${sudo_cmd[@]}" systemctl disable --now ceph-osd.target || true ;;
      radosgw) "${sudo_cmd[@]}" systemctl disable --now ceph-radosgw.target || true ;;
    esac
  done
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
# bin/* run the bundles in dist/ (gitignored): build them from this checkout's sources.
npm run --silent build
echo "setup: done (node $(node --version), podman $(podman --version | awk '{print $3}'))"
