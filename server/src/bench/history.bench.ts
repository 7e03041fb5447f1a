// Benchmark (#19): the cost of an audited write with a long history. Two real servers in this
// process, one with an empty history and one with 20,000 audit entries and 2,000 tasks (recorded
// through the services, then the server restarted so it loads them from its logs); a client
// process creates and deletes clusters against both, alternating sample by sample. Prints p50/p95
// of the create for both and the ratio of the p95s (target ≤ 1.2×).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cpus, loadavg, tmpdir } from 'node:os';
import { REPO } from '../test-support/spawn.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../test-support/test-server.js';

const AUDIT_ROWS = Number(process.env.QX_BENCH_AUDIT_ROWS ?? 20_000);
const TASKS = Number(process.env.QX_BENCH_TASKS ?? 2_000);
const ROUNDS = Number(process.env.QX_BENCH_ROUNDS ?? 4);
const SAMPLES = Number(process.env.QX_BENCH_SAMPLES ?? 150);

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

/** Records the history through the services, as requests and tasks would. */
async function fillHistory(s: TestServer): Promise<void> {
  const chunk = 500;
  for (let i = 0; i < AUDIT_ROWS; i += chunk) {
    await Promise.all(
      Array.from({ length: Math.min(chunk, AUDIT_ROWS - i) }, (_, j) =>
        s.services.audit.record({
          user: 'admin',
          action: 'startVm',
          method: 'POST',
          path: `/api/v1/vms/bench-vm-${i + j}/start`,
          target: `bench-vm-${i + j}`,
          status: 202,
          detail: '',
          remote: '127.0.0.1',
        }),
      ),
    );
  }
  for (let i = 0; i < TASKS; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, TASKS - i) }, (_, j) =>
        s.services.tasks.runToEnd(
          {
            kind: 'vm.start',
            target: { type: 'vm', id: `bench-vm-${i + j}`, name: `bench-vm-${i + j}` },
            hostId: null,
            user: 'admin',
          },
          async (t) => {
            t.log('started');
            return { ok: true };
          },
        ),
      ),
    );
  }
}

/** Sorted create times (ms) per server, measured by write-latency-client.ts in a process of its own. */
async function measure(servers: Record<'empty' | 'full', TestServer>): Promise<Record<'empty' | 'full', number[]>> {
  const targets = Object.entries(servers).map(([tag, s]) => ({
    tag,
    base: s.base,
    caPem: s.admin.caPem,
    cookie: s.admin.cookie ?? '',
    csrf: s.admin.csrf ?? '',
  }));
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn(
      process.execPath,
      ['--import', 'tsx', `${REPO}/server/src/bench/write-latency-client.ts`, JSON.stringify(targets), String(SAMPLES)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let text = '';
    p.stdout!.on('data', (d: Buffer) => (text += d.toString()));
    p.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`write client failed (${code})`))));
  });
  return JSON.parse(out) as Record<'empty' | 'full', number[]>;
}

const fullDir = await mkdtemp(join(tmpdir(), 'qxt-bench-history-'));
const empty = await startTestServer();
let full = await startTestServer({}, { dataDir: fullDir });
try {
  const t0 = Date.now();
  await fillHistory(full);
  const filled = (Date.now() - t0) / 1000;
  // Restart on the same data dir: the history is loaded from the logs as after a reboot.
  await full.stop();
  const t1 = Date.now();
  full = await startTestServer({}, { dataDir: fullDir, setup: false });
  const loaded = (Date.now() - t1) / 1000;
  const login = await full.admin.login('admin', ADMIN_PASSWORD);
  if (login.status !== 200) throw new Error(`sign-in after restart: ${login.status} ${login.text}`);
  const listed = (await full.admin.request<unknown[]>('GET', '/api/v1/audit?limit=1000')).json.length;
  const tasks = (await full.admin.request<unknown[]>('GET', '/api/v1/tasks?limit=1000')).json.length;
  console.log(
    `load average on this machine: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} (${cpus().length} cores; other work shares them)`,
  );
  console.log(
    `history: ${AUDIT_ROWS} audit entries and ${TASKS} tasks recorded in ${filled.toFixed(1)} s; restart with them took ${loaded.toFixed(2)} s ` +
      `(first pages: ${listed} audit entries, ${tasks} tasks)`,
  );

  const all = { empty: [] as number[], full: [] as number[] };
  const ratios: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const r = await measure({ empty, full });
    all.empty.push(...r.empty);
    all.full.push(...r.full);
    ratios.push(pct(r.full, 0.95) / pct(r.empty, 0.95));
    console.log(
      `round ${round}: p95 empty ${pct(r.empty, 0.95).toFixed(2)} ms, with history ${pct(r.full, 0.95).toFixed(2)} ms, ratio ${ratios.at(-1)!.toFixed(2)}×`,
    );
  }
  all.empty.sort((a, b) => a - b);
  all.full.sort((a, b) => a - b);
  const ratio = pct(all.full, 0.95) / pct(all.empty, 0.95);
  console.log(`POST /api/v1/clusters (audited db write), ${ROUNDS}×${SAMPLES} samples each:`);
  console.log(
    `  empty history:                  p50 ${pct(all.empty, 0.5).toFixed(2)} ms  p95 ${pct(all.empty, 0.95).toFixed(2)} ms`,
  );
  console.log(
    `  ${AUDIT_ROWS} audit + ${TASKS} tasks:    p50 ${pct(all.full, 0.5).toFixed(2)} ms  p95 ${pct(all.full, 0.95).toFixed(2)} ms`,
  );
  console.log(
    `p95 ratio with history / empty: ${ratio.toFixed(2)}× (target ≤ 1.2×: ${ratio <= 1.2 ? 'met' : 'NOT met'})`,
  );
} finally {
  await empty.stop();
  await full.stop();
  await rm(fullDir, { recursive: true, force: true });
}
