// Test harness: a real agent (gRPC over TLS, real libvirt) in a temp data dir, joined to a
// throwaway vDC CA, with mTLS clients for every service. Two entry points sharing the vDC, join
// and client setup: startTestAgent runs the agent in this process (most tests); startAgentProcess
// runs it as a child process (`node --import tsx agent/src/main.ts`, or the built agent/dist/main.js
// as the image ships it) for kill -9 restarts and memory measurements (tsx alone adds ~20 MB).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ChannelCredentials, Client } from '@grpc/grpc-js';
import { EnrollServiceClient, HostServiceClient } from '@quantix/proto/v1/host.js';
import { VmServiceClient } from '@quantix/proto/v1/vm.js';
import { ImageServiceClient, StorageServiceClient } from '@quantix/proto/bulk/bulk-services.js';
import { AGENT_HEAP_FLAGS } from '@quantix/proto/bulk/heap-flags.js';
import { ConsoleServiceClient } from '@quantix/proto/v1/console.js';
import { NetworkServiceClient } from '@quantix/proto/v1/network.js';
import { createCa, issueCertificate, type KeyAndCert } from '@quantix/proto/tls/certificates.js';
import { pinnedCredentials } from '@quantix/proto/tls/pinned-credentials.js';
import { loadAgentConfig, type AgentConfig } from '../config.js';
import { loadOrCreateIdentity } from '../identity/agent-identity.js';
import { JoinToken } from '../identity/join-token.js';
import { VdcMembership } from '../identity/vdc-membership.js';
import { Virsh } from '../libvirt/virsh.js';
import { WatchBus } from '../context.js';
import { startAgentServer, type RunningAgentServer } from '../grpc/server.js';
import { PoolManager } from '../storage/pool-manager.js';
import { Volumes } from '../storage/volumes.js';
import { promisify } from './promisify.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export interface AgentClients {
  host: HostServiceClient;
  vm: VmServiceClient;
  storage: StorageServiceClient;
  image: ImageServiceClient;
  console: ConsoleServiceClient;
  network: NetworkServiceClient;
}

/** The vDC side of a joined agent: its CA and the client certificate it issued. */
export interface Vdc {
  ca: KeyAndCert;
  client: KeyAndCert;
}

export async function newVdc(): Promise<Vdc> {
  const ca = await createCa('quantix test vDC CA', 2);
  return { ca, client: await issueCertificate(ca, { commonName: 'quantix test server', days: 2, usages: ['client'] }) };
}

/** Joins the agent at `address` (pinned to `certPem`) to `vdc` with its join token. */
async function joinVdc(address: string, certPem: string, token: string, vdc: Vdc): Promise<void> {
  const enroll = new EnrollServiceClient(address, pinnedCredentials(certPem));
  try {
    await promisify(enroll, enroll.join)({ joinToken: token, caCertificatePem: vdc.ca.certPem, vdcId: 'test' });
  } finally {
    enroll.close();
  }
}

/** mTLS clients for every service, pinned to the agent's certificate. */
function agentClients(address: string, certPem: string, vdc: Vdc): AgentClients {
  const creds = pinnedCredentials(certPem, vdc.client);
  const opts = { 'grpc.max_receive_message_length': 8 * 1024 * 1024, 'grpc.max_send_message_length': 8 * 1024 * 1024 };
  return {
    host: new HostServiceClient(address, creds, opts),
    vm: new VmServiceClient(address, creds, opts),
    storage: new StorageServiceClient(address, creds, opts),
    image: new ImageServiceClient(address, creds, opts),
    console: new ConsoleServiceClient(address, creds, opts),
    network: new NetworkServiceClient(address, creds, opts),
  };
}

const closeClients = (clients: AgentClients) => {
  for (const c of Object.values(clients) as Client[]) c.close();
};

/** An agent running in this process. */
export interface TestAgent {
  address: string;
  dataDir: string;
  config: AgentConfig;
  server: RunningAgentServer;
  ca: KeyAndCert;
  membership: VdcMembership;
  clients: AgentClients;
  /** TLS that pins the agent's certificate; with a client certificate when given. */
  channel(client?: KeyAndCert): ChannelCredentials;
  stop(): Promise<void>;
}

