// A real etcd cluster for tests: `etcd` members (Debian's etcd-server) on free loopback ports with
// temp data dirs; a member can be killed (kill -9) and started again on its data; close() kills
// them all and removes their data.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { listening } from './spawn.js';
import { createServer, type Server } from 'node:net';
import { eventually } from './guest-pool.js';

export interface EtcdMember {
  name: string;
  clientUrl: string;
  /** kill -9; resolves once it has exited. */
  kill(): Promise<void>;
  /** Starts the member again on its data dir; resolves once it listens. */
  start(): Promise<void>;
}

export interface EtcdCluster {
  members: EtcdMember[];
  /** Client URLs, comma-separated (QX_ETCD_ENDPOINTS). */
  endpoints: string;
  close(): Promise<void>;
}

export async function startEtcdCluster(size = 3): Promise<EtcdCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-etcd-'));
  const token = `qxt-${randomBytes(4).toString('hex')}`;
  const free = await freePorts(size * 2);
  const ports = Array.from({ length: size }, (_, i) => [free[2 * i]!, free[2 * i + 1]!] as const);
  const initial = ports.map(([, peer], i) => `m${i}=http://127.0.0.1:${peer}`).join(',');
  const procs = new Map<string, ChildProcess>();
  const members: EtcdMember[] = ports.map(([client, peer], i) => {
    const name = `m${i}`;
    const clientUrl = `http://127.0.0.1:${client}`;
    let out = '';
    const member: EtcdMember = {
      name,
      clientUrl,
      async kill() {
        const p = procs.get(name);
        procs.delete(name);
        if (!p || p.exitCode !== null || p.signalCode !== null) return;
        await new Promise<void>((resolve) => {
          p.once('exit', () => resolve());
          p.kill('SIGKILL');
        });
      },
      async start() {
        const p = spawn(
          'etcd',
          [
            `--name=${name}`,
            `--data-dir=${join(dir, name)}`,
            `--listen-client-urls=${clientUrl}`,
            `--advertise-client-urls=${clientUrl}`,
            `--listen-peer-urls=http://127.0.0.1:${peer}`,
            `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
            `--initial-cluster=${initial}`,
            `--initial-cluster-token=${token}`,
            '--initial-cluster-state=new',
            '--log-level=error',
            '--logger=zap',
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        p.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-8000)));
        p.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-8000)));
        procs.set(name, p);
        await eventually(
          `etcd member ${name} listening on ${client}`,
          async () => {
            if (p.exitCode !== null) throw new Error(`etcd ${name} exited (${p.exitCode}):\n${out}`);
            return listening(client);
          },
          30_000,
        );
      },
    };
    return member;
  });
  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((m) => m.clientUrl).join(','),
    async close() {
      await Promise.all(members.map((m) => m.kill()));
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(members.map((m) => m.start()));
  } catch (err) {
    await cluster.close();
    throw err;
  }
  return cluster;
}

/**
 * `count` distinct loopback ports for etcd to bind, below the kernel's ephemeral range (32768+):
 * ports taken with listen(0) and released came back twice in one batch, or were taken by an
 * outgoing connection before etcd bound them ("bind: address already in use"). Each is checked
 * free, and all are held until all are found.
 */
export async function freePorts(count: number): Promise<number[]> {
  const held: Server[] = [];
  const ports: number[] = [];
  try {
    while (ports.length < count) {
      const port = 20_000 + Math.floor(Math.random() * 12_000);
      if (ports.includes(port)) continue;
      const s = createServer();
      const ok = await new Promise<boolean>((resolve) => {
        s.once('error', () => resolve(false));
        s.listen(port, '127.0.0.1', () => resolve(true));
      });
      if (!ok) continue;
      held.push(s);
      ports.push(port);
    }
    return ports;
  } finally {
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  }
}
