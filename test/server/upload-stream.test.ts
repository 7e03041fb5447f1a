// Uploads through the vDC are streamed, never buffered: a 1 GiB disk image (2 GiB: upload.bench.ts) and
// OVAs (a small bootable one, and a 2 GiB one generated on the fly) go from the request body straight to the
// agent (StorageService.UploadVolume, ImageService.ImportOva) while the server's RSS stays flat; the OVA
// becomes a template that deploys into a running VM; volumes download and VMs export (OVA) as byte streams.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, open, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import type { HostDto } from '../../server/src/dto/hosts.js';
import type { TaskDto } from '../../server/src/dto/tasks.js';
import type { TemplateDto } from '../../server/src/dto/templates.js';
import type { UploadDto } from '../../server/src/dto/uploads.js';
import type { VmDto } from '../../server/src/dto/vms.js';
import type { ApiClient } from '../../server/src/test-support/api-client.js';
import { freePort, spawnAgent, type Child } from '../../server/src/test-support/spawn.js';
import { startTestServer } from '../../server/src/test-support/test-server.js';
import { eventually, removeDomain, removeLibvirtPool, srvName } from '../../server/src/test-support/guest-pool.js';
import { buildGuestOva } from '../appliance/guest-ova.js';
import { ovftoolOvf } from '../ova/ovf-templates.js';
import { writeTarEnd, writeTarEntry } from '../../agent/src/ova/tar-writer.js';

const MiB = 1024 * 1024;
// Large enough that buffering even half of it (≥ 512 MiB) stands far above what a streaming
// server's RSS moves by anyway (one-time growth of a fresh process, garbage not yet collected:
// up to ~130 MiB seen at 256 MiB, where a 128 MiB bound was flaky).
const SIZE = 1024 * MiB;
const RSS_BOUND = 256 * MiB;

/** Runs `work` while sampling RSS every 50 ms; returns the peak growth over the start value. */
async function peakRssGrowth(work: () => Promise<void>): Promise<number> {
  const start = process.memoryUsage().rss;
  let peak = start;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage().rss) - start;
}

/** A raw disk's OVF format URI (the spelling test/ova/corpus.ts uses; ovf-parse.ts reads it as "raw"). */
const RAW_DISK_FORMAT = 'http://www.gnome.org/~markmc/qcow-image-format.html#raw';

/**
 * An OVA of `ovf` plus one disk entry of `diskBytes` zeros, produced while it is read (never held
 * in memory or written to a file); the tar framing is the agent's own writer. `length` is the
 * exact byte count, for Content-Length.
 */
function generatedOva(ovf: string, diskHref: string, diskBytes: number): { stream: Readable; length: number } {
  const descriptor = Buffer.from(ovf);
  const padded = (n: number) => Math.ceil(n / 512) * 512;
  const length = 512 + padded(descriptor.length) + 512 + padded(diskBytes) + 1024;
  const out = new PassThrough({ highWaterMark: MiB });
  const zeros = Buffer.alloc(MiB);
  async function* one(b: Buffer): AsyncGenerator<Buffer> {
    yield b;
  }
  async function* disk(): AsyncGenerator<Buffer> {
    for (let left = diskBytes; left > 0; left -= zeros.length)
      yield left >= zeros.length ? zeros : zeros.subarray(0, left);
  }
  (async () => {
    await writeTarEntry(out, 'big.ovf', descriptor.length, one(descriptor));
    await writeTarEntry(out, diskHref, diskBytes, disk());
    await writeTarEnd(out);
    out.end();
  })().catch((err: unknown) => out.destroy(err instanceof Error ? err : new Error(String(err))));
  return { stream: out, length };
}

/** The template an ova.import task made (its result names it). */
const templateOf = async (api: ApiClient, task: TaskDto) => {
  assert.equal(task.status, 'succeeded', task.error ?? '');
  return api.request<TemplateDto>('GET', `/api/v1/templates/${(task.result as { templateId: string }).templateId}`);
};

