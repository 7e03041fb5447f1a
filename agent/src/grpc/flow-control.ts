// Widens the HTTP/2 receive window of the agent's gRPC server. grpc-js keeps Node's 64 KiB
// default and has no server option for it, which caps client-stream uploads (volumes, OVAs):
// the agent spends its CPU on window updates. Node's own APIs do it (Http2Server.updateSettings,
// Http2Session.setLocalWindowSize); only finding grpc-js's HTTP/2 servers reaches inside it, so
// that lookup is the one brittle line here and it degrades to a no-op with a warning.
import type { Http2SecureServer, Http2Server, ServerHttp2Session } from 'node:http2';
import type { Server } from '@grpc/grpc-js';
import { log } from '../log.js';

/**
 * 4 MiB: as fast as 16 MiB on loopback (~190 MB/s into a loop pool either way), and what an
 * agent that writes slower than the network holds in memory stays small.
 */
export const RECEIVE_WINDOW_BYTES = 4 * 1024 * 1024;

export function widenReceiveWindow(server: Server, bytes = RECEIVE_WINDOW_BYTES): void {
  const servers = (server as unknown as { http2Servers?: Map<Http2Server | Http2SecureServer, unknown> }).http2Servers;
  if (!(servers instanceof Map) || servers.size === 0) {
    log.warn('gRPC flow control: HTTP/2 servers not found, keeping the default window');
    return;
  }
  for (const http2Server of servers.keys()) {
    http2Server.updateSettings({ initialWindowSize: bytes });
    http2Server.on('session', (session: ServerHttp2Session) => {
      session.once('localSettings', () => session.setLocalWindowSize(bytes));
    });
  }
}
