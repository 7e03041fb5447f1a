import { execFileSync } from 'node:child_process';
import { createWriteStream, openSync, closeSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { finished } from 'node:stream/promises';
import { ImageServiceClient } from '@quantix/proto/bulk/bulk-services.js';
import { pinnedCredentials } from '@quantix/proto/tls/pinned-credentials.js';
import { exportOva } from '../../agent/src/ova/ova-export.js';
import { newVdc, startAgentProcess } from '../../agent/src/test-support/agent-harness.js';
import { importOvaFile } from '../ova/import-client.js';
import { startServerProcess } from '../../server/src/test-support/server-process.js';
import { spawnAgent, freePort } from '../../server/src/test-support/spawn.js';
import { curlUpload } from './curl-put.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = join(root, 'test/output/bench-ova');
const MiB = 2 ** 20;
const id = randomBytes(3).toString('hex');
const pool = `qxt-ova-bench-${id}`;

const sh = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] }).toString();
/** QX_BENCH_FROM_SOURCE=1: server and agent through tsx (no build needed; RSS then includes tsx). */
const fromSource = process.env.QX_BENCH_FROM_SOURCE === '1';
const secs = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

function makeRaw(path: string, capacity: number, randomMiB: number): void {
  const fd = openSync(path, 'w');
  const runs = 8;
  const step = capacity / runs;
  for (let r = 0; r < runs; r++) {
    for (let m = 0; m < randomMiB / runs; m++) writeSync(fd, randomBytes(MiB), 0, MiB, r * step + m * MiB);
  }
  closeSync(fd);
  execFileSync('truncate', ['-s', String(capacity), path]);
}

async function makeOva(name: string, capacity: number, randomMiB: number): Promise<string> {
  const raw = join(dir, `${name}.raw`);
  makeRaw(raw, capacity, randomMiB);
  const ova = join(dir, `${name}.ova`);
  const out = createWriteStream(ova);
  const disks = [{ path: raw, format: 'raw' as const }];
  await exportOva({ name, cpus: 2, memoryMib: 1024, osType: 'linux', disks }, out, { workDir: dir });
  out.end();
  await finished(out);
  await rm(raw);
  return ova;
}

/** Seconds and CPU seconds (cat and qemu-img) of the floor. */
function floor(ova: string, vmdk: string): { t: number; cpu: number } {
  const c0 = cpuSeconds('self');
  const t0 = process.hrtime.bigint();
  const fd = openSync(join(dir, 'floor-copy.ova'), 'w');
  execFileSync('cat', [ova], { stdio: ['ignore', fd, 'inherit'] });
  closeSync(fd);
  sh('qemu-img', ['convert', '-f', 'vmdk', '-O', 'qcow2', vmdk, join(dir, 'floor.qcow2')]);
  const t = secs(t0);
  const cpu = cpuSeconds('self') - c0;
  execFileSync('rm', ['-f', join(dir, 'floor-copy.ova'), join(dir, 'floor.qcow2')]);
  return { t, cpu };
}

function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** CPU seconds of process `pid` so far, with the children it waited for (qemu-img, cat). */
function cpuSeconds(pid: number | 'self'): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
}

/**
 * The same import through the server's upload route as the appliance runs it: the server and its
 * local agent (over the agent's private Unix socket), each built and in a process of its own.
 */
async function viaServer(
  big: string,
  small: string,
  runs: number,
): Promise<{
  times: number[];
  cpu: number[];
  serverMb: number;
  serverSmallMb: number;
  agentMb: number;
  agentSmallMb: number;
}> {
  const agentDir = await mkdtemp(join(dir, 'agent-'));
  const port = await freePort();
  const agent = await spawnAgent(agentDir, port, {}, { built: !fromSource });
  const server = await startServerProcess(undefined, {
    source: fromSource,
    env: {
      QX_LOCAL_AGENT_ADDRESS: `unix:${join(agentDir, 'local', 'agent.sock')}`,
      QX_LOCAL_AGENT_DATA_DIR: agentDir,
      QX_LOG: '', // the log, kept in memory by spawnNode, is shown when an upload fails
    },
  });
  try {
    const api = server.admin;
    const serverCa = join(agentDir, 'server-ca.pem');
    writeFileSync(serverCa, api.caPem);
    let hostId = '';
    for (let i = 0; !hostId; i++) {
      if (i > 300) throw new Error('the local host did not come online');
      const hosts = (await api.request<{ id: string; local: boolean; status: string }[]>('GET', '/api/v1/hosts')).json;
      hostId = hosts.find((h) => h.local && h.status === 'online')?.id ?? '';
      if (!hostId) await new Promise((r) => setTimeout(r, 100));
    }
    const upload = async (file: string, name: string): Promise<number> => {
      const t0 = process.hrtime.bigint();
      const r = await curlUpload(
        api,
        '/api/v1/templates/uploads',
        { hostId, pool, name, sizeBytes: statSync(file).size },
        file,
        serverCa,
      );
      const t = secs(t0);
      if (r.status !== 200)
        throw new Error(`upload: ${r.status} ${r.text}\nserver log:\n${server.child.output().slice(-4000)}`);
      await rm(join(dir, 'pool', `${name}-disk0.qcow2`));
      return t;
    };
    await upload(small, `srvwarm${id}`);
    const agentSmallMb = peakRssMb(agent.proc.pid!);
    const serverSmallMb = peakRssMb(server.child.proc.pid!);
    const times: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < runs; i++) {
      const c0 = cpuSeconds(agent.proc.pid!) + cpuSeconds(server.child.proc.pid!) + cpuSeconds('self');
      times.push(await upload(big, `srvbig${i}${id}`));
      cpu.push(cpuSeconds(agent.proc.pid!) + cpuSeconds(server.child.proc.pid!) + cpuSeconds('self') - c0);
    }
    return {
      times,
      cpu,
      serverMb: peakRssMb(server.child.proc.pid!),
      serverSmallMb,
      agentMb: peakRssMb(agent.proc.pid!),
      agentSmallMb,
    };
  } finally {
    await agent.kill();
    await server.stop();
  }
}

