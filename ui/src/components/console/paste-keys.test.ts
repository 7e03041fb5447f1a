import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyFor, keysForText } from './paste-keys.js';

test('typing text: letters, digits, shifted symbols and Enter on a US layout', () => {
  assert.deepEqual(keyFor('a'), { keysym: 0x61, code: 'KeyA', shift: false });
  assert.deepEqual(keyFor('Q'), { keysym: 0x51, code: 'KeyQ', shift: true });
  assert.deepEqual(keyFor('7'), { keysym: 0x37, code: 'Digit7', shift: false });
  assert.deepEqual(keyFor('('), { keysym: 0x28, code: 'Digit9', shift: true });
  assert.deepEqual(keyFor('|'), { keysym: 0x7c, code: 'Backslash', shift: true });
  assert.deepEqual(keyFor('\n'), { keysym: 0xff0d, code: 'Enter', shift: false });
  const { keys, skipped } = keysForText('ls -l\r\né');
  assert.deepEqual(
    keys.map((k) => k.code),
    ['KeyL', 'KeyS', 'Space', 'Minus', 'KeyL', 'Enter'],
  );
  assert.deepEqual(skipped, ['é'], 'what a US keyboard cannot type is reported, not sent');
});
