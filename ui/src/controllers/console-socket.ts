// The console/shell websocket: asks for a one-time ticket, connects, reconnects on request, sends
// input and resize messages. Plain class (no Lit) so the console element stays small.

export const SOCKET_STATES = ['idle', 'connecting', 'open', 'closed', 'error'] as const;
export type SocketState = (typeof SOCKET_STATES)[number];

/** Close codes of the server's console/shell websockets. */
const CLOSE_REASONS: Record<number, string> = {
  4401: 'Not signed in, or the console ticket expired.',
  4403: 'You are not allowed to open this console.',
  4404: 'The VM or host no longer exists.',
  4503: 'The host is offline.',
};

export interface ConsoleSocketOptions {
  /** Gets a fresh ticket and returns the websocket URL for it. */
  connectUrl: () => Promise<string>;
  onData: (data: Uint8Array | string) => void;
  onState: (state: SocketState, reason?: string) => void;
}

export class ConsoleSocket {
  private ws?: WebSocket;
  private readonly opts: ConsoleSocketOptions;
  private disposed = false;
  private closedReason?: string;
  state: SocketState = 'idle';

  constructor(opts: ConsoleSocketOptions) {
    this.opts = opts;
  }

  async connect(): Promise<void> {
    this.ws?.close();
    this.ws = undefined;
    this.closedReason = undefined;
    this.setState('connecting');
    let url: string;
    try {
      url = await this.opts.connectUrl();
    } catch (err) {
      this.setState('error', (err as Error).message);
      return;
    }
    if (this.disposed) return;
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => this.setState('open');
    ws.onmessage = (e) => {
      if (typeof e.data === 'string') {
        if (!this.handleControl(e.data)) this.opts.onData(e.data);
      } else this.opts.onData(new Uint8Array(e.data as ArrayBuffer));
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      const reason = this.closedReason ?? (e.reason || CLOSE_REASONS[e.code]);
      this.setState(e.code >= 4000 || this.state === 'error' ? 'error' : 'closed', reason);
    };
    ws.onerror = () => {
      if (this.state !== 'open') this.setState('error', 'The console connection failed.');
    };
  }

  /** Server control messages are JSON text frames, e.g. `{"type":"closed","reason":"…"}`. */
  private handleControl(text: string): boolean {
    if (!text.startsWith('{')) return false;
    try {
      const msg = JSON.parse(text) as { type: string; reason?: string; message?: string };
      if (msg.type === 'closed') this.closedReason = msg.reason ?? msg.message;
      else if (msg.type === 'error') this.closedReason = msg.message ?? msg.reason;
      else return false;
      return true;
    } catch {
      return false;
    }
  }

  send(data: string): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(new TextEncoder().encode(data));
  }

  resize(cols: number, rows: number): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'resize', cols, rows }));
  }

  dispose(): void {
    this.disposed = true;
    this.ws?.close();
    this.ws = undefined;
  }

  private setState(state: SocketState, reason?: string): void {
    this.state = state;
    this.opts.onState(state, reason);
  }
}
