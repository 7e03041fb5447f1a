// The one fetch wrapper: same-origin cookies, CSRF header on mutations, error bodies turned into
// ApiError (message + the field that caused it), 401 announced on sessionEvents. No Lit imports.

/** An API failure with a readable message and, when the server names one, the offending field. */
export class ApiError extends Error {
  readonly status: number;
  readonly field: string | undefined;
  constructor(status: number, message: string, field?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.field = field;
  }
}

/** Fires `expired` when a request came back 401 while the UI thought it was logged in. */
export const sessionEvents = new EventTarget();

let csrfToken: string | undefined;

/** Remembers the CSRF token the server handed out with the session. */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

/** The CSRF token: the one the session gave us, else the readable `qx_csrf` cookie if the server sets one. */
export function currentCsrfToken(): string | undefined {
  if (csrfToken) return csrfToken;
  const m = /(?:^|;\s*)(?:qx_csrf|qx-csrf|csrf)=([^;]+)/.exec(document.cookie);
  return m ? decodeURIComponent(m[1]) : undefined;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export interface RequestOptions {
  signal?: AbortSignal;
  /** Do not announce a 401 (used by the session probe itself). */
  quiet401?: boolean;
}

/** Headers every mutating request carries. */
export function mutationHeaders(): Record<string, string> {
  const token = currentCsrfToken();
  return token ? { 'X-CSRF-Token': token } : {};
}

/** Pauses before each repeat of a GET whose connection failed. */
const GET_RETRY_DELAYS_MS = [250, 1000];

/** Calls `/api/v1${path}` and returns the parsed JSON body (undefined for 204). */
export async function apiRequest<T>(
  method: string,
  path: string,
  body?: unknown,
  opts: RequestOptions = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  // A Blob (a file) is sent as the raw body; anything else as JSON.
  const raw = body instanceof Blob;
  if (body !== undefined) headers['Content-Type'] = raw ? 'application/octet-stream' : 'application/json';
  if (MUTATING.has(method)) Object.assign(headers, mutationHeaders());
  let res: Response;
  for (let attempt = 0; ; attempt++) {
    try {
      res = await fetch(`/api/v1${path}`, {
        method,
        headers,
        credentials: 'same-origin',
        body: body === undefined ? undefined : raw ? body : JSON.stringify(body),
        signal: opts.signal,
      });
      break;
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      // A read lost on the way (the browser aborts requests in flight when the machine's network
      // changes: ERR_NETWORK_CHANGED) is safe to repeat; a change is not: it may have happened.
      if (method === 'GET' && attempt < GET_RETRY_DELAYS_MS.length) {
        await new Promise((r) => setTimeout(r, GET_RETRY_DELAYS_MS[attempt]));
        continue;
      }
      throw new ApiError(0, 'The server cannot be reached. Check the network and try again.');
    }
  }
  if (res.ok) {
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }
  const error = await errorFromResponse(res);
  if (res.status === 401 && !opts.quiet401) sessionEvents.dispatchEvent(new Event('expired'));
  throw error;
}

/** Turns an error reply (`{error:{message,field}}`, `{message,field}` or text) into an ApiError. */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  return errorFromBody(res.status, text, res.statusText);
}

/** Same as errorFromResponse for a body already read (XHR uploads). */
export function errorFromBody(status: number, text: string, statusText = ''): ApiError {
  let message: string;
  let field: string | undefined;
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    const inner = (typeof parsed.error === 'object' && parsed.error ? parsed.error : parsed) as Record<string, unknown>;
    message = String(inner.message ?? (typeof parsed.error === 'string' ? parsed.error : ''));
    field = typeof inner.field === 'string' ? inner.field : undefined;
  } catch {
    message = text.trim().slice(0, 300);
  }
  if (!message) message = fallbackMessage(status, statusText);
  return new ApiError(status, message.charAt(0).toUpperCase() + message.slice(1), field);
}

function fallbackMessage(status: number, statusText: string): string {
  if (status === 401) return 'Your session has expired. Please log in again.';
  if (status === 403) return 'You do not have permission to do this.';
  if (status === 404) return 'Not found.';
  if (status === 503) return 'The host is offline.';
  return `Request failed (${status}${statusText ? ` ${statusText}` : ''}).`;
}

/** The message of an ApiError bound to `field`, for display next to that field. */
export function fieldError(err: unknown, field: string): string | undefined {
  return err instanceof ApiError && err.field === field ? err.message : undefined;
}

/** The message of an error not bound to a field (shown at the top of a form). */
export function formError(err: unknown, fields: readonly string[]): string | undefined {
  if (!err) return undefined;
  if (err instanceof ApiError && err.field && fields.includes(err.field)) return undefined;
  return err instanceof Error ? err.message : String(err);
}

export const apiGet = <T>(path: string, opts?: RequestOptions) => apiRequest<T>('GET', path, undefined, opts);
export const apiPost = <T>(path: string, body?: unknown, opts?: RequestOptions) =>
  apiRequest<T>('POST', path, body ?? {}, opts);
export const apiPatch = <T>(path: string, body: unknown, opts?: RequestOptions) =>
  apiRequest<T>('PATCH', path, body, opts);
export const apiDelete = <T>(path: string, opts?: RequestOptions) => apiRequest<T>('DELETE', path, undefined, opts);
/** The URL of a GET operation, for links the browser follows itself (downloads); the cookie authenticates it. */
export const apiUrl = (path: string) => `/api/v1${path}`;
