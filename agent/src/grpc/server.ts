// Builds and binds the agent's gRPC server: TLS with the agent's identity, client certificates
// checked against the vDC CA (client-auth.ts), every service from services.ts.
import { X509Certificate } from 'node:crypto';
import { Server, experimental } from '@grpc/grpc-js';
import type { AgentContext } from '../context.js';
import { clientCertificateInterceptor } from './client-auth.js';
import { StaticCertificateProvider } from './tls-provider.js';
import { registerServices } from './services.js';
import { widenReceiveWindow } from './flow-control.js';

export interface RunningAgentServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

/** Creates the server; `ctx.trustCa` is wired here so a join takes effect at once. */
export async function startAgentServer(
  ctx: Omit<AgentContext, 'trustCa'> & { trustCa?: AgentContext['trustCa'] },
): Promise<RunningAgentServer> {
  // Before a join there is no vDC CA: TLS still needs one to ask for client certificates, so the
  // agent's own certificate stands in (nobody else holds its key, so no client can match it).
  let ca = ctx.identity.caPem ? new X509Certificate(ctx.identity.caPem) : undefined;
  const provider = new StaticCertificateProvider(Buffer.from(ctx.identity.caPem ?? ctx.identity.certPem), {
    certificate: Buffer.from(ctx.identity.certPem),
    privateKey: Buffer.from(ctx.identity.keyPem),
  });
  const full: AgentContext = {
    ...ctx,
    trustCa: (pem) => {
      ca = new X509Certificate(pem);
      provider.setCa(Buffer.from(pem));
    },
  };
  const credentials = experimental.createServerCredentialsWithInterceptors(
    experimental.createCertificateProviderServerCredentials(provider, provider, false),
    [clientCertificateInterceptor(() => ca)],
  );
  const server = new Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.keepalive_permit_without_calls': 1,
  });
  registerServices(server, full);
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
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2_000).unref();
      }),
  };
}
