// createApp(services): the Koa application without listening, so tests drive it in-process.
// Every operation of the contract (openapi.ts) is bound here to its handler with the same
// pipeline: role check → CSRF → query/body validation → handler → audit (mutations and downloads
// of guest data; requests refused before anyone was identified are counted, not audited).
import Koa, { type Context } from 'koa';
import Router from '@koa/router';
import type { Services } from './compose.js';
import { operations } from './openapi.js';
import type { Operation } from './dto/operation.js';
import { errorMiddleware, toHttp } from './middleware/error.js';
import { storeHealth } from './middleware/store-health.js';
import { leaderForward } from './middleware/leader-forward.js';
import { authMiddleware, readSessionCookie } from './middleware/auth.js';
import { checkCsrf } from './middleware/csrf.js';
import { readJson } from './middleware/body.js';
import { securityHeaders } from './middleware/security-headers.js';
import { staticUi } from './middleware/static-ui.js';
import { validate } from './schema/validate.js';
import { log } from './log.js';
import type { RefusalReason } from './services/metrics-service.js';
import type { Schema } from './schema/schema.js';
import { bindable, type Handlers } from './routes/handler.js';
import { authHandlers } from './routes/auth.js';
import { userHandlers } from './routes/users.js';
import { hostHandlers } from './routes/hosts.js';
import { vmHandlers } from './routes/vms.js';
import { storageHandlers } from './routes/storage.js';
import { networkHandlers } from './routes/networks.js';
import { clusterNetworkHandlers } from './routes/cluster-networks.js';
import { templateHandlers } from './routes/templates.js';
import { systemHandlers } from './routes/system.js';
import { uploadHandlers } from './routes/uploads.js';
import { eventHandlers } from './routes/events.js';
import { applianceHandlers } from './routes/appliance.js';
import { applianceUpdateHandlers } from './routes/appliance-update.js';
import { migrationHandlers } from './routes/migrations.js';
import { backupHandlers } from './routes/backups.js';
import { controlPlaneHandlers } from './routes/controlplane.js';
import { backupTargetHandlers } from './routes/backup-targets.js';

export interface App {
  koa: Koa;
  router: Router;
}

export function createApp(s: Services): App {
  const handlers: Handlers = {
    ...bindable(systemHandlers(s)),
    ...bindable(authHandlers(s)),
    ...bindable(userHandlers(s)),
    ...bindable(hostHandlers(s)),
    ...bindable(vmHandlers(s)),
    ...bindable(storageHandlers(s)),
    ...bindable(networkHandlers(s)),
    ...bindable(clusterNetworkHandlers(s)),
    ...bindable(templateHandlers(s)),
    ...bindable(uploadHandlers(s)),
    ...bindable(eventHandlers(s)),
    ...bindable(applianceHandlers(s)),
    ...bindable(applianceUpdateHandlers(s)),
    ...bindable(migrationHandlers(s)),
    ...bindable(backupHandlers(s)),
    ...bindable(controlPlaneHandlers(s)),
    ...bindable(backupTargetHandlers(s)),
  };
  const router = new Router();
  for (const op of operations) {
    const handler = handlers[op.id];
    if (!handler) throw new Error(`operation ${op.id} (${op.method} ${op.path}) has no handler`);
    router.register(op.path, [op.method], operationMiddleware(s, op, handler), { name: op.id });
  }
  const extra = Object.keys(handlers).filter((id) => !operations.some((o) => o.id === id));
  if (extra.length) throw new Error(`handlers without an operation in the contract: ${extra.join(', ')}`);

  const koa = new Koa({ proxy: false });
  koa.on('error', (err: NodeJS.ErrnoException) => {
    // A client that goes away mid-stream (SSE, downloads) is not a server error.
    if (['ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'EPIPE'].includes(err.code ?? '')) return;
    log.error('response failed', { error: err.stack ?? err.message });
  });
  koa.use(errorMiddleware);
  koa.use(securityHeaders);
  // etcd control plane: a server that does not lead sends what needs the agents to the leader.
  koa.use(leaderForward(s.leader));
  koa.use(storeHealth(s.db));
  koa.use(authMiddleware(s.auth));
  koa.use(router.routes());
  koa.use(router.allowedMethods());
  koa.use(staticUi(s.config.uiDir));
  return { koa, router };
}

function operationMiddleware(s: Services, op: Operation, handler: Handlers[string]) {
  // Streamed replies (volume download, OVA export) carry guest data: audited like a mutation.
  const audited = op.method !== 'GET' || op.response === 'stream';
  return async (ctx: Context): Promise<void> => {
    const started = process.hrtime.bigint();
    const principal = ctx.state.principal;
    let status = 500;
    let detail = '';
    try {
      s.auth.requireRole(principal, op.role);
      if (op.role !== 'public') checkCsrf(op.method, principal, ctx.get('X-CSRF-Token'));
      const query = op.query ? validate(op.query as Schema<Record<string, string>>, flatQuery(ctx)) : {};
      let body: unknown;
      if (op.body && op.body !== 'stream') {
        const raw = await readJson(ctx);
        body = validate(op.body, raw === undefined && !hasRequiredFields(op.body) ? {} : raw);
      }
      const attempted = typeof body === 'object' && body !== null && 'username' in body ? body.username : undefined;
      if (op.role === 'public' && typeof attempted === 'string') ctx.state.attemptedUser = attempted;
      const result = await handler({ params: ctx.params as Record<string, string>, query, body, principal, ctx });
      if (ctx.body === undefined || ctx.body === null) ctx.body = result === undefined ? null : result;
      ctx.status = op.status;
      if (op.status === 204) ctx.body = null;
      status = op.status;
    } catch (err) {
      const e = toHttp(err);
      status = e.status;
      detail = e.message;
      throw err;
    } finally {
      s.metrics.observeRequest(op.id, status, Number(process.hrtime.bigint() - started) / 1e9);
      const refused = refusal(op, ctx, status);
      if (refused) s.metrics.refuse(refused, status);
      else if (audited) await audit(s, op, ctx, status, detail);
    }
  };
}

/**
 * Why a request from no one in particular failed, or undefined when it is worth an audit row: a
 * signed-in caller, a success, or a wrong password at sign-in (the login limiter bounds those;
 * its 429s are counted).
 */
function refusal(op: Operation, ctx: Context, status: number): RefusalReason | undefined {
  if (ctx.state.principal || status < 400 || (op.id === 'login' && status === 401)) return undefined;
  if (op.role === 'public') return 'sign-in-refused';
  return ctx.get('Authorization') || readSessionCookie(ctx.get('Cookie')) ? 'invalid-credentials' : 'no-credentials';
}

/** An all-optional body may be left out entirely (e.g. POST …/shutdown). */
function hasRequiredFields(schema: Schema): boolean {
  return schema.kind !== 'object' || Object.values(schema.props ?? {}).some((p) => !p.optional);
}

function flatQuery(ctx: Context): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(ctx.query)) out[k] = Array.isArray(v) ? v[0]! : (v ?? '');
  return out;
}

async function audit(s: Services, op: Operation, ctx: Context, status: number, detail: string): Promise<void> {
  const p = ctx.state.principal as { label: string } | undefined;
  await s.audit.record({
    user: p?.label ?? (ctx.state.attemptedUser as string | undefined) ?? '-',
    action: op.id,
    method: op.method,
    path: ctx.path,
    target: Object.values(ctx.params ?? {}).join('/'),
    status,
    detail,
    remote: ctx.ip,
  });
}
