// Routes: users (admin) and API tokens.
import type { TokenDto } from '../dto/users.js';
import type { UserDto } from '../dto/auth.js';
import type { Services } from '../compose.js';
import type { TokenRecord, UserRecord } from '../store/records.js';
import type { HandlersOf } from './handler.js';
import type { userOperations } from '../dto/users.js';

export function toUserDto(u: UserRecord): UserDto {
  return {
    id: u.id,
    username: u.username,
    role: u.role,
    disabled: u.disabled,
    createdAt: u.createdAt,
    lastLoginAt: u.lastLoginAt,
  };
}

export function userHandlers(s: Services): HandlersOf<typeof userOperations> {
  const tokenDto = (t: TokenRecord): TokenDto => ({
    id: t.id,
    name: t.name,
    userId: t.userId,
    username: s.auth.userById(t.userId)?.username ?? '',
    role: t.role,
    prefix: t.prefix,
    createdAt: t.createdAt,
    expiresAt: t.expiresAt,
    lastUsedAt: t.lastUsedAt,
  });
  return {
    listUsers: () => s.auth.listUsers().map(toUserDto),
    createUser: async ({ body }) => {
      return toUserDto(await s.auth.createUser(body.username, body.password, body.role));
    },
    updateUser: async ({ params, body }) => toUserDto(await s.auth.updateUser(params.id, body)),
    deleteUser: ({ params }) => s.auth.deleteUser(params.id),
    listTokens: ({ principal }) => s.auth.listTokens(principal).map(tokenDto),
    createToken: async ({ principal, body }) => {
      const r = await s.auth.createToken(principal, body.name, body.role, body.expiresInDays);
      return { token: tokenDto(r.token), secret: r.secret };
    },
    revokeToken: ({ principal, params }) => s.auth.revokeToken(principal, params.id),
  };
}
