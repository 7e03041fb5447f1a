// Benchmark (#26): a volume upload through the vDC as a browser sends it (HTTPS → server → the local
// agent over its private Unix socket → a dir pool on this disk) against `cp` + `sync` of the same
// file on the same filesystem, in the same run, rounds alternating. Prints each round, the median
// ratio (target ≥ 0.7×) and the server's and agent's peak RSS (target flat, < 150 MB each), both
// processes of their own, and their CPU seconds per GiB (a figure load does not distort as much).
// QX_BENCH_UPLOAD_MIB (default 1024), QX_BENCH_ROUNDS (default 3); server and agent built, as the
// appliance runs them (QX_BENCH_FROM_SOURCE=1: through tsx, whose larger heap makes each GC dearer).
// The client is curl (curl-put.ts).
// Each round also times a ceiling with the same client: OpenSSL with no JavaScript at all writing
// the file (native-tls-sink.py), what a native TLS terminator could reach at best on this machine.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomFillSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, open, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { createCa, issueCertificate } from '@quantix/proto/tls/certificates.js';
import type { HostDto } from '../../server/src/dto/hosts.js';
import type { TaskDto } from '../../server/src/dto/tasks.js';
import { REPO, freePort, spawnAgent } from '../../server/src/test-support/spawn.js';
import { startServerProcess } from '../../server/src/test-support/server-process.js';
import { eventually } from '../../server/src/test-support/guest-pool.js';
import { curlPut, curlUpload } from './curl-put.js';

const MiB = 2 ** 20;
const SIZE = Number(process.env.QX_BENCH_UPLOAD_MIB ?? 1024) * MiB;
const ROUNDS = Number(process.env.QX_BENCH_ROUNDS ?? 3);
const id = randomBytes(3).toString('hex');
const work = join(REPO, 'test/output', `bench-upload-${id}`);
const agentDir = join(work, 'agent');
const poolDir = join(work, 'pool');
const poolName = `qxt-upbench-${id}`;
const fromSource = process.env.QX_BENCH_FROM_SOURCE === '1';

const secs = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const rate = (s: number) => `${(SIZE / 1e6 / s).toFixed(0)} MB/s`;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
/** CPU seconds (user + system) a process used so far. */
const cpuSecs = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
};
const hwmMb = (pid: number) =>
  Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;

async function writeSource(path: string): Promise<void> {
  const fh = await open(path, 'wx', 0o600);
  const block = Buffer.alloc(16 * MiB);
  for (let done = 0; done < SIZE; done += block.length) await fh.write(randomFillSync(block));
  await fh.sync();
  await fh.close();
}

