// The member certificate check behind renewal and moves: the address named, the days left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, issueCertificate } from '@quantix/proto/tls/certificates.js';
import { memberCertificateFits, type MemberSettings } from './controlplane-member.js';

test('a member certificate fits an address it names with more than the days asked left', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-member-cert-'));
  try {
    const s = { memberDir: dir } as MemberSettings;
    assert.equal(await memberCertificateFits(s, '192.0.2.7', 30), false, 'no certificate yet');
    const ca = await createCa('qxt', 3650);
    const write = async (days: number) =>
      writeFile(
        join(dir, 'member.pem'),
        (await issueCertificate(ca, { commonName: 'm', ipAddresses: ['192.0.2.7'], days, usages: ['server'] })).certPem,
      );
    await write(3650);
    assert.equal(await memberCertificateFits(s, '192.0.2.7', 30), true);
    assert.equal(await memberCertificateFits(s, '192.0.2.8', 30), false, 'another address');
    await write(10);
    assert.equal(await memberCertificateFits(s, '192.0.2.7', 30), false, 'near its end: renewed');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
