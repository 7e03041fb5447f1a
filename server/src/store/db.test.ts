// Schema versions of the db file: an older file is migrated forward on open (and written back;
// schema 3 moves audit and tasks into the history logs); a file from a newer server, or one
// without a usable version, is refused with a sentence that names the file, and left byte for
// byte as it was. An empty, torn or missing file is replaced by its last good copy, loudly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Db, SCHEMA_VERSION } from './db.js';
import { AuditRepo, importHistory, TaskRepo } from './log-repo.js';
import type { AuditRecord, TaskRecord } from './records.js';

async function dataDirWith(
  t: { after(fn: () => Promise<void>): void },
  content: unknown,
): Promise<{ dir: string; file: string; text: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-srv-db-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'quantix.db.json');
  const text = JSON.stringify(content);
  await writeFile(file, text);
  return { dir, file, text };
}

/** A file as schema 1 wrote it: cluster networks stored off-schema, a token that never expires. */
const version1 = {
  schemaVersion: 1,
  vdc: null,
  users: [
    {
      id: 'u1',
      username: 'admin',
      passwordHash: 'scrypt$x',
      role: 'admin',
      disabled: false,
      createdAt: '2024-01-01T00:00:00.000Z',
      lastLoginAt: null,
    },
  ],
  sessions: [],
  tokens: [
    {
      id: 't1',
      name: 'forever',
      userId: 'u1',
      role: 'viewer',
      secretHash: 'h1',
      prefix: 'qxt_a',
      createdAt: '2024-01-01T00:00:00.000Z',
      expiresAt: null,
      lastUsedAt: null,
    },
    {
      id: 't2',
      name: 'dated',
      userId: 'u1',
      role: 'viewer',
      secretHash: 'h2',
      prefix: 'qxt_b',
      createdAt: '2024-01-01T00:00:00.000Z',
      expiresAt: '2030-01-01T00:00:00.000Z',
      lastUsedAt: null,
    },
  ],
  hosts: [],
  clusters: [{ id: 'c1', name: 'prod', createdAt: '2024-01-01T00:00:00.000Z' }],
  clusterNetworks: [
    {
      clusterId: 'c1',
      name: 'lan',
      spec: { name: 'lan', kind: 'nat', subnet: '10.1.0.0/24' },
      createdAt: '',
      hosts: [],
    },
    {
      clusterId: 'gone',
      name: 'orphan',
      spec: { name: 'orphan', kind: 'nat', subnet: '10.2.0.0/24' },
      createdAt: '',
      hosts: [],
    },
  ],
  templates: [],
  tasks: [],
  audit: [],
};

test('qxt-srv db: a schema 1 file is migrated to the current schema', async (t) => {
  const { dir, file } = await dataDirWith(t, version1);
  const db = await Db.open(dir);
  assert.equal(SCHEMA_VERSION, 6);
  assert.deepEqual(db.data.backupTargets, [], 'no backup target is made by the migration');
  assert.deepEqual(db.data.backupSchedules, [], 'no backup schedule is made by the migration');
  assert.equal(db.data.schemaVersion, SCHEMA_VERSION);
  assert.deepEqual(db.data.notifications, { webhooks: [] }, 'no webhook is configured by the migration');
  assert.deepEqual(
    db.data.clusterNetworks.map((n) => `${n.clusterId}/${n.name}`),
    ['c1/lan'],
    'cluster networks are part of the schema; those of deleted clusters are dropped',
  );
  const forever = db.data.tokens.find((t) => t.id === 't1')!;
  const inAYear = Date.now() + 365 * 86_400_000;
  assert.ok(
    Math.abs(Date.parse(forever.expiresAt) - inAYear) < 60_000,
    `never-expiring token now expires in a year (${forever.expiresAt})`,
  );
  assert.equal(
    db.data.tokens.find((t) => t.id === 't2')!.expiresAt,
    '2030-01-01T00:00:00.000Z',
    'a token with an expiry keeps it',
  );
  assert.equal(db.data.users[0]!.username, 'admin', 'other data is kept');

  const onDisk = JSON.parse(await readFile(file, 'utf8')) as { schemaVersion: number; clusterNetworks: unknown[] };
  assert.equal(onDisk.schemaVersion, SCHEMA_VERSION, 'the migrated file is written back');
  assert.equal(onDisk.clusterNetworks.length, 1);
});

test('qxt-srv db: a fresh data dir starts at the current schema with every collection', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-srv-db-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const db = await Db.open(dir);
  assert.equal(db.data.schemaVersion, SCHEMA_VERSION);
  assert.deepEqual(db.data.clusterNetworks, []);
});

test('qxt-srv db: while the configuration moves into etcd, writes are refused with a 503 and only the flush for the move lands', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-srv-db-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const db = await Db.open(dir);
  const file = join(dir, 'quantix.db.json');
  db.unavailable = 'moving onto an etcd control plane';
  db.data.clusterNetworks.push({ name: 'late' } as (typeof db.data.clusterNetworks)[number]);
  // A change made after the copy was acknowledged, then lost, when write() still wrote the file.
  await assert.rejects(db.write(), (e: Error & { status?: number }) => {
    assert.equal(e.status, 503);
    assert.match(e.message, /cannot be changed now: moving onto an etcd control plane/);
    return true;
  });
  assert.doesNotMatch(await readFile(file, 'utf8'), /"late"/, 'the refused change is not in the file');
  await db.flush();
  assert.match(await readFile(file, 'utf8'), /"late"/, 'the move itself writes the state it copies');
});

