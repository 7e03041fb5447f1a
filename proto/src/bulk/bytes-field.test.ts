import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataChunk } from '../../gen/quantix/agent/v1/common.js';
import { ImportOvaRequest } from '../../gen/quantix/agent/v1/image.js';
import { UploadVolumeRequest, VolumeFormat } from '../../gen/quantix/agent/v1/storage.js';
import { ImageServiceDefinition, StorageServiceDefinition } from './bulk-services.js';

const sizes = [0, 1, 127, 128, 16_383, 16_384, 1024 * 1024, 1024 * 1024 + 3];
const data = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31) & 0xff));

test('data chunks encode byte for byte as the generated encoder does, and decode back', () => {
  for (const n of sizes) {
    const chunk = { data: data(n) };
    const fast = StorageServiceDefinition.downloadVolume.responseSerialize(chunk);
    assert.deepEqual(fast, Buffer.from(DataChunk.encode(chunk).finish()), `DataChunk of ${n} bytes`);
    assert.deepEqual(DataChunk.decode(fast).data, chunk.data);
    assert.deepEqual(ImageServiceDefinition.exportOva.responseSerialize(chunk), fast);
  }
});

test('upload and import data messages encode as generated; headers take the generated path', () => {
  for (const n of sizes) {
    const upload: UploadVolumeRequest = { msg: { $case: 'data', value: data(n) } };
    assert.deepEqual(
      StorageServiceDefinition.uploadVolume.requestSerialize(upload),
      Buffer.from(UploadVolumeRequest.encode(upload).finish()),
    );
    const ova: ImportOvaRequest = { msg: { $case: 'data', value: data(n) } };
    const fast = ImageServiceDefinition.importOva.requestSerialize(ova);
    assert.deepEqual(fast, Buffer.from(ImportOvaRequest.encode(ova).finish()));
    assert.deepEqual(ImportOvaRequest.decode(fast), ova);
  }
  const header: UploadVolumeRequest = {
    msg: {
      $case: 'header',
      value: { pool: 'p', name: 'disk.qcow2', format: VolumeFormat.VOLUME_FORMAT_QCOW2, sizeBytes: 1 << 30 },
    },
  };
  assert.deepEqual(UploadVolumeRequest.decode(StorageServiceDefinition.uploadVolume.requestSerialize(header)), header);
});
