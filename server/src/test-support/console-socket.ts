// A console websocket client for tests: opens wss with the session cookie and Origin, collects
// the terminal output, waits for text, sends keystrokes as binary frames.
import WebSocket from 'ws';

export class ConsoleSocket {
  private out = '';
  private waiters: (() => void)[] = [];
  closedReason: string | undefined;
  /** Resolves with the close code once the websocket is closed (by either side). */
  readonly closed: Promise<number>;

  private constructor(private readonly ws: WebSocket) {
    this.closed = new Promise((r) => ws.once('close', (code: number) => r(code)));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.out += data.toString('utf8');
      else {
        const m = JSON.parse(data.toString('utf8')) as { type: string; reason?: string };
        if (m.type === 'closed') this.closedReason = m.reason;
      }
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static open(url: string, opts: { ca: string; cookie: string; origin: string }): Promise<ConsoleSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { ca: opts.ca, headers: { Cookie: opts.cookie }, origin: opts.origin });
      ws.once('open', () => resolve(new ConsoleSocket(ws)));
      ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`console websocket refused: HTTP ${res.statusCode}`)),
      );
      ws.once('error', reject);
    });
  }

  get output(): string {
    return this.out;
  }

  send(text: string): void {
    this.ws.send(Buffer.from(text, 'utf8'), { binary: true });
  }

  async waitFor(text: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.out.includes(text)) {
      if (Date.now() > deadline)
        throw new Error(`"${text}" did not appear on the console; got:\n${this.out.slice(-2000)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 500);
      });
    }
  }

  close(): void {
    this.ws.close();
  }
}