test('qxt-srv db: a file from a newer server is refused and left untouched', async (t) => {
  const newer = { ...version1, schemaVersion: SCHEMA_VERSION + 1, somethingNew: [{ id: 'x' }] };
  const { dir, file, text } = await dataDirWith(t, newer);
  await assert.rejects(Db.open(dir), (e: Error) => {
    assert.equal(
      e.message,
      `${file}: schema version ${SCHEMA_VERSION + 1} is newer than this server supports (${SCHEMA_VERSION}); ` +
        'run the newer server, or restore a backup made by this version; the file was left unchanged',
    );
    return true;
  });
  assert.equal(await readFile(file, 'utf8'), text, 'not a byte changed');
});

test('qxt-srv db: a file whose schemaVersion is not a number is refused and left untouched', async (t) => {
  const { dir, file, text } = await dataDirWith(t, { ...version1, schemaVersion: 'two' });
  await assert.rejects(Db.open(dir), (e: Error) =>
    e.message.startsWith(`${file}: schemaVersion "two" is not a version number`),
  );
  assert.equal(await readFile(file, 'utf8'), text);
});

const auditRow = (i: number): AuditRecord => ({
  id: `a${i}`,
  at: '2024-01-01T00:00:00.000Z',
  user: 'admin',
  action: 'createCluster',
  method: 'POST',
  path: '/api/v1/clusters',
  target: '',
  result: 'ok',
  status: 201,
  detail: '',
  remote: '127.0.0.1',
});
const taskRow = (i: number, status: TaskRecord['status']): TaskRecord => ({
  id: `t${i}`,
  kind: 'vm.create',
  target: { type: 'vm', id: `v${i}`, name: `vm${i}` },
  hostId: null,
  status,
  progress: null,
  phase: '',
  log: [],
  error: null,
  result: null,
  user: 'admin',
  createdAt: '2024-01-01T00:00:00.000Z',
  finishedAt: null,
});

test('qxt-srv db: schema 3 moves every audit entry and task out of the file into the history logs', async (t) => {
  const audit = Array.from({ length: 5_000 }, (_, i) => auditRow(i));
  const tasks = Array.from({ length: 300 }, (_, i) => taskRow(i, i === 299 ? 'running' : 'succeeded'));
  const { dir, file } = await dataDirWith(t, { ...version1, schemaVersion: 2, clusterNetworks: [], audit, tasks });
  // A move interrupted after some rows reached the log: they are not appended twice.
  await importHistory(dir, { audit: audit.slice(0, 100), tasks: [] });

  const db = await Db.open(dir);
  assert.equal(db.data.schemaVersion, SCHEMA_VERSION);
  const onDisk = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  assert.equal(onDisk.schemaVersion, SCHEMA_VERSION);
  assert.ok(!('audit' in onDisk) && !('tasks' in onDisk), 'the db file keeps only the configuration');

  const auditRepo = await AuditRepo.open(dir);
  t.after(() => auditRepo.close());
  const ids: string[] = [];
  for (
    let before: string | undefined, page;
    (page = await auditRepo.page(1000, before)).length;
    before = page.at(-1)!.id
  ) {
    ids.push(...page.map((e) => e.id));
  }
  assert.deepEqual(ids, audit.map((e) => e.id).reverse(), 'every entry once, newest first, paged with "before"');
  const taskRepo = await TaskRepo.open(dir);
  t.after(() => taskRepo.close());
  assert.deepEqual(
    taskRepo.list().map((x) => x.id),
    tasks.map((x) => x.id),
  );
  assert.equal(taskRepo.byId('t299')!.status, 'running', 'as it was stored (the task service fails it at start)');
});

for (const [damage, how] of [
  ['truncated', (file: string) => readFile(file).then((b) => truncate(file, Math.floor(b.length / 2)))],
  ['emptied', (file: string) => writeFile(file, '')],
  ['deleted', (file: string) => rm(file)],
] as const) {
  test(`qxt-srv db: a ${damage} file is replaced by the last good copy and reported, the damaged one kept aside`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'qxt-srv-db-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'quantix.db.json');
    const db = await Db.open(dir);
    assert.equal(db.problem, undefined);
    db.data.clusters.push({ id: 'c1', name: 'kept', createdAt: '' });
    await db.write();
    await how(file);

    const again = await Db.open(dir);
    assert.deepEqual(
      again.data.clusters.map((c) => c.name),
      ['kept'],
      'the last write survives in the last good copy',
    );
    assert.match(
      again.problem ?? '',
      new RegExp(
        `^${file} (is empty|is not valid JSON|is missing).*started from the last good copy ${file}\\.last-good`,
      ),
    );
    const aside = (await readdir(dir)).filter((f) => f.startsWith('quantix.db.json.corrupt-'));
    assert.equal(
      aside.length,
      damage === 'deleted' ? 0 : 1,
      `the damaged file is kept for inspection (${aside.join(', ')})`,
    );
    assert.deepEqual(
      (JSON.parse(await readFile(file, 'utf8')) as { clusters: unknown[] }).clusters.length,
      1,
      'the good data is written back',
    );
    assert.equal((await Db.open(dir)).problem, undefined, 'the next start is clean');
  });
}

test('qxt-srv db: a torn file without a usable last good copy starts empty, reported', async (t) => {
  const { dir, file } = await dataDirWith(t, version1);
  await truncate(file, 20);
  const db = await Db.open(dir);
  assert.deepEqual(db.data.users, []);
  assert.match(
    db.problem ?? '',
    /is not valid JSON.*last good copy .* is missing: started with an empty configuration/,
  );
});
