// Agent-to-agent credentials: the vDC issues an agent a client certificate for its own key
// (urn:quantix:agent:<host id>); the agent stores only one that fits its key, host id and vDC CA,
// and another agent presenting such a certificate can call nothing but the migration tunnel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { status, type ServiceError } from '@grpc/grpc-js';
import { HostServiceClient } from '@quantix/proto/v1/host.js';
import { VmServiceClient } from '@quantix/proto/v1/vm.js';
import { createSelfSigned, issueCertificateForKeyOf } from '@quantix/proto/tls/certificates.js';
import { pinnedCredentials } from '@quantix/proto/tls/pinned-credentials.js';
import { startTestAgent } from '../test-support/agent-harness.js';
import { promisify } from '../test-support/promisify.js';
import { agentUrn } from './agent-certificate.js';

test('an agent certificate of the vDC opens only migration tunnels; the agent stores only its own', async (t) => {
  const agent = await startTestAgent();
  t.after(() => agent.stop());
  const certPem = await readFile(`${agent.dataDir}/identity/agent.crt`, 'utf8');
  const hostId = (await readFile(`${agent.dataDir}/identity/host-id`, 'utf8')).trim();
  const issue = (ownerPem: string, id: string) =>
    issueCertificateForKeyOf(agent.ca, ownerPem, {
      commonName: 'agent',
      uris: [agentUrn(id)],
      days: 1,
      usages: ['client'],
    });

  // Another agent of the same vDC: its own key, a certificate from the vDC CA for it.
  const peer = await createSelfSigned({ commonName: 'peer agent', days: 1, usages: ['server'] });
  const peerCert = { keyPem: peer.keyPem, certPem: await issue(peer.certPem, 'peer-host-id') };
  const creds = pinnedCredentials(certPem, peerCert);
  const vm = new VmServiceClient(agent.address, creds);
  const host = new HostServiceClient(agent.address, creds);
  t.after(() => (vm.close(), host.close()));
  const denied = (e: ServiceError) =>
    e.code === status.PERMISSION_DENIED && /may only open migration tunnels/.test(e.details);
  await assert.rejects(promisify(vm, vm.deleteVm)({ vm: { id: 'any' }, deleteDisks: true }), denied);
  await assert.rejects(promisify(vm, vm.listVms)({}), denied);
  await assert.rejects(promisify(host, host.getHostInfo)({}), denied);
  await assert.rejects(promisify(host, host.setAgentCertificate)({ certificatePem: peerCert.certPem }), denied);

  // The vDC (server certificate) hands the agent its own: stored; one for another key or host id is refused.
  const setCert = promisify(agent.clients.host, agent.clients.host.setAgentCertificate);
  await assert.rejects(
    setCert({ certificatePem: await issue(peer.certPem, hostId) }),
    (e: ServiceError) => e.code === status.INVALID_ARGUMENT && /not for this agent's key/.test(e.details),
  );
  await assert.rejects(
    setCert({ certificatePem: await issue(certPem, 'someone-else') }),
    (e: ServiceError) => e.code === status.INVALID_ARGUMENT && /does not name urn:quantix:agent:/.test(e.details),
  );
  assert.equal(existsSync(`${agent.dataDir}/identity/agent-client.crt`), false);
  const own = await issue(certPem, hostId);
  await setCert({ certificatePem: own });
  assert.equal((await readFile(`${agent.dataDir}/identity/agent-client.crt`, 'utf8')).trim(), own.trim());
});
