// Every guest OS preset of the create wizard, taken the whole way a create takes it (the UI's
// request → the server's VmSpec → the agent's validation and domain XML), gives domain XML that
// libvirt's own schema accepts (virt-xml-validate), on this host's firmware paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Firmware } from '@quantix/proto/v1/vm.js';
import { VM_PRESETS, applyPreset } from '../../ui/src/pages/vms/vm-presets.js';
import { draftToRequest, type Draft } from '../../ui/src/pages/vms/vm-create-request.js';
import { NEW_VM, buildVmSpec } from '../../server/src/services/vm-spec.js';
import { validateVmSpec } from '../../agent/src/vm/vm-spec-validate.js';
import { buildDomainXml } from '../../agent/src/libvirt/xml/domain-build.js';
import { ovmfFor } from '../../agent/src/libvirt/ovmf.js';

const exec = promisify(execFile);
const uuid = '6f1c1c1e-2222-4333-8444-955566667777';

const draft: Draft = {
  ...applyPreset({ ...VM_PRESETS[0]!.fields, preset: '' }, ''),
  name: 'preset-vm',
  placement: 'auto',
  pool: 'vms',
  bootKind: 'iso',
  iso: 'h1|isos|install.iso',
  image: '',
  templateId: '',
  network: 'default',
  start: false,
  maxVcpus: 0,
  maxMemoryMib: 0,
};

test('the domain XML of every OS preset validates with virt-xml-validate', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-vm-presets-xml-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const preset of VM_PRESETS) {
    const req = draftToRequest(applyPreset(draft, preset.id));
    const disks = (req.disks ?? []).map((d, i) => ({ pool: 'vms', volume: `disk${i}.qcow2`, bus: d.bus }));
    const spec = validateVmSpec(buildVmSpec(NEW_VM, { ...req, disks }));
    const xml = buildDomainXml({
      spec,
      uuid,
      domainType: 'kvm',
      disks: disks.map((d) => ({ path: `/var/lib/qx/${d.volume}`, format: 'qcow2' })),
      cdroms: [{ path: '/var/lib/qx/install.iso', format: 'raw' }],
      consoleLog: `/var/log/libvirt/qemu/qx-${uuid}-serial0.log`,
      ...(spec.firmware === Firmware.FIRMWARE_UEFI ? { uefi: ovmfFor(uuid, spec.secureBoot) } : {}),
    });
    const file = join(dir, `${preset.id}.xml`);
    await writeFile(file, xml);
    const r = await exec('virt-xml-validate', [file, 'domain']).then(
      (o) => ({ ok: true, out: o.stdout + o.stderr }),
      (e: { stdout?: string; stderr?: string }) => ({ ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
    );
    assert.ok(r.ok, `${preset.label}: ${r.out}\n${xml}`);
    if (preset.fields.secureBoot) assert.match(xml, /secure="yes"/, preset.label);
    if (preset.fields.tpm) assert.match(xml, /<tpm model="tpm-crb">/, preset.label);
  }
});
