// Listening: HTTPS (Koa app + console websockets) with the managed certificate (swapped in place
// when it changes), an optional plain-HTTP port that only redirects to HTTPS, and the periodic
// check that regenerates the self-signed certificate when the host's IPs change. Both ports bound
// slow clients: TLS handshake, header and request timeouts, idle timeouts for streams, and a cap
// on connections per source address (config.bounds).
import { createServer as createHttps, type Server as HttpsServer } from 'node:https';
import { createServer as createHttp, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Services } from './compose.js';
import { createApp, type App } from './app.js';
import { ConsoleProxy } from './console/console-proxy.js';
import { forwardUpgrade } from './middleware/leader-forward.js';
import { operations } from './openapi.js';
import { ConnectionCap } from './net/connection-cap.js';
import { boundRequest, type StreamKind } from './net/request-bounds.js';

export interface RunningServer {
  app: App;
  https: HttpsServer;
  http: HttpServer | undefined;
  port: number;
  console: ConsoleProxy;
  /** Open connections (HTTPS and the redirect port) from one source address. */
  openConnections(address: string): number;
  close(): Promise<void>;
}

export async function startServer(s: Services): Promise<RunningServer> {
  const app = createApp(s);
  const bounds = s.config.bounds;
  const kc = s.certificate.current;
  const handle = app.koa.callback();
  const streamKind = streamKinds(app);
  // The request timeout is request-bounds.ts's (streaming uploads are exempt); Node checks the
  // header timeout every connectionsCheckingInterval.
  const timeouts = {
    headersTimeout: bounds.headersTimeoutMs,
    requestTimeout: 0,
    connectionsCheckingInterval: Math.min(5000, Math.max(100, bounds.headersTimeoutMs / 4)),
    keepAliveTimeout: 65_000,
  };
  const https = createHttps(
    {
      key: kc.keyPem,
      cert: kc.certPem,
      minVersion: 'TLSv1.2',
      handshakeTimeout: bounds.handshakeTimeoutMs,
      ...timeouts,
    },
    (req, res) => {
      boundRequest(req, res, streamKind(req), bounds);
      void handle(req, res);
    },
  );
  const cap = new ConnectionCap(bounds.maxConnectionsPerAddress, () => s.metrics.connectionsRefused++);
  cap.attach(https);
  s.certificate.onChange((c) => https.setSecureContext({ key: c.keyPem, cert: c.certPem }));
  const consoleProxy = new ConsoleProxy({
    auth: s.auth,
    audit: s.audit,
    vms: s.vms,
    pool: s.pool,
    tickets: s.tickets,
    extraOrigins: s.config.extraOrigins,
    wsBufferBytes: bounds.wsBufferBytes,
  });
  consoleProxy.attach(https, (req, socket, head) => forwardUpgrade(s.leader, req, socket, head));
  await new Promise<void>((resolve, reject) => {
    https.once('error', reject);
    https.listen(s.config.listenPort, s.config.listenHost, () => resolve());
  });
  const port = (https.address() as AddressInfo).port;
  let http: HttpServer | undefined;
  if (s.config.httpListen) {
    http = createHttp({ ...timeouts, requestTimeout: bounds.requestTimeoutMs }, (req, res) => {
      const host = (req.headers.host ?? s.config.listenHost).replace(/:\d+$/, '');
      const target = `https://${host}${port === 443 ? '' : `:${port}`}${req.url ?? '/'}`;
      res.writeHead(308, { Location: target, 'Content-Type': 'text/plain' }).end(`see ${target}\n`);
    });
    cap.attach(http);
    const h = s.config.httpListen;
    await new Promise<void>((resolve, reject) => {
      http!.once('error', reject);
      http!.listen(h.port, h.host, () => resolve());
    });
  }
  const ipCheck = setInterval(() => void s.certificate.refreshGenerated().catch(() => undefined), 60_000);
  ipCheck.unref();
  return {
    app,
    https,
    http,
    port,
    console: consoleProxy,
    openConnections: (address) => cap.count(address),
    async close() {
      clearInterval(ipCheck);
      consoleProxy.close();
      https.closeAllConnections();
      http?.closeAllConnections();
      cap.destroyAll();
      await Promise.all([new Promise((r) => https.close(r)), http ? new Promise((r) => http!.close(r)) : undefined]);
    },
  };
}

/** Which operation a request is, as far as streaming goes: the contract marks streamed bodies. */
function streamKinds(app: App): (req: IncomingMessage) => StreamKind {
  const kinds = new Map<string, StreamKind>();
  for (const op of operations) {
    if (op.body === 'stream') kinds.set(op.id, 'upload');
    else if (op.response === 'stream') kinds.set(op.id, 'download');
  }
  return (req) => {
    const path = (req.url ?? '/').split('?')[0]!;
    for (const layer of app.router.match(path, req.method ?? 'GET').pathAndMethod) {
      const kind = layer.name ? kinds.get(layer.name) : undefined;
      if (kind) return kind;
    }
    return undefined;
  };
}
