import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateXmlText } from './xml-text.js';
import { AgentError } from '../errors.js';

test('keeps text XML can hold: tabs, newlines, markup characters, any language', () => {
  for (const s of [
    '',
    'web server',
    'line 1\nline 2\r\n\tindented',
    '<b> & "quotes"',
    'Größe 5 µs — 東京 🚀',
    '\u007f\u0085',
  ]) {
    assert.equal(validateXmlText('spec.description', s, 4096), s);
  }
});

test('refuses control characters XML 1.0 cannot carry, naming the field and the character', () => {
  for (const [s, code] of [
    ['a\u0000b', 'U+0000'],
    ['bell\u0007', 'U+0007'],
    ['\u000b', 'U+000B'],
    ['\u000c', 'U+000C'],
    ['esc \u001b[31m', 'U+001B'],
    ['\ufffe', 'U+FFFE'],
    ['\uffff', 'U+FFFF'],
    ['lone \ud800', 'U+D800'],
  ] as const) {
    assert.throws(
      () => validateXmlText('spec.description', s, 4096),
      (e: unknown) =>
        e instanceof AgentError &&
        e.code === 'INVALID_ARGUMENT' &&
        e.field === 'spec.description' &&
        e.message.startsWith(
          `spec.description: contains the ${code < 'U+0020' ? 'control character' : 'character'} ${code}`,
        ),
      JSON.stringify(s),
    );
  }
});

test('refuses text longer than the limit', () => {
  assert.equal(validateXmlText('description', 'x'.repeat(1024), 1024).length, 1024);
  assert.throws(
    () => validateXmlText('description', 'x'.repeat(1025), 1024),
    /^AgentError: description: is longer than 1024 characters$/,
  );
});
