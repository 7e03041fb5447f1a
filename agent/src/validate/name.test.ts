import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateName } from './name.js';
import { AgentError } from '../errors.js';

test('accepts ordinary names', () => {
  for (const n of ['web01', 'db.prod-2', '_tmp', 'A', 'x'.repeat(63)]) assert.equal(validateName('name', n), n);
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
