// A test client for ConsoleService streams: collects output as text, waits for a string,
// sends lines and resizes, and reports how the stream ended.
import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { ConsoleInput, ConsoleOutput } from '@quantix/proto/v1/console.js';

export class ConsoleClient {
  output = '';
  closedReason: string | undefined;
  error: Error | undefined;
  readonly ended: Promise<void>;
  private waiters: (() => void)[] = [];

  constructor(readonly call: ClientDuplexStream<ConsoleInput, ConsoleOutput>) {
    call.on('data', (m: ConsoleOutput) => {
      if (m.msg?.$case === 'data') this.output += m.msg.value.toString('utf8');
      else if (m.msg?.$case === 'closed') this.closedReason = m.msg.value.reason;
      for (const w of this.waiters) w();
    });
    this.ended = new Promise((resolve) => {
      call.on('error', (e) => {
        this.error = e;
        resolve();
      });
      call.on('end', () => resolve());
    });
    void this.ended.then(() => {
      for (const w of this.waiters) w();
    });
  }

  open(vm: string, cols = 80, rows = 24): this {
    this.call.write({ msg: { $case: 'open', value: { vm, size: { cols, rows } } } });
    return this;
  }

  send(text: string): void {
    this.call.write({ msg: { $case: 'data', value: Buffer.from(text) } });
  }

  resize(cols: number, rows: number): void {
    this.call.write({ msg: { $case: 'resize', value: { cols, rows } } });
  }

  /** Resolves once the output (from `from`) contains `text`; rejects after `timeoutMs`. */
  waitFor(text: string | RegExp, timeoutMs = 60_000, from = 0): Promise<void> {
    const hit = () =>
      typeof text === 'string' ? this.output.indexOf(text, from) >= 0 : text.test(this.output.slice(from));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `console: no ${String(text)} within ${timeoutMs} ms; got: ${JSON.stringify(this.output.slice(-400))}`,
          ),
        );
      }, timeoutMs);
      const check = () => {
        if (hit()) {
          clearTimeout(timer);
          resolve();
        } else if (this.error || this.closedReason !== undefined) {
          clearTimeout(timer);
          reject(new Error(`console ended (${this.error?.message ?? this.closedReason}) before ${String(text)}`));
        } else return;
        this.waiters = this.waiters.filter((w) => w !== check);
      };
      this.waiters.push(check);
      check();
    });
  }
}
