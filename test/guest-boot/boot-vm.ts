// Boots one VM through a real agent (in this process, real libvirt + QEMU) from a disk in a
// transient pool and collects its serial console: the fixture of the slow firmware boot tests.
// remove() force-stops and deletes the VM (with its NVRAM and TPM state), the pool and the agent.
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VmSpec } from '@quantix/proto/v1/vm.js';
import { startTestAgent, type TestAgent } from '../../agent/src/test-support/agent-harness.js';
import { promisify } from '../../agent/src/test-support/promisify.js';
import { Virsh } from '../../agent/src/libvirt/virsh.js';
import { ConsoleClient } from '../vm/console-client.js';
import { createGuestPool, testName, type GuestPool } from '../vm/guest-pool.js';
import { guestSpec } from '../vm/vm-spec.js';

const virsh = new Virsh('qemu:///system');

export interface BootedVm {
  name: string;
  uuid: string;
  console: ConsoleClient;
}

export interface BootBench {
  agent: TestAgent;
  pool: GuestPool;
  /** Defines `what` with disk `disk` (a file copied into the pool, or the test guest's overlay when absent), starts it and attaches its console. */
  boot(what: string, over: Partial<VmSpec>, disk?: string): Promise<BootedVm>;
  /** Force-off and delete one VM booted here (its disks, NVRAM and TPM state with it). */
  remove(vm: BootedVm): Promise<void>;
  /** Everything this bench made, VMs first. */
  close(): Promise<void>;
}

export async function startBootBench(): Promise<BootBench> {
  const agent = await startTestAgent();
  const pool = await createGuestPool().catch(async (e: unknown) => {
    await agent.stop();
    throw e;
  });
  const vmClient = agent.clients.vm;
  const booted = new Map<string, BootedVm>();
  const names: string[] = [];
  const remove = async (vm: BootedVm) => {
    vm.console.call.end();
    await promisify(vmClient, vmClient.forceOffVm)({ id: vm.uuid }).catch(() => undefined);
    await promisify(vmClient, vmClient.deleteVm)({ vm: { id: vm.uuid }, deleteDisks: true });
    booted.delete(vm.name);
  };
  return {
    agent,
    pool,
    async boot(what, over, disk) {
      const name = testName(what);
      names.push(name);
      const volume = `${name}.qcow2`;
      if (disk) {
        await copyFile(disk, join(pool.dir, volume));
        await virsh.exec(['pool-refresh', pool.name]);
      } else await pool.addGuestDisk(volume);
      const defined = await promisify(vmClient, vmClient.defineVm)({ spec: guestSpec(name, pool.name, volume, over) });
      const uuid = defined.spec!.uuid;
      const vm = { name, uuid, console: new ConsoleClient(agent.clients.console.console()) };
      booted.set(name, vm);
      await promisify(vmClient, vmClient.startVm)({ id: uuid });
      vm.console.open(uuid);
      return vm;
    },
    remove,
    async close() {
      for (const vm of [...booted.values()]) await remove(vm).catch(() => undefined);
      // A define that failed half-way: nothing of it may stay.
      for (const n of names) {
        await virsh.exec(['destroy', n]).catch(() => undefined);
        await virsh.exec(['undefine', '--nvram', '--tpm', n]).catch(() => undefined);
      }
      await agent.stop();
      await pool.remove();
    },
  };
}
