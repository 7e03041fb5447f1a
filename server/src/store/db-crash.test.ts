// kill -9 the real server while it writes: the db file still parses and holds every write the
// server acknowledged (201) before it died.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../test-support/api-client.js';
import { freePort, listening, spawnNode } from '../test-support/spawn.js';
import { ADMIN_PASSWORD } from '../test-support/test-server.js';
import { SCHEMA_VERSION } from './db.js';

test('qxt-srv db: kill -9 during writes loses no acknowledged write', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'qxt-srv-crash-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const server = await spawnNode(
    'server/src/main.ts',
    {
      QX_SERVER_DATA_DIR: dataDir,
      QX_SERVER_LISTEN: `127.0.0.1:${port}`,
      QX_ADMIN_PASSWORD: ADMIN_PASSWORD,
      QX_LOG: 'silent',
    },
    async () => existsSync(join(dataDir, 'tls/self-signed.crt')) && (await listening(port)),
  );
  t.after(() => server.kill('SIGKILL'));
  const api = new ApiClient(`https://127.0.0.1:${port}`, await readFile(join(dataDir, 'tls/self-signed.crt'), 'utf8'));
  assert.equal((await api.login('admin', ADMIN_PASSWORD)).status, 200);

  const acked: string[] = [];
  let stop = false;
  const writer = async (w: number) => {
    for (let i = 0; !stop; i++) {
      const name = `qxt-srv-${w}-${i}`;
      try {
        const r = await api.request('POST', '/api/v1/clusters', { body: { name } });
        if (r.status === 201) acked.push(name);
      } catch {
        return;
      }
    }
  };
  const writers = [0, 1, 2, 3].map(writer);
  await new Promise((r) => setTimeout(r, 1_500));
  server.proc.kill('SIGKILL');
  stop = true;
  await Promise.all(writers);
  await new Promise((r) =>
    server.proc.exitCode !== null || server.proc.signalCode ? r(undefined) : server.proc.once('exit', r),
  );

  assert.ok(acked.length > 10, `some writes were acknowledged (${acked.length})`);
  const db = JSON.parse(await readFile(join(dataDir, 'quantix.db.json'), 'utf8')) as {
    schemaVersion: number;
    clusters: { name: string }[];
  };
  assert.equal(db.schemaVersion, SCHEMA_VERSION);
  const stored = new Set(db.clusters.map((c) => c.name));
  const missing = acked.filter((n) => !stored.has(n));
  assert.deepEqual(missing, [], `${missing.length} of ${acked.length} acknowledged writes missing`);
});
