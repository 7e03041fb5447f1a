// Test harness: a real agent (gRPC over TLS, real libvirt) in a temp data dir, joined to a
// throwaway vDC CA, with mTLS clients for every service. Used by the agent's tests and benches.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChannelCredentials, Client } from '@grpc/grpc-js';
import { EnrollServiceClient, HostServiceClient } from '@quantix/proto/v1/host.js';
import { VmServiceClient } from '@quantix/proto/v1/vm.js';
import { ImageServiceClient, StorageServiceClient } from '@quantix/proto/bulk/bulk-services.js';
import { ConsoleServiceClient } from '@quantix/proto/v1/console.js';
import { NetworkServiceClient } from '@quantix/proto/v1/network.js';
import { loadAgentConfig, type AgentConfig } from '../config.js';
import { loadOrCreateIdentity } from '../identity/agent-identity.js';
import { JoinToken } from '../identity/join-token.js';
import { VdcMembership } from '../identity/vdc-membership.js';
import { createCa, issueCertificate, type KeyAndCert } from '@quantix/proto/tls/certificates.js';
import { pinnedCredentials } from '@quantix/proto/tls/pinned-credentials.js';
import { Virsh } from '../libvirt/virsh.js';
import { WatchBus } from '../context.js';
import { startAgentServer, type RunningAgentServer } from '../grpc/server.js';
import { PoolManager } from '../storage/pool-manager.js';
import { Volumes } from '../storage/volumes.js';
import { promisify } from './promisify.js';

export interface AgentClients {
  host: HostServiceClient;
  vm: VmServiceClient;
  storage: StorageServiceClient;
  image: ImageServiceClient;
  console: ConsoleServiceClient;
  network: NetworkServiceClient;
}

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

  const ca = await createCa('quantix test vDC CA', 2);
  const clientCert = await issueCertificate(ca, { commonName: 'quantix test server', days: 2, usages: ['client'] });
  const enroll = new EnrollServiceClient(address, pinnedCredentials(identity.certPem));
  await promisify(
    enroll,
    enroll.join,
  )({ joinToken: membership.status().token, caCertificatePem: ca.certPem, vdcId: 'test' });
  enroll.close();

  const creds = pinnedCredentials(identity.certPem, clientCert);
  const opts = { 'grpc.max_receive_message_length': 8 * 1024 * 1024, 'grpc.max_send_message_length': 8 * 1024 * 1024 };
  const clients: AgentClients = {
    host: new HostServiceClient(address, creds, opts),
    vm: new VmServiceClient(address, creds, opts),
    storage: new StorageServiceClient(address, creds, opts),
    image: new ImageServiceClient(address, creds, opts),
    console: new ConsoleServiceClient(address, creds, opts),
    network: new NetworkServiceClient(address, creds, opts),
  };
  return {
    address,
    dataDir,
    config,
    server,
    ca,
    membership,
    clients,
    channel: (client) => pinnedCredentials(identity.certPem, client),
    async stop() {
      for (const c of Object.values(clients) as Client[]) c.close();
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
