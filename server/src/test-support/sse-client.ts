// Reads /api/v1/events (server-sent events) over HTTPS for tests; collects {event, data} and
// comment lines, and tells when the server ends the stream.
import { request } from 'node:https';
import type { ClientRequest } from 'node:http';

export interface SseEvent {
  event: string;
  data: unknown;
}

export class SseClient {
  readonly events: SseEvent[] = [];
  /** SSE comment lines (": …") without the colon, keep-alives included. */
  readonly comments: string[] = [];
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;
  private endedNow: () => void = () => undefined;
  private req: ClientRequest | undefined;

  private constructor() {
    this.ended = new Promise((r) => (this.endedNow = r));
  }

  /** `auth`: the session cookie, or `{ bearer }` for an API token. */
  static open(base: string, ca: string, auth: string | { bearer: string }): Promise<SseClient> {
    const c = new SseClient();
    const credentials = typeof auth === 'string' ? { Cookie: auth } : { Authorization: `Bearer ${auth.bearer}` };
    return new Promise((resolve, reject) => {
      c.req = request(
        new URL('/api/v1/events', base),
        { ca, headers: { ...credentials, Accept: 'text/event-stream' } },
        (res) => {
          if (res.statusCode !== 200) return reject(new Error(`events: HTTP ${res.statusCode}`));
          let buf = '';
          res.on('error', () => undefined);
          res.on('end', () => c.endedNow());
          res.on('data', (d: Buffer) => {
            buf += d.toString('utf8');
            let i: number;
            while ((i = buf.indexOf('\n\n')) >= 0) {
              const block = buf.slice(0, i);
              buf = buf.slice(i + 2);
              const event = /^event: (.*)$/m.exec(block)?.[1];
              const data = /^data: (.*)$/m.exec(block)?.[1];
              if (event && data) c.events.push({ event, data: JSON.parse(data) });
              for (const m of block.matchAll(/^: ?(.*)$/gm)) c.comments.push(m[1]!);
            }
          });
          resolve(c);
        },
      );
      c.req.on('error', (e) => (c.closed ? undefined : reject(e)));
      c.req.end();
    });
  }

  private closed = false;

  close(): void {
    this.closed = true;
    this.req?.destroy();
  }
}
