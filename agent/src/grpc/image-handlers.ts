// ImageService: ImportOva (OVA bytes in → progress events and a final result out) and ExportOva
// (a defined VM → OVA bytes). An import goes through the pool manager like every volume change:
// it counts as work running into its pool (which cannot be stopped meanwhile) and publishes its
// disks under the pool lock (ova/ova-publish.ts).
import { Writable } from 'node:stream';
import { once } from 'node:events';
import type { ServerDuplexStream, ServerWritableStream } from '@grpc/grpc-js';
import type {
  ExportOvaRequest,
  ImageServiceServer,
  ImportOvaEvent,
  ImportOvaHeader,
  ImportOvaLocalRequest,
  ImportOvaRequest,
} from '@quantix/proto/v1/image.js';
import type { DataChunk } from '@quantix/proto/v1/common.js';
import type { AgentContext } from '../context.js';
import { AgentError, ErrorCode, invalidArgument } from '../errors.js';
import { Virsh } from '../libvirt/virsh.js';
import { validateName } from '../validate/name.js';
import { importOva } from '../ova/ova-import.js';
import { importedVolume, publishImportedDisks } from '../ova/ova-publish.js';
import { exportOva } from '../ova/ova-export.js';
import { exportSourceFromVm } from '../ova/vm-export-source.js';
import { suggestVmSpec } from '../ova/vm-spec-mapping.js';
import { toServiceError } from './status.js';
import { claimBulkBytes } from '../storage/bulk-socket.js';

/** The data messages after the header, as a byte stream. */
async function* dataMessages(call: AsyncIterable<ImportOvaRequest>): AsyncGenerator<Buffer> {
  for await (const req of call) {
    if (req.msg?.$case !== 'data') throw invalidArgument('header', 'sent twice');
    yield req.msg.value;
  }
}

/** `bytes`, refusing more than the declared size (0: not declared). */
async function* declared(bytes: AsyncIterable<Buffer>, sizeBytes: number): AsyncGenerator<Buffer> {
  let received = 0;
  for await (const chunk of bytes) {
    received += chunk.length;
    if (sizeBytes && received > sizeBytes)
      throw invalidArgument('header.size_bytes', `more than the declared ${sizeBytes} bytes arrived`);
    yield chunk;
  }
}

function checkHeader(h: ImportOvaHeader | undefined): ImportOvaHeader {
  if (!h) throw invalidArgument('header', 'is required');
  validateName('header.pool', h.pool);
  if (h.name) validateName('header.name', h.name);
  return h;
}

async function firstHeader(it: AsyncIterator<ImportOvaRequest>): Promise<ImportOvaHeader> {
  const first = await it.next();
  if (first.done || first.value.msg?.$case !== 'header')
    throw invalidArgument('header', 'the first message must be the header');
  return checkHeader(first.value.msg.value);
}

/** Imports the OVA in `bytes` into the header's pool, sending progress and then the result on `call`. */
async function runImport(
  ctx: AgentContext,
  call: Pick<ServerWritableStream<unknown, ImportOvaEvent>, 'cancelled' | 'write'>,
  header: ImportOvaHeader,
  bytes: AsyncIterable<Buffer>,
  signal: AbortSignal,
): Promise<void> {
  const pool = await ctx.pools.volumePool(header.pool, 'header.pool');
  const send = (event: ImportOvaEvent['event']): void => {
    if (!call.cancelled) call.write({ event });
  };
  const release = ctx.pools.beginTransfer(pool, `an OVA import${header.name ? ` of ${header.name}` : ''} into it`);
  let result;
  try {
    result = await importOva({
      source: declared(bytes, header.sizeBytes),
      destDir: pool.path,
      namePrefix: header.name,
      sizeBytes: header.sizeBytes,
      signal,
      onProgress: (p) => send({ $case: 'progress', value: p }),
      publish: (disks) => publishImportedDisks(ctx.pools, pool, disks),
    });
  } finally {
    release();
  }
  await ctx.pools.volumesChanged(pool).catch(() => undefined);
  const volumes = await Promise.all(result.outputs.map((p) => importedVolume(header.pool, p)));
  const suggestedSpec = suggestVmSpec(
    result.spec,
    volumes.map((v) => ({ pool: v.pool, volume: v.name })),
  );
  send({ $case: 'result', value: { spec: result.spec, volumes, suggestedSpec } });
}

async function importOvaCall(
  ctx: AgentContext,
  call: ServerDuplexStream<ImportOvaRequest, ImportOvaEvent>,
): Promise<void> {
  const abort = new AbortController();
  call.on('cancelled', () => abort.abort());
  // Not the default iterator: leaving it early would destroy the call before the status is sent.
  const it = call.iterator({ destroyOnReturn: false }) as AsyncIterator<ImportOvaRequest>;
  const header = await firstHeader(it);
  await runImport(ctx, call, header, dataMessages({ [Symbol.asyncIterator]: () => it }), abort.signal);
}

/** The local server's import (#26): the OVA's bytes plain on the bulk socket, not in gRPC messages. */
async function importOvaLocalCall(
  ctx: AgentContext,
  call: ServerWritableStream<ImportOvaLocalRequest, ImportOvaEvent>,
): Promise<void> {
  const abort = new AbortController();
  call.on('cancelled', () => abort.abort());
  const header = checkHeader(call.request.header);
  const socket = await claimBulkBytes(call.request.ticket, abort.signal, 'OVA import');
  try {
    await runImport(ctx, call, header, socket, abort.signal);
  } finally {
    socket.destroy();
  }
}

/** A Writable that forwards bytes as DataChunk messages, honouring the call's backpressure. */
function chunkWriter(call: ServerWritableStream<ExportOvaRequest, DataChunk>): Writable {
  return new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk: Buffer, _enc, cb) {
      if (call.cancelled) return cb(new AgentError(ErrorCode.Unavailable, 'export cancelled by the client'));
      if (call.write({ data: chunk })) cb();
      else once(call, 'drain').then(() => cb(), cb);
    },
  });
}

async function exportOvaCall(
  ctx: AgentContext,
  call: ServerWritableStream<ExportOvaRequest, DataChunk>,
): Promise<void> {
  const id = call.request.vm?.id ?? '';
  if (!id) throw invalidArgument('vm.id', 'is empty');
  const src = await exportSourceFromVm(ctx.virsh, id).catch((err: unknown) => {
    if (err instanceof AgentError) throw err;
    throw new AgentError(ErrorCode.NotFound, `VM ${id} not found (${Virsh.message(err)})`, 'vm.id');
  });
  const out = chunkWriter(call);
  await exportOva(src, out, { workDir: ctx.config.dataDir });
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

/** Ends a streaming call once `work` is done, or with the status of its error. */
function serve(call: { end(): void; emit(event: 'error', err: unknown): boolean }, work: Promise<void>): void {
  work.then(
    () => call.end(),
    (err: unknown) => call.emit('error', toServiceError(err)),
  );
}

export function imageHandlers(ctx: AgentContext): ImageServiceServer {
  return {
    importOva: (call) => serve(call, importOvaCall(ctx, call)),
    importOvaLocal: (call) => serve(call, importOvaLocalCall(ctx, call)),
    exportOva: (call) => serve(call, exportOvaCall(ctx, call)),
  };
}
