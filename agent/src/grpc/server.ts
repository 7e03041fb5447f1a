// Builds and binds the agent's gRPC server: TLS with the agent's identity, client certificates
// checked against the vDC CA (client-auth.ts), every service from services.ts.
import { Server, experimental } from '@grpc/grpc-js';
import type { AgentContext } from '../context.js';
import { log } from '../log.js';
import { clientCertificateAuth } from './client-auth.js';
import { StaticCertificateProvider } from './tls-provider.js';
import { registerServices } from './services.js';
import { widenReceiveWindow } from './flow-control.js';

export interface RunningAgentServer {
  server: Server;
  port: number;
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
  const unsubscribe = ctx.membership.onChange(() => {
    ca = ctx.membership.ca;
    provider.setCa(trusted());
    auth.revokeAll(ca ? 'this host was joined to another vDC' : 'this host left its vDC');
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
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.keepalive_permit_without_calls': 1,
  });
  registerServices(server, ctx);
  const port = await new Promise<number>((resolve, reject) => {
    const host = ctx.config.listenHost.includes(':') ? `[${ctx.config.listenHost}]` : ctx.config.listenHost;
    server.bindAsync(`${host}:${ctx.config.listenPort}`, credentials, (err, p) => (err ? reject(err) : resolve(p)));
  });
  widenReceiveWindow(server);
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        unsubscribe();
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2_000).unref();
      }),
  };
}
