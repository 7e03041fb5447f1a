// Console and host-shell websockets: checks session cookie, role, Origin and the one-time
// ticket before the upgrade, then relays bytes between the browser and the agent's
// ConsoleService.Console / Shell bidi stream (resize travels as a control message). An open
// session ends when its user signs out, is disabled or demoted, or the session expires. Memory
// per session is bounded: agent output pauses while the browser lags, and a session whose send
// buffer still passes wsBufferBytes is closed.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import type { ConsoleInput, ConsoleOutput } from '@quantix/proto/v1/console.js';
import { HttpError } from '../errors.js';
import type { AuthService, Principal } from '../services/auth-service.js';
import type { Role } from '../dto/operation.js';
import type { VmService } from '../services/vm-service.js';
import type { AuditService } from '../services/audit-service.js';
import type { AgentPool } from '../agents/agent-pool.js';
import { sockets } from '../openapi.js';
import { readSessionCookie } from '../middleware/auth.js';
import type { TicketStore, TicketKind } from './ticket-store.js';
import { log } from '../log.js';

export interface ConsoleProxyDeps {
  auth: AuthService;
  audit: AuditService;
  vms: VmService;
  pool: AgentPool;
  tickets: TicketStore;
  extraOrigins: string[];
  /** A session whose websocket holds more unsent bytes than this is closed. */
  wsBufferBytes: number;
}

/** Agent output pauses above HIGH unsent bytes on the websocket and resumes below LOW. */
const HIGH_WATER = 256 * 1024;
const LOW_WATER = 64 * 1024;

const routes: { kind: TicketKind; re: RegExp }[] = [
  { kind: 'console', re: /^\/api\/v1\/vms\/([^/]+)\/console$/ },
  { kind: 'graphics', re: /^\/api\/v1\/vms\/([^/]+)\/graphics$/ },
  { kind: 'shell', re: /^\/api\/v1\/hosts\/([^/]+)\/shell$/ },
];

/** The socket endpoint (openapi.ts) whose role each websocket kind needs. */
const endpointIds: Record<TicketKind, string> = {
  console: 'openConsole',
  graphics: 'openGraphics',
  shell: 'openShell',
};

export class ConsoleProxy {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  /** Open sessions, for tests and /metrics. */
  open = 0;
  private readonly sessions = new Set<{ ws: WebSocket; call: ClientDuplexStream<ConsoleInput, ConsoleOutput> }>();

  constructor(private readonly deps: ConsoleProxyDeps) {}

