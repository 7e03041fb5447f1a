// Soak, not part of `make bench` (it takes an hour by default): the built server with two joined
// built agents, left idle as an appliance sits between operator actions (the server polls and
// watches both), sampling each process's RSS. One agent starts as the image starts it (with
// AGENT_HEAP_FLAGS), the other without them: the baseline for what the flag costs over time.
//   make build && QX_SOAK_MINUTES=60 node --import tsx test/bench/idle-rss.soak.ts
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_HEAP_FLAGS } from '@quantix/proto/bulk/heap-flags.js';
import type { ApiClient } from '../../server/src/test-support/api-client.js';
import { startServerProcess } from '../../server/src/test-support/server-process.js';
import { freePort, listening, REPO } from '../../server/src/test-support/spawn.js';

const minutes = Number(process.env.QX_SOAK_MINUTES ?? 60);
const sampleMs = Number(process.env.QX_SOAK_SAMPLE_S ?? 30) * 1000;
const settleMs = 60_000;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s`);
    await sleep(200);
  }
}

/** A built agent on a free loopback port, with or without the image's heap flags, joined to the server. */
async function joinedAgent(api: ApiClient, name: string, heapFlags: readonly string[]) {
  const dataDir = await mkdtemp(join(tmpdir(), `qxt-soak-${name}-`));
  const port = await freePort();
  const proc = spawn(process.execPath, [...heapFlags, join(REPO, 'agent/dist/main.js')], {
    cwd: REPO,
    env: { ...process.env, QX_LOG: 'silent', QX_AGENT_DATA_DIR: dataDir, QX_AGENT_LISTEN: `127.0.0.1:${port}` },
    stdio: 'ignore',
  });
  const stop = async () => {
    proc.kill();
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await until(`agent ${name} ready`, async () => existsSync(join(dataDir, 'join-token')) && (await listening(port)));
    const token = readFileSync(join(dataDir, 'join-token'), 'utf8').trim();
    const probe = await api.request<{ address: string; fingerprint: string }>('POST', '/api/v1/hosts/probe', {
      body: { address: `127.0.0.1:${port}` },
    });
    if (probe.status !== 200) throw new Error(`probe ${name}: ${probe.text}`);
    const added = await api.request<{ id: string }>('POST', '/api/v1/hosts', {
      body: {
        address: probe.json.address,
        fingerprint: probe.json.fingerprint,
        joinToken: token,
        name: `qxt-soak-${name}-${process.pid}`,
      },
    });
    if (added.status !== 201) throw new Error(`add host ${name}: ${added.text}`);
    await until(
      `host ${name} online`,
      async () =>
        (await api.request<{ status: string }>('GET', `/api/v1/hosts/${added.json.id}`)).json.status === 'online',
    );
    return { pid: proc.pid!, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function main(): Promise<void> {
  const server = await startServerProcess();
  const agents: { name: string; pid: number; stop: () => Promise<void> }[] = [];
  try {
    agents.push({ name: 'agent (image flags)', ...(await joinedAgent(server.admin, 'flagged', AGENT_HEAP_FLAGS)) });
    agents.push({ name: 'agent (no flags)', ...(await joinedAgent(server.admin, 'plain', [])) });
    const procs = [{ name: 'server', pid: server.child.proc.pid! }, ...agents];
    await sleep(settleMs);
    const first = procs.map((p) => rssMb(p.pid));
    const max = [...first];
    const started = Date.now();
    console.log(`idle soak: ${minutes} min, RSS every ${sampleMs / 1000} s after a ${settleMs / 1000} s settle`);
    console.log(`  min  ${procs.map((p) => p.name.padStart(20)).join('')}`);
    let last = first;
    while (Date.now() - started < minutes * 60_000) {
      await sleep(sampleMs);
      last = procs.map((p) => rssMb(p.pid));
      last.forEach((mb, i) => (max[i] = Math.max(max[i]!, mb)));
      const at = ((Date.now() - started) / 60_000).toFixed(1).padStart(5);
      console.log(`${at}  ${last.map((mb) => `${mb.toFixed(1)} MB`.padStart(20)).join('')}`);
    }
    console.log('summary (RSS at the end / after the settle; peak):');
    procs.forEach((p, i) =>
      console.log(
        `  ${p.name.padEnd(20)} ${first[i]!.toFixed(1)} → ${last[i]!.toFixed(1)} MB (${(last[i]! / first[i]!).toFixed(3)}×), peak ${max[i]!.toFixed(1)} MB`,
      ),
    );
  } finally {
    for (const a of agents) await a.stop();
    await server.stop();
  }
}

await main();
