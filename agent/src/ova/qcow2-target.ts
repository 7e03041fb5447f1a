// A decoded disk written straight into a new qcow2: the image is created empty with the disk's
// capacity (sandboxed qemu-img), qemu-nbd serves it on a private Unix socket from inside the same
// sandbox, and the decoder's writes go over NBD (nbd-writer.ts). Holes are never written, so they
// stay unallocated clusters; no raw copy and no conversion pass.
import { mkdtemp, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { run } from '../exec/run.js';
import { sandboxedQemuImg, sandboxedQemuNbd } from './qemu-sandbox.js';
import { NbdWriter } from './nbd-writer.js';
import type { OpenRawTarget, RawTarget } from './raw-target.js';

/** How long qemu-nbd may take to offer its socket. */
const START_TIMEOUT_MS = 30_000;

/** A new qcow2 at `path` (its directory becomes the sandbox's /out) receiving the decoded disk. */
export function qcow2Target(path: string, signal?: AbortSignal): OpenRawTarget {
  return async (capacityBytes): Promise<RawTarget> => {
    const out = dirname(path);
    const image = `/out/${basename(path)}`;
    await run(
      'bwrap',
      sandboxedQemuImg({ outputDir: out }, ['create', '-q', '-f', 'qcow2', image, String(capacityBytes)]),
      {
        signal,
      },
    );
    // A short socket path of our own (Unix socket paths are limited to 108 bytes; pool paths are not).
    const sockDir = await mkdtemp(join(tmpdir(), 'qx-nbd-'));
    const socket = join(sockDir, 'nbd.sock');
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    let exit: { err?: unknown } | undefined;
    const exited = run(
      'bwrap',
      sandboxedQemuNbd({ outputDir: out, writable: [sockDir] }, [
        `--socket=${socket}`,
        '--format=qcow2',
        '--cache=writeback',
        image,
      ]),
      { signal: stop.signal, timeoutMs: 24 * 3600_000, maxOutputBytes: 64 * 1024 },
    ).then(
      () => void (exit = {}),
      (err: unknown) => void (exit = { err }),
    );
    const cleanup = async () => {
      signal?.removeEventListener('abort', onAbort);
      await rm(sockDir, { recursive: true, force: true });
    };
    let nbd: NbdWriter;
    try {
      nbd = await connectWhenReady(socket, () => exit);
      if (nbd.size !== capacityBytes) throw new Error(`qemu-nbd offers ${nbd.size} bytes, not ${capacityBytes}`);
    } catch (err) {
      stop.abort();
      await exited;
      await cleanup();
      await unlink(path).catch(() => undefined);
      throw err;
    }
    return {
      write: (data, at) => nbd.write(data, at),
      finish: async () => {
        try {
          await nbd.close(); // qemu-nbd exits once its only client is gone
          await exited;
          if (exit?.err) throw exit.err;
        } finally {
          await cleanup();
        }
      },
      abort: async () => {
        nbd.destroy();
        stop.abort();
        await exited;
        await cleanup();
        await unlink(path).catch(() => undefined);
      },
    };
  };
}

/**
 * Connects once qemu-nbd listens; fails with qemu-nbd's own error if it exits first. Its socket file
 * exists from bind(), a moment before listen(): a refused connection then is retried, not an error.
 */
export async function connectWhenReady(socket: string, exit: () => { err?: unknown } | undefined): Promise<NbdWriter> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const e = exit();
    if (e) throw e.err ?? new Error('qemu-nbd exited before serving the image');
    const ready = await stat(socket).then(
      (s) => s.isSocket(),
      () => false,
    );
    if (ready) {
      try {
        return await NbdWriter.connect(socket);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ECONNREFUSED') throw err;
      }
    }
    if (Date.now() > deadline) throw new Error(`qemu-nbd did not offer ${socket} within ${START_TIMEOUT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
