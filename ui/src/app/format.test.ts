// Size parsing and formatting used by pool and disk forms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, parseSize } from './format.js';

test('parseSize reads binary units and bare bytes', () => {
  assert.equal(parseSize('2G'), 2 * 1024 ** 3);
  assert.equal(parseSize('512 MiB'), 512 * 1024 ** 2);
  assert.equal(parseSize('1.5GiB'), 1.5 * 1024 ** 3);
  assert.equal(parseSize('4096'), 4096);
  assert.equal(parseSize('lots'), undefined);
  assert.equal(parseSize('-1G'), undefined);
});

test('formatBytes picks a unit', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(20 * 1024 ** 3), '20 GiB');
  assert.equal(formatBytes(undefined), '—');
});
