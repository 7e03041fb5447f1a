// Directory pools: an existing directory registered as a libvirt pool. The agent never creates
// or removes the directory or anything in it; it only checks the directory is safe to use.
import { existsSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, sep } from 'node:path';
import { failedPrecondition, invalidArgument } from '../../errors.js';
import type { StorageKind } from '../storage-kind.js';

/** System trees a pool must never be placed in (or be a parent of). */
const FORBIDDEN = ['/', '/bin', '/boot', '/dev', '/etc', '/lib', '/lib64', '/proc', '/run', '/sbin', '/sys', '/usr', '/var'];
const FORBIDDEN_TREES = ['/bin', '/boot', '/dev', '/etc', '/lib', '/lib64', '/proc', '/run', '/sbin', '/sys', '/usr'];

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
    if (FORBIDDEN.includes(path) || FORBIDDEN_TREES.some((t) => isInside(path, t))) {
      throw invalidArgument('path', `${path} is a system directory`);
    }
    if (isInside(path, env.dataDir) || isInside(env.dataDir, path)) {
      throw invalidArgument('path', `${path} overlaps the agent's data dir ${env.dataDir}`);
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
