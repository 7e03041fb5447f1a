// Cold migration: a shut-off VM to another host, as planned by the preflight. Each disk streams
// source agent → server → destination agent over the existing mTLS connections (DownloadVolume
// piped into UploadVolume, never buffered), then the VM is defined on the destination with the
// same UUID and MACs and its firmware state (UEFI variables, TPM), and only then removed (with its
// disks) from the source. A cancel or a failure before that removes what reached the destination:
// the VM stays whole on the source.
import { HttpError } from '../errors.js';
import { Transform, type Readable } from 'node:stream';
import type { MigrationPlan } from './migration-preflight.js';
import type { TaskContext } from './task-service.js';
import type { MoveResult } from './storage-move.js';
import { vmState } from './proto-enums.js';
import { Firmware } from '@quantix/proto/v1/vm.js';

export interface ColdMigrationOptions {
  /** MiB/s for the copy; 0 or absent = none. */
  bandwidthMibPerS?: number;
  /** Hears each progress update (percent of the bytes over all disks). */
  onDiskPercent?: (percent: number) => void;
}

/** Passes chunks on no faster than `bytesPerSecond` on average. */
function throttle(source: Readable, bytesPerSecond: number): Readable {
  const started = Date.now();
  let sent = 0;
  const out = new Transform({
    transform(chunk: Buffer, _enc, done) {
      sent += chunk.length;
      const wait = started + (sent / bytesPerSecond) * 1000 - Date.now();
      if (wait > 0) setTimeout(() => done(null, chunk), wait);
      else done(null, chunk);
    },
  });
  source.on('error', (err) => out.destroy(err));
  out.on('close', () => source.destroy());
  return source.pipe(out);
}

/** Runs the cold migration of `plan` inside a task; `signal` cancels it. */
export async function coldMigrate(
  plan: MigrationPlan,
  t: TaskContext,
  signal: AbortSignal,
  opts: ColdMigrationOptions = {},
): Promise<MoveResult> {
  const started = Date.now();
  const from = plan.source.record;
  const to = plan.target.record;
  const src = plan.source.requireOnline();
  const dst = plan.target.requireOnline();
  const cancelled = () => new HttpError(409, `cancelled: ${plan.name} stays on ${from.name}`);
  const spec = (await src.getVm(plan.uuid)).spec!;
  const volumes = await Promise.all(plan.disks.map((d) => src.getVolume(d.pool, d.volume)));
  const total = volumes.reduce((s, v) => s + v.fileBytes, 0) || 1;
  t.log(`cold migration of ${plan.name} from ${from.name} to ${to.name}, disks into pool ${plan.pool}`);
  const created: string[] = [];
  let defined = false;
  let done = 0;
  try {
    for (const v of volumes) {
      if (signal.aborted) throw cancelled();
      const phase = `copying ${v.name}`;
      t.progress((done / total) * 95, phase);
      const download = src.downloadVolume(v.pool, v.name);
      const body = opts.bandwidthMibPerS ? throttle(download, opts.bandwidthMibPerS * 2 ** 20) : download;
      const stop = () => body.destroy(cancelled());
      signal.addEventListener('abort', stop, { once: true });
      try {
        await dst.uploadVolume(
          { pool: plan.pool, name: v.name, format: v.format, sizeBytes: v.fileBytes },
          body,
          (bytes) => {
            const percent = ((done + bytes) / total) * 100;
            opts.onDiskPercent?.(percent);
            t.detail({ diskPercent: Math.round(percent * 10) / 10 });
            t.progress(percent * 0.95, phase);
          },
        );
      } finally {
        signal.removeEventListener('abort', stop);
        body.destroy();
      }
      // Only volumes this migration made are ever removed from the destination.
      created.push(v.name);
      done += v.fileBytes;
      t.log(`copied ${v.pool}/${v.name} to ${to.name}:${plan.pool}`);
    }
    if (signal.aborted) throw cancelled();
    t.progress(96, 'defining');
    // The copies are of a VM that stayed off: refuse if it was started behind the vDC's back.
    const now = await src.getVm(plan.uuid);
    if (vmState.str(now.state) !== 'shutoff') {
      throw new HttpError(409, `VM ${plan.name} was started on ${from.name} while its disks were copied`);
    }
    // UEFI variables and TPM state live outside the disks: they come along, or the VM would boot
    // on the destination with fresh variables (boot entries, enrolled keys lost) and a new TPM.
    const firmware =
      spec.firmware === Firmware.FIRMWARE_UEFI || spec.tpm ? await src.getFirmwareState(plan.uuid) : undefined;
    await dst.defineVm({ ...spec, disks: spec.disks.map((d) => ({ ...d, pool: plan.pool })) }, firmware);
    defined = true;
    if (signal.aborted) throw cancelled();
    t.progress(98, 'removing from the source');
    try {
      const r = await src.deleteVm(plan.uuid, true);
      for (const k of r.keptDisks) t.log(`kept ${k.pool}/${k.volume} on ${from.name}: ${k.reason}`);
    } catch (err) {
      // An answer lost after the source undefined the VM: the destination's copy is the VM now.
      const gone = await src.getVm(plan.uuid).then(
        () => false,
        (e: unknown) => e instanceof HttpError && e.status === 404,
      );
      if (!gone) throw err;
      t.log(
        `removing ${plan.name} from ${from.name} reported an error, but it is gone there: ${(err as Error).message}`,
      );
    }
    t.log(`${plan.name} is on ${to.name}`);
    return {
      vmId: plan.uuid,
      totalMs: Date.now() - started,
      downtimeMs: 0,
      from: { hostId: from.id, pools: [...new Set(plan.disks.map((d) => d.pool))] },
      to: { hostId: to.id, pool: plan.pool },
    };
  } catch (err) {
    t.progress(null, 'cleaning up');
    if (defined) await dst.deleteVm(plan.uuid, false).catch(() => undefined);
    for (const name of created) await dst.deleteVolume(plan.pool, name).catch(() => undefined);
    throw signal.aborted ? cancelled() : err;
  } finally {
    await plan.source.refreshVm(plan.uuid).catch(() => undefined);
    await plan.target.refreshVm(plan.uuid).catch(() => undefined);
  }
}
