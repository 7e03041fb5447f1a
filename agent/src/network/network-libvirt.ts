// libvirt network objects through virsh: list, dump, define/start/autostart, destroy/undefine,
// DHCP leases; and the NICs of every defined domain (who uses which network or bridge).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lease } from '@quantix/proto/v1/network.js';
import type { Virsh } from '../libvirt/virsh.js';
import { parseDomainNics, type DomainNics } from './domain-nics-parse.js';
import { parseLeases } from './lease-parse.js';

const names = (out: string) =>
  out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

export async function networkNames(virsh: Virsh): Promise<{ all: string[]; active: Set<string> }> {
  const [all, active] = await Promise.all([
    virsh.exec(['net-list', '--all', '--name']),
    virsh.exec(['net-list', '--name']),
  ]);
  return { all: names(all), active: new Set(names(active)) };
}

export function networkDumpXml(virsh: Virsh, name: string): Promise<string> {
  return virsh.exec(['net-dumpxml', '--', name]);
}

/** Defines from a private temp file (virsh cannot read /dev/stdin when it is a socket, as under Node). */
export async function networkDefine(virsh: Virsh, xml: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'qx-net-define-'));
  try {
    const file = join(dir, 'network.xml');
    await writeFile(file, xml, { mode: 0o600 });
    await virsh.exec(['net-define', '--file', file]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function networkStart(virsh: Virsh, name: string): Promise<void> {
  await virsh.exec(['net-start', '--', name]);
  await virsh.exec(['net-autostart', '--', name]);
}

/** Stops (if active) and undefines; each step tolerates the object being gone already. */
export async function networkRemove(virsh: Virsh, name: string): Promise<void> {
  await virsh.exec(['net-destroy', '--', name]).catch(() => undefined);
  await virsh.exec(['net-undefine', '--', name]);
}

export async function networkLeases(virsh: Virsh, name: string): Promise<Lease[]> {
  return parseLeases(await virsh.exec(['net-dhcp-leases', '--', name]));
}

/** NICs of every domain libvirt knows (defined or running), a few `dumpxml` calls at a time. */
export async function domainNics(virsh: Virsh): Promise<DomainNics[]> {
  const domains = names(await virsh.exec(['list', '--all', '--name']));
  const out: DomainNics[] = [];
  for (let i = 0; i < domains.length; i += 4) {
    const batch = await Promise.all(
      domains.slice(i, i + 4).map((d) => virsh.exec(['dumpxml', '--', d]).then(parseDomainNics, () => undefined)),
    );
    for (const d of batch) if (d) out.push(d);
  }
  return out;
}
