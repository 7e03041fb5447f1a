// The only place errors become HTTP: HttpError → its status and sentence; anything else → 500
// with a generic sentence (details go to the log). Body: {error: {message, field?}}.
import type { Context, Next } from 'koa';
import { HttpError } from '../errors.js';
import { log } from '../log.js';

export async function errorMiddleware(ctx: Context, next: Next): Promise<void> {
  try {
    await next();
    if (ctx.status === 404 && ctx.body === undefined && ctx.path.startsWith('/api/')) {
      throw new HttpError(404, `no API route ${ctx.method} ${ctx.path}`);
    }
  } catch (err) {
    const e = toHttp(err);
    ctx.status = e.status;
    ctx.body = { error: e.field ? { message: e.message, field: e.field } : { message: e.message } };
    if (e.status === 401) ctx.set('WWW-Authenticate', 'Bearer realm="quantix"');
    if (e.retryAfter) ctx.set('Retry-After', String(e.retryAfter));
    if (e.status >= 500 && !(err instanceof HttpError)) {
      log.error('request failed', {
        method: ctx.method,
        path: ctx.path,
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      });
    }
  }
}

export function toHttp(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const status = (err as { status?: number; expose?: boolean }).status;
  if (typeof status === 'number' && status >= 400 && status < 500 && (err as { expose?: boolean }).expose) {
    return new HttpError(status, (err as Error).message);
  }
  return new HttpError(500, 'internal server error: see the server log');
}
