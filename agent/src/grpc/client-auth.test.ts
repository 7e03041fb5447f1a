import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { status, type ServiceError } from '@grpc/grpc-js';
import { EnrollServiceClient, HostServiceClient } from '@quantix/proto/v1/host.js';
import { startTestAgent } from '../test-support/agent-harness.js';
import { pinnedCredentials } from '@quantix/proto/tls/pinned-credentials.js';
import { promisify } from '../test-support/promisify.js';
import { createCa, issueCertificate } from '@quantix/proto/tls/certificates.js';

test('only clients with a certificate from the joined vDC CA are served; a joined host refuses Join', async (t) => {
  const agent = await startTestAgent();
  t.after(() => agent.stop());
  const certPem = await readFile(`${agent.dataDir}/identity/agent.crt`, 'utf8');

  // Joined client (mTLS) works.
  const info = await promisify(agent.clients.host, agent.clients.host.getHostInfo)({});
  assert.match(info.hostId, /^[0-9a-f-]{36}$/);
  assert.ok(info.cpuCount > 0);
  assert.match(info.domainType, /^(kvm|qemu)$/);
  const build = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  assert.equal(info.agentVersion, build.version, "the agent reports its build's version (root package.json)");

  // No client certificate: refused.
  const anonymous = new HostServiceClient(agent.address, pinnedCredentials(certPem));
  t.after(() => anonymous.close());
  await assert.rejects(
    promisify(anonymous, anonymous.getHostInfo)({}),
    (e: ServiceError) => e.code === status.UNAUTHENTICATED,
  );

  // A certificate from another CA: refused.
  const otherCa = await createCa('somebody else', 1);
  const stranger = await issueCertificate(otherCa, { commonName: 'intruder', days: 1, usages: ['client'] });
  const strangerClient = new HostServiceClient(agent.address, pinnedCredentials(certPem, stranger));
  t.after(() => strangerClient.close());
  await assert.rejects(
    promisify(strangerClient, strangerClient.getHostInfo)({}),
    (e: ServiceError) => e.code === status.UNAUTHENTICATED,
  );

  // Joined: Join is refused whatever the token (enroll-handlers.test.ts has the rest) and changes nothing.
  const enroll = new EnrollServiceClient(agent.address, pinnedCredentials(certPem));
  t.after(() => enroll.close());
  const join = promisify(enroll, enroll.join);
  await assert.rejects(
    join({ joinToken: 'qx-wrong', caCertificatePem: otherCa.certPem, vdcId: 'x' }),
    (e: ServiceError) => e.code === status.FAILED_PRECONDITION && /already joined/.test(e.details),
  );
  await assert.rejects(
    promisify(strangerClient, strangerClient.getHostInfo)({}),
    (e: ServiceError) => e.code === status.UNAUTHENTICATED,
  );
  await assert.rejects(
    join({ joinToken: 'x', caCertificatePem: 'not a pem', vdcId: 'x' }),
    (e: ServiceError) => e.code === status.INVALID_ARGUMENT && /ca_certificate_pem/.test(e.details),
  );

  // A pinned client refuses an agent whose certificate changed.
  const otherAgentCert = (await issueCertificate(otherCa, { commonName: 'x', days: 1, usages: ['server'] })).certPem;
  const pinnedWrong = new HostServiceClient(agent.address, pinnedCredentials(otherAgentCert));
  t.after(() => pinnedWrong.close());
  await assert.rejects(
    promisify(pinnedWrong, pinnedWrong.getHostInfo)({}),
    (e: ServiceError) => e.code === status.UNAVAILABLE,
  );
});
