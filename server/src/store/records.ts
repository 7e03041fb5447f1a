// Stored shapes (*Record): what the server keeps in its db file and history logs. REST shapes
// live in dto/.
import type { Role } from '../dto/operation.js';
import type { EventKind, EventSeverity } from '../dto/events.js';
import type { TaskStatus } from '../dto/tasks.js';
import type { CreateNetworkDto } from '../dto/networks.js';
import type { BackupScheduleInputDto, BackupScheduleRunDto } from '../dto/backups.js';

export interface UserRecord {
  id: string;
  username: string;
  passwordHash: string;
  role: Role;
  disabled: boolean;
  createdAt: string;
  lastLoginAt: string | null;
}

export interface SessionRecord {
  /** SHA-256 of the cookie value (the cookie itself is never stored). */
  idHash: string;
  userId: string;
  csrfToken: string;
  createdAt: string;
  expiresAt: string;
}

export interface TokenRecord {
  id: string;
  name: string;
  userId: string;
  role: Role;
  secretHash: string;
  prefix: string;
  createdAt: string;
  /** Every token expires (schema 2 gave older never-expiring ones a year). */
  expiresAt: string;
  lastUsedAt: string | null;
}

export interface VdcRecord {
  id: string;
  caKeyPem: string;
  caCertPem: string;
  clientKeyPem: string;
  clientCertPem: string;
}

export interface HostRecord {
  id: string;
  name: string;
  address: string;
  local: boolean;
  /** The agent's certificate, pinned at join (fingerprint checked on every connection). */
  certificatePem: string;
  fingerprint: string;
  clusterId: string | null;
  maintenance: boolean;
  joinedAt: string;
  /** The last evacuation (services/evacuation.ts): kept so that a server restart resumes it. */
  evacuation?: EvacuationRecord;
}

export interface EvacuationRecord {
  /** The operator's choice for stopped VMs: cold-move them or leave them. */
  stoppedVms: 'move' | 'leave';
  user: string;
  taskId: string;
  /** Until the evacuation ended (finished, failed or cancelled); a restart resumes a running one. */
  running: boolean;
  /** The VM being moved when the record was written (a live move's migration id, to follow it). */
  moving?: { vmId: string; targetHostId: string; migrationId?: string };
}

export interface ClusterRecord {
  id: string;
  name: string;
  createdAt: string;
}

export interface TaskRecord {
  id: string;
  kind: string;
  target: { type: string; id: string; name: string };
  hostId: string | null;
  status: TaskStatus;
  progress: number | null;
  phase: string;
  /** Kind-specific live figures (a migration's disk/memory percent, expected downtime). */
  detail?: Record<string, number | string>;
  /** While running: POST /api/v1/tasks/:id/cancel may stop it. */
  cancellable?: boolean;
  /** What a server taking over the lead needs to follow the task to its end (TaskService.follow). */
  handover?: Record<string, unknown>;
  log: { at: string; message: string }[];
  error: string | null;
  result: unknown;
  user: string;
  createdAt: string;
  finishedAt: string | null;
}

export interface AuditRecord {
  id: string;
  at: string;
  user: string;
  action: string;
  method: string;
  path: string;
  target: string;
  result: 'ok' | 'error';
  status: number;
  detail: string;
  remote: string;
}

export interface TemplateRecord {
  id: string;
  name: string;
  description: string;
  hostId: string;
  pool: string;
  volumes: string[];
  /** The agent's suggested VmSpec, as JSON (proto VmSpec.toJSON). */
  spec: unknown;
  osType: string;
  sourceFile: string;
  sizeBytes: number;
  warnings: string[];
  createdAt: string;
}

/** The outcome of applying one cluster network on one member host. */
export interface ClusterNetworkHostRecord {
  hostId: string;
  state: 'applied' | 'failed' | 'pending';
  reason: string;
  /** Failed because the uplink carries this host's management address: applied only on a per-host confirmation. */
  needsConfirmation?: boolean;
  updatedAt: string;
}

/** A network defined once per cluster and applied to each member host as a host network. */
export interface ClusterNetworkRecord {
  clusterId: string;
  name: string;
  spec: CreateNetworkDto;
  createdAt: string;
  hosts: ClusterNetworkHostRecord[];
}

export interface DbData {
  schemaVersion: number;
  vdc: VdcRecord | null;
  users: UserRecord[];
  sessions: SessionRecord[];
  tokens: TokenRecord[];
  hosts: HostRecord[];
  clusters: ClusterRecord[];
  clusterNetworks: ClusterNetworkRecord[];
  templates: TemplateRecord[];
  backupSchedules: BackupScheduleRecord[];
  /** NFS exports as backup targets (services/backup-targets.ts). */
  backupTargets: BackupTargetRecord[];
  /** `email` is absent until an admin saves e-mail settings. */
  notifications: { webhooks: WebhookRecord[]; email?: EmailRecord };
}

/** A backup schedule (dto/backups.ts) and where its runs stand. */
export interface BackupScheduleRecord extends BackupScheduleInputDto {
  id: string;
  createdAt: string;
  /** The last due time the scheduler ran (or skipped as disabled); the next run is the first due time after it. */
  lastDueAt: string;
  lastRun: BackupScheduleRunDto | null;
}

/** An NFS export the agents mount as a backup target (proto NfsTarget; dto/backup-targets.ts). */
export interface BackupTargetRecord {
  id: string;
  kind: 'nfs';
  name: string;
  server: string;
  exportPath: string;
  version: string;
  options: string[];
  createdAt: string;
}

/** E-mail notification settings (dto/events.ts); the password never leaves the server. */
export interface EmailRecord {
  enabled: boolean;
  host: string;
  port: number;
  security: 'starttls' | 'tls' | 'none';
  username: string;
  password: string;
  from: string;
  to: string[];
  kinds: EventKind[];
  minSeverity: EventSeverity;
  caCertificatePem: string;
}

/** A webhook notified of events (dto/events.ts); the secret never leaves the server. */
export interface WebhookRecord {
  url: string;
  kinds: EventKind[];
  minSeverity: EventSeverity;
  secret: string;
}
