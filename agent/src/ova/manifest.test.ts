import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { parseManifest, verifyManifest } from './manifest.js';

const sha = (alg: string, s: string) => createHash(alg).update(s).digest('hex');

test('parses SHA1/SHA256/SHA512 lines with extra spaces and CRLF', () => {
  const text = `SHA1(a.ovf)= ${sha('sha1', 'a')}\r\n  SHA256 ( b disk.vmdk ) =   ${sha('sha256', 'b').toUpperCase()}  \n\nSHA512(c.vmdk)=${sha('sha512', 'c')}\n`;
  assert.deepEqual(parseManifest(text), [
    { algorithm: 'sha1', file: 'a.ovf', digest: sha('sha1', 'a') },
    { algorithm: 'sha256', file: 'b disk.vmdk', digest: sha('sha256', 'b') },
    { algorithm: 'sha512', file: 'c.vmdk', digest: sha('sha512', 'c') },
  ]);
});

test('refuses malformed lines, wrong digest lengths, duplicates, empty manifests', () => {
  assert.throws(() => parseManifest('MD5(a)= 00'), /line 1/);
  assert.throws(() => parseManifest('SHA256(a)= abcd'), /wrong length/);
  assert.throws(() => parseManifest(`SHA1(a)= ${sha('sha1', 'a')}\nSHA1(a)= ${sha('sha1', 'a')}`), /listed twice/);
  assert.throws(() => parseManifest('\n\n'), /lists no files/);
});

test('mismatch fails; absent file and unlisted file warn', () => {
  const entries = parseManifest(`SHA256(a.ovf)= ${sha('sha256', 'a')}\nSHA256(gone.vmdk)= ${sha('sha256', 'x')}`);
  const computed = new Map([
    ['a.ovf', { sha256: sha('sha256', 'a') }],
    ['extra.txt', { sha256: sha('sha256', 'e') }],
    ['x.mf', {}],
  ]);
  assert.deepEqual(verifyManifest(entries, computed, 'x.mf'), [
    'manifest lists "gone.vmdk" but the OVA does not contain it',
    '"extra.txt" is not listed in the manifest',
  ]);
  const bad = new Map([['a.ovf', { sha256: sha('sha256', 'tampered') }]]);
  assert.throws(() => verifyManifest(entries, bad, 'x.mf'), /SHA256 digest mismatch for "a.ovf"/);
});
