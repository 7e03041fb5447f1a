// Real processes for tests: the server or an agent as a child (node --import tsx), waiting until
// it listens; free loopback ports.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AGENT_HEAP_FLAGS } from '@quantix/proto/bulk/heap-flags.js';

export const REPO = fileURLToPath(new URL('../../..', import.meta.url));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Child {
  proc: ChildProcess;
  output: () => string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `node [--import tsx] <entry>` (tsx for a .ts entry) with `env`; resolves once `ready()` is true. */
export async function spawnNode(
  entry: string,
  env: Record<string, string>,
  ready: () => boolean | Promise<boolean>,
  opts: { command?: string[] } = {},
): Promise<Child> {
  if (!entry.endsWith('.ts') && !existsSync(`${REPO}/${entry}`))
    throw new Error(`${entry} is missing: run \`make build\` first`);
  const loader = entry.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const heapFlags = entry.startsWith('agent/') ? AGENT_HEAP_FLAGS : []; // as the image starts it
  const argv = [...(opts.command ?? []), process.execPath, ...heapFlags, ...loader, `${REPO}/${entry}`];
  const proc = spawn(argv[0]!, argv.slice(1), {
    cwd: REPO,
    env: { ...process.env, QX_LOG: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const child: Child = {
    proc,
    output: () => out,
    kill: (signal = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill(signal);
      }),
  };
  const deadline = Date.now() + 30_000;
  while (!(await ready())) {
    if (proc.exitCode !== null) throw new Error(`${entry} exited (${proc.exitCode}):\n${out}`);
    if (Date.now() > deadline) {
      await child.kill('SIGKILL');
      throw new Error(`${entry} did not become ready:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return child;
}

/** A real agent process on `port` with its own data dir; `built`: agent/dist as the image runs it. */
export function spawnAgent(
  dataDir: string,
  port: number,
  env: Record<string, string> = {},
  opts: { built?: boolean } = {},
): Promise<Child> {
  return spawnNode(
    opts.built ? 'agent/dist/main.js' : 'agent/src/main.ts',
    { QX_AGENT_DATA_DIR: dataDir, QX_AGENT_LISTEN: `127.0.0.1:${port}`, ...env },
    () =>
      existsSync(`${dataDir}/join-token`) || existsSync(`${dataDir}/identity/vdc-ca.crt`) ? listening(port) : false,
  );
}

export function listening(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    import('node:net').then(({ connect }) => {
      const s = connect({ port, host }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
  });
}
