// The agent's persistent identity under <dataDir>/identity: host id, TLS key and self-signed
// certificate (created on first start). The vDC it is joined to: vdc-membership.ts.
import { mkdir, readFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '@quantix/proto/fs/atomic-file.js';
import { createSelfSigned, fingerprintOf } from '@quantix/proto/tls/certificates.js';

export interface AgentIdentity {
  hostId: string;
  keyPem: string;
  certPem: string;
  fingerprint: string;
}

const CERT_DAYS = 3650;

export async function loadOrCreateIdentity(dataDir: string): Promise<AgentIdentity> {
  const dir = join(dataDir, 'identity');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let hostId = await readOptional(join(dir, 'host-id'));
  if (!hostId) {
    hostId = randomUUID();
    await writeFileAtomic(join(dir, 'host-id'), hostId, 0o600);
  }
  let keyPem = await readOptional(join(dir, 'agent.key'));
  let certPem = await readOptional(join(dir, 'agent.crt'));
  if (!keyPem || !certPem) {
    const made = await createSelfSigned({
      commonName: `quantix-agent ${hostname()}`,
      dnsNames: [hostname(), 'localhost'],
      ipAddresses: localAddresses(),
      days: CERT_DAYS,
      usages: ['server'],
    });
    keyPem = made.keyPem;
    certPem = made.certPem;
    await writeFileAtomic(join(dir, 'agent.key'), keyPem, 0o600);
    await writeFileAtomic(join(dir, 'agent.crt'), certPem, 0o644);
  }
  return { hostId: hostId.trim(), keyPem, certPem, fingerprint: fingerprintOf(certPem) };
}

export function localAddresses(): string[] {
  const all = Object.values(networkInterfaces()).flat();
  return [
    ...new Set(['127.0.0.1', ...all.filter((a) => a && !a.internal && a.family === 'IPv4').map((a) => a!.address)]),
  ];
}

/** The file's text, or undefined when it does not exist. */
export async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
