// Routes: hosts, clusters, placement, host-shell tickets.
import type { AddHostDto, CreateClusterDto, UpdateClusterDto, UpdateHostDto } from '../dto/hosts.js';
import type { Services } from '../compose.js';
import type { Handlers } from './handler.js';

export function hostHandlers(s: Services): Handlers {
  return {
    listHosts: () => s.hosts.list(),
    getHost: ({ params }) => s.hosts.get(params.id!),
    probeHost: ({ body }) => s.hosts.probe((body as { address: string }).address),
    addHost: ({ body }) => s.hosts.add(body as AddHostDto),
    updateHost: ({ params, body }) => s.hosts.update(params.id!, body as UpdateHostDto),
    removeHost: ({ params }) => s.hosts.remove(params.id!),
    createShellTicket: ({ params, principal }) => {
      s.pool.get(params.id!).requireOnline();
      const t = s.tickets.issue(principal.user.id, 'shell', params.id!);
      return { ...t, url: `/api/v1/hosts/${encodeURIComponent(params.id!)}/shell?ticket=${t.ticket}` };
    },
    listClusters: () => s.clusters.list(),
    getCluster: ({ params }) => s.clusters.get(params.id!),
    createCluster: ({ body }) => {
      const b = body as CreateClusterDto;
      return s.clusters.create(b.name, b.hostIds);
    },
    updateCluster: ({ params, body }) => s.clusters.update(params.id!, body as UpdateClusterDto),
    deleteCluster: ({ params }) => s.clusters.remove(params.id!),
    getPlacement: ({ params, query }) => s.clusters.placement(params.id!, query.pool!, Number(query.memoryMib ?? 0)),
  };
}
