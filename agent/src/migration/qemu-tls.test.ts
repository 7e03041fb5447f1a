// QEMU's migration TLS files from the vDC certificate: real QEMU (qemu-img's --object) loads them
// as server credentials that demand a client certificate and as client credentials; the key is
// its user's alone; a certificate that does not name this host is refused before anything is written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createCa, createSelfSigned, issueCertificateForKeyOf } from '@quantix/proto/tls/certificates.js';
import { migrationTlsName } from '@quantix/proto/tls/migration-tls.js';
import type { AgentContext } from '../context.js';
import { storeAgentCertificate } from '../identity/agent-certificate.js';
import { qemuOwner } from './migration-paths.js';
import { writeQemuTlsFiles } from './qemu-tls.js';

const exec = promisify(execFile);

test('QEMU TLS files: loaded by QEMU both ways, key private to QEMU, only a certificate naming this host', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'qxt-qemu-tls-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  await mkdir(join(dataDir, 'identity'), { mode: 0o700 });
  const ca = await createCa('test vDC', 10);
  const hostId = '3f1c9a52-8d0e-4c1b-9a57-0d6f1f0b2c11';
  const identity = await createSelfSigned({ commonName: 'quantix-agent t', days: 10, usages: ['server'] });
  const ctx = {
    config: { dataDir },
    identity: { hostId, ...identity },
    membership: { caCertificatePem: ca.certPem },
  } as unknown as AgentContext;
  const issue = (name: string) =>
    issueCertificateForKeyOf(ca, identity.certPem, {
      commonName: 'quantix agent t',
      uris: [`urn:quantix:agent:${hostId}`],
      dnsNames: [name],
      days: 1,
      usages: ['server', 'client'],
    });
  const dir = join(dataDir, 'pki-qemu');

  await storeAgentCertificate(dataDir, ctx.identity, ca.certPem, await issue('some-other-name'));
  await assert.rejects(writeQemuTlsFiles(ctx, dir), new RegExp(`does not name ${migrationTlsName(hostId)}`));
  await assert.rejects(readdir(dir), { code: 'ENOENT' });

  await storeAgentCertificate(dataDir, ctx.identity, ca.certPem, await issue(migrationTlsName(hostId)));
  await writeQemuTlsFiles(ctx, dir);
  assert.deepEqual((await readdir(dir)).sort(), [
    'ca-cert.pem',
    'client-cert.pem',
    'client-key.pem',
    'server-cert.pem',
    'server-key.pem',
  ]);
  const qemu = await qemuOwner();
  for (const key of ['server-key.pem', 'client-key.pem']) {
    const s = await stat(join(dir, key));
    assert.equal(s.mode & 0o777, 0o600, key);
    assert.equal(s.uid, qemu.uid, key);
  }
  // QEMU checks the files as it loads them (CA, certificate against CA and key): as libvirt's
  // incoming side (verify-peer) and its outgoing side.
  for (const endpoint of ['server,verify-peer=on', 'client']) {
    await exec('qemu-img', ['info', '--object', `tls-creds-x509,id=tls0,dir=${dir},endpoint=${endpoint}`, '/dev/null']);
  }
  // Written again unchanged: nothing to do, still loadable.
  await writeQemuTlsFiles(ctx, dir);
});
