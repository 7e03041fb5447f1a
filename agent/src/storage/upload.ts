// Volume upload from a stream of messages (header first: pool, name, declared format and size, then
// data) or, from the server on this host, a header and plain bytes (the bulk socket). Bytes go to a hidden temp file in the pool (never more than declared), are synced,
// judged (disk-inspect.ts, as OVA disks are) and only then linked in under their name,
// with the declared format recorded (volume-formats.ts).
// Any failure or cancellation removes the temp file.
import { constants } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type UploadVolumeHeader, type UploadVolumeRequest, type Volume } from '@quantix/proto/v1/storage.js';
import { volumeFormatNames } from '../enum-names.js';
import { invalidArgument } from '../errors.js';
import { validateName } from '../validate/name.js';
import { judgeImage, UPLOAD_FORMATS } from '../ova/disk-inspect.js';
import type { PoolManager } from './pool-manager.js';
import { publishVolume, tempPathFor, type Volumes } from './volumes.js';
import { PositionalWriter } from './positional-writer.js';
import { flushBehind } from './flush-behind.js';
import { GatheringFileWriter } from './gathering-writer.js';

/** Receives one upload; `messages` is the gRPC client stream (or any async iterable). */
export async function receiveUpload(
  pools: PoolManager,
  volumes: Volumes,
  messages: AsyncIterable<UploadVolumeRequest>,
): Promise<Volume> {
  const iterator = messages[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done || first.value.msg?.$case !== 'header')
    throw invalidArgument('header', 'the first message must be the header');
  return receiveInto(pools, volumes, first.value.msg.value, async (fh, size) => {
    const writes = new PositionalWriter(fh);
    try {
      let received = 0;
      for (;;) {
        const next = await iterator.next();
        if (next.done) break;
        const msg = next.value.msg;
        if (msg?.$case !== 'data') throw invalidArgument('header', 'only the first message may be a header');
        if (received + msg.value.length > size) {
          throw invalidArgument('header.size_bytes', `more data arrived than the declared ${size} bytes`);
        }
        await writes.write(msg.value, received);
        received += msg.value.length;
      }
      await writes.drain();
      return received;
    } finally {
      await writes.settle();
    }
  });
}

/**
 * Receives one upload whose bytes arrive plainly on `bytes` (the local bulk socket, bulk-socket.ts),
 * gathered into few large file writes (gathering-writer.ts).
 */
export async function receiveUploadBytes(
  pools: PoolManager,
  volumes: Volumes,
  header: UploadVolumeHeader,
  bytes: Readable,
): Promise<Volume> {
  return receiveInto(pools, volumes, header, async (fh, size) => {
    const file: GatheringFileWriter = new GatheringFileWriter(fh.fd, {
      maxBytes: size,
      tooMuch: () => invalidArgument('header.size_bytes', `more data arrived than the declared ${size} bytes`),
      onWritten: () => writeback.kick(),
    });
    const writeback = flushBehind(fh, (err) => file.destroy(err as Error));
    await writeback.stopAfter(pipeline(bytes, file));
    return file.received;
  });
}

/** Checks the header, writes the body (`write` returns the bytes it wrote) to a temp file, judges, publishes. */
async function receiveInto(
  pools: PoolManager,
  volumes: Volumes,
  header: UploadVolumeHeader,
  write: (fh: FileHandle, size: number) => Promise<number>,
): Promise<Volume> {
  const pool = await pools.activeRecord(header.pool, 'header.pool');
  validateName('header.name', header.name);
  const format = volumeFormatNames.name(header.format);
  if (!format)
    throw invalidArgument('header.format', 'must be VOLUME_FORMAT_QCOW2, VOLUME_FORMAT_RAW or VOLUME_FORMAT_ISO');
  const size = await volumes.checkCapacity(pool, header.sizeBytes, 'header.size_bytes');
  if (size !== header.sizeBytes) throw invalidArgument('header.size_bytes', 'must be a multiple of 512 bytes');
  await volumes.assertFree(pool, header.name, 'header.name');

  const release = pools.beginTransfer(pool, `an upload of volume ${header.name} into it`);
  const tmp = tempPathFor(pool, header.name, 'upload');
  try {
    const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      const received = await write(fh, size);
      if (received !== size)
        throw invalidArgument('header.size_bytes', `the upload ended after ${received} of ${size} bytes`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await judgeImage({
      file: tmp,
      declared: format,
      allowed: UPLOAD_FORMATS,
      label: `upload ${pool.name}/${header.name}`,
      field: 'data',
      declaredBy: 'the upload says',
    });
    await pools.withPool(pool, () => publishVolume(pool, tmp, header.name, { format }));
    await pools.volumesChanged(pool);
    return await volumes.view(pool, header.name);
  } finally {
    await unlink(tmp).catch(() => undefined);
    release();
  }
}
