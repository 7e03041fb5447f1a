// Storage move: a VM's disks into another pool of its own host, as planned by the preflight. The
// agent copies (shut off) or block-copies (running) through its volume layer; this side follows
// the progress into the task and refreshes the inventory. Abort = the agent aborts the copy.
import type { TaskContext } from './task-service.js';
import type { MigrationPlan } from './migration-preflight.js';

/** The task result of a move (the contract's `{ totalMs, downtimeMs, from, to }`). */
export interface MoveResult {
  vmId: string;
  totalMs: number;
  /** A storage move never stops the guest. */
  downtimeMs: number;
  from: { hostId: string; pools: string[] };
  to: { hostId: string; pool: string };
  /** Storage moves: each disk moved, and why an old volume was kept. */
  disks?: { volume: string; fromPool: string; toPool: string; keptReason: string }[];
}

export interface StorageMoveOptions {
  /** MiB/s for the copy; 0 = none. */
  bandwidthMibPerS?: number;
  /** Hears each progress update (percent of the bytes over all disks). */
  onDiskPercent?: (percent: number) => void;
}

/** Runs the move of `plan` (plan.storageMove) inside a task; `signal` cancels it. */
export async function moveStorage(
  plan: MigrationPlan,
  t: TaskContext,
  signal: AbortSignal,
  opts: StorageMoveOptions = {},
): Promise<MoveResult> {
  const started = Date.now();
  const agent = plan.source.requireOnline();
  const fromPools = [...new Set(plan.disks.filter((d) => d.pool !== plan.pool).map((d) => d.pool))];
  t.log(
    `moving the disks of ${plan.name} from ${fromPools.join(', ')} to pool ${plan.pool} (${plan.mode === 'live' ? 'block copy while it runs' : 'copy'})`,
  );
  t.progress(0, 'copying');
  try {
    const r = await agent.moveVmDisks(
      { vm: plan.uuid, targetPool: plan.pool, bandwidthMibPerS: opts.bandwidthMibPerS ?? 0 },
      (p) => {
        opts.onDiskPercent?.(p.percent);
        t.detail({ diskPercent: Math.round(p.percent * 10) / 10 });
        t.progress(p.percent, p.phase);
      },
      signal,
    );
    for (const d of r.disks) {
      t.log(d.keptReason ? `kept ${d.fromPool}/${d.volume}: ${d.keptReason}` : `deleted ${d.fromPool}/${d.volume}`);
    }
    return {
      vmId: plan.uuid,
      totalMs: Date.now() - started,
      downtimeMs: 0,
      from: { hostId: plan.source.record.id, pools: fromPools },
      to: { hostId: plan.target.record.id, pool: plan.pool },
      disks: r.disks,
    };
  } finally {
    await plan.source.refreshVm(plan.uuid);
  }
}
