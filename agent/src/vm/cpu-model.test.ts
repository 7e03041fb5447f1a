import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CpuMode, Firmware, VmSpec } from '@quantix/proto/v1/vm.js';
import type { AgentError } from '../errors.js';
import { buildDomainXml } from '../libvirt/xml/domain-build.js';
import { parseDomainXml } from '../libvirt/xml/domain-parse.js';
import { parseDomCapabilities } from './cpu-host.js';
import { requireHostCpu, validateCpu, X86_64_V2_AES } from './cpu-model.js';
import { validateVmSpec } from './vm-spec-validate.js';

const uuid = '0b8a3c1e-1111-4222-8333-944455556666';
const spec = (over: Partial<VmSpec> = {}) =>
  validateVmSpec(
    VmSpec.fromPartial({ name: 'w11', memoryMib: 4096, sockets: 1, cores: 2, osType: 'windows', ...over }),
  );

function build(s: VmSpec, domainType: 'kvm' | 'qemu' = 'kvm'): string {
  const uefi =
    s.firmware === Firmware.FIRMWARE_UEFI
      ? {
          code: '/usr/share/OVMF/OVMF_CODE_4M.ms.fd',
          varsTemplate: '/usr/share/OVMF/OVMF_VARS_4M.ms.fd',
          nvram: '/nv/x_VARS.fd',
          secure: s.secureBoot,
        }
      : undefined;
  // Compact (the builder indents) so that the assertions read as one element.
  return buildDomainXml({
    spec: s,
    uuid,
    domainType,
    disks: [],
    cdroms: [],
    consoleLog: '/log',
    ...(uefi ? { uefi } : {}),
  }).replace(/>\s+</g, '><');
}

const field = (fn: () => unknown, name: string) =>
  assert.throws(fn, (e: AgentError) => e.field === name || e.message.includes(name));

test('no CPU mode = the named x86-64-v2-AES: qemu64 with the level features required, nothing else allowed', () => {
  const s = spec();
  assert.equal(s.cpuMode, CpuMode.CPU_MODE_NAMED);
  assert.equal(s.cpuModel, X86_64_V2_AES);
  const xml = build(s);
  assert.match(xml, /<cpu mode="custom" match="exact" check="partial"><model fallback="forbid">qemu64<\/model>/);
  for (const f of ['cx16', 'lahf_lm', 'popcnt', 'pni', 'sse4.1', 'sse4.2', 'ssse3', 'aes']) {
    assert.match(xml, new RegExp(`<feature policy="require" name="${f.replace('.', '\\.')}"/>`));
  }
  assert.match(xml, /<topology sockets="1" dies="1" cores="2" threads="1"\/>/);
  assert.deepEqual(
    { mode: parseDomainXml(xml).spec.cpuMode, model: parseDomainXml(xml).spec.cpuModel },
    { mode: CpuMode.CPU_MODE_NAMED, model: X86_64_V2_AES },
  );
});

test('KVM paths: host-passthrough, host-model and a QEMU named model as libvirt wants them, and back', () => {
  const pass = build(spec({ cpuMode: CpuMode.CPU_MODE_HOST_PASSTHROUGH }));
  assert.match(pass, /<cpu mode="host-passthrough" check="none" migratable="on"><topology /);
  const model = build(spec({ cpuMode: CpuMode.CPU_MODE_HOST_MODEL }));
  assert.match(model, /<cpu mode="host-model" check="partial"><topology /);
  const epyc = build(spec({ cpuMode: CpuMode.CPU_MODE_NAMED, cpuModel: 'EPYC-Rome' }));
  assert.match(epyc, /<model fallback="forbid">EPYC-Rome<\/model>/);
  assert.doesNotMatch(epyc, /<feature /);
  const max = build(spec({ cpuMode: CpuMode.CPU_MODE_MAX }), 'qemu');
  assert.match(max, /<cpu mode="maximum" check="none" migratable="on">/);
  for (const [xml, mode, m] of [
    [pass, CpuMode.CPU_MODE_HOST_PASSTHROUGH, ''],
    [model, CpuMode.CPU_MODE_HOST_MODEL, ''],
    [epyc, CpuMode.CPU_MODE_NAMED, 'EPYC-Rome'],
    [max, CpuMode.CPU_MODE_MAX, ''],
  ] as const) {
    const p = parseDomainXml(xml).spec;
    assert.deepEqual([p.cpuMode, p.cpuModel], [mode, m]);
  }
});

