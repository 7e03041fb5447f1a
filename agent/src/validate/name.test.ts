import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateName } from './name.js';
import { AgentError } from '../errors.js';

test('accepts ordinary names', () => {
  for (const n of [
    'web01',
    'db.prod-2',
    '_tmp',
    'A',
    'x'.repeat(63),
    '3a',
    '1.0',
    '0x3',
    '_-',
    '4b2c8a0e-1f3d-4c5b-9a7e-0d1c2b3a4f5',
  ]) {
    assert.equal(validateName('name', n), n);
  }
});

test('refuses injection, traversal, markup and overlong names, naming the field', () => {
  for (const n of [
    'a;rm -rf /',
    '$(reboot)',
    '../x',
    '<x>',
    '',
    '.hidden',
    '-rf',
    'a b',
    'x'.repeat(64),
    'a/b',
    'a..b',
  ]) {
    assert.throws(
      () => validateName('spec.name', n),
      (e: unknown) => e instanceof AgentError && e.code === 'INVALID_ARGUMENT' && e.message.startsWith('spec.name: '),
      n,
    );
  }
});

test('refuses names virsh would read as a domain ID or a UUID, saying so', () => {
  for (const n of ['3', '0', '007', '2147483648']) {
    assert.throws(
      () => validateName('spec.name', n),
      (e: unknown) =>
        e instanceof AgentError &&
        e.code === 'INVALID_ARGUMENT' &&
        e.field === 'spec.name' &&
        e.message ===
          `spec.name: "${n}" is not a valid name: a name of only digits would be read by virsh as a domain ID`,
      n,
    );
  }
  for (const n of [
    '4b2c8a0e-1f3d-4c5b-9a7e-0d1c2b3a4f5e',
    '4B2C8A0E1F3D4C5B9A7E0D1C2B3A4F5E',
    '4b2c8a0e1f3d-4c5b-9a7e-0d1c2b3a4f5e',
    '4b-2c8a0e1f3d4c5b9a7e0d1c2b3a4f5e',
  ]) {
    assert.throws(
      () => validateName('name', n),
      (e: unknown) =>
        e instanceof AgentError &&
        e.field === 'name' &&
        /shaped like a UUID would be read by virsh as a UUID/.test(e.message),
      n,
    );
  }
});
