#!/usr/bin/env bash
# Builds a base OS layer (Debian bookworm minbase + a package list [+ the Node runtime]) as a zstd
# squashfs with its kernel and live-boot initrd, cached by the hash of its inputs.
# Usage: build-base.sh <packages.txt> [node-dir]
#   → prints the cache directory holding base.squashfs, vmlinuz, initrd.img
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
packages=$(realpath "${1:?packages file}")
node_dir=${2:-}
cache=$repo/build/cache
mirror=${QX_DEBIAN_MIRROR:-http://deb.debian.org/debian}
node_version=none
[[ -n $node_dir ]] && node_version=$("$node_dir/bin/node" --version)
hash=$( { cat "$packages" "$here/build-base.sh" "$here/base-setup.sh"; echo "$node_version $mirror"; } | sha256sum | cut -c1-16)
out=$cache/base/$hash
if [[ -f $out/base.squashfs && -f $out/vmlinuz && -f $out/initrd.img ]]; then
  echo "$out"; exit 0
fi
log() { echo "build-base: $*" >&2; }
rootfs=$repo/build/work/base-rootfs-$hash
archives=$cache/apt-archives
mkdir -p "$cache/debootstrap" "$archives/partial" "$repo/build/work"

mounts=()
cleanup() {
  local i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
bind() { mount --bind "$1" "$2"; mounts+=("$2"); }

[[ -d $rootfs ]] && { umount -R -l "$rootfs"/{proc,sys,dev,var/cache/apt/archives} 2>/dev/null || true; rm -rf "$rootfs"; }
log "debootstrap minbase bookworm"
start=$SECONDS
debootstrap --variant=minbase --cache-dir="$cache/debootstrap" bookworm "$rootfs" "$mirror" >&2
log "debootstrap took $((SECONDS - start)) s"

mount -t proc proc "$rootfs/proc"; mounts+=("$rootfs/proc")
mount -t sysfs sys "$rootfs/sys"; mounts+=("$rootfs/sys")
# A private /dev with the few nodes package scripts use: with the host's /dev bound in, postinst
# scripts re-group host devices by the chroot's group ids (/dev/kvm lost its kvm group, and
# libvirt on the build machine then took ~40 s per define).
mount -t tmpfs -o mode=755,size=1m qx-dev "$rootfs/dev"; mounts+=("$rootfs/dev")
cp -a /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty "$rootfs/dev/"
ln -s /proc/self/fd "$rootfs/dev/fd"
mkdir -p "$rootfs/dev/pts" "$rootfs/dev/shm"
bind "$archives" "$rootfs/var/cache/apt/archives"
# No daemons start inside the chroot.
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod 755 "$rootfs/usr/sbin/policy-rc.d"
echo "deb $mirror bookworm main" >"$rootfs/etc/apt/sources.list"
echo 'APT::Keep-Downloaded-Packages "true";' >"$rootfs/etc/apt/apt.conf.d/01keep"
mapfile -t pkgs < <(grep -vE '^\s*(#|$)' "$packages")
log "installing ${#pkgs[@]} packages"
start=$SECONDS
chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive LC_ALL=C apt-get update -qq >&2
chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive LC_ALL=C \
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2
log "packages took $((SECONDS - start)) s"

if [[ -n $node_dir ]]; then
  install -d "$rootfs/usr/local/bin"
  install -m 755 "$node_dir/bin/node" "$rootfs/usr/local/bin/node"
fi
cp "$here/base-setup.sh" "$rootfs/tmp/base-setup.sh"
chroot "$rootfs" bash /tmp/base-setup.sh >&2
rm -f "$rootfs/tmp/base-setup.sh" "$rootfs/usr/sbin/policy-rc.d" "$rootfs/etc/apt/apt.conf.d/01keep"
cleanup; mounts=()
# The downloaded packages stay in build/cache/apt-archives (it was bind-mounted), not in the image.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/archives/partial

tmp=$out.tmp
rm -rf "$tmp" && mkdir -p "$tmp"
cp -L "$rootfs/vmlinuz" "$tmp/vmlinuz"
cp -L "$rootfs/initrd.img" "$tmp/initrd.img"
log "mksquashfs base"
start=$SECONDS
mksquashfs "$rootfs" "$tmp/base.squashfs" -comp zstd -Xcompression-level "${QX_BASE_ZSTD_LEVEL:-15}" \
  -noappend -quiet -e boot/vmlinuz boot/initrd.img vmlinuz initrd.img vmlinuz.old initrd.img.old >&2
log "mksquashfs took $((SECONDS - start)) s"
rm -rf "$out" && mv "$tmp" "$out"
rm -rf "$rootfs"
echo "$out"
