// Directory pools: an existing directory registered as a libvirt pool. The agent never creates
// or removes the directory or anything in it; it only checks the directory is safe to use.
import { existsSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, sep } from 'node:path';
import { failedPrecondition, invalidArgument } from '../../errors.js';
import type { StorageKind } from '../storage-kind.js';

/**
 * Trees a pool must neither lie in nor contain: the system, root's home, libvirt's own state and
 * Quantix's program and data (the agent's data dir is added from its configuration).
 */
const FORBIDDEN_TREES = [
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/proc',
  '/root',
  '/run',
  '/sbin',
  '/sys',
  '/usr',
  '/var/cache',
  '/var/lib/dpkg',
  '/var/lib/libvirt',
  '/var/lib/quantix',
  '/var/lib/systemd',
  '/var/log',
  '/var/run',
  '/var/spool',
  '/opt/quantix',
];
/** Shared directories whose loose files belong to others: only a directory below them may be a pool. */
const FORBIDDEN_EXACT = ['/home', '/tmp', '/var/tmp'];

export function isInside(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}

export const dirKind: StorageKind = {
  kind: 'dir',
  canGrow: false,
  hasBackingFile: false,

  async plan(input, env) {
    if (!input.path) throw invalidArgument('path', 'is required for a dir pool');
    if (!isAbsolute(input.path)) throw invalidArgument('path', `"${input.path}" is not an absolute path`);
    if (input.sizeBytes) throw invalidArgument('size_bytes', 'dir pools have no size; leave it 0');
    if (input.filesystem) throw invalidArgument('filesystem', 'dir pools use the filesystem of their directory');
    let path: string;
    try {
      path = await realpath(input.path);
    } catch {
      throw invalidArgument('path', `${input.path} does not exist`);
    }
    if (!(await stat(path)).isDirectory()) throw invalidArgument('path', `${path} is not a directory`);
    if (FORBIDDEN_EXACT.includes(path))
      throw invalidArgument('path', `${path} is shared by other users; use a directory below it`);
    const dataDir = await realpath(env.dataDir).catch(() => env.dataDir);
    for (const tree of [...FORBIDDEN_TREES, dataDir]) {
      if (isInside(path, tree) || isInside(tree, path)) {
        const what = tree === dataDir ? `the agent's data dir ${tree}` : `the system or Quantix directory ${tree}`;
        throw invalidArgument('path', `${path} overlaps ${what}`);
      }
    }
    return { record: { name: input.name, kind: 'dir', path, active: true }, sizeBytes: 0 };
  },

  async provision() {},

  async activate(record, _undo, env) {
    if (!existsSync(record.path)) throw failedPrecondition(`pool ${record.name}: directory ${record.path} is missing`);
    await env.step('checked');
  },

  async deactivate() {},

  async isUp(record) {
    return existsSync(record.path);
  },

  async device() {
    return undefined;
  },

  async destroy() {},
};
