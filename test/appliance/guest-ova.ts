// Builds a small OVA from the test guest (streamOptimized VMDK + OVF 1.0) with the agent's own
// OVF builder and the test tar builder: the OVA the appliance test imports through the API.
import { readFile, stat, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../agent/src/exec/run.js';
import { buildOvf } from '../../agent/src/ova/ovf-build.js';
import { buildTar } from '../ova/tar-build.js';
import { testGuest } from '../guest/fixture.js';

/** The OVA bytes of a VM "name" booting the test guest disk. */
export async function buildGuestOva(workDir: string, name: string): Promise<Buffer> {
  const vmdk = join(workDir, `${name}-disk1.vmdk`);
  await run('qemu-img', ['convert', '-O', 'vmdk', '-o', 'subformat=streamOptimized', testGuest.qcow2, vmdk]);
  try {
    const info = JSON.parse((await run('qemu-img', ['info', '--output=json', testGuest.qcow2])).stdout) as {
      'virtual-size': number;
    };
    const disk = await readFile(vmdk);
    const ovf = buildOvf({
      name,
      annotation: 'Quantix appliance test guest',
      osType: 'linux',
      firmware: 'bios',
      cpus: 1,
      coresPerSocket: 1,
      memoryMib: testGuest.memoryMib,
      disks: [{ href: `${name}-disk1.vmdk`, fileSize: (await stat(vmdk)).size, capacityBytes: info['virtual-size'] }],
      nics: [],
    });
    return buildTar([
      { name: `${name}.ovf`, data: Buffer.from(ovf) },
      { name: `${name}-disk1.vmdk`, data: disk },
    ]);
  } finally {
    await rm(vmdk, { force: true });
  }
}
