// Routes: VMs, snapshots, export, console tickets.
import type { Services } from '../compose.js';
import type { VmAction } from '../agents/agent-client.js';
import type { Principal } from '../services/auth-service.js';
import type { HandlersOf } from './handler.js';
import type { vmOperations } from '../dto/vms.js';

export function vmHandlers(s: Services): HandlersOf<typeof vmOperations> {
  const act =
    (a: VmAction) =>
    ({ params, principal }: { params: { id: string }; principal: Principal }) =>
      s.vms.action(params.id, a, principal.label);
  return {
    listVms: ({ query, ctx }) => {
      ctx.type = 'application/json';
      ctx.vary('Accept-Encoding');
      const gzip = ctx.acceptsEncodings('gzip', 'identity') === 'gzip';
      if (gzip) ctx.set('Content-Encoding', 'gzip');
      return s.vms.listJson({ hostId: query.hostId, clusterId: query.clusterId }, gzip);
    },
    listVmPage: ({ query }) => s.vms.page(query),
    getVm: ({ params }) => s.vms.get(params.id),
    getVmMetricsHistory: ({ params, query }) => s.history.vmHistory(s.vms.get(params.id).id, query.range),
    createVm: ({ body, principal }) => s.vms.create(body, principal.label),
    updateVm: ({ params, body }) => s.vms.update(params.id, body),
    startVm: act('start'),
    forceOffVm: act('forceOff'),
    rebootVm: act('reboot'),
    resetVm: act('reset'),
    pauseVm: act('pause'),
    resumeVm: act('resume'),
    shutdownVm: ({ params, body, principal }) => s.vms.shutdown(params.id, body.timeoutSeconds, principal.label),
    deleteVm: ({ params, query, principal }) => s.vms.delete(params.id, query.deleteDisks === 'true', principal.label),
    cloneVm: ({ params, body, principal }) => s.vms.clone(params.id, body, principal.label),
    getVmStats: ({ params }) => s.vms.stats(params.id),
    setVmAutostart: ({ params, body }) => s.vms.setAutostart(params.id, body),
    changeVmCdromMedia: ({ params, body }) => s.vms.changeCdromMedia(params.id, params.index, body),
    attachVmDisk: ({ params, body }) => s.vms.attachDisk(params.id, body),
    setVmVcpus: ({ params, body }) => s.vms.setVcpus(params.id, body),
    setVmMemory: ({ params, body }) => s.vms.setMemory(params.id, body),
    detachVmDisk: ({ params }) => s.vms.detachDisk(params.id, params.target),
    attachVmNic: ({ params, body }) => s.vms.attachNic(params.id, body),
    detachVmNic: ({ params }) => s.vms.detachNic(params.id, params.mac),
    listSnapshots: ({ params }) => s.vms.snapshots(params.id),
    createSnapshot: ({ params, body, principal }) => {
      return s.vms.createSnapshot(params.id, body.name, body.description ?? '', principal.label);
    },
    revertSnapshot: ({ params, principal }) => s.vms.revertSnapshot(params.id, params.name, principal.label),
    deleteSnapshot: ({ params, principal }) => s.vms.deleteSnapshot(params.id, params.name, principal.label),
    exportVm: ({ params, ctx }) => {
      const { name, stream } = s.vms.exportOva(params.id);
      ctx.type = 'application/x-tar';
      ctx.attachment(`${name}.ova`);
      ctx.body = stream;
    },
    createConsoleTicket: ({ params, principal }) => {
      s.vms.online(params.id);
      const t = s.tickets.issue(principal.user.id, 'console', params.id);
      return { ...t, url: `/api/v1/vms/${encodeURIComponent(params.id)}/console?ticket=${t.ticket}` };
    },
    createGraphicsTicket: async ({ params, principal }) => {
      await s.vms.requireGraphics(params.id);
      const t = s.tickets.issue(principal.user.id, 'graphics', params.id);
      return { ...t, url: `/api/v1/vms/${encodeURIComponent(params.id)}/graphics?ticket=${t.ticket}` };
    },
  };
}
