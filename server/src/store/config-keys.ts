// The configuration (DbData) as etcd keys: one key per record (/quantix/config/<collection>/<id>)
// and per singleton (/quantix/config/<name>), so that two servers changing different records never
// conflict and a compare-and-set guards each record. Pure: no I/O.
import { emptyDb } from './db.js';
import type { DbData } from './records.js';

export const CONFIG_PREFIX = '/quantix/config/';

type Collection =
  | 'users'
  | 'sessions'
  | 'tokens'
  | 'hosts'
  | 'clusters'
  | 'clusterNetworks'
  | 'templates'
  | 'backupSchedules'
  | 'backupTargets';
type Singleton = 'schemaVersion' | 'vdc' | 'notifications';

/** Each collection's record identity (the last path segment of its key). */
const COLLECTIONS: Record<Collection, (r: never) => string> = {
  users: (r: { id: string }) => r.id,
  sessions: (r: { idHash: string }) => r.idHash,
  tokens: (r: { id: string }) => r.id,
  hosts: (r: { id: string }) => r.id,
  clusters: (r: { id: string }) => r.id,
  clusterNetworks: (r: { clusterId: string; name: string }) => `${r.clusterId}/${r.name}`,
  templates: (r: { id: string }) => r.id,
  backupSchedules: (r: { id: string }) => r.id,
  backupTargets: (r: { id: string }) => r.id,
};
const SINGLETONS: Singleton[] = ['schemaVersion', 'vdc', 'notifications'];
/**
 * Names that must stay unique across servers: each is also a key (/quantix/config/unique/<collection>/<name>)
 * created only where absent, so two servers creating the same name at once cannot both commit.
 */
const UNIQUE: Partial<Record<Collection, (r: never) => string>> = {
  users: (r: { username: string }) => r.username,
  clusters: (r: { name: string }) => r.name,
  templates: (r: { name: string }) => r.name,
  backupTargets: (r: { name: string }) => r.name,
};
const UNIQUE_PREFIX = `${CONFIG_PREFIX}unique/`;

function recordKey(collection: Collection, record: unknown): string {
  return `${CONFIG_PREFIX}${collection}/${encodeURIComponent(COLLECTIONS[collection](record as never))}`;
}

/** Every key of `data` with its value as JSON. */
export function flattenConfig(data: DbData): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of SINGLETONS) out.set(CONFIG_PREFIX + name, JSON.stringify(data[name]));
  for (const c of Object.keys(COLLECTIONS) as Collection[]) {
    const unique = UNIQUE[c];
    const owners = new Map<string, string[]>();
    for (const r of data[c]) {
      const key = recordKey(c, r);
      out.set(key, JSON.stringify(r));
      if (!unique) continue;
      const nameKey = `${UNIQUE_PREFIX}${c}/${encodeURIComponent(unique(r as never))}`;
      owners.set(nameKey, [...(owners.get(nameKey) ?? []), key]);
    }
    // A name held by two records (another server's arrived while ours waited) is never the value committed.
    for (const [nameKey, keys] of owners) out.set(nameKey, JSON.stringify(keys.length === 1 ? keys[0] : keys.sort()));
  }
  return out;
}

/** Rebuilds the configuration from its keys (the inverse of flattenConfig; order by key). */
export function unflattenConfig(entries: Map<string, string>): DbData {
  const data = emptyDb();
  for (const [key, json] of [...entries].sort(([a], [b]) => (a < b ? -1 : 1))) applyKey(data, key, json);
  return data;
}

/** A key for a conflict message: `clusters/c2`, or `the cluster name "prod"` for a unique name. */
export function describeKey(key: string): string {
  const rest = key.slice(CONFIG_PREFIX.length);
  if (!key.startsWith(UNIQUE_PREFIX)) return rest;
  const [c, name] = key.slice(UNIQUE_PREFIX.length).split('/');
  return `the ${c!.replace(/s$/, '')} name "${decodeURIComponent(name ?? '')}"`;
}

/**
 * Applies one key's new value (undefined: deleted) to `data` in place: a singleton is set, a
 * record replaces the one with its identity (or is added), a deleted record is removed.
 * Unique-name keys and unknown keys (a newer server's) are ignored.
 */
export function applyKey(data: DbData, key: string, json: string | undefined): void {
  if (!key.startsWith(CONFIG_PREFIX)) return;
  const rest = key.slice(CONFIG_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash < 0) {
    if (!SINGLETONS.includes(rest as Singleton)) return;
    const d = data as unknown as Record<string, unknown>;
    d[rest] = json === undefined ? emptyDb()[rest as Singleton] : JSON.parse(json);
    return;
  }
  const c = rest.slice(0, slash) as Collection;
  if (!(c in COLLECTIONS)) return;
  const list = data[c] as unknown[];
  const at = list.findIndex((r) => recordKey(c, r) === key);
  if (json === undefined) {
    if (at >= 0) list.splice(at, 1);
  } else if (at >= 0) list[at] = JSON.parse(json);
  else list.push(JSON.parse(json));
}

/** The id of the `collection` record a key names (e.g. a host's from /quantix/config/hosts/<id>). */
export function recordIdOf(key: string, collection: Collection): string | undefined {
  const prefix = `${CONFIG_PREFIX}${collection}/`;
  return key.startsWith(prefix) ? decodeURIComponent(key.slice(prefix.length)) : undefined;
}

export function isUniqueKey(key: string): boolean {
  return key.startsWith(UNIQUE_PREFIX);
}

/**
 * Three-way merge of one key's JSON (null: absent): `base` as this server last saw it, `ours` as
 * it is in memory, `theirs` as another server committed it (result null: absent). Records merge field by field when
 * the two sides changed different fields; undefined when they changed the same one differently,
 * or one created or removed what the other changed.
 */
export function mergeRecord(
  base: string | null,
  ours: string | null,
  theirs: string | null,
): string | null | undefined {
  if (ours === theirs) return ours;
  if (ours === base) return theirs;
  if (base === null || ours === null || theirs === null) return undefined;
  const [b, o, t] = [base, ours, theirs].map((j) => JSON.parse(j) as unknown);
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(b) || !isObject(o) || !isObject(t)) return undefined;
  const out: Record<string, unknown> = {};
  for (const field of new Set([...Object.keys(t), ...Object.keys(o)])) {
    const [bf, of, tf] = [b[field], o[field], t[field]].map((v) => JSON.stringify(v));
    if (of === bf) {
      if (field in t) out[field] = t[field];
    } else if (tf === bf || tf === of) {
      if (field in o) out[field] = o[field];
    } else return undefined;
  }
  return JSON.stringify(out);
}
