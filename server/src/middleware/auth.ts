// Who is calling: the session cookie (qx_session) or an API token (Authorization: Bearer).
// Sets ctx.state.principal (or leaves it undefined); the route decides what role it needs.
import type { Context, Next } from 'koa';
import type { AuthService, Principal } from '../services/auth-service.js';
import { SESSION_COOKIE } from '../openapi.js';

export function readSessionCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === SESSION_COOKIE) return v.join('=') || undefined;
  }
  return undefined;
}

export function sessionCookie(value: string, expires: Date | undefined): string {
  const attrs = [`${SESSION_COOKIE}=${value}`, 'Path=/', 'HttpOnly', 'Secure', 'SameSite=Strict'];
  attrs.push(expires ? `Expires=${expires.toUTCString()}` : 'Max-Age=0');
  return attrs.join('; ');
}

export function authMiddleware(auth: AuthService) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const header = ctx.get('Authorization');
    let principal: Principal | undefined;
    if (header.startsWith('Bearer ')) {
      principal = auth.fromBearer(header.slice(7).trim());
    } else {
      const cookie = readSessionCookie(ctx.get('Cookie'));
      if (cookie) principal = auth.fromCookie(cookie);
    }
    ctx.state.principal = principal;
    await next();
  };
}
