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

test('data messages decode as the generated decoder does, as a view of the received message', () => {
  for (const n of sizes) {
    const chunk = { data: data(n) };
    const wire = Buffer.from(DataChunk.encode(chunk).finish());
    const decoded = StorageServiceDefinition.downloadVolume.responseDeserialize(wire);
    assert.deepEqual(decoded, DataChunk.decode(wire), `DataChunk of ${n} bytes`);
    assert.deepEqual(ImageServiceDefinition.exportOva.responseDeserialize(wire), decoded);
    if (n) assert.equal(decoded.data.buffer, wire.buffer, 'the data is not copied');

    const upload: UploadVolumeRequest = { msg: { $case: 'data', value: data(n) } };
    const uploadWire = Buffer.from(UploadVolumeRequest.encode(upload).finish());
    assert.deepEqual(
      StorageServiceDefinition.uploadVolume.requestDeserialize(uploadWire),
      UploadVolumeRequest.decode(uploadWire),
    );
    const ova: ImportOvaRequest = { msg: { $case: 'data', value: data(n) } };
    const ovaWire = Buffer.from(ImportOvaRequest.encode(ova).finish());
    assert.deepEqual(ImageServiceDefinition.importOva.requestDeserialize(ovaWire), ImportOvaRequest.decode(ovaWire));
  }
});

test('anything but a lone data field takes the generated decoder', () => {
  const header: UploadVolumeRequest = {
    msg: {
      $case: 'header',
      value: { pool: 'p', name: 'x.iso', format: VolumeFormat.VOLUME_FORMAT_ISO, sizeBytes: 2048 },
    },
  };
  const headerWire = Buffer.from(UploadVolumeRequest.encode(header).finish());
  assert.deepEqual(StorageServiceDefinition.uploadVolume.requestDeserialize(headerWire), header);

  // The data field twice (the last one wins), and a data field followed by a header (the oneof
  // takes the header): both are valid protobuf that a view of the first field would misread.
  const first = Buffer.from(UploadVolumeRequest.encode({ msg: { $case: 'data', value: data(3) } }).finish());
  const second = Buffer.from(UploadVolumeRequest.encode({ msg: { $case: 'data', value: data(5) } }).finish());
  for (const wire of [Buffer.concat([first, second]), Buffer.concat([first, headerWire])]) {
    assert.deepEqual(StorageServiceDefinition.uploadVolume.requestDeserialize(wire), UploadVolumeRequest.decode(wire));
  }
  // A length that runs past the end is refused as the generated decoder refuses it.
  const truncated = first.subarray(0, first.length - 1);
  assert.throws(() => StorageServiceDefinition.uploadVolume.requestDeserialize(truncated));
  assert.throws(() => UploadVolumeRequest.decode(truncated));
});
