// The agent's client certificate for other agents of its vDC: issued by the vDC CA for this agent's
// own key (the server pushes it at connect), marked with the URI SAN urn:quantix:agent:<host id>.
// Stored as identity/agent-client.crt; peers admit such a certificate only to migration tunnels.
import { X509Certificate } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@quantix/proto/fs/atomic-file.js';
import { isIssuedBy } from '@quantix/proto/tls/certificates.js';
import { readOptional, type AgentIdentity } from './agent-identity.js';
import { invalidArgument } from '../errors.js';

const URN = 'urn:quantix:agent:';

/** The host id an agent-role certificate names, or undefined for any other certificate (the server's). */
export function agentHostIdOf(cert: X509Certificate): string | undefined {
  const uri = (cert.subjectAltName ?? '').split(', ').find((n) => n.startsWith(`URI:${URN}`));
  return uri?.slice(`URI:${URN}`.length);
}

export function agentUrn(hostId: string): string {
  return `${URN}${hostId}`;
}

const file = (dataDir: string) => join(dataDir, 'identity', 'agent-client.crt');

export async function readAgentCertificate(dataDir: string): Promise<string | undefined> {
  return (await readOptional(file(dataDir)))?.trim() || undefined;
}

/** Checks `pem` is for this agent's key and host id and issued by `caPem`, then stores it. */
export async function storeAgentCertificate(
  dataDir: string,
  identity: AgentIdentity,
  caPem: string | undefined,
  pem: string,
): Promise<void> {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    throw invalidArgument('certificate_pem', 'not a PEM certificate');
  }
  if (!caPem || !isIssuedBy(cert, new X509Certificate(caPem)))
    throw invalidArgument('certificate_pem', "not issued by this host's vDC CA");
  if (!cert.publicKey.equals(new X509Certificate(identity.certPem).publicKey))
    throw invalidArgument('certificate_pem', "not for this agent's key");
  if (agentHostIdOf(cert) !== identity.hostId)
    throw invalidArgument('certificate_pem', `does not name ${agentUrn(identity.hostId)}`);
  await writeFileAtomic(file(dataDir), `${pem.trim()}\n`, 0o644);
}

export async function forgetAgentCertificate(dataDir: string): Promise<void> {
  await rm(file(dataDir), { force: true });
}
