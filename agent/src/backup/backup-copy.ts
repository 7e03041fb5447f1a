// Sends a stored point to another host unchanged (#24): its files streamed to that host's agent
// as a new backup is (backup-send.ts), which checks each one against the manifest before listing
// the point there. A restore on another host than the one holding the backup copies the chain
// there this way, oldest point first, so that each point's parent is there when it arrives.
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SendBackupRequest, SendBackupResponse } from '@quantix/proto/v1/backup.js';
import type { AgentContext } from '../context.js';
import { failedPrecondition, invalidArgument } from '../errors.js';
import { backupDir, chunkHashOf, DOMAIN_XML, getManifest } from './backup-store.js';
import type { ByteSink } from './qcow2-writer.js';
import { openRemoteTarget } from './backup-send.js';

/** Read from the stored disk per step: the remote sink copies it in 1 MiB pieces. */
const READ_BYTES = 4 * 1024 * 1024;
/** A copy keeps every point: retention is the original chain's business. */
const KEEP_ALL = { last: 0, daily: 0, weekly: 0, monthly: 0 };

export async function sendStoredBackup(
  ctx: AgentContext,
  req: SendBackupRequest,
  signal: AbortSignal,
): Promise<SendBackupResponse> {
  if (!req.remote) throw invalidArgument('remote', 'name the host the point goes to');
  const pool = await ctx.pools.activeRecord(req.pool);
  const manifest = await getManifest(pool, req.vmUuid, req.id);
  const dir = backupDir(pool, manifest.vm.uuid, manifest.id);
  const target = await openRemoteTarget({
    ctx,
    remote: req.remote,
    pool: req.pool,
    backupId: manifest.id,
    copy: true,
    chunkHash: chunkHashOf(manifest),
    signal,
  });
  try {
    if (target.history.some((h) => h.id === manifest.id)) {
      await target.discard();
      return { alreadyThere: true };
    }
    if (manifest.parent && !target.history.some((h) => h.id === manifest.parent))
      throw failedPrecondition(`backup ${manifest.id}: its parent ${manifest.parent} is not on ${target.label}`);
    await target.writeSmallFile(DOMAIN_XML, await readFile(join(dir, DOMAIN_XML)));
    for (const f of manifest.firmware ?? []) await target.writeSmallFile(f.file, await readFile(join(dir, f.file)));
    for (const d of manifest.disks) {
      const out = await target.openDisk(d.file);
      if (typeof out === 'string') throw new Error(`${target.label}: a remote target takes the disk's bytes`);
      try {
        await sendFile(join(dir, d.file), out.sink, signal);
        await out.finish();
      } finally {
        await out.close();
      }
    }
    await target.commit(manifest, KEEP_ALL);
    return { alreadyThere: false };
  } catch (err) {
    await target.discard();
    throw err;
  }
}

async function sendFile(path: string, sink: ByteSink, signal: AbortSignal): Promise<void> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(READ_BYTES);
    for (;;) {
      signal.throwIfAborted();
      const { bytesRead } = await fh.read(buf, 0, READ_BYTES, null);
      if (!bytesRead) return;
      await sink.append(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
}
