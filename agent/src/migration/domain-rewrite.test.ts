// The destination's domain XML: disk sources rewritten, namespaced metadata and order kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rewriteDiskPaths } from './domain-rewrite.js';

const XML = `<domain type='qemu'>
  <name>vm &amp; co</name>
  <metadata><qx:vm xmlns:qx="urn:quantix"><qx:pool>p</qx:pool></qx:vm></metadata>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/a/p/x.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <controller type='usb' index='0'/>
    <disk type='file' device='cdrom'><source file='/a/p/cd.iso'/><target dev='sda' bus='sata'/></disk>
  </devices>
</domain>`;

test('disk sources move to the destination paths; the rest is kept in order with namespaces', () => {
  const out = rewriteDiskPaths(XML, new Map([['/a/p/x.qcow2', '/b/q/x.qcow2']]));
  assert.match(out, /<source file="\/b\/q\/x.qcow2"/);
  assert.match(out, /<source file="\/a\/p\/cd.iso"/);
  assert.match(out, /<qx:vm xmlns:qx="urn:quantix"><qx:pool>p<\/qx:pool><\/qx:vm>/);
  assert.match(out, /vm &amp; co/);
  assert.ok(out.indexOf('<emulator>') < out.indexOf('<disk') && out.indexOf('<controller') < out.lastIndexOf('<disk'));
});

test('a moved path missing from the XML is an error, not a silent half rewrite', () => {
  assert.throws(() => rewriteDiskPaths(XML, new Map([['/nope', '/b/nope']])), /no disk with source \/nope/);
});
