// User administration (admin only) and API tokens (Bearer; revoke takes effect at once).
import { arr, bool, int, named, obj, oneOf, opt, orNull, str } from '../schema/schema.js';
import type { Infer } from '../schema/schema.js';
import type { Operation } from './operation.js';
import { ROLES } from './enums.js';
import { password, username, UserDto } from './auth.js';
import { timestamp } from './common.js';

export const CreateUserDto = named(
  'CreateUserDto',
  obj({ username: username(), password: password(), role: oneOf(ROLES) }),
);
export type CreateUserDto = Infer<typeof CreateUserDto>;

export const UpdateUserDto = named(
  'UpdateUserDto',
  obj({ role: opt(oneOf(ROLES)), password: opt(password()), disabled: opt(bool()) }),
);
export type UpdateUserDto = Infer<typeof UpdateUserDto>;

export const TokenDto = named(
  'TokenDto',
  obj({
    id: str(),
    name: str(),
    userId: str(),
    username: str(),
    role: oneOf(ROLES),
    prefix: str({ description: 'first characters of the secret, to recognise it' }),
    createdAt: timestamp(),
    expiresAt: timestamp(),
    lastUsedAt: orNull(timestamp()),
  }),
);
export type TokenDto = Infer<typeof TokenDto>;

export const CreateTokenDto = named(
  'CreateTokenDto',
  obj({
    name: str({ minLength: 1, maxLength: 64 }),
    role: opt(oneOf(ROLES, { description: 'at most your own role (default: your role)' })),
    expiresInDays: opt(int({ min: 1, max: 365, description: 'lifetime in days (default 90)' })),
  }),
);
export type CreateTokenDto = Infer<typeof CreateTokenDto>;

export const CreatedTokenDto = named(
  'CreatedTokenDto',
  obj({ token: TokenDto, secret: str({ description: 'shown once: send as "Authorization: Bearer <secret>"' }) }),
);
export type CreatedTokenDto = Infer<typeof CreatedTokenDto>;

export const userOperations = [
  {
    id: 'listUsers',
    method: 'GET',
    path: '/api/v1/users',
    tag: 'users',
    role: 'admin',
    status: 200,
    response: arr(UserDto),
    summary: 'All users',
  },
  {
    id: 'createUser',
    method: 'POST',
    path: '/api/v1/users',
    tag: 'users',
    role: 'admin',
    body: CreateUserDto,
    status: 201,
    response: UserDto,
    summary: 'Create a user',
  },
  {
    id: 'updateUser',
    method: 'PATCH',
    path: '/api/v1/users/:id',
    tag: 'users',
    role: 'admin',
    body: UpdateUserDto,
    status: 200,
    response: UserDto,
    summary: "Change role, password or disable (a new password ends the user's sessions and revokes their API tokens)",
  },
  {
    id: 'deleteUser',
    method: 'DELETE',
    path: '/api/v1/users/:id',
    tag: 'users',
    role: 'admin',
    status: 204,
    summary: 'Delete a user (not the last admin), with their sessions and tokens',
  },
  {
    id: 'listTokens',
    method: 'GET',
    path: '/api/v1/tokens',
    tag: 'tokens',
    role: 'viewer',
    status: 200,
    response: arr(TokenDto),
    summary: 'Your API tokens (admins: all)',
  },
  {
    id: 'createToken',
    method: 'POST',
    path: '/api/v1/tokens',
    tag: 'tokens',
    role: 'operator',
    body: CreateTokenDto,
    status: 201,
    response: CreatedTokenDto,
    summary: 'Create an API token (signed-in users only, not with a token); the secret is shown once',
  },
  {
    id: 'revokeToken',
    method: 'DELETE',
    path: '/api/v1/tokens/:id',
    tag: 'tokens',
    role: 'operator',
    status: 204,
    summary: 'Revoke a token (effective at once)',
  },
] as const satisfies readonly Operation[];
