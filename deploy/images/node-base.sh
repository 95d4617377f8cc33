#!/usr/bin/env bash
# Builds the local Node base images that deploy/Containerfile.mcr and deploy/Containerfile.agent
# start FROM, with no registry involved: a Debian root made with debootstrap from the mirror
# apt uses on this host, with this host's node and npm added (the node that scripts/setup.sh
# built node_modules for), imported with `podman import`.
#   sudo deploy/images/node-base.sh                → localhost/metacircular/node-base:<node major>
#   sudo deploy/images/node-base.sh --with-podman  → localhost/metacircular/node-podman:<node major>
#   deploy/images/node-base.sh --root DIR          → node-base from a Debian root made before
#                                                     (read, never written; tests use their cached one)
# The podman flavour adds podman, runc and uidmap for the agent's image. Runs as root
# (debootstrap, chroot); takes about a minute, most of it debootstrap.
set -euo pipefail
name=node-base
packages=ca-certificates,tzdata
extra=()
given_root=
case "${1:-}" in
  "") ;;
  # Installed with apt in the new root: debootstrap --include cannot order podman's dependencies.
  --with-podman) name=node-podman; extra=(podman runc uidmap slirp4netns iptables) ;;
  --root) given_root=${2:?--root needs a folder} ;;
  *) echo "usage: node-base.sh [--with-podman | --root DIR]" >&2; exit 2 ;;
esac
for tool in podman node npm; do
  command -v "$tool" >/dev/null || { echo "node-base.sh: $tool is missing (scripts/setup.sh installs podman)" >&2; exit 1; }
done
node=$(readlink -f "$(command -v node)")
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
major=$(node -p 'process.versions.node.split(".")[0]')
tag=localhost/metacircular/$name:$major
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -n "$given_root" ]; then
  root=$given_root
  [ -x "$root/bin/sh" ] || { echo "node-base.sh: $root is not a root file system" >&2; exit 1; }
  about="the root in $root"
else
  [ "$(id -u)" -eq 0 ] || { echo "node-base.sh: run as root (debootstrap)" >&2; exit 1; }
  command -v debootstrap >/dev/null || { echo "node-base.sh: debootstrap is missing (scripts/setup.sh installs it)" >&2; exit 1; }
  . /etc/os-release
  suite=$VERSION_CODENAME
  mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' | awk -v s="$suite" '$2 == s { print $1; exit }')
  [ -n "$mirror" ] || { echo "node-base.sh: apt knows no mirror for $suite (run apt-get update)" >&2; exit 1; }
  root=$work/root
  debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >&2
  if [ ${#extra[@]} -gt 0 ]; then
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    chroot "$root" apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -q --no-install-recommends "${extra[@]}" >&2
    : > "$root/etc/resolv.conf"
    packages="$packages,${extra[*]}"
  fi
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
  about="Debian $suite minbase ($packages)"
fi

# node and npm go in /usr/local, added to the image beside the root rather than into it.
add=$work/add/usr/local
mkdir -p "$add/bin" "$add/lib/node_modules"
install -m 0755 "$node" "$add/bin/node"
cp -a "$npm_dir" "$add/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$add/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$add/bin/npx"
tar -C "$root" --exclude=./debootstrap --exclude=./usr/local/bin --exclude=./usr/local/lib/node_modules -cf "$work/root.tar" .
tar -C "$work/add" -rf "$work/root.tar" ./usr/local/bin ./usr/local/lib/node_modules
podman import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'CMD ["/bin/bash"]' \
  --message "$about, node $(node --version)" "$work/root.tar" "$tag" >/dev/null
echo "$tag"
