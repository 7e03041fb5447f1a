// Setup, login/logout, the current user. A session is an HttpOnly cookie (`qx_session`); the
// CSRF token returned here goes into the `X-CSRF-Token` header of every mutating request.
import { bool, named, obj, oneOf, opt, orNull, str } from '../schema/schema.js';
import type { Infer } from '../schema/schema.js';
import type { Operation } from './operation.js';
import { ROLES } from './enums.js';
import { timestamp } from './common.js';

export const username = () =>
  str({
    minLength: 1,
    maxLength: 64,
    pattern: '^[a-z_][a-z0-9_.-]{0,63}$',
    description: 'lower-case letters, digits, "_ . -"',
  });
export const password = () => str({ minLength: 12, maxLength: 1024, description: 'at least 12 characters' });

export const UserDto = named(
  'UserDto',
  obj({
    id: str(),
    username: str(),
    role: oneOf(ROLES),
    disabled: bool(),
    createdAt: timestamp(),
    lastLoginAt: orNull(timestamp()),
  }),
);
export type UserDto = Infer<typeof UserDto>;

export const SessionDto = named('SessionDto', obj({ user: UserDto, csrfToken: str(), expiresAt: timestamp() }));
export type SessionDto = Infer<typeof SessionDto>;

export const SetupStatusDto = named('SetupStatusDto', obj({ needsSetup: bool() }));
export type SetupStatusDto = Infer<typeof SetupStatusDto>;

export const SetupRequestDto = named(
  'SetupRequestDto',
  obj({
    username: username(),
    password: password(),
    // Optional in the schema so that a request without it gets the 403 that says where the code is.
    setupCode: opt(
      str({
        maxLength: 64,
        description:
          'required: the one-time setup code ("XXXX-XXXX") shown on the appliance console, printed by make run / make dev, in <dataDir>/setup-code',
      }),
    ),
  }),
);
export type SetupRequestDto = Infer<typeof SetupRequestDto>;

export const LoginRequestDto = named(
  'LoginRequestDto',
  obj({ username: str({ minLength: 1, maxLength: 64 }), password: str({ minLength: 1, maxLength: 1024 }) }),
);
export type LoginRequestDto = Infer<typeof LoginRequestDto>;

export const ChangePasswordDto = named(
  'ChangePasswordDto',
  obj({ currentPassword: str({ minLength: 1, maxLength: 1024 }), newPassword: password() }),
);
export type ChangePasswordDto = Infer<typeof ChangePasswordDto>;

export const authOperations = [
  {
    id: 'getSetupStatus',
    method: 'GET',
    path: '/api/v1/setup/status',
    tag: 'auth',
    role: 'public',
    status: 200,
    response: SetupStatusDto,
    summary: 'Whether the first admin still has to be created',
  },
  {
    id: 'setup',
    method: 'POST',
    path: '/api/v1/setup',
    tag: 'auth',
    role: 'public',
    body: SetupRequestDto,
    status: 201,
    response: SessionDto,
    summary:
      'Create the first admin (only while no user exists, with the one-time setup code; 403 field setupCode without it) and sign in; 429 after too many wrong codes',
  },
  {
    id: 'login',
    method: 'POST',
    path: '/api/v1/auth/login',
    tag: 'auth',
    role: 'public',
    body: LoginRequestDto,
    status: 200,
    response: SessionDto,
    summary: 'Sign in: sets the session cookie; 429 while locked out',
  },
  {
    id: 'getMe',
    method: 'GET',
    path: '/api/v1/auth/me',
    tag: 'auth',
    role: 'viewer',
    status: 200,
    response: SessionDto,
    summary: 'The signed-in user and the CSRF token of this session',
  },
  {
    id: 'logout',
    method: 'POST',
    path: '/api/v1/auth/logout',
    tag: 'auth',
    role: 'viewer',
    status: 204,
    summary: 'End this session',
  },
  {
    id: 'changePassword',
    method: 'POST',
    path: '/api/v1/auth/password',
    tag: 'auth',
    role: 'viewer',
    body: ChangePasswordDto,
    status: 204,
    summary: 'Change your own password: your other sessions end and your API tokens are revoked',
  },
] as const satisfies readonly Operation[];
