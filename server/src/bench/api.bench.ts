// Benchmark: 100 FakeAgents (simulated hosts, a gRPC fake — see fake-agent.ts) with 100 VMs each,
// joined through the real API. Prints p50/p95 of GET /api/v1/vms against GET /api/v1/health
// (baseline, same run), of a page of GET /api/v1/vms/page (first, filtered, deep) against that
// full list (target: first page p95 ≤ 50 ms, #23), and the server's CPU while every host
// heartbeats (target ≤ 25 % of a core).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { REPO } from '../test-support/spawn.js';
import { startTestServer } from '../test-support/test-server.js';
import type { ApiClient } from '../test-support/api-client.js';
import type { HostDto } from '../dto/hosts.js';
import type { VmPageDto } from '../dto/vms.js';

const HOSTS = Number(process.env.QX_BENCH_HOSTS ?? 100);
const VMS = Number(process.env.QX_BENCH_VMS ?? 100);
const SAMPLES = 200;
const PAGE_TARGET_MS = 50;
const CPU_WINDOW_MS = 20_000;

const child = spawn(
  process.execPath,
  ['--import', 'tsx', `${REPO}/server/src/bench/fake-agents-main.ts`, String(HOSTS), String(VMS)],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
const fakes = JSON.parse(line) as { certPem: string; agents: { port: number; hostId: string }[] };
const s = await startTestServer();
try {
  const api = s.admin;
  const t0 = Date.now();
  for (const a of fakes.agents) {
    const address = `127.0.0.1:${a.port}`;
    const probe = await api.request<{ fingerprint: string }>('POST', '/api/v1/hosts/probe', { body: { address } });
    const added = await api.request('POST', '/api/v1/hosts', {
      body: { address, fingerprint: probe.json.fingerprint, joinToken: 'fake', name: `fake-${a.port}` },
    });
    if (added.status !== 201) throw new Error(`joining FakeAgent ${address}: ${added.status} ${added.text}`);
  }
  for (;;) {
    const hosts = (await api.request<HostDto[]>('GET', '/api/v1/hosts')).json;
    if (hosts.filter((h) => h.status === 'online').length === HOSTS) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  let vmCount = 0;
  while ((vmCount = (await api.request<unknown[]>('GET', '/api/v1/vms')).json.length) < HOSTS * VMS) {
    await new Promise((r) => setTimeout(r, 200));
  }
  console.log(
    `load average on this machine: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} (${cpus().length} cores; other work shares them)`,
  );
  console.log(`joined ${HOSTS} FakeAgents (${vmCount} VMs) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  // Pages (#23): the first one (what the VM list opens on), a filtered and sorted one, one deep in;
  // measured before the full list so its 9 MB replies' garbage does not land on them.
  let middle = '';
  for (let walked = 0; walked < vmCount / 2; walked += 1000) {
    const from = middle ? `&cursor=${middle}` : '';
    middle = (await api.request<VmPageDto>('GET', `/api/v1/vms/page?limit=1000${from}`)).json.nextCursor ?? '';
  }
  const pagePaths: [string, string][] = [
    ['first page', '/api/v1/vms/page?limit=100'],
    ['filtered page (state=running, sort=host desc)', '/api/v1/vms/page?limit=100&state=running&sort=host&order=desc'],
    ['page from the middle (cursor)', `/api/v1/vms/page?limit=100&cursor=${middle}`],
  ];
  const health = await latency(api, '/api/v1/health');
  const pages = [];
  for (const [label, path] of pagePaths) pages.push({ label, ...(await latency(api, path)) });
  const vms = await latency(api, '/api/v1/vms');
  const vmsBytes = vms.bytes;
  console.log(`GET /api/v1/health (baseline): p50 ${health.p50.toFixed(2)} ms  p95 ${health.p95.toFixed(2)} ms`);
  console.log(
    `GET /api/v1/vms (${vmCount} VMs, ${(vmsBytes / 1e6).toFixed(1)} MB JSON, gzip on the wire): p50 ${vms.p50.toFixed(2)} ms  p95 ${vms.p95.toFixed(2)} ms  ` +
      `= ${(vms.p95 / health.p95).toFixed(1)}× baseline p95`,
  );
  for (const p of pages) {
    const first = p.label === 'first page';
    console.log(
      `GET /api/v1/vms/page ${p.label}, 100 of ${vmCount} VMs (${(p.bytes / 1e3).toFixed(0)} kB JSON): ` +
        `p50 ${p.p50.toFixed(2)} ms  p95 ${p.p95.toFixed(2)} ms = ${(p.p95 / vms.p95).toFixed(3)}× the full list's p95` +
        (first ? `  (target p95 ≤ ${PAGE_TARGET_MS} ms: ${p.p95 <= PAGE_TARGET_MS ? 'met' : 'NOT met'})` : ''),
    );
  }

  await new Promise((r) => setTimeout(r, 3_000));
  const cpu0 = process.cpuUsage();
  const w0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, CPU_WINDOW_MS));
  const cpu = process.cpuUsage(cpu0);
  const wallMs = Number(process.hrtime.bigint() - w0) / 1e6;
  const pct = ((cpu.user + cpu.system) / 1000 / wallMs) * 100;
  console.log(
    `server CPU while ${HOSTS} hosts heartbeat (2 s) and send metrics (5 s): ${pct.toFixed(1)} % of one core over ${(wallMs / 1000).toFixed(0)} s ` +
      `(target ≤ 25 %: ${pct <= 25 ? 'met' : 'NOT met'})`,
  );
} finally {
  await s.stop();
  child.kill('SIGTERM');
}

/** p50/p95 measured by a separate client process (latency-client.ts), as a browser would see it. */
async function latency(api: ApiClient, path: string): Promise<{ p50: number; p95: number; bytes: number }> {
  const caFile = join(s.dataDir, 'bench-ca.pem');
  await writeFile(caFile, api.caPem);
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        `${REPO}/server/src/bench/latency-client.ts`,
        api.base,
        caFile,
        api.cookie ?? '',
        path,
        String(SAMPLES),
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let text = '';
    p.stdout!.on('data', (d: Buffer) => (text += d.toString()));
    p.on('exit', (code) =>
      code === 0 ? resolve(text) : reject(new Error(`latency client for ${path} failed (${code})`)),
    );
  });
  return JSON.parse(out) as { p50: number; p95: number; bytes: number };
}
