// The libvirt side of a pool: every Quantix pool is a libvirt `dir` pool on its volume
// directory (a loop pool's mount point), so `virsh vol-path --pool P V` resolves its volumes.
// The agent starts these pools itself (no libvirt autostart: a loop pool must be mounted first).
import { xmlReader } from '../libvirt/xml/parser.js';
import type { Virsh } from '../libvirt/virsh.js';

export type LibvirtPoolState = 'missing' | 'active' | 'inactive';

const read = xmlReader([]);

/** The target path of a pool XML (pure). */
export function parsePoolTarget(xml: string): string | undefined {
  return parsePoolXml(xml).target;
}

/** The type and target path of a pool XML (pure). */
export function parsePoolXml(xml: string): { type?: string; target?: string } {
  const parsed = read(xml) as { pool?: { '@type'?: unknown; target?: { path?: unknown } } };
  const type = parsed.pool?.['@type'];
  const path = parsed.pool?.target?.path;
  return { ...(typeof type === 'string' ? { type } : {}), ...(typeof path === 'string' ? { target: path } : {}) };
}

export async function libvirtPoolNames(virsh: Virsh): Promise<string[]> {
  const out = await virsh.exec(['pool-list', '--all', '--name']);
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

export async function libvirtPoolState(virsh: Virsh, name: string): Promise<LibvirtPoolState> {
  let out: string;
  try {
    out = await virsh.exec(['pool-info', '--pool', name]);
  } catch {
    return 'missing';
  }
  return /^State:\s+running/m.test(out) ? 'active' : 'inactive';
}

export async function libvirtPoolTarget(virsh: Virsh, name: string): Promise<string | undefined> {
  return parsePoolTarget(await virsh.exec(['pool-dumpxml', '--pool', name]));
}

/** The pool's type and target path as libvirt defines it. */
export async function libvirtPoolInfo(virsh: Virsh, name: string): Promise<{ type?: string; target?: string }> {
  return parsePoolXml(await virsh.exec(['pool-dumpxml', '--pool', name]));
}

export async function libvirtPoolDefine(virsh: Virsh, name: string, path: string): Promise<void> {
  // pool-define-as takes name and path as arguments: no XML to build, nothing to escape.
  await virsh.exec(['pool-define-as', '--name', name, '--type', 'dir', '--target', path]);
}

export async function libvirtPoolStart(virsh: Virsh, name: string): Promise<void> {
  await virsh.exec(['pool-start', '--pool', name]);
}

export async function libvirtPoolStop(virsh: Virsh, name: string): Promise<void> {
  await virsh.exec(['pool-destroy', '--pool', name]);
}

export async function libvirtPoolUndefine(virsh: Virsh, name: string): Promise<void> {
  await virsh.exec(['pool-undefine', '--pool', name]);
}

/** Makes libvirt rescan the directory after volumes changed behind its back. */
export async function libvirtPoolRefresh(virsh: Virsh, name: string): Promise<void> {
  await virsh.exec(['pool-refresh', '--pool', name]);
}
