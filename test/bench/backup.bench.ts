// Backup benchmark (#24), one running test guest with a data disk of random bytes
// (QX_BENCH_DATA_MIB, default 2048: on a small disk the ~1 s of fixed cost, virsh calls of ~85 ms
// each, freeze, snapshot, commit, would be the figure): full backup throughput (the disks frozen
// under an external snapshot's overlays, copied by sandboxed qemu-img, checksummed while the
// overlays are committed back) vs `qemu-img convert` of the same disks into the same target
// directory, alternating rounds, best of each, with the load average and the backup's own
// breakdown (the agent's "full backup timings" log line) printed; then ~1% of the data disk changed
// by the guest (scattered 64 KiB writes) and the incremental's stored size as % of the disk.
// Targets: throughput >= 0.8x, incremental <= 2%.
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes, randomInt } from 'node:crypto';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { run } from '../../agent/src/exec/run.js';
import { sandboxedQemuImg } from '../../agent/src/ova/qemu-sandbox.js';
import { Virsh } from '../../agent/src/libvirt/virsh.js';
import { startBackupGuest } from '../../agent/src/test-support/backup-guest.js';
import { guestWriteDevice } from '../../agent/src/test-support/guest-file.js';
import { BackupJobs } from '../../agent/src/backup/backup-create.js';
import { deleteBackup } from '../../agent/src/backup/backup-store.js';

const MIB = 2 ** 20;
const DATA_BYTES = Number(process.env.QX_BENCH_DATA_MIB ?? 2048) * MIB;
const ROUNDS = 2;
const virsh = new Virsh('qemu:///system');

