// quantix.controlplane= parsing: form and join with their fields, refusals naming what is wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBootControlPlane } from './controlplane-boot.js';

const FP = 'AB:'.repeat(31) + 'AB';

test('form and join settings become the API requests', () => {
  assert.deepEqual(parseBootControlPlane('form'), { kind: 'form', req: {} });
  assert.deepEqual(parseBootControlPlane('form,name=qx1,address=10.0.0.5'), {
    kind: 'form',
    req: { memberName: 'qx1', memberAddress: '10.0.0.5' },
  });
  assert.deepEqual(parseBootControlPlane(`join,server=10.0.0.5:443,fingerprint=${FP},token=t0k,name=qx2`), {
    kind: 'join',
    req: { memberName: 'qx2', address: '10.0.0.5:443', fingerprint: FP, token: 't0k' },
  });
});

test('refusals name the setting and the problem', () => {
  for (const [value, why] of [
    ['leave', /expected form or join/],
    ['form,token=x', /unexpected "token=x"/],
    ['join,server=10.0.0.5', /join needs fingerprint=/],
    [`join,fingerprint=${FP},token=x`, /join needs server=/],
    ['join,server=a,fingerprint=b,token=c,colour=red', /unexpected "colour=red"/],
  ] as const)
    assert.throws(
      () => parseBootControlPlane(value),
      (e: Error) => /^quantix\.controlplane: /.test(e.message) && why.test(e.message),
      value,
    );
});
