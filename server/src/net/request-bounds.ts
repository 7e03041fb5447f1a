// Time limits per HTTP request. Every request must arrive whole within the request timeout,
// except streaming uploads: those, and streaming downloads, are closed instead once no byte has
// moved for the idle timeout while the client was the one to wait for (a slow but moving upload
// goes on; a pause because the server or the agent holds back does not count). Header and TLS
// handshake timeouts are the HTTP server's own (server.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ConnectionBounds } from '../config.js';

/** How a request's bytes flow: a streamed body in, a streamed body out, or neither. */
export type StreamKind = 'upload' | 'download' | undefined;

const TIMEOUT_408 = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';

/** Applies the limits to one request; call it before the application sees the request. */
export function boundRequest(
  req: IncomingMessage,
  res: ServerResponse,
  kind: StreamKind,
  bounds: ConnectionBounds,
): void {
  const socket = req.socket;
  if (kind !== 'upload') {
    const timer = setTimeout(() => {
      if (req.complete) return;
      if (!res.headersSent) socket.write(TIMEOUT_408);
      socket.destroy();
    }, bounds.requestTimeoutMs);
    res.once('close', () => clearTimeout(timer));
  }
  if (!kind) return;
  // The socket's idle timer sees both directions; a 'timeout' listener on the response keeps the
  // HTTP server from destroying the socket by itself, so this decides whose silence it was.
  socket.setTimeout(bounds.idleTimeoutMs);
  res.on('timeout', () => {
    const receiving = kind === 'upload' && !req.complete;
    const sending = kind === 'download' && res.headersSent && !res.writableFinished;
    if ((receiving && !serverHoldsBack(req)) || (sending && clientHoldsBack(res))) {
      socket.destroy();
      return;
    }
    socket.setTimeout(bounds.idleTimeoutMs);
  });
}

/** The body is not being read: the application or the agent is slower than the client. */
function serverHoldsBack(req: IncomingMessage): boolean {
  return req.socket.isPaused() || req.readableLength >= req.readableHighWaterMark;
}

/** Bytes wait to be sent: the client does not read them. */
function clientHoldsBack(res: ServerResponse): boolean {
  return res.writableLength > 0 || (res.socket?.writableLength ?? 0) > 0;
}
