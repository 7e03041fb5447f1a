// Schema versions of the db file: an older file is migrated forward on open (and written back);
// a file from a newer server, or one without a usable version, is refused with a sentence that
// names the file, and left byte for byte as it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Db, SCHEMA_VERSION } from './db.js';

async function dataDirWith(t: { after(fn: () => Promise<void>): void }, content: unknown): Promise<{ dir: string; file: string; text: string }> {
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
  users: [{ id: 'u1', username: 'admin', passwordHash: 'scrypt$x', role: 'admin', disabled: false, createdAt: '2024-01-01T00:00:00.000Z', lastLoginAt: null }],
  sessions: [],
  tokens: [
    { id: 't1', name: 'forever', userId: 'u1', role: 'viewer', secretHash: 'h1', prefix: 'qxt_a', createdAt: '2024-01-01T00:00:00.000Z', expiresAt: null, lastUsedAt: null },
    { id: 't2', name: 'dated', userId: 'u1', role: 'viewer', secretHash: 'h2', prefix: 'qxt_b', createdAt: '2024-01-01T00:00:00.000Z', expiresAt: '2030-01-01T00:00:00.000Z', lastUsedAt: null },
  ],
  hosts: [],
  clusters: [{ id: 'c1', name: 'prod', createdAt: '2024-01-01T00:00:00.000Z' }],
  clusterNetworks: [
    { clusterId: 'c1', name: 'lan', spec: { name: 'lan', kind: 'nat', subnet: '10.1.0.0/24' }, createdAt: '', hosts: [] },
    { clusterId: 'gone', name: 'orphan', spec: { name: 'orphan', kind: 'nat', subnet: '10.2.0.0/24' }, createdAt: '', hosts: [] },
  ],
  templates: [],
  tasks: [],
  audit: [],
};

test('qxt-srv db: a schema 1 file is migrated to the current schema', async (t) => {
  const { dir, file } = await dataDirWith(t, version1);
  const db = await Db.open(dir);
  assert.equal(SCHEMA_VERSION, 2);
  assert.equal(db.data.schemaVersion, SCHEMA_VERSION);
  assert.deepEqual(
    db.data.clusterNetworks.map((n) => `${n.clusterId}/${n.name}`),
    ['c1/lan'],
    'cluster networks are part of the schema; those of deleted clusters are dropped',
  );
  const forever = db.data.tokens.find((t) => t.id === 't1')!;
  const inAYear = Date.now() + 365 * 86_400_000;
  assert.ok(Math.abs(Date.parse(forever.expiresAt) - inAYear) < 60_000, `never-expiring token now expires in a year (${forever.expiresAt})`);
  assert.equal(db.data.tokens.find((t) => t.id === 't2')!.expiresAt, '2030-01-01T00:00:00.000Z', 'a token with an expiry keeps it');
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
  await assert.rejects(Db.open(dir), (e: Error) => e.message.startsWith(`${file}: schemaVersion "two" is not a version number`));
  assert.equal(await readFile(file, 'utf8'), text);
});
