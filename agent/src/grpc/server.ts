// Builds and binds the agent's gRPC server: TLS with the agent's identity, client certificates
// checked against the vDC CA (client-auth.ts), every service from services.ts; plus the private
// Unix socket without TLS for the server on this host (private-socket.ts says who can reach it), and
// beside it the bulk socket for that server's upload bytes (storage/bulk-socket.ts).
import { Server, ServerCredentials, experimental, type ServerCredentials as Credentials } from '@grpc/grpc-js';
import { bulkSocketPath, preparePrivateSocket, restrictPrivateSocket } from '@quantix/proto/fs/private-socket.js';
import { listenBulkSocket } from '../storage/bulk-socket.js';
import type { AgentContext } from '../context.js';
import { log } from '../log.js';
import { clientCertificateAuth } from './client-auth.js';
import { StaticCertificateProvider } from './tls-provider.js';
import { registerServices } from './services.js';
import { widenReceiveWindow } from './flow-control.js';

export interface RunningAgentServer {
  server: Server;
  port: number;
  /** The private Unix socket's path, when one is configured. */
  localSocket: string | undefined;
  close(): Promise<void>;
}

const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

/** Creates the server; it follows `ctx.membership`, so a join or leave takes effect at once. */
export async function startAgentServer(ctx: AgentContext): Promise<RunningAgentServer> {
  // While joined to no vDC there is no CA: TLS still needs one to ask for client certificates, so
  // the agent's own certificate stands in (nobody else holds its key, so no client can match it).
  const trusted = () => Buffer.from(ctx.membership.caCertificatePem ?? ctx.identity.certPem);
  const provider = new StaticCertificateProvider(trusted(), {
    certificate: Buffer.from(ctx.identity.certPem),
    privateKey: Buffer.from(ctx.identity.keyPem),
  });
  let ca = ctx.membership.ca;
  const auth = clientCertificateAuth(() => ca);
  const localAuth = clientCertificateAuth(() => ca, 'local-socket');
  const unsubscribe = ctx.membership.onChange(() => {
    ca = ctx.membership.ca;
    provider.setCa(trusted());
    for (const a of [auth, localAuth])
      a.revokeAll(ca ? 'this host was joined to another vDC' : 'this host left its vDC');
    log.info('vDC CA changed: calls under the old one ended', { joined: ca !== undefined });
  });
  const credentials = experimental.createServerCredentialsWithInterceptors(
    experimental.createCertificateProviderServerCredentials(provider, provider, false),
    [auth.interceptor],
  );
  const server = new Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    'grpc.keepalive_time_ms': 10_000,
    // gRPC's default 20 s: a 5 s ping timeout drops the connection, and every console and
    // stream on it, whenever a loaded host stalls a process that long (the likely
    // cause of the "Connection dropped" seen under CI load). A dead agent is
    // seen sooner anyway: its heartbeats stop (host-connection.ts, 6 s).
    'grpc.keepalive_timeout_ms': 20_000,
    'grpc.keepalive_permit_without_calls': 1,
  });
  registerServices(server, ctx);
  const bind = (address: string, creds: Credentials) =>
    new Promise<number>((resolve, reject) =>
      server.bindAsync(address, creds, (err, p) => (err ? reject(err) : resolve(p))),
    );
  const host = ctx.config.listenHost.includes(':') ? `[${ctx.config.listenHost}]` : ctx.config.listenHost;
  const port = await bind(`${host}:${ctx.config.listenPort}`, credentials);
  const localSocket = ctx.config.localSocket;
  if (localSocket) {
    await preparePrivateSocket(localSocket);
    const insecure = experimental.createServerCredentialsWithInterceptors(ServerCredentials.createInsecure(), [
      localAuth.interceptor,
    ]);
    await bind(`unix:${localSocket}`, insecure);
    await restrictPrivateSocket(localSocket);
  }
  // Upload bytes from the server on this host, matched by ticket to an UploadVolumeLocal call.
  const bulk = localSocket ? await listenBulkSocket(bulkSocketPath(localSocket)) : undefined;
  widenReceiveWindow(server);
  return {
    server,
    port,
    localSocket,
    close: () =>
      new Promise<void>((resolve) => {
        unsubscribe();
        bulk?.close();
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2_000).unref();
      }),
  };
}
