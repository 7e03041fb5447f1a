// `qx vm console`: the VM's serial console in this terminal through the server's console
// websocket (API token + one-time ticket). Ctrl-] detaches, as with `virsh console`; with stdin
// not a terminal, its bytes are typed and its end closes the console (scripts).
import WebSocket from 'ws';
import type { ApiConnection } from './api-connection.js';
import type { Output } from './output.js';

const DETACH = 0x1d; // Ctrl-]

export function attachConsole(api: ApiConnection, ticketUrl: string, out: Output): Promise<void> {
  const url = new URL(ticketUrl, api.server.replace(/^https:/, 'wss:'));
  const ws = new WebSocket(url, {
    ...api.tlsOptions(),
    headers: api.authHeaders(),
    origin: api.server,
    maxPayload: 1 << 20,
  });
  const stdin = process.stdin;
  const tty = stdin.isTTY;
  return new Promise<void>((resolve, reject) => {
    let closedReason = '';
    const cleanup = () => {
      stdin.off('data', onInput);
      stdin.off('end', onEnd);
      process.stdout.off('resize', onResize);
      if (tty) stdin.setRawMode(false);
      stdin.pause();
    };
    const onInput = (buf: Buffer) => {
      const cut = tty ? buf.indexOf(DETACH) : -1;
      if (cut >= 0) {
        if (cut > 0) ws.send(buf.subarray(0, cut), { binary: true });
        closedReason = 'detached';
        ws.close(1000, 'detached');
        return;
      }
      ws.send(buf, { binary: true });
    };
    const onEnd = () => ws.close(1000, 'input ended');
    const onResize = () => sendSize();
    const sendSize = () => {
      if (tty && process.stdout.columns) {
        ws.send(JSON.stringify({ type: 'resize', cols: process.stdout.columns, rows: process.stdout.rows }));
      }
    };
    ws.once('unexpected-response', (_req, res) => {
      cleanup();
      reject(new Error(`the server refused the console: HTTP ${res.statusCode}`));
    });
    ws.once('open', () => {
      out.progress(`Connected to the console${tty ? ' (Ctrl-] detaches)' : ''}`);
      if (tty) stdin.setRawMode(true);
      stdin.on('data', onInput);
      stdin.once('end', onEnd);
      stdin.resume();
      process.stdout.on('resize', onResize);
      sendSize();
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return void process.stdout.write(data);
      const m = JSON.parse(data.toString('utf8')) as { type?: string; reason?: string };
      if (m.type === 'closed' || m.type === 'error') closedReason = m.reason ?? closedReason;
    });
    ws.once('close', () => {
      cleanup();
      out.progress(`\r\nConsole closed${closedReason ? `: ${closedReason}` : ''}`);
      resolve();
    });
    ws.once('error', (err) => {
      cleanup();
      reject(err);
    });
  });
}
