// A server that does not lead the vDC (etcd control plane) holds no agent connections: it forwards
// the API requests and websockets to the leader, over HTTPS pinned to the certificate the leader
// published with its election lease. The caller's own cookie or token travels unchanged and the
// leader checks it against the shared store: no identity header, nothing new to trust.
import { request, type RequestOptions } from 'node:https';
import { X509Certificate } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Context, Next } from 'koa';
import { HttpError } from '../errors.js';
import type { LeaderAddress, Leadership } from '../services/leader.js';

/** Served by every server itself: its own health and metrics, SSE (relayed through etcd), the contract. */
const LOCAL = new Set(['/api/v1/health', '/api/v1/events', '/api/v1/openapi.json', '/api/v1/cli/qx.mjs']);
/**
 * Sign-in and setup too (sessions are in the shared store): the leader would see every sign-in
 * through this server from this server's address, and its per-address lockout would lock out all.
 */
const LOCAL_PREFIXES = [
  '/api/v1/auth/',
  '/api/v1/setup',
  // This appliance's own member, certificate and join tokens (services/controlplane-service.ts).
  '/api/v1/controlplane',
];
/** Time for the leader to answer with headers (replies are streamed after that). */
const ANSWER_MS = 60_000;
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'upgrade'];

/** Whether a request to `path` goes to the leader when this server does not lead. */
export function forwarded(path: string): boolean {
  return path.startsWith('/api/') && !LOCAL.has(path) && !LOCAL_PREFIXES.some((p) => path.startsWith(p));
}

/**
 * The leader to forward to, or undefined when this server serves the request itself: it leads, or
 * none is elected or known (no quorum: configuration reads are served here, flagged stale).
 */
async function target(leader: Leadership, path: string): Promise<LeaderAddress | undefined> {
  if (leader.isLeader || !forwarded(path)) return undefined;
  const to = await leader.address().catch(() => undefined);
  return to?.url && to.certPem && to.id !== leader.id ? to : undefined;
}

export function leaderForward(leader: Leadership) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const to = await target(leader, ctx.path);
    if (!to) return next();
    const reply = await send(ctx.req, to, headersOf(ctx.req)).catch((err: Error) => {
      throw new HttpError(503, `the server leading the vDC (${to.url}) cannot be reached: ${err.message}`);
    });
    ctx.respond = false;
    const headers = { ...reply.headers };
    for (const h of HOP_BY_HOP) delete headers[h];
    ctx.res.writeHead(reply.statusCode ?? 502, headers);
    await new Promise<void>((resolve) => {
      reply.pipe(ctx.res);
      ctx.res.once('close', () => {
        reply.destroy();
        resolve();
      });
    });
  };
}

/** Websocket upgrades (consoles, host shell): true when forwarded to the leader, false to handle here. */
export async function forwardUpgrade(
  leader: Leadership,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<boolean> {
  const to = await target(leader, (req.url ?? '/').split('?')[0]!);
  if (!to) return false;
  const out = request({ ...pinned(to), method: req.method, path: req.url, headers: req.headers });
  out.setTimeout(ANSWER_MS, () => out.destroy(new Error('no answer')));
  out.on('upgrade', (reply: IncomingMessage, upstream: Duplex, upHead: Buffer) => {
    socket.write(statusHead(reply));
    if (upHead.length) socket.write(upHead);
    if (head.length) upstream.write(head);
    upstream.pipe(socket).pipe(upstream);
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
  });
  out.on('response', (reply: IncomingMessage) => {
    // A refusal (403, 404…) reaches the client as the leader wrote it.
    socket.write(statusHead(reply, ['transfer-encoding', 'connection'], 'Connection: close'));
    reply.pipe(socket);
  });
  out.on('error', (err) => {
    const body = `the server leading the vDC cannot be reached: ${err.message}`;
    socket.end(
      `HTTP/1.1 503 Service Unavailable\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  socket.on('error', () => out.destroy());
  out.end();
  return true;
}

function send(req: IncomingMessage, to: LeaderAddress, headers: OutgoingHttpHeaders): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const out = request({ ...pinned(to), method: req.method, path: req.url, headers }, (reply) => {
      out.setTimeout(0);
      resolve(reply);
    });
    out.setTimeout(ANSWER_MS, () => out.destroy(new Error('no answer')));
    out.on('error', reject);
    req.on('aborted', () => out.destroy(new Error('the client went away')));
    req.pipe(out);
  });
}

/** The Host header stays the client's: the leader checks Origin against it, as if called directly. */
function headersOf(req: IncomingMessage): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { ...req.headers };
  for (const h of HOP_BY_HOP) delete headers[h];
  return headers;
}

/** TLS to the leader: only the certificate it published (its fingerprint) is accepted. */
function pinned(to: LeaderAddress): RequestOptions {
  const url = new URL(to.url);
  const fingerprint = new X509Certificate(to.certPem).fingerprint256;
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port || 443),
    ca: to.certPem,
    allowPartialTrustChain: true,
    servername: '',
    checkServerIdentity: (_host, cert) =>
      cert.fingerprint256 === fingerprint
        ? undefined
        : new Error(`the leader's certificate ${cert.fingerprint256} is not the one it published`),
  } as RequestOptions;
}

/** The reply's status line and headers as the leader wrote them, less `drop` (the body is decoded). */
function statusHead(reply: IncomingMessage, drop: string[] = [], extra?: string): string {
  const lines = [`HTTP/1.1 ${reply.statusCode ?? 502} ${reply.statusMessage ?? ''}`];
  for (let i = 0; i < reply.rawHeaders.length; i += 2) {
    if (!drop.includes(reply.rawHeaders[i]!.toLowerCase()))
      lines.push(`${reply.rawHeaders[i]}: ${reply.rawHeaders[i + 1]}`);
  }
  if (extra) lines.push(extra);
  return `${lines.join('\r\n')}\r\n\r\n`;
}
