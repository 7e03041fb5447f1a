#!/usr/bin/env bash
# Builds the NFS server guest of the appliance NFS test (test/appliance/nfs-backup.e2e.ts): the
# test guest's Debian kernel plus a busybox initramfs with knfsd's modules and nfs-kernel-server's
# rpc.nfsd, rpc.mountd and exportfs (libraries resolved on this host). NFSv4 only (no rpcbind),
# exports tmpfs directories; its one NIC (e1000) is a private QEMU link to the appliance.
# Output (cached by the inputs) in build/cache/nfs-server: vmlinuz, initrd.img.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${QX_NFS_GUEST_DIR:-$root/build/cache/nfs-server}
stamp="$out/.inputs"
inputs=$(cat "$here/build-nfs-server.sh" "$here/nfs-server-init.sh" | sha256sum | cut -c1-16)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$inputs" && -f "$out/initrd.img" && -f "$out/vmlinuz" ]]; then
  echo "$out"; exit 0
fi
mkdir -p "$out/debs"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[[ -n "$kpkg" ]] || { echo "build-nfs-server: cannot resolve the kernel package (run apt-get update)" >&2; exit 1; }
# The kernel package the test guest downloaded, when there.
ln -f "$root"/build/cache/guest/debs/"$kpkg"_*.deb "$out/debs/" 2>/dev/null || true
(cd "$out/debs" && for p in "$kpkg" busybox-static nfs-kernel-server libwrap0; do
  ls "${p}"_*.deb >/dev/null 2>&1 || apt-get download "$p"
done) 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true
dpkg-deb -x "$(ls "$out"/debs/"$kpkg"_*.deb | head -1)" "$work/k"
dpkg-deb -x "$(ls "$out"/debs/busybox-static_*.deb | head -1)" "$work/bb"
dpkg-deb -x "$(ls "$out"/debs/nfs-kernel-server_*.deb | head -1)" "$work/nfs"
dpkg-deb -x "$(ls "$out"/debs/libwrap0_*.deb | head -1)" "$work/wrap"

ir="$work/initramfs"
mkdir -p "$ir"/{bin,sbin,usr/sbin,etc,proc,sys,dev,tmp,run,lib/modules,lib64,lib/x86_64-linux-gnu,var/lib/nfs/v4recovery}
cp "$work/bb/bin/busybox" "$ir/bin/busybox"
for applet in $("$ir/bin/busybox" --list); do
  [[ -e "$ir/bin/$applet" ]] || ln -s busybox "$ir/bin/$applet"
done
kver=$(ls "$work/k/lib/modules")
depmod -b "$work/k" "$kver"
# e1000 and knfsd with its dependencies, in load order (from the kernel's own modules.dep).
deps=$(awk -F': ' '$1 == "kernel/fs/nfsd/nfsd.ko" {print $2}' "$work/k/lib/modules/$kver/modules.dep")
: >"$ir/lib/modules/order"
for m in kernel/drivers/net/ethernet/intel/e1000/e1000.ko $(echo "$deps" | tr ' ' '\n' | tac) kernel/fs/nfsd/nfsd.ko; do
  cp "$work/k/lib/modules/$kver/$m" "$ir/lib/modules/"
  basename "$m" .ko >>"$ir/lib/modules/order"
done
for b in rpc.nfsd rpc.mountd exportfs; do cp "$work/nfs/usr/sbin/$b" "$ir/usr/sbin/$b"; done
# Shared libraries as this host resolves them; libwrap from its package (not installed here).
cp -L "$work"/wrap/usr/lib/x86_64-linux-gnu/libwrap.so.0 "$ir/lib/x86_64-linux-gnu/"
for b in rpc.nfsd rpc.mountd exportfs; do
  LD_LIBRARY_PATH="$work/wrap/usr/lib/x86_64-linux-gnu" ldd "$ir/usr/sbin/$b" | awk '/=> \//{print $3} /^[ \t]*\/lib64\//{print $1}'
done | sort -u | while read -r lib; do
  [[ -e "$ir$lib" ]] || { mkdir -p "$ir$(dirname "$lib")"; cp -L "$lib" "$ir$lib"; }
done
# libtirpc reads /etc/netconfig; the rest for name lookups of services and protocols.
for f in /etc/netconfig /etc/rpc /etc/services /etc/protocols; do cp "$f" "$ir$f"; done
echo 'root:x:0:0:root:/:/bin/sh' >"$ir/etc/passwd"
echo 'root:x:0:' >"$ir/etc/group"
install -m 0755 "$here/nfs-server-init.sh" "$ir/init"
(cd "$ir" && find . | cpio -o -H newc --quiet | gzip -6) >"$work/initrd.img"
for f in "$work/k/boot/vmlinuz-$kver" "$work/initrd.img"; do
  name=$(basename "$f"); [[ $name == vmlinuz-* ]] && name=vmlinuz
  cp "$f" "$out/.$name.new" && mv -f "$out/.$name.new" "$out/$name"
done
echo "$inputs" >"$stamp"
echo "$out"
