// A server whose local agent (a process of its own, on the real libvirt) is reached over its Unix
// socket as on the appliance, with a dir pool of its own made through the API: the setup of the
// local fast-path tests (#26). Everything is removed after the test.
import type { TestContext } from 'node:test';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostDto } from '../dto/hosts.js';
import type { TaskDto } from '../dto/tasks.js';
import { freePort, spawnAgent } from './spawn.js';
import { startTestServer, type TestServer } from './test-server.js';
import { eventually, removeLibvirtPool, srvName } from './guest-pool.js';

export interface LocalSocketStack {
  work: string;
  agentDir: string;
  poolDir: string;
  poolName: string;
  s: TestServer;
  host: HostDto;
}

export async function startLocalSocketStack(t: TestContext, what: string): Promise<LocalSocketStack> {
  const work = await mkdtemp(join(tmpdir(), `qxt-srv-${what}-`));
  await chmod(work, 0o755);
  const agentDir = join(work, 'agent');
  const poolDir = join(work, 'pool');
  await mkdir(agentDir);
  await mkdir(poolDir, { mode: 0o755 });
  const agent = await spawnAgent(agentDir, await freePort());
  const socket = join(agentDir, 'local', 'agent.sock');
  const s = await startTestServer({ QX_LOCAL_AGENT_ADDRESS: `unix:${socket}`, QX_LOCAL_AGENT_DATA_DIR: agentDir });
  const poolName = srvName(what);
  t.after(async () => {
    await s.stop();
    await agent.kill();
    await removeLibvirtPool(poolName);
    await rm(work, { recursive: true, force: true });
  });
  const api = s.admin;
  const host = await eventually('the local host online', async () =>
    (await api.request<HostDto[]>('GET', '/api/v1/hosts')).json.find((h) => h.local && h.status === 'online'),
  );
  const pt = await api.request<TaskDto>('POST', `/api/v1/hosts/${host.id}/pools`, {
    body: { name: poolName, kind: 'dir', path: poolDir },
  });
  if (pt.status !== 202) throw new Error(`pool ${poolName}: ${pt.status} ${pt.text}`);
  await eventually('the pool', async () => {
    const task = (await api.request<TaskDto>('GET', `/api/v1/tasks/${pt.json.id}`)).json;
    if (task.status === 'failed') throw new Error(`pool ${poolName}: ${task.error}`);
    return task.status === 'succeeded';
  });
  return { work, agentDir, poolDir, poolName, s, host };
}
