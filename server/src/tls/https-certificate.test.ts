// The HTTPS certificate: self-signed with the host's names on first start and kept while they
// hold, regenerated (and served at once) when the IPv4 addresses change; a real certificate
// installed through the API is served to new connections at once (checked by a TLS handshake)
// and survives a restart; bad input is refused naming the field; the plain-HTTP port only redirects;
// key and certificate are kept as one file, so no start ever pairs a certificate with another key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { request } from 'node:http';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, issueCertificate } from '@quantix/proto/tls/certificates.js';
import { HttpsCertificate, currentNames } from './https-certificate.js';
import { ApiClient } from '../test-support/api-client.js';
import { startTestServer } from '../test-support/test-server.js';
import { freePort } from '../test-support/spawn.js';

function servedCertificate(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, servername: 'quantix.test', rejectUnauthorized: false }, () => {
      resolve(new X509Certificate(s.getPeerCertificate(true).raw));
      s.destroy();
    });
    s.on('error', reject);
  });
}

const servedFingerprint = async (port: number) => (await servedCertificate(port)).fingerprint256;
const sans = (cert: X509Certificate) => (cert.subjectAltName ?? '').split(', ');

test('qxt-srv https certificate: generated, installed, redirect', async (t) => {
  const httpPort = await freePort();
  const s = await startTestServer({ QX_SERVER_HTTP_LISTEN: `127.0.0.1:${httpPort}` });
  t.after(() => s.stop());

  await t.test('first start: self-signed for the hostname and every current IPv4 address', async () => {
    const dto = (
      await s.admin.request<{ selfSigned: boolean; source: string; names: string[] }>(
        'GET',
        '/api/v1/settings/certificate',
      )
    ).json;
    assert.equal(dto.selfSigned, true);
    assert.equal(dto.source, 'generated');
    for (const ip of currentNames().ips) assert.ok(dto.names.includes(`IP Address:${ip}`), ip);
    const again = await HttpsCertificate.load(s.dataDir);
    assert.equal(await again.refreshGenerated(), false, 'unchanged names keep the certificate');
    assert.equal(again.current.certPem, s.services.certificate.current.certPem);
  });

  await t.test('a real certificate installed through the API is served at once and kept', async () => {
    const ca = await createCa('qxt-srv test CA', 2);
    const leaf = await issueCertificate(ca, {
      commonName: 'quantix.test',
      dnsNames: ['quantix.test'],
      days: 2,
      usages: ['server'],
    });
    const bad = await s.admin.request('PUT', '/api/v1/settings/certificate', {
      body: { certificatePem: leaf.certPem, privateKeyPem: ca.keyPem },
    });
    assert.equal(bad.status, 400);
    assert.equal((bad.json as { error: { field: string } }).error.field, 'privateKeyPem');
    const r = await s.admin.request<{ source: string; fingerprint: string }>('PUT', '/api/v1/settings/certificate', {
      body: { certificatePem: leaf.certPem, privateKeyPem: leaf.keyPem },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.source, 'installed');
    assert.equal(await servedFingerprint(s.running.port), new X509Certificate(leaf.certPem).fingerprint256);
    const reloaded = await HttpsCertificate.load(s.dataDir);
    assert.equal(reloaded.source, 'installed');
    assert.equal(reloaded.current.certPem, leaf.certPem);
  });

  await t.test('plain HTTP redirects to HTTPS', async () => {
    const res = await new Promise<{ status: number; location: string }>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: httpPort, path: '/api/v1/health', headers: { Host: 'quantix.test' } },
        (r) => {
          r.resume();
          resolve({ status: r.statusCode ?? 0, location: String(r.headers.location) });
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(res.status, 308);
    assert.equal(res.location, `https://quantix.test:${s.running.port}/api/v1/health`);
  });
});

test('qxt-srv https certificate: regenerated and served when the IPv4 addresses change', async (t) => {
  const s = await startTestServer();
  t.after(() => s.stop());
  const cert = s.services.certificate;
  const real = currentNames();
  const NEW_IP = '192.0.2.77'; // TEST-NET-1: never one of this machine's addresses
  assert.ok(!real.ips.includes(NEW_IP));
  const first = new X509Certificate(cert.current.certPem);
  // Trusts exactly what was served before the change (leaf + this appliance's CA).
  const before = new ApiClient(s.base, cert.current.certPem);
  before.cookie = s.admin.cookie;

  const withNewIp = { dns: real.dns, ips: [...real.ips, NEW_IP].sort() };
  assert.equal(await cert.refreshGenerated(withNewIp), true, 'an added address regenerates');
  const second = new X509Certificate(cert.current.certPem);
  assert.notEqual(second.fingerprint256, first.fingerprint256);
  assert.ok(sans(second).includes(`IP Address:${NEW_IP}`), sans(second).join(', '));
  for (const ip of real.ips) assert.ok(sans(second).includes(`IP Address:${ip}`), ip);
  assert.equal(
    await readFile(join(s.dataDir, 'tls', 'self-signed.crt'), 'utf8'),
    cert.current.certPem,
    'kept for the next start',
  );

  const served = await servedCertificate(s.running.port);
  assert.equal(served.fingerprint256, second.fingerprint256, 'new connections get the new certificate at once');
  assert.ok(sans(served).includes(`IP Address:${NEW_IP}`));
  const fresh = s.client(); // pins the certificate current now
  fresh.cookie = s.admin.cookie;
  const dto = await fresh.request<{ fingerprint: string; names: string[]; source: string }>(
    'GET',
    '/api/v1/settings/certificate',
  );
  assert.equal(dto.status, 200, dto.text);
  assert.equal(dto.json.fingerprint, second.fingerprint256);
  assert.ok(dto.json.names.includes(`IP Address:${NEW_IP}`));
  assert.equal(dto.json.source, 'generated');
  // The new certificate comes from the same appliance CA: a client that trusted the old chain (the
  // tests' clients, `qx login`, a browser that imported https-ca.crt) still connects.
  const still = await before.request('GET', '/api/v1/settings/certificate');
  assert.equal(still.status, 200, still.text);
  assert.equal(second.issuer, first.issuer);
  assert.notEqual(second.issuer, second.subject, 'issued by the appliance CA, not self-signed');

  assert.equal(await cert.refreshGenerated(withNewIp), false, 'the same addresses keep it');
  assert.equal(await cert.refreshGenerated(), true, 'the address gone again regenerates');
  const third = await servedCertificate(s.running.port);
  assert.equal(third.fingerprint256, new X509Certificate(cert.current.certPem).fingerprint256);
  assert.notEqual(third.fingerprint256, second.fingerprint256);
  assert.ok(!sans(third).includes(`IP Address:${NEW_IP}`), sans(third).join(', '));
});

test('qxt-srv https certificate: key and certificate are one file, never a mismatched pair', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'qxt-srv-pair-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const tls = join(dataDir, 'tls');
  const ca = await createCa('qxt-srv pair CA', 2);
  const leaf = await issueCertificate(ca, {
    commonName: 'quantix.test',
    dnsNames: ['quantix.test'],
    days: 2,
    usages: ['server'],
  });
  const other = await issueCertificate(ca, {
    commonName: 'other.test',
    dnsNames: ['other.test'],
    days: 2,
    usages: ['server'],
  });
  const pairOk = (kc: { keyPem: string; certPem: string }) =>
    new X509Certificate(kc.certPem).checkPrivateKey(createPrivateKey(kc.keyPem));

  // A crash of a writer that renames key and certificate one by one leaves a mismatched pair.
  await mkdir(tls, { recursive: true });
  await writeFile(join(tls, 'installed.crt'), other.certPem);
  await writeFile(join(tls, 'installed.key'), leaf.keyPem);
  const c = await HttpsCertificate.load(dataDir);
  assert.ok(pairOk(c.current), 'a certificate is never served with another key');
  assert.equal(c.source, 'generated');

  await c.install(leaf.certPem, leaf.keyPem);
  const pem = await readFile(join(tls, 'installed.pem'), 'utf8');
  assert.ok(
    pem.includes(leaf.keyPem.trim()) && pem.includes(leaf.certPem.trim()),
    'installed.pem holds the key and the certificate',
  );
  assert.equal((await stat(join(tls, 'installed.pem'))).mode & 0o777, 0o600);
  assert.equal(
    await readFile(join(tls, 'installed.crt'), 'utf8'),
    leaf.certPem,
    'installed.crt: the certificate alone, for clients',
  );
  assert.equal(existsSync(join(tls, 'installed.key')), false, 'no separate key file to fall out of step');

  // A crash after the pair's rename but before the certificate copy's: the copy is repaired.
  await writeFile(join(tls, 'installed.crt'), other.certPem);
  const afterCrash = await HttpsCertificate.load(dataDir);
  assert.equal(afterCrash.current.certPem, leaf.certPem);
  assert.ok(pairOk(afterCrash.current));
  assert.equal(await readFile(join(tls, 'installed.crt'), 'utf8'), leaf.certPem);

  // The same over an installed pair: refused, the last good pair stays.
  await writeFile(join(tls, 'installed.crt'), other.certPem);
  await writeFile(join(tls, 'installed.key'), leaf.keyPem);
  const mismatched = await HttpsCertificate.load(dataDir);
  assert.ok(pairOk(mismatched.current));
  assert.equal(mismatched.current.certPem, leaf.certPem, 'the last good pair stays');

  // A matching pair dropped by hand is adopted into installed.pem.
  await writeFile(join(tls, 'installed.crt'), other.certPem);
  await writeFile(join(tls, 'installed.key'), other.keyPem);
  const dropped = await HttpsCertificate.load(dataDir);
  assert.equal(dropped.current.certPem, other.certPem);
  assert.equal(dropped.source, 'installed');
  assert.ok((await readFile(join(tls, 'installed.pem'), 'utf8')).includes(other.keyPem.trim()));
  assert.equal(existsSync(join(tls, 'installed.key')), false);
});
