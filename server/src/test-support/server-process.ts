// The built server (server/dist/main.js, as the image runs it) in a process of its own, for
// benchmarks that measure the server's memory apart from the client driving it: HTTPS on a
// free loopback port, a temp data dir, the first admin set up.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from './api-client.js';
import { freePort, listening, spawnNode, type Child } from './spawn.js';
import { readSetupCode } from '../services/setup-code.js';

export interface ServerProcess {
  child: Child;
  admin: ApiClient;
  stop(): Promise<void>;
}

export interface ServerProcessOptions {
  /** More environment (e.g. QX_LOCAL_AGENT_ADDRESS / QX_LOCAL_AGENT_DATA_DIR). */
  env?: Record<string, string>;
  /** Run server/src/main.ts through tsx instead of the built server/dist. */
  source?: boolean;
}

export async function startServerProcess(
  password = 'qxt-bench-admin-password',
  options: ServerProcessOptions = {},
): Promise<ServerProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), 'qxt-srvproc-'));
  const port = await freePort();
  const child = await spawnNode(
    options.source ? 'server/src/main.ts' : 'server/dist/main.js',
    {
      QX_SERVER_DATA_DIR: dataDir,
      QX_SERVER_LISTEN: `127.0.0.1:${port}`,
      QX_UI_DIR: join(dataDir, 'no-ui'),
      QX_LOG: 'silent',
      ...options.env,
    },
    () => listening(port),
  );
  try {
    const certPem = await readFile(join(dataDir, 'tls', 'self-signed.crt'), 'utf8');
    const admin = new ApiClient(`https://127.0.0.1:${port}`, certPem);
    const body = { username: 'admin', password, setupCode: await readSetupCode(dataDir) };
    const setup = await admin.request<{ csrfToken: string }>('POST', '/api/v1/setup', { body });
    if (setup.status !== 201) throw new Error(`setup failed: ${setup.status} ${setup.text}`);
    admin.csrf = setup.json.csrfToken;
    return {
      child,
      admin,
      async stop() {
        await child.kill();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await child.kill();
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
}
