// The name rule's two forms (the function and the OpenAPI pattern) agree on every case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OBJECT_NAME_PATTERN, objectNameProblem } from './object-name.js';

const GOOD = ['vm1', 'web-01', '_scratch', 'disk.qcow2', 'a', 'x'.repeat(63), '123abc', 'deadbeef'];
const BAD = [
  '',
  '123',
  '4b2c8a0e1f3d4c5b9a7e0d1c2b3a4f5e',
  '4b2c8a0e-1f3d-4c5b-9a7e-0d1c2b3a4f5e',
  '.hidden',
  '-rf',
  'a..b',
  'a/b',
  'a b',
  '<x>',
  'x'.repeat(64),
];

test('the name rule: function and pattern agree', () => {
  const pattern = new RegExp(OBJECT_NAME_PATTERN, 'u');
  for (const name of GOOD) {
    assert.equal(objectNameProblem(name), undefined, name);
    assert.ok(pattern.test(name), `pattern accepts ${name}`);
  }
  for (const name of BAD) {
    assert.ok(objectNameProblem(name), `refused: ${JSON.stringify(name)}`);
    assert.ok(!pattern.test(name), `pattern refuses ${JSON.stringify(name)}`);
  }
  assert.match(objectNameProblem('123')!, /only digits would be read by virsh as a domain ID/);
  assert.match(objectNameProblem('4b2c8a0e-1f3d-4c5b-9a7e-0d1c2b3a4f5e')!, /shaped like a UUID/);
});
