// Guest hardware on the real libvirt + QEMU of this machine (TCG here): a Secure Boot + TPM VM
// defines and starts (secure loader, SMM, swtpm running) and leaves no TPM state or NVRAM after
// delete; named CPU models start; a model the hypervisor cannot run is refused at define.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuMode, Firmware, type FirmwareState, VmSpec } from '@quantix/proto/v1/vm.js';
import type { AgentError } from '../errors.js';
import { ErrorCode } from '../errors.js';
import { hostDomainType } from '../libvirt/domain-type.js';
import { domainDumpXml } from '../libvirt/domain.js';
import { Virsh } from '../libvirt/virsh.js';
import { PoolManager } from '../storage/pool-manager.js';
import { Volumes } from '../storage/volumes.js';
import { hostCpu } from './cpu-host.js';
import { X86_64_V2_AES } from './cpu-model.js';
import { forceOffVm, startVm } from './vm-lifecycle.js';
import { defineVm, deleteVm } from './vm-define.js';
import { tpmStateDir } from './tpm.js';
import { readFirmwareState } from './firmware-state.js';

const virsh = new Virsh('qemu:///system');

async function setup(t: { after: (fn: () => Promise<void>) => void }) {
  const dataDir = await mkdtemp(join(tmpdir(), 'qxt-guest-hw-'));
  const volumes = new Volumes(new PoolManager({ dataDir, virsh }), virsh);
  const names: string[] = [];
  t.after(async () => {
    for (const n of names) {
      await virsh.exec(['destroy', n]).catch(() => undefined);
      await virsh.exec(['undefine', '--nvram', '--tpm', n]).catch(() => undefined);
    }
    await rm(dataDir, { recursive: true, force: true });
  });
  const define = (over: Partial<VmSpec>, firmware?: FirmwareState) => {
    const name = over.name ?? `qxt-ghw-${process.pid}-${names.length}`;
    names.push(name);
    return defineVm(virsh, volumes, VmSpec.fromPartial({ name, memoryMib: 256, osType: 'other', ...over }), firmware);
  };
  return { volumes, define };
}

/** Command lines of the processes running `program` whose arguments contain every one of `words`. */
async function processesWith(program: string, ...words: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    const argv0 = cmd.split('\0')[0] ?? '';
    if (argv0.endsWith(`/${program}`) && words.every((w) => cmd.includes(w))) found.push(cmd.replaceAll('\0', ' '));
  }
  return found;
}

test('a Secure Boot + TPM 2.0 VM starts with the secure loader, SMM and swtpm, and leaves nothing after delete', async (t) => {
  const { volumes, define } = await setup(t);
  const vm = await define({ firmware: Firmware.FIRMWARE_UEFI, secureBoot: true, tpm: true });
  const uuid = vm.spec!.uuid;
  assert.deepEqual([vm.spec!.secureBoot, vm.spec!.tpm], [true, true]);
  assert.match(vm.spec!.machine, /q35/);
  await startVm(virsh, uuid);
  const live = (await domainDumpXml(virsh, uuid)).replace(/>\s+</g, '><');
  assert.match(live, /<loader readonly=.yes. secure=.yes. type=.pflash.>\/usr\/share\/OVMF\/OVMF_CODE_4M\.ms\.fd</);
  assert.match(live, /<smm state=.on.\/>/);
  assert.match(live, /<tpm model=.tpm-crb.><backend type=.emulator. version=.2\.0./);
  const swtpm = await processesWith('swtpm', uuid);
  assert.equal(swtpm.length, 1, `one swtpm for the VM: ${swtpm.join('\n')}`);
  assert.ok(existsSync(tpmStateDir(uuid)), 'the TPM state lives in libvirt/swtpm/<uuid>');
  const nvram = /<nvram[^>]*>([^<]+)</.exec(live)![1]!;
  assert.ok(existsSync(nvram));
  const [qemu] = await processesWith('qemu-system-x86_64', uuid);
  assert.match(qemu ?? '', /smm=on/);
  assert.match(qemu ?? '', /"driver":"tpm-crb"/);

  await forceOffVm(virsh, uuid);
  await deleteVm(virsh, volumes, uuid, false);
  assert.equal(existsSync(tpmStateDir(uuid)), false, 'TPM state removed with the VM');
  assert.equal(existsSync(nvram), false, 'NVRAM removed with the VM');
  assert.deepEqual(await processesWith('swtpm', uuid), []);
});

