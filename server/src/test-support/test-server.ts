// A real server for tests: temp data dir, HTTPS on a free loopback port, the first admin set up
// (with the setup code the server wrote to its data dir); helpers for clients signed in with each
// role. Optionally auto-joins a local agent; `setup: false` leaves first-run setup open.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadServerConfig } from '../config.js';
import { createServices, type Services } from '../compose.js';
import { startServer, type RunningServer } from '../server.js';
import type { Role } from '../dto/operation.js';
import { ApiClient } from './api-client.js';
import { readSetupCode } from '../services/setup-code.js';

export const ADMIN_PASSWORD = 'qxt-srv-admin-password';

export interface TestServer {
  dataDir: string;
  services: Services;
  running: RunningServer;
  base: string;
  admin: ApiClient;
  client(): ApiClient;
  /** A new user with `role`, signed in. */
  userWithRole(role: Role): Promise<ApiClient>;
  stop(): Promise<void>;
}

let users = 0;

export interface TestServerOptions {
  /** An existing data dir (e.g. to restart on the same state); kept by stop(). */
  dataDir?: string;
  /** false = leave first-run setup to the test (`admin` is then not signed in). */
  setup?: boolean;
}

export async function startTestServer(
  env: Record<string, string> = {},
  opts: TestServerOptions = {},
): Promise<TestServer> {
  process.env.QX_LOG ??= 'silent';
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'qxt-srv-')));
  const config = loadServerConfig(
    { QX_SERVER_DATA_DIR: dataDir, QX_SERVER_LISTEN: '127.0.0.1:0', QX_UI_DIR: join(dataDir, 'no-ui'), ...env },
    '',
  );
  const services = await createServices(config);
  const running = await startServer(services);
  services.start();
  const base = `https://127.0.0.1:${running.port}`;
  // Pins the chain served at start, as a real client would: the generated certificates all come
  // from the appliance's HTTPS CA, so a regeneration (another test adds an address) keeps it valid.
  const client = () => new ApiClient(base, services.certificate.current.certPem);
  const admin = client();
  if (opts.setup !== false) {
    const setupCode = await readSetupCode(dataDir);
    const body = { username: 'admin', password: ADMIN_PASSWORD, setupCode };
    const setup = await admin.request<{ csrfToken: string }>('POST', '/api/v1/setup', { body });
    if (setup.status !== 201) throw new Error(`setup failed: ${setup.status} ${setup.text}`);
    admin.csrf = setup.json.csrfToken;
  }
  return {
    dataDir,
    services,
    running,
    base,
    admin,
    client,
    async userWithRole(role) {
      const username = `qxt-${role}-${++users}`;
      const r = await admin.request('POST', '/api/v1/users', { body: { username, password: ADMIN_PASSWORD, role } });
      if (r.status !== 201) throw new Error(`create user failed: ${r.status} ${r.text}`);
      const c = client();
      await c.login(username, ADMIN_PASSWORD);
      return c;
    },
    async stop() {
      await services.stop();
      await running.close();
      if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
