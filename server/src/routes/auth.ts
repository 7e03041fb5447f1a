// Routes: setup, sign-in/out, the current session, own password.
import type { Context } from 'koa';
import type { SessionDto } from '../dto/auth.js';
import type { Services } from '../compose.js';
import { sessionCookie } from '../middleware/auth.js';
import { toUserDto } from './users.js';
import type { NewSession } from '../services/auth-service.js';
import type { UserRecord } from '../store/records.js';
import type { HandlersOf } from './handler.js';
import type { authOperations } from '../dto/auth.js';

function signedIn(ctx: Context, user: UserRecord, s: NewSession): SessionDto {
  ctx.set('Set-Cookie', sessionCookie(s.cookie, new Date(s.session.expiresAt)));
  return { user: toUserDto(user), csrfToken: s.session.csrfToken, expiresAt: s.session.expiresAt };
}

export function authHandlers(s: Services): HandlersOf<typeof authOperations> {
  return {
    getSetupStatus: () => ({ needsSetup: s.auth.needsSetup() }),
    setup: async ({ body, ctx }) => {
      const user = await s.auth.setup(body.username, body.password, body.setupCode, ctx.ip);
      return signedIn(ctx, user, await s.auth.openSession(user));
    },
    login: async ({ body, ctx }) => {
      const r = await s.auth.login(body.username, body.password, ctx.ip);
      return signedIn(ctx, r.user, r);
    },
    getMe: ({ principal }) => ({
      user: toUserDto(principal.user),
      csrfToken: principal.session?.csrfToken ?? '',
      expiresAt: principal.session?.expiresAt ?? principal.token?.expiresAt ?? '',
    }),
    logout: async ({ principal, ctx }) => {
      if (principal.session) await s.auth.logout(principal.session);
      ctx.set('Set-Cookie', sessionCookie('', undefined));
    },
    changePassword: async ({ principal, body, ctx }) => {
      await s.auth.changePassword(principal, body.currentPassword, body.newPassword, ctx.ip);
    },
  };
}
