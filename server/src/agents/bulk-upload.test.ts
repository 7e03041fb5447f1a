// Uploads to the local host take the fast path (#26): the bytes go plain over the agent's private
// bulk socket (0600 beside its gRPC socket) and land exactly; a body the agent refuses answers the
// PUT with the agent's reason and leaves nothing in the pool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { startLocalSocketStack } from '../test-support/local-socket-stack.js';

const MiB = 2 ** 20;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('qxt-srv uploads to the local host go over its bulk socket', async (t) => {
  const { agentDir, poolDir, poolName, s, host } = await startLocalSocketStack(t, 'bulk');
  assert.equal((await stat(join(agentDir, 'local', 'bulk.sock'))).mode & 0o777, 0o600, 'the bulk socket is private');
  const api = s.admin;
  const uploads = `/api/v1/hosts/${host.id}/pools/${poolName}/uploads`;

  // 24 MiB + 512 of random bytes in odd chunks: the volume holds exactly them.
  const data = randomBytes(24 * MiB + 512);
  const parts = function* () {
    for (let i = 0; i < data.length; i += 1_000_003) yield data.subarray(i, i + 1_000_003);
  };
  const ok = await api.upload(
    uploads,
    { name: 'fast.img', format: 'raw', sizeBytes: data.length },
    Readable.from(parts()),
  );
  assert.equal(ok.reply.status, 200, ok.reply.text);
  assert.equal(ok.reply.json.status, 'succeeded');
  assert.equal(sha(await readFile(join(poolDir, 'fast.img'))), sha(data), 'the volume holds the uploaded bytes');

  // Declared qcow2, sent raw: the agent's refusal is the PUT's answer and the task's error.
  const wrong = await api.upload(
    uploads,
    { name: 'wrong.img', format: 'qcow2', sizeBytes: 4 * MiB },
    Readable.from([Buffer.alloc(4 * MiB, 1)]),
  );
  assert.ok(wrong.reply.status >= 400, `${wrong.reply.status} ${wrong.reply.text}`);
  assert.match(wrong.reply.text, /qcow2/);
  assert.deepEqual(
    (await readdir(poolDir)).filter((n) => !n.startsWith('.qx-volume')),
    ['fast.img'],
    'only the good upload is in the pool',
  );
});
