// The etcd backend of the configuration store: every record is one etcd key (config-keys.ts),
// sealed with the servers' key (secret-box.ts). Reads come from memory, kept current by a watch
// on the prefix (another server's change is seen without polling); a write commits the changed
// keys in one etcd transaction guarded by their mod revisions (compare-and-set), so two servers
// editing the same record cannot overwrite each other: the second gets a 409. A probe notices a
// cluster without quorum: writes are then refused with a 503 and reads are flagged stale.
import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import { HttpError, conflict, unavailable } from '../errors.js';
import { log } from '../log.js';
import type { ConfigStore } from './config-store.js';
import { CONFIG_PREFIX, applyKey, describeKey, flattenConfig, unflattenConfig } from './config-keys.js';
import { SCHEMA_VERSION, migrateConfig } from './db.js';
import type { DbData } from './records.js';
import { SecretBox } from './secret-box.js';

/** A value sealed with the servers' key: a server with another key refuses to start. */
const KEYCHECK = '/quantix/keycheck';
/** etcd refuses transactions of more than 128 operations (--max-txn-ops). */
const MAX_TXN_OPS = 100;
/** The quorum probe runs this often. */
const PROBE_MS = 1000;

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
    clearInterval(this.probe);
    await this.running;
    // The watch may still be starting: cancel it once it exists, or the client keeps reconnecting it.
    await (await this.watching)?.cancel().catch(() => undefined);
    this.client.close();
  }

  /** Commits what changed since the last commit; a conflict reloads the configuration from etcd. */
  private async commit(): Promise<void> {
    const now = flattenConfig(this.data);
    const changes: [string, string | null][] = [];
    for (const [key, json] of now) if (this.committed.get(key)?.json !== json) changes.push([key, json]);
    for (const key of this.committed.keys()) if (!now.has(key)) changes.push([key, null]);
    for (let i = 0; i < changes.length; i += MAX_TXN_OPS) {
      const batch = changes.slice(i, i + MAX_TXN_OPS);
      await this.commitBatch(batch);
    }
  }

  private async commitBatch(batch: [string, string | null][]): Promise<void> {
    let txn: ReturnType<Etcd3['if']> | undefined;
    const expected = new Map<string, number | undefined>();
    for (const [key] of batch) {
      const c = this.committed.get(key);
      expected.set(key, c?.mod);
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
      const changed = await this.changedElsewhere(expected);
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
  }

  /** Of the keys a transaction compared, those changed in etcd since: the records first, else the names. */
  private async changedElsewhere(expected: Map<string, number | undefined>): Promise<string[]> {
    const keys = [...expected.keys()];
    const found = await Promise.all(
      keys.map(async (key) => {
        const kv = (await this.client.get(key).exec()).kvs[0];
        return (kv ? Number(kv.mod_revision) : undefined) !== expected.get(key);
      }),
    );
    const changed = keys.filter((_, i) => found[i]);
    const records = changed.filter((k) => !describeKey(k).startsWith('the '));
    return records.length ? records : changed.length ? changed : keys;
  }

  private watch(fromRevision: number): void {
    this.watching = this.client
      .watch()
      .prefix(CONFIG_PREFIX)
      .startRevision(String(fromRevision))
      .create()
      .then((w) => {
        w.on('put', (kv) => this.seen(kv, false));
        w.on('delete', (kv) => this.seen(kv, true));
        w.on('error', (err) => log.warn('etcd configuration watch failed', { error: err.message }));
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

  /** The probe: a linearizable read fails without quorum; once it succeeds again memory is reloaded. */
  private async checkQuorum(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      await this.client.get(KEYCHECK).string();
      if (this.unavailable) {
        await this.running;
        await this.reload();
        log.info('etcd answers again: configuration reloaded, writes accepted', { was: this.unavailable });
        this.unavailable = undefined;
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

  /** Replaces memory with what etcd holds (after a conflict or an outage). */
  private async reload(): Promise<void> {
    const { entries } = await readAll(this.client, this.box);
    const fresh = unflattenConfig(new Map([...entries].map(([k, c]) => [k, c.json])));
    Object.assign(this.data, fresh);
    this.committed = entries;
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