test('named CPU models start: the default x86-64-v2-AES and a QEMU model the host lists', async (t) => {
  const { define } = await setup(t);
  const host = await hostCpu(virsh, hostDomainType());
  assert.ok(host.models.includes(X86_64_V2_AES), `the hypervisor runs ${X86_64_V2_AES}`);
  const other = ['Westmere', 'Nehalem', 'Penryn'].find((m) => host.models.includes(m)) ?? host.models.at(-1)!;
  for (const over of [{}, { cpuMode: CpuMode.CPU_MODE_NAMED, cpuModel: other }]) {
    const vm = await define(over);
    const expected = over.cpuModel ?? X86_64_V2_AES;
    assert.equal(vm.spec!.cpuModel, expected);
    await startVm(virsh, vm.spec!.uuid);
    const qemu = await processesWith('qemu-system-x86_64', vm.spec!.uuid);
    const cpuArg = / -cpu (\S+)/.exec(qemu[0] ?? '')?.[1] ?? '';
    if (expected === X86_64_V2_AES) assert.match(cpuArg, /^qemu64,.*aes=on/, cpuArg);
    else assert.match(cpuArg, new RegExp(`^${expected}\\b`), cpuArg);
    await forceOffVm(virsh, vm.spec!.uuid);
  }
});

test('a named model this hypervisor cannot run is refused at define, naming the model', async (t) => {
  const { define } = await setup(t);
  const host = await hostCpu(virsh, hostDomainType());
  const missing = ['EPYC-Milan', 'Skylake-Server', 'Cascadelake-Server', 'SapphireRapids'].find(
    (m) => !host.models.includes(m),
  );
  assert.ok(missing, 'this host runs every model tried; nothing to refuse');
  await assert.rejects(
    define({ cpuMode: CpuMode.CPU_MODE_NAMED, cpuModel: missing }),
    (e: AgentError) => e.code === ErrorCode.FailedPrecondition && e.message.includes(`CPU model ${missing}`),
  );
  if (hostDomainType() !== 'kvm') {
    await assert.rejects(
      define({ cpuMode: CpuMode.CPU_MODE_HOST_PASSTHROUGH }),
      (e: AgentError) => e.code === ErrorCode.FailedPrecondition && /host-passthrough \(it needs KVM/.test(e.message),
    );
  }
});

test('a VM defined with the firmware state of another keeps its UEFI variables and TPM (cold migration)', async (t) => {
  const { volumes, define } = await setup(t);
  const sbTpm = { firmware: Firmware.FIRMWARE_UEFI, secureBoot: true, tpm: true };
  const first = (await define(sbTpm)).spec!;
  await startVm(virsh, first.uuid); // libvirt copies the variable store and manufactures the TPM
  await assert.rejects(
    readFirmwareState(virsh, first.uuid),
    (e: AgentError) => e.code === ErrorCode.FailedPrecondition,
  );
  await forceOffVm(virsh, first.uuid);
  // Variables this VM has and a fresh copy would not: a marker in the store's unused tail.
  const nvramOf = async (uuid: string) => /<nvram[^>]*>([^<]+)</.exec(await domainDumpXml(virsh, uuid, true))![1]!;
  const firstNvram = await nvramOf(first.uuid);
  const vars = await readFile(firstNvram);
  vars.write('qx-marker', vars.length - 16);
  await writeFile(firstNvram, vars);
  const permall = join(tpmStateDir(first.uuid), 'tpm2/tpm2-00.permall');
  const tpm = await readFile(permall);

  const state = await readFirmwareState(virsh, first.uuid);
  assert.deepEqual([Buffer.compare(state.nvram, vars), Buffer.compare(state.tpmState, tpm)], [0, 0]);
  const second = (await define({ ...sbTpm, name: `qxt-ghw-${process.pid}-moved` }, state)).spec!;
  assert.deepEqual(await readFile(await nvramOf(second.uuid)), vars, 'the variables came along');
  assert.deepEqual(await readFile(join(tpmStateDir(second.uuid), 'tpm2/tpm2-00.permall')), tpm, 'the TPM came along');
  await startVm(virsh, second.uuid);
  assert.equal((await processesWith('swtpm', second.uuid)).length, 1, 'its swtpm runs on the carried state');
  const log = await readFile(`/var/log/swtpm/libvirt/qemu/qxt-ghw-${process.pid}-moved-swtpm.log`, 'utf8').catch(
    () => '',
  );
  assert.doesNotMatch(log, /vTPM manufacturing/, 'no new TPM was manufactured for it');
  await forceOffVm(virsh, second.uuid);

  // State the spec has no place for, or that is already there: refused, nothing left behind.
  await assert.rejects(
    define({ name: `qxt-ghw-${process.pid}-bios` }, state),
    (e: AgentError) => e.code === ErrorCode.InvalidArgument && e.field === 'firmware.nvram',
  );
  await assert.rejects(
    define({ ...sbTpm, uuid: second.uuid, name: `qxt-ghw-${process.pid}-again` }, state),
    (e: AgentError) => e.code === ErrorCode.FailedPrecondition,
  );
  assert.deepEqual(await readFile(await nvramOf(second.uuid)), vars, 'the existing variables untouched');
  await deleteVm(virsh, volumes, second.uuid, false);
  assert.equal(existsSync(tpmStateDir(second.uuid)), false);
});
