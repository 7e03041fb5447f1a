// Upload verdicts from captured `qemu-img info --output=json` outputs plus header probes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refusalReason, type QemuImgInfo } from './image-sniff.js';

// Captured from qemu-img 7.2 on images made with `qemu-img create`.
const plainQcow2: QemuImgInfo = {
  'virtual-size': 29655040,
  format: 'qcow2',
  'format-specific': { type: 'qcow2', data: { compat: '1.1', 'compression-type': 'zlib', 'lazy-refcounts': false, 'refcount-bits': 16, corrupt: false, 'extended-l2': false } },
};
const backedQcow2: QemuImgInfo = {
  ...plainQcow2,
  'backing-filename': '/etc/passwd',
  'full-backing-filename': '/etc/passwd',
};
const dataFileQcow2: QemuImgInfo = {
  ...plainQcow2,
  'format-specific': { type: 'qcow2', data: { compat: '1.1', 'data-file': '/tmp/x.raw', 'data-file-raw': false, corrupt: false } },
};
const raw: QemuImgInfo = { 'virtual-size': 1048576, format: 'raw' };
const vmdk: QemuImgInfo = { format: 'vmdk', 'format-specific': { type: 'vmdk', data: { 'create-type': 'monolithicFlat', extents: [{ filename: '/etc/passwd' }] } } };

test('standalone images of the declared format are accepted', () => {
  assert.equal(refusalReason('qcow2', { format: 'qcow2' }, plainQcow2), undefined);
  assert.equal(refusalReason('raw', { format: 'raw' }, raw), undefined);
  assert.equal(refusalReason('iso', { format: 'iso' }, raw), undefined);
  assert.equal(refusalReason('raw', { format: 'iso' }, raw), undefined, 'a hybrid ISO is also a raw disk');
});

test('backing files, data files, VMDKs, other formats and mismatches are refused', () => {
  assert.match(refusalReason('qcow2', { format: 'qcow2' }, backedQcow2)!, /backing file \("\/etc\/passwd"\)/);
  assert.match(refusalReason('qcow2', { format: 'qcow2', backingFile: '/etc/shadow' }, plainQcow2)!, /backing file/);
  assert.match(refusalReason('qcow2', { format: 'qcow2' }, dataFileQcow2)!, /external data file/);
  assert.match(refusalReason('qcow2', { format: 'qcow2', externalDataFile: true }, plainQcow2)!, /external data file/);
  assert.match(refusalReason('raw', { format: 'vmdk' }, vmdk)!, /VMDK/);
  assert.match(refusalReason('raw', { format: 'raw' }, vmdk)!, /VMDK/);
  assert.match(refusalReason('raw', { format: 'other', detail: 'vhdx' }, raw)!, /vhdx/);
  assert.match(refusalReason('raw', { format: 'qcow2' }, plainQcow2)!, /declared raw but the content is qcow2/);
  assert.match(refusalReason('qcow2', { format: 'raw' }, raw)!, /declared qcow2 but the content is raw/);
  assert.match(refusalReason('iso', { format: 'raw' }, raw)!, /no ISO9660 signature/);
  assert.match(refusalReason('qcow2', { format: 'qcow2' }, { ...plainQcow2, encrypted: true })!, /encrypted/);
  assert.match(refusalReason('qcow2', { format: 'qcow2' }, { format: 'qcow2', 'format-specific': { data: { corrupt: true } } })!, /corrupt/);
  assert.match(refusalReason('raw', { format: 'raw' }, { format: 42 })!, /content is unknown/, 'untrusted field types');
});
