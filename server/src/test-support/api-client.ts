// Test client for the server over real HTTPS (trusting the server's own certificate): keeps the
// session cookie and CSRF token, or a Bearer token, like the UI or a script would.
import { request } from 'node:https';
import type { Readable } from 'node:stream';
import type { TaskDto } from '../dto/tasks.js';
import type { UploadDto } from '../dto/uploads.js';

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: T;
  /** The body bytes as received. */
  raw: Buffer;
}

export interface RequestOptions {
  body?: unknown;
  /** Raw body streamed as-is (uploads). */
  stream?: Readable;
  headers?: Record<string, string>;
  /** Leave out the X-CSRF-Token header even when signed in. */
  noCsrf?: boolean;
}

export class ApiClient {
  cookie: string | undefined;
  csrf: string | undefined;
  bearer: string | undefined;

  /**
   * `ca`: the server's certificate, or a getter for it — the server regenerates its self-signed
   * certificate when the machine's addresses change (other tests add veths), so a long test asks
   * for the current one on each request.
   */
  constructor(
    readonly base: string,
    private readonly ca: string | (() => string),
  ) {}

  get caPem(): string {
    return typeof this.ca === 'string' ? this.ca : this.ca();
  }

  request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse<T>> {
    const url = new URL(path, this.base);
    const headers: Record<string, string> = { ...opts.headers };
    let payload: Buffer | undefined;
    if (opts.body !== undefined) {
      payload = Buffer.from(JSON.stringify(opts.body));
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    if (this.cookie) headers.Cookie = this.cookie;
    if (this.csrf && !opts.noCsrf) headers['X-CSRF-Token'] = this.csrf;
    if (this.bearer) headers.Authorization = `Bearer ${this.bearer}`;
    return new Promise((resolve, reject) => {
      const req = request(url, { method, headers, ca: this.caPem }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          const text = raw.toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          const setCookie = res.headers['set-cookie']?.[0];
          if (setCookie?.startsWith('qx_session=')) this.cookie = setCookie.split(';')[0];
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: json as T, raw });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      if (opts.stream) opts.stream.pipe(req);
      else req.end(payload);
    });
  }

  /**
   * An upload in its two steps: POST `open` to `openPath` (202: the task and the upload URL), then
   * PUT `stream` (`open.sizeBytes` long) to that URL. `reply` is the PUT's answer (the finished
   * task, or the error), or the POST's when that refused.
   */
  async upload(
    openPath: string,
    open: Record<string, unknown> & { sizeBytes: number },
    stream: Readable,
    headers: Record<string, string> = {},
  ): Promise<{ opened: ApiResponse<UploadDto>; reply: ApiResponse<TaskDto> }> {
    const opened = await this.request<UploadDto>('POST', openPath, { body: open });
    if (opened.status !== 202) {
      stream.destroy();
      return { opened, reply: opened as ApiResponse<never> };
    }
    const reply = await this.request<TaskDto>('PUT', opened.json.uploadUrl, {
      stream,
      headers: { 'Content-Length': String(open.sizeBytes), 'Content-Type': 'application/octet-stream', ...headers },
    });
    return { opened, reply };
  }

  async login(username: string, password: string): Promise<ApiResponse<{ csrfToken: string }>> {
    const r = await this.request<{ csrfToken: string }>('POST', '/api/v1/auth/login', { body: { username, password } });
    if (r.status === 200) this.csrf = r.json.csrfToken;
    return r;
  }
}