const waitTask = (api: ApiClient, id: string) =>
  eventually(
    `task ${id}`,
    async () => {
      const t = (await api.request<TaskDto>('GET', `/api/v1/tasks/${id}`)).json;
      return t.status !== 'running' && t;
    },
    180_000,
  );

test('qxt-srv uploads stream through the server (disk image and OVA)', { timeout: 600_000 }, async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'qxt-srv-upload-'));
  await chmod(work, 0o755);
  const agentDir = join(work, 'agent');
  const poolDir = join(work, 'pool');
  await Promise.all(
    [agentDir, poolDir].map((d) => import('node:fs/promises').then((f) => f.mkdir(d, { mode: 0o755 }))),
  );
  const port = await freePort();
  const agent: Child = await spawnAgent(agentDir, port);
  const s = await startTestServer({ QX_LOCAL_AGENT_ADDRESS: `127.0.0.1:${port}`, QX_LOCAL_AGENT_DATA_DIR: agentDir });
  const vmName = srvName('ova');
  const poolName = srvName('upool');
  t.after(async () => {
    await removeDomain(vmName);
    await s.admin.request('DELETE', `/api/v1/hosts/${host.id}/pools/${poolName}`).catch(() => undefined);
    await s.stop();
    await agent.kill();
    await removeLibvirtPool(poolName);
    await rm(work, { recursive: true, force: true });
  });
  const api = s.admin;
  const host = await eventually('the local host online', async () =>
    (await api.request<HostDto[]>('GET', '/api/v1/hosts')).json.find((h) => h.status === 'online'),
  );
  const pt = await api.request<TaskDto>('POST', `/api/v1/hosts/${host.id}/pools`, {
    body: { name: poolName, kind: 'dir', path: poolDir },
  });
  assert.equal(pt.status, 202, pt.text);
  assert.equal((await waitTask(api, pt.json.id)).status, 'succeeded');

  await t.test('a 1 GiB raw image streams with flat server memory', async () => {
    let taskId = '';
    const file = join(work, 'big.img');
    const fh = await open(file, 'w');
    await fh.truncate(SIZE);
    await fh.close();
    let status = 0;
    let text = '';
    const growth = await peakRssGrowth(async () => {
      const { opened, reply } = await api.upload(
        `/api/v1/hosts/${host.id}/pools/${poolName}/uploads`,
        { name: 'big.img', format: 'raw', sizeBytes: SIZE },
        createReadStream(file, { highWaterMark: MiB }),
      );
      assert.equal(opened.status, 202, opened.text);
      assert.equal(opened.json.task.kind, 'volume.upload');
      taskId = opened.json.task.id;
      status = reply.status;
      text = reply.text;
    });
    await rm(file);
    assert.equal(status, 200, text);
    const done = JSON.parse(text) as TaskDto;
    assert.equal(done.id, taskId, 'the PUT answers with the task the POST opened');
    assert.equal(done.status, 'succeeded');
    assert.equal(done.progress, 100);
    assert.equal((done.result as { capacityBytes: number }).capacityBytes, SIZE);
    assert.ok(growth < RSS_BOUND, `server RSS grew by ${Math.round(growth / MiB)} MiB for a ${SIZE / MiB} MiB upload`);
  });

  await t.test('a volume downloads as a byte stream', async () => {
    const v = await api.request('POST', `/api/v1/hosts/${host.id}/pools/${poolName}/volumes`, {
      body: { name: 'small.img', format: 'raw', capacityBytes: MiB },
    });
    assert.equal(v.status, 201, v.text);
    const d = await api.request('GET', `/api/v1/hosts/${host.id}/pools/${poolName}/volumes/small.img/content`);
    assert.equal(d.status, 200);
    assert.equal(d.raw.length, MiB);
    assert.ok(d.raw.every((b) => b === 0));
    assert.equal(
      (await api.request('DELETE', `/api/v1/hosts/${host.id}/pools/${poolName}/volumes/small.img`)).status,
      204,
    );
  });

  await t.test(
    'an upload body without Content-Length, or of another size than opened, is refused; a refused body fails its task',
    async () => {
      const open = (name: string, sizeBytes: number) =>
        api.request<UploadDto>('POST', `/api/v1/hosts/${host.id}/pools/${poolName}/uploads`, {
          body: { name, format: 'raw', sizeBytes },
        });
      const put = (url: string, bytes: number, headers: Record<string, string> = { 'Content-Length': String(bytes) }) =>
        api.request<TaskDto>('PUT', url, { stream: Readable.from([Buffer.alloc(bytes)]), headers });
      const opened = await open('none.img', 512);
      assert.equal(opened.status, 202, opened.text);
      const url = opened.json.uploadUrl;
      assert.equal((await put(url, 512, { 'Transfer-Encoding': 'chunked' })).status, 411);
      const longer = await put(url, 1024);
      assert.equal(longer.status, 400, longer.text);
      assert.match(longer.text, /Content-Length: 1024 bytes sent, but the upload was opened for 512/);
      // The same URL, with the right size: the one-time upload then is used.
      const right = await put(url, 512);
      assert.equal(right.status, 200, right.text);
      assert.equal(right.json.id, opened.json.task.id);
      assert.equal((await put(url, 512)).status, 404);
      assert.equal(
        (await api.request('DELETE', `/api/v1/hosts/${host.id}/pools/${poolName}/volumes/none.img`)).status,
        204,
      );

      // The host refuses the body (a raw image is whole sectors): the PUT answers with the task's error.
      const odd = await open('odd.img', 10);
      const refused = await put(odd.json.uploadUrl, 10);
      assert.equal(refused.status, 400, refused.text);
      assert.match(refused.text, /multiple of 512 bytes/);
      const task = (await api.request<TaskDto>('GET', `/api/v1/tasks/${odd.json.task.id}`)).json;
      assert.equal(task.status, 'failed');
      assert.match(task.error ?? '', /multiple of 512 bytes/);
    },
  );

  await t.test(
    'an OVA streams to the agent, becomes a template, deploys a running VM that exports as an OVA',
    async () => {
      const ova = await buildGuestOva(work, 'qxt-srv-guest');
      const { reply } = await api.upload(
        '/api/v1/templates/uploads',
        { hostId: host.id, pool: poolName, name: 'qxt-srv-tpl', fileName: 'guest.ova', sizeBytes: ova.length },
        Readable.from([ova]),
      );
      assert.equal(reply.status, 200, reply.text);
      const imported = await templateOf(api, reply.json);
      assert.equal(imported.json.name, 'qxt-srv-tpl');
      assert.equal(imported.json.volumes.length, 1);
      assert.equal(imported.json.memoryMib, 128);
      const listed = (await api.request<TemplateDto[]>('GET', '/api/v1/templates')).json;
      assert.ok(
        listed.some((x) => x.id === imported.json.id),
        'the template is kept in the db',
      );

      const deploy = await api.request<TaskDto>('POST', `/api/v1/templates/${imported.json.id}/deploy`, {
        body: { name: vmName, start: true },
      });
      assert.equal(deploy.status, 202, deploy.text);
      const done = await waitTask(api, deploy.json.id);
      assert.equal(done.status, 'succeeded', done.error ?? '');
      const vm = (await api.request<VmDto>('GET', `/api/v1/vms/${(done.result as { vmId: string }).vmId}`)).json;
      assert.equal(vm.state, 'running');
      assert.equal(vm.disks[0]?.volume, `${vmName}-disk0`);

      const off = await api.request<TaskDto>('POST', `/api/v1/vms/${vm.id}/force-off`);
      assert.equal((await waitTask(api, off.json.id)).status, 'succeeded');
      const exported = await api.request('GET', `/api/v1/vms/${vm.id}/export.ova`);
      assert.equal(exported.status, 200, exported.text.slice(0, 300));
      assert.match(String(exported.headers['content-disposition']), new RegExp(`${vmName}\\.ova`));
      assert.equal(exported.raw.subarray(257, 262).toString(), 'ustar', 'the export is a tar stream');
      assert.ok(exported.raw.length > 1024 * 1024, `the OVA carries the disk (${exported.raw.length} bytes)`);
      const del = await api.request<TaskDto>('DELETE', `/api/v1/vms/${vm.id}?deleteDisks=true`);
      assert.equal((await waitTask(api, del.json.id)).status, 'succeeded');
      assert.equal((await api.request('DELETE', `/api/v1/templates/${imported.json.id}`)).status, 204);
      const vols = (await api.request<{ name: string }[]>('GET', `/api/v1/hosts/${host.id}/pools/${poolName}/volumes`))
        .json;
      assert.deepEqual(vols.map((v) => v.name).sort(), ['big.img'], 'template and VM volumes are gone');
    },
  );

  await t.test(
    'a 2 GiB OVA (generated as it uploads) streams with flat server memory and becomes a template',
    async () => {
      const DISK = 2048 * MiB;
      const href = 'big-disk1.img';
      const ovf = ovftoolOvf({
        name: 'big',
        id: 'big',
        osId: 101,
        osType: 'ubuntu64Guest',
        cpus: '1',
        memory: '256',
        memoryUnits: 'byte * 2^20',
        disks: [{ href, fileSize: DISK, capacity: DISK, controller: 'sata', format: RAW_DISK_FORMAT }],
        nics: [],
      });
      const ova = generatedOva(ovf, href, DISK);
      let status = 0;
      let text = '';
      const growth = await peakRssGrowth(async () => {
        const { reply } = await api.upload(
          '/api/v1/templates/uploads',
          { hostId: host.id, pool: poolName, name: 'qxt-srv-big', fileName: 'big.ova', sizeBytes: ova.length },
          ova.stream,
        );
        status = reply.status;
        text = reply.text;
      });
      assert.equal(status, 200, text);
      const tpl = (await templateOf(api, JSON.parse(text) as TaskDto)).json;
      assert.ok(ova.length > DISK, `the OVA carries the whole disk (${ova.length} bytes)`);
      assert.ok(
        growth < RSS_BOUND,
        `server RSS grew by ${Math.round(growth / MiB)} MiB for a ${Math.round(ova.length / MiB)} MiB OVA`,
      );
      assert.equal(tpl.name, 'qxt-srv-big');
      assert.equal(tpl.sizeBytes, ova.length);
      assert.equal(tpl.memoryMib, 256);
      assert.deepEqual(tpl.volumes, ['qxt-srv-big-disk0.qcow2']);
      const vols = (
        await api.request<{ name: string; capacityBytes: number }[]>(
          'GET',
          `/api/v1/hosts/${host.id}/pools/${poolName}/volumes`,
        )
      ).json;
      assert.equal(
        vols.find((v) => v.name === tpl.volumes[0])?.capacityBytes,
        DISK,
        "the template's disk has the OVF's 2 GiB capacity",
      );
      const task = (await api.request<TaskDto[]>('GET', '/api/v1/tasks?limit=5')).json.find(
        (x) => x.kind === 'ova.import' && x.target.name === 'qxt-srv-big',
      );
      assert.equal(task?.status, 'succeeded');

      assert.equal((await api.request('DELETE', `/api/v1/templates/${tpl.id}`)).status, 204);
      const left = (await api.request<{ name: string }[]>('GET', `/api/v1/hosts/${host.id}/pools/${poolName}/volumes`))
        .json;
      assert.ok(!left.some((v) => v.name === tpl.volumes[0]), 'the template volume is deleted with it');
      assert.equal((await api.request('GET', `/api/v1/templates/${tpl.id}`)).status, 404);
    },
  );
});