/** Starts an agent in this process on a temp data dir (removed by stop()); `env` overrides its config. */
export async function startTestAgent(env: NodeJS.ProcessEnv = {}): Promise<TestAgent> {
  const dataDir = await mkdtemp(join(tmpdir(), 'qx-agent-test-'));
  const config = loadAgentConfig({ QX_AGENT_DATA_DIR: dataDir, QX_AGENT_LISTEN: '127.0.0.1:0', ...env });
  const identity = await loadOrCreateIdentity(dataDir);
  const membership = await VdcMembership.load(dataDir, new JoinToken(config.joinTokenFile, config.joinTokenLifetimeMs));
  const virsh = new Virsh(config.libvirtUri);
  const bus = new WatchBus();
  const pools = new PoolManager({ dataDir: config.dataDir, virsh, bus });
  const server = await startAgentServer({
    config,
    identity,
    membership,
    virsh,
    bus,
    pools,
    volumes: new Volumes(pools, virsh),
  });
  const address = `127.0.0.1:${server.port}`;
  const vdc = await newVdc();
  await joinVdc(address, identity.certPem, membership.status().token, vdc);
  const clients = agentClients(address, identity.certPem, vdc);
  return {
    address,
    dataDir,
    config,
    server,
    ca: vdc.ca,
    membership,
    clients,
    channel: (client) => pinnedCredentials(identity.certPem, client),
    async stop() {
      closeClients(clients);
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** An agent running as a child process. */
export interface AgentProcess {
  child: ChildProcess;
  pid: number;
  address: string;
  /** The agent's own certificate, to pin. */
  certPem: string;
  vdc: Vdc;
  clients: AgentClients;
  /** The agent's log lines so far (stderr, JSON). */
  logs: string[];
  /** Sends `signal` and waits for the process to exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** agent/dist/main.js; throws when the agent has not been built. */
function builtEntry(): string {
  const entry = join(repoRoot, 'agent/dist/main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`make build\` first`);
  return entry;
}

/**
 * Starts the agent as a child process on `dataDir` (kept: the caller restarts on it) and a free
 * loopback port; joins it to `vdc` unless it is joined already. `built` runs agent/dist/main.js.
 */
export async function startAgentProcess(
  dataDir: string,
  vdc: Vdc,
  opts: { built?: boolean } = {},
): Promise<AgentProcess> {
  const argv = [...AGENT_HEAP_FLAGS, ...(opts.built ? [builtEntry()] : ['--import', 'tsx', 'agent/src/main.ts'])];
  const child = spawn(process.execPath, argv, {
    cwd: repoRoot,
    env: { ...process.env, QX_AGENT_DATA_DIR: dataDir, QX_AGENT_LISTEN: '127.0.0.1:0' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const logs: string[] = [];
  const exited = once(child, 'exit');
  let tokenSeen: (token: string) => void = () => undefined;
  const tokenLogged = new Promise<string>((resolve) => (tokenSeen = resolve));
  const listening = new Promise<{ address: string; joined: boolean }>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      logs.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; address?: string; joined?: boolean; token?: string };
        if (entry.msg === 'agent listening') resolve({ address: entry.address!, joined: entry.joined === true });
        if (entry.msg === 'join token' && entry.token) tokenSeen(entry.token);
      } catch {
        /* not a log line */
      }
    });
    child.once('exit', (code) => reject(new Error(`agent exited with ${code} before listening:\n${logs.join('\n')}`)));
  });
  const { address, joined } = await listening;
  const certPem = await readFile(join(dataDir, 'identity', 'agent.crt'), 'utf8');
  if (!joined) await joinVdc(address, certPem, await tokenLogged, vdc);
  const clients = agentClients(address, certPem, vdc);
  return {
    child,
    pid: child.pid!,
    address,
    certPem,
    vdc,
    clients,
    logs,
    async kill(signal) {
      closeClients(clients);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        await exited;
      }
    },
  };
}
