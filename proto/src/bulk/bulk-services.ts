// The two services that carry bulk data (StorageService: UploadVolume/DownloadVolume,
// ImageService: ImportOva/ExportOva), with their data messages encoded in one allocation
// (bytes-field.ts) and counted for the transfer GC (transfer-gc.ts), on whichever end encodes
// or decodes them; every other message goes through the generated code unchanged. Same wire
// format, same types: use these definitions and clients wherever volumes or OVAs move.
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
import { encodeBytesField } from './bytes-field.js';
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

/** The generated decoder, counting the bytes of every message it decodes. */
function counted<T>(generated: (value: Buffer) => T): (value: Buffer) => T {
  return (value) => {
    noteBulkBytes(value.length);
    return generated(value);
  };
}

export const StorageServiceDefinition: typeof StorageServiceService = {
  ...StorageServiceService,
  uploadVolume: {
    ...StorageServiceService.uploadVolume,
    requestSerialize: serializeRequest(StorageServiceService.uploadVolume.requestSerialize),
    requestDeserialize: counted(StorageServiceService.uploadVolume.requestDeserialize),
  },
  downloadVolume: {
    ...StorageServiceService.downloadVolume,
    responseSerialize: serializeChunk,
    responseDeserialize: counted(StorageServiceService.downloadVolume.responseDeserialize),
  },
};

export const ImageServiceDefinition: typeof ImageServiceService = {
  ...ImageServiceService,
  importOva: {
    ...ImageServiceService.importOva,
    requestSerialize: serializeRequest(ImageServiceService.importOva.requestSerialize),
    requestDeserialize: counted(ImageServiceService.importOva.requestDeserialize),
  },
  exportOva: {
    ...ImageServiceService.exportOva,
    responseSerialize: serializeChunk,
    responseDeserialize: counted(ImageServiceService.exportOva.responseDeserialize),
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
