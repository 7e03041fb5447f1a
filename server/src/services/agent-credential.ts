// The vDC agent certificate an agent presents to another host's agent (a migration's pipe, a
// backup sent to another host): issued by the vDC CA for the agent's own key, naming its host id.
import { issueCertificateForKeyOf } from '@quantix/proto/tls/certificates.js';
import { migrationTlsName } from '@quantix/proto/tls/migration-tls.js';
import type { VdcRecord } from '../store/records.js';

/** Valid a day: issued again before each use. */
export function issueAgentCertificate(
  vdc: VdcRecord,
  host: { id: string; name: string; certificatePem: string },
): Promise<string> {
  return issueCertificateForKeyOf({ keyPem: vdc.caKeyPem, certPem: vdc.caCertPem }, host.certificatePem, {
    commonName: `quantix agent ${host.name}`,
    uris: [`urn:quantix:agent:${host.id}`],
    dnsNames: [migrationTlsName(host.id)],
    days: 1,
    usages: ['server', 'client'],
  });
}
