// Appliances on this machine for the control-plane tests: each a real vDC server process with its
// own data dir under its own root (server/, etcd/, etcd-client/ as /var/lib/quantix holds them),
// its own loopback ports for HTTPS and its etcd member, restarted when it exits asking for it (as
// systemd does), and its member started by member-launcher.mjs (systemctl's part). kill() is the
// appliance dying: kill -9 of its server and its etcd member.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiClient } from '../../server/src/test-support/api-client.js';
import { listening, spawnNode, type Child } from '../../server/src/test-support/spawn.js';
import { freePorts } from '../../server/src/test-support/etcd-cluster.js';

export const PASSWORD = 'qxt-controlplane-admin';
/** The server's exit status asking to be started again (server/src/main.ts). */
const RESTART_STATUS = 75;
const LAUNCHER = fileURLToPath(new URL('./member-launcher.mjs', import.meta.url));

export interface Appliance {
  name: string;
  /** https://127.0.0.1:port of its UI and API. */
  base: string;
  /** Its etcd member's peer port. */
  peerPort: number;
  /** host:port of its HTTPS API. */
  address: string;
  dataDir: string;
  /** A logged-in admin client of the server running now. */
  api(): ApiClient;
  /** Resolves once the server has exited asking for a restart and the next one is signed in. */
  restarted(): Promise<void>;
  /** Stops the server and starts it again with `extra` in its environment (e.g. QX_CONTROLPLANE). */
  restartWith(extra: Record<string, string>): Promise<void>;
  /** kill -9 of the server and of the etcd member. */
  kill(): Promise<void>;
  output(): string;
  close(): Promise<void>;
}

export async function startAppliance(
  root: string,
  name: string,
  extraEnv: Record<string, string> = {},
): Promise<Appliance> {
  const dir = join(root, name);
  const dataDir = join(dir, 'server');
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const [https, client, peer] = await freePorts(3);
  const env: Record<string, string> = {
    QX_SERVER_DATA_DIR: dataDir,
    QX_SERVER_LISTEN: `127.0.0.1:${https}`,
    QX_UI_DIR: join(dataDir, 'no-ui'),
    QX_ADMIN_PASSWORD: PASSWORD,
    QX_CONTROLPLANE_ROOT: dir,
    QX_ETCD_CLIENT_PORT: String(client),
    QX_ETCD_PEER_PORT: String(peer),
    QX_ETCD_MEMBER_START: `${process.execPath} ${LAUNCHER}`,
    ...extraEnv,
  };
  let child: Child;
  let api: ApiClient;
  let log = '';
  let closed = false;
  /** Set while the test itself stops the server (restartWith): that exit is not a failure. */
  let stopping = false;
  let next: Promise<void> | undefined;
  const spawnServer = async (): Promise<void> => {
    const proc = (child = await spawnNode(
      'server/src/main.ts',
      env,
      async () => existsSync(join(dataDir, 'tls', 'self-signed.crt')) && listening(https!),
    ));
    // systemd's Restart= for the exit that asks for it.
    next = new Promise<void>((resolve, reject) => {
      proc.proc.once('exit', (code) => {
        log += proc.output();
        if (stopping || closed) return resolve();
        if (code !== RESTART_STATUS) return reject(new Error(`${name}: server exited (${code}):\n${log}`));
        spawnServer().then(resolve, reject);
      });
    });
    next.catch(() => {}); // awaited only by restarted()
    const c = new ApiClient(
      `https://127.0.0.1:${https}`,
      await readFile(join(dataDir, 'tls', 'self-signed.crt'), 'utf8'),
    );
    const login = await c.login('admin', PASSWORD).catch((err: Error) => ({ status: 0, text: err.message }));
    if (login.status === 200) {
      api = c;
      return;
    }
    // A server switching to a control plane at start (quantix.controlplane=) refuses sign-ins (a
    // session is a write) and goes away: the next one is signed in to instead.
    const exited = await new Promise<boolean>((resolve) => {
      if (proc.proc.exitCode !== null) return resolve(true);
      const timer = setTimeout(() => resolve(false), 60_000);
      proc.proc.once('exit', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (exited && proc.proc.exitCode === RESTART_STATUS) return next;
    throw new Error(`${name}: login failed: ${login.status} ${login.text}\n${proc.output()}`);
  };
  await spawnServer();
  const memberPid = async () => {
    const f = join(dir, 'etcd', 'member.pid');
    return existsSync(f) ? Number(await readFile(f, 'utf8')) : undefined;
  };
  const killMember = async () => {
    const pid = await memberPid();
    if (!pid) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return; // gone
    }
    while (existsSync(`/proc/${pid}`)) await new Promise((r) => setTimeout(r, 50));
  };
  const appliance: Appliance = {
    name,
    address: `127.0.0.1:${https}`,
    base: `https://127.0.0.1:${https}`,
    peerPort: peer!,
    dataDir,
    api: () => api,
    restarted: () => next!,
    async restartWith(extra) {
      stopping = true;
      await child.kill('SIGTERM');
      await next;
      stopping = false;
      Object.assign(env, extra);
      await spawnServer();
    },
    output: () => log + child.output(),
    async kill() {
      closed = true;
      await child.kill('SIGKILL');
      await killMember();
    },
    async close() {
      await appliance.kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return appliance;
}
