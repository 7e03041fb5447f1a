// First-run setup, login, logout and the current session. No Lit imports.
import { apiGet, apiPost, setCsrfToken } from './client.js';

export const ROLES = ['admin', 'operator', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export interface UserDto {
  id: string;
  username: string;
  role: Role;
  disabled: boolean;
  createdAt: string;
  lastLoginAt: string | null;
}

export interface SessionDto {
  user: UserDto;
  csrfToken: string;
  expiresAt: string;
}

export interface SetupStatusDto {
  /** True while no user exists: only the setup flow is open. */
  needsSetup: boolean;
}

/** Whether the first-run setup still has to create the admin. */
export function fetchSetupStatus(signal?: AbortSignal): Promise<SetupStatusDto> {
  return apiGet<SetupStatusDto>('/setup/status', { signal, quiet401: true });
}

/**
 * Creates the first admin and logs in as that admin. `setupCode` is the one-time code shown on
 * the appliance console (printed by `make run` / `make dev`).
 */
export async function completeSetup(username: string, password: string, setupCode: string): Promise<SessionDto> {
  const s = await apiPost<SessionDto>('/setup', { username, password, setupCode });
  setCsrfToken(s?.csrfToken);
  return s;
}

/** The logged-in user, or undefined when there is no valid session. */
export async function fetchSession(signal?: AbortSignal): Promise<SessionDto | undefined> {
  try {
    const s = await apiGet<SessionDto>('/auth/me', { signal, quiet401: true });
    setCsrfToken(s.csrfToken);
    return s;
  } catch (err) {
    if ((err as { status?: number }).status === 401) return undefined;
    throw err;
  }
}

export async function login(username: string, password: string): Promise<SessionDto> {
  const s = await apiPost<SessionDto>('/auth/login', { username, password }, { quiet401: true });
  setCsrfToken(s.csrfToken);
  return s;
}

export async function logout(): Promise<void> {
  await apiPost<void>('/auth/logout', undefined, { quiet401: true }).catch(() => undefined);
  setCsrfToken(undefined);
}

/** Viewers see no mutating control. */
export function canMutate(user: UserDto | undefined): boolean {
  return user?.role === 'admin' || user?.role === 'operator';
}