async function main(): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'pool'), { recursive: true });
  console.log('building OVAs (2 GiB capacity, 512 MiB random; 64 MiB capacity, 16 MiB random)…');
  const big = await makeOva('bench-2g', 2048 * MiB, 512);
  const small = await makeOva('bench-64m', 64 * MiB, 16);
  sh('tar', ['-xf', big, '-C', dir, 'bench-2g-disk1.vmdk']);
  const vmdk = join(dir, 'bench-2g-disk1.vmdk');
  const ovaBytes = Number(sh('stat', ['-c', '%s', big]).trim());

  sh('virsh', ['-q', '-c', 'qemu:///system', 'pool-define-as', pool, 'dir', '--target', join(dir, 'pool')]);
  const agentDir = await mkdtemp(join(dir, 'agent-grpc-'));
  let agent: Awaited<ReturnType<typeof startAgentProcess>> | undefined;
  try {
    sh('virsh', ['-q', '-c', 'qemu:///system', 'pool-start', pool]);
    // Inside the try: an agent that does not start (not built) must not leave the pool defined.
    agent = await startAgentProcess(agentDir, await newVdc(), { built: !fromSource });
    const client = new ImageServiceClient(agent.address, pinnedCredentials(agent.certPem, agent.vdc.client));

    const importOnce = async (ova: string, name: string): Promise<number> => {
      const t0 = process.hrtime.bigint();
      await importOvaFile(client, ova, { pool, name, sizeBytes: 0 });
      const t = secs(t0);
      await rm(join(dir, 'pool', `${name}-disk0.qcow2`));
      return t;
    };
    await importOnce(small, 'warm');
    const rssSmall = peakRssMb(agent.pid);

    const floors: number[] = [];
    const floorCpu: number[] = [];
    const ours: number[] = [];
    for (let i = 0; i < 2; i++) {
      const fl = floor(big, vmdk);
      floors.push(fl.t);
      floorCpu.push(fl.cpu);
      ours.push(await importOnce(big, `big${i}`));
    }
    const rssBig = peakRssMb(agent.pid);
    client.close();
    const f = Math.min(...floors);
    const o = Math.min(...ours);
    console.log(`OVA: ${(ovaBytes / MiB).toFixed(0)} MiB file, 2048 MiB capacity`);
    console.log(
      `floor (cat + qemu-img convert): ${f.toFixed(2)} s   [runs: ${floors.map((x) => x.toFixed(2)).join(', ')}]`,
    );
    console.log(
      `import via ImportOva gRPC:      ${o.toFixed(2)} s   [runs: ${ours.map((x) => x.toFixed(2)).join(', ')}]`,
    );
    console.log(`ratio: ${(o / f).toFixed(3)}x (target <= 1.15x)`);
    console.log(
      `agent peak RSS: ${rssSmall.toFixed(0)} MB after a 64 MiB OVA, ${rssBig.toFixed(0)} MB after the 2 GiB OVA (target flat, < 150 MB)`,
    );
    const srv = await viaServer(big, small, 2);
    const s = Math.min(...srv.times);
    console.log(
      `import via server upload (POST /api/v1/templates/uploads + curl PUT, local agent on its Unix socket): ${s.toFixed(2)} s [runs: ${srv.times.map((x) => x.toFixed(2)).join(', ')}], ratio ${(s / f).toFixed(3)}x vs the floor above (target <= 1.15x)`,
    );
    console.log(
      `  CPU seconds (all cores): floor ${Math.min(...floorCpu).toFixed(2)} s, through the server ${Math.min(...srv.cpu).toFixed(2)} s (client, server, agent and qemu-img), ratio ${(Math.min(...srv.cpu) / Math.min(...floorCpu)).toFixed(2)}x`,
    );
    console.log(
      `  peak RSS: server ${srv.serverSmallMb.toFixed(0)} MB after 64 MiB, ${srv.serverMb.toFixed(0)} MB after 2 GiB; ` +
        `agent ${srv.agentSmallMb.toFixed(0)} MB after 64 MiB, ${srv.agentMb.toFixed(0)} MB after 2 GiB (target flat, < 150 MB each)`,
    );
  } finally {
    await agent?.kill('SIGTERM');
    await rm(agentDir, { recursive: true, force: true });
    const virsh = (verb: string) => {
      try {
        execFileSync('virsh', ['-q', '-c', 'qemu:///system', verb, pool], { stdio: 'ignore' });
      } catch {
        // Not started, or already gone.
      }
    };
    virsh('pool-destroy');
    virsh('pool-undefine');
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
