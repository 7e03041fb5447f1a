// The agent's private Unix socket: 0600 in a 0700 directory; no TLS there, but the host must be
// joined for anything but Join, as on the mTLS port; a leave ends what the socket was serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { EnrollServiceClient, HostServiceClient } from '@quantix/proto/v1/host.js';
import { createCa } from '@quantix/proto/tls/certificates.js';
import { startTestAgent } from '../test-support/agent-harness.js';
import { promisify } from '../test-support/promisify.js';

test('local socket: private modes, served without TLS while joined, only Join while not', async (t) => {
  const agent = await startTestAgent();
  t.after(() => agent.stop());
  const socket = agent.server.localSocket!;
  assert.equal(socket, `${agent.dataDir}/local/agent.sock`);
  assert.equal((await stat(socket)).mode & 0o777, 0o600);
  assert.equal((await stat(dirname(socket))).mode & 0o777, 0o700);

  const host = new HostServiceClient(`unix:${socket}`, credentials.createInsecure());
  const enroll = new EnrollServiceClient(`unix:${socket}`, credentials.createInsecure());
  t.after(() => {
    host.close();
    enroll.close();
  });
  const info = await promisify(host, host.getHostInfo)({});
  assert.equal(info.hostId, (await promisify(agent.clients.host, agent.clients.host.getHostInfo)({})).hostId);

  await agent.membership.leave();
  await assert.rejects(
    promisify(host, host.getHostInfo)({}),
    (e: ServiceError) => e.code === status.UNAUTHENTICATED && /not been joined/.test(e.details),
  );
  const ca = await createCa('local vDC', 1);
  const joined = await promisify(
    enroll,
    enroll.join,
  )({ joinToken: agent.membership.status().token, caCertificatePem: ca.certPem, vdcId: 'local' });
  assert.equal(joined.host?.hostId, info.hostId);
  assert.equal((await promisify(host, host.getHostInfo)({})).hostId, info.hostId);
});
