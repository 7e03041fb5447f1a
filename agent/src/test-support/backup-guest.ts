// Test support: the running test guest that backup tests and the backup benchmark back up. A dir
// pool of its own holds the guest's boot disk and a data disk of random bytes (kept raw as
// `state0`, for qemu-img compare), the VM is defined on both and booted until its guest agent
// answers. `stop` removes the VM (and any other VMs named), the pool and the directory.
import { chmod, copyFile, mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PoolKind } from '@quantix/proto/v1/storage.js';
import { VmSpec } from '@quantix/proto/v1/vm.js';
import { run } from '../exec/run.js';
import type { Virsh } from '../libvirt/virsh.js';
import { PoolManager } from '../storage/pool-manager.js';
import { Volumes } from '../storage/volumes.js';
import { guestAgentReady } from '../vm/guest-agent.js';
import { defineVm } from '../vm/vm-define.js';
import { startVm } from '../vm/vm-lifecycle.js';

const fixtureUrl = new URL('../../../test/guest/fixture.ts', import.meta.url).href;
const MIB = 2 ** 20;

export interface BackupGuest {
  dir: string;
  poolDir: string;
  pools: PoolManager;
  volumes: Volumes;
  pool: string;
  name: string;
  uuid: string;
  /** The VM's disk files: vda (the test guest), vdb (the data disk). */
  files: [string, string];
  /** The data disk's bytes as first written, raw. */
  state0: string;
  /** Removes the VM, the VMs named, the pool and the directory; never throws. */
  stop(otherVms?: readonly string[]): Promise<void>;
}

export interface BackupGuestOptions {
  /** Names the dir, pool (`<prefix>-<pid>`) and VM (`<prefix>-vm-<pid>`). */
  prefix: string;
  dataBytes: number;
  /** The data disk's file mode (an uploaded volume's is 0600). */
  dataMode?: number;
  /** How long the guest agent may take to answer (a crowded machine boots TCG slowly). */
  bootTimeoutMs?: number;
}

export async function startBackupGuest(virsh: Virsh, o: BackupGuestOptions): Promise<BackupGuest> {
  const { testGuest } = (await import(fixtureUrl)) as { testGuest: { qcow2: string; memoryMib: number } };
  const dir = await mkdtemp(join(tmpdir(), `${o.prefix}-`));
  const poolDir = join(dir, 'pool');
  const pools = new PoolManager({ dataDir: join(dir, 'data'), virsh });
  const volumes = new Volumes(pools, virsh);
  const pool = `${o.prefix}-${process.pid}`;
  const name = `${o.prefix}-vm-${process.pid}`;
  const stop = async (otherVms: readonly string[] = []) => {
    for (const n of [name, ...otherVms]) {
      await virsh.exec(['destroy', n]).catch(() => undefined);
      await virsh.exec(['undefine', '--checkpoints-metadata', n]).catch(() => undefined);
    }
    await pools.delete(pool, false).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // QEMU (another user) reads the disks through it.
    await chmod(dir, 0o755);
    await mkdir(poolDir);
    await mkdir(join(dir, 'data'));
    await pools.create({ name: pool, kind: PoolKind.POOL_KIND_DIR, sizeBytes: 0, filesystem: '', path: poolDir });
    const files: [string, string] = [join(poolDir, 'guest.qcow2'), join(poolDir, 'data.qcow2')];
    await copyFile(testGuest.qcow2, files[0]);
    const state0 = join(dir, 'state0.raw');
    const fh = await open(state0, 'w');
    for (let at = 0; at < o.dataBytes; at += 16 * MIB)
      await fh.write(randomBytes(Math.min(16 * MIB, o.dataBytes - at)));
    await fh.close();
    await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', state0, files[1]], { timeoutMs: 600_000 });
    if (o.dataMode !== undefined) await chmod(files[1], o.dataMode);
    await pools.volumesChanged(await pools.activeRecord(pool));
    const vm = await defineVm(
      virsh,
      volumes,
      VmSpec.fromPartial({
        name,
        memoryMib: testGuest.memoryMib,
        disks: [
          { pool, volume: 'guest.qcow2' },
          { pool, volume: 'data.qcow2' },
        ],
      }),
    );
    const uuid = vm.spec!.uuid;
    await startVm(virsh, uuid);
    for (const until = Date.now() + (o.bootTimeoutMs ?? 180_000); !(await guestAgentReady(virsh, uuid));) {
      if (Date.now() > until) throw new Error(`the guest agent of ${name} did not answer`);
      await new Promise((r) => setTimeout(r, 250));
    }
    return { dir, poolDir, pools, volumes, pool, name, uuid, files, state0, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
