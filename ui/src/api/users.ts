// Users, API tokens and the audit log. Shapes are the server's (server/src/dto/users.ts, auth.ts,
// system.ts). No Lit imports.
import type { AuditEntryDto } from '@dto/system.js';
import type { CreatedTokenDto, CreateTokenDto, CreateUserDto, TokenDto, UpdateUserDto } from '@dto/users.js';
import type { UserDto } from '@dto/auth.js';
import { apiGet, apiPost, apiPatch, apiDelete, apiUrl } from './client.js';

export const fetchUsers = (signal?: AbortSignal) => apiGet<UserDto[]>('/users', { signal });
export const createUser = (req: CreateUserDto) => apiPost<UserDto>('/users', req);
export const updateUser = (id: string, patch: UpdateUserDto) =>
  apiPatch<UserDto>(`/users/${encodeURIComponent(id)}`, patch);
export const deleteUser = (id: string) => apiDelete<void>(`/users/${encodeURIComponent(id)}`);

export const fetchTokens = (signal?: AbortSignal) => apiGet<TokenDto[]>('/tokens', { signal });
export const createToken = (req: CreateTokenDto) => apiPost<CreatedTokenDto>('/tokens', req);
export const revokeToken = (id: string) => apiDelete<void>(`/tokens/${encodeURIComponent(id)}`);
/** The one-file `qx` command-line client (downloaded by the browser: a link, not a fetch). */
export const qxClientUrl = () => apiUrl('/cli/qx.mjs');

export const fetchAudit = (signal?: AbortSignal) => apiGet<AuditEntryDto[]>('/audit?limit=200', { signal });
