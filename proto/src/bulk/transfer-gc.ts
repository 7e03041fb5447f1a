// Keeps a process's memory flat while bulk data passes through it. Every data message is garbage
// once it has been written on, but V8 collects such buffers only after about 64 MiB of new
// external memory, so a transfer held 70–90 MB of dead buffers and the process's RSS rose by
// that much. Asking for a young-generation collection every TRANSFER_GC_BYTES of bulk data
// (under 1 ms each) frees them early: a bare grpc-js receiver peaked at +37 MB instead of
// +86 MB, the agent during a 2 GiB upload at +51 MB instead of +110 MB.
//
// Buffers still in flight at two of those collections (HTTP/2 window, call queue, writes in
// flight) are promoted and die in the old generation. In the agent, heap-flags.ts sizes it so
// that they no longer start V8's own major GCs every few MB, and a full collection every
// TRANSFER_MAJOR_GC_BYTES frees them instead: agent peak RSS 138 MB over three 2 GiB uploads
// with it, 147 MB every 128 MiB, 163 MB with none. Processes without those flags (the server)
// leave major GCs to V8: forcing them there raised the server's peak in the OVA bench from
// 139–141 MB to 152–162 MB and slowed the import by a fifth.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startedWithAgentHeapFlags } from './heap-flags.js';

export const TRANSFER_GC_BYTES = 8 * 1024 * 1024;
export const TRANSFER_MAJOR_GC_BYTES = 64 * 1024 * 1024;

type Collect = (options: { type: 'minor' | 'major' }) => void;

let collect: Collect | undefined;
let sinceLast = 0;
let sinceMajor = 0;
let collectsMajor: boolean | undefined;

/** V8's gc(), exposed at runtime when the process was not started with --expose-gc. */
function collector(): Collect {
  if (!collect) {
    const exposed = (globalThis as { gc?: Collect }).gc;
    if (exposed) collect = exposed;
    else {
      setFlagsFromString('--expose-gc');
      collect = runInNewContext('gc') as Collect;
    }
  }
  return collect;
}

/**
 * Counts bulk bytes that passed through this process; collects young garbage every 8 MiB, and
 * all of it every 64 MiB where the agent's heap flags hold V8's own major GCs back.
 */
export function noteBulkBytes(bytes: number): void {
  sinceLast += bytes;
  if (sinceLast < TRANSFER_GC_BYTES) return;
  sinceLast = 0;
  sinceMajor += TRANSFER_GC_BYTES;
  collectsMajor ??= startedWithAgentHeapFlags();
  const major = collectsMajor && sinceMajor >= TRANSFER_MAJOR_GC_BYTES;
  if (major) sinceMajor = 0;
  collector()({ type: major ? 'major' : 'minor' });
}
