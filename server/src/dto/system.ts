// System: health, OpenAPI, Prometheus metrics, the live event stream, audit log, the HTTPS
// certificate, the host-shell ticket; and the websocket endpoints (console, shell).
import { arr, bool, int, named, obj, oneOf, str } from '../schema/schema.js';
import type { Infer } from '../schema/schema.js';
import type { Operation, SocketEndpoint } from './operation.js';
import { HealthDto, LimitQuery, timestamp } from './common.js';

export const AuditEntryDto = named(
  'AuditEntryDto',
  obj({
    id: str(),
    at: timestamp(),
    user: str({
      description: 'username, "<username>/token:<name>" for API tokens, "system" for the server itself, or "-"',
    }),
    action: str({
      description:
        'operationId, e.g. startVm; recoverConfiguration: the server found its configuration file damaged at start and used the last good copy (detail says what)',
    }),
    method: str(),
    path: str({ description: 'request path; this and the other text fields are cut to 512 characters' }),
    target: str(),
    result: oneOf(['ok', 'error'] as const),
    status: int(),
    detail: str({ description: 'error message when result=error' }),
    remote: str(),
  }),
);
export type AuditEntryDto = Infer<typeof AuditEntryDto>;

export const CertificateDto = named(
  'CertificateDto',
  obj({
    subject: str(),
    issuer: str(),
    fingerprint: str(),
    validFrom: str(),
    validTo: str(),
    names: arr(str(), { description: 'subject alternative names' }),
    selfSigned: bool(),
    source: oneOf(['generated', 'installed'] as const),
  }),
);
export type CertificateDto = Infer<typeof CertificateDto>;

export const InstallCertificateDto = named(
  'InstallCertificateDto',
  obj({
    certificatePem: str({ minLength: 1, maxLength: 65536, description: 'PEM, leaf first, chain may follow' }),
    privateKeyPem: str({ minLength: 1, maxLength: 16384 }),
  }),
);
export type InstallCertificateDto = Infer<typeof InstallCertificateDto>;

/** Server-sent events on /api/v1/events: `event:` name → `data:` JSON. */
export const SSE_EVENTS = {
  hello: 'sent once on connect: {serverTime}',
  task: 'TaskDto on create, progress, log line and finish',
  vm: 'VmDto when a VM changes (state, definition); {id, hostId, removed: true} when it is gone',
  host: 'HostDto when status, info or membership changes; {id, removed: true} when removed',
  'host-metrics': '{hostId, metrics: HostMetricsDto} every few seconds per host',
  'vm-metrics': '{hostId, stats: [{id, ...VmStatsDto}]} every few seconds per host',
  pool: '{hostId, pool: PoolDto} or {hostId, name, removed: true}',
  network:
    '{hostId, network: NetworkDto} when a host network is created or starts/stops; {hostId, name, removed: true}',
  template: 'TemplateDto on create/update; {id, removed: true} on delete',
  cluster: 'ClusterDto on create/update; {id, removed: true} on delete',
  'cluster-network': 'ClusterNetworkDto when it or a host status changes; {clusterId, name, removed: true} on delete',
  event: 'EventDto when an event is recorded (the events log, GET /api/v1/event-log)',
} as const;

export const systemOperations = [
  {
    id: 'getHealth',
    method: 'GET',
    path: '/api/v1/health',
    tag: 'system',
    role: 'public',
    status: 200,
    response: HealthDto,
    summary: 'Liveness',
  },
  {
    id: 'getOpenApi',
    method: 'GET',
    path: '/api/v1/openapi.json',
    tag: 'system',
    role: 'public',
    status: 200,
    summary: 'This document',
  },
  {
    id: 'downloadQxClient',
    method: 'GET',
    path: '/api/v1/cli/qx.mjs',
    tag: 'system',
    role: 'viewer',
    status: 200,
    response: 'stream',
    summary:
      'The `qx` command-line client as one file for any machine with Node 20 or later: `node qx.mjs login https://<this appliance> --token …`',
  },
  {
    id: 'getMetrics',
    method: 'GET',
    path: '/metrics',
    tag: 'system',
    role: 'viewer',
    status: 200,
    response: 'text',
    summary: 'Prometheus text format (use a Bearer token)',
  },
  {
    id: 'streamEvents',
    method: 'GET',
    path: '/api/v1/events',
    tag: 'system',
    role: 'viewer',
    status: 200,
    response: 'sse',
    summary: `Server-sent events. Names: ${Object.keys(SSE_EVENTS).join(', ')}`,
  },
  {
    id: 'listAudit',
    method: 'GET',
    path: '/api/v1/audit',
    tag: 'system',
    role: 'admin',
    query: LimitQuery,
    status: 200,
    response: arr(AuditEntryDto),
    summary:
      'Audit log of every mutation and guest-data download, newest first (requests refused without credentials are counted in /metrics instead)',
  },
  {
    id: 'getCertificate',
    method: 'GET',
    path: '/api/v1/settings/certificate',
    tag: 'system',
    role: 'viewer',
    status: 200,
    response: CertificateDto,
    summary: 'The HTTPS certificate in use',
  },
  {
    id: 'installCertificate',
    method: 'PUT',
    path: '/api/v1/settings/certificate',
    tag: 'system',
    role: 'admin',
    body: InstallCertificateDto,
    status: 200,
    response: CertificateDto,
    summary: 'Install a real certificate (takes effect for new connections at once)',
  },
] as const satisfies readonly Operation[];

const wsProtocol =
  'Binary frames carry terminal bytes both ways. Text frames are JSON control messages: client→server {"type":"resize","cols":N,"rows":N} or {"type":"data","data":"text"}; server→client {"type":"closed","reason":"…"}. Needs the session cookie, the one-time ticket (?ticket=) and an Origin equal to the server origin. Close codes: 4401 not signed in / bad ticket, 4403 forbidden, 4404 not found, 4503 host offline.';

export const socketEndpoints: SocketEndpoint[] = [
  {
    id: 'openConsole',
    path: '/api/v1/vms/:id/console',
    tag: 'vms',
    role: 'operator',
    summary: 'Serial console of a VM (websocket)',
    description: wsProtocol,
  },
  {
    id: 'openGraphics',
    path: '/api/v1/vms/:id/graphics',
    tag: 'vms',
    role: 'operator',
    summary: 'Graphical console of a VM (websocket, RFB for noVNC)',
    description:
      'Binary frames carry the RFB protocol (VNC, version 3.8, no VNC password: the ticket is the authentication) both ways, relayed to the VM\'s VNC Unix socket; server→client text frames are {"type":"closed","reason":"…"}. Needs the session cookie, the one-time ticket from createGraphicsTicket (?ticket=) and an Origin equal to the server origin. Operator and admin only, as vCenter\'s console privilege; closed when the session ends or the user is disabled or demoted.',
  },
  {
    id: 'openShell',
    path: '/api/v1/hosts/:id/shell',
    tag: 'hosts',
    role: 'admin',
    summary: 'Root shell on a host (websocket, admin only)',
    description: wsProtocol,
  },
];
