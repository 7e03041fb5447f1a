// The server's configuration: one lowdb JSON file (<dataDir>/quantix.db.json) written durably
// by DbFile (fsync, last good copy, recovery at start), with a schema version and forward
// migrations on load. History (audit, tasks) lives in append-only logs (log-repo.ts).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { unavailable } from '../errors.js';
import type { AuditRecord, DbData, TaskRecord } from './records.js';
import { DbFile } from './db-file.js';
import type { ConfigStore } from './config-store.js';
import { importHistory } from './log-repo.js';

export const SCHEMA_VERSION = 6;

/** Migrations from version N-1 to N, applied in order to older files. */
const migrations: Record<number, (data: Record<string, unknown>, dataDir: string) => void | Promise<void>> = {
  1: (data) => {
    for (const key of ['users', 'sessions', 'tokens', 'hosts', 'clusters', 'templates', 'tasks', 'audit']) {
      data[key] ??= [];
    }
    data.vdc ??= null;
  },
  2: (data) => {
    // Cluster networks were added to the file on first use, outside the schema; records of
    // clusters deleted meanwhile are dropped (nothing could reach them any more).
    const clusters = new Set((data.clusters as { id: string }[]).map((c) => c.id));
    data.clusterNetworks = ((data.clusterNetworks ?? []) as { clusterId: string }[]).filter((n) =>
      clusters.has(n.clusterId),
    );
    // API tokens always expire from now on: never-expiring ones get a year (the new maximum).
    const inAYear = new Date(Date.now() + 365 * 86_400_000).toISOString();
    for (const t of data.tokens as { expiresAt: string | null }[]) t.expiresAt ??= inAYear;
  },
  3: async (data, dataDir) => {
    // Audit entries and tasks move to append-only logs; the file keeps only the configuration.
    await importHistory(dataDir, {
      audit: (data.audit ?? []) as AuditRecord[],
      tasks: (data.tasks ?? []) as TaskRecord[],
    });
    delete data.audit;
    delete data.tasks;
  },
  4: (data) => {
    // Webhook notifications of events (none configured).
    data.notifications ??= { webhooks: [] };
  },
  5: (data) => {
    // Backup schedules (#24; none yet).
    data.backupSchedules ??= [];
  },
  6: (data) => {
    // NFS backup targets (#24; none yet).
    data.backupTargets ??= [];
  },
};

/** The configuration of a vDC never set up (schema version 0 until written). */
export function emptyDb(): DbData {
  return {
    schemaVersion: 0,
    vdc: null,
    users: [],
    sessions: [],
    tokens: [],
    hosts: [],
    clusters: [],
    clusterNetworks: [],
    templates: [],
    backupSchedules: [],
    backupTargets: [],
    notifications: { webhooks: [] },
  };
}

/** Brings configuration data written at schema version `from` to SCHEMA_VERSION, in place. */
export async function migrateConfig(data: Record<string, unknown>, from: number, dataDir: string): Promise<void> {
  for (let v = from + 1; v <= SCHEMA_VERSION; v++) await migrations[v]!(data, dataDir);
}

/** The embedded store: the configuration in this server's lowdb file. */
export class Db implements ConfigStore {
  readonly kind = 'embedded';
  /**
   * A single file never loses quorum; set only while this configuration moves into etcd
   * (services/controlplane-service.ts), when changes are refused.
   */
  unavailable: string | undefined = undefined;

  private constructor(
    private readonly low: Low<DbData>,
    private readonly file: DbFile<DbData>,
  ) {}

  /** What was wrong with the file at start (it was replaced by its last good copy), if anything. */
  get problem(): string | undefined {
    return this.file.problem;
  }

  get data(): DbData {
    return this.low.data;
  }

  /**
   * Persists the current state; resolves once the file on disk (and its last good copy) holds it.
   * Refused (503) while the configuration moves into etcd: a change written to this file after the
   * copy would be acknowledged and then lost.
   */
  write(): Promise<void> {
    if (this.unavailable) {
      return Promise.reject(unavailable(`the configuration cannot be changed now: ${this.unavailable}`));
    }
    return this.low.write();
  }

  /** Persists the current state even while changes are refused: the state that moves into etcd. */
  flush(): Promise<void> {
    return this.low.write();
  }

  async close(): Promise<void> {}

  static async open(dataDir: string): Promise<Db> {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const path = join(dataDir, 'quantix.db.json');
    const file = new DbFile<DbData>(path);
    const low = new Low<DbData>(file, emptyDb());
    await low.read();
    const data = low.data as unknown as Record<string, unknown>;
    const from = Number(data.schemaVersion ?? 0);
    // Refused without writing: the file stays as it is for the server version that wrote it.
    if (!Number.isInteger(from) || from < 0) {
      throw new Error(
        `${path}: schemaVersion ${JSON.stringify(data.schemaVersion)} is not a version number; the file was left unchanged`,
      );
    }
    if (from > SCHEMA_VERSION) {
      throw new Error(
        `${path}: schema version ${from} is newer than this server supports (${SCHEMA_VERSION}); ` +
          'run the newer server, or restore a backup made by this version; the file was left unchanged',
      );
    }
    await migrateConfig(data, from, dataDir);
    if (from !== SCHEMA_VERSION || file.problem) {
      data.schemaVersion = SCHEMA_VERSION;
      await low.write();
    }
    await file.keepAsLastGood(low.data);
    return new Db(low, file);
  }
}