  /** `elsewhere` takes the upgrades another server serves (the vDC's leader), answering true. */
  attach(server: Server, elsewhere?: (req: IncomingMessage, socket: Duplex, head: Buffer) => Promise<boolean>): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      void (elsewhere ? elsewhere(req, socket, head) : Promise.resolve(false))
        .then((done) => (done ? undefined : this.upgrade(req, socket, head)))
        .catch((err: unknown) => {
          const e = err instanceof HttpError ? err : new HttpError(500, 'internal error');
          if (!(err instanceof HttpError)) log.error('websocket upgrade failed', { error: String(err) });
          reject(socket, e.status, e.message);
        });
    });
  }

  /** Per open session: bytes not yet sent to the browser, and whether the agent stream is paused (tests). */
  backlog(): { bufferedBytes: number; agentPaused: boolean }[] {
    return [...this.sessions].map(({ ws, call }) => ({
      bufferedBytes: ws.bufferedAmount,
      agentPaused: call.isPaused(),
    }));
  }

  close(): void {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://x');
    const route = routes.map((r) => ({ kind: r.kind, m: r.re.exec(url.pathname) })).find((r) => r.m);
    if (!route) throw new HttpError(404, `no websocket at ${url.pathname}`);
    const targetId = decodeURIComponent(route.m![1]!);
    // The browser's session cookie, or an API token (`qx vm console`): Bearer carries no ambient
    // credentials, but the Origin and ticket rules below apply to both.
    const cookie = readSessionCookie(req.headers.cookie);
    const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const principal = cookie
      ? this.deps.auth.fromCookie(cookie)
      : bearer
        ? this.deps.auth.fromBearer(bearer)
        : undefined;
    const endpoint = sockets.find((s) => s.id === endpointIds[route.kind])!;
    this.deps.auth.requireRole(principal, endpoint.role);
    this.checkOrigin(req);
    const ticket = url.searchParams.get('ticket') ?? '';
    const p = principal as Principal;
    if (!this.deps.tickets.consume(ticket, p.user.id, route.kind, targetId)) {
      throw new HttpError(401, 'the console ticket is missing, used, expired or not yours: request a new one');
    }
    // The stream to the agent opens only once the browser's websocket is up: opened earlier, an
    // error on it (the agent's connection dropping during the audit write) had no listener yet and
    // crashed the server, and a refused upgrade leaked it.
    let open: () => ClientDuplexStream<ConsoleInput, ConsoleOutput>;
    let vmId = '';
    if (route.kind === 'console' || route.kind === 'graphics') {
      const { agent, vm } = this.deps.vms.online(targetId);
      vmId = vm.spec!.uuid;
      open = route.kind === 'console' ? agent.openConsole : agent.openGraphics;
    } else {
      open = this.deps.pool.get(targetId).requireOnline().openShell;
    }
    await this.deps.audit.record({
      user: p.label,
      action: endpoint.id,
      method: 'GET',
      path: url.pathname,
      target: targetId,
      status: 101,
      detail: '',
      remote: req.socket.remoteAddress ?? '',
    });
    this.wss.handleUpgrade(req, socket, head, (ws) =>
      this.relay(ws, open(), {
        vm: vmId,
        principal: p,
        role: endpoint.role,
        label: `${p.label} ${route.kind} ${targetId}`,
      }),
    );
  }

  private relay(
    ws: WebSocket,
    call: ClientDuplexStream<ConsoleInput, ConsoleOutput>,
    opts: { vm: string; principal: Principal; role: Role; label: string },
  ): void {
    const { vm, label } = opts;
    this.open++;
    const session = { ws, call };
    this.sessions.add(session);
    log.info('console opened', { session: label });
    let closed = false;
    let unwatch = () => {};
    const finish = (reason: string, code = 1000) => {
      if (closed) return;
      closed = true;
      unwatch();
      this.open--;
      this.sessions.delete(session);
      if (ws.readyState === ws.OPEN) {
        ws.send(JSON.stringify({ type: 'closed', reason }));
        ws.close(code, reason.slice(0, 120));
      }
      call.cancel();
      log.info('console closed', { session: label, reason });
    };
    call.write({ msg: { $case: 'open', value: { vm, size: { cols: 80, rows: 24 } } } });
    const resumeWhenDrained = () => {
      if (!closed && call.isPaused() && ws.bufferedAmount < LOW_WATER) call.resume();
    };
    call.on('data', (out: ConsoleOutput) => {
      if (out.msg?.$case === 'data') {
        if (ws.readyState !== ws.OPEN) return;
        ws.send(out.msg.value, { binary: true }, resumeWhenDrained);
        if (ws.bufferedAmount > this.deps.wsBufferBytes) {
          finish('the browser reads too slowly', 1008);
          ws.terminate();
        } else if (ws.bufferedAmount > HIGH_WATER) call.pause();
      } else if (out.msg?.$case === 'closed') finish(out.msg.value.reason || 'closed by the host');
    });
    call.on('error', (err: { details?: string }) => finish(err.details || 'the host closed the console', 1011));
    call.on('end', () => finish('the host closed the console'));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      if (isBinary) {
        // Typing faster than the agent takes it: stop reading the browser until it drains.
        if (!call.write({ msg: { $case: 'data', value: buf } })) {
          ws.pause();
          call.once('drain', () => ws.resume());
        }
        return;
      }
      try {
        const m = JSON.parse(buf.toString('utf8')) as { type?: string; cols?: number; rows?: number; data?: string };
        if (m.type === 'resize' && Number.isInteger(m.cols) && Number.isInteger(m.rows)) {
          call.write({
            msg: { $case: 'resize', value: { cols: Math.min(1000, m.cols!), rows: Math.min(1000, m.rows!) } },
          });
        } else if (m.type === 'data' && typeof m.data === 'string') {
          call.write({ msg: { $case: 'data', value: Buffer.from(m.data, 'utf8') } });
        }
      } catch {
        ws.send(JSON.stringify({ type: 'error', reason: 'text frames must be JSON control messages' }));
      }
    });
    ws.on('close', () => finish('closed by client'));
    ws.on('error', () => finish('websocket error'));
    // 1008 = policy violation: the credentials that opened this session are no longer valid.
    unwatch = this.deps.auth.watch(opts.principal, opts.role, (reason) => finish(reason, 1008));
  }

  private checkOrigin(req: IncomingMessage): void {
    const origin = req.headers.origin;
    const host = req.headers.host;
    const allowed = [`https://${host}`, ...this.deps.extraOrigins];
    if (!origin || !allowed.includes(origin)) {
      throw new HttpError(403, `websocket Origin ${origin ?? '(none)'} is not this server (${allowed[0]})`);
    }
  }
}

function reject(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ error: { message } });
  const text =
    { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' }[status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
