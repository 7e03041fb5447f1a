// A small OVA for the browser test: the test guest's disk as a streamOptimized VMDK under an
// ovftool-style OVF (the OVA engineer's templates and tar builder), with chosen CPU and memory.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../agent/src/exec/run.js';
import { testGuest } from '../guest/fixture.js';
import { ovftoolOvf } from '../ova/ovf-templates.js';
import { buildTar } from '../ova/tar-build.js';

export interface GuestOva {
  file: string;
  name: string;
  cpus: number;
  memoryMib: number;
}

export async function buildGuestOva(dir: string, name: string, cpus: number, memoryMib: number): Promise<GuestOva> {
  const vmdk = join(dir, `${name}-disk1.vmdk`);
  await run('qemu-img', [
    'convert',
    '-f',
    'qcow2',
    '-O',
    'vmdk',
    '-o',
    'subformat=streamOptimized',
    testGuest.qcow2,
    vmdk,
  ]);
  const disk = readFileSync(vmdk);
  const info = JSON.parse((await run('qemu-img', ['info', '--output=json', testGuest.qcow2])).stdout) as {
    'virtual-size': number;
  };
  const ovf = ovftoolOvf({
    name,
    id: name,
    osId: 101,
    osType: 'otherLinux64Guest',
    cpus: String(cpus),
    coresPerSocket: 1,
    memory: String(memoryMib),
    memoryUnits: 'byte * 2^20',
    disks: [{ href: `${name}-disk1.vmdk`, fileSize: disk.length, capacity: info['virtual-size'], controller: 'scsi' }],
    nics: [{ model: 'E1000', network: 'VM Network' }],
  });
  const file = join(dir, `${name}.ova`);
  writeFileSync(
    file,
    buildTar([
      { name: `${name}.ovf`, data: Buffer.from(ovf) },
      { name: `${name}-disk1.vmdk`, data: disk },
    ]),
  );
  if (statSync(file).size < disk.length) throw new Error('OVA shorter than its disk');
  return { file, name, cpus, memoryMib };
}
