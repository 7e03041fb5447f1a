// The server's state: one lowdb JSON file (<dataDir>/quantix.db.json) written atomically
// (temp file + rename, via steno), with a schema version and forward migrations on load.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { DataFile } from 'lowdb/node';
import type { DbData } from './records.js';

export const SCHEMA_VERSION = 1;

/** Migrations from version N-1 to N, applied in order to older files. */
const migrations: Record<number, (data: Record<string, unknown>) => void> = {
  1: (data) => {
    for (const key of ['users', 'sessions', 'tokens', 'hosts', 'clusters', 'templates', 'tasks', 'audit']) {
      data[key] ??= [];
    }
    data.vdc ??= null;
  },
};

function emptyDb(): DbData {
  return {
    schemaVersion: 0,
    vdc: null,
    users: [],
    sessions: [],
    tokens: [],
    hosts: [],
    clusters: [],
    templates: [],
    tasks: [],
    audit: [],
  };
}

export class Db {
  private constructor(private readonly low: Low<DbData>) {}

  get data(): DbData {
    return this.low.data;
  }

  /** Persists the current state; resolves once the file on disk holds it. */
  write(): Promise<void> {
    return this.low.write();
  }

  static async open(dataDir: string): Promise<Db> {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const file = new DataFile<DbData>(join(dataDir, 'quantix.db.json'), {
      parse: (text) => JSON.parse(text) as DbData,
      stringify: (data) => JSON.stringify(data),
    });
    const low = new Low<DbData>(file, emptyDb());
    await low.read();
    const data = low.data as unknown as Record<string, unknown>;
    const from = Number(data.schemaVersion ?? 0);
    if (from > SCHEMA_VERSION) {
      throw new Error(`${join(dataDir, 'quantix.db.json')}: schema version ${from} is newer than this server (${SCHEMA_VERSION})`);
    }
    for (let v = from + 1; v <= SCHEMA_VERSION; v++) migrations[v]!(data);
    if (from !== SCHEMA_VERSION) {
      data.schemaVersion = SCHEMA_VERSION;
      await low.write();
    }
    return new Db(low);
  }
}
