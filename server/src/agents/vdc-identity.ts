// The vDC's own CA (created on first start) and the server's client certificate it signs:
// every agent joined to this vDC accepts only clients with a certificate from this CA.
import { randomUUID } from 'node:crypto';
import { createCa, issueCertificate } from '@quantix/proto/tls/certificates.js';
import type { VdcRepo } from '../store/host-repo.js';
import type { VdcRecord } from '../store/records.js';

export async function ensureVdcIdentity(repo: VdcRepo): Promise<VdcRecord> {
  const existing = repo.get();
  if (existing) return existing;
  const ca = await createCa('Quantix vDC CA', 3650);
  const client = await issueCertificate(ca, { commonName: 'quantix vDC server', days: 3650, usages: ['client'] });
  const vdc: VdcRecord = {
    id: randomUUID(),
    caKeyPem: ca.keyPem,
    caCertPem: ca.certPem,
    clientKeyPem: client.keyPem,
    clientCertPem: client.certPem,
  };
  await repo.set(vdc);
  return vdc;
}
