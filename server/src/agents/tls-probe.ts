// Step 1 of joining a host: a TLS handshake with the agent to read the certificate it presents
// (nothing is trusted yet; the user confirms the fingerprint shown on the host).
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { HttpError } from '../errors.js';
import { unixSocketPath } from '@quantix/proto/fs/private-socket.js';

export interface ProbeResult {
  address: string;
  certificatePem: string;
  fingerprint: string;
  subject: string;
  validTo: string;
}

export const DEFAULT_AGENT_PORT = 9443;

/** "10.0.0.5" → "10.0.0.5:9443"; "[fe80::1]:9000" kept. */
export function normaliseAddress(address: string): string {
  const a = address.trim();
  if (unixSocketPath(a) !== undefined) return a; // the local agent's socket (config only)
  if (/^\[.*\]$/.test(a) || !a.includes(':')) return `${a}:${DEFAULT_AGENT_PORT}`;
  return a;
}

export function splitAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(address.slice(at + 1)) };
}

export function probeAgent(address: string, timeoutMs = 5_000): Promise<ProbeResult> {
  const normalised = normaliseAddress(address);
  if (unixSocketPath(normalised) !== undefined)
    return Promise.reject(
      new HttpError(400, 'address: a Unix socket is only for the local agent, set in the server config', 'address'),
    );
  const { host, port } = splitAddress(normalised);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host,
      port,
      servername: '',
      rejectUnauthorized: false,
      ALPNProtocols: ['h2'],
      timeout: timeoutMs,
    });
    const fail = (why: string) => {
      socket.destroy();
      reject(new HttpError(502, `no Quantix agent answers at ${normalised}: ${why}`, 'address'));
    };
    socket.once('timeout', () => fail('timed out'));
    socket.once('error', (e) => fail(e.message));
    socket.once('secureConnect', () => {
      const raw = socket.getPeerCertificate(true)?.raw;
      socket.destroy();
      if (!raw) return fail('it presented no certificate');
      const cert = new X509Certificate(raw);
      resolve({
        address: normalised,
        certificatePem: cert.toString(),
        fingerprint: cert.fingerprint256,
        subject: cert.subject.replace(/\n/g, ', '),
        validTo: cert.validTo,
      });
    });
  });
}
