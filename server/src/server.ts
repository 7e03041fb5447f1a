// Listening: HTTPS (Koa app + console websockets) with the managed certificate (swapped in place
// when it changes), an optional plain-HTTP port that only redirects to HTTPS, and the periodic
// check that regenerates the self-signed certificate when the host's IPs change.
import { createServer as createHttps, type Server as HttpsServer } from 'node:https';
import { createServer as createHttp, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Services } from './compose.js';
import { createApp, type App } from './app.js';
import { ConsoleProxy } from './console/console-proxy.js';

export interface RunningServer {
  app: App;
  https: HttpsServer;
  http: HttpServer | undefined;
  port: number;
  console: ConsoleProxy;
  close(): Promise<void>;
}

export async function startServer(s: Services): Promise<RunningServer> {
  const app = createApp(s);
  const kc = s.certificate.current;
  const https = createHttps({ key: kc.keyPem, cert: kc.certPem, minVersion: 'TLSv1.2' }, app.koa.callback());
  https.requestTimeout = 0;
  https.keepAliveTimeout = 65_000;
  s.certificate.onChange((c) => https.setSecureContext({ key: c.keyPem, cert: c.certPem }));
  const consoleProxy = new ConsoleProxy({ auth: s.auth, audit: s.audit, vms: s.vms, pool: s.pool, tickets: s.tickets, extraOrigins: s.config.extraOrigins });
  consoleProxy.attach(https);
  await new Promise<void>((resolve, reject) => {
    https.once('error', reject);
    https.listen(s.config.listenPort, s.config.listenHost, () => resolve());
  });
  const port = (https.address() as AddressInfo).port;
  let http: HttpServer | undefined;
  if (s.config.httpListen) {
    http = createHttp((req, res) => {
      const host = (req.headers.host ?? s.config.listenHost).replace(/:\d+$/, '');
      const target = `https://${host}${port === 443 ? '' : `:${port}`}${req.url ?? '/'}`;
      res.writeHead(308, { Location: target, 'Content-Type': 'text/plain' }).end(`see ${target}\n`);
    });
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
    async close() {
      clearInterval(ipCheck);
      consoleProxy.close();
      https.closeAllConnections();
      http?.closeAllConnections();
      await Promise.all([new Promise((r) => https.close(r)), http ? new Promise((r) => http!.close(r)) : undefined]);
    },
  };
}
