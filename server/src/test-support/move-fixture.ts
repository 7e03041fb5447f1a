// Test fixture for VM moves on one host: a real agent joined as the local host of a real test
// server, directory pools created through the API (the agent's own pools, which placement and the
// preflight see), VMs on copies of the test guest; stop() removes all of it.
import { chmod, copyFile, mkdtemp, rm } from 'node:fs/promises';
import { constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostDto } from '../dto/hosts.js';
import type { TaskDto } from '../dto/tasks.js';
import type { HostConnection } from '../agents/host-connection.js';
import { freePort, spawnAgent } from './spawn.js';
import { startTestServer, type TestServer } from './test-server.js';
import { GUEST_QCOW2, eventually, removeDomain, srvName, virsh } from './guest-pool.js';

export interface FixturePool {
  name: string;
  dir: string;
}

export interface MoveFixture {
  s: TestServer;
  host: HostDto;
  /** The local host's live connection (inventory). */
  c: HostConnection;
  /** Directory pools made through the API. */
  pools: FixturePool[];
  /** A VM (shut off unless `start`) with a copy of the test guest as its disk in `pool`; its id. */
  vm(name: string, pool: FixturePool, opts?: { start?: boolean }): Promise<string>;
  /** A copy of the test guest as volume `volume` of `pool`. */
  addGuestDisk(pool: FixturePool, volume: string): Promise<void>;
  /** Waits for a task to end and returns it. */
  taskDone(task: TaskDto): Promise<TaskDto>;
  stop(): Promise<void>;
}

/** `env`: more server settings (e.g. QX_UI_DIR for a browser test). */
export async function startMoveFixture(poolCount = 2, env: Record<string, string> = {}): Promise<MoveFixture> {
  const agentDir = await mkdtemp(join(tmpdir(), 'qxt-srv-agent-'));
  const port = await freePort();
  const agent = await spawnAgent(agentDir, port);
  const s = await startTestServer({
    QX_LOCAL_AGENT_ADDRESS: `127.0.0.1:${port}`,
    QX_LOCAL_AGENT_DATA_DIR: agentDir,
    ...env,
  });
  const domains: string[] = [];
  const pools: FixturePool[] = [];
  const api = s.admin;
  const taskDone = (task: TaskDto) =>
    eventually(`task ${task.kind}`, async () => {
      const t = (await api.request<TaskDto>('GET', `/api/v1/tasks/${task.id}`)).json;
      return t.status !== 'running' && t;
    });
  const stop = async () => {
    for (const d of domains) {
      // A VM with snapshots (the preflight test takes one) is undefined only with their metadata.
      await virsh(['undefine', d, '--snapshots-metadata']).catch(() => undefined);
      await removeDomain(d);
    }
    for (const p of pools) {
      await api.request('DELETE', `/api/v1/hosts/${host?.id}/pools/${p.name}`).catch(() => undefined);
      await virsh(['pool-destroy', p.name]).catch(() => undefined);
      await virsh(['pool-undefine', p.name]).catch(() => undefined);
      await rm(p.dir, { recursive: true, force: true });
    }
    await s.stop();
    await agent.kill('SIGKILL');
    await rm(agentDir, { recursive: true, force: true });
  };
  let host: HostDto | undefined;
  try {
    host = await eventually('the local host online', async () => {
      const hosts = (await api.request<HostDto[]>('GET', '/api/v1/hosts')).json;
      return hosts.find((h) => h.local && h.status === 'online');
    });
    for (let i = 0; i < poolCount; i++) {
      const name = srvName(`pool${i}`);
      const dir = await mkdtemp(join(tmpdir(), `${name}-`));
      await chmod(dir, 0o755);
      pools.push({ name, dir });
      const r = await api.request<TaskDto>('POST', `/api/v1/hosts/${host.id}/pools`, {
        body: { name, kind: 'dir', path: dir },
      });
      if (r.status !== 202) throw new Error(`pool ${name}: ${r.status} ${r.text}`);
      const done = await taskDone(r.json);
      if (done.status !== 'succeeded') throw new Error(`pool ${name}: ${done.error}`);
    }
    const c = s.services.pool.get(host.id);
    await c.syncPools();
    const addGuestDisk = async (pool: FixturePool, volume: string) => {
      await copyFile(GUEST_QCOW2, join(pool.dir, volume), constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
      await virsh(['pool-refresh', pool.name]);
    };
    const h = host;
    return {
      s,
      host: h,
      c,
      pools,
      addGuestDisk,
      taskDone,
      stop,
      async vm(name, pool, opts = {}) {
        domains.push(name);
        await addGuestDisk(pool, `${name}.qcow2`);
        const created = await api.request<TaskDto>('POST', '/api/v1/vms', {
          body: {
            name,
            hostId: h.id,
            pool: pool.name,
            memoryMib: 128,
            disks: [{ pool: pool.name, volume: `${name}.qcow2` }],
            start: opts.start ?? false,
          },
        });
        if (created.status !== 202) throw new Error(`VM ${name}: ${created.status} ${created.text}`);
        const done = await taskDone(created.json);
        if (done.status !== 'succeeded') throw new Error(`VM ${name}: ${done.error}`);
        return (done.result as { vmId: string }).vmId;
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