await mkdir(agentDir, { recursive: true });
await mkdir(poolDir, { mode: 0o755 });
const agent = await spawnAgent(agentDir, await freePort(), {}, { built: !fromSource });
const server = await startServerProcess(undefined, {
  source: fromSource,
  env: { QX_LOCAL_AGENT_ADDRESS: `unix:${join(agentDir, 'local', 'agent.sock')}`, QX_LOCAL_AGENT_DATA_DIR: agentDir },
});
let native: ChildProcess | undefined;
try {
  const api = server.admin;
  const host = await eventually('the local host online', async () =>
    (await api.request<HostDto[]>('GET', '/api/v1/hosts')).json.find((h) => h.local && h.status === 'online'),
  );
  const pt = await api.request<TaskDto>('POST', `/api/v1/hosts/${host.id}/pools`, {
    body: { name: poolName, kind: 'dir', path: poolDir },
  });
  await eventually(
    'the pool',
    async () => (await api.request<TaskDto>('GET', `/api/v1/tasks/${pt.json.id}`)).json.status === 'succeeded',
  );
  const source = join(work, 'source.img');
  await writeSource(source);
  const copy = join(poolDir, '.bench-cp');
  const serverCa = join(work, 'server-ca.pem');
  await writeFile(serverCa, api.caPem);
  const upload = async (): Promise<number> => {
    const t0 = process.hrtime.bigint();
    const reply = await curlUpload(
      api,
      `/api/v1/hosts/${host.id}/pools/${poolName}/uploads`,
      { name: 'bench.img', format: 'raw', sizeBytes: SIZE },
      source,
      serverCa,
    );
    const t = secs(t0);
    if (reply.status !== 200)
      throw new Error(`upload: ${reply.status} ${reply.text}\nagent output:\n${agent.output().slice(-3000)}`);
    const del = await api.request('DELETE', `/api/v1/hosts/${host.id}/pools/${poolName}/volumes/bench.img`);
    if (del.status >= 300) throw new Error(`delete: ${del.status} ${del.text}`);
    return t;
  };
  const ca = await createCa('qxt upload bench CA', 1);
  const leaf = await issueCertificate(ca, {
    commonName: '127.0.0.1',
    ipAddresses: ['127.0.0.1'],
    days: 1,
    usages: ['server'],
  });
  native = spawn('python3', [join(REPO, 'test/bench/native-tls-sink.py')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      QX_SINK_FILE: join(poolDir, '.bench-native'),
      QX_SINK_KEY: leaf.keyPem,
      QX_SINK_CERT: leaf.certPem,
    },
  });
  const nativePort = Number(((await once(native.stdout!, 'data')) as [Buffer])[0].toString().trim());
  const sinkCa = join(work, 'sink-ca.pem');
  await writeFile(sinkCa, ca.certPem);
  /** One PUT into the native sink: its seconds. */
  const nativeUpload = async (): Promise<number> => {
    const t0 = process.hrtime.bigint();
    const reply = await curlPut(`https://127.0.0.1:${nativePort}/`, source, sinkCa);
    if (reply.status !== 200 || reply.text !== String(SIZE))
      throw new Error(`native sink: ${reply.status} ${reply.text}`);
    return secs(t0);
  };
  const serverPid = server.child.proc.pid!;
  const agentPid = agent.proc.pid!;
  // Their background (heartbeats, metrics, virsh polls) over 5 idle seconds, to tell it from the transfer's cost.
  const idle0 = { server: cpuSecs(serverPid), agent: cpuSecs(agentPid) };
  const idleRss = { server: hwmMb(serverPid), agent: hwmMb(agentPid) };
  const idleT0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, 5000));
  const idleWall = secs(idleT0);
  const idleRate = {
    server: (cpuSecs(serverPid) - idle0.server) / idleWall,
    agent: (cpuSecs(agentPid) - idle0.agent) / idleWall,
  };
  const cpu0 = { server: cpuSecs(serverPid), agent: cpuSecs(agentPid) };
  const cpuT0 = process.hrtime.bigint();
  const ratios: number[] = [];
  const floors: number[] = [];
  const ours: number[] = [];
  const nativeCeilings: number[] = [];
  const x = (r: number) => `${r.toFixed(2)}x`;
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = process.hrtime.bigint();
    execFileSync('cp', [source, copy]);
    execFileSync('sync', [copy]);
    const floor = secs(t0);
    await unlink(copy);
    const ours1 = await upload();
    floors.push(floor);
    ours.push(ours1);
    ratios.push(floor / ours1);
    const nativeSecs = await nativeUpload();
    nativeCeilings.push(floor / nativeSecs);
    console.log(
      `round ${i + 1}: cp + sync ${rate(floor)}, upload through the server ${rate(ours1)}, ratio ${x(floor / ours1)}; native TLS writing the file ${rate(nativeSecs)}, ${x(floor / nativeSecs)}`,
    );
  }
  const list = (v: number[]) => v.map((r) => r.toFixed(2)).join(', ');
  console.log(
    `volume upload ${SIZE / MiB} MiB: cp + sync ${rate(median(floors))}, through the server ${rate(median(ours))}`,
  );
  console.log(
    `ratio upload / (cp + sync): ${x(median(ratios))} median of ${ROUNDS} rounds (${list(ratios)}; target >= 0.7)`,
  );
  console.log(
    `ceiling / (cp + sync), same client: native TLS (OpenSSL, no JavaScript) writing the file ${x(median(nativeCeilings))} (${list(nativeCeilings)})`,
  );
  const cpuWall = secs(cpuT0);
  const perGiB = (s: number) => ((s / ROUNDS) * (2 ** 30 / SIZE)).toFixed(2);
  const spent = (who: 'server' | 'agent', pid: number, t0: number) =>
    perGiB(cpuSecs(pid) - t0 - idleRate[who] * cpuWall);
  console.log(
    `CPU seconds per GiB uploaded, background at the idle rate taken off (server ${idleRate.server.toFixed(3)}, agent ${idleRate.agent.toFixed(3)} s/s): server ${spent('server', serverPid, cpu0.server)}, agent ${spent('agent', agentPid, cpu0.agent)} (load average now ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}: wall-clock ratios are only meaningful on a quiet machine)`,
  );
  console.log(
    `peak RSS: server ${hwmMb(server.child.proc.pid!).toFixed(0)} MB, agent ${hwmMb(agent.proc.pid!).toFixed(0)} MB (target flat, < 150 MB each; ${fromSource ? 'both through tsx' : 'both built'}); before the transfers: server ${idleRss.server.toFixed(0)} MB, agent ${idleRss.agent.toFixed(0)} MB`,
  );
  await api.request('DELETE', `/api/v1/hosts/${host.id}/pools/${poolName}`);
} finally {
  native?.kill();
  await server.stop();
  await agent.kill();
  // The pool's removal above is a task: make sure libvirt holds nothing of it either way.
  for (const verb of ['pool-destroy', 'pool-undefine']) {
    try {
      execFileSync('virsh', ['-q', '-c', 'qemu:///system', verb, poolName], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
  await rm(work, { recursive: true, force: true });
}
