// Checks shared by the live-migration tests: the guest's serial counter, the disk compared with
// the test guest image, exactly one running copy and nothing left of a migration on either host.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TaskDto } from '../../server/src/dto/tasks.js';
import type { VmDto } from '../../server/src/dto/vms.js';
import { ConsoleSocket } from '../../server/src/test-support/console-socket.js';
import { eventually, GUEST_QCOW2 } from '../../server/src/test-support/guest-pool.js';
import type { ClusterHost, TwoHosts } from './two-hosts.js';

const exec = promisify(execFile);

export async function openConsole(cluster: TwoHosts, vmId: string): Promise<ConsoleSocket> {
  const { api, server } = cluster;
  const ticket = await api.request<{ url: string }>('POST', `/api/v1/vms/${vmId}/console-ticket`);
  assert.equal(ticket.status, 201, ticket.text);
  return ConsoleSocket.open(`wss://127.0.0.1:${server.running.port}${ticket.json.url}`, {
    ca: server.services.certificate.current.certPem,
    cookie: api.cookie!,
    origin: server.base,
  });
}

export const ticks = (out: string) => [...out.matchAll(/qx-tick (\d+)/g)].map((m) => Number(m[1]));

/** Starts the guest's serial counter (one line a second) and returns its console. */
export async function startCounter(cluster: TwoHosts, vmId: string): Promise<ConsoleSocket> {
  const con = await openConsole(cluster, vmId);
  await con.waitFor('QUANTIX-TEST-GUEST READY', 120_000);
  con.send('qx-run (i=0; while true; do echo qx-tick $i; i=$((i+1)); sleep 1; done) &\r');
  await eventually('the counter', async () => ticks(con.output).length >= 2, 60_000);
  return con;
}

/** Asserts the counter on a fresh console continues past `after` without a new boot banner. */
export async function counterContinues(cluster: TwoHosts, vmId: string, after: number): Promise<void> {
  const con = await openConsole(cluster, vmId);
  try {
    await eventually('the counter to go on', async () => ticks(con.output).some((n) => n > after + 1), 60_000);
    assert.doesNotMatch(con.output, /QUANTIX-TEST-GUEST READY/, 'the guest did not boot again');
  } finally {
    con.close();
  }
}

/** The disk volume is the test guest image, bit for bit (the guest only reads it). */
export async function diskIntact(host: ClusterHost, volume: string): Promise<void> {
  await exec('qemu-img', ['compare', '-q', '-U', GUEST_QCOW2, join(host.poolDir, volume)]);
}

export async function domains(host: ClusterHost): Promise<string[]> {
  return (await host.virsh(['list', '--all', '--name']))
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Exactly one copy runs (on `on`), and nothing of the migration is left on either host. */
export async function oneCopyOn(cluster: TwoHosts, on: ClusterHost, other: ClusterHost, name: string): Promise<void> {
  await eventually(
    `${name} only on ${on.name}, nothing left on ${other.name}`,
    async () =>
      (await domains(on)).includes(name) &&
      !(await domains(other)).includes(name) &&
      !existsSync(join(other.poolDir, `${name}.qcow2`)) &&
      (await migrationSockets(cluster)).length === 0 &&
      (await extraPorts(cluster, on)).length === 0 &&
      (await extraPorts(cluster, other)).length === 0,
    90_000,
  );
  assert.match(await on.virsh(['domstate', name]), /running/);
  await diskIntact(on, `${name}.qcow2`);
  const vm = await eventually('the inventory to follow', async () => {
    const v = (await cluster.api.request<VmDto[]>('GET', '/api/v1/vms')).json.find((x) => x.name === name);
    return v?.hostId === on.id && v;
  });
  assert.equal(vm.state, 'running');
}

/** TCP ports the host's agent listens on besides its gRPC port (a migration's pipe left open). */
export async function extraPorts(cluster: TwoHosts, host: ClusterHost): Promise<string[]> {
  const argv = ['ss', '-Hltnp'];
  const netns = host === cluster.b ? ['ip', 'netns', 'exec', 'qxc-hostb'] : [];
  const cmd = [...netns, ...argv];
  const out = (await exec(cmd[0]!, cmd.slice(1))).stdout;
  const grpcPort = host.address.slice(host.address.lastIndexOf(':') + 1);
  return out
    .split('\n')
    .filter((l) => l.includes(`pid=${host.agent.proc.pid},`))
    .map((l) => l.trim().split(/\s+/)[3] ?? '')
    .filter((local) => local.slice(local.lastIndexOf(':') + 1) !== grpcPort);
}

/** Socket directories of migrations on either host (A: /run; B: its own /run under the harness). */
export async function migrationSockets(cluster: TwoHosts): Promise<string[]> {
  const list = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
  return [...list('/run/quantix/migration'), ...list(join(cluster.bRunDir, 'quantix', 'migration'))];
}

export async function migrate(cluster: TwoHosts, vmId: string, to: ClusterHost, bandwidth?: number) {
  return cluster.api.request<TaskDto>('POST', `/api/v1/vms/${vmId}/migrate`, {
    body: { hostId: to.id, poolId: to.pool, ...(bandwidth ? { bandwidthMibPerS: bandwidth } : {}) },
  });
}

/** Waits until the migration task has really started copying (its first progress figures). */
export async function copying(cluster: TwoHosts, taskId: string): Promise<TaskDto> {
  return eventually(
    'the migration to copy',
    async () => {
      const t = (await cluster.api.request<TaskDto>('GET', `/api/v1/tasks/${taskId}`)).json;
      if (t.status !== 'running') throw new Error(`the task ended before copying: ${t.status} ${t.error ?? ''}`);
      const d = t.detail as { diskPercent?: number; memoryPercent?: number } | undefined;
      return (d?.diskPercent ?? 0) > 0 && t;
    },
    240_000,
  );
}

/** Both hosts online in the vDC again (after an agent restart or a cut link). */
export async function bothOnline(cluster: TwoHosts): Promise<void> {
  await eventually(
    'both hosts online',
    async () => {
      const hosts = (await cluster.api.request<{ status: string }[]>('GET', '/api/v1/hosts')).json;
      return hosts.length === 2 && hosts.every((h) => h.status === 'online');
    },
    120_000,
  );
}
