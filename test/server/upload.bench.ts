// Benchmark: a 2 GiB disk image uploaded through the vDC (HTTPS → server → gRPC → agent) to a
// local agent's dir pool. Prints the server's peak RSS growth (should stay flat, i.e. far below
// the file size) and the throughput against a baseline measured in the same run: copying the
// same file on this disk (what the agent's write costs without the network path).
import { chmod, copyFile, mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostDto } from '../../server/src/dto/hosts.js';
import type { TaskDto } from '../../server/src/dto/tasks.js';
import { freePort, spawnAgent } from '../../server/src/test-support/spawn.js';
import { startTestServer } from '../../server/src/test-support/test-server.js';
import { eventually, srvName } from '../../server/src/test-support/guest-pool.js';

const MiB = 1024 * 1024;
const SIZE = Number(process.env.QX_BENCH_UPLOAD_MIB ?? 2048) * MiB;

const work = await mkdtemp(join(tmpdir(), 'qxt-srv-upbench-'));
await chmod(work, 0o755);
const agentDir = join(work, 'agent');
const poolDir = join(work, 'pool');
await mkdir(agentDir);
await mkdir(poolDir, { mode: 0o755 });
const port = await freePort();
const agent = await spawnAgent(agentDir, port);
const s = await startTestServer({ QX_LOCAL_AGENT_ADDRESS: `127.0.0.1:${port}`, QX_LOCAL_AGENT_DATA_DIR: agentDir });
const poolName = srvName('benchpool');
try {
  const api = s.admin;
  const host = await eventually('the local host online', async () =>
    (await api.request<HostDto[]>('GET', '/api/v1/hosts')).json.find((h) => h.status === 'online'),
  );
  const pt = await api.request<TaskDto>('POST', `/api/v1/hosts/${host.id}/pools`, {
    body: { name: poolName, kind: 'dir', path: poolDir },
  });
  await eventually(
    'pool',
    async () => (await api.request<TaskDto>('GET', `/api/v1/tasks/${pt.json.id}`)).json.status === 'succeeded',
  );
  const file = join(work, 'big.img');
  const fh = await open(file, 'w');
  await fh.truncate(SIZE);
  await fh.close();

  const c0 = Date.now();
  await copyFile(file, join(work, 'copy.img'));
  const copyMs = Date.now() - c0;
  await rm(join(work, 'copy.img'));

  const start = process.memoryUsage().rss;
  let peak = start;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const u0 = Date.now();
  const { reply: r } = await api.upload(
    `/api/v1/hosts/${host.id}/pools/${poolName}/uploads`,
    { name: 'big.img', format: 'raw', sizeBytes: SIZE },
    createReadStream(file, { highWaterMark: MiB }),
  );
  const uploadMs = Date.now() - u0;
  clearInterval(timer);
  if (r.status !== 200) throw new Error(`upload failed: ${r.status} ${r.text}`);
  const growth = peak - start;
  console.log(
    `upload ${SIZE / MiB} MiB through the vDC: ${(uploadMs / 1000).toFixed(1)} s = ${(SIZE / MiB / (uploadMs / 1000)).toFixed(0)} MiB/s`,
  );
  console.log(
    `baseline local copy of the same file: ${(copyMs / 1000).toFixed(1)} s; upload/copy time ratio ${(uploadMs / Math.max(1, copyMs)).toFixed(1)}×`,
  );
  console.log(
    `server process peak RSS growth during the upload: ${(growth / MiB).toFixed(0)} MiB = ${((growth / SIZE) * 100).toFixed(1)} % of the file size (flat = a few %)`,
  );
  await api.request('DELETE', `/api/v1/hosts/${host.id}/pools/${poolName}/volumes/big.img`);
  await api.request('DELETE', `/api/v1/hosts/${host.id}/pools/${poolName}`);
} finally {
  await s.stop();
  await agent.kill();
  await rm(work, { recursive: true, force: true });
}
