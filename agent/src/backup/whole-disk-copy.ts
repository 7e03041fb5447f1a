// A backup's disks copied whole from files QEMU does not write (a shut-off VM's disks, or a
// running VM's frozen under its backup overlays, backup-snapshot.ts): to this host by the agent
// itself where it can map the file (qcow2-copy.ts, checksums in the same pass) or else with
// qemu-img; to another host streamed (backup-pull.ts, backup-send.ts), read from the file where
// it can be mapped, or else from a read-only qemu-nbd export.
import { open, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { run } from '../exec/run.js';
import { log } from '../log.js';
import { FLUSHED_OUTPUT, sandboxedQemuImg } from '../ova/qemu-sandbox.js';
import { percentReader } from '../storage/volumes.js';
import { copyClusters, makeBackupSocketDir, pullDisk } from './backup-pull.js';
import { DOMAIN_XML, newManifestDisk, type ManifestDisk } from './backup-store.js';
import type { BackupTarget } from './backup-target.js';
import { chunkSums, CHUNK_HASH } from './chunk-sums.js';
import { copyQcow2 } from './qcow2-copy.js';
import { TaskGroup } from './workers.js';
import { mappedReader, readQcow2Map, type Qcow2Map } from './qcow2-map.js';

const COPY_TIMEOUT_MS = 6 * 60 * 60_000;

/** A disk copied whole from a file QEMU does not write: a shut-off VM's, or a running one's frozen by its overlay. */
export interface SourceDisk {
  dev: string;
  file: string;
  format: 'qcow2' | 'raw';
  /**
   * QEMU holds it read-only as the backing file of the backup's overlay, so nothing writes it
   * while it is copied. A shut-off VM's disk is copied by qemu-img instead: its image lock keeps
   * the VM from starting on the disk meanwhile.
   */
  frozen: boolean;
}

/**
 * Copies each disk whole. Resolves once every copy has ended, with the disks' manifest entries
 * still to come: a local copy's checksums may still be computed. That promise settles only once
 * every checksum pass has stopped (a failed one stops the others), so that nothing still reads the
 * target's files when a failed backup removes them.
 */
export async function copyWholeDisks(
  sources: readonly SourceDisk[],
  id: string,
  target: BackupTarget,
  onPercent: (p: number) => void,
  signal: AbortSignal,
): Promise<{ entries: Promise<ManifestDisk[]> }> {
  const local = target.localPath(DOMAIN_XML);
  if (!local) return { entries: Promise.resolve(await sendDisks(sources, id, target, onPercent, signal)) };
  return copyLocal(sources, dirname(local), onPercent, signal);
}

/** The map of a frozen qcow2 the agent can copy itself; otherwise undefined (logged when unmappable). */
async function frozenMap(src: SourceDisk, fallback: string): Promise<Qcow2Map | undefined> {
  if (!src.frozen || src.format !== 'qcow2') return undefined;
  const r = await readQcow2Map(src.file);
  if ('map' in r) return r.map;
  log.info(`backup disk ${fallback}`, { file: src.file, why: r.unsupported });
  return undefined;
}

/**
 * To this host: a frozen qcow2 that qcow2-map.ts can map is copied and hashed in one pass by the
 * agent; any other disk with qemu-img (sandboxed: only its directory visible), its checksums
 * computed as it ends (worker threads), alongside the next copy. A running VM's file is open
 * read-only by QEMU as its overlay's backing file, which shares reading: no -U needed; it belongs
 * to QEMU's user meanwhile, hence `readOtherOwners`.
 */
async function copyLocal(
  sources: readonly SourceDisk[],
  dir: string,
  onPercent: (p: number) => void,
  signal: AbortSignal,
): Promise<{ entries: Promise<ManifestDisk[]> }> {
  // The checksum passes run alongside the next copies: a failure anywhere (or a cancel) stops them all.
  const passes = new TaskGroup<ManifestDisk>(signal);
  try {
    for (const [i, src] of sources.entries()) {
      const file = `${src.dev}.qcow2`;
      const out = join(dir, file);
      await writeFile(out, '', { flag: 'wx' });
      const share = (p: number) => onPercent(Math.floor(((i + p / 100) / sources.length) * 99));
      const map = await frozenMap(src, 'copied by qemu-img');
      if (map) {
        const { sums, bytes } = await copyQcow2(src.file, map, out, passes.signal, (f) => share(f * 100));
        passes.add(
          Promise.resolve(newManifestDisk(src.dev, { capacityBytes: map.virtualSize, storedBytes: bytes, sums })),
        );
        continue;
      }
      await run(
        'bwrap',
        sandboxedQemuImg({ readOnly: [dirname(src.file)], writable: [out], readOtherOwners: true }, [
          'convert',
          '-p',
          ...FLUSHED_OUTPUT,
          '-f',
          src.format,
          '-O',
          'qcow2',
          src.file,
          out,
        ]),
        {
          timeoutMs: COPY_TIMEOUT_MS,
          signal: passes.signal,
          maxOutputBytes: 64 * 1024,
          onOutput: percentReader(share),
        },
      );
      passes.add(
        (async (): Promise<ManifestDisk> => {
          const [info, { sums, bytes }] = await Promise.all([
            run('qemu-img', ['info', '--output=json', '-f', 'qcow2', out]),
            chunkSums(out, CHUNK_HASH, passes.signal),
          ]);
          const capacityBytes = (JSON.parse(info.stdout) as { 'virtual-size': number })['virtual-size'];
          return newManifestDisk(src.dev, { capacityBytes, storedBytes: bytes, sums });
        })(),
      );
    }
  } catch (err) {
    passes.fail(err);
    await passes.settled(); // rejects with the first failure: this one, or the pass that stopped this copy
    throw err;
  }
  return { entries: passes.settled() };
}

/**
 * To another host: each disk's allocated clusters, into the qcow2 streamed there, hashed on the
 * way: a frozen qcow2 the agent can map read from its file (mappedReader), any other exported
 * read-only by qemu-nbd on a private socket and read like a pull backup's export.
 */
async function sendDisks(
  sources: readonly SourceDisk[],
  id: string,
  target: BackupTarget,
  onPercent: (p: number) => void,
  signal: AbortSignal,
): Promise<ManifestDisk[]> {
  const sockets = await makeBackupSocketDir(id);
  const disks: ManifestDisk[] = [];
  try {
    for (const [i, src] of sources.entries()) {
      const file = `${src.dev}.qcow2`;
      const onProgress = (f: number) => onPercent(Math.floor(((i + f) / sources.length) * 99));
      const map = await frozenMap(src, 'read through qemu-nbd');
      if (map) {
        const fh = await open(src.file, 'r');
        try {
          const read = mappedReader(fh, map);
          const out = await target.openDisk(file);
          const sent = await copyClusters({
            size: map.virtualSize,
            runs: map.runs,
            read,
            file: out,
            signal,
            onProgress,
          });
          disks.push(newManifestDisk(src.dev, sent));
        } finally {
          await fh.close();
        }
        continue;
      }
      const socket = join(sockets, `${src.dev}.sock`);
      const pidFile = join(sockets, `${src.dev}.pid`);
      // Without --persistent it serves one client and exits when that one disconnects. Read-only,
      // it shares the file with a running QEMU that holds it as a backing file (no force-share).
      await run('qemu-nbd', ['--fork', '--pid-file', pidFile, '-r', '-f', src.format, '-k', socket, src.file], {
        timeoutMs: 60_000,
      });
      try {
        const pulled = await pullDisk({
          socket,
          exportName: '',
          file: await target.openDisk(file),
          signal,
          onProgress,
        });
        disks.push(newManifestDisk(src.dev, pulled));
      } finally {
        const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
        if (pid > 0) {
          try {
            process.kill(pid, 'SIGTERM');
          } catch {
            // It exited with its client.
          }
        }
      }
    }
    return disks;
  } finally {
    await rm(sockets, { recursive: true, force: true });
  }
}
