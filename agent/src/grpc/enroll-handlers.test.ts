import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify as promisifyExec } from 'node:util';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { EnrollServiceClient, HostServiceClient } from '@quantix/proto/v1/host.js';
import { ConsoleServiceClient } from '@quantix/proto/v1/console.js';
import { createCa, issueCertificate } from '@quantix/proto/tls/certificates.js';
import { startTestAgent } from '../test-support/agent-harness.js';
import { promisify } from '../test-support/promisify.js';
import { callControlSocket, startControlSocket } from '../identity/control-socket.js';

const run = promisifyExec(execFile);
const REPO = new URL('../../..', import.meta.url).pathname;

/** Resolves with the status a stream ends with. */
function ended(call: {
  on(e: 'error', f: (e: ServiceError) => void): unknown;
  on(e: 'end', f: () => void): unknown;
}): Promise<string> {
  return new Promise((resolve) => {
    call.on('error', (e) => resolve(`${status[e.code]}: ${e.details}`));
    call.on('end', () => resolve('ended without a status error'));
  });
}

test("Leave: only the joined vDC may call it; it ends that vDC's open calls, and the host can join anew", async (t) => {
  const agent = await startTestAgent();
  t.after(() => agent.stop());
  const vdcClient = await issueCertificate(agent.ca, { commonName: 'vdc', days: 1, usages: ['client'] });
  const otherCa = await createCa('somebody else', 1);
  const stranger = await issueCertificate(otherCa, { commonName: 'intruder', days: 1, usages: ['client'] });

  const strangerHost = new HostServiceClient(agent.address, agent.channel(stranger));
  t.after(() => strangerHost.close());
  await assert.rejects(
    promisify(strangerHost, strangerHost.leave)({ vdcId: 'x' }),
    (e: ServiceError) => e.code === status.UNAUTHENTICATED,
  );
  assert.equal(agent.membership.joined, true);

  // The vDC has a Watch stream and a host shell open when it lets the host go.
  const watch = agent.clients.host.watch({ metricsIntervalMs: 0 });
  const watchEnd = ended(watch);
  await new Promise((resolve) => watch.once('data', resolve));
  const consoleClient = new ConsoleServiceClient(agent.address, agent.channel(vdcClient));
  t.after(() => consoleClient.close());
  const shell = consoleClient.shell(new Metadata());
  const shellEnd = ended(shell);
  shell.write({ msg: { $case: 'open', value: { vm: '', size: { cols: 80, rows: 24 } } } });
  await new Promise((resolve) => shell.once('data', resolve));

  await promisify(agent.clients.host, agent.clients.host.leave)({ vdcId: 'test' });
  assert.equal(await watchEnd, 'UNAUTHENTICATED: this host left its vDC');
  assert.equal(await shellEnd, 'UNAUTHENTICATED: this host left its vDC');
  await assert.rejects(
    promisify(agent.clients.host, agent.clients.host.getHostInfo)({}),
    (e: ServiceError) => e.code === status.UNAUTHENTICATED && /not been joined/.test(e.details),
  );
  assert.equal(existsSync(join(agent.dataDir, 'identity', 'vdc-ca.crt')), false);

  // A fresh token; the next vDC joins with it and is served, the old one is not.
  const token = (await readFile(join(agent.dataDir, 'join-token'), 'utf8')).trim();
  const enroll = new EnrollServiceClient(agent.address, agent.channel());
  t.after(() => enroll.close());
  await promisify(enroll, enroll.join)({ joinToken: token, caCertificatePem: otherCa.certPem, vdcId: 'next' });
  const nextVdc = new HostServiceClient(agent.address, agent.channel(stranger));
  t.after(() => nextVdc.close());
  const info = await promisify(nextVdc, nextVdc.getHostInfo)({});
  assert.match(info.hostId, /^[0-9a-f-]{36}$/);
  await assert.rejects(
    promisify(agent.clients.host, agent.clients.host.getHostInfo)({}),
    (e: ServiceError) => e.code === status.UNAUTHENTICATED,
  );
});

test('qx agent: status, renew-token and leave through the running agent; leave on the files with it stopped', async (t) => {
  const agent = await startTestAgent();
  t.after(() => agent.stop());
  const control = await startControlSocket(agent.dataDir, agent.membership);
  t.after(() => control.close());
  const qx = async (...args: string[]) =>
    JSON.parse(
      (
        await run(
          process.execPath,
          ['--import', 'tsx', 'agent/src/cli/qx.ts', 'agent', ...args, '--data-dir', agent.dataDir],
          { cwd: REPO },
        )
      ).stdout,
    ) as {
      joined: boolean;
      vdcId: string;
      token: string;
      tokenExpiresAt: string;
    };

  assert.deepEqual(await qx('status'), {
    joined: true,
    vdcId: 'test',
    caFingerprint: agent.membership.ca!.fingerprint256,
    token: '',
    tokenExpiresAt: '',
  });
  await assert.rejects(callControlSocket(agent.dataDir, 'renew-token'), /joined to vDC test .*no join token/);
  const left = await qx('leave');
  assert.equal(left.joined, false);
  assert.equal(agent.membership.joined, false, 'the running agent left');
  await assert.rejects(
    promisify(agent.clients.host, agent.clients.host.getHostInfo)({}),
    (e: ServiceError) => e.code === status.UNAUTHENTICATED,
  );
  const renewed = await qx('renew-token');
  assert.notEqual(renewed.token, left.token);
  assert.equal((await readFile(join(agent.dataDir, 'join-token'), 'utf8')).trim(), renewed.token);
  assert.ok(new Date(renewed.tokenExpiresAt).getTime() > Date.now());

  // No agent on the data dir: the CLI changes the files, which an agent reads when it starts.
  const stopped = await mkdtemp(join(tmpdir(), 'qx-agent-stopped-'));
  t.after(() => rm(stopped, { recursive: true, force: true }));
  const offline = JSON.parse(
    (
      await run(process.execPath, ['--import', 'tsx', 'agent/src/cli/qx.ts', 'agent', 'leave', '--data-dir', stopped], {
        cwd: REPO,
      })
    ).stdout,
  ) as { joined: boolean; token: string };
  assert.equal(offline.joined, false);
  assert.equal((await readFile(join(stopped, 'join-token'), 'utf8')).trim(), offline.token);
  await assert.rejects(
    run(process.execPath, ['--import', 'tsx', 'agent/src/cli/qx.ts', 'agent', 'forget'], { cwd: REPO }),
    /expected one of status, renew-token, leave/,
  );
});
