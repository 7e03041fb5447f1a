// Routes: hosts, clusters, placement, host-shell tickets.
import type { Services } from '../compose.js';
import type { HandlersOf } from './handler.js';
import type { hostOperations } from '../dto/hosts.js';

export function hostHandlers(s: Services): HandlersOf<typeof hostOperations> {
  return {
    listHosts: () => s.hosts.list(),
    listHostPage: ({ query }) => s.hosts.page(query),
    getHost: ({ params }) => s.hosts.get(params.id),
    getHostMetricsHistory: ({ params, query }) => s.history.hostHistory(s.hosts.get(params.id).id, query.range),
    probeHost: ({ body }) => s.hosts.probe(body.address),
    addHost: ({ body }) => s.hosts.add(body),
    updateHost: ({ params, body, principal }) => s.hosts.update(params.id, body, principal.label),
    removeHost: ({ params }) => s.hosts.remove(params.id),
    createShellTicket: ({ params, principal }) => {
      s.pool.get(params.id).requireOnline();
      const t = s.tickets.issue(principal.user.id, 'shell', params.id);
      return { ...t, url: `/api/v1/hosts/${encodeURIComponent(params.id)}/shell?ticket=${t.ticket}` };
    },
    listClusters: () => s.clusters.list(),
    getCluster: ({ params }) => s.clusters.get(params.id),
    createCluster: ({ body }) => {
      return s.clusters.create(body.name, body.hostIds);
    },
    updateCluster: ({ params, body }) => s.clusters.update(params.id, body),
    deleteCluster: ({ params }) => s.clusters.remove(params.id),
    getPlacement: ({ params, query }) => s.clusters.placement(params.id, query.pool, Number(query.memoryMib ?? 0)),
  };
}
