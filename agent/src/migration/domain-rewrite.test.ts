// The destination's domain XML: disk sources and Quantix metadata rewritten, the rest kept in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rewriteDisks } from './domain-rewrite.js';

const XML = `<domain type='qemu'>
  <name>vm &amp; co</name>
  <metadata><qx:vm xmlns:qx="urn:quantix"><qx:tag>a</qx:tag><qx:volume dev="vda" pool="p" volume="x.qcow2"/><qx:volume dev="sda" pool="p" volume="cd.iso"/></qx:vm></metadata>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/a/p/x.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <controller type='usb' index='0'/>
    <disk type='file' device='cdrom'><source file='/a/p/cd.iso'/><target dev='sda' bus='sata'/></disk>
  </devices>
</domain>`;

const move = { dev: 'vda', sourcePath: '/a/p/x.qcow2', destPath: '/b/q/x.qcow2', destPool: 'q', destVolume: 'x.qcow2' };

test('moved disks point at their destination path and pool; the rest is kept in order with namespaces', () => {
  const out = rewriteDisks(XML, [move]);
  assert.match(out, /<source file="\/b\/q\/x.qcow2"/);
  assert.match(out, /<source file="\/a\/p\/cd.iso"/);
  assert.match(out, /<qx:volume dev="vda" pool="q" volume="x.qcow2"/);
  assert.match(out, /<qx:volume dev="sda" pool="p" volume="cd.iso"/);
  assert.match(out, /<qx:vm xmlns:qx="urn:quantix"><qx:tag>a<\/qx:tag>/);
  assert.match(out, /vm &amp; co/);
  assert.ok(out.indexOf('<emulator>') < out.indexOf('<disk') && out.indexOf('<controller') < out.lastIndexOf('<disk'));
});

test('a moved path missing from the XML is an error, not a silent half rewrite', () => {
  assert.throws(() => rewriteDisks(XML, [{ ...move, sourcePath: '/nope' }]), /no disk with source \/nope/);
});
