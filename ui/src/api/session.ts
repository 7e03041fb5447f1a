// First-run setup, login, logout and the current session. Shapes are the server's
// (server/src/dto/auth.ts). No Lit imports.
import type { LoginRequestDto, SessionDto, SetupRequestDto, SetupStatusDto, UserDto } from '@dto/auth.js';
import { apiGet, apiPost, setCsrfToken } from './client.js';

/** Whether the first-run setup still has to create the admin. */
export function fetchSetupStatus(signal?: AbortSignal): Promise<SetupStatusDto> {
  return apiGet<SetupStatusDto>('/setup/status', { signal, quiet401: true });
}

/**
 * Creates the first admin and logs in as that admin. `setupCode` is the one-time code shown on
 * the appliance console (printed by `make run` / `make dev`).
 */
export async function completeSetup(req: SetupRequestDto): Promise<SessionDto> {
  const s = await apiPost<SessionDto>('/setup', req);
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

export async function login(req: LoginRequestDto): Promise<SessionDto> {
  const s = await apiPost<SessionDto>('/auth/login', req, { quiet401: true });
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
