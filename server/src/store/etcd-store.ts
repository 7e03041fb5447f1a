// The etcd backend of the configuration store: every record is one etcd key (config-keys.ts),
// sealed with the servers' key (secret-box.ts). Reads come from memory, kept current by a watch
// on the prefix (another server's change is seen without polling); a write commits the changed
// keys in one etcd transaction guarded by their mod revisions (compare-and-set), so two servers
// editing the same record cannot overwrite each other: the second gets a 409. A probe notices a
// cluster without quorum: writes are then refused with a 503 and reads are flagged stale. A watch
// that cannot resume (etcd compacted the history it missed while cut off) is replaced by a reload
// and a new watch; every change of another server, however it arrives, reaches onRemoteChange.
import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import { HttpError, conflict, unavailable } from '../errors.js';
import { log } from '../log.js';
import type { ConfigStore } from './config-store.js';
import {
  CONFIG_PREFIX,
  applyKey,
  describeKey,
  flattenConfig,
  isUniqueKey,
  mergeRecord,
  unflattenConfig,
} from './config-keys.js';
import { SCHEMA_VERSION, migrateConfig } from './db.js';
import type { DbData } from './records.js';
import { SecretBox } from './secret-box.js';

/** A value sealed with the servers' key: a server with another key refuses to start. */
const KEYCHECK = '/quantix/keycheck';
/** etcd refuses transactions of more than 128 operations (--max-txn-ops). */
const MAX_TXN_OPS = 100;
/** The quorum probe runs this often. */
const PROBE_MS = 1000;
/** A write merges with other servers' concurrent changes at most this many times before giving up (409). */
const MAX_REBASES = 3;

interface Committed {
  json: string;
  mod: number;
}

export class EtcdStore implements ConfigStore {
  readonly kind = 'etcd';
  readonly problem = undefined;
  /** Why writes are refused now (set by a failed probe or write, cleared once etcd answers again). */
  unavailable: string | undefined;
  /** Called with each key another server changed, after `data` holds the change. */
  onRemoteChange: ((key: string) => void) | undefined;
  private committed = new Map<string, Committed>();
  /** Keys of the transaction under way → their new JSON (null: deleted): its watch events are ours. */
  private readonly inflight = new Map<string, string | null>();
  private running: Promise<unknown> = Promise.resolve();
  /** Writes queued or running. */
  private pending = 0;
  private watching: Promise<Watcher | undefined> = Promise.resolve(undefined);
  /** The watch was cancelled (it fell behind a compaction): the probe reloads and watches again. */
  private watchLost = false;
  private closed = false;
  private probe: NodeJS.Timeout | undefined;
  private probing = false;

  private constructor(
    readonly client: Etcd3,
    /** Seals what this server puts in etcd (also the relayed events). */
    readonly box: SecretBox,
    readonly data: DbData,
  ) {}

  /**
   * Connects to the cluster and loads the configuration. A new cluster is given an empty one
   * (and this server's key, created in `dataDir` when missing); a cluster in use needs the key
   * file of its servers.
   */
  static async open(client: Etcd3, dataDir: string): Promise<EtcdStore> {
    const box = await unlock(client, dataDir);
    const { entries, revision } = await readAll(client, box);
    const store = new EtcdStore(client, box, unflattenConfig(new Map([...entries].map(([k, c]) => [k, c.json]))));
    store.committed = entries;
    const from = store.data.schemaVersion;
    if (from > SCHEMA_VERSION)
      throw new Error(
        `etcd holds configuration schema version ${from}, newer than this server supports (${SCHEMA_VERSION}); run the newer server`,
      );
    if (from < SCHEMA_VERSION) {
      await migrateConfig(store.data as unknown as Record<string, unknown>, from, dataDir);
      store.data.schemaVersion = SCHEMA_VERSION;
      // Another server starting on the same new cluster may have written first: its configuration is as good.
      await store.write().catch((err: unknown) => {
        if (!(err instanceof HttpError && err.status === 409 && store.data.schemaVersion === SCHEMA_VERSION)) throw err;
      });
    }
    store.watch(revision + 1);
    store.probe = setInterval(() => void store.checkQuorum(), PROBE_MS);
    store.probe.unref();
    return store;
  }

