// OVA imports to the local host take the fast path (#26): the server sends the OVA plain over the
// agent's bulk socket (ImportOvaLocal) instead of in gRPC messages. A streamOptimized OVA becomes a
// template whose disk holds exactly the exported disk's contents; a cut-off OVA answers the upload
// with the agent's reason and leaves nothing in the pool; a client that goes away mid-body fails
// the task and leaves nothing either.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, openSync, writeSync, closeSync } from 'node:fs';
import { readFile, readdir, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { promisify } from 'node:util';
import type { TaskDto } from '../../server/src/dto/tasks.js';
import type { TemplateDto } from '../../server/src/dto/templates.js';
import type { UploadDto } from '../../server/src/dto/uploads.js';
import { startLocalSocketStack } from '../../server/src/test-support/local-socket-stack.js';
import { eventually } from '../../server/src/test-support/guest-pool.js';
import { exportOva } from '../../agent/src/ova/ova-export.js';

const exec = promisify(execFile);
const MiB = 2 ** 20;

test('qxt-srv OVA imports to the local host go over its bulk socket', { timeout: 300_000 }, async (t) => {
  const { work, poolDir, poolName, s, host } = await startLocalSocketStack(t, 'ovalocal');
  const api = s.admin;

  // A 64 MiB disk: random runs between holes, exported as a streamOptimized VMDK inside an OVA.
  const raw = join(work, 'disk.raw');
  const fd = openSync(raw, 'w');
  for (const at of [0, 9 * MiB + 4096, 40 * MiB - 700]) writeSync(fd, randomBytes(3 * MiB), 0, undefined, at);
  closeSync(fd);
  await truncate(raw, 64 * MiB);
  const ovaFile = join(work, 'web.ova');
  const out = createWriteStream(ovaFile);
  await exportOva(
    { name: 'web', cpus: 1, memoryMib: 256, osType: 'linux', disks: [{ path: raw, format: 'raw' }] },
    out,
    {
      workDir: work,
    },
  );
  out.end();
  await finished(out);
  const ova = await readFile(ovaFile);

  const importOva = (name: string, body: Readable, sizeBytes: number) =>
    api.upload(
      '/api/v1/templates/uploads',
      { hostId: host.id, pool: poolName, name, fileName: `${name}.ova`, sizeBytes },
      body,
    );
  // The pool's own record of volume formats is not a volume.
  const poolFiles = async () => (await readdir(poolDir)).filter((n) => n !== '.qx-volume-formats.json').sort();

  const ok = await importOva('qxt-web', Readable.from([ova.subarray(0, 100_003), ova.subarray(100_003)]), ova.length);
  assert.equal(ok.reply.status, 200, ok.reply.text);
  const task = ok.reply.json as TaskDto;
  assert.equal(task.status, 'succeeded', task.error ?? '');
  const tpl = (
    await api.request<TemplateDto>('GET', `/api/v1/templates/${(task.result as { templateId: string }).templateId}`)
  ).json;
  assert.deepEqual(tpl.volumes, ['qxt-web-disk0.qcow2']);
  await exec('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', raw, join(poolDir, 'qxt-web-disk0.qcow2')]);
  assert.deepEqual(await poolFiles(), ['qxt-web-disk0.qcow2'], 'only the template disk is in the pool');

  // Cut inside the disk: the agent's reason is the answer, nothing is left behind.
  const cut = ova.subarray(0, Math.floor(ova.length / 2));
  const refused = await importOva('qxt-cut', Readable.from([cut]), cut.length);
  const refusal = refused.reply.json as TaskDto;
  assert.ok(refused.reply.status >= 400 || refusal.status === 'failed', refused.reply.text);
  assert.match(refused.reply.text, /truncated|ends inside/);
  assert.deepEqual(await poolFiles(), ['qxt-web-disk0.qcow2'], 'a refused OVA leaves nothing');

  // The client goes away after a third of the OVA: the task fails, the agent removes what it wrote.
  const opened = await api.request<UploadDto>('POST', '/api/v1/templates/uploads', {
    body: { hostId: host.id, pool: poolName, name: 'qxt-gone', fileName: 'gone.ova', sizeBytes: ova.length },
  });
  assert.equal(opened.status, 202, opened.text);
  const put = httpsRequest(new URL(opened.json.uploadUrl, api.base), {
    method: 'PUT',
    ca: api.caPem,
    headers: {
      Cookie: api.cookie ?? '',
      'X-CSRF-Token': api.csrf ?? '',
      'Content-Length': String(ova.length),
      'Content-Type': 'application/octet-stream',
    },
  });
  put.on('error', () => undefined); // the break itself
  put.write(ova.subarray(0, Math.floor(ova.length / 3)));
  await eventually(
    'the agent receiving',
    async () => (await readdir(poolDir)).some((n) => n.startsWith('.qx-ova-staging-')) || undefined,
  );
  put.destroy();
  const gone = await eventually('the import failed', async () => {
    const task = (await api.request<TaskDto>('GET', `/api/v1/tasks/${opened.json.task.id}`)).json;
    return task.status !== 'running' ? task : undefined;
  });
  assert.equal(gone.status, 'failed');
  assert.match(gone.error ?? '', /interrupted/);
  await eventually('the agent cleaned up', async () =>
    (await poolFiles()).join() === 'qxt-web-disk0.qcow2' ? true : undefined,
  );
});
