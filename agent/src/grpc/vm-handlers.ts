// VmService: validates the request's identifiers and hands over to agent/src/vm/.
import type { VmServiceServer } from '@quantix/proto/v1/vm.js';
import type { AgentContext } from '../context.js';
import { cloneVm, defineVm, deleteVm, updateVm } from '../vm/vm-define.js';
import { readFirmwareState } from '../vm/firmware-state.js';
import { forceOffVm, pauseVm, rebootVm, resetVm, resumeVm, shutdownVm, startVm, vmTarget } from '../vm/vm-lifecycle.js';
import { listVms, readVm, vmId } from '../vm/vm-read.js';
import { createSnapshot, deleteSnapshot, listSnapshots, revertSnapshot } from '../vm/vm-snapshots.js';
import { VmStatsSampler } from '../vm/vm-stats.js';
import { attachDisk, attachNic, changeCdromMedia, detachDisk, detachNic } from '../vm/vm-hotplug.js';
import { SnapshotNotes } from '../vm/snapshot-notes.js';
import { setAutostart } from '../vm/autostart.js';
import { setMemory, setVcpus } from '../vm/vm-resize.js';
import { join } from 'node:path';
import { unary } from './unary.js';

export function vmHandlers(ctx: AgentContext): VmServiceServer {
  const v = ctx.virsh;
  const volumes = ctx.volumes;
  const sampler = new VmStatsSampler(v);
  const notes = new SnapshotNotes(join(ctx.config.dataDir, 'snapshot-notes'));
  return {
    listVms: unary(async () => ({ vms: await listVms(v) })),
    getVm: unary(async (r) => readVm(v, vmId(r.id))),
    defineVm: unary(async (r) => defineVm(v, volumes, r.spec)),
    defineVmWithFirmware: unary(async (r) => defineVm(v, volumes, r.spec, r.firmware)),
    updateVm: unary(async (r) => updateVm(v, volumes, vmId(r.vm?.id), r.spec)),
    startVm: unary(async (r) => startVm(v, vmId(r.id))),
    shutdownVm: unary(async (r, call) => {
      const abort = new AbortController();
      call.on('cancelled', () => abort.abort());
      return shutdownVm(v, vmId(r.vm?.id), r.timeoutSeconds, abort.signal);
    }),
    forceOffVm: unary(async (r) => forceOffVm(v, vmId(r.id))),
    rebootVm: unary(async (r) => rebootVm(v, vmId(r.id))),
    resetVm: unary(async (r) => resetVm(v, vmId(r.id))),
    pauseVm: unary(async (r) => pauseVm(v, vmId(r.id))),
    resumeVm: unary(async (r) => resumeVm(v, vmId(r.id))),
    deleteVm: unary(async (r) => ({ keptDisks: await deleteVm(v, volumes, vmId(r.vm?.id), r.deleteDisks) })),
    getFirmwareState: unary(async (r) => readFirmwareState(v, vmId(r.id))),
    cloneVm: unary(async (r) => cloneVm(v, volumes, vmId(r.source?.id, 'source.id'), r.name, r.linked)),
    createSnapshot: unary(async (r) => createSnapshot(v, notes, vmId(r.vm?.id), r.name, r.description)),
    listSnapshots: unary(async (r) => ({ snapshots: await listSnapshots(v, notes, vmId(r.id)) })),
    revertSnapshot: unary(async (r) => revertSnapshot(v, notes, vmId(r.vm?.id), r.name)),
    deleteSnapshot: unary(async (r) => {
      await deleteSnapshot(v, notes, vmId(r.vm?.id), r.name);
      return {};
    }),
    getVmStats: unary(async (r) => {
      const t = await vmTarget(v, vmId(r.id));
      return sampler.one(t.uuid, t.name, t.uuid);
    }),
    changeCdromMedia: unary(async (r) => changeCdromMedia(v, volumes, vmId(r.vm?.id), r.index, r.pool, r.volume)),
    attachDisk: unary(async (r) => attachDisk(v, volumes, vmId(r.vm?.id), r.disk)),
    detachDisk: unary(async (r) => detachDisk(v, vmId(r.vm?.id), r.target)),
    attachNic: unary(async (r) => attachNic(v, vmId(r.vm?.id), r.nic)),
    detachNic: unary(async (r) => detachNic(v, vmId(r.vm?.id), r.mac)),
    setAutostart: unary(async (r) =>
      setAutostart(v, vmId(r.vm?.id), { autostart: r.autostart, order: r.order, delaySeconds: r.delaySeconds }),
    ),
    setVcpus: unary(async (r) => setVcpus(v, vmId(r.vm?.id), r.vcpus)),
    setMemory: unary(async (r) => setMemory(v, vmId(r.vm?.id), Number(r.memoryMib))),
  };
}