// A crowded 2-core machine boots the TCG guest slowly: up to 5 minutes.
const g = await startBackupGuest(virsh, { prefix: 'qxt-bkb', dataBytes: DATA_BYTES, bootTimeoutMs: 300_000 });
const { poolDir, pools, pool, uuid } = g;
const baselineDir = join(poolDir, 'backups', 'qemu-img-baseline');
try {
  await rm(g.state0);
  const jobs = new BackupJobs(virsh, pools);
  const record = await pools.activeRecord(pool);
  let job = 0;

  // Each timed step starts with no dirty page cache, so neither pays for the other's writeback
  // (the backup always follows the baseline's fresh writes).
  const settle = () => run('sync', []);
  /** The baseline; `sandboxed`: as the backup runs it (bwrap, -p), to tell the sandbox's cost apart. */
  const convert = async (sandboxed = false): Promise<number> => {
    await rm(baselineDir, { recursive: true, force: true });
    await mkdir(baselineDir, { recursive: true });
    await settle();
    const t0 = performance.now();
    for (const d of ['guest.qcow2', 'data.qcow2']) {
      const [src, out] = [join(poolDir, d), join(baselineDir, d)];
      const args = ['convert', '-U', '-f', 'qcow2', '-O', 'qcow2', src, out];
      if (!sandboxed) await run('qemu-img', args);
      else {
        await writeFile(out, '');
        const mounts = { readOnly: [poolDir], writable: [out] };
        await run('bwrap', sandboxedQemuImg(mounts, ['convert', '-p', ...args.slice(1)]), { maxOutputBytes: 1 << 20 });
      }
    }
    return performance.now() - t0;
  };
  // The agent logs each full backup's breakdown on stderr (log.ts: one JSON object per line).
  let timings: Record<string, unknown> | undefined;
  const stderrWrite = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    const text = String(chunk);
    if (text.includes('"full backup timings"')) timings = JSON.parse(text) as Record<string, unknown>;
    return stderrWrite(chunk, ...rest);
  }) as typeof process.stderr.write;
  const fullBackup = async (): Promise<{ ms: number; id: string; timings?: Record<string, unknown> }> => {
    timings = undefined;
    await settle();
    const t0 = performance.now();
    const { backup: b } = await jobs.create(
      { vm: uuid, pool, forceFull: true, jobId: `bench-${job++}`, keepLast: 0 },
      () => undefined,
    );
    return { ms: performance.now() - t0, id: b.id, timings };
  };

  let bestConvert = Infinity;
  let bestSandboxed = Infinity;
  let bestBackup = Infinity;
  let bestTimings: Record<string, unknown> | undefined;
  let lastFull = '';
  for (let r = 0; r < ROUNDS; r++) {
    bestConvert = Math.min(bestConvert, await convert());
    bestSandboxed = Math.min(bestSandboxed, await convert(true));
    const b = await fullBackup();
    if (b.ms < bestBackup) bestTimings = b.timings;
    bestBackup = Math.min(bestBackup, b.ms);
    if (lastFull) await deleteBackup(record, uuid, lastFull, true);
    lastFull = b.id;
  }
  await rm(baselineDir, { recursive: true, force: true });
  const bytes = (await stat(join(poolDir, 'data.qcow2'))).size + (await stat(join(poolDir, 'guest.qcow2'))).size;
  const mibs = (ms: number) => (bytes / MIB / (ms / 1000)).toFixed(1);
  console.log(
    `load average (1 min) at the end of the rounds: ${loadavg()[0]!.toFixed(2)} on ${navigator.hardwareConcurrency} cores`,
  );
  console.log(`qemu-img convert: ${Math.round(bestConvert)} ms (${mibs(bestConvert)} MiB/s)`);
  console.log(`  sandboxed as the backup runs it: ${Math.round(bestSandboxed)} ms (${mibs(bestSandboxed)} MiB/s)`);
  console.log(`full backup:      ${Math.round(bestBackup)} ms (${mibs(bestBackup)} MiB/s)`);
  if (bestTimings) {
    const { pointInTimeMs, snapshotMs, copyMs, commitMs, checksumTailMs } = bestTimings;
    console.log(
      `  of which: point in time ${pointInTimeMs} ms (freeze, checkpoint, snapshot ${snapshotMs} ms, thaw); ` +
        `copy ${copyMs} ms; then commit ${commitMs} ms alongside the checksums' tail ${checksumTailMs} ms; ` +
        `the rest (plan, target, manifest, firmware): ${Math.round(bestBackup - Number(pointInTimeMs) - Number(copyMs) - Math.max(Number(commitMs), Number(checksumTailMs)))} ms`,
    );
  }

  // ~1% of the data disk, scattered 64 KiB writes at 64 KiB-aligned offsets.
  const writes = [];
  const count = Math.ceil((DATA_BYTES * 0.01) / (64 * 1024));
  const slots = new Set<number>();
  while (slots.size < count) slots.add(randomInt(DATA_BYTES / (64 * 1024)));
  for (const s of slots) writes.push({ offset: s * 64 * 1024, data: randomBytes(64 * 1024) });
  await guestWriteDevice(virsh, uuid, '/dev/vdb', writes);
  const { backup: incr } = await jobs.create(
    { vm: uuid, pool, forceFull: false, jobId: 'bench-incr', keepLast: 0 },
    () => undefined,
  );
  if (incr.parentId !== lastFull) throw new Error(`the incremental's parent is ${incr.parentId}, not ${lastFull}`);
  const stored = incr.disks.find((d) => d.target === 'vdb')!.storedBytes;
  const pct = (stored / DATA_BYTES) * 100;
  console.log(
    `changed ${((count * 64 * 1024) / MIB).toFixed(2)} MiB of ${DATA_BYTES / MIB} MiB; incremental stored ${(stored / MIB).toFixed(2)} MiB`,
  );
  console.log(
    `ratio full-backup throughput ${(bestConvert / bestBackup).toFixed(2)}x of qemu-img convert (target >= 0.8x); incremental ${pct.toFixed(2)}% of the disk (target <= 2%)`,
  );
} finally {
  await g.stop();
}
