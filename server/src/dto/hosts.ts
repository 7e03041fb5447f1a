// Hosts (agents) and clusters: join a remote host (probe → confirm fingerprint + token), the
// local host joined automatically, maintenance, live metrics; clusters group hosts for placement.
import { arr, bool, int, named, num, obj, oneOf, opt, orNull, record, str } from '../schema/schema.js';
import type { Infer } from '../schema/schema.js';
import type { Operation } from './operation.js';
import { timestamp } from './common.js';
import { AGENT_VERSION_STATUSES, CPU_MODES, HOST_STATUSES, MAINTENANCE_STATES } from './enums.js';
import { ConsoleTicketDto } from './vms.js';
import { HostMetricsHistoryDto, MetricsHistoryQuery } from './metrics-history.js';

export const HostMetricsDto = named(
  'HostMetricsDto',
  obj({
    at: timestamp(),
    cpuPercent: num(),
    memoryTotalBytes: int(),
    memoryUsedBytes: int(),
    load1: num(),
    netRxBytes: int(),
    netTxBytes: int(),
    diskReadBytes: int({ description: 'since boot, over the physical disks' }),
    diskWriteBytes: int(),
    diskReadOps: int(),
    diskWriteOps: int(),
  }),
);
export type HostMetricsDto = Infer<typeof HostMetricsDto>;

export const HostDto = named(
  'HostDto',
  obj({
    id: str({ description: "the agent's host id" }),
    name: str(),
    address: str({ description: 'host:port of the agent' }),
    local: bool({ description: 'the agent of the appliance whose server answers (this appliance)' }),
    appliance: bool({
      description: "an appliance's own agent (each member of a control plane has one); `local` for this server's own",
    }),
    status: oneOf(HOST_STATUSES),
    statusMessage: str({ description: 'why offline, e.g. the last connection error' }),
    lastSeenAt: orNull(timestamp()),
    clusterId: orNull(str()),
    maintenance: bool(),
    maintenanceState: oneOf(MAINTENANCE_STATES, {
      description: 'entering: VMs are being moved away (or some could not move); in: the host is empty of them',
    }),
    evacuationTaskId: orNull(str({ description: 'the last host.evacuate task (result: moved, left, unmovable)' })),
    fingerprint: str({ description: "pinned SHA-256 fingerprint of the agent's certificate" }),
    hostname: str(),
    cpuModel: str(),
    cpuCount: int(),
    memoryTotalBytes: int(),
    memoryFreeBytes: int(),
    domainType: str({ description: '"kvm" or "qemu" (TCG)' }),
    libvirtVersion: str(),
    qemuVersion: str(),
    agentVersion: str(),
    agentVersionStatus: oneOf(AGENT_VERSION_STATUSES, {
      description:
        'against this vDC: older = one minor version behind (works; update the host); unsupported = never chosen by placement',
    }),
    agentVersionMessage: str({ description: 'why, when not current' }),
    osRelease: str(),
    kernel: str(),
    addresses: arr(str()),
    cpuModels: arr(str(), { description: 'named CPU models the hypervisor can run (cpuMode named)' }),
    cpuModes: arr(oneOf(CPU_MODES)),
    secureBoot: bool({ description: 'OVMF with Microsoft keys is installed' }),
    tpm: bool({ description: 'swtpm is installed (TPM 2.0)' }),
    system: named(
      'HostSystemDto',
      obj({
        installed: bool({ description: 'an installed appliance (A/B slots): the vDC can update it with its bundle' }),
        version: str({ description: "the appliance system's version (etc/quantix-release)" }),
        slot: str({ description: '"a" or "b"; empty on a live system or no appliance' }),
        updateBlocker: str({
          description:
            'why this host cannot be updated now (live, not an appliance, a slot on trial, this server’s own)',
        }),
      }),
    ),
    vmCount: int(),
    metrics: orNull(HostMetricsDto),
    joinedAt: timestamp(),
  }),
);
export type HostDto = Infer<typeof HostDto>;

export const hostAddress = () =>
  str({
    minLength: 3,
    maxLength: 255,
    pattern: '^(\\[[0-9a-fA-F:]+\\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$',
    description: 'host or host:port of the agent (default port 9443)',
  });

export const ProbeHostDto = named('ProbeHostDto', obj({ address: hostAddress() }));
export type ProbeHostDto = Infer<typeof ProbeHostDto>;

export const HostProbeDto = named(
  'HostProbeDto',
  obj({
    address: str({ description: 'normalised host:port' }),
    fingerprint: str({ description: 'SHA-256 of the certificate the agent presented: compare with the host console' }),
    subject: str(),
    validTo: str(),
  }),
);
export type HostProbeDto = Infer<typeof HostProbeDto>;

