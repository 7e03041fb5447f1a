// Data loss through VM delete (issue #19 "Trust"): deleting a VM with its disks (the UI's Delete
// always asks for that) must keep a disk that backs a linked clone or that a second VM has
// attached, and say which and why; a pool cannot be stopped or deleted while an upload or an OVA
// import runs into it. A real server, a real agent process, real libvirt and QEMU, the REST API.
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { attack } from '../attack.js';
import type { HostDto } from '../../../server/src/dto/hosts.js';
import type { TaskDto } from '../../../server/src/dto/tasks.js';
import type { DeleteVmResultDto, VmDto } from '../../../server/src/dto/vms.js';
import type { ApiClient, ApiResponse } from '../../../server/src/test-support/api-client.js';
import { startTestServer, type TestServer } from '../../../server/src/test-support/test-server.js';
import { freePort, spawnAgent, type Child } from '../../../server/src/test-support/spawn.js';
import { eventually, GUEST_QCOW2, removeDomain, srvName, virsh } from '../../../server/src/test-support/guest-pool.js';

/** A dir pool the agent manages, created through the REST API. */
interface TestPool {
  name: string;
  dir: string;
}

describe('volumes', () => {
  let s: TestServer;
  let api: ApiClient;
  let agent: Child;
  let agentDir = '';
  let hostId = '';
  const pools: TestPool[] = [];
  const domains: string[] = [];

  const finished = (created: ApiResponse<TaskDto>): Promise<TaskDto> => {
    assert.equal(created.status, 202, created.text);
    return eventually(`task ${created.json.kind} to finish`, async () => {
      const t = (await api.request<TaskDto>('GET', `/api/v1/tasks/${created.json.id}`)).json;
      return t.status !== 'running' && t;
    });
  };
  const succeeded = async (created: ApiResponse<TaskDto>): Promise<TaskDto> => {
    const t = await finished(created);
    assert.equal(t.status, 'succeeded', `${t.kind}: ${t.error ?? ''}`);
    return t;
  };

  const createPool = async (what: string): Promise<TestPool> => {
    const name = srvName(what);
    const dir = await mkdtemp(join(tmpdir(), `${name}-`));
    await chmod(dir, 0o755); // QEMU runs as its own user
    pools.push({ name, dir });
    await succeeded(
      await api.request<TaskDto>('POST', `/api/v1/hosts/${hostId}/pools`, { body: { name, kind: 'dir', path: dir } }),
    );
    return { name, dir };
  };

  /** A copy of the test guest as volume `volume` of `pool`. */
  const guestDisk = async (pool: TestPool, volume: string): Promise<string> => {
    await copyFile(GUEST_QCOW2, join(pool.dir, volume));
    await virsh(['pool-refresh', pool.name]);
    return volume;
  };

  /** Defines a shut-off VM on existing volumes; returns its id. */
  const createVm = async (name: string, disks: { pool: string; volume: string }[]): Promise<string> => {
    domains.push(name);
    const body = { name, hostId, pool: disks[0]!.pool, memoryMib: 128, disks, start: false };
    const t = await succeeded(await api.request<TaskDto>('POST', '/api/v1/vms', { body }));
    return (t.result as { vmId: string }).vmId;
  };

  const deleteWithDisks = async (vmId: string): Promise<DeleteVmResultDto> =>
    (await succeeded(await api.request<TaskDto>('DELETE', `/api/v1/vms/${vmId}?deleteDisks=true`)))
      .result as DeleteVmResultDto;

  before(async () => {
    agentDir = await mkdtemp(join(tmpdir(), 'qxt-srv-vol-agent-'));
    const port = await freePort();
    agent = await spawnAgent(agentDir, port);
    s = await startTestServer({ QX_LOCAL_AGENT_ADDRESS: `127.0.0.1:${port}`, QX_LOCAL_AGENT_DATA_DIR: agentDir });
    api = s.admin;
    const host = await eventually('the local host online', async () =>
      (await api.request<HostDto[]>('GET', '/api/v1/hosts')).json.find((h) => h.local && h.status === 'online'),
    );
    hostId = host.id;
  });

  after(async () => {
    for (const d of domains) await removeDomain(d);
    for (const p of pools) {
      await api.request('DELETE', `/api/v1/hosts/${hostId}/pools/${p.name}`).catch(() => undefined);
      await virsh(['pool-destroy', p.name]).catch(() => undefined);
      await virsh(['pool-undefine', p.name]).catch(() => undefined);
      await rm(p.dir, { recursive: true, force: true });
    }
    await s?.stop();
    await agent?.kill('SIGKILL');
    await rm(agentDir, { recursive: true, force: true });
  });

  attack(
    'deleting a VM with its disks keeps the disk its linked clone is backed by; the clone still starts',
    async () => {
      const pool = await createPool('vol-linked');
      const a = srvName('vol-a');
      const clone = srvName('vol-clone');
      const disk = await guestDisk(pool, `${a}.qcow2`);
      const aId = await createVm(a, [{ pool: pool.name, volume: disk }]);
      domains.push(clone);
      const cloned = await succeeded(
        await api.request<TaskDto>('POST', `/api/v1/vms/${aId}/clone`, { body: { name: clone, linked: true } }),
      );
      const cloneId = (cloned.result as { vmId: string }).vmId;

      const result = await deleteWithDisks(aId);
      assert.equal((await api.request('GET', `/api/v1/vms/${aId}`)).status, 404, 'the VM itself is gone');
      assert.ok(existsSync(join(pool.dir, disk)), 'the backing file is still there');
      await succeeded(await api.request<TaskDto>('POST', `/api/v1/vms/${cloneId}/start`));
      assert.equal((await api.request<VmDto>('GET', `/api/v1/vms/${cloneId}`)).json.state, 'running');
      await succeeded(await api.request<TaskDto>('POST', `/api/v1/vms/${cloneId}/force-off`));

      assert.equal(result?.keptDisks?.length, 1, `kept disks: ${JSON.stringify(result)}`);
      const kept = result.keptDisks[0]!;
      assert.equal(kept.pool, pool.name);
      assert.equal(kept.volume, disk);
      assert.equal(kept.path, join(pool.dir, disk));
      assert.match(kept.reason, new RegExp(`backing file of linked clone\\(s\\) ${pool.name}/${clone}-disk0\\.qcow2`));
      // Deleting the clone (with its overlay) frees the base: a plain volume delete now works.
      assert.deepEqual((await deleteWithDisks(cloneId)).keptDisks, []);
      const freed = await api.request('DELETE', `/api/v1/hosts/${hostId}/pools/${pool.name}/volumes/${disk}`);
      assert.equal(freed.status, 204, freed.text);
    },
  );

  attack('deleting a VM with its disks keeps a volume a second VM has attached', async () => {
    const pool = await createPool('vol-shared');
    const first = srvName('vol-first');
    const second = srvName('vol-second');
    const own = await guestDisk(pool, `${first}.qcow2`);
    const shared = await guestDisk(pool, `${first}-data.qcow2`);
    const firstId = await createVm(first, [
      { pool: pool.name, volume: own },
      { pool: pool.name, volume: shared },
    ]);
    const secondId = await createVm(second, [{ pool: pool.name, volume: shared }]);

    const result = await deleteWithDisks(firstId);
    assert.ok(existsSync(join(pool.dir, shared)), 'the attached volume survives');
    assert.deepEqual(
      result?.keptDisks?.map((k) => [k.volume, k.reason]),
      [[shared, `it is used by VM(s) ${second}`]],
      'only the attached volume is kept, with the VM that uses it',
    );
    assert.equal(existsSync(join(pool.dir, own)), false, 'the disk nothing else holds is deleted');
    assert.deepEqual(
      (await api.request<VmDto>('GET', `/api/v1/vms/${secondId}`)).json.disks.map((d) => d.volume),
      [shared],
    );
    assert.deepEqual((await deleteWithDisks(secondId)).keptDisks, []);
    assert.equal(existsSync(join(pool.dir, shared)), false);
  });

  /** Stop and delete of `pool` answer 409 naming the pool and `what` runs into it. */
  const refusedWhileRunning = async (pool: TestPool, what: RegExp) => {
    for (const [method, path] of [
      ['POST', `/api/v1/hosts/${hostId}/pools/${pool.name}/stop`],
      ['DELETE', `/api/v1/hosts/${hostId}/pools/${pool.name}`],
    ] as const) {
      const r = await api.request<{ error: { message: string } }>(method, path);
      assert.equal(r.status, 409, `${method} ${path} while it runs: ${r.status} ${r.text}`);
      assert.match(r.json.error.message, new RegExp(`pool ${pool.name} `));
      assert.match(r.json.error.message, what);
    }
  };

  /** Once nothing runs into `pool` any more, stop and delete work. */
  const stopAndDelete = async (pool: TestPool) => {
    const stopped = await api.request('POST', `/api/v1/hosts/${hostId}/pools/${pool.name}/stop`);
    assert.equal(stopped.status, 200, stopped.text);
    const deleted = await api.request('DELETE', `/api/v1/hosts/${hostId}/pools/${pool.name}`);
    assert.equal(deleted.status, 204, deleted.text);
  };

  /**
   * Uploads `bytes` (opened at `openPath` with `open`): the first half, then `meanwhile()` once a hidden
   * file starting with `marker` shows the transfer running in the pool, then the rest.
   */
  const streamed = async (
    pool: TestPool,
    openPath: string,
    open: Record<string, unknown>,
    bytes: Buffer,
    marker: string,
    meanwhile: () => Promise<void>,
  ) => {
    const body = new PassThrough();
    const reply = api.upload(openPath, { ...open, sizeBytes: bytes.length }, body).then((u) => u.reply);
    body.write(bytes.subarray(0, bytes.length >> 1));
    try {
      await eventually('the transfer running on the host', async () =>
        (await readdir(pool.dir)).some((f) => f.startsWith(marker)),
      );
      await meanwhile();
    } finally {
      body.end(bytes.subarray(bytes.length >> 1)); // also on failure: no request left hanging
    }
    return reply;
  };

  attack('a pool cannot be stopped or deleted while an upload runs into it', async () => {
    const pool = await createPool('vol-upload');
    const raw = Buffer.alloc(8 * 1024 * 1024, 7);
    const path = `/api/v1/hosts/${hostId}/pools/${pool.name}/uploads`;
    const uploaded = await streamed(pool, path, { name: 'up.raw', format: 'raw' }, raw, '.qx-upload-', () =>
      refusedWhileRunning(pool, /upload of volume up\.raw/),
    );
    assert.equal(uploaded.status, 200, uploaded.text);
    assert.equal(uploaded.json.status, 'succeeded');
    await stopAndDelete(pool);
  });

  attack('a pool cannot be stopped or deleted while an OVA import runs into it', async () => {
    const pool = await createPool('vol-import');
    // The OVA: the test guest exported by the vDC.
    const src = await createPool('vol-ova-src');
    const vmName = srvName('vol-ova');
    const vmId = await createVm(vmName, [{ pool: src.name, volume: await guestDisk(src, `${vmName}.qcow2`) }]);
    const ova = await api.request('GET', `/api/v1/vms/${vmId}/export.ova`);
    assert.equal(ova.status, 200, ova.text.slice(0, 200));
    await succeeded(await api.request<TaskDto>('DELETE', `/api/v1/vms/${vmId}?deleteDisks=true`));

    const open = { hostId, pool: pool.name, name: `${vmName}-tpl` };
    const imported = await streamed(pool, '/api/v1/templates/uploads', open, ova.raw, '.qx-ova-staging-', () =>
      refusedWhileRunning(pool, /OVA import/),
    );
    assert.equal(imported.status, 200, imported.text);
    assert.equal(imported.json.status, 'succeeded');
    await stopAndDelete(pool);
  });
});
