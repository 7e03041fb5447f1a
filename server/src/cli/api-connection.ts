// `qx`'s HTTPS client of the vDC API: Bearer token, the certificate pinned at login (else the
// system's CAs), bounded replies and timeouts; an error reply becomes the server's own sentence.
import { request, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { Credentials } from './credentials.js';

const MAX_REPLY_BYTES = 64 << 20;
const IDLE_TIMEOUT_MS = 60_000;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export class ApiConnection {
  constructor(private readonly creds: Credentials) {}

  get server(): string {
    return this.creds.server;
  }

  /** TLS options for any connection to the server (also the console websocket). */
  tlsOptions(): Pick<RequestOptions, 'ca'> {
    return this.creds.certificatePem ? { ca: this.creds.certificatePem } : {};
  }

  authHeaders(): Record<string, string> {
    return { Authorization: `Bearer ${this.creds.token}` };
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { ...this.authHeaders(), Accept: 'application/json' };
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    return this.send<T>(method, path, headers, (req) => req.end(payload));
  }

  /** PUTs `size` bytes of `stream` (an upload URL the server gave). */
  async upload<T>(path: string, stream: Readable, size: number): Promise<T> {
    const headers = {
      ...this.authHeaders(),
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(size),
    };
    return this.send<T>('PUT', path, headers, (req) => {
      stream.on('error', (err) => req.destroy(err));
      stream.pipe(req);
    });
  }

  private send<T>(
    method: string,
    path: string,
    headers: Record<string, string>,
    write: (req: ReturnType<typeof request>) => void,
  ): Promise<T> {
    const url = new URL(path, this.creds.server);
    return new Promise<T>((resolve, reject) => {
      const req = request(url, { method, headers, ...this.tlsOptions() }, (res) => {
        readReply(res).then((text) => {
          const json = parseJson(text);
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve(json as T);
          const error = (json as { error?: { message?: string; field?: string } } | undefined)?.error;
          reject(new ApiError(status, error?.message ?? `HTTP ${status} from ${method} ${url.pathname}`, error?.field));
        }, reject);
      });
      req.setTimeout(IDLE_TIMEOUT_MS, () =>
        req.destroy(new Error(`no answer from ${this.creds.server} within ${IDLE_TIMEOUT_MS / 1000} s`)),
      );
      req.on('error', (err) => reject(explainTlsError(err, this.creds.server)));
      write(req);
    });
  }
}

function readReply(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_REPLY_BYTES) res.destroy(new Error(`the server's reply exceeds ${MAX_REPLY_BYTES >> 20} MiB`));
      else chunks.push(c);
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

function explainTlsError(err: Error, server: string): Error {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT_ALTNAME/.test(code)) {
    return new Error(
      `${server} presented a certificate other than the one accepted at login (${code}): ` +
        'if the appliance changed its certificate, check its fingerprint and run `qx login` again',
    );
  }
  return err;
}
