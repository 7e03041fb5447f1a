// Client side of ImageService/ImportOva and ExportOva for tests and the benchmark: streams a
// file in 256 KiB messages with backpressure, collects the events, resolves with the result.
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { ServiceError } from '@grpc/grpc-js';
import type { ImageServiceClient, ImportOvaEvent, ImportOvaHeader, ImportOvaResult } from '@quantix/proto/v1/image.js';
import type { Progress } from '@quantix/proto/v1/common.js';

export interface ImportOutcome {
  progress: Progress[];
  result: ImportOvaResult;
}

export function importOvaFile(
  client: ImageServiceClient,
  file: string,
  header: ImportOvaHeader,
): Promise<ImportOutcome> {
  const call = client.importOva();
  const progress: Progress[] = [];
  let result: ImportOvaResult | undefined;
  const done = new Promise<ImportOutcome>((resolve, reject) => {
    call.on('data', (e: ImportOvaEvent) => {
      if (e.event?.$case === 'progress') {
        if (process.env.QX_DEBUG_PHASES && progress.at(-1)?.phase !== e.event.value.phase)
          console.log(Date.now(), e.event.value.phase);
        progress.push(e.event.value);
      } else if (e.event?.$case === 'result') result = e.event.value;
    });
    call.on('error', (err: ServiceError) => reject(err));
    call.on('end', () =>
      result ? resolve({ progress, result }) : reject(new Error('ImportOva ended without a result')),
    );
  });
  let over = false;
  const settled = done.then(
    () => undefined,
    () => undefined,
  );
  void settled.then(() => (over = true));
  const send = async (): Promise<void> => {
    call.write({ msg: { $case: 'header', value: header } });
    const input = createReadStream(file, { highWaterMark: 256 * 1024 });
    for await (const chunk of input) {
      if (over) break; // a server-side failure ended the call early
      if (!call.write({ msg: { $case: 'data', value: chunk as Buffer } }))
        await Promise.race([once(call, 'drain'), settled]);
    }
    input.destroy();
    if (!over) call.end();
  };
  void send().catch(() => undefined);
  return done;
}

export function exportOvaToFile(client: ImageServiceClient, vm: string, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(file);
    const call = client.exportOva({ vm: { id: vm } });
    call.on('data', (c: { data: Buffer }) => {
      if (!out.write(c.data)) {
        call.pause();
        out.once('drain', () => call.resume());
      }
    });
    call.on('error', (err) => {
      out.destroy();
      reject(err);
    });
    call.on('end', () => out.end(() => resolve()));
  });
}
