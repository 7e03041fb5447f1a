// How a client reaches an agent: TLS that trusts exactly the pinned agent certificate (by SHA-256
// fingerprint, not host name: agents are addressed by IP), optionally presenting a vDC client cert.
// Part of the contract, used by the server and by every test or bench that talks to an agent.
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { fingerprintOf, type KeyAndCert } from './certificates.js';

export function pinnedCredentials(agentCertPem: string, client?: KeyAndCert): ChannelCredentials {
  const fingerprint = fingerprintOf(agentCertPem);
  return credentials.createSsl(
    Buffer.from(agentCertPem),
    client ? Buffer.from(client.keyPem) : null,
    client ? Buffer.from(client.certPem) : null,
    {
      checkServerIdentity: (_host, cert) =>
        cert.fingerprint256 === fingerprint
          ? undefined
          : new Error(`the agent's certificate changed: pinned ${fingerprint}, presented ${cert.fingerprint256}`),
    },
  );
}

/** Fingerprints compare case-insensitively, with or without colons. */
export function sameFingerprint(a: string, b: string): boolean {
  const norm = (s: string) => s.replace(/[^0-9a-f]/gi, '').toUpperCase();
  return norm(a) === norm(b) && norm(a).length === 64;
}
