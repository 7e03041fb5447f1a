// The explicit registry of pool kinds: proto kind → implementation.
import { invalidArgument } from '../errors.js';
import { dirKind } from './kinds/dir.js';
import { loopKind } from './kinds/loop.js';
import type { PoolKindName, StorageKind } from './storage-kind.js';

const kinds: Record<PoolKindName, StorageKind> = { loop: loopKind, dir: dirKind };

export function storageKind(name: PoolKindName): StorageKind {
  const kind = kinds[name];
  if (!kind) throw invalidArgument('kind', `unknown pool kind "${String(name)}"`);
  return kind;
}
