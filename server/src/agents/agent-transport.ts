// How the server reaches an agent: the local host's private Unix socket (`unix:/path`, see
// @quantix/proto/fs/private-socket.ts) without TLS, any other address over TLS pinned to the
// agent's certificate (mutual once a vDC client certificate is given).
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import type { KeyAndCert } from '@quantix/proto/tls/certificates.js';
import { pinnedCredentials } from '@quantix/proto/tls/pinned-credentials.js';
import { unixSocketPath } from '@quantix/proto/fs/private-socket.js';

/** Channel credentials for `address`: none on the local socket, pinned TLS elsewhere. */
export function agentCredentials(address: string, agentCertPem: string, client?: KeyAndCert): ChannelCredentials {
  return unixSocketPath(address) !== undefined ? credentials.createInsecure() : pinnedCredentials(agentCertPem, client);
}
