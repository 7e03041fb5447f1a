// Guest hardware through the vDC with a real agent (libvirt + QEMU under TCG here): the host
// reports the CPU models its hypervisor runs, Secure Boot and TPM; a host that cannot run the VM's
// model is refused (naming it); bad values are 400s naming the field; a Windows 11-like
// VM (UEFI + Secure Boot + TPM, q35, SATA, e1000e) is created and reads back with its hardware.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostDto } from '../dto/hosts.js';
import type { VmDto } from '../dto/vms.js';
import type { TaskDto } from '../dto/tasks.js';
import { freePort, spawnAgent } from '../test-support/spawn.js';
import { startTestServer } from '../test-support/test-server.js';
import { createGuestPool, eventually, removeDomain, srvName } from '../test-support/guest-pool.js';

test('qxt-srv guest hardware: host CPU models, a host refused by model, 400s naming the field, a Secure Boot + TPM VM', async (t) => {
  const agentDir = await mkdtemp(join(tmpdir(), 'qxt-srv-ghw-'));
  const port = await freePort();
  const agent = await spawnAgent(agentDir, port);
  const pool = await createGuestPool();
  const name = srvName('w11');
  const s = await startTestServer({ QX_LOCAL_AGENT_ADDRESS: `127.0.0.1:${port}`, QX_LOCAL_AGENT_DATA_DIR: agentDir });
  t.after(async () => {
    await s.stop();
    await removeDomain(name);
    await pool.remove();
    await agent.kill('SIGKILL');
    await rm(agentDir, { recursive: true, force: true });
  });
  const api = s.admin;
  const host = await eventually('the local host online', async () => {
    const hosts = (await api.request<HostDto[]>('GET', '/api/v1/hosts')).json;
    return hosts.find((h) => h.local && h.status === 'online');
  });
  assert.ok(host.cpuModels.includes('x86-64-v2-AES'), host.cpuModels.join(' '));
  assert.ok(host.cpuModes.includes('named') && host.cpuModes.includes('max'));
  assert.deepEqual([host.secureBoot, host.tpm], [true, true]);

  const create = (body: Record<string, unknown>) =>
    api.request<TaskDto>('POST', '/api/v1/vms', {
      body: { name, hostId: host.id, pool: pool.name, memoryMib: 128, ...body },
    });

  // A host chosen by hand that cannot run the model is refused naming it (placement: cpu-compat.test.ts).
  const missing = ['EPYC-Milan', 'Skylake-Server', 'SapphireRapids'].find((m) => !host.cpuModels.includes(m))!;
  const byHand = await create({ cpuMode: 'named', cpuModel: missing });
  assert.equal(byHand.status, 409, byHand.text);
  assert.match(byHand.text, new RegExp(`cannot run the CPU model ${missing}`));

  for (const [body, field] of [
    [{ cpuMode: 'turbo' }, 'cpuMode'],
    [{ cpuModel: 'x"/><evil' }, 'cpuModel'],
    [{ cpuMode: 'max', cpuModel: 'EPYC' }, 'cpuModel'],
    [{ secureBoot: true }, 'secureBoot'],
    [{ secureBoot: 'yes', firmware: 'uefi' }, 'secureBoot'],
    [{ tpm: 1 }, 'tpm'],
  ] as const) {
    const r = await create(body);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert.match(r.text, new RegExp(field), `${JSON.stringify(body)} names ${field}: ${r.text}`);
  }

  const created = await create({
    firmware: 'uefi',
    secureBoot: true,
    tpm: true,
    disks: [{ pool: pool.name, volume: await pool.addGuestDisk(`${name}.qcow2`), bus: 'sata' }],
    nics: [{ kind: 'user', model: 'e1000e' }],
    osType: 'windows',
  });
  assert.equal(created.status, 202, created.text);
  const task = await eventually('the create task to finish', async () => {
    const r = (await api.request<TaskDto>('GET', `/api/v1/tasks/${created.json.id}`)).json;
    return r.status !== 'running' && r;
  });
  assert.equal(task.status, 'succeeded', task.error ?? '');
  const vm = (await api.request<VmDto>('GET', `/api/v1/vms/${(task.result as { vmId: string }).vmId}`)).json;
  assert.deepEqual(
    [vm.cpuMode, vm.cpuModel, vm.secureBoot, vm.tpm, vm.firmware],
    ['named', 'x86-64-v2-AES', true, true, 'uefi'],
  );
  assert.match(vm.machine, /q35/);

  const toMax = await api.request<VmDto>('PATCH', `/api/v1/vms/${vm.id}`, { body: { cpuMode: 'max', tpm: false } });
  assert.equal(toMax.status, 200, toMax.text);
  assert.deepEqual([toMax.json.cpuMode, toMax.json.cpuModel, toMax.json.tpm], ['max', '', false]);
});
