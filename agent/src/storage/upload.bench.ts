// Benchmark: a 2 GiB volume upload through the agent (gRPC client stream over mTLS into a loop
// pool) against `cp` of the same file on the same filesystem, same run. Prints both throughputs,
// the ratio (target ≥ 0.7× cp) and the agent's RSS during the upload (target flat, < 150 MB),
// sampled from /proc/<pid>/status of the agent child process, built (agent/dist) as the image
// runs it. Cleans up everything it made.
import { randomFillSync } from 'node:crypto';
import { open, mkdtemp, readFile, rm, stat, unlink } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PoolKind, VolumeFormat } from '@quantix/proto/v1/storage.js';
import { run } from '../exec/run.js';
import { Virsh } from '../libvirt/virsh.js';
import { promisify } from '../test-support/promisify.js';
import { newVdc, startAgentProcess, type AgentProcess } from './test-support/agent-process.js';
import { releaseStorageUnder } from './test-support/cleanup.js';
import { uploadFile } from './test-support/transfer-client.js';

const GIB = 1024 * 1024 * 1024;
const SIZE = 2 * GIB;
const BLOCK = 16 * 1024 * 1024;
const CHUNK = Number(process.env.QX_BENCH_CHUNK ?? 256 * 1024);

async function memoryOf(pid: number): Promise<{ rss: number; hwm: number }> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

/** User + system CPU seconds of a process so far. */
async function cpuSecondsOf(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function writeSource(path: string): Promise<void> {
  const fh = await open(path, 'wx', 0o600);
  try {
    const block = Buffer.alloc(BLOCK);
    for (let done = 0; done < SIZE; done += BLOCK) {
      randomFillSync(block);
      await fh.write(block);
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(0);
const rate = (seconds: number) => `${(SIZE / 1e6 / seconds).toFixed(0)} MB/s`;

const dataDir = await mkdtemp(join(tmpdir(), 'qxt-st-bench-'));
const poolName = `qxt-st-bench-${process.pid}`;
let agent: AgentProcess | undefined;
try {
  agent = await startAgentProcess(dataDir, await newVdc(), { built: true });
  const s = agent.storage;
  const pool = await promisify(s, s.createPool)({ name: poolName, kind: PoolKind.POOL_KIND_LOOP, sizeBytes: 5 * GIB + 512 * 1024 * 1024, filesystem: 'ext4', path: '' });
  const source = join(pool.path, '.bench-source');
  const copy = join(pool.path, '.bench-cp');
  await writeSource(source);

  // Baseline: cp on the same filesystem, then made durable like the upload (which fsyncs).
  const cpSeconds = await timed(() => run('cp', [source, copy], { timeoutMs: 600_000 }));
  const syncSeconds = await timed(() => run('sync', [copy], { timeoutMs: 600_000 }));
  await unlink(copy);

  const pid = agent.pid;
  const before = await memoryOf(pid);
  const cpuBefore = await cpuSecondsOf(pid);
  let peakRss = before.rss;
  const samples: number[] = [];
  const poll = setInterval(() => {
    memoryOf(pid).then(
      (m) => {
        peakRss = Math.max(peakRss, m.rss);
        samples.push(m.rss);
      },
      () => undefined,
    );
  }, 50);
  const uploadSeconds = await timed(() =>
    uploadFile(s, { pool: poolName, name: 'bench.raw', format: VolumeFormat.VOLUME_FORMAT_RAW, sizeBytes: SIZE }, source, CHUNK),
  );
  const agentCpu = (await cpuSecondsOf(pid)) - cpuBefore;
  clearInterval(poll);
  const after = await memoryOf(pid);
  if ((await stat(join(pool.path, 'bench.raw'))).size !== SIZE) throw new Error('uploaded volume has the wrong size');

  const cpTotal = cpSeconds + syncSeconds;
  console.log(`cp (same filesystem) + sync:   ${rate(cpTotal)} (${cpTotal.toFixed(2)} s; cp alone ${rate(cpSeconds)})`);
  console.log(`agent upload (gRPC, mTLS):     ${rate(uploadSeconds)} (${uploadSeconds.toFixed(2)} s, includes fsync and image sniffing)`);
  console.log(`agent CPU during the upload:  ${agentCpu.toFixed(1)} s (${CHUNK / 1024} KiB messages); load average ${loadavg()[0]!.toFixed(1)}`);
  console.log(`ratio upload / (cp + sync):    ${(cpTotal / uploadSeconds).toFixed(2)}x  (target >= 0.7)`);
  console.log(`ratio upload / cp alone:       ${(cpSeconds / uploadSeconds).toFixed(2)}x`);
  const mid = samples.slice(Math.floor(samples.length / 4));
  console.log(
    `agent RSS: before ${mb(before.rss)} MB, peak during upload ${mb(peakRss)} MB, VmHWM ${mb(after.hwm)} MB, ` +
      `range over the last 3/4 of the upload ${mb(Math.min(...mid))}-${mb(Math.max(...mid))} MB (target flat, < 150 MB)`,
  );

  await promisify(s, s.deleteVolume)({ pool: poolName, name: 'bench.raw' });
  await unlink(source);
  await promisify(s, s.deletePool)({ name: poolName, deleteBackingFile: true });
} finally {
  await agent?.kill('SIGTERM');
  await releaseStorageUnder(dataDir, poolName, new Virsh('qemu:///system'));
  await rm(dataDir, { recursive: true, force: true });
}
