// Users, API tokens and the audit log. Shapes from server/src/dto/users.ts and system.ts.
import { apiGet, apiPost, apiPatch, apiDelete } from './client.js';
import type { Role, UserDto } from './session.js';

export interface TokenDto {
  id: string;
  name: string;
  userId: string;
  username: string;
  role: Role;
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

export interface CreatedTokenDto {
  token: TokenDto;
  /** Shown once. */
  secret: string;
}

export interface AuditEntryDto {
  id: string;
  at: string;
  user: string;
  action: string;
  method: string;
  path: string;
  target: string;
  result: 'ok' | 'error';
  status: number;
  detail: string;
  remote: string;
}

export const fetchUsers = (signal?: AbortSignal) => apiGet<UserDto[]>('/users', { signal });
export const createUser = (req: { username: string; password: string; role: Role }) => apiPost<UserDto>('/users', req);
export const updateUser = (id: string, patch: { role?: Role; password?: string; disabled?: boolean }) =>
  apiPatch<UserDto>(`/users/${encodeURIComponent(id)}`, patch);
export const deleteUser = (id: string) => apiDelete<void>(`/users/${encodeURIComponent(id)}`);

export const fetchTokens = (signal?: AbortSignal) => apiGet<TokenDto[]>('/tokens', { signal });
export const createToken = (req: { name: string; role?: Role; expiresInDays?: number }) => apiPost<CreatedTokenDto>('/tokens', req);
export const revokeToken = (id: string) => apiDelete<void>(`/tokens/${encodeURIComponent(id)}`);

export const fetchAudit = (signal?: AbortSignal) => apiGet<AuditEntryDto[]>('/audit?limit=200', { signal });
