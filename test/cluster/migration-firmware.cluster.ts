// Cold migration of a UEFI Secure Boot + TPM 2.0 VM between two real hosts (each its own libvirtd):
// its UEFI variables and its TPM state arrive on B byte for byte, B's libvirt starts it on them
// (no new TPM manufactured), and nothing of either stays on A.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TaskDto } from '../../server/src/dto/tasks.js';
import type { VmDto } from '../../server/src/dto/vms.js';
import { startTwoHosts } from './two-hosts.js';

test('cold migration carries a VM’s UEFI variables and TPM state to the other host', async (t) => {
  const cluster = await startTwoHosts();
  t.after(() => cluster.stop());
  const { api, a, b } = cluster;
  const task = async (method: string, path: string, body?: object) => {
    const r = await api.request<TaskDto>(method, path, body ? { body } : {});
    assert.equal(r.status, 202, r.text);
    const done = await cluster.waitTask(r.json.id, 600_000);
    assert.equal(done.status, 'succeeded', done.error ?? '');
  };
  // Started once on A: libvirt copies the variable store and manufactures the TPM there.
  const vm = await cluster.createGuestVm(a, 'qxc-cold-fw', {
    spec: { firmware: 'uefi', secureBoot: true, tpm: true },
  });
  await task('POST', `/api/v1/vms/${vm.id}/force-off`);
  const paths = (varLib: string) => ({
    nvram: join(varLib, 'qemu/nvram', `${vm.id}_VARS.fd`),
    tpm: join(varLib, 'swtpm', vm.id, 'tpm2/tpm2-00.permall'),
  });
  const onA = paths('/var/lib/libvirt');
  // Variables only this VM has (a fresh copy of the template would not): a marker in the tail.
  const vars = await readFile(onA.nvram);
  vars.write('qx-marker', vars.length - 16);
  await writeFile(onA.nvram, vars);
  const tpm = await readFile(onA.tpm);

  await task('POST', `/api/v1/vms/${vm.id}/migrate`, { hostId: b.id, poolId: b.pool, mode: 'cold' });
  const onB = paths(cluster.bVarLibDir);
  assert.deepEqual(await readFile(onB.nvram), vars, 'the UEFI variables arrived unchanged');
  assert.deepEqual(await readFile(onB.tpm), tpm, 'the TPM state arrived unchanged');
  assert.deepEqual([existsSync(onA.nvram), existsSync(join('/var/lib/libvirt/swtpm', vm.id))], [false, false]);

  await task('POST', `/api/v1/vms/${vm.id}/start`);
  const moved = (await api.request<VmDto>('GET', `/api/v1/vms/${vm.id}`)).json;
  assert.deepEqual([moved.hostId, moved.state], [b.id, 'running']);
  const log = await readFile(join(cluster.bLogDir, 'swtpm/libvirt/qemu', `${vm.name}-swtpm.log`), 'utf8').catch(
    () => '',
  );
  assert.doesNotMatch(log, /vTPM manufacturing/, 'B runs the TPM it received, not a new one');
});
