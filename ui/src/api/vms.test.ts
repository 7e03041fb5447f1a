// What a finished vm.delete task says it kept: the detail page lists these instead of leaving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keptDisksOf } from './vms.js';

test('keptDisksOf reads {keptDisks} from a task result and nothing from anything else', () => {
  const kept = [{ pool: 'p', volume: 'a.qcow2', path: '/p/a.qcow2', reason: 'it is used by VM(s) b' }];
  assert.deepEqual(keptDisksOf({ id: 't', status: 'succeeded', result: { keptDisks: kept } }), kept);
  assert.deepEqual(keptDisksOf({ id: 't', status: 'succeeded', result: { keptDisks: [] } }), []);
  assert.deepEqual(keptDisksOf({ id: 't', status: 'succeeded', result: null }), [], 'an older server sends no result');
  assert.deepEqual(keptDisksOf(undefined), []);
});
