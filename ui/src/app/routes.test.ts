// Hash routes: static paths win over parameters, parameters are decoded, unknown paths miss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchRoute } from './routes.js';

test('routes match with params', () => {
  assert.equal(matchRoute('/')?.route.tag, 'qx-dashboard-page');
  assert.equal(matchRoute('/vms/new')?.route.tag, 'qx-vm-create-wizard');
  const m = matchRoute('/vms/a%20b');
  assert.equal(m?.route.tag, 'qx-vm-detail');
  assert.deepEqual(m?.params, { id: 'a b' });
  assert.equal(matchRoute('/vms/x/console')?.route.bare, true);
  assert.equal(matchRoute('/nope/1/2/3'), undefined);
  assert.equal(matchRoute('/users')?.route.admin, true);
});