test('a domain without <cpu mode> (defined before #21) reads as QEMU default and rebuilds without a model', () => {
  const xml = build(spec()).replace(
    /<cpu .*<\/cpu>/s,
    '<cpu><topology sockets="1" dies="1" cores="2" threads="1"/></cpu>',
  );
  const p = parseDomainXml(xml).spec;
  assert.equal(p.cpuMode, CpuMode.CPU_MODE_UNSPECIFIED);
  assert.equal(validateCpu(p).cpuModel, X86_64_V2_AES, 'a settings change gives it the movable default');
});

test('bad CPU fields are refused naming the field', () => {
  field(() => spec({ cpuMode: 9 as CpuMode }), 'spec.cpu_mode');
  field(() => spec({ cpuMode: CpuMode.CPU_MODE_NAMED }), 'spec.cpu_model');
  field(() => spec({ cpuMode: CpuMode.CPU_MODE_NAMED, cpuModel: 'x"/><evil' }), 'spec.cpu_model');
  field(() => spec({ cpuMode: CpuMode.CPU_MODE_MAX, cpuModel: 'EPYC' }), 'spec.cpu_model');
});

test('Secure Boot + TPM: q35, the secure .ms loader, SMM on, a TPM 2.0 CRB on swtpm; read back', () => {
  const s = spec({ firmware: Firmware.FIRMWARE_UEFI, secureBoot: true, tpm: true });
  assert.equal(s.machine, 'q35', 'Secure Boot picks q35 when no machine was given');
  const xml = build(s);
  assert.match(
    xml,
    /<loader readonly="yes" secure="yes" type="pflash">\/usr\/share\/OVMF\/OVMF_CODE_4M\.ms\.fd<\/loader>/,
  );
  assert.match(xml, /<nvram template="\/usr\/share\/OVMF\/OVMF_VARS_4M\.ms\.fd">/);
  assert.match(xml, /<smm state="on"\/>/);
  assert.match(xml, /<tpm model="tpm-crb"><backend type="emulator" version="2\.0"\/><\/tpm>/);
  const p = parseDomainXml(xml).spec;
  assert.deepEqual([p.secureBoot, p.tpm, p.machine], [true, true, 'q35']);
  const plain = build(spec({ firmware: Firmware.FIRMWARE_UEFI }));
  assert.doesNotMatch(plain, /secure=|<smm|<tpm/);
});

test('Secure Boot without UEFI or on the pc machine is refused naming spec.secure_boot', () => {
  field(() => spec({ secureBoot: true }), 'spec.secure_boot');
  field(() => spec({ secureBoot: true, firmware: Firmware.FIRMWARE_UEFI, machine: 'pc' }), 'spec.secure_boot');
  assert.equal(
    spec({ secureBoot: true, firmware: Firmware.FIRMWARE_UEFI, machine: 'pc-q35-7.2' }).machine,
    'pc-q35-7.2',
  );
});

test('domcapabilities of QEMU 7.2 under TCG (captured): usable named models and modes', () => {
  const caps = parseDomCapabilities(
    readFileSync(new URL('./fixtures/domcapabilities-tcg-qemu72.xml', import.meta.url), 'utf8'),
  );
  for (const m of ['qemu64', 'Westmere', 'Nehalem']) assert.ok(caps.models.includes(m), m);
  for (const m of ['EPYC', 'Skylake-Server', 'Haswell'])
    assert.ok(!caps.models.includes(m), `${m} is not usable under TCG`);
  assert.ok(!caps.modes.includes(CpuMode.CPU_MODE_HOST_PASSTHROUGH));
  assert.ok(caps.modes.includes(CpuMode.CPU_MODE_MAX));
  assert.ok(caps.modes.includes(CpuMode.CPU_MODE_NAMED));
});

test('a host refuses a model or mode its hypervisor lacks, naming it', () => {
  const host = { models: [X86_64_V2_AES, 'Westmere'], modes: [CpuMode.CPU_MODE_NAMED, CpuMode.CPU_MODE_MAX] };
  requireHostCpu(spec(), host, 'qemu');
  assert.throws(
    () => requireHostCpu(spec({ cpuMode: CpuMode.CPU_MODE_NAMED, cpuModel: 'EPYC' }), host, 'qemu'),
    /CPU model EPYC/,
  );
  assert.throws(
    () => requireHostCpu(spec({ cpuMode: CpuMode.CPU_MODE_HOST_PASSTHROUGH }), host, 'qemu'),
    /host-passthrough \(it needs KVM/,
  );
});