export const AddHostDto = named(
  'AddHostDto',
  obj({
    address: hostAddress(),
    fingerprint: str({
      minLength: 1,
      maxLength: 200,
      description: 'the fingerprint from the probe, as confirmed by the user',
    }),
    joinToken: str({ minLength: 1, maxLength: 200, description: 'the one-time token shown on the host' }),
    name: opt(str({ minLength: 1, maxLength: 63 })),
    clusterId: opt(orNull(str())),
  }),
);
export type AddHostDto = Infer<typeof AddHostDto>;

export const UpdateHostDto = named(
  'UpdateHostDto',
  obj({
    name: opt(str({ minLength: 1, maxLength: 63 })),
    clusterId: opt(orNull(str())),
    maintenance: opt(
      bool({
        description:
          'no new VMs are placed on a host in maintenance; entering it moves its running VMs away (a host.evacuate task)',
      }),
    ),
    stoppedVms: opt(
      oneOf(['move', 'leave'] as const, {
        description: 'entering maintenance: move stopped VMs too, or leave them (default)',
      }),
    ),
  }),
);
export type UpdateHostDto = Infer<typeof UpdateHostDto>;

export const RemovedHostDto = named(
  'RemovedHostDto',
  obj({
    id: str(),
    agentReleased: bool({
      description:
        'the agent was told and forgot this vDC; false: it was unreachable and still trusts this vDC until reset at its console',
    }),
    message: str({ description: 'what happened, for the user' }),
  }),
);
export type RemovedHostDto = Infer<typeof RemovedHostDto>;

export const ClusterDto = named(
  'ClusterDto',
  obj({
    id: str(),
    name: str(),
    hostIds: arr(str()),
    createdAt: timestamp(),
  }),
);
export type ClusterDto = Infer<typeof ClusterDto>;

export const clusterName = () =>
  str({
    minLength: 1,
    maxLength: 63,
    pattern: '^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$',
    description: 'letters, digits, space, ". _ -"',
  });

export const CreateClusterDto = named('CreateClusterDto', obj({ name: clusterName(), hostIds: opt(arr(str())) }));
export type CreateClusterDto = Infer<typeof CreateClusterDto>;

export const UpdateClusterDto = named('UpdateClusterDto', obj({ name: opt(clusterName()), hostIds: opt(arr(str())) }));
export type UpdateClusterDto = Infer<typeof UpdateClusterDto>;

export const PlacementQuery = obj({
  pool: str({ minLength: 1, maxLength: 63 }),
  memoryMib: opt(str({ pattern: '^[0-9]{1,9}$' })),
});

export const PlacementDto = named(
  'PlacementDto',
  obj({
    hostId: str(),
    hostName: str(),
    memoryFreeBytes: int(),
    candidates: arr(obj({ hostId: str(), hostName: str(), memoryFreeBytes: int(), eligible: bool(), reason: str() })),
  }),
);
export type PlacementDto = Infer<typeof PlacementDto>;

/** Sort fields of a host page (each then by name, then by id); joined = when the host joined. */
export const HOST_PAGE_SORTS = ['name', 'status', 'cluster', 'vms', 'joined'] as const;
export type HostPageSort = (typeof HOST_PAGE_SORTS)[number];
/** A page of the host list: filters, sort, and keyset paging (listHostPage), as for VMs. */
export const ListHostPageQuery = obj({
  limit: opt(
    str({ pattern: '^[0-9]{1,4}$', description: 'hosts per page: a whole number from 1 to 1000 (default 100)' }),
  ),
  cursor: opt(str({ maxLength: 4096, description: "the previous page's nextCursor, unchanged (opaque)" })),
  sort: opt(oneOf(HOST_PAGE_SORTS, { description: 'default name; ties by name, then id' })),
  order: opt(oneOf(['asc', 'desc'])),
  clusterId: opt(str({ maxLength: 200, description: 'in this cluster; "none": in no cluster' })),
  status: opt(
    str({
      pattern: `^(${HOST_STATUSES.join('|')})(,(${HOST_STATUSES.join('|')}))*$`,
      description: `one or more of ${HOST_STATUSES.join(', ')}, comma-separated`,
    }),
  ),
  maintenance: opt(oneOf(['true', 'false'], { description: 'in maintenance or not' })),
  search: opt(str({ maxLength: 200, description: 'the name, address or hostname contains this (any case)' })),
});
export type ListHostPageQuery = Infer<typeof ListHostPageQuery>;
export const HostPageDto = named(
  'HostPageDto',
  obj({
    items: arr(HostDto),
    nextCursor: orNull(str({ description: 'cursor of the next page; null on the last one' })),
    total: int({ description: 'hosts matching the filters, over all pages' }),
    statusCounts: record(int(), { description: 'hosts matching the filters by status, e.g. {"online": 97}' }),
  }),
);
export type HostPageDto = Infer<typeof HostPageDto>;

