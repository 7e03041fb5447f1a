// A control plane on etcd for tests and the benchmark: three real etcd members, and vDC server
// processes (server/src/main.ts) with QX_STORE=etcd sharing them, each with its own data dir
// holding the same etcd-secret.key. The server(s) started first create the admin; every server is
// reachable through its own logged-in ApiClient. close() kills everything and removes the dirs.
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../../server/src/test-support/api-client.js';
import { freePort, listening, spawnNode, type Child } from '../../server/src/test-support/spawn.js';
import { startEtcdCluster, type EtcdCluster } from '../../server/src/test-support/etcd-cluster.js';
import type { HealthDto } from '../../server/src/dto/common.js';
import { SecretBox } from '../../server/src/store/secret-box.js';

export const PASSWORD = 'qxt-etcd-admin-password';

export interface ServerInstance {
  name: string;
  child: Child;
  api: ApiClient;
  health(): Promise<HealthDto | undefined>;
}

export interface ControlPlane {
  etcd: EtcdCluster;
  /** Starts one more server on the cluster (with `env`, e.g. the local agent's address). */
  startServer(name: string, env?: Record<string, string>): Promise<ServerInstance>;
  close(): Promise<void>;
}

export async function startControlPlane(): Promise<ControlPlane> {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-ctlplane-'));
  const children: Child[] = [];
  let etcd: EtcdCluster | undefined;
  const close = async () => {
    await Promise.all(children.map((c) => c.kill('SIGKILL')));
    await etcd?.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    etcd = await startEtcdCluster(3);
  } catch (err) {
    await close();
    throw err;
  }
  const cluster = etcd;
  // The servers' key, made before any server starts (so that servers may start together).
  const keyFrom = join(dir, 'key');
  await SecretBox.create(keyFrom);
  return {
    etcd: cluster,
    close,
    async startServer(name, env = {}) {
      const dataDir = join(dir, name);
      await mkdir(dataDir, { recursive: true, mode: 0o700 });
      // Every server of one control plane holds the same key.
      await copyFile(SecretBox.path(keyFrom), SecretBox.path(dataDir));
      const port = await freePort();
      const child = await spawnNode(
        'server/src/main.ts',
        {
          QX_SERVER_DATA_DIR: dataDir,
          QX_SERVER_LISTEN: `127.0.0.1:${port}`,
          QX_UI_DIR: join(dataDir, 'no-ui'),
          QX_STORE: 'etcd',
          QX_ETCD_ENDPOINTS: cluster.endpoints,
          QX_ADMIN_PASSWORD: PASSWORD,
          ...env,
        },
        async () => existsSync(join(dataDir, 'tls', 'self-signed.crt')) && listening(port),
      );
      children.push(child);
      const api = new ApiClient(
        `https://127.0.0.1:${port}`,
        await readFile(join(dataDir, 'tls', 'self-signed.crt'), 'utf8'),
      );
      const login = await api.login('admin', PASSWORD);
      if (login.status !== 200) throw new Error(`login on ${name} failed: ${login.status} ${login.text}`);
      return {
        name,
        child,
        api,
        health: () =>
          api.request<HealthDto>('GET', '/api/v1/health').then(
            (r) => (r.status === 200 ? r.json : undefined),
            () => undefined,
          ),
      };
    },
  };
}
