// The whole product for browser tests and the UI budget bench: the UI built into a temp dir, a
// real agent and a real server as child processes (temp data dirs, free loopback ports), stopped
// cleanly. Only loopback traffic.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../agent/src/exec/run.js';
import { readSetupCode } from '../../server/src/services/setup-code.js';
import type { TestContext } from 'node:test';
import type { HostDto } from '../../server/src/dto/hosts.js';
import { spawnAgent, type Child } from '../../server/src/test-support/spawn.js';
import { startTestServer, type TestServer } from '../../server/src/test-support/test-server.js';
import { eventually } from '../../server/src/test-support/guest-pool.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface UiStack {
  /** https://127.0.0.1:<port> */
  url: string;
  uiDir: string;
  /** The first-run setup code the server wrote to its data dir (while setup is open). */
  setupCode(): Promise<string>;
  /** Output of both processes so far (for failure messages). */
  logs(): string;
  stop(): Promise<void>;
}

/** A free TCP port on loopback. */
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

/** Builds the UI with Vite into `outDir` (not ui/dist, which `make dev` owns). */
export async function buildUi(outDir: string): Promise<void> {
  await run(
    join(repoRoot, 'node_modules/.bin/vite'),
    ['build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'],
    {
      cwd: join(repoRoot, 'ui'),
      timeoutMs: 180_000,
    },
  );
}

/** GET over HTTPS to the self-signed server; resolves with the status (0 when unreachable). */
export function httpsStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { rejectUnauthorized: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function startNode(script: string, env: NodeJS.ProcessEnv, log: string[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, script)], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (b: Buffer) => {
    log.push(b.toString());
    if (log.length > 400) log.splice(0, log.length - 400);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Starts agent + server with the UI; resolves once /api/v1/health answers. */
export async function startUiStack(opts: { uiDir?: string } = {}): Promise<UiStack> {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-ui-stack-'));
  // QEMU runs as libvirt-qemu: it must be able to traverse to the pools under the agent's data dir.
  await chmod(dir, 0o755);
  const uiDir = opts.uiDir ?? join(dir, 'ui');
  if (!opts.uiDir) await buildUi(uiDir);
  const [agentPort, serverPort] = [await freePort(), await freePort()];
  const log: string[] = [];
  const agentData = join(dir, 'agent');
  const agent = startNode(
    'agent/src/main.ts',
    { QX_AGENT_DATA_DIR: agentData, QX_AGENT_LISTEN: `127.0.0.1:${agentPort}` },
    log,
  );
  const server = startNode(
    'server/src/main.ts',
    {
      QX_SERVER_DATA_DIR: join(dir, 'server'),
      QX_SERVER_LISTEN: `127.0.0.1:${serverPort}`,
      QX_SERVER_HTTP_LISTEN: '',
      QX_LOCAL_AGENT_ADDRESS: `127.0.0.1:${agentPort}`,
      QX_LOCAL_AGENT_DATA_DIR: agentData,
      QX_UI_DIR: uiDir,
      QX_ADMIN_PASSWORD: '',
    },
    log,
  );
  const url = `https://127.0.0.1:${serverPort}`;
  const stop = async () => {
    await stopChild(server);
    await stopChild(agent);
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  while ((await httpsStatus(`${url}/api/v1/health`)) !== 200) {
    if (Date.now() > deadline || server.exitCode !== null || agent.exitCode !== null) {
      await stop();
      throw new Error(`the server did not come up on ${url}:\n${log.join('').slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  // The local agent joins in the background: wait for it so pages see one online host.
  while (!log.join('').includes('local agent joined')) {
    if (Date.now() > deadline + 60_000) {
      await stop();
      throw new Error(`the local agent did not join:\n${log.join('').slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return { url, uiDir, setupCode: () => readSetupCode(join(dir, 'server')), logs: () => log.join(''), stop };
}

/** The UI built, a real agent process and an in-process server serving both, its local host online. */
export interface InProcessUiStack {
  server: TestServer;
  agent: Child;
  host: HostDto;
}

/**
 * For browser tests that also reach into the server's services or kill the agent: like
 * startUiStack, but the server runs in this process (startTestServer). Cleaned up after `t`.
 */
export async function startInProcessUiStack(t: TestContext, name: string): Promise<InProcessUiStack> {
  const uiDir = await mkdtemp(join(tmpdir(), `qxt-ui-${name}-`));
  const agentDir = await mkdtemp(join(tmpdir(), `qxt-ui-${name}-agent-`));
  t.after(() => rm(uiDir, { recursive: true, force: true }));
  t.after(() => rm(agentDir, { recursive: true, force: true }));
  await buildUi(uiDir);
  const port = await freePort();
  const agent = await spawnAgent(agentDir, port);
  t.after(() => agent.kill('SIGKILL'));
  const server = await startTestServer({
    QX_UI_DIR: uiDir,
    QX_LOCAL_AGENT_ADDRESS: `127.0.0.1:${port}`,
    QX_LOCAL_AGENT_DATA_DIR: agentDir,
  });
  t.after(() => server.stop());
  const host = await eventually('the local host online', async () =>
    (await server.admin.request<HostDto[]>('GET', '/api/v1/hosts')).json.find((h) => h.status === 'online'),
  );
  return { server, agent, host };
}
