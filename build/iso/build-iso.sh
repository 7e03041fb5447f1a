#!/usr/bin/env bash
# `make iso`: base OS layer (cached by its inputs) + app layer + GRUB → hybrid BIOS/UEFI ISO at
# build/out/quantix-vdc-<version>-amd64.iso (QX_ISO_OUT overrides), and the signed update bundle
# beside it (.qxu; QX_BUNDLE_OUT overrides; build/iso/make-bundle.mjs). Prints the ISO path on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
node_dir=${QX_NODE_DIR:-$(dirname "$(dirname "$(command -v node)")")}
version=$(node -p "require('$repo/package.json').version")
iso=${QX_ISO_OUT:-$repo/build/out/quantix-vdc-$version-amd64.iso}
log() { echo "build-iso: $*" >&2; }
total=$SECONDS

base=$(bash "$here/build-base.sh" "$here/packages.txt" "$node_dir")
log "base layer: $base"

stage=$repo/build/work/iso-root
rm -rf "$stage" && mkdir -p "$stage/live" "$stage/boot/grub"
bash "$here/build-app.sh" "$stage/live/10-app.squashfs" "$version"
ln "$base/base.squashfs" "$stage/live/00-base.squashfs"
ln "$base/vmlinuz" "$stage/live/vmlinuz"
ln "$base/initrd.img" "$stage/live/initrd.img"
# live-boot stacks the images listed in filesystem.module, first at the bottom.
printf '00-base.squashfs\n10-app.squashfs\n' >"$stage/live/filesystem.module"
sed "s/@VERSION@/$version/g" "$here/grub-live.cfg" >"$stage/boot/grub/grub.cfg"
touch "$stage/quantix-vdc.id"

mkdir -p "$repo/build/out"
start=$SECONDS
grub-mkrescue -o "$iso.tmp" "$stage" -- -volid QUANTIX_VDC >/dev/null 2>"$repo/build/work/grub-mkrescue.log" \
  || { cat "$repo/build/work/grub-mkrescue.log" >&2; exit 1; }
mv "$iso.tmp" "$iso"
log "grub-mkrescue took $((SECONDS - start)) s"
log "$(du -m "$iso" | cut -f1) MiB → $iso"

# The update bundle for installed appliances: the same layers, kernel and initrd, signed.
bundle=${QX_BUNDLE_OUT:-${iso%.iso}.qxu}
node "$here/make-bundle.mjs" --key "$(bash "$here/update-key.sh")" --version "$version" \
  --build "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)" --out "$bundle" \
  "$stage"/live/{vmlinuz,initrd.img,00-base.squashfs,10-app.squashfs,filesystem.module}
log "update bundle $(du -m "$bundle" | cut -f1) MiB → $bundle; total $((SECONDS - total)) s"
echo "$iso"