  write(): Promise<void> {
    if (this.unavailable) return Promise.reject(refused(this.unavailable));
    this.pending++;
    const next = this.running.then(() => this.commit()).finally(() => this.pending--);
    this.running = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.probe);
    await this.running;
    // The watch may still be starting: cancel it once it exists, or the client keeps reconnecting it.
    await (await this.watching)?.cancel().catch(() => undefined);
    this.client.close();
  }

  /** Commits what changed since the last commit; a conflict reloads the configuration from etcd. */
  private async commit(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const now = flattenConfig(this.data);
      const changes: [string, string | null][] = [];
      for (const [key, json] of now) if (this.committed.get(key)?.json !== json) changes.push([key, json]);
      for (const key of this.committed.keys()) if (!now.has(key)) changes.push([key, null]);
      let rebased = false;
      for (let i = 0; i < changes.length && !rebased; i += MAX_TXN_OPS) {
        rebased = await this.commitBatch(changes.slice(i, i + MAX_TXN_OPS), attempt < MAX_REBASES);
      }
      if (!rebased) return;
    }
  }

  /** Commits one batch; false when done, true when it met other servers' changes it merged with (commit again). */
  private async commitBatch(batch: [string, string | null][], mayRebase: boolean): Promise<boolean> {
    let txn: ReturnType<Etcd3['if']> | undefined;
    const expected = new Map<string, Committed | undefined>();
    for (const [key] of batch) {
      const c = this.committed.get(key);
      expected.set(key, c);
      const [column, value] = c ? (['Mod', c.mod] as const) : (['Version', 0] as const);
      txn = txn ? txn.and(key, column, '==', value) : this.client.if(key, column, '==', value);
    }
    txn!.then(
      ...batch.map(([key, json]) =>
        json === null ? this.client.delete().key(key) : this.client.put(key).value(this.box.seal(json)),
      ),
    );
    for (const [key, json] of batch) this.inflight.set(key, json);
    let res;
    try {
      res = await txn!.commit();
    } catch (err) {
      // Whether it committed is unknown: reads are stale until the configuration is reloaded.
      this.markUnavailable(err);
      throw refused(this.unavailable!);
    } finally {
      for (const [key] of batch) this.inflight.delete(key);
    }
    if (!res.succeeded) {
      const theirs = await this.changedElsewhere(expected);
      if (mayRebase && this.rebase(theirs, expected)) return true;
      const all = theirs.size ? [...theirs.keys()] : [...expected.keys()];
      const records = all.filter((k) => !isUniqueKey(k));
      const changed = records.length ? records : all;
      await this.reload();
      throw conflict(
        `${changed.map(describeKey).join(', ')} was changed through another vDC server at the same time; reload and try again`,
      );
    }
    const mod = Number(res.header.revision);
    for (const [key, json] of batch) {
      if (json === null) this.committed.delete(key);
      else this.committed.set(key, { json, mod });
    }
    return false;
  }

  /** Of the keys a transaction compared, those changed in etcd since, with their value now (null: deleted). */
  private async changedElsewhere(expected: Map<string, Committed | undefined>): Promise<Map<string, Committed | null>> {
    const out = new Map<string, Committed | null>();
    for (const [key, was] of expected) {
      const kv = (await this.client.get(key).exec()).kvs[0];
      if ((kv ? Number(kv.mod_revision) : undefined) === was?.mod) continue;
      out.set(key, kv ? { json: this.box.open(kv.value.toString(), key), mod: Number(kv.mod_revision) } : null);
    }
    return out;
  }

  /**
   * Merges other servers' changes into ours field by field (a user's last login on one server and
   * its role changed on another); false when both changed the same field or record presence.
   */
  private rebase(theirs: Map<string, Committed | null>, expected: Map<string, Committed | undefined>): boolean {
    if (!theirs.size) return false;
    const now = flattenConfig(this.data);
    const merged = new Map<string, string | null>();
    for (const [key, t] of theirs) {
      const m = mergeRecord(expected.get(key)?.json ?? null, now.get(key) ?? null, t?.json ?? null);
      if (m === undefined) return false;
      merged.set(key, m);
    }
    for (const [key, t] of theirs) {
      if (t) this.committed.set(key, t);
      else this.committed.delete(key);
      applyKey(this.data, key, merged.get(key) ?? undefined);
      // Their change is in memory now (its watch event will be skipped as known): reported here.
      this.onRemoteChange?.(key);
    }
    return true;
  }

  private watch(fromRevision: number): void {
    if (this.closed) return;
    this.watching = this.client
      .watch()
      .prefix(CONFIG_PREFIX)
      .startRevision(String(fromRevision))
      .create()
      .then((w) => {
        w.on('put', (kv) => this.seen(kv, false));
        w.on('delete', (kv) => this.seen(kv, true));
        // Only a cancelled watch errs (a broken stream reconnects and resumes by itself).
        w.on('error', (err) => {
          log.warn('etcd configuration watch cancelled: reloading the configuration', { error: err.message });
          this.watchLost = true;
        });
        return w;
      })
      .catch((err: Error) => {
        this.markUnavailable(err);
        return undefined;
      });
  }

  /** A watch event: another server's change is applied to memory; ours only advance the revision. */
  private seen(kv: IKeyValue, deleted: boolean): void {
    const key = kv.key.toString();
    const mod = Number(kv.mod_revision);
    const known = this.committed.get(key);
    if (known && known.mod >= mod) return;
    const json = deleted ? null : this.box.open(kv.value.toString(), key);
    const ours = this.inflight.has(key) && this.inflight.get(key) === json;
    // A change of this record waiting to commit is not overwritten: its compare fails (409, reload).
    if (!ours && this.pending > 0 && (flattenConfig(this.data).get(key) ?? null) !== (known?.json ?? null)) return;
    if (json === null) this.committed.delete(key);
    else this.committed.set(key, { json, mod });
    if (ours) return;
    applyKey(this.data, key, json ?? undefined);
    this.onRemoteChange?.(key);
  }

  /** Reloads memory from etcd and reports the keys that changed; a lost watch starts again after it. */
  private async resync(): Promise<void> {
    await this.running;
    const lost = this.watchLost;
    const revision = await this.reload();
    if (lost) {
      this.watchLost = false;
      this.watch(revision + 1);
    }
  }

  /** The probe: a linearizable read fails without quorum; once it succeeds again memory is reloaded. */
  private async checkQuorum(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      await this.client.get(KEYCHECK).string();
      if (this.unavailable) {
        await this.resync();
        log.info('etcd answers again: configuration reloaded, writes accepted', { was: this.unavailable });
        this.unavailable = undefined;
      } else if (this.watchLost) {
        await this.resync();
      }
    } catch (err) {
      this.markUnavailable(err);
    } finally {
      this.probing = false;
    }
  }

  private markUnavailable(err: unknown): void {
    const was = this.unavailable;
    this.unavailable = `the etcd cluster has no quorum or cannot be reached (${(err as Error).message})`;
    if (!was)
      log.error('configuration store unavailable: writes refused, reads may be stale', { reason: this.unavailable });
  }

  /**
   * Replaces memory with what etcd holds (after a conflict, an outage or a lost watch) and reports
   * each key that differs from what was committed before (the watch events of those are skipped:
   * their revisions are known now). Returns etcd's revision at the read.
   */
  private async reload(): Promise<number> {
    const { entries, revision } = await readAll(this.client, this.box);
    const fresh = unflattenConfig(new Map([...entries].map(([k, c]) => [k, c.json])));
    const before = this.committed;
    Object.assign(this.data, fresh);
    this.committed = entries;
    for (const key of new Set([...before.keys(), ...entries.keys()])) {
      if (before.get(key)?.json !== entries.get(key)?.json) this.onRemoteChange?.(key);
    }
    return revision;
  }
}

