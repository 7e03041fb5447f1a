// Routes: health, OpenAPI, Prometheus metrics, SSE events, audit, tasks, HTTPS certificate.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { HttpError } from '../errors.js';
import type { Services } from '../compose.js';
import { buildOpenApi } from '../openapi.js';
import type { EventName } from '../services/event-hub.js';
import type { HandlersOf } from './handler.js';
import type { systemOperations } from '../dto/system.js';
import type { taskOperations } from '../dto/tasks.js';

const started = Date.now();
/** server/dist/qx.mjs, from src/routes (tsx) as from dist/routes (built): the bundle `build:qx` makes. */
const QX_CLIENT = new URL('../../dist/qx.mjs', import.meta.url);
const limitOf = (q: Record<string, string | undefined>) => Math.min(1000, Number(q.limit ?? 100) || 100);

export function systemHandlers(s: Services): HandlersOf<[...typeof systemOperations, ...typeof taskOperations]> {
  let openapi: string | undefined;
  return {
    getHealth: () => ({
      status: 'ok',
      version: s.config.version,
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
      store: s.db.kind,
      leader: s.leader.isLeader,
      ...(s.db.unavailable ? { stale: s.db.unavailable } : {}),
    }),
    getOpenApi: ({ ctx }) => {
      ctx.type = 'application/json';
      return (openapi ??= JSON.stringify(buildOpenApi(s.config.version)));
    },
    downloadQxClient: async ({ ctx }) => {
      const file = fileURLToPath(QX_CLIENT);
      const size = await stat(file).then(
        (st) => st.size,
        () => {
          throw new HttpError(404, 'the qx client is not built on this server: run `npm run build -w @quantix/server`');
        },
      );
      ctx.type = 'text/javascript';
      ctx.attachment('qx.mjs');
      ctx.length = size;
      ctx.body = createReadStream(file);
    },
    getMetrics: ({ ctx }) => {
      ctx.type = 'text/plain; version=0.0.4';
      return s.metrics.render();
    },
    streamEvents: ({ ctx, principal }) => {
      const out = new PassThrough();
      // A client that does not read would make the server buffer every event: past the bound
      // its connection is closed (the browser reconnects; a stalled reader is gone).
      const unsent = () => out.writableLength + out.readableLength + ctx.res.writableLength;
      const write = (text: string) => {
        if (out.writableEnded || out.destroyed) return;
        if (unsent() + text.length > s.config.bounds.sseBufferBytes) {
          ctx.res.destroy();
          out.destroy();
          return;
        }
        out.write(text);
      };
      const send = (name: EventName, data: unknown) => write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
      const keepAlive = setInterval(() => write(': keep-alive\n\n'), 15_000);
      s.events.on('event', send);
      s.events.on('remote', send);
      // Ends the stream once the caller signs out, is revoked, expires or is disabled; the
      // browser's reconnect then gets 401. The reason travels as an SSE comment.
      const unwatch = s.auth.watch(principal, 'viewer', (reason) => out.end(`: closed: ${reason}\n\n`));
      const stop = () => {
        clearInterval(keepAlive);
        s.events.off('event', send);
        s.events.off('remote', send);
        unwatch();
      };
      ctx.req.on('close', stop);
      out.on('close', stop);
      ctx.req.socket.setTimeout(0);
      ctx.set({ 'Cache-Control': 'no-cache, no-transform', 'X-Accel-Buffering': 'no' });
      ctx.type = 'text/event-stream';
      ctx.body = out;
      send('hello', { serverTime: new Date().toISOString() });
    },
    listAudit: ({ query }) => s.audit.list(limitOf(query), query.before),
    listTasks: ({ query }) => s.tasks.list(limitOf(query), query.before, query.status),
    getTask: ({ params }) => s.tasks.get(params.id),
    getCertificate: () => s.certificate.dto(),
    installCertificate: async ({ body }) => {
      await s.certificate.install(body.certificatePem, body.privateKeyPem);
      return s.certificate.dto();
    },
  };
}
