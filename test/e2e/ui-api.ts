// Minimal HTTPS JSON client for browser tests (setup, cleanup) against the self-signed server.
import { request } from 'node:https';

export interface ApiSession {
  cookie: string;
  csrf: string;
}

/** One JSON request; resolves with status and parsed body. */
export function apiCall<T = unknown>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  session?: ApiSession,
): Promise<{ status: number; body: T; setCookie: string[] }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (data) headers['Content-Type'] = 'application/json';
    if (session) {
      headers.Cookie = session.cookie;
      headers['X-CSRF-Token'] = session.csrf;
      headers.Origin = base;
    }
    const req = request(`${base}/api/v1${path}`, { method, headers, rejectUnauthorized: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let parsed: unknown = text;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          /* not JSON: keep the text */
        }
        resolve({ status: res.statusCode ?? 0, body: parsed as T, setCookie: res.headers['set-cookie'] ?? [] });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** Logs in over the API and returns cookie + CSRF token. */
export async function apiLogin(base: string, username: string, password: string): Promise<ApiSession> {
  const r = await apiCall<{ csrfToken: string }>(base, 'POST', '/auth/login', { username, password });
  if (r.status !== 200) throw new Error(`login as ${username} failed: ${r.status} ${JSON.stringify(r.body)}`);
  return { cookie: r.setCookie.map((c) => c.split(';')[0]).join('; '), csrf: r.body.csrfToken };
}