function refused(reason: string) {
  return unavailable(`the configuration cannot be changed now: ${reason}`);
}

async function readAll(client: Etcd3, box: SecretBox): Promise<{ entries: Map<string, Committed>; revision: number }> {
  const res = await client.getAll().prefix(CONFIG_PREFIX).exec();
  const entries = new Map<string, Committed>();
  for (const kv of res.kvs) {
    const key = kv.key.toString();
    entries.set(key, { json: box.open(kv.value.toString(), key), mod: Number(kv.mod_revision) });
  }
  return { entries, revision: Number(res.header.revision) };
}

/** The servers' key: created with a new cluster; otherwise it must open the cluster's key check. */
async function unlock(client: Etcd3, dataDir: string): Promise<SecretBox> {
  let box = await SecretBox.load(dataDir);
  const check = await client.get(KEYCHECK).string();
  if (check === null) {
    box ??= await SecretBox.create(dataDir);
    const res = await client
      .if(KEYCHECK, 'Version', '==', 0)
      .then(client.put(KEYCHECK).value(box.seal('quantix')))
      .commit();
    if (res.succeeded) return box;
    return unlock(client, dataDir);
  }
  if (!box)
    throw new Error(
      `etcd already holds a vDC configuration: copy ${SecretBox.path('<dataDir>').replace('<dataDir>/', '')} from one of its servers to ${SecretBox.path(dataDir)}`,
    );
  box.open(check, `${KEYCHECK} (sealed with the key of the servers that use this etcd cluster)`);
  return box;
}
