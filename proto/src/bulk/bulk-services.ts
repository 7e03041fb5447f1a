// The two services that carry bulk data (StorageService: UploadVolume/DownloadVolume,
// ImageService: ImportOva/ExportOva), with their data messages encoded in one allocation and
// decoded without a copy (bytes-field.ts), and counted for the transfer GC (transfer-gc.ts), on
// whichever end encodes or decodes them; every other message goes through the generated code
// unchanged. Same wire format, same types: use these definitions and clients wherever volumes
// or OVAs move.
import { makeGenericClientConstructor } from '@grpc/grpc-js';
import type { DataChunk } from '../../gen/quantix/agent/v1/common.js';
import type {
  ImageServiceClient as GeneratedImageServiceClient,
  ImportOvaRequest,
} from '../../gen/quantix/agent/v1/image.js';
import { ImageServiceService } from '../../gen/quantix/agent/v1/image.js';
import type {
  StorageServiceClient as GeneratedStorageServiceClient,
  UploadVolumeRequest,
} from '../../gen/quantix/agent/v1/storage.js';
import { StorageServiceService } from '../../gen/quantix/agent/v1/storage.js';
import { bytesFieldView, encodeBytesField } from './bytes-field.js';
import { noteBulkBytes } from './transfer-gc.js';

const DATA_CHUNK_FIELD = 1; // DataChunk.data
const REQUEST_DATA_FIELD = 2; // UploadVolumeRequest.data, ImportOvaRequest.data

// A plain (non-oneof) field: empty is the default and is not written.
function serializeChunk(value: DataChunk): Buffer {
  noteBulkBytes(value.data.length);
  return value.data.length ? encodeBytesField(DATA_CHUNK_FIELD, value.data) : Buffer.alloc(0);
}

function serializeRequest<T extends UploadVolumeRequest | ImportOvaRequest>(generated: (value: T) => Buffer) {
  return (value: T): Buffer => {
    if (value.msg?.$case !== 'data') return generated(value);
    noteBulkBytes(value.msg.value.length);
    return encodeBytesField(REQUEST_DATA_FIELD, value.msg.value);
  };
}

/** A data chunk decoded as a view of the message; anything else through the generated decoder. */
function deserializeChunk(generated: (value: Buffer) => DataChunk) {
  return (value: Buffer): DataChunk => {
    noteBulkBytes(value.length);
    const data = bytesFieldView(DATA_CHUNK_FIELD, value);
    return data ? { data } : generated(value);
  };
}

function deserializeRequest<T extends UploadVolumeRequest | ImportOvaRequest>(generated: (value: Buffer) => T) {
  return (value: Buffer): T => {
    noteBulkBytes(value.length);
    const data = bytesFieldView(REQUEST_DATA_FIELD, value);
    return data ? ({ msg: { $case: 'data', value: data } } as T) : generated(value);
  };
}

export const StorageServiceDefinition: typeof StorageServiceService = {
  ...StorageServiceService,
  uploadVolume: {
    ...StorageServiceService.uploadVolume,
    requestSerialize: serializeRequest(StorageServiceService.uploadVolume.requestSerialize),
    requestDeserialize: deserializeRequest(StorageServiceService.uploadVolume.requestDeserialize),
  },
  downloadVolume: {
    ...StorageServiceService.downloadVolume,
    responseSerialize: serializeChunk,
    responseDeserialize: deserializeChunk(StorageServiceService.downloadVolume.responseDeserialize),
  },
};

export const ImageServiceDefinition: typeof ImageServiceService = {
  ...ImageServiceService,
  importOva: {
    ...ImageServiceService.importOva,
    requestSerialize: serializeRequest(ImageServiceService.importOva.requestSerialize),
    requestDeserialize: deserializeRequest(ImageServiceService.importOva.requestDeserialize),
  },
  exportOva: {
    ...ImageServiceService.exportOva,
    responseSerialize: serializeChunk,
    responseDeserialize: deserializeChunk(ImageServiceService.exportOva.responseDeserialize),
  },
};

export const StorageServiceClient = makeGenericClientConstructor(
  StorageServiceDefinition,
  'quantix.agent.v1.StorageService',
) as unknown as typeof GeneratedStorageServiceClient;

export const ImageServiceClient = makeGenericClientConstructor(
  ImageServiceDefinition,
  'quantix.agent.v1.ImageService',
) as unknown as typeof GeneratedImageServiceClient;

export type StorageServiceClient = GeneratedStorageServiceClient;
export type ImageServiceClient = GeneratedImageServiceClient;
