// The two-host harness itself: both hosts online in the vDC, each with its own libvirt (a domain on
// B is invisible to A's libvirtd), and a VM placed on host B runs there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTwoHosts } from './two-hosts.js';

test('two hosts: A local, B in its own network + mount namespace with its own libvirtd; a VM runs on B', async (t) => {
  const cluster = await startTwoHosts();
  t.after(() => cluster.stop());
  const { api, a, b } = cluster;
  const hosts = (await api.request<{ id: string; status: string }[]>('GET', '/api/v1/hosts')).json;
  assert.deepEqual(hosts.map((h) => h.status).sort(), ['online', 'online']);
  assert.notEqual(a.id, b.id);
  const vm = await cluster.createGuestVm(b, 'qxc-harness-vm');
  assert.equal(vm.hostId, b.id);
  assert.equal(vm.state, 'running');
  assert.match(await b.virsh(['domstate', 'qxc-harness-vm']), /running/);
  assert.doesNotMatch(await a.virsh(['list', '--all', '--name']), /qxc-harness-vm/, 'A has its own libvirt');
});