export const hostOperations = [
  {
    id: 'listHosts',
    method: 'GET',
    path: '/api/v1/hosts',
    tag: 'hosts',
    role: 'viewer',
    status: 200,
    response: arr(HostDto),
    summary: 'All hosts with live status and metrics',
  },
  // Before getHost: the router takes the first match, and /hosts/page must not be read as a host id.
  {
    id: 'listHostPage',
    method: 'GET',
    path: '/api/v1/hosts/page',
    tag: 'hosts',
    role: 'viewer',
    status: 200,
    response: HostPageDto,
    query: ListHostPageQuery,
    summary: 'One page of the host list, filtered and sorted on the server; nextCursor fetches the next',
  },
  {
    id: 'getHost',
    method: 'GET',
    path: '/api/v1/hosts/:id',
    tag: 'hosts',
    role: 'viewer',
    status: 200,
    response: HostDto,
    summary: 'One host',
  },
  {
    id: 'probeHost',
    method: 'POST',
    path: '/api/v1/hosts/probe',
    tag: 'hosts',
    role: 'admin',
    body: ProbeHostDto,
    status: 200,
    response: HostProbeDto,
    summary: "Step 1 of adding a host: TLS handshake, returns the agent's certificate fingerprint to confirm",
  },
  {
    id: 'addHost',
    method: 'POST',
    path: '/api/v1/hosts',
    tag: 'hosts',
    role: 'admin',
    body: AddHostDto,
    status: 201,
    response: HostDto,
    summary:
      'Step 2: join with the one-time token; the confirmed fingerprint is pinned. 409 if the certificate changed, 403 wrong token',
  },
  {
    id: 'updateHost',
    method: 'PATCH',
    path: '/api/v1/hosts/:id',
    tag: 'hosts',
    role: 'admin',
    body: UpdateHostDto,
    status: 200,
    response: HostDto,
    summary: 'Rename, move to a cluster, maintenance mode',
  },
  {
    id: 'removeHost',
    method: 'DELETE',
    path: '/api/v1/hosts/:id',
    tag: 'hosts',
    role: 'admin',
    status: 200,
    response: RemovedHostDto,
    summary: 'Forget a host (its VMs keep running there); its agent is told to leave this vDC, best effort',
  },
  {
    id: 'listClusters',
    method: 'GET',
    path: '/api/v1/clusters',
    tag: 'clusters',
    role: 'viewer',
    status: 200,
    response: arr(ClusterDto),
    summary: 'All clusters',
  },
  {
    id: 'getCluster',
    method: 'GET',
    path: '/api/v1/clusters/:id',
    tag: 'clusters',
    role: 'viewer',
    status: 200,
    response: ClusterDto,
    summary: 'One cluster',
  },
  {
    id: 'createCluster',
    method: 'POST',
    path: '/api/v1/clusters',
    tag: 'clusters',
    role: 'admin',
    body: CreateClusterDto,
    status: 201,
    response: ClusterDto,
    summary: 'Create a cluster (optionally with hosts)',
  },
  {
    id: 'updateCluster',
    method: 'PATCH',
    path: '/api/v1/clusters/:id',
    tag: 'clusters',
    role: 'admin',
    body: UpdateClusterDto,
    status: 200,
    response: ClusterDto,
    summary: 'Rename; hostIds replaces the member list',
  },
  {
    id: 'deleteCluster',
    method: 'DELETE',
    path: '/api/v1/clusters/:id',
    tag: 'clusters',
    role: 'admin',
    status: 204,
    summary: 'Delete a cluster (hosts stay, unassigned); 409 while it has cluster networks',
  },
  {
    id: 'getPlacement',
    method: 'GET',
    path: '/api/v1/clusters/:id/placement',
    tag: 'clusters',
    role: 'viewer',
    query: PlacementQuery,
    status: 200,
    response: PlacementDto,
    summary: 'Which host a new VM on pool X would go to, and why the others not',
  },
  {
    id: 'getHostMetricsHistory',
    method: 'GET',
    path: '/api/v1/hosts/:id/metrics/history',
    tag: 'hosts',
    role: 'viewer',
    query: MetricsHistoryQuery,
    status: 200,
    response: HostMetricsHistoryDto,
    summary: 'CPU, memory and network history: range=1h (5 s steps), 1d (1 min) or 1y (30 min)',
  },
  {
    id: 'createShellTicket',
    method: 'POST',
    path: '/api/v1/hosts/:id/shell-ticket',
    tag: 'hosts',
    role: 'admin',
    status: 201,
    response: ConsoleTicketDto,
    summary: 'One-time ticket for the host shell websocket (admin only)',
  },
] as const satisfies readonly Operation[];
